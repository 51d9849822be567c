//! Public routes used by the patient's form: no credentials.

use crate::domain::custom::symptom_listing;
use crate::domain::form::FormLayout;
use crate::http::error::ApiError;
use crate::http::extract::IntakeJson;
use crate::http::wire::common::ErrorBody;
use crate::http::wire::form::{FormConsent, FormMarker, FormPractice, FormSymptom, FormView};
use crate::http::wire::intake::IntakeAccepted;
use crate::http::wire::intake::IntakeRequest;
use crate::http::AppState;
use actix_web::{web, HttpResponse};

/// `GET /v1/forms/{slug}`: what the form shows.
#[utoipa::path(
    get, path = "/v1/forms/{slug}", tag = "public",
    params(("slug" = String, Path, description = "The practice's form handle")),
    responses(
        (status = 200, description = "Markers with accepted units, symptoms, contact fields, consent, branding", body = FormView,
         example = crate::http::wire::examples::form),
        (status = 429, description = "Too many requests from this address (`rate_limited`); see `Retry-After`", body = ErrorBody,
         example = crate::http::wire::examples::rate_limited),
    )
)]
pub async fn form(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let ctx = state.services.form(&path).await?;
    let p = &ctx.practitioner;
    let s = &p.settings;
    let layout = FormLayout::build(s, &ctx.ranges, &ctx.custom_markers);
    let symptoms: Vec<FormSymptom> = symptom_listing(s.symptoms.as_ref())
        .into_iter()
        .filter(|sym| sym.offered)
        .map(|sym| FormSymptom {
            id: sym.id,
            name: sym.name,
        })
        .collect();
    let listed = layout.listed.into_iter().map(|marker| FormMarker {
        marker,
        listed: true,
    });
    let others = layout.others.into_iter().map(|marker| FormMarker {
        marker,
        listed: false,
    });
    let markers: Vec<FormMarker> = listed.chain(others).collect();
    Ok(HttpResponse::Ok().json(FormView {
        practitioner: FormPractice {
            slug: p.slug.clone(),
            practice_name: p.practice_name.clone(),
            doctor_name: p.doctor_name.clone(),
        },
        markers,
        symptoms,
        symptom_groups: layout.symptom_groups,
        disclaimer: layout.disclaimer,
        page: format!("/f/{}", p.slug.as_str()),
        contact_fields: s.contact_fields,
        consent: FormConsent {
            required: s.consent_required,
            text: s.consent_text.clone(),
            version: s.consent_version,
        },
        branding: s.branding.clone(),
        call_to_action: s.call_to_action.clone(),
        accepting_submissions: p.accepts_submissions(),
        form_token: state.services.form_token(p.slug.as_str()),
    }))
}

/// `POST /v1/intake/{slug}`: 202 with the report once the delivery is safely queued.
#[utoipa::path(
    post, path = "/v1/intake/{slug}", tag = "public",
    params(("slug" = String, Path, description = "The practice's form handle")),
    request_body(content = IntakeRequest, example = crate::http::wire::examples::intake_request),
    responses(
        (status = 202, description = "Queued for delivery; the patient's gap report", body = IntakeAccepted,
         example = crate::http::wire::examples::intake_accepted),
        (status = 409, description = "The practice is not accepting submissions (`not_accepting_submissions`)", body = ErrorBody,
         example = crate::http::wire::examples::not_accepting_submissions),
        (status = 429, description = "Too many requests from this address or to this practice (`rate_limited`); see `Retry-After`", body = ErrorBody,
         examples(
             ("address" = (summary = "Too many requests from one address", value = json!(crate::http::wire::examples::rate_limited()))),
             ("practice" = (summary = "Too many submissions to one practice", value = json!(crate::http::wire::examples::practice_rate_limited()))),
         )),
    )
)]
pub async fn intake(
    state: web::Data<AppState>,
    path: web::Path<String>,
    IntakeJson(req): IntakeJson,
) -> Result<HttpResponse, ApiError> {
    // Rate limits apply before this runs (`http::ratelimit::limit_public`).
    let (submission_id, report) = state.services.submit_intake(&path, req).await?;
    Ok(HttpResponse::Accepted()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(IntakeAccepted {
            submission_id,
            report,
        }))
}

/// `GET /fhir/Questionnaire/{slug}`: the practice's symptom questionnaire as a FHIR R4
/// `Questionnaire`, the canonical URL that `fhir-r4` deliveries' QuestionnaireResponses
/// name (`<GAPRELAY_PUBLIC_URL>/fhir/Questionnaire/<slug>`). No credentials, no patient
/// data; served as `application/fhir+json`.
#[utoipa::path(
    get, path = "/fhir/Questionnaire/{slug}", tag = "public",
    params(("slug" = String, Path, description = "The practice's form handle")),
    responses(
        (status = 200, description = "A FHIR R4 Questionnaire (docs/fhir.md)", content_type = "application/fhir+json", body = Object,
         example = crate::http::wire::examples::questionnaire),
        (status = 404, description = "No such form (`not_found`)", body = ErrorBody,
         example = crate::http::wire::examples::form_not_found),
    )
)]
pub async fn questionnaire(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let q = state.services.questionnaire(&path).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/fhir+json")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(q))
}
