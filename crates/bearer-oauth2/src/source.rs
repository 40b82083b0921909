//! The generic RFC 6749 token source.

use std::time::Duration;

use bearer_core::{ClientSecret, Error, Password, RefreshToken, Token, TokenSource};
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::builder::OAuth2TokenSourceBuilder;
use crate::exchange::exchange;
use crate::http_client::TokenHttpClient;
use crate::refresh_slot::RefreshSlot;

/// The timeout of a token request when the source builds its own HTTP client.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How the client authenticates itself at the token endpoint (RFC 6749 §2.3.1), named as in
/// RFC 8414's `token_endpoint_auth_methods_supported`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// `client_secret_basic`: `Authorization: Basic base64(client_id:client_secret)`.
    #[default]
    ClientSecretBasic,
    /// `client_secret_post`: `client_id` and `client_secret` as request parameters; no
    /// `Authorization` header.
    ClientSecretPost,
    /// `client_secret_jwt`: an HS256 assertion keyed by the client secret, which must be at
    /// least 32 bytes (RFC 7523 §2.2, RFC 7518 §3.2; feature `jwt-auth`).
    ClientSecretJwt,
    /// `private_key_jwt`: an assertion signed with the client's private key
    /// ([`signing_key`](crate::OAuth2TokenSourceBuilder::signing_key), feature `jwt-auth`)
    /// or a federated one ([`client_assertion`](crate::OAuth2TokenSourceBuilder::client_assertion)).
    PrivateKeyJwt,
    /// `tls_client_auth`: a CA-issued client certificate (RFC 8705 §2.1) and `client_id`.
    TlsClientAuth,
    /// `self_signed_tls_client_auth`: a registered self-signed certificate (RFC 8705 §2.2).
    SelfSignedTlsClientAuth,
    /// `none`: a public client, identified by `client_id` alone.
    None,
}

/// How the request parameters are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// `application/x-www-form-urlencoded`, as RFC 6749 says.
    #[default]
    Form,
    /// `application/json`, which some providers accept or demand; a repeated parameter
    /// (token exchange's `audience`, `resource`) becomes an array.
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
    /// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523 §2.1) with an
    /// assertion read at each fetch.
    JwtBearer {
        /// Where the assertion comes from.
        assertion: crate::ExternalToken,
    },
    /// `grant_type=urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693).
    TokenExchange(crate::TokenExchange),
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
///     .client_auth(ClientAuth::ClientSecretBasic)
///     .grant(Grant::Password { username: "api-user".into(), password: "pw".into() })
///     .encoding(Encoding::Json)
///     .build()?;
/// # Ok::<(), bearer_core::Error>(())
/// ```
#[derive(Debug)]
pub struct OAuth2TokenSource {
    pub(crate) token_url: reqwest::Url,
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<ClientSecret>,
    pub(crate) client_auth: ClientAuth,
    pub(crate) grant: Grant,
    pub(crate) params: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) encoding: Encoding,
    pub(crate) field_names: FieldNames,
    pub(crate) unknown_lifetime: Duration,
    pub(crate) refresh_token: RefreshSlot,
    pub(crate) keep_refresh_tokens: bool,
    pub(crate) revocation_url: Option<reqwest::Url>,
    pub(crate) api_origins: Vec<String>,
    pub(crate) rejected_statuses: Vec<StatusCode>,
    pub(crate) http: TokenHttpClient,
    pub(crate) client_assertion: Option<crate::client_auth::ClientAssertion>,
    pub(crate) discovery: Option<crate::discovery::Discovery>,
}

impl OAuth2TokenSource {
    /// Starts a builder for the token endpoint at `token_url`. Defaults: client_credentials,
    /// HTTP Basic client authentication, form encoding, snake_case names, a 30 s timeout.
    pub fn builder(token_url: impl Into<String>) -> OAuth2TokenSourceBuilder {
        OAuth2TokenSourceBuilder::new(token_url.into())
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
        self.refresh_token.is_set()
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

    /// A POST to `url` with `fields`, the client authenticated as configured (with
    /// `assertion` for the assertion methods), encoded as `encoding`.
    pub(crate) fn post<'a>(
        &'a self,
        url: &reqwest::Url,
        mut fields: Vec<(&'a str, &'a str)>,
        encoding: Encoding,
        assertion: Option<&'a str>,
    ) -> Result<reqwest::RequestBuilder, Error> {
        let secret = self.client_secret.as_ref().map(ClientSecret::secret);
        let mut request = self.http.get()?.post(url.clone()).headers(self.headers.clone());
        match self.client_auth {
            ClientAuth::ClientSecretBasic => {
                request = request.header(AUTHORIZATION, basic_auth(&self.client_id, secret.unwrap_or("")));
            }
            ClientAuth::ClientSecretPost => {
                fields.push((self.name("client_id"), &self.client_id));
                if let Some(secret) = secret {
                    fields.push((self.name("client_secret"), secret));
                }
            }
            ClientAuth::ClientSecretJwt | ClientAuth::PrivateKeyJwt => {
                fields.push((self.name("client_id"), &self.client_id));
                fields.extend(assertion.map(crate::client_auth::assertion_fields).into_iter().flatten());
            }
            ClientAuth::TlsClientAuth | ClientAuth::SelfSignedTlsClientAuth | ClientAuth::None => {
                fields.push((self.name("client_id"), &self.client_id));
            }
        }
        Ok(match encoding {
            Encoding::Form => request.form(&fields),
            Encoding::Json => {
                // JSON has no repeated keys: a parameter given several times (RFC 8693's
                // `audience` and `resource`) becomes an array instead of keeping the last.
                let mut object = serde_json::Map::new();
                for (name, value) in &fields {
                    match object.get_mut(*name) {
                        Some(existing) => {
                            let mut values = match existing.take() {
                                serde_json::Value::Array(values) => values,
                                single => vec![single],
                            };
                            values.push((*value).into());
                            *existing = serde_json::Value::Array(values);
                        }
                        None => {
                            object.insert((*name).to_owned(), (*value).into());
                        }
                    }
                }
                request
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(serde_json::Value::Object(object).to_string())
            }
        })
    }

    /// One request with the given grant parameters.
    pub(crate) async fn request(&self, grant: &[(&'static str, &str)]) -> Result<Token, Error> {
        let mut fields: Vec<(&str, &str)> = grant.iter().map(|(k, v)| (self.name(k), *v)).collect();
        fields.extend(self.params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let token_url = self.resolved_token_url().await?;
        let assertion = self.client_assertion(&token_url).await?;
        let request = self.post(&token_url, fields, self.encoding, assertion.as_deref().map(String::as_str))?;
        let mut secrets = self.secrets(grant);
        secrets.extend(assertion.as_deref().map(String::as_str));
        let response = exchange(request, &secrets).await?;
        self.check_issued_token_type(&response)?;
        let (token, refresh) = response.into_token(self.unknown_lifetime)?;
        if let Some(refresh) = refresh.filter(|_| self.keep_refresh_tokens) {
            self.refresh_token.set(Some(refresh));
        }
        Ok(token)
    }

    pub(crate) fn secrets<'a>(&'a self, grant: &[(&'static str, &'a str)]) -> Vec<&'a str> {
        let mut secrets: Vec<&str> = grant
            .iter()
            .filter(|(k, _)| matches!(*k, "password" | "refresh_token" | "assertion" | "subject_token" | "actor_token"))
            .map(|(_, v)| *v)
            .collect();
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
            Grant::JwtBearer { assertion } => self.jwt_bearer_grant(assertion).await,
            Grant::TokenExchange(exchange) => self.token_exchange_grant(exchange).await,
        }
    }
}

#[async_trait::async_trait]
impl TokenSource for OAuth2TokenSource {
    async fn fetch(&self) -> Result<Token, Error> {
        self.refresh_token
            .refresh_or_grant(
                |refresh| async move {
                    self.request(&[("grant_type", "refresh_token"), ("refresh_token", refresh.secret())]).await
                },
                || self.primary_grant(),
            )
            .await
    }

    fn is_token_rejected(&self, status: StatusCode, _headers: &HeaderMap) -> bool {
        self.rejected_statuses.contains(&status)
    }

    fn api_origins(&self) -> Vec<String> {
        self.api_origins.clone()
    }

    fn held_refresh_token(&self) -> Option<RefreshToken> {
        self.refresh_token.get()
    }
}

/// `Basic base64(urlencode(id):urlencode(secret))`, marked sensitive. RFC 6749 §2.3.1 has the
/// id and secret form-urlencoded before they are joined, so a `:` in the id cannot move the
/// split and non-ASCII characters travel as UTF-8.
pub fn basic_auth(id: &str, secret: &str) -> HeaderValue {
    use base64::Engine as _;
    let encode = |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", encode(id), encode(secret)));
    let mut value =
        HeaderValue::try_from(format!("Basic {encoded}")).unwrap_or_else(|_| HeaderValue::from_static("Basic"));
    value.set_sensitive(true);
    value
}
