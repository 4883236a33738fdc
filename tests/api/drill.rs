//! The demo drill plays the whole night through the public API: every step recorded, every
//! tube of ten filled and answered by the lab, exactly one positive, and its ten people
//! flagged on the screens.

use crate::helpers::spawn_app;
use muster::demo::drill;
use muster::roster::Role;
use serde_json::Value;

#[tokio::test]
async fn the_drill_fills_tubes_of_ten_and_the_lab_answers_with_one_positive() {
    let app = spawn_app().await;
    let chief = app.token(Role::Chief);
    let points: Vec<i64> = app.roster.points().iter().map(|p| p.id).collect();
    let action = app.create_action("第2轮", &[1], &points).await;
    let tokens = app.roster.staff().iter().map(|s| (s.id, app.token_of(s.id))).collect();
    let opts = drill::DrillOptions {
        base_url: app.base.clone(),
        tokens,
        action_id: action,
        speed: 2_000.0,
        seed: 5,
        start: time::OffsetDateTime::now_utc(),
        hours: drill::HOURS,
    };
    let report = drill::run(app.roster.clone(), opts).await;
    assert_eq!(report.failed, 0, "every step of the night is recorded: {report:?}");

    let state: Value = app.get_json(&format!("/api/actions/{action}"), &chief).await;
    assert_eq!(state["pace"]["phase"], "closed");
    assert_eq!(state["totals"]["missing"], 0, "everyone is accounted for by morning");
    assert_eq!(state["pace"]["walk_ins"], 6, "the walk-ins wait for the clerk");
    assert_eq!(state["pace"]["flagged"], 10, "one positive tube of ten");
    let flagged = app.get_json(&format!("/api/actions/{action}/flagged"), &chief).await;
    let tube = flagged["people"][0]["flag_tube"].as_str().unwrap().to_owned();
    let people = flagged["people"].as_array().unwrap();
    assert!(people.iter().all(|p| p["flag_tube"] == tube.as_str()));
    let seen = app.get_json(&format!("/api/actions/{action}/tubes/{tube}"), &chief).await;
    assert_eq!(
        (seen["size"].as_u64(), seen["count"].as_u64(), seen["result"].as_str()),
        (Some(10), Some(10), Some("positive"))
    );

    // Every tube the points opened has a result; every point sample (not at home) is in one.
    let store = muster::store::open(&app.db_url).await.unwrap();
    let mine = store.read_events(action, 0, 1_000_000).await.unwrap();
    assert!(mine.iter().enumerate().all(|(i, e)| e.seq == i as i64 + 1), "positions are gap-free");
    let kind = |k: &str| mine.iter().filter(|e| e.new.body.kind() == k).count();
    assert_eq!(kind("tube_opened"), kind("tube_result"));
    let tubed = mine
        .iter()
        .filter(|e| {
            matches!(
                &e.new.body,
                muster::action::EventBody::ResidentSampled { tube: Some(_), .. }
                    | muster::action::EventBody::WalkInSampled { tube: Some(_), .. }
            )
        })
        .count();
    let at_home = mine
        .iter()
        .filter(|e| matches!(&e.new.body, muster::action::EventBody::ResidentSampled { at_home: true, tube: None, .. }))
        .count();
    assert_eq!(tubed + at_home, kind("resident_sampled") + kind("walk_in_sampled"));
    assert!(kind("tube_opened") * 10 >= tubed && tubed > (kind("tube_opened") - points.len()) * 10);
    assert!(kind("queue_reported") > 0);

    // The night began with the call-up, before the opening; one could not come, and their
    // households went to a colleague; one never answered, and that climbed to their head.
    assert_eq!((mine[0].new.body.kind(), mine[1].new.body.kind()), ("call_up_sent", "action_opened"));
    let c = &app.get_json(&format!("/api/actions/{action}/call-ups"), &chief).await["call_ups"][0];
    assert_eq!((c["cannot"].as_u64(), c["not_yet"].as_u64()), (Some(1), Some(1)), "{c}");
    assert_eq!(c["received"].as_u64().unwrap() + 2, c["called"].as_u64().unwrap());
    assert_eq!((kind("households_handed"), kind("chase_started")), (1, 1));
    let heads = app.roster.staff().iter().filter(|s| s.role == Role::GridHead).map(|s| s.nodes.len()).sum::<usize>();
    assert_eq!(kind("area_signed_off"), heads);
    let chain = app.get_json(&format!("/api/actions/{action}/chain"), &chief).await;
    assert_eq!(chain["silent"].as_array().unwrap().len(), 1, "{chain}");
    // Sent 69 minutes ago, so both deadlines (10 and 20 minutes) have passed: to the chief.
    assert_eq!(
        (chain["silent"][0]["level"].as_u64(), chain["silent"][0]["escalated_to"]["role"].as_str()),
        (Some(2), Some("chief"))
    );
    assert_eq!(chain["handovers"].as_array().unwrap().len(), 1);
}
