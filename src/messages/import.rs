//! What each problem of a roster sheet says, and how to fix it: one function per problem
//! code, each returning `(problem, fix)` in both languages. The row, column and cell are
//! the [`Problem`](crate::roster::import::Problem)'s own fields; the texts name whatever
//! else the clerk needs to find (the other row, the area, the expected check digit).

use super::said;
use super::{Lang, Said};
use crate::roster::import::ImportError;
use crate::roster::{IdNumberError, Role};

/// `(problem, fix)`.
pub type Text = (Said, Said);

fn text(problem: Said, fix: Said) -> Text {
    (problem, fix)
}

/// The roles as a clerk writes them, for fixes that list them.
const ROLES_ZH: &str = "总网格长、分网格长（网格长）、网格员、采样员、医护（上门采样）、检测机构、只读大屏、管理员";
const ROLES_EN: &str = "总网格长 (chief), 分网格长/网格长 (grid head), 网格员 (grid member), 采样员 (operator), \
     医护/上门采样 (medic), 检测机构 (lab), 只读大屏 (viewer), 管理员 (admin)";

/// A role's name in the sheet's words.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Medic => "医护",
        other => super::role_name(other, Lang::Zh),
    }
}

// ---- the residents' sheet

/// `header_missing` on the residents' sheet.
pub fn residents_header_missing(searched: usize) -> Text {
    text(
        said!("前 {searched} 行里找不到表头", "no header row found in the first {searched} rows"),
        said!(
            "在村民数据上方放一行表头，至少包含 户号、姓名 和 身份证号（见导入模板）",
            "put a row of column headers above the residents, with at least 户号, 姓名 and 身份证号 (see muster import --template)"
        ),
    )
}

/// `column_missing` on the residents' sheet.
pub fn residents_column_missing(header: &str) -> Text {
    text(
        said!("缺少“{header}”一列", "there is no {header} column"),
        said!(
            "加上这一列，表头写“{header}”（其他写法见导入模板）",
            "add the column with this header (other spellings are listed in the README)"
        ),
    )
}

pub fn household_missing() -> Text {
    text(
        said!(
            "这位村民没有户：户号是空的，上面也没有他所在户的行",
            "this resident has no household: the household number is blank and no household row is above"
        ),
        said!(
            "在这一行填上户号，或者把这一行移到他所在户的第一行下面",
            "write the household number on this row, or move the row under its household's first row"
        ),
    )
}

/// `household_in_two_grids`: `here` and `there` are area paths (e.g. 东片区/第1网格).
pub fn household_in_two_grids(number: &str, here: &str, there: &str, first_row: u32) -> Text {
    text(
        said!(
            "户号 {number} 在这一行属于“{here}”，在第 {first_row} 行却属于“{there}”",
            "household {number} is in {here} here but in {there} on row {first_row}"
        ),
        said!(
            "一户只能属于一个网格：改正其中一行的网格",
            "a household belongs to one grid: correct the grid on one of the rows"
        ),
    )
}

/// How an area path is shown in a problem (`(no area)` when the sheet has no area columns).
pub fn show_path(path: &[String]) -> Said {
    if path.is_empty() { Said::new("（无区域）", "(no area)") } else { Said::new(path.join("/"), path.join("/")) }
}

pub fn grid_member_conflict(area: &Said, other: &str, first_row: u32, name: &str) -> Text {
    let (zh, en) = (&area.zh, &area.en);
    text(
        said!(
            "“{zh}”在第 {first_row} 行的网格员是{other}，这一行却是{name}",
            "{en} has grid member {other} on row {first_row} and {name} here"
        ),
        said!("每个网格只写一位网格员：保留一个名字", "one grid member per grid: keep one name"),
    )
}

pub fn name_missing() -> Text {
    text(said!("姓名是空的", "the name is blank"), said!("填写村民的姓名", "write the resident's name"))
}

pub fn birth_date_malformed() -> Text {
    text(
        said!("这不是一个日期", "this is not a date"),
        said!("日期写成 1949-12-31 这样（或只写年份）", "write the date as 1949-12-31 (or just the year)"),
    )
}

pub fn birth_date_mismatch(year: i32, from_id: i32) -> Text {
    text(
        said!(
            "出生年份是 {year}，身份证号上却是 {from_id}",
            "the birth year is {year} but the ID number says {from_id}"
        ),
        said!("核对出生日期和身份证号", "check the birth date and the ID number"),
    )
}

pub fn status_unknown() -> Text {
    text(
        said!("Muster 不认识这个状态", "this status is not one Muster knows"),
        said!(
            "填写 外出、卧床 或 流动人口，多个用、分隔，或者不填",
            "write 外出 (away), 卧床 (bedridden) or 流动人口 (migrant), several separated by 、, or leave it blank"
        ),
    )
}

pub fn id_missing() -> Text {
    text(
        said!("身份证号是空的", "the ID number is blank"),
        said!("填写 18 位身份证号", "write the 18-character ID number"),
    )
}

pub fn id_duplicate(first_row: u32) -> Text {
    text(
        said!("第 {first_row} 行已经有这个身份证号", "the same ID number is on row {first_row}"),
        said!(
            "一人一行：删除重复的一行，或改正其中一行的身份证号",
            "one row per person: delete the duplicate row, or correct the ID number on one of them"
        ),
    )
}

pub fn id_number_shortened() -> Text {
    text(
        said!(
            "Excel 把这个身份证号存成了数字，后几位已经丢了",
            "Excel stored this ID number as a number and lost its last digits"
        ),
        said!(
            "在 Excel 里把身份证号这一列设为“文本”格式，重新输入（或从原始表格恢复）这些号码，再导出",
            "format the ID number column as Text (文本) in Excel, type the numbers again (or restore them from the original), and export again"
        ),
    )
}

/// `id_invalid`: what is wrong with the number, and what to check.
pub fn id_invalid(e: &IdNumberError) -> Text {
    match e {
        IdNumberError::Length(n) => text(
            said!("身份证号应为 18 位，这个是 {n} 位", "an ID number has 18 characters; this one has {n}"),
            said!(
                "照身份证填写 18 位号码（只能是数字，最后一位可以是 X）",
                "write the 18-character number from the ID card (digits, and X as the last character only)"
            ),
        ),
        IdNumberError::Characters => text(
            said!("身份证号只能是数字，最后一位可以是 X", "only digits are allowed, with an X as the last character"),
            said!(
                "照身份证填写 18 位号码（只能是数字，最后一位可以是 X）",
                "write the 18-character number from the ID card (digits, and X as the last character only)"
            ),
        ),
        IdNumberError::CheckDigit { expected } => text(
            said!(
                "校验位不对：按前 17 位算，最后一位应是 {expected}",
                "the last character should be {expected} according to the check digit rule; check for a typing error"
            ),
            said!(
                "请对照身份证逐位核对：可能有一位数字输错了",
                "compare the number with the ID card: one of the digits is mistyped"
            ),
        ),
    }
}

/// `phone_malformed`, on any sheet.
pub fn phone_malformed() -> Text {
    text(
        said!("电话号码格式不对", "this is not a phone number"),
        said!(
            "填写一个号码：1开头的11位手机号，或 010-69961234 这样的座机",
            "write one phone number: 11 digits starting with 1, or a landline such as 010-69961234"
        ),
    )
}

pub fn no_residents() -> Text {
    text(
        said!("表头下面没有村民", "there are no residents below the header"),
        said!("在表头下面每位村民写一行", "one row per resident below the header row"),
    )
}

// ---- the staff and point sheets

/// `header_missing` on a staff or point sheet.
pub fn header_missing(sheet: &str, needed: &str) -> Text {
    text(
        said!("“{sheet}”表的前 20 行里找不到表头", "no header row found in the first 20 rows of sheet {sheet}"),
        said!(
            "在数据上方放一行表头，至少包含 {needed}（见导入模板）",
            "put a row of column headers above the data, with at least {needed} (see the import template)"
        ),
    )
}

/// `column_missing` on a staff or point sheet.
pub fn column_missing(header: &str) -> Text {
    text(
        said!("缺少“{header}”一列", "there is no {header} column"),
        said!("加上这一列（表头写法见导入模板）", "add the column (the import template shows its header)"),
    )
}

pub fn staff_name_missing() -> Text {
    text(
        said!("姓名为空", "the name is blank"),
        said!("填写工作人员的姓名，或删除这一行", "write the staff member's name, or delete the row"),
    )
}

pub fn role_unknown(value: &str) -> Text {
    let problem = if value.is_empty() {
        said!("角色为空", "the role is blank")
    } else {
        said!("没有“{value}”这个角色", "there is no role {value:?}")
    };
    text(problem, said!("填写 {ROLES_ZH} 之一", "write one of {ROLES_EN}"))
}

pub fn staff_phone_duplicate(first_row: u32) -> Text {
    text(
        said!("这个电话号码在第 {first_row} 行已经有了", "this phone number is already on row {first_row}"),
        said!(
            "一人一行：删除重复的一行，或改正其中一个号码",
            "one row per person: delete the duplicate row, or correct one of the numbers"
        ),
    )
}

pub fn staff_duplicate(first_row: u32) -> Text {
    text(
        said!(
            "第 {first_row} 行已有同名、也没有电话的工作人员",
            "row {first_row} has a staff member of the same name, also without a phone"
        ),
        said!(
            "没有电话时按姓名认人：写上电话号码区分两人，或删除重复的一行",
            "without a phone a person is known by name: give each a phone number, or delete the duplicate row"
        ),
    )
}

/// A grid member of the residents' sheet whose phone the staff sheet gives to someone else.
pub fn grid_member_mismatch(sheet: &str, row: u32, name: &str) -> Text {
    text(
        said!(
            "这个电话号码在“{sheet}”表第 {row} 行是{name}的",
            "this phone number is {name}'s on row {row} of sheet {sheet}"
        ),
        said!(
            "同一个人在两张表里的姓名和电话要一致：改正其中一处",
            "one person has the same name and phone on both sheets: correct one of them"
        ),
    )
}

pub fn area_missing(role: Role) -> Text {
    let (zh, en) = (role_name(role), super::role_name(role, Lang::En));
    text(
        said!("{zh}要填写负责的区域", "a {en} needs the areas they answer for"),
        said!(
            "填写村民表中用过的区域名称，如 第1网格；多个用、分隔",
            "write area names used on the residents' sheet, such as 第1网格; several separated by 、"
        ),
    )
}

pub fn area_unknown(value: &str) -> Text {
    text(
        said!("村民表中没有“{value}”这个区域", "the residents' sheet has no area {value:?}"),
        said!(
            "填写村民表中用过的区域名称，如 第1网格；重名时写出上级，如 东片区/第1网格",
            "write an area name used on the residents' sheet, such as 第1网格; where two share a name, \
             write the one above too, such as 东片区/第1网格"
        ),
    )
}

pub fn area_ambiguous(value: &str, matches: &[String]) -> Text {
    let n = matches.len();
    let (zh, en) = (matches.join("，"), matches.join(", "));
    text(
        said!("“{value}”对应 {n} 个区域：{zh}", "{value:?} matches {n} areas: {en}"),
        said!(
            "写出上级区域，用 / 分开，如 东片区/第1网格",
            "write the area above too, separated by /, such as 东片区/第1网格"
        ),
    )
}

pub fn area_two_responsible(first_row: u32, name: &str) -> Text {
    text(
        said!("这个区域已由第 {first_row} 行的{name}负责", "{name} on row {first_row} already answers for this area"),
        said!(
            "每个区域只写一位负责人（总网格长、网格长或网格员）",
            "one person answers for each area (a chief, a grid head or a grid member)"
        ),
    )
}

pub fn operator_point_missing() -> Text {
    text(
        said!("采样员要填写所在的采样点", "a sampling operator needs their sampling point"),
        said!("填写采样点表中的采样点名称", "write a point name from the sampling-point sheet"),
    )
}

pub fn point_unknown(value: &str) -> Text {
    text(
        said!("没有“{value}”这个采样点", "there is no sampling point {value:?}"),
        said!(
            "填写采样点表中的名称，或先在采样点表中加上这个采样点",
            "write a name from the sampling-point sheet, or add the point to that sheet first"
        ),
    )
}

pub fn point_name_missing() -> Text {
    text(
        said!("采样点名称为空", "the point's name is blank"),
        said!("填写采样点名称，或删除这一行", "write the point's name, or delete the row"),
    )
}

pub fn point_duplicate(first_row: u32) -> Text {
    text(
        said!("同名的采样点在第 {first_row} 行已经有了", "a point of the same name is already on row {first_row}"),
        said!("每个采样点一行，名称不要重复", "one row per point, each with its own name"),
    )
}

pub fn point_serves_nothing() -> Text {
    text(
        said!("这个采样点没有服务区域", "this point serves no area"),
        said!(
            "填写它服务的区域（村民表中用过的区域名称），多个用、分隔",
            "write the areas it serves (names used on the residents' sheet), several separated by 、"
        ),
    )
}

fn outside_fix(area: &str) -> Said {
    said!(
        "这次只导入“{area}”：删除这一行，或者不限定范围导入整张表",
        "this import is limited to {area}: delete the row, or import the whole sheet without a limit"
    )
}

/// `outside_area`: a row whose area is not under the area the import is limited to.
pub fn outside_area(area: &str, at: &str) -> Text {
    text(
        said!(
            "这一行在“{at}”，不在导入范围“{area}”之内",
            "this row is in {at}, outside {area}, which this import is limited to"
        ),
        outside_fix(area),
    )
}

/// What [`moves_from_outside`] names.
pub enum Moved<'a> {
    Household(&'a str),
    Resident,
    Point(&'a str),
    /// A staff member, by name.
    Staff(&'a str),
}

/// `outside_area`: a row that would change a household, resident, staff member or point that is now
/// outside the area the import is limited to.
pub fn moves_from_outside(area: &str, what: Moved<'_>, at: &str) -> Text {
    let (zh, en) = match what {
        Moved::Household(n) => (format!("户号 {n}"), format!("household {n}")),
        Moved::Resident => ("这位村民".to_owned(), "this resident".to_owned()),
        Moved::Point(name) => (format!("采样点{name}"), format!("sampling point {name}")),
        Moved::Staff(name) => (name.to_owned(), name.to_owned()),
    };
    text(
        said!(
            "{zh}现在在“{at}”，不在导入范围“{area}”之内，这次导入不能改动它",
            "{en} is now in {at}, outside {area}, which this import is limited to: it cannot change it"
        ),
        outside_fix(area),
    )
}

/// A file that is not a roster sheet at all (the `file_unreadable` answer).
pub fn unreadable(e: &ImportError) -> Said {
    match e {
        ImportError::Unreadable(why) => {
            said!("这个文件读不出来：{why}", "the file cannot be read: {why}")
        }
        ImportError::UnknownFormat(name) => said!(
            "{name:?} 既不是 .xlsx 也不是 .csv：请把表格另存为 Excel 工作簿（.xlsx）或 CSV",
            "{name:?} is neither .xlsx nor .csv; save the sheet as Excel workbook (.xlsx) or CSV"
        ),
        ImportError::NoSuchSheet { sheet, sheets } => {
            let (zh, en) = (sheets.join("、"), format!("{sheets:?}"));
            said!("没有名为“{sheet}”的工作表；这个文件里有：{zh}", "there is no sheet {sheet:?}; the workbook has {en}")
        }
        ImportError::UnknownEncoding(enc) => said!(
            "不认识的编码 {enc:?}：请用 utf-8、gbk 或 gb18030",
            "unknown encoding {enc:?}; use utf-8, gbk or gb18030"
        ),
        ImportError::Invalid(problems) => {
            let n = problems.len();
            said!("表格里有 {n} 个问题，什么都没有导入", "the sheet has {n} problem(s); nothing was imported")
        }
    }
}
