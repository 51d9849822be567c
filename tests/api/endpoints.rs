//! Webhook endpoints: created with secrets shown once, listed without them, scoped to
//! their practitioner, and never pointing at private addresses in production.

use crate::helpers::{error_code, spawn_app, spawn_app_with, AppOptions};
use serde_json::json;

#[tokio::test]
async fn an_endpoint_is_created_with_its_secret_and_jwk_shown_once() {
    let app = spawn_app().await;
    let p = app.create_practitioner("ep-create").await;
    let res = app
        .client
        .post(app.url("/v1/endpoints"))
        .bearer_auth(&p.api_key)
        .json(&json!({"url": "http://127.0.0.1:9/hook", "format": "gaprelay.v1", "encryption": "jwe", "description": "our CRM"}))
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 201);
    let body: serde_json::Value = res.json().await.expect("json");
    let id = body["id"].as_str().expect("id").to_owned();
    assert!(id.starts_with("ep_"));
    let secret = body["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("whsec_"));
    let jwk = &body["encryption_key"];
    assert_eq!(jwk["kty"], "oct");
    assert_eq!(jwk["alg"], "dir");
    assert_eq!(jwk["enc"], "A256GCM");
    assert!(jwk["kid"].is_string() && jwk["k"].is_string());

    let list: serde_json::Value = app
        .get("/v1/endpoints", Some(&p.api_key))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["data"][0]["id"], id.as_str());
    assert_eq!(list["data"][0]["description"], "our CRM");
    assert!(
        list["data"][0].get("secret").is_none() && list["data"][0].get("encryption_key").is_none()
    );

    // At rest the secret and key are sealed: neither appears in Redis.
    let mut redis = app.redis.as_ref().expect("redis").client().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut redis)
        .await
        .expect("keys");
    for k in keys {
        let dump: Option<Vec<u8>> = redis::cmd("DUMP")
            .arg(&k)
            .query_async(&mut redis)
            .await
            .expect("dump");
        let text = String::from_utf8_lossy(&dump.unwrap_or_default()).to_string();
        assert!(
            !text.contains(&secret[6..]) && !text.contains(jwk["k"].as_str().expect("k")),
            "{k} holds a secret"
        );
    }

    let res = app
        .client
        .delete(app.url(&format!("/v1/endpoints/{id}")))
        .bearer_auth(&p.api_key)
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 204);
    let list: serde_json::Value = app
        .get("/v1/endpoints", Some(&p.api_key))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["data"], json!([]));
}

#[tokio::test]
async fn another_practitioners_endpoints_are_invisible_and_undeletable() {
    let app = spawn_app().await;
    let a = app.create_practitioner("ep-owner-a").await;
    let b = app.create_practitioner("ep-owner-b").await;
    assert_ne!(a.id, b.id);
    let ep = app
        .create_endpoint(&a.api_key, "http://127.0.0.1:9/a", "jwe")
        .await;
    let list: serde_json::Value = app
        .get("/v1/endpoints", Some(&b.api_key))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["data"], json!([]));
    let res = app
        .client
        .delete(app.url(&format!("/v1/endpoints/{}", ep.id)))
        .bearer_auth(&b.api_key)
        .send()
        .await
        .expect("req");
    assert_eq!(error_code(res).await.0, 404);
    let list: serde_json::Value = app
        .get("/v1/endpoints", Some(&a.api_key))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["data"].as_array().expect("data").len(), 1);
}

#[tokio::test]
async fn in_production_endpoints_must_be_public_https() {
    let app = spawn_app_with(AppOptions {
        allow_private_targets: false,
        ..AppOptions::default()
    })
    .await;
    let p = app.create_practitioner("ep-prod").await;
    for url in [
        "http://crm.example.com/hook",
        "https://127.0.0.1/hook",
        "https://169.254.169.254/",
        "https://[::1]/",
        "https://localhost/x",
        "ftp://crm.example.com/",
    ] {
        let res = app
            .client
            .post(app.url("/v1/endpoints"))
            .bearer_auth(&p.api_key)
            .json(&json!({"url": url}))
            .send()
            .await
            .expect("req");
        let (status, body) = error_code(res).await;
        assert_eq!(status, 422, "{url}");
        assert_eq!(body["error"]["details"][0]["field"], "url");
    }
    let res = app
        .client
        .post(app.url("/v1/endpoints"))
        .bearer_auth(&p.api_key)
        .json(&json!({"url": "https://crm.example.com/hook"}))
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 201);
}
