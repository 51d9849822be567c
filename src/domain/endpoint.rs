//! Webhook endpoints as the domain sees them: the target URL (checked for what may be
//! targeted), the payload format and whether (and to whose keys) the payload is encrypted.

use super::problems::{FieldProblem, Problems};
use crate::crypto::jwe_receiver::ReceiverKey;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Payload format delivered to an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Format {
    /// gaprelay's own JSON payload.
    #[serde(rename = "gaprelay.v1")]
    GaprelayV1,
    /// A FHIR R4 Bundle.
    #[serde(rename = "fhir-r4")]
    FhirR4,
}

impl Format {
    /// The format's name, as the API and the webhook's `data` know it.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::GaprelayV1 => "gaprelay.v1",
            Format::FhirR4 => "fhir-r4",
        }
    }
}

/// Whether `data` is encrypted as a JWE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encryption {
    /// Flattened JWE, `dir` + `A256GCM`, under a key the relay shares with the receiver.
    Jwe,
    /// General JSON JWE, `ECDH-ES+A256KW` + `A256GCM`, to the receiver's public keys
    /// (`receiver_keys`), encrypted at intake: the relay cannot decrypt it.
    #[serde(rename = "jwe-receiver")]
    JweReceiver,
    /// Plain JSON (the transport is still TLS and signed).
    None,
}

/// Most public keys an endpoint lists (a current one and the next, with room to spare).
pub const MAX_RECEIVER_KEYS: usize = 4;

/// An endpoint as a practitioner asked for it (`POST /v1/endpoints`), before it is
/// checked by [`EndpointSpec::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointDraft {
    /// Target URL.
    pub url: String,
    /// Payload format; `gaprelay.v1` when absent.
    pub format: Option<Format>,
    /// Encryption; `jwe` when absent.
    pub encryption: Option<Encryption>,
    /// Free text for the practitioner.
    pub description: Option<String>,
    /// The receiver's public JWKs, for `jwe-receiver` only.
    pub receiver_keys: Option<Vec<serde_json::Value>>,
}

/// A validated endpoint definition (secrets are minted by the caller).
#[derive(Debug, Clone)]
pub struct EndpointSpec {
    url: url::Url,
    format: Format,
    encryption: Encryption,
    description: Option<String>,
    receiver_keys: Vec<ReceiverKey>,
}

/// Longest endpoint URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Whether an address is one webhooks must never reach unless private targets are
/// allowed: loopback, private, link-local (cloud metadata), CGNAT, unique-local,
/// unspecified, multicast, broadcast, documentation, benchmarking and reserved ranges;
/// IPv6 forms that carry an IPv4 address are judged by that address (IPv4-mapped
/// `::ffff:0:0/96`, IPv4-translated `::ffff:0:0:0/96`, IPv4-compatible `::/96`, NAT64
/// `64:ff9b::/96`); translation and tunnel prefixes whose IPv4 address cannot be told
/// or that reach IPv4 hosts through a relay are refused whole (local-use NAT64
/// `64:ff9b:1::/48`, 6to4 `2002::/16`, Teredo `2001::/32`).
pub fn is_forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_forbidden_v4(v4);
            }
            let seg = v6.segments();
            let embedded = || {
                Ipv4Addr::new(
                    (seg[6] >> 8) as u8,
                    seg[6] as u8,
                    (seg[7] >> 8) as u8,
                    seg[7] as u8,
                )
            };
            // IPv4-translated (::ffff:0:a.b.c.d, SIIT): the address it stands for.
            if seg[..6] == [0, 0, 0, 0, 0xffff, 0] {
                return is_forbidden_v4(embedded());
            }
            // IPv4-compatible (::a.b.c.d, deprecated) and NAT64 (64:ff9b::/96) embed IPv4.
            if seg[..6] == [0, 0, 0, 0, 0, 0] || seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return v6 == Ipv6Addr::UNSPECIFIED
                    || v6 == Ipv6Addr::LOCALHOST
                    || is_forbidden_v4(embedded());
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] == 0x64 && seg[1] == 0xff9b) // NAT64, local use 64:ff9b:1::/48 and the rest of 64:ff9b::/32
                || seg[0] == 0x2002 // 6to4 2002::/16: reaches IPv4 hosts through a relay
                || (seg[0] == 0x2001 && seg[1] == 0) // Teredo 2001::/32
                || (seg[0] == 0x2001 && seg[1] == 0x0002 && seg[2] == 0) // benchmarking 2001:2::/48
                || (seg[0] == 0x2001 && (seg[1] & 0xffe0) == 0x0020) // ORCHIDv2 2001:20::/28
                || (seg[0] == 0x2001 && (seg[1] & 0xfff0) == 0x0010) // ORCHID 2001:10::/28
                || seg[..4] == [0x0100, 0, 0, 0] // discard-only 100::/64
                || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (seg[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (seg[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
                || seg[0] == 0x2001 && seg[1] == 0x0db8 // documentation 2001:db8::/32
                || (seg[0] & 0xfff0) == 0x3ff0 // documentation 3fff::/20
        }
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0 // "this network"
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // CGNAT 100.64.0.0/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18.0.0/15
        || o[0] >= 240 // reserved
}

impl EndpointSpec {
    /// Target URL.
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// Payload format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Encryption.
    pub fn encryption(&self) -> Encryption {
        self.encryption
    }

    /// Description, trimmed; `None` when empty.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The receiver's public keys (1 to [`MAX_RECEIVER_KEYS`], distinct kids) for
    /// `jwe-receiver`; empty otherwise.
    pub fn receiver_keys(&self) -> &[ReceiverKey] {
        &self.receiver_keys
    }

    /// Validates a creation request. Unless `allow_private_targets`, the URL must be
    /// `https`, and a host written as an IP address must be public; host names are
    /// checked again on the resolved address when connecting.
    pub fn parse(
        req: EndpointDraft,
        allow_private_targets: bool,
    ) -> Result<EndpointSpec, Vec<FieldProblem>> {
        let mut problems = Problems::new();
        let url = if req.url.len() > MAX_URL_LEN {
            problems.add("url", format!("must be at most {MAX_URL_LEN} characters"));
            None
        } else {
            match url::Url::parse(req.url.trim()) {
                Err(_) => {
                    problems.add("url", "is not an absolute URL");
                    None
                }
                Ok(u) => check_url(&mut problems, u, allow_private_targets),
            }
        };
        let format = req.format.unwrap_or(Format::GaprelayV1);
        let description = req
            .description
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty());
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 500)
        {
            problems.add("description", "must be at most 500 characters");
        }
        let encryption = req.encryption.unwrap_or(Encryption::Jwe);
        let receiver_keys = check_receiver_keys(&mut problems, encryption, req.receiver_keys);
        match (problems.is_empty(), url) {
            (true, Some(url)) => Ok(EndpointSpec {
                url,
                format,
                encryption,
                description,
                receiver_keys,
            }),
            _ => Err(problems.into_vec()),
        }
    }
}

/// Validates a new `receiver_keys` list for an endpoint of `encryption` (a change of
/// keys: the same rules as at creation, every problem named).
pub fn parse_receiver_keys(
    encryption: Encryption,
    jwks: Vec<serde_json::Value>,
) -> Result<Vec<ReceiverKey>, Vec<FieldProblem>> {
    let mut problems = Problems::new();
    let keys = check_receiver_keys(&mut problems, encryption, Some(jwks));
    if problems.is_empty() {
        Ok(keys)
    } else {
        Err(problems.into_vec())
    }
}

/// Reads `receiver_keys`: required (1 to [`MAX_RECEIVER_KEYS`] public JWKs with
/// distinct kids) for `jwe-receiver`, refused with any other encryption. Every problem
/// of every key is named, `receiver_keys[1].d` and so on.
fn check_receiver_keys(
    problems: &mut Problems,
    encryption: Encryption,
    jwks: Option<Vec<serde_json::Value>>,
) -> Vec<ReceiverKey> {
    const FIELD: &str = "receiver_keys";
    let jwks = match (encryption, jwks) {
        (Encryption::JweReceiver, Some(jwks)) if !jwks.is_empty() => jwks,
        (Encryption::JweReceiver, _) => {
            problems.add(
                FIELD,
                format!("is required with jwe-receiver: 1 to {MAX_RECEIVER_KEYS} public JWKs"),
            );
            return Vec::new();
        }
        (_, None) => return Vec::new(),
        (_, Some(_)) => {
            problems.add(
                FIELD,
                "is only accepted with \"encryption\": \"jwe-receiver\"",
            );
            return Vec::new();
        }
    };
    if jwks.len() > MAX_RECEIVER_KEYS {
        problems.add(FIELD, format!("must list at most {MAX_RECEIVER_KEYS} keys"));
    }
    // Each key with its index in the request, so that a repeated kid names the first.
    let mut keys: Vec<(usize, ReceiverKey)> = Vec::with_capacity(jwks.len());
    for (i, jwk) in jwks.iter().enumerate() {
        match ReceiverKey::from_jwk(jwk) {
            Ok(key) => {
                if let Some((j, _)) = keys.iter().find(|(_, k)| k.kid() == key.kid()) {
                    problems.add(
                        format!("{FIELD}[{i}].kid"),
                        format!("repeats the kid of {FIELD}[{j}]; each key needs its own"),
                    );
                }
                keys.push((i, key));
            }
            Err(errs) => {
                for e in errs {
                    let field = match e.member {
                        "" => format!("{FIELD}[{i}]"),
                        member => format!("{FIELD}[{i}].{member}"),
                    };
                    problems.add(field, e.reason);
                }
            }
        }
    }
    keys.into_iter().map(|(_, key)| key).collect()
}

fn check_url(problems: &mut Problems, u: url::Url, allow_private: bool) -> Option<url::Url> {
    let scheme_ok = u.scheme() == "https" || (allow_private && u.scheme() == "http");
    if !scheme_ok {
        problems.add("url", "must use https://");
        return None;
    }
    if !u.username().is_empty() || u.password().is_some() {
        problems.add("url", "must not contain credentials");
        return None;
    }
    if u.fragment().is_some() {
        problems.add("url", "must not contain a fragment");
        return None;
    }
    // The url crate already normalises decimal, hex and octal IPv4 spellings
    // (`http://2130706433/`, `0x7f.1`) to dotted form, so this check sees them too.
    let forbidden = match u.host() {
        None => {
            problems.add("url", "must have a host");
            return None;
        }
        Some(url::Host::Ipv4(ip)) => is_forbidden_ip(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_forbidden_ip(IpAddr::V6(ip)),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost"
                || d.ends_with(".localhost")
                || d.ends_with(".internal")
                || d.ends_with(".local")
        }
    };
    if forbidden && !allow_private {
        problems.add("url", "must point to a public address");
        return None;
    }
    Some(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(url: &str) -> EndpointDraft {
        EndpointDraft {
            url: url.into(),
            format: None,
            encryption: None,
            description: None,
            receiver_keys: None,
        }
    }

    #[test]
    fn https_public_urls_are_accepted_with_jwe_by_default() {
        let s = EndpointSpec::parse(req("https://crm.example.com/hooks/gaprelay"), false)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(s.encryption(), Encryption::Jwe);
        assert_eq!(s.format(), Format::GaprelayV1);
    }

    #[test]
    fn private_and_odd_targets_are_refused_in_production() {
        for url in [
            "http://crm.example.com/",
            "https://user:pw@crm.example.com/",
            "https://127.0.0.1/",
            "https://2130706433/",
            "https://0x7f.0.0.1/",
            "https://0177.0.0.1/",
            "https://10.1.2.3/",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/",
            "https://[::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://0.0.0.0/",
            "https://localhost/",
            "https://metadata.google.internal/",
        ] {
            assert!(EndpointSpec::parse(req(url), false).is_err(), "{url}");
        }
    }

    #[test]
    fn private_targets_are_allowed_when_configured() {
        assert!(EndpointSpec::parse(req("http://127.0.0.1:9999/hook"), true).is_ok());
    }

    fn forbidden(ip: &str) -> bool {
        is_forbidden_ip(ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}")))
    }

    #[test]
    fn ipv4_mapped_addresses_are_judged_as_the_ipv4_address_they_carry() {
        for ip in [
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:0.0.0.0",
            "::ffff:100.64.0.1",
            "::ffff:7f00:1",
        ] {
            assert!(forbidden(ip), "{ip}");
        }
        assert!(!forbidden("::ffff:8.8.8.8"));
        assert!(!forbidden("::ffff:1.1.1.1"));
    }

    #[test]
    fn ipv4_translated_addresses_are_judged_as_the_ipv4_address_they_carry() {
        for ip in [
            "::ffff:0:127.0.0.1",
            "::ffff:0:10.1.2.3",
            "::ffff:0:169.254.169.254",
        ] {
            assert!(forbidden(ip), "{ip}");
        }
        assert!(!forbidden("::ffff:0:8.8.8.8"));
    }

    #[test]
    fn nat64_addresses_are_judged_by_their_ipv4_and_the_local_use_prefix_is_refused() {
        assert!(forbidden("64:ff9b::127.0.0.1"));
        assert!(forbidden("64:ff9b::a9fe:a9fe"));
        assert!(!forbidden("64:ff9b::8.8.8.8"));
        // 64:ff9b:1::/48 places the IPv4 address where the operator likes: refused whole.
        for ip in [
            "64:ff9b:1::",
            "64:ff9b:1::8.8.8.8",
            "64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
            "64:ff9b:1:a00::1",
        ] {
            assert!(forbidden(ip), "{ip}");
        }
    }

    #[test]
    fn six_to_four_and_teredo_tunnels_are_refused() {
        for ip in [
            "2002::",
            "2002:7f00:1::",
            "2002:a00:1::1",
            "2002:808:808::1",
            "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ] {
            assert!(forbidden(ip), "{ip}");
        }
    }

    #[test]
    fn other_special_purpose_ipv6_ranges_are_refused() {
        for ip in [
            "100::1",
            "2001:2::1",
            "2001:10::1",
            "2001:20::1",
            "2001:db8::1",
            "3fff::1",
            "fec0::1",
        ] {
            assert!(forbidden(ip), "{ip}");
        }
    }

    #[test]
    fn translation_ranges_are_refused_as_endpoint_urls_too() {
        for url in [
            "https://[64:ff9b:1::a00:1]/",
            "https://[::ffff:a00:1]/",
            "https://[::ffff:0:a00:1]/",
            "https://[2002:a00:1::]/",
        ] {
            assert!(EndpointSpec::parse(req(url), false).is_err(), "{url}");
        }
    }

    #[test]
    fn public_addresses_are_not_forbidden() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4001::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap_or_else(|e| panic!("{e}"));
            assert!(!is_forbidden_ip(ip), "{ip}");
        }
    }
}
