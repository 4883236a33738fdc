//! The sampling point beyond one resident: a resident from outside the scope is sampled
//! (never refused), pooled tubes fill and close, a lab's positive result flags exactly the
//! tube's people on exactly their grid members' phones, and walk-ins are sampled, queued and
//! merged into one person with one sample.

use crate::helpers::{TestApp, checked_log, spawn_app};
use muster::roster::Role;
use serde_json::{Value, json};
use uuid::Uuid;

/// Posts events as the holder of `token`, each with a fresh id; the status and answer.
async fn post(app: &TestApp, token: &str, events: Vec<Value>) -> (u16, Value) {
    let events: Vec<Value> = events
        .into_iter()
        .map(|mut e| {
            e["id"] = json!(Uuid::now_v7());
            e
        })
        .collect();
    let r = app.post_events(token, json!({ "events": events })).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

fn sample(resident: i64, point: i64, tube: &str) -> Value {
    json!({ "type": "resident_sampled", "resident_id": resident, "point_id": point, "tube": tube })
}

/// The residents of a point's grids, in roster order: those its operator sees queue up.
fn residents_at(app: &TestApp, point: i64) -> Vec<i64> {
    app.roster.residents().iter().map(|r| r.id).filter(|&r| app.point_of(r) == point).collect()
}

/// The clerk's decision on the walk-in at `seq`, as the holder of `token`.
async fn decide(app: &TestApp, token: &str, seq: i64, decision: Value) -> (u16, Value) {
    let r = app
        .client
        .post(format!("{}/api/actions/{}/walk-ins/{seq}", app.base, app.action_id))
        .bearer_auth(token)
        .json(&decision)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn walk_in(k: u32) -> Value {
    let body = format!("99000019900101{k:03}");
    let number = muster::roster::IdNumber::from_body(&body).unwrap();
    json!({ "name": format!("外来{k}"), "id_number": number.expose(), "stays_at": "村委会旁3号", "phone": "13900001111" })
}

#[tokio::test]
async fn a_tube_of_ten_fills_closes_and_refuses_an_eleventh_and_a_second_open_tube() {
    let app = spawn_app().await;
    let point = app.roster.points()[0].id;
    let op = app.operator_of(point);
    let people = residents_at(&app, point);
    let before = checked_log(&app).await.len();

    let open = json!({ "type": "tube_opened", "tube": "HG-0001", "point_id": point });
    let mut batch = vec![open];
    batch.extend(people[..9].iter().map(|&r| sample(r, point, "HG-0001")));
    assert_eq!(post(&app, &op, batch).await.0, 200);
    // A second open tube, and the ninth person again into it: refused, nothing appended.
    let second = json!({ "type": "tube_opened", "tube": "HG-0002", "point_id": point });
    assert_eq!(post(&app, &op, vec![second]).await.0, 200);
    let (status, body) = post(&app, &op, vec![sample(people[8], point, "HG-0002")]).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("in_another_tube")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("HG-0001"), "{body}");
    // The tenth fills it, and it closes by itself; the eleventh is refused as full.
    assert_eq!(post(&app, &op, vec![sample(people[9], point, "HG-0001")]).await.0, 200);
    let (status, body) = post(&app, &op, vec![sample(people[10], point, "HG-0001")]).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("tube_full")), "{body}");
    // Now the ninth is in no open tube and may go into the second.
    assert_eq!(post(&app, &op, vec![sample(people[8], point, "HG-0002")]).await.0, 200);

    let chief = app.token(Role::Chief);
    let tube = app.get_json(&format!("/api/actions/{}/tubes/HG-0001", app.action_id), &chief).await;
    assert_eq!(
        (tube["size"].as_u64(), tube["count"].as_u64(), tube["closed"].as_bool()),
        (Some(10), Some(10), Some(true))
    );
    let ids: Vec<i64> = tube["people"].as_array().unwrap().iter().map(|p| p["resident_id"].as_i64().unwrap()).collect();
    assert_eq!(ids, people[..10].to_vec());
    assert!(tube["people"][0]["id_number"].as_str().unwrap().contains("**********"), "ID numbers masked");
    let tubes = app.get_json(&format!("/api/actions/{}/residents/{}/tubes", app.action_id, people[8]), &chief).await;
    let codes: Vec<&str> = tubes.as_array().unwrap().iter().map(|t| t["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["HG-0001", "HG-0002"], "resident → tubes");
    // The lab sees the tube, not the people in it.
    let lab = app.token(Role::Lab);
    let seen = app.get_json(&format!("/api/actions/{}/tubes/HG-0001", app.action_id), &lab).await;
    assert_eq!((seen["count"].as_u64(), seen["people"].as_array().map(Vec::len)), (Some(10), Some(0)));

    // 2 opened + 11 samples (the ninth twice: a second sample, one person).
    assert_eq!(checked_log(&app).await.len(), before + 2 + 11);
    let snap = app.snapshot().await;
    let p = snap["points"].as_array().unwrap().iter().find(|p| p["id"] == point).unwrap().clone();
    assert_eq!(p["count"], 11);
    assert_eq!(snap["pace"]["points"][point.to_string()]["tubes_open"], 1);
}

#[tokio::test]
async fn bad_tubes_are_refused_with_clear_words_and_nothing_is_appended() {
    let app = spawn_app().await;
    let point = app.roster.points()[0].id;
    let other = app.roster.points()[1].id;
    let op = app.operator_of(point);
    let someone = residents_at(&app, point)[0];
    let open =
        |tube: &str, size: Option<u8>| json!({ "type": "tube_opened", "tube": tube, "point_id": point, "size": size });
    assert_eq!(post(&app, &op, vec![open("T-1", Some(5))]).await.0, 200);
    assert_eq!(post(&app, &op, vec![json!({ "type": "tube_closed", "tube": "T-1" })]).await.0, 200);
    let before = checked_log(&app).await.len();
    let chief = app.token(Role::Chief);
    let cases: Vec<(&str, Vec<Value>, u16, &str)> = vec![
        ("an unknown tube", vec![sample(someone, point, "NOPE-9")], 422, "unknown_tube"),
        ("a closed tube", vec![sample(someone, point, "T-1")], 409, "tube_closed"),
        ("a tube opened twice", vec![open("T-1", None)], 409, "tube_exists"),
        ("a tube of 7", vec![open("T-7", Some(7))], 422, "bad_tube_size"),
        ("a malformed code", vec![sample(someone, point, "tube one!")], 400, "invalid_field"),
        (
            "a result for an unknown tube",
            vec![json!({ "type": "tube_result", "tube": "NOPE-9", "result": "positive" })],
            422,
            "unknown_tube",
        ),
    ];
    for (what, events, status, code) in cases {
        let (got, body) = post(&app, &op, events.clone()).await;
        let got = if what.starts_with("a result") { post(&app, &chief, events).await } else { (got, body) };
        assert_eq!((got.0, got.1["code"].as_str()), (status, Some(code)), "{what}: {}", got.1);
        let message = got.1["message"].as_str().unwrap();
        assert!(message.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{what}: Chinese first: {message}");
    }
    // A tube opened at another point takes nobody here; an operator cannot open one there.
    let (status, _) = post(&app, &op, vec![json!({ "type": "tube_opened", "tube": "T-9", "point_id": other })]).await;
    assert_eq!(status, 403);
    assert_eq!(checked_log(&app).await.len(), before, "nothing appended");
}

#[tokio::test]
async fn a_positive_tube_flags_exactly_its_people_on_exactly_their_grid_members_phones() {
    let app = spawn_app().await;
    let point = app.roster.points()[0].id;
    let op = app.operator_of(point);
    let people = residents_at(&app, point);
    let (inside, outside) = people.split_at(10);
    let mut batch = vec![json!({ "type": "tube_opened", "tube": "HG-7", "point_id": point, "size": 10 })];
    batch.extend(inside.iter().map(|&r| sample(r, point, "HG-7")));
    assert_eq!(post(&app, &op, batch).await.0, 200);
    let (status, body) =
        post(&app, &app.token(Role::Lab), vec![json!({ "type": "tube_result", "tube": "HG-7", "result": "positive" })])
            .await;
    assert_eq!(status, 200, "{body}");
    // A different result for the same tube afterwards is refused.
    let (status, body) =
        post(&app, &app.token(Role::Lab), vec![json!({ "type": "tube_result", "tube": "HG-7", "result": "negative" })])
            .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("result_already_entered")));

    // The chief's list: exactly the ten, with their households and grid members' phones.
    let chief = app.token(Role::Chief);
    let list = app.get_json(&format!("/api/actions/{}/flagged", app.action_id), &chief).await;
    let mut flagged: Vec<i64> =
        list["people"].as_array().unwrap().iter().map(|p| p["resident_id"].as_i64().unwrap()).collect();
    flagged.sort_unstable();
    assert_eq!(flagged, inside.to_vec());
    for p in list["people"].as_array().unwrap() {
        assert_eq!(p["flag"], "retest");
        assert_eq!(p["flag_tube"], "HG-7");
        let staff = app.roster.staff_member(p["staff_id"].as_i64().unwrap()).unwrap();
        assert_eq!(
            p["staff_phone"].as_str(),
            staff.phone.as_ref().map(|ph| ph.expose()),
            "the chief calls the grid member"
        );
        let household = app.roster.residents().iter().find(|r| r.id == p["resident_id"]).unwrap().household_id;
        let housemates = app.roster.residents().iter().filter(|r| r.household_id == household).count();
        assert_eq!(p["household"]["residents"].as_array().unwrap().len(), housemates, "everyone who lives with them");
    }
    // Each grid member's phone: their own flagged, nobody else's.
    for member in app.roster.staff().iter().filter(|s| s.role == Role::GridMember) {
        let token = app.token_of(member.id);
        let page = app.get_json(&format!("/api/actions/{}/households?limit=2000", app.action_id), &token).await;
        let mut on_phone: Vec<i64> = page["households"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|h| h["residents"].as_array().unwrap())
            .filter(|r| r["live"]["flag"] == "retest")
            .map(|r| r["id"].as_i64().unwrap())
            .collect();
        on_phone.sort_unstable();
        let mut theirs: Vec<i64> = inside
            .iter()
            .copied()
            .filter(|&r| {
                let idx = app.roster.resident_idx(r).unwrap();
                let grid = app.roster.nodes()[app.roster.resident_node_idx(idx)].id;
                member.nodes.contains(&grid)
            })
            .collect();
        theirs.sort_unstable();
        assert_eq!(on_phone, theirs, "grid member {}", member.id);
    }
    let snap = app.snapshot().await;
    assert_eq!(snap["pace"]["flagged"], 10);

    // A flagged resident's re-test is a single tube: a pooled one is refused, a single one
    // whose result is negative clears them.
    let again = json!({ "type": "tube_opened", "tube": "HG-8", "point_id": point });
    let (status, body) = post(&app, &op, vec![again, sample(inside[0], point, "HG-8")]).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("retest_needs_single_tube")), "{body}");
    let single = json!({ "type": "tube_opened", "tube": "S-1", "point_id": point, "size": 1 });
    assert_eq!(post(&app, &op, vec![single, sample(inside[0], point, "S-1")]).await.0, 200);
    let lab = app.token(Role::Lab);
    assert_eq!(
        post(&app, &lab, vec![json!({ "type": "tube_result", "tube": "S-1", "result": "negative" })]).await.0,
        200
    );
    assert_eq!(app.snapshot().await["pace"]["flagged"], 9);
    assert!(outside.iter().all(|r| !flagged.contains(r)));
}

#[tokio::test]
async fn a_resident_from_outside_the_scope_is_sampled_and_counted_apart() {
    let app = spawn_app().await;
    let chief = app.token(Role::Chief);
    // A second action over one sub-grid only; the demo's first action is left as it is.
    let sub = app.roster.nodes().iter().find(|n| n.parent == Some(1)).unwrap().id;
    let point = app.roster.points()[0].id;
    let action = app.create_action("第2分网格复检", &[sub], &[point]).await;
    let events_of = |action: i64, e: Value| {
        let mut e = e;
        e["id"] = json!(Uuid::now_v7());
        app.client.post(format!("{}/api/actions/{action}/events", app.base)).json(&json!({ "events": [e] }))
    };
    let opened = events_of(action, json!({ "type": "action_opened" })).bearer_auth(&chief).send().await.unwrap();
    assert_eq!(opened.status(), 200);
    let inside_idx = (0..app.roster.residents().len())
        .find(|&i| app.roster.ancestors(app.roster.resident_node_idx(i)).contains(&app.roster.node_idx(sub).unwrap()))
        .unwrap();
    let stranger_idx = (0..app.roster.residents().len())
        .find(|&i| !app.roster.ancestors(app.roster.resident_node_idx(i)).contains(&app.roster.node_idx(sub).unwrap()))
        .unwrap();
    let (inside, stranger) = (app.roster.residents()[inside_idx].id, app.roster.residents()[stranger_idx].id);
    let before: Value = app.get_json(&format!("/api/actions/{action}"), &chief).await;
    let op = app.operator_of(point);
    for r in [inside, stranger, stranger] {
        let sampled = json!({ "type": "resident_sampled", "resident_id": r, "point_id": point });
        let answer = events_of(action, sampled).bearer_auth(&op).send().await.unwrap();
        assert_eq!(answer.status(), 200, "never refuse a swab");
    }
    let after: Value = app.get_json(&format!("/api/actions/{action}"), &chief).await;
    assert_eq!(after["totals"]["target"], before["totals"]["target"], "no target moved");
    assert_eq!(after["totals"]["sampled"].as_i64().unwrap() - before["totals"]["sampled"].as_i64().unwrap(), 1);
    assert_eq!(after["totals"]["scans"], 3);
    assert_eq!(after["pace"]["outside"], 1, "one person from outside, sampled twice");
    let p = after["points"].as_array().unwrap().iter().find(|p| p["id"] == point).unwrap().clone();
    assert_eq!((p["count"].as_i64(), p["outside"].as_i64()), (Some(3), Some(2)));
}

#[tokio::test]
async fn a_walk_in_is_sampled_queued_and_merged_into_one_person_with_one_sample() {
    let app = spawn_app().await;
    let point = app.roster.points()[0].id;
    let op = app.operator_of(point);
    let chief = app.token(Role::Chief);
    let walk = |k: u32| json!({ "type": "walk_in_sampled", "walk_in": walk_in(k), "point_id": point });
    assert_eq!(post(&app, &op, vec![walk(1)]).await.0, 200);
    assert_eq!(post(&app, &op, vec![walk(2)]).await.0, 200);
    // The same person again: a second sample, still one walk-in.
    assert_eq!(post(&app, &op, vec![walk(1)]).await.0, 200);
    let snap = app.snapshot().await;
    assert_eq!(snap["pace"]["walk_ins"], 2);
    let p = snap["points"].as_array().unwrap().iter().find(|p| p["id"] == point).unwrap().clone();
    assert_eq!(p["walk_ins"], 3);

    // A walk-in whose number is on the roster is refused with the resident to sample instead.
    let resident = &app.roster.residents()[0];
    let mut on_roster = walk_in(3);
    on_roster["id_number"] = json!(resident.id_number.expose());
    let (status, body) =
        post(&app, &op, vec![json!({ "type": "walk_in_sampled", "walk_in": on_roster, "point_id": point })]).await;
    assert_eq!(
        (status, body["code"].as_str(), body["resident_id"].as_i64()),
        (422, Some("on_the_roster"), Some(resident.id))
    );
    let mut broken = walk_in(4);
    broken["id_number"] = json!("110101199001010000");
    let (status, body) =
        post(&app, &op, vec![json!({ "type": "walk_in_sampled", "walk_in": broken, "point_id": point })]).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("events[0].walk_in.id_number")), "{body}");

    // The clerk's queue, and a merge with a resident not yet sampled: one person, one sample.
    let queue = app.get_json(&format!("/api/actions/{}/walk-ins", app.action_id), &chief).await;
    let first = &queue["walk_ins"][0];
    assert_eq!((first["name"].as_str(), first["samples"].as_u64()), (Some("外来1"), Some(2)));
    assert!(first["id_number"].as_str().unwrap().contains("**********"));
    let seq = first["seq"].as_i64().unwrap();
    let target = app.roster.residents().iter().rev().find(|r| app.point_of(r.id) != point).unwrap().id;
    let before = app.snapshot().await;
    let merge = json!({ "id": Uuid::now_v7(), "decision": "merge", "resident_id": target });
    assert_eq!(decide(&app, &op, seq, merge.clone()).await.0, 403, "the clerk decides, not the point");
    // Not through the events door either: every decision is audited.
    let resolved =
        json!({ "type": "walk_in_resolved", "walk_in_seq": seq, "resolution": "merged", "resident_id": target });
    let (status, body) = post(&app, &chief, vec![resolved]).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("events[0].type")), "{body}");
    assert_eq!(decide(&app, &chief, seq, merge.clone()).await.0, 200);
    let (status, body) = decide(&app, &chief, seq, merge.clone()).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("repeat")), "the same decision sent again");
    let mut again = merge;
    again["id"] = json!(Uuid::now_v7());
    let (status, body) = decide(&app, &chief, seq, again).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("walk_in_already_resolved")));
    let after = app.snapshot().await;
    assert_eq!(after["totals"]["sampled"].as_i64().unwrap(), before["totals"]["sampled"].as_i64().unwrap() + 1);
    assert_eq!(after["totals"]["scans"], before["totals"]["scans"], "no sample was added: it moved");
    assert_eq!(after["pace"]["walk_ins"], 1);
    let second = queue["walk_ins"][1]["seq"].as_i64().unwrap();
    let reject = json!({ "id": Uuid::now_v7(), "decision": "reject", "note": "重复登记" });
    assert_eq!(decide(&app, &chief, second, reject).await.0, 200);
    assert_eq!(app.snapshot().await["pace"]["walk_ins"], 0);
    // Each decision is in the audit log.
    let audit = app.get_json("/api/audit", &app.token(Role::Admin)).await;
    let decided = audit["entries"].as_array().unwrap().iter().filter(|e| e["what"] == "decide_walk_in").count();
    assert_eq!(decided, 2, "{audit}");
}

#[tokio::test]
async fn a_walk_in_confirmed_into_the_roster_is_one_new_resident_sampled_once_even_when_sent_twice() {
    let app = spawn_app().await;
    let point = app.roster.points()[0].id;
    let chief = app.token(Role::Chief);
    let walk = json!({ "type": "walk_in_sampled", "walk_in": walk_in(7), "point_id": point });
    assert_eq!(post(&app, &app.operator_of(point), vec![walk]).await.0, 200);
    let queue = app.get_json(&format!("/api/actions/{}/walk-ins", app.action_id), &chief).await;
    let seq = queue["walk_ins"][0]["seq"].as_i64().unwrap();
    let household = app.roster.households()[3].id;
    let before = app.snapshot().await;
    let id = Uuid::now_v7();
    let confirm = |household: i64| {
        app.client
            .post(format!("{}/api/actions/{}/walk-ins/{seq}", app.base, app.action_id))
            .bearer_auth(&chief)
            .json(&json!({ "id": id, "decision": "confirm", "household_id": household }))
    };
    let first: Value = confirm(household).send().await.unwrap().json().await.unwrap();
    assert_eq!(first["status"], "new", "{first}");
    let resident = first["resident_id"].as_i64().unwrap();
    let again = confirm(household).send().await.unwrap();
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!((again["status"].as_str(), again["resident_id"].as_i64()), (Some("repeat"), Some(resident)));

    let after = app.snapshot().await;
    let moved = |f: &str| after["totals"][f].as_i64().unwrap() - before["totals"][f].as_i64().unwrap();
    assert_eq!((moved("target"), moved("sampled"), moved("scans")), (1, 1, 0), "one new resident, sampled once");
    assert_eq!(after["pace"]["walk_ins"], 0);
    let store = muster::store::open(&app.db_url).await.unwrap();
    let roster = store.load_roster().await.unwrap();
    let added: Vec<_> = roster.residents.iter().filter(|r| r.name == "外来7").collect();
    assert_eq!(added.len(), 1, "one person on the roster");
    assert_eq!((added[0].id, added[0].household_id), (resident, household));
    // Confirming a walk-in already decided on, or into a household that does not exist.
    let other = Uuid::now_v7();
    let r = app
        .client
        .post(format!("{}/api/actions/{}/walk-ins/{seq}", app.base, app.action_id))
        .bearer_auth(&chief)
        .json(&json!({ "id": other, "decision": "confirm", "household_id": household }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let r = app
        .client
        .post(format!("{}/api/actions/{}/walk-ins/999", app.base, app.action_id))
        .bearer_auth(&chief)
        .json(&json!({ "id": Uuid::now_v7(), "decision": "confirm", "household_id": 9_999_999 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
}
