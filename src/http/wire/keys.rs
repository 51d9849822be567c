//! API keys on the wire: the body of `POST /v1/api-keys` (into the service's
//! [`NewApiKey`]), a key as answered, and the schema of a key's role and id.

use super::schema_of;
use crate::delivery::payload::rfc3339;
use crate::service::account::NewApiKey;
use crate::store::ApiKeyRecord;
use serde::Deserialize;
use serde::Serialize;
use utoipa::ToSchema;

/// An API key without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    /// Id (`key_…`).
    pub id: crate::domain::ids::ApiKeyId,
    /// Role.
    pub role: crate::domain::access::Role,
    /// Label.
    pub label: Option<String>,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it was last used (RFC 3339), if ever.
    pub last_used_at: Option<String>,
}

impl ApiKeyView {
    /// A key and when it was last used (Unix ms).
    pub fn new(k: &ApiKeyRecord, last_used_ms: Option<i64>) -> ApiKeyView {
        let last_used_at = last_used_ms
            .and_then(|ms| {
                time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
            })
            .map(rfc3339);
        ApiKeyView {
            id: k.id.clone(),
            role: k.role,
            label: k.label.clone(),
            prefix: k.prefix.clone(),
            created_at: rfc3339(k.created_at),
            last_used_at,
        }
    }
}

/// A new API key, with the key itself (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// The key's metadata.
    #[serde(flatten)]
    pub key: ApiKeyView,
    /// The API key; shown only here.
    pub api_key: String,
}

/// Body of `POST /v1/api-keys`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKeyRequest {
    /// Role.
    pub role: crate::domain::access::Role,
    /// Label.
    #[serde(default)]
    pub label: Option<String>,
}

impl From<NewApiKeyRequest> for NewApiKey {
    fn from(r: NewApiKeyRequest) -> Self {
        NewApiKey {
            role: r.role,
            label: r.label,
        }
    }
}

/// The role of a practitioner's API key.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including keys and deletion.
    Owner,
    /// Configuration.
    Editor,
    /// Read only.
    Viewer,
}

/// An API key's public identifier (never the key itself).
#[derive(ToSchema)]
#[serde(transparent)]
pub struct ApiKeyId(pub String);

schema_of! {
    crate::domain::access::Role => Role,
    crate::domain::ids::ApiKeyId => ApiKeyId,
}
