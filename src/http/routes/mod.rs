//! Route handlers, grouped by who calls them.

pub mod account;
pub mod assets;
pub mod config;
pub mod docs;
pub mod endpoints;
pub mod form_page;
pub mod health;
pub mod operator;
pub mod public;
pub mod schemas;

use super::error::ApiError;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;

/// Fallback for unknown paths: the contract's error shape instead of an empty 404.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such route",
    ))
}
