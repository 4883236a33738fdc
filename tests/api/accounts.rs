//! Staff accounts: pairing a phone, signing in with a password, revoking a lost phone.

use crate::helpers::{TestApp, closed_by_server, missing_of, next_message, spawn_app};
use muster::roster::Role;
use serde_json::{Value, json};
use sha2::Digest;
use uuid::Uuid;

async fn pairing_code(app: &TestApp, staff_id: i64) -> Value {
    let r = app
        .client
        .post(format!("{}/api/staff/{staff_id}/pairing-codes", app.base))
        .bearer_auth(app.token(Role::Chief))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

async fn pair(app: &TestApp, code: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/api/auth/pair", app.base))
        .json(&json!({ "code": code, "device": "Redmi 9A" }))
        .send()
        .await
        .unwrap()
}

async fn me(app: &TestApp, token: &str) -> reqwest::StatusCode {
    app.client.get(format!("{}/api/me", app.base)).bearer_auth(token).send().await.unwrap().status()
}

fn grid_member(app: &TestApp) -> i64 {
    app.roster.staff().iter().find(|s| s.role == Role::GridMember).unwrap().id
}

#[tokio::test]
async fn a_pairing_code_signs_one_phone_in_once() {
    let app = spawn_app().await;
    let member = grid_member(&app);
    let code = pairing_code(&app, member).await;
    let code = code["code"].as_str().unwrap();
    assert!(code.len() == 9 && code.as_bytes()[4] == b'-', "a short code like ABCD-EFGH: {code}");

    // Typed in lowercase without the dash, as an older person might.
    let typed = code.replace('-', "").to_lowercase();
    let paired = pair(&app, &typed).await;
    assert_eq!(paired.status(), 200);
    let paired: Value = paired.json().await.unwrap();
    assert_eq!(paired["staff"]["id"], member);
    let token = paired["token"].as_str().unwrap();
    assert_eq!(me(&app, token).await, 200);

    let again = pair(&app, code).await;
    assert_eq!(again.status(), 401);
    assert_eq!(again.json::<Value>().await.unwrap()["code"], "pairing_code_invalid");
}

#[tokio::test]
async fn an_expired_pairing_code_is_refused() {
    let app = spawn_app().await;
    let store = muster::store::open(&app.db_url).await.unwrap();
    let long_ago = muster::store::to_micros(time::OffsetDateTime::now_utc() - time::Duration::days(2));
    let hash = sha2::Sha256::digest(b"OLDCODE2").to_vec();
    store.accounts().insert_pairing(&hash, grid_member(&app), 1, long_ago, long_ago + 3_600_000_000).await.unwrap();
    let r = pair(&app, "OLDC-ODE2").await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn a_revoked_phone_stops_working_at_once_and_its_live_feed_closes() {
    let app = spawn_app().await;
    let member = grid_member(&app);
    let code = pairing_code(&app, member).await;
    let paired: Value = pair(&app, code["code"].as_str().unwrap()).await.json().await.unwrap();
    let token = paired["token"].as_str().unwrap();
    let url = format!("ws://{}/api/actions/{}/live?token={token}", app.addr, app.action_id);
    let mut socket = tokio_tungstenite::connect_async(url).await.unwrap().0;
    assert_eq!(next_message(&mut socket).await["type"], "snapshot");

    let session = app.client.get(format!("{}/api/me", app.base)).bearer_auth(token).send().await.unwrap();
    let session = session.json::<Value>().await.unwrap()["session_id"].as_str().unwrap().to_owned();
    // The chief's staff list shows the phone under its owner, and under nobody else.
    let listed = |app: &TestApp| {
        let (client, url, token) = (app.client.clone(), format!("{}/api/staff", app.base), app.token(Role::Chief));
        let session = session.clone();
        async move {
            let staff: Value = client.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
            let with = |s: &&Value| s["sessions"].as_array().unwrap().iter().any(|x| x["id"] == session.as_str());
            staff.as_array().unwrap().iter().filter(with).map(|s| s["id"].as_i64().unwrap()).collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(&app).await, vec![member]);
    let revoked = app
        .client
        .post(format!("{}/api/sessions/{session}/revoke", app.base))
        .bearer_auth(app.token(Role::Chief))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    assert_eq!(me(&app, token).await, 401);
    assert_eq!(listed(&app).await, Vec::<i64>::new(), "a revoked phone is no longer listed");

    // The open socket is closed by the server, without any further event.
    assert!(closed_by_server(&mut socket).await, "the live feed of a revoked phone closes at once");
}

#[tokio::test]
async fn staff_at_a_computer_sign_in_with_a_password_and_guessing_is_limited() {
    let app = spawn_app().await;
    let chief = app.roster.staff().iter().find(|s| s.role == Role::Chief).unwrap();
    let phone = chief.phone.as_ref().unwrap().expose().to_owned();
    let set = app
        .client
        .put(format!("{}/api/staff/{}/password", app.base, chief.id))
        .bearer_auth(app.token(Role::Admin))
        .json(&json!({ "password": "村委会2022春" }))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 400, "10 characters at least");
    let set = app
        .client
        .put(format!("{}/api/staff/{}/password", app.base, chief.id))
        .bearer_auth(app.token(Role::Admin))
        .json(&json!({ "password": "大华山村委会2022春夜" }))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 204);

    let login = |password: &'static str| {
        let (client, base, phone) = (app.client.clone(), app.base.clone(), phone.clone());
        async move {
            client
                .post(format!("{base}/api/auth/login"))
                .json(&json!({ "phone": phone, "password": password }))
                .send()
                .await
                .unwrap()
        }
    };
    let ok = login("大华山村委会2022春夜").await;
    assert_eq!(ok.status(), 200);
    let token = ok.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    assert_eq!(me(&app, &token).await, 200);

    for _ in 0..4 {
        assert_eq!(login("wrong guess").await.status(), 401);
    }
    let limited = login("another guess").await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(limited.json::<Value>().await.unwrap()["code"], "too_many_attempts");
    // Even the right password waits out the window now, from the guesser's address.
    assert_eq!(login("大华山村委会2022春夜").await.status(), 429);
    // The chief at their own computer (another address) still gets in.
    let elsewhere = reqwest::Client::builder().local_address("127.0.0.2".parse().ok()).build().unwrap();
    let own = elsewhere
        .post(format!("{}/api/auth/login", app.base))
        .json(&json!({ "phone": phone, "password": "大华山村委会2022春夜" }))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
}

#[tokio::test]
async fn a_grid_member_sees_only_their_own_part_of_the_live_state() {
    let app = spawn_app().await;
    let member = app.roster.staff().iter().find(|s| s.role == Role::GridMember).unwrap();
    let grid = member.nodes[0];
    let r = app
        .client
        .get(format!("{}/api/actions/{}", app.base, app.action_id))
        .bearer_auth(app.token_of(member.id))
        .send()
        .await
        .unwrap();
    let snap: Value = r.json().await.unwrap();
    let nodes: Vec<i64> = snap["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_i64().unwrap()).collect();
    assert_eq!(nodes, vec![grid], "only their own grid");
    let in_grid =
        app.roster.residents().iter().filter(|r| app.roster.household(r.household_id).unwrap().node_id == grid).count();
    assert_eq!(snap["totals"]["target"], in_grid as i64, "totals are their grid's, not the village's");
    assert_eq!(snap["points"], json!([]));
    assert_eq!(snap["timeline"], json!([]));
    let staff: Vec<i64> = snap["staff"].as_array().unwrap().iter().map(|s| s["id"].as_i64().unwrap()).collect();
    assert_eq!(staff, vec![member.id]);

    let missing: Value = app
        .client
        .get(format!("{}/api/actions/{}/missing?limit=1000", app.base, app.action_id))
        .bearer_auth(app.token_of(member.id))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(missing["residents"].as_array().unwrap().len(), in_grid);
    let audit: Value = app.get_json("/api/audit", &app.token(Role::Admin)).await;
    let first = &audit["entries"][0];
    assert_eq!((first["staff_id"].as_i64(), first["what"].as_str()), (Some(member.id), Some("read_phones")));
}

#[tokio::test]
async fn a_chief_moves_a_grid_member_to_another_grid_and_it_takes_effect_at_once() {
    let mut app = spawn_app().await;
    let member = app.roster.staff().iter().find(|s| s.role == Role::GridMember).unwrap().clone();
    let other_grid = app.roster.staff().iter().filter(|s| s.role == Role::GridMember).nth(5).unwrap().nodes[0];
    let url = format!("ws://{}/api/actions/{}/live?token={}", app.addr, app.action_id, app.token_of(member.id));
    let mut socket = tokio_tungstenite::connect_async(url).await.unwrap().0;
    assert_eq!(next_message(&mut socket).await["nodes"][0]["id"], member.nodes[0]);

    // Whom each grid's missing residents answer to, as the command centre sees it.
    let roster = app.roster.clone();
    let in_grid = |g: i64| {
        (0..roster.residents().len()).filter(|&i| roster.nodes()[roster.resident_node_idx(i)].id == g).count() as i64
    };
    let old_grid = member.nodes[0];
    let displaced = roster.nodes()[roster.node_idx(other_grid).unwrap()].staff_id.expect("the other grid has a member");
    let head = roster
        .ancestors(roster.node_idx(old_grid).unwrap())
        .iter()
        .rev()
        .skip(1)
        .find_map(|&a| roster.nodes()[a].staff_id);
    let before = app.snapshot().await;
    assert_eq!(missing_of(&before, member.id), in_grid(old_grid));
    assert_eq!(missing_of(&before, displaced), in_grid(other_grid));

    let changed = app.patch_staff(&app.token(Role::Chief), member.id, json!({ "nodes": [other_grid] })).await;
    assert_eq!(changed.status(), 200);
    let view: Value = changed.json().await.unwrap();
    assert_eq!(view["nodes"][0]["id"], other_grid);

    // Their open live feed closes, to be reopened under the new area.
    assert!(closed_by_server(&mut socket).await, "the live feed closes when the area changes");
    let snapshot = |app: &TestApp| {
        let (client, url, token) =
            (app.client.clone(), format!("{}/api/actions/{}", app.base, app.action_id), app.token_of(member.id));
        async move { client.get(url).bearer_auth(token).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    assert_eq!(snapshot(&app).await["nodes"][0]["id"], other_grid);

    // The new grid's missing residents now go to them; the old grid's to the next person up.
    let answered = |after: &Value| {
        assert_eq!(missing_of(after, member.id), in_grid(other_grid), "the moved member answers for the new grid");
        assert_eq!(missing_of(after, displaced), 0, "the grid's previous member no longer does: {after}");
        if let Some(head) = head {
            assert_eq!(missing_of(after, head), missing_of(&before, head) + in_grid(old_grid), "the old grid goes up");
        }
    };
    answered(&app.snapshot().await);
    app.restart().await;
    assert_eq!(snapshot(&app).await["nodes"][0]["id"], other_grid, "the change is stored");
    answered(&app.snapshot().await);

    let audit: Value = app.get_json("/api/audit", &app.token(Role::Admin)).await;
    let entries = audit["entries"].as_array().unwrap();
    assert!(entries.iter().any(|e| e["what"] == "change_staff" && e["staff_id"] == 1), "recorded with who: {audit}");

    let refused = app.patch_staff(&app.token_of(member.id), member.id, json!({ "role": "chief" })).await;
    assert_eq!(refused.status(), 403, "a grid member cannot promote themselves");
}

#[tokio::test]
async fn paging_through_the_missing_list_gives_each_unsampled_resident_of_the_area_once_in_order() {
    let app = spawn_app().await;
    let roster = app.roster.clone();
    // Every third resident sampled, so pages skip over sampled ones.
    let sampled: Vec<i64> = roster.residents().iter().step_by(3).map(|r| r.id).collect();
    for r in &sampled {
        assert_eq!(app.scan(Uuid::now_v7(), *r).await.status(), 201);
    }
    let head = roster.staff().iter().find(|s| s.role == Role::GridHead).expect("a grid head").clone();
    let roots: Vec<usize> = head.nodes.iter().map(|n| roster.node_idx(*n).unwrap()).collect();
    let under = |i: usize| roster.ancestors(roster.resident_node_idx(i)).iter().any(|a| roots.contains(a));
    for (token, expected) in [
        (app.token_of(head.id), (0..roster.residents().len()).filter(|&i| under(i)).collect::<Vec<_>>()),
        (app.token(Role::Chief), (0..roster.residents().len()).collect()),
    ] {
        let expected: Vec<i64> =
            expected.into_iter().map(|i| roster.residents()[i].id).filter(|id| !sampled.contains(id)).collect();
        let (mut seen, mut cursor) = (Vec::new(), None::<String>);
        loop {
            let query = cursor.map_or(String::new(), |c| format!("&cursor={c}"));
            let path = format!("/api/actions/{}/missing?limit=7{query}", app.action_id);
            let page = app.get_json(&path, &token).await;
            seen.extend(page["residents"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()));
            assert!(seen.len() <= expected.len(), "pages never repeat: {} residents so far", seen.len());
            match page["next"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert!(!expected.is_empty());
        assert_eq!(seen, expected, "pages of 7: every unsampled resident of the area once, in roster order");
    }
}

#[tokio::test]
async fn a_session_ends_after_fourteen_days_though_the_server_has_it_cached() {
    let app = spawn_app().await;
    let token = app.new_session(grid_member(&app)).await;
    assert_eq!(me(&app, &token).await, 200, "the session is live, and now cached");
    let code = pairing_code(&app, grid_member(&app)).await["code"].as_str().unwrap().to_owned();
    app.clock.advance(time::Duration::days(13) + time::Duration::hours(23));
    assert_eq!(me(&app, &token).await, 200, "a day short of its end");
    assert_eq!(pair(&app, &code).await.status(), 401, "a pairing code lasts 24 hours");
    app.clock.advance(time::Duration::hours(2));
    assert_eq!(me(&app, &token).await, 401, "fourteen days after it began");
}
