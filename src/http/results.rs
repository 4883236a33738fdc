//! The lab's side of an action: its tubes (those still waiting for a result, when asked),
//! and results uploaded as a sheet (`.csv` in UTF-8 or GBK, or `.xlsx`), read by the roster
//! import's reader and checked row by row. Any problem in the sheet answers `422
//! results_invalid` with every problem named by row and column, and records nothing;
//! otherwise each new result is a `tube_result` event, all of them in one batch through
//! the one writer. A row whose tube already has that result is a repeat: counted, not
//! appended, so the same sheet uploaded twice records nothing the second time.
//!
//! A lab sees tubes and results, never people: no names, no ID numbers here.

use super::actions::{TUBE_MAX, action_cell, is_tube_code, new_event};
use super::extract::{ApiPath, ApiQuery, Caller, cursor};
use super::import::{SheetFile, format_from, sheet_body};
use super::{ApiError, AppState};
use crate::action::tubes::Tube;
use crate::action::{ActionId, ActionState, EventBody, LabResult, Seq};
use crate::messages::results as texts;
use crate::roster::import::layout::{header_key, normalize};
use crate::roster::import::table::{self, Cell, Table};
use crate::roster::import::{Problem, ReadOptions};
use crate::roster::{PointId, Role};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// Largest results file accepted: a night's thousand tubes are a few dozen KiB.
pub const RESULTS_LIMIT: usize = 8 * 1024 * 1024;

/// Who reads the tubes list and enters results: the lab, and the command.
const LAB_ROLES: &[Role] = &[Role::Admin, Role::Chief, Role::Lab];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/actions/{id}/tubes", get(list_tubes))
        .route("/api/actions/{id}/results", post(upload_results).layer(DefaultBodyLimit::max(RESULTS_LIMIT)))
}

// ---------------------------------------------------------------- the tubes

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TubesQuery {
    /// At most this many tubes (default 100, at most 1000).
    #[param(minimum = 0, maximum = 4294967295_u64)]
    pub limit: Option<u32>,
    /// The `next` cursor of the previous page.
    #[param(pattern = "^[0-9]{1,18}$")]
    pub cursor: Option<String>,
    /// Only the closed tubes without a result: what the lab must still enter.
    #[serde(default)]
    pub waiting: bool,
    /// The `token` security scheme; read by the `Caller` extractor.
    #[serde(default)]
    #[param(ignore)]
    #[allow(dead_code)]
    token: Option<String>,
}

/// A tube as the lab sees it: where and when it was filled, how many are in it, its result.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TubeRow {
    pub code: String,
    pub point_id: PointId,
    pub point: String,
    pub size: u8,
    /// How many samples are in it.
    pub count: usize,
    pub closed: bool,
    #[schema(value_type = Option<String>)]
    pub result: Option<LabResult>,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
}

/// How many of the action's tubes are in each state.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TubeCounts {
    pub tubes: usize,
    /// Still taking samples at a point.
    pub open: usize,
    /// Closed, no result yet.
    pub waiting: usize,
    pub negative: usize,
    pub positive: usize,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TubePage {
    /// The log position the page was read at.
    pub seq: Seq,
    /// Newest first.
    pub tubes: Vec<TubeRow>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next: Option<String>,
    /// Over all the action's tubes, whatever the page.
    pub counts: TubeCounts,
}

fn waiting(t: &Tube) -> bool {
    t.closed && t.result.is_none()
}

fn tube_row(s: &ActionState, t: &Tube) -> TubeRow {
    TubeRow {
        code: t.code.clone(),
        point_id: t.point,
        point: s.roster.point(t.point).map(|p| p.name.clone()).unwrap_or_default(),
        size: t.size,
        count: t.members.len(),
        closed: t.closed,
        result: t.result,
        opened_at: t.opened_at,
    }
}

fn counts(tubes: &[Tube]) -> TubeCounts {
    let result = |r| tubes.iter().filter(|t| t.result == Some(r)).count();
    TubeCounts {
        tubes: tubes.len(),
        open: tubes.iter().filter(|t| !t.closed).count(),
        waiting: tubes.iter().filter(|t| waiting(t)).count(),
        negative: result(LabResult::Negative),
        positive: result(LabResult::Positive),
    }
}

/// The tubes of an action, newest first (with `waiting=true`, only those closed without a
/// result): code, point, size, count and result. No names: a lab sees results, not people.
#[utoipa::path(get, path = "/api/actions/{id}/tubes", params(("id" = i64, Path), TubesQuery),
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 200, body = TubePage),
        (status = 403, description = "`forbidden`: the lab, the chief and the administrator read tubes"),
        (status = 404, description = "`not_found`: no such action, or none the caller has a part in"),
    ))]
pub async fn list_tubes(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ActionId>,
    ApiQuery(q): ApiQuery<TubesQuery>,
) -> Result<Json<TubePage>, ApiError> {
    caller.require(LAB_ROLES)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000) as usize;
    let cell = action_cell(&state, &caller, id)?;
    let s = cell.state();
    // The cursor is the position in log order below which the next page starts: tubes
    // opened meanwhile come before it and do not shift the pages.
    let before = match q.cursor.as_deref() {
        None => s.tubes.len(),
        raw => cursor(raw)?.min(s.tubes.len()),
    };
    let mut picked = (0..before).rev().filter(|&i| !q.waiting || waiting(&s.tubes[i]));
    let tubes: Vec<TubeRow> = picked.by_ref().take(limit).map(|i| tube_row(&s, &s.tubes[i])).collect();
    let next = if tubes.len() == limit { picked.next().map(|i| (i + 1).to_string()) } else { None };
    Ok(Json(TubePage { seq: s.seq, tubes, next, counts: counts(&s.tubes) }))
}

// ---------------------------------------------------------------- the sheet

/// Header spellings, compared as the roster's are (`header_key`); the first is the template's.
const TUBE_HEADERS: &[&str] = &[
    texts::TUBE_HEADER,
    "管码",
    "条码",
    "混管编码",
    "试管号",
    "试管条码",
    "管号",
    "采样管编码",
    "tube",
    "tubecode",
    "barcode",
];
const RESULT_HEADERS: &[&str] = &[texts::RESULT_HEADER, "结果", "核酸结果", "检验结果", "result", "testresult"];

/// How many rows from the top the header may be (title rows above it).
const HEADER_SEARCH: usize = 20;

/// A result as a lab writes it: trimmed, half-width, any case.
pub fn parse_result(text: &str) -> Option<LabResult> {
    match normalize(text).to_lowercase().as_str() {
        "阴性" | "negative" | "-" | "neg" => Some(LabResult::Negative),
        "阳性" | "positive" | "+" | "pos" => Some(LabResult::Positive),
        _ => None,
    }
}

/// One row of results read without problems.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetResult {
    pub row: u32,
    pub tube: String,
    /// The spreadsheet held the code as a number (leading zeros may be gone).
    pub number: bool,
    pub result: LabResult,
    /// The result as written (`阳性`, `+` …), for a problem to quote.
    pub written: String,
}

/// The rows of a results sheet, the headers its columns go by, and the problems of the
/// rows that could not be read (their other rows are still checked against the action, so
/// that one upload names every problem).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResultsSheet {
    pub sheet: String,
    pub tube_column: String,
    pub result_column: String,
    pub rows: Vec<SheetResult>,
    pub problems: Vec<Problem>,
}

fn problem(sheet: &str, row: u32, column: &str, value: &str, code: &'static str, text: texts::Text) -> Problem {
    Problem::at(sheet, row, column, value, code, text.0, text.1)
}

/// Reads a table of tube codes and results with every problem the sheet alone shows (a
/// malformed code, an unreadable result), or the header's problem (a missing column), when
/// no row can be read at all. What the rows say about the action's tubes is [`check`]'s.
pub fn read_results(sheet: &str, table: &Table) -> Result<ResultsSheet, Vec<Problem>> {
    let find =
        |cells: &[Cell], names: &[&str]| cells.iter().position(|c| names.contains(&header_key(&c.text).as_str()));
    let header = table.rows.iter().take(HEADER_SEARCH).enumerate().find_map(|(i, row)| {
        let (tube, result) = (find(&row.cells, TUBE_HEADERS), find(&row.cells, RESULT_HEADERS));
        (tube.is_some() || result.is_some()).then_some((i, row, tube, result))
    });
    let first_row = table.rows.first().map_or(1, |r| r.number);
    let Some((at, header, tube_col, result_col)) = header else {
        return Err(vec![problem(sheet, first_row, "", "", "header_missing", texts::header_missing(HEADER_SEARCH))]);
    };
    let (Some(tube_col), Some(result_col)) = (tube_col, result_col) else {
        let missing = if tube_col.is_none() { texts::TUBE_HEADER } else { texts::RESULT_HEADER };
        let text = texts::column_missing(missing);
        return Err(vec![problem(sheet, header.number, missing, "", "column_missing", text)]);
    };
    let named = |c: usize| normalize(&header.cells[c].text);
    let (tube_column, result_column) = (named(tube_col), named(result_col));
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    for row in &table.rows[at + 1..] {
        let text = |c: usize| row.cells.get(c).map(|c| normalize(&c.text)).unwrap_or_default();
        if row.cells.iter().all(|c| normalize(&c.text).is_empty()) {
            continue;
        }
        let (tube, raw) = (text(tube_col), text(result_col));
        let mut wrong = |column: &str, value: &str, code, text| {
            problems.push(problem(sheet, row.number, column, value, code, text))
        };
        if tube.is_empty() {
            wrong(&tube_column, &tube, "tube_missing", texts::tube_missing());
        } else if !is_tube_code(&tube) {
            let shown: String = tube.chars().take(TUBE_MAX).collect();
            wrong(&tube_column, &shown, "tube_malformed", texts::tube_malformed(TUBE_MAX));
        }
        let result = parse_result(&raw);
        if result.is_none() {
            let shown: String = raw.chars().take(40).collect();
            wrong(&result_column, &shown, "result_unreadable", texts::result_unreadable(raw.is_empty()));
        }
        if let Some(result) = result.filter(|_| is_tube_code(&tube)) {
            let number = row.cells.get(tube_col).is_some_and(|c| c.number);
            rows.push(SheetResult { row: row.number, tube, number, result, written: raw.clone() });
        }
    }
    if problems.is_empty() && rows.is_empty() {
        problems.push(problem(sheet, header.number, &tube_column, "", "no_results", texts::no_results()));
    }
    Ok(ResultsSheet { sheet: sheet.into(), tube_column, result_column, rows, problems })
}

/// What a sheet's rows come to against the action: the results to record (in row order,
/// once per tube) and the rows that repeat a result already entered or an earlier row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checked {
    pub new: Vec<(String, LabResult)>,
    pub repeats: usize,
}

/// Checks every row against the action's tubes: an unknown tube, the same tube twice with
/// different results, a result that contradicts one entered. Every problem of the sheet
/// (the reader's too), in row order, or what to record.
pub fn check(s: &ActionState, sheet: &ResultsSheet) -> Result<Checked, Vec<Problem>> {
    let name = &s.action.name;
    let mut problems = sheet.problems.clone();
    let mut seen: HashMap<&str, (u32, LabResult)> = HashMap::new();
    let mut out = Checked::default();
    for r in &sheet.rows {
        let mut wrong = |column: &str, value: &str, code, text| {
            problems.push(problem(&sheet.sheet, r.row, column, value, code, text));
        };
        let Some(t) = s.tube(&r.tube) else {
            wrong(&sheet.tube_column, &r.tube, "tube_unknown", texts::tube_unknown(name, r.number));
            continue;
        };
        let shown = r.written.as_str();
        match seen.get(r.tube.as_str()) {
            Some(&(first_row, first)) if first != r.result => {
                wrong(&sheet.result_column, shown, "tube_conflict", texts::tube_conflict(first_row, first));
                continue;
            }
            Some(_) => {
                out.repeats += 1;
                continue;
            }
            None => {
                seen.insert(&r.tube, (r.row, r.result));
            }
        }
        match s.tubes[t as usize].result {
            Some(entered) if entered != r.result => {
                wrong(&sheet.result_column, shown, "result_contradicts", texts::result_contradicts(entered));
            }
            Some(_) => out.repeats += 1,
            None => out.new.push((r.tube.clone(), r.result)),
        }
    }
    if problems.is_empty() {
        return Ok(out);
    }
    // Stable: a row's tube problem before its result problem, as the reader found them.
    problems.sort_by_key(|p| p.row);
    Err(problems)
}

// ---------------------------------------------------------------- the upload

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResultsQuery {
    /// The file's name, whose extension gives the format (`结果.xlsx`).
    pub filename: Option<String>,
    /// `xlsx` or `csv`, when there is no file name.
    pub format: Option<String>,
    /// The workbook's sheet; default the first.
    pub sheet: Option<String>,
    /// A CSV's encoding (`gbk`, `utf-8`); default detected.
    pub encoding: Option<String>,
    /// Check everything and record nothing; the answer says what would be recorded.
    #[serde(default)]
    pub dry_run: bool,
}

/// What an upload recorded (or, on a dry run, would record).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResultsReport {
    pub dry_run: bool,
    /// Results appended now (one `tube_result` event each).
    pub recorded: usize,
    /// Rows whose tube already had that result (entered before, or on an earlier row).
    pub repeats: usize,
    /// The tubes this upload records as positive: their people are flagged.
    pub positives: Vec<String>,
}

/// Records the lab's results in the sheet in the body (`.csv` or `.xlsx`; columns 试管编码
/// and 检测结果, found by their headers): all of them, or none with every problem named.
#[utoipa::path(
    post,
    path = "/api/actions/{id}/results",
    params(("id" = i64, Path), ResultsQuery),
    request_body(content = SheetFile, content_type = "application/octet-stream"),
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 200, body = ResultsReport),
        (status = 403, description = "`forbidden`: the lab, the chief and the administrator enter results"),
        (status = 404, description = "`not_found`: no such action, or none the caller has a part in"),
        (status = 409, description = "`result_already_entered`: another result for one of the tubes came in \
            meanwhile; nothing was recorded"),
        (status = 422, description = "`results_invalid` with every problem in `problems` ([{sheet, row, column, \
            value, code, problem, fix}]), or `file_unreadable`"),
    )
)]
#[tracing::instrument(skip_all, fields(action = id, bytes = body.as_ref().map_or(0, |b| b.len()), dry_run = q.dry_run))]
pub async fn upload_results(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ActionId>,
    ApiQuery(q): ApiQuery<ResultsQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ResultsReport>, ApiError> {
    caller.require(LAB_ROLES)?;
    let cell = action_cell(&state, &caller, id)?;
    let body = sheet_body(body, RESULTS_LIMIT)?;
    let format = format_from(q.format.as_deref(), q.filename.as_deref())?;
    let options = ReadOptions { sheet: q.sheet.clone(), encoding: q.encoding.clone() };
    let book = tokio::task::spawn_blocking(move || table::read_book(&body, format, &options))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    let sheet = read_results(&book.residents.name, &book.residents.table).map_err(ApiError::ResultsInvalid)?;
    let checked = check(&cell.state(), &sheet).map_err(ApiError::ResultsInvalid)?;
    let positives: Vec<String> =
        checked.new.iter().filter(|(_, r)| *r == LabResult::Positive).map(|(t, _)| t.clone()).collect();
    let report = ResultsReport { dry_run: q.dry_run, recorded: checked.new.len(), repeats: checked.repeats, positives };
    tracing::info!(recorded = report.recorded, repeats = report.repeats, "results sheet checked");
    if q.dry_run || checked.new.is_empty() {
        return Ok(Json(report));
    }
    let events = checked
        .new
        .into_iter()
        .map(|(tube, result)| {
            new_event(&caller, &cell, "", Uuid::now_v7(), None, EventBody::TubeResult { tube, result })
        })
        .collect::<Result<Vec<_>, _>>()?;
    state.writer.append(events).await?;
    Ok(Json(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(rows: &[&[&str]]) -> Table {
        let rows: Vec<Vec<&str>> = rows.iter().map(|r| r.to_vec()).collect();
        Table::from_strings(&rows)
    }

    #[test]
    fn results_are_read_by_their_chinese_headers_under_a_title() {
        let t = sheet(&[
            &["某某检测机构 2026-11-02 结果"],
            &["序号", "混管编码", "检测结果（阴/阳）"],
            &["1", " HG-0001 ", "阴性"],
            &["", "", ""],
            &["2", "ＨＧ-0002", "＋"],
            &["3", "HG-0003", "NEG"],
        ]);
        let read = read_results("", &t).unwrap();
        assert!(read.problems.is_empty(), "{:?}", read.problems);
        assert_eq!((read.tube_column.as_str(), read.result_column.as_str()), ("混管编码", "检测结果(阴/阳)"));
        let got: Vec<(u32, &str, LabResult)> = read.rows.iter().map(|r| (r.row, r.tube.as_str(), r.result)).collect();
        assert_eq!(
            got,
            [
                (3, "HG-0001", LabResult::Negative),
                (5, "HG-0002", LabResult::Positive),
                (6, "HG-0003", LabResult::Negative)
            ]
        );
    }

    #[test]
    fn every_broken_row_is_named_with_its_column() {
        let t = sheet(&[&["tube", "result"], &["HG 1!", "negative"], &["HG-2", "maybe"], &["", "阳性"], &["HG-4", ""]]);
        let problems = read_results("结果", &t).unwrap().problems;
        let got: Vec<(u32, &str, &str, &str)> =
            problems.iter().map(|p| (p.row, p.column.as_str(), p.value.as_str(), p.code.as_str())).collect();
        assert_eq!(
            got,
            [
                (2, "tube", "HG 1!", "tube_malformed"),
                (3, "result", "maybe", "result_unreadable"),
                (4, "tube", "", "tube_missing"),
                (5, "result", "", "result_unreadable"),
            ]
        );
        assert!(problems.iter().all(|p| p.sheet == "结果"));
    }

    #[test]
    fn a_missing_column_or_header_is_named() {
        let only_tubes = read_results("", &sheet(&[&["试管编码", "备注"], &["HG-1", ""]])).unwrap_err();
        assert_eq!((only_tubes[0].code.as_str(), only_tubes[0].column.as_str()), ("column_missing", "检测结果"));
        let nothing = read_results("", &sheet(&[&["a", "b"], &["1", "2"]])).unwrap_err();
        assert_eq!(nothing[0].code, "header_missing");
        let empty = read_results("", &sheet(&[&["试管编码", "检测结果"]])).unwrap().problems;
        assert_eq!(empty[0].code, "no_results");
    }

    #[test]
    fn every_result_spelling_the_lab_uses_is_read() {
        for neg in ["阴性", "negative", "-", "neg", " Negative ", "－"] {
            assert_eq!(parse_result(neg), Some(LabResult::Negative), "{neg}");
        }
        for pos in ["阳性", "positive", "+", "pos", "POS", "＋"] {
            assert_eq!(parse_result(pos), Some(LabResult::Positive), "{pos}");
        }
        for other in ["", "阴", "待定", "n"] {
            assert_eq!(parse_result(other), None, "{other}");
        }
    }

    #[test]
    fn every_results_problem_speaks_chinese_and_english() {
        use crate::messages::assert_speaks_both;
        let all = [
            texts::header_missing(20),
            texts::column_missing(texts::TUBE_HEADER),
            texts::column_missing(texts::RESULT_HEADER),
            texts::no_results(),
            texts::tube_missing(),
            texts::tube_malformed(64),
            texts::tube_unknown("第1轮", false),
            texts::tube_unknown("第1轮", true),
            texts::result_unreadable(true),
            texts::result_unreadable(false),
            texts::tube_conflict(3, LabResult::Negative),
            texts::result_contradicts(LabResult::Positive),
        ];
        for (problem, fix) in all {
            assert_speaks_both("results problem", &problem.zh, &problem.en);
            assert_speaks_both("results fix", &fix.zh, &fix.en);
        }
    }
}
