//! Audit storage: each practitioner's audit log and the operator's, trimmed to the
//! retention on every append. Never patient data or secrets.

use super::{Page, StoreError};
use crate::domain::ids::PractitionerId;
use serde::{Deserialize, Serialize};

/// One audit-log entry: who did what to what, when, and how it ended. Never holds
/// patient data or secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The API key id, or `operator`.
    pub actor: String,
    /// What was done (`api_key.created`, `endpoint.rotated`, …).
    pub action: String,
    /// What it was done to (an id or a name).
    pub target: String,
    /// `success` or `denied`.
    pub outcome: String,
    /// Changed field names and similar metadata.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

/// Audit storage: append-only logs of who changed what. Implementations must pass the
/// conformance suite in `tests/api/store_conformance.rs`.
#[async_trait::async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends to a practitioner's audit log (or the operator's, with `None`), dropping
    /// entries older than `retain_after_ms`.
    async fn append_audit(
        &self,
        practitioner: Option<&PractitionerId>,
        entry: &AuditEntry,
        now_ms: i64,
        retain_after_ms: i64,
    ) -> Result<(), StoreError>;
    /// A page of an audit log, newest first.
    async fn audit_log(
        &self,
        practitioner: Option<&PractitionerId>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<AuditEntry>, StoreError>;
}
