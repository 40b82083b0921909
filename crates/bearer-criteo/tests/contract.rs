//! Criteo's token contract against the Criteo simulator.

use std::time::Duration;

use bearer_core::{Error, TokenSource};
use bearer_criteo::{CriteoTokenSource, CriteoTokenSourceBuilder};
use bearer_oauth2::provider_kit::TokenResponse;
use bearer_oauth2::DEFAULT_UNKNOWN_LIFETIME;
use bearer_testkit::{env_map, Fault, Simulator};
use http::StatusCode;

fn builder(sim: &Simulator) -> CriteoTokenSourceBuilder {
    CriteoTokenSource::builder()
        .base_url(sim.base_url())
        .allow_http_loopback()
        .client_id(&sim.credentials().client_id)
        .client_secret(sim.credentials().client_secret.as_str())
}

#[tokio::test]
async fn exact_token_request_and_jwt_token() {
    let sim = Simulator::criteo().start().await;
    let token = builder(&sim).build().expect("source").fetch().await.expect("token");
    assert_eq!(token.lifetime(), Some(Duration::from_secs(900)), "15 minutes");
    assert_eq!(token.secret().secret().split('.').count(), 3, "a JWT");

    let request = sim.last_request().expect("captured");
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/oauth2/token"));
    assert_eq!(request.header("content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(request.header("accept"), Some("text/plain, application/json, text/json"));
    assert_eq!(request.header("authorization"), None);
    let fields = request.fields();
    assert_eq!(fields.len(), 3);
    assert_eq!(fields.get("grant_type").map(String::as_str), Some("client_credentials"));
    assert_eq!(fields.get("client_id"), Some(&sim.credentials().client_id));
    assert_eq!(fields.get("client_secret"), Some(&sim.credentials().client_secret));
}

#[test]
fn documented_success_body_parses() {
    let body = br#"{"access_token":"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4In0.c2ln","token_type":"Bearer","expires_in":900,"refresh_token":null}"#;
    let (token, refresh) =
        TokenResponse::parse(body).expect("parse").into_token(DEFAULT_UNKNOWN_LIFETIME).expect("token");
    assert_eq!(token.lifetime(), Some(Duration::from_secs(900)));
    assert!(refresh.is_none(), "a null refresh_token is no refresh token");
}

#[tokio::test]
async fn invalid_client_is_400_oauth_error_and_permanent() {
    let sim = Simulator::criteo().start().await;
    let source = CriteoTokenSource::builder()
        .base_url(sim.base_url())
        .allow_http_loopback()
        .client_id("nobody")
        .client_secret("wrong")
        .build()
        .expect("source");
    let error = source.fetch().await.expect_err("bad credentials");
    let rejection = error.rejection().expect("rejected");
    assert_eq!(rejection.status, StatusCode::BAD_REQUEST);
    assert_eq!(rejection.code.as_deref(), Some("invalid_client"));
    assert_eq!(rejection.description.as_deref(), Some("The client credentials are invalid."));
    assert!(!error.is_transient());
}

#[tokio::test]
async fn rate_limit_is_transient_and_keeps_retry_after() {
    let sim = Simulator::criteo().start().await;
    let source = builder(&sim).build().expect("source");
    sim.fail_next(1, Fault::status(StatusCode::TOO_MANY_REQUESTS, Some(30)));
    let error = source.fetch().await.expect_err("429");
    assert!(error.is_transient());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(30)));
    source.fetch().await.expect("then succeeds");
}

#[test]
fn from_env_reads_the_documented_variables() {
    let from = |pairs: &[(&str, &str)]| CriteoTokenSource::from_env_with(env_map(pairs));
    assert!(matches!(from(&[]), Err(Error::Config(m)) if m.contains("CRITEO_CLIENT_ID")));
    let creds = [("CRITEO_CLIENT_ID", "id"), ("CRITEO_CLIENT_SECRET", "secret")];
    assert_eq!(from(&creds).expect("source").api_origin(), "https://api.criteo.com");
    let proxy = [creds[0], creds[1], ("CRITEO_BASE_URL", "https://criteo-proxy.example.com")];
    assert_eq!(from(&proxy).expect("source").api_origin(), "https://criteo-proxy.example.com");
    let local = [creds[0], creds[1], ("CRITEO_BASE_URL", "http://127.0.0.1:9")];
    assert!(matches!(from(&local), Err(Error::Config(m)) if m.contains("allow_http_loopback")));
    let allowed = [local[0], local[1], local[2], ("CRITEO_ALLOW_HTTP_LOOPBACK", "true")];
    assert_eq!(from(&allowed).expect("source").api_origin(), "http://127.0.0.1:9");
}
