//! Allocation counts on the hot path, with a counting global allocator. One test in this
//! binary, so no other test's allocations are counted.

#[path = "../benches/common/mod.rs"]
mod common;

use std::alloc::System;
use std::hint::black_box;

use common::HotPaths;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const N: usize = 1_000;

/// Allocations per run of `f`, over `N` runs after one warm-up run.
fn allocations_per_op(mut f: impl FnMut()) -> f64 {
    f();
    let region = Region::new(GLOBAL);
    for _ in 0..N {
        f();
    }
    region.change().allocations as f64 / N as f64
}

#[test]
fn hot_path_allocations() {
    let hot = HotPaths::new();

    let hit = allocations_per_op(|| drop(black_box(hot.token_ours())));
    assert_eq!(hit, 0.0, "a cache-hit token() allocates nothing");
    let fresh = allocations_per_op(|| drop(black_box(hot.cache.fresh())));
    assert_eq!(fresh, 0.0, "fresh() allocates nothing");

    let none = allocations_per_op(|| {
        black_box(HotPaths::request(&hot.chain_none));
    });
    let floor = allocations_per_op(|| {
        black_box(HotPaths::request(&hot.chain_floor));
    });
    let bearer = allocations_per_op(|| {
        black_box(HotPaths::request(&hot.chain_bearer));
    });
    println!("allocations per request: no auth {none}, floor {floor}, BearerAuth {bearer}");
    assert!(floor > none, "the floor middleware's own allocations are counted: {floor} vs {none}");
    assert!(
        bearer <= floor,
        "BearerAuth on a warm cache allocates no more than the floor middleware: {bearer} > {floor}"
    );
}
