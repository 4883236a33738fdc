//! One task per WebSocket subscriber. It sends a snapshot tagged with its position (or,
//! on `?after=SEQ`, what changed since), then the messages the action's [`feed`] renders
//! for its view, at most one per [`COALESCE`]. Nothing is queued: the feed keeps each
//! view's latest message only, so a slow client costs one message of memory and delays
//! nobody but itself; when it is sent again it catches up in one message, or gets a fresh
//! snapshot when it fell further behind than the kept changes.
//!
//! [`feed`]: super::feed

use super::ActionCell;
use super::feed::{Feed, Published};
use crate::auth::{Auth, Scope};
use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub use super::feed::COALESCE;
use crate::action::Seq;

/// Read buffer per connection. Subscribers send nothing but pings and a close, and the
/// default (128 KiB, allocated and cleared up front) made 10,000 connections cost 1.3 GB;
/// a larger frame still arrives whole, the buffer grows to fit it.
pub const READ_BUFFER: usize = 4 * 1024;
/// A send that takes longer than this means the client is gone; the connection ends.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Who is watching: what they may see, and what ends the connection.
pub struct Subscriber {
    pub scope: Scope,
    /// The session the socket was opened with; revoking it closes the socket at once.
    pub session: String,
    pub auth: Arc<Auth>,
    pub shutdown: watch::Receiver<bool>,
}

pub async fn serve(socket: WebSocket, cell: Arc<ActionCell>, after: Option<Seq>, who: Subscriber) {
    metrics::gauge!("muster_ws_connections").increment(1.0);
    let Subscriber { scope, session, auth, mut shutdown } = who;
    let mut revocations = auth.revocations();
    let mut staff_changes = auth.staff_changes();
    let (mut sink, mut stream) = socket.split();
    // Reading is only how a close is noticed (clients send nothing else we act on), so it
    // gets a task of its own that runs when the socket is readable. Polled in the select
    // below, it would be read once per message sent, and every read attempt clears the
    // whole read buffer: with thousands of subscribers that was a quarter of the CPU.
    let (gone, mut closed) = tokio::sync::oneshot::channel::<()>();
    let reader = tokio::spawn(async move {
        while let Some(Ok(message)) = stream.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
        drop(gone);
    });
    let (view, mut published) = Feed::join(&cell, &scope);
    let first = {
        // Closed only if the cell is dropped, which it never is while we hold it.
        let _admitted = cell.feed.admit.acquire().await;
        let (text, seq) = view.first(&cell, after);
        send(&mut sink, text).await.then_some(seq)
    };
    if let Some(mut at) = first {
        loop {
            tokio::select! {
                changed = published.changed() => if changed.is_err() { break },
                _ = &mut closed => break,
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
            let news = published.borrow_and_update().clone();
            let (text, seq) = match news {
                Published::Nothing => continue,
                Published::Reset => view.snapshot(&cell.state()),
                // Already there: a subscriber that joined after this was rendered.
                Published::Delta(shared) if shared.to <= at => continue,
                Published::Delta(shared) if shared.from == at => (shared.text.clone(), shared.to),
                Published::Delta(shared) => view.catch_up(&cell, at, &shared),
            };
            if !send(&mut sink, text).await {
                break;
            }
            at = seq;
        }
    }
    reader.abort();
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
