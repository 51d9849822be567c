//! A patient's submission: the body as read, and its validation into a [`Submission`]
//! that downstream code never re-checks. Every problem is reported at once, each with
//! its field path, and no problem text repeats what the patient typed.

use super::catalog::{self, BodySystem, Marker, Sex};
use super::contact::{Email, Phone};
use super::custom::CustomMarker;
use super::json_body::{covers, item_path, JsonBody, Reader};
use super::lab_value::{LabValue, LabValueError};
use super::lead_source::{LeadSource, SourceDraft, UtmDraft};
use super::practitioner::{FieldMode, FormSettings};
use super::problems::{FieldProblem, Problems, Redacted};
use super::ranges::round_sig;
use super::symptoms;
use serde::{de, Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::fmt;

/// Most labs one submission may carry.
pub const MAX_LABS: usize = 100;
/// Most symptoms one submission may carry.
pub const MAX_SYMPTOMS: usize = 100;
/// Longest name accepted.
pub const MAX_NAME_LEN: usize = 200;
/// Oldest age accepted.
pub const MAX_AGE: i64 = 130;

/// The body of `POST /v1/intake/{slug}` as read, before it is checked. Every problem is
/// reported at once, fields of the wrong JSON type included (422, one detail per field);
/// a field not listed here is refused (400, naming each).
//
// Read with `IntakeDraft::from_json` (which its `Deserialize` uses too): a field of
// the wrong JSON type is left out and its problem kept in `problems`, for
// `Submission::parse` to report with its own.
#[derive(Clone, Default)]
pub struct IntakeDraft {
    /// Contact details.
    pub contact: ContactDraft,
    /// `female` or `male`.
    pub sex: Option<String>,
    /// Age in whole years.
    pub age: Option<i64>,
    /// Lab values as printed by the lab.
    pub labs: Vec<LabDraft>,
    /// Selected symptom ids.
    pub symptoms: Vec<String>,
    /// Whether the patient consented.
    pub consent: Option<bool>,
    /// How the patient used the form.
    pub engagement: Option<Engagement>,
    /// Where the form was filled in: the page it was embedded on and the page's UTM
    /// parameters. Forwarded to the practice's endpoints, never logged.
    pub source: Option<SourceDraft>,
    /// The token from `GET /v1/forms/{slug}` (`form_token`), which dates when the form
    /// was loaded; forms send it back unchanged.
    pub form_token: Option<String>,
    /// A honeypot: the form renders it as an input people never see (hidden, no
    /// autofill) and sends whatever it holds. Must be absent or empty.
    pub honeypot: Option<String>,
    /// Fields of the wrong JSON type, found while reading the body (not part of it).
    pub problems: Vec<FieldProblem>,
}

/// Shows how much was submitted and what was wrong with its shape, never a value.
impl fmt::Debug for IntakeDraft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntakeDraft")
            .field("labs", &self.labs.len())
            .field("symptoms", &self.symptoms.len())
            .field("problems", &self.problems)
            .finish_non_exhaustive()
    }
}

/// Contact details as submitted. `Debug` never shows them.
#[derive(Clone, Default)]
pub struct ContactDraft {
    /// Name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
}

impl fmt::Debug for ContactDraft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ContactDraft([redacted])")
    }
}

/// A lab value as submitted: a JSON number, or the text printed on the lab report
/// (`"5,2"`, `" 5.2 "`, `"<0.5"`, `">1000"`).
#[derive(Clone, PartialEq)]
pub enum LabValueDraft {
    /// A number.
    Number(f64),
    /// Text as printed: a decimal point or comma, spaces around it, and `<`, `>`, `<=`,
    /// `>=`, `≤` or `≥` before a censored result; no thousands separators.
    Text(String),
}

impl fmt::Debug for LabValueDraft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LabValueDraft([redacted])")
    }
}

impl From<f64> for LabValueDraft {
    fn from(value: f64) -> Self {
        LabValueDraft::Number(value)
    }
}

impl LabValueDraft {
    /// Parses the value (see [`LabValue::parse`] for the text it accepts).
    pub fn parse(&self) -> Result<LabValue, LabValueError> {
        match self {
            LabValueDraft::Number(v) => LabValue::exact(*v),
            LabValueDraft::Text(t) => LabValue::parse(t),
        }
    }
}

/// One lab as submitted; all three fields are required. `Debug` never shows the value.
#[derive(Clone, Default)]
pub struct LabDraft {
    /// Catalog id or LOINC code.
    pub marker: Option<String>,
    /// The value as printed: a number, or text such as `"5,2"` or `"<0.5"`.
    pub value: Option<LabValueDraft>,
    /// The unit as printed.
    pub unit: Option<String>,
}

impl fmt::Debug for LabDraft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LabDraft")
            .field("marker", &self.marker)
            .finish_non_exhaustive()
    }
}

/// What each field of the intake body must be, as a problem says it when a field has
/// the wrong JSON type.
mod expected {
    pub const BODY: &str = "the body must be a JSON object";
    pub const CONTACT: &str = "must be an object with name, email and phone";
    pub const TEXT: &str = "must be text";
    pub const SEX: &str = "must be \"female\" or \"male\"";
    pub const LABS: &str = "must be a list of labs";
    pub const LAB: &str = "must be an object with marker, value and unit";
    pub const MARKER: &str = "must be text: a marker id or LOINC code";
    pub const VALUE: &str = "must be a number, or text such as 5.2, 5,2 or <0.5";
    pub const SYMPTOMS: &str = "must be a list of symptom ids";
    pub const SYMPTOM: &str = "must be text: a symptom id";
    pub const CONSENT: &str = "must be true or false";
    pub const ENGAGEMENT: &str = "must be an object with time_on_tool_s";
    pub const SECONDS: &str = "must be a whole number of seconds";
    pub const SOURCE: &str = "must be an object with page_url and utm";
    pub const UTM: &str = "must be an object with source, medium, campaign, term and content";
}

fn age_problem() -> String {
    format!("must be a whole number from 0 to {MAX_AGE}")
}

/// Every name that appears in a path of the intake body, in the order the body lists
/// its fields. Problems are reported in this order, so the wrong types found while
/// reading and the problems found while validating come out as one list in field order.
const FIELD_ORDER: [&str; 23] = [
    "contact",
    "name",
    "email",
    "phone",
    "sex",
    "age",
    "labs",
    "marker",
    "value",
    "unit",
    "symptoms",
    "consent",
    "engagement",
    "time_on_tool_s",
    // Also the first UTM key (`source.utm.source`): only names under the same parent
    // are ever compared, and under `utm` it comes before the others, as it should.
    "source",
    "page_url",
    "utm",
    "medium",
    "campaign",
    "term",
    "content",
    "form_token",
    "honeypot",
];

/// The sort key of a field path: each name's place in [`FIELD_ORDER`], each index as
/// itself (`labs[2].unit` → `[6, 2, 9]`).
fn field_rank(path: &str) -> Vec<usize> {
    let mut rank = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut pieces = part.split('[');
        let name = pieces.next().unwrap_or_default();
        rank.push(
            FIELD_ORDER
                .iter()
                .position(|n| *n == name)
                .unwrap_or(FIELD_ORDER.len()),
        );
        for index in pieces {
            rank.push(index.trim_end_matches(']').parse().unwrap_or(usize::MAX));
        }
    }
    rank
}

/// The problems of a body: those found while reading it, then each problem found while
/// validating that is not about a field already named (a wrongly typed field was read
/// as absent, and must not also be "required"), all in field order.
fn merge_problems(read: Vec<FieldProblem>, found: Vec<FieldProblem>) -> Vec<FieldProblem> {
    let mut all = read;
    let new: Vec<FieldProblem> = found
        .into_iter()
        .filter(|p| !all.iter().any(|r| covers(&r.field, &p.field)))
        .collect();
    all.extend(new);
    all.sort_by_cached_key(|p| field_rank(&p.field));
    all
}

impl IntakeDraft {
    /// The body's top-level fields.
    pub const FIELDS: [&'static str; 10] = [
        "contact",
        "sex",
        "age",
        "labs",
        "symptoms",
        "consent",
        "engagement",
        "source",
        "form_token",
        "honeypot",
    ];

    /// Reads the body of `POST /v1/intake/{slug}` field by field. Every field of the
    /// wrong JSON type is recorded in `problems` and read as absent, so that the rest is
    /// still validated; `null` means absent. `Err` names every field the body does not
    /// have (at any depth), which makes it a body this route does not take.
    pub fn from_json(body: Value) -> Result<IntakeDraft, Vec<FieldProblem>> {
        use expected as e;
        let mut r = Reader::new();
        let mut req = IntakeDraft::default();
        if let Some(mut f) = r.object("", Some(body), &Self::FIELDS, e::BODY) {
            let contact = f.take("contact");
            if let Some(mut c) =
                r.object("contact", contact, &["name", "email", "phone"], e::CONTACT)
            {
                req.contact = ContactDraft {
                    name: r.string(&c.path("name"), c.take("name"), e::TEXT),
                    email: r.string(&c.path("email"), c.take("email"), e::TEXT),
                    phone: r.string(&c.path("phone"), c.take("phone"), e::TEXT),
                };
            }
            req.sex = r.string("sex", f.take("sex"), e::SEX);
            req.age = r.integer("age", f.take("age"), &age_problem());
            if let Some(items) = r.list("labs", f.take("labs"), e::LABS) {
                for (i, item) in items.into_iter().enumerate() {
                    req.labs.push(read_lab(&mut r, &item_path("labs", i), item));
                }
            }
            if let Some(items) = r.list("symptoms", f.take("symptoms"), e::SYMPTOMS) {
                for (i, item) in items.into_iter().enumerate() {
                    // Likewise, a symptom that is not text keeps its place as an empty
                    // id, which no form offers; its problem is recorded.
                    let id = r.string(&item_path("symptoms", i), Some(item), e::SYMPTOM);
                    req.symptoms.push(id.unwrap_or_default());
                }
            }
            req.consent = r.boolean("consent", f.take("consent"), e::CONSENT);
            let engagement = f.take("engagement");
            if let Some(mut g) =
                r.object("engagement", engagement, &["time_on_tool_s"], e::ENGAGEMENT)
            {
                let path = g.path("time_on_tool_s");
                req.engagement = Some(Engagement {
                    time_on_tool_s: r.unsigned(&path, g.take("time_on_tool_s"), e::SECONDS),
                });
            }
            if let Some(mut s) =
                r.object("source", f.take("source"), &["page_url", "utm"], e::SOURCE)
            {
                let page_url = r.string(&s.path("page_url"), s.take("page_url"), e::TEXT);
                let utm_path = s.path("utm");
                let utm = r
                    .object(&utm_path, s.take("utm"), &UtmDraft::KEYS, e::UTM)
                    .map(|mut u| {
                        let mut text = |key: &str| r.string(&u.path(key), u.take(key), e::TEXT);
                        UtmDraft {
                            source: text("source"),
                            medium: text("medium"),
                            campaign: text("campaign"),
                            term: text("term"),
                            content: text("content"),
                        }
                    });
                req.source = Some(SourceDraft { page_url, utm });
            }
            req.form_token = r.string("form_token", f.take("form_token"), e::TEXT);
            req.honeypot = r.string("honeypot", f.take("honeypot"), e::TEXT);
        }
        req.problems = r.finish()?;
        Ok(req)
    }
}

/// Reads one item of `labs`. A lab that is not an object keeps its place, empty, so
/// that the labs after it keep their index; its problem is recorded.
fn read_lab(r: &mut Reader, path: &str, item: Value) -> LabDraft {
    use expected as e;
    let Some(mut l) = r.object(path, Some(item), &["marker", "value", "unit"], e::LAB) else {
        return LabDraft::default();
    };
    let marker = r.string(&l.path("marker"), l.take("marker"), e::MARKER);
    let value = match l.take("value") {
        None => None,
        Some(Value::Number(n)) => n.as_f64().map(LabValueDraft::Number),
        Some(Value::String(t)) => Some(LabValueDraft::Text(t)),
        Some(_) => {
            r.wrong(&l.path("value"), e::VALUE);
            None
        }
    };
    let unit = r.string(&l.path("unit"), l.take("unit"), e::TEXT);
    LabDraft {
        marker,
        value,
        unit,
    }
}

/// The same reading as [`IntakeDraft::from_json`], for code that deserializes the body
/// with serde: a key given twice or an unknown field fails (naming the first unknown
/// field), a wrong type does not.
impl<'de> Deserialize<'de> for IntakeDraft {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let JsonBody(body) = JsonBody::deserialize(deserializer)?;
        IntakeDraft::from_json(body).map_err(|unknown| {
            let field = unknown
                .first()
                .map(|p| p.field.as_str())
                .unwrap_or_default();
            de::Error::custom(format_args!("unknown field `{field}`"))
        })
    }
}

/// Engagement signals from the form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Engagement {
    /// Seconds the patient spent on the form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_on_tool_s: Option<u64>,
}

/// Validated contact details.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Contact {
    /// Name.
    pub name: Option<Redacted<String>>,
    /// Email.
    pub email: Option<Redacted<String>>,
    /// Phone, normalised (E.164 when it starts with `+`).
    pub phone: Option<Redacted<String>>,
}

/// The marker a lab value is for: from the catalog, or the practitioner's own.
#[derive(Debug, Clone)]
pub enum LabMarker {
    /// A catalog marker.
    Catalog(&'static Marker),
    /// A practitioner's custom marker.
    Custom(Box<CustomMarker>),
}

impl LabMarker {
    /// The marker's id.
    pub fn id(&self) -> &str {
        match self {
            LabMarker::Catalog(m) => m.id,
            LabMarker::Custom(c) => &c.id,
        }
    }

    /// The marker's name.
    pub fn name(&self) -> &str {
        match self {
            LabMarker::Catalog(m) => m.name,
            LabMarker::Custom(c) => &c.name,
        }
    }

    /// Its LOINC code, if any.
    pub fn loinc(&self) -> Option<&str> {
        match self {
            LabMarker::Catalog(m) => Some(m.loinc),
            LabMarker::Custom(c) => c.loinc.as_deref(),
        }
    }

    /// Body systems it bears on.
    pub fn systems(&self) -> &[BodySystem] {
        match self {
            LabMarker::Catalog(m) => m.systems,
            LabMarker::Custom(c) => &c.systems,
        }
    }
}

/// A validated lab value. `Debug` never shows the value.
#[derive(Clone)]
pub struct Lab {
    /// The marker.
    pub marker: LabMarker,
    /// The value as typed (for a censored result, its bound and its side).
    pub value: LabValue,
    /// The unit as typed, in its canonical spelling.
    pub unit: String,
    /// The value in the marker's range unit (rounded to 6 significant digits); for a
    /// censored result, its bound.
    pub range_value: f64,
    /// The UCUM code of the range unit, when known (catalog markers).
    pub ucum: Option<&'static str>,
}

impl fmt::Debug for Lab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lab")
            .field("marker", &self.marker.id())
            .finish_non_exhaustive()
    }
}

/// A selected symptom (from the catalog or the practitioner's own).
#[derive(Debug, Clone, PartialEq)]
pub struct ChosenSymptom {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Body systems it bears on.
    pub systems: Vec<BodySystem>,
}

/// A validated submission.
#[derive(Clone)]
pub struct Submission {
    /// Contact details.
    pub contact: Contact,
    /// Sex, if given.
    pub sex: Option<Sex>,
    /// Age, if given.
    pub age: Option<u8>,
    /// Labs, in submission order.
    pub labs: Vec<Lab>,
    /// Selected symptoms, in submission order.
    pub symptoms: Vec<ChosenSymptom>,
    /// Consent given.
    pub consent: bool,
    /// Engagement signals.
    pub engagement: Engagement,
    /// Where the form was filled in, when the form said.
    pub source: Option<LeadSource>,
}

impl fmt::Debug for Submission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Submission")
            .field("labs", &self.labs.len())
            .field("symptoms", &self.symptoms.len())
            .finish_non_exhaustive()
    }
}

fn contact_field(
    problems: &mut Problems,
    field: &str,
    mode: FieldMode,
    value: Option<String>,
    check: impl Fn(&str) -> Result<String, &'static str>,
) -> Option<Redacted<String>> {
    let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    match (mode, value) {
        (FieldMode::Required, None) => {
            problems.add(field, "is required");
            None
        }
        (FieldMode::Off, Some(_)) => {
            problems.add(field, "is not asked for by this form");
            None
        }
        (_, None) => None,
        (_, Some(v)) => match check(&v) {
            Ok(v) => Some(Redacted::new(v)),
            Err(why) => {
                problems.add(field, why);
                None
            }
        },
    }
}

impl Submission {
    /// Validates a request against the form's settings and the catalog.
    pub fn parse(
        req: IntakeDraft,
        form: &FormSettings,
        custom_markers: &[CustomMarker],
    ) -> Result<Submission, Vec<FieldProblem>> {
        let mut problems = Problems::new();
        let modes = form.contact_fields;
        let contact = Contact {
            name: contact_field(
                &mut problems,
                "contact.name",
                modes.name,
                req.contact.name,
                |v| {
                    if v.chars().count() > MAX_NAME_LEN {
                        Err("is too long (at most 200 characters)")
                    } else if v.chars().any(char::is_control) {
                        Err("must not contain control characters")
                    } else {
                        Ok(v.to_owned())
                    }
                },
            ),
            email: contact_field(
                &mut problems,
                "contact.email",
                modes.email,
                req.contact.email,
                |v| {
                    Email::parse(v)
                        .map(Email::into_inner)
                        .ok_or("is not a valid email address")
                },
            ),
            phone: contact_field(
                &mut problems,
                "contact.phone",
                modes.phone,
                req.contact.phone,
                |v| {
                    Phone::parse(v, form.phone_region.as_deref()).map(Phone::into_inner).ok_or(
                        "is not a valid phone number (include the country code, e.g. +44 20 7946 0958)",
                    )
                },
            ),
        };

        let sex = match req.sex.as_deref() {
            None => None,
            Some(s) => {
                let parsed = Sex::parse(s);
                if parsed.is_none() {
                    problems.add("sex", "must be \"female\" or \"male\"");
                }
                parsed
            }
        };

        let age = match req.age {
            None => None,
            Some(a) if (0..=MAX_AGE).contains(&a) => u8::try_from(a).ok(),
            Some(_) => {
                problems.add("age", age_problem());
                None
            }
        };

        if req.labs.len() > MAX_LABS {
            problems.add("labs", format!("at most {MAX_LABS} labs per submission"));
        }
        let mut labs: Vec<Lab> = Vec::with_capacity(req.labs.len().min(MAX_LABS));
        // Every marker met so far, with the index of the lab that named it first.
        let mut seen: Vec<(String, usize)> = Vec::new();
        for (i, lab) in req.labs.iter().enumerate().take(MAX_LABS) {
            let field = |name: &str| format!("labs[{i}].{name}");
            let marker = match lab.marker.as_deref().map(str::trim) {
                None => {
                    problems.add(field("marker"), "is required");
                    None
                }
                Some(key) => match find_marker(key, custom_markers) {
                    None => {
                        problems.add(field("marker"), "is not a marker this form accepts");
                        None
                    }
                    Some(marker) => {
                        if let Some((_, first)) = seen.iter().find(|(id, _)| id == marker.id()) {
                            problems.add(
                                field("marker"),
                                format!(
                                    "{} appears more than once (also labs[{first}])",
                                    marker.name()
                                ),
                            );
                            continue;
                        }
                        seen.push((marker.id().to_owned(), i));
                        Some(marker)
                    }
                },
            };
            let value = match lab.value.as_ref().map(LabValueDraft::parse) {
                None => {
                    problems.add(field("value"), "is required");
                    None
                }
                Some(Err(why)) => {
                    problems.add(field("value"), why.to_string());
                    None
                }
                Some(Ok(v)) => Some(v),
            };
            let Some(typed_unit) = lab.unit.as_deref() else {
                problems.add(field("unit"), "is required");
                continue;
            };
            // Without a known marker the unit cannot be judged, and without a value
            // there is nothing to convert.
            let Some(marker) = marker else { continue };
            let accepted = match &marker {
                LabMarker::Catalog(m) => match m.unit(typed_unit) {
                    // The unit as the patient typed it (it matched an accepted
                    // spelling), so the report shows what they submitted.
                    Some(u) => Ok((
                        typed_unit.trim().to_owned(),
                        Some(u.conversion),
                        m.plausible_bounds(),
                        Some(m.range_unit().ucum),
                    )),
                    None => Err(m
                        .units
                        .iter()
                        .map(|u| u.display)
                        .collect::<Vec<_>>()
                        .join(", ")),
                },
                LabMarker::Custom(c) if c.accepts_unit(typed_unit) => {
                    Ok((c.unit.clone(), None, c.plausible, None))
                }
                LabMarker::Custom(c) => Err(c.unit.clone()),
            };
            let (unit, conversion, plausible, ucum) = match accepted {
                Ok(a) => a,
                Err(accepted) => {
                    problems.add(
                        field("unit"),
                        format!(
                            "is not a unit {} is reported in (accepted: {accepted})",
                            marker.name()
                        ),
                    );
                    continue;
                }
            };
            let Some(value) = value else { continue };
            // A censored result is judged as if it were at its bound.
            let in_range_unit =
                conversion.map_or(value.value(), |c| c.to_range_unit(value.value()));
            if !in_range_unit.is_finite() {
                problems.add(field("value"), "must be a finite number");
                continue;
            }
            if let Some(p) = plausible.filter(|p| !p.contains(in_range_unit)) {
                let show =
                    |b: Option<f64>| b.map(|v| v.to_string()).unwrap_or_else(|| "any".to_owned());
                problems.add(
                    field("value"),
                    format!(
                        "is outside what is plausible for {} ({} to {}); check for a typo or the unit",
                        marker.name(),
                        show(p.low()),
                        show(p.high())
                    ),
                );
                continue;
            }
            labs.push(Lab {
                marker,
                value,
                unit,
                range_value: round_sig(in_range_unit),
                ucum,
            });
        }

        if req.symptoms.len() > MAX_SYMPTOMS {
            problems.add(
                "symptoms",
                format!("at most {MAX_SYMPTOMS} symptoms per submission"),
            );
        }
        let settings = form.symptoms.as_ref();
        let mut chosen: Vec<ChosenSymptom> = Vec::new();
        for (i, id) in req.symptoms.iter().enumerate().take(MAX_SYMPTOMS) {
            let offered = settings.is_none_or(|s| s.offered().iter().any(|o| o == id));
            let found = symptoms::find(id)
                .map(|s| ChosenSymptom {
                    id: s.id.to_owned(),
                    name: s.name.to_owned(),
                    systems: s.systems.to_vec(),
                })
                .or_else(|| {
                    settings?
                        .custom()
                        .iter()
                        .find(|c| &c.id == id)
                        .map(|c| ChosenSymptom {
                            id: c.id.clone(),
                            name: c.name.clone(),
                            systems: c.systems.clone(),
                        })
                });
            match found.filter(|_| offered) {
                None => problems.add(
                    format!("symptoms[{i}]"),
                    "is not a symptom this form offers",
                ),
                Some(s) if chosen.iter().any(|c| c.id == s.id) => {
                    problems.add(format!("symptoms[{i}]"), "is listed more than once")
                }
                Some(s) => chosen.push(s),
            }
        }

        let consent = req.consent.unwrap_or(false);
        if form.consent_required && !consent {
            problems.add("consent", "must be given to submit this form");
        }

        let engagement = req.engagement.unwrap_or_default();
        let source = match req.source.map(LeadSource::parse) {
            None => None,
            Some(Ok(source)) => source,
            Some(Err(found)) => {
                problems.extend(found);
                None
            }
        };
        let problems = merge_problems(req.problems, problems.into_vec());
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Submission {
            contact,
            sex,
            age,
            labs,
            symptoms: chosen,
            consent,
            engagement,
            source,
        })
    }
}

/// The marker `key` names: a catalog id or LOINC code, else one of the practitioner's
/// own markers by id or LOINC code.
fn find_marker(key: &str, custom_markers: &[CustomMarker]) -> Option<LabMarker> {
    catalog::find(key).map(LabMarker::Catalog).or_else(|| {
        custom_markers
            .iter()
            .find(|c| c.id == key || c.loinc.as_deref() == Some(key))
            .map(|c| LabMarker::Custom(Box::new(c.clone())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lab_value::Qualifier;
    use crate::domain::practitioner::{Branding, ContactFields};
    use serde_json::json;

    fn form() -> FormSettings {
        FormSettings {
            contact_fields: ContactFields::default(),
            consent_required: true,
            consent_text: "ok".into(),
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
        }
    }

    fn parse(v: serde_json::Value) -> Result<Submission, Vec<FieldProblem>> {
        let req = IntakeDraft::from_json(v).unwrap_or_else(|e| panic!("{e:?}"));
        Submission::parse(req, &form(), &[])
    }

    fn fields(problems: &[FieldProblem]) -> Vec<&str> {
        problems.iter().map(|p| p.field.as_str()).collect()
    }

    #[test]
    fn a_good_submission_parses() {
        let s = parse(json!({
            "contact": {"name": "Ann", "email": "ann@example.com", "phone": "+1 (201) 555-0123"},
            "sex": "female", "age": 42,
            "labs": [{"marker": "3016-3", "value": 3.1, "unit": "uIU/mL"}],
            "symptoms": ["fatigue"], "consent": true
        }))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(s.labs[0].marker.id(), "tsh");
        assert_eq!(
            s.contact.phone.as_ref().map(|p| p.expose().as_str()),
            Some("+12015550123")
        );
        assert_eq!(s.sex, Some(Sex::Female));
    }

    #[test]
    fn every_problem_is_reported_with_its_field_path() {
        let err = parse(json!({
            "contact": {"email": "not-an-email", "phone": "call me"},
            "sex": "other", "age": 200,
            "labs": [
                {"marker": "tsh", "value": 3.1, "unit": "mIU/L"},
                {"marker": "tsh", "value": 2.0, "unit": "mIU/L"},
                {"marker": "unobtainium", "value": 1.0, "unit": "mg/dL"},
                {"marker": "glucose_fasting", "value": 5.0, "unit": "ng/mL"},
                {"marker": "glucose_fasting", "value": 90000.0, "unit": "mg/dL"}
            ],
            "symptoms": ["fatigue", "levitation"],
            "consent": false
        }))
        .err()
        .unwrap_or_default();
        let fields: Vec<&str> = err.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "contact.name",
                "contact.email",
                "contact.phone",
                "sex",
                "age",
                "labs[1].marker",
                "labs[2].marker",
                "labs[3].unit",
                "labs[4].marker",
                "symptoms[1]",
                "consent"
            ]
        );
        assert_eq!(
            err[8].problem,
            "Fasting glucose appears more than once (also labs[3])"
        );
    }

    #[test]
    fn values_as_labs_print_them_are_accepted() {
        let s = parse(json!({
            "contact": {"name": "Ann", "email": "ann@example.com"}, "consent": true,
            "labs": [
                {"marker": "tsh", "value": " 2,5 ", "unit": "mIU/L"},
                {"marker": "ferritin", "value": "< 10", "unit": "ng/mL"},
                {"marker": "glucose_fasting", "value": 5.2, "unit": "mmol/L"},
                {"marker": "vitamin_d_25oh", "value": "≥100", "unit": "ng/mL"}
            ]
        }))
        .unwrap_or_else(|e| panic!("{e:?}"));
        let values: Vec<(f64, Option<Qualifier>)> = s
            .labs
            .iter()
            .map(|l| (l.value.value(), l.value.qualifier()))
            .collect();
        assert_eq!(
            values,
            [
                (2.5, None),
                (10.0, Some(Qualifier::Below)),
                (5.2, None),
                (100.0, Some(Qualifier::Above))
            ]
        );
        assert_eq!(s.labs[0].range_value, 2.5);
        assert_eq!(s.labs[1].range_value, 10.0);
    }

    #[test]
    fn lab_values_that_are_not_numbers_are_named_plainly() {
        let err = parse(json!({
            "contact": {"name": "Ann", "email": "ann@example.com"}, "consent": true,
            "labs": [
                {"marker": "tsh", "value": "CANARY", "unit": "mIU/L"},
                {"marker": "ferritin", "value": "1,234.5", "unit": "ng/mL"},
                {"marker": "nonsense", "value": "  ", "unit": "mg/dL"},
                {"marker": "glucose_fasting", "value": "<90000", "unit": "mg/dL"},
                {"value": 1}
            ]
        }))
        .err()
        .unwrap_or_default();
        assert_eq!(
            fields(&err),
            [
                "labs[0].value",
                "labs[1].value",
                "labs[2].marker",
                "labs[2].value",
                "labs[3].value",
                "labs[4].marker",
                "labs[4].unit"
            ]
        );
        assert_eq!(err[0].problem, LabValueError::NotANumber.to_string());
        assert_eq!(
            err[1].problem,
            LabValueError::ThousandsSeparator.to_string()
        );
        assert_eq!(err[3].problem, LabValueError::Empty.to_string());
        assert!(err[4].problem.starts_with("is outside what is plausible"));
        assert_eq!(err[5].problem, "is required");
        assert!(!format!("{err:?}").contains("CANARY"));
    }

    #[test]
    fn wrong_types_and_invalid_values_are_reported_together_in_field_order() {
        let err = parse(json!({
            "contact": {"name": "Ann", "email": "not-an-email"},
            "age": "42",
            "labs": [
                {"marker": "tsh", "value": 2.0, "unit": "mIU/L"},
                {"marker": "tsh", "value": {"v": 1}, "unit": "mIU/L"},
                {"marker": "unobtainium", "value": 1, "unit": "mg/dL"},
                "ferritin 40",
                {"marker": 7, "value": [1], "unit": true}
            ],
            "symptoms": ["fatigue", 3, "fatigue"],
            "consent": "yes",
            "engagement": {"time_on_tool_s": -1}
        }))
        .err()
        .unwrap_or_default();
        assert_eq!(
            fields(&err),
            [
                "contact.email",
                "age",
                "labs[1].marker",
                "labs[1].value",
                "labs[2].marker",
                "labs[3]",
                "labs[4].marker",
                "labs[4].value",
                "labs[4].unit",
                "symptoms[1]",
                "symptoms[2]",
                // Only once: not also "must be given".
                "consent",
                "engagement.time_on_tool_s"
            ]
        );
        let problem = |f: &str| {
            err.iter()
                .find(|p| p.field == f)
                .map(|p| p.problem.clone())
                .unwrap_or_default()
        };
        assert_eq!(problem("age"), "must be a whole number from 0 to 130");
        assert_eq!(problem("consent"), "must be true or false");
        assert_eq!(
            problem("labs[3]"),
            "must be an object with marker, value and unit"
        );
        assert_eq!(problem("symptoms[2]"), "is listed more than once");
    }

    #[test]
    fn a_wrongly_typed_lab_is_read_as_absent_but_still_counted_as_a_duplicate_by_marker() {
        // labs[1] names tsh again: that is a problem of its own, whatever its value.
        let err = parse(json!({
            "contact": {"name": "Ann", "email": "ann@example.com"}, "consent": true,
            "labs": [{"marker": "tsh", "value": 2.0, "unit": "mIU/L"},
                     {"marker": "tsh", "value": false, "unit": "mIU/L"}]
        }))
        .err()
        .unwrap_or_default();
        assert_eq!(fields(&err), ["labs[1].marker", "labs[1].value"]);
    }

    #[test]
    fn a_body_that_is_not_an_object_is_one_problem() {
        for body in [json!([1, 2]), json!(null), json!("labs")] {
            let err = parse(body).err().unwrap_or_default();
            assert_eq!(fields(&err), [""]);
            assert_eq!(err[0].problem, "the body must be a JSON object");
        }
    }

    #[test]
    fn unknown_fields_are_each_named_at_any_depth() {
        let unknown = IntakeDraft::from_json(json!({
            "sneaky": 1, "age": "x",
            "contact": {"ssn": "1"},
            "labs": [{"marker": "tsh", "value": 1, "unit": "mIU/L", "note": ""}],
            "engagement": {"clicks": 3},
            "source": {"referrer": "x", "utm": {"id": "1", "source": "news"}}
        }))
        .err()
        .unwrap_or_default();
        assert_eq!(
            fields(&unknown),
            [
                "sneaky",
                "contact.ssn",
                "labs[0].note",
                "engagement.clicks",
                "source.referrer",
                "source.utm.id"
            ]
        );
        assert!(unknown.iter().all(|p| p.problem == "is not a known field"));
    }

    #[test]
    fn deserializing_with_serde_reads_the_same_way() {
        let body =
            json!({"age": "x", "labs": [{"marker": "tsh", "value": "5,2", "unit": "mIU/L"}]});
        let via_serde: IntakeDraft =
            serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("{e}"));
        let read = IntakeDraft::from_json(body).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(via_serde.problems, read.problems);
        assert_eq!(fields(&read.problems), ["age"]);
        assert_eq!(
            read.labs[0].value,
            Some(LabValueDraft::Text("5,2".to_owned()))
        );
        let err = serde_json::from_str::<IntakeDraft>(r#"{"labs": [{"x": 1}]}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("unknown field `labs[0].x`"), "{err}");
        let err = serde_json::from_str::<IntakeDraft>(r#"{"age": 1, "age": 2}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("duplicate field `age`"), "{err}");
    }

    #[test]
    fn a_request_debug_prints_no_value() {
        let req = IntakeDraft::from_json(json!({
            "contact": {"name": "CANARY"}, "sex": "CANARY", "age": 4242,
            "labs": [{"marker": "tsh", "value": "CANARY", "unit": "CANARY"}],
            "symptoms": ["CANARY"], "honeypot": "CANARY", "form_token": "CANARY",
            "source": {"page_url": "https://CANARY.example", "utm": {"term": "CANARY"}}
        }))
        .unwrap_or_else(|e| panic!("{e:?}"));
        let text = format!("{req:?}");
        assert!(!text.contains("CANARY") && !text.contains("4242"), "{text}");
    }

    #[test]
    fn null_means_absent() {
        let s = parse(json!({
            "contact": {"name": "Ann", "email": "ann@example.com", "phone": null},
            "sex": null, "age": null, "labs": null, "symptoms": null, "consent": true,
            "engagement": null, "source": null, "form_token": null, "honeypot": null
        }))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(s.labs.is_empty() && s.source.is_none() && s.contact.phone.is_none());
    }

    #[test]
    fn the_lead_source_is_validated_with_the_rest() {
        let s = parse(json!({
            "contact": {"name": "Ann", "email": "ann@example.com"}, "consent": true,
            "source": {"page_url": "https://clinic.example/labs?gclid=1#x",
                       "utm": {"source": "newsletter", "campaign": "spring"}}
        }))
        .unwrap_or_else(|e| panic!("{e:?}"));
        let source = s.source.unwrap_or_else(|| panic!("a source"));
        assert_eq!(source.page_url(), Some("https://clinic.example/labs"));
        assert_eq!(source.utm("source"), Some("newsletter"));
        let err = parse(json!({
            "contact": {"name": "Ann", "email": "nope"}, "consent": false,
            "source": {"page_url": "not a url", "utm": {"medium": 5, "term": "x".repeat(201)}}
        }))
        .err()
        .unwrap_or_default();
        assert_eq!(
            fields(&err),
            [
                "contact.email",
                "consent",
                "source.page_url",
                "source.utm.medium",
                "source.utm.term"
            ]
        );
    }

    #[test]
    fn field_paths_sort_in_body_order() {
        let mut paths = vec![
            "honeypot",
            "source.utm.content",
            "source.utm.source",
            "source.page_url",
            "consent",
            "symptoms[0]",
            "labs[10].marker",
            "labs[2].unit",
            "labs[2].value",
            "labs",
            "age",
            "contact.phone",
            "contact.name",
            "",
        ];
        paths.sort_by_cached_key(|p| field_rank(p));
        assert_eq!(
            paths,
            [
                "",
                "contact.name",
                "contact.phone",
                "age",
                "labs",
                "labs[2].value",
                "labs[2].unit",
                "labs[10].marker",
                "symptoms[0]",
                "consent",
                "source.page_url",
                "source.utm.source",
                "source.utm.content",
                "honeypot"
            ]
        );
    }

    #[test]
    fn problems_never_repeat_what_the_patient_typed() {
        let err = parse(json!({
            "contact": {"name": "x", "email": "CANARY@@nowhere", "phone": "CANARY-PHONE"},
            "labs": [{"marker": "tsh", "value": 987654.321, "unit": "mIU/L"}],
            "consent": true
        }))
        .err()
        .unwrap_or_default();
        let text = format!("{err:?}");
        assert!(
            !text.contains("CANARY") && !text.contains("987654"),
            "{text}"
        );
    }

    #[test]
    fn too_many_labs_are_refused() {
        let labs: Vec<_> = (0..101)
            .map(|_| json!({"marker": "tsh", "value": 1.0, "unit": "mIU/L"}))
            .collect();
        let err = parse(
            json!({"contact": {"name": "a", "email": "a@b.co"}, "labs": labs, "consent": true}),
        )
        .err()
        .unwrap_or_default();
        assert_eq!(err[0].field, "labs");
    }
}
