//! The generic source against the generic simulator: exact requests, every answer shape.

use std::time::Duration;

use bearer_core::{Error, TokenSource};
use bearer_oauth2::{ClientAuth, Encoding, FieldNames, Grant, OAuth2TokenSource, OAuth2TokenSourceBuilder};
use bearer_testkit::{ExpiresInStyle, Fault, Simulator};
use http::StatusCode;

fn builder(sim: &Simulator) -> OAuth2TokenSourceBuilder {
    OAuth2TokenSource::builder(sim.token_url())
        .allow_http_loopback()
        .client_id(&sim.credentials().client_id)
        .client_secret(sim.credentials().client_secret.as_str())
}

fn password_grant(sim: &Simulator) -> Grant {
    Grant::Password {
        username: sim.credentials().username.clone(),
        password: sim.credentials().password.as_str().into(),
    }
}

#[tokio::test]
async fn client_credentials_with_basic_auth_and_form() {
    let sim = Simulator::oauth2().start().await;
    let source =
        builder(&sim).scope("read write").param("audience", "https://api.example.com").build().expect("source");
    let token = source.fetch().await.expect("token");
    assert!(token.secret().secret().starts_with("sim-at-"));
    assert_eq!(token.lifetime(), Some(Duration::from_secs(3600)));
    assert_eq!(token.scope(), Some("read write"));

    let request = sim.last_request().expect("captured");
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/oauth/token"));
    assert_eq!(request.header("content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(request.header("accept"), Some("application/json"));
    assert!(request.header("authorization").is_some_and(|v| v.starts_with("Basic ")));
    let fields = request.fields();
    assert_eq!(fields.get("grant_type").map(String::as_str), Some("client_credentials"));
    assert_eq!(fields.get("scope").map(String::as_str), Some("read write"));
    assert_eq!(fields.get("audience").map(String::as_str), Some("https://api.example.com"));
    assert!(!fields.contains_key("client_secret"), "no secret in the body with Basic auth");
}

#[tokio::test]
async fn a_client_credentials_source_holds_no_refresh_token() {
    let sim = Simulator::oauth2().start().await;
    let source = builder(&sim).build().expect("source");
    source.fetch().await.expect("token");
    assert!(source.held_refresh_token().is_none());
}

#[tokio::test]
async fn client_credentials_in_the_body() {
    let sim = Simulator::oauth2().start().await;
    builder(&sim).client_auth(ClientAuth::ClientSecretPost).build().expect("source").fetch().await.expect("token");
    let request = sim.last_request().expect("captured");
    assert_eq!(request.header("authorization"), None);
    let fields = request.fields();
    assert_eq!(fields.get("client_id"), Some(&sim.credentials().client_id));
    assert_eq!(fields.get("client_secret"), Some(&sim.credentials().client_secret));
}

#[tokio::test]
async fn json_encoding_and_camel_case_names() {
    let sim = Simulator::oauth2().start().await;
    let source = builder(&sim)
        .client_auth(ClientAuth::ClientSecretPost)
        .encoding(Encoding::Json)
        .field_names(FieldNames::CamelCase)
        .build()
        .expect("source");
    // The generic simulator speaks snake_case, so it refuses camelCase: the request is what we check.
    let error = source.fetch().await.expect_err("the generic simulator wants snake_case");
    assert_eq!(error.rejection().map(|r| r.status), Some(StatusCode::UNAUTHORIZED));
    let request = sim.last_request().expect("captured");
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&request.body).expect("json body");
    assert_eq!(body["grantType"], "client_credentials");
    assert_eq!(body["clientId"], sim.credentials().client_id.as_str());
    assert!(body.get("client_id").is_none());

    let snake =
        builder(&sim).client_auth(ClientAuth::ClientSecretPost).encoding(Encoding::Json).build().expect("source");
    snake.fetch().await.expect("JSON snake_case is accepted");
}

#[tokio::test]
async fn password_grant_then_rotating_refresh_then_fallback() {
    let sim = Simulator::oauth2().start().await;
    let source = builder(&sim).grant(password_grant(&sim)).build().expect("source");
    source.fetch().await.expect("password grant");
    assert!(source.has_refresh_token());
    let fields = sim.last_request().expect("captured").fields();
    assert_eq!(fields.get("grant_type").map(String::as_str), Some("password"));
    assert_eq!(fields.get("username"), Some(&sim.credentials().username));

    source.fetch().await.expect("refresh grant");
    let fields = sim.last_request().expect("captured").fields();
    assert_eq!(fields.get("grant_type").map(String::as_str), Some("refresh_token"));
    let counters = sim.counters();
    assert_eq!((counters.primary_grants, counters.refresh_grants), (1, 1));

    // The old refresh token died on use (rotation); revoke the new one too: the source falls
    // back to the password grant, once.
    sim.revoke_refresh_tokens();
    source.fetch().await.expect("fallback to password");
    let counters = sim.counters();
    assert_eq!((counters.token_requests, counters.primary_grants, counters.refresh_grants), (4, 2, 1));
}

#[tokio::test]
async fn a_refresh_refused_in_a_200_body_falls_back_to_the_full_grant() {
    // "A 2xx whose body carries an error field is an error": for a refresh, a refusal like
    // any 4xx, or the source would retry the dead refresh token forever.
    let sim = Simulator::oauth2().start().await;
    let source = builder(&sim).grant(password_grant(&sim)).build().expect("source");
    source.fetch().await.expect("password grant");
    let refused = r#"{"error":"invalid_grant","error_description":"refresh token expired"}"#;
    sim.fail_next(1, Fault::Body { content_type: "application/json", body: refused.into() });
    source.fetch().await.expect("the refusal falls back to the password grant");
    let counters = sim.counters();
    assert_eq!((counters.token_requests, counters.primary_grants), (3, 2));
}

#[tokio::test]
async fn transient_refresh_failure_does_not_burn_the_refresh_token() {
    let sim = Simulator::oauth2().start().await;
    let source = builder(&sim).grant(password_grant(&sim)).build().expect("source");
    source.fetch().await.expect("password grant");
    sim.fail_next(1, Fault::status(StatusCode::SERVICE_UNAVAILABLE, Some(3)));
    let error = source.fetch().await.expect_err("503");
    assert!(error.is_transient());
    assert!(source.has_refresh_token(), "kept for the next attempt");
    source.fetch().await.expect("refresh succeeds");
    assert_eq!(sim.counters().primary_grants, 1);
}

#[tokio::test]
async fn expires_in_shapes() {
    for (style, expected) in [
        (ExpiresInStyle::Integer, Duration::from_secs(600)),
        (ExpiresInStyle::Float, Duration::from_secs(599)),
        (ExpiresInStyle::String, Duration::from_secs(600)),
        (ExpiresInStyle::Absent, bearer_oauth2::DEFAULT_UNKNOWN_LIFETIME),
    ] {
        let sim = Simulator::oauth2().ttl(Duration::from_secs(600)).expires_in_style(style).start().await;
        let token = builder(&sim).build().expect("source").fetch().await.expect("token");
        assert_eq!(token.lifetime(), Some(expected), "{style:?}");
    }
}

#[tokio::test]
async fn bad_credentials_are_permanent_and_keep_the_oauth_error() {
    let sim = Simulator::oauth2().start().await;
    let source = OAuth2TokenSource::builder(sim.token_url())
        .allow_http_loopback()
        .client_id(&sim.credentials().client_id)
        .client_secret("wrong-secret-value")
        .build()
        .expect("source");
    let error = source.fetch().await.expect_err("bad secret");
    let rejection = error.rejection().expect("rejected");
    assert_eq!(rejection.status, StatusCode::UNAUTHORIZED);
    assert_eq!(rejection.code.as_deref(), Some("invalid_client"));
    assert_eq!(rejection.description.as_deref(), Some("client authentication failed"));
    assert!(!error.is_transient());
    assert!(!error.to_string().contains("wrong-secret-value"));
    assert!(!format!("{error:?}").contains("wrong-secret-value"));
}

#[tokio::test]
async fn fault_answers_are_typed() {
    let sim = Simulator::oauth2().start().await;
    let source = builder(&sim).build().expect("source");
    type Case = (Fault, fn(&Error) -> bool, bool);
    let cases: Vec<Case> = vec![
        (Fault::server_error(), |e| e.rejection().is_some_and(|r| r.status == 500), true),
        (
            Fault::status(StatusCode::TOO_MANY_REQUESTS, Some(12)),
            |e| e.retry_after() == Some(Duration::from_secs(12)),
            true,
        ),
        (Fault::status(StatusCode::BAD_GATEWAY, None), |e| e.rejection().is_some_and(|r| r.status == 502), true),
        (Fault::malformed_json(), |e| matches!(e, Error::Malformed(_)), false),
        (Fault::html(), |e| matches!(e, Error::Malformed(_)), false),
        (Fault::Reset, |e| matches!(e, Error::Transport(_)), true),
        (
            Fault::Body {
                content_type: "application/json",
                body: r#"{"error":"invalid_scope","error_description":"nope"}"#.into(),
            },
            |e| e.rejection().is_some_and(|r| r.status == 200 && r.code.as_deref() == Some("invalid_scope")),
            false,
        ),
        (
            Fault::Body { content_type: "application/json", body: String::new() },
            |e| matches!(e, Error::Malformed(_)),
            false,
        ),
        (
            Fault::Body {
                content_type: "application/json",
                body: format!(r#"{{"access_token":"{}"}}"#, "a".repeat(2 * 1024 * 1024)),
            },
            |e| matches!(e, Error::Malformed(m) if m.contains("larger than")),
            false,
        ),
        (
            Fault::Body { content_type: "application/json", body: r#"{"token_type":"bearer"}"#.into() },
            |e| matches!(e, Error::Malformed(_)),
            false,
        ),
        (
            Fault::Body { content_type: "application/json", body: r#"{"access_token":"bad\r\nX-Injected: 1"}"#.into() },
            |e| matches!(e, Error::Malformed(_)),
            false,
        ),
    ];
    for (i, (fault, expected, transient)) in cases.into_iter().enumerate() {
        sim.fail_next(1, fault);
        let error = source.fetch().await.expect_err("fault");
        assert!(expected(&error), "case {i}: {error:?}");
        assert_eq!(error.is_transient(), transient, "case {i}: {error}");
    }
    source.fetch().await.expect("recovers once the faults are spent");
}

#[tokio::test]
async fn slow_endpoint_times_out() {
    let sim = Simulator::oauth2().start().await;
    let source = builder(&sim).timeout(Duration::from_millis(200)).build().expect("source");
    sim.fail_next(1, Fault::Delay(Duration::from_secs(30)));
    let error = source.fetch().await.expect_err("timeout");
    assert!(error.is_timeout(), "{error:?}");
    assert!(error.is_transient());
    assert!(error.to_string().ends_with("operation timed out"), "the root cause is in the message: {error}");
    assert!(std::error::Error::source(&error).is_some(), "the cause chain is reachable");
}

#[tokio::test]
async fn connection_refused_is_transient() {
    let sim = Simulator::oauth2().start().await;
    let source = builder(&sim).build().expect("source");
    sim.stop();
    tokio::task::yield_now().await;
    let error = source.fetch().await.expect_err("refused");
    assert!(matches!(error, Error::Transport(_)) && !error.is_timeout(), "{error:?}");
    assert!(error.is_transient());
    let message = error.to_string();
    assert!(message.to_ascii_lowercase().contains("connection refused"), "the root cause is in the message: {message}");
    assert!(!message.contains("timed out"));
    let mut chain = Vec::new();
    let mut cause = std::error::Error::source(&error);
    while let Some(inner) = cause {
        chain.push(inner.to_string());
        cause = inner.source();
    }
    assert!(chain.len() >= 3, "reqwest's whole chain is reachable: {chain:?}");
    assert!(chain.last().is_some_and(|root| root.to_ascii_lowercase().contains("connection refused")), "{chain:?}");
}

#[test]
fn configuration_errors() {
    for url in ["not a url", "ftp://x/token", "https://user:pw@auth.example.com/token"] {
        let error = OAuth2TokenSource::builder(url).client_id("id").build().expect_err(url);
        assert!(matches!(error, Error::Config(_)), "{url}: {error}");
    }
    let error = OAuth2TokenSource::builder("https://a.example.com/t").build().expect_err("no client id");
    assert!(matches!(error, Error::Config(_)));
    let error = OAuth2TokenSource::builder("https://a.example.com/t").client_id("id").header("bad header", "x").build();
    assert!(matches!(error, Err(Error::Config(_))));
}
