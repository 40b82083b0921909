//! Issue 16 probe of `TokenCopy::live` (commit 089ee38) on a multi-thread runtime: four
//! workers take tokens (each from its own thread's copy, mostly) while the cache's clock runs
//! past refresh points and expiries and tokens are rejected. No call that began after a
//! token's expiry, or after its rejection, is served it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::{AccessToken, Error, TimeSource, Token, TokenCache, TokenSource};

/// A clock moved by hand, in nanoseconds after `start`.
#[derive(Debug)]
struct HandClock {
    start: Instant,
    nanos: AtomicU64,
}

impl TimeSource for Arc<HandClock> {
    fn now(&self) -> Instant {
        self.start + Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

/// Issues `n` tokens living `LIFETIME`, and notes each one's fetch start on the hand clock.
struct Noting {
    clock: Arc<HandClock>,
    started: Mutex<HashMap<String, Instant>>,
}

const LIFETIME: Duration = Duration::from_secs(10);

#[async_trait::async_trait]
impl TokenSource for Noting {
    async fn fetch(&self) -> Result<Token, Error> {
        let mut started = self.started.lock().expect("started");
        let name = format!("t-{}", started.len() + 1);
        started.insert(name.clone(), self.clock.now());
        Token::builder(AccessToken::new(name)).expires_in(LIFETIME).build()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_thread_copy_outlives_its_expiry_or_its_rejection() {
    let clock = Arc::new(HandClock { start: Instant::now(), nanos: AtomicU64::new(0) });
    let source = Arc::new(Noting { clock: Arc::clone(&clock), started: Mutex::default() });
    let policy = crate::RefreshPolicy::default().with_jitter(0.0).with_rejection_refresh_interval(Duration::ZERO);
    let cache = TokenCache::with_time_source(Arc::clone(&source), policy, Arc::clone(&clock));
    // Rejected token names, with the hand-clock time their rejection returned.
    let rejected: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (cache, source, rejected, stop, clock) =
            (cache.clone(), Arc::clone(&source), Arc::clone(&rejected), Arc::clone(&stop), Arc::clone(&clock));
        workers.push(tokio::spawn(async move {
            let (mut served, mut calls) = (0u64, 0u64);
            while !stop.load(Ordering::SeqCst) {
                calls += 1;
                let began = clock.now();
                let rejected_before: Vec<String> = rejected.lock().expect("rejected").keys().cloned().collect();
                let token = if calls % 2 == 0 { cache.try_token() } else { cache.token().await.ok() };
                let Some(token) = token else { continue };
                served += 1;
                let name = token.secret().secret().to_owned();
                let fetched = source.started.lock().expect("started")[&name];
                assert!(began < fetched + LIFETIME, "{name} served to a call begun past its expiry");
                assert!(!rejected_before.contains(&name), "{name} served to a call begun after its rejection");
                tokio::task::yield_now().await;
            }
            served
        }));
    }
    for step in 0..1_500u64 {
        clock.nanos.fetch_add(Duration::from_millis(20).as_nanos() as u64, Ordering::SeqCst);
        if step % 20 == 0 {
            if let Some(token) = cache.try_token() {
                let name = token.secret().secret().to_owned();
                if cache.invalidate(&token) {
                    rejected.lock().expect("rejected").insert(name, clock.now());
                }
            }
        }
        tokio::time::sleep(Duration::from_micros(50)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let mut total = 0;
    for worker in workers {
        total += worker.await.expect("no assertion failed in a worker");
    }
    assert!(total > 100, "the workers were served: {total}");
    let fetched = source.started.lock().expect("started").len();
    let rejections = rejected.lock().expect("rejected").len();
    assert!(fetched >= 3 && rejections >= 1, "tokens expired and were rejected along the way: {fetched}, {rejections}");
}
