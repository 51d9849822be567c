//! Moving the queue of a relay from before partitioning (everything under the `{q}` tag,
//! see [`keys::unpartitioned`]) into the partitions, so that an upgrade loses nothing:
//! queued messages with their payloads, leases and delivery-log records, the records of
//! messages already settled, and expiry notices not yet sent.
//!
//! Each message is written into its partition first and removed from the old keys
//! after, so a migration cut short is simply done again (the writes are the same), and
//! two relays migrating at once write the same thing twice. A relay of the old version
//! still running during a rolling upgrade could deliver a message that is migrated at
//! the same moment: the receiver then sees its `webhook-id` twice, which Standard
//! Webhooks receivers are expected to tolerate.

use super::queue::RECORD_FIELDS;
use super::{unavailable, RedisStore};
use crate::domain::ids::{MessageId, PractitionerId};
use crate::store::keys::{self, unpartitioned, Partition};
use crate::store::{ExpiredNotice, StoreError, DELIVERY_LOG_TTL_MS};
use redis::AsyncCommands;
use std::collections::HashMap;

/// How many old messages are moved per round trip.
const BATCH: isize = 100;

/// The old message hash's fields that carry over under the same name.
const MESSAGE_FIELDS: [&str; 4] = ["sealed", "endpoint", "practitioner", "expires"];

impl RedisStore {
    /// Moves everything an unpartitioned relay left into the partitions and returns the
    /// expiry notices it had not sent yet. Does nothing (a few reads) on a Redis that
    /// never held the old layout.
    pub(super) async fn migrate(&self) -> Result<Vec<ExpiredNotice>, StoreError> {
        while self.migrate_queued_batch().await? > 0 {}
        self.migrate_settled_records().await?;
        let notices: Option<Vec<String>> = redis::cmd("LPOP")
            .arg(unpartitioned::EXPIRED_NOTICES)
            .arg(10_000)
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(notices
            .unwrap_or_default()
            .iter()
            .filter_map(|n| ExpiredNotice::parse(n))
            .collect())
    }

    /// Moves up to [`BATCH`] queued messages; returns how many old schedule entries it
    /// dealt with.
    async fn migrate_queued_batch(&self) -> Result<usize, StoreError> {
        let scheduled: Vec<(String, i64)> = self
            .conn()
            .zrange_withscores(unpartitioned::DUE, 0, BATCH - 1)
            .await
            .map_err(unavailable)?;
        if scheduled.is_empty() {
            return Ok(0);
        }
        let ids: Vec<(MessageId, i64)> = scheduled
            .iter()
            .filter_map(|(id, due)| MessageId::parse(id).ok().map(|id| (id, *due)))
            .collect();
        let mut read = redis::pipe();
        for (id, _) in &ids {
            read.hgetall(unpartitioned::message(id))
                .hgetall(unpartitioned::delivery(id));
        }
        let found: Vec<HashMap<String, Vec<u8>>> = read
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        for ((id, due), pair) in ids.iter().zip(found.chunks(2)) {
            let [message, record] = pair else { continue };
            if message.is_empty() {
                // Expired meanwhile (its key's own expiry): nothing to deliver; its record,
                // if any, moves with the settled ones.
                continue;
            }
            self.write_migrated(id, Some((message, *due)), record)
                .await?;
        }
        let mut remove = redis::pipe();
        for (id, _) in &scheduled {
            remove.zrem(unpartitioned::DUE, id).ignore();
        }
        for (id, _) in &ids {
            remove.del(unpartitioned::message(id)).ignore();
        }
        remove
            .query_async::<()>(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(scheduled.len())
    }

    /// Moves the delivery-log records left in the old practices' indexes (messages
    /// settled, or moved above, whose records were not moved with them).
    async fn migrate_settled_records(&self) -> Result<(), StoreError> {
        let practitioners: Vec<String> = self
            .conn()
            .zrange(keys::PRACTITIONERS, 0, -1)
            .await
            .map_err(unavailable)?;
        let practitioners: Vec<PractitionerId> = practitioners
            .iter()
            .filter_map(|p| PractitionerId::parse(p).ok())
            .collect();
        let mut exists = redis::pipe();
        for p in &practitioners {
            exists.exists(unpartitioned::deliveries(p));
        }
        let present: Vec<bool> = exists
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        for (p, _) in practitioners.iter().zip(present).filter(|(_, e)| *e) {
            let index = unpartitioned::deliveries(p);
            let logged: Vec<(String, i64)> = self
                .conn()
                .zrange_withscores(&index, 0, -1)
                .await
                .map_err(unavailable)?;
            for (id, _) in &logged {
                let Ok(id) = MessageId::parse(id) else {
                    continue;
                };
                let record: HashMap<String, Vec<u8>> = self
                    .conn()
                    .hgetall(unpartitioned::delivery(&id))
                    .await
                    .map_err(unavailable)?;
                if !record.is_empty() {
                    self.write_migrated(&id, None, &record).await?;
                }
                let _: () = self
                    .conn()
                    .del(unpartitioned::delivery(&id))
                    .await
                    .map_err(unavailable)?;
            }
            let _: () = self.conn().del(&index).await.map_err(unavailable)?;
        }
        Ok(())
    }

    /// Writes one migrated message (its old hash and due time, if it is still queued)
    /// and its old record into its partition's hash, schedule and its practice's index.
    /// A record alone does not overwrite a hash already there (its message moved first).
    async fn write_migrated(
        &self,
        id: &MessageId,
        queued: Option<(&HashMap<String, Vec<u8>>, i64)>,
        record: &HashMap<String, Vec<u8>>,
    ) -> Result<(), StoreError> {
        let key = keys::message(id);
        let partition = Partition::of(id);
        let text = |map: &HashMap<String, Vec<u8>>, field: &str| -> Option<String> {
            map.get(field)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        let mut fields: Vec<(String, Vec<u8>)> = Vec::new();
        // The old record had the fields the current one reads, under the same names.
        for name in RECORD_FIELDS {
            if let Some(v) = record.get(name) {
                fields.push((name.to_owned(), v.clone()));
            }
        }
        if let Some((message, _)) = queued {
            for name in MESSAGE_FIELDS {
                if let Some(v) = message.get(name) {
                    fields.push((name.to_owned(), v.clone()));
                }
            }
            // The old hash counted claims in `attempt` (a claim in flight included, whose
            // worker may die), the record attempts settled: the current count is the
            // former.
            if let Some(v) = message.get("attempt") {
                fields.push(("attempts".to_owned(), v.clone()));
            }
        } else {
            fields.push(("sealed".to_owned(), Vec::new()));
            // Its message expired on its own before anything marked the record.
            if matches!(
                text(record, "status").as_deref(),
                Some("pending" | "retrying" | "awaiting_endpoint")
            ) {
                fields.push(("status".to_owned(), b"expired".to_vec()));
                fields.push(("next_attempt_ms".to_owned(), Vec::new()));
            }
        }
        let practitioner = text(record, "practitioner")
            .or_else(|| queued.and_then(|(m, _)| text(m, "practitioner")));
        if let Some(p) = &practitioner {
            fields.push(("practitioner".to_owned(), p.clone().into_bytes()));
        }
        let created: i64 = text(record, "created_ms")
            .and_then(|v| v.parse().ok())
            .or_else(|| queued.map(|(_, due)| due))
            .unwrap_or(0);
        let expire_at = created.saturating_add(DELIVERY_LOG_TTL_MS);
        if queued.is_none() {
            let there: bool = self.conn().exists(&key).await.map_err(unavailable)?;
            if there {
                return Ok(());
            }
        }
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset_multiple(&key, &fields)
            .ignore()
            .cmd("PEXPIREAT")
            .arg(&key)
            .arg(expire_at)
            .ignore();
        if let Some((_, due)) = queued {
            pipe.zadd(partition.due(), id.as_str(), due).ignore();
        }
        pipe.query_async::<()>(&mut self.conn())
            .await
            .map_err(unavailable)?;
        if let Some(p) = practitioner.and_then(|p| PractitionerId::parse(&p).ok()) {
            let _: () = self
                .conn()
                .zadd(keys::deliveries(&p), id.as_str(), created)
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }
}
