//! The Akeneo token source.

use std::time::Duration;

use bearer_core::{ClientSecret, Error, Password, Token, TokenSource};
use bearer_oauth2::{ClientAuth, Encoding, Grant, OAuth2TokenSource};

/// A [`TokenSource`] for an Akeneo PIM instance.
#[derive(Debug)]
pub struct AkeneoTokenSource {
    inner: OAuth2TokenSource,
    api_origin: String,
}

/// Builds an [`AkeneoTokenSource`]; see [`AkeneoTokenSource::builder`].
#[derive(Debug)]
pub struct AkeneoTokenSourceBuilder {
    base_url: String,
    client_id: String,
    client_secret: Option<ClientSecret>,
    username: String,
    password: Option<Password>,
    encoding: Encoding,
    timeout: Option<Duration>,
    http: Option<reqwest::Client>,
}

impl AkeneoTokenSource {
    /// Starts a builder for the PIM at `base_url` (e.g. `https://pim.example.com`).
    pub fn builder(base_url: impl Into<String>) -> AkeneoTokenSourceBuilder {
        AkeneoTokenSourceBuilder {
            base_url: base_url.into(),
            client_id: String::new(),
            client_secret: None,
            username: String::new(),
            password: None,
            encoding: Encoding::Json,
            timeout: None,
            http: None,
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
    pub fn from_env() -> Result<Self, Error> {
        let required = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| Error::Config(format!("{name} is not set")))
        };
        Self::builder(required("AKENEO_BASE_URL")?)
            .client_id(required("AKENEO_CLIENT_ID")?)
            .client_secret(required("AKENEO_CLIENT_SECRET")?)
            .username(required("AKENEO_USERNAME")?)
            .password(required("AKENEO_PASSWORD")?)
            .build()
    }

    /// The PIM's origin, where the tokens are for.
    pub fn api_origin(&self) -> &str {
        &self.api_origin
    }

    /// Whether the source holds a refresh token for its next fetch.
    pub fn has_refresh_token(&self) -> bool {
        self.inner.has_refresh_token()
    }
}

#[async_trait::async_trait]
impl TokenSource for AkeneoTokenSource {
    async fn fetch(&self) -> Result<Token, Error> {
        self.inner.fetch().await
    }

    fn api_origins(&self) -> Vec<String> {
        vec![self.api_origin.clone()]
    }
}

impl AkeneoTokenSourceBuilder {
    /// The connection's client id.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = id.into();
        self
    }

    /// The connection's secret.
    pub fn client_secret(mut self, secret: impl Into<ClientSecret>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

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
        self.encoding = encoding;
        self
    }

    /// The timeout of a token request (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The HTTP client for token requests.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Checks the configuration and builds the source. Does no I/O.
    pub fn build(self) -> Result<AkeneoTokenSource, Error> {
        let (Some(secret), Some(password)) = (self.client_secret, self.password) else {
            return Err(Error::Config("Akeneo needs a client id, a secret, a username and a password".into()));
        };
        if self.client_id.is_empty() || self.username.is_empty() {
            return Err(Error::Config("Akeneo needs a client id, a secret, a username and a password".into()));
        }
        let base = self.base_url.trim_end_matches('/');
        let mut inner = OAuth2TokenSource::builder(format!("{base}/api/oauth/v1/token"))
            .client_id(self.client_id)
            .client_secret(secret)
            .client_auth(ClientAuth::Basic)
            .grant(Grant::Password { username: self.username, password })
            .encoding(self.encoding);
        if let Some(timeout) = self.timeout {
            inner = inner.timeout(timeout);
        }
        if let Some(http) = self.http {
            inner = inner.http_client(http);
        }
        let inner = inner.build()?;
        let api_origin = inner.token_url().origin().ascii_serialization();
        Ok(AkeneoTokenSource { inner, api_origin })
    }
}
