//! The gap report in words, pure: the one-paragraph summary a DiagnosticReport gives as
//! its `conclusion`, and the small patient-facing HTML page it attaches as its
//! `presentedForm`. maud escapes every value, so nothing typed or configured can inject
//! markup into a chart.

use crate::domain::catalog::BodySystem;
use crate::domain::practitioner::{Practitioner, DEFAULT_DISCLAIMER};
use crate::domain::ranges::Bounds;
use crate::domain::ranges::Zone;
use crate::domain::report::{LabResult, Report};
use maud::{html, DOCTYPE};

/// A body system in words.
fn system_name(system: BodySystem) -> String {
    match system {
        BodySystem::SexHormones => "sex hormones".to_owned(),
        BodySystem::BloodSugar => "blood sugar".to_owned(),
        other => other.as_str().replace('_', " "),
    }
}

/// Where a value sits, in words.
fn zone_words(zone: Zone) -> &'static str {
    match zone {
        Zone::BelowStandard => "Below the standard range",
        Zone::BelowOptimal => "Below optimal",
        Zone::Optimal => "Optimal",
        Zone::AboveOptimal => "Above optimal",
        Zone::AboveStandard => "Above the standard range",
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The summary: how many results sit outside the optimal and the standard ranges, and
/// what points to each body system, most attention first.
pub fn conclusion(report: &Report) -> String {
    let mut parts = Vec::new();
    let labs = report.labs.len();
    if labs == 0 {
        parts.push("No lab results were entered.".to_owned());
    } else {
        let outside_standard = report
            .labs
            .iter()
            .filter(|l| matches!(l.zone, Zone::BelowStandard | Zone::AboveStandard))
            .count();
        parts.push(format!(
            "{}: {} outside the practice's optimal range, {} of them outside the standard range.",
            plural(labs, "lab result", "lab results"),
            report.summary.out_of_optimal,
            outside_standard
        ));
    }
    if !report.symptoms.is_empty() {
        parts.push(format!(
            "{} selected.",
            plural(report.symptoms.len(), "symptom", "symptoms")
        ));
    }
    let name_of = |id: &str| {
        report
            .labs
            .iter()
            .find(|l| l.marker == id)
            .map(|l| l.name.clone())
            .or_else(|| {
                report
                    .symptoms
                    .iter()
                    .find(|s| s.id == id)
                    .map(|s| s.name.to_lowercase())
            })
            .unwrap_or_else(|| id.to_owned())
    };
    let systems: Vec<String> = report
        .summary
        .systems
        .iter()
        .map(|s| {
            let what: Vec<String> = s
                .markers
                .iter()
                .chain(s.symptoms.iter())
                .map(|id| name_of(id))
                .collect();
            format!("{} ({})", system_name(s.system), what.join(", "))
        })
        .collect();
    if !systems.is_empty() {
        parts.push(format!(
            "Body systems needing attention, most first: {}.",
            systems.join("; ")
        ));
    }
    parts.join(" ")
}

fn range_words(bounds: Option<Bounds>, unit: &str) -> String {
    match bounds.map(|b| (b.low(), b.high())) {
        Some((Some(l), Some(h))) => format!("{l}–{h} {unit}"),
        Some((Some(l), None)) => format!("at least {l} {unit}"),
        Some((None, Some(h))) => format!("up to {h} {unit}"),
        _ => "—".to_owned(),
    }
}

fn value_words(lab: &LabResult) -> String {
    let sign = lab.input.qualifier.map(|q| q.as_str()).unwrap_or_default();
    let value = format!("{sign}{} {}", lab.value, lab.unit);
    if lab.input.unit == lab.unit {
        value
    } else {
        format!(
            "{value} (entered as {sign}{} {})",
            lab.input.value, lab.input.unit
        )
    }
}

/// The patient-facing report as a small HTML page.
pub fn render(practitioner: &Practitioner, report: &Report) -> String {
    let disclaimer = practitioner
        .settings
        .disclaimer
        .as_deref()
        .unwrap_or(DEFAULT_DISCLAIMER);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Gap report: " (practitioner.practice_name) }
            }
            body {
                h1 { "Your results" }
                p { "Prepared for " (practitioner.practice_name) ". The values below were typed in by the patient." }
                p { (conclusion(report)) }
                @if !report.labs.is_empty() {
                    table {
                        thead {
                            tr {
                                th scope="col" { "Test" }
                                th scope="col" { "Your result" }
                                th scope="col" { "Standard range" }
                                th scope="col" { "Optimal range" }
                                th scope="col" { "Where it sits" }
                            }
                        }
                        tbody {
                            @for lab in &report.labs {
                                tr {
                                    th scope="row" { (lab.name) }
                                    td { (value_words(lab)) }
                                    td { (range_words(lab.standard, &lab.unit)) }
                                    td { (range_words(Some(lab.optimal), &lab.unit)) }
                                    td {
                                        (zone_words(lab.zone))
                                        @if let Some(message) = &lab.message {
                                            br; (message)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if !report.symptoms.is_empty() {
                    h2 { "Symptoms" }
                    ul {
                        @for s in &report.symptoms {
                            li { (s.name) }
                        }
                    }
                }
                p { small { (disclaimer) } }
            }
        }
    }
    .into_string()
}
