//! When the cache refreshes, how often it may ask the token endpoint, and how it backs off.

use std::time::Duration;

use tokio::time::Instant;

use crate::token::{after_or_never, far_after};

/// Refresh-ahead starts this fraction of a token's lifetime before it expires...
pub const DEFAULT_REFRESH_AHEAD_FRACTION: f64 = 0.25;
/// ...but never earlier than this before expiry (a 1-hour token refreshes 5 minutes early).
pub const DEFAULT_REFRESH_AHEAD_MAX: Duration = Duration::from_secs(300);
/// A token is not served within this margin of its expiry, for clock skew between us, the
/// token endpoint and the API, and for the request's own flight time. Capped at a tenth of
/// the token's lifetime so a short-lived token is still usable, but never below
/// [`DEFAULT_MIN_HARD_MARGIN`] where the lifetime allows.
pub const DEFAULT_HARD_MARGIN: Duration = Duration::from_secs(30);
/// The least hard margin: servers count expiry in whole seconds, so a token can die up to a
/// second before its `expires_in` runs out. Kept for every token that lives at least twice as
/// long (and at least this plus the [minimum fetch interval](DEFAULT_MIN_FETCH_INTERVAL)).
pub const DEFAULT_MIN_HARD_MARGIN: Duration = Duration::from_secs(1);
/// The token endpoint is asked at most once per this interval, whatever the tokens' lifetimes
/// say: a token that claims to live less (`expires_in: 0` or `1`) is served for this long,
/// counted like any lifetime from the start of its fetch. From an endpoint slower than this
/// interval such a token lands stale, and is a failed attempt
/// ([`Error::StaleOnArrival`](crate::Error::StaleOnArrival)), not a token.
pub const DEFAULT_MIN_FETCH_INTERVAL: Duration = Duration::from_secs(1);
/// The longest [minimum fetch interval](RefreshPolicy::with_min_fetch_interval) or
/// [rejection refresh interval](RefreshPolicy::with_rejection_refresh_interval) a policy
/// takes (a day); longer ones are cut to it. A spacing longer than a day is a mistake, and one
/// the clock cannot add to an instant (`Duration::MAX`) would otherwise be no spacing at all,
/// or a wait without end for a caller whose token was rejected.
pub const MAX_FETCH_SPACING: Duration = Duration::from_secs(24 * 3600);
/// A rejected token (an API's 401) makes the cache fetch a new one at most once per this
/// interval. An API that rejects every token (a permission error, a wrong audience) costs one
/// fetch per interval, not one per request; in between, the rejection goes to the caller.
pub const DEFAULT_REJECTION_REFRESH_INTERVAL: Duration = Duration::from_secs(5);
/// The longest the cache waits for one [`TokenSource::fetch`](crate::TokenSource::fetch)
/// before failing it with a transient timeout error, whatever the source's HTTP client does.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(30);
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
    min_hard_margin: Duration,
    min_fetch_interval: Duration,
    rejection_refresh_interval: Duration,
    fetch_timeout: Duration,
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
            min_hard_margin: DEFAULT_MIN_HARD_MARGIN,
            min_fetch_interval: DEFAULT_MIN_FETCH_INTERVAL,
            rejection_refresh_interval: DEFAULT_REJECTION_REFRESH_INTERVAL,
            fetch_timeout: DEFAULT_FETCH_TIMEOUT,
            backoff_floor: DEFAULT_BACKOFF_FLOOR,
            backoff_ceiling: DEFAULT_BACKOFF_CEILING,
            jitter: DEFAULT_JITTER,
            no_expiry_lifetime: None,
            max_retry_after: MAX_RETRY_AFTER,
        }
    }
}

/// The instants, on the cache's clock, that govern one installed token.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    /// From here a background refresh starts; before it, a hit is served without a lock.
    pub(crate) refresh_at: Instant,
    /// From here the token is not served while a refresh can be had.
    pub(crate) stale_at: Instant,
    /// From here the token is never served (it has expired).
    pub(crate) expires_at: Instant,
}

/// Where a token stands under a [`RefreshPolicy`], by its age: what a
/// [`TokenCache`](crate::TokenCache) holding it would do now. See [`RefreshPolicy::standing`].
/// Ordered from the youngest standing to the oldest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TokenStanding {
    /// Served as it is.
    Fresh,
    /// Still served, but inside the refresh-ahead window: the cache starts a refresh.
    RefreshAhead,
    /// Inside the hard margin before expiry: not served while a new token can be had; served
    /// only if the refresh fails.
    Stale,
    /// Past its (policy) expiry: never served.
    Expired,
}

/// The offsets from a token's anchor at which its [`Schedule`] instants fall.
#[derive(Debug, Clone, Copy)]
struct Offsets {
    refresh_after: Duration,
    stale_after: Duration,
    expires_after: Duration,
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

    /// Sets the hard safety margin before expiry (see [`DEFAULT_HARD_MARGIN`]).
    pub fn with_hard_margin(mut self, margin: Duration) -> Self {
        self.hard_margin = margin;
        self
    }

    /// Sets the least hard margin kept where the lifetime allows (see
    /// [`DEFAULT_MIN_HARD_MARGIN`]).
    pub fn with_min_hard_margin(mut self, margin: Duration) -> Self {
        self.min_hard_margin = margin;
        self
    }

    /// Sets the minimum interval between two fetches (see [`DEFAULT_MIN_FETCH_INTERVAL`]), at
    /// most [`MAX_FETCH_SPACING`]. A token claiming a shorter life than this interval is served
    /// for the interval (counted from its fetch's start): keep it well below your tokens'
    /// lifetimes, or tokens are served past their expiry.
    pub fn with_min_fetch_interval(mut self, interval: Duration) -> Self {
        self.min_fetch_interval = interval.min(MAX_FETCH_SPACING);
        self
    }

    /// Sets the minimum interval between two refreshes caused by rejected tokens (see
    /// [`DEFAULT_REJECTION_REFRESH_INTERVAL`]), at most [`MAX_FETCH_SPACING`].
    pub fn with_rejection_refresh_interval(mut self, interval: Duration) -> Self {
        self.rejection_refresh_interval = interval.min(MAX_FETCH_SPACING);
        self
    }

    /// Sets the deadline of one fetch (see [`DEFAULT_FETCH_TIMEOUT`]).
    pub fn with_fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch_timeout = timeout;
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

    /// The minimum interval between two fetches.
    pub fn min_fetch_interval(&self) -> Duration {
        self.min_fetch_interval
    }

    /// The minimum interval between two refreshes caused by rejected tokens.
    pub fn rejection_refresh_interval(&self) -> Duration {
        self.rejection_refresh_interval
    }

    /// The deadline of one fetch.
    pub fn fetch_timeout(&self) -> Duration {
        self.fetch_timeout
    }

    /// The schedule of a token that lives `lifetime` (`None`: no expiry) from `anchor`, the
    /// instant its fetch started on the cache's clock (so time in flight counts against it).
    ///
    /// A lifetime under the minimum fetch interval is raised to it. The hard margin is the
    /// configured one capped at a tenth of the lifetime, but at least the minimum margin
    /// capped at half the lifetime; and the token stays servable for at least the minimum
    /// fetch interval, so nothing asks the endpoint more often than that.
    pub(crate) fn schedule(&self, lifetime: Option<Duration>, anchor: Instant) -> Schedule {
        let Some(offsets) = self.offsets(lifetime) else {
            let never = far_after(anchor);
            return Schedule { refresh_at: never, stale_at: never, expires_at: never };
        };
        let at = |after: Duration| after_or_never(anchor, after);
        Schedule {
            refresh_at: at(offsets.refresh_after),
            stale_at: at(offsets.stale_after),
            expires_at: at(offsets.expires_after),
        }
    }

    /// How a token that lives `lifetime` (`None`: it stated no expiry) stands `age` after its
    /// fetch started, under this policy: the rule the [`TokenCache`](crate::TokenCache)
    /// applies, for a caller that keeps tokens elsewhere (on disk, say) and must decide
    /// whether one may still be used. A token without expiry is [`Fresh`](TokenStanding::Fresh)
    /// forever unless [`with_no_expiry_lifetime`](Self::with_no_expiry_lifetime) gave it one.
    ///
    /// ```
    /// use std::time::Duration;
    /// use bearer_core::{RefreshPolicy, TokenStanding};
    ///
    /// let hour = Some(Duration::from_secs(3600));
    /// let policy = RefreshPolicy::default();
    /// assert_eq!(policy.standing(hour, Duration::from_secs(600)), TokenStanding::Fresh);
    /// assert_eq!(policy.standing(hour, Duration::from_secs(3400)), TokenStanding::RefreshAhead);
    /// ```
    pub fn standing(&self, lifetime: Option<Duration>, age: Duration) -> TokenStanding {
        let Some(offsets) = self.offsets(lifetime) else {
            return TokenStanding::Fresh;
        };
        if age >= offsets.expires_after {
            TokenStanding::Expired
        } else if age >= offsets.stale_after {
            TokenStanding::Stale
        } else if age >= offsets.refresh_after {
            TokenStanding::RefreshAhead
        } else {
            TokenStanding::Fresh
        }
    }

    /// How long after its fetch started a token that lives `lifetime` (`None`: it stated no
    /// expiry) reaches its stale point under this policy, from which a
    /// [`TokenCache`](crate::TokenCache) no longer serves it while a refresh can be had (where
    /// [`standing`](Self::standing) turns [`Stale`](TokenStanding::Stale)). `None` for a token
    /// that never goes stale.
    ///
    /// ```
    /// use std::time::Duration;
    /// use bearer_core::RefreshPolicy;
    ///
    /// let hour = Some(Duration::from_secs(3600));
    /// assert_eq!(RefreshPolicy::default().stale_after(hour), Some(Duration::from_secs(3570)));
    /// ```
    pub fn stale_after(&self, lifetime: Option<Duration>) -> Option<Duration> {
        self.offsets(lifetime).map(|offsets| offsets.stale_after)
    }

    /// The schedule's offsets from the anchor; `None` for a token that never expires.
    fn offsets(&self, lifetime: Option<Duration>) -> Option<Offsets> {
        let lifetime = lifetime.or(self.no_expiry_lifetime)?;
        let lifetime = lifetime.max(self.min_fetch_interval);
        let margin = self.hard_margin.min(lifetime / 10).max(self.min_hard_margin.min(lifetime / 2));
        let servable = lifetime.saturating_sub(margin).max(self.min_fetch_interval);
        // Refresh-ahead opens at least one margin before the stale point, so callers do not
        // wait for a refresh that could have run in the background; never in the first half
        // of the servable time, so a short token is not refreshed on nearly every call.
        let ahead =
            lifetime.mul_f64(self.refresh_ahead_fraction).min(self.refresh_ahead_max).max(margin.saturating_mul(2));
        let refresh_after = lifetime.saturating_sub(ahead).clamp(servable / 2, servable);
        Some(Offsets { refresh_after, stale_after: servable, expires_after: lifetime })
    }

    /// The wait after the `failures`-th consecutive failure (1-based); `unit` in [0, 1) is
    /// the random draw for jitter. The ceiling caps the exponential part; the endpoint's
    /// `Retry-After` lengthens the wait up to the policy's `max_retry_after`.
    pub(crate) fn backoff(&self, failures: u32, retry_after: Option<Duration>, unit: f64) -> Duration {
        let exponent = failures.saturating_sub(1).min(20);
        let base = self.backoff_floor.saturating_mul(1u32 << exponent).min(self.backoff_ceiling);
        // `mul_f64` panics for a base near `Duration::MAX` (its f64 rounds up past it); the
        // factor is at most 1, so the base itself is the right answer there.
        let factor = 1.0 - self.jitter * unit.clamp(0.0, 1.0);
        let jittered = Duration::try_from_secs_f64(base.as_secs_f64() * factor).map_or(base, |j| j.min(base));
        jittered.max(retry_after.unwrap_or_default().min(self.max_retry_after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (refresh_at, stale_at, expires_at) after the anchor, in milliseconds.
    fn schedule_ms(policy: &RefreshPolicy, lifetime_ms: u64) -> (u128, u128, u128) {
        let anchor = Instant::now();
        let s = policy.schedule(Some(Duration::from_millis(lifetime_ms)), anchor);
        let ms = |at: Instant| (at - anchor).as_millis();
        (ms(s.refresh_at), ms(s.stale_at), ms(s.expires_at))
    }

    #[test]
    fn one_hour_token_schedule() {
        assert_eq!(schedule_ms(&RefreshPolicy::default(), 3_600_000), (3_300_000, 3_570_000, 3_600_000));
    }

    #[test]
    fn a_short_token_keeps_a_second_of_margin_for_skew() {
        // 4 s: a tenth (400 ms) would not cover a server that counts whole seconds.
        assert_eq!(schedule_ms(&RefreshPolicy::default(), 4_000), (2_000, 3_000, 4_000));
        assert_eq!(schedule_ms(&RefreshPolicy::default(), 20_000), (15_000, 18_000, 20_000));
        assert_eq!(schedule_ms(&RefreshPolicy::default(), 2_000), (500, 1_000, 2_000));
    }

    #[test]
    fn a_tiny_or_zero_lifetime_is_served_for_the_minimum_fetch_interval() {
        for lifetime in [0, 1, 500, 1_000] {
            let (refresh, stale, expires) = schedule_ms(&RefreshPolicy::default(), lifetime);
            assert_eq!((refresh, stale, expires), (500, 1_000, 1_000), "{lifetime} ms");
        }
    }

    #[test]
    fn a_token_without_expiry_never_goes_stale_unless_the_policy_says() {
        let anchor = Instant::now();
        let never = RefreshPolicy::default().schedule(None, anchor);
        assert!(never.stale_at - anchor > Duration::from_secs(10 * 365 * 24 * 3600));
        let ten_minutes = RefreshPolicy::default().with_no_expiry_lifetime(Some(Duration::from_secs(600)));
        assert_eq!(ten_minutes.schedule(None, anchor).expires_at - anchor, Duration::from_secs(600));
    }

    #[test]
    fn standing_follows_the_schedule_of_an_hour_token() {
        let policy = RefreshPolicy::default();
        let at = |age| policy.standing(Some(Duration::from_secs(3600)), Duration::from_secs(age));
        assert_eq!(at(0), TokenStanding::Fresh);
        assert_eq!(at(3299), TokenStanding::Fresh);
        assert_eq!(at(3300), TokenStanding::RefreshAhead);
        assert_eq!(at(3569), TokenStanding::RefreshAhead);
        assert_eq!(at(3570), TokenStanding::Stale);
        assert_eq!(at(3599), TokenStanding::Stale);
        assert_eq!(at(3600), TokenStanding::Expired);
    }

    #[test]
    fn standing_of_a_short_token_refreshes_at_half_its_servable_time() {
        // 40 s: margin 4 s, servable 36 s, refresh-ahead from 30 s (a quarter of the life).
        let at = |age| RefreshPolicy::default().standing(Some(Duration::from_secs(40)), Duration::from_secs(age));
        assert_eq!(
            [at(29), at(30), at(36), at(40)],
            [TokenStanding::Fresh, TokenStanding::RefreshAhead, TokenStanding::Stale, TokenStanding::Expired]
        );
    }

    #[test]
    fn standing_of_a_token_without_expiry_follows_the_no_expiry_lifetime() {
        let week = Duration::from_secs(7 * 24 * 3600);
        assert_eq!(RefreshPolicy::default().standing(None, week), TokenStanding::Fresh);
        let hour = RefreshPolicy::default().with_no_expiry_lifetime(Some(Duration::from_secs(3600)));
        assert_eq!(hour.standing(None, Duration::from_secs(60)), TokenStanding::Fresh);
        assert_eq!(hour.standing(None, Duration::from_secs(3580)), TokenStanding::Stale);
        assert_eq!(hour.standing(None, Duration::from_secs(3601)), TokenStanding::Expired);
    }

    #[test]
    fn standing_changes_exactly_at_the_instants_the_cache_schedules() {
        let policy = RefreshPolicy::default();
        for lifetime_ms in [0, 900, 2_000, 4_000, 40_000, 3_600_000] {
            let lifetime = Some(Duration::from_millis(lifetime_ms));
            let anchor = Instant::now();
            let schedule = policy.schedule(lifetime, anchor);
            for (instant, begins) in [
                (schedule.refresh_at, TokenStanding::RefreshAhead),
                (schedule.stale_at, TokenStanding::Stale),
                (schedule.expires_at, TokenStanding::Expired),
            ] {
                let age = instant - anchor;
                // Two instants may coincide (a short token), so "at least" this standing.
                assert!(policy.standing(lifetime, age) >= begins, "{lifetime_ms} ms at {age:?}");
                let before = age - Duration::from_millis(1);
                assert!(policy.standing(lifetime, before) < begins, "{lifetime_ms} ms at {before:?}");
            }
        }
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
