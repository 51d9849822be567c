//! Queue storage: the delivery queue (sealed messages, their schedule, leases and expiry),
//! the delivery log that follows each message, and alert claims.

use super::partition::Partitions;
use super::{Page, StoreError};
use crate::domain::delivery::DeliveryStatus;
use crate::domain::ids::{EndpointId, MessageId, PractitionerId, SubmissionId};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Rung whenever something is queued or made due now, with the partitions it is in: an
/// idle worker claims at once, and only from the partitions rung since its last claim.
/// One per process, shared by the use cases (which ring it) and the worker.
#[derive(Debug, Default)]
pub struct QueueBell {
    notify: tokio::sync::Notify,
    rung: std::sync::atomic::AtomicU32,
}

impl QueueBell {
    /// Something was queued, or made due now, in `partitions`.
    pub fn ring(&self, partitions: Partitions) {
        self.rung
            .fetch_or(partitions.bits(), std::sync::atomic::Ordering::AcqRel);
        self.notify.notify_one();
    }

    /// Waits for a ring. A ring while nobody waits is kept for the next wait, so none
    /// is missed; several such rings wake one wait.
    pub async fn rung(&self) {
        self.notify.notified().await;
    }

    /// The partitions rung since the last call, forgotten now.
    pub fn take(&self) -> Partitions {
        Partitions::from_bits(self.rung.swap(0, std::sync::atomic::Ordering::AcqRel))
    }
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
    /// Attempts made: those settled, and any whose worker died mid-way (counted when
    /// the message is claimed again); one in flight shows once it ends.
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
    /// Attempts made so far, this one included.
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

/// What a claim took: the messages to attempt, and notices of the messages it found
/// expired (ids only) for the practices' other endpoints.
#[derive(Debug, Default)]
pub struct Claim {
    /// Claimed under a lease, to attempt now.
    pub messages: Vec<ClaimedMessage>,
    /// Expired undelivered, of an event type the caller named.
    pub expired: Vec<ExpiredNotice>,
}

/// What an alert is about, for the one-alert-per-window claim.
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

/// Queue storage: what the delivery worker claims and settles, and the delivery log
/// practices read. Implementations must pass the conformance suite in
/// `tests/api/store_conformance.rs`.
#[async_trait::async_trait]
pub trait QueueStore: Send + Sync {
    /// Queues messages atomically, each with its expiry, in one round trip: either all
    /// are queued or none is.
    async fn enqueue(&self, messages: &[NewMessage]) -> Result<(), StoreError>;
    /// Claims up to `limit` messages due at `now_ms`, leasing each for `lease` (a
    /// message whose worker dies becomes due again when the lease lapses, and that
    /// attempt counts then). Messages past their expiry are removed instead of returned, their
    /// delivery-log records marked expired; one whose event type is in `noticed` (the
    /// caller's policy decides which, the store only carries it out) comes back as an
    /// [`ExpiredNotice`], for the caller to act on.
    async fn claim_due(
        &self,
        now_ms: i64,
        lease: Duration,
        limit: usize,
        noticed: &[&str],
    ) -> Result<Claim, StoreError>;
    /// As [`QueueStore::claim_due`], looking only in `partitions` (where a wake-up said
    /// something was queued). A store that is not partitioned looks everywhere.
    async fn claim_due_from(
        &self,
        now_ms: i64,
        lease: Duration,
        limit: usize,
        noticed: &[&str],
        partitions: Partitions,
    ) -> Result<Claim, StoreError> {
        let _ = partitions;
        self.claim_due(now_ms, lease, limit, noticed).await
    }
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
    /// Moves what a relay of an earlier storage layout left (queued messages, delivery
    /// log, unsent expiry notices) into this one, and returns those notices for the
    /// caller to send. Idempotent, safe to run from several processes at once; a few
    /// reads when there is nothing to move, nothing at all for the in-memory store.
    async fn adopt_earlier_queue(&self) -> Result<Vec<ExpiredNotice>, StoreError> {
        Ok(Vec::new())
    }
    /// Tells other processes' idle workers that something was queued in `partitions`
    /// (an API-only process has no worker of its own to wake). The in-memory store has
    /// no other processes: nothing to do.
    async fn announce_queued(&self, partitions: Partitions) -> Result<(), StoreError> {
        let _ = partitions;
        Ok(())
    }
    /// Rings `bell` whenever another process announces something queued (with the
    /// partitions announced, or all of them when an announcement does not say), until
    /// `shutdown` turns true, reconnecting after failures. Returns at once where there
    /// are no other processes (the in-memory store).
    async fn listen_for_queued(
        &self,
        bell: std::sync::Arc<QueueBell>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let _ = (bell, shutdown);
    }
}
