//! Configuration storage: practitioners (and their erasure), API keys, range overrides,
//! custom markers, consent versions and endpoints, and the form context an intake reads.
//! Never patient data.

use super::{Page, StoreError};
use crate::crypto::api_key::ApiKeyHash;
use crate::domain::access::Role;
use crate::domain::catalog::Sex;
use crate::domain::custom::CustomMarker;
use crate::domain::endpoint::{Encryption, Format};
use crate::domain::ids::{ApiKeyId, EndpointId, PractitionerId};
use crate::domain::practitioner::{ConsentVersion, Practitioner};
use crate::domain::ranges::RangeOverride;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A practitioner's API key as stored: only the hash, never the key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// Public id.
    pub id: ApiKeyId,
    /// Owning practitioner.
    pub practitioner_id: PractitionerId,
    /// Role.
    pub role: Role,
    /// SHA-256 of the key, hex.
    pub hash: String,
    /// Label.
    pub label: Option<String>,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The key's first characters (`grk_AbCd`), so its owner can tell keys apart.
    #[serde(default)]
    pub prefix: String,
}

/// What revoking a key did.
#[derive(Debug, Clone, PartialEq)]
pub enum Revocation {
    /// Revoked: it no longer authenticates.
    Revoked(ApiKeyRecord),
    /// No such key for this practitioner.
    NotFound,
    /// Refused: it is the practitioner's last owner key.
    LastOwner,
}

/// What a compare-and-set write of a practitioner's record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replaced {
    /// Written: the stored record was at the expected version.
    Written,
    /// Not written: the record changed since it was read (its version differs).
    Stale,
    /// Not written: there is no such record (never created, or erased meanwhile).
    Missing,
}

/// A webhook endpoint as stored. Its secret and content key are sealed under the
/// master key (associated data: the endpoint id), so a Redis dump reveals neither.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointRecord {
    /// Id.
    pub id: EndpointId,
    /// Owning practitioner.
    pub practitioner_id: PractitionerId,
    /// Target URL.
    pub url: String,
    /// Payload format.
    pub format: Format,
    /// Encryption.
    pub encryption: Encryption,
    /// Description.
    pub description: Option<String>,
    /// Whether deliveries go out (a 410 from the receiver disables it).
    pub enabled: bool,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Sealed Standard Webhooks secret (raw bytes inside).
    #[serde(with = "b64")]
    pub sealed_secret: Vec<u8>,
    /// Sealed JWE content key (its JWK JSON inside).
    #[serde(with = "b64")]
    pub sealed_key: Vec<u8>,
    /// After a rotation: the previous secret, sealed, which keeps signing alongside
    /// until `previous_secret_until`.
    #[serde(default, with = "b64_opt")]
    pub previous_sealed_secret: Option<Vec<u8>>,
    /// When the previous secret stops signing.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub previous_secret_until: Option<OffsetDateTime>,
    /// Raised by one with every change, so that a change made from a stale read is
    /// refused ([`ConfigStore::replace_endpoint`]); a record stored before versions were
    /// kept reads as 0.
    #[serde(default)]
    pub version: u64,
    /// For `jwe-receiver`: the receiver's public JWKs, which `data` is encrypted to at
    /// intake (public, so not sealed; read back as untrusted and parsed again before
    /// use). Empty for other encryptions and in records stored before the mode existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub receiver_keys: Vec<serde_json::Value>,
}

/// A practitioner with the configuration its public form needs.
#[derive(Debug, Clone, PartialEq)]
pub struct FormContext {
    /// The practitioner.
    pub practitioner: Practitioner,
    /// Its range overrides.
    pub ranges: Vec<RangeOverride>,
    /// Its endpoints.
    pub endpoints: Vec<EndpointRecord>,
    /// Its custom markers.
    pub custom_markers: Vec<CustomMarker>,
}

/// Configuration storage: everything a practice sets up, read on every intake and
/// changed through the API. Implementations must pass the conformance suite in
/// `tests/api/store_conformance.rs`.
#[async_trait::async_trait]
pub trait ConfigStore: Send + Sync {
    /// Whether the backend answers (every concern shares one backend; readiness asks
    /// here).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Creates a practitioner with its first (owner) key; `Conflict` if the slug is taken.
    async fn create_practitioner(
        &self,
        p: &Practitioner,
        owner_key: &ApiKeyRecord,
    ) -> Result<(), StoreError>;
    /// A practitioner by id.
    async fn practitioner(&self, id: &PractitionerId) -> Result<Option<Practitioner>, StoreError>;
    /// A practitioner by slug.
    async fn practitioner_by_slug(&self, slug: &str) -> Result<Option<Practitioner>, StoreError>;

    /// Practitioners, oldest first, `limit` after `cursor`.
    async fn practitioners(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Practitioner>, StoreError>;
    /// Schedules (`Some`) or cancels (`None`) a practitioner's erasure, and stores the
    /// record that says so, like [`Self::replace_practitioner`]: only if the stored
    /// record is still at `expected_version`. The index of scheduled erasures may
    /// briefly name a practitioner whose record is not (or no longer) scheduled; the
    /// record decides, so whoever erases checks it first.
    async fn schedule_erasure(
        &self,
        p: &Practitioner,
        expected_version: u64,
        at_ms: Option<i64>,
    ) -> Result<Replaced, StoreError>;
    /// Practitioners whose erasure is due at `now_ms`.
    async fn erasures_due(&self, now_ms: i64) -> Result<Vec<PractitionerId>, StoreError>;
    /// Erases every trace of a practitioner: record, slug, keys, ranges, markers,
    /// endpoints, consent versions, audit log, delivery log. A compare-and-set, like
    /// [`Self::replace_practitioner`]: only if the stored record is still at
    /// `expected_version` (`None`: only if there is no record, so that the leftovers of
    /// an interrupted erasure can be cleared), checked and erased in one atomic step,
    /// so that a cancellation written after the caller read the record is never
    /// overridden. True if it erased.
    async fn erase_practitioner(
        &self,
        id: &PractitionerId,
        expected_version: Option<u64>,
    ) -> Result<bool, StoreError>;

    /// Adds a key for an existing practitioner.
    async fn create_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    /// A practitioner's keys (never the keys themselves), oldest first, with when each
    /// was last used (Unix ms).
    async fn api_keys(
        &self,
        practitioner: &PractitionerId,
    ) -> Result<Vec<(ApiKeyRecord, Option<i64>)>, StoreError>;
    /// Revokes a key at once, unless it is the last owner key.
    async fn revoke_api_key(
        &self,
        practitioner: &PractitionerId,
        id: &ApiKeyId,
    ) -> Result<Revocation, StoreError>;
    /// Records that a key was used.
    async fn touch_api_key(&self, key: &ApiKeyRecord, at_ms: i64) -> Result<(), StoreError>;

    /// Replaces a practitioner's record (its slug does not change) only if the stored
    /// record's `version` is still `expected_version`: a compare-and-set, so that a
    /// change read and applied by one caller can never silently undo another's made
    /// meanwhile (an operator's suspension undone by a concurrent settings change).
    /// There is no unconditional write of the record.
    async fn replace_practitioner(
        &self,
        p: &Practitioner,
        expected_version: u64,
    ) -> Result<Replaced, StoreError>;

    /// The key record with this hash.
    async fn api_key_by_hash(&self, hash: &ApiKeyHash) -> Result<Option<ApiKeyRecord>, StoreError>;

    /// Stores (replaces) a range override for its marker and sex.
    async fn put_range(
        &self,
        practitioner: &PractitionerId,
        range: &RangeOverride,
    ) -> Result<(), StoreError>;
    /// Removes an override; true if one existed.
    async fn delete_range(
        &self,
        practitioner: &PractitionerId,
        marker: &str,
        sex: Option<Sex>,
    ) -> Result<bool, StoreError>;
    /// All overrides, ordered by marker then sex.
    async fn ranges(&self, practitioner: &PractitionerId)
        -> Result<Vec<RangeOverride>, StoreError>;

    /// Stores (replaces) a custom marker.
    async fn put_custom_marker(
        &self,
        practitioner: &PractitionerId,
        marker: &CustomMarker,
    ) -> Result<(), StoreError>;
    /// Removes a custom marker; true if it existed.
    async fn delete_custom_marker(
        &self,
        practitioner: &PractitionerId,
        id: &str,
    ) -> Result<bool, StoreError>;
    /// All custom markers, ordered by id.
    async fn custom_markers(
        &self,
        practitioner: &PractitionerId,
    ) -> Result<Vec<CustomMarker>, StoreError>;

    /// Records a version of the consent wording unless that version is already
    /// recorded (the first record of a version is kept); true if it was recorded now.
    async fn put_consent_version(
        &self,
        practitioner: &PractitionerId,
        version: &ConsentVersion,
    ) -> Result<bool, StoreError>;
    /// One recorded version of the consent wording.
    async fn consent_version(
        &self,
        practitioner: &PractitionerId,
        version: u32,
    ) -> Result<Option<ConsentVersion>, StoreError>;
    /// A page of the recorded consent versions, newest (highest) first; the cursor is
    /// the last version number of the previous page.
    async fn consent_versions(
        &self,
        practitioner: &PractitionerId,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<ConsentVersion>, StoreError>;

    /// Stores an endpoint's record as it is, whatever was stored before: for a new
    /// endpoint (and an import). Changes to an existing one go through
    /// [`ConfigStore::replace_endpoint`].
    async fn put_endpoint(&self, endpoint: &EndpointRecord) -> Result<(), StoreError>;
    /// Replaces an endpoint's record only if the stored one is still at
    /// `expected_version` (a compare-and-set); the caller has raised `endpoint.version`
    /// past it. `Stale` when it changed meanwhile, `Missing` when it was deleted.
    async fn replace_endpoint(
        &self,
        endpoint: &EndpointRecord,
        expected_version: u64,
    ) -> Result<Replaced, StoreError>;
    /// One endpoint of a practitioner.
    async fn endpoint(
        &self,
        practitioner: &PractitionerId,
        id: &EndpointId,
    ) -> Result<Option<EndpointRecord>, StoreError>;
    /// All endpoints of a practitioner, oldest first.
    async fn endpoints(
        &self,
        practitioner: &PractitionerId,
    ) -> Result<Vec<EndpointRecord>, StoreError>;
    /// Disables an endpoint after its receiver answered `410 Gone`, as one atomic change
    /// of its `enabled` field: only if it still exists and its URL is still `if_url` (the
    /// URL that answered). Nothing else of the record is written, so a deletion, a URL
    /// change or a secret rotation made while the request was in flight stays intact.
    /// True if the endpoint was disabled now.
    async fn disable_endpoint(
        &self,
        practitioner: &PractitionerId,
        id: &EndpointId,
        if_url: &str,
    ) -> Result<bool, StoreError>;
    /// Deletes an endpoint; true if it existed.
    async fn delete_endpoint(
        &self,
        practitioner: &PractitionerId,
        id: &EndpointId,
    ) -> Result<bool, StoreError>;

    /// Everything an intake needs about the practitioner behind a form: its record,
    /// range overrides and endpoints. The Redis store reads the last three in one
    /// pipelined round trip (they share a hash slot).
    async fn form_context(&self, slug: &str) -> Result<Option<FormContext>, StoreError> {
        let Some(practitioner) = self.practitioner_by_slug(slug).await? else {
            return Ok(None);
        };
        let ranges = self.ranges(&practitioner.id).await?;
        let endpoints = self.endpoints(&practitioner.id).await?;
        let custom_markers = self.custom_markers(&practitioner.id).await?;
        Ok(Some(FormContext {
            practitioner,
            ranges,
            endpoints,
            custom_markers,
        }))
    }
}

/// A page of consent versions, highest first, after the version `cursor` (a cursor
/// that is not a version number gives an empty page, like an unknown cursor elsewhere).
pub(super) fn page_consent_versions(
    mut all: Vec<ConsentVersion>,
    cursor: Option<&str>,
    limit: usize,
) -> Page<ConsentVersion> {
    all.sort_by_key(|v| std::cmp::Reverse(v.version));
    let after = match cursor {
        None => u32::MAX,
        Some(c) => match c.parse::<u32>() {
            Ok(v) => v,
            Err(_) => {
                return Page {
                    items: Vec::new(),
                    next_cursor: None,
                }
            }
        },
    };
    let mut rest = all
        .into_iter()
        .filter(|v| cursor.is_none() || v.version < after);
    let items: Vec<ConsentVersion> = rest.by_ref().take(limit).collect();
    let next_cursor = rest.next().and(items.last()).map(|v| v.version.to_string());
    Page { items, next_cursor }
}

/// The order endpoints are listed in: oldest first, ties by id.
pub(super) fn sort_endpoints(list: &mut [EndpointRecord]) {
    list.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
}

/// Serde helper: optional bytes as standard base64 in JSON.
mod b64_opt {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_some(&base64::engine::general_purpose::STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| {
                base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}

/// Serde helper: bytes as standard base64 in JSON.
mod b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(serde::de::Error::custom)
    }
}
