//! What the end-to-end tests of this crate share.
#![allow(dead_code, unreachable_pub)]

pub mod forged_fingerprint;
pub mod redirector;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::header::AUTHORIZATION;
use http::Extensions;
use reqwest::{Request, Response};

use bearer_testkit::{CannedResponse, Simulator};
use reqwest_bearer::oauth2::{ClientAuth, OAuth2TokenSource, OAuth2TokenSourceBuilder};
use reqwest_bearer::{BearerAuthBuilder, RefreshPolicy, TokenCache, TokenSource};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};

/// The generic source for a generic simulator, with HTTP Basic client authentication.
pub fn oauth2_builder(sim: &Simulator) -> OAuth2TokenSourceBuilder {
    OAuth2TokenSource::builder(sim.token_url())
        .allow_http_loopback()
        .client_id(&sim.credentials().client_id)
        .client_secret(sim.credentials().client_secret.as_str())
        .client_auth(ClientAuth::ClientSecretBasic)
}

/// The generic source, built.
pub fn oauth2_source(sim: &Simulator) -> OAuth2TokenSource {
    oauth2_builder(sim).build().expect("valid source")
}

/// A source whose HTTP client keeps no idle connections and has no timeout, so that it
/// leaves no timers behind: safe to use on tokio's paused clock.
pub fn paused_clock_source(sim: &Simulator) -> OAuth2TokenSource {
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("client");
    oauth2_builder(sim).http_client(http).build().expect("valid source")
}

/// A client whose token goes to the simulator's own API over loopback http.
pub fn client_for<S: TokenSource + 'static>(sim: &Simulator, cache: TokenCache<S>) -> ClientWithMiddleware {
    let auth = BearerAuthBuilder::from_cache(cache)
        .allow_origin(sim.origin())
        .allow_http_loopback()
        .build()
        .expect("valid middleware");
    ClientBuilder::new(reqwest::Client::new()).with(auth).build()
}

/// A client whose token (the generic source's) goes to any https origin and to loopback over
/// plain http, so that a URL with user info may carry it (a named origin never matches one).
pub fn client_for_any_origin(sim: &Simulator) -> ClientWithMiddleware {
    let auth = reqwest_bearer::BearerAuth::builder(oauth2_source(sim))
        .allow_any_https_origin()
        .allow_http_loopback()
        .build()
        .expect("valid middleware");
    ClientBuilder::new(reqwest::Client::new()).with(auth).build()
}

/// A GET to `url` with user info `user[:password]` in the URL, as built (a `RequestBuilder`
/// would move it to an `Authorization` header).
pub fn get_with_user_info(url: &str, password: Option<&str>) -> Request {
    let mut url = reqwest::Url::parse(url).expect("url");
    url.set_username("user").and_then(|()| url.set_password(password)).expect("user info");
    Request::new(reqwest::Method::GET, url)
}

/// The API every canned client is asked for; its last middleware answers without a network.
pub const CANNED_API: &str = "https://api.example.com/v1/things";

/// A client whose requests never leave the process: `BearerAuth`, then a canned 200.
pub fn canned_client<S: TokenSource + 'static>(cache: TokenCache<S>) -> ClientWithMiddleware {
    let auth =
        BearerAuthBuilder::from_cache(cache).allow_origin("https://api.example.com").build().expect("middleware");
    ClientBuilder::new(reqwest::Client::new()).with(auth).with(CannedResponse).build()
}

/// The default policy without jitter, so counts on the paused clock are exact.
pub fn deterministic() -> RefreshPolicy {
    RefreshPolicy::default().with_jitter(0.0)
}

/// A policy that retries at once after a failure, whatever the endpoint's `Retry-After`.
pub fn no_backoff() -> RefreshPolicy {
    RefreshPolicy::default().with_backoff(Duration::ZERO, Duration::ZERO).with_max_retry_after(Duration::ZERO)
}

/// The last middleware of a chain: records the `Authorization` each request would have been
/// sent with and answers 200, so requests to hosts outside loopback never leave the process.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Option<String>>>>);

impl Recorder {
    /// The `Authorization` of every request so far, in order.
    pub fn seen(&self) -> Vec<Option<String>> {
        self.0.lock().expect("lock").clone()
    }
}

#[async_trait::async_trait]
impl Middleware for Recorder {
    async fn handle(&self, request: Request, _: &mut Extensions, _: Next<'_>) -> reqwest_middleware::Result<Response> {
        let auth = request.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
        self.0.lock().expect("lock").push(auth);
        Ok(Response::from(http::Response::new("")))
    }
}
