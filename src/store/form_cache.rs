//! A short-lived, in-process cache of each public form's configuration, so that a
//! steady stream of intakes costs one Redis round trip each (the atomic enqueue)
//! instead of one more to read the form; and of each practice's endpoint records, so
//! that a steady stream of deliveries does not read the endpoint once per message.
//! Changes made through this instance invalidate it at once; changes made through
//! another instance show within the TTL.

use super::{EndpointRecord, FormContext};
use crate::domain::ids::PractitionerId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Entries kept at most; past this the cache starts afresh (forms are few and cheap to
/// reload, so a simple bound beats an eviction policy).
const MAX_ENTRIES: usize = 10_000;

/// A practice's endpoint records, and when they were read.
type CachedEndpoints = (Instant, Arc<Vec<EndpointRecord>>);

/// Cached form contexts by slug, and endpoint records by practitioner.
pub struct FormCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Arc<FormContext>)>>,
    endpoints: Mutex<HashMap<PractitionerId, CachedEndpoints>>,
    /// Moved on by every invalidation, so that records read before one are not cached
    /// after it.
    generation: AtomicU64,
}

impl FormCache {
    /// A cache whose entries live for `ttl` (zero disables caching).
    pub fn new(ttl: Duration) -> FormCache {
        FormCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
            endpoints: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Arc<FormContext>)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh entry for `slug`, if any.
    pub fn get(&self, slug: &str) -> Option<Arc<FormContext>> {
        let entries = self.lock();
        entries
            .get(slug)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, ctx)| ctx.clone())
    }

    /// Remembers a context.
    pub fn put(&self, slug: &str, ctx: Arc<FormContext>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(slug.to_owned(), (Instant::now(), ctx));
    }

    /// A practice's endpoint records, if fresh.
    pub fn endpoints(&self, practitioner: &PractitionerId) -> Option<Arc<Vec<EndpointRecord>>> {
        let entries = self.endpoints.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(practitioner)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, records)| records.clone())
    }

    /// Where invalidations stand: read it before reading the records to cache.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Remembers a practice's endpoint records, read when the cache was at `generation`
    /// (unless something was invalidated since: the records may predate that change).
    pub fn put_endpoints(
        &self,
        practitioner: &PractitionerId,
        records: Arc<Vec<EndpointRecord>>,
        generation: u64,
    ) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.endpoints.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation() != generation {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(practitioner.clone(), (Instant::now(), records));
    }

    /// Forgets everything cached about a practitioner (its configuration changed).
    pub fn invalidate(&self, practitioner: &PractitionerId) {
        {
            let mut endpoints = self.endpoints.lock().unwrap_or_else(|p| p.into_inner());
            self.generation.fetch_add(1, Ordering::AcqRel);
            endpoints.remove(practitioner);
        }
        self.lock()
            .retain(|_, (_, ctx)| ctx.practitioner.id != *practitioner);
    }
}
