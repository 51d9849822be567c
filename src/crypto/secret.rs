//! `SecretString`, a string that never prints itself, and a constant-time comparison.

use serde::Deserialize;
use subtle::ConstantTimeEq;

/// A secret string (token, key, password) whose `Debug` and `Display` print `[redacted]`.
///
/// It can be deserialized (from configuration) but deliberately not serialized, so a
/// secret cannot end up in an API response or a log line by deriving `Serialize` on a
/// struct that holds one. Use [`SecretString::expose`] where the value is really needed.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret value.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// Returns the secret itself; every call site is a place the secret leaves the wrapper.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::fmt::Display for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Compares two byte strings in time that depends only on their lengths, not their contents.
///
/// Returns `false` when the lengths differ. Use it for anything an attacker could probe
/// byte by byte, such as MACs; for secrets whose length is itself sensitive, compare
/// digests instead (see `api_key::AdminToken::matches`).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_do_not_show_the_secret() {
        let secret = SecretString::new("hunter2".to_owned());
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn a_secret_deserializes_from_a_plain_json_string() {
        let secret: SecretString =
            serde_json::from_str("\"hunter2\"").expect("a JSON string deserializes");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn ct_eq_compares_contents_and_lengths() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(ct_eq(b"", b""));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
        assert!(!ct_eq(b"abc", b""));
    }
}
