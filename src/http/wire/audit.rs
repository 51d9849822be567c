//! The audit log as the practice and the operator read it.

use crate::store::AuditEntry;
use serde::Serialize;
use utoipa::ToSchema;

/// One entry of an audit log: never patient data, never secrets.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl AuditEntryView {
    /// An entry as stored.
    pub fn new(e: &AuditEntry) -> AuditEntryView {
        // Destructured in full, so a new field fails to compile here instead of being
        // silently left out of the API and its document.
        let AuditEntry {
            at,
            actor,
            action,
            target,
            outcome,
            details,
        } = e;
        AuditEntryView {
            at: at.clone(),
            actor: actor.clone(),
            action: action.clone(),
            target: target.clone(),
            outcome: outcome.clone(),
            details: details.clone(),
        }
    }
}
