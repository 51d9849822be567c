//! gaprelay: a zero-retention relay for health intake data.
//!
//! A patient's intake is validated, turned into a gap report against the practitioner's
//! own ranges, queued encrypted, and forwarded to the practitioner's CRM/EHR as a
//! signed, encrypted webhook; nothing is kept once it is delivered. See
//! docs/ARCHITECTURE.md for the map of this crate.

pub mod clock;
pub mod config;
pub mod crypto;
pub mod delivery;
pub mod domain;
pub mod http;
pub mod listen;
pub mod metrics;
pub mod notify;
pub mod precedence;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tls;
