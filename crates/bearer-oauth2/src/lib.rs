//! A generic RFC 6749 token-endpoint client for `reqwest-bearer`.
//!
//! [`OAuth2TokenSource`] speaks the client_credentials, password and refresh_token grants,
//! form- or JSON-encoded, with the client authenticated by HTTP Basic or in the body. It
//! parses leniently, because providers differ: `expires_in` as an integer, a float, a numeric
//! string or absent (then the JWT `exp` claim, then a conservative default); `token_type` in
//! any case; 200 or 201; snake_case or camelCase fields. Errors keep the RFC 6749 §5.2 fields
//! or the provider's own shape, the status, `Retry-After` and the provider's request id.
//!
//! TLS: this crate uses `reqwest` without a TLS backend of its own, so that the application
//! picks one. The `reqwest-bearer` facade enables rustls by default (feature `rustls`, or
//! `native-tls`); using this crate directly, enable a TLS feature on your own `reqwest`
//! dependency, or https token URLs will fail to connect.
//!
//! Token endpoints must be https. A plain `http://` endpoint is refused by `build()` unless it
//! is on a loopback address and [`allow_http_loopback`](OAuth2TokenSourceBuilder::allow_http_loopback)
//! was called (local simulators), because the token call carries the client secret, the
//! password or a refresh token.
//!
//! Provider crates with their own request shapes build on [`provider_kit`].
//!
//! ```
//! use bearer_oauth2::{ClientAuth, OAuth2TokenSource};
//!
//! let source = OAuth2TokenSource::builder("https://auth.example.com/oauth/token")
//!     .client_id("my-client")
//!     .client_secret("my-secret")
//!     .client_auth(ClientAuth::ClientSecretBasic)
//!     .scope("read write")
//!     .build()?;
//! # Ok::<(), bearer_core::Error>(())
//! ```
#![warn(missing_docs)]

mod builder;
mod client_auth;
mod discovery;
mod error_body;
mod exchange;
mod external_token;
mod http_client;
mod jwt;
pub mod provider_kit;
mod refresh_slot;
mod response;
mod revocation;
mod source;
mod token_exchange;
mod workload;

pub use builder::OAuth2TokenSourceBuilder;
#[cfg(feature = "mtls")]
pub use client_auth::mtls_client;
pub use client_auth::{AssertionAudience, CLIENT_ASSERTION_TYPE};
#[cfg(feature = "jwt-auth")]
pub use client_auth::{SigningAlgorithm, SigningKey, ASSERTION_LIFETIME};
pub use discovery::ServerMetadata;
pub use external_token::ExternalToken;
pub use response::DEFAULT_UNKNOWN_LIFETIME;
pub use source::{ClientAuth, Encoding, FieldNames, Grant, OAuth2TokenSource, DEFAULT_TIMEOUT};
pub use token_exchange::{token_types, TokenExchange, JWT_BEARER_GRANT, TOKEN_EXCHANGE_GRANT};
pub use workload::{FileTokenSource, GitHubActionsOidc, KUBERNETES_TOKEN_PATH};
