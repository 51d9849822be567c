//! Delivery: a signed, encrypted webhook reaches the CRM and is then deleted; failures
//! are retried with backoff (first retry within 10 s), `Retry-After` is honoured, and a
//! 410 disables the endpoint.

use crate::helpers::{canary_intake, spawn_app, spawn_app_with, AppOptions};
use crate::support::FakeResponse;
use gaprelay::crypto::jwe::{self, ContentKey, FlattenedJwe};
use gaprelay::crypto::webhook::{self, WebhookSecret};
use gaprelay::delivery::worker::AttemptOutcome;
use std::time::Duration;

#[tokio::test]
async fn an_intake_is_delivered_signed_and_encrypted_then_deleted() {
    let app = spawn_app().await;
    let (p, ep, crm) = app.practitioner_with_crm("deliver-ok", "jwe").await;
    let accepted: serde_json::Value = app
        .post_intake(&p.slug, &canary_intake())
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Delivered]);

    let reqs = crm.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.header("content-type"), Some("application/json"));
    let id = r.header("webhook-id").expect("webhook-id");
    assert!(id.starts_with("msg_"));
    let ts: i64 = r
        .header("webhook-timestamp")
        .expect("ts")
        .parse()
        .expect("ts number");
    let secret = WebhookSecret::from_whsec(&ep.secret).expect("secret");
    assert!(webhook::verify(
        &secret,
        id,
        ts,
        &r.body,
        r.header("webhook-signature").expect("sig")
    ));

    let body = r.json();
    assert_eq!(body["type"], "intake.submitted");
    let jwe: FlattenedJwe = serde_json::from_value(body["data"].clone()).expect("flattened JWE");
    let key = ContentKey::from_jwk(&ep.jwk).expect("jwk");
    let data: serde_json::Value =
        serde_json::from_slice(&jwe::decrypt(&key, &jwe).expect("decrypts")).expect("json");
    assert_eq!(data["submission_id"], accepted["submission_id"]);
    assert_eq!(data["practitioner"]["slug"], "deliver-ok");
    assert_eq!(data["patient"]["name"], "Zelda Canaryname");
    assert_eq!(data["patient"]["phone"], "+442079460958");
    assert_eq!(data["consent"]["given"], true);
    assert_eq!(data["report"], accepted["report"]);
    assert_eq!(data["engagement"]["time_on_tool_s"], 240);
    assert!(
        !r.body_str().contains("Canaryname"),
        "the body on the wire is encrypted"
    );

    // Delivered means deleted.
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);
    assert!(app.deliver_pending().await.is_empty());
}

#[tokio::test]
async fn an_endpoint_without_encryption_receives_the_payload_itself() {
    let app = spawn_app().await;
    let (p, _, crm) = app.practitioner_with_crm("deliver-plain", "none").await;
    app.post_intake(&p.slug, &canary_intake()).await;
    app.deliver_pending().await;
    let body = crm.requests()[0].json();
    assert_eq!(body["data"]["patient"]["email"], "zelda.canary@example.com");
}

#[tokio::test]
async fn each_enabled_endpoint_gets_its_own_message() {
    let app = spawn_app().await;
    let (p, _, crm_a) = app.practitioner_with_crm("deliver-two", "jwe").await;
    let crm_b = crate::support::FakeCrm::start().await;
    app.create_endpoint(&p.api_key, &crm_b.url(), "none").await;
    app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(app.deliver_pending().await.len(), 2);
    let (a, b) = (crm_a.requests(), crm_b.requests());
    assert_eq!((a.len(), b.len()), (1, 1));
    assert_ne!(a[0].header("webhook-id"), b[0].header("webhook-id"));
}

#[tokio::test]
async fn a_503_is_retried_within_10_seconds_with_the_same_webhook_id() {
    let app = spawn_app().await;
    let (p, _, crm) = app.practitioner_with_crm("deliver-retry", "jwe").await;
    crm.push_response(FakeResponse::status(503));
    app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Retrying]);
    // Not due again yet.
    assert!(app.deliver_pending().await.is_empty());
    app.advance(Duration::from_secs(10));
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Delivered]);
    let reqs = crm.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].header("webhook-id"), reqs[1].header("webhook-id"));
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);
}

#[tokio::test]
async fn retry_after_on_a_429_is_honoured() {
    let app = spawn_app().await;
    let (p, _, crm) = app.practitioner_with_crm("deliver-429", "jwe").await;
    crm.push_response(FakeResponse::status(429).header("Retry-After", "120"));
    app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Retrying]);
    app.advance(Duration::from_secs(100));
    assert!(
        app.deliver_pending().await.is_empty(),
        "retried before Retry-After"
    );
    app.advance(Duration::from_secs(21));
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Delivered]);
}

#[tokio::test]
async fn failures_back_off_and_the_message_is_purged_at_its_expiry() {
    let app = spawn_app().await;
    let (p, _, crm) = app.practitioner_with_crm("deliver-expire", "jwe").await;
    crm.set_default_status(500);
    app.post_intake(&p.slug, &canary_intake()).await;
    let started = app.now_ms();
    let mut attempts_at = Vec::new();
    for _ in 0..300 {
        for outcome in app.deliver_pending().await {
            assert_ne!(outcome, AttemptOutcome::Delivered);
            attempts_at.push(app.now_ms() - started);
        }
        if app.store.queue_len().await.expect("q") == 0 {
            break;
        }
        app.advance(Duration::from_secs(600));
    }
    let day_ms = 86_400_000;
    assert!(attempts_at.len() >= 6, "{attempts_at:?}");
    assert!(
        attempts_at.iter().all(|t| *t < day_ms),
        "an attempt after 24 h: {attempts_at:?}"
    );
    // Backing off: the gaps between attempts grow to hours.
    let gaps: Vec<i64> = attempts_at.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().max().copied().unwrap_or(0) >= 3_600_000,
        "{gaps:?}"
    );
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);
    let mut redis = app.redis.as_ref().expect("redis").client().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("gr:{q}:[me]*")
        .query_async(&mut redis)
        .await
        .expect("keys");
    assert!(keys.is_empty(), "{keys:?}");
    // Nothing is sent after expiry.
    let sent = crm.requests().len();
    app.advance(Duration::from_secs(86_400));
    assert!(app.deliver_pending().await.is_empty());
    assert_eq!(crm.requests().len(), sent);
}

#[tokio::test]
async fn a_410_disables_the_endpoint_and_drops_its_messages() {
    let app = spawn_app().await;
    let (p, _, crm) = app.practitioner_with_crm("deliver-410", "jwe").await;
    crm.push_response(FakeResponse::status(410));
    app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(
        app.deliver_pending().await,
        vec![AttemptOutcome::EndpointDisabled]
    );
    let list: serde_json::Value = app.get_json("/v1/endpoints", Some(&p.api_key)).await;
    assert_eq!(list["data"][0]["enabled"], false);
    // New intakes queue nothing for a disabled endpoint.
    app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);
    assert_eq!(crm.requests().len(), 1);
}

#[tokio::test]
async fn redirects_are_not_followed_and_count_as_failures() {
    let app = spawn_app().await;
    let (p, _, crm) = app.practitioner_with_crm("deliver-302", "jwe").await;
    let elsewhere = crate::support::FakeCrm::start().await;
    crm.push_response(FakeResponse::status(302).header("Location", &elsewhere.url()));
    app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Retrying]);
    assert!(elsewhere.requests().is_empty());
}

#[tokio::test]
async fn a_receiver_that_times_out_is_retried_after_a_longer_pause() {
    let app = spawn_app_with(AppOptions {
        delivery_timeout: Duration::from_millis(300),
        ..AppOptions::default()
    })
    .await;
    let (p, _, crm) = app.practitioner_with_crm("deliver-slow", "jwe").await;
    crm.push_response(FakeResponse::status(200).delay(Duration::from_secs(2)));
    app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Retrying]);
    app.advance(Duration::from_secs(10));
    assert!(
        app.deliver_pending().await.is_empty(),
        "a timeout pauses at least 30 s"
    );
    app.advance(Duration::from_secs(21));
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Delivered]);
}

#[tokio::test]
async fn a_4xx_that_means_never_drops_the_message_without_retrying() {
    let app = spawn_app().await;
    let (p, _, crm) = app.practitioner_with_crm("deliver-422", "jwe").await;
    crm.push_response(FakeResponse::status(422));
    app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Failed]);
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);
    app.advance(Duration::from_secs(86_000));
    assert!(app.deliver_pending().await.is_empty());
    assert_eq!(crm.requests().len(), 1);
    // The endpoint stays enabled: the next submission is delivered.
    app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Delivered]);
}

#[tokio::test]
async fn a_message_whose_worker_died_is_delivered_after_its_lease_lapses() {
    let app = spawn_app().await;
    let (p, _, crm) = app.practitioner_with_crm("deliver-lease", "jwe").await;
    app.post_intake(&p.slug, &canary_intake()).await;
    // A worker claims the message and dies before acknowledging it.
    let claimed = app
        .store
        .claim_due(app.now_ms(), Duration::from_secs(30), 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    assert!(
        app.deliver_pending().await.is_empty(),
        "leased messages are not handed out twice"
    );
    app.advance(Duration::from_secs(31));
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Delivered]);
    assert_eq!(crm.requests().len(), 1);
}

#[tokio::test]
async fn delivery_through_the_in_memory_store_works_the_same() {
    let app = spawn_app_with(AppOptions {
        memory: true,
        ..AppOptions::default()
    })
    .await;
    let (p, _, crm) = app.practitioner_with_crm("deliver-mem", "jwe").await;
    app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Delivered]);
    assert_eq!(crm.requests().len(), 1);
}

#[tokio::test]
async fn the_delivery_log_shows_each_attempt_and_marks_expired_messages_that_are_never_sent_after()
{
    let app = spawn_app_with(AppOptions {
        message_ttl: Some(Duration::from_secs(60)),
        ..AppOptions::default()
    })
    .await;
    let (p, ep, crm) = app.practitioner_with_crm("deliveries-log", "jwe").await;
    crm.set_default_status(500);
    let accepted: serde_json::Value = app
        .post_intake(&p.slug, &canary_intake())
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Retrying]);
    let log: serde_json::Value = app.get_json("/v1/deliveries", Some(&p.api_key)).await;
    let d = &log["data"][0];
    assert_eq!(d["status"], "retrying");
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["last_http_status"], 500);
    assert_eq!(d["endpoint_id"], ep.id.as_str());
    assert_eq!(d["submission_id"], accepted["submission_id"]);
    assert!(d["next_attempt_at"].is_string());
    for canary in crate::helpers::CANARIES {
        assert!(
            !log.to_string().contains(canary),
            "the delivery log holds `{canary}`"
        );
    }

    app.advance(Duration::from_secs(61));
    assert!(
        app.deliver_pending().await.is_empty(),
        "nothing is sent after expiry"
    );
    let sent = crm.requests().len();
    let log: serde_json::Value = app.get_json("/v1/deliveries", Some(&p.api_key)).await;
    assert_eq!(log["data"][0]["status"], "expired");
    assert!(log["data"][0]["next_attempt_at"].is_null());
    let mut redis = app.redis.as_ref().expect("redis").client().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("gr:{q}:msg:*")
        .query_async(&mut redis)
        .await
        .expect("keys");
    assert!(keys.is_empty(), "{keys:?}");
    app.advance(Duration::from_secs(3600));
    app.deliver_pending().await;
    assert_eq!(crm.requests().len(), sent);

    crm.set_default_status(200);
    app.post_intake(&p.slug, &canary_intake()).await;
    app.deliver_pending().await;
    let log: serde_json::Value = app
        .get_json("/v1/deliveries?limit=1", Some(&p.api_key))
        .await;
    assert_eq!(log["data"][0]["status"], "delivered");
    assert!(log["next_cursor"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_endpoint_cannot_starve_the_others() {
    let app = spawn_app_with(AppOptions {
        concurrency: Some((4, 2)),
        ..AppOptions::default()
    })
    .await;
    let (slow_p, _, slow) = app.practitioner_with_crm("fair-slow", "none").await;
    // The slow endpoint holds its first two requests for 3 s, then answers at once.
    for _ in 0..2 {
        slow.push_response(FakeResponse::status(200).delay(Duration::from_secs(3)));
    }
    let (fast_p, _, fast) = app.practitioner_with_crm("fair-fast", "none").await;
    // The slow endpoint's messages are all due first.
    for _ in 0..6 {
        app.post_intake(&slow_p.slug, &canary_intake()).await;
    }
    for _ in 0..3 {
        app.post_intake(&fast_p.slug, &canary_intake()).await;
    }
    let stop = app.start_workers();
    // The manual clock does not move by itself: deferred messages come due as it does.
    let started = std::time::Instant::now();
    while fast.requests().len() < 3 && started.elapsed() < Duration::from_secs(10) {
        app.advance(Duration::from_millis(300));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(fast.requests().len(), 3);
    // Without a per-endpoint cap the slow endpoint's backlog would have taken every slot
    // first; with it, the fast endpoint went while the slow one held its two.
    assert!(
        slow.requests().len() <= 2,
        "the slow endpoint had {} requests first",
        slow.requests().len()
    );
    // And the slow endpoint's backlog still drains.
    while slow.requests().len() < 6 && started.elapsed() < Duration::from_secs(20) {
        app.advance(Duration::from_millis(300));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(slow.requests().len(), 6);
    let _ = stop.send(true);
}

#[tokio::test]
async fn a_failing_endpoints_circuit_opens_then_one_probe_lets_its_backlog_drain() {
    use gaprelay::delivery::breaker::{FAILURES_TO_OPEN, FIRST_COOL_DOWN_MS};
    // One message at a time, so that each attempt's result is known before the next.
    let app = spawn_app_with(AppOptions {
        concurrency: Some((1, 1)),
        ..AppOptions::default()
    })
    .await;
    let (p, _, crm) = app.practitioner_with_crm("breaker", "none").await;
    let (other_p, _, other) = app.practitioner_with_crm("breaker-other", "none").await;
    crm.set_default_status(503);
    for _ in 0..12 {
        app.post_intake(&p.slug, &canary_intake()).await;
    }
    app.post_intake(&other_p.slug, &canary_intake()).await;

    let outcomes = app.deliver_pending().await;
    let count = |os: &[AttemptOutcome], o: AttemptOutcome| os.iter().filter(|x| **x == o).count();
    let failures = FAILURES_TO_OPEN as usize;
    // After five failures in a row the rest of the backlog is not sent at all.
    assert_eq!(crm.requests().len(), failures);
    assert_eq!(count(&outcomes, AttemptOutcome::Retrying), failures);
    assert_eq!(count(&outcomes, AttemptOutcome::CircuitOpen), 12 - failures);
    // Other endpoints are not affected.
    assert_eq!(other.requests().len(), 1);
    let log: serde_json::Value = app.get_json("/v1/deliveries", Some(&p.api_key)).await;
    let waiting: Vec<&serde_json::Value> = log["data"]
        .as_array()
        .expect("list")
        .iter()
        .filter(|d| d["last_error"] == "circuit_open")
        .collect();
    assert_eq!(waiting.len(), 12 - failures, "{log}");
    assert!(waiting
        .iter()
        .all(|d| d["attempts"] == 0 && d["status"] == "pending"));

    // While the circuit is open, messages coming due are handed back unsent.
    app.advance(Duration::from_secs(10));
    app.deliver_pending().await;
    assert_eq!(crm.requests().len(), failures);

    // After the cool-down one probe goes; it fails, so the circuit stays open longer.
    app.advance(Duration::from_millis(FIRST_COOL_DOWN_MS as u64));
    let outcomes = app.deliver_pending().await;
    assert_eq!(crm.requests().len(), failures + 1, "exactly one probe");
    assert_eq!(count(&outcomes, AttemptOutcome::Retrying), 1);

    // The endpoint recovers: the next probe succeeds and the backlog drains at once.
    crm.set_default_status(200);
    app.advance(Duration::from_millis(2 * FIRST_COOL_DOWN_MS as u64));
    let outcomes = app.deliver_pending().await;
    assert_eq!(
        count(&outcomes, AttemptOutcome::Delivered),
        12,
        "{outcomes:?}"
    );
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);
    let ids: std::collections::BTreeSet<String> = crm
        .requests()
        .iter()
        .filter_map(|r| r.header("webhook-id").map(str::to_owned))
        .collect();
    assert_eq!(
        ids.len(),
        12,
        "every message delivered, retries reusing their id"
    );
}

#[tokio::test]
async fn when_a_submission_expires_undelivered_the_other_endpoints_are_told_without_patient_data() {
    let app = spawn_app_with(AppOptions {
        message_ttl: Some(Duration::from_secs(60)),
        ..AppOptions::default()
    })
    .await;
    let (p, failing_ep, failing) = app.practitioner_with_crm("expiry-notice", "none").await;
    failing.set_default_status(500);
    let healthy = crate::support::FakeCrm::start().await;
    app.create_endpoint(&p.api_key, &healthy.url(), "none")
        .await;
    let accepted: serde_json::Value = app
        .post_intake(&p.slug, &canary_intake())
        .await
        .json()
        .await
        .expect("json");
    app.deliver_pending().await;
    assert_eq!(healthy.requests().len(), 1);
    let failed_msg = failing.requests()[0]
        .header("webhook-id")
        .expect("id")
        .to_owned();

    app.advance(Duration::from_secs(61));
    app.deliver_pending().await;
    let notices: Vec<serde_json::Value> = healthy
        .requests()
        .iter()
        .map(|r| r.json())
        .filter(|b| b["type"] == "endpoint.delivery_expired")
        .collect();
    assert_eq!(notices.len(), 1);
    let data = &notices[0]["data"];
    assert_eq!(data["message_id"], failed_msg.as_str());
    assert_eq!(data["endpoint_id"], failing_ep.id.as_str());
    assert_eq!(data["submission_id"], accepted["submission_id"]);
    for canary in crate::helpers::CANARIES {
        assert!(
            !notices[0].to_string().contains(canary),
            "the notice carries `{canary}`"
        );
    }
    // The failing endpoint is not told about itself, and nothing more is sent to it.
    let to_failing = failing.requests().len();
    app.advance(Duration::from_secs(3600));
    app.deliver_pending().await;
    assert_eq!(failing.requests().len(), to_failing);
}

#[tokio::test]
async fn a_value_needing_17_digits_reaches_the_crm_exactly_as_the_patient_saw_it() {
    let app = spawn_app().await;
    let (p, _, crm) = app.practitioner_with_crm("float-exact", "none").await;
    let mut body = canary_intake();
    // 17 significant digits: without serde_json's float_roundtrip the queued event
    // would come back one bit off.
    body["labs"] = serde_json::json!([
        {"marker": "glucose_fasting", "value": 207.82855073029586, "unit": "mg/dL"}
    ]);
    let accepted: serde_json::Value = app
        .post_intake(&p.slug, &body)
        .await
        .json()
        .await
        .expect("json");
    app.deliver_pending().await;
    let delivered = crm.requests()[0].json();
    assert_eq!(delivered["data"]["report"], accepted["report"]);
    assert_eq!(
        delivered["data"]["report"]["labs"][0]["input"]["value"].as_f64(),
        Some(207.82855073029586)
    );
}

#[tokio::test]
async fn a_receiver_that_answers_with_an_endless_body_is_cut_off() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A hostile receiver: 200, then a chunked body that never ends.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let written = Arc::new(AtomicUsize::new(0));
    let counter = written.clone();
    tokio::spawn(async move {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let mut buf = vec![0u8; 64 * 1024];
        let _ = socket.read(&mut buf).await;
        let head =
            b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n";
        if socket.write_all(head).await.is_err() {
            return;
        }
        let chunk = format!("{:x}\r\n{}\r\n", 16 * 1024, "x".repeat(16 * 1024));
        while socket.write_all(chunk.as_bytes()).await.is_ok() {
            counter.fetch_add(16 * 1024, Ordering::Relaxed);
        }
    });
    let app = spawn_app_with(AppOptions {
        delivery_timeout: Duration::from_secs(5),
        ..AppOptions::default()
    })
    .await;
    let p = app.create_practitioner("endless-body").await;
    app.create_endpoint(&p.api_key, &format!("http://127.0.0.1:{port}/hook"), "none")
        .await;
    app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Delivered]);
    // The relay stopped reading after 64 KiB and dropped the connection: the receiver
    // could write only what the sockets' buffers hold, not the gigabytes it would have
    // streamed until the timeout.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = written.load(Ordering::Relaxed);
    assert!(
        sent < 32 * 1024 * 1024,
        "the receiver streamed {sent} bytes"
    );
}
