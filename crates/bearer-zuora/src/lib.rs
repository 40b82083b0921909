//! [Zuora](https://developer.zuora.com) OAuth for `reqwest-bearer`.
//!
//! Zuora's `POST {host}/oauth/token` takes a form-encoded client_credentials request with the
//! client id and secret in the body, and **no** `Authorization` header. It answers
//! `expires_in` as a number that may be a float, and issues no refresh token: renewal is the
//! same call, which Zuora rate-limits per IP, so let one cache serve the whole process.
//!
//! ```
//! use bearer_zuora::{ZuoraEnvironment, ZuoraTokenSource};
//!
//! let source = ZuoraTokenSource::builder(ZuoraEnvironment::UsApiSandbox)
//!     .client_id("my-client")
//!     .client_secret("my-secret")
//!     .track_id("billing-sync-42")
//!     .zuora_version("2024-05-20")
//!     .build()?;
//! assert_eq!(source.api_origin(), "https://rest.apisandbox.zuora.com");
//! # Ok::<(), bearer_core::Error>(())
//! ```
#![warn(missing_docs)]

mod environment;
mod source;

pub use environment::ZuoraEnvironment;
pub use source::{ZuoraTokenSource, ZuoraTokenSourceBuilder};
