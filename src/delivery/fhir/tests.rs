//! Unit tests of the FHIR rendering: the key mappings, checked on the JSON itself. The
//! open validators (structure, invariants, UCUM) run in tests/api/fhir.rs.

use super::*;
use crate::domain::custom::{CustomMarker, CustomSymptom, SymptomSettings, SymptomSettingsDraft};
use crate::domain::ids::PractitionerId;
use crate::domain::practitioner::{FieldMode, NewPractitioner};
use crate::domain::ranges::RangeMessages;
use crate::domain::report;
use crate::domain::submission::IntakeDraft;
use rand::SeedableRng;
use time::macros::datetime;

fn base() -> RelayBase {
    RelayBase::parse("https://relay.example/").unwrap_or_else(|e| panic!("{e}"))
}

fn practitioner() -> Practitioner {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let mut p = Practitioner::create(
        NewPractitioner {
            practice_name: "Lee <Clinic>".into(),
            doctor_name: "Dr Lee".into(),
            email: "lee@example.com".into(),
            website_url: "https://lee.example.com".into(),
            slug: Some("lee-clinic".into()),
            phone_region: None,
        },
        PractitionerId::generate(&mut rng),
        OffsetDateTime::UNIX_EPOCH,
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    p.settings.consent_required = false;
    p.settings.contact_fields.phone = FieldMode::Optional;
    p
}

fn custom_marker(loinc: Option<&str>) -> CustomMarker {
    CustomMarker {
        id: "omega_index".into(),
        name: "Omega-3 index".into(),
        unit: "%".into(),
        loinc: loinc.map(str::to_owned),
        optimal: Bounds::new(8.0, 12.0).unwrap_or_else(|| panic!()),
        standard: Bounds::new(4.0, 15.0),
        plausible: None,
        messages: RangeMessages::default(),
        systems: vec![],
        about: None,
    }
}

/// Renders the Bundle of a submission given as the intake body.
fn render_with(p: &Practitioner, custom: &[CustomMarker], body: Value) -> Value {
    let req = IntakeDraft::from_json(body).unwrap_or_else(|e| panic!("{e:?}"));
    let s = Submission::parse(req, &p.settings, custom).unwrap_or_else(|e| panic!("{e:?}"));
    let r = report::build(&s, &[]);
    let id = SubmissionId::generate(&mut rand::rngs::StdRng::seed_from_u64(9));
    bundle(&base(), &id, datetime!(2026-11-23 03:49:00 UTC), p, &s, &r)
}

fn render(body: Value) -> Value {
    render_with(&practitioner(), &[], body)
}

fn resources<'a>(b: &'a Value, kind: &str) -> Vec<&'a Value> {
    b["entry"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|e| &e["resource"])
                .filter(|r| r["resourceType"] == kind)
                .collect()
        })
        .unwrap_or_default()
}

fn lab<'a>(b: &'a Value, code: &str) -> &'a Value {
    resources(b, "Observation")
        .into_iter()
        .find(|o| o["code"]["coding"][0]["code"] == code)
        .unwrap_or_else(|| panic!("no observation coded {code}"))
}

fn full() -> Value {
    json!({
        "contact": {"name": "Ann <b>Lee</b>", "email": "ann@example.com", "phone": "+44 20 7946 0958"},
        "sex": "female", "age": 42,
        "labs": [
            {"marker": "tsh", "value": "<0.3", "unit": "mIU/L"},
            {"marker": "glucose_fasting", "value": 5.0, "unit": "mmol/L"},
            {"marker": "wbc", "value": 6.1, "unit": "10^3/µL"},
            {"marker": "vitamin_d_25oh", "value": ">150", "unit": "ng/mL"}
        ],
        "symptoms": ["fatigue", "brain_fog"],
        "consent": true
    })
}

/// Every node: no null, no empty string, array or object (FHIR JSON allows none).
fn assert_no_empty(v: &Value, path: &str) {
    match v {
        Value::Null => panic!("null at {path}"),
        Value::String(s) => assert!(!s.is_empty(), "empty string at {path}"),
        Value::Array(a) => {
            assert!(!a.is_empty(), "empty array at {path}");
            for (i, x) in a.iter().enumerate() {
                assert_no_empty(x, &format!("{path}[{i}]"));
            }
        }
        Value::Object(o) => {
            assert!(!o.is_empty(), "empty object at {path}");
            for (k, x) in o {
                assert_no_empty(x, &format!("{path}.{k}"));
            }
        }
        _ => {}
    }
}

#[test]
fn a_bundle_is_a_transaction_of_posts_with_urn_uuid_full_urls() {
    let b = render(full());
    assert_eq!(b["resourceType"], "Bundle");
    assert_eq!(b["type"], "transaction");
    assert_eq!(b["timestamp"], "2026-11-23T03:49:00Z");
    let entries = b["entry"].as_array().cloned().unwrap_or_default();
    // Patient, age, 4 labs, QuestionnaireResponse, Consent, DiagnosticReport, Provenance.
    assert_eq!(entries.len(), 10);
    let mut urls = std::collections::HashSet::new();
    for e in &entries {
        let url = e["fullUrl"].as_str().unwrap_or_default();
        assert!(url.starts_with("urn:uuid:") && url.len() == 45, "{url}");
        assert_eq!(&url[23..24], "8", "a version 8 UUID: {url}");
        assert!(urls.insert(url.to_owned()), "{url} twice");
        assert_eq!(e["request"]["method"], "POST");
        assert_eq!(e["request"]["url"], e["resource"]["resourceType"]);
        assert!(e["resource"].get("id").is_none());
    }
    // Every reference points at an entry of the Bundle: no conditional references.
    let text = b.to_string();
    for piece in text.split("\"reference\":\"").skip(1) {
        let target = piece.split('"').next().unwrap_or_default();
        assert!(urls.contains(target), "{target} is not an entry");
    }
    assert_no_empty(&b, "Bundle");
}

#[test]
fn the_output_is_deterministic() {
    assert_eq!(render(full()).to_string(), render(full()).to_string());
}

#[test]
fn the_patient_has_name_telecom_and_gender_and_age_is_an_observation() {
    let b = render(full());
    let p = resources(&b, "Patient")[0];
    assert_eq!(p["name"], json!([{"text": "Ann <b>Lee</b>"}]));
    assert_eq!(
        p["telecom"],
        json!([{"system": "email", "value": "ann@example.com"},
               {"system": "phone", "value": "+442079460958"}])
    );
    assert_eq!(p["gender"], "female");
    assert!(p.get("birthDate").is_none());
    let age = lab(&b, "30525-0");
    assert_eq!(age["code"]["coding"][0]["system"], LOINC);
    assert_eq!(
        age["valueQuantity"],
        json!({"value": 42.0, "unit": "years", "system": UCUM, "code": "a"})
    );
}

#[test]
fn absent_contact_fields_are_left_out() {
    let mut p = practitioner();
    p.settings.contact_fields.name = FieldMode::Off;
    p.settings.contact_fields.email = FieldMode::Optional;
    let b = render_with(
        &p,
        &[],
        json!({"labs": [{"marker": "tsh", "value": 2, "unit": "mIU/L"}]}),
    );
    let patient = resources(&b, "Patient")[0];
    assert_eq!(
        patient
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["meta".to_owned(), "resourceType".to_owned()])
    );
    assert!(resources(&b, "QuestionnaireResponse").is_empty());
    assert!(resources(&b, "Consent").is_empty());
    assert_no_empty(&b, "Bundle");
}

#[test]
fn a_lab_uses_the_catalog_ucum_code_and_keeps_what_was_typed_when_converted() {
    let b = render(full());
    let tsh = lab(&b, "3016-3");
    assert_eq!(tsh["valueQuantity"]["code"], "m[IU]/L");
    assert_eq!(tsh["valueQuantity"]["unit"], "mIU/L");
    assert_eq!(tsh["valueQuantity"]["system"], UCUM);
    assert!(tsh.get("note").is_none());
    let wbc = lab(&b, "6690-2");
    assert_eq!(wbc["valueQuantity"]["code"], "10*3/uL");
    let glucose = lab(&b, "1558-6");
    assert_eq!(
        glucose["valueQuantity"],
        json!({"value": 90.078, "unit": "mg/dL", "system": UCUM, "code": "mg/dL"})
    );
    assert_eq!(
        glucose["note"][0]["text"],
        "Typed by the patient as 5 mmol/L; converted to mg/dL by gaprelay."
    );
    for r in glucose["referenceRange"].as_array().into_iter().flatten() {
        for end in ["low", "high"] {
            if let Some(q) = r.get(end) {
                assert_eq!((&q["code"], &q["system"]), (&json!("mg/dL"), &json!(UCUM)));
            }
        }
    }
    assert_eq!(glucose["status"], "final");
    assert_eq!(glucose["category"][0]["coding"][0]["code"], "laboratory");
    assert_eq!(glucose["issued"], "2026-11-23T03:49:00Z");
    assert_eq!(glucose["subject"], glucose["performer"][0]);
    assert_eq!(glucose["meta"]["tag"][0]["code"], PATIENT_REPORTED);
    assert_eq!(
        glucose["meta"]["tag"][0]["system"],
        "https://relay.example/fhir/CodeSystem/data-origin"
    );
}

#[test]
fn censored_values_carry_their_comparator_and_an_interpretation_only_when_certain() {
    let b = render(full());
    let tsh = lab(&b, "3016-3");
    assert_eq!(tsh["valueQuantity"]["comparator"], "<");
    assert_eq!(tsh["valueQuantity"]["value"], 0.3);
    // < 0.3 under a standard low bound of 0.4: certainly low.
    assert_eq!(tsh["interpretation"][0]["coding"][0]["code"], "L");
    let vit_d = lab(&b, "62292-8");
    assert_eq!(vit_d["valueQuantity"]["comparator"], ">");
    assert_eq!(vit_d["interpretation"][0]["coding"][0]["code"], "H");
    let std = Bounds::new(0.4, 4.0);
    assert_eq!(interpretation(0.5, Some(Qualifier::Below), std), None);
    assert_eq!(
        interpretation(0.4, Some(Qualifier::Below), std),
        Some(("L", "Low"))
    );
    assert_eq!(interpretation(3.0, Some(Qualifier::Above), std), None);
    assert_eq!(interpretation(2.0, None, std), Some(("N", "Normal")));
    assert_eq!(interpretation(4.1, None, std), Some(("H", "High")));
    assert_eq!(interpretation(2.0, None, None), None);
    let upper_only = Bounds::open(None, Some(200.0));
    assert_eq!(
        interpretation(100.0, Some(Qualifier::Below), upper_only),
        Some(("N", "Normal"))
    );
}

#[test]
fn both_ranges_are_given_with_their_meanings_in_the_value_unit() {
    let b = render(full());
    let tsh = lab(&b, "3016-3");
    let ranges = tsh["referenceRange"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(ranges.len(), 2);
    assert_eq!(ranges[0]["type"]["coding"][0]["code"], "normal");
    assert_eq!(
        ranges[0]["type"]["coding"][0]["system"],
        "http://terminology.hl7.org/CodeSystem/referencerange-meaning"
    );
    assert_eq!(ranges[0]["low"]["value"], 0.4);
    assert_eq!(ranges[0]["low"]["code"], "m[IU]/L");
    assert_eq!(ranges[1]["type"]["coding"][0]["code"], "recommended");
    assert!(ranges[1]["text"]
        .as_str()
        .is_some_and(|t| t.contains("Optimal range of Lee <Clinic>")));
    assert_eq!(
        tsh["interpretation"][0]["coding"][0]["system"],
        INTERPRETATION
    );
}

#[test]
fn custom_markers_never_get_a_fake_loinc_code() {
    let p = practitioner();
    let body = json!({"labs": [{"marker": "omega_index", "value": 6.5, "unit": "%"}],
                      "contact": {"name": "A", "email": "a@b.co"}});
    let b = render_with(&p, &[custom_marker(None)], body.clone());
    let obs = resources(&b, "Observation")[0];
    assert_eq!(
        obs["code"]["coding"][0],
        json!({"system": "https://relay.example/fhir/CodeSystem/lee-clinic/markers",
               "code": "omega_index", "display": "Omega-3 index"})
    );
    assert!(!b.to_string().contains(LOINC), "no LOINC anywhere");
    // A unit the catalog knows gets its UCUM code; the interpretation is still given.
    assert_eq!(obs["valueQuantity"]["code"], "%");
    assert_eq!(obs["interpretation"][0]["coding"][0]["code"], "N");
    // With the practice's LOINC code, that code is used.
    let b = render_with(&p, &[custom_marker(Some("8480-6"))], body);
    assert_eq!(
        resources(&b, "Observation")[0]["code"]["coding"][0]["system"],
        LOINC
    );
}

#[test]
fn a_custom_unit_the_catalog_does_not_know_has_no_ucum_code() {
    let mut m = custom_marker(None);
    m.unit = "index points".into();
    let body = json!({"labs": [{"marker": "omega_index", "value": 6.5, "unit": "index points"}],
                      "contact": {"name": "A", "email": "a@b.co"}});
    let b = render_with(&practitioner(), &[m], body);
    let q = &resources(&b, "Observation")[0]["valueQuantity"];
    assert_eq!(q, &json!({"value": 6.5, "unit": "index points"}));
}

#[test]
fn symptoms_become_a_questionnaire_response_on_the_practice_questionnaire() {
    let b = render(full());
    let qr = resources(&b, "QuestionnaireResponse")[0];
    assert_eq!(
        qr["questionnaire"],
        "https://relay.example/fhir/Questionnaire/lee-clinic"
    );
    assert_eq!(qr["status"], "completed");
    assert_eq!(
        qr["item"][0],
        json!({"linkId": "fatigue", "text": "Fatigue", "answer": [{"valueBoolean": true}]})
    );
    let none = render(json!({"contact": {"name": "A", "email": "a@b.co"}}));
    assert!(resources(&none, "QuestionnaireResponse").is_empty());
}

#[test]
fn the_questionnaire_codes_each_symptom_with_snomed_where_it_can() {
    let mut p = practitioner();
    let q = questionnaire(&base(), &p);
    assert_eq!(
        q["url"],
        "https://relay.example/fhir/Questionnaire/lee-clinic"
    );
    assert_eq!(q["status"], "active");
    let items = q["item"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), symptoms::symptoms().len());
    assert!(items.iter().all(|i| i["type"] == "boolean"));
    let fatigue = &items[0];
    assert_eq!(fatigue["linkId"], "fatigue");
    assert_eq!(
        fatigue["code"][1],
        json!({"system": SNOMED_CT, "code": "84229001", "display": "Fatigue"})
    );
    let fog = items
        .iter()
        .find(|i| i["linkId"] == "brain_fog")
        .cloned()
        .unwrap_or_default();
    assert_eq!(fog["code"].as_array().map(Vec::len), Some(1));
    p.settings.symptoms = Some(
        SymptomSettings::parse(SymptomSettingsDraft {
            offered: vec!["nausea".into(), "tingly_toes".into()],
            custom: vec![CustomSymptom {
                id: "tingly_toes".into(),
                name: "Tingly toes".into(),
                systems: vec![],
            }],
        })
        .unwrap_or_else(|e| panic!("{e:?}")),
    );
    let q = questionnaire(&base(), &p);
    assert_eq!(
        q["item"][1]["code"][0]["system"],
        "https://relay.example/fhir/CodeSystem/lee-clinic/symptoms"
    );
    assert_eq!(q["item"].as_array().map(Vec::len), Some(2));
}

#[test]
fn consent_names_the_wording_by_version_and_sha256() {
    let mut p = practitioner();
    p.settings.consent_text = "I agree to share my results with Dr Lee.".into();
    p.settings.consent_version = 3;
    let b = render_with(&p, &[], full());
    let c = resources(&b, "Consent")[0];
    assert_eq!(c["status"], "active");
    assert_eq!(c["scope"]["coding"][0]["code"], "patient-privacy");
    assert_eq!(c["category"][0]["coding"][0]["code"], "59284-0");
    assert_eq!(c["dateTime"], "2026-11-23T03:49:00Z");
    // `printf '%s' "I agree to share my results with Dr Lee." | sha256sum`, in base64url.
    assert_eq!(
        c["policy"][0]["uri"],
        "ni:///sha-256;ycaPZ65z55dDd5vR-EpJHu20huIltXoN4ZKJyMAESIg"
    );
    assert!(c["sourceAttachment"]["title"]
        .as_str()
        .is_some_and(|t| t.contains(
            "version 3 (SHA-256 c9c68f67ae73e79743779bd1f84a491eedb486e225b57a0de19289c8c0044888)"
        )));
}

#[test]
fn the_diagnostic_report_ties_the_labs_and_attaches_an_escaped_html_report() {
    let b = render(full());
    let r = resources(&b, "DiagnosticReport")[0];
    assert_eq!(r["result"].as_array().map(Vec::len), Some(4));
    let conclusion = r["conclusion"].as_str().unwrap_or_default();
    assert!(conclusion.starts_with("4 lab results: "), "{conclusion}");
    let form = &r["presentedForm"][0];
    assert_eq!(form["contentType"], "text/html");
    let html = base64::engine::general_purpose::STANDARD
        .decode(form["data"].as_str().unwrap_or_default())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    assert!(html.contains("Lee &lt;Clinic&gt;"), "{html}");
    assert!(!html.contains("<Clinic>"));
    assert!(html.contains("Fatigue"));
    assert!(html.contains("&lt;0.3 mIU/L"), "{html}");
}

#[test]
fn provenance_says_the_patient_entered_everything() {
    let b = render(full());
    let prov = resources(&b, "Provenance")[0];
    let targets = prov["target"].as_array().map(Vec::len);
    assert_eq!(targets, Some(9));
    assert_eq!(prov["agent"][0]["type"]["coding"][0]["code"], "enterer");
    assert_eq!(
        prov["agent"][0]["who"],
        resources(&b, "Observation")[0]["subject"]
    );
}

#[test]
fn a_relay_base_is_an_absolute_http_url_without_query() {
    assert_eq!(base().as_str(), "https://relay.example");
    assert_eq!(
        RelayBase::parse("https://r.example/relay/").map(|b| b.as_str().to_owned()),
        Ok("https://r.example/relay".to_owned())
    );
    assert_eq!(
        RelayBase::parse("relay.example"),
        Err(RelayBaseError::NotAbsolute)
    );
    assert_eq!(
        RelayBase::parse("ftp://relay.example"),
        Err(RelayBaseError::NotAbsolute)
    );
    assert_eq!(
        RelayBase::parse("https://relay.example/?a=1"),
        Err(RelayBaseError::Extra)
    );
}
