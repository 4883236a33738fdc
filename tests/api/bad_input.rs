//! Bad input: a clear 4xx with a machine code, nothing appended, the server keeps serving.

use crate::helpers::{TestApp, spawn_app};
use muster::roster::Role;
use serde_json::{Value, json};
use uuid::Uuid;

async fn problem(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "a message for a person: {body}");
    (status, body)
}

async fn post_raw(app: &TestApp, token: Option<&str>, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
    let mut req = app
        .client
        .post(format!("{}/api/actions/{}/{path}", app.base, app.action_id))
        .header("content-type", "application/json")
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

/// Checks that an answer is a problem with the expected status and code.
async fn refused(expected: (u16, &str), response: reqwest::Response) -> Value {
    let (status, body) = problem(response).await;
    assert_eq!((status, body["code"].as_str().unwrap()), expected, "{body}");
    body
}

#[tokio::test]
async fn bad_scans_get_a_clear_code_and_leave_the_log_untouched() {
    let app = spawn_app().await;
    assert_eq!(app.scan(Uuid::now_v7(), 1).await.status(), 201);
    let before = app.snapshot().await;
    let op = app.token(Role::Operator);

    refused((422, "unknown_resident"), app.scan_as(&op, Uuid::now_v7(), 999_999, 1).await).await;
    let chief = app.token(Role::Chief);
    refused((422, "unknown_point"), app.scan_as(&chief, Uuid::now_v7(), 2, 77).await).await;
    refused((403, "out_of_your_scope"), app.scan_as(&op, Uuid::now_v7(), 2, 77).await).await;
    let body = refused((400, "invalid_json"), post_raw(&app, Some(&op), "scans", "{\"id\": ").await).await;
    assert!(body["message"].as_str().unwrap().contains("line 1"), "says where: {body}");
    let body = refused(
        (400, "invalid_field"),
        post_raw(
            &app,
            Some(&op),
            "scans",
            json!({ "id": Uuid::now_v7(), "resident_id": "two", "point_id": 1 }).to_string(),
        )
        .await,
    )
    .await;
    assert_eq!(body["field"], "resident_id");
    let body = refused(
        (400, "invalid_field"),
        post_raw(
            &app,
            Some(&op),
            "scans",
            json!({ "id": Uuid::now_v7(), "resident_id": 2, "point_id": 1, "extra": 1 }).to_string(),
        )
        .await,
    )
    .await;
    assert!(body["message"].as_str().unwrap().contains("extra"), "{body}");
    let body = refused(
        (400, "invalid_field"),
        post_raw(
            &app,
            Some(&op),
            "scans",
            json!({ "id": Uuid::now_v7(), "id_number": "110105194912310021", "point_id": 1 }).to_string(),
        )
        .await,
    )
    .await;
    assert_eq!(body["field"], "id_number");
    assert!(body["message"].as_str().unwrap().contains("X"), "names the right check digit: {body}");
    let huge = json!({ "events": (0..40_000).map(|_| json!({ "id": Uuid::now_v7(), "type": "action_closed" })).collect::<Vec<_>>() });
    refused((413, "body_too_large"), post_raw(&app, Some(&op), "events", huge.to_string()).await).await;
    refused((401, "unauthorized"), post_raw(&app, None, "scans", "{}").await).await;
    refused((401, "unauthorized"), post_raw(&app, Some("garbage"), "scans", "{}").await).await;
    let viewer = app.token(Role::Viewer);
    refused((403, "forbidden"), app.scan_as(&viewer, Uuid::now_v7(), 2, app.point_of(2)).await).await;
    let r = app.client.get(format!("{}/api/actions/42", app.base)).bearer_auth(&op).send().await.unwrap();
    refused((404, "not_found"), r).await;

    // A batch with one bad event records none of it, and says which one.
    let batch = json!({ "events": [
        { "id": Uuid::now_v7(), "type": "resident_sampled", "resident_id": 2, "point_id": app.point_of(2) },
        { "id": Uuid::now_v7(), "type": "resident_sampled", "resident_id": 888_888, "point_id": 1 },
    ]});
    let body = refused((422, "unknown_resident"), app.post_events(&op, batch).await).await;
    assert!(body["message"].as_str().unwrap().contains("888888"), "{body}");

    assert_eq!(app.snapshot().await, before, "nothing was recorded");
    assert_eq!(app.client.get(format!("{}/healthz", app.base)).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_resident_outside_the_scope_is_sampled_but_not_exempted_and_a_closed_action_refuses_both() {
    let mut app = spawn_app().await;
    let chief = app.token(Role::Chief);
    // A second action covering only the first sub-grid.
    let sub_grid = app.roster.nodes().iter().find(|n| n.parent == Some(1)).unwrap().id;
    let created = app
        .client
        .post(format!("{}/api/actions", app.base))
        .bearer_auth(&chief)
        .json(&json!({ "kind": "testing", "name": "第2轮", "scope": [sub_grid], "points": [1, 2] }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    app.action_id = created.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let inside = app.roster.residents()[0].id;
    let outside = app.roster.residents().last().unwrap().id;
    let op = app.token(Role::Operator);

    refused((409, "action_not_open"), app.scan_as(&op, Uuid::now_v7(), inside, 1).await).await;
    assert_eq!(app.record(Role::Chief, json!({ "type": "action_opened" })).await.status(), 200);
    // Never refuse a swab: someone from outside the scope is sampled, counted apart; but
    // nobody outside it can be exempted from this action.
    assert_eq!(app.scan_as(&op, Uuid::now_v7(), outside, 1).await.status(), 201);
    let exempt = json!({ "type": "exemption_set", "resident_id": outside, "reason": "away" });
    refused((422, "out_of_scope"), app.record(Role::Chief, exempt).await).await;
    assert_eq!(app.scan_as(&op, Uuid::now_v7(), inside, 1).await.status(), 201);
    assert_eq!(app.record(Role::Chief, json!({ "type": "action_closed" })).await.status(), 200);
    let before = app.snapshot().await;
    refused((409, "action_closed"), app.scan_as(&op, Uuid::now_v7(), inside, 1).await).await;
    refused((409, "action_closed"), app.scan_as(&op, Uuid::now_v7(), outside, 1).await).await;
    assert_eq!(app.snapshot().await, before);
    assert_eq!(before["totals"]["sampled"], 1);
    assert_eq!(before["pace"]["outside"], 1);
    assert_eq!(before["seq"], 4);
}

#[tokio::test]
async fn paths_that_climb_out_of_the_pages_find_nothing() {
    let app = spawn_app().await;
    for path in [
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/web/../Cargo.toml",
        "/..%2fsrc%2fmain.rs",
        "/index.html/../../etc/passwd",
    ] {
        let r = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        assert!(status == 404 || status == 400, "{path}: {status}");
        assert!(!body.contains("[package]") && !body.contains("root:"), "{path} served a file outside web/");
    }
    let page = app.client.get(format!("{}/pair.html", app.base)).send().await.unwrap();
    assert_eq!(page.status(), 200, "the pages themselves are served");
}

#[tokio::test]
async fn every_answer_names_its_request_and_is_counted_by_route() {
    let app = spawn_app().await;
    let op = app.token(Role::Operator);
    let a = app.scan_as(&op, Uuid::now_v7(), 999_999, 1).await;
    let b = app.scan(Uuid::now_v7(), 1).await;
    let id = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let (first, second) = (id(&a), id(&b));
    assert!(!first.is_empty() && first != second, "each answer has its own id: {first}, {second}");

    // A client (or a proxy in front) that names its request gets the same name back.
    let named =
        app.client.get(format!("{}/healthz", app.base)).header("x-request-id", "clerk-desk-7").send().await.unwrap();
    assert_eq!(named.headers()["x-request-id"], "clerk-desk-7");

    let metrics = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    for status in ["422", "201"] {
        let line = format!(r#"method="POST",route="/api/actions/{{id}}/scans",status="{status}""#);
        assert!(metrics.contains(&line), "counted by route pattern and status ({line}):\n{metrics}");
    }
}

/// A refusal naming the field at fault.
async fn refused_field(expected: (u16, &str), field: &str, response: reqwest::Response) -> Value {
    let body = refused(expected, response).await;
    assert_eq!(body["field"], field, "{body}");
    body
}

#[tokio::test]
async fn a_bad_address_query_or_method_is_a_problem_naming_what_is_wrong() {
    let app = spawn_app().await;
    let chief = app.token(Role::Chief);
    let get = |path: String| app.client.get(format!("{}{path}", app.base)).bearer_auth(&chief).send();
    let a = app.action_id;

    refused_field((400, "invalid_field"), "id", get("/api/actions/abc".into()).await.unwrap()).await;
    refused_field((400, "invalid_field"), "id", get("/api/actions/9223372036854775808".into()).await.unwrap()).await;
    let pairing = app.client.post(format!("{}/api/staff/x/pairing-codes", app.base)).bearer_auth(&chief);
    refused_field((400, "invalid_field"), "id", pairing.send().await.unwrap()).await;
    refused_field((400, "invalid_field"), "limit", get(format!("/api/actions/{a}/missing?limit=-1")).await.unwrap())
        .await;
    refused_field((400, "invalid_field"), "cursor", get(format!("/api/actions/{a}/missing?cursor=x")).await.unwrap())
        .await;
    refused_field((400, "invalid_field"), "limit", get("/api/audit?limit=ten".into()).await.unwrap()).await;
    let after = get(format!("/api/actions/{a}/live?after=9223372036854775808")).await.unwrap();
    refused_field((400, "invalid_field"), "after", after).await;
    let import = app.client.post(format!("{}/api/roster/import?dry_run=maybe", app.base)).bearer_auth(&chief);
    refused_field((400, "invalid_field"), "dry_run", import.body("x").send().await.unwrap()).await;

    // The live route is a WebSocket: a plain request is told so.
    let plain = get(format!("/api/actions/{a}/live")).await.unwrap();
    assert_eq!(plain.headers()["upgrade"], "websocket");
    refused((426, "websocket_required"), plain).await;

    // A method a route does not answer, OPTIONS too, and a route that does not exist.
    let delete = app.client.delete(format!("{}/api/actions", app.base)).bearer_auth(&chief).send().await.unwrap();
    assert_eq!(delete.headers()["allow"], "GET,HEAD,POST");
    refused((405, "method_not_allowed"), delete).await;
    let options = app.client.request(reqwest::Method::OPTIONS, format!("{}/api/actions/{a}", app.base));
    refused((405, "method_not_allowed"), options.send().await.unwrap()).await;
    refused((404, "not_found"), get("/api/no-such-route".into()).await.unwrap()).await;

    // A body that is JSON but not an object.
    let member = app.roster.staff().iter().find(|s| s.role == Role::GridMember).unwrap().id;
    refused_field((400, "invalid_field"), ".", app.patch_staff(&chief, member, json!([null, null])).await).await;
}

#[tokio::test]
async fn impossible_ids_times_and_tube_codes_are_refused_and_record_nothing() {
    let app = spawn_app().await;
    let before = app.snapshot().await;
    let op = app.operator_of(app.point_of(2));
    let scan = |fields: Value| {
        let mut body = json!({ "id": Uuid::now_v7(), "resident_id": 2, "point_id": app.point_of(2) });
        body.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
        post_raw(&app, Some(&op), "scans", body.to_string())
    };
    let fmt = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap();
    let now = time::OffsetDateTime::now_utc();

    let nil = scan(json!({ "id": Uuid::nil() })).await;
    refused_field((400, "invalid_field"), "id", nil).await;
    let huge = scan(json!({ "tube": "T".repeat(900 * 1024) })).await;
    refused_field((400, "invalid_field"), "tube", huge).await;
    refused_field((400, "invalid_field"), "tube", scan(json!({ "tube": "T-1; DROP" })).await).await;
    refused_field((400, "invalid_field"), "tube", scan(json!({ "tube": "" })).await).await;
    let epoch = scan(json!({ "device_time": "1970-01-01T00:00:00Z" })).await;
    let body = refused_field((400, "invalid_field"), "device_time", epoch).await;
    assert!(body["message"].as_str().unwrap().contains("早于这次行动的计划日期"), "{body}");
    let ahead = scan(json!({ "device_time": fmt(now + time::Duration::days(2)) })).await;
    refused_field((400, "invalid_field"), "device_time", ahead).await;
    let batch = json!({ "events": [
        { "id": Uuid::now_v7(), "type": "resident_sampled", "resident_id": 2, "point_id": app.point_of(2), "tube": "TUBE-0001" },
        { "id": Uuid::nil(), "type": "resident_sampled", "resident_id": 3, "point_id": app.point_of(3) },
    ]});
    refused_field((400, "invalid_field"), "events[1].id", app.post_events(&op, batch).await).await;
    assert_eq!(app.snapshot().await, before, "nothing was recorded");

    // A good tube code (of a tube opened at the point) and a device time from an hour ago are fine.
    let opened = json!({ "events": [{ "id": Uuid::now_v7(), "type": "tube_opened", "tube": "HG-2022/04.22_001", "point_id": app.point_of(2) }] });
    assert_eq!(app.post_events(&op, opened).await.status(), 200);
    let good = scan(json!({ "tube": "HG-2022/04.22_001", "device_time": fmt(now - time::Duration::hours(1)) })).await;
    assert_eq!(good.status(), 201);

    let chief = app.token(Role::Chief);
    let plan = |open: time::OffsetDateTime, close: time::OffsetDateTime| {
        app.client
            .post(format!("{}/api/actions", app.base))
            .bearer_auth(&chief)
            .json(&json!({ "kind": "testing", "name": "第2轮", "scope": [1], "points": [1],
                           "planned_open": fmt(open), "planned_close": fmt(close) }))
            .send()
    };
    let backwards = plan(now + time::Duration::hours(3), now + time::Duration::hours(1)).await.unwrap();
    refused_field((400, "invalid_field"), "planned_close", backwards).await;
    assert_eq!(plan(now + time::Duration::hours(1), now + time::Duration::hours(3)).await.unwrap().status(), 201);
}
