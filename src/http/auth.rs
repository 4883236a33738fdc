//! Signing in and out: a pairing code (a phone brought into service by a QR code) or a
//! phone number and password (staff at a computer). Attempts are limited per account from
//! each address, per address, and per account overall; a refusal never says whether the
//! account or the code exists.

use super::extract::{ApiJson, Caller};
use super::listen::Peer;
use super::{ApiError, AppState};
use crate::messages::audit::Audited;
use crate::roster::{Phone, Role};
use crate::store::accounts::NewStaff;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Attempts allowed in [`WINDOW`]: per account from one address, per address, and per
/// account from all addresses together.
const PER_ACCOUNT: u32 = 5;
const PER_ADDRESS: u32 = 20;
const PER_ACCOUNT_EVERYWHERE: u32 = 100;
const WINDOW: Duration = Duration::from_secs(60);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/pair", post(pair))
        .route("/api/auth/login", post(login))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/setup", post(setup))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairIn {
    /// The code from the QR sheet or link, e.g. `ABCD-EFGH` (case and dashes do not matter).
    pub code: String,
    /// What the device is, to recognise it when revoking (e.g. "Redmi 9A, Chrome").
    #[serde(default)]
    pub device: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    pub phone: String,
    pub password: String,
    #[serde(default)]
    pub device: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SignedInStaff {
    pub id: i64,
    pub name: String,
    pub role: Role,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SignedIn {
    /// The bearer token for this device; shown once, stored only as a hash.
    pub token: String,
    pub staff: SignedInStaff,
}

fn limit(state: &AppState, key: String, max: u32) -> Result<(), ApiError> {
    state.auth.limit(&key, max, WINDOW).map_err(|l| ApiError::TooManyAttempts(l.0))
}

fn signed_in(state: &AppState, staff_id: i64, token: String) -> Result<Json<SignedIn>, ApiError> {
    let roster = state.hub.roster();
    let s = roster.staff_member(staff_id).ok_or(ApiError::Unauthorized)?;
    Ok(Json(SignedIn { token, staff: SignedInStaff { id: s.id, name: s.name.clone(), role: s.role } }))
}

/// Binds this device to the staff member a pairing code was made for. A code works once.
#[utoipa::path(post, path = "/api/auth/pair", request_body = PairIn,
    responses((status = 200, body = SignedIn), (status = 401, description = "`pairing_code_invalid`"), (status = 429)))]
pub async fn pair(
    State(state): State<AppState>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    ApiJson(body): ApiJson<PairIn>,
) -> Result<Json<SignedIn>, ApiError> {
    limit(&state, format!("pair:{}", peer.ip()), PER_ADDRESS)?;
    let device = if body.device.trim().is_empty() { "phone" } else { body.device.trim() };
    let (session, token) = state.auth.redeem(&body.code, device).await?.ok_or(ApiError::PairingCodeInvalid)?;
    tracing::info!(staff = session.staff_id, session = %session.id, "device paired");
    signed_in(&state, session.staff_id, token)
}

/// Signs in with phone number and password (for staff at a computer).
#[utoipa::path(post, path = "/api/auth/login", request_body = LoginIn,
    responses((status = 200, body = SignedIn), (status = 401, description = "`sign_in_failed`"), (status = 429)))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    ApiJson(body): ApiJson<LoginIn>,
) -> Result<Json<SignedIn>, ApiError> {
    limit(&state, format!("login-address:{}", peer.ip()), PER_ADDRESS)?;
    let phone = Phone::parse(&body.phone).ok();
    let staff = phone.and_then(|p| {
        state.hub.roster().staff().iter().find(|s| !s.retired && s.phone.as_ref() == Some(&p)).map(|s| s.id)
    });
    // Unknown phones are limited too, under their own key, so probing costs the same.
    // Guesses are counted per account *from each address*: someone guessing a chief's
    // password locks out their own address, not the chief at their own computer. The
    // account's count over all addresses only stops guessing spread over many of them.
    let account = staff.map_or_else(|| body.phone.clone(), |id| id.to_string());
    limit(&state, format!("login-account:{account}@{}", peer.ip()), PER_ACCOUNT)?;
    limit(&state, format!("login-account:{account}"), PER_ACCOUNT_EVERYWHERE)?;
    let ok = match staff {
        Some(id) => state.auth.check_password(id, body.password).await?,
        None => {
            state.auth.check_password(-1, body.password).await?;
            false
        }
    };
    let staff = staff.filter(|_| ok).ok_or(ApiError::SignInFailed)?;
    let device = if body.device.trim().is_empty() { "browser" } else { body.device.trim() };
    let (session, token) = state.auth.issue(staff, device).await?;
    tracing::info!(staff, session = %session.id, "signed in with a password");
    signed_in(&state, staff, token)
}

/// Ends this device's session.
#[utoipa::path(post, path = "/api/auth/logout", security(("bearer" = []), ("token" = [])), responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, ApiError> {
    state.auth.revoke(&caller.session.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetupIn {
    /// The setup code `muster serve` printed (in its link), e.g. `ABCD-EFGH`.
    pub code: String,
    /// The first admin's name, as colleagues know them.
    #[schema(min_length = 1, max_length = 40, pattern = "\\S")]
    pub name: String,
    /// Their mobile number: they sign in with it at a computer once a password is set.
    pub phone: String,
    #[serde(default)]
    pub device: String,
}

/// The longest staff name accepted: a Chinese name is 2–4 characters, a team's name longer.
pub const NAME_MAX: usize = 40;

/// A staff member's name, trimmed; blank or over [`NAME_MAX`] characters is refused.
pub fn staff_name(raw: &str) -> Result<&str, ApiError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        return Err(ApiError::InvalidField {
            field: "name".into(),
            message: crate::messages::api::field::name_length(NAME_MAX),
        });
    }
    Ok(name)
}

/// A phone number as staff give it; refused with the field named.
pub fn staff_phone(raw: &str) -> Result<Phone, ApiError> {
    Phone::parse(raw)
        .map_err(|_| ApiError::InvalidField { field: "phone".into(), message: crate::messages::api::field::phone() })
}

/// Makes the first admin of a database that has none, with the one-time code `muster
/// serve` printed at start-up, and signs this device in as them. Once an admin exists the
/// code is refused: further staff come from the roster sheet or the admin page.
#[utoipa::path(post, path = "/api/auth/setup", request_body = SetupIn,
    responses((status = 200, body = SignedIn),
        (status = 401, description = "`pairing_code_invalid`: not the code printed, used already, or there is an admin"),
        (status = 429)))]
pub async fn setup(
    State(state): State<AppState>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    ApiJson(body): ApiJson<SetupIn>,
) -> Result<Json<SignedIn>, ApiError> {
    limit(&state, format!("pair:{}", peer.ip()), PER_ADDRESS)?;
    let name = staff_name(&body.name)?;
    let phone = staff_phone(&body.phone)?;
    let has_admin = state.hub.roster().staff().iter().any(|s| s.role == Role::Admin && !s.retired);
    if has_admin || !state.auth.take_setup(&body.code) {
        return Err(ApiError::PairingCodeInvalid);
    }
    let new = NewStaff { name, phone: Some(phone.expose()), role: Role::Admin.as_str(), point_id: None };
    let made = state.store.accounts().insert_staff(&new, &[], &[]).await;
    let id = match made {
        Ok(id) => id,
        Err(e) => {
            state.auth.arm_setup(&body.code);
            return Err(e.into());
        }
    };
    state.writer.reload_roster().await?;
    let device = if body.device.trim().is_empty() { "browser" } else { body.device.trim() };
    let (session, token) = state.auth.issue(id, device).await?;
    state.auth.audit(id, Audited::FirstAdmin {}).await?;
    tracing::info!(staff = id, session = %session.id, "first admin made");
    signed_in(&state, id, token)
}
