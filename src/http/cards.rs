//! Household cards over HTTP: what a code on a card answers to (`GET /api/codes/{code}`,
//! for the sampling point's scanner and the grid roles' phones), the print document
//! (`GET /api/cards`, for the admin page), and reissuing a lost card. The codes and the
//! document are `crate::cards`'; this file checks who asks and shapes the answers.

use super::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use super::staff::MANAGERS;
use super::{ApiError, AppState};
use crate::cards::{self, Code, Lookup};
use crate::messages::api::field;
use crate::messages::audit::Audited;
use crate::roster::{HouseholdId, ResidentId, Role, Roster};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/codes/{code}", get(resolve_code))
        .route("/api/cards", get(print_cards))
        .route("/api/cards/{household}/reissue", post(reissue_card))
}

/// Who may read what a card code answers to: everyone who scans or visits residents.
/// Grid heads and members only within their area; the others (who sample whoever
/// comes to them) anywhere.
const SCANNERS: &[Role] = &[Role::Admin, Role::Chief, Role::GridHead, Role::GridMember, Role::Operator, Role::Medic];

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CodeKind {
    /// The household's big QR code: pick who is here from its residents.
    Household,
    /// One resident's small QR code.
    Resident,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CardResident {
    pub id: ResidentId,
    pub name: String,
    /// Masked: `1101**********123X`.
    pub id_number: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CardHousehold {
    pub id: HouseholdId,
    pub number: String,
    pub address: String,
    /// Its residents on the roster now, in roster order.
    pub residents: Vec<CardResident>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CodeAnswer {
    pub kind: CodeKind,
    pub household: CardHousehold,
    /// The resident whose code it is (`kind` `resident` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resident_id: Option<ResidentId>,
}

/// What a code on a household card answers to: the household and its residents (and
/// the resident, for a resident's code). Spaces, dashes and lower case are read as the
/// card prints them.
#[utoipa::path(get, path = "/api/codes/{code}", params(("code" = String, Path, description = "16 letters and digits, as on the card")),
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 200, body = CodeAnswer),
        (status = 400, description = "`malformed_code`: not a card code (wrong length or letters)"),
        (status = 403, description = "`forbidden`, or `out_of_your_scope`: a grid role's card from outside their area"),
        (status = 404, description = "`unknown_code`: no card of this roster has the code"),
        (status = 410, description = "`code_reissued`: the card was replaced; ask for the new one or search by name"),
    ))]
#[tracing::instrument(level = "debug", skip_all, fields(staff = caller.staff.id))]
pub async fn resolve_code(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<CodeAnswer>, ApiError> {
    caller.require(SCANNERS)?;
    let code = Code::parse(&raw).map_err(ApiError::MalformedCode)?;
    let roster = state.hub.roster();
    let (household, resident) = match cards::look_up(state.store.as_ref(), &roster, &code).await? {
        Lookup::Found { household, resident } => (household, resident),
        Lookup::Replaced => return Err(ApiError::CodeReissued),
        Lookup::Unknown => return Err(ApiError::UnknownCode),
    };
    if matches!(caller.staff.role, Role::GridHead | Role::GridMember) && !covers(&roster, &caller, household) {
        return Err(ApiError::OutOfScope(field::household_outside_yours(household)));
    }
    let h = roster.household(household).ok_or(ApiError::UnknownCode)?;
    let members = cards::residents_by_household(&roster).remove(&household).unwrap_or_default();
    let residents = members
        .into_iter()
        .map(|i| {
            let r = &roster.residents()[i];
            CardResident { id: r.id, name: r.name.clone(), id_number: r.id_number.masked() }
        })
        .collect();
    let kind = if resident.is_some() { CodeKind::Resident } else { CodeKind::Household };
    let household = CardHousehold { id: h.id, number: h.number.clone(), address: h.address.clone(), residents };
    Ok(Json(CodeAnswer { kind, household, resident_id: resident }))
}

/// Whether the household is in the caller's area.
fn covers(roster: &Roster, caller: &Caller, household: HouseholdId) -> bool {
    let node = roster.household(household).and_then(|h| roster.node_idx(h.node_id));
    node.is_some_and(|n| caller.scope.resolve_in(roster).covers_node(roster, n))
}

/// A household the caller manages: 404 if the roster has none of that id, 403 if it is
/// outside their area.
fn managed(roster: &Roster, caller: &Caller, household: HouseholdId) -> Result<(), ApiError> {
    caller.require(MANAGERS)?;
    if roster.household(household).is_none() {
        return Err(ApiError::NotFound { what: "household", id: household.to_string() });
    }
    if !covers(roster, caller, household) {
        return Err(ApiError::OutOfScope(field::household_outside_yours(household)));
    }
    Ok(())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CardsQuery {
    /// Only this household's card (to print a reissued one).
    pub household: Option<HouseholdId>,
    /// Only the card of the household with this number (户号), as the village knows it.
    pub number: Option<String>,
    /// The `token` security scheme; read by the `Caller` extractor. The admin page opens
    /// the document in a window of its own, which cannot send a header.
    #[serde(default)]
    #[param(ignore)]
    #[allow(dead_code)]
    token: Option<String>,
}

/// The print document of household cards: every household in the caller's area, or one.
/// Self-contained A4 HTML (inline SVG QR codes, print CSS, nothing to fetch); codes are
/// issued for households and residents that have none.
#[utoipa::path(get, path = "/api/cards", params(CardsQuery),
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 200, body = String, content_type = "text/html"),
        (status = 403, description = "`forbidden`: admins and chiefs print cards; `out_of_your_scope`"),
        (status = 404, description = "`not_found`: no such household"),
    ))]
#[tracing::instrument(level = "debug", skip_all, fields(staff = caller.staff.id))]
pub async fn print_cards(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<CardsQuery>,
) -> Result<Response, ApiError> {
    caller.require(MANAGERS)?;
    let roster = state.hub.roster();
    let one = match (q.household, q.number.as_deref().map(str::trim)) {
        (Some(h), _) => Some(h),
        (None, Some(number)) => Some(
            roster
                .households()
                .iter()
                .find(|h| h.number == number)
                .ok_or_else(|| ApiError::NotFound { what: "household", id: number.to_owned() })?
                .id,
        ),
        (None, None) => None,
    };
    let households = match one {
        Some(h) => {
            managed(&roster, &caller, h)?;
            vec![h]
        }
        None => {
            let scope = caller.scope.resolve_in(&roster);
            cards::print::households_to_print(&roster, |n| scope.covers_node(&roster, n))
        }
    };
    let now = time::OffsetDateTime::now_utc();
    let doc = cards::print::render(state.store.as_ref(), &roster, &households, now).await?;
    let act = Audited::PrintCards { households: doc.households, household: one };
    state.auth.audit(caller.staff.id, act).await?;
    tracing::info!(households = doc.households, pages = doc.pages, "household cards printed");
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
        // Names and codes: not for a shared cache or the browser's disk.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        // The document needs its inline style and inline SVG only, and runs nothing.
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'",
            ),
        ),
    ];
    Ok((headers, doc.html).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReissueIn {
    /// Only this resident's code; without it, the whole card (the household's code and
    /// every resident's).
    #[serde(default)]
    pub resident_id: Option<ResidentId>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReissueAnswer {
    pub household_id: HouseholdId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resident_id: Option<ResidentId>,
    /// Old codes that answer `code_reissued` from now on.
    pub replaced: u64,
    /// New codes issued: print `GET /api/cards?household=` this household.
    pub issued: usize,
}

/// Replaces a lost card: new codes for the household and its residents (or one
/// resident); the old card's codes answer `410 code_reissued` from now on. Audited.
#[utoipa::path(post, path = "/api/cards/{household}/reissue", params(("household" = i64, Path)), request_body = ReissueIn,
    security(("bearer" = []), ("token" = [])),
    responses(
        (status = 200, body = ReissueAnswer),
        (status = 400, description = "`invalid_field` on `resident_id`: not one of the household's"),
        (status = 403, description = "`forbidden`: admins and chiefs reissue cards; `out_of_your_scope`"),
        (status = 404, description = "`not_found`: no such household"),
    ))]
#[tracing::instrument(level = "debug", skip_all, fields(staff = caller.staff.id, household = household))]
pub async fn reissue_card(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(household): ApiPath<HouseholdId>,
    ApiJson(body): ApiJson<ReissueIn>,
) -> Result<Json<ReissueAnswer>, ApiError> {
    let roster = state.hub.roster();
    managed(&roster, &caller, household)?;
    if let Some(r) = body.resident_id {
        let lives_here = roster
            .resident_idx(r)
            .is_some_and(|i| roster.residents()[i].household_id == household && !roster.is_removed(r));
        if !lives_here {
            let message = field::resident_not_in_household(r, household);
            return Err(ApiError::InvalidField { field: "resident_id".into(), message });
        }
    }
    let now = time::OffsetDateTime::now_utc();
    let done = cards::reissue(state.store.as_ref(), &roster, household, body.resident_id, now).await?;
    let act = Audited::ReissueCard { household, resident: body.resident_id, replaced: done.replaced };
    state.auth.audit(caller.staff.id, act).await?;
    tracing::info!(household, replaced = done.replaced, issued = done.issued, "household card reissued");
    Ok(Json(ReissueAnswer {
        household_id: household,
        resident_id: body.resident_id,
        replaced: done.replaced,
        issued: done.issued,
    }))
}
