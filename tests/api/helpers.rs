//! The one way tests start Muster: [`spawn_app`] builds a demo village in a fresh
//! database, serves it on a free port and opens the action through the API.

use futures_util::StreamExt;
use muster::demo::village;
use muster::roster::{Role, Roster};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
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
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<Result<(), muster::ServeError>>>,
    /// The server as a separate process of the real binary, for tests that kill it.
    process: Option<tokio::process::Child>,
    /// Kept so the database outlives the test's servers.
    pub dir: TempDir,
}

/// Logs only when `TEST_LOG` is set, so a failing test can be rerun with them.
fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt().with_env_filter("muster=debug").with_test_writer().try_init();
    }
}

/// A server inside the test process.
pub async fn spawn_app() -> TestApp {
    spawn(false).await
}

/// A server run as its own `muster serve` process, which the test can kill.
pub async fn spawn_process() -> TestApp {
    spawn(true).await
}

async fn spawn(as_process: bool) -> TestApp {
    init_logs();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db_url = format!("sqlite://{}", dir.path().join("muster.db").display());
    let store = muster::store::open(&db_url).await.expect("the database opens");
    let village = village::generate(11);
    store.insert_roster(&village.roster).await.expect("the roster is stored");
    let action = store.create_action(&village.action, time::OffsetDateTime::now_utc()).await.expect("action");
    let roster = Arc::new(Roster::new(village.roster).expect("a valid roster"));
    let mut app = TestApp {
        base: String::new(),
        addr: "127.0.0.1:0".parse().unwrap(),
        db_url,
        roster,
        action_id: action.id,
        client: reqwest::Client::new(),
        stop: None,
        server: None,
        process: None,
        dir,
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
        self.server = Some(tokio::spawn(muster::serve(store, listener, async move {
            let _ = stopped.await;
        })));
    }

    /// Stops the server gracefully and starts a new one on the same database.
    pub async fn restart(&mut self) {
        self.stop.take().expect("running").send(()).unwrap();
        self.server.take().unwrap().await.unwrap().expect("the server stopped cleanly");
        self.start().await;
    }

    /// Starts `muster serve` on the database and waits for the address it prints.
    pub async fn start_process(&mut self) {
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_muster"))
            .args(["serve", "--db", &self.db_url, "--bind", "127.0.0.1:0"])
            .stdout(std::process::Stdio::piped())
            .stderr(if std::env::var_os("TEST_LOG").is_some() {
                std::process::Stdio::inherit()
            } else {
                std::process::Stdio::null()
            })
            .kill_on_drop(true)
            .spawn()
            .expect("the muster binary starts");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("stdout is readable") {
                if let Some(url) = line.strip_prefix("listening on ") {
                    return url.to_owned();
                }
            }
            panic!("the server ended without saying where it listens");
        })
        .await
        .expect("the server starts within 30 s");
        self.base = line;
        self.addr = self.base.trim_start_matches("http://").parse().unwrap();
        self.process = Some(child);
    }

    /// `kill -9`: no shutdown, no flush, whatever was in flight.
    pub async fn kill(&mut self) {
        let mut child = self.process.take().expect("a server process");
        child.kill().await.expect("the process can be killed");
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("muster.db")
    }

    pub fn token(&self, role: Role) -> String {
        self.roster.staff().iter().find(|s| s.role == role).expect("a staff member with the role").token.0.clone()
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
        self.scan_as(&self.token(Role::Operator), client_id, resident_id, self.point_of(resident_id)).await
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

    pub async fn snapshot(&self) -> Value {
        let r = self
            .client
            .get(format!("{}/api/actions/{}", self.base, self.action_id))
            .bearer_auth(self.token(Role::Chief))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    pub async fn connect(&self, after: Option<i64>) -> Socket {
        let after = after.map(|a| format!("&after={a}")).unwrap_or_default();
        let url =
            format!("ws://{}/api/actions/{}/live?token={}{after}", self.addr, self.action_id, self.token(Role::Viewer));
        tokio_tungstenite::connect_async(url).await.expect("the WebSocket connects").0
    }
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
