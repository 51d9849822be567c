//! The gap report: every lab converted to its range's unit and judged against the
//! practitioner's optimal range and the standard range, the selected symptoms with
//! their body systems, and a summary. Deterministic: the same submission and ranges
//! always give the same report.

use super::catalog::{BodySystem, Sex};
use super::ranges::{self, Bounds, RangeOverride, Zone};
use super::submission::Submission;
use serde::Serialize;
use std::collections::BTreeMap;

/// The value as the patient typed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Input {
    /// Value as typed.
    pub value: f64,
    /// Unit as accepted (its display spelling).
    pub unit: &'static str,
}

/// One judged lab.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabResult {
    /// Catalog id.
    pub marker: &'static str,
    /// LOINC code.
    pub loinc: &'static str,
    /// Human name.
    pub name: &'static str,
    /// Value in the range's unit.
    pub value: f64,
    /// The range's unit.
    pub unit: &'static str,
    /// As submitted.
    pub input: Input,
    /// Standard range.
    pub standard: Bounds,
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SymptomResult {
    /// Symptom id.
    pub id: &'static str,
    /// Human name.
    pub name: &'static str,
    /// Body systems it bears on.
    pub systems: &'static [BodySystem],
}

/// Counts and per-system attention.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Number of labs.
    pub labs: usize,
    /// Labs per zone (every zone present, zero included).
    pub zones: BTreeMap<&'static str, usize>,
    /// Labs outside optimal.
    pub out_of_optimal: usize,
}

/// The report shown to the patient and forwarded to the practitioner.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// One entry per lab, in submission order.
    pub labs: Vec<LabResult>,
    /// Selected symptoms, in submission order.
    pub symptoms: Vec<SymptomResult>,
    /// Summary.
    pub summary: Summary,
}

/// Builds the report for a validated submission under a practitioner's overrides.
pub fn build(submission: &Submission, overrides: &[RangeOverride]) -> Report {
    let sex: Option<Sex> = submission.sex;
    let labs: Vec<LabResult> = submission
        .labs
        .iter()
        .map(|lab| {
            let range = ranges::effective_range(lab.marker, sex, overrides);
            let value = ranges::round_sig(lab.unit.conversion.to_range_unit(lab.value));
            let zone = ranges::zone(value, &range);
            LabResult {
                marker: lab.marker.id,
                loinc: lab.marker.loinc,
                name: lab.marker.name,
                value,
                unit: range.unit,
                input: Input {
                    value: lab.value,
                    unit: lab.unit.display,
                },
                standard: range.standard,
                optimal: range.optimal,
                zone,
                gap: ranges::gap(value, range.optimal),
                message: ranges::message_for(zone, &range.messages).map(str::to_owned),
            }
        })
        .collect();
    let symptoms = submission
        .symptoms
        .iter()
        .map(|s| SymptomResult {
            id: s.id,
            name: s.name,
            systems: s.systems,
        })
        .collect();
    let mut zones: BTreeMap<&'static str, usize> =
        Zone::ALL.iter().map(|z| (z.as_str(), 0)).collect();
    for l in &labs {
        *zones.entry(l.zone.as_str()).or_default() += 1;
    }
    let out_of_optimal = labs.iter().filter(|l| l.zone != Zone::Optimal).count();
    Report {
        summary: Summary {
            labs: labs.len(),
            zones,
            out_of_optimal,
        },
        labs,
        symptoms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::practitioner::{Branding, ContactFields, FormSettings};
    use crate::domain::ranges::{RangeMessages, RangeOverride};
    use crate::domain::submission::{IntakeRequest, Submission};
    use serde_json::json;

    fn submission(labs: serde_json::Value) -> Submission {
        let form = FormSettings {
            contact_fields: ContactFields::default(),
            consent_required: false,
            consent_text: String::new(),
            branding: Branding::default(),
            allowed_origins: vec![],
            symptoms: None,
        };
        let req: IntakeRequest = serde_json::from_value(json!({
            "contact": {"name": "A", "email": "a@b.co"}, "labs": labs, "symptoms": ["fatigue"]
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        Submission::parse(req, &form).unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn the_contract_example_reports_as_api_md_says() {
        let s = submission(json!([{"marker": "3016-3", "value": 3.1, "unit": "mIU/L"}]));
        let own = RangeOverride {
            marker: "tsh".into(),
            sex: None,
            optimal: Bounds::new(1.0, 2.0).unwrap_or_else(|| panic!()),
            standard: Bounds::new(0.45, 4.5),
            messages: RangeMessages {
                high: Some("A little high for us".into()),
                ..RangeMessages::default()
            },
        };
        let r = build(&s, &[own]);
        let v = serde_json::to_value(&r.labs[0]).unwrap_or_default();
        assert_eq!(
            v,
            json!({"marker": "tsh", "loinc": "3016-3", "name": "TSH", "value": 3.1, "unit": "mIU/L",
                   "input": {"value": 3.1, "unit": "mIU/L"},
                   "standard": {"low": 0.45, "high": 4.5}, "optimal": {"low": 1.0, "high": 2.0},
                   "zone": "above_optimal", "gap": 1.1, "message": "A little high for us"})
        );
        assert_eq!(r.summary.zones["above_optimal"], 1);
        assert_eq!(r.symptoms[0].id, "fatigue");
    }

    #[test]
    fn values_are_converted_to_the_range_unit_before_judging() {
        let s = submission(json!([
            {"marker": "glucose_fasting", "value": 5.0, "unit": "mmol/L"},
            {"marker": "vitamin_d_25oh", "value": 50.0, "unit": "nmol/L"}
        ]));
        let r = build(&s, &[]);
        assert_eq!(r.labs[0].value, 90.078);
        assert_eq!(r.labs[0].unit, "mg/dL");
        assert_eq!(r.labs[0].input.unit, "mmol/L");
        assert_eq!(r.labs[0].zone, Zone::AboveOptimal);
        assert!((r.labs[1].value - 20.032).abs() < 0.001);
        assert_eq!(r.labs[1].zone, Zone::BelowStandard);
        assert_eq!(r.summary.out_of_optimal, 2);
    }

    #[test]
    fn the_report_is_deterministic() {
        let s = submission(json!([{"marker": "tsh", "value": 1.5, "unit": "mIU/L"}]));
        let a = serde_json::to_string(&build(&s, &[])).unwrap_or_default();
        let b = serde_json::to_string(&build(&s, &[])).unwrap_or_default();
        assert_eq!(a, b);
    }
}
