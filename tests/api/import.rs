//! Roster import through the API: a re-import updates by stable keys with exact counts,
//! keeps residents the log names (marked removed), leaves live counts true, survives a
//! restart; a sheet with problems changes nothing.

use crate::helpers::{TestApp, spawn_app};
use muster::roster::IdNumber;
use muster::roster::Role;
use muster::roster::import::{Format, export, write_sheet};
use serde_json::{Value, json};
use uuid::Uuid;

async fn import(app: &TestApp, role: Role, query: &str, body: Vec<u8>) -> reqwest::Response {
    app.client
        .post(format!("{}/api/roster/import?{query}", app.base))
        .bearer_auth(app.token(role))
        .body(body)
        .send()
        .await
        .expect("the server answers")
}

fn column(rows: &[Vec<String>], header: &str) -> usize {
    rows[0].iter().position(|h| h == header).expect("the template has the column")
}

async fn stored_roster(app: &TestApp) -> muster::roster::RosterParts {
    muster::store::open(&app.db_url).await.unwrap().load_roster().await.unwrap()
}

#[tokio::test]
async fn a_reimport_reports_exact_counts_keeps_history_and_never_duplicates() {
    let mut app = spawn_app().await;
    let mut sheet = export::export(app.roster.parts());
    let (name, id, number) =
        (column(&sheet.rows, "姓名"), column(&sheet.rows, "身份证号"), column(&sheet.rows, "户号"));
    // Rows that are not a household's first row: removing them leaves households whole.
    let inner: Vec<usize> = (1..sheet.rows.len()).filter(|&r| sheet.rows[r][number].is_empty()).take(4).collect();
    let resident_on = |r: usize| {
        let number = IdNumber::parse(&sheet.rows[r][id]).unwrap();
        app.roster.resident_by_id_number(&number).unwrap()
    };
    let sampled = resident_on(inner[0]);
    let deleted = resident_on(inner[1]);
    assert_eq!(app.scan(Uuid::now_v7(), sampled).await.status(), 201);

    sheet.rows[inner[3]][name] = "改名字".into();
    for r in [inner[2], inner[1], inner[0]] {
        sheet.rows.remove(r);
    }
    let width = sheet.rows[0].len();
    for (i, body) in ["11022819800101001", "11022819850202002"].iter().enumerate() {
        let mut row = vec![String::new(); width];
        if i == 0 {
            row[number] = "NEW0001".into();
        }
        row[name] = format!("新村民{i}");
        row[id] = IdNumber::from_body(body).unwrap().expose().to_owned();
        sheet.rows.push(row);
    }
    // Rows moved, so the household merges computed for the export no longer fit.
    sheet.households.clear();
    let xlsx = write_sheet(&sheet, Format::Xlsx).unwrap();

    let r = import(&app, Role::Admin, "filename=花名册.xlsx", xlsx.clone()).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let report: Value = r.json().await.unwrap();
    let total = app.roster.residents().len() as i64;
    assert_eq!(report["residents"], json!({ "added": 2, "changed": 1, "removed": 3, "unchanged": total - 4 }));
    assert_eq!(report["kept_for_history"], 1);
    assert_eq!(report["households"], json!({ "added": 1, "changed": 0, "removed": 0, "unchanged": 1_304 }));
    assert_eq!(report["areas"]["added"], 0);

    // The same file again: nothing to do.
    let again: Value = import(&app, Role::Chief, "filename=花名册.xlsx", xlsx).await.json().await.unwrap();
    assert_eq!(again["residents"], json!({ "added": 0, "changed": 0, "removed": 0, "unchanged": total - 1 }));

    let stored = stored_roster(&app).await;
    assert_eq!(stored.residents.len() as i64, total - 2 + 2, "two deleted, one kept, two added");
    assert_eq!(stored.removed.iter().copied().collect::<Vec<_>>(), [sampled]);
    assert!(stored.residents.iter().all(|r| r.id != deleted));
    let ids: std::collections::HashSet<&str> = stored.residents.iter().map(|r| r.id_number.expose()).collect();
    assert_eq!(ids.len(), stored.residents.len(), "no ID number twice");

    // The open action: the two deleted leave its target, the two added join, and the
    // removed resident's sample still counts.
    let snapshot = app.snapshot().await;
    assert_eq!(snapshot["totals"]["target"], total);
    assert_eq!(snapshot["totals"]["sampled"], 1);
    let deleted_scan = app.scan_as(&app.token(Role::Operator), Uuid::now_v7(), deleted, 1).await;
    assert_eq!(deleted_scan.status(), 422);

    // A new action does not include the removed resident.
    let created = app
        .client
        .post(format!("{}/api/actions", app.base))
        .bearer_auth(app.token(Role::Chief))
        .json(&json!({ "kind": "testing", "name": "第2轮", "scope": [1], "points": [1] }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let new_id = created.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let second: Value = app
        .client
        .get(format!("{}/api/actions/{new_id}", app.base))
        .bearer_auth(app.token(Role::Chief))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second["totals"]["target"], total - 1);

    app.restart().await;
    assert_eq!(app.snapshot().await, snapshot, "state after a restart equals state before");
}

#[tokio::test]
async fn a_sheet_with_problems_imports_nothing_and_says_where() {
    let app = spawn_app().await;
    let before = stored_roster(&app).await;
    let csv = "花名册\n户号,网格,姓名,身份证号\nX1,第1网格,王一,110117195603120010\nX1,第1网格,,\n";
    let r = import(&app, Role::Admin, "format=csv", csv.as_bytes().to_vec()).await;
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "roster_invalid");
    let found: Vec<(i64, &str, &str)> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["row"].as_i64().unwrap(), p["column"].as_str().unwrap(), p["code"].as_str().unwrap()))
        .collect();
    assert_eq!(found, [(3, "身份证号", "id_invalid"), (4, "姓名", "name_missing"), (4, "身份证号", "id_missing")]);
    assert_eq!(body["problems"][0]["value"], "1101**********0010");
    assert_eq!(stored_roster(&app).await, before);
}

#[tokio::test]
async fn a_dry_run_reports_and_writes_nothing_and_only_admins_may_import() {
    let app = spawn_app().await;
    let before = stored_roster(&app).await;
    let template = write_sheet(&export::template(), Format::Csv).unwrap();
    let r = import(&app, Role::GridMember, "format=csv", template.clone()).await;
    assert_eq!(r.status(), 403);
    let report: Value = import(&app, Role::Admin, "format=csv&dry_run=true", template).await.json().await.unwrap();
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["residents"]["added"], 4);
    assert_eq!(report["flags_from_notes"].as_array().unwrap().len(), 1);
    assert_eq!(stored_roster(&app).await, before);
}
