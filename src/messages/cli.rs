//! What the `muster` command says to the person at the terminal, other than the import
//! report ([`super::report`]): the lines of `serve`, `demo`, `migrate` and `admin`, and the
//! errors it ends with (`muster: …`) where the words are ours. The language is the
//! command's (`--lang`, `MUSTER_LANG`; [`Lang::current`](super::Lang::current) outside a
//! request). Scripts that read these lines ask for `--lang en`, whose lines keep their
//! form (`listening on URL`, `  LABEL (ROLE) staff #ID: URL`, `action ID is open`).

use super::pick;
use super::{Lang, role_name};
use crate::roster::Role;

// ---- starting

/// A `--lang` we do not speak: said in both, since the language is what is wrong.
pub fn lang_unknown(given: &str) -> String {
    format!("{given:?}：请用 zh（中文）或 en（English） / use zh (Chinese) or en (English)")
}

/// The last line before serving (tests and scripts wait for it).
pub fn listening(url: &str, lang: Lang) -> String {
    pick!(lang, "正在监听 {url}", "listening on {url}")
}

/// Above the first administrator's setup link, on a database with no administrator.
pub fn setup_link_follows(lang: Lang) -> String {
    pick!(
        lang,
        "还没有管理员：打开下面的链接，成为第一位管理员（只能用一次）：",
        "no administrator yet: open this link to become the first one (it works once):"
    )
}

/// `muster migrate` done.
pub fn schema_up_to_date(db: &str, lang: Lang) -> String {
    pick!(lang, "{db}：数据库结构已是最新", "{db}: schema up to date")
}

/// The database given could not be opened (the cause follows).
pub fn cannot_open(db: &str, lang: Lang) -> String {
    pick!(lang, "无法打开数据库 {db}", "cannot open {db}")
}

/// The address could not be listened on for a reason the system gives (it follows).
pub fn cannot_listen(addr: &str, lang: Lang) -> String {
    pick!(lang, "无法监听 {addr}", "cannot listen on {addr}")
}

/// The database did not answer in time: not running, or not at that address.
pub fn database_unreachable(lang: Lang) -> String {
    pick!(
        lang,
        "连不上数据库：它在运行吗？地址、用户名和密码对吗？",
        "the database does not answer: is it running, and are the address, user and password right?"
    )
}

/// What the system's error of this kind means to the person, for the kinds they can act
/// on; `None`: the system's own words are shown.
pub fn io_error(kind: std::io::ErrorKind, lang: Lang) -> Option<String> {
    use std::io::ErrorKind;
    Some(match kind {
        ErrorKind::NotFound => pick!(lang, "没有这个文件或目录", "no such file or directory"),
        ErrorKind::PermissionDenied => pick!(lang, "没有权限", "permission denied"),
        ErrorKind::AddrInUse => pick!(
            lang,
            "这个端口已被占用（也许另一个 muster 正在运行）：请停掉它，或用 --bind 换一个端口",
            "the port is in use (another muster running?): stop it, or give another port with --bind"
        ),
        ErrorKind::AddrNotAvailable => {
            pick!(lang, "这台机器没有这个地址：请检查 --bind", "this machine has no such address: check --bind")
        }
        ErrorKind::ConnectionRefused => {
            pick!(lang, "连接被拒绝：对方没有在这个地址上运行", "connection refused: nothing runs at that address")
        }
        _ => return None,
    })
}

/// The line the command ends with on an error: what failed, then why, cause by cause.
pub fn error_line(causes: &[String], lang: Lang) -> String {
    let causes = causes.join(pick!(lang, "：", ": ").as_str());
    format!("muster: {causes}")
}

/// A `--db` that is no database address we know.
pub fn unsupported_db(url: &str, lang: Lang) -> String {
    pick!(
        lang,
        "不认识的数据库地址 {url:?}：请用 sqlite://文件、文件路径，或 postgres://…",
        "unsupported database address {url:?}: use sqlite://FILE, a file path, or postgres://…"
    )
}

/// The roster the database holds breaks a rule of the model (which, follows).
pub fn roster_inconsistent(lang: Lang) -> String {
    pick!(lang, "数据库里的花名册前后矛盾", "the roster in the database is inconsistent")
}

/// Serving stopped on an error of the system (it follows).
pub fn serving_failed(lang: Lang) -> String {
    pick!(lang, "服务中断", "serving failed")
}

// ---- certificates (`serve --tls-cert`, `--acme-ca-roots`)

pub fn certificate_unreadable(path: &str, lang: Lang) -> String {
    pick!(lang, "无法读取证书 {path}", "cannot read the certificate {path}")
}

pub fn no_certificate(path: &str, lang: Lang) -> String {
    pick!(lang, "证书文件 {path} 里没有证书", "the certificate file {path} holds no certificate")
}

pub fn key_unreadable(path: &str, lang: Lang) -> String {
    pick!(lang, "无法读取私钥 {path}", "cannot read the private key {path}")
}

/// The certificate and key were read but do not go together (rustls says why; it follows).
pub fn tls_config(lang: Lang) -> String {
    pick!(lang, "证书和私钥无法组成 TLS 配置", "the certificate and key do not make a TLS configuration")
}

// ---- `muster admin`

pub fn admin_name_missing(lang: Lang) -> String {
    pick!(lang, "请写上管理员的姓名（--name）", "give the administrator's name (--name)")
}

/// `--phone` is not a phone number: what one looks like.
pub fn phone_invalid(phone: &str, lang: Lang) -> String {
    let what = super::api::field::phone();
    let what = what.get(lang);
    pick!(lang, "--phone {phone}：{what}", "--phone {phone}: {what}")
}

pub fn phone_taken(staff: i64, role: Role, lang: Lang) -> String {
    let name = role_name(role, lang);
    pick!(
        lang,
        "工作人员 #{staff}（{name}）已经用了这个电话号码",
        "staff member #{staff} ({name}) already has this phone number"
    )
}

pub fn admin_added(staff: i64, lang: Lang) -> String {
    pick!(lang, "已添加管理员 #{staff}", "administrator #{staff} added")
}

pub fn no_such_staff(who: &str, lang: Lang) -> String {
    pick!(lang, "没有编号或姓名为 {who:?} 的工作人员", "no staff member has the id or name {who:?}")
}

/// Several staff members have the name given: `ids` are theirs.
pub fn staff_name_ambiguous(who: &str, ids: &[i64], lang: Lang) -> String {
    let n = ids.len();
    let ids = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(pick!(lang, "、", ", ").as_str());
    pick!(
        lang,
        "有 {n} 名工作人员叫 {who:?}：请给出编号（{ids} 之一）",
        "{n} staff members are called {who:?}: give the id, one of {ids}"
    )
}

/// Above a pairing link; `expires` as [`utc`] shows it.
pub fn pairing_link_follows(expires: time::OffsetDateTime, lang: Lang) -> String {
    let until = utc(expires);
    pick!(lang, "配对链接（只能用一次，{until} 前有效）：", "pairing link (works once, until {until}):")
}

/// A moment to the minute, in UTC, saying so: `2026-05-01 12:00 UTC`.
fn utc(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let (date, hour, minute) = (t.date(), t.hour(), t.minute());
    format!("{date} {hour:02}:{minute:02} UTC")
}

// ---- `muster demo`

pub fn demo_village(db: &str, households: usize, residents: usize, staff: usize, points: usize, lang: Lang) -> String {
    pick!(
        lang,
        "演示村庄在 {db}：{households} 户，{residents} 位村民，{staff} 名工作人员，{points} 个采样点",
        "demo village in {db}: {households} households, {residents} residents, {staff} staff, {points} sampling points"
    )
}

/// The demo started again on its own database.
pub fn demo_again(db: &str, lang: Lang) -> String {
    pick!(
        lang,
        "{db} 里已经有一个村庄：按原样提供服务（只有在新的数据库上才会演练）",
        "{db} holds a village already: serving it as it is (the drill plays on a fresh database only)"
    )
}

pub fn demo_has_no_action(lang: Lang) -> String {
    pick!(lang, "数据库里没有行动", "the database has no action")
}

pub fn demo_has_no_chief(lang: Lang) -> String {
    pick!(lang, "演示村庄里没有总网格长", "the demo village has no chief")
}

pub fn pairing_links_follow(lang: Lang) -> String {
    pick!(
        lang,
        "配对链接（每个角色一个；每个只能用一次，24 小时内有效）：",
        "pairing links (one per role; each works once, for 24 hours):"
    )
}

/// One role's pairing link: the screen the role uses, the role, the staff member.
pub fn role_link(role: Role, staff: i64, url: &str, lang: Lang) -> String {
    let code = role.as_str();
    match lang {
        Lang::Zh => {
            let (screen, name) = (screen_zh(role), role_name(role, lang));
            format!("  {screen}（{name}）工作人员 #{staff}：{url}")
        }
        Lang::En => {
            let screen = screen_en(role);
            format!("  {screen} ({code}) staff #{staff}: {url}")
        }
    }
}

fn screen_zh(role: Role) -> &'static str {
    match role {
        Role::Chief => "指挥中心",
        Role::Viewer => "大屏",
        Role::GridHead => "网格长手机",
        Role::GridMember => "网格员手机",
        Role::Operator => "采样点",
        Role::Medic => "上门采样",
        Role::Lab => "检测结果录入",
        Role::Admin => "人员管理",
    }
}

fn screen_en(role: Role) -> &'static str {
    match role {
        Role::Chief => "command centre",
        Role::Viewer => "wall screen",
        Role::GridHead => "grid head",
        Role::GridMember => "grid member",
        Role::Operator => "sampling point",
        Role::Medic => "home-visit team",
        Role::Lab => "lab results",
        Role::Admin => "administrator",
    }
}

pub fn action_open(action: i64, lang: Lang) -> String {
    pick!(lang, "行动 {action} 已开始", "action {action} is open")
}

pub fn action_closed(action: i64, lang: Lang) -> String {
    pick!(lang, "行动 {action} 已结束", "action {action} is closed")
}

/// The API refused to open the demo's action: its status and code.
pub fn opening_failed(status: &str, code: &str, lang: Lang) -> String {
    pick!(lang, "开始行动失败：{status} {code}", "opening the action failed: {status} {code}")
}

pub fn drill_finished(posted: usize, failed: usize, lang: Lang) -> String {
    pick!(
        lang,
        "演练结束：记录了 {posted} 个请求，{failed} 个被拒绝",
        "drill finished: {posted} requests recorded, {failed} refused"
    )
}

// ---- cards

/// `muster cards` done: what the document holds and where it is.
pub fn cards_written(out: &str, households: usize, residents: usize, pages: usize, lang: Lang) -> String {
    pick!(
        lang,
        "已写出 {households} 户的户卡（{residents} 人，{pages} 页 A4）：{out}",
        "wrote the cards of {households} households ({residents} residents, {pages} A4 pages) to {out}"
    )
}

/// `muster cards --household N` for a household the roster does not have.
pub fn no_such_household(id: i64, lang: Lang) -> String {
    pick!(lang, "花名册里没有编号为 {id} 的户", "household {id} is not in the roster")
}

/// The document could not be written there (the system's reason follows).
pub fn cannot_write(path: &str, lang: Lang) -> String {
    pick!(lang, "无法写入 {path}", "cannot write {path}")
}
