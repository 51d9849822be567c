//! Endpoints and deliveries on the wire: the bodies of `POST /v1/endpoints` and
//! `PATCH /v1/endpoints/{id}` (into the domain's [`EndpointDraft`] and the service's
//! [`EndpointEdit`]), the endpoint, its secrets and the delivery log as answered, and the
//! schema of an endpoint's format, encryption and ids.

use super::schema_of;
use crate::delivery::payload::rfc3339;
use crate::domain::delivery::DeliveryStatus;
use crate::domain::endpoint::EndpointDraft;
use crate::domain::ids::SubmissionId;
use crate::service::account::EndpointEdit;
use crate::store::{DeliveryRecord, EndpointRecord};
use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A JSON Web Key (RFC 7517) for the endpoint's payload encryption: loads as it is
/// into ordinary JOSE libraries.
#[derive(Debug, Serialize, ToSchema)]
pub struct Jwk {
    /// Always `oct`.
    pub kty: String,
    /// Key id; the JWE protected header names it.
    pub kid: String,
    /// The key, base64url.
    pub k: String,
    /// Always `dir`.
    pub alg: String,
    /// Always `A256GCM`.
    pub enc: String,
}

/// One delivery in the delivery log: metadata only, never patient data.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// The message (`msg_…`, the `webhook-id`).
    pub message_id: crate::domain::ids::MessageId,
    /// Target endpoint; `ep_awaiting` while the submission is held because the
    /// practice has no enabled endpoint yet.
    pub endpoint_id: crate::domain::ids::EndpointId,
    /// Event type.
    pub event: String,
    /// The submission it carries, if any.
    pub submission_id: Option<SubmissionId>,
    /// `pending`, `awaiting_endpoint` (held for the practice's first enabled endpoint),
    /// `retrying`, `delivered`, `failed`, `expired` or `undeliverable`.
    #[schema(value_type = String)]
    pub status: DeliveryStatus,
    /// Attempts made (one in progress counts once it ends).
    pub attempts: u32,
    /// When the next attempt is due (RFC 3339), if one is.
    pub next_attempt_at: Option<String>,
    /// The receiver's last HTTP status.
    pub last_http_status: Option<u16>,
    /// The last error class (`timeout`, `connect`, `forbidden_target`, `endpoint_gone`, `endpoint_disabled`).
    pub last_error: Option<String>,
    /// Queued at (RFC 3339).
    pub created_at: String,
    /// Last change (RFC 3339).
    pub updated_at: String,
}

fn ms_to_rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(rfc3339)
        .unwrap_or_default()
}

impl DeliveryView {
    /// A delivery as logged.
    pub fn new(d: &DeliveryRecord) -> DeliveryView {
        DeliveryView {
            message_id: d.message_id.clone(),
            endpoint_id: d.endpoint_id.clone(),
            event: d.event.clone(),
            submission_id: d.submission_id.clone(),
            status: d.status,
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_ms.map(ms_to_rfc3339),
            last_http_status: d.last_http_status,
            last_error: d.last_error.clone(),
            created_at: ms_to_rfc3339(d.created_ms),
            updated_at: ms_to_rfc3339(d.updated_ms),
        }
    }
}

/// A webhook endpoint without its secrets.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointView {
    /// Id (`ep_…`).
    pub id: crate::domain::ids::EndpointId,
    /// Target URL.
    pub url: String,
    /// Payload format.
    pub format: crate::domain::endpoint::Format,
    /// Payload encryption.
    pub encryption: crate::domain::endpoint::Encryption,
    /// Free text for the practitioner.
    pub description: Option<String>,
    /// Whether it receives deliveries.
    pub enabled: bool,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// Until when the rotated-out secret keeps signing alongside (RFC 3339), if rotated.
    pub previous_secret_until: Option<String>,
    /// For `jwe-receiver`: the `kid` of each public key `data` is encrypted to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub receiver_kids: Vec<String>,
}

impl EndpointView {
    /// An endpoint as stored, without its secrets.
    pub fn new(e: &EndpointRecord) -> EndpointView {
        EndpointView {
            id: e.id.clone(),
            url: e.url.clone(),
            format: e.format,
            encryption: e.encryption,
            description: e.description.clone(),
            enabled: e.enabled,
            created_at: rfc3339(e.created_at),
            previous_secret_until: e.previous_secret_until.map(rfc3339),
            receiver_kids: e
                .receiver_keys
                .iter()
                .filter_map(|k| k["kid"].as_str().map(str::to_owned))
                .collect(),
        }
    }
}

/// An endpoint with its secret and key, shown only at creation and rotation.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointWithSecrets {
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: EndpointView,
    /// The Standard Webhooks secret (`whsec_…`).
    pub secret: String,
    /// The payload encryption key; absent for `jwe-receiver`, whose data only the
    /// receiver's own private keys decrypt.
    #[schema(value_type = Option<Jwk>)]
    #[serde(skip_serializing_if = "Value::is_null")]
    pub encryption_key: Value,
}

/// The shared content key as issued to the endpoint's owner, or `null` (left out of
/// the answer) for `jwe-receiver`, where the relay encrypts to the receiver's own keys
/// and the shared key is never used.
pub fn issued_key(record: &EndpointRecord, key: &crate::crypto::jwe::ContentKey) -> Value {
    match record.encryption {
        crate::domain::endpoint::Encryption::JweReceiver => Value::Null,
        _ => key.to_jwk(),
    }
}

/// A queued test event.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuedMessage {
    /// The message id (`msg_…`), the `webhook-id` the endpoint will receive.
    pub message_id: crate::domain::ids::MessageId,
}

/// What a "retry now" request scheduled.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetryScheduled {
    /// How many pending messages of the endpoint are now due.
    pub scheduled: usize,
}

/// Body of `POST /v1/endpoints`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpointRequest {
    /// Target URL.
    pub url: String,
    /// Payload format; `gaprelay.v1` when absent.
    #[serde(default)]
    pub format: Option<crate::domain::endpoint::Format>,
    /// Encryption; `jwe` when absent.
    #[serde(default)]
    pub encryption: Option<crate::domain::endpoint::Encryption>,
    /// Free text for the practitioner.
    #[serde(default)]
    pub description: Option<String>,
    /// With `"encryption": "jwe-receiver"` only, and then required: the receiver's
    /// public JWKs (1 to 4, distinct `kid`s), EC P-256 `{"kty":"EC","crv":"P-256","kid","x","y"}`
    /// or OKP X25519 `{"kty":"OKP","crv":"X25519","kid","x"}`. A private key (`d`) is refused.
    #[serde(default)]
    #[schema(value_type = Option<Vec<ReceiverJwk>>)]
    pub receiver_keys: Option<Vec<Value>>,
}

/// A receiver's public key (RFC 7517), EC P-256 or OKP X25519, for `jwe-receiver`.
#[derive(ToSchema)]
pub struct ReceiverJwk {
    /// `EC` (P-256) or `OKP` (X25519).
    pub kty: String,
    /// `P-256` or `X25519`.
    pub crv: String,
    /// Key id, distinct within the endpoint; each recipient header names it.
    pub kid: String,
    /// The x coordinate (or the X25519 public key), base64url.
    pub x: String,
    /// The y coordinate (P-256 only), base64url.
    pub y: Option<String>,
}

/// Body of `PATCH /v1/endpoints/{id}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointPatch {
    /// Enable or disable deliveries.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Target URL.
    #[serde(default)]
    pub url: Option<String>,
    /// For a `jwe-receiver` endpoint only: its new list of public keys (1 to 4, as at
    /// creation), replacing the old. To rotate, list the new key beside the old one,
    /// wait until messages queued before have been delivered (at most 24 hours), then
    /// list the new key alone.
    #[serde(default)]
    #[schema(value_type = Option<Vec<ReceiverJwk>>)]
    pub receiver_keys: Option<Vec<Value>>,
}

impl From<NewEndpointRequest> for EndpointDraft {
    fn from(r: NewEndpointRequest) -> Self {
        EndpointDraft {
            url: r.url,
            format: r.format,
            encryption: r.encryption,
            description: r.description,
            receiver_keys: r.receiver_keys,
        }
    }
}

impl From<EndpointPatch> for EndpointEdit {
    fn from(r: EndpointPatch) -> Self {
        EndpointEdit {
            enabled: r.enabled,
            description: r.description,
            url: r.url,
            receiver_keys: r.receiver_keys,
        }
    }
}

/// Payload format delivered to an endpoint.
#[derive(ToSchema)]
pub enum Format {
    /// gaprelay's own JSON payload.
    #[serde(rename = "gaprelay.v1")]
    GaprelayV1,
    /// A FHIR R4 Bundle.
    #[serde(rename = "fhir-r4")]
    FhirR4,
}

/// Whether `data` is encrypted as a JWE.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Encryption {
    /// Flattened JWE, `dir` + `A256GCM`.
    Jwe,
    /// General JSON JWE, `ECDH-ES+A256KW` + `A256GCM`, to the receiver's public keys.
    #[serde(rename = "jwe-receiver")]
    JweReceiver,
    /// Plain JSON (the transport is still TLS and signed).
    None,
}

/// A webhook endpoint of a practitioner.
#[derive(ToSchema)]
#[serde(transparent)]
pub struct EndpointId(pub String);

/// One queued webhook message: the Standard Webhooks `webhook-id`, stable across retries.
#[derive(ToSchema)]
#[serde(transparent)]
pub struct MessageId(pub String);

schema_of! {
    crate::domain::endpoint::Format => Format,
    crate::domain::endpoint::Encryption => Encryption,
    crate::domain::ids::EndpointId => EndpointId,
    crate::domain::ids::MessageId => MessageId,
}
