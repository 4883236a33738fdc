//! Live state and push. The [`Hub`] holds each action's folded state and a position
//! channel that wakes its subscribers; [`ws`] runs one task per WebSocket connection that
//! sends a snapshot, then coalesced deltas. The hub never writes to the log: the writer
//! calls [`Hub::apply`] after a commit, and start-up calls [`Hub::rebuild`].

pub mod ws;

use crate::action::{Action, ActionId, ActionState, Event, NewEvent, Seq};
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

    /// Folds every action's log into live state: what start-up does.
    pub async fn rebuild(&self, store: &dyn Store, actions: Vec<Action>) -> Result<(), StoreError> {
        for action in actions {
            let mut state = ActionState::new(action, self.roster.clone());
            loop {
                let events = store.read_events(state.action.id, state.seq, REBUILD_PAGE).await?;
                let Some(last) = events.last() else { break };
                if last.seq != state.seq + events.len() as Seq {
                    return Err(StoreError::Corrupt(format!(
                        "action {} has a gap in its log after position {}",
                        state.action.id, state.seq
                    )));
                }
                for e in &events {
                    state.apply(e);
                }
            }
            tracing::info!(action = state.action.id, events = state.seq, "live state rebuilt from the log");
            self.insert_state(state);
        }
        Ok(())
    }

    /// Applies committed events (in log order per action) and wakes subscribers.
    pub fn apply(&self, committed: impl IntoIterator<Item = (NewEvent, Seq)>) {
        let started = Instant::now();
        let mut touched: Vec<(Arc<ActionCell>, Seq)> = Vec::new();
        let mut current: Option<(ActionId, Arc<ActionCell>)> = None;
        for (new, seq) in committed {
            let cell = match &current {
                Some((id, cell)) if *id == new.action_id => cell.clone(),
                _ => {
                    let Some(cell) = self.get(new.action_id) else { continue };
                    current = Some((new.action_id, cell.clone()));
                    cell
                }
            };
            cell.state().apply(&Event { seq, new });
            match touched.iter_mut().find(|(c, _)| Arc::ptr_eq(c, &cell)) {
                Some((_, last)) => *last = seq,
                None => touched.push((cell, seq)),
            }
        }
        metrics::histogram!("muster_fold_seconds").record(started.elapsed().as_secs_f64());
        for (cell, seq) in touched {
            cell.position.send_replace(seq);
        }
    }
}
