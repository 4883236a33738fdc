//! Live state and push. The [`Hub`] holds each action's folded state and a position
//! channel that wakes its [`feed`], which renders each view's delta once per tick; [`ws`]
//! runs one task per WebSocket connection that sends a snapshot, then the feed's deltas.
//! The hub never writes to the log: the writer calls [`Hub::apply`] after a commit, and
//! start-up calls [`Hub::rebuild`], which folds each stored log with `fold_log`.

pub mod feed;
pub mod ws;

use crate::action::{Action, ActionId, ActionState, Event, Seq};
use crate::roster::Roster;
use crate::store::seen::SeenIds;
use crate::store::{Store, StoreError};
use dashmap::DashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;
use tokio::sync::watch;

/// Events read per query when rebuilding state at start-up.
const REBUILD_PAGE: i64 = 20_000;
/// Pages asked for at once while folding a whole log: the store reads the next ones (on
/// its own threads) while the fold works through the last, so a ten-million-event
/// start-up costs about the longer of reading and folding rather than their sum.
const READ_AHEAD: usize = 2;
/// Pages read and waiting for the fold; with [`READ_AHEAD`], what bounds the memory a
/// rebuild holds beyond the state.
const FOLD_QUEUE: usize = 2;

/// The next page of an action's log after `at`, checked to follow on without a gap.
async fn read_page(store: &dyn Store, id: ActionId, at: Seq) -> Result<Vec<Event>, StoreError> {
    let events = store.read_events(id, at, REBUILD_PAGE).await?;
    if events.iter().enumerate().any(|(i, e)| e.seq != at + 1 + i as Seq) {
        return Err(StoreError::Corrupt(format!("action {id} has a gap in its log after position {at}")));
    }
    Ok(events)
}

/// Folds the log after `state`'s position into it, up to the log's end as read. The
/// state is not shared yet (a new action, or one folded again against a new roster), so
/// the fold takes no lock: it runs on a blocking thread that owns the state, fed pages
/// through a bounded queue, while this task keeps [`READ_AHEAD`] reads in flight.
/// Positions have no gaps, so each page's first position is known before the one
/// before it arrives; a short page is the end of the log as it stood when read.
///
/// With `ids`, every event's client id is added to them on the way (the start-up rebuild
/// reads them anyway; the writer's filter is made from them) and they are handed back.
async fn fold_log(
    store: &dyn Store,
    mut state: ActionState,
    mut ids: Option<SeenIds>,
) -> Result<(ActionState, Option<SeenIds>), StoreError> {
    use futures_util::StreamExt;
    let (id, from) = (state.action.id, state.seq);
    let (queue, mut pages) = tokio::sync::mpsc::channel::<Vec<Event>>(FOLD_QUEUE);
    let fold = tokio::task::spawn_blocking(move || {
        while let Some(page) = pages.blocking_recv() {
            if let Some(ids) = ids.as_mut() {
                page.iter().for_each(|e| ids.insert(&e.new.client_id));
            }
            page.iter().for_each(|e| state.apply(e));
        }
        (state, ids)
    });
    let starts = (0..).map(|k: i64| from + k * REBUILD_PAGE);
    let mut reads = futures_util::stream::iter(starts.map(|at| read_page(store, id, at))).buffered(READ_AHEAD);
    let read = async {
        while let Some(page) = reads.next().await {
            let page = page?;
            let last = page.len() < REBUILD_PAGE as usize;
            // The fold only stops early by panicking, which the join below reports.
            if page.is_empty() || queue.send(page).await.is_err() || last {
                return Ok(());
            }
        }
        Ok(())
    }
    .await;
    drop((reads, queue));
    let folded = fold.await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    read.map(|()| folded)
}

/// One action's live state.
pub struct ActionCell {
    /// A std mutex: it is held only to apply a batch or to render a snapshot or delta,
    /// never across an `.await`, so readers never wait on I/O.
    state: Mutex<ActionState>,
    /// The last applied position; the feed's ticker waits on it to learn there is news.
    position: watch::Sender<Seq>,
    /// The views being watched and their latest rendered messages.
    pub(crate) feed: feed::Feed,
}

impl ActionCell {
    pub fn state(&self) -> MutexGuard<'_, ActionState> {
        // A panic while holding the lock would leave state half-applied; the fold does
        // not panic on any input, so a poisoned lock is a bug worth stopping for.
        self.state.lock().expect("action state lock poisoned")
    }

    pub fn subscribe(&self) -> watch::Receiver<Seq> {
        self.position.subscribe()
    }
}

/// Every action's live state, by id.
pub struct Hub {
    /// The roster live state is folded against, swapped whole by an import or a staff
    /// change (only the writer swaps). Readers take an `Arc` of the current version
    /// ([`Hub::roster`]) and see one consistent version while they work; a replaced
    /// version is freed when the last of them lets go.
    roster: RwLock<Arc<Roster>>,
    /// A `DashMap` because lookups happen on every request from many tasks while
    /// insertions are rare; entries are `Arc`s cloned out, so no shard lock is held
    /// while a cell's own mutex is taken or across an `.await`.
    actions: DashMap<ActionId, Arc<ActionCell>>,
}

impl Hub {
    pub fn new(roster: Arc<Roster>) -> Self {
        Self { roster: RwLock::new(roster), actions: DashMap::new() }
    }

    /// The current roster.
    pub fn roster(&self) -> Arc<Roster> {
        // Nothing panics while holding this lock (an `Arc` is stored or cloned).
        self.roster.read().expect("roster lock poisoned").clone()
    }

    pub fn get(&self, id: ActionId) -> Option<Arc<ActionCell>> {
        self.actions.get(&id).map(|c| c.clone())
    }

    pub fn ids(&self) -> Vec<ActionId> {
        let mut ids: Vec<ActionId> = self.actions.iter().map(|e| *e.key()).collect();
        ids.sort_unstable();
        ids
    }

    /// Registers a new action with no events yet.
    pub fn insert(&self, action: Action) -> Arc<ActionCell> {
        let state = ActionState::new(action, self.roster());
        self.insert_state(state)
    }

    fn insert_state(&self, state: ActionState) -> Arc<ActionCell> {
        let id = state.action.id;
        let (position, _) = watch::channel(state.seq);
        let cell = Arc::new(ActionCell { state: Mutex::new(state), position, feed: feed::Feed::default() });
        self.actions.insert(id, cell.clone());
        cell
    }

    /// Registers actions the store has and this hub does not (created on another node,
    /// or all of them at start-up), then folds every action's log up to its end. Called
    /// at start-up and by the writer only: the writer is the one task that changes state.
    pub async fn refresh(&self, store: &dyn Store) -> Result<(), StoreError> {
        self.fold_new_actions(store, None).await.map(drop)
    }

    /// The start-up [`Hub::refresh`]: also returns every client id in the log, for the
    /// writer's filter (`store::seen::SeenIds`), read with the events rather than in a second pass
    /// over the log (1.3 s at ten million events).
    pub async fn rebuild(&self, store: &dyn Store) -> Result<SeenIds, StoreError> {
        let ids = self.fold_new_actions(store, Some(SeenIds::default())).await?;
        let mut ids = ids.expect("handed back by every fold");
        ids.mark_complete();
        Ok(ids)
    }

    async fn fold_new_actions(
        &self,
        store: &dyn Store,
        mut ids: Option<SeenIds>,
    ) -> Result<Option<SeenIds>, StoreError> {
        let mut named = None;
        for action in store.actions().await? {
            if self.get(action.id).is_some() {
                continue;
            }
            // Removed residents count where the log names them: ask the log which.
            if named.is_none() && !self.roster().parts().removed.is_empty() {
                named = Some(store.named_residents().await?);
            }
            let named = named.as_ref().and_then(|n| n.get(&action.id)).cloned().unwrap_or_default();
            // Folded whole before it is shared: no subscriber can see it half-built.
            let started = Instant::now();
            let state = ActionState::with_named(action, self.roster(), &named);
            let (state, noted) = fold_log(store, state, ids.take()).await?;
            ids = noted;
            tracing::info!(
                action = state.action.id,
                events = state.seq,
                seconds = started.elapsed().as_secs_f64(),
                "log folded"
            );
            self.insert_state(state);
        }
        for id in self.ids() {
            self.catch_up(store, id).await?;
        }
        Ok(ids)
    }

    /// Folds what the log holds for one action after the position live state is at.
    pub async fn catch_up(&self, store: &dyn Store, id: ActionId) -> Result<(), StoreError> {
        let Some(cell) = self.get(id) else { return Ok(()) };
        loop {
            let at = cell.state().seq;
            let events = read_page(store, id, at).await?;
            if events.is_empty() {
                return Ok(());
            }
            self.apply(events);
        }
    }

    /// Makes `roster` the one live state is folded against, and folds every action's log
    /// again with it (residents are indexed by their place in the roster). Called by the
    /// writer only, so no append happens meanwhile; the fold is pure, so the new state is
    /// what a restart would build. Subscribers are woken and get a fresh snapshot.
    pub async fn swap_roster(&self, store: &dyn Store, roster: Arc<Roster>) -> Result<(), StoreError> {
        let named = match roster.parts().removed.is_empty() {
            true => Default::default(),
            false => store.named_residents().await?,
        };
        *self.roster.write().expect("roster lock poisoned") = roster.clone();
        for id in self.ids() {
            let Some(cell) = self.get(id) else { continue };
            let action = cell.state().action.clone();
            let named = named.get(&id).cloned().unwrap_or_default();
            let (mut state, _) = fold_log(store, ActionState::with_named(action, roster.clone(), &named), None).await?;
            state.mark_rebased();
            let seq = state.seq;
            // The state is marked rebased: the feed's next tick finds no delta across it
            // and sends every subscriber a fresh snapshot.
            *cell.state() = state;
            cell.position.send_replace(seq);
        }
        Ok(())
    }

    /// Applies events in log order and wakes subscribers. Events at or before an
    /// action's position are skipped, so applying what was already applied is harmless.
    pub fn apply(&self, events: impl IntoIterator<Item = Event>) {
        let started = Instant::now();
        let mut touched: Vec<(Arc<ActionCell>, Seq)> = Vec::new();
        for event in events {
            let id = event.new.action_id;
            let cell = match touched.iter().find(|(c, _)| c.state().action.id == id) {
                Some((cell, _)) => cell.clone(),
                None => {
                    let Some(cell) = self.get(id) else { continue };
                    touched.push((cell.clone(), 0));
                    cell
                }
            };
            let mut state = cell.state();
            if event.seq <= state.seq {
                continue;
            }
            debug_assert_eq!(event.seq, state.seq + 1, "events are applied in log order");
            state.apply(&event);
            drop(state);
            if let Some(t) = touched.iter_mut().find(|(c, _)| Arc::ptr_eq(c, &cell)) {
                t.1 = event.seq;
            }
        }
        metrics::histogram!("muster_fold_seconds").record(started.elapsed().as_secs_f64());
        for (cell, seq) in touched {
            if seq > 0 {
                cell.position.send_replace(seq);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_start_up_rebuild_hands_the_writer_every_id_in_the_log() {
        use crate::action::{EventBody, NewEvent};
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
        let village = crate::demo::village::generate(1);
        store.insert_roster(&village.roster).await.unwrap();
        let now = time::OffsetDateTime::now_utc();
        let action = store.create_action(&village.action, now).await.unwrap();
        let event = |body| NewEvent {
            action_id: action.id,
            client_id: uuid::Uuid::now_v7(),
            actor: 1,
            device_time: crate::action::event::to_log_precision(now),
            server_time: crate::action::event::to_log_precision(now),
            body,
        };
        let point = village.action.points[0];
        let mut events = vec![event(EventBody::ActionOpened)];
        events.extend(village.roster.residents.iter().take(500).map(|r| {
            event(EventBody::ResidentSampled { resident_id: r.id, point_id: point, at_home: false, tube: None })
        }));
        store.append(&events, &Default::default()).await.unwrap();

        let hub = Hub::new(Arc::new(Roster::new(village.roster).unwrap()));
        let seen = hub.rebuild(store.as_ref()).await.unwrap();
        assert_eq!(hub.get(action.id).unwrap().state().seq, 501);
        assert!(events.iter().all(|e| seen.needs_look_up(&e.client_id)), "every logged id is looked up");
        let fresh = (0..1_000).filter(|_| seen.needs_look_up(&uuid::Uuid::now_v7())).count();
        assert!(fresh < 100, "new ids are mostly not looked up: {fresh} of 1,000");
    }

    #[tokio::test]
    async fn a_replaced_roster_is_freed_once_its_last_reader_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
        let parts = crate::demo::village::generate(1).roster;
        let first = Arc::new(Roster::new(parts.clone()).unwrap());
        let hub = Hub::new(first.clone());
        let old = Arc::downgrade(&first);
        drop(first);
        let reader = hub.roster(); // a request still working with the version it took

        hub.swap_roster(store.as_ref(), Arc::new(Roster::new(parts).unwrap())).await.unwrap();
        assert!(!Arc::ptr_eq(&reader, &hub.roster()), "new readers get the new version");
        assert!(old.upgrade().is_some(), "a reader keeps the version it took");
        drop(reader);
        assert!(old.upgrade().is_none(), "nothing else keeps a replaced version");
    }
}
