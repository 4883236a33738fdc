//! The server acting on its own: when a deadline of the escalation rule passes, it appends
//! the escalations that are due ([`ActionState::due`]) through the one writer, as its own
//! actor ([`SERVER_ACTOR`]), each with a client id made from what it is about, its level
//! and its deadline. So a server that was down when a deadline passed escalates on start-up,
//! once; two nodes that both see it append it once between them (the second gets a repeat);
//! and the live screen, a restart and the report agree, because an escalation is a fact in
//! the log and not a clock inside the fold. Each head's new escalations are then posted to
//! the chat groups of their area. Reads the time from the server's [`Clock`], which tests move.

use crate::action::escalation::{Due, SERVER_ACTOR};
use crate::action::event::to_log_precision;
use crate::action::{ActionId, EventBody, NewEvent, Overdue};
use crate::auth::Clock;
use crate::live::Hub;
use crate::notify::{Message, MessageKind, Notifier};
use crate::roster::StaffId;
use crate::writer::{AppendError, Outcome, Writer};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often the escalator looks: escalations land within this of their deadline.
const EVERY: Duration = Duration::from_secs(1);
/// Most escalations appended in one request (a thousand missing at one deadline is a city).
const CHUNK: usize = 1_000;

/// What the escalator needs from the server.
pub struct Escalator {
    pub hub: Arc<Hub>,
    pub writer: Writer,
    pub notifier: Notifier,
    pub clock: Clock,
    /// For the link in the chat-group message.
    pub public_url: Option<String>,
}

impl Escalator {
    /// Looks every [`EVERY`] until `stop`; the first look is at once (a server started
    /// after a deadline escalates now).
    pub async fn run(self, stop: watch::Receiver<bool>) {
        crate::tick::every(EVERY, stop, || async {
            for id in self.hub.ids() {
                match self.escalate(id).await {
                    Ok(()) | Err(AppendError::Closed) => {}
                    Err(e) => tracing::warn!(action = id, error = %e, "could not escalate; will retry"),
                }
            }
        })
        .await
    }

    /// Appends what is due in one action now, and posts what was new.
    pub async fn escalate(&self, id: ActionId) -> Result<(), AppendError> {
        let Some(cell) = self.hub.get(id) else { return Ok(()) };
        let now = self.clock.now();
        let due = cell.state().due(now);
        for chunk in due.chunks(CHUNK) {
            let appended = self.append(id, chunk.to_vec()).await?;
            self.post(id, &appended);
        }
        Ok(())
    }

    /// Appends escalations, dropping those the log refuses now (another node appended the
    /// same one at another deadline, the resident was sampled meanwhile): all or nothing
    /// would let one stale escalation hold back the rest. Answers those appended now.
    async fn append(&self, id: ActionId, mut due: Vec<Due>) -> Result<Vec<Due>, AppendError> {
        for _ in 0..3 {
            if due.is_empty() {
                break;
            }
            let server_time = to_log_precision(self.clock.now());
            let events = due
                .iter()
                .map(|d| NewEvent {
                    action_id: id,
                    client_id: d.client_id,
                    actor: SERVER_ACTOR,
                    device_time: d.at,
                    server_time,
                    body: d.body.clone(),
                })
                .collect();
            match self.writer.append(events).await {
                Ok(outcomes) => {
                    let new = due.into_iter().zip(outcomes).filter(|(_, o)| matches!(o, Outcome::New(_)));
                    return Ok(new.map(|(d, _)| d).collect());
                }
                Err(AppendError::Rejected(refused)) => {
                    let refused: std::collections::HashSet<usize> = refused.into_iter().map(|(i, _)| i).collect();
                    due = due.into_iter().enumerate().filter(|(i, _)| !refused.contains(i)).map(|(_, d)| d).collect();
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Vec::new())
    }

    /// Tells each person escalated to, in their area's chat groups: how many residents
    /// climbed to them and how many call-up answers are overdue. One message per person per
    /// look, however many escalations it holds.
    fn post(&self, id: ActionId, appended: &[Due]) {
        let Some(cell) = self.hub.get(id) else { return };
        let mut to: BTreeMap<StaffId, (usize, usize)> = BTreeMap::new();
        {
            let s = cell.state();
            for d in appended {
                let EventBody::Escalated { about, level } = d.body else { continue };
                let target = match about {
                    Overdue::Resident { resident_id } => {
                        s.roster.resident_idx(resident_id).and_then(|i| s.resident_escalates_to(i, level))
                    }
                    Overdue::CallUp { staff_id, .. } => s.staff_escalates_to(staff_id, level),
                };
                if let Some(t) = target {
                    let e = to.entry(t).or_default();
                    match about {
                        Overdue::Resident { .. } => e.0 += 1,
                        Overdue::CallUp { .. } => e.1 += 1,
                    }
                }
            }
        }
        let roster = self.hub.roster();
        let link = self.public_url.as_ref().map(|u| format!("{u}/m"));
        for (staff, (residents, silent)) in to {
            let Some(m) = roster.staff_member(staff) else { continue };
            let said = crate::messages::notify::escalation(&m.name, residents, silent);
            for node in &m.nodes {
                if self.notifier.has_channel(*node) {
                    self.notifier.post(*node, Message::new(MessageKind::Escalation, said.clone(), link.clone()));
                }
            }
        }
    }
}
