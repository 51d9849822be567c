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
        systems: &[Adrenal, Thyroid, Iron],
        markers: &["cortisol_am", "tsh", "free_t4", "ferritin"],
    },
    Symptom {
        id: "afternoon_energy_crash",
        name: "Energy crash in the afternoon",
        systems: &[BloodSugar, Adrenal],
        markers: &["glucose_fasting", "insulin_fasting", "hba1c", "cortisol_am"],
    },
    // Temperature.
    Symptom {
        id: "cold_intolerance",
        name: "Often feeling cold",
        systems: &[Thyroid, Iron],
        markers: &["tsh", "free_t4", "free_t3", "ferritin", "hemoglobin"],
    },
    Symptom {
        id: "heat_intolerance",
        name: "Often feeling hot",
        systems: &[Thyroid],
        markers: &["tsh", "free_t4", "free_t3"],
    },
    Symptom {
        id: "excessive_sweating",
        name: "Sweating more than usual",
        systems: &[Thyroid, BloodSugar, SexHormones],
        markers: &["tsh", "free_t4", "free_t3", "glucose_fasting", "estradiol"],
    },
    // Thinking and memory.
    Symptom {
        id: "brain_fog",
        name: "Brain fog",
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
        systems: &[Thyroid, Nutrients],
        markers: &["tsh", "free_t4", "zinc"],
    },
    Symptom {
        id: "brittle_nails",
        name: "Brittle nails",
        systems: &[Iron, Thyroid, Nutrients],
        markers: &["ferritin", "hemoglobin", "tsh", "zinc"],
    },
    Symptom {
        id: "pale_skin",
        name: "Pale skin",
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
        systems: &[Blood, Liver],
        markers: &["platelets", "hemoglobin", "wbc", "alt", "ast", "ggt"],
    },
    // Itch without a rash is a recognised sign of cholestasis, kidney failure, iron
    // deficiency and thyroid disease.
    Symptom {
        id: "itchy_skin",
        name: "Itchy skin without a rash",
        systems: &[Liver, Kidney, Iron, Thyroid],
        markers: &["alt", "ggt", "creatinine", "egfr", "ferritin", "tsh"],
    },
    Symptom {
        id: "acne",
        name: "Acne",
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
        systems: &[Thyroid, Kidney],
        markers: &["tsh", "free_t4", "creatinine", "egfr", "bun"],
    },
    Symptom {
        id: "mouth_ulcers",
        name: "Mouth ulcers or a sore tongue",
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
        systems: &[Gut, Thyroid],
        markers: &["tsh", "free_t4"],
    },
    Symptom {
        id: "diarrhoea",
        name: "Diarrhoea or loose stools",
        systems: &[Gut, Nutrients, Thyroid, Inflammation],
        markers: &["ferritin", "vitamin_b12", "folate_serum", "tsh", "hs_crp"],
    },
    Symptom {
        id: "bloating",
        name: "Bloating",
        systems: &[Gut],
        markers: &[],
    },
    Symptom {
        id: "gas",
        name: "Excess gas",
        systems: &[Gut],
        markers: &[],
    },
    // The markers reflect long-term acid suppression, which lowers B12 and magnesium
    // absorption; reflux itself has no blood marker.
    Symptom {
        id: "acid_reflux",
        name: "Acid reflux or heartburn",
        systems: &[Gut, Nutrients],
        markers: &["vitamin_b12", "magnesium_serum"],
    },
    // No marker in the catalog tests for food reactions, so none is linked.
    Symptom {
        id: "food_sensitivities",
        name: "Reacting badly to certain foods",
        systems: &[Gut, Immune],
        markers: &[],
    },
    Symptom {
        id: "nausea",
        name: "Nausea",
        systems: &[Gut, Liver, Kidney],
        markers: &["alt", "ast", "ggt", "creatinine", "bun"],
    },
    // Sleep.
    Symptom {
        id: "poor_sleep",
        name: "Poor sleep",
        systems: &[Adrenal, Neuro, Thyroid, Nutrients],
        markers: &["cortisol_am", "tsh", "free_t4", "magnesium_rbc"],
    },
    Symptom {
        id: "waking_at_night",
        name: "Waking in the night",
        systems: &[BloodSugar, Adrenal, Neuro],
        markers: &["glucose_fasting", "insulin_fasting", "hba1c", "cortisol_am"],
    },
    // Appetite, weight, thirst and blood sugar.
    Symptom {
        id: "sugar_cravings",
        name: "Sugar cravings",
        systems: &[BloodSugar, Adrenal],
        markers: &["glucose_fasting", "insulin_fasting", "hba1c"],
    },
    // Salt craving is a classic sign of adrenal insufficiency, where morning
    // cortisol and DHEA-S are both low.
    Symptom {
        id: "salt_cravings",
        name: "Salt cravings",
        systems: &[Adrenal],
        markers: &["cortisol_am", "dhea_s"],
    },
    Symptom {
        id: "shaky_when_meals_missed",
        name: "Shaky or irritable when a meal is missed",
        systems: &[BloodSugar, Adrenal],
        markers: &["glucose_fasting", "insulin_fasting", "hba1c", "cortisol_am"],
    },
    Symptom {
        id: "weight_gain",
        name: "Unexplained weight gain",
        systems: &[Thyroid, BloodSugar, Adrenal],
        markers: &["tsh", "free_t4", "insulin_fasting", "hba1c", "cortisol_am"],
    },
    Symptom {
        id: "difficulty_losing_weight",
        name: "Difficulty losing weight",
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
        systems: &[Thyroid, BloodSugar, Gut, Inflammation],
        markers: &["tsh", "free_t4", "glucose_fasting", "hba1c", "hs_crp"],
    },
    // Diabetes is the common cause; BUN and creatinine show dehydration and kidney
    // function.
    Symptom {
        id: "excessive_thirst",
        name: "Very thirsty",
        systems: &[BloodSugar, Kidney],
        markers: &["glucose_fasting", "hba1c", "creatinine", "bun"],
    },
    Symptom {
        id: "frequent_urination",
        name: "Needing to urinate often",
        systems: &[BloodSugar, Kidney],
        markers: &["glucose_fasting", "hba1c", "creatinine", "egfr"],
    },
    // Mood and nerves.
    Symptom {
        id: "anxiety",
        name: "Anxiety",
        systems: &[Adrenal, Thyroid, Neuro],
        markers: &["tsh", "free_t4", "free_t3", "cortisol_am"],
    },
    Symptom {
        id: "low_mood",
        name: "Low mood",
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
        systems: &[Neuro, BloodSugar, Thyroid, Adrenal],
        markers: &["glucose_fasting", "tsh", "free_t4", "cortisol_am"],
    },
    Symptom {
        id: "headaches",
        name: "Headaches",
        systems: &[Neuro, Nutrients, BloodSugar],
        markers: &["magnesium_serum", "magnesium_rbc", "glucose_fasting"],
    },
    Symptom {
        id: "numbness_tingling",
        name: "Numbness or tingling in hands or feet",
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
        systems: &[Iron, Neuro, Kidney],
        markers: &["ferritin", "iron_serum", "tibc", "creatinine", "egfr"],
    },
    Symptom {
        id: "dizziness_on_standing",
        name: "Dizzy or light-headed on standing up",
        systems: &[Iron, Blood, Adrenal],
        markers: &["hemoglobin", "hematocrit", "ferritin", "cortisol_am"],
    },
    // Heart and breathing.
    Symptom {
        id: "palpitations",
        name: "Heart palpitations",
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
        systems: &[Iron, Blood, Thyroid],
        markers: &["hemoglobin", "hematocrit", "ferritin", "tsh"],
    },
    // Sex hormones and cycle.
    Symptom {
        id: "low_libido",
        name: "Low libido",
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
        systems: &[SexHormones, Iron, Thyroid, Blood],
        markers: &["ferritin", "hemoglobin", "platelets", "tsh", "estradiol"],
    },
    Symptom {
        id: "pms",
        name: "Premenstrual symptoms (PMS)",
        systems: &[SexHormones, Nutrients, Neuro],
        markers: &["estradiol", "magnesium_rbc"],
    },
    Symptom {
        id: "hot_flashes",
        name: "Hot flashes or night sweats",
        systems: &[SexHormones, Thyroid],
        markers: &["estradiol", "tsh", "free_t4"],
    },
    // Muscles and joints.
    // Gout (uric acid), inflammatory arthritis (CRP) and iron overload arthropathy
    // (ferritin) are the blood-testable causes.
    Symptom {
        id: "joint_pain",
        name: "Joint pain",
        systems: &[Inflammation, Iron],
        markers: &["hs_crp", "uric_acid", "ferritin"],
    },
    Symptom {
        id: "muscle_aches",
        name: "Muscle aches",
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
        systems: &[Immune, Nutrients, Blood, BloodSugar],
        markers: &["wbc", "vitamin_d_25oh", "zinc", "hba1c", "glucose_fasting"],
    },
    Symptom {
        id: "slow_wound_healing",
        name: "Slow wound healing",
        systems: &[BloodSugar, Nutrients, Immune],
        markers: &["hba1c", "glucose_fasting", "zinc"],
    },
    // IgE and eosinophils are not in the catalog, so no marker is linked.
    Symptom {
        id: "seasonal_allergies",
        name: "Hay fever or seasonal allergies",
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
}
