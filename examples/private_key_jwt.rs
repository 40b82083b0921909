//! `private_key_jwt`, offline: a local authorization server that verifies client assertions
//! for real (signature against the registered public key, iss/sub, aud, exp, jti replay)
//! issues a token to a client that signs with its private key; `BearerAuth` uses it.
//!
//! Run with `cargo run --example private_key_jwt --features jwt-auth`.

use bearer_testkit::{AuthorizationServer, ClientRegistration, TestKey};
use reqwest_bearer::oauth2::{ClientAuth, OAuth2TokenSource, SigningAlgorithm, SigningKey};
use reqwest_bearer::BearerAuth;
use reqwest_middleware::ClientBuilder;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // In production the key is yours (a PEM file or a JWK from your secret store) and the
    // server holds its public half; here both are made for this run.
    let key = TestKey::generate("ES256");
    let server = AuthorizationServer::builder()
        .client("billing-service", ClientRegistration::PublicKey(key.clone()))
        .start()
        .await;
    println!("verifying authorization server on {}", server.issuer());

    let source = OAuth2TokenSource::builder(server.token_url())
        .allow_http_loopback()
        .client_id("billing-service")
        .client_auth(ClientAuth::PrivateKeyJwt)
        .signing_key(SigningKey::from_pem(SigningAlgorithm::ES256, key.private_pem())?.with_kid(key.kid()))
        .scope("invoices:read")
        .build()?;
    let auth = BearerAuth::builder(source).allow_origin(server.issuer()).allow_http_loopback().build()?;
    let client = ClientBuilder::new(reqwest::Client::new()).with(auth).build();

    for i in 1..=3 {
        let response = client.get(server.api_url()).send().await?;
        println!("request {i}: GET {} -> {}", server.api_url(), response.status());
        if !response.status().is_success() {
            return Err("the API refused the token".into());
        }
    }
    let fetches = server.counters().token_requests;
    println!("{fetches} token fetch, so one signed assertion, for three API requests");
    if fetches != 1 {
        return Err("expected exactly one token fetch".into());
    }
    Ok(())
}
