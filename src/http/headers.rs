//! Security headers on every response. The API answers JSON, but a browser may still be
//! pointed at any URL of it: nothing may be sniffed as HTML, framed, cached, or leak
//! the URL as a referrer. `/docs` sets its own, looser Content-Security-Policy (it runs
//! the API reference page); handlers that set a header keep theirs. No route sets
//! cookies.

use actix_web::middleware::DefaultHeaders;

/// One year, in seconds.
const HSTS_MAX_AGE: u32 = 365 * 24 * 60 * 60;

/// The headers every response carries; with `tls`, also `Strict-Transport-Security`.
pub fn security_headers(tls: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Frame-Options", "DENY"))
        .add((
            "Content-Security-Policy",
            "default-src 'none'; frame-ancestors 'none'",
        ))
        .add(("Cache-Control", "no-store"));
    if tls {
        // Not includeSubDomains: the operator's other hosts are not ours to decide.
        headers.add((
            "Strict-Transport-Security",
            format!("max-age={HSTS_MAX_AGE}"),
        ))
    } else {
        headers
    }
}
