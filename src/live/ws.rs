//! One task per WebSocket subscriber. It sends a snapshot tagged with its position (or,
//! on `?after=SEQ`, what changed since), then at most one delta per [`COALESCE`]. Each
//! message is rendered from live state when it is sent, never queued, so a slow client
//! costs one message of memory and delays nobody but itself; a client that falls
//! further behind than the kept changes gets a fresh snapshot.

use super::ActionCell;
use crate::action::Seq;
use crate::action::view::{Delta, Snapshot};
use crate::auth::{Auth, Scope};
use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Minimum time between two messages to one connection: at most ten a second.
pub const COALESCE: Duration = Duration::from_millis(100);
/// A send that takes longer than this means the client is gone; the connection ends.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveMessage {
    Snapshot(Snapshot),
    Delta(Delta),
}

/// Who is watching: what they may see, and what ends the connection.
pub struct Subscriber {
    pub scope: Scope,
    /// The session the socket was opened with; revoking it closes the socket at once.
    pub session: String,
    pub auth: Arc<Auth>,
    pub shutdown: watch::Receiver<bool>,
}

/// Renders what a subscriber at `after` needs next, cut to their scope, and the position
/// it brings them to.
fn next_message(cell: &ActionCell, after: Option<Seq>, scope: &Scope) -> (Utf8Bytes, Seq) {
    let state = cell.state();
    let seq = state.seq;
    if scope.all {
        let shared = cell.shared.lock().expect("not poisoned");
        if let Some((from, to, text)) = shared.as_ref().filter(|(from, to, _)| *from == after && *to == seq) {
            debug_assert_eq!((*from, *to), (after, seq));
            return (text.clone(), seq);
        }
    }
    let message = match after.and_then(|a| state.delta(a)) {
        Some(delta) => LiveMessage::Delta(scope.delta(&state.roster, delta)),
        None => LiveMessage::Snapshot(scope.snapshot(&state.roster, state.snapshot())),
    };
    drop(state);
    let text: Utf8Bytes = serde_json::to_string(&message).expect("live messages serialise").into();
    if scope.all {
        *cell.shared.lock().expect("not poisoned") = Some((after, seq, text.clone()));
    }
    (text, seq)
}

pub async fn serve(socket: WebSocket, cell: Arc<ActionCell>, after: Option<Seq>, who: Subscriber) {
    metrics::gauge!("muster_ws_connections").increment(1.0);
    let Subscriber { scope, session, auth, mut shutdown } = who;
    let mut revocations = auth.revocations();
    let mut staff_changes = auth.staff_changes();
    let (mut sink, mut stream) = socket.split();
    let mut position = cell.subscribe();
    let (first, mut sent) = next_message(&cell, after, &scope);
    let mut last_send = Instant::now();
    if send(&mut sink, first).await {
        loop {
            tokio::select! {
                changed = position.changed() => if changed.is_err() { break },
                incoming = stream.next() => match incoming {
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => continue,
                },
                _ = shutdown.changed() => break,
                changed = staff_changes.recv() => match changed {
                    // Their role or area changed: close, and the page reconnects under it.
                    Ok(id) if id == scope.staff_id => break,
                    Ok(_) => continue,
                    Err(_) => break,
                },
                revoked = revocations.recv() => match revoked {
                    Ok(id) if id == session => break,
                    Ok(_) => continue,
                    // Missed some: ask whether ours was among them.
                    Err(_) if auth.is_revoked(&session) => break,
                    Err(_) => continue,
                },
            }
            tokio::time::sleep_until(last_send + COALESCE).await;
            if *position.borrow_and_update() == sent {
                continue;
            }
            let (message, seq) = next_message(&cell, Some(sent), &scope);
            if !send(&mut sink, message).await {
                break;
            }
            sent = seq;
            last_send = Instant::now();
        }
    }
    let _ = sink.send(Message::Close(None)).await;
    metrics::gauge!("muster_ws_connections").decrement(1.0);
}

async fn send(sink: &mut futures_util::stream::SplitSink<WebSocket, Message>, text: Utf8Bytes) -> bool {
    match tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(text))).await {
        Ok(Ok(())) => {
            metrics::counter!("muster_ws_messages_sent_total").increment(1);
            true
        }
        _ => false,
    }
}
