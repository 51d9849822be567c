//! Verifies, decrypts and parses one delivery, as a receiver's HTTP handler would.
//!
//! The body comes from the file named by the first argument, or stdin; the headers,
//! secret and key from the environment:
//!
//! ```sh
//! GAPRELAY_WEBHOOK_SECRET=whsec_…               # the endpoint's secret(s), space-separated
//! GAPRELAY_DECRYPTION_JWK='{"kty":"oct",…}'      # optional: the shared key or your private JWK
//! WEBHOOK_ID=msg_… WEBHOOK_TIMESTAMP=… WEBHOOK_SIGNATURE='v1,…' \
//!   cargo run -p gaprelay-receiver --example receive -- body.json
//! ```
//!
//! It prints the event type and the message id (never the patient data) and exits 0,
//! or prints why the delivery was refused and exits 1.

use std::io::{Read as _, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use gaprelay_receiver::{DecryptionKey, Event, Headers, IntakeSubmitted, Receiver, Secret};

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

fn run() -> Result<String, String> {
    let mut body = Vec::new();
    match std::env::args_os().nth(1) {
        Some(path) => body = std::fs::read(&path).map_err(|e| format!("read the body: {e}"))?,
        None => {
            std::io::stdin()
                .read_to_end(&mut body)
                .map_err(|e| format!("read stdin: {e}"))?;
        }
    }
    let secrets = env("GAPRELAY_WEBHOOK_SECRET")?
        .split_whitespace()
        .map(Secret::from_whsec)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let keys = match std::env::var("GAPRELAY_DECRYPTION_JWK") {
        Ok(jwk) => {
            let jwk = serde_json::from_str(&jwk).map_err(|_| "the JWK is not JSON")?;
            vec![DecryptionKey::from_jwk(&jwk).map_err(|e| e.to_string())?]
        }
        Err(_) => Vec::new(),
    };
    let (id, timestamp, signature) = (
        env("WEBHOOK_ID")?,
        env("WEBHOOK_TIMESTAMP")?,
        env("WEBHOOK_SIGNATURE")?,
    );
    let headers = Headers {
        id: &id,
        timestamp: &timestamp,
        signature: &signature,
    };
    // The library reads no clock: the caller passes `now`.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| "the clock is before 1970")?
        .as_secs();
    let now = i64::try_from(now).map_err(|_| "the clock is too far ahead")?;
    let webhook = Receiver::new(secrets, keys)
        .receive(&headers, &body, now)
        .map_err(|e| format!("refused: {e}"))?;
    let what = match &webhook.event {
        Event::IntakeSubmitted(IntakeSubmitted::GaprelayV1(intake)) => {
            format!(
                "intake.submitted {} ({} labs)",
                intake.submission_id,
                intake.report.labs.len()
            )
        }
        Event::IntakeSubmitted(_) => "intake.submitted (FHIR R4 Bundle)".to_owned(),
        Event::EndpointTest(_) => "endpoint.test".to_owned(),
        Event::DeliveryExpired(e) => format!("endpoint.delivery_expired {}", e.message_id),
        Event::EndpointFailing(e) => format!("endpoint.failing {} ({:?})", e.endpoint_id, e.reason),
        Event::Unknown { kind, .. } => format!("{kind} (not known to this version; ignored)"),
        _ => "an event this example does not know".to_owned(),
    };
    Ok(format!("{} {what}", webhook.id))
}

fn main() {
    match run() {
        Ok(line) => {
            let _ = writeln!(std::io::stdout(), "{line}");
        }
        Err(why) => {
            let _ = writeln!(std::io::stderr(), "{why}");
            std::process::exit(1);
        }
    }
}
