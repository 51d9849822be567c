//! Master-key rotation: `gaprelay rotate-master-key` re-seals every stored secret under
//! the new key; messages queued under the old key still go out while it is configured
//! as a previous key; afterwards the old key opens nothing that is stored.

use crate::helpers::{canary_intake, spawn_app_with, AppOptions, TestApp, ADMIN_TOKEN};
use crate::support::TestRedis;
use gaprelay::crypto::jwe::{self, ContentKey, FlattenedJwe};
use gaprelay::crypto::seal::{self, MasterKey};
use gaprelay::delivery::worker::AttemptOutcome;
use gaprelay::domain::ids::{EndpointId, PractitionerId};

async fn app(redis: &TestRedis, key: MasterKey) -> TestApp {
    spawn_app_with(AppOptions {
        redis_url: Some(redis.url()),
        master_key: Some(key),
        ..AppOptions::default()
    })
    .await
}

fn rotate(redis: &TestRedis, new: &MasterKey, old: &MasterKey) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gaprelay"))
        .arg("rotate-master-key")
        .env("RUST_LOG", "warn")
        .env("GAPRELAY_REDIS_URL", redis.url())
        .env("GAPRELAY_MASTER_KEY", new.to_base64())
        .env("GAPRELAY_PREVIOUS_MASTER_KEYS", old.to_base64())
        .output()
        .expect("run gaprelay rotate-master-key");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for key in [new, old] {
        assert!(!stdout.contains(&key.to_base64()) && !stderr.contains(&key.to_base64()));
    }
    stdout
}

#[tokio::test]
async fn rotating_the_master_key_reseals_stored_secrets_and_keeps_queued_messages_deliverable() {
    let redis = TestRedis::start();
    let mut rng = rand::rngs::OsRng;
    let (old, new) = (MasterKey::generate(&mut rng), MasterKey::generate(&mut rng));

    // Before: an endpoint, and a submission queued under the old key.
    let before = app(&redis, old.clone()).await;
    let (p, ep, crm) = before.practitioner_with_crm("rotation", "jwe").await;
    assert_eq!(
        before.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );
    let (pid, eid) = (
        PractitionerId::parse(&p.id).expect("id"),
        EndpointId::parse(&ep.id).expect("id"),
    );
    let stored = |app: &TestApp| {
        let store = app.store.clone();
        let (pid, eid) = (pid.clone(), eid.clone());
        async move {
            store
                .endpoint(&pid, &eid)
                .await
                .expect("store")
                .expect("endpoint")
        }
    };
    let record = stored(&before).await;
    assert_eq!(
        seal::sealed_key_id(&record.sealed_secret),
        Some(old.key_id())
    );

    // The rotation: secret and content key re-sealed; a second run has nothing to do.
    let report = rotate(&redis, &new, &old);
    assert!(
        report.contains("re-sealed 2 value(s) of 1 endpoint(s) of 1 practitioner(s)"),
        "{report}"
    );
    assert!(rotate(&redis, &new, &old).contains("re-sealed 0 value(s)"));
    let record = stored(&before).await;
    assert_eq!(
        seal::sealed_key_id(&record.sealed_secret),
        Some(new.key_id())
    );
    assert_eq!(seal::sealed_key_id(&record.sealed_key), Some(new.key_id()));

    // A relay with the new key and the old one as previous delivers the message queued
    // before the rotation, signed with the endpoint's unchanged secret.
    let during = app(
        &redis,
        new.clone().with_previous(std::slice::from_ref(&old)),
    )
    .await;
    assert_eq!(
        during.deliver_pending().await,
        vec![AttemptOutcome::Delivered]
    );
    let r = &crm.requests()[0];
    assert!(r.is_signed_by(&ep.secret));
    let jwe: FlattenedJwe = serde_json::from_value(r.json()["data"].clone()).expect("jwe");
    let key = ContentKey::from_jwk(&ep.jwk).expect("jwk");
    let data: serde_json::Value =
        serde_json::from_slice(&jwe::decrypt(&key, &jwe).expect("decrypts")).expect("json");
    assert_eq!(data["patient"]["name"], "Zelda Canaryname");

    // After: the new key alone is enough; the old key alone opens nothing stored.
    let after = app(&redis, new.clone()).await;
    assert_eq!(
        after.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );
    assert_eq!(
        after.deliver_pending().await,
        vec![AttemptOutcome::Delivered]
    );
    assert_eq!(crm.requests().len(), 2);
    let stale = app(&redis, old.clone()).await;
    assert_eq!(
        stale.post_intake(&p.slug, &canary_intake()).await.status(),
        202
    );
    assert_eq!(
        stale.deliver_pending().await,
        vec![AttemptOutcome::Retrying],
        "the old key no longer opens the endpoint's secret"
    );
    assert_eq!(crm.requests().len(), 2);

    // The operator's audit log records the rotation.
    let log: serde_json::Value = after
        .client
        .get(after.url("/v1/operator/audit-log"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("req")
        .json()
        .await
        .expect("json");
    assert!(log.to_string().contains("master_key.resealed"), "{log}");
}
