//! The generic RFC 6749 token source.

use std::sync::Mutex;
use std::time::Duration;

use bearer_core::{ClientSecret, Error, Password, RefreshToken, Token, TokenSource};
use http::header::{ACCEPT, AUTHORIZATION};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::exchange::exchange;
use crate::response::DEFAULT_UNKNOWN_LIFETIME;

/// The timeout of a token request when the source builds its own HTTP client.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How the client authenticates itself at the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// `Authorization: Basic base64(client_id:client_secret)`.
    #[default]
    Basic,
    /// `client_id` and `client_secret` as request parameters; no `Authorization` header.
    RequestBody,
}

/// How the request parameters are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// `application/x-www-form-urlencoded`, as RFC 6749 says.
    #[default]
    Form,
    /// `application/json`, which some providers accept or demand.
    Json,
}

/// How parameter names are spelled in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldNames {
    /// `client_id`, `grant_type`, … as RFC 6749 says.
    #[default]
    SnakeCase,
    /// `clientId`, `grantType`, … as some JSON APIs want.
    CamelCase,
}

/// The grant the source uses to get its first token (and every token it cannot refresh).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Grant {
    /// `grant_type=client_credentials`.
    ClientCredentials,
    /// `grant_type=password` with a resource owner's credentials.
    Password {
        /// The resource owner's user name.
        username: String,
        /// The resource owner's password.
        password: Password,
    },
    /// `grant_type=refresh_token` with a refresh token obtained elsewhere; when it is
    /// rejected there is nothing to fall back to.
    RefreshToken(RefreshToken),
}

/// A [`TokenSource`] for any RFC 6749 token endpoint.
///
/// When an answer carries a `refresh_token`, the source keeps it (replacing the previous one:
/// rotation) and uses the refresh_token grant for the next fetch; when that refresh is
/// rejected (not merely unreachable), it falls back to the primary grant once.
///
/// ```
/// use bearer_oauth2::{ClientAuth, Encoding, Grant, OAuth2TokenSource};
///
/// let source = OAuth2TokenSource::builder("https://pim.example.com/api/oauth/v1/token")
///     .client_id("client")
///     .client_secret("secret")
///     .client_auth(ClientAuth::Basic)
///     .grant(Grant::Password { username: "api-user".into(), password: "pw".into() })
///     .encoding(Encoding::Json)
///     .build()?;
/// # Ok::<(), bearer_core::Error>(())
/// ```
#[derive(Debug)]
pub struct OAuth2TokenSource {
    token_url: reqwest::Url,
    client_id: String,
    client_secret: Option<ClientSecret>,
    client_auth: ClientAuth,
    grant: Grant,
    params: Vec<(String, String)>,
    headers: HeaderMap,
    encoding: Encoding,
    field_names: FieldNames,
    unknown_lifetime: Duration,
    refresh_token: Mutex<Option<RefreshToken>>,
    api_origins: Vec<String>,
    rejected_statuses: Vec<StatusCode>,
    http: reqwest::Client,
}

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
}

impl OAuth2TokenSource {
    /// Starts a builder for the token endpoint at `token_url`. Defaults: client_credentials,
    /// HTTP Basic client authentication, form encoding, snake_case names, a 30 s timeout.
    pub fn builder(token_url: impl Into<String>) -> OAuth2TokenSourceBuilder {
        OAuth2TokenSourceBuilder {
            token_url: token_url.into(),
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
        }
    }

    /// The token endpoint.
    pub fn token_url(&self) -> &reqwest::Url {
        &self.token_url
    }

    /// The first API origin given to [`api_origin`](OAuth2TokenSourceBuilder::api_origin).
    pub fn api_origin(&self) -> Option<&str> {
        self.api_origins.first().map(String::as_str)
    }

    /// Whether the source holds a refresh token for its next fetch.
    pub fn has_refresh_token(&self) -> bool {
        self.lock_refresh().is_some()
    }

    fn lock_refresh(&self) -> std::sync::MutexGuard<'_, Option<RefreshToken>> {
        self.refresh_token.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn name(&self, snake: &'static str) -> &'static str {
        match (self.field_names, snake) {
            (FieldNames::SnakeCase, _) => snake,
            (FieldNames::CamelCase, "grant_type") => "grantType",
            (FieldNames::CamelCase, "client_id") => "clientId",
            (FieldNames::CamelCase, "client_secret") => "clientSecret",
            (FieldNames::CamelCase, "refresh_token") => "refreshToken",
            (FieldNames::CamelCase, other) => other,
        }
    }

    /// One request with the given grant parameters.
    async fn request(&self, grant: &[(&'static str, &str)]) -> Result<Token, Error> {
        let mut fields: Vec<(&str, &str)> = grant.iter().map(|(k, v)| (self.name(k), *v)).collect();
        let secret = self.client_secret.as_ref().map(ClientSecret::secret);
        let mut request = self.http.post(self.token_url.clone()).headers(self.headers.clone());
        match self.client_auth {
            ClientAuth::Basic => {
                request = request.header(AUTHORIZATION, basic_auth(&self.client_id, secret.unwrap_or("")));
            }
            ClientAuth::RequestBody => {
                fields.push((self.name("client_id"), &self.client_id));
                if let Some(secret) = secret {
                    fields.push((self.name("client_secret"), secret));
                }
            }
        }
        fields.extend(self.params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        request = match self.encoding {
            Encoding::Form => request.form(&fields),
            Encoding::Json => {
                let object: serde_json::Map<String, serde_json::Value> =
                    fields.iter().map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v))).collect();
                request
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(serde_json::Value::Object(object).to_string())
            }
        };
        let secrets = self.secrets(grant);
        let response = exchange(request, &secrets).await?;
        let (token, refresh) = response.into_token(self.unknown_lifetime)?;
        if let Some(refresh) = refresh {
            *self.lock_refresh() = Some(refresh);
        }
        Ok(token)
    }

    fn secrets<'a>(&'a self, grant: &[(&'static str, &'a str)]) -> Vec<&'a str> {
        let mut secrets: Vec<&str> =
            grant.iter().filter(|(k, _)| matches!(*k, "password" | "refresh_token")).map(|(_, v)| *v).collect();
        secrets.extend(self.client_secret.as_ref().map(ClientSecret::secret));
        secrets
    }

    async fn primary_grant(&self) -> Result<Token, Error> {
        match &self.grant {
            Grant::ClientCredentials => self.request(&[("grant_type", "client_credentials")]).await,
            Grant::Password { username, password } => {
                self.request(&[("grant_type", "password"), ("username", username), ("password", password.secret())])
                    .await
            }
            Grant::RefreshToken(refresh) => {
                self.request(&[("grant_type", "refresh_token"), ("refresh_token", refresh.secret())]).await
            }
        }
    }
}

#[async_trait::async_trait]
impl TokenSource for OAuth2TokenSource {
    async fn fetch(&self) -> Result<Token, Error> {
        let held = self.lock_refresh().clone();
        if let Some(refresh) = held {
            match self.request(&[("grant_type", "refresh_token"), ("refresh_token", refresh.secret())]).await {
                Ok(token) => return Ok(token),
                Err(error) if refresh_was_rejected(&error) => {
                    tracing::info!(%error, "refresh token rejected; falling back to the primary grant");
                    let mut slot = self.lock_refresh();
                    if slot.as_ref() == Some(&refresh) {
                        *slot = None;
                    }
                }
                Err(error) => return Err(error),
            }
        }
        self.primary_grant().await
    }

    fn is_token_rejected(&self, status: StatusCode, _headers: &HeaderMap) -> bool {
        self.rejected_statuses.contains(&status)
    }

    fn api_origins(&self) -> Vec<String> {
        self.api_origins.clone()
    }
}

/// A refresh the endpoint refused (expired, used, revoked), as opposed to one it never saw.
pub fn refresh_was_rejected(error: &Error) -> bool {
    error.rejection().is_some_and(|r| r.status.is_client_error() && !r.is_transient())
}

/// `Basic base64(id:secret)`, marked sensitive.
pub fn basic_auth(id: &str, secret: &str) -> HeaderValue {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let mut value =
        HeaderValue::try_from(format!("Basic {encoded}")).unwrap_or_else(|_| HeaderValue::from_static("Basic"));
    value.set_sensitive(true);
    value
}

impl OAuth2TokenSourceBuilder {
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
        if self.client_id.is_empty() && self.client_auth == ClientAuth::Basic {
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
        let http = match self.http {
            Some(client) => client,
            None => default_client(self.timeout)?,
        };
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
            refresh_token: Mutex::new(None),
            api_origins: self.api_origins,
            rejected_statuses: self.rejected_statuses,
            http,
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

/// The client a source uses when given none: a timeout, and no redirects.
pub fn default_client(timeout: Duration) -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::Config(format!("could not build the HTTP client: {e}").into()))
}
