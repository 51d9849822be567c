//! Every Redis key gaprelay uses, in one place, with what it holds and how long.
//!
//! Keys that are read or written together carry the same hash tag (`{…}`) so that
//! multi-key transactions and scripts work on Redis Cluster too: a practitioner's
//! configuration shares its id's tag; the delivery queue shares the `{q}` tag.

use crate::domain::ids::{MessageId, PractitionerId};

/// Prefix of every key, so gaprelay can share a Redis with other applications.
pub const PREFIX: &str = "gr";

/// Practitioner record (JSON string). No expiry: configuration, not patient data.
pub fn practitioner(id: &PractitionerId) -> String {
    format!("{PREFIX}:{{{id}}}:practitioner")
}

/// Range overrides (hash: `marker|sex` → JSON). No expiry.
pub fn ranges(id: &PractitionerId) -> String {
    format!("{PREFIX}:{{{id}}}:ranges")
}

/// Custom markers (hash: marker id → JSON). No expiry.
pub fn custom_markers(id: &PractitionerId) -> String {
    format!("{PREFIX}:{{{id}}}:markers")
}

/// Every version of the consent wording (hash: version number → JSON with the text and
/// when it became current). No expiry: kept as long as the practitioner, as proof of
/// what patients agreed to; never patient data.
pub fn consent_versions(id: &PractitionerId) -> String {
    format!("{PREFIX}:{{{id}}}:consent")
}

/// Endpoints (hash: endpoint id → JSON with sealed secrets). No expiry.
pub fn endpoints(id: &PractitionerId) -> String {
    format!("{PREFIX}:{{{id}}}:endpoints")
}

/// A practitioner's key records (hash: key id → JSON, the hash inside). No expiry.
pub fn api_keys(id: &PractitionerId) -> String {
    format!("{PREFIX}:{{{id}}}:keys")
}

/// When each key was last used (hash: key id → Unix ms). No expiry.
pub fn api_keys_used(id: &PractitionerId) -> String {
    format!("{PREFIX}:{{{id}}}:keys_used")
}

/// A practitioner's audit log (stream; entries older than the retention are trimmed
/// on every append). Never patient data.
pub fn audit(id: &PractitionerId) -> String {
    format!("{PREFIX}:{{{id}}}:audit")
}

/// The operator's audit log (stream): practitioners created, suspended, erased. The
/// erasure entry is the only trace a practitioner leaves.
pub const OPERATOR_AUDIT: &str = "gr:audit:operator";

/// Every practitioner (sorted set: id → creation time, Unix ms).
pub const PRACTITIONERS: &str = "gr:practitioners";

/// Scheduled erasures (sorted set: practitioner id → when, Unix ms).
pub const ERASURES: &str = "gr:erasures";

/// Slug → practitioner id (string). No expiry. `SET NX` enforces uniqueness.
pub fn slug(slug: &str) -> String {
    format!("{PREFIX}:slug:{slug}")
}

/// API key hash → key record (JSON string). No expiry.
pub fn api_key(hash_hex: &str) -> String {
    format!("{PREFIX}:apikey:{hash_hex}")
}

/// The delivery schedule (sorted set: message id → due time in Unix ms). Holds only
/// ids; entries whose message has expired are removed when they come due.
pub const QUEUE_DUE: &str = "gr:{q}:due";

/// The pub/sub channel on which an API-only process announces that something was
/// queued, so that idle `gaprelay worker` processes claim at once (no key: a channel).
pub const QUEUED_CHANNEL: &str = "gr:queued";

/// The former expiry index (sorted set: message id → expiry in Unix ms). No longer
/// written or read (every due time is at most its message's expiry, so the schedule
/// finds expired messages); a relay started on a Redis that still has one gives it a
/// day to live, after which everything it names has expired anyway.
pub const QUEUE_EXPIRY: &str = "gr:{q}:expiry";

/// Notices of messages that expired undelivered (list of `msg|prac|endpoint|submission`,
/// ids only), drained by workers to tell the practice's other endpoints.
pub const EXPIRED_NOTICES: &str = "gr:{q}:expired";

/// Prefix of queued message keys, for the claim script.
pub const QUEUE_MESSAGE_PREFIX: &str = "gr:{q}:msg:";

/// One queued message (hash: `sealed`, `endpoint`, `practitioner`, `attempt`,
/// `expires`, and `leased_until` while a worker holds it). The only key holding patient data, and only as ciphertext; it always
/// carries an expiry (`PEXPIREAT`, at most 24 h after submission), set in the same
/// transaction that creates it, and is deleted the moment it is delivered.
pub fn message(id: &MessageId) -> String {
    format!("{QUEUE_MESSAGE_PREFIX}{id}")
}

/// A delivery's log record (hash; `PEXPIREAT` 24 h after it was queued). Metadata
/// only. It shares the queue's `{q}` tag so that it is written in the same transaction
/// as its message and marked expired by the same script that purges it.
pub fn delivery(id: &MessageId) -> String {
    format!("gr:{{q}}:delivery:{id}")
}

/// Prefix of delivery record keys, for the claim script.
pub const DELIVERY_PREFIX: &str = "gr:{q}:delivery:";

/// A practitioner's delivery log index (sorted set: message id → queued at, Unix ms);
/// entries older than 24 h are trimmed on every enqueue, entries whose record is gone
/// when listed.
pub fn deliveries(id: &PractitionerId) -> String {
    format!("gr:{{q}}:deliveries:{id}")
}

/// When the practice was last alerted about this subject, an endpoint that keeps
/// failing or submissions held for want of one (string: Unix ms
/// on the relay's clock), for at most one alert per endpoint per hour across every
/// instance. Set only through a script that compares it with the caller's clock (so a
/// test clock moved past the hour counts) and expires on its own (`PX`, the one-hour
/// window) once it can no longer hold an alert back. An id and a time only.
pub fn alerted(subject: &super::AlertSubject) -> String {
    format!("{PREFIX}:alerted:{subject}")
}

/// Field name of a range override in [`ranges`].
pub fn range_field(marker: &str, sex: Option<crate::domain::catalog::Sex>) -> String {
    format!("{marker}|{}", sex.map(|s| s.as_str()).unwrap_or("all"))
}
