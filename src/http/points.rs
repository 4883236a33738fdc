//! Sampling points by hand, for admins and chiefs: list, add, change and close one, by the
//! same rules as the roster sheet's point sheet (a name no other open point has, at least
//! one area served, areas inside the caller's own), so a point opened at 23:40 in the
//! school yard is scanning at 23:41.

use super::extract::{ApiJson, ApiPath, Caller};
use super::staff::{MANAGERS, NodeRef, within_reach};
use super::{ApiError, AppState};
use crate::messages::api::field;
use crate::messages::audit::{Audited, Change};
use crate::roster::{NodeId, PointId, Roster, SamplingPoint};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/points", get(list_points).post(create_point))
        .route("/api/points/{id}", patch(change_point))
        .route("/api/points/{id}/retire", post(retire_point))
}

/// The longest point name or place accepted.
const TEXT_MAX: usize = 60;

#[derive(Serialize, utoipa::ToSchema)]
pub struct SamplingPointView {
    pub id: PointId,
    pub name: String,
    pub place: String,
    /// The areas whose residents come here.
    pub nodes: Vec<NodeRef>,
    /// How many operators work here.
    pub operators: usize,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointIn {
    #[schema(min_length = 1, max_length = 60, pattern = "\\S")]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 60)]
    pub place: String,
    /// The area nodes it serves: at least one.
    #[schema(min_items = 1)]
    pub nodes: Vec<NodeId>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointChange {
    #[schema(min_length = 1, max_length = 60, pattern = "\\S")]
    pub name: Option<String>,
    #[schema(max_length = 60)]
    pub place: Option<String>,
    #[schema(min_items = 1)]
    pub nodes: Option<Vec<NodeId>>,
}

fn view(roster: &Roster, p: &SamplingPoint) -> SamplingPointView {
    SamplingPointView {
        id: p.id,
        name: p.name.clone(),
        place: p.place.clone(),
        nodes: p
            .nodes
            .iter()
            .filter_map(|n| roster.node_idx(*n).map(|i| &roster.nodes()[i]))
            .map(|n| NodeRef { id: n.id, name: n.name.clone(), level: n.level.clone() })
            .collect(),
        operators: roster.staff().iter().filter(|s| !s.retired && s.point_id == Some(p.id)).count(),
    }
}

/// Whether the caller answers for every area the point serves (a point serving nothing
/// is the whole village's, so only a caller covering all of it manages one).
fn covers(roster: &Roster, caller: &Caller, p: &SamplingPoint) -> bool {
    caller.scope.all
        || (!p.nodes.is_empty()
            && p.nodes.iter().all(|n| roster.node_idx(*n).is_some_and(|i| caller.scope.covers_node(roster, i))))
}

/// An open point the caller manages, or 404.
fn managed(roster: &Roster, caller: &Caller, id: PointId) -> Result<SamplingPoint, ApiError> {
    caller.require(MANAGERS)?;
    roster
        .point(id)
        .filter(|p| !p.retired && covers(roster, caller, p))
        .cloned()
        .ok_or_else(|| ApiError::NotFound { what: "sampling point", id: id.to_string() })
}

fn text(field: &str, raw: &str, required: bool) -> Result<String, ApiError> {
    let value = raw.trim();
    if (required && value.is_empty()) || value.chars().count() > TEXT_MAX {
        let min = usize::from(required);
        return Err(ApiError::InvalidField { field: field.into(), message: field::text_length(field, min, TEXT_MAX) });
    }
    Ok(value.to_owned())
}

/// The point sheet's rules for a point made or changed by hand.
fn check(roster: &Roster, caller: &Caller, id: Option<PointId>, name: &str, nodes: &[NodeId]) -> Result<(), ApiError> {
    if nodes.is_empty() {
        return Err(ApiError::InvalidField { field: "nodes".into(), message: field::point_serves_nothing() });
    }
    within_reach(roster, caller, nodes)?;
    if let Some(other) = roster.points().iter().find(|p| !p.retired && Some(p.id) != id && p.name == name) {
        return Err(ApiError::PointNameTaken { other: other.id });
    }
    Ok(())
}

/// The open sampling points in the caller's area.
#[utoipa::path(get, path = "/api/points",
    security(("bearer" = []), ("token" = [])), responses((status = 200, body = Vec<SamplingPointView>), (status = 403)))]
pub async fn list_points(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<SamplingPointView>>, ApiError> {
    caller.require(MANAGERS)?;
    let roster = state.hub.roster();
    let points = roster.points().iter().filter(|p| !p.retired && covers(&roster, &caller, p));
    Ok(Json(points.map(|p| view(&roster, p)).collect()))
}

/// Opens a sampling point by hand; operators can then be bound to it.
#[utoipa::path(post, path = "/api/points", request_body = PointIn,
    security(("bearer" = []), ("token" = [])),
    responses((status = 201, body = SamplingPointView), (status = 403), (status = 409, description = "`point_name_taken`")))]
pub async fn create_point(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<PointIn>,
) -> Result<(StatusCode, Json<SamplingPointView>), ApiError> {
    caller.require(MANAGERS)?;
    let (name, place) = (text("name", &new.name, true)?, text("place", &new.place, false)?);
    check(&state.hub.roster(), &caller, None, &name, &new.nodes)?;
    let id = state.store.accounts().insert_point(&name, &place, &new.nodes).await?;
    state.writer.reload_roster().await?;
    state.auth.audit(caller.staff.id, Audited::AddPoint { point: id, nodes: new.nodes.clone() }).await?;
    tracing::info!(point = id, by = caller.staff.id, "sampling point added");
    let roster = state.hub.roster();
    let point = roster.point(id).ok_or_else(|| ApiError::Internal(format!("point {id} not in the roster")))?;
    Ok((StatusCode::CREATED, Json(view(&roster, point))))
}

/// Renames a point, moves it, or changes the areas it serves.
#[utoipa::path(patch, path = "/api/points/{id}", params(("id" = i64, Path)), request_body = PointChange,
    security(("bearer" = []), ("token" = [])),
    responses((status = 200, body = SamplingPointView), (status = 403), (status = 404), (status = 409, description = "`point_name_taken`")))]
pub async fn change_point(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PointId>,
    ApiJson(change): ApiJson<PointChange>,
) -> Result<Json<SamplingPointView>, ApiError> {
    let point = managed(&state.hub.roster(), &caller, id)?;
    let name = match &change.name {
        Some(name) => text("name", name, true)?,
        None => point.name.clone(),
    };
    let place = match &change.place {
        Some(place) => text("place", place, false)?,
        None => point.place.clone(),
    };
    let nodes = change.nodes.unwrap_or_else(|| point.nodes.clone());
    check(&state.hub.roster(), &caller, Some(id), &name, &nodes)?;
    state.store.accounts().update_point(id, &name, &place, &nodes).await?;
    state.writer.reload_roster().await?;
    let renamed = name != point.name || place != point.place;
    let act = Audited::ChangePoint { point: id, nodes: Change::new(point.nodes.clone(), nodes), renamed };
    state.auth.audit(caller.staff.id, act).await?;
    let roster = state.hub.roster();
    let point = roster.point(id).ok_or_else(|| ApiError::Internal(format!("point {id} not in the roster")))?;
    Ok(Json(view(&roster, point)))
}

/// Closes a point: it serves no area and its operators are bound to none until given
/// another point. The record stays for the actions that name it.
#[utoipa::path(post, path = "/api/points/{id}/retire", params(("id" = i64, Path)),
    security(("bearer" = []), ("token" = [])), responses((status = 204), (status = 403), (status = 404)))]
pub async fn retire_point(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PointId>,
) -> Result<StatusCode, ApiError> {
    let roster = state.hub.roster();
    managed(&roster, &caller, id)?;
    let operators: Vec<i64> =
        roster.staff().iter().filter(|s| !s.retired && s.point_id == Some(id)).map(|s| s.id).collect();
    state.store.accounts().retire_point(id).await?;
    state.writer.reload_roster().await?;
    state.auth.audit(caller.staff.id, Audited::RetirePoint { point: id }).await?;
    for op in operators {
        state.auth.staff_changed(op);
    }
    tracing::info!(point = id, by = caller.staff.id, "sampling point closed");
    Ok(StatusCode::NO_CONTENT)
}
