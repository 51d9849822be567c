//! The OpenAPI document and the docs page: every route registered in src/http/mod.rs is
//! documented with its method (a route added without an annotation fails here), the
//! document validates as OpenAPI 3.1 with an off-the-shelf validator, every JSON body it
//! describes has an example that matches its schema (and the intake's examples are what
//! the relay really answers and sends), and /docs renders it.

use crate::helpers::{spawn_app_with, AppOptions, TestApp, ADMIN_TOKEN};
use crate::support::{interop_python, FakeCrm};
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// (METHOD, path) pairs.
type Routes = BTreeSet<(String, String)>;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Index of the parenthesis closing the one opened at `open`.
fn closing_paren(text: &str, open: usize) -> usize {
    let mut depth = 0usize;
    for (i, c) in text.char_indices().skip_while(|(i, _)| *i < open) {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses after byte {open}");
}

/// The string literal starting right after `at` (`"…"`).
fn literal_after(text: &str, at: usize) -> String {
    let rest = &text[at..];
    let start = rest.find('"').expect("a string literal") + 1;
    let len = rest[start..].find('"').expect("closing quote");
    rest[start..start + len].to_owned()
}

/// Every route `configure` registers, read from the source text: each
/// `web::resource("…")` with the `.route(web::<method>()…)` calls that follow it, under
/// the prefixes of the `web::scope("…")`s that enclose it.
fn registered_routes(source: &str) -> Routes {
    let code: String = source
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    // Each scope covers the parentheses of the call that takes it (`.service(web::scope(…)…)`).
    let scopes: Vec<(usize, usize, String)> = code
        .match_indices("web::scope(")
        .map(|(at, _)| {
            let open = code[..at].rfind('(').expect("a scope is passed to a call");
            (open, closing_paren(&code, open), literal_after(&code, at))
        })
        .collect();
    let resources: Vec<usize> = code
        .match_indices("web::resource(")
        .map(|(at, _)| at)
        .collect();
    let mut routes = Routes::new();
    for (n, &at) in resources.iter().enumerate() {
        let prefix: String = scopes
            .iter()
            .filter(|(start, end, _)| *start < at && at < *end)
            .map(|(_, _, p)| p.as_str())
            .collect();
        let path = format!("{prefix}{}", literal_after(&code, at));
        // The resource's routes run until the next resource (or the end).
        let end = resources.get(n + 1).copied().unwrap_or(code.len());
        let body = &code[at..end];
        let methods: Vec<&str> = METHODS
            .iter()
            .copied()
            .filter(|m| body.contains(&format!("web::{m}()")))
            .collect();
        assert!(
            !methods.is_empty(),
            "{path}: register each method with .route(web::<method>().to(…)) so it can be checked"
        );
        for m in methods {
            routes.insert((m.to_uppercase(), path.clone()));
        }
    }
    routes
}

/// Every (METHOD, path) the document describes.
fn documented_routes(doc: &Value) -> Routes {
    let mut routes = Routes::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(m).is_some() {
                routes.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

fn describe(routes: &Routes) -> String {
    routes
        .iter()
        .map(|(m, p)| format!("{m} {p}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn memory_app() -> TestApp {
    spawn_app_with(AppOptions {
        memory: true,
        ..AppOptions::default()
    })
    .await
}

async fn served_document(app: &TestApp) -> Value {
    let res = app.get("/openapi.json", None).await;
    assert_eq!(res.status(), 200);
    assert!(res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json")));
    res.json().await.expect("the document is JSON")
}

#[test]
fn the_route_reader_finds_scoped_routes_and_a_route_added_without_annotation() {
    let source = r#"
        cfg.service(web::resource("/healthz").route(web::get().to(health::healthz)))
            .service(
                web::scope("/v1")
                    .service(
                        web::resource("/things/{id}")
                            .route(web::get().to(things::get))
                            // .route(web::put().to(things::commented_out))
                            .route(web::delete().to(things::delete)),
                    )
                    .service(web::resource("/new").route(web::post().to(things::new))),
            )
            .service(web::resource("/after").route(web::patch().to(x::y)));
    "#;
    let routes = registered_routes(source);
    let expected: Routes = [
        ("GET", "/healthz"),
        ("GET", "/v1/things/{id}"),
        ("DELETE", "/v1/things/{id}"),
        ("POST", "/v1/new"),
        ("PATCH", "/after"),
    ]
    .iter()
    .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
    .collect();
    assert_eq!(routes, expected);
    // A document that lacks the new route is caught.
    let doc = serde_json::json!({"paths": {
        "/healthz": {"get": {}}, "/v1/things/{id}": {"get": {}, "delete": {}}, "/after": {"patch": {}}
    }});
    let missing: Routes = routes
        .difference(&documented_routes(&doc))
        .cloned()
        .collect();
    assert_eq!(describe(&missing), "POST /v1/new");
}

#[tokio::test]
async fn every_registered_route_is_in_the_openapi_document_with_its_method() {
    let source =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/mod.rs"))
            .expect("read src/http/mod.rs");
    let registered = registered_routes(&source);
    assert!(
        registered.len() > 30,
        "the route reader found too few routes: {}",
        describe(&registered)
    );
    let app = memory_app().await;
    let documented = documented_routes(&served_document(&app).await);
    let undocumented: Routes = registered.difference(&documented).cloned().collect();
    assert!(
        undocumented.is_empty(),
        "routes without an OpenAPI annotation (add #[utoipa::path] to the handler and list it in src/http/openapi.rs): {}",
        describe(&undocumented)
    );
    let phantom: Routes = documented.difference(&registered).cloned().collect();
    assert!(
        phantom.is_empty(),
        "documented routes that src/http/mod.rs does not register: {}",
        describe(&phantom)
    );
}

#[tokio::test]
async fn the_document_validates_as_openapi_3_1() {
    let app = memory_app().await;
    let doc = served_document(&app).await;
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        "openapi: {}",
        doc["openapi"]
    );
    let python = interop_python();
    let mut child = Command::new(&python)
        .args([
            "-c",
            "import json, sys\n\
             from openapi_spec_validator import OpenAPIV31SpecValidator, validate\n\
             validate(json.load(sys.stdin), cls=OpenAPIV31SpecValidator)\n",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {}: {e}", python.display()));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(doc.to_string().as_bytes())
        .expect("write the document to the validator");
    let output = child.wait_with_output().expect("wait for the validator");
    assert!(
        output.status.success(),
        "openapi-spec-validator rejects the document:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn every_operation_documents_the_error_shape_and_its_credentials() {
    let app = memory_app().await;
    let doc = served_document(&app).await;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            let responses = op["responses"].as_object().expect("responses");
            assert!(responses.contains_key("500"), "{m} {path}: no 500 response");
            // `/metrics` is for the scraper holding `GAPRELAY_METRICS_TOKEN`.
            let private = path == "/metrics"
                || (path.starts_with("/v1/")
                    && !path.starts_with("/v1/forms/")
                    && !path.starts_with("/v1/intake/"));
            let schemes: Vec<&String> = op["security"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_object)
                .flat_map(|o| o.keys())
                .collect();
            if private {
                assert!(
                    schemes.iter().any(|s| *s == "operator"
                        || *s == "api_key"
                        || (path == "/metrics" && *s == "metrics")),
                    "{m} {path}: no security requirement"
                );
                assert!(responses.contains_key("401"), "{m} {path}: no 401");
            } else {
                assert!(schemes.is_empty(), "{m} {path} is public: {schemes:?}");
            }
        }
    }
}

#[tokio::test]
async fn the_docs_page_is_html_rendered_from_the_document_and_lists_every_path() {
    let app = memory_app().await;
    let doc = served_document(&app).await;
    let res = app.get("/docs", None).await;
    assert_eq!(res.status(), 200);
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    assert!(header("content-type").starts_with("text/html"));
    let csp = header("content-security-policy");
    assert!(
        csp.starts_with("default-src 'none'; style-src 'sha256-")
            && csp.contains("frame-ancestors 'none'")
            && !csp.contains("unsafe"),
        "{csp}"
    );
    let html = res.text().await.expect("body");
    // The one inline stylesheet is exactly what the policy's hash allows.
    {
        use base64::Engine;
        use sha2::{Digest, Sha256};
        let start = html.find("<style>").expect("a stylesheet") + "<style>".len();
        let style = &html[start..start + html[start..].find("</style>").expect("its end")];
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(style));
        assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");
    }
    assert!(!html.contains("<script"), "the page runs no scripts");
    for (method, path) in documented_routes(&doc) {
        assert!(
            html.contains(&format!("<code>{path}</code>")),
            "/docs does not list {method} {path}"
        );
    }
    for event in doc["webhooks"].as_object().expect("webhooks").keys() {
        assert!(
            html.contains(&format!("id=\"webhook-{event}\"")),
            "/docs does not describe the webhook {event}"
        );
    }
    for schema in ["IntakeRequest", "Report", "ErrorBody", "PractitionerPatch"] {
        assert!(
            html.contains(&format!("id=\"schema-{schema}\"")),
            "/docs does not describe {schema}"
        );
    }
}

#[tokio::test]
async fn a_form_marker_is_documented_with_whether_the_form_lists_it() {
    // The form's marker (`FormView.markers`) and the layout's marker it flattens once
    // shared one component name, so one silently replaced the other and `listed` went
    // undocumented.
    let app = memory_app().await;
    let doc = served_document(&app).await;
    let schemas = &doc["components"]["schemas"];
    let form_marker = schemas["FormMarker"].to_string();
    assert!(form_marker.contains("\"listed\""), "{form_marker}");
    assert!(
        form_marker.contains("#/components/schemas/LayoutMarker"),
        "{form_marker}"
    );
    let layout = &schemas["LayoutMarker"]["properties"];
    for field in ["id", "loinc", "name", "units", "unit", "about"] {
        assert!(layout.get(field).is_some(), "LayoutMarker.{field}");
    }
}

#[tokio::test]
async fn every_event_type_is_a_webhook_whose_body_is_the_envelope() {
    let app = memory_app().await;
    let doc = served_document(&app).await;
    for event in [
        "intake.submitted",
        "endpoint.test",
        "endpoint.delivery_expired",
        "endpoint.failing",
    ] {
        let post = &doc["webhooks"][event]["post"];
        assert!(post.is_object(), "{event} is not under webhooks");
        let body = &post["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(body["properties"]["type"]["const"], event);
        assert_eq!(
            body["allOf"][0]["$ref"], "#/components/schemas/Webhook.envelope",
            "{event}"
        );
        assert!(post["responses"]["2XX"].is_object(), "{event}");
    }
}

/// Whether a media type carries JSON (`application/json`, `application/…+json`).
fn is_json(media: &str) -> bool {
    let essence = media.split(';').next().unwrap_or("").trim();
    essence == "application/json" || essence.ends_with("+json")
}

/// The object a local reference (`#/components/…`) points to, or `value` itself.
fn resolved<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix('#')
            .and_then(|pointer| doc.pointer(pointer))
            .unwrap_or_else(|| panic!("a dangling reference: {r}")),
        None => value,
    }
}

/// A JSON body the document describes: where it is, its schema and its examples
/// (`example`/`examples` of the media type, else those of the schema it references).
struct Body<'a> {
    place: String,
    schema: &'a Value,
    examples: Vec<(String, Value)>,
}

fn bodies_of<'a>(doc: &'a Value, place: &str, holder: &'a Value) -> Vec<Body<'a>> {
    let holder = resolved(doc, holder);
    let Some(content) = holder.get("content").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (media_type, media) in content.iter().filter(|(m, _)| is_json(m)) {
        let schema = media.get("schema").unwrap_or(&Value::Null);
        let mut examples: Vec<(String, Value)> = Vec::new();
        if let Some(e) = media.get("example") {
            examples.push(("example".into(), e.clone()));
        }
        for (name, e) in media
            .get("examples")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let value = resolved(doc, e)
                .get("value")
                .cloned()
                .unwrap_or(Value::Null);
            examples.push((format!("examples.{name}"), value));
        }
        if examples.is_empty() {
            let target = resolved(doc, schema);
            if let Some(e) = target.get("example") {
                examples.push(("schema example".into(), e.clone()));
            }
            for (n, e) in target
                .get("examples")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                examples.push((format!("schema examples[{n}]"), e.clone()));
            }
        }
        out.push(Body {
            place: format!("{place} {media_type}"),
            schema,
            examples,
        });
    }
    out
}

/// Every JSON body of every operation (its request, each response) and of every webhook.
fn json_bodies(doc: &Value) -> Vec<Body<'_>> {
    let mut out = Vec::new();
    for (section, prefix) in [("paths", ""), ("webhooks", "webhook ")] {
        for (path, item) in doc[section].as_object().into_iter().flatten() {
            for m in METHODS {
                let Some(op) = item.get(m) else { continue };
                let operation = format!("{prefix}{} {path}", m.to_uppercase());
                if let Some(body) = op.get("requestBody") {
                    out.extend(bodies_of(doc, &format!("{operation}: request"), body));
                }
                for (status, response) in op["responses"].as_object().into_iter().flatten() {
                    out.extend(bodies_of(doc, &format!("{operation}: {status}"), response));
                }
            }
        }
    }
    out
}

/// Closes every object schema that lists its properties (`additionalProperties: false`,
/// or `unevaluatedProperties: false` where it is composed with `allOf`), so that an
/// example with a member its schema does not describe (a misspelt field) fails. The
/// parts of an `allOf` stay open at their top, since each describes only some members.
fn close(schema: &mut Value, open_top: bool) {
    if let Value::Object(map) = schema {
        let says =
            map.contains_key("additionalProperties") || map.contains_key("unevaluatedProperties");
        if !open_top && !says {
            if map.contains_key("allOf") {
                map.insert("unevaluatedProperties".into(), Value::Bool(false));
            } else if map.get("properties").is_some_and(Value::is_object) {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
        }
        for (key, value) in map.iter_mut() {
            match (key.as_str(), value) {
                ("allOf", Value::Array(parts)) => parts.iter_mut().for_each(|p| close(p, true)),
                // Components by name, and property names: maps whose values are schemas.
                ("schemas" | "properties" | "$defs", Value::Object(named)) => {
                    named.values_mut().for_each(|v| close(v, false))
                }
                (_, v) => close(v, false),
            }
        }
    } else if let Value::Array(items) = schema {
        items.iter_mut().for_each(|v| close(v, false));
    }
}

/// The names of the components some `allOf` includes: each describes only part of an
/// object, so its top stays open.
fn composed_parts(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for part in map
                .get("allOf")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(name) = part["$ref"]
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                {
                    out.insert(name.to_owned());
                }
            }
            map.values().for_each(|v| composed_parts(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| composed_parts(v, out)),
        _ => {}
    }
}

/// The document's component schemas, closed (see [`close`]).
fn closed_components(doc: &Value) -> Value {
    let mut parts = BTreeSet::new();
    composed_parts(doc, &mut parts);
    let mut schemas = doc["components"]["schemas"].clone();
    for (name, schema) in schemas.as_object_mut().expect("component schemas") {
        close(schema, parts.contains(name));
    }
    serde_json::json!({"schemas": schemas})
}

/// The `code` an error example of `status` may carry (src/http/error.rs).
fn error_codes(status: &str) -> &'static [&'static str] {
    match status {
        "400" => &["bad_request"],
        "401" => &["unauthorized"],
        "403" => &["forbidden", "account_suspended"],
        "404" => &["not_found"],
        "409" => &["conflict", "not_accepting_submissions"],
        "412" => &["precondition_failed"],
        "413" => &["payload_too_large"],
        "415" => &["unsupported_media_type"],
        "422" => &["validation_failed"],
        "429" => &["rate_limited"],
        "500" => &["internal_error"],
        "503" => &["unavailable"],
        _ => &[],
    }
}

/// What is wrong with an error example beyond its schema: a code of another status, or
/// a 422 whose message does not count its details as the relay does.
fn error_example_problems(status: &str, example: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let code = example["error"]["code"].as_str().unwrap_or_default();
    if !error_codes(status).contains(&code) {
        out.push(format!("code `{code}` is not one of a {status}"));
    }
    if status == "422" {
        let n = example["error"]["details"].as_array().map_or(0, Vec::len);
        let expected = if n == 1 {
            "1 problem in the request".to_owned()
        } else {
            format!("{n} problems in the request")
        };
        if n == 0 || example["error"]["message"] != expected.as_str() {
            out.push(format!("a 422 names each bad field and says `{expected}`"));
        }
    }
    out
}

/// Every email address in an example, which must be at a reserved example domain.
fn emails(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.contains('@') && !s.contains(' ') => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| emails(v, out)),
        Value::Object(map) => map.values().for_each(|v| emails(v, out)),
        _ => {}
    }
}

/// The problems of every JSON body of the document: lacking an example, or with an
/// example that its schema (closed) refuses.
fn example_problems(doc: &Value) -> (Vec<String>, Vec<String>, usize) {
    let components = closed_components(doc);
    let mut missing = Vec::new();
    let mut invalid = Vec::new();
    let mut checked = 0;
    for body in json_bodies(doc) {
        if body.examples.is_empty() {
            missing.push(body.place.clone());
            continue;
        }
        let mut schema = body.schema.clone();
        close(&mut schema, false);
        let mut root = serde_json::json!({"allOf": [schema], "components": components});
        if let Some(map) = root.as_object_mut() {
            // The root itself stays open: `components` sits beside the schema.
            map.insert(
                "$schema".into(),
                "https://json-schema.org/draft/2020-12/schema".into(),
            );
        }
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("{}: the schema does not compile: {e}", body.place));
        let status = body
            .place
            .rsplit(": ")
            .next()
            .unwrap_or("")
            .split(' ')
            .next()
            .unwrap_or("");
        for (name, example) in &body.examples {
            checked += 1;
            for error in validator.iter_errors(example) {
                invalid.push(format!(
                    "{} ({name}): {error} at {}",
                    body.place,
                    error.instance_path()
                ));
            }
            if body.schema["$ref"] == "#/components/schemas/ErrorBody" {
                for problem in error_example_problems(status, example) {
                    invalid.push(format!("{} ({name}): {problem}", body.place));
                }
            }
            let mut found = Vec::new();
            emails(example, &mut found);
            for email in found {
                let domain = email.rsplit('@').next().unwrap_or("");
                if !(domain == "example.com"
                    || domain.ends_with(".example.com")
                    || domain.ends_with(".example"))
                {
                    invalid.push(format!(
                        "{} ({name}): {email} is not at a reserved example domain",
                        body.place
                    ));
                }
            }
        }
    }
    (missing, invalid, checked)
}

#[tokio::test]
async fn every_operation_has_examples_that_match_its_schemas() {
    let app = memory_app().await;
    let doc = served_document(&app).await;
    let (missing, invalid, checked) = example_problems(&doc);
    assert!(
        missing.is_empty() && invalid.is_empty(),
        "JSON bodies without an example (add `example = …` from src/http/wire/examples.rs):\n{}\n\nexamples their schema refuses:\n{}",
        missing.join("\n"),
        invalid.join("\n")
    );
    // Every operation with a JSON body, every shared error and every webhook.
    assert!(checked > 150, "only {checked} examples were checked");
}

#[test]
fn the_example_check_names_a_missing_example_and_one_that_breaks_its_schema() {
    let doc = serde_json::json!({
        "paths": {
            "/things": {
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                    "responses": {
                        "201": {"content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Thing"},
                            "example": {"name": 7}
                        }}},
                        "404": {"$ref": "#/components/responses/NotFound"}
                    }
                }
            }
        },
        "components": {
            "schemas": {
                "Thing": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
                "ErrorBody": {"type": "object", "properties": {"error": {"type": "object"}}}
            },
            "responses": {"NotFound": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/ErrorBody"},
                "examples": {"gone": {"value": {"error": {"code": "conflict", "message": "x"}, "extra": 1}}}
            }}}}
        }
    });
    let (missing, invalid, _) = example_problems(&doc);
    assert_eq!(missing, ["POST /things: request application/json"]);
    assert_eq!(invalid.len(), 3, "{invalid:#?}");
    assert!(
        invalid[0].starts_with(
            "POST /things: 201 application/json (example): 7 is not of type \"string\""
        ),
        "{invalid:#?}"
    );
    assert!(
        invalid[1].contains("(examples.gone)") && invalid[1].contains("extra"),
        "{invalid:#?}"
    );
    assert!(
        invalid[2].contains("code `conflict` is not one of a 404"),
        "{invalid:#?}"
    );
}

/// The example of a body in the served document: the `example` of `op`'s request
/// (`status` `None`) or of its response `status`, as JSON.
fn example_of(doc: &Value, path: &str, method: &str, status: Option<&str>) -> Value {
    let op = &doc["paths"][path][method];
    let holder = match status {
        None => &op["requestBody"],
        Some(s) => &op["responses"][s],
    };
    let example = &holder["content"]
        .as_object()
        .and_then(|c| c.values().next())
        .unwrap_or(&Value::Null)["example"];
    assert!(!example.is_null(), "{method} {path} {status:?}: no example");
    example.clone()
}

/// Checks a list an example shows only the start of (or some of): each of its items is
/// the real one of the same `id`, in the real order.
fn assert_excerpt(actual: &Value, excerpt: &Value, what: &str) {
    let actual = actual
        .as_array()
        .unwrap_or_else(|| panic!("{what}: {actual}"));
    let mut from = 0;
    for item in excerpt
        .as_array()
        .unwrap_or_else(|| panic!("{what}: {excerpt}"))
    {
        let at = actual[from..]
            .iter()
            .position(|a| a["id"] == item["id"])
            .unwrap_or_else(|| {
                panic!(
                    "{what}: {} is not there after the items before it",
                    item["id"]
                )
            })
            + from;
        assert_eq!(&actual[at], item, "{what}: {}", item["id"]);
        from = at + 1;
    }
}

/// `example` with the values at `pointers` taken from `run`: the ids, times and keys a
/// run draws for itself.
fn with_drawn(mut example: Value, run: &Value, pointers: &[&str]) -> Value {
    for pointer in pointers {
        if let (Some(slot), Some(drawn)) = (example.pointer_mut(pointer), run.pointer(pointer)) {
            *slot = drawn.clone();
        }
    }
    example
}

#[tokio::test]
async fn the_practice_s_examples_are_what_the_relay_answers_and_sends() {
    use reqwest::Method;
    let app = memory_app().await;
    let doc = served_document(&app).await;
    let call = |method: Method, path: &str, key: Option<&str>, body: Option<Value>| {
        let mut req = app.client.request(method, app.url(path));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        async move {
            let res = req.send().await.expect("request");
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.expect("a JSON answer"))
        }
    };
    // The example practice, set up with the examples of its own routes: each answer is
    // its route's example.
    let request = example_of(&doc, "/v1/practitioners", "post", None);
    let (status, created) = call(
        Method::POST,
        "/v1/practitioners",
        Some(ADMIN_TOKEN),
        Some(request),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let drawn = [
        "/api_key",
        "/api_key_id",
        "/practitioner/id",
        "/practitioner/created_at",
    ];
    let expected = with_drawn(
        example_of(&doc, "/v1/practitioners", "post", Some("201")),
        &created,
        &drawn,
    );
    assert_eq!(created, expected, "POST /v1/practitioners");
    let key = created["api_key"].as_str().expect("a key");
    let slug = created["practitioner"]["slug"].as_str().expect("a slug");

    let request = example_of(&doc, "/v1/practitioner", "patch", None);
    let (status, patched) = call(Method::PATCH, "/v1/practitioner", Some(key), Some(request)).await;
    assert_eq!(status, 200, "{patched}");
    let expected = with_drawn(
        example_of(&doc, "/v1/practitioner", "patch", Some("200")),
        &patched,
        &["/id", "/created_at"],
    );
    assert_eq!(patched, expected, "PATCH /v1/practitioner");

    for (path, route) in [
        ("/v1/ranges/tsh", "/v1/ranges/{marker}"),
        ("/v1/markers/omega3_index", "/v1/markers/{id}"),
    ] {
        let request = example_of(&doc, route, "put", None);
        let (status, answer) = call(Method::PUT, path, Some(key), Some(request)).await;
        assert_eq!(status, 200, "{path}: {answer}");
        assert_eq!(
            answer,
            example_of(&doc, route, "put", Some("200")),
            "PUT {path}"
        );
    }
    let request = example_of(&doc, "/v1/symptoms", "put", None);
    let (status, symptoms) = call(Method::PUT, "/v1/symptoms", Some(key), Some(request)).await;
    assert_eq!(status, 200, "{symptoms}");
    let excerpt = example_of(&doc, "/v1/symptoms", "put", Some("200"));
    assert_excerpt(&symptoms["data"], &excerpt["data"], "PUT /v1/symptoms");
    let (_, markers) = call(Method::GET, "/v1/markers", Some(key), None).await;
    let excerpt = example_of(&doc, "/v1/markers", "get", Some("200"));
    assert_excerpt(&markers["data"], &excerpt["data"], "GET /v1/markers");

    // The form as the patient's browser loads it; its token is the run's own.
    let (_, mut form) = call(Method::GET, &format!("/v1/forms/{slug}"), None, None).await;
    let mut expected = example_of(&doc, "/v1/forms/{slug}", "get", Some("200"));
    assert_excerpt(
        &form["markers"],
        &expected["markers"],
        "GET /v1/forms/{slug}",
    );
    for field in ["markers", "form_token"] {
        form[field] = Value::Null;
        expected[field] = Value::Null;
    }
    assert_eq!(form, expected, "GET /v1/forms/{{slug}}");

    // The patient's submission: the example without the form's token, which dates a
    // real page load (the example's would mark the submission as automated).
    let crm = FakeCrm::start().await;
    let endpoint = serde_json::json!({"url": crm.url(), "encryption": "none"});
    let (status, _) = call(Method::POST, "/v1/endpoints", Some(key), Some(endpoint)).await;
    assert_eq!(status, 201);
    let mut intake = example_of(&doc, "/v1/intake/{slug}", "post", None);
    intake
        .as_object_mut()
        .expect("an object")
        .remove("form_token");
    let res = app.post_intake(slug, &intake).await;
    assert_eq!(res.status(), 202);
    let accepted: Value = res.json().await.expect("json");
    let expected = with_drawn(
        example_of(&doc, "/v1/intake/{slug}", "post", Some("202")),
        &accepted,
        &["/submission_id"],
    );
    assert_eq!(accepted, expected, "POST /v1/intake/{{slug}}");

    app.deliver_pending().await;
    let sent = crm
        .requests()
        .iter()
        .map(|r| r.json())
        .find(|b| b["type"] == "intake.submitted")
        .expect("the submission was delivered");
    let example = doc
        .pointer("/webhooks/intake.submitted/post/requestBody/content/application~1json/example")
        .expect("the webhook's example")
        .clone();
    let drawn = [
        "/timestamp",
        "/data/submission_id",
        "/data/submitted_at",
        "/data/consent/at",
        "/data/practitioner/id",
    ];
    assert_eq!(
        sent,
        with_drawn(example, &sent, &drawn),
        "the intake.submitted webhook"
    );
}

#[tokio::test]
async fn the_docs_page_shows_every_example_of_the_document() {
    let app = memory_app().await;
    let doc = served_document(&app).await;
    let html = app.get("/docs", None).await.text().await.expect("body");
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut shown = 0;
    for body in json_bodies(&doc) {
        for (name, example) in body
            .examples
            .iter()
            .filter(|(n, _)| !n.starts_with("schema"))
        {
            let json = serde_json::to_string_pretty(example).expect("JSON");
            assert!(
                html.contains(&format!("<pre><code>{}</code></pre>", escape(&json))),
                "/docs does not show the {name} of {}",
                body.place
            );
            shown += 1;
        }
    }
    assert!(shown > 150, "{shown}");
    assert!(html.contains("id=\"error-ValidationFailed\""));
    assert!(html.contains("<a href=\"#error-ValidationFailed\">examples</a>"));
}
