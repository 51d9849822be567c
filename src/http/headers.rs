//! Security headers on every response. The API answers JSON, but a browser may still be
//! pointed at any URL of it: nothing may be sniffed as HTML, framed, cached, or leak
//! the URL as a referrer. Handlers that set one of these headers keep theirs: the
//! hosted form (`/f/{slug}`) sets its own Content-Security-Policy, which lets the
//! practice's allowed origins frame it, and so gets no `X-Frame-Options` (a `DENY`
//! there would contradict it). No route sets cookies.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;

/// One year, in seconds.
const HSTS_MAX_AGE: u32 = 365 * 24 * 60 * 60;

/// The policy of every response that does not set its own: nothing may load, nothing
/// may frame it.
pub const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// The headers every response carries unless its handler set them; with `tls`, also
/// `Strict-Transport-Security`.
fn defaults(tls: bool) -> Vec<(HeaderName, HeaderValue)> {
    let mut headers = vec![
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DEFAULT_CSP),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    if tls {
        // Not includeSubDomains: the operator's other hosts are not ours to decide.
        if let Ok(v) = HeaderValue::from_str(&format!("max-age={HSTS_MAX_AGE}")) {
            headers.push((header::STRICT_TRANSPORT_SECURITY, v));
        }
    }
    headers
}

/// Whether a response's own policy lets other pages frame it.
fn allows_framing(csp: Option<&HeaderValue>) -> bool {
    csp.and_then(|v| v.to_str().ok()).is_some_and(|policy| {
        policy.split(';').any(|d| {
            let d = d.trim();
            d.starts_with("frame-ancestors") && d != "frame-ancestors 'none'"
        })
    })
}

/// Middleware adding the security headers (see the module's documentation); `tls`
/// when the relay terminates TLS itself.
pub async fn security_headers(
    tls: bool,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    for (name, value) in defaults(tls) {
        if !headers.contains_key(&name) {
            headers.insert(name, value);
        }
    }
    if !allows_framing(headers.get(header::CONTENT_SECURITY_POLICY))
        && !headers.contains_key(header::X_FRAME_OPTIONS)
    {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_policy_naming_frame_ancestors_other_than_none_allows_framing() {
        let v = |s: &'static str| HeaderValue::from_static(s);
        assert!(!allows_framing(None));
        assert!(!allows_framing(Some(&v(DEFAULT_CSP))));
        assert!(!allows_framing(Some(&v("default-src 'none'"))));
        assert!(allows_framing(Some(&v(
            "default-src 'none'; frame-ancestors 'self' https://practice.example"
        ))));
    }
}
