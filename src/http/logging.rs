//! Request logging: one event per request with the route pattern (never the concrete
//! path's query string, the body, headers or the client's address), status and duration.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use std::time::Instant;

/// Middleware function: logs `http.method`, `http.route`, `http.status`, `duration_ms`.
pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = res.status().as_u16();
    let duration_ms = started.elapsed().as_millis() as u64;
    if status >= 500 {
        tracing::warn!(http.method = %method, http.route = %route, http.status = status, duration_ms, "request");
    } else {
        tracing::info!(http.method = %method, http.route = %route, http.status = status, duration_ms, "request");
    }
    Ok(res)
}
