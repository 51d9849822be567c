//! Delivery policy, pure: what an attempt's outcome means (delivered, retry when, or
//! disable the endpoint) and when the next attempt is due.

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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

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
}
