//! Adversarial probes of the stale-on-arrival change (review of issue 11's follow-up): each
//! test names the invariant it attacks.

use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::time::Instant;

use super::stale_on_arrival::PlannedSource;
use super::{advance, cache, deterministic, secret, settle, Outcome, ScriptedSource, FETCH_DELAY, HOUR};
use crate::TokenCache;

#[tokio::test(start_paused = true)]
async fn a_waiter_polled_after_the_landed_token_went_stale_does_not_return_it() {
    // A 2 s token (stale 1 s after its fetch started) from a 100 ms endpoint.
    let source = ScriptedSource::new(Some(Duration::from_secs(2)), FETCH_DELAY);
    let cache = cache(&source);
    let mut call = std::pin::pin!(cache.token());
    assert!(call.as_mut().now_or_never().is_none(), "waits for the first fetch");
    settle().await;
    // The fetch lands (token-1, fresh), but the waiting caller is not polled again until its
    // worker comes back 5 s later: by then token-1 has expired.
    advance(FETCH_DELAY).await;
    assert_eq!(cache.try_token().map(|token| secret(&token).to_owned()).as_deref(), Some("token-1"));
    advance(Duration::from_secs(5)).await;
    let served = call.await.expect("a token");
    assert_eq!(secret(&served), "token-2", "the caller got token-1 after it expired");
    assert_eq!(source.fetches(), 2);
}

/// A cache over a source whose every fetch fails with a 503, under `policy`.
fn failing(policy: crate::RefreshPolicy) -> (Arc<ScriptedSource>, TokenCache<Arc<ScriptedSource>>) {
    let source = ScriptedSource::new(Some(HOUR), FETCH_DELAY).then(&[Outcome::Fail(503); 64]);
    (Arc::clone(&source), TokenCache::with_policy(source, policy))
}

#[tokio::test(start_paused = true)]
async fn a_backoff_of_duration_max_neither_panics_nor_hangs_the_caller() {
    // "Never retry on my own": the longest backoff there is.
    let (source, cache) = failing(deterministic().with_backoff(Duration::MAX, Duration::MAX));
    let outcome = tokio::time::timeout(Duration::from_secs(60), cache.token()).await;
    let error = outcome.expect("the caller got an answer within a minute").expect_err("the endpoint fails");
    assert!(
        matches!(&error, crate::Error::Rejected(rejection) if rejection.status == http::StatusCode::SERVICE_UNAVAILABLE),
        "{error}"
    );
    assert_eq!(source.fetches(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_backoff_past_the_end_of_the_clock_still_holds_off_the_next_fetch() {
    // A wait that no Instant can hold is a wait forever, not no wait at all.
    let huge = Duration::from_secs(u64::MAX / 2);
    let (source, cache) = failing(deterministic().with_backoff(huge, huge));
    assert!(cache.token().await.is_err());
    for _ in 0..10 {
        advance(Duration::from_secs(60)).await;
        assert!(cache.token().await.is_err());
    }
    assert_eq!(source.fetches(), 1, "the backoff held the endpoint off");
}

/// A clock that reads tokio's (paused) clock moved `ahead` into the future, as a simulation
/// clock that has run for decades would.
#[derive(Debug)]
struct Ahead(Duration);

impl crate::TimeSource for Ahead {
    fn now(&self) -> Instant {
        Instant::now() + self.0
    }
}

#[tokio::test(start_paused = true)]
async fn a_token_without_expiry_is_served_by_a_clock_far_ahead_of_tokios() {
    let years = |n: u64| Duration::from_secs(n * 365 * 24 * 3600);
    let source = ScriptedSource::new(None, FETCH_DELAY);
    let cache = TokenCache::with_time_source(Arc::clone(&source), deterministic(), Ahead(years(40)));
    let served = cache.token().await.expect("a token that never expires is never stale on arrival");
    assert_eq!(secret(&served), "token-1");
    advance(HOUR).await;
    assert!(cache.try_token().is_some_and(|again| secret(&again) == "token-1"));
    assert_eq!(source.fetches(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_cold_cache_whose_every_fetch_lands_stale_is_held_off_by_the_backoff() {
    // 2 s tokens from a 3 s endpoint: every fetch is stale on arrival. 1,000 callers over
    // 60 s (token() and try_token() alike) cost the fetches the backoff allows, no more:
    // starts at 0, 4, 9, 16, 27 and 46 s (3 s each, then 1, 2, 4, 8, 16 s of backoff).
    let source = ScriptedSource::new(Some(Duration::from_secs(2)), Duration::from_secs(3));
    let cache = cache(&source);
    let mut calls = tokio::task::JoinSet::new();
    for n in 0..1_000 {
        let cache = cache.clone();
        if n % 2 == 0 {
            calls.spawn(async move { cache.token().await.is_ok() });
        } else {
            calls.spawn(async move { cache.try_token().is_some() });
        }
        advance(Duration::from_millis(60)).await;
    }
    let served = calls.join_all().await.into_iter().filter(|served| *served).count();
    assert_eq!(served, 0, "no token stale on arrival was served");
    assert_eq!(source.fetches(), 6);
}

#[tokio::test(start_paused = true)]
async fn a_background_refresh_that_lands_stale_is_retried_only_after_the_backoff() {
    // An hour token; every later fetch takes 3 s for a 2 s token. Synchronous callers
    // (try_token only) inside the refresh-ahead window keep getting the hour token while the
    // background refreshes fail, and start one only when the backoff allows.
    let slow = (Duration::from_secs(3), Duration::from_secs(2));
    let source = PlannedSource::new(&[(Duration::ZERO, HOUR)], slow);
    let cache = TokenCache::with_policy(Arc::clone(&source), deterministic());
    let first = cache.token().await.expect("token");
    // The window opens 300 s before expiry; the token goes stale 30 s before it.
    advance(HOUR - Duration::from_secs(300)).await;
    for _ in 0..2_690 {
        let served = cache.try_token().expect("the hour token, before its stale point");
        assert_eq!(secret(&served), secret(&first));
        advance(Duration::from_millis(100)).await;
    }
    // 269 s of failing refreshes: starts at 0, 4, 9, 16, 27, 46, then every 33 s (3 s + the
    // 30 s ceiling) up to 244 s.
    assert_eq!(source.fetches(), 1 + 6 + 6);
    advance(Duration::from_secs(1)).await;
    assert!(cache.try_token().is_none(), "stale at 3,570 s: try_token sends the caller to token()");
}

/// A provider that hands back its current token while it is valid and issues a new one once
/// told it was revoked; a fetch answers with what was current when it started, 3 s later.
#[derive(Debug, Default)]
struct RevocableSource {
    revoked: std::sync::Mutex<usize>,
    fetches: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl crate::TokenSource for RevocableSource {
    async fn fetch(&self) -> Result<crate::Token, crate::Error> {
        self.fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let current = format!("token-{}", *self.revoked.lock().expect("revoked lock") + 1);
        tokio::time::sleep(Duration::from_secs(3)).await;
        crate::Token::builder(crate::AccessToken::new(current)).expires_in(HOUR).build()
    }

    fn token_rejected(&self, _token: &crate::Token) {
        *self.revoked.lock().expect("revoked lock") += 1;
    }
}

#[tokio::test(start_paused = true)]
async fn a_refresh_under_way_when_its_token_is_rejected_does_not_hand_back_the_rejected_value() {
    let source = Arc::new(RevocableSource::default());
    let cache = TokenCache::with_policy(Arc::clone(&source), deterministic());
    let first = cache.token().await.expect("token");
    // Inside the refresh-ahead window: a background refresh starts, and the provider answers
    // it with its current token, token-1.
    advance(HOUR - Duration::from_secs(200)).await;
    assert!(cache.try_token().is_some());
    settle().await;
    advance(Duration::from_secs(1)).await;
    // Meanwhile the API rejects token-1 (revoked): the provider now issues token-2.
    assert!(cache.invalidate(&first));
    let retried = cache.token().await.expect("token");
    assert_ne!(
        secret(&retried),
        "token-1",
        "the rejected token was handed back by a refresh that began before the rejection"
    );
    assert_eq!(source.fetches.load(std::sync::atomic::Ordering::SeqCst), 3);
}
