//! The importer against sheets as clerks make them, and the round trip of any demo
//! roster through the template layout.

use super::plan::Plan;
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
    assert!(problems[2].problem.zh.contains("第 2 行"), "{}", problems[2].problem.zh);
    assert!(problems[2].problem.en.contains("row 2"), "{}", problems[2].problem.en);
    assert!(problems.iter().all(|p| !p.value.contains("19560312")), "ID numbers are masked");
    assert!(problems[1].fix.zh.contains("文本") && problems[1].fix.en.contains("Text"));
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

/// The demo village's whole workbook (residents, staff, points) imported over itself
/// changes nothing; into an empty roster, it gives the same workbook back.
#[test]
fn a_whole_village_survives_its_workbook() {
    let demo = village::generate(7).roster;
    let bytes = write_book(&export::export_book(&demo), Format::Xlsx).unwrap();
    let sheet = read(&bytes, Format::Xlsx);
    assert_eq!(sheet.staff.as_ref().map(|s| s.rows.len()), Some(demo.staff.len()));
    let again = planned(&demo, &sheet);
    assert!(again.changes.is_empty(), "{:?}", again.changes);
    assert_eq!(again.parts, demo);
    assert_eq!(again.report.staff.unchanged, demo.staff.len());
    assert_eq!(again.report.points.unchanged, demo.points.len());

    let fresh = planned(&RosterParts::default(), &sheet);
    crate::roster::Roster::new(fresh.parts.clone()).expect("a valid roster");
    let rows = |parts: &RosterParts| export::export_book(parts).into_iter().map(|s| s.rows).collect::<Vec<_>>();
    assert_eq!(rows(&fresh.parts), rows(&demo));
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

/// A workbook with a blank line every few residents, as real sheets have them: empty
/// `<row>` elements (a row with a height and no cells), rows holding only a running
/// number, and a blank row inside a household whose cells are merged over it.
fn workbook_with_blank_rows() -> Vec<u8> {
    use rust_xlsxwriter::{Format as CellFormat, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let text = CellFormat::new().set_num_format("@");
    for (c, h) in ["序号", "网格", "户号", "住址", "姓名", "身份证号"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    // Household H01: rows 1..=4 (Excel 2..=5), merged, with row 3 (Excel 4) blank.
    // Household H02: rows 6..=7 (Excel 7..=8), unmerged, cells on its first row only,
    // with an empty <row> (Excel 6) before it and a numbered blank row (Excel 9) after.
    // Household H03: row 9 (Excel 10).
    let residents =
        [(1, "王一", "11011719560312001"), (2, "王二", "11011719580721002"), (4, "王三", "11011719900105003")];
    for (r, name, body) in residents {
        sheet.write_string_with_format(r, 4, name, &text).unwrap();
        sheet.write_string_with_format(r, 5, id(body), &text).unwrap();
    }
    sheet.merge_range(1, 1, 4, 1, "第1网格", &text).unwrap();
    sheet.merge_range(1, 2, 4, 2, "H01", &text).unwrap();
    sheet.merge_range(1, 3, 4, 3, "东街1号", &text).unwrap();
    sheet.set_row_height(5, 20).unwrap();
    sheet.write_string(6, 1, "第2网格").unwrap();
    sheet.write_string(6, 2, "H02").unwrap();
    for (r, name, body) in [(6, "李四", "11011719450909004"), (7, "李五", "11011719700101005")] {
        sheet.write_string_with_format(r, 4, name, &text).unwrap();
        sheet.write_string_with_format(r, 5, id(body), &text).unwrap();
    }
    sheet.write_string(8, 0, "8").unwrap();
    sheet.write_string(9, 2, "H03").unwrap();
    sheet.write_string(9, 4, "赵六").unwrap();
    sheet.write_string_with_format(9, 5, id("11011719800101006"), &text).unwrap();
    sheet.set_row_height(10, 20).unwrap();
    book.save_to_buffer().unwrap()
}

#[test]
fn blank_rows_are_skipped_anywhere_even_inside_a_merged_household() {
    let sheet = read(&workbook_with_blank_rows(), Format::Xlsx);
    let households: Vec<(&str, Vec<(u32, &str)>)> = sheet
        .households
        .iter()
        .map(|h| (h.number.as_str(), h.residents.iter().map(|r| (r.row, r.name.as_str())).collect()))
        .collect();
    assert_eq!(
        households,
        [
            ("H01", vec![(2, "王一"), (3, "王二"), (5, "王三")]),
            ("H02", vec![(7, "李四"), (8, "李五")]),
            ("H03", vec![(10, "赵六")]),
        ]
    );
    assert_eq!(sheet.households[1].path, ["第2网格"]);
    assert_eq!(sheet.households[2].path, ["第2网格"], "the grid fills down over blank rows");
}

#[test]
fn a_resident_with_no_household_above_is_a_problem() {
    let csv = format!("户号,姓名,身份证号\n\n,王一,{}\nH1,王二,{}\n", id("11011719560312001"), id("11011719580721002"));
    let Err(ImportError::Invalid(problems)) = read_sheet(csv.as_bytes(), Format::Csv, &ReadOptions::default()) else {
        panic!("problems expected")
    };
    let found: Vec<(u32, &str, &str)> = problems.iter().map(|p| (p.row, p.column.as_str(), p.code.as_str())).collect();
    assert_eq!(found, [(3, "户号", "household_missing")]);
}

/// The template workbook (residents, staff, points) as read back.
fn template_sheet() -> SheetRoster {
    read(&write_book(&export::template_book(), Format::Xlsx).unwrap(), Format::Xlsx)
}

fn node_named<'a>(parts: &'a RosterParts, name: &str) -> &'a crate::roster::AreaNode {
    parts.nodes.iter().find(|n| n.name == name).unwrap_or_else(|| panic!("no node {name}"))
}

fn staff_named<'a>(parts: &'a RosterParts, name: &str) -> &'a crate::roster::Staff {
    parts.staff.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no staff {name}"))
}

#[test]
fn the_template_workbook_imports_staff_bound_to_their_areas_and_points() {
    use crate::roster::Role;
    let sheet = template_sheet();
    assert_eq!((sheet.sheet.as_str(), sheet.residents()), ("村民", 4));
    assert_eq!(sheet.staff.as_ref().map(|s| (s.sheet.as_str(), s.rows.len())), Some(("工作人员", 10)));
    assert_eq!(sheet.points.as_ref().map(|s| (s.sheet.as_str(), s.rows.len())), Some(("采样点", 2)));

    let plan = planned(&RosterParts::default(), &sheet);
    let parts = &plan.parts;
    crate::roster::Roster::new(parts.clone()).expect("a valid roster");
    assert_eq!(plan.report.staff, Counts { added: 10, changed: 0, removed: 0, unchanged: 0 });
    assert_eq!(plan.report.points, Counts { added: 2, changed: 0, removed: 0, unchanged: 0 });
    assert_eq!(plan.report.grid_members_added, 0, "the residents' grid members are the staff sheet's");
    let roles: Vec<(&str, Role)> = parts.staff.iter().map(|s| (s.name.as_str(), s.role)).collect();
    assert_eq!(
        roles,
        [
            ("张国强", Role::Chief),
            ("孙立东", Role::GridHead),
            ("周海西", Role::GridHead),
            ("李春生", Role::GridMember),
            ("赵红梅", Role::GridMember),
            ("吴晓燕", Role::Operator),
            ("钱志明", Role::Operator),
            ("郑雅琴", Role::Medic),
            ("村委会大屏", Role::Viewer),
            ("王管理", Role::Admin),
        ]
    );
    // Each answers for their area, and that area's residents answer to them.
    let root = node_named(parts, "示范村").id;
    for (area, person) in
        [("示范村", "张国强"), ("东片区", "孙立东"), ("西片区", "周海西"), ("第1网格", "李春生"), ("第2网格", "赵红梅")]
    {
        let (node, staff) = (node_named(parts, area), staff_named(parts, person));
        assert_eq!(staff.nodes, [node.id], "{person}");
        assert_eq!(node.staff_id, Some(staff.id), "{area}");
    }
    for person in ["郑雅琴", "村委会大屏", "王管理"] {
        assert_eq!(staff_named(parts, person).nodes, [root], "{person} covers the whole village");
    }
    let point = |name: &str| parts.points.iter().find(|p| p.name == name).unwrap();
    assert_eq!(staff_named(parts, "吴晓燕").point_id, Some(point("1号采样点").id));
    assert_eq!(staff_named(parts, "钱志明").point_id, Some(point("2号采样点").id));
    assert_eq!(point("1号采样点").nodes, [node_named(parts, "第1网格").id]);
    assert_eq!(point("2号采样点").place, "卫生室门前");

    // The same workbook again changes nothing, ids included.
    let again = planned(parts, &sheet);
    assert!(again.changes.is_empty(), "{:?}", again.changes);
    assert_eq!(&again.parts, parts);
    assert_eq!(again.report.staff, Counts { added: 0, changed: 0, removed: 0, unchanged: 10 });
    assert_eq!(again.report.points, Counts { added: 0, changed: 0, removed: 0, unchanged: 2 });
    assert_eq!(again.report.removals.total, 0);
}

/// The template workbook with its staff and point sheets' rows replaced.
fn workbook_with(staff: &[&[&str]], points: &[&[&str]]) -> Vec<u8> {
    let mut book = export::template_book();
    let rows = |lines: &[&[&str]]| lines.iter().map(|l| l.iter().map(|c| (*c).to_owned()).collect()).collect();
    book[1].rows.truncate(1);
    book[1].rows.extend::<Vec<Vec<String>>>(rows(staff));
    book[2].rows.truncate(1);
    book[2].rows.extend::<Vec<Vec<String>>>(rows(points));
    write_book(&book, Format::Xlsx).unwrap()
}

fn problems_of(found: &[Problem]) -> Vec<(&str, u32, &str, &str)> {
    found.iter().map(|p| (p.sheet.as_str(), p.row, p.column.as_str(), p.code.as_str())).collect()
}

#[test]
fn every_bad_staff_or_point_row_is_named_by_sheet_row_and_column() {
    let bytes = workbook_with(
        &[
            &["", "13800000010", "总网格长", "", ""],
            &["孙立东", "13800000011", "村长", "东片区", ""],
            &["周海西", "13800000011", "网格长", "西片区", ""],
            &["李春生", "13800000001", "网格员", "", ""],
            &["吴晓燕", "13800000021", "采样员", "", ""],
            &["村委会大屏", "", "只读大屏", "", ""],
            &["村委会大屏", "", "只读大屏", "", ""],
        ],
        &[&["1号采样点", "村委会广场", ""], &["1号采样点", "卫生室门前", "第2网格"]],
    );
    let Err(ImportError::Invalid(problems)) = read_sheet(&bytes, Format::Xlsx, &ReadOptions::default()) else {
        panic!("problems expected")
    };
    assert_eq!(
        problems_of(&problems),
        [
            ("工作人员", 2, "姓名", "staff_name_missing"),
            ("工作人员", 3, "角色", "role_unknown"),
            ("工作人员", 4, "电话", "staff_phone_duplicate"),
            ("工作人员", 5, "负责区域", "area_missing"),
            ("工作人员", 6, "采样点", "operator_point_missing"),
            ("工作人员", 8, "姓名", "staff_duplicate"),
            ("采样点", 2, "服务区域", "point_serves_nothing"),
            ("采样点", 3, "名称", "point_duplicate"),
        ]
    );
    assert_eq!(problems[1].value, "村长");
    assert_eq!(problems[2].value, "138****0011", "phones are masked");
    assert!(problems[2].problem.zh.contains("第 3 行"), "{}", problems[2].problem.zh);
    assert!(
        problems.iter().all(|p| !p.problem.zh.is_empty()
            && !p.fix.zh.is_empty()
            && !p.problem.en.is_empty()
            && !p.fix.en.is_empty())
    );
}

#[test]
fn areas_and_points_the_roster_does_not_have_are_named_by_row() {
    let bytes = workbook_with(
        &[
            &["张国强", "13800000010", "总网格长", "示范村", ""],
            &["孙立东", "13800000011", "分网格长", "北片区", ""],
            &["吴晓燕", "13800000021", "采样员", "", "9号采样点"],
            &["赵红梅", "13800000002", "网格员", "第2网格", ""],
            &["李春生", "13800000001", "网格员", "第1网格、第2网格", ""],
        ],
        &[&["1号采样点", "村委会广场", "第1网格、南片区"]],
    );
    let sheet = read(&bytes, Format::Xlsx);
    let problems = plan::plan(&RosterParts::default(), &Keep::default(), &sheet, None).unwrap_err();
    assert_eq!(
        problems_of(&problems),
        [
            ("采样点", 2, "服务区域", "area_unknown"),
            ("工作人员", 3, "负责区域", "area_unknown"),
            ("工作人员", 4, "采样点", "point_unknown"),
            ("工作人员", 6, "负责区域", "area_two_responsible"),
        ]
    );
    assert_eq!(problems[0].value, "南片区");
    assert!(problems[3].problem.zh.contains("第 5 行的赵红梅"), "{}", problems[3].problem.zh);
}

#[test]
fn a_name_used_twice_needs_its_path() {
    let csv = format!(
        "片区,网格,户号,姓名,身份证号\n东片区,第1网格,H1,王一,{}\n西片区,第1网格,H2,王二,{}\n",
        id("11011719560312001"),
        id("11011719580721002")
    );
    let parts = planned(&RosterParts::default(), &read(csv.as_bytes(), Format::Csv)).parts;
    let west = parts.nodes.iter().find(|n| n.name == "西片区").unwrap().id;
    let west_first = parts.nodes.iter().find(|n| n.name == "第1网格" && n.parent == Some(west)).unwrap().id;
    assert_eq!(find_area(&parts, "西片区/第1网格"), Ok(west_first));
    assert_eq!(find_area(&parts, &west_first.to_string()), Ok(west_first));
    assert!(find_area(&parts, "第1网格").unwrap_err().contains("2 个区域"));
    assert!(find_area(&parts, "北片区").is_err());
}

#[test]
fn staff_and_points_taken_off_the_sheet_are_deleted_or_retired_if_referred_to() {
    let first = planned(&RosterParts::default(), &template_sheet()).parts;
    let (operator, point) =
        (staff_named(&first, "钱志明").id, first.points.iter().find(|p| p.name == "2号采样点").unwrap().id);
    let head = staff_named(&first, "周海西").id;
    // 周海西 (a grid head) and 钱志明 with the 2号 point leave; the admin is not on the sheet.
    let bytes = workbook_with(
        &[
            &["张国强", "13800000010", "总网格长", "示范村", ""],
            &["孙立东", "13800000011", "分网格长", "东片区", ""],
            &["李春生", "13800000001", "网格员", "东片区/第1网格", ""],
            &["赵红梅", "13800000002", "网格员", "第2网格", ""],
            &["吴晓燕", "13800000021", "采样员", "", "1号采样点"],
            &["郑雅琴", "13800000031", "医护", "", ""],
            &["村委会大屏", "", "只读大屏", "", ""],
        ],
        &[&["1号采样点", "村委会广场", "第1网格"]],
    );
    let sheet = read(&bytes, Format::Xlsx);
    let keep = Keep { staff: [head].into(), ..Keep::default() };
    let plan = plan::plan(&first, &keep, &sheet, None).expect("no problems");
    assert_eq!(plan.report.staff, Counts { added: 0, changed: 0, removed: 2, unchanged: 7 });
    assert_eq!((plan.report.staff_retired, plan.report.points_retired), (1, 0));
    assert_eq!(plan.report.points, Counts { added: 0, changed: 0, removed: 1, unchanged: 1 });
    assert_eq!(plan.report.removals.total, 3);
    let names: Vec<(&str, &str)> = plan.report.removals.examples.iter().map(|e| (e.kind, e.name.as_str())).collect();
    assert_eq!(names, [("point", "2号采样点"), ("staff", "周海西"), ("staff", "钱志明")]);
    assert_eq!(plan.changes.deleted_staff, [operator]);
    assert_eq!(plan.changes.deleted_points, [point]);
    let retired = plan.parts.staff.iter().find(|s| s.id == head).unwrap();
    assert!(retired.retired && retired.nodes.is_empty());
    assert_eq!(node_named(&plan.parts, "西片区").staff_id, None, "a retired head answers for nothing");
    assert!(plan.parts.staff.iter().any(|s| s.name == "王管理"), "a sheet never removes an admin");
    crate::roster::Roster::new(plan.parts.clone()).expect("a valid roster");

    // Back on the sheet, the retired head is the same staff member again.
    let back = plan::plan(&plan.parts, &keep, &template_sheet(), None).expect("no problems");
    let head_again = back.parts.staff.iter().find(|s| s.name == "周海西").unwrap();
    assert_eq!((head_again.id, head_again.retired), (head, false));
    assert_eq!(back.report.staff, Counts { added: 1, changed: 1, removed: 0, unchanged: 8 });
}

#[test]
fn an_import_limited_to_an_area_refuses_rows_outside_and_leaves_them_be() {
    let whole = planned(&RosterParts::default(), &template_sheet()).parts;
    let east = node_named(&whole, "东片区").id;

    // The whole workbook limited to 东片区: every row of 西片区 is refused by row.
    let problems = plan::plan(&whole, &Keep::default(), &template_sheet(), Some(east)).unwrap_err();
    let found = problems_of(&problems);
    assert_eq!(
        found,
        [
            ("村民", 5, "网格", "outside_area"),
            ("采样点", 3, "服务区域", "outside_area"),
            ("工作人员", 2, "负责区域", "outside_area"),
            ("工作人员", 4, "负责区域", "outside_area"),
            ("工作人员", 6, "负责区域", "outside_area"),
            ("工作人员", 8, "采样点", "outside_area"),
            ("工作人员", 9, "负责区域", "outside_area"),
            ("工作人员", 10, "负责区域", "outside_area"),
            // The admin, not placed anywhere by the sheet, is the whole village's.
            ("工作人员", 11, "姓名", "outside_area"),
        ]
    );

    // 东片区's own sheet, without one of its residents: only that resident goes.
    let mut residents = export::template();
    residents.rows.remove(2);
    residents.households.clear();
    residents.rows.truncate(3);
    let sheet = read(&write_sheet(&residents, Format::Xlsx).unwrap(), Format::Xlsx);
    let plan = plan::plan(&whole, &Keep::default(), &sheet, Some(east)).expect("no problems");
    assert_eq!(plan.report.residents, Counts { added: 0, changed: 0, removed: 1, unchanged: 2 });
    assert_eq!(plan.report.households, Counts { added: 0, changed: 0, removed: 0, unchanged: 1 });
    assert_eq!((plan.report.areas.removed, plan.report.removals.total), (0, 1));
    let west = |p: &RosterParts| {
        let grid = node_named(p, "第2网格").id;
        let households: Vec<_> = p.households.iter().filter(|h| h.node_id == grid).cloned().collect();
        let residents: Vec<_> =
            p.residents.iter().filter(|r| households.iter().any(|h| h.id == r.household_id)).cloned().collect();
        (households, residents, node_named(p, "第2网格").clone())
    };
    assert_eq!(west(&plan.parts), west(&whole), "西片区 untouched");
    assert_eq!(plan.parts.staff, whole.staff, "no staff sheet: staff untouched");
    assert_eq!(plan.parts.nodes.len(), whole.nodes.len());
}

#[test]
fn a_grid_member_whose_phone_the_staff_sheet_gives_to_another_name_is_a_problem() {
    let mut book = export::template_book();
    let row = book[1].rows.iter().position(|r| r[0] == "李春生").unwrap();
    book[1].rows[row][0] = "李春".into();
    let sheet = read(&write_book(&book, Format::Xlsx).unwrap(), Format::Xlsx);
    let problems = plan::plan(&RosterParts::default(), &Keep::default(), &sheet, None).unwrap_err();
    assert_eq!(problems_of(&problems), [("村民", 2, "网格员电话", "grid_member_mismatch")]);
    assert!(
        problems[0].problem.zh.contains(&format!("“工作人员”表第 {} 行是李春", row + 1)),
        "{}",
        problems[0].problem.zh
    );
    assert_eq!(problems[0].value, "138****0001");
}

#[test]
fn an_areas_own_sheet_may_start_at_its_level_or_below_it() {
    let whole = planned(&RosterParts::default(), &template_sheet()).parts;
    let east = node_named(&whole, "东片区").id;
    let grid = node_named(&whole, "第1网格").id;
    let (a, b) = (id("11011719560312001"), id("11011719580721002"));
    for csv in [
        format!("片区,网格,户号,姓名,身份证号\n东片区,第1网格,SF0001,王建国,{a}\n,,,刘秀英,{b}\n"),
        format!("网格,户号,姓名,身份证号\n第1网格,SF0001,王建国,{a}\n,,刘秀英,{b}\n"),
    ] {
        let sheet = read(csv.as_bytes(), Format::Csv);
        let plan = plan::plan(&whole, &Keep::default(), &sheet, Some(east)).expect("no problems");
        // Both lose the phone and note the template gave them; 王浩然 is not on this sheet.
        assert_eq!(plan.report.residents, Counts { added: 0, changed: 2, removed: 1, unchanged: 0 }, "{csv}");
        assert_eq!((plan.report.areas.added, plan.report.areas.removed), (0, 0));
        let household = plan.parts.households.iter().find(|h| h.number == "SF0001").unwrap();
        assert_eq!(household.node_id, grid);
    }
}
