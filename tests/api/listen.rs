//! `gaprelay listen` against a demo relay (`serve --demo`, what `make run` starts), both
//! real processes: it creates an endpoint with a key pair of its own, prints a real
//! intake verified and decrypted, forwards it signed, refuses what the relay did not
//! sign, and deletes its endpoint when stopped.

use crate::helpers::{canary_intake, CANARIES};
use crate::support::{post_forged_webhook, start_demo, FakeCrm, Gaprelay};
use serde_json::Value;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// Submits the canary intake to the demo practice's form; it must be accepted.
async fn submit_canary(base: &str) {
    let res = reqwest::Client::new()
        .post(format!("{base}/v1/intake/demo"))
        .json(&canary_intake())
        .send()
        .await
        .expect("submit");
    assert_eq!(res.status(), 202);
}

/// `GET /v1/endpoints` of the demo practice.
async fn list_endpoints(base: &str, key: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{base}/v1/endpoints"))
        .bearer_auth(key)
        .send()
        .await
        .expect("list endpoints")
        .json()
        .await
        .expect("JSON")
}

#[tokio::test]
async fn listen_prints_a_verified_decrypted_intake_from_the_demo_and_forwards_it() {
    let (base, key, _demo) = start_demo().await;
    let app = FakeCrm::start().await;
    let mut listen = Gaprelay::start(
        &["listen", "--relay", &base, "--forward-to", &app.url()],
        &[("GAPRELAY_API_KEY", &key)],
    );
    let ready = listen.stderr.until(|l| l.contains("ready:"), WAIT).await;
    let endpoint = ready
        .split_whitespace()
        .find(|w| w.starts_with("ep_"))
        .expect("the endpoint id")
        .to_owned();
    let listener_url = ready
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("the listener's URL")
        .to_owned();
    let forwarding = listen
        .stderr
        .until(|l| l.contains("forwarding to"), WAIT)
        .await;
    let secret = forwarding
        .split_whitespace()
        .find(|w| w.starts_with("whsec_"))
        .expect("the secret forwarded events are signed with")
        .to_owned();

    // The endpoint is a `jwe-receiver` one: the relay holds only the public key.
    let endpoints = list_endpoints(&base, &key).await;
    let listed = &endpoints["data"][0];
    assert_eq!(listed["id"], endpoint.as_str(), "{endpoints}");
    assert_eq!(listed["encryption"], "jwe-receiver", "{endpoints}");
    assert_eq!(listed["url"], listener_url.as_str(), "{endpoints}");

    // A request the relay did not sign is refused and printed nowhere.
    assert_eq!(post_forged_webhook(&listener_url).await, 400);
    listen
        .stderr
        .until(|l| l.contains("refused msg_forged"), WAIT)
        .await;

    submit_canary(&base).await;

    // stdout: the event as a `none` endpoint would receive it, decrypted.
    let line = listen.stdout.until(|l| !l.trim().is_empty(), WAIT).await;
    assert!(
        line.starts_with(r#"{"type":"intake.submitted","timestamp":""#),
        "{line}"
    );
    let event: Value = serde_json::from_str(&line).expect("one JSON document per line");
    assert_eq!(
        event["data"]["patient"]["name"], "Zelda Canaryname",
        "{line}"
    );
    assert_eq!(event["data"]["practitioner"]["slug"], "demo");
    assert!(
        listen.stdout.seen().lines().count() == 1,
        "the forged request printed nothing: {}",
        listen.stdout.seen()
    );
    listen
        .stderr
        .until(
            |l| l.contains("intake.submitted") && l.contains("forwarded: 200"),
            WAIT,
        )
        .await;

    // The app got the same envelope in clear, signed with the printed secret (and it
    // validates against the schemas: FakeCrm checks every request it records).
    let forwarded = app.wait_for_requests(1, WAIT).await;
    assert_eq!(forwarded[0].body_str(), line);
    assert!(forwarded[0].is_signed_by(&secret));
    assert!(forwarded[0]
        .header("webhook-id")
        .is_some_and(|id| id.starts_with("msg_")));
    assert!(app.take_schema_violations().is_empty());

    // Status lines carry ids, never the event's data (which the same scan finds on stdout).
    assert!(listen.stdout.seen().contains("Canaryname"));
    for canary in CANARIES {
        assert!(!listen.stderr.seen().contains(canary), "{canary} on stderr");
    }

    // Stopped, it deletes the endpoint it created.
    let status = listen.terminate(WAIT).await;
    assert!(status.success(), "{status}");
    let deleted = listen
        .stderr
        .until(|l| l.contains("deleted endpoint"), WAIT)
        .await;
    assert!(deleted.ends_with(&endpoint), "{deleted}");
    let endpoints = list_endpoints(&base, &key).await;
    assert_eq!(endpoints["data"], serde_json::json!([]), "{endpoints}");
}

#[tokio::test]
async fn listen_answers_the_relay_with_the_apps_status_so_the_relay_retries() {
    let (base, key, _demo) = start_demo().await;
    let app = FakeCrm::start().await;
    app.set_default_status(503);
    let mut listen = Gaprelay::start(
        &[
            "listen",
            "--relay",
            &base,
            "--forward-to",
            &app.url(),
            "--keep",
        ],
        &[("GAPRELAY_API_KEY", &key)],
    );
    listen.stderr.until(|l| l.contains("ready:"), WAIT).await;
    submit_canary(&base).await;
    listen
        .stderr
        .until(|l| l.contains("forwarded: 503"), WAIT)
        .await;
    // The relay saw the 503 and keeps the delivery for a retry.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let log: Value = reqwest::Client::new()
            .get(format!("{base}/v1/deliveries"))
            .bearer_auth(&key)
            .send()
            .await
            .expect("delivery log")
            .json()
            .await
            .expect("JSON");
        let first = &log["data"][0];
        if first["last_http_status"] == 503 {
            assert_eq!(first["status"], "retrying", "{log}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{log}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // `--keep` leaves the endpoint in place.
    assert!(listen.terminate(WAIT).await.success());
    let endpoints = list_endpoints(&base, &key).await;
    assert_eq!(
        endpoints["data"].as_array().map(Vec::len),
        Some(1),
        "{endpoints}"
    );
}

#[test]
fn listen_without_an_api_key_says_how_to_get_one() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gaprelay"))
        .args(["listen", "--relay", "http://127.0.0.1:9"])
        .env_remove("GAPRELAY_API_KEY")
        .output()
        .expect("run listen");
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("--api-key") && said.contains("make run"),
        "{said}"
    );
}

/// `--endpoint … --secret … --key …`: listens for an endpoint that already exists (here
/// a `jwe` one, created beforehand for the port it will listen on), and leaves it be.
#[tokio::test]
async fn listen_receives_for_an_existing_endpoint_with_its_secret_and_key() {
    let (base, key, _demo) = start_demo().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let created: Value = reqwest::Client::new()
        .post(format!("{base}/v1/endpoints"))
        .bearer_auth(&key)
        .json(&serde_json::json!({
            "url": format!("http://127.0.0.1:{port}/webhook"),
            "encryption": "jwe",
        }))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("JSON");
    let id = created["id"].as_str().expect("id").to_owned();
    let dir = tempfile::tempdir().expect("a directory");
    let jwk = dir.path().join("key.jwk");
    std::fs::write(&jwk, created["encryption_key"].to_string()).expect("write the JWK");
    let bind = format!("127.0.0.1:{port}");
    let mut listen = Gaprelay::start(
        &[
            "listen",
            "--relay",
            &base,
            "--bind",
            &bind,
            "--endpoint",
            &id,
            "--key",
            jwk.to_str().expect("a UTF-8 path"),
        ],
        &[(
            "GAPRELAY_ENDPOINT_SECRET",
            created["secret"].as_str().expect("secret"),
        )],
    );
    listen.stderr.until(|l| l.contains("ready:"), WAIT).await;
    submit_canary(&base).await;
    let line = listen.stdout.until(|l| !l.trim().is_empty(), WAIT).await;
    let event: Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(event["data"]["patient"]["name"], "Zelda Canaryname");
    assert!(listen.terminate(WAIT).await.success());
    // Not created by this run: not deleted either.
    let listed = list_endpoints(&base, &key).await;
    assert_eq!(listed["data"][0]["id"], id.as_str(), "{listed}");
}
