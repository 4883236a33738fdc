//! Who was called up and who has answered: each call-up of an action with its answers,
//! as the sender's side reads them (everyone called in the caller's part of the tree, those
//! not yet answered first, with the minutes to 50 / 90 / 100 % answered), or as one called-up
//! person reads their own. Sending and answering are events (`call_up_sent`,
//! `call_up_answered`) on `POST /api/actions/{id}/events`.

use super::actions::action_cell;
use super::extract::{ApiPath, ApiQuery, Caller, whole_phone};
use super::{ApiError, AppState};
use crate::action::callups::CallUp;
use crate::action::{ActionId, ActionState, Answer, Seq};
use crate::messages::audit::{Audited, PhoneList};
use crate::roster::{Role, StaffId};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/actions/{id}/call-ups", get(call_ups))
        .route("/api/actions/{id}/call-ups/reach", get(reach))
}

/// The roles that send call-ups, and so read everyone's answers in their part.
const SENDERS: &[Role] = &[Role::Admin, Role::Chief, Role::GridHead];

#[derive(Serialize, utoipa::ToSchema)]
pub struct CallUpView {
    /// Its position in the log: how an answer names it.
    pub seq: Seq,
    pub text: String,
    pub place: String,
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
    pub sent_by: StaffId,
    pub sent_by_name: String,
    /// Of the people listed: called, answered 收到, answered 有困难, not yet.
    pub called: usize,
    pub received: usize,
    pub cannot: usize,
    pub not_yet: usize,
    /// Minutes from sending until half, nine in ten and all of them had answered (either
    /// way), by their phones' clocks; none until it happened.
    pub minutes_to_50: Option<f64>,
    pub minutes_to_90: Option<f64>,
    pub minutes_to_100: Option<f64>,
    /// Not yet answered first (whom to phone), then the answers, earliest first.
    pub people: Vec<Called>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Called {
    pub staff_id: StaffId,
    pub name: String,
    #[schema(value_type = String)]
    pub role: Role,
    /// Whole for the senders (they phone whoever has not answered), masked otherwise.
    pub phone: Option<String>,
    #[schema(value_type = Option<String>)]
    pub answer: Option<Answer>,
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub answered_at: Option<OffsetDateTime>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CallUpList {
    pub seq: Seq,
    /// Newest first.
    pub call_ups: Vec<CallUpView>,
}

/// The minutes from `sent` until the k-th of `n` answers, k = ceil(share × n).
fn minutes_to(sent: OffsetDateTime, times: &[OffsetDateTime], n: usize, share: f64) -> Option<f64> {
    let k = ((share * n as f64).ceil() as usize).max(1);
    times.get(k - 1).map(|t| ((*t - sent).as_seconds_f64() / 60.0).max(0.0))
}

fn view(s: &ActionState, c: &CallUp, caller: &Caller) -> Option<CallUpView> {
    let roster = &s.roster;
    let sender = SENDERS.contains(&caller.staff.role);
    let shown = |id: StaffId| {
        roster.staff_member(id).is_some_and(|m| {
            m.nodes.iter().filter_map(|n| roster.node_idx(*n)).any(|i| caller.scope.covers_node(roster, i))
                || m.point_id.and_then(|p| roster.point(p)).is_some_and(|p| {
                    p.nodes.iter().filter_map(|n| roster.node_idx(*n)).any(|i| caller.scope.covers_node(roster, i))
                })
        })
    };
    // Anyone else reads only their own answer, looked up: when ten thousand phones read at
    // once, each walking everyone called held the action's lock for seconds (BENCHMARKS.md).
    let listed: Vec<_> = match sender {
        true => c.answers.iter().filter(|(id, _)| shown(**id)).collect(),
        false => c.answers.get_key_value(&caller.staff.id).into_iter().collect(),
    };
    let mut people: Vec<Called> = listed
        .into_iter()
        .map(|(&id, reply)| {
            let m = roster.staff_member(id);
            Called {
                staff_id: id,
                name: m.map(|m| m.name.clone()).unwrap_or_default(),
                role: m.map_or(Role::Viewer, |m| m.role),
                phone: m
                    .and_then(|m| m.phone.as_ref())
                    .map(|p| if sender { p.expose().to_owned() } else { p.masked() }),
                answer: reply.as_ref().map(|r| r.answer),
                reason: reply.as_ref().map(|r| r.reason.clone()).filter(|r| !r.is_empty()),
                answered_at: reply.as_ref().map(|r| r.at),
            }
        })
        .collect();
    if people.is_empty() {
        return None;
    }
    people.sort_by_key(|p| (p.answer.is_some(), p.answered_at, p.staff_id));
    let count = |a: Answer| people.iter().filter(|p| p.answer == Some(a)).count();
    let (received, cannot) = (count(Answer::Received), count(Answer::Cannot));
    let mut times: Vec<OffsetDateTime> = people.iter().filter_map(|p| p.answered_at).collect();
    times.sort_unstable();
    let n = people.len();
    Some(CallUpView {
        seq: c.seq,
        text: c.text.clone(),
        place: c.place.clone(),
        sent_at: c.at,
        sent_by: c.by,
        sent_by_name: roster.staff_member(c.by).map(|m| m.name.clone()).unwrap_or_default(),
        called: n,
        received,
        cannot,
        not_yet: n - received - cannot,
        minutes_to_50: minutes_to(c.at, &times, n, 0.5),
        minutes_to_90: minutes_to(c.at, &times, n, 0.9),
        minutes_to_100: minutes_to(c.at, &times, n, 1.0),
        people,
    })
}

/// The call-ups of an action and their answers: a sender's (chief, head) everyone called in
/// their part; anyone else's only those that called them, with their own answer.
#[utoipa::path(get, path = "/api/actions/{id}/call-ups", params(("id" = i64, Path)),
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 200, body = CallUpList),
        (status = 404, description = "`not_found`: no such action, or none the caller has a part in"),
    ))]
pub async fn call_ups(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ActionId>,
) -> Result<Json<CallUpList>, ApiError> {
    let cell = action_cell(&state, &caller, id)?;
    let list = {
        let s = cell.state();
        let call_ups = s.call_ups.iter().rev().filter_map(|c| view(&s, c, &caller)).collect();
        CallUpList { seq: s.seq, call_ups }
    };
    let phones = list.call_ups.iter().flat_map(|c| &c.people).filter(|p| whole_phone(p.phone.as_deref())).count();
    if phones > 0 {
        let list = PhoneList::CallUps { action: id, phones };
        state.auth.audit(caller.staff.id, Audited::ReadPhones { list }).await?;
    }
    Ok(Json(list))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReachQuery {
    /// The area nodes to call up, comma-separated ids (`2,7`).
    #[param(pattern = "^[0-9]{1,18}(,[0-9]{1,18}){0,99}$")]
    pub nodes: String,
    /// Only these roles, comma-separated (`grid_member,grid_head`); every role when absent.
    #[param(
        pattern = "^(admin|chief|grid_head|grid_member|operator|medic|lab|viewer)(,(admin|chief|grid_head|grid_member|operator|medic|lab|viewer)){0,7}$"
    )]
    pub roles: Option<String>,
    /// The `token` security scheme; read by the `Caller` extractor.
    #[serde(default)]
    #[param(ignore)]
    #[allow(dead_code)]
    token: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Unreachable {
    pub staff_id: StaffId,
    pub name: String,
    #[schema(value_type = String)]
    pub role: Role,
    /// Why a call-up may not reach them tonight: `no_paired_phone` (it shows on paired
    /// phones), `no_phone_number` (nobody can ring them either), and then `no_chat_group`
    /// (nor does a chat group robot post to their area or one above it).
    pub why: Vec<&'static str>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Reach {
    /// How many the call-up would call up.
    pub called: usize,
    /// Of them, those it may not reach: to be phoned or fetched another way.
    pub unreachable: Vec<Unreachable>,
    /// Of them, those no chat group covers (no robot for their area or one above it): the
    /// call-up is not posted where they read it, though their phone may show it.
    pub no_chat_group: usize,
}

/// Before sending: whom a call-up to these areas (and roles) would call up, and who of them
/// it may not reach (no paired phone; no phone number; no chat group covering them), so the
/// gap is known before the night depends on it.
#[utoipa::path(get, path = "/api/actions/{id}/call-ups/reach", params(("id" = i64, Path), ReachQuery),
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 200, body = Reach),
        (status = 400, description = "`invalid_field` on `roles`: a role that does not exist"),
        (status = 403, description = "`forbidden`: the chief and the heads call up; `out_of_your_scope`: an area not theirs"),
        (status = 404, description = "`not_found`: no such action, or none the caller has a part in"),
    ))]
pub async fn reach(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ActionId>,
    ApiQuery(q): ApiQuery<ReachQuery>,
) -> Result<Json<Reach>, ApiError> {
    use crate::messages::api::field;
    caller.require(SENDERS)?;
    let _ = action_cell(&state, &caller, id)?;
    let roster = state.hub.roster();
    // As the document says: ids separated by commas, nothing else.
    let nodes: Vec<i64> = q
        .nodes
        .split(',')
        .map(|n| n.parse().ok().filter(|_| n.bytes().all(|b| b.is_ascii_digit())))
        .collect::<Option<_>>()
        .ok_or_else(|| ApiError::InvalidField { field: "nodes".into(), message: field::node_ids() })?;
    if let Some(n) = nodes.iter().find(|n| roster.node_idx(**n).is_some_and(|i| !caller.scope.covers_node(&roster, i)))
    {
        return Err(ApiError::OutOfScope(field::node_outside_yours(*n)));
    }
    let mut roles = Vec::new();
    for r in q.roles.iter().flat_map(|r| r.split(',')) {
        let role = Role::parse(r)
            .ok_or_else(|| ApiError::InvalidField { field: "roles".into(), message: field::no_such_role(r) })?;
        roles.push(role);
    }
    let called = crate::action::callups::recipients(&roster, &nodes, &roles, caller.staff.id);
    let paired = state.auth.live_sessions().await?;
    let mut outside_groups = 0;
    let unreachable = called
        .iter()
        .filter_map(|&id| {
            let m = roster.staff_member(id)?;
            let mut why = Vec::new();
            if !paired.contains_key(&id) {
                why.push("no_paired_phone");
            }
            if m.phone.is_none() {
                why.push("no_phone_number");
            }
            // A group robot posts to a whole area: theirs, or one above it.
            let areas = m
                .nodes
                .iter()
                .copied()
                .chain(m.point_id.and_then(|p| roster.point(p)).into_iter().flat_map(|p| p.nodes.clone()));
            let in_a_group = areas
                .filter_map(|n| roster.node_idx(n))
                .any(|i| roster.ancestors(i).iter().any(|&a| state.notifier.has_channel(roster.nodes()[a].id)));
            // A phone paired and a number to ring reach them; a missing group only adds to a gap.
            if !in_a_group {
                outside_groups += 1;
                if !why.is_empty() {
                    why.push("no_chat_group");
                }
            }
            (!why.is_empty()).then(|| Unreachable { staff_id: id, name: m.name.clone(), role: m.role, why })
        })
        .collect();
    Ok(Json(Reach { called: called.len(), unreachable, no_chat_group: outside_groups }))
}
