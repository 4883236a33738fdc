//! Properties of the fold, hammered with generated event logs.

use super::*;
use crate::action::tubes::Member;
use crate::demo::village;
use crate::roster::Roster;
use proptest::prelude::*;
use std::sync::{Arc, OnceLock};
use time::macros::datetime;

fn roster() -> Arc<Roster> {
    static ROSTER: OnceLock<Arc<Roster>> = OnceLock::new();
    ROSTER.get_or_init(|| Arc::new(Roster::new(village::generate(3).roster).unwrap())).clone()
}

fn action() -> Action {
    Action {
        id: 1,
        kind: ActionKind::Testing,
        name: "test".into(),
        scope: vec![2, 7],
        points: vec![1, 2, 3],
        planned_open: None,
        planned_close: None,
        created_at: datetime!(2022-04-22 15:36 UTC),
    }
}

/// A body the generator may produce: samples (some of residents out of scope or at
/// unknown points, which the fold must ignore), exemptions and corrections.
fn body() -> impl Strategy<Value = EventBody> {
    prop_oneof![
        6 => (1i64..400, 1i64..4, any::<bool>()).prop_map(|(r, p, h)| EventBody::ResidentSampled {
            resident_id: r, point_id: p, at_home: h, tube: None
        }),
        2 => (1i64..400).prop_map(|r| EventBody::ExemptionSet { resident_id: r, reason: ExemptReason::Away, note: String::new() }),
        1 => (1i64..400).prop_map(|r| EventBody::ExemptionCleared { resident_id: r }),
        1 => (1i64..60).prop_map(|s| EventBody::Correction { target_seq: s, reason: "wrong person".into() }),
        3 => (1i64..400, chase()).prop_map(|(r, chase)| EventBody::ResidentTicked { resident_id: r, chase, note: String::new() }),
        1 => (1i64..200, chase()).prop_map(|(h, chase)| EventBody::HouseholdTicked { household_id: h, chase, note: String::new() }),
        1 => (1i64..400).prop_map(|r| EventBody::VisitTaken { resident_id: r }),
        4 => pooled(),
    ]
}

/// Tubes, walk-ins, results and queues, including what the rules would refuse (a tube of
/// size 3, a second open tube for the same person, a result for a tube never opened).
fn pooled() -> impl Strategy<Value = EventBody> {
    let tube = || (0u8..6).prop_map(|t| format!("T-{t}"));
    prop_oneof![
        3 => (1i64..400, 1i64..4, tube()).prop_map(|(r, p, t)| EventBody::ResidentSampled {
            resident_id: r, point_id: p, at_home: false, tube: Some(t)
        }),
        2 => (tube(), 1i64..4, prop::sample::select(vec![None, Some(1u8), Some(5), Some(10), Some(3)]))
            .prop_map(|(tube, point_id, size)| EventBody::TubeOpened { tube, point_id, size }),
        1 => tube().prop_map(|tube| EventBody::TubeClosed { tube }),
        1 => prop::sample::select(vec![1u8, 5, 10, 20, 2]).prop_map(|size| EventBody::TubeSizeSet { size }),
        2 => (tube(), any::<bool>()).prop_map(|(tube, positive)| EventBody::TubeResult {
            tube, result: if positive { LabResult::Positive } else { LabResult::Negative }
        }),
        2 => (0u64..4, 1i64..4, prop::option::of(tube())).prop_map(|(k, p, tube)| EventBody::WalkInSampled {
            walk_in: walk_in(k), point_id: p, tube
        }),
        1 => (1i64..60, prop::sample::select(vec![Resolution::Confirmed, Resolution::Merged, Resolution::Rejected]), 1i64..400)
            .prop_map(|(seq, resolution, r)| EventBody::WalkInResolved {
                walk_in_seq: seq, resolution, resident_id: Some(r), note: String::new()
            }),
        1 => (1i64..4, 0u32..30).prop_map(|(point_id, waiting)| EventBody::QueueReported { point_id, waiting }),
        1 => (1i64..30).prop_map(|n| EventBody::CallUpSent { text: "集合".into(), place: String::new(), nodes: vec![n], roles: vec![] }),
        1 => (1i64..60, any::<bool>()).prop_map(|(seq, ok)| EventBody::CallUpAnswered {
            call_up_seq: seq, answer: if ok { Answer::Received } else { Answer::Cannot }, reason: String::new()
        }),
        1 => chain(),
    ]
}

/// The chain of command: escalations (some of what is not overdue, some twice), handovers
/// to substitutes and back, sign-offs, the chase's start.
fn chain() -> impl Strategy<Value = EventBody> {
    prop_oneof![
        3 => (1i64..400, 1u8..3).prop_map(|(r, level)| EventBody::Escalated { about: Overdue::Resident { resident_id: r }, level }),
        1 => (1i64..60, 1i64..40, 1u8..3).prop_map(|(call_up_seq, staff_id, level)| EventBody::Escalated {
            about: Overdue::CallUp { call_up_seq, staff_id }, level
        }),
        1 => (prop::collection::vec(1i64..200, 1..4), prop::option::of(1i64..40))
            .prop_map(|(households, to)| EventBody::HouseholdsHanded { households, to }),
        1 => (1i64..30).prop_map(|node_id| EventBody::AreaSignedOff { node_id, note: String::new() }),
        1 => Just(EventBody::ChaseStarted),
    ]
}

/// One of a few people who are not on the demo roster (their numbers start 9900).
fn walk_in(k: u64) -> WalkIn {
    let number = crate::roster::IdNumber::from_body(&format!("99000019800101{k:03}")).unwrap();
    WalkIn { name: format!("外来{k}"), id_number: number.expose().into(), phone: None, stays_at: "村口".into() }
}

/// A chase status a tick may say (away is an exemption, not a tick).
fn chase() -> impl Strategy<Value = Chase> {
    prop::sample::select(Chase::ALL.iter().copied().filter(|c| *c != Chase::Away).collect::<Vec<_>>())
}

fn log(bodies: &[EventBody]) -> Vec<Event> {
    let start = datetime!(2022-04-22 16:45 UTC);
    std::iter::once(EventBody::ActionOpened)
        .chain(bodies.iter().cloned())
        .enumerate()
        .map(|(i, body)| Event {
            seq: i as Seq + 1,
            new: NewEvent {
                action_id: 1,
                client_id: uuid::Uuid::from_u128(i as u128),
                actor: 1,
                device_time: start + time::Duration::seconds(20 * i as i64),
                server_time: start,
                body,
            },
        })
        .collect()
}

fn fold(events: &[Event]) -> ActionState {
    let mut state = ActionState::new(action(), roster());
    for e in events {
        state.apply(e);
    }
    state
}

proptest! {
    #[test]
    fn a_snapshot_plus_the_delta_after_it_equals_the_final_snapshot(
        bodies in prop::collection::vec(body(), 0..120), cut in 0usize..121
    ) {
        let events = log(&bodies);
        let cut = cut.min(events.len());
        let early = fold(&events[..cut]).snapshot();
        let state = fold(&events);
        match state.delta(early.seq) {
            Some(delta) => prop_assert_eq!(early.plus(&delta), state.snapshot()),
            // A handover after it moved staff counts that deltas cannot carry: a snapshot.
            None => prop_assert!(state.handovers.iter().any(|h| h.seq >= early.seq), "recent enough"),
        }
    }

    #[test]
    fn with_tubes_and_walk_ins_a_snapshot_plus_its_delta_still_equals_the_final_one(
        bodies in prop::collection::vec(pooled(), 0..120), cut in 0usize..121
    ) {
        let events = log(&bodies);
        let cut = cut.min(events.len());
        let early = fold(&events[..cut]).snapshot();
        let state = fold(&events);
        match state.delta(early.seq) {
            Some(delta) => prop_assert_eq!(early.plus(&delta), state.snapshot()),
            None => prop_assert!(state.handovers.iter().any(|h| h.seq >= early.seq), "recent enough"),
        }
    }

    #[test]
    fn counts_always_add_up(bodies in prop::collection::vec(body(), 0..200)) {
        let s = fold(&log(&bodies));
        prop_assert_eq!(s.totals.target, s.totals.sampled + s.totals.exempt + s.totals.missing());
        prop_assert!(s.totals.sampled >= 0 && s.totals.exempt >= 0 && s.totals.missing() >= 0);
        prop_assert_eq!(s.staff_missing.values().sum::<i64>(), s.totals.missing());
        // Each missing resident counts for the one person who answers for them tonight.
        let mut by_staff = std::collections::BTreeMap::new();
        for i in (0..s.roster.residents().len()).filter(|&i| s.is_missing(i)) {
            if let Some(staff) = s.responsible_staff(i) {
                *by_staff.entry(staff).or_insert(0i64) += 1;
            }
        }
        let counted: std::collections::BTreeMap<i64, i64> =
            s.staff_missing.iter().filter(|(_, n)| **n != 0).map(|(k, v)| (*k, *v)).collect();
        prop_assert_eq!(by_staff, counted);
        // Escalations stand while their resident is missing, counted up the tree.
        let standing = s.escalated_residents().filter(|(i, _)| s.is_missing(*i)).count() as i64;
        prop_assert_eq!(s.escalated_now, standing);
        prop_assert_eq!(s.node_escalated[0], standing);
        prop_assert_eq!(s.points.values().map(|p| p.count).sum::<i64>(), s.scans);
        prop_assert_eq!(s.nodes[0], s.totals, "the root covers the whole scope");
        prop_assert_eq!(s.node_chase[0], s.chase);
        prop_assert!(s.chase.reached() <= s.totals.missing(), "only the missing are counted by chase");
        prop_assert_eq!(s.chase.visits_pending + s.chase.visits_taken, s.chase.bedridden);
        // The chase counts are what each resident's own chase says, counted again.
        let mut counted = crate::action::chase::ChaseCounts::default();
        for idx in s.chased_residents() {
            let live = s.resident_live(idx);
            if let (Status::Missing, Some(chase)) = (live.status, live.chase) {
                counted.add(crate::action::chase::ChaseKey { chase, taken: live.visit.is_some_and(|v| v.taken_by.is_some()) }, 1);
            }
        }
        prop_assert_eq!(counted, s.chase);
    }

    /// Whatever the log holds, a tube holds at most its size, nobody is in two open tubes,
    /// each point's open tubes are counted, and the flags are what the results say.
    #[test]
    fn tubes_hold_what_the_rules_allow_and_flags_follow_results(bodies in prop::collection::vec(pooled(), 0..200)) {
        let s = fold(&log(&bodies));
        let mut open = std::collections::HashSet::new();
        for (t, tube) in s.tubes.iter().enumerate() {
            prop_assert!(tube.members.len() <= usize::from(tube.size));
            prop_assert!(!tube.is_full() || tube.closed, "a full tube is closed");
            prop_assert!(tube.result.is_none() || tube.closed, "a result closes its tube");
            // A walk-in the clerk later found to be a resident was swabbed as two people:
            // that resident may sit in open tubes twice (the tubes hold what was swabbed).
            let merged = |m: &Member| match m {
                Member::Resident(i) => {
                    let id = s.roster.residents()[*i as usize].id;
                    s.walk_ins.list.iter().any(|w| w.resolved.as_ref().is_some_and(|r| r.resident == Some(id)))
                }
                Member::WalkIn(_) => false,
            };
            for (m, _) in &tube.members {
                if !tube.closed && !merged(m) {
                    prop_assert!(open.insert(*m), "{m:?} is in two open tubes");
                    prop_assert_eq!(s.open_tube_of(*m), Some(t as u32));
                }
                // Each member's flag is the latest word of a result on them.
                if tube.result == Some(LabResult::Positive) {
                    let flag = s.flag(*m).map(|f| f.state);
                    prop_assert!(flag.is_some(), "{m:?} was in the positive tube {}", tube.code);
                }
            }
        }
        for (id, p) in &s.points {
            let open_here = s.tubes.iter().filter(|t| t.point == *id && !t.closed).count() as i64;
            prop_assert_eq!(p.tubes_open, open_here);
        }
        prop_assert_eq!(s.points.values().map(|p| p.count).sum::<i64>(), s.scans);
        prop_assert_eq!(
            s.pace().flagged,
            s.flags().filter(|(_, f)| f.state.is_raised()).count() as i64
        );
        prop_assert_eq!(s.pace().walk_ins, Some(s.walk_ins.list.iter().filter(|w| w.resolved.is_none()).count() as i64));
        // Residents from outside the scope: sampled, counted apart, in no target.
        let outside = (0..s.roster.residents().len())
            .filter(|&i| !s.in_scope(i) && s.slot_status(i) == Status::Sampled)
            .count() as i64;
        prop_assert_eq!(s.outside, outside);
        prop_assert_eq!(s.totals.target, s.totals.sampled + s.totals.exempt + s.totals.missing());
    }

    /// Ticks queued offline arrive in any order: the current chase of each resident is the
    /// latest by the phone's clock whatever the order they reached the log in, and a sample
    /// wins over all of them.
    #[test]
    fn ticks_in_any_order_of_arrival_fold_to_the_latest_by_device_time(
        ticks in prop::collection::vec((1i64..60, chase()), 1..80), seed in any::<u64>(), sampled in prop::collection::btree_set(1i64..60, 0..10)
    ) {
        let start = datetime!(2022-04-22 16:45 UTC);
        // Each tick made at its own minute; then delivered in a shuffled order.
        let made: Vec<(time::OffsetDateTime, EventBody)> = ticks.iter().enumerate().map(|(i, &(r, chase))| {
            (start + time::Duration::minutes(i as i64 + 1), EventBody::ResidentTicked { resident_id: r, chase, note: String::new() })
        }).chain(sampled.iter().map(|&r| {
            (start + time::Duration::minutes(500), EventBody::ResidentSampled { resident_id: r, point_id: 1, at_home: false, tube: None })
        })).collect();
        let mut shuffled = made.clone();
        let mut rng = crate::demo::Rng::new(seed);
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let fold_timed = |events: &[(time::OffsetDateTime, EventBody)]| {
            let mut log = log(&[]);
            for (i, (at, body)) in events.iter().enumerate() {
                let mut e = log[0].clone();
                e.seq = i as Seq + 2;
                e.new.client_id = uuid::Uuid::from_u128(1_000 + i as u128);
                e.new.device_time = *at;
                e.new.body = body.clone();
                log.push(e);
            }
            fold(&log)
        };
        let (a, b) = (fold_timed(&made), fold_timed(&shuffled));
        prop_assert_eq!(a.chase, b.chase);
        prop_assert_eq!(&a.node_chase, &b.node_chase);
        for idx in a.chased_residents() {
            let (x, y) = (a.resident_live(idx), b.resident_live(idx));
            prop_assert_eq!((x.status, x.chase, x.chase_at), (y.status, y.chase, y.chase_at));
            let made = |h: &[crate::action::chase::Tick]| h.iter().map(|t| (t.chase, t.at)).collect::<Vec<_>>();
            prop_assert_eq!(made(&x.history), made(&y.history), "the history reads in the order the ticks were made");
            let id = a.roster.residents()[idx].id;
            if sampled.contains(&id) && x.status != Status::Missing {
                prop_assert_eq!(x.status, Status::Sampled, "a sample wins");
            }
        }
    }

    #[test]
    fn samples_and_exemptions_of_different_residents_commute(
        residents in prop::collection::btree_set(1i64..400, 1..60), seed in any::<u64>()
    ) {
        let bodies: Vec<EventBody> = residents.iter().map(|&r| if r % 3 == 0 {
            EventBody::ExemptionSet { resident_id: r, reason: ExemptReason::Away, note: String::new() }
        } else {
            EventBody::ResidentSampled { resident_id: r, point_id: 1 + r % 3, at_home: false, tube: None }
        }).collect();
        let mut shuffled = bodies.clone();
        let mut rng = crate::demo::Rng::new(seed);
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let (a, b) = (fold(&log(&bodies)), fold(&log(&shuffled)));
        prop_assert_eq!(a.totals, b.totals);
        prop_assert_eq!(a.nodes, b.nodes);
        prop_assert_eq!(a.staff_missing, b.staff_missing);
        prop_assert_eq!(
            a.points.iter().map(|(id, p)| (*id, p.count)).collect::<Vec<_>>(),
            b.points.iter().map(|(id, p)| (*id, p.count)).collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_delta_from_a_position_older_than_the_kept_changes_is_refused() {
    let bodies: Vec<EventBody> =
        (0..fold::CHANGE_LOG + 10).map(|i| EventBody::ExemptionCleared { resident_id: 1 + (i % 300) as i64 }).collect();
    let state = fold(&log(&bodies));
    assert!(state.delta(0).is_none());
    assert!(state.delta(state.seq - 5).is_some());
    assert!(state.delta(state.seq + 1).is_none(), "a position ahead of the log is unknown");
}
