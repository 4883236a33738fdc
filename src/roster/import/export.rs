//! The template layout, written out: the columns the importer expects, with example rows
//! (`muster import --template`), or a whole roster (the round trip the property test
//! checks). Household and area cells are written on a household's first row only, as
//! clerks do, so the importer's filling-in is exercised by every round trip.

use super::layout::{ALIASES, Field};
use super::staff::{Col, POINT_COLUMNS, STAFF_COLUMNS};
use crate::roster::{Flags, IdNumber, Role, RosterParts};
use std::collections::HashMap;

/// The template's header for a field of the residents' sheet.
pub fn header(f: Field) -> String {
    ALIASES.iter().find(|(g, _)| *g == f).map(|(_, names)| names[0].to_owned()).unwrap_or_default()
}

const HOUSEHOLD_FIELDS: [Field; 5] =
    [Field::GridMember, Field::GridMemberPhone, Field::Household, Field::Head, Field::Address];
const RESIDENT_FIELDS: [Field; 8] =
    [Field::Name, Field::Relation, Field::Sex, Field::IdNumber, Field::Birth, Field::Phone, Field::Status, Field::Note];

/// The template's header row for these area levels.
pub fn headers(levels: &[String]) -> Vec<String> {
    let fields = HOUSEHOLD_FIELDS.iter().chain(&RESIDENT_FIELDS).map(|f| header(*f));
    levels.iter().cloned().chain(fields).collect()
}

/// The words of the status column for a resident's flags.
pub fn status(flags: Flags) -> String {
    let words = [(flags.away, "外出"), (flags.bedridden, "卧床"), (flags.migrant, "流动人口")];
    words.iter().filter(|(on, _)| *on).map(|(_, w)| *w).collect::<Vec<_>>().join("、")
}

/// A sheet: the header, then one row per resident, household and area cells on each
/// household's first row. Also returns each household's run of rows (for merging).
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// The worksheet's name in a workbook.
    pub name: String,
    pub rows: Vec<Vec<String>>,
    pub households: Vec<(u32, u32)>,
    /// The columns a household's rows share (merged in a workbook).
    pub household_cols: Vec<u16>,
}

/// One row's values: area path, then household fields, then resident fields.
struct Line<'a> {
    path: &'a [String],
    household: [String; 5],
    resident: [String; 8],
}

fn sheet(levels: Vec<String>, lines: Vec<Line>) -> Sheet {
    let mut rows = vec![headers(&levels)];
    let mut households = Vec::new();
    let mut previous: Option<(&[String], &str)> = None;
    for line in &lines {
        let first = previous != Some((line.path, line.household[2].as_str()));
        if first {
            households.push((rows.len() as u32, rows.len() as u32));
        } else if let Some(last) = households.last_mut() {
            last.1 = rows.len() as u32;
        }
        let blank = |v: &String| if first { v.clone() } else { String::new() };
        let mut row: Vec<String> = (0..levels.len()).map(|i| line.path.get(i).map(blank).unwrap_or_default()).collect();
        row.extend(line.household.iter().map(blank));
        row.extend(line.resident.iter().cloned());
        rows.push(row);
        previous = Some((line.path, line.household[2].as_str()));
    }
    let household_cols = (0..levels.len() + HOUSEHOLD_FIELDS.len()).map(|c| c as u16).collect();
    Sheet { name: RESIDENTS_SHEET.into(), rows, households, household_cols }
}

/// What the template calls its sheets (the importer finds the staff and point sheets by
/// these names and their aliases, see `table::STAFF_SHEETS`).
pub const RESIDENTS_SHEET: &str = "村民";
pub const STAFF_SHEET: &str = "工作人员";
pub const POINTS_SHEET: &str = "采样点";

/// A sheet without merged cells.
fn plain(name: &str, rows: Vec<Vec<String>>) -> Sheet {
    Sheet { name: name.into(), rows, households: Vec::new(), household_cols: Vec::new() }
}

fn header_of(columns: &[(Col, &[&str])], c: Col) -> String {
    columns.iter().find(|(k, _)| *k == c).map(|(_, n)| n[0].to_owned()).unwrap_or_default()
}

/// The staff sheet's header row.
pub fn staff_headers() -> Vec<String> {
    [Col::Name, Col::Phone, Col::Role, Col::Areas, Col::Point].map(|c| header_of(STAFF_COLUMNS, c)).to_vec()
}

/// The sampling-point sheet's header row.
pub fn point_headers() -> Vec<String> {
    [Col::Name, Col::Place, Col::Areas].map(|c| header_of(POINT_COLUMNS, c)).to_vec()
}

/// The template workbook: the residents' sheet ([`template`]), then the staff sheet and
/// the sampling-point sheet with fictitious rows for the same village: a chief, two grid
/// heads, the residents' sheet's two grid members, an operator at each point, a medic, a
/// wall screen and an admin. (A CSV template holds the residents' sheet only.)
pub fn template_book() -> Vec<Sheet> {
    let rows = |header: Vec<String>, lines: &[&[&str]]| {
        std::iter::once(header).chain(lines.iter().map(|l| l.iter().map(|c| (*c).to_owned()).collect())).collect()
    };
    let staff = rows(
        staff_headers(),
        &[
            &["张国强", "13800000010", "总网格长", "示范村", ""],
            &["孙立东", "13800000011", "分网格长", "东片区", ""],
            &["周海西", "13800000012", "分网格长", "西片区", ""],
            &["李春生", "13800000001", "网格员", "东片区/第1网格", ""],
            &["赵红梅", "13800000002", "网格员", "第2网格", ""],
            &["吴晓燕", "13800000021", "采样员", "", "1号采样点"],
            &["钱志明", "13800000022", "采样员", "", "2号采样点"],
            &["郑雅琴", "13800000031", "医护", "示范村", ""],
            &["村委会大屏", "", "只读大屏", "示范村", ""],
            &["王管理", "13800000051", "管理员", "", ""],
        ],
    );
    let points =
        rows(point_headers(), &[&["1号采样点", "村委会广场", "第1网格"], &["2号采样点", "卫生室门前", "第2网格"]]);
    vec![template(), plain(STAFF_SHEET, staff), plain(POINTS_SHEET, points)]
}

/// A roster in the template layout: residents still on the roster, by household.
pub fn export(parts: &RosterParts) -> Sheet {
    let nodes: HashMap<i64, &crate::roster::AreaNode> = parts.nodes.iter().map(|n| (n.id, n)).collect();
    let staff: HashMap<i64, &crate::roster::Staff> = parts.staff.iter().map(|s| (s.id, s)).collect();
    let path_of = |mut id: i64| {
        let mut path = Vec::new();
        while let Some(n) = nodes.get(&id) {
            path.push(*n);
            match n.parent {
                Some(p) => id = p,
                None => break,
            }
        }
        path.reverse();
        path
    };
    let paths: HashMap<i64, Vec<&crate::roster::AreaNode>> =
        parts.households.iter().map(|h| (h.node_id, path_of(h.node_id))).collect();
    let depth = paths.values().map(Vec::len).max().unwrap_or(0);
    let levels: Vec<String> = (0..depth)
        .map(|d| paths.values().find_map(|p| p.get(d)).map(|n| n.level.clone()).unwrap_or_default())
        .collect();
    let names: HashMap<i64, Vec<String>> =
        paths.iter().map(|(id, p)| (*id, p.iter().map(|n| n.name.clone()).collect())).collect();
    let households: HashMap<i64, &crate::roster::Household> = parts.households.iter().map(|h| (h.id, h)).collect();
    let mut residents: Vec<&crate::roster::Resident> =
        parts.residents.iter().filter(|r| !parts.removed.contains(&r.id)).collect();
    residents.sort_by_key(|r| (r.household_id, r.id));
    let lines = residents
        .iter()
        .map(|r| {
            let h = households[&r.household_id];
            let member = nodes[&h.node_id].staff_id.and_then(|s| staff.get(&s)).filter(|s| s.role == Role::GridMember);
            let phone = |p: Option<&crate::roster::Phone>| p.map(|p| p.expose().to_owned()).unwrap_or_default();
            Line {
                path: &names[&h.node_id],
                household: [
                    member.map(|s| s.name.clone()).unwrap_or_default(),
                    phone(member.and_then(|s| s.phone.as_ref())),
                    h.number.clone(),
                    String::new(),
                    h.address.clone(),
                ],
                resident: [
                    r.name.clone(),
                    String::new(),
                    String::new(),
                    r.id_number.expose().to_owned(),
                    r.birth_year.to_string(),
                    phone(r.phone.as_ref()),
                    status(r.flags),
                    r.note.clone(),
                ],
            }
        })
        .collect();
    sheet(levels, lines)
}

/// A roster as a workbook's sheets: the residents ([`export`]), its staff (but the
/// retired) and its sampling points (but the retired), areas written as full paths from
/// the root so that each names one node.
pub fn export_book(parts: &RosterParts) -> Vec<Sheet> {
    let by_id: HashMap<i64, &crate::roster::AreaNode> = parts.nodes.iter().map(|n| (n.id, n)).collect();
    let path = |mut id: i64| {
        let mut names = Vec::new();
        while let Some(n) = by_id.get(&id) {
            names.push(n.name.clone());
            match n.parent {
                Some(p) if names.len() <= parts.nodes.len() => id = p,
                _ => break,
            }
        }
        names.reverse();
        names.join("/")
    };
    let areas = |nodes: &[i64]| nodes.iter().map(|n| path(*n)).collect::<Vec<_>>().join("、");
    let points: HashMap<i64, &str> = parts.points.iter().map(|p| (p.id, p.name.as_str())).collect();
    let mut staff = vec![staff_headers()];
    staff.extend(parts.staff.iter().filter(|s| !s.retired).map(|s| {
        vec![
            s.name.clone(),
            s.phone.as_ref().map(|p| p.expose().to_owned()).unwrap_or_default(),
            super::texts::role_name(s.role).to_owned(),
            areas(&s.nodes),
            s.point_id.and_then(|p| points.get(&p)).map(|p| (*p).to_owned()).unwrap_or_default(),
        ]
    }));
    let mut point_rows = vec![point_headers()];
    point_rows.extend(
        parts.points.iter().filter(|p| !p.retired).map(|p| vec![p.name.clone(), p.place.clone(), areas(&p.nodes)]),
    );
    vec![export(parts), plain(STAFF_SHEET, staff), plain(POINTS_SHEET, point_rows)]
}

/// The template: the expected columns and a few fictitious residents showing the layout
/// (two households in two grids, household cells on the first row only, notes that set
/// a status). Their ID numbers are valid but made up.
pub fn template() -> Sheet {
    let id = |body: &str| IdNumber::from_body(body).map(|i| i.expose().to_owned()).unwrap_or_default();
    let levels = ["村", "片区", "网格"].map(String::from).to_vec();
    let (east, west) =
        (["示范村", "东片区", "第1网格"].map(String::from), ["示范村", "西片区", "第2网格"].map(String::from));
    let s = String::from;
    let lines = vec![
        Line {
            path: &east,
            household: [s("李春生"), s("13800000001"), s("SF0001"), s("王建国"), s("示范村东街1号")],
            resident: [
                s("王建国"),
                s("户主"),
                s("男"),
                id("11011719560312001"),
                s("1956-03-12"),
                s("13900000001"),
                s(""),
                s(""),
            ],
        },
        Line {
            path: &east,
            household: [s("李春生"), s("13800000001"), s("SF0001"), s("王建国"), s("示范村东街1号")],
            resident: [
                s("刘秀英"),
                s("配偶"),
                s("女"),
                id("11011719580721002"),
                s("1958-07-21"),
                s(""),
                s(""),
                s("长期卧床"),
            ],
        },
        Line {
            path: &east,
            household: [s("李春生"), s("13800000001"), s("SF0001"), s("王建国"), s("示范村东街1号")],
            resident: [
                s("王浩然"),
                s("子"),
                s("男"),
                id("11011719900105003"),
                s("1990-01-05"),
                s("13900000003"),
                s("外出"),
                s("外出务工"),
            ],
        },
        Line {
            path: &west,
            household: [s("赵红梅"), s("13800000002"), s("SF0002"), s("陈玉兰"), s("示范村西街8号")],
            resident: [
                s("陈玉兰"),
                s("户主"),
                s("女"),
                id("11011719450909004"),
                s("1945-09-09"),
                s("010-69961234"),
                s(""),
                s(""),
            ],
        },
    ];
    sheet(levels, lines)
}
