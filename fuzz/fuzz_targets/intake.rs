//! Fuzz target `intake`: any bytes as the body of `POST /v1/intake/{slug}`, through the
//! same steps as the handler and `Services::submit_intake`, short of the store: the
//! extractor's JSON parsing (serde_path_to_error and the error rewriting, then the
//! field-by-field reading of the intake body), the form
//! token check and bot screening, the domain validation against two practices' forms,
//! the gap report, the 202 body and the event that would be sealed for the queue.
//! Refusals must be well-formed 4xx answers; nothing may panic.

#![no_main]

use gaprelay::crypto::form_token;
use gaprelay::delivery::payload;
use gaprelay::domain::ids::SubmissionId;
use gaprelay::domain::report;
use gaprelay::domain::screening::{self, Token};
use gaprelay::domain::submission::{IntakeDraft, Submission};
use gaprelay::http::error::ApiError;
use gaprelay::http::extract::{parse_intake, MAX_BODY_BYTES};
use gaprelay::http::wire::intake::IntakeAccepted;
use gaprelay::service::ServiceError;
use gaprelay_fuzz::{assert_client_error, Form, FORMS};
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use std::time::Duration;
use time::OffsetDateTime;

/// The form-token key the harness's relay uses (the service derives it from the
/// master key); the seeds' tokens are made with it.
const FORM_TOKEN_KEY: [u8; 32] = [7; 32];
/// The relay's clock during the run: 2027-01-15T08:00:00Z.
const NOW_MS: i64 = 1_800_000_000_000;
/// The default minimum fill time.
const MIN_FILL_TIME: Duration = Duration::from_secs(3);

fuzz_target!(|body: &[u8]| {
    // The extractor answers 413 before parsing a larger body.
    if body.len() > MAX_BODY_BYTES {
        return;
    }
    let req: IntakeDraft = match parse_intake(body) {
        Ok(req) => req,
        Err(err) => return assert_client_error(&err),
    };
    for form in FORMS.iter() {
        submit(form, req.clone());
    }
});

fn submit(form: &Form, req: IntakeDraft) {
    let practitioner = &form.practitioner;
    // As the service does: a bot is answered like anyone else, so screening decides
    // nothing the caller sees; it must only cope with any token and honeypot.
    let token = match &req.form_token {
        None => Token::Absent,
        Some(t) => form_token::verify(&FORM_TOKEN_KEY, practitioner.slug.as_str(), t)
            .map_or(Token::Invalid, Token::IssuedAt),
    };
    screening::screen(req.honeypot.as_deref(), token, NOW_MS, MIN_FILL_TIME);
    let submission = match Submission::parse(req, &practitioner.settings, &form.custom_markers) {
        Ok(s) => s,
        Err(problems) => {
            assert!(!problems.is_empty(), "a refusal without a reason");
            return assert_client_error(&ApiError::from(ServiceError::Validation(problems)));
        }
    };
    let report = report::build(&submission, &form.ranges);
    assert_eq!(report.labs.len(), submission.labs.len());
    assert_eq!(report.symptoms.len(), submission.symptoms.len());
    assert_eq!(report.summary.labs, report.labs.len());
    assert_eq!(
        report.summary.zones.values().sum::<usize>(),
        report.labs.len(),
        "every lab is in exactly one zone"
    );

    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let submission_id = SubmissionId::generate(&mut rng);
    let event = payload::intake_event(
        &submission_id,
        OffsetDateTime::UNIX_EPOCH,
        practitioner,
        &submission,
        &report,
    );
    serde_json::to_vec(&event).expect("the queued event serialises");
    let accepted = serde_json::to_vec(&IntakeAccepted {
        submission_id,
        report,
    })
    .expect("the 202 body serialises");
    serde_json::from_slice::<serde_json::Value>(&accepted).expect("the 202 body is JSON");
}
