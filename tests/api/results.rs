//! The lab's results: the tubes waiting for one, and results uploaded as a sheet (CSV in
//! UTF-8 or GBK, XLSX) recorded exactly, a positive flagging the tube's people; a sheet with
//! broken rows named row by row and column by column and nothing recorded; the same sheet
//! twice recorded once; only the lab and the command may upload.

use crate::helpers::{TestApp, checked_log, spawn_app};
use muster::roster::Role;
use serde_json::{Value, json};
use uuid::Uuid;

/// Fills tube `code` at `point` with `n` of its residents from `from` on (it closes at 10),
/// as the point's operator does.
async fn fill(app: &TestApp, point: i64, code: &str, from: usize, n: usize) -> Vec<i64> {
    let people: Vec<i64> =
        app.roster.residents().iter().map(|r| r.id).filter(|&r| app.point_of(r) == point).skip(from).take(n).collect();
    assert_eq!(people.len(), n, "the point serves enough residents");
    let mut events =
        vec![json!({ "id": Uuid::now_v7(), "type": "tube_opened", "tube": code, "point_id": point, "size": 10 })];
    events.extend(people.iter().map(|&r| {
        json!({ "id": Uuid::now_v7(), "type": "resident_sampled", "resident_id": r, "point_id": point, "tube": code })
    }));
    let r = app.post_events(&app.operator_of(point), json!({ "events": events })).await;
    assert_eq!(r.status(), 200, "filling {code}: {}", r.text().await.unwrap());
    people
}

/// Uploads a results sheet as `role`; the status and the answer.
async fn upload(app: &TestApp, role: Role, filename: &str, body: Vec<u8>, dry_run: bool) -> (u16, Value) {
    // The URL parser percent-encodes the Chinese file name.
    let url = format!("{}/api/actions/{}/results?filename={filename}&dry_run={dry_run}", app.base, app.action_id);
    let r = app
        .client
        .post(url)
        .bearer_auth(app.token(role))
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn csv(rows: &[[&str; 2]]) -> String {
    rows.iter().map(|r| format!("{},{}\r\n", r[0], r[1])).collect()
}

fn xlsx(rows: &[[&str; 2]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("检测结果").unwrap();
    for (r, row) in rows.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *value).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

async fn tube(app: &TestApp, code: &str) -> Value {
    app.get_json(&format!("/api/actions/{}/tubes/{code}", app.action_id), &app.token(Role::Chief)).await
}

async fn flagged(app: &TestApp) -> Vec<i64> {
    let list = app.get_json(&format!("/api/actions/{}/flagged", app.action_id), &app.token(Role::Chief)).await;
    let mut ids: Vec<i64> =
        list["people"].as_array().unwrap().iter().map(|p| p["resident_id"].as_i64().unwrap()).collect();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn results_in_utf8_csv_gbk_csv_and_xlsx_are_recorded_exactly_and_a_positive_flags_its_tube() {
    let app = spawn_app().await;
    let point = app.roster.points()[0].id;
    fill(&app, point, "HG-0001", 0, 10).await;
    let positive = fill(&app, point, "HG-0002", 10, 10).await;
    fill(&app, point, "HG-0003", 20, 10).await;
    let before = checked_log(&app).await.len();

    let utf8 = csv(&[["试管编码", "检测结果"], ["HG-0001", "阴性"]]);
    let (status, body) = upload(&app, Role::Lab, "结果.csv", utf8.into_bytes(), false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({ "dry_run": false, "recorded": 1, "repeats": 0, "positives": [] }));

    // Excel on Chinese Windows saves CSV in GBK.
    let text = csv(&[["混管编码", "结果"], ["HG-0002", "阳性"]]);
    let (gbk, _, failed) = encoding_rs::GBK.encode(&text);
    assert!(!failed);
    let (status, body) = upload(&app, Role::Lab, "结果.csv", gbk.into_owned(), false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({ "dry_run": false, "recorded": 1, "repeats": 0, "positives": ["HG-0002"] }));

    // The workbook repeats HG-0001 (the same result: a repeat) and adds HG-0003.
    let book = xlsx(&[["管码", "检测结果"], ["HG-0001", "negative"], ["HG-0003", "-"]]);
    let (status, body) = upload(&app, Role::Lab, "结果.xlsx", book, false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({ "dry_run": false, "recorded": 1, "repeats": 1, "positives": [] }));

    for (code, result) in [("HG-0001", "negative"), ("HG-0002", "positive"), ("HG-0003", "negative")] {
        assert_eq!(tube(&app, code).await["result"], result, "{code}");
    }
    assert_eq!(checked_log(&app).await.len(), before + 3, "one event per new result");
    let mut expected = positive.clone();
    expected.sort_unstable();
    assert_eq!(flagged(&app).await, expected, "the positive tube's ten, and nobody else");
    assert_eq!(app.snapshot().await["pace"]["flagged"], 10);
}

#[tokio::test]
async fn a_sheet_with_broken_rows_names_every_row_and_column_and_records_nothing() {
    let app = spawn_app().await;
    let point = app.roster.points()[0].id;
    fill(&app, point, "HG-0001", 0, 10).await;
    fill(&app, point, "HG-0002", 10, 10).await;
    fill(&app, point, "HG-0003", 20, 10).await;
    let entered =
        json!({ "events": [{ "id": Uuid::now_v7(), "type": "tube_result", "tube": "HG-0003", "result": "negative" }] });
    assert_eq!(app.post_events(&app.token(Role::Lab), entered).await.status(), 200);
    let before = checked_log(&app).await.len();

    let sheet = csv(&[
        ["试管编码", "检测结果"],
        ["HG-0001", "阴性"],
        ["HG 0002!", "阴性"],
        ["NOPE-9", "阳性"],
        ["HG-0002", "待定"],
        ["HG-0001", "阳性"],
        ["HG-0003", "阳性"],
        ["", "阴性"],
    ]);
    let (status, body) = upload(&app, Role::Lab, "结果.csv", sheet.into_bytes(), false).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("results_invalid")), "{body}");
    assert!(body["message"].as_str().unwrap().starts_with("结果表里有 6 个问题"), "{body}");
    let got: Vec<(u64, &str, &str, &str)> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["row"].as_u64().unwrap(),
                p["column"].as_str().unwrap(),
                p["value"].as_str().unwrap(),
                p["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (3, "试管编码", "HG 0002!", "tube_malformed"),
            (4, "试管编码", "NOPE-9", "tube_unknown"),
            (5, "检测结果", "待定", "result_unreadable"),
            (6, "检测结果", "阳性", "tube_conflict"),
            (7, "检测结果", "阳性", "result_contradicts"),
            (8, "试管编码", "", "tube_missing"),
        ]
    );
    for p in body["problems"].as_array().unwrap() {
        for field in ["problem", "fix"] {
            let text = p[field].as_str().unwrap();
            assert!(text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "Chinese first: {text}");
        }
    }
    assert!(body["problems"][3]["problem"].as_str().unwrap().contains("第 2 行是阴性"), "{body}");
    assert!(body["problems"][4]["problem"].as_str().unwrap().contains("已经录入为阴性"), "{body}");

    // A sheet without its result column names the column.
    let (status, body) = upload(&app, Role::Lab, "结果.csv", b"tube,note\r\nHG-0001,ok\r\n".to_vec(), false).await;
    assert_eq!((status, body["problems"][0]["code"].as_str()), (422, Some("column_missing")), "{body}");
    assert_eq!(
        (body["problems"][0]["row"].as_u64(), body["problems"][0]["column"].as_str()),
        (Some(1), Some("检测结果"))
    );
    // A file that is not a sheet at all.
    let (status, body) = upload(&app, Role::Lab, "结果.pdf", b"%PDF".to_vec(), false).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("file_unreadable")), "{body}");

    assert_eq!(checked_log(&app).await.len(), before, "nothing recorded");
    assert_eq!(tube(&app, "HG-0001").await["result"], Value::Null);
    assert!(flagged(&app).await.is_empty());
}

#[tokio::test]
async fn the_same_sheet_twice_records_its_results_once_and_a_dry_run_records_nothing() {
    let app = spawn_app().await;
    let point = app.roster.points()[0].id;
    fill(&app, point, "HG-0001", 0, 10).await;
    fill(&app, point, "HG-0002", 10, 10).await;
    let sheet = || csv(&[["试管编码", "检测结果"], ["HG-0001", "阴性"], ["HG-0002", "阳性"]]).into_bytes();
    let before = checked_log(&app).await.len();

    let (status, dry) = upload(&app, Role::Lab, "结果.csv", sheet(), true).await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry, json!({ "dry_run": true, "recorded": 2, "repeats": 0, "positives": ["HG-0002"] }));
    assert_eq!(checked_log(&app).await.len(), before, "a dry run records nothing");

    let (_, first) = upload(&app, Role::Lab, "结果.csv", sheet(), false).await;
    assert_eq!(first, json!({ "dry_run": false, "recorded": 2, "repeats": 0, "positives": ["HG-0002"] }));
    let (_, second) = upload(&app, Role::Lab, "结果.csv", sheet(), false).await;
    assert_eq!(second, json!({ "dry_run": false, "recorded": 0, "repeats": 2, "positives": [] }));
    assert_eq!(checked_log(&app).await.len(), before + 2);
    assert_eq!(flagged(&app).await.len(), 10);
}

#[tokio::test]
async fn a_lab_may_upload_results_and_a_grid_member_or_an_operator_may_not() {
    let app = spawn_app().await;
    let point = app.roster.points()[0].id;
    fill(&app, point, "HG-0001", 0, 10).await;
    let sheet = || csv(&[["试管编码", "检测结果"], ["HG-0001", "阴性"]]).into_bytes();
    let before = checked_log(&app).await.len();
    for role in [Role::GridMember, Role::Operator, Role::Viewer] {
        let (status, body) = upload(&app, role, "结果.csv", sheet(), false).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")), "{role:?}: {body}");
    }
    assert_eq!(checked_log(&app).await.len(), before);
    let (status, body) = upload(&app, Role::Lab, "结果.csv", sheet(), false).await;
    assert_eq!((status, body["recorded"].as_u64()), (200, Some(1)), "{body}");
}

#[tokio::test]
async fn the_tubes_waiting_for_a_result_are_listed_newest_first_without_names() {
    let app = spawn_app().await;
    let point = app.roster.points()[0].id;
    fill(&app, point, "HG-0001", 0, 10).await;
    fill(&app, point, "HG-0002", 10, 10).await;
    fill(&app, point, "HG-0003", 20, 4).await; // still open
    fill(&app, point, "HG-0004", 24, 10).await;
    let result =
        json!({ "events": [{ "id": Uuid::now_v7(), "type": "tube_result", "tube": "HG-0002", "result": "negative" }] });
    assert_eq!(app.post_events(&app.token(Role::Lab), result).await.status(), 200);

    let lab = app.token(Role::Lab);
    let path = |q: &str| format!("/api/actions/{}/tubes?{q}", app.action_id);
    let waiting = app.get_json(&path("waiting=true"), &lab).await;
    let codes = |page: &Value| -> Vec<String> {
        page["tubes"].as_array().unwrap().iter().map(|t| t["code"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(codes(&waiting), ["HG-0004", "HG-0001"], "closed, no result, newest first");
    assert_eq!(waiting["counts"], json!({ "tubes": 4, "open": 1, "waiting": 2, "negative": 1, "positive": 0 }));
    let first = &waiting["tubes"][0];
    assert_eq!(
        (first["count"].as_u64(), first["size"].as_u64(), first["closed"].as_bool()),
        (Some(10), Some(10), Some(true))
    );
    let text = waiting.to_string();
    let someone = &app.roster.residents()[0];
    assert!(!text.contains(&someone.name) && !text.contains("id_number") && !text.contains("people"), "{text}");

    // Every tube, two to a page.
    let one = app.get_json(&path("limit=2"), &lab).await;
    assert_eq!(codes(&one), ["HG-0004", "HG-0003"]);
    let two = app.get_json(&path(&format!("limit=2&cursor={}", one["next"].as_str().unwrap())), &lab).await;
    assert_eq!(codes(&two), ["HG-0002", "HG-0001"]);
    assert_eq!(two["tubes"][0]["result"], "negative");
    assert!(two["next"].is_null());

    let r = app.client.get(format!("{}{}", app.base, path(""))).bearer_auth(app.token(Role::GridMember)).send().await;
    assert_eq!(r.unwrap().status(), 403);
}
