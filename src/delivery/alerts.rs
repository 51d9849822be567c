//! Telling a practice that one of its endpoints keeps failing: from each attempt's
//! result the worker hands over, decides whether to (pure: [`failure`], [`trigger`]),
//! claims the hour in the store (at most one alert per endpoint per hour, across every
//! instance), emails the practice through the [`Notifier`] and queues an
//! `endpoint.failing` event for its other enabled endpoints. A practice with no enabled
//! endpoint is emailed when a submission is held for one and when a held one expires,
//! at most once an hour. Ids and counts only.

use super::message::{self, Routing};
use super::payload;
use super::policy::Response;
use crate::clock::Clock;
use crate::crypto::seal::MasterKey;
use crate::domain::delivery::DeliveryStatus;
use crate::domain::ids::{EndpointId, PractitionerId};
use crate::notify::{self, FailingAlert, HeldAlert, HeldTrigger, LastError, Notifier, Trigger};
use crate::store::{AlertSubject, ClaimedMessage, EndpointRecord, ExpiredNotice, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;

/// Failed attempts in a row (to the endpoint, or of one message) that make an endpoint
/// "keep failing". With the default schedule one message reaches it about 13 minutes
/// after its first attempt; a busy endpoint sooner.
pub const FAILURES_TO_ALERT: u32 = 5;

/// At most one alert per endpoint in this window.
pub const ALERT_WINDOW_MS: i64 = 60 * 60 * 1000;

/// At most one email per practice in this window about submissions held for want of an
/// enabled endpoint: a practice that has not set one up yet hears of it at most four
/// times a day while submissions wait, not at every look.
pub const HELD_ALERT_WINDOW_MS: i64 = 6 * 60 * 60 * 1000;

/// A failure this close to its message's expiry alerts at once (a quarter of the
/// message lifetime when that is shorter): the practice still has time to fix the
/// receiver and ask for a retry.
pub const EXPIRY_WARNING_MS: i64 = 6 * 60 * 60 * 1000;

/// After another instance won the claim, this one does not ask the store again for
/// the same endpoint for this long.
const LOST_CLAIM_QUIET_MS: i64 = 5 * 60 * 1000;

/// How much of the delivery log is read to count an endpoint's waiting messages.
const PENDING_PAGE: usize = 100;
const PENDING_PAGES: usize = 10;

/// More endpoints than this tracked at once and the tracking starts afresh (the store's
/// claim still holds alerts to one an hour); bounds the memory a flood of endpoints takes.
const MAX_TRACKED: usize = 10_000;

/// What an attempt's result says about the endpoint: `None` when it answered in a way
/// that shows it working (2xx) or deliberately gone (410, which disables it);
/// otherwise the failure as the delivery log names it. A 4xx is a failure: it is what
/// a half-configured receiver answers, and the message waits until it is fixed.
pub fn failure(response: &Response) -> Option<LastError> {
    match response {
        Response::Status { status, .. } if (200..300).contains(status) || *status == 410 => None,
        Response::Status { status, .. } => Some(LastError::Status(*status)),
        Response::Timeout => Some(LastError::Class("timeout")),
        Response::ConnectError => Some(LastError::Class("connect")),
        Response::ForbiddenTarget => Some(LastError::Class("forbidden_target")),
    }
}

/// Whether a failed attempt warrants an alert, and why: its message expires within
/// `warning_ms`, or the endpoint has failed `FAILURES_TO_ALERT` times in a row (as this
/// relay counted, or as this message's attempts show).
pub fn trigger(
    consecutive_failures: u32,
    message_attempts: u32,
    now_ms: i64,
    expires_at_ms: i64,
    warning_ms: i64,
) -> Option<Trigger> {
    if expires_at_ms.saturating_sub(now_ms) <= warning_ms {
        let expires_at =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(expires_at_ms) * 1_000_000)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        return Some(Trigger::Expiring { expires_at });
    }
    (consecutive_failures.max(message_attempts) >= FAILURES_TO_ALERT)
        .then_some(Trigger::KeepsFailing)
}

/// One endpoint as this process has seen it.
#[derive(Debug, Default, Clone, Copy)]
struct Track {
    /// Failed attempts in a row.
    failures: u32,
    /// No claim is asked of the store before this time (Unix ms).
    quiet_until_ms: i64,
}

/// Alerts practices about failing endpoints. One per worker.
pub struct Alerts {
    store: Arc<dyn Store>,
    notifier: Arc<dyn Notifier>,
    master_key: MasterKey,
    clock: Arc<dyn Clock>,
    message_ttl: Duration,
    /// Per endpoint, in this process; a short, never-awaited lock.
    tracks: Mutex<HashMap<EndpointId, Track>>,
    /// Per practice with held submissions: no claim is asked of the store before this
    /// time (Unix ms). Same lock discipline as `tracks`.
    held_quiet: Mutex<HashMap<PractitionerId, i64>>,
}

impl Alerts {
    /// Alerts through `notifier`, claiming each hour in `store`; events for the other
    /// endpoints are sealed under `master_key` and live `message_ttl`.
    pub fn new(
        store: Arc<dyn Store>,
        notifier: Arc<dyn Notifier>,
        master_key: MasterKey,
        clock: Arc<dyn Clock>,
        message_ttl: Duration,
    ) -> Alerts {
        Alerts {
            store,
            notifier,
            master_key,
            clock,
            message_ttl,
            tracks: Mutex::default(),
            held_quiet: Mutex::default(),
        }
    }

    fn tracks(&self) -> std::sync::MutexGuard<'_, HashMap<EndpointId, Track>> {
        // Advice, not data: a poisoned lock is recovered.
        self.tracks.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn quiet(&self, endpoint: &EndpointId, until_ms: i64) {
        self.tracks()
            .entry(endpoint.clone())
            .or_default()
            .quiet_until_ms = until_ms;
    }

    /// Learns from one attempt of `msg` (`response`: what the receiver did, `None` when
    /// nothing was sent) and alerts the practice when its endpoint keeps failing or the
    /// message is about to expire undelivered. Never fails: problems are logged.
    pub async fn attempted(&self, msg: &ClaimedMessage, response: Option<&Response>) {
        let Some(response) = response else {
            return;
        };
        if msg.endpoint_id.is_awaiting() {
            return;
        }
        let now_ms = self.clock.now_ms();
        let Some(last) = failure(response) else {
            self.tracks().remove(&msg.endpoint_id);
            return;
        };
        let (failures, quiet) = {
            let mut tracks = self.tracks();
            if tracks.len() >= MAX_TRACKED && !tracks.contains_key(&msg.endpoint_id) {
                tracks.clear();
            }
            let track = tracks.entry(msg.endpoint_id.clone()).or_default();
            track.failures = track.failures.saturating_add(1);
            (track.failures, now_ms < track.quiet_until_ms)
        };
        let ttl_ms = i64::try_from(self.message_ttl.as_millis()).unwrap_or(i64::MAX);
        let warning_ms = EXPIRY_WARNING_MS.min(ttl_ms / 4);
        let Some(why) = trigger(failures, msg.attempt, now_ms, msg.expires_at_ms, warning_ms)
        else {
            return;
        };
        if quiet {
            return;
        }
        self.alert(
            &msg.practitioner_id,
            &msg.endpoint_id,
            why,
            failures.max(msg.attempt),
            Some(last),
        )
        .await;
    }

    /// A message of `msg.practitioner_id` is held because the practice has no enabled
    /// endpoint: emails the practice (at most once an hour) that a submission waits and
    /// until when. Never fails: problems are logged.
    pub async fn held(&self, msg: &ClaimedMessage) {
        let expires_at =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(msg.expires_at_ms) * 1_000_000)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        self.held_alert(&msg.practitioner_id, HeldTrigger::Waiting { expires_at })
            .await;
    }

    /// Alerts the practice that a message for `notice.endpoint_id` expired undelivered
    /// (or, for a held message, that it expired waiting for an endpoint). Never fails:
    /// problems are logged.
    pub async fn expired(&self, notice: &ExpiredNotice) {
        if notice.endpoint_id.is_awaiting() {
            let why = HeldTrigger::Expired {
                message_id: notice.message_id.clone(),
            };
            self.held_alert(&notice.practitioner_id, why).await;
            return;
        }
        let now_ms = self.clock.now_ms();
        let track = self
            .tracks()
            .get(&notice.endpoint_id)
            .copied()
            .unwrap_or_default();
        if now_ms < track.quiet_until_ms {
            return;
        }
        let why = Trigger::Expired {
            message_id: notice.message_id.clone(),
        };
        self.alert(
            &notice.practitioner_id,
            &notice.endpoint_id,
            why,
            track.failures,
            None,
        )
        .await;
    }

    async fn held_alert(&self, practitioner: &PractitionerId, why: HeldTrigger) {
        let now_ms = self.clock.now_ms();
        {
            let quiet = self.held_quiet.lock().unwrap_or_else(|p| p.into_inner());
            if quiet.get(practitioner).is_some_and(|until| now_ms < *until) {
                return;
            }
        }
        let reason = why.as_str();
        if let Err(e) = self.try_held_alert(practitioner, why, now_ms).await {
            tracing::warn!(
                error = %format!("{e:#}"),
                practitioner.id = %practitioner,
                alert.reason = reason,
                "could not alert the practice about its held submissions"
            );
        }
    }

    async fn try_held_alert(
        &self,
        practitioner: &PractitionerId,
        why: HeldTrigger,
        now_ms: i64,
    ) -> anyhow::Result<()> {
        let claimed = self
            .store
            .claim_alert(
                &AlertSubject::Held(practitioner.clone()),
                now_ms,
                HELD_ALERT_WINDOW_MS,
            )
            .await?;
        {
            let mut quiet = self.held_quiet.lock().unwrap_or_else(|p| p.into_inner());
            if quiet.len() >= MAX_TRACKED {
                quiet.clear();
            }
            let window = if claimed {
                HELD_ALERT_WINDOW_MS
            } else {
                LOST_CLAIM_QUIET_MS
            };
            quiet.insert(practitioner.clone(), now_ms.saturating_add(window));
        }
        if !claimed {
            return Ok(());
        }
        let Some(practice) = self.store.practitioner(practitioner).await? else {
            return Ok(());
        };
        let alert = HeldAlert {
            to: practice.email.to_string(),
            practice_name: practice.practice_name.clone(),
            practitioner_id: practitioner.clone(),
            trigger: why,
            at: self.clock.now(),
        };
        self.notifier
            .send(&alert.to, &notify::render_held(&alert))
            .await?;
        tracing::warn!(
            practitioner.id = %practitioner,
            alert.reason = alert.trigger.as_str(),
            "submissions held for want of an endpoint: practice emailed"
        );
        Ok(())
    }

    async fn alert(
        &self,
        practitioner: &PractitionerId,
        endpoint: &EndpointId,
        why: Trigger,
        failures: u32,
        last_error: Option<LastError>,
    ) {
        let reason = why.as_str();
        if let Err(e) = self
            .try_alert(practitioner, endpoint, why, failures, last_error)
            .await
        {
            tracing::warn!(
                error = %format!("{e:#}"),
                endpoint.id = %endpoint,
                practitioner.id = %practitioner,
                alert.reason = reason,
                "could not alert the practice about its failing endpoint"
            );
        }
    }

    async fn try_alert(
        &self,
        practitioner: &PractitionerId,
        endpoint: &EndpointId,
        why: Trigger,
        failures: u32,
        last_error: Option<LastError>,
    ) -> anyhow::Result<()> {
        let now_ms = self.clock.now_ms();
        if !self
            .store
            .claim_alert(
                &AlertSubject::Endpoint(endpoint.clone()),
                now_ms,
                ALERT_WINDOW_MS,
            )
            .await?
        {
            self.quiet(endpoint, now_ms.saturating_add(LOST_CLAIM_QUIET_MS));
            return Ok(());
        }
        self.quiet(endpoint, now_ms.saturating_add(ALERT_WINDOW_MS));
        let Some(practice) = self.store.practitioner(practitioner).await? else {
            return Ok(());
        };
        let endpoints = self.store.endpoints(practitioner).await?;
        // Deleted meanwhile: nobody to tell about it.
        let Some(failing) = endpoints.iter().find(|e| &e.id == endpoint) else {
            return Ok(());
        };
        let (pending, pending_capped) = self.pending(practitioner, endpoint, now_ms).await?;
        let alert = FailingAlert {
            to: practice.email.to_string(),
            practice_name: practice.practice_name.clone(),
            practitioner_id: practitioner.clone(),
            endpoint_id: endpoint.clone(),
            endpoint_host: url::Url::parse(&failing.url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| "unknown".to_owned()),
            trigger: why,
            consecutive_failures: failures,
            pending,
            pending_capped,
            last_error,
            at: self.clock.now(),
        };
        let emailed = match self.notifier.send(&alert.to, &notify::render(&alert)).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(
                    error = %format!("{e:#}"),
                    endpoint.id = %endpoint,
                    "could not email the practice about its failing endpoint"
                );
                false
            }
        };
        let notified = self.queue_event(&alert, &endpoints).await?;
        tracing::warn!(
            endpoint.id = %endpoint,
            practitioner.id = %practitioner,
            alert.reason = alert.trigger.as_str(),
            delivery.failures = failures,
            emailed,
            notified,
            "endpoint keeps failing: practice alerted"
        );
        Ok(())
    }

    /// Messages waiting for `endpoint`, from the newest part of the delivery log, and
    /// whether the log was longer than what was read.
    async fn pending(
        &self,
        practitioner: &PractitionerId,
        endpoint: &EndpointId,
        now_ms: i64,
    ) -> anyhow::Result<(usize, bool)> {
        let mut cursor: Option<String> = None;
        let mut count = 0;
        for _ in 0..PENDING_PAGES {
            let page = self
                .store
                .deliveries(practitioner, cursor.as_deref(), PENDING_PAGE, now_ms)
                .await?;
            count += page
                .items
                .iter()
                .filter(|r| {
                    &r.endpoint_id == endpoint
                        && matches!(r.status, DeliveryStatus::Pending | DeliveryStatus::Retrying)
                })
                .count();
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok((count, false)),
            }
        }
        Ok((count, true))
    }

    /// Queues the `endpoint.failing` event for the practice's other enabled endpoints;
    /// returns how many.
    async fn queue_event(
        &self,
        alert: &FailingAlert,
        endpoints: &[EndpointRecord],
    ) -> anyhow::Result<usize> {
        let event = payload::endpoint_failing_event(alert);
        let now_ms = self.clock.now_ms();
        let ttl_ms = i64::try_from(self.message_ttl.as_millis()).unwrap_or(i64::MAX);
        let targets = endpoints
            .iter()
            .filter(|e| e.enabled && e.id != alert.endpoint_id)
            .map(|e| e.id.clone());
        let routing = Routing {
            practitioner_id: alert.practitioner_id.clone(),
            due_at_ms: now_ms,
            expires_at_ms: now_ms.saturating_add(ttl_ms),
            submission_id: None,
        };
        let messages = message::queue_for(
            &self.master_key,
            &event,
            targets,
            &routing,
            None,
            &mut rand::rngs::OsRng,
        )?;
        if !messages.is_empty() {
            self.store.enqueue(&messages).await?;
        }
        Ok(messages.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 60 * 60 * 1000;

    fn status(status: u16) -> Response {
        Response::Status {
            status,
            retry_after: None,
        }
    }

    #[test]
    fn any_answer_but_a_2xx_or_a_410_is_a_failure_named_as_the_log_names_it() {
        assert_eq!(failure(&status(200)), None);
        assert_eq!(failure(&status(204)), None);
        assert_eq!(failure(&status(410)), None);
        assert_eq!(failure(&status(401)), Some(LastError::Status(401)));
        assert_eq!(failure(&status(503)), Some(LastError::Status(503)));
        assert_eq!(
            failure(&Response::Timeout),
            Some(LastError::Class("timeout"))
        );
        assert_eq!(
            failure(&Response::ConnectError),
            Some(LastError::Class("connect"))
        );
        assert_eq!(
            failure(&Response::ForbiddenTarget),
            Some(LastError::Class("forbidden_target"))
        );
    }

    #[test]
    fn an_endpoint_keeps_failing_after_five_failures_in_a_row_of_it_or_of_one_message() {
        let far = 20 * HOUR;
        assert_eq!(trigger(4, 4, 0, far, EXPIRY_WARNING_MS), None);
        assert_eq!(
            trigger(5, 1, 0, far, EXPIRY_WARNING_MS),
            Some(Trigger::KeepsFailing)
        );
        assert_eq!(
            trigger(1, 5, 0, far, EXPIRY_WARNING_MS),
            Some(Trigger::KeepsFailing)
        );
    }

    #[test]
    fn a_failure_close_to_the_expiry_alerts_at_once_with_the_expiry() {
        let now = 1_780_000_000_000;
        let expires = now + EXPIRY_WARNING_MS;
        let Some(Trigger::Expiring { expires_at }) = trigger(1, 1, now, expires, EXPIRY_WARNING_MS)
        else {
            panic!("expected an expiry warning");
        };
        assert_eq!(expires_at.unix_timestamp() * 1000, expires);
        assert_eq!(trigger(1, 1, now, expires + 1, EXPIRY_WARNING_MS), None);
    }
}
