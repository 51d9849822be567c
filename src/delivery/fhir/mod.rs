//! FHIR R4, pure: a submission rendered as a `transaction` Bundle (Patient, age and lab
//! Observations, QuestionnaireResponse, Consent, DiagnosticReport, Provenance) and the
//! practice's symptom Questionnaire. No I/O, no clock, no randomness: every id is
//! derived from the submission id, so the same inputs always give the same Bundle.
//!
//! docs/fhir.md describes the mapping resource by resource.

mod report_html;

use crate::domain::catalog::{self, Sex};
use crate::domain::ids::SubmissionId;
use crate::domain::lab_value::Qualifier;
use crate::domain::practitioner::{consent_text_sha256, Practitioner};
use crate::domain::ranges::Bounds;
use crate::domain::report::{LabResult, Report};
use crate::domain::submission::{Lab, LabMarker, Submission};
use crate::domain::symptoms;
use base64::Engine;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::payload::rfc3339;

/// The version of this rendering, carried in every Bundle's `meta.tag` (system
/// `<base>/fhir/CodeSystem/bundle-format`), raised whenever the mapping changes in a way
/// a receiver could notice.
pub const BUNDLE_FORMAT: &str = "gaprelay.fhir-r4.v1";

/// The `meta.tag` code on every resource the relay renders from a submission: the data
/// was typed by the patient, not received from a laboratory (system
/// `<base>/fhir/CodeSystem/data-origin`).
pub const PATIENT_REPORTED: &str = "patient-reported";

/// LOINC.
pub const LOINC: &str = "http://loinc.org";
/// SNOMED CT.
pub const SNOMED_CT: &str = "http://snomed.info/sct";
/// UCUM.
pub const UCUM: &str = "http://unitsofmeasure.org";
const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const INTERPRETATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
const REFERENCE_RANGE_MEANING: &str =
    "http://terminology.hl7.org/CodeSystem/referencerange-meaning";
const CONSENT_SCOPE: &str = "http://terminology.hl7.org/CodeSystem/consentscope";
const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const PROVENANCE_PARTICIPANT: &str =
    "http://terminology.hl7.org/CodeSystem/provenance-participant-type";

/// LOINC 30525-0, Age.
const LOINC_AGE: (&str, &str) = ("30525-0", "Age");
/// LOINC 59284-0, Patient Consent.
const LOINC_CONSENT: (&str, &str) = ("59284-0", "Patient Consent");

/// Why a relay base URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RelayBaseError {
    /// Not an absolute `http(s)` URL with a host.
    #[error("must be an absolute http(s) URL with a host")]
    NotAbsolute,
    /// A query, fragment or credentials, which have no place in a canonical URL.
    #[error("must not have credentials, a query or a fragment")]
    Extra,
}

/// The relay's public base URL (`https://relay.example`), under which the Questionnaire
/// canonical and gaprelay's own code systems live. Kept without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayBase(String);

impl RelayBase {
    /// Parses an absolute `http(s)` URL with a host and no credentials, query or
    /// fragment; a path is kept (a relay behind a prefix).
    pub fn parse(s: &str) -> Result<RelayBase, RelayBaseError> {
        let url = url::Url::parse(s.trim()).map_err(|_| RelayBaseError::NotAbsolute)?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(RelayBaseError::NotAbsolute);
        }
        if url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(RelayBaseError::Extra);
        }
        Ok(RelayBase(url.as_str().trim_end_matches('/').to_owned()))
    }

    /// The base, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The canonical URL of a practice's symptom Questionnaire, which the relay serves
    /// at the same address (`<base>/fhir/Questionnaire/<slug>`).
    pub fn questionnaire_url(&self, slug: &str) -> String {
        format!("{}/fhir/Questionnaire/{slug}", self.0)
    }

    /// A gaprelay code system (`<base>/fhir/CodeSystem/<name>`).
    fn code_system(&self, name: &str) -> String {
        format!("{}/fhir/CodeSystem/{name}", self.0)
    }

    /// The code system of a practice's own markers: their ids, never a LOINC look-alike.
    pub fn practice_markers_system(&self, slug: &str) -> String {
        self.code_system(&format!("{slug}/markers"))
    }

    /// The code system of a practice's own symptoms.
    fn practice_symptoms_system(&self, slug: &str) -> String {
        self.code_system(&format!("{slug}/symptoms"))
    }

    fn origin_tag(&self) -> Value {
        json!({
            "system": self.code_system("data-origin"),
            "code": PATIENT_REPORTED,
            "display": "Typed by the patient",
        })
    }
}

/// A deterministic `urn:uuid` for one resource of a submission: the first 128 bits of
/// SHA-256 over a domain label, the submission id and the resource's key, marked as an
/// RFC 9562 version 8 (custom, here name-based with SHA-256) UUID.
fn resource_urn(submission: &SubmissionId, key: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"gaprelay.fhir.resource\0")
        .chain_update(submission.as_str().as_bytes())
        .chain_update(b"\0")
        .chain_update(key.as_bytes())
        .finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({"system": system, "code": code, "display": display})
}

fn reference(url: &str) -> Value {
    json!({"reference": url})
}

/// The UCUM code of a unit spelled as one of the catalog's units (its display or its
/// UCUM code), for a practice's own marker; `None` when the catalog does not know it.
/// Aliases are not used: an alias is an equivalence for one marker (`IU/L` as `U/L`),
/// not a UCUM fact.
fn catalog_ucum(unit: &str) -> Option<&'static str> {
    let wanted = catalog::normalize_unit(unit);
    catalog::markers()
        .iter()
        .flat_map(|m| m.units.iter())
        .find(|u| {
            catalog::normalize_unit(u.display) == wanted
                || catalog::normalize_unit(u.ucum) == wanted
        })
        .map(|u| u.ucum)
}

/// A Quantity: the value, the unit as displayed, and the UCUM system and code when known
/// (qty-3: a code always comes with its system).
fn quantity(value: f64, unit: &str, ucum: Option<&str>) -> Map<String, Value> {
    let mut q = Map::new();
    q.insert("value".into(), json!(value));
    q.insert("unit".into(), json!(unit));
    if let Some(code) = ucum {
        q.insert("system".into(), json!(UCUM));
        q.insert("code".into(), json!(code));
    }
    q
}

/// v3 ObservationInterpretation against the lab's (standard) range: `L`, `N` or `H`.
/// A censored value gets one only when its side of the limit settles it (`<0.3` under a
/// low bound of 0.4 is low; `<0.5` under the same bound could be either, and gets none).
fn interpretation(
    value: f64,
    qualifier: Option<Qualifier>,
    standard: Option<Bounds>,
) -> Option<(&'static str, &'static str)> {
    const LOW: (&str, &str) = ("L", "Low");
    const NORMAL: (&str, &str) = ("N", "Normal");
    const HIGH: (&str, &str) = ("H", "High");
    let s = standard?;
    let (low, high) = (s.low(), s.high());
    match qualifier {
        None if low.is_some_and(|l| value < l) => Some(LOW),
        None if high.is_some_and(|h| value > h) => Some(HIGH),
        None => Some(NORMAL),
        Some(Qualifier::Below) if low.is_some_and(|l| value <= l) => Some(LOW),
        Some(Qualifier::Below) if low.is_none() && high.is_none_or(|h| value <= h) => Some(NORMAL),
        Some(Qualifier::Above) if high.is_some_and(|h| value >= h) => Some(HIGH),
        Some(Qualifier::Above) if high.is_none() && low.is_none_or(|l| value >= l) => Some(NORMAL),
        Some(_) => None,
    }
}

/// One `referenceRange`: its ends in the value's unit, its meaning and its text.
fn reference_range(
    bounds: Bounds,
    unit: &str,
    ucum: Option<&str>,
    meaning: (&str, &str),
    text: String,
) -> Value {
    let mut r = Map::new();
    if let Some(low) = bounds.low() {
        r.insert("low".into(), Value::Object(quantity(low, unit, ucum)));
    }
    if let Some(high) = bounds.high() {
        r.insert("high".into(), Value::Object(quantity(high, unit, ucum)));
    }
    r.insert(
        "type".into(),
        json!({"coding": [coding(REFERENCE_RANGE_MEANING, meaning.0, meaning.1)]}),
    );
    r.insert("text".into(), json!(text));
    Value::Object(r)
}

/// What the renderer needs to know of one lab beyond the report's line.
struct LabFacts {
    /// The range unit's UCUM code, when known.
    ucum: Option<&'static str>,
    /// Whether the patient typed the value in another unit than the range's.
    converted: bool,
    /// The code of the observation.
    code: Value,
}

fn lab_facts(base: &RelayBase, slug: &str, line: &LabResult, lab: Option<&Lab>) -> LabFacts {
    let catalog_marker = match lab.map(|l| &l.marker) {
        Some(LabMarker::Catalog(m)) => Some(*m),
        Some(LabMarker::Custom(_)) => None,
        // The report and the submission always agree; without the submission's line,
        // the report's marker id is looked up (custom ids never collide with the
        // catalog's).
        None => catalog::find(&line.marker).filter(|m| m.id == line.marker),
    };
    match catalog_marker {
        Some(m) => {
            let range_unit = m.range_unit();
            let converted = m
                .unit(&line.input.unit)
                .is_some_and(|typed| typed.display != range_unit.display);
            LabFacts {
                ucum: Some(range_unit.ucum),
                converted,
                code: json!({
                    "coding": [coding(LOINC, m.loinc, m.name)],
                    "text": m.name,
                }),
            }
        }
        None => {
            let coding = match &line.loinc {
                // The practice gave the test's LOINC code.
                Some(loinc) => coding(LOINC, loinc, &line.name),
                // Never a LOINC look-alike: the practice's own code system.
                None => coding(
                    &base.practice_markers_system(slug),
                    &line.marker,
                    &line.name,
                ),
            };
            LabFacts {
                ucum: catalog_ucum(&line.unit),
                converted: false,
                code: json!({"coding": [coding], "text": line.name}),
            }
        }
    }
}

fn lab_observation(
    base: &RelayBase,
    practitioner: &Practitioner,
    patient: &str,
    at: &str,
    line: &LabResult,
    lab: Option<&Lab>,
) -> Value {
    let facts = lab_facts(base, practitioner.slug.as_str(), line, lab);
    let qualifier = line.input.qualifier;
    let mut value = quantity(line.value, &line.unit, facts.ucum);
    if let Some(q) = qualifier {
        value.insert("comparator".into(), json!(q.as_str()));
    }
    let mut obs = Map::new();
    obs.insert("resourceType".into(), json!("Observation"));
    obs.insert("meta".into(), json!({"tag": [base.origin_tag()]}));
    obs.insert("status".into(), json!("final"));
    obs.insert(
        "category".into(),
        json!([{"coding": [coding(OBSERVATION_CATEGORY, "laboratory", "Laboratory")]}]),
    );
    obs.insert("code".into(), facts.code);
    obs.insert("subject".into(), reference(patient));
    obs.insert("issued".into(), json!(at));
    obs.insert("performer".into(), json!([reference(patient)]));
    obs.insert("valueQuantity".into(), Value::Object(value));
    if let Some((code, display)) = interpretation(line.value, qualifier, line.standard) {
        obs.insert(
            "interpretation".into(),
            json!([{"coding": [coding(INTERPRETATION, code, display)]}]),
        );
    }
    if facts.converted {
        let sign = qualifier.map(Qualifier::as_str).unwrap_or_default();
        obs.insert(
            "note".into(),
            json!([{"text": format!(
                "Typed by the patient as {sign}{} {}; converted to {} by gaprelay.",
                line.input.value, line.input.unit, line.unit
            )}]),
        );
    }
    let mut ranges = Vec::new();
    if let Some(standard) = line.standard {
        ranges.push(reference_range(
            standard,
            &line.unit,
            facts.ucum,
            ("normal", "Normal Range"),
            "Standard reference range".to_owned(),
        ));
    }
    ranges.push(reference_range(
        line.optimal,
        &line.unit,
        facts.ucum,
        ("recommended", "Recommended Range"),
        format!(
            "Optimal range of {} (the practice's functional range, not the laboratory's)",
            practitioner.practice_name
        ),
    ));
    obs.insert("referenceRange".into(), Value::Array(ranges));
    Value::Object(obs)
}

fn patient_resource(base: &RelayBase, submission: &Submission) -> Value {
    let c = &submission.contact;
    let mut p = Map::new();
    p.insert("resourceType".into(), json!("Patient"));
    p.insert("meta".into(), json!({"tag": [base.origin_tag()]}));
    if let Some(name) = &c.name {
        p.insert("name".into(), json!([{"text": name.expose()}]));
    }
    let mut telecom = Vec::new();
    if let Some(email) = &c.email {
        telecom.push(json!({"system": "email", "value": email.expose()}));
    }
    if let Some(phone) = &c.phone {
        telecom.push(json!({"system": "phone", "value": phone.expose()}));
    }
    if !telecom.is_empty() {
        p.insert("telecom".into(), Value::Array(telecom));
    }
    if let Some(sex) = submission.sex {
        let gender = match sex {
            Sex::Female => "female",
            Sex::Male => "male",
        };
        p.insert("gender".into(), json!(gender));
    }
    Value::Object(p)
}

fn age_observation(base: &RelayBase, patient: &str, at: &str, age: u8) -> Value {
    json!({
        "resourceType": "Observation",
        "meta": {"tag": [base.origin_tag()]},
        "status": "final",
        "code": {"coding": [coding(LOINC, LOINC_AGE.0, LOINC_AGE.1)], "text": "Age"},
        "subject": reference(patient),
        "issued": at,
        "performer": [reference(patient)],
        "valueQuantity": quantity(f64::from(age), "years", Some("a")),
    })
}

/// The code of a symptom: gaprelay's id for it (the catalog's or the practice's own)
/// and, where one exists, its SNOMED CT concept.
fn symptom_codings(base: &RelayBase, slug: &str, id: &str, name: &str) -> Vec<Value> {
    match symptoms::find(id) {
        Some(s) => {
            let mut codes = vec![coding(&base.code_system("symptoms"), s.id, s.name)];
            if let Some(snomed) = s.snomed {
                codes.push(coding(SNOMED_CT, snomed, s.name));
            }
            codes
        }
        None => vec![coding(&base.practice_symptoms_system(slug), id, name)],
    }
}

fn questionnaire_response(
    base: &RelayBase,
    practitioner: &Practitioner,
    patient: &str,
    at: &str,
    report: &Report,
) -> Value {
    let items: Vec<Value> = report
        .symptoms
        .iter()
        .map(|s| json!({"linkId": s.id, "text": s.name, "answer": [{"valueBoolean": true}]}))
        .collect();
    json!({
        "resourceType": "QuestionnaireResponse",
        "meta": {"tag": [base.origin_tag()]},
        "questionnaire": base.questionnaire_url(practitioner.slug.as_str()),
        "status": "completed",
        "subject": reference(patient),
        "authored": at,
        "author": reference(patient),
        "source": reference(patient),
        "item": items,
    })
}

/// An RFC 6920 named-information URI for a SHA-256 digest given in hex
/// (`ni:///sha-256;<base64url>`): a standard URI that names the exact consent wording.
fn ni_sha256(hex: &str) -> String {
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .filter_map(|i| hex.get(i..i + 2))
        .filter_map(|pair| u8::from_str_radix(pair, 16).ok())
        .collect();
    format!(
        "ni:///sha-256;{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

fn consent_resource(
    base: &RelayBase,
    practitioner: &Practitioner,
    patient: &str,
    at: &str,
) -> Value {
    let settings = &practitioner.settings;
    let sha256 = consent_text_sha256(&settings.consent_text);
    let mut source = Map::new();
    source.insert("contentType".into(), json!("text/plain; charset=utf-8"));
    // FHIR has no empty strings: an empty wording is named by its hash alone.
    if !settings.consent_text.is_empty() {
        source.insert(
            "data".into(),
            json!(
                base64::engine::general_purpose::STANDARD.encode(settings.consent_text.as_bytes())
            ),
        );
    }
    source.insert(
        "title".into(),
        json!(format!(
            "Consent wording, version {} (SHA-256 {sha256})",
            settings.consent_version
        )),
    );
    json!({
        "resourceType": "Consent",
        "meta": {"tag": [base.origin_tag()]},
        "status": "active",
        "scope": {"coding": [coding(CONSENT_SCOPE, "patient-privacy", "Privacy Consent")]},
        "category": [{"coding": [coding(LOINC, LOINC_CONSENT.0, LOINC_CONSENT.1)]}],
        "patient": reference(patient),
        "dateTime": at,
        "performer": [reference(patient)],
        "sourceAttachment": source,
        "policy": [{"uri": ni_sha256(&sha256)}],
        "policyRule": {"coding": [coding(ACT_CODE, "OPTIN", "opt-in")]},
        "provision": {"type": "permit"},
    })
}

fn diagnostic_report(
    base: &RelayBase,
    practitioner: &Practitioner,
    patient: &str,
    at: &str,
    results: &[String],
    report: &Report,
) -> Value {
    let html = report_html::render(practitioner, report);
    let mut r = Map::new();
    r.insert("resourceType".into(), json!("DiagnosticReport"));
    r.insert("meta".into(), json!({"tag": [base.origin_tag()]}));
    r.insert("status".into(), json!("final"));
    r.insert(
        "code".into(),
        json!({
            "coding": [coding(&base.code_system("report"), "gap-report", "Gap report")],
            "text": "Gap report",
        }),
    );
    r.insert("subject".into(), reference(patient));
    r.insert("issued".into(), json!(at));
    if !results.is_empty() {
        let refs: Vec<Value> = results.iter().map(|u| reference(u)).collect();
        r.insert("result".into(), Value::Array(refs));
    }
    r.insert("conclusion".into(), json!(report_html::conclusion(report)));
    r.insert(
        "presentedForm".into(),
        json!([{
            "contentType": "text/html",
            "language": "en",
            "data": base64::engine::general_purpose::STANDARD.encode(html.as_bytes()),
            "title": "Gap report",
        }]),
    );
    Value::Object(r)
}

fn provenance(base: &RelayBase, at: &str, patient: &str, targets: &[String]) -> Value {
    let targets: Vec<Value> = targets.iter().map(|u| reference(u)).collect();
    json!({
        "resourceType": "Provenance",
        "meta": {"tag": [base.origin_tag()]},
        "target": targets,
        "recorded": at,
        "agent": [
            {
                "type": {"coding": [coding(PROVENANCE_PARTICIPANT, "enterer", "Enterer")]},
                "who": reference(patient),
            },
            {
                "type": {"coding": [coding(PROVENANCE_PARTICIPANT, "assembler", "Assembler")]},
                "who": {"display": "gaprelay"},
            },
        ],
    })
}

/// Renders the `intake.submitted` event for a `fhir-r4` endpoint: the envelope every
/// endpoint gets, with the submission's [`bundle`] as `data`.
pub fn intake_event(
    base: &RelayBase,
    submission_id: &SubmissionId,
    submitted_at: OffsetDateTime,
    practitioner: &Practitioner,
    submission: &Submission,
    report: &Report,
) -> crate::delivery::message::Event {
    let data = bundle(
        base,
        submission_id,
        submitted_at,
        practitioner,
        submission,
        report,
    );
    crate::delivery::message::Event::new(
        crate::delivery::message::EventKind::IntakeSubmitted,
        rfc3339(submitted_at),
        &data,
    )
    .of_submission(submission_id)
}

/// Renders a submission as a FHIR R4 `transaction` Bundle, from the same inputs as the
/// `gaprelay.v1` event plus the relay's public base URL. Every entry has a `urn:uuid`
/// full URL derived from the submission id and a `POST` request of its type; entries
/// refer to each other by those URLs only.
pub fn bundle(
    base: &RelayBase,
    submission_id: &SubmissionId,
    submitted_at: OffsetDateTime,
    practitioner: &Practitioner,
    submission: &Submission,
    report: &Report,
) -> Value {
    let at = rfc3339(submitted_at);
    let urn = |key: &str| resource_urn(submission_id, key);
    let patient = urn("patient");
    let mut entries: Vec<(String, Value)> =
        vec![(patient.clone(), patient_resource(base, submission))];
    if let Some(age) = submission.age {
        entries.push((urn("age"), age_observation(base, &patient, &at, age)));
    }
    let mut results = Vec::with_capacity(report.labs.len());
    for (i, line) in report.labs.iter().enumerate() {
        let lab = submission
            .labs
            .get(i)
            .filter(|l| l.marker.id() == line.marker);
        let url = urn(&format!("lab:{}", line.marker));
        let obs = lab_observation(base, practitioner, &patient, &at, line, lab);
        results.push(url.clone());
        entries.push((url, obs));
    }
    if !report.symptoms.is_empty() {
        entries.push((
            urn("symptoms"),
            questionnaire_response(base, practitioner, &patient, &at, report),
        ));
    }
    if submission.consent {
        entries.push((
            urn("consent"),
            consent_resource(base, practitioner, &patient, &at),
        ));
    }
    entries.push((
        urn("report"),
        diagnostic_report(base, practitioner, &patient, &at, &results, report),
    ));
    let targets: Vec<String> = entries.iter().map(|(url, _)| url.clone()).collect();
    entries.push((urn("provenance"), provenance(base, &at, &patient, &targets)));

    let entries: Vec<Value> = entries
        .into_iter()
        .map(|(url, resource)| {
            let kind = resource["resourceType"].clone();
            json!({"fullUrl": url, "resource": resource, "request": {"method": "POST", "url": kind}})
        })
        .collect();
    json!({
        "resourceType": "Bundle",
        "meta": {"tag": [
            base.origin_tag(),
            {"system": base.code_system("bundle-format"), "code": BUNDLE_FORMAT},
        ]},
        "identifier": {"system": format!("{}/fhir/sid/submission", base.as_str()), "value": submission_id.as_str()},
        "type": "transaction",
        "timestamp": at,
        "entry": entries,
    })
}

/// Renders the practice's symptom Questionnaire (`GET /fhir/Questionnaire/{slug}`): its
/// canonical URL, one boolean item per symptom the form offers, each coded with
/// gaprelay's id and, where one exists, its SNOMED CT concept.
pub fn questionnaire(base: &RelayBase, practitioner: &Practitioner) -> Value {
    let slug = practitioner.slug.as_str();
    let offered: Vec<(String, String)> = match &practitioner.settings.symptoms {
        None => symptoms::symptoms()
            .iter()
            .map(|s| (s.id.to_owned(), s.name.to_owned()))
            .collect(),
        Some(settings) => settings
            .offered()
            .iter()
            .filter_map(|id| {
                symptoms::find(id)
                    .map(|s| (s.id.to_owned(), s.name.to_owned()))
                    .or_else(|| {
                        settings
                            .custom()
                            .iter()
                            .find(|c| &c.id == id)
                            .map(|c| (c.id.clone(), c.name.clone()))
                    })
            })
            .collect(),
    };
    let items: Vec<Value> = offered
        .iter()
        .map(|(id, name)| {
            json!({
                "linkId": id,
                "text": name,
                "type": "boolean",
                "code": symptom_codings(base, slug, id, name),
            })
        })
        .collect();
    let mut q = Map::new();
    q.insert("resourceType".into(), json!("Questionnaire"));
    q.insert("url".into(), json!(base.questionnaire_url(slug)));
    q.insert(
        "title".into(),
        json!(format!("Symptoms: {}", practitioner.practice_name)),
    );
    q.insert("status".into(), json!("active"));
    q.insert("subjectType".into(), json!(["Patient"]));
    q.insert("publisher".into(), json!(practitioner.practice_name));
    if !items.is_empty() {
        q.insert("item".into(), Value::Array(items));
    }
    Value::Object(q)
}

#[cfg(test)]
mod tests;
