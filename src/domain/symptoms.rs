//! The symptom catalog: what a patient may tick on the form, each linked to the body
//! systems it bears on.

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
    Symptom {
        id: "fatigue",
        name: "Fatigue",
        systems: &[Thyroid, Adrenal, Iron, BloodSugar],
        markers: &[],
    },
    Symptom {
        id: "cold_intolerance",
        name: "Cold intolerance",
        systems: &[Thyroid, Iron],
        markers: &[],
    },
    Symptom {
        id: "brain_fog",
        name: "Brain fog",
        systems: &[Thyroid, BloodSugar, Neuro],
        markers: &[],
    },
    Symptom {
        id: "hair_loss",
        name: "Hair loss",
        systems: &[Thyroid, Iron, SexHormones],
        markers: &[],
    },
    Symptom {
        id: "weight_gain",
        name: "Unexplained weight gain",
        systems: &[Thyroid, BloodSugar, Adrenal],
        markers: &[],
    },
    Symptom {
        id: "sugar_cravings",
        name: "Sugar cravings",
        systems: &[BloodSugar, Adrenal],
        markers: &[],
    },
    Symptom {
        id: "bloating",
        name: "Bloating",
        systems: &[Gut],
        markers: &[],
    },
    Symptom {
        id: "poor_sleep",
        name: "Poor sleep",
        systems: &[Adrenal, Neuro],
        markers: &[],
    },
    Symptom {
        id: "anxiety",
        name: "Anxiety",
        systems: &[Adrenal, Thyroid, Neuro],
        markers: &[],
    },
    Symptom {
        id: "low_libido",
        name: "Low libido",
        systems: &[SexHormones, Thyroid],
        markers: &[],
    },
    Symptom {
        id: "joint_pain",
        name: "Joint pain",
        systems: &[Inflammation],
        markers: &[],
    },
    Symptom {
        id: "frequent_infections",
        name: "Frequent infections",
        systems: &[Immune, Nutrients],
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

    #[test]
    fn symptom_ids_are_unique_and_each_bears_on_a_system() {
        let mut ids: Vec<&str> = symptoms().iter().map(|s| s.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), symptoms().len());
        assert!(symptoms().iter().all(|s| !s.systems.is_empty()));
        assert_eq!(find("fatigue").map(|s| s.name), Some("Fatigue"));
    }
}
