//! The drill: plays an overnight testing action against a running server through its
//! public HTTP API, in accelerated time. Residents arrive at the point serving their grid
//! on a curve that rises fast and tails off over three hours; grid members mark those
//! away from the village as exempt; about 8 % do not come until their grid member chases
//! them (ticks: notified, unreachable, refused, on the way) and they come in the hour after;
//! bedridden residents are ticked so by their grid member, and a medic takes each visit and
//! samples them at home — all through the same API the phones use. Device
//! times are the drill's simulated clock, so the live screen shows the night's own pace.

use super::Rng;
use crate::roster::{Role, Roster, StaffId};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use uuid::Uuid;

/// The night, in simulated seconds: three hours of arrivals, then an hour of chasing.
const NIGHT: f64 = 3.0 * 3600.0;
const CHASE: f64 = 3600.0;
/// When the grid members start chasing who has not come: after two and a quarter hours.
const CHASE_FROM: f64 = 0.75 * NIGHT;
/// Share of residents who do not come by themselves.
const NO_SHOW: f64 = 0.08;
/// Requests in flight at once.
const CONCURRENCY: usize = 32;

#[derive(Debug, Clone)]
pub struct DrillOptions {
    pub base_url: String,
    /// A signed-in session per staff member who acts in the drill.
    pub tokens: HashMap<StaffId, String>,
    pub action_id: i64,
    /// Simulated seconds per real second.
    pub speed: f64,
    pub seed: u64,
}

struct Step {
    /// Simulated seconds after the start.
    at: f64,
    token: String,
    path: String,
    body: Value,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DrillReport {
    pub posted: usize,
    pub failed: usize,
}

fn event(kind: &str, device_time: OffsetDateTime, fields: Value) -> Value {
    let mut e = json!({ "id": Uuid::now_v7(), "type": kind, "device_time": rfc3339(device_time) });
    if let (Value::Object(e), Value::Object(f)) = (&mut e, fields) {
        e.extend(f);
    }
    json!({ "events": [e] })
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).expect("UTC times format")
}

/// Beta(2, 4)-shaped: the second smallest of five uniforms. Peaks near the first third.
fn arrival(rng: &mut Rng) -> f64 {
    let mut u: Vec<f64> = (0..5).map(|_| rng.unit()).collect();
    u.sort_by(f64::total_cmp);
    u[1]
}

fn plan(roster: &Roster, opts: &DrillOptions, start: OffsetDateTime) -> Vec<Step> {
    let mut rng = Rng::new(opts.seed ^ 0x5EED);
    let token_of = |role: Role, point: Option<i64>| {
        roster
            .staff()
            .iter()
            .find(|s| s.role == role && (point.is_none() || s.point_id == point))
            .and_then(|s| opts.tokens.get(&s.id).cloned())
            .unwrap_or_default()
    };
    let chief = token_of(Role::Chief, None);
    let medic = token_of(Role::Medic, None);
    let at = |secs: f64| start + time::Duration::seconds_f64(secs);
    let actions = format!("/api/actions/{}", opts.action_id);
    let mut steps = vec![Step {
        at: 0.0,
        token: chief.clone(),
        path: format!("{actions}/events"),
        body: event("action_opened", start, json!({})),
    }];
    for (idx, r) in roster.residents().iter().enumerate() {
        let grid_idx = roster.resident_node_idx(idx);
        let grid = &roster.nodes()[grid_idx];
        let point = roster.points().iter().find(|p| p.nodes.contains(&grid.id)).map_or(1, |p| p.id);
        if r.flags.away {
            let t = 60.0 + rng.unit() * 1800.0;
            let member = grid.staff_id.and_then(|s| opts.tokens.get(&s).cloned());
            steps.push(Step {
                at: t,
                token: member.unwrap_or_else(|| chief.clone()),
                path: format!("{actions}/events"),
                body: event(
                    "exemption_set",
                    at(t),
                    json!({ "resident_id": r.id, "reason": "away", "note": "外出务工" }),
                ),
            });
            continue;
        }
        let member = grid.staff_id.and_then(|s| opts.tokens.get(&s).cloned()).unwrap_or_else(|| chief.clone());
        let tick = |t: f64, chase: &str| Step {
            at: t,
            token: member.clone(),
            path: format!("{actions}/events"),
            body: event("resident_ticked", at(t), json!({ "resident_id": r.id, "chase": chase })),
        };
        let (t, token, at_home) = if r.flags.bedridden {
            // The grid member finds them bedridden; a medic takes the visit, then samples.
            let asked = CHASE_FROM + rng.unit() * CHASE * 0.5;
            let taken = asked + 300.0 + rng.unit() * 600.0;
            steps.push(tick(asked, "bedridden"));
            steps.push(Step {
                at: taken,
                token: medic.clone(),
                path: format!("{actions}/events"),
                body: event("visit_taken", at(taken), json!({ "resident_id": r.id })),
            });
            (taken + 300.0 + rng.unit() * 900.0, medic.clone(), true)
        } else if rng.unit() < NO_SHOW {
            // Not come by the time the chase starts: phoned (or not reached), some say they
            // are on their way, and all come in the end.
            let came = NIGHT + rng.unit() * CHASE * 0.8;
            let first = CHASE_FROM + rng.unit() * (came - CHASE_FROM) * 0.5;
            let said = match rng.below(20) {
                0..=11 => "notified",
                12..=16 => "unreachable",
                _ => "refused",
            };
            steps.push(tick(first, said));
            if rng.below(2) == 0 {
                steps.push(tick(first + rng.unit() * (came - first) * 0.8, "on_the_way"));
            }
            (came, token_of(Role::Operator, Some(point)), false)
        } else {
            (arrival(&mut rng) * NIGHT, token_of(Role::Operator, Some(point)), false)
        };
        // Three in ten show an ID card, the rest the household card's QR code.
        let who = if rng.below(10) < 3 {
            json!({ "id_number": r.id_number.expose() })
        } else {
            json!({ "resident_id": r.id })
        };
        let mut body =
            json!({ "id": Uuid::now_v7(), "point_id": point, "at_home": at_home, "device_time": rfc3339(at(t)) });
        if let (Value::Object(b), Value::Object(w)) = (&mut body, who) {
            b.extend(w);
        }
        steps.push(Step { at: t, token, path: format!("{actions}/scans"), body });
    }
    let end = NIGHT + CHASE + 60.0;
    steps.push(Step {
        at: end,
        token: chief,
        path: format!("{actions}/events"),
        body: event("action_closed", at(end), json!({})),
    });
    steps.sort_by(|a, b| a.at.total_cmp(&b.at));
    steps
}

/// Posts one step, retrying with the same event id when the answer is lost or the server
/// is busy: the server records it once whatever happens.
async fn post(client: &reqwest::Client, base: &str, step: &Step) -> bool {
    for attempt in 0..5u32 {
        let sent = client.post(format!("{base}{}", step.path)).bearer_auth(&step.token).json(&step.body).send().await;
        match sent {
            Ok(r) if r.status().is_success() => return true,
            Ok(r) if r.status().is_client_error() => {
                tracing::warn!(status = r.status().as_u16(), path = %step.path, "drill step refused");
                return false;
            }
            _ => tokio::time::sleep(Duration::from_millis(200 << attempt)).await,
        }
    }
    false
}

/// Runs the whole drill and returns how many requests were recorded and refused.
pub async fn run(roster: Arc<Roster>, opts: DrillOptions) -> DrillReport {
    let start = OffsetDateTime::now_utc();
    let steps = plan(&roster, &opts, start);
    let client = reqwest::Client::new();
    let gate = Arc::new(Semaphore::new(CONCURRENCY));
    let began = tokio::time::Instant::now();
    let total = steps.len();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, step) in steps.into_iter().enumerate() {
        tokio::time::sleep_until(began + Duration::from_secs_f64(step.at / opts.speed)).await;
        let permit = gate.clone().acquire_owned().await.expect("the semaphore is never closed");
        let (client, base) = (client.clone(), opts.base_url.clone());
        tasks.spawn(async move {
            let ok = post(&client, &base, &step).await;
            drop(permit);
            ok
        });
        if (i + 1) % (total / 10).max(1) == 0 {
            tracing::info!(done = i + 1, total, "drill progress");
        }
    }
    let mut report = DrillReport::default();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(true) => report.posted += 1,
            _ => report.failed += 1,
        }
    }
    report
}
