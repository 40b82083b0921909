//! The mechanism behind `reqwest-bearer`: what a token is, where tokens come from, and the
//! cache that serves them.
//!
//! - [`Token`]: one access token with its expiry and its prebuilt `Authorization` header.
//! - [`TokenSource`]: one acquisition from a token endpoint, no caching.
//! - [`TokenCache`]: serves the current token lock-free, checked against the clock on every
//!   call, refreshes ahead of expiry, never runs two refreshes at once, bounds how often it
//!   calls the token endpoint, and survives cancelled callers, outages and runtime shutdowns.
//! - [`KeyedTokenCache`]: one `TokenCache` per key (a [`Scopes`] set, a [`Tenant`], any
//!   hashable key), created on first use from a factory of sources, bounded, idle keys evicted.
//! - [`TimeSource`]: the clock the cache reads ([`TokioClock`] by default).
//! - [`RefreshPolicy`]: the knobs of the cache, with documented `DEFAULT_*` values.
//! - [`Error`]: typed, cloneable, and honest about whether retrying can help.
//!
//! ```
//! use bearer_core::{async_trait, AccessToken, Error, Token, TokenCache, TokenSource};
//! use std::time::Duration;
//!
//! struct Fixed;
//!
//! #[async_trait]
//! impl TokenSource for Fixed {
//!     async fn fetch(&self) -> Result<Token, Error> {
//!         Token::builder(AccessToken::new("abc")).expires_in(Duration::from_secs(3600)).build()
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Error> {
//! let cache = TokenCache::new(Fixed);
//! let token = cache.token().await?;
//! assert_eq!(token.header_value().to_str().unwrap_or_default(), "Bearer abc");
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod cache;
mod clock;
mod error;
mod keyed;
mod loopback;
mod policy;
mod secret;
mod source;
mod token;

pub use async_trait::async_trait;
pub use cache::{TokenCache, TokenFuture};
pub use clock::{TimeSource, TokioClock};
pub use error::{Error, InvalidParam, RateLimit, Rejection, StaleOnArrival, TransportError};
pub use keyed::{KeyedTokenCache, KeyedTokenCacheBuilder, Scopes, Tenant, DEFAULT_KEY_IDLE_TIMEOUT, DEFAULT_MAX_KEYS};
pub use loopback::is_loopback_host;
pub use policy::{
    RefreshPolicy, TokenStanding, DEFAULT_BACKOFF_CEILING, DEFAULT_BACKOFF_FLOOR, DEFAULT_FETCH_TIMEOUT,
    DEFAULT_HARD_MARGIN, DEFAULT_JITTER, DEFAULT_MIN_FETCH_INTERVAL, DEFAULT_MIN_HARD_MARGIN,
    DEFAULT_REFRESH_AHEAD_FRACTION, DEFAULT_REFRESH_AHEAD_MAX, DEFAULT_REJECTION_REFRESH_INTERVAL, MAX_FETCH_SPACING,
    MAX_RETRY_AFTER,
};
pub use secret::{AccessToken, ClientSecret, Password, RefreshToken};
pub use source::TokenSource;
pub use token::{Token, TokenBuilder};
