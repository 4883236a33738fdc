//! The chase: a grid member's households, ticks on residents and households, home visits,
//! and what each refuses.

use crate::helpers::{Socket, TestApp, checked_log, next_message, spawn_app};
use muster::roster::{Role, Roster, Staff};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

fn member(roster: &Roster) -> &Staff {
    roster.staff().iter().find(|s| s.role == Role::GridMember).unwrap()
}

/// The residents a staff member answers for, by id, in roster order.
fn residents_of(roster: &Roster, staff: &Staff) -> Vec<i64> {
    let nodes: Vec<usize> = staff.nodes.iter().filter_map(|n| roster.node_idx(*n)).collect();
    (0..roster.residents().len())
        .filter(|&i| roster.ancestors(roster.resident_node_idx(i)).iter().any(|a| nodes.contains(a)))
        .map(|i| roster.residents()[i].id)
        .collect()
}

async fn households(app: &TestApp, token: &str, query: &str) -> Value {
    app.get_json(&format!("/api/actions/{}/households{query}", app.action_id), token).await
}

/// Posts one event as the holder of `token`; the answer's status and JSON.
async fn post(app: &TestApp, token: &str, id: Uuid, event: Value) -> (u16, Value) {
    let mut e = event;
    e["id"] = json!(id);
    let r = app.post_events(token, json!({ "events": [e] })).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

fn tick(resident: i64, chase: &str) -> Value {
    json!({ "type": "resident_ticked", "resident_id": resident, "chase": chase })
}

fn resident(page: &Value, id: i64) -> &Value {
    page["households"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["residents"].as_array().unwrap())
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("resident {id} is listed"))
}

async fn connect_as(app: &TestApp, token: &str, after: i64) -> Socket {
    let url = format!("ws://{}/api/actions/{}/live?token={token}&after={after}", app.addr, app.action_id);
    tokio_tungstenite::connect_async(url).await.expect("the WebSocket connects").0
}

#[tokio::test]
async fn a_grid_member_lists_exactly_their_households_with_someone_missing_first() {
    let app = spawn_app().await;
    let me = member(&app.roster);
    let mine = residents_of(&app.roster, me);
    let token = app.token_of(me.id);
    // Everyone of the first household sampled: it goes to the end of the list.
    let first_household = app.roster.residents().iter().find(|r| r.id == mine[0]).unwrap().household_id;
    let whole: Vec<i64> =
        app.roster.residents().iter().filter(|r| r.household_id == first_household).map(|r| r.id).collect();
    for r in &whole {
        assert_eq!(app.scan(Uuid::now_v7(), *r).await.status(), 201);
    }

    let page = households(&app, &token, "").await;
    let listed: Vec<i64> = page["households"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["residents"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()))
        .collect();
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, mine, "exactly the member's residents, each once");
    let last = page["households"].as_array().unwrap().last().unwrap();
    assert_eq!(last["id"], first_household, "a household with nobody missing comes last");
    assert_eq!(resident(&page, whole[0])["live"]["status"], "sampled");
    assert!(resident(&page, whole[0])["live"]["point"].as_str().unwrap().contains("号采集点"));
    assert!(page["next"].is_null());
    assert_eq!(page["staff"][0]["id"], me.id);
    let phone = resident(&page, mine[1])["phone"].as_str();
    assert!(phone.is_none_or(|p| !p.contains('*')), "a grid member sees the numbers they must call");

    // Operators and viewers have no households; a stranger's action is not found.
    let operator = app.operator_of(1);
    let refused: Value = households(&app, &operator, "").await;
    assert_eq!(refused["code"], "forbidden");
}

#[tokio::test]
async fn a_tick_is_recorded_once_and_goes_live_to_the_member_and_the_command_centre() {
    let app = spawn_app().await;
    let me = member(&app.roster);
    let target = residents_of(&app.roster, me)[0];
    let token = app.token_of(me.id);
    let seq = households(&app, &token, "").await["seq"].as_i64().unwrap();
    let mut phone = connect_as(&app, &token, seq).await;

    let id = Uuid::now_v7();
    let noted = json!({ "type": "resident_ticked", "resident_id": target, "chase": "on_the_way", "note": "骑车来" });
    let (status, first) = post(&app, &token, id, noted.clone()).await;
    assert_eq!(status, 200, "{first}");
    let (_, again) = post(&app, &token, id, noted).await;
    assert_eq!(
        (first["results"][0]["status"].as_str(), again["results"][0]["status"].as_str()),
        (Some("new"), Some("repeat"))
    );
    assert_eq!(first["results"][0]["seq"], again["results"][0]["seq"]);
    assert_eq!(checked_log(&app).await.iter().filter(|e| e.new.client_id == id).count(), 1);

    // The member's phone hears of their resident by name of id, with the tick.
    let delta = loop {
        let m = next_message(&mut phone).await;
        if m["residents"].is_array() {
            break m;
        }
    };
    let live = &delta["residents"][0];
    assert_eq!((live["id"].as_i64(), live["chase"].as_str()), (Some(target), Some("on_the_way")));
    assert_eq!(live["note"], "骑车来");
    assert_eq!(live["history"].as_array().unwrap().len(), 1);
    assert_eq!(delta["pace"]["chase"]["on_the_way"], 1, "the member's own chase counts");

    // The command centre counts it among the missing.
    let centre = app.snapshot().await;
    assert_eq!(centre["pace"]["chase"]["on_the_way"], 1);
    assert_eq!(centre["totals"]["missing"], 2676);
}

#[tokio::test]
async fn a_sample_beats_every_tick_and_a_late_tick_does_not_undo_a_later_one() {
    let app = spawn_app().await;
    let me = member(&app.roster);
    let target = residents_of(&app.roster, me)[0];
    let token = app.token_of(me.id);
    let now = time::OffsetDateTime::now_utc();
    let at = |minutes_ago: i64| (now - time::Duration::minutes(minutes_ago)).format(&Rfc3339).unwrap();

    let mut late = tick(target, "notified");
    late["device_time"] = json!(at(30));
    let mut latest = tick(target, "unreachable");
    latest["device_time"] = json!(at(5));
    assert_eq!(post(&app, &token, Uuid::now_v7(), latest).await.0, 200);
    assert_eq!(post(&app, &token, Uuid::now_v7(), late).await.0, 200, "a tick queued offline half an hour ago");
    let page = households(&app, &token, "").await;
    let live = &resident(&page, target)["live"];
    assert_eq!(live["chase"], "unreachable", "the latest by the phone's clock is current");
    let history: Vec<&str> = live["history"].as_array().unwrap().iter().map(|t| t["chase"].as_str().unwrap()).collect();
    assert_eq!(history, ["notified", "unreachable"], "history in the order the ticks were made");
    assert_eq!(app.snapshot().await["pace"]["chase"]["unreachable"], 1);

    assert_eq!(app.scan(Uuid::now_v7(), target).await.status(), 201);
    let page = households(&app, &token, "").await;
    let live = &resident(&page, target)["live"];
    assert_eq!(live["status"], "sampled", "a sample wins");
    assert_eq!(live["history"].as_array().unwrap().len(), 2, "the ticks stay in the history");
    assert_eq!(app.snapshot().await["pace"]["chase"]["unreachable"], 0, "a sampled resident is not chased");
}

#[tokio::test]
async fn away_is_said_once_as_an_exemption_and_shows_as_the_chase() {
    let app = spawn_app().await;
    let me = member(&app.roster);
    let target = residents_of(&app.roster, me)[1];
    let token = app.token_of(me.id);
    let (status, refused) = post(&app, &token, Uuid::now_v7(), tick(target, "away")).await;
    assert_eq!((status, refused["code"].as_str()), (422, Some("away_is_an_exemption")));
    assert!(refused["message"].as_str().unwrap().contains("免检"));

    let away = json!({ "type": "exemption_set", "resident_id": target, "reason": "away", "note": "浙江" });
    assert_eq!(post(&app, &token, Uuid::now_v7(), away).await.0, 200);
    let live = resident(&households(&app, &token, "").await, target)["live"].clone();
    assert_eq!((live["status"].as_str(), live["exempt_reason"].as_str()), (Some("exempt"), Some("away")));
    assert_eq!((live["chase"].as_str(), live["note"].as_str()), (Some("away"), Some("浙江")));
}

#[tokio::test]
async fn nobody_home_on_a_household_ticks_each_of_its_residents() {
    let app = spawn_app().await;
    let me = member(&app.roster);
    let token = app.token_of(me.id);
    let first = residents_of(&app.roster, me)[0];
    let household = app.roster.residents().iter().find(|r| r.id == first).unwrap().household_id;
    let size = app.roster.residents().iter().filter(|r| r.household_id == household).count() as i64;
    let event = json!({ "type": "household_ticked", "household_id": household, "chase": "nobody_home" });
    assert_eq!(post(&app, &token, Uuid::now_v7(), event).await.0, 200);
    assert_eq!(app.snapshot().await["pace"]["chase"]["nobody_home"], size);
    let page = households(&app, &token, "").await;
    let h = page["households"].as_array().unwrap().iter().find(|h| h["id"] == household).unwrap();
    assert!(h["residents"].as_array().unwrap().iter().all(|r| r["live"]["chase"] == "nobody_home"));
}

#[tokio::test]
async fn a_bedridden_tick_is_a_home_visit_one_medic_takes_and_the_sample_at_home_closes() {
    let app = spawn_app().await;
    let me = member(&app.roster);
    let target = residents_of(&app.roster, me)[2];
    let (token, medic) = (app.token_of(me.id), app.token(Role::Medic));
    let medic_point = app.roster.staff().iter().find(|s| s.role == Role::Medic).unwrap().point_id.unwrap();
    assert_eq!(households(&app, &medic, "?visits=true").await["households"].as_array().unwrap().len(), 0);

    assert_eq!(post(&app, &token, Uuid::now_v7(), tick(target, "bedridden")).await.0, 200);
    let visits = households(&app, &medic, "?visits=true").await;
    assert_eq!(visits["households"].as_array().unwrap().len(), 1);
    let live = &resident(&visits, target)["live"];
    assert!(live["visit"]["requested_at"].is_string() && live["visit"]["taken_by"].is_null());
    assert_eq!(visits["staff"][0]["name"], me.name, "the medic sees whose resident it is");
    assert_eq!(app.snapshot().await["pace"]["chase"]["visits_pending"], 1);

    let take = json!({ "type": "visit_taken", "resident_id": target });
    assert_eq!(post(&app, &medic, Uuid::now_v7(), take.clone()).await.0, 200);
    let (status, twice) = post(&app, &medic, Uuid::now_v7(), take).await;
    assert_eq!((status, twice["code"].as_str()), (409, Some("visit_already_taken")));
    let centre = app.snapshot().await;
    assert_eq!(
        (centre["pace"]["chase"]["visits_pending"].as_i64(), centre["pace"]["chase"]["visits_taken"].as_i64()),
        (Some(0), Some(1))
    );
    let taken = resident(&households(&app, &token, "").await, target)["live"]["visit"].clone();
    assert!(taken["taken_by_name"].is_string(), "the grid member sees the visit taken: {taken}");

    let sample = json!({ "type": "resident_sampled", "resident_id": target, "point_id": medic_point, "at_home": true });
    assert_eq!(post(&app, &medic, Uuid::now_v7(), sample).await.0, 200);
    let live = resident(&households(&app, &token, "").await, target)["live"].clone();
    assert_eq!((live["status"].as_str(), live["at_home"].as_bool()), (Some("sampled"), Some(true)));
    assert!(live["visit"].is_null(), "the request is closed");
    assert_eq!(households(&app, &medic, "?visits=true").await["households"].as_array().unwrap().len(), 0);
    let centre = app.snapshot().await;
    assert_eq!(
        (centre["pace"]["chase"]["visits_taken"].as_i64(), centre["totals"]["sampled"].as_i64()),
        (Some(0), Some(1))
    );
    let (status, none) =
        post(&app, &medic, Uuid::now_v7(), json!({ "type": "visit_taken", "resident_id": target })).await;
    assert_eq!((status, none["code"].as_str()), (409, Some("no_visit_pending")));
}

#[tokio::test]
async fn bad_ticks_get_a_clear_answer_and_change_nothing() {
    let app = spawn_app().await;
    let me = member(&app.roster);
    let token = app.token_of(me.id);
    let mine = residents_of(&app.roster, me);
    let stranger = app.roster.residents().iter().map(|r| r.id).find(|r| !mine.contains(r)).unwrap();
    let before = checked_log(&app).await.len();

    let cases = [
        (tick(mine[0], "sleeping"), 400, "invalid_field"),
        (tick(stranger, "notified"), 403, "out_of_your_scope"),
        (
            json!({ "type": "resident_ticked", "resident_id": mine[0], "chase": "notified", "note": "长".repeat(10_000) }),
            400,
            "note_too_long",
        ),
        (
            json!({ "type": "household_ticked", "household_id": 999_999, "chase": "nobody_home" }),
            422,
            "unknown_household",
        ),
        (json!({ "type": "visit_taken", "resident_id": mine[0] }), 403, "forbidden"),
    ];
    for (event, status, code) in cases {
        let (got, answer) = post(&app, &token, Uuid::now_v7(), event.clone()).await;
        assert_eq!((got, answer["code"].as_str()), (status, Some(code)), "{event}: {answer}");
        assert!(
            answer["message"].as_str().is_some_and(|m| m.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))),
            "{answer}"
        );
    }
    assert_eq!(checked_log(&app).await.len(), before, "nothing appended");

    assert_eq!(app.record(Role::Chief, json!({ "type": "action_closed" })).await.status(), 200);
    let (got, answer) = post(&app, &token, Uuid::now_v7(), tick(mine[0], "notified")).await;
    assert_eq!((got, answer["code"].as_str()), (409, Some("action_closed")));
    assert_eq!(checked_log(&app).await.len(), before + 1, "only the close");
    assert_eq!(app.snapshot().await["seq"].as_i64(), Some(before as i64 + 1), "the server still serves");
}

#[tokio::test]
async fn a_visit_waiting_longer_than_the_chief_allows_is_late() {
    let app = spawn_app().await;
    let me = member(&app.roster);
    let target = residents_of(&app.roster, me)[3];
    let token = app.token_of(me.id);
    let mut asked = tick(target, "bedridden");
    let long_ago = time::OffsetDateTime::now_utc() - time::Duration::minutes(40);
    asked["device_time"] = json!(long_ago.format(&Rfc3339).unwrap());
    assert_eq!(post(&app, &token, Uuid::now_v7(), asked).await.0, 200);
    // The clock of the action moves with its events: one more, now.
    assert_eq!(app.scan(Uuid::now_v7(), residents_of(&app.roster, me)[4]).await.status(), 201);
    let pace = &app.snapshot().await["pace"];
    assert_eq!((pace["visits_late"].as_i64(), pace["visit_minutes"].as_i64()), (Some(1), Some(30)));

    let chief = app.token(Role::Chief);
    let (status, answer) = post(&app, &chief, Uuid::now_v7(), json!({ "type": "visit_wait_set", "minutes": 0 })).await;
    assert_eq!(
        (status, answer["code"].as_str(), answer["field"].as_str()),
        (400, Some("invalid_field"), Some("events[0].minutes"))
    );
    let (status, answer) = post(&app, &token, Uuid::now_v7(), json!({ "type": "visit_wait_set", "minutes": 60 })).await;
    assert_eq!((status, answer["code"].as_str()), (403, Some("forbidden")), "a grid member does not set it");
    assert_eq!(post(&app, &chief, Uuid::now_v7(), json!({ "type": "visit_wait_set", "minutes": 60 })).await.0, 200);
    let pace = &app.snapshot().await["pace"];
    assert_eq!((pace["visits_late"].as_i64(), pace["visit_minutes"].as_i64()), (Some(0), Some(60)));
    let head = app.roster.staff().iter().find(|s| {
        s.role == Role::GridHead
            && s.nodes.iter().any(|n| {
                let grid = app.roster.node_idx(me.nodes[0]).unwrap();
                app.roster.node_idx(*n).is_some_and(|h| app.roster.ancestors(grid).contains(&h))
            })
    });
    if let Some(head) = head {
        let view = app.get_json(&format!("/api/actions/{}", app.action_id), &app.token_of(head.id)).await;
        assert_eq!(view["pace"]["chase"]["visits_pending"], 1, "the head's own chase counts");
    }
}
