//! Importing the village's roster spreadsheet: the file as the clerk has it (`.xlsx`, or
//! `.csv` in UTF-8 or GBK), every problem pointed out by row and column, and the next
//! roster planned against the current one by stable keys.
//!
//! - [`table`]: bytes → rows of text cells (merged cells filled, encodings decoded), the
//!   workbook's residents', staff and sampling-point sheets found by name, and rows →
//!   `.xlsx` / `.csv` for templates and exports.
//! - [`layout`]: finds the header under title rows and reads one resident per row into
//!   a [`SheetRoster`], or the full list of [`Problem`]s.
//! - [`staff`]: the staff sheet and the sampling-point sheet, one row each.
//! - [`texts`]: what every problem says, in both languages (`crate::messages::import`).
//! - [`plan`]: a [`SheetRoster`] against the current roster → the next roster, the rows
//!   to write, and the [`Report`] of what was added, changed and removed.
//! - [`export`]: the template, and a roster written in the template's layout.
//!
//! Like the rest of `roster`, nothing here does I/O beyond the bytes it is handed: the
//! store writes a plan, the writer swaps it into live state.

pub mod export;
pub mod layout;
pub mod plan;
pub mod staff;
pub mod table;
#[cfg(test)]
mod tests;
/// What the problems say: in the one catalogue of messages.
pub use crate::messages::import as texts;

pub use plan::{Keep, Plan, RosterChanges, find_area, plan};
pub use table::{Format, ReadOptions};

use crate::messages::Said;
use crate::roster::{Flags, IdNumber, NodeId, Phone, Role};
use serde::Serialize;
use std::collections::HashMap;

/// One thing wrong in the sheet, where Excel shows it, with what to do about it. ID
/// numbers in `value` are masked.
// `SheetProblem` in the document, where `Problem` is an error answer.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = SheetProblem)]
pub struct Problem {
    /// The workbook's sheet the row is on (blank for a CSV file).
    pub sheet: String,
    /// The row number as Excel shows it.
    pub row: u32,
    /// The column's header as written in the sheet.
    pub column: String,
    pub value: String,
    /// A stable machine code, e.g. `id_invalid`.
    pub code: String,
    /// What is wrong, in the reader's language.
    #[schema(value_type = String)]
    pub problem: Said,
    /// What to do about it, in the reader's language.
    #[schema(value_type = String)]
    pub fix: Said,
}

impl Problem {
    /// A problem of the residents' sheet (whose name is filled in once it is known).
    pub fn new(row: u32, column: &str, value: &str, code: &'static str, (problem, fix): texts::Text) -> Self {
        Self::at("", row, column, value, code, problem, fix)
    }

    pub fn at(sheet: &str, row: u32, column: &str, value: &str, code: &'static str, problem: Said, fix: Said) -> Self {
        let (sheet, column, value, code) = (sheet.into(), column.into(), value.into(), code.into());
        Self { sheet, row, column, value, code, problem, fix }
    }

    /// The same problem at a cell the sheet cites (an area or a point of a staff row).
    pub fn cited(sheet: &str, at: &Cited, code: &'static str, (problem, fix): texts::Text) -> Self {
        Self::at(sheet, at.row, &at.column, &at.text, code, problem, fix)
    }
}

/// A flag read from a note rather than a status column, for the clerk to confirm.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Notice {
    pub row: u32,
    pub column: String,
    pub value: String,
    #[schema(value_type = Object)]
    pub flags: Flags,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub added: usize,
    pub changed: usize,
    /// On the roster before, not in the sheet.
    pub removed: usize,
    pub unchanged: usize,
}

/// One of the rows an import would remove, named for the person who confirms it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Removed {
    /// `resident`, `household`, `staff` or `point`.
    pub kind: &'static str,
    /// A resident's or staff member's name, a household's number, a point's name.
    pub name: String,
}

/// What an import removes from the roster, which must be confirmed by its total.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Removals {
    /// Residents, households, staff and points removed (areas follow and are not counted).
    pub total: usize,
    /// The first few of each kind.
    pub examples: Vec<Removed>,
}

/// How many removed rows of each kind [`Removals::examples`] names.
pub const REMOVAL_EXAMPLES: usize = 5;

/// What an import did (or, on a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub dry_run: bool,
    /// The area node the import was limited to, if it was.
    pub area: Option<NodeId>,
    pub residents: Counts,
    /// Of the residents removed, those kept (marked removed) because the log names them.
    pub kept_for_history: usize,
    pub households: Counts,
    pub areas: Counts,
    /// Staff from the staff sheet and the residents' grid member columns.
    pub staff: Counts,
    /// Of the staff removed, those retired rather than deleted: sessions, pairing codes,
    /// the audit log or the event log refer to them.
    pub staff_retired: usize,
    pub points: Counts,
    /// Of the points removed, those retired rather than deleted: an action names them.
    pub points_retired: usize,
    pub grid_members_added: usize,
    pub removals: Removals,
    /// Flags read from notes (外出务工 → away …): confirm them.
    pub flags_from_notes: Vec<Notice>,
}

/// The residents of one household as the sheet lists them.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetHousehold {
    /// The row it first appears on.
    pub row: u32,
    pub number: String,
    pub address: String,
    /// Area names from the top level down (as many as the sheet has levels).
    pub path: Vec<String>,
    pub residents: Vec<SheetResident>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SheetResident {
    pub row: u32,
    pub name: String,
    pub id_number: IdNumber,
    pub phone: Option<Phone>,
    pub birth_year: i32,
    pub flags: Flags,
    pub note: String,
}

/// A cell of the staff or point sheet naming something resolved later (an area, a point).
#[derive(Debug, Clone, PartialEq)]
pub struct Cited {
    pub row: u32,
    /// The column's header as written in the sheet.
    pub column: String,
    pub text: String,
}

/// A staff member as the staff sheet lists them.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetStaff {
    pub row: u32,
    pub name: String,
    pub phone: Option<Phone>,
    pub role: Role,
    /// The areas they answer for, as written: a name, or a path such as 东片区/第1网格.
    pub areas: Vec<Cited>,
    /// Their sampling point, by name.
    pub point: Option<Cited>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SheetPoint {
    pub row: u32,
    pub name: String,
    pub place: String,
    /// The areas it serves, as written (see [`SheetStaff::areas`]).
    pub areas: Vec<Cited>,
}

/// The rows of a staff or point sheet, with the sheet's name for problems found later.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listed<T> {
    pub sheet: String,
    pub rows: Vec<T>,
}

/// The grid member the residents' sheet names for one grid, where it first does.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetGridMember {
    pub row: u32,
    pub name: String,
    pub phone: Option<Phone>,
    /// The grid member phone column's header.
    pub column: String,
}

/// A sheet read without problems: what it says, before it is matched to a roster.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SheetRoster {
    /// The residents' sheet's name (blank for a CSV file).
    pub sheet: String,
    /// The first non-empty cell above the header (e.g. 某某村村民花名册).
    pub title: Option<String>,
    /// Area level names from the top, as the headers say (村, 片区, 网格 …).
    pub levels: Vec<String>,
    pub households: Vec<SheetHousehold>,
    /// Whether the sheet has a grid member column (else grids keep whom they have).
    pub has_grid_members: bool,
    /// The grid member named for each area path.
    pub grid_members: HashMap<Vec<String>, SheetGridMember>,
    pub notices: Vec<Notice>,
    /// The staff sheet, when the workbook has one: then it lists every staff member (but
    /// admins, whom a sheet never removes), else staff are left as they are.
    pub staff: Option<Listed<SheetStaff>>,
    /// The sampling-point sheet, when the workbook has one: then it lists every point.
    pub points: Option<Listed<SheetPoint>>,
}

impl SheetRoster {
    pub fn residents(&self) -> usize {
        self.households.iter().map(|h| h.residents.len()).sum()
    }
}

/// Why an import did not happen. Nothing was written in any case.
/// What each says: [`texts::unreadable`]; `Display` is in [`Lang::current`].
#[derive(Debug, Clone, PartialEq)]
pub enum ImportError {
    /// Why the file cannot be read (the reader's words).
    Unreadable(String),
    UnknownFormat(String),
    NoSuchSheet {
        sheet: String,
        sheets: Vec<String>,
    },
    UnknownEncoding(String),
    Invalid(Vec<Problem>),
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        texts::unreadable(self).fmt(f)
    }
}

impl std::error::Error for ImportError {}

/// Reads a spreadsheet file into a roster, or every problem in it: the residents' sheet
/// first, then the staff sheet's, then the point sheet's.
pub fn read_sheet(bytes: &[u8], format: Format, options: &ReadOptions) -> Result<SheetRoster, ImportError> {
    let book = table::read_book(bytes, format, options)?;
    let mut problems = Vec::new();
    let residents_sheet = book.residents.name.clone();
    let residents = layout::parse(&book.residents.table).map_err(|mut found| {
        found.iter_mut().for_each(|p| p.sheet.clone_from(&residents_sheet));
        found
    });
    let staff = book.staff.map(|s| staff::parse_staff(&s.name, &s.table).map(|rows| Listed { sheet: s.name, rows }));
    let points = book.points.map(|s| staff::parse_points(&s.name, &s.table).map(|rows| Listed { sheet: s.name, rows }));
    fn take<T>(problems: &mut Vec<Problem>, read: Result<T, Vec<Problem>>) -> Option<T> {
        read.map_err(|found| problems.extend(found)).ok()
    }
    let residents = take(&mut problems, residents);
    let staff = staff.and_then(|s| take(&mut problems, s));
    let points = points.and_then(|p| take(&mut problems, p));
    match residents {
        Some(roster) if problems.is_empty() => Ok(SheetRoster { sheet: residents_sheet, staff, points, ..roster }),
        _ => Err(ImportError::Invalid(problems)),
    }
}

/// A sheet as file bytes: a workbook with household cells merged, or a CSV.
pub fn write_sheet(sheet: &export::Sheet, format: Format) -> Result<Vec<u8>, ImportError> {
    write_book(std::slice::from_ref(sheet), format)
}

/// Sheets as file bytes: a workbook with one worksheet each (household cells merged), or
/// a CSV of the first (the residents: a CSV file holds one sheet).
pub fn write_book(sheets: &[export::Sheet], format: Format) -> Result<Vec<u8>, ImportError> {
    match format {
        Format::Xlsx => {
            let out: Vec<table::SheetOut> = sheets
                .iter()
                .map(|s| table::SheetOut {
                    name: &s.name,
                    rows: &s.rows,
                    merge: &s.households,
                    merge_cols: &s.household_cols,
                })
                .collect();
            table::write_workbook(&out)
        }
        Format::Csv => table::write_csv(sheets.first().map_or(&[][..], |s| &s.rows)),
    }
}
