//! The roster by hand, for the night's changes: a substitute grid member added at 23:40
//! and paired at 23:41, a member taken off duty, a sampling point opened in the school
//! yard — by the same rules as the roster sheet.

use crate::helpers::{TestApp, missing_of, spawn_app};
use muster::roster::Role;
use serde_json::{Value, json};
use uuid::Uuid;

async fn send(app: &TestApp, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = app.client.request(method, format!("{}{path}", app.base)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_substitute_added_by_hand_is_paired_at_once_and_takes_over_the_grid() {
    let app = spawn_app().await;
    let chief = app.token(Role::Chief);
    let away = app.roster.staff().iter().find(|s| s.role == Role::GridMember).unwrap().clone();
    let grid = away.nodes[0];
    let missing_before = missing_of(&app.snapshot().await, away.id);
    assert!(missing_before > 0);

    // Each of the sheet's rules, by hand.
    let add = |body: Value| send(&app, &chief, "POST", "/api/staff", Some(body));
    let (status, body) = add(json!({ "name": " ", "role": "grid_member", "nodes": [grid] })).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("name")));
    let (status, body) =
        add(json!({ "name": "赵代班", "phone": "1390000", "role": "grid_member", "nodes": [grid] })).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("phone")));
    let (status, body) = add(json!({ "name": "赵代班", "role": "grid_member", "nodes": [] })).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("nodes")));
    let (status, body) = add(json!({ "name": "赵代班", "role": "operator" })).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("point_id")));
    let (status, body) = add(json!({ "name": "赵代班", "role": "grid_member", "nodes": [999_999] })).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("nodes")));
    let taken = away.phone.as_ref().unwrap().expose().to_owned();
    let (status, body) = add(json!({ "name": "赵代班", "phone": taken, "role": "grid_member", "nodes": [grid] })).await;
    assert_eq!((status, body["code"].as_str(), body["staff_id"].as_i64()), (409, Some("phone_taken"), Some(away.id)));
    let (status, _) = add(json!({ "name": "赵代班", "role": "chief", "nodes": [1] })).await;
    assert_eq!(status, 403, "a chief adds no one at their own rank");

    let (status, made) =
        add(json!({ "name": "赵代班", "phone": "13955556666", "role": "grid_member", "nodes": [grid] })).await;
    assert_eq!(status, 201, "{made}");
    let substitute = made["id"].as_i64().unwrap();
    assert_eq!(made["nodes"][0]["id"], grid);
    assert_eq!(made["phone"], "13955556666", "the chief sees phones");

    // Paired at once; the grid's missing residents answer to them now.
    let (status, code) = send(&app, &chief, "POST", &format!("/api/staff/{substitute}/pairing-codes"), None).await;
    assert_eq!(status, 201);
    let paired = app.client.post(format!("{}/api/auth/pair", app.base)).json(&json!({ "code": code["code"] }));
    let paired: Value = paired.send().await.unwrap().json().await.unwrap();
    let token = paired["token"].as_str().unwrap().to_owned();
    let snapshot = app.snapshot().await;
    assert_eq!(missing_of(&snapshot, substitute), missing_before);
    let (status, list) =
        send(&app, &token, "GET", &format!("/api/actions/{}/missing?limit=500", app.action_id), None).await;
    assert_eq!(status, 200);
    assert_eq!(list["residents"].as_array().unwrap().len() as i64, missing_before, "{list}");

    // The one away is taken off duty: signed out at once, listed no more, no way back in.
    let away_token = app.token_of(away.id);
    let (status, card) = send(&app, &chief, "POST", &format!("/api/staff/{}/pairing-codes", away.id), None).await;
    assert_eq!(status, 201, "a pairing card printed before they left");
    let password = json!({ "password": "大华山村委会2022春夜" });
    let (admin, path) = (app.token(Role::Admin), format!("/api/staff/{}/password", away.id));
    assert_eq!(send(&app, &admin, "PUT", &path, Some(password)).await.0, 204);
    let sign_in = json!({ "phone": taken, "password": "大华山村委会2022春夜" });
    assert_eq!(send(&app, &chief, "POST", &format!("/api/staff/{}/retire", away.id), None).await.0, 204);
    assert_eq!(send(&app, &away_token, "GET", "/api/me", None).await.0, 401);
    let login = app.client.post(format!("{}/api/auth/login", app.base)).json(&sign_in).send().await.unwrap();
    assert_eq!(login.status(), 401, "a retired member's password signs in to nothing");
    let pair = app.client.post(format!("{}/api/auth/pair", app.base)).json(&json!({ "code": card["code"] }));
    assert_eq!(pair.send().await.unwrap().status(), 401, "nor does their old pairing card");
    let (_, staff) = send(&app, &chief, "GET", "/api/staff", None).await;
    assert!(staff.as_array().unwrap().iter().all(|s| s["id"] != away.id));
    assert_eq!(send(&app, &chief, "POST", &format!("/api/staff/{}/retire", away.id), None).await.0, 404);
    assert_eq!(missing_of(&app.snapshot().await, substitute), missing_before);

    // A name corrected; the admin is out of the chief's reach.
    let (status, changed) =
        send(&app, &chief, "PATCH", &format!("/api/staff/{substitute}"), Some(json!({ "name": "赵建华" }))).await;
    assert_eq!((status, changed["name"].as_str()), (200, Some("赵建华")));
    let admin = app.roster.staff().iter().find(|s| s.role == Role::Admin).unwrap().id;
    assert_eq!(send(&app, &chief, "POST", &format!("/api/staff/{admin}/retire"), None).await.0, 403);
    let (status, body) = send(&app, &app.token(Role::Admin), "POST", &format!("/api/staff/{admin}/retire"), None).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("last_admin")));
}

#[tokio::test]
async fn a_point_opened_by_hand_scans_at_once_and_a_closed_one_scans_no_more() {
    let app = spawn_app().await;
    let chief = app.token(Role::Chief);
    let member = app.roster.staff().iter().find(|s| s.role == Role::GridMember).unwrap();
    let grid = member.nodes[0];
    let resident = app
        .roster
        .residents()
        .iter()
        .find(|r| app.roster.household(r.household_id).unwrap().node_id == grid)
        .unwrap()
        .id;

    let open = |body: Value| send(&app, &chief, "POST", "/api/points", Some(body));
    let (status, body) = open(json!({ "name": "小学操场", "nodes": [] })).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("nodes")));
    let existing = app.roster.points()[0].name.clone();
    let (status, body) = open(json!({ "name": existing, "nodes": [grid] })).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("point_name_taken")));
    let (status, point) = open(json!({ "name": "小学操场", "place": "村小学", "nodes": [grid] })).await;
    assert_eq!(status, 201, "{point}");
    let point = point["id"].as_i64().unwrap();
    let (_, points) = send(&app, &chief, "GET", "/api/points", None).await;
    let listed = points.as_array().unwrap().iter().find(|p| p["id"] == point).unwrap().clone();
    assert_eq!((listed["place"].as_str(), listed["operators"].as_i64()), (Some("村小学"), Some(0)));

    let (status, op) = send(
        &app,
        &chief,
        "POST",
        "/api/staff",
        Some(json!({ "name": "钱采样", "role": "operator", "point_id": point })),
    )
    .await;
    assert_eq!(status, 201, "{op}");
    let op_id = op["id"].as_i64().unwrap();
    let op_token = app.new_session(op_id).await;
    // An action names its points when it is planned: the next round's includes this one.
    let plan = json!({ "kind": "testing", "name": "第2轮", "scope": [grid], "points": [point] });
    let (status, action) = send(&app, &chief, "POST", "/api/actions", Some(plan)).await;
    assert_eq!(status, 201, "{action}");
    let action = action["id"].as_i64().unwrap();
    let opened = json!({ "events": [{ "id": Uuid::now_v7(), "type": "action_opened" }] });
    assert_eq!(send(&app, &chief, "POST", &format!("/api/actions/{action}/events"), Some(opened)).await.0, 200);
    let scans = format!("/api/actions/{action}/scans");
    let scan = |id: Uuid| {
        let body = json!({ "id": id, "resident_id": resident, "point_id": point });
        send(&app, &op_token, "POST", &scans, Some(body))
    };
    assert_eq!(scan(Uuid::now_v7()).await.0, 201);
    let (_, points) = send(&app, &chief, "GET", "/api/points", None).await;
    assert_eq!(points.as_array().unwrap().iter().find(|p| p["id"] == point).unwrap()["operators"], 1);

    assert_eq!(send(&app, &chief, "POST", &format!("/api/points/{point}/retire"), None).await.0, 204);
    let (_, points) = send(&app, &chief, "GET", "/api/points", None).await;
    assert!(points.as_array().unwrap().iter().all(|p| p["id"] != point));
    let (after, body) = scan(Uuid::now_v7()).await;
    assert!(matches!(after, 403 | 404 | 422), "a closed point scans no more: {after} {body}");
    let (_, staff) = send(&app, &chief, "GET", "/api/staff", None).await;
    let op = staff.as_array().unwrap().iter().find(|s| s["id"] == op_id).unwrap().clone();
    assert_eq!(op["point"], Value::Null, "its operator waits for another point");
}
