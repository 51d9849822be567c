//! Interop: a real delivered webhook verifies with Python's `standardwebhooks` and
//! decrypts with `jwcrypto`, the off-the-shelf libraries a CRM developer would use.

use crate::helpers::{canary_intake, spawn_app};
use crate::support::verify_webhook_with_python;

#[tokio::test]
async fn a_delivered_webhook_verifies_with_standardwebhooks_and_decrypts_with_jwcrypto() {
    let app = spawn_app().await;
    let (p, ep, crm) = app.practitioner_with_crm("interop-jwe", "jwe").await;
    let accepted: serde_json::Value = app
        .post_intake(&p.slug, &canary_intake())
        .await
        .json()
        .await
        .expect("json");
    app.deliver_pending().await;
    let request = crm.requests().pop().expect("a webhook");
    let out = tokio::task::spawn_blocking(move || {
        verify_webhook_with_python(&ep.secret, Some(&ep.jwk), &request)
    })
    .await
    .expect("python");
    let header = &out["protected_header"];
    assert_eq!(header["alg"], "dir");
    assert_eq!(header["enc"], "A256GCM");
    assert_eq!(header["cty"], "json");
    let data = &out["envelope"]["data"];
    assert_eq!(out["envelope"]["type"], "intake.submitted");
    assert_eq!(data["submission_id"], accepted["submission_id"]);
    assert_eq!(data["patient"]["email"], "zelda.canary@example.com");
    assert_eq!(data["report"], accepted["report"]);
}

#[tokio::test]
async fn an_unencrypted_webhook_verifies_with_standardwebhooks() {
    let app = spawn_app().await;
    let (p, ep, crm) = app.practitioner_with_crm("interop-plain", "none").await;
    app.post_intake(&p.slug, &canary_intake()).await;
    app.deliver_pending().await;
    let request = crm.requests().pop().expect("a webhook");
    let out =
        tokio::task::spawn_blocking(move || verify_webhook_with_python(&ep.secret, None, &request))
            .await
            .expect("python");
    assert_eq!(
        out["envelope"]["data"]["patient"]["name"],
        "Zelda Canaryname"
    );
}
