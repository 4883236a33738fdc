//! What a sampling point's page (`/scan`) reads: the copy of residents it keeps so that a
//! scan is confirmed at once and offline (`point-roster`: its point's grids, in the
//! action's scope), and the search for anyone else who comes to the point (`lookup`: the
//! whole roster, since a resident of another area may queue here). Recording a sample is
//! not here: the page posts `resident_sampled` to the action's events, through its outbox.
//!
//! ID numbers are masked in every answer and the query is never logged: it may be one.

use super::actions::action_cell;
use super::extract::{ApiPath, ApiQuery, Caller, cursor};
use super::{ApiError, AppState};
use crate::action::tubes::{FlagState, Member};
use crate::action::{ActionId, ActionState, Seq, Status};
use crate::messages::api::field;
use crate::roster::{HouseholdId, IdNumber, PointId, ResidentId, Role, Roster, Sex};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use time::OffsetDateTime;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/actions/{id}/point-roster", get(point_roster))
        .route("/api/actions/{id}/lookup", get(lookup))
}

/// Who works a sampling point's page: its operators, and the admins and chiefs who stand
/// in for them. Grid roles have their phone page; a viewer only watches.
const SCANNERS: &[Role] = &[Role::Admin, Role::Chief, Role::Operator];

/// At most this many candidates a search answers: a person at a point picks from a screen.
pub const LOOKUP_MAX: usize = 20;

/// The longest search accepted, in characters: an 18-character ID number, a long name or
/// a card code fit; anything longer is a misread or a paste.
pub const QUERY_MAX: usize = 40;

/// The shortest ID tail searched by: fewer digits match too many people.
const TAIL_MIN: usize = 4;

/// China keeps one time zone: an age is counted on the date at the point, not at Greenwich
/// (a night action at 00:45 is the day before in UTC).
const CHINA: time::UtcOffset = time::macros::offset!(+8);

#[derive(Serialize, utoipa::ToSchema)]
pub struct PointResident {
    pub id: ResidentId,
    pub name: String,
    /// Masked: `1101**********123X`.
    pub id_number: String,
    /// Whole years, from the ID number's birth date (none when the digits are not a date).
    pub age: Option<u32>,
    pub sex: Sex,
    pub household_id: HouseholdId,
    /// The household's number, as on its card.
    pub household: String,
    pub address: String,
    /// The grid the household is in.
    pub grid: String,
    /// The grid member (or head) who answers for the household: the nearest up the tree.
    pub staff_name: Option<String>,
    #[schema(value_type = String)]
    pub status: Status,
    /// The latest counted sample in this action: when (device clock) and where.
    #[serde(with = "time::serde::rfc3339::option")]
    pub sampled_at: Option<OffsetDateTime>,
    pub point_id: Option<PointId>,
    pub point: Option<String>,
    /// What a lab result says of them: `retest` (their pooled tube was positive: isolate,
    /// and re-test in a single tube), `confirmed` or `cleared`; none if never flagged. The
    /// page shows `retest` on the confirm step and offers a single tube.
    #[schema(value_type = Option<String>)]
    pub flag: Option<FlagState>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PointRosterPage {
    /// The position the statuses are at.
    pub seq: Seq,
    pub residents: Vec<PointResident>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next: Option<String>,
    /// The size of the action's pooled tubes now (10合1 until the chief sets another): what
    /// the page opens a tube with unless the operator picks another.
    pub tube_size: u8,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Candidate {
    #[serde(flatten)]
    pub resident: PointResident,
    /// Whether the resident is in this action's scope: one who is not is still sampled,
    /// and counted apart at the point ("非本范围").
    pub in_scope: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LookupAnswer {
    pub seq: Seq,
    /// The best matches first: a whole ID number, a household, an ID tail, a name.
    pub residents: Vec<Candidate>,
    /// More matched than are listed: the search should say more.
    pub more: bool,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PointRosterQuery {
    /// At most this many residents (default 1000, at most 5000).
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LookupQuery {
    /// A whole ID number, its last 4–17 digits, a name (or part of one) or a household
    /// number (`DHS0012`, or just `12`).
    #[param(min_length = 1, max_length = 40)]
    pub q: Option<String>,
    /// The `token` security scheme; read by the `Caller` extractor.
    #[serde(default)]
    #[param(ignore)]
    #[allow(dead_code)]
    token: Option<String>,
}

/// The residents a sampling point keeps a copy of, in roster order: for an operator those
/// of the action's scope in the grids their point serves; for an admin or a chief, the
/// action's scope within their own area.
#[utoipa::path(get, path = "/api/actions/{id}/point-roster", params(("id" = i64, Path), PointRosterQuery),
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 200, body = PointRosterPage),
        (status = 403, description = "`forbidden`: only operators, admins and chiefs work a point's page"),
        (status = 404, description = "`not_found`: no such action, or none the caller has a part in"),
    ))]
#[tracing::instrument(level = "debug", skip_all, fields(action = id))]
pub async fn point_roster(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ActionId>,
    ApiQuery(q): ApiQuery<PointRosterQuery>,
) -> Result<Json<PointRosterPage>, ApiError> {
    caller.require(SCANNERS)?;
    let limit = q.limit.unwrap_or(1000).clamp(1, 5000) as usize;
    let from = cursor(q.cursor.as_deref())?;
    let cell = action_cell(&state, &caller, id)?;
    let s = cell.state();
    let roster = &s.roster;
    let today = OffsetDateTime::now_utc().to_offset(CHINA).date();
    let mut residents = Vec::with_capacity(limit.min(1024));
    let mut next = None;
    for idx in kept_residents(&s, &caller, from).filter(|&i| s.in_scope(i)) {
        if residents.len() == limit {
            next = Some(idx.to_string());
            break;
        }
        residents.push(resident_view(&s, roster, idx, today));
    }
    Ok(Json(PointRosterPage { seq: s.seq, residents, next, tube_size: s.tube_size }))
}

/// Roster indexes, ascending from `from`, of the residents the caller's point page keeps
/// (before the action's scope is applied).
fn kept_residents<'a>(s: &'a ActionState, caller: &Caller, from: usize) -> Box<dyn Iterator<Item = usize> + 'a> {
    let roster = &s.roster;
    if caller.staff.role != Role::Operator {
        return caller.scope.resolve_in(roster).residents_from(roster, from);
    }
    // An operator's part is the grids their point serves (and what lies under them).
    let served: HashSet<usize> = caller
        .scope
        .point
        .and_then(|p| roster.point(p))
        .map(|p| p.nodes.iter().filter_map(|n| roster.node_idx(*n)).collect())
        .unwrap_or_default();
    let mut idx: Vec<usize> = (0..roster.nodes().len())
        .filter(|&n| roster.in_subtree_of(n, &served))
        .flat_map(|n| roster.residents_at(n).iter().map(|&i| i as usize))
        .filter(|&i| i >= from)
        .collect();
    idx.sort_unstable();
    Box::new(idx.into_iter())
}

fn resident_view(s: &ActionState, roster: &Roster, idx: usize, today: time::Date) -> PointResident {
    let r = &roster.residents()[idx];
    let node = roster.resident_node_idx(idx);
    let household = roster.household(r.household_id);
    let staff = roster.ancestors(node).iter().rev().find_map(|&a| roster.nodes()[a].staff_id);
    let sample = s.last_sample(idx);
    PointResident {
        id: r.id,
        name: r.name.clone(),
        id_number: r.id_number.masked(),
        age: r.id_number.age_on(today),
        sex: r.id_number.sex(),
        household_id: r.household_id,
        household: household.map(|h| h.number.clone()).unwrap_or_default(),
        address: household.map(|h| h.address.clone()).unwrap_or_default(),
        grid: roster.nodes()[node].name.clone(),
        staff_name: staff.and_then(|id| roster.staff_member(id)).map(|m| m.name.clone()),
        status: s.slot_status(idx),
        sampled_at: sample.and_then(|(_, at, _)| OffsetDateTime::from_unix_timestamp(at).ok()),
        point_id: sample.map(|(p, _, _)| p),
        point: sample.and_then(|(p, _, _)| roster.point(p)).map(|p| p.name.clone()),
        flag: s.flag(Member::Resident(idx as u32)).map(|f| f.state),
    }
}

/// What a search asks for, read from `q`.
#[derive(Debug, PartialEq)]
enum Wanted {
    /// A whole, valid ID number (a wedge scanner reading an ID card's barcode, or typed).
    IdNumber(IdNumber),
    /// Digits (the last may be `X`): the end of an ID number, or a household number's.
    Digits(String),
    /// Anything else: part of a name, or a household number as written.
    Text(String),
}

fn wanted(raw: Option<&str>) -> Result<Wanted, ApiError> {
    let invalid = |message| ApiError::InvalidField { field: "q".into(), message };
    let q = raw.unwrap_or_default().trim();
    if q.is_empty() {
        return Err(invalid(field::lookup_empty()));
    }
    if q.chars().count() > QUERY_MAX {
        return Err(invalid(field::lookup_too_long(QUERY_MAX)));
    }
    let last = q.chars().last().unwrap_or_default();
    let body = &q[..q.len() - last.len_utf8()];
    let digits = body.bytes().all(|b| b.is_ascii_digit()) && (last.is_ascii_digit() || last == 'X' || last == 'x');
    if digits && q.len() == 18 {
        // Eighteen digits are meant as an ID number: a misread one is said so, not searched.
        return IdNumber::parse(q).map(Wanted::IdNumber).map_err(|e| invalid(field::id_number_read(&e)));
    }
    if digits {
        return Ok(Wanted::Digits(q.to_ascii_uppercase()));
    }
    Ok(Wanted::Text(q.to_owned()))
}

/// How well a resident matches, best first; `None` for no match.
fn rank(roster: &Roster, idx: usize, wanted: &Wanted) -> Option<u8> {
    let r = &roster.residents()[idx];
    let number = || roster.household(r.household_id).map(|h| h.number.as_str()).unwrap_or_default();
    match wanted {
        Wanted::IdNumber(_) => None,
        Wanted::Digits(d) => {
            if same_household_number(number(), d) {
                Some(0)
            } else if d.len() >= TAIL_MIN && r.id_number.expose().ends_with(d.as_str()) {
                Some(1)
            } else {
                None
            }
        }
        Wanted::Text(t) => {
            if number().eq_ignore_ascii_case(t) {
                Some(0)
            } else if r.name == *t {
                Some(2)
            } else if r.name.contains(t.as_str()) {
                Some(3)
            } else {
                None
            }
        }
    }
}

/// `12` and `0012` name household `DHS0012`: the digits at the end of its number, as a
/// number, are the same.
fn same_household_number(number: &str, digits: &str) -> bool {
    // ASCII digits are one byte each, and no byte of another character is one.
    let tail = &number[number.len() - number.bytes().rev().take_while(u8::is_ascii_digit).count()..];
    !tail.is_empty() && tail.trim_start_matches('0') == digits.trim_start_matches('0')
}

/// Every resident `wanted` names, with how well, in no order.
fn search(roster: &Roster, wanted: &Wanted) -> Vec<(u8, usize)> {
    match wanted {
        Wanted::IdNumber(n) => {
            roster.resident_by_id_number(n).and_then(|r| roster.resident_idx(r)).map(|i| (0, i)).into_iter().collect()
        }
        // One pass over the roster: a few milliseconds at a million residents, and no index
        // to keep for names (which the village's sheet changes) beside the ID numbers'.
        _ => (0..roster.residents().len()).filter_map(|i| rank(roster, i, wanted).map(|r| (r, i))).collect(),
    }
}

/// Anyone on the roster, by a whole ID number, the last digits of one, a name or a household
/// number: whoever comes to a point is sampled, from this area or another.
#[utoipa::path(get, path = "/api/actions/{id}/lookup", params(("id" = i64, Path), LookupQuery),
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 200, body = LookupAnswer),
        (status = 400, description = "`invalid_field` on `q`: empty, too long, or 18 characters that are not an ID number"),
        (status = 403, description = "`forbidden`: only operators, admins and chiefs work a point's page"),
        (status = 404, description = "`not_found`: no such action, or none the caller has a part in"),
    ))]
#[tracing::instrument(level = "debug", skip_all, fields(action = id))]
pub async fn lookup(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ActionId>,
    ApiQuery(q): ApiQuery<LookupQuery>,
) -> Result<Json<LookupAnswer>, ApiError> {
    caller.require(SCANNERS)?;
    let wanted = wanted(q.q.as_deref())?;
    let cell = action_cell(&state, &caller, id)?;
    // The roster is read without the action's lock: a name searched over a million
    // residents must not hold up the scans being folded meanwhile.
    let roster_searched = cell.state().roster.clone();
    let mut found = search(&roster_searched, &wanted);
    let today = OffsetDateTime::now_utc().to_offset(CHINA).date();
    let s = cell.state();
    let roster = &s.roster;
    if !std::sync::Arc::ptr_eq(roster, &roster_searched) {
        // An import replaced the roster meanwhile: its indexes are not those searched.
        found = search(roster, &wanted);
    }
    // Among equals, the action's own residents first, then roster order.
    found.sort_by_key(|&(rank, idx)| (rank, !s.in_scope(idx), idx));
    let more = found.len() > LOOKUP_MAX;
    let residents = found
        .into_iter()
        .take(LOOKUP_MAX)
        .map(|(_, idx)| Candidate { resident: resident_view(&s, roster, idx, today), in_scope: s.in_scope(idx) })
        .collect();
    Ok(Json(LookupAnswer { seq: s.seq, residents, more }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_is_read_as_an_id_number_digits_or_text() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(wanted(Some(" 11010519491231002x ")).unwrap(), Wanted::IdNumber(id));
        assert_eq!(wanted(Some("002x")).unwrap(), Wanted::Digits("002X".into()));
        assert_eq!(wanted(Some("12")).unwrap(), Wanted::Digits("12".into()));
        assert_eq!(wanted(Some("王")).unwrap(), Wanted::Text("王".into()));
        assert_eq!(wanted(Some("DHS0012")).unwrap(), Wanted::Text("DHS0012".into()));
        for bad in [None, Some(""), Some("   "), Some("110105194912310021"), Some(&"王".repeat(41))] {
            let e = wanted(bad).unwrap_err();
            assert!(matches!(e, ApiError::InvalidField { ref field, .. } if field == "q"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn a_household_is_found_by_the_number_at_the_end_of_its_number() {
        assert!(same_household_number("DHS0012", "12"));
        assert!(same_household_number("大华12", "012"));
        assert!(same_household_number("DHS0012", "0012"));
        assert!(!same_household_number("DHS0112", "12"));
        assert!(!same_household_number("DHS", "12"));
        assert!(same_household_number("3-12", "12"));
        assert!(!same_household_number("DHS0012", "120"));
    }
}
