//! Every code has its words in both languages: the tests that fail when one is missing.

use super::audit::{Audited, Change, PhoneList};
use super::import as texts;
use super::{Lang, Said, api, assert_speaks_both, has_cjk};
use crate::roster::import::{Problem, Report};
use crate::roster::{AreaNode, IdNumberError, Role, Roster, RosterParts, SamplingPoint, Staff};

#[test]
fn every_role_has_a_chinese_name() {
    for role in Role::ALL {
        assert_speaks_both(role.as_str(), super::role_name(role, Lang::Zh), super::role_name(role, Lang::En));
    }
    assert_eq!(api::forbidden(Role::GridMember, Lang::Zh), "您的角色（网格员）不能做这件事");
    assert_eq!(api::forbidden(Role::GridMember, Lang::En), "your role (grid_member) may not do this");
}

/// One of each act, with facts that make every part of its detail show.
fn every_audited_act() -> Vec<Audited> {
    // The match makes a new act a compile error here until it is listed below.
    let listed = |a: &Audited| match a {
        Audited::ReadPhones { .. }
        | Audited::FirstAdmin {}
        | Audited::ChangeStaff { .. }
        | Audited::PairingCode { .. }
        | Audited::SetPassword { .. }
        | Audited::RevokeSession { .. }
        | Audited::AddStaff { .. }
        | Audited::RetireStaff { .. }
        | Audited::AddPoint { .. }
        | Audited::ChangePoint { .. }
        | Audited::RetirePoint { .. }
        | Audited::AddChannel { .. }
        | Audited::RemoveChannel { .. }
        | Audited::ChannelSummary { .. }
        | Audited::PrintCards { .. }
        | Audited::ReissueCard { .. }
        | Audited::DecideWalkIn { .. } => (),
    };
    let all = vec![
        Audited::ReadPhones { list: PhoneList::Staff },
        Audited::ReadPhones { list: PhoneList::Missing { action: 7, phones: 31 } },
        Audited::FirstAdmin {},
        Audited::ChangeStaff {
            staff: 12,
            role: Change::new(Role::GridMember, Role::GridHead),
            nodes: Change::new(vec![2], vec![2, 9]),
            point: Change::new(None, Some(3)),
            renamed: true,
        },
        Audited::ChangeStaff {
            staff: 12,
            role: Change::new(Role::GridMember, Role::GridMember),
            nodes: Change::new(vec![2], vec![2]),
            point: Change::new(None, None),
            renamed: false,
        },
        Audited::PairingCode { staff: 12 },
        Audited::SetPassword { staff: 12 },
        Audited::RevokeSession { staff: 12 },
        Audited::AddStaff { staff: 12, role: Role::Operator, nodes: vec![2], point: Some(3) },
        Audited::AddStaff { staff: 12, role: Role::Viewer, nodes: vec![], point: None },
        Audited::RetireStaff { staff: 12, role: Role::GridMember },
        Audited::AddPoint { point: 3, nodes: vec![2] },
        Audited::ChangePoint { point: 3, nodes: Change::new(vec![2], vec![]), renamed: true },
        Audited::RetirePoint { point: 3 },
        Audited::AddChannel { channel: 4, node: 2, kind: crate::notify::Kind::DingTalk },
        Audited::RemoveChannel { channel: 4, node: 2, kind: crate::notify::Kind::WeCom },
        Audited::ChannelSummary { channel: 4, node: 2, on: true },
        Audited::ChannelSummary { channel: 4, node: 2, on: false },
        Audited::PrintCards { households: 120, household: None },
        Audited::PrintCards { households: 1, household: Some(5) },
        Audited::ReissueCard { household: 5, resident: None, replaced: 4 },
        Audited::ReissueCard { household: 5, resident: Some(9), replaced: 1 },
        Audited::DecideWalkIn {
            action: 1,
            walk_in: 12,
            resolution: crate::action::Resolution::Merged,
            resident: Some(9),
        },
        Audited::DecideWalkIn {
            action: 1,
            walk_in: 13,
            resolution: crate::action::Resolution::Rejected,
            resident: None,
        },
    ];
    all.iter().for_each(listed);
    all
}

/// A village with the grid (2), the staff member (12) and the point (3) the samples name.
fn named_roster() -> Roster {
    let node = |id, parent, level: &str, name: &str| AreaNode {
        id,
        parent,
        level: level.into(),
        name: name.into(),
        staff_id: None,
    };
    Roster::new(RosterParts {
        nodes: vec![node(1, None, "村", "大华山村"), node(2, Some(1), "网格", "第1网格")],
        staff: vec![Staff {
            id: 12,
            name: "李春".into(),
            phone: None,
            role: Role::GridMember,
            nodes: vec![2],
            point_id: None,
            retired: false,
        }],
        points: vec![SamplingPoint {
            id: 3,
            name: "村委会".into(),
            place: String::new(),
            nodes: vec![2],
            retired: false,
        }],
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn every_audited_act_has_a_label_and_its_detail_in_both_languages() {
    let (named, empty) = (named_roster(), Roster::new(RosterParts::default()).unwrap());
    let all = every_audited_act();
    for code in super::audit::codes() {
        assert!(all.iter().any(|a| a.code() == code), "{code} has a label but no sample");
    }
    for act in &all {
        let code = act.code();
        assert_speaks_both(code, &super::audit::label(code, Lang::Zh), &super::audit::label(code, Lang::En));
        assert_eq!(Audited::read(code, &act.facts()).as_ref(), Some(act), "{code}: stored and read back");
        assert_eq!(serde_json::to_value(act).unwrap()["what"], code, "{code} is serde's tag");
        // Named by the roster: Chinese with no English word in it.
        let zh = act.detail(&named, Lang::Zh);
        assert!(!zh.chars().any(|c| c.is_ascii_alphabetic()), "{code}: English in {zh:?}");
        // Rows the roster no longer has are named by id: English with no Chinese in it.
        let (zh, en) = (act.detail(&empty, Lang::Zh), act.detail(&empty, Lang::En));
        assert_speaks_both(code, &zh, &en);
        assert!(!has_cjk(&en), "{code}: Chinese in {en:?}");
    }
    assert_eq!(super::audit::label("from_a_newer_version", Lang::Zh), "from_a_newer_version");
}

#[test]
fn an_audit_detail_says_whom_and_what_changed() {
    let roster = named_roster();
    let [changed, unchanged] = [3, 4].map(|i| every_audited_act().swap_remove(i));
    assert_eq!(
        changed.detail(&roster, Lang::Zh),
        "李春（#12）：角色 网格员 → 网格长；区域 第1网格 → 第1网格、区域 #9；采样点 无 → 村委会（#3）；改了姓名或电话"
    );
    assert_eq!(
        changed.detail(&roster, Lang::En),
        "李春 (#12): role grid member → grid head; areas 第1网格 → 第1网格, area #9; point none → 村委会 (#3); \
         name or phone changed"
    );
    assert_eq!(unchanged.detail(&roster, Lang::Zh), "李春（#12）：没有改动");
    // What is stored: ids, roles and what changed; no name.
    let facts: serde_json::Value = serde_json::from_str(&changed.facts()).unwrap();
    assert_eq!(
        facts,
        serde_json::json!({
            "staff": 12,
            "role": { "from": "grid_member", "to": "grid_head" },
            "nodes": { "from": [2], "to": [2, 9] },
            "point": { "from": null, "to": 3 },
            "renamed": true,
        })
    );
}

#[test]
fn an_audit_entry_written_as_a_sentence_is_shown_as_it_is() {
    let roster = named_roster();
    let old = "staff 12: role grid_member → grid_head, nodes [2] → [2], point None → None";
    assert_eq!(super::audit::detail("change_staff", old, &roster, Lang::Zh), old);
    assert_eq!(super::audit::detail("read_phones", "staff list", &roster, Lang::Zh), "staff list");
    let from_a_newer_version = r#"{"staff":12,"why":"new"}"#;
    assert_eq!(super::audit::detail("promote", from_a_newer_version, &roster, Lang::En), from_a_newer_version);
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

/// What the command says, each line with a sample of its specifics.
fn every_cli_line(lang: Lang) -> Vec<(&'static str, String)> {
    use super::{cli, report};
    let at = time::macros::datetime!(2026-05-01 12:00 UTC);
    let mut lines = vec![
        ("listening", cli::listening("http://127.0.0.1:8080", lang)),
        ("setup_link_follows", cli::setup_link_follows(lang)),
        ("schema_up_to_date", cli::schema_up_to_date("sqlite://muster.db", lang)),
        ("cannot_open", cli::cannot_open("sqlite://muster.db", lang)),
        ("cannot_listen", cli::cannot_listen("0.0.0.0:80", lang)),
        ("database_unreachable", cli::database_unreachable(lang)),
        ("unsupported_db", cli::unsupported_db("mysql://x", lang)),
        ("roster_inconsistent", cli::roster_inconsistent(lang)),
        ("serving_failed", cli::serving_failed(lang)),
        ("certificate_unreadable", cli::certificate_unreadable("cert.pem", lang)),
        ("no_certificate", cli::no_certificate("cert.pem", lang)),
        ("key_unreadable", cli::key_unreadable("key.pem", lang)),
        ("tls_config", cli::tls_config(lang)),
        ("admin_name_missing", cli::admin_name_missing(lang)),
        ("phone_invalid", cli::phone_invalid("1391111", lang)),
        ("phone_taken", cli::phone_taken(3, Role::Admin, lang)),
        ("admin_added", cli::admin_added(3, lang)),
        ("no_such_staff", cli::no_such_staff("李春", lang)),
        ("staff_name_ambiguous", cli::staff_name_ambiguous("李春", &[3, 4], lang)),
        ("pairing_link_follows", cli::pairing_link_follows(at, lang)),
        ("demo_village", cli::demo_village("sqlite://demo.db", 1, 2, 3, 4, lang)),
        ("demo_again", cli::demo_again("sqlite://demo.db", lang)),
        ("demo_has_no_action", cli::demo_has_no_action(lang)),
        ("demo_has_no_chief", cli::demo_has_no_chief(lang)),
        ("pairing_links_follow", cli::pairing_links_follow(lang)),
        ("action_open", cli::action_open(1, lang)),
        ("action_closed", cli::action_closed(1, lang)),
        ("opening_failed", cli::opening_failed("500", "internal", lang)),
        ("drill_finished", cli::drill_finished(10, 1, lang)),
        ("name_the_file", report::name_the_file(lang)),
        ("cannot_read", report::cannot_read("花名册.xlsx", lang)),
        ("name_the_format", report::name_the_format("花名册.txt", lang)),
        ("area_unknown", report::area_unknown("第9网格", "没有", lang)),
        ("template_written", report::template_written("t.xlsx", true, lang)),
        ("template_written", report::template_written("t.csv", false, lang)),
        ("cards_written", cli::cards_written("cards.html", 3, 10, 2, lang)),
        ("no_such_household", cli::no_such_household(7, lang)),
        ("cannot_write", cli::cannot_write("cards.html", lang)),
    ];
    for role in Role::ALL {
        lines.push(("role_link", cli::role_link(role, 3, "http://x/pair.html?code=A", lang)));
    }
    use std::io::ErrorKind;
    for kind in [
        ErrorKind::NotFound,
        ErrorKind::PermissionDenied,
        ErrorKind::AddrInUse,
        ErrorKind::AddrNotAvailable,
        ErrorKind::ConnectionRefused,
    ] {
        lines.push(("io_error", cli::io_error(kind, lang).expect("our words for this kind")));
    }
    lines
}

#[test]
fn every_line_of_the_command_speaks_chinese_and_english() {
    for ((what, zh), (_, en)) in every_cli_line(Lang::Zh).into_iter().zip(every_cli_line(Lang::En)) {
        assert_speaks_both(what, &zh, &en);
    }
    assert_eq!(
        super::cli::pairing_link_follows(time::macros::datetime!(2026-05-01 20:00 +08:00), Lang::Zh),
        "配对链接（只能用一次，2026-05-01 12:00 UTC 前有效）："
    );
}
