//! The one place that drives AES-256-GCM, shared by `seal` (at rest) and `jwe` (on the wire).

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::Aes256Gcm;

/// Length of an AES-GCM nonce (IV) in bytes; 96 bits is the only size GCM handles natively.
pub(super) const NONCE_LEN: usize = 12;
/// Length of the full, untruncated GCM authentication tag in bytes.
pub(super) const TAG_LEN: usize = 16;

/// Encrypts `plaintext` and returns the ciphertext and the tag separately.
///
/// # Panics
///
/// Only if `plaintext` is longer than GCM's limit of 2^36 - 32 bytes (64 GiB), or `aad`
/// longer than 2^61 bytes. Every caller encrypts bounded HTTP payloads or short secrets,
/// so this cannot happen; returning a `Result` would force every caller to handle an
/// error that does not exist.
pub(super) fn encrypt_detached(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> (Vec<u8>, [u8; TAG_LEN]) {
    let cipher = Aes256Gcm::new(&(*key).into());
    let mut buffer = plaintext.to_vec();
    match cipher.encrypt_in_place_detached(&(*nonce).into(), aad, &mut buffer) {
        Ok(tag) => (buffer, tag.into()),
        Err(_) => panic!("AES-GCM input exceeds the 64 GiB limit"),
    }
}

/// Decrypts and authenticates; `None` means the key, nonce, AAD, ciphertext or tag is wrong.
pub(super) fn decrypt_detached(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ciphertext: &[u8],
    tag: &[u8; TAG_LEN],
) -> Option<Vec<u8>> {
    let cipher = Aes256Gcm::new(&(*key).into());
    let mut buffer = ciphertext.to_vec();
    cipher
        .decrypt_in_place_detached(&(*nonce).into(), aad, &mut buffer, &(*tag).into())
        .ok()
        .map(|()| buffer)
}
