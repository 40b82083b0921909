//! The hot paths measured by `benches/hot_path.rs` (criterion), `benches/probe.rs`
//! (instruction counts under callgrind) and `tests/allocations.rs` (allocation counts):
//! ours, the floors, and the baselines a user would otherwise pick, built the same way.
#![allow(dead_code, unreachable_pub)]

pub mod keyed;

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use bearer_testkit::{CannedResponse, FixedSource, FloorAuth};
use reqwest_bearer::{BearerAuth, Token, TokenCache};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use tokio::time::Instant;

/// The URL every chain is asked for; the canned last middleware answers it.
pub const URL: &str = "https://api.example.com/v1/things";

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
pub struct HotPaths {
    /// Keeps the freshness timers of the warm caches alive.
    pub runtime: tokio::runtime::Runtime,
    pub cache: TokenCache<Arc<FixedSource>>,
    pub floor: ArcSwap<Token>,
    pub mutex: Mutex<Option<Arc<Token>>>,
    pub rwlock: tokio::sync::RwLock<Option<Arc<Token>>>,
    pub chain_none: reqwest_middleware::ClientWithMiddleware,
    pub chain_floor: reqwest_middleware::ClientWithMiddleware,
    pub chain_bearer: reqwest_middleware::ClientWithMiddleware,
    pub peer_none: reqwest_middleware_04::ClientWithMiddleware,
    pub peer_auth: reqwest_middleware_04::ClientWithMiddleware,
}

impl HotPaths {
    pub fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let cache = TokenCache::new(Arc::new(FixedSource::default()));
        let token = runtime.block_on(cache.token()).expect("warm token");
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
        let peer_http = reqwest_012::Client::new();
        let peer_source: Arc<dyn token_source::TokenSource> =
            Arc::new(PeerSource(format!("Bearer {}", token.secret().secret())));
        Self {
            floor: ArcSwap::from(Arc::clone(&token)),
            mutex: Mutex::new(Some(Arc::clone(&token))),
            rwlock: tokio::sync::RwLock::new(Some(Arc::clone(&token))),
            chain_none: chain(None),
            chain_floor: chain(Some(Arc::new(FloorAuth(token.header_value().clone())))),
            chain_bearer: chain(Some(Arc::new(bearer))),
            peer_none: reqwest_middleware_04::ClientBuilder::new(peer_http.clone()).with(PeerCanned).build(),
            peer_auth: reqwest_middleware_04::ClientBuilder::new(peer_http)
                .with(reqwest_auth::AuthorizationHeaderMiddleware::from(peer_source))
                .with(PeerCanned)
                .build(),
            cache,
            runtime,
        }
    }

    /// Ours: `TokenCache::token()` on a hit, polled once.
    pub fn token_ours(&self) -> Arc<Token> {
        ready(self.cache.token()).expect("token")
    }

    /// Ours, synchronously: `TokenCache::fresh()`, what `token()` does on a hit.
    pub fn token_ours_fresh(&self) -> Arc<Token> {
        self.cache.fresh().expect("fresh")
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

    /// One request through one of reqwest-auth's chains.
    pub fn request_peer(chain: &reqwest_middleware_04::ClientWithMiddleware) -> u16 {
        ready(chain.get(URL).send()).expect("response").status().as_u16()
    }
}

/// reqwest-auth's token source: hands out the same `Bearer …` string each time.
#[derive(Debug)]
struct PeerSource(String);

#[async_trait::async_trait]
impl token_source::TokenSource for PeerSource {
    async fn token(&self) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
        Ok(self.0.clone())
    }
}

/// The canned last middleware for reqwest-middleware 0.4 chains.
struct PeerCanned;

#[async_trait::async_trait]
impl reqwest_middleware_04::Middleware for PeerCanned {
    async fn handle(
        &self,
        _: reqwest_012::Request,
        _: &mut http::Extensions,
        _: reqwest_middleware_04::Next<'_>,
    ) -> reqwest_middleware_04::Result<reqwest_012::Response> {
        Ok(reqwest_012::Response::from(http::Response::new("")))
    }
}
