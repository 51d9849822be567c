//! Practitioner API keys (`grk_…`), stored only as SHA-256 hashes, and the operator's admin token.
//!
//! As with crates.io's tokens, the key is shown once to its owner and only its hash is
//! kept; a plain (unsalted) hash is enough because the key carries 238 bits of entropy,
//! and it lets the store look a presented key up by hash.

use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::crypto::secret::{ct_eq, SecretString};

/// The product prefix of every API key; it makes leaked keys recognizable to scanners.
pub const API_KEY_PREFIX: &str = "grk_";
/// The number of random `[A-Za-z0-9]` characters after the prefix: 40 × log2(62) ≈ 238 bits.
pub const API_KEY_RANDOM_LEN: usize = 40;

/// A practitioner's API key. `Debug` prints `ApiKey([redacted])`.
#[derive(Clone, Debug)]
pub struct ApiKey(SecretString);

/// Why a presented string cannot be an API key. Messages never include the string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyError {
    /// It does not start with `grk_`.
    #[error("API key does not start with `grk_`")]
    MissingPrefix,
    /// It has the wrong number of characters after the prefix.
    #[error("API key has the wrong length")]
    WrongLength,
    /// It contains a character outside `[A-Za-z0-9]` after the prefix.
    #[error("API key contains a character outside A-Z a-z 0-9")]
    InvalidCharacter,
}

impl ApiKey {
    /// Draws a fresh key: `grk_` followed by 40 uniformly random characters of `[A-Za-z0-9]`.
    pub fn generate(rng: &mut (impl rand::RngCore + rand::CryptoRng)) -> ApiKey {
        let mut key = String::with_capacity(API_KEY_PREFIX.len() + API_KEY_RANDOM_LEN);
        key.push_str(API_KEY_PREFIX);
        key.extend((0..API_KEY_RANDOM_LEN).map(|_| char::from(rng.sample(Alphanumeric))));
        ApiKey(SecretString::new(key))
    }

    /// Checks the shape of a presented key, so garbage is rejected before any lookup.
    pub fn parse(s: &str) -> Result<ApiKey, ApiKeyError> {
        let random = s
            .strip_prefix(API_KEY_PREFIX)
            .ok_or(ApiKeyError::MissingPrefix)?;
        // Length is checked in bytes: any non-ASCII character would fail the alphabet
        // check below anyway, and a byte count cannot be fooled by multi-byte characters.
        if random.len() != API_KEY_RANDOM_LEN {
            return Err(ApiKeyError::WrongLength);
        }
        if !random.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ApiKeyError::InvalidCharacter);
        }
        Ok(ApiKey(SecretString::new(s.to_owned())))
    }

    /// The key itself, for showing it once to its owner; never log or store it.
    /// The key's first 8 characters (`grk_` and 4 more): enough for its owner to tell
    /// keys apart in a list, far too few to guess the rest from.
    pub fn prefix(&self) -> String {
        self.expose().chars().take(8).collect()
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// The SHA-256 of the whole key (prefix included), which is all that is stored.
    pub fn hash(&self) -> ApiKeyHash {
        ApiKeyHash(Sha256::digest(self.0.expose().as_bytes()).into())
    }
}

/// The stored form of an API key: SHA-256 of the key.
///
/// `PartialEq` and `Hash` exist so it can key a map in the store; comparing a presented
/// key's hash against a stored one should use [`ApiKeyHash::ct_eq`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApiKeyHash([u8; 32]);

impl ApiKeyHash {
    /// Lowercase hex, 64 characters: the form kept in storage.
    pub fn to_hex(&self) -> String {
        to_hex(&self.0)
    }

    /// Reads 64 hex characters (either case) back; anything else is `None`.
    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
            let text = std::str::from_utf8(pair).ok()?;
            // `from_str_radix` accepts a leading `+`, which is not hex.
            if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            *byte = u8::from_str_radix(text, 16).ok()?;
        }
        Some(ApiKeyHash(bytes))
    }

    /// Compares two hashes in constant time.
    pub fn ct_eq(&self, other: &Self) -> bool {
        ct_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for ApiKeyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Eight hex characters are enough to tell keys apart in a log, and far too few
        // to help anyone who somehow had a hash table of candidate keys.
        write!(f, "ApiKeyHash({}…)", to_hex(&self.0[..4]))
    }
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The operator's bearer token (`GAPRELAY_ADMIN_TOKEN`). `Debug` prints `AdminToken([redacted])`.
#[derive(Clone, Debug)]
pub struct AdminToken(SecretString);

impl AdminToken {
    /// Wraps the configured token.
    pub fn new(token: String) -> Self {
        AdminToken(SecretString::new(token))
    }

    /// Whether `presented` is the token. Both are hashed with SHA-256 first and the
    /// digests compared in constant time, so neither the content nor the length of the
    /// token leaks through timing. An empty configured token never matches, so a blank
    /// setting cannot open the operator routes to an empty bearer.
    pub fn matches(&self, presented: &str) -> bool {
        let configured = self.0.expose();
        if configured.is_empty() {
            return false;
        }
        let expected = Sha256::digest(configured.as_bytes());
        let actual = Sha256::digest(presented.as_bytes());
        ct_eq(&expected, &actual)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::jwe::ContentKey;
    use crate::crypto::seal::MasterKey;
    use crate::crypto::webhook::WebhookSecret;
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn rng() -> StdRng {
        StdRng::seed_from_u64(21)
    }

    #[test]
    fn a_generated_key_has_the_documented_shape_and_parses() {
        let key = ApiKey::generate(&mut rng());
        let text = key.expose();
        assert!(text.starts_with("grk_"));
        assert_eq!(text.len(), 44);
        let parsed = ApiKey::parse(text).expect("a generated key parses");
        assert_eq!(parsed.expose(), text);
        assert_eq!(parsed.hash(), key.hash());
    }

    #[test]
    fn the_hash_is_stable_and_differs_between_keys() {
        let mut rng = rng();
        let a = ApiKey::generate(&mut rng);
        let b = ApiKey::generate(&mut rng);
        assert_eq!(a.hash(), a.clone().hash());
        assert_ne!(a.hash(), b.hash());
        assert!(a.hash().ct_eq(&a.hash()));
        assert!(!a.hash().ct_eq(&b.hash()));
        // Pinned: SHA-256 of the key text, so stored hashes survive refactoring.
        let fixed = ApiKey::parse("grk_0123456789abcdefghijABCDEFGHIJ0123456789")
            .expect("a well-formed key");
        assert_eq!(fixed.hash().to_hex(), FIXED_KEY_SHA256);
    }

    const FIXED_KEY_SHA256: &str =
        "12b36ebbd6d8736435c81c571ccde0702e867a91d11b502d7d71d9b8d68c761e";

    #[test]
    fn parse_rejects_garbage_without_echoing_it() {
        let good = "grk_0123456789abcdefghijABCDEFGHIJ0123456789";
        assert!(ApiKey::parse(good).is_ok());
        let cases = [
            ("", ApiKeyError::MissingPrefix),
            (
                "grx_0123456789abcdefghijABCDEFGHIJ0123456789",
                ApiKeyError::MissingPrefix,
            ),
            (
                "GRK_0123456789abcdefghijABCDEFGHIJ0123456789",
                ApiKeyError::MissingPrefix,
            ),
            (
                "Bearer grk_0123456789abcdefghijABCDEFGHIJ0123456789",
                ApiKeyError::MissingPrefix,
            ),
            ("grk_", ApiKeyError::WrongLength),
            (
                "grk_0123456789abcdefghijABCDEFGHIJ012345678",
                ApiKeyError::WrongLength,
            ),
            (
                "grk_0123456789abcdefghijABCDEFGHIJ01234567890",
                ApiKeyError::WrongLength,
            ),
            (
                "grk_0123456789abcdefghijABCDEFGHIJ0123456-89",
                ApiKeyError::InvalidCharacter,
            ),
            (
                "grk_0123456789abcdefghijABCDEFGHIJ0123456 89",
                ApiKeyError::InvalidCharacter,
            ),
            (
                "grk_0123456789abcdefghijABCDEFGHIJ01234567é",
                ApiKeyError::InvalidCharacter,
            ),
        ];
        for (input, expected) in cases {
            let err = ApiKey::parse(input).map(|_| ()).expect_err(input);
            assert_eq!(err, expected, "{input:?}");
            assert!(input.is_empty() || !err.to_string().contains(input));
        }
    }

    #[test]
    fn a_hash_round_trips_through_hex() {
        let hash = ApiKey::generate(&mut rng()).hash();
        let hex = hash.to_hex();
        assert_eq!(hex.len(), 64);
        assert_eq!(ApiKeyHash::from_hex(&hex), Some(hash));
        assert_eq!(ApiKeyHash::from_hex(&hex.to_uppercase()), Some(hash));
        assert_eq!(ApiKeyHash::from_hex(&hex[..62]), None);
        assert_eq!(ApiKeyHash::from_hex(&format!("{hex}00")), None);
        assert_eq!(ApiKeyHash::from_hex(&format!("+{}", &hex[1..])), None);
        assert_eq!(ApiKeyHash::from_hex(&format!("zz{}", &hex[2..])), None);
        // 32 two-byte characters are 64 bytes but not hex; must not panic on a boundary.
        assert_eq!(ApiKeyHash::from_hex(&"é".repeat(32)), None);
    }

    #[test]
    fn a_hash_debug_shows_only_its_first_8_hex_characters() {
        let hash = ApiKey::generate(&mut rng()).hash();
        let hex = hash.to_hex();
        let debug = format!("{hash:?}");
        assert!(debug.contains(&hex[..8]));
        assert!(!debug.contains(&hex[..9]));
    }

    #[test]
    fn the_admin_token_matches_only_itself() {
        let token = AdminToken::new("s3cret-admin-token".to_owned());
        assert!(token.matches("s3cret-admin-token"));
        assert!(!token.matches("s3cret-admin-tokeN"));
        assert!(!token.matches("s3cret-admin-token "));
        assert!(!token.matches("s3cret"));
        assert!(!token.matches(""));
    }

    #[test]
    fn an_empty_admin_token_matches_nothing() {
        let token = AdminToken::new(String::new());
        assert!(!token.matches(""));
        assert!(!token.matches("anything"));
    }

    #[test]
    fn no_secret_type_shows_its_secret_in_debug() {
        let mut rng = rng();

        let api_key = ApiKey::generate(&mut rng);
        let debug = format!("{api_key:?}");
        assert!(!debug.contains(api_key.expose()));
        assert!(!debug.contains(&api_key.expose()[4..12]));

        let admin = AdminToken::new("admin-token-value".to_owned());
        assert!(!format!("{admin:?}").contains("admin-token-value"));

        let master = MasterKey::generate(&mut rng);
        let debug = format!("{master:?}");
        let encoded = master.to_base64();
        assert!(!debug.contains(&encoded[..8]));
        assert_eq!(debug, "[redacted]");

        let webhook = WebhookSecret::generate(&mut rng);
        let debug = format!("{webhook:?}");
        let whsec = webhook.to_whsec();
        assert!(!debug.contains(&whsec[6..14]));
        assert_eq!(debug, "[redacted]");

        let content = ContentKey::generate(&mut rng);
        let debug = format!("{content:?}");
        let k = content.to_jwk()["k"].as_str().expect("k").to_owned();
        assert!(!debug.contains(&k[..8]));
        assert!(debug.contains(content.kid()));
        assert!(debug.contains("[redacted]"));
    }

    proptest! {
        #[test]
        fn every_generated_key_parses(seed in any::<u64>()) {
            let key = ApiKey::generate(&mut StdRng::seed_from_u64(seed));
            prop_assert!(ApiKey::parse(key.expose()).is_ok());
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,60}") {
            let _ = ApiKey::parse(&s);
        }
    }
}
