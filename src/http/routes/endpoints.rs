//! Webhook endpoint routes.

use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, PractitionerAuth};
use crate::http::wire::common::{ErrorBody, PageView};
use crate::http::wire::endpoints::{issued_key, EndpointPatch, NewEndpointRequest};
use crate::http::wire::endpoints::{
    DeliveryView, EndpointView, EndpointWithSecrets, QueuedMessage, RetryScheduled,
};
use crate::http::AppState;
use actix_web::{web, HttpResponse};

/// `POST /v1/endpoints`: answers the secret and key, shown only here.
#[utoipa::path(
    post, path = "/v1/endpoints", tag = "endpoints", operation_id = "create_endpoint",
    security(("api_key" = [])),
    request_body(content = NewEndpointRequest, example = crate::http::wire::examples::new_endpoint_request),
    responses((status = 201, description = "The endpoint with its secret and key, shown only here and on rotation", body = EndpointWithSecrets,
        example = crate::http::wire::examples::endpoint_with_secrets))
)]
pub async fn create(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    ApiJson(req): ApiJson<NewEndpointRequest>,
) -> Result<HttpResponse, ApiError> {
    let created = state.services.create_endpoint(&auth.0, req.into()).await?;
    tracing::info!(practitioner.id = %auth.0.practitioner_id, key.id = %auth.0.key_id, endpoint.id = %created.record.id, "endpoint created");
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(EndpointWithSecrets {
            endpoint: EndpointView::new(&created.record),
            secret: created.secret.to_whsec(),
            encryption_key: issued_key(&created.record, &created.key),
        }))
}

/// `GET /v1/endpoints`: the practitioner's endpoints, without secrets.
#[utoipa::path(
    get, path = "/v1/endpoints", tag = "endpoints", operation_id = "list_endpoints",
    security(("api_key" = [])),
    params(super::account::PageQuery),
    responses((status = 200, description = "A page of endpoints, without secrets", body = PageView<EndpointView>,
        example = crate::http::wire::examples::endpoints_page))
)]
pub async fn list(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    query: web::Query<super::account::PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let all = state.services.endpoints(&auth.0).await?;
    let page = super::account::page_of(all, |e| e.id.to_string(), &query);
    Ok(HttpResponse::Ok().json(PageView::of(page, EndpointView::new)))
}

/// `DELETE /v1/endpoints/{id}`: deletes an endpoint; it receives nothing more.
#[utoipa::path(
    delete, path = "/v1/endpoints/{id}", tag = "endpoints", operation_id = "delete_endpoint",
    security(("api_key" = [])),
    params(("id" = String, Path, description = "Endpoint id (`ep_…`)")),
    responses((status = 204, description = "Deleted"))
)]
pub async fn delete(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.services.delete_endpoint(&auth.0, &path).await?;
    tracing::info!(practitioner.id = %auth.0.practitioner_id, key.id = %auth.0.key_id, "endpoint deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// `PATCH /v1/endpoints/{id}`: enable/disable, description, URL, receiver keys.
#[utoipa::path(
    patch, path = "/v1/endpoints/{id}", tag = "endpoints", operation_id = "update_endpoint",
    security(("api_key" = [])),
    params(("id" = String, Path, description = "Endpoint id (`ep_…`)")),
    request_body(content = EndpointPatch, example = crate::http::wire::examples::endpoint_patch_request),
    responses((status = 200, description = "The endpoint", body = EndpointView,
        example = crate::http::wire::examples::endpoint_updated))
)]
pub async fn update(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
    ApiJson(patch): ApiJson<EndpointPatch>,
) -> Result<HttpResponse, ApiError> {
    let record = state
        .services
        .update_endpoint(&auth.0, &path, patch.into())
        .await?;
    Ok(HttpResponse::Ok().json(EndpointView::new(&record)))
}

/// `POST /v1/endpoints/{id}/rotate`: a new secret and key, shown once; the old secret
/// keeps signing alongside for 24 hours.
#[utoipa::path(
    post, path = "/v1/endpoints/{id}/rotate", tag = "endpoints", operation_id = "rotate_endpoint",
    security(("api_key" = [])),
    params(("id" = String, Path, description = "Endpoint id (`ep_…`)")),
    responses((status = 200, description = "The new secret and key, shown once; `previous_secret_until` says how long the old secret still signs", body = EndpointWithSecrets,
        example = crate::http::wire::examples::endpoint_rotated))
)]
pub async fn rotate(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rotated = state.services.rotate_endpoint(&auth.0, &path).await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(EndpointWithSecrets {
            endpoint: EndpointView::new(&rotated.record),
            secret: rotated.secret.to_whsec(),
            encryption_key: issued_key(&rotated.record, &rotated.key),
        }))
}

/// `POST /v1/endpoints/{id}/test`: queues an `endpoint.test` event.
#[utoipa::path(
    post, path = "/v1/endpoints/{id}/test", tag = "endpoints", operation_id = "test_endpoint",
    security(("api_key" = [])),
    params(("id" = String, Path, description = "Endpoint id (`ep_…`)")),
    responses((status = 202, description = "An `endpoint.test` event is queued", body = QueuedMessage,
        example = crate::http::wire::examples::queued_message))
)]
pub async fn test(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let message_id = state.services.test_endpoint(&auth.0, &path).await?;
    Ok(HttpResponse::Accepted().json(QueuedMessage { message_id }))
}

/// `POST /v1/endpoints/{id}/retry`: every pending message of the endpoint is attempted
/// now, its circuit closed (after the practice fixed its receiver).
#[utoipa::path(
    post, path = "/v1/endpoints/{id}/retry", tag = "endpoints", operation_id = "retry_endpoint",
    security(("api_key" = [])),
    params(("id" = String, Path, description = "Endpoint id (`ep_…`)")),
    responses(
        (status = 202, description = "Every pending message of the endpoint is due now; `scheduled` says how many", body = RetryScheduled,
         example = crate::http::wire::examples::retry_scheduled),
        (status = 409, description = "The endpoint is disabled: enable it first (`conflict`)", body = ErrorBody,
         example = crate::http::wire::examples::endpoint_disabled)
    )
)]
pub async fn retry(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scheduled = state.services.retry_endpoint(&auth.0, &path).await?;
    tracing::info!(practitioner.id = %auth.0.practitioner_id, key.id = %auth.0.key_id, scheduled, "endpoint retry requested");
    Ok(HttpResponse::Accepted().json(RetryScheduled { scheduled }))
}

/// `GET /v1/deliveries`: recent delivery attempts, newest first; metadata only.
#[utoipa::path(
    get, path = "/v1/deliveries", tag = "endpoints", security(("api_key" = [])),
    params(super::account::PageQuery),
    responses((status = 200, description = "A page of deliveries, newest first (kept at most 24 h)", body = PageView<DeliveryView>,
        example = crate::http::wire::examples::deliveries_page))
)]
pub async fn deliveries(
    auth: PractitionerAuth,
    state: web::Data<AppState>,
    query: web::Query<super::account::PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .services
        .deliveries(&auth.0, query.cursor.as_deref(), query.limit())
        .await?;
    Ok(HttpResponse::Ok().json(PageView::of(page, DeliveryView::new)))
}
