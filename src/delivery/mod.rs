//! Delivery: the retry policy and payload rendering (both pure), the outbound HTTP
//! sender, and the worker that ties them to the queue.

pub mod payload;
pub mod policy;
pub mod sender;
pub mod worker;
