//! The HTTP face: axum routes under `/api`, the live WebSocket, the embedded pages,
//! `/healthz`, `/metrics` and the OpenAPI document. Handlers parse input into domain
//! types, ask the writer or the hub, and answer; errors become answers in [`error`] only.
//! No SQL here and no rules of the fold.

pub mod actions;
pub mod auth;
pub mod callups;
pub mod cards;
pub mod chain;
pub mod channels;
mod doc;
mod error;
pub mod extract;
pub mod households;
pub mod import;
pub mod listen;
pub mod points;
pub mod report;
pub mod results;
pub mod scan;
pub mod staff;
pub mod tubes;
mod web;

pub use doc::ApiDoc;
pub use error::ApiError;

use crate::live::Hub;
use crate::messages::Lang;
use crate::store::Store;
use crate::writer::Writer;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use dashmap::DashMap;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tokio::sync::watch;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tracing::Instrument;
use utoipa::OpenApi;

/// What every handler can reach: one shared pointer, because axum clones the state for
/// every request (twice for a handler taking `State`).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub store: Arc<dyn Store>,
    pub hub: Arc<Hub>,
    pub writer: Writer,
    /// Delivers messages to the chat groups' channels (see `crate::notify`).
    pub notifier: crate::notify::Notifier,
    pub auth: Arc<crate::auth::Auth>,
    /// Where phones reach this server, for pairing links (see `crate::Settings`).
    pub public_url: Option<String>,
    /// `https` when this server serves TLS: pairing links made from the Host header use it.
    pub scheme: &'static str,
    pub metrics: PrometheusHandle,
    /// Flips to `true` when the server is stopping: open WebSockets close on it.
    pub shutdown: watch::Receiver<bool>,
    pub callers: extract::Callers,
    /// What escalation deadlines are judged by (see `crate::Settings::deadlines`).
    pub deadlines: crate::auth::Clock,
}

static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    /// The id of the request being answered, for the log lines its errors write.
    static REQUEST_ID: HeaderValue;
}

/// The current request's id (`x-request-id`), or `-` outside a request.
pub(crate) fn request_id() -> String {
    REQUEST_ID.try_with(|id| id.to_str().unwrap_or("-").to_owned()).unwrap_or_else(|_| "-".into())
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(actions::router())
        .merge(import::router())
        .merge(auth::router())
        .merge(staff::router())
        .merge(points::router())
        .merge(channels::router())
        .merge(households::router())
        .merge(scan::router())
        .merge(tubes::router())
        .merge(callups::router())
        .merge(chain::router())
        .merge(report::router())
        .merge(cards::router())
        .merge(results::router())
        .route("/api/me", get(me))
        .route("/api/openapi.json", get(openapi_json))
        .route("/healthz", get(healthz))
        .route("/metrics", get(render_metrics))
        // After every route: it applies to the routes the router has when it is called.
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(web::page)
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT))
        // Answers of a kilobyte or more go gzipped to a client that takes it: a phone's list
        // of households on a bad link is a fifth of its size. The pages are compressed once,
        // when embedded (`web`), and pass through as they are.
        .layer(CompressionLayer::new().compress_when(SizeAbove::new(1024).and(NotForContentType::IMAGES)))
        .layer(middleware::from_fn(observe))
        .with_state(state)
}

/// A method a route does not answer (`OPTIONS` included: no page calls across origins),
/// as a problem; axum adds the `Allow` header.
async fn method_not_allowed(method: axum::http::Method) -> ApiError {
    ApiError::MethodNotAllowed { method: method.to_string() }
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", responses((status = 200, body = Object)))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Liveness: answers as soon as the server serves.
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = String, content_type = "text/plain")))]
pub async fn healthz() -> &'static str {
    "ok"
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Me {
    id: i64,
    name: String,
    role: crate::roster::Role,
    nodes: Vec<i64>,
    point_id: Option<i64>,
    session_id: String,
}

/// Who this token belongs to, and their part of the roster.
#[utoipa::path(get, path = "/api/me", security(("bearer" = []), ("token" = [])), responses((status = 200, body = Me)))]
pub async fn me(caller: extract::Caller) -> Json<Me> {
    let s = caller.staff;
    Json(Me {
        id: s.id,
        name: s.name.clone(),
        role: s.role,
        nodes: s.nodes.clone(),
        point_id: s.point_id,
        session_id: caller.session.id,
    })
}

/// Prometheus metrics (`muster_*`), for the village's monitoring, if any.
#[utoipa::path(get, path = "/metrics", responses((status = 200, body = String, content_type = "text/plain")))]
async fn render_metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}

/// Around every request: its id (the client's `x-request-id`, or one made here), echoed on
/// the answer and written with any error the request logs (see [`request_id`]); its
/// language (`Accept-Language`: Chinese unless English is preferred); counts and
/// latency labelled by route pattern, so labels stay few (see [`label`]: they are built on
/// every request's path).
///
/// No span is formatted per request at the default log level: an `info` span with three
/// fields cost ≈ 10 µs of a scan's ≈ 70 µs of server CPU (its fields are formatted into a
/// string when it is made). With `RUST_LOG=muster=debug` every request gets one.
async fn observe(req: Request, next: Next) -> Response {
    let started = Instant::now();
    // The matched route, never the URI: a query may carry a token.
    let route = req.extensions().get::<MatchedPath>().map_or("(page)", |p| label(p.as_str()));
    let method = match req.method().as_str() {
        m @ ("GET" | "POST" | "PATCH" | "PUT" | "DELETE" | "HEAD" | "OPTIONS") => label(m),
        _ => "other",
    };
    let id = req.headers().get(&REQUEST_ID_HEADER).cloned().unwrap_or_else(next_request_id);
    // The language every message of the answer is in (see `crate::messages`): read once
    // here, without allocating, so errors and serialised problems need not be handed it.
    let lang =
        req.headers().get(header::ACCEPT_LANGUAGE).map_or(Lang::Zh, |v| Lang::from_accept_language(v.as_bytes()));
    let span = tracing::debug_span!("request", method, route, request_id = ?id);
    let mut response = REQUEST_ID.scope(id.clone(), lang.scope(next.run(req).instrument(span))).await;
    let (count, seconds) = request_metrics(method, route, label(response.status().as_str()));
    count.increment(1);
    seconds.record(started.elapsed().as_secs_f64());
    let headers = response.headers_mut();
    headers.insert(REQUEST_ID_HEADER.clone(), id);
    // Tokens ride in URLs (`?token=`, pairing links): no page may leak them as a referrer.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// The request metrics' handles for (method, route, status), registered once. `counter!`
/// with labels builds and hashes its key in the recorder's registry on every call: ~10 µs
/// of a scan's ~80 µs of server CPU (measured by leaving the middleware out: 17,300 →
/// 18,900–21,100 scans/s). A handle is a shared pointer to the metric itself.
fn request_metrics(
    method: &'static str,
    route: &'static str,
    status: &'static str,
) -> (metrics::Counter, metrics::Histogram) {
    type Handles = DashMap<(&'static str, &'static str, &'static str), (metrics::Counter, metrics::Histogram)>;
    static HANDLES: OnceLock<Handles> = OnceLock::new();
    let handles = HANDLES.get_or_init(Handles::default);
    if let Some(h) = handles.get(&(method, route, status)) {
        return h.clone();
    }
    let labels = [("method", method), ("route", route), ("status", status)];
    let h = (
        metrics::counter!("muster_http_requests_total", &labels),
        metrics::histogram!("muster_http_request_seconds", &labels[..2]),
    );
    handles.insert((method, route, status), h.clone());
    h
}

/// The one `&'static str` for a label value. Values come from a bounded set (route
/// patterns, the methods above, three-digit status codes), so each is leaked once.
fn label(value: &str) -> &'static str {
    static KNOWN: OnceLock<std::sync::RwLock<std::collections::HashSet<&'static str>>> = OnceLock::new();
    let known = KNOWN.get_or_init(Default::default);
    if let Some(v) = known.read().expect("not poisoned").get(value) {
        return v;
    }
    let mut known = known.write().expect("not poisoned");
    match known.get(value) {
        Some(v) => v,
        None => {
            let v: &'static str = Box::leak(value.to_owned().into_boxed_str());
            known.insert(v);
            v
        }
    }
}

/// A new request id: a random prefix per process (several nodes share one log) and a
/// counter. A UUID per request cost a `getrandom` system call on every request.
fn next_request_id() -> HeaderValue {
    static PREFIX: OnceLock<u32> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let prefix = PREFIX.get_or_init(|| {
        let mut bytes = [0u8; 4];
        // Without randomness two nodes' ids may collide in merged logs; nothing else depends on it.
        let _ = getrandom::fill(&mut bytes);
        u32::from_le_bytes(bytes)
    });
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    HeaderValue::from_str(&format!("{prefix:08x}-{n}")).expect("hex digits, a dash and digits")
}

/// The process-wide Prometheus recorder (one per process, however many servers a test
/// starts).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let seconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];
            let sizes = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 4096.0];
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &seconds)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full("muster_commit_batch_size".into()), &sizes))
                .expect("bucket lists are not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed, which this crate never does.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}
