//! Process metrics in the Prometheus text format (`GET /metrics`): counters of intake
//! and delivery outcomes and the queue's length. Labels come from fixed sets only, so
//! no patient data, address, slug or id can ever become a label.
//!
//! Hand-written (a few atomics and a formatter) rather than a metrics crate: the set is
//! small and fixed, and this keeps the dependency tree and the hot path minimal.

use crate::delivery::worker::AttemptOutcome;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// How a submission ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeOutcome {
    /// Queued (202).
    Accepted,
    /// Refused as invalid (4xx with field problems or a malformed body).
    Invalid,
    /// Over a rate limit (429).
    RateLimited,
    /// Screened as a bot: answered 202, discarded.
    Discarded,
    /// The queue could not take it (503).
    Unavailable,
}

const INTAKE: [(IntakeOutcome, &str); 5] = [
    (IntakeOutcome::Accepted, "accepted"),
    (IntakeOutcome::Invalid, "invalid"),
    (IntakeOutcome::RateLimited, "rate_limited"),
    (IntakeOutcome::Discarded, "discarded_bot"),
    (IntakeOutcome::Unavailable, "unavailable"),
];

const DELIVERY: [(AttemptOutcome, &str); 8] = [
    (AttemptOutcome::Delivered, "delivered"),
    (AttemptOutcome::Retrying, "retrying"),
    (AttemptOutcome::EndpointDisabled, "endpoint_disabled"),
    (AttemptOutcome::Expired, "expired"),
    (AttemptOutcome::Dropped, "dropped"),
    (AttemptOutcome::Failed, "failed"),
    (AttemptOutcome::Deferred, "deferred"),
    (AttemptOutcome::CircuitOpen, "circuit_open"),
];

/// The counters of one process.
#[derive(Debug, Default)]
pub struct Metrics {
    intake: [AtomicU64; INTAKE.len()],
    delivery: [AtomicU64; DELIVERY.len()],
}

impl Metrics {
    /// Counts a submission's outcome.
    pub fn intake(&self, outcome: IntakeOutcome) {
        if let Some(i) = INTAKE.iter().position(|(o, _)| *o == outcome) {
            self.intake[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a delivery attempt's outcome.
    pub fn delivery(&self, outcome: AttemptOutcome) {
        if let Some(i) = DELIVERY.iter().position(|(o, _)| *o == outcome) {
            self.delivery[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The Prometheus text exposition; `queue` is the queue's length when the store
    /// answered.
    pub fn render(&self, queue: Option<usize>) -> String {
        let mut out = String::new();
        out.push_str("# HELP gaprelay_intake_total Submissions by outcome, in this process.\n");
        out.push_str("# TYPE gaprelay_intake_total counter\n");
        for (i, (_, label)) in INTAKE.iter().enumerate() {
            let n = self.intake[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "gaprelay_intake_total{{outcome=\"{label}\"}} {n}");
        }
        out.push_str("# HELP gaprelay_delivery_attempts_total Delivery attempts by outcome, in this process.\n");
        out.push_str("# TYPE gaprelay_delivery_attempts_total counter\n");
        for (i, (_, label)) in DELIVERY.iter().enumerate() {
            let n = self.delivery[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "gaprelay_delivery_attempts_total{{outcome=\"{label}\"}} {n}"
            );
        }
        out.push_str("# HELP gaprelay_store_up Whether the store (Redis) answered this scrape.\n");
        out.push_str("# TYPE gaprelay_store_up gauge\n");
        let _ = writeln!(out, "gaprelay_store_up {}", u8::from(queue.is_some()));
        if let Some(n) = queue {
            out.push_str(
                "# HELP gaprelay_queue_messages Messages waiting for delivery (all instances).\n",
            );
            out.push_str("# TYPE gaprelay_queue_messages gauge\n");
            let _ = writeln!(out, "gaprelay_queue_messages {n}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_with_fixed_labels() {
        let m = Metrics::default();
        m.intake(IntakeOutcome::Accepted);
        m.intake(IntakeOutcome::Accepted);
        m.delivery(AttemptOutcome::CircuitOpen);
        let text = m.render(Some(7));
        assert!(text.contains("gaprelay_intake_total{outcome=\"accepted\"} 2\n"));
        assert!(text.contains("gaprelay_intake_total{outcome=\"discarded_bot\"} 0\n"));
        assert!(text.contains("gaprelay_delivery_attempts_total{outcome=\"circuit_open\"} 1\n"));
        assert!(text.contains("gaprelay_queue_messages 7\n"));
        assert!(m.render(None).contains("gaprelay_store_up 0\n"));
    }
}
