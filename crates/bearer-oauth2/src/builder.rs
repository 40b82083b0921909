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
    allow_http_loopback: bool,
    keep_refresh_tokens: bool,
    revocation_url: Option<String>,
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
            allow_http_loopback: false,
            keep_refresh_tokens: true,
            revocation_url: None,
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
    /// follow redirects, so credentials are never posted to a host you did not name. Build
    /// yours with `.redirect(reqwest::redirect::Policy::none())` too: an answer that came
    /// through a redirect is refused with [`Error::Config`], but the credentials have gone.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Accepts a plain `http://` token endpoint on a loopback address (`127.0.0.0/8`, `::1`,
    /// `localhost`), such as a local simulator. Without it, `build` refuses every token URL
    /// that is not https: the token call carries the client secret, the password or a
    /// refresh token. An http URL on any other host is refused even with it.
    pub fn allow_http_loopback(mut self) -> Self {
        self.allow_http_loopback = true;
        self
    }

    /// Ignores any refresh token in the answers: every renewal repeats the primary grant. For
    /// providers that hand out a refresh token but document no refresh grant (Zenkipay).
    pub fn ignore_refresh_tokens(mut self) -> Self {
        self.keep_refresh_tokens = false;
        self
    }

    /// The RFC 7009 revocation endpoint, for
    /// [`revoke_refresh_token`](OAuth2TokenSource::revoke_refresh_token). Same rules as the
    /// token URL (https, or loopback http with [`allow_http_loopback`](Self::allow_http_loopback)).
    pub fn revocation_url(mut self, url: impl Into<String>) -> Self {
        self.revocation_url = Some(url.into());
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
        let token_url = check_endpoint(&self.token_url, "token URL", self.allow_http_loopback)?;
        let revocation_url = match &self.revocation_url {
            Some(url) => Some(check_endpoint(url, "revocation URL", self.allow_http_loopback)?),
            None => None,
        };
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
        let discovery = match &self.issuer {
            Some(issuer) => Some(crate::discovery::Discovery::new(issuer, self.allow_http_loopback)?),
            None => None,
        };
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
            keep_refresh_tokens: self.keep_refresh_tokens,
            revocation_url,
            api_origins: self.api_origins,
            rejected_statuses: self.rejected_statuses,
            http,
            client_assertion,
            discovery,
        })
    }
}

/// Parses an endpoint URL that credentials will be sent to (`what` names it in errors): https
/// with a host and no credentials in it; plain http only to a loopback host (`127.0.0.0/8`,
/// `::1`, `localhost`) and only when `allow_http_loopback`.
pub fn check_endpoint(url: &str, what: &str, allow_http_loopback: bool) -> Result<reqwest::Url, Error> {
    let parsed = reqwest::Url::parse(url).map_err(|e| Error::Config(format!("invalid {what}: {e}").into()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Error::Config(format!("the {what} must be an https URL with a host").into()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::Config(format!("the {what} must not carry credentials").into()));
    }
    if parsed.scheme() == "http" {
        let fix = if !is_loopback(&parsed) {
            "use https (plain http is allowed only to a loopback test server)"
        } else if allow_http_loopback {
            return Ok(parsed);
        } else {
            "use https, or call `allow_http_loopback()` on the builder if this is a local test server"
        };
        return Err(Error::Config(
            format!("the {what} `{parsed}` is plain http, which would send credentials in clear: {fix}").into(),
        ));
    }
    Ok(parsed)
}

/// `127.0.0.0/8`, `::1` or `localhost`: the rule the middleware applies to API origins too.
fn is_loopback(url: &reqwest::Url) -> bool {
    url.host_str().is_some_and(bearer_core::is_loopback_host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_urls_must_be_https_or_allowed_loopback_http() {
        for url in ["https://auth.example.com/token", "https://127.0.0.1:8443/token"] {
            assert!(check_endpoint(url, "token URL", false).is_ok(), "{url}");
        }
        for url in ["http://127.0.0.1:4011/token", "http://[::1]:4011/token", "http://localhost/token"] {
            let refused = check_endpoint(url, "token URL", false).expect_err(url).to_string();
            assert!(refused.contains("allow_http_loopback()"), "{refused}");
            assert!(check_endpoint(url, "token URL", true).is_ok(), "{url}");
        }
        for url in ["http://pim.example.com/api/oauth/v1/token", "http://10.0.0.1/token", "http://localhost.evil.com/"]
        {
            let refused = check_endpoint(url, "token URL", true).expect_err(url).to_string();
            assert!(refused.contains("use https") && !refused.contains("allow_http_loopback"), "{refused}");
        }
        assert!(check_endpoint("ftp://example.com/token", "token URL", true).is_err());
        assert!(check_endpoint("https://user:pw@example.com/token", "token URL", true).is_err());
    }
}
