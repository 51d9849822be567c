//! The gap report: every lab converted to its range's unit and judged against the
//! practitioner's optimal range and the standard range, the selected symptoms with
//! their body systems, and a summary. Deterministic: the same submission and ranges
//! always give the same report.

use super::catalog::BodySystem;
use super::lab_value::Qualifier;
use super::ranges::{self, Bounds, RangeOverride, Zone};
use super::submission::{LabMarker, Submission};
use serde::Serialize;
use std::collections::BTreeMap;

/// The value as the patient typed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SymptomResult {
    /// Symptom id.
    pub id: String,
    /// Human name.
    pub name: String,
    /// Body systems it bears on.
    pub systems: Vec<BodySystem>,
}

/// What points to one body system.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// One entry per lab, in submission order.
    pub labs: Vec<LabResult>,
    /// Selected symptoms, in submission order.
    pub symptoms: Vec<SymptomResult>,
    /// Summary.
    pub summary: Summary,
}

/// Weight of a marker outside the standard range in [`SystemSummary::attention`].
const OUTSIDE_STANDARD_WEIGHT: u32 = 3;

fn system_entry(
    map: &mut BTreeMap<BodySystem, SystemSummary>,
    system: BodySystem,
) -> &mut SystemSummary {
    map.entry(system).or_insert_with(|| SystemSummary {
        system,
        attention: 0,
        markers: Vec::new(),
        symptoms: Vec::new(),
    })
}

/// Builds the report for a validated submission under a practitioner's overrides.
pub fn build(submission: &Submission, overrides: &[RangeOverride]) -> Report {
    let mut by_system: BTreeMap<BodySystem, SystemSummary> = BTreeMap::new();
    let mut labs = Vec::with_capacity(submission.labs.len());
    for lab in &submission.labs {
        let range = match &lab.marker {
            LabMarker::Catalog(m) => ranges::effective_range(m, submission.sex, overrides),
            LabMarker::Custom(c) => c.effective_range(),
        };
        let value = lab.range_value;
        let zone = ranges::zone(value, &range);
        let weight = match zone {
            Zone::Optimal => 0,
            Zone::BelowOptimal | Zone::AboveOptimal => 1,
            Zone::BelowStandard | Zone::AboveStandard => OUTSIDE_STANDARD_WEIGHT,
        };
        if weight > 0 {
            for system in lab.marker.systems() {
                let e = system_entry(&mut by_system, *system);
                e.attention += weight;
                e.markers.push(lab.marker.id().to_owned());
            }
        }
        labs.push(LabResult {
            marker: lab.marker.id().to_owned(),
            loinc: lab.marker.loinc().map(str::to_owned),
            name: lab.marker.name().to_owned(),
            value,
            input: Input {
                value: lab.value.value(),
                unit: lab.unit.clone(),
                qualifier: lab.value.qualifier(),
            },
            standard: range.standard,
            optimal: range.optimal,
            zone,
            gap: ranges::gap(value, range.optimal),
            message: ranges::message_for(zone, &range.messages).map(str::to_owned),
            unit: range.unit,
        });
    }
    let symptoms: Vec<SymptomResult> = submission
        .symptoms
        .iter()
        .map(|s| {
            for system in &s.systems {
                let e = system_entry(&mut by_system, *system);
                e.attention += 1;
                e.symptoms.push(s.id.clone());
            }
            SymptomResult {
                id: s.id.clone(),
                name: s.name.clone(),
                systems: s.systems.clone(),
            }
        })
        .collect();
    let mut zones: BTreeMap<&'static str, usize> =
        Zone::ALL.iter().map(|z| (z.as_str(), 0)).collect();
    for l in &labs {
        *zones.entry(l.zone.as_str()).or_default() += 1;
    }
    let out_of_optimal = labs.iter().filter(|l| l.zone != Zone::Optimal).count();
    // BTreeMap iteration is in system order; a stable sort by attention keeps that
    // order among ties, so the summary is deterministic.
    let mut systems: Vec<SystemSummary> = by_system.into_values().collect();
    systems.sort_by_key(|s| std::cmp::Reverse(s.attention));
    Report {
        summary: Summary {
            labs: labs.len(),
            zones,
            out_of_optimal,
            systems,
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
    use crate::domain::submission::{IntakeDraft, Submission};
    use serde_json::json;

    fn submission(labs: serde_json::Value) -> Submission {
        let form = FormSettings {
            contact_fields: ContactFields::default(),
            consent_required: false,
            consent_text: String::new(),
            branding: Branding::default(),
            allowed_origins: vec![],
            phone_region: None,
            symptoms: None,
            consent_version: 1,
            call_to_action: None,
            accepting_submissions: true,
            form_markers: None,
            marker_notes: Default::default(),
            disclaimer: None,
        };
        let req = IntakeDraft::from_json(json!({
            "contact": {"name": "A", "email": "a@b.co"}, "labs": labs, "symptoms": ["fatigue"]
        }))
        .unwrap_or_else(|e| panic!("{e:?}"));
        Submission::parse(req, &form, &[]).unwrap_or_else(|e| panic!("{e:?}"))
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
    fn a_censored_value_is_judged_at_its_bound_and_keeps_its_qualifier() {
        let s = submission(json!([
            {"marker": "tsh", "value": "<0,5", "unit": "mIU/L"},
            {"marker": "glucose_fasting", "value": " > 5,5 ", "unit": "mmol/L"},
            {"marker": "ferritin", "value": "60,5", "unit": "ng/mL"}
        ]));
        let r = build(&s, &[]);
        let tsh = serde_json::to_value(&r.labs[0]).unwrap_or_default();
        assert_eq!(
            tsh["input"],
            json!({"value": 0.5, "unit": "mIU/L", "qualifier": "<"})
        );
        assert_eq!(tsh["value"], 0.5);
        assert_eq!(r.labs[0].zone, Zone::BelowOptimal);
        assert_eq!(r.labs[1].input.qualifier, Some(Qualifier::Above));
        assert_eq!(r.labs[1].value, 99.0858);
        assert_eq!(r.labs[1].zone, Zone::AboveStandard);
        let ferritin = serde_json::to_value(&r.labs[2]).unwrap_or_default();
        assert_eq!(ferritin["input"], json!({"value": 60.5, "unit": "ng/mL"}));
    }

    #[test]
    fn the_report_is_deterministic() {
        let s = submission(json!([{"marker": "tsh", "value": 1.5, "unit": "mIU/L"}]));
        let a = serde_json::to_string(&build(&s, &[])).unwrap_or_default();
        let b = serde_json::to_string(&build(&s, &[])).unwrap_or_default();
        assert_eq!(a, b);
    }
}
