//! Zuora's token contract against the Zuora simulator.

use std::time::Duration;

use bearer_core::{Error, RefreshPolicy, TokenCache, TokenSource};
use bearer_oauth2::provider_kit::TokenResponse;
use bearer_oauth2::DEFAULT_UNKNOWN_LIFETIME;
use bearer_testkit::{env_map, Fault, Simulator, ZUORA_WWW_AUTHENTICATE};
use bearer_zuora::{ZuoraEnvironment, ZuoraTokenSource, ZuoraTokenSourceBuilder};
use http::StatusCode;

fn builder(sim: &Simulator) -> ZuoraTokenSourceBuilder {
    ZuoraTokenSource::builder(ZuoraEnvironment::Custom(sim.base_url()))
        .allow_http_loopback()
        .client_id(&sim.credentials().client_id)
        .client_secret(sim.credentials().client_secret.as_str())
}

#[tokio::test]
async fn exact_token_request() {
    let sim = Simulator::zuora().start().await;
    let source = builder(&sim)
        .track_id("sync-42")
        .zuora_version("2024-05-20")
        .org_ids(["org-a", "org-b"])
        .entity_ids(["entity-1"])
        .build()
        .expect("source");
    let token = source.fetch().await.expect("token");
    assert_eq!(token.lifetime(), Some(Duration::from_secs(3599)), "float expires_in 3599.0");
    assert!(token.scope().is_some_and(|s| s.contains("service.usage.update")));

    let request = sim.last_request().expect("captured");
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/oauth/token"));
    assert_eq!(request.header("content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(request.header("accept"), Some("application/json"));
    assert_eq!(request.header("authorization"), None, "no Authorization header on the token call");
    assert_eq!(request.header("apiaccesskeyid"), None);
    assert_eq!(request.header("zuora-track-id"), Some("sync-42"));
    assert_eq!(request.header("zuora-version"), Some("2024-05-20"));
    assert_eq!(request.header("zuora-org-ids"), Some("org-a,org-b"));
    assert_eq!(request.header("zuora-entity-ids"), Some("entity-1"));
    let fields = request.fields();
    assert_eq!(fields.len(), 3);
    assert_eq!(fields.get("grant_type").map(String::as_str), Some("client_credentials"));
    assert_eq!(fields.get("client_id"), Some(&sim.credentials().client_id));
    assert_eq!(fields.get("client_secret"), Some(&sim.credentials().client_secret));
}

#[tokio::test]
async fn optional_headers_are_absent_unless_set() {
    let sim = Simulator::zuora().start().await;
    builder(&sim).build().expect("source").fetch().await.expect("token");
    let request = sim.last_request().expect("captured");
    for header in ["zuora-track-id", "zuora-version", "zuora-org-ids", "zuora-entity-ids", "authorization"] {
        assert_eq!(request.header(header), None, "{header}");
    }
}

#[test]
fn documented_success_body_parses() {
    let body = br#"{"access_token":"6a3e6c0bb1e64bb2b0a46e3fbb5b1d2d","token_type":"bearer","expires_in":3599.0,
        "scope":"user.7d4c entity.1a2b service.usage.update","jti":"6a3e6c0bb1e64bb2b0a46e3fbb5b1d2d"}"#;
    let (token, refresh) =
        TokenResponse::parse(body).expect("parse").into_token(DEFAULT_UNKNOWN_LIFETIME).expect("token");
    assert_eq!(token.lifetime(), Some(Duration::from_secs(3599)));
    assert!(refresh.is_none());
}

#[tokio::test]
async fn bad_credentials_are_401_authentication_error_and_permanent() {
    let sim = Simulator::zuora().start().await;
    let source = ZuoraTokenSource::builder(ZuoraEnvironment::Custom(sim.base_url()))
        .allow_http_loopback()
        .client_id("someone")
        .client_secret("not-the-secret")
        .build()
        .expect("source");
    let error = source.fetch().await.expect_err("bad credentials");
    let rejection = error.rejection().expect("rejected");
    assert_eq!(rejection.status, StatusCode::UNAUTHORIZED);
    assert_eq!(rejection.description.as_deref(), Some("Authentication error"));
    assert!(
        rejection.request_id.as_deref().is_some_and(|id| id.starts_with("sim-zuora-req-")),
        "Zuora-Request-Id kept"
    );
    assert!(!error.is_transient());
}

#[tokio::test]
async fn rate_limit_is_429_with_the_documented_headers_kept_in_the_error() {
    let sim = Simulator::zuora().rate_limit_per_minute(2).start().await;
    let source = builder(&sim).track_id("job-7").build().expect("source");
    source.fetch().await.expect("1st");
    source.fetch().await.expect("2nd");
    let error = source.fetch().await.expect_err("3rd is over the limit");
    let rejection = error.rejection().expect("rejected");
    assert_eq!(rejection.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(rejection.retry_after, None, "Zuora's 429 has no Retry-After and no reset header");
    let limit = rejection.rate_limit.clone().expect("X-RateLimit-*-minute kept");
    assert_eq!((limit.limit, limit.remaining, limit.window), (Some(2), Some(0), Some(Duration::from_secs(60))));
    assert!(rejection.request_id.is_some(), "Zuora-Request-Id kept");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(60)), "wait until the minute can have passed");
    assert!(error.is_transient());

    // The simulator sends exactly the seed's 429 headers, nothing invented.
    let response = reqwest::Client::new()
        .post(sim.token_url())
        .header("Accept", "application/json")
        .header("Zuora-Track-Id", "job-7")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let mut names: Vec<&str> = response.headers().keys().map(|k| k.as_str()).collect();
    names.retain(|n| !matches!(*n, "content-type" | "content-length" | "date"));
    names.sort_unstable();
    assert_eq!(
        names,
        ["x-ratelimit-limit-minute", "x-ratelimit-remaining-minute", "zuora-request-id", "zuora-track-id"]
    );
}

#[tokio::test(start_paused = true)]
async fn the_cache_backs_off_until_the_rate_limit_minute_has_passed() {
    let sim = Simulator::zuora().rate_limit_per_minute(1).start().await;
    // No idle connections and no timeout: nothing for the paused clock to trip over.
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("client");
    let source = builder(&sim).http_client(http).build().expect("source");
    let cache = TokenCache::with_policy(source, RefreshPolicy::default().with_jitter(0.0));
    let first = cache.token().await.expect("first token");
    cache.invalidate(&first);
    let error = cache.token().await.expect_err("the second token call of the minute is refused");
    assert_eq!(error.rejection().map(|r| r.status), Some(StatusCode::TOO_MANY_REQUESTS));
    tokio::time::advance(Duration::from_secs(59)).await;
    assert!(cache.token().await.is_err(), "still backing off");
    assert_eq!(sim.counters().token_requests, 2, "no token call inside the minute");
    tokio::time::advance(Duration::from_secs(2)).await;
    cache.token().await.expect("the window has passed");
    assert_eq!(sim.counters().token_requests, 3);
}

#[tokio::test]
async fn server_errors_are_transient() {
    let sim = Simulator::zuora().start().await;
    let source = builder(&sim).build().expect("source");
    sim.fail_next(1, Fault::status(StatusCode::SERVICE_UNAVAILABLE, Some(5)));
    let error = source.fetch().await.expect_err("503");
    assert!(error.is_transient());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(5)));
}

#[tokio::test]
async fn api_rejects_a_revoked_token_with_zuora_challenge() {
    let sim = Simulator::zuora().start().await;
    let token = builder(&sim).build().expect("source").fetch().await.expect("token");
    sim.revoke_all();
    let response = reqwest::Client::new()
        .get(sim.api_url())
        .header("authorization", token.header_value().clone())
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()), Some(ZUORA_WWW_AUTHENTICATE));
}

#[tokio::test]
async fn from_env_reads_the_documented_variables() {
    let from = |pairs: &[(&str, &str)]| ZuoraTokenSource::from_env_with(env_map(pairs));
    assert!(matches!(from(&[]), Err(Error::Config(m)) if m.contains("ZUORA_CLIENT_ID")));
    let creds = [("ZUORA_CLIENT_ID", "id"), ("ZUORA_CLIENT_SECRET", "secret")];
    assert_eq!(from(&creds).expect("source").api_origin(), "https://rest.zuora.com");
    let bad_track = [creds[0], creds[1], ("ZUORA_ENVIRONMENT", "eu-api-sandbox"), ("ZUORA_TRACK_ID", "bad;id")];
    assert!(matches!(from(&bad_track), Err(Error::Config(_))), "track id validated");
    assert_eq!(from(&bad_track[..3]).expect("source").api_origin(), "https://rest.sandbox.eu.zuora.com");

    // Every optional header variable reaches the token call.
    let sim = Simulator::zuora().start().await;
    let base = sim.base_url();
    let creds = sim.credentials();
    let vars = [
        ("ZUORA_CLIENT_ID", creds.client_id.as_str()),
        ("ZUORA_CLIENT_SECRET", creds.client_secret.as_str()),
        ("ZUORA_ENVIRONMENT", base.as_str()),
        ("ZUORA_TRACK_ID", "env-42"),
        ("ZUORA_VERSION", "2024-05-20"),
        ("ZUORA_ORG_IDS", "org-a, org-b"),
        ("ZUORA_ENTITY_IDS", "entity-1"),
    ];
    assert!(matches!(from(&vars), Err(Error::Config(m)) if m.contains("allow_http_loopback")));
    let mut allowed = vars.to_vec();
    allowed.push(("ZUORA_ALLOW_HTTP_LOOPBACK", "1"));
    from(&allowed).expect("source").fetch().await.expect("token");
    let request = sim.last_request().expect("captured");
    let headers = ["zuora-track-id", "zuora-version", "zuora-org-ids", "zuora-entity-ids"].map(|h| request.header(h));
    assert_eq!(headers, [Some("env-42"), Some("2024-05-20"), Some("org-a,org-b"), Some("entity-1")]);
}

#[tokio::test]
async fn documented_error_shapes_are_typed() {
    let sim = Simulator::zuora().start().await;
    let source = builder(&sim).build().expect("source");
    let cases = [
        (
            StatusCode::BAD_REQUEST,
            r#"{"code":"90000011","message":"invalid input"}"#,
            Some("90000011"),
            "invalid input",
            false,
        ),
        (StatusCode::UNAUTHORIZED, r#"{"message":"Authentication error"}"#, None, "Authentication error", false),
        (StatusCode::FORBIDDEN, r#"{"message":"Unauthorized"}"#, None, "Unauthorized", false),
        (StatusCode::TOO_MANY_REQUESTS, r#"{"message":"Too many requests"}"#, None, "Too many requests", true),
    ];
    for (status, body, code, message, transient) in cases {
        sim.fail_next(1, Fault::Status { status, retry_after: None, body: body.into() });
        let error = source.fetch().await.expect_err(body);
        let rejection = error.rejection().expect("rejected");
        assert_eq!(
            (rejection.status, rejection.code.as_deref(), rejection.description.as_deref()),
            (status, code, Some(message))
        );
        assert_eq!(error.is_transient(), transient, "{body}");
    }
}
