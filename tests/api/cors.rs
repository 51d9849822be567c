//! CORS on the patient's form: only the practice's allowed origins (by default its
//! website's) may use it from a browser; preflight is answered; other origins get 403
//! and nothing is queued.

use crate::helpers::{canary_intake, error_code, spawn_app};
use serde_json::json;

const SITE: &str = "https://practice.example.com";

#[tokio::test]
async fn the_practice_website_may_use_its_form_from_a_browser() {
    let app = spawn_app().await;
    let (p, _, _crm) = app.practitioner_with_crm("cors-ok", "jwe").await;
    let url = app.url(&format!("/v1/intake/{}", p.slug));
    let pre = app
        .client
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", SITE)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .expect("preflight");
    assert_eq!(pre.status(), 204);
    assert_eq!(pre.headers()["access-control-allow-origin"], SITE);
    assert!(pre.headers()["access-control-allow-methods"]
        .to_str()
        .expect("m")
        .contains("POST"));
    assert_eq!(pre.headers()["vary"], "Origin");

    let res = app
        .client
        .post(&url)
        .header("origin", SITE)
        .json(&canary_intake())
        .send()
        .await
        .expect("intake");
    assert_eq!(res.status(), 202);
    assert_eq!(res.headers()["access-control-allow-origin"], SITE);
    let form = app
        .client
        .get(app.url("/v1/forms/cors-ok"))
        .header("origin", SITE)
        .send()
        .await
        .expect("form");
    assert_eq!(form.headers()["access-control-allow-origin"], SITE);
}

#[tokio::test]
async fn another_website_is_refused_and_nothing_is_queued() {
    let app = spawn_app().await;
    let (p, _, _crm) = app.practitioner_with_crm("cors-evil", "jwe").await;
    let url = app.url(&format!("/v1/intake/{}", p.slug));
    let res = app
        .client
        .post(&url)
        .header("origin", "https://evil.example")
        .json(&canary_intake())
        .send()
        .await
        .expect("intake");
    assert!(res.headers().get("access-control-allow-origin").is_none());
    let (status, body) = error_code(res).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("origin_not_allowed"))
    );
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);
    let pre = app
        .client
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("preflight");
    assert_eq!(pre.status(), 403);
    // Not a browser: no Origin, no CORS.
    assert_eq!(
        app.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );
}

#[tokio::test]
async fn an_origin_added_by_the_practitioner_applies_at_once() {
    let app = spawn_app().await;
    let p = app.create_practitioner("cors-add").await;
    let url = app.url("/v1/forms/cors-add");
    let local = "http://localhost:3000";
    assert_eq!(
        app.client
            .get(&url)
            .header("origin", local)
            .send()
            .await
            .expect("form")
            .status(),
        403
    );
    let res = app
        .client
        .patch(app.url("/v1/practitioner"))
        .bearer_auth(&p.api_key)
        .json(&json!({"allowed_origins": [SITE, local]}))
        .send()
        .await
        .expect("patch");
    assert_eq!(res.status(), 200);
    let res = app
        .client
        .get(&url)
        .header("origin", local)
        .send()
        .await
        .expect("form");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["access-control-allow-origin"], local);
}
