//! The sheet's layout: finds the header row under any title rows, recognises columns by
//! their Chinese headers (and English aliases), and reads one resident per row into a
//! [`SheetRoster`], filling household and area cells that clerks leave blank below the
//! first row (merged or not). Every problem is collected with its row and column; the
//! result is a roster only when there are none.

use super::table::{Cell, Table};
use super::{Notice, Problem, SheetGridMember, SheetHousehold, SheetResident, SheetRoster, texts};
use crate::roster::{Flags, IdNumber, IdNumberError, Phone};
use std::collections::HashMap;

/// What a column holds. Area levels are recognised separately (any depth).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Household,
    Head,
    Name,
    Relation,
    Sex,
    IdNumber,
    Birth,
    Phone,
    Address,
    GridMember,
    GridMemberPhone,
    Status,
    Note,
    /// A running number (序号): recognised so that it does not end up in notes.
    Ignored,
}

/// Header spellings, compared after [`header_key`] (no spaces, half-width, lowercase,
/// no parenthesised remarks). The first is what the template writes.
pub const ALIASES: &[(Field, &[&str])] = &[
    (
        Field::Household,
        &["户号", "户编号", "家庭户号", "户籍号", "家庭编号", "household", "householdnumber", "householdno"],
    ),
    (Field::Head, &["户主姓名", "户主", "head", "headofhousehold"]),
    (Field::Name, &["姓名", "居民姓名", "村民姓名", "人员姓名", "name"]),
    (Field::Relation, &["与户主关系", "关系", "家庭关系", "relation", "relationtohead"]),
    (Field::Sex, &["性别", "sex", "gender"]),
    (Field::IdNumber, &["身份证号", "身份证号码", "公民身份号码", "身份证", "证件号码", "idnumber", "idcard", "id"]),
    (Field::Birth, &["出生日期", "出生年月", "出生年份", "出生年月日", "生日", "birthdate", "birthyear", "birth"]),
    (Field::Phone, &["联系电话", "手机号", "手机号码", "电话", "手机", "联系方式", "电话号码", "phone", "mobile"]),
    (Field::Address, &["住址", "家庭住址", "地址", "现住址", "门牌号", "address"]),
    (Field::GridMember, &["网格员", "网格员姓名", "gridmember"]),
    (Field::GridMemberPhone, &["网格员电话", "网格员手机", "网格员联系电话", "网格员手机号", "gridmemberphone"]),
    (Field::Status, &["状态", "人员状态", "居住状态", "status"]),
    (Field::Note, &["备注", "说明", "note", "notes", "remark", "remarks"]),
    (Field::Ignored, &["序号", "no", "no.", "#", "index"]),
];

/// Area levels by name; a header ending in one of [`AREA_SUFFIXES`] is one too.
const AREA_NAMES: &[&str] = &[
    "镇",
    "乡",
    "乡镇",
    "街道",
    "社区",
    "村",
    "行政村",
    "自然村",
    "村组",
    "片区",
    "分网格",
    "网格",
    "小组",
    "村民小组",
    "组",
    "楼栋",
    "town",
    "village",
    "community",
    "area",
    "zone",
    "grid",
    "group",
];
const AREA_SUFFIXES: &[&str] = &["网格", "片区", "小组", "自然村", "社区", "行政村"];

/// Words in a status or note that set a flag, for the clerk to confirm.
const AWAY: &[&str] = &["外出", "在外", "务工", "打工", "外地", "上学", "不在村", "出差", "away"];
const BEDRIDDEN: &[&str] = &["卧床", "瘫痪", "失能", "行动不便", "bedridden"];
const MIGRANT: &[&str] = &["流动人口", "外来", "流入", "暂住", "租住", "migrant"];
/// Status words meaning "nothing special".
const PLAIN: &[&str] = &["正常", "在家", "在村", "无", "-", "—", "normal"];

/// How many rows from the top the header may be (title rows above it).
const HEADER_SEARCH: usize = 20;

/// Half-width digits, letters and spaces; trimmed.
pub fn normalize(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' | '\u{A0}' | '\t' => ' ',
            _ => c,
        })
        .collect();
    s.trim().to_owned()
}

/// A header as compared with the aliases.
pub fn header_key(h: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in normalize(h).chars() {
        match c {
            '(' | '（' | '[' | '【' => depth += 1,
            ')' | '）' | ']' | '】' => depth -= 1,
            _ if depth > 0 => {}
            '*' | ':' | '：' | '_' | '-' | ' ' => {}
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

fn field_of(key: &str) -> Option<Field> {
    ALIASES.iter().find(|(_, names)| names.contains(&key)).map(|(f, _)| *f)
}

fn is_area(key: &str) -> bool {
    AREA_NAMES.contains(&key) || AREA_SUFFIXES.iter().any(|s| key.ends_with(s))
}

/// Where each kind of column is, found in the header row.
struct Columns {
    header_row: u32,
    headers: Vec<String>,
    fields: HashMap<Field, usize>,
    /// Area level columns, left to right: the tree's levels from the top.
    areas: Vec<usize>,
    /// Columns nobody recognised: kept in the note as `header: value`.
    extra: Vec<usize>,
}

impl Columns {
    fn find(table: &Table) -> Option<(usize, Columns)> {
        table.rows.iter().take(HEADER_SEARCH).enumerate().find_map(|(i, row)| {
            let keys: Vec<String> = row.cells.iter().map(|c| header_key(&c.text)).collect();
            let fields: Vec<Option<Field>> = keys.iter().map(|k| field_of(k)).collect();
            let has = |f: Field| fields.contains(&Some(f));
            if !(has(Field::Name) || has(Field::IdNumber)) || fields.iter().flatten().count() < 2 {
                return None;
            }
            let mut columns = Columns {
                header_row: row.number,
                headers: row.cells.iter().map(|c| normalize(&c.text)).collect(),
                fields: HashMap::new(),
                areas: Vec::new(),
                extra: Vec::new(),
            };
            for (c, key) in keys.iter().enumerate() {
                match fields[c] {
                    // The first of two same columns wins; the second is kept as a note.
                    Some(f) if !columns.fields.contains_key(&f) => {
                        columns.fields.insert(f, c);
                    }
                    None if is_area(key) => columns.areas.push(c),
                    _ if key.is_empty() => {}
                    _ => columns.extra.push(c),
                }
            }
            Some((i, columns))
        })
    }

    fn header(&self, c: usize) -> String {
        self.headers.get(c).cloned().unwrap_or_default()
    }

    /// Whether a row holds nothing of its own: every cell blank, filled in from a merged
    /// region above, or a running number. Such rows are skipped wherever they are, also
    /// inside a household's merged cells.
    fn is_blank(&self, cells: &[Cell]) -> bool {
        let ignored = self.fields.get(&Field::Ignored).copied();
        cells.iter().enumerate().all(|(i, c)| c.merged || Some(i) == ignored || normalize(&c.text).is_empty())
    }

    /// The header a field was found under, or the template's name for it.
    fn name(&self, f: Field) -> String {
        match self.fields.get(&f) {
            Some(&c) => self.header(c),
            None => ALIASES.iter().find(|(g, _)| *g == f).map(|(_, n)| n[0].to_owned()).unwrap_or_default(),
        }
    }
}

fn cell(cells: &[Cell], c: Option<usize>) -> Option<&Cell> {
    c.and_then(|c| cells.get(c))
}

/// Reads a table into a roster, or every problem found.
pub fn parse(table: &Table) -> Result<SheetRoster, Vec<Problem>> {
    let Some((header_at, cols)) = Columns::find(table) else {
        return Err(vec![Problem::new(
            table.rows.first().map_or(1, |r| r.number),
            "",
            "",
            "header_missing",
            texts::residents_header_missing(HEADER_SEARCH),
        )]);
    };
    let mut problems = Vec::new();
    for f in [Field::Household, Field::Name, Field::IdNumber] {
        if !cols.fields.contains_key(&f) {
            problems.push(Problem::new(
                cols.header_row,
                &cols.name(f),
                "",
                "column_missing",
                texts::residents_column_missing(&cols.name(f)),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let title =
        table.rows[..header_at].iter().flat_map(|r| r.cells.iter()).map(|c| normalize(&c.text)).find(|t| !t.is_empty());
    let mut reader = RowReader::new(&cols);
    for row in &table.rows[header_at + 1..] {
        reader.read(row.number, &row.cells);
    }
    reader.finish(title)
}

/// The state carried from row to row while reading.
struct RowReader<'a> {
    cols: &'a Columns,
    problems: Vec<Problem>,
    notices: Vec<Notice>,
    households: Vec<SheetHousehold>,
    by_number: HashMap<String, usize>,
    /// The household the previous resident row belonged to (blank number = this one).
    /// Blank rows between do not end it: clerks leave them anywhere.
    current: Option<usize>,
    /// Area cells filled down (clerks write a grid once above its households).
    area: Vec<String>,
    /// The grid member filled down, while the area path stays the same.
    member: (String, String),
    grid_members: HashMap<Vec<String>, (String, Option<Phone>, u32)>,
    ids: HashMap<String, u32>,
    residents: usize,
}

impl<'a> RowReader<'a> {
    fn new(cols: &'a Columns) -> Self {
        Self {
            cols,
            problems: Vec::new(),
            notices: Vec::new(),
            households: Vec::new(),
            by_number: HashMap::new(),
            current: None,
            area: vec![String::new(); cols.areas.len()],
            member: Default::default(),
            grid_members: HashMap::new(),
            ids: HashMap::new(),
            residents: 0,
        }
    }

    fn text(&self, cells: &[Cell], f: Field) -> String {
        cell(cells, self.cols.fields.get(&f).copied()).map(|c| normalize(&c.text)).unwrap_or_default()
    }

    fn problem(&mut self, row: u32, f: Field, value: &str, code: &'static str, text: texts::Text) {
        self.problems.push(Problem::new(row, &self.cols.name(f), value, code, text));
    }

    /// A phone number, if the cell has one; a malformed one is a problem.
    fn phone(&mut self, row: u32, f: Field, text: &str) -> Option<Phone> {
        if text.is_empty() {
            return None;
        }
        Phone::parse(text).inspect_err(|_| self.problem(row, f, text, "phone_malformed", texts::phone_malformed())).ok()
    }

    fn read(&mut self, row: u32, cells: &[Cell]) {
        if self.cols.is_blank(cells) {
            return;
        }
        let path = self.area_path(cells);
        let household = self.household(row, cells, &path);
        self.grid_member(row, cells, &path);
        let resident = self.resident(row, cells);
        if let (Some(h), Some(r)) = (household, resident) {
            self.households[h].residents.push(r);
        }
        self.residents += 1;
    }

    /// The row's area path, each blank level filled from the rows above.
    fn area_path(&mut self, cells: &[Cell]) -> Vec<String> {
        let before = self.area.clone();
        for (level, &c) in self.cols.areas.iter().enumerate() {
            let v = cell(cells, Some(c)).map(|c| normalize(&c.text)).unwrap_or_default();
            if !v.is_empty() {
                self.area[level] = v;
                // A new value at one level starts over below it.
                self.area[level + 1..].iter_mut().for_each(String::clear);
            }
        }
        if self.area != before {
            self.member = Default::default();
        }
        self.area.iter().filter(|a| !a.is_empty()).cloned().collect()
    }

    fn household(&mut self, row: u32, cells: &[Cell], path: &[String]) -> Option<usize> {
        let number = self.text(cells, Field::Household).replace(' ', "");
        let address = self.text(cells, Field::Address);
        if number.is_empty() {
            return match self.current {
                Some(h) => Some(h),
                None => {
                    self.problem(row, Field::Household, "", "household_missing", texts::household_missing());
                    None
                }
            };
        }
        let h = match self.by_number.get(&number) {
            Some(&h) => {
                let first = &self.households[h];
                if first.path != path {
                    let (here, there) = (path.join("/"), first.path.join("/"));
                    let text = texts::household_in_two_grids(&number, &here, &there, first.row);
                    let column = self.cols.areas.last().map(|&c| self.cols.header(c)).unwrap_or_default();
                    self.problems.push(Problem::new(row, &column, &here, "household_in_two_grids", text));
                }
                h
            }
            None => {
                self.households.push(SheetHousehold {
                    row,
                    number: number.clone(),
                    address: String::new(),
                    path: path.to_vec(),
                    residents: Vec::new(),
                });
                self.by_number.insert(number, self.households.len() - 1);
                self.households.len() - 1
            }
        };
        if self.households[h].address.is_empty() {
            self.households[h].address = address;
        }
        self.current = Some(h);
        Some(h)
    }

    fn grid_member(&mut self, row: u32, cells: &[Cell], path: &[String]) {
        let name = self.text(cells, Field::GridMember);
        let phone = self.text(cells, Field::GridMemberPhone).replace(' ', "");
        if !name.is_empty() {
            self.member = (name, phone);
        }
        let (name, phone) = self.member.clone();
        if name.is_empty() {
            return;
        }
        let phone = self.phone(row, Field::GridMemberPhone, &phone);
        match self.grid_members.get(path) {
            Some((other, _, first)) if *other != name => {
                let text = texts::grid_member_conflict(&texts::show_path(path), other, *first, &name);
                self.problem(row, Field::GridMember, &name, "grid_member_conflict", text);
            }
            Some(_) => {}
            None => {
                self.grid_members.insert(path.to_vec(), (name, phone, row));
            }
        }
    }

    fn resident(&mut self, row: u32, cells: &[Cell]) -> Option<SheetResident> {
        let name = clean_name(&self.text(cells, Field::Name));
        if name.is_empty() {
            self.problem(row, Field::Name, "", "name_missing", texts::name_missing());
        }
        let id_number = self.id_number(row, cells);
        let phone_text: String = self.text(cells, Field::Phone);
        let phone_text = phone_text.split([',', '，', '/', '、', ';', '；']).next().unwrap_or("").replace(' ', "");
        let phone = self.phone(row, Field::Phone, &phone_text);
        let birth = self.text(cells, Field::Birth);
        let birth_cell = cell(cells, self.cols.fields.get(&Field::Birth).copied());
        let birth_year = match (birth.is_empty(), birth_year(&birth, birth_cell.is_some_and(|c| c.number))) {
            (true, _) => None,
            (false, Some(y)) => Some(y),
            (false, None) => {
                self.problem(row, Field::Birth, &birth, "birth_date_malformed", texts::birth_date_malformed());
                None
            }
        };
        let id_number = id_number?;
        if let Some(y) = birth_year
            && y != id_number.birth_year()
        {
            let text = texts::birth_date_mismatch(y, id_number.birth_year());
            self.problem(row, Field::Birth, &birth, "birth_date_mismatch", text);
        }
        let (mut flags, status) = (Flags::default(), self.text(cells, Field::Status));
        if !status.is_empty() && !PLAIN.contains(&status.as_str()) {
            flags = flags_in(&status);
            if flags == Flags::default() {
                self.problem(row, Field::Status, &status, "status_unknown", texts::status_unknown());
            }
        }
        let mut note = self.text(cells, Field::Note);
        let from_note = flags_in(&note);
        let inferred = Flags {
            away: from_note.away && !flags.away,
            bedridden: from_note.bedridden && !flags.bedridden,
            migrant: from_note.migrant && !flags.migrant,
        };
        if inferred != Flags::default() {
            self.notices.push(Notice {
                row,
                column: self.cols.name(Field::Note),
                value: note.clone(),
                flags: inferred,
            });
            flags = Flags {
                away: flags.away || inferred.away,
                bedridden: flags.bedridden || inferred.bedridden,
                migrant: flags.migrant || inferred.migrant,
            };
        }
        for &c in &self.cols.extra {
            let v = cell(cells, Some(c)).map(|c| normalize(&c.text)).unwrap_or_default();
            if !v.is_empty() {
                let sep = if note.is_empty() { "" } else { "; " };
                note = format!("{note}{sep}{}: {v}", self.cols.header(c));
            }
        }
        (!name.is_empty()).then(|| SheetResident {
            row,
            name,
            birth_year: id_number.birth_year(),
            id_number,
            phone,
            flags,
            note,
        })
    }

    fn id_number(&mut self, row: u32, cells: &[Cell]) -> Option<IdNumber> {
        let c = cell(cells, self.cols.fields.get(&Field::IdNumber).copied()).cloned().unwrap_or_default();
        let raw: String = normalize(&c.text).chars().filter(|c| !c.is_whitespace() && !"'\"`".contains(*c)).collect();
        if raw.is_empty() {
            self.problem(row, Field::IdNumber, "", "id_missing", texts::id_missing());
            return None;
        }
        let shown = mask(&raw);
        let problem = match IdNumber::parse(&raw) {
            Ok(id) => {
                if let Some(first) = self.ids.insert(id.expose().to_owned(), row) {
                    self.ids.insert(id.expose().to_owned(), first);
                    self.problem(row, Field::IdNumber, &shown, "id_duplicate", texts::id_duplicate(first));
                    return None;
                }
                return Some(id);
            }
            Err(e) => e,
        };
        if excel_shortened(&c, &raw, &problem) {
            self.problem(row, Field::IdNumber, &shown, "id_number_shortened", texts::id_number_shortened());
        } else {
            self.problem(row, Field::IdNumber, &shown, "id_invalid", texts::id_invalid(&problem));
        }
        None
    }

    fn finish(self, title: Option<String>) -> Result<SheetRoster, Vec<Problem>> {
        let mut problems = self.problems;
        if self.residents == 0 && problems.is_empty() {
            problems.push(Problem::new(self.cols.header_row, "", "", "no_residents", texts::no_residents()));
        }
        if !problems.is_empty() {
            problems.sort_by_key(|p| p.row);
            return Err(problems);
        }
        Ok(SheetRoster {
            title,
            levels: self.cols.areas.iter().map(|&c| self.cols.header(c)).collect(),
            has_grid_members: self.cols.fields.contains_key(&Field::GridMember),
            grid_members: self
                .grid_members
                .into_iter()
                .map(|(path, (name, phone, row))| {
                    (path, SheetGridMember { row, name, phone, column: self.cols.name(Field::GridMemberPhone) })
                })
                .collect(),
            households: self.households,
            notices: self.notices,
            ..SheetRoster::default()
        })
    }
}

/// Names lose stray spaces (`王 建国`), which clerks add to align two-character names.
fn clean_name(s: &str) -> String {
    if s.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)) {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    } else {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// An ID number shown in a problem: masked like everywhere else.
fn mask(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

/// Whether a bad ID number is one Excel turned into a number: a numeric cell, scientific
/// notation (`1.10105E+17`), or 18 digits ending in zeros that fail the check digit.
fn excel_shortened(c: &Cell, raw: &str, problem: &IdNumberError) -> bool {
    let digits = raw.chars().filter(char::is_ascii_digit).count();
    let scientific = raw.contains(['E', 'e']) && raw.contains('.') && digits >= 3;
    (c.number && digits >= 15)
        || scientific
        || (matches!(problem, IdNumberError::CheckDigit { .. }) && raw.ends_with("000"))
}

fn flags_in(text: &str) -> Flags {
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    Flags { away: has(AWAY), bedridden: has(BEDRIDDEN), migrant: has(MIGRANT) }
}

/// A birth year from a date as clerks write it, or an Excel date serial number.
fn birth_year(s: &str, number: bool) -> Option<i32> {
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    let year = match digits.len() {
        4 | 6 | 8 => digits[..4].parse().ok(),
        1..=5 if number && !s.contains('.') => {
            let serial: i32 = s.parse().ok()?;
            time::Date::from_julian_day(2_415_019 + serial).ok().map(|d| d.year())
        }
        _ => None,
    }?;
    (1880..=2100).contains(&year).then_some(year)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_whatever_their_spelling() {
        for h in ["公民身份号码", "身份证号码", " 身份证号（18位）", "ID Number", "id_number"] {
            assert_eq!(field_of(&header_key(h)), Some(Field::IdNumber), "{h}");
        }
        assert_eq!(field_of(&header_key("手机号")), Some(Field::Phone));
        assert!(is_area(&header_key("第一网格")) && is_area("片区") && !is_area(&header_key("网格员")));
    }

    #[test]
    fn full_width_digits_and_spaces_are_normalised() {
        assert_eq!(normalize("　１３８１２３４５６７８ "), "13812345678");
        assert_eq!(clean_name("王  芳"), "王芳");
    }

    #[test]
    fn birth_dates_come_in_many_shapes() {
        for (s, y) in
            [("1949-12-31", 1949), ("1949.12", 1949), ("19491231", 1949), ("1949年12月", 1949), ("1949", 1949)]
        {
            assert_eq!(birth_year(s, false), Some(y), "{s}");
        }
        assert_eq!(birth_year("18264", true), Some(1950));
        assert_eq!(birth_year("不详", false), None);
    }
}
