//! One conformance suite, run against both stores: the Redis store (on a real Redis)
//! and the embedded in-memory store must behave the same.

use crate::support::TestRedis;
use gaprelay::crypto::api_key::ApiKey;
use gaprelay::domain::access::Role;
use gaprelay::domain::catalog::Sex;
use gaprelay::domain::endpoint::{Encryption, Format};
use gaprelay::domain::ids::{ApiKeyId, EndpointId, MessageId, PractitionerId};
use gaprelay::domain::practitioner::{NewPractitionerRequest, Practitioner};
use gaprelay::domain::ranges::{Bounds, RangeMessages, RangeOverride};
use gaprelay::store::memory::MemoryStore;
use gaprelay::store::redis::RedisStore;
use gaprelay::store::{ApiKeyRecord, EndpointRecord, NewMessage, Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

const NOW: i64 = 1_900_000_000_000;

fn practitioner(slug: &str) -> Practitioner {
    Practitioner::create(
        NewPractitionerRequest {
            practice_name: "Conformance".into(),
            doctor_name: "Dr C".into(),
            email: "c@example.com".into(),
            website_url: "https://c.example.com".into(),
            slug: Some(slug.into()),
            phone_region: None,
        },
        PractitionerId::generate(&mut rand::rngs::OsRng),
        OffsetDateTime::UNIX_EPOCH,
    )
    .expect("valid")
}

fn key_for(p: &Practitioner) -> (ApiKey, ApiKeyRecord) {
    let key = ApiKey::generate(&mut rand::rngs::OsRng);
    let record = ApiKeyRecord {
        id: ApiKeyId::generate(&mut rand::rngs::OsRng),
        practitioner_id: p.id.clone(),
        role: Role::Owner,
        hash: key.hash().to_hex(),
        label: None,
        created_at: OffsetDateTime::UNIX_EPOCH,
    };
    (key, record)
}

fn message(p: &Practitioner, ep: &EndpointId, due: i64, expires: i64) -> NewMessage {
    NewMessage {
        id: MessageId::generate(&mut rand::rngs::OsRng),
        endpoint_id: ep.clone(),
        practitioner_id: p.id.clone(),
        sealed: vec![0, 1, 2, 255, 254],
        due_at_ms: due,
        expires_at_ms: expires,
    }
}

async fn practitioners_keys_and_slugs(store: Arc<dyn Store>) {
    let p = practitioner("conf-a");
    let (key, record) = key_for(&p);
    store
        .create_practitioner(&p, &record)
        .await
        .expect("create");
    assert_eq!(
        store.practitioner(&p.id).await.expect("get"),
        Some(p.clone())
    );
    assert_eq!(
        store
            .practitioner_by_slug("conf-a")
            .await
            .expect("get")
            .map(|x| x.id),
        Some(p.id.clone())
    );
    assert_eq!(
        store.practitioner_by_slug("nobody").await.expect("get"),
        None
    );
    assert_eq!(
        store.api_key_by_hash(&key.hash()).await.expect("key"),
        Some(record)
    );
    let other = ApiKey::generate(&mut rand::rngs::OsRng);
    assert_eq!(
        store.api_key_by_hash(&other.hash()).await.expect("key"),
        None
    );
    let dup = practitioner("conf-a");
    let (_, dup_key) = key_for(&dup);
    assert!(matches!(
        store.create_practitioner(&dup, &dup_key).await,
        Err(StoreError::Conflict(_))
    ));
}

async fn ranges_are_kept_per_marker_and_sex(store: Arc<dyn Store>) {
    let p = PractitionerId::generate(&mut rand::rngs::OsRng);
    let r = |sex| RangeOverride {
        marker: "tsh".into(),
        sex,
        optimal: Bounds::new(1.0, 2.0).expect("b"),
        standard: None,
        messages: RangeMessages::default(),
    };
    store.put_range(&p, &r(None)).await.expect("put");
    store
        .put_range(&p, &r(Some(Sex::Female)))
        .await
        .expect("put");
    store
        .put_range(&p, &r(Some(Sex::Female)))
        .await
        .expect("replace");
    assert_eq!(store.ranges(&p).await.expect("list").len(), 2);
    assert!(store
        .delete_range(&p, "tsh", Some(Sex::Female))
        .await
        .expect("del"));
    assert!(!store
        .delete_range(&p, "tsh", Some(Sex::Female))
        .await
        .expect("del"));
    assert_eq!(store.ranges(&p).await.expect("list"), vec![r(None)]);
    let other = PractitionerId::generate(&mut rand::rngs::OsRng);
    assert!(store.ranges(&other).await.expect("list").is_empty());
}

async fn endpoints_are_scoped_to_their_practitioner(store: Arc<dyn Store>) {
    let p = PractitionerId::generate(&mut rand::rngs::OsRng);
    let other = PractitionerId::generate(&mut rand::rngs::OsRng);
    let rec = |secs: i64| EndpointRecord {
        id: EndpointId::generate(&mut rand::rngs::OsRng),
        practitioner_id: p.clone(),
        url: "https://crm.example.com/".into(),
        format: Format::GaprelayV1,
        encryption: Encryption::Jwe,
        description: None,
        enabled: true,
        created_at: OffsetDateTime::from_unix_timestamp(secs).expect("t"),
        sealed_secret: vec![1, 2, 3],
        sealed_key: vec![4, 5, 6],
    };
    let (a, b) = (rec(2), rec(1));
    store.put_endpoint(&a).await.expect("put");
    store.put_endpoint(&b).await.expect("put");
    assert_eq!(
        store.endpoints(&p).await.expect("list"),
        vec![b.clone(), a.clone()]
    );
    assert_eq!(
        store.endpoint(&p, &a.id).await.expect("get"),
        Some(a.clone())
    );
    assert_eq!(store.endpoint(&other, &a.id).await.expect("get"), None);
    assert!(!store.delete_endpoint(&other, &a.id).await.expect("del"));
    assert!(store.delete_endpoint(&p, &a.id).await.expect("del"));
    assert_eq!(store.endpoints(&p).await.expect("list"), vec![b]);
}

async fn the_queue_claims_leases_reschedules_and_expires(store: Arc<dyn Store>) {
    let p = practitioner("conf-q");
    let ep = EndpointId::generate(&mut rand::rngs::OsRng);
    let early = message(&p, &ep, NOW - 10, NOW + 60_000);
    let later = message(&p, &ep, NOW + 5_000, NOW + 60_000);
    let short = message(&p, &ep, NOW, NOW + 1_000);
    store
        .enqueue(&[early.clone(), later.clone(), short.clone()])
        .await
        .expect("enqueue");
    store.enqueue(&[]).await.expect("empty enqueue");
    assert_eq!(store.queue_len().await.expect("len"), 3);

    let lease = Duration::from_secs(30);
    let got = store.claim_due(NOW, lease, 10).await.expect("claim");
    let ids: Vec<_> = got.iter().map(|m| m.id.clone()).collect();
    assert_eq!(
        ids,
        vec![early.id.clone(), short.id.clone()],
        "due ones, oldest first"
    );
    assert_eq!(got[0].sealed, early.sealed);
    assert_eq!(got[0].attempt, 1);
    assert_eq!(got[0].endpoint_id, ep);
    assert_eq!(got[0].practitioner_id, p.id);
    assert_eq!(got[0].expires_at_ms, NOW + 60_000);
    // Leased: not handed out again until the lease lapses.
    assert!(store
        .claim_due(NOW + 1, lease, 10)
        .await
        .expect("claim")
        .iter()
        .all(|m| m.id != early.id));

    store
        .reschedule(&early.id, NOW + 10_000)
        .await
        .expect("reschedule");
    let got = store
        .claim_due(NOW + 10_000, lease, 10)
        .await
        .expect("claim");
    let ids: Vec<_> = got.iter().map(|m| m.id.clone()).collect();
    // `short` expired at NOW + 1000 and is gone; `later` and `early` are due.
    assert_eq!(ids, vec![later.id.clone(), early.id.clone()]);
    assert_eq!(got[1].attempt, 2);

    store.remove_message(&early.id).await.expect("remove");
    store
        .remove_message(&early.id)
        .await
        .expect("remove twice is fine");
    // After `later`'s lease lapses it is claimable again, with its attempt count.
    let got = store
        .claim_due(NOW + 10_000 + 30_001, lease, 10)
        .await
        .expect("claim");
    assert_eq!(
        got.iter()
            .map(|m| (m.id.clone(), m.attempt))
            .collect::<Vec<_>>(),
        vec![(later.id.clone(), 2)]
    );
    // Past its expiry nothing is returned and the queue empties.
    assert!(store
        .claim_due(NOW + 61_000, lease, 10)
        .await
        .expect("claim")
        .is_empty());
    assert_eq!(store.queue_len().await.expect("len"), 0);
    store
        .reschedule(&later.id, NOW + 70_000)
        .await
        .expect("rescheduling a gone message is a no-op");
    assert_eq!(store.queue_len().await.expect("len"), 0);
}

async fn claims_respect_the_limit(store: Arc<dyn Store>) {
    let p = practitioner("conf-limit");
    let ep = EndpointId::generate(&mut rand::rngs::OsRng);
    let msgs: Vec<_> = (0..5)
        .map(|i| message(&p, &ep, NOW + i, NOW + 60_000))
        .collect();
    store.enqueue(&msgs).await.expect("enqueue");
    assert_eq!(
        store
            .claim_due(NOW + 10, Duration::from_secs(30), 2)
            .await
            .expect("claim")
            .len(),
        2
    );
    assert_eq!(
        store
            .claim_due(NOW + 10, Duration::from_secs(30), 10)
            .await
            .expect("claim")
            .len(),
        3
    );
}

async fn run_suite(make: impl Fn() -> Arc<dyn Store>) {
    practitioners_keys_and_slugs(make()).await;
    ranges_are_kept_per_marker_and_sex(make()).await;
    endpoints_are_scoped_to_their_practitioner(make()).await;
    the_queue_claims_leases_reschedules_and_expires(make()).await;
    claims_respect_the_limit(make()).await;
}

#[tokio::test]
async fn the_in_memory_store_conforms() {
    run_suite(|| Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn the_redis_store_conforms() {
    // A fresh Redis per scenario keeps them independent.
    let mut redises = Vec::new();
    let mut stores: Vec<Arc<dyn Store>> = Vec::new();
    for _ in 0..5 {
        let redis = TestRedis::start();
        stores.push(Arc::new(
            RedisStore::connect(&redis.url()).await.expect("connect"),
        ));
        redises.push(redis);
    }
    let stores = std::sync::Mutex::new(stores);
    run_suite(|| stores.lock().expect("lock").remove(0)).await;
}
