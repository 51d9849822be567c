//! A patient's submission: the wire request, and its validation into a [`Submission`]
//! that downstream code never re-checks. Every problem is reported at once, each with
//! its field path, and no problem text repeats what the patient typed.

use super::catalog::{self, Marker, Sex, UnitDef};
use super::practitioner::{FieldMode, FormSettings};
use super::problems::{FieldProblem, Problems, Redacted};
use super::symptoms::{self, Symptom};
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
#[derive(Debug, Clone, Deserialize)]
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
}

/// Contact details as submitted. `Debug` never shows them.
#[derive(Clone, Default, Deserialize)]
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
#[derive(Clone, Deserialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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

/// A validated lab value.
#[derive(Clone)]
pub struct Lab {
    /// The marker.
    pub marker: &'static Marker,
    /// The value as typed.
    pub value: f64,
    /// The unit it was typed in.
    pub unit: &'static UnitDef,
}

impl fmt::Debug for Lab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lab")
            .field("marker", &self.marker.id)
            .finish_non_exhaustive()
    }
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
    pub symptoms: Vec<&'static Symptom>,
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

/// Normalises a phone number: separators go; `+` and 8 to 15 digits is E.164;
/// otherwise 6 to 15 digits are kept as a national number.
pub fn normalize_phone(s: &str) -> Option<String> {
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
    match (plus, digits.len()) {
        (true, 8..=15) if !digits.starts_with('0') => Some(format!("+{digits}")),
        (false, 6..=15) => Some(digits),
        _ => None,
    }
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
    pub fn parse(req: IntakeRequest, form: &FormSettings) -> Result<Submission, Vec<FieldProblem>> {
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
                    normalize_phone(v).ok_or("is not a valid phone number (digits, optionally starting with + and the country code)")
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
        let mut labs = Vec::with_capacity(req.labs.len().min(MAX_LABS));
        for (i, lab) in req.labs.iter().enumerate().take(MAX_LABS) {
            let Some(marker) = catalog::find(&lab.marker) else {
                problems.add(
                    format!("labs[{i}].marker"),
                    "is not a marker this form accepts",
                );
                continue;
            };
            if let Some(first) = labs.iter().position(|l: &Lab| l.marker.id == marker.id) {
                problems.add(
                    format!("labs[{i}].marker"),
                    format!(
                        "{} appears more than once (also labs[{first}])",
                        marker.name
                    ),
                );
                continue;
            }
            let Some(unit) = marker.unit(&lab.unit) else {
                let accepted: Vec<&str> = marker.units.iter().map(|u| u.display).collect();
                problems.add(
                    format!("labs[{i}].unit"),
                    format!(
                        "is not a unit {} is reported in (accepted: {})",
                        marker.name,
                        accepted.join(", ")
                    ),
                );
                continue;
            };
            let converted = unit.conversion.to_range_unit(lab.value);
            let (lo, hi) = marker.plausible;
            if !lab.value.is_finite() || !converted.is_finite() {
                problems.add(format!("labs[{i}].value"), "must be a finite number");
                continue;
            }
            if !(lo..=hi).contains(&converted) {
                let u = marker.range_unit().display;
                problems.add(
                    format!("labs[{i}].value"),
                    format!(
                        "is outside what is plausible for {} ({lo} to {hi} {u}); check for a typo or the unit",
                        marker.name
                    ),
                );
                continue;
            }
            labs.push(Lab {
                marker,
                value: lab.value,
                unit,
            });
        }

        if req.symptoms.len() > MAX_SYMPTOMS {
            problems.add(
                "symptoms",
                format!("at most {MAX_SYMPTOMS} symptoms per submission"),
            );
        }
        let mut chosen: Vec<&'static Symptom> = Vec::new();
        for (i, id) in req.symptoms.iter().enumerate().take(MAX_SYMPTOMS) {
            let offered = form
                .symptoms
                .as_ref()
                .is_none_or(|list| list.iter().any(|s| s == id));
            match symptoms::find(id).filter(|_| offered) {
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
            symptoms: None,
        }
    }

    fn parse(v: serde_json::Value) -> Result<Submission, Vec<FieldProblem>> {
        let req: IntakeRequest = serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"));
        Submission::parse(req, &form())
    }

    #[test]
    fn a_good_submission_parses() {
        let s = parse(json!({
            "contact": {"name": "Ann", "email": "ann@example.com", "phone": "+1 (555) 010-9999"},
            "sex": "female", "age": 42,
            "labs": [{"marker": "3016-3", "value": 3.1, "unit": "uIU/mL"}],
            "symptoms": ["fatigue"], "consent": true
        }))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(s.labs[0].marker.id, "tsh");
        assert_eq!(
            s.contact.phone.as_ref().map(|p| p.expose().as_str()),
            Some("+15550109999")
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
        assert_eq!(
            normalize_phone("+44 20 7946 0958").as_deref(),
            Some("+442079460958")
        );
        assert_eq!(
            normalize_phone("(555) 010-9999").as_deref(),
            Some("5550109999")
        );
        assert_eq!(normalize_phone("+0123456789"), None);
        assert_eq!(normalize_phone("12ab"), None);
    }
}
