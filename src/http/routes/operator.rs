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

/// `GET /v1/practitioners` (operator): every practitioner, oldest first, paginated.
pub async fn list_practitioners(
    _: OperatorAuth,
    state: web::Data<AppState>,
    query: web::Query<super::account::PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .services
        .list_practitioners(query.cursor.as_deref(), query.limit())
        .await?;
    Ok(HttpResponse::Ok().json(super::account::page_json(page, practitioner_view)))
}

/// `POST /v1/practitioners/{id}/suspend` (operator).
pub async fn suspend(
    _: OperatorAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = state.services.set_suspended(&path, true).await?;
    Ok(HttpResponse::Ok().json(practitioner_view(&p)))
}

/// `POST /v1/practitioners/{id}/reinstate` (operator).
pub async fn reinstate(
    _: OperatorAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = state.services.set_suspended(&path, false).await?;
    Ok(HttpResponse::Ok().json(practitioner_view(&p)))
}

/// `GET /v1/operator/audit-log` (operator): practitioners created, suspended, erased.
pub async fn audit_log(
    _: OperatorAuth,
    state: web::Data<AppState>,
    query: web::Query<super::account::PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .services
        .store
        .audit_log(None, query.cursor.as_deref(), query.limit())
        .await
        .map_err(crate::service::ServiceError::from)?;
    Ok(HttpResponse::Ok().json(super::account::page_json(page, |e| json!(e))))
}
