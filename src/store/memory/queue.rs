//! The in-memory store's queue: queued messages, the delivery log and alert claims.

use super::{MemoryStore, QueuedEntry};
use crate::domain::delivery::DeliveryStatus;
use crate::domain::ids::{EndpointId, MessageId, PractitionerId};
use crate::store::{
    AlertSubject, Claim, ClaimedMessage, DeliveryRecord, DeliveryUpdate, ExpiredNotice, NewMessage,
    Page, QueueStore, Settlement, StoreError, DELIVERY_LOG_TTL_MS,
};
use std::time::Duration;

#[async_trait::async_trait]
impl QueueStore for MemoryStore {
    async fn enqueue(&self, messages: &[NewMessage]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        for m in messages {
            inner.deliveries.insert(
                m.id.clone(),
                DeliveryRecord {
                    message_id: m.id.clone(),
                    practitioner_id: m.practitioner_id.clone(),
                    endpoint_id: m.endpoint_id.clone(),
                    event: m.event.clone(),
                    submission_id: m.submission_id.clone(),
                    status: if m.endpoint_id.is_awaiting() {
                        DeliveryStatus::AwaitingEndpoint
                    } else {
                        DeliveryStatus::Pending
                    },
                    attempts: 0,
                    next_attempt_ms: Some(m.due_at_ms),
                    last_http_status: None,
                    last_error: None,
                    created_ms: m.due_at_ms,
                    updated_ms: m.due_at_ms,
                },
            );
            inner.queue.insert(
                m.id.clone(),
                QueuedEntry {
                    endpoint_id: m.endpoint_id.clone(),
                    practitioner_id: m.practitioner_id.clone(),
                    sealed: m.sealed.clone(),
                    attempt: 0,
                    due_at_ms: m.due_at_ms,
                    expires_at_ms: m.expires_at_ms,
                    leased_until: None,
                },
            );
        }
        Ok(())
    }

    async fn claim_due(
        &self,
        now_ms: i64,
        lease: Duration,
        limit: usize,
        noticed: &[&str],
    ) -> Result<Claim, StoreError> {
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let mut inner = self.lock();
        let expired: Vec<MessageId> = inner
            .queue
            .iter()
            .filter(|(_, e)| e.expires_at_ms <= now_ms)
            .map(|(id, _)| id.clone())
            .collect();
        let mut notices = Vec::new();
        for id in expired {
            inner.queue.remove(&id);
            let mut notice = None;
            if let Some(d) = inner.deliveries.get_mut(&id) {
                if d.status.is_open() {
                    d.status = DeliveryStatus::Expired;
                    d.next_attempt_ms = None;
                    d.updated_ms = now_ms;
                    if noticed.contains(&d.event.as_str()) {
                        notice = Some(ExpiredNotice {
                            message_id: d.message_id.clone(),
                            practitioner_id: d.practitioner_id.clone(),
                            endpoint_id: d.endpoint_id.clone(),
                            submission_id: d.submission_id.clone(),
                        });
                    }
                }
            }
            notices.extend(notice);
        }
        inner
            .deliveries
            .retain(|_, d| d.created_ms + DELIVERY_LOG_TTL_MS > now_ms);
        // Oldest due first, ties broken by id, as the Redis sorted set orders them.
        let mut due: Vec<(i64, MessageId)> = inner
            .queue
            .iter()
            .filter(|(_, e)| e.due_at_ms <= now_ms)
            .map(|(id, e)| (e.due_at_ms, id.clone()))
            .collect();
        due.sort();
        let mut claimed = Vec::new();
        for (_, id) in due.into_iter().take(limit) {
            if let Some(e) = inner.queue.get_mut(&id) {
                e.attempt += 1;
                e.due_at_ms = now_ms.saturating_add(lease_ms);
                e.leased_until = Some(e.due_at_ms);
                claimed.push(ClaimedMessage {
                    id,
                    endpoint_id: e.endpoint_id.clone(),
                    practitioner_id: e.practitioner_id.clone(),
                    sealed: e.sealed.clone(),
                    attempt: e.attempt,
                    expires_at_ms: e.expires_at_ms,
                });
            }
        }
        Ok(Claim {
            messages: claimed,
            expired: notices,
        })
    }

    async fn settle(
        &self,
        id: &MessageId,
        settlement: Settlement,
        log: Option<&DeliveryUpdate>,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        match settlement {
            Settlement::Remove => {
                // Gone already: settled by another worker after this one's lease
                // lapsed, or purged. Only a delivery is still worth recording.
                let existed = inner.queue.remove(id).is_some();
                if !existed && log.is_none_or(|u| u.status != DeliveryStatus::Delivered) {
                    return Ok(());
                }
            }
            Settlement::Reschedule { due_at_ms } | Settlement::Release { due_at_ms } => {
                let Some(e) = inner.queue.get_mut(id) else {
                    return Ok(());
                };
                e.due_at_ms = due_at_ms;
                e.leased_until = None;
                if matches!(settlement, Settlement::Release { .. }) {
                    e.attempt = e.attempt.saturating_sub(1);
                }
            }
        }
        if let (Some(u), Some(d)) = (log, inner.deliveries.get_mut(id)) {
            d.status = u.status;
            d.attempts = u.attempts;
            d.next_attempt_ms = u.next_attempt_ms;
            d.last_http_status = u.http_status;
            d.last_error = u.error.map(str::to_owned);
            d.updated_ms = u.at_ms;
        }
        Ok(())
    }

    async fn hand_over(
        &self,
        id: &MessageId,
        endpoint: &EndpointId,
        sealed: &[u8],
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let Some(e) = inner.queue.get_mut(id) else {
            return Ok(false);
        };
        if !e.endpoint_id.is_awaiting() {
            return Ok(false);
        }
        e.endpoint_id = endpoint.clone();
        e.sealed = sealed.to_vec();
        if let Some(d) = inner.deliveries.get_mut(id) {
            d.endpoint_id = endpoint.clone();
            d.status = DeliveryStatus::Pending;
            d.next_attempt_ms = Some(at_ms);
            d.last_error = None;
            d.updated_ms = at_ms;
        }
        Ok(true)
    }

    async fn retry_now(&self, endpoint: &EndpointId, now_ms: i64) -> Result<usize, StoreError> {
        let mut inner = self.lock();
        let mut moved = Vec::new();
        for (id, e) in inner.queue.iter_mut() {
            let leased = e.leased_until.is_some_and(|until| until > now_ms);
            if &e.endpoint_id == endpoint && e.due_at_ms > now_ms && !leased {
                e.due_at_ms = now_ms;
                moved.push(id.clone());
            }
        }
        for id in &moved {
            if let Some(d) = inner.deliveries.get_mut(id) {
                d.next_attempt_ms = Some(now_ms);
            }
        }
        Ok(moved.len())
    }

    async fn claim_alert(
        &self,
        subject: &AlertSubject,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        // Forget claims whose window has passed, as Redis expires their keys.
        inner
            .alerted
            .retain(|_, last| now_ms < last.saturating_add(window_ms));
        if inner.alerted.contains_key(subject) {
            return Ok(false);
        }
        inner.alerted.insert(subject.clone(), now_ms);
        Ok(true)
    }

    async fn deliveries(
        &self,
        practitioner: &PractitionerId,
        cursor: Option<&str>,
        limit: usize,
        now_ms: i64,
    ) -> Result<Page<DeliveryRecord>, StoreError> {
        let inner = self.lock();
        let mut all: Vec<&DeliveryRecord> = inner
            .deliveries
            .values()
            .filter(|d| {
                &d.practitioner_id == practitioner && d.created_ms + DELIVERY_LOG_TTL_MS > now_ms
            })
            .collect();
        // Newest first, ties by id descending, as the Redis sorted set orders them.
        all.sort_by(|a, b| (b.created_ms, &b.message_id).cmp(&(a.created_ms, &a.message_id)));
        let start = match cursor {
            Some(c) => all
                .iter()
                .position(|d| d.message_id.as_str() == c)
                .map(|i| i + 1)
                .unwrap_or(all.len()),
            None => 0,
        };
        let items: Vec<DeliveryRecord> = all
            .iter()
            .skip(start)
            .take(limit)
            .map(|d| (*d).clone())
            .collect();
        let next_cursor = (start + items.len() < all.len())
            .then(|| items.last().map(|d| d.message_id.to_string()))
            .flatten();
        Ok(Page { items, next_cursor })
    }

    async fn queue_len(&self) -> Result<usize, StoreError> {
        Ok(self.lock().queue.len())
    }
}
