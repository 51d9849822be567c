//! The patient's form in a real browser: headless Chromium (driven by
//! tests/browser/form.test.mjs) opens a practice's page on another origin that embeds the
//! form with its one script line, fills it in, corrects an error, sees the drawn report; a
//! page on an origin that is not allowed cannot frame it. Then the CRM gets the webhook.

use crate::helpers::{spawn_app_with, AppOptions, TestApp, TestPractitioner};
use crate::support::RecordedRequest;
use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpResponse, HttpServer};
use gaprelay::config::PublicLimits;
use gaprelay::crypto::jwe::{self, ContentKey, FlattenedJwe};
use gaprelay::crypto::webhook::{self, WebhookSecret};
use gaprelay::delivery::worker::AttemptOutcome;
use serde_json::{json, Value};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The practice as the screenshots in the README show it.
const PRACTICE_NAME: &str = "Harbour Lane Wellness";
/// The host page's path and the campaign it was reached from.
const HOST_PATH: &str = "/labs";
const HOST_QUERY: &str = "utm_source=newsletter&utm_medium=email&utm_campaign=spring-labs";
/// The whole browser run takes well under a minute; this only stops a hung one.
const NODE_TIMEOUT: Duration = Duration::from_secs(240);

/// What a child's stream has printed so far, read in the background as it comes, and
/// the reader (done once the stream closes).
type Seen = std::sync::Arc<std::sync::Mutex<Vec<u8>>>;

fn drain<R>(stream: Option<R>) -> (Seen, tokio::task::JoinHandle<()>)
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    let seen = Seen::default();
    let sink = seen.clone();
    let reader = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let Some(mut stream) = stream else { return };
        let mut buf = [0u8; 8192];
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
            sink.lock().expect("lock").extend_from_slice(&buf[..n]);
        }
    });
    (seen, reader)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patient_completes_the_embedded_form_in_chromium_and_the_crm_receives_the_lead() {
    let chromium = chromium_bin();
    let browser_dir = browser_dir();
    let app = spawn_app_with(AppOptions {
        // The form is filled in faster than any person could: the bot screening's minimum
        // fill time must not discard it, and a browser sends more requests from one
        // address than the public limits allow in a moment.
        public: Some(PublicLimits {
            per_address: None,
            per_practitioner: None,
            trusted_proxies: Vec::new(),
            min_fill_time: Duration::ZERO,
        }),
        ..AppOptions::default()
    })
    .await;
    let (practitioner, endpoint, crm) = app.practitioner_with_crm("harbour-lane", "jwe").await;
    // `localhost` and `127.0.0.1` are different origins (and sites) to the browser.
    let host = HostSite::start(&app.address, &practitioner.slug);
    let foreign = HostSite::start(&app.address, &practitioner.slug);
    brand_and_allow(&app, &practitioner, &host.origin()).await;

    let screenshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/images");
    std::fs::create_dir_all(&screenshots).expect("create docs/images");
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let result_file = scratch.path().join("result.json");
    let script = browser_dir.join("form.test.mjs");
    let run = tokio::process::Command::new("node")
        .arg(&script)
        .current_dir(&browser_dir)
        .env("RELAY_URL", &app.address)
        .env("HOST_URL", host.url(&format!("{HOST_PATH}?{HOST_QUERY}")))
        .env("FOREIGN_HOST_URL", foreign.url(HOST_PATH))
        .env("SLUG", &practitioner.slug)
        .env("PRACTICE_NAME", PRACTICE_NAME)
        .env("CHROMIUM_BIN", &chromium)
        .env("SCREENSHOT_DIR", &screenshots)
        .env("RESULT_FILE", &result_file)
        .kill_on_drop(true)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run node {}: {e} (is Node.js installed?)", script.display()));
    // Both streams are read as they come, so that a run that does not finish still
    // shows how far it got.
    let mut run = run;
    let (out_seen, out_reader) = drain(run.stdout.take());
    let (err_seen, err_reader) = drain(run.stderr.take());
    // The relay and both host sites keep serving on this runtime while node runs.
    let status = match tokio::time::timeout(NODE_TIMEOUT, run.wait()).await {
        Ok(status) => status.unwrap_or_else(|e| panic!("wait for node: {e}")),
        Err(_) => {
            let _ = run.kill().await;
            panic!(
                "{} did not finish within {NODE_TIMEOUT:?}; what it printed so far:\n{}{}",
                script.display(),
                String::from_utf8_lossy(&out_seen.lock().expect("lock")),
                String::from_utf8_lossy(&err_seen.lock().expect("lock")),
            )
        }
    };
    // The readers take the last bytes once the streams close.
    let _ = tokio::join!(out_reader, err_reader);
    let output = std::process::Output {
        status,
        stdout: out_seen.lock().expect("lock").clone(),
        stderr: err_seen.lock().expect("lock").clone(),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // node:test's report (and what the browser saw, on stderr): shown with --nocapture
    // or when the test fails.
    eprintln!("{stdout}{stderr}");
    if !output.status.success() {
        // What the relay made of the submissions it saw, to set beside the browser's
        // timeline of them: answered here and lost on the way, or never answered.
        let metrics = crate::support::process::scrape_metrics(&app.address).await;
        let intakes: Vec<&str> = metrics
            .lines()
            .filter(|l| l.starts_with("gaprelay_intake_total"))
            .collect();
        panic!(
            "the browser tests failed ({}); their report is above; the relay counted {intakes:?}",
            output.status
        );
    }

    let result: Value = serde_json::from_slice(
        &std::fs::read(&result_file).expect("the browser tests write their result file"),
    )
    .expect("the result file is JSON");
    let submission_id = result["embeddedSubmissionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no submission id from the embedded form: {result}"));
    assert!(submission_id.starts_with("sub_"), "{submission_id}");

    let outcomes = app.deliver_pending().await;
    assert!(
        !outcomes.is_empty() && outcomes.iter().all(|o| *o == AttemptOutcome::Delivered),
        "{outcomes:?}"
    );
    let webhooks: Vec<Value> = crm
        .requests()
        .iter()
        .map(|r| verified_payload(r, &endpoint.secret, &endpoint.jwk))
        .collect();
    let data = webhooks
        .iter()
        .find(|d| d["submission_id"] == submission_id)
        .unwrap_or_else(|| panic!("no webhook for {submission_id} among {}", webhooks.len()));

    assert_eq!(data["practitioner"]["slug"], "harbour-lane");
    assert_eq!(data["patient"]["name"], "Zelda Canaryname");
    assert_eq!(data["patient"]["email"], "zelda.canary@example.com");
    assert_eq!(data["consent"]["given"], true);
    let labs = data["report"]["labs"].as_array().expect("report.labs");
    let tsh = labs
        .iter()
        .find(|l| l["marker"] == "tsh")
        .unwrap_or_else(|| panic!("no TSH in the report: {labs:?}"));
    // Typed as "2,5" (a decimal comma) in the practice's unit.
    assert_eq!(tsh["value"].as_f64(), Some(2.5), "{tsh}");
    assert_eq!(tsh["unit"], "mIU/L", "{tsh}");
    // The lead source: the page the form was embedded on (no query) and its campaign.
    assert_eq!(
        data["source"]["page_url"],
        host.url(HOST_PATH),
        "source: {}",
        data["source"]
    );
    assert_eq!(
        data["source"]["utm"]["campaign"], "spring-labs",
        "source: {}",
        data["source"]
    );
}

/// Names the practice as the screenshots show it and lets `origin` embed its form.
async fn brand_and_allow(app: &TestApp, practitioner: &TestPractitioner, origin: &str) {
    let res = app
        .client
        .patch(app.url("/v1/practitioner"))
        .bearer_auth(&practitioner.api_key)
        .json(&json!({
            "practice_name": PRACTICE_NAME,
            "doctor_name": "Dr. Maya Lindqvist",
            "allowed_origins": [origin],
            "call_to_action": {"label": "Book a consultation", "url": "https://harbourlane.example/book"},
        }))
        .send()
        .await
        .expect("PATCH /v1/practitioner");
    let status = res.status();
    let body = res.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{body}");
}

/// The webhook's signature checked with the endpoint's secret and its `data` decrypted.
fn verified_payload(request: &RecordedRequest, secret: &str, jwk: &Value) -> Value {
    let header = |name: &str| {
        request
            .header(name)
            .unwrap_or_else(|| panic!("the webhook has no {name} header"))
    };
    let timestamp: i64 = header("webhook-timestamp")
        .parse()
        .expect("webhook-timestamp is a number");
    let secret = WebhookSecret::from_whsec(secret).expect("the endpoint's secret");
    assert!(
        webhook::verify(
            &secret,
            header("webhook-id"),
            timestamp,
            &request.body,
            header("webhook-signature")
        ),
        "the webhook's signature does not verify"
    );
    let body = request.json();
    assert_eq!(body["type"], "intake.submitted");
    let sealed: FlattenedJwe =
        serde_json::from_value(body["data"].clone()).expect("data is a flattened JWE");
    let key = ContentKey::from_jwk(jwk).expect("the endpoint's JWK");
    serde_json::from_slice(&jwe::decrypt(&key, &sealed).expect("data decrypts")).expect("JSON")
}

/// Debian's Chromium, from `CHROMIUM_BIN` (set by `make test`). A browser test that cannot
/// run fails: it never passes by skipping.
fn chromium_bin() -> PathBuf {
    let bin = std::env::var_os("CHROMIUM_BIN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!(
                "CHROMIUM_BIN is not set: the browser tests need Debian's Chromium. Run them \
                 with `make test`, or `make browser` then CHROMIUM_BIN=/usr/bin/chromium"
            )
        });
    assert!(
        bin.is_file(),
        "CHROMIUM_BIN={} does not exist; `make browser` installs Debian's chromium",
        bin.display()
    );
    bin
}

/// tests/browser with its npm packages: `GAPRELAY_BROWSER_DIR` (set by `make test`), else
/// the one in the crate.
fn browser_dir() -> PathBuf {
    let dir = std::env::var_os("GAPRELAY_BROWSER_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser"));
    assert!(
        dir.join("node_modules/playwright-core").is_dir()
            && dir.join("node_modules/axe-core").is_dir(),
        "{} has no node_modules with playwright-core and axe-core; run `make browser`",
        dir.display()
    );
    dir
}

/// A practice's website on `http://localhost:PORT`: `/labs` embeds the form with the one
/// script line and, with a first-party script, writes every `gaprelay:submitted` event's
/// detail into `<pre id="events">`, where the test reads it. Stops when dropped.
struct HostSite {
    port: u16,
    handle: ServerHandle,
}

/// The practice's own script: what a conversion tag would do with the event.
const HOST_JS: &str = r#"(function () {
  var out = document.getElementById("events");
  var seen = [];
  document.addEventListener("gaprelay:submitted", function (event) {
    seen.push(event.detail);
    out.textContent = JSON.stringify(seen);
    out.setAttribute("data-count", String(seen.length));
  });
})();
"#;

impl HostSite {
    fn start(relay: &str, slug: &str) -> HostSite {
        let page = format!(
            r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{PRACTICE_NAME}: check your labs</title>
</head>
<body>
<h1>Check your lab results</h1>
<script src="{relay}/embed.js" data-gaprelay-form="{slug}" async></script>
<pre id="events" data-count="0">[]</pre>
<script src="/host.js"></script>
</body>
</html>
"#
        );
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a host site to 127.0.0.1:0");
        let port = listener
            .local_addr()
            .expect("the host site's address")
            .port();
        let server = HttpServer::new(move || {
            let page = page.clone();
            App::new()
                .route(
                    HOST_PATH,
                    web::get().to(move || {
                        let page = page.clone();
                        async move {
                            HttpResponse::Ok()
                                .content_type("text/html; charset=utf-8")
                                .body(page)
                        }
                    }),
                )
                .route(
                    "/host.js",
                    web::get().to(|| async {
                        HttpResponse::Ok()
                            .content_type("text/javascript; charset=utf-8")
                            .body(HOST_JS)
                    }),
                )
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)
        .expect("listen on the host site's socket")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        HostSite { port, handle }
    }

    /// `http://localhost:PORT`: another origin than the relay's `http://127.0.0.1:PORT`.
    fn origin(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.origin())
    }
}

impl Drop for HostSite {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}
