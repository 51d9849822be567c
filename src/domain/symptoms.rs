//! The symptom catalog: what a patient may tick on the form, each linked to the body
//! systems and lab markers it bears on.
//!
//! The links are well-established associations meant to help a practitioner read an
//! intake, not a diagnosis. Systems are listed most relevant first.

use super::catalog::BodySystem;
use super::catalog::BodySystem::*;
use serde::Serialize;

/// One symptom the form can offer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Symptom {
    /// Stable id used on the wire (`fatigue`).
    pub id: &'static str,
    /// Human name.
    pub name: &'static str,
    /// The SNOMED CT concept id (a clinical finding or disorder) where one standard
    /// concept means what the form asks; `None` where none does. FHIR renderings code
    /// the symptom with it (docs/clinical-model.md lists them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snomed: Option<&'static str>,
    /// Body systems it bears on.
    pub systems: &'static [BodySystem],
    /// Catalog ids of the markers that bear on it.
    pub markers: &'static [&'static str],
}

static SYMPTOMS: &[Symptom] = &[
    // Energy.
    Symptom {
        id: "fatigue",
        name: "Fatigue",
        snomed: Some("84229001"),
        systems: &[Thyroid, Iron, BloodSugar, Adrenal],
        markers: &[
            "tsh",
            "free_t4",
            "ferritin",
            "hemoglobin",
            "hba1c",
            "cortisol_am",
        ],
    },
    Symptom {
        id: "tired_on_waking",
        name: "Tired on waking, even after a full night",
        snomed: None,
        systems: &[Adrenal, Thyroid, Iron],
        markers: &["cortisol_am", "tsh", "free_t4", "ferritin"],
    },
    Symptom {
        id: "afternoon_energy_crash",
        name: "Energy crash in the afternoon",
        snomed: None,
        systems: &[BloodSugar, Adrenal],
        markers: &["glucose_fasting", "insulin_fasting", "hba1c", "cortisol_am"],
    },
    // Temperature.
    Symptom {
        id: "cold_intolerance",
        name: "Often feeling cold",
        snomed: None,
        systems: &[Thyroid, Iron],
        markers: &["tsh", "free_t4", "free_t3", "ferritin", "hemoglobin"],
    },
    Symptom {
        id: "heat_intolerance",
        name: "Often feeling hot",
        snomed: None,
        systems: &[Thyroid],
        markers: &["tsh", "free_t4", "free_t3"],
    },
    Symptom {
        id: "excessive_sweating",
        name: "Sweating more than usual",
        snomed: Some("52613005"),
        systems: &[Thyroid, BloodSugar, SexHormones],
        markers: &["tsh", "free_t4", "free_t3", "glucose_fasting", "estradiol"],
    },
    // Thinking and memory.
    Symptom {
        id: "brain_fog",
        name: "Brain fog",
        snomed: None,
        systems: &[Thyroid, BloodSugar, Nutrients, Neuro],
        markers: &[
            "tsh",
            "free_t4",
            "glucose_fasting",
            "hba1c",
            "vitamin_b12",
            "folate_serum",
        ],
    },
    Symptom {
        id: "poor_memory",
        name: "Poor memory",
        snomed: Some("386807006"),
        systems: &[Nutrients, Thyroid, Neuro],
        markers: &[
            "vitamin_b12",
            "folate_serum",
            "homocysteine",
            "tsh",
            "free_t4",
        ],
    },
    // Hair, skin and nails.
    Symptom {
        id: "hair_loss",
        name: "Thinning hair or hair loss",
        snomed: Some("56317004"),
        systems: &[Thyroid, Iron, SexHormones, Nutrients],
        markers: &[
            "tsh",
            "free_t4",
            "ferritin",
            "zinc",
            "testosterone_total",
            "dhea_s",
        ],
    },
    Symptom {
        id: "dry_skin",
        name: "Dry skin",
        snomed: Some("16386004"),
        systems: &[Thyroid, Nutrients],
        markers: &["tsh", "free_t4", "zinc"],
    },
    Symptom {
        id: "brittle_nails",
        name: "Brittle nails",
        snomed: None,
        systems: &[Iron, Thyroid, Nutrients],
        markers: &["ferritin", "hemoglobin", "tsh", "zinc"],
    },
    Symptom {
        id: "pale_skin",
        name: "Pale skin",
        snomed: None,
        systems: &[Iron, Blood, Nutrients],
        markers: &[
            "hemoglobin",
            "hematocrit",
            "ferritin",
            "iron_serum",
            "vitamin_b12",
            "folate_serum",
        ],
    },
    Symptom {
        id: "easy_bruising",
        name: "Bruising easily",
        snomed: None,
        systems: &[Blood, Liver],
        markers: &["platelets", "hemoglobin", "wbc", "alt", "ast", "ggt"],
    },
    // Itch without a rash is a recognised sign of cholestasis, kidney failure, iron
    // deficiency and thyroid disease.
    Symptom {
        id: "itchy_skin",
        name: "Itchy skin without a rash",
        snomed: Some("418290006"),
        systems: &[Liver, Kidney, Iron, Thyroid],
        markers: &["alt", "ggt", "creatinine", "egfr", "ferritin", "tsh"],
    },
    Symptom {
        id: "acne",
        name: "Acne",
        snomed: Some("11381005"),
        systems: &[SexHormones, BloodSugar, Adrenal],
        markers: &[
            "testosterone_total",
            "testosterone_free",
            "shbg",
            "dhea_s",
            "insulin_fasting",
        ],
    },
    Symptom {
        id: "puffiness",
        name: "Puffy face, hands or ankles",
        snomed: Some("267038008"),
        systems: &[Thyroid, Kidney],
        markers: &["tsh", "free_t4", "creatinine", "egfr", "bun"],
    },
    Symptom {
        id: "mouth_ulcers",
        name: "Mouth ulcers or a sore tongue",
        snomed: None,
        systems: &[Nutrients, Iron, Gut],
        markers: &[
            "vitamin_b12",
            "folate_serum",
            "ferritin",
            "zinc",
            "hemoglobin",
        ],
    },
    // Digestion.
    Symptom {
        id: "constipation",
        name: "Constipation",
        snomed: Some("14760008"),
        systems: &[Gut, Thyroid],
        markers: &["tsh", "free_t4"],
    },
    Symptom {
        id: "diarrhoea",
        name: "Diarrhoea or loose stools",
        snomed: Some("62315008"),
        systems: &[Gut, Nutrients, Thyroid, Inflammation],
        markers: &["ferritin", "vitamin_b12", "folate_serum", "tsh", "hs_crp"],
    },
    Symptom {
        id: "bloating",
        name: "Bloating",
        snomed: Some("116289008"),
        systems: &[Gut],
        markers: &[],
    },
    Symptom {
        id: "gas",
        name: "Excess gas",
        snomed: None,
        systems: &[Gut],
        markers: &[],
    },
    // The markers reflect long-term acid suppression, which lowers B12 and magnesium
    // absorption; reflux itself has no blood marker.
    Symptom {
        id: "acid_reflux",
        name: "Acid reflux or heartburn",
        snomed: Some("16331000"),
        systems: &[Gut, Nutrients],
        markers: &["vitamin_b12", "magnesium_serum"],
    },
    // No marker in the catalog tests for food reactions, so none is linked.
    Symptom {
        id: "food_sensitivities",
        name: "Reacting badly to certain foods",
        snomed: None,
        systems: &[Gut, Immune],
        markers: &[],
    },
    Symptom {
        id: "nausea",
        name: "Nausea",
        snomed: Some("422587007"),
        systems: &[Gut, Liver, Kidney],
        markers: &["alt", "ast", "ggt", "creatinine", "bun"],
    },
    // Sleep.
    Symptom {
        id: "poor_sleep",
        name: "Poor sleep",
        snomed: None,
        systems: &[Adrenal, Neuro, Thyroid, Nutrients],
        markers: &["cortisol_am", "tsh", "free_t4", "magnesium_rbc"],
    },
    Symptom {
        id: "waking_at_night",
        name: "Waking in the night",
        snomed: None,
        systems: &[BloodSugar, Adrenal, Neuro],
        markers: &["glucose_fasting", "insulin_fasting", "hba1c", "cortisol_am"],
    },
    // Appetite, weight, thirst and blood sugar.
    Symptom {
        id: "sugar_cravings",
        name: "Sugar cravings",
        snomed: None,
        systems: &[BloodSugar, Adrenal],
        markers: &["glucose_fasting", "insulin_fasting", "hba1c"],
    },
    // Salt craving is a classic sign of adrenal insufficiency, where morning
    // cortisol and DHEA-S are both low.
    Symptom {
        id: "salt_cravings",
        name: "Salt cravings",
        snomed: None,
        systems: &[Adrenal],
        markers: &["cortisol_am", "dhea_s"],
    },
    Symptom {
        id: "shaky_when_meals_missed",
        name: "Shaky or irritable when a meal is missed",
        snomed: None,
        systems: &[BloodSugar, Adrenal],
        markers: &["glucose_fasting", "insulin_fasting", "hba1c", "cortisol_am"],
    },
    Symptom {
        id: "weight_gain",
        name: "Unexplained weight gain",
        snomed: Some("8943002"),
        systems: &[Thyroid, BloodSugar, Adrenal],
        markers: &["tsh", "free_t4", "insulin_fasting", "hba1c", "cortisol_am"],
    },
    Symptom {
        id: "difficulty_losing_weight",
        name: "Difficulty losing weight",
        snomed: None,
        systems: &[BloodSugar, Thyroid, Adrenal],
        markers: &[
            "insulin_fasting",
            "glucose_fasting",
            "hba1c",
            "tsh",
            "free_t4",
            "cortisol_am",
        ],
    },
    Symptom {
        id: "unexplained_weight_loss",
        name: "Unexplained weight loss",
        snomed: Some("89362005"),
        systems: &[Thyroid, BloodSugar, Gut, Inflammation],
        markers: &["tsh", "free_t4", "glucose_fasting", "hba1c", "hs_crp"],
    },
    // Diabetes is the common cause; BUN and creatinine show dehydration and kidney
    // function.
    Symptom {
        id: "excessive_thirst",
        name: "Very thirsty",
        snomed: Some("17173007"),
        systems: &[BloodSugar, Kidney],
        markers: &["glucose_fasting", "hba1c", "creatinine", "bun"],
    },
    Symptom {
        id: "frequent_urination",
        name: "Needing to urinate often",
        snomed: Some("162116003"),
        systems: &[BloodSugar, Kidney],
        markers: &["glucose_fasting", "hba1c", "creatinine", "egfr"],
    },
    // Mood and nerves.
    Symptom {
        id: "anxiety",
        name: "Anxiety",
        snomed: Some("48694002"),
        systems: &[Adrenal, Thyroid, Neuro],
        markers: &["tsh", "free_t4", "free_t3", "cortisol_am"],
    },
    Symptom {
        id: "low_mood",
        name: "Low mood",
        snomed: Some("366979004"),
        systems: &[Neuro, Thyroid, Nutrients],
        markers: &[
            "tsh",
            "free_t4",
            "vitamin_d_25oh",
            "vitamin_b12",
            "folate_serum",
        ],
    },
    Symptom {
        id: "irritability",
        name: "Irritability",
        snomed: None,
        systems: &[Neuro, BloodSugar, Thyroid, Adrenal],
        markers: &["glucose_fasting", "tsh", "free_t4", "cortisol_am"],
    },
    Symptom {
        id: "headaches",
        name: "Headaches",
        snomed: Some("25064002"),
        systems: &[Neuro, Nutrients, BloodSugar],
        markers: &["magnesium_serum", "magnesium_rbc", "glucose_fasting"],
    },
    Symptom {
        id: "numbness_tingling",
        name: "Numbness or tingling in hands or feet",
        snomed: Some("91019004"),
        systems: &[Nutrients, BloodSugar, Neuro, Thyroid],
        markers: &[
            "vitamin_b12",
            "folate_serum",
            "homocysteine",
            "hba1c",
            "glucose_fasting",
            "tsh",
        ],
    },
    // Low ferritin and kidney failure are the established secondary causes.
    Symptom {
        id: "restless_legs",
        name: "Restless legs",
        snomed: Some("32914008"),
        systems: &[Iron, Neuro, Kidney],
        markers: &["ferritin", "iron_serum", "tibc", "creatinine", "egfr"],
    },
    Symptom {
        id: "dizziness_on_standing",
        name: "Dizzy or light-headed on standing up",
        snomed: Some("404640003"),
        systems: &[Iron, Blood, Adrenal],
        markers: &["hemoglobin", "hematocrit", "ferritin", "cortisol_am"],
    },
    // Heart and breathing.
    Symptom {
        id: "palpitations",
        name: "Heart palpitations",
        snomed: Some("80313002"),
        systems: &[Thyroid, Iron, Blood, Nutrients],
        markers: &[
            "tsh",
            "free_t4",
            "free_t3",
            "hemoglobin",
            "ferritin",
            "magnesium_serum",
        ],
    },
    Symptom {
        id: "short_of_breath",
        name: "Short of breath on exertion",
        snomed: Some("267036007"),
        systems: &[Iron, Blood, Thyroid],
        markers: &["hemoglobin", "hematocrit", "ferritin", "tsh"],
    },
    // Sex hormones and cycle.
    Symptom {
        id: "low_libido",
        name: "Low libido",
        snomed: None,
        systems: &[SexHormones, Thyroid, Adrenal],
        markers: &[
            "testosterone_total",
            "testosterone_free",
            "shbg",
            "estradiol",
            "dhea_s",
            "tsh",
        ],
    },
    Symptom {
        id: "erectile_dysfunction",
        name: "Erectile dysfunction",
        snomed: None,
        systems: &[SexHormones, BloodSugar, Lipids],
        markers: &[
            "testosterone_total",
            "testosterone_free",
            "hba1c",
            "glucose_fasting",
            "ldl",
            "hdl",
        ],
    },
    Symptom {
        id: "irregular_periods",
        name: "Irregular periods",
        snomed: None,
        systems: &[SexHormones, Thyroid, BloodSugar, Adrenal],
        markers: &[
            "tsh",
            "testosterone_total",
            "testosterone_free",
            "shbg",
            "dhea_s",
            "insulin_fasting",
        ],
    },
    Symptom {
        id: "heavy_periods",
        name: "Heavy periods",
        snomed: Some("386692008"),
        systems: &[SexHormones, Iron, Thyroid, Blood],
        markers: &["ferritin", "hemoglobin", "platelets", "tsh", "estradiol"],
    },
    Symptom {
        id: "pms",
        name: "Premenstrual symptoms (PMS)",
        snomed: None,
        systems: &[SexHormones, Nutrients, Neuro],
        markers: &["estradiol", "magnesium_rbc"],
    },
    Symptom {
        id: "hot_flashes",
        name: "Hot flashes or night sweats",
        snomed: None,
        systems: &[SexHormones, Thyroid],
        markers: &["estradiol", "tsh", "free_t4"],
    },
    // Muscles and joints.
    // Gout (uric acid), inflammatory arthritis (CRP) and iron overload arthropathy
    // (ferritin) are the blood-testable causes.
    Symptom {
        id: "joint_pain",
        name: "Joint pain",
        snomed: Some("57676002"),
        systems: &[Inflammation, Iron],
        markers: &["hs_crp", "uric_acid", "ferritin"],
    },
    Symptom {
        id: "muscle_aches",
        name: "Muscle aches",
        snomed: Some("68962001"),
        systems: &[Nutrients, Thyroid, Inflammation],
        markers: &[
            "vitamin_d_25oh",
            "tsh",
            "free_t4",
            "hs_crp",
            "magnesium_rbc",
        ],
    },
    Symptom {
        id: "muscle_cramps",
        name: "Muscle cramps",
        snomed: Some("55300003"),
        systems: &[Nutrients, Kidney, Thyroid],
        markers: &[
            "magnesium_serum",
            "magnesium_rbc",
            "vitamin_d_25oh",
            "creatinine",
            "egfr",
            "tsh",
        ],
    },
    Symptom {
        id: "muscle_weakness",
        name: "Muscle weakness",
        snomed: Some("26544005"),
        systems: &[Thyroid, Nutrients, Adrenal],
        markers: &[
            "tsh",
            "free_t4",
            "vitamin_d_25oh",
            "magnesium_serum",
            "cortisol_am",
        ],
    },
    // Immunity.
    Symptom {
        id: "frequent_infections",
        name: "Frequent infections",
        snomed: None,
        systems: &[Immune, Nutrients, Blood, BloodSugar],
        markers: &["wbc", "vitamin_d_25oh", "zinc", "hba1c", "glucose_fasting"],
    },
    Symptom {
        id: "slow_wound_healing",
        name: "Slow wound healing",
        snomed: None,
        systems: &[BloodSugar, Nutrients, Immune],
        markers: &["hba1c", "glucose_fasting", "zinc"],
    },
    // IgE and eosinophils are not in the catalog, so no marker is linked.
    Symptom {
        id: "seasonal_allergies",
        name: "Hay fever or seasonal allergies",
        snomed: Some("21719001"),
        systems: &[Immune, Inflammation],
        markers: &[],
    },
];

/// All symptoms, in catalog order.
pub fn symptoms() -> &'static [Symptom] {
    SYMPTOMS
}

/// Finds a symptom by id.
pub fn find(id: &str) -> Option<&'static Symptom> {
    SYMPTOMS.iter().find(|s| s.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog;
    use std::collections::HashSet;

    /// The marker ids symptoms may link to: the catalog ids agreed for issue #3.
    const MARKER_IDS: &[&str] = &[
        "tsh",
        "free_t4",
        "free_t3",
        "reverse_t3",
        "tpo_antibodies",
        "glucose_fasting",
        "hba1c",
        "insulin_fasting",
        "cholesterol_total",
        "ldl",
        "hdl",
        "triglycerides",
        "hs_crp",
        "homocysteine",
        "ferritin",
        "iron_serum",
        "tibc",
        "vitamin_d_25oh",
        "vitamin_b12",
        "folate_serum",
        "magnesium_serum",
        "magnesium_rbc",
        "zinc",
        "alt",
        "ast",
        "ggt",
        "creatinine",
        "bun",
        "egfr",
        "uric_acid",
        "dhea_s",
        "cortisol_am",
        "testosterone_total",
        "testosterone_free",
        "estradiol",
        "shbg",
        "hemoglobin",
        "hematocrit",
        "wbc",
        "platelets",
    ];

    /// The ids that existed before the catalog grew; clients may already send them.
    const ORIGINAL_IDS: &[&str] = &[
        "fatigue",
        "cold_intolerance",
        "brain_fog",
        "hair_loss",
        "weight_gain",
        "sugar_cravings",
        "bloating",
        "poor_sleep",
        "anxiety",
        "low_libido",
        "joint_pain",
        "frequent_infections",
    ];

    fn is_snake_case(id: &str) -> bool {
        id.starts_with(|c: char| c.is_ascii_lowercase())
            && !id.ends_with('_')
            && !id.contains("__")
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }

    #[test]
    fn the_catalog_offers_at_least_forty_symptoms() {
        assert!(symptoms().len() >= 40, "only {}", symptoms().len());
    }

    #[test]
    fn symptom_ids_are_unique_snake_case_ascii() {
        let mut seen = HashSet::new();
        for s in symptoms() {
            assert!(is_snake_case(s.id), "{} is not snake_case", s.id);
            assert!(seen.insert(s.id), "{} appears twice", s.id);
        }
    }

    #[test]
    fn the_original_ids_are_kept() {
        for id in ORIGINAL_IDS {
            assert!(find(id).is_some(), "{id} is missing");
        }
    }

    #[test]
    fn names_are_non_empty_unique_and_sentence_case() {
        let mut seen = HashSet::new();
        for s in symptoms() {
            assert_eq!(s.name.trim(), s.name, "{} has stray spaces", s.id);
            assert!(
                s.name.starts_with(|c: char| c.is_uppercase()),
                "{} should start with a capital",
                s.id
            );
            assert!(!s.name.ends_with('.'), "{} ends with a full stop", s.id);
            assert!(
                seen.insert(s.name.to_lowercase()),
                "{} repeats a name",
                s.id
            );
        }
    }

    #[test]
    fn every_symptom_bears_on_one_to_four_distinct_systems() {
        for s in symptoms() {
            assert!(
                (1..=4).contains(&s.systems.len()),
                "{} has {} systems",
                s.id,
                s.systems.len()
            );
            let distinct: HashSet<_> = s.systems.iter().collect();
            assert_eq!(distinct.len(), s.systems.len(), "{} repeats a system", s.id);
        }
    }

    #[test]
    fn every_symptom_links_at_most_six_distinct_known_markers() {
        for s in symptoms() {
            assert!(
                s.markers.len() <= 6,
                "{} has {} markers",
                s.id,
                s.markers.len()
            );
            let distinct: HashSet<_> = s.markers.iter().collect();
            assert_eq!(distinct.len(), s.markers.len(), "{} repeats a marker", s.id);
            for m in s.markers {
                assert!(MARKER_IDS.contains(m), "{}: {m} is not an agreed id", s.id);
            }
        }
    }

    #[test]
    fn every_linked_marker_resolves_in_the_biomarker_catalog() {
        let mut missing: Vec<&str> = symptoms()
            .iter()
            .flat_map(|s| s.markers.iter().copied())
            .filter(|m| catalog::find(m).is_none())
            .collect();
        missing.sort_unstable();
        missing.dedup();
        assert!(missing.is_empty(), "not in the catalog: {missing:?}");
    }

    #[test]
    fn well_established_links_are_present() {
        let cold = find("cold_intolerance").map(|s| (s.systems, s.markers));
        assert_eq!(
            cold,
            Some((
                &[Thyroid, Iron][..],
                &["tsh", "free_t4", "free_t3", "ferritin", "hemoglobin"][..]
            ))
        );
        let restless = find("restless_legs").map(|s| s.markers);
        assert!(restless.is_some_and(|m| m.contains(&"ferritin")));
        let thirst = find("excessive_thirst").map(|s| s.systems.first());
        assert_eq!(thirst, Some(Some(&BloodSugar)));
    }

    #[test]
    fn find_returns_the_symptom_by_id_and_nothing_for_unknown_ids() {
        assert_eq!(find("fatigue").map(|s| s.name), Some("Fatigue"));
        assert_eq!(find("hot_flashes").map(|s| s.id), Some("hot_flashes"));
        assert!(find("Fatigue").is_none());
        assert!(find("").is_none());
        assert!(find("not_a_symptom").is_none());
        for s in symptoms() {
            assert_eq!(find(s.id), Some(s));
        }
    }

    /// The Verhoeff check digit that ends every SNOMED CT identifier holds.
    fn verhoeff_ok(digits: &str) -> bool {
        const D: [[u8; 10]; 10] = [
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
            [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
            [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
            [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
            [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
            [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
            [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
            [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
            [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
            [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
        ];
        const P: [[u8; 10]; 8] = [
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
            [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
            [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
            [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
            [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
            [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
            [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
            [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
        ];
        let mut c = 0u8;
        for (i, b) in digits.bytes().rev().enumerate() {
            c = D[usize::from(c)][usize::from(P[i % 8][usize::from(b - b'0')])];
        }
        c == 0
    }

    #[test]
    fn snomed_codes_are_well_formed_international_concept_ids() {
        // A concept id of the international release: digits, no leading zero, its
        // partition identifier `00` (a concept, short format) before the check digit,
        // and a valid Verhoeff check digit. This catches a mistyped code, not a wrong
        // concept: docs/clinical-model.md lists each code with its concept's name.
        let coded: Vec<&Symptom> = symptoms().iter().filter(|s| s.snomed.is_some()).collect();
        assert!(coded.len() >= 20, "only {} symptoms are coded", coded.len());
        let mut seen = HashSet::new();
        for s in coded {
            let code = s.snomed.unwrap_or_default();
            assert!(
                (6..=18).contains(&code.len())
                    && code.bytes().all(|b| b.is_ascii_digit())
                    && !code.starts_with('0'),
                "{}: {code}",
                s.id
            );
            assert_eq!(
                &code[code.len() - 3..code.len() - 1],
                "00",
                "{}: partition",
                s.id
            );
            assert!(verhoeff_ok(code), "{}: {code} fails its check digit", s.id);
            assert!(seen.insert(code), "{}: {code} is used twice", s.id);
        }
        assert_eq!(find("fatigue").and_then(|s| s.snomed), Some("84229001"));
        assert_eq!(find("brain_fog").and_then(|s| s.snomed), None);
    }
}
