//! The practitioner API (issue #4) through the real app: every route under every role,
//! keys, the audit log, settings with ETags, endpoint rotation and tests, restriction,
//! export → import, deletion, and the operator's controls.

use crate::helpers::{
    canary_intake, error_code, spawn_app, TestApp, TestPractitioner, ADMIN_TOKEN,
};
use crate::support::FakeCrm;
use gaprelay::crypto::jwe::{self, ContentKey, FlattenedJwe};
use gaprelay::crypto::webhook::{self, WebhookSecret};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = app.client.request(method, app.url(path));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.expect("request")
}

async fn new_key(app: &TestApp, owner: &str, role: &str) -> (String, String) {
    let res = call(
        app,
        Method::POST,
        "/v1/api-keys",
        Some(owner),
        Some(json!({"role": role, "label": format!("{role} key")})),
    )
    .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.expect("json");
    (
        body["id"].as_str().expect("id").to_owned(),
        body["api_key"].as_str().expect("key").to_owned(),
    )
}

/// Which role may do what: (method, path, body, least role: 0 viewer, 1 editor, 2 owner).
fn routes(ep: &str) -> Vec<(Method, String, Option<Value>, u8)> {
    vec![
        (Method::GET, "/v1/practitioner".into(), None, 0),
        (
            Method::GET,
            "/v1/practitioner/consent-versions".into(),
            None,
            0,
        ),
        (
            Method::GET,
            "/v1/practitioner/consent-versions/1".into(),
            None,
            0,
        ),
        (Method::GET, "/v1/markers".into(), None, 0),
        (Method::GET, "/v1/symptoms".into(), None, 0),
        (Method::GET, "/v1/endpoints".into(), None, 0),
        (
            Method::PATCH,
            "/v1/practitioner".into(),
            Some(json!({"doctor_name": "Dr. Role"})),
            1,
        ),
        (
            Method::PUT,
            "/v1/ranges/tsh".into(),
            Some(json!({"unit": "mIU/L", "optimal": {"low": 1.0, "high": 2.0}})),
            1,
        ),
        (Method::DELETE, "/v1/ranges/tsh".into(), None, 1),
        (
            Method::PUT,
            "/v1/markers/omega3_index".into(),
            Some(json!({"name": "Omega-3", "unit": "%", "optimal": {"low": 8.0}})),
            1,
        ),
        (Method::DELETE, "/v1/markers/omega3_index".into(), None, 1),
        (
            Method::PUT,
            "/v1/symptoms".into(),
            Some(json!({"offered": ["fatigue"]})),
            1,
        ),
        (
            Method::POST,
            "/v1/endpoints".into(),
            Some(json!({"url": "http://127.0.0.1:9/x"})),
            1,
        ),
        (
            Method::PATCH,
            format!("/v1/endpoints/{ep}"),
            Some(json!({"description": "changed"})),
            1,
        ),
        (Method::POST, format!("/v1/endpoints/{ep}/rotate"), None, 1),
        (Method::POST, format!("/v1/endpoints/{ep}/test"), None, 1),
        (Method::POST, format!("/v1/endpoints/{ep}/retry"), None, 1),
        (Method::GET, "/v1/api-keys".into(), None, 2),
        (
            Method::POST,
            "/v1/api-keys".into(),
            Some(json!({"role": "viewer"})),
            2,
        ),
        (Method::GET, "/v1/audit-log".into(), None, 2),
        (Method::GET, "/v1/practitioner/export".into(), None, 2),
    ]
}

#[tokio::test]
async fn every_route_checks_the_key_and_its_role() {
    let app = spawn_app().await;
    let p = app.create_practitioner("roles").await;
    let ep = app
        .create_endpoint(&p.api_key, "http://127.0.0.1:9/hook", "jwe")
        .await;
    let (_, editor) = new_key(&app, &p.api_key, "editor").await;
    let (_, viewer) = new_key(&app, &p.api_key, "viewer").await;
    let (spare, _) = new_key(&app, &p.api_key, "viewer").await;
    // The read-only and configuration routes, then the destructive ones, last.
    let mut all = routes(&ep.id);
    all.extend([
        (Method::GET, "/v1/deliveries".to_owned(), None, 0),
        (Method::DELETE, format!("/v1/endpoints/{}", ep.id), None, 1),
        (Method::DELETE, format!("/v1/api-keys/{spare}"), None, 2),
        (Method::DELETE, "/v1/practitioner".to_owned(), None, 2),
        (Method::POST, "/v1/practitioner/restore".to_owned(), None, 2),
    ]);
    for (method, path, body, least) in all {
        let res = call(&app, method.clone(), &path, None, body.clone()).await;
        assert_eq!(res.status(), 401, "{method} {path} without a key");
        for (rank, key) in [(0u8, &viewer), (1, &editor), (2, &p.api_key)] {
            let res = call(&app, method.clone(), &path, Some(key), body.clone()).await;
            let status = res.status().as_u16();
            if rank >= least {
                assert!(
                    status < 400 || status == 404,
                    "{method} {path} as rank {rank}: {status}"
                );
            } else {
                let (status, err) = error_code(res).await;
                assert_eq!(
                    (status, err["error"]["code"].as_str()),
                    (403, Some("forbidden")),
                    "{method} {path} as rank {rank}"
                );
            }
        }
    }
    // Denied attempts to change something are in the audit log.
    let log: Value = call(
        &app,
        Method::GET,
        "/v1/audit-log?limit=100",
        Some(&p.api_key),
        None,
    )
    .await
    .json()
    .await
    .expect("json");
    assert!(log["data"]
        .as_array()
        .expect("data")
        .iter()
        .any(|e| e["outcome"] == "denied" && e["action"] == "range.set"));
}

#[tokio::test]
async fn another_practitioners_key_never_reaches_this_practitioners_data() {
    let app = spawn_app().await;
    let a = app.create_practitioner("tenant-a").await;
    let b = app.create_practitioner("tenant-b").await;
    let ep = app
        .create_endpoint(&a.api_key, "http://127.0.0.1:9/a", "jwe")
        .await;
    let (a_key_id, _) = new_key(&app, &a.api_key, "viewer").await;
    for (method, path) in [
        (Method::PATCH, format!("/v1/endpoints/{}", ep.id)),
        (Method::POST, format!("/v1/endpoints/{}/rotate", ep.id)),
        (Method::POST, format!("/v1/endpoints/{}/test", ep.id)),
        (Method::POST, format!("/v1/endpoints/{}/retry", ep.id)),
        (Method::DELETE, format!("/v1/endpoints/{}", ep.id)),
        (Method::DELETE, format!("/v1/api-keys/{a_key_id}")),
    ] {
        let body = (method == Method::PATCH).then(|| json!({"enabled": false}));
        let res = call(&app, method.clone(), &path, Some(&b.api_key), body).await;
        assert_eq!(error_code(res).await.0, 404, "{method} {path}");
    }
    let mine: Value = call(
        &app,
        Method::GET,
        "/v1/practitioner",
        Some(&b.api_key),
        None,
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(mine["slug"], "tenant-b");
    let export: Value = call(
        &app,
        Method::GET,
        "/v1/practitioner/export",
        Some(&b.api_key),
        None,
    )
    .await
    .json()
    .await
    .expect("json");
    assert!(!export.to_string().contains(&a.id) && !export.to_string().contains(&ep.id));
}

#[tokio::test]
async fn keys_are_shown_once_listed_without_secrets_and_revoked_at_once() {
    let app = spawn_app().await;
    let p = app.create_practitioner("keys").await;
    let (viewer_id, viewer) = new_key(&app, &p.api_key, "viewer").await;
    assert_eq!(
        call(&app, Method::GET, "/v1/markers", Some(&viewer), None)
            .await
            .status(),
        200
    );
    let list: Value = call(&app, Method::GET, "/v1/api-keys", Some(&p.api_key), None)
        .await
        .json()
        .await
        .expect("json");
    let keys = list["data"].as_array().expect("data");
    assert_eq!(keys.len(), 2);
    assert!(
        !list.to_string().contains(&viewer[8..]) && !list.to_string().contains(&p.api_key[8..])
    );
    let v = keys
        .iter()
        .find(|k| k["id"] == viewer_id.as_str())
        .expect("viewer listed");
    assert_eq!(v["role"], "viewer");
    assert_eq!(v["prefix"], &viewer[..8]);
    assert!(v["last_used_at"].is_string(), "{v}");
    assert!(v.get("api_key").is_none());

    let res = call(
        &app,
        Method::DELETE,
        &format!("/v1/api-keys/{viewer_id}"),
        Some(&p.api_key),
        None,
    )
    .await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        call(&app, Method::GET, "/v1/markers", Some(&viewer), None)
            .await
            .status(),
        401
    );

    let owner_id = keys.iter().find(|k| k["role"] == "owner").expect("owner")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let res = call(
        &app,
        Method::DELETE,
        &format!("/v1/api-keys/{owner_id}"),
        Some(&p.api_key),
        None,
    )
    .await;
    let (status, body) = error_code(res).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("conflict"))
    );
    // With a second owner, the first may go.
    let (_, owner2) = new_key(&app, &p.api_key, "owner").await;
    assert_eq!(
        call(
            &app,
            Method::DELETE,
            &format!("/v1/api-keys/{owner_id}"),
            Some(&owner2),
            None
        )
        .await
        .status(),
        204
    );
    let page: Value = call(
        &app,
        Method::GET,
        "/v1/api-keys?limit=1",
        Some(&owner2),
        None,
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(page["data"].as_array().expect("data").len(), 1);
    assert!(page["next_cursor"].is_null());
}

#[tokio::test]
async fn the_audit_log_records_every_change_with_its_actor_and_pages_newest_first() {
    let app = spawn_app().await;
    let p = app.create_practitioner("audited").await;
    let ep = app
        .create_endpoint(&p.api_key, "http://127.0.0.1:9/hook", "jwe")
        .await;
    call(
        &app,
        Method::PUT,
        "/v1/ranges/tsh",
        Some(&p.api_key),
        Some(json!({"unit": "mIU/L", "optimal": {"low": 1.0, "high": 2.5}})),
    )
    .await;
    let rotated: Value = call(
        &app,
        Method::POST,
        &format!("/v1/endpoints/{}/rotate", ep.id),
        Some(&p.api_key),
        None,
    )
    .await
    .json()
    .await
    .expect("json");
    call(
        &app,
        Method::PATCH,
        "/v1/practitioner",
        Some(&p.api_key),
        Some(json!({"consent_text": "New consent words."})),
    )
    .await;
    let log: Value = call(
        &app,
        Method::GET,
        "/v1/audit-log?limit=3",
        Some(&p.api_key),
        None,
    )
    .await
    .json()
    .await
    .expect("json");
    let actions: Vec<&str> = log["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        ["practitioner.updated", "endpoint.rotated", "range.set"]
    );
    let first = &log["data"][0];
    assert!(first["actor"].as_str().expect("actor").starts_with("key_"));
    assert_eq!(first["outcome"], "success");
    assert_eq!(first["details"], json!(["consent_text"]));
    let cursor = log["next_cursor"].as_str().expect("more pages").to_owned();
    let rest: Value = call(
        &app,
        Method::GET,
        &format!("/v1/audit-log?limit=3&cursor={cursor}"),
        Some(&p.api_key),
        None,
    )
    .await
    .json()
    .await
    .expect("json");
    let actions: Vec<&str> = rest["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(actions, ["endpoint.created", "practitioner.created"]);
    let everything = format!("{log}{rest}");
    for secret in [
        rotated["secret"].as_str().expect("s"),
        ep.secret.as_str(),
        &p.api_key,
    ] {
        assert!(
            !everything.contains(&secret[6..]),
            "the audit log holds a secret"
        );
    }
}

#[tokio::test]
async fn settings_carry_an_etag_and_a_stale_if_match_is_refused() {
    let app = spawn_app().await;
    let p = app.create_practitioner("etags").await;
    let res = call(
        &app,
        Method::GET,
        "/v1/practitioner",
        Some(&p.api_key),
        None,
    )
    .await;
    let etag = res.headers()["etag"].to_str().expect("etag").to_owned();
    let patch = |tag: &str, body: Value| {
        app.client
            .patch(app.url("/v1/practitioner"))
            .bearer_auth(&p.api_key)
            .header("if-match", tag)
            .json(&body)
            .send()
    };
    let res = patch(&etag, json!({"branding": {"primary_color": "#1a7f5a", "logo_url": "https://cdn.example.com/logo.png"}, "call_to_action": {"label": "Book a call", "url": "https://etags.example.com/book"}})).await.expect("req");
    assert_eq!(res.status(), 200);
    let new_etag = res.headers()["etag"].to_str().expect("etag").to_owned();
    assert_ne!(new_etag, etag);
    let (status, body) = error_code(
        patch(&etag, json!({"doctor_name": "Dr. Late"}))
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (412, Some("precondition_failed"))
    );
    let (status, body) = error_code(
        patch(&new_etag, json!({"branding": {"primary_color": "green"}}))
            .await
            .expect("req"),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        body["error"]["details"][0]["field"],
        "branding.primary_color"
    );
    let form: Value = app.get_json("/v1/forms/etags", None).await;
    assert_eq!(form["branding"]["primary_color"], "#1a7f5a");
    assert_eq!(form["call_to_action"]["label"], "Book a call");
}

#[tokio::test]
async fn the_consent_version_goes_into_each_webhook() {
    let app = spawn_app().await;
    let (p, _, crm) = app.practitioner_with_crm("consent-version", "none").await;
    call(
        &app,
        Method::PATCH,
        "/v1/practitioner",
        Some(&p.api_key),
        Some(json!({"consent_text": "Version two of our consent."})),
    )
    .await;
    app.post_intake(&p.slug, &canary_intake()).await;
    app.deliver_pending().await;
    assert_eq!(crm.requests()[0].json()["data"]["consent"]["version"], 2);
}

#[tokio::test]
async fn during_a_rotation_both_secrets_sign_and_after_24_hours_only_the_new_one() {
    let app = spawn_app().await;
    let (p, ep, crm) = app.practitioner_with_crm("rotation", "jwe").await;
    let rotated: Value = call(
        &app,
        Method::POST,
        &format!("/v1/endpoints/{}/rotate", ep.id),
        Some(&p.api_key),
        None,
    )
    .await
    .json()
    .await
    .expect("json");
    let old = WebhookSecret::from_whsec(&ep.secret).expect("old");
    let new = WebhookSecret::from_whsec(rotated["secret"].as_str().expect("secret")).expect("new");
    assert_ne!(rotated["encryption_key"]["kid"], ep.jwk["kid"]);
    let verify = |r: &crate::support::RecordedRequest, s: &WebhookSecret| {
        let id = r.header("webhook-id").expect("id");
        let ts: i64 = r
            .header("webhook-timestamp")
            .expect("ts")
            .parse()
            .expect("ts");
        webhook::verify(
            s,
            id,
            ts,
            &r.body,
            r.header("webhook-signature").expect("sig"),
        )
    };
    app.post_intake(&p.slug, &canary_intake()).await;
    app.deliver_pending().await;
    let during = crm.requests().pop().expect("delivered");
    assert!(
        verify(&during, &old) && verify(&during, &new),
        "both verify during the overlap"
    );
    assert_eq!(
        during
            .header("webhook-signature")
            .expect("sig")
            .split(' ')
            .count(),
        2
    );

    app.advance(Duration::from_secs(24 * 3600 + 1));
    app.post_intake(&p.slug, &canary_intake()).await;
    app.deliver_pending().await;
    let after = crm.requests().pop().expect("delivered");
    assert!(
        verify(&after, &new) && !verify(&after, &old),
        "only the new secret after 24 h"
    );
    // The JWE uses the new key at once.
    let key = gaprelay::crypto::jwe::ContentKey::from_jwk(&rotated["encryption_key"]).expect("jwk");
    let jwe: gaprelay::crypto::jwe::FlattenedJwe =
        serde_json::from_value(during.json()["data"].clone()).expect("jwe");
    assert!(gaprelay::crypto::jwe::decrypt(&key, &jwe).is_ok());
}

#[tokio::test]
async fn a_test_event_reaches_the_endpoint_and_a_disabled_endpoint_gets_nothing() {
    let app = spawn_app().await;
    let (p, ep, crm) = app.practitioner_with_crm("endpoint-test", "none").await;
    let res = call(
        &app,
        Method::POST,
        &format!("/v1/endpoints/{}/test", ep.id),
        Some(&p.api_key),
        None,
    )
    .await;
    assert_eq!(res.status(), 202);
    app.deliver_pending().await;
    let body = crm.requests()[0].json();
    assert_eq!(body["type"], "endpoint.test");
    assert!(!body.to_string().contains("patient"));

    let res = call(
        &app,
        Method::PATCH,
        &format!("/v1/endpoints/{}", ep.id),
        Some(&p.api_key),
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(res.json::<Value>().await.expect("json")["enabled"], false);
    // The disabled endpoint gets nothing: the submission is held for an endpoint.
    app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(
        app.deliver_pending().await,
        vec![gaprelay::delivery::worker::AttemptOutcome::AwaitingEndpoint]
    );
    assert_eq!(crm.requests().len(), 1);
    let res = call(
        &app,
        Method::POST,
        &format!("/v1/endpoints/{}/test", ep.id),
        Some(&p.api_key),
        None,
    )
    .await;
    assert_eq!(error_code(res).await.0, 409, "testing a disabled endpoint");
}

#[tokio::test]
async fn a_paused_practice_takes_no_submissions_and_queues_nothing() {
    let app = spawn_app().await;
    let (p, _, _crm) = app.practitioner_with_crm("paused", "jwe").await;
    let res = call(
        &app,
        Method::PATCH,
        "/v1/practitioner",
        Some(&p.api_key),
        Some(json!({"accepting_submissions": false})),
    )
    .await;
    assert_eq!(res.status(), 200);
    let (status, body) = error_code(app.post_intake(&p.slug, &canary_intake()).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("not_accepting_submissions"))
    );
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);
    let form: Value = app.get_json("/v1/forms/paused", None).await;
    assert_eq!(form["accepting_submissions"], false);
    call(
        &app,
        Method::PATCH,
        "/v1/practitioner",
        Some(&p.api_key),
        Some(json!({"accepting_submissions": true})),
    )
    .await;
    assert_eq!(
        app.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );
    let log: Value = call(&app, Method::GET, "/v1/audit-log", Some(&p.api_key), None)
        .await
        .json()
        .await
        .expect("json");
    let actions: Vec<&str> = log["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|e| e["action"].as_str().expect("a"))
        .collect();
    assert_eq!(
        &actions[..2],
        ["practitioner.resumed", "practitioner.paused"]
    );
}

async fn setup_for_export(app: &TestApp) -> (TestPractitioner, FakeCrm) {
    let (p, _, crm) = app.practitioner_with_crm("exported", "jwe").await;
    call(
        app,
        Method::PUT,
        "/v1/ranges/tsh",
        Some(&p.api_key),
        Some(json!({"unit": "mIU/L", "sex": "female", "optimal": {"low": 1.0, "high": 2.2}})),
    )
    .await;
    call(
        app,
        Method::PUT,
        "/v1/markers/omega3_index",
        Some(&p.api_key),
        Some(json!({"name": "Omega-3 index", "unit": "%", "optimal": {"low": 8.0}})),
    )
    .await;
    call(app, Method::PUT, "/v1/symptoms", Some(&p.api_key), Some(json!({"offered": ["fatigue", "tinnitus"], "custom": [{"id": "tinnitus", "name": "Ringing ears", "systems": ["neuro"]}]}))).await;
    call(
        app,
        Method::PATCH,
        "/v1/practitioner",
        Some(&p.api_key),
        Some(json!({"branding": {"primary_color": "#123456"}, "consent_text": "Exported consent, version two."})),
    )
    .await;
    (p, crm)
}

#[tokio::test]
async fn an_export_imports_on_another_instance_with_fresh_secrets() {
    let source = spawn_app().await;
    let (p, _crm) = setup_for_export(&source).await;
    let res = call(
        &source,
        Method::GET,
        "/v1/practitioner/export",
        Some(&p.api_key),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.expect("json");
    assert_eq!(doc["format"], "gaprelay.export.v1");
    let text = doc.to_string();
    assert!(
        !text.contains("sealed") && !text.contains("whsec_") && !text.contains(&p.api_key[4..]),
        "no secrets in an export"
    );
    assert_eq!(doc["api_keys"].as_array().expect("keys").len(), 1);

    let target = spawn_app().await;
    let res = call(
        &target,
        Method::POST,
        "/v1/practitioner/import",
        Some(&p.api_key),
        Some(doc.clone()),
    )
    .await;
    assert_eq!(res.status(), 401, "import is the operator's");
    let res = call(
        &target,
        Method::POST,
        "/v1/practitioner/import",
        Some(ADMIN_TOKEN),
        Some(doc.clone()),
    )
    .await;
    assert_eq!(res.status(), 201);
    let imported: Value = res.json().await.expect("json");
    let key = imported["api_key"]
        .as_str()
        .expect("new owner key")
        .to_owned();
    assert_eq!(imported["practitioner"]["id"], p.id.as_str());
    assert!(imported["endpoints"][0]["secret"]
        .as_str()
        .expect("fresh secret")
        .starts_with("whsec_"));

    let again: Value = call(
        &target,
        Method::GET,
        "/v1/practitioner/export",
        Some(&key),
        None,
    )
    .await
    .json()
    .await
    .expect("json");
    let versions: Vec<u64> = doc["consent_versions"]
        .as_array()
        .expect("consent versions")
        .iter()
        .map(|v| v["version"].as_u64().expect("version"))
        .collect();
    assert_eq!(versions, [2, 1], "every consent wording is exported");
    assert_eq!(
        doc["consent_versions"][0]["text"],
        "Exported consent, version two."
    );
    for part in [
        "practitioner",
        "ranges",
        "custom_markers",
        "endpoints",
        "consent_versions",
    ] {
        let (mut a, mut b) = (doc[part].clone(), again[part].clone());
        if part == "practitioner" {
            for v in [&mut a, &mut b] {
                v.as_object_mut().expect("object").remove("version");
            }
        }
        assert_eq!(a, b, "{part} survives the round trip");
    }
    // The source's audit log stays in the document: the practice's log here starts
    // with the import, by the operator.
    let actions: Vec<(&str, &str)> = again["audit_log"]
        .as_array()
        .expect("log")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().expect("action"),
                e["actor"].as_str().expect("actor"),
            )
        })
        .collect();
    assert_eq!(
        actions.last(),
        Some(&("practitioner.imported", "operator")),
        "{actions:?}"
    );
    assert_eq!(actions.len(), 2, "imported, then exported: {actions:?}");
    let res = call(
        &target,
        Method::POST,
        "/v1/practitioner/import",
        Some(ADMIN_TOKEN),
        Some(doc),
    )
    .await;
    assert_eq!(error_code(res).await.0, 409, "importing twice");
}

/// A change that spoils a valid export document.
type Spoil = Box<dyn Fn(&mut Value)>;

/// A valid export document of a practice set up on an instance of its own.
async fn exported_document() -> Value {
    let source = spawn_app().await;
    let (p, _crm) = setup_for_export(&source).await;
    let res = call(
        &source,
        Method::GET,
        "/v1/practitioner/export",
        Some(&p.api_key),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    res.json().await.expect("json")
}

#[tokio::test]
async fn an_import_is_validated_as_the_routes_that_set_each_part_and_stores_nothing_bad() {
    let doc = exported_document().await;
    let target = spawn_app().await;
    let js = "javascript:alert(document.domain)";
    let cases: Vec<(&str, Spoil)> = vec![
        (
            "practitioner.settings.allowed_origins[0]",
            Box::new(|d| d["practitioner"]["settings"]["allowed_origins"] = json!(["null"])),
        ),
        (
            "practitioner.settings.allowed_origins[0]",
            Box::new(|d| d["practitioner"]["settings"]["allowed_origins"] = json!(["*"])),
        ),
        (
            "practitioner.settings.branding.logo_url",
            Box::new(move |d| d["practitioner"]["settings"]["branding"]["logo_url"] = json!(js)),
        ),
        (
            "practitioner.settings.call_to_action.url",
            Box::new(move |d| {
                d["practitioner"]["settings"]["call_to_action"] =
                    json!({"label": "Book", "url": js})
            }),
        ),
        (
            "practitioner.practice_name",
            Box::new(|d| d["practitioner"]["practice_name"] = json!("x".repeat(5000))),
        ),
        (
            "practitioner.doctor_name",
            Box::new(|d| d["practitioner"]["doctor_name"] = json!("x".repeat(5000))),
        ),
        (
            "custom_markers[0].id",
            Box::new(|d| d["custom_markers"][0]["id"] = json!("Bad Id/../x")),
        ),
        (
            "ranges[0].optimal",
            Box::new(|d| d["ranges"][0]["optimal"] = json!({"low": 1.0, "high": 9000.0})),
        ),
        (
            "practitioner.settings.symptoms.offered[0]",
            Box::new(|d| {
                d["practitioner"]["settings"]["symptoms"]["offered"] = json!(["no_such_symptom"])
            }),
        ),
    ];
    for (field, spoil) in cases {
        let mut bad = doc.clone();
        spoil(&mut bad);
        let res = call(
            &target,
            Method::POST,
            "/v1/practitioner/import",
            Some(ADMIN_TOKEN),
            Some(bad),
        )
        .await;
        let (status, body) = error_code(res).await;
        assert_eq!(status, 422, "{field}: {body}");
        assert_eq!(problem_fields(&body), [field], "{body}");
        let listed = target
            .get_json("/v1/practitioners", Some(ADMIN_TOKEN))
            .await;
        assert_eq!(listed["data"], json!([]), "{field}: nothing is stored");
    }
    // The untouched document imports.
    let res = call(
        &target,
        Method::POST,
        "/v1/practitioner/import",
        Some(ADMIN_TOKEN),
        Some(doc),
    )
    .await;
    assert_eq!(res.status(), 201);
}

#[tokio::test]
async fn forged_audit_entries_in_an_import_never_become_the_practices_own() {
    let mut doc = exported_document().await;
    let forged = json!({"at": "2020-01-01T00:00:00Z", "actor": "operator",
                        "action": "practitioner.reinstated", "target": "forged-entry",
                        "outcome": "success"});
    doc["audit_log"]
        .as_array_mut()
        .expect("log")
        .insert(0, forged);
    let target = spawn_app().await;
    let res = call(
        &target,
        Method::POST,
        "/v1/practitioner/import",
        Some(ADMIN_TOKEN),
        Some(doc),
    )
    .await;
    assert_eq!(res.status(), 201);
    let imported: Value = res.json().await.expect("json");
    let key = imported["api_key"].as_str().expect("key");
    let log = target.get_json("/v1/audit-log", Some(key)).await;
    let entries = log["data"].as_array().expect("data");
    assert!(
        !log.to_string().contains("forged-entry"),
        "a forged entry was stored: {log}"
    );
    assert_eq!(entries.len(), 1, "{log}");
    assert_eq!(entries[0]["action"], "practitioner.imported");
    assert_eq!(entries[0]["actor"], "operator");
}

#[tokio::test]
async fn deletion_is_scheduled_cancellable_and_then_erases_every_trace_but_the_audit_entry() {
    let app = spawn_app().await;
    let (p, _) = setup_for_export(&app).await;
    let res = call(
        &app,
        Method::DELETE,
        "/v1/practitioner",
        Some(&p.api_key),
        None,
    )
    .await;
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.expect("json");
    assert!(body["erase_at"].is_string());
    let (status, _) = error_code(app.post_intake(&p.slug, &canary_intake()).await).await;
    assert_eq!(status, 409, "no submissions while deletion is pending");
    assert_eq!(
        call(
            &app,
            Method::POST,
            "/v1/practitioner/restore",
            Some(&p.api_key),
            None
        )
        .await
        .status(),
        200
    );
    // The export fixture's form offers only fatigue and its own tinnitus.
    let mut intake = canary_intake();
    intake["symptoms"] = json!(["tinnitus"]);
    assert_eq!(app.post_intake(&p.slug, &intake).await.status(), 202);
    app.deliver_pending().await;

    call(
        &app,
        Method::DELETE,
        "/v1/practitioner",
        Some(&p.api_key),
        None,
    )
    .await;
    app.advance(Duration::from_secs(29 * 24 * 3600));
    assert_eq!(app.services.run_due_erasures().await.expect("erasures"), 0);
    app.advance(Duration::from_secs(24 * 3600 + 1));
    assert_eq!(app.services.run_due_erasures().await.expect("erasures"), 1);

    assert_eq!(
        call(
            &app,
            Method::GET,
            "/v1/practitioner",
            Some(&p.api_key),
            None
        )
        .await
        .status(),
        401
    );
    assert_eq!(app.get("/v1/forms/exported", None).await.status(), 404);
    let mut redis = app.redis.as_ref().expect("redis").client().await;
    let keys: Vec<String> = ::redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut redis)
        .await
        .expect("keys");
    let leftovers: Vec<&String> = keys
        .iter()
        .filter(|k| k.contains(&p.id) || k.contains("exported"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let ops: Value = call(
        &app,
        Method::GET,
        "/v1/operator/audit-log",
        Some(ADMIN_TOKEN),
        None,
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(ops["data"][0]["action"], "practitioner.erased");
    assert_eq!(ops["data"][0]["target"], p.id.as_str());
    // The slug can be taken again.
    app.create_practitioner("exported").await;
}

#[tokio::test]
async fn the_operator_lists_and_suspends_practitioners() {
    let app = spawn_app().await;
    let a = app.create_practitioner("op-list-a").await;
    app.advance(Duration::from_secs(1));
    app.create_practitioner("op-list-b").await;
    let page: Value = call(
        &app,
        Method::GET,
        "/v1/practitioners?limit=1",
        Some(ADMIN_TOKEN),
        None,
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(page["data"][0]["slug"], "op-list-a");
    let cursor = page["next_cursor"].as_str().expect("cursor").to_owned();
    let next: Value = call(
        &app,
        Method::GET,
        &format!("/v1/practitioners?limit=1&cursor={cursor}"),
        Some(ADMIN_TOKEN),
        None,
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(next["data"][0]["slug"], "op-list-b");
    assert!(next["next_cursor"].is_null());
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/v1/practitioners",
            Some(&a.api_key),
            None
        )
        .await
        .status(),
        401
    );

    let res = call(
        &app,
        Method::POST,
        &format!("/v1/practitioners/{}/suspend", a.id),
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    let (status, body) = error_code(
        call(
            &app,
            Method::GET,
            "/v1/practitioner",
            Some(&a.api_key),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("account_suspended"))
    );
    assert_eq!(
        error_code(app.post_intake(&a.slug, &canary_intake()).await)
            .await
            .0,
        409
    );
    call(
        &app,
        Method::POST,
        &format!("/v1/practitioners/{}/reinstate", a.id),
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/v1/practitioner",
            Some(&a.api_key),
            None
        )
        .await
        .status(),
        200
    );
}

/// Every practitioner route, with a request that exercises it: `routes` plus the
/// destructive ones, last. `ep` and `key_id` name the victim's endpoint and key.
fn every_practitioner_route(ep: &str, key_id: &str) -> Vec<(Method, String, Option<Value>)> {
    let mut all: Vec<(Method, String, Option<Value>)> = routes(ep)
        .into_iter()
        .map(|(m, p, b, _)| (m, p, b))
        .collect();
    all.extend([
        (Method::GET, "/v1/deliveries".into(), None),
        (Method::DELETE, format!("/v1/endpoints/{ep}"), None),
        (Method::DELETE, format!("/v1/api-keys/{key_id}"), None),
        (Method::DELETE, "/v1/practitioner".into(), None),
        (Method::POST, "/v1/practitioner/restore".into(), None),
    ]);
    all
}

/// The route template a walked path stands for.
fn template(path: &str, ep: &str, key_id: &str) -> String {
    path.replace(ep, "{id}")
        .replace(key_id, "{id}")
        .replace("/v1/ranges/tsh", "/v1/ranges/{marker}")
        .replace("/v1/markers/omega3_index", "/v1/markers/{id}")
        .replace("/consent-versions/1", "/consent-versions/{version}")
}

/// What a practitioner has, as its owner sees it.
async fn snapshot(app: &TestApp, key: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for path in [
        "/v1/practitioner",
        "/v1/endpoints",
        "/v1/api-keys",
        "/v1/markers",
        "/v1/symptoms",
    ] {
        let res = call(app, Method::GET, path, Some(key), None).await;
        assert_eq!(res.status(), 200, "{path}");
        out.push(res.json().await.expect("json"));
    }
    out
}

#[tokio::test]
async fn another_practitioners_owner_key_walking_every_route_leaves_this_practice_untouched() {
    let app = spawn_app().await;
    let a = app.create_practitioner("walk-victim").await;
    let ep = app
        .create_endpoint(&a.api_key, "http://127.0.0.1:9/victim", "jwe")
        .await;
    let (a_key_id, _) = new_key(&app, &a.api_key, "editor").await;
    call(
        &app,
        Method::PUT,
        "/v1/ranges/tsh",
        Some(&a.api_key),
        Some(json!({"unit": "mIU/L", "optimal": {"low": 0.9, "high": 1.9}})),
    )
    .await;
    let before = snapshot(&app, &a.api_key).await;

    // The walk covers every practitioner route of the API document.
    let doc: Value = app.get_json("/openapi.json", None).await;
    let mut documented: Vec<String> = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            // Practitioner routes are the ones a practitioner's API key opens.
            let by_api_key = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("api_key").is_some()));
            if by_api_key {
                documented.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let walk = every_practitioner_route(&ep.id, &a_key_id);
    let mut walked: Vec<String> = walk
        .iter()
        .map(|(m, p, _)| format!("{m} {}", template(p, &ep.id, &a_key_id)))
        .collect();
    documented.sort();
    walked.sort();
    walked.dedup();
    assert_eq!(
        walked, documented,
        "a practitioner route is missing from the walk"
    );

    // Another practice's owner walks them all, aimed at this practice's resources.
    let b = app.create_practitioner("walk-intruder").await;
    for (method, path, body) in &walk {
        let res = call(&app, method.clone(), path, Some(&b.api_key), body.clone()).await;
        let status = res.status().as_u16();
        assert!(
            status != 401 && status < 500,
            "{method} {path} with another practice's key: {status}"
        );
    }
    assert_eq!(
        snapshot(&app, &a.api_key).await,
        before,
        "another practice's key changed this practice's data"
    );
    // Nothing the intruder did is in this practice's audit log.
    let log: Value = call(
        &app,
        Method::GET,
        "/v1/audit-log?limit=200",
        Some(&a.api_key),
        None,
    )
    .await
    .json()
    .await
    .expect("json");
    let b_keys: Value = call(&app, Method::GET, "/v1/api-keys", Some(&b.api_key), None)
        .await
        .json()
        .await
        .expect("json");
    for k in b_keys["data"].as_array().expect("keys") {
        let id = k["id"].as_str().expect("id");
        assert!(
            !log.to_string().contains(id),
            "the intruder's key {id} is in the victim's log"
        );
    }
}

/// PATCHes the practitioner; the status and the body.
async fn patch_settings(app: &TestApp, key: &str, body: Value) -> (u16, Value) {
    let res = call(
        app,
        Method::PATCH,
        "/v1/practitioner",
        Some(key),
        Some(body),
    )
    .await;
    let status = res.status().as_u16();
    (status, res.json().await.expect("json"))
}

fn problem_fields(body: &Value) -> Vec<&str> {
    body["error"]["details"]
        .as_array()
        .map(|d| d.iter().filter_map(|p| p["field"].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_form_settings_are_validated_field_by_field_then_shown_and_audited() {
    let app = spawn_app().await;
    let p = app.create_practitioner("form-settings").await;
    call(
        &app,
        Method::PUT,
        "/v1/markers/omega3_index",
        Some(&p.api_key),
        Some(json!({"name": "Omega-3 index", "unit": "%", "optimal": {"low": 8.0}})),
    )
    .await;
    let before: Value = app.get_json("/v1/practitioner", Some(&p.api_key)).await;
    assert_eq!(before["form_markers"], Value::Null);
    assert_eq!(before["marker_notes"], json!({}));
    assert!(before["disclaimer"]
        .as_str()
        .expect("default disclaimer")
        .contains("not a diagnosis"));

    let (status, body) = patch_settings(
        &app,
        &p.api_key,
        json!({"form_markers": ["tsh", "ferritin", "3016-3", "unobtainium"],
               "marker_notes": {"tsh": "x".repeat(141), "ferritin": "Stored iron.", "bogus": "n"},
               "disclaimer": ""}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_eq!(
        problem_fields(&body),
        [
            "form_markers[2]",
            "form_markers[3]",
            "marker_notes.bogus",
            "marker_notes.tsh",
            "disclaimer"
        ]
    );
    assert_eq!(
        app.get_json("/v1/practitioner", Some(&p.api_key)).await,
        before,
        "a refused patch changes nothing"
    );

    let (status, body) = patch_settings(
        &app,
        &p.api_key,
        json!({"form_markers": ["3016-3", "ferritin", "omega3_index"],
               "marker_notes": {"2276-4": "How much iron you keep in store."},
               "disclaimer": "Information only; we will talk it through with you."}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["form_markers"],
        json!(["tsh", "ferritin", "omega3_index"])
    );
    assert_eq!(
        body["marker_notes"],
        json!({"ferritin": "How much iron you keep in store."})
    );
    assert_eq!(
        body["disclaimer"],
        "Information only; we will talk it through with you."
    );
    let log: Value = app
        .get_json("/v1/audit-log?limit=1", Some(&p.api_key))
        .await;
    assert_eq!(log["data"][0]["action"], "practitioner.updated");
    assert_eq!(
        log["data"][0]["details"],
        json!(["form_markers", "marker_notes", "disclaimer"])
    );

    let (status, body) = patch_settings(
        &app,
        &p.api_key,
        json!({"form_markers": null, "marker_notes": {}, "disclaimer": null}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["form_markers"], before["form_markers"]);
    assert_eq!(body["marker_notes"], before["marker_notes"]);
    assert_eq!(
        body["disclaimer"], before["disclaimer"],
        "defaults restored"
    );
}

#[tokio::test]
async fn a_brand_colour_too_light_for_white_text_is_refused_with_a_darker_suggestion() {
    let app = spawn_app().await;
    let p = app.create_practitioner("pale-brand").await;
    let (status, body) = patch_settings(
        &app,
        &p.api_key,
        json!({"branding": {"primary_color": "#8fe3c0", "secondary_color": "#2d4a6b"}}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(problem_fields(&body), ["branding.primary_color"]);
    let problem = body["error"]["details"][0]["problem"]
        .as_str()
        .expect("problem");
    assert!(
        problem.starts_with("is too light to read white text on (contrast 1.")
            && problem.contains("needs 4.5:1"),
        "{problem}"
    );
    let suggestion = problem.rsplit(' ').next().expect("a colour").to_owned();
    assert!(
        suggestion.starts_with('#') && suggestion.len() == 7,
        "{problem}"
    );
    let (status, body) = patch_settings(
        &app,
        &p.api_key,
        json!({"branding": {"primary_color": suggestion, "secondary_color": "#2d4a6b"}}),
    )
    .await;
    assert_eq!(status, 200, "the suggested shade is accepted: {body}");
    assert_eq!(body["branding"]["primary_color"], suggestion.as_str());
}

#[tokio::test]
async fn a_custom_marker_explains_itself_in_one_short_line() {
    let app = spawn_app().await;
    let p = app.create_practitioner("own-about").await;
    let put = |about: Value| {
        call(
            &app,
            Method::PUT,
            "/v1/markers/omega3_index",
            Some(&p.api_key),
            Some(
                json!({"name": "Omega-3 index", "unit": "%", "optimal": {"low": 8.0}, "about": about}),
            ),
        )
    };
    let (status, body) = error_code(put(json!("x".repeat(141))).await).await;
    assert_eq!((status, problem_fields(&body)), (422, vec!["about"]));
    assert!(put(json!("Omega-3 fats in your red blood cells."))
        .await
        .status()
        .is_success());
    let markers: Value = app.get_json("/v1/markers", Some(&p.api_key)).await;
    let list = markers["data"].as_array().expect("markers");
    let own = list
        .iter()
        .find(|m| m["id"] == "omega3_index")
        .expect("own marker");
    assert_eq!(own["about"], "Omega-3 fats in your red blood cells.");
    let tsh = list.iter().find(|m| m["id"] == "tsh").expect("tsh");
    assert!(!tsh["about"].as_str().expect("catalog line").is_empty());
}

#[tokio::test]
async fn every_consent_wording_is_kept_with_its_hash_and_the_webhook_names_one_of_them() {
    let app = spawn_app().await;
    let (p, ep, crm) = app.practitioner_with_crm("consent-proof", "jwe").await;
    let first: Value = app.get_json("/v1/practitioner", Some(&p.api_key)).await;
    let texts = [
        first["consent_text"]
            .as_str()
            .expect("default text")
            .to_owned(),
        "I agree that Consent Proof Clinic may contact me.".to_owned(),
        "I agree that Consent Proof Clinic may contact me about my results.".to_owned(),
    ];
    for text in &texts[1..] {
        app.advance(Duration::from_secs(60));
        let (status, body) =
            patch_settings(&app, &p.api_key, json!({ "consent_text": text })).await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, viewer) = new_key(&app, &p.api_key, "viewer").await;
    let list: Value = app
        .get_json("/v1/practitioner/consent-versions", Some(&viewer))
        .await;
    let data = list["data"].as_array().expect("data");
    let versions: Vec<u64> = data
        .iter()
        .map(|v| v["version"].as_u64().expect("version"))
        .collect();
    assert_eq!(versions, [3, 2, 1], "newest first, the first wording too");
    for v in data {
        let text = &texts[v["version"].as_u64().expect("v") as usize - 1];
        assert_eq!(v["text"], text.as_str());
        let hash = gaprelay::domain::practitioner::consent_text_sha256(text);
        assert_eq!(v["sha256"], hash.as_str());
        assert!(v["created_at"].is_string());
    }
    assert_eq!(
        data[2]["created_at"], first["created_at"],
        "version 1 dates from creation"
    );
    assert_ne!(data[0]["created_at"], data[1]["created_at"]);
    assert_eq!(list["next_cursor"], Value::Null);

    // Paged like every list.
    let page: Value = app
        .get_json(
            "/v1/practitioner/consent-versions?limit=2",
            Some(&p.api_key),
        )
        .await;
    assert_eq!(page["data"].as_array().expect("data").len(), 2);
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let rest: Value = app
        .get_json(
            &format!("/v1/practitioner/consent-versions?limit=2&cursor={cursor}"),
            Some(&p.api_key),
        )
        .await;
    assert_eq!(rest["data"][0]["version"], 1);
    assert_eq!(rest["next_cursor"], Value::Null);

    let one: Value = app
        .get_json("/v1/practitioner/consent-versions/2", Some(&viewer))
        .await;
    assert_eq!(one, data[1]);
    for missing in ["4", "0", "two"] {
        let res = app
            .get(
                &format!("/v1/practitioner/consent-versions/{missing}"),
                Some(&viewer),
            )
            .await;
        assert_eq!(error_code(res).await.0, 404, "{missing}");
    }

    // The webhook names the version agreed to and the hash of its exact text.
    assert_eq!(
        app.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );
    app.deliver_pending().await;
    let body = crm.requests()[0].json();
    let sealed: FlattenedJwe = serde_json::from_value(body["data"].clone()).expect("JWE");
    let key = ContentKey::from_jwk(&ep.jwk).expect("jwk");
    let event: Value =
        serde_json::from_slice(&jwe::decrypt(&key, &sealed).expect("decrypts")).expect("json");
    let consent = &event["consent"];
    assert_eq!(consent["given"], true);
    let listed = data
        .iter()
        .find(|v| v["version"] == consent["version"])
        .expect("the webhook's version is listed");
    assert_eq!(consent["version"], 3);
    assert_eq!(consent["text_sha256"], listed["sha256"]);
}

/// A change and the audit entry it leaves: method, route as documented, path, body, by
/// whom, the entry's action.
type AuditedRoute = (
    Method,
    &'static str,
    String,
    Option<Value>,
    By,
    &'static str,
);

/// Who makes a change in the table below.
#[derive(Clone, Copy, Debug)]
enum By {
    Owner,
    Operator,
}

#[tokio::test]
async fn every_mutating_route_leaves_an_audit_entry_naming_what_it_did() {
    let app = spawn_app().await;
    let p = app.create_practitioner("audit-every").await;
    let ep = app
        .create_endpoint(&p.api_key, "http://127.0.0.1:9/hook", "jwe")
        .await;
    let (spare, _) = new_key(&app, &p.api_key, "viewer").await;
    let doc = exported_document().await;
    let range = json!({"unit": "mIU/L", "optimal": {"low": 1.0, "high": 2.0}});
    let marker = json!({"name": "Omega-3", "unit": "%", "optimal": {"low": 8.0}});
    let operator_created = json!({"practice_name": "Audited Too", "doctor_name": "Dr. A",
        "email": "a@example.com", "website_url": "https://a.example.com", "slug": "audited-too"});
    // (method, route as documented, path, body, by whom, the audit entry's action);
    // the suspension comes last, as the owner's key stops working with it.
    #[rustfmt::skip]
    let table: Vec<AuditedRoute> = vec![
        (Method::PATCH, "/v1/practitioner", "/v1/practitioner".into(), Some(json!({"doctor_name": "Dr. Audit"})), By::Owner, "practitioner.updated"),
        (Method::PUT, "/v1/ranges/{marker}", "/v1/ranges/tsh".into(), Some(range), By::Owner, "range.set"),
        (Method::DELETE, "/v1/ranges/{marker}", "/v1/ranges/tsh".into(), None, By::Owner, "range.reset"),
        (Method::PUT, "/v1/markers/{id}", "/v1/markers/omega3_index".into(), Some(marker), By::Owner, "marker.set"),
        (Method::DELETE, "/v1/markers/{id}", "/v1/markers/omega3_index".into(), None, By::Owner, "marker.deleted"),
        (Method::PUT, "/v1/symptoms", "/v1/symptoms".into(), Some(json!({"offered": ["fatigue"]})), By::Owner, "symptoms.set"),
        (Method::POST, "/v1/endpoints", "/v1/endpoints".into(), Some(json!({"url": "http://127.0.0.1:9/x"})), By::Owner, "endpoint.created"),
        (Method::PATCH, "/v1/endpoints/{id}", format!("/v1/endpoints/{}", ep.id), Some(json!({"description": "changed"})), By::Owner, "endpoint.updated"),
        (Method::POST, "/v1/endpoints/{id}/rotate", format!("/v1/endpoints/{}/rotate", ep.id), None, By::Owner, "endpoint.rotated"),
        (Method::POST, "/v1/endpoints/{id}/test", format!("/v1/endpoints/{}/test", ep.id), None, By::Owner, "endpoint.tested"),
        (Method::POST, "/v1/endpoints/{id}/retry", format!("/v1/endpoints/{}/retry", ep.id), None, By::Owner, "endpoint.retried"),
        (Method::DELETE, "/v1/endpoints/{id}", format!("/v1/endpoints/{}", ep.id), None, By::Owner, "endpoint.deleted"),
        (Method::POST, "/v1/api-keys", "/v1/api-keys".into(), Some(json!({"role": "viewer"})), By::Owner, "api_key.created"),
        (Method::DELETE, "/v1/api-keys/{id}", format!("/v1/api-keys/{spare}"), None, By::Owner, "api_key.revoked"),
        (Method::DELETE, "/v1/practitioner", "/v1/practitioner".into(), None, By::Owner, "practitioner.deletion_scheduled"),
        (Method::POST, "/v1/practitioner/restore", "/v1/practitioner/restore".into(), None, By::Owner, "practitioner.deletion_cancelled"),
        (Method::POST, "/v1/practitioners", "/v1/practitioners".into(), Some(operator_created), By::Operator, "practitioner.created"),
        (Method::POST, "/v1/practitioner/import", "/v1/practitioner/import".into(), Some(doc), By::Operator, "practitioner.imported"),
        (Method::POST, "/v1/practitioners/{id}/reinstate", format!("/v1/practitioners/{}/reinstate", p.id), None, By::Operator, "practitioner.reinstated"),
        (Method::POST, "/v1/practitioners/{id}/suspend", format!("/v1/practitioners/{}/suspend", p.id), None, By::Operator, "practitioner.suspended"),
    ];
    for (method, route, path, body, by, action) in &table {
        let key = match by {
            By::Owner => p.api_key.as_str(),
            By::Operator => ADMIN_TOKEN,
        };
        let res = call(&app, method.clone(), path, Some(key), body.clone()).await;
        assert!(
            res.status().is_success(),
            "{method} {route}: {}",
            res.status()
        );
        let log = match by {
            By::Owner => "/v1/audit-log?limit=1",
            By::Operator => "/v1/operator/audit-log?limit=1",
        };
        let newest = &app.get_json(log, Some(key)).await["data"][0];
        assert_eq!(newest["action"], *action, "{method} {route}: {newest}");
        assert_eq!(newest["outcome"], "success", "{method} {route}");
    }

    // Every route that changes something is in the table (the patient's submission
    // is the practice's data, not a change to the account).
    let documented = app.get_json("/openapi.json", None).await;
    let in_table: Vec<(String, &str)> = table
        .iter()
        .map(|(m, route, ..)| (m.as_str().to_owned(), *route))
        .collect();
    for (route, item) in documented["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("operations").keys() {
            let method = method.to_ascii_uppercase();
            if !["POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str())
                || route == "/v1/intake/{slug}"
            {
                continue;
            }
            assert!(
                in_table.contains(&(method.clone(), route.as_str())),
                "{method} {route} changes something: add it to this table"
            );
        }
    }
}

#[tokio::test]
async fn a_deleted_endpoint_is_audited_and_the_next_submission_is_not_queued_for_it() {
    let app = spawn_app().await;
    let p = app.create_practitioner("ep-deleted").await;
    let gone = app
        .create_endpoint(&p.api_key, "http://127.0.0.1:9/gone", "jwe")
        .await;
    let kept = app
        .create_endpoint(&p.api_key, "http://127.0.0.1:9/kept", "jwe")
        .await;
    // The first submission loads the form's configuration into the cache.
    assert_eq!(
        app.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );
    let res = call(
        &app,
        Method::DELETE,
        &format!("/v1/endpoints/{}", gone.id),
        Some(&p.api_key),
        None,
    )
    .await;
    assert_eq!(res.status(), 204);
    let newest = &app
        .get_json("/v1/audit-log?limit=1", Some(&p.api_key))
        .await["data"][0];
    assert_eq!(
        (&newest["action"], &newest["target"]),
        (&json!("endpoint.deleted"), &json!(gone.id))
    );

    assert_eq!(
        app.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );
    let log = app
        .get_json("/v1/deliveries?limit=100", Some(&p.api_key))
        .await;
    let to = |id: &str| {
        log["data"]
            .as_array()
            .expect("data")
            .iter()
            .filter(|d| d["endpoint_id"] == id)
            .count()
    };
    assert_eq!(
        (to(&gone.id), to(&kept.id)),
        (1, 2),
        "after its deletion nothing is queued for an endpoint: {log}"
    );
}

#[tokio::test]
async fn an_endpoint_change_reports_every_bad_field_at_once() {
    let app = spawn_app().await;
    let p = app.create_practitioner("ep-problems").await;
    let ep = app
        .create_endpoint(&p.api_key, "http://127.0.0.1:9/hook", "jwe")
        .await;
    let res = call(
        &app,
        Method::PATCH,
        &format!("/v1/endpoints/{}", ep.id),
        Some(&p.api_key),
        Some(json!({"url": "ftp://crm.example.com/hook", "description": "x".repeat(501)})),
    )
    .await;
    let (status, body) = error_code(res).await;
    assert_eq!(status, 422);
    assert_eq!(problem_fields(&body), ["url", "description"], "{body}");
}
