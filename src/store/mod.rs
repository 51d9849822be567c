//! Storage: the one interface every other layer uses for configuration and the
//! delivery queue, with two implementations: Redis (production, many instances) and an
//! embedded in-memory store (one process, nothing survives a restart).
//!
//! Only this module speaks Redis. Records read back from storage are untrusted again:
//! they are deserialized into typed records and ids are re-parsed.

pub mod form_cache;
pub mod keys;
pub mod memory;
pub mod redis;
mod redis_conn;

use crate::crypto::api_key::ApiKeyHash;
use crate::domain::access::Role;
use crate::domain::catalog::Sex;
use crate::domain::custom::CustomMarker;
use crate::domain::delivery::DeliveryStatus;
use crate::domain::endpoint::{Encryption, Format};
use crate::domain::ids::{ApiKeyId, EndpointId, MessageId, PractitionerId, SubmissionId};
use crate::domain::practitioner::{ConsentVersion, Practitioner};
use crate::domain::ranges::RangeOverride;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use time::OffsetDateTime;

/// What went wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated (e.g. the slug is taken).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The backend could not be reached or failed.
    #[error("storage unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// A stored record could not be read back.
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// A practitioner's API key as stored: only the hash, never the key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// Public id.
    pub id: ApiKeyId,
    /// Owning practitioner.
    pub practitioner_id: PractitionerId,
    /// Role.
    pub role: Role,
    /// SHA-256 of the key, hex.
    pub hash: String,
    /// Label.
    pub label: Option<String>,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The key's first characters (`grk_AbCd`), so its owner can tell keys apart.
    #[serde(default)]
    pub prefix: String,
}

/// What revoking a key did.
#[derive(Debug, Clone, PartialEq)]
pub enum Revocation {
    /// Revoked: it no longer authenticates.
    Revoked(ApiKeyRecord),
    /// No such key for this practitioner.
    NotFound,
    /// Refused: it is the practitioner's last owner key.
    LastOwner,
}

/// What a compare-and-set write of a practitioner's record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replaced {
    /// Written: the stored record was at the expected version.
    Written,
    /// Not written: the record changed since it was read (its version differs).
    Stale,
    /// Not written: there is no such record (never created, or erased meanwhile).
    Missing,
}

/// One audit-log entry: who did what to what, when, and how it ended. Never holds
/// patient data or secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The API key id, or `operator`.
    pub actor: String,
    /// What was done (`api_key.created`, `endpoint.rotated`, …).
    pub action: String,
    /// What it was done to (an id or a name).
    pub target: String,
    /// `success` or `denied`.
    pub outcome: String,
    /// Changed field names and similar metadata.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

/// A page of a list and the cursor of the next one.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// Items, newest first where time-ordered.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// A webhook endpoint as stored. Its secret and content key are sealed under the
/// master key (associated data: the endpoint id), so a Redis dump reveals neither.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointRecord {
    /// Id.
    pub id: EndpointId,
    /// Owning practitioner.
    pub practitioner_id: PractitionerId,
    /// Target URL.
    pub url: String,
    /// Payload format.
    pub format: Format,
    /// Encryption.
    pub encryption: Encryption,
    /// Description.
    pub description: Option<String>,
    /// Whether deliveries go out (a 410 from the receiver disables it).
    pub enabled: bool,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Sealed Standard Webhooks secret (raw bytes inside).
    #[serde(with = "b64")]
    pub sealed_secret: Vec<u8>,
    /// Sealed JWE content key (its JWK JSON inside).
    #[serde(with = "b64")]
    pub sealed_key: Vec<u8>,
    /// After a rotation: the previous secret, sealed, which keeps signing alongside
    /// until `previous_secret_until`.
    #[serde(default, with = "b64_opt")]
    pub previous_sealed_secret: Option<Vec<u8>>,
    /// When the previous secret stops signing.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub previous_secret_until: Option<OffsetDateTime>,
    /// Raised by one with every change, so that a change made from a stale read is
    /// refused ([`Store::replace_endpoint`]); a record stored before versions were
    /// kept reads as 0.
    #[serde(default)]
    pub version: u64,
}

/// A practitioner with the configuration its public form needs.
#[derive(Debug, Clone, PartialEq)]
pub struct FormContext {
    /// The practitioner.
    pub practitioner: Practitioner,
    /// Its range overrides.
    pub ranges: Vec<RangeOverride>,
    /// Its endpoints.
    pub endpoints: Vec<EndpointRecord>,
    /// Its custom markers.
    pub custom_markers: Vec<CustomMarker>,
}

/// A message to enqueue.
#[derive(Clone, PartialEq)]
pub struct NewMessage {
    /// The Standard Webhooks `webhook-id`.
    pub id: MessageId,
    /// Target endpoint.
    pub endpoint_id: EndpointId,
    /// Owning practitioner.
    pub practitioner_id: PractitionerId,
    /// The sealed event (only ciphertext is ever stored).
    pub sealed: Vec<u8>,
    /// When it is first due, Unix ms.
    pub due_at_ms: i64,
    /// When it must be gone, Unix ms (at most 24 h after submission).
    pub expires_at_ms: i64,
    /// Event type, for the delivery log (`intake.submitted`, `endpoint.test`).
    pub event: String,
    /// The submission it carries, if any, for the delivery log.
    pub submission_id: Option<SubmissionId>,
}

/// How long a delivery-log record lives after its message was queued: the longest any
/// message may live, so a record never outlasts what it could describe.
pub const DELIVERY_LOG_TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// A delivery's state in the log: metadata only, never patient data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// The message (`webhook-id`).
    pub message_id: MessageId,
    /// Owning practitioner.
    pub practitioner_id: PractitionerId,
    /// Target endpoint.
    pub endpoint_id: EndpointId,
    /// Event type.
    pub event: String,
    /// The submission it carries, if any.
    pub submission_id: Option<SubmissionId>,
    /// Where the delivery stands.
    pub status: DeliveryStatus,
    /// Attempts started.
    pub attempts: u32,
    /// When the next attempt is due, Unix ms.
    pub next_attempt_ms: Option<i64>,
    /// The receiver's last HTTP status.
    pub last_http_status: Option<u16>,
    /// The last error class (`timeout`, `connect`, `forbidden_target`, `endpoint_gone`, …).
    pub last_error: Option<String>,
    /// Queued at, Unix ms.
    pub created_ms: i64,
    /// Last change, Unix ms.
    pub updated_ms: i64,
}

/// A message that expired undelivered: ids only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredNotice {
    /// The message.
    pub message_id: MessageId,
    /// Its practitioner.
    pub practitioner_id: PractitionerId,
    /// The endpoint it never reached.
    pub endpoint_id: EndpointId,
    /// The submission it carried.
    pub submission_id: Option<SubmissionId>,
}

impl ExpiredNotice {
    /// Parses `msg|prac|endpoint|submission` (submission may be empty).
    pub fn parse(raw: &str) -> Option<ExpiredNotice> {
        let mut parts = raw.split('|');
        Some(ExpiredNotice {
            message_id: MessageId::parse(parts.next()?).ok()?,
            practitioner_id: PractitionerId::parse(parts.next()?).ok()?,
            endpoint_id: EndpointId::parse(parts.next()?).ok()?,
            submission_id: parts
                .next()
                .filter(|s| !s.is_empty())
                .and_then(|s| SubmissionId::parse(s).ok()),
        })
    }
}

/// What becomes of a claimed message after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// Deleted: delivered, dropped (410, endpoint gone), moved aside, or expired.
    Remove,
    /// Due again at this time (a retry); the attempt counts.
    Reschedule {
        /// Unix ms.
        due_at_ms: i64,
    },
    /// Handed back unattempted (its endpoint is busy or its circuit open), due again
    /// at this time; the claim's attempt is not counted.
    Release {
        /// Unix ms.
        due_at_ms: i64,
    },
}

/// What an attempt changed in a delivery's log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryUpdate {
    /// New status.
    pub status: DeliveryStatus,
    /// Attempts started so far.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_attempt_ms: Option<i64>,
    /// The receiver's HTTP status.
    pub http_status: Option<u16>,
    /// The error class.
    pub error: Option<&'static str>,
    /// When, Unix ms.
    pub at_ms: i64,
}

impl std::fmt::Debug for NewMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewMessage")
            .field("id", &self.id)
            .field("endpoint_id", &self.endpoint_id)
            .finish_non_exhaustive()
    }
}

/// A message a worker has claimed under a lease.
#[derive(Clone, PartialEq)]
pub struct ClaimedMessage {
    /// The Standard Webhooks `webhook-id`.
    pub id: MessageId,
    /// Target endpoint.
    pub endpoint_id: EndpointId,
    /// Owning practitioner.
    pub practitioner_id: PractitionerId,
    /// The sealed event.
    pub sealed: Vec<u8>,
    /// Attempts started so far, this one included.
    pub attempt: u32,
    /// When it must be gone, Unix ms.
    pub expires_at_ms: i64,
}

impl std::fmt::Debug for ClaimedMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimedMessage")
            .field("id", &self.id)
            .field("endpoint_id", &self.endpoint_id)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

/// What an alert is about, for the one-alert-per-hour claim.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AlertSubject {
    /// One of a practice's endpoints keeps failing (or lets messages expire).
    Endpoint(EndpointId),
    /// A practice with no enabled endpoint has submissions waiting (or expiring).
    Held(PractitionerId),
}

impl std::fmt::Display for AlertSubject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AlertSubject::Endpoint(id) => write!(f, "{id}"),
            AlertSubject::Held(id) => write!(f, "held:{id}"),
        }
    }
}

/// The storage interface. Implementations must pass the conformance suite in
/// `tests/api/store_conformance.rs`.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Whether the backend answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Creates a practitioner with its first (owner) key; `Conflict` if the slug is taken.
    async fn create_practitioner(
        &self,
        p: &Practitioner,
        owner_key: &ApiKeyRecord,
    ) -> Result<(), StoreError>;
    /// A practitioner by id.
    async fn practitioner(&self, id: &PractitionerId) -> Result<Option<Practitioner>, StoreError>;
    /// A practitioner by slug.
    async fn practitioner_by_slug(&self, slug: &str) -> Result<Option<Practitioner>, StoreError>;

    /// Practitioners, oldest first, `limit` after `cursor`.
    async fn practitioners(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Practitioner>, StoreError>;
    /// Schedules (`Some`) or cancels (`None`) a practitioner's erasure, and stores the
    /// record that says so, like [`Store::replace_practitioner`]: only if the stored
    /// record is still at `expected_version`. The index of scheduled erasures may
    /// briefly name a practitioner whose record is not (or no longer) scheduled; the
    /// record decides, so whoever erases checks it first.
    async fn schedule_erasure(
        &self,
        p: &Practitioner,
        expected_version: u64,
        at_ms: Option<i64>,
    ) -> Result<Replaced, StoreError>;
    /// Practitioners whose erasure is due at `now_ms`.
    async fn erasures_due(&self, now_ms: i64) -> Result<Vec<PractitionerId>, StoreError>;
    /// Erases every trace of a practitioner: record, slug, keys, ranges, markers,
    /// endpoints, consent versions, audit log.
    async fn erase_practitioner(&self, id: &PractitionerId) -> Result<(), StoreError>;

    /// Adds a key for an existing practitioner.
    async fn create_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    /// A practitioner's keys (never the keys themselves), oldest first, with when each
    /// was last used (Unix ms).
    async fn api_keys(
        &self,
        practitioner: &PractitionerId,
    ) -> Result<Vec<(ApiKeyRecord, Option<i64>)>, StoreError>;
    /// Revokes a key at once, unless it is the last owner key.
    async fn revoke_api_key(
        &self,
        practitioner: &PractitionerId,
        id: &ApiKeyId,
    ) -> Result<Revocation, StoreError>;
    /// Records that a key was used.
    async fn touch_api_key(&self, key: &ApiKeyRecord, at_ms: i64) -> Result<(), StoreError>;

    /// Appends to a practitioner's audit log (or the operator's, with `None`), dropping
    /// entries older than `retain_after_ms`.
    async fn append_audit(
        &self,
        practitioner: Option<&PractitionerId>,
        entry: &AuditEntry,
        now_ms: i64,
        retain_after_ms: i64,
    ) -> Result<(), StoreError>;
    /// A page of an audit log, newest first.
    async fn audit_log(
        &self,
        practitioner: Option<&PractitionerId>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<AuditEntry>, StoreError>;

    /// Replaces a practitioner's record (its slug does not change) only if the stored
    /// record's `version` is still `expected_version`: a compare-and-set, so that a
    /// change read and applied by one caller can never silently undo another's made
    /// meanwhile (an operator's suspension undone by a concurrent settings change).
    /// There is no unconditional write of the record.
    async fn replace_practitioner(
        &self,
        p: &Practitioner,
        expected_version: u64,
    ) -> Result<Replaced, StoreError>;

    /// The key record with this hash.
    async fn api_key_by_hash(&self, hash: &ApiKeyHash) -> Result<Option<ApiKeyRecord>, StoreError>;

    /// Stores (replaces) a range override for its marker and sex.
    async fn put_range(
        &self,
        practitioner: &PractitionerId,
        range: &RangeOverride,
    ) -> Result<(), StoreError>;
    /// Removes an override; true if one existed.
    async fn delete_range(
        &self,
        practitioner: &PractitionerId,
        marker: &str,
        sex: Option<Sex>,
    ) -> Result<bool, StoreError>;
    /// All overrides, ordered by marker then sex.
    async fn ranges(&self, practitioner: &PractitionerId)
        -> Result<Vec<RangeOverride>, StoreError>;

    /// Stores (replaces) a custom marker.
    async fn put_custom_marker(
        &self,
        practitioner: &PractitionerId,
        marker: &CustomMarker,
    ) -> Result<(), StoreError>;
    /// Removes a custom marker; true if it existed.
    async fn delete_custom_marker(
        &self,
        practitioner: &PractitionerId,
        id: &str,
    ) -> Result<bool, StoreError>;
    /// All custom markers, ordered by id.
    async fn custom_markers(
        &self,
        practitioner: &PractitionerId,
    ) -> Result<Vec<CustomMarker>, StoreError>;

    /// Records a version of the consent wording unless that version is already
    /// recorded (the first record of a version is kept); true if it was recorded now.
    async fn put_consent_version(
        &self,
        practitioner: &PractitionerId,
        version: &ConsentVersion,
    ) -> Result<bool, StoreError>;
    /// One recorded version of the consent wording.
    async fn consent_version(
        &self,
        practitioner: &PractitionerId,
        version: u32,
    ) -> Result<Option<ConsentVersion>, StoreError>;
    /// A page of the recorded consent versions, newest (highest) first; the cursor is
    /// the last version number of the previous page.
    async fn consent_versions(
        &self,
        practitioner: &PractitionerId,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<ConsentVersion>, StoreError>;

    /// Stores an endpoint's record as it is, whatever was stored before: for a new
    /// endpoint (and an import). Changes to an existing one go through
    /// [`Store::replace_endpoint`].
    async fn put_endpoint(&self, endpoint: &EndpointRecord) -> Result<(), StoreError>;
    /// Replaces an endpoint's record only if the stored one is still at
    /// `expected_version` (a compare-and-set); the caller has raised `endpoint.version`
    /// past it. `Stale` when it changed meanwhile, `Missing` when it was deleted.
    async fn replace_endpoint(
        &self,
        endpoint: &EndpointRecord,
        expected_version: u64,
    ) -> Result<Replaced, StoreError>;
    /// One endpoint of a practitioner.
    async fn endpoint(
        &self,
        practitioner: &PractitionerId,
        id: &EndpointId,
    ) -> Result<Option<EndpointRecord>, StoreError>;
    /// All endpoints of a practitioner, oldest first.
    async fn endpoints(
        &self,
        practitioner: &PractitionerId,
    ) -> Result<Vec<EndpointRecord>, StoreError>;
    /// Disables an endpoint after its receiver answered `410 Gone`, as one atomic change
    /// of its `enabled` field: only if it still exists and its URL is still `if_url` (the
    /// URL that answered). Nothing else of the record is written, so a deletion, a URL
    /// change or a secret rotation made while the request was in flight stays intact.
    /// True if the endpoint was disabled now.
    async fn disable_endpoint(
        &self,
        practitioner: &PractitionerId,
        id: &EndpointId,
        if_url: &str,
    ) -> Result<bool, StoreError>;
    /// Deletes an endpoint; true if it existed.
    async fn delete_endpoint(
        &self,
        practitioner: &PractitionerId,
        id: &EndpointId,
    ) -> Result<bool, StoreError>;

    /// Everything an intake needs about the practitioner behind a form: its record,
    /// range overrides and endpoints. The Redis store reads the last three in one
    /// pipelined round trip (they share a hash slot).
    async fn form_context(&self, slug: &str) -> Result<Option<FormContext>, StoreError> {
        let Some(practitioner) = self.practitioner_by_slug(slug).await? else {
            return Ok(None);
        };
        let ranges = self.ranges(&practitioner.id).await?;
        let endpoints = self.endpoints(&practitioner.id).await?;
        let custom_markers = self.custom_markers(&practitioner.id).await?;
        Ok(Some(FormContext {
            practitioner,
            ranges,
            endpoints,
            custom_markers,
        }))
    }

    /// Queues messages atomically, each with its expiry, in one round trip: either all
    /// are queued or none is.
    async fn enqueue(&self, messages: &[NewMessage]) -> Result<(), StoreError>;
    /// Claims up to `limit` messages due at `now_ms`, leasing each for `lease` (a
    /// message whose worker dies becomes due again when the lease lapses). Messages
    /// past their expiry are removed instead of returned.
    async fn claim_due(
        &self,
        now_ms: i64,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<ClaimedMessage>, StoreError>;
    /// Settles a claimed message after an attempt and records the attempt in its
    /// delivery-log record in the same atomic step, so that the log never contradicts
    /// the queue (a crash or a Redis restart between two separate writes could leave a
    /// delivered message logged as pending). `log` is `None` when nothing happened that
    /// the log should show. Settling a message that is gone meanwhile (expired, or
    /// settled by another worker after this one's lease lapsed) changes nothing, except
    /// that a delivery is still recorded.
    async fn settle(
        &self,
        id: &MessageId,
        settlement: Settlement,
        log: Option<&DeliveryUpdate>,
    ) -> Result<(), StoreError>;
    /// Hands a message awaiting an endpoint (queued under [`EndpointId::awaiting`]) over
    /// to `endpoint`, in one atomic step: its target becomes `endpoint`, its sealed
    /// event is replaced by `sealed` (sealed again for the new target), and its
    /// delivery-log record names the endpoint and says `pending`. The claim (lease and
    /// attempt) is kept, so the caller goes on to attempt it. Only a message that still
    /// exists and still awaits an endpoint is changed; false otherwise (expired, or
    /// handed over by another worker whose claim followed a lapsed lease).
    async fn hand_over(
        &self,
        id: &MessageId,
        endpoint: &EndpointId,
        sealed: &[u8],
        at_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Makes every queued message of `endpoint` due at `now_ms` (the practice fixed its
    /// receiver and asks for its backlog now), and says so in their delivery-log
    /// records. Messages claimed by a worker and still under their lease are left
    /// alone, so nothing is sent twice at once. Returns how many were rescheduled.
    async fn retry_now(&self, endpoint: &EndpointId, now_ms: i64) -> Result<usize, StoreError>;
    /// Claims the right to alert the practice about `subject` (an endpoint that keeps
    /// failing, or submissions held for want of one), at `now_ms` on the caller's clock:
    /// true, with `now_ms` recorded, unless an alert about it was claimed less than
    /// `window_ms` before. One atomic step, so that of every instance noticing the same
    /// trouble only one alerts per window.
    async fn claim_alert(
        &self,
        subject: &AlertSubject,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Takes up to `limit` notices of submissions' messages that expired undelivered.
    async fn drain_expired(&self, limit: usize) -> Result<Vec<ExpiredNotice>, StoreError>;
    /// A page of a practitioner's delivery log, newest first.
    async fn deliveries(
        &self,
        practitioner: &PractitionerId,
        cursor: Option<&str>,
        limit: usize,
        now_ms: i64,
    ) -> Result<Page<DeliveryRecord>, StoreError>;
    /// Number of messages queued (due or not), for readiness and tests.
    async fn queue_len(&self) -> Result<usize, StoreError>;
}

/// A page of consent versions, highest first, after the version `cursor` (a cursor
/// that is not a version number gives an empty page, like an unknown cursor elsewhere).
fn page_consent_versions(
    mut all: Vec<ConsentVersion>,
    cursor: Option<&str>,
    limit: usize,
) -> Page<ConsentVersion> {
    all.sort_by_key(|v| std::cmp::Reverse(v.version));
    let after = match cursor {
        None => u32::MAX,
        Some(c) => match c.parse::<u32>() {
            Ok(v) => v,
            Err(_) => {
                return Page {
                    items: Vec::new(),
                    next_cursor: None,
                }
            }
        },
    };
    let mut rest = all
        .into_iter()
        .filter(|v| cursor.is_none() || v.version < after);
    let items: Vec<ConsentVersion> = rest.by_ref().take(limit).collect();
    let next_cursor = rest.next().and(items.last()).map(|v| v.version.to_string());
    Page { items, next_cursor }
}

/// The order endpoints are listed in: oldest first, ties by id.
fn sort_endpoints(list: &mut [EndpointRecord]) {
    list.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
}

/// Serde helper: optional bytes as standard base64 in JSON.
mod b64_opt {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_some(&base64::engine::general_purpose::STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| {
                base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}

/// Serde helper: bytes as standard base64 in JSON.
mod b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(serde::de::Error::custom)
    }
}
