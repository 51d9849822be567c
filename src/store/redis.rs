//! The Redis store: configuration as JSON values under per-practitioner hash-tagged
//! keys, and the delivery queue as a sorted set of due times plus one expiring hash
//! per message. See [`super::keys`] for every key.

use super::{
    keys, ApiKeyRecord, ClaimedMessage, EndpointRecord, FormContext, NewMessage, Store, StoreError,
};
use crate::crypto::api_key::ApiKeyHash;
use crate::domain::catalog::Sex;
use crate::domain::custom::CustomMarker;
use crate::domain::ids::{EndpointId, MessageId, PractitionerId};
use crate::domain::practitioner::Practitioner;
use crate::domain::ranges::RangeOverride;
use anyhow::Context;
use redis::aio::ConnectionManager;
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
for _, id in ipairs(expired) do
  redis.call('DEL', ARGV[4] .. id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local key = ARGV[4] .. id
  local f = redis.call('HMGET', key, 'sealed', 'endpoint', 'practitioner', 'attempt', 'expires')
  if not f[1] then
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
  elseif tonumber(f[5]) <= now then
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
  else
    redis.call('ZADD', KEYS[1], lease_until, id)
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

/// Reschedules a message only while it still exists (it may have expired meanwhile).
const RESCHEDULE_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('ZADD', KEYS[1], 'XX', ARGV[1], ARGV[2])
  return 1
end
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[2])
return 0
";

/// Redis-backed [`Store`].
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    claim: redis::Script,
    reschedule: redis::Script,
}

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(anyhow::Error::new(e).context("redis command failed"))
}

impl RedisStore {
    /// Connects (with timeouts, reconnecting in the background after failures).
    pub async fn connect(url: &str) -> anyhow::Result<RedisStore> {
        let client =
            redis::Client::open(url).context("GAPRELAY_REDIS_URL is not a valid Redis URL")?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(2))
            .set_response_timeout(Duration::from_secs(2))
            .set_number_of_retries(2)
            .set_max_delay(1000);
        let conn = client
            .get_connection_manager_with_config(config)
            .await
            .context("cannot connect to Redis")?;
        Ok(RedisStore {
            conn,
            claim: redis::Script::new(CLAIM_SCRIPT),
            reschedule: redis::Script::new(RESCHEDULE_SCRIPT),
        })
    }

    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
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
        let result: Result<(), _> = redis::pipe()
            .set(keys::practitioner(&p.id), serde_json::to_string(p)?)
            .ignore()
            .set(
                keys::api_key(&owner_key.hash),
                serde_json::to_string(owner_key)?,
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

    async fn put_practitioner(&self, p: &Practitioner) -> Result<(), StoreError> {
        let json = serde_json::to_string(p)?;
        self.conn()
            .set::<_, _, ()>(keys::practitioner(&p.id), json)
            .await
            .map_err(unavailable)
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
        let json = serde_json::to_string(range)?;
        self.conn()
            .hset::<_, _, _, ()>(
                keys::ranges(practitioner),
                keys::range_field(&range.marker, range.sex),
                json,
            )
            .await
            .map_err(unavailable)
    }

    async fn delete_range(
        &self,
        practitioner: &PractitionerId,
        marker: &str,
        sex: Option<Sex>,
    ) -> Result<bool, StoreError> {
        let n: u32 = self
            .conn()
            .hdel(keys::ranges(practitioner), keys::range_field(marker, sex))
            .await
            .map_err(unavailable)?;
        Ok(n > 0)
    }

    async fn ranges(
        &self,
        practitioner: &PractitionerId,
    ) -> Result<Vec<RangeOverride>, StoreError> {
        let all: BTreeMap<String, String> = self
            .conn()
            .hgetall(keys::ranges(practitioner))
            .await
            .map_err(unavailable)?;
        parse_json_values(&all)
    }

    async fn put_custom_marker(
        &self,
        practitioner: &PractitionerId,
        marker: &CustomMarker,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(marker)?;
        self.conn()
            .hset::<_, _, _, ()>(keys::custom_markers(practitioner), &marker.id, json)
            .await
            .map_err(unavailable)
    }

    async fn delete_custom_marker(
        &self,
        practitioner: &PractitionerId,
        id: &str,
    ) -> Result<bool, StoreError> {
        let n: u32 = self
            .conn()
            .hdel(keys::custom_markers(practitioner), id)
            .await
            .map_err(unavailable)?;
        Ok(n > 0)
    }

    async fn custom_markers(
        &self,
        practitioner: &PractitionerId,
    ) -> Result<Vec<CustomMarker>, StoreError> {
        let all: BTreeMap<String, String> = self
            .conn()
            .hgetall(keys::custom_markers(practitioner))
            .await
            .map_err(unavailable)?;
        parse_json_values(&all)
    }

    async fn put_endpoint(&self, endpoint: &EndpointRecord) -> Result<(), StoreError> {
        let json = serde_json::to_string(endpoint)?;
        self.conn()
            .hset::<_, _, _, ()>(
                keys::endpoints(&endpoint.practitioner_id),
                endpoint.id.as_str(),
                json,
            )
            .await
            .map_err(unavailable)
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
        let all: HashMap<String, String> = self
            .conn()
            .hgetall(keys::endpoints(practitioner))
            .await
            .map_err(unavailable)?;
        parse_endpoints(&all)
    }

    async fn delete_endpoint(
        &self,
        practitioner: &PractitionerId,
        id: &EndpointId,
    ) -> Result<bool, StoreError> {
        let n: u32 = self
            .conn()
            .hdel(keys::endpoints(practitioner), id.as_str())
            .await
            .map_err(unavailable)?;
        Ok(n > 0)
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
            .arg(now_ms)
            .arg(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX))
            .arg(limit)
            .arg(keys::QUEUE_MESSAGE_PREFIX)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        raw.chunks(6).map(parse_claimed).collect()
    }

    async fn remove_message(&self, id: &MessageId) -> Result<(), StoreError> {
        redis::pipe()
            .atomic()
            .del(keys::message(id))
            .ignore()
            .zrem(keys::QUEUE_DUE, id.as_str())
            .ignore()
            .zrem(keys::QUEUE_EXPIRY, id.as_str())
            .ignore()
            .query_async::<()>(&mut self.conn())
            .await
            .map_err(unavailable)
    }

    async fn reschedule(&self, id: &MessageId, due_at_ms: i64) -> Result<(), StoreError> {
        let _: i64 = self
            .reschedule
            .key(keys::QUEUE_DUE)
            .key(keys::message(id))
            .key(keys::QUEUE_EXPIRY)
            .arg(due_at_ms)
            .arg(id.as_str())
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn queue_len(&self) -> Result<usize, StoreError> {
        self.conn()
            .zcard(keys::QUEUE_DUE)
            .await
            .map_err(unavailable)
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
