//! Messages for people: Simplified Chinese unless the request's `Accept-Language` prefers
//! English; the machine `code` the same in both.

use crate::helpers::{TestApp, spawn_app};
use muster::roster::Role;
use serde_json::{Value, json};
use uuid::Uuid;

/// A request as a browser sends it, with the `Accept-Language` given (or none).
async fn send(lang: Option<&str>, req: reqwest::RequestBuilder) -> Value {
    let req = match lang {
        Some(l) => req.header("accept-language", l),
        None => req,
    };
    let r = req.send().await.expect("the server answers");
    assert!(r.status().is_client_error(), "{}", r.status());
    r.json().await.unwrap()
}

async fn scan_as_viewer(app: &TestApp, lang: Option<&str>) -> Value {
    let req = app
        .client
        .post(format!("{}/api/actions/{}/scans", app.base, app.action_id))
        .bearer_auth(app.token(Role::Viewer))
        .json(&json!({ "id": Uuid::now_v7(), "resident_id": app.residents(1)[0], "point_id": 1 }));
    send(lang, req).await
}

#[tokio::test]
async fn a_refused_role_is_told_in_chinese_unless_the_browser_prefers_english() {
    let app = spawn_app().await;
    let zh = scan_as_viewer(&app, None).await;
    assert_eq!(
        (zh["code"].as_str(), zh["message"].as_str()),
        (Some("forbidden"), Some("您的角色（只读大屏）不能做这件事"))
    );
    assert_eq!(zh["detail"], zh["message"]);
    let chinese_browser = scan_as_viewer(&app, Some("zh-CN,zh;q=0.9,en;q=0.8")).await;
    assert_eq!(chinese_browser["message"], zh["message"]);
    for english in ["en", "en-US,en;q=0.9,zh-CN;q=0.8", "zh-CN;q=0.5, en"] {
        let en = scan_as_viewer(&app, Some(english)).await;
        assert_eq!(
            (en["code"].as_str(), en["message"].as_str()),
            (Some("forbidden"), Some("your role (viewer) may not do this")),
            "{english}"
        );
    }
}

#[tokio::test]
async fn an_invalid_field_names_the_field_and_the_right_check_digit_in_both_languages() {
    let app = spawn_app().await;
    let op = app.operator_of(1);
    let scan = |lang| {
        let req = app
            .client
            .post(format!("{}/api/actions/{}/scans", app.base, app.action_id))
            .bearer_auth(&op)
            .json(&json!({ "id": Uuid::now_v7(), "id_number": "110105194912310021", "point_id": 1 }));
        send(lang, req)
    };
    let zh = scan(None).await;
    assert_eq!((zh["code"].as_str(), zh["field"].as_str()), (Some("invalid_field"), Some("id_number")));
    assert_eq!(zh["message"], "读到的身份证号不对：校验位不对：按前 17 位算，最后一位应是 X；请重新扫描或手动输入");
    let en = scan(Some("en")).await;
    assert_eq!((en["code"].as_str(), en["field"].as_str()), (Some("invalid_field"), Some("id_number")));
    assert_eq!(
        en["message"],
        "the ID number read is not valid: the last character should be X according to the check digit rule; \
         check for a typing error; scan again or type it"
    );
}

#[tokio::test]
async fn a_batch_lists_each_refusal_in_the_callers_language() {
    let app = spawn_app().await;
    let op = app.operator_of(1);
    let body = json!({ "events": [
        { "id": Uuid::now_v7(), "type": "resident_sampled", "resident_id": 999_999_999, "point_id": 1 },
        { "id": Uuid::now_v7(), "type": "resident_sampled", "resident_id": 999_999_998, "point_id": 1 },
    ]});
    let batch = |lang| {
        let url = format!("{}/api/actions/{}/events", app.base, app.action_id);
        send(lang, app.client.post(url).bearer_auth(&op).json(&body))
    };
    let zh = batch(None).await;
    assert_eq!(zh["code"], "events_rejected", "{zh}");
    assert_eq!(zh["message"], "有 2 个事件被拒绝，什么都没有记录");
    assert_eq!(zh["errors"][0]["code"], "unknown_resident");
    assert_eq!(zh["errors"][0]["message"], "花名册上没有编号为 999999999 的村民：请核对扫到的码");
    let en = batch(Some("en")).await;
    assert_eq!(en["errors"][1]["code"], "unknown_resident");
    assert_eq!(en["errors"][1]["message"], "resident 999999998 is not on the roster; check the code that was scanned");
}

#[tokio::test]
async fn a_roster_problem_says_what_and_how_to_fix_it_in_the_callers_language() {
    let app = spawn_app().await;
    let csv = "花名册\n户号,网格,姓名,身份证号\nX1,第1网格,王一,110117195603120010\n";
    let import = |lang| {
        let url = format!("{}/api/roster/import?format=csv", app.base);
        send(lang, app.client.post(url).bearer_auth(app.token(Role::Admin)).body(csv))
    };
    let zh = import(None).await;
    assert_eq!(zh["code"], "roster_invalid");
    assert_eq!(zh["message"], "花名册里有 1 个问题，什么都没有导入：请在表格中改正后重新导入");
    let p = &zh["problems"][0];
    assert_eq!(
        (p["row"].as_i64(), p["column"].as_str(), p["code"].as_str()),
        (Some(3), Some("身份证号"), Some("id_invalid"))
    );
    assert!(p["problem"].as_str().unwrap().starts_with("校验位不对：按前 17 位算，最后一位应是 "), "{p}");
    assert_eq!(p["fix"], "请对照身份证逐位核对：可能有一位数字输错了");
    let en = import(Some("en-GB")).await;
    let p = &en["problems"][0];
    assert_eq!(p["code"], "id_invalid");
    assert!(p["problem"].as_str().unwrap().starts_with("the last character should be "), "{p}");
    assert_eq!(p["fix"], "compare the number with the ID card: one of the digits is mistyped");
}

#[tokio::test]
async fn the_audit_log_labels_each_entry_in_the_callers_language_and_keeps_the_code() {
    let app = spawn_app().await;
    let admin = app.token(Role::Admin);
    let staff = app.client.get(format!("{}/api/staff", app.base)).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(staff.status(), 200);
    let audit = |lang: &'static str| {
        let url = format!("{}/api/audit", app.base);
        let req = app.client.get(url).bearer_auth(&admin).header("accept-language", lang);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let zh = audit("zh-CN").await;
    let entry = &zh["entries"][0];
    assert_eq!((entry["what"].as_str(), entry["label"].as_str()), (Some("read_phones"), Some("查看了完整电话号码")));
    let en = audit("en").await;
    let entry = &en["entries"][0];
    assert_eq!(
        (entry["what"].as_str(), entry["label"].as_str()),
        (Some("read_phones"), Some("read full phone numbers"))
    );
}

#[tokio::test]
async fn the_audit_log_says_whom_and_what_in_chinese_and_in_english_on_request() {
    let app = spawn_app().await;
    let admin = app.token(Role::Admin);
    let grid = app.roster.staff().iter().find(|s| s.role == Role::GridMember).unwrap().nodes[0];
    let grid_name = app.roster.nodes()[app.roster.node_idx(grid).unwrap()].name.clone();
    let send = |method: reqwest::Method, path: String, body: Option<Value>| {
        let mut req = app.client.request(method, format!("{}{path}", app.base)).bearer_auth(&admin);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let r = req.send().await.unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.json::<Value>().await.unwrap_or(Value::Null)
        }
    };
    use reqwest::Method;
    // An entry written before entries held their facts: an English sentence, kept as it is.
    let old = "staff 5: role grid_member → grid_head, nodes [3] → [3], point None → None";
    let store = muster::store::open(&app.db_url).await.unwrap();
    store.accounts().audit(1, 1, "change_staff", old).await.unwrap();

    send(Method::GET, "/api/staff".into(), None).await;
    let body = json!({ "name": "赵代班", "role": "grid_member", "nodes": [grid] });
    let s = send(Method::POST, "/api/staff".into(), Some(body)).await["id"].as_i64().unwrap();
    send(Method::PATCH, format!("/api/staff/{s}"), Some(json!({ "phone": "13955556666" }))).await;
    send(Method::POST, format!("/api/staff/{s}/pairing-codes"), None).await;
    let body = json!({ "name": "小学操场", "nodes": [grid] });
    let p = send(Method::POST, "/api/points".into(), Some(body)).await["id"].as_i64().unwrap();
    send(Method::PATCH, format!("/api/points/{p}"), Some(json!({ "place": "村小学" }))).await;
    send(Method::POST, format!("/api/points/{p}/retire"), None).await;
    send(Method::POST, format!("/api/staff/{s}/retire"), None).await;

    let audit = |lang: &'static str| {
        let req = app.client.get(format!("{}/api/audit", app.base)).bearer_auth(&admin).header("accept-language", lang);
        async move {
            let page = req.send().await.unwrap().json::<Value>().await.unwrap();
            let entries = page["entries"].as_array().unwrap().iter().take(9);
            entries
                .map(|e| (e["what"].as_str().unwrap().to_owned(), e["detail"].as_str().unwrap().to_owned()))
                .collect()
        }
    };
    let expected = |rows: [(&str, String); 9]| rows.map(|(what, detail)| (what.to_owned(), detail)).to_vec();
    let zh: Vec<(String, String)> = audit("zh-CN").await;
    assert_eq!(
        zh,
        expected([
            ("retire_staff", format!("赵代班（#{s}），网格员")),
            ("retire_point", format!("小学操场（#{p}）")),
            ("change_point", format!("小学操场（#{p}）：改了名称或地点")),
            ("add_point", format!("小学操场（#{p}），服务 {grid_name}")),
            ("pairing_code", format!("给 赵代班（#{s}）")),
            ("change_staff", format!("赵代班（#{s}）：改了姓名或电话")),
            ("add_staff", format!("赵代班（#{s}），网格员，负责 {grid_name}")),
            ("read_phones", "工作人员名单".to_owned()),
            ("change_staff", old.to_owned()),
        ])
    );
    for (what, detail) in &zh[..8] {
        assert!(!detail.chars().any(|c| c.is_ascii_alphabetic()), "{what}: an English word in {detail:?}");
    }
    let en: Vec<(String, String)> = audit("en").await;
    assert_eq!(
        en,
        expected([
            ("retire_staff", format!("赵代班 (#{s}), grid member")),
            ("retire_point", format!("小学操场 (#{p})")),
            ("change_point", format!("小学操场 (#{p}): name or place changed")),
            ("add_point", format!("小学操场 (#{p}), serving {grid_name}")),
            ("pairing_code", format!("for 赵代班 (#{s})")),
            ("change_staff", format!("赵代班 (#{s}): name or phone changed")),
            ("add_staff", format!("赵代班 (#{s}), grid member, for {grid_name}")),
            ("read_phones", "the staff list".to_owned()),
            ("change_staff", old.to_owned()),
        ])
    );
}
