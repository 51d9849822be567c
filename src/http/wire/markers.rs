//! Markers and symptoms on the wire: the bodies of `PUT /v1/markers/{id}` and
//! `PUT /v1/symptoms` (into the domain's drafts), a marker with its effective ranges as
//! answered, and the schema of a practitioner's own markers and symptoms.

use super::ranges::RangeView;
use super::ranges::{Bounds, BoundsDto, RangeMessages};
use super::schema_of;
use crate::domain::catalog;
use crate::domain::custom::{CustomMarkerDraft, SymptomSettingsDraft};
use crate::domain::ranges::RangeSource;
use serde::Deserialize;
use serde::Serialize;
use utoipa::ToSchema;

/// A marker with this practitioner's effective ranges.
#[derive(Debug, Serialize, ToSchema)]
pub struct MarkerView {
    /// Id (catalog or the practitioner's own).
    pub id: String,
    /// LOINC code, if any.
    pub loinc: Option<String>,
    /// Human name.
    pub name: String,
    /// The unit ranges are kept and judged in.
    pub unit: String,
    /// Every unit a value may be given in, converted to `unit`; other spellings of the
    /// same unit are accepted too (`µIU/mL` and `mU/L` for TSH's `mIU/L`, `mcg/dL` for
    /// `µg/dL`) and are not listed.
    pub units: Vec<String>,
    /// Whether it is the practitioner's own.
    pub custom: bool,
    /// Plausibility bounds (own markers only; present, possibly `null`, for those).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::domain::ranges::Bounds>)]
    pub plausible: Option<Option<crate::domain::ranges::Bounds>>,
    /// Body systems it bears on.
    pub systems: Vec<crate::domain::catalog::BodySystem>,
    /// One plain-language line for patients: the catalog's, or the practice's own
    /// marker's (a note in `marker_notes` is shown instead on the form).
    pub about: Option<String>,
    /// Effective ranges: for everyone, then per sex where they differ.
    pub ranges: Vec<RangeView>,
}

impl MarkerView {
    /// A catalog marker with its effective ranges.
    pub fn catalog(m: &catalog::Marker, ranges: Vec<RangeView>) -> MarkerView {
        MarkerView {
            id: m.id.to_owned(),
            loinc: Some(m.loinc.to_owned()),
            name: m.name.to_owned(),
            unit: m.range_unit().display.to_owned(),
            units: m.units.iter().map(|u| u.display.to_owned()).collect(),
            custom: false,
            plausible: None,
            systems: m.systems.to_vec(),
            about: Some(m.about.to_owned()),
            ranges,
        }
    }
}

impl From<&crate::domain::custom::CustomMarker> for MarkerView {
    fn from(c: &crate::domain::custom::CustomMarker) -> Self {
        MarkerView {
            id: c.id.clone(),
            loinc: c.loinc.clone(),
            name: c.name.clone(),
            unit: c.unit.clone(),
            units: vec![c.unit.clone()],
            custom: true,
            plausible: Some(c.plausible),
            systems: c.systems.clone(),
            about: c.about.clone(),
            ranges: vec![RangeView {
                marker: c.id.clone(),
                loinc: c.loinc.clone(),
                sex: None,
                unit: c.unit.clone(),
                standard: c.standard,
                optimal: c.optimal,
                messages: c.messages.clone(),
                source: RangeSource::Practitioner,
            }],
        }
    }
}

/// Body of `PUT /v1/markers/{id}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomMarkerRequest {
    /// Human name.
    pub name: String,
    /// The one unit values are typed and judged in.
    pub unit: String,
    /// LOINC code, if the test has one.
    #[serde(default)]
    pub loinc: Option<String>,
    /// Optimal range.
    pub optimal: BoundsDto,
    /// Standard (reference) range, if any.
    #[serde(default)]
    pub standard: Option<BoundsDto>,
    /// Values outside these bounds are refused as typos.
    #[serde(default)]
    pub plausible: Option<BoundsDto>,
    /// The practitioner's wording.
    #[serde(default)]
    pub messages: Option<crate::domain::ranges::RangeMessages>,
    /// Body systems the marker bears on.
    #[serde(default)]
    pub systems: Vec<crate::domain::catalog::BodySystem>,
    /// One plain-language line telling patients what the test measures (at most 140
    /// characters).
    #[serde(default)]
    pub about: Option<String>,
}

/// Body of `PUT /v1/symptoms`: which symptoms the form offers, and the practitioner's own.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SymptomSettingsRequest {
    /// Ids offered on the form, in display order (catalog or own).
    pub offered: Vec<String>,
    /// The practitioner's own symptoms.
    #[serde(default)]
    pub custom: Vec<crate::domain::custom::CustomSymptom>,
}

impl From<CustomMarkerRequest> for CustomMarkerDraft {
    fn from(r: CustomMarkerRequest) -> Self {
        CustomMarkerDraft {
            name: r.name,
            unit: r.unit,
            loinc: r.loinc,
            optimal: r.optimal.into(),
            standard: r.standard.map(Into::into),
            plausible: r.plausible.map(Into::into),
            messages: r.messages,
            systems: r.systems,
            about: r.about,
        }
    }
}

impl From<SymptomSettingsRequest> for SymptomSettingsDraft {
    fn from(r: SymptomSettingsRequest) -> Self {
        SymptomSettingsDraft {
            offered: r.offered,
            custom: r.custom,
        }
    }
}

/// A body system that markers and symptoms bear on.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BodySystem {
    /// Thyroid function.
    Thyroid,
    /// Adrenal / stress response.
    Adrenal,
    /// Blood sugar regulation.
    BloodSugar,
    /// Iron status.
    Iron,
    /// Digestion and the gut.
    Gut,
    /// Sex hormones.
    SexHormones,
    /// Inflammation.
    Inflammation,
    /// Vitamins and minerals.
    Nutrients,
    /// Immune function.
    Immune,
    /// Sleep, mood and cognition.
    Neuro,
    /// Cholesterol and triglycerides (cardiometabolic risk).
    Lipids,
    /// Liver function.
    Liver,
    /// Kidney function.
    Kidney,
    /// Blood cells (haemoglobin, white cells, platelets).
    Blood,
}

/// A practitioner's own marker.
#[derive(ToSchema)]
pub struct CustomMarker {
    /// Id (unique among the catalog's ids and LOINC codes and the practitioner's own).
    pub id: String,
    /// Human name.
    pub name: String,
    /// Unit.
    pub unit: String,
    /// LOINC code.
    pub loinc: Option<String>,
    /// Optimal range.
    pub optimal: Bounds,
    /// Standard range.
    pub standard: Option<Bounds>,
    /// Plausibility bounds.
    pub plausible: Option<Bounds>,
    /// Wording.
    pub messages: RangeMessages,
    /// Body systems.
    pub systems: Vec<BodySystem>,
    /// One plain-language line for patients; `None`: the form shows none.
    #[serde(default)]
    pub about: Option<String>,
}

/// A practitioner's own symptom.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomSymptom {
    /// Id (unique among catalog and own symptoms).
    pub id: String,
    /// Human name.
    pub name: String,
    /// Body systems it bears on.
    #[serde(default)]
    pub systems: Vec<BodySystem>,
}

/// Validated symptom settings.
#[derive(ToSchema)]
pub struct SymptomSettings {
    /// Ids offered, in display order.
    pub offered: Vec<String>,
    /// Own symptoms.
    pub custom: Vec<CustomSymptom>,
}

/// One symptom as listed to a practitioner or shown on the form.
#[derive(ToSchema)]
pub struct SymptomView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Body systems.
    pub systems: Vec<BodySystem>,
    /// Catalog markers that bear on it.
    pub markers: Vec<String>,
    /// Whether it is the practitioner's own.
    pub custom: bool,
    /// Whether the form offers it.
    pub offered: bool,
}

schema_of! {
    crate::domain::catalog::BodySystem => BodySystem,
    crate::domain::custom::CustomMarker => CustomMarker,
    crate::domain::custom::CustomSymptom => CustomSymptom,
    crate::domain::custom::SymptomSettings => SymptomSettings,
    crate::domain::custom::SymptomView => SymptomView,
}
