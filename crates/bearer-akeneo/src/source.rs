//! The Akeneo token source.

use bearer_core::{Error, Password};
use bearer_oauth2::provider_kit::{self, EnvLookup};
use bearer_oauth2::{ClientAuth, Encoding, Grant, OAuth2TokenSource, OAuth2TokenSourceBuilder};

/// A [`TokenSource`](bearer_core::TokenSource) for an Akeneo PIM instance.
#[derive(Debug)]
pub struct AkeneoTokenSource {
    inner: OAuth2TokenSource,
}

provider_kit::delegate_token_source!(AkeneoTokenSource);

/// Builds an [`AkeneoTokenSource`]; see [`AkeneoTokenSource::builder`].
#[derive(Debug)]
pub struct AkeneoTokenSourceBuilder {
    inner: OAuth2TokenSourceBuilder,
    username: String,
    password: Option<Password>,
}

impl AkeneoTokenSource {
    /// Starts a builder for the PIM at `base_url` (e.g. `https://pim.example.com`).
    pub fn builder(base_url: impl Into<String>) -> AkeneoTokenSourceBuilder {
        let token_url = format!("{}/api/oauth/v1/token", base_url.into().trim_end_matches('/'));
        AkeneoTokenSourceBuilder {
            inner: OAuth2TokenSource::builder(token_url)
                .client_auth(ClientAuth::ClientSecretBasic)
                .encoding(Encoding::Json),
            username: String::new(),
            password: None,
        }
    }

    /// A source configured from the environment (all required):
    ///
    /// | variable | meaning |
    /// |---|---|
    /// | `AKENEO_BASE_URL` | the PIM's base URL |
    /// | `AKENEO_CLIENT_ID` | the connection's client id |
    /// | `AKENEO_CLIENT_SECRET` | the connection's secret |
    /// | `AKENEO_USERNAME` | the API user |
    /// | `AKENEO_PASSWORD` | the API user's password |
    /// | `AKENEO_ALLOW_HTTP_LOOPBACK` | optional: `true` to accept an `http://127.0.0.1…` base URL (local simulator) |
    ///
    /// The base URL must be https (see [`AkeneoTokenSourceBuilder::allow_http_loopback`]).
    pub fn from_env() -> Result<Self, Error> {
        Self::from_env_with(provider_kit::process_env)
    }

    /// [`from_env`](Self::from_env), reading the variables through `lookup` instead of the
    /// process environment.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let env = EnvLookup::new(&lookup);
        let mut builder = Self::builder(env.required("AKENEO_BASE_URL")?)
            .client_id(env.required("AKENEO_CLIENT_ID")?)
            .client_secret(env.required("AKENEO_CLIENT_SECRET")?)
            .username(env.required("AKENEO_USERNAME")?)
            .password(env.required("AKENEO_PASSWORD")?);
        if env.flag("AKENEO_ALLOW_HTTP_LOOPBACK")? {
            builder = builder.allow_http_loopback();
        }
        builder.build()
    }

    /// Whether the source holds a refresh token for its next fetch.
    pub fn has_refresh_token(&self) -> bool {
        self.inner.has_refresh_token()
    }
}

impl AkeneoTokenSourceBuilder {
    provider_kit::client_setters!();

    /// The API user.
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = username.into();
        self
    }

    /// The API user's password.
    pub fn password(mut self, password: impl Into<Password>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// JSON (default) or form encoding; Akeneo accepts both.
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.inner = self.inner.encoding(encoding);
        self
    }

    /// Checks the configuration and builds the source. Does no I/O.
    pub fn build(self) -> Result<AkeneoTokenSource, Error> {
        let missing = || Error::Config("Akeneo needs a client id, a secret, a username and a password".into());
        let password = self.password.ok_or_else(missing)?;
        if self.username.is_empty() {
            return Err(missing());
        }
        let inner = self
            .inner
            .require_client_credentials("Akeneo")?
            .grant(Grant::Password { username: self.username, password })
            .api_origin_from_token_url();
        Ok(AkeneoTokenSource { inner: inner.build()? })
    }
}
