//! The one way tests start Muster: [`spawn_app`] builds a demo village in a fresh
//! database, serves it on a free port and opens the action through the API.

use futures_util::StreamExt;
use muster::demo::village;
use muster::roster::{Role, Roster};
use serde_json::{Value, json};
use sqlx::Connection;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct TestApp {
    pub base: String,
    pub addr: SocketAddr,
    pub db_url: String,
    pub roster: Arc<Roster>,
    pub action_id: i64,
    pub client: reqwest::Client,
    /// A signed-in session per staff member.
    tokens: std::collections::HashMap<i64, String>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<Result<(), muster::ServeError>>>,
    /// The server as a separate process of the real binary, for tests that kill it.
    process: Option<Node>,
    /// The clock the server judges sessions by: a test moves it forward.
    pub clock: muster::auth::Clock,
    /// How the server's chat-group notifier paces and retries (tests shorten it; a
    /// restart applies a change).
    pub notify: muster::notify::Limits,
    /// The database's own address, when the server reaches it another way.
    direct_db_url: Option<String>,
    /// Kept so the database outlives the test's servers (and dropped after them).
    _db: Database,
}

/// See [`TestApp::second_node`].
pub struct SecondNode {
    pub base: String,
    _stop: oneshot::Sender<()>,
    _server: tokio::task::JoinHandle<Result<(), muster::ServeError>>,
}

/// A test's own database: a SQLite file in a temporary directory, or a PostgreSQL
/// database dropped with this value.
pub struct Database {
    pub url: String,
    pg_database: Option<String>,
    _dir: TempDir,
}

impl Database {
    /// A fresh, empty database (PostgreSQL on the suite's PostgreSQL pass).
    pub async fn fresh() -> Database {
        Self::new(postgres_pass()).await
    }

    async fn new(postgres: bool) -> Database {
        init_logs();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (url, pg_database) = fresh_database(&dir, postgres).await;
        Database { url, pg_database, _dir: dir }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some(name) = self.pg_database.take() {
            // Drop runs outside async code: a short-lived runtime on its own thread.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async {
                    if let Ok(mut admin) = sqlx::postgres::PgConnection::connect(&format!("{POSTGRES}/postgres")).await
                    {
                        let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut admin).await;
                    }
                });
            })
            .join();
        }
    }
}

/// Logs only when `TEST_LOG` is set, so a failing test can be rerun with them.
fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt().with_env_filter("muster=debug").with_test_writer().try_init();
    }
}

/// Where the tests' PostgreSQL server is; each test makes its own database on it.
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";

/// A fresh database for one test: a SQLite file in `dir`, or with `MUSTER_TEST_DB=postgres`
/// a new database on the local PostgreSQL.
async fn fresh_database(dir: &TempDir, postgres: bool) -> (String, Option<String>) {
    if !postgres {
        return (format!("sqlite://{}", dir.path().join("muster.db").display()), None);
    }
    let name = format!("muster_test_{}", Uuid::new_v4().simple());
    let mut admin = sqlx::postgres::PgConnection::connect(&format!("{POSTGRES}/postgres"))
        .await
        .expect("PostgreSQL at 127.0.0.1:5432 (scripts/test starts it)");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await.unwrap();
    (format!("{POSTGRES}/{name}"), Some(name))
}

/// Whether this run is the PostgreSQL pass of the suite (`MUSTER_TEST_DB=postgres`).
fn postgres_pass() -> bool {
    std::env::var("MUSTER_TEST_DB").as_deref() == Ok("postgres")
}

/// A server inside the test process.
pub async fn spawn_app() -> TestApp {
    spawn(false, postgres_pass()).await
}

/// A server run as its own `muster serve` process, which the test can kill.
pub async fn spawn_process() -> TestApp {
    spawn(true, postgres_pass()).await
}

/// A `muster serve` process on a fresh PostgreSQL database, whatever the pass: for the
/// tests of several nodes on one database.
pub async fn spawn_on_postgres() -> TestApp {
    spawn(true, true).await
}

/// A server in the test process on a fresh PostgreSQL database, reaching it at the
/// address `via` makes of the database's (e.g. through a relay the test can cut).
/// [`TestApp::use_direct_database`] points the test's own reads back at the database.
pub async fn spawn_on_postgres_in_process(via: impl FnOnce(&str) -> String) -> TestApp {
    let mut app = spawn(false, true).await;
    let relayed = via(&app.db_url);
    app.direct_db_url = Some(std::mem::replace(&mut app.db_url, relayed));
    app.restart().await;
    app
}

async fn spawn(as_process: bool, postgres: bool) -> TestApp {
    let db = Database::new(postgres).await;
    let db_url = db.url.clone();
    let store = muster::store::open(&db_url).await.expect("the database opens");
    let village = village::generate(11);
    store.insert_roster(&village.roster).await.expect("the roster is stored");
    let action = store.create_action(&village.action, time::OffsetDateTime::now_utc()).await.expect("action");
    let roster = Arc::new(Roster::new(village.roster).expect("a valid roster"));
    let auth = muster::auth::Auth::new(store.accounts());
    let mut tokens = std::collections::HashMap::new();
    for s in roster.staff() {
        tokens.insert(s.id, auth.issue(s.id, "test").await.expect("a session").1);
    }
    let mut app = TestApp {
        tokens,
        base: String::new(),
        addr: "127.0.0.1:0".parse().unwrap(),
        db_url,
        roster,
        action_id: action.id,
        client: reqwest::Client::new(),
        stop: None,
        server: None,
        process: None,
        clock: Default::default(),
        notify: Default::default(),
        direct_db_url: None,
        _db: db,
    };
    if as_process {
        app.start_process().await;
    } else {
        app.start().await;
    }
    let opened = app.record(Role::Chief, json!({ "type": "action_opened" })).await;
    assert_eq!(opened.status(), 200, "opening the action: {}", opened.text().await.unwrap());
    app
}

impl TestApp {
    async fn start(&mut self) {
        let store = muster::store::open(&self.db_url).await.expect("the database opens");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        self.addr = listener.local_addr().unwrap();
        self.base = format!("http://{}", self.addr);
        let (stop, stopped) = oneshot::channel::<()>();
        self.stop = Some(stop);
        let settings =
            muster::Settings { clock: self.clock.clone(), notify: self.notify.clone(), ..Default::default() };
        self.server = Some(tokio::spawn(muster::serve(store, listener, settings, async move {
            let _ = stopped.await;
        })));
    }

    /// Another server in this process on the same database, judging time by the same
    /// clock (a second node behind the load balancer). Stops when the value is dropped.
    pub async fn second_node(&self) -> SecondNode {
        let store = muster::store::open(&self.db_url).await.expect("the database opens");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let settings =
            muster::Settings { clock: self.clock.clone(), notify: self.notify.clone(), ..Default::default() };
        let server = tokio::spawn(muster::serve(store, listener, settings, async move {
            let _ = stopped.await;
        }));
        SecondNode { base, _stop: stop, _server: server }
    }

    /// Reads the database at its own address from now on (see
    /// [`spawn_on_postgres_in_process`]).
    pub fn use_direct_database(&mut self) {
        if let Some(url) = self.direct_db_url.take() {
            self.db_url = url;
        }
    }

    /// Stops the server gracefully and starts a new one on the same database.
    pub async fn restart(&mut self) {
        self.stop.take().expect("running").send(()).unwrap();
        self.server.take().unwrap().await.unwrap().expect("the server stopped cleanly");
        self.start().await;
    }

    /// Starts `muster serve` on the test's database as a process of its own.
    pub async fn start_process(&mut self) {
        let node = Node::start(&self.db_url).await;
        self.base = node.base.clone();
        self.addr = node.addr;
        self.process = Some(node);
    }

    /// `kill -9`: no shutdown, no flush, whatever was in flight.
    pub async fn kill(&mut self) {
        self.process.take().expect("a server process").kill().await;
    }

    pub fn token(&self, role: Role) -> String {
        let staff = self.roster.staff().iter().find(|s| s.role == role).expect("a staff member with the role");
        self.token_of(staff.id)
    }

    /// A new session (as if another device were paired) for one staff member.
    pub async fn new_session(&self, staff_id: i64) -> String {
        let store = muster::store::open(&self.db_url).await.unwrap();
        muster::auth::Auth::new(store.accounts()).issue(staff_id, "test device").await.unwrap().1
    }

    /// The session token of one staff member.
    pub fn token_of(&self, staff_id: i64) -> String {
        self.tokens[&staff_id].clone()
    }

    /// The point serving a resident's grid (where the drill would send them).
    pub fn point_of(&self, resident_id: i64) -> i64 {
        let idx = self.roster.resident_idx(resident_id).unwrap();
        let grid = self.roster.nodes()[self.roster.resident_node_idx(idx)].id;
        self.roster.points().iter().find(|p| p.nodes.contains(&grid)).unwrap().id
    }

    /// The first `n` residents of the roster (all in the action's scope).
    pub fn residents(&self, n: usize) -> Vec<i64> {
        self.roster.residents().iter().take(n).map(|r| r.id).collect()
    }

    pub async fn scan_as(&self, token: &str, client_id: Uuid, resident_id: i64, point_id: i64) -> reqwest::Response {
        self.client
            .post(format!("{}/api/actions/{}/scans", self.base, self.action_id))
            .bearer_auth(token)
            .json(&json!({ "id": client_id, "resident_id": resident_id, "point_id": point_id }))
            .send()
            .await
            .expect("the server answers")
    }

    pub async fn scan(&self, client_id: Uuid, resident_id: i64) -> reqwest::Response {
        let point = self.point_of(resident_id);
        self.scan_as(&self.operator_of(point), client_id, resident_id, point).await
    }

    /// The token of the operator working at a sampling point.
    pub fn operator_of(&self, point: i64) -> String {
        let op = self.roster.staff().iter().find(|s| s.role == Role::Operator && s.point_id == Some(point));
        self.token_of(op.expect("every point has an operator").id)
    }

    /// Records one event (`{"type": ...}` plus its fields) with a fresh id.
    pub async fn record(&self, role: Role, event: Value) -> reqwest::Response {
        let mut e = event;
        e["id"] = json!(Uuid::now_v7());
        self.post_events(&self.token(role), json!({ "events": [e] })).await
    }

    pub async fn post_events(&self, token: &str, body: Value) -> reqwest::Response {
        self.client
            .post(format!("{}/api/actions/{}/events", self.base, self.action_id))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("the server answers")
    }

    /// `PATCH /api/staff/{id}` with `change`, as the holder of `token`.
    pub async fn patch_staff(&self, token: &str, id: i64, change: Value) -> reqwest::Response {
        let url = format!("{}/api/staff/{id}", self.base);
        self.client.patch(url).bearer_auth(token).json(&change).send().await.unwrap()
    }

    pub async fn snapshot(&self) -> Value {
        self.snapshot_at(&self.base).await
    }

    /// The snapshot as a given node serves it.
    pub async fn snapshot_at(&self, base: &str) -> Value {
        let r = self
            .client
            .get(format!("{base}/api/actions/{}", self.action_id))
            .bearer_auth(self.token(Role::Chief))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    pub async fn connect(&self, after: Option<i64>) -> Socket {
        self.connect_at(self.addr, after).await
    }

    /// POST `body` to `path` with a token; the answer's JSON (whatever the status).
    pub async fn post_json(&self, path: &str, token: &str, body: Value) -> Value {
        let r = self.client.post(format!("{}{path}", self.base)).bearer_auth(token).json(&body).send().await.unwrap();
        r.json().await.unwrap()
    }

    /// A new testing action (planned, not open) over `scope`, at `points`, made by the chief;
    /// its id.
    pub async fn create_action(&self, name: &str, scope: &[i64], points: &[i64]) -> i64 {
        let body = json!({ "kind": "testing", "name": name, "scope": scope, "points": points });
        let created = self.post_json("/api/actions", &self.token(Role::Chief), body).await;
        created["id"].as_i64().unwrap_or_else(|| panic!("the action was not created: {created}"))
    }

    /// GET `path` with a token; the answer's JSON (whatever the status).
    pub async fn get_json(&self, path: &str, token: &str) -> Value {
        let r = self.client.get(format!("{}{path}", self.base)).bearer_auth(token).send().await.unwrap();
        r.json().await.unwrap()
    }

    /// A viewer's live feed from a given node.
    pub async fn connect_at(&self, addr: SocketAddr, after: Option<i64>) -> Socket {
        let after = after.map(|a| format!("&after={a}")).unwrap_or_default();
        let url = format!("ws://{addr}/api/actions/{}/live?token={}{after}", self.action_id, self.token(Role::Viewer));
        tokio_tungstenite::connect_async(url).await.expect("the WebSocket connects").0
    }
}

/// The action's log as the database holds it, checked to be gap-free with each client id
/// once.
pub async fn checked_log(app: &TestApp) -> Vec<muster::action::Event> {
    let store = muster::store::open(&app.db_url).await.unwrap();
    let log = store.read_events(app.action_id, 0, 1_000_000).await.unwrap();
    assert!(log.iter().enumerate().all(|(i, e)| e.seq == i as i64 + 1), "positions are gap-free");
    let ids: std::collections::HashSet<Uuid> = log.iter().map(|e| e.new.client_id).collect();
    assert_eq!(ids.len(), log.len(), "no event is in the log twice");
    log
}

/// How many samples a log holds, and of how many different residents.
pub fn samples_in(log: &[muster::action::Event]) -> (usize, usize) {
    let samples: Vec<i64> = log
        .iter()
        .filter_map(|e| match e.new.body {
            muster::action::EventBody::ResidentSampled { resident_id, .. } => Some(resident_id),
            _ => None,
        })
        .collect();
    let distinct: std::collections::HashSet<i64> = samples.iter().copied().collect();
    (samples.len(), distinct.len())
}

/// Waits (at most two seconds) for the server to close a socket.
pub async fn closed_by_server(socket: &mut Socket) -> bool {
    tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(m)) = socket.next().await {
            if m.is_close() {
                return;
            }
        }
    })
    .await
    .is_ok()
}

/// A `muster serve` process: the real binary, which a test can kill, and of which a
/// test can run several on one PostgreSQL database.
pub struct Node {
    pub base: String,
    pub addr: SocketAddr,
    /// The first-admin link the server printed, when the database had no admin.
    pub setup_link: Option<String>,
    child: tokio::process::Child,
}

impl Node {
    /// Starts the binary and waits for the address it prints.
    pub async fn start(db_url: &str) -> Node {
        Self::start_with(db_url, &[]).await
    }

    /// `muster serve` with more arguments (`--tls-cert …`).
    pub async fn start_with(db_url: &str, args: &[&str]) -> Node {
        use tokio::io::AsyncBufReadExt;
        let log = if std::env::var_os("TEST_LOG").is_some() { Stdio::inherit() } else { Stdio::null() };
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_muster"))
            .args(["serve", "--db", db_url, "--bind", "127.0.0.1:0"])
            .args(args)
            // The lines read below in the form scripts rely on; the Chinese are `cli`'s to test.
            .env("MUSTER_LANG", "en")
            .stdout(Stdio::piped())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("the muster binary starts");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut setup_link = None;
        let base = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("stdout is readable") {
                if let Some(url) = line.strip_prefix("listening on ") {
                    return url.to_owned();
                }
                if line.contains("/setup.html?code=") {
                    setup_link = Some(line.trim().to_owned());
                }
            }
            panic!("the server ended without saying where it listens");
        })
        .await
        .expect("the server starts within 30 s");
        let addr = base.split_once("://").expect("a URL").1.parse().unwrap();
        Node { base, addr, setup_link, child }
    }

    pub async fn kill(mut self) {
        self.child.kill().await.expect("the process can be killed");
    }
}

/// The pairing code in the link a command printed (`…/{page}?code=ABCD-EFGH`).
pub fn code_in(output: &str, page: &str) -> String {
    let at = output.find(&format!("/{page}?code=")).unwrap_or_else(|| panic!("no {page} link in {output:?}"));
    output[at..].split_once("code=").unwrap().1.split_whitespace().next().unwrap().to_owned()
}

/// A staff member's missing count in a snapshot (0 when not listed).
pub fn missing_of(snapshot: &Value, staff: i64) -> i64 {
    let staff_view = snapshot["staff"].as_array().unwrap().iter().find(|s| s["id"] == staff);
    staff_view.map_or(0, |s| s["missing"].as_i64().unwrap())
}

/// The next JSON message on a socket, failing the test after five seconds.
pub async fn next_message(socket: &mut Socket) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a message within 5 s")
            .expect("the socket is open")
            .expect("a valid frame");
        if let Message::Text(text) = msg {
            return serde_json::from_str(&text).expect("JSON");
        }
    }
}
