//! The catalog's data: every marker with its LOINC code, units and exact conversions,
//! plausibility bounds and default ranges, each naming its source (also listed in
//! docs/clinical-model.md).
//!
//! Conventions every entry follows (and the tests below check):
//! - The first unit is the range unit; every other unit converts to it exactly, with
//!   a named constant derived from a published factor or molar mass.
//! - Plausibility bounds (in the range unit) reject what cannot be a result — a value
//!   10× or 100× off from a unit mix-up, a misplaced decimal — but accept the extremes
//!   seen in very sick patients: when in doubt they accept.
//! - Default ranges: `standard` is a laboratory reference interval, `optimal` a
//!   functional range lying inside it; an end a source leaves open stays open (`None`).
//!   Where sexes differ, a female and a male entry exist; the entry for everyone is the
//!   union of the two when they overlap, or the male interval where they do not (sex
//!   hormones), so that no one is flagged merely for their sex.
//! - Aliases list the spellings patients type; case, spaces and µ/μ are folded by
//!   `normalize_unit`, so no alias repeats another spelling of the same marker.

use super::{BodySystem, Conversion, DefaultRanges, Marker, Sex, UnitDef};
use crate::domain::bounds::Bounds;

use BodySystem::*;
use Conversion::Factor;

// ---------------------------------------------------------------------------------
// Conversion constants. Each is the published factor, derived from the molar mass
// where the conversion is mass ↔ amount of substance.
// ---------------------------------------------------------------------------------

/// Free T4 (thyroxine): 1 ng/dL = 12.87 pmol/L (10 ng/L ÷ 776.87 g/mol).
const T4_PMOL_L_PER_NG_DL: f64 = 12.872;
/// T3 and reverse T3 (both 650.97 g/mol): 1 pg/mL = 1 ng/L ÷ 650.97 g/mol = 1.536 pmol/L.
const T3_PMOL_L_PER_PG_ML: f64 = 1.5362;
/// Reverse T3: 1 ng/dL = 10 ng/L ÷ 650.97 g/mol = 0.01536 nmol/L.
const RT3_NMOL_L_PER_NG_DL: f64 = 0.015362;
/// Glucose: 1 mmol/L = 18.0156 mg/dL (molar mass 180.156 g/mol).
const GLUCOSE_MG_DL_PER_MMOL_L: f64 = 18.0156;
/// HbA1c, NGSP/IFCC master equation: IFCC mmol/mol = 10.929 × (NGSP % − 2.15), so
/// NGSP % = IFCC ÷ 10.929 + 2.15 (Hoelzel et al., Clin Chem 2004; NGSP conversion table).
const HBA1C_IFCC_PER_NGSP: f64 = 10.929;
/// Offset of the HbA1c master equation, in NGSP %.
const HBA1C_NGSP_OFFSET: f64 = 2.15;
/// Insulin: 1 µIU/mL = 6.00 pmol/L (IFCC/ARUP harmonised factor; older tables 6.945).
const INSULIN_PMOL_L_PER_UIU_ML: f64 = 6.0;
/// Cholesterol (total, LDL, HDL): 1 mmol/L = 38.665 mg/dL (molar mass 386.65 g/mol);
/// published as mg/dL × 0.02586 = mmol/L.
const CHOLESTEROL_MG_DL_PER_MMOL_L: f64 = 38.665;
/// Triglycerides, as triolein: 1 mmol/L = 88.57 mg/dL (885.7 g/mol); published as
/// mg/dL × 0.01129 = mmol/L.
const TRIGLYCERIDES_MG_DL_PER_MMOL_L: f64 = 88.57;
/// Iron (serum iron, TIBC): 1 µmol/L = 5.5845 µg/dL (55.845 g/mol); published as
/// µg/dL × 0.1791 = µmol/L.
const IRON_UG_DL_PER_UMOL_L: f64 = 5.5845;
/// 25-hydroxyvitamin D: 1 ng/mL = 2.496 nmol/L (molar mass 400.64 g/mol).
const VITAMIN_D_NMOL_L_PER_NG_ML: f64 = 2.496;
/// Vitamin B12 (cobalamin): 1 pmol/L = 1.35537 pg/mL (1355.37 g/mol); published as
/// pg/mL × 0.7378 = pmol/L.
const B12_PG_ML_PER_PMOL_L: f64 = 1.35537;
/// Folate (folic acid): 1 nmol/L = 0.4414 ng/mL (441.4 g/mol); published as
/// ng/mL × 2.266 = nmol/L.
const FOLATE_NG_ML_PER_NMOL_L: f64 = 0.4414;
/// Magnesium: 1 mmol/L = 2.4305 mg/dL (24.305 g/mol); published as mg/dL × 0.4114 = mmol/L.
const MAGNESIUM_MG_DL_PER_MMOL_L: f64 = 2.4305;
/// Magnesium is divalent: 1 mEq/L = 0.5 mmol/L = 1.21525 mg/dL.
const MAGNESIUM_MG_DL_PER_MEQ_L: f64 = MAGNESIUM_MG_DL_PER_MMOL_L / 2.0;
/// Zinc: 1 µmol/L = 6.538 µg/dL (65.38 g/mol); published as µg/dL × 0.153 = µmol/L.
const ZINC_UG_DL_PER_UMOL_L: f64 = 6.538;
/// Enzyme activity: 1 µkat/L = 60 U/L (1 U = 1 µmol/min = 1/60 µkat); published as
/// U/L × 0.01667 = µkat/L.
const U_L_PER_UKAT_L: f64 = 60.0;
/// Creatinine: 1 mg/dL = 88.4 µmol/L (10 mg/L ÷ 113.12 g/mol).
const CREATININE_UMOL_L_PER_MG_DL: f64 = 88.4;
/// Urea: 1 mmol/L of urea carries 2 N atoms = 2.8014 mg/dL of urea nitrogen (BUN);
/// published as BUN mg/dL × 0.357 = urea mmol/L.
const BUN_MG_DL_PER_UREA_MMOL_L: f64 = 2.8014;
/// Flow rates: 1 mL/s = 60 mL/min (eGFR in mL/s/1.73 m², published as × 0.01667).
const ML_MIN_PER_ML_S: f64 = 60.0;
/// Uric acid: 1 mg/dL = 59.48 µmol/L (10 mg/L ÷ 168.11 g/mol).
const URIC_ACID_UMOL_L_PER_MG_DL: f64 = 59.48;
/// DHEA sulfate: 1 µmol/L = 36.849 µg/dL (368.49 g/mol); published as µg/dL × 0.02714.
const DHEAS_UG_DL_PER_UMOL_L: f64 = 36.849;
/// Cortisol: 1 µg/dL = 27.59 nmol/L (10 µg/L ÷ 362.46 g/mol).
const CORTISOL_NMOL_L_PER_UG_DL: f64 = 27.589;
/// Testosterone: 1 nmol/L = 28.842 ng/dL (288.42 g/mol); published as ng/dL × 0.03467.
/// The same molar mass gives 1 pmol/L = 0.28842 pg/mL for free testosterone.
const TESTOSTERONE_NG_DL_PER_NMOL_L: f64 = 28.842;
/// Estradiol: 1 pmol/L = 0.27238 pg/mL (272.38 g/mol); published as pg/mL × 3.671.
const ESTRADIOL_PG_ML_PER_PMOL_L: f64 = 0.27238;
/// Haemoglobin as the Fe-containing monomer (16 114.5 g/mol, as Dutch and Scandinavian
/// labs report it): 1 mmol/L = 1.61145 g/dL; published as g/dL × 0.6206 = mmol/L.
const HEMOGLOBIN_G_DL_PER_MMOL_L: f64 = 1.61145;

// ---------------------------------------------------------------------------------
// Units shared by several markers.
// ---------------------------------------------------------------------------------

const MG_DL: UnitDef = UnitDef {
    display: "mg/dL",
    ucum: "mg/dL",
    aliases: &["mg%", "mg/100mL"],
    conversion: Factor(1.0),
};
const UG_DL: UnitDef = UnitDef {
    display: "µg/dL",
    ucum: "ug/dL",
    aliases: &["mcg/dL", "mcg%"],
    conversion: Factor(1.0),
};
/// Mass concentrations where ng/mL and µg/L are the same number.
const NG_ML: UnitDef = UnitDef {
    display: "ng/mL",
    ucum: "ng/mL",
    aliases: &["µg/L", "mcg/L"],
    conversion: Factor(1.0),
};
/// Mass concentrations where pg/mL and ng/L are the same number.
const PG_ML: UnitDef = UnitDef {
    display: "pg/mL",
    ucum: "pg/mL",
    aliases: &["ng/L"],
    conversion: Factor(1.0),
};
const U_L: UnitDef = UnitDef {
    display: "U/L",
    ucum: "U/L",
    aliases: &["IU/L", "units/L"],
    conversion: Factor(1.0),
};
const UKAT_L: UnitDef = UnitDef {
    display: "µkat/L",
    ucum: "ukat/L",
    aliases: &["mckat/L"],
    conversion: Factor(U_L_PER_UKAT_L),
};
const CHOLESTEROL_UNITS: &[UnitDef] = &[
    MG_DL,
    UnitDef {
        display: "mmol/L",
        ucum: "mmol/L",
        aliases: &[],
        conversion: Factor(CHOLESTEROL_MG_DL_PER_MMOL_L),
    },
];
const IRON_UNITS: &[UnitDef] = &[
    UG_DL,
    UnitDef {
        display: "µmol/L",
        ucum: "umol/L",
        aliases: &["mcmol/L"],
        conversion: Factor(IRON_UG_DL_PER_UMOL_L),
    },
];
const ENZYME_UNITS: &[UnitDef] = &[U_L, UKAT_L];
const MAGNESIUM_MMOL_L: UnitDef = UnitDef {
    display: "mmol/L",
    ucum: "mmol/L",
    aliases: &[],
    conversion: Factor(MAGNESIUM_MG_DL_PER_MMOL_L),
};
/// Cell counts: 10³/µL and 10⁹/L are the same number, spelled many ways on reports.
const CELL_COUNT_UNITS: &[UnitDef] = &[
    UnitDef {
        display: "10^3/µL",
        ucum: "10*3/uL",
        aliases: &[
            "x10^3/uL",
            "×10^3/uL",
            "x10E3/uL",
            "10E3/uL",
            "K/uL",
            "thou/uL",
            "Thousand/uL",
            "10^3/mm3",
            "K/mm3",
            "10^9/L",
            "x10^9/L",
            "×10^9/L",
            "10*9/L",
            "x10E9/L",
            "10E9/L",
            "G/L",
            "/nL",
        ],
        conversion: Factor(1.0),
    },
    // Some reports print whole cells per microlitre (6 500 /µL is 6.5 × 10³/µL).
    UnitDef {
        display: "cells/µL",
        ucum: "/uL",
        aliases: &["cells/mm3", "/mm3", "cells/mcL"],
        conversion: Factor(0.001),
    },
];

// ---------------------------------------------------------------------------------
// Helpers for the table below.
// ---------------------------------------------------------------------------------

const fn between(low: f64, high: f64) -> Bounds {
    Bounds::from_static(Some(low), Some(high))
}

const fn up_to(high: f64) -> Bounds {
    Bounds::from_static(None, Some(high))
}

const fn at_least(low: f64) -> Bounds {
    Bounds::from_static(Some(low), None)
}

pub(super) static MARKERS: &[Marker] = &[
    // ----------------------------------------------------------------- thyroid
    Marker {
        id: "tsh",
        loinc: "3016-3",
        name: "TSH",
        about: "How strongly your pituitary gland is signalling your thyroid to make its hormones.",
        units: &[UnitDef {
            display: "mIU/L",
            ucum: "m[IU]/L",
            aliases: &["mU/L", "µIU/mL", "µU/mL", "mcIU/mL", "mcU/mL"],
            conversion: Factor(1.0),
        }],
        // Untreated hypothyroidism can exceed 100-500 mIU/L; only a wild typo goes above.
        plausible: (0.001, 1000.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: between(0.4, 4.2),
            optimal: between(1.0, 2.0),
            source: "Standard: NLM LOINC h17 flowsheet (0.4-4.2). Optimal: common functional-medicine range 1.0-2.0; sources disagree (Rockwell FM Compendium 1.5-3.2, Weatherby 1.8-3.0) - LOW confidence",
        }],
        systems: &[Thyroid],
    },
    Marker {
        id: "free_t4",
        loinc: "3024-7",
        name: "Free T4",
        about: "The main thyroid hormone that is free in your blood, not bound to proteins, and ready to be used.",
        units: &[
            UnitDef {
                display: "ng/dL",
                ucum: "ng/dL",
                aliases: &[],
                conversion: Factor(1.0),
            },
            UnitDef {
                display: "pmol/L",
                ucum: "pmol/L",
                aliases: &[],
                conversion: Factor(1.0 / T4_PMOL_L_PER_NG_DL),
            },
        ],
        // Thyrotoxicosis rarely exceeds 8 ng/dL; a pmol/L value typed as ng/dL (10-25)
        // mostly lands above 12.
        plausible: (0.05, 12.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: between(0.55, 1.83),
            optimal: between(1.0, 1.5),
            source: "Standard: NLM LOINC h17 flowsheet (0.55-1.83). Optimal: Rockwell Compendium on Functional Medicine p155 (1.0-1.5)",
        }],
        systems: &[Thyroid],
    },
    Marker {
        id: "free_t3",
        loinc: "3051-0",
        name: "Free T3",
        about: "The active thyroid hormone that is free in your blood and available to your cells.",
        units: &[
            PG_ML,
            UnitDef {
                display: "pmol/L",
                ucum: "pmol/L",
                aliases: &[],
                conversion: Factor(1.0 / T3_PMOL_L_PER_PG_ML),
            },
            // Some US labs print free T3 in pg/dL (230-420 pg/dL).
            UnitDef {
                display: "pg/dL",
                ucum: "pg/dL",
                aliases: &[],
                conversion: Factor(0.01),
            },
        ],
        // Thyrotoxic values reach 20-30 pg/mL; a pg/dL value typed as pg/mL is > 100.
        plausible: (0.2, 50.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: between(1.3, 4.5),
            optimal: between(3.0, 4.0),
            source: "Standard: NLM LOINC h17 flowsheet (1.3-4.5). Optimal: functional-medicine secondary sources (3.0-4.0; also 3.2-3.8) - MEDIUM-LOW confidence",
        }],
        systems: &[Thyroid],
    },
    Marker {
        id: "reverse_t3",
        loinc: "3052-8",
        name: "Reverse T3",
        about: "An inactive form of thyroid hormone that your body makes from T4 instead of the active T3.",
        units: &[
            UnitDef {
                display: "ng/dL",
                ucum: "ng/dL",
                aliases: &[],
                conversion: Factor(1.0),
            },
            // 1 pg/mL = 0.1 ng/dL (h17 lists reverse T3 in pg/mL).
            UnitDef {
                display: "pg/mL",
                ucum: "pg/mL",
                aliases: &["ng/L"],
                conversion: Factor(0.1),
            },
            UnitDef {
                display: "nmol/L",
                ucum: "nmol/L",
                aliases: &[],
                conversion: Factor(1.0 / RT3_NMOL_L_PER_NG_DL),
            },
        ],
        // Non-thyroidal illness raises reverse T3 to 60-100 ng/dL.
        plausible: (1.0, 200.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: between(9.2, 24.1),
            optimal: between(10.0, 16.0),
            source: "Standard: Quest as commonly reported (9.2-24.1) - UNCONFIRMED. Optimal: functional-medicine secondary source (10-16) - LOW confidence",
        }],
        systems: &[Thyroid],
    },
    Marker {
        id: "tpo_antibodies",
        loinc: "8099-4",
        name: "TPO antibodies",
        about: "Antibodies your immune system has made against an enzyme in your thyroid gland.",
        units: &[UnitDef {
            display: "IU/mL",
            ucum: "[IU]/mL",
            aliases: &["kIU/L", "k[IU]/L", "U/mL", "kU/L"],
            conversion: Factor(1.0),
        }],
        // "Undetectable" is typed as 0; Hashimoto's titres run into the thousands.
        plausible: (0.0, 100_000.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: up_to(9.0),
            optimal: up_to(2.0),
            source: "Standard: Mayo/ARUP (below 9.0; assay-specific, others use 5.6 or 35). Optimal: 2.0 stands in for 'ideally undetectable' (functional-medicine secondary) - LOW confidence",
        }],
        systems: &[Thyroid, Immune],
    },
    // ------------------------------------------------------------- blood sugar
    Marker {
        id: "glucose_fasting",
        loinc: "1558-6",
        name: "Fasting glucose",
        about: "The amount of sugar in your blood after not eating for at least 8 hours.",
        units: &[
            MG_DL,
            UnitDef {
                display: "mmol/L",
                ucum: "mmol/L",
                aliases: &[],
                conversion: Factor(GLUCOSE_MG_DL_PER_MMOL_L),
            },
        ],
        // A mmol/L value typed as mg/dL (3-30) falls below 10.
        plausible: (10.0, 1500.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: between(65.0, 99.0),
            optimal: between(75.0, 86.0),
            source: "Standard: NLM LOINC h17 flowsheet (65-99). Optimal: OptimalDX 'Fasting Blood Glucose' (2022), 75-86",
        }],
        systems: &[BloodSugar],
    },
    Marker {
        id: "hba1c",
        loinc: "4548-4",
        name: "HbA1c",
        about: "The share of hemoglobin in your red blood cells that carries sugar: a picture of your blood sugar over about 3 months.",
        units: &[
            UnitDef {
                display: "%",
                ucum: "%",
                aliases: &["% Hb", "%HbA1c", "% of total Hb", "NGSP %", "DCCT %"],
                conversion: Factor(1.0),
            },
            UnitDef {
                display: "mmol/mol",
                ucum: "mmol/mol",
                aliases: &["mmol/mol Hb", "IFCC mmol/mol"],
                conversion: Conversion::Affine {
                    scale: 1.0 / HBA1C_IFCC_PER_NGSP,
                    offset: HBA1C_NGSP_OFFSET,
                },
            },
        ],
        // An IFCC value typed as % (20-130) lands above 20.
        plausible: (2.0, 20.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: between(4.0, 5.6),
            optimal: between(4.6, 5.3),
            source: "Standard: NLM LOINC h17 / ADA (below 5.7). Optimal: recalled OptimalDX range 4.6-5.3 - UNCONFIRMED (practitioner tables use 5.0-5.3)",
        }],
        systems: &[BloodSugar],
    },
    Marker {
        id: "insulin_fasting",
        loinc: "27873-9",
        name: "Fasting insulin",
        about: "The level of insulin, the hormone that moves sugar from your blood into your cells, after an overnight fast.",
        units: &[
            UnitDef {
                display: "µIU/mL",
                ucum: "u[IU]/mL",
                aliases: &["mIU/L", "mU/L", "µU/mL", "mcIU/mL", "mcU/mL"],
                conversion: Factor(1.0),
            },
            UnitDef {
                display: "pmol/L",
                ucum: "pmol/L",
                aliases: &[],
                conversion: Factor(1.0 / INSULIN_PMOL_L_PER_UIU_ML),
            },
        ],
        // Severe insulin resistance and insulinomas reach the hundreds.
        plausible: (0.1, 1000.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: between(3.0, 25.0),
            optimal: between(3.0, 6.0),
            source: "Standard: ARUP (3-25). Optimal: practitioner tables 2-6 (Kresser: below about 7), lower end raised to the ARUP limit - MEDIUM-LOW confidence",
        }],
        systems: &[BloodSugar],
    },
    // ------------------------------------------------------------------ lipids
    Marker {
        id: "cholesterol_total",
        loinc: "2093-3",
        name: "Total cholesterol",
        about: "All the cholesterol carried in your blood, counting every kind of particle that carries it.",
        units: CHOLESTEROL_UNITS,
        // A mmol/L value typed as mg/dL (2-15) falls below 20; familial
        // hypercholesterolaemia reaches 1 000 mg/dL.
        plausible: (20.0, 1500.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: up_to(199.0),
            optimal: between(160.0, 199.0),
            source: "Standard: NCEP ATP III desirable (below 200). Optimal: Weatherby legacy 160-220, capped at the NCEP limit - LOW confidence; conventional targets prefer lower",
        }],
        systems: &[Lipids],
    },
    Marker {
        id: "ldl",
        loinc: "13457-7",
        name: "LDL cholesterol",
        about: "Cholesterol carried in LDL particles, which take cholesterol from the liver out to the rest of the body.",
        units: CHOLESTEROL_UNITS,
        // Very low LDL is real (PCSK9 inhibitors, abetalipoproteinaemia), so the lower
        // bound cannot catch mmol/L typed as mg/dL.
        plausible: (1.0, 1200.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: up_to(99.0),
            optimal: up_to(99.0),
            source: "Standard: NCEP ATP III optimal (below 100). Optimal: AHA/ACC target below 100 (a guideline target, not functional-medicine specific)",
        }],
        systems: &[Lipids],
    },
    Marker {
        id: "hdl",
        loinc: "2085-9",
        name: "HDL cholesterol",
        about: "Cholesterol carried in HDL particles, which bring spare cholesterol back to the liver.",
        units: CHOLESTEROL_UNITS,
        // Tangier disease gives HDL near 2-5 mg/dL.
        plausible: (2.0, 250.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: at_least(40.0),
            optimal: between(55.0, 90.0),
            source: "Standard: common lab limit (40 and above; no upper limit). Optimal: functional-medicine 50-90 / Weatherby above 55 - LOW-MEDIUM confidence",
        }],
        systems: &[Lipids],
    },
    Marker {
        id: "triglycerides",
        loinc: "2571-8",
        name: "Triglycerides",
        about: "The main kind of fat carried in your blood, coming from food and made by your liver.",
        units: &[
            MG_DL,
            UnitDef {
                display: "mmol/L",
                ucum: "mmol/L",
                aliases: &[],
                conversion: Factor(TRIGLYCERIDES_MG_DL_PER_MMOL_L),
            },
        ],
        // Chylomicronaemia exceeds 10 000 mg/dL.
        plausible: (10.0, 15_000.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: up_to(149.0),
            optimal: between(50.0, 100.0),
            source: "Standard: NCEP ATP III (below 150). Optimal: practitioner tables 50-100 (53-88; functional medicine below 80-100) - LOW-MEDIUM confidence",
        }],
        systems: &[Lipids, BloodSugar],
    },
    // ------------------------------------------------------------ inflammation
    Marker {
        id: "hs_crp",
        loinc: "30522-7",
        name: "hs-CRP",
        about: "A protein your liver releases when there is inflammation somewhere in the body, measured with a sensitive test.",
        units: &[
            UnitDef {
                display: "mg/L",
                ucum: "mg/L",
                aliases: &["µg/mL", "mcg/mL"],
                conversion: Factor(1.0),
            },
            // Some labs print CRP in mg/dL. The nmol/L of some SI tables rests on a
            // disputed molar mass and no patient report uses it, so it is not accepted.
            UnitDef {
                display: "mg/dL",
                ucum: "mg/dL",
                aliases: &[],
                conversion: Factor(10.0),
            },
        ],
        // Sepsis drives CRP above 300-500 mg/L.
        plausible: (0.01, 600.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: up_to(3.0),
            optimal: up_to(1.0),
            source: "Standard: AHA/CDC cardiovascular risk (below 3.0; Rockwell p890). Optimal: AHA low risk (below 1.0)",
        }],
        systems: &[Inflammation],
    },
    Marker {
        id: "homocysteine",
        loinc: "13965-9",
        name: "Homocysteine",
        about: "An amino acid your body normally recycles with the help of vitamins B12, B6 and folate.",
        units: &[UnitDef {
            display: "µmol/L",
            ucum: "umol/L",
            aliases: &["mcmol/L"],
            conversion: Factor(1.0),
        }],
        // Homocystinuria reaches 100-400 µmol/L.
        plausible: (1.0, 500.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: between(5.0, 15.0),
            optimal: between(5.0, 7.2),
            source: "Standard: common lab interval (5-15; Life Extension). Optimal: recalled OptimalDX 5-7.2 - UNCONFIRMED (LEF below 8; functional medicine below 7)",
        }],
        systems: &[Inflammation, Nutrients],
    },
    // -------------------------------------------------------------------- iron
    Marker {
        id: "ferritin",
        loinc: "2276-4",
        name: "Ferritin",
        about: "The protein that stores iron: its level reflects how much iron your body holds in reserve.",
        units: &[NG_ML],
        // Haemophagocytic syndromes exceed 100 000 ng/mL.
        plausible: (0.5, 200_000.0),
        defaults: &[
            DefaultRanges {
                sex: None,
                standard: between(15.0, 400.0),
                optimal: between(45.0, 79.0),
                source: "Standard: union of the female and male DiaSys intervals (15-400). Optimal: OptimalDX 'An Update on Ferritin' (May 2023), 45-79",
            },
            DefaultRanges {
                sex: Some(Sex::Female),
                standard: between(15.0, 150.0),
                optimal: between(45.0, 79.0),
                source: "Standard: DiaSys reference ranges, women under 50 (15-150; rises toward male values after menopause). Optimal: OptimalDX (May 2023), 45-79",
            },
            DefaultRanges {
                sex: Some(Sex::Male),
                standard: between(30.0, 400.0),
                optimal: between(45.0, 79.0),
                source: "Standard: DiaSys reference ranges, men (30-400). Optimal: OptimalDX (May 2023), 45-79",
            },
        ],
        systems: &[Iron, Inflammation],
    },
    Marker {
        id: "iron_serum",
        loinc: "2498-4",
        name: "Iron, serum",
        about: "The amount of iron travelling in your blood at the moment the sample was taken.",
        units: IRON_UNITS,
        // Iron poisoning exceeds 500 µg/dL.
        plausible: (2.0, 1000.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: between(35.0, 140.0),
            optimal: between(85.0, 130.0),
            source: "Standard: NLM LOINC h17 flowsheet (35-140). Optimal: Weatherby legacy 85-130 (Rockwell p131 40-130) - MEDIUM confidence",
        }],
        systems: &[Iron],
    },
    Marker {
        id: "tibc",
        loinc: "2500-7",
        name: "TIBC",
        about: "How much iron the transport protein in your blood could carry if it were fully loaded.",
        units: IRON_UNITS,
        // A µmol/L value typed as µg/dL (45-72) falls below 70.
        plausible: (70.0, 1000.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: between(245.0, 400.0),
            optimal: between(250.0, 350.0),
            source: "Standard: NLM LOINC h17 flowsheet (245-400). Optimal: Weatherby legacy / practitioner tables (250-350) - MEDIUM-LOW confidence",
        }],
        systems: &[Iron],
    },
    // --------------------------------------------------------------- nutrients
    Marker {
        id: "vitamin_d_25oh",
        loinc: "62292-8",
        name: "Vitamin D, 25-hydroxy",
        about: "The stored form of vitamin D in your blood, which comes from sunlight, food and supplements.",
        units: &[
            NG_ML,
            UnitDef {
                display: "nmol/L",
                ucum: "nmol/L",
                aliases: &[],
                conversion: Factor(1.0 / VITAMIN_D_NMOL_L_PER_NG_ML),
            },
        ],
        // Intoxication cases report several hundred ng/mL.
        plausible: (1.0, 1000.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: between(30.0, 100.0),
            optimal: between(50.0, 80.0),
            source: "Standard: LabCorp / Endocrine Society 2011 (30-100). Optimal: functional-medicine consensus 50-80",
        }],
        systems: &[Nutrients, Immune],
    },
    Marker {
        id: "vitamin_b12",
        loinc: "2132-9",
        name: "Vitamin B12",
        about: "The level of vitamin B12, which your body uses to make red blood cells and look after nerves.",
        units: &[
            PG_ML,
            UnitDef {
                display: "pmol/L",
                ucum: "pmol/L",
                aliases: &[],
                conversion: Factor(B12_PG_ML_PER_PMOL_L),
            },
        ],
        // Supplementation and liver or myeloproliferative disease give several thousand.
        plausible: (20.0, 20_000.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: between(165.0, 1600.0),
            optimal: between(600.0, 1600.0),
            source: "Standard: NLM LOINC h17 flowsheet (165-1600). Optimal: functional medicine above 600 (Weatherby legacy 450-2000), capped at the standard upper limit - LOW confidence",
        }],
        systems: &[Nutrients, Neuro],
    },
    Marker {
        id: "folate_serum",
        loinc: "2284-8",
        name: "Folate, serum",
        about: "The level of folate (vitamin B9) in your blood, which your body uses to make new cells.",
        units: &[
            NG_ML,
            UnitDef {
                display: "nmol/L",
                ucum: "nmol/L",
                aliases: &[],
                conversion: Factor(FOLATE_NG_ML_PER_NMOL_L),
            },
        ],
        // Assays top out near 25 ng/mL; red-cell folate (hundreds) typed here is refused.
        plausible: (0.3, 100.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: at_least(5.4),
            optimal: at_least(15.0),
            source: "Standard: NLM LOINC h17 flowsheet (above 5.4, no upper limit). Optimal: functional-medicine secondary (above 15, no upper limit) - LOW confidence",
        }],
        systems: &[Nutrients],
    },
    Marker {
        id: "magnesium_serum",
        loinc: "19123-9",
        name: "Magnesium, serum",
        about: "The magnesium in the liquid part of your blood; most of the body's magnesium sits in cells and bone.",
        units: &[
            MG_DL,
            MAGNESIUM_MMOL_L,
            UnitDef {
                display: "mEq/L",
                ucum: "meq/L",
                aliases: &[],
                conversion: Factor(MAGNESIUM_MG_DL_PER_MEQ_L),
            },
        ],
        // Toxic hypermagnesaemia reaches 10-15 mg/dL.
        plausible: (0.3, 15.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: between(1.6, 2.6),
            optimal: between(2.2, 2.6),
            source: "Standard: common lab interval 1.6-2.6 (h17 lists 1.3-2.7). Optimal: Grisanti reference guide 2.2-2.6 - MEDIUM confidence",
        }],
        systems: &[Nutrients],
    },
    Marker {
        id: "magnesium_rbc",
        loinc: "2597-3",
        name: "Magnesium, RBC",
        about: "The magnesium inside your red blood cells, closer to what your body's cells hold.",
        units: &[MG_DL, MAGNESIUM_MMOL_L],
        plausible: (1.0, 15.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: between(4.2, 6.8),
            optimal: between(6.0, 6.5),
            source: "Standard: LabCorp (4.2-6.8; Quest 4.0-6.4). Optimal: functional medicine 6.0-6.5 - LOW confidence",
        }],
        systems: &[Nutrients],
    },
    Marker {
        id: "zinc",
        loinc: "5763-8",
        name: "Zinc",
        about: "The level of zinc, a mineral your immune system, skin and many enzymes rely on.",
        units: &[
            UG_DL,
            UnitDef {
                display: "µmol/L",
                ucum: "umol/L",
                aliases: &["mcmol/L"],
                conversion: Factor(ZINC_UG_DL_PER_UMOL_L),
            },
        ],
        // Severe deficiency sits near 20-30 µg/dL; toxicity rarely exceeds a few hundred.
        plausible: (10.0, 700.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: between(60.0, 130.0),
            optimal: between(90.0, 120.0),
            source: "Standard: typical lab interval 60-130 - UNCONFIRMED, lab-specific. Optimal: functional medicine 90-120 - LOW confidence",
        }],
        systems: &[Nutrients, Immune],
    },
    // ------------------------------------------------------------------- liver
    Marker {
        id: "alt",
        loinc: "1742-6",
        name: "ALT",
        about: "A liver enzyme that passes into the blood when liver cells are strained or damaged.",
        units: ENZYME_UNITS,
        // Acute liver failure reaches 10 000 U/L; a µkat/L value typed as U/L is below 1.
        plausible: (1.0, 20_000.0),
        defaults: &[
            DefaultRanges {
                sex: None,
                standard: between(7.0, 55.0),
                optimal: between(9.0, 23.0),
                source: "Standard: union of the Mayo Clinic Laboratories intervals (7-55). Optimal: union of the practitioner-table ranges below (9-23) - LOW-MEDIUM confidence",
            },
            DefaultRanges {
                sex: Some(Sex::Female),
                standard: between(7.0, 45.0),
                optimal: between(9.0, 19.0),
                source: "Standard: Mayo Clinic Laboratories, females (7-45). Optimal: practitioner table, female 9-19 (unattributed, ODX-style) - LOW-MEDIUM confidence",
            },
            DefaultRanges {
                sex: Some(Sex::Male),
                standard: between(7.0, 55.0),
                optimal: between(13.0, 23.0),
                source: "Standard: Mayo Clinic Laboratories, males (7-55; h17). Optimal: practitioner table, male 13-23 (unattributed, ODX-style) - LOW-MEDIUM confidence",
            },
        ],
        systems: &[Liver],
    },
    Marker {
        id: "ast",
        loinc: "1920-8",
        name: "AST",
        about: "An enzyme of the liver, heart and muscles that passes into the blood when those cells are strained.",
        units: ENZYME_UNITS,
        // Ischaemic hepatitis and rhabdomyolysis exceed 20 000 U/L.
        plausible: (1.0, 40_000.0),
        defaults: &[
            DefaultRanges {
                sex: None,
                standard: between(8.0, 48.0),
                optimal: between(12.0, 25.0),
                source: "Standard: union of the Mayo Clinic Laboratories intervals (8-48). Optimal: union of the practitioner-table ranges below (12-25) - LOW-MEDIUM confidence",
            },
            DefaultRanges {
                sex: Some(Sex::Female),
                standard: between(8.0, 43.0),
                optimal: between(12.0, 22.0),
                source: "Standard: Mayo Clinic Laboratories, females (8-43). Optimal: practitioner table, female 12-22 (unattributed) - LOW-MEDIUM confidence",
            },
            DefaultRanges {
                sex: Some(Sex::Male),
                standard: between(8.0, 48.0),
                optimal: between(15.0, 25.0),
                source: "Standard: Mayo Clinic Laboratories, males (8-48; h17). Optimal: practitioner table, male 15-25 (unattributed) - LOW-MEDIUM confidence",
            },
        ],
        systems: &[Liver],
    },
    Marker {
        id: "ggt",
        loinc: "2324-2",
        name: "GGT",
        about: "An enzyme of the liver and bile ducts that also rises with alcohol and some medicines.",
        units: ENZYME_UNITS,
        // Cholestasis drives GGT into the thousands.
        plausible: (1.0, 10_000.0),
        defaults: &[
            DefaultRanges {
                sex: None,
                standard: between(5.0, 61.0),
                optimal: between(12.0, 24.0),
                source: "Standard: union of the Mayo Clinic Laboratories intervals (5-61). Optimal: practitioner table 12-24 (unattributed; Weatherby legacy 10-26) - LOW confidence",
            },
            DefaultRanges {
                sex: Some(Sex::Female),
                standard: between(5.0, 36.0),
                optimal: between(12.0, 24.0),
                source: "Standard: Mayo Clinic Laboratories, females 18 and over (5-36). Optimal: practitioner table 12-24 (unattributed) - LOW confidence",
            },
            DefaultRanges {
                sex: Some(Sex::Male),
                standard: between(8.0, 61.0),
                optimal: between(12.0, 24.0),
                source: "Standard: Mayo Clinic Laboratories, males 18 and over (8-61). Optimal: practitioner table 12-24 (unattributed) - LOW confidence",
            },
        ],
        systems: &[Liver],
    },
    // ------------------------------------------------------------------ kidney
    Marker {
        id: "creatinine",
        loinc: "2160-0",
        name: "Creatinine",
        about: "A waste product of your muscles that your kidneys filter out of the blood.",
        units: &[
            MG_DL,
            UnitDef {
                display: "µmol/L",
                ucum: "umol/L",
                aliases: &["mcmol/L"],
                conversion: Factor(1.0 / CREATININE_UMOL_L_PER_MG_DL),
            },
        ],
        // Kidney failure reaches 15-20 mg/dL; a µmol/L value typed as mg/dL (40-130)
        // lands above 30.
        plausible: (0.1, 30.0),
        defaults: &[
            DefaultRanges {
                sex: None,
                standard: between(0.59, 1.35),
                optimal: between(0.8, 1.1),
                source: "Standard: union of the Mayo Clinic Laboratories intervals (0.59-1.35). Optimal: Weatherby legacy 0.8-1.1 (LEF below 1.1) - MEDIUM confidence",
            },
            DefaultRanges {
                sex: Some(Sex::Female),
                standard: between(0.59, 1.04),
                optimal: between(0.8, 1.04),
                source: "Standard: Mayo Clinic Laboratories, females 16 and over (0.59-1.04). Optimal: Weatherby legacy 0.8-1.1, capped at the female upper limit - MEDIUM confidence",
            },
            DefaultRanges {
                sex: Some(Sex::Male),
                standard: between(0.74, 1.35),
                optimal: between(0.8, 1.1),
                source: "Standard: Mayo Clinic Laboratories, males 15 and over (0.74-1.35). Optimal: Weatherby legacy 0.8-1.1 - MEDIUM confidence",
            },
        ],
        systems: &[Kidney],
    },
    Marker {
        id: "bun",
        loinc: "3094-0",
        name: "BUN (urea nitrogen)",
        about: "The nitrogen in urea, a waste product of breaking down protein that your kidneys clear from the blood.",
        units: &[
            MG_DL,
            // SI reports give urea itself in mmol/L.
            UnitDef {
                display: "mmol/L",
                ucum: "mmol/L",
                aliases: &[],
                conversion: Factor(BUN_MG_DL_PER_UREA_MMOL_L),
            },
        ],
        // Uraemia exceeds 150-200 mg/dL.
        plausible: (1.0, 300.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: between(7.0, 20.0),
            optimal: between(13.0, 18.0),
            source: "Standard: NLM LOINC h17 flowsheet (7-20). Optimal: Weatherby legacy 13-18 (Kharrazian 10-16) - LOW-MEDIUM confidence",
        }],
        systems: &[Kidney],
    },
    Marker {
        id: "egfr",
        loinc: "98979-8",
        name: "eGFR",
        about: "An estimate, worked out from creatinine, of how much blood your kidneys filter each minute.",
        units: &[
            UnitDef {
                display: "mL/min/1.73m2",
                ucum: "mL/min/{1.73_m2}",
                aliases: &["mL/min/1.73m²", "mL/min/1.73m^2", "mL/min/BSA", "mL/min"],
                conversion: Factor(1.0),
            },
            UnitDef {
                display: "mL/s/1.73m2",
                ucum: "mL/s/{1.73_m2}",
                aliases: &["mL/s/1.73m²", "mL/s/1.73m^2", "mL/s"],
                conversion: Factor(ML_MIN_PER_ML_S),
            },
        ],
        // Hyperfiltration rarely exceeds 180.
        plausible: (1.0, 250.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: at_least(60.0),
            optimal: at_least(90.0),
            source: "Standard: KDIGO (60 and above; no upper limit). Optimal: practitioner (90 and above; KDIGO stage G1)",
        }],
        systems: &[Kidney],
    },
    Marker {
        id: "uric_acid",
        loinc: "3084-1",
        name: "Uric acid",
        about: "A waste product of breaking down purines, from food and your own cells, cleared by your kidneys.",
        units: &[
            MG_DL,
            UnitDef {
                display: "µmol/L",
                ucum: "umol/L",
                aliases: &["mcmol/L"],
                conversion: Factor(1.0 / URIC_ACID_UMOL_L_PER_MG_DL),
            },
            // British reports print urate in mmol/L (0.20-0.43).
            UnitDef {
                display: "mmol/L",
                ucum: "mmol/L",
                aliases: &[],
                conversion: Factor(1000.0 / URIC_ACID_UMOL_L_PER_MG_DL),
            },
        ],
        // Tumour lysis reaches 20-30 mg/dL; a µmol/L value typed as mg/dL is above 100.
        plausible: (0.1, 30.0),
        defaults: &[
            DefaultRanges {
                sex: None,
                standard: between(2.7, 8.0),
                optimal: between(3.2, 6.0),
                source: "Standard: union of the Mayo Clinic Laboratories intervals (2.7-8.0). Optimal: union of the Weatherby ranges below (3.2-6.0) - LOW-MEDIUM confidence",
            },
            DefaultRanges {
                sex: Some(Sex::Female),
                standard: between(2.7, 6.1),
                optimal: between(3.2, 5.5),
                source: "Standard: Mayo Clinic Laboratories, females 13 and over (2.7-6.1). Optimal: Weatherby legacy, female 3.2-5.5 (recalled) - LOW-MEDIUM confidence",
            },
            DefaultRanges {
                sex: Some(Sex::Male),
                standard: between(3.7, 8.0),
                optimal: between(3.7, 6.0),
                source: "Standard: Mayo Clinic Laboratories, males 16 and over (3.7-8.0). Optimal: Weatherby legacy, male 3.7-6.0 (recalled) - LOW-MEDIUM confidence",
            },
        ],
        systems: &[Kidney, Inflammation],
    },
    // ---------------------------------------------------------- adrenal, hormones
    Marker {
        id: "dhea_s",
        loinc: "2191-5",
        name: "DHEA-S",
        about: "A hormone made mostly by your adrenal glands, which the body can turn into sex hormones.",
        units: &[
            UG_DL,
            UnitDef {
                display: "µmol/L",
                ucum: "umol/L",
                aliases: &["mcmol/L"],
                conversion: Factor(DHEAS_UG_DL_PER_UMOL_L),
            },
        ],
        // Adrenal tumours and congenital adrenal hyperplasia exceed 1 000 µg/dL.
        plausible: (1.0, 3000.0),
        defaults: &[
            DefaultRanges {
                sex: None,
                standard: between(13.0, 640.0),
                optimal: between(200.0, 400.0),
                source: "Standard: union of the Warde intervals below (13-640). Optimal: functional-medicine heuristic for men, 200-400 - LOW confidence; strongly age dependent",
            },
            DefaultRanges {
                sex: Some(Sex::Female),
                standard: between(13.0, 380.0),
                optimal: between(13.0, 380.0),
                source: "Standard: Warde Medical Laboratory, women 20-79 across age bands (13-380; strongly age dependent). Optimal: none published for women - the standard range",
            },
            DefaultRanges {
                sex: Some(Sex::Male),
                standard: between(28.0, 640.0),
                optimal: between(200.0, 400.0),
                source: "Standard: Warde Medical Laboratory, men 20-79 across age bands (28-640; strongly age dependent). Optimal: functional-medicine heuristic 200-400 - LOW confidence",
            },
        ],
        systems: &[Adrenal, SexHormones],
    },
    Marker {
        id: "cortisol_am",
        loinc: "9813-7",
        name: "Cortisol, morning",
        about: "Your main stress hormone, measured in the morning when its level is usually highest.",
        units: &[
            UG_DL,
            UnitDef {
                display: "nmol/L",
                ucum: "nmol/L",
                aliases: &[],
                conversion: Factor(1.0 / CORTISOL_NMOL_L_PER_UG_DL),
            },
        ],
        // Ectopic ACTH can exceed 100 µg/dL; most nmol/L values (150-700) typed as
        // µg/dL land above 200.
        plausible: (0.2, 200.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: between(7.0, 21.0),
            optimal: between(10.0, 15.0),
            source: "Standard: NLM LOINC h17 flowsheet, morning (7-21). Optimal: functional-medicine heuristic 10-15 - LOW confidence",
        }],
        systems: &[Adrenal],
    },
    Marker {
        id: "testosterone_total",
        loinc: "2986-8",
        name: "Testosterone, total",
        about: "All the testosterone in your blood, both the part bound to proteins and the free part.",
        units: &[
            UnitDef {
                display: "ng/dL",
                ucum: "ng/dL",
                aliases: &[],
                conversion: Factor(1.0),
            },
            UnitDef {
                display: "nmol/L",
                ucum: "nmol/L",
                aliases: &[],
                conversion: Factor(TESTOSTERONE_NG_DL_PER_NMOL_L),
            },
            UnitDef {
                display: "ng/mL",
                ucum: "ng/mL",
                aliases: &["µg/L", "mcg/L"],
                conversion: Factor(100.0),
            },
        ],
        // Supraphysiological replacement reaches 2 000-3 000 ng/dL.
        plausible: (1.0, 5000.0),
        defaults: &[
            DefaultRanges {
                sex: None,
                standard: between(240.0, 950.0),
                optimal: between(550.0, 900.0),
                source: "Standard: the male interval, used when sex is not given (NLM LOINC h17, 240-950). Optimal: functional-medicine heuristic for men, 550-900 - LOW confidence",
            },
            DefaultRanges {
                sex: Some(Sex::Female),
                standard: between(5.0, 55.0),
                optimal: between(5.0, 55.0),
                source: "Standard: ARUP LC-MS/MS, women (premenopausal 9-55, postmenopausal 5-32). Optimal: none published for women - the standard range",
            },
            DefaultRanges {
                sex: Some(Sex::Male),
                standard: between(240.0, 950.0),
                optimal: between(550.0, 900.0),
                source: "Standard: NLM LOINC h17 flowsheet, adult men (240-950). Optimal: functional-medicine heuristic 550-900 - LOW confidence",
            },
        ],
        systems: &[SexHormones],
    },
    Marker {
        id: "testosterone_free",
        loinc: "2991-8",
        name: "Testosterone, free",
        about: "The small share of testosterone not bound to proteins, which your tissues can use.",
        units: &[
            PG_ML,
            UnitDef {
                display: "pmol/L",
                ucum: "pmol/L",
                aliases: &[],
                conversion: Factor(TESTOSTERONE_NG_DL_PER_NMOL_L / 100.0),
            },
            UnitDef {
                display: "ng/dL",
                ucum: "ng/dL",
                aliases: &[],
                conversion: Factor(10.0),
            },
        ],
        // Women sit near 1 pg/mL; supraphysiological replacement exceeds 1 000 pg/mL.
        plausible: (0.05, 3000.0),
        defaults: &[
            DefaultRanges {
                sex: None,
                standard: between(47.0, 244.0),
                optimal: between(100.0, 200.0),
                source: "Standard: the male interval, used when sex is not given (ARUP equilibrium dialysis, men 18 and over, 47-244). Optimal: functional-medicine heuristic for men, 100-200 - LOW confidence",
            },
            DefaultRanges {
                sex: Some(Sex::Female),
                standard: between(0.6, 9.2),
                optimal: between(0.6, 9.2),
                source: "Standard: ARUP, women 18 and over across age bands (0.6-9.2). Optimal: none published for women - the standard range",
            },
            DefaultRanges {
                sex: Some(Sex::Male),
                standard: between(47.0, 244.0),
                optimal: between(100.0, 200.0),
                source: "Standard: ARUP equilibrium dialysis, men 18 and over (47-244; Quest 46-224). Optimal: functional-medicine heuristic 100-200 - LOW confidence",
            },
        ],
        systems: &[SexHormones],
    },
    Marker {
        id: "estradiol",
        loinc: "2243-4",
        name: "Estradiol",
        about: "The main form of estrogen, a sex hormone made mostly by the ovaries and in smaller amounts in men.",
        units: &[
            PG_ML,
            UnitDef {
                display: "pmol/L",
                ucum: "pmol/L",
                aliases: &[],
                conversion: Factor(ESTRADIOL_PG_ML_PER_PMOL_L),
            },
        ],
        // Pregnancy reaches 30 000 pg/mL; LC-MS/MS measures below 1 pg/mL.
        plausible: (0.1, 50_000.0),
        defaults: &[
            DefaultRanges {
                sex: None,
                standard: up_to(357.0),
                optimal: up_to(357.0),
                source: "Standard: union of the Quest intervals below (up to 357; h17 gives 0-500). Optimal: none published - the standard range",
            },
            DefaultRanges {
                sex: Some(Sex::Female),
                standard: up_to(357.0),
                optimal: up_to(357.0),
                source: "Standard: Quest immunoassay, women across the cycle and after menopause (postmenopausal up to 31, mid-cycle 64-357); cycle-phase dependent. Optimal: none published - the standard range",
            },
            DefaultRanges {
                sex: Some(Sex::Male),
                standard: up_to(39.0),
                optimal: up_to(39.0),
                source: "Standard: Quest immunoassay, men (up to 39). Optimal: none published - the standard range",
            },
        ],
        systems: &[SexHormones],
    },
    Marker {
        id: "shbg",
        loinc: "13967-5",
        name: "SHBG",
        about: "A protein that binds sex hormones in your blood, setting how much of them is free to act.",
        units: &[UnitDef {
            display: "nmol/L",
            ucum: "nmol/L",
            aliases: &[],
            conversion: Factor(1.0),
        }],
        // Pregnancy, hyperthyroidism and cirrhosis reach several hundred.
        plausible: (1.0, 800.0),
        defaults: &[
            DefaultRanges {
                sex: None,
                standard: between(13.3, 135.5),
                optimal: between(13.3, 135.5),
                source: "Standard: union of the Mayo Clinic Laboratories intervals below (13.3-135.5). Optimal: none published - the standard range",
            },
            DefaultRanges {
                sex: Some(Sex::Female),
                standard: between(16.8, 135.5),
                optimal: between(16.8, 135.5),
                source: "Standard: Mayo Clinic Laboratories, women (18-46: 18.2-135.5; postmenopausal 16.8-125.2). Optimal: none published - the standard range",
            },
            DefaultRanges {
                sex: Some(Sex::Male),
                standard: between(13.3, 89.5),
                optimal: between(13.3, 89.5),
                source: "Standard: Mayo Clinic Laboratories, men 18 and over (13.3-89.5). Optimal: none published - the standard range",
            },
        ],
        systems: &[SexHormones],
    },
    // ------------------------------------------------------------ blood counts
    Marker {
        id: "hemoglobin",
        loinc: "718-7",
        name: "Hemoglobin",
        about: "The iron-rich protein in red blood cells that carries oxygen around your body.",
        units: &[
            UnitDef {
                display: "g/dL",
                ucum: "g/dL",
                aliases: &["g%", "gm/dL", "g/100mL"],
                conversion: Factor(1.0),
            },
            UnitDef {
                display: "g/L",
                ucum: "g/L",
                aliases: &[],
                conversion: Factor(0.1),
            },
            UnitDef {
                display: "mmol/L",
                ucum: "mmol/L",
                aliases: &[],
                conversion: Factor(HEMOGLOBIN_G_DL_PER_MMOL_L),
            },
        ],
        // A g/L value typed as g/dL (80-180) lands above 26.
        plausible: (2.0, 26.0),
        defaults: &[
            DefaultRanges {
                sex: None,
                standard: between(11.6, 16.6),
                optimal: between(13.5, 15.5),
                source: "Standard: union of the Mayo Clinic intervals (11.6-16.6). Optimal: practitioner tables spanning both sexes (13.5-15.5) - MEDIUM-LOW confidence",
            },
            DefaultRanges {
                sex: Some(Sex::Female),
                standard: between(11.6, 15.0),
                optimal: between(13.5, 14.5),
                source: "Standard: Mayo Clinic, women (11.6-15.0). Optimal: practitioner tables, female 13.5-14.5 (Weatherby similar) - MEDIUM-LOW confidence",
            },
            DefaultRanges {
                sex: Some(Sex::Male),
                standard: between(13.2, 16.6),
                optimal: between(14.5, 15.5),
                source: "Standard: Mayo Clinic, men (13.2-16.6). Optimal: practitioner tables, male 14.5-15.5 (Weatherby similar) - MEDIUM-LOW confidence",
            },
        ],
        systems: &[Blood, Iron],
    },
    Marker {
        id: "hematocrit",
        loinc: "4544-3",
        name: "Hematocrit",
        about: "The share of your blood's volume taken up by red blood cells.",
        units: &[
            UnitDef {
                display: "%",
                ucum: "%",
                aliases: &[],
                conversion: Factor(1.0),
            },
            UnitDef {
                display: "L/L",
                ucum: "L/L",
                aliases: &[],
                conversion: Factor(100.0),
            },
        ],
        // A fraction typed as % (0.3-0.6) falls below 5.
        plausible: (5.0, 80.0),
        defaults: &[
            DefaultRanges {
                sex: None,
                standard: between(35.5, 48.6),
                optimal: between(38.0, 48.0),
                source: "Standard: union of the Mayo Clinic intervals (35.5-48.6). Optimal: practitioner table 38-48 - MEDIUM-LOW confidence",
            },
            DefaultRanges {
                sex: Some(Sex::Female),
                standard: between(35.5, 44.9),
                optimal: between(38.0, 44.9),
                source: "Standard: Mayo Clinic, women (35.5-44.9). Optimal: practitioner table 38-48, capped at the female upper limit - MEDIUM-LOW confidence",
            },
            DefaultRanges {
                sex: Some(Sex::Male),
                standard: between(38.3, 48.6),
                optimal: between(38.3, 48.0),
                source: "Standard: Mayo Clinic, men (38.3-48.6). Optimal: practitioner table 38-48, raised to the male lower limit - MEDIUM-LOW confidence",
            },
        ],
        systems: &[Blood],
    },
    Marker {
        id: "wbc",
        loinc: "6690-2",
        name: "White blood cells",
        about: "The number of white blood cells, the cells that fight infection, in a set amount of blood.",
        units: CELL_COUNT_UNITS,
        // Leukaemias exceed 500; a count per µL typed as 10³/µL (thousands) is above 1 000.
        plausible: (0.05, 1000.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: between(4.5, 11.0),
            optimal: between(5.5, 7.5),
            source: "Standard: US Core example / common lab interval (4.5-11.0). Optimal: practitioner table 5.5-7.5 (Weatherby legacy 5.0-8.0) - MEDIUM-LOW confidence",
        }],
        systems: &[Blood, Immune],
    },
    Marker {
        id: "platelets",
        loinc: "777-3",
        name: "Platelets",
        about: "The number of platelets, the small cell fragments that help your blood to clot.",
        units: CELL_COUNT_UNITS,
        // Essential thrombocythaemia exceeds 1 000; a count per µL typed here is far above.
        plausible: (1.0, 3000.0),
        defaults: &[DefaultRanges {
            sex: None,
            standard: between(150.0, 450.0),
            optimal: between(200.0, 300.0),
            source: "Standard: US Core example / common lab interval (150-450). Optimal: practitioner table 200-300 - LOW confidence",
        }],
        systems: &[Blood],
    },
];

/// Other LOINC codes labs print for the same measurement, with the catalog id they
/// resolve to. Only well-known codes whose results are judged against the same ranges.
pub(super) const LOINC_ALIASES: &[(&str, &str)] = &[
    // 25-OH vitamin D3 alone; patients' reports often print it for the total.
    ("1989-3", "vitamin_d_25oh"),
    // Glucose [Mass/volume] in Serum or Plasma: the generic code many labs use for a
    // fasting draw.
    ("2345-7", "glucose_fasting"),
    // Hemoglobin A1c/Hemoglobin.total in Blood by HPLC (reported in NGSP %).
    ("17856-6", "hba1c"),
    // Insulin [Units/volume] in Serum or Plasma (generic; US labs).
    ("20448-7", "insulin_fasting"),
    // LDL cholesterol measured directly rather than calculated.
    ("18262-6", "ldl"),
    // Ferritin by immunoassay (Mayo Clinic Laboratories).
    ("20567-4", "ferritin"),
    // Magnesium [Mass/volume] in red blood cells (Mayo/Medtox).
    ("26746-8", "magnesium_rbc"),
    // ALT and AST measured with pyridoxal 5'-phosphate (the IFCC method).
    ("1743-4", "alt"),
    ("30239-8", "ast"),
    // Earlier eGFR equations (MDRD; CKD-EPI 2009), judged against the same limits.
    ("33914-3", "egfr"),
    ("62238-1", "egfr"),
    // Hematocrit (generic, not only automated count).
    ("20570-8", "hematocrit"),
];

#[cfg(test)]
mod tests {
    use super::super::{find, markers, normalize_unit};
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn marker(id: &str) -> &'static Marker {
        find(id).unwrap_or_else(|| panic!("{id} is not in the catalog"))
    }

    fn relative_error(actual: f64, expected: f64) -> f64 {
        ((actual - expected) / expected).abs()
    }

    /// Converts `value` typed in `unit` to the marker's range unit.
    fn to_range(id: &str, unit: &str, value: f64) -> f64 {
        let u = marker(id)
            .unit(unit)
            .unwrap_or_else(|| panic!("{id} does not accept {unit}"));
        u.conversion.to_range_unit(value)
    }

    /// (marker, unit typed, value typed, expected value in the range unit). Expected
    /// values come from the published US→SI factor written out (usually the
    /// biomarkers.csv factor), never from the constants the catalog uses.
    const KNOWN_ANSWERS: &[(&str, &str, f64, f64)] = &[
        ("free_t4", "pmol/L", 1.2 * 12.87, 1.2),
        ("free_t3", "pmol/L", 3.2 * 1.536, 3.2),
        ("free_t3", "pg/dL", 320.0, 3.2),
        ("reverse_t3", "pg/mL", 150.0, 15.0),
        ("reverse_t3", "nmol/L", 15.0 * 0.01536, 15.0),
        ("glucose_fasting", "mmol/L", 100.0 * 0.0555, 100.0),
        ("glucose_fasting", "mmol/L", 5.55, 5.55 / 0.0555),
        ("insulin_fasting", "pmol/L", 5.0 * 6.0, 5.0),
        ("cholesterol_total", "mmol/L", 200.0 * 0.02586, 200.0),
        ("ldl", "mmol/L", 100.0 * 0.02586, 100.0),
        ("hdl", "mmol/L", 60.0 * 0.02586, 60.0),
        ("triglycerides", "mmol/L", 150.0 * 0.01129, 150.0),
        ("hs_crp", "mg/dL", 0.25, 2.5),
        ("iron_serum", "µmol/L", 100.0 * 0.1791, 100.0),
        ("tibc", "µmol/L", 300.0 * 0.1791, 300.0),
        ("vitamin_d_25oh", "nmol/L", 30.0 * 2.496, 30.0),
        ("vitamin_d_25oh", "nmol/L", 75.0, 30.05),
        ("vitamin_b12", "pmol/L", 500.0 * 0.7378, 500.0),
        ("folate_serum", "nmol/L", 10.0 * 2.266, 10.0),
        ("magnesium_serum", "mmol/L", 2.0 * 0.4114, 2.0),
        ("magnesium_serum", "mEq/L", 2.0 * 0.4114 * 2.0, 2.0),
        ("magnesium_rbc", "mmol/L", 5.0 * 0.4114, 5.0),
        ("zinc", "µmol/L", 100.0 * 0.153, 100.0),
        ("alt", "µkat/L", 30.0 * 0.01667, 30.0),
        ("ast", "µkat/L", 30.0 * 0.01667, 30.0),
        ("ggt", "µkat/L", 30.0 * 0.01667, 30.0),
        ("creatinine", "µmol/L", 1.0 * 88.4, 1.0),
        ("bun", "mmol/L", 14.0 * 0.357, 14.0),
        ("egfr", "mL/s/1.73m2", 90.0 * 0.01667, 90.0),
        ("uric_acid", "µmol/L", 5.0 * 59.48, 5.0),
        ("uric_acid", "mmol/L", 5.0 * 59.48 / 1000.0, 5.0),
        ("dhea_s", "µmol/L", 300.0 * 0.02714, 300.0),
        ("cortisol_am", "nmol/L", 15.0 * 27.59, 15.0),
        ("testosterone_total", "nmol/L", 600.0 * 0.03467, 600.0),
        ("testosterone_total", "ng/mL", 6.0, 600.0),
        ("testosterone_free", "pmol/L", 150.0 * 3.467, 150.0),
        ("testosterone_free", "ng/dL", 15.0, 150.0),
        ("estradiol", "pmol/L", 100.0 * 3.671, 100.0),
        ("hemoglobin", "g/L", 14.0 * 10.0, 14.0),
        // Published factor for the haemoglobin monomer: g/dL × 0.6206 = mmol/L.
        ("hemoglobin", "mmol/L", 14.0 * 0.6206, 14.0),
        ("hematocrit", "L/L", 42.0 * 0.01, 42.0),
        ("wbc", "cells/µL", 6500.0, 6.5),
        ("platelets", "cells/µL", 250_000.0, 250.0),
    ];

    #[test]
    fn every_conversion_matches_its_published_factor_within_half_a_percent() {
        for &(id, unit, typed, expected) in KNOWN_ANSWERS {
            let got = to_range(id, unit, typed);
            assert!(
                relative_error(got, expected) < 0.005,
                "{id}: {typed} {unit} gave {got}, expected {expected}"
            );
        }
    }

    #[test]
    fn every_non_identity_conversion_has_a_known_answer() {
        for m in markers() {
            for u in m.units {
                if u.conversion == Conversion::Factor(1.0) {
                    continue;
                }
                let covered = KNOWN_ANSWERS
                    .iter()
                    .chain(HBA1C_UNROUNDED)
                    .any(|&(id, typed, _, _)| id == m.id && m.unit(typed) == Some(u));
                assert!(covered, "{} {} has no known-answer test", m.id, u.display);
            }
        }
    }

    /// HbA1c from the NGSP master equation, IFCC = 10.929 × (NGSP − 2.15), with the
    /// IFCC values unrounded.
    const HBA1C_UNROUNDED: &[(&str, &str, f64, f64)] = &[
        ("hba1c", "mmol/mol", 31.1, 5.0),
        ("hba1c", "mmol/mol", 42.1, 6.0),
        ("hba1c", "mmol/mol", 47.5, 6.5),
        ("hba1c", "mmol/mol", 53.0, 7.0),
        ("hba1c", "mmol/mol", 63.9, 8.0),
        ("hba1c", "mmol/mol", 85.8, 10.0),
    ];

    #[test]
    fn hba1c_ifcc_converts_to_ngsp_by_the_master_equation() {
        for &(id, unit, typed, expected) in HBA1C_UNROUNDED {
            let got = to_range(id, unit, typed);
            assert!(relative_error(got, expected) < 0.005, "{typed}: {got}");
        }
        // The published NGSP/IFCC table rounds IFCC to whole mmol/mol, which moves the
        // NGSP value by up to 0.05 %-points (48 mmol/mol is 6.54 %, printed as 6.5 %).
        let table = [
            (31.0, 5.0),
            (42.0, 6.0),
            (48.0, 6.5),
            (53.0, 7.0),
            (64.0, 8.0),
            (75.0, 9.0),
            (86.0, 10.0),
        ];
        for (ifcc, ngsp) in table {
            let got = to_range("hba1c", "mmol/mol", ifcc);
            assert!((got - ngsp).abs() <= 0.05, "{ifcc} mmol/mol gave {got} %");
        }
    }

    #[test]
    fn the_catalog_has_at_least_forty_markers() {
        assert!(markers().len() >= 40, "{}", markers().len());
    }

    #[test]
    fn ids_and_loinc_codes_are_unique_and_each_finds_its_marker() {
        let mut ids = HashSet::new();
        let mut codes = HashSet::new();
        for m in markers() {
            assert!(ids.insert(m.id), "duplicate id {}", m.id);
            assert!(codes.insert(m.loinc), "duplicate LOINC {}", m.loinc);
            assert!(
                m.id.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{} is not snake_case",
                m.id
            );
            assert_eq!(find(m.id).map(|f| f.id), Some(m.id));
            assert_eq!(find(m.loinc).map(|f| f.id), Some(m.id));
        }
        for &(code, id) in LOINC_ALIASES {
            assert!(codes.insert(code), "alias {code} is also a primary code");
            assert_eq!(find(code).map(|m| m.id), Some(id), "alias {code}");
        }
    }

    /// LOINC's check digit is the mod-10 (Luhn) digit of the number before the hyphen.
    fn loinc_check_digit_is_valid(code: &str) -> bool {
        let Some((number, check)) = code.split_once('-') else {
            return false;
        };
        let digits: Option<Vec<u32>> = number.chars().map(|c| c.to_digit(10)).collect();
        let (Some(digits), Ok(check)) = (digits, check.parse::<u32>()) else {
            return false;
        };
        let sum: u32 = digits
            .iter()
            .rev()
            .enumerate()
            .map(|(i, &d)| match i % 2 {
                0 if d * 2 > 9 => d * 2 - 9,
                0 => d * 2,
                _ => d,
            })
            .sum();
        (10 - sum % 10) % 10 == check
    }

    #[test]
    fn every_loinc_code_has_a_valid_check_digit() {
        assert!(loinc_check_digit_is_valid("3016-3"));
        assert!(!loinc_check_digit_is_valid("3016-4"));
        let primary = markers().iter().map(|m| m.loinc);
        let aliases = LOINC_ALIASES.iter().map(|(code, _)| *code);
        for code in primary.chain(aliases) {
            assert!(loinc_check_digit_is_valid(code), "{code}");
        }
    }

    #[test]
    fn no_two_spellings_of_one_marker_collide_after_normalisation() {
        for m in markers() {
            let mut owner: HashMap<String, &str> = HashMap::new();
            for u in m.units {
                // Display and UCUM code may coincide within a unit; nothing else may.
                let mut own = HashSet::from([normalize_unit(u.display)]);
                own.insert(normalize_unit(u.ucum));
                for a in u.aliases {
                    assert!(
                        own.insert(normalize_unit(a)),
                        "{}: alias {a} of {} repeats another spelling",
                        m.id,
                        u.display
                    );
                }
                for spelling in own {
                    if let Some(other) = owner.insert(spelling.clone(), u.display) {
                        panic!("{}: {spelling} names both {other} and {}", m.id, u.display);
                    }
                }
            }
        }
    }

    #[test]
    fn every_listed_spelling_resolves_to_its_own_unit() {
        for m in markers() {
            for u in m.units {
                for typed in [u.display, u.ucum].iter().chain(u.aliases) {
                    assert_eq!(m.unit(typed), Some(u), "{}: {typed}", m.id);
                }
            }
        }
    }

    #[test]
    fn the_spellings_patients_type_are_accepted() {
        let cases = [
            ("tsh", "µIU/mL", "mIU/L"),
            ("tsh", "μIU/mL", "mIU/L"),
            ("tsh", "uIU/mL", "mIU/L"),
            ("tsh", "mU/L", "mIU/L"),
            ("insulin_fasting", "uIU/mL", "µIU/mL"),
            ("insulin_fasting", "μIU/mL", "µIU/mL"),
            ("insulin_fasting", "mIU/L", "µIU/mL"),
            ("tpo_antibodies", "IU/mL", "IU/mL"),
            ("tpo_antibodies", "kIU/L", "IU/mL"),
            ("glucose_fasting", "mg/dl", "mg/dL"),
            ("glucose_fasting", "MMOL/L", "mmol/L"),
            ("iron_serum", "mcg/dL", "µg/dL"),
            ("iron_serum", "ug/dL", "µg/dL"),
            ("iron_serum", "umol/L", "µmol/L"),
            ("creatinine", "µmol/L", "µmol/L"),
            ("creatinine", "μmol/L", "µmol/L"),
            ("wbc", "x10^3/µL", "10^3/µL"),
            ("wbc", "K/uL", "10^3/µL"),
            ("wbc", "10^9/L", "10^3/µL"),
            ("wbc", "x10E3/uL", "10^3/µL"),
            ("platelets", "x10^9/L", "10^3/µL"),
            ("egfr", "mL/min/1.73 m2", "mL/min/1.73m2"),
            ("egfr", "mL/min/{1.73_m2}", "mL/min/1.73m2"),
            ("hba1c", "%", "%"),
            ("hba1c", "mmol/mol", "mmol/mol"),
            ("ferritin", "µg/L", "ng/mL"),
            ("alt", "IU/L", "U/L"),
            ("vitamin_b12", "ng/L", "pg/mL"),
        ];
        for (id, typed, unit) in cases {
            assert_eq!(
                marker(id).unit(typed).map(|u| u.display),
                Some(unit),
                "{id}: {typed}"
            );
        }
        // A unit 1 000 times off is not a spelling of the right one.
        assert!(marker("tsh").unit("mIU/mL").is_none());
        assert!(marker("glucose_fasting").unit("ng/mL").is_none());
    }

    #[test]
    fn every_default_is_valid_and_inside_plausible_bounds() {
        for m in markers() {
            let (lo, hi) = m.plausible;
            assert!(
                lo.is_finite() && hi.is_finite() && 0.0 <= lo && lo < hi,
                "{}",
                m.id
            );
            let plausible = |v: Option<f64>| v.is_none_or(|v| lo <= v && v <= hi);
            for d in m.defaults {
                for (what, b) in [("standard", d.standard), ("optimal", d.optimal)] {
                    assert!(
                        Bounds::open(b.low(), b.high()).is_some(),
                        "{} {what}: {b:?}",
                        m.id
                    );
                    assert!(
                        plausible(b.low()) && plausible(b.high()),
                        "{} {what} {b:?} beyond plausible",
                        m.id
                    );
                }
                // Otherwise a value could be "optimal" and outside the reference interval.
                assert!(
                    d.optimal.within(&d.standard),
                    "{} ({:?}): optimal {:?} not within standard {:?}",
                    m.id,
                    d.sex,
                    d.optimal,
                    d.standard
                );
                assert!(d.source.starts_with("Standard: "), "{}", m.id);
                assert!(d.source.contains("Optimal: "), "{}", m.id);
            }
        }
    }

    #[test]
    fn every_marker_has_one_default_for_everyone_and_at_most_one_per_sex() {
        for m in markers() {
            for sex in [None, Some(Sex::Female), Some(Sex::Male)] {
                let n = m.defaults.iter().filter(|d| d.sex == sex).count();
                let allowed = if sex.is_none() { 1..=1 } else { 0..=1 };
                assert!(allowed.contains(&n), "{} {sex:?}: {n}", m.id);
            }
            assert!(!m.systems.is_empty(), "{} has no body system", m.id);
            assert!(!m.name.is_empty() && !m.units.is_empty(), "{}", m.id);
        }
    }

    #[test]
    fn sex_specific_defaults_exist_where_labs_publish_them() {
        let sexed = [
            "hemoglobin",
            "hematocrit",
            "ferritin",
            "creatinine",
            "uric_acid",
            "testosterone_total",
            "testosterone_free",
            "dhea_s",
            "shbg",
            "estradiol",
            "alt",
            "ast",
            "ggt",
        ];
        for id in sexed {
            let m = marker(id);
            for sex in [Sex::Female, Sex::Male] {
                assert_eq!(m.default_ranges(Some(sex)).sex, Some(sex), "{id} {sex:?}");
            }
            assert_eq!(m.default_ranges(None).sex, None, "{id}");
        }
        let hb = marker("hemoglobin");
        assert_eq!(
            hb.default_ranges(Some(Sex::Female)).standard,
            between(11.6, 15.0)
        );
        assert_eq!(
            hb.default_ranges(Some(Sex::Male)).optimal,
            between(14.5, 15.5)
        );
        // A marker without sex-specific defaults falls back to everyone's.
        assert_eq!(marker("tsh").default_ranges(Some(Sex::Male)).sex, None);
    }

    #[test]
    fn the_everyone_default_covers_both_sexes_where_their_intervals_overlap() {
        for m in markers() {
            let everyone = m.default_ranges(None).standard;
            for sex in [Sex::Female, Sex::Male] {
                let own = m.default_ranges(Some(sex)).standard;
                // Sex hormones whose intervals do not overlap use the male interval.
                let disjoint = ["testosterone_total", "testosterone_free"].contains(&m.id);
                if !(disjoint && sex == Sex::Female) {
                    assert!(own.within(&everyone), "{} {sex:?}", m.id);
                }
            }
        }
    }

    #[test]
    fn plausibility_bounds_catch_the_usual_unit_mix_ups() {
        // (marker, a typical value in the other unit typed as if in the range unit).
        let typos = [
            ("glucose_fasting", 5.4),   // mmol/L typed as mg/dL
            ("hba1c", 48.0),            // mmol/mol typed as %
            ("cholesterol_total", 5.2), // mmol/L typed as mg/dL
            ("creatinine", 88.0),       // µmol/L typed as mg/dL
            ("uric_acid", 320.0),       // µmol/L typed as mg/dL
            ("hemoglobin", 135.0),      // g/L typed as g/dL
            ("hematocrit", 0.42),       // L/L typed as %
            ("wbc", 6500.0),            // cells/µL typed as 10³/µL
            ("platelets", 250_000.0),   // cells/µL typed as 10³/µL
            ("free_t4", 16.0),          // pmol/L typed as ng/dL
            ("free_t3", 320.0),         // pg/dL typed as pg/mL
            ("cortisol_am", 400.0),     // nmol/L typed as µg/dL
            ("tibc", 60.0),             // µmol/L typed as µg/dL
            ("alt", 0.5),               // µkat/L typed as U/L
        ];
        for (id, v) in typos {
            let (lo, hi) = marker(id).plausible;
            assert!(!(lo..=hi).contains(&v), "{id}: {v} should be refused");
        }
        // Real extremes seen in very sick patients are accepted.
        let extremes = [
            ("tsh", 150.0),
            ("glucose_fasting", 900.0),
            ("triglycerides", 5000.0),
            ("ferritin", 50_000.0),
            ("alt", 5000.0),
            ("creatinine", 15.0),
            ("hs_crp", 400.0),
            ("hemoglobin", 4.0),
            ("wbc", 300.0),
            ("platelets", 5.0),
            ("tpo_antibodies", 0.0),
        ];
        for (id, v) in extremes {
            let (lo, hi) = marker(id).plausible;
            assert!((lo..=hi).contains(&v), "{id}: {v} should be accepted");
        }
    }

    proptest::proptest! {
        #[test]
        fn every_conversion_round_trips(v in 0.001f64..100_000.0) {
            for m in markers() {
                for u in m.units {
                    let there = u.conversion.to_range_unit(v);
                    let back = u.conversion.from_range_unit(there);
                    proptest::prop_assert!(
                        relative_error(back, v) < 1e-9,
                        "{} {}: {} -> {} -> {}", m.id, u.display, v, there, back
                    );
                }
            }
        }
    }
}
