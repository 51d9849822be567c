//! Payloads, pure: the event queued for each endpoint (rendered at intake, sealed until
//! delivery) and the signed, optionally encrypted request built from it per attempt.

use crate::crypto::jwe::{self, ContentKey};
use crate::crypto::webhook::{self, WebhookSecret};
use crate::domain::catalog::Sex;
use crate::domain::endpoint::Encryption;
use crate::domain::ids::{EndpointId, MessageId, PractitionerId, SubmissionId};
use crate::domain::lead_source::LeadSource;
use crate::domain::practitioner::{consent_text_sha256, Practitioner, Slug};
use crate::domain::problems::Redacted;
use crate::domain::report::Report;
use crate::domain::submission::{Engagement, Submission};
use serde::Serialize;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::message::{Event, EventKind};

/// Formats a time as RFC 3339 in UTC with second precision.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// RFC 3339 in UTC with milliseconds, `2026-01-02T03:04:05.678Z`: when a submission
/// was made (two in the same second stay in order).
pub fn rfc3339_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&format).unwrap_or_default()
}

/// Renders the `gaprelay.v1` event of a submission, written straight from the
/// submission and its report (no intermediate JSON tree). The members come in
/// alphabetical order at every level this function writes, as they always have.
pub fn intake_event(
    submission_id: &SubmissionId,
    submitted_at: OffsetDateTime,
    practitioner: &Practitioner,
    submission: &Submission,
    report: &Report,
) -> Result<Event, serde_json::Error> {
    #[derive(Serialize)]
    struct Data<'a> {
        consent: Consent,
        engagement: &'a Engagement,
        patient: Patient<'a>,
        practitioner: PractitionerRef<'a>,
        report: &'a Report,
        // Where the form was filled in, only when the form said (never logged: it is
        // only ever rendered into this payload, which is sealed or encrypted).
        #[serde(skip_serializing_if = "Option::is_none")]
        source: Option<&'a LeadSource>,
        submission_id: &'a SubmissionId,
        submitted_at: String,
    }
    #[derive(Serialize)]
    struct Consent {
        at: Option<String>,
        given: bool,
        // The hash of the exact wording agreed to, as listed by
        // `GET /v1/practitioner/consent-versions`.
        text_sha256: Option<String>,
        version: Option<u32>,
    }
    #[derive(Serialize)]
    struct Patient<'a> {
        age: Option<u8>,
        email: Option<&'a Redacted<String>>,
        name: Option<&'a Redacted<String>>,
        phone: Option<&'a Redacted<String>>,
        sex: Option<Sex>,
    }
    #[derive(Serialize)]
    struct PractitionerRef<'a> {
        id: &'a PractitionerId,
        slug: &'a Slug,
    }
    let at = rfc3339(submitted_at);
    let c = &submission.contact;
    let consent = submission.consent;
    let data = Data {
        consent: Consent {
            at: consent.then(|| at.clone()),
            given: consent,
            text_sha256: consent.then(|| consent_text_sha256(&practitioner.settings.consent_text)),
            version: consent.then_some(practitioner.settings.consent_version),
        },
        engagement: &submission.engagement,
        patient: Patient {
            age: submission.age,
            email: c.email.as_ref(),
            name: c.name.as_ref(),
            phone: c.phone.as_ref(),
            sex: submission.sex,
        },
        practitioner: PractitionerRef {
            id: &practitioner.id,
            slug: &practitioner.slug,
        },
        report,
        source: submission.source.as_ref(),
        submission_id,
        submitted_at: rfc3339_millis(submitted_at),
    };
    Ok(Event::rendered(EventKind::IntakeSubmitted, at, &data)?.of_submission(submission_id))
}

/// Renders the `endpoint.test` event: a fixed sample, no patient data.
pub fn test_event(practitioner: &PractitionerId, at: OffsetDateTime) -> Event {
    Event::new(
        EventKind::EndpointTest,
        rfc3339(at),
        &json!({"practitioner": {"id": practitioner}, "message": "This is a test event from gaprelay."}),
    )
}

/// Renders the `endpoint.delivery_expired` event: ids only, no patient data.
pub fn delivery_expired_event(
    message: &MessageId,
    endpoint: &EndpointId,
    submission: Option<&SubmissionId>,
    at: OffsetDateTime,
) -> Event {
    let at = rfc3339(at);
    Event::new(
        EventKind::DeliveryExpired,
        at.clone(),
        &json!({"message_id": message, "endpoint_id": endpoint, "submission_id": submission, "expired_at": at}),
    )
}

/// Renders the `endpoint.failing` event for a practice's other endpoints: ids and counts
/// only (not the practice's name or address, and no patient data).
pub fn endpoint_failing_event(alert: &crate::notify::FailingAlert) -> Event {
    use crate::notify::{LastError, Trigger};
    let at = rfc3339(alert.at);
    let (last_http_status, last_error) = match alert.last_error {
        Some(LastError::Status(status)) => (Some(status), None),
        Some(LastError::Class(class)) => (None, Some(class)),
        None => (None, None),
    };
    let (message_id, expires_at) = match &alert.trigger {
        Trigger::Expired { message_id } => (Some(message_id), None),
        Trigger::Expiring { expires_at } => (None, Some(rfc3339(*expires_at))),
        Trigger::KeepsFailing => (None, None),
    };
    Event::new(
        EventKind::EndpointFailing,
        at.clone(),
        &json!({
            "endpoint_id": alert.endpoint_id,
            "reason": alert.trigger.as_str(),
            "consecutive_failures": alert.consecutive_failures,
            "pending_messages": alert.pending,
            "pending_capped": alert.pending_capped,
            "last_http_status": last_http_status,
            "last_error": last_error,
            "message_id": message_id,
            "expires_at": expires_at,
            "detected_at": at,
        }),
    )
}

/// A webhook request ready to send.
#[derive(Clone)]
pub struct SignedRequest {
    /// Headers (`content-type` and the Standard Webhooks headers).
    pub headers: Vec<(&'static str, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// Builds the request for one attempt: `data` encrypted as a flattened JWE when the
/// endpoint asks for `jwe`, sent as it is for `jwe-receiver` (already encrypted to the
/// receiver's keys, see [`Event::to_receiver`]; an event that is not is refused rather
/// than sent in the clear), the body signed with every active secret at `now`.
pub fn sign_request(
    event: &Event,
    message: &MessageId,
    encryption: Encryption,
    key: &ContentKey,
    secrets: &[&WebhookSecret],
    now: OffsetDateTime,
    rng: &mut (impl rand::RngCore + rand::CryptoRng),
) -> Result<SignedRequest, serde_json::Error> {
    // Only the envelope's three members: the event's other fields are the relay's own.
    // `data` is written as the text it was rendered to (or its JWE), never re-parsed.
    #[derive(Serialize)]
    struct Envelope<'a, D> {
        #[serde(rename = "type")]
        kind: EventKind,
        timestamp: &'a str,
        data: D,
    }
    let envelope = |data| {
        serde_json::to_vec(&Envelope {
            kind: event.kind,
            timestamp: &event.timestamp,
            data,
        })
    };
    let body = match encryption {
        Encryption::None => envelope(&*event.data)?,
        Encryption::JweReceiver if event.receiver_sealed => envelope(&*event.data)?,
        Encryption::JweReceiver => {
            return Err(<serde_json::Error as serde::ser::Error>::custom(
                "data is not encrypted to the receiver's keys",
            ))
        }
        Encryption::Jwe => {
            let jwe = jwe::encrypt(key, event.data.get().as_bytes(), rng);
            serde_json::to_vec(&Envelope {
                kind: event.kind,
                timestamp: &event.timestamp,
                data: &jwe,
            })?
        }
    };
    let ts = now.unix_timestamp();
    let signature = webhook::signature_header(secrets, message.as_str(), ts, &body);
    Ok(SignedRequest {
        headers: vec![
            ("content-type", "application/json".to_owned()),
            ("webhook-id", message.to_string()),
            ("webhook-timestamp", ts.to_string()),
            ("webhook-signature", signature),
        ],
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use time::macros::datetime;

    #[test]
    fn submission_times_carry_milliseconds_and_event_times_whole_seconds() {
        let at = datetime!(2026-01-02 03:04:05.678_9 +01:00);
        assert_eq!(rfc3339_millis(at), "2026-01-02T02:04:05.678Z");
        assert_eq!(
            rfc3339_millis(datetime!(2026-01-02 03:04:05 UTC)),
            "2026-01-02T03:04:05.000Z"
        );
        assert_eq!(rfc3339(at), "2026-01-02T02:04:05Z");
    }

    #[test]
    fn a_jwe_request_verifies_and_decrypts_to_the_event_data() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let key = ContentKey::generate(&mut rng);
        let secret = WebhookSecret::generate(&mut rng);
        let msg = MessageId::generate(&mut rng);
        let event = Event::new(
            EventKind::IntakeSubmitted,
            "2026-01-01T00:00:00Z".into(),
            &json!({"hello": "world"}),
        );
        let now = datetime!(2026-01-01 00:00:05 UTC);
        let req = sign_request(
            &event,
            &msg,
            Encryption::Jwe,
            &key,
            &[&secret],
            now,
            &mut rng,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let header = |n: &str| {
            req.headers
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        assert_eq!(header("webhook-id"), msg.to_string());
        assert!(webhook::verify(
            &secret,
            msg.as_str(),
            now.unix_timestamp(),
            &req.body,
            &header("webhook-signature")
        ));
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
        assert_eq!(body["type"], "intake.submitted");
        let jwe: jwe::FlattenedJwe =
            serde_json::from_value(body["data"].clone()).unwrap_or_else(|e| panic!("{e}"));
        let plain = jwe::decrypt(&key, &jwe).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&plain).unwrap_or_default(),
            json!({"hello": "world"})
        );
        assert!(!String::from_utf8_lossy(&req.body).contains("world"));
    }

    #[test]
    fn a_jwe_receiver_request_sends_data_as_encrypted_at_intake_and_never_in_the_clear() {
        use crate::crypto::jwe_receiver::ReceiverKey;
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let key = ContentKey::generate(&mut rng);
        let secret = WebhookSecret::generate(&mut rng);
        let msg = MessageId::generate(&mut rng);
        let receiver = gaprelay_receiver::DecryptionKey::generate_p256("r1", &mut rng);
        let receiver = ReceiverKey::from_jwk(&receiver.public_jwk().unwrap_or_default())
            .unwrap_or_else(|_| panic!("a valid public key"));
        let event = Event::new(
            EventKind::IntakeSubmitted,
            "2026-01-01T00:00:00Z".into(),
            &json!({"hello": "world"}),
        );
        let now = datetime!(2026-01-01 00:00:05 UTC);
        let sign = |event: &Event, rng: &mut rand::rngs::StdRng| {
            sign_request(
                event,
                &msg,
                Encryption::JweReceiver,
                &key,
                &[&secret],
                now,
                rng,
            )
        };
        assert!(
            sign(&event, &mut rng).is_err(),
            "an event not encrypted to the receiver is refused"
        );
        let sealed = event
            .to_receiver(&[receiver], &mut rng)
            .unwrap_or_else(|e| panic!("{e}"));
        let req = sign(&sealed, &mut rng).unwrap_or_else(|e| panic!("{e}"));
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
        assert_eq!(
            body["data"],
            serde_json::from_str::<serde_json::Value>(sealed.data.get()).unwrap_or_default(),
            "sent as it is, not encrypted again"
        );
        assert_eq!(body.as_object().map(|o| o.len()), Some(3));
        assert!(!String::from_utf8_lossy(&req.body).contains("world"));
    }

    fn lee_clinic() -> Practitioner {
        use crate::domain::ids::PractitionerId;
        use crate::domain::practitioner::NewPractitioner;
        Practitioner::create(
            NewPractitioner {
                practice_name: "Lee Clinic".into(),
                doctor_name: "Dr Lee".into(),
                email: "lee@example.com".into(),
                website_url: "https://lee.example.com".into(),
                slug: None,
                phone_region: None,
            },
            PractitionerId::generate(&mut rand::rngs::StdRng::seed_from_u64(7)),
            OffsetDateTime::UNIX_EPOCH,
        )
        .unwrap_or_else(|e| panic!("{e:?}"))
    }

    /// `draft` as `p`'s form takes it (consent not required), and its report.
    fn submitted(p: &Practitioner, draft: serde_json::Value) -> (Submission, Report) {
        let req = crate::domain::submission::IntakeDraft::from_json(draft)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let mut form = p.settings.clone();
        form.consent_required = false;
        let s = Submission::parse(req, &form, &[]).unwrap_or_else(|e| panic!("{e:?}"));
        let report = crate::domain::report::build(&s, &[]);
        (s, report)
    }

    #[test]
    fn the_consent_block_names_the_version_and_the_hash_of_the_text_agreed_to() {
        let mut p = lee_clinic();
        p.settings.consent_text = "I agree to share my results with Dr Lee.".into();
        p.settings.consent_version = 3;
        let event = |consent: bool| {
            let (s, report) = submitted(
                &p,
                json!({
                    "contact": {"name": "A", "email": "a@b.co"}, "symptoms": ["fatigue"],
                    "consent": consent
                }),
            );
            let sub = SubmissionId::generate(&mut rand::rngs::StdRng::seed_from_u64(8));
            let event = intake_event(&sub, OffsetDateTime::UNIX_EPOCH, &p, &s, &report)
                .unwrap_or_else(|e| panic!("{e}"));
            serde_json::from_str::<serde_json::Value>(event.data.get()).unwrap_or_default()
        };
        // `printf '%s' "I agree to share my results with Dr Lee." | sha256sum`
        assert_eq!(
            event(true)["consent"],
            json!({"given": true, "at": "1970-01-01T00:00:00Z", "version": 3,
                   "text_sha256": "c9c68f67ae73e79743779bd1f84a491eedb486e225b57a0de19289c8c0044888"})
        );
        assert_eq!(
            event(false)["consent"],
            json!({"given": false, "at": null, "version": null, "text_sha256": null})
        );
    }

    #[test]
    fn the_intake_event_has_exactly_the_members_its_tree_rendering_had() {
        let p = lee_clinic();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let at = datetime!(2026-03-04 05:06:07.890 UTC);
        let sub = SubmissionId::generate(&mut rng);
        for (consent, source, phone) in [(true, true, true), (false, false, false)] {
            let mut draft = json!({
                "contact": {"name": "Ada \"A\" Lovelace", "email": "ada@example.com"},
                "sex": "female", "age": 36,
                "labs": [{"marker": "tsh", "value": "2,5", "unit": "mIU/L"}],
                "symptoms": ["fatigue"],
                "consent": consent,
                "engagement": {"time_on_tool_s": 95}
            });
            if source {
                draft["source"] = json!({"page_url": "https://lee.example.com/intake?x=1",
                                         "utm": {"source": "news", "campaign": "spring"}});
            }
            if phone {
                draft["contact"]["phone"] = json!("+14155550100");
            }
            let (s, report) = submitted(&p, draft);
            let event = intake_event(&sub, at, &p, &s, &report).unwrap_or_else(|e| panic!("{e}"));
            // What the event was rendered as before, through a `serde_json::Value`.
            let c = &s.contact;
            let stamp = rfc3339(at);
            let mut tree = json!({
                "submission_id": sub,
                "submitted_at": rfc3339_millis(at),
                "practitioner": {"id": p.id, "slug": p.slug},
                "patient": {"name": c.name, "email": c.email, "phone": c.phone,
                            "sex": s.sex, "age": s.age},
                "consent": {
                    "given": s.consent,
                    "at": s.consent.then(|| stamp.clone()),
                    "version": s.consent.then_some(p.settings.consent_version),
                    "text_sha256": s.consent.then(|| consent_text_sha256(&p.settings.consent_text)),
                },
                "report": report,
                "engagement": s.engagement,
            });
            if let Some(source) = &s.source {
                tree["source"] = json!(source);
            }
            let rendered: serde_json::Value =
                serde_json::from_str(event.data.get()).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(rendered, tree, "consent {consent}, source {source}");
            assert_eq!(rendered.get("source").is_some(), source);
            assert_eq!(event.timestamp, stamp);
            assert_eq!(event.submission.as_ref(), Some(&sub));
            // The members this function writes come in alphabetical order, as a tree
            // wrote them.
            let text = event.data.get();
            let order = [
                "\"consent\"",
                "\"engagement\"",
                "\"patient\"",
                "\"practitioner\"",
                "\"report\"",
            ];
            let places: Vec<usize> = order.iter().filter_map(|k| text.find(k)).collect();
            assert!(places.windows(2).all(|w| w[0] < w[1]), "{places:?}");
        }
    }

    #[test]
    fn timestamps_are_rfc3339_utc_seconds() {
        assert_eq!(
            rfc3339(datetime!(2026-11-23 03:49:00.123 UTC)),
            "2026-11-23T03:49:00Z"
        );
    }
}
