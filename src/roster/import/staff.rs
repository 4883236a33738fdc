//! The staff sheet and the sampling-point sheet: one staff member (name, phone, role, the
//! areas they answer for, an operator's point) or one point (name, place, the areas it
//! serves) per row, under a header found as the residents' sheet's is. What can be checked
//! on the sheet alone is checked here (blank names, unknown roles, a phone or a point
//! twice, an operator without a point, a point serving nothing); areas and point names are
//! resolved against the roster in [`plan`](super::plan), which reports those it cannot find.

use super::layout::{header_key, normalize};
use super::table::{Cell, Table};
use super::{Cited, Problem, SheetPoint, SheetStaff, texts};
use crate::roster::{Phone, Role};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Col {
    Name,
    Phone,
    Role,
    Areas,
    Point,
    Place,
    Ignored,
}

/// Header spellings of the staff sheet; the first is what the template writes.
pub const STAFF_COLUMNS: &[(Col, &[&str])] = &[
    (Col::Name, &["姓名", "名字", "工作人员", "name"]),
    (Col::Phone, &["电话", "手机", "手机号", "手机号码", "联系电话", "联系方式", "phone", "mobile"]),
    (Col::Role, &["角色", "职务", "岗位", "身份", "role"]),
    (Col::Areas, &["负责区域", "区域", "负责网格", "所属网格", "网格", "片区", "area", "areas", "grid", "grids"]),
    (Col::Point, &["采样点", "采集点", "所在采样点", "所在采集点", "point", "samplingpoint"]),
    (Col::Ignored, &["序号", "no", "no.", "#", "index", "备注", "note", "notes"]),
];

/// Header spellings of the sampling-point sheet.
pub const POINT_COLUMNS: &[(Col, &[&str])] = &[
    (Col::Name, &["名称", "采样点", "采集点", "采样点名称", "采集点名称", "name", "point"]),
    (Col::Place, &["地点", "地址", "位置", "设置地点", "place", "address", "location"]),
    (Col::Areas, &["服务区域", "区域", "服务网格", "网格", "片区", "areas", "area", "serves", "grids"]),
    (Col::Ignored, &["序号", "no", "no.", "#", "index", "备注", "note", "notes"]),
];

/// The role a clerk's word means, in Chinese or as the API spells it.
pub fn role_of(text: &str) -> Option<Role> {
    let key = header_key(text);
    let role = match key.as_str() {
        "总网格长" | "总网格" | "村支书" | "chief" => Role::Chief,
        "分网格长" | "网格长" | "gridhead" => Role::GridHead,
        "网格员" | "gridmember" => Role::GridMember,
        "采样员" | "采集员" | "采样点操作员" | "operator" => Role::Operator,
        "医护" | "医护人员" | "上门采样" | "上门采样队" | "medic" => Role::Medic,
        "检测机构" | "实验室" | "检测" | "lab" => Role::Lab,
        "只读大屏" | "大屏" | "只读" | "viewer" => Role::Viewer,
        "管理员" | "admin" => Role::Admin,
        _ => return None,
    };
    Some(role)
}

/// The areas in one cell: separated by 、 , ， ; ； or a line break.
pub fn split_list(text: &str) -> Vec<String> {
    text.split(['、', ',', '，', ';', '；', '\n']).map(normalize).filter(|s| !s.is_empty()).collect()
}

/// Where each column is, under the header found.
struct Columns<'a> {
    sheet: &'a str,
    headers: Vec<String>,
    at: HashMap<Col, usize>,
    aliases: &'static [(Col, &'static [&'static str])],
}

impl Columns<'_> {
    fn name(&self, c: Col) -> String {
        match self.at.get(&c) {
            Some(&i) => self.headers.get(i).cloned().unwrap_or_default(),
            None => self.aliases.iter().find(|(k, _)| *k == c).map(|(_, n)| n[0].to_owned()).unwrap_or_default(),
        }
    }

    fn text(&self, cells: &[Cell], c: Col) -> String {
        self.at.get(&c).and_then(|&i| cells.get(i)).map(|c| normalize(&c.text)).unwrap_or_default()
    }

    fn problem(&self, row: u32, c: Col, value: &str, code: &'static str, (problem, fix): texts::Text) -> Problem {
        Problem::at(self.sheet, row, &self.name(c), value, code, problem, fix)
    }

    fn cite(&self, row: u32, c: Col, text: String) -> Cited {
        Cited { row, column: self.name(c), text }
    }

    /// A row holding nothing but a running number or a note.
    fn is_blank(&self, cells: &[Cell]) -> bool {
        let ignored = self.at.get(&Col::Ignored).copied();
        cells.iter().enumerate().all(|(i, c)| c.merged || Some(i) == ignored || normalize(&c.text).is_empty())
    }
}

/// Finds the header (in the first 20 rows) with all of `needed`; the rows below it.
fn columns<'a>(
    sheet: &'a str,
    table: &'a Table,
    aliases: &'static [(Col, &'static [&'static str])],
    needed: &[Col],
) -> Result<(Columns<'a>, &'a [super::table::Row]), Vec<Problem>> {
    let col_of = |key: &str| aliases.iter().find(|(_, names)| names.contains(&key)).map(|(c, _)| *c);
    let found = table.rows.iter().take(20).enumerate().find_map(|(i, row)| {
        let mut at = HashMap::new();
        for (c, cell) in row.cells.iter().enumerate() {
            if let Some(col) = col_of(&header_key(&cell.text)) {
                at.entry(col).or_insert(c);
            }
        }
        (at.contains_key(&Col::Name) && at.len() >= 2).then_some((i, at))
    });
    let Some((i, at)) = found else {
        let needed: Vec<&str> =
            needed.iter().filter_map(|c| aliases.iter().find(|(k, _)| k == c)).map(|(_, n)| n[0]).collect();
        let (problem, fix) = texts::header_missing(sheet, &needed.join("、"));
        let row = table.rows.first().map_or(1, |r| r.number);
        return Err(vec![Problem::at(sheet, row, "", "", "header_missing", problem, fix)]);
    };
    let header = &table.rows[i];
    let cols = Columns { sheet, headers: header.cells.iter().map(|c| normalize(&c.text)).collect(), at, aliases };
    let missing: Vec<Problem> = needed
        .iter()
        .filter(|c| !cols.at.contains_key(c))
        .map(|&c| cols.problem(header.number, c, "", "column_missing", texts::column_missing(&cols.name(c))))
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    Ok((cols, &table.rows[i + 1..]))
}

/// Reads the staff sheet: every staff member, or every problem found.
pub fn parse_staff(sheet: &str, table: &Table) -> Result<Vec<SheetStaff>, Vec<Problem>> {
    let (cols, rows) = columns(sheet, table, STAFF_COLUMNS, &[Col::Name, Col::Phone, Col::Role])?;
    let mut problems = Vec::new();
    let mut staff = Vec::new();
    let mut phones: HashMap<String, u32> = HashMap::new();
    // Without a phone a staff member is known by name: two such rows would be one person.
    let mut phoneless: HashMap<String, u32> = HashMap::new();
    for row in rows.iter().filter(|r| !cols.is_blank(&r.cells)) {
        let (n, cells) = (row.number, &row.cells);
        let name = cols.text(cells, Col::Name);
        if name.is_empty() {
            problems.push(cols.problem(n, Col::Name, "", "staff_name_missing", texts::staff_name_missing()));
        }
        let phone_text = cols.text(cells, Col::Phone).replace(' ', "");
        let phone = match phone_text.is_empty() {
            true => None,
            false => match Phone::parse(&phone_text) {
                Ok(p) => Some(p),
                Err(_) => {
                    let text = texts::phone_malformed();
                    problems.push(cols.problem(n, Col::Phone, &phone_text, "phone_malformed", text));
                    None
                }
            },
        };
        if let Some(p) = &phone
            && let Some(&first) = phones.get(p.expose())
        {
            let text = texts::staff_phone_duplicate(first);
            problems.push(cols.problem(n, Col::Phone, &p.masked(), "staff_phone_duplicate", text));
        } else if let Some(p) = &phone {
            phones.insert(p.expose().to_owned(), n);
        } else if phone_text.is_empty() && !name.is_empty() {
            if let Some(&first) = phoneless.get(&name) {
                problems.push(cols.problem(n, Col::Name, &name, "staff_duplicate", texts::staff_duplicate(first)));
            } else {
                phoneless.insert(name.clone(), n);
            }
        }
        let role_text = cols.text(cells, Col::Role);
        let role = role_of(&role_text);
        if role.is_none() {
            problems.push(cols.problem(n, Col::Role, &role_text, "role_unknown", texts::role_unknown(&role_text)));
        }
        let areas: Vec<Cited> =
            split_list(&cols.text(cells, Col::Areas)).into_iter().map(|a| cols.cite(n, Col::Areas, a)).collect();
        if let Some(r @ (Role::GridHead | Role::GridMember)) = role
            && areas.is_empty()
        {
            problems.push(cols.problem(n, Col::Areas, "", "area_missing", texts::area_missing(r)));
        }
        let point_text = cols.text(cells, Col::Point);
        let point = (!point_text.is_empty()).then(|| cols.cite(n, Col::Point, point_text));
        if role == Some(Role::Operator) && point.is_none() {
            problems.push(cols.problem(n, Col::Point, "", "operator_point_missing", texts::operator_point_missing()));
        }
        if let (Some(role), false) = (role, name.is_empty()) {
            staff.push(SheetStaff { row: n, name, phone, role, areas, point });
        }
    }
    if problems.is_empty() { Ok(staff) } else { Err(problems) }
}

/// Reads the sampling-point sheet: every point, or every problem found.
pub fn parse_points(sheet: &str, table: &Table) -> Result<Vec<SheetPoint>, Vec<Problem>> {
    let (cols, rows) = columns(sheet, table, POINT_COLUMNS, &[Col::Name, Col::Areas])?;
    let mut problems = Vec::new();
    let mut points = Vec::new();
    let mut names: HashMap<String, u32> = HashMap::new();
    for row in rows.iter().filter(|r| !cols.is_blank(&r.cells)) {
        let (n, cells) = (row.number, &row.cells);
        let name = cols.text(cells, Col::Name);
        if name.is_empty() {
            problems.push(cols.problem(n, Col::Name, "", "point_name_missing", texts::point_name_missing()));
        } else if let Some(&first) = names.get(&name) {
            problems.push(cols.problem(n, Col::Name, &name, "point_duplicate", texts::point_duplicate(first)));
        } else {
            names.insert(name.clone(), n);
        }
        let areas: Vec<Cited> =
            split_list(&cols.text(cells, Col::Areas)).into_iter().map(|a| cols.cite(n, Col::Areas, a)).collect();
        if areas.is_empty() {
            problems.push(cols.problem(n, Col::Areas, "", "point_serves_nothing", texts::point_serves_nothing()));
        }
        if !name.is_empty() {
            points.push(SheetPoint { row: n, name, place: cols.text(cells, Col::Place), areas });
        }
    }
    if problems.is_empty() { Ok(points) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_read_in_chinese_and_english() {
        for (text, role) in [
            ("总网格长", Role::Chief),
            ("分网格长", Role::GridHead),
            ("网格长", Role::GridHead),
            ("网格员", Role::GridMember),
            ("采样员", Role::Operator),
            ("医护", Role::Medic),
            ("上门采样", Role::Medic),
            ("检测机构", Role::Lab),
            ("只读大屏", Role::Viewer),
            ("管理员", Role::Admin),
            ("grid_head", Role::GridHead),
            (" Operator ", Role::Operator),
        ] {
            assert_eq!(role_of(text), Some(role), "{text}");
        }
        assert_eq!(role_of("村长"), None);
    }

    #[test]
    fn a_cell_lists_areas_with_any_separator() {
        assert_eq!(split_list("第1网格、第2网格, 东片区/第3网格；"), ["第1网格", "第2网格", "东片区/第3网格"]);
    }
}
