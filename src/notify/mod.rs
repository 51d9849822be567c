//! Telling a practice that one of its endpoints keeps failing, or that submissions wait
//! for want of an enabled endpoint: the alerts (ids and counts only, never patient
//! data), their rendering as emails (pure), and the [`Notifier`] interface that sends
//! them. [`smtp`] is the only code that speaks to a mail server;
//! [`Disabled`] stands in when none is configured.
//!
//! Deciding *when* to alert, and at most once per endpoint per hour, is the delivery
//! side's business (`delivery::alerts`); this module only knows what an alert says.

pub mod smtp;

use crate::domain::ids::{EndpointId, MessageId, PractitionerId};
use std::fmt::Write as _;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Why a practice is told about an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// Attempts to the endpoint keep failing.
    KeepsFailing,
    /// An attempt failed with little time left before its message expires.
    Expiring {
        /// When the message expires and is deleted, delivered or not.
        expires_at: OffsetDateTime,
    },
    /// A message for the endpoint expired undelivered and was deleted.
    Expired {
        /// The message (its `webhook-id`).
        message_id: MessageId,
    },
}

impl Trigger {
    /// The trigger's name in the `endpoint.failing` event.
    pub fn as_str(&self) -> &'static str {
        match self {
            Trigger::KeepsFailing => "keeps_failing",
            Trigger::Expiring { .. } => "expiring",
            Trigger::Expired { .. } => "expired",
        }
    }
}

/// The last thing an attempt to the endpoint got back, as the delivery log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastError {
    /// The receiver answered with this HTTP status.
    Status(u16),
    /// No usable answer: `timeout`, `connect`, `forbidden_target`.
    Class(&'static str),
}

impl std::fmt::Display for LastError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LastError::Status(status) => write!(f, "HTTP {status}"),
            LastError::Class(class) => f.write_str(class),
        }
    }
}

/// An alert about one failing endpoint: who to tell and what to say. Holds ids, counts,
/// the practice's own name and address and the endpoint's host; never patient data,
/// never a URL's path or query (which could carry a receiver's token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingAlert {
    /// The practice's contact email.
    pub to: String,
    /// The practice's name.
    pub practice_name: String,
    /// The practice.
    pub practitioner_id: PractitionerId,
    /// The failing endpoint.
    pub endpoint_id: EndpointId,
    /// The host of the endpoint's URL (no scheme, path or query).
    pub endpoint_host: String,
    /// Why the practice is told.
    pub trigger: Trigger,
    /// Failed attempts in a row that this relay has seen (at least this many).
    pub consecutive_failures: u32,
    /// Messages waiting for the endpoint, as far as the delivery log was read.
    pub pending: usize,
    /// Whether there may be more waiting than `pending` says (the log was read only so far).
    pub pending_capped: bool,
    /// What the last attempt got back, when known.
    pub last_error: Option<LastError>,
    /// When the alert was raised.
    pub at: OffsetDateTime,
}

/// Why a practice with no enabled endpoint is told about its held submissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeldTrigger {
    /// A submission is held, waiting for an endpoint; it is deleted at `expires_at`.
    Waiting {
        /// When the submission expires and is deleted unless an endpoint comes first.
        expires_at: OffsetDateTime,
    },
    /// A held submission expired before any endpoint was enabled, and was deleted.
    Expired {
        /// The message that held it.
        message_id: MessageId,
    },
}

impl HeldTrigger {
    /// The trigger's name, for logs.
    pub fn as_str(&self) -> &'static str {
        match self {
            HeldTrigger::Waiting { .. } => "held_waiting",
            HeldTrigger::Expired { .. } => "held_expired",
        }
    }
}

/// An alert to a practice that has submissions but no enabled endpoint to deliver them
/// to. Ids and the practice's own name and address; never patient data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldAlert {
    /// The practice's contact email.
    pub to: String,
    /// The practice's name.
    pub practice_name: String,
    /// The practice.
    pub practitioner_id: PractitionerId,
    /// Why the practice is told.
    pub trigger: HeldTrigger,
    /// When the alert was raised.
    pub at: OffsetDateTime,
}

/// An email ready to send: plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
}

/// Longest practice name put in a subject line, in characters.
const SUBJECT_NAME_CHARS: usize = 60;

/// Renders an alert as an email. Pure; every value in it comes from the alert, which
/// holds no patient data.
pub fn render(alert: &FailingAlert) -> RenderedEmail {
    let name = printable(&alert.practice_name);
    let short_name: String = name.chars().take(SUBJECT_NAME_CHARS).collect();
    let ep = &alert.endpoint_id;
    let subject = match &alert.trigger {
        Trigger::Expired { .. } => {
            format!("[gaprelay] {short_name}: a message expired undelivered at endpoint {ep}")
        }
        Trigger::KeepsFailing | Trigger::Expiring { .. } => {
            format!("[gaprelay] {short_name}: deliveries to endpoint {ep} are failing")
        }
    };
    let mut body = String::new();
    let _ = writeln!(body, "Hello {name},");
    let _ = writeln!(body);
    let _ = writeln!(
        body,
        "gaprelay cannot deliver to your webhook endpoint {ep} (host {}).",
        alert.endpoint_host
    );
    let _ = writeln!(body);
    let why = match &alert.trigger {
        Trigger::KeepsFailing => "attempts to deliver to it keep failing.".to_owned(),
        Trigger::Expiring { expires_at } => format!(
            "a message for it is still undelivered and expires at {} (UTC); it is then deleted, delivered or not.",
            rfc3339(*expires_at)
        ),
        Trigger::Expired { message_id } => format!(
            "message {message_id} expired before it could be delivered and has been deleted."
        ),
    };
    let _ = writeln!(body, "Why you are told: {why}");
    let _ = writeln!(
        body,
        "Failed attempts in a row: {}",
        alert.consecutive_failures
    );
    let _ = writeln!(
        body,
        "Messages waiting for this endpoint: {}{}",
        alert.pending,
        if alert.pending_capped { " or more" } else { "" }
    );
    if let Some(last) = alert.last_error {
        let _ = writeln!(body, "Last result: {last}");
    }
    let _ = writeln!(body, "Detected at: {} (UTC)", rfc3339(alert.at));
    let _ = writeln!(body);
    let _ = writeln!(
        body,
        "Messages are kept for at most 24 hours after submission and are then deleted, delivered or not. \
         Check that the receiver is up, that its URL is right and that it accepts the signature, \
         then ask for every waiting message to be attempted at once:"
    );
    let _ = writeln!(body);
    let _ = writeln!(body, "    POST /v1/endpoints/{ep}/retry");
    let _ = writeln!(body);
    let _ = writeln!(
        body,
        "GET /v1/deliveries shows each message's status. This email holds ids and counts only, \
         never patient data. You get at most one such email per endpoint per hour."
    );
    RenderedEmail { subject, body }
}

/// Renders a held-submissions alert as an email. Pure, like [`render`].
pub fn render_held(alert: &HeldAlert) -> RenderedEmail {
    let name = printable(&alert.practice_name);
    let short_name: String = name.chars().take(SUBJECT_NAME_CHARS).collect();
    let subject = match &alert.trigger {
        HeldTrigger::Waiting { .. } => {
            format!("[gaprelay] {short_name}: a submission is waiting for a webhook endpoint")
        }
        HeldTrigger::Expired { .. } => {
            format!("[gaprelay] {short_name}: a submission expired with no webhook endpoint")
        }
    };
    let mut body = String::new();
    let _ = writeln!(body, "Hello {name},");
    let _ = writeln!(body);
    let why = match &alert.trigger {
        HeldTrigger::Waiting { expires_at } => format!(
            "a patient submitted your form, and your practice has no enabled webhook endpoint to \
             deliver it to. It is held, encrypted, until {} (UTC), and delivered to the first \
             endpoint you create or enable before then; after that it is deleted, undelivered.",
            rfc3339(*expires_at)
        ),
        HeldTrigger::Expired { message_id } => format!(
            "a submission held for want of an enabled webhook endpoint (message {message_id}) \
             reached its 24 hours and has been deleted, undelivered."
        ),
    };
    let _ = writeln!(body, "Why you are told: {why}");
    let _ = writeln!(body, "Detected at: {} (UTC)", rfc3339(alert.at));
    let _ = writeln!(body);
    let _ = writeln!(
        body,
        "Create an endpoint (POST /v1/endpoints) or enable one (PATCH /v1/endpoints/{{id}} with \
         \"enabled\": true); submissions still held go to it at once."
    );
    let _ = writeln!(body);
    let _ = writeln!(
        body,
        "GET /v1/deliveries lists held submissions as awaiting_endpoint. This email holds ids \
         only, never patient data. You get at most one such email per hour."
    );
    RenderedEmail { subject, body }
}

/// The practice's name without control characters (no header injection, no odd lines).
fn printable(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).collect()
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Sends alerts to practices. Implementations: [`smtp::SmtpNotifier`], [`Disabled`].
#[async_trait::async_trait]
pub trait Notifier: Send + Sync + 'static {
    /// Emails `email` (rendered by [`render`] or [`render_held`]) to the practice's
    /// address `to`. An error means the alert did not go out; the caller logs it (ids
    /// only).
    async fn send(&self, to: &str, email: &RenderedEmail) -> anyhow::Result<()>;
}

/// The notifier when no mail server is configured: alerts go nowhere (the
/// `endpoint.failing` event to the practice's other endpoints still does).
#[derive(Debug, Default, Clone, Copy)]
pub struct Disabled;

#[async_trait::async_trait]
impl Notifier for Disabled {
    async fn send(&self, _to: &str, _email: &RenderedEmail) -> anyhow::Result<()> {
        tracing::debug!(
            "no SMTP server configured (GAPRELAY_SMTP_URL): the practice is not emailed"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(trigger: Trigger) -> FailingAlert {
        FailingAlert {
            to: "practice@example.com".to_owned(),
            practice_name: "Rate Clinic".to_owned(),
            practitioner_id: PractitionerId::parse("prac_0123456789abcdef")
                .unwrap_or_else(|e| panic!("{e}")),
            endpoint_id: EndpointId::parse("ep_0123456789abcdef").unwrap_or_else(|e| panic!("{e}")),
            endpoint_host: "crm.example.com".to_owned(),
            trigger,
            consecutive_failures: 5,
            pending: 3,
            pending_capped: false,
            last_error: Some(LastError::Status(503)),
            at: OffsetDateTime::from_unix_timestamp(1_780_000_000)
                .unwrap_or_else(|e| panic!("{e}")),
        }
    }

    #[test]
    fn the_email_names_the_practice_the_endpoint_its_host_the_counts_and_the_retry_route() {
        let email = render(&alert(Trigger::KeepsFailing));
        assert_eq!(
            email.subject,
            "[gaprelay] Rate Clinic: deliveries to endpoint ep_0123456789abcdef are failing"
        );
        for expected in [
            "Hello Rate Clinic,",
            "endpoint ep_0123456789abcdef (host crm.example.com)",
            "Failed attempts in a row: 5",
            "Messages waiting for this endpoint: 3\n",
            "Last result: HTTP 503",
            "POST /v1/endpoints/ep_0123456789abcdef/retry",
            "never patient data",
        ] {
            assert!(
                email.body.contains(expected),
                "{expected:?} in {}",
                email.body
            );
        }
    }

    #[test]
    fn an_expiring_or_expired_message_is_named_with_its_expiry_or_id() {
        let expires_at =
            OffsetDateTime::from_unix_timestamp(1_780_003_600).unwrap_or_else(|e| panic!("{e}"));
        let email = render(&alert(Trigger::Expiring { expires_at }));
        assert!(
            email.body.contains("expires at 2026-05-28T21:26:40Z"),
            "{}",
            email.body
        );
        let message_id = MessageId::parse("msg_0123456789abcdef").unwrap_or_else(|e| panic!("{e}"));
        let mut expired = alert(Trigger::Expired { message_id });
        expired.pending_capped = true;
        expired.last_error = Some(LastError::Class("timeout"));
        let email = render(&expired);
        assert!(
            email.subject.contains("expired undelivered"),
            "{}",
            email.subject
        );
        assert!(email.body.contains("message msg_0123456789abcdef expired"));
        assert!(email.body.contains("waiting for this endpoint: 3 or more"));
        assert!(email.body.contains("Last result: timeout"));
    }

    #[test]
    fn a_held_submission_email_says_until_when_and_what_to_do_and_names_no_endpoint() {
        let expires_at =
            OffsetDateTime::from_unix_timestamp(1_780_003_600).unwrap_or_else(|e| panic!("{e}"));
        let held = |trigger| HeldAlert {
            to: "practice@example.com".to_owned(),
            practice_name: "Rate\r\nClinic".to_owned(),
            practitioner_id: PractitionerId::parse("prac_0123456789abcdef")
                .unwrap_or_else(|e| panic!("{e}")),
            trigger,
            at: OffsetDateTime::from_unix_timestamp(1_780_000_000)
                .unwrap_or_else(|e| panic!("{e}")),
        };
        let email = render_held(&held(HeldTrigger::Waiting { expires_at }));
        assert_eq!(
            email.subject,
            "[gaprelay] RateClinic: a submission is waiting for a webhook endpoint"
        );
        for expected in [
            "held, encrypted, until 2026-05-28T21:26:40Z",
            "POST /v1/endpoints",
            "awaiting_endpoint",
            "never patient data",
        ] {
            assert!(
                email.body.contains(expected),
                "{expected:?} in {}",
                email.body
            );
        }
        let message_id = MessageId::parse("msg_0123456789abcdef").unwrap_or_else(|e| panic!("{e}"));
        let email = render_held(&held(HeldTrigger::Expired { message_id }));
        assert!(email.subject.contains("expired"), "{}", email.subject);
        assert!(
            email.body.contains("message msg_0123456789abcdef"),
            "{}",
            email.body
        );
    }

    #[test]
    fn a_long_practice_name_is_shortened_in_the_subject_and_control_characters_dropped() {
        let mut a = alert(Trigger::KeepsFailing);
        a.practice_name = format!("Evil\r\nBcc: x@example.com {}", "n".repeat(200));
        let email = render(&a);
        assert!(!email.subject.contains('\n') && !email.subject.contains('\r'));
        assert!(email.subject.chars().count() < 140, "{}", email.subject);
    }
}
