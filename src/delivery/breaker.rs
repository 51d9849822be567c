//! A circuit breaker per endpoint, pure: after several consecutive failures an endpoint
//! is left alone for a cool-down, then one probe tells whether it is back.
//!
//! The per-endpoint concurrency cap keeps a failing endpoint from taking every worker
//! slot; the breaker keeps it from being sent (and timing out on) every message of its
//! backlog in the meantime. Messages for an open circuit go back to the queue without
//! counting an attempt, due when the cool-down ends, and resume their own retry
//! schedule once the circuit closes. State is per process: each relay learns an
//! endpoint's health from its own attempts (no Redis round trip per attempt).

use crate::domain::ids::EndpointId;

/// Consecutive failures that open the circuit, by default.
pub const FAILURES_TO_OPEN: u32 = 5;
/// The first cool-down, by default; each failed probe doubles it, up to
/// [`MAX_COOL_DOWN_FACTOR`] times the first (10 min by default).
pub const FIRST_COOL_DOWN_MS: i64 = 30_000;
/// The longest cool-down, as a multiple of the first.
pub const MAX_COOL_DOWN_FACTOR: i64 = 20;

/// When a circuit opens and for how long (`GAPRELAY_CIRCUIT_BREAKER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Consecutive failures that open the circuit.
    pub failures_to_open: u32,
    /// The first cool-down, in ms.
    pub first_cool_down_ms: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            failures_to_open: FAILURES_TO_OPEN,
            first_cool_down_ms: FIRST_COOL_DOWN_MS,
        }
    }
}

impl Policy {
    fn max_cool_down_ms(&self) -> i64 {
        self.first_cool_down_ms.saturating_mul(MAX_COOL_DOWN_FACTOR)
    }
}
/// How long other messages wait while a probe is in flight.
pub const PROBE_WAIT_MS: i64 = 1_000;

/// What an attempt said about the endpoint's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// It answered (any status that is not an overload or server error): it is up,
    /// whatever it thought of this message.
    Up,
    /// It failed: 5xx, 429, timeout, connection error, forbidden address.
    Down,
    /// Nothing was learnt (the attempt failed before sending).
    Unknown,
}

impl Health {
    /// What a receiver's answer says about its health.
    pub fn of(response: &super::policy::Response) -> Health {
        use super::policy::Response;
        match response {
            Response::Status { status, .. } if *status == 429 || *status >= 500 => Health::Down,
            Response::Status { .. } => Health::Up,
            Response::Timeout | Response::ConnectError | Response::ForbiddenTarget => Health::Down,
        }
    }
}

/// Whether a message may be attempted now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Send it.
    Go,
    /// Send it: it is the probe of a half-open circuit.
    Probe,
    /// Hand it back, due at this time (Unix ms).
    WaitUntil(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until_ms: i64, cool_down_ms: i64 },
    Probing { cool_down_ms: i64 },
}

/// One endpoint's breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Breaker {
    state: State,
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker {
            state: State::Closed { failures: 0 },
        }
    }
}

impl Breaker {
    /// Whether a message for this endpoint may be attempted at `now_ms`. Once the
    /// cool-down has passed, the first caller gets [`Admission::Probe`] and the circuit
    /// is half-open until [`Breaker::record`] hears how the probe went.
    pub fn admit(&mut self, now_ms: i64) -> Admission {
        match self.state {
            State::Closed { .. } => Admission::Go,
            State::Open {
                until_ms,
                cool_down_ms,
            } => {
                if now_ms < until_ms {
                    Admission::WaitUntil(until_ms)
                } else {
                    self.state = State::Probing { cool_down_ms };
                    Admission::Probe
                }
            }
            State::Probing { .. } => Admission::WaitUntil(now_ms.saturating_add(PROBE_WAIT_MS)),
        }
    }

    /// Records what an admitted attempt learnt. `probe` says whether it was the probe.
    pub fn record(&mut self, policy: &Policy, health: Health, probe: bool, now_ms: i64) {
        self.state = match (self.state, health) {
            (_, Health::Up) => State::Closed { failures: 0 },
            (State::Probing { cool_down_ms }, Health::Down) if probe => {
                let next = cool_down_ms
                    .saturating_mul(2)
                    .min(policy.max_cool_down_ms());
                State::Open {
                    until_ms: now_ms.saturating_add(next),
                    cool_down_ms: next,
                }
            }
            // A probe that learnt nothing: the next message may probe at once.
            (State::Probing { cool_down_ms }, Health::Unknown) if probe => State::Open {
                until_ms: now_ms,
                cool_down_ms,
            },
            (State::Closed { failures }, Health::Down) => {
                let failures = failures + 1;
                if failures >= policy.failures_to_open {
                    State::Open {
                        until_ms: now_ms.saturating_add(policy.first_cool_down_ms),
                        cool_down_ms: policy.first_cool_down_ms,
                    }
                } else {
                    State::Closed { failures }
                }
            }
            // Attempts admitted before the circuit opened, ending now, change nothing
            // more; neither does an attempt that learnt nothing.
            (state, _) => state,
        };
    }

    /// Whether the breaker holds nothing worth keeping (closed, no failures).
    pub fn is_idle(&self) -> bool {
        self.state == State::Closed { failures: 0 }
    }
}

/// Every endpoint's breaker as this process has seen it, shared by the workers (which
/// ask and tell it about each attempt) and the practice's "retry now" request (which
/// closes a circuit). Holds a short, never-awaited lock.
#[derive(Debug, Default)]
pub struct Breakers {
    map: std::sync::Mutex<std::collections::HashMap<EndpointId, Breaker>>,
}

impl Breakers {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<EndpointId, Breaker>> {
        // A breaker is advice, not data: a poisoned lock is recovered.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a message for `endpoint` may be attempted at `now_ms`.
    pub fn admit(&self, endpoint: &EndpointId, now_ms: i64) -> Admission {
        self.lock()
            .entry(endpoint.clone())
            .or_default()
            .admit(now_ms)
    }

    /// Records what an admitted attempt for `endpoint` learnt.
    pub fn record(
        &self,
        policy: &Policy,
        endpoint: &EndpointId,
        health: Health,
        probe: bool,
        now_ms: i64,
    ) {
        let mut map = self.lock();
        let breaker = map.entry(endpoint.clone()).or_default();
        breaker.record(policy, health, probe, now_ms);
        if breaker.is_idle() {
            map.remove(endpoint);
        }
    }

    /// Closes `endpoint`'s circuit (forgets its failures): its next message goes at once.
    pub fn close(&self, endpoint: &EndpointId) {
        self.lock().remove(endpoint);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Policy = Policy {
        failures_to_open: FAILURES_TO_OPEN,
        first_cool_down_ms: FIRST_COOL_DOWN_MS,
    };

    fn fail(b: &mut Breaker, times: u32, now: i64) {
        for _ in 0..times {
            assert_eq!(b.admit(now), Admission::Go);
            b.record(&P, Health::Down, false, now);
        }
    }

    #[test]
    fn overload_server_errors_and_silence_are_down_any_other_answer_is_up() {
        use crate::delivery::policy::Response;
        let status = |status| Response::Status {
            status,
            retry_after: None,
        };
        for down in [
            status(500),
            status(503),
            status(429),
            Response::Timeout,
            Response::ConnectError,
            Response::ForbiddenTarget,
        ] {
            assert_eq!(Health::of(&down), Health::Down, "{down:?}");
        }
        for up in [
            status(200),
            status(204),
            status(400),
            status(410),
            status(302),
        ] {
            assert_eq!(Health::of(&up), Health::Up, "{up:?}");
        }
    }

    #[test]
    fn it_opens_after_consecutive_failures_only() {
        let mut b = Breaker::default();
        fail(&mut b, FAILURES_TO_OPEN - 1, 0);
        b.record(&P, Health::Up, false, 0);
        fail(&mut b, FAILURES_TO_OPEN - 1, 0);
        assert_eq!(
            b.admit(0),
            Admission::Go,
            "a success in between resets the count"
        );
        b.record(&P, Health::Down, false, 0);
        assert_eq!(b.admit(1), Admission::WaitUntil(FIRST_COOL_DOWN_MS));
    }

    #[test]
    fn one_probe_after_the_cool_down_closes_or_doubles_it() {
        let mut b = Breaker::default();
        fail(&mut b, FAILURES_TO_OPEN, 0);
        let t = FIRST_COOL_DOWN_MS;
        assert_eq!(b.admit(t), Admission::Probe);
        assert_eq!(
            b.admit(t),
            Admission::WaitUntil(t + PROBE_WAIT_MS),
            "one probe at a time"
        );
        b.record(&P, Health::Down, true, t);
        assert_eq!(
            b.admit(t + 1),
            Admission::WaitUntil(t + 2 * FIRST_COOL_DOWN_MS)
        );
        let t = t + 2 * FIRST_COOL_DOWN_MS;
        assert_eq!(b.admit(t), Admission::Probe);
        b.record(&P, Health::Up, true, t);
        assert_eq!(b.admit(t), Admission::Go);
        assert!(b.is_idle());
    }

    #[test]
    fn the_cool_down_stops_doubling_at_its_maximum() {
        let mut b = Breaker::default();
        fail(&mut b, FAILURES_TO_OPEN, 0);
        let mut t = 0;
        let mut last = 0;
        for _ in 0..20 {
            t = match b.admit(t) {
                Admission::WaitUntil(until) => until,
                other => panic!("{other:?}"),
            };
            assert_eq!(b.admit(t), Admission::Probe);
            b.record(&P, Health::Down, true, t);
            let Admission::WaitUntil(next) = b.admit(t) else {
                panic!("open")
            };
            last = next - t;
        }
        assert_eq!(last, FIRST_COOL_DOWN_MS * MAX_COOL_DOWN_FACTOR);
    }

    #[test]
    fn a_probe_that_learnt_nothing_lets_the_next_message_probe() {
        let mut b = Breaker::default();
        fail(&mut b, FAILURES_TO_OPEN, 0);
        assert_eq!(b.admit(FIRST_COOL_DOWN_MS), Admission::Probe);
        b.record(&P, Health::Unknown, true, FIRST_COOL_DOWN_MS);
        assert_eq!(b.admit(FIRST_COOL_DOWN_MS), Admission::Probe);
    }

    #[test]
    fn late_failures_of_attempts_started_before_opening_do_not_extend_it() {
        let mut b = Breaker::default();
        fail(&mut b, FAILURES_TO_OPEN, 0);
        b.record(&P, Health::Down, false, 10_000);
        assert_eq!(b.admit(1), Admission::WaitUntil(FIRST_COOL_DOWN_MS));
        // ... but a late success shows the endpoint is back.
        b.record(&P, Health::Up, false, 10_000);
        assert_eq!(b.admit(10_001), Admission::Go);
    }
}
