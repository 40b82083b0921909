//! Reliability under load, faults, outages and cancellation, against the simulators.
//! Timing is on tokio's paused clock; nothing sleeps on the wall clock.

mod support;

use std::sync::Arc;
use std::time::Duration;

use bearer_testkit::{Fault, FixedSource, Simulator};
use http::StatusCode;
use reqwest_bearer::{Error, TokenCache};
use support::{canned_client, client_for, deterministic, no_backoff, oauth2_builder, paused_clock_source, CANNED_API};
use tokio::task::JoinSet;

const HOUR: Duration = Duration::from_secs(3600);

/// `n` concurrent requests through `client`; every status, in completion order.
async fn storm(client: &reqwest_middleware::ClientWithMiddleware, url: &str, n: usize) -> Vec<StatusCode> {
    let mut set = JoinSet::new();
    for _ in 0..n {
        let client = client.clone();
        let url = url.to_owned();
        set.spawn(async move { client.get(url).send().await.map(|r| r.status()) });
    }
    let mut statuses = Vec::with_capacity(n);
    while let Some(joined) = set.join_next().await {
        statuses.push(joined.expect("task").expect("request"));
    }
    statuses
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_requests_at_cold_start_and_at_expiry_one_fetch_each() {
    let sim = Simulator::oauth2().start().await;
    let cache = TokenCache::with_policy(paused_clock_source(&sim), deterministic());
    let client = canned_client(cache);

    let statuses = storm(&client, CANNED_API, 10_000).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::OK));
    assert_eq!(sim.counters().token_requests, 1, "cold start: one fetch for 10,000 requests");

    tokio::time::advance(HOUR + Duration::from_secs(1)).await;
    let statuses = storm(&client, CANNED_API, 10_000).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::OK));
    assert_eq!(sim.counters().token_requests, 2, "at expiry: one more fetch for 10,000 requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_rejections_after_revocation_cost_one_refresh() {
    let sim = Simulator::oauth2().start().await;
    let client = client_for(&sim, TokenCache::new(support::oauth2_source(&sim)));
    assert_eq!(client.get(sim.api_url()).send().await.expect("warm").status(), StatusCode::OK);
    sim.revoke_all();

    let statuses = storm(&client, &sim.api_url(), 1_000).await;
    let succeeded = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(succeeded, 1_000, "every request succeeded, on its retry if it was rejected");
    let counters = sim.counters();
    assert_eq!(counters.token_requests, 2, "one refresh for all the rejections");
    let issued = sim.issued_tokens();
    let carried = |token: &str| {
        let header = format!("Bearer {token}");
        sim.api_authorizations().iter().filter(|a| a.as_deref() == Some(header.as_str())).count()
    };
    let (revoked, renewed) = (carried(&issued[0]), carried(&issued[1]));
    assert_eq!(counters.api_rejections as usize, revoked - 1, "every request with the revoked token was refused");
    assert!(revoked > 1, "the storm started with the revoked token");
    assert_eq!(renewed, 1_000, "each request succeeded exactly once, with the new token");
    assert_eq!(counters.api_requests, 1 + 1_000 + counters.api_rejections, "each rejection was retried once");
}

#[tokio::test]
async fn fault_matrix_typed_errors_and_recovery() {
    let sim = Simulator::oauth2().start().await;
    let source = oauth2_builder(&sim).timeout(Duration::from_millis(300)).build().expect("source");
    // Each case fails one fetch, recovers, and invalidates: no interval may hold any of it back.
    let policy = no_backoff().with_min_fetch_interval(Duration::ZERO).with_rejection_refresh_interval(Duration::ZERO);
    let cache = TokenCache::with_policy(source, policy);
    let json = |body: &str| Fault::Body { content_type: "application/json", body: body.to_owned() };
    let cases: Vec<(&str, Fault, bool)> = vec![
        ("500", Fault::server_error(), true),
        ("502 without Retry-After", Fault::status(StatusCode::BAD_GATEWAY, None), true),
        ("503 without Retry-After", Fault::status(StatusCode::SERVICE_UNAVAILABLE, None), true),
        ("503 with Retry-After", Fault::status(StatusCode::SERVICE_UNAVAILABLE, Some(7)), true),
        ("429 with Retry-After", Fault::status(StatusCode::TOO_MANY_REQUESTS, Some(3)), true),
        ("connection reset", Fault::Reset, true),
        ("slow past the timeout", Fault::Delay(Duration::from_secs(30)), true),
        ("malformed JSON", Fault::malformed_json(), false),
        ("HTML error page", Fault::html(), false),
        ("200 carrying an error", json(r#"{"error":"server_error"}"#), false),
        ("empty body", json(""), false),
        ("body over the cap", json(&format!(r#"{{"access_token":"{}"}}"#, "a".repeat(1024 * 1024 + 1))), false),
        (
            "wrong content type",
            Fault::Body { content_type: "application/xml", body: r#"{"access_token":"x"}"#.into() },
            false,
        ),
        ("missing access_token", json(r#"{"token_type":"bearer","expires_in":3600}"#), false),
        ("CR/LF in the token", json(r#"{"access_token":"abc\r\nX-Injected: yes","token_type":"bearer"}"#), false),
    ];
    for (name, fault, transient) in cases {
        sim.fail_next(1, fault);
        let error = cache.token().await.expect_err(name);
        assert_eq!(error.is_transient(), transient, "{name}: {error}");
        if name == "503 with Retry-After" {
            assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
        }
        let token = cache.token().await.unwrap_or_else(|e| panic!("{name}: the cache did not recover: {e}"));
        assert!(token.header_value().to_str().is_ok_and(|v| !v.contains('\r') && !v.contains('\n')));
        cache.invalidate(&token);
    }
}

#[tokio::test(start_paused = true)]
async fn ten_minute_outage_with_five_minutes_left() {
    let sim = Simulator::oauth2().start().await;
    let cache = TokenCache::with_policy(paused_clock_source(&sim), deterministic());
    let client = canned_client(cache);
    assert_eq!(client.get(CANNED_API).send().await.expect("warm").status(), StatusCode::OK);
    let issued = tokio::time::Instant::now();

    // 55 minutes in, 5 minutes of token left, the endpoint goes down for 10 minutes.
    tokio::time::advance(Duration::from_secs(55 * 60)).await;
    sim.fail_next(1_000_000, Fault::status(StatusCode::SERVICE_UNAVAILABLE, None));
    let outage_ends = issued + Duration::from_secs(65 * 60);
    let (mut ok_before_expiry, mut failed_before_expiry, mut failed_after) = (0, 0, 0);
    while tokio::time::Instant::now() < outage_ends {
        let now = tokio::time::Instant::now();
        match client.get(CANNED_API).send().await {
            Ok(_) if now < issued + HOUR => ok_before_expiry += 1,
            Ok(_) => panic!("a request succeeded after expiry during the outage"),
            Err(error) => {
                let typed = match &error {
                    reqwest_middleware::Error::Middleware(e) => e.downcast_ref::<Error>().cloned(),
                    _ => None,
                };
                assert!(typed.as_ref().is_some_and(Error::is_transient), "typed, transient: {error:?}");
                if now < issued + HOUR {
                    failed_before_expiry += 1;
                } else {
                    failed_after += 1;
                }
            }
        }
        tokio::time::advance(Duration::from_secs(10)).await;
    }
    assert_eq!(failed_before_expiry, 0, "no failed request while the token was valid");
    assert_eq!(ok_before_expiry, 30);
    assert_eq!(failed_after, 30);
    // 60 requests, but the attempts follow the backoff (1, 2, 4, 8, 16, then 30 s at most):
    // at most 5 + 600 / 30 = 25 in 600 s. Requests come every 10 s, so short waits round up to
    // the next request; a failure lands a little after the request that started it.
    let attempts = sim.counters().token_requests - 1;
    assert!((10..=25).contains(&attempts), "{attempts} fetch attempts in a 10-minute outage");

    sim.clear_faults();
    let back = tokio::time::Instant::now();
    loop {
        if client.get(CANNED_API).send().await.is_ok() {
            break;
        }
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(back.elapsed() <= Duration::from_secs(30), "recovered within the backoff ceiling");
    }
}

/// A small deterministic generator for the cancellation test's timeouts.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[tokio::test(start_paused = true)]
async fn a_thousand_callers_time_out_during_a_slow_refresh() {
    let sim = Simulator::oauth2().start().await;
    sim.fail_next(1, Fault::Delay(Duration::from_secs(5)));
    let cache = Arc::new(TokenCache::with_policy(paused_clock_source(&sim), deterministic()));
    let mut set = JoinSet::new();
    let mut seed = 0x5eed_u64;
    for _ in 0..1_000 {
        let cache = Arc::clone(&cache);
        let timeout = Duration::from_millis(1 + xorshift(&mut seed) % 8_000);
        set.spawn(async move { (timeout, tokio::time::timeout(timeout, cache.token()).await.is_ok()) });
    }
    let (mut timed_out, mut served) = (0, 0);
    while let Some(joined) = set.join_next().await {
        let (timeout, was_served) = joined.expect("task");
        if was_served {
            assert!(timeout >= Duration::from_secs(5), "served after {timeout:?}, before the 5 s refresh could land");
            served += 1;
        } else {
            timed_out += 1;
        }
    }
    assert!(timed_out > 0 && served > 0, "both kinds happened: {timed_out} timed out, {served} served");
    assert!(cache.try_token().is_some(), "the refresh landed though its callers gave up");
    cache.token().await.expect("token");
    assert_eq!(sim.counters().token_requests, 1, "no extra fetch");
}

/// An empty answer with `status` to `request`. It names the URL it came from, as a real one
/// does: a rejection from a URL that may not have the token is not the token's fault.
fn answer(request: &reqwest::Request, status: StatusCode) -> reqwest_middleware::Result<reqwest::Response> {
    use reqwest::ResponseBuilderExt;
    let response = http::Response::builder().status(status).url(request.url().clone()).body("");
    Ok(reqwest::Response::from(response.map_err(reqwest_middleware::Error::middleware)?))
}

/// The last middleware of a chain for an API that refuses every token it is sent; counts
/// the requests it answered.
#[derive(Clone, Default)]
struct AlwaysUnauthorized {
    requests: Arc<std::sync::atomic::AtomicUsize>,
}

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for AlwaysUnauthorized {
    async fn handle(
        &self,
        request: reqwest::Request,
        _: &mut http::Extensions,
        _: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        self.requests.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        answer(&request, StatusCode::UNAUTHORIZED)
    }
}

#[tokio::test(start_paused = true)]
async fn a_thousand_requests_to_an_api_that_rejects_every_token_cost_at_most_two_fetches() {
    let source = Arc::new(FixedSource::default());
    let auth =
        reqwest_bearer::BearerAuthBuilder::from_cache(TokenCache::with_policy(Arc::clone(&source), deterministic()))
            .allow_origin("https://api.example.com")
            .build()
            .expect("middleware");
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(auth)
        .with(AlwaysUnauthorized::default())
        .build();
    let mut unauthorized = 0;
    for _ in 0..1_000 {
        let response = client.get(CANNED_API).send().await.expect("the API's answer, not an error");
        if response.status() == StatusCode::UNAUTHORIZED {
            unauthorized += 1;
        }
    }
    assert_eq!(unauthorized, 1_000, "every caller got the API's 401");
    assert!(source.fetches() <= 2, "{} token fetches for 1,000 rejected requests", source.fetches());
}

/// `n` requests through `client`, the i-th sent `i * gap` after the start, all at once when
/// `gap` is zero; every outcome's status.
async fn spread(client: &reqwest_middleware::ClientWithMiddleware, n: u32, gap: Duration) -> Vec<StatusCode> {
    let mut set = JoinSet::new();
    for i in 0..n {
        let client = client.clone();
        set.spawn(async move {
            tokio::time::sleep(gap * i).await;
            client.get(CANNED_API).send().await.map(|r| r.status())
        });
    }
    let mut statuses = Vec::with_capacity(n as usize);
    while let Some(joined) = set.join_next().await {
        statuses.push(joined.expect("task").expect("the API's answer, not an error"));
    }
    statuses
}

#[tokio::test(start_paused = true)]
async fn concurrent_requests_to_an_api_that_rejects_every_token_get_its_401_at_a_bounded_cost() {
    // 1,000 at once, then 1,000 spread over 20 s (one every 20 ms).
    for (gap, max_fetches) in [(Duration::ZERO, 2), (Duration::from_millis(20), 1 + 20 / 5 + 1)] {
        let source = Arc::new(FixedSource::default());
        let api = AlwaysUnauthorized::default();
        let auth = reqwest_bearer::BearerAuthBuilder::from_cache(TokenCache::with_policy(
            Arc::clone(&source),
            deterministic(),
        ))
        .allow_origin("https://api.example.com")
        .build()
        .expect("middleware");
        let client =
            reqwest_middleware::ClientBuilder::new(reqwest::Client::new()).with(auth).with(api.clone()).build();
        let statuses = spread(&client, 1_000, gap).await;
        assert_eq!(statuses.len(), 1_000);
        assert!(statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED), "every caller got the API's 401");
        let fetches = source.fetches();
        assert!(fetches <= max_fetches, "{gap:?}: {fetches} token fetches for 1,000 rejected requests");
        // A request is retried only with a token fetched after its rejection.
        let requests = api.requests.load(std::sync::atomic::Ordering::SeqCst);
        assert!(requests <= 2_000, "{requests} API requests: more than one retry per request");
        assert!(requests > 1_000, "the first rejection was retried with a fresh token");
    }
}

/// The last middleware of a chain for an API that refuses the first token it sees, and only
/// that one.
#[derive(Default)]
struct RefusesTheFirstToken {
    first: std::sync::Mutex<Option<http::HeaderValue>>,
}

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for RefusesTheFirstToken {
    async fn handle(
        &self,
        request: reqwest::Request,
        _: &mut http::Extensions,
        _: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let used = request.headers().get(http::header::AUTHORIZATION).cloned();
        let refused = {
            let mut first = self.first.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            first.get_or_insert_with(|| used.clone().unwrap_or(http::HeaderValue::from_static("none"))).clone()
        };
        answer(&request, if used.as_ref() == Some(&refused) { StatusCode::UNAUTHORIZED } else { StatusCode::OK })
    }
}

/// A caller that gives up (a timeout, a dropped future) while the middleware waits for a
/// token, first on a cold cache, then on a retry's refresh, leaves nothing wedged: the next
/// request gets the token those refreshes fetched, and no extra fetch is made.
#[tokio::test(start_paused = true)]
async fn requests_dropped_while_the_middleware_waits_for_a_token_leave_it_usable() {
    let sim = Simulator::oauth2().start().await;
    let auth = reqwest_bearer::BearerAuthBuilder::from_cache(TokenCache::with_policy(
        paused_clock_source(&sim),
        deterministic(),
    ))
    .allow_origin("https://api.example.com")
    .build()
    .expect("middleware");
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(auth)
        .with(RefusesTheFirstToken::default())
        .build();
    let send = |within: Duration| tokio::time::timeout(within, client.get(CANNED_API).send());

    sim.fail_next(1, Fault::Delay(Duration::from_secs(5)));
    assert!(send(Duration::from_secs(1)).await.is_err(), "dropped during the first fetch");
    // This one joins that fetch (4 s left), is refused, and waits for the retry's refresh
    // (5 s more): dropped 3 s into it.
    sim.fail_next(1, Fault::Delay(Duration::from_secs(5)));
    assert!(send(Duration::from_secs(7)).await.is_err(), "dropped during the retry's refresh");

    let response = send(HOUR).await.expect("no hang").expect("response");
    assert_eq!(response.status(), StatusCode::OK, "the retry's refresh landed for the next request");
    assert_eq!(sim.counters().token_requests, 2, "the first fetch and the retry's refresh, no other");
}
