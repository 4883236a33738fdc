//! The one event type. Every change of state in an action is one of these, appended
//! to the log with the id the client made when the person acted.

use super::{ActionId, Seq};
use crate::roster::{HouseholdId, NodeId, PointId, ResidentId, Role, StaffId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Why a resident in scope is not expected to be sampled. Counted apart, never dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExemptReason {
    /// Away from the village (works or studies elsewhere).
    Away,
    /// In hospital or otherwise tested elsewhere.
    TestedElsewhere,
    Other,
}

/// What a staff member learned while chasing a missing resident: the *chase status*, kept
/// beside the resident's outcome (missing, sampled, exempt) and never instead of it. The
/// same for every action that must reach everyone (a test, a door notice, a delivery).
/// "Away" is an exemption: said with `exemption_set` (reason `away`, where in the note),
/// which shows as this status; a tick saying it is refused, so there is one way to say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Chase {
    /// Told (by phone, at the door, from a rooftop).
    Notified,
    /// Said they are coming.
    OnTheWay,
    /// Cannot come: needs a home visit (a request for the medics).
    Bedridden,
    Refused,
    /// Phoned and knocked, no answer.
    Unreachable,
    /// Nobody at home (ticked on a household).
    NobodyHome,
    /// Away from the village: the exemption's status.
    Away,
}

impl Chase {
    pub const ALL: [Chase; 7] = [
        Chase::Notified,
        Chase::OnTheWay,
        Chase::Bedridden,
        Chase::Refused,
        Chase::Unreachable,
        Chase::NobodyHome,
        Chase::Away,
    ];
}

/// Longest note a tick takes, in characters: a sentence or two, not a report.
pub const NOTE_MAX: usize = 500;

/// What happened. The JSON form (`{"type": "resident_sampled", ...}`) is both the API's
/// and the log's, so a stored event reads the same as the request that made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EventBody {
    ActionOpened,
    ActionClosed,
    /// A resident was sampled at a point (or at home by that point's team).
    ResidentSampled {
        resident_id: ResidentId,
        point_id: PointId,
        #[serde(default)]
        at_home: bool,
        /// The pooled tube (混管) the sample went into, if any: its barcode, at most 64
        /// letters, digits or `-_./` (checked where requests come in, `http::actions`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(pattern = "^[A-Za-z0-9._/-]{1,64}$")]
        tube: Option<String>,
    },
    ExemptionSet {
        resident_id: ResidentId,
        reason: ExemptReason,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
    ExemptionCleared {
        resident_id: ResidentId,
    },
    /// Undo a sample recorded by mistake (wrong person scanned), with the reason.
    Correction {
        target_seq: Seq,
        reason: String,
    },
    /// A chase status learned about one resident (at most [`NOTE_MAX`] characters of note).
    ResidentTicked {
        resident_id: ResidentId,
        chase: Chase,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
    /// A chase status learned about a whole household: each of its residents in scope.
    HouseholdTicked {
        household_id: HouseholdId,
        chase: Chase,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
    /// A medic takes the home visit of a bedridden resident: the others see it taken.
    VisitTaken {
        resident_id: ResidentId,
    },
    /// How long a home-visit request may wait for a medic before the command centre shows
    /// it late (the chief's call; [`VISIT_MINUTES`] until set).
    VisitWaitSet {
        #[schema(minimum = 1, maximum = 1440)]
        minutes: u32,
    },
    /// A person not on the roster (a visitor, a new migrant) registered and sampled at a
    /// point: never refused a swab. Counted apart as a walk-in and queued for the clerk, who
    /// confirms them into the roster, merges them with a resident, or rejects them. The same
    /// ID number again in this action is a re-sample of the same walk-in.
    WalkInSampled {
        walk_in: WalkIn,
        point_id: PointId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(pattern = "^[A-Za-z0-9._/-]{1,64}$")]
        tube: Option<String>,
    },
    /// The clerk's decision on a walk-in (named by the position of their first sample):
    /// the resident they are (confirmed into the roster, or merged with an existing one:
    /// their samples become that resident's, one person and one sample), or rejected.
    WalkInResolved {
        walk_in_seq: Seq,
        resolution: Resolution,
        /// The resident they are, for `confirmed` and `merged`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resident_id: Option<ResidentId>,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
    /// A pooled tube (混管) opened at a point: samples go into it until it holds `size`
    /// (then it closes by itself) or it is closed by hand.
    TubeOpened {
        #[schema(pattern = "^[A-Za-z0-9._/-]{1,64}$")]
        tube: String,
        point_id: PointId,
        /// 1, 5, 10 or 20; the action's size (10 until set) when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<u8>,
    },
    TubeClosed {
        #[schema(pattern = "^[A-Za-z0-9._/-]{1,64}$")]
        tube: String,
    },
    /// The pooled tubes' size for this action from now on (the chief's call).
    TubeSizeSet {
        size: u8,
    },
    /// A lab's result for a tube. A positive pooled tube flags everyone in it to isolate
    /// and re-test in a single tube; a single tube's result clears or confirms its person.
    TubeResult {
        #[schema(pattern = "^[A-Za-z0-9._/-]{1,64}$")]
        tube: String,
        result: LabResult,
    },
    /// About how many people wait at a point, as its operator sees the queue.
    QueueReported {
        point_id: PointId,
        #[schema(maximum = 9999)]
        waiting: u32,
    },
    /// A call-up (召集): an instruction to every staff member of the areas `nodes` cover
    /// (those of `roles` only, when given), each to answer 收到 or 有困难. Named by its position.
    /// Allowed before the action opens: the call-up at 23:36 and the opening at 00:45 are
    /// one log.
    CallUpSent {
        #[schema(min_length = 1, max_length = 500)]
        text: String,
        /// Where and when to gather, if anywhere ("23:50 到村委会集合").
        #[serde(default, skip_serializing_if = "String::is_empty")]
        #[schema(max_length = 100)]
        place: String,
        #[schema(min_items = 1)]
        nodes: Vec<NodeId>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schema(value_type = Vec<String>)]
        roles: Vec<Role>,
    },
    /// A staff member's answer to a call-up, by their device's clock (an offline phone's
    /// answer keeps the time it was given). The latest by device time stands.
    CallUpAnswered {
        call_up_seq: Seq,
        answer: Answer,
        /// Why not, for `cannot` (at most [`NOTE_MAX`] characters).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        reason: String,
    },
    /// The chief's escalation rule for this action (seed 003: each level reports within 30
    /// minutes): a resident still missing `minutes` after the chase started climbs from their
    /// grid member to the head, then as long again to the chief; a call-up unanswered for
    /// `call_up_minutes` climbs the same way. `chase_at`: when the chase starts by itself,
    /// if the chief does not say so first.
    EscalationSet {
        #[schema(minimum = 1, maximum = 1440)]
        minutes: u32,
        #[schema(minimum = 1, maximum = 1440)]
        call_up_minutes: u32,
        #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
        #[schema(value_type = Option<String>, format = DateTime)]
        chase_at: Option<OffsetDateTime>,
    },
    /// The chase starts now (the chief's call): whoever is missing from here on is chased,
    /// and escalates when the rule's time passes.
    ChaseStarted,
    /// Something overdue climbed a level: appended by the server as its own actor when a
    /// deadline passed (never by a person), with a client id made from what it is about,
    /// so a restart or a second node cannot make it happen twice. Its device time is the
    /// deadline. Level 1 is the head above the responsible person, 2 the chief.
    Escalated {
        about: Overdue,
        #[schema(minimum = 1, maximum = 2)]
        level: u8,
    },
    /// A head (or the chief) hands households to a substitute for this action (a grid member
    /// locked outside the village, seed 004), or back to the roster's own person (`to`
    /// absent). Not a roster edit: the log shows who covered whom, and when.
    HouseholdsHanded {
        #[schema(min_items = 1, max_items = 500)]
        households: Vec<HouseholdId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<StaffId>,
    },
    /// A head reports their area done (层层上报): everyone accounted for except those still
    /// missing then, whom the fold keeps with their last status as of this event.
    AreaSignedOff {
        node_id: NodeId,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
}

/// What an escalation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Overdue {
    /// A resident still missing.
    Resident { resident_id: ResidentId },
    /// A staff member who has not answered a call-up.
    CallUp { call_up_seq: Seq, staff_id: StaffId },
}

/// How long a level has before what is overdue climbs, until the chief says otherwise.
pub const ESCALATE_MINUTES: u32 = 30;
/// How long a call-up may go unanswered before it climbs (seed 004: everyone in 10 minutes).
pub const CALL_UP_MINUTES: u32 = 10;
/// The levels an escalation climbs: the head, then the chief.
pub const ESCALATION_LEVELS: u8 = 2;

/// What a staff member answers a call-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// 收到: on the way.
    Received,
    /// 有困难: cannot come (locked outside the village, ill), with the reason.
    Cannot,
}

/// The tube sizes a point may use: single, and pools of 5, 10 and 20 (5合1, 10合1, 20合1).
pub const TUBE_SIZES: [u8; 4] = [1, 5, 10, 20];
/// The pooled tubes' size until the chief says otherwise (10合1混管).
pub const TUBE_SIZE: u8 = 10;

/// Who a walk-in says they are: enough to find them again and to put them on the roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalkIn {
    #[schema(min_length = 1, max_length = 40)]
    pub name: String,
    /// 18 characters, check digit verified where requests come in.
    #[schema(min_length = 18, max_length = 18)]
    pub id_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Where they stay tonight (an address, whose house).
    #[schema(max_length = 100)]
    pub stays_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Added to the roster as a new resident (by the clerk, before this event).
    Confirmed,
    /// The same person as a resident already on the roster.
    Merged,
    Rejected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LabResult {
    Negative,
    Positive,
}

/// How long a home-visit request waits before it is late, until the chief says otherwise:
/// each level reports within 30 minutes (seed 003).
pub const VISIT_MINUTES: u32 = 30;

impl EventBody {
    /// Reads a body as the log stores it: the same answer as `serde_json::from_str`,
    /// sooner for a sample. serde reads an internally tagged enum by first buffering the
    /// whole object into a tree of its own, which was a tenth of a ten-million-event
    /// rebuild; a sample (nearly every event in a log) is read in one pass through a struct
    /// with the variant's own fields and attributes. Anything else, or anything that struct
    /// refuses, goes through the enum's own reading, so errors read as they always did.
    pub fn from_log_json(json: &str) -> serde_json::Result<Self> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Sampled<'a> {
            #[serde(rename = "type")]
            kind: &'a str,
            resident_id: ResidentId,
            point_id: PointId,
            #[serde(default)]
            at_home: bool,
            #[serde(default)]
            tube: Option<String>,
        }
        match serde_json::from_str::<Sampled>(json) {
            Ok(Sampled { kind: "resident_sampled", resident_id, point_id, at_home, tube }) => {
                Ok(EventBody::ResidentSampled { resident_id, point_id, at_home, tube })
            }
            _ => serde_json::from_str(json),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::ActionOpened => "action_opened",
            EventBody::ActionClosed => "action_closed",
            EventBody::ResidentSampled { .. } => "resident_sampled",
            EventBody::ExemptionSet { .. } => "exemption_set",
            EventBody::ExemptionCleared { .. } => "exemption_cleared",
            EventBody::Correction { .. } => "correction",
            EventBody::ResidentTicked { .. } => "resident_ticked",
            EventBody::HouseholdTicked { .. } => "household_ticked",
            EventBody::VisitTaken { .. } => "visit_taken",
            EventBody::VisitWaitSet { .. } => "visit_wait_set",
            EventBody::WalkInSampled { .. } => "walk_in_sampled",
            EventBody::WalkInResolved { .. } => "walk_in_resolved",
            EventBody::TubeOpened { .. } => "tube_opened",
            EventBody::TubeClosed { .. } => "tube_closed",
            EventBody::TubeSizeSet { .. } => "tube_size_set",
            EventBody::TubeResult { .. } => "tube_result",
            EventBody::QueueReported { .. } => "queue_reported",
            EventBody::CallUpSent { .. } => "call_up_sent",
            EventBody::CallUpAnswered { .. } => "call_up_answered",
            EventBody::EscalationSet { .. } => "escalation_set",
            EventBody::ChaseStarted => "chase_started",
            EventBody::Escalated { .. } => "escalated",
            EventBody::HouseholdsHanded { .. } => "households_handed",
            EventBody::AreaSignedOff { .. } => "area_signed_off",
        }
    }
}

/// An event as a client asked for it, before the log gave it a position.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub action_id: ActionId,
    pub client_id: Uuid,
    pub actor: StaffId,
    /// When the person acted, by the device's clock (may be long ago for an offline queue).
    pub device_time: OffsetDateTime,
    /// When the server received it.
    pub server_time: OffsetDateTime,
    pub body: EventBody,
}

/// Times are kept to the microsecond, as the log stores them, so state folded from a
/// fresh request and state rebuilt from the log are equal to the last digit.
pub fn to_log_precision(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000).expect("a smaller nanosecond is valid")
}

/// An event in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub seq: Seq,
    pub new: NewEvent,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(json: &str) -> (Result<EventBody, String>, Result<EventBody, String>) {
        let fast = EventBody::from_log_json(json).map_err(|e| e.to_string());
        let plain = serde_json::from_str::<EventBody>(json).map_err(|e| e.to_string());
        (fast, plain)
    }

    #[test]
    fn the_log_reader_reads_every_kind_of_body_as_it_was_written() {
        let bodies = [
            EventBody::ActionOpened,
            EventBody::ActionClosed,
            EventBody::ResidentSampled { resident_id: 7, point_id: 3, at_home: true, tube: Some("T-1".into()) },
            EventBody::ResidentSampled { resident_id: -1, point_id: 0, at_home: false, tube: None },
            EventBody::ExemptionSet { resident_id: 7, reason: ExemptReason::Away, note: "外出务工".into() },
            EventBody::ExemptionCleared { resident_id: 7 },
            EventBody::Correction { target_seq: 12, reason: "wrong person".into() },
            EventBody::ResidentTicked { resident_id: 7, chase: Chase::OnTheWay, note: String::new() },
            EventBody::HouseholdTicked { household_id: 3, chase: Chase::NobodyHome, note: "敲门无人".into() },
            EventBody::VisitTaken { resident_id: 7 },
            EventBody::VisitWaitSet { minutes: 20 },
            EventBody::WalkInSampled {
                walk_in: WalkIn {
                    name: "张三".into(),
                    id_number: "11010519491231002X".into(),
                    phone: None,
                    stays_at: "3组12号".into(),
                },
                point_id: 3,
                tube: Some("T-2".into()),
            },
            EventBody::WalkInResolved {
                walk_in_seq: 9,
                resolution: Resolution::Merged,
                resident_id: Some(7),
                note: String::new(),
            },
            EventBody::TubeOpened { tube: "T-2".into(), point_id: 3, size: Some(10) },
            EventBody::TubeClosed { tube: "T-2".into() },
            EventBody::TubeSizeSet { size: 20 },
            EventBody::TubeResult { tube: "T-2".into(), result: LabResult::Positive },
            EventBody::QueueReported { point_id: 3, waiting: 12 },
            EventBody::CallUpSent {
                text: "紧急通知：全员核酸".into(),
                place: "23:50 到村委会集合".into(),
                nodes: vec![1],
                roles: vec![Role::GridMember],
            },
            EventBody::CallUpAnswered { call_up_seq: 2, answer: Answer::Cannot, reason: "被封在村外".into() },
            EventBody::EscalationSet {
                minutes: 30,
                call_up_minutes: 10,
                chase_at: Some(time::macros::datetime!(2022-04-22 18:00 UTC)),
            },
            EventBody::EscalationSet { minutes: 20, call_up_minutes: 5, chase_at: None },
            EventBody::ChaseStarted,
            EventBody::Escalated { about: Overdue::Resident { resident_id: 7 }, level: 1 },
            EventBody::Escalated { about: Overdue::CallUp { call_up_seq: 2, staff_id: 9 }, level: 2 },
            EventBody::HouseholdsHanded { households: vec![3, 4], to: Some(12) },
            EventBody::HouseholdsHanded { households: vec![3], to: None },
            EventBody::AreaSignedOff { node_id: 4, note: "3户外出".into() },
        ];
        for body in bodies {
            let json = serde_json::to_string(&body).unwrap();
            assert_eq!(EventBody::from_log_json(&json).unwrap(), body, "{json}");
        }
    }

    #[test]
    fn the_log_reader_answers_odd_bodies_as_serde_does() {
        for json in [
            r#"{"point_id":3,"resident_id":7,"type":"resident_sampled"}"#,
            r#"{"type":"resident_sampled","resident_id":7,"point_id":3,"extra":1}"#,
            r#"{"type":"resident_sampled","resident_id":7}"#,
            r#"{"type":"resident_sampled","resident_id":7,"point_id":3,"at_home":null}"#,
            r#"{"type":"resident_sampled","resident_id":7,"point_id":3,"tube":null}"#,
            r#"{"type":"resident_sampl\u0065d","resident_id":7,"point_id":3}"#,
            r#"{"type":"resident_sampled","type":"resident_sampled","resident_id":7,"point_id":3}"#,
            r#"{"type":"exemption_cleared","resident_id":7,"point_id":3}"#,
            r#"{"type":"action_opened","resident_id":7,"point_id":3}"#,
            r#"{"resident_id":7,"point_id":3}"#,
            "not json",
        ] {
            let (fast, plain) = both(json);
            assert_eq!(fast.is_ok(), plain.is_ok(), "{json}: {fast:?} / {plain:?}");
            if let (Ok(fast), Ok(plain)) = (fast, plain) {
                assert_eq!(fast, plain, "{json}");
            }
        }
    }
}
