//! Allocation counts on the hot path, with a counting global allocator that counts each
//! thread's allocations on their own: what the harness allocates meanwhile is never charged to
//! the code measured.

#[path = "../crates/bearer-bench/benches/common/ours.rs"]
mod ours;

use std::hint::black_box;

use ours::{Ours, MANY};

const N: usize = 1_000;

/// Allocations (reallocations included) per run of `f` on this thread, over `runs` runs after
/// one warm-up run. Each run is synchronous (a request through a canned chain completes on its
/// first poll): all it allocates, it allocates here.
fn allocations_per_op(runs: usize, mut f: impl FnMut(usize)) -> f64 {
    f(0);
    let counted = allocation_counter::measure(|| {
        for i in 0..runs {
            f(i);
        }
    });
    counted.count_total as f64 / runs as f64
}

#[test]
fn hot_path_allocations() {
    let hot = Ours::new();

    let hit = allocations_per_op(N, |_| drop(black_box(hot.token_ours())));
    assert_eq!(hit, 0.0, "a cache-hit token() allocates nothing");
    let try_hit = allocations_per_op(N, |_| drop(black_box(hot.cache.try_token())));
    assert_eq!(try_hit, 0.0, "try_token() allocates nothing");

    // 10,000 caches hit in turn on one thread, far more than the thread keeps copies of: a pass
    // over all of them (the warm-up pass made what copies the thread keeps), then two more.
    for cache in &hot.many {
        drop(black_box(cache.try_token()));
    }
    let many = allocations_per_op(2 * MANY, |i| drop(black_box(hot.token_many(i))));
    assert_eq!(many, 0.0, "hits over {MANY} caches on one thread allocate nothing");

    let none = allocations_per_op(N, |_| {
        black_box(Ours::request(&hot.chain_none));
    });
    let floor = allocations_per_op(N, |_| {
        black_box(Ours::request(&hot.chain_floor));
    });
    let bearer = allocations_per_op(N, |_| {
        black_box(Ours::request(&hot.chain_bearer));
    });
    println!("allocations per request: no auth {none}, floor {floor}, BearerAuth {bearer}");
    assert!(floor > none, "the floor middleware's own allocations are counted: {floor} vs {none}");
    assert!(
        bearer <= floor,
        "BearerAuth on a warm cache allocates no more than the floor middleware: {bearer} > {floor}"
    );
}
