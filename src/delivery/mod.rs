//! Delivery: the retry policy, the circuit breaker and payload rendering (all pure),
//! the outbound HTTP sender, and the worker that ties them to the queue.

pub mod breaker;
pub mod payload;
pub mod policy;
pub mod sender;
pub mod worker;
