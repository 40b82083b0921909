//! Starting a simulator, and what tests ask of a running one.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::any;
use axum::Router;
use tokio::task::JoinHandle;

use crate::state::{lock, Config, SimState};
use crate::{CapturedRequest, Counters, Credentials, ExpiresInStyle, Fault};

/// Which token contract a simulator speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    OAuth2,
    Zuora,
    Criteo,
    Akeneo,
    Zenkipay,
    IxApi,
}

impl Flavor {
    fn token_path(self) -> &'static str {
        match self {
            Flavor::OAuth2 => crate::generic::TOKEN_PATH,
            Flavor::Zuora => crate::zuora::TOKEN_PATH,
            Flavor::Criteo => crate::criteo::TOKEN_PATH,
            Flavor::Akeneo => crate::akeneo::TOKEN_PATH,
            Flavor::Zenkipay => crate::zenkipay::TOKEN_PATH,
            Flavor::IxApi => crate::ixapi::TOKEN_PATH,
        }
    }

    fn api_path(self) -> &'static str {
        match self {
            Flavor::OAuth2 => crate::generic::API_PATH,
            Flavor::Zuora => crate::zuora::API_PATH,
            Flavor::Criteo => crate::criteo::API_PATH,
            Flavor::Akeneo => crate::akeneo::API_PATH,
            Flavor::Zenkipay => crate::zenkipay::API_PATH,
            Flavor::IxApi => crate::ixapi::API_PATH,
        }
    }

    /// The part of every path that stands for the provider's base URL (IX-API's `/api/v2`).
    fn base_path(self) -> &'static str {
        match self {
            Flavor::IxApi => crate::ixapi::BASE_PATH,
            _ => "",
        }
    }

    fn router(self, state: Arc<SimState>) -> Router {
        let router = match self {
            Flavor::OAuth2 => crate::generic::router(state),
            Flavor::Zuora => crate::zuora::router(state),
            Flavor::Criteo => crate::criteo::router(state),
            Flavor::Akeneo => crate::akeneo::router(state),
            Flavor::Zenkipay => crate::zenkipay::router(state),
            Flavor::IxApi => crate::ixapi::router(state),
        };
        router.route("/redirect", any(crate::routes::redirect))
    }
}

/// A running simulator. Dropping it stops the server.
pub struct Simulator {
    addr: SocketAddr,
    flavor: Flavor,
    state: Arc<SimState>,
    task: JoinHandle<()>,
}

/// Configures a simulator before it starts.
#[derive(Debug, Clone)]
pub struct SimulatorBuilder {
    flavor: Flavor,
    credentials: Credentials,
    config: Config,
}

impl Simulator {
    /// A generic RFC 6749 token endpoint at `/oauth/token` (client_credentials, password and
    /// rotating refresh_token grants; form or JSON; Basic or body client authentication)
    /// protecting `/api`, which answers a bad token with 401 and
    /// `WWW-Authenticate: Bearer error="invalid_token"`; an RFC 7009 revocation endpoint at
    /// `/oauth/revoke`. HTTP Basic credentials are form-urlencoded inside (RFC 6749 §2.3.1).
    pub fn oauth2() -> SimulatorBuilder {
        SimulatorBuilder::new(Flavor::OAuth2, Duration::from_secs(3600))
    }

    /// Zuora: form-encoded client_credentials at `/oauth/token` with the client in the body
    /// and no `Authorization`/`apiAccessKeyId`/`apiSecretAccessKey` header, exactly the three
    /// fields, `Accept: application/json`; `expires_in` as a float; `Zuora-Track-Id` validated
    /// and echoed; a per-minute rate limit answered with the seed's 429 headers only (see [`SimulatorBuilder::rate_limit_per_minute`]);
    /// `/v1/accounts/{key}` answers a bad token with 401 and Zuora's `WWW-Authenticate`.
    pub fn zuora() -> SimulatorBuilder {
        SimulatorBuilder::new(Flavor::Zuora, Duration::from_secs(3600)).expires_in_style(ExpiresInStyle::Float)
    }

    /// Criteo: form-encoded client_credentials at `/oauth2/token`, JWT access tokens valid
    /// 15 minutes, `{error, error_description}` errors; the API answers 401.
    pub fn criteo() -> SimulatorBuilder {
        SimulatorBuilder::new(Flavor::Criteo, Duration::from_secs(900))
    }

    /// Akeneo PIM: `/api/oauth/v1/token` with HTTP Basic client auth, JSON or form, password
    /// then rotating refresh_token grants, `{code, message}` errors (415, 400, 422); the API
    /// `/api/rest/v1/products` answers 401 `{code, message}`.
    pub fn akeneo() -> SimulatorBuilder {
        SimulatorBuilder::new(Flavor::Akeneo, Duration::from_secs(3600))
    }

    /// Zenkipay: camelCase JSON at `/v1/oauth/tokens`, `{error, errorDescription}` errors (on
    /// injected faults too); no `Authorization` header, `Accept: application/json`;
    /// the API `/v1/pay/orders/{id}` answers a bad token with **403** "Access denied.".
    pub fn zenkipay() -> SimulatorBuilder {
        let mut builder = SimulatorBuilder::new(Flavor::Zenkipay, Duration::from_secs(1800));
        builder.config.fault_body = Some(crate::zenkipay::fault_body);
        builder
    }

    /// IX-API: base `/api/v2`; JSON `{api_key, api_secret}` at `/auth/token` and
    /// `{refresh_token}` at `/auth/refresh`, both answering **201** with a JWT pair and no
    /// `expires_in`; RFC 7807 problem errors; `/accounts` answers 401 problem+json.
    pub fn ixapi() -> SimulatorBuilder {
        SimulatorBuilder::new(Flavor::IxApi, Duration::from_secs(3600)).refresh_ttl(Duration::from_secs(24 * 3600))
    }

    /// `http://127.0.0.1:<port>` plus the provider's base path, if it has one (IX-API:
    /// `/api/v2`): what a provider source takes as its base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.addr, self.flavor.base_path())
    }

    /// `http://127.0.0.1:<port>`: the origin the middleware must allow.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token endpoint's URL.
    pub fn token_url(&self) -> String {
        format!("{}{}", self.origin(), self.flavor.token_path())
    }

    /// The generic simulator's RFC 7009 revocation endpoint (`/oauth/revoke`).
    pub fn revocation_url(&self) -> String {
        format!("{}{}", self.origin(), crate::generic::REVOCATION_PATH)
    }

    /// The protected API's URL.
    pub fn api_url(&self) -> String {
        format!("{}{}", self.origin(), self.flavor.api_path())
    }

    /// The credentials the simulator accepts.
    pub fn credentials(&self) -> &Credentials {
        &self.state.credentials
    }

    /// How many requests of each kind it has served.
    pub fn counters(&self) -> Counters {
        self.state.counters.snapshot()
    }

    /// Every token-endpoint request received so far.
    pub fn captured(&self) -> Vec<CapturedRequest> {
        lock(&self.state.captured).clone()
    }

    /// The last token-endpoint request received.
    pub fn last_request(&self) -> Option<CapturedRequest> {
        lock(&self.state.captured).last().cloned()
    }

    /// Makes the next `times` token requests fail with `fault` (after any already queued).
    pub fn fail_next(&self, times: usize, fault: Fault) {
        lock(&self.state.faults).extend(std::iter::repeat_n(fault, times));
    }

    /// Drops every queued fault: the endpoint answers normally again.
    pub fn clear_faults(&self) {
        lock(&self.state.faults).clear();
    }

    /// Every access and refresh token this simulator has issued.
    pub fn issued_tokens(&self) -> Vec<String> {
        lock(&self.state.issued).ever.clone()
    }

    /// The `Authorization` header of every API request so far, in order (`None` when absent).
    pub fn api_authorizations(&self) -> Vec<Option<String>> {
        lock(&self.state.api_authorizations).clone()
    }

    /// `{origin}/redirect?to={target}`: answers `307 Temporary Redirect` to `target`.
    pub fn redirect_url(&self, target: &str) -> String {
        format!("{}/redirect?to={}", self.origin(), target)
    }

    /// Revokes every access token issued so far: the API now refuses them.
    pub fn revoke_all(&self) {
        lock(&self.state.issued).access.clear();
    }

    /// Revokes every refresh token issued so far.
    pub fn revoke_refresh_tokens(&self) {
        lock(&self.state.issued).refresh.clear();
    }

    /// Sets the lifetime of tokens issued from now on.
    pub fn set_ttl(&self, ttl: Duration) {
        lock(&self.state.config).ttl = ttl;
    }

    /// Stops the server: later connections are refused.
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator").field("flavor", &self.flavor).field("addr", &self.addr).finish()
    }
}

impl SimulatorBuilder {
    fn new(flavor: Flavor, ttl: Duration) -> Self {
        Self {
            flavor,
            credentials: Credentials::default(),
            config: Config {
                ttl,
                refresh_ttl: Duration::from_secs(14 * 24 * 3600),
                expires_in_style: ExpiresInStyle::Integer,
                rate_limit_per_minute: None,
                fault_body: None,
                refresh_token_in_answer: false,
            },
        }
    }

    /// The lifetime of issued access tokens.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.config.ttl = ttl;
        self
    }

    /// The lifetime of issued refresh tokens.
    pub fn refresh_ttl(mut self, ttl: Duration) -> Self {
        self.config.refresh_ttl = ttl;
        self
    }

    /// How `expires_in` is written.
    pub fn expires_in_style(mut self, style: ExpiresInStyle) -> Self {
        self.config.expires_in_style = style;
        self
    }

    /// Zenkipay: also answers a `refreshToken`, as the service may; it has no refresh grant,
    /// so a client must ignore it.
    pub fn refresh_token_in_answer(mut self) -> Self {
        self.config.refresh_token_in_answer = true;
        self
    }

    /// Refuses token requests past `limit` a minute with 429 and rate-limit headers (Zuora).
    pub fn rate_limit_per_minute(mut self, limit: u32) -> Self {
        self.config.rate_limit_per_minute = Some(limit);
        self
    }

    /// The credentials accepted.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Binds `127.0.0.1:0` and serves in a task of the current runtime.
    ///
    /// # Panics
    /// If no loopback port can be bound: the tests cannot run at all then.
    pub async fn start(self) -> Simulator {
        let state = Arc::new(SimState::new(self.credentials, self.config));
        let listener =
            tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port for the simulator");
        let addr = listener.local_addr().expect("the bound address");
        let app = self.flavor.router(Arc::clone(&state));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Simulator { addr, flavor: self.flavor, state, task }
    }
}
