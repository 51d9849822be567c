//! Configuration: defaults → optional TOML file → `GAPRELAY_*` environment variables,
//! validated once at start into typed [`Settings`]. Every error says which key is wrong
//! and how to fix it; unknown `GAPRELAY_*` variables are reported as warnings so that a
//! typo does not silently fall back to a default.

use crate::crypto::api_key::AdminToken;
use crate::crypto::seal::MasterKey;
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// Longest a queued message may live, by contract: 24 hours after submission.
pub const MAX_MESSAGE_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The default retry schedule: the first retry within 10 s, then backing off to hours
/// apart; after the last step, retries continue at that interval until the TTL.
pub const DEFAULT_RETRY_SCHEDULE: &str = "5s,30s,2m,10m,30m,1h,2h,4h";

/// Validated, typed settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Listen address (`GAPRELAY_BIND`, default `127.0.0.1:8080`).
    pub bind: SocketAddr,
    /// Redis URL (`GAPRELAY_REDIS_URL`); `None` selects the embedded in-memory store.
    pub redis_url: Option<String>,
    /// Operator bearer token (`GAPRELAY_ADMIN_TOKEN`); `None` disables operator routes.
    pub admin_token: Option<AdminToken>,
    /// Key that encrypts queued payloads and stored secrets (`GAPRELAY_MASTER_KEY`,
    /// base64 of 32 bytes). `None` only when not configured; `serve`/`worker` refuse to
    /// start without one except in demo mode.
    pub master_key: Option<MasterKey>,
    /// Whether endpoints may target loopback/private addresses and plain http
    /// (`GAPRELAY_ALLOW_PRIVATE_TARGETS`, default false; development and tests only).
    pub allow_private_targets: bool,
    /// Delivery tuning.
    pub delivery: DeliverySettings,
    /// How long a public form's configuration is cached in-process
    /// (`GAPRELAY_FORM_CACHE_TTL`, default 2s; `0s` disables). Configuration changed
    /// through another instance reaches this one within this time.
    pub form_cache_ttl: Duration,
    /// How long audit-log entries are kept (`GAPRELAY_AUDIT_RETENTION`, default 730
    /// days, i.e. two years).
    pub audit_retention: Duration,
    /// Log output format (`GAPRELAY_LOG_FORMAT`: `pretty` or `json`, default `pretty`).
    pub log_format: LogFormat,
}

/// How delivery workers behave.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Timeout of one webhook request (`GAPRELAY_DELIVERY_TIMEOUT`, default 10s).
    pub timeout: Duration,
    /// Retry delays after each failed attempt (`GAPRELAY_RETRY_SCHEDULE`).
    pub retry_schedule: Vec<Duration>,
    /// How long a queued message lives (`GAPRELAY_MESSAGE_TTL`, default and max 24h).
    pub message_ttl: Duration,
    /// Deliveries in flight per process (`GAPRELAY_WORKER_CONCURRENCY`, default 32).
    pub concurrency: usize,
    /// Deliveries in flight to one endpoint per process (`GAPRELAY_ENDPOINT_CONCURRENCY`,
    /// default 8): a slow or failing endpoint cannot take every slot.
    pub endpoint_concurrency: usize,
    /// How often an idle worker polls the queue (`GAPRELAY_POLL_INTERVAL`, default 250ms).
    pub poll_interval: Duration,
    /// How long a claimed message is leased to its worker before another may take it
    /// (`GAPRELAY_LEASE`, default 60s; must exceed the delivery timeout).
    pub lease: Duration,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// What is wrong with the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML file could not be read.
    #[error("cannot read the configuration file {path}: {reason}")]
    File {
        /// Path.
        path: String,
        /// Why.
        reason: String,
    },
    /// A value is invalid.
    #[error("{key}: {reason}")]
    Invalid {
        /// The TOML key or environment variable.
        key: &'static str,
        /// What is wrong and how to fix it.
        reason: String,
    },
}

/// The configuration file's shape; every key is optional and overridden by the
/// environment.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    bind: Option<String>,
    redis_url: Option<String>,
    admin_token: Option<String>,
    master_key: Option<String>,
    allow_private_targets: Option<bool>,
    delivery_timeout: Option<String>,
    retry_schedule: Option<String>,
    message_ttl: Option<String>,
    worker_concurrency: Option<usize>,
    endpoint_concurrency: Option<usize>,
    poll_interval: Option<String>,
    lease: Option<String>,
    log_format: Option<String>,
    form_cache_ttl: Option<String>,
    audit_retention: Option<String>,
}

/// Environment variables this service reads (besides `RUST_LOG`).
pub const ENV_VARS: &[&str] = &[
    "GAPRELAY_CONFIG",
    "GAPRELAY_BIND",
    "GAPRELAY_REDIS_URL",
    "GAPRELAY_ADMIN_TOKEN",
    "GAPRELAY_MASTER_KEY",
    "GAPRELAY_ALLOW_PRIVATE_TARGETS",
    "GAPRELAY_DELIVERY_TIMEOUT",
    "GAPRELAY_RETRY_SCHEDULE",
    "GAPRELAY_MESSAGE_TTL",
    "GAPRELAY_WORKER_CONCURRENCY",
    "GAPRELAY_ENDPOINT_CONCURRENCY",
    "GAPRELAY_POLL_INTERVAL",
    "GAPRELAY_LEASE",
    "GAPRELAY_LOG_FORMAT",
    "GAPRELAY_FORM_CACHE_TTL",
    "GAPRELAY_AUDIT_RETENTION",
];

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        reason: reason.into(),
    }
}

fn duration(key: &'static str, s: &str) -> Result<Duration, ConfigError> {
    humantime::parse_duration(s.trim()).map_err(|_| {
        invalid(
            key,
            "is not a duration; write it like 500ms, 10s, 5m or 24h",
        )
    })
}

fn boolean(key: &'static str, s: &str) -> Result<bool, ConfigError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        _ => Err(invalid(key, "must be true or false")),
    }
}

/// Parses a comma-separated retry schedule such as `1s,2s,5s`.
pub fn parse_retry_schedule(key: &'static str, s: &str) -> Result<Vec<Duration>, ConfigError> {
    let steps = s
        .split(',')
        .map(|p| duration(key, p))
        .collect::<Result<Vec<_>, _>>()?;
    if steps.is_empty() {
        return Err(invalid(key, "needs at least one duration, e.g. 5s,30s,2m"));
    }
    Ok(steps)
}

impl Settings {
    /// Loads settings from an optional TOML file and the environment (`env` is passed
    /// in so tests need not mutate the process environment). Returns the settings and
    /// warnings to log once telemetry is up.
    pub fn load(
        file: Option<&Path>,
        env: &HashMap<String, String>,
    ) -> Result<(Settings, Vec<String>), ConfigError> {
        let mut warnings = Vec::new();
        let file_path = file
            .map(Path::to_path_buf)
            .or_else(|| env.get("GAPRELAY_CONFIG").map(Into::into));
        let from_file: FileSettings = match file_path {
            None => FileSettings::default(),
            Some(path) => {
                let shown = path.display().to_string();
                let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::File {
                    path: shown.clone(),
                    reason: e.to_string(),
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::File {
                    path: shown,
                    reason: e.message().to_owned(),
                })?
            }
        };
        for key in env.keys().filter(|k| k.starts_with("GAPRELAY_")) {
            if !ENV_VARS.contains(&key.as_str()) {
                warnings.push(format!("unknown environment variable {key} is ignored"));
            }
        }
        let pick =
            |var: &str, file: Option<String>| -> Option<String> { env.get(var).cloned().or(file) };

        let bind_s =
            pick("GAPRELAY_BIND", from_file.bind).unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind: SocketAddr = bind_s.parse().map_err(|_| {
            invalid(
                "GAPRELAY_BIND",
                "must be an address and port such as 127.0.0.1:8080",
            )
        })?;

        let redis_url =
            pick("GAPRELAY_REDIS_URL", from_file.redis_url).filter(|s| !s.trim().is_empty());
        if let Some(url) = &redis_url {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(invalid(
                    "GAPRELAY_REDIS_URL",
                    "must start with redis:// or rediss:// (unset it to use the embedded in-memory store)",
                ));
            }
        }

        let admin_token = match pick("GAPRELAY_ADMIN_TOKEN", from_file.admin_token) {
            None => None,
            Some(t) if t.len() < 16 => {
                return Err(invalid(
                    "GAPRELAY_ADMIN_TOKEN",
                    "must be at least 16 characters; generate one with `openssl rand -hex 32`",
                ))
            }
            Some(t) => Some(AdminToken::new(t)),
        };

        let master_key = match pick("GAPRELAY_MASTER_KEY", from_file.master_key) {
            None => None,
            Some(k) => Some(
                MasterKey::from_base64(&k)
                    .map_err(|e| invalid("GAPRELAY_MASTER_KEY", e.to_string()))?,
            ),
        };

        let allow_private_targets = match pick(
            "GAPRELAY_ALLOW_PRIVATE_TARGETS",
            from_file.allow_private_targets.map(|b| b.to_string()),
        ) {
            None => false,
            Some(s) => boolean("GAPRELAY_ALLOW_PRIVATE_TARGETS", &s)?,
        };

        let timeout = match pick("GAPRELAY_DELIVERY_TIMEOUT", from_file.delivery_timeout) {
            None => Duration::from_secs(10),
            Some(s) => duration("GAPRELAY_DELIVERY_TIMEOUT", &s)?,
        };
        if timeout.is_zero() || timeout > Duration::from_secs(120) {
            return Err(invalid(
                "GAPRELAY_DELIVERY_TIMEOUT",
                "must be between 1ms and 120s",
            ));
        }
        let retry_schedule = parse_retry_schedule(
            "GAPRELAY_RETRY_SCHEDULE",
            &pick("GAPRELAY_RETRY_SCHEDULE", from_file.retry_schedule)
                .unwrap_or_else(|| DEFAULT_RETRY_SCHEDULE.into()),
        )?;
        let message_ttl = match pick("GAPRELAY_MESSAGE_TTL", from_file.message_ttl) {
            None => MAX_MESSAGE_TTL,
            Some(s) => duration("GAPRELAY_MESSAGE_TTL", &s)?,
        };
        if message_ttl.is_zero() || message_ttl > MAX_MESSAGE_TTL {
            return Err(invalid(
                "GAPRELAY_MESSAGE_TTL",
                "must be more than 0 and at most 24h (patient data is never kept longer)",
            ));
        }
        let concurrency = match pick(
            "GAPRELAY_WORKER_CONCURRENCY",
            from_file.worker_concurrency.map(|n| n.to_string()),
        ) {
            None => 32,
            Some(s) => s
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=1024).contains(n))
                .ok_or_else(|| {
                    invalid(
                        "GAPRELAY_WORKER_CONCURRENCY",
                        "must be a whole number from 1 to 1024",
                    )
                })?,
        };
        let endpoint_concurrency = match pick(
            "GAPRELAY_ENDPOINT_CONCURRENCY",
            from_file.endpoint_concurrency.map(|n| n.to_string()),
        ) {
            None => 8,
            Some(s) => s
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=1024).contains(n))
                .ok_or_else(|| {
                    invalid(
                        "GAPRELAY_ENDPOINT_CONCURRENCY",
                        "must be a whole number from 1 to 1024",
                    )
                })?,
        };
        let poll_interval = match pick("GAPRELAY_POLL_INTERVAL", from_file.poll_interval) {
            None => Duration::from_millis(250),
            Some(s) => duration("GAPRELAY_POLL_INTERVAL", &s)?,
        };
        let lease = match pick("GAPRELAY_LEASE", from_file.lease) {
            None => Duration::from_secs(60).max(timeout * 3),
            Some(s) => duration("GAPRELAY_LEASE", &s)?,
        };
        if lease <= timeout {
            return Err(invalid(
                "GAPRELAY_LEASE",
                "must be longer than GAPRELAY_DELIVERY_TIMEOUT, or a slow delivery could be sent twice",
            ));
        }
        let form_cache_ttl = match pick("GAPRELAY_FORM_CACHE_TTL", from_file.form_cache_ttl) {
            None => Duration::from_secs(2),
            Some(s) => duration("GAPRELAY_FORM_CACHE_TTL", &s)?,
        };
        if form_cache_ttl > Duration::from_secs(300) {
            return Err(invalid(
                "GAPRELAY_FORM_CACHE_TTL",
                "must be at most 5m, or configuration changes take too long to apply",
            ));
        }
        let audit_retention = match pick("GAPRELAY_AUDIT_RETENTION", from_file.audit_retention) {
            None => Duration::from_secs(730 * 24 * 60 * 60),
            Some(s) => duration("GAPRELAY_AUDIT_RETENTION", &s)?,
        };
        if audit_retention < Duration::from_secs(24 * 60 * 60) {
            return Err(invalid(
                "GAPRELAY_AUDIT_RETENTION",
                "must be at least 1d (e.g. 730d for two years)",
            ));
        }
        let log_format = match pick("GAPRELAY_LOG_FORMAT", from_file.log_format).as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(invalid("GAPRELAY_LOG_FORMAT", "must be pretty or json")),
        };

        Ok((
            Settings {
                bind,
                redis_url,
                admin_token,
                master_key,
                allow_private_targets,
                delivery: DeliverySettings {
                    timeout,
                    retry_schedule,
                    message_ttl,
                    concurrency,
                    endpoint_concurrency,
                    poll_interval,
                    lease,
                },
                form_cache_ttl,
                audit_retention,
                log_format,
            },
            warnings,
        ))
    }

    /// Settings for tests and the demo: defaults with a fresh master key.
    pub fn for_tests(master_key: MasterKey) -> Settings {
        let (mut s, _) = Settings::load(None, &HashMap::new())
            .unwrap_or_else(|e| unreachable!("defaults are valid: {e}"));
        s.master_key = Some(master_key);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_are_sensible() {
        let (s, w) = Settings::load(None, &env(&[])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
        assert!(s.redis_url.is_none() && s.master_key.is_none() && !s.allow_private_targets);
        assert_eq!(s.delivery.message_ttl, MAX_MESSAGE_TTL);
        assert!(s.delivery.retry_schedule[0] <= Duration::from_secs(10));
        assert!(w.is_empty());
    }

    #[test]
    fn a_master_key_that_is_not_32_bytes_is_refused_with_a_fix() {
        let err = Settings::load(None, &env(&[("GAPRELAY_MASTER_KEY", "c2hvcnQ=")]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("GAPRELAY_MASTER_KEY"), "{err}");
        assert!(err.contains("32"), "{err}");
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("gaprelay.toml");
        std::fs::write(&path, "bind = \"127.0.0.1:9000\"\nmessage_ttl = \"1h\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let (s, _) = Settings::load(Some(&path), &env(&[("GAPRELAY_BIND", "0.0.0.0:7000")]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.bind.to_string(), "0.0.0.0:7000");
        assert_eq!(s.delivery.message_ttl, Duration::from_secs(3600));
    }

    #[test]
    fn unknown_file_keys_are_errors_and_unknown_env_vars_are_warnings() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("gaprelay.toml");
        std::fs::write(&path, "bnid = \"x\"\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(Settings::load(Some(&path), &env(&[])).is_err());
        let (_, w) =
            Settings::load(None, &env(&[("GAPRELAY_BNID", "x")])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn a_ttl_over_24_hours_is_refused() {
        assert!(Settings::load(None, &env(&[("GAPRELAY_MESSAGE_TTL", "25h")])).is_err());
        assert!(Settings::load(None, &env(&[("GAPRELAY_RETRY_SCHEDULE", "1s,x")])).is_err());
        assert!(Settings::load(None, &env(&[("GAPRELAY_REDIS_URL", "http://x")])).is_err());
    }
}
