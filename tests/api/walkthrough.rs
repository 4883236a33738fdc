//! A new village from an empty database to a served night, in the README's order
//! ("Serving a real database"), on the real binary: the first admin from the setup link
//! `muster serve` prints, one workbook of residents, staff and points imported through
//! the running server, phones paired, the chief's action planned and opened, an operator
//! scanning at their point and a grid member's missing list shrinking by exactly that.

use crate::helpers::{Database, Node, code_in};
use muster::roster::IdNumber;
use rust_xlsxwriter::{Format, Workbook};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// The running server, called as one person or another.
struct Village {
    base: String,
    client: reqwest::Client,
}

impl Village {
    /// `method path` with an optional token and body: the status and the JSON answer.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let r = request.send().await.expect("the server answers");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, token: &str) -> Value {
        let (status, body) = self.call(reqwest::Method::GET, path, Some(token), None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, token, Some(body)).await
    }

    /// The workbook as the body of `POST /api/roster/import`, as the import page sends it.
    async fn import(&self, token: &str, query: &str, workbook: Vec<u8>) -> (u16, Value) {
        let url = format!("{}/api/roster/import?filename=花名册.xlsx{query}", self.base);
        let r = self.client.post(url).bearer_auth(token).body(workbook).send().await.expect("the server answers");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// A pairing code made by the admin, redeemed as the staff member's phone would.
    async fn pair(&self, admin: &str, staff_id: i64) -> String {
        let (status, made) = self.post(&format!("/api/staff/{staff_id}/pairing-codes"), Some(admin), json!({})).await;
        assert_eq!(status, 201, "a pairing code for staff {staff_id}: {made}");
        let code = made["code"].as_str().expect("a code");
        let (status, paired) = self.post("/api/auth/pair", None, json!({ "code": code, "device": "手机" })).await;
        assert_eq!(status, 200, "pairing staff {staff_id}: {paired}");
        assert_eq!(paired["staff"]["id"], staff_id);
        paired["token"].as_str().expect("a token").to_owned()
    }

    /// A grid member's (or the chief's) missing residents, every page: id → name.
    async fn missing(&self, action: i64, token: &str) -> BTreeMap<i64, String> {
        let mut residents = BTreeMap::new();
        let mut cursor = String::new();
        loop {
            // Pages of three, so that paging is part of the walk.
            let page = self.get(&format!("/api/actions/{action}/missing?limit=3{cursor}"), token).await;
            let listed = page["residents"].as_array().unwrap().iter();
            residents.extend(listed.map(|r| (r["id"].as_i64().unwrap(), r["name"].as_str().unwrap().to_owned())));
            match page["next"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => return residents,
            }
        }
    }
}

/// A resident of the sheet: grid, household, name, and the 17 digits before the check digit.
struct Resident {
    grid: usize,
    household: &'static str,
    name: &'static str,
    id_body: &'static str,
}

const GRIDS: [&str; 2] = ["第1网格", "第2网格"];
/// Each grid's grid member, as the residents' sheet and the staff sheet both name them.
const GRID_MEMBERS: [(&str, &str); 2] = [("李春生", "13800000001"), ("赵红梅", "13800000002")];
/// Each grid's sampling point: 1号 serves 第1网格, 2号 第2网格.
const POINTS: [&str; 2] = ["1号采样点", "2号采样点"];

const RESIDENTS: [Resident; 8] = [
    Resident { grid: 0, household: "LS001", name: "王建国", id_body: "11011719560312001" },
    Resident { grid: 0, household: "LS001", name: "刘秀英", id_body: "11011719580721002" },
    Resident { grid: 0, household: "LS001", name: "王浩然", id_body: "11011719900105003" },
    Resident { grid: 0, household: "LS002", name: "陈玉兰", id_body: "11011719450909004" },
    Resident { grid: 0, household: "LS002", name: "陈小明", id_body: "11011720100315005" },
    Resident { grid: 1, household: "LS003", name: "赵大山", id_body: "11011719620101006" },
    Resident { grid: 1, household: "LS003", name: "李桂芝", id_body: "11011719640202007" },
    Resident { grid: 1, household: "LS004", name: "孙桂兰", id_body: "11011719380808008" },
];

fn id_number(r: &Resident) -> String {
    IdNumber::from_body(r.id_body).expect("17 digits").expose().to_owned()
}

/// The village's workbook as its clerk keeps it: a title above the residents' header,
/// household and area cells on each household's first row only; then the staff sheet and
/// the sampling-point sheet. Every cell is text, as ID numbers and phones must be.
fn workbook() -> Vec<u8> {
    let mut book = Workbook::new();
    let text = Format::new().set_num_format("@");
    let mut sheet = |name: &str, rows: Vec<Vec<String>>| {
        let sheet = book.add_worksheet().set_name(name).expect("a valid sheet name");
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate().filter(|(_, cell)| !cell.is_empty()) {
                sheet.write_string_with_format(r as u32, c as u16, cell, &text).unwrap();
            }
        }
    };
    let line = |cells: &[&str]| cells.iter().map(|c| (*c).to_owned()).collect::<Vec<String>>();

    let mut residents = vec![
        line(&["柳树村村民花名册（2022年4月）"]),
        line(&["村", "片区", "网格", "网格员", "网格员电话", "户号", "户主姓名", "住址", "姓名", "身份证号"]),
    ];
    let mut previous = "";
    for r in &RESIDENTS {
        let (member, phone) = GRID_MEMBERS[r.grid];
        let mut row = if r.household == previous {
            vec![String::new(); 8]
        } else {
            let address = format!("柳树村{}号", r.household);
            line(&["柳树村", "东片区", GRIDS[r.grid], member, phone, r.household, r.name, &address])
        };
        row.extend([r.name.to_owned(), id_number(r)]);
        residents.push(row);
        previous = r.household;
    }
    sheet("村民", residents);

    let staff = [
        ["姓名", "电话", "角色", "负责区域", "采样点"],
        ["张德福", "13800000010", "总网格长", "柳树村", ""],
        ["孙立东", "13800000011", "网格长", "东片区", ""],
        ["李春生", "13800000001", "网格员", "第1网格", ""],
        ["赵红梅", "13800000002", "网格员", "东片区/第2网格", ""],
        ["吴晓燕", "13800000021", "采样员", "", "1号采样点"],
        ["钱志明", "13800000022", "采样员", "", "2号采样点"],
        ["郑雅琴", "13800000031", "医护", "柳树村", ""],
    ];
    sheet("工作人员", staff.iter().map(|r| line(r)).collect());
    let points =
        [["名称", "地点", "服务区域"], ["1号采样点", "村委会广场", "第1网格"], ["2号采样点", "卫生室门前", "第2网格"]];
    sheet("采样点", points.iter().map(|r| line(r)).collect());
    book.save_to_buffer().expect("the workbook is written")
}

/// What the import of [`workbook`] into a database holding only the first admin does.
fn first_import(dry_run: bool) -> Value {
    let added = |n: usize| json!({ "added": n, "changed": 0, "removed": 0, "unchanged": 0 });
    json!({
        "dry_run": dry_run,
        "area": null,
        "residents": added(8),
        "kept_for_history": 0,
        "households": added(4),
        "areas": added(4),
        "staff": added(7),
        "staff_retired": 0,
        "points": added(2),
        "points_retired": 0,
        "grid_members_added": 0,
        "removals": { "total": 0, "examples": [] },
        "flags_from_notes": [],
    })
}

/// The staff list's entry of the one staff member with this name.
fn staff_named<'a>(staff: &'a Value, name: &str) -> &'a Value {
    let mut found = staff.as_array().unwrap().iter().filter(|s| s["name"] == name);
    let one = found.next().unwrap_or_else(|| panic!("{name} is on the staff list: {staff}"));
    assert!(found.next().is_none(), "{name} is on the staff list once");
    one
}

#[tokio::test]
async fn walkthrough_a_new_village_goes_from_an_empty_database_to_a_served_night() {
    let db = Database::fresh().await;

    // 1. An empty database: `muster serve` prints the setup link; it makes the first admin.
    let node = Node::start(&db.url).await;
    let link = node.setup_link.clone().expect("a database with no admin prints a setup link");
    let village = Village { base: node.base.clone(), client: reqwest::Client::new() };
    let setup = json!({ "code": code_in(&link, "setup.html"), "name": "王支书", "phone": "13900009999" });
    let (status, admin) = village.post("/api/auth/setup", None, setup).await;
    assert_eq!(status, 200, "{admin}");
    assert_eq!((admin["staff"]["name"].as_str(), admin["staff"]["role"].as_str()), (Some("王支书"), Some("admin")));
    let admin = admin["token"].as_str().unwrap().to_owned();

    // 2. One workbook through the running server: checked first, then imported.
    let book = workbook();
    let (status, dry) = village.import(&admin, "&dry_run=true", book.clone()).await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry, first_import(true));
    let staff = village.get("/api/staff", &admin).await;
    assert_eq!(staff.as_array().unwrap().len(), 1, "a dry run adds nobody: {staff}");
    let (status, report) = village.import(&admin, "", book).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report, first_import(false));

    // Everyone on the staff sheet is on the staff list once, with their role, area and
    // point; the admin, who is not on the sheet, stays.
    let staff = village.get("/api/staff", &admin).await;
    let roles: BTreeSet<(String, String)> = staff
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_owned(), s["role"].as_str().unwrap().to_owned()))
        .collect();
    let expected = [
        ("王支书", "admin"),
        ("张德福", "chief"),
        ("孙立东", "grid_head"),
        ("李春生", "grid_member"),
        ("赵红梅", "grid_member"),
        ("吴晓燕", "operator"),
        ("钱志明", "operator"),
        ("郑雅琴", "medic"),
    ];
    assert_eq!(roles, expected.iter().map(|(n, r)| (n.to_string(), r.to_string())).collect());
    assert_eq!(staff.as_array().unwrap().len(), 8);
    let areas = |name: &str| -> Vec<String> {
        let nodes = staff_named(&staff, name)["nodes"].as_array().unwrap();
        nodes.iter().map(|n| n["name"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!((areas("张德福"), areas("孙立东")), (vec!["柳树村".to_owned()], vec!["东片区".to_owned()]));
    assert_eq!((areas("李春生"), areas("赵红梅")), (vec![GRIDS[0].to_owned()], vec![GRIDS[1].to_owned()]));
    let point_of = |name: &str| staff_named(&staff, name)["point"].clone();
    assert_eq!(point_of("吴晓燕")["name"], POINTS[0]);
    assert_eq!(point_of("钱志明")["name"], POINTS[1]);
    let points = [point_of("吴晓燕")["id"].as_i64().unwrap(), point_of("钱志明")["id"].as_i64().unwrap()];
    let id_of = |name: &str| staff_named(&staff, name)["id"].as_i64().unwrap();

    // 3. Phones paired with codes the admin makes: the chief, a grid member, an operator.
    let chief = village.pair(&admin, id_of("张德福")).await;
    let member = village.pair(&admin, id_of("李春生")).await;
    let operator = village.pair(&admin, id_of("吴晓燕")).await;

    // 4. The chief plans the action over the whole village, with both points, and opens it.
    let nodes = village.get("/api/nodes", &chief).await;
    let names: BTreeSet<&str> = nodes.as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap()).collect();
    assert_eq!(names, BTreeSet::from(["柳树村", "东片区", "第1网格", "第2网格"]));
    let roots: Vec<i64> =
        nodes.as_array().unwrap().iter().filter(|n| n["parent"].is_null()).map(|n| n["id"].as_i64().unwrap()).collect();
    assert_eq!(roots.len(), 1, "the village is the one root: {nodes}");
    let plan = json!({ "kind": "testing", "name": "第1轮全员核酸", "scope": roots, "points": points });
    let (status, action) = village.post("/api/actions", Some(&chief), plan).await;
    assert_eq!(status, 201, "{action}");
    let action = action["id"].as_i64().unwrap();
    let opened = json!({ "events": [{ "id": Uuid::now_v7(), "type": "action_opened" }] });
    let (status, body) = village.post(&format!("/api/actions/{action}/events"), Some(&chief), opened).await;
    assert_eq!((status, body["results"][0]["status"].as_str()), (200, Some("new")), "{body}");
    let snapshot = village.get(&format!("/api/actions/{action}"), &chief).await;
    assert_eq!((snapshot["totals"]["target"].as_i64(), snapshot["totals"]["sampled"].as_i64()), (Some(8), Some(0)));

    // The grid member sees their own grid's five residents; the chief all eight.
    let names_in = |grid: usize| -> BTreeSet<String> {
        RESIDENTS.iter().filter(|r| r.grid == grid).map(|r| r.name.to_owned()).collect()
    };
    let names = |list: &BTreeMap<i64, String>| -> BTreeSet<String> { list.values().cloned().collect() };
    let everyone = village.missing(action, &chief).await;
    assert_eq!(everyone.len(), 8);
    let before = village.missing(action, &member).await;
    assert_eq!(names(&before), names_in(0), "第1网格's five residents, nobody else's");

    // 5. The operator scans two of 第1网格's residents by their ID cards at their own
    // point; a scan for the other point is not theirs to make.
    let scan = |resident: &Resident, point: i64| json!({ "id": Uuid::now_v7(), "id_number": id_number(resident), "point_id": point });
    let scans = format!("/api/actions/{action}/scans");
    let mut scanned = BTreeSet::new();
    for r in [&RESIDENTS[0], &RESIDENTS[3]] {
        let (status, body) = village.post(&scans, Some(&operator), scan(r, points[0])).await;
        assert_eq!(
            (status, body["status"].as_str(), body["resident"]["name"].as_str()),
            (201, Some("new"), Some(r.name))
        );
        scanned.insert(body["resident"]["id"].as_i64().unwrap());
    }
    assert!(scanned.iter().all(|id| before.contains_key(id)), "the residents scanned are the grid member's");
    let (status, body) = village.post(&scans, Some(&operator), scan(&RESIDENTS[1], points[1])).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("out_of_your_scope")), "{body}");

    // 6. The grid member's missing list is shorter by exactly those two, and still only
    // their grid's; the chief's by the same two.
    let without_scanned = |list: &BTreeMap<i64, String>| -> BTreeMap<i64, String> {
        list.iter().filter(|(id, _)| !scanned.contains(id)).map(|(id, n)| (*id, n.clone())).collect()
    };
    let after = village.missing(action, &member).await;
    assert_eq!(after.len(), 3);
    assert_eq!(after, without_scanned(&before));
    assert_eq!(village.missing(action, &chief).await, without_scanned(&everyone));
    let snapshot = village.get(&format!("/api/actions/{action}"), &chief).await;
    assert_eq!((snapshot["totals"]["target"].as_i64(), snapshot["totals"]["sampled"].as_i64()), (Some(8), Some(2)));
    node.kill().await;
}
