//! Telemetry: the tracing subscriber. Log lines carry ids, routes, statuses and
//! durations; docs/LOGGING.md lists what must never be logged.

use crate::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (`RUST_LOG` filters; default `info`). Safe to call
/// more than once: later calls are ignored.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
