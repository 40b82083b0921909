//! Review probes of the per-thread front tables: what a hit there serves, which entries it
//! keeps, and what it allocates, against the shard and a single [`TokenCache`].

use std::hash::{Hash, Hasher};

use super::*;

/// Whether this thread's front table would serve `key` now (without the shard).
fn served_from_front<K, S>(tokens: &KeyedTokenCache<K, S>, key: &K) -> bool
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    S: TokenSource + 'static,
{
    let (hash, shard) = tokens.shard(key);
    tokens.inner.front.try_token(hash, key, shard.epoch()).is_ok()
}

/// A key whose every value hashes alike: a legal `Hash` (equal keys hash equal), as a key
/// type that hashes only some of its fields has for the values that differ elsewhere.
#[derive(Clone, PartialEq, Eq)]
struct OneHash(&'static str);

impl Hash for OneHash {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u8(0);
    }
}

/// A keyed cache of keys naming their tenant with a `&'static str`, for key types of the probes.
fn named_key_tokens<K>(ledger: &Arc<Ledger>, name: fn(&K) -> &'static str) -> KeyedTokenCache<K, LedgerSource>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    let ledger = Arc::clone(ledger);
    KeyedTokenCache::builder(move |key: &K| Ok(LedgerSource { key: name(key).to_owned(), ledger: Arc::clone(&ledger) }))
        .build()
}

#[tokio::test]
async fn keys_of_one_hash_do_not_push_each_other_out_of_the_front_table() {
    let ledger = Arc::new(Ledger::default());
    let tokens = named_key_tokens(&ledger, |key: &OneHash| key.0);
    let (a, b) = (OneHash("a"), OneHash("b"));
    tokens.token(&a).await.expect("a");
    tokens.token(&b).await.expect("b");
    for _ in 0..3 {
        assert_eq!(key_of(&tokens.try_token(&a).expect("a is fresh")), "a");
        assert_eq!(key_of(&tokens.try_token(&b).expect("b is fresh")), "b");
    }
    // Each hit of one pushing the other's live entry out makes a copy (an allocation) per hit.
    // (b, whose lookups find a's entry of the same hash first, is served through its shard.)
    assert!(served_from_front(&tokens, &a), "a's live entry was pushed out by b, a key of the same hash");
}

// Paused: globex's next fetch waits out the minimum fetch interval its removal kept.
#[tokio::test(start_paused = true)]
async fn a_live_copy_is_kept_when_its_shard_moves_to_a_new_epoch() {
    let ledger = Arc::new(Ledger::default());
    let tokens = builder(&ledger).shards(1).build();
    let (acme, globex) = (Tenant::new("acme"), Tenant::new("globex"));
    tokens.token(&acme).await.expect("acme");
    tokens.token(&globex).await.expect("globex");
    tokens.try_token(&acme).expect("acme, through the shard");
    assert!(served_from_front(&tokens, &acme));
    let copy = tokens.try_token(&acme).expect("acme, from the front table");
    for round in 0..3 {
        // Another key of the shard removed (or a sweep): the shard's epoch moves on.
        assert!(tokens.remove(&globex));
        tokens.token(&globex).await.expect("globex again");
        assert!(!served_from_front(&tokens, &acme), "round {round}: a new epoch goes through the shard first");
        tokens.try_token(&acme).expect("acme, through the shard, a use of the key");
        let again = tokens.try_token(&acme).expect("acme, from the front table again");
        // The copy is still this thread's copy of the installed token: making another
        // (an allocation per key per thread per removal or sweep) buys nothing.
        assert!(Arc::ptr_eq(&copy, &again), "round {round}: the front table made a new copy of an unchanged token");
    }
}

#[tokio::test(start_paused = true)]
async fn in_the_refresh_ahead_window_a_key_starts_one_background_refresh_as_a_single_cache_does() {
    let ledger = Arc::new(Ledger::default());
    let tokens = builder(&ledger).build();
    let acme = Tenant::new("acme");
    let first = tokens.token(&acme).await.expect("acme");
    tokens.try_token(&acme).expect("acme, through the shard");
    assert!(served_from_front(&tokens, &acme));
    let single_ledger = Arc::new(Ledger::default());
    let single = TokenCache::new(LedgerSource { key: "acme".into(), ledger: Arc::clone(&single_ledger) });
    single.token().await.expect("single");
    single.try_token().expect("single, a copy on this thread");

    // Into the refresh-ahead window (the last 300 s of a 3,600 s token).
    tokio::time::advance(Duration::from_secs(3_301)).await;
    assert!(!served_from_front(&tokens, &acme), "past its refresh point the copy is not served");
    for _ in 0..5 {
        assert_eq!(tokens.try_token(&acme).expect("served in the window").secret(), first.secret());
        assert!(single.try_token().is_some(), "served in the window");
    }
    tokio::time::advance(Duration::from_millis(10)).await;
    assert_eq!(single_ledger.fetches.load(Ordering::SeqCst), 2, "the single cache: one background refresh");
    assert_eq!(ledger.fetches.load(Ordering::SeqCst), 2, "the key: one background refresh, as the single cache");
    let second = tokens.try_token(&acme).expect("the refreshed token");
    assert_ne!(second.secret(), first.secret());
    assert!(served_from_front(&tokens, &acme), "the refreshed token's copy is served from the front again");
    assert_eq!(tokens.try_token(&acme).expect("fresh").secret(), second.secret());
}

/// Review probe with real threads: another thread's table is never served a removed key's
/// token once the key is created again, and a thread that takes over an exited thread's table
/// is not served that thread's stale entries either.
#[test]
fn threads_are_served_the_recreated_keys_token_never_the_removed_ones() {
    const ROUNDS: usize = 200;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let ledger = Arc::new(Ledger::default());
    let policy = RefreshPolicy::default().with_min_fetch_interval(Duration::ZERO);
    let tokens = builder(&ledger).policy(policy).shards(1).build();
    let acme = Tenant::new("acme");
    let installed = Mutex::new(runtime.block_on(tokens.token(&acme)).expect("acme"));
    let turns = std::sync::Barrier::new(2);
    std::thread::scope(|scope| {
        let (tokens, acme, installed, turns) = (&tokens, &acme, &installed, &turns);
        scope.spawn(move || {
            for round in 0..ROUNDS {
                turns.wait();
                let expected = installed.lock().expect("installed").secret().clone();
                for _ in 0..3 {
                    let token = tokens.try_token(acme).expect("fresh");
                    assert_eq!(token.secret(), &expected, "round {round}: another cache's token");
                }
                turns.wait();
            }
        });
        for _ in 0..ROUNDS {
            turns.wait();
            turns.wait();
            assert!(tokens.remove(acme));
            let again = runtime.block_on(tokens.token(acme)).expect("acme again");
            *installed.lock().expect("installed") = again;
        }
    });
    assert_eq!(ledger.built.load(Ordering::SeqCst), ROUNDS + 1, "the factory ran once per creation");
    // A thread that takes over the exited thread's table.
    assert!(tokens.remove(&acme));
    let again = runtime.block_on(tokens.token(&acme)).expect("acme again");
    let on_new_thread = std::thread::scope(|scope| scope.spawn(|| tokens.try_token(&acme)).join().expect("thread"));
    assert_eq!(on_new_thread.expect("fresh").secret(), again.secret());
}

thread_local! {
    /// Run (once) by the next comparison of a [`HookedKey`] on this thread.
    static HOOK: std::cell::RefCell<Option<Box<dyn FnOnce()>>> = const { std::cell::RefCell::new(None) };
}

pub(super) fn set_hook(hook: impl FnOnce() + 'static) {
    HOOK.with(|slot| *slot.borrow_mut() = Some(Box::new(hook)));
}

/// A key whose comparison runs this thread's [`HOOK`], if one is set.
#[derive(Clone, Eq)]
pub(super) struct HookedKey(pub(super) &'static str);

impl Hash for HookedKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialEq for HookedKey {
    fn eq(&self, other: &Self) -> bool {
        if let Some(hook) = HOOK.with(|hook| hook.borrow_mut().take()) {
            hook();
        }
        self.0 == other.0
    }
}

#[tokio::test]
async fn a_key_comparison_that_panics_leaves_the_front_table_usable() {
    let ledger = Arc::new(Ledger::default());
    let tokens = named_key_tokens(&ledger, |key: &HookedKey| key.0);
    let acme = HookedKey("acme");
    tokens.token(&acme).await.expect("acme");
    tokens.try_token(&acme).expect("acme, through the shard");
    assert!(served_from_front(&tokens, &acme));
    set_hook(|| panic!("a key comparison panicked"));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tokens.try_token(&acme)));
    assert!(outcome.is_err(), "the comparison panicked");
    assert!(served_from_front(&tokens, &acme), "the table is not left borrowed");
    assert_eq!(key_of(&tokens.try_token(&acme).expect("fresh")), "acme");
    tokens.token(&HookedKey("globex")).await.expect("a new key, into the table");
    tokens.try_token(&HookedKey("globex")).expect("globex, through the shard");
    assert!(served_from_front(&tokens, &HookedKey("globex")), "the table takes new entries");
}

#[tokio::test(start_paused = true)]
async fn a_key_evicted_mid_refresh_with_front_entries_fetches_once_and_serves_the_refreshed_token() {
    let ledger = Arc::new(Ledger { latency: Some(Duration::from_secs(5)), ..Ledger::default() });
    let tokens = builder(&ledger).max_keys(1).shards(1).build();
    let (acme, globex) = (Tenant::new("acme"), Tenant::new("globex"));
    let first = tokens.token(&acme).await.expect("acme");
    tokens.try_token(&acme).expect("acme, through the shard");
    assert!(served_from_front(&tokens, &acme));

    // Into the refresh-ahead window: a hit starts the background refresh (5 s in flight).
    tokio::time::advance(Duration::from_secs(3_301)).await;
    assert_eq!(tokens.try_token(&acme).expect("served in the window").secret(), first.secret());
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(ledger.fetches.load(Ordering::SeqCst), 2, "the background refresh is in flight");

    // Evicted mid-flight; the front entry still holds the cache, but is never served again.
    tokens.cache(&globex).expect("globex created, acme evicted");
    assert!(tokens.get(&acme).is_none(), "acme was evicted");
    assert!(!served_from_front(&tokens, &acme), "an evicted key's entry is not served");
    assert_eq!(tokens.token(&acme).await.expect("acme, still valid").secret(), first.secret());

    // Past the fetch's 5 s, and a turn for the refresh task to install its token.
    tokio::time::advance(Duration::from_secs(5)).await;
    tokio::time::advance(Duration::from_millis(10)).await;
    let second = tokens.try_token(&acme).expect("the refreshed token, from the flight that outlived the eviction");
    assert_ne!(second.secret(), first.secret());
    assert_eq!(ledger.per_key.lock().expect("ledger").get("acme"), Some(&2), "one refresh, across the eviction");
    assert!(served_from_front(&tokens, &acme), "the re-created key's entry is served");
    assert_eq!(tokens.try_token(&acme).expect("fresh").secret(), second.secret());
}

/// Review probe with a real thread: a key hit (after each sweep's first hit) only from another
/// thread's front table is never evicted as idle, and a key only that stale entry names is.
#[tokio::test(start_paused = true)]
async fn a_key_hit_from_another_threads_front_table_stays_and_an_unused_one_goes() {
    const ROUNDS: usize = 5;
    let ledger = Arc::new(Ledger::default());
    let tokens = builder(&ledger).idle_timeout(Duration::from_secs(60)).shards(1).build();
    let (hot, cold) = (Tenant::new("hot"), Tenant::new("cold"));
    tokens.token(&hot).await.expect("hot");
    tokens.token(&cold).await.expect("cold");
    let turns = Arc::new(std::sync::Barrier::new(2));
    let other = std::thread::spawn({
        let (tokens, hot, cold, turns) = (tokens.clone(), hot.clone(), cold.clone(), Arc::clone(&turns));
        move || {
            // An entry for cold too, never hit again.
            tokens.try_token(&cold).expect("cold, through the shard");
            assert!(served_from_front(&tokens, &cold));
            for round in 0..ROUNDS {
                turns.wait();
                tokens.try_token(&hot).expect("hot");
                for _ in 0..3 {
                    assert!(served_from_front(&tokens, &hot), "round {round}: hot is in this thread's table");
                    tokens.try_token(&hot).expect("hot, from the front table");
                }
                turns.wait();
            }
        }
    });
    let mut evicted = Vec::new();
    for _ in 0..ROUNDS {
        tokio::time::advance(Duration::from_secs(40)).await;
        turns.wait();
        turns.wait();
        evicted.push(tokens.evict_idle());
    }
    other.join().expect("the other thread");
    // cold, last used at 0 s (seen by the sweep at 40 s), is idle for 80 s at the sweep at 120 s.
    assert_eq!(evicted, [0, 0, 1, 0, 0], "cold goes once idle for 60 s; hot, hit on the other thread, stays");
    assert!(tokens.get(&hot).is_some());
    assert!(tokens.get(&cold).is_none(), "the other thread's stale entry for cold kept nothing mapped");
    assert_eq!(ledger.fetches.load(Ordering::SeqCst), 2, "hot was never evicted, so never fetched again");
}

/// A key comparison inside a front-table lookup that uses the same keyed cache again (the
/// table is borrowed meanwhile): no panic, each key served its own token, the table usable.
#[tokio::test]
async fn a_key_comparison_that_reenters_the_keyed_cache_is_served_and_leaves_the_table_usable() {
    let ledger = Arc::new(Ledger::default());
    let tokens = named_key_tokens(&ledger, |key: &HookedKey| key.0);
    let (acme, globex) = (HookedKey("acme"), HookedKey("globex"));
    tokens.token(&acme).await.expect("acme");
    tokens.token(&globex).await.expect("globex");
    tokens.try_token(&acme).expect("acme, through the shard");
    assert!(served_from_front(&tokens, &acme));

    let inner = Arc::new(Mutex::new(None));
    let (reentrant_tokens, reentrant_globex, reentrant_inner) = (tokens.clone(), globex.clone(), Arc::clone(&inner));
    set_hook(move || {
        let served = reentrant_tokens.try_token(&reentrant_globex);
        *reentrant_inner.lock().expect("inner") = served.map(|token| key_of(&token).to_owned());
    });
    let outer = tokens.try_token(&acme).expect("acme, from the front table");
    assert!(HOOK.with(|hook| hook.borrow().is_none()), "the comparison ran the hook");
    assert_eq!(key_of(&outer), "acme");
    assert_eq!(inner.lock().expect("inner").as_deref(), Some("globex"), "the re-entrant call was served");
    tokens.try_token(&globex).expect("globex");
    assert!(served_from_front(&tokens, &globex), "the table takes entries after the re-entrant call");
    assert!(served_from_front(&tokens, &acme));
}
