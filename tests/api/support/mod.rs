//! Test support for the integration tests: a real Redis per test, a fake CRM receiver and the Python interop verifier.

// Each test file uses its own subset of these helpers, and a helper that no test uses
// yet must not fail `clippy -D warnings`; the self-tests in each module exercise them all.
#![allow(dead_code, unused_imports)]

pub mod fake_crm;
pub mod process;
pub mod python;
pub mod redis;
pub mod redis_cluster;
pub mod smtp;
pub mod webhook_schemas;

pub use self::fake_crm::{post_forged_webhook, FakeCrm, FakeResponse, RecordedRequest};
pub use self::process::{
    practice_with_endpoint, scrape_metrics, start_demo, Gaprelay, Lines, Relay,
};
pub use self::python::{interop_python, verify_webhook_with_python};
pub use self::redis::TestRedis;
pub use self::redis_cluster::TestCluster;
pub use self::smtp::{SinkTls, SmtpSink};
