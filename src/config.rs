//! Configuration: defaults → optional TOML file → `GAPRELAY_*` environment variables,
//! validated once at start into typed [`Settings`]. Each setting is declared once, in
//! the `settings!` table below (TOML key, variable, default, parser, one-line doc); the
//! file's keys, the variables read, the warning for unknown `GAPRELAY_*` variables and
//! the test that keeps docs/configuration.md true are all driven by that table. Every
//! error names the variable that is wrong and says how to fix it.

use crate::crypto::api_key::AdminToken;
use crate::crypto::seal::MasterKey;
pub use crate::delivery::settings::DeliverySettings;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Longest a queued message may live, by contract: 24 hours after submission.
pub const MAX_MESSAGE_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The default retry schedule: the first retry within 10 s, then backing off to hours
/// apart; after the last step, retries continue at that interval until the TTL.
pub const DEFAULT_RETRY_SCHEDULE: &str = "5s,30s,2m,10m,30m,1h,2h,4h";

/// The variable that names the configuration file (`--config` wins over it).
pub const CONFIG_VAR: &str = "GAPRELAY_CONFIG";

/// Validated, typed settings. Which variable and TOML key set each field, its default
/// and its limits are declared once, in [`SETTINGS`].
#[derive(Debug, Clone)]
pub struct Settings {
    /// Listen address (`bind`).
    pub bind: SocketAddr,
    /// Where `gaprelay worker` serves its health and metrics (`worker_bind`).
    pub worker_bind: SocketAddr,
    /// The relay's public address (`public_url`), named in FHIR canonical URLs; when
    /// unset, `http://<bind>`.
    pub public_url: crate::delivery::fhir::RelayBase,
    /// Redis URL (`redis_url`); `None` selects the embedded in-memory store.
    pub redis_url: Option<String>,
    /// Whether `redis_url` names a Redis Cluster (`redis_cluster`); the URL may then list
    /// several seed nodes, comma-separated.
    pub redis_cluster: bool,
    /// Operator bearer token (`admin_token`); `None` disables operator routes.
    pub admin_token: Option<AdminToken>,
    /// Bearer token a scraper presents to read `GET /metrics` (`metrics_token`); `None`:
    /// `/metrics` answers 404, so the public listener tells a bot nothing about how its
    /// requests fared.
    pub metrics_token: Option<AdminToken>,
    /// Deadlines of the HTTP server.
    pub http: HttpTimeouts,
    /// Key that encrypts queued payloads and stored secrets (`master_key`), with the
    /// keys it replaced (`previous_master_keys`), which only open what they sealed.
    /// `None` only when not configured; `serve`/`worker` refuse to start without one
    /// except in demo mode.
    pub master_key: Option<MasterKey>,
    /// Whether endpoints may target loopback/private addresses and plain http
    /// (`allow_private_targets`; development and tests only).
    pub allow_private_targets: bool,
    /// Delivery tuning.
    pub delivery: DeliverySettings,
    /// How long a public form's configuration, and the endpoint records a worker
    /// delivers with, are cached in-process (`form_cache_ttl`; zero disables).
    /// Configuration changed through another instance reaches this one within this time.
    pub form_cache_ttl: Duration,
    /// How many nice steps the HTTP threads of a `serve` process that also delivers
    /// run below its delivery workers (`http_nice`; 0: equal): on a saturated machine the
    /// relay delivers what it accepted before accepting more (`crate::precedence`).
    pub http_nice: u8,
    /// How long audit-log entries are kept (`audit_retention`).
    pub audit_retention: Duration,
    /// Log output format (`log_format`).
    pub log_format: LogFormat,
    /// Abuse limits of the public form routes.
    pub public: PublicLimits,
    /// Terminate TLS with these files (`tls_cert` and `tls_key`, both or neither);
    /// `None` serves plain HTTP, for use behind a TLS-terminating proxy.
    pub tls: Option<TlsFiles>,
    /// The form `GET /demo` embeds, in demo mode (`serve --demo`) only; not a setting:
    /// never read from the file or the environment. `None`: `/demo` is a 404.
    pub demo_form: Option<String>,
    /// The mail server that tells a practice when one of its endpoints keeps failing
    /// (`smtp_url` and `smtp_from`, both or neither). `None`: no email is sent (the
    /// `endpoint.failing` event still is). The password never shows in `Debug`.
    pub smtp: Option<crate::notify::smtp::SmtpSettings>,
}

/// Deadlines that bound how long a client can hold a connection (and a file
/// descriptor) without finishing its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpTimeouts {
    /// Longest a request's body may take to arrive once its head is in
    /// (`body_read_timeout`): after it the answer is `408 request_timeout` and the
    /// connection is closed.
    pub body_read: Duration,
    /// How long an idle keep-alive connection is held open between requests
    /// (`keep_alive`; zero closes the connection after each response).
    pub keep_alive: Duration,
    /// Longest the head (request line and headers) of a connection's first request may
    /// take to arrive (`client_request_timeout`): after it the answer is 408 and the
    /// connection is closed.
    pub request_head: Duration,
}

/// The certificate chain and private key `serve` terminates TLS with (PEM files).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain, leaf first (`tls_cert`).
    pub cert: PathBuf,
    /// Private key: PKCS#8, PKCS#1 or SEC1 (`tls_key`).
    pub key: PathBuf,
}

/// How the public form routes are protected from abuse.
#[derive(Debug, Clone)]
pub struct PublicLimits {
    /// Requests to the public routes per client address (`rate_limit_per_address`;
    /// `None`: off).
    pub per_address: Option<Rate>,
    /// Intake submissions per practice (`rate_limit_per_practitioner`; `None`: off).
    pub per_practitioner: Option<Rate>,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`trusted_proxies`); empty:
    /// the header is ignored and the peer address is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// A submission sent sooner than this after its form was loaded is taken for a bot
    /// and quietly discarded (`min_fill_time`; zero disables).
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

/// How a setting is written in the TOML file; the environment always gives text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TomlType {
    /// A string: `bind = "0.0.0.0:8080"`.
    Text,
    /// `true` or `false`.
    Bool,
    /// A whole number: `worker_concurrency = 32`.
    Integer,
}

/// One setting, as declared in [`SETTINGS`].
#[derive(Debug)]
pub struct Setting {
    /// Its key in the TOML file.
    pub key: &'static str,
    /// Its environment variable, which wins over the file.
    pub var: &'static str,
    /// How the file writes it.
    pub toml: TomlType,
    /// The value used when neither the file nor the environment sets it, written as
    /// either would; `None`: unset (the feature is off, or the value is derived from
    /// other settings).
    pub default: Option<&'static str>,
    /// What it is for, in one line.
    pub doc: &'static str,
}

impl Setting {
    /// The declared setting with this TOML key.
    pub fn by_key(key: &str) -> Option<&'static Setting> {
        SETTINGS.iter().find(|s| s.key == key)
    }

    /// The declared setting read from this environment variable.
    pub fn by_var(var: &str) -> Option<&'static Setting> {
        SETTINGS.iter().find(|s| s.var == var)
    }
}

// Why a macro and not a crate: layered-configuration crates (`config`, `figment`) merge
// sources into a serde struct, but they neither name the variable in a value's error
// nor yield a table the docs can be checked against, and a setting would still be
// spelled in the struct, the parser and the docs. A small `macro_rules!` over one table
// gives each setting a single declaration and keeps everything plain Rust.
//
// `settings!` turns each entry into a row of `SETTINGS` and a typed field of `Values`,
// read by `Values::read`: the variable, else the file, else the default, given to the
// entry's parser (`fn(&str) -> Result<T, String>`), whose error is reported under the
// variable. `default:` is the text used when unset, `unset` (the field is an `Option`,
// `None` when not given) or `unset_if_blank` (the same, and blank text counts as not
// given).
macro_rules! settings {
    (@shown unset) => { None };
    (@shown unset_if_blank) => { None };
    (@shown $default:expr) => { Some($default) };
    (@parse $value:ident, unset, $parse:expr) => { $value.map($parse).transpose() };
    (@parse $value:ident, unset_if_blank, $parse:expr) => {
        $value.filter(|s| !s.trim().is_empty()).map($parse).transpose()
    };
    (@parse $value:ident, $default:expr, $parse:expr) => { ($parse)($value.unwrap_or($default)) };
    ($(
        $key:ident: $ty:ty {
            var: $var:literal,
            toml: $toml:ident,
            default: $default:tt,
            parse: $parse:expr,
            doc: $doc:literal $(,)?
        }
    ),+ $(,)?) => {
        /// Every setting gaprelay reads, in the order they are read (besides
        /// [`CONFIG_VAR`] and `RUST_LOG`).
        pub static SETTINGS: &[Setting] = &[$(Setting {
            key: stringify!($key),
            var: $var,
            toml: TomlType::$toml,
            default: settings!(@shown $default),
            doc: $doc,
        }),+];

        /// Each setting's value, parsed on its own; [`Values::into_settings`] then
        /// applies the rules that span several.
        struct Values {
            $($key: $ty),+
        }

        impl Values {
            fn read(raw: &Raw<'_>) -> Result<Values, ConfigError> {
                Ok(Values {
                    $($key: {
                        let value = raw.get(stringify!($key), $var);
                        settings!(@parse value, $default, $parse)
                            .map_err(|reason: String| invalid($var, reason))?
                    }),+
                })
            }
        }
    };
}

settings! {
    bind: SocketAddr {
        var: "GAPRELAY_BIND", toml: Text, default: "127.0.0.1:8080",
        parse: socket_addr,
        doc: "listen address",
    },
    worker_bind: SocketAddr {
        var: "GAPRELAY_WORKER_BIND", toml: Text, default: "127.0.0.1:9090",
        parse: socket_addr,
        doc: "where `gaprelay worker` serves /healthz, /readyz and /metrics",
    },
    public_url: Option<crate::delivery::fhir::RelayBase> {
        var: "GAPRELAY_PUBLIC_URL", toml: Text, default: unset_if_blank,
        parse: relay_base,
        doc: "the relay's public address (https://relay.example.com), named in FHIR canonical URLs; unset: http://<bind>",
    },
    redis_url: Option<String> {
        var: "GAPRELAY_REDIS_URL", toml: Text, default: unset_if_blank,
        parse: text,
        doc: "redis:// or rediss:// URL (with redis_cluster, cluster nodes, comma-separated); unset: in-memory store",
    },
    redis_cluster: bool {
        var: "GAPRELAY_REDIS_CLUSTER", toml: Bool, default: "false",
        parse: boolean,
        doc: "whether redis_url lists seed nodes of a Redis Cluster",
    },
    admin_token: Option<AdminToken> {
        var: "GAPRELAY_ADMIN_TOKEN", toml: Text, default: unset,
        parse: token,
        doc: "operator bearer token, at least 16 characters; unset: no operator routes",
    },
    metrics_token: Option<AdminToken> {
        var: "GAPRELAY_METRICS_TOKEN", toml: Text, default: unset,
        parse: token,
        doc: "bearer token of the /metrics scraper, at least 16 characters; unset: 404",
    },
    body_read_timeout: Duration {
        var: "GAPRELAY_BODY_READ_TIMEOUT", toml: Text, default: "10s",
        parse: deadline,
        doc: "longest a request body may take to arrive (more than 0, at most 5m)",
    },
    keep_alive: Duration {
        var: "GAPRELAY_KEEP_ALIVE", toml: Text, default: "5s",
        parse: deadline_or_zero,
        doc: "how long an idle keep-alive connection is held open (at most 5m; 0s closes)",
    },
    client_request_timeout: Duration {
        var: "GAPRELAY_CLIENT_REQUEST_TIMEOUT", toml: Text, default: "5s",
        parse: deadline,
        doc: "longest the head of a connection's first request may take (more than 0, at most 5m)",
    },
    previous_master_keys: Vec<MasterKey> {
        var: "GAPRELAY_PREVIOUS_MASTER_KEYS", toml: Text, default: "",
        parse: previous_master_keys,
        doc: "master keys replaced by master_key, comma-separated; they only open",
    },
    master_key: Option<MasterKey> {
        var: "GAPRELAY_MASTER_KEY", toml: Text, default: unset,
        parse: master_key,
        doc: "base64 of 32 bytes; seals queued payloads and stored secrets",
    },
    allow_private_targets: bool {
        var: "GAPRELAY_ALLOW_PRIVATE_TARGETS", toml: Bool, default: "false",
        parse: boolean,
        doc: "allow http:// and private endpoint addresses (development and tests only)",
    },
    delivery_timeout: Duration {
        var: "GAPRELAY_DELIVERY_TIMEOUT", toml: Text, default: "10s",
        parse: delivery_timeout,
        doc: "timeout of one webhook request (1ms to 120s)",
    },
    retry_schedule: Vec<Duration> {
        var: "GAPRELAY_RETRY_SCHEDULE", toml: Text, default: DEFAULT_RETRY_SCHEDULE,
        parse: retry_schedule,
        doc: "delays after each failed attempt, comma-separated; the last repeats",
    },
    message_ttl: Duration {
        var: "GAPRELAY_MESSAGE_TTL", toml: Text, default: "24h",
        parse: message_ttl,
        doc: "how long a queued message lives (more than 0, at most 24h)",
    },
    worker_concurrency: usize {
        var: "GAPRELAY_WORKER_CONCURRENCY", toml: Integer, default: "32",
        parse: worker_slots,
        doc: "deliveries in flight per process (0 to 1024; 0: `serve` runs the API only)",
    },
    endpoint_concurrency: usize {
        var: "GAPRELAY_ENDPOINT_CONCURRENCY", toml: Integer, default: "8",
        parse: slots,
        doc: "where each endpoint's adaptive limit of deliveries in flight per process starts (1 to 1024)",
    },
    poll_interval: Duration {
        var: "GAPRELAY_POLL_INTERVAL", toml: Text, default: "250ms",
        parse: duration,
        doc: "how often a worker looks in every queue partition for due messages (retries, expired leases, what other `serve` processes queued); what its own process queues, or an API-only process announces, wakes it at once",
    },
    lease: Option<Duration> {
        var: "GAPRELAY_LEASE", toml: Text, default: unset,
        parse: duration,
        doc: "how long a claimed message is reserved for its worker; unset: 60s or 3x delivery_timeout",
    },
    http_nice: u8 {
        var: "GAPRELAY_HTTP_NICE", toml: Integer, default: "10",
        parse: nice,
        doc: "nice steps the HTTP threads of a `serve` that also delivers run below its delivery workers, so a saturated machine delivers what it accepted before accepting more (0 to 19; 0: equal)",
    },
    form_cache_ttl: Duration {
        var: "GAPRELAY_FORM_CACHE_TTL", toml: Text, default: "2s",
        parse: form_cache_ttl,
        doc: "in-process cache of public forms' configuration (at most 5m; 0s disables)",
    },
    audit_retention: Duration {
        var: "GAPRELAY_AUDIT_RETENTION", toml: Text, default: "730d",
        parse: audit_retention,
        doc: "how long audit-log entries are kept (at least 1d)",
    },
    log_format: LogFormat {
        var: "GAPRELAY_LOG_FORMAT", toml: Text, default: "pretty",
        parse: log_format,
        doc: "pretty or json",
    },
    circuit_breaker: Option<crate::delivery::breaker::Policy> {
        var: "GAPRELAY_CIRCUIT_BREAKER", toml: Text, default: "5/30s",
        parse: circuit_breaker,
        doc: "per-endpoint circuit breaker: failures in a row / first cool-down, or off",
    },
    rate_limit_per_address: Option<Rate> {
        var: "GAPRELAY_RATE_LIMIT_PER_ADDRESS", toml: Text, default: "30/min",
        parse: rate,
        doc: "requests to the public routes per client address (N/s, N/min, N/h or off)",
    },
    rate_limit_per_practitioner: Option<Rate> {
        var: "GAPRELAY_RATE_LIMIT_PER_PRACTITIONER", toml: Text, default: "300/min",
        parse: rate,
        doc: "submissions per practice (N/s, N/min, N/h or off)",
    },
    trusted_proxies: Vec<ipnet::IpNet> {
        var: "GAPRELAY_TRUSTED_PROXIES", toml: Text, default: "",
        parse: proxies,
        doc: "proxies whose X-Forwarded-For is believed: addresses or CIDR blocks, comma-separated",
    },
    min_fill_time: Duration {
        var: "GAPRELAY_MIN_FILL_TIME", toml: Text, default: "3s",
        parse: min_fill_time,
        doc: "a submission sooner than this after its form loaded is discarded as a bot (at most 60s)",
    },
    tls_cert: Option<PathBuf> {
        var: "GAPRELAY_TLS_CERT", toml: Text, default: unset_if_blank,
        parse: path,
        doc: "PEM certificate chain; with tls_key, serve terminates TLS",
    },
    tls_key: Option<PathBuf> {
        var: "GAPRELAY_TLS_KEY", toml: Text, default: unset_if_blank,
        parse: path,
        doc: "PEM private key of that certificate",
    },
    smtp_url: Option<String> {
        var: "GAPRELAY_SMTP_URL", toml: Text, default: unset_if_blank,
        parse: text,
        doc: "mail server that alerts practices: smtp:// (STARTTLS), smtps:// or ?tls=none; needs smtp_from",
    },
    smtp_from: Option<String> {
        var: "GAPRELAY_SMTP_FROM", toml: Text, default: unset_if_blank,
        parse: text,
        doc: "sender address of those alerts; needs smtp_url",
    },
    smtp_ca_file: Option<PathBuf> {
        var: "GAPRELAY_SMTP_CA_FILE", toml: Text, default: unset_if_blank,
        parse: path,
        doc: "PEM root certificates trusted for the mail server besides the system's (a private CA); needs smtp_url",
    },
}

/// Where raw values come from: the environment first, then the file.
struct Raw<'a> {
    env: &'a HashMap<String, String>,
    file: HashMap<String, String>,
}

impl Raw<'_> {
    fn get(&self, key: &str, var: &str) -> Option<&str> {
        self.env
            .get(var)
            .or_else(|| self.file.get(key))
            .map(String::as_str)
    }
}

/// Reads the TOML file into text values by key, refusing keys that are not declared
/// and values of the wrong type.
fn read_file(path: &Path) -> Result<HashMap<String, String>, ConfigError> {
    let shown = path.display().to_string();
    let bad = |reason: String| ConfigError::File {
        path: shown.clone(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| bad(e.message().to_owned()))?;
    table
        .into_iter()
        .map(|(key, value)| {
            let Some(setting) = Setting::by_key(&key) else {
                return Err(bad(format!(
                    "unknown key `{key}` (the keys are listed in docs/configuration.md)"
                )));
            };
            let text = match (setting.toml, value) {
                (TomlType::Text, toml::Value::String(s)) => s,
                (TomlType::Bool, toml::Value::Boolean(b)) => b.to_string(),
                (TomlType::Integer, toml::Value::Integer(n)) => n.to_string(),
                (TomlType::Text, _) => return Err(bad(format!("`{key}` must be a string"))),
                (TomlType::Bool, _) => return Err(bad(format!("`{key}` must be true or false"))),
                (TomlType::Integer, _) => {
                    return Err(bad(format!("`{key}` must be a whole number")))
                }
            };
            Ok((key, text))
        })
        .collect()
}

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        reason: reason.into(),
    }
}

// The parsers. Each takes the text of one setting and says what is wrong without
// repeating the value (it may be a secret); the caller adds the variable's name.

fn text(s: &str) -> Result<String, String> {
    Ok(s.to_owned())
}

fn path(s: &str) -> Result<PathBuf, String> {
    Ok(s.trim().into())
}

fn relay_base(s: &str) -> Result<crate::delivery::fhir::RelayBase, String> {
    crate::delivery::fhir::RelayBase::parse(s).map_err(|e| e.to_string())
}

fn socket_addr(s: &str) -> Result<SocketAddr, String> {
    s.parse()
        .map_err(|_| "must be an address and port such as 127.0.0.1:8080".to_owned())
}

fn boolean(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        _ => Err("must be true or false".to_owned()),
    }
}

fn token(s: &str) -> Result<AdminToken, String> {
    if s.len() < 16 {
        return Err(
            "must be at least 16 characters; generate one with `openssl rand -hex 32`".to_owned(),
        );
    }
    Ok(AdminToken::new(s.to_owned()))
}

fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|_| "is not a duration; write it like 500ms, 10s, 5m or 24h".to_owned())
}

/// A duration no longer than `max`, and more than zero unless `zero_ok`.
fn duration_within(s: &str, max: Duration, zero_ok: bool, why: &str) -> Result<Duration, String> {
    let d = duration(s)?;
    if (d.is_zero() && !zero_ok) || d > max {
        return Err(why.to_owned());
    }
    Ok(d)
}

const FIVE_MINUTES: Duration = Duration::from_secs(300);

fn deadline(s: &str) -> Result<Duration, String> {
    duration_within(s, FIVE_MINUTES, false, "must be more than 0 and at most 5m")
}

fn deadline_or_zero(s: &str) -> Result<Duration, String> {
    duration_within(s, FIVE_MINUTES, true, "must be at most 5m")
}

fn delivery_timeout(s: &str) -> Result<Duration, String> {
    duration_within(
        s,
        Duration::from_secs(120),
        false,
        "must be between 1ms and 120s",
    )
}

fn message_ttl(s: &str) -> Result<Duration, String> {
    duration_within(
        s,
        MAX_MESSAGE_TTL,
        false,
        "must be more than 0 and at most 24h (patient data is never kept longer)",
    )
}

fn form_cache_ttl(s: &str) -> Result<Duration, String> {
    duration_within(
        s,
        FIVE_MINUTES,
        true,
        "must be at most 5m, or configuration changes take too long to apply",
    )
}

fn min_fill_time(s: &str) -> Result<Duration, String> {
    duration_within(
        s,
        Duration::from_secs(60),
        true,
        "must be at most 60s (a quick patient must not be taken for a bot)",
    )
}

fn audit_retention(s: &str) -> Result<Duration, String> {
    let d = duration(s)?;
    if d < Duration::from_secs(24 * 60 * 60) {
        return Err("must be at least 1d (e.g. 730d for two years)".to_owned());
    }
    Ok(d)
}

fn retry_schedule(s: &str) -> Result<Vec<Duration>, String> {
    let steps = s.split(',').map(duration).collect::<Result<Vec<_>, _>>()?;
    if steps.is_empty() {
        return Err("needs at least one duration, e.g. 5s,30s,2m".to_owned());
    }
    Ok(steps)
}

/// Parses a comma-separated retry schedule such as `1s,2s,5s`, reporting errors
/// under `key`.
pub fn parse_retry_schedule(key: &'static str, s: &str) -> Result<Vec<Duration>, ConfigError> {
    retry_schedule(s).map_err(|reason| invalid(key, reason))
}

/// A number of concurrent deliveries: a whole number from 1 to 1024.
fn slots(s: &str) -> Result<usize, String> {
    s.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=1024).contains(n))
        .ok_or_else(|| "must be a whole number from 1 to 1024".to_owned())
}

fn worker_slots(s: &str) -> Result<usize, String> {
    s.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n <= 1024)
        .ok_or_else(|| "must be a whole number from 0 (no deliveries) to 1024".to_owned())
}

fn nice(s: &str) -> Result<u8, String> {
    s.trim()
        .parse::<u8>()
        .ok()
        .filter(|n| *n <= 19)
        .ok_or_else(|| "must be a whole number from 0 (no precedence) to 19".to_owned())
}

fn log_format(s: &str) -> Result<LogFormat, String> {
    match s {
        "pretty" => Ok(LogFormat::Pretty),
        "json" => Ok(LogFormat::Json),
        _ => Err("must be pretty or json".to_owned()),
    }
}

fn master_key(s: &str) -> Result<MasterKey, String> {
    MasterKey::from_base64(s).map_err(|e| e.to_string())
}

fn previous_master_keys(s: &str) -> Result<Vec<MasterKey>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| {
            MasterKey::from_base64(k).map_err(|e| {
                e.to_string().replace(
                    "GAPRELAY_MASTER_KEY",
                    "each of GAPRELAY_PREVIOUS_MASTER_KEYS",
                )
            })
        })
        .collect()
}

/// Parses `N/s`, `N/min`, `N/h` or `off`.
fn rate(s: &str) -> Result<Option<Rate>, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let bad = || "must be like 30/min, 5/s or 1000/h, or off".to_owned();
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

fn proxies(s: &str) -> Result<Vec<ipnet::IpNet>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("{p:?} is not an IP address or CIDR block (e.g. 10.0.0.0/8)"))
        })
        .collect()
}

/// Parses `N/cool-down` (failures in a row that open the circuit / first cool-down,
/// at most 1h) or `off`.
fn circuit_breaker(s: &str) -> Result<Option<crate::delivery::breaker::Policy>, String> {
    if s.trim().eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let bad = || "must be like 5/30s (failures in a row / first cool-down) or off".to_owned();
    let (n, d) = s.split_once('/').ok_or_else(bad)?;
    let failures: u32 = n.trim().parse().ok().filter(|n| *n > 0).ok_or_else(bad)?;
    let cool_down = humantime::parse_duration(d.trim()).map_err(|_| bad())?;
    if cool_down.is_zero() || cool_down > Duration::from_secs(3600) {
        return Err(bad());
    }
    Ok(Some(crate::delivery::breaker::Policy {
        failures_to_open: failures,
        first_cool_down_ms: i64::try_from(cool_down.as_millis()).unwrap_or(i64::MAX),
    }))
}

impl Values {
    /// Applies the rules that span several settings and builds [`Settings`].
    fn into_settings(self) -> Result<Settings, ConfigError> {
        if let Some(url) = &self.redis_url {
            let urls: Vec<&str> = if self.redis_cluster {
                url.split(',').map(str::trim).collect()
            } else {
                vec![url.as_str()]
            };
            if urls.iter().any(|u| {
                !(u.starts_with("redis://") || u.starts_with("rediss://")) || u.contains(',')
            }) {
                return Err(invalid(
                    "GAPRELAY_REDIS_URL",
                    if self.redis_cluster {
                        "must list Redis Cluster nodes as redis:// or rediss:// URLs, comma-separated"
                    } else {
                        "must be one redis:// or rediss:// URL (unset it to use the embedded in-memory store; for a Redis Cluster set GAPRELAY_REDIS_CLUSTER=true and list its nodes)"
                    },
                ));
            }
        } else if self.redis_cluster {
            return Err(invalid(
                "GAPRELAY_REDIS_CLUSTER",
                "needs GAPRELAY_REDIS_URL: one or more cluster node URLs, comma-separated",
            ));
        }

        let master_key = match self.master_key {
            None if !self.previous_master_keys.is_empty() => {
                return Err(invalid(
                    "GAPRELAY_PREVIOUS_MASTER_KEYS",
                    "needs GAPRELAY_MASTER_KEY: previous keys only open what they sealed",
                ))
            }
            None => None,
            Some(key) => Some(key.with_previous(&self.previous_master_keys)),
        };

        let timeout = self.delivery_timeout;
        let lease = self
            .lease
            .unwrap_or_else(|| Duration::from_secs(60).max(timeout * 3));
        if lease <= timeout {
            return Err(invalid(
                "GAPRELAY_LEASE",
                "must be longer than GAPRELAY_DELIVERY_TIMEOUT, or a slow delivery could be sent twice",
            ));
        }

        if self.smtp_ca_file.is_some() && self.smtp_url.is_none() {
            return Err(invalid(
                "GAPRELAY_SMTP_CA_FILE",
                "is only used with GAPRELAY_SMTP_URL: set both or neither",
            ));
        }
        let smtp = match (self.smtp_url, self.smtp_from) {
            (None, None) => None,
            (Some(url), Some(from)) => Some(
                crate::notify::smtp::SmtpSettings::parse(&url, &from)
                    .map_err(|reason| {
                        if reason.starts_with("GAPRELAY_SMTP_FROM") {
                            invalid(
                                "GAPRELAY_SMTP_FROM",
                                reason.replacen("GAPRELAY_SMTP_FROM ", "", 1),
                            )
                        } else {
                            invalid("GAPRELAY_SMTP_URL", reason)
                        }
                    })
                    .map(|smtp| match self.smtp_ca_file {
                        Some(path) => smtp.with_ca_file(path),
                        None => smtp,
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

        let tls = match (self.tls_cert, self.tls_key) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
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

        let public_url = match self.public_url {
            Some(url) => url,
            None => crate::delivery::fhir::RelayBase::parse(&format!("http://{}", self.bind))
                .map_err(|e| invalid("GAPRELAY_BIND", e.to_string()))?,
        };
        Ok(Settings {
            bind: self.bind,
            worker_bind: self.worker_bind,
            public_url,
            redis_url: self.redis_url,
            redis_cluster: self.redis_cluster,
            admin_token: self.admin_token,
            metrics_token: self.metrics_token,
            http: HttpTimeouts {
                body_read: self.body_read_timeout,
                keep_alive: self.keep_alive,
                request_head: self.client_request_timeout,
            },
            master_key,
            allow_private_targets: self.allow_private_targets,
            delivery: DeliverySettings {
                timeout,
                retry_schedule: self.retry_schedule,
                message_ttl: self.message_ttl,
                concurrency: self.worker_concurrency,
                endpoint_concurrency: self.endpoint_concurrency,
                poll_interval: self.poll_interval,
                lease,
                breaker: self.circuit_breaker,
            },
            form_cache_ttl: self.form_cache_ttl,
            http_nice: self.http_nice,
            audit_retention: self.audit_retention,
            log_format: self.log_format,
            public: PublicLimits {
                per_address: self.rate_limit_per_address,
                per_practitioner: self.rate_limit_per_practitioner,
                trusted_proxies: self.trusted_proxies,
                min_fill_time: self.min_fill_time,
            },
            tls,
            demo_form: None,
            smtp,
        })
    }
}

impl Settings {
    /// Loads settings from an optional TOML file and the environment (`env` is passed
    /// in so tests need not mutate the process environment). Returns the settings and
    /// warnings to log once telemetry is up.
    pub fn load(
        file: Option<&Path>,
        env: &HashMap<String, String>,
    ) -> Result<(Settings, Vec<String>), ConfigError> {
        let file_path = file
            .map(Path::to_path_buf)
            .or_else(|| env.get(CONFIG_VAR).map(Into::into));
        let file = match file_path {
            None => HashMap::new(),
            Some(path) => read_file(&path)?,
        };
        let warnings = env
            .keys()
            .filter(|k| k.starts_with("GAPRELAY_"))
            .filter(|k| k.as_str() != CONFIG_VAR && Setting::by_var(k).is_none())
            .map(|k| format!("unknown environment variable {k} is ignored"))
            .collect();
        let settings = Values::read(&Raw { env, file })?.into_settings()?;
        Ok((settings, warnings))
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
    fn delivery_slots_are_whole_numbers_up_to_1024_and_only_the_workers_may_be_0() {
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
            // 0 worker slots: `serve` runs the API alone; an endpoint needs at least 1.
            let zero = Settings::load(None, &env(&[(key, "0")]));
            assert_eq!(
                zero.is_ok(),
                key == "GAPRELAY_WORKER_CONCURRENCY",
                "{key}=0"
            );
            for bad in ["1025", "x", "-1"] {
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
            (
                vec![("GAPRELAY_SMTP_CA_FILE", "/etc/ssl/private-ca.pem")],
                "GAPRELAY_SMTP_CA_FILE",
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
    #[test]
    fn every_setting_is_declared_once_and_its_variable_is_its_key_in_capitals() {
        for (i, s) in SETTINGS.iter().enumerate() {
            assert_eq!(
                s.var,
                format!("GAPRELAY_{}", s.key.to_ascii_uppercase()),
                "{}",
                s.key
            );
            assert!(!s.doc.trim().is_empty(), "{} has no doc", s.key);
            assert!(
                SETTINGS[i + 1..].iter().all(|t| t.key != s.key),
                "{} is declared twice",
                s.key
            );
        }
        assert!(Setting::by_var(CONFIG_VAR).is_none());
    }

    #[test]
    fn every_default_is_valid_on_its_own() {
        // Values::read parses each default with the setting's own parser; loading with
        // nothing set proves them all, and each is also accepted when given explicitly.
        for s in SETTINGS {
            if let Some(default) = s.default {
                let loaded = Settings::load(None, &env(&[(s.var, default)]));
                assert!(loaded.is_ok(), "{}={default:?}: {:?}", s.var, loaded.err());
            }
        }
    }

    #[test]
    fn the_file_takes_booleans_and_numbers_as_such_and_refuses_other_types() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("gaprelay.toml");
        let write = |text: &str| std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        write("allow_private_targets = true\nworker_concurrency = 4\n");
        let (s, _) = Settings::load(Some(&path), &env(&[])).unwrap_or_else(|e| panic!("{e}"));
        assert!(s.allow_private_targets);
        assert_eq!(s.delivery.concurrency, 4);
        for bad in [
            "allow_private_targets = \"true\"\n",
            "worker_concurrency = \"4\"\n",
            "bind = 8080\n",
        ] {
            write(bad);
            let err = Settings::load(Some(&path), &env(&[])).err();
            assert!(
                matches!(err, Some(ConfigError::File { .. })),
                "{bad}: {err:?}"
            );
        }
        // A value from the file that fails its parser is reported under its variable.
        write("worker_concurrency = 1025\n");
        let err = Settings::load(Some(&path), &env(&[]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("GAPRELAY_WORKER_CONCURRENCY"), "{err}");
    }

    /// What is wrong with a configuration page: a declared setting without its row
    /// (`| \`VAR\` (\`key\`) | default | meaning |`), a row whose default is not the
    /// declared one, or a `GAPRELAY_` variable that is not declared.
    fn doc_problems(page: &str) -> Vec<String> {
        let mut problems = Vec::new();
        for s in SETTINGS {
            let head = format!("| `{}` (`{}`) |", s.var, s.key);
            let Some(row) = page.lines().find(|l| l.starts_with(&head)) else {
                problems.push(format!("no row for {} (`{}`)", s.var, s.key));
                continue;
            };
            let default_cell = row.split('|').nth(2).unwrap_or_default();
            if let Some(default) = s.default.filter(|d| !d.is_empty()) {
                if !default_cell.contains(&format!("`{default}`")) {
                    problems.push(format!("{}: the default is `{default}`", s.var));
                }
            }
        }
        for (at, _) in page.match_indices("GAPRELAY_") {
            let name: String = page[at..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            // `GAPRELAY_*` names the family, not a variable.
            if name != "GAPRELAY_" && name != CONFIG_VAR && Setting::by_var(&name).is_none() {
                problems.push(format!("{name} is not a setting"));
            }
        }
        problems
    }

    fn repository_file(path: &str) -> String {
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn docs_configuration_md_lists_every_setting_with_its_default_and_nothing_else() {
        let problems = doc_problems(&repository_file("docs/configuration.md"));
        assert!(problems.is_empty(), "docs/configuration.md: {problems:#?}");
    }

    #[test]
    fn the_docs_check_sees_a_missing_row_a_wrong_default_and_an_undeclared_variable() {
        let page = repository_file("docs/configuration.md")
            .lines()
            .filter(|l| !l.starts_with("| `GAPRELAY_LEASE`"))
            .map(|l| l.replace("| `10s` | timeout of one", "| `20s` | timeout of one"))
            .collect::<Vec<_>>()
            .join("\n")
            + "\n| `GAPRELAY_LEASE_TIME` (`lease_time`) | `60s` | not a setting |\n";
        let problems = doc_problems(&page);
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems[0].contains("GAPRELAY_DELIVERY_TIMEOUT"));
        assert!(problems[1].contains("GAPRELAY_LEASE (`lease`)"));
        assert!(problems[2].contains("GAPRELAY_LEASE_TIME"));
    }

    #[test]
    fn the_example_file_loads_and_names_only_declared_keys() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/gaprelay.example.toml");
        Settings::load(Some(&path), &env(&[])).unwrap_or_else(|e| panic!("{e}"));
        // Keys in comments too: uncommenting one must not make the file invalid.
        for line in repository_file("deploy/gaprelay.example.toml").lines() {
            let line = line.trim_start_matches(['#', ' ']);
            let Some((key, _)) = line.split_once('=') else {
                continue;
            };
            let key = key.trim();
            if !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                assert!(Setting::by_key(key).is_some(), "unknown key {key}");
            }
        }
    }
}
