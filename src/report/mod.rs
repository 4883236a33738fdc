//! The after-action report (复盘): the night in numbers, from the same fold over the same log
//! as the live screen. [`build`] streams an action's log through [`ActionState::apply`] and
//! notes the few facts the live state does not keep (when each exemption was set, how late
//! offline events arrived); everything else — who is accounted for, where and when each was
//! sampled, the chase, the escalations, the handovers, the tubes — is read from the state at
//! the log's end. [`compare`] sets earlier rounds beside it. The renderings are in
//! [`html`] (one self-contained page) and [`sheets`] (XLSX, CSV); JSON is this module's
//! types as they serialize. Reads the store; writes nothing.

pub mod html;
pub mod sheets;

use crate::action::escalation::staff_up;
use crate::action::fold::{ActionState, Status};
use crate::action::{Action, ActionId, Chase, EventBody, ExemptReason, LabResult};
use crate::roster::{NodeId, PointId, ResidentId, Roster, StaffId};
use crate::store::{Store, StoreError};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use time::OffsetDateTime;

/// Events read from the store per page while streaming a log.
const PAGE: i64 = 50_000;
/// An event whose device time is this far before the server received it came in late
/// (queued offline, or resent after a lost answer).
const LATE_SECONDS: i64 = 60;
/// A point that took nobody for longer than this had an idle gap.
const IDLE_MINUTES: i64 = 5;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Roster(#[from] crate::roster::RosterError),
    #[error("action {0} does not exist")]
    UnknownAction(ActionId),
    /// A round to compare with is of another kind, or covers no part of this one's area.
    #[error("action {other} cannot be compared with action {this}: {why}")]
    NotComparable { this: ActionId, other: ActionId, why: &'static str },
}

/// Serialized as RFC 3339 (UTC); the renderings show local time.
type Time = Option<OffsetDateTime>;

#[derive(Debug, Clone, Serialize)]
pub struct AfterAction {
    pub action: Action,
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// What the minutes in this report count from: the first call-up, or the opening where
    /// there was none.
    #[serde(with = "time::serde::rfc3339::option")]
    pub start: Time,
    pub start_is: &'static str,
    pub totals: Totals,
    pub marks: Vec<Mark>,
    pub call_up: Option<CallUpSummary>,
    /// Accounted residents (sampled + exempt) over time: `(unix seconds, accounted)`, one
    /// point per minute in which the count moved.
    pub curve: Vec<(i64, i64)>,
    /// Samples per 10 minutes: `(unix seconds of the window's start, samples)`.
    pub per_10_minutes: Vec<(i64, i64)>,
    pub points: Vec<PointRow>,
    pub areas: Vec<AreaRow>,
    pub members: Vec<MemberRow>,
    /// The chain of command's steps, in time order: households handed to a substitute and
    /// back, areas reported done (层层上报).
    pub chain: Vec<ChainRow>,
    pub missing: Vec<MissingRow>,
    pub offline: Offline,
    pub tubes: TubeSummary,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compare: Vec<Round>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub target: i64,
    pub sampled: i64,
    pub exempt: i64,
    pub accounted: i64,
    pub missing: i64,
    /// Sample events counted (re-samples included), walk-ins' too.
    pub scans: i64,
    pub walk_ins: i64,
    /// Residents from outside the action's scope sampled at its points.
    pub outside: i64,
    pub events: i64,
}

/// One step of the chain of command.
#[derive(Debug, Clone, Serialize)]
pub struct ChainRow {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// `handed` (to a substitute), `handed_back`, or `signed_off`.
    pub what: &'static str,
    pub by: Option<String>,
    /// A handover's: whose households they were, how many, and who covers them now.
    pub from: Vec<String>,
    pub households: usize,
    pub to: Option<String>,
    /// A sign-off's: its area, how many were still missing, and the head's note.
    pub area: Option<String>,
    pub missing: usize,
    pub note: String,
    /// Minutes from the chase's start, and whether a sign-off came within the rule's time.
    pub minutes: Option<f64>,
    pub in_time: Option<bool>,
}

/// One step of the night, with its clock time and minutes from the start; none where the
/// step has no data (no call-up in this action, nobody sampled).
#[derive(Debug, Clone, Serialize)]
pub struct Mark {
    pub key: &'static str,
    #[serde(with = "time::serde::rfc3339::option")]
    pub at: Time,
    pub minutes: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CallUpSummary {
    pub text: String,
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
    pub called: usize,
    pub received: usize,
    pub cannot: usize,
    pub never: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct PointRow {
    pub id: PointId,
    pub name: String,
    pub sampled: i64,
    pub at_home: i64,
    pub walk_ins: i64,
    pub outside: i64,
    /// Samples per hour between its first and last sample.
    pub per_hour: Option<f64>,
    /// The busiest 15 minutes: when they began, and how many were sampled in them.
    #[serde(with = "time::serde::rfc3339::option")]
    pub busiest_from: Time,
    pub busiest_15: i64,
    /// Gaps of more than five minutes with no sample, between the first and the last.
    pub idle_gaps: Vec<Gap>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub first: Time,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last: Time,
    pub tubes: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    pub minutes: i64,
}

/// How the residents still missing when the chase started were resolved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Resolved {
    pub came: i64,
    pub home_visit: i64,
    pub away: i64,
    pub exempt_other: i64,
    pub refused: i64,
    pub unreachable: i64,
    /// Still missing with no such word (not reached, notified, on the way, nobody home).
    pub still_missing: i64,
}

impl Resolved {
    fn add(&mut self, r: Resolution) {
        match r {
            Resolution::Came => self.came += 1,
            Resolution::HomeVisit => self.home_visit += 1,
            Resolution::Away => self.away += 1,
            Resolution::ExemptOther => self.exempt_other += 1,
            Resolution::Refused => self.refused += 1,
            Resolution::Unreachable => self.unreachable += 1,
            Resolution::StillMissing => self.still_missing += 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resolution {
    Came,
    HomeVisit,
    Away,
    ExemptOther,
    Refused,
    Unreachable,
    StillMissing,
}

/// What an area (or a grid member's part) did: its figures and times.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Part {
    pub target: i64,
    pub accounted: i64,
    pub missing: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub at_90: Time,
    #[serde(with = "time::serde::rfc3339::option")]
    pub at_100: Time,
    /// Minutes from the report's start to 90 % and to 100 %.
    pub minutes_90: Option<f64>,
    pub minutes_100: Option<f64>,
    /// Still missing when the chase started, and how each ended.
    pub chased: i64,
    pub resolved: Resolved,
    /// Minutes from the chase's start until each chased resident was accounted for: the
    /// median and the longest.
    pub chase_minutes_median: Option<f64>,
    pub chase_minutes_max: Option<f64>,
    pub escalated: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AreaRow {
    pub node_id: NodeId,
    pub parent: Option<NodeId>,
    /// 0 for the top of the tree.
    pub depth: usize,
    pub name: String,
    pub level: String,
    pub staff: Option<String>,
    #[serde(flatten)]
    pub part: Part,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemberRow {
    pub staff_id: StaffId,
    pub name: String,
    pub households: usize,
    #[serde(flatten)]
    pub part: Part,
    /// Who covered some of their households for the night (substitutes).
    pub covered_by: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MissingRow {
    pub resident_id: ResidentId,
    pub name: String,
    /// Masked: `1101**********123X`.
    pub id_number: String,
    pub household: String,
    pub grid: String,
    pub staff: Option<String>,
    pub chase: Option<Chase>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub chase_at: Time,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Offline {
    pub events: i64,
    /// Arrived more than a minute after they were made.
    pub late: i64,
    pub late_seconds_median: Option<i64>,
    pub late_seconds_max: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TubeSummary {
    pub tubes: usize,
    /// Tubes by size: `{"10": 240, "1": 12}`.
    pub by_size: BTreeMap<u8, usize>,
    pub negative: usize,
    pub positive: usize,
    pub pending: usize,
    pub positives: Vec<PositiveTube>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PositiveTube {
    pub code: String,
    pub point: String,
    pub size: u8,
    pub people: usize,
    /// The households its people belong to (numbers).
    pub households: Vec<String>,
}

/// An earlier round beside this one.
#[derive(Debug, Clone, Serialize)]
pub struct Round {
    pub action_id: ActionId,
    pub name: String,
    pub start_is: &'static str,
    pub totals: Totals,
    pub marks: Vec<Mark>,
    /// Accounted over minutes from its own start: `(minutes, accounted)`.
    pub curve: Vec<(f64, i64)>,
    /// Areas both rounds have, with minutes to 100 % (90 % where neither reached 100 %)
    /// there and here: negative `faster_by` means this round was slower.
    pub areas: Vec<AreaAgainst>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AreaAgainst {
    pub node_id: NodeId,
    pub name: String,
    pub then_minutes: Option<f64>,
    pub now_minutes: Option<f64>,
    pub faster_by: Option<f64>,
}

/// What the log holds that the live state does not keep.
#[derive(Default)]
struct Noted {
    /// When each standing exemption was set (by resident id).
    exempt_at: HashMap<ResidentId, OffsetDateTime>,
    late: Vec<i64>,
    events: i64,
}

impl Noted {
    fn note(&mut self, body: &EventBody, device: OffsetDateTime, server: OffsetDateTime) {
        self.events += 1;
        let late = (server - device).whole_seconds();
        if late > LATE_SECONDS {
            self.late.push(late);
        }
        match body {
            EventBody::ExemptionSet { resident_id, .. } => {
                self.exempt_at.insert(*resident_id, device);
            }
            EventBody::ExemptionCleared { resident_id } => {
                self.exempt_at.remove(resident_id);
            }
            _ => {}
        }
    }
}

/// Folds an action's whole log, page by page, as start-up does.
async fn fold(store: &dyn Store, roster: &Arc<Roster>, id: ActionId) -> Result<(ActionState, Noted), ReportError> {
    let action = store.actions().await?.into_iter().find(|a| a.id == id).ok_or(ReportError::UnknownAction(id))?;
    let named = match roster.parts().removed.is_empty() {
        true => HashSet::new(),
        false => store.named_residents().await?.remove(&id).unwrap_or_default(),
    };
    let mut state = ActionState::with_named(action, roster.clone(), &named);
    let mut noted = Noted::default();
    loop {
        let page = store.read_events(id, state.seq, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for e in &page {
            noted.note(&e.new.body, e.new.device_time, e.new.server_time);
            state.apply(e);
        }
    }
    Ok((state, noted))
}

/// The report of one action, with earlier rounds beside it.
pub async fn build(
    store: &dyn Store,
    id: ActionId,
    compare_with: &[ActionId],
    now: OffsetDateTime,
) -> Result<AfterAction, ReportError> {
    build_part(store, id, compare_with, now, None).await
}

/// [`build`] for a part of the tree (a head's areas, by node id): only its residents,
/// areas and grid members; `None` for the whole action.
pub async fn build_part(
    store: &dyn Store,
    id: ActionId,
    compare_with: &[ActionId],
    now: OffsetDateTime,
    part: Option<&[NodeId]>,
) -> Result<AfterAction, ReportError> {
    let roster = Arc::new(Roster::new(store.load_roster().await?)?);
    let roots: Option<HashSet<usize>> = part.map(|p| p.iter().filter_map(|n| roster.node_idx(*n)).collect());
    let (state, noted) = fold(store, &roster, id).await?;
    let mut report = of_state(&state, &noted, now, roots.as_ref());
    for &other in compare_with {
        let (then, then_noted) = fold(store, &roster, other).await?;
        comparable(&state, &then)?;
        let earlier = of_state(&then, &then_noted, now, roots.as_ref());
        report.compare.push(round_against(&report, &earlier));
    }
    Ok(report)
}

/// Whether an earlier round can stand beside this one: the same kind, over the same or an
/// overlapping area.
fn comparable(this: &ActionState, then: &ActionState) -> Result<(), ReportError> {
    let (a, b) = (&this.action, &then.action);
    let err = |why| Err(ReportError::NotComparable { this: a.id, other: b.id, why });
    if a.id == b.id {
        return err("it is the same action");
    }
    if a.kind != b.kind {
        return err("it is of another kind");
    }
    let roster = &this.roster;
    let tops = |s: &[NodeId]| s.iter().filter_map(|n| roster.node_idx(*n)).collect::<HashSet<usize>>();
    let (mine, theirs) = (tops(&a.scope), tops(&b.scope));
    let overlap = mine.iter().any(|&n| roster.in_subtree_of(n, &theirs))
        || theirs.iter().any(|&n| roster.in_subtree_of(n, &mine));
    if !overlap {
        return err("its area and this one's do not overlap");
    }
    Ok(())
}

fn minutes(start: Time, at: Time) -> Option<f64> {
    Some((at? - start?).as_seconds_f64() / 60.0)
}

fn time_at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The moment the k-th of `target` reached `share` (k = ceil(share × target)), from the
/// sorted times each was accounted for; none if that many never were.
fn reached(sorted: &[i64], target: i64, share: f64) -> Time {
    if target <= 0 {
        return None;
    }
    let k = ((share * target as f64).ceil() as usize).max(1);
    sorted.get(k - 1).map(|&t| time_at(t))
}

fn median(sorted: &[f64]) -> Option<f64> {
    (!sorted.is_empty()).then(|| sorted[sorted.len() / 2])
}

/// The report of a folded action.
fn of_state(s: &ActionState, noted: &Noted, now: OffsetDateTime, part: Option<&HashSet<usize>>) -> AfterAction {
    let roster = &s.roster;
    let n = roster.residents().len();
    // When each resident in scope was accounted for: their first counted sample, or when
    // their standing exemption was set.
    let mut first_sample: Vec<Option<(i64, bool)>> = vec![None; n];
    for (idx, _, at, home) in s.counted_samples() {
        if first_sample[idx].is_none_or(|(t, _)| at < t) {
            first_sample[idx] = Some((at, home));
        }
    }
    let accounted_at = |idx: usize| -> Option<i64> {
        match s.slot_status(idx) {
            Status::Sampled => first_sample[idx].map(|(t, _)| t),
            Status::Exempt => noted.exempt_at.get(&roster.residents()[idx].id).map(|t| t.unix_timestamp()),
            Status::Missing => None,
        }
    };
    let covered = |i: usize| part.is_none_or(|roots| roster.in_subtree_of(roster.resident_node_idx(i), roots));
    let in_scope: Vec<usize> = (0..n).filter(|&i| s.in_scope(i) && covered(i)).collect();
    let mut times: Vec<i64> = in_scope.iter().filter_map(|&i| accounted_at(i)).collect();
    times.sort_unstable();

    let call_up = s.call_ups.first();
    let opened = s.opened_at;
    let (start, start_is) = match (call_up, opened) {
        (Some(c), _) => (Some(c.at), "call_up"),
        (None, Some(o)) => (Some(o), "opened"),
        (None, None) => (None, "none"),
    };
    let target = in_scope.len() as i64;
    let count = |status: Status| in_scope.iter().filter(|&&i| s.slot_status(i) == status).count() as i64;
    let (sampled, exempt) = (count(Status::Sampled), count(Status::Exempt));
    // Samples per minute: the whole action's at its points, or a part's own residents'.
    let timeline: BTreeMap<i64, i64> = match part {
        None => s.timeline.clone(),
        Some(_) => {
            let mut m = BTreeMap::new();
            for (i, _, at, _) in s.counted_samples() {
                if s.in_scope(i) && covered(i) {
                    *m.entry(at.div_euclid(60)).or_insert(0) += 1;
                }
            }
            m
        }
    };
    let first_sample_at = timeline.iter().find(|(_, c)| **c > 0).map(|(m, _)| time_at(m * 60));
    let mut marks = Vec::new();
    let mut mark = |key: &'static str, at: Time| marks.push(Mark { key, at, minutes: minutes(start, at) });
    mark("call_up", call_up.map(|c| c.at));
    if let Some(c) = call_up {
        let mut answered: Vec<i64> = c.answers.values().flatten().map(|r| r.at.unix_timestamp()).collect();
        answered.sort_unstable();
        let called = c.answers.len() as i64;
        mark("ack_50", reached(&answered, called, 0.5));
        mark("ack_90", reached(&answered, called, 0.9));
        mark("ack_100", reached(&answered, called, 1.0));
    } else {
        for key in ["ack_50", "ack_90", "ack_100"] {
            mark(key, None);
        }
    }
    mark("opened", opened);
    mark("first_sample", first_sample_at);
    for (key, share) in [("accounted_50", 0.5), ("accounted_90", 0.9), ("accounted_95", 0.95), ("accounted_99", 0.99)] {
        mark(key, reached(&times, target, share));
    }
    mark("accounted_100", reached(&times, target, 1.0));
    mark("last_found", times.last().map(|&t| time_at(t)));
    mark("closed", s.closed_at);

    let curve = {
        let mut by_minute: BTreeMap<i64, i64> = BTreeMap::new();
        for &t in &times {
            *by_minute.entry(t.div_euclid(60) * 60).or_insert(0) += 1;
        }
        let mut sum = 0;
        by_minute
            .into_iter()
            .map(|(m, c)| {
                sum += c;
                (m, sum)
            })
            .collect()
    };
    let mut per_10: BTreeMap<i64, i64> = BTreeMap::new();
    for (m, c) in &timeline {
        *per_10.entry(m.div_euclid(10) * 600).or_insert(0) += c;
    }
    let per_10_minutes = per_10.into_iter().filter(|(_, c)| *c != 0).collect();

    let points = s.points.iter().map(|(&id, p)| point_row(s, id, p)).collect();

    // The chase: who was still missing when it started, and how each ended.
    let chase_start = s.chase_start(s.closed_at.unwrap_or(now)).map(|t| t.unix_timestamp());
    let resolution = |idx: usize| -> Resolution {
        match s.slot_status(idx) {
            Status::Sampled if first_sample[idx].is_some_and(|(_, home)| home) => Resolution::HomeVisit,
            Status::Sampled => Resolution::Came,
            Status::Exempt if s.exempt_reason(idx) == Some(ExemptReason::Away) => Resolution::Away,
            Status::Exempt => Resolution::ExemptOther,
            Status::Missing => match s.chased(idx).and_then(|c| c.current()).map(|t| t.chase) {
                Some(Chase::Refused) => Resolution::Refused,
                Some(Chase::Unreachable) => Resolution::Unreachable,
                _ => Resolution::StillMissing,
            },
        }
    };
    let escalated: HashSet<usize> = s.escalated_residents().map(|(i, _)| i).collect();
    let part_of = |residents: &mut dyn Iterator<Item = usize>| -> Part {
        let mut part = Part::default();
        let mut at = Vec::new();
        let mut chase_minutes = Vec::new();
        for idx in residents {
            part.target += 1;
            let when = accounted_at(idx);
            if let Some(t) = when {
                part.accounted += 1;
                at.push(t);
            }
            part.escalated += i64::from(escalated.contains(&idx));
            if let Some(c) = chase_start
                && when.is_none_or(|t| t > c)
            {
                part.chased += 1;
                part.resolved.add(resolution(idx));
                if let Some(t) = when {
                    chase_minutes.push((t - c) as f64 / 60.0);
                }
            }
        }
        at.sort_unstable();
        chase_minutes.sort_by(f64::total_cmp);
        part.missing = part.target - part.accounted;
        part.at_90 = reached(&at, part.target, 0.9);
        part.at_100 = reached(&at, part.target, 1.0);
        part.minutes_90 = minutes(start, part.at_90);
        part.minutes_100 = minutes(start, part.at_100);
        part.chase_minutes_median = median(&chase_minutes);
        part.chase_minutes_max = chase_minutes.last().copied();
        part
    };

    // Every area of the tree with someone in scope, parents first.
    let mut under: Vec<Vec<usize>> = vec![Vec::new(); roster.nodes().len()];
    for &i in &in_scope {
        for &a in roster.ancestors(roster.resident_node_idx(i)) {
            under[a].push(i);
        }
    }
    let name_of = |id: StaffId| roster.staff_member(id).map(|m| m.name.clone());
    let areas = (0..roster.nodes().len())
        .filter(|&i| !under[i].is_empty() && part.is_none_or(|roots| roster.in_subtree_of(i, roots)))
        .map(|i| {
            let node = &roster.nodes()[i];
            AreaRow {
                node_id: node.id,
                parent: node.parent,
                depth: roster.ancestors(i).len() - 1,
                name: node.name.clone(),
                level: node.level.clone(),
                staff: node.staff_id.and_then(name_of),
                part: part_of(&mut under[i].iter().copied()),
            }
        })
        .collect();

    // Per grid member, as the roster has them; substitutes are named beside them.
    let mut by_member: BTreeMap<StaffId, Vec<usize>> = BTreeMap::new();
    for &i in &in_scope {
        if let Some(&m) = staff_up(roster, roster.resident_node_idx(i)).first() {
            by_member.entry(m).or_default().push(i);
        }
    }
    let mut covered_by: HashMap<StaffId, BTreeSet<StaffId>> = HashMap::new();
    for h in &s.handovers {
        if let Some(to) = h.to {
            for from in h.from.iter().flatten() {
                if *from != to {
                    covered_by.entry(*from).or_default().insert(to);
                }
            }
        }
    }
    let members = by_member
        .into_iter()
        .map(|(id, residents)| {
            let households: HashSet<i64> = residents.iter().map(|&i| roster.residents()[i].household_id).collect();
            MemberRow {
                staff_id: id,
                name: name_of(id).unwrap_or_default(),
                households: households.len(),
                part: part_of(&mut residents.iter().copied()),
                covered_by: covered_by.get(&id).into_iter().flatten().filter_map(|&s| name_of(s)).collect(),
            }
        })
        .collect();

    let chain = chain_rows(s, part, now);

    let household = |h: i64| roster.household(h).map(|h| h.number.clone()).unwrap_or_default();
    let missing = in_scope
        .iter()
        .filter(|&&i| s.is_missing(i))
        .map(|&i| {
            let r = &roster.residents()[i];
            let current = s.chased(i).and_then(|c| c.current());
            MissingRow {
                resident_id: r.id,
                name: r.name.clone(),
                id_number: r.id_number.masked(),
                household: household(r.household_id),
                grid: roster.nodes()[roster.resident_node_idx(i)].name.clone(),
                staff: s.responsible_staff(i).and_then(name_of),
                chase: current.map(|t| t.chase),
                chase_at: current.map(|t| t.at),
            }
        })
        .collect();

    let mut late = noted.late.clone();
    late.sort_unstable();
    let offline = Offline {
        events: noted.events,
        late: late.len() as i64,
        late_seconds_median: late.get(late.len() / 2).copied().filter(|_| !late.is_empty()),
        late_seconds_max: late.last().copied(),
    };

    let mut tubes = TubeSummary { tubes: s.tubes.len(), ..Default::default() };
    for (t, tube) in s.tubes.iter().enumerate() {
        *tubes.by_size.entry(tube.size).or_insert(0) += 1;
        match tube.result {
            Some(LabResult::Negative) => tubes.negative += 1,
            Some(LabResult::Positive) => {
                tubes.positive += 1;
                let mut households: Vec<String> = s
                    .tube_residents(t as u32)
                    .into_iter()
                    .map(|i| household(roster.residents()[i].household_id))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                households.sort();
                tubes.positives.push(PositiveTube {
                    code: tube.code.clone(),
                    point: roster.point(tube.point).map(|p| p.name.clone()).unwrap_or_default(),
                    size: tube.size,
                    people: tube.members.len(),
                    households,
                });
            }
            None => tubes.pending += 1,
        }
    }

    AfterAction {
        action: s.action.clone(),
        generated_at: now,
        start,
        start_is,
        totals: Totals {
            target,
            sampled,
            exempt,
            accounted: sampled + exempt,
            missing: target - sampled - exempt,
            // A part's own samples; the whole action's are every sample at its points.
            scans: match part {
                None => s.scans,
                Some(_) => s.counted_samples().filter(|(i, ..)| s.in_scope(*i) && covered(*i)).count() as i64,
            },
            walk_ins: if part.is_none() { s.walk_ins.list.len() as i64 } else { 0 },
            outside: if part.is_none() { s.outside } else { 0 },
            events: noted.events,
        },
        marks,
        call_up: call_up.map(|c| {
            let (answered, cannot) = c.answered();
            CallUpSummary {
                text: c.text.clone(),
                sent_at: c.at,
                called: c.answers.len(),
                received: answered - cannot,
                cannot,
                never: c.answers.len() - answered,
            }
        }),
        curve,
        per_10_minutes,
        points,
        areas,
        members,
        chain,
        missing,
        offline,
        tubes,
        compare: Vec::new(),
    }
}

/// The handovers and sign-offs a report shows: of a part, those touching its households or
/// areas.
fn chain_rows(s: &ActionState, part: Option<&HashSet<usize>>, now: OffsetDateTime) -> Vec<ChainRow> {
    let roster = &s.roster;
    let name_of = |id: StaffId| roster.staff_member(id).map(|m| m.name.clone());
    let in_part = |node: usize| part.is_none_or(|roots| roster.in_subtree_of(node, roots));
    let start = s.chase_start(now);
    let minutes = |at: OffsetDateTime| start.map(|t| ((at - t).as_seconds_f64() / 60.0 * 10.0).round() / 10.0);
    let mut rows = Vec::new();
    for h in &s.handovers {
        let touched = h
            .households
            .iter()
            .any(|&id| roster.household(id).and_then(|hh| roster.node_idx(hh.node_id)).is_some_and(in_part));
        if !touched {
            continue;
        }
        let from: BTreeSet<String> =
            h.from.iter().flatten().filter(|&&f| Some(f) != h.to).filter_map(|&f| name_of(f)).collect();
        rows.push(ChainRow {
            at: h.at,
            what: if h.to.is_some() { "handed" } else { "handed_back" },
            by: name_of(h.by),
            from: from.into_iter().collect(),
            households: h.households.len(),
            to: h.to.and_then(name_of),
            area: None,
            missing: 0,
            note: String::new(),
            minutes: minutes(h.at),
            in_time: None,
        });
    }
    for o in &s.sign_offs {
        let Some(node) = roster.node_idx(o.node_id).filter(|&n| in_part(n)) else { continue };
        rows.push(ChainRow {
            at: o.at,
            what: "signed_off",
            by: name_of(o.by),
            from: Vec::new(),
            households: 0,
            to: None,
            area: Some(roster.nodes()[node].name.clone()),
            missing: o.except.len(),
            note: o.note.clone(),
            minutes: minutes(o.at),
            in_time: o.due.map(|d| o.at <= d).or(start.map(|_| true)),
        });
    }
    rows.sort_by_key(|r| r.at);
    rows
}

fn point_row(s: &ActionState, id: PointId, p: &crate::action::fold::PointState) -> PointRow {
    let name = s.roster.point(id).map(|p| p.name.clone()).unwrap_or_else(|| id.to_string());
    let busy: Vec<(i64, i64)> = p.minutes.iter().filter(|(_, c)| **c > 0).map(|(m, c)| (*m, *c)).collect();
    let first = busy.first().map(|(m, _)| time_at(m * 60));
    let last = p.last_scan.or_else(|| busy.last().map(|(m, _)| time_at(m * 60)));
    // The busiest 15 minutes: a window over the minutes, moved along the busy ones.
    let (mut best, mut best_from, mut window, mut lo) = (0, None, 0, 0);
    for hi in 0..busy.len() {
        window += busy[hi].1;
        while busy[hi].0 - busy[lo].0 >= 15 {
            window -= busy[lo].1;
            lo += 1;
        }
        if window > best {
            (best, best_from) = (window, Some(time_at(busy[lo].0 * 60)));
        }
    }
    let idle_gaps = busy
        .windows(2)
        .filter(|w| w[1].0 - w[0].0 - 1 > IDLE_MINUTES)
        .map(|w| Gap { from: time_at((w[0].0 + 1) * 60), minutes: w[1].0 - w[0].0 - 1 })
        .collect();
    let hours = match (first, last) {
        (Some(f), Some(l)) if l > f => Some((l - f).as_seconds_f64() / 3600.0),
        _ => None,
    };
    PointRow {
        id,
        name,
        sampled: p.count,
        at_home: p.at_home,
        walk_ins: p.walk_ins,
        outside: p.outside,
        per_hour: hours.filter(|h| *h >= 1.0 / 60.0).map(|h| p.count as f64 / h),
        busiest_from: best_from,
        busiest_15: best,
        idle_gaps,
        first,
        last,
        tubes: s.tubes.iter().filter(|t| t.point == id && !t.members.is_empty()).count(),
    }
}

/// An earlier round against this one.
fn round_against(now: &AfterAction, then: &AfterAction) -> Round {
    let minutes_of = |r: &AfterAction| -> HashMap<NodeId, Option<f64>> {
        r.areas.iter().map(|a| (a.node_id, a.part.minutes_100.or(a.part.minutes_90))).collect()
    };
    let (now_m, then_m) = (minutes_of(now), minutes_of(then));
    let areas = then
        .areas
        .iter()
        .filter(|a| now_m.contains_key(&a.node_id))
        .map(|a| {
            let (t, n) = (then_m[&a.node_id], now_m[&a.node_id]);
            AreaAgainst {
                node_id: a.node_id,
                name: a.name.clone(),
                then_minutes: t,
                now_minutes: n,
                faster_by: t.zip(n).map(|(t, n)| t - n),
            }
        })
        .collect();
    let start = then.start.map(|t| t.unix_timestamp());
    Round {
        action_id: then.action.id,
        name: then.action.name.clone(),
        start_is: then.start_is,
        totals: then.totals,
        marks: then.marks.clone(),
        curve: then.curve.iter().filter_map(|&(t, c)| Some(((t - start?) as f64 / 60.0, c))).collect(),
        areas,
    }
}

/// The forms the report comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Xlsx,
    Csv,
    Json,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "html" => Some(Format::Html),
            "xlsx" => Some(Format::Xlsx),
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Xlsx => "xlsx",
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Format::Html => "text/html; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
        }
    }

    /// The report in this form, in `lang` (JSON has no words to translate).
    pub fn render(self, r: &AfterAction, lang: crate::messages::Lang) -> Result<Vec<u8>, RenderError> {
        Ok(match self {
            Format::Html => html::page(r, lang).into_bytes(),
            Format::Xlsx => sheets::xlsx(r, lang)?,
            Format::Csv => sheets::csv(r, lang)?,
            Format::Json => serde_json::to_vec_pretty(r)?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error(transparent)]
    Csv(#[from] csv::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}
