//! Quiet bot screening of submissions, pure: a filled honeypot field, a form token that
//! is not genuine, or a form sent back sooner than a person could fill it in. A
//! submission caught here is answered as if accepted and then discarded, so that a bot
//! learns nothing to adapt to.
//!
//! Only what the relay can verify counts: the honeypot (people never see it) and the
//! signed form token (the relay dated it itself). The form's own `time_on_tool_s` is the
//! client's word and is not used. A submission without a token (an integrator posting
//! from its own server) is not screened by time.

use std::time::Duration;

/// Clock differences between relay instances tolerated on a token's issue time.
const CLOCK_SKEW_MS: i64 = 5_000;

/// Why a submission was taken for automated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotSignal {
    /// The hidden honeypot field was filled in.
    Honeypot,
    /// The form token is forged, altered or for another form.
    BadToken,
    /// The form came back sooner than the minimum fill time.
    TooFast,
}

impl BotSignal {
    /// A stable name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            BotSignal::Honeypot => "honeypot",
            BotSignal::BadToken => "bad_form_token",
            BotSignal::TooFast => "too_fast",
        }
    }
}

/// What a form token said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    /// None was sent.
    Absent,
    /// Genuine, issued at this Unix ms.
    IssuedAt(i64),
    /// Sent, but not genuine.
    Invalid,
}

/// Screens a submission. `min_fill_time` zero turns the time check off.
pub fn screen(
    honeypot: Option<&str>,
    token: Token,
    now_ms: i64,
    min_fill_time: Duration,
) -> Option<BotSignal> {
    if honeypot.is_some_and(|h| !h.trim().is_empty()) {
        return Some(BotSignal::Honeypot);
    }
    match token {
        Token::Absent => None,
        Token::Invalid => Some(BotSignal::BadToken),
        Token::IssuedAt(at) if at > now_ms.saturating_add(CLOCK_SKEW_MS) => {
            Some(BotSignal::BadToken)
        }
        Token::IssuedAt(_) if min_fill_time.is_zero() => None,
        Token::IssuedAt(at) => {
            let min = i64::try_from(min_fill_time.as_millis()).unwrap_or(i64::MAX);
            (now_ms.saturating_sub(at) < min).then_some(BotSignal::TooFast)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(3);

    #[test]
    fn a_person_passes() {
        assert_eq!(screen(None, Token::IssuedAt(0), 60_000, MIN), None);
        assert_eq!(screen(Some(""), Token::IssuedAt(0), 3_000, MIN), None);
        assert_eq!(screen(Some("  "), Token::Absent, 0, MIN), None);
    }

    #[test]
    fn a_filled_honeypot_is_a_bot_whatever_else() {
        assert_eq!(
            screen(Some("http://spam"), Token::IssuedAt(0), 60_000, MIN),
            Some(BotSignal::Honeypot)
        );
    }

    #[test]
    fn too_fast_forged_or_from_the_future_is_a_bot() {
        assert_eq!(
            screen(None, Token::IssuedAt(0), 2_999, MIN),
            Some(BotSignal::TooFast)
        );
        assert_eq!(
            screen(None, Token::Invalid, 60_000, MIN),
            Some(BotSignal::BadToken)
        );
        assert_eq!(
            screen(None, Token::IssuedAt(100_000), 60_000, MIN),
            Some(BotSignal::BadToken)
        );
        // A little skew between instances is fine.
        assert_eq!(
            screen(None, Token::IssuedAt(64_000), 60_000, Duration::ZERO),
            None
        );
    }

    #[test]
    fn a_zero_minimum_turns_the_time_check_off() {
        assert_eq!(screen(None, Token::IssuedAt(0), 0, Duration::ZERO), None);
    }
}
