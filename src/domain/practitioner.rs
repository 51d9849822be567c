//! Practitioners: the account record, its form settings, and the validated request
//! that creates one.

use super::custom::SymptomSettings;
use super::ids::PractitionerId;
use super::problems::{FieldProblem, Problems};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// A URL-safe, unique practice handle used by the public form (`/v1/forms/{slug}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Slug(String);

/// Slug length limits.
const SLUG_LEN: std::ops::RangeInclusive<usize> = 3..=48;

impl Slug {
    /// Parses a slug: lowercase letters, digits and single inner hyphens, 3 to 48 long.
    pub fn parse(s: &str) -> Result<Slug, &'static str> {
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !SLUG_LEN.contains(&s.len()) {
            Err("must be 3 to 48 characters long")
        } else if !ok_chars || s.starts_with('-') || s.ends_with('-') || s.contains("--") {
            Err("may contain only lowercase letters, digits and single hyphens between them")
        } else {
            Ok(Slug(s.to_owned()))
        }
    }

    /// Derives a slug from a practice name ("Dr. Lee's Clinic" → `dr-lee-s-clinic`).
    pub fn derive(practice_name: &str) -> Slug {
        let mut out = String::new();
        for c in practice_name.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        }
        let mut out: String = out.chars().take(*SLUG_LEN.end()).collect();
        while out.ends_with('-') {
            out.pop();
        }
        if out.len() < *SLUG_LEN.start() {
            out = format!("practice-{out}").trim_end_matches('-').to_owned();
        }
        Slug(out)
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Slug {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Slug::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Whether the form asks for a contact field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldMode {
    /// The patient must fill it in.
    Required,
    /// The patient may fill it in.
    Optional,
    /// The form does not ask for it; a submitted value is refused.
    Off,
}

/// Which contact fields the form asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactFields {
    /// Patient's name.
    pub name: FieldMode,
    /// Patient's email.
    pub email: FieldMode,
    /// Patient's phone.
    pub phone: FieldMode,
}

impl Default for ContactFields {
    fn default() -> Self {
        Self {
            name: FieldMode::Required,
            email: FieldMode::Required,
            phone: FieldMode::Optional,
        }
    }
}

/// The practice's branding on the form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Branding {
    /// Logo image URL (`https://…`).
    #[serde(default)]
    pub logo_url: Option<String>,
    /// Primary colour (`#RGB` or `#RRGGBB`).
    #[serde(default)]
    pub primary_color: Option<String>,
    /// Secondary colour (`#RGB` or `#RRGGBB`).
    #[serde(default)]
    pub secondary_color: Option<String>,
}

/// The button the form shows after the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallToAction {
    /// Button label ("Book a consultation").
    pub label: String,
    /// Where it leads (`https://…`).
    pub url: String,
}

/// Whether an account may be used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// In use.
    #[default]
    Active,
    /// Suspended by the operator: keys are refused and the form takes nothing.
    Suspended,
}

/// Default consent wording shown on the form.
pub const DEFAULT_CONSENT_TEXT: &str = "I agree that the information I enter is sent to this practice so that they can contact me about my results.";

/// One version of a practice's consent wording. Every version is kept for as long as
/// the practice is, so the practice can show what a patient agreed to: each webhook
/// names the version and the SHA-256 of its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentVersion {
    /// The version (`consent_version` while this wording was current).
    pub version: u32,
    /// The wording, exactly as the form showed it.
    pub text: String,
    /// When this wording became current (for wording older than the record of
    /// versions: when it was first recorded).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl ConsentVersion {
    /// The hex SHA-256 of the wording's UTF-8 bytes.
    pub fn sha256(&self) -> String {
        consent_text_sha256(&self.text)
    }
}

/// The lowercase hex SHA-256 of a consent wording's UTF-8 bytes, exactly as stored (no
/// trimming or normalising), so anyone holding the text can check a webhook's hash.
pub fn consent_text_sha256(text: &str) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write;
    Sha256::digest(text.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            // Writing to a String cannot fail.
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// The note shown with every report unless the practice words its own.
pub const DEFAULT_DISCLAIMER: &str = "This report is for information only and is not a diagnosis. Talk to your practitioner before changing anything.";

/// What the public form shows and requires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormSettings {
    /// Contact fields asked for.
    pub contact_fields: ContactFields,
    /// Whether the patient must consent before submitting.
    pub consent_required: bool,
    /// Consent wording.
    pub consent_text: String,
    /// Version of the consent wording, raised each time it changes; each webhook
    /// carries the version the patient agreed to.
    #[serde(default = "one")]
    pub consent_version: u32,
    /// Branding.
    pub branding: Branding,
    /// The button shown after the report.
    #[serde(default)]
    pub call_to_action: Option<CallToAction>,
    /// Whether the form takes submissions (false: restricted by the practitioner).
    #[serde(default = "yes")]
    pub accepting_submissions: bool,
    /// Origins allowed to embed the form.
    pub allowed_origins: Vec<String>,
    /// Region whose national phone numbers the form accepts without a country code
    /// (`US`, `GB`, …); `None`: numbers without `+` are kept as digits.
    #[serde(default)]
    pub phone_region: Option<String>,
    /// Symptoms the form offers and the practitioner's own; `None` offers the whole
    /// catalog.
    pub symptoms: Option<SymptomSettings>,
    /// Markers the form lists, in display order (catalog ids or the practice's own
    /// marker ids); `None`: the default list.
    #[serde(default)]
    pub form_markers: Option<Vec<String>>,
    /// The practice's own one-line explanation of a marker, by marker id, shown instead
    /// of the catalog's.
    #[serde(default)]
    pub marker_notes: BTreeMap<String, String>,
    /// The note shown with the report; `None`: [`DEFAULT_DISCLAIMER`].
    #[serde(default)]
    pub disclaimer: Option<String>,
}

/// A practice's account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Practitioner {
    /// Id.
    pub id: PractitionerId,
    /// Public form handle.
    pub slug: Slug,
    /// Practice name.
    pub practice_name: String,
    /// Doctor's name.
    pub doctor_name: String,
    /// Practice contact email.
    pub email: String,
    /// Practice website.
    pub website_url: String,
    /// Form settings.
    pub settings: FormSettings,
    /// When the account was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Suspended by the operator or not.
    #[serde(default)]
    pub status: AccountStatus,
    /// When the account and everything about it will be erased, if scheduled.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub erase_at: Option<OffsetDateTime>,
    /// Raised on every change; the `ETag` of the settings.
    #[serde(default)]
    pub version: u64,
}

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

impl Practitioner {
    /// Whether the public form takes submissions now.
    pub fn accepts_submissions(&self) -> bool {
        self.status == AccountStatus::Active
            && self.settings.accepting_submissions
            && self.erase_at.is_none()
    }

    /// The `ETag` of the settings (a strong validator of this version).
    pub fn etag(&self) -> String {
        format!("\"v{}\"", self.version)
    }
}

/// A practice as the operator asked for it (`POST /v1/practitioners`), before it is
/// checked by [`Practitioner::create`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPractitioner {
    /// Practice name.
    pub practice_name: String,
    /// Doctor's name.
    pub doctor_name: String,
    /// Practice contact email.
    pub email: String,
    /// Practice website (`https://…`).
    pub website_url: String,
    /// Desired slug; derived from the practice name when absent.
    pub slug: Option<String>,
    /// Default region for patients' phone numbers (`US`, `GB`, …).
    pub phone_region: Option<String>,
}

const MAX_NAME_LEN: usize = 200;

fn check_text(problems: &mut Problems, field: &str, value: &str) {
    let n = value.trim().chars().count();
    if n == 0 {
        problems.add(field, "must not be empty");
    } else if n > MAX_NAME_LEN {
        problems.add(field, format!("must be at most {MAX_NAME_LEN} characters"));
    }
}

impl Practitioner {
    /// Validates a creation request into a new account record.
    pub fn create(
        req: NewPractitioner,
        id: PractitionerId,
        now: OffsetDateTime,
    ) -> Result<Practitioner, Vec<FieldProblem>> {
        let mut problems = Problems::new();
        check_text(&mut problems, "practice_name", &req.practice_name);
        check_text(&mut problems, "doctor_name", &req.doctor_name);
        if super::contact::Email::parse(req.email.trim()).is_none() {
            problems.add("email", "is not a valid email address");
        }
        let origin = match url::Url::parse(req.website_url.trim()) {
            Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => {
                Some(u.origin().ascii_serialization())
            }
            _ => {
                problems.add("website_url", "must be an absolute http(s) URL");
                None
            }
        };
        let phone_region = req.phone_region.map(|r| r.trim().to_ascii_uppercase());
        if phone_region
            .as_deref()
            .is_some_and(|r| !super::contact::is_phone_region(r))
        {
            problems.add("phone_region", "is not a region code such as US, GB or DE");
        }
        let slug = match req.slug.as_deref() {
            Some(s) => Slug::parse(s).map_err(|why| problems.add("slug", why)).ok(),
            None => Some(Slug::derive(&req.practice_name)),
        };
        match (problems.is_empty(), slug, origin) {
            (true, Some(slug), Some(origin)) => Ok(Practitioner {
                id,
                slug,
                practice_name: req.practice_name.trim().to_owned(),
                doctor_name: req.doctor_name.trim().to_owned(),
                email: req.email.trim().to_owned(),
                website_url: req.website_url.trim().to_owned(),
                settings: FormSettings {
                    contact_fields: ContactFields::default(),
                    consent_required: true,
                    consent_text: DEFAULT_CONSENT_TEXT.to_owned(),
                    consent_version: 1,
                    branding: Branding::default(),
                    call_to_action: None,
                    accepting_submissions: true,
                    allowed_origins: vec![origin],
                    phone_region,
                    symptoms: None,
                    form_markers: None,
                    marker_notes: BTreeMap::new(),
                    disclaimer: None,
                },
                created_at: now,
                status: AccountStatus::Active,
                erase_at: None,
                version: 1,
            }),
            _ => Err(problems.into_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_derived_from_practice_names() {
        assert_eq!(Slug::derive("Dr. Lee's Clinic").as_str(), "dr-lee-s-clinic");
        assert_eq!(Slug::derive("  !!").as_str(), "practice");
        assert_eq!(Slug::derive("Ab").as_str(), "practice-ab");
        assert!(Slug::parse(Slug::derive(&"x".repeat(100)).as_str()).is_ok());
    }

    #[test]
    fn bad_slugs_are_refused() {
        for s in ["ab", "Has-Caps", "-lead", "trail-", "dou--ble", "sp ace"] {
            assert!(Slug::parse(s).is_err(), "{s}");
        }
        assert!(Slug::parse("demo").is_ok());
    }

    #[test]
    fn the_consent_hash_is_the_sha256_of_the_exact_text() {
        // Known answers (FIPS 180-2 test vector "abc", and the empty string).
        assert_eq!(
            consent_text_sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            consent_text_sha256(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_ne!(consent_text_sha256("abc "), consent_text_sha256("abc"));
    }

    #[test]
    fn creation_reports_every_bad_field() {
        let req = NewPractitioner {
            practice_name: " ".into(),
            doctor_name: "Dr Who".into(),
            email: "nope".into(),
            website_url: "ftp://x".into(),
            slug: Some("BAD".into()),
            phone_region: Some("XX".into()),
        };
        let mut rng = rand::thread_rng();
        let err = Practitioner::create(
            req,
            PractitionerId::generate(&mut rng),
            OffsetDateTime::UNIX_EPOCH,
        )
        .err()
        .unwrap_or_default();
        let fields: Vec<&str> = err.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "practice_name",
                "email",
                "website_url",
                "phone_region",
                "slug"
            ]
        );
    }
}
