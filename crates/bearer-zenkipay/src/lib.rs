//! [Zenkipay](https://developer.zenki.fi) OAuth for `reqwest-bearer`.
//!
//! Zenkipay's `POST https://api.zenki.fi/v1/oauth/tokens` speaks camelCase JSON both ways
//! (`clientId`, `clientSecret`, `grantType`; `accessToken`, `expiresIn`) and its API answers a
//! missing, expired or revoked token with **403**, not 401. This source tells the middleware
//! so: with it, a 403 means "token rejected" (refresh and retry once); with any other source a
//! 403 is left alone.
//!
//! ```
//! use bearer_zenkipay::ZenkipayTokenSource;
//!
//! let source = ZenkipayTokenSource::builder().client_id("4188918f7da1547d13e3").client_secret("secret").build()?;
//! assert_eq!(source.api_origin(), "https://api.zenki.fi");
//! # Ok::<(), bearer_core::Error>(())
//! ```
#![warn(missing_docs)]

mod source;

pub use source::{ZenkipayTokenSource, ZenkipayTokenSourceBuilder, DEFAULT_BASE_URL};
