//! Allocation counts on the keyed hit path at 10 and at 100,000 keys, with a counting global
//! allocator that counts each thread's allocations on their own: what the harness or another
//! test allocates meanwhile is never charged to the code measured.

#[path = "../crates/bearer-bench/benches/common/keyed.rs"]
mod keyed;
#[path = "../crates/bearer-bench/benches/common/ours.rs"]
mod ours;

use std::hint::black_box;
use std::sync::{Arc, Barrier, Mutex, PoisonError};

use keyed::{tenant, KeyedHotPaths};

const N: usize = 10_000;

/// Allocations (reallocations included) per run of `f(i)` on this thread, over `N` runs
/// after one warm-up run of each. A hit is synchronous: all it allocates, it allocates here.
fn allocations_per_op(mut f: impl FnMut(usize)) -> f64 {
    (0..N).for_each(&mut f);
    allocation_counter::measure(|| (0..N).for_each(f)).count_total as f64 / N as f64
}

/// The tests of this binary run one at a time (the 100,000-key caches are large).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn keyed_hits_on_one_key_allocate_nothing_at_10_and_100_000_keys() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    for keys in [10, 100_000] {
        let hot = KeyedHotPaths::new(keys);
        let equal_key = tenant(0);
        let same = allocations_per_op(|_| drop(black_box(hot.keyed_fresh(0))));
        let equal = allocations_per_op(|_| drop(black_box(hot.keyed_fresh_equal_key(&equal_key))));
        let token = allocations_per_op(|_| drop(black_box(hot.keyed_token(0))));
        println!("{keys} keys: allocations per hit on one key: same key {same}, equal key {equal}, token() {token}");
        assert_eq!(same, 0.0, "{keys} keys: a hit on one key allocates nothing");
        assert_eq!(equal, 0.0, "{keys} keys: a hit with an equal key of its own allocates nothing");
        assert_eq!(token, 0.0, "{keys} keys: a keyed token() hit allocates nothing");
    }
}

#[test]
fn keyed_hits_spread_over_the_keys_allocate_nothing_at_10_and_100_000_keys() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    for keys in [10, 100_000] {
        let hot = KeyedHotPaths::new(keys);
        let rotating = allocations_per_op(|i| drop(black_box(hot.keyed_fresh(i))));
        let token = allocations_per_op(|i| drop(black_box(hot.keyed_token(i))));
        println!("{keys} keys: allocations per hit, each on the next key: fresh {rotating}, token() {token}");
        assert_eq!(rotating, 0.0, "{keys} keys: hits spread over the keys allocate nothing");
        assert_eq!(token, 0.0, "{keys} keys: keyed token() hits spread over the keys allocate nothing");
    }
}

/// What the flaky failure of the test above came from: a process-wide counter charged the
/// allocations of another thread while a hit was measured (the test harness reporting the
/// test that had just finished) to the hit. Here another thread allocates once, in lock step,
/// during each run of a closure that allocates nothing.
#[test]
fn allocations_on_another_thread_are_not_charged_to_the_code_measured() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let turns = Arc::new(Barrier::new(2));
    let other = {
        let turns = Arc::clone(&turns);
        std::thread::spawn(move || {
            for _ in 0..2 * N {
                turns.wait();
                drop(black_box(vec![0_u8; 64]));
                turns.wait();
            }
        })
    };
    let per_op = allocations_per_op(|_| {
        turns.wait();
        turns.wait();
    });
    other.join().expect("the allocating thread");
    assert_eq!(per_op, 0.0, "the other thread's allocations were counted");
    // The counter is installed: this thread's own allocations count, one each.
    assert_eq!(allocations_per_op(|i| drop(black_box(vec![i; 4]))), 1.0);
}
