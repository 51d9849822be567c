//! The webhooks' JSON Schemas: served from `GET /schemas/{name}.json` without
//! credentials, byte for byte as kept in `schemas/`, cacheable, a 404 in the error shape
//! for another name; and the examples of docs/webhooks.md validate against them.

use crate::helpers::{spawn_app_with, AppOptions};
use crate::support::webhook_schemas::violations;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn each_schema_is_served_publicly_as_kept_in_the_repository_and_cacheable() {
    let app = spawn_app_with(AppOptions {
        memory: true,
        ..AppOptions::default()
    })
    .await;
    for name in [
        "envelope",
        "gaprelay.v1",
        "fhir-r4",
        "endpoint.test",
        "endpoint.delivery_expired",
        "endpoint.failing",
    ] {
        let res = app.get(&format!("/schemas/{name}.json"), None).await;
        assert_eq!(res.status(), 200, "{name}");
        let header = |h: &str| {
            res.headers()
                .get(h)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(header("content-type"), "application/schema+json", "{name}");
        assert!(
            header("cache-control").starts_with("public, max-age="),
            "{name}"
        );
        let served = res.text().await.expect("body");
        let kept = std::fs::read_to_string(root().join(format!("schemas/{name}.json")))
            .expect("the schema file");
        assert_eq!(served, kept, "{name}");
    }
    for unknown in [
        "/schemas/nope.json",
        "/schemas/envelope.yaml",
        "/schemas/.json",
    ] {
        let res = app.get(unknown, None).await;
        assert_eq!(res.status(), 404, "{unknown}");
        let body: serde_json::Value = res.json().await.expect("the error shape");
        assert_eq!(body["error"]["code"], "not_found", "{unknown}");
    }
}

#[test]
fn every_schema_file_in_the_repository_is_served() {
    let mut files: Vec<String> = std::fs::read_dir(root().join("schemas"))
        .expect("schemas/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut served: Vec<String> = gaprelay::http::routes::schemas::SCHEMAS
        .iter()
        .map(|s| format!("{}.json", s.name))
        .collect();
    served.sort();
    assert_eq!(files, served);
}

#[test]
fn the_examples_in_docs_webhooks_md_validate_against_the_schemas() {
    let doc = std::fs::read_to_string(root().join("docs/webhooks.md")).expect("read");
    let examples: Vec<&str> = doc
        .split("```json\n")
        .skip(1)
        .filter_map(|block| block.split("\n```").next())
        .filter(|block| block.contains("\"type\":"))
        .collect();
    assert!(examples.len() >= 4, "{} examples", examples.len());
    for example in examples {
        let found = violations(example.as_bytes());
        assert!(found.is_empty(), "{found:?} in:\n{example}");
    }
}
