//! The IX-API token source.

use std::time::Duration;

use bearer_core::{ClientSecret, Error, RefreshToken, Token, TokenSource};
use bearer_oauth2::provider_kit::{self, check_endpoint, exchange, EnvLookup, RefreshSlot, TokenHttpClient};
use bearer_oauth2::{DEFAULT_TIMEOUT, DEFAULT_UNKNOWN_LIFETIME};
use http::header::{ACCEPT, CONTENT_TYPE};

/// A [`TokenSource`] for an IX-API instance.
#[derive(Debug)]
pub struct IxApiTokenSource {
    token_url: reqwest::Url,
    refresh_url: reqwest::Url,
    api_key: String,
    api_secret: ClientSecret,
    unknown_lifetime: Duration,
    refresh_token: RefreshSlot,
    api_origin: String,
    http: TokenHttpClient,
}

/// Builds an [`IxApiTokenSource`]; see [`IxApiTokenSource::builder`].
#[derive(Debug)]
pub struct IxApiTokenSourceBuilder {
    base_url: String,
    api_key: String,
    api_secret: Option<ClientSecret>,
    unknown_lifetime: Duration,
    timeout: Duration,
    http: Option<reqwest::Client>,
    allow_http_loopback: bool,
}

impl IxApiTokenSource {
    /// Starts a builder for the instance at `base_url` (e.g. `https://ixp.example.net/api/v2`).
    pub fn builder(base_url: impl Into<String>) -> IxApiTokenSourceBuilder {
        IxApiTokenSourceBuilder {
            base_url: base_url.into(),
            api_key: String::new(),
            api_secret: None,
            unknown_lifetime: DEFAULT_UNKNOWN_LIFETIME,
            timeout: DEFAULT_TIMEOUT,
            http: None,
            allow_http_loopback: false,
        }
    }

    /// A source configured from the environment (all required):
    ///
    /// | variable | meaning |
    /// |---|---|
    /// | `IXAPI_BASE_URL` | the instance's base URL, ending in `/api/v2` |
    /// | `IXAPI_API_KEY` | the API key |
    /// | `IXAPI_API_SECRET` | the API secret |
    /// | `IXAPI_ALLOW_HTTP_LOOPBACK` | optional: `true` to accept an `http://127.0.0.1…` base URL (local simulator) |
    pub fn from_env() -> Result<Self, Error> {
        Self::from_env_with(provider_kit::process_env)
    }

    /// [`from_env`](Self::from_env), reading the variables through `lookup` instead of the
    /// process environment.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let env = EnvLookup::new(&lookup);
        let mut builder = Self::builder(env.required("IXAPI_BASE_URL")?)
            .api_key(env.required("IXAPI_API_KEY")?)
            .api_secret(env.required("IXAPI_API_SECRET")?);
        if env.flag("IXAPI_ALLOW_HTTP_LOOPBACK")? {
            builder = builder.allow_http_loopback();
        }
        builder.build()
    }

    /// The instance's origin, where the tokens are for.
    pub fn api_origin(&self) -> &str {
        &self.api_origin
    }

    /// Whether the source holds a refresh token for its next fetch.
    pub fn has_refresh_token(&self) -> bool {
        self.refresh_token.is_set()
    }

    async fn call(&self, url: &reqwest::Url, body: serde_json::Value, secrets: &[&str]) -> Result<Token, Error> {
        let request = self
            .http
            .get()?
            .post(url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(body.to_string());
        let (token, refresh) = exchange(request, secrets).await?.into_token(self.unknown_lifetime)?;
        self.refresh_token.set(refresh);
        Ok(token)
    }

    async fn create(&self) -> Result<Token, Error> {
        let secret = self.api_secret.secret();
        let body = serde_json::json!({ "api_key": self.api_key, "api_secret": secret });
        self.call(&self.token_url, body, &[secret]).await
    }
}

#[async_trait::async_trait]
impl TokenSource for IxApiTokenSource {
    async fn fetch(&self) -> Result<Token, Error> {
        self.refresh_token
            .refresh_or_grant(
                |refresh| async move {
                    let secret = refresh.secret();
                    self.call(&self.refresh_url, serde_json::json!({ "refresh_token": secret }), &[secret]).await
                },
                || self.create(),
            )
            .await
    }

    fn api_origins(&self) -> Vec<String> {
        vec![self.api_origin.clone()]
    }

    fn held_refresh_token(&self) -> Option<RefreshToken> {
        self.refresh_token.get()
    }
}

impl IxApiTokenSourceBuilder {
    /// The API key.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = key.into();
        self
    }

    /// The API secret.
    pub fn api_secret(mut self, secret: impl Into<ClientSecret>) -> Self {
        self.api_secret = Some(secret.into());
        self
    }

    /// The lifetime assumed for an access token that is not a JWT with `exp`
    /// (default [`DEFAULT_UNKNOWN_LIFETIME`]).
    pub fn unknown_lifetime(mut self, lifetime: Duration) -> Self {
        self.unknown_lifetime = lifetime;
        self
    }

    /// The timeout of a token request (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The HTTP client for token requests (by default one that follows no redirects; build
    /// yours with `.redirect(reqwest::redirect::Policy::none())` too: an answer that came
    /// through a redirect is refused, but the credentials have gone).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Accepts a plain `http://` base URL on a loopback address (`127.0.0.0/8`, `::1`,
    /// `localhost`), for a local simulator. Without it, `build` refuses any base URL that is
    /// not https, since the token calls carry the API secret and refresh tokens.
    pub fn allow_http_loopback(mut self) -> Self {
        self.allow_http_loopback = true;
        self
    }

    /// Checks the configuration and builds the source. Does no I/O.
    pub fn build(self) -> Result<IxApiTokenSource, Error> {
        let Some(api_secret) = self.api_secret.filter(|_| !self.api_key.is_empty()) else {
            return Err(Error::Config("IX-API needs an API key and an API secret".into()));
        };
        let base = self.base_url.trim_end_matches('/');
        let token_url = check_endpoint(&format!("{base}/auth/token"), "IX-API base URL", self.allow_http_loopback)?;
        let refresh_url = check_endpoint(&format!("{base}/auth/refresh"), "IX-API base URL", self.allow_http_loopback)?;
        let http = TokenHttpClient::new(self.http, self.timeout);
        Ok(IxApiTokenSource {
            api_origin: token_url.origin().ascii_serialization(),
            token_url,
            refresh_url,
            api_key: self.api_key,
            api_secret,
            unknown_lifetime: self.unknown_lifetime,
            refresh_token: RefreshSlot::default(),
            http,
        })
    }
}
