//! The Redis store's queue: the delivery queue under the `{q}` hash tag (the schedule
//! and one expiring hash per message), the delivery log beside it, expiry
//! notices and alert claims.

use super::{unavailable, RedisStore};
use crate::domain::delivery::DeliveryStatus;
use crate::domain::ids::{EndpointId, MessageId, PractitionerId, SubmissionId};
use crate::store::{
    keys, AlertSubject, ClaimedMessage, DeliveryRecord, DeliveryUpdate, ExpiredNotice, NewMessage,
    Page, QueueStore, Settlement, StoreError, DELIVERY_LOG_TTL_MS,
};
use redis::AsyncCommands;
use std::collections::HashMap;
use std::time::Duration;

#[async_trait::async_trait]
impl QueueStore for RedisStore {
    async fn enqueue(&self, messages: &[NewMessage]) -> Result<(), StoreError> {
        if messages.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for m in messages {
            let key = keys::message(&m.id);
            pipe.hset_multiple(
                &key,
                &[
                    ("endpoint", m.endpoint_id.as_str().as_bytes()),
                    ("practitioner", m.practitioner_id.as_str().as_bytes()),
                    ("attempt", b"0"),
                    ("expires", m.expires_at_ms.to_string().as_bytes()),
                    ("sealed", &m.sealed),
                ],
            )
            .ignore()
            .cmd("PEXPIREAT")
            .arg(&key)
            .arg(m.expires_at_ms)
            .ignore()
            .zadd(keys::QUEUE_DUE, m.id.as_str(), m.due_at_ms)
            .ignore();
            // The delivery log record, in the same transaction.
            let log = keys::delivery(&m.id);
            let index = keys::deliveries(&m.practitioner_id);
            let due = m.due_at_ms.to_string();
            pipe.hset_multiple(
                &log,
                &[
                    ("practitioner", m.practitioner_id.as_str()),
                    ("endpoint", m.endpoint_id.as_str()),
                    ("event", m.event.as_str()),
                    (
                        "submission",
                        m.submission_id.as_ref().map(|s| s.as_str()).unwrap_or(""),
                    ),
                    // A message held for the practice's first endpoint says so.
                    (
                        "status",
                        if m.endpoint_id.is_awaiting() {
                            DeliveryStatus::AwaitingEndpoint.as_str()
                        } else {
                            DeliveryStatus::Pending.as_str()
                        },
                    ),
                    ("attempts", "0"),
                    ("next_attempt_ms", due.as_str()),
                    ("created_ms", due.as_str()),
                    ("updated_ms", due.as_str()),
                ],
            )
            .ignore()
            .cmd("PEXPIREAT")
            .arg(&log)
            .arg(m.due_at_ms.saturating_add(DELIVERY_LOG_TTL_MS))
            .ignore()
            .zadd(&index, m.id.as_str(), m.due_at_ms)
            .ignore();
            // Ids older than the records they name go from the practice's index on one
            // enqueue in 16, not on every one: a command fewer per intake, and the
            // index still holds at most a day of ids and a few more (listing skips ids
            // whose record is gone).
            if rand::random::<u8>() < 16 {
                pipe.zrembyscore(
                    &index,
                    "-inf",
                    format!("({}", m.due_at_ms - DELIVERY_LOG_TTL_MS),
                )
                .ignore();
            }
        }
        pipe.query_async::<()>(&mut self.conn())
            .await
            .map_err(unavailable)
    }

    async fn claim_due(
        &self,
        now_ms: i64,
        lease: Duration,
        limit: usize,
        noticed: &[&str],
    ) -> Result<Vec<ClaimedMessage>, StoreError> {
        let raw: Vec<redis::Value> = self
            .claim
            .key(keys::QUEUE_DUE)
            .key(keys::QUEUE_EXPIRY)
            .key(keys::EXPIRED_NOTICES)
            .arg(now_ms)
            .arg(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX))
            .arg(limit)
            .arg(keys::QUEUE_MESSAGE_PREFIX)
            .arg(keys::DELIVERY_PREFIX)
            .arg(noticed)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        raw.chunks(6).map(parse_claimed).collect()
    }

    async fn settle(
        &self,
        id: &MessageId,
        settlement: Settlement,
        log: Option<&DeliveryUpdate>,
    ) -> Result<(), StoreError> {
        let (mode, due) = match settlement {
            Settlement::Remove => ("remove", 0),
            Settlement::Reschedule { due_at_ms } => ("reschedule", due_at_ms),
            Settlement::Release { due_at_ms } => ("release", due_at_ms),
        };
        let mut call = self.settle.prepare_invoke();
        call.key(keys::QUEUE_DUE)
            .key(keys::message(id))
            .key(keys::QUEUE_EXPIRY)
            .key(keys::delivery(id))
            .arg(mode)
            .arg(id.as_str())
            .arg(due);
        match log {
            Some(u) => call
                .arg("1")
                .arg(u.status.as_str())
                .arg(u.attempts)
                .arg(u.next_attempt_ms.map(|v| v.to_string()).unwrap_or_default())
                .arg(u.http_status.map(|v| v.to_string()).unwrap_or_default())
                .arg(u.error.unwrap_or(""))
                .arg(u.at_ms),
            None => call.arg("0"),
        };
        let _: i64 = call
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn hand_over(
        &self,
        id: &MessageId,
        endpoint: &EndpointId,
        sealed: &[u8],
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        let done: i64 = self
            .hand_over
            .key(keys::message(id))
            .key(keys::delivery(id))
            .arg(EndpointId::awaiting().as_str())
            .arg(endpoint.as_str())
            .arg(sealed)
            .arg(at_ms)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(done == 1)
    }

    async fn retry_now(&self, endpoint: &EndpointId, now_ms: i64) -> Result<usize, StoreError> {
        let n: usize = self
            .retry_now
            .key(keys::QUEUE_DUE)
            .arg(endpoint.as_str())
            .arg(now_ms)
            .arg(keys::QUEUE_MESSAGE_PREFIX)
            .arg(keys::DELIVERY_PREFIX)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(n)
    }

    async fn claim_alert(
        &self,
        subject: &AlertSubject,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<bool, StoreError> {
        let claimed: i64 = self
            .claim_alert
            .key(keys::alerted(subject))
            .arg(now_ms)
            .arg(window_ms)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(claimed == 1)
    }

    async fn drain_expired(&self, limit: usize) -> Result<Vec<ExpiredNotice>, StoreError> {
        let raw: Option<Vec<String>> = redis::cmd("LPOP")
            .arg(keys::EXPIRED_NOTICES)
            .arg(limit)
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(raw
            .unwrap_or_default()
            .iter()
            .filter_map(|r| ExpiredNotice::parse(r))
            .collect())
    }

    async fn deliveries(
        &self,
        practitioner: &PractitionerId,
        cursor: Option<&str>,
        limit: usize,
        _now_ms: i64,
    ) -> Result<Page<DeliveryRecord>, StoreError> {
        let index = keys::deliveries(practitioner);
        let Some((ids, more)) = self.zset_page(&index, cursor, limit, true).await? else {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            });
        };

        let ids: Vec<MessageId> = ids
            .iter()
            .take(limit)
            .map(|i| MessageId::parse(i).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect::<Result<_, _>>()?;
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.hgetall(keys::delivery(id));
        }
        let raw: Vec<HashMap<String, String>> = pipe
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let mut items = Vec::new();
        let mut gone = Vec::new();
        for (id, fields) in ids.iter().zip(raw) {
            if fields.is_empty() {
                gone.push(id.to_string());
                continue;
            }
            items.push(parse_delivery(id, &fields)?);
        }
        if !gone.is_empty() {
            let _: Result<(), _> = self.conn().zrem(&index, gone).await;
        }
        let next_cursor = if more {
            ids.last().map(|i| i.to_string())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    async fn queue_len(&self) -> Result<usize, StoreError> {
        self.conn()
            .zcard(keys::QUEUE_DUE)
            .await
            .map_err(unavailable)
    }

    async fn announce_queued(&self) -> Result<(), StoreError> {
        let _: i64 = self
            .conn()
            .publish(keys::QUEUED_CHANNEL, "1")
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn listen_for_queued(
        &self,
        bell: std::sync::Arc<tokio::sync::Notify>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        use futures_util::StreamExt as _;
        while !*shutdown.borrow() {
            let subscribed = async {
                let mut pubsub = self.pubsub.get_async_pubsub().await?;
                pubsub.subscribe(keys::QUEUED_CHANNEL).await?;
                Ok::<_, redis::RedisError>(pubsub)
            };
            let mut pubsub = match subscribed.await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot subscribe to queue announcements; polling meanwhile");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = shutdown.changed() => {}
                    }
                    continue;
                }
            };
            let mut announcements = pubsub.on_message();
            loop {
                tokio::select! {
                    heard = announcements.next() => match heard {
                        Some(_) => bell.notify_one(),
                        // The connection dropped: subscribe again.
                        None => break,
                    },
                    _ = shutdown.changed() => return,
                }
            }
        }
    }
}

fn parse_delivery(
    id: &MessageId,
    f: &HashMap<String, String>,
) -> Result<DeliveryRecord, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("delivery record: bad {what}"));
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let num = |k: &str| -> Option<i64> { get(k).parse().ok() };
    Ok(DeliveryRecord {
        message_id: id.clone(),
        practitioner_id: PractitionerId::parse(get("practitioner"))
            .map_err(|_| corrupt("practitioner"))?,
        endpoint_id: EndpointId::parse(get("endpoint")).map_err(|_| corrupt("endpoint"))?,
        event: get("event").to_owned(),
        submission_id: Some(get("submission"))
            .filter(|s| !s.is_empty())
            .map(SubmissionId::parse)
            .transpose()
            .map_err(|_| corrupt("submission"))?,
        status: DeliveryStatus::parse(get("status")).ok_or_else(|| corrupt("status"))?,
        attempts: get("attempts").parse().unwrap_or(0),
        next_attempt_ms: num("next_attempt_ms"),
        last_http_status: get("last_http_status").parse().ok(),
        last_error: Some(get("last_error"))
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        created_ms: num("created_ms").unwrap_or(0),
        updated_ms: num("updated_ms").unwrap_or(0),
    })
}

fn parse_claimed(chunk: &[redis::Value]) -> Result<ClaimedMessage, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("claimed message: bad {what}"));
    let [id, sealed, endpoint, practitioner, attempt, expires] = chunk else {
        return Err(corrupt("shape"));
    };
    let text = |v: &redis::Value, what: &str| -> Result<String, StoreError> {
        redis::from_redis_value::<String>(v).map_err(|_| corrupt(what))
    };
    Ok(ClaimedMessage {
        id: MessageId::parse(&text(id, "id")?).map_err(|_| corrupt("id"))?,
        sealed: redis::from_redis_value::<Vec<u8>>(sealed).map_err(|_| corrupt("payload"))?,
        endpoint_id: EndpointId::parse(&text(endpoint, "endpoint")?)
            .map_err(|_| corrupt("endpoint"))?,
        practitioner_id: PractitionerId::parse(&text(practitioner, "practitioner")?)
            .map_err(|_| corrupt("practitioner"))?,
        attempt: redis::from_redis_value::<u32>(attempt).map_err(|_| corrupt("attempt"))?,
        expires_at_ms: text(expires, "expiry")?
            .parse()
            .map_err(|_| corrupt("expiry"))?,
    })
}
