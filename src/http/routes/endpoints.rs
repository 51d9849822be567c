//! Webhook endpoint routes.

use crate::domain::endpoint::NewEndpointRequest;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, PractitionerAuth};
use crate::http::AppState;
use crate::service::account::EndpointPatch;
use crate::store::EndpointRecord;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

/// An endpoint without its secrets.
fn view(e: &EndpointRecord) -> Value {
    json!({
        "id": e.id,
        "url": e.url,
        "format": e.format,
        "encryption": e.encryption,
        "description": e.description,
        "enabled": e.enabled,
        "created_at": crate::delivery::payload::rfc3339(e.created_at),
        "previous_secret_until": e.previous_secret_until.map(crate::delivery::payload::rfc3339),
    })
}

/// `POST /v1/endpoints`: answers the secret and key, shown only here.
pub async fn create(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    ApiJson(req): ApiJson<NewEndpointRequest>,
) -> Result<HttpResponse, ApiError> {
    let created = state.services.create_endpoint(&auth.0, req).await?;
    tracing::info!(practitioner.id = %auth.0.practitioner_id, key.id = %auth.0.key_id, endpoint.id = %created.record.id, "endpoint created");
    let mut body = view(&created.record);
    body["secret"] = Value::String(created.secret.to_whsec());
    body["encryption_key"] = created.key.to_jwk();
    Ok(HttpResponse::Created().json(body))
}

/// `GET /v1/endpoints`.
pub async fn list(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    query: web::Query<super::account::PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let all = state.services.endpoints(&auth.0).await?;
    let page = super::account::page_of(all, |e| e.id.to_string(), &query);
    Ok(HttpResponse::Ok().json(super::account::page_json(page, view)))
}

/// `DELETE /v1/endpoints/{id}`.
pub async fn delete(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.services.delete_endpoint(&auth.0, &path).await?;
    tracing::info!(practitioner.id = %auth.0.practitioner_id, key.id = %auth.0.key_id, "endpoint deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// `PATCH /v1/endpoints/{id}`: enable/disable, description, URL.
pub async fn update(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
    ApiJson(patch): ApiJson<EndpointPatch>,
) -> Result<HttpResponse, ApiError> {
    let record = state
        .services
        .update_endpoint(&auth.0, &path, patch)
        .await?;
    Ok(HttpResponse::Ok().json(view(&record)))
}

/// `POST /v1/endpoints/{id}/rotate`: a new secret and key, shown once; the old secret
/// keeps signing alongside for 24 hours.
pub async fn rotate(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rotated = state.services.rotate_endpoint(&auth.0, &path).await?;
    let mut body = view(&rotated.record);
    body["secret"] = Value::String(rotated.secret.to_whsec());
    body["encryption_key"] = rotated.key.to_jwk();
    body["previous_secret_until"] = json!(rotated
        .record
        .previous_secret_until
        .map(crate::delivery::payload::rfc3339));
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(body))
}

/// `POST /v1/endpoints/{id}/test`: queues an `endpoint.test` event.
pub async fn test(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let message_id = state.services.test_endpoint(&auth.0, &path).await?;
    Ok(HttpResponse::Accepted().json(json!({"message_id": message_id})))
}
