//! Zenkipay's token contract against the Zenkipay simulator.

use std::time::Duration;

use bearer_core::{Error, TokenSource};
use bearer_oauth2::provider_kit::TokenResponse;
use bearer_oauth2::DEFAULT_UNKNOWN_LIFETIME;
use bearer_testkit::{env_map, Fault, Simulator};
use bearer_zenkipay::{ZenkipayTokenSource, ZenkipayTokenSourceBuilder};
use http::{HeaderMap, StatusCode};

fn builder(sim: &Simulator) -> ZenkipayTokenSourceBuilder {
    ZenkipayTokenSource::builder()
        .base_url(sim.base_url())
        .allow_http_loopback()
        .client_id(&sim.credentials().client_id)
        .client_secret(sim.credentials().client_secret.as_str())
}

#[tokio::test]
async fn camel_case_json_request_is_exact() {
    let sim = Simulator::zenkipay().start().await;
    let token = builder(&sim).build().expect("source").fetch().await.expect("token");
    assert_eq!(token.lifetime(), Some(Duration::from_secs(1800)), "expiresIn read");
    let request = sim.last_request().expect("captured");
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/v1/oauth/tokens"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("accept"), Some("application/json"));
    assert_eq!(request.header("authorization"), None);
    let body: serde_json::Value = serde_json::from_slice(&request.body).expect("json");
    assert_eq!(
        body,
        serde_json::json!({
            "clientId": sim.credentials().client_id,
            "clientSecret": sim.credentials().client_secret,
            "grantType": "client_credentials",
        })
    );
}

#[tokio::test]
async fn a_refresh_token_in_the_answer_is_ignored() {
    let sim = Simulator::zenkipay().refresh_token_in_answer().start().await;
    let source = builder(&sim).build().expect("source");
    source.fetch().await.expect("first token");
    source.fetch().await.expect("renewal");
    let counters = sim.counters();
    assert_eq!((counters.token_requests, counters.primary_grants), (2, 2), "one client_credentials call per renewal");
    for request in sim.captured() {
        assert_eq!(request.fields().get("grantType").map(String::as_str), Some("client_credentials"));
    }
}

#[test]
fn documented_camel_case_body_parses() {
    let body = br#"{"accessToken":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ6In0.c2ln","tokenType":"Bearer","expiresIn":1800}"#;
    let (token, _) = TokenResponse::parse(body).expect("parse").into_token(DEFAULT_UNKNOWN_LIFETIME).expect("token");
    assert_eq!(token.lifetime(), Some(Duration::from_secs(1800)));
}

#[tokio::test]
async fn camel_case_error_is_typed_and_permanent() {
    let sim = Simulator::zenkipay().start().await;
    let error = builder(&sim).client_secret("wrong").build().expect("source").fetch().await.expect_err("bad secret");
    let rejection = error.rejection().expect("rejected");
    assert_eq!(rejection.status, StatusCode::BAD_REQUEST);
    assert_eq!(rejection.code.as_deref(), Some("invalid_client"));
    assert_eq!(
        rejection.description.as_deref(),
        Some("Token creation failed, please review the details and try again.")
    );
    assert!(!error.is_transient());
}

#[tokio::test]
async fn unexpected_500_is_transient() {
    let sim = Simulator::zenkipay().start().await;
    let source = builder(&sim).build().expect("source");
    sim.fail_next(
        1,
        Fault::Status {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            retry_after: None,
            body: r#"{"error":"server_error","errorDescription":"Unexpected error creating auth token"}"#.into(),
        },
    );
    let error = source.fetch().await.expect_err("500");
    assert!(error.is_transient());
    assert_eq!(
        error.rejection().and_then(|r| r.description.clone()).as_deref(),
        Some("Unexpected error creating auth token")
    );
}

#[test]
fn a_403_means_token_rejected_for_zenkipay_only() {
    let source = ZenkipayTokenSource::builder().client_id("id").client_secret("s").build().expect("source");
    assert!(source.is_token_rejected(StatusCode::FORBIDDEN, &HeaderMap::new()));
    assert!(source.is_token_rejected(StatusCode::UNAUTHORIZED, &HeaderMap::new()));
    assert!(!source.is_token_rejected(StatusCode::NOT_FOUND, &HeaderMap::new()));
}

#[test]
fn from_env_reads_the_documented_variables() {
    let from = |pairs: &[(&str, &str)]| ZenkipayTokenSource::from_env_with(env_map(pairs));
    assert!(matches!(from(&[]), Err(Error::Config(m)) if m.contains("ZENKIPAY_CLIENT_ID")));
    let creds = [("ZENKIPAY_CLIENT_ID", "id"), ("ZENKIPAY_CLIENT_SECRET", "secret")];
    assert_eq!(from(&creds).expect("source").api_origin(), "https://api.zenki.fi");
    let other = [creds[0], creds[1], ("ZENKIPAY_BASE_URL", "https://sandbox.zenki.example")];
    assert_eq!(from(&other).expect("source").api_origin(), "https://sandbox.zenki.example");
    let plain = [creds[0], creds[1], ("ZENKIPAY_BASE_URL", "http://api.zenki.fi")];
    assert!(matches!(from(&plain), Err(Error::Config(m)) if m.contains("use https")), "credentials never over http");
    let local = [creds[0], creds[1], ("ZENKIPAY_BASE_URL", "http://127.0.0.1:9")];
    assert!(matches!(from(&local), Err(Error::Config(m)) if m.contains("allow_http_loopback")));
    let allowed = [local[0], local[1], local[2], ("ZENKIPAY_ALLOW_HTTP_LOOPBACK", "yes")];
    assert_eq!(from(&allowed).expect("source").api_origin(), "http://127.0.0.1:9");
}
