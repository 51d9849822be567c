//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations
//! and the request and response types, and the HTML reference page rendered from it.

use super::routes::{
    account, assets, config, docs, endpoints, form_page, health, operator, public,
};
use super::views::ErrorBody;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
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
        endpoints::deliveries,
        public::form,
        public::intake,
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

/// The two credentials: the operator's admin token and a practitioner's API key.
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

/// (component name, status, description) of the shared error responses.
const ERRORS: &[(&str, &str, &str)] = &[
    ("BadRequest", "400", "Malformed JSON, unknown fields or an invalid query string (`bad_request`)"),
    ("Unauthorized", "401", "Missing or invalid credentials (`unauthorized`)"),
    ("Forbidden", "403", "The key's role does not allow this (`forbidden`), or the account is suspended (`account_suspended`)"),
    ("NotFound", "404", "No such resource (`not_found`)"),
    ("PayloadTooLarge", "413", "The body is larger than 64 KiB (`payload_too_large`)"),
    ("UnsupportedMediaType", "415", "The body is not `application/json` (`unsupported_media_type`)"),
    ("ValidationFailed", "422", "Well-formed but invalid: one `details` entry per offending field (`validation_failed`)"),
    ("Unavailable", "503", "The store is unavailable; nothing was accepted, retry (`unavailable`, with `Retry-After`)"),
    ("InternalError", "500", "Opaque internal error (`internal_error`)"),
];

impl Modify for ErrorResponses {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        for (name, _, description) in ERRORS {
            let response = ResponseBuilder::new()
                .description(*description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
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
        if let Some((_, status, _)) = ERRORS.iter().find(|(n, _, _)| *n == name) {
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

/// The document as JSON, built once.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null))
}

/// The Content-Security-Policy of the `/docs` page: its one inline stylesheet (by
/// hash), nothing else, and no framing.
pub fn docs_csp() -> &'static str {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
        format!("default-src 'none'; style-src 'sha256-{hash}'; frame-ancestors 'none'; base-uri 'none'")
    })
}

/// The reference page, built once from [`document`].
pub fn docs_html() -> &'static str {
    static HTML: OnceLock<String> = OnceLock::new();
    HTML.get_or_init(|| render_html(document()))
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2327}\
code{font:13px ui-monospace,monospace;background:#f2f4f5;padding:0 .2em;border-radius:3px}\
h2{border-bottom:1px solid #ccc;margin-top:2.5rem}h3{margin-bottom:.3rem}\
.op{border:1px solid #dde;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}\
.m{display:inline-block;min-width:4.2rem;text-align:center;border-radius:4px;color:#fff;font:bold 12px ui-monospace,monospace;padding:.15rem .4rem;margin-right:.4rem}\
.get{background:#2b6cb0}.post{background:#2f855a}.put{background:#b7791f}.patch{background:#6b46c1}.delete{background:#c53030}\
table{border-collapse:collapse;margin:.3rem 0 .8rem}td,th{border:1px solid #dde;padding:.2rem .5rem;text-align:left;vertical-align:top}th{background:#f7f8f9}\
.muted{color:#666}";

/// Escapes text for HTML and turns `code` spans into `<code>`.
fn text(s: &str) -> String {
    let escaped = s
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    let mut out = String::with_capacity(escaped.len());
    for (i, part) in escaped.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// A short, linked description of a schema's type.
fn type_of(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("<a href=\"#schema-{0}\">{0}</a>", text(name));
    }
    for (key, sep) in [("oneOf", " | "), ("anyOf", " | "), ("allOf", " &amp; ")] {
        if let Some(all) = schema.get(key).and_then(Value::as_array) {
            return all.iter().map(type_of).collect::<Vec<_>>().join(sep);
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .map(|v| format!("<code>{}</code>", text(&v.to_string())))
            .collect::<Vec<_>>()
            .join(" | ");
    }
    let types: Vec<String> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let described: Vec<String> = types
        .iter()
        .map(|t| match t.as_str() {
            "array" => format!(
                "array of {}",
                schema
                    .get("items")
                    .map(type_of)
                    .unwrap_or_else(|| "any".into())
            ),
            "object" => match schema.get("additionalProperties") {
                Some(v) if v.is_object() => format!("map of {}", type_of(v)),
                _ => "object".into(),
            },
            other => match schema.get("format").and_then(Value::as_str) {
                Some(f) => format!("{other} ({})", text(f)),
                None => other.to_owned(),
            },
        })
        .collect();
    if described.is_empty() {
        "any".into()
    } else {
        described.join(" | ")
    }
}

fn body_schema(holder: &Value) -> Option<String> {
    let content = holder.get("content")?.as_object()?;
    let (media, c) = content.iter().next()?;
    let schema = c.get("schema").map(type_of).unwrap_or_else(|| "any".into());
    Some(format!(
        "{schema} <span class=\"muted\">({})</span>",
        text(media)
    ))
}

fn render_operation(out: &mut String, doc: &Value, method: &str, path: &str, op: &Value) {
    let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let id = str_of(op, "operationId");
    let _ = write!(
        out,
        "<section class=\"op\" id=\"op-{}\"><h3><span class=\"m {method}\">{}</span><code>{}</code></h3>",
        text(&id),
        method.to_uppercase(),
        text(path)
    );
    let summary = str_of(op, "summary");
    if !summary.is_empty() {
        let _ = write!(out, "<p><strong>{}</strong></p>", text(&summary));
    }
    let description = str_of(op, "description");
    if !description.is_empty() && description != summary {
        let _ = write!(out, "<p>{}</p>", text(&description));
    }
    let security: Vec<String> = op
        .get("security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|m| {
            m.keys()
                .map(|k| format!("<a href=\"#auth\">{}</a>", text(k)))
        })
        .collect();
    let _ = write!(
        out,
        "<p>Credentials: {}</p>",
        if security.is_empty() {
            "none".to_owned()
        } else {
            security.join(" or ")
        }
    );
    if let Some(params) = op.get("parameters").and_then(Value::as_array) {
        out.push_str("<table><tr><th>Parameter</th><th>In</th><th>Type</th><th>Required</th><th>Description</th></tr>");
        for p in params {
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                text(&str_of(p, "name")),
                text(&str_of(p, "in")),
                p.get("schema").map(type_of).unwrap_or_default(),
                if p.get("required").and_then(Value::as_bool) == Some(true) {
                    "yes"
                } else {
                    "no"
                },
                text(&str_of(p, "description")),
            );
        }
        out.push_str("</table>");
    }
    if let Some(body) = op.get("requestBody").and_then(body_schema) {
        let _ = write!(out, "<p>Request body: {body}</p>");
    }
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        out.push_str("<table><tr><th>Status</th><th>Meaning</th><th>Body</th></tr>");
        for (status, r) in responses {
            // Shared error responses are references to components.
            let resolved = match r.get("$ref").and_then(Value::as_str) {
                Some(reference) => reference
                    .rsplit('/')
                    .next()
                    .and_then(|name| doc.pointer(&format!("/components/responses/{name}")))
                    .unwrap_or(r),
                None => r,
            };
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                text(status),
                text(&str_of(resolved, "description")),
                body_schema(resolved).unwrap_or_default()
            );
        }
        out.push_str("</table>");
    }
    out.push_str("</section>");
}

/// A property's description, which an optional reference carries inside its `oneOf`.
fn description_of(p: &Value) -> String {
    p.get("description")
        .and_then(Value::as_str)
        .or_else(|| {
            p.get("oneOf")?
                .as_array()?
                .iter()
                .find_map(|v| v.get("description").and_then(Value::as_str))
        })
        .unwrap_or("")
        .to_owned()
}

fn render_schema(out: &mut String, name: &str, schema: &Value) {
    let _ = write!(out, "<section id=\"schema-{0}\"><h3>{0}</h3>", text(name));
    if let Some(d) = schema.get("description").and_then(Value::as_str) {
        let _ = write!(out, "<p>{}</p>", text(d));
    }
    // A schema is an object with properties, or a composition of such (flattened
    // structs are `allOf`), or a plain type.
    let parts: Vec<&Value> = match schema.get("allOf").and_then(Value::as_array) {
        Some(all) => all.iter().collect(),
        None => vec![schema],
    };
    let mut rows = String::new();
    for part in &parts {
        if let Some(props) = part.get("properties").and_then(Value::as_object) {
            let required: Vec<&str> = part
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            for (field, p) in props {
                let _ = write!(
                    rows,
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    text(field),
                    type_of(p),
                    if required.contains(&field.as_str()) {
                        "yes"
                    } else {
                        "no"
                    },
                    text(&description_of(p)),
                );
            }
        } else if part.get("$ref").is_some() {
            let _ = write!(
                rows,
                "<tr><td colspan=\"4\">all fields of {}</td></tr>",
                type_of(part)
            );
        }
    }
    if rows.is_empty() {
        let _ = write!(out, "<p>Type: {}</p>", type_of(schema));
    } else {
        let _ = write!(
            out,
            "<table><tr><th>Field</th><th>Type</th><th>Required</th><th>Description</th></tr>{rows}</table>"
        );
    }
    out.push_str("</section>");
}

/// Renders the reference page: every operation grouped by tag (method, path, summary,
/// credentials, parameters, request body and responses), then every schema.
pub fn render_html(doc: &Value) -> String {
    let title = doc
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or("API");
    let version = doc
        .pointer("/info/version")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{0} API reference</title><style>{STYLE}</style></head><body><h1>{0} API reference <span class=\"muted\">{1}</span></h1>",
        text(title),
        text(version)
    );
    if let Some(d) = doc.pointer("/info/description").and_then(Value::as_str) {
        for para in d.split("\n\n") {
            let _ = write!(out, "<p>{}</p>", text(para));
        }
    }
    out.push_str("<p>Machine-readable: <a href=\"/openapi.json\"><code>/openapi.json</code></a> (OpenAPI 3.1).</p>");

    // Operations by tag, in the document's tag order.
    let mut by_tag: BTreeMap<String, Vec<(String, &str, &Value)>> = BTreeMap::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for method in METHODS {
                if let Some(op) = item.get(method) {
                    let tag = op
                        .pointer("/tags/0")
                        .and_then(Value::as_str)
                        .unwrap_or("other")
                        .to_owned();
                    by_tag
                        .entry(tag)
                        .or_default()
                        .push((path.clone(), method, op));
                }
            }
        }
    }
    let mut tags: Vec<(String, String)> = doc
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let name = t.get("name")?.as_str()?.to_owned();
            let d = t
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            Some((name, d))
        })
        .collect();
    for tag in by_tag.keys() {
        if !tags.iter().any(|(n, _)| n == tag) {
            tags.push((tag.clone(), String::new()));
        }
    }
    out.push_str("<nav><h2>Contents</h2><ul>");
    for (tag, _) in &tags {
        if by_tag.contains_key(tag) {
            let _ = write!(out, "<li><a href=\"#tag-{0}\">{0}</a></li>", text(tag));
        }
    }
    out.push_str("<li><a href=\"#auth\">Credentials</a></li><li><a href=\"#schemas\">Schemas</a></li></ul></nav>");

    out.push_str("<h2 id=\"auth\">Credentials</h2><ul>");
    if let Some(schemes) = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
    {
        for (name, s) in schemes {
            let _ = write!(
                out,
                "<li><strong>{}</strong> ({} {}): {}</li>",
                text(name),
                text(s.get("type").and_then(Value::as_str).unwrap_or("")),
                text(s.get("scheme").and_then(Value::as_str).unwrap_or("")),
                text(s.get("description").and_then(Value::as_str).unwrap_or("")),
            );
        }
    }
    out.push_str("</ul>");

    for (tag, description) in &tags {
        let Some(ops) = by_tag.get(tag) else { continue };
        let _ = write!(out, "<h2 id=\"tag-{0}\">{0}</h2>", text(tag));
        if !description.is_empty() {
            let _ = write!(out, "<p>{}</p>", text(description));
        }
        for (path, method, op) in ops {
            render_operation(&mut out, doc, method, path, op);
        }
    }

    out.push_str("<h2 id=\"schemas\">Schemas</h2>");
    if let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        for (name, schema) in schemas {
            render_schema(&mut out, name, schema);
        }
    }
    out.push_str("</body></html>");
    out
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
    fn summaries_drop_the_route_that_opens_a_handler_doc_comment() {
        assert_eq!(
            summary_sentence("`PATCH /v1/x` (operator): corrects\nthings."),
            "Corrects things."
        );
        assert_eq!(summary_sentence("Plain words."), "Plain words.");
    }

    #[test]
    fn html_text_is_escaped_and_code_spans_are_rendered() {
        assert_eq!(text("<b>`x`&"), "&lt;b&gt;<code>x</code>&amp;");
    }
}
