//! The Redis store: configuration as JSON values under per-practitioner hash-tagged
//! keys, the delivery queue in partitions (each a sorted set of due times plus one
//! expiring hash per message), and audit logs as streams. See [`super::keys`] for every key. This file
//! holds the connection and the scripts (each loaded once, from `store/lua/`); each
//! concern's trait is implemented in its own file.

mod audit;
mod config;
mod conn;
mod migrate;
mod queue;

use super::{keys, Replaced, StoreError};
use crate::domain::practitioner::Practitioner;
use anyhow::Context;
use conn::RedisConn;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Queues messages in one partition.
const ENQUEUE_SCRIPT: &str = include_str!("../lua/enqueue.lua");

/// Claims due messages under a lease, purging expired ones first.
const CLAIM_SCRIPT: &str = include_str!("../lua/claim.lua");

/// Settles a claimed message and records the attempt in its delivery-log record.
const SETTLE_SCRIPT: &str = include_str!("../lua/settle.lua");

/// Disables an endpoint after a 410, if its URL is still the one that answered.
const DISABLE_ENDPOINT_SCRIPT: &str = include_str!("../lua/disable_endpoint.lua");
/// Replaces an endpoint's record if it is still at the expected version.
const REPLACE_ENDPOINT_SCRIPT: &str = include_str!("../lua/replace_endpoint.lua");

/// Makes an endpoint's waiting messages due now, except those in flight.
const RETRY_NOW_SCRIPT: &str = include_str!("../lua/retry_now.lua");

/// Revokes a key unless it is the practitioner's last owner key.
const REVOKE_SCRIPT: &str = include_str!("../lua/revoke_api_key.lua");

/// The compare-and-set of a practitioner's record.
const REPLACE_PRACTITIONER_SCRIPT: &str = include_str!("../lua/replace_practitioner.lua");

/// The compare-and-set erasure of a practitioner's own keys.
const ERASE_PRACTITIONER_SCRIPT: &str = include_str!("../lua/erase_practitioner.lua");

/// Hands a message awaiting an endpoint over to one.
const HAND_OVER_SCRIPT: &str = include_str!("../lua/hand_over.lua");

/// At most one alert per failing endpoint per window.
const CLAIM_ALERT_SCRIPT: &str = include_str!("../lua/claim_alert.lua");

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Redis-backed [`super::Store`]. Every script is built once, when the store connects;
/// `redis::Script` sends its hash and loads the text only when the server lacks it.
#[derive(Clone)]
pub struct RedisStore {
    conn: RedisConn,
    /// How a thread opens a connection of its own (one server only; see
    /// [`RedisStore::thread_conn`]).
    own: Option<Arc<ThreadConns>>,
    /// A node to subscribe to for [`keys::QUEUED_CHANNEL`] (on a cluster any node
    /// sees every publication).
    pubsub: redis::Client,
    /// Where the next claim starts its turn over the queue's partitions (shared by the
    /// store's clones, so one process's workers take turns too).
    next_partition: Arc<AtomicUsize>,
    enqueue: redis::Script,
    claim: redis::Script,
    settle: redis::Script,
    revoke: redis::Script,
    replace_practitioner: redis::Script,
    erase_practitioner: redis::Script,
    disable_endpoint: redis::Script,
    replace_endpoint: redis::Script,
    hand_over: redis::Script,
    retry_now: redis::Script,
    claim_alert: redis::Script,
}

/// What a thread needs to open its own connection to a single Redis server.
struct ThreadConns {
    client: redis::Client,
    config: ConnectionManagerConfig,
}

/// A thread's own connection for one store: being opened, or open.
enum OwnConn {
    Opening,
    Open(ConnectionManager),
}

thread_local! {
    /// This thread's own connections, one per store that asked for one (a store is
    /// known by its [`ThreadConns`]; entries of dropped stores go at the next look-up).
    static THREAD_CONNS: RefCell<Vec<(Weak<ThreadConns>, OwnConn)>> =
        const { RefCell::new(Vec::new()) };
}

/// Whether a thread's entry belongs to the store `own`.
fn is(store: &Weak<ThreadConns>, own: &Arc<ThreadConns>) -> bool {
    std::ptr::eq(store.as_ptr(), Arc::as_ptr(own))
}

/// Opens this thread's own connection for a store and files it (see
/// [`RedisStore::thread_conn`]); after a failure the entry goes, for a later call to
/// try again.
async fn open_thread_conn(own: Arc<ThreadConns>) {
    let opened = own
        .client
        .get_connection_manager_with_config(own.config.clone())
        .await;
    THREAD_CONNS.with_borrow_mut(|conns| match opened {
        Ok(conn) => {
            if let Some(entry) = conns.iter_mut().find(|(store, _)| is(store, &own)) {
                entry.1 = OwnConn::Open(conn);
            }
        }
        Err(e) => {
            tracing::debug!(error = %e, "cannot open a Redis connection of this thread's own; the shared one serves");
            conns.retain(|(store, _)| !is(store, &own));
        }
    });
}

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(anyhow::Error::new(e).context("redis command failed"))
}

impl RedisStore {
    /// Connects to one Redis server (with timeouts, reconnecting in the background
    /// after failures).
    pub async fn connect(url: &str) -> anyhow::Result<RedisStore> {
        let client =
            redis::Client::open(url).context("GAPRELAY_REDIS_URL is not a valid Redis URL")?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_response_timeout(RESPONSE_TIMEOUT)
            .set_number_of_retries(2)
            .set_max_delay(1000);
        let conn = client
            .get_connection_manager_with_config(config.clone())
            .await
            .context("cannot connect to Redis")?;
        let mut store = RedisStore::with(RedisConn::Single(conn), client.clone());
        store.own = Some(Arc::new(ThreadConns { client, config }));
        store.retire_expiry_index().await;
        Ok(store)
    }

    /// Connects to a Redis Cluster through any of its nodes (`seeds`); the client
    /// learns the rest of the cluster from them and follows slot moves.
    pub async fn connect_cluster(seeds: &[String]) -> anyhow::Result<RedisStore> {
        let client = redis::cluster::ClusterClient::builder(seeds.to_vec())
            .connection_timeout(CONNECT_TIMEOUT)
            .response_timeout(RESPONSE_TIMEOUT)
            .retries(2)
            .max_retry_wait(1000)
            .build()
            .context("GAPRELAY_REDIS_URL is not a valid list of Redis Cluster node URLs")?;
        let conn = client
            .get_async_connection()
            .await
            .context("cannot connect to the Redis Cluster")?;
        let node = redis::Client::open(seeds.first().map(String::as_str).unwrap_or_default())
            .context("GAPRELAY_REDIS_URL is not a valid list of Redis Cluster node URLs")?;
        let store = RedisStore::with(RedisConn::Cluster(conn), node);
        store.retire_expiry_index().await;
        Ok(store)
    }

    /// Gives the former expiry index ([`keys::unpartitioned::EXPIRY`]), which older relays kept
    /// and this one no longer reads, a day to live (ids only; everything it names is
    /// gone by then). Nothing to do on a Redis that has none; a failure is harmless.
    async fn retire_expiry_index(&self) {
        let done: Result<i64, _> = redis::cmd("PEXPIRE")
            .arg(keys::unpartitioned::EXPIRY)
            .arg(24 * 60 * 60 * 1000)
            .arg("NX")
            .query_async(&mut self.conn())
            .await;
        if let Err(e) = done {
            tracing::debug!(error = %e, "could not set the former expiry index to expire");
        }
    }

    fn with(conn: RedisConn, pubsub: redis::Client) -> RedisStore {
        RedisStore {
            conn,
            own: None,
            pubsub,
            next_partition: Arc::new(AtomicUsize::new(0)),
            enqueue: redis::Script::new(ENQUEUE_SCRIPT),
            claim: redis::Script::new(CLAIM_SCRIPT),
            settle: redis::Script::new(SETTLE_SCRIPT),
            revoke: redis::Script::new(REVOKE_SCRIPT),
            replace_practitioner: redis::Script::new(REPLACE_PRACTITIONER_SCRIPT),
            disable_endpoint: redis::Script::new(DISABLE_ENDPOINT_SCRIPT),
            replace_endpoint: redis::Script::new(REPLACE_ENDPOINT_SCRIPT),
            hand_over: redis::Script::new(HAND_OVER_SCRIPT),
            retry_now: redis::Script::new(RETRY_NOW_SCRIPT),
            erase_practitioner: redis::Script::new(ERASE_PRACTITIONER_SCRIPT),
            claim_alert: redis::Script::new(CLAIM_ALERT_SCRIPT),
        }
    }

    fn conn(&self) -> RedisConn {
        self.conn.clone()
    }

    /// A connection whose I/O runs on the calling thread, for the intake's hot path.
    /// The shared connection's task runs on the runtime that connected the store, so
    /// every command an HTTP worker thread sends through it crosses threads twice (to
    /// that task and back), and on a busy machine each crossing is a wake-up and a
    /// context switch. A connection opened on the HTTP worker's own single-threaded
    /// runtime keeps the whole request on its thread.
    ///
    /// One per such thread and store, opened in the background at the thread's first
    /// call (the shared connection serves meanwhile, so no request waits for it, nor
    /// for a Redis that cannot be reached) and kept for the thread's life. A failed
    /// opening is tried again at a later call. On a multi-threaded runtime (the
    /// delivery workers, which share the shared connection's runtime) and on a cluster
    /// the shared connection serves.
    fn thread_conn(&self) -> RedisConn {
        let Some(own) = &self.own else {
            return self.conn();
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return self.conn();
        };
        if runtime.runtime_flavor() != tokio::runtime::RuntimeFlavor::CurrentThread {
            return self.conn();
        }
        let open = THREAD_CONNS.with_borrow_mut(|conns| {
            conns.retain(|(store, _)| store.strong_count() > 0);
            match conns.iter().find(|(store, _)| is(store, own)) {
                Some((_, OwnConn::Open(conn))) => Some(conn.clone()),
                Some((_, OwnConn::Opening)) => None,
                None => {
                    conns.push((Arc::downgrade(own), OwnConn::Opening));
                    // A current-thread runtime runs what it spawns on this thread, so
                    // the connection's own task runs here too.
                    runtime.spawn(open_thread_conn(own.clone()));
                    None
                }
            }
        });
        open.map_or_else(|| self.conn(), RedisConn::Single)
    }

    /// A page of a sorted set's members after `cursor` (a member), ascending or
    /// (`rev`) descending, and whether more follow; `None` when the cursor is unknown.
    async fn zset_page(
        &self,
        key: &str,
        cursor: Option<&str>,
        limit: usize,
        rev: bool,
    ) -> Result<Option<(Vec<String>, bool)>, StoreError> {
        let start: isize = match cursor {
            None => 0,
            Some(c) => {
                let rank: Option<isize> = if rev {
                    self.conn().zrevrank(key, c).await
                } else {
                    self.conn().zrank(key, c).await
                }
                .map_err(unavailable)?;
                match rank {
                    Some(r) => r + 1,
                    None => return Ok(None),
                }
            }
        };
        // One more than asked tells whether there is a next page.
        let stop = start + isize::try_from(limit).unwrap_or(isize::MAX);
        let mut ids: Vec<String> = if rev {
            self.conn().zrevrange(key, start, stop).await
        } else {
            self.conn().zrange(key, start, stop).await
        }
        .map_err(unavailable)?;
        let more = ids.len() > limit;
        ids.truncate(limit);
        Ok(Some((ids, more)))
    }

    /// Stores `value` as JSON in field `field` of the hash `key`.
    async fn hash_put<T: serde::Serialize>(
        &self,
        key: String,
        field: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(value)?;
        self.conn()
            .hset::<_, _, _, ()>(key, field, json)
            .await
            .map_err(unavailable)
    }

    /// Removes a field of a hash; true if it existed.
    async fn hash_remove(&self, key: String, field: &str) -> Result<bool, StoreError> {
        let n: u32 = self.conn().hdel(key, field).await.map_err(unavailable)?;
        Ok(n > 0)
    }

    /// Every JSON value of a hash, in field order.
    async fn hash_values<T: serde::de::DeserializeOwned>(
        &self,
        key: String,
    ) -> Result<Vec<T>, StoreError> {
        let all: BTreeMap<String, String> = self.conn().hgetall(key).await.map_err(unavailable)?;
        parse_json_values(&all)
    }

    /// Writes a practitioner's record if its stored version is `expected_version`.
    async fn cas_practitioner(
        &self,
        p: &Practitioner,
        expected_version: u64,
    ) -> Result<Replaced, StoreError> {
        let json = serde_json::to_string(p)?;
        let outcome: i64 = self
            .replace_practitioner
            .key(keys::practitioner(&p.id))
            .arg(expected_version)
            .arg(json)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(match outcome {
            1 => Replaced::Written,
            0 => Replaced::Stale,
            _ => Replaced::Missing,
        })
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let raw: Option<String> = self.conn().get(key).await.map_err(unavailable)?;
        raw.map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(Into::into)
    }
}

/// JSON records from a hash, ordered by field.
fn parse_json_values<T: serde::de::DeserializeOwned>(
    all: &BTreeMap<String, String>,
) -> Result<Vec<T>, StoreError> {
    all.values()
        .map(|v| serde_json::from_str(v).map_err(Into::into))
        .collect()
}
