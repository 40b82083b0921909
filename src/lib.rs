//! OAuth2 bearer authentication for [`reqwest`] as one [`reqwest_middleware`] layer.
//!
//! Add [`BearerAuth`] over a token source and every request gets `Authorization: Bearer …`
//! from a lock-free cache that refreshes ahead of expiry, never stampedes the token endpoint,
//! and on a 401 refreshes and retries once.
//!
//! ```no_run
//! use reqwest_bearer::{oauth2::OAuth2TokenSource, BearerAuth};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let source = OAuth2TokenSource::builder("https://auth.example.com/oauth/token")
//!     .client_id("my-client")
//!     .client_secret(std::env::var("CLIENT_SECRET")?)
//!     .build()?;
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(BearerAuth::builder(source).allow_origin("https://api.example.com").build()?)
//!     .build();
//! let answer = client.get("https://api.example.com/v1/things").send().await?;
//! # let _ = answer; Ok(()) }
//! ```
//!
//! The token goes only to the origins allowed when the middleware is built (a provider's API
//! by default); see [`BearerAuthBuilder::build`] for what fails the build. A failure to get a
//! token reaches the caller inside [`reqwest_middleware::Error`];
//! [`bearer_error()`](BearerErrorExt::bearer_error) gets this crate's [`Error`] back.
//!
//! Providers are picked by cargo feature and re-exported as modules: `oauth2` (default),
//! `zuora`, `criteo`, `akeneo`, `zenkipay`, `ixapi`, or `full` for all of them. On top of
//! `oauth2`: `jwt-auth` (`private_key_jwt`, `client_secret_jwt`: signed client assertions)
//! and `mtls` (`tls_client_auth` through reqwest's rustls identity).
#![warn(missing_docs)]

mod destination;
mod error_ext;
mod keyed;
mod middleware;
mod origin;
mod replay;
mod skip;

pub use bearer_core as core;
pub use bearer_core::{Error, KeyedTokenCache, RefreshPolicy, Scopes, Tenant, Token, TokenCache, TokenSource};
pub use error_ext::BearerErrorExt;
pub use middleware::{BearerAuth, BearerAuthBuilder};
pub use skip::SkipAuth;

/// The generic RFC 6749 token source (feature `oauth2`; signed client assertions with
/// `jwt-auth`, mutual TLS with `mtls`).
#[cfg(feature = "oauth2")]
pub use bearer_oauth2 as oauth2;

/// Zuora (feature `zuora`).
#[cfg(feature = "zuora")]
pub use bearer_zuora as zuora;

/// Criteo (feature `criteo`).
#[cfg(feature = "criteo")]
pub use bearer_criteo as criteo;

/// Akeneo PIM (feature `akeneo`).
#[cfg(feature = "akeneo")]
pub use bearer_akeneo as akeneo;

/// Zenkipay (feature `zenkipay`).
#[cfg(feature = "zenkipay")]
pub use bearer_zenkipay as zenkipay;

/// IX-API (feature `ixapi`).
#[cfg(feature = "ixapi")]
pub use bearer_ixapi as ixapi;

/// The fleet-wide token cache on Redis (feature `redis`).
#[cfg(feature = "redis")]
pub use bearer_redis as redis;

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
