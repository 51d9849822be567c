//! The queued message, owned in one place: the typed event kinds, the event as queued,
//! and the sealing and opening of queue entries and of endpoint secrets. The associated
//! data that binds a sealed value to its message or endpoint is built only here.
//!
//! Format `gaprelay.queue.v1` (the version is part of the associated data): the sealed
//! plaintext is the event's JSON exactly as delivered to an endpoint without encryption,
//! `{"type", "timestamp", "data"}`, either as it is (entries queued before compression,
//! whose first byte is `{`) or, since, as the byte `0x01` followed by its raw DEFLATE
//! (RFC 1951) at the fastest level: an intake's event shrinks to about two fifths, and
//! with it the memory each queued message takes in Redis. Any other first byte below
//! 0x20 is reserved for encodings to come: such an entry is left queued, not taken for
//! damage. The event is rendered once, at intake. For a
//! `jwe-receiver` endpoint `data` is already a JWE to the receiver's public keys, marked
//! by `"receiver_sealed": true` (absent otherwise, so older entries read as before).

use crate::crypto::jwe::ContentKey;
use crate::crypto::jwe_receiver::{self, ReceiverKey};
use crate::crypto::seal::{self, MasterKey};
use crate::crypto::webhook::WebhookSecret;
use crate::domain::endpoint::Format;
use crate::domain::ids::{EndpointId, MessageId, PractitionerId, SubmissionId};
use crate::store::{EndpointRecord, NewMessage};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// The version tag of the queue-entry format, bound into every entry's associated data.
pub const QUEUE_FORMAT: &str = "gaprelay.queue.v1";
/// The version tag of sealed endpoint secrets and content keys.
const ENDPOINT_FORMAT: &str = "gaprelay.endpoint.v1";

/// What an event is about; serialised as its `type` string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// A patient submission.
    #[serde(rename = "intake.submitted")]
    IntakeSubmitted,
    /// An endpoint test: a fixed sample, no patient data.
    #[serde(rename = "endpoint.test")]
    EndpointTest,
    /// A submission never reached one of the practice's endpoints (ids only).
    #[serde(rename = "endpoint.delivery_expired")]
    DeliveryExpired,
    /// One of the practice's endpoints keeps failing (ids and counts only).
    #[serde(rename = "endpoint.failing")]
    EndpointFailing,
}

impl EventKind {
    /// The `type` string, as delivered and as the delivery log records it.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::IntakeSubmitted => "intake.submitted",
            EventKind::EndpointTest => "endpoint.test",
            EventKind::DeliveryExpired => "endpoint.delivery_expired",
            EventKind::EndpointFailing => "endpoint.failing",
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The event as queued (sealed) and as delivered (with `data` possibly encrypted).
///
/// `data` and the renderings are kept as the JSON text they were rendered to, never
/// parsed back into a tree: a delivery opens the entry, copies that text into the
/// request (or encrypts it as it is) and never looks inside (docs/decisions.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    /// Event type.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// When the event happened (RFC 3339, UTC); stable across retries.
    pub timestamp: String,
    /// The payload, as the message's endpoint's format renders it: its JSON text.
    pub data: Box<RawValue>,
    /// Only in a submission held for an endpoint not there yet: `data` as each other
    /// payload format renders it, by format name, so that it can be handed over to an
    /// endpoint of any format. Never delivered: [`Event::for_format`] takes it out.
    #[serde(
        default,
        rename = "held_renderings",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub renderings: BTreeMap<String, Box<RawValue>>,
    /// Set once `data` is a JWE to a `jwe-receiver` endpoint's public keys (see
    /// [`Event::to_receiver`]): it is then sent as it is. Never delivered.
    #[serde(
        default,
        rename = "receiver_sealed",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub receiver_sealed: bool,
    /// The submission an `intake.submitted` event carries, for the relay's own use: the
    /// expiry notice names it even when `data` is a JWE or a FHIR Bundle. Set where the
    /// event is rendered ([`Event::of_submission`]); never delivered.
    #[serde(
        default,
        rename = "submission_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub submission: Option<SubmissionId>,
}

/// Two events are equal when they are the same text: `data` and the renderings are
/// compared as rendered (an event opened from its entry equals the one sealed).
impl PartialEq for Event {
    fn eq(&self, other: &Event) -> bool {
        self.kind == other.kind
            && self.timestamp == other.timestamp
            && self.data.get() == other.data.get()
            && self.renderings.len() == other.renderings.len()
            && self
                .renderings
                .iter()
                .zip(&other.renderings)
                .all(|((f, a), (g, b))| f == g && a.get() == b.get())
            && self.receiver_sealed == other.receiver_sealed
            && self.submission == other.submission
    }
}

/// `value` as JSON text. Writing a `serde_json::Value` out cannot fail (its keys are
/// strings and the text goes to memory), so there is no error to pass on.
fn raw_json(value: &serde_json::Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

impl Event {
    /// An event whose `data` is rendered for one format.
    pub fn new(kind: EventKind, timestamp: String, data: &serde_json::Value) -> Event {
        Event::of_text(kind, timestamp, raw_json(data))
    }

    /// An event whose `data` is `data` written as JSON, with no tree in between.
    pub fn rendered(
        kind: EventKind,
        timestamp: String,
        data: &impl Serialize,
    ) -> Result<Event, serde_json::Error> {
        let data = serde_json::value::to_raw_value(data)?;
        Ok(Event::of_text(kind, timestamp, data))
    }

    fn of_text(kind: EventKind, timestamp: String, data: Box<RawValue>) -> Event {
        Event {
            kind,
            timestamp,
            data,
            renderings: BTreeMap::new(),
            receiver_sealed: false,
            submission: None,
        }
    }

    /// Names the submission it carries (for the relay's own use, see
    /// [`Event::submission`]).
    pub fn of_submission(mut self, id: &SubmissionId) -> Event {
        self.submission = Some(id.clone());
        self
    }

    /// Also carries `data` as `format` renders it (for a held submission).
    pub fn with_rendering(mut self, format: Format, data: Box<RawValue>) -> Event {
        self.renderings.insert(format.as_str().to_owned(), data);
        self
    }

    /// The event as an endpoint of `format` receives it: its rendering for that format
    /// when it carries one (else `data` as it is, the `gaprelay.v1` rendering), and no
    /// other rendering.
    pub fn for_format(mut self, format: Format) -> Event {
        if let Some(data) = self.renderings.remove(format.as_str()) {
            self.data = data;
        }
        self.renderings.clear();
        self
    }

    /// The submission an `intake.submitted` event carries: its own field, or, in an
    /// entry queued before that field existed, `data`'s `submission_id` (read only
    /// then; `data` may by now be a JWE or a Bundle, which has none).
    pub fn submission_id(&self) -> Option<SubmissionId> {
        #[derive(Deserialize)]
        struct Legacy {
            submission_id: Option<String>,
        }
        if self.submission.is_some() || self.kind != EventKind::IntakeSubmitted {
            return self.submission.clone();
        }
        serde_json::from_str::<Legacy>(self.data.get())
            .ok()
            .and_then(|l| l.submission_id)
            .and_then(|s| SubmissionId::parse(&s).ok())
    }
}

impl Event {
    /// The event with `data` encrypted to a `jwe-receiver` endpoint's public keys
    /// ([`jwe_receiver::encrypt`]), and no other rendering; an event already encrypted
    /// so is returned as it is.
    pub fn to_receiver(
        mut self,
        keys: &[ReceiverKey],
        rng: &mut (impl rand::RngCore + rand::CryptoRng),
    ) -> Result<Event, serde_json::Error> {
        if self.receiver_sealed {
            return Ok(self);
        }
        self.renderings.clear();
        let plaintext = self.data.get().as_bytes();
        self.data = serde_json::value::to_raw_value(&jwe_receiver::encrypt(keys, plaintext, rng))?;
        self.receiver_sealed = true;
        Ok(self)
    }
}

/// A `jwe-receiver` endpoint's public keys, parsed again from its record (data read
/// back from the store is untrusted); an error when it lists none or a bad one.
pub fn receiver_keys(record: &EndpointRecord) -> anyhow::Result<Vec<ReceiverKey>> {
    anyhow::ensure!(
        !record.receiver_keys.is_empty(),
        "a jwe-receiver endpoint lists no receiver keys"
    );
    record
        .receiver_keys
        .iter()
        .map(|jwk| {
            ReceiverKey::from_jwk(jwk)
                .map_err(|_| anyhow::anyhow!("a stored receiver key is malformed"))
        })
        .collect()
}

/// Where and when the messages of one event are queued, apart from their endpoints.
#[derive(Debug, Clone)]
pub struct Routing {
    /// Owning practitioner.
    pub practitioner_id: PractitionerId,
    /// When the messages are first due, Unix ms.
    pub due_at_ms: i64,
    /// When they must be gone, Unix ms.
    pub expires_at_ms: i64,
    /// The submission carried, if any, for the delivery log.
    pub submission_id: Option<SubmissionId>,
}

/// Why a queue entry did not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A condition of this process that may pass (a master key or format it does not
    /// know yet, or a first-format entry whose key cannot be told from damage): the
    /// entry should stay queued.
    #[error("cannot open a queued message: {0}")]
    NotHere(#[source] seal::OpenError),
    /// The entry opened but names an encoding of its event this relay does not know
    /// (its first byte, a marker below 0x20 other than DEFLATE's): written by a newer
    /// relay, it stays queued for one that knows it, as `NotHere` does.
    #[error("a queued message is in an encoding this relay does not know ({0:#04x})")]
    UnknownEncoding(u8),
    /// The entry itself is bad (truncated, tampered, not an event): it never will
    /// open, whoever tries. The reason is a fixed word, never the payload.
    #[error("a queued message is damaged: {0}")]
    Damaged(&'static str),
}

/// Associated data binding a queue entry to its message and endpoint (the only place
/// it is built), so a ciphertext moved to another message or endpoint fails to open.
pub fn queue_aad(message: &MessageId, endpoint: &EndpointId) -> Vec<u8> {
    format!("{QUEUE_FORMAT}|{message}|{endpoint}").into_bytes()
}

/// The first plaintext byte of a compressed queue entry (an uncompressed one starts `{`).
const DEFLATED: u8 = 0x01;

/// The most an entry's event may inflate to: far above any event (an intake's is a few
/// KiB), a bound on the work a damaged entry could cause.
const MAX_EVENT_BYTES: usize = 4 << 20;

/// The DEFLATE window, 4 KiB: an event fits in it whole, and the compressor's tables,
/// reset for every entry, stay small.
const WINDOW_BITS: u8 = 12;

thread_local! {
    /// Each thread's compressor and decompressor, reset for every entry rather than
    /// built afresh (a DEFLATE state is a few hundred KiB to allocate and clear).
    static DEFLATE: std::cell::RefCell<(flate2::Compress, flate2::Decompress)> =
        std::cell::RefCell::new((
            flate2::Compress::new_with_window_bits(flate2::Compression::fast(), false, WINDOW_BITS),
            flate2::Decompress::new_with_window_bits(false, WINDOW_BITS),
        ));
}

/// `0x01` and the raw DEFLATE of `json`.
fn deflate(json: &[u8]) -> Vec<u8> {
    DEFLATE.with_borrow_mut(|(compress, _)| {
        compress.reset();
        let mut out = Vec::with_capacity(json.len() / 2 + 64);
        out.push(DEFLATED);
        loop {
            let consumed = usize::try_from(compress.total_in()).unwrap_or(usize::MAX);
            let rest = json.get(consumed..).unwrap_or_default();
            match compress.compress_vec(rest, &mut out, flate2::FlushCompress::Finish) {
                Ok(flate2::Status::StreamEnd) => return out,
                // Out of room: make some and go on.
                Ok(_) => out.reserve(out.capacity().max(256)),
                // Compressing bytes in memory cannot fail; were it ever to, the entry is
                // sealed as plain JSON, which opens just as well.
                Err(_) => return json.to_vec(),
            }
        }
    })
}

/// The event's JSON from an entry's plaintext, inflating a compressed one. The first
/// byte says how the event is encoded: `{`, the JSON itself (the first format); below
/// 0x20, a marker (no JSON text starts with one: only whitespace could, and none is
/// written), of which only [`DEFLATED`] is known so far. An entry with another marker
/// was written by a newer relay: it is left for one that can read it, never taken for
/// damage, so that a later release can add an encoding once every relay runs this one.
fn event_json(plaintext: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, OpenError> {
    let deflated = match plaintext.split_first() {
        Some((&DEFLATED, deflated)) => deflated,
        Some((&marker, _)) if marker < 0x20 && !matches!(marker, b'\t' | b'\n' | b'\r') => {
            return Err(OpenError::UnknownEncoding(marker))
        }
        _ => return Ok(std::borrow::Cow::Borrowed(plaintext)),
    };
    let damaged = OpenError::Damaged("not_an_event");
    DEFLATE.with_borrow_mut(|(_, decompress)| {
        decompress.reset(false);
        let mut json = Vec::with_capacity(deflated.len() * 3);
        loop {
            let consumed = usize::try_from(decompress.total_in()).unwrap_or(usize::MAX);
            let rest = deflated.get(consumed..).unwrap_or_default();
            let before = json.len();
            match decompress.decompress_vec(rest, &mut json, flate2::FlushDecompress::Finish) {
                Ok(flate2::Status::StreamEnd) => return Ok(std::borrow::Cow::Owned(json)),
                Ok(_)
                    if json.len() < MAX_EVENT_BYTES
                        && (json.len() > before || json.len() == json.capacity()) =>
                {
                    json.reserve(json.capacity().max(1024));
                }
                _ => return Err(damaged),
            }
        }
    })
}

/// Seals `event` as the queue entry of message `id` for `endpoint`, compressed.
pub fn seal_message(
    master: &MasterKey,
    id: &MessageId,
    endpoint: &EndpointId,
    event: &Event,
    rng: &mut (impl rand::RngCore + rand::CryptoRng),
) -> Result<Vec<u8>, serde_json::Error> {
    let plaintext = deflate(&serde_json::to_vec(event)?);
    Ok(seal::seal(
        master,
        &queue_aad(id, endpoint),
        &plaintext,
        rng,
    ))
}

/// Opens the queue entry of message `id` for `endpoint`.
pub fn open_message(
    master: &MasterKey,
    id: &MessageId,
    endpoint: &EndpointId,
    sealed: &[u8],
) -> Result<Event, OpenError> {
    let plaintext = match seal::open(master, &queue_aad(id, endpoint), sealed) {
        Ok(p) => p,
        // A key or a format another relay of a newer configuration knows: not this
        // entry's fault, and another worker (or this one, reconfigured) can open it.
        Err(e @ (seal::OpenError::UnknownKey(_) | seal::OpenError::UnknownVersion(_))) => {
            return Err(OpenError::NotHere(e))
        }
        Err(seal::OpenError::Truncated) => return Err(OpenError::Damaged("truncated")),
        // Sealed under a key this relay holds, named in the entry, and yet it does not
        // authenticate: the bytes (or the ids bound to them) were altered.
        Err(seal::OpenError::Decrypt) if seal::sealed_key_id(sealed).is_some() => {
            return Err(OpenError::Damaged("decrypt_failed"))
        }
        // The first format does not name its key: a master key dropped too early looks
        // the same as damage, so the entry waits rather than being dropped.
        Err(e @ seal::OpenError::Decrypt) => return Err(OpenError::NotHere(e)),
    };
    // The parser's message could quote the decrypted payload: keep only the fact.
    serde_json::from_slice::<Event>(&event_json(&plaintext)?)
        .map_err(|_| OpenError::Damaged("not_an_event"))
}

/// Seals one event for each of `endpoints` (one message id each), as messages to enqueue.
/// Their ids are minted beside `beside` when given (another message of the same event,
/// enqueued with these), else beside the first of them: messages enqueued together must
/// share a queue partition (see [`MessageId::generate_beside`]).
pub fn queue_for(
    master: &MasterKey,
    event: &Event,
    endpoints: impl IntoIterator<Item = EndpointId>,
    routing: &Routing,
    beside: Option<&MessageId>,
    rng: &mut (impl rand::RngCore + rand::CryptoRng),
) -> Result<Vec<NewMessage>, serde_json::Error> {
    let mut first: Option<MessageId> = beside.cloned();
    endpoints
        .into_iter()
        .map(|endpoint_id| {
            let id = match &first {
                Some(f) => MessageId::generate_beside(f, rng),
                None => MessageId::generate(rng),
            };
            first.get_or_insert_with(|| id.clone());
            Ok(NewMessage {
                sealed: seal_message(master, &id, &endpoint_id, event, rng)?,
                id,
                endpoint_id,
                practitioner_id: routing.practitioner_id.clone(),
                due_at_ms: routing.due_at_ms,
                expires_at_ms: routing.expires_at_ms,
                event: event.kind.as_str().to_owned(),
                submission_id: routing.submission_id.clone(),
            })
        })
        .collect()
}

/// Which of an endpoint's sealed values: each is bound to its own associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointValue {
    /// A signing secret (the current one or the previous one during a rotation).
    Secret,
    /// The JWE content key.
    Key,
}

impl EndpointValue {
    /// The word bound into the associated data (and used in operators' messages).
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointValue::Secret => "secret",
            EndpointValue::Key => "key",
        }
    }
}

fn endpoint_aad(endpoint: &EndpointId, which: EndpointValue) -> Vec<u8> {
    format!("{ENDPOINT_FORMAT}|{endpoint}|{}", which.as_str()).into_bytes()
}

/// Seals an endpoint's signing secret for storage.
pub fn seal_endpoint_secret(
    master: &MasterKey,
    endpoint: &EndpointId,
    secret: &WebhookSecret,
    rng: &mut (impl rand::RngCore + rand::CryptoRng),
) -> Vec<u8> {
    seal::seal(
        master,
        &endpoint_aad(endpoint, EndpointValue::Secret),
        secret.to_whsec().as_bytes(),
        rng,
    )
}

/// Seals an endpoint's content key (as its JWK) for storage.
pub fn seal_content_key(
    master: &MasterKey,
    endpoint: &EndpointId,
    key: &ContentKey,
    rng: &mut (impl rand::RngCore + rand::CryptoRng),
) -> Result<Vec<u8>, serde_json::Error> {
    let jwk = serde_json::to_vec(&key.to_jwk())?;
    Ok(seal::seal(
        master,
        &endpoint_aad(endpoint, EndpointValue::Key),
        &jwk,
        rng,
    ))
}

/// Opens an endpoint's sealed signing secret (current or previous).
pub fn open_endpoint_secret(
    master: &MasterKey,
    endpoint: &EndpointId,
    sealed: &[u8],
) -> anyhow::Result<WebhookSecret> {
    let raw = seal::open(
        master,
        &endpoint_aad(endpoint, EndpointValue::Secret),
        sealed,
    )
    .context("cannot open the endpoint's secret (wrong master key?)")?;
    WebhookSecret::from_whsec(std::str::from_utf8(&raw).context("secret is not text")?)
        .context("stored secret is malformed")
}

/// Opens an endpoint's sealed content key.
pub fn open_content_key(
    master: &MasterKey,
    endpoint: &EndpointId,
    sealed: &[u8],
) -> anyhow::Result<ContentKey> {
    let raw = seal::open(master, &endpoint_aad(endpoint, EndpointValue::Key), sealed)
        .context("cannot open the endpoint's content key (wrong master key?)")?;
    let jwk: serde_json::Value = serde_json::from_slice(&raw).context("stored key is not JSON")?;
    ContentKey::from_jwk(&jwk).context("stored key is malformed")
}

/// Re-seals one of an endpoint's sealed values under the current master key, keeping
/// what it is bound to.
pub fn reseal_endpoint_value(
    master: &MasterKey,
    endpoint: &EndpointId,
    which: EndpointValue,
    sealed: &[u8],
    rng: &mut (impl rand::RngCore + rand::CryptoRng),
) -> Result<Vec<u8>, seal::OpenError> {
    let aad = endpoint_aad(endpoint, which);
    let plain = seal::open(master, &aad, sealed)?;
    Ok(seal::seal(master, &aad, &plain, rng))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use serde_json::json;

    /// `data` read back as a tree, to compare.
    fn data(event: &Event) -> serde_json::Value {
        serde_json::from_str(event.data.get()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn ids(seed: u64) -> (MasterKey, MessageId, EndpointId) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (
            MasterKey::generate(&mut rng),
            MessageId::generate(&mut rng),
            EndpointId::generate(&mut rng),
        )
    }

    #[test]
    fn a_message_sealed_before_compression_still_opens_and_a_new_one_is_compressed() {
        let (master, id, endpoint) = ids(11);
        // What the code before compression sealed: the event's JSON as it is, under
        // `gaprelay.queue.v1|<message>|<endpoint>`.
        let old_plaintext = br#"{"type":"endpoint.test","timestamp":"2026-01-01T00:00:00Z","data":{"message":"hi"}}"#;
        let old_aad = format!("gaprelay.queue.v1|{id}|{endpoint}");
        let old = seal::seal(
            &master,
            old_aad.as_bytes(),
            old_plaintext,
            &mut rand::rngs::StdRng::seed_from_u64(5),
        );
        let event = open_message(&master, &id, &endpoint, &old).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(event.kind, EventKind::EndpointTest);
        assert_eq!(data(&event), json!({"message": "hi"}));

        // Now: the same associated data, the marker, then DEFLATE; it opens to the same
        // event, and an event the size of an intake's takes well under half the bytes.
        let big = Event::new(
            EventKind::IntakeSubmitted,
            "2026-01-01T00:00:00Z".into(),
            &json!({"labs": (0..12).map(|i| json!({"marker": format!("m{i}"), "optimal": {"low": 1.0, "high": 2.0}, "standard": {"low": 0.5, "high": 4.0}, "zone": "above_optimal", "unit": "mIU/L"})).collect::<Vec<_>>()}),
        );
        let sealed = seal_message(
            &master,
            &id,
            &endpoint,
            &big,
            &mut rand::rngs::StdRng::seed_from_u64(5),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let plaintext =
            seal::open(&master, old_aad.as_bytes(), &sealed).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plaintext.first(), Some(&DEFLATED));
        let json = serde_json::to_vec(&big).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            sealed.len() * 5 < json.len() * 2,
            "{} sealed bytes for {} bytes of JSON",
            sealed.len(),
            json.len()
        );
        assert_eq!(
            open_message(&master, &id, &endpoint, &sealed).unwrap_or_else(|e| panic!("{e}")),
            big
        );

        // A compressed entry cut short is damage too.
        let cut = seal::seal(
            &master,
            old_aad.as_bytes(),
            &plaintext[..plaintext.len() / 2],
            &mut rand::rngs::StdRng::seed_from_u64(7),
        );
        assert!(matches!(
            open_message(&master, &id, &endpoint, &cut),
            Err(OpenError::Damaged("not_an_event"))
        ));

        // A marker followed by what is not DEFLATE is damage, named without content.
        let bad = seal::seal(
            &master,
            old_aad.as_bytes(),
            &[DEFLATED, 0xff, 0xfe, 0x00],
            &mut rand::rngs::StdRng::seed_from_u64(6),
        );
        assert!(matches!(
            open_message(&master, &id, &endpoint, &bad),
            Err(OpenError::Damaged("not_an_event"))
        ));
    }

    #[test]
    fn an_event_for_a_receiver_is_encrypted_once_keeps_no_rendering_and_says_so() {
        use crate::crypto::jwe_receiver::ReceiverKey;
        let mut rng = rand::rngs::StdRng::seed_from_u64(21);
        let key = gaprelay_receiver::DecryptionKey::generate_x25519("r1", &mut rng);
        let public = ReceiverKey::from_jwk(&key.public_jwk().unwrap_or_default())
            .unwrap_or_else(|_| panic!("a valid public key"));
        let held = Event::new(
            EventKind::IntakeSubmitted,
            "2026-01-01T00:00:00Z".into(),
            &json!({"patient": "Ada"}),
        )
        .with_rendering(
            Format::FhirR4,
            raw_json(&json!({"resourceType": "Bundle", "name": "Ada"})),
        );
        let sealed = held
            .to_receiver(std::slice::from_ref(&public), &mut rng)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(sealed.receiver_sealed && sealed.renderings.is_empty());
        let text = serde_json::to_string(&sealed).unwrap_or_else(|e| panic!("{e}"));
        assert!(!text.contains("Ada") && text.contains(r#""receiver_sealed":true"#));
        // Again: unchanged, not encrypted twice.
        let again = sealed
            .clone()
            .to_receiver(std::slice::from_ref(&public), &mut rng)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again, sealed);
        let plain =
            gaprelay_receiver::decrypt(&data(&sealed), &[key]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plain, json!({"patient": "Ada"}));
        // An event of the first format reads with the mark unset.
        let old: Event = serde_json::from_str(
            r#"{"type":"endpoint.test","timestamp":"2026-01-01T00:00:00Z","data":{}}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(!old.receiver_sealed);
    }

    #[test]
    fn a_held_event_is_handed_over_in_its_endpoints_rendering_and_nothing_more() {
        let held = Event::new(
            EventKind::IntakeSubmitted,
            "2026-01-01T00:00:00Z".into(),
            &json!({"json": true}),
        )
        .with_rendering(Format::FhirR4, raw_json(&json!({"resourceType": "Bundle"})));
        let sealed_form = serde_json::to_value(&held).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            sealed_form["held_renderings"]["fhir-r4"]["resourceType"],
            "Bundle"
        );
        let fhir = held.clone().for_format(Format::FhirR4);
        assert_eq!(data(&fhir), json!({"resourceType": "Bundle"}));
        let json_event = held.for_format(Format::GaprelayV1);
        assert_eq!(data(&json_event), json!({"json": true}));
        for delivered in [fhir, json_event] {
            let text = serde_json::to_string(&delivered).unwrap_or_else(|e| panic!("{e}"));
            assert!(!text.contains("held_renderings"), "{text}");
        }
    }

    #[test]
    fn the_submission_is_read_from_its_field_or_from_the_data_of_an_older_entry() {
        let sub = SubmissionId::generate(&mut rand::rngs::StdRng::seed_from_u64(9));
        let intake = |data: serde_json::Value| {
            Event::new(
                EventKind::IntakeSubmitted,
                "2026-01-01T00:00:00Z".into(),
                &data,
            )
        };
        // Now: the event's own field, whatever `data` has become.
        let event = intake(json!({"resourceType": "Bundle"})).of_submission(&sub);
        assert_eq!(event.submission_id(), Some(sub.clone()));
        // An entry queued before the field: `data`'s member.
        let older = intake(json!({"submission_id": sub.as_str(), "patient": {}}));
        assert_eq!(older.submission.as_ref(), None);
        assert_eq!(older.submission_id(), Some(sub.clone()));
        // None to be had: encrypted data, a malformed id, another kind of event.
        assert_eq!(intake(json!({"protected": "eyJ9"})).submission_id(), None);
        assert_eq!(
            intake(json!({"submission_id": "nope"})).submission_id(),
            None
        );
        let test = Event::new(
            EventKind::EndpointTest,
            "2026-01-01T00:00:00Z".into(),
            &json!({"submission_id": sub.as_str()}),
        );
        assert_eq!(test.submission_id(), None);
    }

    #[test]
    fn data_is_carried_as_the_text_it_was_rendered_to() {
        let (master, id, endpoint) = ids(16);
        // Text no serializer here writes (spacing, member order, an escaped character,
        // a float's spelling): an entry opens and is sealed again with it unchanged.
        let text = r#"{"type":"intake.submitted","timestamp":"2026-01-01T00:00:00Z","data":{"z": 1.50, "a":"\u00e9"}}"#;
        let aad = format!("gaprelay.queue.v1|{id}|{endpoint}");
        let old = seal::seal(
            &master,
            aad.as_bytes(),
            text.as_bytes(),
            &mut rand::rngs::StdRng::seed_from_u64(3),
        );
        let event = open_message(&master, &id, &endpoint, &old).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(event.data.get(), r#"{"z": 1.50, "a":"\u00e9"}"#);
        let again = seal_message(
            &master,
            &id,
            &endpoint,
            &event,
            &mut rand::rngs::StdRng::seed_from_u64(4),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let reopened =
            open_message(&master, &id, &endpoint, &again).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reopened.data.get(), event.data.get());
        assert_eq!(reopened, event);
    }

    #[test]
    fn a_message_moved_to_another_endpoint_does_not_open() {
        let (master, id, endpoint) = ids(12);
        let (_, _, other) = ids(13);
        let event = Event::new(
            EventKind::IntakeSubmitted,
            "2026-01-01T00:00:00Z".into(),
            &json!({}),
        );
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let sealed = seal_message(&master, &id, &endpoint, &event, &mut rng)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            open_message(&master, &id, &other, &sealed),
            Err(OpenError::Damaged("decrypt_failed"))
        ));
        assert!(matches!(
            open_message(&master, &id, &endpoint, &sealed[..3]),
            Err(OpenError::Damaged("truncated"))
        ));
    }

    #[test]
    fn an_entry_that_is_not_an_event_is_damaged_and_never_quoted() {
        let (master, id, endpoint) = ids(14);
        let aad = format!("gaprelay.queue.v1|{id}|{endpoint}");
        let sealed = seal::seal(
            &master,
            aad.as_bytes(),
            br#"{"type":"patient.secret"}"#,
            &mut rand::rngs::StdRng::seed_from_u64(2),
        );
        let err = open_message(&master, &id, &endpoint, &sealed).err();
        assert!(matches!(err, Some(OpenError::Damaged("not_an_event"))));
        assert!(!format!("{err:?}").contains("patient"));
    }

    #[test]
    fn an_entry_in_an_encoding_not_known_here_waits_rather_than_being_damaged() {
        let (master, id, endpoint) = ids(17);
        let aad = format!("gaprelay.queue.v1|{id}|{endpoint}");
        let entry = |plaintext: &[u8]| {
            seal::seal(
                &master,
                aad.as_bytes(),
                plaintext,
                &mut rand::rngs::StdRng::seed_from_u64(2),
            )
        };
        for marker in [0x00, 0x02, 0x1f] {
            assert!(matches!(
                open_message(&master, &id, &endpoint, &entry(&[marker, 0x40, 0x41])),
                Err(OpenError::UnknownEncoding(m)) if m == marker
            ));
        }
        // Anything else is read as JSON, and is damage when it is not an event.
        for not_json in [&b"\x7fxyz"[..], b" {}", b""] {
            assert!(matches!(
                open_message(&master, &id, &endpoint, &entry(not_json)),
                Err(OpenError::Damaged("not_an_event"))
            ));
        }
    }

    #[test]
    fn endpoint_secrets_sealed_by_the_previous_code_open() {
        let (master, _, endpoint) = ids(15);
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let secret = WebhookSecret::generate(&mut rng);
        let key = ContentKey::generate(&mut rng);
        let old_secret = seal::seal(
            &master,
            format!("gaprelay.endpoint.v1|{endpoint}|secret").as_bytes(),
            secret.to_whsec().as_bytes(),
            &mut rng,
        );
        let old_key = seal::seal(
            &master,
            format!("gaprelay.endpoint.v1|{endpoint}|key").as_bytes(),
            &serde_json::to_vec(&key.to_jwk()).unwrap_or_default(),
            &mut rng,
        );
        let opened = open_endpoint_secret(&master, &endpoint, &old_secret)
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(opened.to_whsec(), secret.to_whsec());
        let opened =
            open_content_key(&master, &endpoint, &old_key).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(opened.to_jwk(), key.to_jwk());
        // A secret is not a key: each value opens only as what it was sealed as.
        assert!(open_content_key(&master, &endpoint, &old_secret).is_err());
    }

    #[test]
    fn event_kinds_serialise_to_their_type_strings() {
        for kind in [
            EventKind::IntakeSubmitted,
            EventKind::EndpointTest,
            EventKind::DeliveryExpired,
            EventKind::EndpointFailing,
        ] {
            assert_eq!(
                serde_json::to_value(kind).unwrap_or_default(),
                json!(kind.as_str())
            );
        }
    }
}
