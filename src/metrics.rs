//! Process metrics in the Prometheus text format (`GET /metrics`, behind
//! `GAPRELAY_METRICS_TOKEN`): counters of intake and delivery outcomes, submissions
//! discarded as automated per practice, and the queue's length. Labels come from fixed
//! sets, except the practice's id (a typed [`PractitionerId`]), so no patient data,
//! address or slug can ever become a label.
//!
//! Hand-written (a few atomics and a formatter) rather than a metrics crate: the set is
//! small and fixed, and this keeps the dependency tree and the hot path minimal.

use crate::delivery::policy::{AttemptOutcome, OutcomeCounter};
use crate::domain::ids::PractitionerId;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

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

const DELIVERY: [(AttemptOutcome, &str); 9] = [
    (AttemptOutcome::Delivered, "delivered"),
    (AttemptOutcome::Retrying, "retrying"),
    (AttemptOutcome::EndpointDisabled, "endpoint_disabled"),
    (AttemptOutcome::Expired, "expired"),
    (AttemptOutcome::Dropped, "dropped"),
    (AttemptOutcome::Undeliverable, "undeliverable"),
    (AttemptOutcome::Deferred, "deferred"),
    (AttemptOutcome::CircuitOpen, "circuit_open"),
    (AttemptOutcome::AwaitingEndpoint, "awaiting_endpoint"),
];

/// The counters of one process.
#[derive(Debug, Default)]
pub struct Metrics {
    intake: [AtomicU64; INTAKE.len()],
    delivery: [AtomicU64; DELIVERY.len()],
    /// Submissions discarded as automated, by practice (bots are rare: the map stays
    /// as small as the number of practices they hit).
    discarded: Mutex<BTreeMap<String, u64>>,
}

impl Metrics {
    /// Counts a submission's outcome.
    pub fn intake(&self, outcome: IntakeOutcome) {
        if let Some(i) = INTAKE.iter().position(|(o, _)| *o == outcome) {
            self.intake[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a submission to `practitioner` discarded as automated, so that a practice
    /// whose patients are screened out can be told (the sender is not: its answer is
    /// the usual 202). Also counted as [`IntakeOutcome::Discarded`] by the caller.
    pub fn discarded(&self, practitioner: &PractitionerId) {
        let mut map = self
            .discarded
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *map.entry(practitioner.as_str().to_owned()).or_default() += 1;
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
        out.push_str(
            "# HELP gaprelay_intake_discarded_total Submissions discarded as automated, by practice, in this process.\n",
        );
        out.push_str("# TYPE gaprelay_intake_discarded_total counter\n");
        let discarded = self
            .discarded
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for (practitioner, n) in discarded.iter() {
            let _ = writeln!(
                out,
                "gaprelay_intake_discarded_total{{practitioner=\"{practitioner}\"}} {n}"
            );
        }
        drop(discarded);
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

impl OutcomeCounter for Metrics {
    fn count(&self, outcome: AttemptOutcome) {
        self.delivery(outcome);
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
        let prac = PractitionerId::parse("prac_abc123").unwrap_or_else(|e| panic!("{e:?}"));
        m.discarded(&prac);
        m.discarded(&prac);
        let text = m.render(Some(7));
        assert!(text.contains("gaprelay_intake_discarded_total{practitioner=\"prac_abc123\"} 2\n"));
        assert!(text.contains("gaprelay_intake_total{outcome=\"accepted\"} 2\n"));
        assert!(text.contains("gaprelay_intake_total{outcome=\"discarded_bot\"} 0\n"));
        assert!(text.contains("gaprelay_delivery_attempts_total{outcome=\"circuit_open\"} 1\n"));
        assert!(text.contains("gaprelay_queue_messages 7\n"));
        assert!(m.render(None).contains("gaprelay_store_up 0\n"));
    }
}
