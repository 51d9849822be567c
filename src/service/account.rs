//! Account use cases: profile and settings, API keys, endpoint maintenance (update,
//! rotate, test), the audit log, the practice's data rights (export, import,
//! restriction, erasure) and the operator's view of practitioners.

use super::{CreatedEndpoint, Principal, ServiceError, Services};
use crate::crypto::api_key::ApiKey;
use crate::crypto::jwe::ContentKey;
use crate::crypto::webhook::WebhookSecret;
use crate::delivery::message::{self, Routing};
use crate::delivery::payload;
use crate::domain::access::{Access, Role};
use crate::domain::catalog;
use crate::domain::custom::{
    CustomMarker, CustomMarkerDraft, SymptomSettings, SymptomSettingsDraft, MAX_CUSTOM_MARKERS,
};
use crate::domain::endpoint::{EndpointDraft, EndpointSpec};
use crate::domain::ids::{ApiKeyId, EndpointId, MessageId, PractitionerId};
use crate::domain::practitioner::{AccountStatus, ConsentVersion, NewPractitioner, Practitioner};
use crate::domain::problems::FieldProblem;
use crate::domain::ranges::{Bounds, BoundsDraft, RangeDraft, RangeOverride};
use crate::domain::settings::PractitionerPatch;
use crate::store::{
    ApiKeyRecord, AuditEntry, EndpointRecord, Page, Partitions, Replaced, Revocation,
};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use time::OffsetDateTime;

/// How long a rotated-out webhook secret keeps signing alongside the new one.
pub const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 60 * 60);
/// How long after a deletion request the account is erased (cancellable until then).
pub const ERASURE_DELAY: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// Largest page of any list.
pub const MAX_PAGE: usize = 100;
/// How many times a change to the practitioner's record is read, applied and written
/// again when someone else changed the record meanwhile (without `If-Match`).
/// Enough for a hundred concurrent changes to one account to land, each after at most
/// a second or two of pauses.
const EDIT_ATTEMPTS: u32 = 25;

/// A short random pause before the `attempt`th try of a compare-and-set that lost, so
/// that writers racing for one record spread out (at most 64 ms).
async fn pause_before_retry(attempt: u32) {
    let cap_ms = 1u64 << attempt.min(6);
    let pause = rand::Rng::gen_range(&mut rand::thread_rng(), 0..=cap_ms);
    tokio::time::sleep(Duration::from_millis(pause)).await;
}

/// What an edit of the practitioner's record decided (see
/// [`Services::edit_practitioner`]).
pub(super) enum Edit<T> {
    /// Write the edited record, then answer `T`.
    Write(T),
    /// Nothing changed: write nothing and answer `T`.
    Keep(T),
}

/// Who did something, for the audit log.
#[derive(Debug, Clone)]
pub enum Actor<'a> {
    /// A practitioner's key.
    Key(&'a Principal),
    /// The operator.
    Operator,
}

/// An API key as a practitioner asked for it (`POST /v1/api-keys`); the label is checked
/// by [`Services::create_api_key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// Role.
    pub role: Role,
    /// Label.
    pub label: Option<String>,
}

/// A change to an endpoint (`PATCH /v1/endpoints/{id}`); `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointEdit {
    /// Enable or disable deliveries.
    pub enabled: Option<bool>,
    /// Description.
    pub description: Option<String>,
    /// Target URL.
    pub url: Option<String>,
    /// A `jwe-receiver` endpoint's new list of public keys (rotation: list the new key
    /// beside the old, later the new alone).
    pub receiver_keys: Option<Vec<serde_json::Value>>,
}

/// An endpoint in an export: no secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// For `jwe-receiver`: the receiver's public JWKs (public, so exported).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub receiver_keys: Vec<serde_json::Value>,
}

/// A key in an export: metadata only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    pub audit_log: Vec<AuditEntry>,
    /// Every recorded version of the consent wording, newest first (absent from
    /// exports made before versions were recorded).
    #[serde(default)]
    pub consent_versions: Vec<ConsentVersion>,
}

/// The format tag of export documents.
pub const EXPORT_FORMAT: &str = "gaprelay.export.v1";

impl Services {
    fn ms(d: Duration) -> i64 {
        i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
    }

    /// Appends to the audit log. An action that cannot be audited fails.
    pub async fn audit(
        &self,
        actor: Actor<'_>,
        practitioner: Option<&PractitionerId>,
        action: &str,
        target: &str,
        outcome: &str,
        details: Vec<String>,
    ) -> Result<(), ServiceError> {
        let now_ms = self.clock.now_ms();
        let entry = AuditEntry {
            at: payload::rfc3339(self.clock.now()),
            actor: match actor {
                Actor::Key(p) => p.key_id.to_string(),
                Actor::Operator => "operator".to_owned(),
            },
            action: action.to_owned(),
            target: target.to_owned(),
            outcome: outcome.to_owned(),
            details,
        };
        let retain_after = now_ms.saturating_sub(Self::ms(self.audit_retention));
        self.store
            .append_audit(practitioner, &entry, now_ms, retain_after)
            .await?;
        Ok(())
    }

    /// Records an operator action on a practitioner in both audit logs: the
    /// practitioner's (exported with its data) and the operator's (which outlives it).
    pub async fn audit_operator(
        &self,
        id: &PractitionerId,
        action: &str,
    ) -> Result<(), ServiceError> {
        for log in [Some(id), None] {
            self.audit(Actor::Operator, log, action, id.as_str(), "success", vec![])
                .await?;
        }
        Ok(())
    }

    /// Records a successful change by a key.
    pub async fn audit_ok(
        &self,
        who: &Principal,
        action: &str,
        target: &str,
        details: Vec<String>,
    ) -> Result<(), ServiceError> {
        self.audit(
            Actor::Key(who),
            Some(&who.practitioner_id),
            action,
            target,
            "success",
            details,
        )
        .await
    }

    /// Checks the role; a denied attempt to change something is audited.
    pub async fn allow(
        &self,
        who: &Principal,
        access: Access,
        action: &str,
        target: &str,
    ) -> Result<(), ServiceError> {
        if who.role.allows(access) {
            return Ok(());
        }
        if access != Access::Read {
            self.audit(
                Actor::Key(who),
                Some(&who.practitioner_id),
                action,
                target,
                "denied",
                vec![],
            )
            .await?;
        }
        Err(ServiceError::Forbidden)
    }

    /// Seals an endpoint's secret and content key for storage.
    pub(super) fn seal_endpoint_secrets(
        &self,
        id: &EndpointId,
        secret: &WebhookSecret,
        key: &ContentKey,
    ) -> Result<(Vec<u8>, Vec<u8>), ServiceError> {
        let mut rng = rand::rngs::OsRng;
        Ok((
            message::seal_endpoint_secret(&self.master_key, id, secret, &mut rng),
            message::seal_content_key(&self.master_key, id, key, &mut rng)
                .map_err(anyhow::Error::new)?,
        ))
    }

    /// Reads practitioner `id`'s record, lets `edit` change it, and writes it back only
    /// if nobody changed the record meanwhile: a compare-and-set on its `version`,
    /// which the write raises by one. When the record changed under it, the whole
    /// read-edit-write is done again (a few times, after a short random pause), unless
    /// `strict` (the caller sent `If-Match`): then the caller must read again (412).
    /// `erasure` also schedules (`Some(Some(at_ms))`) or cancels (`Some(None)`) the
    /// account's erasure with the write. `missing` is the error for a record that is
    /// not there.
    pub(super) async fn edit_practitioner<T>(
        &self,
        id: &PractitionerId,
        strict: bool,
        erasure: Option<Option<i64>>,
        missing: impl Fn() -> ServiceError,
        mut edit: impl FnMut(&mut Practitioner) -> Result<Edit<T>, ServiceError>,
    ) -> Result<(Practitioner, T), ServiceError> {
        for attempt in 0..EDIT_ATTEMPTS {
            if attempt > 0 {
                pause_before_retry(attempt).await;
            }
            let mut p = self.store.practitioner(id).await?.ok_or_else(&missing)?;
            let read_version = p.version;
            let answer = match edit(&mut p)? {
                Edit::Keep(answer) => return Ok((p, answer)),
                Edit::Write(answer) => answer,
            };
            p.version = read_version + 1;
            let outcome = match erasure {
                None => self.store.replace_practitioner(&p, read_version).await?,
                Some(at_ms) => self.store.schedule_erasure(&p, read_version, at_ms).await?,
            };
            match outcome {
                Replaced::Written => return Ok((p, answer)),
                Replaced::Missing => return Err(missing()),
                Replaced::Stale if strict => return Err(ServiceError::PreconditionFailed),
                Replaced::Stale => {}
            }
        }
        Err(ServiceError::Conflict(
            "the account kept changing while this change was being made; try again",
        ))
    }

    /// Changes profile and settings. With `if_match`, refuses (412) unless it is the
    /// current `ETag`, so two editors cannot overwrite each other; without, the patch
    /// is applied to whatever is current when it is written (never to a stale copy).
    pub async fn patch_practitioner(
        &self,
        who: &Principal,
        if_match: Option<&str>,
        patch: PractitionerPatch,
    ) -> Result<Practitioner, ServiceError> {
        self.allow(
            who,
            Access::Configure,
            "practitioner.updated",
            who.practitioner_id.as_str(),
        )
        .await?;
        let if_match = if_match.map(str::trim).filter(|tag| *tag != "*");
        let custom = self.store.custom_markers(&who.practitioner_id).await?;
        if patch.consent_text.is_some() {
            // The wording being replaced may predate the record of versions. (Wording
            // that becomes current meanwhile is recorded by the change that made it so.)
            let current = self.practitioner(who).await?;
            self.record_consent(&current).await?;
        }
        let (p, (changed, new_consent)) = self
            .edit_practitioner(
                &who.practitioner_id,
                if_match.is_some(),
                None,
                || ServiceError::Unauthorized,
                |p| {
                    if if_match.is_some_and(|tag| tag != p.etag()) {
                        return Err(ServiceError::PreconditionFailed);
                    }
                    let consent_before = p.settings.consent_version;
                    let changed = p
                        .apply(patch.clone(), &custom)
                        .map_err(ServiceError::Validation)?;
                    let new_consent = p.settings.consent_version != consent_before;
                    Ok(if changed.is_empty() {
                        Edit::Keep((changed, new_consent))
                    } else {
                        Edit::Write((changed, new_consent))
                    })
                },
            )
            .await?;
        if changed.is_empty() {
            return Ok(p);
        }
        if new_consent {
            // Recorded only once the wording is current, so that a failed update can
            // never leave a record of wording no patient was shown.
            self.store
                .put_consent_version(
                    &p.id,
                    &ConsentVersion {
                        version: p.settings.consent_version,
                        text: p.settings.consent_text.clone(),
                        created_at: self.clock.now(),
                    },
                )
                .await?;
        }
        self.forms.invalidate(&who.practitioner_id);
        let action = match changed.as_slice() {
            ["accepting_submissions"] if p.settings.accepting_submissions => "practitioner.resumed",
            ["accepting_submissions"] => "practitioner.paused",
            _ => "practitioner.updated",
        };
        self.audit_ok(
            who,
            action,
            who.practitioner_id.as_str(),
            changed.iter().map(|c| (*c).to_owned()).collect(),
        )
        .await?;
        Ok(p)
    }

    /// Records the current consent wording unless its version is recorded already.
    /// Version 1 dates from the account's creation; a later version first seen here
    /// (wording set before versions were recorded) is dated now.
    async fn record_consent(&self, p: &Practitioner) -> Result<(), ServiceError> {
        let s = &p.settings;
        let created_at = if s.consent_version <= 1 {
            p.created_at
        } else {
            self.clock.now()
        };
        let version = ConsentVersion {
            version: s.consent_version,
            text: s.consent_text.clone(),
            created_at,
        };
        self.store.put_consent_version(&p.id, &version).await?;
        Ok(())
    }

    /// A page of every version of the consent wording, newest first (any role).
    pub async fn consent_versions(
        &self,
        who: &Principal,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<ConsentVersion>, ServiceError> {
        self.allow(who, Access::Read, "consent_versions.read", "")
            .await?;
        let p = self.practitioner(who).await?;
        self.record_consent(&p).await?;
        Ok(self
            .store
            .consent_versions(&p.id, cursor, limit.clamp(1, MAX_PAGE))
            .await?)
    }

    /// One version of the consent wording (any role).
    pub async fn consent_version(
        &self,
        who: &Principal,
        version: &str,
    ) -> Result<ConsentVersion, ServiceError> {
        self.allow(who, Access::Read, "consent_versions.read", version)
            .await?;
        let version: u32 = version
            .parse()
            .map_err(|_| ServiceError::NotFound("consent version"))?;
        let p = self.practitioner(who).await?;
        self.record_consent(&p).await?;
        self.store
            .consent_version(&p.id, version)
            .await?
            .ok_or(ServiceError::NotFound("consent version"))
    }

    /// Creates an API key (shown once).
    pub async fn create_api_key(
        &self,
        who: &Principal,
        req: NewApiKey,
    ) -> Result<(ApiKeyRecord, ApiKey), ServiceError> {
        self.allow(who, Access::Administer, "api_key.created", "")
            .await?;
        let label = req
            .label
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty());
        if label
            .as_ref()
            .is_some_and(|l| l.chars().count() > 100 || l.chars().any(char::is_control))
        {
            return Err(ServiceError::Validation(vec![FieldProblem::new(
                "label",
                "must be at most 100 printable characters",
            )]));
        }
        let mut rng = rand::rngs::OsRng;
        let key = ApiKey::generate(&mut rng);
        let record = ApiKeyRecord {
            id: ApiKeyId::generate(&mut rng),
            practitioner_id: who.practitioner_id.clone(),
            role: req.role,
            hash: key.hash().to_hex(),
            label,
            created_at: self.clock.now(),
            prefix: key.prefix(),
        };
        self.store.create_api_key(&record).await?;
        self.audit_ok(
            who,
            "api_key.created",
            record.id.as_str(),
            vec![format!("role={}", role_name(record.role))],
        )
        .await?;
        Ok((record, key))
    }

    /// The caller's keys with when each was last used.
    pub async fn api_keys(
        &self,
        who: &Principal,
    ) -> Result<Vec<(ApiKeyRecord, Option<i64>)>, ServiceError> {
        self.allow(who, Access::Administer, "api_key.listed", "")
            .await?;
        Ok(self.store.api_keys(&who.practitioner_id).await?)
    }

    /// Revokes a key at once; never the last owner key.
    pub async fn revoke_api_key(&self, who: &Principal, id: &str) -> Result<(), ServiceError> {
        self.allow(who, Access::Administer, "api_key.revoked", id)
            .await?;
        let key_id = ApiKeyId::parse(id).map_err(|_| ServiceError::NotFound("API key"))?;
        match self
            .store
            .revoke_api_key(&who.practitioner_id, &key_id)
            .await?
        {
            Revocation::Revoked(_) => {
                self.audit_ok(who, "api_key.revoked", id, vec![]).await?;
                Ok(())
            }
            Revocation::NotFound => Err(ServiceError::NotFound("API key")),
            Revocation::LastOwner => Err(ServiceError::Conflict(
                "the last owner key cannot be revoked; create another owner key first",
            )),
        }
    }

    async fn own_endpoint(
        &self,
        who: &Principal,
        id: &str,
    ) -> Result<EndpointRecord, ServiceError> {
        let id = EndpointId::parse(id).map_err(|_| ServiceError::NotFound("endpoint"))?;
        self.store
            .endpoint(&who.practitioner_id, &id)
            .await?
            .ok_or(ServiceError::NotFound("endpoint"))
    }

    /// Reads endpoint `id` of `practitioner`, lets `edit` change it (false: nothing to
    /// write), and writes it back only if nobody changed the record meanwhile: a
    /// compare-and-set on its `version`, which the write raises by one. When it changed
    /// under it (a rotation, a PATCH, a 410's disabling), the read-edit-write is done
    /// again on the fresh record, a few times, after a short random pause.
    pub(super) async fn edit_endpoint(
        &self,
        practitioner: &PractitionerId,
        id: &EndpointId,
        mut edit: impl FnMut(&mut EndpointRecord) -> Result<bool, ServiceError>,
    ) -> Result<EndpointRecord, ServiceError> {
        for attempt in 0..EDIT_ATTEMPTS {
            if attempt > 0 {
                pause_before_retry(attempt).await;
            }
            let mut record = self
                .store
                .endpoint(practitioner, id)
                .await?
                .ok_or(ServiceError::NotFound("endpoint"))?;
            let read_version = record.version;
            if !edit(&mut record)? {
                return Ok(record);
            }
            record.version = read_version + 1;
            match self.store.replace_endpoint(&record, read_version).await? {
                Replaced::Written => return Ok(record),
                Replaced::Missing => return Err(ServiceError::NotFound("endpoint")),
                Replaced::Stale => {}
            }
        }
        Err(ServiceError::Conflict(
            "the endpoint kept changing while this change was being made; try again",
        ))
    }

    /// Enables/disables an endpoint, or changes its description or URL.
    pub async fn update_endpoint(
        &self,
        who: &Principal,
        id: &str,
        patch: EndpointEdit,
    ) -> Result<EndpointRecord, ServiceError> {
        self.allow(who, Access::Configure, "endpoint.updated", id)
            .await?;
        let record = self.own_endpoint(who, id).await?;
        let mut changed = Vec::new();
        // Every field is checked before any problem is reported, so that all of them
        // are reported at once.
        let mut problems = Vec::new();
        let url = patch.url.and_then(|url| {
            let req = EndpointDraft {
                url,
                format: Some(record.format),
                encryption: Some(record.encryption),
                description: None,
                receiver_keys: (!record.receiver_keys.is_empty())
                    .then(|| record.receiver_keys.clone()),
            };
            EndpointSpec::parse(req, self.allow_private_targets)
                .map_err(|errs| problems.extend(errs))
                .ok()
        });
        let receiver_keys = patch.receiver_keys.and_then(|jwks| {
            crate::domain::endpoint::parse_receiver_keys(record.encryption, jwks)
                .map_err(|errs| problems.extend(errs))
                .ok()
        });
        let description = patch.description.map(|d| d.trim().to_owned());
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 500)
        {
            problems.push(FieldProblem::new(
                "description",
                "must be at most 500 characters",
            ));
        }
        if !problems.is_empty() {
            return Err(ServiceError::Validation(problems));
        }
        if let Some(spec) = &url {
            self.check_endpoint_host(spec.url(), "url").await?;
            changed.push("url".to_owned());
        }
        if description.is_some() {
            changed.push("description".to_owned());
        }
        if receiver_keys.is_some() {
            changed.push("receiver_keys".to_owned());
        }
        if patch.enabled.is_some() {
            changed.push("enabled".to_owned());
        }
        // Applied to the record as it is when written, so that a rotation or a 410's
        // disabling made meanwhile is kept.
        let record = self
            .edit_endpoint(&record.practitioner_id, &record.id, |record| {
                if let Some(spec) = &url {
                    record.url = spec.url().to_string();
                }
                if let Some(d) = &description {
                    record.description = (!d.is_empty()).then(|| d.clone());
                }
                if let Some(keys) = &receiver_keys {
                    record.receiver_keys = keys.iter().map(|k| k.to_jwk()).collect();
                }
                if let Some(e) = patch.enabled {
                    record.enabled = e;
                }
                Ok(true)
            })
            .await?;
        self.forms.invalidate(&who.practitioner_id);
        if record.enabled {
            self.wake_held().await;
        }
        self.audit_ok(who, "endpoint.updated", id, changed).await?;
        Ok(record)
    }

    /// Gives an endpoint a new secret and content key; the old secret keeps signing
    /// alongside the new one for 24 hours so receivers can switch without downtime.
    pub async fn rotate_endpoint(
        &self,
        who: &Principal,
        id: &str,
    ) -> Result<CreatedEndpoint, ServiceError> {
        self.allow(who, Access::Configure, "endpoint.rotated", id)
            .await?;
        let record = self.own_endpoint(who, id).await?;
        let mut rng = rand::rngs::OsRng;
        let secret = WebhookSecret::generate(&mut rng);
        let key = ContentKey::generate(&mut rng);
        let (sealed_secret, sealed_key) = self.seal_endpoint_secrets(&record.id, &secret, &key)?;
        let until = self.clock.now() + ROTATION_OVERLAP;
        // Applied to the record as it is when written: a URL change made meanwhile stays.
        let record = self
            .edit_endpoint(&record.practitioner_id, &record.id, |record| {
                record.previous_sealed_secret = Some(std::mem::replace(
                    &mut record.sealed_secret,
                    sealed_secret.clone(),
                ));
                record.previous_secret_until = Some(until);
                record.sealed_key = sealed_key.clone();
                Ok(true)
            })
            .await?;
        self.audit_ok(who, "endpoint.rotated", id, vec![]).await?;
        Ok(CreatedEndpoint {
            record,
            secret,
            key,
        })
    }

    /// Queues an `endpoint.test` event (a fixed sample, no patient data) for one endpoint.
    pub async fn test_endpoint(
        &self,
        who: &Principal,
        id: &str,
    ) -> Result<MessageId, ServiceError> {
        self.allow(who, Access::Configure, "endpoint.tested", id)
            .await?;
        let record = self.own_endpoint(who, id).await?;
        if !record.enabled {
            return Err(ServiceError::Conflict(
                "the endpoint is disabled: enable it before testing it",
            ));
        }
        let mut rng = rand::rngs::OsRng;
        let event = payload::test_event(&who.practitioner_id, self.clock.now());
        let now_ms = self.clock.now_ms();
        let routing = Routing {
            practitioner_id: who.practitioner_id.clone(),
            due_at_ms: now_ms,
            expires_at_ms: now_ms.saturating_add(Self::ms(self.message_ttl)),
            submission_id: None,
        };
        let queued = message::queue_for(
            &self.master_key,
            &event,
            [record.id.clone()],
            &routing,
            None,
            &mut rng,
        )
        .map_err(anyhow::Error::new)?;
        let msg = queued
            .first()
            .map(|m| m.id.clone())
            .ok_or_else(|| anyhow::anyhow!("no message queued for the test"))?;
        self.store
            .enqueue(&queued)
            .await
            .map_err(ServiceError::Unavailable)?;
        self.queued
            .ring(Partitions::of(queued.iter().map(|m| &m.id)));
        self.audit_ok(who, "endpoint.tested", id, vec![msg.to_string()])
            .await?;
        Ok(msg)
    }

    /// Makes every pending message of an endpoint due now (its receiver is fixed) and
    /// closes its circuit in this process; returns how many were rescheduled.
    pub async fn retry_endpoint(&self, who: &Principal, id: &str) -> Result<usize, ServiceError> {
        self.allow(who, Access::Configure, "endpoint.retried", id)
            .await?;
        let record = self.own_endpoint(who, id).await?;
        if !record.enabled {
            return Err(ServiceError::Conflict(
                "the endpoint is disabled: enable it before retrying its messages",
            ));
        }
        self.breakers.close(&record.id);
        let scheduled = self
            .store
            .retry_now(&record.id, self.clock.now_ms())
            .await
            .map_err(ServiceError::Unavailable)?;
        if scheduled > 0 {
            // The endpoint's messages may be in any partition.
            self.queued.ring(Partitions::ALL);
        }
        self.audit_ok(
            who,
            "endpoint.retried",
            id,
            vec![format!("scheduled={scheduled}")],
        )
        .await?;
        Ok(scheduled)
    }

    /// A page of the caller's audit log (owners only).
    pub async fn audit_log(
        &self,
        who: &Principal,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<AuditEntry>, ServiceError> {
        self.allow(who, Access::Administer, "audit_log.read", "")
            .await?;
        Ok(self
            .store
            .audit_log(Some(&who.practitioner_id), cursor, limit.clamp(1, MAX_PAGE))
            .await?)
    }

    /// Everything held about the practice, without secrets.
    pub async fn export(&self, who: &Principal) -> Result<ExportDocument, ServiceError> {
        self.allow(
            who,
            Access::Administer,
            "practitioner.exported",
            who.practitioner_id.as_str(),
        )
        .await?;
        self.audit_ok(
            who,
            "practitioner.exported",
            who.practitioner_id.as_str(),
            vec![],
        )
        .await?;
        let id = &who.practitioner_id;
        let practitioner = self.practitioner(who).await?;
        self.record_consent(&practitioner).await?;
        let mut consent_versions = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .store
                .consent_versions(id, cursor.as_deref(), MAX_PAGE)
                .await?;
            consent_versions.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let mut audit_log = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .store
                .audit_log(Some(id), cursor.as_deref(), MAX_PAGE)
                .await?;
            audit_log.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        Ok(ExportDocument {
            format: EXPORT_FORMAT.to_owned(),
            exported_at: payload::rfc3339(self.clock.now()),
            practitioner,
            ranges: self.store.ranges(id).await?,
            custom_markers: self.store.custom_markers(id).await?,
            endpoints: self
                .store
                .endpoints(id)
                .await?
                .into_iter()
                .map(|e| ExportedEndpoint {
                    id: e.id,
                    url: e.url,
                    format: e.format,
                    encryption: e.encryption,
                    description: e.description,
                    enabled: e.enabled,
                    receiver_keys: e.receiver_keys,
                })
                .collect(),
            api_keys: self
                .store
                .api_keys(id)
                .await?
                .into_iter()
                .map(|(k, _)| ExportedKey {
                    id: k.id,
                    role: k.role,
                    label: k.label,
                    prefix: k.prefix,
                    created_at: k.created_at,
                })
                .collect(),
            audit_log,
            consent_versions,
        })
    }

    /// Recreates an exported practice on this instance (operator). Secrets are never
    /// exported, so it gets a fresh owner key and every endpoint a fresh secret and key,
    /// all shown once in the answer.
    pub async fn import(
        &self,
        doc: ExportDocument,
    ) -> Result<(Practitioner, ApiKey, Vec<CreatedEndpoint>), ServiceError> {
        if doc.format != EXPORT_FORMAT {
            return Err(ServiceError::Validation(vec![FieldProblem::new(
                "format",
                format!("must be {EXPORT_FORMAT}"),
            )]));
        }
        // Everything imported goes through the parsers its own route uses (PUT a custom
        // marker, PUT a range, PUT symptoms, PATCH the practitioner), so an export
        // document can hold nothing those routes would refuse.
        let mut problems = Vec::new();
        let custom_markers = import_custom_markers(doc.custom_markers, &mut problems);
        let ranges = import_ranges(doc.ranges, &mut problems);
        let p = import_practitioner(doc.practitioner, &custom_markers, &mut problems);
        let mut endpoints = Vec::new();
        for (i, e) in doc.endpoints.into_iter().enumerate() {
            let req = EndpointDraft {
                url: e.url,
                format: Some(e.format),
                encryption: Some(e.encryption),
                description: e.description,
                receiver_keys: (!e.receiver_keys.is_empty()).then_some(e.receiver_keys),
            };
            match EndpointSpec::parse(req, self.allow_private_targets) {
                Ok(spec) => endpoints.push((e.id, e.enabled, spec)),
                Err(errs) => {
                    problems.extend(errs.into_iter().map(|p| {
                        FieldProblem::new(format!("endpoints[{i}].{}", p.field), p.problem)
                    }))
                }
            }
        }
        // Imported consent records are proof of what patients agreed to: each must be a
        // version this practice has had, at most once, and the current one its wording.
        let mut seen = std::collections::BTreeSet::new();
        let consent = p.as_ref().map(|p| &p.settings);
        for (i, v) in doc.consent_versions.iter().enumerate() {
            let Some(s) = consent else { break };
            let field = format!("consent_versions[{i}]");
            if v.version == 0 || v.version > s.consent_version || !seen.insert(v.version) {
                problems.push(FieldProblem::new(
                    field,
                    "is not a distinct version of this practice's consent wording",
                ));
            } else if v.version == s.consent_version && v.text != s.consent_text {
                problems.push(FieldProblem::new(
                    field,
                    "does not match the practice's current consent wording",
                ));
            } else if v.text.chars().count() > crate::domain::settings::MAX_CONSENT_LEN {
                problems.push(FieldProblem::new(
                    field,
                    "is longer than consent wording may be",
                ));
            }
        }
        if problems.is_empty() {
            for (i, (_, _, spec)) in endpoints.iter().enumerate() {
                if let Err(ServiceError::Validation(errs)) = self
                    .check_endpoint_host(spec.url(), &format!("endpoints[{i}].url"))
                    .await
                {
                    problems.extend(errs);
                }
            }
        }
        let (Some(p), true) = (p, problems.is_empty()) else {
            return Err(ServiceError::Validation(problems));
        };
        let mut rng = rand::rngs::OsRng;
        let key = ApiKey::generate(&mut rng);
        let owner = ApiKeyRecord {
            id: ApiKeyId::generate(&mut rng),
            practitioner_id: p.id.clone(),
            role: Role::Owner,
            hash: key.hash().to_hex(),
            label: Some("imported owner key".to_owned()),
            created_at: self.clock.now(),
            prefix: key.prefix(),
        };
        if self.store.practitioner(&p.id).await?.is_some() {
            return Err(ServiceError::Conflict(
                "this practitioner already exists on this instance",
            ));
        }
        self.store.create_practitioner(&p, &owner).await?;
        for r in &ranges {
            self.store.put_range(&p.id, r).await?;
        }
        for m in &custom_markers {
            self.store.put_custom_marker(&p.id, m).await?;
        }
        for v in &doc.consent_versions {
            self.store.put_consent_version(&p.id, v).await?;
        }
        self.record_consent(&p).await?;
        let mut created = Vec::new();
        for (id, enabled, spec) in endpoints {
            let secret = WebhookSecret::generate(&mut rng);
            let ckey = ContentKey::generate(&mut rng);
            let (sealed_secret, sealed_key) = self.seal_endpoint_secrets(&id, &secret, &ckey)?;
            let record = EndpointRecord {
                id,
                practitioner_id: p.id.clone(),
                url: spec.url().to_string(),
                format: spec.format(),
                encryption: spec.encryption(),
                description: spec.description().map(str::to_owned),
                enabled,
                created_at: self.clock.now(),
                sealed_secret,
                sealed_key,
                previous_sealed_secret: None,
                previous_secret_until: None,
                version: 1,
                receiver_keys: spec.receiver_keys().iter().map(|k| k.to_jwk()).collect(),
            };
            self.store.put_endpoint(&record).await?;
            created.push(CreatedEndpoint {
                record,
                secret,
                key: ckey,
            });
        }
        // The exported audit log stays with the document: entries it holds are not this
        // instance's record of anything, and taken as the practice's own they could
        // forge its history. The practice's log here starts with the import.
        self.audit_operator(&p.id, "practitioner.imported").await?;
        Ok((p, key, created))
    }

    /// Schedules erasure in 30 days (the form stops taking submissions at once).
    pub async fn schedule_deletion(&self, who: &Principal) -> Result<Practitioner, ServiceError> {
        self.allow(
            who,
            Access::Administer,
            "practitioner.deletion_scheduled",
            who.practitioner_id.as_str(),
        )
        .await?;
        let at = self.clock.now() + ERASURE_DELAY;
        let at_ms = self.clock.now_ms().saturating_add(Self::ms(ERASURE_DELAY));
        let (p, scheduled) = self
            .edit_practitioner(
                &who.practitioner_id,
                false,
                Some(Some(at_ms)),
                || ServiceError::Unauthorized,
                |p| {
                    if p.erase_at.is_some() {
                        // Already scheduled: asking again neither moves the date nor
                        // logs again.
                        return Ok(Edit::Keep(false));
                    }
                    p.erase_at = Some(at);
                    Ok(Edit::Write(true))
                },
            )
            .await?;
        if !scheduled {
            return Ok(p);
        }
        self.forms.invalidate(&p.id);
        self.audit_ok(
            who,
            "practitioner.deletion_scheduled",
            p.id.as_str(),
            vec![payload::rfc3339(at)],
        )
        .await?;
        Ok(p)
    }

    /// Cancels a scheduled erasure.
    pub async fn cancel_deletion(&self, who: &Principal) -> Result<Practitioner, ServiceError> {
        self.allow(
            who,
            Access::Administer,
            "practitioner.deletion_cancelled",
            who.practitioner_id.as_str(),
        )
        .await?;
        let (p, ()) = self
            .edit_practitioner(
                &who.practitioner_id,
                false,
                Some(None),
                || ServiceError::Unauthorized,
                |p| {
                    if p.erase_at.is_none() {
                        return Err(ServiceError::Conflict("no deletion is scheduled"));
                    }
                    p.erase_at = None;
                    Ok(Edit::Write(()))
                },
            )
            .await?;
        self.forms.invalidate(&p.id);
        self.audit_ok(
            who,
            "practitioner.deletion_cancelled",
            p.id.as_str(),
            vec![],
        )
        .await?;
        Ok(p)
    }

    /// Erases every practitioner whose time has come; the operator's audit log keeps
    /// the one entry saying it happened. Returns how many were erased.
    pub async fn run_due_erasures(&self) -> Result<usize, ServiceError> {
        let now_ms = self.clock.now_ms();
        let due = self.store.erasures_due(now_ms).await?;
        let mut erased = 0;
        for id in &due {
            // The index of erasures may name an account whose erasure was cancelled
            // (or never written): its record decides.
            let read = self.store.practitioner(id).await?;
            if let Some(p) = &read {
                let due_ms = p
                    .erase_at
                    .map(|at| i64::try_from(at.unix_timestamp_nanos() / 1_000_000));
                match due_ms {
                    Some(Ok(at_ms)) if at_ms <= now_ms => {}
                    None => {
                        // Not scheduled: drop the stale index entry (an unchanged record
                        // is written back only if it is still unchanged).
                        self.store.schedule_erasure(p, p.version, None).await?;
                        continue;
                    }
                    _ => continue,
                }
            }
            // Erased only if the record is still the one read: a cancellation written
            // since then wins (and a record that vanished was erased by whoever
            // audited it).
            if !self
                .store
                .erase_practitioner(id, read.as_ref().map(|p| p.version))
                .await?
            {
                continue;
            }
            erased += 1;
            self.forms.invalidate(id);
            self.audit(
                Actor::Operator,
                None,
                "practitioner.erased",
                id.as_str(),
                "success",
                vec![],
            )
            .await?;
            tracing::info!(practitioner.id = %id, "practitioner erased");
        }
        Ok(erased)
    }

    /// A page of all practitioners (operator).
    pub async fn list_practitioners(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Practitioner>, ServiceError> {
        Ok(self
            .store
            .practitioners(cursor, limit.clamp(1, MAX_PAGE))
            .await?)
    }

    /// Suspends or reinstates a practitioner (operator).
    pub async fn set_suspended(
        &self,
        id: &str,
        suspended: bool,
    ) -> Result<Practitioner, ServiceError> {
        let id = PractitionerId::parse(id).map_err(|_| ServiceError::NotFound("practitioner"))?;
        let status = if suspended {
            AccountStatus::Suspended
        } else {
            AccountStatus::Active
        };
        let (p, ()) = self
            .edit_practitioner(
                &id,
                false,
                None,
                || ServiceError::NotFound("practitioner"),
                |p| {
                    p.status = status;
                    Ok(Edit::Write(()))
                },
            )
            .await?;
        self.forms.invalidate(&p.id);
        let action = if suspended {
            "practitioner.suspended"
        } else {
            "practitioner.reinstated"
        };
        self.audit_operator(&p.id, action).await?;
        Ok(p)
    }
}

/// Problems of one part of an export document, named by their path in it.
fn problems_under(
    path: &str,
    errs: Vec<FieldProblem>,
) -> impl Iterator<Item = FieldProblem> + use<'_> {
    errs.into_iter()
        .map(move |p| FieldProblem::new(format!("{path}.{}", p.field), p.problem))
}

/// The wire form of stored bounds, to parse them again as a request would.
fn bounds_dto(b: Bounds) -> BoundsDraft {
    BoundsDraft {
        low: b.low(),
        high: b.high(),
    }
}

/// An export's custom markers, each parsed as `PUT /v1/markers/{id}` parses it, and
/// held to the same limits (how many, one LOINC code each).
fn import_custom_markers(
    exported: Vec<CustomMarker>,
    problems: &mut Vec<FieldProblem>,
) -> Vec<CustomMarker> {
    if exported.len() > MAX_CUSTOM_MARKERS {
        problems.push(FieldProblem::new(
            "custom_markers",
            format!("at most {MAX_CUSTOM_MARKERS} custom markers"),
        ));
    }
    let mut parsed: Vec<CustomMarker> = Vec::new();
    for (i, m) in exported.into_iter().enumerate().take(MAX_CUSTOM_MARKERS) {
        let path = format!("custom_markers[{i}]");
        let req = CustomMarkerDraft {
            name: m.name,
            unit: m.unit,
            loinc: m.loinc,
            optimal: bounds_dto(m.optimal),
            standard: m.standard.map(bounds_dto),
            plausible: m.plausible.map(bounds_dto),
            messages: Some(m.messages),
            systems: m.systems,
            about: m.about,
        };
        match CustomMarker::parse(&m.id, req) {
            Ok(m) if parsed.iter().any(|o| o.id == m.id) => {
                problems.push(FieldProblem::new(
                    format!("{path}.id"),
                    "is defined more than once",
                ));
            }
            Ok(m) if m.loinc.is_some() && parsed.iter().any(|o| o.loinc == m.loinc) => {
                problems.push(FieldProblem::new(
                    format!("{path}.loinc"),
                    "is already used by another of your custom markers",
                ));
            }
            Ok(m) => parsed.push(m),
            Err(errs) => problems.extend(problems_under(&path, errs)),
        }
    }
    parsed
}

/// An export's range overrides, each parsed as `PUT /v1/ranges/{marker}` parses it
/// (stored ranges are in the marker's range unit).
fn import_ranges(
    exported: Vec<RangeOverride>,
    problems: &mut Vec<FieldProblem>,
) -> Vec<RangeOverride> {
    let mut parsed = Vec::new();
    for (i, r) in exported.into_iter().enumerate() {
        let path = format!("ranges[{i}]");
        let Some(marker) = catalog::find(&r.marker) else {
            problems.push(FieldProblem::new(
                format!("{path}.marker"),
                "is not a catalog marker",
            ));
            continue;
        };
        let req = RangeDraft {
            unit: marker.range_unit().display.to_owned(),
            optimal: bounds_dto(r.optimal),
            standard: r.standard.map(bounds_dto),
            sex: r.sex,
            messages: Some(r.messages),
        };
        match RangeOverride::parse(marker, req) {
            Ok(r) => parsed.push(r),
            Err(errs) => problems.extend(problems_under(&path, errs)),
        }
    }
    parsed
}

/// An export's practitioner, rebuilt through the parsers that create and change one:
/// every profile field and form setting as `PATCH /v1/practitioner` would take it, the
/// symptoms as `PUT /v1/symptoms` would. Kept from the export: the id, slug (parsed
/// when the document was read), creation time and the version numbers. Imported
/// accounts start active, with no erasure scheduled. `None` when it has problems.
fn import_practitioner(
    exported: Practitioner,
    custom: &[CustomMarker],
    problems: &mut Vec<FieldProblem>,
) -> Option<Practitioner> {
    let before = problems.len();
    // A valid skeleton with the exported slug, which the patch then fills in.
    let skeleton = NewPractitioner {
        practice_name: "imported".to_owned(),
        doctor_name: "imported".to_owned(),
        email: "imported@example.com".to_owned(),
        website_url: "https://example.com".to_owned(),
        slug: Some(exported.slug.as_str().to_owned()),
        phone_region: None,
    };
    let mut p = match Practitioner::create(skeleton, exported.id.clone(), exported.created_at) {
        Ok(p) => p,
        Err(errs) => {
            problems.extend(problems_under("practitioner", errs));
            return None;
        }
    };
    let s = exported.settings;
    let patch = PractitionerPatch {
        practice_name: Some(exported.practice_name),
        doctor_name: Some(exported.doctor_name),
        email: Some(exported.email),
        website_url: Some(exported.website_url),
        branding: Some(s.branding),
        contact_fields: Some(s.contact_fields),
        consent_required: Some(s.consent_required),
        consent_text: Some(s.consent_text),
        call_to_action: Some(s.call_to_action),
        allowed_origins: Some(s.allowed_origins),
        phone_region: Some(s.phone_region),
        accepting_submissions: Some(s.accepting_submissions),
        form_markers: Some(s.form_markers),
        marker_notes: Some(Some(s.marker_notes)),
        disclaimer: Some(s.disclaimer),
    };
    if let Err(errs) = p.apply(patch, custom) {
        problems.extend(errs.into_iter().map(|e| {
            let profile = ["practice_name", "doctor_name", "email", "website_url"]
                .contains(&e.field.as_str());
            let path = if profile {
                "practitioner"
            } else {
                "practitioner.settings"
            };
            FieldProblem::new(format!("{path}.{}", e.field), e.problem)
        }));
    }
    if let Some(symptoms) = s.symptoms {
        match SymptomSettings::parse(SymptomSettingsDraft::from(symptoms)) {
            Ok(symptoms) => p.settings.symptoms = Some(symptoms),
            Err(errs) => problems.extend(problems_under("practitioner.settings.symptoms", errs)),
        }
    }
    if s.consent_version == 0 {
        problems.push(FieldProblem::new(
            "practitioner.settings.consent_version",
            "must be at least 1",
        ));
    }
    p.settings.consent_version = s.consent_version;
    p.version = exported.version.max(1);
    (problems.len() == before).then_some(p)
}

/// The wire name of a role.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Owner => "owner",
        Role::Editor => "editor",
        Role::Viewer => "viewer",
    }
}
