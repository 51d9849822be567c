//! The partitioned queue on a real three-node Redis Cluster: the partitions' slots
//! spread evenly, so each master holds about a third of what is queued; and two relay
//! processes sharing the cluster deliver every message exactly once between them,
//! each doing part of the work.

use crate::helpers::{canary_intake, is_message_key};
use crate::support::{
    practice_with_endpoint, scrape_metrics, FakeCrm, Relay, TestCluster, TestRedis,
};
use gaprelay::domain::ids::{EndpointId, MessageId, PractitionerId};
use gaprelay::store::keys::{Partition, PARTITIONS};
use gaprelay::store::redis::RedisStore;
use gaprelay::store::{NewMessage, QueueStore};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn the_queue_spreads_evenly_over_a_three_master_cluster() {
    let cluster = TestCluster::start().await;
    let mut node = cluster.nodes()[0].client().await;
    // Each partition's tag hashes into its own sixteenth of the slot space.
    let mut slots = Vec::new();
    for p in Partition::all() {
        let slot: u16 = ::redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(p.due())
            .query_async(&mut node)
            .await
            .expect("keyslot");
        let sixteenth = 16_384 / PARTITIONS;
        assert_eq!(
            usize::from(slot) / sixteenth,
            p.index(),
            "{} is in slot {slot}",
            p.due()
        );
        slots.push(slot);
    }

    // Messages queued one event at a time land in every partition, and every master
    // holds roughly a third of them.
    let store = RedisStore::connect_cluster(&cluster.seeds())
        .await
        .expect("connect to the cluster");
    let practitioner = PractitionerId::generate(&mut rand::rngs::OsRng);
    let endpoint = EndpointId::generate(&mut rand::rngs::OsRng);
    // Real times: the hashes expire a day after their due time.
    let now = gaprelay::clock::Clock::now_ms(&gaprelay::clock::SystemClock);
    const QUEUED: usize = 960;
    let mut partitions = BTreeMap::<usize, usize>::new();
    for _ in 0..QUEUED {
        let id = MessageId::generate(&mut rand::rngs::OsRng);
        *partitions.entry(Partition::of(&id).index()).or_default() += 1;
        store
            .enqueue(&[NewMessage {
                id,
                endpoint_id: endpoint.clone(),
                practitioner_id: practitioner.clone(),
                sealed: vec![7; 1024],
                due_at_ms: now,
                expires_at_ms: now + 60_000,
                event: "intake.submitted".into(),
                submission_id: None,
            }])
            .await
            .expect("enqueue");
    }
    assert_eq!(partitions.len(), PARTITIONS, "{partitions:?}");
    assert_eq!(store.queue_len().await.expect("len"), QUEUED);
    let mut per_node = vec![0usize; cluster.nodes().len()];
    for (node, key) in cluster.keys().await {
        if is_message_key(&key) {
            per_node[node] += 1;
        }
    }
    assert_eq!(per_node.iter().sum::<usize>(), QUEUED);
    for (node, held) in per_node.iter().enumerate() {
        let share = *held as f64 / QUEUED as f64;
        assert!(
            (0.22..=0.45).contains(&share),
            "node {node} holds {held} of {QUEUED} messages ({per_node:?})"
        );
    }

    // Messages queued together stay together: one event's messages share a partition,
    // and the store refuses a set that does not (it could not queue it atomically).
    let first = MessageId::generate(&mut rand::rngs::OsRng);
    let beside = MessageId::generate_beside(&first, &mut rand::rngs::OsRng);
    assert_eq!(Partition::of(&first), Partition::of(&beside));
    let stranger = std::iter::repeat_with(|| MessageId::generate(&mut rand::rngs::OsRng))
        .find(|id| Partition::of(id) != Partition::of(&first))
        .expect("an id in another partition");
    let message = |id: MessageId| NewMessage {
        id,
        endpoint_id: endpoint.clone(),
        practitioner_id: practitioner.clone(),
        sealed: vec![1],
        due_at_ms: now,
        expires_at_ms: now + 60_000,
        event: "intake.submitted".into(),
        submission_id: None,
    };
    assert!(store
        .enqueue(&[message(first.clone()), message(stranger)])
        .await
        .is_err());
    assert_eq!(
        store.queue_len().await.expect("len"),
        QUEUED,
        "nothing queued"
    );
    store
        .enqueue(&[message(first), message(beside)])
        .await
        .expect("enqueue together");
    assert_eq!(store.queue_len().await.expect("len"), QUEUED + 2);
}

#[tokio::test]
async fn two_worker_processes_on_a_cluster_deliver_everything_once_and_share_it() {
    let cluster = TestCluster::start().await;
    let relay = Relay::new(
        &cluster.urls(),
        true,
        &[
            ("GAPRELAY_POLL_INTERVAL", "100ms"),
            ("GAPRELAY_RATE_LIMIT_PER_ADDRESS", "6000/min"),
            ("GAPRELAY_RATE_LIMIT_PER_PRACTITIONER", "6000/min"),
        ],
    );
    let (mut api, base) = relay.start_api(WAIT).await;
    // A receiver that takes a moment over each delivery, so neither worker can take
    // the whole queue before the other has claimed.
    let crm = FakeCrm::start().await;
    crm.set_default_delay(Duration::from_millis(20));
    practice_with_endpoint(&base, "shared", &crm.url()).await;
    let client = reqwest::Client::new();

    let mut workers = Vec::new();
    let mut probes = Vec::new();
    for _ in 0..2 {
        let (worker, probe) = relay.start_worker(&[], WAIT).await;
        workers.push(worker);
        probes.push(probe);
    }

    const INTAKES: usize = 200;
    let mut accepted = BTreeSet::new();
    for _ in 0..INTAKES {
        let res = client
            .post(format!("{base}/v1/intake/shared"))
            .json(&canary_intake())
            .send()
            .await
            .expect("submit");
        assert_eq!(res.status(), 202);
        let body: Value = res.json().await.expect("JSON");
        accepted.insert(body["submission_id"].as_str().expect("id").to_owned());
    }
    assert_eq!(accepted.len(), INTAKES);

    let delivered = crm.wait_for_requests(INTAKES, WAIT).await;
    // Give a duplicate, if there were one, time to arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let requests = crm.requests();
    let ids: BTreeSet<&str> = requests
        .iter()
        .map(|r| r.header("webhook-id").expect("webhook-id"))
        .collect();
    assert_eq!(
        (requests.len(), ids.len()),
        (INTAKES, INTAKES),
        "every message once, none twice"
    );
    let submissions: BTreeSet<String> = delivered
        .iter()
        .map(|r| {
            r.json()["data"]["submission_id"]
                .as_str()
                .expect("submission id")
                .to_owned()
        })
        .collect();
    assert_eq!(submissions, accepted);

    // Both processes delivered part of it, and together all of it.
    let mut shares = Vec::new();
    for probe in &probes {
        let metrics = scrape_metrics(probe).await;
        shares.push(delivered_count(&metrics));
    }
    assert_eq!(shares.iter().sum::<usize>(), INTAKES, "{shares:?}");
    assert!(
        shares.iter().all(|n| *n > 0),
        "a worker sat idle: {shares:?}"
    );

    for worker in &mut workers {
        assert!(worker.terminate(WAIT).await.success());
    }
    assert!(api.terminate(WAIT).await.success());
}

/// A worker woken by its own process's intake claims from the partition the intake was
/// queued in, not from every partition: one schedule read per delivery, where a wake-up
/// used to read all sixteen. Its look everywhere comes once per poll interval (a minute
/// here), so every delivery below was claimed after a wake-up, at once.
#[tokio::test]
async fn a_woken_worker_claims_only_where_the_intake_was_queued() {
    let redis = TestRedis::start();
    let relay = Relay::new(&redis.url(), false, &[("GAPRELAY_POLL_INTERVAL", "60s")]);
    let (mut serve, base) = relay.start_serve(&[], WAIT).await;
    let crm = FakeCrm::start().await;
    practice_with_endpoint(&base, "woken", &crm.url()).await;
    let mut conn = redis.client().await;
    let _: () = ::redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut conn)
        .await
        .expect("reset the command counts");
    const INTAKES: usize = 10;
    let client = reqwest::Client::new();
    for n in 1..=INTAKES {
        let res = client
            .post(format!("{base}/v1/intake/woken"))
            .json(&canary_intake())
            .send()
            .await
            .expect("submit");
        assert_eq!(res.status(), 202);
        // Delivered within seconds: claimed on the wake-up, not at the next poll.
        crm.wait_for_requests(n, Duration::from_secs(10)).await;
    }
    // Each claim reads one schedule per partition it looks in (`claim.lua`).
    let reads = crate::helpers::command_calls(&mut conn, &["zrangebyscore"]).await;
    assert!(
        (INTAKES as u64..=2 * INTAKES as u64).contains(&reads),
        "{reads} schedule reads for {INTAKES} deliveries"
    );
    assert!(serve.terminate(WAIT).await.success());
}

/// The delivered attempts a process's metrics count.
fn delivered_count(metrics: &str) -> usize {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("gaprelay_delivery_attempts_total{outcome=\"delivered\"} "))
        .map(|n| n.trim().parse().expect("a count"))
        .unwrap_or(0)
}

/// Rewrites a queued message (in the current layout) as a relay from before
/// partitioning kept it: a message hash and a delivery-log record under `{q}`, the old
/// schedule and the practice's old index. With `settled`, only the record is left, as
/// for a message the old relay delivered.
async fn as_unpartitioned(
    redis: &mut ::redis::aio::MultiplexedConnection,
    key: &str,
    settled: bool,
) -> MessageId {
    let id = crate::helpers::message_id_of(key).expect("a message key");
    let f: std::collections::HashMap<String, Vec<u8>> = ::redis::cmd("HGETALL")
        .arg(key)
        .query_async(redis)
        .await
        .expect("hgetall");
    let text = |name: &str| String::from_utf8(f[name].clone()).expect("text");
    let created: i64 = text("created_ms").parse().expect("created");
    let practitioner = text("practitioner");
    let mut pipe = ::redis::pipe();
    pipe.del(key)
        .zrem(Partition::of(&id).due(), id.as_str())
        .del(format!("gr:{{{practitioner}}}:deliveries"))
        .hset_multiple(
            format!("gr:{{q}}:delivery:{id}"),
            &[
                ("practitioner", practitioner.clone()),
                ("endpoint", text("endpoint")),
                ("event", text("event")),
                ("submission", text("submission")),
                (
                    "status",
                    (if settled { "delivered" } else { "pending" }).to_owned(),
                ),
                ("attempts", (if settled { "1" } else { "0" }).to_owned()),
                ("next_attempt_ms", created.to_string()),
                ("created_ms", created.to_string()),
                ("updated_ms", created.to_string()),
            ],
        )
        .zadd(
            format!("gr:{{q}}:deliveries:{practitioner}"),
            id.as_str(),
            created,
        );
    if !settled {
        pipe.hset_multiple(
            format!("gr:{{q}}:msg:{id}"),
            &[
                ("sealed", f["sealed"].clone()),
                ("endpoint", f["endpoint"].clone()),
                ("practitioner", f["practitioner"].clone()),
                ("attempt", b"0".to_vec()),
                ("expires", f["expires"].clone()),
            ],
        )
        .cmd("PEXPIREAT")
        .arg(format!("gr:{{q}}:msg:{id}"))
        .arg(created + 86_400_000)
        .zadd("gr:{q}:due", id.as_str(), created);
    }
    let () = pipe.query_async(redis).await.expect("rewrite");
    id
}

#[tokio::test]
async fn what_a_relay_from_before_partitioning_left_is_delivered_after_the_upgrade() {
    let app = crate::helpers::spawn_app().await;
    let (p, ep, crm) = app.practitioner_with_crm("unpartitioned", "none").await;
    for _ in 0..3 {
        assert_eq!(
            app.post_intake(&p.slug, &canary_intake()).await.status(),
            202
        );
    }
    let mut redis = app.redis.as_ref().expect("redis").client().await;
    let mut keys = crate::helpers::payload_keys(&mut redis).await;
    keys.sort();
    assert_eq!(keys.len(), 3);
    let queued = [
        as_unpartitioned(&mut redis, &keys[0], false).await,
        as_unpartitioned(&mut redis, &keys[1], false).await,
    ];
    let settled = as_unpartitioned(&mut redis, &keys[2], true).await;
    // And a notice the old relay had not sent: about an endpoint since deleted, so
    // the practice's endpoint hears of it.
    let gone = EndpointId::generate(&mut rand::rngs::OsRng);
    let lost = MessageId::generate(&mut rand::rngs::OsRng);
    let () = ::redis::cmd("RPUSH")
        .arg("gr:{q}:expired")
        .arg(format!("{lost}|{}|{gone}|", p.id))
        .query_async(&mut redis)
        .await
        .expect("rpush");
    assert_eq!(
        app.store.queue_len().await.expect("len"),
        0,
        "nothing partitioned"
    );

    // The next worker round moves it all and delivers what was queued, under the
    // same message ids, and the notice.
    app.deliver_pending().await;
    app.deliver_pending().await;
    let requests = crm.requests();
    let mut delivered: Vec<String> = requests
        .iter()
        .filter(|r| r.json()["type"] == "intake.submitted")
        .map(|r| r.header("webhook-id").expect("id").to_owned())
        .collect();
    delivered.sort();
    let mut expected: Vec<String> = queued.iter().map(ToString::to_string).collect();
    expected.sort();
    assert_eq!(delivered, expected);
    assert!(requests.iter().all(|r| r.is_signed_by(&ep.secret)));
    let notices: Vec<_> = requests
        .iter()
        .filter(|r| r.json()["type"] == "endpoint.delivery_expired")
        .collect();
    assert_eq!(notices.len(), 1, "{requests:?}");

    // The log lists all three as delivered, and nothing of the old layout is left.
    let log: Value = app.get_json("/v1/deliveries", Some(&p.api_key)).await;
    let listed: BTreeMap<String, String> = log["data"]
        .as_array()
        .expect("list")
        .iter()
        .map(|d| {
            (
                d["message_id"].as_str().expect("id").to_owned(),
                d["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect();
    for id in queued.iter().chain([&settled]) {
        assert_eq!(
            listed.get(id.as_str()).map(String::as_str),
            Some("delivered"),
            "{log}"
        );
    }
    let left: Vec<String> = ::redis::cmd("KEYS")
        .arg("gr:{q}:*")
        .query_async(&mut redis)
        .await
        .expect("keys");
    assert!(left.is_empty(), "{left:?}");
}
