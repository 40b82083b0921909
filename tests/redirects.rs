//! A retry never sends a request the caller did not make: what `BearerAuth` does when the
//! rejection comes back from another URL than the request was sent to, because reqwest
//! followed a redirect.

mod support;

use bearer_testkit::Simulator;
use http::StatusCode;
use reqwest_bearer::{BearerAuth, TokenCache};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use support::redirector::{Redirector, Seen};

/// The generic source behind `BearerAuth`, its token allowed on each of `origins`.
fn client_allowing(sim: &Simulator, origins: &[String]) -> ClientWithMiddleware {
    let auth = origins
        .iter()
        .fold(BearerAuth::builder(support::oauth2_source(sim)), |auth, origin| auth.allow_origin(origin))
        .allow_http_loopback()
        .build()
        .expect("valid middleware");
    ClientBuilder::new(reqwest::Client::new()).with(auth).build()
}

fn seen(method: &str, path: &str, authorization: Option<&str>, body: &str) -> Seen {
    Seen {
        method: method.to_owned(),
        path: path.to_owned(),
        authorization: authorization.map(str::to_owned),
        body: body.to_owned(),
    }
}

#[tokio::test]
async fn a_post_redirected_with_303_to_another_origin_is_not_retried_there() {
    let sim = Simulator::oauth2().start().await;
    let api = Redirector::start(303, &sim.api_url());
    // Both origins may have the token: nothing but the redirect rule stops a retry.
    let client = client_allowing(&sim, &[api.origin(), sim.origin()]);
    let response = client.post(api.url("/from")).body("order #1").send().await.expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "the caller gets the rejection");
    assert_eq!(api.seen().len(), 1, "the POST was sent once");
    assert_eq!((api.seen()[0].method.as_str(), api.seen()[0].body.as_str()), ("POST", "order #1"));
    // reqwest followed the 303 with a GET and without the token (another origin); no POST,
    // with or without a token, ever reached the other origin.
    assert_eq!(sim.api_authorizations(), vec![None], "one request there, the redirected GET, without a token");
    assert_eq!(sim.counters().token_requests, 1, "the token was not what the other origin refused: kept");
}

#[tokio::test]
async fn a_post_redirected_with_303_on_its_origin_drops_the_token_but_is_not_retried() {
    let sim = Simulator::oauth2().start().await;
    let api = Redirector::start(303, "/to");
    let client = client_allowing(&sim, &[api.origin()]);
    let response = client.post(api.url("/from")).body("order #1").send().await.expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "the caller gets the rejection");
    let seen_now = api.seen();
    let token = seen_now[0].authorization.clone().expect("the POST carried the token");
    assert_eq!(
        seen_now,
        vec![seen("POST", "/from", Some(&token), "order #1"), seen("GET", "/to", Some(&token), "")],
        "the POST and reqwest's GET after the 303; no POST to /to"
    );
    assert_eq!(sim.counters().token_requests, 1, "no refresh for a retry");
    // The rejected token was dropped: the next request goes out with a new one.
    client.get(api.url("/other")).send().await.expect("request");
    let next = api.seen().get(2).cloned().expect("the next request");
    assert!(next.authorization.is_some_and(|fresh| fresh != token), "a fresh token");
}

#[tokio::test]
async fn a_307_to_another_allowed_origin_is_not_retried_there() {
    let first = Simulator::oauth2().start().await;
    let second = Simulator::oauth2().start().await;
    let client = client_allowing(&first, &[first.origin(), second.origin()]);
    client.get(first.api_url()).send().await.expect("warm up");
    for (method, body) in [(reqwest::Method::GET, ""), (reqwest::Method::POST, "order #1")] {
        let response = client
            .request(method.clone(), first.redirect_url(&second.api_url()))
            .body(body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method}: the caller gets the rejection");
    }
    assert_eq!(
        second.api_authorizations(),
        vec![None, None],
        "reqwest followed each 307 without the token; nothing was sent there directly with one"
    );
    assert_eq!(first.counters().token_requests, 1, "the token was kept");
    assert_eq!(first.counters().api_rejections, 0);
}

#[tokio::test]
async fn a_307_on_the_origin_drops_the_rejected_token_but_is_not_retried() {
    let sim = Simulator::oauth2().start().await;
    let client = client_allowing(&sim, &[sim.origin()]);
    let via = sim.redirect_url(&sim.api_url());
    assert_eq!(client.get(&via).send().await.expect("request").status(), StatusCode::OK, "the token follows");
    sim.revoke_all();
    let response = client.get(&via).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "not retried: the caller asked for another URL");
    assert_eq!((sim.counters().api_requests, sim.counters().token_requests), (2, 1));
    // The token it refused was dropped: the next request, redirected or not, gets a new one.
    assert_eq!(client.get(&via).send().await.expect("request").status(), StatusCode::OK);
    assert_eq!(sim.counters().token_requests, 2);
}

/// An open redirect on the API's origin sends the request to a path crafted so that the 64-bit
/// fingerprint the middleware once compared URLs with equals the request's: taken for the
/// same URL, the request was sent again with a fresh token (a GET straight to the crafted
/// path, a POST to its own URL and redirected there again). URLs now compare exactly.
#[tokio::test]
async fn a_redirect_to_a_path_forged_to_fingerprint_like_the_request_is_not_retried() {
    let forged = support::forged_fingerprint::path_like("/from");
    for (method, body) in [("GET", ""), ("POST", "order #1")] {
        let sim = Simulator::oauth2().start().await;
        let api = Redirector::start(307, &forged);
        let client = client_allowing(&sim, &[api.origin()]);
        let mut request = client.request(method.parse().expect("method"), api.url("/from"));
        if !body.is_empty() {
            request = request.body(body);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method}: the caller gets the rejection");
        let seen_now = api.seen();
        let token = seen_now[0].authorization.clone().expect("the request carried the token");
        assert_eq!(
            seen_now,
            vec![seen(method, "/from", Some(&token), body), seen(method, &forged, Some(&token), body)],
            "{method}: the request and reqwest's 307 to {forged}; nothing sent again"
        );
        assert_eq!(sim.counters().token_requests, 1, "{method}: no fresh token fetched for a retry");
    }
}

/// A client whose cached token the simulator has just revoked.
async fn client_with_a_revoked_token(sim: &Simulator) -> ClientWithMiddleware {
    let client = support::client_for(sim, TokenCache::new(support::oauth2_source(sim)));
    client.get(sim.api_url()).send().await.expect("warm up");
    sim.revoke_all();
    client
}

#[tokio::test]
async fn a_rejection_from_the_url_the_request_was_sent_to_is_retried_there() {
    let sim = Simulator::oauth2().start().await;
    let client = client_with_a_revoked_token(&sim).await;
    let url = format!("{}?page=2", sim.api_url());
    let response = client.put(&url).body("the payload").send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK, "retried with a fresh token");
    assert_eq!(response.text().await.expect("body"), "the payload", "the PUT's body, to the same URL");
    let counters = sim.counters();
    assert_eq!((counters.api_requests, counters.api_rejections, counters.token_requests), (3, 1, 2));
}

#[tokio::test]
async fn a_rejected_get_with_a_fragment_is_retried() {
    let sim = Simulator::oauth2().start().await;
    let client = client_with_a_revoked_token(&sim).await;
    let url = format!("{}?page=2#section", sim.api_url());
    let response = client.get(&url).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK, "retried with a fresh token");
    assert_eq!(sim.counters().token_requests, 2);
}

#[tokio::test]
async fn a_rejected_get_to_a_long_url_is_retried() {
    let sim = Simulator::oauth2().start().await;
    let client = client_with_a_revoked_token(&sim).await;
    // Longer than the middleware keeps inline: its copy of the URL is on the heap.
    let url = format!("{}?filter={}", sim.api_url(), "x".repeat(300));
    let response = client.get(&url).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK, "retried with a fresh token");
    let counters = sim.counters();
    assert_eq!((counters.api_requests, counters.api_rejections, counters.token_requests), (3, 1, 2));
}

/// The limit the middleware's documentation states ("Redirects"): a `POST` answered `303`
/// to its own URL is followed by reqwest with a `GET` there; when that `GET` is refused, the
/// rejection comes from the very URL the `POST` went to, so the middleware replays the
/// `POST`, with its body, though the server had already taken it (the `303` says so). A
/// middleware cannot see the method reqwest's redirect used. Ignored until it can (or the
/// client's redirect policy tells it): run with `--ignored` to see it fail.
#[tokio::test]
#[ignore = "known limit: a POST 303-redirected to its own URL and then refused is sent again"]
async fn a_post_redirected_with_303_to_its_own_url_is_not_sent_again() {
    let sim = Simulator::oauth2().start().await;
    let api = Redirector::answering(|request| (request.method == "POST").then(|| (303, "/from".to_owned())));
    let client = client_allowing(&sim, &[api.origin()]);
    let response = client.post(api.url("/from")).body("order #1").send().await.expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "the caller gets the rejection");
    let posts = api.seen().iter().filter(|seen| seen.method == "POST").count();
    assert_eq!(posts, 1, "the order was posted once: {:?}", api.seen());
}

/// A request whose URL carries user info (sent as built, with any origin allowed) redirected
/// on its own origin to a URL without: reqwest forwards the token there (same scheme, host
/// and port), so a rejection from there refused the token, and the token is dropped.
#[tokio::test]
async fn a_rejection_after_a_redirect_that_drops_the_user_info_drops_the_token() {
    let sim = Simulator::oauth2().start().await;
    let client = support::client_for_any_origin(&sim);
    let with_user = |url: String| support::get_with_user_info(&url, None);
    assert_eq!(client.execute(with_user(sim.api_url())).await.expect("warm").status(), StatusCode::OK);
    sim.revoke_all();
    let redirected = client.execute(with_user(sim.redirect_url(&sim.api_url()))).await.expect("request");
    assert_eq!(redirected.status(), StatusCode::UNAUTHORIZED, "not retried: another URL");
    assert_eq!(sim.api_authorizations().len(), 2, "reqwest forwarded the token on the redirect");
    assert!(sim.api_authorizations()[1].is_some(), "reqwest forwarded the token on the redirect");
    assert_eq!(client.get(sim.api_url()).send().await.expect("request").status(), StatusCode::OK);
    let counters = sim.counters();
    assert_eq!(
        (counters.token_requests, counters.api_rejections),
        (2, 1),
        "the refused token was dropped: the next request fetched a fresh one and was not refused"
    );
}
