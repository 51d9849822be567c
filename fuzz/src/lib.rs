//! What the fuzz targets share: the practices whose forms an intake is checked
//! against, built from the same pure constructors the service uses, and the check that
//! an error answer is a well-formed 4xx.

use actix_web::body::MessageBody;
use actix_web::ResponseError;
use gaprelay::domain::catalog;
use gaprelay::domain::custom::{CustomMarker, SymptomSettings};
use gaprelay::domain::ids::PractitionerId;
use gaprelay::domain::practitioner::{FieldMode, NewPractitioner, Practitioner};
use gaprelay::domain::ranges::RangeOverride;
use gaprelay::http::error::ApiError;
use gaprelay::http::wire::markers::{CustomMarkerRequest, SymptomSettingsRequest};
use gaprelay::http::wire::ranges::RangeRequest;
use rand::SeedableRng;
use serde_json::{json, Value};
use std::sync::LazyLock;
use time::OffsetDateTime;

/// What `Services::submit_intake` loads for a form (`FormContext` in the service),
/// without the endpoints, which play no part in validation or rendering.
pub struct Form {
    /// The practice, with its form settings.
    pub practitioner: Practitioner,
    /// The practice's own markers.
    pub custom_markers: Vec<CustomMarker>,
    /// The practice's range overrides.
    pub ranges: Vec<RangeOverride>,
}

fn from_json<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("a fixed request of the harness")
}

fn practitioner(slug: &str, phone_region: Option<&str>) -> Practitioner {
    // Ids are drawn from a seeded generator so that every run, and every replay of a
    // crash, sees the same practice.
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    Practitioner::create(
        NewPractitioner {
            practice_name: "Fuzz Clinic".into(),
            doctor_name: "Dr Fuzz".into(),
            email: "fuzz@example.com".into(),
            website_url: "https://fuzz.example.com".into(),
            slug: Some(slug.into()),
            phone_region: phone_region.map(str::to_owned),
        },
        PractitionerId::generate(&mut rng),
        OffsetDateTime::UNIX_EPOCH,
    )
    .expect("a valid practitioner")
}

/// A practice as `POST /v1/practitioners` creates it: name and email required, phone
/// optional without a default region, consent required, the whole symptom catalog,
/// no custom markers, the catalog's ranges.
pub fn new_practice() -> Form {
    Form {
        practitioner: practitioner("fuzz-new", None),
        custom_markers: Vec::new(),
        ranges: Vec::new(),
    }
}

/// A practice that has used every setting an intake depends on: a default phone region
/// (GB) with the phone required, name optional, consent optional, a restricted symptom
/// list with one of its own, two custom markers (one with a LOINC code and plausibility
/// bounds, one with neither), and sex-specific and general range overrides with
/// messages.
pub fn configured_practice() -> Form {
    let mut practitioner = practitioner("fuzz-configured", Some("GB"));
    let settings = &mut practitioner.settings;
    settings.contact_fields.name = FieldMode::Optional;
    settings.contact_fields.phone = FieldMode::Required;
    settings.consent_required = false;
    settings.consent_version = 3;
    settings.symptoms = Some(
        SymptomSettings::parse(
            from_json::<SymptomSettingsRequest>(json!({
                "offered": ["fatigue", "brain_fog", "cold_intolerance", "tinnitus"],
                "custom": [{"id": "tinnitus", "name": "Ringing ears", "systems": ["neuro"]}]
            }))
            .into(),
        )
        .expect("valid symptom settings"),
    );
    let marker = |id: &str, req: Value| {
        CustomMarker::parse(id, from_json::<CustomMarkerRequest>(req).into())
            .expect("a valid marker")
    };
    let custom_markers = vec![
        marker(
            "omega3_index",
            json!({"name": "Omega-3 index", "unit": "%", "optimal": {"low": 8.0},
                   "standard": {"low": 4.0, "high": 12.0},
                   "messages": {"low": "More oily fish, please."}, "systems": ["inflammation"]}),
        ),
        marker(
            "zonulin_serum",
            json!({"name": "Zonulin", "unit": "ng/mL", "loinc": "99999-9",
                   "optimal": {"low": 0.0, "high": 48.0}, "plausible": {"low": 0.0, "high": 1000.0},
                   "systems": ["gut", "immune"]}),
        ),
    ];
    let range = |id: &str, req: Value| {
        let m = catalog::find(id).expect("a catalog marker");
        RangeOverride::parse(m, from_json::<RangeRequest>(req).into()).expect("a valid range")
    };
    let ranges = vec![
        range(
            "tsh",
            json!({"unit": "mIU/L", "optimal": {"low": 1.0, "high": 2.5}, "sex": "female",
                   "messages": {"low": "Low", "optimal": "Good", "high": "High"}}),
        ),
        range(
            "glucose_fasting",
            json!({"unit": "mmol/L", "optimal": {"low": 4.2, "high": 5.0},
                   "standard": {"low": 3.9, "high": 5.6}}),
        ),
    ];
    Form {
        practitioner,
        custom_markers,
        ranges,
    }
}

/// Both practices, built once per fuzzing process.
pub static FORMS: LazyLock<[Form; 2]> = LazyLock::new(|| [new_practice(), configured_practice()]);

/// The harness's version of the contract for a refused intake: a 4xx whose body is the
/// one JSON error shape, `{"error": {"code": "…", "message": "…", …}}`.
pub fn assert_client_error(err: &ApiError) {
    let status = err.status_code();
    assert!(
        status.is_client_error(),
        "an intake body was answered with {status}, not a 4xx"
    );
    let Ok(bytes) = err.error_response().into_body().try_into_bytes() else {
        panic!("the error body is not a complete JSON body");
    };
    let body: Value = serde_json::from_slice(&bytes).expect("the error body is JSON");
    assert!(
        body["error"]["code"].is_string() && body["error"]["message"].is_string(),
        "the error body does not have the contract's shape"
    );
}
