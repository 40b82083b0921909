//! Issue 16 probes: a cache clock near the end of what an `Instant` can hold (a custom
//! [`TimeSource`] far ahead of tokio's). A wait that runs past that end is a wait for "never"
//! (`after_or_never`), which must not come sooner than the wait itself would have.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{advance, deterministic, ScriptedSource, HOUR};
use crate::{TimeSource, TokenCache};

/// The last instant the clock can hold after `from`.
fn end_of_clock(from: Instant) -> Instant {
    let mut at = from;
    let mut step = Duration::MAX;
    while !step.is_zero() {
        match at.checked_add(step) {
            Some(later) => at = later,
            None => step /= 2,
        }
    }
    at
}

/// A clock that starts `before_end` before the end of the clock and runs with tokio's.
#[derive(Debug)]
struct NearTheEnd {
    base: Instant,
    tokio_start: Instant,
}

impl NearTheEnd {
    fn new(before_end: Duration) -> Self {
        let tokio_start = Instant::now();
        let end = end_of_clock(tokio_start);
        Self { base: end.checked_sub(before_end).unwrap_or(end), tokio_start }
    }
}

impl TimeSource for Arc<NearTheEnd> {
    fn now(&self) -> Instant {
        let elapsed = Instant::now().saturating_duration_since(self.tokio_start);
        self.base.checked_add(elapsed).unwrap_or_else(|| end_of_clock(self.base))
    }
}

/// A minimum fetch interval of a day, 12 hours before the end of the clock: the next fetch
/// may come only once that day is over, which the clock never reaches. "Never" was the
/// longest of 30 years halved that still fitted (8 hours here), so a rejected token was
/// re-fetched 8 hours later, a third of the spacing.
#[tokio::test(start_paused = true)]
async fn a_spacing_that_runs_past_the_end_of_the_clock_is_not_cut_short() {
    let clock = Arc::new(NearTheEnd::new(12 * HOUR));
    let policy = deterministic()
        .with_min_fetch_interval(Duration::from_secs(24 * 3600))
        .with_rejection_refresh_interval(Duration::from_secs(1));
    let source = ScriptedSource::new(Some(HOUR), Duration::ZERO);
    let cache = TokenCache::with_time_source(Arc::clone(&source), policy, Arc::clone(&clock));
    let first = cache.token().await.expect("first token");
    assert!(cache.invalidate(&first), "every response is a 401");
    // Every 10 minutes for 11 hours, a request: it waits a minute for a token, then gives up.
    for _ in 0..66 {
        let _ = tokio::time::timeout(Duration::from_secs(60), cache.token()).await;
        advance(Duration::from_secs(540)).await;
    }
    assert_eq!(source.fetches(), 1, "a fetch within a day of the last, cut short by the end of the clock");
}

/// A clock that reaches its end and stays there: no wait can be counted on it any more (a
/// flight's deadline is "never", which is now). Each call started a flight that was overdue at
/// once, gave up on it and started another, in a loop inside one poll that never yielded:
/// the caller hung and the unrun flights filled memory. It is a configuration error now.
#[tokio::test(start_paused = true)]
async fn a_clock_stopped_at_its_end_fails_each_call_without_fetching() {
    let clock = Arc::new(NearTheEnd::new(Duration::from_secs(60)));
    let source = ScriptedSource::new(Some(HOUR), Duration::ZERO);
    let cache = TokenCache::with_time_source(Arc::clone(&source), deterministic(), Arc::clone(&clock));
    cache.token().await.expect("first token");
    advance(Duration::from_secs(120)).await;
    for _ in 0..100 {
        let answer = tokio::time::timeout(Duration::from_secs(60), cache.token()).await.expect("an answer");
        assert!(matches!(answer, Err(crate::Error::Config(_))), "{answer:?}");
        advance(Duration::from_secs(1)).await;
    }
    assert_eq!(source.fetches(), 1, "no fetch on a clock stopped at its end");
}
