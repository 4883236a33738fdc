//! What a grid member's phone reads: the households they answer for in an action, each
//! with its residents and where each stands (the outcome, the chase, the home visit), and
//! for a medic the households waiting for a home visit. Live changes after the answer's
//! `seq` come over the action's WebSocket (`residents` in each delta).

use super::actions::{CHASERS, action_cell};
use super::extract::{ApiPath, ApiQuery, Caller, cursor, whole_phone};
use super::{ApiError, AppState};
use crate::action::view::ResidentLive;
use crate::action::{ActionId, ActionState, Seq, Status};
use crate::auth::Scope;
use crate::messages::audit::{Audited, PhoneList};
use crate::roster::{HouseholdId, NodeId, ResidentId, Role, StaffId};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/actions/{id}/households", get(households))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HouseholdsQuery {
    /// At most this many households (default 500, at most 2000).
    #[param(minimum = 0, maximum = 4294967295_u64)]
    pub limit: Option<u32>,
    /// The `next` cursor of the previous page.
    #[param(pattern = "^[0-9]{1,9}$")]
    pub cursor: Option<String>,
    /// Only households with a home-visit request (a medic's list), nearest grid first,
    /// then the oldest request first.
    pub visits: Option<bool>,
    /// The `token` security scheme; read by the `Caller` extractor.
    #[serde(default)]
    #[param(ignore)]
    #[allow(dead_code)]
    token: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HouseholdResident {
    pub id: ResidentId,
    pub name: String,
    pub birth_year: i32,
    /// Whole for the roles that phone residents (chief, heads, grid members, medics),
    /// masked for the others.
    pub phone: Option<String>,
    pub id_number: String,
    /// The village's notes: works away, bedridden.
    pub away: bool,
    pub bedridden: bool,
    pub live: ResidentLive,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HouseholdView {
    pub id: HouseholdId,
    pub number: String,
    pub address: String,
    pub node_id: NodeId,
    /// The name of the grid the household is in.
    pub grid: String,
    /// Who answers for it: the nearest responsible staff member up the tree.
    pub staff_id: Option<StaffId>,
    /// Its residents in the action's scope.
    pub residents: Vec<HouseholdResident>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct StaffContact {
    pub id: StaffId,
    pub name: String,
    #[schema(value_type = String)]
    pub role: Role,
    pub phone: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HouseholdsPage {
    /// The position the statuses are at: follow the live feed with `?after=` this.
    pub seq: Seq,
    pub households: Vec<HouseholdView>,
    /// The staff who answer for these households, to group by and to phone.
    pub staff: Vec<StaffContact>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// The households the caller answers for in the action, those with someone missing first;
/// or (`visits=true`) those waiting for a home visit.
#[utoipa::path(get, path = "/api/actions/{id}/households", params(("id" = i64, Path), HouseholdsQuery),
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 200, body = HouseholdsPage),
        (status = 403, description = "`forbidden`: operators and viewers have no households to chase"),
        (status = 404, description = "`not_found`: no such action, or none the caller has a part in"),
    ))]
pub async fn households(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ActionId>,
    ApiQuery(q): ApiQuery<HouseholdsQuery>,
) -> Result<Json<HouseholdsPage>, ApiError> {
    caller.require(CHASERS)?;
    let limit = q.limit.unwrap_or(500).clamp(1, 2000) as usize;
    let from = cursor(q.cursor.as_deref())?;
    let cell = action_cell(&state, &caller, id)?;
    let page = page(&cell.state(), &caller, q.visits.unwrap_or(false), from, limit);
    let phones = page.households.iter().flat_map(|h| &h.residents).filter(|r| whole_phone(r.phone.as_deref())).count()
        + page.staff.iter().filter(|s| whole_phone(s.phone.as_deref())).count();
    if phones > 0 {
        let list = PhoneList::Households { action: id, phones };
        state.auth.audit(caller.staff.id, Audited::ReadPhones { list }).await?;
    }
    Ok(Json(page))
}

/// The roles that phone residents at night see their numbers whole.
fn calls(role: Role) -> bool {
    matches!(role, Role::Chief | Role::GridHead | Role::GridMember | Role::Medic)
}

/// One page of households, ordered, from the `from`-th on.
fn page(s: &ActionState, caller: &Caller, visits: bool, from: usize, limit: usize) -> HouseholdsPage {
    let roster = &s.roster;
    let scope: Scope = caller.scope.resolve_in(roster);
    // Each covered grid's residents in scope, grouped by household.
    let mut found: Vec<(HouseholdId, usize, Vec<usize>)> = Vec::new();
    let covered = |n: usize| scope.covers_node(roster, n);
    for node in (0..roster.nodes().len()).filter(|&n| covered(n)) {
        let mut by_household: BTreeMap<HouseholdId, Vec<usize>> = BTreeMap::new();
        for &i in roster.residents_at(node) {
            let i = i as usize;
            let h = roster.residents()[i].household_id;
            if s.in_scope(i) && scope.covers_household_in(s, h, node) {
                by_household.entry(h).or_default().push(i);
            }
        }
        found.extend(by_household.into_iter().map(|(h, rs)| (h, node, rs)));
    }
    // Households handed to the caller for the night, from outside their own area.
    let mut handed: Vec<HouseholdId> = s.handed().filter(|&(_, to)| to == scope.staff_id).map(|(h, _)| h).collect();
    handed.sort_unstable();
    for h in handed {
        let node = roster.household(h).and_then(|h| roster.node_idx(h.node_id));
        if let Some(node) = node.filter(|&n| !covered(n)) {
            found.push((h, node, s.household_residents(h)));
        }
    }
    let depth = |node: usize| roster.ancestors(node).len();
    let missing = |rs: &[usize]| rs.iter().any(|&i| s.slot_status(i) == Status::Missing);
    let number = |h: HouseholdId| roster.household(h).map(|h| h.number.clone()).unwrap_or_default();
    if visits {
        // A medic's requests: the nearest grid first (fewest levels below the medic's own
        // area), then the request waiting longest.
        let requested = |rs: &[usize]| rs.iter().filter_map(|&i| s.visit_requested_at(i)).min();
        let mut waiting: Vec<_> = found
            .into_iter()
            .filter_map(|(h, node, rs)| requested(&rs).map(|at| ((depth(node), at, h), (h, node, rs))))
            .collect();
        waiting.sort_by_key(|(key, _)| *key);
        found = waiting.into_iter().map(|(_, f)| f).collect();
    } else {
        found.sort_by_cached_key(|(h, _, rs)| (!missing(rs), number(*h), *h));
    }
    let next = (found.len() > from + limit).then(|| (from + limit).to_string());
    let whole = calls(caller.staff.role);
    let mut staff_ids = BTreeSet::new();
    let households = found
        .into_iter()
        .skip(from)
        .take(limit)
        .map(|(h, node, rs)| {
            let household = roster.household(h);
            let staff_id = rs.first().and_then(|&i| s.responsible_staff(i));
            staff_ids.extend(staff_id);
            HouseholdView {
                id: h,
                number: household.map(|h| h.number.clone()).unwrap_or_default(),
                address: household.map(|h| h.address.clone()).unwrap_or_default(),
                node_id: roster.nodes()[node].id,
                grid: roster.nodes()[node].name.clone(),
                staff_id,
                residents: rs
                    .iter()
                    .map(|&i| {
                        let r = &roster.residents()[i];
                        HouseholdResident {
                            id: r.id,
                            name: r.name.clone(),
                            birth_year: r.birth_year,
                            phone: r.phone.as_ref().map(|p| if whole { p.expose().to_owned() } else { p.masked() }),
                            id_number: r.id_number.masked(),
                            away: r.flags.away,
                            bedridden: r.flags.bedridden,
                            live: s.resident_live(i),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    let staff = staff_ids
        .into_iter()
        .filter_map(|id| roster.staff_member(id))
        .map(|m| StaffContact {
            id: m.id,
            name: m.name.clone(),
            role: m.role,
            phone: m.phone.as_ref().map(|p| if whole { p.expose().to_owned() } else { p.masked() }),
        })
        .collect();
    HouseholdsPage { seq: s.seq, households, staff, next }
}
