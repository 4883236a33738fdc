//! The OpenAPI document, served at `/api/openapi.json`: generated from the handlers'
//! annotations and types, plus what every operation answers because of its extractors
//! (see [`Answers`]). It is the contract: schemathesis (`scripts/test`) checks it against a
//! running server, and the authorization matrix (`tests/api/authz.rs`) is built from it,
//! so a route the router has and this list lacks fails a test.

use super::{actions, auth, import, points, staff};
use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr, Response};
use utoipa::{Modify, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(title = "Muster", description = "Account for every person in scope, live."),
    paths(
        actions::list_actions,
        actions::create_action,
        actions::get_action,
        actions::post_events,
        actions::post_scan,
        actions::missing,
        super::households::households,
        super::scan::point_roster,
        super::scan::lookup,
        super::tubes::tube,
        super::callups::call_ups,
        super::callups::reach,
        super::chain::chain,
        super::report::get_report,
        super::tubes::resident_tubes,
        super::tubes::flagged,
        super::tubes::walk_ins,
        super::results::list_tubes,
        super::results::upload_results,
        super::tubes::decide_walk_in,
        super::cards::resolve_code,
        super::cards::print_cards,
        super::cards::reissue_card,
        actions::live,
        import::import_roster,
        import::template,
        auth::pair,
        auth::login,
        auth::logout,
        auth::setup,
        staff::list_staff,
        staff::create_staff,
        staff::retire_staff,
        points::list_points,
        points::create_point,
        points::change_point,
        points::retire_point,
        super::channels::list_channels,
        super::channels::create_channel,
        super::channels::change_channel,
        super::channels::retire_channel,
        super::channels::test_channel,
        super::channels::list_deliveries,
        staff::change_staff,
        staff::list_nodes,
        staff::create_pairing_code,
        staff::set_password,
        staff::revoke_session,
        staff::audit,
        super::me,
        super::healthz,
        super::openapi_json,
        super::render_metrics,
    ),
    components(schemas(Problem)),
    modifiers(&Security, &Answers)
)]
pub struct ApiDoc;

/// Every error answer, as [`super::ApiError`] writes it: RFC 9457 problem details
/// (`type`, `title`, `status`, `detail`) with our stable `code` and a `message` for a
/// person, plus the specifics a client needs to act on, present only where they apply.
/// Only the document uses this type; `ApiError::into_response` is what writes answers,
/// and `tests/api/bad_input.rs` reads them back against it.
#[derive(Serialize, ToSchema)]
pub struct Problem {
    /// `https://muster.invalid/problems/CODE`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP status's reason phrase.
    pub title: String,
    pub status: u16,
    /// The same as `message`.
    pub detail: String,
    /// Stable and machine-readable: `invalid_field`, `unknown_resident`, `event_id_reused` …
    pub code: String,
    /// For a person: what is wrong and what to do.
    pub message: String,
    /// `invalid_field`: the field at fault (`id`, `limit`, `events[2].device_time` …).
    pub field: Option<String>,
    /// `event_id_reused`: the event of the batch.
    pub index: Option<usize>,
    /// `body_too_large`: the limit in bytes.
    pub limit: Option<usize>,
    /// `events_rejected`: each refused event of the batch.
    pub errors: Option<Vec<BatchError>>,
    /// `roster_invalid`, `results_invalid`: every problem in the sheet.
    #[schema(inline)]
    pub problems: Option<Vec<crate::roster::import::Problem>>,
    /// `too_many_attempts`: seconds to wait (also the `Retry-After` header).
    pub retry_after: Option<u64>,
}

/// One refused event of a batch.
#[derive(Serialize, ToSchema)]
pub struct BatchError {
    pub index: usize,
    pub code: String,
    pub message: String,
}

/// The ways to present a session's token: the `Authorization` header, or `?token=` where
/// a browser cannot set headers (the WebSocket, links).
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        let bearer = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some(
            "A session token, from pairing a device (`POST /api/auth/pair`) or signing in (`POST /api/auth/login`).",
        ));
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer.build()));
        let query = ApiKeyValue::with_description("token", "The same token, where a browser cannot set headers.");
        components.add_security_scheme("token", SecurityScheme::ApiKey(ApiKey::Query(query)));
    }
}

/// The answers an operation gives because of its extractors, added to every operation
/// that has them: `401`/`503` where a token is needed (the `Caller` extractor: no or an
/// unknown token; sessions unreadable), `400` where there are parameters or a body to
/// parse (`ApiPath`, `ApiQuery`, `ApiJson`), `413` where there is a body. And every error
/// answer listed without content gets the problem schema.
struct Answers;

impl Modify for Answers {
    fn modify(&self, doc: &mut Document) {
        let problem = || {
            let content = Content::new(Some(RefOr::Ref(Ref::from_schema_name("Problem"))));
            move |description: &str| {
                let mut r = Response::new(description);
                r.content.insert("application/problem+json".into(), RefOr::T(content.clone()));
                r
            }
        };
        let problem = problem();
        for item in doc.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete] {
                let Some(op) = op else { continue };
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let parsed = op.request_body.is_some() || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let mut add = |status: &str, description: &str| {
                    op.responses.responses.entry(status.into()).or_insert_with(|| RefOr::T(problem(description)));
                };
                if parsed {
                    add("400", "`invalid_field` (`field` names it) or `invalid_json`: the request is malformed");
                }
                if secured {
                    add("401", "`unauthorized`: no token, or not a live session's");
                    add("503", "`storage_unavailable`: the database is unreachable; nothing was recorded, retry");
                }
                if op.request_body.is_some() {
                    add("413", "`body_too_large`: the body is over the limit (`limit`)");
                }
                for (status, response) in op.responses.responses.iter_mut() {
                    let error = status.starts_with('4') || status.starts_with('5');
                    if let (true, RefOr::T(r)) = (error, response)
                        && r.content.is_empty()
                    {
                        *r = problem(&r.description);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ApiDoc;
    use serde_json::Value;
    use utoipa::OpenApi;

    fn operations() -> Vec<(String, Value)> {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let paths = doc["paths"].as_object().unwrap().clone();
        paths
            .into_iter()
            .flat_map(|(path, ops)| {
                ops.as_object().unwrap().clone().into_iter().map(move |(m, op)| (format!("{m} {path}"), op))
            })
            .collect()
    }

    #[test]
    fn only_path_templates_are_path_parameters_and_every_error_is_a_problem() {
        for (label, op) in operations() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                if p["in"] == "path" {
                    assert!(label.contains(&format!("{{{name}}}")), "{label}: `{name}` is not in the path");
                }
            }
            for (status, answer) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    let schema = &answer["content"]["application/problem+json"]["schema"]["$ref"];
                    assert_eq!(schema, "#/components/schemas/Problem", "{label} {status}");
                }
            }
            if op["security"].is_array() {
                assert!(op["responses"]["401"].is_object(), "{label} needs a token and does not list 401");
            }
        }
    }

    #[test]
    fn an_event_of_a_batch_is_documented_flat_as_it_is_sent() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let kinds = doc["components"]["schemas"]["EventIn"]["oneOf"].as_array().unwrap().clone();
        assert_eq!(kinds.len(), 24);
        for kind in kinds {
            let fields = kind["properties"].as_object().unwrap();
            assert!(["id", "device_time", "type"].iter().all(|f| fields.contains_key(*f)), "{kind}");
            assert!(!fields.contains_key("body"));
            assert_eq!(kind["additionalProperties"], false);
        }
    }
}
