//! [Criteo](https://developers.criteo.com) OAuth for `reqwest-bearer`.
//!
//! Criteo's `POST https://api.criteo.com/oauth2/token` takes a form-encoded
//! client_credentials request with the client in the body and answers a JWT valid for
//! 15 minutes, with no usable refresh token: renewal is the same call. At ~96 renewals a day
//! per process, refresh-ahead and single-flight are what keep that quiet.
//!
//! ```
//! use bearer_criteo::CriteoTokenSource;
//!
//! let source = CriteoTokenSource::builder().client_id("my-client").client_secret("my-secret").build()?;
//! assert_eq!(source.api_origin(), "https://api.criteo.com");
//! # Ok::<(), bearer_core::Error>(())
//! ```
#![warn(missing_docs)]

mod source;

pub use source::{CriteoTokenSource, CriteoTokenSourceBuilder, DEFAULT_BASE_URL};
