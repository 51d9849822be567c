//! Webhook endpoints: created with secrets shown once, listed without them, scoped to
//! their practitioner, and never pointing at private addresses in production.

use crate::helpers::{error_code, spawn_app, spawn_app_with, AppOptions};
use serde_json::json;

/// This machine's host name, which resolves to a loopback or private address here (a
/// host name the URL rules cannot know is private: only DNS tells).
async fn private_hostname() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("hostname")
        .trim()
        .to_owned();
    let addrs: Vec<std::net::IpAddr> = tokio::net::lookup_host((name.as_str(), 443))
        .await
        .map(|a| a.map(|s| s.ip()).collect())
        .unwrap_or_default();
    assert!(
        !addrs.is_empty()
            && addrs
                .iter()
                .all(|ip| gaprelay::domain::endpoint::is_forbidden_ip(*ip)),
        "test precondition: the host name {name} resolves to a private address, got {addrs:?}"
    );
    name
}

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

    let list: serde_json::Value = app.get_json("/v1/endpoints", Some(&p.api_key)).await;
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
    let list: serde_json::Value = app.get_json("/v1/endpoints", Some(&p.api_key)).await;
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
    let list: serde_json::Value = app.get_json("/v1/endpoints", Some(&b.api_key)).await;
    assert_eq!(list["data"], json!([]));
    let res = app
        .client
        .delete(app.url(&format!("/v1/endpoints/{}", ep.id)))
        .bearer_auth(&b.api_key)
        .send()
        .await
        .expect("req");
    assert_eq!(error_code(res).await.0, 404);
    let list: serde_json::Value = app.get_json("/v1/endpoints", Some(&a.api_key)).await;
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
        // Odd spellings of loopback: decimal, hex, octal, IPv4-mapped IPv6.
        "https://2130706433/",
        "https://0x7f.0.0.1/",
        "https://0177.0.0.1/",
        "https://[::ffff:127.0.0.1]/",
        // Cloud metadata, as mapped IPv6 too; private, CGNAT, unique-local, unspecified.
        "https://[::ffff:a9fe:a9fe]/latest/meta-data/",
        "https://10.0.0.1/",
        "https://172.16.5.4/",
        "https://192.168.1.1/",
        "https://100.64.0.1/",
        "https://[fd00::1]/",
        "https://[fe80::1]/",
        "https://0.0.0.0/",
        "https://[::]/",
        // IPv6 translation and tunnel prefixes that lead to IPv4 hosts: local-use NAT64,
        // IPv4-mapped and -translated, 6to4.
        "https://[64:ff9b:1::a00:1]/",
        "https://[::ffff:0:a00:1]/",
        "https://[::ffff:0:a9fe:a9fe]/latest/meta-data/",
        "https://[2002:a9fe:a9fe::]/",
        "https://[2002:808:808::1]/",
        // Credentials in the URL.
        "https://user:secret@crm.example.com/hook",
        // A host name that resolves to loopback (this machine's own name).
        &format!("https://{}/hook", private_hostname().await),
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

#[tokio::test]
async fn a_saved_host_that_later_resolves_privately_is_refused_at_connect_time() {
    use gaprelay::domain::ids::{EndpointId, PractitionerId};
    let app = spawn_app_with(AppOptions {
        allow_private_targets: false,
        ..AppOptions::default()
    })
    .await;
    let p = app.create_practitioner("rebind").await;
    let ep = app
        .create_endpoint(&p.api_key, "https://1.1.1.1/hook", "none")
        .await;
    let crm = crate::support::FakeCrm::start().await;
    // DNS rebinding, simulated: the name saved as public now answers with this
    // machine's loopback address, where an internal service (the fake CRM) listens.
    let (pid, eid) = (
        PractitionerId::parse(&p.id).expect("id"),
        EndpointId::parse(&ep.id).expect("id"),
    );
    let mut record = app
        .store
        .endpoint(&pid, &eid)
        .await
        .expect("store")
        .expect("endpoint");
    record.url = format!("https://{}:{}/hook", private_hostname().await, crm.port());
    app.store.put_endpoint(&record).await.expect("store");
    assert_eq!(
        app.post_intake(&p.slug, &crate::helpers::canary_intake())
            .await
            .status(),
        202
    );
    assert_eq!(
        app.deliver_pending().await,
        vec![gaprelay::delivery::worker::AttemptOutcome::Retrying]
    );
    let log: serde_json::Value = app.get_json("/v1/deliveries", Some(&p.api_key)).await;
    assert_eq!(log["data"][0]["last_error"], "forbidden_target", "{log}");
    assert!(crm.requests().is_empty());
}

#[tokio::test]
async fn changing_an_endpoint_to_a_privately_resolving_host_is_refused() {
    let app = spawn_app_with(AppOptions {
        allow_private_targets: false,
        ..AppOptions::default()
    })
    .await;
    let p = app.create_practitioner("ep-patch-private").await;
    let ep = app
        .create_endpoint(&p.api_key, "https://1.1.1.1/hook", "none")
        .await;
    let res = app
        .client
        .patch(app.url(&format!("/v1/endpoints/{}", ep.id)))
        .bearer_auth(&p.api_key)
        .json(&json!({"url": format!("https://{}/hook", private_hostname().await)}))
        .send()
        .await
        .expect("req");
    let (status, body) = error_code(res).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["details"][0]["field"], "url");
    assert!(body["error"]["details"][0]["problem"]
        .as_str()
        .is_some_and(|p| p.contains("public address")));
}

#[tokio::test]
async fn concurrent_url_changes_and_rotations_never_undo_each_other() {
    use gaprelay::domain::ids::{EndpointId, PractitionerId};
    let app = spawn_app().await;
    let p = app.create_practitioner("endpoint-cas").await;
    let ep = app
        .create_endpoint(&p.api_key, "http://127.0.0.1:9/in", "jwe")
        .await;
    let pid = PractitionerId::parse(&p.id).expect("id");
    let eid = EndpointId::parse(&ep.id).expect("id");
    let read = || async {
        app.store
            .endpoint(&pid, &eid)
            .await
            .expect("read")
            .expect("there")
    };
    let mut undone = Vec::new();
    for round in 0..60 {
        let before = read().await;
        let url = format!("http://127.0.0.1:9/in/{round}");
        let patch = app
            .client
            .patch(app.url(&format!("/v1/endpoints/{}", ep.id)))
            .bearer_auth(&p.api_key)
            .json(&json!({ "url": url }))
            .send();
        let rotate = app
            .client
            .post(app.url(&format!("/v1/endpoints/{}/rotate", ep.id)))
            .bearer_auth(&p.api_key)
            .send();
        let (patched, rotated) = tokio::join!(patch, rotate);
        assert_eq!(patched.expect("patch").status(), 200);
        assert_eq!(rotated.expect("rotate").status(), 200);
        let after = read().await;
        // Both changes must be there: the new URL and a new secret.
        if after.url != url || after.sealed_secret == before.sealed_secret {
            undone.push(round);
        }
    }
    assert!(
        undone.is_empty(),
        "a change undone by a concurrent one in rounds {undone:?}"
    );
}
