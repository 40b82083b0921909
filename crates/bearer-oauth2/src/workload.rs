//! Workload identity: the tokens a platform hands a workload (a Kubernetes projected
//! service-account token, the GitHub Actions OIDC token, any token in a file), as
//! [`TokenSource`]s to exchange, to present as a JWT-bearer assertion, or to use as a
//! federated client assertion.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bearer_core::{AccessToken, ClientSecret, Error, Token, TokenSource};
use http::header::{ACCEPT, AUTHORIZATION};
use http::HeaderValue;

use crate::builder::check_endpoint;
use crate::error_body::rejection_from_response;
use crate::exchange::{read_capped_body, transport_error, MAX_BODY_BYTES};
use crate::http_client::TokenHttpClient;
use crate::provider_kit::{process_env, EnvLookup};
use crate::{DEFAULT_TIMEOUT, DEFAULT_UNKNOWN_LIFETIME};

/// Where the kubelet projects a pod's service-account token.
pub const KUBERNETES_TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// A token from a value: the lifetime is the JWT's `exp` when it has one, else
/// [`DEFAULT_UNKNOWN_LIFETIME`].
pub(crate) fn token_from_value(value: String) -> Result<Token, Error> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::Malformed("the external token is empty".into()));
    }
    let lifetime = crate::jwt::remaining_lifetime(value).unwrap_or(DEFAULT_UNKNOWN_LIFETIME);
    Token::builder(AccessToken::new(value)).expires_in(lifetime).build()
}

/// A token kept in a file, re-read at every fetch: when the kubelet (or a sidecar, or
/// Vault agent) rotates the file, the next fetch sees the new token.
#[derive(Debug, Clone)]
pub struct FileTokenSource {
    path: PathBuf,
}

impl FileTokenSource {
    /// The token in the file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The pod's projected service-account token at [`KUBERNETES_TOKEN_PATH`].
    pub fn kubernetes() -> Self {
        Self::new(KUBERNETES_TOKEN_PATH)
    }

    /// The file named by the environment variable `variable`, as with Azure workload
    /// identity's `AZURE_FEDERATED_TOKEN_FILE`.
    pub fn from_env(variable: &str) -> Result<Self, Error> {
        let path = EnvLookup::new(&process_env).required(variable)?;
        Ok(Self::new(path))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait::async_trait]
impl TokenSource for FileTokenSource {
    async fn fetch(&self) -> Result<Token, Error> {
        let value = tokio::fs::read_to_string(&self.path).await.map_err(|e| {
            Error::Config(format!("cannot read the token file {}: {}", self.path.display(), e.kind()).into())
        })?;
        token_from_value(value)
    }
}

/// The OIDC token of a GitHub Actions job (a job with `permissions: id-token: write`),
/// requested from the runner's `ACTIONS_ID_TOKEN_REQUEST_URL` with its
/// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, for an audience.
///
/// ```
/// use bearer_oauth2::GitHubActionsOidc;
///
/// let source = GitHubActionsOidc::new("https://runner.example/idtoken?api-version=2.0", "request-token")?
///     .audience("api://AzureADTokenExchange");
/// # Ok::<(), bearer_core::Error>(())
/// ```
#[derive(Debug)]
pub struct GitHubActionsOidc {
    request_url: reqwest::Url,
    request_token: ClientSecret,
    audience: Option<String>,
    allow_http_loopback: bool,
    http: TokenHttpClient,
}

impl GitHubActionsOidc {
    /// The token service at `request_url` (https; loopback http only after
    /// [`allow_http_loopback`](Self::allow_http_loopback)), authenticated by `request_token`.
    pub fn new(request_url: &str, request_token: impl Into<ClientSecret>) -> Result<Self, Error> {
        let request_url = check_endpoint(request_url, "ACTIONS_ID_TOKEN_REQUEST_URL", true)?;
        Ok(Self {
            request_url,
            request_token: request_token.into(),
            audience: None,
            allow_http_loopback: false,
            http: TokenHttpClient::new(None, DEFAULT_TIMEOUT),
        })
    }

    /// Allows a plain-http request URL on a loopback address (a local simulator).
    pub fn allow_http_loopback(mut self) -> Self {
        self.allow_http_loopback = true;
        self
    }

    /// From `ACTIONS_ID_TOKEN_REQUEST_URL` and `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, which the
    /// runner sets for jobs allowed to request one.
    pub fn from_env() -> Result<Self, Error> {
        let env = EnvLookup::new(&process_env);
        let url = env.required("ACTIONS_ID_TOKEN_REQUEST_URL")?;
        let token = env.required("ACTIONS_ID_TOKEN_REQUEST_TOKEN")?;
        Self::new(&url, token)
    }

    /// The `aud` claim to ask for (default: the repository owner's URL, GitHub's choice).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// The HTTP client to use (default: one without redirects, 30 s timeout).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = TokenHttpClient::new(Some(client), Duration::ZERO);
        self
    }
}

#[async_trait::async_trait]
impl TokenSource for GitHubActionsOidc {
    async fn fetch(&self) -> Result<Token, Error> {
        if self.request_url.scheme() == "http" && !self.allow_http_loopback {
            return Err(Error::Config(
                "ACTIONS_ID_TOKEN_REQUEST_URL is plain http: use https, or allow_http_loopback() for a local server"
                    .into(),
            ));
        }
        let mut url = self.request_url.clone();
        if let Some(audience) = &self.audience {
            url.query_pairs_mut().append_pair("audience", audience);
        }
        let mut authorization = HeaderValue::try_from(format!("Bearer {}", self.request_token.secret()))
            .map_err(|_| Error::Config("ACTIONS_ID_TOKEN_REQUEST_TOKEN is not a valid header value".into()))?;
        authorization.set_sensitive(true);
        let request = self.http.get()?.get(url).header(AUTHORIZATION, authorization).header(ACCEPT, "application/json");
        let response = request.send().await.map_err(transport_error)?;
        let (status, headers) = (response.status(), response.headers().clone());
        let body = read_capped_body(response, MAX_BODY_BYTES).await?;
        if !status.is_success() {
            return Err(rejection_from_response(status, &headers, &body, &[self.request_token.secret()]).into());
        }
        let value = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("value").and_then(serde_json::Value::as_str).map(str::to_owned))
            .ok_or_else(|| Error::Malformed("the GitHub Actions OIDC answer has no string `value`".into()))?;
        token_from_value(value)
    }
}
