//! Typed, prefixed identifiers (`prac_…`, `ep_…`, `sub_…`, `msg_…`, `key_…`).
//!
//! Each id is a newtype so that an endpoint id can never be passed where a practitioner
//! id is expected. Ids are minted from a caller-supplied random source (the domain never
//! reaches for randomness itself) and parsed once at the edge.

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Number of random characters after the prefix: 24 base-62 characters carry
/// ~143 bits, far beyond any collision concern and unguessable.
const RANDOM_LEN: usize = 24;

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The reason an id string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind} id (expected `{prefix}` followed by letters and digits)")]
pub struct IdError {
    kind: &'static str,
    prefix: &'static str,
}

fn random_suffix(rng: &mut impl rand::RngCore) -> String {
    (0..RANDOM_LEN)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

fn valid_suffix(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// Mints a fresh random id.
            pub fn generate(rng: &mut impl rand::RngCore) -> Self {
                Self(format!("{}{}", $prefix, random_suffix(rng)))
            }

            /// Parses an id received from outside (a URL, a stored record).
            pub fn parse(s: &str) -> Result<Self, IdError> {
                match s.strip_prefix($prefix) {
                    Some(rest) if valid_suffix(rest) => Ok(Self(s.to_owned())),
                    _ => Err(IdError { kind: $kind, prefix: $prefix }),
                }
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

prefixed_id!(
    /// A practitioner (a practice's account).
    PractitionerId, "prac_", "practitioner"
);
prefixed_id!(
    /// A webhook endpoint of a practitioner.
    EndpointId, "ep_", "endpoint"
);

impl EndpointId {
    /// The reserved id a submission is queued under while its practice has no enabled
    /// endpoint: it waits there (sealed, within its 24 hours) and is handed over to the
    /// first endpoint enabled in time. Generated ids are longer, so none can equal it.
    pub fn awaiting() -> EndpointId {
        EndpointId(AWAITING_ENDPOINT.to_owned())
    }

    /// Whether this is the reserved id of a message awaiting an endpoint.
    pub fn is_awaiting(&self) -> bool {
        self.0 == AWAITING_ENDPOINT
    }
}

/// The text of [`EndpointId::awaiting`].
const AWAITING_ENDPOINT: &str = "ep_awaiting";

prefixed_id!(
    /// One patient submission (shared by all the messages it fans out to).
    SubmissionId, "sub_", "submission"
);
prefixed_id!(
    /// One queued webhook message: the Standard Webhooks `webhook-id`, stable across retries.
    MessageId, "msg_", "message"
);
impl MessageId {
    /// How many characters at the end of an id decide its [`bucket`](Self::bucket).
    const BUCKET_CHARS: usize = 2;

    /// Mints a fresh random id ending in the same characters as `other`, so that it falls
    /// in the same [`bucket`](Self::bucket): the messages of one event get such ids so
    /// that the store, which partitions its queue by bucket, queues them together in one
    /// atomic step. The other 22 characters are random (~131 bits).
    pub fn generate_beside(other: &MessageId, rng: &mut impl rand::RngCore) -> MessageId {
        let mut suffix = random_suffix(rng);
        let tail = other.0.len().saturating_sub(Self::BUCKET_CHARS);
        suffix.truncate(RANDOM_LEN - Self::BUCKET_CHARS);
        suffix.push_str(other.0.get(tail..).unwrap_or_default());
        MessageId(format!("{}{suffix}", MessageId::PREFIX))
    }

    /// Which of `n` buckets the id falls in, from its last two characters: evenly spread
    /// over generated ids (3,844 equally likely endings, nearly a multiple of any small
    /// `n`), the same for ids minted beside one another.
    pub fn bucket(&self, n: usize) -> usize {
        let value = |b: u8| {
            ALPHABET
                .iter()
                .position(|&a| a == b)
                .unwrap_or(usize::from(b))
        };
        let tail = self.0.as_bytes();
        let ending = tail[tail.len().saturating_sub(Self::BUCKET_CHARS)..]
            .iter()
            .fold(0, |acc, &b| acc * ALPHABET.len() + value(b));
        ending % n.max(1)
    }
}

prefixed_id!(
    /// An API key's public identifier (never the key itself).
    ApiKeyId, "key_", "API key"
);

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn generated_ids_carry_their_prefix_and_parse_back() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let id = EndpointId::generate(&mut rng);
        assert!(id.as_str().starts_with("ep_"));
        assert_eq!(id.as_str().len(), 3 + RANDOM_LEN);
        assert_eq!(EndpointId::parse(id.as_str()), Ok(id));
    }

    #[test]
    fn an_id_minted_beside_another_ends_alike_and_differs_otherwise() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let first = MessageId::generate(&mut rng);
        for _ in 0..20 {
            let next = MessageId::generate_beside(&first, &mut rng);
            assert_eq!(next.as_str().len(), first.as_str().len());
            assert_eq!(
                next.as_str().as_bytes().last(),
                first.as_str().as_bytes().last()
            );
            assert_ne!(next, first);
            assert_eq!(MessageId::parse(next.as_str()), Ok(next));
        }
    }

    #[test]
    fn generated_ids_spread_evenly_over_buckets() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let mut counts = [0usize; 16];
        for _ in 0..16_000 {
            counts[MessageId::generate(&mut rng).bucket(16)] += 1;
        }
        // 1,000 expected in each; a skewed mapping (say, the last byte's value modulo
        // 16) leaves some buckets with about half that.
        assert!(counts.iter().all(|c| (850..1150).contains(c)), "{counts:?}");
    }

    #[test]
    fn the_awaiting_endpoint_id_parses_back_and_no_generated_id_is_it() {
        let held = EndpointId::awaiting();
        assert!(held.is_awaiting());
        assert_eq!(EndpointId::parse(held.as_str()), Ok(held.clone()));
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let minted = EndpointId::generate(&mut rng);
        assert!(!minted.is_awaiting());
        assert_ne!(minted.as_str().len(), held.as_str().len());
    }

    #[test]
    fn an_id_with_the_wrong_prefix_or_odd_characters_is_refused() {
        assert!(EndpointId::parse("prac_abc").is_err());
        assert!(EndpointId::parse("ep_").is_err());
        assert!(EndpointId::parse("ep_a/b").is_err());
        assert!(PractitionerId::parse("prac_abc123").is_ok());
    }

    #[test]
    fn deserializing_checks_the_prefix() {
        let ok: Result<MessageId, _> = serde_json::from_str("\"msg_abc\"");
        assert!(ok.is_ok());
        let bad: Result<MessageId, _> = serde_json::from_str("\"sub_abc\"");
        assert!(bad.is_err());
    }
}
