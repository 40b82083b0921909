//! Review probes of standing aside from the front table: that a lookup aside really skips
//! the table, that a thread using two keyed caches can stand aside from both, and that one
//! standing aside on its table's own count neither serves from nor fills its table and takes the
//! per-thread slot from an idle holder.

use super::front_aside::{hot_then_keys, rotate_until_aside, served_by_table, with_keys};
use super::*;
use crate::keyed::front::ASIDE_FOR;

/// This thread's table's own copy of `key`'s token, if the table serves it.
fn table_copy(tokens: &KeyedTokenCache<Tenant, LedgerSource>, key: &Tenant) -> Option<Arc<Token>> {
    let (hash, shard) = tokens.shard(key);
    tokens.inner.front.try_token(hash, key, shard.epoch()).ok()
}

#[tokio::test]
async fn a_lookup_aside_is_served_by_the_shard_not_by_the_tables_copy() {
    let ledger = Arc::new(Ledger::default());
    let (tokens, hot, keys) = hot_then_keys(&ledger, "t", 4096).await;
    let own = table_copy(&tokens, &hot).expect("the table has hot's entry");
    let served = tokens.try_token(&hot).expect("hot");
    assert!(Arc::ptr_eq(&served, &own), "on the table, the thread's own copy is served");
    rotate_until_aside(&tokens, &keys);
    for _ in 0..ASIDE_FOR {
        let served = tokens.try_token(&hot).expect("hot");
        assert_eq!(served.secret(), own.secret());
        assert!(!Arc::ptr_eq(&served, &own), "aside, the table's copy is not served");
    }
    assert_eq!(tokens.inner.front.aside_left(), 0);
    assert!(Arc::ptr_eq(&tokens.try_token(&hot).expect("hot"), &own), "back on the table");
}

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

/// Two keyed caches of 4,096 keys each: `idle` (returned first) stood aside and holds the
/// per-thread slot with all but `spent` of its lookups aside left, and is not looked up again;
/// `busy` (with its keys) has not stood aside.
async fn idle_holding_the_slot(
    ledger: &Arc<Ledger>,
    spent: u32,
) -> (KeyedTokenCache<Tenant, LedgerSource>, KeyedTokenCache<Tenant, LedgerSource>, Vec<Tenant>) {
    let (idle, idle_keys) = with_keys(ledger, "a", 4096).await;
    let (busy, busy_keys) = with_keys(ledger, "b", 4096).await;
    rotate_until_aside(&idle, &idle_keys);
    for key in idle_keys.iter().take(spent as usize) {
        assert_eq!(key_of(&idle.try_token(key).expect("fresh")), key.as_str());
    }
    assert!(idle.inner.front.holds_aside());
    assert_eq!(idle.inner.front.aside_left(), ASIDE_FOR - spent);
    (idle, busy, busy_keys)
}

#[tokio::test]
async fn a_keyed_cache_that_stood_aside_and_went_idle_leaves_the_fast_way_aside_to_another() {
    let ledger = Arc::new(Ledger::default());
    let (idle, busy, busy_keys) = idle_holding_the_slot(&ledger, 0).await;
    // `idle` is never looked up again; `busy` stands aside on its table's own count, which
    // wears down `idle`'s. Both counts start full and wear down together, so the lookup that
    // finds `idle`'s spent moves nothing; `busy` takes the slot at its table's next recheck
    // (moving the rest of a count is the next probe's).
    rotate_until_aside(&busy, &busy_keys);
    assert!(!busy.inner.front.holds_aside(), "the slot is still idle's");
    let mut aside = 0;
    for key in busy_keys.iter().cycle().take(2 * ASIDE_FOR as usize) {
        aside += usize::from(busy.inner.front.aside_left() > 0);
        assert_eq!(key_of(&busy.try_token(key).expect("fresh")), key.as_str());
        if busy.inner.front.holds_aside() {
            break;
        }
    }
    assert!(busy.inner.front.holds_aside(), "busy took the slot once idle's count was spent");
    assert!(aside as u32 <= ASIDE_FOR, "within idle's count, not after it: {aside}");
    assert!(!idle.inner.front.holds_aside());
}

#[tokio::test]
async fn a_keyed_cache_standing_aside_on_its_own_count_takes_the_rest_of_it_to_the_slot_once_the_holders_is_spent() {
    let ledger = Arc::new(Ledger::default());
    // `idle` spends part of its count before it goes idle, so the slot holds less than the
    // count `busy` then stands aside on (equal counts, worn down together, leave none to move).
    let spent = ASIDE_FOR / 2;
    let (idle, busy, busy_keys) = idle_holding_the_slot(&ledger, spent).await;
    let held = ASIDE_FOR - spent;
    rotate_until_aside(&busy, &busy_keys);
    assert_eq!(busy.inner.front.aside_left(), ASIDE_FOR, "busy stood aside on its table's own count");
    assert_eq!(idle.inner.front.aside_left(), held, "lookups on busy's table wear nothing down");
    let mut keys = busy_keys.iter().cycle();
    // Each lookup aside on busy's own count wears idle's down by one; the one that finds it
    // spent moves busy's rest to the slot.
    for key in keys.by_ref().take(held as usize) {
        assert!(!busy.inner.front.holds_aside(), "busy took the slot before idle's count was spent");
        assert!(busy.inner.front.aside_left() > 0);
        assert_eq!(key_of(&busy.try_token(key).expect("fresh")), key.as_str());
    }
    assert!(busy.inner.front.holds_aside(), "busy took the slot once idle's count was spent");
    assert!(!idle.inner.front.holds_aside());
    assert_eq!(idle.inner.front.aside_left(), 0);
    assert_eq!(busy.inner.front.aside_left(), ASIDE_FOR - held, "the rest of busy's count, moved, not more");
    for key in keys.by_ref().take((ASIDE_FOR - held) as usize) {
        assert!(busy.inner.front.holds_aside(), "every lookup of the rest skips the table unlooked");
        assert_eq!(key_of(&busy.try_token(key).expect("fresh")), key.as_str());
    }
    assert_eq!(busy.inner.front.aside_left(), 0, "busy stood aside for exactly its count");
}

#[tokio::test]
async fn standing_aside_on_its_own_count_a_thread_neither_serves_from_nor_fills_its_table() {
    let ledger = Arc::new(Ledger::default());
    let (_idle, busy, busy_keys) = idle_holding_the_slot(&ledger, ASIDE_FOR / 2).await;
    let hot = &busy_keys[0];
    busy.try_token(hot).expect("hot");
    let own = table_copy(&busy, hot).expect("the table has hot's entry");
    rotate_until_aside(&busy, &busy_keys);
    assert!(!busy.inner.front.holds_aside(), "busy stands aside on its table's own count");
    let served = busy.try_token(hot).expect("hot");
    assert_eq!(served.secret(), own.secret());
    assert!(!Arc::ptr_eq(&served, &own), "aside, the table's copy is not served");
    // A removal moves the shard to a new epoch: every entry is stale, so an offer would renew
    // hot's entry (or make one for another key in its way).
    assert!(busy.remove(&busy_keys[4095]));
    for _ in 0..ASIDE_FOR {
        if busy.inner.front.holds_aside() {
            break;
        }
        assert_eq!(key_of(&busy.try_token(hot).expect("hot")), hot.as_str());
    }
    // Now aside on the per-thread slot, the table's own count is spent: a look at the table
    // counts nothing.
    assert!(busy.inner.front.holds_aside());
    assert!(table_copy(&busy, hot).is_none(), "a lookup aside on the table's own count offered hot an entry");
}
