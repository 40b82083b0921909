//! Review probes of the shard slots' copies of their caches' tokens: a lookup behind the front
//! tables serves a slot's copy exactly when the key's cache would serve its token, and
//! renewing a copy never blocks on the lookup's own thread.

use std::sync::atomic::AtomicBool;
use std::sync::mpsc;

use super::front_probes::{set_hook, HookedKey};
use super::*;

/// `key`'s token as its shard alone serves it (no front table, no offer): the slot's copy,
/// else its cache's.
fn from_shard(tokens: &KeyedTokenCache<Tenant, LedgerSource>, key: &Tenant) -> Option<Arc<Token>> {
    let (hash, shard) = tokens.shard(key);
    shard.try_token(hash, key, None)
}

#[tokio::test(start_paused = true)]
async fn a_slot_copy_is_not_served_after_an_invalidation_a_refresh_or_its_refresh_point() {
    let ledger = Arc::new(Ledger::default());
    let policy = RefreshPolicy::default().with_min_fetch_interval(Duration::ZERO);
    let tokens = builder(&ledger).policy(policy).shards(1).build();
    let acme = Tenant::new("acme");
    let first = tokens.token(&acme).await.expect("acme");
    assert_eq!(from_shard(&tokens, &acme).expect("the slot's copy").secret(), first.secret());

    assert!(tokens.invalidate(&acme, &first));
    assert!(from_shard(&tokens, &acme).is_none(), "an invalidated token is not served from the slot");
    assert!(tokens.try_token(&acme).is_none(), "nor from the front table");

    let second = tokens.token(&acme).await.expect("acme, fetched again");
    assert_ne!(second.secret(), first.secret());
    assert_eq!(from_shard(&tokens, &acme).expect("the renewed copy").secret(), second.secret());

    // Into the refresh-ahead window: served as the cache serves it, one background refresh.
    tokio::time::advance(Duration::from_secs(3_301)).await;
    for _ in 0..5 {
        assert_eq!(from_shard(&tokens, &acme).expect("served in the window").secret(), second.secret());
    }
    tokio::time::advance(Duration::from_millis(10)).await;
    assert_eq!(ledger.fetches.load(Ordering::SeqCst), 3, "one background refresh");
    let third = from_shard(&tokens, &acme).expect("the refreshed token");
    assert_ne!(third.secret(), second.secret(), "the lapsed copy was not served after the refresh");

    // Removed and created again: the new cache's token, never the old slot's.
    assert!(tokens.remove(&acme));
    assert!(from_shard(&tokens, &acme).is_none(), "a removed key has no slot");
    let fourth = tokens.token(&acme).await.expect("acme again");
    assert_eq!(from_shard(&tokens, &acme).expect("the new cache's").secret(), fourth.secret());
}

#[tokio::test(start_paused = true)]
async fn a_fetch_of_a_removed_keys_cache_never_renews_the_recreated_keys_slot() {
    // The key's first cache fetches in 10 s, its second in 1 s: the old cache's token lands
    // (and its caller renews "its" slot) after the new cache's, both of generation 1.
    let (slow, fast) = (
        Arc::new(Ledger { latency: Some(Duration::from_secs(10)), ..Ledger::default() }),
        Arc::new(Ledger { latency: Some(Duration::from_secs(1)), ..Ledger::default() }),
    );
    let created = Arc::new(AtomicUsize::new(0));
    let tokens = {
        let (slow, fast, created) = (Arc::clone(&slow), Arc::clone(&fast), Arc::clone(&created));
        KeyedTokenCache::builder(move |tenant: &Tenant| {
            // Tokens `acme#1` from the first cache, `acme-again#1` from the second.
            let (ledger, suffix) =
                if created.fetch_add(1, Ordering::SeqCst) == 0 { (&slow, "") } else { (&fast, "-again") };
            Ok(LedgerSource { key: format!("{}{suffix}", tenant.as_str()), ledger: Arc::clone(ledger) })
        })
        .policy(RefreshPolicy::default().with_min_fetch_interval(Duration::ZERO))
        .shards(1)
        .build()
    };
    let acme = Tenant::new("acme");
    let old = tokio::spawn({
        let (tokens, acme) = (tokens.clone(), acme.clone());
        async move { tokens.token(&acme).await }
    });
    tokio::task::yield_now().await;
    assert!(tokens.remove(&acme));
    let new = tokens.token(&acme).await.expect("the new cache's token");
    let old = old.await.expect("task").expect("the old cache's token");
    assert_eq!((slow.fetches.load(Ordering::SeqCst), fast.fetches.load(Ordering::SeqCst)), (1, 1));
    assert_ne!(old.secret(), new.secret());
    for _ in 0..3 {
        assert_eq!(from_shard(&tokens, &acme).expect("fresh").secret(), new.secret());
        assert_eq!(tokens.try_token(&acme).expect("fresh").secret(), new.secret());
    }
}

#[tokio::test(start_paused = true)]
async fn a_token_without_expiry_in_a_slot_is_dropped_by_an_invalidation() {
    struct Forever(Arc<Ledger>);

    #[async_trait]
    impl TokenSource for Forever {
        async fn fetch(&self) -> Result<Token, Error> {
            let n = self.0.fetches.fetch_add(1, Ordering::SeqCst) + 1;
            Token::builder(AccessToken::new(format!("forever#{n}"))).build()
        }
    }
    let ledger = Arc::new(Ledger::default());
    let tokens = {
        let ledger = Arc::clone(&ledger);
        KeyedTokenCache::builder(move |_: &Tenant| Ok(Forever(Arc::clone(&ledger)))).shards(1).build()
    };
    let acme = Tenant::new("acme");
    let first = tokens.token(&acme).await.expect("acme");
    tokio::time::advance(Duration::from_secs(365 * 24 * 3600)).await;
    let (hash, shard) = tokens.shard(&acme);
    assert_eq!(shard.try_token(hash, &acme, None).expect("no expiry: fresh").secret(), first.secret());
    assert!(tokens.invalidate(&acme, &first));
    assert!(shard.try_token(hash, &acme, None).is_none(), "invalidated");
    assert!(tokens.try_token(&acme).is_none(), "invalidated");
    let (_, token) = tokens.cache_and_token(&acme).expect("acme");
    assert!(token.is_none(), "cache_and_token() gives no invalidated token");
}

/// Real threads: once `invalidate` has returned, no thread is served the invalidated token,
/// from its front table or from a slot, while the other threads find the keys' copies lapsed
/// at once and renew them (a storm on one shard's write lock); each is served its own key's.
#[test]
fn no_thread_is_served_a_token_after_its_invalidation_returned() {
    const ROUNDS: usize = 100;
    const READERS: usize = 3;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let ledger = Arc::new(Ledger::default());
    let policy = RefreshPolicy::default()
        .with_min_fetch_interval(Duration::ZERO)
        .with_rejection_refresh_interval(Duration::ZERO);
    let tokens = builder(&ledger).policy(policy).shards(1).build();
    let keys: Vec<Tenant> = (0..8).map(|i| Tenant::new(format!("tenant-{i}"))).collect();
    // Each key's last invalidated token, published once `invalidate` returned.
    let rejected: Vec<Mutex<Option<Arc<Token>>>> = keys.iter().map(|_| Mutex::new(None)).collect();
    let done = AtomicBool::new(false);
    let mut current: Vec<Arc<Token>> =
        keys.iter().map(|key| runtime.block_on(tokens.token(key)).expect("first token")).collect();
    std::thread::scope(|scope| {
        for _ in 0..READERS {
            scope.spawn(|| {
                while !done.load(Ordering::SeqCst) {
                    for (key, rejected) in keys.iter().zip(&rejected) {
                        let before = rejected.lock().expect("rejected").clone();
                        let served = tokens.try_token(key);
                        let served_with_cache = tokens.cache_and_token(key).expect("key").1;
                        for token in served.iter().chain(served_with_cache.iter()) {
                            assert_eq!(key_of(token), key.as_str(), "another key's token");
                            if let Some(before) = &before {
                                assert_ne!(token.secret(), before.secret(), "served after its invalidation returned");
                            }
                        }
                    }
                }
            });
        }
        for _ in 0..ROUNDS {
            for ((key, rejected), current) in keys.iter().zip(&rejected).zip(&mut current) {
                assert!(tokens.invalidate(key, current), "the installed token");
                *rejected.lock().expect("rejected") = Some(Arc::clone(current));
                *current = runtime.block_on(tokens.token(key)).expect("fetched again");
            }
        }
        done.store(true, Ordering::SeqCst);
    });
    assert_eq!(ledger.fetches.load(Ordering::SeqCst), keys.len() * (ROUNDS + 1));
    for (key, current) in keys.iter().zip(&current) {
        assert_eq!(from_shard(&tokens, key).expect("fresh").secret(), current.secret(), "after the storm");
    }
}

/// A key comparison made under a shard's read lock that hits another key of the shard whose
/// slot copy is not made yet: the hit renews that copy, and must not wait for the write lock
/// its own thread's read lock holds off.
#[test]
fn a_key_comparison_under_the_shard_lock_that_hits_another_key_does_not_deadlock() {
    let served = on_a_thread(|runtime| {
        let ledger = Arc::new(Ledger::default());
        let tokens = KeyedTokenCache::builder(move |key: &HookedKey| {
            Ok(LedgerSource { key: key.0.to_owned(), ledger: Arc::clone(&ledger) })
        })
        .shards(1)
        .build();
        let (acme, globex) = (HookedKey("acme"), HookedKey("globex"));
        runtime.block_on(async {
            tokens.token(&acme).await.expect("acme");
            // Fetched through its cache: the slot has no copy yet.
            tokens.cache(&globex).expect("globex").token().await.expect("globex");
        });
        let inner = Arc::new(Mutex::new(None));
        let (reentrant, reentrant_inner) = (tokens.clone(), Arc::clone(&inner));
        set_hook(move || {
            let served = reentrant.try_token(&globex);
            *reentrant_inner.lock().expect("inner") = served.map(|token| key_of(&token).to_owned());
        });
        // acme's first hit goes through its shard (this thread's front table has no entry).
        let outer = tokens.try_token(&acme).map(|token| key_of(&token).to_owned());
        let inner = inner.lock().expect("inner").clone();
        (outer, inner)
    });
    assert_eq!(served, (Some("acme".to_owned()), Some("globex".to_owned())));
}

#[tokio::test]
async fn cache_and_token_debug_shows_no_secret() {
    let ledger = Arc::new(Ledger::default());
    let tokens = builder(&ledger).build();
    let acme = Tenant::new("acme");
    let token = tokens.token(&acme).await.expect("acme");
    let found = tokens.cache_and_token(&acme).expect("acme");
    assert!(found.1.is_some());
    let printed = format!("{found:?} {tokens:?}");
    assert!(!printed.contains(token.secret().secret()), "{printed}");
}

/// A source whose `Drop` hits another key of its keyed cache (a source that reports its
/// tenant's last token on the way out, say).
struct HitsOnDrop {
    inner: LedgerSource,
    tokens: Arc<std::sync::OnceLock<KeyedTokenCache<Tenant, HitsOnDrop>>>,
    served_on_drop: Arc<Mutex<Option<String>>>,
}

#[async_trait]
impl TokenSource for HitsOnDrop {
    async fn fetch(&self) -> Result<Token, Error> {
        self.inner.fetch().await
    }
}

impl Drop for HitsOnDrop {
    fn drop(&mut self) {
        if self.inner.key != "acme" {
            return;
        }
        if let Some(tokens) = self.tokens.get() {
            let served = tokens.try_token(&Tenant::new("globex"));
            *self.served_on_drop.lock().expect("served") = served.map(|token| key_of(&token).to_owned());
        }
    }
}

/// A keyed cache (one shard, keys idle after a minute, `max_keys`) whose sources hit globex when acme's
/// is dropped, and what that hit was served.
fn hits_on_drop_tokens(
    ledger: Ledger,
    max_keys: usize,
) -> (KeyedTokenCache<Tenant, HitsOnDrop>, Arc<Mutex<Option<String>>>) {
    let ledger = Arc::new(ledger);
    let cell = Arc::new(std::sync::OnceLock::new());
    let served_on_drop = Arc::new(Mutex::new(None));
    let tokens = {
        let (cell, served_on_drop) = (Arc::clone(&cell), Arc::clone(&served_on_drop));
        KeyedTokenCache::builder(move |tenant: &Tenant| {
            Ok(HitsOnDrop {
                inner: LedgerSource { key: tenant.as_str().to_owned(), ledger: Arc::clone(&ledger) },
                tokens: Arc::clone(&cell),
                served_on_drop: Arc::clone(&served_on_drop),
            })
        })
        .idle_timeout(Duration::from_secs(60))
        .max_keys(max_keys)
        .shards(1)
        .build()
    };
    assert!(cell.set(tokens.clone()).is_ok());
    (tokens, served_on_drop)
}

/// Runs `probe` on a thread of its own with a current-thread runtime on tokio's paused clock;
/// what it returns, unless it hangs (a guard, not a timing assertion).
fn on_a_thread<R: Send + 'static>(probe: impl FnOnce(&tokio::runtime::Runtime) -> R + Send + 'static) -> R {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().expect("runtime");
        drop(sender.send(probe(&runtime)));
    });
    receiver.recv_timeout(Duration::from_secs(60)).expect("the probe deadlocked")
}

/// Removing a key drops its cache (and source) once nothing else holds it: a source whose
/// `Drop` uses the keyed cache must not find its shard's lock held by its own thread.
#[test]
fn a_removed_keys_source_whose_drop_hits_another_key_does_not_deadlock() {
    let served = on_a_thread(|runtime| {
        let (tokens, served_on_drop) = hits_on_drop_tokens(Ledger::default(), DEFAULT_MAX_KEYS);
        let (acme, globex) = (Tenant::new("acme"), Tenant::new("globex"));
        runtime.block_on(async {
            // Fetched through the cache only: no front-table entry holds acme's cache.
            tokens.cache(&acme).expect("acme").token().await.expect("acme");
            tokens.token(&globex).await.expect("globex");
        });
        assert!(tokens.remove(&acme));
        let served = served_on_drop.lock().expect("served").clone();
        served
    });
    assert_eq!(served.as_deref(), Some("globex"), "the source's Drop ran and was served");
}

/// As above, for a key evicted as idle: the sweep drops the evicted caches after the lock.
#[test]
fn an_evicted_keys_source_whose_drop_hits_another_key_does_not_deadlock() {
    let served = on_a_thread(|runtime| {
        runtime.block_on(async {
            let (tokens, served_on_drop) = hits_on_drop_tokens(Ledger::default(), DEFAULT_MAX_KEYS);
            let (acme, globex) = (Tenant::new("acme"), Tenant::new("globex"));
            tokens.token(&globex).await.expect("globex");
            tokens.cache(&acme).expect("acme").token().await.expect("acme");
            tokio::time::advance(Duration::from_secs(61)).await;
            // A use that makes no front-table entry: the Drop's hit of globex reaches the shard.
            tokens.get(&globex).expect("globex, used: it stays");
            assert_eq!(tokens.evict_idle(), 1, "acme, idle, is evicted");
            let served = served_on_drop.lock().expect("served").clone();
            served
        })
    });
    assert_eq!(served.as_deref(), Some("globex"), "the source's Drop ran and was served");
}

/// The first token lives an hour; every later one lives 1 s and takes 2 s to arrive (stale on
/// arrival, never installed).
struct StaleAfterFirst(Arc<Ledger>);

#[async_trait]
impl TokenSource for StaleAfterFirst {
    async fn fetch(&self) -> Result<Token, Error> {
        let n = self.0.fetches.fetch_add(1, Ordering::SeqCst) + 1;
        let lifetime = if n == 1 {
            Duration::from_secs(3600)
        } else {
            tokio::time::sleep(Duration::from_secs(2)).await;
            Duration::from_secs(1)
        };
        Token::builder(AccessToken::new(format!("acme#{n}"))).expires_in(lifetime).build()
    }
}

#[tokio::test(start_paused = true)]
async fn a_refresh_stale_on_arrival_leaves_the_slot_serving_only_what_the_cache_serves() {
    let ledger = Arc::new(Ledger::default());
    let tokens = {
        let ledger = Arc::clone(&ledger);
        KeyedTokenCache::builder(move |_: &Tenant| Ok(StaleAfterFirst(Arc::clone(&ledger)))).shards(1).build()
    };
    let acme = Tenant::new("acme");
    let first = tokens.token(&acme).await.expect("acme");
    let (hash, shard) = tokens.shard(&acme);
    assert_eq!(shard.try_token(hash, &acme, None).expect("the slot's copy").secret(), first.secret());
    // Into the refresh-ahead window: the background refresh's token lands stale.
    tokio::time::advance(Duration::from_secs(3_301)).await;
    assert_eq!(tokens.try_token(&acme).expect("served while refreshing").secret(), first.secret());
    tokio::time::advance(Duration::from_secs(3)).await;
    assert_eq!(ledger.fetches.load(Ordering::SeqCst), 2, "the refresh ran and failed");
    for _ in 0..3 {
        let cache = tokens.get(&acme).expect("acme");
        let served = shard.try_token(hash, &acme, None);
        assert_eq!(served.map(|token| token.secret().clone()), cache.try_token().map(|token| token.secret().clone()));
        assert!(tokens.cache_and_token(&acme).expect("acme").1.is_none(), "not fresh: no token from the lookup");
    }
}

/// As above, for a key evicted mid-fetch: its record keeps its whole cache until the fetch has
/// landed, and a later sweep then drops that cache (after the lock).
#[test]
fn an_evicted_mid_fetch_keys_source_whose_drop_hits_another_key_does_not_deadlock() {
    let served = on_a_thread(|runtime| {
        runtime.block_on(async {
            let ledger = Ledger { latency: Some(Duration::from_secs(5)), ..Ledger::default() };
            let (tokens, served_on_drop) = hits_on_drop_tokens(ledger, 2);
            let (acme, globex) = (Tenant::new("acme"), Tenant::new("globex"));
            tokens.token(&globex).await.expect("globex");
            let fetch = tokio::spawn({
                let acme_cache = tokens.cache(&acme).expect("acme");
                async move { acme_cache.token().await.map(|_| ()) }
            });
            tokio::time::advance(Duration::from_secs(1)).await;
            // globex used, acme not: creating a third key evicts acme, mid-fetch.
            tokens.get(&globex).expect("globex");
            tokens.cache(&Tenant::new("initech")).expect("initech");
            assert!(tokens.get(&acme).is_none(), "acme was evicted");
            fetch.await.expect("task").expect("acme's fetch landed");
            assert!(served_on_drop.lock().expect("served").is_none(), "the record still holds acme's cache");
            tokio::time::advance(Duration::from_secs(1)).await;
            // This sweep finds the fetch landed and drops the record's cache.
            tokens.evict_idle();
            let served = served_on_drop.lock().expect("served").clone();
            served
        })
    });
    assert_eq!(served.as_deref(), Some("globex"), "the source's Drop ran and was served");
}
