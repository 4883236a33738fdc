//! Outbound channels by hand, for admins and chiefs: list the channels of their area,
//! add one to an area node (a WeCom or DingTalk group robot, a Feishu bot, a signed
//! webhook), retire one, send a test message through its queue, and read its deliveries.
//! A secret goes in once and never comes back out: answers say `secret_set`, and show a
//! URL only by its origin (the rest may carry the robot's key).

use super::extract::{ApiJson, ApiPath, Caller};
use super::staff::MANAGERS;
use super::{ApiError, AppState};
use crate::messages::api::field;
use crate::messages::audit::Audited;
use crate::notify::{Channel, ChannelId, ChannelUrl, Kind, Message, MessageKind, Outcome, Secret};
use crate::roster::{NodeId, Roster};
use crate::store::channels::{ChannelRow, DeliveryRow, NewChannel};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/channels", get(list_channels).post(create_channel))
        .route("/api/channels/{id}", patch(change_channel))
        .route("/api/channels/{id}/retire", post(retire_channel))
        .route("/api/channels/{id}/test", post(test_channel))
        .route("/api/channels/{id}/deliveries", get(list_deliveries))
}

/// The longest channel name accepted.
const NAME_MAX: usize = 60;
/// The longest secret accepted (the services' are 64 characters or fewer).
const SECRET_MAX: usize = 200;
/// How many deliveries a list shows: the newest.
const DELIVERIES_SHOWN: i64 = 200;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChannelView {
    pub id: ChannelId,
    pub node_id: NodeId,
    pub kind: Kind,
    pub name: String,
    /// The URL's scheme, host and port only: the rest may carry the robot's key.
    pub origin: String,
    /// Whether a signing secret is stored (it is never shown again).
    pub secret_set: bool,
    /// Whether the group gets the hourly progress summary of each open action.
    pub summary: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelIn {
    pub node_id: NodeId,
    pub kind: Kind,
    #[schema(min_length = 1, max_length = 60, pattern = "\\S")]
    pub name: String,
    /// The robot's webhook address as its settings show it (http or https).
    #[schema(min_length = 1, max_length = 2000)]
    pub url: String,
    /// The signing secret: required for `dingtalk`, `feishu` and `webhook`; ignored for
    /// `wecom` (its key is in the URL).
    #[schema(max_length = 200)]
    pub secret: Option<String>,
    /// Whether the group gets the hourly progress summary (off when left out).
    #[serde(default)]
    pub summary: bool,
}

/// What may change on a channel in use (its address or secret do not: retire it and add
/// it again).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelChange {
    /// Whether the group gets the hourly progress summary.
    pub summary: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Queued {
    /// The test message's id, as its delivery names it.
    pub message_id: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    /// The messages it carried: several waiting ones are coalesced into one delivery.
    pub message_ids: Vec<String>,
    /// What each of them was, in the same order (empty for deliveries recorded before
    /// kinds were kept).
    pub kinds: Vec<MessageKind>,
    pub attempts: i64,
    pub outcome: Outcome,
    /// The service's error code (or the HTTP status) of a refusal or of the last failure.
    pub errcode: Option<i64>,
    /// The service's own words for it.
    pub errmsg: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub queued_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
}

fn from_micros(us: i64) -> Result<OffsetDateTime, ApiError> {
    crate::store::from_micros(us).map_err(|e| ApiError::Internal(e.to_string()))
}

fn view(c: &Channel) -> Result<ChannelView, ApiError> {
    Ok(ChannelView {
        id: c.id,
        node_id: c.node_id,
        kind: c.kind,
        name: c.name.clone(),
        origin: c.url.origin(),
        secret_set: c.secret.is_some(),
        summary: c.summary,
        created_at: from_micros(c.created_at)?,
    })
}

fn delivery_view(d: DeliveryRow) -> Result<DeliveryView, ApiError> {
    let outcome =
        Outcome::parse(&d.outcome).ok_or_else(|| ApiError::Internal(format!("delivery {}: outcome", d.id)))?;
    Ok(DeliveryView {
        id: d.id,
        message_ids: d.message_id.split(',').map(str::to_owned).collect(),
        kinds: d.kinds.split(',').filter_map(MessageKind::parse).collect(),
        attempts: d.attempts,
        outcome,
        errcode: d.errcode,
        errmsg: d.errmsg,
        queued_at: from_micros(d.queued_at)?,
        finished_at: from_micros(d.finished_at)?,
    })
}

/// Whether the caller answers for the channel's node.
fn covers(roster: &Roster, caller: &Caller, node: NodeId) -> bool {
    caller.scope.all || roster.node_idx(node).is_some_and(|i| caller.scope.covers_node(roster, i))
}

/// A channel in use that the caller manages, or 404.
async fn managed(state: &AppState, caller: &Caller, id: ChannelId) -> Result<Channel, ApiError> {
    caller.require(MANAGERS)?;
    let not_found = || ApiError::NotFound { what: "channel", id: id.to_string() };
    let row: ChannelRow = state.store.accounts().channel(id).await?.ok_or_else(not_found)?;
    if row.retired_at.is_some() || !covers(&state.hub.roster(), caller, row.node_id) {
        return Err(not_found());
    }
    Channel::try_from(row).map_err(ApiError::from)
}

/// The channels of the caller's area, secrets never shown.
#[utoipa::path(get, path = "/api/channels",
    security(("bearer" = []), ("token" = [])), responses((status = 200, body = Vec<ChannelView>), (status = 403)))]
pub async fn list_channels(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<ChannelView>>, ApiError> {
    caller.require(MANAGERS)?;
    let roster = state.hub.roster();
    let mut views = Vec::new();
    for row in state.store.accounts().channels().await? {
        if covers(&roster, &caller, row.node_id) {
            views.push(view(&Channel::try_from(row)?)?);
        }
    }
    Ok(Json(views))
}

/// Adds an outbound channel to an area node; messages for the node go to it from now on.
#[utoipa::path(post, path = "/api/channels", request_body = ChannelIn,
    security(("bearer" = []), ("token" = [])),
    responses((status = 201, body = ChannelView), (status = 400, description = "`invalid_field` on `url`, `secret`, `name` or `node_id`"), (status = 403)))]
#[tracing::instrument(skip_all, fields(by = caller.staff.id))]
pub async fn create_channel(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<ChannelIn>,
) -> Result<(StatusCode, Json<ChannelView>), ApiError> {
    caller.require(MANAGERS)?;
    {
        let roster = state.hub.roster();
        let idx = roster.node_idx(new.node_id).ok_or_else(|| ApiError::InvalidField {
            field: "node_id".into(),
            message: field::no_such_node(new.node_id),
        })?;
        if !caller.scope.covers_node(&roster, idx) {
            return Err(ApiError::OutOfScope(field::node_outside_yours(new.node_id)));
        }
    }
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        return Err(ApiError::InvalidField { field: "name".into(), message: field::text_length("name", 1, NAME_MAX) });
    }
    let url = ChannelUrl::parse(&new.url)
        .map_err(|why| ApiError::InvalidField { field: "url".into(), message: field::channel_url(why) })?;
    let secret = match new.secret.as_deref().map(str::trim) {
        _ if !new.kind.signs() => None,
        Some(s) if !s.is_empty() && s.chars().count() <= SECRET_MAX => Some(Secret::new(s.to_owned())),
        Some(s) if !s.is_empty() => {
            let message = field::text_length("secret", 1, SECRET_MAX);
            return Err(ApiError::InvalidField { field: "secret".into(), message });
        }
        _ => return Err(ApiError::InvalidField { field: "secret".into(), message: field::channel_secret(new.kind) }),
    };
    let created_at = crate::store::to_micros(OffsetDateTime::now_utc());
    let row = NewChannel {
        node_id: new.node_id,
        kind: new.kind.as_str(),
        name,
        url: url.as_str(),
        secret: secret.as_ref().map(Secret::expose),
        created_at,
        summary: new.summary,
    };
    let id = state.store.accounts().insert_channel(&row).await?;
    let channel = Channel {
        id,
        node_id: new.node_id,
        kind: new.kind,
        name: name.to_owned(),
        url,
        secret,
        created_at,
        summary: new.summary,
    };
    state.notifier.add(channel.clone());
    let act = Audited::AddChannel { channel: id, node: new.node_id, kind: new.kind };
    state.auth.audit(caller.staff.id, act).await?;
    tracing::info!(channel = id, node = new.node_id, kind = new.kind.as_str(), "channel added");
    Ok((StatusCode::CREATED, Json(view(&channel)?)))
}

/// Changes whether a channel's group gets the hourly progress summary.
#[utoipa::path(patch, path = "/api/channels/{id}", params(("id" = i64, Path)), request_body = ChannelChange,
    security(("bearer" = []), ("token" = [])),
    responses((status = 200, body = ChannelView), (status = 400), (status = 403), (status = 404)))]
#[tracing::instrument(skip_all, fields(channel = id, by = caller.staff.id))]
pub async fn change_channel(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ChannelId>,
    ApiJson(change): ApiJson<ChannelChange>,
) -> Result<Json<ChannelView>, ApiError> {
    let mut channel = managed(&state, &caller, id).await?;
    if channel.summary != change.summary {
        if !state.store.accounts().set_channel_summary(id, change.summary).await? {
            return Err(ApiError::NotFound { what: "channel", id: id.to_string() });
        }
        state.notifier.set_summary(id, change.summary);
        let act = Audited::ChannelSummary { channel: id, node: channel.node_id, on: change.summary };
        state.auth.audit(caller.staff.id, act).await?;
        tracing::info!(summary = change.summary, "channel changed");
        channel.summary = change.summary;
    }
    Ok(Json(view(&channel)?))
}

/// Retires a channel: nothing more is sent to it; its deliveries stay.
#[utoipa::path(post, path = "/api/channels/{id}/retire", params(("id" = i64, Path)),
    security(("bearer" = []), ("token" = [])), responses((status = 204), (status = 403), (status = 404)))]
#[tracing::instrument(skip_all, fields(channel = id, by = caller.staff.id))]
pub async fn retire_channel(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ChannelId>,
) -> Result<StatusCode, ApiError> {
    let channel = managed(&state, &caller, id).await?;
    let now = crate::store::to_micros(OffsetDateTime::now_utc());
    if !state.store.accounts().retire_channel(id, now).await? {
        return Err(ApiError::NotFound { what: "channel", id: id.to_string() });
    }
    state.notifier.remove(id);
    let act = Audited::RemoveChannel { channel: id, node: channel.node_id, kind: channel.kind };
    state.auth.audit(caller.staff.id, act).await?;
    tracing::info!("channel retired");
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a test message through the channel's queue (as any message goes: paced,
/// retried, recorded); its delivery shows in the channel's deliveries.
#[utoipa::path(post, path = "/api/channels/{id}/test", params(("id" = i64, Path)),
    security(("bearer" = []), ("token" = [])), responses((status = 202, body = Queued), (status = 403), (status = 404)))]
pub async fn test_channel(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ChannelId>,
) -> Result<(StatusCode, Json<Queued>), ApiError> {
    let channel = managed(&state, &caller, id).await?;
    let link = state.public_url.clone();
    let message = Message::new(MessageKind::Test, crate::messages::notify::test_message(&channel.name), link);
    let message_id = message.id.to_string();
    if !state.notifier.post_to(id, message) {
        return Err(ApiError::NotFound { what: "channel", id: id.to_string() });
    }
    Ok((StatusCode::ACCEPTED, Json(Queued { message_id })))
}

/// The channel's deliveries, newest first (the latest 200): sent, refused with the
/// service's error, or given up after every try.
#[utoipa::path(get, path = "/api/channels/{id}/deliveries", params(("id" = i64, Path)),
    security(("bearer" = []), ("token" = [])),
    responses((status = 200, body = Vec<DeliveryView>), (status = 403), (status = 404)))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ChannelId>,
) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    managed(&state, &caller, id).await?;
    let rows = state.store.accounts().deliveries(id, DELIVERIES_SHOWN).await?;
    Ok(Json(rows.into_iter().map(delivery_view).collect::<Result<_, _>>()?))
}
