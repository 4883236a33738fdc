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

    // Removing three residents needs that number confirmed: without it, or with another
    // number, nothing changes.
    let before = stored_roster(&app).await;
    let r = import(&app, Role::Admin, "filename=花名册.xlsx", xlsx.clone()).await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let refused: Value = r.json().await.unwrap();
    assert_eq!(refused["code"], "removals_unconfirmed");
    assert_eq!(refused["removals"], json!({ "residents": 3, "households": 0, "staff": 0, "points": 0 }));
    assert_eq!(refused["total"], 3);
    assert_eq!(refused["examples"].as_array().unwrap().len(), 3);
    assert!(refused["examples"].as_array().unwrap().iter().all(|e| e["kind"] == "resident"));
    let wrong = import(&app, Role::Admin, "filename=花名册.xlsx&confirm_removals=2", xlsx.clone()).await;
    assert_eq!(
        (wrong.status().as_u16(), wrong.json::<Value>().await.unwrap()["code"].clone()),
        (409, json!("removals_unconfirmed"))
    );
    let dry: Value =
        import(&app, Role::Admin, "filename=花名册.xlsx&dry_run=true", xlsx.clone()).await.json().await.unwrap();
    assert_eq!((dry["dry_run"].clone(), dry["removals"]["total"].clone()), (json!(true), json!(3)));
    assert_eq!(stored_roster(&app).await, before, "nothing changed");

    let r = import(&app, Role::Admin, "filename=花名册.xlsx&confirm_removals=3", xlsx.clone()).await;
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

/// The village's whole workbook: residents, staff and sampling points.
fn workbook(parts: &muster::roster::RosterParts) -> Vec<export::Sheet> {
    export::export_book(parts)
}

fn xlsx(book: &[export::Sheet]) -> Vec<u8> {
    muster::roster::import::write_book(book, Format::Xlsx).unwrap()
}

fn codes(body: &Value) -> Vec<(String, i64, String, String)> {
    body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let text = |k: &str| p[k].as_str().unwrap().to_owned();
            (text("sheet"), p["row"].as_i64().unwrap(), text("column"), text("code"))
        })
        .collect()
}

#[tokio::test]
async fn a_workbook_with_staff_and_points_reimports_unchanged_and_retires_who_leaves() {
    let app = spawn_app().await;
    let before = stored_roster(&app).await;
    let parts = app.roster.parts().clone();
    let r = import(&app, Role::Admin, "filename=村.xlsx", xlsx(&workbook(&parts))).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let report: Value = r.json().await.unwrap();
    let staff = parts.staff.len() as i64;
    assert_eq!(report["staff"], json!({ "added": 0, "changed": 0, "removed": 0, "unchanged": staff }));
    assert_eq!(report["points"], json!({ "added": 0, "changed": 0, "removed": 0, "unchanged": 10 }));
    assert_eq!(report["removals"]["total"], 0);
    assert_eq!(stored_roster(&app).await, before, "ids and rows the same");

    // The last point and its operator leave, a medic joins; another operator is moved to
    // a point the sheet does not have.
    let mut book = workbook(&parts);
    let leaving = parts.points.last().unwrap().clone();
    let operator = parts.staff.iter().find(|s| s.point_id == Some(leaving.id) && s.role == Role::Operator).unwrap();
    book[1].rows.retain(|r| r[0] != operator.name || r[1] != operator.phone.as_ref().unwrap().expose());
    book[2].rows.retain(|r| r[0] != leaving.name);
    book[1].rows.push(["孙医生", "13911112222", "上门采样", "大华山村", ""].map(String::from).to_vec());
    book[2].rows.push(["临时采集点", "村口", "第1网格、第2网格"].map(String::from).to_vec());
    let mut wrong = book.clone();
    let moved = wrong[1].rows.iter().position(|r| r[2] == "采样员").unwrap();
    wrong[1].rows[moved][4] = "99号采集点".into();
    let r = import(&app, Role::Admin, "filename=村.xlsx", xlsx(&wrong)).await;
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        codes(&body),
        [("工作人员".to_owned(), moved as i64 + 1, "采样点".to_owned(), "point_unknown".to_owned())]
    );

    let r = import(&app, Role::Chief, "filename=村.xlsx", xlsx(&book)).await;
    assert_eq!(r.status(), 409);
    let refused: Value = r.json().await.unwrap();
    assert_eq!(refused["removals"], json!({ "residents": 0, "households": 0, "staff": 1, "points": 1 }));
    assert_eq!(
        refused["examples"],
        json!([{ "kind": "point", "name": leaving.name }, { "kind": "staff", "name": operator.name }])
    );
    assert_eq!(stored_roster(&app).await, before, "nothing changed");

    let operator_token = app.token_of(operator.id);
    let r = import(&app, Role::Chief, "filename=村.xlsx&confirm_removals=2", xlsx(&book)).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["staff"], json!({ "added": 1, "changed": 0, "removed": 1, "unchanged": staff - 1 }));
    assert_eq!(report["points"], json!({ "added": 1, "changed": 0, "removed": 1, "unchanged": 9 }));
    // The operator has a session and the action names the point: both are retired, not deleted.
    assert_eq!((report["staff_retired"].clone(), report["points_retired"].clone()), (json!(1), json!(1)));
    let stored = stored_roster(&app).await;
    let retired = stored.staff.iter().find(|s| s.id == operator.id).unwrap();
    assert!(retired.retired && retired.point_id.is_none() && retired.nodes.is_empty());
    assert!(stored.points.iter().find(|p| p.id == leaving.id).unwrap().retired);
    let medic = stored.staff.iter().find(|s| s.name == "孙医生").unwrap();
    assert_eq!((medic.role, medic.nodes.as_slice(), medic.id), (Role::Medic, &[1][..], staff + 1));
    let signed_out =
        app.client.get(format!("{}/api/actions", app.base)).bearer_auth(operator_token).send().await.unwrap();
    assert_eq!(signed_out.status(), 401, "a retired staff member's phone signs in to nothing");

    // Taken off again, the medic and the point nothing refers to are deleted.
    book[1].rows.retain(|r| r[0] != "孙医生");
    book[2].rows.retain(|r| r[0] != "临时采集点");
    let r = import(&app, Role::Admin, "filename=村.xlsx&confirm_removals=2", xlsx(&book)).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let report: Value = r.json().await.unwrap();
    assert_eq!((report["staff"]["removed"].clone(), report["staff_retired"].clone()), (json!(1), json!(0)));
    assert_eq!((report["points"]["removed"].clone(), report["points_retired"].clone()), (json!(1), json!(0)));
    let stored = stored_roster(&app).await;
    assert!(stored.staff.iter().all(|s| s.name != "孙医生") && stored.points.iter().all(|p| p.name != "临时采集点"));
    assert_eq!((stored.staff.len(), stored.points.len()), (parts.staff.len(), parts.points.len()));
}

#[tokio::test]
async fn an_import_limited_to_an_area_refuses_rows_outside_and_leaves_them_untouched() {
    let app = spawn_app().await;
    let parts = app.roster.parts().clone();
    let area = parts.nodes.iter().find(|n| n.name == "第2分网格").unwrap().id;
    let grids: Vec<i64> = parts.nodes.iter().filter(|n| n.parent == Some(area)).map(|n| n.id).collect();
    let inside = |h: i64| parts.households.iter().any(|x| x.id == h && grids.contains(&x.node_id));
    let residents_inside = parts.residents.iter().filter(|r| inside(r.household_id)).count();

    // The whole village's sheet, limited to 第2分网格: every other resident's row is refused.
    let whole = xlsx(&workbook(&parts)[..1]);
    let r = import(&app, Role::Admin, &format!("filename=村.xlsx&area={area}"), whole).await;
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    let problems = codes(&body);
    assert_eq!(problems.len(), parts.residents.len() - residents_inside);
    assert!(
        problems.iter().all(|(sheet, _, column, code)| (sheet.as_str(), column.as_str(), code.as_str())
            == ("村民", "网格", "outside_area"))
    );

    // 第2分网格's own sheet, less one resident: only that resident goes.
    let mut own = parts.clone();
    own.households.retain(|h| grids.contains(&h.node_id));
    own.residents.retain(|r| inside(r.household_id));
    let gone = own
        .residents
        .iter()
        .find(|r| own.residents.iter().filter(|o| o.household_id == r.household_id).count() > 1)
        .unwrap()
        .clone();
    own.residents.retain(|r| r.id != gone.id);
    let sheet = xlsx(&workbook(&own)[..1]);
    let before = stored_roster(&app).await;
    let query = format!("filename=村.xlsx&area={area}");
    assert_eq!(import(&app, Role::Admin, &query, sheet.clone()).await.status(), 409);
    let r = import(&app, Role::Admin, &format!("{query}&confirm_removals=1"), sheet).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["area"], area);
    let unchanged = residents_inside as i64 - 1;
    assert_eq!(report["residents"], json!({ "added": 0, "changed": 0, "removed": 1, "unchanged": unchanged }));
    assert_eq!(report["areas"]["removed"], 0);
    let after = stored_roster(&app).await;
    let outside = |p: &muster::roster::RosterParts| {
        let residents: Vec<_> = p.residents.iter().filter(|r| !inside(r.household_id)).cloned().collect();
        (residents, p.staff.clone(), p.points.clone(), p.nodes.clone())
    };
    assert_eq!(outside(&after), outside(&before), "everything outside 第2分网格 untouched");
    assert_eq!(after.residents.len(), before.residents.len() - 1);

    let unknown = import(&app, Role::Admin, "filename=村.xlsx&area=99999", xlsx(&workbook(&own)[..1])).await;
    assert_eq!(
        (unknown.status().as_u16(), unknown.json::<Value>().await.unwrap()["field"].clone()),
        (400, json!("area"))
    );
}

#[tokio::test]
async fn the_template_workbook_has_the_staff_and_point_sheets() {
    let app = spawn_app().await;
    let bytes =
        app.client.get(format!("{}/api/roster/template", app.base)).send().await.unwrap().bytes().await.unwrap();
    let sheet = muster::roster::import::read_sheet(&bytes, Format::Xlsx, &Default::default()).unwrap();
    assert_eq!(sheet.staff.map(|s| s.rows.len()), Some(10));
    assert_eq!(sheet.points.map(|s| s.rows.len()), Some(2));
}
