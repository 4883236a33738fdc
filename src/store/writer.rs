//! The group-commit writer: the only task that appends to the log. It takes every
//! request waiting, checks each event against live state, writes the new ones in one
//! transaction, applies them to live state and only then answers. One fsync serves the
//! whole batch, which is what makes durable appends fast (invariant 5), and because
//! checking, writing and applying happen in one task, two requests can never both pass a
//! rule that only one of them may (e.g. a scan racing the action's close).

use super::{Store, StoreError};
use crate::action::rules::Pending;
use crate::action::{ActionId, NewEvent, Rejection, Seq};
use crate::live::Hub;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// Upper bound on events per transaction; keeps one commit's latency bounded.
const MAX_BATCH: usize = 4_096;
/// Requests waiting for the writer; senders wait when it is full (back-pressure).
const QUEUE: usize = 8_192;

/// What happened to one event of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Appended now, at this position.
    New(Seq),
    /// Already in the log (a retry or a replay): the first answer, nothing appended.
    Repeat(Seq),
}

impl Outcome {
    pub fn seq(self) -> Seq {
        match self {
            Outcome::New(s) | Outcome::Repeat(s) => s,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("action {0} does not exist")]
    UnknownAction(ActionId),
    /// Refused by the rules, by index in the request; nothing of the request was appended.
    #[error("{} event(s) refused", .0.len())]
    Rejected(Vec<(usize, Rejection)>),
    #[error("event id {client_id} was already used in action {action_id}")]
    IdReused { index: usize, client_id: Uuid, action_id: ActionId },
    #[error(transparent)]
    Store(#[from] Arc<StoreError>),
    #[error("the server is shutting down")]
    Closed,
}

type Reply = oneshot::Sender<Result<Vec<Outcome>, AppendError>>;

struct Request {
    events: Vec<NewEvent>,
    reply: Reply,
}

/// A handle to the writer task; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Request>,
}

impl Writer {
    /// Starts the writer task. It ends when every `Writer` handle is dropped.
    pub fn spawn(store: Arc<dyn Store>, hub: Arc<Hub>) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(run(store, hub, rx));
        (Self { tx }, task)
    }

    /// Appends the events of one request, all or nothing, and answers once they are
    /// durable and folded into live state.
    pub async fn append(&self, events: Vec<NewEvent>) -> Result<Vec<Outcome>, AppendError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Request { events, reply }).await.map_err(|_| AppendError::Closed)?;
        answer.await.map_err(|_| AppendError::Closed)?
    }
}

async fn run(store: Arc<dyn Store>, hub: Arc<Hub>, mut rx: mpsc::Receiver<Request>) {
    let mut batch = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut size = first.events.len();
        batch.push(first);
        while size < MAX_BATCH {
            match rx.try_recv() {
                Ok(r) => {
                    size += r.events.len();
                    batch.push(r);
                }
                Err(_) => break,
            }
        }
        commit(store.as_ref(), &hub, std::mem::take(&mut batch)).await;
    }
}

/// Where an accepted event's answer comes from once the batch is committed.
#[derive(Clone, Copy)]
enum Source {
    Known(Outcome),
    /// The n-th new event of this batch.
    Fresh(usize),
    /// A second copy of the n-th new event of this batch: a repeat of it.
    Copy(usize),
}

async fn commit(store: &dyn Store, hub: &Hub, batch: Vec<Request>) {
    let ids: Vec<Uuid> = batch.iter().flat_map(|r| r.events.iter().map(|e| e.client_id)).collect();
    let recorded = match store.find_recorded(&ids).await {
        Ok(found) => found.into_iter().map(|r| (r.client_id, r)).collect::<HashMap<_, _>>(),
        Err(e) => {
            let e = Arc::new(e);
            for r in batch {
                let _ = r.reply.send(Err(AppendError::Store(e.clone())));
            }
            return;
        }
    };

    let mut fresh: Vec<NewEvent> = Vec::new();
    let mut in_batch: HashMap<Uuid, usize> = HashMap::new();
    let mut pending: HashMap<ActionId, Pending> = HashMap::new();
    let mut answers: Vec<(Reply, Vec<Source>)> = Vec::new();
    for Request { events, reply } in batch {
        match accept(hub, &recorded, &mut in_batch, &mut pending, &mut fresh, events) {
            Ok(sources) => answers.push((reply, sources)),
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }

    let seqs = if fresh.is_empty() {
        Ok(Vec::new())
    } else {
        let started = Instant::now();
        let result = store.append(&fresh).await;
        metrics::histogram!("muster_commit_seconds").record(started.elapsed().as_secs_f64());
        metrics::histogram!("muster_commit_batch_size").record(fresh.len() as f64);
        result
    };
    let seqs = match seqs {
        Ok(seqs) => seqs,
        Err(e) => {
            tracing::error!(error = %e, events = fresh.len(), "append failed; nothing of this batch was recorded");
            let e = Arc::new(e);
            for (reply, _) in answers {
                let _ = reply.send(Err(AppendError::Store(e.clone())));
            }
            return;
        }
    };
    metrics::counter!("muster_events_appended_total").increment(fresh.len() as u64);
    hub.apply(fresh.into_iter().zip(seqs.iter().copied()));
    for (reply, sources) in answers {
        let outcomes = sources
            .into_iter()
            .map(|s| match s {
                Source::Known(o) => o,
                Source::Fresh(i) => Outcome::New(seqs[i]),
                Source::Copy(i) => Outcome::Repeat(seqs[i]),
            })
            .collect();
        let _ = reply.send(Ok(outcomes));
    }
}

/// Decides, for one request, which events are repeats and which are new, and checks the
/// new ones. On refusal nothing of the request enters the batch.
fn accept(
    hub: &Hub,
    recorded: &HashMap<Uuid, super::Recorded>,
    in_batch: &mut HashMap<Uuid, usize>,
    pending: &mut HashMap<ActionId, Pending>,
    fresh: &mut Vec<NewEvent>,
    events: Vec<NewEvent>,
) -> Result<Vec<Source>, AppendError> {
    let mut sources = Vec::with_capacity(events.len());
    let mut rejected = Vec::new();
    let mut mine: Vec<NewEvent> = Vec::new();
    let mut mine_ids: HashMap<Uuid, usize> = HashMap::new();
    let mut trial: HashMap<ActionId, Pending> = HashMap::new();
    for (index, e) in events.into_iter().enumerate() {
        let earlier = match recorded.get(&e.client_id) {
            Some(r) => Some((r.action_id, Source::Known(Outcome::Repeat(r.seq)))),
            None => in_batch.get(&e.client_id).or_else(|| mine_ids.get(&e.client_id)).map(|&n| {
                let first = if n < fresh.len() { &fresh[n] } else { &mine[n - fresh.len()] };
                (first.action_id, Source::Copy(n))
            }),
        };
        if let Some((action_id, source)) = earlier {
            if action_id != e.action_id {
                return Err(AppendError::IdReused { index, client_id: e.client_id, action_id });
            }
            sources.push(source);
            continue;
        }
        let Some(cell) = hub.get(e.action_id) else {
            return Err(AppendError::UnknownAction(e.action_id));
        };
        let p = trial
            .entry(e.action_id)
            .or_insert_with(|| pending.get(&e.action_id).cloned().unwrap_or_default());
        if let Err(r) = cell.state().check(&e.body, p) {
            rejected.push((index, r));
            continue;
        }
        mine_ids.insert(e.client_id, fresh.len() + mine.len());
        sources.push(Source::Fresh(fresh.len() + mine.len()));
        mine.push(e);
    }
    if !rejected.is_empty() {
        return Err(AppendError::Rejected(rejected));
    }
    in_batch.extend(mine_ids);
    pending.extend(trial);
    fresh.extend(mine);
    Ok(sources)
}
