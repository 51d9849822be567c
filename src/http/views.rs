//! Response bodies as types: what the handlers answer is what the OpenAPI document
//! describes, because both come from these structs.

use crate::delivery::payload::rfc3339;
use crate::domain::access::Role;
use crate::domain::catalog::{self, BodySystem, Sex};
use crate::domain::custom::CustomMarker;
use crate::domain::delivery::DeliveryStatus;
use crate::domain::endpoint::{Encryption, Format};
use crate::domain::ids::{ApiKeyId, EndpointId, MessageId, PractitionerId, SubmissionId};
use crate::domain::practitioner::{
    AccountStatus, Branding, CallToAction, ConsentVersion, ContactFields, Practitioner, Slug,
};
use crate::domain::problems::FieldProblem;
use crate::domain::ranges::{Bounds, EffectiveRange, RangeMessages, RangeSource};
use crate::domain::report::Report;
use crate::store::{ApiKeyRecord, AuditEntry, DeliveryRecord, EndpointRecord, Page};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// The one error shape of every route.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine code (`validation_failed`, `unauthorized`, `not_found`, …).
    pub code: &'static str,
    /// Human explanation; never echoes submitted values.
    pub message: String,
    /// For validation errors, one entry per offending field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldProblem>,
}

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

/// `{"status": …}` of the health routes.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` (alive) or `ready` (the store answers).
    pub status: &'static str,
}

/// The one list shape: a page of items and the cursor of the next page.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageView<T> {
    /// The items of this page.
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` at the end.
    pub next_cursor: Option<String>,
}

impl<T> PageView<T> {
    /// A page of a list, each item shown with `view`.
    pub fn of<I>(page: Page<I>, view: impl Fn(&I) -> T) -> PageView<T> {
        PageView {
            data: page.items.iter().map(view).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

/// A whole (short) list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListView<T> {
    /// Every item.
    pub data: Vec<T>,
}

/// The practitioner as shown to its own keys and the operator.
#[derive(Debug, Serialize, ToSchema)]
pub struct PractitionerView {
    /// Id (`prac_…`).
    pub id: PractitionerId,
    /// Public form handle.
    pub slug: Slug,
    /// Practice name.
    pub practice_name: String,
    /// Doctor's name.
    pub doctor_name: String,
    /// Practice contact email.
    pub email: String,
    /// Practice website.
    pub website_url: String,
    /// Contact fields the form asks for.
    pub contact_fields: ContactFields,
    /// Whether the patient must consent.
    pub consent_required: bool,
    /// Consent wording.
    pub consent_text: String,
    /// Branding.
    pub branding: Branding,
    /// Origins allowed to embed the form.
    pub allowed_origins: Vec<String>,
    /// Version of the consent wording (carried by each webhook).
    pub consent_version: u32,
    /// The button shown after the report.
    pub call_to_action: Option<CallToAction>,
    /// Default region for patients' phone numbers.
    pub phone_region: Option<String>,
    /// Whether the practitioner lets the form take submissions.
    pub accepting_submissions: bool,
    /// Markers the form lists, in order (ids); `null`: the default list.
    pub form_markers: Option<Vec<String>>,
    /// The practice's own one-line explanations of markers, by marker id.
    pub marker_notes: std::collections::BTreeMap<String, String>,
    /// The note shown with every report (the default one unless the practice worded
    /// its own).
    pub disclaimer: String,
    /// Active or suspended by the operator.
    pub status: AccountStatus,
    /// When the account will be erased, if scheduled (RFC 3339).
    pub erase_at: Option<String>,
    /// Raised on every change; the `ETag` is `"v{version}"`.
    pub version: u64,
    /// When the account was created (RFC 3339).
    pub created_at: String,
}

impl From<&Practitioner> for PractitionerView {
    fn from(p: &Practitioner) -> Self {
        let s = &p.settings;
        PractitionerView {
            id: p.id.clone(),
            slug: p.slug.clone(),
            practice_name: p.practice_name.clone(),
            doctor_name: p.doctor_name.clone(),
            email: p.email.clone(),
            website_url: p.website_url.clone(),
            contact_fields: s.contact_fields,
            consent_required: s.consent_required,
            consent_text: s.consent_text.clone(),
            branding: s.branding.clone(),
            allowed_origins: s.allowed_origins.clone(),
            consent_version: s.consent_version,
            call_to_action: s.call_to_action.clone(),
            phone_region: s.phone_region.clone(),
            accepting_submissions: s.accepting_submissions,
            form_markers: s.form_markers.clone(),
            marker_notes: s.marker_notes.clone(),
            disclaimer: s
                .disclaimer
                .clone()
                .unwrap_or_else(|| crate::domain::practitioner::DEFAULT_DISCLAIMER.to_owned()),
            status: p.status,
            erase_at: p.erase_at.map(rfc3339),
            version: p.version,
            created_at: rfc3339(p.created_at),
        }
    }
}

/// One version of the consent wording, with the hash each webhook carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentVersionView {
    /// The version (`consent.version` in webhooks).
    pub version: u32,
    /// The wording, exactly as the form showed it.
    pub text: String,
    /// Lowercase hex SHA-256 of the wording's UTF-8 bytes (`consent.text_sha256` in
    /// webhooks).
    pub sha256: String,
    /// When this wording became current (RFC 3339).
    pub created_at: String,
}

impl ConsentVersionView {
    /// A recorded version.
    pub fn new(v: &ConsentVersion) -> ConsentVersionView {
        ConsentVersionView {
            version: v.version,
            text: v.text.clone(),
            sha256: v.sha256(),
            created_at: rfc3339(v.created_at),
        }
    }
}

/// A new practitioner and its first owner key (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedPractitioner {
    /// The practitioner.
    pub practitioner: PractitionerView,
    /// The owner API key; shown only here.
    pub api_key: String,
    /// The key's id (`key_…`).
    pub api_key_id: ApiKeyId,
}

/// An imported endpoint's new secrets (imports never carry secrets, so new ones are minted).
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointSecrets {
    /// Id (`ep_…`).
    pub id: EndpointId,
    /// The Standard Webhooks secret (`whsec_…`).
    pub secret: String,
    /// The payload encryption key.
    #[schema(value_type = Jwk)]
    pub encryption_key: Value,
}

/// What an import created: the practitioner, a new owner key and new endpoint secrets.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportedPractitioner {
    /// The practitioner.
    pub practitioner: PractitionerView,
    /// A new owner API key; shown only here.
    pub api_key: String,
    /// Each endpoint's new secret and key; shown only here.
    pub endpoints: Vec<EndpointSecrets>,
}

/// An API key without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    /// Id (`key_…`).
    pub id: ApiKeyId,
    /// Role.
    pub role: Role,
    /// Label.
    pub label: Option<String>,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it was last used (RFC 3339), if ever.
    pub last_used_at: Option<String>,
}

impl ApiKeyView {
    /// A key and when it was last used (Unix ms).
    pub fn new(k: &ApiKeyRecord, last_used_ms: Option<i64>) -> ApiKeyView {
        let last_used_at = last_used_ms
            .and_then(|ms| {
                time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
            })
            .map(rfc3339);
        ApiKeyView {
            id: k.id.clone(),
            role: k.role,
            label: k.label.clone(),
            prefix: k.prefix.clone(),
            created_at: rfc3339(k.created_at),
            last_used_at,
        }
    }
}

/// A new API key, with the key itself (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// The key's metadata.
    #[serde(flatten)]
    pub key: ApiKeyView,
    /// The API key; shown only here.
    pub api_key: String,
}

/// One entry of an audit log: never patient data, never secrets.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The API key id, or `operator`.
    pub actor: String,
    /// What was done (`api_key.created`, `endpoint.rotated`, …).
    pub action: String,
    /// What it was done to (an id or a name).
    pub target: String,
    /// `success` or `denied`.
    pub outcome: String,
    /// Changed field names and similar metadata.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl AuditEntryView {
    /// An entry as stored.
    pub fn new(e: &AuditEntry) -> AuditEntryView {
        // Destructured in full, so a new field fails to compile here instead of being
        // silently left out of the API and its document.
        let AuditEntry {
            at,
            actor,
            action,
            target,
            outcome,
            details,
        } = e;
        AuditEntryView {
            at: at.clone(),
            actor: actor.clone(),
            action: action.clone(),
            target: target.clone(),
            outcome: outcome.clone(),
            details: details.clone(),
        }
    }
}

/// One delivery in the delivery log: metadata only, never patient data.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// The message (`msg_…`, the `webhook-id`).
    pub message_id: MessageId,
    /// Target endpoint; `ep_awaiting` while the submission is held because the
    /// practice has no enabled endpoint yet.
    pub endpoint_id: EndpointId,
    /// Event type.
    pub event: String,
    /// The submission it carries, if any.
    pub submission_id: Option<SubmissionId>,
    /// `pending`, `awaiting_endpoint` (held for the practice's first enabled endpoint),
    /// `retrying`, `delivered`, `failed`, `expired` or `undeliverable`.
    #[schema(value_type = String)]
    pub status: DeliveryStatus,
    /// Attempts started.
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
    pub id: EndpointId,
    /// Target URL.
    pub url: String,
    /// Payload format.
    pub format: Format,
    /// Payload encryption.
    pub encryption: Encryption,
    /// Free text for the practitioner.
    pub description: Option<String>,
    /// Whether it receives deliveries.
    pub enabled: bool,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// Until when the rotated-out secret keeps signing alongside (RFC 3339), if rotated.
    pub previous_secret_until: Option<String>,
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
    /// The payload encryption key.
    #[schema(value_type = Jwk)]
    pub encryption_key: Value,
}

/// A queued test event.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuedMessage {
    /// The message id (`msg_…`), the `webhook-id` the endpoint will receive.
    pub message_id: MessageId,
}

/// What a "retry now" request scheduled.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetryScheduled {
    /// How many pending messages of the endpoint are now due.
    pub scheduled: usize,
}

/// One effective range of a marker.
#[derive(Debug, Serialize, ToSchema)]
pub struct RangeView {
    /// Marker id.
    pub marker: String,
    /// LOINC code, if any.
    pub loinc: Option<String>,
    /// Population (`null`: everyone).
    pub sex: Option<Sex>,
    /// The range's unit.
    pub unit: String,
    /// Standard (reference) range.
    pub standard: Option<Bounds>,
    /// Optimal range.
    pub optimal: Bounds,
    /// The practitioner's wording per zone.
    pub messages: RangeMessages,
    /// Catalog default or the practitioner's own.
    pub source: RangeSource,
}

impl RangeView {
    /// A catalog marker's effective range.
    pub fn new(marker: &catalog::Marker, r: &EffectiveRange) -> RangeView {
        RangeView {
            marker: marker.id.to_owned(),
            loinc: Some(marker.loinc.to_owned()),
            sex: r.sex,
            unit: r.unit.clone(),
            standard: r.standard,
            optimal: r.optimal,
            messages: r.messages.clone(),
            source: r.source,
        }
    }
}

/// A marker with this practitioner's effective ranges.
#[derive(Debug, Serialize, ToSchema)]
pub struct MarkerView {
    /// Id (catalog or the practitioner's own).
    pub id: String,
    /// LOINC code, if any.
    pub loinc: Option<String>,
    /// Human name.
    pub name: String,
    /// The unit ranges are kept and judged in.
    pub unit: String,
    /// Every unit a patient may type.
    pub units: Vec<String>,
    /// Whether it is the practitioner's own.
    pub custom: bool,
    /// Plausibility bounds (own markers only; present, possibly `null`, for those).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Bounds>)]
    pub plausible: Option<Option<Bounds>>,
    /// Body systems it bears on.
    pub systems: Vec<BodySystem>,
    /// One plain-language line for patients: the catalog's, or the practice's own
    /// marker's (a note in `marker_notes` is shown instead on the form).
    pub about: Option<String>,
    /// Effective ranges: for everyone, then per sex where they differ.
    pub ranges: Vec<RangeView>,
}

impl MarkerView {
    /// A catalog marker with its effective ranges.
    pub fn catalog(m: &catalog::Marker, ranges: Vec<RangeView>) -> MarkerView {
        MarkerView {
            id: m.id.to_owned(),
            loinc: Some(m.loinc.to_owned()),
            name: m.name.to_owned(),
            unit: m.range_unit().display.to_owned(),
            units: m.units.iter().map(|u| u.display.to_owned()).collect(),
            custom: false,
            plausible: None,
            systems: m.systems.to_vec(),
            about: Some(m.about.to_owned()),
            ranges,
        }
    }
}

impl From<&CustomMarker> for MarkerView {
    fn from(c: &CustomMarker) -> Self {
        MarkerView {
            id: c.id.clone(),
            loinc: c.loinc.clone(),
            name: c.name.clone(),
            unit: c.unit.clone(),
            units: vec![c.unit.clone()],
            custom: true,
            plausible: Some(c.plausible),
            systems: c.systems.clone(),
            about: c.about.clone(),
            ranges: vec![RangeView {
                marker: c.id.clone(),
                loinc: c.loinc.clone(),
                sex: None,
                unit: c.unit.clone(),
                standard: c.standard,
                optimal: c.optimal,
                messages: c.messages.clone(),
                source: RangeSource::Practitioner,
            }],
        }
    }
}

/// The practice as the public form introduces it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FormPractice {
    /// Public form handle.
    pub slug: Slug,
    /// Practice name.
    pub practice_name: String,
    /// Doctor's name.
    pub doctor_name: String,
}

/// A marker the form accepts.
#[derive(Debug, Serialize, ToSchema)]
pub struct FormMarker {
    /// The marker, its units and explanation.
    #[serde(flatten)]
    pub marker: crate::domain::form::FormMarker,
    /// Whether the form lists it (the others a patient adds by name or LOINC code).
    pub listed: bool,
}

/// A symptom the form offers.
#[derive(Debug, Serialize, ToSchema)]
pub struct FormSymptom {
    /// Id.
    pub id: String,
    /// Human name.
    pub name: String,
}

/// The consent the form asks for.
#[derive(Debug, Serialize, ToSchema)]
pub struct FormConsent {
    /// Whether the patient must consent.
    pub required: bool,
    /// The wording.
    pub text: String,
    /// Its version.
    pub version: u32,
}

/// What the public form shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct FormView {
    /// The practice.
    pub practitioner: FormPractice,
    /// Markers accepted: the listed ones in the practice's order, then the others.
    pub markers: Vec<FormMarker>,
    /// Symptoms offered, in order.
    pub symptoms: Vec<FormSymptom>,
    /// The same symptoms grouped by body system, as the hosted form shows them.
    pub symptom_groups: Vec<crate::domain::form::SymptomGroup>,
    /// The note shown under the report ("not a diagnosis").
    pub disclaimer: String,
    /// The hosted form page (relative to the relay).
    pub page: String,
    /// Contact fields asked for.
    pub contact_fields: ContactFields,
    /// Consent.
    pub consent: FormConsent,
    /// Branding.
    pub branding: Branding,
    /// The button shown after the report.
    pub call_to_action: Option<CallToAction>,
    /// Whether the form takes submissions now.
    pub accepting_submissions: bool,
    /// Send back as `form_token` with the submission: it dates when the form was
    /// loaded (submissions faster than a person could type are discarded as bots).
    pub form_token: String,
}

/// A queued submission and the patient's report.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntakeAccepted {
    /// Id (`sub_…`).
    pub submission_id: SubmissionId,
    /// The gap report.
    pub report: Report,
}
