//! What provider crates build on; not needed to use [`OAuth2TokenSource`](crate::OAuth2TokenSource).
//!
//! A provider whose token call is RFC 6749 with a twist wraps an
//! [`OAuth2TokenSource`](crate::OAuth2TokenSource) and uses [`delegate_token_source!`] and
//! [`client_setters!`] for the boilerplate. A provider with its own request shape (IX-API) sends
//! its requests with [`exchange`] over a [`TokenHttpClient`], checks its URLs with
//! [`check_endpoint`], and keeps its refresh token in a [`RefreshSlot`], whose
//! [`RefreshSlot::refresh_or_grant`] is the one "refresh, else fall back to the full grant"
//! flow every source shares. Every provider reads its variables through [`EnvLookup`], so
//! `from_env_with` can be tested without touching the process environment.

use bearer_core::Error;

pub use crate::builder::check_endpoint;
pub use crate::error_body::rejection_from_response;
pub use crate::exchange::exchange;
pub use crate::http_client::TokenHttpClient;
pub use crate::jwt::expiry as jwt_expiry;
pub use crate::refresh_slot::RefreshSlot;
pub use crate::response::TokenResponse;
/// The HTTP Basic `Authorization` value of a client id and secret, for a request of the
/// provider's own that authenticates the client (RFC 7662 introspection, say).
pub use crate::source::basic_auth as client_basic_auth;

/// Where a provider's `from_env_with` reads its variables: any `Fn(&str) -> Option<String>`,
/// such as `|name| std::env::var(name).ok()` or a map in a test. Blank values count as unset.
pub struct EnvLookup<'a>(&'a dyn Fn(&str) -> Option<String>);

impl<'a> EnvLookup<'a> {
    /// Reads through `lookup`.
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self(lookup)
    }

    /// The value of `name`, or [`Error::Config`] naming it when unset or blank.
    pub fn required(&self, name: &str) -> Result<String, Error> {
        self.optional(name).ok_or_else(|| Error::Config(format!("{name} is not set").into()))
    }

    /// The value of `name`, if set and not blank.
    pub fn optional(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    /// A yes/no variable: `1`/`true`/`yes` or `0`/`false`/`no` (any case); unset is `false`.
    pub fn flag(&self, name: &str) -> Result<bool, Error> {
        match self.optional(name).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("0" | "false" | "no") => Ok(false),
            Some("1" | "true" | "yes") => Ok(true),
            Some(_) => Err(Error::Config(format!("{name} must be true or false").into())),
        }
    }
}

impl std::fmt::Debug for EnvLookup<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnvLookup")
    }
}

/// The process environment, for `from_env()`.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Implements [`TokenSource`](bearer_core::TokenSource) for a provider type whose `inner`
/// field is an [`OAuth2TokenSource`](crate::OAuth2TokenSource), and adds `api_origin()`.
#[doc(hidden)]
#[macro_export]
macro_rules! __delegate_token_source {
    ($provider:ty) => {
        impl $provider {
            /// The API origin the tokens are for (where the middleware sends them by default).
            pub fn api_origin(&self) -> &str {
                self.inner.api_origin().unwrap_or_default()
            }
        }

        #[$crate::provider_kit::__macro_support::async_trait]
        impl $crate::provider_kit::__macro_support::TokenSource for $provider {
            async fn fetch(
                &self,
            ) -> Result<$crate::provider_kit::__macro_support::Token, $crate::provider_kit::__macro_support::Error>
            {
                $crate::provider_kit::__macro_support::TokenSource::fetch(&self.inner).await
            }

            fn is_token_rejected(
                &self,
                status: $crate::provider_kit::__macro_support::StatusCode,
                headers: &$crate::provider_kit::__macro_support::HeaderMap,
            ) -> bool {
                $crate::provider_kit::__macro_support::TokenSource::is_token_rejected(&self.inner, status, headers)
            }

            fn api_origins(&self) -> Vec<String> {
                $crate::provider_kit::__macro_support::TokenSource::api_origins(&self.inner)
            }

            fn held_refresh_token(&self) -> Option<$crate::provider_kit::__macro_support::RefreshToken> {
                $crate::provider_kit::__macro_support::TokenSource::held_refresh_token(&self.inner)
            }
        }
    };
}

/// Adds `client_id`, `client_secret`, `timeout`, `http_client` and `allow_http_loopback`
/// setters to a provider builder whose `inner` field is an
/// [`OAuth2TokenSourceBuilder`](crate::OAuth2TokenSourceBuilder).
#[doc(hidden)]
#[macro_export]
macro_rules! __client_setters {
    () => {
        /// The client id.
        pub fn client_id(mut self, id: impl Into<String>) -> Self {
            self.inner = self.inner.client_id(id);
            self
        }

        /// The client secret.
        pub fn client_secret(mut self, secret: impl Into<$crate::provider_kit::__macro_support::ClientSecret>) -> Self {
            self.inner = self.inner.client_secret(secret);
            self
        }

        /// The timeout of a token request (default 30 s).
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.inner = self.inner.timeout(timeout);
            self
        }

        /// The HTTP client for token requests (by default one that follows no redirects; build
        /// yours with `.redirect(reqwest::redirect::Policy::none())` too: an answer that came
        /// through a redirect is refused, but the credentials have gone).
        pub fn http_client(mut self, client: $crate::provider_kit::__macro_support::reqwest::Client) -> Self {
            self.inner = self.inner.http_client(client);
            self
        }

        /// Accepts a plain `http://` base URL on a loopback address (`127.0.0.0/8`, `::1`,
        /// `localhost`), for a local simulator or proxy. Without it, `build` refuses any
        /// base URL that is not https, since the token call carries the credentials.
        pub fn allow_http_loopback(mut self) -> Self {
            self.inner = self.inner.allow_http_loopback();
            self
        }
    };
}

pub use crate::__client_setters as client_setters;
pub use crate::__delegate_token_source as delegate_token_source;

/// What the macros above expand to; not an API.
#[doc(hidden)]
pub mod __macro_support {
    pub use async_trait::async_trait;
    pub use bearer_core::{ClientSecret, Error, RefreshToken, Token, TokenSource};
    pub use http::{HeaderMap, StatusCode};
    pub use reqwest;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_lookup_reads_the_given_map_only() {
        let map = |name: &str| match name {
            "SET" => Some("value".to_owned()),
            "BLANK" => Some("  ".to_owned()),
            "YES" => Some("True".to_owned()),
            "ODD" => Some("maybe".to_owned()),
            _ => None,
        };
        let env = EnvLookup::new(&map);
        assert_eq!(env.required("SET").ok().as_deref(), Some("value"));
        assert!(matches!(env.required("BLANK"), Err(Error::Config(m)) if m.contains("BLANK")));
        assert_eq!(env.optional("UNSET"), None);
        assert_eq!((env.flag("YES").ok(), env.flag("UNSET").ok()), (Some(true), Some(false)));
        assert!(env.flag("ODD").is_err());
    }
}
