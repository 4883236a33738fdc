//! A sampling point's reads: the copy of residents its page keeps (`point-roster`) and the
//! search for anyone else who comes (`lookup`), with every ID number masked.

use crate::helpers::{TestApp, spawn_app};
use muster::roster::{Role, Roster, Sex, Staff};
use serde_json::{Value, json};
use uuid::Uuid;

fn operator(roster: &Roster) -> &Staff {
    roster.staff().iter().find(|s| s.role == Role::Operator).unwrap()
}

/// The residents whose grid the point serves, in roster order (the demo's grids are leaves).
fn residents_served(roster: &Roster, point: i64) -> Vec<i64> {
    let served = &roster.point(point).unwrap().nodes;
    (0..roster.residents().len())
        .filter(|&i| served.contains(&roster.nodes()[roster.resident_node_idx(i)].id))
        .map(|i| roster.residents()[i].id)
        .collect()
}

async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    let r = app.client.get(format!("{}{path}", app.base)).bearer_auth(token).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn point_roster(app: &TestApp, token: &str, query: &str) -> Value {
    let (status, body) = get(app, token, &format!("/api/actions/{}/point-roster{query}", app.action_id)).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn lookup(app: &TestApp, token: &str, q: &str) -> Value {
    let q = urlencode(q);
    let (status, body) = get(app, token, &format!("/api/actions/{}/lookup?q={q}", app.action_id)).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn ids(list: &Value) -> Vec<i64> {
    list["residents"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

fn masked(id_number: &str) -> String {
    format!("{}**********{}", &id_number[..4], &id_number[14..])
}

#[tokio::test]
async fn an_operator_keeps_exactly_the_residents_of_the_grids_their_point_serves_each_masked() {
    let app = spawn_app().await;
    let op = operator(&app.roster);
    let point = op.point_id.unwrap();
    let expected = residents_served(&app.roster, point);
    assert!(expected.len() > 100, "the demo point serves a few hundred residents");

    let whole = point_roster(&app, &app.token_of(op.id), "").await;
    assert_eq!(ids(&whole), expected);
    assert!(whole["next"].is_null());
    // Paged, the same rows in the same order.
    let first = point_roster(&app, &app.token_of(op.id), "?limit=100").await;
    let next = first["next"].as_str().expect("a second page").to_owned();
    let rest = point_roster(&app, &app.token_of(op.id), &format!("?limit=5000&cursor={next}")).await;
    assert_eq!([ids(&first), ids(&rest)].concat(), expected);

    let today = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8)).date();
    for row in whole["residents"].as_array().unwrap() {
        let idx = app.roster.resident_idx(row["id"].as_i64().unwrap()).unwrap();
        let r = &app.roster.residents()[idx];
        let household = app.roster.household(r.household_id).unwrap();
        let grid = app.roster.node_idx(household.node_id).unwrap();
        let member = app.roster.staff_member(app.roster.nodes()[grid].staff_id.unwrap()).unwrap();
        assert_eq!(row["id_number"], masked(r.id_number.expose()));
        assert_eq!(row["name"], r.name.as_str());
        assert_eq!(row["age"], r.id_number.age_on(today).unwrap());
        assert_eq!(row["sex"], if r.id_number.sex() == Sex::Male { "male" } else { "female" });
        assert_eq!(row["household_id"], r.household_id);
        assert_eq!(row["household"], household.number.as_str());
        assert_eq!(row["grid"], app.roster.nodes()[grid].name.as_str());
        assert_eq!(row["staff_name"], member.name.as_str());
        assert_eq!(row["status"], "missing");
        assert!(row["sampled_at"].is_null() && row["point"].is_null());
    }
    // No whole ID number anywhere in the answer.
    let text = whole.to_string();
    assert!(app.roster.residents().iter().all(|r| !text.contains(r.id_number.expose())));
}

#[tokio::test]
async fn the_kept_copy_says_who_was_sampled_when_and_where() {
    let app = spawn_app().await;
    let op = operator(&app.roster);
    let point = op.point_id.unwrap();
    let target = residents_served(&app.roster, point)[3];
    let scanned = app.scan_as(&app.token_of(op.id), Uuid::now_v7(), target, point).await;
    assert_eq!(scanned.status(), 201);

    let page = point_roster(&app, &app.token_of(op.id), "").await;
    let row = page["residents"].as_array().unwrap().iter().find(|r| r["id"] == target).unwrap();
    assert_eq!(row["status"], "sampled");
    assert_eq!(row["point_id"], point);
    assert_eq!(row["point"], app.roster.point(point).unwrap().name.as_str());
    assert!(row["sampled_at"].as_str().unwrap().ends_with('Z'));
    let sampled = page["residents"].as_array().unwrap().iter().filter(|r| r["status"] == "sampled").count();
    assert_eq!(sampled, 1);
    assert_eq!(page["seq"], 2, "opened, then one sample");
}

#[tokio::test]
async fn an_admin_keeps_the_whole_scope_and_a_chief_of_a_smaller_action_its_scope() {
    let app = spawn_app().await;
    let all = point_roster(&app, &app.token(Role::Admin), "?limit=5000").await;
    assert_eq!(ids(&all).len(), app.roster.residents().len());
    let chief = point_roster(&app, &app.token(Role::Chief), "?limit=5000").await;
    assert_eq!(ids(&chief), ids(&all));

    // An action over one sub-grid: its residents only, and an operator's part of them.
    let sub = app.roster.nodes().iter().find(|n| n.parent == Some(1)).unwrap().id;
    let op = operator(&app.roster);
    let point = op.point_id.unwrap();
    let created = app
        .client
        .post(format!("{}/api/actions", app.base))
        .bearer_auth(app.token(Role::Chief))
        .json(&json!({ "kind": "testing", "name": "第2轮", "scope": [sub], "points": [point] }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let action = created.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let sub_idx = app.roster.node_idx(sub).unwrap();
    let in_sub = |id: &i64| {
        let i = app.roster.resident_idx(*id).unwrap();
        app.roster.ancestors(app.roster.resident_node_idx(i)).contains(&sub_idx)
    };
    let path = format!("/api/actions/{action}/point-roster?limit=5000");
    let (_, scoped) = get(&app, &app.token(Role::Chief), &path).await;
    let want: Vec<i64> = app.roster.residents().iter().map(|r| r.id).filter(in_sub).collect();
    assert_eq!(ids(&scoped), want);
    let (_, mine) = get(&app, &app.token_of(op.id), &path).await;
    let want: Vec<i64> = residents_served(&app.roster, point).into_iter().filter(in_sub).collect();
    assert!(!want.is_empty());
    assert_eq!(ids(&mine), want);

    // Someone of another sub-grid is found all the same, and said to be outside.
    let far = *residents_served(&app.roster, point).iter().find(|id| !in_sub(id)).unwrap();
    let far_id = app.roster.residents()[app.roster.resident_idx(far).unwrap()].id_number.expose().to_owned();
    let (status, found) = get(&app, &app.token_of(op.id), &format!("/api/actions/{action}/lookup?q={far_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&found), vec![far]);
    assert_eq!(found["residents"][0]["in_scope"], false);
    let near = want[0];
    let near_id = app.roster.residents()[app.roster.resident_idx(near).unwrap()].id_number.expose().to_owned();
    let (_, found) = get(&app, &app.token_of(op.id), &format!("/api/actions/{action}/lookup?q={near_id}")).await;
    assert_eq!(found["residents"][0]["in_scope"], true);
}

#[tokio::test]
async fn a_lookup_finds_by_whole_id_number_id_tail_name_and_household_number() {
    let app = spawn_app().await;
    let op = operator(&app.roster);
    let token = app.token_of(op.id);
    // Someone from another point's grids: anyone may come to any point.
    let mine = residents_served(&app.roster, op.point_id.unwrap());
    let r = app.roster.residents().iter().rev().find(|r| !mine.contains(&r.id)).unwrap();
    let number = r.id_number.expose();

    let whole = lookup(&app, &token, number).await;
    assert_eq!(ids(&whole), vec![r.id]);
    assert_eq!(whole["more"], false);
    let one = &whole["residents"][0];
    assert_eq!(one["in_scope"], true);
    assert_eq!(one["id_number"], masked(number));
    assert_eq!(one["name"], r.name.as_str());
    // Lower-case x and spaces, as a scanner or a person types them.
    if number.ends_with('X') {
        assert_eq!(ids(&lookup(&app, &token, &format!(" {} ", number.to_lowercase())).await), vec![r.id]);
    }

    // The last four digits: every candidate ends with them, the resident among them.
    let tail = &number[14..];
    let by_tail = lookup(&app, &token, tail).await;
    // Four digits may also be a household's number (DHS0456): its residents come first.
    let household_is = |x: &muster::roster::Resident| {
        let n = &app.roster.household(x.household_id).unwrap().number;
        n.trim_start_matches(|c: char| !c.is_ascii_digit()).trim_start_matches('0') == tail.trim_start_matches('0')
    };
    let want: Vec<i64> = app
        .roster
        .residents()
        .iter()
        .filter(|x| household_is(x))
        .chain(app.roster.residents().iter().filter(|x| !household_is(x) && x.id_number.expose().ends_with(tail)))
        .map(|x| x.id)
        .collect();
    assert!(want.contains(&r.id));
    assert_eq!(ids(&by_tail), want.iter().copied().take(20).collect::<Vec<_>>());
    assert_eq!(by_tail["more"], want.len() > 20);
    // Six digits narrow it down.
    let by_six = lookup(&app, &token, &number[12..]).await;
    assert!(ids(&by_six).contains(&r.id) && ids(&by_six).len() <= ids(&by_tail).len());

    // The whole name: that resident first (an exact name before names that contain it).
    let by_name = lookup(&app, &token, &r.name).await;
    assert!(ids(&by_name).contains(&r.id));
    for c in by_name["residents"].as_array().unwrap() {
        assert!(c["name"].as_str().unwrap().contains(r.name.as_str()), "{c}");
    }
    // A surname: many, at most 20, said to be more.
    let surname: String = r.name.chars().take(1).collect();
    let by_surname = lookup(&app, &token, &surname).await;
    let named = app.roster.residents().iter().filter(|x| x.name.contains(&surname)).count();
    assert_eq!(ids(&by_surname).len(), named.min(20));
    assert_eq!(by_surname["more"], named > 20);

    // A household number as on its card, or just its number: that household, whole.
    let household = app.roster.household(r.household_id).unwrap();
    let members: Vec<i64> =
        app.roster.residents().iter().filter(|x| x.household_id == household.id).map(|x| x.id).collect();
    assert_eq!(ids(&lookup(&app, &token, &household.number).await), members);
    let digits = household.number.trim_start_matches(|c: char| !c.is_ascii_digit()).trim_start_matches('0');
    let by_digits = lookup(&app, &token, digits).await;
    assert_eq!(ids(&by_digits)[..members.len()], members[..], "the household before ID tails that match too");

    // A valid number that is not on the roster: nobody (a walk-in).
    let stranger = muster::roster::IdNumber::from_body("44030419851111123").unwrap();
    let none = lookup(&app, &token, stranger.expose()).await;
    assert_eq!(ids(&none), Vec::<i64>::new());

    let text = [whole, by_tail, by_six, by_name, by_surname].map(|v| v.to_string()).concat();
    assert!(app.roster.residents().iter().all(|x| !text.contains(x.id_number.expose())), "all masked");
}

#[tokio::test]
async fn a_bad_search_is_refused_with_a_reason_in_chinese_first() {
    let app = spawn_app().await;
    let token = app.token_of(operator(&app.roster).id);
    let long = "王".repeat(41);
    let cases = [
        ("", "请输入"),
        ("q=", "请输入"),
        ("q=%20%20", "请输入"),
        (&format!("q={}", urlencode(&long)) as &str, "太长"),
        // Eighteen digits with a wrong check digit: a misread card, said so.
        ("q=110105194912310021", "身份证号不对"),
    ];
    for (query, words) in cases {
        let path = format!("/api/actions/{}/lookup?{query}", app.action_id);
        let r = app.client.get(format!("{}{path}", app.base)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), 400, "{query}");
        assert_eq!(r.headers()["content-type"], "application/problem+json", "{query}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], "invalid_field", "{query}: {body}");
        assert_eq!(body["field"], "q", "{query}: {body}");
        assert!(body["message"].as_str().unwrap().contains(words), "{query}: {body}");
    }
    let r = app
        .client
        .get(format!("{}/api/actions/{}/lookup?q=", app.base, app.action_id))
        .bearer_auth(&token)
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().starts_with("say whom to find"), "{body}");
    let (status, body) = get(&app, &token, &format!("/api/actions/{}/point-roster?cursor=abc", app.action_id)).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("cursor")));
}

#[tokio::test]
async fn viewers_and_grid_roles_have_no_point_page() {
    let app = spawn_app().await;
    let r = app.roster.residents()[0].id_number.expose().to_owned();
    for role in [Role::Viewer, Role::GridMember, Role::GridHead, Role::Medic] {
        for path in ["point-roster".to_owned(), format!("lookup?q={r}")] {
            let (status, body) = get(&app, &app.token(role), &format!("/api/actions/{}/{path}", app.action_id)).await;
            assert_eq!(status, 403, "{role:?} {path}: {body}");
            assert_eq!(body["code"], "forbidden");
        }
    }
}
