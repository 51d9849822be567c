//! The `spawn_app` harness: the real application on port 0, its own real Redis (or the
//! in-memory store), a manual clock, and helpers that drive the delivery worker instead
//! of sleeping.

use crate::support::{FakeCrm, TestCluster, TestRedis};
use gaprelay::clock::{Clock, ManualClock};
use gaprelay::config::{PublicLimits, Settings};
use gaprelay::crypto::api_key::AdminToken;
use gaprelay::crypto::seal::MasterKey;
use gaprelay::delivery::worker::{AttemptOutcome, Worker};
use gaprelay::startup::{Application, Options};
use gaprelay::store::memory::MemoryStore;
use gaprelay::store::Store;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// The operator token every test app uses.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

/// The token that opens `/metrics` on every test app.
pub const METRICS_TOKEN: &str = "test-metrics-token-0123456789abcdef";

/// The sender of the alerts every test app emails (`GAPRELAY_SMTP_FROM`).
pub const SMTP_FROM: &str = "gaprelay alerts <alerts@gaprelay.test>";

/// How the app under test is configured.
pub struct AppOptions {
    /// Use the embedded store instead of a real Redis.
    pub memory: bool,
    /// `GAPRELAY_ALLOW_PRIVATE_TARGETS` (true: the fake CRM lives on loopback).
    pub allow_private_targets: bool,
    /// Delivery timeout.
    pub delivery_timeout: Duration,
    /// `GAPRELAY_MESSAGE_TTL` (default 24 h).
    pub message_ttl: Option<Duration>,
    /// `GAPRELAY_WORKER_CONCURRENCY` and `GAPRELAY_ENDPOINT_CONCURRENCY`.
    pub concurrency: Option<(usize, usize)>,
    /// Run against a three-node Redis Cluster instead of a single Redis.
    pub cluster: bool,
    /// Abuse limits of the public routes (default: off, as `Settings::for_tests`).
    pub public: Option<PublicLimits>,
    /// The master key (default: a fresh one).
    pub master_key: Option<MasterKey>,
    /// Share this Redis (owned by the test) instead of starting one.
    pub redis_url: Option<String>,
    /// The server's deadlines (default: as configured by default).
    pub http: Option<gaprelay::config::HttpTimeouts>,
    /// Leave `GAPRELAY_METRICS_TOKEN` unset (default: [`METRICS_TOKEN`]).
    pub no_metrics_token: bool,
    /// `GAPRELAY_SMTP_URL` (with [`SMTP_FROM`] as the sender); default: no email.
    pub smtp_url: Option<String>,
    /// `GAPRELAY_SMTP_CA_FILE`: extra roots trusted for that server.
    pub smtp_ca_file: Option<std::path::PathBuf>,
    /// `GAPRELAY_POLL_INTERVAL` of the worker [`TestApp::start_workers`] runs.
    pub poll_interval: Option<Duration>,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            memory: false,
            allow_private_targets: true,
            delivery_timeout: Duration::from_secs(5),
            message_ttl: None,
            concurrency: None,
            cluster: false,
            public: None,
            master_key: None,
            redis_url: None,
            http: None,
            no_metrics_token: false,
            smtp_url: None,
            smtp_ca_file: None,
            poll_interval: None,
        }
    }
}

/// A running app under test.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// HTTP client for the test's requests.
    pub client: reqwest::Client,
    /// The app's Redis (None with the in-memory store).
    pub redis: Option<TestRedis>,
    /// The app's master key, for other processes sharing its Redis.
    pub master_key: MasterKey,
    /// The app's Redis Cluster (with `AppOptions::cluster`).
    pub cluster: Option<TestCluster>,
    /// The app's store, for direct inspection.
    pub store: Arc<dyn Store>,
    /// The app's clock.
    pub clock: Arc<ManualClock>,
    /// The app's use cases (for chores such as scheduled erasures).
    pub services: gaprelay::service::Services,
    worker: Worker,
}

/// A practitioner created through the operator API.
pub struct TestPractitioner {
    /// `prac_…`.
    pub id: String,
    /// Slug.
    pub slug: String,
    /// Owner API key.
    pub api_key: String,
}

/// An endpoint created through the API, with its secrets.
pub struct TestEndpoint {
    /// `ep_…`.
    pub id: String,
    /// `whsec_…`.
    pub secret: String,
    /// The JWK.
    pub jwk: Value,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(AppOptions::default()).await
}

pub async fn spawn_app_with(options: AppOptions) -> TestApp {
    let mut rng = rand::rngs::OsRng;
    let master_key = options
        .master_key
        .clone()
        .unwrap_or_else(|| MasterKey::generate(&mut rng));
    let mut settings = Settings::for_tests(master_key.clone());
    settings.bind = "127.0.0.1:0".parse().expect("address");
    settings.public_url =
        gaprelay::delivery::fhir::RelayBase::parse(PUBLIC_URL).expect("a public URL");
    settings.admin_token = Some(AdminToken::new(ADMIN_TOKEN.to_owned()));
    if !options.no_metrics_token {
        settings.metrics_token = Some(AdminToken::new(METRICS_TOKEN.to_owned()));
    }
    if let Some(url) = &options.smtp_url {
        settings.smtp = Some(
            gaprelay::notify::smtp::SmtpSettings::parse(url, SMTP_FROM)
                .map(|smtp| match &options.smtp_ca_file {
                    Some(path) => smtp.with_ca_file(path.clone()),
                    None => smtp,
                })
                .unwrap_or_else(|e| panic!("GAPRELAY_SMTP_URL: {e}")),
        );
    }
    if let Some(http) = options.http {
        settings.http = http;
    }
    settings.allow_private_targets = options.allow_private_targets;
    settings.delivery.timeout = options.delivery_timeout;
    settings.delivery.lease = options.delivery_timeout * 3;
    if let Some(public) = options.public {
        settings.public = public;
    }
    if let Some(ttl) = options.message_ttl {
        settings.delivery.message_ttl = ttl;
    }
    if let Some((all, per_endpoint)) = options.concurrency {
        settings.delivery.concurrency = all;
        settings.delivery.endpoint_concurrency = per_endpoint;
        settings.delivery.poll_interval = Duration::from_millis(20);
    }
    if let Some(every) = options.poll_interval {
        settings.delivery.poll_interval = every;
    }
    let mut cluster = None;
    let (redis, store): (Option<TestRedis>, Option<Arc<dyn Store>>) = if options.memory {
        (None, Some(Arc::new(MemoryStore::new())))
    } else if let Some(url) = &options.redis_url {
        settings.redis_url = Some(url.clone());
        (None, None)
    } else if options.cluster {
        let c = TestCluster::start().await;
        settings.redis_url = Some(c.urls());
        settings.redis_cluster = true;
        cluster = Some(c);
        (None, None)
    } else {
        let redis = TestRedis::start();
        settings.redis_url = Some(redis.url());
        (Some(redis), None)
    };
    let clock = Arc::new(ManualClock::new());
    let app = Application::build(
        settings,
        Options {
            run_workers: false,
            clock: clock.clone(),
            store,
        },
    )
    .await
    .expect("the application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let store = app.services().store.clone();
    let services = app.services().clone();
    let worker = app.worker();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::new(),
        redis,
        master_key,
        cluster,
        store,
        clock,
        services,
        worker,
    }
}

/// `GAPRELAY_PUBLIC_URL` of every test app: what FHIR payloads name as the relay.
pub const PUBLIC_URL: &str = "https://relay.test";

/// A canary intake: every patient field carries a value no log, key or error may show.
pub fn canary_intake() -> Value {
    json!({
        "contact": {"name": "Zelda Canaryname", "email": "zelda.canary@example.com", "phone": "+44 20 7946 0958"},
        "sex": "female",
        "age": 47,
        "labs": [
            {"marker": "3016-3", "value": 3.1337, "unit": "uIU/mL"},
            {"marker": "glucose_fasting", "value": 5.4321, "unit": "mmol/L"},
            {"marker": "vitamin_d_25oh", "value": 61.2345, "unit": "nmol/L"}
        ],
        "symptoms": ["fatigue", "cold_intolerance"],
        "consent": true,
        "engagement": {"time_on_tool_s": 240}
    })
}

/// Strings from [`canary_intake`] that must never appear outside the encrypted payload.
pub const CANARIES: &[&str] = &[
    "Canaryname",
    "zelda.canary",
    "79460958",
    "7946 0958",
    "3.1337",
    "5.4321",
    "61.2345",
];

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn create_practitioner(&self, slug: &str) -> TestPractitioner {
        let res = self
            .client
            .post(self.url("/v1/practitioners"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({
                "practice_name": format!("Practice {slug}"),
                "doctor_name": "Dr. Test",
                "email": "practice@example.com",
                "website_url": "https://practice.example.com",
                "slug": slug
            }))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["practitioner"]["slug"], slug);
        TestPractitioner {
            id: body["practitioner"]["id"].as_str().expect("id").to_owned(),
            slug: body["practitioner"]["slug"]
                .as_str()
                .expect("slug")
                .to_owned(),
            api_key: body["api_key"].as_str().expect("api_key").to_owned(),
        }
    }

    pub async fn create_endpoint(&self, key: &str, url: &str, encryption: &str) -> TestEndpoint {
        let res = self
            .client
            .post(self.url("/v1/endpoints"))
            .bearer_auth(key)
            .json(&json!({"url": url, "format": "gaprelay.v1", "encryption": encryption}))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.expect("json");
        TestEndpoint {
            id: body["id"].as_str().expect("id").to_owned(),
            secret: body["secret"].as_str().expect("secret").to_owned(),
            jwk: body["encryption_key"].clone(),
        }
    }

    pub async fn post_intake(&self, slug: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/v1/intake/{slug}")))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str, key: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(self.url(path));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        req.send().await.expect("request")
    }

    /// GETs `path` and parses the answer as JSON, whatever its status.
    pub async fn get_json(&self, path: &str, key: Option<&str>) -> Value {
        self.get(path, key).await.json().await.expect("json")
    }

    /// Starts the worker loop as `serve` runs it; send `true` to stop it.
    pub fn start_workers(&self) -> tokio::sync::watch::Sender<bool> {
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(self.worker.clone().run(rx));
        tx
    }

    /// Runs the worker until nothing is due now; returns every attempt's outcome.
    pub async fn deliver_pending(&self) -> Vec<AttemptOutcome> {
        let mut all = Vec::new();
        loop {
            let batch = self.worker.run_once().await.expect("the queue answers");
            if batch.is_empty() {
                return all;
            }
            all.extend(batch);
        }
    }

    /// The worker's current limit of deliveries in flight to `endpoint`.
    pub fn endpoint_limit(&self, endpoint: &str) -> usize {
        let id = gaprelay::domain::ids::EndpointId::parse(endpoint).expect("an endpoint id");
        self.worker.endpoint_limit(&id)
    }

    /// Moves the app's clock forward.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Now on the app's clock, Unix ms.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// A practitioner with one endpoint at a fresh fake CRM.
    pub async fn practitioner_with_crm(
        &self,
        slug: &str,
        encryption: &str,
    ) -> (TestPractitioner, TestEndpoint, FakeCrm) {
        let p = self.create_practitioner(slug).await;
        let crm = FakeCrm::start().await;
        let ep = self
            .create_endpoint(&p.api_key, &crm.url(), encryption)
            .await;
        crm.decrypt_with(&ep.jwk);
        (p, ep, crm)
    }
}

/// The error body's `code`.
pub async fn error_code(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.expect("error body is JSON");
    assert!(body["error"]["code"].is_string(), "error shape: {body}");
    (status, body)
}

/// Whether `key` names a queued message's hash (its payload and its delivery-log
/// record), in any partition of the queue.
pub fn is_message_key(key: &str) -> bool {
    message_id_of(key).is_some()
}

/// The message a message key names.
pub fn message_id_of(key: &str) -> Option<gaprelay::domain::ids::MessageId> {
    let rest = key.strip_prefix("gr:{q")?;
    let (_, id) = rest.split_once("}:msg:")?;
    gaprelay::domain::ids::MessageId::parse(id).ok()
}

/// The message hashes on this Redis that still hold a payload: a delivered, dropped or
/// expired message keeps only its delivery-log record, its `sealed` field emptied.
pub async fn payload_keys(redis: &mut ::redis::aio::MultiplexedConnection) -> Vec<String> {
    let keys: Vec<String> = ::redis::cmd("KEYS")
        .arg("gr:{q*}:msg:*")
        .query_async(redis)
        .await
        .expect("keys");
    let mut holding = Vec::new();
    for key in keys {
        let sealed: Option<Vec<u8>> = ::redis::cmd("HGET")
            .arg(&key)
            .arg("sealed")
            .query_async(redis)
            .await
            .expect("hget");
        if sealed.is_some_and(|s| !s.is_empty()) {
            holding.push(key);
        }
    }
    holding
}

/// How many reads (`GET`, `HGET`, `HGETALL`) this Redis has served so far.
pub async fn read_commands(redis: &mut ::redis::aio::MultiplexedConnection) -> u64 {
    command_calls(redis, &["get", "hgetall", "hget"]).await
}

/// How many times this Redis has run `commands` (lower case, as `INFO commandstats`
/// names them) so far, scripts' inner calls included.
pub async fn command_calls(
    redis: &mut ::redis::aio::MultiplexedConnection,
    commands: &[&str],
) -> u64 {
    let info: String = ::redis::cmd("INFO")
        .arg("commandstats")
        .query_async(redis)
        .await
        .expect("info");
    info.lines()
        .filter(|l| {
            commands.iter().any(|c| {
                l.strip_prefix("cmdstat_")
                    .and_then(|l| l.strip_prefix(c))
                    .is_some_and(|rest| rest.starts_with(':'))
            })
        })
        .filter_map(|l| {
            l.split("calls=")
                .nth(1)?
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}
