//! Delivery policy, pure: what an attempt's outcome means (delivered, retry when, or
//! disable the endpoint) and when the next attempt is due.

use super::message::EventKind;
use crate::domain::delivery::DeliveryStatus;
use crate::store::{DeliveryUpdate, Settlement};
use std::time::Duration;
use time::OffsetDateTime;

/// What a receiver's answer (or its absence) was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// An HTTP status, with the `Retry-After` header if any.
    Status {
        /// The status code.
        status: u16,
        /// `Retry-After`, as sent.
        retry_after: Option<String>,
    },
    /// The request timed out.
    Timeout,
    /// The connection failed (refused, reset, TLS, DNS).
    ConnectError,
    /// The target resolved to an address that must not be contacted.
    ForbiddenTarget,
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Delivered: delete the message.
    Delivered,
    /// Try again after this long.
    RetryAfter(Duration),
    /// The receiver says the endpoint is gone (410): disable it and drop the message.
    DisableEndpoint,
}

/// The event types whose expiry, undelivered, is told to the practice's other endpoints
/// (an `endpoint.delivery_expired` notice): submissions alone, so that notices about
/// notices (or tests, or alerts) cannot bounce between two failing endpoints. Decided
/// here only: the worker asks [`expiry_is_noticed`] when an attempt finds a message
/// expired, and hands this list to the store, whose purge of expired messages follows it.
pub const NOTICED_ON_EXPIRY: &[&str] = &[EventKind::IntakeSubmitted.as_str()];

/// Whether a message of this kind that expires undelivered leaves a notice.
pub fn expiry_is_noticed(kind: EventKind) -> bool {
    NOTICED_ON_EXPIRY.contains(&kind.as_str())
}

/// Least pause after a 429 without `Retry-After` or a timeout: a receiver that is
/// overloaded gets more room than one that merely failed.
pub const SLOW_DOWN_MIN: Duration = Duration::from_secs(30);

/// Longest `Retry-After` honoured; a receiver asking for more is retried after this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(6 * 60 * 60);

/// Parses `Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let format = time::format_description::well_known::Rfc2822;
    let at = OffsetDateTime::parse(value, &format).ok()?;
    let delta = at - now;
    Some(Duration::try_from(delta).unwrap_or(Duration::ZERO))
}

/// The scheduled delay after the `attempt`-th failed attempt (1-based): the schedule's
/// step for it, or its last step once the schedule is exhausted.
pub fn scheduled_delay(schedule: &[Duration], attempt: u32) -> Duration {
    let idx = usize::try_from(attempt.saturating_sub(1)).unwrap_or(usize::MAX);
    schedule
        .get(idx)
        .or(schedule.last())
        .copied()
        .unwrap_or(Duration::from_secs(60))
}

/// Spreads a delay by ±20 % so that many messages failing together do not retry in
/// lockstep. `unit` is a random number in `[0, 1)`, passed in to keep this pure.
pub fn jitter(delay: Duration, unit: f64) -> Duration {
    let factor = 0.8 + 0.4 * unit.clamp(0.0, 1.0);
    delay.mul_f64(factor)
}

/// Decides what follows an attempt. Only a 2xx ends a message's life early, and only a
/// 410 drops it undelivered: every other answer, 4xx included, is retried until the
/// message expires. A 401, 403 or 404 is what a receiver says while its integration is
/// being set up (a secret not yet pasted in, a route not yet deployed); dropping the
/// message then would lose the lead for good, whereas a retry succeeds once the receiver
/// is fixed, or at the practice's request (`POST /v1/endpoints/{id}/retry`).
pub fn decide(
    response: &Response,
    attempt: u32,
    schedule: &[Duration],
    now: OffsetDateTime,
    unit: f64,
) -> Decision {
    let backoff = jitter(scheduled_delay(schedule, attempt), unit);
    // Overloaded or slow receivers get twice the usual pause, and at least 30 s.
    let slow_down = (backoff * 2).max(SLOW_DOWN_MIN);
    match response {
        Response::Status { status, .. } if (200..300).contains(status) => Decision::Delivered,
        Response::Status { status: 410, .. } => Decision::DisableEndpoint,
        Response::Status {
            status: 429 | 503,
            retry_after: Some(v),
        } => match parse_retry_after(v, now) {
            Some(d) => Decision::RetryAfter(d.clamp(Duration::from_secs(1), MAX_RETRY_AFTER)),
            None if matches!(response, Response::Status { status: 429, .. }) => {
                Decision::RetryAfter(slow_down)
            }
            None => Decision::RetryAfter(backoff),
        },
        Response::Status { status: 429, .. } | Response::Timeout => Decision::RetryAfter(slow_down),
        _ => Decision::RetryAfter(backoff),
    }
}

/// How an attempt ended, for logs, metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Delivered and removed.
    Delivered,
    /// Failed; queued again.
    Retrying,
    /// The endpoint answered 410: disabled, message removed.
    EndpointDisabled,
    /// The message could not be delivered before its expiry: removed.
    Expired,
    /// The endpoint is gone or disabled: removed.
    Dropped,
    /// Its queue entry could not be opened (corrupt or tampered): moved aside once,
    /// removed from the queue and logged `undeliverable`, never retried.
    Undeliverable,
    /// Not attempted: its endpoint already had its share of deliveries in flight; handed
    /// back to the queue.
    Deferred,
    /// Not attempted: its endpoint's circuit is open after repeated failures; handed
    /// back to the queue, due when the cool-down ends.
    CircuitOpen,
    /// Not attempted: it was queued while its practice had no enabled endpoint, and it
    /// still has none; handed back to wait (see `worker::AWAIT_ENDPOINT_MS`).
    AwaitingEndpoint,
}

/// How long before its expiry a message gets its last attempt.
pub const LAST_CHANCE_MS: i64 = 1_000;

/// The receiver's HTTP status or the error class of an answer, as the delivery log and
/// the attempt's log line record them.
pub fn status_or_error(response: &Response) -> (Option<u16>, Option<&'static str>) {
    match response {
        Response::Status { status, .. } => (Some(*status), None),
        Response::Timeout => (None, Some("timeout")),
        Response::ConnectError => (None, Some("connect")),
        Response::ForbiddenTarget => (None, Some("forbidden_target")),
    }
}

/// What an attempt left to decide: the answer and the message's place in its life.
#[derive(Debug, Clone, Copy)]
pub struct AttemptResult<'a> {
    /// The receiver's answer (or its absence).
    pub response: &'a Response,
    /// Which attempt this was (1-based).
    pub attempt: u32,
    /// When the message expires, Unix ms.
    pub expires_at_ms: i64,
    /// Now.
    pub now: OffsetDateTime,
    /// A random number in `[0, 1)` for the jitter.
    pub unit: f64,
}

/// What becomes of the message's endpoint after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointChange {
    /// Nothing.
    Keep,
    /// Disabled: it answered 410 Gone.
    Disable,
}

/// Everything an attempt's result decides, for the worker to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// How the attempt ended.
    pub outcome: AttemptOutcome,
    /// What becomes of the message in the queue.
    pub settlement: Settlement,
    /// The delivery log's new record.
    pub log: DeliveryUpdate,
    /// What becomes of the endpoint.
    pub endpoint: EndpointChange,
}

/// Turns an attempt's result into the settlement, the log update and the endpoint
/// change. A retry that would fall after the expiry is brought forward to one last
/// attempt shortly before it, rather than giving up early; with no time left for one,
/// the message expires.
pub fn settle(result: &AttemptResult<'_>, schedule: &[Duration]) -> Settled {
    let now_ms = i64::try_from(result.now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let decision = decide(
        result.response,
        result.attempt,
        schedule,
        result.now,
        result.unit,
    );
    let (outcome, settlement, endpoint) = match decision {
        Decision::Delivered => (
            AttemptOutcome::Delivered,
            Settlement::Remove,
            EndpointChange::Keep,
        ),
        Decision::DisableEndpoint => (
            AttemptOutcome::EndpointDisabled,
            Settlement::Remove,
            EndpointChange::Disable,
        ),
        Decision::RetryAfter(delay) => {
            let due = now_ms
                .saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX))
                .min(result.expires_at_ms.saturating_sub(LAST_CHANCE_MS));
            if due <= now_ms {
                (
                    AttemptOutcome::Expired,
                    Settlement::Remove,
                    EndpointChange::Keep,
                )
            } else {
                (
                    AttemptOutcome::Retrying,
                    Settlement::Reschedule { due_at_ms: due },
                    EndpointChange::Keep,
                )
            }
        }
    };
    let status = match outcome {
        AttemptOutcome::Delivered => DeliveryStatus::Delivered,
        AttemptOutcome::Expired => DeliveryStatus::Expired,
        AttemptOutcome::EndpointDisabled => DeliveryStatus::Failed,
        _ => DeliveryStatus::Retrying,
    };
    let (http_status, error) = status_or_error(result.response);
    let error = match endpoint {
        EndpointChange::Disable => Some("endpoint_gone"),
        EndpointChange::Keep => error,
    };
    let next_attempt_ms = match settlement {
        Settlement::Reschedule { due_at_ms } => Some(due_at_ms),
        Settlement::Remove | Settlement::Release { .. } => None,
    };
    Settled {
        outcome,
        settlement,
        log: DeliveryUpdate {
            status,
            attempts: result.attempt,
            next_attempt_ms,
            http_status,
            error,
            at_ms: now_ms,
        },
        endpoint,
    }
}

/// A message not attempted, settled without a send: how it ended, what becomes of it
/// and what the log says, the attempt the claim counted given back when handed back.
fn unattempted(
    outcome: AttemptOutcome,
    attempt: u32,
    now_ms: i64,
    release_at_ms: Option<i64>,
    error: Option<&'static str>,
) -> Settled {
    let attempts = match release_at_ms {
        Some(_) => attempt.saturating_sub(1),
        None => attempt,
    };
    let status = match outcome {
        AttemptOutcome::Dropped => DeliveryStatus::Failed,
        AttemptOutcome::Undeliverable => DeliveryStatus::Undeliverable,
        AttemptOutcome::AwaitingEndpoint => DeliveryStatus::AwaitingEndpoint,
        _ if attempts == 0 => DeliveryStatus::Pending,
        _ => DeliveryStatus::Retrying,
    };
    let settlement = match release_at_ms {
        Some(due_at_ms) => Settlement::Release { due_at_ms },
        None => Settlement::Remove,
    };
    Settled {
        outcome,
        settlement,
        log: DeliveryUpdate {
            status,
            attempts,
            next_attempt_ms: release_at_ms,
            http_status: None,
            error,
            at_ms: now_ms,
        },
        endpoint: EndpointChange::Keep,
    }
}

/// The message's endpoint is gone or disabled (or its practice erased): removed, and
/// logged `failed`.
pub fn dropped(attempt: u32, now_ms: i64) -> Settled {
    unattempted(
        AttemptOutcome::Dropped,
        attempt,
        now_ms,
        None,
        Some("endpoint_disabled"),
    )
}

/// The queue entry cannot be opened, whoever tries: moved aside once, logged
/// `undeliverable`.
pub fn unreadable(attempt: u32, now_ms: i64) -> Settled {
    unattempted(
        AttemptOutcome::Undeliverable,
        attempt,
        now_ms,
        None,
        Some("unreadable_entry"),
    )
}

/// The endpoint's circuit is open: handed back, due when the cool-down ends (or at the
/// expiry, if sooner), the attempt not counted.
pub fn circuit_open(attempt: u32, due_at_ms: i64, expires_at_ms: i64, now_ms: i64) -> Settled {
    unattempted(
        AttemptOutcome::CircuitOpen,
        attempt,
        now_ms,
        Some(due_at_ms.min(expires_at_ms)),
        Some("circuit_open"),
    )
}

/// A held message whose practice still has no enabled endpoint: handed back to be
/// looked at again `wait_ms` later (or at the expiry, if sooner), the attempt not
/// counted, logged `awaiting_endpoint`.
pub fn awaiting_endpoint(attempt: u32, wait_ms: i64, expires_at_ms: i64, now_ms: i64) -> Settled {
    unattempted(
        AttemptOutcome::AwaitingEndpoint,
        attempt,
        now_ms,
        Some(now_ms.saturating_add(wait_ms).min(expires_at_ms)),
        None,
    )
}

/// Where the worker counts each attempt's outcome (the process's metrics implement it),
/// so that delivery names no metrics code.
pub trait OutcomeCounter: Send + Sync {
    /// Counts one attempt's outcome.
    fn count(&self, outcome: AttemptOutcome);
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn only_a_submissions_expiry_leaves_a_notice() {
        assert!(expiry_is_noticed(EventKind::IntakeSubmitted));
        for kind in [
            EventKind::EndpointTest,
            EventKind::DeliveryExpired,
            EventKind::EndpointFailing,
        ] {
            assert!(!expiry_is_noticed(kind), "{kind}");
        }
        assert_eq!(NOTICED_ON_EXPIRY, ["intake.submitted"]);
    }

    const S: [Duration; 3] = [
        Duration::from_secs(5),
        Duration::from_secs(30),
        Duration::from_secs(120),
    ];

    fn status(s: u16) -> Response {
        Response::Status {
            status: s,
            retry_after: None,
        }
    }

    #[test]
    fn any_2xx_is_delivered_and_410_disables() {
        let now = datetime!(2026-01-01 00:00 UTC);
        for s in [200, 201, 202, 204, 299] {
            assert_eq!(decide(&status(s), 1, &S, now, 0.5), Decision::Delivered);
        }
        assert_eq!(
            decide(&status(410), 1, &S, now, 0.5),
            Decision::DisableEndpoint
        );
    }

    #[test]
    fn failures_back_off_along_the_schedule_first_retry_within_10s() {
        let now = datetime!(2026-01-01 00:00 UTC);
        assert_eq!(
            decide(&status(500), 1, &S, now, 0.5),
            Decision::RetryAfter(Duration::from_secs(5))
        );
        assert_eq!(
            decide(&Response::ConnectError, 2, &S, now, 0.5),
            Decision::RetryAfter(Duration::from_secs(30))
        );
        assert_eq!(
            decide(&Response::ConnectError, 9, &S, now, 0.5),
            Decision::RetryAfter(Duration::from_secs(120))
        );
        let Decision::RetryAfter(first) = decide(&status(502), 1, &S, now, 0.999) else {
            panic!()
        };
        assert!(first <= Duration::from_secs(10));
    }

    #[test]
    fn retry_after_is_honoured_on_429_and_503_in_seconds_or_as_a_date() {
        let now = datetime!(2026-01-01 00:00 UTC);
        let r = |s, v: &str| Response::Status {
            status: s,
            retry_after: Some(v.into()),
        };
        assert_eq!(
            decide(&r(429, "120"), 1, &S, now, 0.5),
            Decision::RetryAfter(Duration::from_secs(120))
        );
        assert_eq!(
            decide(&r(503, "Thu, 01 Jan 2026 00:01:00 GMT"), 1, &S, now, 0.5),
            Decision::RetryAfter(Duration::from_secs(60))
        );
        assert_eq!(
            decide(&r(429, "999999"), 1, &S, now, 0.5),
            Decision::RetryAfter(MAX_RETRY_AFTER)
        );
        assert_eq!(
            decide(&r(503, "soon"), 1, &S, now, 0.5),
            Decision::RetryAfter(Duration::from_secs(5))
        );
    }

    #[test]
    fn every_answer_but_a_2xx_or_a_410_is_retried_along_the_schedule_4xx_included() {
        let now = datetime!(2026-01-01 00:00 UTC);
        for s in [
            400, 401, 403, 404, 405, 408, 409, 413, 415, 422, 425, 451, 500, 502, 504, 302, 100,
        ] {
            assert_eq!(
                decide(&status(s), 1, &S, now, 0.5),
                Decision::RetryAfter(Duration::from_secs(5)),
                "{s}"
            );
            assert_eq!(
                decide(&status(s), 3, &S, now, 0.5),
                Decision::RetryAfter(Duration::from_secs(120)),
                "{s}"
            );
        }
    }

    #[test]
    fn a_429_or_a_timeout_pauses_longer_than_a_plain_failure() {
        let now = datetime!(2026-01-01 00:00 UTC);
        let plain = decide(&status(500), 1, &S, now, 0.5);
        assert_eq!(plain, Decision::RetryAfter(Duration::from_secs(5)));
        assert_eq!(
            decide(&status(429), 1, &S, now, 0.5),
            Decision::RetryAfter(SLOW_DOWN_MIN)
        );
        assert_eq!(
            decide(&Response::Timeout, 3, &S, now, 0.5),
            Decision::RetryAfter(Duration::from_secs(240))
        );
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let d = Duration::from_secs(100);
        assert_eq!(jitter(d, 0.0), Duration::from_secs(80));
        assert_eq!(jitter(d, 0.5), Duration::from_secs(100));
        assert!(jitter(d, 0.99999) <= Duration::from_secs(120));
    }

    fn settled(response: Response, attempt: u32, expires_in_s: i64) -> Settled {
        let now = datetime!(2026-01-01 00:00 UTC);
        let now_ms = now.unix_timestamp() * 1000;
        settle(
            &AttemptResult {
                response: &response,
                attempt,
                expires_at_ms: now_ms + expires_in_s * 1000,
                now,
                unit: 0.5,
            },
            &S,
        )
    }

    #[test]
    fn a_2xx_removes_the_message_and_logs_it_delivered_with_its_status() {
        let s = settled(status(204), 2, 3600);
        assert_eq!(s.outcome, AttemptOutcome::Delivered);
        assert_eq!(s.settlement, Settlement::Remove);
        assert_eq!(s.endpoint, EndpointChange::Keep);
        assert_eq!(
            (
                s.log.status,
                s.log.attempts,
                s.log.http_status,
                s.log.error,
                s.log.next_attempt_ms
            ),
            (DeliveryStatus::Delivered, 2, Some(204), None, None)
        );
    }

    #[test]
    fn a_410_disables_the_endpoint_and_logs_the_message_failed_as_endpoint_gone() {
        let s = settled(status(410), 1, 3600);
        assert_eq!(s.outcome, AttemptOutcome::EndpointDisabled);
        assert_eq!(s.settlement, Settlement::Remove);
        assert_eq!(s.endpoint, EndpointChange::Disable);
        assert_eq!(s.log.status, DeliveryStatus::Failed);
        assert_eq!(
            (s.log.http_status, s.log.error),
            (Some(410), Some("endpoint_gone"))
        );
    }

    #[test]
    fn a_failure_is_rescheduled_along_the_schedule_and_logged_with_its_error_class() {
        let s = settled(Response::Timeout, 1, 3600);
        let now_ms = datetime!(2026-01-01 00:00 UTC).unix_timestamp() * 1000;
        // A timeout slows down: twice the step, at least 30 s.
        let due = now_ms + 30_000;
        assert_eq!(s.outcome, AttemptOutcome::Retrying);
        assert_eq!(s.settlement, Settlement::Reschedule { due_at_ms: due });
        assert_eq!(s.log.status, DeliveryStatus::Retrying);
        assert_eq!(
            (s.log.next_attempt_ms, s.log.http_status, s.log.error),
            (Some(due), None, Some("timeout"))
        );
    }

    #[test]
    fn a_retry_past_the_expiry_is_brought_forward_and_with_no_time_left_the_message_expires() {
        let now_ms = datetime!(2026-01-01 00:00 UTC).unix_timestamp() * 1000;
        let s = settled(status(500), 1, 3);
        assert_eq!(
            s.settlement,
            Settlement::Reschedule {
                due_at_ms: now_ms + 3_000 - LAST_CHANCE_MS
            }
        );
        let s = settled(Response::ConnectError, 1, 1);
        assert_eq!(s.outcome, AttemptOutcome::Expired);
        assert_eq!(s.settlement, Settlement::Remove);
        assert_eq!(
            (s.log.status, s.log.error, s.log.next_attempt_ms),
            (DeliveryStatus::Expired, Some("connect"), None)
        );
    }

    #[test]
    fn messages_settled_without_a_send_say_why_and_a_handed_back_claim_is_not_counted() {
        let d = dropped(3, 10);
        assert_eq!(
            (
                d.outcome,
                d.settlement,
                d.log.status,
                d.log.attempts,
                d.log.error
            ),
            (
                AttemptOutcome::Dropped,
                Settlement::Remove,
                DeliveryStatus::Failed,
                3,
                Some("endpoint_disabled")
            )
        );
        let u = unreadable(1, 10);
        assert_eq!(
            (u.outcome, u.settlement, u.log.status, u.log.error),
            (
                AttemptOutcome::Undeliverable,
                Settlement::Remove,
                DeliveryStatus::Undeliverable,
                Some("unreadable_entry")
            )
        );
        // The first claim handed back leaves the message pending; a later one retrying.
        let c = circuit_open(1, 5_000, 4_000, 10);
        assert_eq!(
            (
                c.settlement,
                c.log.status,
                c.log.attempts,
                c.log.next_attempt_ms
            ),
            (
                Settlement::Release { due_at_ms: 4_000 },
                DeliveryStatus::Pending,
                0,
                Some(4_000)
            )
        );
        assert_eq!(c.log.error, Some("circuit_open"));
        assert_eq!(
            circuit_open(3, 5_000, 9_000, 10).log.status,
            DeliveryStatus::Retrying
        );
        let a = awaiting_endpoint(1, 10_000, 60_000, 100);
        assert_eq!(
            (a.outcome, a.settlement, a.log.status, a.log.attempts),
            (
                AttemptOutcome::AwaitingEndpoint,
                Settlement::Release { due_at_ms: 10_100 },
                DeliveryStatus::AwaitingEndpoint,
                0
            )
        );
    }
}
