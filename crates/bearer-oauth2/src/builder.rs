//! Building an [`OAuth2TokenSource`]: options, checks, and the HTTP client it gets by default.

use std::time::Duration;

use bearer_core::{ClientSecret, Error};
use http::header::ACCEPT;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::http_client::TokenHttpClient;
use crate::refresh_slot::RefreshSlot;
use crate::response::DEFAULT_UNKNOWN_LIFETIME;
use crate::source::{ClientAuth, Encoding, FieldNames, Grant, OAuth2TokenSource, DEFAULT_TIMEOUT};

/// Builds an [`OAuth2TokenSource`]; see [`OAuth2TokenSource::builder`].
#[derive(Debug)]
pub struct OAuth2TokenSourceBuilder {
    token_url: String,
    client_id: String,
    client_secret: Option<ClientSecret>,
    client_auth: ClientAuth,
    grant: Grant,
    scope: Option<String>,
    params: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    encoding: Encoding,
    field_names: FieldNames,
    unknown_lifetime: Duration,
    timeout: Duration,
    api_origins: Vec<String>,
    rejected_statuses: Vec<StatusCode>,
    http: Option<reqwest::Client>,
    pub(crate) assertion: crate::client_auth::ClientAssertionConfig,
    pub(crate) issuer: Option<String>,
}

impl OAuth2TokenSourceBuilder {
    pub(crate) fn new(token_url: String) -> Self {
        Self {
            token_url,
            client_id: String::new(),
            client_secret: None,
            client_auth: ClientAuth::default(),
            grant: Grant::ClientCredentials,
            scope: None,
            params: Vec::new(),
            headers: Vec::new(),
            encoding: Encoding::default(),
            field_names: FieldNames::default(),
            unknown_lifetime: DEFAULT_UNKNOWN_LIFETIME,
            timeout: DEFAULT_TIMEOUT,
            api_origins: Vec::new(),
            rejected_statuses: vec![StatusCode::UNAUTHORIZED],
            http: None,
            assertion: Default::default(),
            issuer: None,
        }
    }

    /// Replaces the token endpoint's URL.
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = url.into();
        self
    }

    /// The client identifier.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = id.into();
        self
    }

    /// The client secret.
    pub fn client_secret(mut self, secret: impl Into<ClientSecret>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// How the client authenticates: HTTP Basic (default) or in the request body.
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.client_auth = auth;
        self
    }

    /// The primary grant (default: client_credentials).
    pub fn grant(mut self, grant: Grant) -> Self {
        self.grant = grant;
        self
    }

    /// The `scope` parameter (space-separated scopes).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// An extra request parameter, such as `audience` or `resource`.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// An extra header on every token request (checked when the source is built).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Form (default) or JSON encoding.
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// snake_case (default) or camelCase parameter names.
    pub fn field_names(mut self, names: FieldNames) -> Self {
        self.field_names = names;
        self
    }

    /// The lifetime assumed when an answer gives no expiry and the token is not a JWT
    /// (default [`DEFAULT_UNKNOWN_LIFETIME`]).
    pub fn unknown_lifetime(mut self, lifetime: Duration) -> Self {
        self.unknown_lifetime = lifetime;
        self
    }

    /// The timeout of each token request when the source builds its own client
    /// (default 30 s). Ignored with [`http_client`](Self::http_client).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The HTTP client for token requests. By default the source builds one that does not
    /// follow redirects, so credentials are never posted to a host you did not name.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// The origin (`https://api.example.com`) of the API the tokens are for; the middleware
    /// sends tokens there by default. Repeat for several.
    pub fn api_origin(mut self, origin: impl Into<String>) -> Self {
        self.api_origins.push(origin.into());
        self
    }

    /// Also treats API answers with this status as "token rejected" (the default is 401
    /// alone), for providers whose API answers a bad token differently.
    pub fn token_rejected_on(mut self, status: StatusCode) -> Self {
        self.rejected_statuses.push(status);
        self
    }

    /// The API origin: the token URL's origin, unless [`api_origin`](Self::api_origin) was set.
    pub fn api_origin_from_token_url(mut self) -> Self {
        if self.api_origins.is_empty() {
            if let Ok(url) = reqwest::Url::parse(&self.token_url) {
                self.api_origins.push(url.origin().ascii_serialization());
            }
        }
        self
    }

    /// Fails with [`Error::Config`] naming `provider` unless a client id and a client secret
    /// were given.
    pub fn require_client_credentials(self, provider: &str) -> Result<Self, Error> {
        if self.client_id.is_empty() || self.client_secret.is_none() {
            return Err(Error::Config(format!("{provider} needs a client id and a client secret").into()));
        }
        Ok(self)
    }

    /// Checks the configuration and builds the source. Does no I/O.
    pub fn build(self) -> Result<OAuth2TokenSource, Error> {
        let token_url = parse_endpoint(&self.token_url)?;
        if self.client_id.is_empty() && self.client_auth == ClientAuth::ClientSecretBasic {
            return Err(Error::Config("a client id is required for HTTP Basic client authentication".into()));
        }
        if let Grant::Password { username, .. } = &self.grant {
            if username.is_empty() {
                return Err(Error::Config("the password grant needs a username".into()));
            }
        }
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        for (name, value) in &self.headers {
            let name = HeaderName::try_from(name.as_str())
                .map_err(|_| Error::Config(format!("invalid header name `{name}`").into()))?;
            let value = HeaderValue::try_from(value.as_str())
                .map_err(|_| Error::Config(format!("invalid value for header `{name}`").into()))?;
            headers.insert(name, value);
        }
        let mut params = self.params;
        if let Some(scope) = self.scope {
            params.push(("scope".into(), scope));
        }
        let client_assertion = self.assertion.build(
            self.client_auth,
            &self.client_id,
            self.client_secret.as_ref(),
            self.issuer.is_some(),
            self.http.is_some(),
        )?;
        let discovery = self.issuer.as_deref().map(crate::discovery::Discovery::new).transpose()?;
        let http = TokenHttpClient::new(self.http, self.timeout);
        Ok(OAuth2TokenSource {
            token_url,
            client_id: self.client_id,
            client_secret: self.client_secret,
            client_auth: self.client_auth,
            grant: self.grant,
            params,
            headers,
            encoding: self.encoding,
            field_names: self.field_names,
            unknown_lifetime: self.unknown_lifetime,
            refresh_token: RefreshSlot::default(),
            api_origins: self.api_origins,
            rejected_statuses: self.rejected_statuses,
            http,
            client_assertion,
            discovery,
        })
    }
}

/// Parses an endpoint URL: http or https, with a host, no credentials in it.
pub fn parse_endpoint(url: &str) -> Result<reqwest::Url, Error> {
    let parsed = reqwest::Url::parse(url).map_err(|e| Error::Config(format!("invalid token URL: {e}").into()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Error::Config("the token URL must be http(s) with a host".into()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::Config("the token URL must not carry credentials".into()));
    }
    Ok(parsed)
}
