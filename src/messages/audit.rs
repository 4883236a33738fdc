//! What each kind of audit log entry is called on the admin page. The stored `what` is
//! the code, stable across versions; the label is for the person reading the log.

use super::Lang;

/// The acts the audit log records. [`Auth::audit`](crate::auth::Auth::audit) takes one,
/// so an act with no label cannot be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audited {
    ReadPhones,
    FirstAdmin,
    ChangeStaff,
    PairingCode,
    SetPassword,
    RevokeSession,
    AddStaff,
    RetireStaff,
    AddPoint,
    ChangePoint,
    RetirePoint,
}

impl Audited {
    /// Every act, for the test that each has its words.
    pub const ALL: &[Audited] = &[
        Audited::ReadPhones,
        Audited::FirstAdmin,
        Audited::ChangeStaff,
        Audited::PairingCode,
        Audited::SetPassword,
        Audited::RevokeSession,
        Audited::AddStaff,
        Audited::RetireStaff,
        Audited::AddPoint,
        Audited::ChangePoint,
        Audited::RetirePoint,
    ];

    /// The `what` stored and sent: stable, English, machine-readable.
    pub fn code(self) -> &'static str {
        self.words().0
    }

    /// `(code, 中文, English)`.
    fn words(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Audited::ReadPhones => ("read_phones", "查看了完整电话号码", "read full phone numbers"),
            Audited::FirstAdmin => ("first_admin", "设为第一位管理员", "became the first administrator"),
            Audited::ChangeStaff => {
                ("change_staff", "修改了工作人员的角色或区域", "changed a staff member's role or area")
            }
            Audited::PairingCode => ("pairing_code", "生成了配对码", "made a pairing code"),
            Audited::SetPassword => ("set_password", "设置了密码", "set a password"),
            Audited::RevokeSession => ("revoke_session", "注销了一台设备", "revoked a device"),
            Audited::AddStaff => ("add_staff", "添加了工作人员", "added a staff member"),
            Audited::RetireStaff => ("retire_staff", "停用了工作人员", "took a staff member off duty"),
            Audited::AddPoint => ("add_point", "添加了采样点", "opened a sampling point"),
            Audited::ChangePoint => ("change_point", "修改了采样点", "changed a sampling point"),
            Audited::RetirePoint => ("retire_point", "关闭了采样点", "closed a sampling point"),
        }
    }

    pub fn from_code(code: &str) -> Option<Audited> {
        Audited::ALL.iter().copied().find(|a| a.code() == code)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        let (_, zh, en) = self.words();
        match lang {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// The label for a stored `what`; a code this version does not know (written by a newer
/// one) is shown as it is.
pub fn label(what: &str, lang: Lang) -> String {
    Audited::from_code(what).map_or_else(|| what.to_owned(), |a| a.label(lang).to_owned())
}
