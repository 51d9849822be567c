//! The receiver library (`gaprelay-receiver`, receiver/) against real deliveries: it
//! verifies, decrypts and parses the canary intake sent to a `none`, a `jwe` and a
//! `jwe-receiver` endpoint, and refuses a tampered body and a stale timestamp.

use crate::helpers::{canary_intake, spawn_app, TestApp};
use crate::support::{FakeCrm, RecordedRequest};
use gaprelay_receiver::{
    DecryptError, DecryptionKey, Error, Event, Headers, Intake, IntakeSubmitted, Receiver, Secret,
    Sex, VerifyError,
};
use rand::rngs::OsRng;
use serde_json::{json, Value};

/// The relay's clock in Unix seconds: what a receiver's `now` would be at delivery.
fn now(app: &TestApp) -> i64 {
    app.now_ms() / 1000
}

fn headers(request: &RecordedRequest) -> Headers<'_> {
    Headers::from_fn(|name| request.header(name)).expect("the Standard Webhooks headers")
}

/// Posts the canary intake, delivers it, and returns the one request the CRM received.
async fn deliver_canary(app: &TestApp, slug: &str, crm: &FakeCrm) -> (Value, RecordedRequest) {
    let accepted: Value = app
        .post_intake(slug, &canary_intake())
        .await
        .json()
        .await
        .expect("json");
    app.deliver_pending().await;
    let mut requests = crm.requests();
    assert_eq!(requests.len(), 1);
    (accepted, requests.remove(0))
}

/// Receives `request` with `receiver` and checks it is the canary intake, with the
/// values the patient entered.
fn assert_canary(app: &TestApp, receiver: &Receiver, request: &RecordedRequest, accepted: &Value) {
    let webhook = receiver
        .receive(&headers(request), &request.body, now(app))
        .expect("the receiver accepts a real delivery");
    assert_eq!(Some(webhook.id.as_str()), request.header("webhook-id"));
    let Event::IntakeSubmitted(IntakeSubmitted::GaprelayV1(intake)) = webhook.event else {
        panic!("not a gaprelay.v1 intake");
    };
    let intake: &Intake = &intake;
    assert_eq!(
        Some(intake.submission_id.as_str()),
        accepted["submission_id"].as_str()
    );
    assert_eq!(intake.patient.name.as_deref(), Some("Zelda Canaryname"));
    assert_eq!(
        intake.patient.email.as_deref(),
        Some("zelda.canary@example.com")
    );
    assert_eq!(intake.patient.phone.as_deref(), Some("+442079460958"));
    assert_eq!(intake.patient.sex, Some(Sex::Female));
    assert_eq!(intake.patient.age, Some(47));
    assert!(intake.consent.given);
    assert_eq!(intake.engagement.time_on_tool_s, Some(240));
    let entered: Vec<f64> = intake.report.labs.iter().map(|l| l.input.value).collect();
    assert_eq!(entered, [3.1337, 5.4321, 61.2345]);
    assert_eq!(intake.report.summary.labs, 3);
    let symptoms: Vec<&str> = intake
        .report
        .symptoms
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(symptoms, ["fatigue", "cold_intolerance"]);
}

/// A changed body and a timestamp older than the tolerance are refused.
fn assert_refuses_tampered_and_stale(
    app: &TestApp,
    receiver: &Receiver,
    request: &RecordedRequest,
) {
    let mut tampered = request.body.clone();
    let last = tampered.len() - 2;
    tampered[last] ^= 0x01;
    assert_eq!(
        receiver
            .receive(&headers(request), &tampered, now(app))
            .err(),
        Some(Error::Verify(VerifyError::NoMatchingSignature))
    );
    assert!(matches!(
        receiver
            .receive(&headers(request), &request.body, now(app) + 6 * 60)
            .err(),
        Some(Error::Verify(VerifyError::OutsideTolerance(_)))
    ));
}

fn secret(whsec: &str) -> Secret {
    Secret::from_whsec(whsec).expect("the endpoint's secret")
}

#[tokio::test]
async fn an_unencrypted_delivery_is_verified_and_parsed() {
    let app = spawn_app().await;
    let (p, ep, crm) = app.practitioner_with_crm("rc-none", "none").await;
    let (accepted, request) = deliver_canary(&app, &p.slug, &crm).await;
    let receiver = Receiver::new(vec![secret(&ep.secret)], vec![]);
    assert_canary(&app, &receiver, &request, &accepted);
    assert_refuses_tampered_and_stale(&app, &receiver, &request);
}

#[tokio::test]
async fn a_shared_key_delivery_is_verified_decrypted_and_parsed() {
    let app = spawn_app().await;
    let (p, ep, crm) = app.practitioner_with_crm("rc-jwe", "jwe").await;
    let (accepted, request) = deliver_canary(&app, &p.slug, &crm).await;
    assert!(!request.body_str().contains("Canaryname"));
    let key = DecryptionKey::from_jwk(&ep.jwk).expect("the endpoint's JWK");
    let receiver = Receiver::new(vec![secret(&ep.secret)], vec![key]);
    assert_canary(&app, &receiver, &request, &accepted);
    assert_refuses_tampered_and_stale(&app, &receiver, &request);
    // Signed, but without the key it stays closed.
    assert_eq!(
        Receiver::new(vec![secret(&ep.secret)], vec![])
            .receive(&headers(&request), &request.body, now(&app))
            .err(),
        Some(Error::Decrypt(DecryptError::NoKey))
    );
}

#[tokio::test]
async fn a_receiver_key_delivery_opens_with_either_private_key() {
    let app = spawn_app().await;
    let p = app.create_practitioner("rc-receiver").await;
    let crm = FakeCrm::start().await;
    let keys = [
        DecryptionKey::generate_p256("ec-rc", &mut OsRng),
        DecryptionKey::generate_x25519("okp-rc", &mut OsRng),
    ];
    let res = app
        .client
        .post(app.url("/v1/endpoints"))
        .bearer_auth(&p.api_key)
        .json(&json!({
            "url": crm.url(),
            "encryption": "jwe-receiver",
            "receiver_keys": keys.iter().map(|k| k.public_jwk().expect("a key pair")).collect::<Vec<_>>(),
        }))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.expect("json");
    let whsec = created["secret"].as_str().expect("secret");
    let (accepted, request) = deliver_canary(&app, &p.slug, &crm).await;
    assert!(!request.body_str().contains("Canaryname"));
    for key in &keys {
        // The private JWK, as a receiver would load it from its secret store.
        let private = DecryptionKey::from_jwk(&key.to_jwk()).expect("the private JWK");
        let receiver = Receiver::new(vec![secret(whsec)], vec![private]);
        assert_canary(&app, &receiver, &request, &accepted);
        assert_refuses_tampered_and_stale(&app, &receiver, &request);
    }
    // A key the relay never heard of (another kid) opens nothing.
    let stranger = DecryptionKey::generate_p256("stranger", &mut OsRng);
    assert_eq!(
        Receiver::new(vec![secret(whsec)], vec![stranger])
            .receive(&headers(&request), &request.body, now(&app))
            .err(),
        Some(Error::Decrypt(DecryptError::NoKey))
    );
}
