use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use super::*;
use crate::{async_trait, AccessToken};

mod eviction_bounds;
mod eviction_probes;
mod front;
mod front_aside;
mod front_aside_probes;
mod front_probes;
mod slot_probes;
mod spacing_probes;

/// Counts fetches per key across every source the factory builds; each fetch first waits for
/// a permit of `gate` when there is one.
#[derive(Default)]
struct Ledger {
    fetches: AtomicUsize,
    built: AtomicUsize,
    per_key: Mutex<std::collections::HashMap<String, usize>>,
    /// When each key's fetches ran, on tokio's clock.
    fetched_at: Mutex<std::collections::HashMap<String, Vec<Instant>>>,
    gate: Option<Arc<Semaphore>>,
    /// This key's fetches all fail.
    failing: Option<&'static str>,
    /// While set, every key's fetches fail.
    outage: std::sync::atomic::AtomicBool,
    /// How long each fetch takes, on tokio's clock (after its permit of `gate`).
    latency: Option<Duration>,
}

struct LedgerSource {
    key: String,
    ledger: Arc<Ledger>,
}

#[async_trait]
impl TokenSource for LedgerSource {
    async fn fetch(&self) -> Result<Token, Error> {
        if let Some(gate) = &self.ledger.gate {
            let _permit = gate.acquire().await.map_err(|_| Error::Abandoned)?;
        }
        let n = self.ledger.fetches.fetch_add(1, Ordering::SeqCst) + 1;
        *self.ledger.per_key.lock().expect("ledger").entry(self.key.clone()).or_default() += 1;
        self.ledger.fetched_at.lock().expect("ledger").entry(self.key.clone()).or_default().push(Instant::now());
        if let Some(latency) = self.ledger.latency {
            tokio::time::sleep(latency).await;
        }
        if self.ledger.failing == Some(self.key.as_str()) || self.ledger.outage.load(Ordering::SeqCst) {
            return Err(Error::Malformed("no token for this tenant".into()));
        }
        Token::builder(AccessToken::new(format!("{}#{n}", self.key))).expires_in(Duration::from_secs(3600)).build()
    }
}

fn builder(ledger: &Arc<Ledger>) -> KeyedTokenCacheBuilder<Tenant, LedgerSource> {
    let ledger = Arc::clone(ledger);
    KeyedTokenCache::builder(move |tenant: &Tenant| {
        ledger.built.fetch_add(1, Ordering::SeqCst);
        Ok(LedgerSource { key: tenant.as_str().to_owned(), ledger: Arc::clone(&ledger) })
    })
}

fn key_of(token: &Token) -> &str {
    token.secret().secret().split('#').next().unwrap_or_default()
}

#[tokio::test]
async fn each_key_gets_its_own_cache_created_on_first_use() {
    let ledger = Arc::new(Ledger::default());
    let tokens = builder(&ledger).build();
    assert!(tokens.is_empty(), "building creates no key");
    assert!(tokens.try_token(&Tenant::new("acme")).is_none(), "try_token() creates nothing");
    assert_eq!(ledger.built.load(Ordering::SeqCst), 0);

    let acme = tokens.token(&Tenant::new("acme")).await.expect("acme");
    let globex = tokens.token(&Tenant::new("globex")).await.expect("globex");
    let acme_again = tokens.token(&Tenant::new("acme")).await.expect("acme again");
    assert_eq!(key_of(&acme), "acme");
    assert_eq!(key_of(&globex), "globex");
    assert!(Arc::ptr_eq(&acme, &acme_again) || acme.secret() == acme_again.secret(), "a hit");
    assert_eq!(ledger.fetches.load(Ordering::SeqCst), 2);
    assert_eq!(ledger.built.load(Ordering::SeqCst), 2, "one source per key");
    assert_eq!(tokens.len(), 2);
    let fresh = tokens.try_token(&Tenant::new("globex")).expect("fresh hit");
    assert_eq!(fresh.secret(), globex.secret());
}

#[tokio::test]
async fn invalidating_one_key_refetches_that_key_only() {
    let ledger = Arc::new(Ledger::default());
    let tokens = builder(&ledger).build();
    let (acme, globex) = (Tenant::new("acme"), Tenant::new("globex"));
    let first = tokens.token(&acme).await.expect("acme");
    tokens.token(&globex).await.expect("globex");
    assert!(tokens.invalidate(&acme, &first));
    assert!(!tokens.invalidate(&acme, &first), "only the first rejection of a token acts");
    assert!(!tokens.invalidate(&Tenant::new("nobody"), &first), "no cache, nothing to invalidate");
    let second = tokens.token(&acme).await.expect("acme again");
    assert_ne!(first.secret(), second.secret());
    tokens.token(&globex).await.expect("globex again");
    let per_key = ledger.per_key.lock().expect("ledger").clone();
    assert_eq!(per_key.get("acme"), Some(&2));
    assert_eq!(per_key.get("globex"), Some(&1));
}

#[tokio::test]
async fn a_factory_error_reaches_the_caller_and_creates_no_key() {
    let tokens = KeyedTokenCache::builder(|tenant: &Tenant| {
        if tenant.as_str() == "unknown" {
            return Err(Error::Config("no configuration for this tenant".into()));
        }
        Ok(LedgerSource { key: tenant.as_str().to_owned(), ledger: Arc::default() })
    })
    .build();
    let error = tokens.token(&Tenant::new("unknown")).await.expect_err("factory failed");
    assert!(matches!(error, Error::Config(_)), "{error:?}");
    assert!(tokens.is_empty());
    tokens.token(&Tenant::new("acme")).await.expect("other keys still work");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_first_requests_over_a_thousand_keys_fetch_exactly_a_thousand_times() {
    let gate = Arc::new(Semaphore::new(0));
    let ledger = Arc::new(Ledger { gate: Some(Arc::clone(&gate)), ..Ledger::default() });
    let tokens = builder(&ledger).max_keys(2_000).build();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..10_000 {
        let tokens = tokens.clone();
        let key = Tenant::new(format!("tenant-{}", i % 1_000));
        tasks.spawn(async move {
            let token = tokens.token(&key).await;
            (key, token)
        });
    }
    // Every fetch waits here until all 10,000 callers are in flight (or done, which they
    // cannot be without a fetch): let the callers pile up, then open the gate.
    while tokens.len() < 1_000 {
        tokio::task::yield_now().await;
    }
    gate.add_permits(Semaphore::MAX_PERMITS);
    let mut served = 0;
    while let Some(joined) = tasks.join_next().await {
        let (key, token) = joined.expect("task");
        let token = token.expect("token");
        assert_eq!(key_of(&token), key.as_str(), "each caller gets its own key's token");
        served += 1;
    }
    assert_eq!(served, 10_000);
    assert_eq!(ledger.fetches.load(Ordering::SeqCst), 1_000, "one fetch per key");
    assert_eq!(ledger.built.load(Ordering::SeqCst), 1_000, "racing creators share one cache per key");
    let per_key = ledger.per_key.lock().expect("ledger").clone();
    assert_eq!(per_key.len(), 1_000);
    assert!(per_key.values().all(|&n| n == 1), "no key fetched twice");
}

#[tokio::test]
async fn the_key_bound_holds_and_a_full_shard_evicts_unused_keys_first() {
    let ledger = Arc::new(Ledger::default());
    let tokens = builder(&ledger).max_keys(8).shards(1).build();
    for i in 0..8 {
        tokens.token(&Tenant::new(format!("t{i}"))).await.expect("token");
    }
    assert_eq!(tokens.len(), 8);
    // t0..t3 used again, so the sweep gives them a second chance over t4..t7.
    for i in 0..4 {
        assert!(tokens.try_token(&Tenant::new(format!("t{i}"))).is_some());
    }
    tokens.token(&Tenant::new("t8")).await.expect("t8");
    assert!(tokens.len() <= 8, "never above the bound: {}", tokens.len());
    for i in 0..4 {
        assert!(tokens.get(&Tenant::new(format!("t{i}"))).is_some(), "t{i} was used since the last sweep: kept");
    }
    assert!(tokens.get(&Tenant::new("t8")).is_some(), "the new key is in");
    assert!((4..8).any(|i| tokens.get(&Tenant::new(format!("t{i}"))).is_none()), "an unused key made room");

    let bounded = builder(&ledger).max_keys(64).build();
    for i in 0..1_000 {
        bounded.token(&Tenant::new(format!("k{i}"))).await.expect("token");
        assert!(bounded.len() <= bounded.max_keys(), "bound broken at key {i}");
    }
    assert!(bounded.max_keys() <= 64);
}

#[tokio::test(start_paused = true)]
async fn idle_keys_are_evicted_when_a_key_is_created_and_used_ones_stay() {
    let ledger = Arc::new(Ledger::default());
    let tokens = builder(&ledger).idle_timeout(Duration::from_secs(60)).shards(1).build();
    let (idle, busy) = (Tenant::new("idle"), Tenant::new("busy"));
    tokens.token(&idle).await.expect("idle");
    tokens.token(&busy).await.expect("busy");
    tokio::time::advance(Duration::from_secs(40)).await;
    tokens.token(&busy).await.expect("busy is used");
    tokio::time::advance(Duration::from_secs(21)).await;
    assert_eq!(tokens.len(), 2, "nothing is evicted while nobody creates a key: no timer runs");
    tokens.token(&Tenant::new("new")).await.expect("new");
    assert!(tokens.get(&idle).is_none(), "unused for 61 s: evicted");
    assert!(tokens.get(&busy).is_some(), "used 21 s ago: kept");
    assert_eq!(tokens.len(), 2);

    // `get` above was a use of busy; new has not been used since its creation at 61 s.
    tokio::time::advance(Duration::from_secs(59)).await;
    assert_eq!(tokens.evict_idle(), 0, "new was created 59 s ago");
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(tokens.evict_idle(), 1, "new, unused for 60 s");
    assert!(tokens.get(&Tenant::new("new")).is_none());
    tokio::time::advance(Duration::from_secs(59)).await;
    assert_eq!(tokens.evict_idle(), 1, "busy, last seen used by the sweep at 120 s");
    assert!(tokens.is_empty());
}

#[tokio::test]
async fn evicting_a_key_whose_token_is_in_use_never_fails_its_request() {
    let gate = Arc::new(Semaphore::new(0));
    let ledger = Arc::new(Ledger { gate: Some(Arc::clone(&gate)), ..Ledger::default() });
    let tokens = builder(&ledger).max_keys(1).build();
    let acme = Tenant::new("acme");
    // A request for acme holds its cache and waits for the token...
    let cache = tokens.cache(&acme).expect("cache");
    let request = tokio::spawn({
        let cache = cache.clone();
        async move { cache.token().await }
    });
    tokio::task::yield_now().await;
    // ...while another tenant takes the only place: acme is evicted mid-fetch.
    tokens.cache(&Tenant::new("globex")).expect("globex");
    assert!(tokens.get(&acme).is_none(), "acme was evicted");
    assert!(!request.is_finished());
    gate.add_permits(Semaphore::MAX_PERMITS);
    let token = request.await.expect("task").expect("the in-flight request gets its token");
    assert_eq!(key_of(&token), "acme");
    // The request's retry path (invalidate, fetch again) still works on the evicted cache.
    assert!(cache.invalidate(&token));
    let again = cache.token().await.expect("refetched on the evicted cache");
    assert_ne!(again.secret(), token.secret());
    assert_eq!(key_of(&again), "acme");
}

#[tokio::test]
async fn map_source_wraps_each_created_source_once() {
    let wrapped = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&wrapped);
    let tokens = builder(&Arc::new(Ledger::default()))
        .map_source(move |tenant: &Tenant, source| {
            count.fetch_add(1, Ordering::SeqCst);
            if tenant.as_str() == "refused" {
                return Err(Error::Config("refused".into()));
            }
            Ok(source)
        })
        .build();
    tokens.token(&Tenant::new("acme")).await.expect("acme");
    tokens.token(&Tenant::new("acme")).await.expect("acme");
    assert!(tokens.token(&Tenant::new("refused")).await.is_err());
    assert_eq!(wrapped.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn debug_shows_the_shape_never_a_token() {
    let tokens = builder(&Arc::new(Ledger::default())).build();
    let token = tokens.token(&Tenant::new("acme")).await.expect("acme");
    let debug = format!("{tokens:?}");
    assert!(debug.contains("keys: 1"), "{debug}");
    assert!(!debug.contains(token.secret().secret()), "{debug}");
    assert!(!debug.contains("acme"), "keys are not listed: {debug}");
}
