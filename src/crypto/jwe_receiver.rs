//! JWE to keys the receiver holds: `ECDH-ES+A256KW` (RFC 7518 §4.6) with `A256GCM`, in
//! General JSON Serialization (RFC 7516 §7.2.1), one recipient per public key (P-256 or
//! X25519, RFC 8037), so that only the holder of a matching private key can decrypt.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::crypto::gcm::{self, NONCE_LEN};

/// The key-management algorithm of every recipient.
pub const ALG: &str = "ECDH-ES+A256KW";
/// The content-encryption algorithm.
pub const ENC: &str = "A256GCM";
/// The protected header, exactly these bytes (base64url-encoded, they are the GCM AAD).
const PROTECTED_HEADER: &str = r#"{"enc":"A256GCM"}"#;
/// Longest `kid` accepted.
pub const MAX_KID_LEN: usize = 128;

/// The curve of a receiver's key.
#[derive(Clone)]
enum PublicPoint {
    P256(p256::PublicKey),
    X25519(x25519_dalek::PublicKey),
}

/// A receiver's public key (P-256 or X25519) with its key id. Nothing in it is secret.
#[derive(Clone)]
pub struct ReceiverKey {
    kid: String,
    point: PublicPoint,
}

/// One thing wrong with a public JWK: the member it is about (empty for the whole key)
/// and why. Never quotes key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwkProblem {
    /// The JWK member (`d`, `kty`, `crv`, `kid`, `x`, `y`, `use`, `alg`), or "" for the key.
    pub member: &'static str,
    /// Why it was refused.
    pub reason: &'static str,
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A 32-byte base64url member, or `None`.
fn bytes32(value: &str) -> Option<[u8; 32]> {
    URL_SAFE_NO_PAD
        .decode(value)
        .ok()?
        .as_slice()
        .try_into()
        .ok()
}

fn p256_from_xy(x: &str, y: &str) -> Option<p256::PublicKey> {
    let (x, y) = (bytes32(x)?, bytes32(y)?);
    let point = p256::EncodedPoint::from_affine_coordinates(&x.into(), &y.into(), false);
    // Checks that the point is on the curve (and not the identity): an invalid point
    // would leak the private key's bits to whoever chose it.
    p256::PublicKey::from_sec1_bytes(point.as_bytes()).ok()
}

/// An X25519 point that gives an all-zero shared secret whatever the scalar (a
/// low-order point) would let whoever chose it predict the content key.
fn x25519_is_low_order(point: &x25519_dalek::PublicKey) -> bool {
    !x25519_dalek::StaticSecret::from([0x5a; 32])
        .diffie_hellman(point)
        .was_contributory()
}

impl ReceiverKey {
    /// The key id; each recipient's header names it.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// `P-256` or `X25519`.
    pub fn curve(&self) -> &'static str {
        match self.point {
            PublicPoint::P256(_) => "P-256",
            PublicPoint::X25519(_) => "X25519",
        }
    }

    /// The public JWK, `{"kty":"EC","crv":"P-256","kid","x","y"}` or
    /// `{"kty":"OKP","crv":"X25519","kid","x"}`.
    pub fn to_jwk(&self) -> Value {
        let mut jwk = point_jwk(&self.point);
        jwk["kid"] = Value::String(self.kid.clone());
        jwk
    }

    /// Reads a public JWK, collecting every problem: a private key (`d`), another `kty`
    /// or curve, a missing or over-long `kid`, coordinates that are not a point of the
    /// curve, or `use`/`alg` that say another purpose.
    pub fn from_jwk(jwk: &Value) -> Result<ReceiverKey, Vec<JwkProblem>> {
        let mut problems = Vec::new();
        let mut add = |member, reason| problems.push(JwkProblem { member, reason });
        let Some(members) = jwk.as_object() else {
            add("", "must be a JSON object (a public JWK)");
            return Err(problems);
        };
        let text = |name: &str| members.get(name).and_then(Value::as_str);
        if members.contains_key("d") {
            add(
                "d",
                "must be absent: send the public key only, never the private key",
            );
        }
        if members
            .get("use")
            .is_some_and(|u| u.as_str() != Some("enc"))
        {
            add("use", "must be \"enc\" when present");
        }
        if members.get("alg").is_some_and(|a| a.as_str() != Some(ALG)) {
            add("alg", "must be \"ECDH-ES+A256KW\" when present");
        }
        let kid = match text("kid") {
            Some(k) if !k.is_empty() && k.chars().count() <= MAX_KID_LEN => Some(k.to_owned()),
            Some(k) if !k.is_empty() => {
                add("kid", "must be at most 128 characters");
                None
            }
            _ => {
                add("kid", "is required: a non-empty string naming the key");
                None
            }
        };
        let point = match (text("kty"), text("crv")) {
            (Some("EC"), Some("P-256")) => {
                let x = text("x").and_then(bytes32);
                let y = text("y").and_then(bytes32);
                if x.is_none() {
                    add("x", "must be 32 bytes of base64url without padding");
                }
                if y.is_none() {
                    add("y", "must be 32 bytes of base64url without padding");
                }
                match (text("x"), text("y"), x.is_some() && y.is_some()) {
                    (Some(x), Some(y), true) => {
                        let point = p256_from_xy(x, y).map(PublicPoint::P256);
                        if point.is_none() {
                            add("x", "x and y are not a point on P-256");
                        }
                        point
                    }
                    _ => None,
                }
            }
            (Some("OKP"), Some("X25519")) => match text("x").and_then(bytes32) {
                None => {
                    add("x", "must be 32 bytes of base64url without padding");
                    None
                }
                Some(x) => {
                    let point = x25519_dalek::PublicKey::from(x);
                    if x25519_is_low_order(&point) {
                        add("x", "is a low-order point, not a usable key");
                        None
                    } else {
                        Some(PublicPoint::X25519(point))
                    }
                }
            },
            (Some("EC"), _) => {
                add("crv", "must be \"P-256\" for an EC key");
                None
            }
            (Some("OKP"), _) => {
                add("crv", "must be \"X25519\" for an OKP key");
                None
            }
            _ => {
                add("kty", "must be \"EC\" (P-256) or \"OKP\" (X25519)");
                None
            }
        };
        match (problems.is_empty(), kid, point) {
            (true, Some(kid), Some(point)) => Ok(ReceiverKey { kid, point }),
            _ => Err(problems),
        }
    }
}

impl std::fmt::Debug for ReceiverKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiverKey")
            .field("kid", &self.kid)
            .field("crv", &self.curve())
            .finish()
    }
}

fn point_jwk(point: &PublicPoint) -> Value {
    match point {
        PublicPoint::P256(public) => {
            let encoded = public.to_encoded_point(false);
            json!({
                "kty": "EC",
                "crv": "P-256",
                "x": b64(encoded.x().map(|x| x.as_slice()).unwrap_or_default()),
                "y": b64(encoded.y().map(|y| y.as_slice()).unwrap_or_default()),
            })
        }
        PublicPoint::X25519(public) => json!({
            "kty": "OKP",
            "crv": "X25519",
            "x": b64(public.as_bytes()),
        }),
    }
}

/// The Concat KDF of NIST SP 800-56A §5.8.1 as RFC 7518 §4.6.2 uses it, with SHA-256,
/// for key lengths up to 256 bits (one round): SHA-256(counter 1 ‖ Z ‖ AlgorithmID ‖
/// PartyUInfo ‖ PartyVInfo ‖ SuppPubInfo), each info field prefixed with its 32-bit
/// big-endian length and SuppPubInfo being `keydatalen_bits` itself. The first
/// `keydatalen_bits / 8` bytes of the result are the key.
///
/// Written out rather than taken from a crate: it is one hash over a fixed layout, and
/// the known-answer test below (RFC 7518 Appendix C) pins it; a dependency would add
/// more code to review than it saves.
fn concat_kdf(z: &[u8], alg: &str, apu: &[u8], apv: &[u8], keydatalen_bits: u32) -> [u8; 32] {
    let with_len = |hash: &mut Sha256, field: &[u8]| {
        hash.update(u32::try_from(field.len()).unwrap_or(u32::MAX).to_be_bytes());
        hash.update(field);
    };
    let mut hash = Sha256::new();
    hash.update(1u32.to_be_bytes());
    hash.update(z);
    with_len(&mut hash, alg.as_bytes());
    with_len(&mut hash, apu);
    with_len(&mut hash, apv);
    hash.update(keydatalen_bits.to_be_bytes());
    hash.finalize().into()
}

/// The key-encryption key agreed with `epk`'s owner: ECDH, then the Concat KDF.
fn key_encryption_key(z: &[u8], apu: &[u8], apv: &[u8]) -> [u8; 32] {
    concat_kdf(z, ALG, apu, apv, 256)
}

/// One recipient of a [`GeneralJwe`].
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Recipient {
    /// Per-recipient unprotected header: `alg`, `kid`, `epk`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<Value>,
    /// BASE64URL(the content key wrapped with AES Key Wrap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_key: Option<String>,
}

/// A JWE in General JSON Serialization; every member is base64url without padding.
///
/// [`encrypt`] writes `protected`, `recipients`, `iv`, `ciphertext` and `tag` only; the
/// other members are those of the flattened form and a shared header, which other
/// libraries write (receivers decrypt with `gaprelay-receiver` or any JOSE library).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct GeneralJwe {
    /// BASE64URL(UTF-8(protected header)), `{"enc":"A256GCM"}`.
    pub protected: String,
    /// Shared unprotected header (read only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unprotected: Option<Value>,
    /// One per receiver key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<Recipient>,
    /// Flattened form: the one recipient's header (read only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<Value>,
    /// Flattened form: the one recipient's wrapped key (read only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_key: Option<String>,
    /// Extra AAD: refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad: Option<String>,
    /// BASE64URL(96-bit IV).
    pub iv: String,
    /// BASE64URL(ciphertext).
    pub ciphertext: String,
    /// BASE64URL(128-bit authentication tag).
    pub tag: String,
}

/// Wraps a 256-bit content key under a 256-bit key-encryption key (RFC 3394).
fn wrap(kek: [u8; 32], cek: &[u8; 32]) -> [u8; 40] {
    let mut out = [0u8; 40];
    match aes_kw::KekAes256::from(kek).wrap(cek, &mut out) {
        Ok(()) => out,
        // Only a key not a multiple of 8 bytes or a wrong output size fails: neither
        // can happen with these fixed sizes.
        Err(_) => panic!("AES Key Wrap of a 32-byte key into 40 bytes failed"),
    }
}

/// Encrypts `plaintext` once, with a fresh content key wrapped for each of `keys`.
///
/// # Panics
///
/// Only for a plaintext over AES-GCM's 64 GiB limit.
pub fn encrypt(
    keys: &[ReceiverKey],
    plaintext: &[u8],
    rng: &mut (impl rand::RngCore + rand::CryptoRng),
) -> GeneralJwe {
    let mut cek = [0u8; 32];
    rng.fill_bytes(&mut cek);
    let recipients = keys
        .iter()
        .map(|key| {
            let (z, epk) = match &key.point {
                PublicPoint::P256(public) => {
                    let ephemeral = p256::SecretKey::random(rng);
                    let shared = p256::ecdh::diffie_hellman(
                        ephemeral.to_nonzero_scalar(),
                        public.as_affine(),
                    );
                    let z: [u8; 32] = (*shared.raw_secret_bytes()).into();
                    (z, PublicPoint::P256(ephemeral.public_key()))
                }
                PublicPoint::X25519(public) => {
                    let ephemeral = x25519_dalek::EphemeralSecret::random_from_rng(&mut *rng);
                    let epk = x25519_dalek::PublicKey::from(&ephemeral);
                    // Low-order keys are refused when read, so this is contributory.
                    (
                        *ephemeral.diffie_hellman(public).as_bytes(),
                        PublicPoint::X25519(epk),
                    )
                }
            };
            let kek = key_encryption_key(&z, &[], &[]);
            Recipient {
                header: Some(json!({"alg": ALG, "kid": key.kid, "epk": point_jwk(&epk)})),
                encrypted_key: Some(b64(wrap(kek, &cek))),
            }
        })
        .collect();
    let protected = b64(PROTECTED_HEADER);
    let mut iv = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut iv);
    let (ciphertext, tag) = gcm::encrypt_detached(&cek, &iv, protected.as_bytes(), plaintext);
    GeneralJwe {
        protected,
        unprotected: None,
        recipients,
        header: None,
        encrypted_key: None,
        aad: None,
        iv: b64(iv),
        ciphertext: b64(ciphertext),
        tag: b64(tag),
    }
}

#[cfg(test)]
mod tests {
    //! The relay only encrypts; what it makes is opened here with the receiver library
    //! (`gaprelay-receiver`), as a receiver would, and by jwcrypto and jose in the
    //! integration tests.
    use super::*;
    use gaprelay_receiver::{DecryptError, DecryptionKey};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    const PLAINTEXT: &[u8] = br#"{"submission_id":"sub_1","patient":{"name":"Ada"}}"#;

    fn keys(seed: u64) -> (DecryptionKey, DecryptionKey) {
        let mut rng = StdRng::seed_from_u64(seed);
        (
            DecryptionKey::generate_p256("ec-1", &mut rng),
            DecryptionKey::generate_x25519("okp-1", &mut rng),
        )
    }

    /// The public half, as the relay reads it from `receiver_keys`.
    fn public(key: &DecryptionKey) -> ReceiverKey {
        ReceiverKey::from_jwk(&key.public_jwk().expect("a key pair")).expect("a valid public JWK")
    }

    fn open(key: &DecryptionKey, jwe: &GeneralJwe) -> Result<Value, DecryptError> {
        let data = serde_json::to_value(jwe).expect("serializes");
        gaprelay_receiver::decrypt(&data, std::slice::from_ref(key))
    }

    fn plaintext() -> Value {
        serde_json::from_slice(PLAINTEXT).expect("JSON")
    }

    #[test]
    fn the_concat_kdf_matches_rfc_7518_appendix_c() {
        // RFC 7518 Appendix C: ECDH-ES (direct) with A128GCM, apu "Alice", apv "Bob":
        // Alice's ephemeral private key with Bob's public key.
        let alice = p256::SecretKey::from_slice(
            &URL_SAFE_NO_PAD
                .decode("0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo")
                .expect("b64"),
        )
        .expect("Alice's ephemeral key from the RFC");
        let bob = p256_from_xy(
            "weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ",
            "e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck",
        )
        .expect("Bob's public key from the RFC");
        let z: [u8; 32] = (*p256::ecdh::diffie_hellman(alice.to_nonzero_scalar(), bob.as_affine())
            .raw_secret_bytes())
        .into();
        let derived = concat_kdf(&z, "A128GCM", b"Alice", b"Bob", 128);
        assert_eq!(b64(&derived[..16]), "VqqN6vgjbSBcIijNcacQGg");
    }

    #[test]
    fn aes_key_wrap_matches_rfc_3394() {
        // RFC 3394 §4.6: 256 bits of key data with a 256-bit KEK.
        let kek: [u8; 32] = (0u8..32).collect::<Vec<_>>().try_into().expect("32");
        let data: [u8; 32] = [
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
            0xee, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
            0x0c, 0x0d, 0x0e, 0x0f,
        ];
        let expected =
            "28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21";
        let wrapped = wrap(kek, &data);
        let hex: String = wrapped.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
    }

    #[test]
    fn every_recipient_decrypts_and_the_header_is_the_documented_one() {
        let (ec, okp) = keys(1);
        let mut rng = StdRng::seed_from_u64(2);
        let jwe = encrypt(&[public(&ec), public(&okp)], PLAINTEXT, &mut rng);
        assert_eq!(open(&ec, &jwe), Ok(plaintext()));
        assert_eq!(open(&okp, &jwe), Ok(plaintext()));
        assert_eq!(
            URL_SAFE_NO_PAD.decode(&jwe.protected).expect("b64"),
            br#"{"enc":"A256GCM"}"#
        );
        let value = serde_json::to_value(&jwe).expect("serializes");
        let mut members: Vec<_> = value.as_object().expect("object").keys().cloned().collect();
        members.sort();
        assert_eq!(
            members,
            ["ciphertext", "iv", "protected", "recipients", "tag"]
        );
        let header = &value["recipients"][0]["header"];
        assert_eq!(header["alg"], ALG);
        assert_eq!(header["kid"], "ec-1");
        assert_eq!(header["epk"]["crv"], "P-256");
        assert!(header["epk"].get("d").is_none());
        assert_eq!(value["recipients"][1]["header"]["epk"]["crv"], "X25519");
        assert!(!serde_json::to_string(&jwe).expect("json").contains("Ada"));
    }

    #[test]
    fn a_key_not_listed_a_different_key_with_the_same_kid_or_tampering_fails() {
        let (ec, okp) = keys(3);
        let jwe = encrypt(&[public(&ec)], PLAINTEXT, &mut StdRng::seed_from_u64(4));
        assert_eq!(open(&okp, &jwe), Err(DecryptError::NoKey));
        let impostor = DecryptionKey::generate_p256("ec-1", &mut StdRng::seed_from_u64(5));
        assert_eq!(open(&impostor, &jwe), Err(DecryptError::Decrypt));
        let mut bytes = URL_SAFE_NO_PAD.decode(&jwe.ciphertext).expect("b64");
        bytes[0] ^= 1;
        let tampered = GeneralJwe {
            ciphertext: b64(bytes),
            ..jwe
        };
        assert_eq!(open(&ec, &tampered), Err(DecryptError::Decrypt));
    }

    #[test]
    fn a_public_jwk_round_trips() {
        let (ec, okp) = keys(8);
        for key in [ec, okp] {
            let jwk = key.public_jwk().expect("public");
            assert_eq!(ReceiverKey::from_jwk(&jwk).expect("public").to_jwk(), jwk);
        }
    }

    fn problems(jwk: Value) -> Vec<(&'static str, &'static str)> {
        match ReceiverKey::from_jwk(&jwk) {
            Ok(_) => Vec::new(),
            Err(p) => p.into_iter().map(|p| (p.member, p.reason)).collect(),
        }
    }

    #[test]
    fn unusable_public_jwks_are_refused_with_every_problem_named() {
        let (ec, okp) = keys(10);
        let members = |p: Vec<(&'static str, &'static str)>| {
            p.into_iter().map(|(m, _)| m).collect::<Vec<_>>()
        };
        assert_eq!(members(problems(ec.to_jwk())), ["d"]);
        assert_eq!(members(problems(okp.to_jwk())), ["d"]);
        let mut jwk = ec.public_jwk().expect("public");
        jwk["kid"] = json!("");
        jwk["x"] = json!("AAAA");
        assert_eq!(members(problems(jwk)), ["kid", "x"]);
        let mut off_curve = ec.public_jwk().expect("public");
        off_curve["y"] = off_curve["x"].clone();
        assert_eq!(members(problems(off_curve)), ["x"]);
        assert_eq!(
            members(problems(json!({"kty": "EC", "crv": "P-384", "kid": "a"}))),
            ["crv"]
        );
        assert_eq!(
            members(problems(
                json!({"kty": "OKP", "crv": "Ed25519", "kid": "a"})
            )),
            ["crv"]
        );
        assert_eq!(
            members(problems(json!({"kty": "RSA", "kid": "a"}))),
            ["kty"]
        );
        assert_eq!(members(problems(json!("key"))), [""]);
        // The all-zero X25519 point is low-order: no shared secret to speak of.
        assert_eq!(
            members(problems(
                json!({"kty": "OKP", "crv": "X25519", "kid": "a", "x": b64([0u8; 32])})
            )),
            ["x"]
        );
        let mut other_use = okp.public_jwk().expect("public");
        other_use["use"] = json!("sig");
        assert_eq!(members(problems(other_use)), ["use"]);
    }
}
