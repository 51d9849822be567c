//! The biomarker catalog: each marker's identity (short id and LOINC code), the unit
//! its ranges are kept in, every unit a patient may type with its exact conversion,
//! plausibility bounds and the default ranges, each naming its source.
//!
//! This is the minimal catalog of the walking skeleton (TSH, fasting glucose,
//! vitamin D); docs/clinical-model.md lists the sources of every figure.

mod markers;

use super::bounds::Bounds;
use serde::{Deserialize, Serialize};

/// Sex as used for sex-specific ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    /// Female reference population.
    Female,
    /// Male reference population.
    Male,
}

impl Sex {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Female => "female",
            Sex::Male => "male",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Sex> {
        match s {
            "female" => Some(Sex::Female),
            "male" => Some(Sex::Male),
            _ => None,
        }
    }
}

/// A body system that markers and symptoms bear on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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

impl BodySystem {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            BodySystem::Thyroid => "thyroid",
            BodySystem::Adrenal => "adrenal",
            BodySystem::BloodSugar => "blood_sugar",
            BodySystem::Iron => "iron",
            BodySystem::Gut => "gut",
            BodySystem::SexHormones => "sex_hormones",
            BodySystem::Inflammation => "inflammation",
            BodySystem::Nutrients => "nutrients",
            BodySystem::Immune => "immune",
            BodySystem::Neuro => "neuro",
            BodySystem::Lipids => "lipids",
            BodySystem::Liver => "liver",
            BodySystem::Kidney => "kidney",
            BodySystem::Blood => "blood",
        }
    }
}

/// How a value typed in one unit becomes a value in the range's unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Conversion {
    /// Multiply by this factor (the unit's value times the factor is the range-unit value).
    Factor(f64),
    /// `range = value × scale + offset`, for conversions that are not proportional
    /// (HbA1c: NGSP % = IFCC mmol/mol ÷ 10.929 + 2.15). `scale` is positive.
    Affine {
        /// Multiplier.
        scale: f64,
        /// Added after multiplying.
        offset: f64,
    },
}

impl Conversion {
    /// Converts a value in this unit to the range's unit.
    pub fn to_range_unit(self, value: f64) -> f64 {
        match self {
            Conversion::Factor(f) => value * f,
            Conversion::Affine { scale, offset } => value * scale + offset,
        }
    }

    /// Converts a value in the range's unit back to this unit.
    pub fn from_range_unit(self, value: f64) -> f64 {
        match self {
            Conversion::Factor(f) => value / f,
            Conversion::Affine { scale, offset } => (value - offset) / scale,
        }
    }
}

/// A unit a marker accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnitDef {
    /// The unit as displayed (`mg/dL`).
    pub display: &'static str,
    /// The UCUM code, for FHIR (`mg/dL`, `m[IU]/L`).
    pub ucum: &'static str,
    /// Other spellings patients type, compared after [`normalize_unit`].
    pub aliases: &'static [&'static str],
    /// The conversion to the marker's range unit.
    pub conversion: Conversion,
}

/// Default ranges for one population.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DefaultRanges {
    /// `None` for everyone, else the sex these ranges are published for.
    pub sex: Option<Sex>,
    /// Conventional laboratory reference interval, in the range unit.
    pub standard: Bounds,
    /// Functional "optimal" range, in the range unit.
    pub optimal: Bounds,
    /// Where the figures come from (also in docs/clinical-model.md).
    pub source: &'static str,
}

/// Most characters a marker's one-line explanation (`about`) may have, in the catalog,
/// on a custom marker or in a practice's own note.
pub const MAX_ABOUT_LEN: usize = 140;

/// One biomarker.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// Short id used in URLs and reports (`tsh`).
    pub id: &'static str,
    /// LOINC code (`3016-3`).
    pub loinc: &'static str,
    /// Human name.
    pub name: &'static str,
    /// One plain-language line telling a patient what the marker measures (at most
    /// [`MAX_ABOUT_LEN`] characters); the form and the report show it.
    pub about: &'static str,
    /// Units accepted; the first one is the unit ranges are kept and judged in.
    pub units: &'static [UnitDef],
    /// Values outside these bounds (in the range unit) are typos, not results.
    pub plausible: (f64, f64),
    /// Default ranges; an entry with `sex: None` must exist.
    pub defaults: &'static [DefaultRanges],
    /// Body systems the marker bears on.
    pub systems: &'static [BodySystem],
}

impl Marker {
    /// The unit ranges are kept and judged in.
    pub fn range_unit(&self) -> &'static UnitDef {
        &self.units[0]
    }

    /// The accepted unit matching what a patient typed, if any.
    pub fn unit(&self, typed: &str) -> Option<&'static UnitDef> {
        let wanted = normalize_unit(typed);
        self.units.iter().find(|u| {
            normalize_unit(u.display) == wanted
                || normalize_unit(u.ucum) == wanted
                || u.aliases.iter().any(|a| normalize_unit(a) == wanted)
        })
    }

    /// The plausibility bounds as an interval.
    pub fn plausible_bounds(&self) -> Option<Bounds> {
        Bounds::new(self.plausible.0, self.plausible.1)
    }

    /// The default ranges for `sex`, falling back to the ones for everyone.
    pub fn default_ranges(&self, sex: Option<Sex>) -> &'static DefaultRanges {
        let everyone = self
            .defaults
            .iter()
            .find(|d| d.sex.is_none())
            .unwrap_or(&self.defaults[0]);
        match sex {
            Some(s) => self
                .defaults
                .iter()
                .find(|d| d.sex == Some(s))
                .unwrap_or(everyone),
            None => everyone,
        }
    }
}

/// Normalises a unit spelling for comparison: micro signs (µ U+00B5, μ U+03BC) become
/// `u`, spaces go, and case is folded (no two units a marker accepts differ only by case).
pub fn normalize_unit(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{00B5}' | '\u{03BC}' => 'u',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// All markers, in catalog order.
pub fn markers() -> &'static [Marker] {
    markers::MARKERS
}

/// The other LOINC codes that lab reports print for the marker `id`.
pub fn loinc_aliases(id: &str) -> impl Iterator<Item = &'static str> + '_ {
    markers::LOINC_ALIASES
        .iter()
        .filter(move |(_, marker)| *marker == id)
        .map(|(code, _)| *code)
}

/// Finds a marker by catalog id or LOINC code.
pub fn find(id_or_loinc: &str) -> Option<&'static Marker> {
    let key = id_or_loinc.trim();
    let by_alias = markers::LOINC_ALIASES
        .iter()
        .find(|(loinc, _)| *loinc == key)
        .map(|(_, id)| *id);
    let key = by_alias.unwrap_or(key);
    markers::MARKERS
        .iter()
        .find(|m| m.id == key || m.loinc == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        ((a - b) / b).abs() < 0.005
    }

    #[test]
    fn markers_are_found_by_id_and_by_loinc() {
        assert_eq!(find("tsh").map(|m| m.loinc), Some("3016-3"));
        assert_eq!(find("3016-3").map(|m| m.id), Some("tsh"));
        assert_eq!(find("1558-6").map(|m| m.id), Some("glucose_fasting"));
        assert_eq!(find("62292-8").map(|m| m.id), Some("vitamin_d_25oh"));
        assert_eq!(find("1989-3").map(|m| m.id), Some("vitamin_d_25oh"));
        assert!(find("nope").is_none());
    }

    #[test]
    fn usual_spellings_of_units_are_accepted() {
        let tsh = find("tsh").map(|m| m.unit("µIU/mL").map(|u| u.display));
        assert_eq!(tsh, Some(Some("mIU/L")));
        for typed in ["uIU/mL", "μIU/mL", "mIU/L", "miu/l", "m[IU]/L", " mIU / L "] {
            assert!(find("tsh").and_then(|m| m.unit(typed)).is_some(), "{typed}");
        }
        let glucose = find("glucose_fasting");
        assert!(glucose.and_then(|m| m.unit("mmol/l")).is_some());
        assert!(glucose.and_then(|m| m.unit("ng/mL")).is_none());
    }

    #[test]
    fn glucose_conversion_matches_the_published_factor() {
        // Published: mg/dL x 0.0555 = mmol/L, i.e. 5.55 mmol/L is 100 mg/dL.
        let m = find("glucose_fasting").map(|m| m.units[1].conversion);
        let mg = m.map(|c| c.to_range_unit(5.55)).unwrap_or_default();
        assert!(close(mg, 100.0), "{mg}");
    }

    #[test]
    fn vitamin_d_conversion_matches_the_published_factor() {
        // Published: ng/mL x 2.496 = nmol/L, i.e. 75 nmol/L is 30.05 ng/mL.
        let m = find("vitamin_d_25oh").map(|m| m.units[1].conversion);
        let ng = m.map(|c| c.to_range_unit(75.0)).unwrap_or_default();
        assert!(close(ng, 30.05), "{ng}");
    }

    #[test]
    fn every_marker_has_defaults_for_everyone_inside_its_plausible_bounds() {
        for m in markers() {
            assert!(m.defaults.iter().any(|d| d.sex.is_none()), "{}", m.id);
            for d in m.defaults {
                let plausible = Bounds::new(m.plausible.0, m.plausible.1);
                assert!(plausible.is_some(), "{}: plausible bounds", m.id);
                for b in [d.standard, d.optimal] {
                    assert!(Bounds::open(b.low(), b.high()).is_some(), "{}: {b:?}", m.id);
                    assert!(
                        plausible.is_some_and(|p| b.within(&p))
                            || b.low().is_none()
                            || b.high().is_none(),
                        "{}: {b:?} beyond plausible",
                        m.id
                    );
                }
            }
        }
    }

    #[test]
    fn every_marker_explains_itself_in_one_short_line() {
        for m in markers() {
            let n = m.about.chars().count();
            assert!(n > 0, "{}: empty about", m.id);
            assert!(n <= MAX_ABOUT_LEN, "{}: about has {n} characters", m.id);
            assert_eq!(m.about.trim(), m.about, "{}", m.id);
            assert!(!m.about.contains('\n'), "{}", m.id);
        }
    }

    proptest::proptest! {
        #[test]
        fn conversions_round_trip(v in 0.001f64..10_000.0) {
            for m in markers() {
                for u in m.units {
                    let back = u.conversion.from_range_unit(u.conversion.to_range_unit(v));
                    proptest::prop_assert!(((back - v) / v).abs() < 1e-12);
                }
            }
        }
    }
}
