//! Workload token sources (a token file, the GitHub Actions OIDC service) and discovery
//! from an issuer, against the verifying simulator.

use std::time::Duration;

use bearer_core::{Error, TokenSource};
use bearer_oauth2::{
    AssertionAudience, ClientAuth, ExternalToken, FileTokenSource, GitHubActionsOidc, OAuth2TokenSource,
    SigningAlgorithm, SigningKey, KUBERNETES_TOKEN_PATH,
};
use bearer_testkit::{jwt_part, unix_now, AuthorizationServer, ClientRegistration, TestKey, ACTIONS_ISSUER};

fn temp_file(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("bearer-oauth2-{name}-{}-{}", std::process::id(), unix_now()))
}

#[tokio::test]
async fn a_token_file_is_reread_at_each_fetch_and_its_exp_is_the_lifetime() {
    let key = TestKey::generate("ES256");
    let path = temp_file("file-source");
    std::fs::write(&path, format!("{}\n", key.mint("iss", "first", "aud", Duration::from_secs(600)))).expect("write");
    let source = FileTokenSource::new(&path);
    let first = source.fetch().await.expect("first");
    let lifetime = first.lifetime().expect("a lifetime");
    assert!(lifetime <= Duration::from_secs(600) && lifetime > Duration::from_secs(590), "{lifetime:?}: from exp");
    std::fs::write(&path, key.mint("iss", "second", "aud", Duration::from_secs(600))).expect("rotate");
    let second = source.fetch().await.expect("second");
    assert_ne!(first.secret(), second.secret(), "the rotated token is read");
    assert!(!second.secret().secret().ends_with('\n'), "trimmed");
    std::fs::write(&path, "  \n").expect("empty");
    assert!(matches!(source.fetch().await, Err(Error::Malformed(_))), "an empty file is not a token");
    let _ = std::fs::remove_file(&path);
    assert!(matches!(source.fetch().await, Err(Error::Config(_))), "a missing file");
    assert_eq!(FileTokenSource::kubernetes().path(), std::path::Path::new(KUBERNETES_TOKEN_PATH));
}

async fn actions_server(key: &TestKey) -> AuthorizationServer {
    AuthorizationServer::builder().github_actions("the-request-token", key).start().await
}

#[tokio::test]
async fn github_actions_oidc_token_for_an_audience() {
    let key = TestKey::generate("ES256");
    let server = actions_server(&key).await;
    let source = GitHubActionsOidc::new(&server.actions_url(), "the-request-token")
        .expect("source")
        .allow_http_loopback()
        .audience("api://AzureADTokenExchange");
    let token = source.fetch().await.expect("token");
    let claims = bearer_oauth2::provider_kit::jwt_expiry(token.secret().secret());
    assert!(claims.is_some(), "a JWT with exp");
    use base64::Engine as _;
    let payload = token.secret().secret().split('.').nth(1).expect("jwt").to_owned();
    let claims: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("b64"))
            .expect("json");
    assert_eq!(
        (claims["iss"].as_str(), claims["aud"].as_str()),
        (Some(ACTIONS_ISSUER), Some("api://AzureADTokenExchange"))
    );
}

#[tokio::test]
async fn github_actions_with_a_wrong_request_token_is_refused_without_leaking_it() {
    let key = TestKey::generate("ES256");
    let server = actions_server(&key).await;
    let source =
        GitHubActionsOidc::new(&server.actions_url(), "a-wrong-request-token").expect("source").allow_http_loopback();
    let error = source.fetch().await.expect_err("refused");
    assert_eq!(error.rejection().map(|r| r.status.as_u16()), Some(401));
    assert!(!format!("{error} {error:?} {source:?}").contains("a-wrong-request-token"));
}

#[test]
fn github_actions_from_env_needs_both_variables() {
    // The variables are absent in this test process (a runner sets them only for jobs with
    // `id-token: write`); nothing else in this binary sets them.
    if std::env::var_os("ACTIONS_ID_TOKEN_REQUEST_URL").is_none() {
        assert!(matches!(GitHubActionsOidc::from_env(), Err(Error::Config(_))));
    }
}

#[tokio::test]
async fn a_federated_client_assertion_from_a_workload_token() {
    let k8s = TestKey::generate("RS256");
    let issuer = "https://oidc.prod-cluster.example";
    let server = AuthorizationServer::builder()
        .client(
            "azure-app",
            ClientRegistration::Federated { issuer: issuer.into(), subject: "system:serviceaccount:prod:app".into() },
        )
        .trust_issuer(issuer, &k8s, "api://AzureADTokenExchange")
        .start()
        .await;
    let path = temp_file("federated");
    std::fs::write(
        &path,
        k8s.mint(issuer, "system:serviceaccount:prod:app", "api://AzureADTokenExchange", Duration::from_secs(600)),
    )
    .expect("write");
    let source = OAuth2TokenSource::builder(server.token_url())
        .allow_http_loopback()
        .client_id("azure-app")
        .client_auth(ClientAuth::PrivateKeyJwt)
        .client_assertion(ExternalToken::from_file(&path))
        .scope("https://graph.example/.default")
        .build()
        .expect("source");
    source.fetch().await.expect("token");
    std::fs::write(
        &path,
        k8s.mint(issuer, "system:serviceaccount:prod:other", "api://AzureADTokenExchange", Duration::from_secs(600)),
    )
    .expect("write");
    let error = source.fetch().await.expect_err("another service account");
    assert_eq!(error.rejection().and_then(|r| r.code.as_deref()), Some("invalid_client"));
    let _ = std::fs::remove_file(&path);
}

async fn discoverable(methods: &[&str], key: &TestKey) -> AuthorizationServer {
    AuthorizationServer::builder()
        .client("disc", ClientRegistration::Secret("disc-secret".into()))
        .client("signed", ClientRegistration::PublicKey(key.clone()))
        .auth_methods(methods)
        .start()
        .await
}

#[tokio::test]
async fn discovery_reads_metadata_on_the_first_fetch_and_caches_it() {
    let key = TestKey::generate("ES256");
    let server = discoverable(&["client_secret_post"], &key).await;
    let source = OAuth2TokenSource::discover(server.issuer())
        .allow_http_loopback()
        .client_id("disc")
        .client_secret("disc-secret")
        .client_auth(ClientAuth::ClientSecretPost)
        .build()
        .expect("source");
    assert_eq!(server.discovery_requests(), 0, "construction does no I/O");
    for _ in 0..3 {
        source.fetch().await.expect("token");
    }
    assert_eq!(server.discovery_requests(), 1, "read once, cached");
    assert_eq!(server.counters().token_requests, 3);
    assert_eq!(
        source.discovered_revocation_endpoint().await.expect("metadata").map(|u| u.to_string()),
        Some(server.revocation_url())
    );
    let metadata = source.server_metadata().await.expect("metadata").expect("discovered");
    assert_eq!(metadata.token_endpoint.as_str(), server.token_url());
}

#[tokio::test]
async fn discovery_refuses_a_method_the_server_does_not_advertise() {
    let key = TestKey::generate("ES256");
    let server = discoverable(&["client_secret_post", "private_key_jwt"], &key).await;
    let source = OAuth2TokenSource::discover(server.issuer())
        .allow_http_loopback()
        .client_id("disc")
        .client_secret("disc-secret")
        .client_auth(ClientAuth::ClientSecretBasic)
        .build()
        .expect("source");
    let error = source.fetch().await.expect_err("basic is not advertised");
    assert!(matches!(&error, Error::Config(m) if m.contains("client_secret_basic")), "{error}");
    assert_eq!(server.counters().token_requests, 0, "no credentials sent to a server that refuses the method");
}

#[tokio::test]
async fn discovery_gives_the_issuer_as_assertion_audience() {
    let key = TestKey::generate("ES256");
    let server = discoverable(&["private_key_jwt"], &key).await;
    let source = OAuth2TokenSource::discover(server.issuer())
        .allow_http_loopback()
        .client_id("signed")
        .client_auth(ClientAuth::PrivateKeyJwt)
        .signing_key(SigningKey::from_pem(SigningAlgorithm::ES256, key.private_pem()).expect("key"))
        .assertion_audience(AssertionAudience::Issuer)
        .build()
        .expect("source");
    source.fetch().await.expect("token");
    let claims = jwt_part(server.captured()[0].fields().get("client_assertion").expect("assertion"), 1);
    assert_eq!(claims["aud"], server.issuer());
    let without_discovery = OAuth2TokenSource::builder(server.token_url())
        .allow_http_loopback()
        .client_id("signed")
        .client_auth(ClientAuth::PrivateKeyJwt)
        .signing_key(SigningKey::from_pem(SigningAlgorithm::ES256, key.private_pem()).expect("key"))
        .assertion_audience(AssertionAudience::Issuer)
        .build();
    assert!(matches!(without_discovery, Err(Error::Config(_))));
}

#[tokio::test]
async fn discovery_of_an_unreachable_issuer_is_a_transient_error() {
    let key = TestKey::generate("ES256");
    let server = discoverable(&["client_secret_basic"], &key).await;
    let issuer = server.issuer();
    drop(server);
    let source = OAuth2TokenSource::discover(issuer)
        .allow_http_loopback()
        .client_id("disc")
        .client_secret("disc-secret")
        .build()
        .expect("source");
    let error = source.fetch().await.expect_err("unreachable");
    assert!(error.is_transient(), "{error}");
}

#[tokio::test]
async fn discovery_falls_back_to_the_openid_configuration() {
    let server = AuthorizationServer::builder()
        .client("disc", ClientRegistration::Secret("disc-secret".into()))
        .openid_configuration_only()
        .start()
        .await;
    let source = OAuth2TokenSource::discover(server.issuer())
        .allow_http_loopback()
        .client_id("disc")
        .client_secret("disc-secret")
        .build()
        .expect("source");
    source.fetch().await.expect("token through the OpenID document");
    assert_eq!(server.discovery_requests(), 1, "the RFC 8414 document was missing (404), the OpenID one was read");
}

#[tokio::test]
async fn revocation_uses_the_discovered_endpoint_and_the_signed_client_assertion() {
    let key = TestKey::generate("EdDSA");
    let server = AuthorizationServer::builder()
        .client("signed", ClientRegistration::PublicKey(key.clone()))
        .auth_methods(&["private_key_jwt"])
        .issue_refresh_tokens()
        .start()
        .await;
    let source = OAuth2TokenSource::discover(server.issuer())
        .allow_http_loopback()
        .client_id("signed")
        .client_auth(ClientAuth::PrivateKeyJwt)
        .signing_key(SigningKey::from_pem(SigningAlgorithm::EdDSA, key.private_pem()).expect("key"))
        .build()
        .expect("source");
    source.fetch().await.expect("token");
    assert!(source.has_refresh_token());
    assert!(source.revoke_refresh_token().await.expect("revoked"), "a refresh token was held");
    assert_eq!(server.revocations(), 1, "the server authenticated the client's fresh assertion and revoked");
    assert!(!source.has_refresh_token());
}

#[tokio::test]
async fn github_actions_over_plain_http_needs_the_loopback_opt_in() {
    let key = TestKey::generate("ES256");
    let server = actions_server(&key).await;
    let source = GitHubActionsOidc::new(&server.actions_url(), "the-request-token").expect("source");
    assert!(matches!(source.fetch().await, Err(Error::Config(_))), "no request token sent over http by default");
    assert!(GitHubActionsOidc::new("http://runner.example/token", "t").is_err(), "never to a remote http host");
}

/// A metadata endpoint on loopback that answers 503 `failures` times, then the metadata.
fn flaky_metadata_server(failures: usize) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read as _, Write as _};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let issuer = format!("http://{}", listener.local_addr().expect("address"));
    let served = std::sync::Arc::new(AtomicUsize::new(0));
    let (origin, count) = (issuer.clone(), std::sync::Arc::clone(&served));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.read(&mut [0u8; 4096]);
            let (status, body) = if count.fetch_add(1, Ordering::SeqCst) < failures {
                ("503 Service Unavailable", String::new())
            } else {
                (
                    "200 OK",
                    serde_json::json!({ "issuer": origin, "token_endpoint": format!("{origin}/token") }).to_string(),
                )
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (issuer, served)
}

#[tokio::test]
async fn a_failed_discovery_is_not_cached() {
    let (issuer, served) = flaky_metadata_server(2);
    let source = OAuth2TokenSource::discover(&issuer)
        .allow_http_loopback()
        .client_id("disc")
        .client_secret("disc-secret")
        .build()
        .expect("source");
    assert!(source.server_metadata().await.is_err(), "both well-known documents answer 503");
    let metadata = source.server_metadata().await.expect("asked again, not the cached failure").expect("discovered");
    assert_eq!(metadata.token_endpoint.as_str(), format!("{issuer}/token"));
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 3, "two failures, then one success, kept");
    source.server_metadata().await.expect("cached");
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 3);
}
