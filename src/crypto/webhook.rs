//! Standard Webhooks (standardwebhooks.com, the Svix scheme) signing and verification.
//!
//! The signature is `v1,` + base64(HMAC-SHA256(secret, "{msg_id}.{timestamp}.{body}")),
//! sent in `webhook-signature`; several signatures are space-separated while a rotated
//! secret still signs. Off-the-shelf verifiers accept it with the endpoint's `whsec_` secret.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine as _};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::crypto::secret::ct_eq;

/// The prefix of a secret's textual form, as used by every Standard Webhooks library.
pub const WHSEC_PREFIX: &str = "whsec_";

/// The smallest secret accepted, in bytes: the Standard Webhooks recommendation.
pub const MIN_SECRET_LEN: usize = 24;
/// The largest secret accepted, in bytes: the Standard Webhooks recommendation, and also
/// SHA-256's block size, which lets [`sign`] key the HMAC without a fallible call.
pub const MAX_SECRET_LEN: usize = 64;

/// Length of the secrets this service generates (256 bits).
const GENERATED_SECRET_LEN: usize = 32;

/// Secrets typed by hand may lose their `=` padding; both forms mean the same bytes.
const STANDARD_PADDING_OPTIONAL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// An endpoint's signing secret (raw bytes). `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct WebhookSecret(Vec<u8>);

/// Why a `whsec_…` string is not a usable secret. Messages never include the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WebhookSecretError {
    /// The part after the optional `whsec_` prefix is not standard base64.
    #[error("webhook secret is not valid base64 after the `whsec_` prefix")]
    NotBase64,
    /// The decoded secret is shorter than 24 or longer than 64 bytes.
    #[error("webhook secret must decode to between 24 and 64 bytes, got {0}")]
    WrongLength(usize),
}

impl WebhookSecret {
    /// Draws a fresh 32-byte secret.
    pub fn generate(rng: &mut (impl rand::RngCore + rand::CryptoRng)) -> WebhookSecret {
        let mut bytes = vec![0u8; GENERATED_SECRET_LEN];
        rng.fill_bytes(&mut bytes);
        WebhookSecret(bytes)
    }

    /// The secret as shown to integrators: `whsec_` + standard base64 of the bytes.
    pub fn to_whsec(&self) -> String {
        format!("{WHSEC_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// Parses a secret with or without the `whsec_` prefix, as the standard libraries do.
    pub fn from_whsec(s: &str) -> Result<WebhookSecret, WebhookSecretError> {
        let encoded = s.strip_prefix(WHSEC_PREFIX).unwrap_or(s);
        let bytes = STANDARD_PADDING_OPTIONAL
            .decode(encoded)
            .map_err(|_| WebhookSecretError::NotBase64)?;
        if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&bytes.len()) {
            return Err(WebhookSecretError::WrongLength(bytes.len()));
        }
        Ok(WebhookSecret(bytes))
    }

    /// The HMAC-SHA256 of the signed content, the raw form of a `v1` signature.
    fn mac(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
        // HMAC pads a key shorter than the hash's 64-byte block with zeros (RFC 2104), so
        // keying with the zero-padded block is the same HMAC. The constructors keep
        // secrets at most 64 bytes, which makes this infallible where `new_from_slice`
        // would return a `Result` for an error that cannot occur.
        let mut block = [0u8; MAX_SECRET_LEN];
        let len = self.0.len().min(MAX_SECRET_LEN);
        block[..len].copy_from_slice(&self.0[..len]);
        let mut mac = <Hmac<Sha256> as Mac>::new(&block.into());
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// One `v1` signature: `"v1," + base64(HMAC-SHA256(secret, "{msg_id}.{timestamp}.{body}"))`.
///
/// `timestamp` is Unix seconds, the same value sent as `webhook-timestamp`; `body` is
/// the exact bytes sent.
pub fn sign(secret: &WebhookSecret, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "v1,{}",
        STANDARD.encode(secret.mac(msg_id, timestamp, body))
    )
}

/// The `webhook-signature` header value: one signature per secret, space-separated.
///
/// Pass the current secret and, during a rotation's grace period, the previous one, so
/// receivers that have not yet switched keep verifying.
pub fn signature_header(
    secrets: &[&WebhookSecret],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|secret| sign(secret, msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The receiver's check: true if any space-separated `v1,` entry of `header` is the
/// signature of this message under `secret`, compared in constant time.
///
/// Entries of other versions and undecodable entries are skipped, as the standard
/// requires. This does not check the timestamp's age; a receiver must also reject
/// timestamps too far from its own clock to stop replays.
pub fn verify(
    secret: &WebhookSecret,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
    header: &str,
) -> bool {
    let expected = secret.mac(msg_id, timestamp, body);
    header
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .any(|candidate| ct_eq(&candidate, &expected))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    // The published Standard Webhooks / Svix test vector.
    const VECTOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const VECTOR_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const VECTOR_TIMESTAMP: i64 = 1_614_265_330;
    const VECTOR_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const VECTOR_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn vector_secret() -> WebhookSecret {
        WebhookSecret::from_whsec(VECTOR_SECRET).expect("the published secret parses")
    }

    #[test]
    fn signing_the_published_vector_gives_the_published_signature() {
        let signature = sign(&vector_secret(), VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY);
        assert_eq!(signature, VECTOR_SIGNATURE);
        assert!(verify(
            &vector_secret(),
            VECTOR_ID,
            VECTOR_TIMESTAMP,
            VECTOR_BODY,
            VECTOR_SIGNATURE
        ));
    }

    #[test]
    fn a_secret_parses_with_or_without_the_whsec_prefix() {
        let bare = VECTOR_SECRET.trim_start_matches(WHSEC_PREFIX);
        let secret = WebhookSecret::from_whsec(bare).expect("a bare secret parses");
        assert_eq!(
            sign(&secret, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY),
            VECTOR_SIGNATURE
        );
        assert_eq!(secret.to_whsec(), VECTOR_SECRET);
    }

    #[test]
    fn a_generated_secret_round_trips_through_whsec() {
        let secret = WebhookSecret::generate(&mut StdRng::seed_from_u64(3));
        let text = secret.to_whsec();
        assert!(text.starts_with("whsec_"));
        let parsed = WebhookSecret::from_whsec(&text).expect("our own secret parses");
        assert_eq!(parsed.0, secret.0);
        assert_eq!(parsed.0.len(), 32);
    }

    #[test]
    fn malformed_or_weak_secrets_are_rejected() {
        assert_eq!(
            WebhookSecret::from_whsec("whsec_not base64!").map(|_| ()),
            Err(WebhookSecretError::NotBase64)
        );
        assert_eq!(
            WebhookSecret::from_whsec("whsec_").map(|_| ()),
            Err(WebhookSecretError::WrongLength(0))
        );
        let short = format!("whsec_{}", STANDARD.encode([1u8; 16]));
        assert_eq!(
            WebhookSecret::from_whsec(&short).map(|_| ()),
            Err(WebhookSecretError::WrongLength(16))
        );
        let long = format!("whsec_{}", STANDARD.encode([1u8; 65]));
        assert_eq!(
            WebhookSecret::from_whsec(&long).map(|_| ()),
            Err(WebhookSecretError::WrongLength(65))
        );
    }

    #[test]
    fn a_64_byte_secret_signs_like_a_generic_hmac() {
        // The longest allowed key fills the HMAC block exactly; check it against the
        // fallible, length-generic constructor to pin the zero-padding argument.
        let bytes = [0xabu8; 64];
        let secret = WebhookSecret::from_whsec(&STANDARD.encode(bytes)).expect("64 bytes");
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&bytes).expect("any length is a valid key");
        mac.update(b"msg_1.5.body");
        let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        assert_eq!(sign(&secret, "msg_1", 5, b"body"), expected);
    }

    #[test]
    fn a_changed_body_id_or_timestamp_fails_verification() {
        let secret = vector_secret();
        let header = sign(&secret, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY);
        assert!(!verify(
            &secret,
            VECTOR_ID,
            VECTOR_TIMESTAMP,
            br#"{"test": 2432232315}"#,
            &header
        ));
        assert!(!verify(
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJeK",
            VECTOR_TIMESTAMP,
            VECTOR_BODY,
            &header
        ));
        assert!(!verify(
            &secret,
            VECTOR_ID,
            VECTOR_TIMESTAMP + 1,
            VECTOR_BODY,
            &header
        ));
    }

    #[test]
    fn a_different_secret_fails_verification() {
        let other = WebhookSecret::generate(&mut StdRng::seed_from_u64(4));
        assert!(!verify(
            &other,
            VECTOR_ID,
            VECTOR_TIMESTAMP,
            VECTOR_BODY,
            VECTOR_SIGNATURE
        ));
    }

    #[test]
    fn a_multi_signature_header_verifies_with_either_secret() {
        let mut rng = StdRng::seed_from_u64(5);
        let old = WebhookSecret::generate(&mut rng);
        let new = WebhookSecret::generate(&mut rng);
        let header = signature_header(&[&new, &old], "msg_1", 1_700_000_000, b"{}");
        assert_eq!(header.split(' ').count(), 2);
        assert!(verify(&new, "msg_1", 1_700_000_000, b"{}", &header));
        assert!(verify(&old, "msg_1", 1_700_000_000, b"{}", &header));
        let stranger = WebhookSecret::generate(&mut rng);
        assert!(!verify(&stranger, "msg_1", 1_700_000_000, b"{}", &header));
    }

    #[test]
    fn other_versions_and_garbage_entries_are_skipped() {
        let secret = vector_secret();
        let header = format!(
            "v1a,abc v2,{} v1,%%% {VECTOR_SIGNATURE}",
            &VECTOR_SIGNATURE[3..]
        );
        assert!(verify(
            &secret,
            VECTOR_ID,
            VECTOR_TIMESTAMP,
            VECTOR_BODY,
            &header
        ));
        let without = format!("v2,{}", &VECTOR_SIGNATURE[3..]);
        assert!(!verify(
            &secret,
            VECTOR_ID,
            VECTOR_TIMESTAMP,
            VECTOR_BODY,
            &without
        ));
        assert!(!verify(
            &secret,
            VECTOR_ID,
            VECTOR_TIMESTAMP,
            VECTOR_BODY,
            ""
        ));
    }

    proptest! {
        #[test]
        fn whatever_is_signed_verifies(
            seed in any::<u64>(),
            msg_id in "msg_[A-Za-z0-9]{1,32}",
            timestamp in any::<i64>(),
            body in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            let secret = WebhookSecret::generate(&mut StdRng::seed_from_u64(seed));
            let header = sign(&secret, &msg_id, timestamp, &body);
            prop_assert!(verify(&secret, &msg_id, timestamp, &body, &header));
        }
    }
}
