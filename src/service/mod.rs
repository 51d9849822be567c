//! Application services: the use cases (create a practitioner, configure ranges and
//! endpoints, take an intake) that combine the pure domain, crypto and the store.
//! HTTP handlers call these and do nothing else but translate.

use crate::clock::Clock;
use crate::crypto::api_key::ApiKey;
use crate::crypto::form_token;
use crate::crypto::jwe::ContentKey;
use crate::crypto::seal::MasterKey;
use crate::crypto::webhook::WebhookSecret;
use crate::delivery::message::{self, Routing};
use crate::delivery::payload;
use crate::domain::access::{Access, Role};
use crate::domain::catalog::{self, Sex};
use crate::domain::custom::{
    CustomMarker, CustomMarkerDraft, SymptomSettings, SymptomSettingsDraft, MAX_CUSTOM_MARKERS,
};
use crate::domain::endpoint::{Encryption, EndpointDraft, EndpointSpec, Format};
use crate::domain::ids::{ApiKeyId, EndpointId, PractitionerId, SubmissionId};
use crate::domain::practitioner::{AccountStatus, NewPractitioner, Practitioner};
use crate::domain::problems::FieldProblem;
use crate::domain::ranges::{RangeDraft, RangeOverride};
use crate::domain::report::{self, Report};
use crate::domain::screening;
use crate::domain::submission::{IntakeDraft, Submission};
use crate::metrics::IntakeOutcome;
use crate::store::{ApiKeyRecord, EndpointRecord, Partitions, QueueBell, Store, StoreError};
use std::sync::Arc;
use std::time::Duration;

pub mod account;
pub mod resolve;
pub mod rotation;

use crate::store::form_cache::FormCache;
use crate::store::FormContext;

/// What a use case can fail with; the HTTP layer maps each to a status and code.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Field-level validation problems.
    #[error("validation failed")]
    Validation(Vec<FieldProblem>),
    /// No credentials, or credentials that match nothing.
    #[error("missing or invalid credentials")]
    Unauthorized,
    /// Authenticated, but the role does not allow this.
    #[error("the API key's role does not allow this")]
    Forbidden,
    /// The named resource does not exist (for this caller).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule was violated.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// Storage (the queue) is unreachable; nothing was changed or accepted.
    #[error("storage is unavailable")]
    Unavailable(#[source] StoreError),
    /// `If-Match` named a version that is no longer current.
    #[error("the resource changed since it was read")]
    PreconditionFailed,
    /// The operator suspended the account.
    #[error("the account is suspended")]
    AccountSuspended,
    /// The practice's form is not taking submissions (paused, suspended or being deleted).
    #[error("not accepting submissions")]
    NotAccepting,
    /// Anything else: an internal failure, reported opaquely.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => ServiceError::Conflict(what),
            e @ StoreError::Unavailable(_) => ServiceError::Unavailable(e),
            other => ServiceError::Internal(anyhow::Error::new(other)),
        }
    }
}

/// Who is calling a practitioner route.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The practitioner the key belongs to.
    pub practitioner_id: PractitionerId,
    /// The key's id (the actor in logs and the audit log).
    pub key_id: ApiKeyId,
    /// The key's role.
    pub role: Role,
}

impl Principal {
    /// Fails with `Forbidden` unless the role allows `access`.
    pub fn require(&self, access: Access) -> Result<(), ServiceError> {
        if self.role.allows(access) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden)
        }
    }
}

/// A newly created endpoint with its secrets, shown once.
pub struct CreatedEndpoint {
    /// The stored record.
    pub record: EndpointRecord,
    /// The Standard Webhooks secret.
    pub secret: WebhookSecret,
    /// The JWE content key.
    pub key: ContentKey,
}

/// The use cases, over shared dependencies. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// The master key for sealing.
    pub master_key: MasterKey,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Whether endpoints may target private addresses.
    pub allow_private_targets: bool,
    /// Looks endpoint host names up when they are saved.
    pub resolver: Arc<dyn resolve::Resolver>,
    /// How long queued messages live.
    pub message_ttl: Duration,
    /// Public forms' configuration, briefly cached.
    pub forms: Arc<FormCache>,
    /// How long audit-log entries are kept.
    pub audit_retention: Duration,
    /// Submissions returned sooner than this after their form was loaded are discarded
    /// as automated.
    pub min_fill_time: Duration,
    /// This process's counters (`GET /metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// When each key's last use was last recorded (recorded at most once a minute).
    pub key_touches: Arc<std::sync::Mutex<std::collections::HashMap<ApiKeyId, std::time::Instant>>>,
    /// This process's circuit breakers, shared with its delivery workers (a practice's
    /// "retry now" closes its endpoint's circuit).
    pub breakers: Arc<crate::delivery::breaker::Breakers>,
    /// The relay's public address, named in FHIR payloads (`GAPRELAY_PUBLIC_URL`).
    pub public_url: crate::delivery::fhir::RelayBase,
    /// Rung whenever something is queued or made due now, with where, so that this
    /// process's idle delivery worker starts at once instead of at its next poll.
    pub queued: Arc<QueueBell>,
}

/// How often a key's "last used" time is written.
const KEY_TOUCH_EVERY: Duration = Duration::from_secs(60);

impl Services {
    /// Creates a practitioner and its first owner key (returned once, never stored).
    pub async fn create_practitioner(
        &self,
        req: NewPractitioner,
    ) -> Result<(Practitioner, ApiKey, ApiKeyRecord), ServiceError> {
        let mut rng = rand::rngs::OsRng;
        let p = Practitioner::create(req, PractitionerId::generate(&mut rng), self.clock.now())
            .map_err(ServiceError::Validation)?;
        let key = ApiKey::generate(&mut rng);
        let record = ApiKeyRecord {
            id: ApiKeyId::generate(&mut rng),
            practitioner_id: p.id.clone(),
            role: Role::Owner,
            hash: key.hash().to_hex(),
            label: Some("initial owner key".to_owned()),
            created_at: self.clock.now(),
            prefix: key.prefix(),
        };
        self.store.create_practitioner(&p, &record).await?;
        self.audit_operator(&p.id, "practitioner.created").await?;
        Ok((p, key, record))
    }

    /// Authenticates a practitioner's bearer token; a suspended account's keys are refused.
    pub async fn authenticate(&self, bearer: &str) -> Result<Principal, ServiceError> {
        let key = ApiKey::parse(bearer).map_err(|_| ServiceError::Unauthorized)?;
        let record = self
            .store
            .api_key_by_hash(&key.hash())
            .await?
            .ok_or(ServiceError::Unauthorized)?;
        let practitioner = self
            .store
            .practitioner(&record.practitioner_id)
            .await?
            .ok_or(ServiceError::Unauthorized)?;
        if practitioner.status == AccountStatus::Suspended {
            return Err(ServiceError::AccountSuspended);
        }
        let touch = {
            let mut touches = self.key_touches.lock().unwrap_or_else(|p| p.into_inner());
            let due = touches
                .get(&record.id)
                .is_none_or(|t| t.elapsed() >= KEY_TOUCH_EVERY);
            if due {
                touches.insert(record.id.clone(), std::time::Instant::now());
            }
            due
        };
        if touch {
            self.store
                .touch_api_key(&record, self.clock.now_ms())
                .await?;
        }
        Ok(Principal {
            practitioner_id: record.practitioner_id,
            key_id: record.id,
            role: record.role,
        })
    }

    /// The caller's practitioner record.
    pub async fn practitioner(&self, who: &Principal) -> Result<Practitioner, ServiceError> {
        self.store
            .practitioner(&who.practitioner_id)
            .await?
            .ok_or(ServiceError::Unauthorized)
    }

    /// Sets a range override.
    pub async fn put_range(
        &self,
        who: &Principal,
        marker: &str,
        req: RangeDraft,
    ) -> Result<RangeOverride, ServiceError> {
        self.allow(who, Access::Configure, "range.set", marker)
            .await?;
        let marker = catalog::find(marker).ok_or(ServiceError::NotFound("marker"))?;
        let range = RangeOverride::parse(marker, req).map_err(ServiceError::Validation)?;
        self.store.put_range(&who.practitioner_id, &range).await?;
        self.forms.invalidate(&who.practitioner_id);
        let detail = range
            .sex
            .map(|s| format!("sex={}", s.as_str()))
            .into_iter()
            .collect();
        self.audit_ok(who, "range.set", &range.marker, detail)
            .await?;
        Ok(range)
    }

    /// Removes a range override, returning the marker to its default.
    pub async fn delete_range(
        &self,
        who: &Principal,
        marker: &str,
        sex: Option<Sex>,
    ) -> Result<(), ServiceError> {
        self.allow(who, Access::Configure, "range.reset", marker)
            .await?;
        let marker = catalog::find(marker).ok_or(ServiceError::NotFound("marker"))?;
        if self
            .store
            .delete_range(&who.practitioner_id, marker.id, sex)
            .await?
        {
            self.forms.invalidate(&who.practitioner_id);
            self.audit_ok(who, "range.reset", marker.id, vec![]).await?;
            Ok(())
        } else {
            Err(ServiceError::NotFound("range override"))
        }
    }

    /// The caller's range overrides.
    pub async fn ranges(&self, who: &Principal) -> Result<Vec<RangeOverride>, ServiceError> {
        who.require(Access::Read)?;
        Ok(self.store.ranges(&who.practitioner_id).await?)
    }

    /// Defines (or replaces) one of the caller's custom markers.
    pub async fn put_custom_marker(
        &self,
        who: &Principal,
        id: &str,
        req: CustomMarkerDraft,
    ) -> Result<CustomMarker, ServiceError> {
        self.allow(who, Access::Configure, "marker.set", id).await?;
        let marker = CustomMarker::parse(id, req).map_err(ServiceError::Validation)?;
        let existing = self.store.custom_markers(&who.practitioner_id).await?;
        let replaces = existing.iter().any(|m| m.id == marker.id);
        if !replaces && existing.len() >= MAX_CUSTOM_MARKERS {
            return Err(ServiceError::Validation(vec![FieldProblem::new(
                "id",
                format!("at most {MAX_CUSTOM_MARKERS} custom markers; delete one first"),
            )]));
        }
        if let Some(loinc) = &marker.loinc {
            if existing
                .iter()
                .any(|m| m.id != marker.id && m.loinc.as_ref() == Some(loinc))
            {
                return Err(ServiceError::Validation(vec![FieldProblem::new(
                    "loinc",
                    "is already used by another of your custom markers",
                )]));
            }
        }
        self.store
            .put_custom_marker(&who.practitioner_id, &marker)
            .await?;
        self.forms.invalidate(&who.practitioner_id);
        self.audit_ok(who, "marker.set", &marker.id, vec![]).await?;
        Ok(marker)
    }

    /// Deletes one of the caller's custom markers.
    pub async fn delete_custom_marker(
        &self,
        who: &Principal,
        id: &str,
    ) -> Result<(), ServiceError> {
        self.allow(who, Access::Configure, "marker.deleted", id)
            .await?;
        let deleted = self
            .store
            .delete_custom_marker(&who.practitioner_id, id)
            .await?;
        self.forms.invalidate(&who.practitioner_id);
        if deleted {
            self.audit_ok(who, "marker.deleted", id, vec![]).await?;
            Ok(())
        } else {
            Err(ServiceError::NotFound("custom marker"))
        }
    }

    /// The caller's custom markers.
    pub async fn custom_markers(&self, who: &Principal) -> Result<Vec<CustomMarker>, ServiceError> {
        who.require(Access::Read)?;
        Ok(self.store.custom_markers(&who.practitioner_id).await?)
    }

    /// Sets which symptoms the caller's form offers, and its own symptoms.
    pub async fn put_symptoms(
        &self,
        who: &Principal,
        req: SymptomSettingsDraft,
    ) -> Result<Practitioner, ServiceError> {
        self.allow(who, Access::Configure, "symptoms.set", "")
            .await?;
        let settings = SymptomSettings::parse(req).map_err(ServiceError::Validation)?;
        let (p, ()) = self
            .edit_practitioner(
                &who.practitioner_id,
                false,
                None,
                || ServiceError::Unauthorized,
                |p| {
                    p.settings.symptoms = Some(settings.clone());
                    Ok(account::Edit::Write(()))
                },
            )
            .await?;
        self.forms.invalidate(&who.practitioner_id);
        self.audit_ok(who, "symptoms.set", who.practitioner_id.as_str(), vec![])
            .await?;
        Ok(p)
    }

    /// Unless private targets are allowed, refuses an endpoint host name that resolves
    /// to a non-public address (see [`resolve`]).
    pub(crate) async fn check_endpoint_host(
        &self,
        url: &url::Url,
        field: &str,
    ) -> Result<(), ServiceError> {
        if self.allow_private_targets {
            return Ok(());
        }
        resolve::check_public_host(self.resolver.as_ref(), url, field)
            .await
            .map_err(|p| ServiceError::Validation(vec![p]))
    }

    /// Creates an endpoint with a fresh secret and content key, both sealed at rest.
    pub async fn create_endpoint(
        &self,
        who: &Principal,
        req: EndpointDraft,
    ) -> Result<CreatedEndpoint, ServiceError> {
        self.allow(who, Access::Configure, "endpoint.created", "")
            .await?;
        let spec = EndpointSpec::parse(req, self.allow_private_targets)
            .map_err(ServiceError::Validation)?;
        self.check_endpoint_host(spec.url(), "url").await?;
        let mut rng = rand::rngs::OsRng;
        let id = EndpointId::generate(&mut rng);
        let secret = WebhookSecret::generate(&mut rng);
        let key = ContentKey::generate(&mut rng);
        let (sealed_secret, sealed_key) = self.seal_endpoint_secrets(&id, &secret, &key)?;
        let record = EndpointRecord {
            sealed_secret,
            sealed_key,
            id,
            practitioner_id: who.practitioner_id.clone(),
            url: spec.url().to_string(),
            format: spec.format(),
            encryption: spec.encryption(),
            description: spec.description().map(str::to_owned),
            enabled: true,
            created_at: self.clock.now(),
            previous_sealed_secret: None,
            previous_secret_until: None,
            version: 1,
            receiver_keys: spec.receiver_keys().iter().map(|k| k.to_jwk()).collect(),
        };
        self.store.put_endpoint(&record).await?;
        self.forms.invalidate(&who.practitioner_id);
        self.wake_held().await;
        self.audit_ok(who, "endpoint.created", record.id.as_str(), vec![])
            .await?;
        Ok(CreatedEndpoint {
            record,
            secret,
            key,
        })
    }

    /// Makes the messages held for an endpoint due now (one was just created or
    /// enabled), so that they are handed over at once rather than at their next look.
    /// Every practice's held messages are woken (the schedule has no per-practice
    /// index); one that still has no endpoint is simply handed back.
    pub(crate) async fn wake_held(&self) {
        let now_ms = self.clock.now_ms();
        match self.store.retry_now(&EndpointId::awaiting(), now_ms).await {
            Ok(0) => {}
            Ok(_) => self.queued.ring(Partitions::ALL),
            Err(e) => {
                tracing::warn!(error = %e, "could not wake held messages; the worker looks at them again within seconds");
            }
        }
    }

    /// The caller's endpoints.
    pub async fn endpoints(&self, who: &Principal) -> Result<Vec<EndpointRecord>, ServiceError> {
        who.require(Access::Read)?;
        Ok(self.store.endpoints(&who.practitioner_id).await?)
    }

    /// Deletes one of the caller's endpoints (queued messages for it are dropped when
    /// they come due).
    pub async fn delete_endpoint(&self, who: &Principal, id: &str) -> Result<(), ServiceError> {
        self.allow(who, Access::Configure, "endpoint.deleted", id)
            .await?;
        let endpoint = EndpointId::parse(id).map_err(|_| ServiceError::NotFound("endpoint"))?;
        if !self
            .store
            .delete_endpoint(&who.practitioner_id, &endpoint)
            .await?
        {
            return Err(ServiceError::NotFound("endpoint"));
        }
        // A cached form must not go on queueing submissions for the deleted endpoint.
        self.forms.invalidate(&who.practitioner_id);
        self.audit_ok(who, "endpoint.deleted", id, vec![]).await?;
        Ok(())
    }

    /// A page of the caller's delivery log (metadata only).
    pub async fn deliveries(
        &self,
        who: &Principal,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<crate::store::Page<crate::store::DeliveryRecord>, ServiceError> {
        self.allow(who, Access::Read, "deliveries.read", "").await?;
        Ok(self
            .store
            .deliveries(
                &who.practitioner_id,
                cursor,
                limit.clamp(1, account::MAX_PAGE),
                self.clock.now_ms(),
            )
            .await?)
    }

    /// The practitioner behind a public form, with its configuration (briefly cached).
    pub async fn form(&self, slug: &str) -> Result<Arc<FormContext>, ServiceError> {
        if let Some(ctx) = self.forms.get(slug) {
            return Ok(ctx);
        }
        let ctx = Arc::new(
            self.store
                .form_context(slug)
                .await?
                .ok_or(ServiceError::NotFound("form"))?,
        );
        self.forms.put(slug, ctx.clone());
        Ok(ctx)
    }

    /// The FHIR R4 Questionnaire of the practice's form `slug`: the canonical that each
    /// `fhir-r4` delivery's QuestionnaireResponse names, with the symptoms it offers
    /// and their codes. No patient data.
    pub async fn questionnaire(&self, slug: &str) -> Result<serde_json::Value, ServiceError> {
        let ctx = self.form(slug).await?;
        Ok(crate::delivery::fhir::questionnaire(
            &self.public_url,
            &ctx.practitioner,
        ))
    }

    /// A token dating the form `slug` as loaded now, for `GET /v1/forms/{slug}`.
    pub fn form_token(&self, slug: &str) -> String {
        form_token::issue(&self.form_token_key(), slug, self.clock.now_ms())
    }

    fn form_token_key(&self) -> [u8; 32] {
        self.master_key.derive(form_token::KEY_PURPOSE)
    }

    /// Takes a patient's submission: validates it, builds the report, and queues one
    /// sealed message per enabled endpoint in one atomic step (with none enabled, one
    /// message held for the first endpoint enabled within its 24 hours). Answers only once the
    /// messages are safely queued; when the queue cannot take them, nothing is accepted.
    /// A submission screened as automated (see [`screening`]) gets the same answer and
    /// is discarded.
    /// Every outcome is counted here, once (`GET /metrics`).
    pub async fn submit_intake(
        &self,
        slug: &str,
        req: IntakeDraft,
    ) -> Result<(SubmissionId, Report), ServiceError> {
        let result = self.take_intake(slug, req).await;
        let outcome = match &result {
            Ok((_, _, Taken::Queued)) => Some(IntakeOutcome::Accepted),
            Ok((_, _, Taken::Discarded)) => Some(IntakeOutcome::Discarded),
            Err(ServiceError::Validation(_)) => Some(IntakeOutcome::Invalid),
            Err(ServiceError::Unavailable(_)) => Some(IntakeOutcome::Unavailable),
            Err(_) => None,
        };
        if let Some(o) = outcome {
            self.metrics.intake(o);
        }
        result.map(|(id, report, _)| (id, report))
    }

    async fn take_intake(
        &self,
        slug: &str,
        req: IntakeDraft,
    ) -> Result<(SubmissionId, Report, Taken), ServiceError> {
        let ctx = self.form(slug).await?;
        let practitioner = &ctx.practitioner;
        if !practitioner.accepts_submissions() {
            return Err(ServiceError::NotAccepting);
        }
        let token = match &req.form_token {
            None => screening::Token::Absent,
            Some(t) => form_token::verify(&self.form_token_key(), slug, t)
                .map_or(screening::Token::Invalid, screening::Token::IssuedAt),
        };
        let bot = screening::screen(
            req.honeypot.as_deref(),
            token,
            self.clock.now_ms(),
            self.min_fill_time,
        );
        let submission = Submission::parse(req, &practitioner.settings, &ctx.custom_markers)
            .map_err(ServiceError::Validation)?;
        let report = report::build(&submission, &ctx.ranges);
        // The thread's CSPRNG (ChaCha, seeded and reseeded from the OS): ids and nonces
        // without a getrandom system call each (docs/performance.md).
        let mut rng = rand::thread_rng();
        let submission_id = SubmissionId::generate(&mut rng);
        if let Some(signal) = bot {
            // Answered like any other, so the sender learns nothing; nothing is queued.
            tracing::info!(
                practitioner.id = %practitioner.id,
                reason = signal.as_str(),
                "submission discarded as automated"
            );
            self.metrics.discarded(&practitioner.id);
            return Ok((submission_id, report, Taken::Discarded));
        }
        let now = self.clock.now();
        let now_ms = self.clock.now_ms();
        let expires_at_ms =
            now_ms.saturating_add(i64::try_from(self.message_ttl.as_millis()).unwrap_or(i64::MAX));
        let enabled: Vec<&EndpointRecord> = ctx.endpoints.iter().filter(|e| e.enabled).collect();
        // No endpoint enabled (yet): the submission is held, sealed, for the first one
        // enabled within its 24 hours, rather than lost (the worker hands it over, in the
        // rendering of that endpoint's format, so a held message carries every one).
        let held = enabled.is_empty();
        let wants = |format: Format| held || enabled.iter().any(|e| e.format == format);
        let json = payload::intake_event(&submission_id, now, practitioner, &submission, &report)
            .map_err(anyhow::Error::new)?;
        let fhir = wants(Format::FhirR4).then(|| {
            crate::delivery::fhir::intake_event(
                &self.public_url,
                &submission_id,
                now,
                practitioner,
                &submission,
                &report,
            )
        });
        let routing = Routing {
            practitioner_id: practitioner.id.clone(),
            due_at_ms: now_ms,
            expires_at_ms,
            submission_id: Some(submission_id.clone()),
        };
        let mut messages = Vec::with_capacity(enabled.len().max(1));
        if held {
            let mut event = json;
            if let Some(fhir) = fhir {
                event = event.with_rendering(Format::FhirR4, fhir.data);
            }
            messages = message::queue_for(
                &self.master_key,
                &event,
                [EndpointId::awaiting()],
                &routing,
                None,
                &mut rng,
            )
            .map_err(anyhow::Error::new)?;
        } else {
            // One rendering per format, each sealed for the endpoints of that format; for
            // a `jwe-receiver` endpoint, `data` is first encrypted to its own public keys,
            // so that what is queued for it opens only with the receiver's private key.
            for (format, event) in [
                (Format::GaprelayV1, Some(&json)),
                (Format::FhirR4, fhir.as_ref()),
            ] {
                let Some(event) = event else { continue };
                let (to_receiver, shared): (Vec<&EndpointRecord>, Vec<&EndpointRecord>) = enabled
                    .iter()
                    .filter(|e| e.format == format)
                    .partition(|e| e.encryption == Encryption::JweReceiver);
                messages.extend(
                    message::queue_for(
                        &self.master_key,
                        event,
                        shared.iter().map(|e| e.id.clone()),
                        &routing,
                        messages.first().map(|m| &m.id),
                        &mut rng,
                    )
                    .map_err(anyhow::Error::new)?,
                );
                for endpoint in to_receiver {
                    let keys = message::receiver_keys(endpoint)?;
                    let sealed = event
                        .clone()
                        .to_receiver(&keys, &mut rng)
                        .map_err(anyhow::Error::new)?;
                    messages.extend(
                        message::queue_for(
                            &self.master_key,
                            &sealed,
                            [endpoint.id.clone()],
                            &routing,
                            messages.first().map(|m| &m.id),
                            &mut rng,
                        )
                        .map_err(anyhow::Error::new)?,
                    );
                }
            }
        }
        self.store
            .enqueue(&messages)
            .await
            .map_err(ServiceError::Unavailable)?;
        self.queued
            .ring(Partitions::of(messages.iter().map(|m| &m.id)));
        tracing::info!(
            practitioner.id = %practitioner.id,
            submission.id = %submission_id,
            messages = messages.len(),
            labs = report.labs.len(),
            "intake accepted"
        );
        if held {
            tracing::warn!(practitioner.id = %practitioner.id, "intake accepted and held: the practitioner has no enabled endpoint yet");
        }
        Ok((submission_id, report, Taken::Queued))
    }
}

/// What became of a submission that was answered 202.
enum Taken {
    /// Queued for delivery.
    Queued,
    /// Screened as automated and dropped.
    Discarded,
}
