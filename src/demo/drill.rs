//! The drill: plays an overnight testing action against a running server through its
//! public HTTP API, in accelerated time. Residents arrive at the point serving their grid
//! on a curve that rises fast and tails off over three hours; grid members mark those
//! away from the village as exempt; about 8 % do not come until their grid member chases
//! them (ticks: notified, unreachable, refused, on the way) and they come in the hour after;
//! bedridden residents are ticked so by their grid member, and a medic takes each visit and
//! samples them at home — all through the same API the phones use. Each point samples
//! into pooled tubes of ten (10合1) through the events the sampling point's page sends,
//! registers a few walk-ins, and says how many wait; after the night the lab enters every
//! tube's result, one of them positive, which then shows on the screens. The night begins
//! (seed 004) with a call-up at 23:36, an hour and nine minutes before the points open:
//! the staff answer it over about ten minutes, a few late, one not at all (their silence
//! climbs to their head), and one grid member answers 有困难 (locked outside the village),
//! so their head hands their households to another grid member before the chase, who then
//! chases them. The chief starts the chase; whoever is still missing half an hour later
//! climbs to their head, and to the chief after as long again. Before the close each head
//! signs off their area. Device times are the drill's simulated clock, so the live screen
//! shows the night's own pace (the server judges the escalation deadlines by the same
//! simulated clock: `Settings::deadlines`).

use super::Rng;
use crate::roster::{Role, Roster, StaffId};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use uuid::Uuid;

/// The night in the demo, in hours of arrivals (seed 004's rounds after the first took
/// three, then two); the chase takes a third as long again.
pub const HOURS: f64 = 3.0;
/// When the grid members start chasing who has not come: three quarters into the night.
const CHASE_SHARE: f64 = 0.75;
/// Share of residents who do not come by themselves.
const NO_SHOW: f64 = 0.08;
/// Requests in flight at once.
const CONCURRENCY: usize = 32;
/// People per pooled tube (10合1).
const TUBE: usize = 10;
/// Walk-ins over the night (visitors, new migrants not yet on the roster).
const WALK_INS: usize = 6;
/// How often each point's operator says how many wait, in simulated seconds.
const QUEUE_EVERY: f64 = 900.0;
/// The call-up, in simulated seconds before the points open (23:36 → 00:45).
const CALL_UP_BEFORE: f64 = 69.0 * 60.0;

#[derive(Debug, Clone)]
pub struct DrillOptions {
    pub base_url: String,
    /// A signed-in session per staff member who acts in the drill.
    pub tokens: HashMap<StaffId, String>,
    pub action_id: i64,
    /// Simulated seconds per real second.
    pub speed: f64,
    pub seed: u64,
    /// The simulated night's start: when the points open (00:45), by the device clocks.
    pub start: OffsetDateTime,
    /// Hours of arrivals ([`HOURS`] in the demo): a round that learned goes faster.
    pub hours: f64,
}

struct Step {
    /// Simulated seconds after the start.
    at: f64,
    token: String,
    path: String,
    body: Value,
    /// A point's steps are posted one after another, in order: a tube is opened before
    /// anyone goes into it, and holds ten before the next one opens.
    lane: Option<i64>,
    /// Posted once every other step has been answered: the close, and the lab's results
    /// after it (a point that fell behind its schedule is not closed on).
    last: bool,
}

impl Step {
    fn event(at: f64, token: &str, actions: &str, body: Value) -> Self {
        Step { at, token: token.to_owned(), path: format!("{actions}/events"), body, lane: None, last: false }
    }

    fn last(self) -> Self {
        Step { last: true, ..self }
    }

    fn at_point(self, point: i64) -> Self {
        Step { lane: Some(point), ..self }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DrillReport {
    pub posted: usize,
    pub failed: usize,
}

fn event(kind: &str, device_time: OffsetDateTime, fields: Value) -> Value {
    json!({ "events": [one(kind, device_time, fields)] })
}

fn one(kind: &str, device_time: OffsetDateTime, fields: Value) -> Value {
    let mut e = json!({ "id": Uuid::now_v7(), "type": kind, "device_time": rfc3339(device_time) });
    if let (Value::Object(e), Value::Object(f)) = (&mut e, fields) {
        e.extend(f);
    }
    e
}

/// A person sampled at a point, before the tubes are laid out: a resident or a walk-in.
struct AtPoint {
    at: f64,
    point: i64,
    who: Value,
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

/// The call-up at 23:36, to every staff member of the village: how it goes.
struct CallUpNight {
    seq: i64,
    /// Answers `received`, by staff member, in simulated seconds (all before the opening).
    answers: Vec<(StaffId, f64)>,
    /// Locked outside the village: answers 有困难; their households go to `substitute`.
    locked_out: Option<(StaffId, StaffId)>,
}

/// Who answers the call-up when (the call-up itself is posted first, to learn its position):
/// most within ten minutes, every seventh late, the first grid member who has a colleague
/// under the same head locked out, and one grid member never.
fn call_up_night(roster: &Roster, chief: StaffId, seq: i64, rng: &mut Rng) -> CallUpNight {
    let root: Vec<i64> = roster.nodes().iter().filter(|n| n.parent.is_none()).map(|n| n.id).collect();
    let called = crate::action::callups::recipients(roster, &root, &[], chief);
    let head_of = |s: StaffId| {
        let m = roster.staff_member(s)?;
        let node = roster.node_idx(*m.nodes.first()?)?;
        crate::action::escalation::staff_up(roster, node).get(1).copied()
    };
    let members: Vec<StaffId> = called
        .iter()
        .copied()
        .filter(|&s| roster.staff_member(s).is_some_and(|m| m.role == Role::GridMember))
        .collect();
    let locked_out = members.iter().find_map(|&m| {
        let head = head_of(m)?;
        members.iter().find(|&&o| o != m && head_of(o) == Some(head)).map(|&o| (m, o))
    });
    let silent = members.iter().rev().copied().find(|&m| locked_out.is_none_or(|(l, o)| m != l && m != o));
    let answers = called
        .iter()
        .enumerate()
        .filter(|(_, s)| Some(**s) != silent && locked_out.is_none_or(|(l, _)| **s != l))
        .map(|(i, &s)| {
            let minutes = if i % 7 == 6 { 12.0 + rng.unit() * 10.0 } else { 1.0 + rng.unit() * 8.0 };
            (s, -CALL_UP_BEFORE + minutes * 60.0)
        })
        .collect();
    CallUpNight { seq, answers, locked_out }
}

fn plan(roster: &Roster, opts: &DrillOptions, start: OffsetDateTime, call_up: &CallUpNight) -> Vec<Step> {
    let mut rng = Rng::new(opts.seed ^ 0x5EED);
    // In simulated seconds: the arrivals, the chase after them, and when the chase starts,
    // the locked-out member's households are handed over, and the heads sign off.
    let night = opts.hours.max(0.5) * 3600.0;
    let chase_len = night / 3.0;
    let chase_from = CHASE_SHARE * night;
    let handover_at = chase_from - 600.0;
    let sign_off_at = night + chase_len - 120.0;
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
    let token = |s: StaffId| opts.tokens.get(&s).cloned().unwrap_or_else(|| chief.clone());
    let mut steps = Vec::new();
    for &(staff, t) in &call_up.answers {
        let answer = json!({ "call_up_seq": call_up.seq, "answer": "received" });
        steps.push(Step::event(t, &token(staff), &actions, event("call_up_answered", at(t), answer)));
    }
    // Whose households someone else chases tonight, and who.
    let mut covering: HashMap<i64, StaffId> = HashMap::new();
    if let Some((locked, substitute)) = call_up.locked_out {
        let t = -CALL_UP_BEFORE + 240.0;
        let answer = json!({ "call_up_seq": call_up.seq, "answer": "cannot", "reason": "被封在村外，回不来" });
        steps.push(Step::event(t, &token(locked), &actions, event("call_up_answered", at(t), answer)));
        let grids: Vec<i64> = roster.staff_member(locked).map(|m| m.nodes.clone()).unwrap_or_default();
        let mut households: Vec<i64> =
            roster.households().iter().filter(|h| grids.contains(&h.node_id)).map(|h| h.id).collect();
        households.sort_unstable();
        let head = grids
            .first()
            .and_then(|n| roster.node_idx(*n))
            .and_then(|n| crate::action::escalation::staff_up(roster, n).get(1).copied());
        if let (Some(head), false) = (head, households.is_empty()) {
            for &h in &households {
                covering.insert(h, substitute);
            }
            let hand = json!({ "households": households, "to": substitute });
            steps.push(Step::event(
                handover_at,
                &token(head),
                &actions,
                event("households_handed", at(handover_at), hand),
            ));
        }
    }
    let chase = event("chase_started", at(chase_from), json!({}));
    steps.push(Step::event(chase_from, &chief, &actions, chase));
    for head in roster.staff().iter().filter(|s| s.role == Role::GridHead && !s.retired) {
        for &node in &head.nodes {
            let signed = json!({ "node_id": node, "note": "本片已全部落实" });
            steps.push(Step::event(
                sign_off_at,
                &token(head.id),
                &actions,
                event("area_signed_off", at(sign_off_at), signed),
            ));
        }
    }
    let mut at_points: Vec<AtPoint> = Vec::new();
    for (idx, r) in roster.residents().iter().enumerate() {
        let grid_idx = roster.resident_node_idx(idx);
        let grid = &roster.nodes()[grid_idx];
        let point = roster.points().iter().find(|p| p.nodes.contains(&grid.id)).map_or(1, |p| p.id);
        if r.flags.away {
            let t = 60.0 + rng.unit() * 1800.0;
            let member = grid.staff_id.and_then(|s| opts.tokens.get(&s).cloned());
            let exempt = json!({ "resident_id": r.id, "reason": "away", "note": "外出务工" });
            let body = event("exemption_set", at(t), exempt);
            steps.push(Step::event(t, &member.unwrap_or_else(|| chief.clone()), &actions, body));
            continue;
        }
        let member = grid.staff_id.and_then(|s| opts.tokens.get(&s).cloned()).unwrap_or_else(|| chief.clone());
        // Ticks come from whoever chases the household tonight (all after the handover).
        let member = covering.get(&r.household_id).map_or(member, |&s| token(s));
        let tick = |t: f64, chase: &str| {
            Step::event(
                t,
                &member,
                &actions,
                event("resident_ticked", at(t), json!({ "resident_id": r.id, "chase": chase })),
            )
        };
        let t = if r.flags.bedridden {
            // The grid member finds them bedridden; a medic takes the visit, then samples.
            let asked = chase_from + rng.unit() * chase_len * 0.5;
            let taken = asked + 300.0 + rng.unit() * 600.0;
            steps.push(tick(asked, "bedridden"));
            let visit = event("visit_taken", at(taken), json!({ "resident_id": r.id }));
            steps.push(Step::event(taken, &medic, &actions, visit));
            // Sampled at home, in a single tube the medic carries back: no pool.
            let t = taken + 300.0 + rng.unit() * 900.0;
            let sampled = json!({ "resident_id": r.id, "point_id": point, "at_home": true });
            steps.push(Step::event(t, &medic, &actions, event("resident_sampled", at(t), sampled)));
            continue;
        } else if rng.unit() < NO_SHOW {
            // Not come by the time the chase starts: phoned (or not reached), some say they
            // are on their way, and all come in the end.
            let came = night + rng.unit() * chase_len * 0.8;
            let first = chase_from + rng.unit() * (came - chase_from) * 0.5;
            let said = match rng.below(20) {
                0..=11 => "notified",
                12..=16 => "unreachable",
                _ => "refused",
            };
            steps.push(tick(first, said));
            if rng.below(2) == 0 {
                steps.push(tick(first + rng.unit() * (came - first) * 0.8, "on_the_way"));
            }
            came
        } else {
            arrival(&mut rng) * night
        };
        at_points.push(AtPoint { at: t, point, who: json!({ "type": "resident_sampled", "resident_id": r.id }) });
    }
    // A few people not on the roster, at points across the night.
    for k in 0..WALK_INS {
        let point = roster.points()[rng.below(roster.points().len() as u64) as usize].id;
        let who = loop {
            let birth = 1960 + rng.below(45);
            let body = format!("130102{birth}{:02}{:02}{:03}", 1 + rng.below(12), 1 + rng.below(28), rng.below(1000));
            let number = crate::roster::IdNumber::from_body(&body).expect("17 generated digits");
            if roster.resident_by_id_number(&number).is_none() {
                break json!({ "type": "walk_in_sampled", "walk_in": {
                    "name": super::village::name(&mut rng),
                    "id_number": number.expose(),
                    "stays_at": format!("投亲：大华山村{}号", 10 + k * 7),
                }});
            }
        };
        at_points.push(AtPoint { at: 600.0 + rng.unit() * (night - 1200.0), point, who });
    }
    let end = night + chase_len + 60.0;
    steps.extend(tubes(roster, &mut at_points, &token_of, &actions, &at, end));
    steps.push(Step::event(end, &chief, &actions, event("action_closed", at(end), json!({}))).last());
    // The lab's answers come in after the night: every tube negative but one.
    let lab = token_of(Role::Lab, None);
    let codes: Vec<String> = steps
        .iter()
        .flat_map(|s| s.body["events"].as_array().into_iter().flatten())
        .filter(|e| e["type"] == "tube_opened")
        .filter_map(|e| e["tube"].as_str().map(str::to_owned))
        .collect();
    let positive = (!codes.is_empty()).then(|| rng.below(codes.len() as u64) as usize);
    let results: Vec<Value> = codes
        .iter()
        .enumerate()
        .map(|(i, code)| {
            let result = if Some(i) == positive { "positive" } else { "negative" };
            one("tube_result", at(end + 600.0), json!({ "tube": code, "result": result }))
        })
        .collect();
    for batch in results.chunks(50) {
        steps.push(Step::event(end + 600.0, &lab, &actions, json!({ "events": batch })).last());
    }
    steps.sort_by(|a, b| a.at.total_cmp(&b.at));
    steps
}

/// Each point's samples in pooled tubes of ten, in the order people came: a tube opened with
/// its first person, closed by itself at ten; the last one closed by hand before the close.
/// Every quarter hour the operator says about how many wait (those due in the next ten
/// minutes).
fn tubes(
    roster: &Roster,
    at_points: &mut [AtPoint],
    token_of: &dyn Fn(Role, Option<i64>) -> String,
    actions: &str,
    at: &dyn Fn(f64) -> OffsetDateTime,
    end: f64,
) -> Vec<Step> {
    at_points.sort_by(|a, b| a.at.total_cmp(&b.at));
    let mut steps = Vec::new();
    for p in roster.points() {
        let token = token_of(Role::Operator, Some(p.id));
        let here: Vec<&AtPoint> = at_points.iter().filter(|a| a.point == p.id).collect();
        let mut tube = String::new();
        for (n, person) in here.iter().enumerate() {
            let mut events = Vec::new();
            if n.is_multiple_of(TUBE) {
                tube = format!("HG{:02}-{:04}", p.id, n / TUBE + 1);
                events.push(one("tube_opened", at(person.at), json!({ "tube": tube, "point_id": p.id })));
            }
            let mut sampled = person.who.clone();
            sampled["point_id"] = json!(p.id);
            sampled["tube"] = json!(tube);
            let kind = sampled["type"].as_str().unwrap_or_default().to_owned();
            events.push(one(&kind, at(person.at), sampled));
            steps.push(Step::event(person.at, &token, actions, json!({ "events": events })).at_point(p.id));
        }
        if !here.len().is_multiple_of(TUBE) {
            let closed = event("tube_closed", at(end - 30.0), json!({ "tube": tube }));
            steps.push(Step::event(end - 30.0, &token, actions, closed).at_point(p.id));
        }
        let mut t = QUEUE_EVERY;
        while t < end - 60.0 {
            let waiting = here.iter().filter(|a| a.at >= t && a.at < t + 600.0).count();
            let said = event("queue_reported", at(t), json!({ "point_id": p.id, "waiting": waiting }));
            steps.push(Step::event(t, &token, actions, said).at_point(p.id));
            t += QUEUE_EVERY;
        }
    }
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
                // The answer's code only: its message may name a resident.
                let status = r.status().as_u16();
                let code = r.json::<Value>().await.ok().and_then(|b| b["code"].as_str().map(str::to_owned));
                tracing::warn!(status, code, path = %step.path, "drill step refused");
                return false;
            }
            _ => tokio::time::sleep(Duration::from_millis(200 << attempt)).await,
        }
    }
    false
}

/// The real moment a step at simulated second `at` is due: those before the opening (the
/// call-up's answers) at once.
fn when(began: tokio::time::Instant, at: f64, speed: f64) -> tokio::time::Instant {
    began + Duration::from_secs_f64((at / speed).max(0.0))
}

/// Posts one step that records one event and answers its position.
async fn post_for_seq(client: &reqwest::Client, base: &str, step: &Step) -> Option<i64> {
    for attempt in 0..5u32 {
        let sent = client.post(format!("{base}{}", step.path)).bearer_auth(&step.token).json(&step.body).send().await;
        match sent {
            Ok(r) if r.status().is_success() => {
                let body: Value = r.json().await.ok()?;
                return body["results"][0]["seq"].as_i64();
            }
            Ok(r) if r.status().is_client_error() => {
                tracing::warn!(status = r.status().as_u16(), path = %step.path, "drill call-up refused");
                return None;
            }
            _ => tokio::time::sleep(Duration::from_millis(200 << attempt)).await,
        }
    }
    None
}

/// Runs the whole drill and returns how many requests were recorded and refused.
pub async fn run(roster: Arc<Roster>, opts: DrillOptions) -> DrillReport {
    let start = opts.start;
    let client = reqwest::Client::new();
    let mut report = DrillReport::default();
    // The call-up first, as the chief sent it at 23:36: its answers name its position.
    let chief = roster.staff().iter().find(|s| s.role == Role::Chief).map_or(0, |s| s.id);
    let root: Vec<i64> = roster.nodes().iter().filter(|n| n.parent.is_none()).map(|n| n.id).collect();
    let text = "紧急通知：今晚全员核酸检测，请全体网格员立即到岗";
    let call = event(
        "call_up_sent",
        start - time::Duration::seconds_f64(CALL_UP_BEFORE),
        json!({
            "text": text, "place": "23:50 到村委会集合", "nodes": root,
        }),
    );
    let actions = format!("/api/actions/{}", opts.action_id);
    let token = opts.tokens.get(&chief).cloned().unwrap_or_default();
    let seq = post_for_seq(&client, &opts.base_url, &Step::event(0.0, &token, &actions, call)).await;
    report.posted += usize::from(seq.is_some());
    report.failed += usize::from(seq.is_none());
    // Then the opening at 00:45, before any point scans.
    let opened = Step::event(0.0, &token, &actions, event("action_opened", start, json!({})));
    if post(&client, &opts.base_url, &opened).await {
        report.posted += 1;
    } else {
        report.failed += 1;
    }
    let mut rng = Rng::new(opts.seed ^ 0xCA11);
    let call_up = call_up_night(&roster, chief, seq.unwrap_or(0), &mut rng);
    let mut steps = plan(&roster, &opts, start, &call_up);
    if seq.is_none() {
        steps.retain(|s| s.body["events"][0]["type"] != "call_up_answered");
    }
    let gate = Arc::new(Semaphore::new(CONCURRENCY));
    let began = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    // Each point's lane: its steps one after another, each at its time or as soon after as
    // the one before has been answered.
    let mut lanes: HashMap<i64, Vec<Step>> = HashMap::new();
    let (mut free, mut last) = (Vec::new(), Vec::new());
    for step in steps {
        match (step.last, step.lane) {
            (true, _) => last.push(step),
            (false, Some(point)) => lanes.entry(point).or_default().push(step),
            (false, None) => free.push(step),
        }
    }
    let mut lane_tasks = tokio::task::JoinSet::new();
    for (_, lane) in lanes {
        let (client, base, speed) = (client.clone(), opts.base_url.clone(), opts.speed);
        lane_tasks.spawn(async move {
            let mut report = DrillReport::default();
            for step in lane {
                tokio::time::sleep_until(when(began, step.at, speed)).await;
                if post(&client, &base, &step).await {
                    report.posted += 1;
                } else {
                    report.failed += 1;
                }
            }
            report
        });
    }
    let total = free.len();
    for (i, step) in free.into_iter().enumerate() {
        tokio::time::sleep_until(when(began, step.at, opts.speed)).await;
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
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(true) => report.posted += 1,
            _ => report.failed += 1,
        }
    }
    while let Some(lane) = lane_tasks.join_next().await {
        let lane = lane.unwrap_or_default();
        report.posted += lane.posted;
        report.failed += lane.failed;
    }
    for step in last {
        tokio::time::sleep_until(when(began, step.at, opts.speed)).await;
        if post(&client, &opts.base_url, &step).await {
            report.posted += 1;
        } else {
            report.failed += 1;
        }
    }
    report
}
