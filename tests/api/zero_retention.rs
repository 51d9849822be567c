//! Zero retention, proved with canary values: while queued, Redis holds no plaintext
//! patient data and every key holding it expires within 24 h; after delivery nothing of
//! it is left; and nothing of it reaches the logs, even at `RUST_LOG=debug`.

use crate::helpers::{canary_intake, spawn_app, ADMIN_TOKEN, CANARIES};
use crate::support::redis::free_port;
use crate::support::{FakeCrm, TestRedis};
use std::process::Stdio;
use std::time::Duration;

async fn all_keys(redis: &mut ::redis::aio::MultiplexedConnection) -> Vec<String> {
    ::redis::cmd("KEYS")
        .arg("*")
        .query_async(redis)
        .await
        .expect("keys")
}

/// Every byte Redis holds for a key, as DUMP serializes it.
async fn dump(redis: &mut ::redis::aio::MultiplexedConnection, key: &str) -> String {
    let raw: Option<Vec<u8>> = ::redis::cmd("DUMP")
        .arg(key)
        .query_async(redis)
        .await
        .expect("dump");
    String::from_utf8_lossy(&raw.unwrap_or_default()).into_owned()
}

#[tokio::test]
async fn queued_patient_data_is_only_ciphertext_and_always_expires_within_24_hours() {
    let app = spawn_app().await;
    let (p, _, _crm) = app.practitioner_with_crm("zr-queued", "none").await;
    assert_eq!(
        app.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );
    let mut redis = app.redis.as_ref().expect("redis").client().await;
    let keys = all_keys(&mut redis).await;
    let mut message_keys = 0;
    for key in &keys {
        let bytes = dump(&mut redis, key).await;
        for canary in CANARIES {
            assert!(
                !bytes.contains(canary),
                "{key} holds `{canary}` in plaintext"
            );
        }
        if key.starts_with("gr:{q}:msg:") {
            message_keys += 1;
            let ttl_ms: i64 = ::redis::cmd("PTTL")
                .arg(key)
                .query_async(&mut redis)
                .await
                .expect("pttl");
            assert!(
                ttl_ms > 0 && ttl_ms <= 86_400_000,
                "{key} has no expiry within 24 h: {ttl_ms}"
            );
        }
    }
    assert_eq!(message_keys, 1, "{keys:?}");
}

#[tokio::test]
async fn after_delivery_no_patient_data_key_is_left() {
    let app = spawn_app().await;
    let (p, _, crm) = app.practitioner_with_crm("zr-delivered", "jwe").await;
    let mut redis = app.redis.as_ref().expect("redis").client().await;
    let before = all_keys(&mut redis).await;
    app.post_intake(&p.slug, &canary_intake()).await;
    app.deliver_pending().await;
    assert_eq!(crm.requests().len(), 1);
    let mut after = all_keys(&mut redis).await;
    // The delivery log (metadata only, itself expiring within 24 h) is all that the
    // delivery leaves besides configuration.
    let log_keys: Vec<String> = after
        .iter()
        .filter(|k| k.starts_with("gr:{q}:delivery:") || k.starts_with("gr:{q}:deliveries:"))
        .cloned()
        .collect();
    assert_eq!(log_keys.len(), 2, "{after:?}");
    for key in &log_keys {
        let bytes = dump(&mut redis, key).await;
        for canary in CANARIES {
            assert!(!bytes.contains(canary), "{key} holds `{canary}`");
        }
        if key.starts_with("gr:{q}:delivery:") {
            let ttl_ms: i64 = ::redis::cmd("PTTL")
                .arg(key)
                .query_async(&mut redis)
                .await
                .expect("pttl");
            assert!(ttl_ms > 0 && ttl_ms <= 86_400_000, "{key}: {ttl_ms}");
        }
    }
    after.retain(|k| !log_keys.contains(k));
    let mut before_sorted = before.clone();
    before_sorted.sort();
    after.sort();
    // Otherwise only configuration (practitioner, slug, key hash, endpoints) remains:
    // exactly what was there before the patient came.
    assert_eq!(after, before_sorted);
    assert!(after.iter().all(|k| !k.starts_with("gr:{q}")), "{after:?}");
}

/// The patient's address, as a proxy would forward it.
const PATIENT_ADDRESS: &str = "198.51.100.237";

/// A lead source's page path and UTM values, which no log may show.
const SOURCE_CANARIES: &[&str] = &[
    "canary-page-path",
    "canary-utm-source",
    "canary-utm-campaign",
];

#[tokio::test]
async fn nothing_of_the_patient_reaches_the_logs_even_at_debug() {
    let redis = TestRedis::start();
    let crm = FakeCrm::start().await;
    let port = free_port();
    let master_key =
        gaprelay::crypto::seal::MasterKey::generate(&mut rand::rngs::OsRng).to_base64();
    let dir = tempfile::tempdir().expect("tempdir");
    let log_path = dir.path().join("gaprelay.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gaprelay"))
        .arg("serve")
        .env("RUST_LOG", "debug")
        .env("GAPRELAY_BIND", format!("127.0.0.1:{port}"))
        .env("GAPRELAY_REDIS_URL", redis.url())
        .env("GAPRELAY_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("GAPRELAY_MASTER_KEY", master_key)
        .env("GAPRELAY_ALLOW_PRIVATE_TARGETS", "true")
        .env("GAPRELAY_POLL_INTERVAL", "50ms")
        // The patient's address comes through a trusted proxy and is rate-limited on:
        // it must not be logged either.
        .env("GAPRELAY_TRUSTED_PROXIES", "127.0.0.1")
        .stdout(log.try_clone().expect("clone"))
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .expect("start gaprelay");

    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        up,
        "gaprelay did not start: {}",
        std::fs::read_to_string(&log_path).unwrap_or_default()
    );

    let created: serde_json::Value = client
        .post(format!("{base}/v1/practitioners"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&serde_json::json!({"practice_name": "Log Test", "doctor_name": "Dr L", "email": "l@example.com",
                                   "website_url": "https://l.example.com", "slug": "log-test"}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let key = created["api_key"].as_str().expect("key").to_owned();
    for encryption in ["jwe", "none"] {
        let res = client
            .post(format!("{base}/v1/endpoints"))
            .bearer_auth(&key)
            .json(&serde_json::json!({"url": crm.url(), "encryption": encryption}))
            .send()
            .await
            .expect("endpoint");
        assert_eq!(res.status(), 201);
    }
    // One good submission, delivered, and one bad one that is refused. Both carry a
    // lead source: where the patient was reading is theirs too.
    let mut good = canary_intake();
    good["source"] = serde_json::json!({
        "page_url": format!("https://practice.example/{}", SOURCE_CANARIES[0]),
        "utm": {"source": SOURCE_CANARIES[1], "campaign": SOURCE_CANARIES[2]}
    });
    let ok = client
        .post(format!("{base}/v1/intake/log-test"))
        .header("x-forwarded-for", PATIENT_ADDRESS)
        .json(&good)
        .send()
        .await
        .expect("intake");
    assert_eq!(ok.status(), 202);
    let mut bad = good.clone();
    bad["contact"]["email"] = serde_json::json!("zelda.canary@@broken");
    bad["labs"][0]["value"] = serde_json::json!(31337.31337);
    let refused = client
        .post(format!("{base}/v1/intake/log-test"))
        .header("x-forwarded-for", PATIENT_ADDRESS)
        .json(&bad)
        .send()
        .await
        .expect("intake");
    assert_eq!(refused.status(), 422);
    let refused_body = refused.text().await.expect("body");
    for canary in CANARIES.iter().chain(SOURCE_CANARIES).chain(&["31337"]) {
        assert!(
            !refused_body.contains(canary),
            "the error echoes `{canary}`: {refused_body}"
        );
    }
    crm.wait_for_requests(2, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = child.kill();
    let _ = child.wait();

    let logs = std::fs::read_to_string(&log_path).expect("logs");
    assert!(
        logs.contains("delivery attempt"),
        "the log shows deliveries: {logs}"
    );
    assert!(logs.contains("DEBUG"), "debug logging was on");
    for canary in CANARIES.iter().chain(SOURCE_CANARIES).chain(&[
        "31337",
        key.as_str(),
        &key[4..],
        PATIENT_ADDRESS,
    ]) {
        assert!(!logs.contains(canary), "the log contains `{canary}`");
    }
}

#[tokio::test]
async fn metrics_count_outcomes_and_hold_no_patient_data() {
    let app = crate::helpers::spawn_app().await;
    let (p, _, _crm) = app.practitioner_with_crm("metrics-canary", "jwe").await;
    assert_eq!(
        app.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );
    let mut bad = canary_intake();
    bad["contact"]["email"] = serde_json::json!("zelda.canary@@broken");
    assert_eq!(app.post_intake(&p.slug, &bad).await.status(), 422);
    let mut bot = canary_intake();
    bot["honeypot"] = serde_json::json!("zelda.canary spam");
    assert_eq!(app.post_intake(&p.slug, &bot).await.status(), 202);
    app.deliver_pending().await;

    let res = app.get("/metrics", None).await;
    assert_eq!(res.status(), 200);
    assert!(res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/plain")));
    let text = res.text().await.expect("body");
    for line in [
        "gaprelay_intake_total{outcome=\"accepted\"} 1",
        "gaprelay_intake_total{outcome=\"invalid\"} 1",
        "gaprelay_intake_total{outcome=\"discarded_bot\"} 1",
        "gaprelay_delivery_attempts_total{outcome=\"delivered\"} 1",
        "gaprelay_store_up 1",
        "gaprelay_queue_messages 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in:\n{text}"
        );
    }
    for canary in CANARIES.iter().chain(&[p.slug.as_str(), p.id.as_str()]) {
        assert!(!text.contains(canary), "the metrics contain `{canary}`");
    }
}
