//! Staff administration for admins and chiefs: who is on duty, pairing codes (with QR
//! codes for a printable sheet), revoking a lost phone, passwords, and the audit log.
//! A chief sees the staff of their own area; an admin sees everyone.

use super::auth::{staff_name, staff_phone};
use super::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use super::{ApiError, AppState};
use crate::messages::api::field;
use crate::messages::audit::{Audited, Change, PhoneList};
use crate::roster::{NodeId, Phone, Role, Staff, StaffId};
use crate::store::accounts::{NewStaff, SessionRow};
use crate::store::from_micros;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, patch, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::OffsetDateTime;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/staff", get(list_staff).post(create_staff))
        .route("/api/nodes", get(list_nodes))
        .route("/api/staff/{id}", patch(change_staff))
        .route("/api/staff/{id}/retire", post(retire_staff))
        .route("/api/staff/{id}/pairing-codes", post(create_pairing_code))
        .route("/api/staff/{id}/password", put(set_password))
        .route("/api/sessions/{id}/revoke", post(revoke_session))
        .route("/api/audit", get(audit))
}

pub(super) const MANAGERS: &[Role] = &[Role::Admin, Role::Chief];

/// A staff member the caller manages: in their area (else 404: whether others exist is not
/// theirs to know) and in a role below their own (else 403), an admin excepted. Acting on
/// oneself is acting on an equal: a chief cannot pair a second phone as chief, or make
/// themselves an admin.
fn managed(state: &AppState, caller: &Caller, id: StaffId) -> Result<Staff, ApiError> {
    caller.require(MANAGERS)?;
    let roster = &state.hub.roster();
    let staff = roster
        .staff_member(id)
        .filter(|s| !s.retired && (caller.scope.all || caller.scope.covers_staff(roster, s.id)))
        .cloned()
        .ok_or_else(|| ApiError::NotFound { what: "staff member", id: id.to_string() })?;
    if !caller.staff.role.may_manage(staff.role) {
        return Err(ApiError::Forbidden(caller.staff.role));
    }
    Ok(staff)
}

/// Refuses to take the admin role from the last admin: with none left, nobody could
/// manage accounts again without the shell.
fn keeps_an_admin(state: &AppState, staff: &Staff, role: Role) -> Result<(), ApiError> {
    let admins = state.hub.roster().staff().iter().filter(|s| s.role == Role::Admin && !s.retired).count();
    if staff.role == Role::Admin && role != Role::Admin && admins <= 1 {
        return Err(ApiError::LastAdmin);
    }
    Ok(())
}

fn rfc3339(us: i64) -> String {
    from_micros(us).ok().and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()).unwrap_or_default()
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NodeRef {
    pub id: NodeId,
    pub name: String,
    pub level: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PointRef {
    pub id: i64,
    pub name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub id: String,
    pub device: String,
    pub created_at: String,
    pub expires_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct StaffView {
    pub id: StaffId,
    pub name: String,
    pub role: Role,
    /// Masked unless the caller is the chief or an admin.
    pub phone: Option<String>,
    pub nodes: Vec<NodeRef>,
    pub point: Option<PointRef>,
    pub sessions: Vec<SessionView>,
}

/// The staff the caller manages, with their signed-in devices (those taken off duty are
/// not listed).
#[utoipa::path(get, path = "/api/staff",
    security(("bearer" = []), ("token" = [])), responses((status = 200, body = Vec<StaffView>), (status = 403)))]
pub async fn list_staff(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<StaffView>>, ApiError> {
    caller.require(MANAGERS)?;
    let roster = &state.hub.roster();
    let staff =
        roster.staff().iter().filter(|s| !s.retired && (caller.scope.all || caller.scope.covers_staff(roster, s.id)));
    let sessions = state.auth.live_sessions().await?;
    let show_phone = caller.scope.all;
    let views = staff.map(|s| staff_view(roster, s, &sessions, show_phone)).collect();
    if show_phone {
        state.auth.audit(caller.staff.id, Audited::ReadPhones { list: PhoneList::Staff }).await?;
    }
    Ok(Json(views))
}

fn staff_view(
    roster: &crate::roster::Roster,
    s: &Staff,
    sessions: &HashMap<StaffId, Vec<SessionRow>>,
    show_phone: bool,
) -> StaffView {
    StaffView {
        id: s.id,
        name: s.name.clone(),
        role: s.role,
        phone: s.phone.as_ref().map(|p| if show_phone { p.expose().to_owned() } else { p.masked() }),
        nodes: s
            .nodes
            .iter()
            .filter_map(|n| roster.node_idx(*n).map(|i| &roster.nodes()[i]))
            .map(|n| NodeRef { id: n.id, name: n.name.clone(), level: n.level.clone() })
            .collect(),
        point: s.point_id.and_then(|p| roster.point(p)).map(|p| PointRef { id: p.id, name: p.name.clone() }),
        sessions: sessions
            .get(&s.id)
            .into_iter()
            .flatten()
            .map(|r| SessionView {
                id: r.id.clone(),
                device: r.device.clone(),
                created_at: rfc3339(r.created_at),
                expires_at: rfc3339(r.expires_at),
            })
            .collect(),
    }
}

/// One staff member's view, as the caller sees it (after a change).
async fn view_of(state: &AppState, caller: &Caller, id: StaffId) -> Result<Json<StaffView>, ApiError> {
    let roster = &state.hub.roster();
    let staff =
        roster.staff_member(id).ok_or_else(|| ApiError::NotFound { what: "staff member", id: id.to_string() })?;
    let sessions = state.auth.live_sessions().await?;
    Ok(Json(staff_view(roster, staff, &sessions, caller.scope.all)))
}

/// A new staff member, e.g. a substitute found at 23:40: the same rules as a row of the
/// roster sheet's staff sheet.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaffIn {
    #[schema(min_length = 1, max_length = 40, pattern = "\\S")]
    pub name: String,
    /// A mobile (11 digits) or a landline with its area code.
    #[serde(default)]
    pub phone: Option<String>,
    pub role: Role,
    /// The area nodes they answer for (a head covers the subtrees); a grid head or grid
    /// member needs at least one.
    #[serde(default)]
    pub nodes: Vec<NodeId>,
    /// An operator's sampling point (needed for an operator).
    #[serde(default)]
    pub point_id: Option<i64>,
}

/// Refuses area nodes the roster lacks (400, `nodes`) or the caller does not answer for
/// (403): what a staff member or point made by hand may be given.
pub(super) fn within_reach(roster: &crate::roster::Roster, caller: &Caller, nodes: &[NodeId]) -> Result<(), ApiError> {
    for n in nodes {
        let idx = roster
            .node_idx(*n)
            .ok_or_else(|| ApiError::InvalidField { field: "nodes".into(), message: field::no_such_node(*n) })?;
        if !caller.scope.covers_node(roster, idx) {
            return Err(ApiError::OutOfScope(field::node_outside_yours(*n)));
        }
    }
    Ok(())
}

/// A staff record as it is to be written, checked against the roster.
struct Wanted {
    name: String,
    phone: Option<Phone>,
    role: Role,
    nodes: Vec<NodeId>,
    point_id: Option<i64>,
}

impl Wanted {
    /// The roster sheet's rules, for a record made or changed by hand by `caller`: a role
    /// below the caller's own, areas inside theirs, a phone no one else on duty has, an
    /// area for those who answer for one, a point (on duty) for an operator.
    fn check(&self, roster: &crate::roster::Roster, caller: &Caller, id: Option<StaffId>) -> Result<(), ApiError> {
        if !caller.staff.role.may_manage(self.role) {
            return Err(ApiError::Forbidden(caller.staff.role));
        }
        if let Some(phone) = &self.phone
            && let Some(other) =
                roster.staff().iter().find(|s| !s.retired && Some(s.id) != id && s.phone.as_ref() == Some(phone))
        {
            return Err(ApiError::PhoneTaken { other: other.id });
        }
        within_reach(roster, caller, &self.nodes)?;
        if matches!(self.role, Role::GridHead | Role::GridMember) && self.nodes.is_empty() {
            return Err(ApiError::InvalidField { field: "nodes".into(), message: field::area_needed() });
        }
        match self.point_id {
            None if self.role == Role::Operator => {
                Err(ApiError::InvalidField { field: "point_id".into(), message: field::point_needed() })
            }
            Some(p) if roster.point(p).is_none_or(|p| p.retired) => {
                Err(ApiError::InvalidField { field: "point_id".into(), message: field::no_such_point(p) })
            }
            _ => Ok(()),
        }
    }

    fn row(&self) -> NewStaff<'_> {
        NewStaff {
            name: &self.name,
            phone: self.phone.as_ref().map(Phone::expose),
            role: self.role.as_str(),
            point_id: self.point_id,
        }
    }

    /// The nodes this person becomes (or stays) the responsible person of: whom a node's
    /// residents answer to (their missing list, their phone's count) follows the change. A
    /// node added makes them its responsible one, if the role answers for an area; a node
    /// dropped, or a role that answers for none, leaves it to the next person up the tree.
    /// The node's previous responsible person keeps seeing it.
    fn responsible_for(&self, roster: &crate::roster::Roster, before: Option<&Staff>) -> Vec<NodeId> {
        if !self.role.answers_for_area() {
            return Vec::new();
        }
        let theirs = |n: &NodeId| {
            before.is_some_and(|b| roster.node_idx(*n).is_some_and(|i| roster.nodes()[i].staff_id == Some(b.id)))
        };
        let had = |n: &NodeId| before.is_some_and(|b| b.nodes.contains(n));
        self.nodes.iter().copied().filter(|n| !had(n) || theirs(n)).collect()
    }
}

/// Adds a staff member by hand (admin, or a chief for roles below their own, in their
/// area); they can be paired at once. Recorded in the audit log.
#[utoipa::path(post, path = "/api/staff", request_body = NewStaffIn,
    security(("bearer" = []), ("token" = [])),
    responses((status = 201, body = StaffView), (status = 403), (status = 409, description = "`phone_taken`")))]
pub async fn create_staff(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewStaffIn>,
) -> Result<(StatusCode, Json<StaffView>), ApiError> {
    caller.require(MANAGERS)?;
    let roster = state.hub.roster();
    let wanted = Wanted {
        name: staff_name(&new.name)?.to_owned(),
        phone: new.phone.as_deref().filter(|p| !p.trim().is_empty()).map(staff_phone).transpose()?,
        role: new.role,
        nodes: new.nodes,
        point_id: new.point_id,
    };
    wanted.check(&roster, &caller, None)?;
    let responsible_for = wanted.responsible_for(&roster, None);
    let id = state.store.accounts().insert_staff(&wanted.row(), &wanted.nodes, &responsible_for).await?;
    state.writer.reload_roster().await?;
    let act = Audited::AddStaff { staff: id, role: wanted.role, nodes: wanted.nodes.clone(), point: wanted.point_id };
    state.auth.audit(caller.staff.id, act).await?;
    tracing::info!(staff = id, by = caller.staff.id, "staff member added");
    Ok((StatusCode::CREATED, view_of(&state, &caller, id).await?))
}

/// Takes a staff member off duty (a phone lost with its owner, a member who left): their
/// devices are signed out at once, the areas they answered for pass to the next person
/// up the tree, and they are listed no more. The record stays for the logs. The last
/// admin cannot be retired.
#[utoipa::path(post, path = "/api/staff/{id}/retire", params(("id" = i64, Path)),
    security(("bearer" = []), ("token" = [])),
    responses((status = 204), (status = 403), (status = 404), (status = 409, description = "`last_admin`")))]
pub async fn retire_staff(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<StaffId>,
) -> Result<StatusCode, ApiError> {
    let staff = managed(&state, &caller, id)?;
    if staff.role == Role::Admin {
        keeps_an_admin(&state, &staff, Role::Viewer)?;
    }
    state.store.accounts().retire_staff(id, crate::store::to_micros(time::OffsetDateTime::now_utc())).await?;
    for session in state.auth.live_sessions().await?.remove(&id).unwrap_or_default() {
        state.auth.revoke(&session.id).await?;
    }
    state.writer.reload_roster().await?;
    state.auth.audit(caller.staff.id, Audited::RetireStaff { staff: id, role: staff.role }).await?;
    state.auth.staff_changed(id);
    tracing::info!(staff = id, by = caller.staff.id, "staff member retired");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffChange {
    #[schema(min_length = 1, max_length = 40, pattern = "\\S")]
    pub name: Option<String>,
    /// A mobile or landline; `null` for none, absent to keep it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    pub role: Option<Role>,
    /// The area nodes they answer for (a head covers the subtrees).
    pub nodes: Option<Vec<NodeId>>,
    /// An operator's sampling point; `null` for none, absent to keep it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub point_id: Option<Option<i64>>,
}

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`, by default).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

/// Changes a staff member's name, phone, role, area or point, by the same rules as a new
/// one. Takes effect at once: the next request
/// is checked against it, their open live feeds reconnect under it, and the missing
/// residents of a node added to a grid member (head, chief) now answer to them. Recorded
/// in the audit log with who and when.
#[utoipa::path(patch, path = "/api/staff/{id}", params(("id" = i64, Path)), request_body = StaffChange,
    security(("bearer" = []), ("token" = [])),
    responses((status = 200, body = StaffView), (status = 403), (status = 404),
        (status = 409, description = "`phone_taken`, or `last_admin`")))]
pub async fn change_staff(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<StaffId>,
    ApiJson(change): ApiJson<StaffChange>,
) -> Result<Json<StaffView>, ApiError> {
    let staff = managed(&state, &caller, id)?;
    let roster = state.hub.roster();
    let phone = match change.phone {
        None => staff.phone.clone(),
        Some(p) => p.as_deref().filter(|p| !p.trim().is_empty()).map(staff_phone).transpose()?,
    };
    let wanted = Wanted {
        name: match &change.name {
            Some(name) => staff_name(name)?.to_owned(),
            None => staff.name.clone(),
        },
        phone,
        role: change.role.unwrap_or(staff.role),
        nodes: change.nodes.unwrap_or_else(|| staff.nodes.clone()),
        point_id: change.point_id.unwrap_or(staff.point_id),
    };
    wanted.check(&roster, &caller, Some(id))?;
    keeps_an_admin(&state, &staff, wanted.role)?;
    let responsible_for = wanted.responsible_for(&roster, Some(&staff));
    state.store.accounts().update_staff(id, &wanted.row(), &wanted.nodes, &responsible_for).await?;
    state.writer.reload_roster().await?;
    let act = Audited::ChangeStaff {
        staff: id,
        role: Change::new(staff.role, wanted.role),
        nodes: Change::new(staff.nodes.clone(), wanted.nodes.clone()),
        point: Change::new(staff.point_id, wanted.point_id),
        renamed: wanted.name != staff.name || wanted.phone != staff.phone,
    };
    state.auth.audit(caller.staff.id, act).await?;
    state.auth.staff_changed(id);
    tracing::info!(staff = id, by = caller.staff.id, "staff member changed");
    view_of(&state, &caller, id).await
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NodeView {
    pub id: NodeId,
    pub parent: Option<NodeId>,
    pub level: String,
    pub name: String,
    pub staff_id: Option<StaffId>,
}

/// The area tree the caller manages.
#[utoipa::path(get, path = "/api/nodes",
    security(("bearer" = []), ("token" = [])), responses((status = 200, body = Vec<NodeView>), (status = 403)))]
pub async fn list_nodes(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<NodeView>>, ApiError> {
    caller.require(MANAGERS)?;
    let roster = &state.hub.roster();
    let nodes = roster
        .nodes()
        .iter()
        .enumerate()
        .filter(|(i, _)| caller.scope.covers_node(roster, *i))
        .map(|(_, n)| NodeView {
            id: n.id,
            parent: n.parent,
            level: n.level.clone(),
            name: n.name.clone(),
            staff_id: n.staff_id,
        })
        .collect();
    Ok(Json(nodes))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PairingCode {
    /// `ABCD-EFGH`: works once, until `expires_at`.
    pub code: String,
    /// The link the QR code holds.
    pub url: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The QR code of `url`, as SVG.
    pub qr_svg: String,
}

/// A one-time pairing code (and its QR code) that signs one phone in as this staff member.
#[utoipa::path(post, path = "/api/staff/{id}/pairing-codes", params(("id" = i64, Path)),
    security(("bearer" = []), ("token" = [])),
    responses((status = 201, body = PairingCode), (status = 403), (status = 404)))]
pub async fn create_pairing_code(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<StaffId>,
) -> Result<(StatusCode, Json<PairingCode>), ApiError> {
    let staff = managed(&state, &caller, id)?;
    let (code, expires_at) = state.auth.create_pairing(staff.id, caller.staff.id).await?;
    let base = state.public_url.clone().unwrap_or_else(|| {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1:8080");
        format!("{}://{host}", state.scheme)
    });
    let url = format!("{base}/pair.html?code={code}");
    let qr = qrcode::QrCode::new(url.as_bytes()).map_err(|e| ApiError::Internal(format!("QR code: {e}")))?;
    let qr_svg = qr.render::<qrcode::render::svg::Color>().min_dimensions(240, 240).build();
    state.auth.audit(caller.staff.id, Audited::PairingCode { staff: staff.id }).await?;
    Ok((StatusCode::CREATED, Json(PairingCode { code, url, expires_at, qr_svg })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordIn {
    #[schema(min_length = 10)]
    pub password: String,
}

/// Sets a password for signing in at a computer (admins only).
#[utoipa::path(put, path = "/api/staff/{id}/password", params(("id" = i64, Path)), request_body = PasswordIn,
    security(("bearer" = []), ("token" = [])),
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn set_password(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<StaffId>,
    ApiJson(body): ApiJson<PasswordIn>,
) -> Result<StatusCode, ApiError> {
    caller.require(&[Role::Admin])?;
    let staff = managed(&state, &caller, id)?;
    if body.password.chars().count() < 10 {
        return Err(ApiError::InvalidField { field: "password".into(), message: field::password_short() });
    }
    state.auth.set_password(staff.id, body.password).await?;
    state.auth.audit(caller.staff.id, Audited::SetPassword { staff: staff.id }).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Signs a device out at once (a lost phone): its token stops working, its open live
/// feeds close. Staff may also end their own sessions.
#[utoipa::path(post, path = "/api/sessions/{id}/revoke", params(("id" = String, Path)),
    security(("bearer" = []), ("token" = [])),
    responses((status = 204), (status = 404)))]
pub async fn revoke_session(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::NotFound { what: "session", id: id.clone() };
    let owner = state.auth.session_owner(&id).await?.ok_or_else(not_found)?;
    if owner != caller.staff.id {
        managed(&state, &caller, owner).map_err(|_| not_found())?;
    }
    state.auth.revoke(&id).await?;
    state.auth.audit(caller.staff.id, Audited::RevokeSession { staff: owner }).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// At most this many entries (default 50, at most 500).
    pub limit: Option<i64>,
    /// The `next` cursor of the previous page.
    #[param(pattern = "^[0-9]{1,18}$")]
    pub cursor: Option<String>,
    #[serde(default)]
    #[param(ignore)]
    #[allow(dead_code)]
    token: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub staff_id: StaffId,
    pub staff_name: String,
    /// What was done: a stable code (`read_phones`, `pairing_code`, …).
    pub what: String,
    /// `what` in the caller's language (`Accept-Language`), for the admin page.
    pub label: String,
    /// The specifics (whom, which areas, what changed) in the caller's language.
    pub detail: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next: Option<String>,
}

/// Who read unmasked personal data, made pairing codes, revoked devices, set passwords.
#[utoipa::path(get, path = "/api/audit", params(AuditQuery),
    security(("bearer" = []), ("token" = [])), responses((status = 200, body = AuditPage), (status = 403)))]
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    caller.require(MANAGERS)?;
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let before = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| ApiError::InvalidField { field: "cursor".into(), message: field::cursor() })?,
        ),
    };
    let rows = state.auth.audit_page(before, limit).await?;
    let roster = &state.hub.roster();
    let lang = crate::messages::Lang::current();
    let next = (rows.len() as i64 == limit).then(|| rows.last().map(|r| r.id.to_string())).flatten();
    let entries = rows
        .into_iter()
        .map(|r| AuditEntry {
            id: r.id,
            at: rfc3339(r.at),
            staff_id: r.staff_id,
            staff_name: roster.staff_member(r.staff_id).map(|s| s.name.clone()).unwrap_or_default(),
            label: crate::messages::audit::label(&r.what, lang),
            detail: crate::messages::audit::detail(&r.what, &r.detail, roster, lang),
            what: r.what,
        })
        .collect();
    Ok(Json(AuditPage { entries, next }))
}
