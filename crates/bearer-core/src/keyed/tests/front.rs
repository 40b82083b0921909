//! The per-thread front tables: a hit served there is served exactly when the shard would
//! serve it, never after a removal, eviction, invalidation or refresh, and it still counts
//! as a use for the idle sweep.

use std::sync::mpsc;

use super::*;
use crate::keyed::front::ENTRIES;

/// Hits `key` until this thread's front table serves it: the first hit after a change goes
/// through the shard and makes the entry.
fn warm(tokens: &KeyedTokenCache<Tenant, LedgerSource>, key: &Tenant) -> Arc<Token> {
    tokens.try_token(key).expect("a fresh token");
    tokens.try_token(key).expect("a fresh token, from the front table")
}

#[tokio::test(start_paused = true)]
async fn a_key_hit_only_from_the_front_table_still_counts_as_used() {
    let ledger = Arc::new(Ledger::default());
    let tokens = builder(&ledger).idle_timeout(Duration::from_secs(60)).shards(1).build();
    let hot = Tenant::new("hot");
    tokens.token(&hot).await.expect("hot");
    warm(&tokens, &hot);
    for round in 0..6 {
        tokio::time::advance(Duration::from_secs(40)).await;
        // Several hits between two sweeps: only the first after a sweep reaches the shard.
        for _ in 0..3 {
            assert_eq!(key_of(&tokens.try_token(&hot).expect("hot is served")), "hot");
        }
        assert_eq!(tokens.evict_idle(), 0, "round {round}: hot was used since the last sweep");
    }
    assert_eq!(tokens.len(), 1);
    assert_eq!(ledger.fetches.load(Ordering::SeqCst), 1, "never evicted, so never fetched again");
}

#[tokio::test]
async fn a_removed_key_is_not_served_from_the_front_table() {
    let ledger = Arc::new(Ledger::default());
    let tokens = builder(&ledger).build();
    let acme = Tenant::new("acme");
    let first = tokens.token(&acme).await.expect("acme");
    warm(&tokens, &acme);
    assert!(tokens.remove(&acme));
    assert!(tokens.try_token(&acme).is_none(), "removed: nothing to serve until the key is used again");
    assert!(tokens.try_token(&Tenant::new("acme")).is_none(), "nor for an equal key");
    let second = tokens.token(&acme).await.expect("acme again");
    assert_eq!(ledger.built.load(Ordering::SeqCst), 2, "the factory ran again");
    assert_ne!(first.secret(), second.secret());
    assert_eq!(warm(&tokens, &acme).secret(), second.secret());
}

#[tokio::test]
async fn an_evicted_key_is_not_served_from_the_front_table() {
    let ledger = Arc::new(Ledger::default());
    let tokens = builder(&ledger).max_keys(1).shards(1).build();
    let (acme, globex) = (Tenant::new("acme"), Tenant::new("globex"));
    let first = tokens.token(&acme).await.expect("acme");
    warm(&tokens, &acme);
    tokens.token(&globex).await.expect("globex, evicting acme");
    assert!(tokens.get(&acme).is_none(), "acme was evicted");
    assert!(tokens.try_token(&acme).is_none(), "and is not served from the front table");
    let second = tokens.token(&acme).await.expect("acme again");
    assert_ne!(first.secret(), second.secret());
}

#[tokio::test]
async fn a_key_removed_by_another_thread_is_not_served_from_this_threads_table() {
    let ledger = Arc::new(Ledger::default());
    let tokens = builder(&ledger).build();
    let acme = Tenant::new("acme");
    let first = tokens.token(&acme).await.expect("acme");
    let (warmed, is_warm) = mpsc::channel();
    let (removed, is_removed) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let (tokens, acme, first) = (&tokens, &acme, &first);
        let other = scope.spawn(move || {
            assert_eq!(warm(tokens, acme).secret(), first.secret());
            warmed.send(()).expect("main thread");
            is_removed.recv().expect("main thread");
            tokens.try_token(acme)
        });
        is_warm.recv().expect("other thread");
        assert!(tokens.remove(acme));
        removed.send(()).expect("other thread");
        assert!(other.join().expect("other thread").is_none(), "the other thread's entry is stale");
    });
}

#[tokio::test(start_paused = true)]
async fn an_invalidated_token_is_not_served_from_the_front_table() {
    let ledger = Arc::new(Ledger::default());
    let tokens = builder(&ledger).build();
    let acme = Tenant::new("acme");
    let first = tokens.token(&acme).await.expect("acme");
    assert_eq!(warm(&tokens, &acme).secret(), first.secret());
    assert!(tokens.invalidate(&acme, &first));
    assert!(
        tokens.try_token(&acme).is_none_or(|token| token.secret() != first.secret()),
        "the rejected token is never served again"
    );
    let second = tokens.token(&acme).await.expect("acme again");
    assert_ne!(first.secret(), second.secret());
    assert_eq!(warm(&tokens, &acme).secret(), second.secret(), "the new token replaces the copy");
}

#[tokio::test(start_paused = true)]
async fn a_copy_past_its_refresh_point_is_not_served() {
    let ledger = Arc::new(Ledger::default());
    let tokens = builder(&ledger).build();
    let acme = Tenant::new("acme");
    let first = tokens.token(&acme).await.expect("acme");
    warm(&tokens, &acme);
    tokio::time::advance(Duration::from_secs(3601)).await;
    assert!(
        tokens.try_token(&acme).is_none_or(|token| token.secret() != first.secret()),
        "expired: never served from any copy"
    );
    let second = tokens.token(&acme).await.expect("acme refreshed");
    assert_ne!(first.secret(), second.secret());
    assert_eq!(warm(&tokens, &acme).secret(), second.secret());
}

#[tokio::test]
async fn rotating_over_more_keys_than_the_table_holds_serves_each_key_its_own_token() {
    let ledger = Arc::new(Ledger::default());
    let tokens = builder(&ledger).build();
    let keys: Vec<Tenant> = (0..ENTRIES * 3).map(|i| Tenant::new(format!("t{i}"))).collect();
    for key in &keys {
        tokens.token(key).await.expect("warm");
    }
    for _ in 0..4 {
        for key in &keys {
            // A key built per request, as the middleware's callers do.
            let token = tokens.try_token(&Tenant::new(key.as_str())).expect("fresh");
            assert_eq!(key_of(&token), key.as_str());
        }
    }
    assert_eq!(ledger.fetches.load(Ordering::SeqCst), keys.len());
}

/// A source that counts its drops.
struct Dropping(Arc<AtomicUsize>, LedgerSource);

impl Drop for Dropping {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl TokenSource for Dropping {
    async fn fetch(&self) -> Result<Token, Error> {
        self.1.fetch().await
    }
}

#[tokio::test]
async fn a_thread_holds_at_most_its_tables_worth_of_removed_caches() {
    let ledger = Arc::new(Ledger::default());
    let dropped = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&dropped);
    let tokens = builder(&ledger).map_source(move |_, source| Ok(Dropping(Arc::clone(&counter), source))).build();
    let keys: Vec<Tenant> = (0..ENTRIES * 3).map(|i| Tenant::new(format!("t{i}"))).collect();
    for key in &keys {
        tokens.token(key).await.expect("warm");
        tokens.try_token(key).expect("hit, making an entry where the table has room");
    }
    for key in &keys {
        assert!(tokens.remove(key));
    }
    let alive = keys.len() - dropped.load(Ordering::SeqCst);
    assert!(alive <= ENTRIES, "{alive} removed caches still alive, more than the table's {ENTRIES} entries");
    drop(tokens);
    assert_eq!(dropped.load(Ordering::SeqCst), keys.len(), "dropping the keyed cache drops every table");
}

#[tokio::test(start_paused = true)]
async fn cache_and_token_gives_the_fresh_token_and_never_starts_a_refresh() {
    let ledger = Arc::new(Ledger::default());
    let tokens = builder(&ledger).build();
    let acme = Tenant::new("acme");
    let (cache, none) = tokens.cache_and_token(&acme).expect("created");
    assert!(none.is_none(), "a new key has no token yet");
    let first = cache.token().await.expect("acme");
    for _ in 0..3 {
        // From the shard (whose slot copy the first of these renews), then the front table.
        let (held, token) = tokens.cache_and_token(&acme).expect("acme");
        assert!(held.same_as(&cache));
        assert_eq!(token.expect("fresh").secret(), first.secret());
    }
    // Inside the refresh-ahead window (the last 5 minutes of the hour): still valid, not fresh.
    tokio::time::advance(Duration::from_secs(3600 - 60)).await;
    let (_, token) = tokens.cache_and_token(&acme).expect("acme");
    assert!(token.is_none(), "not fresh: the caller goes to the cache's own token()");
    tokio::task::yield_now().await;
    assert_eq!(ledger.fetches.load(Ordering::SeqCst), 1, "and no refresh was started");
    assert_eq!(tokens.try_token(&acme).expect("served while refreshing").secret(), first.secret());
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(ledger.fetches.load(Ordering::SeqCst), 2, "try_token() started the refresh");
    let (_, token) = tokens.cache_and_token(&acme).expect("acme");
    let second = token.expect("fresh again");
    assert_ne!(second.secret(), first.secret());
    assert_eq!(key_of(&second), "acme");
}
