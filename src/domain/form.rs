//! What a practice's patient form shows: the markers it lists (in the practice's order)
//! and the ones a patient may add, each with its units and one-line explanation; the
//! symptom checklist grouped by body system; the disclaimer. Both the form definition
//! (`GET /v1/forms/{slug}`) and the hosted page (`/f/{slug}`) are drawn from this one
//! layout, so they never disagree.

use super::catalog::{self, BodySystem, Marker};
use super::custom::{symptom_listing, CustomMarker};
use super::practitioner::{FormSettings, DEFAULT_DISCLAIMER};
use super::ranges::RangeOverride;

/// Markers a form lists when the practice has not chosen, after those it has ranges
/// for: a starter panel covering the systems functional-medicine intakes ask about most.
pub const STARTER_PANEL: &[&str] = &[
    "tsh",
    "free_t4",
    "free_t3",
    "glucose_fasting",
    "hba1c",
    "vitamin_d_25oh",
    "ferritin",
    "vitamin_b12",
    "hs_crp",
];

/// One marker as the form offers it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FormMarker {
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
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SymptomGroup {
    /// The body system.
    pub system: BodySystem,
    /// Its name for patients.
    pub label: &'static str,
    /// The symptoms offered under it.
    pub symptoms: Vec<FormSymptom>,
}

/// One symptom on the checklist.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FormSymptom {
    /// Id.
    pub id: String,
    /// Human name.
    pub name: String,
}

/// Everything the form shows about markers and symptoms.
#[derive(Debug, Clone, PartialEq)]
pub struct FormLayout {
    /// Markers listed on the form, in order.
    pub listed: Vec<FormMarker>,
    /// Every other marker the form accepts (catalog order, then the practice's own).
    pub others: Vec<FormMarker>,
    /// The symptom checklist, grouped by each symptom's first body system.
    pub symptom_groups: Vec<SymptomGroup>,
    /// The "not a diagnosis" note under the report.
    pub disclaimer: String,
}

/// A body system's name as patients read it.
pub fn system_label(system: BodySystem) -> &'static str {
    match system {
        BodySystem::Thyroid => "Thyroid",
        BodySystem::Adrenal => "Stress and adrenals",
        BodySystem::BloodSugar => "Blood sugar",
        BodySystem::Iron => "Iron",
        BodySystem::Gut => "Digestion",
        BodySystem::SexHormones => "Sex hormones",
        BodySystem::Inflammation => "Inflammation",
        BodySystem::Nutrients => "Vitamins and minerals",
        BodySystem::Immune => "Immune system",
        BodySystem::Neuro => "Sleep, mood and focus",
        BodySystem::Lipids => "Cholesterol and fats",
        BodySystem::Liver => "Liver",
        BodySystem::Kidney => "Kidneys",
        BodySystem::Blood => "Blood cells",
    }
}

/// The spellings a unit picker offers for a marker: each unit as displayed, then the
/// aliases a lab report prints (`µIU/mL` beside `mIU/L` for TSH). Left out: ASCII
/// stand-ins for `µ` (`mcg`, `uIU`), wordy forms (`% of total Hb`) and anything equal
/// to a listed spelling once case, spaces and the micro sign are folded; all of these
/// are still accepted when typed through the API.
pub fn printed_spellings(m: &Marker) -> Vec<String> {
    let mut out: Vec<String> = m.units.iter().map(|u| u.display.to_owned()).collect();
    let mut seen: Vec<String> = out.iter().map(|u| catalog::normalize_unit(u)).collect();
    for alias in m.units.iter().flat_map(|u| u.aliases.iter()) {
        let folded = catalog::normalize_unit(alias);
        let printed = !alias.starts_with("mc")
            && !alias.contains(' ')
            && !alias.contains('^')
            && (alias.len() == 1 || !alias.starts_with('%'))
            && !seen.contains(&folded);
        if printed {
            seen.push(folded);
            out.push((*alias).to_owned());
        }
    }
    out
}

fn catalog_marker(m: &'static Marker, settings: &FormSettings) -> FormMarker {
    let aliases = catalog::loinc_aliases(m.id)
        .map(str::to_owned)
        .collect::<Vec<_>>();
    FormMarker {
        id: m.id.to_owned(),
        loinc: Some(m.loinc.to_owned()),
        aliases,
        name: m.name.to_owned(),
        units: printed_spellings(m),
        unit: m.range_unit().display.to_owned(),
        about: Some(
            settings
                .marker_notes
                .get(m.id)
                .cloned()
                .unwrap_or_else(|| m.about.to_owned()),
        ),
    }
}

fn custom_marker(c: &CustomMarker, settings: &FormSettings) -> FormMarker {
    FormMarker {
        id: c.id.clone(),
        loinc: c.loinc.clone(),
        aliases: Vec::new(),
        name: c.name.clone(),
        units: vec![c.unit.clone()],
        unit: c.unit.clone(),
        about: settings
            .marker_notes
            .get(&c.id)
            .cloned()
            .or_else(|| c.about.clone()),
    }
}

/// The ids the form lists, in order: the practice's choice, or by default the markers
/// it has ranges for (catalog order) followed by the starter panel.
fn listed_ids(settings: &FormSettings, overrides: &[RangeOverride]) -> Vec<String> {
    if let Some(chosen) = &settings.form_markers {
        return chosen.clone();
    }
    let mut ids: Vec<String> = catalog::markers()
        .iter()
        .filter(|m| overrides.iter().any(|o| o.marker == m.id))
        .map(|m| m.id.to_owned())
        .collect();
    for id in STARTER_PANEL {
        if !ids.iter().any(|i| i == id) {
            ids.push((*id).to_owned());
        }
    }
    ids
}

impl FormLayout {
    /// Lays out a practice's form.
    pub fn build(
        settings: &FormSettings,
        overrides: &[RangeOverride],
        custom: &[CustomMarker],
    ) -> FormLayout {
        let mut all: Vec<FormMarker> = catalog::markers()
            .iter()
            .map(|m| catalog_marker(m, settings))
            .chain(custom.iter().map(|c| custom_marker(c, settings)))
            .collect();
        let mut listed = Vec::new();
        for id in listed_ids(settings, overrides) {
            // A listed id whose custom marker was deleted since is simply skipped.
            if let Some(i) = all.iter().position(|m| m.id == id) {
                listed.push(all.remove(i));
            }
        }

        let mut symptom_groups: Vec<SymptomGroup> = Vec::new();
        for s in symptom_listing(settings.symptoms.as_ref())
            .into_iter()
            .filter(|s| s.offered)
        {
            let system = s.systems.first().copied().unwrap_or(BodySystem::Neuro);
            let symptom = FormSymptom {
                id: s.id,
                name: s.name,
            };
            match symptom_groups.iter_mut().find(|g| g.system == system) {
                Some(g) => g.symptoms.push(symptom),
                None => symptom_groups.push(SymptomGroup {
                    system,
                    label: system_label(system),
                    symptoms: vec![symptom],
                }),
            }
        }
        symptom_groups.sort_by_key(|g| g.system);

        FormLayout {
            listed,
            others: all,
            symptom_groups,
            disclaimer: settings
                .disclaimer
                .clone()
                .unwrap_or_else(|| DEFAULT_DISCLAIMER.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::practitioner::{Branding, ContactFields};
    use crate::domain::ranges::{Bounds, RangeMessages};

    fn settings() -> FormSettings {
        FormSettings {
            contact_fields: ContactFields::default(),
            consent_required: true,
            consent_text: "ok".into(),
            consent_version: 1,
            branding: Branding::default(),
            call_to_action: None,
            accepting_submissions: true,
            allowed_origins: vec![],
            phone_region: None,
            symptoms: None,
            form_markers: None,
            marker_notes: Default::default(),
            disclaimer: None,
        }
    }

    fn ids(markers: &[FormMarker]) -> Vec<&str> {
        markers.iter().map(|m| m.id.as_str()).collect()
    }

    #[test]
    fn by_default_the_markers_with_ranges_come_first_then_the_starter_panel() {
        let overrides = [RangeOverride {
            marker: "ferritin".into(),
            sex: None,
            optimal: Bounds::new(50.0, 100.0).unwrap_or_else(|| panic!("a valid range")),
            standard: None,
            messages: RangeMessages::default(),
        }];
        let layout = FormLayout::build(&settings(), &overrides, &[]);
        let listed = ids(&layout.listed);
        assert_eq!(listed[0], "ferritin");
        assert_eq!(&listed[1..4], ["tsh", "free_t4", "free_t3"]);
        assert_eq!(listed.len(), STARTER_PANEL.len());
        assert_eq!(
            layout.listed.len() + layout.others.len(),
            catalog::markers().len()
        );
        assert!(!layout.others.iter().any(|m| m.id == "ferritin"));
    }

    #[test]
    fn a_practice_chooses_which_markers_are_listed_and_in_what_order() {
        let mut s = settings();
        s.form_markers = Some(vec!["hba1c".into(), "tsh".into()]);
        s.marker_notes.insert("tsh".into(), "Our words".into());
        let layout = FormLayout::build(&s, &[], &[]);
        assert_eq!(ids(&layout.listed), ["hba1c", "tsh"]);
        assert_eq!(layout.listed[1].about.as_deref(), Some("Our words"));
        assert!(layout.listed[0]
            .about
            .as_deref()
            .is_some_and(|a| !a.is_empty()));
    }

    #[test]
    fn units_list_every_spelling_and_preselect_the_range_unit() {
        let layout = FormLayout::build(&settings(), &[], &[]);
        let glucose = layout
            .listed
            .iter()
            .find(|m| m.id == "glucose_fasting")
            .unwrap_or_else(|| panic!("glucose is in the starter panel"));
        assert!(glucose.units.len() >= 2, "{:?}", glucose.units);
        assert_eq!(glucose.unit, glucose.units[0]);
    }

    #[test]
    fn the_unit_picker_lists_the_spellings_labs_print() {
        let tsh = catalog::find("tsh").unwrap_or_else(|| panic!("tsh"));
        let units = printed_spellings(tsh);
        assert_eq!(units[0], "mIU/L");
        assert!(units.iter().any(|u| u == "µIU/mL"), "{units:?}");
        assert!(!units.iter().any(|u| u.starts_with("mc")), "{units:?}");
        for m in catalog::markers() {
            for u in printed_spellings(m) {
                assert!(m.unit(&u).is_some(), "{} does not accept {u}", m.id);
            }
        }
    }

    #[test]
    fn symptoms_are_grouped_by_body_system_in_catalog_order() {
        let layout = FormLayout::build(&settings(), &[], &[]);
        assert!(layout.symptom_groups.len() > 3);
        let systems: Vec<BodySystem> = layout.symptom_groups.iter().map(|g| g.system).collect();
        let mut sorted = systems.clone();
        sorted.sort();
        assert_eq!(systems, sorted);
        let total: usize = layout.symptom_groups.iter().map(|g| g.symptoms.len()).sum();
        assert_eq!(total, symptom_listing(None).len());
        assert_eq!(layout.disclaimer, DEFAULT_DISCLAIMER);
    }
}
