//! Request extractors: a JSON body that answers in the contract's error shape (415, 413,
//! 400 with the offending field, 422 for well-formed values of the wrong type), the
//! intake body read field by field so that all its problems are reported together, and
//! the two kinds of credentials.

use super::error::ApiError;
use super::AppState;
use crate::domain::json_body::JsonBody;
use crate::domain::problems::FieldProblem;
use crate::domain::submission::IntakeDraft;
use crate::service::Principal;
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;

/// Largest request body accepted on any route.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON body, parsed with errors in the contract's shape.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the body must be at most {MAX_BODY_BYTES} bytes"),
    )
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(ct) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Turns a serde path (`labs.1.unit`, as serde_path_to_error prints it, or `labs[1].unit`)
/// into the contract's `labs[1].unit` form.
fn field_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            serde_path_to_error::Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Map { key }
            | serde_path_to_error::Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    out
}

/// Rewrites a serde data error so that it never repeats a submitted value: serde
/// messages such as `invalid type: string "Jane", expected f64` quote the input.
fn safe_problem(message: &str) -> (bool, String) {
    let msg = match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    };
    let expected = msg
        .find(", expected ")
        .map(|i| plain_type_names(&msg[i + 2..]));
    let expected = expected.as_deref();
    let (is_unknown_field, text) = if msg.starts_with("invalid type:") {
        (
            false,
            format!(
                "has the wrong type; {}",
                expected.unwrap_or("see the API reference")
            ),
        )
    } else if msg.starts_with("invalid value:") {
        (
            false,
            format!(
                "has an invalid value; {}",
                expected.unwrap_or("see the API reference")
            ),
        )
    } else if msg.starts_with("unknown variant") {
        (
            false,
            format!(
                "is not an accepted value; {}",
                expected.unwrap_or("see the API reference")
            ),
        )
    } else if msg.starts_with("unknown field") {
        (true, "is not a known field".to_owned())
    } else {
        (false, msg.to_owned())
    };
    (is_unknown_field, text)
}

/// Replaces Rust type names in serde's "expected …" with words an integrator knows.
fn plain_type_names(expected: &str) -> String {
    let mut out = expected.to_owned();
    for (rust, plain) in [
        ("f64", "a number"),
        ("f32", "a number"),
        ("u64", "a whole number"),
        ("u32", "a whole number"),
        ("u16", "a whole number"),
        ("u8", "a whole number"),
        ("i64", "a whole number"),
        ("i32", "a whole number"),
        ("a boolean", "true or false"),
        ("a sequence", "a list"),
    ] {
        if out.ends_with(rust) {
            out = format!("{}{plain}", &out[..out.len() - rust.len()]);
        }
    }
    // `expected struct IntakeRequest`: our type names mean nothing to an integrator.
    if let Some(i) = out.find("struct ") {
        out = format!("{}an object", &out[..i]);
    }
    out
}

/// Parses JSON bytes into `T`, mapping errors to the contract: syntax → 400, unknown
/// field → 400 naming it, anything else about a field → 422 naming it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Every request body is an object. serde's derived structs would also take an array
    // of their fields in order, which the contract does not offer: refuse any other
    // well-formed JSON value as a 422 (malformed bodies still get their 400 below).
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{')
        && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
    {
        return Err(ApiError::validation(vec![FieldProblem::new(
            "",
            "the body must be a JSON object",
        )]));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = match parsed {
        Ok(v) => v,
        Err(err) => {
            let path = field_path(err.path());
            let inner = err.into_inner();
            return Err(match inner.classify() {
                serde_json::error::Category::Data => {
                    let message = inner.to_string();
                    // A key given twice is ambiguous input, not a bad value: 400, naming
                    // the key (serde says it in backticks; the path ends at its parent).
                    if let Some(name) = message
                        .strip_prefix("duplicate field `")
                        .and_then(|rest| rest.split('`').next())
                    {
                        let field = if path.is_empty() {
                            name.to_owned()
                        } else {
                            format!("{path}.{name}")
                        };
                        return Err(ApiError::bad_request("the body gives a field twice")
                            .with_details(vec![FieldProblem::new(
                                field,
                                "appears more than once",
                            )]));
                    }
                    let (unknown_field, problem) = safe_problem(&message);
                    // serde_path_to_error's path already ends at the unknown field.
                    let field = path;
                    let detail = vec![FieldProblem::new(field, problem)];
                    if unknown_field {
                        ApiError::bad_request("the body has a field this route does not accept")
                            .with_details(detail)
                    } else {
                        ApiError::validation(detail)
                    }
                }
                _ => ApiError::bad_request(format!(
                    "the body is not valid JSON (line {}, column {})",
                    inner.line(),
                    inner.column()
                )),
            });
        }
    };
    de.end().map_err(|_| {
        ApiError::bad_request("the body has trailing characters after the JSON value")
    })?;
    Ok(value)
}

/// Parses the body of `POST /v1/intake/{slug}` so that every problem can be reported at
/// once. Its syntax is checked as [`parse_json`] checks any body (400 when malformed or
/// when a key is given twice, 422 when it is not an object); then it is read field by
/// field ([`IntakeDraft::from_json`]): fields it does not know, at any depth, are a
/// 400 naming each of them; fields of the wrong type stay in the request, for
/// `Submission::parse` to report together with every other problem (422).
pub fn parse_intake(bytes: &[u8]) -> Result<IntakeDraft, ApiError> {
    let JsonBody(body) = parse_json(bytes)?;
    IntakeDraft::from_json(body).map_err(|unknown| {
        ApiError::bad_request("the body has a field this route does not accept")
            .with_details(unknown)
    })
}

/// How long a body may take to arrive when the application state does not say.
const DEFAULT_BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn request_timeout() -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        "the body did not arrive in time; send it again in one go",
    )
}

/// Reads a JSON request's body: 415 unless it is declared JSON, 413 above
/// [`MAX_BODY_BYTES`] (declared or actual), 408 when it does not arrive within the
/// configured deadline (`GAPRELAY_BODY_READ_TIMEOUT`), 400 when it cannot be read.
async fn json_body_bytes(req: HttpRequest, mut payload: Payload) -> Result<web::Bytes, ApiError> {
    if !is_json(&req) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        ));
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    // A client that sends its headers and then drips the body would otherwise hold
    // the connection (and a file descriptor) for as long as it likes.
    let deadline = req
        .app_data::<web::Data<AppState>>()
        .map_or(DEFAULT_BODY_READ_TIMEOUT, |s| s.body_read_timeout);
    let read = web::Bytes::from_request(&req, &mut payload);
    let bytes = tokio::time::timeout(deadline, read)
        .await
        .map_err(|_| request_timeout())?
        .map_err(|e| match e.as_error::<actix_web::error::PayloadError>() {
            Some(actix_web::error::PayloadError::Overflow) => too_large(),
            _ => ApiError::bad_request("the body could not be read"),
        })?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = json_body_bytes(req.clone(), payload.take());
        Box::pin(async move { parse_json(&body.await?).map(ApiJson) })
    }
}

/// The body of `POST /v1/intake/{slug}`, read by [`parse_intake`].
#[derive(Debug)]
pub struct IntakeJson(pub IntakeDraft);

impl FromRequest for IntakeJson {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = json_body_bytes(req.clone(), payload.take());
        Box::pin(async move { parse_intake(&body.await?).map(IntakeJson) })
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal(&anyhow::anyhow!("application state missing")))
}

/// A practitioner's authenticated API key.
pub struct PractitionerAuth(pub Principal);

impl FromRequest for PractitionerAuth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let state = state(req);
        Box::pin(async move {
            let token = token.ok_or_else(ApiError::unauthorized)?;
            let principal = state?.services.authenticate(&token).await?;
            Ok(PractitionerAuth(principal))
        })
    }
}

/// The operator, authenticated by the admin token (compared in constant time).
pub struct OperatorAuth;

impl FromRequest for OperatorAuth {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ok = match (state(req), bearer(req)) {
            (Ok(state), Some(token)) => state
                .admin_token
                .as_ref()
                .is_some_and(|t| t.matches(&token)),
            _ => false,
        };
        std::future::ready(if ok {
            Ok(OperatorAuth)
        } else {
            Err(ApiError::unauthorized())
        })
    }
}

/// A scraper of `GET /metrics`, authenticated by `GAPRELAY_METRICS_TOKEN` (compared in
/// constant time). Without a configured token the route does not exist (404), so that
/// an anonymous caller, a bot among them, learns nothing from the counters.
pub struct MetricsAuth;

impl FromRequest for MetricsAuth {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let configured = state(req).ok().and_then(|s| s.metrics_token.clone());
        std::future::ready(match (configured, bearer(req)) {
            (None, _) => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route",
            )),
            (Some(token), Some(presented)) if token.matches(&presented) => Ok(MetricsAuth),
            (Some(_), _) => Err(ApiError::unauthorized()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Lab {
        value: f64,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Req {
        labs: Vec<Lab>,
    }

    #[test]
    fn a_wrong_type_names_the_field_and_never_echoes_the_value() {
        let err = parse_json::<Req>(br#"{"labs": [{"value": 1}, {"value": "CANARY-42"}]}"#)
            .err()
            .map(|e| format!("{e:?}"))
            .unwrap_or_default();
        assert!(err.contains("labs[1].value"), "{err}");
        assert!(err.contains("validation_failed"), "{err}");
        assert!(!err.contains("CANARY"), "{err}");
    }

    #[test]
    fn unknown_fields_are_a_bad_request_naming_the_field() {
        let err = parse_json::<Req>(br#"{"labs": [{"value": 1, "extra": true}]}"#)
            .err()
            .map(|e| format!("{e:?}"))
            .unwrap_or_default();
        assert!(
            err.contains("bad_request") && err.contains("labs[0].extra"),
            "{err}"
        );
    }

    #[test]
    fn an_intake_body_keeps_its_wrong_types_for_validation_and_names_each_unknown_field() {
        let req = parse_intake(
            br#"{"age": "CANARY", "labs": [{"marker": "tsh", "value": {}, "unit": "mIU/L"}]}"#,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let fields: Vec<&str> = req.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["age", "labs[0].value"]);
        assert!(!format!("{:?}", req.problems).contains("CANARY"));

        let err = parse_intake(br#"{"x": 1, "contact": {"y": 2}, "age": "a"}"#)
            .err()
            .map(|e| format!("{e:?}"))
            .unwrap_or_default();
        assert!(
            err.contains("bad_request") && err.contains("\"x\"") && err.contains("contact.y"),
            "{err}"
        );
    }

    #[test]
    fn an_intake_body_with_a_key_twice_or_bad_syntax_is_a_bad_request_and_a_non_object_a_422() {
        let code = |body: &[u8]| {
            parse_intake(body)
                .err()
                .map(|e| e.code())
                .unwrap_or_default()
        };
        assert_eq!(
            code(br#"{"consent": true, "consent": false}"#),
            "bad_request"
        );
        assert_eq!(
            code(br#"{"labs": [{"marker": "a", "marker": "b"}]}"#),
            "bad_request"
        );
        assert_eq!(code(br#"{"labs": ["#), "bad_request");
        assert_eq!(code(br#"{} {}"#), "bad_request");
        assert_eq!(code(br#"[1]"#), "validation_failed");
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        let err = parse_json::<Req>(br#"{"labs": ["#)
            .err()
            .map(|e| e.code())
            .unwrap_or_default();
        assert_eq!(err, "bad_request");
    }
}
