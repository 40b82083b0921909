//! IX-API's token contract against the IX-API simulator.

use std::time::Duration;

use bearer_core::{Error, InvalidParam, TokenSource};
use bearer_ixapi::{IxApiTokenSource, IxApiTokenSourceBuilder};
use bearer_oauth2::provider_kit::TokenResponse;
use bearer_oauth2::DEFAULT_UNKNOWN_LIFETIME;
use bearer_testkit::{env_map, Fault, Simulator};
use http::StatusCode;

fn builder(sim: &Simulator) -> IxApiTokenSourceBuilder {
    IxApiTokenSource::builder(sim.base_url())
        .allow_http_loopback()
        .api_key(&sim.credentials().client_id)
        .api_secret(sim.credentials().client_secret.as_str())
}

fn about(actual: Option<Duration>, expected: Duration) -> bool {
    actual.is_some_and(|d| d <= expected && d + Duration::from_secs(5) >= expected)
}

#[tokio::test]
async fn create_request_is_exact_and_expiry_comes_from_the_jwt() {
    let sim = Simulator::ixapi().ttl(Duration::from_secs(600)).start().await;
    let source = builder(&sim).build().expect("source");
    let token = source.fetch().await.expect("token");
    assert!(about(token.lifetime(), Duration::from_secs(600)), "{:?}", token.lifetime());
    assert!(source.has_refresh_token());
    let request = sim.last_request().expect("captured");
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/api/v2/auth/token"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("authorization"), None);
    let body: serde_json::Value = serde_json::from_slice(&request.body).expect("json");
    assert_eq!(
        body,
        serde_json::json!({"api_key": sim.credentials().client_id, "api_secret": sim.credentials().client_secret})
    );
}

#[tokio::test]
async fn refresh_rotates_the_pair_and_falls_back_to_create() {
    let sim = Simulator::ixapi().start().await;
    let source = builder(&sim).build().expect("source");
    source.fetch().await.expect("create");
    source.fetch().await.expect("refresh");
    let request = sim.last_request().expect("captured");
    assert_eq!(request.path, "/api/v2/auth/refresh");
    let body: serde_json::Value = serde_json::from_slice(&request.body).expect("json");
    assert!(body["refresh_token"].as_str().is_some_and(|t| t.split('.').count() == 3));
    source.fetch().await.expect("refresh with the rotated token");
    sim.revoke_refresh_tokens();
    source.fetch().await.expect("401 on refresh, then create");
    let counters = sim.counters();
    assert_eq!((counters.token_requests, counters.primary_grants, counters.refresh_grants), (5, 2, 2));
}

#[test]
fn documented_201_body_without_expires_in() {
    let opaque = br#"{"access_token":"not-a-jwt","refresh_token":"also-opaque"}"#;
    let (token, refresh) =
        TokenResponse::parse(opaque).expect("parse").into_token(DEFAULT_UNKNOWN_LIFETIME).expect("token");
    assert_eq!(token.lifetime(), Some(DEFAULT_UNKNOWN_LIFETIME), "conservative default");
    assert!(refresh.is_some());
    let jwt = bearer_testkit::fake_jwt("u", "j", Duration::from_secs(1200));
    let body = format!(r#"{{"access_token":"{jwt}","refresh_token":"r"}}"#);
    let (token, _) =
        TokenResponse::parse(body.as_bytes()).expect("parse").into_token(DEFAULT_UNKNOWN_LIFETIME).expect("token");
    assert!(about(token.lifetime(), Duration::from_secs(1200)));
}

#[tokio::test]
async fn bad_secret_is_401_problem_and_permanent() {
    let sim = Simulator::ixapi().start().await;
    let error = builder(&sim).api_secret("nope").build().expect("source").fetch().await.expect_err("bad secret");
    let rejection = error.rejection().expect("rejected");
    assert_eq!(rejection.status, StatusCode::UNAUTHORIZED);
    assert_eq!(rejection.code.as_deref(), Some("https://errors.ix-api.net/v2/authentication-error"));
    assert_eq!(rejection.description.as_deref(), Some("Authentication Error: The API key or secret is invalid."));
    assert!(!error.is_transient());
}

#[tokio::test]
async fn a_rejected_refresh_token_is_dropped_even_when_the_new_login_fails() {
    let sim = Simulator::ixapi().start().await;
    let source = builder(&sim).build().expect("source");
    source.fetch().await.expect("create");
    let used = r#"{"type":"https://errors.ix-api.net/v2/authentication-error","title":"Authentication Error",
        "status":401,"detail":"The refresh token is invalid, expired or already used."}"#;
    sim.fail_next(1, Fault::Status { status: StatusCode::UNAUTHORIZED, retry_after: None, body: used.into() });
    sim.fail_next(1, Fault::status(StatusCode::SERVICE_UNAVAILABLE, None));
    let error = source.fetch().await.expect_err("refresh refused, then the login fails");
    assert_eq!(error.rejection().map(|r| r.status), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert!(!source.has_refresh_token(), "the refused refresh token is not kept");
    let paths: Vec<String> = sim.captured().into_iter().map(|r| r.path).collect();
    assert_eq!(paths[1..], ["/api/v2/auth/refresh", "/api/v2/auth/token"]);
    source.fetch().await.expect("create again");
    assert_eq!(sim.last_request().map(|r| r.path).as_deref(), Some("/api/v2/auth/token"), "no second refresh try");
    assert_eq!(sim.counters().refresh_grants, 0);
}

#[tokio::test]
async fn transient_refresh_failure_keeps_the_refresh_token() {
    let sim = Simulator::ixapi().start().await;
    let source = builder(&sim).build().expect("source");
    source.fetch().await.expect("create");
    sim.fail_next(1, Fault::status(StatusCode::BAD_GATEWAY, None));
    assert!(source.fetch().await.expect_err("502").is_transient());
    assert!(source.has_refresh_token());
    source.fetch().await.expect("refresh");
    assert_eq!(sim.counters().primary_grants, 1);
}

#[test]
fn from_env_reads_the_documented_variables() {
    let from = |pairs: &[(&str, &str)]| IxApiTokenSource::from_env_with(env_map(pairs));
    assert!(matches!(from(&[]), Err(Error::Config(m)) if m.contains("IXAPI_BASE_URL")));
    let vars =
        [("IXAPI_BASE_URL", "https://ixp.example.net/api/v2"), ("IXAPI_API_KEY", "k"), ("IXAPI_API_SECRET", "s")];
    assert_eq!(from(&vars).expect("source").api_origin(), "https://ixp.example.net");
    let plain = [("IXAPI_BASE_URL", "http://ixp.example.net/api/v2"), vars[1], vars[2]];
    assert!(matches!(from(&plain), Err(Error::Config(m)) if m.contains("use https")));
}

#[tokio::test]
async fn documented_problem_shapes_are_typed() {
    let sim = Simulator::ixapi().start().await;
    let source = builder(&sim).build().expect("source");
    let validation = r#"{"type":"https://errors.ix-api.net/v2/validation-error","title":"Validation Error","status":400,
        "detail":"Some fields are invalid.","properties":[{"name":"api_key","reason":"required"}]}"#;
    sim.fail_next(1, Fault::Status { status: StatusCode::BAD_REQUEST, retry_after: None, body: validation.into() });
    let error = source.fetch().await.expect_err("400");
    let rejection = error.rejection().expect("rejected");
    assert_eq!(rejection.code.as_deref(), Some("https://errors.ix-api.net/v2/validation-error"));
    assert_eq!(rejection.description.as_deref(), Some("Validation Error: Some fields are invalid."));
    assert_eq!(rejection.invalid_params, [InvalidParam::new("api_key", "required")], "`properties` kept");
    assert!(error.to_string().contains("(invalid: api_key: required)"), "{error}");
    assert!(!error.is_transient());
    let unavailable = r#"{"type":"about:blank","title":"Service Unavailable","status":503}"#;
    sim.fail_next(
        1,
        Fault::Status { status: StatusCode::SERVICE_UNAVAILABLE, retry_after: Some(2), body: unavailable.into() },
    );
    let error = source.fetch().await.expect_err("503");
    assert_eq!(error.rejection().and_then(|r| r.description.clone()).as_deref(), Some("Service Unavailable"));
    assert!(error.is_transient());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(2)));
}

#[tokio::test]
async fn the_source_hands_out_the_refresh_token_it_holds() {
    let sim = Simulator::ixapi().start().await;
    let source = builder(&sim).build().expect("source");
    assert!(source.held_refresh_token().is_none(), "nothing held before a fetch");
    source.fetch().await.expect("create");
    let held = source.held_refresh_token().expect("the simulator issued a refresh token");
    assert!(sim.issued_tokens().iter().any(|issued| issued == held.secret()), "the one the simulator issued");
}
