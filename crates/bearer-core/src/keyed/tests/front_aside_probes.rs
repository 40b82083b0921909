//! Review probes of standing aside from the front table: that a lookup aside really skips
//! the table, and that a thread using two keyed caches can stand aside from both.

use super::front_aside::{rotate_until_aside, served_by_table, with_keys};
use super::*;
use crate::keyed::front::{Front, ASIDE_FOR};

/// This thread's table's own copy of `key`'s token, if the table serves it.
fn table_copy(tokens: &KeyedTokenCache<Tenant, LedgerSource>, key: &Tenant) -> Option<Arc<Token>> {
    let (hash, shard) = tokens.shard(key);
    tokens.inner.front.try_token(hash, key, shard.epoch()).ok()
}

#[tokio::test]
async fn a_lookup_aside_is_served_by_the_shard_not_by_the_tables_copy() {
    let ledger = Arc::new(Ledger::default());
    Front::<Tenant, LedgerSource>::clear_aside();
    let tokens = builder(&ledger).max_keys(10_000).build();
    let hot = Tenant::new("hot");
    tokens.token(&hot).await.expect("hot");
    tokens.try_token(&hot).expect("hot");
    let own = table_copy(&tokens, &hot).expect("the table has hot's entry");
    let served = tokens.try_token(&hot).expect("hot");
    assert!(Arc::ptr_eq(&served, &own), "on the table, the thread's own copy is served");
    let keys: Vec<Tenant> = (0..4096).map(|i| Tenant::new(format!("t{i}"))).collect();
    for key in &keys {
        tokens.token(key).await.expect("a first token");
    }
    rotate_until_aside(&tokens, &keys);
    for _ in 0..ASIDE_FOR {
        let served = tokens.try_token(&hot).expect("hot");
        assert_eq!(served.secret(), own.secret());
        assert!(!Arc::ptr_eq(&served, &own), "aside, the table's copy is not served");
    }
    assert_eq!(tokens.inner.front.aside_left(), 0);
    assert!(Arc::ptr_eq(&tokens.try_token(&hot).expect("hot"), &own), "back on the table");
}

// Fails: one per-thread ASIDE slot, so two rotating keyed caches on one thread undo each
// other's standing aside (~49% of lookups aside, not ~98%). A count in each thread's table
// fixes it but costs the aside path the table's lookup (keyed-rotate at 100,000 keys 176 ->
// 197 instr/op, past 2x the single hit); kept out of the run until a fix within the budget.
#[ignore = "known defect: one ASIDE slot per thread (see the comment above)"]
#[tokio::test]
async fn a_thread_rotating_over_many_keys_of_two_keyed_caches_stands_aside_from_both() {
    let ledger = Arc::new(Ledger::default());
    let (first, first_keys) = with_keys(&ledger, "a", 4096).await;
    let (second, second_keys) = with_keys(&ledger, "b", 4096).await;
    let lookups = 3 * ASIDE_FOR as usize;
    let (mut first_aside, mut second_aside) = (0, 0);
    for (a, b) in first_keys.iter().zip(&second_keys).cycle().take(lookups) {
        first_aside += usize::from(first.inner.front.aside_left() > 0);
        assert_eq!(key_of(&first.try_token(a).expect("fresh")), a.as_str());
        second_aside += usize::from(second.inner.front.aside_left() > 0);
        assert_eq!(key_of(&second.try_token(b).expect("fresh")), b.as_str());
    }
    // As for one keyed cache alone (front_aside.rs): aside for at least 9 lookups in 10.
    assert!(first_aside * 10 >= lookups * 9, "the first stood aside for {first_aside} of {lookups} lookups");
    assert!(second_aside * 10 >= lookups * 9, "the second stood aside for {second_aside} of {lookups} lookups");
}

#[tokio::test]
async fn the_aside_tests_set_up_keeps_every_key_it_creates() {
    // Each keyed cache hashes with a seed of its own, so 200 set-ups spread 10 keys over the
    // shards 200 ways: a shard holding more of them than its share of the bound evicts one,
    // and the set-up's caller then finds a key it was promised missing.
    for _ in 0..200 {
        let ledger = Arc::new(Ledger::default());
        let (tokens, keys) = with_keys(&ledger, "t", 10).await;
        assert_eq!(tokens.len(), keys.len(), "the set-up evicted a key");
    }
}

#[tokio::test]
async fn ten_keys_looked_up_in_turn_are_served_by_the_table_as_far_as_they_fit_it() {
    // 2,000 set-ups, each hashing with a seed of its own: in some, five of the ten keys share
    // one of the table's sets of four ways, and the fifth is never given an entry.
    for _ in 0..2000 {
        let ledger = Arc::new(Ledger::default());
        let (tokens, keys) = with_keys(&ledger, "t", 10).await;
        for key in keys.iter().cycle().take(3 * keys.len()) {
            tokens.try_token(key).expect("fresh");
        }
        assert!(served_by_table(&tokens, &keys), "a key of the ten has no entry");
    }
}
