//! Live state and push. The [`Hub`] holds each action's folded state and a position
//! channel that wakes its subscribers; [`ws`] runs one task per WebSocket connection that
//! sends a snapshot, then coalesced deltas. The hub never writes to the log: the writer
//! calls [`Hub::apply`] after a commit, and start-up calls [`Hub::rebuild`].

pub mod ws;

use crate::action::{Action, ActionId, ActionState, Event, Seq};
use crate::roster::Roster;
use crate::store::{Store, StoreError};
use dashmap::DashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::watch;

/// Events read per query when rebuilding state at start-up.
const REBUILD_PAGE: i64 = 20_000;

/// One action's live state.
pub struct ActionCell {
    /// A std mutex: it is held only to apply a batch or to render a snapshot or delta,
    /// never across an `.await`, so readers never wait on I/O.
    state: Mutex<ActionState>,
    /// The last applied position; subscribers wait on it to learn there is news.
    position: watch::Sender<Seq>,
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
    pub roster: Arc<Roster>,
    /// A `DashMap` because lookups happen on every request from many tasks while
    /// insertions are rare; entries are `Arc`s cloned out, so no shard lock is held
    /// while a cell's own mutex is taken or across an `.await`.
    actions: DashMap<ActionId, Arc<ActionCell>>,
}

impl Hub {
    pub fn new(roster: Arc<Roster>) -> Self {
        Self { roster, actions: DashMap::new() }
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
        let state = ActionState::new(action, self.roster.clone());
        self.insert_state(state)
    }

    fn insert_state(&self, state: ActionState) -> Arc<ActionCell> {
        let id = state.action.id;
        let (position, _) = watch::channel(state.seq);
        let cell = Arc::new(ActionCell { state: Mutex::new(state), position });
        self.actions.insert(id, cell.clone());
        cell
    }

    /// Registers actions the store has and this hub does not (created on another node,
    /// or all of them at start-up), then folds every action's log up to its end. Called
    /// at start-up and by the writer only: the writer is the one task that changes state.
    pub async fn refresh(&self, store: &dyn Store) -> Result<(), StoreError> {
        for action in store.actions().await? {
            if self.get(action.id).is_none() {
                self.insert(action);
            }
        }
        for id in self.ids() {
            self.catch_up(store, id).await?;
        }
        Ok(())
    }

    /// Folds what the log holds for one action after the position live state is at.
    pub async fn catch_up(&self, store: &dyn Store, id: ActionId) -> Result<(), StoreError> {
        let Some(cell) = self.get(id) else { return Ok(()) };
        loop {
            let at = cell.state().seq;
            let events = store.read_events(id, at, REBUILD_PAGE).await?;
            if events.is_empty() {
                return Ok(());
            }
            if events.iter().enumerate().any(|(i, e)| e.seq != at + 1 + i as Seq) {
                return Err(StoreError::Corrupt(format!("action {id} has a gap in its log after position {at}")));
            }
            self.apply(events);
        }
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
