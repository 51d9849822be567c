//! The API's own reference: the OpenAPI document and the HTML page rendered from it.

use crate::http::error::ApiError;
use actix_web::http::header;
use actix_web::{web, HttpResponse};

/// Where the docs routes find what they serve. The wiring (`http::configure`) hands it
/// in from `http::openapi` and `http::docs_page`: the document describes these routes,
/// so the routes must not name the document's module (no import cycle). Each is built
/// once, on first use.
pub struct ApiReference {
    /// The OpenAPI document (`null` when it could not be serialized).
    pub document: fn() -> &'static serde_json::Value,
    /// The HTML reference page.
    pub html: fn() -> &'static str,
    /// The page's Content-Security-Policy.
    pub csp: fn() -> &'static str,
}

/// `GET /openapi.json`: the OpenAPI 3.1 document, generated from the code.
#[utoipa::path(
    get, path = "/openapi.json", tag = "docs",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object, content_type = "application/json",
        example = crate::http::wire::examples::openapi_document))
)]
pub async fn openapi_json(reference: web::Data<ApiReference>) -> Result<HttpResponse, ApiError> {
    let doc = (reference.document)();
    if doc.is_null() {
        return Err(ApiError::internal(&anyhow::anyhow!(
            "the OpenAPI document could not be serialized"
        )));
    }
    Ok(HttpResponse::Ok().json(doc))
}

/// `GET /docs`: a readable reference, rendered on the server from the same document.
#[utoipa::path(
    get, path = "/docs", tag = "docs",
    responses((status = 200, description = "The API reference as an HTML page", body = String, content_type = "text/html"))
)]
pub async fn docs_page(reference: web::Data<ApiReference>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        // The page is self-contained: no scripts, no outside resources, only its own
        // inline stylesheet (allowed by its hash).
        .insert_header((header::CONTENT_SECURITY_POLICY, (reference.csp)()))
        .body((reference.html)())
}
