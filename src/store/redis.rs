//! The Redis store: configuration as JSON values under per-practitioner hash-tagged
//! keys, and the delivery queue as a sorted set of due times plus one expiring hash
//! per message. See [`super::keys`] for every key.

use super::redis_conn::RedisConn;
use super::{
    keys, AlertSubject, ApiKeyRecord, AuditEntry, ClaimedMessage, DeliveryRecord, DeliveryUpdate,
    EndpointRecord, ExpiredNotice, FormContext, NewMessage, Page, Replaced, Revocation, Settlement,
    Store, StoreError, DELIVERY_LOG_TTL_MS,
};
use crate::crypto::api_key::ApiKeyHash;
use crate::domain::catalog::Sex;
use crate::domain::custom::CustomMarker;
use crate::domain::delivery::DeliveryStatus;
use crate::domain::ids::{ApiKeyId, EndpointId, MessageId, PractitionerId, SubmissionId};
use crate::domain::practitioner::{ConsentVersion, Practitioner};
use crate::domain::ranges::RangeOverride;
use anyhow::Context;
use redis::AsyncCommands;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Claims due messages under a lease, in one round trip. First purges every message past
/// its expiry (the expiry index makes that cheap); entries whose message key is gone
/// are dropped from the schedule. Returns a flat list of
/// `id, sealed, endpoint, practitioner, attempt, expires` per claimed message.
const CLAIM_SCRIPT: &str = r"
local now = tonumber(ARGV[1])
local lease_until = now + tonumber(ARGV[2])
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)
local function mark_expired(id)
  local d = ARGV[5] .. id
  local st = redis.call('HGET', d, 'status')
  if st == 'pending' or st == 'retrying' or st == 'awaiting_endpoint' then
    redis.call('HSET', d, 'status', 'expired', 'next_attempt_ms', '', 'updated_ms', now)
    -- A notice for the practice's other endpoints (ids only), for submissions alone so
    -- that notices about notices cannot bounce between two failing endpoints.
    local f = redis.call('HMGET', d, 'event', 'practitioner', 'endpoint', 'submission')
    if f[1] == 'intake.submitted' then
      redis.call('RPUSH', KEYS[3], id .. '|' .. f[2] .. '|' .. f[3] .. '|' .. (f[4] or ''))
    end
  end
end
for _, id in ipairs(expired) do
  redis.call('DEL', ARGV[4] .. id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  mark_expired(id)
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local key = ARGV[4] .. id
  local f = redis.call('HMGET', key, 'sealed', 'endpoint', 'practitioner', 'attempt', 'expires')
  if not f[1] then
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    mark_expired(id)
  elseif tonumber(f[5]) <= now then
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    mark_expired(id)
  else
    redis.call('ZADD', KEYS[1], lease_until, id)
    -- Remembered so that a retry on request leaves a message in flight alone.
    redis.call('HSET', key, 'leased_until', lease_until)
    local attempt = redis.call('HINCRBY', key, 'attempt', 1)
    table.insert(out, id)
    table.insert(out, f[1])
    table.insert(out, f[2])
    table.insert(out, f[3])
    table.insert(out, attempt)
    table.insert(out, f[5])
  end
end
return out
";

/// Settles a claimed message and records the attempt in its delivery-log record, in
/// one atomic step (the record shares the queue's hash slot). `KEYS`: due schedule,
/// message hash, expiry index, delivery record. `ARGV`: mode (`remove`, `reschedule`
/// or `release`), id, due ms, whether to log (`1`/`0`), then the record's status,
/// attempts, next attempt, last HTTP status, last error and time. A message that is
/// gone is not re-queued and its record not touched: the claim script's purge marks it
/// (expired) or another worker settled it after this one's lease lapsed. Only a
/// delivery is logged regardless: a delivery is a delivery, whoever settled first.
const SETTLE_SCRIPT: &str = r"
local mode = ARGV[1]
local exists = redis.call('EXISTS', KEYS[2]) == 1
if mode == 'remove' then
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[1], ARGV[2])
  redis.call('ZREM', KEYS[3], ARGV[2])
  if not exists and ARGV[5] ~= 'delivered' then
    return 0
  end
elseif not exists then
  return 0
else
  redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[2])
  redis.call('HDEL', KEYS[2], 'leased_until')
  if mode == 'release' then
    redis.call('HINCRBY', KEYS[2], 'attempt', -1)
  end
end
if ARGV[4] == '1' and redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('HSET', KEYS[4], 'status', ARGV[5], 'attempts', ARGV[6], 'next_attempt_ms', ARGV[7],
    'last_http_status', ARGV[8], 'last_error', ARGV[9], 'updated_ms', ARGV[10])
end
return 1
";

/// Disables an endpoint after a 410, changing its `enabled` field alone: only if the
/// record still exists and its URL is still the one that answered. `KEYS`: the
/// practitioner's endpoints hash. `ARGV`: endpoint id, URL. Returns 1 if disabled now.
/// Its version moves on like any other change's, so a change read before it is stale.
const DISABLE_ENDPOINT_SCRIPT: &str = r"
local rec = redis.call('HGET', KEYS[1], ARGV[1])
if not rec then return 0 end
local e = cjson.decode(rec)
if e.url ~= ARGV[2] or e.enabled == false then return 0 end
e.enabled = false
e.version = (tonumber(e.version) or 0) + 1
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(e))
return 1
";

/// Makes every queued message of one endpoint due now, except those under a live
/// lease, and records the new due time in their delivery-log records. `KEYS`: due
/// schedule. `ARGV`: endpoint id, now, message key prefix, delivery key prefix. Reads
/// the whole schedule: a practice's request, rare, against a queue that holds at most
/// a day of messages.
const RETRY_NOW_SCRIPT: &str = r"
local now = tonumber(ARGV[2])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
local n = 0
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', ARGV[3] .. id, 'endpoint', 'leased_until')
  if f[1] == ARGV[1] and (not f[2] or tonumber(f[2]) <= now) then
    redis.call('ZADD', KEYS[1], 'XX', now, id)
    local d = ARGV[4] .. id
    if redis.call('EXISTS', d) == 1 then
      redis.call('HSET', d, 'next_attempt_ms', now)
    end
    n = n + 1
  end
end
return n
";

/// Revokes a key unless it is the practitioner's last owner key, atomically (the index
/// and the last-used hash share the practitioner's slot). Returns `{0}` (no such key),
/// `{2}` (last owner) or `{1, record}` (revoked; the caller then deletes the lookup key).
const REVOKE_SCRIPT: &str = r"
local rec = redis.call('HGET', KEYS[1], ARGV[1])
if not rec then return {0} end
if cjson.decode(rec).role == 'owner' then
  local owners = 0
  for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
    if cjson.decode(v).role == 'owner' then owners = owners + 1 end
  end
  if owners <= 1 then return {2} end
end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return {1, rec}
";

/// The compare-and-set of a practitioner's record (see the script for its contract).
const REPLACE_PRACTITIONER_SCRIPT: &str = include_str!("lua/replace_practitioner.lua");

/// Hands a message awaiting an endpoint over to one (see the script for its contract).
const HAND_OVER_SCRIPT: &str = include_str!("lua/hand_over.lua");

/// Replaces an endpoint's record if it is still at the expected version.
const REPLACE_ENDPOINT_SCRIPT: &str = include_str!("lua/replace_endpoint.lua");

/// At most one alert per failing endpoint per window (see the script for its contract).
const CLAIM_ALERT_SCRIPT: &str = include_str!("lua/claim_alert.lua");

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Redis-backed [`Store`].
#[derive(Clone)]
pub struct RedisStore {
    conn: RedisConn,
    claim: redis::Script,
    settle: redis::Script,
    revoke: redis::Script,
    replace_practitioner: redis::Script,
    disable_endpoint: redis::Script,
    replace_endpoint: redis::Script,
    hand_over: redis::Script,
    retry_now: redis::Script,
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
            .get_connection_manager_with_config(config)
            .await
            .context("cannot connect to Redis")?;
        Ok(RedisStore::with(RedisConn::Single(conn)))
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
        Ok(RedisStore::with(RedisConn::Cluster(conn)))
    }

    fn with(conn: RedisConn) -> RedisStore {
        RedisStore {
            conn,
            claim: redis::Script::new(CLAIM_SCRIPT),
            settle: redis::Script::new(SETTLE_SCRIPT),
            revoke: redis::Script::new(REVOKE_SCRIPT),
            replace_practitioner: redis::Script::new(REPLACE_PRACTITIONER_SCRIPT),
            disable_endpoint: redis::Script::new(DISABLE_ENDPOINT_SCRIPT),
            replace_endpoint: redis::Script::new(REPLACE_ENDPOINT_SCRIPT),
            hand_over: redis::Script::new(HAND_OVER_SCRIPT),
            retry_now: redis::Script::new(RETRY_NOW_SCRIPT),
        }
    }

    fn conn(&self) -> RedisConn {
        self.conn.clone()
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

#[async_trait::async_trait]
impl Store for RedisStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn create_practitioner(
        &self,
        p: &Practitioner,
        owner_key: &ApiKeyRecord,
    ) -> Result<(), StoreError> {
        let slug_key = keys::slug(p.slug.as_str());
        let claimed: bool = redis::cmd("SET")
            .arg(&slug_key)
            .arg(p.id.as_str())
            .arg("NX")
            .query_async::<Option<String>>(&mut self.conn())
            .await
            .map_err(unavailable)?
            .is_some();
        if !claimed {
            return Err(StoreError::Conflict("slug is already taken"));
        }
        // The slug is reserved; the records go in one transaction (one hash slot each
        // would be needed for a cross-key transaction on Cluster, so this is a pipeline
        // that is atomic on a single node and undone below on failure).
        let key_json = serde_json::to_string(owner_key)?;
        let result: Result<(), _> = redis::pipe()
            .set(keys::practitioner(&p.id), serde_json::to_string(p)?)
            .ignore()
            .hset(keys::api_keys(&p.id), owner_key.id.as_str(), &key_json)
            .ignore()
            .set(keys::api_key(&owner_key.hash), &key_json)
            .ignore()
            .zadd(
                keys::PRACTITIONERS,
                p.id.as_str(),
                p.created_at.unix_timestamp() * 1000,
            )
            .ignore()
            .query_async(&mut self.conn())
            .await;
        if let Err(e) = result {
            let _: Result<(), _> = self.conn().del(&slug_key).await;
            return Err(unavailable(e));
        }
        Ok(())
    }

    async fn practitioner(&self, id: &PractitionerId) -> Result<Option<Practitioner>, StoreError> {
        self.get_json(&keys::practitioner(id)).await
    }

    async fn practitioner_by_slug(&self, slug: &str) -> Result<Option<Practitioner>, StoreError> {
        let id: Option<String> = self
            .conn()
            .get(keys::slug(slug))
            .await
            .map_err(unavailable)?;
        let Some(id) = id else { return Ok(None) };
        let id = PractitionerId::parse(&id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.practitioner(&id).await
    }

    async fn practitioners(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Practitioner>, StoreError> {
        let Some((ids, more)) = self
            .zset_page(keys::PRACTITIONERS, cursor, limit, false)
            .await?
        else {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            });
        };

        let mut pipe = redis::pipe();
        for id in ids.iter().take(limit) {
            let id = PractitionerId::parse(id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            pipe.get(keys::practitioner(&id));
        }
        let raw: Vec<Option<String>> = pipe
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let items = raw
            .into_iter()
            .flatten()
            .map(|s| serde_json::from_str(&s))
            .collect::<Result<Vec<Practitioner>, _>>()?;
        let next_cursor = if more {
            items.last().map(|p| p.id.to_string())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    async fn schedule_erasure(
        &self,
        p: &Practitioner,
        expected_version: u64,
        at_ms: Option<i64>,
    ) -> Result<Replaced, StoreError> {
        // The index is a shared key (another hash slot on Cluster), so it cannot change
        // in the same script as the record. It is changed on the side where a failure
        // leaves it naming too many practitioners, never too few: added before a
        // schedule is written, removed after a cancellation is. The record decides.
        if let Some(at) = at_ms {
            self.conn()
                .zadd::<_, _, _, ()>(keys::ERASURES, p.id.as_str(), at)
                .await
                .map_err(unavailable)?;
        }
        let outcome = self.cas_practitioner(p, expected_version).await?;
        if at_ms.is_none() && outcome == Replaced::Written {
            self.conn()
                .zrem::<_, _, ()>(keys::ERASURES, p.id.as_str())
                .await
                .map_err(unavailable)?;
        }
        Ok(outcome)
    }

    async fn erasures_due(&self, now_ms: i64) -> Result<Vec<PractitionerId>, StoreError> {
        let ids: Vec<String> = self
            .conn()
            .zrangebyscore(keys::ERASURES, "-inf", now_ms)
            .await
            .map_err(unavailable)?;
        ids.iter()
            .map(|id| PractitionerId::parse(id).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }

    async fn erase_practitioner(&self, id: &PractitionerId) -> Result<(), StoreError> {
        let practitioner = self.practitioner(id).await?;
        let key_records: Vec<(ApiKeyRecord, Option<i64>)> = self.api_keys(id).await?;
        // The practitioner's own keys share its slot and go together; the slug, key
        // look-ups and indexes live elsewhere and follow.
        redis::pipe()
            .del(&[
                keys::practitioner(id),
                keys::ranges(id),
                keys::custom_markers(id),
                keys::consent_versions(id),
                keys::endpoints(id),
                keys::api_keys(id),
                keys::api_keys_used(id),
                keys::audit(id),
            ])
            .ignore()
            .query_async::<()>(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let log_index = keys::deliveries(id);
        let logged: Vec<String> = self
            .conn()
            .zrange(&log_index, 0, -1)
            .await
            .map_err(unavailable)?;
        let mut pipe = redis::pipe();
        if let Some(p) = practitioner {
            pipe.del(keys::slug(p.slug.as_str())).ignore();
        }
        for m in logged.iter().filter_map(|m| MessageId::parse(m).ok()) {
            pipe.del(keys::delivery(&m)).ignore();
        }
        pipe.del(&log_index).ignore();
        for (r, _) in &key_records {
            pipe.del(keys::api_key(&r.hash)).ignore();
        }
        pipe.zrem(keys::PRACTITIONERS, id.as_str()).ignore();
        pipe.zrem(keys::ERASURES, id.as_str()).ignore();
        pipe.query_async::<()>(&mut self.conn())
            .await
            .map_err(unavailable)
    }

    async fn create_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let json = serde_json::to_string(key)?;
        self.conn()
            .hset::<_, _, _, ()>(keys::api_keys(&key.practitioner_id), key.id.as_str(), &json)
            .await
            .map_err(unavailable)?;
        self.conn()
            .set::<_, _, ()>(keys::api_key(&key.hash), &json)
            .await
            .map_err(unavailable)
    }

    async fn api_keys(
        &self,
        practitioner: &PractitionerId,
    ) -> Result<Vec<(ApiKeyRecord, Option<i64>)>, StoreError> {
        let (records, used): (HashMap<String, String>, HashMap<String, i64>) = redis::pipe()
            .hgetall(keys::api_keys(practitioner))
            .hgetall(keys::api_keys_used(practitioner))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let mut list = records
            .values()
            .map(|v| serde_json::from_str::<ApiKeyRecord>(v))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .map(|r| {
                let at = used.get(r.id.as_str()).copied();
                (r, at)
            })
            .collect::<Vec<_>>();
        list.sort_by(|a, b| (a.0.created_at, &a.0.id).cmp(&(b.0.created_at, &b.0.id)));
        Ok(list)
    }

    async fn revoke_api_key(
        &self,
        practitioner: &PractitionerId,
        id: &ApiKeyId,
    ) -> Result<Revocation, StoreError> {
        let reply: Vec<redis::Value> = self
            .revoke
            .key(keys::api_keys(practitioner))
            .key(keys::api_keys_used(practitioner))
            .arg(id.as_str())
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let code: i64 = reply
            .first()
            .and_then(|v| redis::from_redis_value(v).ok())
            .unwrap_or_default();
        match code {
            1 => {
                let json: String = reply
                    .get(1)
                    .and_then(|v| redis::from_redis_value(v).ok())
                    .ok_or_else(|| StoreError::Corrupt("revoked key record".into()))?;
                let record: ApiKeyRecord = serde_json::from_str(&json)?;
                self.conn()
                    .del::<_, ()>(keys::api_key(&record.hash))
                    .await
                    .map_err(unavailable)?;
                Ok(Revocation::Revoked(record))
            }
            2 => Ok(Revocation::LastOwner),
            _ => Ok(Revocation::NotFound),
        }
    }

    async fn touch_api_key(&self, key: &ApiKeyRecord, at_ms: i64) -> Result<(), StoreError> {
        self.conn()
            .hset::<_, _, _, ()>(
                keys::api_keys_used(&key.practitioner_id),
                key.id.as_str(),
                at_ms,
            )
            .await
            .map_err(unavailable)
    }

    async fn append_audit(
        &self,
        practitioner: Option<&PractitionerId>,
        entry: &AuditEntry,
        _now_ms: i64,
        retain_after_ms: i64,
    ) -> Result<(), StoreError> {
        let key = practitioner
            .map(keys::audit)
            .unwrap_or_else(|| keys::OPERATOR_AUDIT.to_owned());
        redis::cmd("XADD")
            .arg(&key)
            .arg("MINID")
            .arg("=")
            .arg(retain_after_ms.max(0))
            .arg("*")
            .arg("entry")
            .arg(serde_json::to_string(entry)?)
            .query_async::<String>(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn audit_log(
        &self,
        practitioner: Option<&PractitionerId>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let key = practitioner
            .map(keys::audit)
            .unwrap_or_else(|| keys::OPERATOR_AUDIT.to_owned());
        let end = match cursor {
            Some(c) if is_stream_id(c) => format!("({c}"),
            Some(_) => {
                return Ok(Page {
                    items: Vec::new(),
                    next_cursor: None,
                })
            }
            None => "+".to_owned(),
        };
        let reply: redis::streams::StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(&key)
            .arg(end)
            .arg("-")
            .arg("COUNT")
            .arg(limit + 1)
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let more = reply.ids.len() > limit;
        let mut items = Vec::new();
        let mut last_id = None;
        for sid in reply.ids.into_iter().take(limit) {
            let json: String = sid
                .get("entry")
                .ok_or_else(|| StoreError::Corrupt("audit entry".into()))?;
            items.push(serde_json::from_str(&json)?);
            last_id = Some(sid.id);
        }
        Ok(Page {
            items,
            next_cursor: if more { last_id } else { None },
        })
    }

    async fn replace_practitioner(
        &self,
        p: &Practitioner,
        expected_version: u64,
    ) -> Result<Replaced, StoreError> {
        self.cas_practitioner(p, expected_version).await
    }

    async fn api_key_by_hash(&self, hash: &ApiKeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        let record: Option<ApiKeyRecord> = self.get_json(&keys::api_key(&hash.to_hex())).await?;
        // The lookup is by hash; the stored hash is compared again in constant time so a
        // corrupt or misfiled record can never authenticate another key.
        Ok(record.filter(|r| ApiKeyHash::from_hex(&r.hash).is_some_and(|h| h.ct_eq(hash))))
    }

    async fn put_range(
        &self,
        practitioner: &PractitionerId,
        range: &RangeOverride,
    ) -> Result<(), StoreError> {
        self.hash_put(
            keys::ranges(practitioner),
            &keys::range_field(&range.marker, range.sex),
            range,
        )
        .await
    }

    async fn delete_range(
        &self,
        practitioner: &PractitionerId,
        marker: &str,
        sex: Option<Sex>,
    ) -> Result<bool, StoreError> {
        self.hash_remove(keys::ranges(practitioner), &keys::range_field(marker, sex))
            .await
    }

    async fn ranges(
        &self,
        practitioner: &PractitionerId,
    ) -> Result<Vec<RangeOverride>, StoreError> {
        self.hash_values(keys::ranges(practitioner)).await
    }

    async fn put_custom_marker(
        &self,
        practitioner: &PractitionerId,
        marker: &CustomMarker,
    ) -> Result<(), StoreError> {
        self.hash_put(keys::custom_markers(practitioner), &marker.id, marker)
            .await
    }

    async fn delete_custom_marker(
        &self,
        practitioner: &PractitionerId,
        id: &str,
    ) -> Result<bool, StoreError> {
        self.hash_remove(keys::custom_markers(practitioner), id)
            .await
    }

    async fn custom_markers(
        &self,
        practitioner: &PractitionerId,
    ) -> Result<Vec<CustomMarker>, StoreError> {
        self.hash_values(keys::custom_markers(practitioner)).await
    }

    async fn put_consent_version(
        &self,
        practitioner: &PractitionerId,
        version: &ConsentVersion,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(version)?;
        // HSETNX: the first record of a version is the one kept.
        self.conn()
            .hset_nx(
                keys::consent_versions(practitioner),
                version.version.to_string(),
                json,
            )
            .await
            .map_err(unavailable)
    }

    async fn consent_version(
        &self,
        practitioner: &PractitionerId,
        version: u32,
    ) -> Result<Option<ConsentVersion>, StoreError> {
        let raw: Option<String> = self
            .conn()
            .hget(keys::consent_versions(practitioner), version.to_string())
            .await
            .map_err(unavailable)?;
        let record: Option<ConsentVersion> = raw.map(|s| serde_json::from_str(&s)).transpose()?;
        // Read back untrusted: a record filed under another version is not this one.
        match record {
            Some(r) if r.version != version => {
                Err(StoreError::Corrupt(format!("consent version {version}")))
            }
            r => Ok(r),
        }
    }

    async fn consent_versions(
        &self,
        practitioner: &PractitionerId,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<ConsentVersion>, StoreError> {
        // A practice changes its wording rarely: the whole hash is small.
        let all = self
            .hash_values(keys::consent_versions(practitioner))
            .await?;
        Ok(super::page_consent_versions(all, cursor, limit))
    }

    async fn put_endpoint(&self, endpoint: &EndpointRecord) -> Result<(), StoreError> {
        self.hash_put(
            keys::endpoints(&endpoint.practitioner_id),
            endpoint.id.as_str(),
            endpoint,
        )
        .await
    }

    async fn replace_endpoint(
        &self,
        endpoint: &EndpointRecord,
        expected_version: u64,
    ) -> Result<Replaced, StoreError> {
        let done: i64 = self
            .replace_endpoint
            .key(keys::endpoints(&endpoint.practitioner_id))
            .arg(endpoint.id.as_str())
            .arg(expected_version)
            .arg(serde_json::to_string(endpoint)?)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(match done {
            1 => Replaced::Written,
            0 => Replaced::Stale,
            _ => Replaced::Missing,
        })
    }

    async fn endpoint(
        &self,
        practitioner: &PractitionerId,
        id: &EndpointId,
    ) -> Result<Option<EndpointRecord>, StoreError> {
        let raw: Option<String> = self
            .conn()
            .hget(keys::endpoints(practitioner), id.as_str())
            .await
            .map_err(unavailable)?;
        raw.map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(Into::into)
    }

    async fn endpoints(
        &self,
        practitioner: &PractitionerId,
    ) -> Result<Vec<EndpointRecord>, StoreError> {
        let mut list: Vec<EndpointRecord> = self.hash_values(keys::endpoints(practitioner)).await?;
        super::sort_endpoints(&mut list);
        Ok(list)
    }

    async fn disable_endpoint(
        &self,
        practitioner: &PractitionerId,
        id: &EndpointId,
        if_url: &str,
    ) -> Result<bool, StoreError> {
        let done: i64 = self
            .disable_endpoint
            .key(keys::endpoints(practitioner))
            .arg(id.as_str())
            .arg(if_url)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(done == 1)
    }

    async fn delete_endpoint(
        &self,
        practitioner: &PractitionerId,
        id: &EndpointId,
    ) -> Result<bool, StoreError> {
        self.hash_remove(keys::endpoints(practitioner), id.as_str())
            .await
    }

    async fn form_context(&self, slug: &str) -> Result<Option<FormContext>, StoreError> {
        let id: Option<String> = self
            .conn()
            .get(keys::slug(slug))
            .await
            .map_err(unavailable)?;
        let Some(id) = id else { return Ok(None) };
        let id = PractitionerId::parse(&id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // One round trip: the three keys share the practitioner's hash slot.
        let (practitioner, ranges, endpoints, custom): (
            Option<String>,
            BTreeMap<String, String>,
            HashMap<String, String>,
            BTreeMap<String, String>,
        ) = redis::pipe()
            .get(keys::practitioner(&id))
            .hgetall(keys::ranges(&id))
            .hgetall(keys::endpoints(&id))
            .hgetall(keys::custom_markers(&id))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let Some(practitioner) = practitioner else {
            return Ok(None);
        };
        Ok(Some(FormContext {
            practitioner: serde_json::from_str(&practitioner)?,
            ranges: parse_json_values(&ranges)?,
            endpoints: parse_endpoints(&endpoints)?,
            custom_markers: parse_json_values(&custom)?,
        }))
    }

    async fn enqueue(&self, messages: &[NewMessage]) -> Result<(), StoreError> {
        if messages.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for m in messages {
            let key = keys::message(&m.id);
            pipe.hset_multiple(
                &key,
                &[
                    ("endpoint", m.endpoint_id.as_str().as_bytes()),
                    ("practitioner", m.practitioner_id.as_str().as_bytes()),
                    ("attempt", b"0"),
                    ("expires", m.expires_at_ms.to_string().as_bytes()),
                    ("sealed", &m.sealed),
                ],
            )
            .ignore()
            .cmd("PEXPIREAT")
            .arg(&key)
            .arg(m.expires_at_ms)
            .ignore()
            .zadd(keys::QUEUE_DUE, m.id.as_str(), m.due_at_ms)
            .ignore()
            .zadd(keys::QUEUE_EXPIRY, m.id.as_str(), m.expires_at_ms)
            .ignore();
            // The delivery log record, in the same transaction.
            let log = keys::delivery(&m.id);
            let index = keys::deliveries(&m.practitioner_id);
            let due = m.due_at_ms.to_string();
            pipe.hset_multiple(
                &log,
                &[
                    ("practitioner", m.practitioner_id.as_str()),
                    ("endpoint", m.endpoint_id.as_str()),
                    ("event", m.event.as_str()),
                    (
                        "submission",
                        m.submission_id.as_ref().map(|s| s.as_str()).unwrap_or(""),
                    ),
                    // A message held for the practice's first endpoint says so.
                    (
                        "status",
                        if m.endpoint_id.is_awaiting() {
                            DeliveryStatus::AwaitingEndpoint.as_str()
                        } else {
                            DeliveryStatus::Pending.as_str()
                        },
                    ),
                    ("attempts", "0"),
                    ("next_attempt_ms", due.as_str()),
                    ("created_ms", due.as_str()),
                    ("updated_ms", due.as_str()),
                ],
            )
            .ignore()
            .cmd("PEXPIREAT")
            .arg(&log)
            .arg(m.due_at_ms.saturating_add(DELIVERY_LOG_TTL_MS))
            .ignore()
            .zadd(&index, m.id.as_str(), m.due_at_ms)
            .ignore()
            .zrembyscore(
                &index,
                "-inf",
                format!("({}", m.due_at_ms - DELIVERY_LOG_TTL_MS),
            )
            .ignore();
        }
        pipe.query_async::<()>(&mut self.conn())
            .await
            .map_err(unavailable)
    }

    async fn claim_due(
        &self,
        now_ms: i64,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<ClaimedMessage>, StoreError> {
        let raw: Vec<redis::Value> = self
            .claim
            .key(keys::QUEUE_DUE)
            .key(keys::QUEUE_EXPIRY)
            .key(keys::EXPIRED_NOTICES)
            .arg(now_ms)
            .arg(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX))
            .arg(limit)
            .arg(keys::QUEUE_MESSAGE_PREFIX)
            .arg(keys::DELIVERY_PREFIX)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        raw.chunks(6).map(parse_claimed).collect()
    }

    async fn settle(
        &self,
        id: &MessageId,
        settlement: Settlement,
        log: Option<&DeliveryUpdate>,
    ) -> Result<(), StoreError> {
        let (mode, due) = match settlement {
            Settlement::Remove => ("remove", 0),
            Settlement::Reschedule { due_at_ms } => ("reschedule", due_at_ms),
            Settlement::Release { due_at_ms } => ("release", due_at_ms),
        };
        let mut call = self.settle.prepare_invoke();
        call.key(keys::QUEUE_DUE)
            .key(keys::message(id))
            .key(keys::QUEUE_EXPIRY)
            .key(keys::delivery(id))
            .arg(mode)
            .arg(id.as_str())
            .arg(due);
        match log {
            Some(u) => call
                .arg("1")
                .arg(u.status.as_str())
                .arg(u.attempts)
                .arg(u.next_attempt_ms.map(|v| v.to_string()).unwrap_or_default())
                .arg(u.http_status.map(|v| v.to_string()).unwrap_or_default())
                .arg(u.error.unwrap_or(""))
                .arg(u.at_ms),
            None => call.arg("0"),
        };
        let _: i64 = call
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn hand_over(
        &self,
        id: &MessageId,
        endpoint: &EndpointId,
        sealed: &[u8],
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        let done: i64 = self
            .hand_over
            .key(keys::message(id))
            .key(keys::delivery(id))
            .arg(EndpointId::awaiting().as_str())
            .arg(endpoint.as_str())
            .arg(sealed)
            .arg(at_ms)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(done == 1)
    }

    async fn retry_now(&self, endpoint: &EndpointId, now_ms: i64) -> Result<usize, StoreError> {
        let n: usize = self
            .retry_now
            .key(keys::QUEUE_DUE)
            .arg(endpoint.as_str())
            .arg(now_ms)
            .arg(keys::QUEUE_MESSAGE_PREFIX)
            .arg(keys::DELIVERY_PREFIX)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(n)
    }

    async fn claim_alert(
        &self,
        subject: &AlertSubject,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<bool, StoreError> {
        // Called at most a few times per subject and hour: the script is not
        // worth a field of its own.
        let claimed: i64 = redis::Script::new(CLAIM_ALERT_SCRIPT)
            .key(keys::alerted(subject))
            .arg(now_ms)
            .arg(window_ms)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(claimed == 1)
    }

    async fn drain_expired(&self, limit: usize) -> Result<Vec<ExpiredNotice>, StoreError> {
        let raw: Option<Vec<String>> = redis::cmd("LPOP")
            .arg(keys::EXPIRED_NOTICES)
            .arg(limit)
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(raw
            .unwrap_or_default()
            .iter()
            .filter_map(|r| ExpiredNotice::parse(r))
            .collect())
    }

    async fn deliveries(
        &self,
        practitioner: &PractitionerId,
        cursor: Option<&str>,
        limit: usize,
        _now_ms: i64,
    ) -> Result<Page<DeliveryRecord>, StoreError> {
        let index = keys::deliveries(practitioner);
        let Some((ids, more)) = self.zset_page(&index, cursor, limit, true).await? else {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            });
        };

        let ids: Vec<MessageId> = ids
            .iter()
            .take(limit)
            .map(|i| MessageId::parse(i).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect::<Result<_, _>>()?;
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.hgetall(keys::delivery(id));
        }
        let raw: Vec<HashMap<String, String>> = pipe
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let mut items = Vec::new();
        let mut gone = Vec::new();
        for (id, fields) in ids.iter().zip(raw) {
            if fields.is_empty() {
                gone.push(id.to_string());
                continue;
            }
            items.push(parse_delivery(id, &fields)?);
        }
        if !gone.is_empty() {
            let _: Result<(), _> = self.conn().zrem(&index, gone).await;
        }
        let next_cursor = if more {
            ids.last().map(|i| i.to_string())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    async fn queue_len(&self) -> Result<usize, StoreError> {
        self.conn()
            .zcard(keys::QUEUE_DUE)
            .await
            .map_err(unavailable)
    }
}

/// Whether `c` is a stream entry id Redis accepts (`ms` or `ms-seq`, each a u64):
/// anything else would make Redis answer an error, which is the caller's mistake, not
/// an outage.
fn is_stream_id(c: &str) -> bool {
    let number = |n: &str| n.bytes().all(|b| b.is_ascii_digit()) && n.parse::<u64>().is_ok();
    match c.split_once('-') {
        Some((ms, seq)) => number(ms) && number(seq),
        None => number(c),
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

/// Endpoints from their hash, oldest first.
fn parse_endpoints(all: &HashMap<String, String>) -> Result<Vec<EndpointRecord>, StoreError> {
    let mut list = all
        .values()
        .map(|v| serde_json::from_str(v))
        .collect::<Result<Vec<EndpointRecord>, _>>()?;
    super::sort_endpoints(&mut list);
    Ok(list)
}

fn parse_delivery(
    id: &MessageId,
    f: &HashMap<String, String>,
) -> Result<DeliveryRecord, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("delivery record: bad {what}"));
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let num = |k: &str| -> Option<i64> { get(k).parse().ok() };
    Ok(DeliveryRecord {
        message_id: id.clone(),
        practitioner_id: PractitionerId::parse(get("practitioner"))
            .map_err(|_| corrupt("practitioner"))?,
        endpoint_id: EndpointId::parse(get("endpoint")).map_err(|_| corrupt("endpoint"))?,
        event: get("event").to_owned(),
        submission_id: Some(get("submission"))
            .filter(|s| !s.is_empty())
            .map(SubmissionId::parse)
            .transpose()
            .map_err(|_| corrupt("submission"))?,
        status: DeliveryStatus::parse(get("status")).ok_or_else(|| corrupt("status"))?,
        attempts: get("attempts").parse().unwrap_or(0),
        next_attempt_ms: num("next_attempt_ms"),
        last_http_status: get("last_http_status").parse().ok(),
        last_error: Some(get("last_error"))
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        created_ms: num("created_ms").unwrap_or(0),
        updated_ms: num("updated_ms").unwrap_or(0),
    })
}

fn parse_claimed(chunk: &[redis::Value]) -> Result<ClaimedMessage, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("claimed message: bad {what}"));
    let [id, sealed, endpoint, practitioner, attempt, expires] = chunk else {
        return Err(corrupt("shape"));
    };
    let text = |v: &redis::Value, what: &str| -> Result<String, StoreError> {
        redis::from_redis_value::<String>(v).map_err(|_| corrupt(what))
    };
    Ok(ClaimedMessage {
        id: MessageId::parse(&text(id, "id")?).map_err(|_| corrupt("id"))?,
        sealed: redis::from_redis_value::<Vec<u8>>(sealed).map_err(|_| corrupt("payload"))?,
        endpoint_id: EndpointId::parse(&text(endpoint, "endpoint")?)
            .map_err(|_| corrupt("endpoint"))?,
        practitioner_id: PractitionerId::parse(&text(practitioner, "practitioner")?)
            .map_err(|_| corrupt("practitioner"))?,
        attempt: redis::from_redis_value::<u32>(attempt).map_err(|_| corrupt("attempt"))?,
        expires_at_ms: text(expires, "expiry")?
            .parse()
            .map_err(|_| corrupt("expiry"))?,
    })
}
