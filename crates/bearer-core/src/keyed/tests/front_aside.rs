//! A thread whose keys do not fit its front table stands aside from it: its lookups go
//! straight to the shards for a while, and are served by exactly the shards' rules. A thread
//! whose table pays for its misses keeps it, and standing aside from one keyed cache's table
//! leaves every other keyed cache's alone.

use super::*;
use crate::keyed::front::{self, Front, ASIDE_FOR, HITS_PER_MISS, RECHECK, WAYS};

/// A keyed cache holding `count` keys named `{prefix}{i}`, each with a fresh token, and the
/// keys; this thread starts without standing aside from anything. One shard: with several,
/// one may draw more of the keys than its share of the bound and evict one.
pub(super) async fn with_keys(
    ledger: &Arc<Ledger>,
    prefix: &str,
    count: usize,
) -> (KeyedTokenCache<Tenant, LedgerSource>, Vec<Tenant>) {
    Front::<Tenant, LedgerSource>::clear_aside();
    let tokens = builder(ledger).shards(1).max_keys(count * 2 + 16).build();
    let keys: Vec<Tenant> = (0..count).map(|i| Tenant::new(format!("{prefix}{i}"))).collect();
    for key in &keys {
        tokens.token(key).await.expect("a first token");
    }
    (tokens, keys)
}

/// A keyed cache whose table holds the entry of a key "hot", made before `count` keys named
/// `{prefix}{i}` (each with a fresh token) fill the table: a live entry is never pushed out for
/// another key. This thread starts without standing aside from anything.
pub(super) async fn hot_then_keys(
    ledger: &Arc<Ledger>,
    prefix: &str,
    count: usize,
) -> (KeyedTokenCache<Tenant, LedgerSource>, Tenant, Vec<Tenant>) {
    Front::<Tenant, LedgerSource>::clear_aside();
    let tokens = builder(ledger).max_keys(10_000).build();
    let hot = Tenant::new("hot");
    tokens.token(&hot).await.expect("hot");
    assert!(tokens.try_token(&hot).is_some() && from_table(&tokens, &hot), "hot has its entry");
    let keys: Vec<Tenant> = (0..count).map(|i| Tenant::new(format!("{prefix}{i}"))).collect();
    for key in &keys {
        tokens.token(key).await.expect("a first token");
    }
    (tokens, hot, keys)
}

/// Whether this thread's front table serves `key` (a lookup of the table alone).
fn from_table(tokens: &KeyedTokenCache<Tenant, LedgerSource>, key: &Tenant) -> bool {
    let (hash, shard) = tokens.shard(key);
    tokens.inner.front.try_token(hash, key, shard.epoch()).is_ok()
}

fn aside_left(tokens: &KeyedTokenCache<Tenant, LedgerSource>) -> u32 {
    tokens.inner.front.aside_left()
}

/// Looks each key up once, in turn (a key built per request), checking each is served its
/// own token; returns how many of the lookups this thread stood aside for.
fn rotate(tokens: &KeyedTokenCache<Tenant, LedgerSource>, keys: &[Tenant], lookups: usize) -> usize {
    let mut aside = 0;
    for key in keys.iter().cycle().take(lookups) {
        aside += usize::from(aside_left(tokens) > 0);
        let token = tokens.try_token(&Tenant::new(key.as_str())).expect("fresh");
        assert_eq!(key_of(&token), key.as_str());
    }
    aside
}

/// Looks each key up in turn until this thread stands aside from the table; fails (rather
/// than looping for ever) if it has not within a few stretches aside's worth of lookups.
pub(super) fn rotate_until_aside(tokens: &KeyedTokenCache<Tenant, LedgerSource>, keys: &[Tenant]) {
    for key in keys.iter().cycle().take(4 * ASIDE_FOR as usize) {
        if aside_left(tokens) > 0 {
            return;
        }
        tokens.try_token(key).expect("fresh");
    }
    panic!("never stood aside");
}

#[tokio::test]
async fn a_thread_rotating_over_many_more_keys_than_its_table_holds_stands_aside() {
    let ledger = Arc::new(Ledger::default());
    let (tokens, keys) = with_keys(&ledger, "t", 4096).await;
    let lookups = 3 * ASIDE_FOR as usize;
    let aside = rotate(&tokens, &keys, lookups);
    // Out of each stretch of lookups aside, the table is tried again for at most a recheck's
    // worth of misses (and the table's first fill) before standing aside again.
    assert!(aside * 10 >= lookups * 9, "stood aside for {aside} of {lookups} lookups");
    assert_eq!(ledger.fetches.load(Ordering::SeqCst), keys.len(), "no lookup fetched");
}

#[tokio::test]
async fn a_thread_whose_keys_fit_its_table_never_stands_aside() {
    let ledger = Arc::new(Ledger::default());
    let (tokens, keys) = with_keys(&ledger, "t", 10).await;
    assert_eq!(rotate(&tokens, &keys, 20 * ASIDE_FOR as usize), 0);
    assert!(served_by_table(&tokens, &keys), "every key that fits is served by the table");
}

/// Whether this thread's table serves each of `keys` that fits it: each but those past the
/// first [`WAYS`] of the keys sharing one of its sets (a live entry is never pushed out).
pub(super) fn served_by_table(tokens: &KeyedTokenCache<Tenant, LedgerSource>, keys: &[Tenant]) -> bool {
    let set_of = |key: &Tenant| front::set(tokens.shard(key).0);
    let mut per_set = std::collections::HashMap::<usize, usize>::new();
    keys.iter().for_each(|key| *per_set.entry(set_of(key)).or_default() += 1);
    let served = keys.iter().filter(|key| from_table(tokens, key)).count();
    served == per_set.values().map(|&count| count.min(WAYS)).sum::<usize>()
}

/// A hot key looked up `hot_per_cold` times for each lookup of the next of 4,096 cold keys:
/// how many lookups stood aside.
async fn hot_among_cold(hot_per_cold: u32) -> usize {
    let ledger = Arc::new(Ledger::default());
    let (tokens, hot, cold) = hot_then_keys(&ledger, "cold", 4096).await;
    let mut aside = 0;
    for key in cold.iter().cycle().take(4 * ASIDE_FOR as usize) {
        for _ in 0..hot_per_cold {
            aside += usize::from(aside_left(&tokens) > 0);
            assert_eq!(key_of(&tokens.try_token(&hot).expect("hot")), "hot");
        }
        aside += usize::from(aside_left(&tokens) > 0);
        assert_eq!(key_of(&tokens.try_token(key).expect("cold")), key.as_str());
    }
    aside
}

#[tokio::test]
async fn a_hot_key_keeps_the_table_while_its_hits_pay_for_the_misses_and_not_after() {
    assert_eq!(hot_among_cold(HITS_PER_MISS + 1).await, 0, "five hits per miss: the table pays");
    assert!(hot_among_cold(HITS_PER_MISS - 1).await > 0, "three hits per miss: it does not");
}

#[tokio::test]
async fn standing_aside_lasts_its_lookups_then_the_table_serves_again() {
    let ledger = Arc::new(Ledger::default());
    let (tokens, hot, keys) = hot_then_keys(&ledger, "t", 4096).await;
    rotate_until_aside(&tokens, &keys);
    let left = aside_left(&tokens);
    assert_eq!(left, ASIDE_FOR, "set by the lookup that found the table not paying, itself not aside");
    // Every way in counts: try_token, token, cache_and_token and cache.
    tokens.try_token(&hot).expect("hot");
    tokens.token(&hot).await.expect("hot");
    let (_, token) = tokens.cache_and_token(&hot).expect("hot");
    assert!(token.is_some());
    tokens.cache(&hot).expect("hot");
    assert_eq!(aside_left(&tokens), left - 4);
    for _ in 4..left {
        assert_eq!(key_of(&tokens.try_token(&hot).expect("hot")), "hot");
    }
    assert_eq!(aside_left(&tokens), 0);
    // Back on the table, which kept the hot key's entry: hits there do not stand aside.
    for _ in 0..10 * RECHECK {
        assert_eq!(key_of(&tokens.try_token(&hot).expect("hot")), "hot");
    }
    assert_eq!(aside_left(&tokens), 0);
    assert!(from_table(&tokens, &hot));
}

#[tokio::test(start_paused = true)]
async fn while_standing_aside_no_invalidated_removed_or_expired_token_is_served() {
    let ledger = Arc::new(Ledger::default());
    let (tokens, keys) = with_keys(&ledger, "t", 4096).await;
    rotate_until_aside(&tokens, &keys);
    let (rejected, removed) = (&keys[1], &keys[2]);
    let token = tokens.try_token(rejected).expect("fresh");
    assert!(tokens.invalidate(rejected, &token));
    assert!(tokens.try_token(rejected).is_none_or(|again| again.secret() != token.secret()));
    assert!(tokens.remove(removed));
    assert!(tokens.try_token(removed).is_none(), "removed: nothing to serve");
    tokio::time::advance(Duration::from_secs(3601)).await;
    assert!(aside_left(&tokens) > 0, "still standing aside");
    for key in &keys {
        assert!(tokens.try_token(key).is_none(), "{}: expired", key.as_str());
    }
}

#[tokio::test]
async fn standing_aside_from_one_keyed_cache_leaves_another_on_its_table() {
    let ledger = Arc::new(Ledger::default());
    let (many, keys) = with_keys(&ledger, "t", 4096).await;
    let few = builder(&ledger).build();
    let acme = Tenant::new("acme");
    few.token(&acme).await.expect("acme");
    few.try_token(&acme).expect("acme");
    rotate_until_aside(&many, &keys);
    assert_eq!(aside_left(&few), 0);
    assert!(from_table(&few, &acme), "the other keyed cache still serves from its table");
    assert!(aside_left(&many) > 0, "and this one still stands aside");
}
