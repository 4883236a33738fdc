//! Escalation: who an overdue case climbs to, and which escalations are due. The fold keeps
//! the facts ([`super::fold`], of the types in [`super::chain`]); [`ActionState::due`] says
//! which escalations the server should append now,
//! as its own actor, with client ids made from what they are about so that a restart or a
//! second node appends each one once. Nothing here does I/O or reads the clock: the caller
//! says what time it is.

use super::ActionId;
use super::event::{ESCALATION_LEVELS, EventBody, Overdue};
use super::fold::{ActionState, Phase};
use crate::roster::{Roster, StaffId};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The actor of the events the server appends on its own (escalations): no staff member
/// has this id.
pub const SERVER_ACTOR: StaffId = 0;

/// An escalation the server should append now.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    pub client_id: Uuid,
    /// The deadline that passed: the event's device time.
    pub at: OffsetDateTime,
    pub body: EventBody,
}

/// Names escalation ids: v5 UUIDs under this namespace, from the action, what is overdue,
/// the level and the deadline. Every node computes the same id for the same escalation.
const NAMESPACE: Uuid = Uuid::from_u128(0x6d75_7374_6572_2d65_7363_616c_6174_6531);

pub fn escalation_id(action: ActionId, about: Overdue, level: u8, deadline: OffsetDateTime) -> Uuid {
    let about = match about {
        Overdue::Resident { resident_id } => format!("resident:{resident_id}"),
        Overdue::CallUp { call_up_seq, staff_id } => format!("call_up:{call_up_seq}:{staff_id}"),
    };
    let name = format!("escalated:{action}:{about}:{level}:{}", deadline.unix_timestamp_nanos() / 1_000);
    Uuid::new_v5(&NAMESPACE, name.as_bytes())
}

/// The staffed area nodes' people from `node` up the tree, nearest first, each once.
pub fn staff_up(roster: &Roster, node: usize) -> Vec<StaffId> {
    let mut chain: Vec<StaffId> = Vec::new();
    for &a in roster.ancestors(node).iter().rev() {
        if let Some(s) = roster.nodes()[a].staff_id
            && !chain.contains(&s)
        {
            chain.push(s);
        }
    }
    chain
}

impl ActionState {
    /// When the chase started, as of `now`: the chief's word, or the planned time once it
    /// has come, whichever was first. None before either.
    pub fn chase_start(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let planned = self.escalation.chase_at.filter(|&t| t <= now);
        match (self.chase_started, planned) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Who an escalation of a missing resident reaches at `level`: the person that many
    /// staffed areas above the resident's own grid member (1: the head, 2: the chief).
    pub fn resident_escalates_to(&self, idx: usize, level: u8) -> Option<StaffId> {
        staff_up(&self.roster, self.roster.resident_node_idx(idx)).get(usize::from(level)).copied()
    }

    /// Who an escalation of a staff member's unanswered call-up reaches at `level`: the
    /// staffed areas above their own (a point's operator: above the point's area).
    pub fn staff_escalates_to(&self, staff: StaffId, level: u8) -> Option<StaffId> {
        let roster = &self.roster;
        let member = roster.staff_member(staff)?;
        let node = member
            .nodes
            .first()
            .copied()
            .or_else(|| member.point_id.and_then(|p| roster.point(p)).and_then(|p| p.nodes.first().copied()))?;
        let chain: Vec<StaffId> =
            staff_up(roster, roster.node_idx(node)?).into_iter().filter(|&s| s != staff).collect();
        chain.get(usize::from(level) - 1).copied()
    }

    /// The escalations whose deadline has passed at `now` and that the log does not hold
    /// yet, lowest level first: every resident still missing `minutes` × level after the
    /// chase started, every unanswered call-up `call_up_minutes` × level after it was sent,
    /// where someone sits at that level to receive it.
    pub fn due(&self, now: OffsetDateTime) -> Vec<Due> {
        let mut due = Vec::new();
        if self.phase == Phase::Closed {
            return due;
        }
        let action = self.action.id;
        let levels = |since: OffsetDateTime, minutes: u32| {
            let each = Duration::minutes(i64::from(minutes.max(1)));
            (1..=ESCALATION_LEVELS).map(move |l| (l, since + each * i32::from(l))).filter(move |(_, d)| *d <= now)
        };
        if let (Phase::Open, Some(start)) = (self.phase, self.chase_start(now)) {
            for (level, deadline) in levels(start, self.escalation.minutes) {
                for idx in (0..self.roster.residents().len()).filter(|&i| self.is_missing(i)) {
                    let reached = self.escalated(idx).map_or(0, |c| c.level);
                    if reached < level && self.resident_escalates_to(idx, level).is_some() {
                        let about = Overdue::Resident { resident_id: self.roster.residents()[idx].id };
                        due.push(Due {
                            client_id: escalation_id(action, about, level, deadline),
                            at: deadline,
                            body: EventBody::Escalated { about, level },
                        });
                    }
                }
            }
        }
        for c in &self.call_ups {
            for (level, deadline) in levels(c.at, self.escalation.call_up_minutes) {
                for (&staff, reply) in &c.answers {
                    let reached = c.escalated.get(&staff).map_or(0, |e| e.level);
                    if reply.is_none() && reached < level && self.staff_escalates_to(staff, level).is_some() {
                        let about = Overdue::CallUp { call_up_seq: c.seq, staff_id: staff };
                        due.push(Due {
                            client_id: escalation_id(action, about, level, deadline),
                            at: deadline,
                            body: EventBody::Escalated { about, level },
                        });
                    }
                }
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Answer;
    use time::macros::datetime;

    const OPENED: OffsetDateTime = datetime!(2022-04-22 16:45 UTC);

    struct Night {
        state: ActionState,
    }

    impl Night {
        fn new() -> Self {
            Night { state: crate::action::night::opened(5, OPENED) }
        }

        fn apply(&mut self, actor: StaffId, at: OffsetDateTime, body: EventBody) {
            crate::action::night::apply(&mut self.state, actor, at, body);
        }

        /// Appends what is due, as the escalator would.
        fn escalate(&mut self, now: OffsetDateTime) -> Vec<Due> {
            let due = self.state.due(now);
            for d in &due {
                self.apply(SERVER_ACTOR, d.at, d.body.clone());
            }
            due
        }
    }

    fn missing(s: &ActionState) -> Vec<usize> {
        (0..s.roster.residents().len()).filter(|&i| s.is_missing(i)).collect()
    }

    #[test]
    fn a_missing_resident_climbs_once_per_level_at_each_deadline_and_a_sample_stops_it() {
        let mut n = Night::new();
        let start = OPENED + Duration::minutes(60);
        let roster = n.state.roster.clone();
        let (a, b) = (roster.residents()[0].id, roster.residents()[1].id);
        n.apply(
            1,
            OPENED + Duration::minutes(10),
            EventBody::ResidentSampled {
                resident_id: a,
                point_id: n.state.action.points[0],
                at_home: false,
                tube: None,
            },
        );
        assert!(n.state.due(start + Duration::hours(5)).is_empty(), "nothing climbs before the chase starts");
        n.apply(1, start, EventBody::ChaseStarted);
        assert!(n.state.due(start + Duration::minutes(29)).is_empty());

        let first = n.escalate(start + Duration::minutes(30));
        let missing_now = missing(&n.state);
        assert_eq!(first.len(), missing_now.len(), "every missing resident, once");
        assert!(
            first
                .iter()
                .all(|d| d.at == start + Duration::minutes(30)
                    && matches!(d.body, EventBody::Escalated { level: 1, .. }))
        );
        assert_eq!(n.state.escalated_now, missing_now.len() as i64);
        assert!(n.state.due(start + Duration::minutes(59)).is_empty(), "each level once");
        // The same escalation has the same id wherever it is computed.
        let again = Night::new();
        let about = Overdue::Resident { resident_id: b };
        assert_eq!(
            escalation_id(1, about, 1, first[0].at),
            escalation_id(again.state.action.id, about, 1, first[0].at)
        );
        assert_ne!(escalation_id(1, about, 1, first[0].at), escalation_id(1, about, 2, first[0].at));

        // Found: their escalation clears, and they do not climb to the chief.
        let b_idx = roster.resident_idx(b).unwrap();
        assert_eq!(
            n.state.resident_escalates_to(b_idx, 1),
            staff_up(&roster, roster.resident_node_idx(b_idx)).get(1).copied()
        );
        n.apply(
            1,
            start + Duration::minutes(40),
            EventBody::ResidentSampled {
                resident_id: b,
                point_id: n.state.action.points[0],
                at_home: true,
                tube: None,
            },
        );
        assert_eq!(n.state.escalated_now, missing_now.len() as i64 - 1);
        let second = n.escalate(start + Duration::minutes(61));
        assert_eq!(second.len(), missing_now.len() - 1);
        assert!(second.iter().all(|d| matches!(d.body, EventBody::Escalated { level: 2, .. })));
        assert!(n.state.due(start + Duration::hours(9)).is_empty(), "two levels, then nobody above");
        assert_eq!(
            n.state.check(&second[0].body, &mut Default::default()),
            Err(crate::action::Rejection::AlreadyEscalated(2))
        );
    }

    #[test]
    fn a_server_down_past_both_deadlines_escalates_both_levels_at_their_own_times() {
        let mut n = Night::new();
        let start = OPENED + Duration::minutes(5);
        n.apply(1, start, EventBody::EscalationSet { minutes: 20, call_up_minutes: 10, chase_at: None });
        n.apply(1, start, EventBody::ChaseStarted);
        let due = n.escalate(start + Duration::hours(3));
        let levels: Vec<OffsetDateTime> = due.iter().map(|d| d.at).collect();
        assert!(levels.contains(&(start + Duration::minutes(20))) && levels.contains(&(start + Duration::minutes(40))));
        assert_eq!(due.len(), 2 * missing(&n.state).len());
    }

    #[test]
    fn the_chase_starts_by_itself_at_its_planned_time() {
        let mut n = Night::new();
        let planned = OPENED + Duration::minutes(90);
        n.apply(1, OPENED, EventBody::EscalationSet { minutes: 30, call_up_minutes: 10, chase_at: Some(planned) });
        assert_eq!(n.state.chase_start(planned - Duration::seconds(1)), None);
        assert_eq!(n.state.chase_start(planned), Some(planned));
        assert!(n.state.due(planned + Duration::minutes(29)).is_empty());
        assert_eq!(n.state.due(planned + Duration::minutes(30)).len(), missing(&n.state).len());
    }

    #[test]
    fn a_silent_call_up_climbs_and_an_answer_clears_it() {
        let mut n = Night::new();
        let roster = n.state.roster.clone();
        let chief = roster.staff().iter().find(|s| s.role == crate::roster::Role::Chief).unwrap().id;
        let sent = OPENED - Duration::minutes(70);
        let sub = roster.nodes().iter().find(|x| x.parent == Some(1)).unwrap().id;
        let call = EventBody::CallUpSent {
            text: "集合".into(),
            place: String::new(),
            nodes: vec![sub],
            roles: vec![crate::roster::Role::GridMember],
        };
        n.apply(chief, sent, call);
        let c = n.state.call_ups[0].clone();
        let called: Vec<StaffId> = c.answers.keys().copied().collect();
        n.apply(
            called[0],
            sent + Duration::minutes(2),
            EventBody::CallUpAnswered { call_up_seq: c.seq, answer: Answer::Received, reason: String::new() },
        );
        let due = n.escalate(sent + Duration::minutes(10));
        assert_eq!(due.len(), called.len() - 1, "all but the one who answered");
        let head = n.state.staff_escalates_to(called[1], 1).unwrap();
        assert_eq!(roster.staff_member(head).unwrap().role, crate::roster::Role::GridHead);
        assert_eq!(n.state.pace().call_ups_overdue, called.len() as i64 - 1);
        n.apply(
            called[1],
            sent + Duration::minutes(12),
            EventBody::CallUpAnswered { call_up_seq: c.seq, answer: Answer::Cannot, reason: "被封在村外".into() },
        );
        assert_eq!(n.state.pace().call_ups_overdue, called.len() as i64 - 2);
    }

    #[test]
    fn a_substitute_answers_for_handed_households_until_they_are_handed_back() {
        let mut n = Night::new();
        let roster = n.state.roster.clone();
        let idx = 0;
        let member = n.state.responsible_staff(idx).unwrap();
        let household = roster.residents()[idx].household_id;
        let substitute =
            roster.staff().iter().find(|s| s.role == crate::roster::Role::GridMember && s.id != member).unwrap().id;
        let in_household = n.state.household_residents(household).len() as i64;
        let before = (n.state.staff_missing[&member], n.state.staff_missing.get(&substitute).copied().unwrap_or(0));
        n.apply(1, OPENED, EventBody::HouseholdsHanded { households: vec![household], to: Some(substitute) });
        assert_eq!(n.state.responsible_staff(idx), Some(substitute));
        assert_eq!(n.state.staff_missing[&member], before.0 - in_household);
        assert_eq!(n.state.staff_missing[&substitute], before.1 + in_household);
        assert_eq!(n.state.handovers[0].from, vec![Some(member)]);
        n.apply(1, OPENED, EventBody::HouseholdsHanded { households: vec![household], to: None });
        assert_eq!(n.state.responsible_staff(idx), Some(member));
        assert_eq!((n.state.staff_missing[&member], n.state.staff_missing[&substitute]), before);
    }
}
