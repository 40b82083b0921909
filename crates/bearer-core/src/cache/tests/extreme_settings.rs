//! Issue 16 probes: every [`RefreshPolicy`] setter at `Duration::ZERO` and `Duration::MAX`
//! (alone and all at once), on tokio's paused clock and on a cache clock far ahead of it.
//! For each, a caller that keeps asking (and now and then rejects the token) is never served a
//! token past its policy expiry, the endpoint is never asked more often than the minimum fetch
//! interval allows, nothing panics, and no call waits longer than the spacing plus a fetch.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{advance, deterministic, Outcome, ScriptedSource, HOUR};
use crate::{RefreshPolicy, TimeSource, Token, TokenCache, MAX_FETCH_SPACING};

/// A cache clock a fixed distance ahead of tokio's.
#[derive(Debug)]
struct Ahead(Duration);

impl TimeSource for Ahead {
    fn now(&self) -> Instant {
        Instant::now() + self.0
    }
}

/// Each setter alone at `value`, then all of them at once.
fn policies(value: Duration) -> Vec<(String, RefreshPolicy)> {
    type Setter = fn(RefreshPolicy, Duration) -> RefreshPolicy;
    let setters: [(&str, Setter); 8] = [
        ("refresh_ahead_max", |p, d| p.with_refresh_ahead_max(d)),
        ("hard_margin", |p, d| p.with_hard_margin(d)),
        ("min_hard_margin", |p, d| p.with_min_hard_margin(d)),
        ("min_fetch_interval", |p, d| p.with_min_fetch_interval(d)),
        ("rejection_refresh_interval", |p, d| p.with_rejection_refresh_interval(d)),
        ("fetch_timeout", |p, d| p.with_fetch_timeout(d)),
        ("backoff", |p, d| p.with_backoff(d, d)),
        ("max_retry_after", |p, d| p.with_max_retry_after(d)),
    ];
    let mut all = deterministic().with_no_expiry_lifetime(Some(value));
    let mut out = Vec::new();
    for (name, set) in setters {
        out.push((format!("{name}={value:?}"), set(deterministic(), value)));
        all = set(all, value);
    }
    out.push((format!("every setter={value:?}"), all));
    out
}

/// The end of the time a token may be served after its fetch started (its receipt: the
/// source answers at once): its lifetime, raised to the minimum fetch interval. `None` for a
/// token without expiry.
fn policy_expiry(token: &Token, policy: &RefreshPolicy) -> Option<Instant> {
    let lifetime = token.lifetime()?.max(policy.min_fetch_interval());
    Some(token.received_at().checked_add(lifetime).unwrap_or_else(|| crate::token::far_after(token.received_at())))
}

async fn drive(name: &str, policy: RefreshPolicy, lifetime: Option<Duration>, clock: Option<Duration>) {
    // A few failures first (a 429 asking for an hour), then tokens; zero fetch delay, so a
    // token's receipt is its fetch start.
    let source = ScriptedSource::new(lifetime, Duration::ZERO).then(&[Outcome::Fail(503), Outcome::Fail(429)]);
    let cache = match clock {
        Some(ahead) => TokenCache::with_time_source(Arc::clone(&source), policy.clone(), Ahead(ahead)),
        None => TokenCache::with_policy(Arc::clone(&source), policy.clone()),
    };
    let started = Instant::now();
    let steps = [0, 1, 700, 3_000, 59_000, 1_200_000, 10_800_000].map(Duration::from_millis);
    // The longest a call may wait: the spacing, then one fetch (it answers at once).
    let patience = MAX_FETCH_SPACING + Duration::from_secs(60);
    let mut invalidations = 0u32;
    for round in 0..300usize {
        let check = |token: &Token, how: &str| {
            if let Some(expiry) = policy_expiry(token, &policy) {
                assert!(Instant::now() < expiry, "{name}, {lifetime:?}, {clock:?}: {how} served a token past expiry");
            }
        };
        let call_start = Instant::now();
        let Ok(result) = tokio::time::timeout(patience, cache.token()).await else {
            panic!("{name}, {lifetime:?}, {clock:?}: token() waited more than {patience:?}");
        };
        assert!(call_start.elapsed() <= patience);
        if let Ok(token) = &result {
            check(token, "token()");
            if round % 7 == 3 && cache.invalidate(token) {
                invalidations += 1;
            }
        }
        if let Some(token) = cache.try_token() {
            check(&token, "try_token()");
        }
        advance(steps[round % steps.len()]).await;
    }
    let elapsed = started.elapsed();
    let fetches = source.fetches() as u128;
    let mfi = policy.min_fetch_interval();
    if !mfi.is_zero() {
        let allowed = 1 + elapsed.as_nanos() / mfi.as_nanos();
        assert!(fetches <= allowed, "{name}, {lifetime:?}, {clock:?}: {fetches} fetches in {elapsed:?}");
    }
    let rri = policy.rejection_refresh_interval();
    if !rri.is_zero() {
        let allowed = 1 + elapsed.as_nanos() / rri.as_nanos();
        assert!(u128::from(invalidations) <= allowed, "{name}: {invalidations} invalidations in {elapsed:?}");
    }
}

async fn probe(value: Duration) {
    let century = Duration::from_secs(100 * 365 * 24 * 3600);
    for (name, policy) in policies(value) {
        for lifetime in [Some(HOUR), Some(Duration::from_secs(1)), Some(Duration::ZERO), Some(Duration::MAX), None] {
            for clock in [None, Some(century)] {
                drive(&name, policy.clone(), lifetime, clock).await;
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn every_setter_at_duration_max_serves_no_expired_token_and_keeps_the_fetch_bounds() {
    probe(Duration::MAX).await;
}

#[tokio::test(start_paused = true)]
async fn every_setter_at_zero_serves_no_expired_token_and_keeps_the_fetch_bounds() {
    probe(Duration::ZERO).await;
}
