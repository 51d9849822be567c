//! Per-endpoint concurrency that adapts to how each endpoint answers (AIMD, as TCP's
//! congestion window): a process starts every endpoint at `initial` deliveries in
//! flight and, like TCP, starts slow: until the endpoint's first overload each fast
//! answer adds one (the limit doubles with every window of fast answers), after it
//! about one for every window; an overload (a timeout, a connection error, 429, 5xx)
//! halves the limit. A fast endpoint soon takes
//! as many slots as it can use: every slot while no other endpoint has a delivery in
//! flight in this process, else up to `ceiling` (a quarter of the slots stay for the
//! others); a slow one stays where it started and a failing one drops to one.
//!
//! Pure bookkeeping, no I/O and no clock: the worker says how each attempt went.

use crate::domain::ids::EndpointId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An answer faster than this counts as fast (it raises the limit).
pub const FAST_ANSWER: Duration = Duration::from_secs(1);

/// How an attempt went, as far as the endpoint's capacity is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// A 2xx in under [`FAST_ANSWER`]: room for more.
    Fast,
    /// Nothing learnt about capacity (slow but answered, a 4xx, not sent at all).
    Neutral,
    /// Overloaded or down: a timeout, a connection error, 429 or 5xx.
    Overloaded,
}

/// The limits' bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Where every endpoint starts (`GAPRELAY_ENDPOINT_CONCURRENCY`).
    pub initial: usize,
    /// The most one endpoint may have in flight while another endpoint has any.
    pub ceiling: usize,
    /// The most one endpoint may reach alone: every slot.
    pub slots: usize,
}

impl Bounds {
    /// Starts at `initial`; may grow to three quarters of the process's `slots` (but
    /// never below `initial`), and to all of them while no other endpoint has anything
    /// in flight (a single busy endpoint would otherwise leave a quarter of the slots
    /// idle, and every claim that filled them would hand its messages back).
    pub fn new(initial: usize, slots: usize) -> Bounds {
        let initial = initial.max(1);
        Bounds {
            initial,
            ceiling: (slots - slots / 4).max(initial),
            slots: slots.max(initial),
        }
    }
}

/// One endpoint's state.
#[derive(Debug)]
struct State {
    /// The limit, fractional so that additive increase can add `1/limit` per answer.
    limit: f64,
    /// Until its first overload an endpoint's limit grows by one per fast answer (slow
    /// start): a burst at a fast endpoint is not handed back, a window at a time, while
    /// the limit creeps up from where every endpoint starts.
    slow_start: bool,
    in_flight: usize,
    /// Bumped on each decrease: answers to requests sent before it do not decrease the
    /// limit again (one halving per overload, not one per request then in flight).
    epoch: u64,
}

/// Every endpoint's adaptive limit in this process. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Limits {
    bounds: Bounds,
    states: Arc<Mutex<HashMap<EndpointId, State>>>,
}

/// A delivery slot of one endpoint, taken by [`Limits::try_acquire`]. Give it back
/// with [`Permit::finish`]; dropped unfinished, it counts as [`Signal::Neutral`].
#[derive(Debug)]
pub struct Permit {
    limits: Limits,
    endpoint: EndpointId,
    epoch: u64,
    finished: bool,
}

impl Limits {
    /// Limits within `bounds`.
    pub fn new(bounds: Bounds) -> Limits {
        Limits {
            bounds,
            states: Arc::default(),
        }
    }

    fn states(&self) -> std::sync::MutexGuard<'_, HashMap<EndpointId, State>> {
        self.states.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot of `endpoint`, unless it already has as many deliveries in flight as its
    /// limit allows.
    pub fn try_acquire(&self, endpoint: &EndpointId) -> Option<Permit> {
        let mut states = self.states();
        let state = states.entry(endpoint.clone()).or_insert_with(|| State {
            limit: self.bounds.initial as f64,
            slow_start: true,
            in_flight: 0,
            epoch: 0,
        });
        let (in_flight, limit) = (state.in_flight, state.limit.floor() as usize);
        let others_busy = states
            .iter()
            .any(|(id, other)| id != endpoint && other.in_flight > 0);
        let allowed = if others_busy {
            limit.min(self.bounds.ceiling)
        } else {
            limit
        };
        if in_flight >= allowed {
            return None;
        }
        let state = states.get_mut(endpoint)?;
        state.in_flight += 1;
        Some(Permit {
            limits: self.clone(),
            endpoint: endpoint.clone(),
            epoch: state.epoch,
            finished: false,
        })
    }

    /// `endpoint`'s current limit (whole deliveries).
    pub fn limit(&self, endpoint: &EndpointId) -> usize {
        self.states()
            .get(endpoint)
            .map_or(self.bounds.initial, |s| s.limit.floor() as usize)
    }

    fn release(&self, endpoint: &EndpointId, epoch: u64, signal: Signal) {
        let mut states = self.states();
        let Some(state) = states.get_mut(endpoint) else {
            return;
        };
        state.in_flight = state.in_flight.saturating_sub(1);
        match signal {
            Signal::Fast => {
                let step = if state.slow_start {
                    1.0
                } else {
                    1.0 / state.limit
                };
                state.limit = (state.limit + step).min(self.bounds.slots as f64);
            }
            Signal::Overloaded if epoch == state.epoch => {
                state.limit = (state.limit / 2.0).max(1.0);
                state.slow_start = false;
                state.epoch += 1;
            }
            Signal::Overloaded | Signal::Neutral => {}
        }
        // An idle endpoint back at its start, never overloaded, is forgotten: the map
        // holds only endpoints with something in flight or something learnt.
        if state.in_flight == 0 && state.slow_start && state.limit == self.bounds.initial as f64 {
            states.remove(endpoint);
        }
    }
}

impl Permit {
    /// Gives the slot back, saying how the attempt went.
    pub fn finish(mut self, signal: Signal) {
        self.finished = true;
        self.limits.release(&self.endpoint, self.epoch, signal);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.finished {
            self.limits
                .release(&self.endpoint, self.epoch, Signal::Neutral);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn endpoint(seed: u64) -> EndpointId {
        EndpointId::generate(&mut rand::rngs::StdRng::seed_from_u64(seed))
    }

    /// Takes every slot `ep` allows now, then finishes them all with `signal`.
    fn round(limits: &Limits, ep: &EndpointId, signal: Signal) -> usize {
        let permits: Vec<Permit> = std::iter::from_fn(|| limits.try_acquire(ep)).collect();
        let n = permits.len();
        for p in permits {
            p.finish(signal);
        }
        n
    }

    #[test]
    fn the_ceiling_leaves_a_quarter_of_the_slots_and_is_never_below_the_start() {
        assert_eq!(
            Bounds::new(8, 32),
            Bounds {
                initial: 8,
                ceiling: 24,
                slots: 32
            }
        );
        assert_eq!(
            Bounds::new(8, 4),
            Bounds {
                initial: 8,
                ceiling: 8,
                slots: 8
            }
        );
        assert_eq!(Bounds::new(0, 1).initial, 1);
    }

    #[test]
    fn fast_answers_double_the_limit_each_round_until_the_first_overload() {
        let limits = Limits::new(Bounds::new(4, 32));
        let ep = endpoint(1);
        // Slow start: each fast answer adds one, so each round of answers doubles it.
        let sent: Vec<usize> = (0..4).map(|_| round(&limits, &ep, Signal::Fast)).collect();
        assert_eq!(sent, [4, 8, 16, 32], "alone, it may take every slot");
        assert_eq!(limits.limit(&ep), 32);
        // One overload ends the slow start: halved, then each fast answer adds 1/limit,
        // a little under one per round.
        round(&limits, &ep, Signal::Overloaded);
        assert_eq!(limits.limit(&ep), 16);
        let sent: Vec<usize> = (0..4).map(|_| round(&limits, &ep, Signal::Fast)).collect();
        assert_eq!(sent, [16, 16, 17, 18]);
        // Halved back to its start, idle, it is not forgotten: the overload is learnt.
        let limits = Limits::new(Bounds::new(4, 32));
        round(&limits, &ep, Signal::Fast);
        round(&limits, &ep, Signal::Overloaded);
        assert_eq!(limits.limit(&ep), 4);
        assert_eq!(round(&limits, &ep, Signal::Fast), 4);
        assert_eq!(round(&limits, &ep, Signal::Fast), 4);
        assert_eq!(limits.limit(&ep), 5, "additive now, not doubling again");
    }

    #[test]
    fn fast_answers_raise_the_limit_up_to_the_ceiling() {
        let limits = Limits::new(Bounds::new(4, 32));
        let ep = endpoint(1);
        for _ in 0..10 {
            round(&limits, &ep, Signal::Fast);
        }
        assert_eq!(limits.limit(&ep), 32, "alone, it may take every slot");
        assert_eq!(round(&limits, &ep, Signal::Fast), 32);
        // While another endpoint has a delivery in flight, a quarter stays for others.
        let other = endpoint(9);
        let busy = limits
            .try_acquire(&other)
            .expect("a slot for another endpoint");
        assert_eq!(round(&limits, &ep, Signal::Fast), 24);
        busy.finish(Signal::Neutral);
        assert_eq!(round(&limits, &ep, Signal::Fast), 32);
    }

    #[test]
    fn one_overload_halves_the_limit_once_however_many_were_in_flight() {
        let limits = Limits::new(Bounds::new(16, 64));
        let ep = endpoint(2);
        let permits: Vec<Permit> = std::iter::from_fn(|| limits.try_acquire(&ep)).collect();
        assert_eq!(permits.len(), 16);
        for p in permits {
            p.finish(Signal::Overloaded);
        }
        assert_eq!(limits.limit(&ep), 8, "halved once, not sixteen times");
        // Overloads of requests sent after the decrease halve it again, down to one.
        for expected in [4, 2, 1, 1] {
            round(&limits, &ep, Signal::Overloaded);
            assert_eq!(limits.limit(&ep), expected);
        }
        assert!(limits.try_acquire(&ep).is_some());
    }

    #[test]
    fn slow_or_unknown_answers_hold_the_limit_and_endpoints_are_independent() {
        let limits = Limits::new(Bounds::new(2, 32));
        let (slow, fast) = (endpoint(3), endpoint(4));
        for _ in 0..10 {
            assert_eq!(round(&limits, &slow, Signal::Neutral), 2);
            round(&limits, &fast, Signal::Fast);
        }
        assert_eq!(
            limits.limit(&slow),
            2,
            "a slow endpoint stays where it started"
        );
        assert!(limits.limit(&fast) > 2);
        // At its limit an endpoint gets no slot; the other still does.
        let held: Vec<Permit> = std::iter::from_fn(|| limits.try_acquire(&slow)).collect();
        assert_eq!(held.len(), 2);
        assert!(limits.try_acquire(&slow).is_none());
        assert!(limits.try_acquire(&fast).is_some());
        drop(held); // dropped unfinished: neutral, slots back
        assert!(limits.try_acquire(&slow).is_some());
    }

    #[test]
    fn an_idle_endpoint_at_its_start_is_forgotten() {
        let limits = Limits::new(Bounds::new(3, 32));
        let ep = endpoint(5);
        round(&limits, &ep, Signal::Neutral);
        assert!(limits.states().is_empty());
        round(&limits, &ep, Signal::Fast);
        assert_eq!(limits.states().len(), 1, "a learnt limit is kept");
    }
}
