//! Renders each action's live messages once per tick, for everyone watching it.
//!
//! One task per watched action (the *ticker*) wakes at most every [`COALESCE`] after the
//! log moved, renders the action's delta since the last tick once, and for each distinct
//! view being watched ([`ViewKey`]: the whole action, or one staff member's part) cuts it,
//! serialises it once and publishes the bytes on that view's [`Stream`]. Every WebSocket
//! task of that view sends the same reference-counted bytes: the cost of a tick is
//! O(changes + views), not O(subscribers × render), and a thousand dashboards cost one
//! render. Only a subscriber that is not where the view's last message started (it just
//! connected, or was slow to send) renders its own catch-up message, and even those are
//! shared between subscribers of the view at the same positions.
//!
//! A part (a grid member's phone) is sent a message when something in it changed, and
//! otherwise at most every [`HEARTBEAT`] to move its position on: a village's grid
//! changes every few seconds, not ten times a second, and the phones of the other grids
//! need not hear about each scan.
//!
//! Nothing here queues messages: each view keeps only its latest message, so a slow
//! client costs one message of memory and, when it comes back, a catch-up (or a fresh
//! snapshot when it is further behind than the changes the state keeps).

use super::ActionCell;
use crate::action::view::{Delta, Pace, Snapshot};
use crate::action::{ActionState, Seq};
use crate::auth::Scope;
use crate::auth::scope::{Cut, ViewKey};
use crate::roster::Roster;
use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;

/// Minimum time between two messages of one view: at most ten a second.
pub const COALESCE: Duration = Duration::from_millis(100);
/// A part in which nothing changed still gets its position (and the state's clock) this
/// often while the log moves.
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// How often an idle ticker looks whether anyone still watches, to end when nobody does.
const IDLE_CHECK: Duration = Duration::from_secs(5);
/// First messages (a snapshot can be hundreds of KB) rendered and sent at once per action:
/// a storm of connections queues here instead of holding every snapshot in memory and
/// crowding out the writer.
const ADMIT: usize = 64;
/// Catch-up messages kept per view: subscribers that missed the same message share one.
const CATCH_UPS: usize = 4;

/// What is pushed: a snapshot at a position, or what changed between two.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveMessage<'a> {
    Snapshot(&'a Snapshot),
    Delta(&'a Delta),
}

impl LiveMessage<'_> {
    pub fn render(&self) -> Utf8Bytes {
        serde_json::to_string(self).expect("live messages serialise").into()
    }
}

/// A view's latest message, as the ticker published it.
#[derive(Clone)]
pub enum Published {
    /// Nothing yet since the subscriber joined.
    Nothing,
    /// The view's delta from `from` to `to`, rendered.
    Delta(Arc<Shared>),
    /// Live state was folded again (an import replaced the roster): deltas cannot say
    /// what changed, everyone needs a fresh snapshot.
    Reset,
}

pub struct Shared {
    pub from: Seq,
    pub to: Seq,
    pub text: Utf8Bytes,
    /// The view's pace at `to`, for catch-ups to the same position.
    pub pace: Pace,
}

/// One view of one action, shared by all its subscribers.
pub struct Stream {
    /// The scope it was opened with, to resolve it again if the roster is replaced.
    scope: Scope,
    /// Std mutexes: each is held to read or swap an entry (or to render while the state
    /// lock is held, which is always taken first), never across an `.await`.
    cut: Mutex<Arc<Cut>>,
    published: watch::Sender<Published>,
    /// The last snapshot rendered: (position, roster, JSON). Connections opened while the
    /// log stands still (as when a village's screens come on before an action opens) get
    /// the same bytes.
    snapshot: Mutex<Option<(Seq, Arc<Roster>, Utf8Bytes)>>,
    /// Recent catch-ups.
    catch_ups: Mutex<VecDeque<CatchUp>>,
}

/// A catch-up message from `from` to `to`, rendered against `roster`.
struct CatchUp {
    from: Seq,
    to: Seq,
    roster: Arc<Roster>,
    text: Utf8Bytes,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these; a poisoned one is a bug worth stopping for.
    m.lock().expect("live feed lock poisoned")
}

impl Stream {
    /// The cut for the roster `state` is folded against, made again if that changed.
    fn cut(&self, roster: &Arc<Roster>) -> Arc<Cut> {
        let mut cut = lock(&self.cut);
        if !Arc::ptr_eq(&cut.roster, roster) {
            *cut = Arc::new(Cut::new(&self.scope.resolve_in(roster), roster));
        }
        cut.clone()
    }

    /// The first message of a new subscriber: what changed since `after` when that is
    /// recent enough, else a snapshot; and the position it brings them to.
    pub fn first(&self, cell: &ActionCell, after: Option<Seq>) -> (Utf8Bytes, Seq) {
        let state = cell.state();
        if let Some(delta) = after.and_then(|a| state.delta(a)) {
            let cut = self.cut(&state.roster);
            let (pace, residents) = cut.current(&state, &delta);
            drop(state);
            return (LiveMessage::Delta(&cut.delta(&delta, pace, residents)).render(), delta.to);
        }
        self.snapshot(&state)
    }

    /// A snapshot of this view at the state's position, rendered once per position.
    pub fn snapshot(&self, state: &ActionState) -> (Utf8Bytes, Seq) {
        let mut cached = lock(&self.snapshot);
        if let Some((seq, roster, text)) = cached.as_ref()
            && *seq == state.seq
            && Arc::ptr_eq(roster, &state.roster)
        {
            return (text.clone(), *seq);
        }
        let text = LiveMessage::Snapshot(&self.cut(&state.roster).snapshot(state)).render();
        *cached = Some((state.seq, state.roster.clone(), text.clone()));
        (text, state.seq)
    }

    /// A message that brings a subscriber at `at` to where `shared` ends, so that it can
    /// take the view's next message like everyone else; a snapshot when `at` is too old.
    pub fn catch_up(&self, cell: &ActionCell, at: Seq, shared: &Shared) -> (Utf8Bytes, Seq) {
        let state = cell.state();
        let mut kept = lock(&self.catch_ups);
        let same = |c: &&CatchUp| (c.from, c.to) == (at, shared.to) && Arc::ptr_eq(&c.roster, &state.roster);
        if let Some(c) = kept.iter().find(same) {
            return (c.text.clone(), c.to);
        }
        let Some(delta) = state.delta_until(at, shared.to, shared.pace.clone()) else {
            drop(kept);
            return self.snapshot(&state);
        };
        let cut = self.cut(&state.roster);
        let residents = cut.residents(&state, &delta.touched);
        let text = LiveMessage::Delta(&cut.delta(&delta, shared.pace.clone(), residents)).render();
        if kept.len() == CATCH_UPS {
            kept.pop_front();
        }
        kept.push_back(CatchUp { from: at, to: shared.to, roster: state.roster.clone(), text: text.clone() });
        (text, shared.to)
    }
}

/// A view as the ticker tracks it.
struct View {
    stream: Arc<Stream>,
    /// Where the view's last message ended; what is pending starts here.
    at: Seq,
    /// What changed in the view since `at` and is not yet published.
    pending: Option<Delta>,
    /// The pace last published, to tell whether the view's pace changed.
    paced: Option<Pace>,
    published_at: Instant,
}

struct Ticking {
    /// Whether a ticker task runs for this action.
    running: bool,
    /// The position the last tick rendered up to, and the roster state was folded
    /// against then: when an import replaces it, the state is folded again, even at the
    /// same position.
    at: Seq,
    roster: Option<Arc<Roster>>,
    views: HashMap<ViewKey, View>,
}

/// An action's live feed: its views and the ticker's bookkeeping.
pub struct Feed {
    ticking: Mutex<Ticking>,
    /// See [`ADMIT`].
    pub admit: Semaphore,
}

impl Default for Feed {
    fn default() -> Self {
        Self {
            ticking: Mutex::new(Ticking { running: false, at: 0, roster: None, views: HashMap::new() }),
            admit: Semaphore::new(ADMIT),
        }
    }
}

/// What the log did since the last tick.
enum News {
    Nothing,
    Moved(Box<Delta>),
    /// The state was folded again, or the ticker fell further behind than the kept changes.
    Reset,
}

impl Feed {
    /// Subscribes to the view `scope` sees of `cell`'s action, starting the action's
    /// ticker if none runs.
    pub fn join(cell: &Arc<ActionCell>, scope: &Scope) -> (Arc<Stream>, watch::Receiver<Published>) {
        let (seq, roster) = {
            let state = cell.state();
            (state.seq, state.roster.clone())
        };
        let mut t = lock(&cell.feed.ticking);
        if !t.running {
            t.running = true;
            (t.at, t.roster) = (seq, Some(roster.clone()));
            tokio::spawn(tick(cell.clone()));
        }
        let at = t.at;
        let view = t.views.entry(scope.view_key()).or_insert_with(|| View {
            stream: Arc::new(Stream {
                scope: scope.clone(),
                cut: Mutex::new(Arc::new(Cut::new(scope, &roster))),
                published: watch::Sender::new(Published::Nothing),
                snapshot: Mutex::new(None),
                catch_ups: Mutex::new(VecDeque::new()),
            }),
            at,
            pending: None,
            paced: None,
            published_at: Instant::now(),
        });
        (view.stream.clone(), view.stream.published.subscribe())
    }

    /// When the ticker must look again even if the log does not move: a view's heartbeat
    /// is due, or it is time to see whether anyone still watches.
    fn next_wake(&self) -> Instant {
        let t = lock(&self.ticking);
        let heartbeat = t.views.values().filter(|v| v.pending.is_some()).map(|v| v.published_at + HEARTBEAT).min();
        heartbeat.unwrap_or_else(|| Instant::now() + IDLE_CHECK)
    }

    /// One tick: render what changed once, cut it for each view, publish where due.
    /// Returns false, with the ticker marked stopped, when nobody watches any more.
    fn tick(&self, cell: &ActionCell) -> bool {
        // The state lock is taken before the ticking lock, as everywhere; the ticking lock is
        // kept from here on, so no view joins between its pace being taken and its delta cut.
        let state = cell.state();
        let mut t = lock(&self.ticking);
        let since = t.at;
        let news = if !t.roster.as_ref().is_some_and(|r| Arc::ptr_eq(r, &state.roster)) {
            News::Reset
        } else if state.seq == since {
            News::Nothing
        } else {
            state.delta(since).map_or(News::Reset, |d| News::Moved(Box::new(d)))
        };
        // Each view's current values, as at the delta's end: a part's pace is its own (its
        // samples' rates, its ETA, its chase), and each view has its changed residents.
        let mut current = HashMap::new();
        if let News::Moved(delta) = &news {
            for (key, v) in t.views.iter() {
                current.insert(key.clone(), v.stream.cut(&state.roster).current(&state, delta));
            }
        }
        let (seq, roster) = (state.seq, state.roster.clone());
        drop(state);
        t.views.retain(|_, v| v.stream.published.receiver_count() > 0);
        if t.views.is_empty() {
            t.running = false;
            return false;
        }
        let now = Instant::now();
        match news {
            News::Nothing => {}
            News::Reset => {
                for v in t.views.values_mut() {
                    (v.at, v.pending, v.paced, v.published_at) = (seq, None, None, now);
                    v.stream.published.send_replace(Published::Reset);
                }
            }
            News::Moved(delta) => {
                for (key, v) in t.views.iter_mut() {
                    let Some((pace, residents)) = current.remove(key) else { continue };
                    let part = v.stream.cut(&roster).delta(&delta, pace, residents);
                    match v.pending.as_mut() {
                        Some(pending) => pending.absorb(part),
                        None => v.pending = Some(part),
                    }
                }
            }
        }
        (t.at, t.roster) = (seq, Some(roster));
        for v in t.views.values_mut() {
            let Some(pending) = v.pending.as_ref() else { continue };
            let all = v.stream.scope.all;
            let due = all
                || pending.moves_counts()
                || v.paced.as_ref().is_none_or(|p| !same_but_clock(p, &pending.pace))
                || now >= v.published_at + HEARTBEAT;
            if !due {
                continue;
            }
            let Some(mut delta) = v.pending.take() else { continue };
            // Everyone this message is for is at `v.at`, where the pace was `v.paced`: a
            // point whose pace did not move since is left out (most of a busy delta).
            let pace = delta.pace.clone();
            if let Some(was) = &v.paced {
                delta.pace.points.retain(|id, p| was.points.get(id) != Some(p));
            }
            let text = LiveMessage::Delta(&delta).render();
            delta.pace = pace;
            (v.at, v.published_at, v.paced) = (delta.to, now, Some(delta.pace.clone()));
            let shared = Shared { from: delta.from, to: delta.to, text, pace: delta.pace };
            v.stream.published.send_replace(Published::Delta(Arc::new(shared)));
        }
        true
    }
}

/// Whether two paces differ only in the clock, which moves with every event: a part is
/// told the time with its heartbeat, not ten times a second.
fn same_but_clock(a: &Pace, b: &Pace) -> bool {
    a.phase == b.phase
        && a.opened_at == b.opened_at
        && a.closed_at == b.closed_at
        && a.rate_5 == b.rate_5
        && a.rate_15 == b.rate_15
        && a.eta == b.eta
        && a.points == b.points
        && a.chase == b.chase
        && a.visits_late == b.visits_late
        && a.visit_minutes == b.visit_minutes
        && a.call_ups == b.call_ups
        && a.call_up_answers == b.call_up_answers
}

/// The ticker of one action: runs while anyone watches it.
async fn tick(cell: Arc<ActionCell>) {
    let mut position = cell.subscribe();
    let mut last = Instant::now();
    loop {
        let wake = cell.feed.next_wake();
        tokio::select! {
            changed = position.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep_until(wake) => {}
        }
        tokio::time::sleep_until(last + COALESCE).await;
        last = Instant::now();
        if !cell.feed.tick(&cell) {
            return;
        }
    }
}
