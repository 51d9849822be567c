//! The embedded in-memory store: one process, nothing survives a restart. For `make
//! run`, demos and development; behaves like the Redis store (the conformance suite
//! runs against both), expiry included. This file holds the state behind one lock;
//! each concern's trait is implemented in its own file.

mod audit;
mod config;
mod queue;

use crate::domain::custom::CustomMarker;
use crate::domain::ids::{ApiKeyId, EndpointId, MessageId, PractitionerId};
use crate::domain::practitioner::{ConsentVersion, Practitioner};
use crate::domain::ranges::RangeOverride;
use crate::store::{
    AlertSubject, ApiKeyRecord, AuditEntry, DeliveryRecord, EndpointRecord, Replaced,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

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
    queue: HashMap<MessageId, QueuedEntry>,
    /// When each failing endpoint's last alert was claimed (Unix ms), see `keys::alerted`.
    alerted: HashMap<AlertSubject, i64>,
}

/// In-memory [`crate::store::Store`]. Operations hold a short, never-awaited lock.
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
