//! The delivery worker: claims due messages under a lease, opens each, signs and sends
//! it, and applies the policy's decision. The only code that combines the queue, the
//! crypto and the sender; the decisions themselves live in [`super::policy`].

use super::breaker::{Admission, Breakers, Health};
use super::concurrency::{Bounds, Limits, Permit, Signal, FAST_ANSWER};
use super::message::{self, Event, Routing};
use super::opened::{OpenedEndpoint, OpenedEndpoints};
use super::payload;
pub use super::policy::AttemptOutcome;
use super::policy::{self, AttemptResult, EndpointChange, OutcomeCounter, Response};
use super::sender::Sender;
use super::settings::DeliverySettings;
use crate::clock::Clock;
use crate::crypto::seal::MasterKey;
use crate::domain::endpoint::Encryption;
use crate::domain::ids::EndpointId;
use crate::store::form_cache::FormCache;
use crate::store::{
    ClaimedMessage, EndpointRecord, ExpiredNotice, Partitions, QueueBell, Settlement, Store,
    StoreError,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tracing::Instrument;

/// How long a message deferred for a busy endpoint waits before it is claimed again.
const DEFER_MS: i64 = 250;

/// The least time between the starts of two claims prompted by rings: at a few
/// thousand intakes a second a claim per ring would read one partition for one message
/// each time, where one claim a millisecond reads those rung meanwhile together. A
/// ring after a quieter spell is answered at once.
const GATHER: Duration = Duration::from_millis(1);

/// How often a message awaiting an endpoint is looked at again, on the app's clock
/// (creating or re-enabling an endpoint makes it due at once).
pub const AWAIT_ENDPOINT_MS: i64 = 10_000;

/// How often a worker looks for a queue left by a relay of an earlier storage layout.
pub const ADOPT_EVERY_MS: i64 = 5 * 60 * 1000;

struct Inner {
    store: Arc<dyn Store>,
    sender: Sender,
    master_key: MasterKey,
    clock: Arc<dyn Clock>,
    settings: DeliverySettings,
    forms: Option<Arc<FormCache>>,
    /// Each endpoint's adaptive share of this process's deliveries.
    limits: Limits,
    /// This process's counters.
    metrics: Arc<dyn OutcomeCounter>,
    /// Each endpoint's circuit breaker, as this process has seen it.
    breakers: Arc<Breakers>,
    /// Tells a practice when one of its endpoints keeps failing.
    alerts: super::alerts::Alerts,
    /// Rung when this process queues something, with where: an idle worker claims
    /// from there at once.
    woken: Arc<QueueBell>,
    /// When this worker last looked for a queue left in an earlier layout (Unix ms).
    adopted_at: std::sync::Mutex<Option<i64>>,
    /// The endpoints' secrets and URLs as opened, per record.
    opened: OpenedEndpoints,
}

impl Inner {
    fn admit(&self, endpoint: &EndpointId, now_ms: i64) -> Admission {
        if self.settings.breaker.is_none() {
            return Admission::Go;
        }
        self.breakers.admit(endpoint, now_ms)
    }

    fn record(&self, endpoint: &EndpointId, health: Health, probe: bool, now_ms: i64) {
        let Some(policy) = &self.settings.breaker else {
            return;
        };
        self.breakers
            .record(policy, endpoint, health, probe, now_ms);
    }
}

/// What an attempt's answer, and how long it took, say about the endpoint's capacity.
fn capacity_signal(response: Option<&Response>, took: Duration) -> Signal {
    match response {
        Some(r) if Health::of(r) == Health::Down => Signal::Overloaded,
        Some(Response::Status { status, .. })
            if (200..300).contains(status) && took < FAST_ANSWER =>
        {
            Signal::Fast
        }
        _ => Signal::Neutral,
    }
}

/// Delivers queued messages. Cheap to clone.
#[derive(Clone)]
pub struct Worker {
    inner: Arc<Inner>,
}

impl Worker {
    /// A worker over `store`; `forms` is this process's form cache (the worker reads
    /// endpoint records through it too), invalidated when an
    /// endpoint is disabled; `metrics` counts each attempt's outcome; `breakers` holds
    /// the endpoints' circuits, shared with the use case that closes one on request;
    /// `notifier` emails a practice whose endpoint keeps failing; `woken` is rung by this
    /// process whenever it queues something, so that an idle worker claims at once.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<dyn Store>,
        sender: Sender,
        master_key: MasterKey,
        clock: Arc<dyn Clock>,
        settings: DeliverySettings,
        forms: Option<Arc<FormCache>>,
        metrics: Arc<dyn OutcomeCounter>,
        breakers: Arc<Breakers>,
        notifier: Arc<dyn crate::notify::Notifier>,
        woken: Arc<QueueBell>,
    ) -> Worker {
        let alerts = super::alerts::Alerts::new(
            store.clone(),
            notifier,
            master_key.clone(),
            clock.clone(),
            settings.message_ttl,
        );
        let limits = Limits::new(Bounds::new(
            settings.endpoint_concurrency,
            settings.concurrency,
        ));
        Worker {
            inner: Arc::new(Inner {
                store,
                sender,
                master_key,
                clock,
                settings,
                forms,
                limits,
                metrics,
                breakers,
                alerts,
                woken,
                adopted_at: std::sync::Mutex::new(None),
                opened: OpenedEndpoints::default(),
            }),
        }
    }

    /// Claims whatever is due now and delivers it, waiting for every attempt to end.
    /// Returns how many messages were attempted. Tests call this instead of sleeping.
    pub async fn run_once(&self) -> Result<Vec<AttemptOutcome>, StoreError> {
        self.adopt_earlier_queue().await;
        let s = &self.inner.settings;
        let claim = || {
            self.inner.store.claim_due(
                self.inner.clock.now_ms(),
                s.lease,
                s.concurrency,
                policy::NOTICED_ON_EXPIRY,
            )
        };
        let first = claim().await?;
        let mut claimed = first.messages;
        // Claiming purges expired messages; the notices they leave are queued now and,
        // when nothing else was due, claimed at once so that a drain sees them too.
        if self.notify_expired(&first.expired).await? > 0 && claimed.is_empty() {
            let again = claim().await?;
            claimed = again.messages;
            self.notify_expired(&again.expired).await?;
        }
        let mut set = JoinSet::new();
        for msg in claimed {
            let me = self.clone();
            set.spawn(async move { me.attempt(msg).await });
        }
        let mut outcomes = Vec::new();
        while let Some(res) = set.join_next().await {
            if let Ok(outcome) = res {
                outcomes.push(outcome);
            }
        }
        Ok(outcomes)
    }

    /// Delivers until `shutdown` turns true: keeps up to `concurrency` attempts in
    /// flight, backs off while the store is unavailable, and on shutdown lets in-flight
    /// attempts finish (their leases protect the rest).
    ///
    /// Where it looks: every partition once per poll interval (retries coming due,
    /// messages other processes queued unannounced), and in between only the partitions
    /// `woken` was rung for, at once. A claim that took everything due where it looked
    /// waits for the next ring or the next look everywhere; one that filled every free
    /// slot claims again as soon as a slot frees, where it looked and where rung since.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let s = &self.inner.settings;
        let permits = Arc::new(Semaphore::new(s.concurrency));
        let mut in_flight = JoinSet::new();
        let mut backoff = s.poll_interval;
        // When to look in every partition next; and where to look again (a full batch
        // may have left more behind where it looked).
        let mut look_everywhere_at = tokio::time::Instant::now();
        let mut again = Partitions::NONE;
        let mut last_claim = tokio::time::Instant::now();
        loop {
            while in_flight.try_join_next().is_some() {}
            // Wait for a free slot (not a poll interval): a busy worker claims again the
            // moment an attempt ends.
            let first = tokio::select! {
                permit = permits.clone().acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => break,
                },
                _ = shutdown.changed() => break,
            };
            if *shutdown.borrow() {
                break;
            }
            self.adopt_earlier_queue().await;
            let free = permits.available_permits() + 1;
            let rung = self.inner.woken.take();
            let started = tokio::time::Instant::now();
            let from = if started >= look_everywhere_at {
                look_everywhere_at = started + s.poll_interval;
                Partitions::ALL
            } else {
                again.union(rung)
            };
            again = Partitions::NONE;
            let claimed = if from.is_empty() {
                Ok(crate::store::Claim::default())
            } else {
                last_claim = started;
                let now = self.inner.clock.now_ms();
                self.inner
                    .store
                    .claim_due_from(now, s.lease, free, policy::NOTICED_ON_EXPIRY, from)
                    .await
            };
            if let Ok(claim) = &claimed {
                match self.notify_expired(&claim.expired).await {
                    // Queued by this worker, which looks for them at once.
                    Ok(queued) if queued > 0 => again = Partitions::ALL,
                    Ok(_) => {}
                    // The expired messages' records say so; only the other endpoints'
                    // notice is missed.
                    Err(e) => tracing::warn!(error = %e, "could not queue expiry notices"),
                }
            }
            let idle_wait = match claimed.map(|claim| claim.messages) {
                Ok(batch) if batch.len() < free && again.is_empty() => {
                    // Everything due where it looked is taken: nothing to do until a ring
                    // or the next look everywhere.
                    backoff = s.poll_interval;
                    self.spawn_attempts(batch, first, &permits, &mut in_flight)
                        .await;
                    Some(look_everywhere_at.saturating_duration_since(tokio::time::Instant::now()))
                }
                Ok(batch) => {
                    backoff = s.poll_interval;
                    if batch.len() >= free {
                        again = again.union(from);
                    }
                    self.spawn_attempts(batch, first, &permits, &mut in_flight)
                        .await;
                    None
                }
                Err(e) => {
                    again = Partitions::ALL;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "queue unavailable; worker backing off");
                    Some(backoff)
                }
            };
            if let Some(wait) = idle_wait {
                // Until the next look everywhere, or at once when this process queues
                // something (a ring while claiming is kept, so none is missed) or hears
                // another process announce it.
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = self.inner.woken.rung() => {
                        tokio::time::sleep_until(last_claim + GATHER).await;
                    }
                    _ = shutdown.changed() => {}
                }
            }
        }
        while in_flight.join_next().await.is_some() {}
    }

    /// Starts an attempt of each message of `batch`: the first in the slot `first`
    /// waited for, the rest in slots counted free before the claim (so these
    /// acquisitions do not wait).
    async fn spawn_attempts(
        &self,
        batch: Vec<ClaimedMessage>,
        first: tokio::sync::OwnedSemaphorePermit,
        permits: &Arc<Semaphore>,
        in_flight: &mut JoinSet<()>,
    ) {
        let mut first = Some(first);
        for msg in batch {
            let permit = match first.take() {
                Some(p) => p,
                None => match permits.clone().acquire_owned().await {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let me = self.clone();
            in_flight.spawn(async move {
                me.attempt(msg).await;
                drop(permit);
            });
        }
    }

    /// At start and every [`ADOPT_EVERY_MS`] after, moves what a relay of an earlier
    /// storage layout left queued into the current one (during a rolling upgrade the old
    /// relays may still be queueing there), and sends the expiry notices it left.
    async fn adopt_earlier_queue(&self) {
        let now = self.inner.clock.now_ms();
        {
            let mut last = self
                .inner
                .adopted_at
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|at| now < at.saturating_add(ADOPT_EVERY_MS)) {
                return;
            }
            *last = Some(now);
        }
        match self.inner.store.adopt_earlier_queue().await {
            Ok(notices) => {
                if let Err(e) = self.notify_expired(&notices).await {
                    tracing::warn!(error = %e, "could not queue expiry notices");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not move the queue of an earlier version; trying again later");
            }
        }
    }

    /// Tells a practice's other enabled endpoints, with an `endpoint.delivery_expired`
    /// event (ids only), about each submission a claim found expired before reaching
    /// one of them. Returns how many notices were queued.
    async fn notify_expired(&self, notices: &[ExpiredNotice]) -> Result<usize, StoreError> {
        let mut queued = 0;
        for n in notices {
            queued += self.notify_one(n).await?;
        }
        Ok(queued)
    }

    async fn notify_one(&self, n: &ExpiredNotice) -> Result<usize, StoreError> {
        let store = &self.inner.store;
        let now = self.inner.clock.now();
        let now_ms = self.inner.clock.now_ms();
        let ttl = i64::try_from(self.inner.settings.message_ttl.as_millis()).unwrap_or(i64::MAX);
        let event = payload::delivery_expired_event(
            &n.message_id,
            &n.endpoint_id,
            n.submission_id.as_ref(),
            now,
        );
        let targets: Vec<EndpointId> = store
            .endpoints(&n.practitioner_id)
            .await?
            .into_iter()
            .filter(|e| e.enabled && e.id != n.endpoint_id)
            .map(|e| e.id)
            .collect();
        let routing = Routing {
            practitioner_id: n.practitioner_id.clone(),
            due_at_ms: now_ms,
            expires_at_ms: now_ms.saturating_add(ttl),
            submission_id: n.submission_id.clone(),
        };
        let messages = message::queue_for(
            &self.inner.master_key,
            &event,
            targets,
            &routing,
            None,
            &mut rand::rngs::OsRng,
        )?;
        store.enqueue(&messages).await?;
        tracing::info!(message.id = %n.message_id, endpoint.id = %n.endpoint_id, notified = messages.len(), "message expired undelivered");
        self.inner.alerts.expired(n).await;
        Ok(messages.len())
    }

    async fn load_endpoint(
        &self,
        msg: &ClaimedMessage,
    ) -> anyhow::Result<Option<Arc<OpenedEndpoint>>> {
        let open = |record: &EndpointRecord| -> anyhow::Result<Option<Arc<OpenedEndpoint>>> {
            if !record.enabled {
                return Ok(None);
            }
            let now = self.inner.clock.now();
            Ok(Some(self.inner.opened.open(
                &self.inner.master_key,
                record,
                now,
            )?))
        };
        match &self.inner.forms {
            // A steady stream of deliveries reads a practice's endpoints once per cache
            // lifetime, not once per message.
            Some(cache) => {
                let records = match cache.endpoints(&msg.practitioner_id) {
                    Some(records) => records,
                    None => {
                        let generation = cache.generation();
                        let records =
                            Arc::new(self.inner.store.endpoints(&msg.practitioner_id).await?);
                        cache.put_endpoints(&msg.practitioner_id, records.clone(), generation);
                        records
                    }
                };
                match records.iter().find(|e| e.id == msg.endpoint_id) {
                    Some(record) => open(record),
                    None => Ok(None),
                }
            }
            None => match self
                .inner
                .store
                .endpoint(&msg.practitioner_id, &msg.endpoint_id)
                .await?
            {
                Some(record) => open(&record),
                None => Ok(None),
            },
        }
    }

    /// One delivery attempt of one message, counted.
    async fn attempt(&self, msg: ClaimedMessage) -> AttemptOutcome {
        let outcome = self.attempt_uncounted(msg).await;
        self.inner.metrics.count(outcome);
        outcome
    }

    /// One delivery attempt of one message. Errors are logged here, once.
    async fn attempt_uncounted(&self, msg: ClaimedMessage) -> AttemptOutcome {
        // A held message first finds its endpoint; only then do slots and breakers apply.
        let msg = if msg.endpoint_id.is_awaiting() {
            match self.take_held(msg).await {
                Ok(msg) => msg,
                Err(outcome) => return outcome,
            }
        } else {
            msg
        };
        // Each endpoint gets the share of this process's slots its answers earn (see
        // `concurrency`): a slow or failing one cannot take them all; the others flow.
        let Some(slot) = self.inner.limits.try_acquire(&msg.endpoint_id) else {
            let due = self.inner.clock.now_ms().saturating_add(DEFER_MS);
            let settlement = Settlement::Release { due_at_ms: due };
            if let Err(e) = self.inner.store.settle(&msg.id, settlement, None).await {
                tracing::warn!(error = %e, message.id = %msg.id, "could not hand a deferred message back; its lease returns it");
            }
            return AttemptOutcome::Deferred;
        };
        let probe = match self
            .inner
            .admit(&msg.endpoint_id, self.inner.clock.now_ms())
        {
            Admission::Go => false,
            Admission::Probe => true,
            Admission::WaitUntil(due) => {
                self.defer_for_open_circuit(&msg, due).await;
                return AttemptOutcome::CircuitOpen;
            }
        };
        let span = tracing::info_span!(
            "delivery",
            message.id = %msg.id,
            endpoint.id = %msg.endpoint_id,
            practitioner.id = %msg.practitioner_id,
            delivery.attempt = msg.attempt,
        );
        // The span follows the future across its awaits (a guard held across an await
        // would tag other tasks' events on this thread with this message's ids).
        self.attempt_in_span(&msg, probe, slot)
            .instrument(span)
            .await
    }

    /// The endpoint's current limit of deliveries in flight in this process.
    pub fn endpoint_limit(&self, endpoint: &EndpointId) -> usize {
        self.inner.limits.limit(endpoint)
    }

    /// The attempt proper, inside its span: sends, records the endpoint's health and
    /// capacity, and logs the attempt once.
    async fn attempt_in_span(
        &self,
        msg: &ClaimedMessage,
        probe: bool,
        slot: Permit,
    ) -> AttemptOutcome {
        let started = Instant::now();
        let outcome = match self.try_attempt(msg).await {
            Ok((outcome, response)) => {
                slot.finish(capacity_signal(response.as_ref(), started.elapsed()));
                let (status, error) = response
                    .as_ref()
                    .map_or((None, None), policy::status_or_error);
                let health = response.as_ref().map_or(Health::Unknown, Health::of);
                self.inner
                    .record(&msg.endpoint_id, health, probe, self.inner.clock.now_ms());
                tracing::info!(
                    outcome = ?outcome,
                    http.status = status,
                    error.class = error,
                    duration_ms = started.elapsed().as_millis() as u64,
                    "delivery attempt"
                );
                self.inner.alerts.attempted(msg, response.as_ref()).await;
                outcome
            }
            Err(e) => {
                slot.finish(Signal::Neutral);
                self.inner.record(
                    &msg.endpoint_id,
                    Health::Unknown,
                    probe,
                    self.inner.clock.now_ms(),
                );
                // The message stays leased and will come due again when the lease lapses
                // (sent again, with the same webhook-id, if this attempt had sent it).
                tracing::error!(error = %format!("{e:#}"), "delivery attempt could not be completed");
                AttemptOutcome::Retrying
            }
        };
        outcome
    }

    /// Hands a message back while its endpoint's circuit is open: due when the
    /// cool-down ends, its attempt not counted, the delivery log saying why.
    async fn defer_for_open_circuit(&self, msg: &ClaimedMessage, due: i64) {
        let settled = policy::circuit_open(
            msg.attempt,
            due,
            msg.expires_at_ms,
            self.inner.clock.now_ms(),
        );
        if let Err(e) = self.apply(msg, &settled).await {
            tracing::warn!(error = %e, message.id = %msg.id, "could not hand a message back; its lease returns it");
        }
    }

    /// A message queued while its practice had no enabled endpoint: handed over to the
    /// practice's oldest enabled endpoint (sealed again for it) in one atomic store step
    /// and returned, still claimed, to be attempted at once; with still no endpoint,
    /// handed back to wait, its attempt not counted and the delivery log saying
    /// `awaiting_endpoint`. Errors are logged here, once; the lease returns the message.
    async fn take_held(&self, msg: ClaimedMessage) -> Result<ClaimedMessage, AttemptOutcome> {
        let store = &self.inner.store;
        let endpoints = match store.endpoints(&msg.practitioner_id).await {
            Ok(list) => list,
            Err(e) => {
                tracing::warn!(error = %e, message.id = %msg.id, "could not look for a held message's endpoint; its lease returns it");
                return Err(AttemptOutcome::Retrying);
            }
        };
        // Listed oldest first: the first endpoint enabled gets what was held.
        let Some(target) = endpoints.into_iter().find(|e| e.enabled) else {
            // A practice erased meanwhile will never have an endpoint: drop it now.
            if let Ok(None) = store.practitioner(&msg.practitioner_id).await {
                let settled = policy::dropped(msg.attempt, self.inner.clock.now_ms());
                if let Err(e) = self.apply(&msg, &settled).await {
                    tracing::warn!(error = %e, message.id = %msg.id, "could not drop a held message of an erased practice; its lease returns it");
                }
                return Err(settled.outcome);
            }
            let settled = policy::awaiting_endpoint(
                msg.attempt,
                AWAIT_ENDPOINT_MS,
                msg.expires_at_ms,
                self.inner.clock.now_ms(),
            );
            if let Err(e) = self.apply(&msg, &settled).await {
                tracing::warn!(error = %e, message.id = %msg.id, "could not hand a held message back; its lease returns it");
            }
            self.inner.alerts.held(&msg).await;
            return Err(settled.outcome);
        };
        let event = match self.open_message(&msg) {
            // Sealed again as the endpoint's format renders it, and nothing more.
            Ok(Ok(event)) => match self.for_endpoint(event.for_format(target.format), &target) {
                Ok(event) => event,
                Err(e) => {
                    tracing::error!(message.id = %msg.id, error = %format!("{e:#}"), "a held message could not be encrypted to its endpoint's keys");
                    return Err(AttemptOutcome::Retrying);
                }
            },
            Ok(Err(reason)) => {
                let settled = policy::unreadable(msg.attempt, self.inner.clock.now_ms());
                if let Err(e) = self.apply(&msg, &settled).await {
                    tracing::warn!(error = %e, message.id = %msg.id, "could not move an unreadable held message aside");
                }
                tracing::error!(message.id = %msg.id, reason, "a held message cannot be opened; it is moved aside as undeliverable");
                return Err(settled.outcome);
            }
            Err(e) => {
                tracing::error!(message.id = %msg.id, error = %format!("{e:#}"), "a held message could not be handed over");
                return Err(AttemptOutcome::Retrying);
            }
        };
        let sealed = match message::seal_message(
            &self.inner.master_key,
            &msg.id,
            &target.id,
            &event,
            &mut rand::rngs::OsRng,
        ) {
            Ok(sealed) => sealed,
            Err(e) => {
                tracing::error!(message.id = %msg.id, error = %e, "a held message could not be handed over");
                return Err(AttemptOutcome::Retrying);
            }
        };
        match store
            .hand_over(&msg.id, &target.id, &sealed, self.inner.clock.now_ms())
            .await
        {
            Ok(true) => {
                tracing::info!(message.id = %msg.id, endpoint.id = %target.id, practitioner.id = %msg.practitioner_id, "held message handed over to an endpoint");
                Ok(ClaimedMessage {
                    endpoint_id: target.id,
                    sealed,
                    ..msg
                })
            }
            // Expired meanwhile, or handed over by a worker that claimed it after this
            // one's lease lapsed: nothing left to do here.
            Ok(false) => Err(AttemptOutcome::Deferred),
            Err(e) => {
                tracing::warn!(error = %e, message.id = %msg.id, "could not hand a held message over; its lease returns it");
                Err(AttemptOutcome::Retrying)
            }
        }
    }

    async fn try_attempt(
        &self,
        msg: &ClaimedMessage,
    ) -> anyhow::Result<(AttemptOutcome, Option<Response>)> {
        let store = &self.inner.store;
        let Some(endpoint) = self.load_endpoint(msg).await? else {
            let settled = policy::dropped(msg.attempt, self.inner.clock.now_ms());
            self.apply(msg, &settled).await?;
            return Ok((settled.outcome, None));
        };
        let event = match self.open_message(msg)? {
            Ok(event) => event,
            Err(reason) => {
                // Retrying cannot repair it: move it aside once, ids only.
                let settled = policy::unreadable(msg.attempt, self.inner.clock.now_ms());
                self.apply(msg, &settled).await?;
                tracing::error!(
                    reason,
                    "a queued message cannot be opened; it is moved aside as undeliverable"
                );
                return Ok((settled.outcome, None));
            }
        };
        // Named in an expiry notice.
        let submission = event.submission_id();
        let event = self.for_endpoint(event, &endpoint.record)?;
        let now = self.inner.clock.now();
        let request = payload::sign_request(
            &event,
            &msg.id,
            endpoint.record.encryption,
            &endpoint.key,
            &endpoint.signing_secrets(now),
            now,
            // The thread's CSPRNG: a JWE's key and IV without a system call each.
            &mut rand::thread_rng(),
        )?;
        let response = self.inner.sender.send(&endpoint.url, request).await;
        let settled = policy::settle(
            &AttemptResult {
                response: &response,
                attempt: msg.attempt,
                expires_at_ms: msg.expires_at_ms,
                now: self.inner.clock.now(),
                unit: rand::random::<f64>(),
            },
            &self.inner.settings.retry_schedule,
        );
        if settled.endpoint == EndpointChange::Disable {
            // One atomic change of the `enabled` field, and only of the URL that
            // answered: writing back the record read before the (possibly slow)
            // request would undo a deletion, URL change or rotation made meanwhile.
            store
                .disable_endpoint(&msg.practitioner_id, &msg.endpoint_id, &endpoint.record.url)
                .await?;
            // Intakes on this instance stop queueing for it at once; other
            // instances' form caches catch up within their TTL (and the worker
            // drops messages for disabled endpoints meanwhile).
            if let Some(forms) = &self.inner.forms {
                forms.invalidate(&msg.practitioner_id);
            }
            tracing::warn!("endpoint answered 410 Gone; it is now disabled");
        }
        let outcome = settled.outcome;
        // One atomic step: should the store fail here, after the send, the message stays
        // leased and is sent again (same webhook-id) when the lease lapses.
        self.apply(msg, &settled).await?;
        if outcome == AttemptOutcome::Expired && policy::expiry_is_noticed(event.kind) {
            self.notify_one(&ExpiredNotice {
                message_id: msg.id.clone(),
                practitioner_id: msg.practitioner_id.clone(),
                endpoint_id: msg.endpoint_id.clone(),
                submission_id: submission,
            })
            .await?;
        }
        Ok((outcome, Some(response)))
    }

    /// The event as `endpoint` takes it: for `jwe-receiver`, with `data` encrypted to the
    /// receiver's public keys unless it already is (a submission is at intake; a held
    /// one is at hand-over; the relay's own notices, which carry no patient data, are
    /// here, when sent). Other endpoints take it as it is.
    fn for_endpoint(&self, event: Event, endpoint: &EndpointRecord) -> anyhow::Result<Event> {
        if endpoint.encryption != Encryption::JweReceiver {
            return Ok(event);
        }
        let keys = message::receiver_keys(endpoint)?;
        Ok(event.to_receiver(&keys, &mut rand::rngs::OsRng)?)
    }

    /// Opens a claimed message's sealed event. The outer error is a condition of this
    /// process that may pass (a master key not configured here yet): the message stays
    /// queued. The inner error says the entry itself is bad (truncated, tampered, not an
    /// event): it never will open, whoever tries.
    fn open_message(&self, msg: &ClaimedMessage) -> anyhow::Result<Result<Event, &'static str>> {
        match message::open_message(
            &self.inner.master_key,
            &msg.id,
            &msg.endpoint_id,
            &msg.sealed,
        ) {
            Ok(event) => Ok(Ok(event)),
            Err(message::OpenError::Damaged(reason)) => Ok(Err(reason)),
            Err(e @ (message::OpenError::NotHere(_) | message::OpenError::UnknownEncoding(_))) => {
                Err(anyhow::Error::new(e))
            }
        }
    }

    /// Carries out what the policy settled for a message: its queue change and its
    /// delivery-log record, in one atomic store step.
    async fn apply(
        &self,
        msg: &ClaimedMessage,
        settled: &policy::Settled,
    ) -> Result<(), StoreError> {
        self.inner
            .store
            .settle(&msg.id, settled.settlement, Some(&settled.log))
            .await
    }
}
