//! Webhook endpoint routes.

use crate::domain::endpoint::NewEndpointRequest;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, PractitionerAuth};
use crate::http::AppState;
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
) -> Result<HttpResponse, ApiError> {
    let all = state.services.endpoints(&auth.0).await?;
    Ok(HttpResponse::Ok().json(json!({"data": all.iter().map(view).collect::<Vec<_>>()})))
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
