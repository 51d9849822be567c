//! Form tokens: `GET /v1/forms/{slug}` hands the form a token saying when it was
//! loaded; the submission carries it back, so the relay knows how long the form was
//! open without trusting the client's clock or keeping any state.
//!
//! A token is `ft1.<issued Unix ms>.<base64url HMAC-SHA256(key, "ft1|slug|issued")>`,
//! with a key derived from the master key for this purpose only. It holds no patient
//! data and identifies nobody; it only dates the form.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The purpose string the form-token key is derived under.
pub const KEY_PURPOSE: &[u8] = b"gaprelay form token v1";

const PREFIX: &str = "ft1";

/// Longest token accepted (the real ones are about 60 characters).
const MAX_LEN: usize = 128;

fn mac(key: &[u8; 32], slug: &str, issued_ms: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(format!("{PREFIX}|{}|{issued_ms}", slug.to_ascii_lowercase()).as_bytes());
    mac
}

/// A token for the form `slug`, loaded at `issued_ms`.
pub fn issue(key: &[u8; 32], slug: &str, issued_ms: i64) -> String {
    let tag = mac(key, slug, issued_ms).finalize().into_bytes();
    format!("{PREFIX}.{issued_ms}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// When the token's form was loaded, if the token is genuine and for this form.
/// The tag is compared in constant time.
pub fn verify(key: &[u8; 32], slug: &str, token: &str) -> Option<i64> {
    if token.len() > MAX_LEN {
        return None;
    }
    let mut parts = token.split('.');
    let (Some(PREFIX), Some(issued), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let issued_ms: i64 = issued.parse().ok()?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    mac(key, slug, issued_ms).verify_slice(&tag).ok()?;
    Some(issued_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn a_token_verifies_for_its_form_only() {
        let t = issue(&KEY, "demo", 1_700_000_000_000);
        assert!(t.starts_with("ft1.1700000000000."));
        assert_eq!(verify(&KEY, "demo", &t), Some(1_700_000_000_000));
        assert_eq!(verify(&KEY, "DEMO", &t), Some(1_700_000_000_000));
        assert_eq!(verify(&KEY, "other", &t), None);
        assert_eq!(verify(&[8; 32], "demo", &t), None);
    }

    #[test]
    fn a_changed_time_or_garbage_is_refused() {
        let t = issue(&KEY, "demo", 1_000);
        let forged = t.replacen(".1000.", ".1.", 1);
        assert_eq!(verify(&KEY, "demo", &forged), None);
        for junk in [
            "",
            "ft1",
            "ft1..",
            "ft1.x.y",
            "ft2.1000.abc",
            &format!("{t}.x"),
            &"a".repeat(500),
        ] {
            assert_eq!(verify(&KEY, "demo", junk), None, "{junk}");
        }
    }
}
