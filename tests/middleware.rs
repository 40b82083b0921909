//! End-to-end behaviour of `BearerAuth` against the generic simulator.

mod support;

use bearer_testkit::Simulator;
use http::header::AUTHORIZATION;
use http::{Extensions, StatusCode};
use reqwest::{Request, Response};
use reqwest_bearer::{BearerAuth, BearerErrorExt, SkipAuth, TokenCache};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};
use support::oauth2_source as source;

/// The generic source behind `BearerAuth`, sending its token to the simulator's own API.
fn client(sim: &Simulator) -> ClientWithMiddleware {
    support::client_for(sim, TokenCache::new(source(sim)))
}

#[tokio::test]
async fn injects_the_bearer_header() {
    let sim = Simulator::oauth2().start().await;
    let response = client(&sim).get(sim.api_url()).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let counters = sim.counters();
    assert_eq!((counters.token_requests, counters.api_requests, counters.api_rejections), (1, 1, 0));
}

#[tokio::test]
async fn fifty_requests_one_token_fetch() {
    let sim = Simulator::oauth2().start().await;
    let client = client(&sim);
    for _ in 0..50 {
        assert_eq!(client.get(sim.api_url()).send().await.expect("request").status(), StatusCode::OK);
    }
    assert_eq!(sim.counters().token_requests, 1);
    assert_eq!(sim.counters().api_requests, 50);
}

#[tokio::test]
async fn revocation_triggers_one_refresh_and_a_successful_retry() {
    let sim = Simulator::oauth2().start().await;
    let client = client(&sim);
    assert_eq!(client.get(sim.api_url()).send().await.expect("request").status(), StatusCode::OK);
    sim.revoke_all();
    let response = client.get(sim.api_url()).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK, "the retry succeeded");
    let counters = sim.counters();
    assert_eq!(counters.token_requests, 2, "exactly one refresh");
    assert_eq!((counters.api_requests, counters.api_rejections), (3, 1));
}

#[tokio::test]
async fn post_body_is_replayed_on_retry() {
    let sim = Simulator::oauth2().start().await;
    let client = client(&sim);
    client.get(sim.api_url()).send().await.expect("warm up");
    sim.revoke_all();
    let response = client.post(sim.api_url()).body("the payload").send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.expect("body"), "the payload");
    assert_eq!(sim.counters().api_rejections, 1);
}

#[tokio::test]
async fn streaming_body_is_not_retried() {
    let sim = Simulator::oauth2().start().await;
    let client = client(&sim);
    client.get(sim.api_url()).send().await.expect("warm up");
    sim.revoke_all();
    let chunks: Vec<Result<&'static str, std::io::Error>> = vec![Ok("streamed "), Ok("body")];
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let response = client.post(sim.api_url()).body(body).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "the caller gets the rejection");
    assert_eq!(sim.counters().api_requests, 2, "no retry was sent");
    // The rejected token was dropped: the next request fetches a new one and succeeds.
    assert_eq!(client.get(sim.api_url()).send().await.expect("request").status(), StatusCode::OK);
    assert_eq!(sim.counters().token_requests, 2);
}

#[tokio::test]
async fn explicit_authorization_is_left_alone() {
    let sim = Simulator::oauth2().start().await;
    let response =
        client(&sim).get(sim.api_url()).header(AUTHORIZATION, "Bearer caller-chosen").send().await.expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "the caller's header went out and was refused");
    let counters = sim.counters();
    assert_eq!((counters.token_requests, counters.api_requests), (0, 1), "no fetch, no retry");
}

#[tokio::test]
async fn skip_auth_extension_sends_no_token() {
    let sim = Simulator::oauth2().start().await;
    let response = client(&sim).get(sim.api_url()).with_extension(SkipAuth).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sim.counters().token_requests, 0);
}

#[tokio::test]
async fn host_that_is_not_allowed_gets_no_token() {
    let sim = Simulator::oauth2().start().await;
    // Same server, but reached as `localhost`: a different origin from the allowed 127.0.0.1.
    let auth = BearerAuth::builder(source(&sim))
        .allow_origin(sim.base_url())
        .allow_http_loopback()
        .build()
        .expect("valid middleware");
    let client = ClientBuilder::new(reqwest::Client::new()).with(auth).build();
    let other = format!("http://localhost:{}/api", sim.addr().port());
    let response = client.get(other).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sim.counters().token_requests, 0, "no token was even fetched");
}

#[tokio::test]
async fn retry_response_is_returned_whatever_it_is_and_never_loops() {
    // Tokens that expire at once: the first attempt and the retry are both refused.
    let sim = Simulator::oauth2().ttl(std::time::Duration::ZERO).start().await;
    let response = client(&sim).get(sim.api_url()).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "the retry's 401 is returned");
    let counters = sim.counters();
    assert_eq!((counters.api_requests, counters.token_requests), (2, 2), "one retry, one refresh, no loop");
}

#[tokio::test]
async fn token_endpoint_failure_is_a_middleware_error() {
    let sim = Simulator::oauth2().start().await;
    sim.fail_next(1, bearer_testkit::Fault::status(StatusCode::BAD_REQUEST, None));
    let error = client(&sim).get(sim.api_url()).send().await.expect_err("no token");
    assert!(matches!(error, reqwest_middleware::Error::Middleware(_)), "{error:?}");
    let rejection = error.bearer_error().and_then(reqwest_bearer::Error::rejection);
    assert!(rejection.is_some_and(|r| r.status == StatusCode::BAD_REQUEST), "{error:?}");
    assert_eq!(sim.counters().api_requests, 0, "nothing was sent without a token");
}

#[tokio::test]
async fn bearer_error_finds_ours_through_context_and_nothing_in_other_failures() {
    let sim = Simulator::oauth2().start().await;
    sim.fail_next(1, bearer_testkit::Fault::status(StatusCode::BAD_REQUEST, None));
    let error = client(&sim).get(sim.api_url()).send().await.expect_err("no token");
    let reqwest_middleware::Error::Middleware(inner) = error else { panic!("a middleware error") };
    // Another middleware up the chain wrapped it with context.
    let wrapped = reqwest_middleware::Error::Middleware(inner.context("while listing things"));
    assert!(wrapped.to_string().starts_with("while listing things"), "{wrapped}");
    let ours = wrapped.bearer_error().expect("found under the context");
    assert_eq!(ours.rejection().map(|r| r.status), Some(StatusCode::BAD_REQUEST));

    // The API itself unreachable (a port nothing listens on), with a good token: reqwest's
    // error, not ours.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address");
    let auth = BearerAuth::builder(source(&sim))
        .allow_origin(format!("http://{closed}"))
        .allow_http_loopback()
        .build()
        .expect("valid middleware");
    let client = ClientBuilder::new(reqwest::Client::new()).with(auth).build();
    let error = client.get(format!("http://{closed}/api")).send().await.expect_err("nothing listens");
    assert!(matches!(error, reqwest_middleware::Error::Reqwest(_)), "{error:?}");
    assert!(error.bearer_error().is_none(), "{error:?}");
    assert_eq!(sim.counters().token_requests, 2, "the token was had");
    let other = reqwest_middleware::Error::middleware(std::io::Error::other("another middleware's failure"));
    assert!(other.bearer_error().is_none());
}

#[tokio::test]
async fn a_redirect_to_another_host_does_not_carry_the_token() {
    let allowed = Simulator::oauth2().start().await;
    let elsewhere = Simulator::oauth2().start().await;
    let client = client(&allowed);
    // The allowed host redirects to another origin (another port): the token stays behind.
    let response = client.get(allowed.redirect_url(&elsewhere.api_url())).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "the other host got no token");
    assert_eq!(elsewhere.api_authorizations(), vec![None], "no Authorization reached it, and no retry was sent there");
    assert_eq!(allowed.counters().token_requests, 1);

    // A same-origin redirect keeps working, with the same token: the foreign 401 did not
    // invalidate it.
    let response = client.get(allowed.redirect_url(&allowed.api_url())).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(allowed.counters().token_requests, 1);
}

/// The last middleware of a chain that refuses every token, answering like a mock would
/// (no URL on the response).
struct RefuseAll;

#[async_trait::async_trait]
impl Middleware for RefuseAll {
    async fn handle(&self, _: Request, _: &mut Extensions, _: Next<'_>) -> reqwest_middleware::Result<Response> {
        let mut response = http::Response::new("");
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        Ok(Response::from(response))
    }
}

#[tokio::test]
async fn a_rejection_from_a_url_that_may_not_have_the_token_is_not_retried() {
    let sim = Simulator::oauth2().start().await;
    let auth = BearerAuth::builder(source(&sim)).allow_origin("https://api.example.com").build().expect("middleware");
    let client = ClientBuilder::new(reqwest::Client::new()).with(auth).with(RefuseAll).build();
    let response = client.get("https://api.example.com/x").send().await.expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sim.counters().token_requests, 1, "the rejection came from no allowed URL: no refresh");
    client.get("https://api.example.com/x").send().await.expect("request");
    assert_eq!(sim.counters().token_requests, 1, "and the token was not invalidated");
}

/// A later middleware that adds a query parameter to every request.
struct AddsAQuery;

#[async_trait::async_trait]
impl Middleware for AddsAQuery {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        request.url_mut().query_pairs_mut().append_pair("rewritten", "1");
        next.run(request, extensions).await
    }
}

/// Behind a later middleware that rewrites URLs, as the "Redirects" docs say: a rejection
/// comes from another URL than the one `BearerAuth` saw, on its origin, so the token is
/// dropped and the request not retried; the next request gets a fresh token.
#[tokio::test]
async fn behind_a_middleware_that_rewrites_urls_a_rejection_drops_the_token_without_a_retry() {
    let sim = Simulator::oauth2().start().await;
    let auth = support::client_for(&sim, TokenCache::new(source(&sim)));
    let client = ClientBuilder::from_client(auth).with(AddsAQuery).build();
    assert_eq!(client.get(sim.api_url()).send().await.expect("warm").status(), StatusCode::OK);
    sim.revoke_all();
    let refused = client.get(sim.api_url()).send().await.expect("request");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "not retried");
    assert!(refused.url().as_str().ends_with("rewritten=1"), "{}", refused.url());
    assert_eq!((sim.counters().api_requests, sim.counters().token_requests), (2, 1));
    assert_eq!(client.get(sim.api_url()).send().await.expect("request").status(), StatusCode::OK, "a fresh token");
    assert_eq!((sim.counters().api_requests, sim.counters().token_requests), (3, 2));
}
