//! The JWT bearer grant (RFC 7523 §2.1) and token exchange (RFC 8693) against the verifying
//! simulator, with assertions and subject tokens from a file, a closure and other sources.

use std::time::Duration;

use bearer_core::{Error, TokenSource};
use bearer_oauth2::{
    token_types, ClientAuth, ExternalToken, GitHubActionsOidc, Grant, OAuth2TokenSource, TokenExchange,
};
use bearer_testkit::{oauth_error_of, unix_now, AuthorizationServer, ClientRegistration, TestKey, ACTIONS_ISSUER};

const K8S_ISSUER: &str = "https://kubernetes.default.svc";
const STS_AUDIENCE: &str = "sts.example";

struct Fixture {
    server: AuthorizationServer,
    k8s: TestKey,
    _dir: TempDir,
    token_file: std::path::PathBuf,
}

/// A directory removed on drop (no tempfile dependency for one directory).
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("bearer-oauth2-{name}-{}-{}", std::process::id(), unix_now()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    TempDir(dir)
}

async fn fixture(name: &str) -> Fixture {
    let k8s = TestKey::generate("RS256");
    let actions = TestKey::generate("ES256");
    let server = AuthorizationServer::builder()
        .client("workload", ClientRegistration::Public)
        .client("api-gateway", ClientRegistration::Secret("gw-secret".into()))
        .trust_issuer(K8S_ISSUER, &k8s, STS_AUDIENCE)
        .trust_issuer(ACTIONS_ISSUER, &actions, STS_AUDIENCE)
        .github_actions("gha-request-token", &actions)
        .allowed_audience("https://api.example.com")
        .start()
        .await;
    let dir = temp_dir(name);
    let token_file = dir.0.join("token");
    write_token(
        &token_file,
        &k8s.mint(K8S_ISSUER, "system:serviceaccount:prod:app", STS_AUDIENCE, Duration::from_secs(3600)),
    );
    Fixture { server, k8s, _dir: dir, token_file }
}

/// Writes like the kubelet: a new file renamed over the old one.
fn write_token(path: &std::path::Path, token: &str) {
    let next = path.with_extension("next");
    std::fs::write(&next, token).expect("write token");
    std::fs::rename(&next, path).expect("rotate token");
}

fn public(server: &AuthorizationServer, grant: Grant) -> OAuth2TokenSource {
    OAuth2TokenSource::builder(server.token_url())
        .allow_http_loopback()
        .client_id("workload")
        .client_auth(ClientAuth::None)
        .grant(grant)
        .build()
        .expect("source")
}

#[tokio::test]
async fn jwt_bearer_with_the_assertion_from_a_file() {
    let f = fixture("jwt-bearer-file").await;
    let source = public(&f.server, Grant::JwtBearer { assertion: ExternalToken::from_file(&f.token_file) });
    source.fetch().await.expect("token");
    let fields = f.server.captured()[0].fields();
    assert_eq!(fields.get("grant_type").map(String::as_str), Some(bearer_oauth2::JWT_BEARER_GRANT));
    assert_eq!(fields.get("assertion"), Some(&std::fs::read_to_string(&f.token_file).expect("file")));
}

#[tokio::test]
async fn jwt_bearer_with_the_assertion_from_a_closure_and_an_authenticated_client() {
    let f = fixture("jwt-bearer-closure").await;
    let (k8s, aud) = (f.k8s.clone(), f.server.token_url());
    let source = OAuth2TokenSource::builder(f.server.token_url())
        .allow_http_loopback()
        .client_id("api-gateway")
        .client_secret("gw-secret")
        .grant(Grant::JwtBearer {
            assertion: ExternalToken::from_fn(move || {
                Ok(k8s.mint(K8S_ISSUER, "user-7", &aud, Duration::from_secs(60)))
            }),
        })
        .build()
        .expect("source");
    source.fetch().await.expect("token");
}

#[tokio::test]
async fn jwt_bearer_with_the_github_actions_token() {
    let f = fixture("jwt-bearer-gha").await;
    let oidc = GitHubActionsOidc::new(&f.server.actions_url(), "gha-request-token")
        .expect("oidc")
        .allow_http_loopback()
        .audience(STS_AUDIENCE);
    let source = public(&f.server, Grant::JwtBearer { assertion: ExternalToken::from_source(oidc) });
    source.fetch().await.expect("token");
}

/// Each rule the server applies to a JWT-bearer assertion, with its error.
#[tokio::test]
async fn jwt_bearer_refusals_are_invalid_grant() {
    let f = fixture("jwt-bearer-refusals").await;
    let stranger = TestKey::generate("RS256");
    let now = unix_now();
    let claims = |iss: &str, sub: Option<&str>, aud: &str, exp: u64| {
        let mut c = serde_json::json!({ "iss": iss, "aud": aud, "exp": exp, "iat": now });
        if let Some(sub) = sub {
            c["sub"] = sub.into();
        }
        c
    };
    let cases = [
        (
            "untrusted issuer",
            stranger.sign(&claims("https://stranger.example", Some("x"), STS_AUDIENCE, now + 60)),
            "assertion: issuer is not trusted",
        ),
        (
            "bad signature",
            stranger.sign(&claims(K8S_ISSUER, Some("x"), STS_AUDIENCE, now + 60)),
            "assertion: signature does not verify",
        ),
        (
            "wrong audience",
            f.k8s.sign(&claims(K8S_ISSUER, Some("x"), "https://other.example", now + 60)),
            "assertion: audience is not this server",
        ),
        ("expired", f.k8s.sign(&claims(K8S_ISSUER, Some("x"), STS_AUDIENCE, now - 120)), "assertion: expired"),
        ("no subject", f.k8s.sign(&claims(K8S_ISSUER, None, STS_AUDIENCE, now + 60)), "assertion: no sub"),
        ("not a JWT", "opaque-value".to_owned(), "assertion: not a JWT"),
        (
            "no exp",
            f.k8s.sign(&serde_json::json!({ "iss": K8S_ISSUER, "sub": "x", "aud": STS_AUDIENCE, "iat": now })),
            "assertion: no exp",
        ),
        (
            "not valid yet",
            f.k8s.sign(&serde_json::json!({
                "iss": K8S_ISSUER, "sub": "x", "aud": STS_AUDIENCE, "iat": now, "nbf": now + 600, "exp": now + 900,
            })),
            "assertion: not valid yet",
        ),
    ];
    for (case, assertion, expected) in cases {
        let source =
            public(&f.server, Grant::JwtBearer { assertion: ExternalToken::from_fn(move || Ok(assertion.clone())) });
        let error = source.fetch().await.expect_err(case);
        assert_eq!(oauth_error_of(&error), (Some("invalid_grant"), Some(expected)), "{case}");
    }
}

#[tokio::test]
async fn token_exchange_of_a_kubernetes_token_with_every_parameter() {
    let f = fixture("exchange-k8s").await;
    let exchange = TokenExchange::new(ExternalToken::from_file(&f.token_file), token_types::JWT)
        .audience("https://api.example.com")
        .resource("https://api.example.com/orders")
        .resource("https://api.example.com/invoices")
        .requested_token_type(token_types::ACCESS_TOKEN);
    let source = OAuth2TokenSource::builder(f.server.token_url())
        .allow_http_loopback()
        .client_id("workload")
        .client_auth(ClientAuth::None)
        .grant(Grant::TokenExchange(exchange))
        .scope("orders:read")
        .build()
        .expect("source");
    source.fetch().await.expect("token");
    let record = f.server.exchanges().pop().expect("an exchange");
    assert_eq!(record.subject, "system:serviceaccount:prod:app");
    assert_eq!(record.audiences, ["https://api.example.com"]);
    assert_eq!(record.resources, ["https://api.example.com/orders", "https://api.example.com/invoices"]);
    assert_eq!(record.scope.as_deref(), Some("orders:read"));
    let fields = f.server.captured()[0].fields();
    assert_eq!(fields.get("subject_token_type").map(String::as_str), Some(token_types::JWT));
    assert_eq!(fields.get("requested_token_type").map(String::as_str), Some(token_types::ACCESS_TOKEN));
}

#[tokio::test]
async fn token_exchange_rereads_a_rotated_token_file() {
    let f = fixture("exchange-rotation").await;
    let source = public(
        &f.server,
        Grant::TokenExchange(TokenExchange::new(ExternalToken::from_file(&f.token_file), token_types::JWT)),
    );
    source.fetch().await.expect("first");
    write_token(
        &f.token_file,
        &f.k8s.mint(K8S_ISSUER, "system:serviceaccount:prod:rotated", STS_AUDIENCE, Duration::from_secs(3600)),
    );
    source.fetch().await.expect("second");
    let subjects: Vec<String> = f.server.exchanges().into_iter().map(|r| r.subject).collect();
    assert_eq!(subjects, ["system:serviceaccount:prod:app", "system:serviceaccount:prod:rotated"]);
}

#[tokio::test]
async fn token_exchange_composes_over_other_sources_with_an_actor() {
    let f = fixture("exchange-compose").await;
    // The subject: an access token another source gets from this server (client credentials).
    let upstream = OAuth2TokenSource::builder(f.server.token_url())
        .allow_http_loopback()
        .client_id("api-gateway")
        .client_secret("gw-secret")
        .build()
        .expect("upstream");
    // The actor: the GitHub Actions job, through its OIDC token service.
    let oidc = GitHubActionsOidc::new(&f.server.actions_url(), "gha-request-token")
        .expect("oidc")
        .allow_http_loopback()
        .audience(STS_AUDIENCE);
    let exchange = TokenExchange::new(ExternalToken::from_source(upstream), token_types::ACCESS_TOKEN)
        .actor(ExternalToken::from_source(oidc), token_types::JWT);
    let source = public(&f.server, Grant::TokenExchange(exchange));
    let token = source.fetch().await.expect("token");
    let record = f.server.exchanges().pop().expect("exchange");
    assert!(record.subject.starts_with("access-token:"), "{record:?}");
    assert_eq!(record.actor.as_deref(), Some("repo:octo-org/app:ref:refs/heads/main"));
    assert_eq!(f.server.issued_tokens().last(), Some(&token.secret().secret().to_owned()));
}

#[tokio::test]
async fn token_exchange_refusals_carry_the_rfc_errors() {
    let f = fixture("exchange-refusals").await;
    let good = std::fs::read_to_string(&f.token_file).expect("token");
    let fetch = |exchange: TokenExchange| {
        let source = public(&f.server, Grant::TokenExchange(exchange));
        async move { source.fetch().await.expect_err("refused") }
    };
    let subject = |value: String| ExternalToken::from_fn(move || Ok(value.clone()));
    let forged = TestKey::generate("RS256").mint(K8S_ISSUER, "x", STS_AUDIENCE, Duration::from_secs(60));
    let error = fetch(TokenExchange::new(subject(forged), token_types::JWT)).await;
    assert_eq!(oauth_error_of(&error), (Some("invalid_grant"), Some("token: signature does not verify")));
    let error = fetch(TokenExchange::new(subject("not-issued-here".into()), token_types::ACCESS_TOKEN)).await;
    assert_eq!(oauth_error_of(&error), (Some("invalid_grant"), Some("token: the access token is unknown or expired")));
    let error = fetch(TokenExchange::new(subject(good.clone()), token_types::SAML2)).await;
    assert_eq!(oauth_error_of(&error), (Some("invalid_request"), Some("unsupported token type")));
    let error =
        fetch(TokenExchange::new(subject(good.clone()), token_types::JWT).audience("https://not-allowed.example"))
            .await;
    assert_eq!(oauth_error_of(&error).0, Some("invalid_target"));
    let error =
        fetch(TokenExchange::new(subject(good.clone()), token_types::JWT).requested_token_type(token_types::ID_TOKEN))
            .await;
    assert_eq!(oauth_error_of(&error), (Some("invalid_request"), Some("only access tokens are issued")));
    let bad_actor = TestKey::generate("ES256").mint(ACTIONS_ISSUER, "x", STS_AUDIENCE, Duration::from_secs(60));
    let error =
        fetch(TokenExchange::new(subject(good), token_types::JWT).actor(subject(bad_actor), token_types::JWT)).await;
    assert_eq!(oauth_error_of(&error), (Some("invalid_grant"), Some("token: signature does not verify")));
}

#[tokio::test]
async fn token_exchange_requires_a_subject_token() {
    let f = fixture("exchange-missing").await;
    let response = reqwest::Client::new()
        .post(f.server.token_url())
        .form(&[("grant_type", bearer_oauth2::TOKEN_EXCHANGE_GRANT), ("client_id", "workload")])
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.expect("body")).expect("json");
    assert_eq!(body["error"], "invalid_request");
    let response = reqwest::Client::new()
        .post(f.server.token_url())
        .form(&[
            ("grant_type", bearer_oauth2::TOKEN_EXCHANGE_GRANT),
            ("subject_token", &std::fs::read_to_string(&f.token_file).expect("token")),
            ("subject_token_type", token_types::JWT),
            ("actor_token", "x"),
        ])
        .send()
        .await
        .expect("response");
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.expect("body")).expect("json");
    assert_eq!(
        (body["error"].as_str(), body["error_description"].as_str()),
        (Some("invalid_request"), Some("actor_token and actor_token_type go together"))
    );
}

#[tokio::test]
async fn subject_and_assertion_values_never_appear_in_errors_or_debug() {
    let f = fixture("exchange-secrets").await;
    let forged = TestKey::generate("RS256").mint(K8S_ISSUER, "x", STS_AUDIENCE, Duration::from_secs(60));
    let value = forged.clone();
    let exchange = TokenExchange::new(ExternalToken::from_fn(move || Ok(value.clone())), token_types::JWT);
    let source = public(&f.server, Grant::TokenExchange(exchange));
    let error = source.fetch().await.expect_err("refused");
    assert!(!format!("{error} {error:?} {source:?}").contains(&forged));
}

#[tokio::test]
async fn a_missing_token_file_is_a_configuration_error() {
    let f = fixture("missing-file").await;
    let source = public(
        &f.server,
        Grant::JwtBearer { assertion: ExternalToken::from_file(f.token_file.with_extension("absent")) },
    );
    assert!(matches!(source.fetch().await, Err(Error::Config(_))));
    assert_eq!(f.server.counters().token_requests, 0, "nothing sent without an assertion");
}

/// JSON has no repeated keys: several audiences or resources travel as an array, not as the
/// last one alone; and the server checks every one of them whatever the encoding.
#[tokio::test]
async fn token_exchange_in_json_sends_every_audience_and_resource() {
    let f = fixture("exchange-json").await;
    let json_source = |exchange: TokenExchange| {
        OAuth2TokenSource::builder(f.server.token_url())
            .allow_http_loopback()
            .client_id("workload")
            .client_auth(ClientAuth::None)
            .encoding(bearer_oauth2::Encoding::Json)
            .grant(Grant::TokenExchange(exchange))
            .build()
            .expect("source")
    };
    let exchange = TokenExchange::new(ExternalToken::from_file(&f.token_file), token_types::JWT)
        .audience("https://api.example.com")
        .resource("https://api.example.com/orders")
        .resource("https://api.example.com/invoices");
    json_source(exchange).fetch().await.expect("token");
    let body: serde_json::Value = serde_json::from_slice(&f.server.captured()[0].body).expect("a JSON body");
    assert_eq!(body["audience"], "https://api.example.com", "a single value stays a string");
    assert_eq!(
        body["resource"],
        serde_json::json!(["https://api.example.com/orders", "https://api.example.com/invoices"])
    );
    let record = f.server.exchanges().pop().expect("an exchange");
    assert_eq!(record.audiences, ["https://api.example.com"]);
    assert_eq!(record.resources, ["https://api.example.com/orders", "https://api.example.com/invoices"]);

    let exchange = TokenExchange::new(ExternalToken::from_file(&f.token_file), token_types::JWT)
        .audience("https://api.example.com")
        .audience("https://not-allowed.example");
    let error = json_source(exchange).fetch().await.expect_err("one audience is not allowed");
    assert_eq!(oauth_error_of(&error).0, Some("invalid_target"));
}
