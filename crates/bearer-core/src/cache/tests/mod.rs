//! Cache behaviour on tokio's paused clock, each test asserting how many fetches happened.
//! `bounds` covers how often the endpoint may be called; `runtimes` how the cache behaves
//! under each runtime flavour and way of driving it.

mod bounds;
mod copy_probes;
mod end_of_clock;
mod extreme_settings;
mod review_probes;
mod runtimes;
mod stale_on_arrival;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::StatusCode;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::{AccessToken, Error, RefreshPolicy, Rejection, Token, TokenCache, TokenSource};

/// A source whose fetches take `delay`, issue `token-N` tokens valid for `lifetime`, and
/// fail while the script says so.
pub(super) struct ScriptedSource {
    fetches: AtomicUsize,
    delay: Duration,
    lifetime: Option<Duration>,
    script: Mutex<VecDeque<Outcome>>,
}

#[derive(Clone, Copy)]
pub(super) enum Outcome {
    Ok,
    Fail(u16),
    Panic,
}

impl ScriptedSource {
    pub(super) fn new(lifetime: Option<Duration>, delay: Duration) -> Arc<Self> {
        Arc::new(Self { fetches: AtomicUsize::new(0), delay, lifetime, script: Mutex::new(VecDeque::new()) })
    }

    pub(super) fn then(self: &Arc<Self>, outcomes: &[Outcome]) -> Arc<Self> {
        self.script.lock().expect("script lock").extend(outcomes.iter().copied());
        Arc::clone(self)
    }

    pub(super) fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl TokenSource for ScriptedSource {
    async fn fetch(&self) -> Result<Token, Error> {
        let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(self.delay).await;
        let outcome = self.script.lock().expect("script lock").pop_front().unwrap_or(Outcome::Ok);
        match outcome {
            Outcome::Ok => {
                let builder = Token::builder(AccessToken::new(format!("token-{n}")));
                match self.lifetime {
                    Some(lifetime) => builder.expires_in(lifetime),
                    None => builder,
                }
                .build()
            }
            Outcome::Fail(status) => {
                Err(Rejection::new(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)).into())
            }
            Outcome::Panic => panic!("source panicked"),
        }
    }
}

pub(super) const HOUR: Duration = Duration::from_secs(3600);
pub(super) const FETCH_DELAY: Duration = Duration::from_millis(100);

pub(super) fn deterministic() -> RefreshPolicy {
    RefreshPolicy::default().with_jitter(0.0)
}

pub(super) fn cache(source: &Arc<ScriptedSource>) -> TokenCache<Arc<ScriptedSource>> {
    TokenCache::with_policy(Arc::clone(source), deterministic())
}

pub(super) fn secret(token: &Token) -> &str {
    token.secret().secret()
}

/// The same fetched token (each fetch issues a distinct value; threads hold their own copies).
pub(super) fn same(a: &Token, b: &Token) -> bool {
    secret(a) == secret(b)
}

pub(super) async fn concurrent_tokens(
    cache: &TokenCache<Arc<ScriptedSource>>,
    n: usize,
) -> Vec<Result<Arc<Token>, Error>> {
    let mut set = JoinSet::new();
    for _ in 0..n {
        let cache = cache.clone();
        set.spawn(async move { cache.token().await });
    }
    let mut results = Vec::with_capacity(n);
    while let Some(joined) = set.join_next().await {
        results.push(joined.expect("task did not panic"));
    }
    results
}

/// Moves the paused clock, then lets the tasks it woke run, as a live runtime would.
pub(super) async fn advance(duration: Duration) {
    tokio::time::advance(duration).await;
    settle().await;
}

/// Lets spawned tasks run without moving the paused clock.
pub(super) async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn cold_start_thousand_callers_one_fetch() {
    let source = ScriptedSource::new(Some(HOUR), FETCH_DELAY);
    let cache = cache(&source);
    let results = concurrent_tokens(&cache, 1000).await;
    assert_eq!(source.fetches(), 1);
    let served = results.iter().filter(|r| r.as_ref().is_ok_and(|t| secret(t) == "token-1")).count();
    assert_eq!(served, 1000, "every caller got the one fetched token");
}

#[tokio::test(start_paused = true)]
async fn fresh_token_is_served_without_the_source() {
    let source = ScriptedSource::new(Some(HOUR), FETCH_DELAY);
    let cache = cache(&source);
    let first = cache.token().await.expect("token");
    advance(Duration::from_secs(3000)).await;
    for _ in 0..100 {
        let again = cache.token().await.expect("token");
        assert!(same(&first, &again));
    }
    assert_eq!(source.fetches(), 1);
}

#[tokio::test(start_paused = true)]
async fn refresh_ahead_serves_old_token_and_refreshes_once_in_background() {
    let source = ScriptedSource::new(Some(HOUR), Duration::from_secs(2));
    let cache = cache(&source);
    let first = cache.token().await.expect("token");
    // 1-hour token: refresh-ahead opens 5 minutes before expiry.
    advance(Duration::from_secs(3400)).await;
    let started = Instant::now();
    for _ in 0..50 {
        let served = cache.token().await.expect("token");
        assert!(same(&first, &served), "old token served while refreshing");
    }
    assert_eq!(Instant::now(), started, "callers did not wait for the refresh");
    settle().await;
    assert_eq!(source.fetches(), 2, "exactly one background refresh");
    advance(Duration::from_secs(2)).await;
    settle().await;
    let newer = cache.token().await.expect("token");
    assert_eq!(secret(&newer), "token-2");
    assert_eq!(source.fetches(), 2);
}

#[tokio::test(start_paused = true)]
async fn expired_token_all_callers_wait_for_one_fetch() {
    let source = ScriptedSource::new(Some(HOUR), FETCH_DELAY);
    let cache = cache(&source);
    cache.token().await.expect("token");
    advance(HOUR + Duration::from_secs(1)).await;
    let results = concurrent_tokens(&cache, 200).await;
    assert_eq!(source.fetches(), 2);
    for result in results {
        assert_eq!(secret(&result.expect("token")), "token-2");
    }
}

#[tokio::test(start_paused = true)]
async fn token_inside_hard_margin_is_not_served() {
    let source = ScriptedSource::new(Some(HOUR), FETCH_DELAY);
    let cache = cache(&source);
    cache.token().await.expect("token");
    // 20 s before expiry is inside the 30 s hard margin: callers wait for the new token.
    advance(HOUR - Duration::from_secs(20)).await;
    assert_eq!(secret(&cache.token().await.expect("token")), "token-2");
    assert_eq!(source.fetches(), 2);
}

#[tokio::test(start_paused = true)]
async fn failed_early_refresh_keeps_valid_token_and_backs_off() {
    let source = ScriptedSource::new(Some(HOUR), FETCH_DELAY).then(&[Outcome::Ok, Outcome::Fail(503)]);
    let cache = cache(&source);
    let first = cache.token().await.expect("token");
    advance(Duration::from_secs(3400)).await;
    assert!(same(&first, &cache.token().await.expect("token")));
    settle().await;
    advance(FETCH_DELAY).await;
    settle().await;
    assert_eq!(source.fetches(), 2, "the background refresh ran and failed");
    // Within the 1 s backoff: the old token is served and nothing is fetched.
    for _ in 0..20 {
        assert!(same(&first, &cache.token().await.expect("token")));
    }
    advance(Duration::from_millis(999)).await;
    assert!(same(&first, &cache.token().await.expect("token")));
    settle().await;
    assert_eq!(source.fetches(), 2, "no retry before the backoff ends");
    advance(Duration::from_millis(1)).await;
    assert!(same(&first, &cache.token().await.expect("token")));
    settle().await;
    assert_eq!(source.fetches(), 3, "retried once the backoff ended");
    settle().await;
    advance(FETCH_DELAY).await;
    settle().await;
    assert_eq!(secret(&cache.token().await.expect("token")), "token-3");
}

#[tokio::test(start_paused = true)]
async fn failure_without_valid_token_reaches_every_waiter_then_recovers() {
    let source = ScriptedSource::new(Some(HOUR), FETCH_DELAY).then(&[Outcome::Fail(500)]);
    let cache = cache(&source);
    let results = concurrent_tokens(&cache, 50).await;
    assert_eq!(source.fetches(), 1);
    for result in results {
        let error = result.expect_err("the flight failed");
        assert_eq!(error.rejection().map(|r| r.status), Some(StatusCode::INTERNAL_SERVER_ERROR));
    }
    // During the backoff the error comes back at once, without a fetch.
    let error = cache.token().await.expect_err("still backing off");
    assert!(error.is_transient());
    assert_eq!(source.fetches(), 1);
    advance(Duration::from_secs(1)).await;
    assert_eq!(secret(&cache.token().await.expect("recovered")), "token-2");
    assert_eq!(source.fetches(), 2);
}

#[tokio::test(start_paused = true)]
async fn cancelled_callers_do_not_cancel_the_fetch() {
    let source = ScriptedSource::new(Some(HOUR), Duration::from_secs(5));
    let cache = cache(&source);
    let mut set = JoinSet::new();
    for i in 0..100u64 {
        let cache = cache.clone();
        set.spawn(async move { tokio::time::timeout(Duration::from_millis(10 * (i + 1)), cache.token()).await });
    }
    while let Some(joined) = set.join_next().await {
        assert!(joined.expect("task").is_err(), "every caller timed out");
    }
    assert_eq!(source.fetches(), 1);
    advance(Duration::from_secs(5)).await;
    settle().await;
    let token = cache.token().await.expect("token");
    assert_eq!(secret(&token), "token-1");
    assert_eq!(source.fetches(), 1, "the abandoned fetch still landed");
}

#[tokio::test(start_paused = true)]
async fn invalidate_is_by_value_and_single_flight() {
    let source = ScriptedSource::new(Some(HOUR), FETCH_DELAY);
    let cache = cache(&source);
    let old = cache.token().await.expect("token");
    assert!(cache.invalidate(&old));
    let newer = cache.token().await.expect("token");
    assert_eq!(secret(&newer), "token-2");
    // A late 401 with the old token changes nothing.
    assert!(!cache.invalidate(&old));
    assert!(same(&newer, &cache.token().await.expect("token")));
    assert_eq!(source.fetches(), 2);

    // A hundred concurrent rejections of the same token, once the rejection interval is
    // over: one refresh.
    advance(deterministic().rejection_refresh_interval()).await;
    let mut set = JoinSet::new();
    for _ in 0..100 {
        let cache = cache.clone();
        let used = Arc::clone(&newer);
        set.spawn(async move {
            cache.invalidate(&used);
            cache.token().await
        });
    }
    while let Some(joined) = set.join_next().await {
        assert_eq!(secret(&joined.expect("task").expect("token")), "token-3");
    }
    assert_eq!(source.fetches(), 3);
}

#[tokio::test(start_paused = true)]
async fn token_without_expiry_is_served_until_invalidated() {
    let source = ScriptedSource::new(None, FETCH_DELAY);
    let cache = cache(&source);
    let token = cache.token().await.expect("token");
    advance(Duration::from_secs(10 * 365 * 24 * 3600)).await;
    assert!(same(&token, &cache.token().await.expect("token")));
    assert_eq!(source.fetches(), 1);
    cache.invalidate(&token);
    assert_eq!(secret(&cache.token().await.expect("token")), "token-2");
}

#[tokio::test(start_paused = true)]
async fn no_expiry_lifetime_policy_refreshes_such_tokens() {
    let source = ScriptedSource::new(None, FETCH_DELAY);
    let cache = TokenCache::with_policy(
        Arc::clone(&source),
        deterministic().with_no_expiry_lifetime(Some(Duration::from_secs(600))),
    );
    cache.token().await.expect("token");
    advance(Duration::from_secs(601)).await;
    assert_eq!(secret(&cache.token().await.expect("token")), "token-2");
}

#[tokio::test(start_paused = true)]
async fn one_second_token_does_not_busy_loop() {
    let source = ScriptedSource::new(Some(Duration::from_secs(1)), Duration::ZERO);
    let cache = cache(&source);
    // Ask every 10 ms for 10 s: a 1 s token is refreshed ahead at 500 ms, but fetched no more
    // than once per second (the minimum fetch interval): at 0, 1, ..., 9 s and maybe 10 s.
    for _ in 0..1000 {
        cache.token().await.expect("token");
        advance(Duration::from_millis(10)).await;
        settle().await;
    }
    let fetches = source.fetches();
    assert!((10..=11).contains(&fetches), "{fetches} fetches in 10 s of 1 s tokens");
}

#[tokio::test(start_paused = true)]
async fn panicking_source_does_not_wedge_the_cache() {
    let source = ScriptedSource::new(Some(HOUR), FETCH_DELAY).then(&[Outcome::Panic]);
    let cache = cache(&source);
    let error = cache.token().await.expect_err("the refresh task panicked");
    assert!(matches!(error, Error::Abandoned), "{error}");
    advance(Duration::from_secs(1)).await;
    assert_eq!(secret(&cache.token().await.expect("token")), "token-2");
}

#[tokio::test(start_paused = true)]
async fn try_token_serves_without_waiting_and_starts_the_due_refresh() {
    let source = ScriptedSource::new(Some(HOUR), FETCH_DELAY);
    let cache = cache(&source);
    assert!(cache.try_token().is_none(), "nothing installed: await token()");
    assert_eq!(source.fetches(), 0, "try_token never starts a fetch it would have to wait for");
    let token = cache.token().await.expect("token");
    assert!(same(&token, &cache.try_token().expect("fresh")));
    advance(Duration::from_secs(3300)).await;
    assert!(same(&token, &cache.try_token().expect("refresh-ahead: still served")));
    settle().await;
    assert_eq!(source.fetches(), 2, "and the background refresh started");
    advance(FETCH_DELAY).await;
    assert_eq!(secret(&cache.try_token().expect("refreshed")), "token-2");
    let newer = cache.token().await.expect("token");
    assert!(cache.invalidate(&newer));
    assert!(cache.try_token().is_none(), "invalidated: await token()");
}

#[tokio::test(start_paused = true)]
async fn failed_refresh_inside_the_margin_serves_the_token_until_it_expires() {
    let fails = [Outcome::Ok, Outcome::Fail(503), Outcome::Fail(503), Outcome::Fail(503), Outcome::Fail(503)];
    let source = ScriptedSource::new(Some(HOUR), FETCH_DELAY).then(&fails);
    let cache = cache(&source);
    let first = cache.token().await.expect("token");
    // 20 s before expiry: inside the hard margin. The refresh fails; the token is still good.
    advance(HOUR - Duration::from_secs(20)).await;
    assert!(same(&first, &cache.token().await.expect("served despite the failed refresh")));
    assert!(same(&first, &cache.token().await.expect("and during the backoff")));
    advance(Duration::from_secs(21)).await;
    let error = cache.token().await.expect_err("expired: nothing to fall back on");
    assert!(error.is_transient());
}

#[tokio::test(start_paused = true)]
async fn a_fallback_token_that_is_rejected_is_dropped() {
    let fails = [Outcome::Ok, Outcome::Fail(503), Outcome::Fail(503)];
    let source = ScriptedSource::new(Some(HOUR), FETCH_DELAY).then(&fails);
    let cache = cache(&source);
    let first = cache.token().await.expect("token");
    advance(HOUR - Duration::from_secs(20)).await;
    let fallback = cache.token().await.expect("served as a fallback");
    assert!(same(&first, &fallback));
    assert!(cache.invalidate(&fallback), "the API refused it: it goes");
    assert!(cache.token().await.is_err(), "not served again while the endpoint is down");
}

#[tokio::test(start_paused = true)]
async fn an_invalidated_token_is_never_a_fallback() {
    let source = ScriptedSource::new(Some(HOUR), FETCH_DELAY).then(&[Outcome::Ok, Outcome::Fail(503)]);
    let cache = cache(&source);
    let first = cache.token().await.expect("token");
    cache.invalidate(&first);
    assert!(cache.token().await.is_err(), "the rejected token is not served again");
}

#[test]
fn without_a_runtime_a_cold_cache_fails_with_a_typed_error() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let source = ScriptedSource::new(Some(HOUR), Duration::ZERO);
    let cache = cache(&source);
    let mut future = std::pin::pin!(cache.token());
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Err(Error::Config(message))) => assert!(message.contains("tokio runtime"), "{message}"),
        other => panic!("expected a configuration error, got {other:?}"),
    }
    assert_eq!(source.fetches(), 0);
}
