//! Criterion benches of the keyed hit path: `KeyedTokenCache::try_token` at 10 and at 100,000
//! keys (one key, and each call on the next key) next to `TokenCache::try_token`, in one run.
//!
//! Run with `cargo bench -p bearer-bench --bench keyed`; BENCHMARKS.md has the figures. Instruction counts,
//! the repeatable figure, come from `keyed_callgrind.sh`.

mod common;

use std::hint::black_box;

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

criterion_group!(benches, keyed_hit);
criterion_main!(benches);
