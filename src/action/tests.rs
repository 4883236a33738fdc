//! Properties of the fold, hammered with generated event logs.

use super::*;
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
    ]
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
        let delta = state.delta(early.seq).expect("recent enough");
        prop_assert_eq!(early.plus(&delta), state.snapshot());
    }

    #[test]
    fn counts_always_add_up(bodies in prop::collection::vec(body(), 0..200)) {
        let s = fold(&log(&bodies));
        prop_assert_eq!(s.totals.target, s.totals.sampled + s.totals.exempt + s.totals.missing());
        prop_assert!(s.totals.sampled >= 0 && s.totals.exempt >= 0 && s.totals.missing() >= 0);
        prop_assert_eq!(s.staff_missing.values().sum::<i64>(), s.totals.missing());
        prop_assert_eq!(s.points.values().map(|p| p.count).sum::<i64>(), s.scans);
        prop_assert_eq!(s.nodes[0], s.totals, "the root covers the whole scope");
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
