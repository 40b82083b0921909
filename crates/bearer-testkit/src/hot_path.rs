//! Pieces for measuring the per-request cost of authentication without a network: a chain's
//! last middleware that answers at once, the cheapest possible auth middleware to compare
//! against, and a token source that needs no server.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bearer_core::{AccessToken, Error, Token, TokenSource};
use http::{Extensions, HeaderValue};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

/// The last middleware of a chain: answers every request with an empty `200` without
/// sending it anywhere, so it costs the same in every chain.
#[derive(Debug, Clone, Copy, Default)]
pub struct CannedResponse;

#[async_trait::async_trait]
impl Middleware for CannedResponse {
    async fn handle(&self, _: Request, _: &mut Extensions, _: Next<'_>) -> reqwest_middleware::Result<Response> {
        Ok(Response::from(http::Response::new("")))
    }
}

/// The floor of bearer authentication: inserts one prebuilt `Authorization` value and does
/// nothing else (no cache, no expiry, no retry).
#[derive(Debug, Clone)]
pub struct FloorAuth(pub HeaderValue);

#[async_trait::async_trait]
impl Middleware for FloorAuth {
    async fn handle(
        &self,
        mut req: Request,
        ext: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        req.headers_mut().insert(http::header::AUTHORIZATION, self.0.clone());
        next.run(req, ext).await
    }
}

/// A token source that needs no server: each fetch returns `fixed-N`, valid for `lifetime`
/// (an hour by default), at once.
#[derive(Debug)]
pub struct FixedSource {
    fetches: AtomicU64,
    lifetime: Duration,
}

impl Default for FixedSource {
    fn default() -> Self {
        Self { fetches: AtomicU64::new(0), lifetime: Duration::from_secs(3600) }
    }
}

impl FixedSource {
    /// A source whose tokens live `lifetime`.
    pub fn with_lifetime(lifetime: Duration) -> Self {
        Self { fetches: AtomicU64::new(0), lifetime }
    }

    /// How many tokens it has issued.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl TokenSource for FixedSource {
    async fn fetch(&self) -> Result<Token, Error> {
        let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
        Token::builder(AccessToken::new(format!("fixed-{n}"))).expires_in(self.lifetime).build()
    }
}
