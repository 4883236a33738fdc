//! Action routes: list and create actions, read live state, record events (one scan, or a
//! batch from an offline queue), the missing list, and the live WebSocket.

use super::extract::{ApiJson, ApiPath, ApiQuery, Caller, cursor, whole_phone};
use super::{ApiError, AppState};
use crate::action::ActionState;
use crate::action::event::{NOTE_MAX, to_log_precision};
use crate::action::view::{Snapshot, Totals};
use crate::action::{Action, ActionId, ActionKind, EventBody, NewAction, NewEvent, Seq, WalkIn};
use crate::live::ActionCell;
use crate::messages::api::field;
use crate::messages::audit::{Audited, PhoneList};
use crate::roster::{IdNumber, PointId, ResidentId, Role};
use crate::writer::Outcome;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/actions", get(list_actions).post(create_action))
        .route("/api/actions/{id}", get(get_action))
        .route("/api/actions/{id}/events", post(post_events))
        .route("/api/actions/{id}/scans", post(post_scan))
        .route("/api/actions/{id}/missing", get(missing))
        .route("/api/actions/{id}/live", get(live))
}

/// Who may record which kind of event; where in the roster is checked by [`authorize`].
fn may_record(role: Role, body: &EventBody) -> bool {
    use Role::*;
    match body {
        EventBody::ActionOpened
        | EventBody::ActionClosed
        | EventBody::VisitWaitSet { .. }
        | EventBody::TubeSizeSet { .. }
        | EventBody::EscalationSet { .. }
        | EventBody::ChaseStarted
        | EventBody::WalkInResolved { .. } => matches!(role, Admin | Chief),
        // The server escalates, as its own actor; nobody records it by hand.
        EventBody::Escalated { .. } => false,
        EventBody::HouseholdsHanded { .. } | EventBody::AreaSignedOff { .. } => {
            matches!(role, Admin | Chief | GridHead)
        }
        EventBody::ResidentSampled { .. }
        | EventBody::WalkInSampled { .. }
        | EventBody::TubeOpened { .. }
        | EventBody::TubeClosed { .. } => matches!(role, Admin | Chief | Operator | Medic),
        EventBody::QueueReported { .. } => matches!(role, Admin | Chief | Operator),
        EventBody::TubeResult { .. } => matches!(role, Admin | Chief | Lab),
        // The command calls up its areas; whoever was called up answers (authorize checks).
        EventBody::CallUpSent { .. } => matches!(role, Admin | Chief | GridHead),
        EventBody::CallUpAnswered { .. } => true,
        EventBody::Correction { .. } => matches!(role, Admin | Chief | Operator),
        EventBody::ExemptionSet { .. } | EventBody::ExemptionCleared { .. } => {
            matches!(role, Admin | Chief | GridHead | GridMember)
        }
        EventBody::ResidentTicked { .. } | EventBody::HouseholdTicked { .. } => {
            matches!(role, Admin | Chief | GridHead | GridMember | Medic)
        }
        EventBody::VisitTaken { .. } => matches!(role, Admin | Chief | Medic),
    }
}

/// Whether the caller may record this event in this action: their role, and their part of
/// the roster (a grid member their own grids, an operator their own point). Unknown
/// residents are left to the rules, which answer `unknown_resident`.
fn authorize(caller: &Caller, state: &ActionState, body: &EventBody) -> Result<(), ApiError> {
    let role = caller.staff.role;
    let denied = |why: crate::messages::Said| Err(ApiError::OutOfScope(why));
    if !may_record(role, body) {
        return Err(ApiError::Forbidden(role));
    }
    let roster = &state.roster;
    let scope = &caller.scope;
    let resident_covered = |id: i64| roster.resident_idx(id).is_none_or(|i| scope.covers_resident_in(state, i));
    match body {
        EventBody::ActionOpened
        | EventBody::ActionClosed
        | EventBody::VisitWaitSet { .. }
        | EventBody::TubeSizeSet { .. }
        | EventBody::EscalationSet { .. }
        | EventBody::ChaseStarted
        | EventBody::WalkInResolved { .. } => {
            let covered =
                state.action.scope.iter().filter_map(|n| roster.node_idx(*n)).all(|i| scope.covers_node(roster, i));
            if !covered {
                return denied(field::action_outside_yours());
            }
        }
        EventBody::ResidentSampled { resident_id, point_id, .. } => {
            if role == Role::Operator && scope.point != Some(*point_id) {
                return denied(field::other_point(*point_id));
            }
            // A resident from outside the action's scope is sampled at a point (never refuse
            // a swab); a medic at home samples the residents of their own area.
            let outside_action = roster.resident_idx(*resident_id).is_some_and(|i| !state.in_scope(i));
            if role != Role::Operator && !outside_action && !resident_covered(*resident_id) {
                return denied(field::resident_outside_yours(*resident_id));
            }
        }
        EventBody::WalkInSampled { point_id, .. }
        | EventBody::TubeOpened { point_id, .. }
        | EventBody::QueueReported { point_id, .. } => {
            if role == Role::Operator && scope.point != Some(*point_id) {
                return denied(field::other_point(*point_id));
            }
        }
        EventBody::TubeClosed { tube } => {
            let at = state.tube(tube).map(|t| state.tubes[t as usize].point);
            if role == Role::Operator && at.is_some_and(|p| scope.point != Some(p)) {
                return denied(field::other_point(at.unwrap_or_default()));
            }
        }
        // A lab answers for results, wherever the tube was filled.
        EventBody::TubeResult { .. } => {}
        EventBody::CallUpSent { nodes, roles, .. } => {
            // A head calls up their own subtree; the chief the whole of theirs.
            if let Some(n) = nodes.iter().find(|n| roster.node_idx(**n).is_some_and(|i| !scope.covers_node(roster, i)))
            {
                return denied(field::node_outside_yours(*n));
            }
            if crate::action::callups::recipients(roster, nodes, roles, caller.staff.id).is_empty() {
                return Err(ApiError::Rejected(crate::action::Rejection::EmptyCallUp));
            }
        }
        EventBody::CallUpAnswered { call_up_seq, .. } => {
            let called = state.call_up(*call_up_seq).is_none_or(|c| c.answers.contains_key(&caller.staff.id));
            if !called {
                return denied(field::not_called_up(*call_up_seq));
            }
        }
        EventBody::ExemptionSet { resident_id, .. }
        | EventBody::ExemptionCleared { resident_id }
        | EventBody::ResidentTicked { resident_id, .. }
        | EventBody::VisitTaken { resident_id } => {
            if !resident_covered(*resident_id) {
                return denied(field::resident_outside_yours(*resident_id));
            }
        }
        EventBody::HouseholdTicked { household_id, .. } => {
            let node = roster.household(*household_id).and_then(|h| roster.node_idx(h.node_id));
            if node.is_some_and(|n| !scope.covers_household_in(state, *household_id, n)) {
                return denied(field::household_outside_yours(*household_id));
            }
        }
        EventBody::Escalated { .. } => return Err(ApiError::Forbidden(role)),
        EventBody::HouseholdsHanded { households, to } => {
            // A head hands over households of their own area, to someone who chases.
            for h in households {
                let node = roster.household(*h).and_then(|h| roster.node_idx(h.node_id));
                if node.is_some_and(|n| !scope.covers_node(roster, n)) {
                    return denied(field::household_outside_yours(*h));
                }
            }
            if let Some(m) = to.and_then(|id| roster.staff_member(id))
                && !SUBSTITUTES.contains(&m.role)
            {
                return Err(ApiError::InvalidField { field: "to".into(), message: field::not_a_substitute(m.role) });
            }
        }
        EventBody::AreaSignedOff { node_id, .. } => {
            if roster.node_idx(*node_id).is_some_and(|i| !scope.covers_node(roster, i)) {
                return denied(field::node_outside_yours(*node_id));
            }
        }
        EventBody::Correction { target_seq, .. } => {
            if role == Role::Operator && state.sample_point(*target_seq).is_some_and(|p| scope.point != Some(p)) {
                return denied(field::sample_of_other_point(*target_seq));
            }
        }
    }
    Ok(())
}

/// Who may cover a grid member's households for the night: someone who chases door to door.
const SUBSTITUTES: &[Role] = &[Role::GridMember, Role::GridHead, Role::Chief];

/// Most households one handover names (a grid member has 12–30).
const HANDOVER_MAX: usize = 500;

/// The roles that chase the missing: they read missing lists and households.
pub(crate) const CHASERS: &[Role] = &[Role::Admin, Role::Chief, Role::GridHead, Role::GridMember, Role::Medic];

/// Device times further ahead of the server than this, or further before the action was
/// planned, are refused as a wrong clock. A phone's clock is often minutes off, rarely a
/// day; an event from before its action existed is a clock reset (1970) or a wrong date.
const CLOCK_SKEW: time::Duration = time::Duration::hours(24);

/// Longest tube code accepted: the barcodes on pooled tubes are 10–20 characters.
pub const TUBE_MAX: usize = 64;

/// Builds the event a request asks for, after the checks that need no log: the caller's
/// role and scope, the client id, the device time and the tube code. `at` names the event
/// in field names (`events[2].` in a batch, empty for a scan).
pub(crate) fn new_event(
    caller: &Caller,
    cell: &ActionCell,
    at: &str,
    client_id: Uuid,
    device_time: Option<OffsetDateTime>,
    body: EventBody,
) -> Result<NewEvent, ApiError> {
    let field = |name: &str| format!("{at}{name}");
    let (action_id, planned) = {
        let state = cell.state();
        authorize(caller, &state, &body)?;
        (state.action.id, state.action.created_at)
    };
    if client_id.is_nil() {
        // The nil UUID is what a client without an id generator sends: two such devices
        // would answer each other's events as repeats.
        return Err(ApiError::NilEventId { field: field("id") });
    }
    if let EventBody::ResidentSampled { tube: Some(tube), .. }
    | EventBody::WalkInSampled { tube: Some(tube), .. }
    | EventBody::TubeOpened { tube, .. }
    | EventBody::TubeClosed { tube }
    | EventBody::TubeResult { tube, .. } = &body
        && !is_tube_code(tube)
    {
        let shown: String = tube.chars().take(20).collect();
        let shown = if shown.len() < tube.len() { format!("{shown}…") } else { shown };
        return Err(ApiError::NotATube { field: field("tube"), shown, max: TUBE_MAX });
    }
    if let EventBody::WalkInSampled { walk_in, .. } = &body {
        check_walk_in(walk_in, &field("walk_in."))?;
    }
    if let EventBody::CallUpSent { text, place, .. } = &body {
        if text.trim().is_empty() || text.chars().count() > NOTE_MAX {
            return Err(ApiError::InvalidField { field: field("text"), message: field::call_up_text(NOTE_MAX) });
        }
        if place.chars().count() > CALL_UP_PLACE_MAX {
            return Err(ApiError::InvalidField {
                field: field("place"),
                message: field::call_up_place(CALL_UP_PLACE_MAX),
            });
        }
    }
    if let EventBody::CallUpAnswered { reason, .. } = &body
        && reason.chars().count() > NOTE_MAX
    {
        return Err(ApiError::NoteTooLong { field: field("reason"), max: NOTE_MAX });
    }
    if let EventBody::HouseholdsHanded { households, .. } = &body
        && (households.is_empty() || households.len() > HANDOVER_MAX)
    {
        return Err(ApiError::InvalidField { field: field("households"), message: field::handover_size(HANDOVER_MAX) });
    }
    if let EventBody::EscalationSet { minutes, call_up_minutes, .. } = &body {
        for (name, m) in [("minutes", minutes), ("call_up_minutes", call_up_minutes)] {
            if !(1..=1440).contains(m) {
                return Err(ApiError::InvalidField { field: field(name), message: field::escalation_minutes() });
            }
        }
    }
    if let EventBody::QueueReported { waiting, .. } = &body
        && *waiting > WAITING_MAX
    {
        return Err(ApiError::InvalidField { field: field("waiting"), message: field::waiting(WAITING_MAX) });
    }
    if let EventBody::ResidentTicked { note, .. }
    | EventBody::HouseholdTicked { note, .. }
    | EventBody::ExemptionSet { note, .. }
    | EventBody::WalkInResolved { note, .. }
    | EventBody::AreaSignedOff { note, .. } = &body
        && note.chars().count() > NOTE_MAX
    {
        return Err(ApiError::NoteTooLong { field: field("note"), max: NOTE_MAX });
    }
    if let EventBody::VisitWaitSet { minutes } = &body
        && !(1..=1440).contains(minutes)
    {
        return Err(ApiError::InvalidField { field: field("minutes"), message: field::visit_minutes() });
    }
    let server_time = to_log_precision(OffsetDateTime::now_utc());
    let device_time = device_time.map_or(server_time, to_log_precision);
    if device_time > server_time + CLOCK_SKEW {
        return Err(ApiError::DeviceTimeAhead { field: field("device_time") });
    }
    if device_time < planned - CLOCK_SKEW {
        return Err(ApiError::DeviceTimeBeforePlan { field: field("device_time"), planned: planned.date() });
    }
    Ok(NewEvent { action_id, client_id, actor: caller.staff.id, device_time, server_time, body })
}

/// Longest place-and-time of a call-up ("23:50 到村委会集合").
const CALL_UP_PLACE_MAX: usize = 100;
/// The most people an operator can say wait at a point.
const WAITING_MAX: u32 = 9999;
/// Longest walk-in name and place of stay accepted.
const WALK_IN_NAME_MAX: usize = 40;
const WALK_IN_STAYS_MAX: usize = 100;

/// A walk-in's fields as a clerk must be able to find them again: a name, an ID number
/// whose check digit holds, a phone if given, and where they stay.
fn check_walk_in(w: &WalkIn, at: &str) -> Result<(), ApiError> {
    let invalid = |name: &str, message| Err(ApiError::InvalidField { field: format!("{at}{name}"), message });
    let name = w.name.trim();
    if name.is_empty() || name.chars().count() > WALK_IN_NAME_MAX {
        return invalid("name", field::walk_in_name(WALK_IN_NAME_MAX));
    }
    if let Err(e) = IdNumber::parse(&w.id_number) {
        return invalid("id_number", field::id_number_read(&e));
    }
    if let Some(phone) = &w.phone
        && crate::roster::Phone::parse(phone).is_err()
    {
        return invalid("phone", field::phone());
    }
    if w.stays_at.trim().is_empty() || w.stays_at.chars().count() > WALK_IN_STAYS_MAX {
        return invalid("stays_at", field::walk_in_stays_at(WALK_IN_STAYS_MAX));
    }
    Ok(())
}

/// A tube code is what its barcode holds: letters, digits and `-_./`, at most
/// [`TUBE_MAX`] characters. Anything else is a misread (or not a tube at all).
pub(crate) fn is_tube_code(tube: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/');
    !tube.is_empty() && tube.len() <= TUBE_MAX && tube.chars().all(allowed)
}

/// The action if the caller may know it exists: otherwise 404, as for an unknown one.
pub(crate) fn action_cell(state: &AppState, caller: &Caller, id: ActionId) -> Result<Arc<ActionCell>, ApiError> {
    let not_found = || ApiError::NotFound { what: "action", id: id.to_string() };
    let cell = state.hub.get(id).ok_or_else(not_found)?;
    let visible = caller.scope.sees(&state.hub.roster(), &cell.state().action);
    if visible { Ok(cell) } else { Err(not_found()) }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ActionSummary {
    #[serde(flatten)]
    pub action: Action,
    pub phase: String,
    pub seq: Seq,
    pub totals: Totals,
}

/// The actions the caller has a part in, with phase and totals (of their part).
#[utoipa::path(get, path = "/api/actions",
    security(("bearer" = []), ("token" = [])), responses((status = 200, body = Vec<ActionSummary>)))]
pub async fn list_actions(State(state): State<AppState>, caller: Caller) -> Json<Vec<ActionSummary>> {
    let summaries = state
        .hub
        .ids()
        .into_iter()
        .filter_map(|id| action_cell(&state, &caller, id).ok())
        .map(|cell| {
            let snapshot = caller.scope.snapshot(&cell.state());
            let phase = serde_json::to_value(snapshot.pace.phase).ok().and_then(|v| v.as_str().map(String::from));
            ActionSummary {
                phase: phase.unwrap_or_default(),
                seq: snapshot.seq,
                totals: snapshot.totals,
                action: snapshot.action,
            }
        })
        .collect();
    Json(summaries)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAction {
    pub kind: ActionKind,
    #[schema(min_length = 1, pattern = "\\S")]
    pub name: String,
    /// The area nodes whose subtrees the action covers.
    #[schema(min_items = 1)]
    pub scope: Vec<i64>,
    pub points: Vec<PointId>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub planned_open: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub planned_close: Option<OffsetDateTime>,
}

/// Plans a new action over a scope of the roster; it opens with an `action_opened` event.
#[utoipa::path(post, path = "/api/actions", request_body = CreateAction,
    security(("bearer" = []), ("token" = [])), responses(
    (status = 201, body = Action),
    (status = 403, description = "`forbidden` (admins and chiefs plan actions) or `out_of_your_scope`"),
))]
pub async fn create_action(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateAction>,
) -> Result<(StatusCode, Json<Action>), ApiError> {
    caller.require(&[Role::Admin, Role::Chief])?;
    let roster = &state.hub.roster();
    let invalid = |field: &str, message: crate::messages::Said| ApiError::InvalidField { field: field.into(), message };
    if let Some(n) =
        body.scope.iter().find(|n| roster.node_idx(**n).is_some_and(|i| !caller.scope.covers_node(roster, i)))
    {
        return Err(ApiError::OutOfScope(field::node_outside_yours(*n)));
    }
    if body.name.trim().is_empty() {
        return Err(invalid("name", field::action_name()));
    }
    if body.scope.is_empty() {
        return Err(invalid("scope", field::action_scope()));
    }
    if let Some(n) = body.scope.iter().find(|n| roster.node_idx(**n).is_none()) {
        return Err(invalid("scope", field::no_such_node(*n)));
    }
    if let Some(p) = body.points.iter().find(|p| roster.point(**p).is_none()) {
        return Err(invalid("points", field::no_such_point(*p)));
    }
    if let (Some(open), Some(close)) = (body.planned_open, body.planned_close)
        && close <= open
    {
        return Err(ApiError::CloseBeforeOpen);
    }
    let new = NewAction {
        kind: body.kind,
        name: body.name.trim().to_owned(),
        scope: body.scope,
        points: body.points,
        planned_open: body.planned_open,
        planned_close: body.planned_close,
    };
    let action = state.store.create_action(&new, OffsetDateTime::now_utc()).await?;
    state.hub.insert(action.clone());
    tracing::info!(action = action.id, "action created");
    Ok((StatusCode::CREATED, Json(action)))
}

/// The roles that watch an action's live state: everyone but a lab, which sees tubes and
/// results, not the village's staff and people.
const WATCHERS: &[Role] =
    &[Role::Admin, Role::Chief, Role::GridHead, Role::GridMember, Role::Operator, Role::Medic, Role::Viewer];

/// The live state of an action as a snapshot (screens use the WebSocket instead).
#[utoipa::path(get, path = "/api/actions/{id}", params(("id" = i64, Path)),
    security(("bearer" = []), ("token" = [])), responses(
    (status = 200, body = Snapshot),
    (status = 403, description = "`forbidden`: a lab reads tubes, not the live state"),
    (status = 404, description = "`not_found`: no such action, or none the caller has a part in"),
))]
pub async fn get_action(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ActionId>,
) -> Result<Json<Snapshot>, ApiError> {
    caller.require(WATCHERS)?;
    let cell = action_cell(&state, &caller, id)?;
    let snapshot = caller.scope.snapshot(&cell.state());
    Ok(Json(snapshot))
}

/// One event of a batch: its client-made id, when the person acted, and what happened.
#[derive(Debug)]
pub struct EventIn {
    /// Made on the device when the person acted; sending it again changes nothing. Prefer
    /// time-ordered ids (UUID v7): random ones work, at ~10× the disk writes per event.
    pub id: Uuid,
    pub device_time: Option<OffsetDateTime>,
    pub body: EventBody,
}

/// As sent: flat, one object per kind of event — the body's fields (`type`, …) beside `id`
/// and `device_time`, nothing else.
impl utoipa::PartialSchema for EventIn {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOf, Schema, Type};
        let id = ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Uuid)));
        let id = id.description(Some("Made on the device when the person acted; sending it again changes nothing."));
        let time = ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]))
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::DateTime)))
            .description(Some("When the person acted, by the device's clock; default: when the server received it."));
        let (id, time): (RefOr<Schema>, RefOr<Schema>) = (id.into(), time.into());
        let RefOr::T(Schema::OneOf(kinds)) = <EventBody as utoipa::PartialSchema>::schema() else {
            unreachable!("an internally tagged enum is a oneOf of objects")
        };
        let mut flat = OneOf::new();
        flat.description =
            Some("One event of a batch: its client-made id, when the person acted, and what happened.".into());
        for kind in kinds.items {
            let RefOr::T(Schema::Object(mut kind)) = kind else { unreachable!("each kind is an object") };
            kind.properties.insert("id".into(), id.clone());
            kind.properties.insert("device_time".into(), time.clone());
            kind.required.insert(0, "id".into());
            kind.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
            flat.items.push(kind.into());
        }
        Schema::OneOf(flat).into()
    }
}

impl utoipa::ToSchema for EventIn {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        <EventBody as utoipa::ToSchema>::schemas(schemas);
    }
}

impl<'de> Deserialize<'de> for EventIn {
    /// Flat form: `{"id", "device_time", "type", ...fields of the type}`. Parsed by hand
    /// because serde cannot flatten and refuse unknown fields at once.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        let id = map.remove("id").ok_or_else(|| D::Error::missing_field("id"))?;
        let id = Uuid::deserialize(id).map_err(|e| D::Error::custom(format!("id: {e}")))?;
        let device_time = match map.remove("device_time") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(
                OffsetDateTime::parse(&s, &time::format_description::well_known::Rfc3339)
                    .map_err(|e| D::Error::custom(format!("device_time {s:?} is not an RFC 3339 time: {e}")))?,
            ),
            Some(other) => {
                return Err(D::Error::custom(format!("device_time must be a string, not {other}")));
            }
        };
        let body = EventBody::deserialize(serde_json::Value::Object(map)).map_err(D::Error::custom)?;
        Ok(EventIn { id, device_time, body })
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsIn {
    pub events: Vec<EventIn>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EventResult {
    pub id: Uuid,
    pub seq: Seq,
    /// `new` when appended by this request, `repeat` when it was already in the log.
    pub status: &'static str,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EventsOut {
    pub results: Vec<EventResult>,
}

pub(crate) fn result(id: Uuid, outcome: Outcome) -> EventResult {
    let status = match outcome {
        Outcome::New(_) => "new",
        Outcome::Repeat(_) => "repeat",
    };
    EventResult { id, seq: outcome.seq(), status }
}

/// Records a batch of events, all or nothing, answered once they are durable. Events
/// already recorded (same id) are answered as repeats and change nothing.
#[utoipa::path(post, path = "/api/actions/{id}/events", params(("id" = i64, Path)), request_body = EventsIn,
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 200, body = EventsOut),
        (status = 403, description = "`forbidden` (the role may not record this kind of event) or `out_of_your_scope`"),
        (status = 404, description = "`not_found`: no such action, or none the caller has a part in"),
        (status = 409, description = "`action_not_open`, `action_closed`, `action_already_open`, `not_correctable`, \
            `event_id_reused` (the id names another event, or one in another action), or `events_rejected`"),
        (status = 422, description = "`unknown_resident`, `unknown_point`, `out_of_scope`, `resident_removed`, \
            `reason_required`, or `events_rejected` with `errors`"),
    ))]
// Debug level, as the request span: a span is formatted when made, on every scan's path.
#[tracing::instrument(level = "debug", skip_all, fields(action = id, events))]
pub async fn post_events(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ActionId>,
    ApiJson(body): ApiJson<EventsIn>,
) -> Result<Json<EventsOut>, ApiError> {
    let cell = action_cell(&state, &caller, id)?;
    tracing::Span::current().record("events", body.events.len());
    let ids: Vec<Uuid> = body.events.iter().map(|e| e.id).collect();
    // The clerk's decisions on walk-ins are audited: they have a door of their own.
    if let Some(i) = body.events.iter().position(|e| matches!(e.body, EventBody::WalkInResolved { .. })) {
        let field = format!("events[{i}].type");
        return Err(ApiError::InvalidField { field, message: field::walk_in_decided_on_its_own() });
    }
    if let Some(i) = body.events.iter().position(|e| matches!(e.body, EventBody::Escalated { .. })) {
        let field = format!("events[{i}].type");
        return Err(ApiError::InvalidField { field, message: field::escalated_by_the_server() });
    }
    let events = body
        .events
        .into_iter()
        .enumerate()
        .map(|(i, e)| new_event(&caller, &cell, &format!("events[{i}]."), e.id, e.device_time, e.body))
        .collect::<Result<Vec<_>, _>>()?;
    // Call-ups go to the chat groups of the areas they call up, once recorded (never on a
    // repeat): a phone that is not paired reads the group. The notifier only queues.
    let call_ups: Vec<(usize, EventBody)> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e.body, EventBody::CallUpSent { .. }))
        .map(|(i, e)| (i, e.body.clone()))
        .collect();
    let outcomes = state.writer.append(events).await?;
    for (i, body) in call_ups {
        if let (Outcome::New(_), EventBody::CallUpSent { text, place, nodes, .. }) = (outcomes[i], body) {
            post_call_up(&state, &text, &place, &nodes);
        }
    }
    Ok(Json(EventsOut { results: ids.into_iter().zip(outcomes).map(|(i, o)| result(i, o)).collect() }))
}

/// Posts a call-up to the channels of every area it calls up (the areas named and those
/// below them), with the link that opens the phone page, where 收到 is answered.
fn post_call_up(state: &AppState, text: &str, place: &str, nodes: &[crate::roster::NodeId]) {
    let roster = state.hub.roster();
    let tops: std::collections::HashSet<usize> = nodes.iter().filter_map(|n| roster.node_idx(*n)).collect();
    let link = state.public_url.as_ref().map(|u| format!("{u}/m"));
    let said = crate::messages::notify::call_up(text, place);
    for (i, node) in roster.nodes().iter().enumerate() {
        if roster.in_subtree_of(i, &tops) && state.notifier.has_channel(node.id) {
            let message = crate::notify::Message::new(crate::notify::MessageKind::CallUp, said.clone(), link.clone());
            state.notifier.post(node.id, message);
        }
    }
}

/// A scan at a sampling point: by resident id (household card QR) or ID number.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanIn {
    /// Made by the scanning device when the person scanned; sending it again changes
    /// nothing. Prefer time-ordered ids (UUID v7): random ones cost ~10× the disk writes.
    pub id: Uuid,
    pub resident_id: Option<ResidentId>,
    /// The 18-character ID number read from an ID card, instead of `resident_id`.
    pub id_number: Option<String>,
    pub point_id: PointId,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub device_time: Option<OffsetDateTime>,
    #[serde(default)]
    pub at_home: bool,
    /// The pooled tube's code, as its barcode reads.
    #[schema(pattern = "^[A-Za-z0-9._/-]{1,64}$")]
    pub tube: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ScannedResident {
    pub id: ResidentId,
    pub name: String,
    pub household: String,
    /// Masked: `1101**********123X`.
    pub id_number: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ScanOut {
    #[serde(flatten)]
    pub result: EventResult,
    pub resident: ScannedResident,
}

/// Records one sample. 201 when new, 200 when the same scan id was already recorded.
#[utoipa::path(post, path = "/api/actions/{id}/scans", params(("id" = i64, Path)), request_body = ScanIn,
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 201, body = ScanOut, description = "recorded now"),
        (status = 200, body = ScanOut, description = "the same scan was already recorded: the first answer"),
        (status = 403, description = "`forbidden` (the role does not sample) or `out_of_your_scope` (another point)"),
        (status = 404, description = "`not_found`: no such action, or none the caller has a part in"),
        (status = 409, description = "`action_not_open`, `action_closed`, or `event_id_reused`"),
        (status = 422, description = "`unknown_resident`, `unknown_point`, `out_of_scope` or `resident_removed`"),
    ))]
#[tracing::instrument(level = "debug", skip_all, fields(action = id, point = body.point_id))]
pub async fn post_scan(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ActionId>,
    ApiJson(body): ApiJson<ScanIn>,
) -> Result<Response, ApiError> {
    let cell = action_cell(&state, &caller, id)?;
    let roster = &state.hub.roster();
    let resident_id = match (body.resident_id, &body.id_number) {
        (Some(r), None) => r,
        (None, Some(raw)) => {
            let number = IdNumber::parse(raw).map_err(|e| ApiError::InvalidField {
                field: "id_number".into(),
                message: field::id_number_read(&e),
            })?;
            roster
                .resident_by_id_number(&number)
                .ok_or(ApiError::Rejected(crate::action::Rejection::UnknownIdNumber))?
        }
        _ => {
            return Err(ApiError::InvalidField {
                field: "resident_id".into(),
                message: field::one_of_resident_or_id(),
            });
        }
    };
    let sampled =
        EventBody::ResidentSampled { resident_id, point_id: body.point_id, at_home: body.at_home, tube: body.tube };
    let event = new_event(&caller, &cell, "", body.id, body.device_time, sampled)?;
    let outcome = state.writer.append(vec![event]).await?.remove(0);
    let resident = roster
        .resident_idx(resident_id)
        .map(|i| &roster.residents()[i])
        .ok_or(ApiError::Internal("a recorded resident is missing from the roster".into()))?;
    let household = roster.household(resident.household_id).map(|h| h.number.clone()).unwrap_or_default();
    let out = ScanOut {
        result: result(body.id, outcome),
        resident: ScannedResident {
            id: resident.id,
            name: resident.name.clone(),
            household,
            id_number: resident.id_number.masked(),
        },
    };
    let status = if matches!(outcome, Outcome::New(_)) { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(out)).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MissingQuery {
    /// At most this many residents (default 100, at most 1000).
    #[param(minimum = 0, maximum = 4294967295_u64)]
    pub limit: Option<u32>,
    /// The `next` cursor of the previous page.
    #[param(pattern = "^[0-9]{1,18}$")]
    pub cursor: Option<String>,
    /// The `token` security scheme; read by the `Caller` extractor.
    #[serde(default)]
    #[param(ignore)]
    #[allow(dead_code)]
    token: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MissingResident {
    pub id: ResidentId,
    pub name: String,
    pub household: String,
    pub address: String,
    /// Masked unless the caller needs to phone them.
    pub phone: Option<String>,
    pub id_number: String,
    pub staff_id: Option<i64>,
    pub away: bool,
    pub bedridden: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MissingPage {
    pub residents: Vec<MissingResident>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// Residents in scope not yet accounted for: all of them for the chief, the caller's own
/// for a grid member.
#[utoipa::path(get, path = "/api/actions/{id}/missing", params(("id" = i64, Path), MissingQuery),
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 200, body = MissingPage),
        (status = 403, description = "`forbidden`: operators and viewers have no missing list"),
        (status = 404, description = "`not_found`: no such action, or none the caller has a part in"),
    ))]
pub async fn missing(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ActionId>,
    ApiQuery(q): ApiQuery<MissingQuery>,
) -> Result<Json<MissingPage>, ApiError> {
    caller.require(CHASERS)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000) as usize;
    let after = cursor(q.cursor.as_deref())?;
    let cell = action_cell(&state, &caller, id)?;
    let (residents, next) = missing_page(&cell.state(), &caller, after, limit);
    let unmasked = residents.iter().filter(|r| whole_phone(r.phone.as_deref())).count();
    if unmasked > 0 {
        let list = PhoneList::Missing { action: id, phones: unmasked };
        state.auth.audit(caller.staff.id, Audited::ReadPhones { list }).await?;
    }
    Ok(Json(MissingPage { residents, next }))
}

/// One page of the missing residents the caller answers for, from `after` (a roster index).
fn missing_page(
    s: &ActionState,
    caller: &Caller,
    after: usize,
    limit: usize,
) -> (Vec<MissingResident>, Option<String>) {
    let roster = &s.roster;
    // Phones are shown whole to those who must call: the chief, and a grid member for
    // their own residents. Each such read is audited below.
    let show_phone = matches!(caller.staff.role, Role::Chief | Role::GridMember);
    let mut residents = Vec::with_capacity(limit);
    let mut next = None;
    for idx in caller.scope.residents_from(roster, after).filter(|&i| s.is_missing(i)) {
        let staff = s.responsible_staff(idx);
        if residents.len() == limit {
            next = Some(idx.to_string());
            break;
        }
        let r = &roster.residents()[idx];
        let h = roster.household(r.household_id);
        residents.push(MissingResident {
            id: r.id,
            name: r.name.clone(),
            household: h.map(|h| h.number.clone()).unwrap_or_default(),
            address: h.map(|h| h.address.clone()).unwrap_or_default(),
            phone: r.phone.as_ref().map(|p| if show_phone { p.expose().to_owned() } else { p.masked() }),
            id_number: r.id_number.masked(),
            staff_id: staff,
            away: r.flags.away,
            bedridden: r.flags.bedridden,
        });
    }
    (residents, next)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LiveQuery {
    /// The last position the client holds: it is sent what came after (or a fresh
    /// snapshot, when that is too old).
    after: Option<Seq>,
    /// The `token` security scheme (a browser's WebSocket cannot set headers).
    #[param(ignore)]
    #[allow(dead_code)]
    token: Option<String>,
}

/// WebSocket: a snapshot tagged with its position, then coalesced deltas. `?after=SEQ`
/// resumes from a position (or gets a fresh snapshot when that is too old).
#[utoipa::path(get, path = "/api/actions/{id}/live", params(("id" = i64, Path), LiveQuery),
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 101, description = "switching to the WebSocket protocol"),
        (status = 403, description = "`forbidden`: a lab reads tubes, not the live state"),
        (status = 404, description = "`not_found`: no such action, or none the caller has a part in"),
        (status = 426, description = "`websocket_required`: a plain request; connect with a WebSocket client"),
    ))]
pub async fn live(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ActionId>,
    ApiQuery(q): ApiQuery<LiveQuery>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    caller.require(WATCHERS)?;
    let cell = action_cell(&state, &caller, id)?;
    let ws = ws.map_err(|_| ApiError::WebSocketRequired)?;
    let subscriber = crate::live::ws::Subscriber {
        scope: crate::auth::Scope::clone(&caller.scope),
        session: caller.session.id,
        auth: state.auth.clone(),
        shutdown: state.shutdown.clone(),
    };
    let ws = ws.read_buffer_size(crate::live::ws::READ_BUFFER);
    Ok(ws.on_upgrade(move |socket| crate::live::ws::serve(socket, cell, q.after, subscriber)))
}
