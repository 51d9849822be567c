//! The in-memory store's configuration: practitioners, keys, ranges, markers, consent
//! versions and endpoints.

use super::{replace_locked, MemoryStore};
use crate::crypto::api_key::ApiKeyHash;
use crate::domain::access::Role;
use crate::domain::catalog::Sex;
use crate::domain::custom::CustomMarker;
use crate::domain::ids::{ApiKeyId, EndpointId, PractitionerId};
use crate::domain::practitioner::{ConsentVersion, Practitioner};
use crate::domain::ranges::RangeOverride;
use crate::store::config::{page_consent_versions, sort_endpoints};
use crate::store::{
    keys, ApiKeyRecord, ConfigStore, EndpointRecord, Page, Replaced, Revocation, StoreError,
};

#[async_trait::async_trait]
impl ConfigStore for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn create_practitioner(
        &self,
        p: &Practitioner,
        owner_key: &ApiKeyRecord,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.slugs.contains_key(p.slug.as_str()) {
            return Err(StoreError::Conflict("slug is already taken"));
        }
        inner.slugs.insert(p.slug.as_str().to_owned(), p.id.clone());
        inner.practitioners.insert(p.id.clone(), p.clone());
        inner
            .api_keys
            .insert(owner_key.hash.clone(), owner_key.clone());
        Ok(())
    }

    async fn practitioner(&self, id: &PractitionerId) -> Result<Option<Practitioner>, StoreError> {
        Ok(self.lock().practitioners.get(id).cloned())
    }

    async fn practitioner_by_slug(&self, slug: &str) -> Result<Option<Practitioner>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .slugs
            .get(slug)
            .and_then(|id| inner.practitioners.get(id))
            .cloned())
    }

    async fn practitioners(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Practitioner>, StoreError> {
        let inner = self.lock();
        let mut all: Vec<&Practitioner> = inner.practitioners.values().collect();
        all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        let start = match cursor {
            Some(c) => all
                .iter()
                .position(|p| p.id.as_str() == c)
                .map(|i| i + 1)
                .unwrap_or(all.len()),
            None => 0,
        };
        let items: Vec<Practitioner> = all
            .iter()
            .skip(start)
            .take(limit)
            .map(|p| (*p).clone())
            .collect();
        let more = start + items.len() < all.len();
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
        let mut inner = self.lock();
        let outcome = replace_locked(&mut inner, p, expected_version);
        if outcome == Replaced::Written {
            match at_ms {
                Some(at) => inner.erasures.insert(p.id.clone(), at),
                None => inner.erasures.remove(&p.id),
            };
        }
        Ok(outcome)
    }

    async fn erasures_due(&self, now_ms: i64) -> Result<Vec<PractitionerId>, StoreError> {
        let mut due: Vec<(i64, PractitionerId)> = self
            .lock()
            .erasures
            .iter()
            .filter(|(_, at)| **at <= now_ms)
            .map(|(id, at)| (*at, id.clone()))
            .collect();
        due.sort();
        Ok(due.into_iter().map(|(_, id)| id).collect())
    }

    async fn erase_practitioner(
        &self,
        id: &PractitionerId,
        expected_version: Option<u64>,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        // The compare-and-set, under the same lock as the erasure.
        let stored_version = inner.practitioners.get(id).map(|p| p.version);
        if stored_version != expected_version {
            return Ok(false);
        }
        if let Some(p) = inner.practitioners.remove(id) {
            inner.slugs.remove(p.slug.as_str());
        }
        let hashes: Vec<String> = inner
            .api_keys
            .iter()
            .filter(|(_, r)| &r.practitioner_id == id)
            .map(|(h, _)| h.clone())
            .collect();
        for h in hashes {
            if let Some(r) = inner.api_keys.remove(&h) {
                inner.keys_used.remove(&r.id);
            }
        }
        inner.ranges.remove(id);
        inner.endpoints.remove(id);
        inner.custom_markers.remove(id);
        inner.consent_versions.remove(id);
        inner.erasures.remove(id);
        inner.audit.remove(&Some(id.clone()));
        inner.deliveries.retain(|_, d| &d.practitioner_id != id);
        // Its queued messages could only ever be dropped (its endpoints are gone): they
        // go now, payloads with them.
        inner.queue.retain(|_, m| &m.practitioner_id != id);
        Ok(true)
    }

    async fn create_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        self.lock().api_keys.insert(key.hash.clone(), key.clone());
        Ok(())
    }

    async fn api_keys(
        &self,
        practitioner: &PractitionerId,
    ) -> Result<Vec<(ApiKeyRecord, Option<i64>)>, StoreError> {
        let inner = self.lock();
        let mut keys: Vec<(ApiKeyRecord, Option<i64>)> = inner
            .api_keys
            .values()
            .filter(|r| &r.practitioner_id == practitioner)
            .map(|r| (r.clone(), inner.keys_used.get(&r.id).copied()))
            .collect();
        keys.sort_by(|a, b| (a.0.created_at, &a.0.id).cmp(&(b.0.created_at, &b.0.id)));
        Ok(keys)
    }

    async fn revoke_api_key(
        &self,
        practitioner: &PractitionerId,
        id: &ApiKeyId,
    ) -> Result<Revocation, StoreError> {
        let mut inner = self.lock();
        let mine: Vec<ApiKeyRecord> = inner
            .api_keys
            .values()
            .filter(|r| &r.practitioner_id == practitioner)
            .cloned()
            .collect();
        let Some(record) = mine.iter().find(|r| &r.id == id).cloned() else {
            return Ok(Revocation::NotFound);
        };
        let owners = mine.iter().filter(|r| r.role == Role::Owner).count();
        if record.role == Role::Owner && owners <= 1 {
            return Ok(Revocation::LastOwner);
        }
        inner.api_keys.remove(&record.hash);
        inner.keys_used.remove(&record.id);
        Ok(Revocation::Revoked(record))
    }

    async fn touch_api_key(&self, key: &ApiKeyRecord, at_ms: i64) -> Result<(), StoreError> {
        self.lock().keys_used.insert(key.id.clone(), at_ms);
        Ok(())
    }

    async fn replace_practitioner(
        &self,
        p: &Practitioner,
        expected_version: u64,
    ) -> Result<Replaced, StoreError> {
        Ok(replace_locked(&mut self.lock(), p, expected_version))
    }

    async fn api_key_by_hash(&self, hash: &ApiKeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        let record = self.lock().api_keys.get(&hash.to_hex()).cloned();
        Ok(record.filter(|r| ApiKeyHash::from_hex(&r.hash).is_some_and(|h| h.ct_eq(hash))))
    }

    async fn put_range(
        &self,
        practitioner: &PractitionerId,
        range: &RangeOverride,
    ) -> Result<(), StoreError> {
        self.lock()
            .ranges
            .entry(practitioner.clone())
            .or_default()
            .insert(keys::range_field(&range.marker, range.sex), range.clone());
        Ok(())
    }

    async fn delete_range(
        &self,
        practitioner: &PractitionerId,
        marker: &str,
        sex: Option<Sex>,
    ) -> Result<bool, StoreError> {
        Ok(self
            .lock()
            .ranges
            .get_mut(practitioner)
            .and_then(|r| r.remove(&keys::range_field(marker, sex)))
            .is_some())
    }

    async fn ranges(
        &self,
        practitioner: &PractitionerId,
    ) -> Result<Vec<RangeOverride>, StoreError> {
        Ok(self
            .lock()
            .ranges
            .get(practitioner)
            .map(|r| r.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn put_custom_marker(
        &self,
        practitioner: &PractitionerId,
        marker: &CustomMarker,
    ) -> Result<(), StoreError> {
        self.lock()
            .custom_markers
            .entry(practitioner.clone())
            .or_default()
            .insert(marker.id.clone(), marker.clone());
        Ok(())
    }

    async fn delete_custom_marker(
        &self,
        practitioner: &PractitionerId,
        id: &str,
    ) -> Result<bool, StoreError> {
        Ok(self
            .lock()
            .custom_markers
            .get_mut(practitioner)
            .and_then(|m| m.remove(id))
            .is_some())
    }

    async fn custom_markers(
        &self,
        practitioner: &PractitionerId,
    ) -> Result<Vec<CustomMarker>, StoreError> {
        Ok(self
            .lock()
            .custom_markers
            .get(practitioner)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn put_consent_version(
        &self,
        practitioner: &PractitionerId,
        version: &ConsentVersion,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let versions = inner
            .consent_versions
            .entry(practitioner.clone())
            .or_default();
        if versions.contains_key(&version.version) {
            return Ok(false);
        }
        versions.insert(version.version, version.clone());
        Ok(true)
    }

    async fn consent_version(
        &self,
        practitioner: &PractitionerId,
        version: u32,
    ) -> Result<Option<ConsentVersion>, StoreError> {
        Ok(self
            .lock()
            .consent_versions
            .get(practitioner)
            .and_then(|v| v.get(&version))
            .cloned())
    }

    async fn consent_versions(
        &self,
        practitioner: &PractitionerId,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<ConsentVersion>, StoreError> {
        let all = self
            .lock()
            .consent_versions
            .get(practitioner)
            .map(|v| v.values().cloned().collect())
            .unwrap_or_default();
        Ok(page_consent_versions(all, cursor, limit))
    }

    async fn put_endpoint(&self, endpoint: &EndpointRecord) -> Result<(), StoreError> {
        self.lock()
            .endpoints
            .entry(endpoint.practitioner_id.clone())
            .or_default()
            .insert(endpoint.id.clone(), endpoint.clone());
        Ok(())
    }

    async fn replace_endpoint(
        &self,
        endpoint: &EndpointRecord,
        expected_version: u64,
    ) -> Result<Replaced, StoreError> {
        let mut inner = self.lock();
        let Some(stored) = inner
            .endpoints
            .get_mut(&endpoint.practitioner_id)
            .and_then(|e| e.get_mut(&endpoint.id))
        else {
            return Ok(Replaced::Missing);
        };
        if stored.version != expected_version {
            return Ok(Replaced::Stale);
        }
        *stored = endpoint.clone();
        Ok(Replaced::Written)
    }

    async fn endpoint(
        &self,
        practitioner: &PractitionerId,
        id: &EndpointId,
    ) -> Result<Option<EndpointRecord>, StoreError> {
        Ok(self
            .lock()
            .endpoints
            .get(practitioner)
            .and_then(|e| e.get(id))
            .cloned())
    }

    async fn endpoints(
        &self,
        practitioner: &PractitionerId,
    ) -> Result<Vec<EndpointRecord>, StoreError> {
        let mut list: Vec<EndpointRecord> = self
            .lock()
            .endpoints
            .get(practitioner)
            .map(|e| e.values().cloned().collect())
            .unwrap_or_default();
        sort_endpoints(&mut list);
        Ok(list)
    }

    async fn disable_endpoint(
        &self,
        practitioner: &PractitionerId,
        id: &EndpointId,
        if_url: &str,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let Some(e) = inner
            .endpoints
            .get_mut(practitioner)
            .and_then(|e| e.get_mut(id))
        else {
            return Ok(false);
        };
        if e.url != if_url || !e.enabled {
            return Ok(false);
        }
        e.enabled = false;
        e.version += 1;
        Ok(true)
    }

    async fn delete_endpoint(
        &self,
        practitioner: &PractitionerId,
        id: &EndpointId,
    ) -> Result<bool, StoreError> {
        Ok(self
            .lock()
            .endpoints
            .get_mut(practitioner)
            .and_then(|e| e.remove(id))
            .is_some())
    }
}
