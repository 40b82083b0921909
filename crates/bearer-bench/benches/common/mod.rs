//! The hot paths measured by `hot_path.rs` (criterion) and `probe.rs` (instruction counts
//! under callgrind): ours and the floors (`ours.rs`, also used by the root package's
//! allocation test), the keyed ones (`keyed.rs`, also used by the root package's keyed
//! allocation and memory tests), and the peer, reqwest-auth 1.0.0 on reqwest-middleware 0.4 and
//! reqwest 0.12, built the same way.
#![allow(dead_code, unreachable_pub)]

pub mod keyed;
pub mod ours;

use std::sync::Arc;

pub use ours::{ready, Ours, URL};

/// Ours and the peer's chains, built once and warm.
pub struct HotPaths {
    pub ours: Ours,
    pub peer_none: reqwest_middleware_04::ClientWithMiddleware,
    pub peer_auth: reqwest_middleware_04::ClientWithMiddleware,
}

impl HotPaths {
    pub fn new() -> Self {
        let ours = Ours::new();
        let token = ours.token_ours();
        let peer_http = reqwest_012::Client::new();
        let peer_source: Arc<dyn token_source::TokenSource> =
            Arc::new(PeerSource(format!("Bearer {}", token.secret().secret())));
        Self {
            ours,
            peer_none: reqwest_middleware_04::ClientBuilder::new(peer_http.clone()).with(PeerCanned).build(),
            peer_auth: reqwest_middleware_04::ClientBuilder::new(peer_http)
                .with(reqwest_auth::AuthorizationHeaderMiddleware::from(peer_source))
                .with(PeerCanned)
                .build(),
        }
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
