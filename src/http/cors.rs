//! CORS for the patient's form: the public routes (`/v1/forms/{slug}`,
//! `/v1/intake/{slug}`, `/f/{slug}`) answer browsers only from the practice's allowed
//! origins (by default its website's origin), with preflight handled here. Requests
//! without an `Origin` (servers, curl) are not browser requests and pass unchanged.
//! Which route and slug a path names is decided here once (`public_path`), decoded as
//! the router decodes it, for this layer, the rate limits and the handler alike.

use super::error::ApiError;
use super::AppState;
use crate::domain::practitioner::Slug;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse, ResponseError};

/// How long browsers may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// What a request path is to the public form routes' gate. The path is judged segment
/// by segment after percent-decoding each one, as the router decodes it before
/// matching, so `/v1/intake/%72ate-clinic` and `/v1/%69ntake/rate-clinic` are the
/// same route with the same slug as `/v1/intake/rate-clinic`: the one string that
/// the rate limits, the origin check and the handler all see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PublicPath {
    /// Not a public form route.
    Other,
    /// A public form route for this slug (decoded, a well-formed slug).
    Form(PublicRoute, String),
    /// A public form route whose slug cannot be one, even decoded (a stray `%`, a
    /// `%2F`, capitals, …): refused before anything else looks at the request.
    BadSlug,
}

/// Which public form route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PublicRoute {
    /// `/v1/forms/{slug}`.
    Forms,
    /// `/v1/intake/{slug}`.
    Intake,
    /// `/f/{slug}`, the hosted page.
    Page,
}

/// Classifies `raw_path` (the request's path as sent, still percent-encoded).
pub(crate) fn public_path(raw_path: &str) -> PublicPath {
    let Some(rest) = raw_path.strip_prefix('/') else {
        return PublicPath::Other;
    };
    let segments: Vec<Option<String>> = rest.split('/').map(percent_decode).collect();
    let is = |i: usize, word: &str| segments.get(i).is_some_and(|s| s.as_deref() == Some(word));
    let (route, slug) = match segments.len() {
        3 if is(0, "v1") && is(1, "forms") => (PublicRoute::Forms, &segments[2]),
        3 if is(0, "v1") && is(1, "intake") => (PublicRoute::Intake, &segments[2]),
        2 if is(0, "f") => (PublicRoute::Page, &segments[1]),
        _ => return PublicPath::Other,
    };
    match slug.as_deref() {
        // The router needs a non-empty segment for `{slug}`: not this route.
        Some("") => PublicPath::Other,
        Some(s) if Slug::parse(s).is_ok() => PublicPath::Form(route, s.to_owned()),
        _ => PublicPath::BadSlug,
    }
}

/// Percent-decodes one path segment; `None` when an escape is malformed or the result
/// is not UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The answer to a public route whose slug cannot name a form.
pub(crate) fn no_such_form() -> ApiError {
    ApiError::not_found("form")
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
    let slug = match public_path(req.path()) {
        PublicPath::Other => None,
        PublicPath::Form(_, slug) => Some(slug),
        PublicPath::BadSlug => {
            let (http, _) = req.into_parts();
            let res = no_such_form().error_response();
            return Ok(ServiceResponse::new(http, res).map_into_right_body());
        }
    };
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
    use super::{public_path, PublicPath, PublicRoute};

    fn form(slug: &str) -> PublicPath {
        PublicPath::Form(PublicRoute::Forms, slug.to_owned())
    }

    fn intake(slug: &str) -> PublicPath {
        PublicPath::Form(PublicRoute::Intake, slug.to_owned())
    }

    fn page(slug: &str) -> PublicPath {
        PublicPath::Form(PublicRoute::Page, slug.to_owned())
    }

    #[test]
    fn only_the_public_form_routes_are_subject_to_the_practice_origins() {
        assert_eq!(public_path("/v1/forms/demo"), form("demo"));
        assert_eq!(public_path("/v1/intake/demo"), intake("demo"));
        assert_eq!(public_path("/v1/intake/"), PublicPath::Other);
        assert_eq!(public_path("/v1/markers"), PublicPath::Other);
        assert_eq!(public_path("/v1/intake/demo/extra"), PublicPath::Other);
        assert_eq!(public_path("/v1/intake"), PublicPath::Other);
        assert_eq!(public_path("/f/demo"), page("demo"));
        assert_eq!(public_path("/f/demo/x"), PublicPath::Other);
    }

    #[test]
    fn a_percent_encoded_slug_or_route_is_the_same_route_with_the_same_slug() {
        assert_eq!(
            public_path("/v1/intake/%72ate-clinic"),
            intake("rate-clinic")
        );
        assert_eq!(
            public_path("/v1/intake/rate%2Dclinic"),
            intake("rate-clinic")
        );
        assert_eq!(
            public_path("/v1/%69ntake/rate-clinic"),
            intake("rate-clinic")
        );
        assert_eq!(public_path("/%761/forms/%64emo"), form("demo"));
        assert_eq!(public_path("/%66/demo"), page("demo"));
        // An encoded slash does not split the segment: the router keeps it in one.
        assert_eq!(public_path("/v1%2Fintake/demo"), PublicPath::Other);
    }

    #[test]
    fn a_slug_that_cannot_be_one_is_refused_even_decoded() {
        for path in [
            "/v1/intake/rate%2Fclinic",
            "/v1/intake/%zzrate",
            "/v1/intake/%+f",
            "/v1/intake/%",
            "/v1/intake/%ff%fe",
            "/v1/intake/Rate-Clinic",
            "/v1/intake/%52ate-clinic",
            "/v1/forms/rate%20clinic",
            "/f/a",
        ] {
            assert_eq!(public_path(path), PublicPath::BadSlug, "{path}");
        }
    }
}
