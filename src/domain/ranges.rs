//! Ranges and zones: a practitioner's overrides, the effective range for a patient,
//! and the five-zone judgement with the distance to optimal.

pub use super::bounds::{Bounds, BoundsDraft};
use super::catalog::{Marker, Sex};
use super::problems::{FieldProblem, Problems};
use serde::{Deserialize, Serialize};

/// A practitioner's own wording for each side of the optimal range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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

/// Longest practitioner message accepted.
pub const MAX_MESSAGE_LEN: usize = 1000;

/// A range override as a practitioner asked for it (`PUT /v1/ranges/{marker}`), before
/// it is checked by [`RangeOverride::parse`].
#[derive(Debug, Clone, PartialEq)]
pub struct RangeDraft {
    /// Unit the bounds are given in; any unit the marker accepts.
    pub unit: String,
    /// Optimal range.
    pub optimal: BoundsDraft,
    /// Standard (reference) range; the catalog default when absent.
    pub standard: Option<BoundsDraft>,
    /// Only for patients of this sex; everyone when absent.
    pub sex: Option<Sex>,
    /// The practitioner's wording.
    pub messages: Option<RangeMessages>,
}

/// A practitioner's override of one marker's ranges, stored in the range unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

fn check_bounds(
    problems: &mut Problems,
    field: &str,
    dto: BoundsDraft,
    convert: impl Fn(f64) -> f64,
) -> Option<Bounds> {
    let mut ok = true;
    for (name, v) in [("low", dto.low), ("high", dto.high)] {
        if v.is_some_and(|v| !v.is_finite()) {
            problems.add(format!("{field}.{name}"), "must be a finite number");
            ok = false;
        }
    }
    match (dto.low, dto.high) {
        (None, None) => {
            problems.add(field.to_owned(), "needs low, high or both");
            ok = false;
        }
        (Some(l), Some(h)) if ok && l > h => {
            problems.add(format!("{field}.low"), "must not be greater than high");
            ok = false;
        }
        _ => {}
    }
    if !ok {
        return None;
    }
    let conv = |v: Option<f64>| v.map(|v| round_sig(convert(v)));
    Bounds::open(conv(dto.low), conv(dto.high))
}

impl RangeOverride {
    /// Validates a range request for `marker`, converting the bounds to the range unit.
    pub fn parse(marker: &Marker, req: RangeDraft) -> Result<RangeOverride, Vec<FieldProblem>> {
        let mut problems = Problems::new();
        let unit = marker.unit(&req.unit);
        if unit.is_none() {
            let accepted: Vec<&str> = marker.units.iter().map(|u| u.display).collect();
            problems.add(
                "unit",
                format!(
                    "is not a unit {} accepts (accepted: {})",
                    marker.name,
                    accepted.join(", ")
                ),
            );
        }
        let conv = unit.map(|u| u.conversion);
        let convert = |v: f64| conv.map(|c| c.to_range_unit(v)).unwrap_or(v);
        let optimal = check_bounds(&mut problems, "optimal", req.optimal, convert);
        let standard = req
            .standard
            .map(|s| check_bounds(&mut problems, "standard", s, convert));
        // A range beyond what a result can plausibly be is almost always a unit mix-up
        // (mg/dL figures entered as mmol/L): refuse it rather than judge every patient
        // against it. Only checked when the unit was understood.
        if unit.is_some() {
            if let Some(plausible) = marker.plausible_bounds() {
                let u = marker.range_unit().display;
                for (field, b) in [("optimal", optimal), ("standard", standard.flatten())] {
                    // Each end that is set must be plausible; an open end is fine. A low
                    // end of 0 is how labs print "up to" (LabCorp: triglycerides
                    // `0-149 mg/dL`): it means "from nothing", not a result of 0, so it
                    // stands whatever the marker's plausible floor.
                    let implausible = |v: Option<f64>| v.is_some_and(|v| !plausible.contains(v));
                    let low_implausible = |v: Option<f64>| v != Some(0.0) && implausible(v);
                    if b.is_some_and(|b| low_implausible(b.low()) || implausible(b.high())) {
                        problems.add(
                            field,
                            format!(
                                "lies outside what is plausible for {} ({} to {} {u}); check the unit",
                                marker.name, marker.plausible.0, marker.plausible.1
                            ),
                        );
                    }
                }
            }
        }
        let messages = req.messages.unwrap_or_default();
        for (name, m) in [
            ("low", &messages.low),
            ("optimal", &messages.optimal),
            ("high", &messages.high),
        ] {
            if m.as_ref()
                .is_some_and(|m| m.chars().count() > MAX_MESSAGE_LEN)
            {
                problems.add(
                    format!("messages.{name}"),
                    format!("must be at most {MAX_MESSAGE_LEN} characters"),
                );
            }
        }
        match (problems.is_empty(), optimal) {
            (true, Some(optimal)) => Ok(RangeOverride {
                marker: marker.id.to_owned(),
                sex: req.sex,
                optimal,
                standard: standard.flatten(),
                messages,
            }),
            _ => Err(problems.into_vec()),
        }
    }
}

/// Where an effective range came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RangeSource {
    /// The catalog's default.
    Default,
    /// The practitioner's override.
    Practitioner,
}

/// The ranges a value is judged against, in the marker's range unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
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

fn is_default_messages(m: &RangeMessages) -> bool {
    *m == RangeMessages::default()
}

/// Chooses the range for a patient: the practitioner's sex-specific override, then the
/// practitioner's override for everyone, then the catalog default for the sex, then
/// the catalog default for everyone. A practitioner override without a standard range
/// keeps the default standard range.
pub fn effective_range(
    marker: &Marker,
    sex: Option<Sex>,
    overrides: &[RangeOverride],
) -> EffectiveRange {
    let own = |s: Option<Sex>| {
        overrides
            .iter()
            .find(|o| o.marker == marker.id && o.sex == s)
    };
    let chosen = sex.and_then(|s| own(Some(s))).or_else(|| own(None));
    let default = marker.default_ranges(sex);
    let default_standard = default.standard;
    match chosen {
        Some(o) => EffectiveRange {
            unit: marker.range_unit().display.to_owned(),
            sex: o.sex,
            standard: Some(o.standard.unwrap_or(default_standard)),
            optimal: o.optimal,
            messages: o.messages.clone(),
            source: RangeSource::Practitioner,
        },
        None => EffectiveRange {
            unit: marker.range_unit().display.to_owned(),
            sex: default.sex,
            standard: Some(default_standard),
            optimal: default.optimal,
            messages: RangeMessages::default(),
            source: RangeSource::Default,
        },
    }
}

/// Where a value sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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

impl Zone {
    /// Every zone, from lowest to highest.
    pub const ALL: [Zone; 5] = [
        Zone::BelowStandard,
        Zone::BelowOptimal,
        Zone::Optimal,
        Zone::AboveOptimal,
        Zone::AboveStandard,
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Zone::BelowStandard => "below_standard",
            Zone::BelowOptimal => "below_optimal",
            Zone::Optimal => "optimal",
            Zone::AboveOptimal => "above_optimal",
            Zone::AboveStandard => "above_standard",
        }
    }
}

/// Judges a value (in the range unit): optimal when inside the optimal range (bounds
/// included); otherwise below/above standard when strictly outside the standard range;
/// otherwise below/above optimal.
pub fn zone(value: f64, range: &EffectiveRange) -> Zone {
    let o = range.optimal;
    let s_low = range.standard.and_then(|s| s.low());
    let s_high = range.standard.and_then(|s| s.high());
    if o.contains(value) {
        Zone::Optimal
    } else if s_low.is_some_and(|l| value < l) {
        Zone::BelowStandard
    } else if s_high.is_some_and(|h| value > h) {
        Zone::AboveStandard
    } else if o.low().is_some_and(|l| value < l) {
        Zone::BelowOptimal
    } else {
        Zone::AboveOptimal
    }
}

/// Distance from a value to the nearest optimal bound; exactly 0 inside.
pub fn gap(value: f64, optimal: Bounds) -> f64 {
    match (optimal.low(), optimal.high()) {
        (Some(l), _) if value < l => round_sig(l - value),
        (_, Some(h)) if value > h => round_sig(value - h),
        _ => 0.0,
    }
}

/// The practitioner's wording for a zone.
pub fn message_for(zone: Zone, messages: &RangeMessages) -> Option<&str> {
    match zone {
        Zone::BelowStandard | Zone::BelowOptimal => messages.low.as_deref(),
        Zone::Optimal => messages.optimal.as_deref(),
        Zone::AboveOptimal | Zone::AboveStandard => messages.high.as_deref(),
    }
}

/// Rounds to 6 significant digits: removes binary floating-point noise from
/// conversions and differences (3.1 - 2.0 = 1.1, not 1.1000000000000001) while keeping
/// far more precision than any lab prints.
pub fn round_sig(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let digits = 6 - 1 - x.abs().log10().floor() as i32;
    let digits = digits.clamp(-300, 300);
    let p = 10f64.powi(digits);
    let r = (x * p).round() / p;
    if r.is_finite() {
        r
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog;

    fn b(low: f64, high: f64) -> Bounds {
        Bounds::from_static(Some(low), Some(high))
    }

    fn range(std: (f64, f64), opt: (f64, f64)) -> EffectiveRange {
        EffectiveRange {
            unit: "mIU/L".into(),
            sex: None,
            standard: Some(b(std.0, std.1)),
            optimal: b(opt.0, opt.1),
            messages: RangeMessages::default(),
            source: RangeSource::Default,
        }
    }

    #[test]
    fn zones_at_every_boundary() {
        let r = range((0.45, 4.5), (1.0, 2.0));
        let cases = [
            (0.44, Zone::BelowStandard),
            (0.45, Zone::BelowOptimal),
            (0.99, Zone::BelowOptimal),
            (1.0, Zone::Optimal),
            (1.5, Zone::Optimal),
            (2.0, Zone::Optimal),
            (2.01, Zone::AboveOptimal),
            (4.5, Zone::AboveOptimal),
            (4.51, Zone::AboveStandard),
        ];
        for (v, z) in cases {
            assert_eq!(zone(v, &r), z, "value {v}");
        }
    }

    #[test]
    fn open_ended_ranges_have_no_limit_on_their_open_side() {
        let r = EffectiveRange {
            unit: "ng/mL".into(),
            sex: None,
            standard: Some(Bounds::from_static(Some(5.4), None)),
            optimal: Bounds::from_static(Some(15.0), None),
            messages: RangeMessages::default(),
            source: RangeSource::Default,
        };
        let cases = [
            (5.3, Zone::BelowStandard),
            (5.4, Zone::BelowOptimal),
            (14.99, Zone::BelowOptimal),
            (15.0, Zone::Optimal),
            (1e6, Zone::Optimal),
        ];
        for (v, z) in cases {
            assert_eq!(zone(v, &r), z, "value {v}");
        }
        assert_eq!(gap(10.0, r.optimal), 5.0);
        assert_eq!(gap(1e6, r.optimal), 0.0);
        let no_standard = EffectiveRange {
            standard: None,
            ..r
        };
        assert_eq!(zone(0.1, &no_standard), Zone::BelowOptimal);
    }

    #[test]
    fn a_range_beyond_plausible_values_is_refused_as_a_unit_mix_up() {
        let Some(m) = catalog::find("glucose_fasting") else {
            panic!("catalog")
        };
        let req: RangeDraft =
            crate::http::wire::read::<crate::http::wire::ranges::RangeRequest, _>(
                serde_json::json!({
                    "unit": "mmol/L", "optimal": {"low": 75.0, "high": 86.0}
                }),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let err = RangeOverride::parse(m, req).err().unwrap_or_default();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].field, "optimal");
        // Open ends are not implausible.
        let req: RangeDraft =
            crate::http::wire::read::<crate::http::wire::ranges::RangeRequest, _>(
                serde_json::json!({
                    "unit": "mg/dL", "optimal": {"low": 75.0}, "standard": {"high": 99.0}
                }),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(RangeOverride::parse(m, req).is_ok());
    }

    #[test]
    fn a_low_end_of_zero_as_labs_print_it_is_plausible_but_a_high_end_of_zero_is_not() {
        let Some(m) = catalog::find("triglycerides") else {
            panic!("catalog")
        };
        let parse = |body: serde_json::Value| {
            let req: RangeDraft =
                crate::http::wire::read::<crate::http::wire::ranges::RangeRequest, _>(body)
                    .unwrap_or_else(|e| panic!("{e}"));
            RangeOverride::parse(m, req)
        };
        // LabCorp prints `0-149 mg/dL`; the catalog's plausible floor is above 0.
        let o = parse(serde_json::json!({
            "unit": "mg/dL", "optimal": {"low": 0, "high": 100}, "standard": {"low": 0, "high": 149}
        }))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(o.optimal.low(), Some(0.0));
        // In another unit too: 0 is 0 in any of them.
        assert!(
            parse(serde_json::json!({"unit": "mmol/L", "optimal": {"low": 0, "high": 1.1}}))
                .is_ok()
        );
        // A low end just above 0 is still a unit mix-up, and so is a high end of 0.
        let err = parse(serde_json::json!({"unit": "mg/dL", "optimal": {"low": 0.5, "high": 100}}))
            .err()
            .unwrap_or_default();
        assert_eq!(err.len(), 1, "{err:?}");
        let err = parse(serde_json::json!({"unit": "mg/dL", "optimal": {"low": 0, "high": 0}}))
            .err()
            .unwrap_or_default();
        assert_eq!(err.len(), 1, "{err:?}");
    }

    #[test]
    fn the_gap_is_the_distance_to_the_nearest_optimal_bound() {
        let o = b(1.0, 2.0);
        assert_eq!(gap(3.1, o), 1.1);
        assert_eq!(gap(0.4, o), 0.6);
        assert_eq!(gap(1.0, o), 0.0);
        assert_eq!(gap(2.0, o), 0.0);
    }

    #[test]
    fn practitioner_ranges_are_converted_to_the_range_unit() {
        let m = catalog::find("glucose_fasting").cloned();
        let Some(m) = m else { panic!("catalog") };
        let req: RangeDraft =
            crate::http::wire::read::<crate::http::wire::ranges::RangeRequest, _>(
                serde_json::json!({
                    "unit": "mmol/L", "optimal": {"low": 4.2, "high": 4.8}
                }),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let o = RangeOverride::parse(&m, req).unwrap_or_else(|e| panic!("{e:?}"));
        assert!((o.optimal.low().unwrap_or_default() - 75.6655).abs() < 0.01);
        let eff = effective_range(&m, None, &[o]);
        assert_eq!(eff.source, RangeSource::Practitioner);
        assert_eq!(eff.standard, Some(b(65.0, 99.0)));
    }

    #[test]
    fn nonsense_ranges_are_refused_field_by_field() {
        let Some(m) = catalog::find("tsh") else {
            panic!("catalog")
        };
        let req: RangeDraft =
            crate::http::wire::read::<crate::http::wire::ranges::RangeRequest, _>(
                serde_json::json!({
                    "unit": "furlongs", "optimal": {"low": 3.0, "high": 1.0},
                    "standard": {"low": 5.0, "high": 0.1}
                }),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let err = RangeOverride::parse(m, req).err().unwrap_or_default();
        let fields: Vec<&str> = err.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["unit", "optimal.low", "standard.low"]);
    }

    #[test]
    fn sex_specific_overrides_win_over_everyone_then_defaults() {
        let Some(m) = catalog::find("tsh") else {
            panic!("catalog")
        };
        let mk = |sex, low| RangeOverride {
            marker: "tsh".into(),
            sex,
            optimal: Bounds::from_static(Some(low), Some(2.5)),
            standard: None,
            messages: RangeMessages::default(),
        };
        let all = [mk(None, 1.1), mk(Some(Sex::Female), 1.2)];
        assert_eq!(
            effective_range(m, Some(Sex::Female), &all).optimal.low(),
            Some(1.2)
        );
        assert_eq!(
            effective_range(m, Some(Sex::Male), &all).optimal.low(),
            Some(1.1)
        );
        assert_eq!(effective_range(m, None, &all).optimal.low(), Some(1.1));
        assert_eq!(effective_range(m, None, &[]).optimal.low(), Some(1.0));
    }

    proptest::proptest! {
        #[test]
        fn zone_is_monotonic_in_the_value(a in -10.0f64..20.0, b in -10.0f64..20.0) {
            let r = range((0.45, 4.5), (1.0, 2.0));
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            proptest::prop_assert!(zone(lo, &r) <= zone(hi, &r));
        }

        #[test]
        fn gap_is_zero_exactly_inside_optimal(v in -10.0f64..20.0) {
            let o = Bounds::from_static(Some(1.0), Some(2.0));
            let inside = (1.0..=2.0).contains(&v);
            proptest::prop_assert_eq!(gap(v, o) == 0.0, inside);
        }
    }
}
