//! Operator routes (admin token).

use super::config::practitioner_view;
use crate::domain::practitioner::NewPractitionerRequest;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, OperatorAuth};
use crate::http::AppState;
use actix_web::{web, HttpResponse};
use serde_json::json;

/// `POST /v1/practitioners`: creates a practitioner and its first owner key.
pub async fn create_practitioner(
    _: OperatorAuth,
    state: web::Data<AppState>,
    ApiJson(req): ApiJson<NewPractitionerRequest>,
) -> Result<HttpResponse, ApiError> {
    let (p, key, record) = state.services.create_practitioner(req).await?;
    tracing::info!(practitioner.id = %p.id, key.id = %record.id, "practitioner created");
    Ok(HttpResponse::Created().json(json!({
        "practitioner": practitioner_view(&p),
        "api_key": key.expose(),
        "api_key_id": record.id,
    })))
}
