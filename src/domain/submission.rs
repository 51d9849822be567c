//! A patient's submission: the wire request, and its validation into a [`Submission`]
//! that downstream code never re-checks. Every problem is reported at once, each with
//! its field path, and no problem text repeats what the patient typed.

use super::catalog::{self, BodySystem, Marker, Sex};
use super::custom::CustomMarker;
use super::practitioner::{FieldMode, FormSettings};
use super::problems::{FieldProblem, Problems, Redacted};
use super::ranges::round_sig;
use super::symptoms;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Most labs one submission may carry.
pub const MAX_LABS: usize = 100;
/// Most symptoms one submission may carry.
pub const MAX_SYMPTOMS: usize = 100;
/// Longest name accepted.
pub const MAX_NAME_LEN: usize = 200;
/// Oldest age accepted.
pub const MAX_AGE: i64 = 130;

/// Body of `POST /v1/intake/{slug}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntakeRequest {
    /// Contact details.
    #[serde(default)]
    pub contact: ContactRequest,
    /// `female` or `male`.
    #[serde(default)]
    pub sex: Option<String>,
    /// Age in whole years.
    #[serde(default)]
    pub age: Option<i64>,
    /// Lab values as printed by the lab.
    #[serde(default)]
    pub labs: Vec<LabRequest>,
    /// Selected symptom ids.
    #[serde(default)]
    pub symptoms: Vec<String>,
    /// Whether the patient consented.
    #[serde(default)]
    pub consent: Option<bool>,
    /// How the patient used the form.
    #[serde(default)]
    pub engagement: Option<Engagement>,
    /// The token from `GET /v1/forms/{slug}` (`form_token`), which dates when the form
    /// was loaded; forms send it back unchanged.
    #[serde(default)]
    pub form_token: Option<String>,
    /// A honeypot: the form renders it as an input people never see (hidden, no
    /// autofill) and sends whatever it holds. Must be absent or empty.
    #[serde(default)]
    pub honeypot: Option<String>,
}

/// Contact details as submitted. `Debug` never shows them.
#[derive(Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactRequest {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
}

impl fmt::Debug for ContactRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ContactRequest([redacted])")
    }
}

/// One lab value as submitted. `Debug` never shows the value.
#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabRequest {
    /// Catalog id or LOINC code.
    pub marker: String,
    /// The value as printed.
    pub value: f64,
    /// The unit as printed.
    pub unit: String,
}

impl fmt::Debug for LabRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LabRequest")
            .field("marker", &self.marker)
            .finish_non_exhaustive()
    }
}

/// Engagement signals from the form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Engagement {
    /// Seconds the patient spent on the form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_on_tool_s: Option<u64>,
}

/// Validated contact details.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Contact {
    /// Name.
    pub name: Option<Redacted<String>>,
    /// Email.
    pub email: Option<Redacted<String>>,
    /// Phone, normalised (E.164 when it starts with `+`).
    pub phone: Option<Redacted<String>>,
}

/// The marker a lab value is for: from the catalog, or the practitioner's own.
#[derive(Debug, Clone)]
pub enum LabMarker {
    /// A catalog marker.
    Catalog(&'static Marker),
    /// A practitioner's custom marker.
    Custom(Box<CustomMarker>),
}

impl LabMarker {
    /// The marker's id.
    pub fn id(&self) -> &str {
        match self {
            LabMarker::Catalog(m) => m.id,
            LabMarker::Custom(c) => &c.id,
        }
    }

    /// The marker's name.
    pub fn name(&self) -> &str {
        match self {
            LabMarker::Catalog(m) => m.name,
            LabMarker::Custom(c) => &c.name,
        }
    }

    /// Its LOINC code, if any.
    pub fn loinc(&self) -> Option<&str> {
        match self {
            LabMarker::Catalog(m) => Some(m.loinc),
            LabMarker::Custom(c) => c.loinc.as_deref(),
        }
    }

    /// Body systems it bears on.
    pub fn systems(&self) -> &[BodySystem] {
        match self {
            LabMarker::Catalog(m) => m.systems,
            LabMarker::Custom(c) => &c.systems,
        }
    }
}

/// A validated lab value. `Debug` never shows the value.
#[derive(Clone)]
pub struct Lab {
    /// The marker.
    pub marker: LabMarker,
    /// The value as typed.
    pub value: f64,
    /// The unit as typed, in its canonical spelling.
    pub unit: String,
    /// The value in the marker's range unit (rounded to 6 significant digits).
    pub range_value: f64,
    /// The UCUM code of the range unit, when known (catalog markers).
    pub ucum: Option<&'static str>,
}

impl fmt::Debug for Lab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lab")
            .field("marker", &self.marker.id())
            .finish_non_exhaustive()
    }
}

/// A selected symptom (from the catalog or the practitioner's own).
#[derive(Debug, Clone, PartialEq)]
pub struct ChosenSymptom {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Body systems it bears on.
    pub systems: Vec<BodySystem>,
}

/// A validated submission.
#[derive(Clone)]
pub struct Submission {
    /// Contact details.
    pub contact: Contact,
    /// Sex, if given.
    pub sex: Option<Sex>,
    /// Age, if given.
    pub age: Option<u8>,
    /// Labs, in submission order.
    pub labs: Vec<Lab>,
    /// Selected symptoms, in submission order.
    pub symptoms: Vec<ChosenSymptom>,
    /// Consent given.
    pub consent: bool,
    /// Engagement signals.
    pub engagement: Engagement,
}

impl fmt::Debug for Submission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Submission")
            .field("labs", &self.labs.len())
            .field("symptoms", &self.symptoms.len())
            .finish_non_exhaustive()
    }
}

/// A cheap, deliberately permissive email syntax check: one `@`, a non-empty local
/// part, a dotted domain of letters, digits and hyphens, no spaces. Deliverability is
/// the practitioner's CRM's business; this catches typos.
pub fn is_plausible_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '@');
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    local_ok && domain_ok && s.len() <= 254
}

/// Normalises a phone number with libphonenumber's metadata (the `phonenumber` crate):
/// a number written with its country code (`+44 20 7946 0958`) becomes E.164 anywhere;
/// a national number (`(201) 555-0123`) becomes E.164 when the form has a default
/// region; without one it is kept as its digits, since its country cannot be known.
/// `None` when it is not a valid number.
pub fn normalize_phone(s: &str, region: Option<&str>) -> Option<String> {
    let trimmed = s.trim();
    let (plus, rest) = match trimmed.strip_prefix('+') {
        Some(r) => (true, r),
        None => (false, trimmed),
    };
    let mut digits = String::new();
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' | '/' => {}
            _ => return None,
        }
    }
    if !(6..=15).contains(&digits.len()) {
        return None;
    }
    let country = match (plus, region) {
        (true, _) => None,
        (false, Some(r)) => Some(r.parse::<phonenumber::country::Id>().ok()?),
        (false, None) => return Some(digits),
    };
    let text = if plus { format!("+{digits}") } else { digits };
    let number = phonenumber::parse(country, &text).ok()?;
    phonenumber::is_valid(&number)
        .then(|| number.format().mode(phonenumber::Mode::E164).to_string())
}

/// Whether `region` is a region code libphonenumber knows (`US`, `GB`, `DE`, …).
pub fn is_phone_region(region: &str) -> bool {
    region.parse::<phonenumber::country::Id>().is_ok()
}

fn contact_field(
    problems: &mut Problems,
    field: &str,
    mode: FieldMode,
    value: Option<String>,
    check: impl Fn(&str) -> Result<String, &'static str>,
) -> Option<Redacted<String>> {
    let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    match (mode, value) {
        (FieldMode::Required, None) => {
            problems.add(field, "is required");
            None
        }
        (FieldMode::Off, Some(_)) => {
            problems.add(field, "is not asked for by this form");
            None
        }
        (_, None) => None,
        (_, Some(v)) => match check(&v) {
            Ok(v) => Some(Redacted::new(v)),
            Err(why) => {
                problems.add(field, why);
                None
            }
        },
    }
}

impl Submission {
    /// Validates a request against the form's settings and the catalog.
    pub fn parse(
        req: IntakeRequest,
        form: &FormSettings,
        custom_markers: &[CustomMarker],
    ) -> Result<Submission, Vec<FieldProblem>> {
        let mut problems = Problems::new();
        let modes = form.contact_fields;
        let contact = Contact {
            name: contact_field(
                &mut problems,
                "contact.name",
                modes.name,
                req.contact.name,
                |v| {
                    if v.chars().count() > MAX_NAME_LEN {
                        Err("is too long (at most 200 characters)")
                    } else if v.chars().any(char::is_control) {
                        Err("must not contain control characters")
                    } else {
                        Ok(v.to_owned())
                    }
                },
            ),
            email: contact_field(
                &mut problems,
                "contact.email",
                modes.email,
                req.contact.email,
                |v| {
                    if is_plausible_email(v) {
                        Ok(v.to_owned())
                    } else {
                        Err("is not a valid email address")
                    }
                },
            ),
            phone: contact_field(
                &mut problems,
                "contact.phone",
                modes.phone,
                req.contact.phone,
                |v| {
                    normalize_phone(v, form.phone_region.as_deref()).ok_or(
                        "is not a valid phone number (include the country code, e.g. +44 20 7946 0958)",
                    )
                },
            ),
        };

        let sex = match req.sex.as_deref() {
            None => None,
            Some(s) => {
                let parsed = Sex::parse(s);
                if parsed.is_none() {
                    problems.add("sex", "must be \"female\" or \"male\"");
                }
                parsed
            }
        };

        let age = match req.age {
            None => None,
            Some(a) if (0..=MAX_AGE).contains(&a) => u8::try_from(a).ok(),
            Some(_) => {
                problems.add("age", format!("must be a whole number from 0 to {MAX_AGE}"));
                None
            }
        };

        if req.labs.len() > MAX_LABS {
            problems.add("labs", format!("at most {MAX_LABS} labs per submission"));
        }
        let mut labs: Vec<Lab> = Vec::with_capacity(req.labs.len().min(MAX_LABS));
        for (i, lab) in req.labs.iter().enumerate().take(MAX_LABS) {
            let key = lab.marker.trim();
            let marker = match catalog::find(key) {
                Some(m) => LabMarker::Catalog(m),
                None => match custom_markers
                    .iter()
                    .find(|c| c.id == key || c.loinc.as_deref() == Some(key))
                {
                    Some(c) => LabMarker::Custom(Box::new(c.clone())),
                    None => {
                        problems.add(
                            format!("labs[{i}].marker"),
                            "is not a marker this form accepts",
                        );
                        continue;
                    }
                },
            };
            if let Some(first) = labs.iter().position(|l| l.marker.id() == marker.id()) {
                problems.add(
                    format!("labs[{i}].marker"),
                    format!(
                        "{} appears more than once (also labs[{first}])",
                        marker.name()
                    ),
                );
                continue;
            }
            if !lab.value.is_finite() {
                problems.add(format!("labs[{i}].value"), "must be a finite number");
                continue;
            }
            let converted = match &marker {
                LabMarker::Catalog(m) => match m.unit(&lab.unit) {
                    // The unit as the patient typed it (it matched an accepted
                    // spelling), so the report shows what they submitted.
                    Some(u) => Ok((
                        lab.unit.trim().to_owned(),
                        u.conversion.to_range_unit(lab.value),
                        m.plausible_bounds(),
                        Some(m.range_unit().ucum),
                    )),
                    None => Err(m
                        .units
                        .iter()
                        .map(|u| u.display)
                        .collect::<Vec<_>>()
                        .join(", ")),
                },
                LabMarker::Custom(c) if c.accepts_unit(&lab.unit) => {
                    Ok((c.unit.clone(), lab.value, c.plausible, None))
                }
                LabMarker::Custom(c) => Err(c.unit.clone()),
            };
            let (unit, value, plausible, ucum) = match converted {
                Ok(v) => v,
                Err(accepted) => {
                    problems.add(
                        format!("labs[{i}].unit"),
                        format!(
                            "is not a unit {} is reported in (accepted: {accepted})",
                            marker.name()
                        ),
                    );
                    continue;
                }
            };
            if !value.is_finite() {
                problems.add(format!("labs[{i}].value"), "must be a finite number");
                continue;
            }
            if let Some(p) = plausible.filter(|p| !p.contains(value)) {
                let show =
                    |b: Option<f64>| b.map(|v| v.to_string()).unwrap_or_else(|| "any".to_owned());
                problems.add(
                    format!("labs[{i}].value"),
                    format!(
                        "is outside what is plausible for {} ({} to {}); check for a typo or the unit",
                        marker.name(),
                        show(p.low()),
                        show(p.high())
                    ),
                );
                continue;
            }
            labs.push(Lab {
                marker,
                value: lab.value,
                unit,
                range_value: round_sig(value),
                ucum,
            });
        }

        if req.symptoms.len() > MAX_SYMPTOMS {
            problems.add(
                "symptoms",
                format!("at most {MAX_SYMPTOMS} symptoms per submission"),
            );
        }
        let settings = form.symptoms.as_ref();
        let mut chosen: Vec<ChosenSymptom> = Vec::new();
        for (i, id) in req.symptoms.iter().enumerate().take(MAX_SYMPTOMS) {
            let offered = settings.is_none_or(|s| s.offered.iter().any(|o| o == id));
            let found = symptoms::find(id)
                .map(|s| ChosenSymptom {
                    id: s.id.to_owned(),
                    name: s.name.to_owned(),
                    systems: s.systems.to_vec(),
                })
                .or_else(|| {
                    settings?
                        .custom
                        .iter()
                        .find(|c| &c.id == id)
                        .map(|c| ChosenSymptom {
                            id: c.id.clone(),
                            name: c.name.clone(),
                            systems: c.systems.clone(),
                        })
                });
            match found.filter(|_| offered) {
                None => problems.add(
                    format!("symptoms[{i}]"),
                    "is not a symptom this form offers",
                ),
                Some(s) if chosen.iter().any(|c| c.id == s.id) => {
                    problems.add(format!("symptoms[{i}]"), "is listed more than once")
                }
                Some(s) => chosen.push(s),
            }
        }

        let consent = req.consent.unwrap_or(false);
        if form.consent_required && !consent {
            problems.add("consent", "must be given to submit this form");
        }

        let engagement = req.engagement.unwrap_or_default();
        problems.finish(|| Submission {
            contact,
            sex,
            age,
            labs,
            symptoms: chosen,
            consent,
            engagement,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::practitioner::{Branding, ContactFields};
    use serde_json::json;

    fn form() -> FormSettings {
        FormSettings {
            contact_fields: ContactFields::default(),
            consent_required: true,
            consent_text: "ok".into(),
            branding: Branding::default(),
            allowed_origins: vec![],
            phone_region: None,
            symptoms: None,
            consent_version: 1,
            call_to_action: None,
            accepting_submissions: true,
        }
    }

    fn parse(v: serde_json::Value) -> Result<Submission, Vec<FieldProblem>> {
        let req: IntakeRequest = serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"));
        Submission::parse(req, &form(), &[])
    }

    #[test]
    fn a_good_submission_parses() {
        let s = parse(json!({
            "contact": {"name": "Ann", "email": "ann@example.com", "phone": "+1 (201) 555-0123"},
            "sex": "female", "age": 42,
            "labs": [{"marker": "3016-3", "value": 3.1, "unit": "uIU/mL"}],
            "symptoms": ["fatigue"], "consent": true
        }))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(s.labs[0].marker.id(), "tsh");
        assert_eq!(
            s.contact.phone.as_ref().map(|p| p.expose().as_str()),
            Some("+12015550123")
        );
        assert_eq!(s.sex, Some(Sex::Female));
    }

    #[test]
    fn every_problem_is_reported_with_its_field_path() {
        let err = parse(json!({
            "contact": {"email": "not-an-email", "phone": "call me"},
            "sex": "other", "age": 200,
            "labs": [
                {"marker": "tsh", "value": 3.1, "unit": "mIU/L"},
                {"marker": "tsh", "value": 2.0, "unit": "mIU/L"},
                {"marker": "unobtainium", "value": 1.0, "unit": "mg/dL"},
                {"marker": "glucose_fasting", "value": 5.0, "unit": "ng/mL"},
                {"marker": "glucose_fasting", "value": 90000.0, "unit": "mg/dL"}
            ],
            "symptoms": ["fatigue", "levitation"],
            "consent": false
        }))
        .err()
        .unwrap_or_default();
        let fields: Vec<&str> = err.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "contact.name",
                "contact.email",
                "contact.phone",
                "sex",
                "age",
                "labs[1].marker",
                "labs[2].marker",
                "labs[3].unit",
                "labs[4].value",
                "symptoms[1]",
                "consent"
            ]
        );
    }

    #[test]
    fn problems_never_repeat_what_the_patient_typed() {
        let err = parse(json!({
            "contact": {"name": "x", "email": "CANARY@@nowhere", "phone": "CANARY-PHONE"},
            "labs": [{"marker": "tsh", "value": 987654.321, "unit": "mIU/L"}],
            "consent": true
        }))
        .err()
        .unwrap_or_default();
        let text = format!("{err:?}");
        assert!(
            !text.contains("CANARY") && !text.contains("987654"),
            "{text}"
        );
    }

    #[test]
    fn too_many_labs_are_refused() {
        let labs: Vec<_> = (0..101)
            .map(|_| json!({"marker": "tsh", "value": 1.0, "unit": "mIU/L"}))
            .collect();
        let err = parse(
            json!({"contact": {"name": "a", "email": "a@b.co"}, "labs": labs, "consent": true}),
        )
        .err()
        .unwrap_or_default();
        assert_eq!(err[0].field, "labs");
    }

    #[test]
    fn emails_and_phones() {
        assert!(is_plausible_email("a.b+c@mail.example.org"));
        for bad in ["a@b", "@b.co", "a b@c.co", "a@-b.co", "a@b..co"] {
            assert!(!is_plausible_email(bad), "{bad}");
        }
        let cases = [
            ("+44 20 7946 0958", None, Some("+442079460958")),
            ("+1 (201) 555-0123", None, Some("+12015550123")),
            ("(201) 555-0123", Some("US"), Some("+12015550123")),
            ("020 7946 0958", Some("GB"), Some("+442079460958")),
            ("030 901820", Some("DE"), Some("+4930901820")),
            ("(201) 555-0123", None, Some("2015550123")),
            ("+1 555 0100 7777", None, None),
            ("+0123456789", None, None),
            ("12ab", None, None),
            ("123", Some("US"), None),
        ];
        for (typed, region, want) in cases {
            assert_eq!(
                normalize_phone(typed, region).as_deref(),
                want,
                "{typed} {region:?}"
            );
        }
        assert!(is_phone_region("GB") && !is_phone_region("XX"));
    }
}
