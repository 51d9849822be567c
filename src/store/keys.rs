//! Every Redis key gaprelay uses, in one place, with what it holds and how long.
//!
//! Keys that are read or written together carry the same hash tag (`{…}`) so that
//! multi-key transactions and scripts work on Redis Cluster too: a practitioner's
//! configuration shares its id's tag; each partition of the delivery queue has a tag of
//! its own ([`Partition`]).

pub use super::partition::{Partition, Partitions, PARTITIONS};
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

/// The partitions' hash tags. Tag `i` hashes to a slot in the `i`-th sixteenth of the
/// 16,384 cluster slots (checked against a real cluster's `CLUSTER KEYSLOT` in the
/// tests), so any even split of the slots over masters gives each master an even share
/// of the partitions: 5, 5 and 6 on three masters.
const PARTITION_TAGS: [&str; PARTITIONS] = [
    "q0.2", "q1.1", "q2.12", "q3.11", "q4.42", "q5.41", "q6.62", "q7.61", "q8.12", "q9.11",
    "q10.1", "q11.2", "q12.61", "q13.62", "q14.23", "q15",
];

/// Where each partition's keys are.
impl Partition {
    /// Its hash tag, without the braces.
    pub fn tag(self) -> &'static str {
        PARTITION_TAGS[self.index()]
    }

    /// Its schedule (sorted set: message id → due time in Unix ms). Holds only ids;
    /// entries whose message has expired are removed when they come due. A claimed
    /// message's score is its lease's end less half a millisecond: due times are whole
    /// milliseconds, so the half says "claimed" (see `lua/claim.lua`).
    pub fn due(self) -> String {
        format!("{PREFIX}:{{{}}}:due", self.tag())
    }

    /// Prefix of its message keys, for the scripts.
    pub fn message_prefix(self) -> String {
        format!("{PREFIX}:{{{}}}:msg:", self.tag())
    }
}

/// One queued message and its delivery-log record (hash: `sealed`, `endpoint`,
/// `practitioner`, `expires`; and the record's `event`, `submission`, `status`,
/// `attempts` (settled, and any whose worker died mid-way), `next_attempt_ms`,
/// `last_http_status`, `last_error`, `created_ms`, `updated_ms`; a new message has only
/// what it needs, the others read as "none yet" or its creation), in its partition.
/// The only key holding patient data, and only as ciphertext in `sealed`, which is
/// deleted the moment the message is delivered, dropped or found expired. The hash
/// always carries an expiry (`PEXPIREAT` 24 h after it was queued, set in the same
/// script that creates it), so neither the payload nor the record outlives a day.
pub fn message(id: &MessageId) -> String {
    format!("{}{id}", Partition::of(id).message_prefix())
}

/// A practitioner's delivery log index (sorted set: message id → queued at, Unix ms),
/// in the practitioner's own slot. Written just before its messages are queued; ids
/// older than a day are trimmed on one enqueue in 16, ids whose record is gone when
/// listed.
pub fn deliveries(id: &PractitionerId) -> String {
    format!("{PREFIX}:{{{id}}}:deliveries")
}

/// The pub/sub channel on which an API-only process announces that something was
/// queued, so that idle `gaprelay worker` processes claim at once (no key: a channel).
pub const QUEUED_CHANNEL: &str = "gr:queued";

/// An announcement on [`QUEUED_CHANNEL`] of messages queued in `partitions`: `p:` and the
/// set's bits in hex.
pub fn announcement(partitions: Partitions) -> String {
    format!("p:{:x}", partitions.bits())
}

/// The partitions an announcement names; every partition when it names none in this
/// form (a relay before partitions were announced sends `1`).
pub fn announced(payload: &[u8]) -> Partitions {
    std::str::from_utf8(payload)
        .ok()
        .and_then(|text| text.strip_prefix("p:"))
        .and_then(|hex| u32::from_str_radix(hex, 16).ok())
        .map_or(Partitions::ALL, Partitions::from_bits)
}

/// Keys of the queue as relays before partitioning kept it, all under the `{q}` tag: a
/// relay started on a Redis that still has them moves what they hold into the
/// partitions (`store/redis/migrate.rs`), and gives the former expiry
/// index a day to live. Nothing writes them any more.
pub mod unpartitioned {
    use crate::domain::ids::{MessageId, PractitionerId};

    /// The schedule (sorted set: message id → due time).
    pub const DUE: &str = "gr:{q}:due";
    /// The former expiry index (sorted set), no longer read.
    pub const EXPIRY: &str = "gr:{q}:expiry";
    /// Notices of messages that expired undelivered (list of `msg|prac|endpoint|sub`).
    pub const EXPIRED_NOTICES: &str = "gr:{q}:expired";

    /// A queued message (hash: `sealed`, `endpoint`, `practitioner`, `attempt`,
    /// `expires`, `leased_until` while claimed).
    pub fn message(id: &MessageId) -> String {
        format!("gr:{{q}}:msg:{id}")
    }

    /// A delivery-log record (hash).
    pub fn delivery(id: &MessageId) -> String {
        format!("gr:{{q}}:delivery:{id}")
    }

    /// A practitioner's delivery-log index (sorted set).
    pub fn deliveries(id: &PractitionerId) -> String {
        format!("gr:{{q}}:deliveries:{id}")
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_announcement_names_its_partitions_and_an_older_one_means_all() {
        let set = Partition::all()
            .step_by(5)
            .fold(Partitions::NONE, Partitions::with);
        assert_eq!(announced(announcement(set).as_bytes()), set);
        assert_eq!(
            announced(announcement(Partitions::ALL).as_bytes()),
            Partitions::ALL
        );
        for older in ["1", "", "p:", "p:zz", "\u{ff}"] {
            assert_eq!(announced(older.as_bytes()), Partitions::ALL, "{older:?}");
        }
    }
}
