//! The API's own reference: the OpenAPI document and the HTML page rendered from it.

use crate::http::error::ApiError;
use crate::http::{docs_page, openapi};
use actix_web::http::header;
use actix_web::HttpResponse;

/// `GET /openapi.json`: the OpenAPI 3.1 document, generated from the code.
#[utoipa::path(
    get, path = "/openapi.json", tag = "docs",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object, content_type = "application/json"))
)]
pub async fn openapi_json() -> Result<HttpResponse, ApiError> {
    let doc = openapi::document();
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
pub async fn docs_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        // The page is self-contained: no scripts, no outside resources, only its own
        // inline stylesheet (allowed by its hash).
        .insert_header((header::CONTENT_SECURITY_POLICY, docs_page::csp()))
        .body(docs_page::html())
}
