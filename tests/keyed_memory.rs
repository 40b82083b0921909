//! Memory per idle key of a `KeyedTokenCache` at 100,000 keys, with a counting global
//! allocator. One test in this binary, so no other test's allocations are counted.

#[path = "../crates/bearer-bench/benches/common/keyed.rs"]
mod keyed;
#[path = "../crates/bearer-bench/benches/common/ours.rs"]
mod ours;

use std::alloc::System;
use std::sync::Arc;

use bearer_testkit::FixedSource;
use keyed::tenant;
use reqwest_bearer::{KeyedTokenCache, Tenant, Token, TokenSource};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const KEYS: usize = 100_000;

/// Bytes allocated and not freed while `f` ran, divided by `KEYS`.
fn net_bytes_per_key<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let region = Region::new(GLOBAL);
    let kept = f();
    let change = region.change();
    (kept, (change.bytes_allocated as f64 - change.bytes_deallocated as f64) / KEYS as f64)
}

#[test]
fn an_idle_key_with_its_token_costs_at_most_1_kib_beyond_the_token() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    // The keys themselves are the caller's: built before counting.
    let keys: Vec<Tenant> = (0..KEYS).map(tenant).collect();

    // The token's own bytes: what one fetched token holds (its `Arc`, secret, header bytes).
    let mut tokens: Vec<Arc<Token>> = Vec::with_capacity(KEYS);
    let source = FixedSource::default();
    let ((), token_bytes) = net_bytes_per_key(|| {
        runtime.block_on(async {
            for _ in 0..KEYS {
                tokens.push(Arc::new(source.fetch().await.expect("token")));
            }
        })
    });
    drop(tokens);

    let (keyed, total_bytes) = net_bytes_per_key(|| {
        let keyed = KeyedTokenCache::builder(|_: &Tenant| Ok(FixedSource::default())).max_keys(2 * KEYS).build();
        runtime.block_on(async {
            for key in &keys {
                keyed.token(key).await.expect("token");
            }
        });
        keyed
    });
    assert_eq!(keyed.len(), KEYS, "every key is held");
    let tasks = runtime.metrics().num_alive_tasks();
    let per_key = total_bytes - token_bytes;
    println!(
        "{KEYS} keys: {total_bytes:.0} bytes per key in all, {token_bytes:.0} of them the token's own, \
         {per_key:.0} the key's cache, source and map slot; {tasks} tasks alive"
    );
    assert!(per_key <= 1024.0, "{per_key:.0} bytes per idle key beyond its token's {token_bytes:.0}");
    drop(keyed);
}
