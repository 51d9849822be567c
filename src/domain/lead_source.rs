//! Where a submission came from: the page the form was embedded on and the campaign's
//! UTM parameters, validated into a [`LeadSource`] that travels to the practice's
//! endpoints. It says what the patient was reading, so it is handled like patient data:
//! `Debug` prints nothing of it and it is never logged or counted.

use super::problems::{FieldProblem, Problems};
use serde::Serialize;
use std::fmt;

/// Longest page URL accepted, in characters.
pub const MAX_PAGE_URL_LEN: usize = 2048;
/// Longest UTM value accepted, in characters.
pub const MAX_UTM_LEN: usize = 200;

/// `source` in the intake body, as submitted. `Debug` never shows it.
#[derive(Clone, Default)]
pub struct SourceDraft {
    /// The absolute `http`/`https` URL of the page the form was on (at most 2048
    /// characters); its query and fragment are dropped.
    pub page_url: Option<String>,
    /// The page's UTM parameters.
    pub utm: Option<UtmDraft>,
}

impl fmt::Debug for SourceDraft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SourceDraft([redacted])")
    }
}

/// UTM parameters as submitted, without their `utm_` prefix; each at most 200
/// characters. `Debug` never shows them.
#[derive(Clone, Default)]
pub struct UtmDraft {
    /// `utm_source`.
    pub source: Option<String>,
    /// `utm_medium`.
    pub medium: Option<String>,
    /// `utm_campaign`.
    pub campaign: Option<String>,
    /// `utm_term`.
    pub term: Option<String>,
    /// `utm_content`.
    pub content: Option<String>,
}

impl UtmDraft {
    /// The UTM keys the body accepts, in their order.
    pub const KEYS: [&'static str; 5] = ["source", "medium", "campaign", "term", "content"];
}

impl fmt::Debug for UtmDraft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UtmDraft([redacted])")
    }
}

/// Validated UTM parameters; absent ones are left out when serialised.
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
pub struct Utm {
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    medium: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    campaign: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    term: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
}

impl Utm {
    fn is_empty(&self) -> bool {
        self == &Utm::default()
    }
}

/// A validated lead source. Serialises as `{"page_url": "…" | null, "utm": {…}}`, with
/// only the UTM parameters that were given. `Debug` prints nothing of it.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct LeadSource {
    page_url: Option<String>,
    utm: Utm,
}

impl fmt::Debug for LeadSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LeadSource([redacted])")
    }
}

/// Trims `value` and checks it; empty text counts as absent.
fn text_field(
    problems: &mut Problems,
    field: &str,
    value: Option<String>,
    max: usize,
) -> Option<String> {
    let value = value?.trim().to_owned();
    if value.is_empty() {
        None
    } else if value.chars().count() > max {
        problems.add(field, format!("is too long (at most {max} characters)"));
        None
    } else if value.chars().any(char::is_control) {
        problems.add(field, "must not contain control characters");
        None
    } else {
        Some(value)
    }
}

/// The page URL without what could identify the visit: query, fragment and any user
/// name or password are dropped. `None` unless it is an absolute http(s) URL.
fn page_url(text: &str) -> Option<String> {
    let mut url = url::Url::parse(text).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    url.set_username("").ok()?;
    url.set_password(None).ok()?;
    Some(url.into())
}

impl LeadSource {
    /// The page URL, without query or fragment.
    pub fn page_url(&self) -> Option<&str> {
        self.page_url.as_deref()
    }

    /// UTM parameter `key` (one of [`UtmDraft::KEYS`]), when given.
    pub fn utm(&self, key: &str) -> Option<&str> {
        let u = &self.utm;
        match key {
            "source" => u.source.as_deref(),
            "medium" => u.medium.as_deref(),
            "campaign" => u.campaign.as_deref(),
            "term" => u.term.as_deref(),
            "content" => u.content.as_deref(),
            _ => None,
        }
    }

    /// Validates `source` from the intake body. `Ok(None)` when nothing was given.
    pub fn parse(req: SourceDraft) -> Result<Option<LeadSource>, Vec<FieldProblem>> {
        let mut problems = Problems::new();
        let page_url = text_field(
            &mut problems,
            "source.page_url",
            req.page_url,
            MAX_PAGE_URL_LEN,
        )
        .and_then(|text| match page_url(&text) {
            Some(url) if url.chars().count() <= MAX_PAGE_URL_LEN => Some(url),
            Some(_) => {
                problems.add(
                    "source.page_url",
                    format!("is too long (at most {MAX_PAGE_URL_LEN} characters)"),
                );
                None
            }
            None => {
                problems.add(
                    "source.page_url",
                    "must be an absolute http or https URL such as https://clinic.example/labs",
                );
                None
            }
        });
        let req_utm = req.utm.unwrap_or_default();
        let mut utm_field = |key: &str, value: Option<String>| {
            text_field(
                &mut problems,
                &format!("source.utm.{key}"),
                value,
                MAX_UTM_LEN,
            )
        };
        let utm = Utm {
            source: utm_field("source", req_utm.source),
            medium: utm_field("medium", req_utm.medium),
            campaign: utm_field("campaign", req_utm.campaign),
            term: utm_field("term", req_utm.term),
            content: utm_field("content", req_utm.content),
        };
        problems.finish(|| {
            (page_url.is_some() || !utm.is_empty()).then_some(LeadSource { page_url, utm })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(page_url: Option<&str>, campaign: Option<&str>) -> SourceDraft {
        SourceDraft {
            page_url: page_url.map(str::to_owned),
            utm: Some(UtmDraft {
                campaign: campaign.map(str::to_owned),
                ..UtmDraft::default()
            }),
        }
    }

    fn fields(err: Vec<FieldProblem>) -> Vec<String> {
        err.into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn the_page_url_loses_its_query_fragment_and_credentials() {
        let s = LeadSource::parse(source(
            Some(" https://user:pw@clinic.example/labs/tsh?utm_source=x&email=a@b.co#top "),
            Some(" spring "),
        ))
        .unwrap_or_else(|e| panic!("{e:?}"))
        .unwrap_or_else(|| panic!("a source"));
        assert_eq!(s.page_url(), Some("https://clinic.example/labs/tsh"));
        assert_eq!(s.utm("campaign"), Some("spring"));
        assert_eq!(
            serde_json::to_value(&s).ok(),
            Some(
                serde_json::json!({"page_url": "https://clinic.example/labs/tsh", "utm": {"campaign": "spring"}})
            )
        );
    }

    #[test]
    fn nothing_given_is_no_source() {
        assert_eq!(LeadSource::parse(SourceDraft::default()), Ok(None));
        assert_eq!(LeadSource::parse(source(Some("  "), Some(""))), Ok(None));
    }

    #[test]
    fn bad_urls_and_utm_values_are_named() {
        for bad in [
            "clinic.example/labs",
            "/labs",
            "javascript:alert(1)",
            "ftp://clinic.example/",
            "data:text/html,hi",
            "https://",
        ] {
            let err = LeadSource::parse(source(Some(bad), None))
                .err()
                .unwrap_or_default();
            assert_eq!(fields(err), ["source.page_url"], "{bad}");
        }
        let long = format!("https://clinic.example/{}", "a".repeat(MAX_PAGE_URL_LEN));
        let err = LeadSource::parse(source(Some(&long), Some(&"c".repeat(201))))
            .err()
            .unwrap_or_default();
        assert_eq!(fields(err), ["source.page_url", "source.utm.campaign"]);
        let err = LeadSource::parse(source(None, Some("a\u{7}b")))
            .err()
            .unwrap_or_default();
        assert_eq!(err[0].problem, "must not contain control characters");
    }

    #[test]
    fn debug_and_problems_never_show_the_source() {
        let req = source(
            Some("https://clinic.example/CANARY"),
            Some("CANARY-CAMPAIGN"),
        );
        assert!(!format!("{req:?}").contains("CANARY"));
        let parsed = LeadSource::parse(req).unwrap_or_default();
        assert!(!format!("{parsed:?}").contains("CANARY"));
        let err = LeadSource::parse(source(Some("CANARY"), Some(&"CANARY".repeat(40))))
            .err()
            .unwrap_or_default();
        assert!(!format!("{err:?}").contains("CANARY"));
    }
}
