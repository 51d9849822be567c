//! The outbound HTTP client, the only place one is built: rustls, timeouts, no
//! redirects, no proxies, and (unless private targets are allowed) connections only to
//! public addresses, checked on the address actually resolved for each connection so
//! that DNS rebinding cannot reach an internal service.

use super::payload::SignedRequest;
use super::policy::Response;
use crate::domain::endpoint::is_forbidden_ip;
use anyhow::Context;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Most bytes of a receiver's response body read (then the rest is dropped).
pub const MAX_RESPONSE_BODY: usize = 64 * 1024;

/// Refuses to resolve a name to anything but public addresses.
#[derive(Debug, thiserror::Error)]
#[error("the endpoint's host resolves to a non-public address")]
struct ForbiddenAddress;

/// A DNS resolver that drops non-public addresses and fails when none is left.
struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| !is_forbidden_ip(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(ForbiddenAddress) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Sends webhook requests.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
}

impl Sender {
    /// Builds the client.
    pub fn new(timeout: Duration, allow_private: bool) -> anyhow::Result<Sender> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("gaprelay/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .pool_idle_timeout(Duration::from_secs(30))
            .min_tls_version(reqwest::tls::Version::TLS_1_2)
            .use_rustls_tls();
        if !allow_private {
            builder = builder
                .https_only(true)
                .dns_resolver(Arc::new(PublicOnlyResolver));
        }
        let client = builder
            .build()
            .context("cannot build the webhook HTTP client")?;
        Ok(Sender {
            client,
            allow_private,
        })
    }

    /// Sends one request and classifies the answer. Never returns the body.
    pub async fn send(&self, url: &url::Url, request: SignedRequest) -> Response {
        // A host written as an IP address is not resolved, so the resolver's check
        // cannot see it: check it here.
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if !self.allow_private && literal.is_some_and(is_forbidden_ip) {
            return Response::ForbiddenTarget;
        }
        // The parsed URL and the body as they are: neither parsed nor copied again.
        let mut req = self.client.post(url.clone()).body(request.body);
        for (name, value) in request.headers {
            req = req.header(name, value);
        }
        match req.send().await {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                // Drain a bounded amount so the connection can be reused; a receiver
                // that streams more is cut off.
                let mut read = 0usize;
                while let Ok(Some(chunk)) = resp.chunk().await {
                    read += chunk.len();
                    if read > MAX_RESPONSE_BODY {
                        break;
                    }
                }
                Response::Status {
                    status,
                    retry_after,
                }
            }
            Err(e) if e.is_timeout() => Response::Timeout,
            Err(e) if is_forbidden(&e) => Response::ForbiddenTarget,
            Err(_) => Response::ConnectError,
        }
    }
}

fn is_forbidden(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<ForbiddenAddress>() {
            return true;
        }
        source = err.source();
    }
    false
}
