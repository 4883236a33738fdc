//! The group-commit writer, the one door for events: every producer (an HTTP handler, the
//! demo drill through the API, and the server's own timers to come) goes through it. It
//! sits between the HTTP face and storage: it asks `store` to write and `live` to fold,
//! and neither of those knows it. It is the only task that changes the log and live state. It takes
//! every request waiting, checks each event against live state, writes the new ones in
//! one transaction, applies them to live state and only then answers. One fsync serves
//! the whole batch, which is what makes durable appends fast (invariant 5), and because
//! checking, writing and applying happen in one task, two requests can never both pass a
//! rule that only one of them may (e.g. a scan racing the action's close).
//!
//! With several nodes on one database the writer also follows the others: the store's
//! follower wakes it, and it reads the log from its last position. An append whose
//! action moved on elsewhere meanwhile is refused by the store (`Behind`); the writer
//! catches up, checks again against the new state and retries.

use crate::action::rules::Pending;
use crate::action::{ActionId, Event, EventBody, NewEvent, Rejection, Seq};
use crate::live::Hub;
use crate::roster::import::{Report, RosterChanges, SheetRoster};
use crate::roster::{HouseholdId, Roster};
use crate::store::import::{ImportFailure, ImportOptions};
use crate::store::seen::SeenIds;
use crate::store::{Recorded, Store, StoreError, Wake};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// Upper bound on events per transaction; keeps one commit's latency bounded.
const MAX_BATCH: usize = 4_096;
/// Requests waiting for the writer; senders wait when it is full (back-pressure).
const QUEUE: usize = 8_192;
/// How often one batch is retried after another node appended first.
const ATTEMPTS: usize = 8;

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
    /// The id names a different event (another body or device time): a resend is the
    /// same event again, so this is a new event under a used id.
    #[error("event id {client_id} was already used for a different event")]
    IdReusedOtherwise { index: usize, client_id: Uuid },
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

/// A change of the roster, made by the writer so that no append is checked against a
/// roster that is being replaced.
enum RosterJob {
    /// A roster import: planned, written and swapped into live state.
    Import { sheet: Box<SheetRoster>, options: ImportOptions, reply: oneshot::Sender<Result<Report, ImportFailure>> },
    /// The roster was changed in the database (a staff member's role or area): read it
    /// again and fold live state against it.
    Reload { reply: oneshot::Sender<Result<(), StoreError>> },
    /// A walk-in confirmed into the roster: added as a resident of a household, then the
    /// decision (`resolved`, whose `resident_id` the job fills in) appended. Both happen in
    /// the writer, so two clerks confirming the same walk-in add one resident, not two.
    ConfirmWalkIn { resolved: Box<NewEvent>, household: HouseholdId, reply: Reply },
}

/// A handle to the writer task; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Request>,
    imports: mpsc::Sender<RosterJob>,
}

impl Writer {
    /// Starts the writer task and the store's follower, with the ids of the log that
    /// [`Hub::rebuild`] read. The writer ends when every `Writer` handle is dropped.
    pub fn spawn(store: Arc<dyn Store>, hub: Arc<Hub>, seen: SeenIds) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (imports, jobs) = mpsc::channel(4);
        let (wake, woken) = mpsc::channel(64);
        let follower = store.clone();
        tokio::spawn(async move {
            if let Err(e) = follower.follow(wake).await {
                tracing::error!(error = %e, "following other nodes stopped; this node serves only its own writes");
            }
        });
        let task = tokio::spawn(run(store, hub, seen, rx, jobs, woken));
        (Self { tx, imports }, task)
    }

    /// Imports a roster sheet (or, on a dry run, only plans it) and answers with the
    /// report once the new roster is stored and live state is folded against it.
    pub async fn import(&self, sheet: SheetRoster, options: ImportOptions) -> Result<Report, ImportFailure> {
        let (reply, answer) = oneshot::channel();
        self.imports
            .send(RosterJob::Import { sheet: Box::new(sheet), options, reply })
            .await
            .map_err(|_| ImportFailure::Closed)?;
        answer.await.map_err(|_| ImportFailure::Closed)?
    }

    /// Reads the roster from the database again and makes it the live one.
    pub async fn reload_roster(&self) -> Result<(), AppendError> {
        let (reply, answer) = oneshot::channel();
        self.imports.send(RosterJob::Reload { reply }).await.map_err(|_| AppendError::Closed)?;
        answer.await.map_err(|_| AppendError::Closed)?.map_err(|e| AppendError::Store(Arc::new(e)))
    }

    /// Adds a walk-in to the roster as a resident of `household` and appends `resolved`
    /// (a `walk_in_resolved` with `confirmed`) naming them. A resend of the same event is
    /// answered as a repeat and adds nobody.
    pub async fn confirm_walk_in(&self, resolved: NewEvent, household: HouseholdId) -> Result<Outcome, AppendError> {
        let (reply, answer) = oneshot::channel();
        let job = RosterJob::ConfirmWalkIn { resolved: Box::new(resolved), household, reply };
        self.imports.send(job).await.map_err(|_| AppendError::Closed)?;
        answer.await.map_err(|_| AppendError::Closed)?.map(|mut o| o.remove(0))
    }

    /// Appends the events of one request, all or nothing, and answers once they are
    /// durable and folded into live state.
    pub async fn append(&self, events: Vec<NewEvent>) -> Result<Vec<Outcome>, AppendError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Request { events, reply }).await.map_err(|_| AppendError::Closed)?;
        answer.await.map_err(|_| AppendError::Closed)?
    }
}

async fn run(
    store: Arc<dyn Store>,
    hub: Arc<Hub>,
    mut seen: SeenIds,
    mut rx: mpsc::Receiver<Request>,
    mut jobs: mpsc::Receiver<RosterJob>,
    mut woken: mpsc::Receiver<Wake>,
) {
    let mut following = true;
    loop {
        let mut wakes = HashSet::new();
        let mut batch = Vec::new();
        tokio::select! {
            biased;
            first = rx.recv() => {
                let Some(first) = first else { break };
                let mut size = first.events.len();
                batch.push(first);
                while size < MAX_BATCH {
                    let Ok(r) = rx.try_recv() else { break };
                    size += r.events.len();
                    batch.push(r);
                }
            }
            Some(job) = jobs.recv() => match job {
                RosterJob::Import { sheet, options, reply } => {
                    let _ = reply.send(import_roster(store.as_ref(), &hub, &sheet, options).await);
                }
                RosterJob::Reload { reply } => {
                    tell_other_nodes(store.as_ref()).await;
                    let _ = reply.send(reload_roster(store.as_ref(), &hub).await);
                }
                RosterJob::ConfirmWalkIn { resolved, household, reply } => {
                    match confirm_walk_in(store.as_ref(), &hub, *resolved, household).await {
                        Ok(event) => batch.push(Request { events: vec![event], reply }),
                        Err(e) => { let _ = reply.send(Err(e)); }
                    }
                }
            },
            wake = woken.recv(), if following => match wake {
                Some(w) => { wakes.insert(w); }
                None => following = false,
            },
        }
        while let Ok(w) = woken.try_recv() {
            wakes.insert(w);
        }
        if !wakes.is_empty() {
            catch_up(store.as_ref(), &hub, &wakes).await;
        }
        if !batch.is_empty() {
            commit(store.as_ref(), &hub, &mut seen, batch).await;
        }
    }
}

/// Plans and writes an import, then folds every action again against the new roster.
async fn import_roster(
    store: &dyn Store,
    hub: &Hub,
    sheet: &SheetRoster,
    options: ImportOptions,
) -> Result<Report, ImportFailure> {
    let current = hub.roster();
    let imported = crate::store::import::import(store, current.parts(), sheet, options).await?;
    if let Some(roster) = imported.roster {
        tell_other_nodes(store).await;
        hub.swap_roster(store, roster).await.inspect_err(|e| {
            tracing::error!(error = %e, "the roster was imported but live state could not be folded again; restart");
        })?;
    }
    Ok(imported.report)
}

/// The roster part of confirming a walk-in: the event to append, naming the new resident
/// (for a resend, the event as the log has it, which the append answers as a repeat).
/// Refusals come back as the rules' (`unknown_walk_in`, `walk_in_already_resolved`,
/// `on_the_roster`, `unknown_household`), before anything is written.
async fn confirm_walk_in(
    store: &dyn Store,
    hub: &Hub,
    mut resolved: NewEvent,
    household: HouseholdId,
) -> Result<NewEvent, AppendError> {
    let refused = |r: Rejection| Err(AppendError::Rejected(vec![(0, r)]));
    let EventBody::WalkInResolved { walk_in_seq, .. } = resolved.body else {
        return refused(Rejection::ResolutionNeedsResident);
    };
    if let Some(first) = store.find_recorded(&[resolved.client_id]).await.map_err(Arc::new)?.pop() {
        // Appending it again answers the first outcome, as for any resend.
        (resolved.body, resolved.device_time, resolved.server_time) =
            (first.body, first.device_time, first.server_time);
        return Ok(resolved);
    }
    let Some(cell) = hub.get(resolved.action_id) else { return Err(AppendError::UnknownAction(resolved.action_id)) };
    let who = {
        let state = cell.state();
        match state.walk_ins.by_seq(walk_in_seq).map(|i| &state.walk_ins.list[i as usize]) {
            None => return refused(Rejection::UnknownWalkIn(walk_in_seq)),
            Some(w) if w.resolved.is_some() => return refused(Rejection::WalkInAlreadyResolved(walk_in_seq)),
            Some(w) => w.who.clone(),
        }
    };
    let roster = hub.roster();
    if roster.household(household).is_none() {
        return refused(Rejection::UnknownHousehold(household));
    }
    let Ok(id_number) = crate::roster::IdNumber::parse(&who.id_number) else {
        return refused(Rejection::UnknownWalkIn(walk_in_seq));
    };
    if let Some(r) = roster.resident_by_id_number(&id_number) {
        return refused(Rejection::OnTheRoster(r));
    }
    let mut parts = roster.parts().clone();
    let id = parts.residents.iter().map(|r| r.id).max().unwrap_or(0) + 1;
    parts.residents.push(crate::roster::Resident {
        id,
        household_id: household,
        name: who.name.trim().to_owned(),
        birth_year: id_number.birth_year(),
        id_number,
        phone: who.phone.as_deref().and_then(|p| crate::roster::Phone::parse(p).ok()),
        flags: crate::roster::Flags { migrant: true, ..Default::default() },
        note: format!("外来登记：{}", who.stays_at.trim()),
    });
    let next = Roster::new(parts).map_err(|e| Arc::new(StoreError::Corrupt(e.to_string())))?;
    let changes = RosterChanges { residents: vec![id], ..Default::default() };
    store.update_roster(next.parts(), &changes).await.map_err(Arc::new)?;
    tell_other_nodes(store).await;
    hub.swap_roster(store, Arc::new(next)).await.map_err(Arc::new)?;
    if let EventBody::WalkInResolved { resident_id, .. } = &mut resolved.body {
        *resident_id = Some(id);
    }
    Ok(resolved)
}

/// Reads the roster from the database and folds live state against it.
async fn reload_roster(store: &dyn Store, hub: &Hub) -> Result<(), StoreError> {
    let parts = store.load_roster().await?;
    let roster = crate::roster::Roster::new(parts).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    hub.swap_roster(store, Arc::new(roster)).await
}

/// Tells the other nodes on the database that the roster changed. The change is already
/// committed, so a failure is logged, not answered: they read it on their next reconnect.
async fn tell_other_nodes(store: &dyn Store) {
    if let Err(e) = store.roster_changed().await {
        tracing::warn!(error = %e, "could not tell the other nodes the roster changed");
    }
}

/// Reads what other nodes appended. Failures are logged: the next wake tries again.
async fn catch_up(store: &dyn Store, hub: &Hub, wakes: &HashSet<Wake>) {
    // First the roster: events read after it may name residents it adds.
    if wakes.contains(&Wake::Roster)
        && let Err(e) = reload_roster(store, hub).await
    {
        tracing::warn!(error = %e, "could not read the roster another node changed; will retry on the next change");
    }
    let result = if wakes.contains(&Wake::All) {
        hub.refresh(store).await
    } else {
        let mut result = Ok(());
        for w in wakes {
            if let Wake::Action(id) = w {
                result = result.and(match hub.get(*id) {
                    Some(_) => hub.catch_up(store, *id).await,
                    None => hub.refresh(store).await,
                });
            }
        }
        result
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not read the log to catch up; will retry");
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

async fn commit(store: &dyn Store, hub: &Hub, seen: &mut SeenIds, batch: Vec<Request>) {
    let mut attempt = 0;
    let (answers, outcome) = loop {
        attempt += 1;
        let started = Instant::now();
        // After a conflict, the filter missed an id someone recorded: look everything up.
        let decided = decide(store, hub, (attempt == 1).then_some(&*seen), &batch).await;
        metrics::histogram!("muster_decide_seconds").record(started.elapsed().as_secs_f64());
        let (fresh, answers) = match decided {
            Ok(decided) => decided,
            Err(e) => break (Vec::new(), Err(Arc::new(e))),
        };
        if fresh.is_empty() {
            break (answers, Ok((fresh, Vec::new())));
        }
        let expected: HashMap<ActionId, Seq> = fresh
            .iter()
            .map(|e| e.action_id)
            .collect::<HashSet<_>>()
            .into_iter()
            .filter_map(|a| hub.get(a).map(|c| (a, c.state().seq)))
            .collect();
        let started = Instant::now();
        let appended = store.append(&fresh, &expected).await;
        metrics::histogram!("muster_commit_seconds").record(started.elapsed().as_secs_f64());
        match appended {
            Ok(seqs) => {
                metrics::histogram!("muster_commit_batch_size").record(fresh.len() as f64);
                fresh.iter().for_each(|e| seen.insert(&e.client_id));
                break (answers, Ok((fresh, seqs)));
            }
            Err(StoreError::Behind(_) | StoreError::Conflict) if attempt < ATTEMPTS => {
                metrics::counter!("muster_commit_retries_total").increment(1);
                let touched: HashSet<Wake> = expected.keys().map(|a| Wake::Action(*a)).collect();
                catch_up(store, hub, &touched).await;
            }
            Err(e) => {
                tracing::error!(error = %e, events = fresh.len(), "append failed; nothing of this batch was recorded");
                break (answers, Err(Arc::new(e)));
            }
        }
    };
    let seqs = match outcome {
        Ok((fresh, seqs)) => {
            metrics::counter!("muster_events_appended_total").increment(fresh.len() as u64);
            hub.apply(fresh.into_iter().zip(seqs.iter().copied()).map(|(new, seq)| Event { seq, new }));
            Ok(seqs)
        }
        Err(e) => Err(e),
    };
    // `answers` is empty only when the look-up failed: then every request gets the error.
    let mut requests = batch.into_iter();
    if answers.is_empty() {
        if let Err(e) = &seqs {
            for r in requests {
                let _ = r.reply.send(Err(AppendError::Store(e.clone())));
            }
        }
        return;
    }
    for (answer, request) in answers.into_iter().zip(&mut requests) {
        let _ = request.reply.send(answer.and_then(|sources| resolve(sources, &seqs)));
    }
}

/// Turns a request's sources into outcomes once the batch's positions are known.
fn resolve(sources: Vec<Source>, seqs: &Result<Vec<Seq>, Arc<StoreError>>) -> Result<Vec<Outcome>, AppendError> {
    sources
        .into_iter()
        .map(|s| match (s, seqs) {
            (Source::Known(o), _) => Ok(o),
            (Source::Fresh(i), Ok(seqs)) => Ok(Outcome::New(seqs[i])),
            (Source::Copy(i), Ok(seqs)) => Ok(Outcome::Repeat(seqs[i])),
            (_, Err(e)) => Err(AppendError::Store(e.clone())),
        })
        .collect()
}

type Answer = Result<Vec<Source>, AppendError>;

/// Looks the batch's client ids up in the log and decides each request: its events that
/// are repeats, the new ones (collected into one list to append), or why it is refused.
/// With `seen`, only the ids it cannot rule out are looked up, unless a request would be
/// refused: a refused event may be a repeat (a scan resent after the action closed is
/// answered as the repeat it is), so then the batch is decided again with every id.
async fn decide(
    store: &dyn Store,
    hub: &Hub,
    seen: Option<&SeenIds>,
    batch: &[Request],
) -> Result<(Vec<NewEvent>, Vec<Answer>), StoreError> {
    let all = || batch.iter().flat_map(|r| r.events.iter().map(|e| e.client_id));
    let ids: Vec<Uuid> = match seen {
        Some(seen) => all().filter(|id| seen.needs_look_up(id)).collect(),
        None => all().collect(),
    };
    let skipped = seen.is_some() && ids.len() < all().count();
    let recorded: HashMap<Uuid, Recorded> = match ids.is_empty() {
        true => HashMap::new(),
        false => store.find_recorded(&ids).await?.into_iter().map(|r| (r.client_id, r)).collect(),
    };
    let mut fresh: Vec<NewEvent> = Vec::new();
    let mut in_batch: HashMap<Uuid, usize> = HashMap::new();
    let mut pending: HashMap<ActionId, Pending> = HashMap::new();
    let answers: Vec<Answer> =
        batch.iter().map(|r| accept(hub, &recorded, &mut in_batch, &mut pending, &mut fresh, &r.events)).collect();
    if skipped && answers.iter().any(|a| matches!(a, Err(AppendError::Rejected(_)))) {
        return Box::pin(decide(store, hub, None, batch)).await;
    }
    Ok((fresh, answers))
}

/// Whether `again` is the first event (its body and its (device, server) times) sent
/// again, which is what makes it a repeat: an offline outbox resends the very request it
/// queued, so the body must be the same, and so must the device time, if the device gave
/// one. A device that gives none gets the time of arrival (`device_time == server_time`,
/// see `http::actions`), which a resend cannot repeat: then neither may give one.
/// Anything else under a used id is another event, refused as `event_id_reused`.
fn is_resend(body: &EventBody, (device_time, server_time): (OffsetDateTime, OffsetDateTime), again: &NewEvent) -> bool {
    let gave_time = |device: OffsetDateTime, server: OffsetDateTime| (device != server).then_some(device);
    *body == again.body && gave_time(device_time, server_time) == gave_time(again.device_time, again.server_time)
}

/// Decides, for one request, which events are repeats and which are new, and checks the
/// new ones. On refusal nothing of the request enters the batch.
fn accept(
    hub: &Hub,
    recorded: &HashMap<Uuid, Recorded>,
    in_batch: &mut HashMap<Uuid, usize>,
    pending: &mut HashMap<ActionId, Pending>,
    fresh: &mut Vec<NewEvent>,
    events: &[NewEvent],
) -> Result<Vec<Source>, AppendError> {
    let mut sources = Vec::with_capacity(events.len());
    let mut rejected = Vec::new();
    let mut mine: Vec<NewEvent> = Vec::new();
    let mut mine_ids: HashMap<Uuid, usize> = HashMap::new();
    let mut trial: HashMap<ActionId, Pending> = HashMap::new();
    for (index, e) in events.iter().enumerate() {
        let earlier = match recorded.get(&e.client_id) {
            Some(r) => Some((
                r.action_id,
                is_resend(&r.body, (r.device_time, r.server_time), e),
                Source::Known(Outcome::Repeat(r.seq)),
            )),
            None => in_batch.get(&e.client_id).or_else(|| mine_ids.get(&e.client_id)).map(|&n| {
                let first = if n < fresh.len() { &fresh[n] } else { &mine[n - fresh.len()] };
                (first.action_id, is_resend(&first.body, (first.device_time, first.server_time), e), Source::Copy(n))
            }),
        };
        if let Some((action_id, resend, source)) = earlier {
            if action_id != e.action_id {
                return Err(AppendError::IdReused { index, client_id: e.client_id, action_id });
            }
            if !resend {
                return Err(AppendError::IdReusedOtherwise { index, client_id: e.client_id });
            }
            sources.push(source);
            continue;
        }
        let Some(cell) = hub.get(e.action_id) else {
            return Err(AppendError::UnknownAction(e.action_id));
        };
        let p = trial.entry(e.action_id).or_insert_with(|| pending.get(&e.action_id).cloned().unwrap_or_default());
        if let Err(r) = cell.state().check(&e.body, p) {
            rejected.push((index, r));
            continue;
        }
        mine_ids.insert(e.client_id, fresh.len() + mine.len());
        sources.push(Source::Fresh(fresh.len() + mine.len()));
        mine.push(e.clone());
    }
    if !rejected.is_empty() {
        return Err(AppendError::Rejected(rejected));
    }
    in_batch.extend(mine_ids);
    pending.extend(trial);
    fresh.extend(mine);
    Ok(sources)
}
