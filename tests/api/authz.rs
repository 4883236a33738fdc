//! The authorization matrix, generated from the OpenAPI document: every route, for every
//! role, in and out of the caller's part of the roster, against the expected answer. A
//! route the document lists and this table does not fails the test.

use crate::helpers::{TestApp, spawn_app};
use muster::roster::Role;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use uuid::Uuid;

const ROLES: [Role; 8] = Role::ALL;

/// What a role should get.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Served (any status but 401, 403 and 404).
    Allow,
    /// Refused: 403, or 404 where existence itself is private.
    Deny,
    /// One of these statuses whoever asks (public routes given bad credentials).
    Status(&'static [u16]),
}

#[derive(Clone)]
struct Case {
    label: &'static str,
    method: &'static str,
    /// The concrete path (ids filled in).
    path: String,
    body: Option<Value>,
    /// Roles allowed; every other role is denied.
    allowed: &'static [Role],
    /// Overrides `allowed`: the same answer for everyone.
    status: Option<&'static [u16]>,
    /// Needs a session of its own (the request ends or revokes it).
    fresh_session: bool,
    /// Acts on a new grid member or sampling point made (by the admin) for each role's
    /// request, named `{fresh}` in the path: retiring one leaves none for the next role.
    fresh: Option<Fresh>,
}

#[derive(Debug, Clone, Copy)]
enum Fresh {
    Staff,
    Point,
    Channel,
}

impl Case {
    fn new(label: &'static str, method: &'static str, path: String, allowed: &'static [Role]) -> Self {
        Case { label, method, path, body: None, allowed, status: None, fresh_session: false, fresh: None }
    }

    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    fn expect(&self, role: Role) -> Expect {
        match self.status {
            Some(s) => Expect::Status(s),
            None if self.allowed.contains(&role) => Expect::Allow,
            None => Expect::Deny,
        }
    }
}

const ALL: &[Role] = &ROLES;
/// Who watches an action's live state: everyone but a lab (tubes and results only).
const WATCHERS: &[Role] =
    &[Role::Admin, Role::Chief, Role::GridHead, Role::GridMember, Role::Operator, Role::Medic, Role::Viewer];
const MANAGERS: &[Role] = &[Role::Admin, Role::Chief];
/// Who works a sampling point's page.
const SCANNERS: &[Role] = &[Role::Admin, Role::Chief, Role::Operator];

/// The table: for each documented route (`METHOD /path/{template}`), its cases.
async fn table(app: &TestApp, other_action: i64) -> Vec<(&'static str, Vec<Case>)> {
    let a = app.action_id;
    let roster = &app.roster;
    // Grid member #3 answers for grid 3 (in sub-grid 2, headed by #2); point 1 serves grid 3.
    let member = roster.staff().iter().find(|s| s.role == Role::GridMember).unwrap();
    let grid = member.nodes[0];
    let mine =
        roster.residents().iter().find(|r| roster.household(r.household_id).unwrap().node_id == grid).unwrap().id;
    let far = roster.residents().last().unwrap().id;
    let point = app.point_of(mine);
    let other_point = roster.points().iter().map(|p| p.id).find(|p| *p != point).unwrap();
    let exemption = |r: i64| json!({ "events": [{ "id": Uuid::now_v7(), "type": "exemption_set", "resident_id": r, "reason": "away" }] });
    let scan = |r: i64, p: i64| json!({ "id": Uuid::now_v7(), "resident_id": r, "point_id": p });
    let revoke_target = app.new_session(member.id).await.split('.').next().unwrap().to_owned();
    let chief = roster.staff().iter().find(|s| s.role == Role::Chief).unwrap().id;
    let admin = roster.staff().iter().find(|s| s.role == Role::Admin).unwrap().id;
    // Cards printed for a household of the grid member's, one far away, and a third that
    // the reissue case reissues (after the codes' cases, which resolve the first two).
    let household_of = |r: i64| roster.residents()[roster.resident_idx(r).unwrap()].household_id;
    let (my_household, far_household) = (household_of(mine), household_of(far));
    let reissued =
        roster.households().iter().map(|h| h.id).find(|h| ![my_household, far_household].contains(h)).unwrap();
    let store = muster::store::open(&app.db_url).await.unwrap();
    let now = time::OffsetDateTime::now_utc();
    let book = muster::cards::codes_for(store.as_ref(), roster, &[my_household, far_household], now).await.unwrap();
    let (my_card, far_card) = (book.households[&my_household].as_str(), book.households[&far_household].as_str());
    // A grid member no other case uses: the admin's case makes them a chief.
    let promoted = roster.staff().iter().filter(|s| s.role == Role::GridMember).nth(5).unwrap();
    // A tube at the first operator's point, for the tube look-up.
    let operator_point = roster.staff().iter().find(|s| s.role == Role::Operator).unwrap().point_id.unwrap();
    let admin_token = app.token_of(admin);
    let opened = json!({ "events": [{ "id": Uuid::now_v7(), "type": "tube_opened", "tube": "AUTHZ-1", "point_id": operator_point }] });
    let r = app.client.post(format!("{}/api/actions/{a}/events", app.base)).bearer_auth(&admin_token).json(&opened);
    assert_eq!(r.send().await.unwrap().status(), 200, "the tube for the table opens");
    // A channel on the grid member's grid, to a port nobody listens on (its test messages
    // go nowhere and are given up).
    let channel = fresh(app, Fresh::Channel).await;
    vec![
        ("GET /api/channels", vec![Case::new("the channels", "GET", "/api/channels".into(), MANAGERS)]),
        (
            "POST /api/channels",
            vec![Case::new("add a channel", "POST", "/api/channels".into(), MANAGERS).body(json!({
                "node_id": grid, "kind": "wecom", "name": "网格群",
                "url": "http://127.0.0.1:9/cgi-bin/webhook/send?key=k",
            }))],
        ),
        (
            "POST /api/channels/{id}/retire",
            vec![Case {
                fresh: Some(Fresh::Channel),
                ..Case::new("retire a channel", "POST", "/api/channels/{fresh}/retire".into(), MANAGERS)
            }],
        ),
        (
            "PATCH /api/channels/{id}",
            vec![
                Case::new("change a channel", "PATCH", format!("/api/channels/{channel}"), MANAGERS)
                    .body(json!({ "summary": true })),
            ],
        ),
        (
            "POST /api/channels/{id}/test",
            vec![Case::new("test a channel", "POST", format!("/api/channels/{channel}/test"), MANAGERS)],
        ),
        (
            "GET /api/channels/{id}/deliveries",
            vec![Case::new("a channel's deliveries", "GET", format!("/api/channels/{channel}/deliveries"), MANAGERS)],
        ),
        (
            "GET /api/actions/{id}/tubes/{code}",
            vec![Case::new(
                "a tube at the operator's point",
                "GET",
                format!("/api/actions/{a}/tubes/AUTHZ-1"),
                &[Role::Admin, Role::Chief, Role::Operator, Role::Lab],
            )],
        ),
        (
            "GET /api/actions/{id}/residents/{resident}/tubes",
            vec![Case::new(
                "the tubes of one of mine",
                "GET",
                format!("/api/actions/{a}/residents/{mine}/tubes"),
                &[Role::Admin, Role::Chief, Role::GridHead, Role::GridMember, Role::Medic],
            )],
        ),
        (
            "GET /api/actions/{id}/flagged",
            vec![Case::new(
                "the flagged list",
                "GET",
                format!("/api/actions/{a}/flagged"),
                &[Role::Admin, Role::Chief, Role::GridHead, Role::GridMember, Role::Medic],
            )],
        ),
        (
            "GET /api/actions/{id}/tubes",
            vec![Case::new(
                "the tubes waiting for a result",
                "GET",
                format!("/api/actions/{a}/tubes?waiting=true"),
                &[Role::Admin, Role::Chief, Role::Lab],
            )],
        ),
        (
            "POST /api/actions/{id}/results",
            vec![Case::new(
                "a dry run of an empty results sheet",
                "POST",
                format!("/api/actions/{a}/results?filename=results.csv&dry_run=true"),
                &[Role::Admin, Role::Chief, Role::Lab],
            )],
        ),
        (
            "GET /api/actions/{id}/call-ups",
            vec![Case::new("the call-ups (theirs, or their part's)", "GET", format!("/api/actions/{a}/call-ups"), ALL)],
        ),
        (
            "GET /api/actions/{id}/call-ups/reach",
            vec![Case::new(
                "whom a call-up to the village reaches",
                "GET",
                format!("/api/actions/{a}/call-ups/reach?nodes=1"),
                &[Role::Admin, Role::Chief],
            )],
        ),
        (
            "GET /api/actions/{id}/chain",
            vec![Case::new(
                "the chain of command in their part",
                "GET",
                format!("/api/actions/{a}/chain"),
                &[Role::Admin, Role::Chief, Role::GridHead, Role::GridMember, Role::Medic],
            )],
        ),
        (
            "GET /api/actions/{id}/report",
            vec![Case::new(
                "the after-action report (a head: their areas)",
                "GET",
                format!("/api/actions/{a}/report?format=json"),
                &[Role::Admin, Role::Chief, Role::GridHead],
            )],
        ),
        (
            "GET /api/actions/{id}/walk-ins",
            vec![Case::new("the walk-ins", "GET", format!("/api/actions/{a}/walk-ins"), MANAGERS)],
        ),
        (
            "POST /api/actions/{id}/walk-ins/{seq}",
            // No such walk-in: the managers are answered 422 (served), everyone else 403.
            vec![
                Case::new("decide on a walk-in", "POST", format!("/api/actions/{a}/walk-ins/999999"), MANAGERS)
                    .body(json!({ "id": Uuid::now_v7(), "decision": "reject" })),
            ],
        ),
        ("GET /healthz", vec![Case { status: Some(&[200]), ..Case::new("public", "GET", "/healthz".into(), ALL) }]),
        ("GET /metrics", vec![Case { status: Some(&[200]), ..Case::new("public", "GET", "/metrics".into(), ALL) }]),
        (
            "GET /api/openapi.json",
            vec![Case { status: Some(&[200]), ..Case::new("public", "GET", "/api/openapi.json".into(), ALL) }],
        ),
        (
            "GET /api/roster/template",
            vec![Case { status: Some(&[200]), ..Case::new("public", "GET", "/api/roster/template".into(), ALL) }],
        ),
        ("GET /api/me", vec![Case::new("anyone signed in", "GET", "/api/me".into(), ALL)]),
        ("GET /api/actions", vec![Case::new("list", "GET", "/api/actions".into(), ALL)]),
        (
            "POST /api/actions",
            vec![
                Case::new("plan an action", "POST", "/api/actions".into(), MANAGERS)
                    .body(json!({ "kind": "testing", "name": "第2轮", "scope": [grid], "points": [point] })),
            ],
        ),
        (
            "GET /api/actions/{id}",
            vec![
                Case::new("the village's action", "GET", format!("/api/actions/{a}"), WATCHERS),
                Case::new(
                    "another area's action",
                    "GET",
                    format!("/api/actions/{other_action}"),
                    &[Role::Admin, Role::Chief, Role::Medic, Role::Viewer],
                ),
            ],
        ),
        (
            "POST /api/actions/{id}/events",
            vec![
                Case::new(
                    "exempt one of mine",
                    "POST",
                    format!("/api/actions/{a}/events"),
                    &[Role::Admin, Role::Chief, Role::GridHead, Role::GridMember],
                )
                .body(exemption(mine)),
                Case::new("exempt someone elsewhere", "POST", format!("/api/actions/{a}/events"), MANAGERS)
                    .body(exemption(far)),
            ],
        ),
        (
            "POST /api/actions/{id}/scans",
            vec![
                Case::new(
                    "scan at my point",
                    "POST",
                    format!("/api/actions/{a}/scans"),
                    &[Role::Admin, Role::Chief, Role::Operator, Role::Medic],
                )
                .body(scan(mine, point)),
                Case::new(
                    "scan at another point",
                    "POST",
                    format!("/api/actions/{a}/scans"),
                    &[Role::Admin, Role::Chief, Role::Medic],
                )
                .body(scan(far, other_point)),
            ],
        ),
        (
            "GET /api/actions/{id}/missing",
            vec![
                Case::new(
                    "missing in my area",
                    "GET",
                    format!("/api/actions/{a}/missing"),
                    &[Role::Admin, Role::Chief, Role::GridHead, Role::GridMember, Role::Medic],
                ),
                Case::new(
                    "missing in another area's action",
                    "GET",
                    format!("/api/actions/{other_action}/missing"),
                    &[Role::Admin, Role::Chief, Role::Medic],
                ),
            ],
        ),
        (
            "GET /api/actions/{id}/households",
            vec![
                Case::new(
                    "households in my area",
                    "GET",
                    format!("/api/actions/{a}/households"),
                    &[Role::Admin, Role::Chief, Role::GridHead, Role::GridMember, Role::Medic],
                ),
                Case::new(
                    "households in another area's action",
                    "GET",
                    format!("/api/actions/{other_action}/households"),
                    &[Role::Admin, Role::Chief, Role::Medic],
                ),
            ],
        ),
        (
            "GET /api/actions/{id}/point-roster",
            vec![
                Case::new("my point's copy", "GET", format!("/api/actions/{a}/point-roster"), SCANNERS),
                Case::new(
                    "a copy of another area's action",
                    "GET",
                    format!("/api/actions/{other_action}/point-roster"),
                    MANAGERS,
                ),
            ],
        ),
        (
            "GET /api/actions/{id}/lookup",
            vec![
                Case::new("search the roster", "GET", format!("/api/actions/{a}/lookup?q=0012"), SCANNERS),
                Case::new(
                    "search in another area's action",
                    "GET",
                    format!("/api/actions/{other_action}/lookup?q=0012"),
                    MANAGERS,
                ),
            ],
        ),
        (
            "GET /api/codes/{code}",
            vec![
                Case::new(
                    "a card in my area",
                    "GET",
                    format!("/api/codes/{my_card}"),
                    &[Role::Admin, Role::Chief, Role::GridHead, Role::GridMember, Role::Operator, Role::Medic],
                ),
                Case::new(
                    "a card elsewhere",
                    "GET",
                    format!("/api/codes/{far_card}"),
                    &[Role::Admin, Role::Chief, Role::Operator, Role::Medic],
                ),
            ],
        ),
        (
            "GET /api/cards",
            vec![Case::new(
                "print a household's card",
                "GET",
                format!("/api/cards?household={my_household}"),
                MANAGERS,
            )],
        ),
        (
            "POST /api/cards/{household}/reissue",
            vec![
                Case::new("reissue a lost card", "POST", format!("/api/cards/{reissued}/reissue"), MANAGERS)
                    .body(json!({})),
            ],
        ),
        (
            "GET /api/actions/{id}/live",
            vec![
                Case::new("the village's live feed", "WS", format!("/api/actions/{a}/live"), WATCHERS),
                Case::new(
                    "another area's live feed",
                    "WS",
                    format!("/api/actions/{other_action}/live"),
                    &[Role::Admin, Role::Chief, Role::Medic, Role::Viewer],
                ),
            ],
        ),
        (
            "POST /api/auth/pair",
            vec![Case {
                status: Some(&[401]),
                ..Case::new("a wrong code", "POST", "/api/auth/pair".into(), ALL).body(json!({ "code": "ZZZZ-ZZZZ" }))
            }],
        ),
        (
            "POST /api/auth/login",
            // Five tries per account a minute: the later roles' tries are refused as too many.
            vec![Case {
                status: Some(&[401, 429]),
                ..Case::new("a wrong password", "POST", "/api/auth/login".into(), ALL)
                    .body(json!({ "phone": "13800000000", "password": "not the password" }))
            }],
        ),
        (
            "POST /api/auth/setup",
            // The village has an admin: the setup code is gone for everyone.
            vec![Case {
                status: Some(&[401]),
                ..Case::new("a first admin when there is one", "POST", "/api/auth/setup".into(), ALL)
                    .body(json!({ "code": "ZZZZ-ZZZZ", "name": "王建国", "phone": "13800001111" }))
            }],
        ),
        (
            "POST /api/auth/logout",
            vec![Case { fresh_session: true, ..Case::new("sign out", "POST", "/api/auth/logout".into(), ALL) }],
        ),
        (
            "POST /api/roster/import",
            vec![Case::new("a dry run of an empty sheet", "POST", "/api/roster/import?dry_run=true".into(), MANAGERS)],
        ),
        ("GET /api/staff", vec![Case::new("staff list", "GET", "/api/staff".into(), MANAGERS)]),
        ("GET /api/nodes", vec![Case::new("area tree", "GET", "/api/nodes".into(), MANAGERS)]),
        ("GET /api/audit", vec![Case::new("audit log", "GET", "/api/audit".into(), MANAGERS)]),
        (
            "PATCH /api/staff/{id}",
            vec![
                Case::new("keep a grid member on their grid", "PATCH", format!("/api/staff/{}", member.id), MANAGERS)
                    .body(json!({ "nodes": [grid] })),
                Case::new("keep the chief at the root", "PATCH", format!("/api/staff/{chief}"), &[Role::Admin])
                    .body(json!({ "nodes": [1] })),
                Case::new("keep the admin an admin", "PATCH", format!("/api/staff/{admin}"), &[Role::Admin])
                    .body(json!({ "role": "admin" })),
                Case::new("make a grid member a chief", "PATCH", format!("/api/staff/{}", promoted.id), &[Role::Admin])
                    .body(json!({ "role": "chief", "nodes": promoted.nodes })),
            ],
        ),
        (
            "POST /api/staff",
            vec![
                Case::new("add a grid member", "POST", "/api/staff".into(), MANAGERS)
                    .body(json!({ "name": "代班网格员", "role": "grid_member", "nodes": [grid] })),
                Case::new("add a chief", "POST", "/api/staff".into(), &[Role::Admin])
                    .body(json!({ "name": "副总网格长", "role": "chief", "nodes": [1] })),
            ],
        ),
        (
            "POST /api/staff/{id}/retire",
            vec![Case {
                fresh: Some(Fresh::Staff),
                ..Case::new("take a grid member off duty", "POST", "/api/staff/{fresh}/retire".into(), MANAGERS)
            }],
        ),
        ("GET /api/points", vec![Case::new("the points", "GET", "/api/points".into(), MANAGERS)]),
        (
            "POST /api/points",
            vec![
                Case::new("open a point", "POST", "/api/points".into(), MANAGERS)
                    .body(json!({ "name": "临时采样点", "place": "小学操场", "nodes": [grid] })),
            ],
        ),
        (
            "PATCH /api/points/{id}",
            vec![
                Case::new("move a point", "PATCH", format!("/api/points/{point}"), MANAGERS)
                    .body(json!({ "place": "村委会大院" })),
            ],
        ),
        (
            "POST /api/points/{id}/retire",
            vec![Case {
                fresh: Some(Fresh::Point),
                ..Case::new("close a point", "POST", "/api/points/{fresh}/retire".into(), MANAGERS)
            }],
        ),
        (
            "POST /api/staff/{id}/pairing-codes",
            vec![
                Case::new(
                    "pair a grid member's phone",
                    "POST",
                    format!("/api/staff/{}/pairing-codes", member.id),
                    MANAGERS,
                ),
                Case::new(
                    "pair the chief's phone",
                    "POST",
                    format!("/api/staff/{chief}/pairing-codes"),
                    &[Role::Admin],
                ),
                Case::new(
                    "pair the admin's phone",
                    "POST",
                    format!("/api/staff/{admin}/pairing-codes"),
                    &[Role::Admin],
                ),
            ],
        ),
        (
            "PUT /api/staff/{id}/password",
            vec![
                Case::new("set a password", "PUT", format!("/api/staff/{}/password", member.id), &[Role::Admin])
                    .body(json!({ "password": "long enough password" })),
                Case::new("set the chief's password", "PUT", format!("/api/staff/{chief}/password"), &[Role::Admin])
                    .body(json!({ "password": "long enough password" })),
            ],
        ),
        (
            "POST /api/sessions/{id}/revoke",
            vec![Case::new(
                "revoke a grid member's phone",
                "POST",
                format!("/api/sessions/{}/revoke", revoke_target),
                &[Role::Admin, Role::Chief, Role::GridMember],
            )],
        ),
    ]
}

/// A new grid member or point, made by the admin; its id.
async fn fresh(app: &TestApp, kind: Fresh) -> i64 {
    let grid = app.roster.staff().iter().find(|s| s.role == Role::GridMember).unwrap().nodes[0];
    let (path, body) = match kind {
        Fresh::Staff => ("/api/staff", json!({ "name": "代班", "role": "grid_member", "nodes": [grid] })),
        Fresh::Point => ("/api/points", json!({ "name": format!("点{}", Uuid::now_v7()), "nodes": [grid] })),
        Fresh::Channel => (
            "/api/channels",
            json!({ "node_id": grid, "kind": "webhook", "name": "网关", "url": "http://127.0.0.1:9/gateway", "secret": "s" }),
        ),
    };
    let r = app.client.post(format!("{}{path}", app.base)).bearer_auth(app.token(Role::Admin)).json(&body);
    let made: Value = r.send().await.unwrap().json().await.unwrap();
    made["id"].as_i64().unwrap_or_else(|| panic!("made: {made}"))
}

async fn ask(app: &TestApp, token: &str, case: &Case) -> u16 {
    if case.method == "WS" {
        let url = format!("ws://{}{}?token={token}", app.addr, case.path);
        return match tokio_tungstenite::connect_async(url).await {
            Ok(_) => 101,
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => r.status().as_u16(),
            Err(e) => panic!("WebSocket {}: {e}", case.path),
        };
    }
    let method = reqwest::Method::from_bytes(case.method.as_bytes()).unwrap();
    let mut req = app.client.request(method, format!("{}{}", app.base, case.path)).bearer_auth(token);
    if let Some(b) = &case.body {
        req = req.json(b);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_table_says() {
    let app = spawn_app().await;
    // A second action over a sub-grid that is not the grid member's, using another point.
    let member = app.roster.staff().iter().find(|s| s.role == Role::GridMember).unwrap();
    let member_grid = app.roster.node_idx(member.nodes[0]).unwrap();
    let elsewhere = app
        .roster
        .nodes()
        .iter()
        .enumerate()
        .find(|(i, n)| n.parent == Some(1) && !app.roster.ancestors(member_grid).contains(i))
        .unwrap()
        .1
        .id;
    let operator_point = app.roster.staff().iter().find(|s| s.role == Role::Operator).unwrap().point_id.unwrap();
    let other_point = app.roster.points().iter().map(|p| p.id).find(|p| *p != operator_point).unwrap();
    let created = app
        .client
        .post(format!("{}/api/actions", app.base))
        .bearer_auth(app.token(Role::Chief))
        .json(&json!({ "kind": "testing", "name": "第2轮", "scope": [elsewhere], "points": [other_point] }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let other_action = created.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    let doc: Value =
        app.client.get(format!("{}/api/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    let documented: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| ops.as_object().unwrap().keys().map(move |m| format!("{} {path}", m.to_uppercase())))
        .collect();
    let table = table(&app, other_action).await;
    let covered: BTreeSet<String> = table.iter().map(|(route, _)| route.to_string()).collect();
    let missing: Vec<&String> = documented.difference(&covered).collect();
    assert!(missing.is_empty(), "routes with no entry in the authorization table: {missing:?}");
    let stale: Vec<&String> = covered.difference(&documented).collect();
    assert!(stale.is_empty(), "table entries for routes that are not documented: {stale:?}");

    let mut wrong = Vec::new();
    for (route, cases) in &table {
        for case in cases {
            for role in ROLES {
                let staff = app.roster.staff().iter().find(|s| s.role == role).unwrap().id;
                let token = if case.fresh_session { app.new_session(staff).await } else { app.token_of(staff) };
                let status = match case.fresh {
                    None => ask(&app, &token, case).await,
                    Some(kind) => {
                        let id = fresh(&app, kind).await;
                        ask(&app, &token, &Case { path: case.path.replace("{fresh}", &id.to_string()), ..case.clone() })
                            .await
                    }
                };
                let ok = match case.expect(role) {
                    Expect::Allow => !matches!(status, 401 | 403 | 404),
                    Expect::Deny => matches!(status, 403 | 404),
                    Expect::Status(s) => s.contains(&status),
                };
                if !ok {
                    wrong.push(format!(
                        "{route} [{}] as {}: got {status}, expected {:?}",
                        case.label,
                        role.as_str(),
                        case.expect(role)
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} answers differ from the table:\n{}", wrong.len(), wrong.join("\n"));
}

#[tokio::test]
async fn requests_without_a_valid_token_get_401_on_every_protected_route() {
    let app = spawn_app().await;
    for path in ["/api/me", "/api/actions", &format!("/api/actions/{}", app.action_id), "/api/staff", "/api/audit"] {
        for token in [None, Some("garbage"), Some("0123.4567"), Some("")] {
            let mut req = app.client.get(format!("{}{path}", app.base));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 401, "{path} with {token:?}");
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["code"], "unauthorized");
        }
    }
}

#[tokio::test]
async fn no_one_raises_themselves_or_acts_on_an_equal_and_the_last_admin_stays() {
    let app = spawn_app().await;
    let staff_of = |role: Role| app.roster.staff().iter().find(|s| s.role == role).unwrap().clone();
    let (chief, head, admin) = (staff_of(Role::Chief), staff_of(Role::GridHead), staff_of(Role::Admin));
    let chief_token = app.token_of(chief.id);
    let status = |r: reqwest::Response| r.status().as_u16();

    // On oneself: a chief cannot make themselves an admin, nor pair a second phone as chief.
    assert_eq!(status(app.patch_staff(&chief_token, chief.id, json!({ "role": "admin" })).await), 403);
    let pair_self = app.client.post(format!("{}/api/staff/{}/pairing-codes", app.base, chief.id));
    assert_eq!(status(pair_self.bearer_auth(&chief_token).send().await.unwrap()), 403);
    // Into a role at or above one's own: a chief cannot make a grid head a chief.
    assert_eq!(status(app.patch_staff(&chief_token, head.id, json!({ "role": "chief" })).await), 403);
    assert_eq!(app.roster.staff_member(head.id).unwrap().role, Role::GridHead);

    // On an equal: the admin makes the grid head a second chief; the first chief cannot touch them.
    let admin_token = app.token_of(admin.id);
    assert_eq!(status(app.patch_staff(&admin_token, head.id, json!({ "role": "chief" })).await), 200);
    assert_eq!(status(app.patch_staff(&chief_token, head.id, json!({ "role": "grid_head" })).await), 403);
    let pair_equal = app.client.post(format!("{}/api/staff/{}/pairing-codes", app.base, head.id));
    assert_eq!(status(pair_equal.bearer_auth(&chief_token).send().await.unwrap()), 403);

    // The last admin cannot be demoted, even by themselves; with a second admin they can.
    let demoted = app.patch_staff(&admin_token, admin.id, json!({ "role": "chief" })).await;
    assert_eq!(demoted.status(), 409);
    assert_eq!(demoted.json::<Value>().await.unwrap()["code"], "last_admin");
    assert_eq!(status(app.patch_staff(&admin_token, head.id, json!({ "role": "admin" })).await), 200);
    assert_eq!(status(app.patch_staff(&admin_token, admin.id, json!({ "role": "chief" })).await), 200);
    let me = app.get_json("/api/me", &admin_token).await;
    assert_eq!(me["role"], "chief");
}
