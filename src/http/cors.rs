//! CORS for the patient's form: the public routes (`/v1/forms/{slug}`,
//! `/v1/intake/{slug}`) answer browsers only from the practice's allowed origins (by
//! default its website's origin), with preflight handled here. Requests without an
//! `Origin` (servers, curl) are not browser requests and pass unchanged.

use super::error::ApiError;
use super::AppState;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse, ResponseError};

/// How long browsers may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// The slug of a public form route, if `path` is one.
pub(crate) fn public_slug(path: &str) -> Option<&str> {
    let rest = path
        .strip_prefix("/v1/forms/")
        .or_else(|| path.strip_prefix("/v1/intake/"))
        .or_else(|| path.strip_prefix("/f/"))?;
    (!rest.is_empty() && !rest.contains('/')).then_some(rest)
}

fn forbidden_origin() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "origin_not_allowed",
        "this form may not be used from this website; the practice can add it to its allowed origins",
    )
}

/// Whether a browser's `Origin` names the host this request was sent to. Browsers set
/// both headers themselves and a page cannot forge either, so a match means the page
/// making the request was served by this relay (its hosted form). Only the host and
/// port are compared: behind a TLS-terminating proxy the relay sees plain HTTP.
pub(crate) fn is_same_origin(origin: &str, req: &actix_web::HttpRequest) -> bool {
    // HTTP/1.1 names the host in `Host`, HTTP/2 in the `:authority` of the URI.
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    let Some(host) = host else {
        return false;
    };
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    authority.is_some_and(|a| a.eq_ignore_ascii_case(host))
}

/// Middleware function applying the practice's allowed origins to its public routes.
pub async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let slug = public_slug(req.path()).map(str::to_owned);
    let (Some(origin), Some(slug)) = (origin, slug) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    // The relay's own hosted form (`/f/{slug}`) posts to the intake from the relay's
    // origin: a same-origin request, which needs no CORS and is always allowed.
    if is_same_origin(&origin, req.request()) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let allowed = match req.app_data::<web::Data<AppState>>() {
        Some(state) => match state.services.form(&slug).await {
            Ok(ctx) => Some(ctx.practitioner.settings.allowed_origins.contains(&origin)),
            // An unknown form: let the route answer 404 as it would to anyone.
            Err(_) => None,
        },
        None => None,
    };
    match allowed {
        Some(false) => {
            let (http, _) = req.into_parts();
            let res = forbidden_origin().error_response();
            Ok(ServiceResponse::new(http, res).map_into_right_body())
        }
        Some(true) if req.method() == Method::OPTIONS => {
            let res = HttpResponse::NoContent()
                .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin))
                .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"))
                .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, "content-type"))
                .insert_header((header::ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE))
                .insert_header((header::VARY, "Origin"))
                .finish();
            let (http, _) = req.into_parts();
            Ok(ServiceResponse::new(http, res).map_into_right_body())
        }
        Some(true) => {
            let mut res = next.call(req).await?;
            if let Ok(v) = HeaderValue::from_str(&origin) {
                res.headers_mut()
                    .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
                res.headers_mut()
                    .insert(header::VARY, HeaderValue::from_static("Origin"));
            }
            Ok(res.map_into_left_body())
        }
        None => Ok(next.call(req).await?.map_into_left_body()),
    }
}

#[cfg(test)]
mod tests {
    use super::public_slug;

    #[test]
    fn only_the_public_form_routes_are_subject_to_the_practice_origins() {
        assert_eq!(public_slug("/v1/forms/demo"), Some("demo"));
        assert_eq!(public_slug("/v1/intake/demo"), Some("demo"));
        assert_eq!(public_slug("/v1/intake/"), None);
        assert_eq!(public_slug("/v1/markers"), None);
        assert_eq!(public_slug("/v1/intake/demo/extra"), None);
        assert_eq!(public_slug("/f/demo"), Some("demo"));
    }
}
