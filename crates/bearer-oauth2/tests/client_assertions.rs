//! `private_key_jwt`, `client_secret_jwt` and `none` against the verifying simulator: each
//! method and key form works, and each rule the server enforces refuses what breaks it.

use std::time::Duration;

use bearer_core::{Error, TokenCache, TokenSource};
use bearer_oauth2::{AssertionAudience, ClientAuth, OAuth2TokenSource, SigningAlgorithm, SigningKey};
use bearer_testkit::{jwt_part, oauth_error_of, unix_now, AuthorizationServer, ClientRegistration, TestKey};

const CLIENT: &str = "svc-client";

async fn server_for(key: &TestKey) -> AuthorizationServer {
    AuthorizationServer::builder().client(CLIENT, ClientRegistration::PublicKey(key.clone())).start().await
}

fn source(server: &AuthorizationServer, key: SigningKey) -> OAuth2TokenSource {
    OAuth2TokenSource::builder(server.token_url())
        .allow_http_loopback()
        .client_id(CLIENT)
        .client_auth(ClientAuth::PrivateKeyJwt)
        .signing_key(key)
        .build()
        .expect("source")
}

fn rejection_code(error: &Error) -> (Option<&str>, Option<&str>) {
    oauth_error_of(error)
}

fn assertion_claims(request: &bearer_testkit::CapturedRequest) -> serde_json::Value {
    jwt_part(request.fields().get("client_assertion").expect("a client_assertion"), 1)
}

fn assertion_header(request: &bearer_testkit::CapturedRequest) -> serde_json::Value {
    jwt_part(request.fields().get("client_assertion").expect("a client_assertion"), 0)
}

#[tokio::test]
async fn private_key_jwt_from_pem_with_every_algorithm() {
    for (alg, ours) in [
        ("RS256", SigningAlgorithm::RS256),
        ("PS256", SigningAlgorithm::PS256),
        ("ES256", SigningAlgorithm::ES256),
        ("EdDSA", SigningAlgorithm::EdDSA),
    ] {
        let key = TestKey::generate(alg);
        let server = server_for(&key).await;
        let signing = SigningKey::from_pem(ours, key.private_pem()).expect("PEM key");
        let token = source(&server, signing).fetch().await.unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert!(server.issued_tokens().contains(&token.secret().secret().to_owned()), "{alg}");
        let request = server.captured().pop().expect("one request");
        assert_eq!(assertion_header(&request)["alg"], alg);
        let fields = request.fields();
        assert_eq!(fields.get("client_assertion_type").map(String::as_str), Some(bearer_oauth2::CLIENT_ASSERTION_TYPE));
        assert!(request.header("authorization").is_none(), "no Basic header with an assertion");
    }
}

#[tokio::test]
async fn private_key_jwt_from_jwk_with_every_key_type() {
    for alg in ["RS256", "PS256", "ES256", "EdDSA"] {
        let key = TestKey::generate(alg);
        let server = server_for(&key).await;
        let signing = SigningKey::from_jwk(&key.private_jwk()).expect("JWK key");
        assert_eq!(signing.algorithm().name(), alg, "the JWK's alg is used");
        assert_eq!(signing.kid(), Some(key.kid()));
        source(&server, signing).fetch().await.unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(assertion_header(&server.captured()[0])["kid"], key.kid(), "{alg}: kid in the header");
    }
}

#[tokio::test]
async fn assertion_claims_are_client_id_token_endpoint_unique_jti_and_short_exp() {
    let key = TestKey::generate("ES256");
    let server = server_for(&key).await;
    let source = source(&server, SigningKey::from_pem(SigningAlgorithm::ES256, key.private_pem()).expect("key"));
    for _ in 0..3 {
        source.fetch().await.expect("token");
    }
    let captured = server.captured();
    let claims: Vec<serde_json::Value> = captured.iter().map(assertion_claims).collect();
    for c in &claims {
        assert_eq!(c["iss"], CLIENT);
        assert_eq!(c["sub"], CLIENT);
        assert_eq!(c["aud"], server.token_url(), "aud defaults to the token endpoint");
        let (iat, exp) = (c["iat"].as_u64().expect("iat"), c["exp"].as_u64().expect("exp"));
        assert_eq!(exp - iat, bearer_oauth2::ASSERTION_LIFETIME.as_secs());
        assert!(exp - iat <= 300, "short-lived");
    }
    let mut jtis: Vec<&str> = claims.iter().map(|c| c["jti"].as_str().expect("jti")).collect();
    jtis.dedup();
    assert_eq!(jtis.len(), 3, "a new jti per fetch");
}

#[tokio::test]
async fn one_signature_per_token_fetch_not_per_request() {
    let key = TestKey::generate("EdDSA");
    let server = server_for(&key).await;
    let cache = TokenCache::new(source(
        &server,
        SigningKey::from_pem(SigningAlgorithm::EdDSA, key.private_pem()).expect("key"),
    ));
    for _ in 0..50 {
        cache.token().await.expect("token");
    }
    assert_eq!(server.captured().len(), 1, "50 token reads, one fetch, one assertion");
}

#[tokio::test]
async fn audience_can_be_another_value() {
    let key = TestKey::generate("ES256");
    let server = server_for(&key).await;
    let source = OAuth2TokenSource::builder(server.token_url())
        .allow_http_loopback()
        .client_id(CLIENT)
        .client_auth(ClientAuth::PrivateKeyJwt)
        .signing_key(SigningKey::from_pem(SigningAlgorithm::ES256, key.private_pem()).expect("key"))
        .assertion_audience(AssertionAudience::Other(server.issuer()))
        .build()
        .expect("source");
    source.fetch().await.expect("the server accepts its issuer as aud");
    assert_eq!(assertion_claims(&server.captured()[0])["aud"], server.issuer());
}

#[tokio::test]
async fn client_secret_jwt_signs_hs256_with_the_secret() {
    let server = AuthorizationServer::builder()
        .client(CLIENT, ClientRegistration::SecretJwt("a-long-shared-secret-for-hs256-0001".into()))
        .start()
        .await;
    let build = |secret: &str| {
        OAuth2TokenSource::builder(server.token_url())
            .allow_http_loopback()
            .client_id(CLIENT)
            .client_secret(secret)
            .client_auth(ClientAuth::ClientSecretJwt)
            .build()
            .expect("source")
    };
    build("a-long-shared-secret-for-hs256-0001").fetch().await.expect("token");
    assert_eq!(assertion_header(&server.captured()[0])["alg"], "HS256");
    assert!(!server.captured()[0].fields().contains_key("client_secret"), "the secret is never sent");
    let error = build("another-secret-entirely-000000000000").fetch().await.expect_err("wrong secret");
    assert_eq!(rejection_code(&error), (Some("invalid_client"), Some("client assertion signature does not verify")));
}

#[tokio::test]
async fn public_client_sends_only_its_id() {
    let server = AuthorizationServer::builder().client("spa", ClientRegistration::Public).start().await;
    let key = TestKey::generate("ES256");
    let issuer = "https://idp.example";
    let server_with_issuer = AuthorizationServer::builder()
        .client("spa", ClientRegistration::Public)
        .trust_issuer(issuer, &key, "spa")
        .start()
        .await;
    let _ = server;
    let assertion = key.mint(issuer, "user-1", &server_with_issuer.token_url(), Duration::from_secs(60));
    let source = OAuth2TokenSource::builder(server_with_issuer.token_url())
        .allow_http_loopback()
        .client_id("spa")
        .client_auth(ClientAuth::None)
        .grant(bearer_oauth2::Grant::JwtBearer {
            assertion: bearer_oauth2::ExternalToken::from_fn(move || Ok(assertion.clone())),
        })
        .build()
        .expect("source");
    source.fetch().await.expect("token");
    let request = &server_with_issuer.captured()[0];
    assert_eq!(request.fields().get("client_id").map(String::as_str), Some("spa"));
    assert!(request.header("authorization").is_none());
    assert!(!request.fields().contains_key("client_secret") && !request.fields().contains_key("client_assertion"));
}

#[tokio::test]
async fn an_unregistered_public_client_is_refused() {
    let server = AuthorizationServer::builder().client("spa", ClientRegistration::Public).start().await;
    let source = OAuth2TokenSource::builder(server.token_url())
        .allow_http_loopback()
        .client_id("stranger")
        .client_auth(ClientAuth::None)
        .build()
        .expect("source");
    let error = source.fetch().await.expect_err("unknown client");
    assert_eq!(rejection_code(&error).0, Some("invalid_client"));
}

#[test]
fn signing_keys_never_show_in_debug_or_errors() {
    let key = TestKey::generate("ES256");
    let signing = SigningKey::from_pem(SigningAlgorithm::ES256, key.private_pem()).expect("key");
    let shown = format!("{signing:?}");
    assert!(shown.contains("[redacted]") && !shown.contains("PRIVATE"), "{shown}");
    let jwk = key.private_jwk();
    let d = serde_json::from_str::<serde_json::Value>(&jwk).expect("jwk")["d"].as_str().expect("d").to_owned();
    let source = OAuth2TokenSource::builder("https://auth.example.com/token")
        .client_id(CLIENT)
        .client_auth(ClientAuth::PrivateKeyJwt)
        .signing_key(SigningKey::from_jwk(&jwk).expect("key"))
        .build()
        .expect("source");
    assert!(!format!("{source:?}").contains(&d), "the private scalar never appears");
}

#[test]
fn wrong_keys_are_configuration_errors() {
    let ec = TestKey::generate("ES256");
    for (alg, pem) in [
        (SigningAlgorithm::RS256, ec.private_pem()),
        (SigningAlgorithm::EdDSA, ec.private_pem()),
        (SigningAlgorithm::ES256, "not a pem"),
    ] {
        let error = SigningKey::from_pem(alg, pem).expect_err("mismatched key");
        assert!(matches!(error, Error::Config(_)), "{error}");
        assert!(!error.to_string().contains("PRIVATE KEY"), "{error}");
    }
    assert!(matches!(SigningKey::from_pem(SigningAlgorithm::HS256, ec.private_pem()), Err(Error::Config(_))));
    let missing = OAuth2TokenSource::builder("https://auth.example.com/token")
        .client_id(CLIENT)
        .client_auth(ClientAuth::PrivateKeyJwt)
        .build();
    assert!(matches!(missing, Err(Error::Config(_))), "private_key_jwt without a key");
    let no_secret = OAuth2TokenSource::builder("https://auth.example.com/token")
        .client_id(CLIENT)
        .client_auth(ClientAuth::ClientSecretJwt)
        .build();
    assert!(matches!(no_secret, Err(Error::Config(_))), "client_secret_jwt without a secret");
    let unused = OAuth2TokenSource::builder("https://auth.example.com/token")
        .client_id(CLIENT)
        .client_secret("s")
        .signing_key(SigningKey::from_pem(SigningAlgorithm::ES256, ec.private_pem()).expect("key"))
        .build();
    assert!(matches!(unused, Err(Error::Config(_))), "a key with client_secret_basic is a mistake");
    let anonymous = OAuth2TokenSource::builder("https://auth.example.com/token")
        .client_auth(ClientAuth::PrivateKeyJwt)
        .signing_key(SigningKey::from_pem(SigningAlgorithm::ES256, ec.private_pem()).expect("key"))
        .build();
    assert!(matches!(anonymous, Err(Error::Config(_))), "an assertion needs a client id for iss and sub");
}

// ---- one negative test per rule the simulator enforces on client assertions ----

/// Posts a client_credentials request with `assertion` (and the standard type unless
/// `assertion_type` says otherwise) straight to the server.
async fn post_assertion(
    server: &AuthorizationServer,
    assertion: &str,
    assertion_type: &str,
) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(server.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_assertion_type", assertion_type),
            ("client_assertion", assertion),
        ])
        .send()
        .await
        .expect("response");
    let status = response.status().as_u16();
    (status, serde_json::from_slice(&response.bytes().await.expect("body")).expect("json"))
}

fn good_claims(server: &AuthorizationServer) -> serde_json::Value {
    let now = unix_now();
    serde_json::json!({ "iss": CLIENT, "sub": CLIENT, "aud": server.token_url(), "iat": now, "exp": now + 60, "jti": format!("jti-{now}-{}", rand_suffix()) })
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

async fn refused_with(
    mutate: impl FnOnce(&mut serde_json::Value, &AuthorizationServer),
    sign_with_other_key: bool,
    expected: &str,
) {
    let key = TestKey::generate("ES256");
    let server = server_for(&key).await;
    let mut claims = good_claims(&server);
    mutate(&mut claims, &server);
    let signer = if sign_with_other_key { TestKey::generate("ES256") } else { key };
    let (status, body) = post_assertion(&server, &signer.sign(&claims), bearer_oauth2::CLIENT_ASSERTION_TYPE).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    assert_eq!(body["error_description"], expected);
}

#[tokio::test]
async fn a_well_formed_forged_request_is_accepted() {
    let key = TestKey::generate("ES256");
    let server = server_for(&key).await;
    let (status, body) =
        post_assertion(&server, &key.sign(&good_claims(&server)), bearer_oauth2::CLIENT_ASSERTION_TYPE).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn assertion_signed_by_another_key_is_refused() {
    refused_with(|_, _| {}, true, "client assertion signature does not verify").await;
}

#[tokio::test]
async fn assertion_for_another_client_is_refused() {
    refused_with(|c, _| c["iss"] = "someone-else".into(), false, "client assertion iss and sub must be the client id")
        .await;
    refused_with(|c, _| c["sub"] = "someone-else".into(), false, "client assertion iss and sub must be the client id")
        .await;
}

#[tokio::test]
async fn assertion_for_another_audience_is_refused() {
    refused_with(
        |c, _| c["aud"] = "https://elsewhere.example/token".into(),
        false,
        "client assertion aud is not this server",
    )
    .await;
}

#[tokio::test]
async fn expired_assertion_is_refused() {
    refused_with(|c, _| c["exp"] = (unix_now() - 120).into(), false, "client assertion expired").await;
}

#[tokio::test]
async fn assertion_without_exp_is_refused() {
    refused_with(|c, _| drop(c.as_object_mut().map(|o| o.remove("exp"))), false, "client assertion has no exp").await;
}

#[tokio::test]
async fn assertion_without_jti_is_refused() {
    refused_with(|c, _| drop(c.as_object_mut().map(|o| o.remove("jti"))), false, "client assertion has no jti").await;
}

#[tokio::test]
async fn replayed_assertion_is_refused() {
    let key = TestKey::generate("ES256");
    let server = server_for(&key).await;
    let assertion = key.sign(&good_claims(&server));
    assert_eq!(post_assertion(&server, &assertion, bearer_oauth2::CLIENT_ASSERTION_TYPE).await.0, 200);
    let (status, body) = post_assertion(&server, &assertion, bearer_oauth2::CLIENT_ASSERTION_TYPE).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    assert_eq!(body["error_description"], "client assertion jti was already used (replay)");
}

#[tokio::test]
async fn assertion_with_another_algorithm_is_refused() {
    let registered = TestKey::generate("ES256");
    let server = server_for(&registered).await;
    let other = TestKey::generate("EdDSA");
    let (status, body) =
        post_assertion(&server, &other.sign(&good_claims(&server)), bearer_oauth2::CLIENT_ASSERTION_TYPE).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    assert_eq!(body["error_description"], "client assertion alg is not the registered one");
}

#[tokio::test]
async fn wrong_assertion_type_is_an_invalid_request() {
    let key = TestKey::generate("ES256");
    let server = server_for(&key).await;
    let (status, body) = post_assertion(&server, &key.sign(&good_claims(&server)), "urn:example:other").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")));
}

#[tokio::test]
async fn the_client_sees_invalid_client_when_its_key_is_not_registered() {
    let registered = TestKey::generate("RS256");
    let server = server_for(&registered).await;
    let other = TestKey::generate("RS256");
    let error = source(&server, SigningKey::from_pem(SigningAlgorithm::RS256, other.private_pem()).expect("key"))
        .fetch()
        .await
        .expect_err("refused");
    assert_eq!(rejection_code(&error), (Some("invalid_client"), Some("client assertion signature does not verify")));
    assert!(!error.is_transient());
    let assertion = server.captured()[0].fields().get("client_assertion").cloned().expect("assertion");
    assert!(!error.to_string().contains(&assertion), "the assertion never appears in errors");
}

/// `header.claims.signature`, each part base64url of what is given (forged by hand).
fn compact(header: &serde_json::Value, claims: &serde_json::Value, signature: &[u8]) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let part = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.{}", part(header), part(claims), URL_SAFE_NO_PAD.encode(signature))
}

#[tokio::test]
async fn unsigned_assertion_with_alg_none_is_refused() {
    let key = TestKey::generate("ES256");
    let server = server_for(&key).await;
    let forged = compact(&serde_json::json!({ "alg": "none", "typ": "JWT" }), &good_claims(&server), b"");
    let (status, body) = post_assertion(&server, &forged, bearer_oauth2::CLIENT_ASSERTION_TYPE).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    assert_eq!(server.counters().primary_grants, 0, "no token for an unsigned assertion");
}

/// The classic confusion: HS256 keyed with the registered public key's PEM.
#[tokio::test]
async fn hs256_assertion_keyed_with_the_public_key_is_refused() {
    let key = TestKey::generate("RS256");
    let server = server_for(&key).await;
    let secret = jsonwebtoken::EncodingKey::from_secret(key.public_pem().as_bytes()).expect("hmac key");
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &good_claims(&server),
        &secret,
    )
    .expect("forged");
    let (status, body) = post_assertion(&server, &forged, bearer_oauth2::CLIENT_ASSERTION_TYPE).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    assert_eq!(body["error_description"], "client assertion alg is not the registered one");
}

#[tokio::test]
async fn assertion_not_yet_valid_is_refused() {
    refused_with(|c, _| c["nbf"] = (unix_now() + 600).into(), false, "client assertion is not valid yet").await;
}

#[test]
fn a_public_key_or_a_key_of_another_type_is_a_configuration_error_not_a_panic() {
    let (ec, rsa, ed) = (TestKey::generate("ES256"), TestKey::generate("RS256"), TestKey::generate("EdDSA"));
    for (alg, pem) in [
        (SigningAlgorithm::ES256, rsa.private_pem()),
        (SigningAlgorithm::ES256, ed.private_pem()),
        (SigningAlgorithm::PS256, ed.private_pem()),
        (SigningAlgorithm::RS256, rsa.public_pem()),
        (SigningAlgorithm::ES256, ec.public_pem()),
        (SigningAlgorithm::EdDSA, ed.public_pem()),
        (SigningAlgorithm::EdDSA, ""),
    ] {
        let error = SigningKey::from_pem(alg, pem).expect_err("not a private key for the algorithm");
        assert!(matches!(error, Error::Config(_)), "{alg:?}: {error}");
    }
}

/// RFC 7518 §3.2: an HS256 key of at least 256 bits MUST be used. A short client secret is
/// refused when the source is built (servers such as Nimbus-based ones refuse it anyway,
/// with a bare invalid_client), and the error does not show it.
#[test]
fn client_secret_jwt_with_a_secret_shorter_than_256_bits_is_a_configuration_error() {
    let build = |secret: &str| {
        OAuth2TokenSource::builder("https://auth.example.com/token")
            .client_id(CLIENT)
            .client_secret(secret)
            .client_auth(ClientAuth::ClientSecretJwt)
            .build()
    };
    let error = build("short-secret-0123456789abcdef01").expect_err("31 bytes is under 256 bits");
    assert!(matches!(error, Error::Config(_)), "{error}");
    assert!(!format!("{error} {error:?}").contains("short-secret"), "{error}");
    assert!(matches!(build(""), Err(Error::Config(_))), "an empty secret");
    build("a-secret-of-exactly-32-bytes-000").expect("32 bytes is 256 bits");
}

/// RFC 6749 §4.4: client_credentials is for confidential clients only; a public client that
/// names itself gets no token of its own.
#[tokio::test]
async fn a_public_client_gets_no_client_credentials_token() {
    let server = AuthorizationServer::builder().client("spa", ClientRegistration::Public).start().await;
    let source = OAuth2TokenSource::builder(server.token_url())
        .allow_http_loopback()
        .client_id("spa")
        .client_auth(ClientAuth::None)
        .build()
        .expect("source");
    let error = source.fetch().await.expect_err("a public client has no credentials of its own");
    assert_eq!(rejection_code(&error).0, Some("unauthorized_client"));
    assert_eq!(server.counters().primary_grants, 0);
}
