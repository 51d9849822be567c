//! The Redis store's audit logs: one stream per practitioner (under its hash tag) and
//! one for the operator, trimmed to the retention on every append.

use super::{unavailable, RedisStore};
use crate::domain::ids::PractitionerId;
use crate::store::{keys, AuditEntry, AuditStore, Page, StoreError};

#[async_trait::async_trait]
impl AuditStore for RedisStore {
    async fn append_audit(
        &self,
        practitioner: Option<&PractitionerId>,
        entry: &AuditEntry,
        _now_ms: i64,
        retain_after_ms: i64,
    ) -> Result<(), StoreError> {
        let key = practitioner
            .map(keys::audit)
            .unwrap_or_else(|| keys::OPERATOR_AUDIT.to_owned());
        redis::cmd("XADD")
            .arg(&key)
            .arg("MINID")
            .arg("=")
            .arg(retain_after_ms.max(0))
            .arg("*")
            .arg("entry")
            .arg(serde_json::to_string(entry)?)
            .query_async::<String>(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn audit_log(
        &self,
        practitioner: Option<&PractitionerId>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let key = practitioner
            .map(keys::audit)
            .unwrap_or_else(|| keys::OPERATOR_AUDIT.to_owned());
        let end = match cursor {
            Some(c) if is_stream_id(c) => format!("({c}"),
            Some(_) => {
                return Ok(Page {
                    items: Vec::new(),
                    next_cursor: None,
                })
            }
            None => "+".to_owned(),
        };
        let reply: redis::streams::StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(&key)
            .arg(end)
            .arg("-")
            .arg("COUNT")
            .arg(limit + 1)
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let more = reply.ids.len() > limit;
        let mut items = Vec::new();
        let mut last_id = None;
        for sid in reply.ids.into_iter().take(limit) {
            let json: String = sid
                .get("entry")
                .ok_or_else(|| StoreError::Corrupt("audit entry".into()))?;
            items.push(serde_json::from_str(&json)?);
            last_id = Some(sid.id);
        }
        Ok(Page {
            items,
            next_cursor: if more { last_id } else { None },
        })
    }
}

/// Whether `c` is a stream entry id Redis accepts (`ms` or `ms-seq`, each a u64):
/// anything else would make Redis answer an error, which is the caller's mistake, not
/// an outage.
fn is_stream_id(c: &str) -> bool {
    let number = |n: &str| n.bytes().all(|b| b.is_ascii_digit()) && n.parse::<u64>().is_ok();
    match c.split_once('-') {
        Some((ms, seq)) => number(ms) && number(seq),
        None => number(c),
    }
}
