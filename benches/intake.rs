//! CPU cost of the intake hot path and of one delivery attempt's crypto: parse and
//! validate a submission, build its gap report, seal the event for the queue, and (per
//! attempt) open it, encrypt it as a JWE and sign it. Results: docs/performance.md.

use criterion::{criterion_group, criterion_main, Criterion};
use gaprelay::crypto::jwe::ContentKey;
use gaprelay::crypto::seal::MasterKey;
use gaprelay::crypto::webhook::WebhookSecret;
use gaprelay::delivery::{message, payload};
use gaprelay::domain::endpoint::Encryption;
use gaprelay::domain::ids::{EndpointId, MessageId, PractitionerId, SubmissionId};
use gaprelay::domain::practitioner::{NewPractitioner, Practitioner};
use gaprelay::domain::report;
use gaprelay::domain::submission::{IntakeDraft, Submission};
use std::hint::black_box;
use time::OffsetDateTime;

const INTAKE: &str = r#"{"contact": {"name": "Sam Sample", "email": "sam@example.com", "phone": "+44 20 7946 0958"},
 "sex": "female", "age": 42,
 "labs": [{"marker": "3016-3", "value": 3.1, "unit": "uIU/mL"},
          {"marker": "glucose_fasting", "value": 5.2, "unit": "mmol/L"},
          {"marker": "vitamin_d_25oh", "value": 70, "unit": "nmol/L"}],
 "symptoms": ["fatigue", "brain_fog", "cold_intolerance", "poor_sleep"],
 "consent": true, "engagement": {"time_on_tool_s": 240}}"#;

fn practitioner() -> Practitioner {
    Practitioner::create(
        NewPractitioner {
            practice_name: "Bench Clinic".into(),
            doctor_name: "Dr Bench".into(),
            email: "b@example.com".into(),
            website_url: "https://bench.example.com".into(),
            slug: Some("bench".into()),
            phone_region: None,
        },
        PractitionerId::generate(&mut rand::rngs::OsRng),
        OffsetDateTime::UNIX_EPOCH,
    )
    .expect("valid practitioner")
}

fn bench(c: &mut Criterion) {
    let p = practitioner();
    let mut rng = rand::rngs::OsRng;
    let master = MasterKey::generate(&mut rng);
    let (msg, ep) = (
        MessageId::generate(&mut rng),
        EndpointId::generate(&mut rng),
    );
    let key = ContentKey::generate(&mut rng);
    let secret = WebhookSecret::generate(&mut rng);

    c.bench_function(
        "intake: parse + validate + report (3 labs, 4 symptoms)",
        |b| {
            b.iter(|| {
                let req: IntakeDraft = serde_json::from_str(black_box(INTAKE)).expect("json");
                let sub = Submission::parse(req, &p.settings, &[]).expect("valid");
                black_box(report::build(&sub, &[]))
            })
        },
    );

    let req: IntakeDraft = serde_json::from_str(INTAKE).expect("json");
    let sub = Submission::parse(req, &p.settings, &[]).expect("valid");
    let rep = report::build(&sub, &[]);
    let sid = SubmissionId::generate(&mut rng);
    c.bench_function("intake: render event + seal for the queue", |b| {
        b.iter(|| {
            let event = payload::intake_event(&sid, OffsetDateTime::UNIX_EPOCH, &p, &sub, &rep)
                .expect("json");
            black_box(message::seal_message(&master, &msg, &ep, &event, &mut rng).expect("json"))
        })
    });

    let event =
        payload::intake_event(&sid, OffsetDateTime::UNIX_EPOCH, &p, &sub, &rep).expect("json");
    let sealed = message::seal_message(&master, &msg, &ep, &event, &mut rng).expect("json");
    c.bench_function(
        "queue entry: seal an intake's event (JSON + DEFLATE + AES-256-GCM)",
        |b| {
            b.iter(|| {
                black_box(
                    message::seal_message(&master, &msg, &ep, black_box(&event), &mut rng)
                        .expect("json"),
                )
            })
        },
    );
    c.bench_function("queue entry: open it (AES-256-GCM + inflate + JSON)", |b| {
        b.iter(|| {
            black_box(message::open_message(
                &master,
                &msg,
                &ep,
                black_box(&sealed),
            ))
        })
    });
    c.bench_function("delivery: open + JWE + sign (one attempt's crypto)", |b| {
        b.iter(|| {
            let event =
                message::open_message(&master, &msg, &ep, black_box(&sealed)).expect("opens");
            black_box(
                payload::sign_request(
                    &event,
                    &msg,
                    Encryption::Jwe,
                    &key,
                    &[&secret],
                    OffsetDateTime::UNIX_EPOCH,
                    &mut rng,
                )
                .expect("signed"),
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
