//! Public routes used by the patient's form: no credentials.

use crate::domain::catalog;
use crate::domain::custom::symptom_listing;
use crate::domain::submission::IntakeRequest;
use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::http::AppState;
use actix_web::{web, HttpResponse};
use serde_json::json;

/// `GET /v1/forms/{slug}`: what the form shows.
pub async fn form(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let ctx = state.services.form(&path).await?;
    let p = &ctx.practitioner;
    let s = &p.settings;
    let offered: Vec<_> = symptom_listing(s.symptoms.as_ref())
        .into_iter()
        .filter(|sym| sym.offered)
        .map(|sym| json!({"id": sym.id, "name": sym.name}))
        .collect();
    let mut markers: Vec<_> = catalog::markers()
        .iter()
        .map(|m| {
            json!({
                "id": m.id,
                "loinc": m.loinc,
                "name": m.name,
                "units": m.units.iter().map(|u| u.display).collect::<Vec<_>>(),
            })
        })
        .collect();
    markers.extend(
        ctx.custom_markers
            .iter()
            .map(|c| json!({"id": c.id, "loinc": c.loinc, "name": c.name, "units": [c.unit]})),
    );
    Ok(HttpResponse::Ok().json(json!({
        "practitioner": {"slug": p.slug, "practice_name": p.practice_name, "doctor_name": p.doctor_name},
        "markers": markers,
        "symptoms": offered,
        "contact_fields": s.contact_fields,
        "consent": {"required": s.consent_required, "text": s.consent_text, "version": s.consent_version},
        "branding": s.branding,
        "call_to_action": s.call_to_action,
        "accepting_submissions": p.accepts_submissions(),
    })))
}

/// `POST /v1/intake/{slug}`: 202 with the report once the delivery is safely queued.
pub async fn intake(
    state: web::Data<AppState>,
    path: web::Path<String>,
    ApiJson(req): ApiJson<IntakeRequest>,
) -> Result<HttpResponse, ApiError> {
    let (submission_id, report) = state.services.submit_intake(&path, req).await?;
    Ok(HttpResponse::Accepted()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(json!({"submission_id": submission_id, "report": report})))
}
