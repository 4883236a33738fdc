//! Muster: account for every person in a village, town or city, live, when an emergency
//! action must reach all of them tonight.
//!
//! # Layout
//! - [`auth`]: sessions, pairing codes, passwords, sign-in limits, the audit log.
//! - [`roster`]: grids, households, residents, staff, sampling points; the rules of the model.
//! - [`action`]: actions, the one event type, the pure fold into live state, the views.
//! - [`store`]: the storage trait and the SQLite and PostgreSQL backends; stores, pushes nothing.
//! - [`writer`]: the group-commit writer, the one door every event goes through (check,
//!   append, fold, answer), between the HTTP face and storage.
//! - [`escalator`]: the server as its own actor, escalating what is overdue when a deadline
//!   passes, through the writer.
//! - [`summary`]: the hourly progress summary into the chat groups that want it, once
//!   between several nodes.
//! - [`tick`]: the one loop of the server's own timers.
//! - [`live`]: live state per action and the WebSocket push.
//! - [`http`]: routes, identity, errors, the embedded pages, metrics, OpenAPI.
//! - [`messages`]: every message for a person, Simplified Chinese first and English.
//! - [`notify`]: outbound channels into the chat groups (WeCom, DingTalk, Feishu robots, a
//!   signed webhook) and the paced, coalescing, retrying delivery of messages through them.
//! - [`cards`]: household cards (党群连心卡): their random codes, reissue, the print document.
//! - [`report`]: the after-action report (复盘) from the same fold over the same log.
//! - [`demo`]: a village like 大华山村 and a drill that plays the night through the API.
//!
//! An event is defined in [`action::event`], checked in [`action::rules`], stored by
//! [`writer`], folded in [`action::fold`] and pushed by [`live::ws`].

#![forbid(unsafe_code)]

pub mod action;
pub mod auth;
pub mod cards;
pub mod demo;
pub mod escalator;
pub mod http;
pub mod live;
pub mod messages;
pub mod notify;
pub mod report;
pub mod roster;
pub mod store;
pub mod summary;
pub mod tick;
pub mod writer;

use std::future::Future;
use std::sync::Arc;
use tokio::sync::watch;

/// Why [`serve`] could not start or stopped, for the person who started it (in the
/// command's language: [`messages::cli`]).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("{words}: {0}", words = messages::cli::roster_inconsistent(messages::Lang::current()))]
    Roster(#[from] roster::RosterError),
    #[error("{words}: {0}", words = messages::cli::serving_failed(messages::Lang::current()))]
    Io(#[from] std::io::Error),
}

/// What a server is told beyond its database and its socket.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The address phones reach this server at (e.g. `http://192.168.1.10:8080`), for the
    /// links in pairing QR codes. Without it, links use the address the admin's browser used.
    pub public_url: Option<String>,
    /// The one-time code that makes the first admin (see [`first_admin_code`]).
    pub setup_code: Option<String>,
    /// What sessions and pairing codes are judged by (the system clock; tests move it).
    pub clock: auth::Clock,
    /// How the chat-group notifier paces and retries (the services' own limits by default).
    pub notify: notify::Limits,
    /// What escalation deadlines are judged by: `clock` when none (the demo's runs at the
    /// drill's speed, so the night's deadlines pass in the demo's minutes).
    pub deadlines: Option<auth::Clock>,
}

/// For a database with no admin yet: a new one-time code that makes the first one (at
/// `/setup.html?code=…`), valid until used or until the server stops. `None` once an
/// admin exists.
pub async fn first_admin_code(store: &dyn store::Store) -> Result<Option<String>, store::StoreError> {
    Ok((!store.accounts().has_admin().await?).then(auth::new_code))
}

/// Loads the roster, rebuilds live state from the log, and serves on `listener` until
/// `shutdown` resolves; then closes WebSockets, lets in-flight appends finish and returns.
pub async fn serve(
    store: Arc<dyn store::Store>,
    listener: impl Into<http::listen::Listener>,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let listener = listener.into();
    let started = std::time::Instant::now();
    let roster = Arc::new(roster::Roster::new(store.load_roster().await?)?);
    let hub = Arc::new(live::Hub::new(roster));
    let seen = hub.rebuild(store.as_ref()).await?;
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "state ready");

    let (writer, writer_task) = writer::Writer::spawn(store.clone(), hub.clone(), seen);
    let (stop, stopped) = watch::channel(false);
    let auth = Arc::new(auth::Auth::with_clock(store.accounts(), settings.clock.clone()));
    if let Some(code) = &settings.setup_code {
        auth.arm_setup(code);
    }
    tokio::spawn(sync_revocations(auth.clone(), stopped.clone()));
    // Fed by `Notifier::post`, which never waits: a dead webhook delays nothing here.
    let notifier = notify::Notifier::start(store.accounts(), settings.notify.clone(), stopped.clone()).await?;
    let public_url = settings.public_url.map(|u| u.trim_end_matches('/').to_owned());
    let deadlines = settings.deadlines.clone().unwrap_or_else(|| settings.clock.clone());
    let escalator = escalator::Escalator {
        hub: hub.clone(),
        writer: writer.clone(),
        notifier: notifier.clone(),
        clock: deadlines.clone(),
        public_url: public_url.clone(),
    };
    let escalating = tokio::spawn(escalator.run(stopped.clone()));
    let summaries = summary::Summaries {
        hub: hub.clone(),
        notifier: notifier.clone(),
        db: store.accounts(),
        clock: deadlines.clone(),
        public_url: public_url.clone(),
    };
    tokio::spawn(summaries.run(stopped.clone()));
    let metrics = http::metrics_handle();
    let state = http::AppState::new(http::Shared {
        store,
        hub,
        writer,
        notifier,
        auth,
        public_url,
        scheme: listener.scheme(),
        metrics,
        shutdown: stopped,
        callers: Default::default(),
        deadlines,
    });
    let app = http::router(state).into_make_service_with_connect_info::<http::listen::Peer>();
    let shutdown = async move {
        shutdown.await;
        let _ = stop.send(true);
    };
    match listener {
        http::listen::Listener::Tcp(l) => axum::serve(l, app).with_graceful_shutdown(shutdown).await?,
        http::listen::Listener::Tls(l) => axum::serve(l, app).with_graceful_shutdown(shutdown).await?,
    }
    // Every handle to the writer was in the router and the escalator, now dropped: the
    // task drains and ends.
    let _ = escalating.await;
    let _ = writer_task.await;
    Ok(())
}

/// Every two seconds, drops sessions other nodes revoked (one node revokes at once).
async fn sync_revocations(auth: Arc<auth::Auth>, stop: watch::Receiver<bool>) {
    tick::every(std::time::Duration::from_secs(2), stop, || async {
        if let Err(e) = auth.sync_revocations().await {
            tracing::warn!(error = %e, "could not read revoked sessions; will retry");
        }
    })
    .await
}

/// Raises this process's open-file soft limit to the hard limit (each socket is a file
/// descriptor) and returns the new limit.
pub fn raise_open_files_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}
