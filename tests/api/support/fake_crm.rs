//! A fake CRM/EHR webhook receiver: a real HTTP server that records every request and answers from a script.
//!
//! Every request it records is checked against the webhook JSON Schemas
//! (`webhook_schemas`); a violation fails the test that owns the receiver when the
//! receiver is dropped, so every delivery in the integration tests is checked without
//! each test asking.

use std::collections::{HashMap, VecDeque};
use std::net::{Ipv4Addr, TcpListener};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

/// Webhook bodies larger than this are refused by the fake (actix's default is 256 KiB).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// The path only, without the query string, e.g. `/hook`.
    pub path: String,
    /// Lower-cased header names; repeated headers are joined with `", "`.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// Whether its Standard Webhooks headers verify against the endpoint's `whsec_`
    /// secret (the check every receiver runs before trusting a delivery).
    pub fn is_signed_by(&self, whsec: &str) -> bool {
        // The receiver library's check, without its timestamp tolerance: tests move the
        // relay's clock, and the signature is what this asks about.
        let (Ok(secret), Ok(headers)) = (
            gaprelay_receiver::Secret::from_whsec(whsec),
            gaprelay_receiver::Headers::from_fn(|name| self.header(name)),
        ) else {
            return false;
        };
        let Ok(ts) = headers.timestamp.parse::<i64>() else {
            return false;
        };
        gaprelay_receiver::verify(
            &headers,
            &self.body,
            &[secret],
            ts,
            std::time::Duration::ZERO,
        )
        .is_ok()
    }

    /// The body as text (lossy: invalid UTF-8 shows as U+FFFD).
    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The body parsed as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("request body is not JSON ({e}): {}", self.body_str()))
    }
}

/// One scripted answer. `FakeResponse::status(503).header("Retry-After", "1")`.
#[derive(Debug, Clone)]
pub struct FakeResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// How long to wait before answering (after the request has been recorded),
    /// e.g. longer than the relay's timeout.
    pub delay: Duration,
}

impl FakeResponse {
    pub fn status(status: u16) -> FakeResponse {
        FakeResponse {
            status,
            headers: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> FakeResponse {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn delay(mut self, delay: Duration) -> FakeResponse {
        self.delay = delay;
        self
    }
}

#[derive(Debug)]
struct State {
    requests: Vec<RecordedRequest>,
    script: VecDeque<FakeResponse>,
    default_status: u16,
    /// Whether recorded requests are checked against the webhook schemas.
    check_schemas: bool,
    /// What the check found, one line per problem, naming the request.
    schema_violations: Vec<String>,
    /// The endpoints' JWKs, to check the payloads they encrypt too.
    jwks: Vec<serde_json::Value>,
    /// How long unscripted answers take.
    default_delay: Duration,
    /// Requests being answered now, and the most there ever were at once.
    in_flight: usize,
    max_in_flight: usize,
}

type Shared = Arc<Mutex<State>>;

fn lock(state: &Shared) -> MutexGuard<'_, State> {
    // A test that panicked while holding the lock must not hide the original failure
    // behind a poisoning panic elsewhere.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// POSTs to a receiver at `url` what looks like a webhook but is signed by no one's
/// secret (`webhook-id: msg_forged`, a fresh timestamp); returns the status it answered.
pub async fn post_forged_webhook(url: &str) -> u16 {
    reqwest::Client::new()
        .post(url)
        .header("webhook-id", "msg_forged")
        .header(
            "webhook-timestamp",
            time::OffsetDateTime::now_utc().unix_timestamp().to_string(),
        )
        .header(
            "webhook-signature",
            "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        )
        .body(r#"{"type":"endpoint.test","timestamp":"2026-01-01T00:00:00Z","data":{}}"#)
        .send()
        .await
        .expect("POST to the receiver")
        .status()
        .as_u16()
}

/// A webhook receiver on `127.0.0.1:<free port>`. Accepts any method and path, records
/// the request, then answers with the next scripted response or the default status
/// (200 unless changed). Stops when dropped.
pub struct FakeCrm {
    port: u16,
    state: Shared,
    handle: ServerHandle,
}

impl FakeCrm {
    /// Binds a free port and starts serving on the current tokio runtime.
    pub async fn start() -> FakeCrm {
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind the fake CRM to 127.0.0.1:0");
        let port = listener
            .local_addr()
            .expect("the fake CRM's local address")
            .port();
        let state: Shared = Arc::new(Mutex::new(State {
            requests: Vec::new(),
            script: VecDeque::new(),
            default_status: 200,
            check_schemas: true,
            schema_violations: Vec::new(),
            jwks: Vec::new(),
            default_delay: Duration::ZERO,
            in_flight: 0,
            max_in_flight: 0,
        }));
        let app_state = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY))
                .default_service(web::to(receive))
        })
        // One worker is plenty for a test and keeps threads down when many tests run at once.
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)
        .expect("listen on the fake CRM's socket")
        .run();
        let handle = server.handle();
        // The server runs until `Drop` stops it, or until the test's runtime shuts down,
        // which drops it (a forced stop that closes the listener).
        tokio::spawn(server);
        FakeCrm {
            port,
            state,
            handle,
        }
    }

    /// The webhook URL to configure on an endpoint: `http://127.0.0.1:PORT/hook`.
    pub fn url(&self) -> String {
        self.url_for("/hook")
    }

    /// A URL on this receiver with another path, e.g. `/other?x=1`.
    pub fn url_for(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Queues a response; scripted responses are used in order, one per request.
    pub fn push_response(&self, response: FakeResponse) {
        lock(&self.state).script.push_back(response);
    }

    /// The status answered once the script is exhausted.
    pub fn set_default_status(&self, status: u16) {
        lock(&self.state).default_status = status;
    }

    /// Makes unscripted answers take `delay`.
    pub fn set_default_delay(&self, delay: Duration) {
        lock(&self.state).default_delay = delay;
    }

    /// The most requests this receiver was answering at once.
    pub fn max_in_flight(&self) -> usize {
        lock(&self.state).max_in_flight
    }

    /// Stops checking requests against the webhook schemas, for a test that sends the
    /// receiver something other than the relay's webhooks.
    pub fn without_schema_checks(self) -> FakeCrm {
        lock(&self.state).check_schemas = false;
        self
    }

    /// Gives the receiver an endpoint's JWK, so that the schema check also covers the
    /// payloads encrypted under it.
    pub fn decrypt_with(&self, jwk: &serde_json::Value) {
        lock(&self.state).jwks.push(jwk.clone());
    }

    /// Takes what the schema check found so far (so that dropping the receiver no
    /// longer fails for it).
    pub fn take_schema_violations(&self) -> Vec<String> {
        std::mem::take(&mut lock(&self.state).schema_violations)
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).requests.clone()
    }

    /// Waits until at least `n` requests have arrived and returns all of them; panics,
    /// saying how many arrived, when `timeout` passes first.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<RecordedRequest> {
        let deadline = Instant::now() + timeout;
        loop {
            let requests = self.requests();
            if requests.len() >= n {
                return requests;
            }
            if Instant::now() >= deadline {
                panic!(
                    "the fake CRM received {} request(s), expected at least {n} within {timeout:?}",
                    requests.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for FakeCrm {
    fn drop(&mut self) {
        // `stop` sends the command before returning its future, so the server is told to
        // stop even though the future cannot be awaited here.
        drop(self.handle.stop(false));
        let violations = self.take_schema_violations();
        // A test already failing keeps its own message (a panic here would abort).
        if !violations.is_empty() && !std::thread::panicking() {
            panic!(
                "the fake CRM received webhooks that do not match schemas/ (fix the schema, or report the relay bug):\n{}",
                violations.join("\n")
            );
        }
    }
}

async fn receive(request: HttpRequest, body: web::Bytes, state: web::Data<Shared>) -> HttpResponse {
    let mut headers: HashMap<String, String> = HashMap::new();
    for (name, value) in request.headers() {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_ascii_lowercase())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(&value);
            })
            .or_insert(value);
    }
    let recorded = RecordedRequest {
        method: request.method().to_string(),
        path: request.path().to_string(),
        headers,
        body: body.to_vec(),
    };
    let (check, jwks) = {
        let state = lock(&state);
        (state.check_schemas, state.jwks.clone())
    };
    let violations = if check {
        super::webhook_schemas::violations_decrypting(&recorded.body, &jwks)
    } else {
        Vec::new()
    };
    let response = {
        let mut state = lock(&state);
        let described = format!(
            "request {} ({} {}, webhook-id {})",
            state.requests.len() + 1,
            recorded.method,
            recorded.path,
            recorded.header("webhook-id").unwrap_or("none"),
        );
        state
            .schema_violations
            .extend(violations.into_iter().map(|v| format!("{described}: {v}")));
        state.requests.push(recorded);
        state.in_flight += 1;
        state.max_in_flight = state.max_in_flight.max(state.in_flight);
        let (default_status, default_delay) = (state.default_status, state.default_delay);
        state
            .script
            .pop_front()
            .unwrap_or_else(|| FakeResponse::status(default_status).delay(default_delay))
    };

    if !response.delay.is_zero() {
        tokio::time::sleep(response.delay).await;
    }
    lock(&state).in_flight -= 1;
    let status = StatusCode::from_u16(response.status)
        .unwrap_or_else(|_| panic!("scripted status {} is not valid", response.status));
    let mut builder = HttpResponse::build(status);
    for (name, value) in &response.headers {
        builder.insert_header((name.as_str(), value.as_str()));
    }
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_webhook_is_signed_only_by_its_own_secret_and_body() {
        use gaprelay::crypto::webhook::{sign, WebhookSecret};
        let mut rng = rand::rngs::OsRng;
        let secret = WebhookSecret::generate(&mut rng);
        let body = br#"{"type":"endpoint.test"}"#.to_vec();
        let headers = HashMap::from([
            ("webhook-id".to_owned(), "msg_1".to_owned()),
            ("webhook-timestamp".to_owned(), "1700000000".to_owned()),
            (
                "webhook-signature".to_owned(),
                sign(&secret, "msg_1", 1_700_000_000, &body),
            ),
        ]);
        let mut r = RecordedRequest {
            method: "POST".into(),
            path: "/hook".into(),
            headers,
            body,
        };
        assert!(r.is_signed_by(&secret.to_whsec()));
        let other = WebhookSecret::generate(&mut rng);
        assert!(!r.is_signed_by(&other.to_whsec()));
        r.body.push(b' ');
        assert!(!r.is_signed_by(&secret.to_whsec()));
    }

    fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("build a reqwest client")
    }

    #[tokio::test]
    async fn the_fake_crm_records_a_post_and_answers_200_by_default() {
        let crm = FakeCrm::start().await.without_schema_checks();
        assert!(crm.url().ends_with("/hook"));
        let response = client()
            .post(crm.url())
            .header("Content-Type", "application/json")
            .header("Webhook-Id", "msg_1")
            .body(r#"{"type":"endpoint.test"}"#)
            .send()
            .await
            .expect("POST to the fake CRM");
        assert_eq!(response.status(), 200);

        let requests = crm.wait_for_requests(1, Duration::from_secs(5)).await;
        assert_eq!(requests.len(), 1);
        let request = &requests[0];
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/hook");
        assert_eq!(request.headers["webhook-id"], "msg_1");
        assert_eq!(request.header("Content-Type"), Some("application/json"));
        assert_eq!(request.body_str(), r#"{"type":"endpoint.test"}"#);
        assert_eq!(request.json()["type"], "endpoint.test");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn scripted_responses_are_replayed_in_order_then_the_default() {
        let crm = FakeCrm::start().await.without_schema_checks();
        crm.push_response(FakeResponse::status(503).header("Retry-After", "7"));
        crm.push_response(FakeResponse::status(410));
        crm.set_default_status(202);

        let first = client()
            .post(crm.url_for("/elsewhere?x=1"))
            .body("a")
            .send()
            .await
            .expect("first POST");
        assert_eq!(first.status(), 503);
        assert_eq!(
            first
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("7")
        );
        let second = client().post(crm.url()).send().await.expect("second POST");
        assert_eq!(second.status(), 410);
        let third = client().post(crm.url()).send().await.expect("third POST");
        assert_eq!(third.status(), 202);

        let paths: Vec<String> = crm.requests().into_iter().map(|r| r.path).collect();
        assert_eq!(paths, ["/elsewhere", "/hook", "/hook"]);
    }

    #[tokio::test]
    async fn a_delayed_response_is_recorded_before_the_client_gives_up() {
        let crm = FakeCrm::start().await.without_schema_checks();
        crm.push_response(FakeResponse::status(200).delay(Duration::from_secs(5)));
        let outcome = reqwest::Client::builder()
            .timeout(Duration::from_millis(200))
            .build()
            .expect("build a reqwest client")
            .post(crm.url())
            .send()
            .await;
        assert!(
            outcome.as_ref().is_err_and(|e| e.is_timeout()),
            "{outcome:?}"
        );
        assert_eq!(crm.requests().len(), 1);
    }

    #[tokio::test]
    async fn wait_for_requests_panics_with_the_count_seen() {
        let crm = FakeCrm::start().await;
        let waited = tokio::spawn(async move {
            crm.wait_for_requests(1, Duration::from_millis(50)).await;
        })
        .await;
        let panic = waited.expect_err("waiting for a request that never comes must panic");
        let message = panic
            .into_panic()
            .downcast::<String>()
            .map(|message| *message)
            .unwrap_or_default();
        assert!(message.contains("received 0 request(s)"), "{message}");
    }

    #[tokio::test]
    async fn a_dropped_fake_crm_stops_accepting_connections() {
        let crm = FakeCrm::start().await.without_schema_checks();
        let url = crm.url();
        drop(crm);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if client().post(&url).send().await.is_err() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the fake CRM still answers after drop"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn a_webhook_that_breaks_its_schema_is_recorded_and_fails_the_test_on_drop() {
        let crm = FakeCrm::start().await;
        let valid = r#"{"type":"endpoint.test","timestamp":"2026-01-01T00:00:00Z","data":{"practitioner":{"id":"prac_1"},"message":"hi"}}"#;
        // `submission_id` is missing and `patient` is not an object.
        let invalid = r#"{"type":"intake.submitted","timestamp":"2026-01-01T00:00:00Z","data":{"submitted_at":"2026-01-01T00:00:00Z","patient":"x"}}"#;
        for body in [valid, invalid] {
            let response = client()
                .post(crm.url())
                .header("Content-Type", "application/json")
                .header("Webhook-Id", "msg_1")
                .body(body)
                .send()
                .await
                .expect("POST to the fake CRM");
            assert_eq!(response.status(), 200);
        }
        let violations = crm.take_schema_violations();
        assert!(
            violations.iter().all(|v| v.starts_with("request 2 ")),
            "{violations:?}"
        );
        assert!(
            violations
                .iter()
                .any(|v| v.contains("gaprelay.v1") && v.contains("submission_id")),
            "{violations:?}"
        );
        assert!(
            violations.iter().any(|v| v.contains("/patient")),
            "{violations:?}"
        );
        // Dropping a receiver that saw a violation fails the test that owns it.
        client()
            .post(crm.url())
            .body(invalid)
            .send()
            .await
            .expect("POST to the fake CRM");
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(crm)));
        let message = dropped
            .expect_err("dropping a receiver that saw a violation must panic")
            .downcast::<String>()
            .map(|message| *message)
            .unwrap_or_default();
        assert!(message.contains("do not match schemas/"), "{message}");
    }
}
