//! The integration test binary: the real application over real HTTP, with a real Redis
//! per test, a fake CRM and the Python interop libraries. One file per capability.

mod helpers;
mod support;

mod abuse;
mod account;
mod alerts;
mod browser;
mod cli;
mod clinical;
mod cluster;
mod cors;
mod delivery;
mod endpoints;
mod fault_injection;
mod fhir;
mod form_page;
mod held;
mod intake;
mod interop;
mod key_rotation;
mod listen;
mod openapi;
mod partitions;
mod practitioners;
mod precedence;
mod ranges;
mod receiver_crate;
mod receiver_keys;
mod receivers;
mod scale_apart;
mod schemas;
mod schemathesis;
mod store_conformance;
mod tidy;
mod transport;
mod zero_retention;
