//! Rate limits of the public form routes (governor's GCRA, in memory): per client
//! address on every public request, and per practice on submissions. Over the limit the
//! answer is `429 rate_limited` with `Retry-After`.
//!
//! The client address is used only here, as a key of an in-memory map, and never
//! stored, logged or put in an error. Behind a reverse proxy it comes from
//! `X-Forwarded-For`, but only when the peer is one of `GAPRELAY_TRUSTED_PROXIES`:
//! otherwise any client could pick its own address. IPv6 clients are keyed by their /64,
//! the block one host usually holds.
//!
//! Limits are per process: with N instances behind a balancer a client gets up to N
//! times the quota. That bounds abuse without a Redis round trip per request.

use super::cors::{PublicPath, PublicRoute};
use super::error::ApiError;
use super::AppState;
use crate::config::{PublicLimits, Rate};
use crate::metrics::IntakeOutcome;
use crate::service::ServiceError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, ResponseError};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;

/// Middleware applying the limits to the public form routes before anything else
/// about the request is looked at (a malformed body counts like any other request).
/// It runs inside the CORS layer, so a browser can read the 429. A submission to a
/// form that does not exist is answered 404 here too, after the address's limit and
/// before its body is read: nobody can make the relay wait for a body it will refuse.
pub async fn limit_public(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    // The same decoded slug the CORS layer and the handler see (`cors::public_path`).
    let (route, slug) = match super::cors::public_path(req.path()) {
        PublicPath::Other => return Ok(next.call(req).await?.map_into_left_body()),
        PublicPath::Form(route, slug) => (route, slug),
        PublicPath::BadSlug => {
            let (http, _) = req.into_parts();
            let res = super::cors::no_such_form().error_response();
            return Ok(ServiceResponse::new(http, res).map_into_right_body());
        }
    };
    if let Some(state) = req.app_data::<web::Data<AppState>>() {
        let is_intake = req.method() == Method::POST && route == PublicRoute::Intake;
        let mut verdict = state.limiter.check_address(req.request());
        if verdict.is_ok() && is_intake {
            // Only a missing form is answered here; any other trouble (the store being
            // away) is left to the route, which answers and counts it as it always has.
            if let Err(ServiceError::NotFound(_)) = state.services.form(&slug).await {
                verdict = Err(super::cors::no_such_form());
            }
        }
        if verdict.is_ok() && is_intake {
            verdict = state.limiter.check_practitioner(&slug);
        }
        if let Err(e) = verdict {
            if is_intake && e.code() == "rate_limited" {
                state.services.metrics.intake(IntakeOutcome::RateLimited);
            }
            let (http, _) = req.into_parts();
            return Ok(ServiceResponse::new(http, e.error_response()).map_into_right_body());
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// The public routes' limiters.
pub struct PublicLimiter {
    per_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_practitioner: Option<DefaultKeyedRateLimiter<String>>,
    trusted_proxies: Vec<IpNet>,
    clock: DefaultClock,
}

fn quota(rate: Rate) -> Quota {
    let burst = NonZeroU32::new(rate.count).unwrap_or(NonZeroU32::MIN);
    // `count` per `per`, refilled evenly, with bursts of up to `count`.
    Quota::with_period(rate.per / rate.count.max(1))
        .unwrap_or_else(|| Quota::per_second(burst))
        .allow_burst(burst)
}

impl PublicLimiter {
    /// Limiters as configured.
    pub fn new(limits: &PublicLimits) -> PublicLimiter {
        PublicLimiter {
            per_address: limits.per_address.map(|r| RateLimiter::keyed(quota(r))),
            per_practitioner: limits
                .per_practitioner
                .map(|r| RateLimiter::keyed(quota(r))),
            trusted_proxies: limits.trusted_proxies.clone(),
            clock: DefaultClock::default(),
        }
    }

    /// Counts a public request against its client's quota.
    pub fn check_address(&self, req: &HttpRequest) -> Result<(), ApiError> {
        let Some(limiter) = &self.per_address else {
            return Ok(());
        };
        let Some(client) = self.client_key(req) else {
            return Ok(());
        };
        limiter.check_key(&client).map_err(|wait| {
            too_many(
                wait.wait_time_from(self.clock.now()),
                "too many requests from your address; wait and retry",
            )
        })
    }

    /// Counts a submission against its practice's quota.
    pub fn check_practitioner(&self, slug: &str) -> Result<(), ApiError> {
        let Some(limiter) = &self.per_practitioner else {
            return Ok(());
        };
        limiter
            .check_key(&slug.to_ascii_lowercase())
            .map_err(|wait| {
                too_many(
                    wait.wait_time_from(self.clock.now()),
                    "this practice is receiving too many submissions; wait and retry",
                )
            })
    }

    /// Forgets clients whose quota has refilled (run periodically to bound memory).
    pub fn forget_idle(&self) {
        if let Some(l) = &self.per_address {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some(l) = &self.per_practitioner {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }

    /// The client's address as the limit sees it.
    fn client_key(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip();
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok());
        Some(key_of(client_address(
            peer,
            forwarded,
            &self.trusted_proxies,
        )))
    }
}

fn too_many(wait: std::time::Duration, message: &str) -> ApiError {
    // Whole seconds, rounded up: a client that waits as told is let in.
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
        .with_retry_after(secs.max(1))
}

/// The client's address: the peer, unless the peer is a trusted proxy; then the
/// right-most address in `X-Forwarded-For` that is not itself a trusted proxy (each
/// proxy appends the address it saw, so entries further left are the client's word).
pub fn client_address<'a>(
    peer: IpAddr,
    forwarded_for: impl Iterator<Item = &'a str>,
    trusted: &[IpNet],
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*ip)));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = forwarded_for
        .flat_map(|v| v.split(','))
        .filter_map(|h| parse_hop(h.trim()))
        .collect();
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        client = hop;
        if !is_trusted(&hop) {
            break;
        }
    }
    client
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`,
/// `[::1]:5`).
fn parse_hop(h: &str) -> Option<IpAddr> {
    if let Ok(ip) = h.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sock) = h.parse::<std::net::SocketAddr>() {
        return Some(sock.ip());
    }
    None
}

/// IPv4-mapped IPv6 addresses as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The limiter's key: IPv4 addresses as they are, IPv6 addresses by their /64.
fn key_of(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|_| panic!("{s}"))
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter()
            .map(|n| n.parse().unwrap_or_else(|_| panic!("{n}")))
            .collect()
    }

    #[test]
    fn without_a_trusted_proxy_the_header_is_ignored() {
        let got = client_address(ip("203.0.113.9"), ["198.51.100.1"].into_iter(), &[]);
        assert_eq!(got, ip("203.0.113.9"));
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "127.0.0.1/32"]);
        // The client claims 1.1.1.1; the proxy appended what it saw.
        let got = client_address(
            ip("127.0.0.1"),
            ["1.1.1.1, 198.51.100.7", "10.1.2.3"].into_iter(),
            &trusted,
        );
        assert_eq!(got, ip("198.51.100.7"));
        // Only trusted hops: the left-most is the best we know.
        let got = client_address(ip("10.9.9.9"), ["10.1.1.1"].into_iter(), &trusted);
        assert_eq!(got, ip("10.1.1.1"));
        // Garbage and ports.
        let got = client_address(
            ip("127.0.0.1"),
            ["nonsense, [2001:db8::1]:443"].into_iter(),
            &trusted,
        );
        assert_eq!(got, ip("2001:db8::1"));
        // A mapped IPv4 peer is matched as IPv4.
        let got = client_address(ip("::ffff:10.0.0.1"), ["192.0.2.1"].into_iter(), &trusted);
        assert_eq!(got, ip("192.0.2.1"));
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        assert_eq!(key_of(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
        assert_eq!(key_of(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }

    #[test]
    fn a_quota_allows_its_burst_then_refills_evenly() {
        let q = quota(Rate {
            count: 30,
            per: std::time::Duration::from_secs(60),
        });
        assert_eq!(q.burst_size().get(), 30);
        assert_eq!(q.replenish_interval(), std::time::Duration::from_secs(2));
    }
}
