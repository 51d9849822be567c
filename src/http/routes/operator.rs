//! Operator routes (admin token).

use super::config::practitioner_view;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, OperatorAuth};
use crate::http::wire::audit::AuditEntryView;
use crate::http::wire::common::{ErrorBody, PageView};
use crate::http::wire::practitioner::NewPractitionerRequest;
use crate::http::wire::practitioner::{CreatedPractitioner, PractitionerView};
use crate::http::AppState;
use actix_web::{web, HttpResponse};

/// `POST /v1/practitioners`: creates a practitioner and its first owner key.
#[utoipa::path(
    post, path = "/v1/practitioners", tag = "operator", security(("operator" = [])),
    request_body(content = NewPractitionerRequest, example = crate::http::wire::examples::new_practitioner_request),
    responses(
        (status = 201, description = "The practitioner and its owner key (shown once)", body = CreatedPractitioner,
         example = crate::http::wire::examples::created_practitioner),
        (status = 409, description = "The slug is taken", body = ErrorBody, example = crate::http::wire::examples::slug_taken),
    )
)]
pub async fn create_practitioner(
    _: OperatorAuth,
    state: web::Data<AppState>,
    ApiJson(req): ApiJson<NewPractitionerRequest>,
) -> Result<HttpResponse, ApiError> {
    let (p, key, record) = state.services.create_practitioner(req.into()).await?;
    tracing::info!(practitioner.id = %p.id, key.id = %record.id, "practitioner created");
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(CreatedPractitioner {
            practitioner: practitioner_view(&p),
            api_key: key.expose().to_owned(),
            api_key_id: record.id,
        }))
}

/// `GET /v1/practitioners` (operator): every practitioner, oldest first, paginated.
#[utoipa::path(
    get, path = "/v1/practitioners", tag = "operator", security(("operator" = [])),
    params(super::account::PageQuery),
    responses((status = 200, description = "A page of practitioners, oldest first", body = PageView<PractitionerView>,
        example = crate::http::wire::examples::practitioners_page))
)]
pub async fn list_practitioners(
    _: OperatorAuth,
    state: web::Data<AppState>,
    query: web::Query<super::account::PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .services
        .list_practitioners(query.cursor.as_deref(), query.limit())
        .await?;
    Ok(HttpResponse::Ok().json(PageView::of(page, practitioner_view)))
}

/// `POST /v1/practitioners/{id}/suspend` (operator): suspends a practice; its keys
/// are refused and its form takes nothing until it is reinstated.
#[utoipa::path(
    post, path = "/v1/practitioners/{id}/suspend", tag = "operator", security(("operator" = [])),
    params(("id" = String, Path, description = "Practitioner id (`prac_…`)")),
    responses((status = 200, description = "Suspended: its keys are refused and its form takes nothing", body = PractitionerView,
        example = crate::http::wire::examples::practitioner_suspended))
)]
pub async fn suspend(
    _: OperatorAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = state.services.set_suspended(&path, true).await?;
    Ok(HttpResponse::Ok().json(practitioner_view(&p)))
}

/// `POST /v1/practitioners/{id}/reinstate` (operator): lifts a suspension.
#[utoipa::path(
    post, path = "/v1/practitioners/{id}/reinstate", tag = "operator", security(("operator" = [])),
    params(("id" = String, Path, description = "Practitioner id (`prac_…`)")),
    responses((status = 200, description = "Active again", body = PractitionerView,
        example = crate::http::wire::examples::practitioner))
)]
pub async fn reinstate(
    _: OperatorAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = state.services.set_suspended(&path, false).await?;
    Ok(HttpResponse::Ok().json(practitioner_view(&p)))
}

/// `GET /v1/operator/audit-log` (operator): practitioners created, suspended, erased.
#[utoipa::path(
    get, path = "/v1/operator/audit-log", tag = "operator", operation_id = "operator_audit_log",
    security(("operator" = [])),
    params(super::account::PageQuery),
    responses((status = 200, description = "A page of the operator's audit entries, newest first", body = PageView<AuditEntryView>,
        example = crate::http::wire::examples::operator_audit_log_page))
)]
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
    Ok(HttpResponse::Ok().json(PageView::of(page, AuditEntryView::new)))
}
