//! Criterion benches of the hot path, every group with its baselines in the same run:
//!
//! - `token_hit`: `TokenCache::token()` on a hit (one cache, and cycling through 10,000) vs the
//!   ArcSwap floor, `Mutex` and tokio `RwLock` caches; `token_hit_contended/N`: the same with N
//!   tasks on the multi-thread runtime.
//! - `middleware`: one request through a chain whose last middleware answers at once, with no
//!   auth, the floor middleware, `BearerAuth`, and reqwest-auth 1.0.0 with its own no-auth chain.
//! - `loopback`: authenticated requests against a local server vs the bare client.
//!
//! Run with `cargo bench -p bearer-bench --bench hot_path`; BENCHMARKS.md has the figures.

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{HotPaths, Ours};
use criterion::{criterion_group, criterion_main, Criterion};

fn token_hit(c: &mut Criterion) {
    let hot = Ours::new();
    let mut group = c.benchmark_group("token_hit");
    group.bench_function("ours", |b| b.iter(|| black_box(hot.token_ours())));
    let mut i = 0;
    group.bench_function("ours_10000_caches", |b| {
        b.iter(|| {
            i += 1;
            black_box(hot.token_many(i))
        })
    });
    group.bench_function("floor_arcswap", |b| b.iter(|| black_box(hot.token_floor())));
    group.bench_function("mutex", |b| b.iter(|| black_box(hot.token_mutex())));
    group.bench_function("tokio_rwlock", |b| b.iter(|| black_box(hot.token_rwlock())));
    group.finish();
}

/// `tasks` tasks on the multi-thread runtime share the work of `iters` hits; the time per
/// hit is the wall time over `iters`.
fn contended(runtime: &tokio::runtime::Runtime, hot: &Arc<Ours>, tasks: u64, iters: u64, floor: bool) -> Duration {
    let per_task = (iters / tasks).max(1);
    runtime.block_on(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let hot = Arc::clone(hot);
                tokio::spawn(async move {
                    for _ in 0..per_task {
                        if floor {
                            black_box(hot.token_floor());
                        } else {
                            black_box(hot.cache.token().await.expect("token"));
                        }
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("task");
        }
        start.elapsed().mul_f64(iters as f64 / (per_task * tasks) as f64)
    })
}

fn token_hit_contended(c: &mut Criterion) {
    let hot = Arc::new(Ours::new());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let mut group = c.benchmark_group("token_hit_contended");
    for tasks in [1u64, 2, 8, 64] {
        group.bench_function(format!("ours/{tasks}"), |b| {
            b.iter_custom(|iters| contended(&runtime, &hot, tasks, iters, false))
        });
        group.bench_function(format!("floor_arcswap/{tasks}"), |b| {
            b.iter_custom(|iters| contended(&runtime, &hot, tasks, iters, true))
        });
    }
    group.finish();
}

fn middleware(c: &mut Criterion) {
    let hot = HotPaths::new();
    let mut group = c.benchmark_group("middleware");
    group.bench_function("a_no_auth", |b| b.iter(|| black_box(Ours::request(&hot.ours.chain_none))));
    group.bench_function("b_floor", |b| b.iter(|| black_box(Ours::request(&hot.ours.chain_floor))));
    group.bench_function("c_bearer_auth", |b| b.iter(|| black_box(Ours::request(&hot.ours.chain_bearer))));
    group.bench_function("d_reqwest_auth_no_auth", |b| b.iter(|| black_box(HotPaths::request_peer(&hot.peer_none))));
    group.bench_function("d_reqwest_auth", |b| b.iter(|| black_box(HotPaths::request_peer(&hot.peer_auth))));
    group.finish();
}

fn loopback(c: &mut Criterion) {
    use bearer_testkit::Simulator;
    use reqwest_bearer::oauth2::OAuth2TokenSource;
    use reqwest_bearer::BearerAuth;

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let sim = runtime.block_on(Simulator::oauth2().start());
    let new_source = || {
        OAuth2TokenSource::builder(sim.token_url())
            .allow_http_loopback()
            .client_id(&sim.credentials().client_id)
            .client_secret(sim.credentials().client_secret.as_str())
            .build()
            .expect("source")
    };
    let auth =
        BearerAuth::builder(new_source()).allow_origin(sim.origin()).allow_http_loopback().build().expect("middleware");
    let bearer = reqwest_middleware::ClientBuilder::new(reqwest::Client::new()).with(auth).build();
    let bare = reqwest::Client::new();
    // The bare client sends a valid token of its own, so the server does the same work.
    let token = runtime.block_on(async {
        bearer.get(sim.api_url()).send().await.expect("warm");
        reqwest_bearer::TokenSource::fetch(&new_source()).await.expect("token")
    });
    let api = sim.api_url();
    let bare_request = || async {
        let response = bare.get(&api).header("authorization", token.header_value().clone()).send().await;
        let response = response.expect("response");
        assert_eq!(response.status(), 200);
        response.bytes().await.expect("body");
    };
    let bearer_request = || async {
        let response = bearer.get(&api).send().await.expect("response");
        assert_eq!(response.status(), 200);
        response.bytes().await.expect("body");
    };
    let mut group = c.benchmark_group("loopback");
    group.bench_function("bare_client", |b| b.to_async(&runtime).iter(bare_request));
    group.bench_function("bearer_auth", |b| b.to_async(&runtime).iter(bearer_request));
    group.finish();

    // The same two, interleaved in batches so that drift on a shared machine hits both alike.
    let (mut bare_time, mut bearer_time) = (Duration::ZERO, Duration::ZERO);
    runtime.block_on(async {
        for _ in 0..40 {
            let start = Instant::now();
            for _ in 0..100 {
                bare_request().await;
            }
            bare_time += start.elapsed();
            let start = Instant::now();
            for _ in 0..100 {
                bearer_request().await;
            }
            bearer_time += start.elapsed();
        }
    });
    println!(
        "loopback/interleaved: 4000 requests each; bare {:.1} µs/req, BearerAuth {:.1} µs/req; BearerAuth throughput = {:.1}% of bare",
        bare_time.as_secs_f64() * 1e6 / 4000.0,
        bearer_time.as_secs_f64() * 1e6 / 4000.0,
        100.0 * bare_time.as_secs_f64() / bearer_time.as_secs_f64()
    );
}

criterion_group!(benches, token_hit, token_hit_contended, middleware, loopback);
criterion_main!(benches);
