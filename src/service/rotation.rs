//! Master-key rotation: re-sealing every stored secret under the current master key.
//!
//! The procedure (docs/security.md): generate a new key; restart every relay with
//! `GAPRELAY_MASTER_KEY=<new>` and `GAPRELAY_PREVIOUS_MASTER_KEYS=<old>` (new values are
//! sealed under the new key, old ones still open); run `gaprelay rotate-master-key`
//! once, which re-seals the endpoints' secrets and keys; after 24 hours (when every
//! message queued under the old key has been delivered or purged) drop the previous key.
//! Running the command again is harmless: values already under the current key are
//! left as they are.

use super::account::Actor;
use super::{ServiceError, Services};
use crate::crypto::seal;
use crate::delivery::message::{self, EndpointValue};
use crate::domain::ids::EndpointId;
use crate::store::EndpointRecord;

/// What a re-sealing run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResealReport {
    /// Practitioners visited.
    pub practitioners: usize,
    /// Endpoints visited.
    pub endpoints: usize,
    /// Sealed values re-sealed under the current key.
    pub resealed: usize,
    /// Sealed values that were already under the current key.
    pub already_current: usize,
}

impl Services {
    /// Re-seals every endpoint secret, previous secret and content key that is not yet
    /// under the current master key. Fails (changing nothing more) on a value no
    /// configured key opens. Recorded in the operator's audit log.
    pub async fn reseal_stored_secrets(&self) -> Result<ResealReport, ServiceError> {
        let mut report = ResealReport::default();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.store.practitioners(cursor.as_deref(), 100).await?;
            for p in &page.items {
                report.practitioners += 1;
                for record in self.store.endpoints(&p.id).await? {
                    report.endpoints += 1;
                    // Counted from the try that was written (a change made meanwhile
                    // makes it read and re-seal again), and kept if it was.
                    let mut counted = ResealReport::default();
                    self.edit_endpoint(&p.id, &record.id, |record| {
                        counted = ResealReport::default();
                        self.reseal_endpoint(record, &mut counted)
                    })
                    .await?;
                    report.resealed += counted.resealed;
                    report.already_current += counted.already_current;
                }
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        self.audit(
            Actor::Operator,
            None,
            "master_key.resealed",
            &self.master_key.key_id(),
            "success",
            vec![
                format!("endpoints={}", report.endpoints),
                format!("resealed={}", report.resealed),
            ],
        )
        .await?;
        tracing::info!(
            key.id = %self.master_key.key_id(),
            practitioners = report.practitioners,
            endpoints = report.endpoints,
            resealed = report.resealed,
            already_current = report.already_current,
            "stored secrets re-sealed under the current master key"
        );
        Ok(report)
    }

    /// Re-seals one endpoint's sealed values in place; true if any changed.
    fn reseal_endpoint(
        &self,
        record: &mut EndpointRecord,
        report: &mut ResealReport,
    ) -> Result<bool, ServiceError> {
        let id = record.id.clone();
        let mut changed = false;
        for (sealed, which) in [
            (Some(&mut record.sealed_secret), EndpointValue::Secret),
            (Some(&mut record.sealed_key), EndpointValue::Key),
            (
                record.previous_sealed_secret.as_mut(),
                EndpointValue::Secret,
            ),
        ] {
            let Some(sealed) = sealed else { continue };
            if self.reseal_value(&id, which, sealed)? {
                report.resealed += 1;
                changed = true;
            } else {
                report.already_current += 1;
            }
        }
        Ok(changed)
    }

    fn reseal_value(
        &self,
        id: &EndpointId,
        which: EndpointValue,
        sealed: &mut Vec<u8>,
    ) -> Result<bool, ServiceError> {
        if seal::sealed_key_id(sealed).as_deref() == Some(self.master_key.key_id().as_str()) {
            return Ok(false);
        }
        *sealed = message::reseal_endpoint_value(
            &self.master_key,
            id,
            which,
            sealed,
            &mut rand::rngs::OsRng,
        )
        .map_err(|e| {
            let which = which.as_str();
            ServiceError::Internal(anyhow::anyhow!(
                "endpoint {id}: cannot open its {which} ({e}); is the key that sealed it in GAPRELAY_PREVIOUS_MASTER_KEYS?"
            ))
        })?;
        Ok(true)
    }
}
