//! The Zenkipay token source.

use std::time::Duration;

use bearer_core::{ClientSecret, Error, Token, TokenSource};
use bearer_oauth2::{ClientAuth, Encoding, FieldNames, OAuth2TokenSource};
use http::{HeaderMap, StatusCode};

/// Zenkipay's API host, which also serves the token endpoint.
pub const DEFAULT_BASE_URL: &str = "https://api.zenki.fi";

/// A [`TokenSource`] for Zenkipay.
#[derive(Debug)]
pub struct ZenkipayTokenSource {
    inner: OAuth2TokenSource,
    api_origin: String,
}

/// Builds a [`ZenkipayTokenSource`]; see [`ZenkipayTokenSource::builder`].
#[derive(Debug)]
pub struct ZenkipayTokenSourceBuilder {
    base_url: String,
    client_id: String,
    client_secret: Option<ClientSecret>,
    timeout: Option<Duration>,
    http: Option<reqwest::Client>,
}

impl ZenkipayTokenSource {
    /// Starts a builder for `https://api.zenki.fi`.
    pub fn builder() -> ZenkipayTokenSourceBuilder {
        ZenkipayTokenSourceBuilder {
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
    /// | `ZENKIPAY_CLIENT_ID` | client id (required) |
    /// | `ZENKIPAY_CLIENT_SECRET` | client secret (required) |
    /// | `ZENKIPAY_BASE_URL` | another host (default `https://api.zenki.fi`) |
    pub fn from_env() -> Result<Self, Error> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let required = |name: &str| var(name).ok_or_else(|| Error::Config(format!("{name} is not set")));
        let mut builder = Self::builder()
            .client_id(required("ZENKIPAY_CLIENT_ID")?)
            .client_secret(required("ZENKIPAY_CLIENT_SECRET")?);
        if let Some(base) = var("ZENKIPAY_BASE_URL") {
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
impl TokenSource for ZenkipayTokenSource {
    async fn fetch(&self) -> Result<Token, Error> {
        self.inner.fetch().await
    }

    /// Zenkipay answers a missing, expired or revoked token with 403 "Access denied.".
    fn is_token_rejected(&self, status: StatusCode, _headers: &HeaderMap) -> bool {
        status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN
    }

    fn api_origins(&self) -> Vec<String> {
        vec![self.api_origin.clone()]
    }
}

impl ZenkipayTokenSourceBuilder {
    /// Another base URL (tests, proxies).
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
    pub fn build(self) -> Result<ZenkipayTokenSource, Error> {
        let Some(secret) = self.client_secret.filter(|_| !self.client_id.is_empty()) else {
            return Err(Error::Config("Zenkipay needs a client id and a client secret".into()));
        };
        let mut inner = OAuth2TokenSource::builder(format!("{}/v1/oauth/tokens", self.base_url.trim_end_matches('/')))
            .client_id(self.client_id)
            .client_secret(secret)
            .client_auth(ClientAuth::RequestBody)
            .encoding(Encoding::Json)
            .field_names(FieldNames::CamelCase);
        if let Some(timeout) = self.timeout {
            inner = inner.timeout(timeout);
        }
        if let Some(http) = self.http {
            inner = inner.http_client(http);
        }
        let inner = inner.build()?;
        let api_origin = inner.token_url().origin().ascii_serialization();
        Ok(ZenkipayTokenSource { inner, api_origin })
    }
}
