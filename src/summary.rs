//! The hourly progress summary into the chat groups that want it (a channel's `summary`):
//! on each clock hour of an open action, and once when it closes, each such group is told
//! its own area's figures — sampled of the target, the rate and when it will be done, the
//! slowest areas under it, what climbed the chain, who reported — so a head who is not
//! looking at a screen still knows where the night stands.
//!
//! Several nodes on one database post each summary once between them: the node whose claim
//! (`DbPool::claim_summary`) makes the row posts, and the claim stays, so a restart within
//! the hour does not post the hour again. A server that was down when an hour began posts
//! it late only within [`GRACE`]; after that the next hour's comes in its time. It appends
//! nothing (a summary changes nothing in the action) and reads the live state only.
//! Reads the time from the server's [`Clock`], which tests and the demo move.

use crate::action::ActionId;
use crate::action::fold::{ActionState, Phase};
use crate::auth::Clock;
use crate::live::Hub;
use crate::messages::notify::{Progress, Slow};
use crate::notify::{Message, MessageKind, Notifier};
use crate::report::sheets::LOCAL;
use crate::roster::{NodeId, Role};
use crate::store::accounts::DbPool;
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::watch;

/// How often it looks: a summary goes within this of its hour.
const EVERY: Duration = Duration::from_secs(1);
/// How late a summary may still go (a server started at 01:10 posts 01:00's).
pub const GRACE: time::Duration = time::Duration::minutes(15);
/// The slot of the summary at the action's close (an hour's slot is its start, in unix
/// seconds, never 0).
pub const CLOSING: i64 = 0;
/// How many of the slowest areas under a node a summary names.
const SLOWEST: usize = 3;

pub struct Summaries {
    pub hub: Arc<Hub>,
    pub notifier: Notifier,
    pub db: DbPool,
    pub clock: Clock,
    /// For the link in the message.
    pub public_url: Option<String>,
}

/// The summary an action is due now, if any: the slot to claim.
pub fn due(state: &ActionState, now: OffsetDateTime) -> Option<i64> {
    match state.phase {
        Phase::Open => {
            let local = now.to_offset(LOCAL);
            let hour = local.replace_minute(0).ok()?.replace_second(0).ok()?.replace_nanosecond(0).ok()?;
            let opened = state.opened_at?;
            (opened < hour && now - hour < GRACE).then(|| hour.unix_timestamp())
        }
        Phase::Closed => state.closed_at.filter(|&closed| now - closed < GRACE).map(|_| CLOSING),
        Phase::Planned => None,
    }
}

/// The figures of one area node (by roster index) for its summary at `now`; none when the
/// action does not reach it.
pub fn progress(state: &ActionState, idx: usize, now: OffsetDateTime) -> Option<Progress> {
    let roster = &state.roster;
    let node = &roster.nodes()[idx];
    let counts = state.nodes.get(idx)?;
    if counts.target == 0 {
        return None;
    }
    let here: HashSet<usize> = [idx].into();
    // The rate up to now, not up to the last event: an area where nothing happened for an
    // hour has no rate, whatever it had then.
    let rate_15 = crate::action::view::rate(&[&state.node_minutes[idx]], now.unix_timestamp().div_euclid(60), 15);
    let eta = (rate_15 > 0.0 && counts.missing() > 0)
        .then(|| now + time::Duration::seconds_f64(counts.missing() as f64 / rate_15 * 60.0));
    let chase_started = state.chase_started.or(state.escalation.chase_at.filter(|&t| t <= now)).is_some();
    let mut slowest: Vec<Slow> = (0..roster.nodes().len())
        .filter(|&i| roster.nodes()[i].parent == Some(node.id))
        .filter_map(|i| {
            let c = &state.nodes[i];
            (c.missing() > 0).then(|| Slow {
                name: roster.nodes()[i].name.clone(),
                target: c.target,
                missing: c.missing(),
            })
        })
        .collect();
    slowest.sort_by(|a, b| (b.missing * a.target).cmp(&(a.missing * b.target)).then(b.missing.cmp(&a.missing)));
    slowest.truncate(SLOWEST);
    let under = |i: usize| roster.in_subtree_of(i, &here);
    let staff: BTreeSet<_> = roster
        .staff()
        .iter()
        .filter(|s| s.nodes.iter().any(|n| roster.node_idx(*n).is_some_and(under)))
        .map(|s| s.id)
        .collect();
    let silent = state
        .call_ups
        .iter()
        .flat_map(|c| c.overdue())
        .filter(|(s, _)| staff.contains(s))
        .map(|(s, _)| s)
        .collect::<BTreeSet<_>>()
        .len();
    let heads: BTreeSet<NodeId> = (0..roster.nodes().len())
        .filter(|&i| under(i) && state.nodes[i].target > 0)
        .filter(|&i| {
            let staff = roster.nodes()[i].staff_id.and_then(|s| roster.staff_member(s));
            staff.is_some_and(|s| s.role == Role::GridHead)
        })
        .map(|i| roster.nodes()[i].id)
        .collect();
    let signed: BTreeSet<NodeId> = state.sign_offs.iter().map(|s| s.node_id).filter(|n| heads.contains(n)).collect();
    Some(Progress {
        at: now.to_offset(LOCAL),
        action: state.action.name.clone(),
        area: node.name.clone(),
        closed: state.phase == Phase::Closed,
        target: counts.target,
        sampled: counts.sampled,
        exempt: counts.exempt,
        rate_15,
        eta: eta.map(|t| t.to_offset(LOCAL)),
        slowest,
        escalated: state.node_escalated[idx],
        silent,
        // Before the chase nobody is expected to have reported: not said until then.
        signed_off: match chase_started || !signed.is_empty() {
            true => (signed.len(), heads.len()),
            false => (0, 0),
        },
    })
}

impl Summaries {
    /// Looks every [`EVERY`] until `stop`.
    pub async fn run(self, stop: watch::Receiver<bool>) {
        // What this node has already looked at: claimed, or found claimed.
        let done = std::sync::Mutex::new(HashSet::new());
        crate::tick::every(EVERY, stop, || async {
            for id in self.hub.ids() {
                if let Err(e) = self.summarise(id, &done).await {
                    tracing::warn!(action = id, error = %e, "could not post a summary; will retry");
                }
            }
        })
        .await
    }

    /// Posts the summary action `id` is due, if it is and this node wins its claim.
    pub async fn summarise(
        &self,
        id: ActionId,
        done: &std::sync::Mutex<HashSet<(ActionId, i64)>>,
    ) -> Result<(), crate::store::StoreError> {
        // A std mutex: held to look up or insert only, never across an `.await`.
        let seen = |key| done.lock().expect("not poisoned").contains(&key);
        let mark = |key| done.lock().expect("not poisoned").insert(key);
        let Some(cell) = self.hub.get(id) else { return Ok(()) };
        let now = self.clock.now();
        let Some(slot) = due(&cell.state(), now) else { return Ok(()) };
        if seen((id, slot)) {
            return Ok(());
        }
        // Another node may have added a group that wants it since this one last read.
        self.notifier.sync().await?;
        let nodes = self.notifier.summary_nodes();
        let said: Vec<(NodeId, String)> = {
            let state = cell.state();
            let roster = &state.roster;
            let figures = |n: NodeId| roster.node_idx(n).and_then(|i| progress(&state, i, now));
            nodes.iter().filter_map(|&n| figures(n).map(|p| (n, crate::messages::notify::summary(&p)))).collect()
        };
        if said.is_empty() {
            mark((id, slot));
            return Ok(());
        }
        let won = self.db.claim_summary(id, slot, crate::store::to_micros(now)).await?;
        mark((id, slot));
        // How each look that found a summary due ended, across nodes: what tests wait on.
        let outcome = if won { "posted" } else { "claimed_elsewhere" };
        metrics::counter!("muster_summaries_total", "outcome" => outcome).increment(1);
        if !won {
            return Ok(());
        }
        let link = self.public_url.as_ref().map(|u| format!("{u}/m"));
        for (node, text) in said {
            self.notifier.post_summary(node, Message::new(MessageKind::Summary, text, link.clone()));
        }
        tracing::info!(action = id, slot, "progress summary posted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::EventBody;
    use time::Duration;
    use time::macros::datetime;

    /// 00:45 in 大华山村.
    const OPENED: OffsetDateTime = datetime!(2022-04-22 16:45 UTC);

    fn night() -> ActionState {
        crate::action::night::opened(5, OPENED)
    }

    fn apply(state: &mut ActionState, at: OffsetDateTime, body: EventBody) {
        crate::action::night::apply(state, 1, at, body);
    }

    #[test]
    fn an_open_action_is_due_a_summary_on_each_clock_hour_after_it_opened_and_once_at_its_close() {
        let mut s = night();
        assert_eq!(due(&s, OPENED + Duration::minutes(10)), None, "00:55: the hour began before it opened");
        let one = datetime!(2022-04-22 17:00 UTC);
        assert_eq!(due(&s, one + Duration::seconds(3)), Some(one.unix_timestamp()), "01:00");
        assert_eq!(due(&s, one + Duration::minutes(14)), Some(one.unix_timestamp()), "late, within the grace");
        assert_eq!(due(&s, one + Duration::minutes(15)), None, "too late: the next hour's comes in its time");
        let closed = one + Duration::minutes(70);
        apply(&mut s, closed, EventBody::ActionClosed);
        assert_eq!(due(&s, closed + Duration::minutes(1)), Some(CLOSING));
        assert_eq!(due(&s, closed + Duration::minutes(20)), None);
    }

    #[test]
    fn a_summary_gives_its_areas_figures_and_names_the_slowest_under_it() {
        let mut s = night();
        let roster = s.roster.clone();
        let point = s.action.points[0];
        // Half the residents of the first grid, and every resident of the second.
        let grids: Vec<usize> =
            (0..roster.nodes().len()).filter(|&i| !roster.residents_at(i).is_empty()).take(2).collect();
        let first = roster.residents_at(grids[0]);
        let mut sampled: Vec<u32> = first[..first.len() / 2].to_vec();
        sampled.extend_from_slice(roster.residents_at(grids[1]));
        for (k, &r) in sampled.iter().enumerate() {
            let at = OPENED + Duration::seconds(20 * k as i64);
            let resident_id = roster.residents()[r as usize].id;
            apply(&mut s, at, EventBody::ResidentSampled { resident_id, point_id: point, at_home: false, tube: None });
        }
        let root = (0..roster.nodes().len()).find(|&i| roster.nodes()[i].parent.is_none()).unwrap();
        let now = datetime!(2022-04-22 17:00 UTC);
        let p = progress(&s, root, now).expect("the action reaches the village");
        assert_eq!((p.target, p.sampled, p.exempt), (s.totals.target, sampled.len() as i64, 0));
        assert_eq!(p.signed_off, (0, 0), "before the chase, reports are not counted");
        // The slowest areas under the village: none of theirs sampled, furthest first.
        assert_eq!(p.slowest.len(), SLOWEST);
        assert!(p.slowest.iter().all(|a| a.missing == a.target), "{:?}", p.slowest);
        let text = crate::messages::notify::summary(&p);
        let first = text.lines().next().unwrap().to_owned();
        assert_eq!(first, format!("【进度】01:00 {} · {}", s.action.name, roster.nodes()[root].name));
        let line = format!(
            "应采 {} 人，已采样 {}，豁免 0，未检 {}；完成率 {}%。",
            p.target,
            p.sampled,
            p.target - p.sampled,
            p.sampled * 100 / p.target
        );
        assert_eq!(text.lines().nth(1), Some(line.as_str()), "{text}");
        assert!(text.contains("进度最慢："), "{text}");
        // The second grid is done: its summary says so, and names nobody under it.
        let done = progress(&s, grids[1], now).unwrap();
        assert_eq!(done.target, done.sampled);
        assert!(crate::messages::notify::summary(&done).contains("已全部采完。"));
    }
}
