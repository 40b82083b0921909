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

fn one_hash_tokens(ledger: &Arc<Ledger>) -> KeyedTokenCache<OneHash, LedgerSource> {
    let ledger = Arc::clone(ledger);
    KeyedTokenCache::builder(move |key: &OneHash| Ok(LedgerSource { key: key.0.to_owned(), ledger: Arc::clone(&ledger) }))
        .build()
}

#[tokio::test]
async fn keys_of_one_hash_do_not_push_each_other_out_of_the_front_table() {
    let ledger = Arc::new(Ledger::default());
    let tokens = one_hash_tokens(&ledger);
    let (a, b) = (OneHash("a"), OneHash("b"));
    tokens.token(&a).await.expect("a");
    tokens.token(&b).await.expect("b");
    for _ in 0..3 {
        assert_eq!(key_of(&tokens.try_token(&a).expect("a is fresh")), "a");
        assert_eq!(key_of(&tokens.try_token(&b).expect("b is fresh")), "b");
    }
    // Each hit of one pushing the other's live entry out makes a copy (an allocation) per hit.
    assert!(served_from_front(&tokens, &b), "b, hit last, is in the front table");
    assert!(served_from_front(&tokens, &a), "a's live entry was pushed out by b, a key of the same hash");
}

#[tokio::test]
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
