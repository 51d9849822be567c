//! The Redis store's configuration: practitioners under their own hash tag (record,
//! keys, ranges, markers, consent versions, endpoints), plus the shared slug, key
//! look-up, practitioner and erasure indexes.

use super::{parse_json_values, unavailable, RedisStore};
use crate::crypto::api_key::ApiKeyHash;
use crate::domain::catalog::Sex;
use crate::domain::custom::CustomMarker;
use crate::domain::ids::{ApiKeyId, EndpointId, MessageId, PractitionerId};
use crate::domain::practitioner::{ConsentVersion, Practitioner};
use crate::domain::ranges::RangeOverride;
use crate::store::config::{page_consent_versions, sort_endpoints};
use crate::store::{
    keys, ApiKeyRecord, ConfigStore, EndpointRecord, FormContext, Page, Replaced, Revocation,
    StoreError,
};
use redis::AsyncCommands;
use std::collections::{BTreeMap, HashMap};

#[async_trait::async_trait]
impl ConfigStore for RedisStore {
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

    async fn erase_practitioner(
        &self,
        id: &PractitionerId,
        expected_version: Option<u64>,
    ) -> Result<bool, StoreError> {
        // The practitioner's own keys share its slot: the script checks the record's
        // version and deletes them in one step. The slug, key look-ups, delivery log
        // and indexes live in other slots and follow, named by what the script found.
        let reply: Vec<String> = self
            .erase_practitioner
            .key(keys::practitioner(id))
            .key(keys::api_keys(id))
            .key(keys::ranges(id))
            .key(keys::custom_markers(id))
            .key(keys::consent_versions(id))
            .key(keys::endpoints(id))
            .key(keys::api_keys_used(id))
            .key(keys::audit(id))
            .arg(expected_version.map(|v| v.to_string()).unwrap_or_default())
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let Some((code, found)) = reply.split_first() else {
            return Err(StoreError::Corrupt("erasure reply".into()));
        };
        if code != "1" {
            return Ok(false);
        }
        // Read as loosely as possible: the records are gone already, and whatever of
        // them can be read still names keys to delete.
        let field = |json: &str, name: &str| -> Option<String> {
            let value: serde_json::Value = serde_json::from_str(json).ok()?;
            value.get(name)?.as_str().map(str::to_owned)
        };
        let (record, key_records) = match found.split_first() {
            Some((record, key_records)) => (record.as_str(), key_records),
            None => ("", &[][..]),
        };
        let log_index = keys::deliveries(id);
        let logged: Vec<String> = self
            .conn()
            .zrange(&log_index, 0, -1)
            .await
            .map_err(unavailable)?;
        let mut pipe = redis::pipe();
        if let Some(slug) = field(record, "slug") {
            pipe.del(keys::slug(&slug)).ignore();
        }
        // The practice's delivery-log records, and its queued messages with them (its
        // endpoints are gone: they could only ever be dropped), payloads and all. The
        // log index names every message queued for the practice in the last day.
        for m in logged.iter().filter_map(|m| MessageId::parse(m).ok()) {
            pipe.del(keys::message(&m)).ignore();
            pipe.zrem(keys::Partition::of(&m).due(), m.as_str())
                .ignore();
        }
        pipe.del(&log_index).ignore();
        for hash in key_records.iter().filter_map(|k| field(k, "hash")) {
            pipe.del(keys::api_key(&hash)).ignore();
        }
        pipe.zrem(keys::PRACTITIONERS, id.as_str()).ignore();
        pipe.zrem(keys::ERASURES, id.as_str()).ignore();
        pipe.query_async::<()>(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(true)
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
        Ok(page_consent_versions(all, cursor, limit))
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
        sort_endpoints(&mut list);
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
}

/// Endpoints from their hash, oldest first.
fn parse_endpoints(all: &HashMap<String, String>) -> Result<Vec<EndpointRecord>, StoreError> {
    let mut list = all
        .values()
        .map(|v| serde_json::from_str(v))
        .collect::<Result<Vec<EndpointRecord>, _>>()?;
    sort_endpoints(&mut list);
    Ok(list)
}
