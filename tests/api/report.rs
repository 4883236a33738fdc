//! The after-action report (复盘) is computed from the same fold over the same log as the
//! live screen: its totals are the live state's at close and what the log rows say; its
//! percentile times are the moments the k-th resident was accounted for; earlier rounds
//! stand beside it; it renders whatever the night held; and what is refused.

use crate::helpers::{TestApp, checked_log, spawn_app};
use muster::demo::drill;
use muster::roster::Role;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

async fn report(app: &TestApp, action: i64, query: &str) -> reqwest::Response {
    let url = format!("{}/api/actions/{action}/report?{query}", app.base);
    app.client.get(url).bearer_auth(app.token(Role::Chief)).send().await.unwrap()
}

async fn report_json(app: &TestApp, action: i64, query: &str) -> Value {
    let r = report(app, action, &format!("format=json&{query}")).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn new_action(app: &TestApp, name: &str, scope: &[i64]) -> i64 {
    let points: Vec<i64> = app.roster.points().iter().map(|p| p.id).collect();
    app.create_action(name, scope, &points).await
}

async fn drill(app: &TestApp, action: i64, hours: f64) {
    let tokens = app.roster.staff().iter().map(|s| (s.id, app.token_of(s.id))).collect();
    let opts = drill::DrillOptions {
        base_url: app.base.clone(),
        tokens,
        action_id: action,
        speed: 4_000.0,
        seed: 7,
        // Nights that have passed, apart (within the day of skew the server accepts).
        start: OffsetDateTime::now_utc() - Duration::hours(if hours > 2.5 { 20 } else { 10 }),
        hours,
    };
    let played = drill::run(app.roster.clone(), opts).await;
    assert_eq!(played.failed, 0, "{played:?}");
}

async fn events(app: &TestApp, action: i64, token: &str, events: Vec<Value>) -> Vec<i64> {
    let url = format!("{}/api/actions/{action}/events", app.base);
    let r = app.client.post(url).bearer_auth(token).json(&json!({ "events": events })).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["results"].as_array().unwrap().iter().map(|r| r["seq"].as_i64().unwrap()).collect()
}

fn event(kind: &str, at: OffsetDateTime, fields: Value) -> Value {
    let mut e = json!({ "id": Uuid::now_v7(), "type": kind, "device_time": at.format(&Rfc3339).unwrap() });
    e.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    e
}

fn at(v: &Value) -> Option<OffsetDateTime> {
    v.as_str().map(|s| OffsetDateTime::parse(s, &Rfc3339).unwrap())
}

fn mark<'a>(r: &'a Value, key: &str) -> &'a Value {
    r["marks"].as_array().unwrap().iter().find(|m| m["key"] == key).unwrap()
}

#[tokio::test]
async fn the_report_agrees_with_the_live_state_and_the_log_and_the_faster_round_is_shorter() {
    let app = spawn_app().await;
    let (first, second) = (new_action(&app, "第1轮", &[1]).await, new_action(&app, "第2轮", &[1]).await);
    drill(&app, first, 3.0).await;
    drill(&app, second, 2.0).await;
    let r = report_json(&app, second, &format!("compare={first}")).await;

    // Against the live state at close.
    let live = app.get_json(&format!("/api/actions/{second}"), &app.token(Role::Chief)).await;
    for key in ["target", "sampled", "exempt", "missing", "scans"] {
        assert_eq!(r["totals"][key], live["totals"][key], "{key}");
    }
    let live_points: HashMap<i64, i64> = live["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_i64().unwrap(), p["count"].as_i64().unwrap()))
        .collect();
    for p in r["points"].as_array().unwrap() {
        assert_eq!(Some(&p["sampled"].as_i64().unwrap()), live_points.get(&p["id"].as_i64().unwrap()));
    }
    let live_nodes: HashMap<i64, &Value> =
        live["nodes"].as_array().unwrap().iter().map(|n| (n["id"].as_i64().unwrap(), n)).collect();
    for a in r["areas"].as_array().unwrap() {
        let n = live_nodes[&a["node_id"].as_i64().unwrap()];
        assert_eq!(a["target"], n["target"]);
        assert_eq!(a["accounted"].as_i64().unwrap(), n["sampled"].as_i64().unwrap() + n["exempt"].as_i64().unwrap());
    }
    // Against the log's rows, counted directly.
    let store = muster::store::open(&app.db_url).await.unwrap();
    let log = store.read_events(second, 0, 1_000_000).await.unwrap();
    let sampled: HashSet<i64> = log
        .iter()
        .filter_map(|e| match &e.new.body {
            muster::action::EventBody::ResidentSampled { resident_id, .. } => Some(*resident_id),
            _ => None,
        })
        .collect();
    assert_eq!(r["totals"]["sampled"].as_u64().unwrap() as usize, sampled.len(), "no corrections in the drill");
    assert_eq!(r["totals"]["events"].as_u64().unwrap() as usize, log.len());
    let positives = log
        .iter()
        .filter(|e| {
            matches!(
                &e.new.body,
                muster::action::EventBody::TubeResult { result: muster::action::LabResult::Positive, .. }
            )
        })
        .count();
    assert_eq!(r["tubes"]["positive"].as_u64().unwrap() as usize, positives);
    assert_eq!(
        r["members"].as_array().unwrap().iter().filter(|m| !m["covered_by"].as_array().unwrap().is_empty()).count(),
        1,
        "one substitute"
    );
    // The chain of command's steps, each as the log has it, in time order.
    let mut steps: Vec<(&str, OffsetDateTime)> = log
        .iter()
        .filter_map(|e| match &e.new.body {
            muster::action::EventBody::HouseholdsHanded { to: Some(_), .. } => Some(("handed", e.new.device_time)),
            muster::action::EventBody::HouseholdsHanded { to: None, .. } => Some(("handed_back", e.new.device_time)),
            muster::action::EventBody::AreaSignedOff { .. } => Some(("signed_off", e.new.device_time)),
            _ => None,
        })
        .collect();
    steps.sort_by_key(|s| s.1);
    let chain: Vec<(&str, OffsetDateTime)> =
        r["chain"].as_array().unwrap().iter().map(|c| (c["what"].as_str().unwrap(), at(&c["at"]).unwrap())).collect();
    assert_eq!(chain, steps);
    assert!(chain.iter().any(|c| c.0 == "handed") && chain.iter().any(|c| c.0 == "signed_off"), "{chain:?}");
    let html = report(&app, second, "format=html").await.text().await.unwrap();
    assert!(html.contains("<h2>接替与上报</h2>") && html.contains("本片完成上报"), "the page shows them");

    // The earlier round beside it: the two-hour night is done sooner than the three-hour one.
    let round = &r["compare"][0];
    assert_eq!(round["action_id"], first);
    let minutes = |marks: &Value, key: &str| {
        marks.as_array().unwrap().iter().find(|m| m["key"] == key).unwrap()["minutes"].as_f64().unwrap()
    };
    for key in ["accounted_90", "accounted_100"] {
        assert!(
            minutes(&r["marks"], key) < minutes(&round["marks"], key),
            "{key}: {} vs {}",
            minutes(&r["marks"], key),
            minutes(&round["marks"], key)
        );
    }
    let faster =
        round["areas"].as_array().unwrap().iter().filter(|a| a["faster_by"].as_f64().is_some_and(|f| f > 0.0)).count();
    assert!(faster > round["areas"].as_array().unwrap().len() / 2, "most areas got faster");

    // The workbook: each table its own sheet, with the JSON's totals.
    use calamine::{DataType, Reader};
    let xlsx = report(&app, second, "format=xlsx").await.bytes().await.unwrap();
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(xlsx.to_vec())).unwrap();
    let names = book.sheet_names();
    assert!(names.iter().any(|n| n == "各采样点") && names.iter().any(|n| n == "各网格员"), "{names:?}");
    let mut sum_column = |sheet: &str, column: usize| -> f64 {
        let range = book.worksheet_range(sheet).unwrap();
        range.rows().skip(1).filter_map(|row| row.get(column).and_then(|c| c.get_float())).sum()
    };
    let json_sum =
        |table: &str, key: &str| r[table].as_array().unwrap().iter().map(|x| x[key].as_f64().unwrap()).sum::<f64>();
    assert_eq!(sum_column("各采样点", 1), json_sum("points", "sampled"));
    let accounted = sum_column("各网格员", 3);
    assert_eq!(accounted, json_sum("members", "accounted"));
    assert_eq!(accounted as i64, r["totals"]["accounted"].as_i64().unwrap());
}

#[tokio::test]
async fn percentile_times_are_the_moments_the_kth_resident_was_accounted_for_and_a_correction_moves_them() {
    let app = spawn_app().await;
    let roster = &app.roster;
    let grid = roster.staff().iter().find(|s| s.role == Role::GridMember).unwrap().nodes[0];
    let action = new_action(&app, "一个网格", &[grid]).await;
    let grid_idx: HashSet<usize> = [roster.node_idx(grid).unwrap()].into();
    let residents: Vec<i64> = (0..roster.residents().len())
        .filter(|&i| roster.in_subtree_of(roster.resident_node_idx(i), &grid_idx))
        .map(|i| roster.residents()[i].id)
        .collect();
    let n = residents.len();
    assert!(n >= 10);
    let chief = app.token(Role::Chief);
    // Opened at 23:50 local; the i-th resident sampled i minutes after midnight (across it).
    // 23:50 in Shanghai (15:50 UTC), on whichever day keeps the night within the day of
    // clock skew the server accepts either side of now.
    let now = OffsetDateTime::now_utc();
    let t0 = [-1, 0, 1]
        .into_iter()
        .map(|d| now.replace_time(time::macros::time!(15:50)) + Duration::days(d))
        .find(|t| *t >= now - Duration::hours(22) && *t + Duration::hours(3) <= now + Duration::hours(22))
        .expect("one of three days fits");
    events(&app, action, &chief, vec![event("action_opened", t0, json!({}))]).await;
    let point = app.point_of(residents[0]);
    let mut batch = Vec::new();
    for (i, &r) in residents.iter().enumerate().skip(1) {
        batch.push(event(
            "resident_sampled",
            t0 + Duration::minutes(10 + i as i64),
            json!({ "resident_id": r, "point_id": point }),
        ));
    }
    // The first is away: accounted for when the exemption was set, at 23:55.
    batch.push(event(
        "exemption_set",
        t0 + Duration::minutes(5),
        json!({ "resident_id": residents[0], "reason": "away" }),
    ));
    let seqs = events(&app, action, &chief, batch).await;
    let r = report_json(&app, action, "").await;
    let k = |share: f64| ((share * n as f64).ceil() as i64).max(1);
    // Sorted accounted times: 5, then 11, 12, … (minutes after t0).
    let kth = |k: i64| if k == 1 { t0 + Duration::minutes(5) } else { t0 + Duration::minutes(10 + k - 1) };
    assert_eq!(at(&mark(&r, "accounted_50")["at"]), Some(kth(k(0.5))));
    assert_eq!(at(&mark(&r, "accounted_90")["at"]), Some(kth(k(0.9))));
    assert_eq!(at(&mark(&r, "accounted_100")["at"]), Some(kth(n as i64)));
    assert_eq!(mark(&r, "call_up")["at"], Value::Null, "no call-up: said so, not invented");
    assert_eq!(r["start_is"], "opened");
    // Undo the second resident's sample (the wrong person): they are missing again, the
    // others move up one place, and 100 % is no longer reached.
    let undo = event("correction", t0 + Duration::minutes(90), json!({ "target_seq": seqs[0], "reason": "扫错人" }));
    events(&app, action, &app.operator_of(point), vec![undo]).await;
    let r = report_json(&app, action, "").await;
    let moved = |k: i64| if k == 1 { t0 + Duration::minutes(5) } else { t0 + Duration::minutes(10 + k) };
    assert_eq!(at(&mark(&r, "accounted_50")["at"]), Some(moved(k(0.5))));
    assert_eq!(mark(&r, "accounted_100")["at"], Value::Null);
    assert_eq!(r["totals"]["missing"], 1);
    assert_eq!(r["missing"][0]["resident_id"], residents[1]);
    assert!(r["missing"][0]["id_number"].as_str().unwrap().contains('*'), "masked");
}

#[tokio::test]
async fn a_night_with_nothing_in_it_renders_dashes_not_crashes() {
    let app = spawn_app().await;
    let action = new_action(&app, "未开始", &[1]).await;
    let r = report_json(&app, action, "").await;
    assert!(r["marks"].as_array().unwrap().iter().all(|m| m["at"].is_null()));
    assert_eq!(r["totals"]["missing"], r["totals"]["target"]);
    assert!(r["points"].as_array().unwrap().iter().all(|p| p["per_hour"].is_null() && p["first"].is_null()));
    for format in ["html", "csv", "xlsx"] {
        let got = report(&app, action, &format!("format={format}")).await;
        assert_eq!(got.status(), 200, "{format}");
        let body = got.bytes().await.unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(!text.contains("NaN") && !text.contains("inf"), "{format}");
    }
    let html = report(&app, action, "format=html").await.text().await.unwrap();
    assert!(html.contains("无此数据") && html.contains("—"));
}

#[tokio::test]
async fn a_head_reads_the_report_of_their_own_areas_only() {
    let app = spawn_app().await;
    let head = app.roster.staff().iter().find(|s| s.role == Role::GridHead).unwrap();
    let url = format!("{}/api/actions/{}/report?format=json", app.base, app.action_id);
    let r: Value = app.client.get(&url).bearer_auth(app.token_of(head.id)).send().await.unwrap().json().await.unwrap();
    let area: HashSet<usize> = [app.roster.node_idx(head.nodes[0]).unwrap()].into();
    let under = (0..app.roster.residents().len())
        .filter(|&i| app.roster.in_subtree_of(app.roster.resident_node_idx(i), &area))
        .count();
    assert_eq!(r["totals"]["target"].as_u64().unwrap() as usize, under);
    assert_eq!(r["missing"].as_array().unwrap().len(), under);
    assert!(r["areas"].as_array().unwrap().iter().all(|a| a["depth"].as_u64().unwrap() >= 1));
    let member = app.roster.staff().iter().find(|s| s.role == Role::GridMember).unwrap();
    assert_eq!(app.client.get(&url).bearer_auth(app.token_of(member.id)).send().await.unwrap().status(), 403);
}

#[tokio::test]
async fn a_bad_format_or_a_round_that_cannot_be_compared_is_refused_clearly() {
    let app = spawn_app().await;
    let subs: Vec<i64> = app.roster.nodes().iter().filter(|n| n.parent == Some(1)).map(|n| n.id).collect();
    let (east, west) = (new_action(&app, "东片", &[subs[0]]).await, new_action(&app, "西片", &[subs[1]]).await);
    let before = checked_log(&app).await.len();
    for (action, query, field) in [
        (east, "format=pdf".to_owned(), "format"),
        (east, format!("compare={west}"), "compare"),
        (east, format!("compare={east}"), "compare"),
        (east, "compare=3,x".to_owned(), "compare"),
    ] {
        let r = report(&app, action, &query).await;
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, 400, "{query}: {body}");
        if field == "compare" || status == 400 && body["code"] == "invalid_field" {
            assert_eq!(body["field"], field, "{body}");
        }
        assert!(body["message"].as_str().unwrap().chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{body}");
    }
    assert_eq!(report(&app, 9_999, "").await.status(), 404);
    assert_eq!(checked_log(&app).await.len(), before);
}
