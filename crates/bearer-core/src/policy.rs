//! When the cache refreshes, and how it backs off.

use std::time::Duration;

use tokio::time::Instant;

use crate::token::far_future;
use crate::Token;

/// Refresh-ahead starts this fraction of a token's lifetime before it expires...
pub const DEFAULT_REFRESH_AHEAD_FRACTION: f64 = 0.25;
/// ...but never earlier than this before expiry (a 1-hour token refreshes 5 minutes early).
pub const DEFAULT_REFRESH_AHEAD_MAX: Duration = Duration::from_secs(300);
/// A token is not served within this margin of its expiry, for clock skew between us, the
/// token endpoint and the API, and for the request's own flight time. Capped at a tenth of
/// the token's lifetime so a short-lived token is still usable.
pub const DEFAULT_HARD_MARGIN: Duration = Duration::from_secs(30);
/// The first wait after a failed refresh.
pub const DEFAULT_BACKOFF_FLOOR: Duration = Duration::from_secs(1);
/// The longest wait between refresh attempts after repeated failures. An endpoint's own
/// `Retry-After` (or rate-limit window) may ask for longer, up to [`MAX_RETRY_AFTER`].
pub const DEFAULT_BACKOFF_CEILING: Duration = Duration::from_secs(30);
/// The longest `Retry-After` (or rate-limit window, see
/// [`Error::retry_after`](crate::Error::retry_after)) honoured by default: ten minutes. A
/// longer request is read as this, so a bogus header cannot stall refreshes for hours.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);
/// Each backoff is shortened by a random share of up to this fraction, so a fleet that
/// failed together does not retry together.
pub const DEFAULT_JITTER: f64 = 0.2;

/// The policy a [`TokenCache`](crate::TokenCache) applies. Build it from
/// [`RefreshPolicy::default`] and the `with_*` setters.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshPolicy {
    refresh_ahead_fraction: f64,
    refresh_ahead_max: Duration,
    hard_margin: Duration,
    backoff_floor: Duration,
    backoff_ceiling: Duration,
    jitter: f64,
    no_expiry_lifetime: Option<Duration>,
    max_retry_after: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            refresh_ahead_fraction: DEFAULT_REFRESH_AHEAD_FRACTION,
            refresh_ahead_max: DEFAULT_REFRESH_AHEAD_MAX,
            hard_margin: DEFAULT_HARD_MARGIN,
            backoff_floor: DEFAULT_BACKOFF_FLOOR,
            backoff_ceiling: DEFAULT_BACKOFF_CEILING,
            jitter: DEFAULT_JITTER,
            no_expiry_lifetime: None,
            max_retry_after: MAX_RETRY_AFTER,
        }
    }
}

/// When an installed token should be refreshed in the background, and when it may no
/// longer be served.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    pub(crate) refresh_at: Instant,
    pub(crate) stale_at: Instant,
}

impl RefreshPolicy {
    /// Sets the refresh-ahead fraction of the lifetime (clamped to 0..=0.5).
    pub fn with_refresh_ahead_fraction(mut self, fraction: f64) -> Self {
        self.refresh_ahead_fraction = if fraction.is_finite() { fraction.clamp(0.0, 0.5) } else { 0.0 };
        self
    }

    /// Sets the longest refresh-ahead window.
    pub fn with_refresh_ahead_max(mut self, max: Duration) -> Self {
        self.refresh_ahead_max = max;
        self
    }

    /// Sets the hard safety margin before expiry.
    pub fn with_hard_margin(mut self, margin: Duration) -> Self {
        self.hard_margin = margin;
        self
    }

    /// Sets the backoff floor and ceiling (the ceiling is raised to the floor if lower).
    pub fn with_backoff(mut self, floor: Duration, ceiling: Duration) -> Self {
        self.backoff_floor = floor;
        self.backoff_ceiling = ceiling.max(floor);
        self
    }

    /// Sets the jitter fraction (clamped to 0..=1); 0 makes backoff deterministic.
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 0.0 };
        self
    }

    /// Treats a token without expiry as if it lived this long. By default such a token is
    /// served until it is invalidated (for instance by a 401).
    pub fn with_no_expiry_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.no_expiry_lifetime = lifetime;
        self
    }

    /// Sets the longest endpoint-requested wait (`Retry-After`, rate-limit window) honoured
    /// (default [`MAX_RETRY_AFTER`]).
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The longest wait between attempts.
    pub fn backoff_ceiling(&self) -> Duration {
        self.backoff_ceiling
    }

    pub(crate) fn schedule(&self, token: &Token) -> Schedule {
        let received = token.received_at();
        let expires_at = match (token.expires_at(), self.no_expiry_lifetime) {
            (Some(at), _) => at,
            (None, Some(lifetime)) => received.checked_add(lifetime).unwrap_or_else(far_future),
            (None, None) => {
                let never = far_future();
                return Schedule { refresh_at: never, stale_at: never };
            }
        };
        let lifetime = expires_at.saturating_duration_since(received);
        // Both margins scale down with short lifetimes so that a token is always served for
        // most of its life: a 1-second token is not refreshed on every call.
        let margin = self.hard_margin.min(lifetime / 10);
        let ahead = lifetime.mul_f64(self.refresh_ahead_fraction).min(self.refresh_ahead_max).max(margin);
        Schedule {
            refresh_at: expires_at.checked_sub(ahead).unwrap_or(received),
            stale_at: expires_at.checked_sub(margin).unwrap_or(received),
        }
    }

    /// The wait after the `failures`-th consecutive failure (1-based); `unit` in [0, 1) is
    /// the random draw for jitter. The ceiling caps the exponential part; the endpoint's
    /// `Retry-After` lengthens the wait up to the policy's `max_retry_after`.
    pub(crate) fn backoff(&self, failures: u32, retry_after: Option<Duration>, unit: f64) -> Duration {
        let exponent = failures.saturating_sub(1).min(20);
        let base = self.backoff_floor.saturating_mul(1u32 << exponent).min(self.backoff_ceiling);
        let jittered = base.mul_f64(1.0 - self.jitter * unit.clamp(0.0, 1.0));
        jittered.max(retry_after.unwrap_or_default().min(self.max_retry_after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AccessToken;

    fn token(lifetime: Duration) -> Token {
        Token::builder(AccessToken::new("t")).expires_in(lifetime).build().expect("valid token")
    }

    #[tokio::test(start_paused = true)]
    async fn one_hour_token_schedule() {
        let t = token(Duration::from_secs(3600));
        let s = RefreshPolicy::default().schedule(&t);
        assert_eq!(s.refresh_at - t.received_at(), Duration::from_secs(3300));
        assert_eq!(s.stale_at - t.received_at(), Duration::from_secs(3570));
    }

    #[tokio::test(start_paused = true)]
    async fn short_token_keeps_most_of_its_life() {
        let t = token(Duration::from_secs(1));
        let s = RefreshPolicy::default().schedule(&t);
        assert_eq!(s.refresh_at - t.received_at(), Duration::from_millis(750));
        assert_eq!(s.stale_at - t.received_at(), Duration::from_millis(900));
    }

    #[test]
    fn backoff_doubles_up_to_the_ceiling_and_honours_retry_after() {
        let p = RefreshPolicy::default().with_jitter(0.0);
        let secs = |n, ra| p.backoff(n, ra, 0.5).as_secs();
        assert_eq!([secs(1, None), secs(2, None), secs(3, None), secs(6, None), secs(40, None)], [1, 2, 4, 30, 30]);
        assert_eq!(secs(1, Some(Duration::from_secs(10))), 10);
        assert_eq!(secs(1, Some(Duration::from_secs(60))), 60, "a per-minute limit is waited out");
        assert_eq!(secs(1, Some(Duration::from_secs(3600))), MAX_RETRY_AFTER.as_secs());
        let jittered = RefreshPolicy::default().backoff(3, None, 0.5);
        assert_eq!(jittered, Duration::from_secs(4).mul_f64(0.9));
    }
}
