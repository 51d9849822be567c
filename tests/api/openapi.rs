//! The OpenAPI document and the docs page: every route registered in src/http/mod.rs is
//! documented with its method (a route added without an annotation fails here), the
//! document validates as OpenAPI 3.1 with an off-the-shelf validator, and /docs renders it.

use crate::helpers::{spawn_app_with, AppOptions, TestApp};
use crate::support::interop_python;
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
