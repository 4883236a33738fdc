//! What the staff and sampling-point sheets' problems say, and how to fix them: one
//! function per code, Simplified Chinese first, so that the message catalogue can take
//! them over from here. Each returns `(problem, fix)`. (The residents' sheet's texts are
//! still written where they are found, in `layout`, and translated by the import page.)

use crate::roster::Role;

type Text = (String, String);

fn text(problem: impl Into<String>, fix: impl Into<String>) -> Text {
    (problem.into(), fix.into())
}

/// The roles as a clerk writes them, for fixes that list them.
const ROLES: &str = "总网格长、分网格长（网格长）、网格员、采样员、医护（上门采样）、只读大屏、管理员";

/// A role's name in the sheet's words.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "管理员",
        Role::Chief => "总网格长",
        Role::GridHead => "网格长",
        Role::GridMember => "网格员",
        Role::Operator => "采样员",
        Role::Medic => "医护",
        Role::Viewer => "只读大屏",
    }
}

/// `header_missing` on a staff or point sheet.
pub fn header_missing(sheet: &str, needed: &str) -> Text {
    text(format!("“{sheet}”表的前 20 行里找不到表头"), format!("在数据上方放一行表头，至少包含 {needed}（见导入模板）"))
}

/// `column_missing` on a staff or point sheet.
pub fn column_missing(header: &str) -> Text {
    text(format!("缺少“{header}”一列"), "加上这一列（表头写法见导入模板）")
}

pub fn staff_name_missing() -> Text {
    text("姓名为空", "填写工作人员的姓名，或删除这一行")
}

pub fn role_unknown(value: &str) -> Text {
    let problem = if value.is_empty() { "角色为空".to_owned() } else { format!("没有“{value}”这个角色") };
    text(problem, format!("填写 {ROLES} 之一"))
}

pub fn phone_malformed() -> Text {
    text("电话号码格式不对", "填写一个号码：1开头的11位手机号，或 010-69961234 这样的座机")
}

pub fn staff_phone_duplicate(first_row: u32) -> Text {
    text(format!("这个电话号码在第 {first_row} 行已经有了"), "一人一行：删除重复的一行，或改正其中一个号码")
}

pub fn staff_duplicate(first_row: u32) -> Text {
    text(
        format!("第 {first_row} 行已有同名、也没有电话的工作人员"),
        "没有电话时按姓名认人：写上电话号码区分两人，或删除重复的一行",
    )
}

/// A grid member of the residents' sheet whose phone the staff sheet gives to someone else.
pub fn grid_member_mismatch(sheet: &str, row: u32, name: &str) -> Text {
    text(
        format!("这个电话号码在“{sheet}”表第 {row} 行是{name}的"),
        "同一个人在两张表里的姓名和电话要一致：改正其中一处",
    )
}

pub fn area_missing(role: Role) -> Text {
    text(format!("{}要填写负责的区域", role_name(role)), "填写村民表中用过的区域名称，如 第1网格；多个用、分隔")
}

pub fn area_unknown(value: &str) -> Text {
    text(
        format!("村民表中没有“{value}”这个区域"),
        "填写村民表中用过的区域名称，如 第1网格；重名时写出上级，如 东片区/第1网格",
    )
}

pub fn area_ambiguous(value: &str, matches: &[String]) -> Text {
    text(
        format!("“{value}”对应 {} 个区域：{}", matches.len(), matches.join("，")),
        "写出上级区域，用 / 分开，如 东片区/第1网格",
    )
}

pub fn area_two_responsible(first_row: u32, name: &str) -> Text {
    text(format!("这个区域已由第 {first_row} 行的{name}负责"), "每个区域只写一位负责人（总网格长、网格长或网格员）")
}

pub fn operator_point_missing() -> Text {
    text("采样员要填写所在的采样点", "填写采样点表中的采样点名称")
}

pub fn point_unknown(value: &str) -> Text {
    text(format!("没有“{value}”这个采样点"), "填写采样点表中的名称，或先在采样点表中加上这个采样点")
}

pub fn point_name_missing() -> Text {
    text("采样点名称为空", "填写采样点名称，或删除这一行")
}

pub fn point_duplicate(first_row: u32) -> Text {
    text(format!("同名的采样点在第 {first_row} 行已经有了"), "每个采样点一行，名称不要重复")
}

pub fn point_serves_nothing() -> Text {
    text("这个采样点没有服务区域", "填写它服务的区域（村民表中用过的区域名称），多个用、分隔")
}

fn outside_fix(area: &str) -> String {
    format!("这次只导入“{area}”：删除这一行，或者不限定范围导入整张表")
}

/// `outside_area`: a row whose area is not under the area the import is limited to.
pub fn outside_area(area: &str, at: &str) -> Text {
    text(format!("这一行在“{at}”，不在导入范围“{area}”之内"), outside_fix(area))
}

/// `outside_area`: a row that would change a household, resident, staff member or point
/// that is now outside the area the import is limited to.
pub fn moves_from_outside(area: &str, what: &str, at: &str) -> Text {
    text(format!("{what}现在在“{at}”，不在导入范围“{area}”之内，这次导入不能改动它"), outside_fix(area))
}
