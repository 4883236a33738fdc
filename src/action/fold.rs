//! The fold: one pure function, [`ActionState::apply`], turns the log into live state.
//! Start-up rebuilds by applying every stored event in order; the writer applies each
//! committed batch; reports read the same state. No I/O, no clock, no locks here.

use super::callups::{CallUp, Reply};
use super::chain::{Climb, Handover, Rule, SignOff};
use super::chase::{ChaseCounts, ChaseKey, Chased, Tick, Visit};
use super::event::{Chase, Event, EventBody, ExemptReason, LabResult, Overdue, Resolution, TUBE_SIZE};
use super::tubes::{Flag, FlagState, Member, Resolved, Tube, WalkInState, WalkIns};
use super::{Action, Seq};
use crate::roster::{HouseholdId, IdNumber, PointId, ResidentId, Roster, StaffId};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use time::OffsetDateTime;

/// How many recent changes are kept for live deltas. A subscriber further behind than
/// this gets a fresh snapshot instead, which bounds memory whatever the clients do.
pub const CHANGE_LOG: usize = 50_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Planned,
    Open,
    Closed,
}

/// Where a resident in scope stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Missing,
    Sampled,
    Exempt,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Slot {
    in_scope: bool,
    /// Samples recorded and not corrected; a resident sampled twice counts once.
    samples: u16,
    exempt: Option<ExemptReason>,
    /// The latest of those samples, as its place in [`Samples`] plus one (0: none).
    last_sample: u32,
}

impl Slot {
    fn status(self) -> Status {
        if self.samples > 0 {
            Status::Sampled
        } else if self.exempt.is_some() {
            Status::Exempt
        } else {
            Status::Missing
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub target: i64,
    pub sampled: i64,
    pub exempt: i64,
}

impl Counts {
    pub fn missing(&self) -> i64 {
        self.target - self.sampled - self.exempt
    }

    pub(crate) fn shift(&mut self, from: Status, to: Status) {
        self.sampled += i64::from(to == Status::Sampled) - i64::from(from == Status::Sampled);
        self.exempt += i64::from(to == Status::Exempt) - i64::from(from == Status::Exempt);
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PointState {
    /// Sample events recorded here and not corrected (re-samples included).
    pub count: i64,
    pub at_home: i64,
    pub last_scan: Option<OffsetDateTime>,
    /// Samples per minute (unix minute → count), for the recent rates.
    pub minutes: BTreeMap<i64, i64>,
    /// Of `count`: samples of residents from outside the action's scope (非本范围), and of
    /// walk-ins (not on the roster).
    pub outside: i64,
    pub walk_ins: i64,
    /// Tubes open here now.
    pub tubes_open: i64,
    /// About how many wait, as the operator last said, and when.
    pub waiting: Option<(u32, OffsetDateTime)>,
}

/// A sample the fold counted, kept so that a correction naming its position can undo it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SampleRecord {
    point: PointId,
    /// When it was taken (device clock), in unix seconds.
    at: i64,
    /// The resident's roster index, or [`SampleRecord::NONE`] where the position holds no
    /// counted sample (another kind of event, or a sample the fold ignored).
    resident: u32,
    at_home: bool,
    corrected: bool,
    /// A walk-in's sample that became this resident's when the clerk said who they are:
    /// counted at its point as the walk-in's, so it is not a correctable sample here.
    merged: bool,
}

impl SampleRecord {
    const NONE: u32 = u32::MAX;
    const EMPTY: Self = Self { point: 0, at: 0, resident: Self::NONE, at_home: false, corrected: false, merged: false };

    fn minute(&self) -> i64 {
        self.at.div_euclid(60)
    }
}

/// Every sample counted, by position: `records[seq - first]`. Positions have no gaps and
/// nearly every event of a busy action is a sample, so an array holds them at 24 bytes an
/// event (a hash map took about 60, and rehashed as it grew: a tenth of a ten-million
/// event rebuild). Positions before the first sample take no room.
#[derive(Debug, Clone, Default)]
struct Samples {
    first: Seq,
    records: Vec<SampleRecord>,
}

impl Samples {
    /// Records a sample; its place plus one (what [`Slot::last_sample`] holds).
    fn insert(&mut self, seq: Seq, record: SampleRecord) -> u32 {
        if self.records.is_empty() {
            self.first = seq;
        }
        // The fold applies events in log order, so `seq` is past every position held.
        let at = usize::try_from(seq - self.first).unwrap_or(0);
        debug_assert!(at >= self.records.len(), "samples are recorded in log order");
        if at < self.records.len() {
            return 0;
        }
        self.records.resize(at, SampleRecord::EMPTY);
        self.records.push(record);
        self.records.len() as u32
    }

    /// The sample at a place as [`Slot::last_sample`] holds it.
    fn at_place(&self, place: u32) -> Option<&SampleRecord> {
        place.checked_sub(1).and_then(|i| self.records.get(i as usize))
    }

    /// The latest counted sample of a resident before `place`, found by walking back: only
    /// a correction of a resident's latest sample asks, which is rare.
    fn latest_before(&self, resident: u32, place: u32) -> u32 {
        let before = (place as usize).saturating_sub(1).min(self.records.len());
        self.records[..before].iter().rposition(|r| r.resident == resident && !r.corrected).map_or(0, |i| i as u32 + 1)
    }

    fn get(&self, seq: Seq) -> Option<&SampleRecord> {
        let at = usize::try_from(seq.checked_sub(self.first)?).ok()?;
        self.records.get(at).filter(|r| r.resident != SampleRecord::NONE)
    }

    fn get_mut(&mut self, seq: Seq) -> Option<&mut SampleRecord> {
        let at = usize::try_from(seq.checked_sub(self.first)?).ok()?;
        self.records.get_mut(at).filter(|r| r.resident != SampleRecord::NONE)
    }
}

/// What one event changed, kept in a bounded ring so live deltas can be computed for any
/// subscriber position that is recent enough.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change {
    pub seq: Seq,
    /// A resident (by roster index) whose status moved.
    pub resident: Option<(u32, Status, Status)>,
    pub point: Option<PointChange>,
    /// Residents whose chase moved (a tick, a visit taken, an exemption for being away).
    pub chased: ChaseMoved,
}

/// Whose chase an event moved: nobody, one resident (by roster index), or each resident of
/// a household (by id).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ChaseMoved {
    Nobody,
    Resident(u32),
    Household(i64),
    /// Everyone in a tube (by its place in [`ActionState::tubes`]): its result moved their flags.
    Tube(u32),
}

/// Whose sample a point took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleOf {
    /// A resident in the action's scope.
    InScope,
    /// A resident on the roster from outside the action's scope: sampled, never refused,
    /// counted apart at the point and not in any target.
    Outside,
    /// Someone not on the roster.
    WalkIn,
}

/// A sample counted (`by` = 1) or corrected away (`by` = -1) at a point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointChange {
    pub point: PointId,
    /// The sampled resident's roster index (none for a walk-in): the sample counts in every
    /// area above them.
    pub resident: Option<u32>,
    pub of: SampleOf,
    /// The unix minute the sample was taken in.
    pub minute: i64,
    pub by: i64,
    pub at_home: bool,
}

/// Live state of one action: a fold of its log.
#[derive(Debug, Clone)]
pub struct ActionState {
    pub action: Action,
    pub roster: Arc<Roster>,
    /// The last event applied; 0 before any.
    pub seq: Seq,
    pub phase: Phase,
    pub opened_at: Option<OffsetDateTime>,
    pub closed_at: Option<OffsetDateTime>,
    /// The latest device time seen: the fold's "now", so rates need no clock.
    pub clock: Option<OffsetDateTime>,
    pub totals: Counts,
    /// Sample events recorded and not corrected, re-samples included.
    pub scans: i64,
    /// Per area node, by roster index.
    pub nodes: Vec<Counts>,
    pub points: BTreeMap<PointId, PointState>,
    /// Missing residents per responsible staff member.
    pub staff_missing: BTreeMap<StaffId, i64>,
    /// The missing by chase status, over the whole action and per area node (by index).
    pub chase: ChaseCounts,
    pub node_chase: Vec<ChaseCounts>,
    /// Each resident's chase, by roster index: only the few that were ticked.
    chased: HashMap<u32, Chased>,
    /// How long a home-visit request may wait for a medic before it is late.
    pub visit_minutes: u32,
    /// Samples per minute (unix minute → count) over the whole action.
    pub timeline: BTreeMap<i64, i64>,
    /// Samples per minute of the residents under each area node, by roster index: a part's
    /// scans, rates, ETA and curve are its own, not the action's (and not a zero).
    pub node_minutes: Vec<BTreeMap<i64, i64>>,
    /// Residents from outside the scope sampled here (each once), counted apart.
    pub outside: i64,
    pub walk_ins: WalkIns,
    /// Every tube opened, in log order; `tube_index` finds one by its code.
    pub tubes: Vec<Tube>,
    tube_index: HashMap<String, u32>,
    /// The open tube each person is in: nobody is in two.
    open_tube: HashMap<Member, u32>,
    /// The tube each sample into a tube went into, by position: a correction takes the
    /// person out again.
    sample_tube: HashMap<Seq, u32>,
    /// The size of tubes opened without one.
    pub tube_size: u8,
    /// Who a lab result flagged, and where that stands.
    flags: HashMap<Member, Flag>,
    /// Every call-up sent in this action, in log order, with each one's answers.
    pub call_ups: Vec<CallUp>,
    /// How long each level has before what is overdue climbs, and when the chase began.
    pub escalation: Rule,
    pub chase_started: Option<OffsetDateTime>,
    /// Residents (by roster index) escalated and how far: only those it happened to. An
    /// escalation stands while the resident is missing.
    escalated: HashMap<u32, Climb>,
    /// Per area node (by index), and in all: missing residents with an escalation standing.
    pub node_escalated: Vec<i64>,
    pub escalated_now: i64,
    /// Households handed to a substitute for this action, and every handover in log order.
    handed: HashMap<HouseholdId, StaffId>,
    pub handovers: Vec<Handover>,
    /// Every sign-off in log order (a head may sign again: the latest stands).
    pub sign_offs: Vec<SignOff>,
    /// The position at which this state was folded again against a new roster (an
    /// import). Targets may differ from before it, which deltas cannot say (they carry
    /// no target), so a subscriber at or before it gets a fresh snapshot instead.
    rebased: Option<Seq>,
    slots: Vec<Slot>,
    resident_staff: Vec<Option<StaffId>>,
    samples: Samples,
    changes: VecDeque<Change>,
}

impl ActionState {
    /// The state of an action before any event: everyone in scope is missing.
    pub fn new(action: Action, roster: Arc<Roster>) -> Self {
        Self::with_named(action, roster, &HashSet::new())
    }

    /// The state before any event of an action whose log names `named`. A resident
    /// removed from the roster counts in this action only if its log names them: their
    /// sample or exemption stays counted (and a correction can still undo it), while the
    /// removed with no record here leave its target, and new actions never include them.
    /// Which residents those are is fixed by the log, so a re-fold gives the same state.
    pub fn with_named(action: Action, roster: Arc<Roster>, named: &HashSet<ResidentId>) -> Self {
        let scope: HashSet<usize> = action.scope.iter().filter_map(|n| roster.node_idx(*n)).collect();
        let mut nodes = vec![Counts::default(); roster.nodes().len()];
        let mut slots = vec![Slot::default(); roster.residents().len()];
        let mut resident_staff = vec![None; roster.residents().len()];
        let mut staff_missing = BTreeMap::new();
        let mut totals = Counts::default();
        for (i, slot) in slots.iter_mut().enumerate() {
            let node = roster.resident_node_idx(i);
            let id = roster.residents()[i].id;
            if !roster.in_subtree_of(node, &scope) || (roster.is_removed(id) && !named.contains(&id)) {
                continue;
            }
            slot.in_scope = true;
            totals.target += 1;
            for &a in roster.ancestors(node) {
                nodes[a].target += 1;
            }
            let staff = roster_staff(&roster, i);
            resident_staff[i] = staff;
            if let Some(s) = staff {
                *staff_missing.entry(s).or_insert(0) += 1;
            }
        }
        let points = action.points.iter().map(|p| (*p, PointState::default())).collect();
        let roster_nodes = roster.nodes().len();
        Self {
            action,
            roster,
            seq: 0,
            phase: Phase::Planned,
            opened_at: None,
            closed_at: None,
            clock: None,
            totals,
            scans: 0,
            nodes,
            points,
            staff_missing,
            chase: ChaseCounts::default(),
            node_chase: vec![ChaseCounts::default(); roster_nodes],
            chased: HashMap::new(),
            visit_minutes: super::event::VISIT_MINUTES,
            timeline: BTreeMap::new(),
            node_minutes: vec![BTreeMap::new(); roster_nodes],
            outside: 0,
            walk_ins: WalkIns::default(),
            tubes: Vec::new(),
            tube_index: HashMap::new(),
            open_tube: HashMap::new(),
            sample_tube: HashMap::new(),
            tube_size: TUBE_SIZE,
            flags: HashMap::new(),
            call_ups: Vec::new(),
            escalation: Rule::default(),
            chase_started: None,
            escalated: HashMap::new(),
            node_escalated: vec![0; roster_nodes],
            escalated_now: 0,
            handed: HashMap::new(),
            handovers: Vec::new(),
            sign_offs: Vec::new(),
            rebased: None,
            slots,
            resident_staff,
            samples: Samples::default(),
            changes: VecDeque::new(),
        }
    }

    /// Applies one event. Events that the rules would have refused change nothing but
    /// the position, so a fold of any log is total.
    pub fn apply(&mut self, event: &Event) {
        let e = &event.new;
        self.seq = event.seq;
        self.clock = Some(self.clock.map_or(e.device_time, |c| c.max(e.device_time)));
        let minute = e.device_time.unix_timestamp().div_euclid(60);
        let mut change = Change { seq: event.seq, resident: None, point: None, chased: ChaseMoved::Nobody };
        let tick = |chase: Chase, note: &str| Tick {
            chase,
            at: e.device_time,
            seq: event.seq,
            by: e.actor,
            note: note.to_owned(),
        };
        match &e.body {
            EventBody::ActionOpened => {
                if self.phase == Phase::Planned {
                    self.phase = Phase::Open;
                    self.opened_at = Some(e.device_time);
                }
            }
            EventBody::ActionClosed => {
                if self.phase != Phase::Closed {
                    self.phase = Phase::Closed;
                    self.closed_at = Some(e.device_time);
                }
            }
            EventBody::ResidentSampled { resident_id, point_id, at_home, tube } => {
                if let Some(idx) = self.roster.resident_idx(*resident_id).filter(|_| self.points.contains_key(point_id))
                {
                    let record = SampleRecord {
                        resident: idx as u32,
                        point: *point_id,
                        at: e.device_time.unix_timestamp(),
                        at_home: *at_home,
                        corrected: false,
                        merged: false,
                    };
                    let place = self.samples.insert(event.seq, record);
                    let of = if self.slots[idx].in_scope { SampleOf::InScope } else { SampleOf::Outside };
                    if of == SampleOf::Outside && self.slots[idx].samples == 0 {
                        self.outside += 1;
                    }
                    change.resident = self.update(idx, |s| {
                        let slot = &mut s.slots[idx];
                        slot.samples = slot.samples.saturating_add(1);
                        slot.last_sample = place;
                    });
                    let sample = PointChange {
                        point: *point_id,
                        resident: Some(idx as u32),
                        of,
                        minute,
                        by: 1,
                        at_home: *at_home,
                    };
                    self.count_sample(sample, e.device_time);
                    change.point = Some(sample);
                    if let Some(code) = tube {
                        self.put_in_tube(code, Member::Resident(idx as u32), event.seq);
                    }
                }
            }
            EventBody::WalkInSampled { walk_in, point_id, tube } => {
                let key = IdNumber::parse(&walk_in.id_number).ok().map(|n| n.key());
                if let Some(key) = key.filter(|_| self.points.contains_key(point_id)) {
                    let i = match self.walk_ins.by_key(key) {
                        Some(i) => i,
                        None => self.walk_ins.add(
                            key,
                            WalkInState {
                                seq: event.seq,
                                who: walk_in.clone(),
                                point: *point_id,
                                at: e.device_time,
                                samples: 0,
                                resolved: None,
                            },
                        ),
                    };
                    let w = &mut self.walk_ins.list[i as usize];
                    w.samples = w.samples.saturating_add(1);
                    let sample = PointChange {
                        point: *point_id,
                        resident: None,
                        of: SampleOf::WalkIn,
                        minute,
                        by: 1,
                        at_home: false,
                    };
                    self.count_sample(sample, e.device_time);
                    change.point = Some(sample);
                    if let Some(code) = tube {
                        self.put_in_tube(code, Member::WalkIn(i), event.seq);
                    }
                }
            }
            EventBody::WalkInResolved { walk_in_seq, resolution, resident_id, .. } => {
                if let Some(i) =
                    self.walk_ins.by_seq(*walk_in_seq).filter(|&i| self.walk_ins.list[i as usize].resolved.is_none())
                {
                    let target = resident_id.and_then(|r| self.roster.resident_idx(r));
                    let resident = match (resolution, target) {
                        (Resolution::Rejected, _) => None,
                        (_, Some(idx)) => Some(idx),
                        (_, None) => return self.finish(change),
                    };
                    let w = &mut self.walk_ins.list[i as usize];
                    w.resolved = Some(Resolved { resolution: *resolution, resident: *resident_id, seq: event.seq });
                    let (point, at, samples) = (w.point, w.at, w.samples);
                    if let Some(idx) = resident {
                        // One person, one sample: the walk-in's samples are the resident's now,
                        // still counted at the point where they were taken (as a walk-in's).
                        let record = SampleRecord {
                            resident: idx as u32,
                            point,
                            at: at.unix_timestamp(),
                            at_home: false,
                            corrected: false,
                            merged: true,
                        };
                        let place = self.samples.insert(event.seq, record);
                        if !self.slots[idx].in_scope && self.slots[idx].samples == 0 {
                            self.outside += 1;
                        }
                        change.resident = self.update(idx, |s| {
                            let slot = &mut s.slots[idx];
                            slot.samples = slot.samples.saturating_add(samples);
                            slot.last_sample = place;
                        });
                        for (m, _) in self.tubes.iter_mut().flat_map(|t| t.members.iter_mut()) {
                            if *m == Member::WalkIn(i) {
                                *m = Member::Resident(idx as u32);
                            }
                        }
                        if let Some(t) = self.open_tube.remove(&Member::WalkIn(i)) {
                            self.open_tube.insert(Member::Resident(idx as u32), t);
                        }
                        if let Some(flag) = self.flags.remove(&Member::WalkIn(i)) {
                            self.flags.insert(Member::Resident(idx as u32), flag);
                            change.chased = ChaseMoved::Resident(idx as u32);
                        }
                    }
                }
            }
            EventBody::TubeOpened { tube, point_id, size } => {
                let size = size.unwrap_or(self.tube_size);
                if !self.tube_index.contains_key(tube.as_str())
                    && self.points.contains_key(point_id)
                    && super::event::TUBE_SIZES.contains(&size)
                {
                    self.tube_index.insert(tube.clone(), self.tubes.len() as u32);
                    self.tubes.push(Tube {
                        code: tube.clone(),
                        point: *point_id,
                        size,
                        opened_at: e.device_time,
                        members: Vec::new(),
                        closed: false,
                        result: None,
                    });
                    self.points.entry(*point_id).or_default().tubes_open += 1;
                }
            }
            EventBody::TubeClosed { tube } => {
                if let Some(t) = self.tube(tube) {
                    self.close_tube(t);
                }
            }
            EventBody::TubeSizeSet { size } => {
                if super::event::TUBE_SIZES.contains(size) {
                    self.tube_size = *size;
                }
            }
            EventBody::TubeResult { tube, result } => {
                if let Some(t) = self.tube(tube).filter(|&t| self.tubes[t as usize].result.is_none()) {
                    self.close_tube(t);
                    let tube = &mut self.tubes[t as usize];
                    tube.result = Some(*result);
                    let single = tube.is_single();
                    for (m, _) in tube.members.clone() {
                        let now = self.flags.get(&m).map(|f| f.state);
                        let next = match (result, single, now) {
                            (LabResult::Positive, true, _) => Some(FlagState::Confirmed),
                            (LabResult::Positive, false, Some(FlagState::Confirmed)) => None,
                            (LabResult::Positive, false, _) => Some(FlagState::Retest),
                            (LabResult::Negative, true, Some(FlagState::Retest)) => Some(FlagState::Cleared),
                            (LabResult::Negative, _, _) => None,
                        };
                        if let Some(state) = next {
                            self.flags.insert(m, Flag { state, tube: t, at: e.device_time });
                        }
                    }
                    change.chased = ChaseMoved::Tube(t);
                }
            }
            EventBody::CallUpSent { text, place, nodes, roles } => {
                if self.phase != Phase::Closed {
                    let called = super::callups::recipients(&self.roster, nodes, roles, e.actor);
                    self.call_ups.push(CallUp {
                        seq: event.seq,
                        by: e.actor,
                        at: e.device_time,
                        text: text.clone(),
                        place: place.clone(),
                        nodes: nodes.clone(),
                        roles: roles.clone(),
                        answers: called.into_iter().map(|s| (s, None)).collect(),
                        escalated: BTreeMap::new(),
                    });
                }
            }
            EventBody::CallUpAnswered { call_up_seq, answer, reason } => {
                let reply = Reply { answer: *answer, reason: reason.clone(), at: e.device_time, seq: event.seq };
                if let Some(slot) = self.call_up_mut(*call_up_seq).and_then(|c| c.answers.get_mut(&e.actor)) {
                    // The latest answer by the phone's clock stands, whatever order they came in.
                    if slot.as_ref().is_none_or(|was| (was.at, was.seq) <= (reply.at, reply.seq)) {
                        *slot = Some(reply);
                    }
                }
            }
            EventBody::EscalationSet { minutes, call_up_minutes, chase_at } => {
                self.escalation = Rule {
                    minutes: (*minutes).clamp(1, 1440),
                    call_up_minutes: (*call_up_minutes).clamp(1, 1440),
                    chase_at: *chase_at,
                };
            }
            EventBody::ChaseStarted => {
                if self.phase == Phase::Open && self.chase_started.is_none() {
                    self.chase_started = Some(e.device_time);
                }
            }
            EventBody::Escalated { about, level } => {
                let climb = Climb { level: *level, at: e.device_time, seq: event.seq };
                match *about {
                    Overdue::Resident { resident_id } => {
                        if let Some(idx) = self.scoped(resident_id).filter(|&i| self.is_missing(i))
                            && self.escalated.get(&(idx as u32)).is_none_or(|c| c.level < *level)
                        {
                            if self.escalated.insert(idx as u32, climb).is_none() {
                                self.escalated_now += 1;
                                for &a in self.roster.ancestors(self.roster.resident_node_idx(idx)) {
                                    self.node_escalated[a] += 1;
                                }
                            }
                            change.chased = ChaseMoved::Resident(idx as u32);
                        }
                    }
                    Overdue::CallUp { call_up_seq, staff_id } => {
                        if let Some(c) = self.call_up_mut(call_up_seq)
                            && c.answers.get(&staff_id).is_some_and(Option::is_none)
                            && c.escalated.get(&staff_id).is_none_or(|was| was.level < *level)
                        {
                            c.escalated.insert(staff_id, climb);
                        }
                    }
                }
            }
            EventBody::HouseholdsHanded { households, to } => {
                if self.phase != Phase::Closed {
                    let mut from = Vec::with_capacity(households.len());
                    for &h in households {
                        let residents = self.household_residents(h);
                        from.push(residents.first().and_then(|&i| self.resident_staff[i]));
                        if residents.is_empty() {
                            continue;
                        }
                        match to {
                            Some(to) => self.handed.insert(h, *to),
                            None => self.handed.remove(&h),
                        };
                        for idx in residents {
                            let new = to.or_else(|| roster_staff(&self.roster, idx));
                            let old = std::mem::replace(&mut self.resident_staff[idx], new);
                            if self.slots[idx].status() == Status::Missing && old != new {
                                if let Some(o) = old {
                                    *self.staff_missing.entry(o).or_insert(0) -= 1;
                                }
                                if let Some(n) = new {
                                    *self.staff_missing.entry(n).or_insert(0) += 1;
                                }
                            }
                        }
                    }
                    // Deltas name each moved resident's staff as they are now, which is
                    // not what they were before this: a subscriber from before it starts
                    // again from a snapshot (handovers are a few a night).
                    self.mark_rebased();
                    self.handovers.push(Handover {
                        seq: event.seq,
                        by: e.actor,
                        at: e.device_time,
                        households: households.clone(),
                        to: *to,
                        from,
                    });
                }
            }
            EventBody::AreaSignedOff { node_id, note } => {
                if let Some(node) = self.roster.node_idx(*node_id).filter(|_| self.phase == Phase::Open) {
                    let top = HashSet::from([node]);
                    let mut except = Vec::new();
                    for n in (0..self.roster.nodes().len()).filter(|&n| self.roster.in_subtree_of(n, &top)) {
                        for &i in self.roster.residents_at(n) {
                            if self.is_missing(i as usize) {
                                let chase = self.chased.get(&i).and_then(|c| c.current()).map(|t| t.chase);
                                except.push((i, chase));
                            }
                        }
                    }
                    except.sort_unstable_by_key(|(i, _)| *i);
                    self.sign_offs.push(SignOff {
                        seq: event.seq,
                        node_id: *node_id,
                        by: e.actor,
                        at: e.device_time,
                        note: note.clone(),
                        due: self
                            .chase_start(e.device_time)
                            .map(|t| t + time::Duration::minutes(i64::from(self.escalation.minutes))),
                        except,
                    });
                }
            }
            EventBody::QueueReported { point_id, waiting } => {
                if let Some(p) = self.points.get_mut(point_id) {
                    p.waiting = Some((*waiting, e.device_time));
                }
            }
            EventBody::ExemptionSet { resident_id, reason, note } => {
                if let Some(idx) = self.scoped(*resident_id) {
                    change.resident = self.update(idx, |s| {
                        s.slots[idx].exempt = Some(*reason);
                        if *reason == ExemptReason::Away {
                            s.chased.entry(idx as u32).or_default().history.push(tick(Chase::Away, note));
                        }
                    });
                    if *reason == ExemptReason::Away {
                        change.chased = ChaseMoved::Resident(idx as u32);
                    }
                }
            }
            EventBody::ExemptionCleared { resident_id } => {
                if let Some(idx) = self.scoped(*resident_id) {
                    change.resident = self.update(idx, |s| s.slots[idx].exempt = None);
                }
            }
            EventBody::Correction { target_seq, .. } => {
                if let Some(rec) = self.samples.get_mut(*target_seq).filter(|r| !r.corrected) {
                    rec.corrected = true;
                    let rec = *rec;
                    let place = u32::try_from(target_seq - self.samples.first + 1).unwrap_or(0);
                    let idx = rec.resident as usize;
                    let of = if self.slots[idx].in_scope { SampleOf::InScope } else { SampleOf::Outside };
                    change.resident = self.update(idx, |s| {
                        let slot = &mut s.slots[idx];
                        slot.samples -= 1;
                        if slot.last_sample == place {
                            slot.last_sample = s.samples.latest_before(rec.resident, place);
                        }
                    });
                    if of == SampleOf::Outside && self.slots[idx].samples == 0 {
                        self.outside -= 1;
                    }
                    // A person sampled into a tube by mistake is taken out of it again, while the
                    // lab has not answered for it.
                    if let Some(t) = self.sample_tube.remove(target_seq) {
                        let tube = &mut self.tubes[t as usize];
                        if tube.result.is_none() {
                            tube.members.retain(|(_, seq)| seq != target_seq);
                            if self.open_tube.get(&Member::Resident(rec.resident)) == Some(&t) {
                                self.open_tube.remove(&Member::Resident(rec.resident));
                            }
                        }
                    }
                    let undone = PointChange {
                        point: rec.point,
                        resident: Some(rec.resident),
                        of,
                        minute: rec.minute(),
                        by: -1,
                        at_home: rec.at_home,
                    };
                    self.count_sample(undone, e.device_time);
                    change.point = Some(undone);
                }
            }
            EventBody::ResidentTicked { resident_id, chase, note } => {
                if let Some(idx) = self.scoped(*resident_id).filter(|_| *chase != Chase::Away) {
                    self.update(idx, |s| s.chased.entry(idx as u32).or_default().history.push(tick(*chase, note)));
                    change.chased = ChaseMoved::Resident(idx as u32);
                }
            }
            EventBody::HouseholdTicked { household_id, chase, note } => {
                let residents = self.household_residents(*household_id);
                if *chase != Chase::Away && !residents.is_empty() {
                    for idx in residents {
                        self.update(idx, |s| s.chased.entry(idx as u32).or_default().history.push(tick(*chase, note)));
                    }
                    change.chased = ChaseMoved::Household(*household_id);
                }
            }
            EventBody::VisitWaitSet { minutes } => self.visit_minutes = (*minutes).clamp(1, 1440),
            EventBody::VisitTaken { resident_id } => {
                if let Some(idx) = self.scoped(*resident_id).filter(|&i| self.visit_pending(i)) {
                    let visit = Visit { by: e.actor, at: e.device_time };
                    self.update(idx, |s| s.chased.entry(idx as u32).or_default().visit = Some(visit));
                    change.chased = ChaseMoved::Resident(idx as u32);
                }
            }
        }
        self.finish(change);
    }

    /// Keeps what an event changed for live deltas.
    fn finish(&mut self, mut change: Change) {
        // A chased resident who is sampled (or whose sample is undone) leaves (or rejoins)
        // the chase counts: their chase moved too.
        if let (ChaseMoved::Nobody, Some((idx, _, _))) = (change.chased, change.resident)
            && self.chased.contains_key(&idx)
        {
            change.chased = ChaseMoved::Resident(idx);
        }
        if self.changes.len() == CHANGE_LOG {
            self.changes.pop_front();
        }
        self.changes.push_back(change);
    }

    /// The call-up sent at `seq`.
    pub fn call_up(&self, seq: Seq) -> Option<&CallUp> {
        let i = self.call_ups.binary_search_by_key(&seq, |c| c.seq).ok()?;
        self.call_ups.get(i)
    }

    fn call_up_mut(&mut self, seq: Seq) -> Option<&mut CallUp> {
        let i = self.call_ups.binary_search_by_key(&seq, |c| c.seq).ok()?;
        self.call_ups.get_mut(i)
    }

    /// A tube's place in [`Self::tubes`], by its code.
    pub fn tube(&self, code: &str) -> Option<u32> {
        self.tube_index.get(code).copied()
    }

    /// Puts a sampled person into an open tube, closing it when full. The rules let only
    /// samples into an open tube of the same point with room through; the fold checks
    /// again, so a log that holds anything else still folds.
    fn put_in_tube(&mut self, code: &str, member: Member, seq: Seq) {
        let Some(t) = self.tube(code) else { return };
        let tube = &mut self.tubes[t as usize];
        if tube.closed || tube.is_full() || self.open_tube.contains_key(&member) {
            return;
        }
        tube.members.push((member, seq));
        self.open_tube.insert(member, t);
        self.sample_tube.insert(seq, t);
        if self.tubes[t as usize].is_full() {
            self.close_tube(t);
        }
    }

    fn close_tube(&mut self, t: u32) {
        let tube = &mut self.tubes[t as usize];
        if tube.closed {
            return;
        }
        tube.closed = true;
        for (m, _) in &tube.members {
            self.open_tube.remove(m);
        }
        if let Some(p) = self.points.get_mut(&tube.point) {
            p.tubes_open -= 1;
        }
    }

    /// The open tube a person is in.
    pub fn open_tube_of(&self, member: Member) -> Option<u32> {
        self.open_tube.get(&member).copied()
    }

    /// A person's flag from a lab result, if any.
    pub fn flag(&self, member: Member) -> Option<&Flag> {
        self.flags.get(&member)
    }

    /// Everyone a result flagged (cleared included), in no order.
    pub fn flags(&self) -> impl Iterator<Item = (Member, &Flag)> + '_ {
        self.flags.iter().map(|(m, f)| (*m, f))
    }

    /// Whether a resident (by roster index) must still be found and kept apart.
    pub fn is_flagged(&self, idx: usize) -> bool {
        self.flags.get(&Member::Resident(idx as u32)).is_some_and(|f| f.state.is_raised())
    }

    /// The roster indexes of the residents in a tube.
    pub fn tube_residents(&self, t: u32) -> Vec<usize> {
        let members = self.tubes.get(t as usize).map_or(&[][..], |t| &t.members[..]);
        members
            .iter()
            .filter_map(|(m, _)| match m {
                Member::Resident(i) => Some(*i as usize),
                Member::WalkIn(_) => None,
            })
            .collect()
    }

    /// Roster indexes of a household's residents in this action's scope.
    pub fn household_residents(&self, household_id: i64) -> Vec<usize> {
        let Some(h) = self.roster.household(household_id) else { return Vec::new() };
        let Some(node) = self.roster.node_idx(h.node_id) else { return Vec::new() };
        self.roster
            .residents_at(node)
            .iter()
            .map(|&i| i as usize)
            .filter(|&i| self.roster.residents()[i].household_id == household_id && self.slots[i].in_scope)
            .collect()
    }

    /// A missing resident's chase as counted, or `None` when not missing or not reached.
    fn chase_key(&self, idx: usize) -> Option<ChaseKey> {
        if self.slots[idx].status() != Status::Missing {
            return None;
        }
        let chased = self.chased.get(&(idx as u32))?;
        let current = chased.current()?;
        Some(ChaseKey { chase: current.chase, taken: current.chase == Chase::Bedridden && chased.visit.is_some() })
    }

    /// Whether a resident is missing, bedridden by their latest tick, and no medic has taken
    /// the visit yet: a home-visit request waiting.
    pub fn visit_pending(&self, idx: usize) -> bool {
        self.chase_key(idx) == Some(ChaseKey { chase: Chase::Bedridden, taken: false })
    }

    /// Home-visit requests still waiting for a medic longer than [`Self::visit_minutes`] at
    /// the state's clock, of the residents `covered` keeps.
    pub fn visits_late(&self, covered: impl Fn(usize) -> bool) -> i64 {
        let Some(now) = self.clock else { return 0 };
        let wait = time::Duration::minutes(i64::from(self.visit_minutes));
        let late = |idx: usize| {
            self.visit_pending(idx) && self.chased(idx).and_then(|c| c.current()).is_some_and(|t| t.at + wait < now)
        };
        self.chased.keys().map(|&i| i as usize).filter(|&i| covered(i) && late(i)).count() as i64
    }

    /// When a resident's home visit was asked for: they are missing and their latest tick
    /// says bedridden (taken by a medic or not).
    pub fn visit_requested_at(&self, idx: usize) -> Option<OffsetDateTime> {
        let current = self.chased(idx)?.current()?;
        (self.slots[idx].status() == Status::Missing && current.chase == Chase::Bedridden).then_some(current.at)
    }

    /// A resident's chase, if anyone ticked them.
    pub fn chased(&self, idx: usize) -> Option<&Chased> {
        self.chased.get(&(idx as u32))
    }

    /// Residents with a chase, by roster index (in no order).
    pub fn chased_residents(&self) -> impl Iterator<Item = usize> + '_ {
        self.chased.keys().map(|&i| i as usize)
    }

    /// Every counted sample of a resident (not undone), in log order: the resident's roster
    /// index, the point, when (unix seconds, device clock), at home. For the report.
    pub fn counted_samples(&self) -> impl Iterator<Item = (usize, PointId, i64, bool)> + '_ {
        self.samples
            .records
            .iter()
            .filter(|r| r.resident != SampleRecord::NONE && !r.corrected)
            .map(|r| (r.resident as usize, r.point, r.at, r.at_home))
    }

    /// A resident's latest counted sample: where (point), when (unix seconds), at home.
    pub fn last_sample(&self, idx: usize) -> Option<(PointId, i64, bool)> {
        let slot = self.slots.get(idx)?;
        self.samples.at_place(slot.last_sample).map(|r| (r.point, r.at, r.at_home))
    }

    /// An exempt resident's reason.
    pub fn exempt_reason(&self, idx: usize) -> Option<ExemptReason> {
        self.slots.get(idx).and_then(|s| s.exempt)
    }

    fn scoped(&self, resident_id: i64) -> Option<usize> {
        self.roster.resident_idx(resident_id).filter(|&i| self.slots[i].in_scope)
    }

    /// Changes one resident through `f` and moves every count their status or chase is in.
    /// A resident from outside the scope counts in none of them: only `f` applies.
    fn update(&mut self, idx: usize, f: impl FnOnce(&mut Self)) -> Option<(u32, Status, Status)> {
        if !self.slots[idx].in_scope {
            f(self);
            return None;
        }
        let (from, chase_from) = (self.slots[idx].status(), self.chase_key(idx));
        f(self);
        let (to, chase_to) = (self.slots[idx].status(), self.chase_key(idx));
        let node = self.roster.resident_node_idx(idx);
        if chase_from != chase_to {
            self.chase.shift(chase_from, chase_to);
            for &a in self.roster.ancestors(node) {
                self.node_chase[a].shift(chase_from, chase_to);
            }
        }
        if from == to {
            return None;
        }
        if self.escalated.contains_key(&(idx as u32)) {
            let by = i64::from(to == Status::Missing) - i64::from(from == Status::Missing);
            self.escalated_now += by;
            for &a in self.roster.ancestors(node) {
                self.node_escalated[a] += by;
            }
        }
        self.totals.shift(from, to);
        for &a in self.roster.ancestors(node) {
            self.nodes[a].shift(from, to);
        }
        if let Some(staff) = self.resident_staff[idx] {
            *self.staff_missing.entry(staff).or_insert(0) +=
                i64::from(to == Status::Missing) - i64::from(from == Status::Missing);
        }
        Some((idx as u32, from, to))
    }

    fn count_sample(&mut self, sample: PointChange, at: OffsetDateTime) {
        let PointChange { point, resident, of, minute, by, at_home } = sample;
        self.scans += by;
        *self.timeline.entry(minute).or_insert(0) += by;
        if let Some(resident) = resident {
            for &a in self.roster.ancestors(self.roster.resident_node_idx(resident as usize)) {
                *self.node_minutes[a].entry(minute).or_insert(0) += by;
            }
        }
        let p = self.points.entry(point).or_default();
        p.count += by;
        p.at_home += if at_home { by } else { 0 };
        p.outside += if of == SampleOf::Outside { by } else { 0 };
        p.walk_ins += if of == SampleOf::WalkIn { by } else { 0 };
        *p.minutes.entry(minute).or_insert(0) += by;
        if by > 0 {
            p.last_scan = Some(p.last_scan.map_or(at, |l| l.max(at)));
        }
    }

    /// A resident's status, or `None` when the resident is not in this action's scope.
    pub fn status(&self, resident_id: i64) -> Option<Status> {
        self.scoped(resident_id).map(|i| self.slots[i].status())
    }

    /// The status of the resident at a roster index (in scope or not).
    pub fn slot_status(&self, idx: usize) -> Status {
        self.slots[idx].status()
    }

    /// Whether the resident at a roster index is in this action's scope.
    pub fn in_scope(&self, idx: usize) -> bool {
        self.slots.get(idx).is_some_and(|s| s.in_scope)
    }

    /// Whether `seq` is a sample that a correction could still undo.
    pub fn correctable(&self, seq: Seq) -> bool {
        self.samples.get(seq).is_some_and(|r| !r.corrected && !r.merged)
    }

    /// The point where the sample at `seq` was taken.
    pub fn sample_point(&self, seq: Seq) -> Option<PointId> {
        self.samples.get(seq).map(|r| r.point)
    }

    /// Whether the resident at this roster index is in scope and still missing.
    pub fn is_missing(&self, resident_idx: usize) -> bool {
        self.slots.get(resident_idx).is_some_and(|s| s.in_scope && s.status() == Status::Missing)
    }

    /// Who answers for a resident in this action: the roster's nearest responsible person
    /// up the tree, or the substitute their household was handed to.
    pub fn responsible_staff(&self, resident_idx: usize) -> Option<StaffId> {
        self.resident_staff[resident_idx]
    }

    /// The substitute a household was handed to in this action, if any.
    pub fn handed_to(&self, household: HouseholdId) -> Option<StaffId> {
        self.handed.get(&household).copied()
    }

    /// The households handed to substitutes, and to whom (in no order).
    pub fn handed(&self) -> impl Iterator<Item = (HouseholdId, StaffId)> + '_ {
        self.handed.iter().map(|(h, s)| (*h, *s))
    }

    /// A resident's escalation, if one happened (standing only while they are missing).
    pub fn escalated(&self, idx: usize) -> Option<&Climb> {
        self.escalated.get(&(idx as u32))
    }

    /// Residents (by roster index) ever escalated, in no order.
    pub fn escalated_residents(&self) -> impl Iterator<Item = (usize, &Climb)> + '_ {
        self.escalated.iter().map(|(i, c)| (*i as usize, c))
    }

    /// Marks this state as folded against a new roster at its current position.
    pub fn mark_rebased(&mut self) {
        self.rebased = Some(self.seq);
    }

    /// The changes after `after`, or `None` when they are no longer all kept (or the
    /// roster changed since `after`).
    pub fn changes_after(&self, after: Seq) -> Option<impl Iterator<Item = &Change>> {
        if after > self.seq || after < 0 || self.rebased.is_some_and(|r| after <= r) {
            return None;
        }
        let oldest_kept = self.changes.front().map_or(self.seq + 1, |c| c.seq);
        if after + 1 < oldest_kept {
            return None;
        }
        // The ring holds consecutive positions, so the first change wanted is found by
        // arithmetic: a subscriber's delta costs what changed since it, not the ring's size.
        let skip = usize::try_from(after + 1 - oldest_kept).unwrap_or(0).min(self.changes.len());
        Some(self.changes.range(skip..))
    }
}

/// The roster's own responsible person for a resident: the nearest staffed area up the tree.
fn roster_staff(roster: &Roster, idx: usize) -> Option<StaffId> {
    roster.ancestors(roster.resident_node_idx(idx)).iter().rev().find_map(|&a| roster.nodes()[a].staff_id)
}
