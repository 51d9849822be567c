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
    /// Whether `redis_url` names a Redis Cluster (`GAPRELAY_REDIS_CLUSTER`, default
    /// false); the URL may then list several seed nodes, comma-separated.
    pub redis_cluster: bool,
    /// Operator bearer token (`GAPRELAY_ADMIN_TOKEN`); `None` disables operator routes.
    pub admin_token: Option<AdminToken>,
    /// Bearer token a scraper presents to read `GET /metrics`
    /// (`GAPRELAY_METRICS_TOKEN`, at least 16 characters); `None`: `/metrics` answers
    /// 404, so the public listener tells a bot nothing about how its requests fared.
    pub metrics_token: Option<AdminToken>,
    /// Deadlines of the HTTP server.
    pub http: HttpTimeouts,
    /// Key that encrypts queued payloads and stored secrets (`GAPRELAY_MASTER_KEY`,
    /// base64 of 32 bytes), with the keys it replaced (`GAPRELAY_PREVIOUS_MASTER_KEYS`,
    /// comma-separated), which only open what they sealed. `None` only when not
    /// configured; `serve`/`worker` refuse to start without one except in demo mode.
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
    /// Abuse limits of the public form routes.
    pub public: PublicLimits,
    /// Terminate TLS with these files (`GAPRELAY_TLS_CERT`, `GAPRELAY_TLS_KEY`, both or
    /// neither); `None` serves plain HTTP, for use behind a TLS-terminating proxy.
    pub tls: Option<TlsFiles>,
    /// The form `GET /demo` embeds, in demo mode (`serve --demo`) only; not read from
    /// the file or the environment. `None`: `/demo` is a 404.
    pub demo_form: Option<String>,
    /// The mail server that tells a practice when one of its endpoints keeps failing
    /// (`GAPRELAY_SMTP_URL`: `smtp://user:password@host:587` for STARTTLS,
    /// `smtps://user:password@host:465` for TLS, `smtp://host:25?tls=none` for a local
    /// relay without encryption; with `GAPRELAY_SMTP_FROM`, the sender address). `None`:
    /// no email is sent (the `endpoint.failing` event still is). The password never
    /// shows in `Debug`.
    pub smtp: Option<crate::notify::smtp::SmtpSettings>,
}

/// Deadlines that bound how long a client can hold a connection (and a file
/// descriptor) without finishing its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpTimeouts {
    /// Longest a request's body may take to arrive once its head is in
    /// (`GAPRELAY_BODY_READ_TIMEOUT`, default 10s, at most 5m): after it the answer is
    /// `408 request_timeout` and the connection is closed.
    pub body_read: Duration,
    /// How long an idle keep-alive connection is held open between requests
    /// (`GAPRELAY_KEEP_ALIVE`, default 5s, at most 5m; `0s` closes the connection after
    /// each response). Behind a proxy that reuses connections, set it longer than the
    /// proxy's own idle timeout.
    pub keep_alive: Duration,
    /// Longest the head (request line and headers) of a connection's first request may
    /// take to arrive (`GAPRELAY_CLIENT_REQUEST_TIMEOUT`, default 5s, 1ms to 5m): after
    /// it the answer is 408 and the connection is closed.
    pub request_head: Duration,
}

/// The certificate chain and private key `serve` terminates TLS with (PEM files).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain, leaf first (`GAPRELAY_TLS_CERT`).
    pub cert: std::path::PathBuf,
    /// Private key: PKCS#8, PKCS#1 or SEC1 (`GAPRELAY_TLS_KEY`).
    pub key: std::path::PathBuf,
}

/// How the public form routes are protected from abuse.
#[derive(Debug, Clone)]
pub struct PublicLimits {
    /// Requests to the public routes per client address
    /// (`GAPRELAY_RATE_LIMIT_PER_ADDRESS`, default `30/min`; `off` disables).
    pub per_address: Option<Rate>,
    /// Intake submissions per practice (`GAPRELAY_RATE_LIMIT_PER_PRACTITIONER`, default
    /// `300/min`; `off` disables).
    pub per_practitioner: Option<Rate>,
    /// Reverse proxies whose `X-Forwarded-For` is believed
    /// (`GAPRELAY_TRUSTED_PROXIES`: addresses or CIDR blocks, comma-separated; default
    /// none, so the header is ignored and the peer address is the client).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// A submission sent sooner than this after its form was loaded is taken for a bot
    /// and quietly discarded (`GAPRELAY_MIN_FILL_TIME`, default `3s`; `0s` disables).
    pub min_fill_time: Duration,
}

/// A rate: `count` per `per`, with bursts of up to `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// How many.
    pub count: u32,
    /// Per how long.
    pub per: Duration,
}

/// Parses `N/s`, `N/min`, `N/h` or `off`.
fn rate(key: &'static str, s: &str) -> Result<Option<Rate>, ConfigError> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let bad = || invalid(key, "must be like 30/min, 5/s or 1000/h, or off");
    let (n, unit) = s.split_once('/').ok_or_else(bad)?;
    let count: u32 = n.trim().parse().ok().filter(|n| *n > 0).ok_or_else(bad)?;
    let per = match unit.trim() {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "m" | "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        _ => return Err(bad()),
    };
    Ok(Some(Rate { count, per }))
}

fn proxies(key: &'static str, s: &str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    invalid(
                        key,
                        format!("{p:?} is not an IP address or CIDR block (e.g. 10.0.0.0/8)"),
                    )
                })
        })
        .collect()
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
    /// The per-endpoint circuit breaker (`GAPRELAY_CIRCUIT_BREAKER`: `N/cool-down`,
    /// default `5/30s`, or `off`).
    pub breaker: Option<crate::delivery::breaker::Policy>,
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
    redis_cluster: Option<bool>,
    admin_token: Option<String>,
    metrics_token: Option<String>,
    body_read_timeout: Option<String>,
    keep_alive: Option<String>,
    client_request_timeout: Option<String>,
    master_key: Option<String>,
    previous_master_keys: Option<String>,
    allow_private_targets: Option<bool>,
    delivery_timeout: Option<String>,
    retry_schedule: Option<String>,
    message_ttl: Option<String>,
    worker_concurrency: Option<usize>,
    endpoint_concurrency: Option<usize>,
    poll_interval: Option<String>,
    lease: Option<String>,
    circuit_breaker: Option<String>,
    log_format: Option<String>,
    form_cache_ttl: Option<String>,
    audit_retention: Option<String>,
    rate_limit_per_address: Option<String>,
    rate_limit_per_practitioner: Option<String>,
    trusted_proxies: Option<String>,
    min_fill_time: Option<String>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
    smtp_url: Option<String>,
    smtp_from: Option<String>,
}

/// Environment variables this service reads (besides `RUST_LOG`).
pub const ENV_VARS: &[&str] = &[
    "GAPRELAY_CONFIG",
    "GAPRELAY_BIND",
    "GAPRELAY_REDIS_URL",
    "GAPRELAY_REDIS_CLUSTER",
    "GAPRELAY_ADMIN_TOKEN",
    "GAPRELAY_METRICS_TOKEN",
    "GAPRELAY_BODY_READ_TIMEOUT",
    "GAPRELAY_KEEP_ALIVE",
    "GAPRELAY_CLIENT_REQUEST_TIMEOUT",
    "GAPRELAY_MASTER_KEY",
    "GAPRELAY_PREVIOUS_MASTER_KEYS",
    "GAPRELAY_ALLOW_PRIVATE_TARGETS",
    "GAPRELAY_DELIVERY_TIMEOUT",
    "GAPRELAY_RETRY_SCHEDULE",
    "GAPRELAY_MESSAGE_TTL",
    "GAPRELAY_WORKER_CONCURRENCY",
    "GAPRELAY_ENDPOINT_CONCURRENCY",
    "GAPRELAY_POLL_INTERVAL",
    "GAPRELAY_LEASE",
    "GAPRELAY_CIRCUIT_BREAKER",
    "GAPRELAY_LOG_FORMAT",
    "GAPRELAY_FORM_CACHE_TTL",
    "GAPRELAY_AUDIT_RETENTION",
    "GAPRELAY_RATE_LIMIT_PER_ADDRESS",
    "GAPRELAY_RATE_LIMIT_PER_PRACTITIONER",
    "GAPRELAY_TRUSTED_PROXIES",
    "GAPRELAY_MIN_FILL_TIME",
    "GAPRELAY_TLS_CERT",
    "GAPRELAY_TLS_KEY",
    "GAPRELAY_SMTP_URL",
    "GAPRELAY_SMTP_FROM",
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

/// A server deadline: `default` when unset, otherwise a duration of at most 5 minutes,
/// and more than zero unless `zero_ok`.
fn bounded_duration(
    key: &'static str,
    value: Option<String>,
    default: Duration,
    zero_ok: bool,
) -> Result<Duration, ConfigError> {
    let Some(s) = value else {
        return Ok(default);
    };
    let d = duration(key, &s)?;
    if (d.is_zero() && !zero_ok) || d > Duration::from_secs(300) {
        return Err(invalid(
            key,
            if zero_ok {
                "must be at most 5m"
            } else {
                "must be more than 0 and at most 5m"
            },
        ));
    }
    Ok(d)
}

/// A number of concurrent deliveries: a whole number from 1 to 1024.
fn slots(key: &'static str, s: &str) -> Result<usize, ConfigError> {
    s.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=1024).contains(n))
        .ok_or_else(|| invalid(key, "must be a whole number from 1 to 1024"))
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
        let redis_cluster = match pick(
            "GAPRELAY_REDIS_CLUSTER",
            from_file.redis_cluster.map(|b| b.to_string()),
        ) {
            None => false,
            Some(s) => boolean("GAPRELAY_REDIS_CLUSTER", &s)?,
        };
        if let Some(url) = &redis_url {
            let urls: Vec<&str> = if redis_cluster {
                url.split(',').map(str::trim).collect()
            } else {
                vec![url.as_str()]
            };
            if urls.iter().any(|u| {
                !(u.starts_with("redis://") || u.starts_with("rediss://")) || u.contains(',')
            }) {
                return Err(invalid(
                    "GAPRELAY_REDIS_URL",
                    if redis_cluster {
                        "must list Redis Cluster nodes as redis:// or rediss:// URLs, comma-separated"
                    } else {
                        "must be one redis:// or rediss:// URL (unset it to use the embedded in-memory store; for a Redis Cluster set GAPRELAY_REDIS_CLUSTER=true and list its nodes)"
                    },
                ));
            }
        } else if redis_cluster {
            return Err(invalid(
                "GAPRELAY_REDIS_CLUSTER",
                "needs GAPRELAY_REDIS_URL: one or more cluster node URLs, comma-separated",
            ));
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
        let metrics_token = match pick("GAPRELAY_METRICS_TOKEN", from_file.metrics_token) {
            None => None,
            Some(t) if t.len() < 16 => {
                return Err(invalid(
                    "GAPRELAY_METRICS_TOKEN",
                    "must be at least 16 characters; generate one with `openssl rand -hex 32`",
                ))
            }
            Some(t) => Some(AdminToken::new(t)),
        };
        let http = HttpTimeouts {
            body_read: bounded_duration(
                "GAPRELAY_BODY_READ_TIMEOUT",
                pick("GAPRELAY_BODY_READ_TIMEOUT", from_file.body_read_timeout),
                Duration::from_secs(10),
                false,
            )?,
            keep_alive: bounded_duration(
                "GAPRELAY_KEEP_ALIVE",
                pick("GAPRELAY_KEEP_ALIVE", from_file.keep_alive),
                Duration::from_secs(5),
                true,
            )?,
            request_head: bounded_duration(
                "GAPRELAY_CLIENT_REQUEST_TIMEOUT",
                pick(
                    "GAPRELAY_CLIENT_REQUEST_TIMEOUT",
                    from_file.client_request_timeout,
                ),
                Duration::from_secs(5),
                false,
            )?,
        };

        let previous_keys: Vec<MasterKey> = pick(
            "GAPRELAY_PREVIOUS_MASTER_KEYS",
            from_file.previous_master_keys,
        )
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| {
            MasterKey::from_base64(k).map_err(|e| {
                invalid(
                    "GAPRELAY_PREVIOUS_MASTER_KEYS",
                    e.to_string().replace(
                        "GAPRELAY_MASTER_KEY",
                        "each of GAPRELAY_PREVIOUS_MASTER_KEYS",
                    ),
                )
            })
        })
        .collect::<Result<_, _>>()?;
        let master_key = match pick("GAPRELAY_MASTER_KEY", from_file.master_key) {
            None if !previous_keys.is_empty() => {
                return Err(invalid(
                    "GAPRELAY_PREVIOUS_MASTER_KEYS",
                    "needs GAPRELAY_MASTER_KEY: previous keys only open what they sealed",
                ))
            }
            None => None,
            Some(k) => Some(
                MasterKey::from_base64(&k)
                    .map_err(|e| invalid("GAPRELAY_MASTER_KEY", e.to_string()))?
                    .with_previous(&previous_keys),
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
            Some(s) => slots("GAPRELAY_WORKER_CONCURRENCY", &s)?,
        };
        let endpoint_concurrency = match pick(
            "GAPRELAY_ENDPOINT_CONCURRENCY",
            from_file.endpoint_concurrency.map(|n| n.to_string()),
        ) {
            None => 8,
            Some(s) => slots("GAPRELAY_ENDPOINT_CONCURRENCY", &s)?,
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

        let breaker = match pick("GAPRELAY_CIRCUIT_BREAKER", from_file.circuit_breaker) {
            None => Some(crate::delivery::breaker::Policy::default()),
            Some(s) if s.trim().eq_ignore_ascii_case("off") => None,
            Some(s) => {
                let bad = || {
                    invalid(
                        "GAPRELAY_CIRCUIT_BREAKER",
                        "must be like 5/30s (failures in a row / first cool-down) or off",
                    )
                };
                let (n, d) = s.split_once('/').ok_or_else(bad)?;
                let failures: u32 = n.trim().parse().ok().filter(|n| *n > 0).ok_or_else(bad)?;
                let cool_down = humantime::parse_duration(d.trim()).map_err(|_| bad())?;
                if cool_down.is_zero() || cool_down > Duration::from_secs(3600) {
                    return Err(bad());
                }
                Some(crate::delivery::breaker::Policy {
                    failures_to_open: failures,
                    first_cool_down_ms: i64::try_from(cool_down.as_millis()).unwrap_or(i64::MAX),
                })
            }
        };
        let public = PublicLimits {
            per_address: rate(
                "GAPRELAY_RATE_LIMIT_PER_ADDRESS",
                &pick(
                    "GAPRELAY_RATE_LIMIT_PER_ADDRESS",
                    from_file.rate_limit_per_address,
                )
                .unwrap_or_else(|| "30/min".into()),
            )?,
            per_practitioner: rate(
                "GAPRELAY_RATE_LIMIT_PER_PRACTITIONER",
                &pick(
                    "GAPRELAY_RATE_LIMIT_PER_PRACTITIONER",
                    from_file.rate_limit_per_practitioner,
                )
                .unwrap_or_else(|| "300/min".into()),
            )?,
            trusted_proxies: proxies(
                "GAPRELAY_TRUSTED_PROXIES",
                &pick("GAPRELAY_TRUSTED_PROXIES", from_file.trusted_proxies).unwrap_or_default(),
            )?,
            min_fill_time: match pick("GAPRELAY_MIN_FILL_TIME", from_file.min_fill_time) {
                None => Duration::from_secs(3),
                Some(s) => duration("GAPRELAY_MIN_FILL_TIME", &s)?,
            },
        };
        if public.min_fill_time > Duration::from_secs(60) {
            return Err(invalid(
                "GAPRELAY_MIN_FILL_TIME",
                "must be at most 60s (a quick patient must not be taken for a bot)",
            ));
        }

        let smtp = match (
            pick("GAPRELAY_SMTP_URL", from_file.smtp_url).filter(|s| !s.trim().is_empty()),
            pick("GAPRELAY_SMTP_FROM", from_file.smtp_from).filter(|s| !s.trim().is_empty()),
        ) {
            (None, None) => None,
            (Some(url), Some(from)) => Some(
                crate::notify::smtp::SmtpSettings::parse(&url, &from).map_err(|reason| {
                    if reason.starts_with("GAPRELAY_SMTP_FROM") {
                        invalid(
                            "GAPRELAY_SMTP_FROM",
                            reason.replacen("GAPRELAY_SMTP_FROM ", "", 1),
                        )
                    } else {
                        invalid("GAPRELAY_SMTP_URL", reason)
                    }
                })?,
            ),
            (Some(_), None) => {
                return Err(invalid(
                    "GAPRELAY_SMTP_FROM",
                    "must be set with GAPRELAY_SMTP_URL: the address alerts are sent from",
                ))
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "GAPRELAY_SMTP_URL",
                    "must be set with GAPRELAY_SMTP_FROM: the mail server alerts go through",
                ))
            }
        };

        let tls = match (
            pick("GAPRELAY_TLS_CERT", from_file.tls_cert).filter(|s| !s.trim().is_empty()),
            pick("GAPRELAY_TLS_KEY", from_file.tls_key).filter(|s| !s.trim().is_empty()),
        ) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.trim().into(),
                key: key.trim().into(),
            }),
            (Some(_), None) => return Err(invalid(
                "GAPRELAY_TLS_KEY",
                "must be set with GAPRELAY_TLS_CERT: the PEM file of the certificate's private key",
            )),
            (None, Some(_)) => {
                return Err(invalid(
                    "GAPRELAY_TLS_CERT",
                    "must be set with GAPRELAY_TLS_KEY: the PEM file of the certificate chain",
                ))
            }
        };

        Ok((
            Settings {
                bind,
                redis_url,
                redis_cluster,
                admin_token,
                metrics_token,
                http,
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
                    breaker,
                },
                form_cache_ttl,
                audit_retention,
                log_format,
                public,
                tls,
                demo_form: None,
                smtp,
            },
            warnings,
        ))
    }

    /// Settings for tests and the demo: defaults with a fresh master key.
    pub fn for_tests(master_key: MasterKey) -> Settings {
        let (mut s, _) = Settings::load(None, &HashMap::new())
            .unwrap_or_else(|e| unreachable!("defaults are valid: {e}"));
        s.master_key = Some(master_key);
        // Tests send many requests from one address in a moment; the tests of the
        // limits themselves turn them back on.
        s.public.per_address = None;
        s.public.per_practitioner = None;
        s.public.min_fill_time = Duration::ZERO;
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

    #[test]
    fn public_limits_parse_rates_proxies_and_off() {
        let (s, _) = Settings::load(None, &env(&[])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s.public.per_address,
            Some(Rate {
                count: 30,
                per: Duration::from_secs(60)
            })
        );
        assert!(s.public.trusted_proxies.is_empty());
        let (s, _) = Settings::load(
            None,
            &env(&[
                ("GAPRELAY_RATE_LIMIT_PER_ADDRESS", "5/s"),
                ("GAPRELAY_RATE_LIMIT_PER_PRACTITIONER", "off"),
                ("GAPRELAY_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1,::1"),
                ("GAPRELAY_MIN_FILL_TIME", "0s"),
            ]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s.public.per_address.map(|r| (r.count, r.per.as_secs())),
            Some((5, 1))
        );
        assert_eq!(s.public.per_practitioner, None);
        assert_eq!(s.public.trusted_proxies.len(), 3);
        assert!(s.public.min_fill_time.is_zero());
        for (k, v) in [
            ("GAPRELAY_RATE_LIMIT_PER_ADDRESS", "0/min"),
            ("GAPRELAY_RATE_LIMIT_PER_ADDRESS", "ten/min"),
            ("GAPRELAY_RATE_LIMIT_PER_PRACTITIONER", "5/day"),
            ("GAPRELAY_TRUSTED_PROXIES", "proxy.example.com"),
            ("GAPRELAY_MIN_FILL_TIME", "5m"),
        ] {
            let err = Settings::load(None, &env(&[(k, v)]))
                .err()
                .map(|e| e.to_string());
            assert!(
                err.as_deref().is_some_and(|e| e.starts_with(k)),
                "{k}={v}: {err:?}"
            );
        }
    }

    #[test]
    fn previous_master_keys_join_the_current_one_and_need_it() {
        let mut rng = rand::rngs::OsRng;
        let (a, b, c) = (
            MasterKey::generate(&mut rng),
            MasterKey::generate(&mut rng),
            MasterKey::generate(&mut rng),
        );
        let previous = format!("{}, {}", b.to_base64(), c.to_base64());
        let (s, _) = Settings::load(
            None,
            &env(&[
                ("GAPRELAY_MASTER_KEY", &a.to_base64()),
                ("GAPRELAY_PREVIOUS_MASTER_KEYS", &previous),
            ]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let key = s.master_key.expect("key");
        assert_eq!(key.key_id(), a.key_id());
        assert_eq!(key.previous_key_ids(), vec![b.key_id(), c.key_id()]);
        let err = Settings::load(None, &env(&[("GAPRELAY_PREVIOUS_MASTER_KEYS", &previous)]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("GAPRELAY_PREVIOUS_MASTER_KEYS"), "{err}");
        let err = Settings::load(
            None,
            &env(&[
                ("GAPRELAY_MASTER_KEY", &a.to_base64()),
                ("GAPRELAY_PREVIOUS_MASTER_KEYS", "short"),
            ]),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.starts_with("GAPRELAY_PREVIOUS_MASTER_KEYS"), "{err}");
        assert!(!err.contains("short"));
    }

    #[test]
    fn delivery_slots_are_whole_numbers_from_1_to_1024() {
        for key in [
            "GAPRELAY_WORKER_CONCURRENCY",
            "GAPRELAY_ENDPOINT_CONCURRENCY",
        ] {
            let (s, _) =
                Settings::load(None, &env(&[(key, " 4 ")])).unwrap_or_else(|e| panic!("{e}"));
            let got = if key == "GAPRELAY_WORKER_CONCURRENCY" {
                s.delivery.concurrency
            } else {
                s.delivery.endpoint_concurrency
            };
            assert_eq!(got, 4, "{key}");
            for bad in ["0", "1025", "x", "-1"] {
                let err = Settings::load(None, &env(&[(key, bad)]))
                    .err()
                    .map(|e| e.to_string());
                assert!(
                    err.as_deref().is_some_and(|e| e.starts_with(key)),
                    "{key}={bad}"
                );
            }
        }
    }

    #[test]
    fn the_circuit_breaker_is_configurable_or_off() {
        use crate::delivery::breaker::Policy;
        let load = |v: &str| Settings::load(None, &env(&[("GAPRELAY_CIRCUIT_BREAKER", v)]));
        let (s, _) = Settings::load(None, &env(&[])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.delivery.breaker, Some(Policy::default()));
        let (s, _) = load("3/200ms").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s.delivery.breaker,
            Some(Policy {
                failures_to_open: 3,
                first_cool_down_ms: 200
            })
        );
        assert!(load("off").is_ok_and(|(s, _)| s.delivery.breaker.is_none()));
        for bad in ["5", "0/30s", "5/0s", "5/2h", "x/30s"] {
            assert!(load(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn server_deadlines_and_the_metrics_token_have_defaults_and_bounds() {
        let (s, _) = Settings::load(None, &env(&[])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s.http,
            HttpTimeouts {
                body_read: Duration::from_secs(10),
                keep_alive: Duration::from_secs(5),
                request_head: Duration::from_secs(5),
            }
        );
        assert!(s.metrics_token.is_none());
        let (s, w) = Settings::load(
            None,
            &env(&[
                ("GAPRELAY_BODY_READ_TIMEOUT", "2s"),
                ("GAPRELAY_KEEP_ALIVE", "0s"),
                ("GAPRELAY_CLIENT_REQUEST_TIMEOUT", "500ms"),
                ("GAPRELAY_METRICS_TOKEN", "0123456789abcdef0123"),
            ]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(s.http.body_read, Duration::from_secs(2));
        assert!(s.http.keep_alive.is_zero());
        assert_eq!(s.http.request_head, Duration::from_millis(500));
        assert!(s
            .metrics_token
            .is_some_and(|t| t.matches("0123456789abcdef0123")));
        for (k, v) in [
            ("GAPRELAY_BODY_READ_TIMEOUT", "0s"),
            ("GAPRELAY_BODY_READ_TIMEOUT", "10m"),
            ("GAPRELAY_CLIENT_REQUEST_TIMEOUT", "0s"),
            ("GAPRELAY_KEEP_ALIVE", "1h"),
            ("GAPRELAY_KEEP_ALIVE", "soon"),
            ("GAPRELAY_METRICS_TOKEN", "short"),
        ] {
            let err = Settings::load(None, &env(&[(k, v)]))
                .err()
                .map(|e| e.to_string());
            assert!(
                err.as_deref()
                    .is_some_and(|e| e.starts_with(k) && !e.contains("short")),
                "{k}={v}: {err:?}"
            );
        }
    }

    #[test]
    fn smtp_needs_a_url_and_a_sender_and_never_shows_its_password() {
        let (s, _) = Settings::load(
            None,
            &env(&[
                (
                    "GAPRELAY_SMTP_URL",
                    "smtp://alerts:hunter2@mail.example.com",
                ),
                ("GAPRELAY_SMTP_FROM", "gaprelay <alerts@example.com>"),
            ]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let smtp = s.smtp.as_ref().unwrap_or_else(|| panic!("smtp"));
        assert_eq!((smtp.host(), smtp.port()), ("mail.example.com", 587));
        assert!(!format!("{s:?}").contains("hunter2"));
        for (vars, key) in [
            (
                vec![("GAPRELAY_SMTP_URL", "smtp://mail.example.com")],
                "GAPRELAY_SMTP_FROM",
            ),
            (
                vec![("GAPRELAY_SMTP_FROM", "alerts@example.com")],
                "GAPRELAY_SMTP_URL",
            ),
            (
                vec![
                    (
                        "GAPRELAY_SMTP_URL",
                        "smtp://u:hunter2@mail.example.com?tls=none",
                    ),
                    ("GAPRELAY_SMTP_FROM", "alerts@example.com"),
                ],
                "GAPRELAY_SMTP_URL",
            ),
            (
                vec![
                    ("GAPRELAY_SMTP_URL", "smtp://mail.example.com"),
                    ("GAPRELAY_SMTP_FROM", "nobody"),
                ],
                "GAPRELAY_SMTP_FROM",
            ),
        ] {
            let err = Settings::load(None, &env(&vars))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.starts_with(key), "{vars:?}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn a_cluster_takes_a_list_of_node_urls() {
        let seeds = "redis://10.0.0.1:7000, redis://10.0.0.2:7000";
        let (s, _) = Settings::load(
            None,
            &env(&[
                ("GAPRELAY_REDIS_URL", seeds),
                ("GAPRELAY_REDIS_CLUSTER", "true"),
            ]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(s.redis_cluster);
        // A list is only a list in cluster mode, and every entry must be a Redis URL.
        assert!(Settings::load(None, &env(&[("GAPRELAY_REDIS_URL", seeds)])).is_err());
        let bad = env(&[
            ("GAPRELAY_REDIS_URL", "redis://a:1,http://b:2"),
            ("GAPRELAY_REDIS_CLUSTER", "true"),
        ]);
        assert!(Settings::load(None, &bad).is_err());
        assert!(Settings::load(None, &env(&[("GAPRELAY_REDIS_CLUSTER", "true")])).is_err());
    }
}
