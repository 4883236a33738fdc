//! The chain of command in an action, as the caller's part of it reads it: the escalation
//! rule and when the chase started; the missing residents whose case climbed (from whom, to
//! whom, their last status) and the people whose silence on a call-up did; the households
//! handed to substitutes; and the heads' areas with their sign-offs against the rule's time.
//! What changes it is an event on `POST /api/actions/{id}/events` (`escalation_set`,
//! `chase_started`, `households_handed`, `area_signed_off`; `escalated` is the server's).

use super::actions::{CHASERS, action_cell};
use super::extract::{ApiPath, Caller, whole_phone};
use super::{ApiError, AppState};
use crate::action::{ActionId, ActionState, Chase, Seq};
use crate::messages::audit::{Audited, PhoneList};
use crate::roster::{HouseholdId, NodeId, ResidentId, Role, StaffId};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use time::OffsetDateTime;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/actions/{id}/chain", get(chain))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ChainPerson)]
pub struct Person {
    pub staff_id: StaffId,
    pub name: String,
    #[schema(value_type = String)]
    pub role: Role,
    /// Whole for the chief, heads and grid members (they ring each other), masked otherwise.
    pub phone: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RuleView {
    /// How long each level has with a missing resident (default 30).
    pub minutes: u32,
    /// How long a call-up may go unanswered (default 10).
    pub call_up_minutes: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub chase_at: Option<OffsetDateTime>,
}

/// A missing resident whose case climbed.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EscalatedResident {
    pub resident_id: ResidentId,
    pub name: String,
    pub household_id: HouseholdId,
    pub household: String,
    pub grid: String,
    pub level: u8,
    /// The deadline that made it climb.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who answers for them tonight (the grid member or their substitute), and who it
    /// climbed to.
    pub responsible: Option<Person>,
    pub escalated_to: Option<Person>,
    #[schema(value_type = Option<String>)]
    pub chase: Option<Chase>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub chase_at: Option<OffsetDateTime>,
}

/// Someone who has not answered a call-up in time.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Silent {
    pub call_up_seq: Seq,
    pub person: Person,
    pub level: u8,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub escalated_to: Option<Person>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HandoverView {
    pub seq: Seq,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub by: Option<Person>,
    /// The substitute; absent when the households went back to their own grid member.
    pub to: Option<Person>,
    pub households: Vec<HandedHousehold>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HandedHousehold {
    pub id: HouseholdId,
    pub number: String,
    /// Who answered for it before this handover.
    pub from: Option<Person>,
    /// Who answers for it now (after every later handover).
    pub now: Option<StaffId>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AreaView {
    pub node_id: NodeId,
    pub name: String,
    pub level: String,
    pub head: Option<Person>,
    pub target: i64,
    pub missing: i64,
    /// When its report is due: the chase's start plus the rule's minutes.
    #[serde(with = "time::serde::rfc3339::option")]
    pub due_at: Option<OffsetDateTime>,
    /// Its latest sign-off, if any.
    pub signed_off: Option<SignOffView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SignOffView {
    pub seq: Seq,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub by: Option<Person>,
    pub note: String,
    /// Whether it came within the rule's time.
    pub in_time: Option<bool>,
    /// Those still missing when it was signed, each with their last status then.
    pub except: Vec<Excepted>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Excepted {
    pub resident_id: ResidentId,
    pub name: String,
    pub household: String,
    #[schema(value_type = Option<String>)]
    pub chase: Option<Chase>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChainView {
    pub seq: Seq,
    pub rule: RuleView,
    #[serde(with = "time::serde::rfc3339::option")]
    pub chase_started_at: Option<OffsetDateTime>,
    /// Standing escalations in the caller's part, the highest level and the oldest first.
    pub escalations: Vec<EscalatedResident>,
    pub silent: Vec<Silent>,
    /// Handovers touching the caller's part, or made to the caller, in log order.
    pub handovers: Vec<HandoverView>,
    /// The heads' areas in the caller's part, in roster order.
    pub areas: Vec<AreaView>,
}

/// The chain of command in the caller's part of an action.
#[utoipa::path(get, path = "/api/actions/{id}/chain", params(("id" = i64, Path)),
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 200, body = ChainView),
        (status = 403, description = "`forbidden`: operators, labs and viewers have no chain to follow"),
        (status = 404, description = "`not_found`: no such action, or none the caller has a part in"),
    ))]
pub async fn chain(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ActionId>,
) -> Result<Json<ChainView>, ApiError> {
    caller.require(CHASERS)?;
    let cell = action_cell(&state, &caller, id)?;
    let view = view(&cell.state(), &caller, state.deadlines.now());
    let phones = view.escalations.iter().flat_map(|e| [&e.responsible, &e.escalated_to]).flatten().map(|p| &p.phone);
    let phones = phones
        .chain(view.silent.iter().flat_map(|s| [Some(&s.person), s.escalated_to.as_ref()]).flatten().map(|p| &p.phone))
        .filter(|p| whole_phone(p.as_deref()))
        .count();
    if phones > 0 {
        let list = PhoneList::Chain { action: id, phones };
        state.auth.audit(caller.staff.id, Audited::ReadPhones { list }).await?;
    }
    Ok(Json(view))
}

fn view(s: &ActionState, caller: &Caller, now: OffsetDateTime) -> ChainView {
    let roster = &s.roster;
    let scope = caller.scope.resolve_in(roster);
    let whole = matches!(caller.staff.role, Role::Admin | Role::Chief | Role::GridHead | Role::GridMember);
    let person = |id: StaffId| {
        roster.staff_member(id).map(|m| Person {
            staff_id: m.id,
            name: m.name.clone(),
            role: m.role,
            phone: m.phone.as_ref().map(|p| if whole { p.expose().to_owned() } else { p.masked() }),
        })
    };
    let household = |h: HouseholdId| roster.household(h).map(|h| h.number.clone()).unwrap_or_default();
    let start = s.chase_start(now);
    let mut escalations: Vec<EscalatedResident> = s
        .escalated_residents()
        .filter(|&(i, _)| s.is_missing(i) && scope.covers_resident_in(s, i))
        .map(|(i, c)| {
            let r = &roster.residents()[i];
            let current = s.chased(i).and_then(|c| c.current());
            EscalatedResident {
                resident_id: r.id,
                name: r.name.clone(),
                household_id: r.household_id,
                household: household(r.household_id),
                grid: roster.nodes()[roster.resident_node_idx(i)].name.clone(),
                level: c.level,
                at: c.at,
                responsible: s.responsible_staff(i).and_then(person),
                escalated_to: s.resident_escalates_to(i, c.level).and_then(person),
                chase: current.map(|t| t.chase),
                chase_at: current.map(|t| t.at),
            }
        })
        .collect();
    escalations.sort_by_key(|e| (std::cmp::Reverse(e.level), e.at, e.household_id, e.resident_id));
    let mut silent = Vec::new();
    for c in &s.call_ups {
        for (staff, climb) in c.overdue().filter(|(id, _)| scope.covers_staff(roster, *id)) {
            if let Some(p) = person(staff) {
                let escalated_to = s.staff_escalates_to(staff, climb.level).and_then(person);
                silent.push(Silent { call_up_seq: c.seq, person: p, level: climb.level, at: climb.at, escalated_to });
            }
        }
    }
    let covers_household = |h: HouseholdId| {
        roster.household(h).and_then(|x| roster.node_idx(x.node_id)).is_some_and(|n| scope.covers_household_in(s, h, n))
    };
    let handovers = s
        .handovers
        .iter()
        .filter(|h| {
            h.to == Some(scope.staff_id)
                || h.from.contains(&Some(scope.staff_id))
                || h.households.iter().any(|&x| covers_household(x))
        })
        .map(|h| HandoverView {
            seq: h.seq,
            at: h.at,
            by: person(h.by),
            to: h.to.and_then(person),
            households: h
                .households
                .iter()
                .zip(&h.from)
                .map(|(&id, from)| HandedHousehold {
                    id,
                    number: household(id),
                    from: from.and_then(person),
                    now: s.household_residents(id).first().and_then(|&i| s.responsible_staff(i)),
                })
                .collect(),
        })
        .collect();
    let minutes = time::Duration::minutes(i64::from(s.escalation.minutes));
    let areas = (0..roster.nodes().len())
        .filter(|&n| scope.covers_node(roster, n))
        .filter_map(|n| {
            let node = &roster.nodes()[n];
            let head = node.staff_id.and_then(|id| roster.staff_member(id)).filter(|m| m.role == Role::GridHead)?;
            let counts = s.nodes.get(n).copied().unwrap_or_default();
            if counts.target == 0 {
                return None;
            }
            let due_at = start.map(|t| t + minutes);
            let signed_off = s.sign_offs.iter().rev().find(|o| o.node_id == node.id).map(|o| SignOffView {
                seq: o.seq,
                at: o.at,
                by: person(o.by),
                note: o.note.clone(),
                // By the rule when it was signed; one signed before the chase began was
                // in time once the chase did.
                in_time: o.due.map(|d| o.at <= d).or(due_at.map(|_| true)),
                except: o
                    .except
                    .iter()
                    .map(|&(i, chase)| {
                        let r = &roster.residents()[i as usize];
                        Excepted {
                            resident_id: r.id,
                            name: r.name.clone(),
                            household: household(r.household_id),
                            chase,
                        }
                    })
                    .collect(),
            });
            Some(AreaView {
                node_id: node.id,
                name: node.name.clone(),
                level: node.level.clone(),
                head: person(head.id),
                target: counts.target,
                missing: counts.missing(),
                due_at,
                signed_off,
            })
        })
        .collect();
    ChainView {
        seq: s.seq,
        rule: RuleView {
            minutes: s.escalation.minutes,
            call_up_minutes: s.escalation.call_up_minutes,
            chase_at: s.escalation.chase_at,
        },
        chase_started_at: start,
        escalations,
        silent,
        handovers,
        areas,
    }
}
