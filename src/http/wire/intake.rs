//! `POST /v1/intake/{slug}` on the wire: the schema of its body (read field by field by
//! [`crate::http::extract::parse_intake`], so that every problem is reported at once),
//! the answer, and the schema of the gap report it carries.

use super::markers::BodySystem;
use super::ranges::{Bounds, Zone};
use super::schema_of;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A queued submission and the patient's report.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntakeAccepted {
    /// Id (`sub_…`).
    pub submission_id: crate::domain::ids::SubmissionId,
    /// The gap report.
    pub report: crate::domain::report::Report,
}

/// Body of `POST /v1/intake/{slug}`. Every problem is reported at once, fields of the
/// wrong JSON type included (422, one detail per field); a field not listed here is
/// refused (400, naming each).
#[derive(ToSchema)]
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
    /// Where the form was filled in: the page it was embedded on and the page's UTM
    /// parameters. Forwarded to the practice's endpoints, never logged.
    #[serde(default)]
    pub source: Option<SourceRequest>,
    /// The token from `GET /v1/forms/{slug}` (`form_token`), which dates when the form
    /// was loaded; forms send it back unchanged.
    #[serde(default)]
    pub form_token: Option<String>,
    /// A honeypot: the form renders it as an input people never see (hidden, no
    /// autofill) and sends whatever it holds. Must be absent or empty.
    #[serde(default)]
    pub honeypot: Option<String>,
    /// Fields of the wrong JSON type, found while reading the body (not part of it).
    #[serde(skip)]
    pub problems: Vec<FieldProblem>,
}

/// Contact details as submitted. `Debug` never shows them.
#[derive(ToSchema)]
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

/// A lab value as submitted: a JSON number, or the text printed on the lab report
/// (`"5,2"`, `" 5.2 "`, `"<0.5"`, `">1000"`).
#[derive(ToSchema)]
#[serde(untagged)]
pub enum LabValueRequest {
    /// A number.
    Number(f64),
    /// Text as printed: a decimal point or comma, spaces around it, and `<`, `>`, `<=`,
    /// `>=`, `≤` or `≥` before a censored result; no thousands separators.
    Text(String),
}

/// One lab as submitted; all three fields are required. `Debug` never shows the value.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabRequest {
    /// Catalog id or LOINC code.
    #[schema(required, value_type = String)]
    pub marker: Option<String>,
    /// The value as printed: a number, or text such as `"5,2"` or `"<0.5"`.
    #[schema(required, value_type = LabValueRequest)]
    pub value: Option<LabValueRequest>,
    /// The unit as printed.
    #[schema(required, value_type = String)]
    pub unit: Option<String>,
}

/// Engagement signals from the form.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Engagement {
    /// Seconds the patient spent on the form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_on_tool_s: Option<u64>,
}

/// `source` in the intake body, as submitted. `Debug` never shows it.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceRequest {
    /// The absolute `http`/`https` URL of the page the form was on (at most 2048
    /// characters); its query and fragment are dropped.
    #[serde(default)]
    pub page_url: Option<String>,
    /// The page's UTM parameters.
    #[serde(default)]
    pub utm: Option<UtmRequest>,
}

/// UTM parameters as submitted, without their `utm_` prefix; each at most 200
/// characters. `Debug` never shows them.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UtmRequest {
    /// `utm_source`.
    #[serde(default)]
    pub source: Option<String>,
    /// `utm_medium`.
    #[serde(default)]
    pub medium: Option<String>,
    /// `utm_campaign`.
    #[serde(default)]
    pub campaign: Option<String>,
    /// `utm_term`.
    #[serde(default)]
    pub term: Option<String>,
    /// `utm_content`.
    #[serde(default)]
    pub content: Option<String>,
}

/// The value as the patient typed it.
#[derive(ToSchema)]
pub struct Input {
    /// Value as typed (a decimal comma read as a point); for a censored result such as
    /// `<0.5`, its bound.
    pub value: f64,
    /// Unit as accepted (its canonical spelling).
    pub unit: String,
    /// `<` or `>` for a censored result (a value below or above what the lab could
    /// measure), which is judged as if it were at its bound. Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qualifier: Option<Qualifier>,
}

/// One judged lab.
#[derive(ToSchema)]
pub struct LabResult {
    /// Marker id (catalog or the practitioner's own).
    pub marker: String,
    /// LOINC code (`null` for a custom marker without one).
    pub loinc: Option<String>,
    /// Human name.
    pub name: String,
    /// Value in the range's unit (for a censored result, its bound converted).
    pub value: f64,
    /// The range's unit.
    pub unit: String,
    /// As submitted.
    pub input: Input,
    /// Standard range (`null` only for a custom marker without one).
    pub standard: Option<Bounds>,
    /// Optimal range.
    pub optimal: Bounds,
    /// Where the value sits.
    pub zone: Zone,
    /// Distance to the nearest optimal bound, 0 inside.
    pub gap: f64,
    /// The practitioner's wording for the zone, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One selected symptom.
#[derive(ToSchema)]
pub struct SymptomResult {
    /// Symptom id.
    pub id: String,
    /// Human name.
    pub name: String,
    /// Body systems it bears on.
    pub systems: Vec<BodySystem>,
}

/// What points to one body system.
#[derive(ToSchema)]
pub struct SystemSummary {
    /// The body system.
    pub system: BodySystem,
    /// How much attention it needs: 3 per marker outside the standard range, 1 per
    /// marker outside optimal but within standard, 1 per symptom.
    pub attention: u32,
    /// Ids of its markers that are out of optimal, in submission order.
    pub markers: Vec<String>,
    /// Ids of the selected symptoms that point to it, in submission order.
    pub symptoms: Vec<String>,
}

/// Counts and per-system attention.
#[derive(ToSchema)]
pub struct Summary {
    /// Number of labs.
    pub labs: usize,
    /// Labs per zone (every zone present, zero included).
    pub zones: BTreeMap<&'static str, usize>,
    /// Labs outside optimal.
    pub out_of_optimal: usize,
    /// Body systems with out-of-optimal markers or symptoms, most attention first
    /// (ties in catalog order of the systems).
    pub systems: Vec<SystemSummary>,
}

/// The report shown to the patient and forwarded to the practitioner.
#[derive(ToSchema)]
pub struct Report {
    /// One entry per lab, in submission order.
    pub labs: Vec<LabResult>,
    /// Selected symptoms, in submission order.
    pub symptoms: Vec<SymptomResult>,
    /// Summary.
    pub summary: Summary,
}

/// Which side of a detection limit a censored result lies on.
#[derive(ToSchema)]
pub enum Qualifier {
    /// Below the limit (`<0.5`, also `<=`/`≤`, which a report prints for the same thing).
    #[serde(rename = "<")]
    Below,
    /// Above the limit (`>1000`, also `>=`/`≥`).
    #[serde(rename = ">")]
    Above,
}

/// One patient submission (shared by all the messages it fans out to).
#[derive(ToSchema)]
#[serde(transparent)]
pub struct SubmissionId(pub String);

/// One thing wrong with one field of a request body.
#[derive(ToSchema)]
pub struct FieldProblem {
    /// Path of the field in the request body, e.g. `labs[1].unit`.
    pub field: String,
    /// What is wrong, without echoing the value.
    pub problem: String,
}

schema_of! {
    crate::domain::submission::Engagement => Engagement,
    crate::domain::report::Input => Input,
    crate::domain::report::LabResult => LabResult,
    crate::domain::report::SymptomResult => SymptomResult,
    crate::domain::report::SystemSummary => SystemSummary,
    crate::domain::report::Summary => Summary,
    crate::domain::report::Report => Report,
    crate::domain::lab_value::Qualifier => Qualifier,
    crate::domain::ids::SubmissionId => SubmissionId,
    crate::domain::problems::FieldProblem => FieldProblem,
}
