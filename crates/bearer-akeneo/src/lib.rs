//! [Akeneo PIM](https://api.akeneo.com) OAuth for `reqwest-bearer`.
//!
//! Each customer runs their own PIM, so the base URL is required. The token endpoint
//! `POST {base}/api/oauth/v1/token` wants the client id and secret as HTTP Basic, a JSON (or
//! form) body, the password grant for the first token, and then the refresh token it handed
//! out, which rotates on every use. When a refresh is rejected (422: expired or used), the
//! source falls back to the password grant once.
//!
//! ```
//! use bearer_akeneo::AkeneoTokenSource;
//!
//! let source = AkeneoTokenSource::builder("https://pim.example.com")
//!     .client_id("client")
//!     .client_secret("secret")
//!     .username("api_user")
//!     .password("its-password")
//!     .build()?;
//! assert_eq!(source.api_origin(), "https://pim.example.com");
//! # Ok::<(), bearer_core::Error>(())
//! ```
#![warn(missing_docs)]

mod source;

pub use source::{AkeneoTokenSource, AkeneoTokenSourceBuilder};
