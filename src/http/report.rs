//! The after-action report (复盘) of a running or closed action, as the CLI writes it:
//! folded from the log (off the writer's path: a report never holds up an append), in the
//! form asked for. The chief and admins read the whole action; a head their own areas.

use super::actions::action_cell;
use super::extract::{ApiPath, ApiQuery, Caller};
use super::{ApiError, AppState};
use crate::action::ActionId;
use crate::messages::Lang;
use crate::report::{self, Format, ReportError};
use crate::roster::Role;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/actions/{id}/report", get(get_report))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// `html` (default: one self-contained page), `xlsx`, `csv` or `json`.
    #[param(pattern = "^(html|xlsx|csv|json)$")]
    pub format: Option<String>,
    /// Earlier rounds to set beside it, comma-separated action ids (`3,5`).
    #[param(pattern = "^[0-9]{1,18}(,[0-9]{1,18}){0,9}$")]
    pub compare: Option<String>,
    /// The report's language (`zh-CN`, `en`), over the request's `Accept-Language`: a
    /// frame that shows it cannot set that header to the page's own switch.
    #[param(pattern = "^(zh|en)(-[A-Za-z]{2,4})?$")]
    pub lang: Option<String>,
    /// The `token` security scheme; read by the `Caller` extractor.
    #[serde(default)]
    #[param(ignore)]
    #[allow(dead_code)]
    token: Option<String>,
}

/// The report in the form asked for, in the caller's language.
#[utoipa::path(get, path = "/api/actions/{id}/report", params(("id" = i64, Path), ReportQuery),
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 200, description = "the report: HTML, XLSX, CSV or JSON as `format` says", content(
            (String = "text/html"),
            (crate::http::import::SheetFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (String = "text/csv"),
            (serde_json::Value = "application/json"),
        )),
        (status = 400, description = "`invalid_field` on `format` (not one of html, xlsx, csv, json) or `compare` (an action of another kind, one whose area does not overlap, or this one)"),
        (status = 403, description = "`forbidden`: the chief, admins and heads read reports"),
        (status = 404, description = "`not_found`: no such action (or a round to compare), or none the caller has a part in"),
    ))]
pub async fn get_report(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ActionId>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Response, ApiError> {
    use crate::messages::api::field;
    caller.require(&[Role::Admin, Role::Chief, Role::GridHead])?;
    let _ = action_cell(&state, &caller, id)?;
    let format = match q.format.as_deref() {
        None => Format::Html,
        Some(f) => Format::parse(f)
            .ok_or_else(|| ApiError::InvalidField { field: "format".into(), message: field::report_format() })?,
    };
    let compare: Vec<ActionId> = q
        .compare
        .iter()
        .flat_map(|c| c.split(','))
        .map(|c| c.parse().ok().filter(|_| c.bytes().all(|b| b.is_ascii_digit())))
        .collect::<Option<_>>()
        .ok_or_else(|| ApiError::InvalidField { field: "compare".into(), message: field::action_ids() })?;
    for &other in &compare {
        let _ = action_cell(&state, &caller, other)?;
    }
    // A head's report is of their own areas.
    let part = (!caller.scope.all).then(|| caller.staff.nodes.clone());
    let now = time::OffsetDateTime::now_utc();
    let built = report::build_part(state.store.as_ref(), id, &compare, now, part.as_deref()).await;
    let r = match built {
        Ok(r) => r,
        Err(ReportError::NotComparable { other, why, .. }) => {
            let message = field::not_comparable(other, why);
            return Err(ApiError::InvalidField { field: "compare".into(), message });
        }
        Err(ReportError::UnknownAction(other)) => {
            return Err(ApiError::NotFound { what: "action", id: other.to_string() });
        }
        Err(ReportError::Store(e)) => return Err(e.into()),
        Err(e @ ReportError::Roster(_)) => return Err(ApiError::Internal(e.to_string())),
    };
    let lang = q.lang.as_deref().and_then(Lang::parse).unwrap_or_else(Lang::current);
    let body = format.render(&r, lang).map_err(|e| ApiError::Internal(e.to_string()))?;
    let name = format!("attachment; filename=\"report-{id}.{}\"", format.extension());
    let disposition = if format == Format::Html { "inline".to_owned() } else { name };
    Ok(([(header::CONTENT_TYPE, format.mime().to_owned()), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response())
}
