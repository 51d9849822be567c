//! Delivery: a signed, encrypted webhook reaches the CRM and is then deleted; failures
//! (any answer but a 2xx or a 410, 4xx included) are retried with backoff (first retry
//! within 10 s), `Retry-After` is honoured, a 410 disables the endpoint without undoing
//! changes made meanwhile, an entry that cannot be opened is moved aside once, and a
//! practice can have an endpoint's backlog attempted at once.

use crate::helpers::{canary_intake, spawn_app, spawn_app_with, AppOptions};
use crate::support::{FakeCrm, FakeResponse};
use gaprelay::crypto::jwe::{self, ContentKey, FlattenedJwe};
use gaprelay::delivery::policy::NOTICED_ON_EXPIRY;
use gaprelay::delivery::worker::AttemptOutcome;
use gaprelay::domain::ids::{EndpointId, MessageId, PractitionerId};
use gaprelay::store::EndpointRecord;
use serde_json::{json, Value};
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
    assert!(r.is_signed_by(&ep.secret));

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
    let keys = crate::helpers::payload_keys(&mut redis).await;
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
    let (p, ep, crm) = app.practitioner_with_crm("deliver-410", "jwe").await;
    crm.push_response(FakeResponse::status(410));
    app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(
        app.deliver_pending().await,
        vec![AttemptOutcome::EndpointDisabled]
    );
    let list: serde_json::Value = app.get_json("/v1/endpoints", Some(&p.api_key)).await;
    assert_eq!(list["data"][0]["enabled"], false);
    // New intakes queue nothing for a disabled endpoint: with no endpoint enabled, the
    // submission is held for one (sent nowhere meanwhile).
    app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(app.store.queue_len().await.expect("queue"), 1);
    assert_eq!(
        app.deliver_pending().await,
        vec![AttemptOutcome::AwaitingEndpoint]
    );
    let log: serde_json::Value = app.get_json("/v1/deliveries", Some(&p.api_key)).await;
    let held: Vec<&serde_json::Value> = log["data"]
        .as_array()
        .expect("list")
        .iter()
        .filter(|d| d["status"] == "awaiting_endpoint")
        .collect();
    assert_eq!(held.len(), 1);
    assert_ne!(held[0]["endpoint_id"], serde_json::json!(ep.id));
    assert_eq!(crm.requests().len(), 1);
    // Nothing to retry on a disabled endpoint: it must be enabled first.
    let (status, body) = retry_endpoint(&app, &p.api_key, &ep.id).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (409, &serde_json::json!("conflict"))
    );
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
async fn a_4xx_is_retried_along_the_schedule_until_the_receiver_takes_it() {
    let app = spawn_app().await;
    let (p, _, crm) = app.practitioner_with_crm("deliver-422", "jwe").await;
    for status in [400, 403, 404, 413, 422] {
        crm.push_response(FakeResponse::status(status));
    }
    app.post_intake(&p.slug, &canary_intake()).await;
    let mut outcomes = Vec::new();
    for _ in 0..10 {
        outcomes.extend(app.deliver_pending().await);
        if outcomes.last() == Some(&AttemptOutcome::Delivered) {
            break;
        }
        app.advance(Duration::from_secs(700));
    }
    assert_eq!(
        outcomes,
        [
            vec![AttemptOutcome::Retrying; 5],
            vec![AttemptOutcome::Delivered]
        ]
        .concat()
    );
    let reqs = crm.requests();
    assert_eq!(reqs.len(), 6);
    assert!(
        reqs.iter()
            .all(|r| r.header("webhook-id") == reqs[0].header("webhook-id")),
        "one message, its retries reusing its id"
    );
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);
}

#[tokio::test]
async fn a_401_then_a_200_delivers() {
    let app = spawn_app().await;
    let (p, ep, crm) = app.practitioner_with_crm("deliver-401", "jwe").await;
    // The receiver's integration is half set up: it refuses the signature at first.
    crm.push_response(FakeResponse::status(401));
    app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Retrying]);
    assert_eq!(app.store.queue_len().await.expect("queue"), 1);
    let log: serde_json::Value = app.get_json("/v1/deliveries", Some(&p.api_key)).await;
    assert_eq!(log["data"][0]["status"], "retrying");
    assert_eq!(log["data"][0]["last_http_status"], 401);
    assert!(log["data"][0]["next_attempt_at"].is_string());

    app.advance(Duration::from_secs(10));
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Delivered]);
    let reqs = crm.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].header("webhook-id"), reqs[1].header("webhook-id"));
    let r = &reqs[1];
    assert!(r.is_signed_by(&ep.secret));
    let log: serde_json::Value = app.get_json("/v1/deliveries", Some(&p.api_key)).await;
    assert_eq!(log["data"][0]["status"], "delivered");
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);
}

#[tokio::test]
async fn a_message_whose_worker_died_is_delivered_after_its_lease_lapses() {
    let app = spawn_app().await;
    let (p, _, crm) = app.practitioner_with_crm("deliver-lease", "jwe").await;
    app.post_intake(&p.slug, &canary_intake()).await;
    // A worker claims the message and dies before acknowledging it.
    let claimed = app
        .store
        .claim_due(app.now_ms(), Duration::from_secs(30), 10, NOTICED_ON_EXPIRY)
        .await
        .expect("claim")
        .messages;
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
    let keys = crate::helpers::payload_keys(&mut redis).await;
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
    expiry_is_noticed_with_the_submission(serde_json::json!({"encryption": "none"})).await;
}

/// The notice names the submission even when the expired message's `data` was a FHIR
/// Bundle or a JWE to the receiver's keys (it used to say `null` there).
#[tokio::test]
async fn an_expiry_notice_names_the_submission_of_a_fhir_or_receiver_key_endpoint_too() {
    expiry_is_noticed_with_the_submission(
        serde_json::json!({"format": "fhir-r4", "encryption": "none"}),
    )
    .await;
    let key = gaprelay_receiver::DecryptionKey::generate_x25519("expiry", &mut rand::rngs::OsRng);
    expiry_is_noticed_with_the_submission(serde_json::json!({
        "encryption": "jwe-receiver",
        "receiver_keys": [key.public_jwk().expect("a key pair")],
    }))
    .await;
}

/// One practice, a healthy `none` endpoint and a failing one created with `failing_body`
/// (plus its URL): when the submission expires for the failing one, the healthy one is
/// told which message, endpoint and submission, without patient data.
async fn expiry_is_noticed_with_the_submission(mut failing_body: serde_json::Value) {
    let app = spawn_app_with(AppOptions {
        message_ttl: Some(Duration::from_secs(60)),
        ..AppOptions::default()
    })
    .await;
    let p = app.create_practitioner("expiry-notice").await;
    let failing = crate::support::FakeCrm::start().await;
    failing_body["url"] = failing.url().into();
    let res = app
        .client
        .post(app.url("/v1/endpoints"))
        .bearer_auth(&p.api_key)
        .json(&failing_body)
        .send()
        .await
        .expect("create the failing endpoint");
    assert_eq!(res.status(), 201);
    let failing_ep: serde_json::Value = res.json().await.expect("json");
    let failing_ep_id = failing_ep["id"].as_str().expect("id");
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

    // Each retry is due before the expiry; the last one, a second before it, fails too
    // and the attempt itself finds the message expired (the sweep never sees it).
    let mut expired_by_attempt = false;
    for _ in 0..59 {
        app.advance(Duration::from_secs(1));
        expired_by_attempt |= app
            .deliver_pending()
            .await
            .contains(&AttemptOutcome::Expired);
    }
    assert!(expired_by_attempt);
    let notices: Vec<serde_json::Value> = healthy
        .requests()
        .iter()
        .map(|r| r.json())
        .filter(|b| b["type"] == "endpoint.delivery_expired")
        .collect();
    assert_eq!(notices.len(), 1);
    let data = &notices[0]["data"];
    assert_eq!(data["message_id"], failed_msg.as_str());
    assert_eq!(data["endpoint_id"], failing_ep_id);
    assert!(accepted["submission_id"].is_string(), "{accepted}");
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

/// The answer to a slow 410 arrives after the practice changed its endpoint: `change`
/// runs while the receiver holds the request.
async fn answer_410_slowly_while<F, Fut>(app: &crate::helpers::TestApp, slug: &str, change: F)
where
    F: FnOnce(crate::helpers::TestPractitioner, String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (p, ep, crm) = app.practitioner_with_crm(slug, "none").await;
    crm.push_response(FakeResponse::status(410).delay(Duration::from_millis(1500)));
    app.post_intake(&p.slug, &canary_intake()).await;
    let during = async {
        crm.wait_for_requests(1, Duration::from_secs(5)).await;
        change(p, ep.id.clone()).await;
    };
    let (outcomes, ()) = tokio::join!(app.deliver_pending(), during);
    assert_eq!(outcomes, vec![AttemptOutcome::EndpointDisabled]);
}

fn ids(p: &crate::helpers::TestPractitioner, ep: &str) -> (PractitionerId, EndpointId) {
    (
        PractitionerId::parse(&p.id).expect("practitioner id"),
        EndpointId::parse(ep).expect("endpoint id"),
    )
}

#[tokio::test]
async fn a_slow_410_does_not_undo_a_secret_rotation_made_meanwhile() {
    let app = &spawn_app().await;
    let rotated = &std::sync::Mutex::new(None);
    answer_410_slowly_while(app, "slow-410-rotate", |p, ep| async move {
        let res = app
            .client
            .post(app.url(&format!("/v1/endpoints/{ep}/rotate")))
            .bearer_auth(&p.api_key)
            .send()
            .await
            .expect("rotate");
        assert_eq!(res.status(), 200);
        let (pid, eid) = ids(&p, &ep);
        let record = app.store.endpoint(&pid, &eid).await.expect("read");
        *rotated.lock().expect("lock") = Some((pid, eid, record.expect("the endpoint")));
    })
    .await;
    let (pid, eid, after_rotation) = rotated.lock().expect("lock").take().expect("rotated");
    let now = app
        .store
        .endpoint(&pid, &eid)
        .await
        .expect("read")
        .expect("kept");
    // The URL that answered 410 is still the endpoint's: it is disabled, and that is all
    // that changed (and its version moved on): the new secret, the key and the previous
    // secret's window stay.
    assert!(!now.enabled);
    assert_eq!(now.version, after_rotation.version + 1);
    assert_eq!(
        EndpointRecord {
            enabled: true,
            version: after_rotation.version,
            ..now
        },
        after_rotation
    );
}

#[tokio::test]
async fn a_slow_410_from_the_old_url_leaves_an_endpoint_moved_meanwhile_enabled_at_its_new_url() {
    let app = &spawn_app().await;
    let new_crm = crate::support::FakeCrm::start().await;
    let new_url = &new_crm.url();
    let who = &std::sync::Mutex::new(None);
    answer_410_slowly_while(app, "slow-410-move", |p, ep| async move {
        let res = app
            .client
            .patch(app.url(&format!("/v1/endpoints/{ep}")))
            .bearer_auth(&p.api_key)
            .json(&serde_json::json!({"url": new_url}))
            .send()
            .await
            .expect("patch");
        assert_eq!(res.status(), 200);
        *who.lock().expect("lock") = Some(p);
    })
    .await;
    let p = who.lock().expect("lock").take().expect("moved");
    let list: serde_json::Value = app.get_json("/v1/endpoints", Some(&p.api_key)).await;
    assert_eq!(list["data"][0]["url"], new_url.as_str());
    assert_eq!(list["data"][0]["enabled"], true);
    // The next submission goes to the new URL.
    app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Delivered]);
    assert_eq!(new_crm.requests().len(), 1);
}

#[tokio::test]
async fn a_slow_410_does_not_resurrect_an_endpoint_deleted_meanwhile() {
    for memory in [false, true] {
        let app = &spawn_app_with(AppOptions {
            memory,
            ..AppOptions::default()
        })
        .await;
        let who = &std::sync::Mutex::new(None);
        answer_410_slowly_while(app, "slow-410-delete", |p, ep| async move {
            let res = app
                .client
                .delete(app.url(&format!("/v1/endpoints/{ep}")))
                .bearer_auth(&p.api_key)
                .send()
                .await
                .expect("delete");
            assert_eq!(res.status(), 204);
            *who.lock().expect("lock") = Some((p, ep));
        })
        .await;
        let (p, ep) = who.lock().expect("lock").take().expect("deleted");
        let (pid, eid) = ids(&p, &ep);
        assert_eq!(app.store.endpoint(&pid, &eid).await.expect("read"), None);
        let list: serde_json::Value = app.get_json("/v1/endpoints", Some(&p.api_key)).await;
        assert_eq!(list["data"], serde_json::json!([]), "memory: {memory}");
    }
}

#[tokio::test]
async fn a_queue_entry_that_cannot_be_opened_is_moved_aside_once_and_counted() {
    let app = spawn_app().await;
    let (p, _, crm) = app.practitioner_with_crm("dead-letter", "none").await;
    let accepted: serde_json::Value = app
        .post_intake(&p.slug, &canary_intake())
        .await
        .json()
        .await
        .expect("json");
    // Tamper with the sealed event in Redis: one flipped bit fails its authentication.
    let mut redis = app.redis.as_ref().expect("redis").client().await;
    let keys = crate::helpers::payload_keys(&mut redis).await;
    assert_eq!(keys.len(), 1);
    let mut sealed: Vec<u8> = redis::cmd("HGET")
        .arg(&keys[0])
        .arg("sealed")
        .query_async(&mut redis)
        .await
        .expect("sealed");
    let last = sealed.len() - 1;
    sealed[last] ^= 1;
    let () = redis::cmd("HSET")
        .arg(&keys[0])
        .arg("sealed")
        .arg(sealed)
        .query_async(&mut redis)
        .await
        .expect("plant");

    assert_eq!(
        app.deliver_pending().await,
        vec![AttemptOutcome::Undeliverable]
    );
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);
    assert!(crm.requests().is_empty());
    let log: serde_json::Value = app.get_json("/v1/deliveries", Some(&p.api_key)).await;
    let d = &log["data"][0];
    assert_eq!(d["status"], "undeliverable");
    assert_eq!(d["submission_id"], accepted["submission_id"]);
    assert!(d["next_attempt_at"].is_null());
    let metrics = app.services.metrics.render(None);
    assert!(
        metrics.contains("gaprelay_delivery_attempts_total{outcome=\"undeliverable\"} 1\n"),
        "{metrics}"
    );
    // Moved aside once: not claimed again when its lease would have lapsed.
    app.advance(Duration::from_secs(3600));
    assert!(app.deliver_pending().await.is_empty());
    let keys = crate::helpers::payload_keys(&mut redis).await;
    assert!(keys.is_empty(), "{keys:?}");
}

/// Replaces the sealed event of the one queued message with `sealed(id, endpoint)`.
async fn replace_the_sealed_event(
    app: &crate::helpers::TestApp,
    sealed: impl FnOnce(&MessageId, &EndpointId) -> Vec<u8>,
) {
    let mut redis = app.redis.as_ref().expect("redis").client().await;
    let keys = crate::helpers::payload_keys(&mut redis).await;
    assert_eq!(keys.len(), 1);
    let endpoint: String = redis::cmd("HGET")
        .arg(&keys[0])
        .arg("endpoint")
        .query_async(&mut redis)
        .await
        .expect("endpoint");
    let id = crate::helpers::message_id_of(&keys[0]).expect("id");
    let endpoint = EndpointId::parse(&endpoint).expect("endpoint id");
    let () = redis::cmd("HSET")
        .arg(&keys[0])
        .arg("sealed")
        .arg(sealed(&id, &endpoint))
        .query_async(&mut redis)
        .await
        .expect("plant");
}

#[tokio::test]
async fn an_entry_that_opens_but_is_no_event_is_moved_aside_and_one_under_an_absent_key_waits() {
    use gaprelay::crypto::seal::{self, MasterKey};
    use gaprelay::delivery::message::queue_aad;
    let app = spawn_app().await;
    let (p, _, crm) = app.practitioner_with_crm("dead-letter-json", "none").await;
    app.post_intake(&p.slug, &canary_intake()).await;
    replace_the_sealed_event(&app, |id, ep| {
        seal::seal(
            &app.master_key,
            &queue_aad(id, ep),
            b"{\"not\": \"an event\"}",
            &mut rand::rngs::OsRng,
        )
    })
    .await;
    assert_eq!(
        app.deliver_pending().await,
        vec![AttemptOutcome::Undeliverable]
    );
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);

    // Sealed under a master key this relay does not hold (another relay's newer key):
    // not the entry's fault, so it stays queued for a relay that can open it.
    app.post_intake(&p.slug, &canary_intake()).await;
    let elsewhere = MasterKey::generate(&mut rand::rngs::OsRng);
    replace_the_sealed_event(&app, |id, ep| {
        seal::seal(
            &elsewhere,
            &queue_aad(id, ep),
            b"{}",
            &mut rand::rngs::OsRng,
        )
    })
    .await;
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Retrying]);
    assert_eq!(app.store.queue_len().await.expect("queue"), 1);

    assert!(crm.requests().is_empty());
}

#[tokio::test]
async fn an_entry_in_an_encoding_only_a_newer_relay_knows_waits_for_one() {
    use gaprelay::crypto::seal;
    use gaprelay::delivery::message::queue_aad;
    let app = spawn_app().await;
    let (p, _, crm) = app.practitioner_with_crm("newer-encoding", "none").await;
    app.post_intake(&p.slug, &canary_intake()).await;
    // Under this relay's key, in an encoding marked by a byte other than DEFLATE's: a
    // newer relay's entry during a rolling upgrade, left queued, not moved aside.
    replace_the_sealed_event(&app, |id, ep| {
        seal::seal(
            &app.master_key,
            &queue_aad(id, ep),
            b"\x02a newer encoding",
            &mut rand::rngs::OsRng,
        )
    })
    .await;
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Retrying]);
    assert_eq!(app.store.queue_len().await.expect("queue"), 1);
    assert!(crm.requests().is_empty());
}

async fn retry_endpoint(
    app: &crate::helpers::TestApp,
    key: &str,
    ep: &str,
) -> (u16, serde_json::Value) {
    let res = app
        .client
        .post(app.url(&format!("/v1/endpoints/{ep}/retry")))
        .bearer_auth(key)
        .send()
        .await
        .expect("retry");
    let status = res.status().as_u16();
    (status, res.json().await.expect("json"))
}

#[tokio::test]
async fn pending_messages_are_retried_on_request_at_once_even_behind_an_open_circuit() {
    use gaprelay::delivery::breaker::FAILURES_TO_OPEN;
    for memory in [false, true] {
        // One message at a time, so that the circuit opens at a known point.
        let app = spawn_app_with(AppOptions {
            memory,
            concurrency: Some((1, 1)),
            ..AppOptions::default()
        })
        .await;
        let (p, ep, crm) = app.practitioner_with_crm("retry-now", "none").await;
        let (other_p, other_ep, other) = app.practitioner_with_crm("retry-other", "none").await;
        crm.set_default_status(503);
        other.set_default_status(503);
        let backlog = FAILURES_TO_OPEN as usize + 2;
        for _ in 0..backlog {
            app.post_intake(&p.slug, &canary_intake()).await;
        }
        app.post_intake(&other_p.slug, &canary_intake()).await;
        let outcomes = app.deliver_pending().await;
        assert_eq!(outcomes.len(), backlog + 1);
        assert!(
            outcomes.contains(&AttemptOutcome::CircuitOpen),
            "{outcomes:?}"
        );
        assert!(app.deliver_pending().await.is_empty(), "all backing off");

        // The practice fixes its receiver and asks; the clock does not move.
        crm.set_default_status(200);
        let (status, body) = retry_endpoint(&app, &p.api_key, &ep.id).await;
        assert_eq!(
            (status, &body),
            (202, &serde_json::json!({"scheduled": backlog}))
        );
        // The delivery log says so.
        let pid = PractitionerId::parse(&p.id).expect("id");
        let log = app
            .store
            .deliveries(&pid, None, 100, app.now_ms())
            .await
            .expect("log");
        assert_eq!(log.items.len(), backlog);
        assert!(
            log.items
                .iter()
                .all(|d| d.next_attempt_ms == Some(app.now_ms())),
            "{:?}",
            log.items
        );
        let outcomes = app.deliver_pending().await;
        assert_eq!(
            outcomes,
            vec![AttemptOutcome::Delivered; backlog],
            "memory: {memory}"
        );
        assert_eq!(app.store.queue_len().await.expect("queue"), 1);
        let delivered: std::collections::BTreeSet<String> = crm
            .requests()
            .iter()
            .skip(FAILURES_TO_OPEN as usize)
            .filter_map(|r| r.header("webhook-id").map(str::to_owned))
            .collect();
        assert_eq!(delivered.len(), backlog);
        // Only that endpoint's messages: the other practice's keeps its schedule.
        assert_eq!(other.requests().len(), 1);
        assert_eq!(
            retry_endpoint(&app, &p.api_key, &ep.id).await.1["scheduled"],
            0
        );
        let _ = other_ep;

        // Audited like every endpoint action.
        let audit: serde_json::Value = app
            .get_json("/v1/audit-log?limit=100", Some(&p.api_key))
            .await;
        assert!(
            audit["data"]
                .as_array()
                .expect("list")
                .iter()
                .any(|e| e["action"] == "endpoint.retried" && e["outcome"] == "success"),
            "{audit}"
        );
    }
}

#[tokio::test]
async fn a_retry_request_leaves_a_message_in_flight_alone() {
    let app = spawn_app().await;
    let (p, ep, crm) = app.practitioner_with_crm("retry-leased", "none").await;
    app.post_intake(&p.slug, &canary_intake()).await;
    // A worker holds it under its lease.
    let claimed = app
        .store
        .claim_due(app.now_ms(), Duration::from_secs(30), 10, NOTICED_ON_EXPIRY)
        .await
        .expect("claim")
        .messages;
    assert_eq!(claimed.len(), 1);
    let (status, body) = retry_endpoint(&app, &p.api_key, &ep.id).await;
    assert_eq!((status, body["scheduled"].as_u64()), (202, Some(0)));
    assert!(
        app.deliver_pending().await.is_empty(),
        "not sent twice at once"
    );
    assert!(crm.requests().is_empty());
}

/// Each attempt's log line names its own message, even while another attempt is in
/// flight on the same thread. Read from the real binary's JSON logs, on a runtime of
/// one thread (`TOKIO_WORKER_THREADS=1`) so that both attempts share it: a span entered
/// across an await would tag the other attempt's line. (In this test process, a
/// subscriber scoped to one test's thread misses events now and then while other tests
/// run alongside: tracing caches which call sites are wanted for all threads at once.)
#[tokio::test]
async fn each_attempts_log_line_carries_its_own_messages_ids_while_others_are_in_flight() {
    let redis = crate::support::redis::TestRedis::start();
    let relay = crate::support::process::Relay::new(&redis.url(), false, &[]);
    let (mut serve, base) = relay
        .start_serve(&[("TOKIO_WORKER_THREADS", "1")], Duration::from_secs(30))
        .await;
    let first = FakeCrm::start().await;
    let second = FakeCrm::start().await;
    let key =
        crate::support::process::practice_with_endpoint(&base, "span-ids", &first.url()).await;
    let client = reqwest::Client::new();
    let res = client
        .post(format!("{base}/v1/endpoints"))
        .bearer_auth(&key)
        .json(&json!({"url": second.url(), "encryption": "none"}))
        .send()
        .await
        .expect("create the second endpoint");
    assert_eq!(res.status(), 201);
    // Both attempts wait on their receivers at once; the one that started first ends
    // first, while the other is still in flight.
    first.push_response(FakeResponse::status(500).delay(Duration::from_millis(400)));
    second.push_response(FakeResponse::status(200).delay(Duration::from_millis(400)));
    let res = client
        .post(format!("{base}/v1/intake/span-ids"))
        .json(&canary_intake())
        .send()
        .await
        .expect("intake");
    assert_eq!(res.status(), 202);

    let mut attempts = Vec::new();
    for _ in 0..2 {
        let line = serve
            .stderr
            .until(
                |l| l.contains("\"delivery attempt\""),
                Duration::from_secs(30),
            )
            .await;
        attempts.push(serde_json::from_str::<Value>(&line).expect("a JSON log line"));
    }
    let id_of = |crm: &FakeCrm| {
        crm.requests()[0]
            .header("webhook-id")
            .expect("id")
            .to_owned()
    };
    let expected = [(500, id_of(&first)), (200, id_of(&second))];
    let seen = serve.stderr.seen().to_owned();
    for (status, id) in expected {
        let event = attempts
            .iter()
            .find(|e| e["http.status"] == status)
            .unwrap_or_else(|| panic!("no attempt logged with {status}: {seen}"));
        assert_eq!(event["span"]["message.id"], id.as_str(), "{event}");
        // Its own span alone: a span entered across an await would still be on the
        // thread's stack when the other attempt logs.
        let spans = event["spans"].as_array().expect("spans");
        assert_eq!(spans.len(), 1, "{event}");
        assert_eq!(spans[0]["message.id"], id.as_str(), "{event}");
    }
}

/// An idle worker hears of new work at once, not at its next poll: with a poll interval
/// of a minute, an intake and a test event are both delivered within seconds.
#[tokio::test]
async fn an_idle_worker_delivers_at_once_what_this_process_queues() {
    let app = spawn_app_with(AppOptions {
        poll_interval: Some(Duration::from_secs(60)),
        ..AppOptions::default()
    })
    .await;
    let (p, ep, crm) = app.practitioner_with_crm("wake-up", "none").await;
    let stop = app.start_workers();
    // The worker finds the queue empty and settles into its minute-long wait.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(crm.requests().is_empty());

    assert_eq!(
        app.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );
    let got = crm.wait_for_requests(1, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1, "the intake waited for the next poll");

    tokio::time::sleep(Duration::from_millis(300)).await;
    let res = app
        .client
        .post(app.url(&format!("/v1/endpoints/{}/test", ep.id)))
        .bearer_auth(&p.api_key)
        .send()
        .await
        .expect("test event");
    assert_eq!(res.status(), 202);
    let got = crm.wait_for_requests(2, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 2, "the test event waited for the next poll");
    let _ = stop.send(true);
}

/// Per-endpoint concurrency adapts: starting at 2 in flight, a fast endpoint is soon
/// sent many more at once, while a failing one drops to one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_endpoint_earns_more_deliveries_in_flight_and_a_failing_one_fewer() {
    let app = spawn_app_with(AppOptions {
        concurrency: Some((32, 2)),
        ..AppOptions::default()
    })
    .await;
    let (fast_p, fast_ep, fast) = app.practitioner_with_crm("aimd-fast", "none").await;
    fast.set_default_delay(Duration::from_millis(30));
    let (failing_p, failing_ep, failing) = app.practitioner_with_crm("aimd-failing", "none").await;
    failing.set_default_status(503);
    for _ in 0..80 {
        app.post_intake(&fast_p.slug, &canary_intake()).await;
    }
    for _ in 0..2 {
        app.post_intake(&failing_p.slug, &canary_intake()).await;
    }
    assert_eq!(app.endpoint_limit(&fast_ep.id), 2);
    let stop = app.start_workers();
    let started = std::time::Instant::now();
    while fast.requests().len() < 80 && started.elapsed() < Duration::from_secs(20) {
        // Messages deferred for a busy endpoint come due as the manual clock moves.
        app.advance(Duration::from_millis(250));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(true);
    assert_eq!(fast.requests().len(), 80);
    assert!(
        fast.max_in_flight() > 4,
        "a fast endpoint stayed at {} in flight",
        fast.max_in_flight()
    );
    assert!(app.endpoint_limit(&fast_ep.id) > 4);
    // Its first two attempts failed together (halved once, to one); its retries went
    // one at a time.
    assert!(failing.requests().len() >= 2);
    assert_eq!(app.endpoint_limit(&failing_ep.id), 1);
}

#[tokio::test]
async fn a_stream_of_deliveries_reads_the_endpoint_once_and_a_change_applies_at_once() {
    let app = spawn_app().await;
    let (p, ep, crm) = app.practitioner_with_crm("deliver-warm", "none").await;
    let mut redis = app.redis.as_ref().expect("redis").client().await;
    app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Delivered]);

    // Warm: ten more intakes are delivered without reading anything from Redis (the
    // form and the endpoint come from this process's cache).
    let before = crate::helpers::read_commands(&mut redis).await;
    for _ in 0..10 {
        app.post_intake(&p.slug, &canary_intake()).await;
    }
    // (Some may wait for a slot of the endpoint: handed back, due a moment later.)
    for _ in 0..10 {
        app.deliver_pending().await;
        if crm.requests().len() == 11 {
            break;
        }
        app.advance(Duration::from_secs(1));
    }
    assert_eq!(crm.requests().len(), 11);
    assert_eq!(
        crate::helpers::read_commands(&mut redis).await,
        before,
        "the delivery path read from Redis"
    );

    // A new URL and a rotated secret, through this instance: the very next delivery
    // goes to the new URL, signed with the new secret.
    let moved = FakeCrm::start().await;
    let res = app
        .client
        .patch(app.url(&format!("/v1/endpoints/{}", ep.id)))
        .bearer_auth(&p.api_key)
        .json(&json!({ "url": moved.url() }))
        .send()
        .await
        .expect("patch");
    assert_eq!(res.status(), 200);
    let rotated: Value = app
        .client
        .post(app.url(&format!("/v1/endpoints/{}/rotate", ep.id)))
        .bearer_auth(&p.api_key)
        .send()
        .await
        .expect("rotate")
        .json()
        .await
        .expect("json");
    let secret = rotated["secret"].as_str().expect("the new secret");
    app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Delivered]);
    assert_eq!(crm.requests().len(), 11, "nothing more to the old URL");
    let reqs = moved.requests();
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].is_signed_by(secret));
}
