//! One token for the whole fleet: a token cache shared by every process through Redis.
//!
//! Each process keeps its in-memory [`TokenCache`](bearer_core::TokenCache) in front, so
//! requests never touch Redis; when a cache needs a token, [`SharedTokenSource`] makes sure
//! exactly one process of the fleet fetches it from the token endpoint and the others read
//! it from Redis. A rejected token is dropped fleet-wide with one fetch; Redis down, slow or
//! answering garbage never fails a request; tokens are encrypted at rest.
//!
//! - [`SharedTokenSource`]: the wrapper around any [`TokenSource`](bearer_core::TokenSource).
//! - [`SharedTokenSourceBuilder`]: where Redis is, the key, the timings.
//! - [`TokenIdentity`]: what a token is for; the Redis keys derive from it.
//! - [`EncryptionKey`]: the key that seals tokens at rest.
//! - [`SharedCacheMetrics`]: what the shared cache did.
#![warn(missing_docs)]

mod builder;
mod identity;
mod link;
mod metrics;
mod protocol;
mod sealing;
mod source;

pub use builder::{
    SharedTokenSourceBuilder, DEFAULT_LEASE_TTL, DEFAULT_NO_EXPIRY_TTL, DEFAULT_RECONNECT_CEILING,
    DEFAULT_RECONNECT_FLOOR, DEFAULT_REDIS_TIMEOUT,
};
pub use identity::{TokenIdentity, DEFAULT_KEY_PREFIX};
pub use metrics::SharedCacheMetrics;
pub use sealing::EncryptionKey;
pub use source::SharedTokenSource;
