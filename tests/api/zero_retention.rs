//! Zero retention, proved with canary values: while queued, Redis holds no plaintext
//! patient data and every key holding it expires within 24 h; after delivery nothing of
//! it is left; and nothing of it reaches the logs, even at `RUST_LOG=debug`.

use crate::helpers::{canary_intake, spawn_app, ADMIN_TOKEN, CANARIES, METRICS_TOKEN};
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

/// Every value Redis holds under `key`, read by the key's type, as text. Not `DUMP`:
/// it compresses values over 20 bytes, so a plaintext canary would not show in it.
async fn values(redis: &mut ::redis::aio::MultiplexedConnection, key: &str) -> String {
    let kind: String = ::redis::cmd("TYPE")
        .arg(key)
        .query_async(redis)
        .await
        .expect("type");
    let mut cmd = match kind.as_str() {
        "string" => ::redis::cmd("GET"),
        "hash" => ::redis::cmd("HGETALL"),
        "list" => ::redis::cmd("LRANGE"),
        "set" => ::redis::cmd("SMEMBERS"),
        "zset" => ::redis::cmd("ZRANGE"),
        "stream" => ::redis::cmd("XRANGE"),
        // Gone since it was listed (expired or deleted).
        "none" => return String::new(),
        other => panic!("{key}: a value of type {other} that this scan cannot read"),
    };
    cmd.arg(key);
    match kind.as_str() {
        "list" => {
            cmd.arg(0).arg(-1);
        }
        "zset" => {
            cmd.arg(0).arg(-1).arg("WITHSCORES");
        }
        "stream" => {
            cmd.arg("-").arg("+");
        }
        _ => {}
    }
    let value: ::redis::Value = cmd.query_async(redis).await.expect("read by type");
    let mut text = String::new();
    flatten(&value, &mut text);
    text
}

/// Every string in a reply, one per line.
fn flatten(value: &::redis::Value, out: &mut String) {
    use ::redis::Value;
    match value {
        Value::BulkString(bytes) => out.push_str(&String::from_utf8_lossy(bytes)),
        Value::SimpleString(s) => out.push_str(s),
        Value::Array(items) | Value::Set(items) => items.iter().for_each(|v| flatten(v, out)),
        Value::Map(pairs) => pairs.iter().for_each(|(k, v)| {
            flatten(k, out);
            flatten(v, out);
        }),
        other => out.push_str(&format!("{other:?}")),
    }
    out.push('\n');
}

/// Each (key, canary) where a canary appears in plaintext, in a key's name or value.
async fn plaintext_canaries(
    redis: &mut ::redis::aio::MultiplexedConnection,
    keys: &[String],
) -> Vec<(String, &'static str)> {
    let mut found = Vec::new();
    for key in keys {
        let text = format!("{key}\n{}", values(redis, key).await);
        for canary in CANARIES {
            if text.contains(canary) {
                found.push((key.clone(), *canary));
            }
        }
    }
    found
}

#[tokio::test]
async fn the_canary_scan_sees_plaintext_in_every_kind_of_value_redis_holds() {
    let app = spawn_app().await;
    let mut redis = app.redis.as_ref().expect("redis").client().await;
    // Over 20 bytes and compressible, with the canary's halves seen earlier in the
    // value: DUMP compresses it, and the canary comes back as references to those
    // halves, never whole.
    let (front, back) = CANARIES[0].split_at(5);
    let long = format!(
        "{front}, {back}; {}the patient: {}",
        "padding ".repeat(8),
        CANARIES[0]
    );
    let planted = [
        "control:string",
        "control:hash",
        "control:list",
        "control:set",
        "control:zset",
        "control:stream",
    ];
    let _: () = ::redis::pipe()
        .cmd("SET")
        .arg(planted[0])
        .arg(&long)
        .ignore()
        .cmd("HSET")
        .arg(planted[1])
        .arg("field")
        .arg(&long)
        .ignore()
        .cmd("RPUSH")
        .arg(planted[2])
        .arg("first")
        .arg(&long)
        .ignore()
        .cmd("SADD")
        .arg(planted[3])
        .arg(&long)
        .ignore()
        .cmd("ZADD")
        .arg(planted[4])
        .arg(1)
        .arg(&long)
        .ignore()
        .cmd("XADD")
        .arg(planted[5])
        .arg("*")
        .arg("data")
        .arg(&long)
        .ignore()
        .query_async(&mut redis)
        .await
        .expect("plant");
    for key in planted {
        let dumped: Vec<u8> = ::redis::cmd("DUMP")
            .arg(key)
            .query_async(&mut redis)
            .await
            .expect("dump");
        assert!(
            !String::from_utf8_lossy(&dumped).contains(CANARIES[0]),
            "{key}: DUMP shows the canary, so this control no longer shows why values are read by type"
        );
    }
    let keys = all_keys(&mut redis).await;
    let found = plaintext_canaries(&mut redis, &keys).await;
    for key in planted {
        assert!(
            found.iter().any(|(k, c)| k == key && *c == CANARIES[0]),
            "the scan missed the canary planted in {key}: {found:?}"
        );
    }
    // Short values and key names are seen as well.
    let key = format!("control:{}", CANARIES[1]);
    let _: () = ::redis::cmd("SET")
        .arg(&key)
        .arg(CANARIES[2])
        .query_async(&mut redis)
        .await
        .expect("plant");
    let found = plaintext_canaries(&mut redis, std::slice::from_ref(&key)).await;
    assert_eq!(found, [(key.clone(), CANARIES[1]), (key, CANARIES[2])]);
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
    let found = plaintext_canaries(&mut redis, &keys).await;
    assert!(
        found.is_empty(),
        "plaintext patient data in Redis: {found:?}"
    );
    let mut message_keys = 0;
    for key in &keys {
        if crate::helpers::is_message_key(key) {
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
    // delivery leaves besides configuration: the message's hash, its payload gone, and
    // the practice's log index.
    let log_keys: Vec<String> = after
        .iter()
        .filter(|k| crate::helpers::is_message_key(k) || k.ends_with("}:deliveries"))
        .cloned()
        .collect();
    assert_eq!(log_keys.len(), 2, "{after:?}");
    assert!(
        crate::helpers::payload_keys(&mut redis).await.is_empty(),
        "the payload is deleted on delivery"
    );
    let found = plaintext_canaries(&mut redis, &log_keys).await;
    assert!(
        found.is_empty(),
        "plaintext patient data in Redis: {found:?}"
    );
    for key in &log_keys {
        if crate::helpers::is_message_key(key) {
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
    // exactly what was there before the patient came; nothing is left scheduled.
    assert_eq!(after, before_sorted);
    assert!(after.iter().all(|k| !k.starts_with("gr:{q")), "{after:?}");
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

    let res = app.get("/metrics", Some(METRICS_TOKEN)).await;
    assert_eq!(res.status(), 200);
    assert!(res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/plain")));
    let text = res.text().await.expect("body");
    let discarded = format!(
        "gaprelay_intake_discarded_total{{practitioner=\"{}\"}} 1",
        p.id
    );
    for line in [
        "gaprelay_intake_total{outcome=\"accepted\"} 1",
        "gaprelay_intake_total{outcome=\"invalid\"} 1",
        "gaprelay_intake_total{outcome=\"discarded_bot\"} 1",
        discarded.as_str(),
        "gaprelay_delivery_attempts_total{outcome=\"delivered\"} 1",
        "gaprelay_store_up 1",
        "gaprelay_queue_messages 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in:\n{text}"
        );
    }
    for canary in CANARIES.iter().chain(&[p.slug.as_str()]) {
        assert!(!text.contains(canary), "the metrics contain `{canary}`");
    }
    // The practice's id is the label of its discarded count, and nowhere else.
    for line in text.lines().filter(|l| l.contains(p.id.as_str())) {
        assert_eq!(line, discarded, "the practice's id appears elsewhere");
    }
}

#[tokio::test]
async fn metrics_answer_only_the_scrapers_token_and_without_one_do_not_exist() {
    let app = crate::helpers::spawn_app().await;
    for key in [
        None,
        Some("test-metrics-token-0123456789abcdeF"),
        Some(ADMIN_TOKEN),
    ] {
        let res = app.get("/metrics", key).await;
        let (status, body) = crate::helpers::error_code(res).await;
        assert_eq!(status, 401, "{key:?}: {body}");
        assert!(!body.to_string().contains("gaprelay_"));
    }
    assert_eq!(app.get("/metrics", Some(METRICS_TOKEN)).await.status(), 200);

    let app = crate::helpers::spawn_app_with(crate::helpers::AppOptions {
        no_metrics_token: true,
        ..Default::default()
    })
    .await;
    for key in [None, Some(METRICS_TOKEN), Some(ADMIN_TOKEN)] {
        let (status, body) = crate::helpers::error_code(app.get("/metrics", key).await).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{key:?}"
        );
    }
}
