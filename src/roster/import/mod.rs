//! Importing the village's roster spreadsheet: the file as the clerk has it (`.xlsx`, or
//! `.csv` in UTF-8 or GBK), every problem pointed out by row and column, and the next
//! roster planned against the current one by stable keys.
//!
//! - [`table`]: bytes → rows of text cells (merged cells filled, encodings decoded), and
//!   rows → `.xlsx` / `.csv` for templates and exports.
//! - [`layout`]: finds the header under title rows and reads one resident per row into
//!   a [`SheetRoster`], or the full list of [`Problem`]s.
//! - [`plan`]: a [`SheetRoster`] against the current roster → the next roster, the rows
//!   to write, and the [`Report`] of what was added, changed and removed.
//! - [`export`]: the template, and a roster written in the template's layout.
//!
//! Like the rest of `roster`, nothing here does I/O beyond the bytes it is handed: the
//! store writes a plan, the writer swaps it into live state.

pub mod export;
pub mod layout;
pub mod plan;
pub mod table;
#[cfg(test)]
mod tests;

pub use plan::{Keep, Plan, RosterChanges, plan};
pub use table::{Format, ReadOptions};

use crate::roster::{Flags, IdNumber, Phone};
use serde::Serialize;
use std::collections::HashMap;

/// One thing wrong in the sheet, where Excel shows it, with what to do about it. ID
/// numbers in `value` are masked.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// The row number as Excel shows it.
    pub row: u32,
    /// The column's header as written in the sheet.
    pub column: String,
    pub value: String,
    /// A stable machine code, e.g. `id_invalid`.
    pub code: String,
    pub problem: String,
    pub fix: String,
}

impl Problem {
    pub fn new(row: u32, column: &str, value: &str, code: &'static str, problem: String, fix: &str) -> Self {
        Self { row, column: column.into(), value: value.into(), code: code.into(), problem, fix: fix.into() }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = if self.value.is_empty() { String::new() } else { format!(" [{}]", self.value) };
        write!(f, "row {}, {}{}: {} — {}", self.row, self.column, value, self.problem, self.fix)
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

/// How many statuses read from notes the text report lists.
const SHOWN_NOTICES: usize = 20;

/// What an import did (or, on a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub dry_run: bool,
    pub residents: Counts,
    /// Of the residents removed, those kept (marked removed) because the log names them.
    pub kept_for_history: usize,
    pub households: Counts,
    pub areas: Counts,
    pub grid_members_added: usize,
    /// Flags read from notes (外出务工 → away …): confirm them.
    pub flags_from_notes: Vec<Notice>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let line = |c: &Counts| {
            format!("{} added, {} changed, {} removed, {} unchanged", c.added, c.changed, c.removed, c.unchanged)
        };
        writeln!(f, "residents:  {}", line(&self.residents))?;
        if self.kept_for_history > 0 {
            writeln!(
                f,
                "            {} of the removed are kept, marked removed: actions record them",
                self.kept_for_history
            )?;
        }
        writeln!(f, "households: {}", line(&self.households))?;
        writeln!(f, "areas:      {}", line(&self.areas))?;
        writeln!(f, "grid members added: {}", self.grid_members_added)?;
        if !self.flags_from_notes.is_empty() {
            writeln!(f, "statuses read from notes ({}), please confirm:", self.flags_from_notes.len())?;
            // The first few here; the web page and the JSON report list them all.
            for n in self.flags_from_notes.iter().take(SHOWN_NOTICES) {
                writeln!(f, "  row {}, {} [{}]: {}", n.row, n.column, n.value, export::status(n.flags))?;
            }
            if self.flags_from_notes.len() > SHOWN_NOTICES {
                writeln!(f, "  … and {} more", self.flags_from_notes.len() - SHOWN_NOTICES)?;
            }
        }
        Ok(())
    }
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

/// A sheet read without problems: what it says, before it is matched to a roster.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetRoster {
    /// The first non-empty cell above the header (e.g. 某某村村民花名册).
    pub title: Option<String>,
    /// Area level names from the top, as the headers say (村, 片区, 网格 …).
    pub levels: Vec<String>,
    pub households: Vec<SheetHousehold>,
    /// Whether the sheet has a grid member column (else grids keep whom they have).
    pub has_grid_members: bool,
    /// The grid member named for each area path.
    pub grid_members: HashMap<Vec<String>, (String, Option<Phone>)>,
    pub notices: Vec<Notice>,
}

impl SheetRoster {
    pub fn residents(&self) -> usize {
        self.households.iter().map(|h| h.residents.len()).sum()
    }
}

/// Why an import did not happen. Nothing was written in any case.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportError {
    #[error("the file cannot be read: {0}")]
    Unreadable(String),
    #[error("{0:?} is neither .xlsx nor .csv; save the sheet as Excel workbook (.xlsx) or CSV")]
    UnknownFormat(String),
    #[error("there is no sheet {sheet:?}; the workbook has {sheets:?}")]
    NoSuchSheet { sheet: String, sheets: Vec<String> },
    #[error("unknown encoding {0:?}; use utf-8, gbk or gb18030")]
    UnknownEncoding(String),
    #[error("the sheet has {} problem(s); nothing was imported", .0.len())]
    Invalid(Vec<Problem>),
}

/// Reads a spreadsheet file into a roster, or every problem in it.
pub fn read_sheet(bytes: &[u8], format: Format, options: &ReadOptions) -> Result<SheetRoster, ImportError> {
    let table = table::read(bytes, format, options)?;
    layout::parse(&table).map_err(ImportError::Invalid)
}

/// A sheet as file bytes: a workbook with household cells merged, or a CSV.
pub fn write_sheet(sheet: &export::Sheet, format: Format) -> Result<Vec<u8>, ImportError> {
    match format {
        Format::Xlsx => table::write_xlsx(&sheet.rows, &sheet.households, &sheet.household_cols),
        Format::Csv => table::write_csv(&sheet.rows),
    }
}
