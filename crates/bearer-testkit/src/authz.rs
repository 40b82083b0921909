//! A verifying authorization server: every client-authentication method of RFC 8414
//! (secrets, signed assertions checked for real, federated assertions, mutual TLS, public
//! clients), the JWT bearer grant and token exchange against trusted issuers, discovery
//! metadata, revocation, and a GitHub Actions OIDC token service, with the protected API.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Uri};

use crate::authz_grants::{grant, oauth_error};
use crate::keys::TestKey;
use crate::request::parse_fields;
use crate::routes::{api_route, json};
use crate::state::{lock, SimState, TokenVerdict};
use crate::verify::TrustedIssuer;
use crate::{CapturedRequest, Counters};

pub(crate) const TOKEN_PATH: &str = "/oauth/token";
const REVOKE_PATH: &str = "/oauth/revoke";
const API_PATH: &str = "/api";
const ACTIONS_PATH: &str = "/_actions/idtoken";
/// The issuer of the GitHub Actions tokens the simulator mints.
pub const ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// How a registered client proves who it is.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ClientRegistration {
    /// `client_secret_basic` / `client_secret_post` with this secret.
    Secret(String),
    /// `client_secret_jwt`: an HS256 assertion keyed by this secret.
    SecretJwt(String),
    /// `private_key_jwt`: an assertion signed by this key (its public half is registered).
    PublicKey(TestKey),
    /// `private_key_jwt` with a federated assertion: a JWT from a trusted issuer with this
    /// `iss` and `sub` (Azure workload identity's federated credential).
    Federated {
        /// The `iss` of the accepted assertion.
        issuer: String,
        /// The `sub` of the accepted assertion.
        subject: String,
    },
    /// `tls_client_auth`: a certificate chained to the test CA, with this subject common name.
    TlsCertificate {
        /// The expected subject CN.
        common_name: String,
    },
    /// `self_signed_tls_client_auth`: exactly this certificate (DER).
    SelfSignedCertificate(Vec<u8>),
    /// `none`: a public client.
    Public,
}

/// The client certificate of a TLS connection (DER), when one was presented.
#[derive(Debug, Clone)]
pub(crate) struct PeerCertificate(pub(crate) Option<Vec<u8>>);

/// One token exchange the server granted, for tests to inspect.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExchangeRecord {
    /// The subject token's `sub` (or the subject access token's owner).
    pub subject: String,
    /// The actor token's `sub`, when one was sent.
    pub actor: Option<String>,
    /// Every `audience` parameter.
    pub audiences: Vec<String>,
    /// Every `resource` parameter.
    pub resources: Vec<String>,
    /// The `scope` parameter.
    pub scope: Option<String>,
}

pub(crate) struct AuthzState {
    pub(crate) sim: Arc<SimState>,
    pub(crate) origin: String,
    pub(crate) clients: HashMap<String, ClientRegistration>,
    pub(crate) trusted: Vec<TrustedIssuer>,
    pub(crate) auth_methods: Vec<String>,
    pub(crate) allowed_audiences: Vec<String>,
    pub(crate) seen_jti: Mutex<HashSet<String>>,
    pub(crate) exchanges: Mutex<Vec<ExchangeRecord>>,
    pub(crate) discovery_requests: AtomicU64,
    pub(crate) revocations: AtomicU64,
    pub(crate) issue_refresh_tokens: bool,
    pub(crate) actions: Option<(String, TestKey)>,
}

impl AuthzState {
    pub(crate) fn token_url(&self) -> String {
        format!("{}{TOKEN_PATH}", self.origin)
    }
}

/// Builds an [`AuthorizationServer`]; see [`AuthorizationServer::builder`].
#[derive(Debug, Default)]
pub struct AuthorizationServerBuilder {
    clients: HashMap<String, ClientRegistration>,
    trusted: Vec<TrustedIssuer>,
    auth_methods: Option<Vec<String>>,
    allowed_audiences: Vec<String>,
    actions: Option<(String, TestKey)>,
    ttl: Option<Duration>,
    tls: Option<crate::tls::TlsSetup>,
    openid_only: bool,
    issue_refresh_tokens: bool,
}

/// A running verifying authorization server on `127.0.0.1`.
pub struct AuthorizationServer {
    state: Arc<AuthzState>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for AuthorizationServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationServer").field("origin", &self.state.origin).finish()
    }
}

impl AuthorizationServerBuilder {
    /// Registers a client.
    pub fn client(mut self, id: &str, registration: ClientRegistration) -> Self {
        self.clients.insert(id.to_owned(), registration);
        self
    }

    /// Trusts JWTs signed by `key` with `iss` = `issuer` as JWT-bearer assertions, subject
    /// and actor tokens and federated client assertions; `audience` is an `aud` they may
    /// carry besides the token endpoint and the server's issuer.
    pub fn trust_issuer(mut self, issuer: &str, key: &TestKey, audience: &str) -> Self {
        self.trusted.push(TrustedIssuer { issuer: issuer.into(), key: key.clone(), audience: audience.into() });
        self
    }

    /// The `token_endpoint_auth_methods_supported` advertised (default: every method).
    pub fn auth_methods(mut self, methods: &[&str]) -> Self {
        self.auth_methods = Some(methods.iter().map(|m| (*m).to_owned()).collect());
        self
    }

    /// Token exchange refuses other audiences with `invalid_target` (default: any).
    pub fn allowed_audience(mut self, audience: &str) -> Self {
        self.allowed_audiences.push(audience.into());
        self
    }

    /// Serves a GitHub Actions OIDC token service at [`AuthorizationServer::actions_url`]
    /// that wants `request_token` and mints tokens with `key` (issuer [`ACTIONS_ISSUER`]).
    pub fn github_actions(mut self, request_token: &str, key: &TestKey) -> Self {
        self.actions = Some((request_token.into(), key.clone()));
        self
    }

    /// Serves over TLS with this setup (see [`TestCa::server_tls`](crate::TestCa::server_tls)).
    pub fn tls(mut self, tls: crate::tls::TlsSetup) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Serves only `/.well-known/openid-configuration`, not RFC 8414's document, as many
    /// OpenID providers do.
    pub fn openid_configuration_only(mut self) -> Self {
        self.openid_only = true;
        self
    }

    /// Answers client_credentials with a refresh token too (to exercise revocation).
    pub fn issue_refresh_tokens(mut self) -> Self {
        self.issue_refresh_tokens = true;
        self
    }

    /// The lifetime of issued access tokens (default one hour).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Binds `127.0.0.1:0` (TLS when [`tls`](Self::tls) was set) and serves in a task.
    ///
    /// # Panics
    /// If no loopback port can be bound.
    pub async fn start(self) -> AuthorizationServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let addr = listener.local_addr().expect("the bound address");
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let mut config = crate::state::Config {
            ttl: Duration::from_secs(3600),
            refresh_ttl: Duration::from_secs(86_400),
            expires_in_style: crate::ExpiresInStyle::Integer,
            rate_limit_per_minute: None,
            fault_body: None,
            refresh_token_in_answer: false,
        };
        if let Some(ttl) = self.ttl {
            config.ttl = ttl;
        }
        let all = [
            "client_secret_basic",
            "client_secret_post",
            "client_secret_jwt",
            "private_key_jwt",
            "tls_client_auth",
            "self_signed_tls_client_auth",
            "none",
        ];
        let state = Arc::new(AuthzState {
            sim: Arc::new(SimState::new(crate::Credentials::default(), config)),
            origin: format!("{scheme}://{addr}"),
            clients: self.clients,
            trusted: self.trusted,
            auth_methods: self.auth_methods.unwrap_or_else(|| all.iter().map(|m| (*m).to_owned()).collect()),
            allowed_audiences: self.allowed_audiences,
            seen_jti: Mutex::new(HashSet::new()),
            exchanges: Mutex::new(Vec::new()),
            discovery_requests: AtomicU64::new(0),
            revocations: AtomicU64::new(0),
            issue_refresh_tokens: self.issue_refresh_tokens,
            actions: self.actions,
        });
        let app = router(Arc::clone(&state), self.openid_only);
        let task = match self.tls {
            Some(tls) => tokio::spawn(crate::tls::serve(listener, tls, app)),
            None => tokio::spawn(async move {
                let app = app.layer(Extension(PeerCertificate(None)));
                let _ = axum::serve(listener, app).await;
            }),
        };
        AuthorizationServer { state, task }
    }
}

fn router(state: Arc<AuthzState>, openid_only: bool) -> Router {
    let api = Router::new().route(API_PATH, api_route(StatusCode::OK, reject)).with_state(Arc::clone(&state.sim));
    let mut router = Router::new();
    if !openid_only {
        router = router.route("/.well-known/oauth-authorization-server", get(metadata));
    }
    router
        .route(TOKEN_PATH, post(token))
        .route(REVOKE_PATH, post(revoke))
        .route("/.well-known/openid-configuration", get(metadata))
        .route(ACTIONS_PATH, get(actions_token))
        .with_state(state)
        .merge(api)
}

fn reject(_: TokenVerdict) -> Response {
    oauth_error(StatusCode::UNAUTHORIZED, "invalid_token", "the access token is not valid")
}

async fn token(
    State(st): State<Arc<AuthzState>>,
    Extension(peer): Extension<PeerCertificate>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(fault) = st.sim.intercept(&method, &uri, &headers, &body).await {
        return fault;
    }
    let Some((_, fields)) = parse_fields(&headers, &body) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "the body must be form-encoded");
    };
    grant(&st, &headers, &fields, &body, &peer)
}

async fn revoke(
    State(st): State<Arc<AuthzState>>,
    Extension(peer): Extension<PeerCertificate>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = parse_fields(&headers, &body).map(|(_, f)| f).unwrap_or_default();
    crate::authz_grants::revoke(&st, &headers, &fields, &peer)
}

async fn metadata(State(st): State<Arc<AuthzState>>) -> Response {
    st.discovery_requests.fetch_add(1, Ordering::SeqCst);
    json(
        StatusCode::OK,
        serde_json::json!({
            "issuer": st.origin,
            "token_endpoint": st.token_url(),
            "revocation_endpoint": format!("{}{REVOKE_PATH}", st.origin),
            "token_endpoint_auth_methods_supported": st.auth_methods,
            "grant_types_supported": ["client_credentials", "refresh_token", "urn:ietf:params:oauth:grant-type:jwt-bearer", "urn:ietf:params:oauth:grant-type:token-exchange"],
        }),
    )
}

async fn actions_token(State(st): State<Arc<AuthzState>>, headers: HeaderMap, uri: Uri) -> Response {
    let Some((request_token, key)) = &st.actions else {
        return oauth_error(StatusCode::NOT_FOUND, "not_found", "no GitHub Actions token service");
    };
    let presented = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if presented.and_then(|v| v.strip_prefix("Bearer ")) != Some(request_token.as_str()) {
        return oauth_error(StatusCode::UNAUTHORIZED, "unauthorized", "bad request token");
    }
    let query = uri.query().unwrap_or("").as_bytes();
    let audience = url::form_urlencoded::parse(query)
        .find(|(k, _)| k == "audience")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| "https://github.com/octo-org".into());
    let token = key.mint(ACTIONS_ISSUER, "repo:octo-org/app:ref:refs/heads/main", &audience, Duration::from_secs(300));
    json(StatusCode::OK, serde_json::json!({ "count": 1, "value": token }))
}

impl AuthorizationServer {
    /// Starts a builder.
    pub fn builder() -> AuthorizationServerBuilder {
        AuthorizationServerBuilder::default()
    }

    /// `http(s)://127.0.0.1:<port>`: also the issuer identifier.
    pub fn issuer(&self) -> String {
        self.state.origin.clone()
    }

    /// The token endpoint.
    pub fn token_url(&self) -> String {
        self.state.token_url()
    }

    /// The protected API.
    pub fn api_url(&self) -> String {
        format!("{}{API_PATH}", self.state.origin)
    }

    /// The revocation endpoint.
    pub fn revocation_url(&self) -> String {
        format!("{}{REVOKE_PATH}", self.state.origin)
    }

    /// The GitHub Actions OIDC token service (`ACTIONS_ID_TOKEN_REQUEST_URL`).
    pub fn actions_url(&self) -> String {
        format!("{}{ACTIONS_PATH}?api-version=2.0", self.state.origin)
    }

    /// Request counters.
    pub fn counters(&self) -> Counters {
        self.state.sim.counters.snapshot()
    }

    /// How many times the metadata was asked for.
    pub fn discovery_requests(&self) -> u64 {
        self.state.discovery_requests.load(Ordering::SeqCst)
    }

    /// Every token request received.
    pub fn captured(&self) -> Vec<CapturedRequest> {
        lock(&self.state.sim.captured).clone()
    }

    /// How many tokens were revoked (by an authenticated client).
    pub fn revocations(&self) -> u64 {
        self.state.revocations.load(Ordering::SeqCst)
    }

    /// Every token exchange granted.
    pub fn exchanges(&self) -> Vec<ExchangeRecord> {
        lock(&self.state.exchanges).clone()
    }

    /// Every access token issued.
    pub fn issued_tokens(&self) -> Vec<String> {
        lock(&self.state.sim.issued).ever.clone()
    }
}

impl Drop for AuthorizationServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
