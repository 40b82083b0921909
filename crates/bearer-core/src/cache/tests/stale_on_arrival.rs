//! A token that lands already past its stale point (its fetch took longer than the time the
//! cache serves it, counted from the fetch's start) is a failed attempt, never a token: the
//! invariant "no call returns a token past its stale point" holds for the callers waiting on
//! a slow fetch too.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{advance, cache, deterministic, same, secret, ScriptedSource, HOUR};
use crate::{AccessToken, Error, RefreshPolicy, Tenant, Token, TokenCache, TokenSource, TokenStanding};

/// The `StaleOnArrival` details of `error`: (lifetime, servable, took).
fn stale_on_arrival(error: &Error) -> Option<(Duration, Duration, Duration)> {
    match error {
        Error::StaleOnArrival(stale) => Some((stale.lifetime(), stale.servable(), stale.took())),
        _ => None,
    }
}

#[tokio::test(start_paused = true)]
async fn a_fetch_slower_than_the_tokens_life_is_a_typed_transient_error_not_a_token() {
    // A 2 s token (stale after 1 s: a second of margin) from an endpoint that answers in 3 s.
    let source = ScriptedSource::new(Some(Duration::from_secs(2)), Duration::from_secs(3));
    let cache = cache(&source);
    let started = Instant::now();
    let error = cache.token().await.expect_err("the token was stale when it arrived");
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    let secs = Duration::from_secs;
    assert_eq!(stale_on_arrival(&error), Some((secs(2), secs(1), secs(3))), "{error:?}");
    assert!(error.is_transient(), "the next attempt may be quicker");
    let shown = error.to_string();
    assert!(
        shown.contains("took 3.0s") && shown.contains("lives 2.0s") && shown.contains("stale on arrival"),
        "{shown}"
    );
    assert!(!shown.contains("token-1") && !format!("{error:?}").contains("token-1"), "the token leaked: {shown}");
    assert!(cache.try_token().is_none(), "and it was not installed");

    // A failed attempt like any other: within the 1 s backoff the error comes back at once.
    let again = cache.token().await.expect_err("backing off");
    assert!(stale_on_arrival(&again).is_some(), "{again}");
    assert_eq!((source.fetches(), started.elapsed()), (1, secs(3)), "no fetch during the backoff");
    advance(secs(1)).await;
    assert!(cache.token().await.is_err());
    assert_eq!(source.fetches(), 2, "retried after the backoff");
}

#[tokio::test(start_paused = true)]
async fn a_slow_fetch_is_served_until_its_stale_point_and_refused_from_it() {
    // A 2 s token is served for 1 s from its fetch's start (2 s less the 1 s margin).
    let just_in_time = ScriptedSource::new(Some(Duration::from_secs(2)), Duration::from_millis(999));
    let served = cache(&just_in_time).token().await.expect("landed 1 ms before its stale point");
    assert_eq!(secret(&served), "token-1");
    let at_the_stale_point = ScriptedSource::new(Some(Duration::from_secs(2)), Duration::from_millis(1_000));
    let error = cache(&at_the_stale_point).token().await.expect_err("landed on its stale point");
    assert!(stale_on_arrival(&error).is_some(), "{error}");
}

#[tokio::test(start_paused = true)]
async fn a_zero_lifetime_is_served_for_the_minimum_fetch_interval_if_it_lands_within_it() {
    // `expires_in: 0` is served for the minimum fetch interval (1 s) from the fetch's start,
    // so from an endpoint that answers in 500 ms it is served for 500 ms...
    let quick = ScriptedSource::new(Some(Duration::ZERO), Duration::from_millis(500));
    let cache_of_quick = cache(&quick);
    let token = cache_of_quick.token().await.expect("served");
    advance(Duration::from_millis(499)).await;
    assert!(same(&token, &cache_of_quick.try_token().expect("still inside the interval")));
    advance(Duration::from_millis(1)).await;
    assert!(cache_of_quick.try_token().is_none(), "stale 1 s after its fetch started");
    // ...and from an endpoint slower than that interval it is stale on arrival, like any token.
    let slow = ScriptedSource::new(Some(Duration::ZERO), Duration::from_millis(1_500));
    let error = cache(&slow).token().await.expect_err("stale on arrival");
    let (lifetime, servable, took) = stale_on_arrival(&error).expect("typed");
    assert_eq!((lifetime, servable, took), (Duration::ZERO, Duration::from_secs(1), Duration::from_millis(1_500)));
}

/// A source whose fetches follow a plan of (delay, lifetime), then `then` for every later
/// fetch; it remembers when each token's fetch started and how long it said it lives.
pub(super) struct PlannedSource {
    plan: Mutex<VecDeque<(Duration, Duration)>>,
    then: (Duration, Duration),
    fetches: AtomicUsize,
    issued: Mutex<HashMap<String, (Instant, Duration)>>,
}

impl PlannedSource {
    pub(super) fn new(plan: &[(Duration, Duration)], then: (Duration, Duration)) -> Arc<Self> {
        Arc::new(Self {
            plan: Mutex::new(plan.iter().copied().collect()),
            then,
            fetches: AtomicUsize::new(0),
            issued: Mutex::default(),
        })
    }

    pub(super) fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// When `token`'s fetch started and the lifetime it was issued with.
    fn issued(&self, token: &Token) -> (Instant, Duration) {
        self.issued.lock().expect("issued lock")[secret(token)]
    }
}

#[async_trait::async_trait]
impl TokenSource for PlannedSource {
    async fn fetch(&self) -> Result<Token, Error> {
        let started = Instant::now();
        let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
        let (delay, lifetime) = self.plan.lock().expect("plan lock").pop_front().unwrap_or(self.then);
        tokio::time::sleep(delay).await;
        let value = format!("token-{n}");
        self.issued.lock().expect("issued lock").insert(value.clone(), (started, lifetime));
        Token::builder(AccessToken::new(value)).expires_in(lifetime).build()
    }
}

#[tokio::test(start_paused = true)]
async fn a_stale_on_arrival_refresh_falls_back_on_the_unexpired_token_and_backs_off() {
    // The first token lives an hour; every later fetch takes 3 s for a 2 s token.
    let slow = (Duration::from_secs(3), Duration::from_secs(2));
    let source = PlannedSource::new(&[(Duration::ZERO, HOUR)], slow);
    let cache = TokenCache::with_policy(Arc::clone(&source), deterministic());
    let first = cache.token().await.expect("token");
    // At its stale point (30 s before expiry) every caller waits for a refresh; each refresh
    // lands stale, so the callers get the hour token, still before its expiry, as after any
    // failed refresh. 100 calls over 10 s:
    advance(HOUR - Duration::from_secs(30)).await;
    let mut calls = JoinSet::new();
    for _ in 0..100 {
        let cache = cache.clone();
        calls.spawn(async move { cache.token().await });
        advance(Duration::from_millis(100)).await;
    }
    while let Some(joined) = calls.join_next().await {
        let served = joined.expect("task").expect("the fallback token");
        assert!(same(&first, &served), "served {}, a token stale on arrival", secret(&served));
    }
    // Fetches start at +0 s (landing at +3 s, then 1 s of backoff), +4 s (landing at +7 s,
    // 2 s of backoff) and +9 s: the backoff bounds them, not the 100 calls.
    assert_eq!(source.fetches(), 1 + 3);

    // Once the hour token has expired there is nothing to fall back on: the error.
    advance(Duration::from_secs(30)).await;
    let error = cache.token().await.expect_err("nothing servable");
    assert!(stale_on_arrival(&error).is_some(), "{error}");
}

/// Every call that returns a token returns it before `limit` (its stale point or its expiry
/// under `policy`), over 30 s of calls every 50 ms while fetches take from 0 to 3 s for 2 s
/// tokens. Returns (tokens served, errors).
async fn probe(policy: RefreshPolicy, limit: TokenStanding) -> (usize, usize) {
    // Delays cycle through these (seconds): quick, slower than the stale point, slower than
    // the lifetime.
    let delays = [0.0, 0.3, 1.2, 0.0, 1.9, 3.0, 0.6, 2.5, 0.1, 1.0];
    let lifetime = Duration::from_secs(2);
    let plan: Vec<_> = delays.iter().cycle().take(200).map(|d| (Duration::from_secs_f64(*d), lifetime)).collect();
    let source = PlannedSource::new(&plan, (Duration::ZERO, lifetime));
    let cache = TokenCache::with_policy(Arc::clone(&source), policy.clone());
    let mut calls = JoinSet::new();
    for _ in 0..600 {
        let cache = cache.clone();
        calls.spawn(async move { cache.token().await.map(|token| (token, Instant::now())) });
        advance(Duration::from_millis(50)).await;
    }
    let (mut served, mut failed) = (0, 0);
    while let Some(joined) = calls.join_next().await {
        match joined.expect("task") {
            Ok((token, at)) => {
                let (started, lifetime) = source.issued(&token);
                let standing = policy.standing(Some(lifetime), at - started);
                assert!(standing < limit, "{} served {standing:?}, {:?} after its fetch", secret(&token), at - started);
                served += 1;
            }
            Err(_) => failed += 1,
        }
    }
    (served, failed)
}

#[tokio::test(start_paused = true)]
async fn probe_no_call_returns_a_token_past_its_stale_point() {
    // Without a hard margin the stale point is the expiry, so no fallback can serve a token
    // past it: every token returned must be before its stale point.
    let no_margin = deterministic().with_hard_margin(Duration::ZERO).with_min_hard_margin(Duration::ZERO);
    let (served, failed) = probe(no_margin, TokenStanding::Stale).await;
    assert!(served > 0 && failed > 0, "both outcomes exercised: {served} served, {failed} failed");
}

#[tokio::test(start_paused = true)]
async fn probe_no_call_returns_a_token_past_its_expiry_even_as_a_fallback() {
    let (served, failed) = probe(deterministic(), TokenStanding::Expired).await;
    assert!(served > 0 && failed > 0, "both outcomes exercised: {served} served, {failed} failed");
}

#[tokio::test(start_paused = true)]
async fn a_keyed_cache_refuses_a_token_stale_on_arrival_too() {
    let keyed = crate::KeyedTokenCache::builder(|_: &Tenant| {
        Ok(ScriptedSource::new(Some(Duration::from_secs(2)), Duration::from_secs(3)))
    })
    .policy(deterministic())
    .build();
    let error = keyed.token(&Tenant::new("acme")).await.expect_err("stale on arrival");
    assert!(stale_on_arrival(&error).is_some(), "{error}");
    assert!(keyed.try_token(&Tenant::new("acme")).is_none());
}
