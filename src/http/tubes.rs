//! What a pooled tube leads to, and who must be found because of it: a tube's people and
//! their households (tube → residents), a resident's tubes (resident → tubes), the flagged
//! list (everyone a positive result flagged, with the people they live with and the grid
//! member who finds them), and the walk-ins waiting for the clerk. Read-only: results,
//! tubes and decisions are events, recorded through `POST /api/actions/{id}/events`.

use super::actions::{CHASERS, EventResult, action_cell, new_event, result};
use super::extract::{ApiJson, ApiPath, Caller, whole_phone};
use super::{ApiError, AppState};
use crate::action::tubes::{FlagState, Member, Tube};
use crate::action::{ActionId, ActionState, LabResult, Resolution, Seq, Status};
use crate::messages::audit::{Audited, PhoneList};
use crate::roster::{HouseholdId, IdNumber, PointId, ResidentId, Role, StaffId};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/actions/{id}/tubes/{code}", get(tube))
        .route("/api/actions/{id}/residents/{resident}/tubes", get(resident_tubes))
        .route("/api/actions/{id}/flagged", get(flagged))
        .route("/api/actions/{id}/walk-ins", get(walk_ins))
        .route("/api/actions/{id}/walk-ins/{seq}", post(decide_walk_in))
}

/// Who reads a tube: its point's operator, the lab (without names) and the command.
const TUBE_READERS: &[Role] = &[Role::Admin, Role::Chief, Role::Operator, Role::Lab];

#[derive(Serialize, utoipa::ToSchema)]
pub struct TubeView {
    pub code: String,
    pub point_id: PointId,
    pub point: String,
    pub size: u8,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    pub closed: bool,
    #[schema(value_type = Option<String>)]
    pub result: Option<LabResult>,
    /// How many are in it.
    pub count: usize,
    /// Who is in it, with the people they live with; empty for a lab (results, not names).
    pub people: Vec<Person>,
}

/// Someone in a tube or on the flagged list: a resident, or a walk-in (by the position of
/// their first sample).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Person {
    pub resident_id: Option<ResidentId>,
    pub walk_in_seq: Option<Seq>,
    pub name: String,
    pub id_number: String,
    /// Whole for the roles that phone people at night, masked for the others.
    pub phone: Option<String>,
    #[schema(value_type = Option<String>)]
    pub flag: Option<FlagState>,
    pub flag_tube: Option<String>,
    /// Their household (a walk-in: where they stay) and everyone in it, who must be
    /// found too.
    pub household: Option<HouseholdBrief>,
    pub stays_at: Option<String>,
    /// The grid member (or head) who answers for them.
    pub staff_id: Option<StaffId>,
    pub staff_name: Option<String>,
    pub staff_phone: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HouseholdBrief {
    pub id: HouseholdId,
    pub number: String,
    pub address: String,
    pub grid: String,
    pub residents: Vec<Housemate>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Housemate {
    pub id: ResidentId,
    pub name: String,
    pub id_number: String,
    pub phone: Option<String>,
    /// In the action: missing, sampled or exempt; absent for someone outside its scope.
    #[schema(value_type = Option<String>)]
    pub status: Option<Status>,
    #[schema(value_type = Option<String>)]
    pub flag: Option<FlagState>,
}

/// The roles that phone people at night see numbers whole.
fn calls(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Chief | Role::GridHead | Role::GridMember | Role::Medic)
}

/// Renders one person as `role` may see them.
fn person(s: &ActionState, member: Member, role: Role) -> Person {
    let roster = &s.roster;
    let whole = calls(role);
    let phone = |p: Option<&crate::roster::Phone>| p.map(|p| if whole { p.expose().to_owned() } else { p.masked() });
    let flag = s.flag(member);
    let flag_tube = flag.and_then(|f| s.tubes.get(f.tube as usize)).map(|t| t.code.clone());
    match member {
        Member::Resident(idx) => {
            let idx = idx as usize;
            let r = &roster.residents()[idx];
            let staff = s.responsible_staff(idx).and_then(|id| roster.staff_member(id));
            let household = roster.household(r.household_id).map(|h| {
                let node = roster.node_idx(h.node_id);
                let residents = node
                    .map(|n| roster.residents_at(n))
                    .unwrap_or_default()
                    .iter()
                    .map(|&i| i as usize)
                    .filter(|&i| roster.residents()[i].household_id == h.id)
                    .map(|i| {
                        let m = &roster.residents()[i];
                        Housemate {
                            id: m.id,
                            name: m.name.clone(),
                            id_number: m.id_number.masked(),
                            phone: phone(m.phone.as_ref()),
                            status: s.in_scope(i).then(|| s.slot_status(i)),
                            flag: s.flag(Member::Resident(i as u32)).map(|f| f.state),
                        }
                    })
                    .collect();
                HouseholdBrief {
                    id: h.id,
                    number: h.number.clone(),
                    address: h.address.clone(),
                    grid: node.map(|n| roster.nodes()[n].name.clone()).unwrap_or_default(),
                    residents,
                }
            });
            Person {
                resident_id: Some(r.id),
                walk_in_seq: None,
                name: r.name.clone(),
                id_number: r.id_number.masked(),
                phone: phone(r.phone.as_ref()),
                flag: flag.map(|f| f.state),
                flag_tube,
                household,
                stays_at: None,
                staff_id: staff.map(|m| m.id),
                staff_name: staff.map(|m| m.name.clone()),
                staff_phone: staff.and_then(|m| phone(m.phone.as_ref())),
            }
        }
        Member::WalkIn(i) => {
            let w = &s.walk_ins.list[i as usize];
            let number = IdNumber::parse(&w.who.id_number).map(|n| n.masked()).unwrap_or_default();
            let walk_phone = w.who.phone.as_deref().and_then(|p| crate::roster::Phone::parse(p).ok());
            Person {
                resident_id: None,
                walk_in_seq: Some(w.seq),
                name: w.who.name.clone(),
                id_number: number,
                phone: phone(walk_phone.as_ref()),
                flag: flag.map(|f| f.state),
                flag_tube,
                household: None,
                stays_at: Some(w.who.stays_at.clone()),
                staff_id: None,
                staff_name: None,
                staff_phone: None,
            }
        }
    }
}

fn tube_view(s: &ActionState, t: &Tube, role: Role) -> TubeView {
    let people =
        if role == Role::Lab { Vec::new() } else { t.members.iter().map(|(m, _)| person(s, *m, role)).collect() };
    TubeView {
        code: t.code.clone(),
        point_id: t.point,
        point: s.roster.point(t.point).map(|p| p.name.clone()).unwrap_or_default(),
        size: t.size,
        opened_at: t.opened_at,
        closed: t.closed,
        result: t.result,
        count: t.members.len(),
        people,
    }
}

/// Counts the whole phone numbers an answer shows, for the audit log.
fn phones_in(people: &[Person]) -> usize {
    people
        .iter()
        .map(|p| {
            let housemates = p
                .household
                .as_ref()
                .map_or(0, |h| h.residents.iter().filter(|r| whole_phone(r.phone.as_deref())).count());
            usize::from(whole_phone(p.phone.as_deref()))
                + usize::from(whole_phone(p.staff_phone.as_deref()))
                + housemates
        })
        .sum()
}

async fn audit_phones(state: &AppState, caller: &Caller, action: ActionId, people: &[Person]) -> Result<(), ApiError> {
    let phones = phones_in(people);
    if phones > 0 {
        let list = PhoneList::Flagged { action, phones };
        state.auth.audit(caller.staff.id, Audited::ReadPhones { list }).await?;
    }
    Ok(())
}

/// A tube and who is in it, with their households: what a positive result leads to.
#[utoipa::path(get, path = "/api/actions/{id}/tubes/{code}",
    params(("id" = i64, Path), ("code" = String, Path, pattern = "^[A-Za-z0-9._/-]{1,64}$")),
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 200, body = TubeView),
        (status = 403, description = "`forbidden`: grid roles and viewers read people, not tubes"),
        (status = 404, description = "`not_found`: no such action or tube (an operator sees their own point's)"),
    ))]
pub async fn tube(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, code)): ApiPath<(ActionId, String)>,
) -> Result<Json<TubeView>, ApiError> {
    caller.require(TUBE_READERS)?;
    let cell = action_cell(&state, &caller, id)?;
    let view = {
        let s = cell.state();
        let not_found = || ApiError::NotFound { what: "tube", id: code.chars().take(64).collect() };
        let t = s.tube(&code).map(|t| &s.tubes[t as usize]).ok_or_else(not_found)?;
        if caller.staff.role == Role::Operator && caller.scope.point != Some(t.point) {
            return Err(not_found());
        }
        tube_view(&s, t, caller.staff.role)
    };
    audit_phones(&state, &caller, id, &view.people).await?;
    Ok(Json(view))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ResidentTube {
    pub code: String,
    pub point_id: PointId,
    pub size: u8,
    #[schema(value_type = Option<String>)]
    pub result: Option<LabResult>,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
}

/// The tubes a resident was sampled into in this action, oldest first.
#[utoipa::path(get, path = "/api/actions/{id}/residents/{resident}/tubes",
    params(("id" = i64, Path), ("resident" = i64, Path)),
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 200, body = Vec<ResidentTube>),
        (status = 403, description = "`forbidden`: operators, labs and viewers"),
        (status = 404, description = "`not_found`: no such action, or no such resident of the caller's"),
    ))]
pub async fn resident_tubes(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, resident)): ApiPath<(ActionId, ResidentId)>,
) -> Result<Json<Vec<ResidentTube>>, ApiError> {
    caller.require(CHASERS)?;
    let cell = action_cell(&state, &caller, id)?;
    let s = cell.state();
    let not_found = || ApiError::NotFound { what: "resident", id: resident.to_string() };
    let idx = s.roster.resident_idx(resident).ok_or_else(not_found)?;
    if !caller.scope.covers_resident(&s.roster, idx) {
        return Err(not_found());
    }
    let me = Member::Resident(idx as u32);
    let tubes = s
        .tubes
        .iter()
        .filter(|t| t.members.iter().any(|(m, _)| *m == me))
        .map(|t| ResidentTube {
            code: t.code.clone(),
            point_id: t.point,
            size: t.size,
            result: t.result,
            opened_at: t.opened_at,
        })
        .collect();
    Ok(Json(tubes))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct FlaggedList {
    pub seq: Seq,
    /// Everyone flagged and not cleared that the caller answers for (the chief: all, walk-ins
    /// included), the latest flagged first.
    pub people: Vec<Person>,
}

/// Who a positive tube flagged, to isolate and re-test in a single tube, with the people
/// they live with and the grid member who must find them.
#[utoipa::path(get, path = "/api/actions/{id}/flagged", params(("id" = i64, Path)),
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 200, body = FlaggedList),
        (status = 403, description = "`forbidden`: operators, labs and viewers"),
        (status = 404, description = "`not_found`: no such action, or none the caller has a part in"),
    ))]
pub async fn flagged(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ActionId>,
) -> Result<Json<FlaggedList>, ApiError> {
    caller.require(CHASERS)?;
    let cell = action_cell(&state, &caller, id)?;
    let list = {
        let s = cell.state();
        let roster = &s.roster;
        let mut raised: Vec<(Member, OffsetDateTime)> = s
            .flags()
            .filter(|(_, f)| f.state.is_raised())
            .filter(|(m, _)| match m {
                Member::Resident(i) => caller.scope.covers_resident(roster, *i as usize),
                Member::WalkIn(_) => caller.scope.all,
            })
            .map(|(m, f)| (m, f.at))
            .collect();
        raised.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        FlaggedList { seq: s.seq, people: raised.into_iter().map(|(m, _)| person(&s, m, caller.staff.role)).collect() }
    };
    audit_phones(&state, &caller, id, &list.people).await?;
    Ok(Json(list))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WalkInView {
    /// How the clerk names them: the position of their first sample.
    pub seq: Seq,
    pub name: String,
    pub id_number: String,
    pub phone: Option<String>,
    pub stays_at: String,
    pub point_id: PointId,
    pub point: String,
    #[serde(with = "time::serde::rfc3339")]
    pub sampled_at: OffsetDateTime,
    pub samples: u16,
    #[schema(value_type = Option<String>)]
    pub resolution: Option<Resolution>,
    pub resident_id: Option<ResidentId>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WalkInList {
    pub seq: Seq,
    /// Those still waiting for a decision first, then the decided; each in the order they came.
    pub walk_ins: Vec<WalkInView>,
}

/// The walk-ins of an action: the roster-correction queue the clerk works through (confirm
/// into the roster, merge with a resident, or reject, each a `walk_in_resolved` event).
#[utoipa::path(get, path = "/api/actions/{id}/walk-ins", params(("id" = i64, Path)),
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 200, body = WalkInList),
        (status = 403, description = "`forbidden`: only the chief and the administrator (the clerk) decide"),
        (status = 404, description = "`not_found`: no such action, or none the caller has a part in"),
    ))]
pub async fn walk_ins(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ActionId>,
) -> Result<Json<WalkInList>, ApiError> {
    caller.require(&[Role::Admin, Role::Chief])?;
    let cell = action_cell(&state, &caller, id)?;
    let s = cell.state();
    let mut walk_ins: Vec<WalkInView> = s
        .walk_ins
        .list
        .iter()
        .map(|w| WalkInView {
            seq: w.seq,
            name: w.who.name.clone(),
            id_number: IdNumber::parse(&w.who.id_number).map(|n| n.masked()).unwrap_or_default(),
            phone: w.who.phone.clone(),
            stays_at: w.who.stays_at.clone(),
            point_id: w.point,
            point: s.roster.point(w.point).map(|p| p.name.clone()).unwrap_or_default(),
            sampled_at: w.at,
            samples: w.samples,
            resolution: w.resolved.map(|r| r.resolution),
            resident_id: w.resolved.and_then(|r| r.resident),
        })
        .collect();
    walk_ins.sort_by_key(|w| (w.resolution.is_some(), w.seq));
    Ok(Json(WalkInList { seq: s.seq, walk_ins }))
}

/// What the clerk decided a walk-in is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// A new resident, of `household_id`.
    Confirm,
    /// The same person as the resident `resident_id` already on the roster.
    Merge,
    Reject,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideIn {
    /// The decision's event id, made by the page when the clerk decides: a resend is a
    /// repeat and changes nothing (a confirm adds nobody a second time).
    pub id: Uuid,
    pub decision: Decision,
    /// For `confirm`: the household they join (their grid is the household's).
    pub household_id: Option<HouseholdId>,
    /// For `merge`: the resident they are.
    pub resident_id: Option<ResidentId>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub device_time: Option<OffsetDateTime>,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub note: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DecideOut {
    #[serde(flatten)]
    pub result: EventResult,
    /// The resident they now are (confirmed or merged).
    pub resident_id: Option<ResidentId>,
}

/// The clerk's decision on a walk-in, audited: confirm them into the roster (a new resident
/// of `household_id`, a migrant noted where they stay, whose sample their walk-in sample
/// becomes), merge them with the resident `resident_id` (one person, one sample), or reject.
#[utoipa::path(post, path = "/api/actions/{id}/walk-ins/{seq}",
    params(("id" = i64, Path), ("seq" = i64, Path, description = "the position of the walk-in's first sample")),
    request_body = DecideIn,
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 200, body = DecideOut),
        (status = 400, description = "`invalid_field`: `household_id` (confirm) or `resident_id` (merge) missing"),
        (status = 403, description = "`forbidden`: the chief and the administrator (the clerk) decide"),
        (status = 404, description = "`not_found`: no such action"),
        (status = 409, description = "`walk_in_already_resolved`"),
        (status = 422, description = "`unknown_walk_in`, `unknown_household`, `unknown_resident`, or `on_the_roster` with `resident_id`"),
    ))]
pub async fn decide_walk_in(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, seq)): ApiPath<(ActionId, Seq)>,
    ApiJson(body): ApiJson<DecideIn>,
) -> Result<Json<DecideOut>, ApiError> {
    use crate::messages::api::field;
    let cell = action_cell(&state, &caller, id)?;
    let roster = state.hub.roster();
    let missing = |name: &str| ApiError::InvalidField { field: name.into(), message: field::required(name) };
    let (resolution, resident_id) = match body.decision {
        Decision::Confirm => (Resolution::Confirmed, None),
        Decision::Merge => (Resolution::Merged, Some(body.resident_id.ok_or_else(|| missing("resident_id"))?)),
        Decision::Reject => (Resolution::Rejected, None),
    };
    if let Some(r) = resident_id.and_then(|r| roster.resident_idx(r))
        && !caller.scope.covers_resident(&roster, r)
    {
        return Err(ApiError::OutOfScope(field::resident_outside_yours(roster.residents()[r].id)));
    }
    let resolved =
        crate::action::EventBody::WalkInResolved { walk_in_seq: seq, resolution, resident_id, note: body.note };
    let event = new_event(&caller, &cell, "", body.id, body.device_time, resolved)?;
    let outcome = match body.decision {
        Decision::Confirm => {
            let household = body.household_id.ok_or_else(|| missing("household_id"))?;
            let node = roster.household(household).and_then(|h| roster.node_idx(h.node_id));
            if node.is_some_and(|n| !caller.scope.covers_node(&roster, n)) {
                return Err(ApiError::OutOfScope(field::household_outside_yours(household)));
            }
            state.writer.confirm_walk_in(event, household).await?
        }
        Decision::Merge | Decision::Reject => state.writer.append(vec![event]).await?.remove(0),
    };
    let resident_id = {
        let s = cell.state();
        s.walk_ins.by_seq(seq).and_then(|i| s.walk_ins.list[i as usize].resolved).and_then(|r| r.resident)
    };
    if matches!(outcome, crate::writer::Outcome::New(_)) {
        let act = Audited::DecideWalkIn { action: id, walk_in: seq, resolution, resident: resident_id };
        state.auth.audit(caller.staff.id, act).await?;
    }
    Ok(Json(DecideOut { result: result(body.id, outcome), resident_id }))
}
