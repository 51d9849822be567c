//! Pure cryptography for gaprelay: sealing at rest, webhook signing, JWE payloads and API keys.
//!
//! Nothing in here performs I/O, reads the clock or draws its own randomness: timestamps
//! and a cryptographically secure RNG are passed in, so every function is deterministic
//! under test and the module stays free of actix, redis, reqwest and tokio.

pub mod api_key;
pub mod form_token;
mod gcm;
pub mod jwe;
pub mod jwe_receiver;
pub mod seal;
pub mod secret;
pub mod webhook;
