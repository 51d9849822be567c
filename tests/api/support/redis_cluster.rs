//! A real three-node Redis Cluster on loopback, owned by one test: three `redis-server`
//! processes in cluster mode, the 16,384 slots split between them, joined with
//! `CLUSTER MEET`. No replicas: the tests are about routing, not failover.

use super::TestRedis;
use std::time::{Duration, Instant};

/// How long the nodes may take to agree that the cluster is up.
const FORM_DEADLINE: Duration = Duration::from_secs(20);
const SLOTS: u16 = 16_384;

/// Three cluster nodes; `Drop` kills them with their temporary directories.
pub struct TestCluster {
    nodes: Vec<TestRedis>,
}

impl TestCluster {
    /// Starts three nodes, gives each a third of the slots and waits until every node
    /// reports `cluster_state:ok` and knows the other two.
    pub async fn start() -> TestCluster {
        let nodes: Vec<TestRedis> = (0..3)
            .map(|_| {
                TestRedis::start_with_args(&[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-node-timeout",
                    "5000",
                ])
            })
            .collect();
        let cluster = TestCluster { nodes };
        let share = SLOTS / 3;
        for (i, node) in cluster.nodes.iter().enumerate() {
            let i = u16::try_from(i).expect("three nodes");
            let first = i * share;
            let last = if i == 2 { SLOTS - 1 } else { first + share - 1 };
            let _: () = ::redis::cmd("CLUSTER")
                .arg("ADDSLOTSRANGE")
                .arg(first)
                .arg(last)
                .query_async(&mut node.client().await)
                .await
                .expect("CLUSTER ADDSLOTSRANGE");
        }
        let mut first = cluster.nodes[0].client().await;
        for node in &cluster.nodes[1..] {
            let _: () = ::redis::cmd("CLUSTER")
                .arg("MEET")
                .arg("127.0.0.1")
                .arg(node.port())
                .query_async(&mut first)
                .await
                .expect("CLUSTER MEET");
        }
        cluster.wait_until_formed().await;
        cluster
    }

    async fn wait_until_formed(&self) {
        let deadline = Instant::now() + FORM_DEADLINE;
        loop {
            let mut ready = true;
            for node in &self.nodes {
                let info: String = ::redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query_async(&mut node.client().await)
                    .await
                    .expect("CLUSTER INFO");
                ready &=
                    info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3");
            }
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the three-node cluster did not form within {FORM_DEADLINE:?}; logs:\n{}",
                self.nodes
                    .iter()
                    .map(TestRedis::log)
                    .collect::<Vec<_>>()
                    .join("\n---\n")
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every node's URL, comma-separated, as `GAPRELAY_REDIS_URL` takes them.
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(TestRedis::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Seed URLs as a list.
    pub fn seeds(&self) -> Vec<String> {
        self.nodes.iter().map(TestRedis::url).collect()
    }

    /// The nodes themselves, to inspect each one directly.
    pub fn nodes(&self) -> &[TestRedis] {
        &self.nodes
    }

    /// Every key on every node, as `(node index, key)`.
    pub async fn keys(&self) -> Vec<(usize, String)> {
        let mut all = Vec::new();
        for (i, node) in self.nodes.iter().enumerate() {
            let keys: Vec<String> = ::redis::cmd("KEYS")
                .arg("*")
                .query_async(&mut node.client().await)
                .await
                .expect("KEYS");
            all.extend(keys.into_iter().map(|k| (i, k)));
        }
        all.sort();
        all
    }

    /// Empties every node (between scenarios that expect an empty store).
    pub async fn flush(&self) {
        for node in &self.nodes {
            let _: () = ::redis::cmd("FLUSHALL")
                .query_async(&mut node.client().await)
                .await
                .expect("FLUSHALL");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_three_node_cluster_forms_and_spreads_keys_over_its_nodes() {
        let cluster = TestCluster::start().await;
        let client = ::redis::cluster::ClusterClient::new(cluster.seeds()).expect("client");
        let mut conn = client.get_async_connection().await.expect("connect");
        for i in 0..30 {
            let _: () = ::redis::cmd("SET")
                .arg(format!("k{i}"))
                .arg(i)
                .query_async(&mut conn)
                .await
                .expect("SET through the cluster client");
        }
        let keys = cluster.keys().await;
        assert_eq!(keys.len(), 30);
        let nodes_used: std::collections::BTreeSet<usize> = keys.iter().map(|(n, _)| *n).collect();
        assert_eq!(nodes_used.len(), 3, "30 keys land on all three nodes");
    }
}
