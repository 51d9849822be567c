//! Checks a webhook body against the JSON Schemas of `schemas/` (as compiled into the
//! relay and served at `/schemas/{name}.json`): the envelope, then, when `data` is not
//! encrypted, the payload schema of its `type`. The fake CRM runs it on every request.
//!
//! The published schemas leave objects open (receivers must ignore members they do not
//! know, so that a version can gain optional ones); here they are closed
//! (`additionalProperties: false` wherever an object lists its properties), so that a
//! member the relay sends but the schemas do not describe fails the test that saw it.
//! The FHIR Bundle is checked only for being one: the FHIR tests run FHIR's validators.

use gaprelay::http::routes::schemas::{find, SCHEMAS};
use jsonschema::Validator;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Closes every object schema that lists its properties and says nothing of others.
fn closed(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            let lists_properties = map.get("properties").is_some_and(Value::is_object)
                && map.get("type").and_then(Value::as_str) == Some("object");
            if lists_properties && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".to_owned(), Value::Bool(false));
            }
            map.values_mut().for_each(closed);
        }
        Value::Array(items) => items.iter_mut().for_each(closed),
        _ => {}
    }
}

fn compile(name: &str, strict: bool) -> Validator {
    let text = find(name)
        .unwrap_or_else(|| panic!("no schema {name}"))
        .text;
    let mut schema: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("schemas/{name}.json: {e}"));
    if strict {
        if name == "envelope" {
            // Only the envelope's own members: the JWE objects follow RFC 7516, which
            // allows more than we send.
            schema["additionalProperties"] = Value::Bool(false);
        } else {
            closed(&mut schema);
        }
    }
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("schemas/{name}.json is not a valid JSON Schema: {e}"))
}

/// Every schema, compiled once, closed except the FHIR one.
fn validators() -> &'static BTreeMap<&'static str, Validator> {
    static VALIDATORS: OnceLock<BTreeMap<&'static str, Validator>> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        SCHEMAS
            .iter()
            .map(|s| (s.name, compile(s.name, s.name != "fhir-r4")))
            .collect()
    })
}

/// Whether `data` is a JWE rather than a payload (the envelope schema's own rule).
pub fn is_encrypted(data: &Value) -> bool {
    data.get("ciphertext").is_some()
}

fn check(name: &str, instance: &Value, out: &mut Vec<String>) {
    let validator = &validators()[name];
    for error in validator.iter_errors(instance) {
        // Masked: the message names the rule and the place, not the value.
        out.push(format!(
            "{name}: {} at {}",
            error.masked(),
            error.instance_path()
        ));
    }
}

/// What is wrong with a webhook body, by the schemas: nothing when it validates.
pub fn violations(body: &[u8]) -> Vec<String> {
    violations_decrypting(body, &[])
}

/// The plaintext of a flattened JWE under the first of `jwks` that opens it.
fn decrypted(data: &Value, jwks: &[Value]) -> Option<Value> {
    use gaprelay::crypto::jwe::{self, ContentKey, FlattenedJwe};
    let sealed: FlattenedJwe = serde_json::from_value(data.clone()).ok()?;
    jwks.iter()
        .filter_map(|jwk| ContentKey::from_jwk(jwk).ok())
        .find_map(|key| jwe::decrypt(&key, &sealed).ok())
        .and_then(|plain| serde_json::from_slice(&plain).ok())
}

/// As [`violations`]; an encrypted `data` that one of `jwks` (the endpoints' `oct`
/// keys) opens has its plaintext checked too, else only the envelope is.
pub fn violations_decrypting(body: &[u8], jwks: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    let envelope: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return vec![format!("the body is not JSON: {e}")],
    };
    check("envelope", &envelope, &mut out);
    if !out.is_empty() {
        return out;
    }
    let plaintext;
    let data = if is_encrypted(&envelope["data"]) {
        match decrypted(&envelope["data"], jwks) {
            Some(plain) => {
                plaintext = plain;
                &plaintext
            }
            None => return out,
        }
    } else {
        &envelope["data"]
    };
    let payload = match envelope["type"].as_str() {
        Some("intake.submitted") if data["resourceType"] == "Bundle" => "fhir-r4",
        Some("intake.submitted") => "gaprelay.v1",
        Some(other) if find(other).is_some() => other,
        other => {
            out.push(format!("no payload schema for the type {other:?}"));
            return out;
        }
    };
    check(payload, data, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).expect("JSON")
    }

    #[test]
    fn a_valid_test_event_and_an_encrypted_one_pass() {
        let test = json!({"type": "endpoint.test", "timestamp": "2026-01-01T00:00:00Z",
            "data": {"practitioner": {"id": "prac_1"}, "message": "hi"}});
        assert_eq!(violations(&body(test)), Vec::<String>::new());
        let jwe = json!({"type": "intake.submitted", "timestamp": "2026-01-01T00:00:00Z",
            "data": {"protected": "eyJ9", "iv": "aXY", "ciphertext": "Y3Q", "tag": "dGFn"}});
        assert_eq!(violations(&body(jwe)), Vec::<String>::new());
        let general = json!({"type": "intake.submitted", "timestamp": "2026-01-01T00:00:00Z",
            "data": {"protected": "eyJ9", "iv": "aXY", "ciphertext": "Y3Q", "tag": "dGFn",
                     "recipients": [{"header": {"kid": "k1", "alg": "ECDH-ES+A256KW"}, "encrypted_key": "ZWs"}]}});
        assert_eq!(violations(&body(general)), Vec::<String>::new());
    }

    #[test]
    fn an_encrypted_payload_is_checked_when_its_key_is_known() {
        use gaprelay::crypto::jwe::{self, ContentKey};
        let mut rng = rand::rngs::OsRng;
        let key = ContentKey::generate(&mut rng);
        let sealed = jwe::encrypt(&key, br#"{"practitioner": {"id": "prac_1"}}"#, &mut rng);
        let body = body(
            json!({"type": "endpoint.test", "timestamp": "2026-01-01T00:00:00Z",
            "data": sealed}),
        );
        // Without the key only the envelope is checked; with it, the missing `message`.
        assert_eq!(violations(&body), Vec::<String>::new());
        let found = violations_decrypting(&body, &[key.to_jwk()]);
        assert!(found.iter().any(|m| m.contains("message")), "{found:?}");
    }

    #[test]
    fn a_missing_field_an_undescribed_one_a_broken_jwe_and_an_unknown_type_are_caught() {
        let missing = json!({"type": "endpoint.test", "timestamp": "2026-01-01T00:00:00Z",
            "data": {"practitioner": {"id": "prac_1"}}});
        let v = violations(&body(missing));
        assert!(v.iter().any(|m| m.contains("message")), "{v:?}");
        let extra = json!({"type": "endpoint.test", "timestamp": "2026-01-01T00:00:00Z",
            "data": {"practitioner": {"id": "prac_1"}, "message": "hi", "surprise": 1}});
        assert!(!violations(&body(extra)).is_empty());
        let leaked = json!({"type": "endpoint.test", "timestamp": "2026-01-01T00:00:00Z",
            "data": {"practitioner": {"id": "prac_1"}, "message": "hi"}, "held_renderings": {}});
        assert!(!violations(&body(leaked)).is_empty());
        let broken = json!({"type": "intake.submitted", "timestamp": "2026-01-01T00:00:00Z",
            "data": {"protected": "eyJ9", "ciphertext": "Y3Q", "tag": "dGFn"}});
        assert!(!violations(&body(broken)).is_empty());
        let unknown = json!({"type": "endpoint.other", "timestamp": "2026-01-01T00:00:00Z",
            "data": {}});
        assert!(!violations(&body(unknown)).is_empty());
        let local_time = json!({"type": "endpoint.test", "timestamp": "2026-01-01T00:00:00+01:00",
            "data": {"practitioner": {"id": "prac_1"}, "message": "hi"}});
        assert!(!violations(&body(local_time)).is_empty());
        assert!(!violations(b"not json").is_empty());
    }
}
