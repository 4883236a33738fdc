//! Every message meant for a person, in one place: Simplified Chinese first, English
//! second, keyed by the stable machine code the message goes with. The HTTP layer, the
//! import and the CLI say nothing to a person except through here.
//!
//! - [`api`]: the `message` of every API error (one function per message, given plain
//!   data: the HTTP layer picks the function for each of its errors, so nothing here
//!   depends on HTTP) and of every refused event ([`Rejection`](crate::action::Rejection)).
//! - [`import`]: what each problem of a roster sheet says and how to fix it.
//! - [`results`]: what each problem of a lab's results sheet says and how to fix it.
//! - [`report`]: what `muster import` says: the report, its problems, how it ends.
//! - [`cli`]: what the rest of the `muster` command says (`serve`, `demo`, `admin`, and
//!   the errors it ends with).
//! - [`audit`]: what each kind of audit log entry is called on the admin page.
//! - [`cards`]: what a household card says (in Chinese only: residents read it).
//! - [`notify`]: what Muster itself posts into the chat groups (in Chinese: the groups
//!   are the village's).
//! - [`review`]: the words of the after-action report (复盘).
//!
//! Adding an error variant, a problem or an audited act is one function (or one arm) in
//! the file for it; the compiler points at the `match` that lacks it (`ApiError::message`
//! for an error), and the tests that every code speaks both languages (`tests` here,
//! `http::error`'s for its variants) at the sample that lacks it.
//!
//! Which language: [`Lang::current`] — the request's (`Accept-Language`, set once per
//! request by the HTTP layer's `observe` middleware with [`Lang::scope`]), else the
//! process default (the CLI's `--lang`), else Chinese.

pub mod api;
pub mod audit;
pub mod cards;
pub mod cli;
pub mod import;
pub mod notify;
pub mod report;
pub mod results;
pub mod review;
#[cfg(test)]
mod tests;

use crate::roster::Role;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

/// The languages messages come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Simplified Chinese: what the village's clerks read, and the default.
    #[default]
    Zh,
    En,
}

tokio::task_local! {
    /// The language of the request being answered.
    static LANG: Lang;
}

/// The process's language outside a request: `true` for English (the CLI's `--lang en`).
static ENGLISH_BY_DEFAULT: AtomicBool = AtomicBool::new(false);

impl Lang {
    /// The language to speak now: the request's, else the process default.
    pub fn current() -> Lang {
        LANG.try_with(|l| *l).unwrap_or_else(|_| Lang::process_default())
    }

    fn process_default() -> Lang {
        if ENGLISH_BY_DEFAULT.load(Ordering::Relaxed) { Lang::En } else { Lang::Zh }
    }

    /// Sets the language spoken outside any request (the CLI's).
    pub fn set_process_default(lang: Lang) {
        ENGLISH_BY_DEFAULT.store(lang == Lang::En, Ordering::Relaxed);
    }

    /// Runs `f` speaking this language. A task-local: no allocation, nothing shared.
    pub async fn scope<F: Future>(self, f: F) -> F::Output {
        LANG.scope(self, f).await
    }

    /// `zh…` or `en…` (`zh-CN`, `en_US.UTF-8`, `EN`); anything else is not a language we speak.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_', '.']).next().unwrap_or("");
        if primary.eq_ignore_ascii_case("zh") {
            Some(Lang::Zh)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The language an `Accept-Language` header prefers: English if it ranks English
    /// above Chinese (q-values honoured; equal q, the earlier wins), else Chinese. No
    /// allocation: this runs on every request.
    pub fn from_accept_language(header: &[u8]) -> Lang {
        let Ok(header) = std::str::from_utf8(header) else { return Lang::Zh };
        let mut best: Option<(Lang, f32)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let Some(lang) = Lang::parse(parts.next().unwrap_or("").trim()) else { continue };
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
                .map_or(1.0, |q| q.trim().parse::<f32>().unwrap_or(0.0));
            if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
                best = Some((lang, q));
            }
        }
        best.map_or(Lang::Zh, |(lang, _)| lang)
    }
}

/// A role's name as the village says it (the roles' column of the staff sheet).
/// What a kind of outbound channel is called.
pub fn channel_kind_name(kind: crate::notify::Kind, lang: Lang) -> &'static str {
    use crate::notify::Kind;
    match (lang, kind) {
        (Lang::Zh, Kind::WeCom) => "企业微信群机器人",
        (Lang::Zh, Kind::DingTalk) => "钉钉群机器人",
        (Lang::Zh, Kind::Feishu) => "飞书群机器人",
        (Lang::Zh, Kind::Webhook) => "短信/语音网关",
        (Lang::En, Kind::WeCom) => "WeCom group robot",
        (Lang::En, Kind::DingTalk) => "DingTalk group robot",
        (Lang::En, Kind::Feishu) => "Feishu group bot",
        (Lang::En, Kind::Webhook) => "SMS/voice gateway webhook",
    }
}

pub fn role_name(role: Role, lang: Lang) -> &'static str {
    match (lang, role) {
        (Lang::Zh, Role::Admin) => "管理员",
        (Lang::Zh, Role::Chief) => "总网格长",
        (Lang::Zh, Role::GridHead) => "网格长",
        (Lang::Zh, Role::GridMember) => "网格员",
        (Lang::Zh, Role::Operator) => "采样员",
        (Lang::Zh, Role::Medic) => "医护/上门采样",
        (Lang::Zh, Role::Lab) => "检测机构",
        (Lang::Zh, Role::Viewer) => "只读大屏",
        (Lang::En, Role::Admin) => "administrator",
        (Lang::En, Role::Chief) => "chief grid head",
        (Lang::En, Role::GridHead) => "grid head",
        (Lang::En, Role::GridMember) => "grid member",
        (Lang::En, Role::Operator) => "sampling operator",
        (Lang::En, Role::Medic) => "medic (home sampling)",
        (Lang::En, Role::Lab) => "lab (tube results)",
        (Lang::En, Role::Viewer) => "read-only wall screen",
    }
}

/// One message in both languages, for a message made before anyone knows who will read
/// it (an import problem, a field's complaint); it is shown, and serialised, in
/// [`Lang::current`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub zh: String,
    pub en: String,
}

impl Said {
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self { zh: zh.into(), en: en.into() }
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
}

impl std::fmt::Display for Said {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.get(Lang::current()))
    }
}

impl serde::Serialize for Said {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.get(Lang::current()))
    }
}

/// A [`Said`] from two format strings (captured variables as in `format!`).
macro_rules! said {
    ($zh:literal, $en:literal $(,)?) => {
        $crate::messages::Said { zh: format!($zh), en: format!($en) }
    };
}

/// One of two format strings, formatted in `lang` only.
macro_rules! pick {
    ($lang:expr, $zh:literal, $en:literal $(,)?) => {
        match $lang {
            $crate::messages::Lang::Zh => format!($zh),
            $crate::messages::Lang::En => format!($en),
        }
    };
}

// Used within the catalogue only (a `#[macro_export]` would hang them on the crate's root).
pub(crate) use {pick, said};

/// Whether a text has a Chinese character (for the tests that every code speaks Chinese).
#[cfg(test)]
pub(crate) fn has_cjk(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// Fails the test unless `zh` has Chinese and `en` has English words (for `what`).
#[cfg(test)]
pub(crate) fn assert_speaks_both(what: &str, zh: &str, en: &str) {
    assert!(has_cjk(zh), "{what}: no Chinese text: {zh:?}");
    // English may quote the sheet's Chinese headers, so: words in Latin letters, not the Chinese.
    assert!(en.chars().any(|c| c.is_ascii_alphabetic()) && en != zh, "{what}: no English text: {en:?}");
}
