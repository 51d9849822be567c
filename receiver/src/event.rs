//! Typed events: the envelope `{type, timestamp, data}` and each event's `data`, as
//! schemas/*.json and docs/webhooks.md describe them. Unknown members are ignored and
//! unknown event types kept as [`Event::Unknown`], as the versioning policy asks.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// The body of every webhook: the event's type, when it happened, and its `data`
/// (possibly still encrypted: see [`crate::decrypt`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Envelope {
    /// The event type, e.g. `intake.submitted`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When the event happened, RFC 3339 UTC (the same on every retry).
    pub timestamp: String,
    /// The payload, or a JWE of it.
    pub data: Value,
}

impl Envelope {
    /// Reads the envelope from the body's bytes.
    pub fn from_slice(body: &[u8]) -> Result<Envelope, ParseError> {
        serde_json::from_slice(body).map_err(|_| ParseError::Envelope)
    }
}

/// Why a body or a payload did not parse. Never quotes the payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The body is not a JSON object with string `type` and `timestamp` and a `data`.
    #[error("the body is not a webhook envelope")]
    Envelope,
    /// `data` does not match the schema of its (known) type; names the type.
    #[error("the `data` of `{0}` does not match its schema")]
    Data(String),
}

/// A webhook event, by type.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// `intake.submitted`: a patient submitted the form.
    IntakeSubmitted(IntakeSubmitted),
    /// `endpoint.test`: sent by `POST /v1/endpoints/{id}/test`.
    EndpointTest(EndpointTest),
    /// `endpoint.delivery_expired`: a submission did not reach another endpoint in time.
    DeliveryExpired(DeliveryExpired),
    /// `endpoint.failing`: another endpoint of the practice keeps failing.
    EndpointFailing(EndpointFailing),
    /// A type this version of the library does not know: answer 2xx and ignore it,
    /// or read `data` yourself.
    Unknown {
        /// The event type.
        kind: String,
        /// The (decrypted) payload.
        data: Value,
    },
}

/// Parses a (decrypted) payload by its event type.
pub fn parse(kind: &str, data: Value) -> Result<Event, ParseError> {
    fn typed<T: serde::de::DeserializeOwned>(kind: &str, data: Value) -> Result<T, ParseError> {
        serde_json::from_value(data).map_err(|_| ParseError::Data(kind.to_owned()))
    }
    Ok(match kind {
        "intake.submitted" => Event::IntakeSubmitted(
            if data.get("resourceType").and_then(Value::as_str) == Some("Bundle") {
                IntakeSubmitted::FhirR4(data)
            } else {
                IntakeSubmitted::GaprelayV1(Box::new(typed(kind, data)?))
            },
        ),
        "endpoint.test" => Event::EndpointTest(typed(kind, data)?),
        "endpoint.delivery_expired" => Event::DeliveryExpired(typed(kind, data)?),
        "endpoint.failing" => Event::EndpointFailing(typed(kind, data)?),
        _ => Event::Unknown {
            kind: kind.to_owned(),
            data,
        },
    })
}

/// An `intake.submitted` payload, in the endpoint's format.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum IntakeSubmitted {
    /// Format `gaprelay.v1` (schemas/gaprelay.v1.json).
    GaprelayV1(Box<Intake>),
    /// Format `fhir-r4`: a FHIR R4 transaction Bundle (docs/fhir.md), kept as JSON.
    FhirR4(Value),
}

/// A submission in the `gaprelay.v1` format.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Intake {
    /// `sub_…`, the same in every delivery of it.
    pub submission_id: String,
    /// When the patient submitted the form, RFC 3339 UTC.
    pub submitted_at: String,
    /// The practice the form belongs to.
    pub practitioner: Practitioner,
    /// What the patient said about themselves.
    pub patient: Patient,
    /// Whether, and to which wording, the patient consented.
    pub consent: Consent,
    /// The gap report as the patient saw it.
    pub report: Report,
    /// How the form was used.
    #[serde(default)]
    pub engagement: Engagement,
    /// Where the form was filled in, when the form said.
    #[serde(default)]
    pub source: Option<Source>,
}

/// The practice a form belongs to.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Practitioner {
    /// `prac_…`.
    pub id: String,
    /// The form's slug (absent in `endpoint.test`).
    #[serde(default)]
    pub slug: Option<String>,
}

/// The patient's own fields; `None` when not asked or left empty.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Patient {
    /// Name.
    pub name: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Phone, E.164.
    pub phone: Option<String>,
    /// The reference population the ranges were chosen for.
    pub sex: Option<Sex>,
    /// Age in years.
    pub age: Option<u32>,
}

/// The reference population a patient's ranges were chosen for (a closed set: a new
/// value would be a new version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// `female`.
    Female,
    /// `male`.
    Male,
}

/// Where a lab value sits, from lowest to highest (a closed set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Zone {
    /// Below the standard (reference) range.
    BelowStandard,
    /// Within standard, below optimal.
    BelowOptimal,
    /// Within the optimal range.
    Optimal,
    /// Within standard, above optimal.
    AboveOptimal,
    /// Above the standard range.
    AboveStandard,
}

/// Why an `endpoint.failing` was sent (a closed set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailingReason {
    /// Failures in a row.
    KeepsFailing,
    /// A message to it is about to expire (`expires_at`).
    Expiring,
    /// A message to it expired undelivered (`message_id`).
    Expired,
}

/// The patient's consent; `at`, `version` and `text_sha256` are `None` without consent.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Consent {
    /// Whether the patient agreed to share the report.
    pub given: bool,
    /// When, RFC 3339 UTC.
    pub at: Option<String>,
    /// The consent wording's version.
    pub version: Option<u32>,
    /// Hex SHA-256 of the exact text agreed to.
    pub text_sha256: Option<String>,
}

/// The gap report.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Report {
    /// Labs, in the order entered.
    pub labs: Vec<Lab>,
    /// Symptoms, in the order selected.
    pub symptoms: Vec<Symptom>,
    /// Counts and the body systems to look at.
    pub summary: Summary,
}

/// One lab, converted to its range's unit and judged.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Lab {
    /// The catalog's or the practice's marker id.
    pub marker: String,
    /// LOINC code, if any.
    pub loinc: Option<String>,
    /// Display name.
    pub name: String,
    /// The value in `unit` (for a censored result, its bound).
    pub value: f64,
    /// The range's unit.
    pub unit: String,
    /// The value as entered.
    pub input: LabInput,
    /// The standard (reference) range, if known.
    pub standard: Option<Bounds>,
    /// The practitioner's optimal range.
    pub optimal: Bounds,
    /// Where the value sits.
    pub zone: Zone,
    /// Distance to the nearest optimal bound, in `unit`; 0 inside.
    pub gap: f64,
    /// The practitioner's wording for this zone, if any.
    #[serde(default)]
    pub message: Option<String>,
}

/// A lab value as the patient entered it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct LabInput {
    /// The number entered.
    pub value: f64,
    /// The unit chosen.
    pub unit: String,
    /// `<` or `>` for a censored result.
    #[serde(default)]
    pub qualifier: Option<String>,
}

/// A range; `None` on a side without a limit.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Bounds {
    /// Lower limit.
    pub low: Option<f64>,
    /// Upper limit.
    pub high: Option<f64>,
}

/// A selected symptom.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Symptom {
    /// Symptom id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Body systems it points to.
    pub systems: Vec<String>,
}

/// The report's summary.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Summary {
    /// Number of labs.
    pub labs: u32,
    /// Labs per zone, every zone present.
    pub zones: BTreeMap<String, u32>,
    /// Labs outside the optimal range.
    pub out_of_optimal: u32,
    /// Body systems to look at, most attention first.
    pub systems: Vec<SystemAttention>,
}

/// One body system in the summary.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct SystemAttention {
    /// The body system, e.g. `thyroid`.
    pub system: String,
    /// Attention score (see docs/webhooks.md).
    pub attention: u32,
    /// Markers pointing to it.
    pub markers: Vec<String>,
    /// Symptoms pointing to it.
    pub symptoms: Vec<String>,
}

/// How the form was used.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Engagement {
    /// Seconds spent on the form, when measured.
    #[serde(default)]
    pub time_on_tool_s: Option<u64>,
}

/// Where the form was filled in.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Source {
    /// The embedding page without query or fragment, if known.
    pub page_url: Option<String>,
    /// UTM parameters (`source`, `medium`, `campaign`, `term`, `content`) that were given.
    pub utm: BTreeMap<String, String>,
}

/// An `endpoint.test` payload: a fixed sample, no patient data.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct EndpointTest {
    /// The practice (its `id`).
    pub practitioner: Practitioner,
    /// A sentence saying this is a test.
    pub message: String,
}

/// An `endpoint.delivery_expired` payload: ids and a time only.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct DeliveryExpired {
    /// The undelivered message (its `webhook-id`).
    pub message_id: String,
    /// The endpoint it did not reach (`ep_awaiting` if none was enabled).
    pub endpoint_id: String,
    /// The submission it carried, if any.
    pub submission_id: Option<String>,
    /// When it expired, RFC 3339 UTC.
    pub expired_at: String,
}

/// An `endpoint.failing` payload: ids, counts and times only.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct EndpointFailing {
    /// The failing endpoint.
    pub endpoint_id: String,
    /// Why it is reported.
    pub reason: FailingReason,
    /// Failures in a row.
    pub consecutive_failures: u64,
    /// Messages waiting for it (counted up to a cap).
    pub pending_messages: u64,
    /// Whether `pending_messages` stopped at the cap.
    pub pending_capped: bool,
    /// The status of the last answer, if there was one.
    pub last_http_status: Option<u16>,
    /// Why the last attempt got no usable answer, if so.
    pub last_error: Option<String>,
    /// The expired message, for `expired`.
    pub message_id: Option<String>,
    /// When the oldest pending message expires, for `expiring`.
    pub expires_at: Option<String>,
    /// When this was detected, RFC 3339 UTC.
    pub detected_at: String,
}
