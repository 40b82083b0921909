//! Our hot paths and the floors they are measured against, built once and warm: shared by the
//! criterion bench, the callgrind probe, and the root package's `tests/allocations.rs` (which
//! includes this file by path, so it must use only what the root package's tests depend on).
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use arc_swap::ArcSwap;
use bearer_testkit::{CannedResponse, FixedSource, FloorAuth};
use reqwest_bearer::{BearerAuth, Token, TokenCache};
use tokio::time::Instant;

/// The URL every chain is asked for; the canned last middleware answers it.
pub const URL: &str = "https://api.example.com/v1/things";

/// How many caches the many-caches scenario cycles through on one thread.
pub const MANY: usize = 10_000;

/// Polls a future once, as an executor would on a hit; everything measured here completes
/// on its first poll (no I/O, a warm cache, a canned response).
#[inline(always)]
pub fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("expected to complete on the first poll"),
    }
}

/// Everything built once, warm.
pub struct Ours {
    /// The runtime the caches fetched their tokens on (a hit needs none).
    pub runtime: tokio::runtime::Runtime,
    pub cache: TokenCache<Arc<FixedSource>>,
    /// `MANY` warm caches, for hits spread over more caches than a thread keeps copies of.
    pub many: Vec<TokenCache<Arc<FixedSource>>>,
    pub floor: ArcSwap<Token>,
    pub mutex: Mutex<Option<Arc<Token>>>,
    pub rwlock: tokio::sync::RwLock<Option<Arc<Token>>>,
    pub chain_none: reqwest_middleware::ClientWithMiddleware,
    pub chain_floor: reqwest_middleware::ClientWithMiddleware,
    pub chain_bearer: reqwest_middleware::ClientWithMiddleware,
}

impl Ours {
    pub fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let cache = TokenCache::new(Arc::new(FixedSource::default()));
        let token = runtime.block_on(cache.token()).expect("warm token");
        let many: Vec<_> = (0..MANY).map(|_| TokenCache::new(Arc::new(FixedSource::default()))).collect();
        for cache in &many {
            runtime.block_on(cache.token()).expect("warm token");
        }
        let bearer = BearerAuth::builder(Arc::new(FixedSource::default()))
            .allow_origin("https://api.example.com")
            .build()
            .expect("middleware");
        runtime.block_on(bearer.cache().token()).expect("warm middleware cache");
        let http = reqwest::Client::new();
        let chain = |auth: Option<Arc<dyn reqwest_middleware::Middleware>>| {
            let mut builder = reqwest_middleware::ClientBuilder::new(http.clone());
            if let Some(auth) = auth {
                builder = builder.with_arc(auth);
            }
            builder.with(CannedResponse).build()
        };
        Self {
            floor: ArcSwap::from(Arc::clone(&token)),
            mutex: Mutex::new(Some(Arc::clone(&token))),
            rwlock: tokio::sync::RwLock::new(Some(Arc::clone(&token))),
            chain_none: chain(None),
            chain_floor: chain(Some(Arc::new(FloorAuth(token.header_value().clone())))),
            chain_bearer: chain(Some(Arc::new(bearer))),
            cache,
            many,
            runtime,
        }
    }

    /// Ours: `TokenCache::token()` on a hit, polled once.
    pub fn token_ours(&self) -> Arc<Token> {
        ready(self.cache.token()).expect("token")
    }

    /// Ours, synchronously: `TokenCache::try_token()`, what the middleware calls first.
    pub fn token_ours_try(&self) -> Arc<Token> {
        self.cache.try_token().expect("hit")
    }

    /// Ours, on the `i`-th of `MANY` caches (callers cycle `i`).
    pub fn token_many(&self, i: usize) -> Arc<Token> {
        ready(self.many[i % MANY].token()).expect("token")
    }

    /// The floor: a bare `ArcSwap<Token>` load and one expiry check.
    pub fn token_floor(&self) -> Arc<Token> {
        let token = self.floor.load_full();
        assert!(!token.is_expired_at(Instant::now()));
        token
    }

    /// The hand-written cache: `std::sync::Mutex<Option<Token>>` with an expiry check.
    pub fn token_mutex(&self) -> Arc<Token> {
        let guard = self.mutex.lock().expect("lock");
        let token = guard.as_ref().filter(|t| !t.is_expired_at(Instant::now())).expect("fresh");
        Arc::clone(token)
    }

    /// The hand-written async cache: `tokio::sync::RwLock<Option<Token>>` with an expiry check.
    pub fn token_rwlock(&self) -> Arc<Token> {
        let guard = ready(self.rwlock.read());
        Arc::clone(guard.as_ref().filter(|t| !t.is_expired_at(Instant::now())).expect("fresh"))
    }

    /// One request through one of our chains; the response is ready at once.
    pub fn request(chain: &reqwest_middleware::ClientWithMiddleware) -> reqwest::StatusCode {
        ready(chain.get(URL).send()).expect("response").status()
    }
}
