//! FHIR R4 Bundles checked by open validators that gaprelay did not write: the R4
//! structure definitions and UCUM (tests/interop/fhir/validate.mjs, npm `fhir` and
//! `@lhncbc/ucum-lhc`) and the R4 invariants (tests/interop/fhir_invariants.py,
//! `fhirpathpy`). Bundles are rendered with the pure `delivery::fhir::bundle` for many
//! kinds of submission; a deliberately broken Bundle proves each validator can fail; the
//! example in docs/fhir.md is checked to be exactly what the relay renders, and valid.
//! Then through the real relay: one submission delivered to a `gaprelay.v1` and a
//! `fhir-r4` endpoint of one practice, a held one handed over to a FHIR endpoint, every
//! marker in both unit systems, and the Questionnaire the responses name, validated as
//! they arrived.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gaprelay::delivery::fhir::{self, RelayBase};
use gaprelay::domain::catalog::{self, Marker};
use gaprelay::domain::custom::{
    CustomMarker, CustomSymptom, SymptomSettings, SymptomSettingsDraft,
};
use gaprelay::domain::ids::{PractitionerId, SubmissionId};
use gaprelay::domain::practitioner::{FieldMode, NewPractitioner, Practitioner};
use gaprelay::domain::ranges::{Bounds, RangeMessages};
use gaprelay::domain::report;
use gaprelay::domain::submission::{IntakeDraft, Submission};
use serde_json::{json, Value};
use time::macros::datetime;

use crate::helpers::{canary_intake, spawn_app, TestApp, TestEndpoint, PUBLIC_URL};
use crate::support::{interop_python, FakeCrm, RecordedRequest};
use gaprelay::delivery::worker::AttemptOutcome;

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// tests/interop/fhir, with the npm packages `make test` installs (`make fhir-validators`).
fn validators_dir() -> PathBuf {
    let dir = crate_dir().join("tests/interop/fhir");
    assert!(
        dir.join("node_modules/fhir").is_dir()
            && dir.join("node_modules/@lhncbc/ucum-lhc").is_dir(),
        "{} has no node_modules with fhir and @lhncbc/ucum-lhc; run `make fhir-validators`",
        dir.display()
    );
    dir
}

fn run(mut command: Command, what: &str) -> (bool, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command
        .output()
        .unwrap_or_else(|e| panic!("run {what}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr)
    );
    (status.success(), text)
}

/// Runs the structure and UCUM validator on the files: (passed, its report).
fn validate_structure(files: &[PathBuf]) -> (bool, String) {
    let dir = validators_dir();
    let mut node = Command::new("node");
    node.arg(dir.join("validate.mjs"))
        .args(files)
        .current_dir(&dir);
    run(node, "node validate.mjs (is Node.js installed?)")
}

/// Runs the invariant checker on the files: (passed, its report).
fn validate_invariants(files: &[PathBuf]) -> (bool, String) {
    let mut python = Command::new(interop_python());
    python
        .arg(crate_dir().join("tests/interop/fhir_invariants.py"))
        .args(files);
    run(python, "fhir_invariants.py")
}

fn assert_valid(files: &[PathBuf]) {
    let (ok, report) = validate_structure(files);
    assert!(ok, "FHIR R4 structure or UCUM validation failed:\n{report}");
    let (ok, report) = validate_invariants(files);
    assert!(ok, "FHIR R4 invariants failed:\n{report}");
}

fn base() -> RelayBase {
    RelayBase::parse("https://relay.example").unwrap_or_else(|e| panic!("{e}"))
}

/// The practice of every Bundle here: its slug, consent wording and contact modes.
fn practice() -> Practitioner {
    let mut p = Practitioner::create(
        NewPractitioner {
            practice_name: "Lee Health & Wellness".into(),
            doctor_name: "Dr Lee".into(),
            email: "lee@leehealth.example".into(),
            website_url: "https://leehealth.example".into(),
            slug: Some("lee-health".into()),
            phone_region: Some("GB".into()),
        },
        PractitionerId::parse("prac_ExampleExampleExample1").unwrap_or_else(|e| panic!("{e}")),
        datetime!(2026-01-05 09:00:00 UTC),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    p.settings.consent_required = false;
    p.settings.consent_text = "I agree that Lee Health may contact me about my results.".into();
    p.settings.consent_version = 2;
    p
}

/// A practice's own markers: one with the test's LOINC code, one with none and a unit the
/// catalog knows, one whose unit is no UCUM unit at all.
fn custom_markers() -> Vec<CustomMarker> {
    let marker = |id: &str, name: &str, unit: &str, loinc: Option<&str>| CustomMarker {
        id: id.into(),
        name: name.into(),
        unit: unit.into(),
        loinc: loinc.map(str::to_owned),
        optimal: Bounds::new(8.0, 12.0).unwrap_or_else(|| panic!()),
        standard: Bounds::new(4.0, 15.0),
        plausible: None,
        messages: RangeMessages::default(),
        systems: vec![],
        about: None,
    };
    vec![
        marker("omega_index", "Omega-3 index", "%", None),
        // LOINC 2276-4 is Ferritin [Mass/volume] in Serum or Plasma, here as a practice's
        // own marker that names its LOINC code.
        marker(
            "ferritin_own",
            "Ferritin (own range)",
            "ng/mL",
            Some("2276-4"),
        ),
        marker("hrv_score", "HRV score", "points", None),
    ]
}

/// Parses an intake body against the practice's form, as the intake route does.
fn submission(p: &Practitioner, body: Value) -> Submission {
    let req = IntakeDraft::from_json(body).unwrap_or_else(|e| panic!("{e:?}"));
    Submission::parse(req, &p.settings, &custom_markers()).unwrap_or_else(|e| panic!("{e:?}"))
}

fn render(p: &Practitioner, id: &str, body: Value) -> Value {
    let s = submission(p, body);
    let r = report::build(&s, &[]);
    let id = SubmissionId::parse(id).unwrap_or_else(|e| panic!("{e}"));
    fhir::bundle(&base(), &id, datetime!(2026-11-23 03:49:00 UTC), p, &s, &r)
}

/// A value for each marker, in its range unit: inside optimal, above the standard range
/// or below it (in turn), always plausible.
fn range_value(m: &Marker, turn: usize) -> f64 {
    let d = m.default_ranges(None);
    let mid = match (d.optimal.low(), d.optimal.high()) {
        (Some(l), Some(h)) => (l + h) / 2.0,
        (Some(l), None) => l * 1.2,
        (None, Some(h)) => h * 0.8,
        (None, None) => unreachable!("a range has an end"),
    };
    let (lo, hi) = m.plausible;
    let v = match turn % 3 {
        0 => mid,
        1 => d.standard.high().map_or(mid * 1.5, |h| h * 1.3),
        _ => d.standard.low().map_or(mid * 0.5, |l| l * 0.7),
    };
    v.clamp(lo + (hi - lo) * 1e-4, hi * 0.95)
}

/// All 40 catalog markers, typed in their range unit or (where they have one) in their
/// first other unit, rounded as a lab would print it.
fn all_markers(alternate: bool) -> Vec<Value> {
    let markers = catalog::markers();
    assert_eq!(markers.len(), 40, "the catalog has 40 markers");
    markers
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let unit = if alternate {
                m.units.get(1).unwrap_or(&m.units[0])
            } else {
                m.range_unit()
            };
            let typed = unit.conversion.from_range_unit(range_value(m, i));
            let printed = format!("{:.3}", typed).parse::<f64>().unwrap_or(typed);
            json!({"marker": m.id, "value": printed, "unit": unit.display})
        })
        .collect()
}

/// The submissions every Bundle kind comes from: (file name, submission id, practice, body).
fn cases() -> Vec<(&'static str, &'static str, Practitioner, Value)> {
    let p = practice();
    let mut all_off = practice();
    all_off.settings.contact_fields.name = FieldMode::Off;
    all_off.settings.contact_fields.email = FieldMode::Off;
    all_off.settings.contact_fields.phone = FieldMode::Off;
    let mut mixed = practice();
    mixed.settings.contact_fields.name = FieldMode::Required;
    mixed.settings.contact_fields.email = FieldMode::Optional;
    mixed.settings.contact_fields.phone = FieldMode::Off;
    let mut own_symptoms = practice();
    own_symptoms.settings.symptoms = Some(
        SymptomSettings::parse(SymptomSettingsDraft {
            offered: vec!["fatigue".into(), "nausea".into(), "cold_feet".into()],
            custom: vec![CustomSymptom {
                id: "cold_feet".into(),
                name: "Cold feet".into(),
                systems: vec![],
            }],
        })
        .unwrap_or_else(|e| panic!("{e:?}")),
    );
    let contact =
        json!({"name": "Ann O'Neil <Test>", "email": "ann@example.com", "phone": "020 7946 0958"});
    vec![
        (
            "range-units.json",
            "sub_RangeUnitsRangeUnits01",
            p.clone(),
            json!({"contact": contact, "sex": "female", "age": 42, "labs": all_markers(false),
                   "symptoms": ["fatigue", "brain_fog", "joint_pain"], "consent": true}),
        ),
        (
            "alternate-units.json",
            "sub_AlternateUnitsAltUnit1",
            p.clone(),
            json!({"contact": contact, "sex": "male", "age": 57, "labs": all_markers(true),
                   "consent": true}),
        ),
        (
            "custom-and-censored.json",
            "sub_CustomAndCensoredCase1",
            own_symptoms,
            json!({"contact": {"name": "Bo", "email": "bo@example.com"},
                   "labs": [
                       {"marker": "omega_index", "value": 6.5, "unit": "%"},
                       {"marker": "ferritin_own", "value": "<5", "unit": "ng/mL"},
                       {"marker": "hrv_score", "value": "≥ 20", "unit": "points"},
                       {"marker": "tsh", "value": "<0,01", "unit": "mIU/L"},
                       {"marker": "hs_crp", "value": "<0.2", "unit": "mg/L"},
                       {"marker": "vitamin_d_25oh", "value": ">150", "unit": "ng/mL"},
                       {"marker": "glucose_fasting", "value": "> 25", "unit": "mmol/L"}
                   ],
                   "symptoms": ["cold_feet", "nausea"], "consent": true}),
        ),
        (
            "no-contact-no-symptoms.json",
            "sub_NoContactNoSymptoms001",
            all_off,
            json!({"labs": [{"marker": "ferritin", "value": 35, "unit": "ng/mL"}]}),
        ),
        (
            "name-only-no-consent.json",
            "sub_NameOnlyNoConsent00001",
            mixed,
            json!({"contact": {"name": "Cy"}, "age": 0, "symptoms": ["fatigue"]}),
        ),
        (
            "empty.json",
            "sub_EmptySubmissionEmpty01",
            p,
            json!({"contact": {"name": "Di", "email": "di@example.com"}}),
        ),
    ]
}

fn lab_observations(bundle: &Value) -> Vec<&Value> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["resource"])
        .filter(|r| r["category"][0]["coding"][0]["code"] == "laboratory")
        .collect()
}

#[test]
fn bundles_of_every_kind_of_submission_pass_the_open_validators() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut files = Vec::new();
    for (name, id, p, body) in cases() {
        let bundle = render(&p, id, body);
        if name.ends_with("-units.json") {
            // Every catalog marker is there; typed in another unit, each marker that has
            // one keeps what was typed in a note.
            let labs = lab_observations(&bundle);
            assert_eq!(labs.len(), 40, "{name}");
            let noted = labs.iter().filter(|o| o.get("note").is_some()).count();
            let convertible = catalog::markers()
                .iter()
                .filter(|m| m.units.len() > 1)
                .count();
            let expected = if name == "alternate-units.json" {
                convertible
            } else {
                0
            };
            assert_eq!(noted, expected, "{name}");
        }
        let path = dir.path().join(name);
        std::fs::write(&path, serde_json::to_vec_pretty(&bundle).expect("JSON"))
            .expect("write the Bundle");
        files.push(path);
    }
    // The practice's Questionnaire is checked by the structure validator too, inside a
    // Bundle of its own (the validator takes Bundles).
    let mut own = practice();
    own.settings.symptoms = Some(
        SymptomSettings::parse(SymptomSettingsDraft {
            offered: vec!["fatigue".into(), "cold_feet".into()],
            custom: vec![CustomSymptom {
                id: "cold_feet".into(),
                name: "Cold feet".into(),
                systems: vec![],
            }],
        })
        .unwrap_or_else(|e| panic!("{e:?}")),
    );
    for (name, p) in [
        ("questionnaire-catalog.json", practice()),
        ("questionnaire-own.json", own),
    ] {
        let q = fhir::questionnaire(&base(), &p);
        let wrapped = json!({"resourceType": "Bundle", "type": "collection",
                             "entry": [{"fullUrl": q["url"], "resource": q}]});
        let path = dir.path().join(name);
        std::fs::write(&path, wrapped.to_string()).expect("write the Questionnaire");
        files.push(path);
    }
    assert_valid(&files);
}

#[test]
fn the_validators_refuse_a_broken_bundle_naming_each_fault() {
    let broken = crate_dir().join("tests/interop/fhir/fixtures/broken-bundle.json");
    let (ok, report) = validate_structure(std::slice::from_ref(&broken));
    assert!(
        !ok,
        "the structure validator accepted the broken Bundle:\n{report}"
    );
    for fault in [
        "Patient.favouriteColour: Unexpected property",
        "\"mIU/L\" is not a valid UCUM code",
        "issued: \"2026-11-23 03:49\" is not a valid instant",
    ] {
        assert!(report.contains(fault), "no `{fault}` in:\n{report}");
    }
    let (ok, report) = validate_invariants(&[broken]);
    assert!(
        !ok,
        "the invariant checker accepted the broken Bundle:\n{report}"
    );
    for invariant in [
        "bdl-7", "obs-3", "obs-6", "obs-7", "qty-3", "rng-2", "ref-1",
    ] {
        assert!(
            report.contains(&format!("{invariant} fails")),
            "{invariant} not reported:\n{report}"
        );
    }
}

/// The submission docs/fhir.md shows: one lab in its range unit, one converted and
/// censored, one symptom, consent given.
fn example_bundle() -> Value {
    render(
        &practice(),
        "sub_DocsExampleDocsExample1",
        json!({"contact": {"name": "Ann Example", "email": "ann@example.com"},
               "sex": "female", "age": 42,
               "labs": [
                   {"marker": "tsh", "value": 3.1, "unit": "mIU/L"},
                   {"marker": "glucose_fasting", "value": "<5,0", "unit": "mmol/L"}
               ],
               "symptoms": ["fatigue"], "consent": true}),
    )
}

/// The first ```json block of docs/fhir.md.
fn docs_example() -> Value {
    let doc = std::fs::read_to_string(crate_dir().join("docs/fhir.md")).expect("docs/fhir.md");
    let start = doc
        .find("```json\n")
        .expect("docs/fhir.md has a ```json block")
        + "```json\n".len();
    let len = doc[start..].find("\n```").expect("the ```json block ends");
    serde_json::from_str(&doc[start..start + len])
        .unwrap_or_else(|e| panic!("docs/fhir.md's example is not JSON: {e}"))
}

#[test]
fn the_example_in_the_docs_is_what_the_relay_renders_and_it_validates() {
    let example = docs_example();
    let rendered = example_bundle();
    assert!(
        example == rendered,
        "docs/fhir.md's example differs from the rendering; replace it with:\n{}",
        serde_json::to_string_pretty(&rendered).unwrap_or_default()
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("docs-example.json");
    std::fs::write(&path, example.to_string()).expect("write the example");
    assert_valid(&[path]);
}

/// Creates a `fhir-r4` endpoint for `url` through the API.
async fn create_fhir_endpoint(
    app: &TestApp,
    key: &str,
    url: &str,
    encryption: &str,
) -> TestEndpoint {
    let res = app
        .client
        .post(app.url("/v1/endpoints"))
        .bearer_auth(key)
        .json(&json!({"url": url, "format": "fhir-r4", "encryption": encryption}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["format"], "fhir-r4");
    TestEndpoint {
        id: body["id"].as_str().expect("id").to_owned(),
        secret: body["secret"].as_str().expect("secret").to_owned(),
        jwk: body["encryption_key"].clone(),
    }
}

/// The `data` of a delivered webhook, decrypted when it came as a JWE; checks that the
/// endpoint's secret signed it.
fn delivered_data(request: &RecordedRequest, endpoint: &TestEndpoint) -> Value {
    assert!(
        request.is_signed_by(&endpoint.secret),
        "not signed by the endpoint's secret"
    );
    let body = request.json();
    assert_eq!(body["type"], "intake.submitted");
    assert!(
        body.get("held_renderings").is_none(),
        "a held message's other renderings are never delivered"
    );
    // As a receiver would: the receiver library tells a JWE from plain data.
    let keys: Vec<gaprelay_receiver::DecryptionKey> = if endpoint.jwk.is_null() {
        Vec::new()
    } else {
        vec![gaprelay_receiver::DecryptionKey::from_jwk(&endpoint.jwk).expect("jwk")]
    };
    gaprelay_receiver::decrypt(&body["data"], &keys).expect("decrypts")
}

/// Writes each Bundle to a file of `dir` and runs both validators on them.
fn assert_all_valid(dir: &Path, documents: &[Value]) {
    let files: Vec<PathBuf> = documents
        .iter()
        .enumerate()
        .map(|(i, doc)| {
            let path = dir.join(format!("delivered-{i}.json"));
            std::fs::write(&path, serde_json::to_vec_pretty(doc).expect("json")).expect("write");
            path
        })
        .collect();
    assert_valid(&files);
}

#[tokio::test]
async fn one_submission_reaches_a_json_crm_and_a_fhir_ehr_at_once() {
    let app = spawn_app().await;
    let (p, json_ep, crm) = app.practitioner_with_crm("fhir-and-json", "none").await;
    let ehr = FakeCrm::start().await;
    let fhir_ep = create_fhir_endpoint(&app, &p.api_key, &ehr.url(), "jwe").await;
    let res = app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(res.status(), 202);
    let accepted: Value = res.json().await.expect("json");
    let outcomes = app.deliver_pending().await;
    assert_eq!(outcomes, vec![AttemptOutcome::Delivered; 2]);

    // The CRM gets gaprelay's own JSON, as before.
    let crm_requests = crm.requests();
    assert_eq!(crm_requests.len(), 1);
    let data = delivered_data(&crm_requests[0], &json_ep);
    assert_eq!(data["submission_id"], accepted["submission_id"]);
    assert_eq!(data["report"], accepted["report"]);

    // The EHR gets the same submission as a FHIR R4 transaction Bundle, encrypted.
    let ehr_requests = ehr.requests();
    assert_eq!(ehr_requests.len(), 1);
    assert!(!ehr_requests[0].body_str().contains("Canaryname"));
    let bundle = delivered_data(&ehr_requests[0], &fhir_ep);
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "transaction");
    let resources: Vec<&Value> = bundle["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| &e["resource"])
        .collect();
    let patient = resources
        .iter()
        .find(|r| r["resourceType"] == "Patient")
        .expect("a Patient");
    assert_eq!(patient["name"][0]["text"], "Zelda Canaryname");
    assert_eq!(
        lab_observations(&bundle).len(),
        accepted["report"]["labs"].as_array().expect("labs").len()
    );
    let canonical = format!("{PUBLIC_URL}/fhir/Questionnaire/fhir-and-json");
    let response = resources
        .iter()
        .find(|r| r["resourceType"] == "QuestionnaireResponse")
        .expect("the symptoms");
    assert_eq!(response["questionnaire"], canonical.as_str());

    // The Questionnaire it names is served at that path, and validates as well.
    let res = app.get("/fhir/Questionnaire/fhir-and-json", None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/fhir+json")
    );
    let questionnaire: Value = res.json().await.expect("json");
    assert_eq!(questionnaire["resourceType"], "Questionnaire");
    assert_eq!(questionnaire["url"], canonical.as_str());
    assert_eq!(
        app.get("/fhir/Questionnaire/no-such-practice", None)
            .await
            .status(),
        404
    );
    // The validator takes Bundles: the Questionnaire goes in one of its own.
    let wrapped = json!({"resourceType": "Bundle", "type": "collection",
                         "entry": [{"fullUrl": canonical, "resource": questionnaire}]});
    let dir = tempfile::tempdir().expect("a temporary directory");
    assert_all_valid(dir.path(), &[bundle, wrapped]);
}

#[tokio::test]
async fn a_submission_held_before_any_endpoint_reaches_a_fhir_endpoint_as_a_bundle() {
    let app = spawn_app().await;
    let p = app.create_practitioner("fhir-held").await;
    assert_eq!(
        app.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );
    assert_eq!(
        app.deliver_pending().await,
        vec![AttemptOutcome::AwaitingEndpoint]
    );
    let ehr = FakeCrm::start().await;
    let fhir_ep = create_fhir_endpoint(&app, &p.api_key, &ehr.url(), "none").await;
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Delivered]);
    let requests = ehr.requests();
    assert_eq!(requests.len(), 1);
    let bundle = delivered_data(&requests[0], &fhir_ep);
    assert_eq!(bundle["resourceType"], "Bundle");
    let dir = tempfile::tempdir().expect("a temporary directory");
    assert_all_valid(dir.path(), &[bundle]);
}

#[tokio::test]
async fn every_marker_in_both_unit_systems_arrives_as_a_valid_bundle() {
    let app = spawn_app().await;
    let p = app.create_practitioner("fhir-all-markers").await;
    let ehr = FakeCrm::start().await;
    let fhir_ep = create_fhir_endpoint(&app, &p.api_key, &ehr.url(), "jwe").await;
    for alternate in [false, true] {
        let mut body = canary_intake();
        body["labs"] = Value::Array(all_markers(alternate));
        let res = app.post_intake(&p.slug, &body).await;
        assert_eq!(res.status(), 202, "{:?}", res.text().await);
    }
    assert_eq!(
        app.deliver_pending().await,
        vec![AttemptOutcome::Delivered; 2]
    );
    let bundles: Vec<Value> = ehr
        .requests()
        .iter()
        .map(|r| delivered_data(r, &fhir_ep))
        .collect();
    for bundle in &bundles {
        assert_eq!(lab_observations(bundle).len(), 40);
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    assert_all_valid(dir.path(), &bundles);
}
