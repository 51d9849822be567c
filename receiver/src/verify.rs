//! Standard Webhooks verification: HMAC-SHA256 over `{id}.{timestamp}.{body}`, any of
//! the endpoint's secrets, a timestamp within a tolerance of the caller's `now`.

use std::time::Duration;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine as _};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far `webhook-timestamp` may be from the receiver's clock, either way: 5 minutes,
/// as Standard Webhooks recommends.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// The prefix of a secret's textual form.
pub const WHSEC_PREFIX: &str = "whsec_";

/// Secrets typed by hand may lose their `=` padding; both forms mean the same bytes.
const PADDING_OPTIONAL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// An endpoint's signing secret, as the relay showed it (`whsec_` + base64).
/// `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Parses `whsec_…` (the prefix is optional, as in every Standard Webhooks library).
    pub fn from_whsec(text: &str) -> Result<Secret, SecretError> {
        let encoded = text
            .trim()
            .strip_prefix(WHSEC_PREFIX)
            .unwrap_or(text.trim());
        let bytes = PADDING_OPTIONAL
            .decode(encoded)
            .map_err(|_| SecretError::NotBase64)?;
        if bytes.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(Secret(bytes))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length; the constructor only fails for none at all,
        // which `from_whsec` refuses.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Why a `whsec_…` string is not a secret. Never quotes the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The part after `whsec_` is not standard base64.
    #[error("webhook secret is not base64 after the `whsec_` prefix")]
    NotBase64,
    /// The secret decodes to no bytes.
    #[error("webhook secret is empty")]
    Empty,
}

/// The three Standard Webhooks headers of a delivery, as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headers<'a> {
    /// `webhook-id`: the message id (`msg_…`), the same on every retry; use it to
    /// deduplicate.
    pub id: &'a str,
    /// `webhook-timestamp`: Unix seconds when this attempt was signed.
    pub timestamp: &'a str,
    /// `webhook-signature`: space-separated `v1,<base64>` signatures.
    pub signature: &'a str,
}

impl<'a> Headers<'a> {
    /// Reads the three headers through `get`, which looks a header up by its
    /// lower-case name (HTTP header names are case-insensitive).
    pub fn from_fn(get: impl Fn(&str) -> Option<&'a str>) -> Result<Headers<'a>, VerifyError> {
        let header = |name: &'static str| get(name).ok_or(VerifyError::MissingHeader(name));
        Ok(Headers {
            id: header("webhook-id")?,
            timestamp: header("webhook-timestamp")?,
            signature: header("webhook-signature")?,
        })
    }
}

/// Why a delivery was not accepted as the relay's. Answer it with a 4xx and do not
/// process the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// A Standard Webhooks header is missing; names it.
    #[error("missing header `{0}`")]
    MissingHeader(&'static str),
    /// `webhook-timestamp` is not an integer number of seconds.
    #[error("`webhook-timestamp` is not Unix seconds")]
    InvalidTimestamp,
    /// `webhook-timestamp` is further from `now` than the tolerance (a replay, or a
    /// clock far off).
    #[error("`webhook-timestamp` is outside the tolerance ({0} s from now)")]
    OutsideTolerance(i64),
    /// No secret was given to verify with.
    #[error("no secret to verify with")]
    NoSecrets,
    /// No `v1` signature in the header matches any secret: wrong secret or tampered.
    #[error("no signature matches")]
    NoMatchingSignature,
}

/// Verifies a delivery: `body` must be the exact bytes received.
///
/// Succeeds when `headers.timestamp` is within `tolerance` of `now` (Unix seconds, from
/// the caller's clock) and any `v1,` signature in `headers.signature` is the HMAC of
/// `{id}.{timestamp}.{body}` under any of `secrets` (pass the old and the new secret
/// during a rotation). Signatures are compared in constant time; entries of other
/// versions and malformed entries are skipped.
pub fn verify(
    headers: &Headers<'_>,
    body: &[u8],
    secrets: &[Secret],
    now: i64,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let timestamp: i64 = headers
        .timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::InvalidTimestamp)?;
    let skew = timestamp.saturating_sub(now);
    let tolerance = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    if skew.checked_abs().is_none_or(|s| s > tolerance) {
        return Err(VerifyError::OutsideTolerance(skew));
    }
    if secrets.is_empty() {
        return Err(VerifyError::NoSecrets);
    }
    let candidates: Vec<Vec<u8>> = headers
        .signature
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .collect();
    for secret in secrets {
        let mut mac = secret.mac();
        mac.update(headers.id.as_bytes());
        mac.update(b".");
        mac.update(headers.timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        // `verify_slice` compares in constant time.
        if candidates
            .iter()
            .any(|candidate| mac.clone().verify_slice(candidate).is_ok())
        {
            return Ok(());
        }
    }
    Err(VerifyError::NoMatchingSignature)
}

/// The `v1,…` signature of a message under `secret`, as the relay sends it: for your
/// own tests (e.g. replaying a stored delivery against your handler).
pub fn sign(secret: &Secret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = secret.mac();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The Standard Webhooks specification's published test vector.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn secret(text: &str) -> Secret {
        Secret::from_whsec(text).expect("a secret")
    }

    /// Signs with `hmac` directly, independently of [`verify`].
    fn sign_with_hmac(key: &[u8], id: &str, ts: &str, body: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("key");
        mac.update(format!("{id}.{ts}.").as_bytes());
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    fn headers<'a>(ts: &'a str, signature: &'a str) -> Headers<'a> {
        Headers {
            id: ID,
            timestamp: ts,
            signature,
        }
    }

    #[test]
    fn sign_gives_the_published_signature() {
        assert_eq!(super::sign(&secret(SECRET), ID, TS, BODY), SIGNATURE);
    }

    #[test]
    fn the_published_vector_verifies() {
        let ts = TS.to_string();
        let result = verify(
            &headers(&ts, SIGNATURE),
            BODY,
            &[secret(SECRET)],
            TS,
            DEFAULT_TOLERANCE,
        );
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn a_body_signed_with_hmac_directly_verifies_and_tampering_fails() {
        let key = b"0123456789abcdef0123456789abcdef";
        let whsec = format!("whsec_{}", STANDARD.encode(key));
        let ts = "1700000000";
        let sig = sign_with_hmac(key, ID, ts, b"{\"a\":1}");
        let secrets = [secret(&whsec)];
        let check = |h: Headers<'_>, body: &[u8]| {
            verify(&h, body, &secrets, 1_700_000_010, DEFAULT_TOLERANCE)
        };
        assert_eq!(check(headers(ts, &sig), b"{\"a\":1}"), Ok(()));
        let no_match = Err(VerifyError::NoMatchingSignature);
        assert_eq!(check(headers(ts, &sig), b"{\"a\":2}"), no_match);
        assert_eq!(check(headers("1700000001", &sig), b"{\"a\":1}"), no_match);
        let other_id = Headers {
            id: "msg_other",
            ..headers(ts, &sig)
        };
        assert_eq!(check(other_id, b"{\"a\":1}"), no_match);
        let mut flipped = STANDARD.decode(&sig[3..]).expect("b64");
        flipped[0] ^= 1;
        let flipped = format!("v1,{}", STANDARD.encode(flipped));
        assert_eq!(check(headers(ts, &flipped), b"{\"a\":1}"), no_match);
        // Other versions and garbage are skipped, not errors; a later entry still counts.
        let listed = format!("v2,abc v1,!!! {sig}");
        assert_eq!(check(headers(ts, &listed), b"{\"a\":1}"), Ok(()));
        assert_eq!(check(headers(ts, "v1a,xyz"), b"{\"a\":1}"), no_match);
    }

    #[test]
    fn the_timestamp_must_be_within_the_tolerance_either_way() {
        let ts = TS.to_string();
        let h = headers(&ts, SIGNATURE);
        let secrets = [secret(SECRET)];
        let at = |now| verify(&h, BODY, &secrets, now, DEFAULT_TOLERANCE);
        assert_eq!(at(TS + 300), Ok(()));
        assert_eq!(at(TS - 300), Ok(()));
        assert_eq!(at(TS + 301), Err(VerifyError::OutsideTolerance(-301)));
        assert_eq!(at(TS - 301), Err(VerifyError::OutsideTolerance(301)));
        assert_eq!(
            verify(&h, BODY, &secrets, TS + 30, Duration::from_secs(10)),
            Err(VerifyError::OutsideTolerance(-30))
        );
        assert_eq!(
            verify(
                &headers("soon", SIGNATURE),
                BODY,
                &secrets,
                TS,
                DEFAULT_TOLERANCE
            ),
            Err(VerifyError::InvalidTimestamp)
        );
    }

    #[test]
    fn during_a_rotation_either_secret_verifies() {
        let old = b"old-secret-old-secret-old-secret";
        let new = b"new-secret-new-secret-new-secret";
        let whsec = |k: &[u8]| secret(&format!("whsec_{}", STANDARD.encode(k)));
        let ts = "1700000000";
        let both = format!(
            "{} {}",
            sign_with_hmac(new, ID, ts, BODY),
            sign_with_hmac(old, ID, ts, BODY)
        );
        let only_old = sign_with_hmac(old, ID, ts, BODY);
        let check = |sig: &str, secrets: &[Secret]| {
            verify(
                &headers(ts, sig),
                BODY,
                secrets,
                1_700_000_000,
                DEFAULT_TOLERANCE,
            )
        };
        // A receiver that knows only one of the two secrets accepts the two-signature header.
        assert_eq!(check(&both, &[whsec(old)]), Ok(()));
        assert_eq!(check(&both, &[whsec(new)]), Ok(()));
        // A receiver holding both accepts a delivery signed by either.
        assert_eq!(check(&only_old, &[whsec(new), whsec(old)]), Ok(()));
        assert_eq!(
            check(&only_old, &[whsec(new)]),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(check(&only_old, &[]), Err(VerifyError::NoSecrets));
    }

    #[test]
    fn secrets_parse_with_or_without_prefix_and_padding_and_never_print() {
        let with = secret(SECRET);
        let without = secret(SECRET.trim_start_matches("whsec_"));
        assert_eq!(with.0, without.0);
        assert_eq!(format!("{with:?}"), "[redacted]");
        assert_eq!(
            Secret::from_whsec("whsec_!!").err(),
            Some(SecretError::NotBase64)
        );
        assert_eq!(Secret::from_whsec("whsec_").err(), Some(SecretError::Empty));
    }

    #[test]
    fn missing_headers_are_named() {
        let found = |name: &str| (name != "webhook-signature").then_some("x");
        assert_eq!(
            Headers::from_fn(found),
            Err(VerifyError::MissingHeader("webhook-signature"))
        );
    }
}
