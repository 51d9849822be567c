//! Fuzz target `webhook_payload`: a structured submission (arbitrary contact strings,
//! catalog labs in any of their units, symptoms, times, key material) is validated,
//! reported and rendered as the `intake.submitted` event, then signed as a webhook
//! request with encryption `none` and `jwe`. Checks what a receiver relies on: the body
//! is JSON, every active secret's signature verifies and an outsider's does not, the
//! JWE decrypts to exactly the event's data, and the event survives the queue's JSON
//! round trip unchanged.

#![no_main]

use gaprelay::crypto::jwe::{self, ContentKey, FlattenedJwe};
use gaprelay::crypto::webhook::{self, WebhookSecret};
use gaprelay::delivery::message::{Event, EventKind};
use gaprelay::delivery::payload;
use gaprelay::domain::catalog;
use gaprelay::domain::endpoint::Encryption;
use gaprelay::domain::ids::{MessageId, SubmissionId};
use gaprelay::domain::practitioner::FieldMode;
use gaprelay::domain::problems::Redacted;
use gaprelay::domain::report;
use gaprelay::domain::submission::{
    Contact, ContactDraft, Engagement, IntakeDraft, LabDraft, Submission, MAX_LABS,
    MAX_SYMPTOMS,
};
use gaprelay::domain::symptoms;
use gaprelay_fuzz::new_practice;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use serde_json::Value;
use std::sync::LazyLock;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// 9999-12-31T23:59:59Z, the last second RFC 3339 can write.
const LAST_RFC3339_SECOND: u64 = 253_402_300_799;

#[derive(Arbitrary, Debug)]
struct Lab {
    /// Index into the catalog.
    marker: u8,
    /// Index into the marker's accepted units.
    unit: u8,
    /// The value; used as it is when it is plausible for the marker.
    value: f64,
    /// Otherwise, where in the plausible range the value falls.
    fraction: u32,
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// Contact fields as the renderer receives them. Any string, not only what
    /// validation lets through: the renderer must not rely on it.
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    female: Option<bool>,
    age: Option<u8>,
    labs: Vec<Lab>,
    /// Indexes into the symptom catalog.
    symptoms: Vec<u8>,
    consent: bool,
    consent_version: u32,
    time_on_tool_s: Option<u64>,
    /// Seconds and nanoseconds since 1970 (taken modulo year 9999).
    submitted_at: (u64, u32),
    /// When the attempt is signed, likewise.
    signed_at: (u64, u32),
    /// Whether a rotated-out secret is still signing (the grace period).
    previous_secret: bool,
    /// Seeds the key material and the ids.
    seed: u64,
}

fn time_of((secs, nanos): (u64, u32)) -> OffsetDateTime {
    let secs = i64::try_from(secs % (LAST_RFC3339_SECOND + 1)).unwrap_or(0);
    OffsetDateTime::from_unix_timestamp(secs)
        .and_then(|t| t.replace_nanosecond(nanos % 1_000_000_000))
        .expect("a time within years 1970 to 9999")
}

/// A lab whose value validation accepts: the fuzzed value when it is plausible for the
/// marker in the chosen unit, else a point of the plausible range chosen by `fraction`.
fn lab_request(lab: &Lab) -> LabDraft {
    let markers = catalog::markers();
    let m = &markers[usize::from(lab.marker) % markers.len()];
    let unit = &m.units[usize::from(lab.unit) % m.units.len()];
    let plausible = m.plausible_bounds();
    let fits = |v: f64| {
        let in_range_unit = unit.conversion.to_range_unit(v);
        v.is_finite()
            && in_range_unit.is_finite()
            && plausible.is_none_or(|p| p.contains(in_range_unit))
    };
    let value = if fits(lab.value) {
        lab.value
    } else {
        let (low, high) = m.plausible;
        let t = f64::from(lab.fraction) / f64::from(u32::MAX);
        unit.conversion.from_range_unit(low + (high - low) * t)
    };
    LabDraft {
        marker: Some(m.id.to_owned()),
        value: Some(value.into()),
        unit: Some(unit.display.to_owned()),
    }
}

fn request(input: &Input) -> IntakeDraft {
    let mut labs: Vec<LabDraft> = Vec::new();
    for lab in input.labs.iter().map(lab_request) {
        if labs.len() < MAX_LABS && !labs.iter().any(|l| l.marker == lab.marker) {
            labs.push(lab);
        }
    }
    let catalog = symptoms::symptoms();
    let mut chosen: Vec<String> = Vec::new();
    for i in &input.symptoms {
        let id = catalog[usize::from(*i) % catalog.len()].id.to_owned();
        if chosen.len() < MAX_SYMPTOMS && !chosen.contains(&id) {
            chosen.push(id);
        }
    }
    IntakeDraft {
        contact: ContactDraft::default(),
        sex: input
            .female
            .map(|f| if f { "female" } else { "male" }.to_owned()),
        age: input.age.map(|a| i64::from(a % 131)),
        labs,
        symptoms: chosen,
        consent: Some(input.consent),
        engagement: Some(Engagement {
            time_on_tool_s: input.time_on_tool_s,
        }),
        source: None,
        form_token: None,
        honeypot: None,
        problems: Vec::new(),
    }
}

/// A new practice whose form asks for nothing in particular, so that every generated
/// request is valid; the contact fields are set afterwards.
static PRACTICE: LazyLock<gaprelay_fuzz::Form> = LazyLock::new(|| {
    let mut form = new_practice();
    let settings = &mut form.practitioner.settings;
    settings.contact_fields.name = FieldMode::Optional;
    settings.contact_fields.email = FieldMode::Optional;
    settings.contact_fields.phone = FieldMode::Optional;
    settings.consent_required = false;
    form
});

/// Whether serde_json reads back every float it writes exactly. Without its
/// `float_roundtrip` feature it parses best-effort, and a value that needs 17
/// significant digits can come back one unit in the last place off (this probe does).
/// The check below then tolerates that difference, and only that.
static FLOATS_ROUND_TRIP: LazyLock<bool> = LazyLock::new(|| {
    let probe = "207.82855073029586";
    serde_json::from_str::<f64>(probe).ok() == probe.parse::<f64>().ok()
});

/// Where two JSON values first differ, and how, to make a failed round trip readable.
fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    let close = |x: f64, y: f64| {
        x == y
            || (!*FLOATS_ROUND_TRIP && (x - y).abs() <= 2.0 * f64::EPSILON * x.abs().max(y.abs()))
    };
    let same = match (a, b) {
        (Value::Object(x), Value::Object(y)) if x.len() == y.len() => {
            return x.iter().find_map(|(k, v)| match y.get(k) {
                Some(w) => first_difference(v, w, &format!("{path}.{k}")),
                None => Some(format!("{path}.{k} is gone")),
            });
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            return x
                .iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (v, w))| first_difference(v, w, &format!("{path}[{i}]")));
        }
        (Value::Number(x), Value::Number(y)) if x.is_f64() && y.is_f64() => {
            matches!((x.as_f64(), y.as_f64()), (Some(x), Some(y)) if close(x, y))
        }
        _ => a == b,
    };
    (!same).then(|| format!("{path}: {a} became {b}"))
}

fn header<'a>(headers: &'a [(&'static str, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} header"))
}

fuzz_target!(|input: Input| check(&input));

fn check(input: &Input) {
    let form = &*PRACTICE;
    let Ok(mut submission) = Submission::parse(request(input), &form.practitioner.settings, &[])
    else {
        // Only at the edge of a plausible range, where a unit conversion rounds out.
        return;
    };
    submission.contact = Contact {
        name: input.name.clone().map(Redacted::new),
        email: input.email.clone().map(Redacted::new),
        phone: input.phone.clone().map(Redacted::new),
    };
    let report = report::build(&submission, &form.ranges);
    let mut practitioner = form.practitioner.clone();
    practitioner.settings.consent_version = input.consent_version;

    let mut rng = rand::rngs::StdRng::seed_from_u64(input.seed);
    let submission_id = SubmissionId::generate(&mut rng);
    let message = MessageId::generate(&mut rng);
    let key = ContentKey::generate(&mut rng);
    let current = WebhookSecret::generate(&mut rng);
    let previous = WebhookSecret::generate(&mut rng);
    let outsider = WebhookSecret::generate(&mut rng);
    let secrets: Vec<&WebhookSecret> = if input.previous_secret {
        vec![&current, &previous]
    } else {
        vec![&current]
    };

    let submitted_at = time_of(input.submitted_at);
    let event = payload::intake_event(
        &submission_id,
        submitted_at,
        &practitioner,
        &submission,
        &report,
    );
    assert_eq!(event.kind, EventKind::IntakeSubmitted);
    let stamped = OffsetDateTime::parse(&event.timestamp, &Rfc3339).expect("an RFC 3339 timestamp");
    assert_eq!(stamped, submitted_at.replace_nanosecond(0).expect("0 ns"));
    assert_eq!(
        event.data["patient"]["name"],
        input.name.clone().map_or(Value::Null, Value::String),
        "the name is rendered as given"
    );

    // The worker reads the sealed event back with serde_json: it must come back equal,
    // up to the last bit of a float when serde_json parses floats best-effort (see
    // `FLOATS_ROUND_TRIP`).
    let queued = serde_json::to_vec(&event).expect("the event serialises");
    let dequeued: Event = serde_json::from_slice(&queued).expect("the queued event parses");
    assert_eq!(
        (&dequeued.kind, &dequeued.timestamp),
        (&event.kind, &event.timestamp)
    );
    if let Some(diff) = first_difference(&event.data, &dequeued.data, "data") {
        panic!("the event changed in the queue's JSON round trip: {diff}");
    }

    let signed_at = time_of(input.signed_at);
    let ts = signed_at.unix_timestamp();
    for encryption in [Encryption::None, Encryption::Jwe] {
        let req = payload::sign_request(
            &event, &message, encryption, &key, &secrets, signed_at, &mut rng,
        )
        .expect("the request is built");
        assert_eq!(header(&req.headers, "content-type"), "application/json");
        assert_eq!(header(&req.headers, "webhook-id"), message.as_str());
        assert_eq!(header(&req.headers, "webhook-timestamp"), ts.to_string());
        let signature = header(&req.headers, "webhook-signature");
        for secret in &secrets {
            assert!(
                webhook::verify(secret, message.as_str(), ts, &req.body, signature),
                "an active secret's signature does not verify"
            );
        }
        assert!(!webhook::verify(
            &outsider,
            message.as_str(),
            ts,
            &req.body,
            signature
        ));
        let mut tampered = req.body.clone();
        tampered.push(b' ');
        assert!(!webhook::verify(
            &current,
            message.as_str(),
            ts,
            &tampered,
            signature
        ));

        let body: Value = serde_json::from_slice(&req.body).expect("the body is JSON");
        let object = body.as_object().expect("the body is a JSON object");
        assert_eq!(object.len(), 3, "type, timestamp and data only");
        assert_eq!(body["type"], event.kind.as_str());
        assert_eq!(body["timestamp"], event.timestamp.as_str());
        match encryption {
            Encryption::None => {
                assert_eq!(req.body, queued, "the body is the event as queued");
            }
            Encryption::Jwe => {
                let sealed: FlattenedJwe =
                    serde_json::from_value(body["data"].clone()).expect("data is a flattened JWE");
                assert_eq!(
                    body["data"].as_object().map(|o| o.len()),
                    Some(4),
                    "protected, iv, ciphertext and tag only: nothing in clear"
                );
                let plain = jwe::decrypt(&key, &sealed).expect("the JWE decrypts");
                let data = serde_json::to_vec(&event.data).expect("data serialises");
                assert_eq!(plain, data, "the JWE holds exactly the event's data");
            }
            // Not among the encryptions tried above: its `data` is encrypted at intake.
            Encryption::JweReceiver => unreachable!("jwe-receiver is not fuzzed here"),
        }
    }
}
