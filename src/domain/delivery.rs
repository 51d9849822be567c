//! The status of a message's delivery, as the delivery log records it and the API shows
//! it: one closed set of values, serialised to the same strings the log has always held.

use serde::{Deserialize, Serialize};

/// Where a queued message's delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Queued, not attempted yet.
    Pending,
    /// Held: the practice had no enabled endpoint when it was queued; the first one
    /// enabled within its lifetime receives it.
    AwaitingEndpoint,
    /// Attempted and failed; due again.
    Retrying,
    /// Delivered (a 2xx answer).
    Delivered,
    /// Dropped: its endpoint answered 410, or was disabled or removed meanwhile.
    Failed,
    /// Not delivered before its expiry.
    Expired,
    /// The queue entry could not be opened and was moved aside.
    Undeliverable,
}

impl DeliveryStatus {
    /// Every status, in the order a delivery may pass through them.
    pub const ALL: [DeliveryStatus; 7] = [
        DeliveryStatus::Pending,
        DeliveryStatus::AwaitingEndpoint,
        DeliveryStatus::Retrying,
        DeliveryStatus::Delivered,
        DeliveryStatus::Failed,
        DeliveryStatus::Expired,
        DeliveryStatus::Undeliverable,
    ];

    /// The status as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::AwaitingEndpoint => "awaiting_endpoint",
            DeliveryStatus::Retrying => "retrying",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Expired => "expired",
            DeliveryStatus::Undeliverable => "undeliverable",
        }
    }

    /// Parses a stored status; `None` for anything else (stored data is untrusted).
    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        DeliveryStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Still to be delivered: queued, held or between retries.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            DeliveryStatus::Pending | DeliveryStatus::AwaitingEndpoint | DeliveryStatus::Retrying
        )
    }
}

impl std::fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for DeliveryStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_status_serialises_parses_and_displays_as_the_string_the_log_holds() {
        for status in DeliveryStatus::ALL {
            let json = serde_json::to_value(status).unwrap_or_default();
            assert_eq!(json, serde_json::json!(status.as_str()));
            assert_eq!(DeliveryStatus::parse(status.as_str()), Some(status));
            assert_eq!(status.to_string(), status.as_str());
        }
        assert_eq!(DeliveryStatus::parse("Pending"), None);
        assert_eq!(DeliveryStatus::parse(""), None);
    }
}
