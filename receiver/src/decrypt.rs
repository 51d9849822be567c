//! Decryption of `data` for every encryption mode the relay sends: `none` (as is),
//! `jwe` (flattened JWE, `dir` + `A256GCM`, the endpoint's shared `oct` key) and
//! `jwe-receiver` (General JSON JWE, `ECDH-ES+A256KW` + `A256GCM`, to the receiver's
//! own P-256 or X25519 key, chosen by `kid`).

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

const DIR: &str = "dir";
const ECDH_ES_A256KW: &str = "ECDH-ES+A256KW";
const A256GCM: &str = "A256GCM";

/// A key that opens `data`: the endpoint's shared key (`"encryption": "jwe"`) or one of
/// the receiver's private keys (`"encryption": "jwe-receiver"`). `Debug` shows the `kid`
/// only.
#[derive(Clone)]
pub struct DecryptionKey {
    kid: String,
    material: Material,
}

#[derive(Clone)]
enum Material {
    Shared([u8; 32]),
    P256(p256::SecretKey),
    X25519(x25519_dalek::StaticSecret),
}

impl std::fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptionKey")
            .field("kid", &self.kid)
            .field("key", &format_args!("[redacted]"))
            .finish()
    }
}

/// Why a JWK is not a usable key. Never quotes key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The JWK is not a JSON object.
    #[error("a JWK must be a JSON object")]
    NotAnObject,
    /// `kid` is missing or empty: the relay names every key.
    #[error("the JWK has no `kid`")]
    MissingKid,
    /// Neither `oct`, `EC`/`P-256` nor `OKP`/`X25519`.
    #[error("the JWK is not an oct, P-256 or X25519 key")]
    UnsupportedKey,
    /// A public key was given where the private key is needed.
    #[error("the JWK has no private part `d`")]
    NotPrivate,
    /// `k` or `d` is not 32 bytes of base64url, or not a valid scalar; names the member.
    #[error("the JWK member `{0}` is not a valid 256-bit key")]
    InvalidMember(&'static str),
}

/// Why `data` could not be decrypted. Never quotes key material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    /// A JWE member is not base64url without padding; names it.
    #[error("JWE member `{0}` is not base64url without padding")]
    Base64(&'static str),
    /// A JWE member decodes to the wrong length; names it.
    #[error("JWE member `{0}` has the wrong length")]
    Length(&'static str),
    /// A JWE member is missing or a header is not the JSON it must be.
    #[error("JWE is malformed")]
    Malformed,
    /// The JWE asks for something other than what the relay sends (`dir` or
    /// `ECDH-ES+A256KW` with `A256GCM`), compression, extra AAD or a critical extension.
    #[error("JWE asks for an algorithm or feature not supported")]
    Unsupported,
    /// None of the keys given has the JWE's `kid` (or is of the right kind for it).
    #[error("no key for this JWE's kid")]
    NoKey,
    /// Authentication failed: the wrong key, or a tampered JWE.
    #[error("JWE failed to decrypt (wrong key or tampered)")]
    Decrypt,
    /// The plaintext is not JSON.
    #[error("the decrypted payload is not JSON")]
    NotJson,
}

fn b64d(name: &'static str, value: &str) -> Result<Vec<u8>, DecryptError> {
    URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|_| DecryptError::Base64(name))
}

fn bytes32(value: &str) -> Option<[u8; 32]> {
    URL_SAFE_NO_PAD
        .decode(value)
        .ok()?
        .as_slice()
        .try_into()
        .ok()
}

impl DecryptionKey {
    /// Reads a JWK: the endpoint's shared key `{"kty":"oct","kid","k"}` as the relay
    /// returned it, or a private `{"kty":"EC","crv":"P-256","kid","d",…}` /
    /// `{"kty":"OKP","crv":"X25519","kid","d",…}` whose public half was registered.
    pub fn from_jwk(jwk: &Value) -> Result<DecryptionKey, KeyError> {
        let members = jwk.as_object().ok_or(KeyError::NotAnObject)?;
        let text = |name: &str| members.get(name).and_then(Value::as_str);
        let kid = text("kid")
            .filter(|k| !k.is_empty())
            .ok_or(KeyError::MissingKid)?
            .to_owned();
        let material = match (text("kty"), text("crv")) {
            (Some("oct"), _) => Material::Shared(
                text("k")
                    .and_then(bytes32)
                    .ok_or(KeyError::InvalidMember("k"))?,
            ),
            (Some("EC"), Some("P-256")) => {
                let d = text("d").ok_or(KeyError::NotPrivate)?;
                let d = bytes32(d).ok_or(KeyError::InvalidMember("d"))?;
                Material::P256(
                    p256::SecretKey::from_slice(&d).map_err(|_| KeyError::InvalidMember("d"))?,
                )
            }
            (Some("OKP"), Some("X25519")) => {
                let d = text("d").ok_or(KeyError::NotPrivate)?;
                Material::X25519(x25519_dalek::StaticSecret::from(
                    bytes32(d).ok_or(KeyError::InvalidMember("d"))?,
                ))
            }
            _ => return Err(KeyError::UnsupportedKey),
        };
        Ok(DecryptionKey { kid, material })
    }

    /// A new P-256 key pair named `kid`, for a `jwe-receiver` endpoint: register
    /// [`DecryptionKey::public_jwk`] with the relay, keep [`DecryptionKey::to_jwk`].
    pub fn generate_p256(
        kid: &str,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> DecryptionKey {
        DecryptionKey {
            kid: kid.to_owned(),
            material: Material::P256(p256::SecretKey::random(rng)),
        }
    }

    /// A new X25519 key pair named `kid` (as [`DecryptionKey::generate_p256`]).
    pub fn generate_x25519(
        kid: &str,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> DecryptionKey {
        DecryptionKey {
            kid: kid.to_owned(),
            material: Material::X25519(x25519_dalek::StaticSecret::random_from_rng(rng)),
        }
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK to give the relay (`receiver_keys`): P-256 `{"kty":"EC",
    /// "crv":"P-256","kid","x","y"}` or `{"kty":"OKP","crv":"X25519","kid","x"}`;
    /// `None` for a shared key, which has no public half.
    pub fn public_jwk(&self) -> Option<Value> {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        match &self.material {
            Material::Shared(_) => None,
            Material::P256(secret) => {
                let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
                    &secret.public_key(),
                    false,
                );
                Some(serde_json::json!({
                    "kty": "EC", "crv": "P-256", "kid": self.kid,
                    "x": b64(point.x()?), "y": b64(point.y()?),
                }))
            }
            Material::X25519(secret) => Some(serde_json::json!({
                "kty": "OKP", "crv": "X25519", "kid": self.kid,
                "x": b64(x25519_dalek::PublicKey::from(secret).as_bytes()),
            })),
        }
    }

    /// The whole key as a JWK, private part included (`d`, or `k` for a shared key):
    /// what [`DecryptionKey::from_jwk`] reads back. Keep it secret.
    pub fn to_jwk(&self) -> Value {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        match &self.material {
            Material::Shared(k) => serde_json::json!({
                "kty": "oct", "kid": self.kid, "k": b64(k), "alg": DIR, "enc": A256GCM,
            }),
            Material::P256(secret) => {
                let mut jwk = self.public_jwk().unwrap_or_default();
                jwk["d"] = b64(&secret.to_bytes()).into();
                jwk
            }
            Material::X25519(secret) => {
                let mut jwk = self.public_jwk().unwrap_or_default();
                jwk["d"] = b64(secret.as_bytes()).into();
                jwk
            }
        }
    }

    /// ECDH with a sender's ephemeral public key (`epk`), or `None` when the curves
    /// differ, the point is invalid, or this is a shared key.
    fn agree(&self, epk: &Value) -> Option<[u8; 32]> {
        let text = |name: &str| epk.get(name).and_then(Value::as_str);
        match (&self.material, text("kty"), text("crv")) {
            (Material::P256(secret), Some("EC"), Some("P-256")) => {
                let (x, y) = (bytes32(text("x")?)?, bytes32(text("y")?)?);
                let point =
                    p256::EncodedPoint::from_affine_coordinates(&x.into(), &y.into(), false);
                // Rejects points off the curve, which would leak bits of the private key.
                let public = p256::PublicKey::from_sec1_bytes(point.as_bytes()).ok()?;
                let shared =
                    p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), public.as_affine());
                Some((*shared.raw_secret_bytes()).into())
            }
            (Material::X25519(secret), Some("OKP"), Some("X25519")) => {
                let public = x25519_dalek::PublicKey::from(bytes32(text("x")?)?);
                let shared = secret.diffie_hellman(&public);
                // A low-order point gives a predictable secret: refuse it.
                shared.was_contributory().then(|| *shared.as_bytes())
            }
            _ => None,
        }
    }
}

/// Decrypts an envelope's `data` with whichever of `keys` it was encrypted for.
///
/// `data` without a top-level `ciphertext` member was sent unencrypted (`"encryption":
/// "none"`) and is returned as it is. A flattened JWE with `alg: "dir"` needs the
/// endpoint's shared key; a JWE with `ECDH-ES+A256KW` recipients needs a private key
/// whose `kid` one of them names. All input is treated as hostile: malformed members
/// are errors, never panics.
pub fn decrypt(data: &Value, keys: &[DecryptionKey]) -> Result<Value, DecryptError> {
    let Some(jwe) = data.as_object().filter(|d| d.contains_key("ciphertext")) else {
        return Ok(data.clone());
    };
    let text = |name: &'static str| -> Result<&str, DecryptError> {
        jwe.get(name)
            .and_then(Value::as_str)
            .ok_or(DecryptError::Malformed)
    };
    if jwe.contains_key("aad") {
        return Err(DecryptError::Unsupported);
    }
    let protected_b64 = text("protected")?;
    let protected: Value = serde_json::from_slice(&b64d("protected", protected_b64)?)
        .map_err(|_| DecryptError::Malformed)?;
    let iv: [u8; 12] = b64d("iv", text("iv")?)?
        .as_slice()
        .try_into()
        .map_err(|_| DecryptError::Length("iv"))?;
    let tag: [u8; 16] = b64d("tag", text("tag")?)?
        .as_slice()
        .try_into()
        .map_err(|_| DecryptError::Length("tag"))?;
    let ciphertext = b64d("ciphertext", text("ciphertext")?)?;

    // Each recipient: the joined header (RFC 7516 §7.2.1) and its wrapped key.
    let flattened = [(jwe.get("header"), jwe.get("encrypted_key"))];
    let listed: Vec<(Option<&Value>, Option<&Value>)> = match jwe.get("recipients") {
        Some(Value::Array(recipients)) => recipients
            .iter()
            .map(|r| (r.get("header"), r.get("encrypted_key")))
            .collect(),
        Some(_) => return Err(DecryptError::Malformed),
        None => flattened.to_vec(),
    };
    for (header, encrypted_key) in listed {
        let joined = joined_header([Some(&protected), jwe.get("unprotected"), header])?;
        let field = |name: &str| joined.get(name).and_then(Value::as_str);
        if field("enc") != Some(A256GCM)
            || joined.contains_key("zip")
            || joined.contains_key("crit")
        {
            return Err(DecryptError::Unsupported);
        }
        let Some(key) = keys.iter().find(|k| field("kid") == Some(k.kid.as_str())) else {
            continue;
        };
        let cek = match (field("alg"), &key.material) {
            (Some(DIR), Material::Shared(k)) => *k,
            (Some(ECDH_ES_A256KW), Material::P256(_) | Material::X25519(_)) => {
                let epk = joined.get("epk").ok_or(DecryptError::Malformed)?;
                let z = key.agree(epk).ok_or(DecryptError::Decrypt)?;
                let apu = field("apu").map(|v| b64d("apu", v)).transpose()?;
                let apv = field("apv").map(|v| b64d("apv", v)).transpose()?;
                let kek = concat_kdf(
                    &z,
                    ECDH_ES_A256KW,
                    apu.as_deref().unwrap_or_default(),
                    apv.as_deref().unwrap_or_default(),
                );
                let wrapped = b64d(
                    "encrypted_key",
                    encrypted_key
                        .and_then(Value::as_str)
                        .ok_or(DecryptError::Malformed)?,
                )?;
                if wrapped.len() != 40 {
                    return Err(DecryptError::Length("encrypted_key"));
                }
                let mut cek = [0u8; 32];
                aes_kw::KekAes256::from(kek)
                    .unwrap(&wrapped, &mut cek)
                    .map_err(|_| DecryptError::Decrypt)?;
                cek
            }
            (Some(DIR | ECDH_ES_A256KW), _) => continue,
            _ => return Err(DecryptError::Unsupported),
        };
        let plaintext = gcm_open(&cek, &iv, protected_b64.as_bytes(), ciphertext, &tag)?;
        return serde_json::from_slice(&plaintext).map_err(|_| DecryptError::NotJson);
    }
    Err(DecryptError::NoKey)
}

/// The union of the headers that apply to one recipient; their names must be disjoint.
fn joined_header(parts: [Option<&Value>; 3]) -> Result<Map<String, Value>, DecryptError> {
    let mut joined = Map::new();
    for part in parts.into_iter().flatten() {
        for (name, value) in part.as_object().ok_or(DecryptError::Malformed)? {
            if joined.insert(name.clone(), value.clone()).is_some() {
                return Err(DecryptError::Malformed);
            }
        }
    }
    Ok(joined)
}

/// The Concat KDF (NIST SP 800-56A) as RFC 7518 §4.6.2 uses it, for one 256-bit key.
fn concat_kdf(z: &[u8], alg: &str, apu: &[u8], apv: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(1u32.to_be_bytes());
    hash.update(z);
    for field in [alg.as_bytes(), apu, apv] {
        hash.update(u32::try_from(field.len()).unwrap_or(u32::MAX).to_be_bytes());
        hash.update(field);
    }
    hash.update(256u32.to_be_bytes());
    hash.finalize().into()
}

/// AES-256-GCM with a detached tag; the AAD is the protected header as received.
fn gcm_open(
    key: &[u8; 32],
    iv: &[u8; 12],
    aad: &[u8],
    mut buffer: Vec<u8>,
    tag: &[u8; 16],
) -> Result<Vec<u8>, DecryptError> {
    Aes256Gcm::new(key.into())
        .decrypt_in_place_detached(
            Nonce::from_slice(iv),
            aad,
            &mut buffer,
            Tag::from_slice(tag),
        )
        .map_err(|_| DecryptError::Decrypt)?;
    Ok(buffer)
}
