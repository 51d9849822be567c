//! The Redis store's queue: the delivery queue in [`Partition`]s (each a schedule and one
//! expiring hash per message, holding its payload and its delivery-log record), the
//! practices' log indexes, and alert claims.

use super::{unavailable, RedisStore};
use crate::domain::delivery::DeliveryStatus;
use crate::domain::ids::{EndpointId, MessageId, PractitionerId, SubmissionId};
use crate::store::keys::{Partition, Partitions};
use crate::store::{
    keys, AlertSubject, Claim, ClaimedMessage, DeliveryRecord, DeliveryUpdate, ExpiredNotice,
    NewMessage, Page, QueueBell, QueueStore, Settlement, StoreError, DELIVERY_LOG_TTL_MS,
};
use redis::AsyncCommands;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

#[async_trait::async_trait]
impl QueueStore for RedisStore {
    async fn enqueue(&self, messages: &[NewMessage]) -> Result<(), StoreError> {
        let Some(first) = messages.first() else {
            return Ok(());
        };
        let partition = Partition::of(&first.id);
        if messages.iter().any(|m| Partition::of(&m.id) != partition) {
            // Messages queued together are minted beside one another; anything else is
            // a bug, and splitting the call would break its all-or-nothing promise.
            return Err(StoreError::Corrupt(
                "messages queued together must share a queue partition".into(),
            ));
        }
        let mut conn = self.thread_conn();
        let mut pipe = self.enqueue_pipeline(partition, messages, false);
        let mut sent = pipe.query_async::<(i64,)>(&mut conn).await;
        // A connection Redis dropped (a restart, a failover) is reopened by the first
        // command that finds it gone, which fails, whether or not Redis ran it: it is
        // sent once more, on the reopened connection, as a resend (a message the first
        // send queued is left as it is, even if a worker has taken it since).
        if matches!(&sent, Err(e) if e.is_unrecoverable_error()) {
            pipe = self.enqueue_pipeline(partition, messages, true);
            sent = pipe.query_async::<(i64,)>(&mut conn).await;
        }
        match sent {
            Ok(_) => Ok(()),
            // A Redis that has not seen the script yet (new, restarted or failed over):
            // load it and send the pipeline again (adding an id to an index twice, or
            // trimming it twice, changes nothing; the script did not run).
            Err(e) if e.kind() == redis::ErrorKind::NoScriptError => {
                self.enqueue
                    .load_async(&mut conn)
                    .await
                    .map_err(unavailable)?;
                pipe.query_async::<(i64,)>(&mut conn)
                    .await
                    .map(|_| ())
                    .map_err(unavailable)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn claim_due(
        &self,
        now_ms: i64,
        lease: Duration,
        limit: usize,
        noticed: &[&str],
    ) -> Result<Claim, StoreError> {
        self.claim_due_from(now_ms, lease, limit, noticed, Partitions::ALL)
            .await
    }

    async fn claim_due_from(
        &self,
        now_ms: i64,
        lease: Duration,
        limit: usize,
        noticed: &[&str],
        partitions: Partitions,
    ) -> Result<Claim, StoreError> {
        // Partitions in turn, from the next one along each call, so that every partition
        // is served as often as the others; the batch is filled from as many as it takes.
        let start = self.next_partition.fetch_add(1, Ordering::Relaxed);
        let mut claim = Claim::default();
        for k in 0..keys::PARTITIONS {
            let remaining = limit.saturating_sub(claim.messages.len());
            if remaining == 0 {
                break;
            }
            let partition = Partition::wrapping(start + k);
            if !partitions.contains(partition) {
                continue;
            }
            let (messages, notices): (Vec<redis::Value>, Vec<String>) = self
                .claim
                .key(partition.due())
                .arg(now_ms)
                .arg(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX))
                .arg(remaining)
                .arg(partition.message_prefix())
                .arg(noticed)
                .invoke_async(&mut self.conn())
                .await
                .map_err(unavailable)?;
            for chunk in messages.chunks(6) {
                claim.messages.push(parse_claimed(chunk)?);
            }
            claim
                .expired
                .extend(notices.iter().filter_map(|n| ExpiredNotice::parse(n)));
        }
        Ok(claim)
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
        call.key(Partition::of(id).due())
            .key(keys::message(id))
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
        let mut total = 0;
        for partition in Partition::all() {
            let n: usize = self
                .retry_now
                .key(partition.due())
                .arg(endpoint.as_str())
                .arg(now_ms)
                .arg(partition.message_prefix())
                .invoke_async(&mut self.conn())
                .await
                .map_err(unavailable)?;
            total += n;
        }
        Ok(total)
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
            // The record's fields only, never the payload beside them.
            pipe.cmd("HMGET")
                .arg(keys::message(id))
                .arg(&RECORD_FIELDS[..]);
        }
        let raw: Vec<Vec<Option<String>>> = pipe
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let mut items = Vec::new();
        let mut gone = Vec::new();
        for (id, values) in ids.iter().zip(raw) {
            let fields: HashMap<&str, String> = RECORD_FIELDS
                .iter()
                .copied()
                .zip(values)
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect();
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
        let mut pipe = redis::pipe();
        for partition in Partition::all() {
            pipe.zcard(partition.due());
        }
        let counts: Vec<usize> = pipe
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(counts.iter().sum())
    }

    async fn adopt_earlier_queue(&self) -> Result<Vec<ExpiredNotice>, StoreError> {
        self.migrate().await
    }

    async fn announce_queued(&self, partitions: Partitions) -> Result<(), StoreError> {
        let _: i64 = self
            .conn()
            .publish(keys::QUEUED_CHANNEL, keys::announcement(partitions))
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn listen_for_queued(
        &self,
        bell: std::sync::Arc<QueueBell>,
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
                        Some(heard) => bell.ring(keys::announced(heard.get_payload_bytes())),
                        // The connection dropped: subscribe again.
                        None => break,
                    },
                    _ = shutdown.changed() => return,
                }
            }
        }
    }
}

impl RedisStore {
    /// The enqueue's one pipeline: the practices' log indexes first, in their own slots
    /// (an id listed there whose message then fails to queue is skipped, and dropped,
    /// when the log is read), then the enqueue script for `messages` (all in
    /// `partition`); a `resend` leaves alone any message whose hash exists already. One
    /// round trip on a single Redis; on a cluster, [`super::conn::RedisConn`] sends
    /// each slot's run in turn.
    fn enqueue_pipeline(
        &self,
        partition: Partition,
        messages: &[NewMessage],
        resend: bool,
    ) -> redis::Pipeline {
        let mut pipe = redis::pipe();
        for m in messages {
            let index = keys::deliveries(&m.practitioner_id);
            pipe.zadd(&index, m.id.as_str(), m.due_at_ms).ignore();
            // Ids older than the records they name go on one enqueue in 16, not on every
            // one: a command fewer per intake, and the index still holds at most a day
            // of ids and a few more.
            if rand::random::<u8>() < 16 {
                pipe.zrembyscore(
                    &index,
                    "-inf",
                    format!("({}", m.due_at_ms - DELIVERY_LOG_TTL_MS),
                )
                .ignore();
            }
        }
        let mut call = redis::cmd("EVALSHA");
        call.arg(self.enqueue.get_hash())
            .arg(1)
            .arg(partition.due())
            .arg(partition.message_prefix())
            .arg(if resend { "1" } else { "0" });
        for m in messages {
            // A message held for the practice's first endpoint says so.
            let status = if m.endpoint_id.is_awaiting() {
                DeliveryStatus::AwaitingEndpoint
            } else {
                DeliveryStatus::Pending
            };
            call.arg(m.id.as_str())
                .arg(m.endpoint_id.as_str())
                .arg(m.practitioner_id.as_str())
                .arg(m.expires_at_ms)
                .arg(&m.sealed)
                .arg(m.event.as_str())
                .arg(m.submission_id.as_ref().map(|s| s.as_str()).unwrap_or(""))
                .arg(status.as_str())
                .arg(m.due_at_ms)
                .arg(m.due_at_ms.saturating_add(DELIVERY_LOG_TTL_MS));
        }
        pipe.add_command(call);
        pipe
    }
}

/// The delivery-log fields of a message's hash.
pub(super) const RECORD_FIELDS: [&str; 11] = [
    "practitioner",
    "endpoint",
    "event",
    "submission",
    "status",
    "attempts",
    "next_attempt_ms",
    "last_http_status",
    "last_error",
    "created_ms",
    "updated_ms",
];

fn parse_delivery(id: &MessageId, f: &HashMap<&str, String>) -> Result<DeliveryRecord, StoreError> {
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
        // A message not yet attempted has no `attempts`, `next_attempt_ms` or
        // `updated_ms` (the enqueue script saves the memory): none, and its creation.
        attempts: get("attempts").parse().unwrap_or(0),
        next_attempt_ms: match f.get("next_attempt_ms") {
            Some(next) => next.parse().ok(),
            None => num("created_ms"),
        },
        last_http_status: get("last_http_status").parse().ok(),
        last_error: Some(get("last_error"))
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        created_ms: num("created_ms").unwrap_or(0),
        updated_ms: num("updated_ms").or_else(|| num("created_ms")).unwrap_or(0),
    })
}

fn parse_claimed(chunk: &[redis::Value]) -> Result<ClaimedMessage, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("claimed message: bad {what}"));
    let [id, sealed, endpoint, practitioner, attempts, expires] = chunk else {
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
        attempt: redis::from_redis_value::<u32>(attempts).map_err(|_| corrupt("attempts"))?,
        expires_at_ms: text(expires, "expiry")?
            .parse()
            .map_err(|_| corrupt("expiry"))?,
    })
}
