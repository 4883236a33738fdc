//! Every code has its words in both languages: the tests that fail when one is missing.

use super::audit::Audited;
use super::import as texts;
use super::{Lang, Said, api, has_cjk};
use crate::action::Rejection;
use crate::http::ApiError;
use crate::roster::import::{Problem, Report};
use crate::roster::{IdNumberError, Role};

fn assert_speaks_both(what: &str, zh: &str, en: &str) {
    assert!(has_cjk(zh), "{what}: no Chinese text: {zh:?}");
    // English may quote the sheet's Chinese headers, so: words in Latin letters, not the Chinese.
    assert!(en.chars().any(|c| c.is_ascii_alphabetic()) && en != zh, "{what}: no English text: {en:?}");
}

fn every_rejection() -> Vec<Rejection> {
    // The match makes a new variant a compile error here until it is listed below.
    let listed = |r: &Rejection| match r {
        Rejection::UnknownResident(_)
        | Rejection::UnknownIdNumber
        | Rejection::OutOfScope(_)
        | Rejection::Removed(_)
        | Rejection::UnknownPoint(_)
        | Rejection::NotOpen
        | Rejection::Closed
        | Rejection::AlreadyOpen
        | Rejection::NotCorrectable(_)
        | Rejection::EmptyReason
        | Rejection::AwayIsAnExemption
        | Rejection::UnknownHousehold(_)
        | Rejection::HouseholdOutOfScope(_)
        | Rejection::NoVisitPending(_)
        | Rejection::VisitAlreadyTaken(_) => (),
    };
    let all = vec![
        Rejection::UnknownResident(17),
        Rejection::UnknownIdNumber,
        Rejection::OutOfScope(17),
        Rejection::Removed(17),
        Rejection::UnknownPoint(3),
        Rejection::NotOpen,
        Rejection::Closed,
        Rejection::AlreadyOpen,
        Rejection::NotCorrectable(42),
        Rejection::EmptyReason,
        Rejection::AwayIsAnExemption,
        Rejection::UnknownHousehold(5),
        Rejection::HouseholdOutOfScope(5),
        Rejection::NoVisitPending(17),
        Rejection::VisitAlreadyTaken(17),
    ];
    all.iter().for_each(listed);
    all
}

/// One of each variant. `index` is exhaustive, so a new variant fails to compile until it
/// has an index, and `VARIANTS` (bumped with it) fails the test until it has a sample.
fn every_api_error() -> Vec<ApiError> {
    let said = || Said::new("中文", "English");
    let problem = Problem::new(12, "身份证号", "1101…0021", "id_invalid", texts::id_missing());
    vec![
        ApiError::Unauthorized,
        ApiError::Forbidden(Role::GridMember),
        ApiError::OutOfScope(said()),
        ApiError::LastAdmin,
        ApiError::PhoneTaken { other: 10 },
        ApiError::PointNameTaken { other: 2 },
        ApiError::PairingCodeInvalid,
        ApiError::SignInFailed,
        ApiError::TooManyAttempts(30),
        ApiError::NotFound { what: "action", id: "7".into() },
        ApiError::MethodNotAllowed { method: "PUT".into() },
        ApiError::WebSocketRequired,
        ApiError::InvalidJson("expected value at line 1 column 1".into()),
        ApiError::InvalidField { field: "tube".into(), message: said() },
        ApiError::InvalidPathParam { field: "id".into(), value: "x".into(), whole: true },
        ApiError::InvalidQueryParam { field: "limit".into(), problem: "invalid digit".into() },
        ApiError::NotAnObject,
        ApiError::NilEventId { field: "event_id".into() },
        ApiError::NotATube { field: "tube".into(), shown: "??".into(), max: 32 },
        ApiError::NoteTooLong { field: "events[0].note".into(), max: 500 },
        ApiError::DeviceTimeAhead { field: "device_time".into() },
        ApiError::DeviceTimeBeforePlan { field: "device_time".into(), planned: time::macros::date!(2026 - 12 - 01) },
        ApiError::CloseBeforeOpen,
        ApiError::BodyTooLarge { limit: 1024 },
        ApiError::SheetTooLarge { limit: 1024 },
        ApiError::Rejected(Rejection::Closed),
        ApiError::RejectedBatch(vec![(0, Rejection::Closed)]),
        ApiError::IdReused { index: 0, client_id: uuid::Uuid::nil(), action_id: 1 },
        ApiError::IdReusedOtherwise { index: 0, client_id: uuid::Uuid::nil() },
        ApiError::RosterInvalid(vec![problem]),
        ApiError::FileUnreadable(said()),
        ApiError::RemovalsUnconfirmed(Box::default()),
        ApiError::Unavailable,
        ApiError::Internal("cause".into()),
    ]
}

const VARIANTS: usize = 34;

fn index(e: &ApiError) -> usize {
    match e {
        ApiError::Unauthorized => 0,
        ApiError::Forbidden(_) => 1,
        ApiError::OutOfScope(_) => 2,
        ApiError::LastAdmin => 3,
        ApiError::PairingCodeInvalid => 4,
        ApiError::SignInFailed => 5,
        ApiError::TooManyAttempts(_) => 6,
        ApiError::NotFound { .. } => 7,
        ApiError::MethodNotAllowed { .. } => 8,
        ApiError::WebSocketRequired => 9,
        ApiError::InvalidJson(_) => 10,
        ApiError::InvalidField { .. } => 11,
        ApiError::InvalidPathParam { .. } => 12,
        ApiError::InvalidQueryParam { .. } => 13,
        ApiError::NotAnObject => 14,
        ApiError::NilEventId { .. } => 15,
        ApiError::NotATube { .. } => 16,
        ApiError::DeviceTimeAhead { .. } => 17,
        ApiError::DeviceTimeBeforePlan { .. } => 18,
        ApiError::CloseBeforeOpen => 19,
        ApiError::BodyTooLarge { .. } => 20,
        ApiError::SheetTooLarge { .. } => 21,
        ApiError::Rejected(_) => 22,
        ApiError::RejectedBatch(_) => 23,
        ApiError::IdReused { .. } => 24,
        ApiError::IdReusedOtherwise { .. } => 25,
        ApiError::RosterInvalid(_) => 26,
        ApiError::FileUnreadable(_) => 27,
        ApiError::RemovalsUnconfirmed(_) => 28,
        ApiError::Unavailable => 29,
        ApiError::Internal(_) => 30,
        ApiError::PhoneTaken { .. } => 31,
        ApiError::PointNameTaken { .. } => 32,
        ApiError::NoteTooLong { .. } => 33,
    }
}

#[test]
fn every_api_error_speaks_chinese_and_english() {
    let all = every_api_error();
    let mut seen: Vec<usize> = all.iter().map(index).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..VARIANTS).collect::<Vec<_>>(), "one sample of each ApiError variant");
    for e in &all {
        let (zh, en) = (api::api_error(e, Lang::Zh), api::api_error(e, Lang::En));
        assert_speaks_both(e.code(), &zh, &en);
        assert_eq!(e.to_string(), en, "Display is the English");
    }
}

#[test]
fn every_refusal_speaks_chinese_and_english() {
    for r in every_rejection() {
        assert_speaks_both(&format!("{r:?}"), &api::rejection(&r, Lang::Zh), &api::rejection(&r, Lang::En));
    }
}

#[test]
fn every_role_has_a_chinese_name() {
    for role in [Role::Admin, Role::Chief, Role::GridHead, Role::GridMember, Role::Operator, Role::Medic, Role::Viewer]
    {
        assert_speaks_both(role.as_str(), api::role_name(role, Lang::Zh), api::role_name(role, Lang::En));
    }
    let forbidden = ApiError::Forbidden(Role::GridMember);
    assert_eq!(api::api_error(&forbidden, Lang::Zh), "您的角色（网格员）不能做这件事");
    assert_eq!(api::api_error(&forbidden, Lang::En), "your role (grid_member) may not do this");
}

#[test]
fn every_audited_act_has_a_label() {
    for a in Audited::ALL {
        assert_speaks_both(a.code(), a.label(Lang::Zh), a.label(Lang::En));
        assert_eq!(Audited::from_code(a.code()), Some(*a));
    }
    assert_eq!(super::audit::label("from_a_newer_version", Lang::Zh), "from_a_newer_version");
}

/// Every import problem code with a sample of its texts.
fn every_problem() -> Vec<(&'static str, texts::Text)> {
    let path = ["东片区".to_owned(), "第1网格".to_owned()];
    vec![
        ("header_missing", texts::residents_header_missing(20)),
        ("header_missing", texts::header_missing("工作人员", "姓名、角色")),
        ("column_missing", texts::residents_column_missing("身份证号")),
        ("column_missing", texts::column_missing("角色")),
        ("household_missing", texts::household_missing()),
        ("household_in_two_grids", texts::household_in_two_grids("0012", "东片区/第1网格", "东片区/第2网格", 5)),
        ("grid_member_conflict", texts::grid_member_conflict(&texts::show_path(&path), "李春", 3, "王芳")),
        ("name_missing", texts::name_missing()),
        ("birth_date_malformed", texts::birth_date_malformed()),
        ("birth_date_mismatch", texts::birth_date_mismatch(1950, 1949)),
        ("status_unknown", texts::status_unknown()),
        ("id_missing", texts::id_missing()),
        ("id_duplicate", texts::id_duplicate(4)),
        ("id_number_shortened", texts::id_number_shortened()),
        ("id_invalid", texts::id_invalid(&IdNumberError::Length(17))),
        ("id_invalid", texts::id_invalid(&IdNumberError::Characters)),
        ("id_invalid", texts::id_invalid(&IdNumberError::CheckDigit { expected: 'X' })),
        ("phone_malformed", texts::phone_malformed()),
        ("no_residents", texts::no_residents()),
        ("staff_name_missing", texts::staff_name_missing()),
        ("role_unknown", texts::role_unknown("")),
        ("role_unknown", texts::role_unknown("书记")),
        ("staff_phone_duplicate", texts::staff_phone_duplicate(3)),
        ("staff_duplicate", texts::staff_duplicate(3)),
        ("grid_member_mismatch", texts::grid_member_mismatch("工作人员", 3, "李春")),
        ("area_missing", texts::area_missing(Role::GridHead)),
        ("area_unknown", texts::area_unknown("第9网格")),
        ("area_ambiguous", texts::area_ambiguous("第1网格", &["东片区/第1网格".into(), "西片区/第1网格".into()])),
        ("area_two_responsible", texts::area_two_responsible(3, "李春")),
        ("operator_point_missing", texts::operator_point_missing()),
        ("point_unknown", texts::point_unknown("村委会")),
        ("point_name_missing", texts::point_name_missing()),
        ("point_duplicate", texts::point_duplicate(2)),
        ("point_serves_nothing", texts::point_serves_nothing()),
        ("outside_area", texts::outside_area("第1网格", "第2网格")),
        ("outside_area", texts::moves_from_outside("第1网格", texts::Moved::Household("0012"), "第2网格")),
        ("outside_area", texts::moves_from_outside("第1网格", texts::Moved::Resident, "第2网格")),
        ("outside_area", texts::moves_from_outside("第1网格", texts::Moved::Point("村委会"), "第2网格")),
        ("outside_area", texts::moves_from_outside("第1网格", texts::Moved::Staff("李春"), "第2网格")),
    ]
}

#[test]
fn every_import_problem_speaks_chinese_and_english() {
    for (code, (problem, fix)) in every_problem() {
        assert_speaks_both(code, &problem.zh, &problem.en);
        assert_speaks_both(code, &fix.zh, &fix.en);
    }
}

/// Every problem code the import's sources use is sampled above: a new code without
/// Chinese words fails here.
#[test]
fn every_problem_code_the_import_uses_is_sampled() {
    let sources = [
        include_str!("../roster/import/layout.rs"),
        include_str!("../roster/import/staff.rs"),
        include_str!("../roster/import/plan.rs"),
    ];
    // Snake-case literals there that are not problem codes.
    let not_codes = ["grid_head", "id_number"];
    let sampled: Vec<&str> = every_problem().iter().map(|(c, _)| *c).collect();
    for source in sources {
        for literal in source.split('"').skip(1).step_by(2) {
            let snake = literal.contains('_') && literal.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            if snake && !not_codes.contains(&literal) {
                assert!(sampled.contains(&literal), "problem code {literal} has no sample (and maybe no Chinese)");
            }
        }
    }
}

#[test]
fn a_problem_line_names_row_column_and_fix_in_chinese() {
    let p = Problem::at(
        "村民",
        12,
        "身份证号",
        "1101…0021",
        "id_invalid",
        texts::id_invalid(&IdNumberError::CheckDigit { expected: 'X' }).0,
        texts::id_invalid(&IdNumberError::CheckDigit { expected: 'X' }).1,
    );
    assert_eq!(
        super::report::problem_line(&p, Lang::Zh),
        "“村民”表，第 12 行「身份证号」列 [1101…0021]：校验位不对：按前 17 位算，最后一位应是 X。请对照身份证逐位核对：可能有一位数字输错了"
    );
    assert!(
        super::report::problem_line(&p, Lang::En)
            .starts_with("村民, row 12, 身份证号 [1101…0021]: the last character should be X")
    );
}

#[test]
fn the_report_reads_in_chinese_or_english() {
    let r = Report::default();
    assert!(super::report::report_text(&r, Lang::Zh).starts_with("村民：新增 0，修改 0，删除 0，未变 0\n"));
    assert!(
        super::report::report_text(&r, Lang::En)
            .starts_with("residents:  0 added, 0 changed, 0 removed, 0 unchanged\n")
    );
}

#[test]
fn accept_language_chooses_english_only_when_preferred() {
    let lang = |h: &str| Lang::from_accept_language(h.as_bytes());
    assert_eq!(lang(""), Lang::Zh);
    assert_eq!(lang("en"), Lang::En);
    assert_eq!(lang("en-US,en;q=0.9"), Lang::En);
    assert_eq!(lang("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh);
    assert_eq!(lang("en-US,en;q=0.9,zh-CN;q=0.8"), Lang::En);
    assert_eq!(lang("zh-CN;q=0.5, en;q=0.8"), Lang::En);
    assert_eq!(lang("fr-FR, en;q=0.5"), Lang::En);
    assert_eq!(lang("fr-FR, de"), Lang::Zh);
    assert_eq!(lang("en;q=0"), Lang::Zh);
    assert_eq!(lang("*"), Lang::Zh);
}

#[tokio::test]
async fn said_serialises_in_the_language_of_the_scope() {
    let s = Said::new("中文", "English");
    assert_eq!(serde_json::to_string(&s).unwrap(), "\"中文\"");
    let en = Lang::En.scope(async { serde_json::to_string(&s).unwrap() }).await;
    assert_eq!(en, "\"English\"");
}
