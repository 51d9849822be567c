//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations
//! and the request and response types. `docs_page` renders it as HTML.

use super::routes::schemas::{self, SCHEMAS};
use super::routes::{
    account, assets, config, docs, endpoints, form_page, health, operator, public,
};
use super::wire::common::ErrorBody;
use super::wire::examples;
use serde_json::Value;
use std::sync::OnceLock;
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

/// Every documented operation. `tests/api/openapi.rs` fails when a route registered in
/// [`super::configure`] is missing here.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "gaprelay",
        description = "Zero-retention relay for health intake data: a patient's intake form becomes a gap report, delivered to the practice's CRM/EHR as a signed (and optionally encrypted) webhook.\n\nEvery error, on every route, has one shape: `{\"error\": {\"code\", \"message\", \"details\"?}}`. Lists are paginated with `?cursor=&limit=` and answer `{\"data\": [...], \"next_cursor\"}`. Times are RFC 3339 in UTC; ids carry a prefix (`prac_`, `ep_`, `sub_`, `msg_`, `key_`)."
    ),
    paths(
        health::healthz,
        health::readyz,
        health::metrics,
        docs::openapi_json,
        docs::docs_page,
        schemas::schema,
        operator::create_practitioner,
        operator::list_practitioners,
        operator::suspend,
        operator::reinstate,
        operator::audit_log,
        account::get_practitioner,
        account::patch_practitioner,
        account::delete_practitioner,
        account::restore_practitioner,
        account::consent_versions,
        account::consent_version,
        account::export,
        account::import,
        account::create_api_key,
        account::list_api_keys,
        account::revoke_api_key,
        account::audit_log,
        config::markers,
        config::put_custom_marker,
        config::delete_custom_marker,
        config::symptoms,
        config::put_symptoms,
        config::put_range,
        config::delete_range,
        endpoints::create,
        endpoints::list,
        endpoints::update,
        endpoints::delete,
        endpoints::rotate,
        endpoints::test,
        endpoints::retry,
        endpoints::deliveries,
        public::form,
        public::intake,
        public::questionnaire,
        form_page::hosted_form,
        assets::form_js,
        assets::form_css,
        assets::embed_js,
        assets::demo,
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes, &ErrorResponses, &Summaries),
    tags(
        (name = "public", description = "The patient's form: no credentials."),
        (name = "account", description = "A practitioner's profile, settings, audit log and data rights (API key)."),
        (name = "api keys", description = "A practitioner's API keys and their roles (owner key)."),
        (name = "configuration", description = "Markers, ranges and symptoms the form offers (API key)."),
        (name = "endpoints", description = "Webhook endpoints that receive each submission (API key)."),
        (name = "operator", description = "Running the service: practitioners and the operator's audit log (admin token)."),
        (name = "health", description = "Liveness and readiness."),
        (name = "docs", description = "This reference."),
    )
)]
pub struct ApiDoc;

/// The credentials: the operator's admin token, a practitioner's API key and the
/// metrics scraper's token.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "operator",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "`Authorization: Bearer <admin token>`: the operator's token, configured on the server (`GAPRELAY_ADMIN_TOKEN`).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "metrics",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "`Authorization: Bearer <metrics token>`: the scraper's token, configured on the server (`GAPRELAY_METRICS_TOKEN`); without one `/metrics` is a 404.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "`Authorization: Bearer <api key>`: a practitioner's key with the role `owner` (everything), `editor` (configuration) or `viewer` (read only).",
                    ))
                    .build(),
            ),
        );
    }
}

/// The error responses every handler can give because of what it takes, added where
/// its annotation does not already name that status: credentials (401, and 403 for a
/// key whose role or account does not allow the action), a JSON body (`ApiJson`:
/// 400, 413, 415, 422), path or query parameters (404, 400), storage (503) and 500.
struct ErrorResponses;

/// A shared error response: its component name, status, description and examples.
type SharedError = (
    &'static str,
    &'static str,
    &'static str,
    fn() -> Vec<examples::Named>,
);

/// The shared error responses.
const ERRORS: &[SharedError] = &[
    ("BadRequest", "400", "Malformed JSON, unknown fields or an invalid query string (`bad_request`)", examples::bad_request),
    ("Unauthorized", "401", "Missing or invalid credentials (`unauthorized`)", examples::unauthorized),
    ("Forbidden", "403", "The key's role does not allow this (`forbidden`), or the account is suspended (`account_suspended`)", examples::forbidden),
    ("NotFound", "404", "No such resource (`not_found`)", examples::not_found),
    ("PayloadTooLarge", "413", "The body is larger than 64 KiB (`payload_too_large`)", examples::payload_too_large),
    ("UnsupportedMediaType", "415", "The body is not `application/json` (`unsupported_media_type`)", examples::unsupported_media_type),
    ("ValidationFailed", "422", "Well-formed but invalid: one `details` entry per offending field (`validation_failed`)", examples::validation_failed),
    ("Unavailable", "503", "The store is unavailable; nothing was accepted, retry (`unavailable`, with `Retry-After`)", examples::unavailable),
    ("InternalError", "500", "Opaque internal error (`internal_error`)", examples::internal_error),
];

/// The media type of a shared error response: the error shape, with its one example,
/// or its named examples when the error reads differently on different routes.
fn error_content(named: Vec<examples::Named>) -> Content {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody")));
    match <[examples::Named; 1]>::try_from(named) {
        Ok([(_, _, value)]) => content.example(Some(value)).build(),
        Err(several) => content
            .examples_from_iter(several.into_iter().map(|(name, summary, value)| {
                (
                    name,
                    ExampleBuilder::new()
                        .summary(summary)
                        .value(Some(value))
                        .build(),
                )
            }))
            .build(),
    }
}

impl Modify for ErrorResponses {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        for (name, _, description, named) in ERRORS {
            let response = ResponseBuilder::new()
                .description(*description)
                .content("application/json", error_content(named()))
                .build();
            components
                .responses
                .insert((*name).to_owned(), RefOr::T(response));
        }
        for (path, item) in doc.paths.paths.iter_mut() {
            let versioned = path.starts_with("/v1/");
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                add_error_responses(op, versioned);
            }
        }
    }
}

fn add_error_responses(op: &mut Operation, versioned: bool) {
    let schemes: Vec<String> = op
        .security
        .iter()
        .flatten()
        .filter_map(|s| serde_json::to_value(s).ok())
        .filter_map(|v| v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()))
        .flatten()
        .collect();
    let params = op.parameters.iter().flatten();
    let has_path = params
        .clone()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path));
    let has_query = params
        .clone()
        .any(|p| matches!(p.parameter_in, ParameterIn::Query));
    let mut wanted = Vec::new();
    if op.request_body.is_some() {
        wanted.extend([
            "BadRequest",
            "PayloadTooLarge",
            "UnsupportedMediaType",
            "ValidationFailed",
        ]);
    }
    if has_query {
        wanted.push("BadRequest");
    }
    if !schemes.is_empty() {
        wanted.push("Unauthorized");
    }
    if schemes.iter().any(|s| s == "api_key") {
        wanted.push("Forbidden");
    }
    if has_path {
        wanted.push("NotFound");
    }
    if versioned {
        wanted.push("Unavailable");
    }
    wanted.push("InternalError");
    for name in wanted {
        if let Some((_, status, _, _)) = ERRORS.iter().find(|(n, _, _, _)| *n == name) {
            op.responses
                .responses
                .entry((*status).to_owned())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
        }
    }
}

/// Handlers' doc comments open with their route (`` `GET /v1/markers`: … ``) for
/// readers of the code; the document shows method and path already, so its summaries
/// keep only the sentence.
struct Summaries;

impl Modify for Summaries {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                if let Some(summary) = op.summary.as_mut() {
                    *summary = summary_sentence(summary);
                }
            }
        }
    }
}

/// "`PATCH /v1/x` (operator): corrects\nthings." → "Corrects things."
fn summary_sentence(doc: &str) -> String {
    let joined = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    let rest = joined
        .strip_prefix('`')
        .and_then(|r| r.split_once('`'))
        .map(|(_, after)| after)
        .and_then(|after| after.split_once(": ").map(|(_, sentence)| sentence))
        .unwrap_or(&joined);
    let mut chars = rest.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => joined,
    }
}

/// The document as JSON, built once: utoipa's, with the webhooks added.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null);
        if doc.is_object() {
            add_webhooks(&mut doc);
        }
        doc
    })
}

/// Each event type sent, and the names of the schemas its `data` may follow when it
/// is not encrypted.
const EVENTS: &[(&str, &str)] = &[
    (
        "intake.submitted",
        "A patient submitted the practice's form. `data` follows the endpoint's format: `gaprelay.v1`, or a FHIR R4 transaction Bundle for `fhir-r4`.",
    ),
    (
        "endpoint.test",
        "`POST /v1/endpoints/{id}/test` was called: a fixed sample, no patient data.",
    ),
    (
        "endpoint.delivery_expired",
        "A submission did not reach another of the practice's endpoints within 24 hours: ids only.",
    ),
    (
        "endpoint.failing",
        "Another of the practice's endpoints keeps failing (at most once per endpoint per hour): ids, counts and times only.",
    ),
];

/// The component name under which the schema `name` (of `schemas/`) is kept.
fn webhook_component(name: &str) -> String {
    format!("Webhook.{name}")
}

/// Points a schema's references to its own `$defs` at the components they were moved to.
fn rewrite_refs(value: &mut Value, name: &str) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        if let Some(def) = r.strip_prefix("#/$defs/") {
                            *r = format!("#/components/schemas/{}.{def}", webhook_component(name));
                        }
                    }
                    (_, v) => rewrite_refs(v, name),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, name)),
        _ => {}
    }
}

fn component_ref(name: &str) -> Value {
    serde_json::json!({"$ref": format!("#/components/schemas/{name}")})
}

/// The top-level `webhooks` (OpenAPI 3.1), which utoipa does not build: one `POST` per
/// event type, its body the envelope with the event's payload schemas, and an example
/// of it as an endpoint without encryption receives it. The JSON Schemas of `schemas/`
/// become components (`Webhook.<name>`, their `$defs` beside them as
/// `Webhook.<name>.<def>`), so the document holds the same rules that are served at
/// `/schemas/{name}.json`.
fn add_webhooks(doc: &mut Value) {
    use serde_json::json;
    let mut components = serde_json::Map::new();
    for s in SCHEMAS {
        let Ok(Value::Object(mut schema)) = serde_json::from_str::<Value>(s.text) else {
            continue;
        };
        schema.remove("$schema");
        schema.remove("$id");
        if let Some(Value::Object(defs)) = schema.remove("$defs") {
            for (def, mut body) in defs {
                rewrite_refs(&mut body, s.name);
                components.insert(format!("{}.{def}", webhook_component(s.name)), body);
            }
        }
        let mut schema = Value::Object(schema);
        rewrite_refs(&mut schema, s.name);
        if let Some(fields) = schema.as_object_mut() {
            fields.insert(
                "externalDocs".to_owned(),
                json!({"description": "The JSON Schema", "url": format!("/schemas/{}.json", s.name)}),
            );
        }
        components.insert(webhook_component(s.name), schema);
    }
    let envelope = webhook_component("envelope");
    let header = |name: &str, description: &str| json!({"name": name, "in": "header", "required": true, "description": description, "schema": {"type": "string"}});
    let mut webhooks = serde_json::Map::new();
    for (event, description) in EVENTS {
        let mut data: Vec<Value> = SCHEMAS
            .iter()
            .filter(|s| s.event == Some(*event))
            .map(|s| component_ref(&webhook_component(s.name)))
            .collect();
        data.push(component_ref(&format!("{envelope}.flattened_jwe")));
        data.push(component_ref(&format!("{envelope}.general_jwe")));
        let body = json!({
            "allOf": [component_ref(&envelope)],
            "properties": {
                "type": {"const": event},
                "data": {"description": "The payload, or a JWE of it for an endpoint with encryption", "anyOf": data},
            },
        });
        webhooks.insert(
            (*event).to_owned(),
            json!({"post": {
                "operationId": format!("webhook_{}", event.replace('.', "_")),
                "summary": event,
                "description": format!("{description} Verify the Standard Webhooks signature before anything else; deduplicate on `webhook-id` (docs/webhooks.md)."),
                "parameters": [
                    header("webhook-id", "`msg_…`, the same on every retry"),
                    header("webhook-timestamp", "Unix seconds of this attempt"),
                    header("webhook-signature", "`v1,<base64 HMAC-SHA256>`, space-separated when several secrets sign"),
                ],
                "requestBody": {"required": true, "content": {"application/json": {"schema": body, "example": examples::webhook(event)}}},
                "responses": {
                    "2XX": {"description": "Delivered"},
                    "410": {"description": "Disables the endpoint and drops the message"},
                    "default": {"description": "Retried with backoff until the message expires (24 hours after the event)"},
                },
            }}),
        );
    }
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.extend(components);
    }
    if let Some(fields) = doc.as_object_mut() {
        fields.insert("webhooks".to_owned(), Value::Object(webhooks));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_with_both_security_schemes() {
        let doc = document();
        assert!(doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")));
        assert!(doc["components"]["securitySchemes"]["operator"].is_object());
        assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
    }

    #[test]
    fn a_route_with_a_body_and_a_key_documents_the_shared_errors() {
        let op = &document()["paths"]["/v1/endpoints"]["post"];
        for status in ["400", "401", "403", "413", "415", "422", "500", "503"] {
            assert!(op["responses"][status].is_object(), "{status} missing");
        }
    }

    #[test]
    fn every_event_type_is_a_webhook_whose_schemas_are_components() {
        let doc = document();
        for (event, _) in EVENTS {
            let body = &doc["webhooks"][*event]["post"]["requestBody"]["content"]
                ["application/json"]["schema"];
            assert_eq!(body["properties"]["type"]["const"], *event);
            for r in body["properties"]["data"]["anyOf"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(body["allOf"].as_array().into_iter().flatten())
            {
                let name = r["$ref"]
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                    .unwrap_or_default();
                assert!(
                    doc["components"]["schemas"][name].is_object(),
                    "{event}: {r}"
                );
            }
        }
        let text = doc.to_string();
        assert!(!text.contains("#/$defs/"), "a reference left unmoved");
        assert!(doc["components"]["schemas"]["Webhook.gaprelay.v1.lab"].is_object());
    }

    #[test]
    fn summaries_drop_the_route_that_opens_a_handler_doc_comment() {
        assert_eq!(
            summary_sentence("`PATCH /v1/x` (operator): corrects\nthings."),
            "Corrects things."
        );
        assert_eq!(summary_sentence("Plain words."), "Plain words.");
    }
}
