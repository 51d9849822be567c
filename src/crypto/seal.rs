//! AES-256-GCM sealing of secrets and queued payloads at rest, under the operator's master key.
//!
//! A sealed value is `[0x02][4-byte key id][12-byte nonce][ciphertext || 16-byte tag]`;
//! the version byte and key id are authenticated with the caller's associated data. The
//! key id names the master key that sealed it, so that after a rotation
//! (`GAPRELAY_PREVIOUS_MASTER_KEYS`, `gaprelay rotate-master-key`) each value opens with
//! the right key and the re-sealing can tell what is left to do. Values of the first
//! format (`[0x01][nonce][ciphertext || tag]`, no key id) still open: every configured
//! key is tried. The nonce is random per seal, which is safe for far more than 2^32
//! seals per key at this service's volume.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine as _};
use sha2::{Digest, Sha256};

use crate::crypto::gcm::{self, NONCE_LEN, TAG_LEN};

/// The format version written as the first byte of every sealed value.
pub const SEAL_VERSION: u8 = 0x02;

/// The first format, without a key id: still opened, never written.
const SEAL_VERSION_1: u8 = 0x01;

/// Length of the key id in a sealed value.
const KEY_ID_LEN: usize = 4;

/// The shortest possible sealed value: header, nonce and tag around an empty plaintext.
const MIN_SEALED_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN + TAG_LEN;

/// How the operator is told to make a key; repeated in every error about a bad key.
const GENERATE_HINT: &str = "generate one with `openssl rand -base64 32`";

/// Operators paste keys with or without `=` padding; both mean the same bytes.
const STANDARD_PADDING_OPTIONAL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// SHA-256(`"gaprelay-master-key-id"` || key), first four bytes.
fn id_of(key: &[u8; 32]) -> [u8; KEY_ID_LEN] {
    let digest = Sha256::new()
        .chain_update(b"gaprelay-master-key-id")
        .chain_update(key)
        .finalize();
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(&digest[..KEY_ID_LEN]);
    id
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The 256-bit master key (`GAPRELAY_MASTER_KEY`) that seals everything stored at rest,
/// with the keys it replaced (`GAPRELAY_PREVIOUS_MASTER_KEYS`), which only open.
#[derive(Clone)]
pub struct MasterKey {
    current: [u8; 32],
    previous: Vec<[u8; 32]>,
}

/// Why `GAPRELAY_MASTER_KEY` could not be used. Messages never include the key itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MasterKeyError {
    /// The variable is set but empty (or only whitespace).
    #[error("GAPRELAY_MASTER_KEY is empty; {GENERATE_HINT}")]
    Empty,
    /// The value contains characters outside standard base64 (`A-Z a-z 0-9 + /`, `=`).
    #[error(
        "GAPRELAY_MASTER_KEY is not valid standard base64 (A-Z a-z 0-9 + / and optional = padding); {GENERATE_HINT}"
    )]
    NotBase64,
    /// The value is base64 but of the wrong number of bytes.
    #[error("GAPRELAY_MASTER_KEY must decode to 32 bytes, got {0}; {GENERATE_HINT}")]
    WrongLength(usize),
}

impl MasterKey {
    /// Parses standard base64 (padding optional) of exactly 32 bytes.
    ///
    /// Surrounding whitespace is ignored, because keys read from files or pasted into
    /// environment files often carry a trailing newline.
    pub fn from_base64(s: &str) -> Result<MasterKey, MasterKeyError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(MasterKeyError::Empty);
        }
        // The decoder's error is dropped on purpose: it can quote an offending byte of
        // the key, and error messages end up in logs.
        let bytes = STANDARD_PADDING_OPTIONAL
            .decode(s)
            .map_err(|_| MasterKeyError::NotBase64)?;
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| MasterKeyError::WrongLength(bytes.len()))?;
        Ok(MasterKey {
            current: key,
            previous: Vec::new(),
        })
    }

    /// Draws a fresh random key, e.g. to print a development key.
    pub fn generate(rng: &mut (impl rand::RngCore + rand::CryptoRng)) -> MasterKey {
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        MasterKey {
            current: key,
            previous: Vec::new(),
        }
    }

    /// The key as padded standard base64, the form `from_base64` reads back.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.current)
    }

    /// This key, able to open what `previous` keys sealed (their own previous keys
    /// are not carried over).
    pub fn with_previous(mut self, previous: &[MasterKey]) -> MasterKey {
        self.previous = previous
            .iter()
            .map(|k| k.current)
            .filter(|k| *k != self.current)
            .collect();
        self
    }

    /// The ids of the previous keys, oldest configuration order.
    pub fn previous_key_ids(&self) -> Vec<String> {
        self.previous.iter().map(|k| hex(&id_of(k))).collect()
    }

    /// The key to open a value sealed under `id`.
    fn by_id(&self, id: &[u8]) -> Option<&[u8; 32]> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| id_of(k) == id)
    }

    /// A short, non-secret fingerprint: the first 8 hex characters of
    /// SHA-256(`"gaprelay-master-key-id"` || key).
    ///
    /// It lets a future master-key rotation tell which key sealed what, and lets logs name
    /// the key in use. 32 bits say nothing useful about a 256-bit key, and the domain
    /// prefix keeps the fingerprint from matching any other hash of the key.
    pub fn key_id(&self) -> String {
        hex(&id_of(&self.current))
    }
}

impl MasterKey {
    /// A 256-bit key for one purpose, derived from the master key
    /// (HMAC-SHA256(master key, `purpose`)): a key that signs form tokens, say, must not
    /// be the key that seals secrets.
    pub fn derive(&self, purpose: &[u8]) -> [u8; 32] {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&self.current)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(purpose);
        mac.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Why a sealed value could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Too short to hold a version byte, a nonce and a tag.
    #[error("sealed value is truncated")]
    Truncated,
    /// The first byte names a format this build does not know.
    #[error("sealed value has unknown format version {0}")]
    UnknownVersion(u8),
    /// Sealed under a master key that is not configured (neither
    /// `GAPRELAY_MASTER_KEY` nor one of `GAPRELAY_PREVIOUS_MASTER_KEYS`).
    #[error("sealed value is under master key {0}, which is not configured")]
    UnknownKey(String),
    /// Authentication failed: wrong key, wrong associated data, or altered bytes.
    #[error("sealed value failed to decrypt (wrong key, wrong context or corrupted)")]
    Decrypt,
}

/// Encrypts `plaintext` under the current master key, binding it to `aad`.
///
/// `aad` names what the value is and whom it belongs to (for example a Redis key), so a
/// sealed value copied to another record fails to open there. The output is
/// `[0x02][key id][nonce][ciphertext || tag]`, 33 bytes longer than the plaintext.
///
/// # Panics
///
/// Only for a plaintext over AES-GCM's 64 GiB limit.
pub fn seal(
    key: &MasterKey,
    aad: &[u8],
    plaintext: &[u8],
    rng: &mut (impl rand::RngCore + rand::CryptoRng),
) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let mut sealed = Vec::with_capacity(MIN_SEALED_LEN + plaintext.len());
    sealed.push(SEAL_VERSION);
    sealed.extend_from_slice(&id_of(&key.current));
    let full_aad = [&sealed[..], aad].concat();
    let (ciphertext, tag) = gcm::encrypt_detached(&key.current, &nonce, &full_aad, plaintext);
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(&ciphertext);
    sealed.extend_from_slice(&tag);
    sealed
}

/// Decrypts a value produced by [`seal`] with the same `aad`, under whichever
/// configured master key sealed it.
///
/// Input is untrusted (it comes back from storage): version and length are checked
/// before anything is split, so short or garbage input is an error, never a panic.
pub fn open(key: &MasterKey, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
    let (&version, rest) = sealed.split_first().ok_or(OpenError::Truncated)?;
    match version {
        SEAL_VERSION => {
            if rest.len() < KEY_ID_LEN + NONCE_LEN + TAG_LEN {
                return Err(OpenError::Truncated);
            }
            let (id, body) = rest.split_at(KEY_ID_LEN);
            let k = key
                .by_id(id)
                .ok_or_else(|| OpenError::UnknownKey(hex(id)))?;
            let full_aad = [&sealed[..1 + KEY_ID_LEN], aad].concat();
            open_body(k, &full_aad, body)
        }
        SEAL_VERSION_1 => {
            if rest.len() < NONCE_LEN + TAG_LEN {
                return Err(OpenError::Truncated);
            }
            std::iter::once(&key.current)
                .chain(&key.previous)
                .find_map(|k| open_body(k, aad, rest).ok())
                .ok_or(OpenError::Decrypt)
        }
        other => Err(OpenError::UnknownVersion(other)),
    }
}

/// The id of the master key a value was sealed under (`None` for the first format,
/// which does not say, and for garbage).
pub fn sealed_key_id(sealed: &[u8]) -> Option<String> {
    match sealed.split_first() {
        Some((&SEAL_VERSION, rest)) if rest.len() >= KEY_ID_LEN => Some(hex(&rest[..KEY_ID_LEN])),
        _ => None,
    }
}

fn open_body(key: &[u8; 32], aad: &[u8], body: &[u8]) -> Result<Vec<u8>, OpenError> {
    let (nonce, rest) = body.split_at(NONCE_LEN);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    let nonce: &[u8; NONCE_LEN] = nonce.try_into().map_err(|_| OpenError::Truncated)?;
    let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| OpenError::Truncated)?;
    gcm::decrypt_detached(key, nonce, aad, ciphertext, tag).ok_or(OpenError::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn rng() -> StdRng {
        StdRng::seed_from_u64(7)
    }

    #[test]
    fn a_sealed_value_opens_with_the_same_key_and_aad() {
        let mut rng = rng();
        let key = MasterKey::generate(&mut rng);
        let sealed = seal(&key, b"endpoint:ep_1", b"whsec_abc", &mut rng);
        assert_eq!(sealed[0], SEAL_VERSION);
        assert_eq!(sealed.len(), MIN_SEALED_LEN + b"whsec_abc".len());
        assert_eq!(
            open(&key, b"endpoint:ep_1", &sealed),
            Ok(b"whsec_abc".to_vec())
        );
    }

    #[test]
    fn an_empty_plaintext_round_trips() {
        let mut rng = rng();
        let key = MasterKey::generate(&mut rng);
        let sealed = seal(&key, b"", b"", &mut rng);
        assert_eq!(sealed.len(), MIN_SEALED_LEN);
        assert_eq!(open(&key, b"", &sealed), Ok(Vec::new()));
    }

    #[test]
    fn a_different_aad_fails_to_open() {
        let mut rng = rng();
        let key = MasterKey::generate(&mut rng);
        let sealed = seal(&key, b"endpoint:ep_1", b"secret", &mut rng);
        assert_eq!(
            open(&key, b"endpoint:ep_2", &sealed),
            Err(OpenError::Decrypt)
        );
    }

    #[test]
    fn a_different_key_fails_to_open() {
        let mut rng = rng();
        let key = MasterKey::generate(&mut rng);
        let other = MasterKey::generate(&mut rng);
        let sealed = seal(&key, b"aad", b"secret", &mut rng);
        assert_eq!(
            open(&other, b"aad", &sealed),
            Err(OpenError::UnknownKey(key.key_id()))
        );
    }

    #[test]
    fn every_single_bit_flip_fails_to_open() {
        let mut rng = rng();
        let key = MasterKey::generate(&mut rng);
        let sealed = seal(&key, b"aad", b"a small secret", &mut rng);
        for byte in 0..sealed.len() {
            for bit in 0..8 {
                let mut tampered = sealed.clone();
                tampered[byte] ^= 1 << bit;
                let result = open(&key, b"aad", &tampered);
                assert!(result.is_err(), "flip of bit {bit} in byte {byte} opened");
                if byte == 0 && tampered[0] != SEAL_VERSION_1 {
                    assert_eq!(result, Err(OpenError::UnknownVersion(tampered[0])));
                }
            }
        }
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let mut rng = rng();
        let key = MasterKey::generate(&mut rng);
        let sealed = seal(&key, b"aad", b"", &mut rng);
        for len in 0..MIN_SEALED_LEN {
            assert_eq!(
                open(&key, b"aad", &sealed[..len]),
                Err(OpenError::Truncated),
                "length {len}"
            );
        }
        // Garbage with an unknown version is reported as such whatever its length.
        assert_eq!(
            open(&key, b"aad", &[0x07]),
            Err(OpenError::UnknownVersion(7))
        );
    }

    #[test]
    fn two_seals_of_the_same_plaintext_differ() {
        let mut rng = rng();
        let key = MasterKey::generate(&mut rng);
        let a = seal(&key, b"aad", b"same", &mut rng);
        let b = seal(&key, b"aad", b"same", &mut rng);
        assert_ne!(a, b);
        let nonce = 1 + KEY_ID_LEN..1 + KEY_ID_LEN + NONCE_LEN;
        assert_ne!(a[nonce.clone()], b[nonce]);
    }

    #[test]
    fn a_master_key_round_trips_through_base64_with_or_without_padding() {
        let key = MasterKey::generate(&mut rng());
        let encoded = key.to_base64();
        assert!(encoded.ends_with('='));
        let padded = MasterKey::from_base64(&encoded).expect("padded base64 parses");
        let unpadded =
            MasterKey::from_base64(encoded.trim_end_matches('=')).expect("unpadded base64 parses");
        let with_newline =
            MasterKey::from_base64(&format!("{encoded}\n")).expect("a trailing newline is fine");
        assert_eq!(padded.current, key.current);
        assert_eq!(unpadded.current, key.current);
        assert_eq!(with_newline.current, key.current);
    }

    #[test]
    fn a_bad_master_key_is_explained_without_echoing_it() {
        let reason = |s: &str| MasterKey::from_base64(s).map(|_| ());
        assert_eq!(reason(""), Err(MasterKeyError::Empty));
        assert_eq!(reason("not*base64!"), Err(MasterKeyError::NotBase64));
        let short = STANDARD.encode([9u8; 16]);
        let err = MasterKey::from_base64(&short).expect_err("16 bytes is too short");
        assert_eq!(err, MasterKeyError::WrongLength(16));
        let message = err.to_string();
        assert!(message.contains("GAPRELAY_MASTER_KEY must decode to 32 bytes, got 16"));
        assert!(message.contains("openssl rand -base64 32"));
        assert!(!message.contains(&short));
        assert_eq!(
            reason(&STANDARD.encode([9u8; 33])),
            Err(MasterKeyError::WrongLength(33))
        );
    }

    #[test]
    fn the_key_id_is_a_stable_8_hex_fingerprint_that_tells_keys_apart() {
        let key = MasterKey::from_base64(&STANDARD.encode([0u8; 32])).expect("valid key");
        // SHA-256("gaprelay-master-key-id" || 32 zero bytes), computed independently.
        assert_eq!(key.key_id(), KEY_ID_OF_ZERO_KEY);
        let other = MasterKey::from_base64(&STANDARD.encode([1u8; 32])).expect("valid key");
        assert_ne!(key.key_id(), other.key_id());
        assert_eq!(key.key_id().len(), 8);
    }

    const KEY_ID_OF_ZERO_KEY: &str = "a1a375df";

    #[test]
    fn after_a_rotation_old_values_open_with_the_previous_key_and_new_ones_name_the_new_key() {
        let mut rng = rng();
        let old = MasterKey::generate(&mut rng);
        let new = MasterKey::generate(&mut rng);
        let sealed_old = seal(&old, b"aad", b"secret", &mut rng);
        assert_eq!(sealed_key_id(&sealed_old), Some(old.key_id()));
        let ring = new.clone().with_previous(std::slice::from_ref(&old));
        assert_eq!(ring.key_id(), new.key_id());
        assert_eq!(ring.previous_key_ids(), vec![old.key_id()]);
        assert_eq!(open(&ring, b"aad", &sealed_old), Ok(b"secret".to_vec()));
        let resealed = seal(&ring, b"aad", b"secret", &mut rng);
        assert_eq!(sealed_key_id(&resealed), Some(new.key_id()));
        // Once the previous key is dropped, only re-sealed values open.
        assert_eq!(open(&new, b"aad", &resealed), Ok(b"secret".to_vec()));
        assert!(matches!(
            open(&new, b"aad", &sealed_old),
            Err(OpenError::UnknownKey(_))
        ));
    }

    #[test]
    fn values_of_the_first_format_still_open_with_any_configured_key() {
        let mut rng = rng();
        let old = MasterKey::generate(&mut rng);
        let new = MasterKey::generate(&mut rng);
        // [0x01][nonce][ciphertext || tag], as the first format wrote it.
        let nonce = [3u8; NONCE_LEN];
        let (ct, tag) = gcm::encrypt_detached(&old.current, &nonce, b"aad", b"v1 secret");
        let v1 = [&[SEAL_VERSION_1][..], &nonce, &ct, &tag].concat();
        assert_eq!(sealed_key_id(&v1), None);
        let ring = new.clone().with_previous(&[old]);
        assert_eq!(open(&ring, b"aad", &v1), Ok(b"v1 secret".to_vec()));
        assert_eq!(open(&new, b"aad", &v1), Err(OpenError::Decrypt));
    }

    #[test]
    fn the_header_is_authenticated() {
        let mut rng = rng();
        let key = MasterKey::generate(&mut rng);
        let mut sealed = seal(&key, b"aad", b"secret", &mut rng);
        // Re-labelling the value as the first format does not open it either.
        sealed[0] = SEAL_VERSION_1;
        sealed.drain(1..1 + KEY_ID_LEN);
        assert_eq!(open(&key, b"aad", &sealed), Err(OpenError::Decrypt));
    }

    proptest! {
        #[test]
        fn any_plaintext_and_aad_round_trip(
            plaintext in proptest::collection::vec(any::<u8>(), 0..2048),
            aad in proptest::collection::vec(any::<u8>(), 0..64),
            seed in any::<u64>(),
        ) {
            let mut rng = StdRng::seed_from_u64(seed);
            let key = MasterKey::generate(&mut rng);
            let sealed = seal(&key, &aad, &plaintext, &mut rng);
            prop_assert_eq!(open(&key, &aad, &sealed), Ok(plaintext));
        }

        #[test]
        fn arbitrary_bytes_never_panic_open(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            let key = MasterKey::generate(&mut StdRng::seed_from_u64(1));
            prop_assert!(open(&key, b"aad", &bytes).is_err());
        }
    }
}
