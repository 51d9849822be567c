//! Correcting a practice's profile and form settings (`PATCH /v1/practitioner`):
//! the partial update, validated field by field and applied all at once or not at all.

use super::catalog::{self, MAX_ABOUT_LEN};
use super::colour::{self, MIN_CONTRAST};
use super::contact::{is_phone_region, Email};
use super::custom::CustomMarker;
use super::practitioner::{Branding, CallToAction, ContactFields, Practitioner};
use super::problems::{FieldProblem, Problems};
use std::collections::BTreeMap;

/// Most origins a form may be embedded on.
pub const MAX_ORIGINS: usize = 20;
/// Longest consent wording.
pub const MAX_CONSENT_LEN: usize = 4000;
/// Most markers the form may list.
pub const MAX_FORM_MARKERS: usize = 100;
/// Longest disclaimer shown with the report.
pub const MAX_DISCLAIMER_LEN: usize = 1000;

/// A partial update of the profile and form settings (`PATCH /v1/practitioner`):
/// `None` leaves a field unchanged; `Some(None)` clears a field that may be cleared.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PractitionerPatch {
    /// Practice name.
    pub practice_name: Option<String>,
    /// Doctor's name.
    pub doctor_name: Option<String>,
    /// Practice contact email.
    pub email: Option<String>,
    /// Practice website.
    pub website_url: Option<String>,
    /// Branding (replaced as a whole).
    pub branding: Option<Branding>,
    /// Contact fields (replaced as a whole).
    pub contact_fields: Option<ContactFields>,
    /// Whether consent is required.
    pub consent_required: Option<bool>,
    /// Consent wording (a change raises the consent version).
    pub consent_text: Option<String>,
    /// Call to action; `null` removes it.
    pub call_to_action: Option<Option<CallToAction>>,
    /// Origins allowed to embed the form (replaced as a whole).
    pub allowed_origins: Option<Vec<String>>,
    /// Default phone region; `null` removes it.
    pub phone_region: Option<Option<String>>,
    /// Restriction: `false` pauses the form (nothing is accepted or queued).
    pub accepting_submissions: Option<bool>,
    /// Markers the form lists, in order: catalog ids, LOINC codes or the practice's own
    /// marker ids (stored as ids). `null` restores the default list.
    pub form_markers: Option<Option<Vec<String>>>,
    /// The practice's own one-line explanation of markers, by marker (replaced as a
    /// whole; `null` or `{}` removes them all).
    pub marker_notes: Option<Option<BTreeMap<String, String>>>,
    /// The note shown with every report; `null` restores the default.
    pub disclaimer: Option<Option<String>>,
}

fn text(problems: &mut Problems, field: &str, value: &str, max: usize) -> String {
    let v = value.trim();
    let n = v.chars().count();
    if n == 0 {
        problems.add(field, "must not be empty");
    } else if n > max {
        problems.add(field, format!("must be at most {max} characters"));
    } else if v.chars().any(|c| c.is_control() && c != '\n') {
        problems.add(field, "must not contain control characters");
    }
    v.to_owned()
}

fn web_url(problems: &mut Problems, field: &str, value: &str, https_only: bool) -> String {
    let v = value.trim();
    match url::Url::parse(v) {
        Ok(u)
            if (u.scheme() == "https" || (!https_only && u.scheme() == "http"))
                && u.host().is_some() => {}
        _ if https_only => problems.add(field, "must be an absolute https:// URL"),
        _ => problems.add(field, "must be an absolute http(s) URL"),
    }
    v.to_owned()
}

/// Whether `s` is a colour as `#RGB` or `#RRGGBB`.
pub fn is_hex_colour(s: &str) -> bool {
    s.strip_prefix('#')
        .is_some_and(|h| (h.len() == 3 || h.len() == 6) && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Parses an origin (`https://clinic.example.com[:port]`), refusing paths and queries.
pub fn parse_origin(s: &str) -> Option<String> {
    let u = url::Url::parse(s.trim()).ok()?;
    let plain = matches!(u.scheme(), "https" | "http")
        && u.host().is_some()
        && (u.path() == "/" || u.path().is_empty())
        && u.query().is_none()
        && u.fragment().is_none()
        && u.username().is_empty();
    plain.then(|| u.origin().ascii_serialization())
}

/// Why white text cannot be read on a colour, with a darker shade to try; `None`
/// when it can.
fn too_light(hex: &str) -> Option<String> {
    let ratio = colour::contrast_with_white(hex)?;
    if ratio >= MIN_CONTRAST {
        return None;
    }
    // Rounded down, so a colour at 4.47:1 never reads as "4.5:1, needs 4.5:1".
    let shown = (ratio * 10.0).floor() / 10.0;
    Some(format!(
        "is too light to read white text on (contrast {shown:.1}:1, needs {MIN_CONTRAST:.1}:1); try a darker shade such as {}",
        colour::readable_on_white(hex)
    ))
}

/// The id of a marker the practice may name: a catalog marker by id or LOINC code, or
/// one of its own by id or LOINC code.
fn marker_id(key: &str, custom: &[CustomMarker]) -> Option<String> {
    let key = key.trim();
    if let Some(m) = catalog::find(key) {
        return Some(m.id.to_owned());
    }
    custom
        .iter()
        .find(|c| c.id == key || c.loinc.as_deref() == Some(key))
        .map(|c| c.id.clone())
}

fn form_markers(problems: &mut Problems, list: &[String], custom: &[CustomMarker]) -> Vec<String> {
    if list.len() > MAX_FORM_MARKERS {
        problems.add(
            "form_markers",
            format!("at most {MAX_FORM_MARKERS} markers"),
        );
    }
    let mut ids: Vec<String> = Vec::new();
    for (i, key) in list.iter().enumerate().take(MAX_FORM_MARKERS) {
        let field = format!("form_markers[{i}]");
        match marker_id(key, custom) {
            None => problems.add(field, "is neither a catalog marker nor one of your own"),
            Some(id) if ids.contains(&id) => problems.add(field, "is listed more than once"),
            Some(id) => ids.push(id),
        }
    }
    ids
}

/// A field path naming a note by the key the practice sent, when that key is short and
/// printable enough to repeat.
fn note_field(key: &str) -> String {
    let plain = !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain {
        format!("marker_notes.{key}")
    } else {
        "marker_notes".to_owned()
    }
}

fn marker_notes(
    problems: &mut Problems,
    notes: BTreeMap<String, String>,
    custom: &[CustomMarker],
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if notes.len() > catalog::markers().len() + custom.len() {
        problems.add("marker_notes", "has more notes than there are markers");
        return out;
    }
    for (key, note) in notes {
        let field = note_field(&key);
        let Some(id) = marker_id(&key, custom) else {
            problems.add(field, "is neither a catalog marker nor one of your own");
            continue;
        };
        let note = note.trim();
        let n = note.chars().count();
        if n == 0 {
            problems.add(field, "must not be empty");
        } else if n > MAX_ABOUT_LEN {
            problems.add(field, format!("must be at most {MAX_ABOUT_LEN} characters"));
        } else if note.chars().any(char::is_control) {
            problems.add(field, "must be one line without control characters");
        } else if out.insert(id, note.to_owned()).is_some() {
            problems.add(field, "names a marker that already has a note");
        }
    }
    out
}

impl Practitioner {
    /// Applies a patch: validates every field, then changes all or nothing. Returns the
    /// names of the fields that changed (for the audit log), and raises the version
    /// (and the consent version when the wording changed).
    ///
    /// `custom` are the practice's own markers, which `form_markers` and
    /// `marker_notes` may name besides the catalog's.
    pub fn apply(
        &mut self,
        patch: PractitionerPatch,
        custom: &[CustomMarker],
    ) -> Result<Vec<&'static str>, Vec<FieldProblem>> {
        let mut problems = Problems::new();
        let mut next = self.clone();
        let mut changed = Vec::new();
        if let Some(v) = patch.practice_name {
            next.practice_name = text(&mut problems, "practice_name", &v, 200);
            changed.push("practice_name");
        }
        if let Some(v) = patch.doctor_name {
            next.doctor_name = text(&mut problems, "doctor_name", &v, 200);
            changed.push("doctor_name");
        }
        if let Some(v) = patch.email {
            if Email::parse(v.trim()).is_none() {
                problems.add("email", "is not a valid email address");
            }
            next.email = v.trim().to_owned();
            changed.push("email");
        }
        if let Some(v) = patch.website_url {
            next.website_url = web_url(&mut problems, "website_url", &v, false);
            changed.push("website_url");
        }
        if let Some(b) = patch.branding {
            if let Some(u) = &b.logo_url {
                web_url(&mut problems, "branding.logo_url", u, true);
            }
            for (field, c) in [
                ("branding.primary_color", &b.primary_color),
                ("branding.secondary_color", &b.secondary_color),
            ] {
                let Some(c) = c.as_deref() else { continue };
                if !is_hex_colour(c) {
                    problems.add(field, "must be a colour such as #1a7f5a or #fff");
                } else if let Some(why) = too_light(c) {
                    problems.add(field, why);
                }
            }
            next.settings.branding = b;
            changed.push("branding");
        }
        if let Some(c) = patch.contact_fields {
            next.settings.contact_fields = c;
            changed.push("contact_fields");
        }
        if let Some(c) = patch.consent_required {
            next.settings.consent_required = c;
            changed.push("consent_required");
        }
        if let Some(t) = patch.consent_text {
            let t = text(&mut problems, "consent_text", &t, MAX_CONSENT_LEN);
            if t != next.settings.consent_text {
                next.settings.consent_text = t;
                next.settings.consent_version += 1;
            }
            changed.push("consent_text");
        }
        if let Some(cta) = patch.call_to_action {
            if let Some(c) = &cta {
                text(&mut problems, "call_to_action.label", &c.label, 60);
                web_url(&mut problems, "call_to_action.url", &c.url, false);
            }
            next.settings.call_to_action = cta.map(|c| CallToAction {
                label: c.label.trim().to_owned(),
                url: c.url.trim().to_owned(),
            });
            changed.push("call_to_action");
        }
        if let Some(origins) = patch.allowed_origins {
            if origins.len() > MAX_ORIGINS {
                problems.add("allowed_origins", format!("at most {MAX_ORIGINS} origins"));
            }
            let mut parsed = Vec::new();
            for (i, o) in origins.iter().enumerate().take(MAX_ORIGINS) {
                match parse_origin(o) {
                    Some(o) if !parsed.contains(&o) => parsed.push(o),
                    Some(_) => {
                        problems.add(format!("allowed_origins[{i}]"), "is listed more than once")
                    }
                    None => problems.add(
                        format!("allowed_origins[{i}]"),
                        "must be an origin such as https://clinic.example.com (no path)",
                    ),
                }
            }
            next.settings.allowed_origins = parsed;
            changed.push("allowed_origins");
        }
        if let Some(region) = patch.phone_region {
            let region = region.map(|r| r.trim().to_ascii_uppercase());
            if region.as_deref().is_some_and(|r| !is_phone_region(r)) {
                problems.add("phone_region", "is not a region code such as US, GB or DE");
            }
            next.settings.phone_region = region;
            changed.push("phone_region");
        }
        if let Some(a) = patch.accepting_submissions {
            next.settings.accepting_submissions = a;
            changed.push("accepting_submissions");
        }
        if let Some(list) = patch.form_markers {
            next.settings.form_markers = list.map(|l| form_markers(&mut problems, &l, custom));
            changed.push("form_markers");
        }
        if let Some(notes) = patch.marker_notes {
            next.settings.marker_notes =
                marker_notes(&mut problems, notes.unwrap_or_default(), custom);
            changed.push("marker_notes");
        }
        if let Some(d) = patch.disclaimer {
            next.settings.disclaimer =
                d.map(|d| text(&mut problems, "disclaimer", &d, MAX_DISCLAIMER_LEN));
            changed.push("disclaimer");
        }
        if !problems.is_empty() {
            return Err(problems.into_vec());
        }
        if !changed.is_empty() {
            next.version += 1;
        }
        *self = next;
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::PractitionerId;
    use crate::domain::practitioner::NewPractitioner;
    use serde_json::json;

    fn practitioner() -> Practitioner {
        Practitioner::create(
            NewPractitioner {
                practice_name: "P".into(),
                doctor_name: "D".into(),
                email: "p@example.com".into(),
                website_url: "https://p.example.com".into(),
                slug: Some("patch-me".into()),
                phone_region: None,
            },
            PractitionerId::generate(&mut rand::thread_rng()),
            time::OffsetDateTime::UNIX_EPOCH,
        )
        .unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn patch(v: serde_json::Value) -> PractitionerPatch {
        crate::http::wire::read::<crate::http::wire::practitioner::PractitionerPatchRequest, _>(v)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_patch_changes_only_what_it_names_and_raises_the_version() {
        let mut p = practitioner();
        let changed = p
            .apply(patch(json!({"branding": {"primary_color": "#1a7f5a"}, "consent_text": "New words.",
                                "call_to_action": {"label": "Book now", "url": "https://p.example.com/book"},
                                "allowed_origins": ["https://p.example.com/", "http://localhost:3000"]})), &[])
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            changed,
            [
                "branding",
                "consent_text",
                "call_to_action",
                "allowed_origins"
            ]
        );
        assert_eq!(p.version, 2);
        assert_eq!(p.settings.consent_version, 2);
        assert_eq!(
            p.settings.allowed_origins,
            ["https://p.example.com", "http://localhost:3000"]
        );
        assert_eq!(p.practice_name, "P");
        p.apply(patch(json!({"call_to_action": null})), &[])
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(p.settings.call_to_action, None);
        assert_eq!(
            p.settings.consent_version, 2,
            "unchanged wording keeps its version"
        );
    }

    #[test]
    fn a_bad_patch_changes_nothing_and_names_every_field() {
        let mut p = practitioner();
        let before = p.clone();
        let err = p
            .apply(patch(json!({"practice_name": "Fine", "email": "x", "branding": {"primary_color": "green", "logo_url": "http://x"},
                                "allowed_origins": ["https://a.example.com/path"], "phone_region": "ZZ",
                                "call_to_action": {"label": "", "url": "nope"}})), &[])
            .err()
            .unwrap_or_default();
        let fields: Vec<&str> = err.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "email",
                "branding.logo_url",
                "branding.primary_color",
                "call_to_action.label",
                "call_to_action.url",
                "allowed_origins[0]",
                "phone_region"
            ]
        );
        assert_eq!(p, before);
    }

    fn own_marker() -> CustomMarker {
        let req = crate::http::wire::read::<crate::http::wire::markers::CustomMarkerRequest, _>(
            json!({"name": "Omega-3 index", "unit": "%",
                                                "optimal": {"low": 8.0}, "loinc": "12345-6"}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        CustomMarker::parse("omega3_index", req).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn problems(err: &[FieldProblem]) -> Vec<&str> {
        err.iter().map(|p| p.field.as_str()).collect()
    }

    #[test]
    fn the_form_lists_the_markers_the_practice_names_as_ids_in_its_order() {
        let mut p = practitioner();
        let changed = p
            .apply(
                patch(json!({"form_markers": ["ferritin", " 3016-3", "omega3_index", "12345-6x"]})),
                &[own_marker()],
            )
            .err()
            .unwrap_or_default();
        assert_eq!(problems(&changed), ["form_markers[3]"]);
        assert_eq!(p.settings.form_markers, None, "nothing changed");

        let changed = p
            .apply(
                patch(json!({"form_markers": ["ferritin", " 3016-3", "12345-6"]})),
                &[own_marker()],
            )
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(changed, ["form_markers"]);
        assert_eq!(
            p.settings.form_markers.as_deref(),
            Some(&["ferritin".to_owned(), "tsh".into(), "omega3_index".into()][..])
        );
        p.apply(patch(json!({"form_markers": null})), &[])
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(p.settings.form_markers, None);
    }

    #[test]
    fn form_markers_refuse_duplicates_unknowns_and_too_many() {
        let mut p = practitioner();
        let err = p
            .apply(
                patch(json!({"form_markers": ["tsh", "ferritin", "3016-3", "omega3_index"]})),
                &[],
            )
            .err()
            .unwrap_or_default();
        assert_eq!(problems(&err), ["form_markers[2]", "form_markers[3]"]);
        let many: Vec<String> = (0..=MAX_FORM_MARKERS).map(|i| format!("m{i}")).collect();
        let err = p
            .apply(patch(json!({ "form_markers": many })), &[])
            .err()
            .unwrap_or_default();
        assert_eq!(err[0].field, "form_markers");
        assert_eq!(err.len(), 1 + MAX_FORM_MARKERS);
    }

    #[test]
    fn marker_notes_are_replaced_as_a_whole_and_checked_one_by_one() {
        let mut p = practitioner();
        p.apply(
            patch(json!({"marker_notes": {"tsh": " Our words for TSH. ", "omega3_index": "Fish oils."}})),
            &[own_marker()],
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            p.settings.marker_notes.get("tsh").map(String::as_str),
            Some("Our words for TSH.")
        );
        p.apply(
            patch(json!({"marker_notes": {"3024-7": "Free T4 words."}})),
            &[],
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let keys: Vec<&str> = p.settings.marker_notes.keys().map(String::as_str).collect();
        assert_eq!(keys, ["free_t4"], "replaced, keyed by id");

        let err = p
            .apply(
                patch(
                    json!({"marker_notes": {"tsh": "", "ferritin": "x".repeat(141),
                                              "alt": "two\nlines", "nope": "n", "a b": "n"}}),
                ),
                &[],
            )
            .err()
            .unwrap_or_default();
        assert_eq!(
            problems(&err),
            [
                "marker_notes",
                "marker_notes.alt",
                "marker_notes.ferritin",
                "marker_notes.nope",
                "marker_notes.tsh"
            ]
        );
        p.apply(patch(json!({"marker_notes": null})), &[])
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(p.settings.marker_notes.is_empty());
    }

    #[test]
    fn the_disclaimer_may_be_worded_and_restored() {
        let mut p = practitioner();
        p.apply(patch(json!({"disclaimer": " Not medical advice. "})), &[])
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            p.settings.disclaimer.as_deref(),
            Some("Not medical advice.")
        );
        for bad in [json!(""), json!("x".repeat(MAX_DISCLAIMER_LEN + 1))] {
            let err = p
                .apply(patch(json!({ "disclaimer": bad })), &[])
                .err()
                .unwrap_or_default();
            assert_eq!(problems(&err), ["disclaimer"]);
        }
        p.apply(patch(json!({"disclaimer": null})), &[])
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(p.settings.disclaimer, None);
    }

    #[test]
    fn a_brand_colour_white_text_cannot_be_read_on_is_refused_with_a_darker_shade() {
        let mut p = practitioner();
        let err = p
            .apply(
                patch(json!({"branding": {"primary_color": "#7fd1ae", "secondary_color": "#777"}})),
                &[],
            )
            .err()
            .unwrap_or_default();
        assert_eq!(
            problems(&err),
            ["branding.primary_color", "branding.secondary_color"]
        );
        let suggestion = colour::readable_on_white("#7fd1ae");
        assert!(
            err[0]
                .problem
                .starts_with("is too light to read white text on (contrast 1.")
                && err[0].problem.contains("needs 4.5:1")
                && err[0].problem.ends_with(&suggestion),
            "{}",
            err[0].problem
        );
        assert!(
            err[1].problem.contains("contrast 4.4:1"),
            "{}",
            err[1].problem
        );
        p.apply(
            patch(json!({"branding": {"primary_color": suggestion, "secondary_color": "#767676"}})),
            &[],
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
    }

    #[test]
    fn colours_and_origins() {
        assert!(is_hex_colour("#fff") && is_hex_colour("#1A7F5A"));
        assert!(!is_hex_colour("fff") && !is_hex_colour("#ffff") && !is_hex_colour("#ggg"));
        assert_eq!(
            parse_origin("https://a.example.com:8443").as_deref(),
            Some("https://a.example.com:8443")
        );
        assert_eq!(parse_origin("https://a.example.com/x"), None);
        assert_eq!(parse_origin("ftp://a.example.com"), None);
    }
}
