//! The one error type at the HTTP edge: every failure on every route becomes the
//! contract's shape `{"error": {"code", "message", "details"?}}` with the right status.
//! Server errors are logged here, once, and answered opaquely.

use super::wire::common::{ErrorBody, ErrorDetail};
use crate::domain::problems::FieldProblem;
use crate::service::ServiceError;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use std::fmt;

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Vec<FieldProblem>,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            retry_after: None,
        }
    }

    /// Adds `Retry-After` (seconds).
    pub fn with_retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after = Some(seconds);
        self
    }

    /// Adds field-level details.
    pub fn with_details(mut self, details: Vec<FieldProblem>) -> ApiError {
        self.details = details;
        self
    }

    /// 400: the body is not well-formed, or has fields the route does not know.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 422 with one entry per offending field.
    pub fn validation(details: Vec<FieldProblem>) -> ApiError {
        let n = details.len();
        let message = if n == 1 {
            "1 problem in the request".to_owned()
        } else {
            format!("{n} problems in the request")
        };
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            message,
        )
        .with_details(details)
    }

    /// 401.
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or invalid credentials: send Authorization: Bearer <key>",
        )
    }

    /// 404 for `what`.
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 500: opaque to the caller; the cause is logged here.
    pub fn internal(cause: &anyhow::Error) -> ApiError {
        tracing::error!(error = %format!("{cause:#}"), "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "internal error",
        )
    }

    /// The machine code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.code)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        match self.status {
            StatusCode::UNAUTHORIZED => {
                builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                builder.insert_header((header::RETRY_AFTER, "5"));
            }
            // A client too slow to send its request loses the connection: the rest of
            // a dripped body is not waited for.
            StatusCode::REQUEST_TIMEOUT => {
                builder.force_close();
            }
            _ => {}
        }
        if let Some(secs) = self.retry_after {
            builder.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        builder.insert_header((header::CACHE_CONTROL, "no-store"));
        builder.json(ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message.clone(),
                details: self.details.clone(),
            },
        })
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Validation(details) => ApiError::validation(details),
            ServiceError::Unauthorized => ApiError::unauthorized(),
            ServiceError::Forbidden => ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this API key's role does not allow this action",
            ),
            ServiceError::NotFound(what) => ApiError::not_found(what),
            ServiceError::Conflict(what) => ApiError::new(StatusCode::CONFLICT, "conflict", what),
            ServiceError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "storage unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the service cannot store this right now; nothing was accepted, please retry",
                )
            }
            ServiceError::PreconditionFailed => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "precondition_failed",
                "the settings changed since you read them: GET them again and retry with the new ETag",
            ),
            ServiceError::AccountSuspended => ApiError::new(
                StatusCode::FORBIDDEN,
                "account_suspended",
                "this account is suspended; contact the operator",
            ),
            ServiceError::NotAccepting => ApiError::new(
                StatusCode::CONFLICT,
                "not_accepting_submissions",
                "this practice is not accepting submissions right now",
            ),
            ServiceError::Internal(cause) => ApiError::internal(&cause),
        }
    }
}

/// Gives responses that actix-web produces itself (405 for a method a route does not
/// take, and any other bare error) the contract's error shape.
pub fn ensure_error_shape<B>(
    res: actix_web::dev::ServiceResponse<B>,
) -> actix_web::Result<actix_web::middleware::ErrorHandlerResponse<B>> {
    use actix_web::middleware::ErrorHandlerResponse;
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            ("method_not_allowed", "this route does not take this method")
        }
        StatusCode::NOT_FOUND => ("not_found", "no such route"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the body is too large"),
        s if s.is_server_error() => ("internal_error", "internal error"),
        _ => ("bad_request", "the request could not be handled"),
    };
    let (req, _) = res.into_parts();
    let response = ApiError::new(status, code, message).error_response();
    Ok(ErrorHandlerResponse::Response(
        actix_web::dev::ServiceResponse::new(req, response).map_into_right_body(),
    ))
}
