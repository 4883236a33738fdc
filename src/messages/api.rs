//! What an API error says (`message`, `detail`), and what a refused event says (`errors[].message`).
//! One function per message, taking the specifics it names: the Chinese a clerk reads, then
//! the English. The HTTP layer chooses the function for each of its errors and hands it plain
//! data; nothing here knows HTTP.

use super::pick;
use super::{Lang, role_name};
use crate::roster::Role;
use crate::roster::import::Report;

/// What a `not_found` answer names (`action`, `staff member`, …).
fn thing(what: &str, lang: Lang) -> &str {
    match (lang, what) {
        (Lang::Zh, "action") => "行动",
        (Lang::Zh, "staff member") => "工作人员",
        (Lang::Zh, "session") => "登录设备",
        (Lang::Zh, "page") => "页面",
        (Lang::Zh, "point") => "采样点",
        (Lang::Zh, "area") => "区域",
        (Lang::Zh, "household") => "户",
        (Lang::Zh, _) => "对象",
        (Lang::En, what) => what,
    }
}

// ---- the `message` of each API error, by its `code`; `ApiError::message` picks the one
// for its variant and hands it the specifics (`crate::http::error`).

/// `unauthorized`.
pub fn unauthorized(lang: Lang) -> String {
    pick!(
        lang,
        "需要登录：请重新打开总网格长发给您的链接，或重新登录",
        "sign-in needed: open the link your chief sent you again"
    )
}

/// `forbidden`: names the caller's role (its code in English, which the API's clients know).
pub fn forbidden(role: Role, lang: Lang) -> String {
    let name = role_name(role, lang);
    let code = role.as_str();
    pick!(lang, "您的角色（{name}）不能做这件事", "your role ({code}) may not do this")
}

/// `phone_taken`: `other` is the staff member who has the phone.
pub fn phone_taken(other: i64, lang: Lang) -> String {
    pick!(
        lang,
        "工作人员 #{other} 已经用了这个电话号码：一个号码只能是一个人的",
        "staff member #{other} has this phone number already; one phone, one person"
    )
}

/// `point_name_taken`: `other` is the open point with the name.
pub fn point_name_taken(other: i64, lang: Lang) -> String {
    pick!(
        lang,
        "采样点 #{other} 已经叫这个名字了：每个开着的采样点要有自己的名字",
        "sampling point #{other} has this name already; give each open point its own name"
    )
}

/// `last_admin`.
pub fn last_admin(lang: Lang) -> String {
    pick!(
        lang,
        "这是最后一位管理员：请先让另一个人成为管理员",
        "this is the last administrator; make someone else an administrator first"
    )
}

/// `pairing_code_invalid`.
pub fn pairing_code_invalid(lang: Lang) -> String {
    pick!(
        lang,
        "这个配对码已过期或已经用过：请找总网格长要一个新的",
        "this code has expired or was already used; ask your chief for a new one"
    )
}

/// `sign_in_failed`.
pub fn sign_in_failed(lang: Lang) -> String {
    pick!(lang, "手机号或密码不对", "the phone number or the password is wrong")
}

/// `too_many_attempts`.
pub fn too_many_attempts(seconds: u64, lang: Lang) -> String {
    pick!(lang, "试的次数太多了：请等 {seconds} 秒再试", "too many attempts; wait {seconds} seconds and try again")
}

/// `not_found`: `what` as the variant names it (`action`, `staff member`, …).
pub fn not_found(what: &str, id: &str, lang: Lang) -> String {
    let what = thing(what, lang);
    pick!(lang, "没有编号为 {id} 的{what}", "{what} {id} does not exist")
}

/// `method_not_allowed`.
pub fn method_not_allowed(method: &str, lang: Lang) -> String {
    pick!(
        lang,
        "这个地址不接受 {method} 请求；Allow 头里列出了它接受的方法",
        "{method} is not allowed on this address; the Allow header lists the methods it answers"
    )
}

/// `websocket_required`.
pub fn websocket_required(lang: Lang) -> String {
    pick!(
        lang,
        "这个地址是 WebSocket：请用 WebSocket 客户端连接（Upgrade: websocket）",
        "this address is a WebSocket: connect with a WebSocket client (Upgrade: websocket)"
    )
}

/// `invalid_json`: `why` is serde's account of where the JSON breaks (English).
pub fn invalid_json(why: &str, lang: Lang) -> String {
    pick!(lang, "请求正文不是合法的 JSON：{why}", "the request body is not valid JSON: {why}")
}

/// `invalid_field` for a path parameter; `whole`: it must be a whole number.
pub fn invalid_path_param(field: &str, value: &str, whole: bool, lang: Lang) -> String {
    match (lang, whole) {
        (Lang::Zh, true) => format!("地址中的「{field}」应当是一个整数（如 12，64 位以内），而不是 {value:?}"),
        (Lang::Zh, false) => format!("地址中的「{field}」在这里不能是 {value:?}"),
        (Lang::En, true) => {
            format!("`{field}` in the address must be a whole number that fits in 64 bits (e.g. 12), not {value:?}")
        }
        (Lang::En, false) => format!("`{field}` in the address must be valid here, not {value:?}"),
    }
}

/// `invalid_field` for a query parameter: `problem` is serde's words.
pub fn invalid_query_param(field: &str, problem: &str, lang: Lang) -> String {
    pick!(lang, "查询参数「{field}」不对：{problem}", "query parameter `{field}`: {problem}")
}

/// `invalid_field` for a body that is JSON but not an object.
pub fn not_an_object(lang: Lang) -> String {
    pick!(
        lang,
        "请求正文必须是一个 JSON 对象（{{…}}），包含这个请求需要的字段",
        "the body must be a JSON object ({{…}}) with the fields this request takes"
    )
}

/// `invalid_field` for the nil UUID as an event id.
pub fn nil_event_id(lang: Lang) -> String {
    pick!(
        lang,
        "事件编号是全零的 UUID：每个事件都要新生成一个 UUID（v7）",
        "the event id is the nil UUID: make a new UUID (v7) for every event"
    )
}

/// `invalid_field` for a tube code: `shown` is what was scanned, cut short.
pub fn not_a_tube(shown: &str, max: usize, lang: Lang) -> String {
    pick!(
        lang,
        "{shown:?} 不是试管编码：应为 1 到 {max} 个字母、数字或 -_./；请重新扫试管，或不填",
        "tube {shown:?} is not a tube code: 1 to {max} letters, digits or -_./; scan the tube again, or leave tube out"
    )
}

/// `note_too_long`: a tick's note past `max` characters.
pub fn note_too_long(max: usize, lang: Lang) -> String {
    pick!(
        lang,
        "备注太长了：最多 {max} 个字，请写简短些",
        "the note is too long: at most {max} characters; make it shorter"
    )
}

/// `invalid_field` for a device time ahead of the server's.
pub fn device_time_ahead(lang: Lang) -> String {
    pick!(
        lang,
        "device_time 比服务器时间快了一天以上：请检查手机的时钟",
        "device_time is more than a day ahead of the server: check the phone's clock"
    )
}

/// `invalid_field` for a device time before the action was planned.
pub fn device_time_before_plan(planned: time::Date, lang: Lang) -> String {
    pick!(
        lang,
        "device_time 早于这次行动的计划日期（{planned}）：请检查手机的日期和时钟",
        "device_time is before this action was planned (on {planned}): check the phone's date and clock"
    )
}

/// `invalid_field` for a planned close before the planned open.
pub fn close_before_open(lang: Lang) -> String {
    pick!(lang, "计划结束时间必须晚于计划开始时间", "planned_close must be after planned_open")
}

/// `body_too_large` for a batch of events.
pub fn body_too_large(limit: usize, lang: Lang) -> String {
    pick!(
        lang,
        "请求正文超过了 {limit} 字节：每次少发一些事件",
        "the request body is larger than {limit} bytes; send fewer events per request"
    )
}

/// `body_too_large` for a roster file.
pub fn sheet_too_large(limit: usize, lang: Lang) -> String {
    pick!(
        lang,
        "花名册文件超过了 {limit} 字节：另存时去掉图片和无关的工作表",
        "the roster file is larger than {limit} bytes; save it without pictures or other sheets"
    )
}

/// `events_rejected`: `n` events refused (each says why in [`rejection`]).
pub fn rejected_batch(n: usize, lang: Lang) -> String {
    pick!(lang, "有 {n} 个事件被拒绝，什么都没有记录", "{n} of the events were refused; nothing was recorded")
}

/// `event_id_reused` for an id used in another action.
pub fn id_reused(index: usize, client_id: uuid::Uuid, action_id: i64, lang: Lang) -> String {
    pick!(
        lang,
        "事件编号 {client_id}（第 {index} 个事件）已经在行动 {action_id} 中用过：新的事件要用新的编号",
        "event id {client_id} (event {index}) was already used in action {action_id}; make a new id for a new event"
    )
}

/// `event_id_reused` for an id used for a different event in this action.
pub fn id_reused_otherwise(index: usize, client_id: uuid::Uuid, lang: Lang) -> String {
    pick!(
        lang,
        "事件编号 {client_id}（第 {index} 个事件）已经用于另一个事件：重发必须是一模一样的事件，新的事件要用新的编号",
        "event id {client_id} (event {index}) was already used for a different event; a resend must be \
         the same event, byte for byte: make a new id for a new event"
    )
}

/// `roster_invalid`: `n` problems (each says what and how to fix it in [`super::import`]).
pub fn roster_invalid(n: usize, lang: Lang) -> String {
    pick!(
        lang,
        "花名册里有 {n} 个问题，什么都没有导入：请在表格中改正后重新导入",
        "the roster sheet has {n} problem(s); nothing was imported: fix them in the sheet and import it again"
    )
}

/// `removals_unconfirmed`: what the import would remove, to be confirmed by its total.
pub fn removals_unconfirmed(report: &Report, lang: Lang) -> String {
    let (total, r, h, s, p) = (
        report.removals.total,
        report.residents.removed,
        report.households.removed,
        report.staff.removed,
        report.points.removed,
    );
    pick!(
        lang,
        "这次导入会删除 {total} 行：村民 {r} 人、{h} 户，工作人员 {s} 人，采样点 {p} 个。\
         请核对后，带上 confirm_removals={total} 再导入一次",
        "this import would remove {total} row(s): {r} residents, {h} households, {s} staff, {p} sampling points; \
         check them, then import again with confirm_removals={total}"
    )
}

/// How many characters a household card's code has, as the catalogue says it: the
/// catalogue imports nothing above it, and `cards`' tests hold this to `cards::CODE_LEN`.
pub const CARD_CODE_LEN: usize = 16;

/// `malformed_code`: what was given is not a card code at all (the wrong length, or a
/// letter no code has). The code itself is not repeated: it may be someone's card.
pub fn malformed_code(length: Option<usize>, lang: Lang) -> String {
    let n = CARD_CODE_LEN;
    match length {
        Some(got) => pick!(
            lang,
            "这不是户卡上的码：户卡码是 {n} 位字母和数字（如 ABCD-EFGH-JKMN-PQRS），这里是 {got} 位。请重新扫码，或按姓名、身份证号查找",
            "this is not a household card code: a card code has {n} letters and digits (like ABCD-EFGH-JKMN-PQRS), this has {got}. Scan again, or search by name or ID number"
        ),
        None => pick!(
            lang,
            "这不是户卡上的码：户卡码只有数字和大写字母（没有 I、L、O、U）。请重新扫码，或按姓名、身份证号查找",
            "this is not a household card code: a card code has only digits and capital letters (no I, L, O or U). Scan again, or search by name or ID number"
        ),
    }
}

/// `unknown_code`: well formed, but no card of this village has it.
pub fn unknown_code(lang: Lang) -> String {
    pick!(
        lang,
        "没有这张卡：这个码不是本村户卡上的码（或这户已不在花名册上）。请按姓名、身份证号或户号查找",
        "no such card: this code is not on any household card of this roster (or the household has left it). Search by name, ID number or household number"
    )
}

/// `code_reissued`: the card was replaced (lost, reissued); the old one names nobody.
pub fn code_reissued(lang: Lang) -> String {
    pick!(
        lang,
        "这张卡已经补办过，旧卡作废：请居民出示新卡，或按姓名查找",
        "this card was replaced by a new one and no longer counts: ask for the new card, or search by name"
    )
}

pub fn unavailable(lang: Lang) -> String {
    pick!(
        lang,
        "数据库暂时不可用，什么都没有记录：请稍后再试",
        "the database is not available; nothing was recorded, try again shortly"
    )
}

/// `internal`: opaque; the cause is in the server's log.
pub fn internal(lang: Lang) -> String {
    pick!(lang, "服务器内部出错，已记录在日志中", "internal error; it has been logged")
}

/// The words of each refused event (`action::Rejection::message` picks them), by the
/// specifics each names.
pub mod rejected {
    use super::{Lang, pick};

    /// `UnknownResident`.
    pub fn unknown_resident(id: i64, lang: Lang) -> String {
        pick!(
            lang,
            "花名册上没有编号为 {id} 的村民：请核对扫到的码",
            "resident {id} is not on the roster; check the code that was scanned"
        )
    }

    /// `UnknownIdNumber`.
    pub fn unknown_id_number(lang: Lang) -> String {
        pick!(
            lang,
            "花名册上没有这个身份证号：请核对证件，或把这个人加进花名册",
            "no resident on the roster has this ID number; check the card, or add them to the roster"
        )
    }

    /// `OutOfScope`.
    pub fn out_of_scope(id: i64, lang: Lang) -> String {
        pick!(
            lang,
            "村民 {id} 不在这次行动的范围内：请让他到自己网格的采样点采样",
            "resident {id} lives outside the area this action covers; send them to the point serving their own grid"
        )
    }

    /// `Removed`.
    pub fn removed(id: i64, lang: Lang) -> String {
        pick!(
            lang,
            "村民 {id} 已从花名册删除：如果人回来了，请把他加回花名册后重新导入",
            "resident {id} was removed from the roster; if they are back, add them to the roster sheet and import it again"
        )
    }

    /// `UnknownPoint`.
    pub fn unknown_point(id: i64, lang: Lang) -> String {
        pick!(lang, "采样点 {id} 不参加这次行动", "sampling point {id} does not take part in this action")
    }

    /// `NotOpen`.
    pub fn not_open(lang: Lang) -> String {
        pick!(lang, "行动还没有开始：请先开始行动", "the action has not been opened yet; open it first")
    }

    /// `Closed`.
    pub fn closed(lang: Lang) -> String {
        pick!(lang, "行动已经结束，不能再记录了", "the action is closed; nothing more can be recorded in it")
    }

    /// `AlreadyOpen`.
    pub fn already_open(lang: Lang) -> String {
        pick!(lang, "行动已经开始了", "the action is already open")
    }

    /// `NotCorrectable`.
    pub fn not_correctable(seq: i64, lang: Lang) -> String {
        pick!(
            lang,
            "第 {seq} 号事件不是可以更正的采样记录（不存在，或已经更正过）",
            "event {seq} is not a sample that can be corrected (unknown, or already corrected)"
        )
    }

    /// `EmptyReason`.
    pub fn empty_reason(lang: Lang) -> String {
        pick!(lang, "更正要写明原因", "a correction needs a reason")
    }

    /// `AwayIsAnExemption`.
    pub fn away_is_an_exemption(lang: Lang) -> String {
        pick!(
            lang,
            "外出请登记为免检（原因：外出，备注写去了哪里），不用勾选",
            "record away as an exemption (reason away, where in the note), not as a tick"
        )
    }

    /// `UnknownHousehold`.
    pub fn unknown_household(id: i64, lang: Lang) -> String {
        pick!(
            lang,
            "花名册上没有编号为 {id} 的户：请刷新页面后再试",
            "household {id} is not on the roster; reload the page and try again"
        )
    }

    /// `HouseholdOutOfScope`.
    pub fn household_out_of_scope(id: i64, lang: Lang) -> String {
        pick!(lang, "户 {id} 没有人在这次行动的范围内", "nobody of household {id} is in the area this action covers")
    }

    /// `NoVisitPending`.
    pub fn no_visit_pending(id: i64, lang: Lang) -> String {
        pick!(
            lang,
            "村民 {id} 现在不需要上门采样（已采样，或没有标记卧床）",
            "resident {id} is not waiting for a home visit (sampled already, or not marked bedridden)"
        )
    }

    /// `VisitAlreadyTaken`.
    pub fn visit_already_taken(id: i64, lang: Lang) -> String {
        pick!(
            lang,
            "村民 {id} 的上门采样已经有医护人员接了",
            "another medic has already taken the home visit of resident {id}"
        )
    }

    /// `OnTheRoster`.
    pub fn on_the_roster(id: i64, lang: Lang) -> String {
        pick!(
            lang,
            "这个身份证号已在花名册上（村民 {id}），请直接按村民采样，不用登记外来人员",
            "this ID number is on the roster (resident {id}): sample the resident, no walk-in registration needed"
        )
    }

    /// `UnknownTube`.
    pub fn unknown_tube(tube: &str, lang: Lang) -> String {
        pick!(
            lang,
            "没有编号为 {tube} 的试管：请先扫试管条码开管，或核对条码",
            "there is no tube {tube}: scan the tube's barcode to open it first, or check the code"
        )
    }

    /// `TubeAtAnotherPoint`.
    pub fn tube_at_another_point(tube: &str, lang: Lang) -> String {
        pick!(lang, "试管 {tube} 是别的采样点开的，不能在这里装样", "tube {tube} was opened at another point")
    }

    /// `TubeClosed`.
    pub fn tube_closed(tube: &str, lang: Lang) -> String {
        pick!(lang, "试管 {tube} 已封管，不能再装人：请开一支新管", "tube {tube} is closed: open a new tube")
    }

    /// `TubeFull`.
    pub fn tube_full(tube: &str, size: u8, lang: Lang) -> String {
        pick!(
            lang,
            "试管 {tube} 已装满 {size} 人（{size}合1），请开一支新管",
            "tube {tube} already holds {size} people ({size} in 1): open a new tube"
        )
    }

    /// `InAnotherTube`.
    pub fn in_another_tube(tube: &str, lang: Lang) -> String {
        pick!(
            lang,
            "此人已在未封的试管 {tube} 里，同一个人不能同时在两支管里",
            "this person is already in the open tube {tube}: nobody is in two open tubes"
        )
    }

    /// `TubeExists`.
    pub fn tube_exists(tube: &str, lang: Lang) -> String {
        pick!(lang, "试管 {tube} 已经开过了，请换一支新管", "tube {tube} was opened already: use a new tube")
    }

    /// `BadTubeSize`.
    pub fn bad_tube_size(size: u8, lang: Lang) -> String {
        pick!(
            lang,
            "试管只能是单管，或5合1、10合1、20合1；{size} 不行",
            "a tube holds 1, 5, 10 or 20 people, not {size}"
        )
    }

    /// `RetestNeedsSingleTube`.
    pub fn retest_needs_single_tube(id: i64, lang: Lang) -> String {
        pick!(
            lang,
            "村民 {id} 所在混管阳性，需单管复核：请开单管（1人）采样",
            "resident {id} was in a positive pooled tube: the re-test is a single tube (size 1)"
        )
    }

    /// `ResultAlreadyEntered`.
    pub fn result_already_entered(tube: &str, lang: Lang) -> String {
        pick!(
            lang,
            "试管 {tube} 已录入了不同的检测结果；如录错，请联系总网格长更正",
            "tube {tube} already has a different result; if it was entered wrongly, ask the chief to correct it"
        )
    }

    /// `UnknownWalkIn`.
    pub fn unknown_walk_in(seq: i64, lang: Lang) -> String {
        pick!(lang, "位置 {seq} 不是一条外来人员登记", "position {seq} is not a walk-in's registration")
    }

    /// `WalkInAlreadyResolved`.
    pub fn walk_in_already_resolved(seq: i64, lang: Lang) -> String {
        pick!(lang, "位置 {seq} 的外来人员已经处理过了", "the walk-in at position {seq} was already decided on")
    }

    /// `EmptyCallUp`.
    pub fn empty_call_up(lang: Lang) -> String {
        pick!(
            lang,
            "这次召集找不到人：所选区域里没有这些角色的在岗人员。请换个区域或角色",
            "this call-up reaches nobody: no staff on duty of those roles in those areas; choose other areas or roles"
        )
    }

    /// `UnknownCallUp`.
    pub fn unknown_call_up(seq: i64, lang: Lang) -> String {
        pick!(lang, "位置 {seq} 不是一次召集", "position {seq} is not a call-up")
    }

    /// `ChaseAlreadyStarted`.
    pub fn chase_already_started(lang: Lang) -> String {
        pick!(lang, "追查已经开始了，不用再点", "the chase has started already")
    }

    /// `NotOverdue`.
    pub fn not_overdue(lang: Lang) -> String {
        pick!(
            lang,
            "这一项已不再逾期（已采样、已免检或已回复），不再上报",
            "this is no longer overdue (sampled, exempt or answered): nothing to escalate"
        )
    }

    /// `AlreadyEscalated`.
    pub fn already_escalated(level: u8, lang: Lang) -> String {
        pick!(lang, "这一项已经上报到第 {level} 级了", "this has been escalated to level {level} already")
    }

    /// `UnknownStaff`.
    pub fn unknown_staff(id: i64, lang: Lang) -> String {
        pick!(lang, "没有编号为 {id} 的在岗人员", "there is no staff member on duty with id {id}")
    }

    /// `UnknownNode`.
    pub fn unknown_node(id: i64, lang: Lang) -> String {
        pick!(lang, "没有编号为 {id} 的网格", "there is no area with id {id}")
    }

    /// `ResolutionNeedsResident`.
    pub fn resolution_needs_resident(lang: Lang) -> String {
        pick!(
            lang,
            "确认或合并外来人员时，要写明对应的村民（resident_id）",
            "confirming or merging a walk-in names the resident they are (resident_id)"
        )
    }
}

/// What an `invalid_field` or `out_of_your_scope` answer says about the one field or area
/// it names (the `Said` of `ApiError::InvalidField` and `ApiError::OutOfScope`).
pub mod field {
    use crate::messages::Said;
    use crate::messages::said;

    /// A field serde could not read: its words (English; they quote the JSON) in our frame.
    pub fn unreadable(field: &str, problem: &str) -> Said {
        said!("「{field}」字段不对：{problem}", "field `{field}`: {problem}")
    }

    pub fn visit_minutes() -> Said {
        said!("上门采样的等待时间要在 1 到 1440 分钟之间", "the wait for a home visit must be 1 to 1440 minutes")
    }

    pub fn cursor() -> Said {
        said!("cursor 必须是上一页返回的 next 值", "cursor must be the `next` value of the previous page")
    }

    pub fn no_such_node(n: i64) -> Said {
        said!("花名册里没有编号为 {n} 的区域", "area node {n} is not in the roster")
    }

    pub fn no_such_point(p: i64) -> Said {
        said!("花名册里没有编号为 {p} 的采样点", "sampling point {p} is not in the roster")
    }

    pub fn node_outside_yours(n: i64) -> Said {
        said!("区域 {n} 不在您负责的范围内", "area node {n} is outside the area you answer for")
    }

    pub fn action_outside_yours() -> Said {
        said!(
            "这次行动包含您负责范围以外的区域：由行动的总网格长来开始和结束",
            "this action covers areas outside yours; its chief opens and closes it"
        )
    }

    pub fn other_point(point: i64) -> Said {
        said!(
            "您只能为自己的采样点记录采样，不能为采样点 {point} 记录",
            "you record samples for your own point, not point {point}"
        )
    }

    pub fn household_outside_yours(household: i64) -> Said {
        said!("户 {household} 不在您负责的范围内", "household {household} is not in the area you answer for")
    }

    pub fn resident_not_in_household(resident: i64, household: i64) -> Said {
        said!("村民 {resident} 不在户 {household} 里", "resident {resident} does not live in household {household}")
    }

    pub fn resident_outside_yours(resident: i64) -> Said {
        said!("村民 {resident} 不在您负责的范围内", "resident {resident} is not in the area you answer for")
    }

    pub fn sample_of_other_point(seq: i64) -> Said {
        said!(
            "第 {seq} 号采样是在别的采样点采的：由那个采样点的采样员来更正",
            "sample {seq} was taken at another point; its operator corrects it"
        )
    }

    pub fn action_name() -> Said {
        said!("请给行动起个名字，如 第3轮全员核酸", "give the action a name, e.g. 第3轮全员核酸")
    }

    pub fn action_scope() -> Said {
        said!("至少写一个这次行动包含的区域", "name at least one area node the action covers")
    }

    pub fn id_number_read(e: &crate::roster::IdNumberError) -> Said {
        let (problem, _) = crate::messages::import::id_invalid(e);
        let (zh, en) = (problem.zh, problem.en);
        said!(
            "读到的身份证号不对：{zh}；请重新扫描或手动输入",
            "the ID number read is not valid: {en}; scan again or type it"
        )
    }

    /// A decision on a walk-in without what it needs: `household_id` to confirm them into,
    /// `resident_id` to merge them with.
    pub fn required(name: &str) -> Said {
        let (zh, en) = match name {
            "household_id" => (
                "确认入册时要选他们住进哪一户（household_id）",
                "confirming needs the household they join (household_id)",
            ),
            _ => ("合并时要选他们是哪一位村民（resident_id）", "merging needs the resident they are (resident_id)"),
        };
        said!("{zh}", "{en}")
    }

    pub fn walk_in_decided_on_its_own() -> Said {
        said!(
            "外来人员的处理（确认入册、合并、驳回）请在外来人员页面办理（POST /api/actions/{{id}}/walk-ins/{{seq}}），会记入审计日志",
            "decide on a walk-in (confirm, merge, reject) on the walk-ins page (POST /api/actions/{{id}}/walk-ins/{{seq}}), which is audited"
        )
    }

    pub fn node_ids() -> Said {
        said!("nodes 要写区域编号，用逗号分开（如 2,7）", "nodes must be area ids separated by commas (e.g. 2,7)")
    }

    pub fn action_ids() -> Said {
        said!("compare 要写行动编号，用逗号分开（如 3,5）", "compare must be action ids separated by commas (e.g. 3,5)")
    }

    pub fn report_format() -> Said {
        said!("报告格式要是 html、xlsx、csv 或 json 之一", "the report's format must be html, xlsx, csv or json")
    }

    pub fn not_comparable(other: i64, why: &str) -> Said {
        let why_zh = match why {
            "it is of another kind" => "行动类型不同",
            "it is the same action" => "就是这一轮本身",
            _ => "两轮的区域没有重叠",
        };
        said!("行动 {other} 不能拿来对比：{why_zh}", "action {other} cannot be compared: {why}")
    }

    pub fn escalated_by_the_server() -> Said {
        said!(
            "上报（escalated）由系统在时限到了时自动记录，不能手工提交",
            "escalations are recorded by the server when a deadline passes, never by hand"
        )
    }

    pub fn escalation_minutes() -> Said {
        said!("每一级的时限要在 1 到 1440 分钟之间", "each level's time must be 1 to 1440 minutes")
    }

    pub fn handover_size(max: usize) -> Said {
        said!("一次交接要列出 1 到 {max} 户", "a handover names 1 to {max} households")
    }

    pub fn not_a_substitute(role: crate::roster::Role) -> Said {
        let role = role.as_str();
        said!(
            "只能交给网格员、网格长或总网格长代管，这位人员的角色是 {role}",
            "households can be handed only to a grid member, a grid head or the chief; this person is {role}"
        )
    }

    pub fn no_such_role(role: &str) -> Said {
        let shown: String = role.chars().take(20).collect();
        said!("没有「{shown}」这个角色", "there is no role \"{shown}\"")
    }

    pub fn call_up_text(max: usize) -> Said {
        said!("请写召集的内容（1 到 {max} 个字）", "write what the call-up says (1 to {max} characters)")
    }

    pub fn call_up_place(max: usize) -> Said {
        said!("集合地点和时间最多 {max} 个字", "the place and time to gather: at most {max} characters")
    }

    pub fn not_called_up(seq: i64) -> Said {
        said!(
            "位置 {seq} 的召集没有叫到您：只有被召集的人才能回复",
            "the call-up at position {seq} did not call you: only those called up answer it"
        )
    }

    pub fn walk_in_name(max: usize) -> Said {
        said!("请填写外来人员的姓名（最多 {max} 个字）", "write the walk-in's name (at most {max} characters)")
    }

    pub fn walk_in_stays_at(max: usize) -> Said {
        said!(
            "请填写外来人员今晚住在哪里（地址或投靠谁家，最多 {max} 个字）",
            "write where the walk-in stays tonight (an address or whose house, at most {max} characters)"
        )
    }

    pub fn waiting(max: u32) -> Said {
        said!("排队人数要在 0 到 {max} 之间", "the number waiting must be 0 to {max}")
    }

    pub fn one_of_resident_or_id() -> Said {
        said!(
            "resident_id（户卡）和 id_number（身份证）只能填一个，也必须填一个",
            "send exactly one of resident_id (household card) or id_number (ID card)"
        )
    }

    /// A sampling point's search (`/lookup?q=`) with nothing in it.
    pub fn lookup_empty() -> Said {
        said!(
            "请输入要找的人：身份证号、身份证后4到6位、姓名或户号",
            "say whom to find: an ID number, its last 4 to 6 digits, a name or a household number"
        )
    }

    pub fn lookup_too_long(max: usize) -> Said {
        said!(
            "搜索的内容太长了（最多 {max} 个字）：请只输入身份证号、姓名或户号",
            "the search is too long (at most {max} characters): give just an ID number, a name or a household number"
        )
    }

    pub fn password_short() -> Said {
        said!("密码至少要 10 个字符", "a password needs at least 10 characters")
    }

    pub fn name_length(max: usize) -> Said {
        said!("请填写姓名（1 到 {max} 个字）", "give the name (1 to {max} characters)")
    }

    pub fn phone() -> Said {
        said!(
            "电话号码格式不对：1开头的11位手机号，或 010-6996xxxx 这样的座机",
            "a phone number is 11 digits starting with 1, or a landline such as 010-6996xxxx"
        )
    }

    pub fn no_such_area(id: i64) -> Said {
        said!(
            "没有编号为 {id} 的区域：请填写 /api/nodes 里的区域编号",
            "there is no area node {id}; give the id of a node of /api/nodes"
        )
    }

    pub fn area_needed() -> Said {
        said!("网格长和网格员要写明负责的网格", "a grid head or grid member needs the area they answer for")
    }

    pub fn point_needed() -> Said {
        said!("采样员要写明在哪个采样点工作", "an operator needs the sampling point they work at")
    }

    pub fn point_serves_nothing() -> Said {
        said!(
            "采样点至少要服务一个网格：请选上到这里采样的网格",
            "a sampling point serves at least one area: name the grids whose residents come here"
        )
    }

    /// A channel's URL that is not an http(s) address.
    pub fn channel_url(why: crate::notify::BadUrl) -> Said {
        use crate::notify::BadUrl;
        match why {
            BadUrl::NotHttp => said!(
                "地址要以 http:// 或 https:// 开头：请从群机器人的设置里复制完整的 Webhook 地址",
                "the address must start with http:// or https://: copy the whole webhook address from the robot's settings"
            ),
            BadUrl::Unparsable => said!(
                "这不是一个网址：请从群机器人的设置里复制完整的 Webhook 地址",
                "this is not a web address: copy the whole webhook address from the robot's settings"
            ),
            BadUrl::TooLong => {
                said!("地址太长（最多 2000 个字符）", "the address is too long (at most 2000 characters)")
            }
        }
    }

    /// A channel of a kind that signs its requests, given no secret.
    pub fn channel_secret(kind: crate::notify::Kind) -> Said {
        let zh = crate::messages::channel_kind_name(kind, crate::messages::Lang::Zh);
        let en = crate::messages::channel_kind_name(kind, crate::messages::Lang::En);
        said!(
            "{zh}要填签名密钥（机器人安全设置里的“加签”密钥）",
            "a {en} needs its signing secret (the robot's signing key in its security settings)"
        )
    }

    pub fn text_length(field: &str, min: usize, max: usize) -> Said {
        said!("「{field}」要写 {min} 到 {max} 个字", "field `{field}`: give {min} to {max} characters")
    }

    /// A request body that could not be read at all (the transport's words).
    pub fn body_unreadable(why: &str) -> Said {
        said!("上传的文件没有收全：{why}", "the upload could not be read: {why}")
    }
}
