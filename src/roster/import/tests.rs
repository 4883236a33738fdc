//! The importer against sheets as clerks make them, and the round trip of any demo
//! roster through the template layout.

use super::table::{Format, ReadOptions, write_csv, write_xlsx};
use super::*;
use crate::demo::village;
use crate::roster::{IdNumber, RosterParts};
use proptest::prelude::*;

/// A valid ID number whose check digit is X (to write it with a lowercase x).
fn id_ending_in_x() -> String {
    (0..1000)
        .map(|n| IdNumber::from_body(&format!("11011719700101{n:03}")).unwrap())
        .find(|id| id.expose().ends_with('X'))
        .unwrap()
        .expose()
        .to_owned()
}

fn id(body: &str) -> String {
    IdNumber::from_body(body).unwrap().expose().to_owned()
}

fn full_width(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_digit() { char::from_u32(c as u32 + 0xFEE0).unwrap() } else { c }).collect()
}

/// A title row, then the header, then two households; the first household's cells only
/// on its first row (the workbook merges them), a lowercase x, full-width digits with
/// spaces, notes that mean a status, and a column Muster does not know.
fn messy_rows() -> Vec<Vec<String>> {
    let header = "序号,片区,网格,网格员,网格员电话,户号,户主,住址,姓名,与户主关系,公民身份号码,手机号,备注,民族";
    let x = id_ending_in_x().to_lowercase();
    let spaced = format!(" {} ", full_width(&id("11011719900105003")));
    let rows = [
        vec!["大华山村村民花名册".to_owned()],
        header.split(',').map(String::from).collect(),
        ["1", "东片区", "第1网格", "李春生", "13800000001", "H001", "王建国", "东街1号", "王建国", "户主"]
            .into_iter()
            .map(String::from)
            .chain([id("11011719560312001"), "13900000001".into(), "".into(), "汉".into()])
            .collect(),
        ["2", "", "", "", "", "", "", "", "刘 秀英", "配偶"]
            .into_iter()
            .map(String::from)
            .chain([x, "".into(), "长期卧床".into(), "汉".into()])
            .collect(),
        ["3", "", "", "", "", "", "", "", "王浩然", "子"]
            .into_iter()
            .map(String::from)
            .chain([spaced, "".into(), "外出务工".into(), "".into()])
            .collect(),
        ["4", "西片区", "第2网格", "赵红梅", "13800000002", "H002", "陈玉兰", "西街8号", "陈玉兰", "户主"]
            .into_iter()
            .map(String::from)
            .chain([id("11011719450909004"), "010-69961234".into(), "".into(), "汉".into()])
            .collect(),
    ];
    rows.to_vec()
}

/// The sheet planned over a roster, with no problems expected.
fn planned(current: &RosterParts, sheet: &SheetRoster) -> Plan {
    plan::plan(current, &Keep::default(), sheet, None).expect("a sheet that fits the roster")
}

fn read(bytes: &[u8], format: Format) -> SheetRoster {
    read_sheet(bytes, format, &ReadOptions::default()).expect("a sheet without problems")
}

#[test]
fn a_workbook_with_merged_cells_and_gbk_and_bom_csvs_give_the_same_roster() {
    let rows = messy_rows();
    // The first household's cells (片区 … 住址) merged over its three rows.
    let xlsx = write_xlsx(&rows, &[(2, 4)], &[1, 2, 3, 4, 5, 6, 7]).unwrap();
    let bom_csv = write_csv(&rows).unwrap();
    assert!(bom_csv.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8(bom_csv[3..].to_vec()).unwrap();
    let gbk_csv = encoding_rs::GBK.encode(&text).0.into_owned();
    assert!(std::str::from_utf8(&gbk_csv).is_err(), "really GBK bytes");

    let from_xlsx = read(&xlsx, Format::Xlsx);
    assert_eq!(from_xlsx.sheet, "Sheet1", "a workbook's sheet is named, a CSV's is not");
    let from_xlsx = SheetRoster { sheet: String::new(), ..from_xlsx };
    assert_eq!(from_xlsx, read(&gbk_csv, Format::Csv));
    assert_eq!(from_xlsx, read(&bom_csv, Format::Csv));

    let sheet = from_xlsx;
    assert_eq!(sheet.title.as_deref(), Some("大华山村村民花名册"));
    assert_eq!(sheet.levels, ["片区", "网格"]);
    assert_eq!(sheet.households.len(), 2);
    let first = &sheet.households[0];
    assert_eq!((first.number.as_str(), first.address.as_str()), ("H001", "东街1号"));
    assert_eq!(first.path, ["东片区", "第1网格"]);
    let names: Vec<&str> = first.residents.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["王建国", "刘秀英", "王浩然"]);
    assert!(first.residents[1].flags.bedridden && first.residents[2].flags.away);
    assert_eq!(first.residents[1].id_number.expose(), id_ending_in_x());
    assert_eq!(first.residents[2].id_number.expose(), id("11011719900105003"));
    assert_eq!(first.residents[0].note, "民族: 汉");
    assert_eq!(sheet.notices.iter().map(|n| n.row).collect::<Vec<_>>(), [4, 5]);

    let plan = planned(&RosterParts::default(), &sheet);
    let roster = crate::roster::Roster::new(plan.parts).expect("a valid roster");
    assert_eq!(roster.nodes()[0].name, "大华山村", "the root is named after the title");
    assert_eq!((roster.households().len(), roster.residents().len(), roster.staff().len()), (2, 4, 2));
    assert_eq!(plan.report.residents, Counts { added: 4, changed: 0, removed: 0, unchanged: 0 });
    assert_eq!(plan.report.areas.added, 5);
}

#[test]
fn every_problem_is_reported_at_its_row_and_column() {
    let ok = id("11011719560312001");
    let mut wrong = id("11011719580721002");
    wrong.replace_range(17..18, if wrong.ends_with('1') { "2" } else { "1" });
    let csv = format!(
        "户号,网格,姓名,身份证号,联系电话\n\
         H1,A,王一,{ok},13800000001\n\
         H1,,王二,{wrong},\n\
         H1,,王三,1.10117E+17,\n\
         H2,,王四,{ok},\n\
         H2,,,{},\n\
         H2,,王六,{},1381234\n\
         ,,,,\n\
         ,,王七,{},\n\
         H1,B,王八,{},\n",
        id("11011719900105005"),
        id("11011719900105006"),
        id("11011719900105007"),
        id("11011719900105008"),
    );
    let Err(ImportError::Invalid(problems)) = read_sheet(csv.as_bytes(), Format::Csv, &ReadOptions::default()) else {
        panic!("problems expected")
    };
    let found: Vec<(u32, &str, &str)> = problems.iter().map(|p| (p.row, p.column.as_str(), p.code.as_str())).collect();
    assert_eq!(
        found,
        [
            (3, "身份证号", "id_invalid"),
            (4, "身份证号", "id_number_shortened"),
            (5, "身份证号", "id_duplicate"),
            (6, "姓名", "name_missing"),
            (7, "联系电话", "phone_malformed"),
            // Row 8 is blank and skipped: 王七 on row 9 is H2's, as if it were not there.
            (10, "网格", "household_in_two_grids"),
        ]
    );
    assert!(problems[2].problem.contains("row 2"), "{}", problems[2].problem);
    assert!(problems.iter().all(|p| !p.value.contains("19560312")), "ID numbers are masked");
    assert!(problems[1].fix.contains("Text"));
}

#[test]
fn a_sheet_without_the_needed_columns_says_which() {
    let Err(ImportError::Invalid(problems)) =
        read_sheet("姓名,身份证号\n王一,1\n".as_bytes(), Format::Csv, &ReadOptions::default())
    else {
        panic!("problems expected")
    };
    assert_eq!(
        (problems[0].row, problems[0].column.as_str(), problems[0].code.as_str()),
        (1, "户号", "column_missing")
    );
}

#[test]
fn the_template_imports_cleanly_in_both_formats() {
    for format in [Format::Xlsx, Format::Csv] {
        let bytes = write_sheet(&export::template(), format).unwrap();
        let sheet = read(&bytes, format);
        assert_eq!((sheet.households.len(), sheet.residents()), (2, 4));
        assert!(sheet.households[0].residents[1].flags.bedridden);
    }
}

fn round_trip(seed: u64, format: Format) {
    let demo = village::generate(seed).roster;
    let bytes = write_sheet(&export::export(&demo), format).unwrap();
    let sheet = read(&bytes, format);

    // Imported over the same roster: nothing changes, ids included.
    let again = planned(&demo, &sheet);
    assert!(again.changes.is_empty(), "{:?}", again.report);
    assert_eq!(again.parts, demo);
    assert_eq!(again.report.residents.unchanged, demo.residents.len());

    // Imported into an empty database: the same roster, as the sheet shows it.
    let fresh = planned(&RosterParts::default(), &sheet);
    crate::roster::Roster::new(fresh.parts.clone()).expect("a valid roster");
    assert_eq!(export::export(&fresh.parts).rows, export::export(&demo).rows);
    assert_eq!(fresh.report.residents.added, demo.residents.len());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

    #[test]
    fn any_demo_roster_survives_the_template_layout(seed in any::<u64>(), xlsx in any::<bool>()) {
        round_trip(seed, if xlsx { Format::Xlsx } else { Format::Csv });
    }
}
