//! Roster import for admins: the spreadsheet as the request body, the report (or every
//! problem in the sheet, as `422 roster_invalid`) as the answer. The file is parsed off
//! the runtime (`spawn_blocking`), then planned, written and swapped into live state by
//! the writer. Also the template, for the page's download link.

use super::extract::{ApiQuery, Caller};
use super::{ApiError, AppState};
use crate::roster::import::{self, Format, ReadOptions, Report};
use crate::roster::{NodeId, Role};
use crate::store::import::ImportOptions;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

/// Largest roster file accepted: 100,000 residents fit in a few MiB of xlsx.
pub const IMPORT_LIMIT: usize = 64 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/roster/import", post(import_roster).layer(DefaultBodyLimit::max(IMPORT_LIMIT)))
        .route("/api/roster/template", get(template))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The file's name, whose extension gives the format (`花名册.xlsx`).
    pub filename: Option<String>,
    /// `xlsx` or `csv`, when there is no file name.
    pub format: Option<String>,
    /// The workbook's sheet; default the first.
    pub sheet: Option<String>,
    /// A CSV's encoding (`gbk`, `utf-8`); default detected.
    pub encoding: Option<String>,
    /// Check everything and write nothing; the report says what would be removed.
    #[serde(default)]
    pub dry_run: bool,
    /// Limit the import to this area node: rows outside it are problems, and only its
    /// residents, households, staff and points are added, changed or removed.
    pub area: Option<NodeId>,
    /// The number of residents, households, staff and points the import removes, as the
    /// report of a dry run gave it: needed when it removes any (else `409 removals_unconfirmed`).
    #[param(minimum = 0, maximum = 4294967295_u64)]
    pub confirm_removals: Option<u32>,
}

fn format_of(q: &ImportQuery) -> Result<Format, ApiError> {
    format_from(q.format.as_deref(), q.filename.as_deref())
}

/// The format a sheet upload names: `format` (`xlsx`, `csv`), else the file name's extension.
pub(crate) fn format_from(format: Option<&str>, filename: Option<&str>) -> Result<Format, ApiError> {
    let named = format.map(|f| format!("x.{f}")).or_else(|| filename.map(str::to_owned)).unwrap_or_default();
    Format::from_name(&named).ok_or_else(|| ApiError::from(import::ImportError::UnknownFormat(named)))
}

/// A sheet upload's body, or the problem: axum's own answer to a body over the limit is
/// plain text.
pub(crate) fn sheet_body(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, ApiError> {
    body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::SheetTooLarge { limit },
        _ => ApiError::FileUnreadable(crate::messages::api::field::body_unreadable(&e.body_text())),
    })
}

/// Imports the roster sheet in the body (admin, chief).
#[utoipa::path(
    post,
    path = "/api/roster/import",
    params(ImportQuery),
    request_body(content = SheetFile, content_type = "application/octet-stream"),
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 200, body = Report),
        (status = 403, description = "`forbidden`: admins and chiefs import"),
        (status = 409, description = "removals_unconfirmed with `removals` (per kind), `total`, `examples` \
            [{kind, name}] and the `report`: import again with confirm_removals=total"),
        (status = 422, description = "`roster_invalid` with every problem in `problems` ([{sheet, row, column, value, \
            code, problem, fix}]), or `file_unreadable`"),
    )
)]
#[tracing::instrument(skip_all, fields(bytes = body.as_ref().map_or(0, |b| b.len()), dry_run = q.dry_run, area = q.area))]
pub async fn import_roster(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Report>, ApiError> {
    caller.require(&[Role::Admin, Role::Chief])?;
    let body = sheet_body(body, IMPORT_LIMIT)?;
    let format = format_of(&q)?;
    let options = ReadOptions { sheet: q.sheet.clone(), encoding: q.encoding.clone() };
    let sheet = tokio::task::spawn_blocking(move || import::read_sheet(&body, format, &options))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    let confirm_removals = q.confirm_removals.map(|n| n as usize);
    let options = ImportOptions { dry_run: q.dry_run, area: q.area, confirm_removals };
    Ok(Json(state.writer.import(sheet, options).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TemplateQuery {
    /// `csv`, or anything else for `xlsx`.
    pub format: Option<String>,
}

/// The sheet's bytes, as saved by Excel or WPS (`.xlsx`) or as CSV.
pub struct SheetFile;

impl utoipa::PartialSchema for SheetFile {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .description(Some("the roster file"))
            .into()
    }
}

impl utoipa::ToSchema for SheetFile {}

/// The template: the expected columns and fictitious example rows.
#[utoipa::path(get, path = "/api/roster/template", params(TemplateQuery), responses(
    (status = 200, description = "the template", content(
        (SheetFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (SheetFile = "text/csv"),
    )),
))]
pub async fn template(ApiQuery(q): ApiQuery<TemplateQuery>) -> Result<Response, ApiError> {
    let format = match q.format.as_deref() {
        Some("csv") => Format::Csv,
        _ => Format::Xlsx,
    };
    let (name, mime) = match format {
        Format::Csv => ("roster-template.csv", "text/csv; charset=utf-8"),
        Format::Xlsx => ("roster-template.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    };
    let bytes = import::write_book(&import::export::template_book(), format)?;
    let disposition = format!("attachment; filename=\"{name}\"");
    Ok(([(header::CONTENT_TYPE, mime.to_owned()), (header::CONTENT_DISPOSITION, disposition)], bytes).into_response())
}
