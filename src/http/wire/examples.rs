//! The examples of the OpenAPI document: one made-up practice ("Example Family
//! Practice", `example-practice`), its keys, endpoint, settings and one patient's
//! submission, told the same way on every route and in every webhook, in the shapes the
//! relay really answers. Every name, email and URL is a reserved example (RFC 2606),
//! every secret is visibly fake (its bytes spell what it is), and nothing here is
//! anyone's data.
//!
//! `tests/api/openapi.rs` checks that every JSON body of the document has an example
//! that matches its schema, and that the practice's examples are what the relay really
//! answers and sends when its routes are called with the request examples (creation,
//! settings, ranges, markers, symptoms, the form, the submission and its webhook); the
//! unit tests below check that the ids, keys, secrets and hashes here parse as the
//! relay's own.

use serde_json::{json, Value};

/// The practice (`prac_…`).
pub const PRACTITIONER_ID: &str = "prac_9aB3cD5eF7gH1iJ2kL4mN6oP";
/// Its form handle.
pub const SLUG: &str = "example-practice";
/// Its endpoint (`ep_…`).
pub const ENDPOINT_ID: &str = "ep_7nO9pQ1rS3tU5vW7xY9zA1bC";
/// The patient's submission (`sub_…`).
pub const SUBMISSION_ID: &str = "sub_4fJ2kQ9xLmN7pR3sT8vW1yZ0";
/// The message carrying it (`msg_…`, its `webhook-id`).
pub const MESSAGE_ID: &str = "msg_2xY4zA6bC8dE0fG1hI3jK5lM";
/// The message of an `endpoint.test` event.
pub const TEST_MESSAGE_ID: &str = "msg_8kL0mN2pQ4rS6tU8vW0xY2zA";
/// The practice's first owner key (`key_…`).
pub const OWNER_KEY_ID: &str = "key_3hK5mP7rT9vX1zB3dF5hJ7lN";
/// A viewer key the practice added.
pub const VIEWER_KEY_ID: &str = "key_6qR8sT0uV2wX4yZ6aB8cD0eF";
/// The owner key itself, as shown once (`grk_` and 40 letters and digits).
pub const OWNER_API_KEY: &str = "grk_EXAMPLEowner0key0not0for0real0use0000000";
/// The viewer key itself, as shown once.
pub const VIEWER_API_KEY: &str = "grk_EXAMPLEviewer0key0not0for0real0use000000";
/// The endpoint's Standard Webhooks secret: base64 of `example-secret-not-for-real-use!`.
pub const WEBHOOK_SECRET: &str = "whsec_ZXhhbXBsZS1zZWNyZXQtbm90LWZvci1yZWFsLXVzZSE=";
/// The secret after a rotation: base64 of `example-secret-rotated-not-real!`.
pub const ROTATED_WEBHOOK_SECRET: &str = "whsec_ZXhhbXBsZS1zZWNyZXQtcm90YXRlZC1ub3QtcmVhbCE=";
/// When the practice was created.
pub const CREATED_AT: &str = "2026-11-02T09:15:00Z";
/// When the patient submitted (and the event's timestamp).
pub const SUBMITTED_AT: &str = "2026-11-23T04:00:00Z";
/// The consent wording the patient agreed to (version 2).
pub const CONSENT_TEXT: &str =
    "I agree that Example Family Practice may contact me about my results.";
/// Its SHA-256 (`consent.text_sha256`).
pub const CONSENT_SHA256: &str = "d85667bb2cb0e7118fb8f1e8d7e38b1eab8b146665d8734aa0d18df577da099a";
/// The default wording (version 1).
const DEFAULT_CONSENT_TEXT: &str = "I agree that the information I enter is sent to this practice so that they can contact me about my results.";
/// Its SHA-256.
const DEFAULT_CONSENT_SHA256: &str =
    "8cc7051361068563f1256fedc0881796a6a71a62bfd7068842b0b3a76b4cd06b";
const DISCLAIMER: &str = "This report is for information only and is not a diagnosis. Talk to your practitioner before changing anything.";
const WEBSITE: &str = "https://practice.example.com";
const CRM_URL: &str = "https://crm.example.com/hooks/gaprelay";

fn jwk(k: &str, kid: &str) -> Value {
    json!({"kty": "oct", "kid": kid, "k": k, "alg": "dir", "enc": "A256GCM"})
}

/// The endpoint's content key: 32 bytes spelling `example-key-material-not-secret!`.
pub fn encryption_key() -> Value {
    jwk(
        "ZXhhbXBsZS1rZXktbWF0ZXJpYWwtbm90LXNlY3JldCE",
        "ZXhhbXBsZS1raWQtMDAwMQ",
    )
}

fn rotated_encryption_key() -> Value {
    jwk(
        "cm90YXRlZC1rZXktbWF0ZXJpYWwtbm90LXNlY3JldCE",
        "ZXhhbXBsZS1raWQtMDAwMg",
    )
}

/// `{"error": {"code", "message"}}`.
fn error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

/// A 422 with one detail per `(field, problem)`, worded as the relay words it.
fn validation(details: &[(&str, &str)]) -> Value {
    let n = details.len();
    let message = if n == 1 {
        "1 problem in the request".to_owned()
    } else {
        format!("{n} problems in the request")
    };
    let details: Vec<Value> = details
        .iter()
        .map(|(field, problem)| json!({"field": field, "problem": problem}))
        .collect();
    json!({"error": {"code": "validation_failed", "message": message, "details": details}})
}

fn page(data: Vec<Value>) -> Value {
    json!({"data": data, "next_cursor": null})
}

// Requests.

/// Body of `POST /v1/practitioners`.
pub fn new_practitioner_request() -> Value {
    json!({
        "practice_name": "Example Family Practice",
        "doctor_name": "Dr. Jane Example",
        "email": "office@practice.example.com",
        "website_url": WEBSITE,
        "slug": SLUG,
        "phone_region": "US"
    })
}

/// Body of `PATCH /v1/practitioner`.
pub fn practitioner_patch_request() -> Value {
    json!({
        "branding": {"logo_url": "https://practice.example.com/logo.png", "primary_color": "#1F6FEB"},
        "call_to_action": {"label": "Book a consultation", "url": "https://practice.example.com/book"},
        "consent_text": CONSENT_TEXT,
        "form_markers": ["tsh", "ferritin", "vitamin_d_25oh"],
        "marker_notes": {"tsh": "Tells us how hard your pituitary is driving your thyroid."}
    })
}

/// Body of `POST /v1/api-keys`.
pub fn new_api_key_request() -> Value {
    json!({"role": "viewer", "label": "Reporting dashboard"})
}

/// Body of `PUT /v1/markers/{id}` (`omega3_index`).
pub fn custom_marker_request() -> Value {
    json!({
        "name": "Omega-3 index",
        "unit": "%",
        "optimal": {"low": 8, "high": 12},
        "standard": {"low": 4},
        "plausible": {"low": 0, "high": 30},
        "messages": {"low": "Worth discussing your omega-3 intake."},
        "systems": ["inflammation"],
        "about": "The share of omega-3 fats in your red blood cells."
    })
}

/// Body of `PUT /v1/symptoms`.
pub fn symptom_settings_request() -> Value {
    json!({
        "offered": ["fatigue", "cold_intolerance", "brain_fog", "night_sweats"],
        "custom": [{"id": "night_sweats", "name": "Night sweats", "systems": ["sex_hormones"]}]
    })
}

/// Body of `PUT /v1/ranges/{marker}` (`tsh`).
pub fn range_request() -> Value {
    json!({
        "unit": "mIU/L",
        "optimal": {"low": 0.5, "high": 2.5},
        "messages": {"high": "Slightly high: worth a closer look at your thyroid."}
    })
}

/// Body of `POST /v1/endpoints`.
pub fn new_endpoint_request() -> Value {
    json!({"url": CRM_URL, "format": "gaprelay.v1", "encryption": "jwe", "description": "Practice CRM"})
}

/// Body of `PATCH /v1/endpoints/{id}`.
pub fn endpoint_patch_request() -> Value {
    json!({"enabled": false, "description": "Practice CRM (paused during migration)"})
}

/// Body of `POST /v1/intake/{slug}`: the patient's submission.
pub fn intake_request() -> Value {
    json!({
        "contact": {"name": "Jane Example", "email": "jane@example.com", "phone": "(202) 555-0143"},
        "sex": "female",
        "age": 42,
        "labs": [
            {"marker": "3016-3", "value": 3.1, "unit": "mIU/L"},
            {"marker": "ferritin", "value": "<5", "unit": "ng/mL"},
            {"marker": "vitamin_d_25oh", "value": "62,5", "unit": "ng/mL"}
        ],
        "symptoms": ["fatigue", "cold_intolerance"],
        "consent": true,
        "engagement": {"time_on_tool_s": 240},
        "source": {
            "page_url": "https://practice.example.com/labs",
            "utm": {"source": "newsletter", "medium": "email", "campaign": "spring-checkup"}
        },
        "form_token": "ft1.1795406160000.ZXhhbXBsZS1mb3JtLXRva2VuLXRhZy1ub3QtcmVhbCE",
        "honeypot": ""
    })
}

// The practice.

/// The practice as `GET /v1/practitioner` answers it.
pub fn practitioner() -> Value {
    json!({
        "id": PRACTITIONER_ID,
        "slug": SLUG,
        "practice_name": "Example Family Practice",
        "doctor_name": "Dr. Jane Example",
        "email": "office@practice.example.com",
        "website_url": WEBSITE,
        "contact_fields": {"name": "required", "email": "required", "phone": "optional"},
        "consent_required": true,
        "consent_text": CONSENT_TEXT,
        "branding": {"logo_url": "https://practice.example.com/logo.png", "primary_color": "#1F6FEB", "secondary_color": null},
        "allowed_origins": [WEBSITE],
        "consent_version": 2,
        "call_to_action": {"label": "Book a consultation", "url": "https://practice.example.com/book"},
        "phone_region": "US",
        "accepting_submissions": true,
        "form_markers": ["tsh", "ferritin", "vitamin_d_25oh"],
        "marker_notes": {"tsh": "Tells us how hard your pituitary is driving your thyroid."},
        "disclaimer": DISCLAIMER,
        "status": "active",
        "erase_at": null,
        "version": 2,
        "created_at": CREATED_AT
    })
}

fn practitioner_with(changes: Value) -> Value {
    let mut p = practitioner();
    if let (Some(p), Value::Object(changes)) = (p.as_object_mut(), changes) {
        p.extend(changes);
    }
    p
}

/// The practice with its erasure scheduled (`DELETE /v1/practitioner`).
pub fn practitioner_erasure_scheduled() -> Value {
    practitioner_with(json!({"erase_at": "2026-12-24T10:00:00Z", "version": 3}))
}

/// The practice as the operator suspended it.
pub fn practitioner_suspended() -> Value {
    practitioner_with(json!({"status": "suspended", "version": 3}))
}

/// The practice as just created (`POST /v1/practitioners`): the defaults.
fn new_practitioner() -> Value {
    practitioner_with(json!({
        "consent_text": DEFAULT_CONSENT_TEXT,
        "consent_version": 1,
        "branding": {"logo_url": null, "primary_color": null, "secondary_color": null},
        "call_to_action": null,
        "form_markers": null,
        "marker_notes": {},
        "version": 1
    }))
}

/// `POST /v1/practitioners`: the practice and its owner key.
pub fn created_practitioner() -> Value {
    json!({"practitioner": new_practitioner(), "api_key": OWNER_API_KEY, "api_key_id": OWNER_KEY_ID})
}

/// `GET /v1/practitioners`.
pub fn practitioners_page() -> Value {
    page(vec![practitioner()])
}

/// Version 2 of the consent wording.
pub fn consent_version() -> Value {
    json!({"version": 2, "text": CONSENT_TEXT, "sha256": CONSENT_SHA256, "created_at": "2026-11-20T14:30:00Z"})
}

/// `GET /v1/practitioner/consent-versions`.
pub fn consent_versions_page() -> Value {
    page(vec![
        consent_version(),
        json!({"version": 1, "text": DEFAULT_CONSENT_TEXT, "sha256": DEFAULT_CONSENT_SHA256, "created_at": CREATED_AT}),
    ])
}

// Keys and audit.

fn viewer_key() -> Value {
    json!({
        "id": VIEWER_KEY_ID,
        "role": "viewer",
        "label": "Reporting dashboard",
        "prefix": "grk_EXAM",
        "created_at": "2026-11-20T14:35:00Z",
        "last_used_at": null
    })
}

/// `POST /v1/api-keys`: the new key, shown once.
pub fn created_api_key() -> Value {
    let mut key = viewer_key();
    key["api_key"] = json!(VIEWER_API_KEY);
    key
}

/// `GET /v1/api-keys`.
pub fn api_keys_page() -> Value {
    page(vec![
        viewer_key(),
        json!({
            "id": OWNER_KEY_ID,
            "role": "owner",
            "label": "initial owner key",
            "prefix": "grk_EXAM",
            "created_at": CREATED_AT,
            "last_used_at": "2026-11-24T10:00:00Z"
        }),
    ])
}

fn audit(at: &str, actor: &str, action: &str, target: &str, details: &[&str]) -> Value {
    let mut entry =
        json!({"at": at, "actor": actor, "action": action, "target": target, "outcome": "success"});
    if !details.is_empty() {
        entry["details"] = json!(details);
    }
    entry
}

/// `GET /v1/audit-log`, newest first.
pub fn audit_log_page() -> Value {
    page(vec![
        audit(
            "2026-11-20T14:52:00Z",
            OWNER_KEY_ID,
            "symptoms.set",
            PRACTITIONER_ID,
            &[],
        ),
        audit(
            "2026-11-20T14:50:00Z",
            OWNER_KEY_ID,
            "marker.set",
            "omega3_index",
            &[],
        ),
        audit(
            "2026-11-20T14:45:00Z",
            OWNER_KEY_ID,
            "range.set",
            "tsh",
            &[],
        ),
        audit(
            "2026-11-20T14:40:00Z",
            OWNER_KEY_ID,
            "endpoint.created",
            ENDPOINT_ID,
            &[],
        ),
        audit(
            "2026-11-20T14:35:00Z",
            OWNER_KEY_ID,
            "api_key.created",
            VIEWER_KEY_ID,
            &["role=viewer"],
        ),
        audit(
            "2026-11-20T14:30:00Z",
            OWNER_KEY_ID,
            "practitioner.updated",
            PRACTITIONER_ID,
            &[
                "branding",
                "consent_text",
                "call_to_action",
                "form_markers",
                "marker_notes",
            ],
        ),
        audit(
            CREATED_AT,
            "operator",
            "practitioner.created",
            PRACTITIONER_ID,
            &[],
        ),
    ])
}

/// `GET /v1/operator/audit-log`, newest first.
pub fn operator_audit_log_page() -> Value {
    page(vec![
        audit(
            "2026-11-25T08:00:00Z",
            "operator",
            "practitioner.reinstated",
            PRACTITIONER_ID,
            &[],
        ),
        audit(
            "2026-11-24T18:00:00Z",
            "operator",
            "practitioner.suspended",
            PRACTITIONER_ID,
            &[],
        ),
        audit(
            CREATED_AT,
            "operator",
            "practitioner.created",
            PRACTITIONER_ID,
            &[],
        ),
    ])
}

// Export and import.

/// `GET /v1/practitioner/export`, which `POST /v1/practitioner/import` takes.
pub fn export_document() -> Value {
    json!({
        "format": "gaprelay.export.v1",
        "exported_at": "2026-11-24T10:00:00Z",
        "practitioner": {
            "id": PRACTITIONER_ID,
            "slug": SLUG,
            "practice_name": "Example Family Practice",
            "doctor_name": "Dr. Jane Example",
            "email": "office@practice.example.com",
            "website_url": WEBSITE,
            "settings": {
                "contact_fields": {"name": "required", "email": "required", "phone": "optional"},
                "consent_required": true,
                "consent_text": CONSENT_TEXT,
                "consent_version": 2,
                "branding": {"logo_url": "https://practice.example.com/logo.png", "primary_color": "#1F6FEB", "secondary_color": null},
                "call_to_action": {"label": "Book a consultation", "url": "https://practice.example.com/book"},
                "accepting_submissions": true,
                "allowed_origins": [WEBSITE],
                "phone_region": "US",
                "symptoms": symptom_settings_request(),
                "form_markers": ["tsh", "ferritin", "vitamin_d_25oh"],
                "marker_notes": {"tsh": "Tells us how hard your pituitary is driving your thyroid."},
                "disclaimer": null
            },
            "created_at": "2026-11-02T09:15:00.000Z",
            "status": "active",
            "erase_at": null,
            "version": 3
        },
        "ranges": [{
            "marker": "tsh",
            "sex": null,
            "optimal": {"low": 0.5, "high": 2.5},
            "standard": null,
            "messages": {"high": "Slightly high: worth a closer look at your thyroid."}
        }],
        "custom_markers": [{
            "id": "omega3_index",
            "name": "Omega-3 index",
            "unit": "%",
            "loinc": null,
            "optimal": {"low": 8.0, "high": 12.0},
            "standard": {"low": 4.0, "high": null},
            "plausible": {"low": 0.0, "high": 30.0},
            "messages": {"low": "Worth discussing your omega-3 intake."},
            "systems": ["inflammation"],
            "about": "The share of omega-3 fats in your red blood cells."
        }],
        "endpoints": [{
            "id": ENDPOINT_ID,
            "url": CRM_URL,
            "format": "gaprelay.v1",
            "encryption": "jwe",
            "description": "Practice CRM",
            "enabled": true,
            "receiver_keys": []
        }],
        "api_keys": [
            {"id": VIEWER_KEY_ID, "role": "viewer", "label": "Reporting dashboard", "prefix": "grk_EXAM", "created_at": "2026-11-20T14:35:00.000Z"},
            {"id": OWNER_KEY_ID, "role": "owner", "label": "initial owner key", "prefix": "grk_EXAM", "created_at": "2026-11-02T09:15:00.000Z"}
        ],
        "audit_log": exported_audit_log(),
        "consent_versions": [
            {"version": 2, "text": CONSENT_TEXT, "created_at": "2026-11-20T14:30:00.000Z"},
            {"version": 1, "text": DEFAULT_CONSENT_TEXT, "created_at": "2026-11-02T09:15:00.000Z"}
        ]
    })
}

/// The audit log an export carries: the export itself, then the log.
fn exported_audit_log() -> Value {
    let mut entries = vec![audit(
        "2026-11-24T10:00:00Z",
        OWNER_KEY_ID,
        "practitioner.exported",
        PRACTITIONER_ID,
        &[],
    )];
    if let Value::Array(log) = &audit_log_page()["data"] {
        entries.extend(log.iter().cloned());
    }
    Value::Array(entries)
}

/// `POST /v1/practitioner/import`: the practice, a new owner key and new secrets.
pub fn imported_practitioner() -> Value {
    json!({
        "practitioner": practitioner_with(json!({"version": 3})),
        "api_key": OWNER_API_KEY,
        "endpoints": [{"id": ENDPOINT_ID, "secret": WEBHOOK_SECRET, "encryption_key": encryption_key()}]
    })
}

// Markers, symptoms and ranges.

fn range(marker: &str, loinc: &str, unit: &str, standard: Value, optimal: Value) -> Value {
    json!({
        "marker": marker, "loinc": loinc, "sex": null, "unit": unit,
        "standard": standard, "optimal": optimal, "messages": {}, "source": "default"
    })
}

/// TSH's range once the practice set its own (`PUT /v1/ranges/tsh`).
pub fn tsh_range_set() -> Value {
    let mut r = range(
        "tsh",
        "3016-3",
        "mIU/L",
        json!({"low": 0.4, "high": 4.2}),
        json!({"low": 0.5, "high": 2.5}),
    );
    r["messages"] = json!({"high": "Slightly high: worth a closer look at your thyroid."});
    r["source"] = json!("practitioner");
    r
}

/// TSH's catalog range, in effect again after `DELETE /v1/ranges/tsh`.
pub fn tsh_range_default() -> Value {
    range(
        "tsh",
        "3016-3",
        "mIU/L",
        json!({"low": 0.4, "high": 4.2}),
        json!({"low": 1.0, "high": 2.0}),
    )
}

/// The practice's own marker (`PUT /v1/markers/omega3_index`).
pub fn custom_marker() -> Value {
    json!({
        "id": "omega3_index",
        "loinc": null,
        "name": "Omega-3 index",
        "unit": "%",
        "units": ["%"],
        "custom": true,
        "plausible": {"low": 0.0, "high": 30.0},
        "systems": ["inflammation"],
        "about": "The share of omega-3 fats in your red blood cells.",
        "ranges": [{
            "marker": "omega3_index", "loinc": null, "sex": null, "unit": "%",
            "standard": {"low": 4.0, "high": null}, "optimal": {"low": 8.0, "high": 12.0},
            "messages": {"low": "Worth discussing your omega-3 intake."}, "source": "practitioner"
        }]
    })
}

/// `GET /v1/markers`: the catalog with the practice's ranges (its first markers), then
/// the practice's own.
pub fn markers_list() -> Value {
    let ferritin = |sex: Value, low: f64, high: f64| {
        let mut r = range(
            "ferritin",
            "2276-4",
            "ng/mL",
            json!({"low": low, "high": high}),
            json!({"low": 45.0, "high": 79.0}),
        );
        r["sex"] = sex;
        r
    };
    json!({"data": [
        {
            "id": "tsh", "loinc": "3016-3", "name": "TSH", "unit": "mIU/L", "units": ["mIU/L"],
            "custom": false, "systems": ["thyroid"],
            "about": "How strongly your pituitary gland is signalling your thyroid to make its hormones.",
            "ranges": [tsh_range_set()]
        },
        {
            "id": "ferritin", "loinc": "2276-4", "name": "Ferritin", "unit": "ng/mL", "units": ["ng/mL"],
            "custom": false, "systems": ["iron", "inflammation"],
            "about": "The protein that stores iron: its level reflects how much iron your body holds in reserve.",
            "ranges": [
                ferritin(Value::Null, 15.0, 400.0),
                ferritin(json!("female"), 15.0, 150.0),
                ferritin(json!("male"), 30.0, 400.0)
            ]
        },
        custom_marker()
    ]})
}

/// `GET /v1/symptoms` and `PUT /v1/symptoms`: the offered symptoms in order, then the
/// others (the first of them).
pub fn symptoms_list() -> Value {
    json!({"data": [
        {
            "id": "fatigue", "name": "Fatigue", "systems": ["thyroid", "iron", "blood_sugar", "adrenal"],
            "markers": ["tsh", "free_t4", "ferritin", "hemoglobin", "hba1c", "cortisol_am"],
            "custom": false, "offered": true
        },
        {
            "id": "cold_intolerance", "name": "Often feeling cold", "systems": ["thyroid", "iron"],
            "markers": ["tsh", "free_t4", "free_t3", "ferritin", "hemoglobin"],
            "custom": false, "offered": true
        },
        {
            "id": "brain_fog", "name": "Brain fog", "systems": ["thyroid", "blood_sugar", "nutrients", "neuro"],
            "markers": ["tsh", "free_t4", "glucose_fasting", "hba1c", "vitamin_b12", "folate_serum"],
            "custom": false, "offered": true
        },
        {
            "id": "night_sweats", "name": "Night sweats", "systems": ["sex_hormones"],
            "markers": [], "custom": true, "offered": true
        },
        {
            "id": "tired_on_waking", "name": "Tired on waking, even after a full night", "systems": ["adrenal", "thyroid", "iron"],
            "markers": ["cortisol_am", "tsh", "free_t4", "ferritin"], "custom": false, "offered": false
        }
    ]})
}

// Endpoints and deliveries.

fn endpoint() -> Value {
    json!({
        "id": ENDPOINT_ID,
        "url": CRM_URL,
        "format": "gaprelay.v1",
        "encryption": "jwe",
        "description": "Practice CRM",
        "enabled": true,
        "created_at": "2026-11-20T14:40:00Z",
        "previous_secret_until": null
    })
}

/// `POST /v1/endpoints`: the endpoint with its secret and key, shown once.
pub fn endpoint_with_secrets() -> Value {
    let mut e = endpoint();
    e["secret"] = json!(WEBHOOK_SECRET);
    e["encryption_key"] = encryption_key();
    e
}

/// `POST /v1/endpoints/{id}/rotate`: new secret and key; the old secret signs alongside
/// for 24 hours.
pub fn endpoint_rotated() -> Value {
    let mut e = endpoint();
    e["previous_secret_until"] = json!("2026-11-25T10:00:00Z");
    e["secret"] = json!(ROTATED_WEBHOOK_SECRET);
    e["encryption_key"] = rotated_encryption_key();
    e
}

/// `PATCH /v1/endpoints/{id}`: the endpoint, disabled.
pub fn endpoint_updated() -> Value {
    let mut e = endpoint();
    e["enabled"] = json!(false);
    e["description"] = json!("Practice CRM (paused during migration)");
    e
}

/// `GET /v1/endpoints`.
pub fn endpoints_page() -> Value {
    page(vec![endpoint()])
}

/// `POST /v1/endpoints/{id}/test`.
pub fn queued_message() -> Value {
    json!({"message_id": TEST_MESSAGE_ID})
}

/// `POST /v1/endpoints/{id}/retry`.
pub fn retry_scheduled() -> Value {
    json!({"scheduled": 3})
}

/// `GET /v1/deliveries`, newest first.
pub fn deliveries_page() -> Value {
    page(vec![
        json!({
            "message_id": MESSAGE_ID, "endpoint_id": ENDPOINT_ID, "event": "intake.submitted",
            "submission_id": SUBMISSION_ID, "status": "retrying", "attempts": 2,
            "next_attempt_at": "2026-11-23T04:05:05Z", "last_http_status": 503, "last_error": null,
            "created_at": SUBMITTED_AT, "updated_at": "2026-11-23T04:00:35Z"
        }),
        json!({
            "message_id": TEST_MESSAGE_ID, "endpoint_id": ENDPOINT_ID, "event": "endpoint.test",
            "submission_id": null, "status": "delivered", "attempts": 1,
            "next_attempt_at": null, "last_http_status": 200, "last_error": null,
            "created_at": "2026-11-20T14:41:00Z", "updated_at": "2026-11-20T14:41:01Z"
        }),
    ])
}

// The public form and the patient's report.

/// `GET /v1/forms/{slug}` (its first markers: the listed ones, then the others).
pub fn form() -> Value {
    json!({
        "practitioner": {"slug": SLUG, "practice_name": "Example Family Practice", "doctor_name": "Dr. Jane Example"},
        "markers": [
            {
                "id": "tsh", "loinc": "3016-3", "name": "TSH", "units": ["mIU/L", "mU/L", "µIU/mL", "µU/mL"],
                "unit": "mIU/L", "about": "Tells us how hard your pituitary is driving your thyroid.", "listed": true
            },
            {
                "id": "ferritin", "loinc": "2276-4", "aliases": ["20567-4"], "name": "Ferritin", "units": ["ng/mL", "µg/L"],
                "unit": "ng/mL", "about": "The protein that stores iron: its level reflects how much iron your body holds in reserve.",
                "listed": true
            },
            {
                "id": "vitamin_d_25oh", "loinc": "62292-8", "aliases": ["1989-3"], "name": "Vitamin D, 25-hydroxy",
                "units": ["ng/mL", "nmol/L", "µg/L"], "unit": "ng/mL",
                "about": "The stored form of vitamin D in your blood, which comes from sunlight, food and supplements.",
                "listed": true
            },
            {
                "id": "free_t4", "loinc": "3024-7", "name": "Free T4", "units": ["ng/dL", "pmol/L"], "unit": "ng/dL",
                "about": "The main thyroid hormone that is free in your blood, not bound to proteins, and ready to be used.",
                "listed": false
            }
        ],
        "symptoms": [
            {"id": "fatigue", "name": "Fatigue"},
            {"id": "cold_intolerance", "name": "Often feeling cold"},
            {"id": "brain_fog", "name": "Brain fog"},
            {"id": "night_sweats", "name": "Night sweats"}
        ],
        "symptom_groups": [
            {"system": "thyroid", "label": "Thyroid", "symptoms": [
                {"id": "fatigue", "name": "Fatigue"},
                {"id": "cold_intolerance", "name": "Often feeling cold"},
                {"id": "brain_fog", "name": "Brain fog"}
            ]},
            {"system": "sex_hormones", "label": "Sex hormones", "symptoms": [{"id": "night_sweats", "name": "Night sweats"}]}
        ],
        "disclaimer": DISCLAIMER,
        "page": "/f/example-practice",
        "contact_fields": {"name": "required", "email": "required", "phone": "optional"},
        "consent": {"required": true, "text": CONSENT_TEXT, "version": 2},
        "branding": {"logo_url": "https://practice.example.com/logo.png", "primary_color": "#1F6FEB", "secondary_color": null},
        "call_to_action": {"label": "Book a consultation", "url": "https://practice.example.com/book"},
        "accepting_submissions": true,
        "form_token": "ft1.1795406160000.ZXhhbXBsZS1mb3JtLXRva2VuLXRhZy1ub3QtcmVhbCE"
    })
}

fn lab(
    (marker, loinc, name): (&str, &str, &str),
    (value, unit): (f64, &str),
    input: Value,
    (standard, optimal): (Value, Value),
    (zone, gap): (&str, f64),
) -> Value {
    json!({
        "marker": marker, "loinc": loinc, "name": name, "value": value, "unit": unit, "input": input,
        "standard": standard, "optimal": optimal, "zone": zone, "gap": gap
    })
}

/// The gap report of [`intake_request`], as the relay computes it against the catalog's
/// ranges and the practice's own for TSH ([`range_request`]), whose wording for a high
/// value it carries.
pub fn report() -> Value {
    let mut tsh = lab(
        ("tsh", "3016-3", "TSH"),
        (3.1, "mIU/L"),
        json!({"value": 3.1, "unit": "mIU/L"}),
        (
            json!({"low": 0.4, "high": 4.2}),
            json!({"low": 0.5, "high": 2.5}),
        ),
        ("above_optimal", 0.6),
    );
    tsh["message"] = json!("Slightly high: worth a closer look at your thyroid.");
    json!({
        "labs": [
            tsh,
            lab(("ferritin", "2276-4", "Ferritin"), (5.0, "ng/mL"), json!({"value": 5.0, "unit": "ng/mL", "qualifier": "<"}),
                (json!({"low": 15.0, "high": 150.0}), json!({"low": 45.0, "high": 79.0})), ("below_standard", 40.0)),
            lab(("vitamin_d_25oh", "62292-8", "Vitamin D, 25-hydroxy"), (62.5, "ng/mL"), json!({"value": 62.5, "unit": "ng/mL"}),
                (json!({"low": 30.0, "high": 100.0}), json!({"low": 50.0, "high": 80.0})), ("optimal", 0.0))
        ],
        "symptoms": [
            {"id": "fatigue", "name": "Fatigue", "systems": ["thyroid", "iron", "blood_sugar", "adrenal"]},
            {"id": "cold_intolerance", "name": "Often feeling cold", "systems": ["thyroid", "iron"]}
        ],
        "summary": {
            "labs": 3,
            "zones": {"below_standard": 1, "below_optimal": 0, "optimal": 1, "above_optimal": 1, "above_standard": 0},
            "out_of_optimal": 2,
            "systems": [
                {"system": "iron", "attention": 5, "markers": ["ferritin"], "symptoms": ["fatigue", "cold_intolerance"]},
                {"system": "thyroid", "attention": 3, "markers": ["tsh"], "symptoms": ["fatigue", "cold_intolerance"]},
                {"system": "inflammation", "attention": 3, "markers": ["ferritin"], "symptoms": []},
                {"system": "adrenal", "attention": 1, "markers": [], "symptoms": ["fatigue"]},
                {"system": "blood_sugar", "attention": 1, "markers": [], "symptoms": ["fatigue"]}
            ]
        }
    })
}

/// `POST /v1/intake/{slug}`: queued, with the patient's report.
pub fn intake_accepted() -> Value {
    json!({"submission_id": SUBMISSION_ID, "report": report()})
}

/// `GET /fhir/Questionnaire/{slug}` (the relay's public URL is `https://relay.example.com`).
pub fn questionnaire() -> Value {
    let item = |code: &str, text: &str, system: &str| {
        json!({
            "linkId": code, "text": text, "type": "boolean",
            "code": [{"system": system, "code": code, "display": text}]
        })
    };
    let mut fatigue = item(
        "fatigue",
        "Fatigue",
        "https://relay.example.com/fhir/CodeSystem/symptoms",
    );
    if let Some(codes) = fatigue["code"].as_array_mut() {
        codes.push(
            json!({"system": "http://snomed.info/sct", "code": "84229001", "display": "Fatigue"}),
        );
    }
    json!({
        "resourceType": "Questionnaire",
        "url": "https://relay.example.com/fhir/Questionnaire/example-practice",
        "title": "Symptoms: Example Family Practice",
        "status": "active",
        "subjectType": ["Patient"],
        "publisher": "Example Family Practice",
        "item": [
            fatigue,
            item("cold_intolerance", "Often feeling cold", "https://relay.example.com/fhir/CodeSystem/symptoms"),
            item("night_sweats", "Night sweats", "https://relay.example.com/fhir/CodeSystem/example-practice/symptoms")
        ]
    })
}

// Service and reference.

/// `GET /healthz`.
pub fn alive() -> Value {
    json!({"status": "ok"})
}

/// `GET /readyz`.
pub fn ready() -> Value {
    json!({"status": "ready"})
}

/// `GET /openapi.json` (its opening).
pub fn openapi_document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {"title": "gaprelay", "version": "0.1.0"},
        "paths": {"/healthz": {"get": {"tags": ["health"], "operationId": "healthz"}}}
    })
}

/// `GET /schemas/endpoint.test.json`: the schema as kept in `schemas/`.
pub fn json_schema() -> Value {
    serde_json::from_str(include_str!("../../../schemas/endpoint.test.json")).unwrap_or(Value::Null)
}

// Errors on particular routes.

/// 404 of the public form routes.
pub fn form_not_found() -> Value {
    error("not_found", "form not found")
}

/// 404 of `/demo` outside demo mode.
pub fn demo_not_found() -> Value {
    error("not_found", "resource not found")
}

/// 404 of `/schemas/{name}.json`.
pub fn schema_not_found() -> Value {
    error("not_found", "schema not found")
}

/// 404 of `/metrics` without a metrics token.
pub fn metrics_not_found() -> Value {
    error("not_found", "no such route")
}

/// 404 of `GET /v1/practitioner/consent-versions/{version}`.
pub fn consent_version_not_found() -> Value {
    error("not_found", "consent version not found")
}

/// 429 of the public routes (with `Retry-After`).
pub fn rate_limited() -> Value {
    error(
        "rate_limited",
        "too many requests from your address; wait and retry",
    )
}

/// 429 of `POST /v1/intake/{slug}` when the practice gets too many submissions.
pub fn practice_rate_limited() -> Value {
    error(
        "rate_limited",
        "this practice is receiving too many submissions; wait and retry",
    )
}

/// 409 of `POST /v1/intake/{slug}`.
pub fn not_accepting_submissions() -> Value {
    error(
        "not_accepting_submissions",
        "this practice is not accepting submissions right now",
    )
}

/// 409 of `POST /v1/practitioners`.
pub fn slug_taken() -> Value {
    error("conflict", "slug is already taken")
}

/// 409 of `POST /v1/practitioner/import`.
pub fn practitioner_exists() -> Value {
    error(
        "conflict",
        "this practitioner already exists on this instance",
    )
}

/// 409 of `POST /v1/practitioner/restore`.
pub fn no_erasure_scheduled() -> Value {
    error("conflict", "no deletion is scheduled")
}

/// 409 of `DELETE /v1/api-keys/{id}`.
pub fn last_owner_key() -> Value {
    error(
        "conflict",
        "the last owner key cannot be revoked; create another owner key first",
    )
}

/// 409 of `POST /v1/endpoints/{id}/retry`.
pub fn endpoint_disabled() -> Value {
    error(
        "conflict",
        "the endpoint is disabled: enable it before retrying its messages",
    )
}

/// 412 of `PATCH /v1/practitioner`.
pub fn precondition_failed() -> Value {
    error(
        "precondition_failed",
        "the settings changed since you read them: GET them again and retry with the new ETag",
    )
}

/// 422 of `DELETE /v1/ranges/{marker}?sex=`.
pub fn bad_sex() -> Value {
    validation(&[("sex", "must be \"female\" or \"male\"")])
}

/// 503 of `/readyz`.
pub fn store_unreachable() -> Value {
    error("unavailable", "the store (Redis) is not reachable")
}

// The errors every route shares (`components.responses`): (name, summary, value).

/// A named example of a shared error response.
pub type Named = (&'static str, &'static str, Value);

/// 400.
pub fn bad_request() -> Vec<Named> {
    vec![
        (
            "unknown_field",
            "A field the route does not take (each is named)",
            json!({"error": {
                "code": "bad_request",
                "message": "the body has a field this route does not accept",
                "details": [{"field": "nickname", "problem": "is not a known field"}]
            }}),
        ),
        (
            "malformed_json",
            "A body that is not JSON",
            error(
                "bad_request",
                "the body is not valid JSON (line 1, column 18)",
            ),
        ),
        (
            "bad_query",
            "A query string the route does not take",
            error(
                "bad_request",
                "the query string is not valid for this route",
            ),
        ),
    ]
}

/// 401.
pub fn unauthorized() -> Vec<Named> {
    vec![(
        "unauthorized",
        "No or an unknown key",
        error(
            "unauthorized",
            "missing or invalid credentials: send Authorization: Bearer <key>",
        ),
    )]
}

/// 403.
pub fn forbidden() -> Vec<Named> {
    vec![
        (
            "forbidden",
            "A viewer key asking to change something",
            error(
                "forbidden",
                "this API key's role does not allow this action",
            ),
        ),
        (
            "account_suspended",
            "A key of a suspended practice",
            error(
                "account_suspended",
                "this account is suspended; contact the operator",
            ),
        ),
    ]
}

/// 404.
pub fn not_found() -> Vec<Named> {
    vec![(
        "not_found",
        "No such resource (here an endpoint)",
        error("not_found", "endpoint not found"),
    )]
}

/// 413.
pub fn payload_too_large() -> Vec<Named> {
    vec![(
        "payload_too_large",
        "A body over 64 KiB",
        error("payload_too_large", "the body must be at most 65536 bytes"),
    )]
}

/// 415.
pub fn unsupported_media_type() -> Vec<Named> {
    vec![(
        "unsupported_media_type",
        "A body sent as something else than JSON",
        error(
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        ),
    )]
}

/// 422: every problem at once, one detail per field, never echoing the value.
pub fn validation_failed() -> Vec<Named> {
    vec![
        (
            "intake",
            "POST /v1/intake/{slug}: a submission with several problems",
            validation(&[
                ("contact.email", "is not a valid email address"),
                ("sex", "must be \"female\" or \"male\""),
                ("age", "must be a whole number from 0 to 130"),
                (
                    "labs[0].value",
                    "must be a number as printed on the lab report, such as 5.2, 5,2 or <0.5",
                ),
                (
                    "labs[1].marker",
                    "TSH appears more than once (also labs[0])",
                ),
            ]),
        ),
        (
            "practitioner",
            "POST /v1/practitioners",
            validation(&[
                ("email", "is not a valid email address"),
                ("website_url", "must be an absolute http(s) URL"),
                (
                    "slug",
                    "may contain only lowercase letters, digits and single hyphens between them",
                ),
            ]),
        ),
        (
            "range",
            "PUT /v1/ranges/{marker}",
            validation(&[
                ("unit", "is not a unit TSH accepts (accepted: mIU/L)"),
                ("optimal.low", "must not be greater than high"),
            ]),
        ),
        (
            "endpoint",
            "POST /v1/endpoints",
            validation(&[(
                "receiver_keys",
                "is required with jwe-receiver: 1 to 4 public JWKs",
            )]),
        ),
    ]
}

/// 503.
pub fn unavailable() -> Vec<Named> {
    vec![(
        "unavailable",
        "The store did not answer; nothing was accepted",
        error(
            "unavailable",
            "the service cannot store this right now; nothing was accepted, please retry",
        ),
    )]
}

/// 500.
pub fn internal_error() -> Vec<Named> {
    vec![(
        "internal_error",
        "Opaque: the cause is logged, never answered",
        error("internal_error", "internal error"),
    )]
}

// Webhooks: the body of each event as an endpoint without encryption receives it.

/// The body of the event `event`, or `null` for a type without an example.
pub fn webhook(event: &str) -> Value {
    let data = match event {
        "intake.submitted" => json!({
            "submission_id": SUBMISSION_ID,
            "submitted_at": "2026-11-23T04:00:00.123Z",
            "practitioner": {"id": PRACTITIONER_ID, "slug": SLUG},
            "patient": {"name": "Jane Example", "email": "jane@example.com", "phone": "+12025550143", "sex": "female", "age": 42},
            "consent": {"given": true, "at": SUBMITTED_AT, "version": 2, "text_sha256": CONSENT_SHA256},
            "report": report(),
            "engagement": {"time_on_tool_s": 240},
            "source": {
                "page_url": "https://practice.example.com/labs",
                "utm": {"source": "newsletter", "medium": "email", "campaign": "spring-checkup"}
            }
        }),
        "endpoint.test" => json!({
            "practitioner": {"id": PRACTITIONER_ID},
            "message": "This is a test event from gaprelay."
        }),
        "endpoint.delivery_expired" => json!({
            "message_id": MESSAGE_ID,
            "endpoint_id": ENDPOINT_ID,
            "submission_id": SUBMISSION_ID,
            "expired_at": "2026-11-24T04:00:00Z"
        }),
        "endpoint.failing" => json!({
            "endpoint_id": ENDPOINT_ID,
            "reason": "keeps_failing",
            "consecutive_failures": 5,
            "pending_messages": 3,
            "pending_capped": false,
            "last_http_status": 503,
            "last_error": null,
            "message_id": null,
            "expires_at": null,
            "detected_at": "2026-11-23T05:00:00Z"
        }),
        _ => return Value::Null,
    };
    // The event's time, in whole seconds (`submitted_at` has milliseconds).
    let timestamp = data
        .get("submitted_at")
        .map(|_| json!(SUBMITTED_AT))
        .or_else(|| data.get("expired_at").cloned())
        .or_else(|| data.get("detected_at").cloned())
        .unwrap_or_else(|| json!("2026-11-20T14:41:00Z"));
    json!({"type": event, "timestamp": timestamp, "data": data})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{ApiKeyId, EndpointId, MessageId, PractitionerId, SubmissionId};

    /// Generated ids carry 24 random characters after the prefix.
    fn like_generated(id: &str, prefix: &str) -> bool {
        id.strip_prefix(prefix).is_some_and(|rest| rest.len() == 24)
    }

    #[test]
    fn the_ids_parse_as_the_relay_s_own_and_are_as_long_as_generated_ones() {
        assert!(PractitionerId::parse(PRACTITIONER_ID).is_ok());
        assert!(EndpointId::parse(ENDPOINT_ID).is_ok());
        assert!(SubmissionId::parse(SUBMISSION_ID).is_ok());
        for id in [MESSAGE_ID, TEST_MESSAGE_ID] {
            assert!(MessageId::parse(id).is_ok(), "{id}");
        }
        for id in [OWNER_KEY_ID, VIEWER_KEY_ID] {
            assert!(ApiKeyId::parse(id).is_ok(), "{id}");
        }
        for (id, prefix) in [
            (PRACTITIONER_ID, "prac_"),
            (ENDPOINT_ID, "ep_"),
            (SUBMISSION_ID, "sub_"),
            (MESSAGE_ID, "msg_"),
            (TEST_MESSAGE_ID, "msg_"),
            (OWNER_KEY_ID, "key_"),
            (VIEWER_KEY_ID, "key_"),
        ] {
            assert!(like_generated(id, prefix), "{id}");
        }
        assert!(crate::domain::practitioner::Slug::parse(SLUG).is_ok());
    }

    #[test]
    fn the_keys_and_secrets_have_the_relay_s_formats() {
        use crate::crypto::api_key::ApiKey;
        for key in [OWNER_API_KEY, VIEWER_API_KEY] {
            let parsed = ApiKey::parse(key);
            assert!(parsed.is_ok(), "{key}");
            if let Ok(k) = parsed {
                assert_eq!(k.prefix(), "grk_EXAM");
            }
        }
        for secret in [WEBHOOK_SECRET, ROTATED_WEBHOOK_SECRET] {
            assert!(
                crate::crypto::webhook::WebhookSecret::from_whsec(secret).is_ok(),
                "{secret}"
            );
        }
        for jwk in [encryption_key(), rotated_encryption_key()] {
            assert!(
                crate::crypto::jwe::ContentKey::from_jwk(&jwk).is_ok(),
                "{jwk}"
            );
        }
    }

    #[test]
    fn the_consent_hashes_are_those_of_the_wordings() {
        use crate::domain::practitioner::{consent_text_sha256, DEFAULT_CONSENT_TEXT as DEFAULT};
        assert_eq!(consent_text_sha256(CONSENT_TEXT), CONSENT_SHA256);
        assert_eq!(DEFAULT_CONSENT_TEXT, DEFAULT);
        assert_eq!(consent_text_sha256(DEFAULT), DEFAULT_CONSENT_SHA256);
        assert_eq!(DISCLAIMER, crate::domain::practitioner::DEFAULT_DISCLAIMER);
    }

    #[test]
    fn every_event_type_has_a_webhook_example() {
        for event in [
            "intake.submitted",
            "endpoint.test",
            "endpoint.delivery_expired",
            "endpoint.failing",
        ] {
            assert_eq!(webhook(event)["type"], event);
        }
        assert!(webhook("nope").is_null());
    }
}
