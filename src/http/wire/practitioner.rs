//! The practitioner on the wire: the bodies of `POST /v1/practitioners` and `PATCH
//! /v1/practitioner` (into the domain's [`NewPractitioner`] and [`PractitionerPatch`]),
//! the practitioner and its consent versions as answered, and the schema of the record
//! and its settings.

use super::markers::SymptomSettings;
use super::schema_of;
use crate::delivery::payload::rfc3339;
use crate::domain::ids::ApiKeyId;
use crate::domain::practitioner::NewPractitioner;
use crate::domain::settings::PractitionerPatch;
use serde::Serialize;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// The practitioner as shown to its own keys and the operator.
#[derive(Debug, Serialize, ToSchema)]
pub struct PractitionerView {
    /// Id (`prac_…`).
    pub id: crate::domain::ids::PractitionerId,
    /// Public form handle.
    pub slug: crate::domain::practitioner::Slug,
    /// Practice name.
    pub practice_name: String,
    /// Doctor's name.
    pub doctor_name: String,
    /// Practice contact email.
    pub email: String,
    /// Practice website.
    pub website_url: String,
    /// Contact fields the form asks for.
    pub contact_fields: crate::domain::practitioner::ContactFields,
    /// Whether the patient must consent.
    pub consent_required: bool,
    /// Consent wording.
    pub consent_text: String,
    /// Branding.
    pub branding: crate::domain::practitioner::Branding,
    /// Origins allowed to embed the form.
    pub allowed_origins: Vec<String>,
    /// Version of the consent wording (carried by each webhook).
    pub consent_version: u32,
    /// The button shown after the report.
    pub call_to_action: Option<crate::domain::practitioner::CallToAction>,
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
    pub status: crate::domain::practitioner::AccountStatus,
    /// When the account will be erased, if scheduled (RFC 3339).
    pub erase_at: Option<String>,
    /// Raised on every change; the `ETag` is `"v{version}"`.
    pub version: u64,
    /// When the account was created (RFC 3339).
    pub created_at: String,
}

impl From<&crate::domain::practitioner::Practitioner> for PractitionerView {
    fn from(p: &crate::domain::practitioner::Practitioner) -> Self {
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
    pub fn new(v: &crate::domain::practitioner::ConsentVersion) -> ConsentVersionView {
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

/// Body of `POST /v1/practitioners`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPractitionerRequest {
    /// Practice name.
    pub practice_name: String,
    /// Doctor's name.
    pub doctor_name: String,
    /// Practice contact email.
    pub email: String,
    /// Practice website (`https://…`).
    pub website_url: String,
    /// Desired slug; derived from the practice name when absent.
    #[serde(default)]
    pub slug: Option<String>,
    /// Default region for patients' phone numbers (`US`, `GB`, …).
    #[serde(default)]
    pub phone_region: Option<String>,
}

/// Body of `PATCH /v1/practitioner`: every field optional; absent fields are unchanged.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PractitionerPatch)]
pub struct PractitionerPatchRequest {
    /// Practice name.
    #[serde(default)]
    pub practice_name: Option<String>,
    /// Doctor's name.
    #[serde(default)]
    pub doctor_name: Option<String>,
    /// Practice contact email.
    #[serde(default)]
    pub email: Option<String>,
    /// Practice website.
    #[serde(default)]
    pub website_url: Option<String>,
    /// Branding (replaced as a whole).
    #[serde(default)]
    pub branding: Option<crate::domain::practitioner::Branding>,
    /// Contact fields (replaced as a whole).
    #[serde(default)]
    pub contact_fields: Option<crate::domain::practitioner::ContactFields>,
    /// Whether consent is required.
    #[serde(default)]
    pub consent_required: Option<bool>,
    /// Consent wording (a change raises the consent version).
    #[serde(default)]
    pub consent_text: Option<String>,
    /// Call to action; `null` removes it.
    #[serde(default, deserialize_with = "nullable")]
    pub call_to_action: Option<Option<crate::domain::practitioner::CallToAction>>,
    /// Origins allowed to embed the form (replaced as a whole).
    #[serde(default)]
    pub allowed_origins: Option<Vec<String>>,
    /// Default phone region; `null` removes it.
    #[serde(default, deserialize_with = "nullable")]
    pub phone_region: Option<Option<String>>,
    /// Restriction: `false` pauses the form (nothing is accepted or queued).
    #[serde(default)]
    pub accepting_submissions: Option<bool>,
    /// Markers the form lists, in order: catalog ids, LOINC codes or the practice's own
    /// marker ids (stored as ids). `null` restores the default list.
    #[serde(default, deserialize_with = "nullable")]
    pub form_markers: Option<Option<Vec<String>>>,
    /// The practice's own one-line explanation of markers, by marker (replaced as a
    /// whole; `null` or `{}` removes them all).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub marker_notes: Option<Option<BTreeMap<String, String>>>,
    /// The note shown with every report; `null` restores the default.
    #[serde(default, deserialize_with = "nullable")]
    pub disclaimer: Option<Option<String>>,
}

/// Lets a field tell "absent" (`None`) from "set to null" (`Some(None)`).
fn nullable<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl From<NewPractitionerRequest> for NewPractitioner {
    fn from(r: NewPractitionerRequest) -> Self {
        NewPractitioner {
            practice_name: r.practice_name,
            doctor_name: r.doctor_name,
            email: r.email,
            website_url: r.website_url,
            slug: r.slug,
            phone_region: r.phone_region,
        }
    }
}

impl From<PractitionerPatchRequest> for PractitionerPatch {
    fn from(r: PractitionerPatchRequest) -> Self {
        PractitionerPatch {
            practice_name: r.practice_name,
            doctor_name: r.doctor_name,
            email: r.email,
            website_url: r.website_url,
            branding: r.branding,
            contact_fields: r.contact_fields,
            consent_required: r.consent_required,
            consent_text: r.consent_text,
            call_to_action: r.call_to_action,
            allowed_origins: r.allowed_origins,
            phone_region: r.phone_region,
            accepting_submissions: r.accepting_submissions,
            form_markers: r.form_markers,
            marker_notes: r.marker_notes,
            disclaimer: r.disclaimer,
        }
    }
}

/// A practitioner (a practice's account).
#[derive(ToSchema)]
#[serde(transparent)]
pub struct PractitionerId(pub String);

/// A URL-safe, unique practice handle used by the public form (`/v1/forms/{slug}`).
#[derive(ToSchema)]
#[serde(transparent)]
pub struct Slug(pub String);

/// Whether the form asks for a contact field.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldMode {
    /// The patient must fill it in.
    Required,
    /// The patient may fill it in.
    Optional,
    /// The form does not ask for it; a submitted value is refused.
    Off,
}

/// Which contact fields the form asks for.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactFields {
    /// Patient's name.
    pub name: FieldMode,
    /// Patient's email.
    pub email: FieldMode,
    /// Patient's phone.
    pub phone: FieldMode,
}

/// The practice's branding on the form.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Branding {
    /// Logo image URL (`https://…`).
    #[serde(default)]
    pub logo_url: Option<String>,
    /// Primary colour (`#RGB` or `#RRGGBB`).
    #[serde(default)]
    pub primary_color: Option<String>,
    /// Secondary colour (`#RGB` or `#RRGGBB`).
    #[serde(default)]
    pub secondary_color: Option<String>,
}

/// The button the form shows after the report.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallToAction {
    /// Button label ("Book a consultation").
    pub label: String,
    /// Where it leads (`https://…`).
    pub url: String,
}

/// Whether an account may be used.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// In use.
    Active,
    /// Suspended by the operator: keys are refused and the form takes nothing.
    Suspended,
}

/// One version of a practice's consent wording. Every version is kept for as long as
/// the practice is, so the practice can show what a patient agreed to: each webhook
/// names the version and the SHA-256 of its text.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentVersion {
    /// The version (`consent_version` while this wording was current).
    pub version: u32,
    /// The wording, exactly as the form showed it.
    pub text: String,
    /// When this wording became current (for wording older than the record of
    /// versions: when it was first recorded).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// What the public form shows and requires.
#[derive(ToSchema)]
pub struct FormSettings {
    /// Contact fields asked for.
    pub contact_fields: ContactFields,
    /// Whether the patient must consent before submitting.
    pub consent_required: bool,
    /// Consent wording.
    pub consent_text: String,
    /// Version of the consent wording, raised each time it changes; each webhook
    /// carries the version the patient agreed to.
    #[serde(default = "one")]
    pub consent_version: u32,
    /// Branding.
    pub branding: Branding,
    /// The button shown after the report.
    #[serde(default)]
    pub call_to_action: Option<CallToAction>,
    /// Whether the form takes submissions (false: restricted by the practitioner).
    #[serde(default = "yes")]
    pub accepting_submissions: bool,
    /// Origins allowed to embed the form.
    pub allowed_origins: Vec<String>,
    /// Region whose national phone numbers the form accepts without a country code
    /// (`US`, `GB`, …); `None`: numbers without `+` are kept as digits.
    #[serde(default)]
    pub phone_region: Option<String>,
    /// Symptoms the form offers and the practitioner's own; `None` offers the whole
    /// catalog.
    pub symptoms: Option<SymptomSettings>,
    /// Markers the form lists, in display order (catalog ids or the practice's own
    /// marker ids); `None`: the default list.
    #[serde(default)]
    pub form_markers: Option<Vec<String>>,
    /// The practice's own one-line explanation of a marker, by marker id, shown instead
    /// of the catalog's.
    #[serde(default)]
    pub marker_notes: BTreeMap<String, String>,
    /// The note shown with the report; `None`: [`DEFAULT_DISCLAIMER`].
    #[serde(default)]
    pub disclaimer: Option<String>,
}

/// A practice's account.
#[derive(ToSchema)]
pub struct Practitioner {
    /// Id.
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
    /// Form settings.
    pub settings: FormSettings,
    /// When the account was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Suspended by the operator or not.
    #[serde(default)]
    pub status: AccountStatus,
    /// When the account and everything about it will be erased, if scheduled.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub erase_at: Option<OffsetDateTime>,
    /// Raised on every change; the `ETag` of the settings.
    #[serde(default)]
    pub version: u64,
}

schema_of! {
    crate::domain::ids::PractitionerId => PractitionerId,
    crate::domain::practitioner::Slug => Slug,
    crate::domain::practitioner::FieldMode => FieldMode,
    crate::domain::practitioner::ContactFields => ContactFields,
    crate::domain::practitioner::Branding => Branding,
    crate::domain::practitioner::CallToAction => CallToAction,
    crate::domain::practitioner::AccountStatus => AccountStatus,
    crate::domain::practitioner::ConsentVersion => ConsentVersion,
    crate::domain::practitioner::FormSettings => FormSettings,
    crate::domain::practitioner::Practitioner => Practitioner,
}
