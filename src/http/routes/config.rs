//! Practitioner configuration routes: profile, markers and ranges.

use crate::domain::access::Access;
use crate::domain::catalog::{self, Sex};
use crate::domain::custom::{
    symptom_listing, CustomMarker, CustomMarkerRequest, SymptomSettingsRequest,
};
use crate::domain::practitioner::Practitioner;
use crate::domain::problems::FieldProblem;
use crate::domain::ranges::{effective_range, EffectiveRange, RangeOverride, RangeRequest};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, PractitionerAuth};
use crate::http::AppState;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

/// The practitioner as shown to its own keys and the operator.
pub fn practitioner_view(p: &Practitioner) -> Value {
    json!({
        "id": p.id,
        "slug": p.slug,
        "practice_name": p.practice_name,
        "doctor_name": p.doctor_name,
        "email": p.email,
        "website_url": p.website_url,
        "contact_fields": p.settings.contact_fields,
        "consent_required": p.settings.consent_required,
        "consent_text": p.settings.consent_text,
        "branding": p.settings.branding,
        "allowed_origins": p.settings.allowed_origins,
        "consent_version": p.settings.consent_version,
        "call_to_action": p.settings.call_to_action,
        "phone_region": p.settings.phone_region,
        "accepting_submissions": p.settings.accepting_submissions,
        "status": p.status,
        "erase_at": p.erase_at.map(crate::delivery::payload::rfc3339),
        "version": p.version,
        "created_at": crate::delivery::payload::rfc3339(p.created_at),
    })
}

fn range_view(marker: &catalog::Marker, r: &EffectiveRange) -> Value {
    json!({
        "marker": marker.id,
        "loinc": marker.loinc,
        "sex": r.sex,
        "unit": r.unit,
        "standard": r.standard,
        "optimal": r.optimal,
        "messages": r.messages,
        "source": r.source,
    })
}

/// A custom marker as listed to its practitioner.
fn custom_marker_view(c: &CustomMarker) -> Value {
    json!({
        "id": c.id,
        "loinc": c.loinc,
        "name": c.name,
        "unit": c.unit,
        "units": [c.unit],
        "custom": true,
        "plausible": c.plausible,
        "systems": c.systems,
        "ranges": [{
            "marker": c.id, "loinc": c.loinc, "sex": null, "unit": c.unit,
            "standard": c.standard, "optimal": c.optimal, "messages": c.messages, "source": "practitioner",
        }],
    })
}

/// `GET /v1/markers`: the catalog with this practitioner's effective ranges (for
/// everyone, and per sex where they differ), then the practitioner's own markers.
pub async fn markers(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let overrides = state.services.ranges(&auth.0).await?;
    let custom = state.services.custom_markers(&auth.0).await?;
    let list: Vec<Value> = catalog::markers()
        .iter()
        .map(|m| {
            let everyone = effective_range(m, None, &overrides);
            let mut ranges = vec![range_view(m, &everyone)];
            for sex in [Sex::Female, Sex::Male] {
                let r = effective_range(m, Some(sex), &overrides);
                if r != everyone {
                    ranges.push(range_view(m, &r));
                }
            }
            json!({
                "id": m.id,
                "loinc": m.loinc,
                "name": m.name,
                "unit": m.range_unit().display,
                "units": m.units.iter().map(|u| u.display).collect::<Vec<_>>(),
                "custom": false,
                "systems": m.systems,
                "ranges": ranges,
            })
        })
        .chain(custom.iter().map(custom_marker_view))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"data": list})))
}

/// `PUT /v1/markers/{id}`: defines (or replaces) a custom marker.
pub async fn put_custom_marker(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
    ApiJson(req): ApiJson<CustomMarkerRequest>,
) -> Result<HttpResponse, ApiError> {
    let marker = state
        .services
        .put_custom_marker(&auth.0, &path, req)
        .await?;
    tracing::info!(practitioner.id = %auth.0.practitioner_id, key.id = %auth.0.key_id, marker = %marker.id, "custom marker set");
    Ok(HttpResponse::Ok().json(custom_marker_view(&marker)))
}

/// `DELETE /v1/markers/{id}`: removes a custom marker.
pub async fn delete_custom_marker(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.services.delete_custom_marker(&auth.0, &path).await?;
    tracing::info!(practitioner.id = %auth.0.practitioner_id, key.id = %auth.0.key_id, "custom marker deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /v1/symptoms`: every symptom the form can offer, with whether it does.
pub async fn symptoms(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    auth.0.require(Access::Read)?;
    let p = state.services.practitioner(&auth.0).await?;
    Ok(HttpResponse::Ok().json(json!({"data": symptom_listing(p.settings.symptoms.as_ref())})))
}

/// `PUT /v1/symptoms`: which symptoms the form offers, in order, and the practitioner's own.
pub async fn put_symptoms(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    ApiJson(req): ApiJson<SymptomSettingsRequest>,
) -> Result<HttpResponse, ApiError> {
    let p = state.services.put_symptoms(&auth.0, req).await?;
    tracing::info!(practitioner.id = %auth.0.practitioner_id, key.id = %auth.0.key_id, "symptoms set");
    Ok(HttpResponse::Ok().json(json!({"data": symptom_listing(p.settings.symptoms.as_ref())})))
}

/// `PUT /v1/ranges/{marker}`: sets the practitioner's range; answers the effective range.
pub async fn put_range(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
    ApiJson(req): ApiJson<RangeRequest>,
) -> Result<HttpResponse, ApiError> {
    let stored: RangeOverride = state.services.put_range(&auth.0, &path, req).await?;
    let marker = catalog::find(&stored.marker).ok_or_else(|| ApiError::not_found("marker"))?;
    let effective = effective_range(marker, stored.sex, std::slice::from_ref(&stored));
    tracing::info!(practitioner.id = %auth.0.practitioner_id, key.id = %auth.0.key_id, marker = marker.id, "range set");
    Ok(HttpResponse::Ok().json(range_view(marker, &effective)))
}

/// Query of `DELETE /v1/ranges/{marker}`.
#[derive(Debug, Deserialize)]
pub struct SexQuery {
    sex: Option<String>,
}

/// `DELETE /v1/ranges/{marker}?sex=`: returns the marker to its default; answers the
/// range now in effect.
pub async fn delete_range(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<SexQuery>,
) -> Result<HttpResponse, ApiError> {
    let sex = match query.sex.as_deref() {
        None => None,
        Some(s) => Some(Sex::parse(s).ok_or_else(|| {
            ApiError::validation(vec![FieldProblem::new(
                "sex",
                "must be \"female\" or \"male\"",
            )])
        })?),
    };
    state.services.delete_range(&auth.0, &path, sex).await?;
    let marker = catalog::find(&path).ok_or_else(|| ApiError::not_found("marker"))?;
    let overrides = state.services.ranges(&auth.0).await?;
    tracing::info!(practitioner.id = %auth.0.practitioner_id, key.id = %auth.0.key_id, marker = marker.id, "range reset");
    Ok(HttpResponse::Ok().json(range_view(
        marker,
        &effective_range(marker, sex, &overrides),
    )))
}
