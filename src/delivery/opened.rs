//! Endpoints as a delivery uses them: the webhook secrets and content key opened from
//! their sealed form and the URL parsed, kept per endpoint for as long as its record is
//! unchanged, so that a steady stream of deliveries to one endpoint opens them once
//! rather than once per attempt (two AES-GCM openings, a JWK and a URL parsed).
//!
//! The record itself is the key's check: any change to it (a rotation, a new URL, a
//! disable, a new key) makes the next attempt open it again, so nothing read here is
//! older than the record the worker just read (and the worker reads records as before,
//! through the form cache or the store).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use time::OffsetDateTime;

use super::message;
use crate::crypto::jwe::ContentKey;
use crate::crypto::seal::MasterKey;
use crate::crypto::webhook::WebhookSecret;
use crate::domain::ids::EndpointId;
use crate::store::EndpointRecord;

/// How many endpoints are kept at most; when full, the whole table is dropped and
/// refills from the next attempts (a deployment's active endpoints fit many times over).
const MAX_KEPT: usize = 4096;

/// An endpoint's record with its secrets opened and its URL parsed.
pub struct OpenedEndpoint {
    /// The record these were opened from.
    pub record: EndpointRecord,
    /// The URL deliveries go to.
    pub url: url::Url,
    /// The current signing secret.
    pub secret: WebhookSecret,
    /// The previous secret and until when it signs alongside (24 h after a rotation).
    previous: Option<(WebhookSecret, OffsetDateTime)>,
    /// The content key for `jwe` endpoints.
    pub key: ContentKey,
}

impl OpenedEndpoint {
    /// Opens `record`'s secrets; the previous secret only while it still signs at `now`.
    pub fn open(
        master: &MasterKey,
        record: &EndpointRecord,
        now: OffsetDateTime,
    ) -> anyhow::Result<OpenedEndpoint> {
        let secret = message::open_endpoint_secret(master, &record.id, &record.sealed_secret)?;
        let key = message::open_content_key(master, &record.id, &record.sealed_key)?;
        let previous = match (&record.previous_sealed_secret, record.previous_secret_until) {
            (Some(sealed), Some(until)) if now < until => Some((
                message::open_endpoint_secret(master, &record.id, sealed)
                    .context("cannot open the endpoint's previous secret")?,
                until,
            )),
            _ => None,
        };
        let url = url::Url::parse(&record.url).context("stored endpoint URL is invalid")?;
        Ok(OpenedEndpoint {
            record: record.clone(),
            url,
            secret,
            previous,
            key,
        })
    }

    /// The secrets that sign a request made at `now`: the current one, and the previous
    /// one until its 24 h are over.
    pub fn signing_secrets(&self, now: OffsetDateTime) -> Vec<&WebhookSecret> {
        std::iter::once(&self.secret)
            .chain(
                self.previous
                    .as_ref()
                    .filter(|(_, until)| now < *until)
                    .map(|(secret, _)| secret),
            )
            .collect()
    }
}

/// The endpoints this process has opened, by id. Cheap to share.
#[derive(Default)]
pub struct OpenedEndpoints {
    kept: Mutex<HashMap<EndpointId, Arc<OpenedEndpoint>>>,
}

impl OpenedEndpoints {
    /// `record` opened: as kept when it was opened from this very record, else opened
    /// now (and kept in place of the one opened from an earlier version).
    pub fn open(
        &self,
        master: &MasterKey,
        record: &EndpointRecord,
        now: OffsetDateTime,
    ) -> anyhow::Result<Arc<OpenedEndpoint>> {
        if let Some(opened) = self.lock().get(&record.id) {
            if opened.record == *record {
                return Ok(opened.clone());
            }
        }
        let opened = Arc::new(OpenedEndpoint::open(master, record, now)?);
        let mut kept = self.lock();
        if kept.len() >= MAX_KEPT && !kept.contains_key(&record.id) {
            kept.clear();
        }
        kept.insert(record.id.clone(), opened.clone());
        Ok(opened)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<EndpointId, Arc<OpenedEndpoint>>> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::endpoint::{Encryption, Format};
    use crate::domain::ids::PractitionerId;
    use rand::SeedableRng;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

    fn sealed_secret(master: &MasterKey, id: &EndpointId, secret: &WebhookSecret) -> Vec<u8> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        message::seal_endpoint_secret(master, id, secret, &mut rng)
    }

    fn endpoint(master: &MasterKey, seed: u64) -> (EndpointRecord, WebhookSecret) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let id = EndpointId::generate(&mut rng);
        let secret = WebhookSecret::generate(&mut rng);
        let key = ContentKey::generate(&mut rng);
        let record = EndpointRecord {
            practitioner_id: PractitionerId::generate(&mut rng),
            url: "https://crm.example.com/hook".into(),
            format: Format::GaprelayV1,
            encryption: Encryption::Jwe,
            description: None,
            enabled: true,
            created_at: NOW,
            sealed_secret: sealed_secret(master, &id, &secret),
            sealed_key: message::seal_content_key(master, &id, &key, &mut rng)
                .unwrap_or_else(|e| panic!("{e}")),
            previous_sealed_secret: None,
            previous_secret_until: None,
            version: 1,
            receiver_keys: Vec::new(),
            id,
        };
        (record, secret)
    }

    #[test]
    fn an_unchanged_record_is_opened_once_and_a_changed_one_again() {
        let master = MasterKey::generate(&mut rand::rngs::StdRng::seed_from_u64(1));
        let (record, secret) = endpoint(&master, 2);
        let kept = OpenedEndpoints::default();
        let first = kept
            .open(&master, &record, NOW)
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(first.secret.to_whsec(), secret.to_whsec());
        assert_eq!(first.url.as_str(), "https://crm.example.com/hook");
        let again = kept
            .open(&master, &record, NOW)
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert!(Arc::ptr_eq(&first, &again), "opened once");

        // A rotation: the new secret signs, the previous one alongside for its 24 h.
        let rotated_to = WebhookSecret::generate(&mut rand::rngs::StdRng::seed_from_u64(4));
        let mut rotated = record.clone();
        rotated.previous_sealed_secret = Some(record.sealed_secret.clone());
        rotated.previous_secret_until = Some(NOW + time::Duration::hours(24));
        rotated.sealed_secret = sealed_secret(&master, &record.id, &rotated_to);
        rotated.version = 2;
        let opened = kept
            .open(&master, &rotated, NOW)
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert!(!Arc::ptr_eq(&first, &opened));
        let signing = |at| {
            opened
                .signing_secrets(at)
                .into_iter()
                .map(WebhookSecret::to_whsec)
                .collect::<Vec<_>>()
        };
        assert_eq!(signing(NOW), [rotated_to.to_whsec(), secret.to_whsec()]);
        // Kept past the 24 h, the previous secret no longer signs.
        assert_eq!(
            signing(NOW + time::Duration::hours(25)),
            [rotated_to.to_whsec()]
        );

        // A new URL, however small the change, is parsed again.
        let mut moved = rotated.clone();
        moved.url = "https://crm.example.com/hook2".into();
        let opened = kept
            .open(&master, &moved, NOW)
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(opened.url.as_str(), "https://crm.example.com/hook2");
    }

    #[test]
    fn a_record_that_does_not_open_is_an_error_and_is_not_kept() {
        let master = MasterKey::generate(&mut rand::rngs::StdRng::seed_from_u64(1));
        let other = MasterKey::generate(&mut rand::rngs::StdRng::seed_from_u64(9));
        let (record, _) = endpoint(&master, 2);
        let kept = OpenedEndpoints::default();
        assert!(kept.open(&other, &record, NOW).is_err());
        assert!(kept.lock().is_empty());
        let mut bad_url = record.clone();
        bad_url.url = "not a url".into();
        assert!(kept.open(&master, &bad_url, NOW).is_err());
        assert!(kept.open(&master, &record, NOW).is_ok());
    }

    #[test]
    fn the_table_is_bounded() {
        let master = MasterKey::generate(&mut rand::rngs::StdRng::seed_from_u64(1));
        let (record, _) = endpoint(&master, 2);
        let kept = OpenedEndpoints::default();
        let opened = kept
            .open(&master, &record, NOW)
            .unwrap_or_else(|e| panic!("{e:#}"));
        // Filled to its bound with copies under other ids (their secrets are bound to
        // the first id, but only the table's size matters here).
        {
            let mut map = kept.lock();
            for i in 1..MAX_KEPT {
                let mut rng = rand::rngs::StdRng::seed_from_u64(100 + i as u64);
                map.insert(EndpointId::generate(&mut rng), opened.clone());
            }
            assert_eq!(map.len(), MAX_KEPT);
        }
        let (another, _) = endpoint(&master, 3);
        kept.open(&master, &another, NOW)
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(kept.lock().len(), 1);
    }
}
