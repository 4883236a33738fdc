//! Who is calling. Sessions bound to a device (the token is `<id>.<secret>`; only the
//! secret's SHA-256 is stored, compared in constant time), one-time pairing codes that
//! bring a phone into service, passwords (argon2id, hashed off the async runtime) for
//! staff at a computer, sign-in rate limits, revocation that reaches open WebSockets, and
//! the audit log. It never logs a token, a code or a password, and knows nothing of HTTP.

use crate::roster::StaffId;
use crate::store::accounts::{AuditRow, DbPool, SessionRow};
use crate::store::{StoreError, to_micros};
use dashmap::DashMap;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use tokio::sync::broadcast;

pub mod scope;
pub use scope::Scope;

/// How long a device stays signed in.
pub const SESSION_TTL: time::Duration = time::Duration::days(14);
/// How long a pairing code can be used: an evening's handing out of printed sheets.
pub const PAIRING_TTL: time::Duration = time::Duration::hours(24);
/// Pairing code letters: no 0/O, 1/I/L, so a code read aloud or typed is not misread.
const CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789X";

/// A signed-in device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub staff_id: StaffId,
}

/// A sign-in limit was reached; try again after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited(pub u64);

pub struct Auth {
    db: DbPool,
    /// Sessions this node has looked up, by id. Revocations mark them here at once;
    /// other nodes' revocations arrive through [`Auth::sync_revocations`].
    cache: DashMap<String, SessionRow>,
    /// Ids of revoked sessions, for open WebSockets to close themselves.
    revoked: broadcast::Sender<String>,
    /// Staff whose role or area changed: their open WebSockets close, and the client
    /// reconnects under the new scope.
    changed: broadcast::Sender<StaffId>,
    /// Sign-in attempts per key in the current window. A std mutex: held for a map
    /// update only, never across an `.await`.
    attempts: Mutex<HashMap<String, (Instant, u32)>>,
    last_sync: Mutex<i64>,
    /// The SHA-256 of the one-time code that makes the first admin, while a database has
    /// none (see [`Auth::arm_setup`]). Held here only, never stored: a restart makes a new
    /// one. A std mutex, held for a swap only.
    setup: Mutex<Option<Vec<u8>>>,
    clock: Clock,
}

/// A new one-time code, `ABCD-EFGH` (40 bits), for pairing or setup.
pub fn new_code() -> String {
    let letters: String = random_bytes::<8>().iter().map(|b| CODE_ALPHABET[(b & 31) as usize] as char).collect();
    format!("{}-{}", &letters[..4], &letters[4..])
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

/// The time sessions and pairing codes are judged by: the system's, plus an offset that
/// only tests move ([`Clock::advance`]), so a 14-day expiry can be seen to hold on a
/// server that has cached the session. The demo's escalation deadlines run on one that
/// goes at the drill's speed ([`Clock::running_at`]). Cheap to clone; clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_us: Arc<AtomicI64>,
    /// From this moment on (real, and as this clock says), time runs this many times as fast.
    pace: Option<Arc<(Instant, OffsetDateTime, f64)>>,
}

impl Clock {
    /// A clock that says `from` now and runs `speed` times as fast as the system's.
    pub fn running_at(from: OffsetDateTime, speed: f64) -> Self {
        Self { offset_us: Default::default(), pace: Some(Arc::new((Instant::now(), from, speed.max(0.0)))) }
    }

    pub fn now(&self) -> OffsetDateTime {
        let base = match self.pace.as_deref() {
            Some((since, from, speed)) => *from + time::Duration::seconds_f64(since.elapsed().as_secs_f64() * speed),
            None => OffsetDateTime::now_utc(),
        };
        base + time::Duration::microseconds(self.offset_us.load(Ordering::Relaxed))
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, by: time::Duration) {
        self.offset_us.fetch_add(by.whole_microseconds() as i64, Ordering::Relaxed);
    }
}

/// `abcd efgh`, `ABCD-EFGH` and `abcdefgh` are the same code.
fn normalize_code(code: &str) -> String {
    code.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

impl Auth {
    pub fn new(db: DbPool) -> Self {
        Self::with_clock(db, Clock::default())
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    pub fn with_clock(db: DbPool, clock: Clock) -> Self {
        let started = to_micros(clock.now());
        Self {
            db,
            cache: DashMap::new(),
            revoked: broadcast::channel(1024).0,
            changed: broadcast::channel(256).0,
            attempts: Mutex::new(HashMap::new()),
            last_sync: Mutex::new(started),
            setup: Mutex::new(None),
            clock,
        }
    }

    /// Signs a device in for a staff member; returns the session and its token, which is
    /// shown once and never stored.
    pub async fn issue(&self, staff_id: StaffId, device: &str) -> Result<(Session, String), StoreError> {
        let id = hex(&random_bytes::<16>());
        let secret = hex(&random_bytes::<32>());
        let at = self.now();
        let row = SessionRow {
            id: id.clone(),
            secret_hash: sha256(secret.as_bytes()),
            staff_id,
            device: device.chars().take(120).collect(),
            created_at: to_micros(at),
            expires_at: to_micros(at + SESSION_TTL),
            revoked_at: None,
        };
        self.db.insert_session(&row).await?;
        self.cache.insert(id.clone(), row);
        Ok((Session { id: id.clone(), staff_id }, format!("{id}.{secret}")))
    }

    /// The session a token belongs to, if it is live.
    pub async fn verify(&self, token: &str) -> Result<Option<Session>, StoreError> {
        let Some((id, secret)) = token.split_once('.') else { return Ok(None) };
        let row = match self.cache.get(id) {
            Some(row) => row.clone(),
            None => match self.db.find_session(id).await? {
                Some(row) => {
                    self.cache.insert(id.to_owned(), row.clone());
                    row
                }
                None => return Ok(None),
            },
        };
        let matches: bool = sha256(secret.as_bytes()).ct_eq(&row.secret_hash).into();
        let live = row.revoked_at.is_none() && row.expires_at > to_micros(self.now());
        Ok((matches && live).then_some(Session { id: row.id, staff_id: row.staff_id }))
    }

    /// Ends a session at once, here and on open WebSockets; whether it was live.
    pub async fn revoke(&self, session_id: &str) -> Result<bool, StoreError> {
        let at = to_micros(self.now());
        let was_live = self.db.revoke_session(session_id, at).await?;
        self.forget(session_id, at);
        Ok(was_live)
    }

    fn forget(&self, session_id: &str, at: i64) {
        if let Some(mut row) = self.cache.get_mut(session_id) {
            row.revoked_at = Some(at);
        }
        let _ = self.revoked.send(session_id.to_owned());
    }

    /// Picks up sessions revoked by other nodes since the last call.
    pub async fn sync_revocations(&self) -> Result<(), StoreError> {
        let since = *self.last_sync.lock().expect("not poisoned");
        let at = to_micros(self.now());
        // A little overlap: a revocation committed just before `since` is not missed.
        for id in self.db.revoked_since(since - 5_000_000).await? {
            let known_revoked = self.cache.get(&id).is_some_and(|r| r.revoked_at.is_some());
            if !known_revoked {
                self.forget(&id, at);
            }
        }
        *self.last_sync.lock().expect("not poisoned") = at;
        Ok(())
    }

    /// Revocations as they happen, for WebSocket sessions to watch.
    pub fn revocations(&self) -> broadcast::Receiver<String> {
        self.revoked.subscribe()
    }

    /// Staff whose role or area changed, as it happens.
    pub fn staff_changes(&self) -> broadcast::Receiver<StaffId> {
        self.changed.subscribe()
    }

    pub fn staff_changed(&self, staff_id: StaffId) {
        let _ = self.changed.send(staff_id);
    }

    pub fn is_revoked(&self, session_id: &str) -> bool {
        self.cache.get(session_id).is_none_or(|r| r.revoked_at.is_some())
    }

    /// Whose session this is (revoked or not), if it exists.
    pub async fn session_owner(&self, session_id: &str) -> Result<Option<StaffId>, StoreError> {
        Ok(self.db.find_session(session_id).await?.map(|r| r.staff_id))
    }

    /// The live sessions of each staff member, oldest first.
    pub async fn live_sessions(&self) -> Result<HashMap<StaffId, Vec<SessionRow>>, StoreError> {
        let mut by_staff: HashMap<StaffId, Vec<SessionRow>> = HashMap::new();
        for row in self.db.live_sessions(to_micros(self.now())).await? {
            by_staff.entry(row.staff_id).or_default().push(row);
        }
        Ok(by_staff)
    }

    /// A one-time code that signs one phone in as `staff_id`: `ABCD-EFGH` (40 bits).
    pub async fn create_pairing(&self, staff_id: StaffId, by: StaffId) -> Result<(String, OffsetDateTime), StoreError> {
        let code = new_code();
        let at = self.now();
        let expires = at + PAIRING_TTL;
        let hash = sha256(normalize_code(&code).as_bytes());
        self.db.insert_pairing(&hash, staff_id, by, to_micros(at), to_micros(expires)).await?;
        Ok((code, expires))
    }

    /// Makes `code` the one that signs the first admin in (replacing any earlier one), for
    /// a database with no admin yet. It works once, for as long as this server runs.
    pub fn arm_setup(&self, code: &str) {
        *self.setup.lock().expect("not poisoned") = Some(sha256(normalize_code(code).as_bytes()));
    }

    /// Uses the setup code: whether `code` was it. Used once: a second try is refused,
    /// unless [`Auth::arm_setup`] puts it back (the admin could not be made).
    pub fn take_setup(&self, code: &str) -> bool {
        let mut setup = self.setup.lock().expect("not poisoned");
        let hash = sha256(normalize_code(code).as_bytes());
        let matches = setup.as_ref().is_some_and(|h| bool::from(h.ct_eq(&hash)));
        if matches {
            *setup = None;
        }
        matches
    }

    /// Uses a pairing code to sign this device in. `None` when the code is unknown, used
    /// or expired — deliberately the same answer, so a guesser learns nothing.
    pub async fn redeem(&self, code: &str, device: &str) -> Result<Option<(Session, String)>, StoreError> {
        let code = normalize_code(code);
        match self.db.redeem_pairing(&sha256(code.as_bytes()), to_micros(self.now())).await? {
            Some(staff_id) => Ok(Some(self.issue(staff_id, device).await?)),
            None => Ok(None),
        }
    }

    /// Sets a staff member's password (argon2id, on a blocking thread).
    pub async fn set_password(&self, staff_id: StaffId, password: String) -> Result<(), StoreError> {
        use argon2::password_hash::PasswordHasher;
        let hash = tokio::task::spawn_blocking(move || {
            argon2::Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string())
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("password hashing stopped: {e}")))?
        .map_err(|e| StoreError::Corrupt(format!("password hashing failed: {e}")))?;
        self.db.set_password_hash(staff_id, &hash).await
    }

    /// Whether `password` is this staff member's. Takes as long whether or not they have
    /// a password, so timing does not tell which accounts have one.
    pub async fn check_password(&self, staff_id: StaffId, password: String) -> Result<bool, StoreError> {
        use argon2::password_hash::PasswordVerifier;
        use argon2::password_hash::phc::PasswordHash;
        // A real hash of a random password, to verify against when there is none.
        const DECOY: &str =
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2Uo2DHW3jqHbt6AJ1rWXbVLx5YHO0s0sNBn3hFF+0Uk";
        let stored = self.db.password_hash(staff_id).await?;
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| DECOY.to_owned());
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        })
        .await
        .unwrap_or(false);
        Ok(known && ok)
    }

    /// Counts an attempt under `key`; refuses once `max` attempts were made in `window`.
    pub fn limit(&self, key: &str, max: u32, window: Duration) -> Result<(), Limited> {
        let mut attempts = self.attempts.lock().expect("not poisoned");
        let now = Instant::now();
        if attempts.len() > 100_000 {
            attempts.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let (start, count) = attempts.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(*start) >= window {
            *start = now;
            *count = 0;
        }
        *count += 1;
        if *count > max {
            return Err(Limited((window - now.duration_since(*start)).as_secs().max(1)));
        }
        Ok(())
    }

    /// Records who did what to personal data or to accounts: the act's code and its facts
    /// (words are chosen when the log is read, in the reader's language).
    pub async fn audit(&self, staff_id: StaffId, act: crate::messages::audit::Audited) -> Result<(), StoreError> {
        self.db.audit(to_micros(self.now()), staff_id, act.code(), &act.facts()).await
    }

    pub async fn audit_page(&self, before: Option<i64>, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        self.db.audit_page(before, limit).await
    }
}
