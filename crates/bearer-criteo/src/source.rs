//! The Criteo token source.

use bearer_core::Error;
use bearer_oauth2::provider_kit::{self, EnvLookup};
use bearer_oauth2::{ClientAuth, Encoding, OAuth2TokenSource, OAuth2TokenSourceBuilder};

/// Criteo's API host, which also serves the token endpoint.
pub const DEFAULT_BASE_URL: &str = "https://api.criteo.com";

/// A [`TokenSource`](bearer_core::TokenSource) for Criteo's token endpoint.
#[derive(Debug)]
pub struct CriteoTokenSource {
    inner: OAuth2TokenSource,
}

provider_kit::delegate_token_source!(CriteoTokenSource);

/// Builds a [`CriteoTokenSource`]; see [`CriteoTokenSource::builder`].
#[derive(Debug)]
pub struct CriteoTokenSourceBuilder {
    base_url: String,
    inner: OAuth2TokenSourceBuilder,
}

impl CriteoTokenSource {
    /// Starts a builder for `https://api.criteo.com`.
    pub fn builder() -> CriteoTokenSourceBuilder {
        CriteoTokenSourceBuilder {
            base_url: DEFAULT_BASE_URL.to_owned(),
            // The URL is set by `build`, once the base is known.
            inner: OAuth2TokenSource::builder("")
                .client_auth(ClientAuth::ClientSecretPost)
                .encoding(Encoding::Form)
                .header("Accept", "text/plain, application/json, text/json"),
        }
    }

    /// A source configured from the environment:
    ///
    /// | variable | meaning |
    /// |---|---|
    /// | `CRITEO_CLIENT_ID` | client id (required) |
    /// | `CRITEO_CLIENT_SECRET` | client secret (required) |
    /// | `CRITEO_BASE_URL` | another host, e.g. a proxy (default `https://api.criteo.com`) |
    /// | `CRITEO_ALLOW_HTTP_LOOPBACK` | `true` to accept an `http://127.0.0.1…` base URL (local simulator) |
    pub fn from_env() -> Result<Self, Error> {
        Self::from_env_with(provider_kit::process_env)
    }

    /// [`from_env`](Self::from_env), reading the variables through `lookup` instead of the
    /// process environment.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let env = EnvLookup::new(&lookup);
        let mut builder = Self::builder()
            .client_id(env.required("CRITEO_CLIENT_ID")?)
            .client_secret(env.required("CRITEO_CLIENT_SECRET")?);
        if let Some(base) = env.optional("CRITEO_BASE_URL") {
            builder = builder.base_url(base);
        }
        if env.flag("CRITEO_ALLOW_HTTP_LOOPBACK")? {
            builder = builder.allow_http_loopback();
        }
        builder.build()
    }
}

impl CriteoTokenSourceBuilder {
    provider_kit::client_setters!();

    /// Another base URL (tests, proxies), without a trailing path.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Checks the configuration and builds the source. Does no I/O.
    pub fn build(self) -> Result<CriteoTokenSource, Error> {
        let token_url = format!("{}/oauth2/token", self.base_url.trim_end_matches('/'));
        let inner = self.inner.token_url(token_url).require_client_credentials("Criteo")?.api_origin_from_token_url();
        Ok(CriteoTokenSource { inner: inner.build()? })
    }
}
