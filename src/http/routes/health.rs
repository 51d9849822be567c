//! Liveness, readiness and metrics.

use crate::http::error::ApiError;
use crate::http::extract::MetricsAuth;
use crate::http::wire::common::{ErrorBody, Health};
use crate::http::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

/// `GET /healthz`: the process is alive.
#[utoipa::path(
    get, path = "/healthz", tag = "health",
    responses((status = 200, description = "Alive: `{\"status\": \"ok\"}`", body = Health,
        example = crate::http::wire::examples::alive))
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// `GET /readyz`: the store answers.
#[utoipa::path(
    get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "Ready: `{\"status\": \"ready\"}`", body = Health,
         example = crate::http::wire::examples::ready),
        (status = 503, description = "The store (Redis) is not reachable", body = ErrorBody,
         example = crate::http::wire::examples::store_unreachable),
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    match state.services.store.ping().await {
        Ok(()) => Ok(HttpResponse::Ok().json(Health { status: "ready" })),
        Err(_) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the store (Redis) is not reachable",
        )),
    }
}

/// `GET /metrics`: this process's counters and the queue's length, in the Prometheus
/// text format, for a scraper holding `GAPRELAY_METRICS_TOKEN`. Counts and practice
/// ids only: never patient data.
#[utoipa::path(
    get, path = "/metrics", tag = "health", security(("metrics" = [])),
    responses(
        (status = 200, description = "Prometheus text exposition (`text/plain; version=0.0.4`): `gaprelay_intake_total`, `gaprelay_intake_discarded_total` (by practice id), `gaprelay_delivery_attempts_total`, `gaprelay_store_up`, `gaprelay_queue_messages`", body = String, content_type = "text/plain"),
        (status = 404, description = "No metrics token is configured on this server (`not_found`)", body = ErrorBody,
         example = crate::http::wire::examples::metrics_not_found),
    )
)]
pub async fn metrics(_: MetricsAuth, state: web::Data<AppState>) -> HttpResponse {
    let queue = state.services.store.queue_len().await.ok();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.services.metrics.render(queue))
}
