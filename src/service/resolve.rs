//! Host-name look-ups for endpoint URLs, the service layer's one DNS side effect, behind
//! a small interface.
//!
//! When an endpoint is saved, its host name is looked up and refused if any address it
//! resolves to is not public. That is feedback for the practitioner and a first
//! barrier; the barrier that counts is the sender's check on the address actually
//! connected to (`delivery::sender`), because DNS answers can change after saving (DNS
//! rebinding). A name that does not resolve at all is accepted: the sender refuses it
//! or it fails to connect, and the delivery log and the endpoint test say so.

use crate::domain::endpoint::is_forbidden_ip;
use crate::domain::problems::FieldProblem;
use std::net::IpAddr;
use std::time::Duration;

/// Longest a save waits for DNS.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

/// Looks host names up.
#[async_trait::async_trait]
pub trait Resolver: Send + Sync {
    /// The addresses `host` resolves to; empty when it does not resolve.
    async fn lookup(&self, host: &str) -> Vec<IpAddr>;
}

/// The system resolver (getaddrinfo, through tokio).
pub struct SystemResolver;

#[async_trait::async_trait]
impl Resolver for SystemResolver {
    async fn lookup(&self, host: &str) -> Vec<IpAddr> {
        match tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host, 443))).await {
            Ok(Ok(addrs)) => addrs.map(|a| a.ip()).collect(),
            _ => Vec::new(),
        }
    }
}

/// Refuses a URL whose host name resolves to any non-public address.
pub async fn check_public_host(
    resolver: &dyn Resolver,
    url: &url::Url,
    field: &str,
) -> Result<(), FieldProblem> {
    let Some(url::Host::Domain(host)) = url.host() else {
        // Addresses written out were checked when the URL was parsed.
        return Ok(());
    };
    let addrs = resolver.lookup(host).await;
    match addrs.iter().find(|ip| is_forbidden_ip(**ip)) {
        Some(ip) => Err(FieldProblem::new(
            field,
            format!("must point to a public address; its host resolves to {ip}"),
        )),
        None => Ok(()),
    }
}
