//! The Criteo token source.

use std::time::Duration;

use bearer_core::{ClientSecret, Error, Token, TokenSource};
use bearer_oauth2::{ClientAuth, Encoding, OAuth2TokenSource};

/// Criteo's API host, which also serves the token endpoint.
pub const DEFAULT_BASE_URL: &str = "https://api.criteo.com";

/// A [`TokenSource`] for Criteo's token endpoint.
#[derive(Debug)]
pub struct CriteoTokenSource {
    inner: OAuth2TokenSource,
    api_origin: String,
}

/// Builds a [`CriteoTokenSource`]; see [`CriteoTokenSource::builder`].
#[derive(Debug)]
pub struct CriteoTokenSourceBuilder {
    base_url: String,
    client_id: String,
    client_secret: Option<ClientSecret>,
    timeout: Option<Duration>,
    http: Option<reqwest::Client>,
}

impl CriteoTokenSource {
    /// Starts a builder for `https://api.criteo.com`.
    pub fn builder() -> CriteoTokenSourceBuilder {
        CriteoTokenSourceBuilder {
            base_url: DEFAULT_BASE_URL.to_owned(),
            client_id: String::new(),
            client_secret: None,
            timeout: None,
            http: None,
        }
    }

    /// A source configured from the environment:
    ///
    /// | variable | meaning |
    /// |---|---|
    /// | `CRITEO_CLIENT_ID` | client id (required) |
    /// | `CRITEO_CLIENT_SECRET` | client secret (required) |
    /// | `CRITEO_BASE_URL` | another host, e.g. a proxy (default `https://api.criteo.com`) |
    pub fn from_env() -> Result<Self, Error> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let required = |name: &str| var(name).ok_or_else(|| Error::Config(format!("{name} is not set")));
        let mut builder =
            Self::builder().client_id(required("CRITEO_CLIENT_ID")?).client_secret(required("CRITEO_CLIENT_SECRET")?);
        if let Some(base) = var("CRITEO_BASE_URL") {
            builder = builder.base_url(base);
        }
        builder.build()
    }

    /// The API origin the tokens are for.
    pub fn api_origin(&self) -> &str {
        &self.api_origin
    }
}

#[async_trait::async_trait]
impl TokenSource for CriteoTokenSource {
    async fn fetch(&self) -> Result<Token, Error> {
        self.inner.fetch().await
    }

    fn api_origins(&self) -> Vec<String> {
        vec![self.api_origin.clone()]
    }
}

impl CriteoTokenSourceBuilder {
    /// Another base URL (tests, proxies), without a trailing path.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The client id.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = id.into();
        self
    }

    /// The client secret.
    pub fn client_secret(mut self, secret: impl Into<ClientSecret>) -> Self {
        self.client_secret = Some(secret.into());
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
    pub fn build(self) -> Result<CriteoTokenSource, Error> {
        let Some(secret) = self.client_secret.filter(|_| !self.client_id.is_empty()) else {
            return Err(Error::Config("Criteo needs a client id and a client secret".into()));
        };
        let mut inner = OAuth2TokenSource::builder(format!("{}/oauth2/token", self.base_url.trim_end_matches('/')))
            .client_id(self.client_id)
            .client_secret(secret)
            .client_auth(ClientAuth::RequestBody)
            .encoding(Encoding::Form)
            .header("Accept", "text/plain, application/json, text/json");
        if let Some(timeout) = self.timeout {
            inner = inner.timeout(timeout);
        }
        if let Some(http) = self.http {
            inner = inner.http_client(http);
        }
        let inner = inner.build()?;
        let api_origin = inner.token_url().origin().ascii_serialization();
        Ok(CriteoTokenSource { inner, api_origin })
    }
}
