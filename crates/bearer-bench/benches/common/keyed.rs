//! The keyed hot paths measured by `keyed_probe.rs` (instruction counts under callgrind,
//! `keyed_callgrind.sh`), `keyed.rs` (criterion) and the root package's
//! `tests/keyed_allocations.rs` and `tests/keyed_memory.rs` (which include this file and
//! `ours.rs` by path, so it must use only what the root package's tests depend on): a
//! [`KeyedTokenCache`] warm at a given number of keys, next to a single [`TokenCache`].
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use bearer_testkit::{CannedResponse, FixedSource};
use reqwest_bearer::core::{KeyedTokenCache, Tenant};
use reqwest_bearer::{BearerAuth, Token, TokenCache};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};

use super::ours::{ready, URL};

/// The keys a warm keyed cache holds: `tenant-000000`, `tenant-000001`, ...
pub fn tenant(i: usize) -> Tenant {
    Tenant::new(format!("tenant-{i:06}"))
}

/// A single cache and a keyed cache of `keys` keys, every token fetched.
pub struct KeyedHotPaths {
    /// Runs the caches' refreshes.
    pub runtime: tokio::runtime::Runtime,
    pub single: TokenCache<FixedSource>,
    pub keyed: KeyedTokenCache<Tenant, FixedSource>,
    pub keys: Vec<Tenant>,
    /// `BearerAuth` over one cache, then a canned 200.
    pub chain_single: ClientWithMiddleware,
    /// `BearerAuth` with per-request `Tenant` keys over `keys`, then a canned 200.
    pub chain_keyed: ClientWithMiddleware,
}

impl KeyedHotPaths {
    pub fn new(keys: usize) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let single = TokenCache::new(FixedSource::default());
        // Room to spare: keys spread over shards unevenly, and none may be evicted here.
        let keyed =
            KeyedTokenCache::builder(|_: &Tenant| Ok(FixedSource::default())).max_keys((keys * 2).max(1024)).build();
        let keys: Vec<Tenant> = (0..keys).map(tenant).collect();
        runtime.block_on(async {
            single.token().await.expect("warm single cache");
            for key in &keys {
                keyed.token(key).await.expect("warm keyed cache");
            }
        });
        assert_eq!(keyed.len(), keys.len(), "every key is held");
        let chain = |auth: BearerAuth<FixedSource>| {
            ClientBuilder::new(reqwest::Client::new()).with(auth).with(CannedResponse).build()
        };
        let single_auth = BearerAuth::builder(FixedSource::default()).allow_origin("https://api.example.com");
        let keyed_auth = BearerAuth::builder(FixedSource::default())
            .keys(
                KeyedTokenCache::builder(|_: &Tenant| Ok(FixedSource::default())).max_keys((keys.len() * 2).max(1024)),
            )
            .allow_origin("https://api.example.com");
        let chain_single = chain(single_auth.build().expect("middleware"));
        let chain_keyed = chain(keyed_auth.build().expect("middleware"));
        runtime.block_on(async {
            chain_single.get(URL).send().await.expect("warm");
            // Twice: a key's first request creates it and fetches; its second leaves what a
            // warm key has (its slot's copy of the token), so the measured requests are all warm.
            for _ in 0..2 {
                for key in &keys {
                    chain_keyed.get(URL).with_extension(key.clone()).send().await.expect("warm");
                }
            }
        });
        Self { runtime, single, keyed, keys, chain_single, chain_keyed }
    }

    /// One request through the single-cache chain, carrying a `Tenant` it ignores (so both
    /// chains pay the same for the extension).
    pub fn request_single(&self, i: usize) -> reqwest::StatusCode {
        let key = self.keys[i % self.keys.len()].clone();
        ready(self.chain_single.get(URL).with_extension(key).send()).expect("response").status()
    }

    /// One request through the keyed chain, for key `i`.
    pub fn request_keyed(&self, i: usize) -> reqwest::StatusCode {
        let key = self.keys[i % self.keys.len()].clone();
        ready(self.chain_keyed.get(URL).with_extension(key).send()).expect("response").status()
    }

    /// The single cache's synchronous hit, `TokenCache::try_token()`.
    pub fn single_fresh(&self) -> Arc<Token> {
        self.single.try_token().expect("fresh")
    }

    /// The keyed synchronous hit on key `i` (modulo the key count).
    pub fn keyed_fresh(&self, i: usize) -> Arc<Token> {
        self.keyed.try_token(&self.keys[i % self.keys.len()]).expect("fresh")
    }

    /// The keyed synchronous hit on key `i`, looked up with a key of its own (the same text,
    /// another allocation), as a request that builds its key from a string has.
    pub fn keyed_fresh_equal_key(&self, key: &Tenant) -> Arc<Token> {
        self.keyed.try_token(key).expect("fresh")
    }

    /// The single cache's `token()`, polled once (it completes on its first poll on a hit).
    pub fn single_token(&self) -> Arc<Token> {
        ready(self.single.token()).expect("token")
    }

    /// The keyed `token()` on key `i`, polled once (it completes on its first poll on a hit).
    pub fn keyed_token(&self, i: usize) -> Arc<Token> {
        ready(self.keyed.token(&self.keys[i % self.keys.len()])).expect("token")
    }
}
