//! Storage: the one interface every other layer uses, split by concern into
//! [`ConfigStore`] (what practices set up), [`QueueStore`] (the delivery queue and its
//! log) and [`AuditStore`] (audit logs), each with its records beside it, and the
//! umbrella [`Store`] that every backend implements through them. Two backends: Redis
//! (production, many instances) and an embedded in-memory store (one process, nothing
//! survives a restart), each a directory with one file per concern.
//!
//! Only this module speaks Redis. Records read back from storage are untrusted again:
//! they are deserialized into typed records and ids are re-parsed.

pub mod audit;
pub mod config;
pub mod form_cache;
pub mod keys;
pub mod memory;
pub mod partition;
pub mod queue;
pub mod redis;

pub use audit::{AuditEntry, AuditStore};
pub use config::{ApiKeyRecord, ConfigStore, EndpointRecord, FormContext, Replaced, Revocation};
pub use partition::Partitions;
pub use queue::{
    AlertSubject, Claim, ClaimedMessage, DeliveryRecord, DeliveryUpdate, ExpiredNotice, NewMessage,
    QueueBell, QueueStore, Settlement, DELIVERY_LOG_TTL_MS,
};

/// The storage traits, for callers that hold an `Arc<dyn Store>` and call its methods.
pub mod prelude {
    pub use super::{AuditStore, ConfigStore, QueueStore, Store};
}

/// What went wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated (e.g. the slug is taken).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The backend could not be reached or failed.
    #[error("storage unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// A stored record could not be read back.
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// A page of a list and the cursor of the next one.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// Items, newest first where time-ordered.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// Every storage concern of one backend: what the application wires once and hands
/// around as `Arc<dyn Store>`. Code that needs one concern only can take that trait.
pub trait Store: ConfigStore + QueueStore + AuditStore + 'static {}

impl<T: ConfigStore + QueueStore + AuditStore + 'static> Store for T {}
