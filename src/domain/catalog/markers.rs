//! The catalog's data: every marker with its LOINC code, units and exact conversions,
//! plausibility bounds and default ranges, each naming its source (also listed in
//! docs/clinical-model.md).

use super::BodySystem;
use super::{Conversion, DefaultRanges, Marker, UnitDef};
use crate::domain::ranges::Bounds;

/// Mass concentration of glucose: 1 mmol/L = 18.0156 mg/dL (molar mass 180.156 g/mol).
const GLUCOSE_MG_DL_PER_MMOL_L: f64 = 18.0156;
/// 25-hydroxyvitamin D: 1 ng/mL = 2.496 nmol/L (molar mass 400.64 g/mol).
const VITAMIN_D_NMOL_L_PER_NG_ML: f64 = 2.496;

pub(super) static MARKERS: &[Marker] = &[
    Marker {
        id: "tsh",
        loinc: "3016-3",
        name: "TSH",
        units: &[
            UnitDef {
                display: "mIU/L",
                ucum: "m[IU]/L",
                aliases: &["mU/L", "uIU/mL", "µIU/mL", "μIU/mL", "uU/mL", "µU/mL"],
                conversion: Conversion::Factor(1.0),
            },
        ],
        plausible: (0.001, 200.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: Bounds::from_static(Some(0.4), Some(4.2)),
            optimal: Bounds::from_static(Some(1.0), Some(2.0)),
            source: "Standard: NLM LOINC flowsheet h17 (0.4-4.2). Optimal: common functional-medicine range 1.0-2.0 (sources disagree: 1.5-3.2, 1.8-3.0)",
        }],
        systems: &[BodySystem::Thyroid],
    },
    Marker {
        id: "glucose_fasting",
        loinc: "1558-6",
        name: "Fasting glucose",
        units: &[
            UnitDef {
                display: "mg/dL",
                ucum: "mg/dL",
                aliases: &["mg/dl", "mg%"],
                conversion: Conversion::Factor(1.0),
            },
            UnitDef {
                display: "mmol/L",
                ucum: "mmol/L",
                aliases: &["mmol/l", "mM"],
                conversion: Conversion::Factor(GLUCOSE_MG_DL_PER_MMOL_L),
            },
        ],
        plausible: (10.0, 1500.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: Bounds::from_static(Some(65.0), Some(99.0)),
            optimal: Bounds::from_static(Some(75.0), Some(86.0)),
            source: "Standard: NLM LOINC flowsheet h17 (65-99 mg/dL). Optimal: OptimalDX 'Fasting Blood Glucose' (2022), 75-86 mg/dL",
        }],
        systems: &[BodySystem::BloodSugar],
    },
    Marker {
        id: "vitamin_d_25oh",
        loinc: "62292-8",
        name: "Vitamin D, 25-hydroxy",
        units: &[
            UnitDef {
                display: "ng/mL",
                ucum: "ng/mL",
                aliases: &["ng/ml", "ug/L", "µg/L"],
                conversion: Conversion::Factor(1.0),
            },
            UnitDef {
                display: "nmol/L",
                ucum: "nmol/L",
                aliases: &["nmol/l", "nM"],
                conversion: Conversion::Factor(1.0 / VITAMIN_D_NMOL_L_PER_NG_ML),
            },
        ],
        plausible: (1.0, 300.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: Bounds::from_static(Some(30.0), Some(100.0)),
            optimal: Bounds::from_static(Some(50.0), Some(80.0)),
            source: "Standard: LabCorp / Endocrine Society 2011 (30-100 ng/mL). Optimal: functional-medicine consensus 50-80 ng/mL",
        }],
        systems: &[BodySystem::Nutrients, BodySystem::Immune],
    },
];

/// The LOINC code of 25-OH vitamin D3 alone; accepted as an alias of the total marker
/// because patients' reports often print it.
pub(super) const LOINC_ALIASES: &[(&str, &str)] = &[("1989-3", "vitamin_d_25oh")];
