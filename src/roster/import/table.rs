//! Spreadsheet files in and out, as a plain [`Table`] of text cells that keeps each row's
//! number as Excel shows it. Everything format-specific stays here: merged cells are
//! filled from their top-left cell, numbers are turned into text (remembering that they
//! were numbers, which is how an ID number Excel shortened is recognised), and CSV bytes
//! are decoded from UTF-8 (with or without BOM) or GBK/GB18030.

use super::ImportError;
use calamine::{Data, Reader, Xlsx};
use std::io::Cursor;

/// One cell as text, plus whether the spreadsheet held it as a number.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    pub text: String,
    pub number: bool,
    /// Filled in from a merged region's top-left cell on an earlier row, not the row's own:
    /// a row whose own cells are all blank is a blank row even inside a merged household.
    pub merged: bool,
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Self {
        Self { text: text.into(), number: false, merged: false }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The row number as Excel shows it (1-based, counting title and blank rows).
    pub number: u32,
    pub cells: Vec<Cell>,
}

/// A sheet's rows, top to bottom; blank rows are kept so that row numbers stay true.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub rows: Vec<Row>,
}

impl Table {
    /// A table from rows of strings, numbered from 1 (for templates and tests).
    pub fn from_strings<S: AsRef<str>>(rows: &[Vec<S>]) -> Self {
        let rows = rows
            .iter()
            .enumerate()
            .map(|(i, r)| Row { number: i as u32 + 1, cells: r.iter().map(|c| Cell::text(c.as_ref())).collect() })
            .collect();
        Self { rows }
    }
}

/// The file formats the importer reads and the template is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Csv,
}

impl Format {
    /// The format a file name's extension says, e.g. `花名册.xlsx`.
    pub fn from_name(name: &str) -> Option<Self> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "xlsx" | "xlsm" => Some(Format::Xlsx),
            "csv" | "txt" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// How to read a file: which sheet of a workbook, which encoding of a CSV.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The residents' sheet. Default: the first sheet that is not a staff or sampling-point
    /// sheet (see [`SheetKind`]).
    pub sheet: Option<String>,
    /// An encoding label such as `gbk`, `gb18030` or `utf-8`. Default: detected.
    pub encoding: Option<String>,
}

/// What a workbook's sheet holds, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetKind {
    Residents,
    Staff,
    Points,
}

/// Sheet names (compared as headers are, see [`header_key`](super::layout::header_key))
/// that mean the staff sheet and the sampling-point sheet. Any other sheet may hold the
/// residents.
pub const STAFF_SHEETS: &[&str] = &["工作人员", "人员", "员工", "网格人员", "工作人员名单", "staff"];
pub const POINT_SHEETS: &[&str] =
    &["采样点", "采集点", "采样点位", "采集点位", "核酸采样点", "points", "samplingpoints"];

impl SheetKind {
    pub fn of(name: &str) -> Self {
        let key = super::layout::header_key(name);
        if STAFF_SHEETS.contains(&key.as_str()) {
            SheetKind::Staff
        } else if POINT_SHEETS.contains(&key.as_str()) {
            SheetKind::Points
        } else {
            SheetKind::Residents
        }
    }
}

/// One sheet of a workbook (a CSV is one sheet without a name).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Named {
    pub name: String,
    pub table: Table,
}

/// The sheets an import reads: the residents', and the staff and sampling-point sheets
/// when the workbook has them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Book {
    pub residents: Named,
    pub staff: Option<Named>,
    pub points: Option<Named>,
}

/// The residents' sheet only (see [`read_book`]).
pub fn read(bytes: &[u8], format: Format, options: &ReadOptions) -> Result<Table, ImportError> {
    Ok(read_book(bytes, format, options)?.residents.table)
}

pub fn read_book(bytes: &[u8], format: Format, options: &ReadOptions) -> Result<Book, ImportError> {
    match format {
        Format::Xlsx => read_xlsx(bytes, options.sheet.as_deref()),
        Format::Csv => Ok(Book {
            residents: Named { name: String::new(), table: read_csv(bytes, options.encoding.as_deref())? },
            ..Book::default()
        }),
    }
}

fn read_xlsx(bytes: &[u8], sheet: Option<&str>) -> Result<Book, ImportError> {
    let unreadable = |e: calamine::XlsxError| ImportError::Unreadable(e.to_string());
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    let names = book.sheet_names();
    let residents = match sheet {
        Some(s) => names
            .iter()
            .find(|n| n.as_str() == s)
            .cloned()
            .ok_or_else(|| ImportError::NoSuchSheet { sheet: s.to_owned(), sheets: names.clone() })?,
        None => names
            .iter()
            .find(|n| SheetKind::of(n) == SheetKind::Residents)
            .or(names.first())
            .cloned()
            .ok_or_else(|| ImportError::Unreadable("the workbook has no sheet".into()))?,
    };
    let first_of = |kind| names.iter().find(|n| **n != residents && SheetKind::of(n) == kind).cloned();
    let (staff, points) = (first_of(SheetKind::Staff), first_of(SheetKind::Points));
    let mut read = |name: String| -> Result<Named, ImportError> {
        let table = read_worksheet(&mut book, &name)?;
        Ok(Named { name, table })
    };
    Ok(Book {
        residents: read(residents)?,
        staff: staff.map(&mut read).transpose()?,
        points: points.map(&mut read).transpose()?,
    })
}

fn read_worksheet(book: &mut Xlsx<Cursor<&[u8]>>, name: &str) -> Result<Table, ImportError> {
    let unreadable = |e: calamine::XlsxError| ImportError::Unreadable(e.to_string());
    let range = book.worksheet_range(name).map_err(unreadable)?;
    let merged = book.merge_cells_by_sheet_name(name).map_err(unreadable)?;
    let Some((top, left)) = range.start() else { return Ok(Table::default()) };
    // Absolute positions: cells left of the used range are empty, so columns keep their
    // place relative to each other, which is all the header needs.
    let mut rows: Vec<Row> = range
        .rows()
        .enumerate()
        .map(|(i, cells)| Row { number: top + i as u32 + 1, cells: cells.iter().map(cell_of).collect() })
        .collect();
    // A merged region shows its value once, in its top-left cell; every cell it covers
    // means that value (a household's number merged over its residents' rows).
    for region in merged {
        let (r0, c0) = region.start;
        let (r1, c1) = region.end;
        let at = |r: u32, c: u32| Some((r.checked_sub(top)? as usize, c.checked_sub(left)? as usize));
        let Some(value) = at(r0, c0).and_then(|(r, c)| rows.get(r)?.cells.get(c).cloned()) else { continue };
        for r in r0..=r1 {
            for c in c0..=c1 {
                if let Some((ri, ci)) = at(r, c)
                    && let Some(row) = rows.get_mut(ri)
                {
                    if row.cells.len() <= ci {
                        row.cells.resize(ci + 1, Cell::default());
                    }
                    row.cells[ci] = Cell { merged: (r, c) != (r0, c0), ..value.clone() };
                }
            }
        }
    }
    Ok(Table { rows })
}

fn cell_of(d: &Data) -> Cell {
    match d {
        Data::Empty => Cell::default(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::text(s.clone()),
        Data::Int(i) => Cell { text: i.to_string(), number: true, merged: false },
        // Whole numbers print without a fraction (a phone typed as a number); large ones in
        // full, which for an ID number Excel shortened shows the zeros it put in.
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e21 => {
            Cell { text: format!("{f:.0}"), number: true, merged: false }
        }
        Data::Float(f) => Cell { text: f.to_string(), number: true, merged: false },
        Data::Bool(b) => Cell::text(b.to_string()),
        Data::DateTime(dt) => {
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            Cell::text(format!("{y:04}-{m:02}-{d:02}"))
        }
        Data::Error(e) => Cell::text(format!("#{e:?}")),
    }
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decodes CSV bytes: a BOM or valid UTF-8 means UTF-8, anything else is read as GB18030
/// (the superset of GBK that Excel on Chinese Windows writes).
pub fn decode(bytes: &[u8], label: Option<&str>) -> Result<String, ImportError> {
    let encoding = match label {
        Some(l) => encoding_rs::Encoding::for_label(l.trim().as_bytes())
            .ok_or_else(|| ImportError::UnknownEncoding(l.to_owned()))?,
        None if bytes.starts_with(UTF8_BOM) || std::str::from_utf8(bytes).is_ok() => encoding_rs::UTF_8,
        None => encoding_rs::GB18030,
    };
    let (text, malformed) = encoding.decode_with_bom_removal(bytes);
    if malformed {
        return Err(ImportError::Unreadable(format!(
            "the file is not valid {} text; save it again as CSV UTF-8, or name the encoding (--encoding gbk)",
            encoding.name()
        )));
    }
    Ok(text.into_owned())
}

fn read_csv(bytes: &[u8], label: Option<&str>) -> Result<Table, ImportError> {
    let text = decode(bytes, label)?;
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| ImportError::Unreadable(e.to_string()))?;
        // The csv reader skips empty lines and counts them into the next record's start.
        let number = match record.position() {
            None => rows.len() as u64 + 1,
            Some(p) => {
                let skipped = text.as_bytes()[p.byte() as usize..].iter().take_while(|b| matches!(b, b'\n' | b'\r'));
                p.line() + skipped.filter(|b| **b == b'\n').count() as u64
            }
        } as u32;
        rows.push(Row { number, cells: record.iter().map(Cell::text).collect() });
    }
    Ok(Table { rows })
}

/// One sheet to write: its name (blank: Excel's default), its rows, and the runs of rows
/// (0-based, inclusive) whose cells in the listed columns are merged, as clerks lay
/// households out.
pub struct SheetOut<'a> {
    pub name: &'a str,
    pub rows: &'a [Vec<String>],
    pub merge: &'a [(u32, u32)],
    pub merge_cols: &'a [u16],
}

/// Writes rows as a one-sheet workbook (see [`write_workbook`]).
pub fn write_xlsx(rows: &[Vec<String>], merge: &[(u32, u32)], merge_cols: &[u16]) -> Result<Vec<u8>, ImportError> {
    write_workbook(&[SheetOut { name: "", rows, merge, merge_cols }])
}

/// Writes sheets as a workbook: text cells only (so ID numbers stay text when a clerk
/// types over them), each sheet's first row bold and frozen.
pub fn write_workbook(sheets: &[SheetOut]) -> Result<Vec<u8>, ImportError> {
    use rust_xlsxwriter::Workbook;
    let failed = |e: rust_xlsxwriter::XlsxError| ImportError::Unreadable(format!("cannot write the workbook: {e}"));
    let mut book = Workbook::new();
    for out in sheets {
        let sheet = book.add_worksheet();
        if !out.name.is_empty() {
            sheet.set_name(out.name).map_err(failed)?;
        }
        write_worksheet(sheet, out).map_err(failed)?;
    }
    book.save_to_buffer().map_err(failed)
}

fn write_worksheet(sheet: &mut rust_xlsxwriter::Worksheet, out: &SheetOut) -> Result<(), rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format as CellFormat, FormatAlign};
    let SheetOut { rows, merge, merge_cols, .. } = *out;
    let text = CellFormat::new().set_num_format("@");
    let bold = CellFormat::new().set_bold().set_num_format("@");
    let merged = CellFormat::new().set_num_format("@").set_align(FormatAlign::VerticalCenter);
    for col in 0..rows.iter().map(Vec::len).max().unwrap_or(0) as u16 {
        sheet.set_column_format(col, &text)?;
        sheet.set_column_width(col, 14)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let format = if r == 0 { &bold } else { &text };
        for (c, value) in row.iter().enumerate() {
            if !value.is_empty() {
                sheet.write_string_with_format(r as u32, c as u16, value, format)?;
            }
        }
    }
    for &(first, last) in merge.iter().filter(|(a, b)| b > a) {
        for &c in merge_cols {
            let value = rows[first as usize].get(c as usize).map_or("", String::as_str);
            sheet.merge_range(first, c, last, c, value, &merged)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

/// Writes rows as CSV in UTF-8 with a BOM, which Excel opens with the right encoding.
pub fn write_csv(rows: &[Vec<String>]) -> Result<Vec<u8>, ImportError> {
    let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(UTF8_BOM.to_vec());
    for row in rows {
        writer.write_record(row).map_err(|e| ImportError::Unreadable(e.to_string()))?;
    }
    writer.into_inner().map_err(|e| ImportError::Unreadable(e.to_string()))
}
