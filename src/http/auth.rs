//! Signing in and out: a pairing code (a phone brought into service by a QR code) or a
//! phone number and password (staff at a computer). Attempts are limited per account and
//! per address; a refusal never says whether the account or the code exists.

use super::extract::{ApiJson, Caller};
use super::{ApiError, AppState};
use crate::roster::{Phone, Role};
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;

/// Attempts allowed per account and per address in [`WINDOW`].
const PER_ACCOUNT: u32 = 5;
const PER_ADDRESS: u32 = 20;
const WINDOW: Duration = Duration::from_secs(60);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/pair", post(pair))
        .route("/api/auth/login", post(login))
        .route("/api/auth/logout", post(logout))
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
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
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
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<LoginIn>,
) -> Result<Json<SignedIn>, ApiError> {
    limit(&state, format!("login-address:{}", peer.ip()), PER_ADDRESS)?;
    let phone = Phone::parse(&body.phone).ok();
    let staff =
        phone.and_then(|p| state.hub.roster().staff().iter().find(|s| s.phone.as_ref() == Some(&p)).map(|s| s.id));
    // Unknown phones are limited too, under their own key, so probing costs the same.
    limit(
        &state,
        format!("login-account:{}", staff.map_or_else(|| body.phone.clone(), |id| id.to_string())),
        PER_ACCOUNT,
    )?;
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
