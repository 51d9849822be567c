//! Delivery: the retry policy, the circuit breaker, the adaptive per-endpoint
//! concurrency, payload rendering and the FHIR R4
//! rendering (all pure), the outbound HTTP sender, the endpoints' secrets as opened for
//! delivery, the worker that ties them to the queue, and the alerts to a practice whose
//! endpoint keeps failing.

pub mod alerts;
pub mod breaker;
pub mod concurrency;
pub mod fhir;
pub mod message;
pub mod opened;
pub mod payload;
pub mod policy;
pub mod sender;
pub mod settings;
pub mod worker;
