//! RFC 7009: a source holding a refresh token gives it back.

use bearer_core::{Error, TokenSource};
use bearer_oauth2::{Grant, OAuth2TokenSource, OAuth2TokenSourceBuilder};
use bearer_testkit::{Fault, Simulator};
use http::StatusCode;

fn password_source(sim: &Simulator) -> OAuth2TokenSourceBuilder {
    let creds = sim.credentials();
    OAuth2TokenSource::builder(sim.token_url())
        .allow_http_loopback()
        .client_id(&creds.client_id)
        .client_secret(creds.client_secret.as_str())
        .grant(Grant::Password { username: creds.username.clone(), password: creds.password.as_str().into() })
}

#[tokio::test]
async fn the_held_refresh_token_is_revoked_and_forgotten() {
    let sim = Simulator::oauth2().start().await;
    let source = password_source(&sim).revocation_url(sim.revocation_url()).build().expect("source");
    source.fetch().await.expect("password grant");
    let refresh = sim.issued_tokens().last().cloned().expect("a refresh token was issued");

    assert!(source.revoke_refresh_token().await.expect("revoked"));
    assert!(!source.has_refresh_token());
    assert_eq!(sim.counters().revocations, 1, "the server revoked a live token");
    let request = sim.last_request().expect("captured");
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/oauth/revoke"));
    assert_eq!(request.header("content-type"), Some("application/x-www-form-urlencoded"));
    assert!(request.header("authorization").is_some_and(|v| v.starts_with("Basic ")), "client authenticated");
    let fields = request.fields();
    assert_eq!(fields.get("token"), Some(&refresh));
    assert_eq!(fields.get("token_type_hint").map(String::as_str), Some("refresh_token"));
    assert_eq!(fields.len(), 2, "no grant parameters on a revocation: {fields:?}");

    // The server no longer honours it.
    let creds = sim.credentials();
    let reuse = reqwest::Client::new()
        .post(sim.token_url())
        .basic_auth(&creds.client_id, Some(&creds.client_secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())])
        .send()
        .await
        .expect("send");
    assert_eq!(reuse.status(), StatusCode::BAD_REQUEST);

    assert!(!source.revoke_refresh_token().await.expect("nothing held"), "nothing left to revoke");
    source.fetch().await.expect("the next token comes from the password grant");
    let counters = sim.counters();
    assert_eq!((counters.primary_grants, counters.refresh_grants), (2, 0));
}

#[tokio::test]
async fn revocation_needs_an_endpoint_and_a_refused_one_keeps_the_token() {
    let sim = Simulator::oauth2().start().await;
    let unconfigured = password_source(&sim).build().expect("source");
    unconfigured.fetch().await.expect("token");
    let error = unconfigured.revoke_refresh_token().await.expect_err("no revocation URL");
    assert!(matches!(&error, Error::Config(m) if m.contains("revocation_url")), "{error}");

    let source = password_source(&sim).revocation_url(sim.revocation_url()).build().expect("source");
    source.fetch().await.expect("token");
    sim.fail_next(1, Fault::status(StatusCode::SERVICE_UNAVAILABLE, Some(2)));
    let error = source.revoke_refresh_token().await.expect_err("503");
    assert_eq!(error.rejection().map(|r| r.status), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert!(source.has_refresh_token(), "kept: it is still live at the server");
    assert!(source.revoke_refresh_token().await.expect("revoked on the second try"));
}

#[tokio::test]
async fn a_configured_refresh_token_grant_is_revoked_when_no_newer_one_is_held() {
    let sim = Simulator::oauth2().start().await;
    let creds = sim.credentials();
    let pair = reqwest::Client::new()
        .post(sim.token_url())
        .basic_auth(&creds.client_id, Some(&creds.client_secret))
        .form(&[("grant_type", "password"), ("username", &creds.username), ("password", &creds.password)])
        .send()
        .await
        .expect("send")
        .bytes()
        .await
        .expect("body");
    let pair: serde_json::Value = serde_json::from_slice(&pair).expect("json");
    let refresh = pair["refresh_token"].as_str().expect("a refresh token").to_owned();
    let source = OAuth2TokenSource::builder(sim.token_url())
        .allow_http_loopback()
        .client_id(&creds.client_id)
        .client_secret(creds.client_secret.as_str())
        .grant(Grant::RefreshToken(refresh.as_str().into()))
        .revocation_url(sim.revocation_url())
        .build()
        .expect("source");
    assert!(source.revoke_refresh_token().await.expect("revoked"), "the source holds the configured one");
    assert_eq!(sim.counters().revocations, 1);
    assert_eq!(sim.last_request().expect("captured").fields().get("token"), Some(&refresh));
    assert!(source.fetch().await.is_err(), "nothing to fall back to once it is revoked");
}
