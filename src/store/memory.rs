//! The embedded in-memory store: one process, nothing survives a restart. For `make
//! run`, demos and development; behaves like the Redis store (the conformance suite
//! runs against both), expiry included.

use super::{
    keys, AlertSubject, ApiKeyRecord, AuditEntry, ClaimedMessage, DeliveryRecord, DeliveryUpdate,
    EndpointRecord, ExpiredNotice, NewMessage, Page, Replaced, Revocation, Settlement, Store,
    StoreError, DELIVERY_LOG_TTL_MS,
};
use crate::crypto::api_key::ApiKeyHash;
use crate::domain::access::Role;
use crate::domain::catalog::Sex;
use crate::domain::custom::CustomMarker;
use crate::domain::delivery::DeliveryStatus;
use crate::domain::ids::{ApiKeyId, EndpointId, MessageId, PractitionerId};
use crate::domain::practitioner::{ConsentVersion, Practitioner};
use crate::domain::ranges::RangeOverride;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

struct QueuedEntry {
    endpoint_id: EndpointId,
    practitioner_id: PractitionerId,
    sealed: Vec<u8>,
    attempt: u32,
    due_at_ms: i64,
    expires_at_ms: i64,
    /// While a worker holds it: when its lease lapses (a "retry now" leaves it alone).
    leased_until: Option<i64>,
}

#[derive(Default)]
struct Inner {
    practitioners: HashMap<PractitionerId, Practitioner>,
    slugs: HashMap<String, PractitionerId>,
    api_keys: HashMap<String, ApiKeyRecord>,
    ranges: HashMap<PractitionerId, BTreeMap<String, RangeOverride>>,
    endpoints: HashMap<PractitionerId, BTreeMap<EndpointId, EndpointRecord>>,
    custom_markers: HashMap<PractitionerId, BTreeMap<String, CustomMarker>>,
    consent_versions: HashMap<PractitionerId, BTreeMap<u32, ConsentVersion>>,
    keys_used: HashMap<ApiKeyId, i64>,
    erasures: HashMap<PractitionerId, i64>,
    /// Audit logs by practitioner (`None`: the operator's), with their sequence numbers.
    audit: HashMap<Option<PractitionerId>, Vec<(u64, i64, AuditEntry)>>,
    audit_seq: u64,
    deliveries: HashMap<MessageId, DeliveryRecord>,
    expired_notices: Vec<ExpiredNotice>,
    queue: HashMap<MessageId, QueuedEntry>,
    /// When each failing endpoint's last alert was claimed (Unix ms), see `keys::alerted`.
    alerted: HashMap<AlertSubject, i64>,
}

/// In-memory [`Store`]. Operations hold a short, never-awaited lock.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated in a way
        // that matters more than losing the process, so a poisoned lock is recovered.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The compare-and-set of a practitioner's record, under the store's lock.
fn replace_locked(inner: &mut Inner, p: &Practitioner, expected_version: u64) -> Replaced {
    match inner.practitioners.get_mut(&p.id) {
        None => Replaced::Missing,
        Some(stored) if stored.version != expected_version => Replaced::Stale,
        Some(stored) => {
            *stored = p.clone();
            Replaced::Written
        }
    }
}

#[async_trait::async_trait]
impl Store for MemoryStore {
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

    async fn erase_practitioner(&self, id: &PractitionerId) -> Result<(), StoreError> {
        let mut inner = self.lock();
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
        Ok(())
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

    async fn append_audit(
        &self,
        practitioner: Option<&PractitionerId>,
        entry: &AuditEntry,
        now_ms: i64,
        retain_after_ms: i64,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.audit_seq += 1;
        let seq = inner.audit_seq;
        let log = inner.audit.entry(practitioner.cloned()).or_default();
        log.retain(|(_, at, _)| *at >= retain_after_ms);
        log.push((seq, now_ms, entry.clone()));
        Ok(())
    }

    async fn audit_log(
        &self,
        practitioner: Option<&PractitionerId>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let inner = self.lock();
        let before: u64 = cursor.and_then(|c| c.parse().ok()).unwrap_or(u64::MAX);
        let newest_first: Vec<&(u64, i64, AuditEntry)> = inner
            .audit
            .get(&practitioner.cloned())
            .map(|log| {
                log.iter()
                    .rev()
                    .filter(|(seq, _, _)| *seq < before)
                    .collect()
            })
            .unwrap_or_default();
        let items: Vec<AuditEntry> = newest_first
            .iter()
            .take(limit)
            .map(|(_, _, e)| e.clone())
            .collect();
        let next_cursor = if newest_first.len() > limit {
            newest_first
                .get(limit - 1)
                .map(|(seq, _, _)| seq.to_string())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
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
        Ok(super::page_consent_versions(all, cursor, limit))
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
        super::sort_endpoints(&mut list);
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

    async fn enqueue(&self, messages: &[NewMessage]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        for m in messages {
            inner.deliveries.insert(
                m.id.clone(),
                DeliveryRecord {
                    message_id: m.id.clone(),
                    practitioner_id: m.practitioner_id.clone(),
                    endpoint_id: m.endpoint_id.clone(),
                    event: m.event.clone(),
                    submission_id: m.submission_id.clone(),
                    status: if m.endpoint_id.is_awaiting() {
                        DeliveryStatus::AwaitingEndpoint
                    } else {
                        DeliveryStatus::Pending
                    },
                    attempts: 0,
                    next_attempt_ms: Some(m.due_at_ms),
                    last_http_status: None,
                    last_error: None,
                    created_ms: m.due_at_ms,
                    updated_ms: m.due_at_ms,
                },
            );
            inner.queue.insert(
                m.id.clone(),
                QueuedEntry {
                    endpoint_id: m.endpoint_id.clone(),
                    practitioner_id: m.practitioner_id.clone(),
                    sealed: m.sealed.clone(),
                    attempt: 0,
                    due_at_ms: m.due_at_ms,
                    expires_at_ms: m.expires_at_ms,
                    leased_until: None,
                },
            );
        }
        Ok(())
    }

    async fn claim_due(
        &self,
        now_ms: i64,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<ClaimedMessage>, StoreError> {
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let mut inner = self.lock();
        let expired: Vec<MessageId> = inner
            .queue
            .iter()
            .filter(|(_, e)| e.expires_at_ms <= now_ms)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            inner.queue.remove(&id);
            let mut notice = None;
            if let Some(d) = inner.deliveries.get_mut(&id) {
                if d.status.is_open() {
                    d.status = DeliveryStatus::Expired;
                    d.next_attempt_ms = None;
                    d.updated_ms = now_ms;
                    if d.event == "intake.submitted" {
                        notice = Some(ExpiredNotice {
                            message_id: d.message_id.clone(),
                            practitioner_id: d.practitioner_id.clone(),
                            endpoint_id: d.endpoint_id.clone(),
                            submission_id: d.submission_id.clone(),
                        });
                    }
                }
            }
            inner.expired_notices.extend(notice);
        }
        inner
            .deliveries
            .retain(|_, d| d.created_ms + DELIVERY_LOG_TTL_MS > now_ms);
        // Oldest due first, ties broken by id, as the Redis sorted set orders them.
        let mut due: Vec<(i64, MessageId)> = inner
            .queue
            .iter()
            .filter(|(_, e)| e.due_at_ms <= now_ms)
            .map(|(id, e)| (e.due_at_ms, id.clone()))
            .collect();
        due.sort();
        let mut claimed = Vec::new();
        for (_, id) in due.into_iter().take(limit) {
            if let Some(e) = inner.queue.get_mut(&id) {
                e.attempt += 1;
                e.due_at_ms = now_ms.saturating_add(lease_ms);
                e.leased_until = Some(e.due_at_ms);
                claimed.push(ClaimedMessage {
                    id,
                    endpoint_id: e.endpoint_id.clone(),
                    practitioner_id: e.practitioner_id.clone(),
                    sealed: e.sealed.clone(),
                    attempt: e.attempt,
                    expires_at_ms: e.expires_at_ms,
                });
            }
        }
        Ok(claimed)
    }

    async fn settle(
        &self,
        id: &MessageId,
        settlement: Settlement,
        log: Option<&DeliveryUpdate>,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        match settlement {
            Settlement::Remove => {
                // Gone already: settled by another worker after this one's lease
                // lapsed, or purged. Only a delivery is still worth recording.
                let existed = inner.queue.remove(id).is_some();
                if !existed && log.is_none_or(|u| u.status != DeliveryStatus::Delivered) {
                    return Ok(());
                }
            }
            Settlement::Reschedule { due_at_ms } | Settlement::Release { due_at_ms } => {
                let Some(e) = inner.queue.get_mut(id) else {
                    return Ok(());
                };
                e.due_at_ms = due_at_ms;
                e.leased_until = None;
                if matches!(settlement, Settlement::Release { .. }) {
                    e.attempt = e.attempt.saturating_sub(1);
                }
            }
        }
        if let (Some(u), Some(d)) = (log, inner.deliveries.get_mut(id)) {
            d.status = u.status;
            d.attempts = u.attempts;
            d.next_attempt_ms = u.next_attempt_ms;
            d.last_http_status = u.http_status;
            d.last_error = u.error.map(str::to_owned);
            d.updated_ms = u.at_ms;
        }
        Ok(())
    }

    async fn hand_over(
        &self,
        id: &MessageId,
        endpoint: &EndpointId,
        sealed: &[u8],
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let Some(e) = inner.queue.get_mut(id) else {
            return Ok(false);
        };
        if !e.endpoint_id.is_awaiting() {
            return Ok(false);
        }
        e.endpoint_id = endpoint.clone();
        e.sealed = sealed.to_vec();
        if let Some(d) = inner.deliveries.get_mut(id) {
            d.endpoint_id = endpoint.clone();
            d.status = DeliveryStatus::Pending;
            d.next_attempt_ms = Some(at_ms);
            d.last_error = None;
            d.updated_ms = at_ms;
        }
        Ok(true)
    }

    async fn retry_now(&self, endpoint: &EndpointId, now_ms: i64) -> Result<usize, StoreError> {
        let mut inner = self.lock();
        let mut moved = Vec::new();
        for (id, e) in inner.queue.iter_mut() {
            let leased = e.leased_until.is_some_and(|until| until > now_ms);
            if &e.endpoint_id == endpoint && e.due_at_ms > now_ms && !leased {
                e.due_at_ms = now_ms;
                moved.push(id.clone());
            }
        }
        for id in &moved {
            if let Some(d) = inner.deliveries.get_mut(id) {
                d.next_attempt_ms = Some(now_ms);
            }
        }
        Ok(moved.len())
    }

    async fn claim_alert(
        &self,
        subject: &AlertSubject,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        // Forget claims whose window has passed, as Redis expires their keys.
        inner
            .alerted
            .retain(|_, last| now_ms < last.saturating_add(window_ms));
        if inner.alerted.contains_key(subject) {
            return Ok(false);
        }
        inner.alerted.insert(subject.clone(), now_ms);
        Ok(true)
    }

    async fn drain_expired(&self, limit: usize) -> Result<Vec<ExpiredNotice>, StoreError> {
        let mut inner = self.lock();
        let n = limit.min(inner.expired_notices.len());
        Ok(inner.expired_notices.drain(..n).collect())
    }

    async fn deliveries(
        &self,
        practitioner: &PractitionerId,
        cursor: Option<&str>,
        limit: usize,
        now_ms: i64,
    ) -> Result<Page<DeliveryRecord>, StoreError> {
        let inner = self.lock();
        let mut all: Vec<&DeliveryRecord> = inner
            .deliveries
            .values()
            .filter(|d| {
                &d.practitioner_id == practitioner && d.created_ms + DELIVERY_LOG_TTL_MS > now_ms
            })
            .collect();
        // Newest first, ties by id descending, as the Redis sorted set orders them.
        all.sort_by(|a, b| (b.created_ms, &b.message_id).cmp(&(a.created_ms, &a.message_id)));
        let start = match cursor {
            Some(c) => all
                .iter()
                .position(|d| d.message_id.as_str() == c)
                .map(|i| i + 1)
                .unwrap_or(all.len()),
            None => 0,
        };
        let items: Vec<DeliveryRecord> = all
            .iter()
            .skip(start)
            .take(limit)
            .map(|d| (*d).clone())
            .collect();
        let next_cursor = (start + items.len() < all.len())
            .then(|| items.last().map(|d| d.message_id.to_string()))
            .flatten();
        Ok(Page { items, next_cursor })
    }

    async fn queue_len(&self) -> Result<usize, StoreError> {
        Ok(self.lock().queue.len())
    }
}
