//! The JSON Schemas (2020-12) of the webhooks, as kept in the repository's `schemas/`
//! and compiled into the binary: `GET /schemas/{name}.json`, public and cacheable.

use crate::http::error::ApiError;
use crate::http::wire::common::ErrorBody;
use actix_web::{web, HttpResponse};

/// The media type of a JSON Schema document.
pub const CONTENT_TYPE: &str = "application/schema+json";

/// How long a schema may be cached: an hour. Within a version a schema only ever gains
/// optional members (docs/webhooks.md), so a stale copy still validates what is sent.
const CACHE_CONTROL: &str = "public, max-age=3600";

/// One served schema.
pub struct Schema {
    /// The name in its URL, `/schemas/{name}.json`, and in `schemas/{name}.json`.
    pub name: &'static str,
    /// The event type whose `data` it describes, if it describes one.
    pub event: Option<&'static str>,
    /// The document, byte for byte as in the repository.
    pub text: &'static str,
}

/// Every served schema: the envelope, then each event's payload (the `intake.submitted`
/// one once per payload format).
pub const SCHEMAS: &[Schema] = &[
    Schema {
        name: "envelope",
        event: None,
        text: include_str!("../../../schemas/envelope.json"),
    },
    Schema {
        name: "gaprelay.v1",
        event: Some("intake.submitted"),
        text: include_str!("../../../schemas/gaprelay.v1.json"),
    },
    Schema {
        name: "fhir-r4",
        event: Some("intake.submitted"),
        text: include_str!("../../../schemas/fhir-r4.json"),
    },
    Schema {
        name: "endpoint.test",
        event: Some("endpoint.test"),
        text: include_str!("../../../schemas/endpoint.test.json"),
    },
    Schema {
        name: "endpoint.delivery_expired",
        event: Some("endpoint.delivery_expired"),
        text: include_str!("../../../schemas/endpoint.delivery_expired.json"),
    },
    Schema {
        name: "endpoint.failing",
        event: Some("endpoint.failing"),
        text: include_str!("../../../schemas/endpoint.failing.json"),
    },
];

/// The schema of that name, if there is one.
pub fn find(name: &str) -> Option<&'static Schema> {
    SCHEMAS.iter().find(|s| s.name == name)
}

/// `GET /schemas/{name}.json`: the JSON Schema of the webhook envelope (`envelope`) or of
/// an event's payload (`gaprelay.v1`, `fhir-r4`, `endpoint.test`,
/// `endpoint.delivery_expired`, `endpoint.failing`). No credentials; docs/webhooks.md.
#[utoipa::path(
    get, path = "/schemas/{name}.json", tag = "docs",
    params(("name" = String, Path, description = "`envelope`, `gaprelay.v1`, `fhir-r4`, `endpoint.test`, `endpoint.delivery_expired` or `endpoint.failing`")),
    responses(
        (status = 200, description = "A JSON Schema (draft 2020-12)", content_type = "application/schema+json", body = Object,
         example = crate::http::wire::examples::json_schema),
        (status = 404, description = "No schema of that name (`not_found`)", body = ErrorBody,
         example = crate::http::wire::examples::schema_not_found),
    )
)]
pub async fn schema(name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let schema = find(&name).ok_or_else(|| ApiError::not_found("schema"))?;
    Ok(HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .insert_header(("Cache-Control", CACHE_CONTROL))
        .body(schema.text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_is_a_2020_12_json_schema_named_by_its_id() {
        for s in SCHEMAS {
            let doc: serde_json::Value =
                serde_json::from_str(s.text).unwrap_or_else(|e| panic!("{}: {e}", s.name));
            assert_eq!(
                doc["$schema"], "https://json-schema.org/draft/2020-12/schema",
                "{}",
                s.name
            );
            assert_eq!(
                doc["$id"],
                format!("urn:gaprelay:schema:{}", s.name),
                "{}",
                s.name
            );
        }
    }

    #[test]
    fn each_event_type_has_a_payload_schema() {
        for event in [
            "intake.submitted",
            "endpoint.test",
            "endpoint.delivery_expired",
            "endpoint.failing",
        ] {
            assert!(SCHEMAS.iter().any(|s| s.event == Some(event)), "{event}");
        }
        assert!(find("envelope").is_some());
        assert!(find("nope").is_none());
    }
}
