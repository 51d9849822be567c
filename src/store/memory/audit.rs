//! The in-memory store's audit logs, one per practitioner and one for the operator.

use super::MemoryStore;
use crate::domain::ids::PractitionerId;
use crate::store::{AuditEntry, AuditStore, Page, StoreError};

#[async_trait::async_trait]
impl AuditStore for MemoryStore {
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
}
