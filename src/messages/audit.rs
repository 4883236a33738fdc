//! What the audit log says on the admin page: each act's label, and its detail in the
//! reader's language.
//!
//! An entry is stored as its act's code (`what`, stable across versions) and the act's
//! facts as JSON (`detail`: ids, roles, areas, what changed; never a name, a phone or an ID
//! number), so the words are chosen when the log is read, not when it was written. Entries
//! written before the facts were stored hold an English sentence: they are shown as they are.

use super::pick;
use super::{Lang, role_name};
use crate::roster::{HouseholdId, NodeId, PointId, ResidentId, Role, Roster, StaffId};
use serde::{Deserialize, Serialize};

/// The acts the audit log records, each with its facts.
/// [`Auth::audit`](crate::auth::Auth::audit) takes one, so an act with no words cannot be
/// recorded. Serialised as the two columns: `what` (the code) and `detail` (the facts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", content = "detail", rename_all = "snake_case")]
pub enum Audited {
    /// Full phone numbers were shown.
    ReadPhones {
        list: PhoneList,
    },
    /// The caller became the first administrator with the start-up setup link.
    FirstAdmin {},
    ChangeStaff {
        staff: StaffId,
        role: Change<Role>,
        nodes: Change<Vec<NodeId>>,
        point: Change<Option<PointId>>,
        /// Whether the name or the phone changed (neither is written here).
        renamed: bool,
    },
    PairingCode {
        staff: StaffId,
    },
    SetPassword {
        staff: StaffId,
    },
    /// A device of `staff` was signed out.
    RevokeSession {
        staff: StaffId,
    },
    AddStaff {
        staff: StaffId,
        role: Role,
        nodes: Vec<NodeId>,
        point: Option<PointId>,
    },
    RetireStaff {
        staff: StaffId,
        role: Role,
    },
    AddPoint {
        point: PointId,
        nodes: Vec<NodeId>,
    },
    ChangePoint {
        point: PointId,
        nodes: Change<Vec<NodeId>>,
        /// Whether the name or the place changed.
        renamed: bool,
    },
    RetirePoint {
        point: PointId,
    },
    /// An outbound channel (a chat group's robot, a webhook) was added to an area. Never
    /// its URL (it may carry the robot's key) nor its secret.
    AddChannel {
        channel: i64,
        node: NodeId,
        kind: crate::notify::Kind,
    },
    RemoveChannel {
        channel: i64,
        node: NodeId,
        kind: crate::notify::Kind,
    },
    /// A channel's group was set to get the hourly progress summary, or not.
    ChannelSummary {
        channel: i64,
        node: NodeId,
        on: bool,
    },
    /// Household cards were printed (their residents' names and masked ID numbers, and
    /// grid members' phones): `households` of them, or the one `household`.
    PrintCards {
        households: usize,
        household: Option<HouseholdId>,
    },
    /// A lost card was replaced: the household's whole card, or one resident's code on it.
    /// `replaced` old codes answer "reissued" from now on.
    ReissueCard {
        household: HouseholdId,
        resident: Option<ResidentId>,
        replaced: u64,
    },
    /// The clerk's decision on a walk-in of an action (named by their first sample).
    DecideWalkIn {
        action: i64,
        walk_in: i64,
        resolution: crate::action::Resolution,
        resident: Option<ResidentId>,
    },
}

/// Which list showed full phone numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneList {
    Staff,
    /// A missing list, with how many whole numbers it showed.
    Missing {
        action: i64,
        phones: usize,
    },
    /// The households of a phone's list, with how many whole numbers it showed.
    Households {
        action: i64,
        phones: usize,
    },
    /// The people a positive tube flagged (or a tube's people), and their households.
    Flagged {
        action: i64,
        phones: usize,
    },
    /// Who was called up and who has answered.
    CallUps {
        action: i64,
        phones: usize,
    },
    /// The chain of command: who escalations climbed from and to, substitutes, sign-offs.
    Chain {
        action: i64,
        phones: usize,
    },
}

/// A value before and after a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change<T> {
    pub from: T,
    pub to: T,
}

impl<T: PartialEq> Change<T> {
    pub fn new(from: T, to: T) -> Self {
        Self { from, to }
    }

    fn changed(&self) -> bool {
        self.from != self.to
    }
}

/// `(code, 中文, English)` of each act: its label.
const LABELS: &[(&str, &str, &str)] = &[
    ("read_phones", "查看了完整电话号码", "read full phone numbers"),
    ("first_admin", "设为第一位管理员", "became the first administrator"),
    ("change_staff", "修改了工作人员的角色或区域", "changed a staff member's role or area"),
    ("pairing_code", "生成了配对码", "made a pairing code"),
    ("set_password", "设置了密码", "set a password"),
    ("revoke_session", "注销了一台设备", "revoked a device"),
    ("add_staff", "添加了工作人员", "added a staff member"),
    ("retire_staff", "停用了工作人员", "took a staff member off duty"),
    ("add_point", "添加了采样点", "opened a sampling point"),
    ("change_point", "修改了采样点", "changed a sampling point"),
    ("retire_point", "关闭了采样点", "closed a sampling point"),
    ("add_channel", "添加了消息通道", "added a message channel"),
    ("remove_channel", "删除了消息通道", "removed a message channel"),
    ("channel_summary", "修改了消息通道的每小时进度", "changed a message channel's hourly summary"),
    ("print_cards", "打印了户卡", "printed household cards"),
    ("reissue_card", "补办了户卡", "reissued a household card"),
    ("decide_walk_in", "处理了外来人员", "decided on a walk-in"),
];

impl Audited {
    /// The `what` stored and sent: stable, English, machine-readable (serde's tag).
    pub fn code(&self) -> &'static str {
        match self {
            Audited::ReadPhones { .. } => "read_phones",
            Audited::FirstAdmin {} => "first_admin",
            Audited::ChangeStaff { .. } => "change_staff",
            Audited::PairingCode { .. } => "pairing_code",
            Audited::SetPassword { .. } => "set_password",
            Audited::RevokeSession { .. } => "revoke_session",
            Audited::AddStaff { .. } => "add_staff",
            Audited::RetireStaff { .. } => "retire_staff",
            Audited::AddPoint { .. } => "add_point",
            Audited::ChangePoint { .. } => "change_point",
            Audited::RetirePoint { .. } => "retire_point",
            Audited::AddChannel { .. } => "add_channel",
            Audited::RemoveChannel { .. } => "remove_channel",
            Audited::ChannelSummary { .. } => "channel_summary",
            Audited::PrintCards { .. } => "print_cards",
            Audited::ReissueCard { .. } => "reissue_card",
            Audited::DecideWalkIn { .. } => "decide_walk_in",
        }
    }

    /// The `detail` stored: the facts as JSON.
    pub fn facts(&self) -> String {
        let mut both = serde_json::to_value(self).expect("an act serialises");
        both["detail"].take().to_string()
    }

    /// The act a stored entry records; `None` for a free-text detail (written before the
    /// facts were stored) or a code this version does not know.
    pub fn read(what: &str, detail: &str) -> Option<Audited> {
        let facts: serde_json::Value = serde_json::from_str(detail).ok()?;
        serde_json::from_value(serde_json::json!({ "what": what, "detail": facts })).ok()
    }

    /// The facts in words, naming staff, points and areas as `roster` knows them.
    pub fn detail(&self, roster: &Roster, lang: Lang) -> String {
        let names = Names { roster, lang };
        match self {
            Audited::ReadPhones { list: PhoneList::Staff } => pick!(lang, "工作人员名单", "the staff list"),
            Audited::ReadPhones { list: PhoneList::Missing { action, phones } } => pick!(
                lang,
                "行动 {action} 的未采样名单：{phones} 个电话号码",
                "the missing list of action {action}: {phones} phone numbers"
            ),
            Audited::ReadPhones { list: PhoneList::Households { action, phones } } => pick!(
                lang,
                "行动 {action} 的户列表：{phones} 个电话号码",
                "the households of action {action}: {phones} phone numbers"
            ),
            Audited::ReadPhones { list: PhoneList::CallUps { action, phones } } => pick!(
                lang,
                "行动 {action} 的召集回复名单：{phones} 个电话号码",
                "who answered the call-ups of action {action}: {phones} phone numbers"
            ),
            Audited::ReadPhones { list: PhoneList::Chain { action, phones } } => pick!(
                lang,
                "行动 {action} 的上报与交接名单：{phones} 个电话号码",
                "the escalations and handovers of action {action}: {phones} phone numbers"
            ),
            Audited::ReadPhones { list: PhoneList::Flagged { action, phones } } => pick!(
                lang,
                "行动 {action} 的阳性混管待复核名单：{phones} 个电话号码",
                "the people flagged by a positive tube in action {action}: {phones} phone numbers"
            ),
            Audited::FirstAdmin {} => {
                pick!(lang, "用启动时打印的设置链接", "with the setup link printed at start-up")
            }
            Audited::ChangeStaff { staff, role, nodes, point, renamed } => {
                let who = names.staff(*staff);
                let mut changes = Vec::new();
                if role.changed() {
                    let (from, to) = (role_name(role.from, lang), role_name(role.to, lang));
                    changes.push(pick!(lang, "角色 {from} → {to}", "role {from} → {to}"));
                }
                if nodes.changed() {
                    let (from, to) = (names.nodes(&nodes.from), names.nodes(&nodes.to));
                    changes.push(pick!(lang, "区域 {from} → {to}", "areas {from} → {to}"));
                }
                if point.changed() {
                    let (from, to) = (names.maybe_point(point.from), names.maybe_point(point.to));
                    changes.push(pick!(lang, "采样点 {from} → {to}", "point {from} → {to}"));
                }
                if *renamed {
                    changes.push(pick!(lang, "改了姓名或电话", "name or phone changed"));
                }
                let changes = join(changes, pick!(lang, "；", "; "), pick!(lang, "没有改动", "no change"));
                pick!(lang, "{who}：{changes}", "{who}: {changes}")
            }
            Audited::PairingCode { staff } | Audited::SetPassword { staff } => {
                let who = names.staff(*staff);
                pick!(lang, "给 {who}", "for {who}")
            }
            Audited::RevokeSession { staff } => {
                let who = names.staff(*staff);
                pick!(lang, "{who} 的一台设备", "a device of {who}")
            }
            Audited::AddStaff { staff, role, nodes, point } => {
                let (who, role) = (names.staff(*staff), role_name(*role, lang));
                let mut said = pick!(lang, "{who}，{role}", "{who}, {role}");
                if !nodes.is_empty() {
                    let nodes = names.nodes(nodes);
                    said.push_str(&pick!(lang, "，负责 {nodes}", ", for {nodes}"));
                }
                if let Some(point) = point {
                    let point = names.point(*point);
                    said.push_str(&pick!(lang, "，在 {point}", ", at {point}"));
                }
                said
            }
            Audited::RetireStaff { staff, role } => {
                let (who, role) = (names.staff(*staff), role_name(*role, lang));
                pick!(lang, "{who}，{role}", "{who}, {role}")
            }
            Audited::AddPoint { point, nodes } => {
                let (point, nodes) = (names.point(*point), names.nodes(nodes));
                pick!(lang, "{point}，服务 {nodes}", "{point}, serving {nodes}")
            }
            Audited::ChangePoint { point, nodes, renamed } => {
                let point = names.point(*point);
                let mut changes = Vec::new();
                if nodes.changed() {
                    let (from, to) = (names.nodes(&nodes.from), names.nodes(&nodes.to));
                    changes.push(pick!(lang, "服务区域 {from} → {to}", "serves {from} → {to}"));
                }
                if *renamed {
                    changes.push(pick!(lang, "改了名称或地点", "name or place changed"));
                }
                let changes = join(changes, pick!(lang, "；", "; "), pick!(lang, "没有改动", "no change"));
                pick!(lang, "{point}：{changes}", "{point}: {changes}")
            }
            Audited::RetirePoint { point } => names.point(*point),
            Audited::AddChannel { channel, node, kind } | Audited::RemoveChannel { channel, node, kind } => {
                let (node, kind) = (names.nodes(&[*node]), super::channel_kind_name(*kind, lang));
                pick!(lang, "{node}的{kind}（通道 {channel}）", "{kind} of {node} (channel {channel})")
            }
            Audited::ChannelSummary { channel, node, on } => {
                let node = names.nodes(&[*node]);
                match on {
                    true => pick!(
                        lang,
                        "{node}的通道 {channel}：发送每小时进度",
                        "channel {channel} of {node}: hourly summary on"
                    ),
                    false => pick!(
                        lang,
                        "{node}的通道 {channel}：不再发送每小时进度",
                        "channel {channel} of {node}: hourly summary off"
                    ),
                }
            }
            Audited::PrintCards { household: Some(h), .. } => names.household(*h),
            Audited::PrintCards { households, household: None } => {
                pick!(lang, "{households} 户", "{households} households")
            }
            Audited::ReissueCard { household, resident: None, replaced } => {
                let household = names.household(*household);
                pick!(
                    lang,
                    "{household}：整户换新卡，{replaced} 个旧码作废",
                    "{household}: a new card for the whole household, {replaced} old codes void"
                )
            }
            Audited::DecideWalkIn { action, walk_in, resolution, resident } => {
                use crate::action::Resolution;
                let who = resident.map(|r| names.resident(r)).unwrap_or_default();
                match resolution {
                    Resolution::Confirmed => pick!(
                        lang,
                        "行动 {action} 的外来人员（位置 {walk_in}）确认入册为 {who}",
                        "the walk-in at position {walk_in} of action {action} confirmed onto the roster as {who}"
                    ),
                    Resolution::Merged => pick!(
                        lang,
                        "行动 {action} 的外来人员（位置 {walk_in}）合并为 {who}",
                        "the walk-in at position {walk_in} of action {action} merged with {who}"
                    ),
                    Resolution::Rejected => pick!(
                        lang,
                        "行动 {action} 的外来人员（位置 {walk_in}）驳回",
                        "the walk-in at position {walk_in} of action {action} rejected"
                    ),
                }
            }
            Audited::ReissueCard { household, resident: Some(r), replaced } => {
                let household = names.household(*household);
                pick!(
                    lang,
                    "{household}：村民 #{r} 换新码，{replaced} 个旧码作废",
                    "{household}: a new code for resident #{r}, {replaced} old codes void"
                )
            }
        }
    }
}

/// The label for a stored `what`; a code this version does not know (written by a newer
/// one) is shown as it is.
pub fn label(what: &str, lang: Lang) -> String {
    match LABELS.iter().find(|(code, _, _)| *code == what) {
        Some((_, zh, en)) => match lang {
            Lang::Zh => (*zh).to_owned(),
            Lang::En => (*en).to_owned(),
        },
        None => what.to_owned(),
    }
}

/// The detail of a stored entry in `lang`: the act's facts in words, or, for an entry
/// written before facts were stored (or by a newer version), the text as it is.
pub fn detail(what: &str, detail: &str, roster: &Roster, lang: Lang) -> String {
    Audited::read(what, detail).map_or_else(|| detail.to_owned(), |act| act.detail(roster, lang))
}

/// Every act's code, for the test that each has its words and a sample.
#[cfg(test)]
pub(crate) fn codes() -> impl Iterator<Item = &'static str> {
    LABELS.iter().map(|(code, _, _)| *code)
}

/// Staff, points and areas by name and id, as the roster knows them now (a row since
/// deleted by an import is named by its id alone).
struct Names<'a> {
    roster: &'a Roster,
    lang: Lang,
}

impl Names<'_> {
    fn staff(&self, id: StaffId) -> String {
        let lang = self.lang;
        match self.roster.staff_member(id) {
            Some(s) => {
                let name = &s.name;
                pick!(lang, "{name}（#{id}）", "{name} (#{id})")
            }
            None => pick!(lang, "工作人员 #{id}", "staff member #{id}"),
        }
    }

    fn point(&self, id: PointId) -> String {
        let lang = self.lang;
        match self.roster.point(id) {
            Some(p) => {
                let name = &p.name;
                pick!(lang, "{name}（#{id}）", "{name} (#{id})")
            }
            None => pick!(lang, "采样点 #{id}", "point #{id}"),
        }
    }

    /// A resident by id only: the audit log names no resident (their name is personal data).
    fn resident(&self, id: ResidentId) -> String {
        pick!(self.lang, "村民 #{id}", "resident #{id}")
    }

    /// A household by its number (not its address: that is the residents').
    fn household(&self, id: HouseholdId) -> String {
        let lang = self.lang;
        match self.roster.household(id) {
            Some(h) => {
                let number = &h.number;
                pick!(lang, "户 {number}（#{id}）", "household {number} (#{id})")
            }
            None => pick!(lang, "户 #{id}", "household #{id}"),
        }
    }

    fn maybe_point(&self, id: Option<PointId>) -> String {
        id.map_or_else(|| pick!(self.lang, "无", "none"), |id| self.point(id))
    }

    fn nodes(&self, ids: &[NodeId]) -> String {
        let lang = self.lang;
        let named = ids.iter().map(|&id| match self.roster.node_idx(id) {
            Some(i) => self.roster.nodes()[i].name.clone(),
            None => pick!(lang, "区域 #{id}", "area #{id}"),
        });
        join(named.collect(), pick!(lang, "、", ", "), pick!(lang, "无", "none"))
    }
}

/// `parts` joined by `sep`, or `none` when there are none.
fn join(parts: Vec<String>, sep: String, none: String) -> String {
    if parts.is_empty() { none } else { parts.join(&sep) }
}
