//! Ranges on the wire: the body of `PUT /v1/ranges/{marker}` (into the domain's
//! [`RangeDraft`]), an effective range as answered, and the schema of the domain's range
//! values.

use super::schema_of;
use crate::domain::catalog;
use crate::domain::ranges::{BoundsDraft, RangeDraft};
use serde::Deserialize;
use serde::Serialize;
use utoipa::ToSchema;

/// One effective range of a marker.
#[derive(Debug, Serialize, ToSchema)]
pub struct RangeView {
    /// Marker id.
    pub marker: String,
    /// LOINC code, if any.
    pub loinc: Option<String>,
    /// Population (`null`: everyone).
    pub sex: Option<crate::domain::catalog::Sex>,
    /// The range's unit.
    pub unit: String,
    /// Standard (reference) range.
    pub standard: Option<crate::domain::ranges::Bounds>,
    /// Optimal range.
    pub optimal: crate::domain::ranges::Bounds,
    /// The practitioner's wording per zone.
    pub messages: crate::domain::ranges::RangeMessages,
    /// Catalog default or the practitioner's own.
    pub source: crate::domain::ranges::RangeSource,
}

impl RangeView {
    /// A catalog marker's effective range.
    pub fn new(marker: &catalog::Marker, r: &crate::domain::ranges::EffectiveRange) -> RangeView {
        RangeView {
            marker: marker.id.to_owned(),
            loinc: Some(marker.loinc.to_owned()),
            sex: r.sex,
            unit: r.unit.clone(),
            standard: r.standard,
            optimal: r.optimal,
            messages: r.messages.clone(),
            source: r.source,
        }
    }
}

/// Body of `PUT /v1/ranges/{marker}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RangeRequest {
    /// Unit the bounds are given in; any unit the marker accepts.
    pub unit: String,
    /// Optimal range.
    pub optimal: BoundsDto,
    /// Standard (reference) range; the catalog default when absent.
    #[serde(default)]
    pub standard: Option<BoundsDto>,
    /// Only for patients of this sex; everyone when absent.
    #[serde(default)]
    pub sex: Option<crate::domain::catalog::Sex>,
    /// The practitioner's wording.
    #[serde(default)]
    pub messages: Option<crate::domain::ranges::RangeMessages>,
}

/// Wire form of a range: `low`, `high`, or both (a missing or null end is open).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BoundsDto {
    /// Lower bound.
    #[serde(default)]
    pub low: Option<f64>,
    /// Upper bound.
    #[serde(default)]
    pub high: Option<f64>,
}

impl From<BoundsDto> for BoundsDraft {
    fn from(b: BoundsDto) -> Self {
        BoundsDraft {
            low: b.low,
            high: b.high,
        }
    }
}

impl From<RangeRequest> for RangeDraft {
    fn from(r: RangeRequest) -> Self {
        RangeDraft {
            unit: r.unit,
            optimal: r.optimal.into(),
            standard: r.standard.map(Into::into),
            sex: r.sex,
            messages: r.messages,
        }
    }
}

/// An interval of finite numbers, `low ≤ high`, either end of which may be open
/// (`None`: no bound on that side, e.g. folate has no upper reference limit). At least
/// one end is set.
#[derive(ToSchema)]
pub struct Bounds {
    pub low: Option<f64>,
    pub high: Option<f64>,
}

/// A practitioner's own wording for each side of the optimal range.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RangeMessages {
    /// Shown when the value is below optimal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low: Option<String>,
    /// Shown when the value is optimal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimal: Option<String>,
    /// Shown when the value is above optimal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high: Option<String>,
}

/// A practitioner's override of one marker's ranges, stored in the range unit.
#[derive(ToSchema)]
pub struct RangeOverride {
    /// Catalog id of the marker.
    pub marker: String,
    /// Population the override applies to (`None`: everyone).
    pub sex: Option<Sex>,
    /// Optimal range in the marker's range unit.
    pub optimal: Bounds,
    /// Standard range in the marker's range unit, if the practitioner set one.
    pub standard: Option<Bounds>,
    /// The practitioner's wording.
    pub messages: RangeMessages,
}

/// Where an effective range came from.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RangeSource {
    /// The catalog's default.
    Default,
    /// The practitioner's override.
    Practitioner,
}

/// The ranges a value is judged against, in the marker's range unit.
#[derive(ToSchema)]
pub struct EffectiveRange {
    /// Range unit.
    pub unit: String,
    /// Population (`None`: everyone).
    pub sex: Option<Sex>,
    /// Standard range (`None` only for a practitioner's custom marker without one).
    pub standard: Option<Bounds>,
    /// Optimal range.
    pub optimal: Bounds,
    /// The practitioner's wording.
    #[serde(skip_serializing_if = "is_default_messages")]
    pub messages: RangeMessages,
    /// Default or practitioner.
    pub source: RangeSource,
}

/// Where a value sits.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Zone {
    /// Strictly below the standard range's low bound.
    BelowStandard,
    /// Below optimal, within the standard range.
    BelowOptimal,
    /// Within the optimal range, bounds included.
    Optimal,
    /// Above optimal, within the standard range.
    AboveOptimal,
    /// Strictly above the standard range's high bound.
    AboveStandard,
}

/// Sex as used for sex-specific ranges.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    /// Female reference population.
    Female,
    /// Male reference population.
    Male,
}

schema_of! {
    crate::domain::ranges::Bounds => Bounds,
    crate::domain::ranges::RangeMessages => RangeMessages,
    crate::domain::ranges::RangeOverride => RangeOverride,
    crate::domain::ranges::RangeSource => RangeSource,
    crate::domain::ranges::EffectiveRange => EffectiveRange,
    crate::domain::ranges::Zone => Zone,
    crate::domain::catalog::Sex => Sex,
}
