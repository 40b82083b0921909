//! What every provider crate built on [`OAuth2TokenSource`](crate::OAuth2TokenSource) shares:
//! reading its environment variables, and the boilerplate of wrapping the generic source.

use bearer_core::Error;

/// The value of an environment variable, or [`Error::Config`] naming it when unset or blank.
pub fn env_required(name: &str) -> Result<String, Error> {
    env_optional(name).ok_or_else(|| Error::Config(format!("{name} is not set").into()))
}

/// The value of an environment variable, if set and not blank.
pub fn env_optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Implements [`TokenSource`](bearer_core::TokenSource) for a provider type whose `inner`
/// field is an [`OAuth2TokenSource`](crate::OAuth2TokenSource), and adds `api_origin()`.
#[macro_export]
macro_rules! delegate_token_source {
    ($provider:ty) => {
        impl $provider {
            /// The API origin the tokens are for (where the middleware sends them by default).
            pub fn api_origin(&self) -> &str {
                self.inner.api_origin().unwrap_or_default()
            }
        }

        #[$crate::__private::async_trait]
        impl $crate::__private::TokenSource for $provider {
            async fn fetch(&self) -> Result<$crate::__private::Token, $crate::__private::Error> {
                $crate::__private::TokenSource::fetch(&self.inner).await
            }

            fn is_token_rejected(
                &self,
                status: $crate::__private::StatusCode,
                headers: &$crate::__private::HeaderMap,
            ) -> bool {
                $crate::__private::TokenSource::is_token_rejected(&self.inner, status, headers)
            }

            fn api_origins(&self) -> Vec<String> {
                $crate::__private::TokenSource::api_origins(&self.inner)
            }
        }
    };
}

/// Adds `client_id`, `client_secret`, `timeout` and `http_client` setters to a provider
/// builder whose `inner` field is an [`OAuth2TokenSourceBuilder`](crate::OAuth2TokenSourceBuilder).
#[macro_export]
macro_rules! client_setters {
    () => {
        /// The client id.
        pub fn client_id(mut self, id: impl Into<String>) -> Self {
            self.inner = self.inner.client_id(id);
            self
        }

        /// The client secret.
        pub fn client_secret(mut self, secret: impl Into<$crate::__private::ClientSecret>) -> Self {
            self.inner = self.inner.client_secret(secret);
            self
        }

        /// The timeout of a token request (default 30 s).
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.inner = self.inner.timeout(timeout);
            self
        }

        /// The HTTP client for token requests (by default one that follows no redirects).
        pub fn http_client(mut self, client: $crate::__private::reqwest::Client) -> Self {
            self.inner = self.inner.http_client(client);
            self
        }
    };
}

#[doc(hidden)]
pub mod __private {
    pub use async_trait::async_trait;
    pub use bearer_core::{ClientSecret, Error, Token, TokenSource};
    pub use http::{HeaderMap, StatusCode};
    pub use reqwest;
}
