//! JWE to keys the receiver holds: `ECDH-ES+A256KW` (RFC 7518 §4.6) with `A256GCM`, in
//! General JSON Serialization (RFC 7516 §7.2.1), one recipient per public key (P-256 or
//! X25519, RFC 8037), so that only the holder of a matching private key can decrypt.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::crypto::gcm::{self, NONCE_LEN, TAG_LEN};

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

/// Why a receiver JWE or a private JWK was refused. Messages never include key
/// material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiverJweError {
    /// The private JWK is not a usable P-256 or X25519 key; the reason says which member.
    #[error("JWK is not a P-256 or X25519 private key: {0}")]
    InvalidJwk(&'static str),
    /// A JWE member is not base64url without padding; names the member.
    #[error("JWE member `{0}` is not base64url without padding")]
    Base64(&'static str),
    /// A JWE member decodes to the wrong number of bytes; names the member.
    #[error("JWE member `{0}` has the wrong length")]
    Length(&'static str),
    /// A header is not a JSON object, or lacks a member it needs.
    #[error("JWE header is not valid")]
    Header,
    /// The JWE asks for something other than ECDH-ES+A256KW/A256GCM, compression, extra
    /// AAD or a critical extension.
    #[error("JWE asks for something other than ECDH-ES+A256KW/A256GCM")]
    Unsupported,
    /// No recipient names this key's `kid`.
    #[error("JWE was not encrypted for this key id")]
    KidMismatch,
    /// Key unwrapping or authentication failed: wrong key or tampered.
    #[error("JWE failed to decrypt (wrong key or tampered)")]
    Decrypt,
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
/// [`encrypt`] writes `protected`, `recipients`, `iv`, `ciphertext` and `tag` only.
/// [`decrypt`] also reads the flattened form (`header` and `encrypted_key` at the top)
/// and a shared `unprotected` header, as other libraries write them.
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

/// The private half of a receiver key: for receivers and tests, never held by the relay.
pub struct ReceiverPrivateKey {
    kid: String,
    secret: PrivateScalar,
}

enum PrivateScalar {
    P256(p256::SecretKey),
    X25519(x25519_dalek::StaticSecret),
}

impl std::fmt::Debug for ReceiverPrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiverPrivateKey")
            .field("kid", &self.kid)
            .field("d", &format_args!("[redacted]"))
            .finish()
    }
}

impl ReceiverPrivateKey {
    /// A fresh P-256 key named `kid`.
    pub fn generate_p256(
        kid: &str,
        rng: &mut (impl rand::RngCore + rand::CryptoRng),
    ) -> ReceiverPrivateKey {
        ReceiverPrivateKey {
            kid: kid.to_owned(),
            secret: PrivateScalar::P256(p256::SecretKey::random(rng)),
        }
    }

    /// A fresh X25519 key named `kid`.
    pub fn generate_x25519(
        kid: &str,
        rng: &mut (impl rand::RngCore + rand::CryptoRng),
    ) -> ReceiverPrivateKey {
        ReceiverPrivateKey {
            kid: kid.to_owned(),
            secret: PrivateScalar::X25519(x25519_dalek::StaticSecret::random_from_rng(rng)),
        }
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half.
    pub fn public_key(&self) -> ReceiverKey {
        let point = match &self.secret {
            PrivateScalar::P256(secret) => PublicPoint::P256(secret.public_key()),
            PrivateScalar::X25519(secret) => {
                PublicPoint::X25519(x25519_dalek::PublicKey::from(secret))
            }
        };
        ReceiverKey {
            kid: self.kid.clone(),
            point,
        }
    }

    /// The private JWK (the public one plus `d`). Secret: for the receiver only.
    pub fn to_jwk(&self) -> Value {
        let mut jwk = self.public_key().to_jwk();
        jwk["d"] = Value::String(match &self.secret {
            PrivateScalar::P256(secret) => b64(secret.to_bytes()),
            PrivateScalar::X25519(secret) => b64(secret.as_bytes()),
        });
        jwk
    }

    /// Reads a private JWK (`kty` EC/P-256 or OKP/X25519, `kid`, `d`); for P-256 the
    /// `x`/`y` given must be those of `d`.
    pub fn from_jwk(jwk: &Value) -> Result<ReceiverPrivateKey, ReceiverJweError> {
        let text = |name: &str| jwk.get(name).and_then(Value::as_str);
        let kid = text("kid")
            .filter(|k| !k.is_empty())
            .ok_or(ReceiverJweError::InvalidJwk(
                "kid must be a non-empty string",
            ))?
            .to_owned();
        let d = text("d")
            .and_then(bytes32)
            .ok_or(ReceiverJweError::InvalidJwk(
                "d must be 32 bytes of base64url",
            ))?;
        let secret = match (text("kty"), text("crv")) {
            (Some("EC"), Some("P-256")) => PrivateScalar::P256(
                p256::SecretKey::from_slice(&d)
                    .map_err(|_| ReceiverJweError::InvalidJwk("d is not a P-256 scalar"))?,
            ),
            (Some("OKP"), Some("X25519")) => {
                PrivateScalar::X25519(x25519_dalek::StaticSecret::from(d))
            }
            _ => return Err(ReceiverJweError::InvalidJwk("not EC/P-256 or OKP/X25519")),
        };
        let key = ReceiverPrivateKey { kid, secret };
        let public = key.public_key().to_jwk();
        if ["x", "y"]
            .iter()
            .any(|m| jwk.get(*m).is_some() && jwk.get(*m) != public.get(*m))
        {
            return Err(ReceiverJweError::InvalidJwk("x/y do not belong to d"));
        }
        Ok(key)
    }

    /// ECDH with a sender's ephemeral key from a header's `epk`.
    fn agree(&self, epk: &Value) -> Result<[u8; 32], ReceiverJweError> {
        let text = |name: &str| epk.get(name).and_then(Value::as_str);
        match (&self.secret, text("kty"), text("crv")) {
            (PrivateScalar::P256(secret), Some("EC"), Some("P-256")) => {
                let public = p256_from_xy(text("x").unwrap_or(""), text("y").unwrap_or(""))
                    .ok_or(ReceiverJweError::Header)?;
                let shared =
                    p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), public.as_affine());
                Ok((*shared.raw_secret_bytes()).into())
            }
            (PrivateScalar::X25519(secret), Some("OKP"), Some("X25519")) => {
                let public = x25519_dalek::PublicKey::from(
                    text("x")
                        .and_then(bytes32)
                        .ok_or(ReceiverJweError::Header)?,
                );
                let shared = secret.diffie_hellman(&public);
                if !shared.was_contributory() {
                    return Err(ReceiverJweError::Decrypt);
                }
                Ok(*shared.as_bytes())
            }
            _ => Err(ReceiverJweError::Unsupported),
        }
    }
}

fn decode(name: &'static str, value: &str) -> Result<Vec<u8>, ReceiverJweError> {
    URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|_| ReceiverJweError::Base64(name))
}

/// The union of the JOSE headers that apply to one recipient (RFC 7516 §7.2.1).
fn joined_header(
    parts: [Option<&Value>; 3],
) -> Result<serde_json::Map<String, Value>, ReceiverJweError> {
    let mut joined = serde_json::Map::new();
    for part in parts.into_iter().flatten() {
        let members = part.as_object().ok_or(ReceiverJweError::Header)?;
        for (name, value) in members {
            // Header names must be disjoint across the parts.
            if joined.insert(name.clone(), value.clone()).is_some() {
                return Err(ReceiverJweError::Header);
            }
        }
    }
    Ok(joined)
}

/// Decrypts a JWE made for `key`, by [`encrypt`] or any JOSE library (general or
/// flattened JSON). The recipient is the one whose header names the key's `kid`.
/// All input is treated as hostile: malformed members are errors, never panics.
pub fn decrypt(key: &ReceiverPrivateKey, jwe: &GeneralJwe) -> Result<Vec<u8>, ReceiverJweError> {
    if jwe.aad.is_some() {
        return Err(ReceiverJweError::Unsupported);
    }
    let protected: Value = serde_json::from_slice(&decode("protected", &jwe.protected)?)
        .map_err(|_| ReceiverJweError::Header)?;
    let flattened = Recipient {
        header: jwe.header.clone(),
        encrypted_key: jwe.encrypted_key.clone(),
    };
    let recipients = if jwe.recipients.is_empty() {
        std::slice::from_ref(&flattened)
    } else {
        jwe.recipients.as_slice()
    };
    let mut found = None;
    for recipient in recipients {
        let header = joined_header([
            Some(&protected),
            jwe.unprotected.as_ref(),
            recipient.header.as_ref(),
        ])?;
        if header.get("kid").and_then(Value::as_str) == Some(key.kid.as_str()) {
            found = Some((header, recipient));
            break;
        }
    }
    let (header, recipient) = found.ok_or(ReceiverJweError::KidMismatch)?;
    let text = |name: &str| header.get(name).and_then(Value::as_str);
    if text("alg") != Some(ALG)
        || text("enc") != Some(ENC)
        || header.contains_key("zip")
        || header.contains_key("crit")
    {
        return Err(ReceiverJweError::Unsupported);
    }
    let epk = header.get("epk").ok_or(ReceiverJweError::Header)?;
    let apu = text("apu").map(|v| decode("apu", v)).transpose()?;
    let apv = text("apv").map(|v| decode("apv", v)).transpose()?;
    let z = key.agree(epk)?;
    let kek = key_encryption_key(
        &z,
        apu.as_deref().unwrap_or(&[]),
        apv.as_deref().unwrap_or(&[]),
    );
    let wrapped = decode(
        "encrypted_key",
        recipient.encrypted_key.as_deref().unwrap_or(""),
    )?;
    if wrapped.len() != 40 {
        return Err(ReceiverJweError::Length("encrypted_key"));
    }
    let mut cek = [0u8; 32];
    aes_kw::KekAes256::from(kek)
        .unwrap(&wrapped, &mut cek)
        .map_err(|_| ReceiverJweError::Decrypt)?;
    let iv: [u8; NONCE_LEN] = decode("iv", &jwe.iv)?
        .as_slice()
        .try_into()
        .map_err(|_| ReceiverJweError::Length("iv"))?;
    let tag: [u8; TAG_LEN] = decode("tag", &jwe.tag)?
        .as_slice()
        .try_into()
        .map_err(|_| ReceiverJweError::Length("tag"))?;
    let ciphertext = decode("ciphertext", &jwe.ciphertext)?;
    gcm::decrypt_detached(&cek, &iv, jwe.protected.as_bytes(), &ciphertext, &tag)
        .ok_or(ReceiverJweError::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    const PLAINTEXT: &[u8] = br#"{"submission_id":"sub_1","patient":{"name":"Ada"}}"#;

    fn keys(seed: u64) -> (ReceiverPrivateKey, ReceiverPrivateKey) {
        let mut rng = StdRng::seed_from_u64(seed);
        (
            ReceiverPrivateKey::generate_p256("ec-1", &mut rng),
            ReceiverPrivateKey::generate_x25519("okp-1", &mut rng),
        )
    }

    #[test]
    fn the_concat_kdf_matches_rfc_7518_appendix_c() {
        // RFC 7518 Appendix C: ECDH-ES (direct) with A128GCM, apu "Alice", apv "Bob".
        let bob = ReceiverPrivateKey::from_jwk(&json!({
            "kty": "EC", "crv": "P-256", "kid": "bob",
            "x": "weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ",
            "y": "e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck",
            "d": "VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw",
        }))
        .expect("Bob's key from the RFC");
        let z = bob
            .agree(&json!({
                "kty": "EC", "crv": "P-256",
                "x": "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0",
                "y": "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps",
            }))
            .expect("Alice's ephemeral key from the RFC");
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
        let jwe = encrypt(&[ec.public_key(), okp.public_key()], PLAINTEXT, &mut rng);
        assert_eq!(decrypt(&ec, &jwe), Ok(PLAINTEXT.to_vec()));
        assert_eq!(decrypt(&okp, &jwe), Ok(PLAINTEXT.to_vec()));
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
    fn a_key_not_listed_or_a_different_key_with_the_same_kid_fails() {
        let (ec, okp) = keys(3);
        let jwe = encrypt(&[ec.public_key()], PLAINTEXT, &mut StdRng::seed_from_u64(4));
        assert_eq!(decrypt(&okp, &jwe), Err(ReceiverJweError::KidMismatch));
        let impostor = ReceiverPrivateKey::generate_p256("ec-1", &mut StdRng::seed_from_u64(5));
        assert_eq!(decrypt(&impostor, &jwe), Err(ReceiverJweError::Decrypt));
    }

    #[test]
    fn tampering_fails() {
        let (ec, _) = keys(6);
        let jwe = encrypt(&[ec.public_key()], PLAINTEXT, &mut StdRng::seed_from_u64(7));
        let flip = |s: &str| {
            let mut bytes = URL_SAFE_NO_PAD.decode(s).expect("b64");
            bytes[0] ^= 1;
            b64(bytes)
        };
        for tampered in [
            GeneralJwe {
                ciphertext: flip(&jwe.ciphertext),
                ..jwe.clone()
            },
            GeneralJwe {
                tag: flip(&jwe.tag),
                ..jwe.clone()
            },
            GeneralJwe {
                iv: flip(&jwe.iv),
                ..jwe.clone()
            },
            GeneralJwe {
                protected: b64(r#"{"enc":"A256GCM" }"#),
                ..jwe.clone()
            },
        ] {
            assert_eq!(decrypt(&ec, &tampered), Err(ReceiverJweError::Decrypt));
        }
        let mut wrong_key = jwe.clone();
        wrong_key.recipients[0].encrypted_key = Some(flip(
            wrong_key.recipients[0]
                .encrypted_key
                .as_deref()
                .unwrap_or(""),
        ));
        assert_eq!(decrypt(&ec, &wrong_key), Err(ReceiverJweError::Decrypt));
        let zipped = GeneralJwe {
            protected: b64(r#"{"enc":"A256GCM","zip":"DEF"}"#),
            ..jwe.clone()
        };
        assert_eq!(decrypt(&ec, &zipped), Err(ReceiverJweError::Unsupported));
        assert_eq!(
            decrypt(
                &ec,
                &GeneralJwe {
                    iv: "!".into(),
                    ..jwe
                }
            ),
            Err(ReceiverJweError::Base64("iv"))
        );
    }

    #[test]
    fn a_private_jwk_round_trips() {
        let (ec, okp) = keys(8);
        let jwe = encrypt(
            &[ec.public_key(), okp.public_key()],
            PLAINTEXT,
            &mut StdRng::seed_from_u64(9),
        );
        for key in [ec, okp] {
            let loaded = ReceiverPrivateKey::from_jwk(&key.to_jwk()).expect("loads");
            assert_eq!(decrypt(&loaded, &jwe), Ok(PLAINTEXT.to_vec()));
            let public = ReceiverKey::from_jwk(&key.public_key().to_jwk()).expect("public");
            assert_eq!(public.to_jwk(), key.public_key().to_jwk());
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
        let mut jwk = ec.public_key().to_jwk();
        jwk["kid"] = json!("");
        jwk["x"] = json!("AAAA");
        assert_eq!(members(problems(jwk)), ["kid", "x"]);
        let mut off_curve = ec.public_key().to_jwk();
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
        let mut other_use = okp.public_key().to_jwk();
        other_use["use"] = json!("sig");
        assert_eq!(members(problems(other_use)), ["use"]);
    }
}
