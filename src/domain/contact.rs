//! Contact details: an email address and a phone number, each checked once when parsed
//! (`Email::parse`, `Phone::parse`), and the phone regions a form may default to. A leaf
//! module, used by the submission parser and by the practitioner's settings alike.

use std::fmt;

/// An email address that passed a cheap, deliberately permissive syntax check: one `@`,
/// a non-empty local part, a dotted domain of letters, digits and hyphens, no spaces.
/// Deliverability is the practitioner's CRM's business; this catches typos.
#[derive(Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// The address as given, when it is plausible; `None` otherwise. Callers trim first.
    pub fn parse(s: &str) -> Option<Email> {
        let (local, domain) = s.split_once('@')?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '@');
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = domain.len() <= 253
            && labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        (local_ok && domain_ok && s.len() <= 254).then(|| Email(s.to_owned()))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address, owned.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A phone number normalised with libphonenumber's metadata (the `phonenumber` crate).
#[derive(Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// A number written with its country code (`+44 20 7946 0958`) becomes E.164
    /// anywhere; a national number (`(201) 555-0123`) becomes E.164 when the form has a
    /// default region; without one it is kept as its digits, since its country cannot be
    /// known. `None` when it is not a valid number.
    pub fn parse(s: &str, region: Option<&str>) -> Option<Phone> {
        let trimmed = s.trim();
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(r) => (true, r),
            None => (false, trimmed),
        };
        let mut digits = String::new();
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' | '/' => {}
                _ => return None,
            }
        }
        if !(6..=15).contains(&digits.len()) {
            return None;
        }
        let country = match (plus, region) {
            (true, _) => None,
            (false, Some(r)) => Some(r.parse::<phonenumber::country::Id>().ok()?),
            (false, None) => return Some(Phone(digits)),
        };
        let text = if plus { format!("+{digits}") } else { digits };
        let number = phonenumber::parse(country, &text).ok()?;
        phonenumber::is_valid(&number)
            .then(|| Phone(number.format().mode(phonenumber::Mode::E164).to_string()))
    }

    /// The normalised number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The normalised number, owned.
    pub fn into_inner(self) -> String {
        self.0
    }
}

// A patient's address or number must never reach a log line through `{:?}`.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email([redacted])")
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Phone([redacted])")
    }
}

/// Whether `region` is a region code libphonenumber knows (`US`, `GB`, `DE`, …).
pub fn is_phone_region(region: &str) -> bool {
    region.parse::<phonenumber::country::Id>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plausible_emails_are_accepted_and_typos_refused() {
        assert_eq!(
            Email::parse("a.b+c@mail.example.org").map(Email::into_inner),
            Some("a.b+c@mail.example.org".to_owned())
        );
        for bad in ["a@b", "@b.co", "a b@c.co", "a@-b.co", "a@b..co"] {
            assert!(Email::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn phones_become_e164_when_their_country_is_known_and_invalid_ones_are_refused() {
        let cases = [
            ("+44 20 7946 0958", None, Some("+442079460958")),
            ("+1 (201) 555-0123", None, Some("+12015550123")),
            ("(201) 555-0123", Some("US"), Some("+12015550123")),
            ("020 7946 0958", Some("GB"), Some("+442079460958")),
            ("030 901820", Some("DE"), Some("+4930901820")),
            ("(201) 555-0123", None, Some("2015550123")),
            ("+1 555 0100 7777", None, None),
            ("+0123456789", None, None),
            ("12ab", None, None),
            ("123", Some("US"), None),
        ];
        for (typed, region, want) in cases {
            assert_eq!(
                Phone::parse(typed, region).as_ref().map(Phone::as_str),
                want,
                "{typed} {region:?}"
            );
        }
        assert!(is_phone_region("GB") && !is_phone_region("XX"));
    }

    #[test]
    fn contact_details_never_show_in_debug_output() {
        let email = Email::parse("pat@example.org").expect("plausible");
        let phone = Phone::parse("+44 20 7946 0958", None).expect("valid");
        let shown = format!("{email:?} {phone:?}");
        assert!(!shown.contains("pat") && !shown.contains("7946"), "{shown}");
    }
}
