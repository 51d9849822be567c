//! Redis Cluster: the same code runs against a real three-node cluster on loopback.
//! The store conformance suite passes on it, and the delivery scenario (practitioners
//! on different nodes, retries, expiry, the delivery log) ends as on a single Redis.

use crate::helpers::{canary_intake, spawn_app_with, AppOptions, CANARIES};
use crate::store_conformance::run_suite;
use crate::support::TestCluster;
use gaprelay::delivery::worker::AttemptOutcome;
use gaprelay::store::redis::RedisStore;
use gaprelay::store::Store;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn the_store_conforms_on_a_three_node_redis_cluster() {
    let cluster = TestCluster::start().await;
    let cluster = &cluster;
    run_suite(|| async move {
        cluster.flush().await;
        Arc::new(
            RedisStore::connect_cluster(&cluster.seeds())
                .await
                .expect("connect to the cluster"),
        ) as Arc<dyn Store>
    })
    .await;
}

#[tokio::test]
async fn the_delivery_scenario_runs_on_a_three_node_redis_cluster() {
    let app = spawn_app_with(AppOptions {
        cluster: true,
        message_ttl: Some(Duration::from_secs(600)),
        ..AppOptions::default()
    })
    .await;
    let cluster = app.cluster.as_ref().expect("cluster");
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status(), 200);

    // Five practices: their configuration lands on different nodes than the queue.
    let mut practices = Vec::new();
    for i in 0..5 {
        practices.push(
            app.practitioner_with_crm(&format!("cluster-{i}"), "jwe")
                .await,
        );
    }
    for (p, _, _) in &practices {
        for _ in 0..3 {
            assert_eq!(
                app.post_intake(&p.slug, &canary_intake()).await.status(),
                202
            );
        }
    }
    let keys = cluster.keys().await;
    let nodes: BTreeSet<usize> = keys.iter().map(|(node, _)| *node).collect();
    assert!(nodes.len() >= 2, "keys spread over the nodes: {keys:?}");
    let queued: Vec<&String> = keys
        .iter()
        .map(|(_, k)| k)
        .filter(|k| crate::helpers::is_message_key(k))
        .collect();
    assert_eq!(queued.len(), 15, "one queued message per intake");
    for (node, key) in &keys {
        for canary in CANARIES {
            assert!(!key.contains(canary), "key {key} on node {node}");
        }
    }

    // The first practice's CRM fails once: retried on the cluster like anywhere else.
    practices[0]
        .2
        .push_response(crate::support::FakeResponse::status(503));
    let outcomes = app.deliver_pending().await;
    assert_eq!(outcomes.len(), 15);
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == AttemptOutcome::Retrying)
            .count(),
        1
    );
    app.advance(Duration::from_secs(10));
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Delivered]);

    for (p, ep, crm) in &practices {
        let reqs = crm.requests();
        let ids: BTreeSet<&str> = reqs
            .iter()
            .map(|r| r.header("webhook-id").expect("webhook-id"))
            .collect();
        assert_eq!(ids.len(), 3, "{}: three distinct messages", p.slug);
        for r in &reqs {
            assert!(r.is_signed_by(&ep.secret));
        }
        let log: serde_json::Value = app.get_json("/v1/deliveries", Some(&p.api_key)).await;
        let statuses: Vec<&str> = log["data"]
            .as_array()
            .expect("list")
            .iter()
            .map(|d| d["status"].as_str().expect("status"))
            .collect();
        assert_eq!(statuses, ["delivered"; 3], "{}: {log}", p.slug);
    }

    // Delivered means deleted, on every node.
    let left = queued_message_keys(cluster).await;
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(app.store.queue_len().await.expect("queue"), 0);

    // Expiry purges on the cluster too, and nothing is sent afterwards.
    let (p, _, crm) = &practices[1];
    crm.set_default_status(500);
    app.post_intake(&p.slug, &canary_intake()).await;
    assert_eq!(app.deliver_pending().await, vec![AttemptOutcome::Retrying]);
    app.advance(Duration::from_secs(601));
    assert!(app.deliver_pending().await.is_empty());
    let left = queued_message_keys(cluster).await;
    assert!(left.is_empty(), "expired messages are purged: {left:?}");
    let log: serde_json::Value = app.get_json("/v1/deliveries", Some(&p.api_key)).await;
    assert_eq!(log["data"][0]["status"], "expired");
}

/// The queued messages' keys on any node that still hold a payload, with the node's
/// index.
async fn queued_message_keys(cluster: &TestCluster) -> Vec<(usize, String)> {
    let mut left = Vec::new();
    for (node, keys) in cluster.nodes().iter().enumerate() {
        for key in crate::helpers::payload_keys(&mut keys.client().await).await {
            left.push((node, key));
        }
    }
    left
}
