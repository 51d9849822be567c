//! A short-lived, in-process cache of each public form's configuration, so that a
//! steady stream of intakes costs one Redis round trip each (the atomic enqueue)
//! instead of one more to read the form. Changes made through this instance invalidate
//! it at once; changes made through another instance show within the TTL.

use super::FormContext;
use crate::domain::ids::PractitionerId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Entries kept at most; past this the cache starts afresh (forms are few and cheap to
/// reload, so a simple bound beats an eviction policy).
const MAX_ENTRIES: usize = 10_000;

/// Cached form contexts by slug.
pub struct FormCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Arc<FormContext>)>>,
}

impl FormCache {
    /// A cache whose entries live for `ttl` (zero disables caching).
    pub fn new(ttl: Duration) -> FormCache {
        FormCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
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

    /// Forgets everything cached about a practitioner (its configuration changed).
    pub fn invalidate(&self, practitioner: &PractitionerId) {
        self.lock()
            .retain(|_, (_, ctx)| ctx.practitioner.id != *practitioner);
    }
}
