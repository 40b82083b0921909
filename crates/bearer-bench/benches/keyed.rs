//! Criterion benches of the keyed hit path: `KeyedTokenCache::try_token` at 10 and at 100,000
//! keys (one key, and each call on the next key) next to `TokenCache::try_token`, in one run;
//! and `keyed_hit_contended`: threads hitting one key at once (with a `Tenant` of the same text
//! as the cache's own but another allocation, as requests carry), time per hit, next to the
//! single cache's.
//!
//! Run with `cargo bench -p bearer-bench --bench keyed`; BENCHMARKS.md has the figures. Instruction counts,
//! the repeatable figure, come from `keyed_callgrind.sh`.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::keyed::KeyedHotPaths;
use criterion::{criterion_group, criterion_main, Criterion};

fn keyed_hit(c: &mut Criterion) {
    for keys in [10, 100_000] {
        let hot = KeyedHotPaths::new(keys);
        let mut group = c.benchmark_group(format!("keyed_hit/{keys}_keys"));
        group.bench_function("single_fresh", |b| b.iter(|| black_box(hot.single_fresh())));
        group.bench_function("keyed_fresh_same_key", |b| b.iter(|| black_box(hot.keyed_fresh(0))));
        let mut i = 0;
        group.bench_function("keyed_fresh_rotating", |b| {
            b.iter(|| {
                i += 1;
                black_box(hot.keyed_fresh(i))
            })
        });
        group.finish();
    }
}

/// `threads` threads share `iters` calls of `hit`; the time per call is the wall time over
/// `iters`.
fn spread(threads: usize, iters: u64, hit: &(dyn Fn() + Sync)) -> Duration {
    let per_thread = (iters as usize / threads).max(1);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| (0..per_thread).for_each(|_| hit()));
        }
    });
    start.elapsed().mul_f64(iters as f64 / (per_thread * threads) as f64)
}

fn keyed_hit_contended(c: &mut Criterion) {
    let hot = KeyedHotPaths::new(10);
    let key = common::keyed::tenant(0);
    let mut group = c.benchmark_group("keyed_hit_contended");
    for threads in [1, 2, 8] {
        group.bench_function(format!("single/{threads}_threads"), |b| {
            b.iter_custom(|iters| spread(threads, iters, &|| drop(black_box(hot.single_fresh()))))
        });
        group.bench_function(format!("keyed_equal_key/{threads}_threads"), |b| {
            b.iter_custom(|iters| spread(threads, iters, &|| drop(black_box(hot.keyed_fresh_equal_key(&key)))))
        });
    }
    group.finish();
}

criterion_group!(benches, keyed_hit, keyed_hit_contended);
criterion_main!(benches);
