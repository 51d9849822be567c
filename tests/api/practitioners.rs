//! Operator route and API-key authentication.

use crate::helpers::{error_code, spawn_app, ADMIN_TOKEN};
use serde_json::json;

fn new_practitioner(slug: &str) -> serde_json::Value {
    json!({"practice_name": "Vital Clinic", "doctor_name": "Dr. V", "email": "v@example.com",
           "website_url": "https://vital.example.com/intake", "slug": slug})
}

#[tokio::test]
async fn the_operator_creates_a_practitioner_and_gets_an_owner_key_once() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/v1/practitioners"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&new_practitioner("vital"))
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 201);
    let body: serde_json::Value = res.json().await.expect("json");
    assert!(body["practitioner"]["id"]
        .as_str()
        .expect("id")
        .starts_with("prac_"));
    assert_eq!(body["practitioner"]["slug"], "vital");
    assert_eq!(
        body["practitioner"]["allowed_origins"],
        json!(["https://vital.example.com"])
    );
    let key = body["api_key"].as_str().expect("key").to_owned();
    assert!(key.starts_with("grk_"));

    // The key works, and is stored only as a hash.
    let me = app.get("/v1/practitioner", Some(&key)).await;
    assert_eq!(me.status(), 200);
    let mut redis = app.redis.as_ref().expect("redis").client().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut redis)
        .await
        .expect("keys");
    for k in &keys {
        assert!(!k.contains(&key));
        let dump: Option<Vec<u8>> = redis::cmd("DUMP")
            .arg(k)
            .query_async(&mut redis)
            .await
            .expect("dump");
        assert!(
            !String::from_utf8_lossy(&dump.unwrap_or_default()).contains(&key[4..]),
            "key {k} holds the API key"
        );
    }
}

#[tokio::test]
async fn a_slug_that_is_taken_is_a_409_and_a_bad_body_a_422() {
    let app = spawn_app().await;
    app.create_practitioner("taken").await;
    let res = app
        .client
        .post(app.url("/v1/practitioners"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&new_practitioner("taken"))
        .send()
        .await
        .expect("req");
    let (status, body) = error_code(res).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("conflict"))
    );

    let mut bad = new_practitioner("Bad Slug");
    bad["email"] = json!("not-an-email");
    let res = app
        .client
        .post(app.url("/v1/practitioners"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&bad)
        .send()
        .await
        .expect("req");
    let (status, body) = error_code(res).await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .expect("d")
        .iter()
        .map(|d| d["field"].as_str().expect("f"))
        .collect();
    assert_eq!(fields, ["email", "slug"]);
}

#[tokio::test]
async fn operator_routes_refuse_missing_or_wrong_tokens_and_practitioner_keys() {
    let app = spawn_app().await;
    let p = app.create_practitioner("op-auth").await;
    for token in [
        None,
        Some("wrong-token-wrong-token"),
        Some(p.api_key.as_str()),
    ] {
        let mut req = app
            .client
            .post(app.url("/v1/practitioners"))
            .json(&new_practitioner("nope"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("req");
        assert!(res.headers().contains_key("www-authenticate"));
        let (status, body) = error_code(res).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("unauthorized"))
        );
    }
}

#[tokio::test]
async fn practitioner_routes_refuse_missing_malformed_and_unknown_keys() {
    let app = spawn_app().await;
    for key in [
        None,
        Some("garbage"),
        Some("grk_0000000000000000000000000000000000000000"),
        Some(ADMIN_TOKEN),
    ] {
        let (status, _) = error_code(app.get("/v1/markers", key).await).await;
        assert_eq!(status, 401, "{key:?}");
    }
}

/// One round of the race below: a hundred settings changes by the practice's key, with
/// the operator's suspension sent in the middle of them. Returns the suspension's
/// status and every change's.
async fn suspend_amid_changes(
    app: &crate::helpers::TestApp,
    p: &crate::helpers::TestPractitioner,
    round: usize,
) -> (u16, Vec<u16>) {
    let mut changes = tokio::task::JoinSet::new();
    let mut suspension = None;
    for i in 0..100 {
        let req = if i % 4 == 3 {
            app.client
                .put(app.url("/v1/symptoms"))
                .json(&json!({"offered": ["fatigue"]}))
        } else {
            app.client
                .patch(app.url("/v1/practitioner"))
                .json(&json!({"disclaimer": format!("Round {round}, change {i}.")}))
        };
        let req = req.bearer_auth(&p.api_key);
        changes.spawn(async move { req.send().await.expect("change").status().as_u16() });
        if i == 50 {
            let req = app
                .client
                .post(app.url(&format!("/v1/practitioners/{}/suspend", p.id)))
                .bearer_auth(ADMIN_TOKEN);
            suspension = Some(tokio::spawn(async move {
                req.send().await.expect("suspend").status().as_u16()
            }));
        }
    }
    let mut statuses = Vec::new();
    while let Some(status) = changes.join_next().await {
        statuses.push(status.expect("task"));
    }
    let suspended = suspension.expect("sent").await.expect("task");
    (suspended, statuses)
}

#[tokio::test]
async fn concurrent_settings_changes_never_undo_the_operators_suspension() {
    let app = spawn_app().await;
    let p = app.create_practitioner("race-suspend").await;
    for round in 0..20 {
        let res = app
            .client
            .post(app.url(&format!("/v1/practitioners/{}/reinstate", p.id)))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("reinstate");
        assert_eq!(res.status(), 200);
        let (suspended, statuses) = suspend_amid_changes(&app, &p, round).await;
        assert_eq!(suspended, 200, "round {round}");
        // A change lands (200), is refused because the account is suspended (403) or,
        // when it kept losing the race, asks to be sent again (409); none may quietly
        // undo the suspension.
        assert!(
            statuses.iter().all(|s| [200, 403, 409].contains(s)),
            "round {round}: {statuses:?}"
        );
        let list = app
            .client
            .get(app.url("/v1/practitioners?limit=100"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("list");
        let list: serde_json::Value = list.json().await.expect("json");
        let me = list["data"]
            .as_array()
            .expect("data")
            .iter()
            .find(|x| x["id"] == p.id.as_str())
            .expect("listed");
        assert_eq!(
            me["status"], "suspended",
            "round {round}: suspension undone"
        );
    }
}
