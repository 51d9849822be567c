//! JWE payload encryption for webhook bodies: flattened JSON serialization (RFC 7516
//! §7.2.2) with `alg: "dir"` and `enc: "A256GCM"`, decryptable by ordinary JOSE libraries.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::crypto::gcm::{self, NONCE_LEN, TAG_LEN};

/// The only key-management algorithm used: the shared key is the content key.
pub const ALG: &str = "dir";
/// The only content-encryption algorithm used.
pub const ENC: &str = "A256GCM";

/// An endpoint's symmetric content-encryption key with its key id. `Debug` hides the key.
#[derive(Clone)]
pub struct ContentKey {
    kid: String,
    key: [u8; 32],
}

/// Why a JWK or a JWE was refused. Messages never include key material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JweError {
    /// The JWK is not a usable `oct` key for `dir` + `A256GCM`; the reason says which member.
    #[error("JWK is not a 256-bit oct key for dir/A256GCM: {0}")]
    InvalidJwk(&'static str),
    /// A JWE member is not base64url without padding; names the member.
    #[error("JWE member `{0}` is not base64url without padding")]
    Base64(&'static str),
    /// A JWE member decodes to the wrong number of bytes; names the member.
    #[error("JWE member `{0}` has the wrong length")]
    Length(&'static str),
    /// The protected header is not a JSON object with string `alg`, `enc` and `kid`.
    #[error("JWE protected header is not a valid JSON object")]
    Header,
    /// The header asks for an algorithm, compression or critical extension not supported here.
    #[error("JWE protected header asks for something other than dir/A256GCM")]
    Unsupported,
    /// The header's `kid` is missing or names a different key.
    #[error("JWE was not encrypted for this key id")]
    KidMismatch,
    /// Authentication failed: wrong key or altered header, IV, ciphertext or tag.
    #[error("JWE failed to decrypt (wrong key or tampered)")]
    Decrypt,
}

impl ContentKey {
    /// Draws a fresh key and a random key id (16 random bytes, base64url without padding).
    pub fn generate(rng: &mut (impl rand::RngCore + rand::CryptoRng)) -> ContentKey {
        let mut kid = [0u8; 16];
        rng.fill_bytes(&mut kid);
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        ContentKey {
            kid: URL_SAFE_NO_PAD.encode(kid),
            key,
        }
    }

    /// The key id, sent as `kid` in every JWE header so receivers can pick the right key
    /// during a rotation.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key as a JWK, `{"kty":"oct","kid","k","alg":"dir","enc":"A256GCM"}`, which
    /// ordinary JOSE libraries load as it is. It contains the secret: show it only to the
    /// endpoint's owner.
    pub fn to_jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "oct",
            "kid": self.kid,
            "k": URL_SAFE_NO_PAD.encode(self.key),
            "alg": ALG,
            "enc": ENC,
        })
    }

    /// Reads a JWK back: `kty` must be `oct`, `kid` a non-empty string, `k` 32 bytes of
    /// base64url, and `alg`/`enc`, which RFC 7517 makes optional, must be `dir`/`A256GCM`
    /// when present.
    pub fn from_jwk(jwk: &serde_json::Value) -> Result<ContentKey, JweError> {
        let member = |name: &str| jwk.get(name).and_then(serde_json::Value::as_str);
        if !jwk.is_object() {
            return Err(JweError::InvalidJwk("not a JSON object"));
        }
        if member("kty") != Some("oct") {
            return Err(JweError::InvalidJwk("kty must be \"oct\""));
        }
        if jwk.get("alg").is_some() && member("alg") != Some(ALG) {
            return Err(JweError::InvalidJwk("alg must be \"dir\""));
        }
        if jwk.get("enc").is_some() && member("enc") != Some(ENC) {
            return Err(JweError::InvalidJwk("enc must be \"A256GCM\""));
        }
        let kid = match member("kid") {
            Some(kid) if !kid.is_empty() => kid.to_owned(),
            _ => return Err(JweError::InvalidJwk("kid must be a non-empty string")),
        };
        let k = member("k").ok_or(JweError::InvalidJwk("k is missing"))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(k)
            .map_err(|_| JweError::InvalidJwk("k is not base64url without padding"))?;
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| JweError::InvalidJwk("k must be 32 bytes"))?;
        Ok(ContentKey { kid, key })
    }

    /// The protected header, in exactly this compact form and key order, because some
    /// receiver libraries recompute it rather than use the received bytes.
    fn protected_header(&self) -> String {
        // `Value`'s `Display` escapes the kid as JSON and cannot fail, unlike `to_string`.
        let kid = serde_json::Value::String(self.kid.clone());
        format!(r#"{{"alg":"{ALG}","enc":"{ENC}","kid":{kid},"cty":"json"}}"#)
    }
}

impl std::fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The kid is public (it travels in every header) and helps tell keys apart.
        f.debug_struct("ContentKey")
            .field("kid", &self.kid)
            .field("key", &format_args!("[redacted]"))
            .finish()
    }
}

/// A JWE in flattened JSON serialization; every member is base64url without padding.
///
/// `dir` has no encrypted key, so `encrypted_key` is absent, and no unprotected header
/// or extra AAD is ever produced.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct FlattenedJwe {
    /// BASE64URL(UTF-8(protected header)).
    pub protected: String,
    /// BASE64URL(96-bit IV).
    pub iv: String,
    /// BASE64URL(ciphertext).
    pub ciphertext: String,
    /// BASE64URL(128-bit authentication tag).
    pub tag: String,
}

/// Encrypts `plaintext` (JSON, hence `cty: "json"`) for the holder of `key`.
///
/// The AAD is the ASCII of the encoded protected header, as RFC 7516 §5.1 requires; the
/// IV is 96 random bits.
///
/// # Panics
///
/// Only for a plaintext over AES-GCM's 64 GiB limit.
pub fn encrypt(
    key: &ContentKey,
    plaintext: &[u8],
    rng: &mut (impl rand::RngCore + rand::CryptoRng),
) -> FlattenedJwe {
    let protected = URL_SAFE_NO_PAD.encode(key.protected_header());
    let mut iv = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut iv);
    let (ciphertext, tag) = gcm::encrypt_detached(&key.key, &iv, protected.as_bytes(), plaintext);
    FlattenedJwe {
        iv: URL_SAFE_NO_PAD.encode(iv),
        ciphertext: URL_SAFE_NO_PAD.encode(ciphertext),
        tag: URL_SAFE_NO_PAD.encode(tag),
        protected,
    }
}

/// The protected header members this module reads; anything else is ignored unless it
/// changes how the content must be processed (`zip`, `crit`).
#[derive(Deserialize)]
struct ProtectedHeader {
    alg: String,
    enc: String,
    kid: Option<String>,
    zip: Option<serde_json::Value>,
    crit: Option<serde_json::Value>,
}

/// Decrypts a flattened JWE made for `key`, by [`encrypt`] or any JOSE library.
///
/// The header must say `dir`/`A256GCM` and carry this key's `kid`; compression and
/// critical extensions are refused rather than silently ignored. All input is treated
/// as hostile: malformed members are errors, never panics.
pub fn decrypt(key: &ContentKey, jwe: &FlattenedJwe) -> Result<Vec<u8>, JweError> {
    let header_json = decode_member("protected", &jwe.protected)?;
    let header: ProtectedHeader =
        serde_json::from_slice(&header_json).map_err(|_| JweError::Header)?;
    if header.alg != ALG || header.enc != ENC || header.zip.is_some() || header.crit.is_some() {
        return Err(JweError::Unsupported);
    }
    if header.kid.as_deref() != Some(key.kid.as_str()) {
        return Err(JweError::KidMismatch);
    }
    let iv: [u8; NONCE_LEN] = decode_member("iv", &jwe.iv)?
        .as_slice()
        .try_into()
        .map_err(|_| JweError::Length("iv"))?;
    let tag: [u8; TAG_LEN] = decode_member("tag", &jwe.tag)?
        .as_slice()
        .try_into()
        .map_err(|_| JweError::Length("tag"))?;
    let ciphertext = decode_member("ciphertext", &jwe.ciphertext)?;
    // The AAD is the header exactly as received, not a re-encoding of the parsed header:
    // other libraries may order or space their header differently.
    gcm::decrypt_detached(&key.key, &iv, jwe.protected.as_bytes(), &ciphertext, &tag)
        .ok_or(JweError::Decrypt)
}

fn decode_member(name: &'static str, value: &str) -> Result<Vec<u8>, JweError> {
    URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|_| JweError::Base64(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    const PLAINTEXT: &[u8] = br#"{"submission_id":"sub_1","labs":[]}"#;

    fn key_and_jwe() -> (ContentKey, FlattenedJwe) {
        let mut rng = StdRng::seed_from_u64(11);
        let key = ContentKey::generate(&mut rng);
        let jwe = encrypt(&key, PLAINTEXT, &mut rng);
        (key, jwe)
    }

    /// Flips one bit of a member's decoded bytes and re-encodes it, so the change gets
    /// past base64 and reaches the cryptography.
    fn flip_first_bit(member: &str) -> String {
        let mut bytes = URL_SAFE_NO_PAD.decode(member).expect("a valid member");
        bytes[0] ^= 0x01;
        URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn a_jwe_round_trips() {
        let (key, jwe) = key_and_jwe();
        assert_eq!(decrypt(&key, &jwe), Ok(PLAINTEXT.to_vec()));
        assert_eq!(URL_SAFE_NO_PAD.decode(&jwe.iv).expect("iv").len(), 12);
        assert_eq!(URL_SAFE_NO_PAD.decode(&jwe.tag).expect("tag").len(), 16);
    }

    #[test]
    fn the_protected_header_is_exactly_the_compact_json() {
        let (key, jwe) = key_and_jwe();
        let header = URL_SAFE_NO_PAD.decode(&jwe.protected).expect("base64url");
        let expected = format!(
            r#"{{"alg":"dir","enc":"A256GCM","kid":"{}","cty":"json"}}"#,
            key.kid()
        );
        assert_eq!(String::from_utf8(header).expect("utf-8"), expected);
    }

    #[test]
    fn the_serialized_jwe_has_exactly_the_four_flattened_members() {
        let (_, jwe) = key_and_jwe();
        let value = serde_json::to_value(&jwe).expect("serializes");
        let mut members: Vec<_> = value
            .as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect();
        members.sort();
        assert_eq!(members, ["ciphertext", "iv", "protected", "tag"]);
    }

    #[test]
    fn tampering_with_any_member_fails() {
        let (key, jwe) = key_and_jwe();
        let mut tampered = jwe.clone();
        tampered.protected = flip_first_bit(&jwe.protected);
        assert!(decrypt(&key, &tampered).is_err());

        let mut tampered = jwe.clone();
        tampered.iv = flip_first_bit(&jwe.iv);
        assert_eq!(decrypt(&key, &tampered), Err(JweError::Decrypt));

        let mut tampered = jwe.clone();
        tampered.ciphertext = flip_first_bit(&jwe.ciphertext);
        assert_eq!(decrypt(&key, &tampered), Err(JweError::Decrypt));

        let mut tampered = jwe.clone();
        tampered.tag = flip_first_bit(&jwe.tag);
        assert_eq!(decrypt(&key, &tampered), Err(JweError::Decrypt));
    }

    #[test]
    fn a_header_reencoded_with_different_spacing_fails_authentication() {
        // Same meaning, different bytes: the AAD covers the exact header sent.
        let (key, jwe) = key_and_jwe();
        let spaced = format!(
            r#"{{"alg": "dir", "enc": "A256GCM", "kid": "{}", "cty": "json"}}"#,
            key.kid()
        );
        let tampered = FlattenedJwe {
            protected: URL_SAFE_NO_PAD.encode(spaced),
            ..jwe
        };
        assert_eq!(decrypt(&key, &tampered), Err(JweError::Decrypt));
    }

    #[test]
    fn a_different_key_fails() {
        let (key, jwe) = key_and_jwe();
        // Same kid, different key material: only authentication can catch it.
        let mut impostor = ContentKey::generate(&mut StdRng::seed_from_u64(12));
        impostor.kid = key.kid.clone();
        assert_eq!(decrypt(&impostor, &jwe), Err(JweError::Decrypt));
        // A different kid is refused before any decryption.
        let other = ContentKey::generate(&mut StdRng::seed_from_u64(13));
        assert_eq!(decrypt(&other, &jwe), Err(JweError::KidMismatch));
    }

    #[test]
    fn unsupported_headers_are_refused() {
        let (key, jwe) = key_and_jwe();
        let with_header = |header: String| FlattenedJwe {
            protected: URL_SAFE_NO_PAD.encode(header),
            ..jwe.clone()
        };
        let kid = key.kid();
        for header in [
            format!(r#"{{"alg":"A256KW","enc":"A256GCM","kid":"{kid}"}}"#),
            format!(r#"{{"alg":"dir","enc":"A128GCM","kid":"{kid}"}}"#),
            format!(r#"{{"alg":"dir","enc":"A256GCM","kid":"{kid}","zip":"DEF"}}"#),
            format!(r#"{{"alg":"dir","enc":"A256GCM","kid":"{kid}","crit":["exp"]}}"#),
        ] {
            assert_eq!(
                decrypt(&key, &with_header(header)),
                Err(JweError::Unsupported)
            );
        }
        assert_eq!(
            decrypt(
                &key,
                &with_header(r#"{"alg":"dir","enc":"A256GCM"}"#.to_owned())
            ),
            Err(JweError::KidMismatch)
        );
        assert_eq!(
            decrypt(&key, &with_header("[1,2]".to_owned())),
            Err(JweError::Header)
        );
    }

    #[test]
    fn malformed_members_are_errors_not_panics() {
        let (key, jwe) = key_and_jwe();
        let cases = [
            (
                FlattenedJwe {
                    protected: "!!".into(),
                    ..jwe.clone()
                },
                JweError::Base64("protected"),
            ),
            (
                FlattenedJwe {
                    protected: String::new(),
                    ..jwe.clone()
                },
                JweError::Header,
            ),
            (
                FlattenedJwe {
                    iv: "AAAA".into(),
                    ..jwe.clone()
                },
                JweError::Length("iv"),
            ),
            (
                FlattenedJwe {
                    iv: "a=".into(),
                    ..jwe.clone()
                },
                JweError::Base64("iv"),
            ),
            (
                FlattenedJwe {
                    tag: String::new(),
                    ..jwe.clone()
                },
                JweError::Length("tag"),
            ),
            (
                FlattenedJwe {
                    ciphertext: "*".into(),
                    ..jwe.clone()
                },
                JweError::Base64("ciphertext"),
            ),
            (
                FlattenedJwe {
                    ciphertext: String::new(),
                    ..jwe.clone()
                },
                JweError::Decrypt,
            ),
        ];
        for (malformed, expected) in cases {
            assert_eq!(decrypt(&key, &malformed), Err(expected));
        }
    }

    #[test]
    fn a_jwk_round_trips_and_has_the_documented_members() {
        let (key, jwe) = key_and_jwe();
        let jwk = key.to_jwk();
        assert_eq!(jwk["kty"], "oct");
        assert_eq!(jwk["alg"], "dir");
        assert_eq!(jwk["enc"], "A256GCM");
        assert_eq!(jwk["kid"], key.kid());
        assert_eq!(jwk.as_object().expect("object").len(), 5);
        let loaded = ContentKey::from_jwk(&jwk).expect("our own JWK loads");
        assert_eq!(decrypt(&loaded, &jwe), Ok(PLAINTEXT.to_vec()));
    }

    #[test]
    fn unusable_jwks_are_refused() {
        let jwk = key_and_jwe().0.to_jwk();
        let with = |name: &str, value: serde_json::Value| {
            let mut changed = jwk.clone();
            changed[name] = value;
            ContentKey::from_jwk(&changed)
        };
        assert!(matches!(
            with("kty", "RSA".into()),
            Err(JweError::InvalidJwk(_))
        ));
        assert!(matches!(
            with("alg", "A256KW".into()),
            Err(JweError::InvalidJwk(_))
        ));
        assert!(matches!(
            with("enc", "A128GCM".into()),
            Err(JweError::InvalidJwk(_))
        ));
        assert!(matches!(
            with("kid", "".into()),
            Err(JweError::InvalidJwk(_))
        ));
        assert!(matches!(
            with("k", URL_SAFE_NO_PAD.encode([0u8; 16]).into()),
            Err(JweError::InvalidJwk(_))
        ));
        assert!(matches!(
            with("k", "not base64!".into()),
            Err(JweError::InvalidJwk(_))
        ));
        assert!(matches!(
            ContentKey::from_jwk(&serde_json::json!([])),
            Err(JweError::InvalidJwk(_))
        ));
        // alg and enc are optional in RFC 7517.
        let mut minimal = jwk.clone();
        if let Some(members) = minimal.as_object_mut() {
            members.remove("alg");
            members.remove("enc");
        }
        assert!(ContentKey::from_jwk(&minimal).is_ok());
    }

    #[test]
    fn a_jwe_made_by_jwcrypto_decrypts_to_its_plaintext() {
        // Produced independently with Python's jwcrypto (its header uses spaced JSON).
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("testdata/jwcrypto_dir_a256gcm.json"))
                .expect("the fixture is JSON");
        let key = ContentKey::from_jwk(&fixture["jwk"]).expect("jwcrypto's JWK loads");
        let jwe: FlattenedJwe =
            serde_json::from_value(fixture["jwe"].clone()).expect("a flattened JWE");
        let plaintext = fixture["plaintext"].as_str().expect("a string");
        assert_eq!(decrypt(&key, &jwe), Ok(plaintext.as_bytes().to_vec()));
    }

    proptest! {
        #[test]
        fn any_plaintext_round_trips(
            seed in any::<u64>(),
            plaintext in proptest::collection::vec(any::<u8>(), 0..1024),
        ) {
            let mut rng = StdRng::seed_from_u64(seed);
            let key = ContentKey::generate(&mut rng);
            let jwe = encrypt(&key, &plaintext, &mut rng);
            prop_assert_eq!(decrypt(&key, &jwe), Ok(plaintext));
        }
    }
}
