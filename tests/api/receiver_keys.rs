//! Receiver-held keys (`"encryption": "jwe-receiver"`): `data` is encrypted at intake to
//! the receiver's public keys, so neither a Redis dump nor the master key, nor both,
//! open it; the receiver's private keys do, with our decrypt, Python's jwcrypto and
//! Node's jose. Keys are checked on creation, and every key listed can decrypt.

use crate::helpers::{canary_intake, error_code, spawn_app, TestApp, CANARIES};
use crate::support::{interop_python, FakeCrm, RecordedRequest};
use gaprelay::crypto::jwe_receiver::GeneralJwe;
use gaprelay::delivery::message::open_message;
use gaprelay::domain::ids::EndpointId;
use gaprelay_receiver::DecryptionKey;
use rand::rngs::OsRng;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `program args…` with `input` on stdin; its stdout, or a panic with its stderr.
fn pipe(mut command: Command, input: &Value, what: &str) -> String {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {what}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.to_string().as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// jwcrypto (tests/interop/receiver_jwe.py) with `input`.
fn jwcrypto(input: Value) -> String {
    let mut python = Command::new(interop_python());
    python.arg(crate_dir().join("tests/interop/receiver_jwe.py"));
    pipe(python, &input, "receiver_jwe.py (jwcrypto)")
}

/// tests/interop/jose, with the npm package `make test` installs (`make jose`).
fn jose_dir() -> PathBuf {
    let dir = crate_dir().join("tests/interop/jose");
    assert!(
        dir.join("node_modules/jose").is_dir(),
        "{} has no node_modules/jose; run `make jose`",
        dir.display()
    );
    dir
}

/// Node's jose decrypts `jwe` with the private `jwk`.
fn jose_decrypt(jwk: &Value, jwe: &Value) -> String {
    let dir = jose_dir();
    let mut node = Command::new("node");
    node.arg(dir.join("decrypt.mjs")).current_dir(&dir);
    pipe(
        node,
        &json!({"jwk": jwk, "jwe": jwe}),
        "node decrypt.mjs (jose)",
    )
}

/// A P-256 and an X25519 receiver key.
fn two_keys() -> [DecryptionKey; 2] {
    [
        DecryptionKey::generate_p256("ec-2026", &mut OsRng),
        DecryptionKey::generate_x25519("okp-2026", &mut OsRng),
    ]
}

async fn create_receiver_endpoint(
    app: &TestApp,
    api_key: &str,
    url: &str,
    keys: &[DecryptionKey],
) -> Value {
    let res = app
        .client
        .post(app.url("/v1/endpoints"))
        .bearer_auth(api_key)
        .json(&json!({
            "url": url,
            "encryption": "jwe-receiver",
            "receiver_keys": keys.iter().map(|k| k.public_jwk().expect("a key pair")).collect::<Vec<_>>(),
        }))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 201);
    res.json().await.expect("json")
}

/// Decrypts a delivered webhook's `data` with every key, three ways; each must give
/// the same JSON, which is returned.
fn decrypt_everywhere(request: &RecordedRequest, keys: &[DecryptionKey]) -> Value {
    let body = request.json();
    let jwe: GeneralJwe = serde_json::from_value(body["data"].clone()).expect("a General JWE");
    assert_eq!(jwe.recipients.len(), keys.len());
    let mut seen = Vec::new();
    for key in keys {
        let ours = gaprelay_receiver::decrypt(&body["data"], std::slice::from_ref(key))
            .expect("gaprelay-receiver opens it");
        let py: Value = serde_json::from_str(&jwcrypto(
            json!({"op": "decrypt", "jwk": key.to_jwk(), "jwe": body["data"]}),
        ))
        .expect("jwcrypto's plaintext is JSON");
        let js: Value = serde_json::from_str(&jose_decrypt(&key.to_jwk(), &body["data"]))
            .expect("jose's plaintext is JSON");
        assert_eq!(ours, py, "jwcrypto with {}", key.kid());
        assert_eq!(ours, js, "jose with {}", key.kid());
        seen.push(ours);
    }
    seen.dedup();
    assert_eq!(seen.len(), 1);
    seen.remove(0)
}

#[tokio::test]
async fn a_queued_submission_opens_with_the_receivers_keys_and_not_with_redis_and_the_master_key() {
    let app = spawn_app().await;
    let p = app.create_practitioner("rk-queued").await;
    let crm = FakeCrm::start().await;
    let keys = two_keys();
    let created = create_receiver_endpoint(&app, &p.api_key, &crm.url(), &keys).await;
    assert_eq!(created["encryption"], "jwe-receiver");
    assert_eq!(created["receiver_kids"], json!(["ec-2026", "okp-2026"]));
    assert!(
        created.get("encryption_key").is_none(),
        "no shared key is issued"
    );
    let secret = created["secret"].as_str().expect("secret").to_owned();
    let listed = app.get_json("/v1/endpoints", Some(&p.api_key)).await;
    assert_eq!(
        listed["data"][0]["receiver_kids"],
        json!(["ec-2026", "okp-2026"])
    );

    assert_eq!(
        app.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );

    // Everything Redis holds, opened with the master key where it opens: no canary.
    let mut redis = app.redis.as_ref().expect("redis").client().await;
    let all: Vec<String> = ::redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut redis)
        .await
        .expect("keys");
    let mut opened = 0;
    for key in &all {
        let Some(id) = crate::helpers::message_id_of(key) else {
            continue;
        };
        let (endpoint, sealed): (String, Vec<u8>) = ::redis::cmd("HMGET")
            .arg(key)
            .arg("endpoint")
            .arg("sealed")
            .query_async(&mut redis)
            .await
            .expect("hmget");
        let event = open_message(
            &app.master_key,
            &id,
            &EndpointId::parse(&endpoint).expect("endpoint id"),
            &sealed,
        )
        .expect("the master key opens the queue entry");
        assert!(event.receiver_sealed);
        let text = serde_json::to_string(&event).expect("json");
        for canary in CANARIES {
            assert!(
                !text.contains(canary),
                "the master key reveals {canary} in {key}"
            );
        }
        serde_json::from_str::<GeneralJwe>(event.data.get()).expect("data is a JWE");
        opened += 1;
    }
    assert_eq!(opened, 1, "one queue entry for the one endpoint");

    app.deliver_pending().await;
    let requests = crm.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].is_signed_by(&secret));
    for canary in CANARIES {
        assert!(!requests[0].body_str().contains(canary));
    }
    let data = decrypt_everywhere(&requests[0], &keys);
    let text = data.to_string();
    for canary in ["Canaryname", "zelda.canary", "3.1337", "5.4321", "61.2345"] {
        assert!(text.contains(canary), "{canary} in the decrypted data");
    }
    assert_eq!(requests[0].json()["type"], "intake.submitted");
}

#[tokio::test]
async fn every_listed_key_decrypts_a_test_event_so_keys_can_be_rotated() {
    let app = spawn_app().await;
    let p = app.create_practitioner("rk-rotate").await;
    let crm = FakeCrm::start().await;
    let keys = [
        DecryptionKey::generate_p256("old", &mut OsRng),
        DecryptionKey::generate_p256("new", &mut OsRng),
        DecryptionKey::generate_x25519("next", &mut OsRng),
    ];
    let created = create_receiver_endpoint(&app, &p.api_key, &crm.url(), &keys).await;
    let id = created["id"].as_str().expect("id");
    let res = app
        .client
        .post(app.url(&format!("/v1/endpoints/{id}/test")))
        .bearer_auth(&p.api_key)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 202);
    app.deliver_pending().await;
    let requests = crm.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].json()["type"], "endpoint.test");
    let data = decrypt_everywhere(&requests[0], &keys);
    assert!(data.is_object());
}

#[tokio::test]
async fn a_held_submission_is_encrypted_to_the_receivers_keys_at_hand_over() {
    let app = spawn_app().await;
    let p = app.create_practitioner("rk-held").await;
    assert_eq!(
        app.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );
    let crm = FakeCrm::start().await;
    let keys = two_keys();
    create_receiver_endpoint(&app, &p.api_key, &crm.url(), &keys).await;
    app.deliver_pending().await;
    let requests = crm.requests();
    assert_eq!(requests.len(), 1);
    for canary in CANARIES {
        assert!(!requests[0].body_str().contains(canary));
    }
    let data = decrypt_everywhere(&requests[0], &keys);
    assert!(data.to_string().contains("Canaryname"));
}

#[tokio::test]
async fn gaprelay_receiver_opens_a_jwe_made_by_jwcrypto_for_both_curves() {
    let keys = two_keys();
    let made = jwcrypto(json!({
        "op": "encrypt",
        "jwks": keys.iter().map(|k| k.public_jwk().expect("a key pair")).collect::<Vec<_>>(),
        "plaintext": "{\"hello\":\"receiver\"}",
    }));
    let jwe: Value = serde_json::from_str(&made).expect("jwcrypto's JWE");
    for key in &keys {
        assert_eq!(
            gaprelay_receiver::decrypt(&jwe, std::slice::from_ref(key)).expect("opens"),
            json!({"hello": "receiver"}),
            "{}",
            key.kid()
        );
    }
}

async fn refused(app: &TestApp, api_key: &str, body: Value) -> Vec<String> {
    let res = app
        .client
        .post(app.url("/v1/endpoints"))
        .bearer_auth(api_key)
        .json(&body)
        .send()
        .await
        .expect("request");
    let (status, body) = error_code(res).await;
    assert_eq!(status, 422, "{body}");
    body["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .map(|d| d["field"].as_str().expect("field").to_owned())
        .collect()
}

#[tokio::test]
async fn private_unsupported_or_malformed_receiver_keys_are_refused_each_by_name() {
    let app = spawn_app().await;
    let p = app.create_practitioner("rk-refused").await;
    let [ec, okp] = two_keys();
    let url = "https://crm.example.com/hooks";
    let mut no_kid = okp.public_jwk().expect("a key pair");
    no_kid.as_object_mut().expect("object").remove("kid");
    let mut bad_point = ec.public_jwk().expect("a key pair");
    bad_point["kid"] = json!("bad");
    bad_point["y"] = bad_point["x"].clone();
    let fields = refused(
        &app,
        &p.api_key,
        json!({"url": url, "encryption": "jwe-receiver", "receiver_keys": [
            ec.public_jwk().expect("a key pair"),
            okp.to_jwk(),
            {"kty": "EC", "crv": "P-384", "kid": "p384", "x": "AA", "y": "AA"},
            no_kid,
            bad_point,
            {"kty": "RSA", "kid": "rsa", "n": "AQAB", "e": "AQAB"},
        ]}),
    )
    .await;
    assert_eq!(
        fields,
        [
            "receiver_keys",
            "receiver_keys[1].d",
            "receiver_keys[2].crv",
            "receiver_keys[3].kid",
            "receiver_keys[4].x",
            "receiver_keys[5].kty",
        ]
    );
    assert_eq!(
        refused(
            &app,
            &p.api_key,
            json!({"url": url, "encryption": "jwe-receiver"})
        )
        .await,
        ["receiver_keys"]
    );
    assert_eq!(
        refused(
            &app,
            &p.api_key,
            json!({"url": url, "encryption": "jwe", "receiver_keys": [ec.public_jwk().expect("a key pair")]})
        )
        .await,
        ["receiver_keys"]
    );
    assert_eq!(
        refused(
            &app,
            &p.api_key,
            json!({"url": url, "encryption": "jwe-receiver",
                   "receiver_keys": [ec.public_jwk().expect("a key pair"), ec.public_jwk().expect("a key pair")]})
        )
        .await,
        ["receiver_keys[1].kid"]
    );
    // Nothing was created.
    let listed = app.get_json("/v1/endpoints", Some(&p.api_key)).await;
    assert_eq!(listed["data"], json!([]));
}

/// PATCHes the endpoint's `receiver_keys` with the public halves of `keys`.
async fn patch_keys(
    app: &TestApp,
    api_key: &str,
    endpoint: &str,
    keys: Value,
) -> reqwest::Response {
    app.client
        .patch(app.url(&format!("/v1/endpoints/{endpoint}")))
        .bearer_auth(api_key)
        .json(&json!({"receiver_keys": keys}))
        .send()
        .await
        .expect("PATCH")
}

/// Whether `key` opens a delivered JWE.
fn opens(request: &RecordedRequest, key: &DecryptionKey) -> bool {
    gaprelay_receiver::decrypt(&request.json()["data"], std::slice::from_ref(key)).is_ok()
}

#[tokio::test]
async fn receiver_keys_rotate_with_a_patch_and_each_message_opens_with_the_keys_listed_at_its_intake(
) {
    let app = spawn_app().await;
    let p = app.create_practitioner("rk-rotate").await;
    let crm = FakeCrm::start().await;
    let old = DecryptionKey::generate_x25519("old", &mut OsRng);
    let new = DecryptionKey::generate_p256("new", &mut OsRng);
    let created =
        create_receiver_endpoint(&app, &p.api_key, &crm.url(), std::slice::from_ref(&old)).await;
    let id = created["id"].as_str().expect("id").to_owned();
    let intake = |n: usize| {
        let mut body = canary_intake();
        body["contact"]["name"] = format!("Patient {n}").into();
        body
    };

    // Before, during and after the rotation: one intake each, queued (not yet delivered).
    assert_eq!(app.post_intake(&p.slug, &intake(1)).await.status(), 202);
    let both = json!([
        old.public_jwk().expect("a key pair"),
        new.public_jwk().expect("a key pair")
    ]);
    let res = patch_keys(&app, &p.api_key, &id, both).await;
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.expect("json");
    assert_eq!(view["receiver_kids"], json!(["old", "new"]));
    assert_eq!(app.post_intake(&p.slug, &intake(2)).await.status(), 202);
    let res = patch_keys(
        &app,
        &p.api_key,
        &id,
        json!([new.public_jwk().expect("a key pair")]),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.post_intake(&p.slug, &intake(3)).await.status(), 202);

    app.deliver_pending().await;
    let mut delivered = crm.requests();
    assert_eq!(delivered.len(), 3);
    let name = |r: &RecordedRequest| {
        let keys = [old.clone(), new.clone()];
        let data = gaprelay_receiver::decrypt(&r.json()["data"], &keys).expect("opens");
        data["patient"]["name"].as_str().expect("name").to_owned()
    };
    delivered.sort_by_key(name);
    // Encrypted at intake, to the keys listed then.
    assert!(opens(&delivered[0], &old) && !opens(&delivered[0], &new));
    assert!(opens(&delivered[1], &old) && opens(&delivered[1], &new));
    assert!(!opens(&delivered[2], &old) && opens(&delivered[2], &new));

    // The change is audited, naming the field.
    let audit = app
        .get_json("/v1/audit-log?limit=100", Some(&p.api_key))
        .await;
    let updates: Vec<&Value> = audit["data"]
        .as_array()
        .expect("audit entries")
        .iter()
        .filter(|e| e["action"] == "endpoint.updated")
        .collect();
    assert_eq!(updates.len(), 2, "{audit}");
    assert!(updates[0].to_string().contains("receiver_keys"), "{audit}");
}

#[tokio::test]
async fn a_patch_of_receiver_keys_is_checked_as_at_creation() {
    let app = spawn_app().await;
    let p = app.create_practitioner("rk-patch-bad").await;
    let crm = FakeCrm::start().await;
    let key = DecryptionKey::generate_x25519("k1", &mut OsRng);
    let created =
        create_receiver_endpoint(&app, &p.api_key, &crm.url(), std::slice::from_ref(&key)).await;
    let id = created["id"].as_str().expect("id");

    // A private key, a repeated kid and an empty list are refused, each named.
    let private = json!([key.to_jwk()]);
    let (status, body) = error_code(patch_keys(&app, &p.api_key, id, private).await).await;
    assert_eq!(status, 422);
    assert!(body.to_string().contains("receiver_keys[0].d"), "{body}");
    let twice = json!([
        key.public_jwk().expect("a key pair"),
        key.public_jwk().expect("a key pair")
    ]);
    let (status, body) = error_code(patch_keys(&app, &p.api_key, id, twice).await).await;
    assert_eq!(status, 422);
    assert!(body.to_string().contains("receiver_keys[1].kid"), "{body}");
    let (status, body) = error_code(patch_keys(&app, &p.api_key, id, json!([])).await).await;
    assert_eq!(status, 422);
    assert!(body.to_string().contains("receiver_keys"), "{body}");
    // Nothing changed.
    let listed = app.get_json("/v1/endpoints", Some(&p.api_key)).await;
    assert_eq!(listed["data"][0]["receiver_kids"], json!(["k1"]));

    // An endpoint with a shared key takes no receiver keys.
    let shared = app.create_endpoint(&p.api_key, &crm.url(), "jwe").await;
    let keys = json!([key.public_jwk().expect("a key pair")]);
    let (status, body) = error_code(patch_keys(&app, &p.api_key, &shared.id, keys).await).await;
    assert_eq!(status, 422);
    assert!(body.to_string().contains("jwe-receiver"), "{body}");
}
