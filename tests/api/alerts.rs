//! The practice is told: an endpoint that keeps failing (or a message about to expire
//! undelivered) brings an email through a real SMTP server (aiosmtpd) and an
//! `endpoint.failing` event on the practice's other endpoints, at most once per endpoint
//! per hour on the app's clock; ids and counts only, never patient data.

use crate::helpers::{canary_intake, spawn_app_with, AppOptions, CANARIES};
use crate::support::{FakeCrm, SinkTls, SmtpSink};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// Moves the clock past a retry delay whatever its ±20 % jitter, then delivers.
async fn retry_after(app: &crate::helpers::TestApp, delay: Duration) {
    app.advance(delay.mul_f64(1.25));
    app.deliver_pending().await;
}

/// The events of one type a receiver got.
fn events(crm: &FakeCrm, kind: &str) -> Vec<Value> {
    crm.requests()
        .iter()
        .map(|r| r.json())
        .filter(|e| e["type"] == kind)
        .collect()
}

fn assert_no_canary(what: &str, text: &str) {
    for canary in CANARIES {
        assert!(
            !text.contains(canary),
            "{what} carries patient data ({canary}): {text}"
        );
    }
}

#[tokio::test]
async fn an_endpoint_that_keeps_failing_brings_one_email_an_hour_and_an_event_on_the_other_endpoint(
) {
    let sink = SmtpSink::start();
    let app = spawn_app_with(AppOptions {
        smtp_url: Some(sink.url()),
        ..AppOptions::default()
    })
    .await;
    let (p, failing, crm) = app.practitioner_with_crm("alert-clinic", "none").await;
    crm.set_default_status(503);
    let other_crm = FakeCrm::start().await;
    let other = app
        .create_endpoint(&p.api_key, &other_crm.url(), "none")
        .await;
    assert_eq!(
        app.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );

    // The first attempt and the retries after 5 s, 30 s and 2 min fail: no alert yet.
    app.deliver_pending().await;
    for delay in [5, 30, 120] {
        retry_after(&app, Duration::from_secs(delay)).await;
    }
    assert_eq!(crm.requests().len(), 4);
    assert!(
        sink.messages().is_empty(),
        "alerted before the fifth failure"
    );
    assert!(events(&other_crm, "endpoint.failing").is_empty());

    // The fifth failure in a row (after 10 min) alerts.
    retry_after(&app, Duration::from_secs(600)).await;
    assert_eq!(crm.requests().len(), 5);
    let mails = sink.messages();
    assert_eq!(mails.len(), 1, "one email: {mails:?}");
    let mail = &mails[0];
    assert_eq!(
        mail["rcpt_tos"],
        serde_json::json!(["practice@example.com"])
    );
    assert_eq!(mail["mail_from"], "alerts@gaprelay.test");
    let subject = mail["subject"].as_str().expect("subject");
    assert!(subject.contains("Practice alert-clinic"), "{subject}");
    assert!(subject.contains(&failing.id), "{subject}");
    // The mail arrives with CRLF line ends.
    let body = mail["body"].as_str().expect("body").replace("\r\n", "\n");
    for expected in [
        format!("endpoint {} (host 127.0.0.1)", failing.id),
        "Failed attempts in a row: 5".to_owned(),
        "Messages waiting for this endpoint: 1\n".to_owned(),
        "Last result: HTTP 503".to_owned(),
        format!("POST /v1/endpoints/{}/retry", failing.id),
    ] {
        assert!(body.contains(&expected), "{expected:?} in {body}");
    }
    // The endpoint's path (and so any token in it) stays out of the email.
    assert!(!body.contains(&crm.url()), "{body}");
    let raw = mail["raw"].as_str().expect("raw");
    assert!(!raw.contains("/hook"), "{raw}");
    assert_no_canary("the alert email", raw);
    assert_no_canary("the alert email's body", &body);

    // The other endpoint hears of it, ids and counts only; the failing one is not sent it.
    let failing_events = events(&other_crm, "endpoint.failing");
    assert_eq!(failing_events.len(), 1, "{failing_events:?}");
    let data = &failing_events[0]["data"];
    assert_eq!(data["endpoint_id"], failing.id.as_str());
    assert_eq!(data["reason"], "keeps_failing");
    assert_eq!(data["consecutive_failures"], 5);
    assert_eq!(data["pending_messages"], 1);
    assert_eq!(data["last_http_status"], 503);
    assert_no_canary("the endpoint.failing event", &failing_events[0].to_string());
    assert!(crm
        .requests()
        .iter()
        .all(|r| r.json()["type"] == "intake.submitted"));
    assert_ne!(other.id, failing.id);

    // Another failure within the hour (after 30 min) sends nothing more.
    retry_after(&app, Duration::from_secs(30 * 60)).await;
    assert_eq!(crm.requests().len(), 6);
    assert_eq!(sink.messages().len(), 1, "a second email within the hour");
    assert_eq!(events(&other_crm, "endpoint.failing").len(), 1);

    // The next failure, more than an hour after the alert on the app's clock (Redis's
    // own clock has hardly moved), alerts again.
    retry_after(&app, Duration::from_secs(60 * 60)).await;
    assert_eq!(crm.requests().len(), 7);
    let mails = sink.messages();
    assert_eq!(mails.len(), 2, "a second email after the hour: {mails:?}");
    assert!(mails[1]["body"]
        .as_str()
        .is_some_and(|b| b.contains("Failed attempts in a row: 7")));
    assert_eq!(events(&other_crm, "endpoint.failing").len(), 2);
}

#[tokio::test]
async fn a_message_about_to_expire_and_then_expired_undelivered_alerts_the_practice_each_time() {
    let sink = SmtpSink::start();
    let app = spawn_app_with(AppOptions {
        memory: true,
        smtp_url: Some(sink.url()),
        message_ttl: Some(Duration::from_secs(60 * 60)),
        ..AppOptions::default()
    })
    .await;
    let (p, failing, crm) = app.practitioner_with_crm("expiry-clinic", "none").await;
    crm.set_default_status(401);
    let other_crm = FakeCrm::start().await;
    app.create_endpoint(&p.api_key, &other_crm.url(), "none")
        .await;
    assert_eq!(
        app.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );

    // Its first attempt fails 50 minutes in, with 10 minutes left (a quarter of the
    // hour's lifetime is the warning): one failure is enough to alert.
    app.advance(Duration::from_secs(50 * 60));
    app.deliver_pending().await;
    assert_eq!(crm.requests().len(), 1);
    let mails = sink.messages();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let body = mails[0]["body"].as_str().expect("body");
    assert!(body.contains("expires at"), "{body}");
    assert!(body.contains("Last result: HTTP 401"), "{body}");
    assert!(body.contains(&failing.id), "{body}");
    assert_no_canary("the expiry warning", mails[0]["raw"].as_str().expect("raw"));
    let warned = events(&other_crm, "endpoint.failing");
    assert_eq!(warned.len(), 1);
    assert_eq!(warned[0]["data"]["reason"], "expiring");
    assert!(warned[0]["data"]["expires_at"].is_string());

    // An hour and more later the message has expired undelivered: the practice is told
    // again, with the message's id, besides the `endpoint.delivery_expired` event.
    app.advance(Duration::from_secs(70 * 60));
    app.deliver_pending().await;
    let mails = sink.messages();
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(mails[1]["subject"]
        .as_str()
        .is_some_and(|s| s.contains("expired undelivered")));
    let expired = events(&other_crm, "endpoint.delivery_expired");
    assert_eq!(expired.len(), 1);
    let message_id = expired[0]["data"]["message_id"].as_str().expect("id");
    assert!(mails[1]["body"]
        .as_str()
        .is_some_and(|b| b.contains(&format!("message {message_id} expired"))));
    let told = events(&other_crm, "endpoint.failing");
    assert_eq!(told.len(), 2);
    assert_eq!(told[1]["data"]["reason"], "expired");
    assert_eq!(told[1]["data"]["message_id"], message_id);
    for mail in &mails {
        assert_no_canary("an alert email", mail["raw"].as_str().expect("raw"));
    }
}

/// One alert's worth of trouble: a message whose first attempt fails with a quarter of
/// its hour left warns the practice at once. Returns what the sink then holds.
async fn one_expiry_warning(sink: &SmtpSink, ca_file: Option<PathBuf>) -> Vec<Value> {
    let app = spawn_app_with(AppOptions {
        memory: true,
        smtp_url: Some(sink.url()),
        smtp_ca_file: ca_file,
        message_ttl: Some(Duration::from_secs(60 * 60)),
        ..AppOptions::default()
    })
    .await;
    let (p, _, crm) = app.practitioner_with_crm("tls-clinic", "none").await;
    crm.set_default_status(503);
    assert_eq!(
        app.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );
    app.advance(Duration::from_secs(50 * 60));
    app.deliver_pending().await;
    assert_eq!(crm.requests().len(), 1);
    sink.messages()
}

#[tokio::test]
async fn alerts_go_over_starttls_and_over_tls_to_a_server_with_a_private_ca() {
    for mode in [SinkTls::StartTls, SinkTls::Tls] {
        let sink = SmtpSink::start_with(mode);
        let mails = one_expiry_warning(&sink, Some(sink.ca_file())).await;
        assert_eq!(mails.len(), 1, "{mode:?}: {mails:?}");
        let version = mails[0]["tls"].as_str().unwrap_or_default();
        assert!(
            version.starts_with("TLSv1.2") || version.starts_with("TLSv1.3"),
            "{mode:?}: the alert came over {:?}",
            mails[0]["tls"]
        );
        assert_no_canary("the alert email", mails[0]["raw"].as_str().expect("raw"));
    }
    // The plain sink says so, so the check above can tell the difference.
    let plain = SmtpSink::start();
    let mails = one_expiry_warning(&plain, None).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0]["tls"].is_null(), "{:?}", mails[0]["tls"]);
}

#[tokio::test]
async fn a_mail_server_whose_certificate_is_not_trusted_gets_nothing() {
    // The same servers, but the relay is not told of their CA: it must not fall back
    // to sending in the clear (the STARTTLS server would take nothing anyway, the TLS
    // one nothing readable), and it must not send at all.
    for mode in [SinkTls::StartTls, SinkTls::Tls] {
        let sink = SmtpSink::start_with(mode);
        let mails = one_expiry_warning(&sink, None).await;
        assert!(mails.is_empty(), "{mode:?}: {mails:?}");
    }
}

#[tokio::test]
async fn a_practice_without_an_endpoint_is_emailed_when_a_submission_waits_and_when_it_expires() {
    let sink = SmtpSink::start();
    let app = spawn_app_with(AppOptions {
        smtp_url: Some(sink.url()),
        ..AppOptions::default()
    })
    .await;
    let p = app.create_practitioner("held-alert-clinic").await;
    for _ in 0..2 {
        assert_eq!(
            app.post_intake(&p.slug, &canary_intake()).await.status(),
            202
        );
    }
    app.deliver_pending().await;
    let mails = sink.messages();
    assert_eq!(mails.len(), 1, "one email for both submissions: {mails:?}");
    assert_eq!(
        mails[0]["rcpt_tos"],
        serde_json::json!(["practice@example.com"])
    );
    let subject = mails[0]["subject"].as_str().expect("subject");
    assert!(
        subject.contains("waiting for a webhook endpoint"),
        "{subject}"
    );
    let body = mails[0]["body"]
        .as_str()
        .expect("body")
        .replace("\r\n", "\n");
    assert!(body.contains("held, encrypted, until"), "{body}");
    assert!(body.contains("POST /v1/endpoints"), "{body}");
    assert_no_canary(
        "the held-submission email",
        mails[0]["raw"].as_str().expect("raw"),
    );

    // Looked at again an hour later, still held: no second email within six hours.
    app.advance(Duration::from_secs(60 * 60));
    app.deliver_pending().await;
    assert_eq!(sink.messages().len(), 1, "{:?}", sink.messages());

    // Past the day they expire: the practice is told they are gone.
    app.advance(Duration::from_secs(24 * 60 * 60));
    app.deliver_pending().await;
    let mails = sink.messages();
    assert_eq!(mails.len(), 2, "{mails:?}");
    let subject = mails[1]["subject"].as_str().expect("subject");
    assert!(
        subject.contains("expired with no webhook endpoint"),
        "{subject}"
    );
    assert_no_canary(
        "the held-expiry email",
        mails[1]["raw"].as_str().expect("raw"),
    );
}
