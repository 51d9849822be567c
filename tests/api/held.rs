//! Held submissions: a submission to a practice with no enabled endpoint is kept
//! (sealed, within its 24 hours) and delivered to the first endpoint enabled in time;
//! the delivery log shows it as awaiting an endpoint meanwhile, and as expired when
//! no endpoint came within the day.

use crate::helpers::{canary_intake, spawn_app, spawn_app_with, AppOptions, TestApp};
use crate::support::FakeCrm;
use gaprelay::crypto::jwe::{self, ContentKey, FlattenedJwe};
use gaprelay::delivery::worker::{AttemptOutcome, AWAIT_ENDPOINT_MS};
use serde_json::{json, Value};
use std::time::Duration;

/// The practitioner's delivery log, newest first.
async fn log(app: &TestApp, key: &str) -> Vec<Value> {
    let page: Value = app.get_json("/v1/deliveries", Some(key)).await;
    page["data"].as_array().expect("a list").clone()
}

/// PATCHes an endpoint's `enabled` field.
async fn set_enabled(app: &TestApp, key: &str, endpoint: &str, enabled: bool) {
    let res = app
        .client
        .patch(app.url(&format!("/v1/endpoints/{endpoint}")))
        .bearer_auth(key)
        .json(&json!({ "enabled": enabled }))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
}

/// The scenario, on whichever store `app` runs: held for hours, then delivered signed
/// and encrypted to the endpoint added within the day.
async fn a_held_submission_reaches_the_endpoint_added_later(app: TestApp) {
    let p = app.create_practitioner("held-then-sent").await;
    let res = app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(res.status(), 202);
    let accepted: Value = res.json().await.expect("json");
    assert_eq!(
        app.store.queue_len().await.expect("queue"),
        1,
        "held, not lost"
    );

    // Meanwhile the log says it is waiting for an endpoint; the worker hands it back.
    let records = log(&app, &p.api_key).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["status"], "awaiting_endpoint");
    assert_eq!(records[0]["submission_id"], accepted["submission_id"]);
    assert_eq!(
        app.deliver_pending().await,
        vec![AttemptOutcome::AwaitingEndpoint]
    );
    assert!(
        app.deliver_pending().await.is_empty(),
        "looked at again later"
    );
    app.advance(Duration::from_millis(
        u64::try_from(AWAIT_ENDPOINT_MS).expect("positive"),
    ));
    assert_eq!(
        app.deliver_pending().await,
        vec![AttemptOutcome::AwaitingEndpoint]
    );
    let records = log(&app, &p.api_key).await;
    assert_eq!(
        (&records[0]["status"], &records[0]["attempts"]),
        (&json!("awaiting_endpoint"), &json!(0))
    );
    assert!(records[0]["next_attempt_at"].is_string());

    // Hours later, still within the day, the practice adds its CRM: delivered at once.
    app.advance(Duration::from_secs(20 * 3600));
    let crm = FakeCrm::start().await;
    let ep = app.create_endpoint(&p.api_key, &crm.url(), "jwe").await;
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Delivered]);
    let reqs = crm.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    let id = r.header("webhook-id").expect("webhook-id");
    assert!(r.is_signed_by(&ep.secret));
    let body = r.json();
    assert_eq!(body["type"], "intake.submitted");
    let jwe: FlattenedJwe = serde_json::from_value(body["data"].clone()).expect("flattened JWE");
    let key = ContentKey::from_jwk(&ep.jwk).expect("jwk");
    let data: Value =
        serde_json::from_slice(&jwe::decrypt(&key, &jwe).expect("decrypts")).expect("json");
    assert_eq!(data["submission_id"], accepted["submission_id"]);
    assert_eq!(data["patient"]["name"], "Zelda Canaryname");
    assert_eq!(data["report"], accepted["report"]);
    assert!(
        !r.body_str().contains("Canaryname"),
        "encrypted on the wire"
    );

    // Delivered means deleted; the log names the endpoint it reached.
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);
    assert!(app.deliver_pending().await.is_empty());
    let records = log(&app, &p.api_key).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["message_id"], json!(id));
    assert_eq!(
        (&records[0]["status"], &records[0]["endpoint_id"]),
        (&json!("delivered"), &json!(ep.id))
    );
}

#[tokio::test]
async fn a_submission_before_any_endpoint_is_delivered_when_one_is_added_within_the_day() {
    a_held_submission_reaches_the_endpoint_added_later(spawn_app().await).await;
}

#[tokio::test]
async fn the_in_memory_store_holds_a_submission_for_a_later_endpoint_too() {
    let app = spawn_app_with(AppOptions {
        memory: true,
        ..AppOptions::default()
    })
    .await;
    a_held_submission_reaches_the_endpoint_added_later(app).await;
}

#[tokio::test]
async fn an_endpoint_added_after_the_day_gets_nothing_and_the_record_says_expired() {
    let app = spawn_app().await;
    let p = app.create_practitioner("held-too-long").await;
    assert_eq!(
        app.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );
    assert_eq!(
        app.deliver_pending().await,
        vec![AttemptOutcome::AwaitingEndpoint]
    );
    app.advance(Duration::from_secs(24 * 3600 + 1));
    // The worker, running all along, purges it at its expiry.
    assert!(app.deliver_pending().await.is_empty());
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);
    let records = log(&app, &p.api_key).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["status"], "expired");
    assert!(records[0]["next_attempt_at"].is_null());

    let crm = FakeCrm::start().await;
    app.create_endpoint(&p.api_key, &crm.url(), "jwe").await;
    assert!(app.deliver_pending().await.is_empty());
    assert!(crm.requests().is_empty(), "nothing after the day");
    let redis = app.redis.as_ref().expect("redis");
    let keys = crate::helpers::payload_keys(&mut redis.client().await).await;
    assert!(keys.is_empty(), "no payload left in Redis: {keys:?}");
}

#[tokio::test]
async fn re_enabling_an_endpoint_hands_it_what_was_held_at_once() {
    let app = spawn_app().await;
    let (p, ep, crm) = app.practitioner_with_crm("held-reenabled", "none").await;
    set_enabled(&app, &p.api_key, &ep.id, false).await;
    app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(
        app.deliver_pending().await,
        vec![AttemptOutcome::AwaitingEndpoint]
    );
    assert!(
        crm.requests().is_empty(),
        "a disabled endpoint gets nothing"
    );
    // No clock advance: enabling the endpoint makes the held message due now.
    set_enabled(&app, &p.api_key, &ep.id, true).await;
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Delivered]);
    assert_eq!(crm.requests().len(), 1);
    assert_eq!(crm.requests()[0].json()["type"], "intake.submitted");
}

#[tokio::test]
async fn of_two_endpoints_added_the_oldest_gets_the_held_submission_once() {
    let app = spawn_app().await;
    let p = app.create_practitioner("held-two").await;
    app.post_intake(&p.slug, &canary_intake()).await;
    let first = FakeCrm::start().await;
    let second = FakeCrm::start().await;
    app.create_endpoint(&p.api_key, &first.url(), "none").await;
    app.advance(Duration::from_secs(1));
    app.create_endpoint(&p.api_key, &second.url(), "none").await;
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Delivered]);
    assert_eq!((first.requests().len(), second.requests().len()), (1, 0));
    // Later submissions go to both, as usual.
    app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(app.deliver_pending().await.len(), 2);
    assert_eq!((first.requests().len(), second.requests().len()), (2, 1));
}

#[tokio::test]
async fn a_held_submission_of_an_erased_practice_goes_with_it_not_kept_for_the_day() {
    let app = spawn_app().await;
    let p = app.create_practitioner("held-erased").await;
    app.post_intake(&p.slug, &canary_intake()).await;
    let id = gaprelay::domain::ids::PractitionerId::parse(&p.id).expect("id");
    let read = app
        .store
        .practitioner(&id)
        .await
        .expect("get")
        .map(|p| p.version);
    assert!(app
        .store
        .erase_practitioner(&id, read)
        .await
        .expect("erase"));
    // Erasure takes the practice's queued messages with it: nothing is left to attempt.
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);
    assert_eq!(app.deliver_pending().await, vec![]);
}
