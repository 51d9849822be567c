//! The practice's export and import on the wire: the schema of the export document
//! (its serde form is the service's, since an import must read back exactly what an
//! export wrote) and what an import answers.

use super::endpoints::EndpointId;
use super::endpoints::Jwk;
use super::keys::{ApiKeyId, Role};
use super::markers::CustomMarker;
use super::practitioner::PractitionerView;
use super::practitioner::{ConsentVersion, Practitioner};
use super::ranges::RangeOverride;
use super::schema_of;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// An imported endpoint's new secrets (imports never carry secrets, so new ones are minted).
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointSecrets {
    /// Id (`ep_…`).
    pub id: crate::domain::ids::EndpointId,
    /// The Standard Webhooks secret (`whsec_…`).
    pub secret: String,
    /// The payload encryption key; absent for `jwe-receiver`.
    #[schema(value_type = Option<Jwk>)]
    #[serde(skip_serializing_if = "Value::is_null")]
    pub encryption_key: Value,
}

/// What an import created: the practitioner, a new owner key and new endpoint secrets.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportedPractitioner {
    /// The practitioner.
    pub practitioner: PractitionerView,
    /// A new owner API key; shown only here.
    pub api_key: String,
    /// Each endpoint's new secret and key; shown only here.
    pub endpoints: Vec<EndpointSecrets>,
}

/// An endpoint in an export: no secrets.
#[derive(ToSchema)]
pub struct ExportedEndpoint {
    /// Id.
    pub id: EndpointId,
    /// URL.
    pub url: String,
    /// Format.
    pub format: crate::domain::endpoint::Format,
    /// Encryption.
    pub encryption: crate::domain::endpoint::Encryption,
    /// Description.
    pub description: Option<String>,
    /// Enabled.
    pub enabled: bool,
    /// For `jwe-receiver`: the receiver's public JWKs.
    #[schema(value_type = Option<Vec<Object>>)]
    pub receiver_keys: Vec<Value>,
}

/// A key in an export: metadata only.
#[derive(ToSchema)]
pub struct ExportedKey {
    /// Id.
    pub id: ApiKeyId,
    /// Role.
    pub role: Role,
    /// Label.
    pub label: Option<String>,
    /// First characters.
    pub prefix: String,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Everything held about a practice, without secrets: `GET /v1/practitioner/export`,
/// accepted by `POST /v1/practitioner/import` on another instance.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportDocument {
    /// Always `gaprelay.export.v1`.
    pub format: String,
    /// When it was made.
    pub exported_at: String,
    /// The account and its settings.
    pub practitioner: Practitioner,
    /// Range overrides.
    pub ranges: Vec<RangeOverride>,
    /// Custom markers.
    pub custom_markers: Vec<CustomMarker>,
    /// Endpoints, without secrets.
    pub endpoints: Vec<ExportedEndpoint>,
    /// API keys, metadata only.
    pub api_keys: Vec<ExportedKey>,
    /// The audit log, newest first (entries as in `GET /v1/audit-log`). For the
    /// practice's own records: an import does not take it in.
    #[schema(value_type = Vec<Object>)]
    pub audit_log: Vec<serde_json::Value>,
    /// Every recorded version of the consent wording, newest first (absent from
    /// exports made before versions were recorded).
    #[serde(default)]
    pub consent_versions: Vec<ConsentVersion>,
}

schema_of! {
    crate::service::account::ExportedEndpoint => ExportedEndpoint,
    crate::service::account::ExportedKey => ExportedKey,
    crate::service::account::ExportDocument => ExportDocument,
}
