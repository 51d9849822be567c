//! How delivery workers behave: the settings `config` reads (from defaults, TOML and
//! `GAPRELAY_*` variables) and hands to the worker. Declared here, with the code they
//! steer, so that delivery depends on no configuration code.

use std::time::Duration;

/// How delivery workers behave.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Timeout of one webhook request (`delivery_timeout`).
    pub timeout: Duration,
    /// Retry delays after each failed attempt (`retry_schedule`).
    pub retry_schedule: Vec<Duration>,
    /// How long a queued message lives (`message_ttl`, at most `config::MAX_MESSAGE_TTL`).
    pub message_ttl: Duration,
    /// Deliveries in flight per process (`worker_concurrency`).
    pub concurrency: usize,
    /// Deliveries in flight to one endpoint per process (`endpoint_concurrency`): a
    /// slow or failing endpoint cannot take every slot.
    pub endpoint_concurrency: usize,
    /// How often an idle worker polls the queue (`poll_interval`).
    pub poll_interval: Duration,
    /// How long a claimed message is leased to its worker before another may take it
    /// (`lease`; always longer than the delivery timeout).
    pub lease: Duration,
    /// The per-endpoint circuit breaker (`circuit_breaker`; `None`: off).
    pub breaker: Option<super::breaker::Policy>,
}
