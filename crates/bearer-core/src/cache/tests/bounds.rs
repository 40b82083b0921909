//! How often anything can make the cache call the token endpoint, how long a fetch may take,
//! and what a rejection does: defects 5 to 9 of issue 11, each with the test that failed
//! before the fix.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::{advance, cache, deterministic, same, secret, ScriptedSource, FETCH_DELAY, HOUR};
use crate::{AccessToken, Error, Token, TokenCache, TokenSource, DEFAULT_REJECTION_REFRESH_INTERVAL};

#[tokio::test(start_paused = true)]
async fn an_api_that_rejects_every_token_costs_one_refresh_per_rejection_interval() {
    let source = ScriptedSource::new(Some(HOUR), FETCH_DELAY);
    let cache = cache(&source);
    // 1,000 requests, each rejected: the middleware invalidates the token it sent, then asks
    // for a token to retry with.
    let mut invalidated = 0;
    for _ in 0..1_000 {
        let used = cache.token().await.expect("token");
        if cache.invalidate(&used) {
            invalidated += 1;
        }
        cache.token().await.expect("token");
    }
    assert_eq!(invalidated, 1, "one invalidation within the rejection interval");
    assert_eq!(source.fetches(), 2, "the first token and one rejection-driven refresh");

    // Once the interval is over, a rejection may refresh again, once.
    advance(DEFAULT_REJECTION_REFRESH_INTERVAL).await;
    let used = cache.token().await.expect("token");
    assert!(cache.invalidate(&used));
    assert!(!cache.invalidate(&cache.token().await.expect("token")));
    assert_eq!(source.fetches(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_zero_or_one_second_lifetime_is_fetched_at_most_once_per_minimum_interval() {
    for lifetime in [Duration::ZERO, Duration::from_secs(1)] {
        let source = ScriptedSource::new(Some(lifetime), Duration::ZERO);
        let cache = cache(&source);
        // A request every 10 ms for 10 s.
        for _ in 0..1_000 {
            cache.token().await.expect("token");
            advance(Duration::from_millis(10)).await;
        }
        let fetches = source.fetches();
        assert!(fetches <= 11, "{lifetime:?}: {fetches} fetches in 10 s, more than one per second");
    }
}

#[tokio::test(start_paused = true)]
async fn a_fetch_that_never_answers_fails_at_the_fetch_timeout() {
    struct Silent;
    #[async_trait::async_trait]
    impl TokenSource for Silent {
        async fn fetch(&self) -> Result<Token, Error> {
            std::future::pending().await
        }
    }
    let cache = TokenCache::with_policy(Silent, deterministic().with_fetch_timeout(Duration::from_secs(10)));
    let started = Instant::now();
    let error = cache.token().await.expect_err("no answer");
    assert_eq!(started.elapsed(), Duration::from_secs(10), "the caller waited exactly the fetch timeout");
    assert!(error.is_timeout() && error.is_transient(), "{error}");
    // The next attempt, after the backoff, has the same deadline: nobody hangs.
    advance(Duration::from_secs(1)).await;
    assert!(cache.token().await.expect_err("still no answer").is_timeout());
}

#[tokio::test(start_paused = true)]
async fn a_four_second_token_is_not_served_in_its_last_second() {
    let source = ScriptedSource::new(Some(Duration::from_secs(4)), Duration::ZERO);
    let cache = cache(&source);
    let first = cache.token().await.expect("token");
    // A server counting whole seconds may already refuse it; a tenth (400 ms) was the margin.
    advance(Duration::from_millis(3_200)).await;
    let served = cache.token().await.expect("token");
    assert!(!same(&first, &served), "the 4 s token was served 800 ms before its expiry");
    assert_eq!(secret(&served), "token-2");
}

/// Issues the same access token value every time, as some providers do while the old token
/// is still valid on their side.
struct SameValueSource {
    fetches: Mutex<usize>,
}

#[async_trait::async_trait]
impl TokenSource for SameValueSource {
    async fn fetch(&self) -> Result<Token, Error> {
        *self.fetches.lock().expect("fetches lock") += 1;
        Token::builder(AccessToken::new("same-value")).expires_in(HOUR).build()
    }
}

#[tokio::test(start_paused = true)]
async fn a_source_that_reissues_the_same_value_after_a_revocation() {
    let source = Arc::new(SameValueSource { fetches: Mutex::new(0) });
    let cache = TokenCache::with_policy(Arc::clone(&source), deterministic());
    let first = cache.token().await.expect("token");
    assert!(cache.invalidate(&first), "the API rejected it");
    let reissued = cache.token().await.expect("token");
    assert!(same(&first, &reissued), "the source handed back the same value");
    assert_eq!(*source.fetches.lock().expect("fetches lock"), 2, "but it was fetched again");

    // A late rejection of the first copy names the same value: within the rejection interval
    // it changes nothing, and the re-issued token keeps being served without a fetch.
    assert!(!cache.invalidate(&first));
    assert!(same(&reissued, &cache.token().await.expect("token")));
    assert_eq!(*source.fetches.lock().expect("fetches lock"), 2);

    // Invalidation compares values: after the interval, a rejection of either copy drops the
    // installed token, since the API cannot tell them apart either.
    advance(DEFAULT_REJECTION_REFRESH_INTERVAL).await;
    assert!(cache.invalidate(&first));
    cache.token().await.expect("token");
    assert_eq!(*source.fetches.lock().expect("fetches lock"), 3);
}

/// Counts the tokens the cache reports as rejected.
struct RejectionListener {
    inner: Arc<ScriptedSource>,
    rejected: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl TokenSource for RejectionListener {
    async fn fetch(&self) -> Result<Token, Error> {
        self.inner.fetch().await
    }

    fn token_rejected(&self, token: &Token) {
        self.rejected.lock().expect("rejected lock").push(secret(token).to_owned());
    }
}

#[tokio::test(start_paused = true)]
async fn the_source_hears_of_each_rejected_token_once() {
    let listener =
        Arc::new(RejectionListener { inner: ScriptedSource::new(Some(HOUR), FETCH_DELAY), rejected: Mutex::default() });
    let cache = TokenCache::with_policy(Arc::clone(&listener), deterministic());
    let first = cache.token().await.expect("first token");
    assert!(cache.invalidate(&first));
    assert!(!cache.invalidate(&first), "a second 401 with the same token changes nothing");
    let second = cache.token().await.expect("second token");
    assert_eq!(secret(&second), "token-2");
    assert_eq!(*listener.rejected.lock().expect("rejected lock"), vec!["token-1".to_owned()]);
}

/// A clock that can be stepped back: [`crate::TimeSource`] forbids it, but tokio's clock read
/// from two runtimes with paused clocks does it, and a user clock may.
#[derive(Debug)]
struct SteppedBack {
    start: Instant,
    back: Mutex<Duration>,
}

impl crate::TimeSource for Arc<SteppedBack> {
    fn now(&self) -> Instant {
        self.start - *self.back.lock().expect("clock lock")
    }
}

#[tokio::test(start_paused = true)]
async fn an_invalidated_token_is_not_served_again_by_a_clock_that_steps_back() {
    let clock = Arc::new(SteppedBack { start: Instant::now() + HOUR, back: Mutex::default() });
    let source = ScriptedSource::new(Some(HOUR), Duration::ZERO);
    let cache = TokenCache::with_time_source(Arc::clone(&source), deterministic(), Arc::clone(&clock));
    let rejected = cache.token().await.expect("token");
    assert!(cache.invalidate(&rejected));
    *clock.back.lock().expect("clock lock") = Duration::from_secs(1);
    assert!(cache.try_token().is_none(), "the rejected token was served again");
    assert!(!same(&rejected, &cache.token().await.expect("token")));
    assert_eq!(source.fetches(), 2);
}

/// A spacing too long for the clock (`Duration::MAX`) was no spacing at all: `last fetch +
/// interval` overflowed and the next fetch went out at once. Such settings are cut to
/// `MAX_FETCH_SPACING`, which the cache then keeps to, neither hammering the endpoint nor
/// waiting forever, nor serving a token past its expiry for longer than that.
#[tokio::test(start_paused = true)]
async fn a_spacing_too_long_for_the_clock_is_cut_to_the_longest_allowed_not_dropped() {
    use crate::MAX_FETCH_SPACING;
    let policy = deterministic().with_min_fetch_interval(Duration::MAX).with_rejection_refresh_interval(Duration::MAX);
    assert_eq!(policy.min_fetch_interval(), MAX_FETCH_SPACING);
    assert_eq!(policy.rejection_refresh_interval(), MAX_FETCH_SPACING);

    // Tokens that claim to live 1 s: each is served for the spacing, and the next fetch waits
    // for it.
    let source = ScriptedSource::new(Some(Duration::from_secs(1)), Duration::ZERO);
    let cache = TokenCache::with_policy(Arc::clone(&source), policy);
    let started = Instant::now();
    let first = cache.token().await.expect("first");
    for _ in 0..100 {
        advance(Duration::from_secs(5)).await;
        let _ = cache.token().await;
    }
    assert_eq!(source.fetches(), 1, "no second fetch within the spacing");
    advance(MAX_FETCH_SPACING).await;
    let next = cache.token().await.expect("after the spacing");
    assert_eq!(source.fetches(), 2, "one more fetch once the spacing is over");
    assert!(!same(&first, &next));
    assert!(started.elapsed() <= MAX_FETCH_SPACING * 2, "no wait beyond the spacing");
}
