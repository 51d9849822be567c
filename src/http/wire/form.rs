//! `GET /v1/forms/{slug}` on the wire: what the public form is answered, and the schema of
//! the domain's form layout (markers and symptom groups) it carries.

use super::markers::BodySystem;
use super::schema_of;
use crate::domain::practitioner::{Branding, CallToAction, ContactFields, Slug};
use serde::Serialize;
use utoipa::ToSchema;

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

/// One marker as the form offers it.
#[derive(ToSchema)]
#[schema(as = LayoutMarker)]
pub struct LayoutMarker {
    /// Id (catalog or the practitioner's own).
    pub id: String,
    /// LOINC code, if any.
    pub loinc: Option<String>,
    /// Other LOINC codes patients' reports print for it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Human name.
    pub name: String,
    /// Every unit it accepts, as printed on lab reports.
    pub units: Vec<String>,
    /// The unit the form preselects: the one the practice's ranges are kept in.
    pub unit: String,
    /// One plain-language line on what it measures (the practice's wording, if set).
    pub about: Option<String>,
}

/// Symptoms of one body system, in the practice's order.
#[derive(ToSchema)]
pub struct SymptomGroup {
    /// The body system.
    pub system: BodySystem,
    /// Its name for patients.
    pub label: &'static str,
    /// The symptoms offered under it.
    pub symptoms: Vec<LayoutSymptom>,
}

/// One symptom on the checklist.
#[derive(ToSchema)]
#[schema(as = FormSymptom)]
pub struct LayoutSymptom {
    /// Id.
    pub id: String,
    /// Human name.
    pub name: String,
}

schema_of! {
    crate::domain::form::FormMarker => LayoutMarker,
    crate::domain::form::SymptomGroup => SymptomGroup,
    crate::domain::form::FormSymptom => LayoutSymptom,
}
