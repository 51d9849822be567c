//! One conformance suite, run against both stores: the Redis store (on a real Redis)
//! and the embedded in-memory store must behave the same.

use crate::support::TestRedis;
use gaprelay::crypto::api_key::ApiKey;
use gaprelay::delivery::policy::NOTICED_ON_EXPIRY;
use gaprelay::domain::access::Role;
use gaprelay::domain::catalog::Sex;
use gaprelay::domain::delivery::DeliveryStatus;
use gaprelay::domain::endpoint::{Encryption, Format};
use gaprelay::domain::ids::{ApiKeyId, EndpointId, MessageId, PractitionerId};
use gaprelay::domain::practitioner::{
    AccountStatus, ConsentVersion, NewPractitioner, Practitioner,
};
use gaprelay::domain::ranges::{Bounds, RangeMessages, RangeOverride};
use gaprelay::store::memory::MemoryStore;
use gaprelay::store::prelude::*;
use gaprelay::store::redis::RedisStore;
use gaprelay::store::{
    AlertSubject, ApiKeyRecord, AuditEntry, DeliveryUpdate, EndpointRecord, NewMessage, Replaced,
    Revocation, Settlement, StoreError,
};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

const NOW: i64 = 1_900_000_000_000;

fn practitioner(slug: &str) -> Practitioner {
    Practitioner::create(
        NewPractitioner {
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
        prefix: key.prefix(),
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
        event: "intake.submitted".into(),
        submission_id: None,
    }
}

/// `m`, given an id minted beside `first`'s, so that the two can be queued together.
fn beside(first: &NewMessage, mut m: NewMessage) -> NewMessage {
    m.id = MessageId::generate_beside(&first.id, &mut rand::rngs::OsRng);
    m
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

async fn a_practitioner_record_is_replaced_only_from_the_version_read(store: Arc<dyn Store>) {
    let read = practitioner("conf-cas");
    let (_, k) = key_for(&read);
    store.create_practitioner(&read, &k).await.expect("create");
    let stored = || async { store.practitioner(&read.id).await.expect("get") };

    // Two changes made from the same read: the first wins, the second is refused
    // instead of silently undoing it.
    let mut suspended = read.clone();
    suspended.status = AccountStatus::Suspended;
    suspended.version = read.version + 1;
    let mut renamed = read.clone();
    renamed.practice_name = "Renamed".into();
    renamed.version = read.version + 1;
    assert_eq!(
        store
            .replace_practitioner(&suspended, read.version)
            .await
            .expect("cas"),
        Replaced::Written
    );
    assert_eq!(
        store
            .replace_practitioner(&renamed, read.version)
            .await
            .expect("cas"),
        Replaced::Stale
    );
    assert_eq!(stored().await, Some(suspended.clone()));

    // Scheduling and cancelling an erasure are compare-and-sets too.
    let mut scheduled = suspended.clone();
    scheduled.erase_at = Some(OffsetDateTime::from_unix_timestamp(NOW / 1000).expect("t"));
    scheduled.version = suspended.version + 1;
    assert_eq!(
        store
            .schedule_erasure(&scheduled, read.version, Some(NOW))
            .await
            .expect("schedule"),
        Replaced::Stale
    );
    assert_eq!(stored().await, Some(suspended.clone()));
    assert_eq!(
        store
            .schedule_erasure(&scheduled, suspended.version, Some(NOW))
            .await
            .expect("schedule"),
        Replaced::Written
    );
    assert_eq!(stored().await, Some(scheduled.clone()));
    assert_eq!(
        store.erasures_due(NOW).await.expect("due"),
        vec![read.id.clone()]
    );
    let mut cancelled = scheduled.clone();
    cancelled.erase_at = None;
    cancelled.version = scheduled.version + 1;
    assert_eq!(
        store
            .schedule_erasure(&cancelled, suspended.version, None)
            .await
            .expect("cancel"),
        Replaced::Stale
    );
    assert_eq!(stored().await, Some(scheduled.clone()));
    assert_eq!(
        store.erasures_due(NOW).await.expect("due"),
        vec![read.id.clone()],
        "a refused cancellation leaves the erasure scheduled"
    );
    assert_eq!(
        store
            .schedule_erasure(&cancelled, scheduled.version, None)
            .await
            .expect("cancel"),
        Replaced::Written
    );
    assert!(store.erasures_due(NOW).await.expect("due").is_empty());

    // An erased record is never brought back by a late write.
    assert!(store
        .erase_practitioner(&read.id, Some(cancelled.version))
        .await
        .expect("erase"));
    assert_eq!(
        store
            .replace_practitioner(&cancelled, cancelled.version)
            .await
            .expect("cas"),
        Replaced::Missing
    );
    assert_eq!(stored().await, None);
    assert_eq!(
        store
            .practitioner_by_slug("conf-cas")
            .await
            .expect("get")
            .map(|p| p.id),
        None
    );
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
        previous_sealed_secret: Some(vec![7, 8]),
        previous_secret_until: Some(OffsetDateTime::UNIX_EPOCH),
        version: 1,
        receiver_keys: Vec::new(),
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
    let later = beside(&early, message(&p, &ep, NOW + 5_000, NOW + 60_000));
    let short = beside(&early, message(&p, &ep, NOW, NOW + 1_000));
    store
        .enqueue(&[early.clone(), later.clone(), short.clone()])
        .await
        .expect("enqueue");
    store.enqueue(&[]).await.expect("empty enqueue");
    assert_eq!(store.queue_len().await.expect("len"), 3);

    let lease = Duration::from_secs(30);
    let got = store
        .claim_due(NOW, lease, 10, NOTICED_ON_EXPIRY)
        .await
        .expect("claim")
        .messages;
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
        .claim_due(NOW + 1, lease, 10, NOTICED_ON_EXPIRY)
        .await
        .expect("claim")
        .messages
        .iter()
        .all(|m| m.id != early.id));

    store
        .settle(
            &early.id,
            Settlement::Reschedule {
                due_at_ms: NOW + 10_000,
            },
            None,
        )
        .await
        .expect("reschedule");
    let got = store
        .claim_due(NOW + 10_000, lease, 10, NOTICED_ON_EXPIRY)
        .await
        .expect("claim")
        .messages;
    let ids: Vec<_> = got.iter().map(|m| m.id.clone()).collect();
    // `short` expired at NOW + 1000 and is gone; `later` and `early` are due.
    assert_eq!(ids, vec![later.id.clone(), early.id.clone()]);
    assert_eq!(got[1].attempt, 2);

    store
        .settle(&early.id, Settlement::Remove, None)
        .await
        .expect("remove");
    store
        .settle(&early.id, Settlement::Remove, None)
        .await
        .expect("remove twice is fine");
    // After `later`'s lease lapses it is claimable again, with its attempt count.
    let got = store
        .claim_due(NOW + 10_000 + 30_001, lease, 10, NOTICED_ON_EXPIRY)
        .await
        .expect("claim")
        .messages;
    assert_eq!(
        got.iter()
            .map(|m| (m.id.clone(), m.attempt))
            .collect::<Vec<_>>(),
        vec![(later.id.clone(), 2)]
    );
    // Past its expiry nothing is returned and the queue empties: at the latest when the
    // lease it was claimed under lapses (its payload is gone at the expiry itself).
    assert!(store
        .claim_due(NOW + 10_000 + 30_001 + 30_000, lease, 10, NOTICED_ON_EXPIRY)
        .await
        .expect("claim")
        .messages
        .is_empty());
    assert_eq!(store.queue_len().await.expect("len"), 0);
    store
        .settle(
            &later.id,
            Settlement::Reschedule {
                due_at_ms: NOW + 70_000,
            },
            None,
        )
        .await
        .expect("rescheduling a gone message is a no-op");
    assert_eq!(store.queue_len().await.expect("len"), 0);
}

async fn claims_respect_the_limit(store: Arc<dyn Store>) {
    let p = practitioner("conf-limit");
    let ep = EndpointId::generate(&mut rand::rngs::OsRng);
    // Queued one by one, so that on Redis they fall in different partitions: the limit
    // holds across them.
    for i in 0..5 {
        let m = message(&p, &ep, NOW + i, NOW + 60_000);
        store.enqueue(&[m]).await.expect("enqueue");
    }
    assert_eq!(
        store
            .claim_due(NOW + 10, Duration::from_secs(30), 2, NOTICED_ON_EXPIRY)
            .await
            .expect("claim")
            .messages
            .len(),
        2
    );
    assert_eq!(
        store
            .claim_due(NOW + 10, Duration::from_secs(30), 10, NOTICED_ON_EXPIRY)
            .await
            .expect("claim")
            .messages
            .len(),
        3
    );
}

async fn keys_are_listed_revoked_at_once_and_the_last_owner_stays(store: Arc<dyn Store>) {
    let p = practitioner("conf-keys");
    let (owner, owner_rec) = key_for(&p);
    store
        .create_practitioner(&p, &owner_rec)
        .await
        .expect("create");
    let (viewer, mut viewer_rec) = key_for(&p);
    viewer_rec.role = Role::Viewer;
    viewer_rec.created_at = OffsetDateTime::from_unix_timestamp(10).expect("t");
    store.create_api_key(&viewer_rec).await.expect("key");
    store.touch_api_key(&viewer_rec, 1234).await.expect("touch");
    let list = store.api_keys(&p.id).await.expect("list");
    assert_eq!(
        list,
        vec![(owner_rec.clone(), None), (viewer_rec.clone(), Some(1234))]
    );
    assert_eq!(
        store
            .revoke_api_key(&p.id, &owner_rec.id)
            .await
            .expect("revoke"),
        Revocation::LastOwner
    );
    assert!(store
        .api_key_by_hash(&owner.hash())
        .await
        .expect("get")
        .is_some());
    assert_eq!(
        store
            .revoke_api_key(&p.id, &viewer_rec.id)
            .await
            .expect("revoke"),
        Revocation::Revoked(viewer_rec.clone())
    );
    assert!(
        store
            .api_key_by_hash(&viewer.hash())
            .await
            .expect("get")
            .is_none(),
        "revoked at once"
    );
    assert_eq!(
        store
            .revoke_api_key(&p.id, &viewer_rec.id)
            .await
            .expect("revoke"),
        Revocation::NotFound
    );
    let other = PractitionerId::generate(&mut rand::rngs::OsRng);
    assert_eq!(
        store
            .revoke_api_key(&other, &owner_rec.id)
            .await
            .expect("revoke"),
        Revocation::NotFound
    );
}

fn entry(n: usize) -> AuditEntry {
    AuditEntry {
        at: format!("2026-01-01T00:00:{n:02}Z"),
        actor: "key_x".into(),
        action: format!("thing.{n}"),
        target: "t".into(),
        outcome: "success".into(),
        details: vec![],
    }
}

async fn audit_logs_page_newest_first_and_stay_apart(store: Arc<dyn Store>) {
    let p = PractitionerId::generate(&mut rand::rngs::OsRng);
    for n in 0..5 {
        store
            .append_audit(Some(&p), &entry(n), NOW, 0)
            .await
            .expect("append");
    }
    store
        .append_audit(None, &entry(9), NOW, 0)
        .await
        .expect("operator");
    let first = store.audit_log(Some(&p), None, 2).await.expect("page");
    assert_eq!(first.items, vec![entry(4), entry(3)]);
    let second = store
        .audit_log(Some(&p), first.next_cursor.as_deref(), 2)
        .await
        .expect("page");
    assert_eq!(second.items, vec![entry(2), entry(1)]);
    let third = store
        .audit_log(Some(&p), second.next_cursor.as_deref(), 2)
        .await
        .expect("page");
    assert_eq!((third.items, third.next_cursor), (vec![entry(0)], None));
    assert_eq!(
        store
            .audit_log(None, None, 10)
            .await
            .expect("operator")
            .items,
        vec![entry(9)]
    );
    // Entries older than the retention are trimmed when the next one is written. (Real
    // time: Redis stamps stream entries with its own clock.)
    let q = PractitionerId::generate(&mut rand::rngs::OsRng);
    let real_now = || {
        i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
            .expect("ms")
    };
    let t1 = real_now();
    store
        .append_audit(Some(&q), &entry(1), t1, 0)
        .await
        .expect("append");
    // The cut is taken after the first append has returned (so after Redis stamped it)
    // and before the second is sent (so before Redis stamps that), however slow the
    // machine: a fixed margin after `t1` was not enough on a busy one.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let cut = real_now();
    store
        .append_audit(Some(&q), &entry(2), cut, cut)
        .await
        .expect("append");
    assert_eq!(
        store
            .audit_log(Some(&q), None, 10)
            .await
            .expect("log")
            .items,
        vec![entry(2)]
    );
    // A cursor that is no entry id is an empty page, not a storage error.
    for bad in [
        "",
        "-",
        "--",
        "1-2-3",
        "99999999999999999999999",
        "+1",
        "abc",
    ] {
        let page = store
            .audit_log(Some(&q), Some(bad), 10)
            .await
            .unwrap_or_else(|e| panic!("cursor {bad:?}: {e}"));
        assert!(page.next_cursor.is_none(), "cursor {bad:?}");
    }
}

async fn practitioners_page_and_erasure_leaves_nothing(store: Arc<dyn Store>) {
    let mut made = Vec::new();
    for (i, slug) in ["conf-p1", "conf-p2", "conf-p3"].iter().enumerate() {
        let mut p = practitioner(slug);
        p.created_at = OffsetDateTime::from_unix_timestamp(i as i64 + 1).expect("t");
        let (_, k) = key_for(&p);
        store.create_practitioner(&p, &k).await.expect("create");
        made.push((p, k));
    }
    let page = store.practitioners(None, 2).await.expect("page");
    assert_eq!(
        page.items
            .iter()
            .map(|p| p.slug.as_str())
            .collect::<Vec<_>>(),
        ["conf-p1", "conf-p2"]
    );
    let page = store
        .practitioners(page.next_cursor.as_deref(), 2)
        .await
        .expect("page");
    assert_eq!((page.items.len(), page.next_cursor), (1, None));

    let (p, k) = &made[0];
    assert_eq!(
        store
            .schedule_erasure(p, p.version, Some(NOW + 1000))
            .await
            .expect("schedule"),
        Replaced::Written
    );
    assert!(store.erasures_due(NOW).await.expect("due").is_empty());
    assert_eq!(
        store.erasures_due(NOW + 1000).await.expect("due"),
        vec![p.id.clone()]
    );
    store
        .append_audit(Some(&p.id), &entry(1), NOW, 0)
        .await
        .expect("audit");
    // A message still queued for the practice goes with it, payload and all.
    let queued = message(
        p,
        &EndpointId::generate(&mut rand::rngs::OsRng),
        NOW,
        NOW + 60_000,
    );
    store.enqueue(&[queued]).await.expect("enqueue");
    let queued_before = store.queue_len().await.expect("len");
    assert!(store
        .erase_practitioner(&p.id, Some(p.version))
        .await
        .expect("erase"));
    assert_eq!(store.queue_len().await.expect("len"), queued_before - 1);
    assert!(store
        .claim_due(NOW + 1, Duration::from_secs(30), 100, NOTICED_ON_EXPIRY)
        .await
        .expect("claim")
        .messages
        .iter()
        .all(|m| m.practitioner_id != p.id));
    assert!(store.practitioner(&p.id).await.expect("get").is_none());
    assert!(store
        .practitioner_by_slug("conf-p1")
        .await
        .expect("get")
        .is_none());
    let hash = gaprelay::crypto::api_key::ApiKeyHash::from_hex(&k.hash).expect("hash");
    assert!(store.api_key_by_hash(&hash).await.expect("get").is_none());
    assert!(store
        .audit_log(Some(&p.id), None, 10)
        .await
        .expect("audit")
        .items
        .is_empty());
    assert!(store
        .erasures_due(NOW + 1000)
        .await
        .expect("due")
        .is_empty());
    assert_eq!(
        store
            .practitioners(None, 10)
            .await
            .expect("page")
            .items
            .len(),
        2
    );
    // The slug is free again.
    let again = practitioner("conf-p1");
    let (_, k2) = key_for(&again);
    store
        .create_practitioner(&again, &k2)
        .await
        .expect("slug reusable");
}

async fn consent_versions_keep_their_first_record_page_newest_first_and_are_erased(
    store: Arc<dyn Store>,
) {
    let p = practitioner("conf-consent");
    let other = practitioner("conf-consent-other");
    for q in [&p, &other] {
        let (_, k) = key_for(q);
        store.create_practitioner(q, &k).await.expect("create");
    }
    let version = |v: u32, text: &str| ConsentVersion {
        version: v,
        text: text.to_owned(),
        created_at: OffsetDateTime::from_unix_timestamp(i64::from(v) * 60).expect("t"),
    };
    assert_eq!(
        store
            .consent_versions(&p.id, None, 10)
            .await
            .expect("list")
            .items,
        []
    );
    for v in 1..=12 {
        let recorded = store
            .put_consent_version(&p.id, &version(v, &format!("Wording {v}, ünïcode ✓")))
            .await
            .expect("put");
        assert!(recorded, "version {v} is new");
    }
    // A version is recorded once: a second record of it changes nothing.
    let again = store
        .put_consent_version(&p.id, &version(3, "Another wording"))
        .await
        .expect("put again");
    assert!(!again);
    assert_eq!(
        store.consent_version(&p.id, 3).await.expect("get"),
        Some(version(3, "Wording 3, ünïcode ✓"))
    );
    assert_eq!(store.consent_version(&p.id, 13).await.expect("get"), None);
    assert_eq!(
        store.consent_version(&other.id, 3).await.expect("get"),
        None,
        "versions are per practitioner"
    );

    // Newest first, highest version first (12 before 2: numbers, not strings).
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .consent_versions(&p.id, cursor.as_deref(), 5)
            .await
            .expect("page");
        assert!(page.items.len() <= 5);
        seen.extend(page.items.iter().map(|v| v.version));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, (1..=12).rev().collect::<Vec<u32>>());
    let exact = store.consent_versions(&p.id, None, 12).await.expect("page");
    assert_eq!((exact.items.len(), exact.next_cursor), (12, None));
    let nonsense = store
        .consent_versions(&p.id, Some("not-a-version"), 5)
        .await
        .expect("page");
    assert_eq!((nonsense.items.len(), nonsense.next_cursor), (0, None));

    store
        .put_consent_version(&other.id, &version(1, "Other wording"))
        .await
        .expect("put");
    assert!(store
        .erase_practitioner(&p.id, Some(p.version))
        .await
        .expect("erase"));
    assert!(store
        .consent_versions(&p.id, None, 10)
        .await
        .expect("list")
        .items
        .is_empty());
    assert_eq!(store.consent_version(&p.id, 1).await.expect("get"), None);
    assert_eq!(
        store
            .consent_versions(&other.id, None, 10)
            .await
            .expect("list")
            .items,
        [version(1, "Other wording")],
        "another practitioner's versions stay"
    );
}

async fn the_delivery_log_follows_each_message_and_marks_expiry(store: Arc<dyn Store>) {
    let p = practitioner("conf-log");
    let ep = EndpointId::generate(&mut rand::rngs::OsRng);
    let a = message(&p, &ep, NOW, NOW + 60_000);
    let b = beside(&a, message(&p, &ep, NOW + 1, NOW + 2_000));
    store
        .enqueue(&[a.clone(), b.clone()])
        .await
        .expect("enqueue");
    let page = store
        .deliveries(&p.id, None, 10, NOW + 1)
        .await
        .expect("log");
    assert_eq!(
        page.items
            .iter()
            .map(|d| d.message_id.clone())
            .collect::<Vec<_>>(),
        vec![b.id.clone(), a.id.clone()]
    );
    assert!(page
        .items
        .iter()
        .all(|d| d.status == "pending" && d.attempts == 0));
    store
        .settle(
            &a.id,
            Settlement::Remove,
            Some(&update("delivered", 1, None, Some(204), None, NOW + 5)),
        )
        .await
        .expect("settle");
    // `b` expires unsent: the purge marks it.
    let notices = store
        .claim_due(NOW + 3_000, Duration::from_secs(30), 10, NOTICED_ON_EXPIRY)
        .await
        .expect("claim")
        .expired;
    let page = store
        .deliveries(&p.id, None, 1, NOW + 3_000)
        .await
        .expect("log");
    assert_eq!(page.items[0].status, "expired");
    assert_eq!(page.items[0].message_id, b.id);
    // The purge gives one notice for the expired submission, ids only, once.
    assert_eq!(notices.len(), 1);
    assert_eq!(
        (
            notices[0].message_id.clone(),
            notices[0].endpoint_id.clone()
        ),
        (b.id.clone(), ep.clone())
    );
    assert!(store
        .claim_due(NOW + 3_001, Duration::from_secs(30), 10, NOTICED_ON_EXPIRY)
        .await
        .expect("claim")
        .expired
        .is_empty());
    let next = store
        .deliveries(&p.id, page.next_cursor.as_deref(), 1, NOW + 3_000)
        .await
        .expect("log");
    let d = &next.items[0];
    assert_eq!(
        (d.status.as_str(), d.attempts, d.last_http_status),
        ("delivered", 1, Some(204))
    );
    assert!(next.next_cursor.is_none());
    let other = PractitionerId::generate(&mut rand::rngs::OsRng);
    assert!(store
        .deliveries(&other, None, 10, NOW)
        .await
        .expect("log")
        .items
        .is_empty());
}

fn update(
    status: &'static str,
    attempts: u32,
    next_attempt_ms: Option<i64>,
    http_status: Option<u16>,
    error: Option<&'static str>,
    at_ms: i64,
) -> DeliveryUpdate {
    DeliveryUpdate {
        status: DeliveryStatus::parse(status).expect("a delivery status"),
        attempts,
        next_attempt_ms,
        http_status,
        error,
        at_ms,
    }
}

/// The one delivery-log record of practitioner `p`'s only message.
async fn only_record(store: &Arc<dyn Store>, p: &Practitioner, now: i64) -> (String, u32, String) {
    let page = store.deliveries(&p.id, None, 10, now).await.expect("log");
    assert_eq!(page.items.len(), 1);
    let d = &page.items[0];
    (
        d.status.to_string(),
        d.attempts,
        d.last_error.clone().unwrap_or_default(),
    )
}

/// Each attempt's queue change and its delivery-log record are one step; a worker whose
/// lease lapsed (the message settled by another meanwhile) changes neither, except to
/// record a delivery.
async fn settling_moves_the_queue_and_the_log_together(store: Arc<dyn Store>) {
    let p = practitioner("conf-settle");
    let ep = EndpointId::generate(&mut rand::rngs::OsRng);
    let m = message(&p, &ep, NOW, NOW + 60_000);
    store
        .enqueue(std::slice::from_ref(&m))
        .await
        .expect("enqueue");
    let lease = Duration::from_secs(30);
    let claim = |at: i64| {
        let store = store.clone();
        async move {
            store
                .claim_due(at, lease, 10, NOTICED_ON_EXPIRY)
                .await
                .expect("claim")
                .messages
                .into_iter()
                .map(|c| c.attempt)
                .collect::<Vec<_>>()
        }
    };

    // A failed attempt: due again later, the log says so.
    assert_eq!(claim(NOW).await, vec![1]);
    let due = NOW + 1_000;
    store
        .settle(
            &m.id,
            Settlement::Reschedule { due_at_ms: due },
            Some(&update("retrying", 1, Some(due), Some(503), None, NOW)),
        )
        .await
        .expect("reschedule");
    assert_eq!(
        only_record(&store, &p, NOW).await,
        ("retrying".into(), 1, String::new())
    );
    assert!(claim(due - 1).await.is_empty(), "not due before its time");

    // Handed back unattempted (circuit open): the claim's attempt is not counted.
    assert_eq!(claim(due).await, vec![2]);
    store
        .settle(
            &m.id,
            Settlement::Release {
                due_at_ms: due + 500,
            },
            Some(&update(
                "retrying",
                1,
                Some(due + 500),
                None,
                Some("circuit_open"),
                due,
            )),
        )
        .await
        .expect("release");
    assert_eq!(
        only_record(&store, &p, due).await,
        ("retrying".into(), 1, "circuit_open".into())
    );
    assert_eq!(claim(due + 500).await, vec![2], "the same attempt again");

    // Delivered: removed and logged at once.
    store
        .settle(
            &m.id,
            Settlement::Remove,
            Some(&update("delivered", 2, None, Some(204), None, due + 600)),
        )
        .await
        .expect("remove");
    assert_eq!(store.queue_len().await.expect("len"), 0);
    assert_eq!(
        only_record(&store, &p, due).await,
        ("delivered".into(), 2, String::new())
    );

    // A worker whose lease had lapsed finishes late: whatever it settles, the message
    // stays gone and the record keeps the delivery.
    let late = due + 700;
    for (settlement, u) in [
        (
            Settlement::Release { due_at_ms: late },
            update("pending", 0, Some(late), None, Some("circuit_open"), late),
        ),
        (
            Settlement::Reschedule { due_at_ms: late },
            update("retrying", 3, Some(late), Some(500), None, late),
        ),
        (
            Settlement::Remove,
            update("failed", 3, None, Some(400), None, late),
        ),
    ] {
        store
            .settle(&m.id, settlement, Some(&u))
            .await
            .expect("late settle");
        assert_eq!(store.queue_len().await.expect("len"), 0, "{settlement:?}");
        assert_eq!(
            only_record(&store, &p, late).await,
            ("delivered".into(), 2, String::new()),
            "{settlement:?}"
        );
        assert!(claim(late).await.is_empty(), "{settlement:?}");
    }
    // A late delivery is still a delivery.
    store
        .settle(
            &m.id,
            Settlement::Remove,
            Some(&update("delivered", 3, None, Some(200), None, late)),
        )
        .await
        .expect("late delivery");
    assert_eq!(
        only_record(&store, &p, late).await,
        ("delivered".into(), 3, String::new())
    );
}

async fn disabling_an_endpoint_changes_its_enabled_field_alone(store: Arc<dyn Store>) {
    let p = PractitionerId::generate(&mut rand::rngs::OsRng);
    let url = "https://crm.example.com/hooks/in?x=1";
    let rec = EndpointRecord {
        id: EndpointId::generate(&mut rand::rngs::OsRng),
        practitioner_id: p.clone(),
        url: url.into(),
        format: Format::GaprelayV1,
        encryption: Encryption::Jwe,
        // Text a re-encoding could change: slashes, quotes, non-ASCII.
        description: Some("Praxis \"Süd\" / CRM ✓".into()),
        enabled: true,
        created_at: OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("t"),
        sealed_secret: vec![1, 2, 3],
        sealed_key: vec![4, 5, 6],
        previous_sealed_secret: Some(vec![7, 8]),
        previous_secret_until: Some(OffsetDateTime::from_unix_timestamp(1_700_086_400).expect("t")),
        version: 1,
        receiver_keys: Vec::new(),
    };
    store.put_endpoint(&rec).await.expect("put");
    // Another URL answered: nothing changes.
    assert!(!store
        .disable_endpoint(&p, &rec.id, "https://old.example.com/")
        .await
        .expect("disable"));
    assert_eq!(
        store.endpoint(&p, &rec.id).await.expect("get"),
        Some(rec.clone())
    );
    // A rotation made meanwhile stays: only `enabled` changes.
    let rotated = EndpointRecord {
        sealed_secret: vec![9, 9, 9],
        previous_sealed_secret: Some(vec![1, 2, 3]),
        ..rec.clone()
    };
    store.put_endpoint(&rotated).await.expect("rotate");
    assert!(store
        .disable_endpoint(&p, &rec.id, url)
        .await
        .expect("disable"));
    assert_eq!(
        store.endpoint(&p, &rec.id).await.expect("get"),
        Some(EndpointRecord {
            enabled: false,
            version: rotated.version + 1,
            ..rotated.clone()
        })
    );
    // Already disabled: nothing more to do.
    assert!(!store
        .disable_endpoint(&p, &rec.id, url)
        .await
        .expect("disable"));
    // A deleted endpoint is not brought back.
    assert!(store.delete_endpoint(&p, &rec.id).await.expect("del"));
    assert!(!store
        .disable_endpoint(&p, &rec.id, url)
        .await
        .expect("disable"));
    assert_eq!(store.endpoint(&p, &rec.id).await.expect("get"), None);
    assert!(store.endpoints(&p).await.expect("list").is_empty());
}

/// A change to an endpoint is written only over the version it was read at: a rotation
/// or a 410's disabling made meanwhile makes an older read stale, and a deleted endpoint
/// is not brought back.
async fn an_endpoint_is_replaced_only_from_the_version_it_was_read_at(store: Arc<dyn Store>) {
    let p = PractitionerId::generate(&mut rand::rngs::OsRng);
    let url = "https://crm.example.com/in";
    let rec = EndpointRecord {
        id: EndpointId::generate(&mut rand::rngs::OsRng),
        practitioner_id: p.clone(),
        url: url.into(),
        format: Format::GaprelayV1,
        encryption: Encryption::Jwe,
        description: None,
        enabled: true,
        created_at: OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("t"),
        sealed_secret: vec![1, 2, 3],
        sealed_key: vec![4, 5, 6],
        previous_sealed_secret: None,
        previous_secret_until: None,
        version: 1,
        receiver_keys: Vec::new(),
    };
    store.put_endpoint(&rec).await.expect("put");
    // A rotation, read at version 1, is written.
    let rotated = EndpointRecord {
        sealed_secret: vec![9, 9, 9],
        previous_sealed_secret: Some(vec![1, 2, 3]),
        version: 2,
        ..rec.clone()
    };
    assert_eq!(
        store.replace_endpoint(&rotated, 1).await.expect("replace"),
        Replaced::Written
    );
    // A URL change also read at version 1 is stale: it would undo the rotation.
    let moved = EndpointRecord {
        url: "https://new-crm.example.com/in".into(),
        version: 2,
        ..rec.clone()
    };
    assert_eq!(
        store.replace_endpoint(&moved, 1).await.expect("replace"),
        Replaced::Stale
    );
    assert_eq!(
        store.endpoint(&p, &rec.id).await.expect("get"),
        Some(rotated.clone())
    );
    // A 410's disabling moves the version on too: a change read before it is stale.
    assert!(store
        .disable_endpoint(&p, &rec.id, url)
        .await
        .expect("disable"));
    let re_enabled = EndpointRecord {
        enabled: true,
        version: 3,
        ..rotated.clone()
    };
    assert_eq!(
        store
            .replace_endpoint(&re_enabled, 2)
            .await
            .expect("replace"),
        Replaced::Stale
    );
    let disabled = store
        .endpoint(&p, &rec.id)
        .await
        .expect("get")
        .expect("there");
    assert!(!disabled.enabled);
    assert_eq!(disabled.version, 3);
    // Deleted: nothing is written back.
    assert!(store.delete_endpoint(&p, &rec.id).await.expect("del"));
    assert_eq!(
        store
            .replace_endpoint(
                &EndpointRecord {
                    version: 4,
                    ..disabled
                },
                3
            )
            .await
            .expect("replace"),
        Replaced::Missing
    );
    assert_eq!(store.endpoint(&p, &rec.id).await.expect("get"), None);
}

async fn retry_now_makes_an_endpoints_waiting_messages_due_except_those_in_flight(
    store: Arc<dyn Store>,
) {
    let p = practitioner("conf-retry");
    let ep = EndpointId::generate(&mut rand::rngs::OsRng);
    let other = EndpointId::generate(&mut rand::rngs::OsRng);
    let in_flight = message(&p, &ep, NOW, NOW + 600_000);
    let backing_off = beside(&in_flight, message(&p, &ep, NOW, NOW + 600_000));
    let later = beside(&in_flight, message(&p, &ep, NOW + 60_000, NOW + 600_000));
    let elsewhere = beside(&in_flight, message(&p, &other, NOW + 60_000, NOW + 600_000));
    store
        .enqueue(&[
            in_flight.clone(),
            backing_off.clone(),
            later.clone(),
            elsewhere.clone(),
        ])
        .await
        .expect("enqueue");
    let lease = Duration::from_secs(30);
    let got = store
        .claim_due(NOW, lease, 10, NOTICED_ON_EXPIRY)
        .await
        .expect("claim")
        .messages;
    assert_eq!(got.len(), 2);
    // One attempt failed and backs off for a minute; the other is still being sent.
    store
        .settle(
            &backing_off.id,
            Settlement::Reschedule {
                due_at_ms: NOW + 60_000,
            },
            None,
        )
        .await
        .expect("settle");
    let now = NOW + 1_000;
    assert_eq!(store.retry_now(&ep, now).await.expect("retry"), 2);
    let due: Vec<MessageId> = store
        .claim_due(now, lease, 10, NOTICED_ON_EXPIRY)
        .await
        .expect("claim")
        .messages
        .into_iter()
        .map(|m| m.id)
        .collect();
    let mut expected = vec![backing_off.id.clone(), later.id.clone()];
    expected.sort();
    let mut due_sorted = due.clone();
    due_sorted.sort();
    assert_eq!(
        due_sorted, expected,
        "the one in flight and the other endpoint's wait"
    );
    // Their log records say they are due now.
    let log = store
        .deliveries(&p.id, None, 10, now)
        .await
        .expect("log")
        .items;
    for d in &log {
        if expected.contains(&d.message_id) {
            assert_eq!(d.next_attempt_ms, Some(now));
        }
    }
    // Once their leases lapse they are due anyway: nothing more to bring forward.
    assert_eq!(store.retry_now(&ep, now + 31_000).await.expect("retry"), 0);
    assert_eq!(store.retry_now(&other, now).await.expect("retry"), 1);
}

/// A message held for an endpoint is handed over once, in one step with its log record,
/// and keeps its claim; one that expires while held is marked expired like any other.
async fn a_held_message_is_handed_over_once_and_keeps_its_claim(store: Arc<dyn Store>) {
    let p = practitioner("conf-held");
    let held = EndpointId::awaiting();
    let ep = EndpointId::generate(&mut rand::rngs::OsRng);
    let m = message(&p, &held, NOW, NOW + 60_000);
    let short = beside(&m, message(&p, &held, NOW, NOW + 2_000));
    store
        .enqueue(&[m.clone(), short.clone()])
        .await
        .expect("enqueue");
    let page = store.deliveries(&p.id, None, 10, NOW).await.expect("log");
    assert!(page
        .items
        .iter()
        .all(|d| d.status == "awaiting_endpoint" && d.endpoint_id == held));
    let lease = Duration::from_secs(30);
    assert_eq!(
        store
            .claim_due(NOW, lease, 10, NOTICED_ON_EXPIRY)
            .await
            .expect("claim")
            .messages
            .len(),
        2
    );
    let resealed = vec![9, 8, 7];
    assert!(store
        .hand_over(&m.id, &ep, &resealed, NOW + 5)
        .await
        .expect("hand over"));
    // Handed over once: a second hand-over (another worker after a lapsed lease) fails.
    let elsewhere = EndpointId::generate(&mut rand::rngs::OsRng);
    assert!(!store
        .hand_over(&m.id, &elsewhere, &[1], NOW + 6)
        .await
        .expect("hand over"));
    let page = store
        .deliveries(&p.id, None, 10, NOW + 6)
        .await
        .expect("log");
    let d = page
        .items
        .iter()
        .find(|d| d.message_id == m.id)
        .expect("record");
    assert_eq!(
        (d.endpoint_id.clone(), d.status.as_str(), d.next_attempt_ms),
        (ep.clone(), "pending", Some(NOW + 5))
    );
    // The claim stands: nothing is due until the lease lapses, then the message comes
    // back for its new endpoint with its new ciphertext, and the held one that expired
    // meanwhile is purged and marked.
    assert!(store
        .claim_due(NOW + 1_000, lease, 10, NOTICED_ON_EXPIRY)
        .await
        .expect("claim")
        .messages
        .is_empty());
    let claim = store
        .claim_due(NOW + 31_000, lease, 10, NOTICED_ON_EXPIRY)
        .await
        .expect("claim");
    let again = claim.messages;
    assert_eq!(again.len(), 1);
    assert_eq!(
        (
            again[0].id.clone(),
            again[0].endpoint_id.clone(),
            again[0].sealed.clone(),
            again[0].attempt
        ),
        (m.id.clone(), ep.clone(), resealed, 2)
    );
    let page = store
        .deliveries(&p.id, None, 10, NOW + 31_000)
        .await
        .expect("log");
    let expired = page
        .items
        .iter()
        .find(|d| d.message_id == short.id)
        .expect("record");
    assert_eq!(expired.status, "expired");
    let notices = claim.expired;
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].message_id, short.id);
    // A message that is gone is not handed over.
    assert!(!store
        .hand_over(&short.id, &ep, &[1], NOW + 31_000)
        .await
        .expect("hand over"));
}

/// One alert per failing endpoint per hour, on the caller's clock: a second claim within
/// the hour fails, one an hour later succeeds, and endpoints are claimed apart.
async fn an_alert_is_claimed_once_per_endpoint_per_hour_on_the_callers_clock(
    store: Arc<dyn Store>,
) {
    const HOUR: i64 = 60 * 60 * 1000;
    let ep = AlertSubject::Endpoint(EndpointId::generate(&mut rand::rngs::OsRng));
    let other = AlertSubject::Endpoint(EndpointId::generate(&mut rand::rngs::OsRng));
    assert!(store.claim_alert(&ep, NOW, HOUR).await.expect("claim"));
    assert!(!store.claim_alert(&ep, NOW, HOUR).await.expect("claim"));
    assert!(!store
        .claim_alert(&ep, NOW + HOUR - 1, HOUR)
        .await
        .expect("claim"));
    assert!(store
        .claim_alert(&other, NOW + 1, HOUR)
        .await
        .expect("claim"));
    // The hour is measured on the clock passed in (a test clock moved forward), not on
    // the store's own: the key's expiry in Redis has not passed, yet the claim succeeds.
    assert!(store
        .claim_alert(&ep, NOW + HOUR, HOUR)
        .await
        .expect("claim"));
    assert!(!store
        .claim_alert(&ep, NOW + HOUR + 1, HOUR)
        .await
        .expect("claim"));
    // A practice's held submissions are a subject of their own, apart from any endpoint.
    let held = AlertSubject::Held(PractitionerId::generate(&mut rand::rngs::OsRng));
    assert!(store.claim_alert(&held, NOW, HOUR).await.expect("claim"));
    assert!(!store
        .claim_alert(&held, NOW + 1, HOUR)
        .await
        .expect("claim"));
}

/// An erasure goes ahead only from the record it read: a cancellation written after
/// the eraser read the record wins, whatever the eraser decided from its read.
async fn an_erasure_read_before_its_cancellation_erases_nothing(store: Arc<dyn Store>) {
    let p = practitioner("conf-erase-race");
    let (key, k) = key_for(&p);
    store.create_practitioner(&p, &k).await.expect("create");
    let mut scheduled = p.clone();
    scheduled.erase_at = Some(OffsetDateTime::from_unix_timestamp(NOW / 1000).expect("t"));
    scheduled.version = p.version + 1;
    assert_eq!(
        store
            .schedule_erasure(&scheduled, p.version, Some(NOW))
            .await
            .expect("schedule"),
        Replaced::Written
    );
    store
        .append_audit(Some(&p.id), &entry(1), NOW, 0)
        .await
        .expect("audit");

    // The eraser reads the record and finds it due ...
    let read = store
        .practitioner(&p.id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(
        store.erasures_due(NOW).await.expect("due"),
        vec![p.id.clone()]
    );
    // ... the practice cancels meanwhile ...
    let mut cancelled = read.clone();
    cancelled.erase_at = None;
    cancelled.version = read.version + 1;
    assert_eq!(
        store
            .schedule_erasure(&cancelled, read.version, None)
            .await
            .expect("cancel"),
        Replaced::Written
    );
    // ... and the erasure, from the version read, erases nothing.
    assert!(
        !store
            .erase_practitioner(&p.id, Some(read.version))
            .await
            .expect("erase"),
        "an erasure read before its cancellation must not go ahead"
    );
    assert_eq!(
        store.practitioner(&p.id).await.expect("get"),
        Some(cancelled.clone())
    );
    assert_eq!(
        store
            .practitioner_by_slug("conf-erase-race")
            .await
            .expect("get")
            .map(|x| x.id),
        Some(p.id.clone())
    );
    assert_eq!(
        store.api_key_by_hash(&key.hash()).await.expect("key"),
        Some(k.clone())
    );
    assert_eq!(
        store
            .audit_log(Some(&p.id), None, 10)
            .await
            .expect("audit")
            .items,
        vec![entry(1)]
    );
    // Nor does an eraser that read no record erase one that exists.
    assert!(!store.erase_practitioner(&p.id, None).await.expect("erase"));
    assert!(store.practitioner(&p.id).await.expect("get").is_some());

    // From the version stored it erases, once.
    assert!(store
        .erase_practitioner(&p.id, Some(cancelled.version))
        .await
        .expect("erase"));
    assert_eq!(store.practitioner(&p.id).await.expect("get"), None);
    assert_eq!(store.api_key_by_hash(&key.hash()).await.expect("key"), None);
    assert!(!store
        .erase_practitioner(&p.id, Some(cancelled.version))
        .await
        .expect("erase again"));
    // Whatever is left of a practitioner without a record can still be cleared.
    assert!(store
        .erase_practitioner(&p.id, None)
        .await
        .expect("leftovers"));
}

/// A message that expires undelivered leaves a notice only when its event type is one
/// the caller names: the delivery policy decides which, the store carries it out.
async fn only_the_event_types_named_leave_a_notice_when_they_expire(store: Arc<dyn Store>) {
    let p = practitioner("conf-notice");
    let ep = EndpointId::generate(&mut rand::rngs::OsRng);
    let submission = message(&p, &ep, NOW, NOW + 1_000);
    let mut test = beside(&submission, message(&p, &ep, NOW, NOW + 1_000));
    test.event = "endpoint.test".into();
    store
        .enqueue(&[submission.clone(), test.clone()])
        .await
        .expect("enqueue");
    let notices = store
        .claim_due(
            NOW + 2_000,
            Duration::from_secs(30),
            10,
            &["intake.submitted"],
        )
        .await
        .expect("claim")
        .expired;
    assert_eq!(
        notices
            .iter()
            .map(|n| n.message_id.clone())
            .collect::<Vec<_>>(),
        vec![submission.id.clone()]
    );
    let log = store
        .deliveries(&p.id, None, 10, NOW + 2_000)
        .await
        .expect("log");
    assert_eq!(log.items.len(), 2);
    assert!(log.items.iter().all(|d| d.status == "expired"));

    // Naming no type, no expiry leaves a notice.
    let late = message(&p, &ep, NOW + 3_000, NOW + 4_000);
    store.enqueue(&[late]).await.expect("enqueue");
    let claim = store
        .claim_due(NOW + 5_000, Duration::from_secs(30), 10, &[])
        .await
        .expect("claim");
    assert!(claim.messages.is_empty());
    assert!(claim.expired.is_empty());
}

/// Runs every scenario, each on a fresh, empty store from `make`.
pub async fn run_suite<F, Fut>(mut make: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Arc<dyn Store>>,
{
    the_delivery_log_follows_each_message_and_marks_expiry(make().await).await;
    keys_are_listed_revoked_at_once_and_the_last_owner_stays(make().await).await;
    audit_logs_page_newest_first_and_stay_apart(make().await).await;
    practitioners_page_and_erasure_leaves_nothing(make().await).await;
    practitioners_keys_and_slugs(make().await).await;
    ranges_are_kept_per_marker_and_sex(make().await).await;
    endpoints_are_scoped_to_their_practitioner(make().await).await;
    the_queue_claims_leases_reschedules_and_expires(make().await).await;
    claims_respect_the_limit(make().await).await;
    settling_moves_the_queue_and_the_log_together(make().await).await;
    disabling_an_endpoint_changes_its_enabled_field_alone(make().await).await;
    an_endpoint_is_replaced_only_from_the_version_it_was_read_at(make().await).await;
    retry_now_makes_an_endpoints_waiting_messages_due_except_those_in_flight(make().await).await;
    consent_versions_keep_their_first_record_page_newest_first_and_are_erased(make().await).await;
    a_practitioner_record_is_replaced_only_from_the_version_read(make().await).await;
    a_held_message_is_handed_over_once_and_keeps_its_claim(make().await).await;
    an_alert_is_claimed_once_per_endpoint_per_hour_on_the_callers_clock(make().await).await;
    an_erasure_read_before_its_cancellation_erases_nothing(make().await).await;
    only_the_event_types_named_leave_a_notice_when_they_expire(make().await).await;
}

#[tokio::test]
async fn the_in_memory_store_conforms() {
    run_suite(|| async { Arc::new(MemoryStore::new()) as Arc<dyn Store> }).await;
}

#[tokio::test]
async fn the_redis_store_conforms() {
    // A fresh Redis per scenario keeps them independent (each started when its
    // scenario asks for a store, and kept running until the suite ends).
    let redises = std::sync::Mutex::new(Vec::new());
    run_suite(|| {
        let redis = TestRedis::start();
        let url = redis.url();
        redises.lock().expect("lock").push(redis);
        async move { Arc::new(RedisStore::connect(&url).await.expect("connect")) as Arc<dyn Store> }
    })
    .await;
}

/// A message to a new endpoint of a new practice, due now and kept for a day.
fn due_now() -> NewMessage {
    let due = OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let ep = EndpointId::generate(&mut rand::rngs::OsRng);
    message(&practitioner("due-now"), &ep, due, due + 86_400_000)
}

/// The clients connected to Redis besides `client` (which asks), as (id, last command).
async fn redis_clients(client: &mut ::redis::aio::MultiplexedConnection) -> Vec<(u64, String)> {
    let me: u64 = ::redis::cmd("CLIENT")
        .arg("ID")
        .query_async(client)
        .await
        .expect("CLIENT ID");
    let list: String = ::redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(client)
        .await
        .expect("CLIENT LIST");
    list.lines()
        .filter_map(|line| {
            let field = |name: &str| {
                line.split(' ')
                    .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
                    .map(str::to_owned)
            };
            let id: u64 = field("id")?.parse().ok()?;
            (id != me).then(|| (id, field("cmd").unwrap_or_default()))
        })
        .collect()
}

/// Waits up to 5 s for Redis's clients (besides `client`) to be as `expected` says
/// (`what` names it for the failure message).
async fn until_clients(
    client: &mut ::redis::aio::MultiplexedConnection,
    what: &str,
    expected: impl Fn(&[(u64, String)]) -> bool,
) -> Vec<(u64, String)> {
    for _ in 0..100 {
        let clients = redis_clients(client).await;
        if expected(&clients) {
            return clients;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: {:?}", redis_clients(client).await);
}

// An HTTP worker's runtime has one thread: the store opens a connection on it, so that
// queueing an intake never hands its commands to the shared connection's thread and back.
#[tokio::test]
async fn a_single_threaded_runtime_queues_through_a_redis_connection_of_its_own() {
    let redis = TestRedis::start();
    let mut admin = redis.client().await;
    let store = RedisStore::connect(&redis.url()).await.expect("connect");
    let shared = until_clients(&mut admin, "one connection", |c| c.len() == 1).await;

    // The first intake goes through the shared connection and opens this thread's own.
    store.enqueue(&[due_now()]).await.expect("queued");
    let clients = until_clients(&mut admin, "a connection of the thread's own", |c| {
        c.len() == 2
    })
    .await;
    let own = clients
        .iter()
        .map(|(id, _)| *id)
        .find(|id| *id != shared[0].0)
        .expect("a second connection");
    // The shared connection still serves everything else; the next intake goes through
    // this thread's own.
    assert_eq!(store.queue_len().await.expect("queue length"), 1);
    store.enqueue(&[due_now()]).await.expect("queued");
    let clients = redis_clients(&mut admin).await;
    let queued_by: Vec<u64> = clients
        .iter()
        .filter(|(_, cmd)| cmd == "evalsha")
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(
        queued_by,
        vec![own],
        "the second intake was queued through the thread's own connection: {clients:?}"
    );
    assert_eq!(store.queue_len().await.expect("queue length"), 2);

    // A store dropped leaves nothing open: the next store used on this thread closes
    // the connection the dropped one opened here.
    drop(store);
    let store = RedisStore::connect(&redis.url()).await.expect("connect");
    store.enqueue(&[due_now()]).await.expect("queued");
    until_clients(
        &mut admin,
        "the dropped store's connections closed, the new one's shared and own open",
        |c| c.len() == 2 && c.iter().all(|(id, _)| *id > own),
    )
    .await;
    assert_eq!(store.queue_len().await.expect("queue length"), 3);
}

// The delivery workers run on a multi-threaded runtime, beside the shared connection's
// own task: they, and every thread there, use the shared connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_threaded_runtime_queues_through_the_shared_connection() {
    let redis = TestRedis::start();
    let store = RedisStore::connect(&redis.url()).await.expect("connect");
    for _ in 0..20 {
        store.enqueue(&[due_now()]).await.expect("queued");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut admin = redis.client().await;
    assert_eq!(redis_clients(&mut admin).await.len(), 1, "one connection");
    assert_eq!(store.queue_len().await.expect("queue length"), 20);
}

// Redis restarted (or failed over): the HTTP worker's own connection is gone, and the
// first intake to find out reopens it and is sent again rather than refused.
#[tokio::test]
async fn the_first_intake_after_a_redis_restart_is_queued_not_refused() {
    let mut redis = TestRedis::start();
    let store = RedisStore::connect(&redis.url()).await.expect("connect");
    store.enqueue(&[due_now()]).await.expect("queued");
    let mut admin = redis.client().await;
    until_clients(&mut admin, "a connection of the thread's own", |c| {
        c.len() == 2
    })
    .await;
    drop(admin);

    redis.crash();
    redis.restart();
    let m = due_now();
    store
        .enqueue(std::slice::from_ref(&m))
        .await
        .expect("the first intake after the restart is queued");
    let mut admin = redis.client().await;
    assert_eq!(
        queued_state(&mut admin, &m).await.0,
        Some(m.due_at_ms as f64),
        "it is in the queue"
    );
}

// A resend (after a dropped connection, when the first send may have run) leaves a
// message the first send queued as it is: a worker may have taken it meanwhile.
#[tokio::test]
async fn a_resent_enqueue_leaves_a_message_the_first_send_queued_as_it_is() {
    let redis = TestRedis::start();
    let mut admin = redis.client().await;
    let store = RedisStore::connect(&redis.url()).await.expect("connect");
    let m = due_now();
    store
        .enqueue(std::slice::from_ref(&m))
        .await
        .expect("queued");
    let claim = store
        .claim_due(m.due_at_ms + 1, Duration::from_secs(60), 10, &[])
        .await
        .expect("claim");
    assert_eq!(claim.messages.len(), 1, "a worker took it");

    let taken = queued_state(&mut admin, &m).await;
    assert_eq!(
        send_enqueue_script(&mut admin, &m, true).await,
        0,
        "a resend queues nothing already queued"
    );
    assert_eq!(
        queued_state(&mut admin, &m).await,
        taken,
        "the taken message is as it was"
    );
    // The same call as a first send would have put it back in the queue, due again.
    assert_eq!(send_enqueue_script(&mut admin, &m, false).await, 1);
    assert_eq!(
        queued_state(&mut admin, &m).await.0,
        Some(m.due_at_ms as f64),
        "a first send sets the schedule"
    );
}

/// A queued message's score in its partition's schedule, and its hash.
async fn queued_state(
    admin: &mut ::redis::aio::MultiplexedConnection,
    m: &NewMessage,
) -> (Option<f64>, std::collections::BTreeMap<String, Vec<u8>>) {
    let partition = gaprelay::store::keys::Partition::of(&m.id);
    let score: Option<f64> = ::redis::cmd("ZSCORE")
        .arg(partition.due())
        .arg(m.id.as_str())
        .query_async(admin)
        .await
        .expect("ZSCORE");
    let hash = ::redis::cmd("HGETALL")
        .arg(format!("{}{}", partition.message_prefix(), m.id.as_str()))
        .query_async(admin)
        .await
        .expect("HGETALL");
    (score, hash)
}

/// Runs the store's enqueue script for `m`, as a first send or a resend; how many it
/// queued.
async fn send_enqueue_script(
    admin: &mut ::redis::aio::MultiplexedConnection,
    m: &NewMessage,
    resend: bool,
) -> i64 {
    let partition = gaprelay::store::keys::Partition::of(&m.id);
    ::redis::Script::new(include_str!("../../src/store/lua/enqueue.lua"))
        .key(partition.due())
        .arg(partition.message_prefix())
        .arg(if resend { "1" } else { "0" })
        .arg(m.id.as_str())
        .arg(m.endpoint_id.as_str())
        .arg(m.practitioner_id.as_str())
        .arg(m.expires_at_ms)
        .arg(&m.sealed)
        .arg(m.event.as_str())
        .arg("")
        .arg("pending")
        .arg(m.due_at_ms)
        .arg(m.due_at_ms + 86_400_000)
        .invoke_async(admin)
        .await
        .expect("the enqueue script")
}
