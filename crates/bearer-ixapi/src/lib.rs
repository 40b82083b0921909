//! [IX-API](https://ix-api.net) authentication for `reqwest-bearer`.
//!
//! IX-API is one API served by many Internet exchange points, each at its own base URL
//! (`https://ixp.example.net/api/v2`), which is therefore required. Authentication is not
//! RFC 6749: `POST {base}/auth/token` with JSON `{api_key, api_secret}` answers **201** with an
//! access and a refresh token and no `expires_in`; the expiry is read from the access token's
//! JWT `exp` claim (a token that is not a JWT gets a conservative default lifetime).
//! `POST {base}/auth/refresh` with `{refresh_token}` answers a new pair; when it is refused
//! (expired or used), the source goes back to `/auth/token` once.
//!
//! ```
//! use bearer_ixapi::IxApiTokenSource;
//!
//! let source = IxApiTokenSource::builder("https://ixp.example.net/api/v2")
//!     .api_key("key")
//!     .api_secret("secret")
//!     .build()?;
//! assert_eq!(source.api_origin(), "https://ixp.example.net");
//! # Ok::<(), bearer_core::Error>(())
//! ```
#![warn(missing_docs)]

mod source;

pub use source::{IxApiTokenSource, IxApiTokenSourceBuilder};
