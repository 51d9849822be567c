//! Receive gaprelay webhooks: verify the Standard Webhooks signature, decrypt `data`
//! (every encryption mode the relay sends) and parse it into a typed [`Event`].
//!
//! The crate does no I/O: you pass the headers and the exact body bytes your HTTP
//! server received, and `now` from your clock. [`Receiver`] does all three steps in
//! one call; [`verify`], [`decrypt`] and [`parse`] are the steps on their own.
//!
//! ```
//! use gaprelay_receiver::{sign, Event, Headers, IntakeSubmitted, Receiver, Secret};
//!
//! // The endpoint's secret, as `POST /v1/endpoints` returned it (keep it in your
//! // secret store, never in code).
//! let whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
//! let receiver = Receiver::new(vec![Secret::from_whsec(whsec)?], vec![]);
//!
//! // What arrived (signed here so the example runs on its own).
//! let body = br#"{"type":"endpoint.test","timestamp":"2026-01-02T03:04:05Z",
//!                 "data":{"practitioner":{"id":"prac_1"},"message":"hello"}}"#;
//! let now = 1_767_323_045; // Unix seconds, from your clock
//! let signature = sign(&Secret::from_whsec(whsec)?, "msg_1", now, body);
//! let timestamp = now.to_string();
//! let headers = Headers { id: "msg_1", timestamp: &timestamp, signature: &signature };
//!
//! let webhook = receiver.receive(&headers, body, now)?;
//! assert_eq!(webhook.id, "msg_1"); // deduplicate on it: retries repeat it
//! match webhook.event {
//!     Event::EndpointTest(test) => assert_eq!(test.message, "hello"),
//!     Event::IntakeSubmitted(IntakeSubmitted::GaprelayV1(intake)) => {
//!         println!("{}", intake.submission_id)
//!     }
//!     _ => {} // answer 2xx to types you do not handle
//! }
//! // A tampered body is refused.
//! assert!(receiver.receive(&headers, b"{}", now).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! See receiver/examples/ and docs/receiving.md.

mod decrypt;
mod event;
mod verify;

use std::time::Duration;

pub use decrypt::{decrypt, DecryptError, DecryptionKey, KeyError};
pub use event::{
    parse, Bounds, Consent, DeliveryExpired, EndpointFailing, EndpointTest, Engagement, Envelope,
    Event, FailingReason, Intake, IntakeSubmitted, Lab, LabInput, ParseError, Patient,
    Practitioner, Report, Sex, Source, Summary, Symptom, SystemAttention, Zone,
};
pub use verify::{
    sign, verify, Headers, Secret, SecretError, VerifyError, DEFAULT_TOLERANCE, WHSEC_PREFIX,
};

/// Why [`Receiver::receive`] refused a delivery: which step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Not signed by the relay, or too old: answer 4xx, process nothing.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// Signed, but not a webhook envelope or not the schema of its type.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Signed, but `data` could not be decrypted with the keys held.
    #[error(transparent)]
    Decrypt(#[from] DecryptError),
}

/// A verified, decrypted, parsed delivery.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Webhook {
    /// `webhook-id`: the same on every retry of the message; deduplicate on it.
    pub id: String,
    /// When the event happened (the envelope's `timestamp`), RFC 3339 UTC.
    pub timestamp: String,
    /// The event.
    pub event: Event,
    /// The event's type as sent (`intake.submitted`, …), also for types this version
    /// does not know.
    pub kind: String,
    /// The decrypted payload as JSON, exactly as sent (what [`Webhook::event`] was
    /// parsed from): for storing or forwarding it unchanged.
    pub data: serde_json::Value,
}

/// An endpoint's secrets and decryption keys: verifies, decrypts and parses in one call.
#[derive(Debug, Clone)]
pub struct Receiver {
    secrets: Vec<Secret>,
    keys: Vec<DecryptionKey>,
    tolerance: Duration,
}

impl Receiver {
    /// A receiver that accepts a signature by any of `secrets` (both during a rotation)
    /// and decrypts with any of `keys` (none for an endpoint without encryption), with
    /// the default timestamp tolerance of 5 minutes.
    pub fn new(secrets: Vec<Secret>, keys: Vec<DecryptionKey>) -> Receiver {
        Receiver {
            secrets,
            keys,
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// The same, with another timestamp tolerance.
    pub fn with_tolerance(self, tolerance: Duration) -> Receiver {
        Receiver { tolerance, ..self }
    }

    /// Verifies `body` against `headers` at `now` (Unix seconds), then decrypts and
    /// parses it. `body` must be the exact bytes received, before any JSON parsing.
    pub fn receive(&self, headers: &Headers<'_>, body: &[u8], now: i64) -> Result<Webhook, Error> {
        verify(headers, body, &self.secrets, now, self.tolerance)?;
        let envelope = Envelope::from_slice(body)?;
        let data = decrypt(&envelope.data, &self.keys)?;
        Ok(Webhook {
            id: headers.id.to_owned(),
            timestamp: envelope.timestamp,
            event: parse(&envelope.kind, data.clone())?,
            kind: envelope.kind,
            data,
        })
    }
}

#[cfg(test)]
mod tests;
