//! A practitioner's own additions to the catalogs: custom markers (their own tests, in
//! their own unit, with their own ranges) and custom symptoms, with the validation of
//! the requests that define them.

use super::catalog::{self, BodySystem};
use super::problems::{FieldProblem, Problems};
use super::ranges::{Bounds, EffectiveRange, RangeSource};
use super::ranges::{BoundsDraft, RangeMessages, MAX_MESSAGE_LEN};
use super::symptoms;
use serde::{Deserialize, Serialize};

/// Most custom markers one practitioner may define.
pub const MAX_CUSTOM_MARKERS: usize = 100;
/// Most custom symptoms one practitioner may define.
pub const MAX_CUSTOM_SYMPTOMS: usize = 100;

/// Whether `id` is a valid id for a practitioner's own marker or symptom: a lowercase
/// letter, then 1 to 47 lowercase letters, digits or underscores.
pub fn is_valid_custom_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some('a'..='z'))
        && (2..=48).contains(&id.len())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn check_name(problems: &mut Problems, field: &str, name: &str, max: usize) -> String {
    let name = name.trim();
    if name.is_empty() {
        problems.add(field, "must not be empty");
    } else if name.chars().count() > max {
        problems.add(field, format!("must be at most {max} characters"));
    } else if name.chars().any(char::is_control) {
        problems.add(field, "must not contain control characters");
    }
    name.to_owned()
}

/// A custom marker as a practitioner defined it (`PUT /v1/markers/{id}`), before it
/// is checked by [`CustomMarker::parse`].
#[derive(Debug, Clone, PartialEq)]
pub struct CustomMarkerDraft {
    /// Human name.
    pub name: String,
    /// The one unit values are typed and judged in.
    pub unit: String,
    /// LOINC code, if the test has one.
    pub loinc: Option<String>,
    /// Optimal range.
    pub optimal: BoundsDraft,
    /// Standard (reference) range, if any.
    pub standard: Option<BoundsDraft>,
    /// Values outside these bounds are refused as typos.
    pub plausible: Option<BoundsDraft>,
    /// The practitioner's wording.
    pub messages: Option<RangeMessages>,
    /// Body systems the marker bears on.
    pub systems: Vec<BodySystem>,
    /// One plain-language line telling patients what the test measures (at most 140
    /// characters).
    pub about: Option<String>,
}

/// A practitioner's own marker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomMarker {
    /// Id (unique among the catalog's ids and LOINC codes and the practitioner's own).
    pub id: String,
    /// Human name.
    pub name: String,
    /// Unit.
    pub unit: String,
    /// LOINC code.
    pub loinc: Option<String>,
    /// Optimal range.
    pub optimal: Bounds,
    /// Standard range.
    pub standard: Option<Bounds>,
    /// Plausibility bounds.
    pub plausible: Option<Bounds>,
    /// Wording.
    pub messages: RangeMessages,
    /// Body systems.
    pub systems: Vec<BodySystem>,
    /// One plain-language line for patients; `None`: the form shows none.
    #[serde(default)]
    pub about: Option<String>,
}

fn bounds(problems: &mut Problems, field: &str, dto: BoundsDraft) -> Option<Bounds> {
    let before = problems.len();
    for (name, v) in [("low", dto.low), ("high", dto.high)] {
        if v.is_some_and(|v| !v.is_finite()) {
            problems.add(format!("{field}.{name}"), "must be a finite number");
        }
    }
    match (dto.low, dto.high) {
        (None, None) => problems.add(field, "needs low, high or both"),
        (Some(l), Some(h)) if l > h => {
            problems.add(format!("{field}.low"), "must not be greater than high")
        }
        _ => {}
    }
    if problems.len() > before {
        return None;
    }
    Bounds::open(dto.low, dto.high)
}

fn is_loinc(s: &str) -> bool {
    match s.split_once('-') {
        Some((num, check)) => {
            (1..=7).contains(&num.len())
                && num.bytes().all(|b| b.is_ascii_digit())
                && check.len() == 1
                && check.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

impl CustomMarker {
    /// Validates a definition for the marker `id`.
    pub fn parse(id: &str, req: CustomMarkerDraft) -> Result<CustomMarker, Vec<FieldProblem>> {
        let mut problems = Problems::new();
        if !is_valid_custom_id(id) {
            problems.add("id", "must start with a lowercase letter and have 2 to 48 lowercase letters, digits or underscores");
        } else if catalog::find(id).is_some() {
            problems.add(
                "id",
                "is a catalog marker: change its ranges with PUT /v1/ranges/{marker}",
            );
        }
        let name = check_name(&mut problems, "name", &req.name, 100);
        let unit = check_name(&mut problems, "unit", &req.unit, 32);
        let loinc = req
            .loinc
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty());
        if let Some(l) = &loinc {
            if !is_loinc(l) {
                problems.add(
                    "loinc",
                    "is not a LOINC code (digits, a hyphen and a check digit, e.g. 2345-7)",
                );
            } else if catalog::find(l).is_some() {
                problems.add(
                    "loinc",
                    "belongs to a catalog marker: change its ranges with PUT /v1/ranges/{marker}",
                );
            }
        }
        let optimal = bounds(&mut problems, "optimal", req.optimal);
        let standard = req.standard.map(|s| bounds(&mut problems, "standard", s));
        let plausible = req.plausible.map(|p| bounds(&mut problems, "plausible", p));
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
        let about = req
            .about
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(|a| check_name(&mut problems, "about", a, catalog::MAX_ABOUT_LEN));
        let mut systems = req.systems;
        systems.dedup();
        match (problems.is_empty(), optimal) {
            (true, Some(optimal)) => Ok(CustomMarker {
                id: id.to_owned(),
                name,
                unit,
                loinc,
                optimal,
                standard: standard.flatten(),
                plausible: plausible.flatten(),
                messages,
                systems,
                about,
            }),
            _ => Err(problems.into_vec()),
        }
    }

    /// Whether a typed unit is this marker's unit (same spelling rules as the catalog).
    pub fn accepts_unit(&self, typed: &str) -> bool {
        catalog::normalize_unit(typed) == catalog::normalize_unit(&self.unit)
    }

    /// The range values of this marker are judged against.
    pub fn effective_range(&self) -> EffectiveRange {
        EffectiveRange {
            unit: self.unit.clone(),
            sex: None,
            standard: self.standard,
            optimal: self.optimal,
            messages: self.messages.clone(),
            source: RangeSource::Practitioner,
        }
    }
}

/// A practitioner's own symptom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomSymptom {
    /// Id (unique among catalog and own symptoms).
    pub id: String,
    /// Human name.
    pub name: String,
    /// Body systems it bears on.
    #[serde(default)]
    pub systems: Vec<BodySystem>,
}

/// Which symptoms the form should offer, and the practitioner's own (`PUT
/// /v1/symptoms`), before they are checked by [`SymptomSettings::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SymptomSettingsDraft {
    /// Ids offered on the form, in display order (catalog or own).
    pub offered: Vec<String>,
    /// The practitioner's own symptoms.
    pub custom: Vec<CustomSymptom>,
}

/// Validated symptom settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymptomSettings {
    offered: Vec<String>,
    custom: Vec<CustomSymptom>,
}

impl From<SymptomSettings> for SymptomSettingsDraft {
    /// The settings as a request that would make them, to check them again (an import).
    fn from(s: SymptomSettings) -> Self {
        SymptomSettingsDraft {
            offered: s.offered,
            custom: s.custom,
        }
    }
}

impl SymptomSettings {
    /// Ids offered, in display order.
    pub fn offered(&self) -> &[String] {
        &self.offered
    }

    /// Own symptoms.
    pub fn custom(&self) -> &[CustomSymptom] {
        &self.custom
    }

    /// Validates a request.
    pub fn parse(req: SymptomSettingsDraft) -> Result<SymptomSettings, Vec<FieldProblem>> {
        let mut problems = Problems::new();
        if req.custom.len() > MAX_CUSTOM_SYMPTOMS {
            problems.add(
                "custom",
                format!("at most {MAX_CUSTOM_SYMPTOMS} own symptoms"),
            );
        }
        let mut custom: Vec<CustomSymptom> = Vec::new();
        for (i, c) in req.custom.into_iter().enumerate().take(MAX_CUSTOM_SYMPTOMS) {
            let field = format!("custom[{i}]");
            if !is_valid_custom_id(&c.id) {
                problems.add(format!("{field}.id"), "must start with a lowercase letter and have 2 to 48 lowercase letters, digits or underscores");
            } else if symptoms::find(&c.id).is_some() {
                problems.add(
                    format!("{field}.id"),
                    "is a catalog symptom: offer it by its id instead",
                );
            } else if custom.iter().any(|o| o.id == c.id) {
                problems.add(format!("{field}.id"), "is defined more than once");
            }
            let name = check_name(&mut problems, &format!("{field}.name"), &c.name, 100);
            let mut systems = c.systems;
            systems.dedup();
            custom.push(CustomSymptom {
                id: c.id,
                name,
                systems,
            });
        }
        let mut offered: Vec<String> = Vec::new();
        if req.offered.len() > symptoms::symptoms().len() + MAX_CUSTOM_SYMPTOMS {
            problems.add("offered", "lists more symptoms than exist");
        }
        for (i, id) in req
            .offered
            .into_iter()
            .enumerate()
            .take(symptoms::symptoms().len() + MAX_CUSTOM_SYMPTOMS)
        {
            let known = symptoms::find(&id).is_some() || custom.iter().any(|c| c.id == id);
            if !known {
                problems.add(
                    format!("offered[{i}]"),
                    "is neither a catalog symptom nor one of your own",
                );
            } else if offered.contains(&id) {
                problems.add(format!("offered[{i}]"), "is listed more than once");
            } else {
                offered.push(id);
            }
        }
        problems.finish(|| SymptomSettings { offered, custom })
    }
}

/// One symptom as listed to a practitioner or shown on the form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SymptomView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Body systems.
    pub systems: Vec<BodySystem>,
    /// Catalog markers that bear on it.
    pub markers: Vec<String>,
    /// Whether it is the practitioner's own.
    pub custom: bool,
    /// Whether the form offers it.
    pub offered: bool,
}

/// Every symptom a practitioner can offer: the offered ones first, in their display
/// order, then the rest (catalog order, then own symptoms). Without settings the whole
/// catalog is offered, in catalog order.
pub fn symptom_listing(settings: Option<&SymptomSettings>) -> Vec<SymptomView> {
    let mut all: Vec<SymptomView> = symptoms::symptoms()
        .iter()
        .map(|s| SymptomView {
            id: s.id.to_owned(),
            name: s.name.to_owned(),
            systems: s.systems.to_vec(),
            markers: s.markers.iter().map(|m| (*m).to_owned()).collect(),
            custom: false,
            offered: settings.is_none(),
        })
        .collect();
    let Some(settings) = settings else {
        return all;
    };
    all.extend(settings.custom.iter().map(|c| SymptomView {
        id: c.id.clone(),
        name: c.name.clone(),
        systems: c.systems.clone(),
        markers: Vec::new(),
        custom: true,
        offered: false,
    }));
    let mut listing = Vec::with_capacity(all.len());
    for id in &settings.offered {
        if let Some(i) = all.iter().position(|s| &s.id == id) {
            let mut s = all.remove(i);
            s.offered = true;
            listing.push(s);
        }
    }
    listing.extend(all);
    listing
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn marker(id: &str, body: serde_json::Value) -> Result<CustomMarker, Vec<FieldProblem>> {
        let req: CustomMarkerDraft =
            crate::http::wire::read::<crate::http::wire::markers::CustomMarkerRequest, _>(body)
                .unwrap_or_else(|e| panic!("{e}"));
        CustomMarker::parse(id, req)
    }

    fn fields(err: Vec<FieldProblem>) -> Vec<String> {
        err.into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn a_custom_marker_with_its_own_unit_and_ranges() {
        let m = marker(
            "omega3_index",
            json!({"name": "Omega-3 index", "unit": "%", "optimal": {"low": 8.0}, "standard": {"low": 4.0, "high": 12.0},
                   "messages": {"low": "Eat more fish"}, "systems": ["inflammation", "lipids"]}),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(m.accepts_unit(" % "));
        assert!(!m.accepts_unit("mg/dL"));
        let r = m.effective_range();
        assert_eq!(r.unit, "%");
        assert_eq!(r.optimal.high(), None);
        assert_eq!(r.source, RangeSource::Practitioner);
        assert_eq!(m.about, None);
    }

    #[test]
    fn a_custom_marker_may_explain_itself_in_one_short_line() {
        let body = |about: &str| json!({"name": "Omega-3 index", "unit": "%", "optimal": {"low": 8.0}, "about": about});
        let m = marker(
            "omega3_index",
            body("  Share of omega-3 fats in your red cells. "),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            m.about.as_deref(),
            Some("Share of omega-3 fats in your red cells.")
        );
        let m = marker("omega3_index", body(" ")).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(m.about, None);
        let err = marker("omega3_index", body(&"x".repeat(141)))
            .err()
            .unwrap_or_default();
        assert_eq!(fields(err), ["about"]);
        let err = marker("omega3_index", body("two\nlines"))
            .err()
            .unwrap_or_default();
        assert_eq!(fields(err), ["about"]);
    }

    #[test]
    fn custom_markers_may_not_shadow_the_catalog_and_must_make_sense() {
        let err = marker("tsh", json!({"name": "", "unit": "x", "loinc": "3016-3", "optimal": {"low": 2.0, "high": 1.0}}))
            .err()
            .unwrap_or_default();
        assert_eq!(fields(err), ["id", "name", "loinc", "optimal.low"]);
        let err = marker(
            "Bad Id",
            json!({"name": "n", "unit": "u", "loinc": "abc", "optimal": {}}),
        )
        .err()
        .unwrap_or_default();
        assert_eq!(fields(err), ["id", "loinc", "optimal"]);
    }

    #[test]
    fn symptom_settings_offer_catalog_and_own_symptoms_once_each() {
        let req: SymptomSettingsDraft = crate::http::wire::read::<
            crate::http::wire::markers::SymptomSettingsRequest,
            _,
        >(json!({
            "offered": ["fatigue", "tinnitus"],
            "custom": [{"id": "tinnitus", "name": "Ringing in the ears", "systems": ["neuro"]}]
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let s = SymptomSettings::parse(req).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(s.offered, ["fatigue", "tinnitus"]);
        let listing = symptom_listing(Some(&s));
        let offered: Vec<&str> = listing
            .iter()
            .filter(|v| v.offered)
            .map(|v| v.id.as_str())
            .collect();
        assert_eq!(offered, ["fatigue", "tinnitus"]);
        assert_eq!(listing[0].id, "fatigue");
        assert!(listing[1].custom);
        assert_eq!(listing.len(), symptoms::symptoms().len() + 1);
        assert!(symptom_listing(None).iter().all(|v| v.offered && !v.custom));

        let req: SymptomSettingsDraft = crate::http::wire::read::<
            crate::http::wire::markers::SymptomSettingsRequest,
            _,
        >(json!({
            "offered": ["fatigue", "fatigue", "levitation"],
            "custom": [{"id": "fatigue", "name": "x"}, {"id": "ok_one", "name": " "}]
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let err = SymptomSettings::parse(req).err().unwrap_or_default();
        assert_eq!(
            fields(err),
            ["custom[0].id", "custom[1].name", "offered[1]", "offered[2]"]
        );
    }
}
