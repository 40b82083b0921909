//! Token exchange (RFC 8693), offline: a Kubernetes-style projected service-account token
//! in a file is exchanged for an API token at a local STS that verifies the file's JWT
//! against the cluster's key; the file is rotated the way the kubelet does it, and the next
//! exchange reads the new one.
//!
//! Run with `cargo run --example token_exchange`.

use std::time::Duration;

use bearer_testkit::{AuthorizationServer, ClientRegistration, TestKey};
use reqwest_bearer::oauth2::{token_types, ClientAuth, ExternalToken, Grant, OAuth2TokenSource, TokenExchange};
use reqwest_bearer::{BearerAuth, TokenSource};
use reqwest_middleware::ClientBuilder;

const CLUSTER: &str = "https://kubernetes.default.svc";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cluster_key = TestKey::generate("RS256");
    let sts = AuthorizationServer::builder()
        .client("orders-app", ClientRegistration::Public)
        .trust_issuer(CLUSTER, &cluster_key, "sts.example")
        .allowed_audience("https://orders.example")
        .start()
        .await;
    println!("local STS on {}", sts.issuer());

    // What the kubelet projects into the pod (in a cluster: KUBERNETES_TOKEN_PATH or a
    // `serviceAccountToken` volume path).
    let dir = std::env::temp_dir().join(format!("token-exchange-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let token_file = dir.join("token");
    let project = |subject: &str| -> std::io::Result<()> {
        let next = dir.join("token.next");
        std::fs::write(&next, cluster_key.mint(CLUSTER, subject, "sts.example", Duration::from_secs(3600)))?;
        std::fs::rename(next, &token_file)
    };
    project("system:serviceaccount:shop:orders")?;

    let exchange = TokenExchange::new(ExternalToken::from_file(&token_file), token_types::JWT)
        .audience("https://orders.example")
        .requested_token_type(token_types::ACCESS_TOKEN);
    let source = OAuth2TokenSource::builder(sts.token_url())
        .allow_http_loopback()
        .client_id("orders-app")
        .client_auth(ClientAuth::None)
        .grant(Grant::TokenExchange(exchange))
        .scope("orders:write")
        .build()?;

    // The exchanged token fronts every API call through the middleware.
    let auth = BearerAuth::builder(source).allow_origin(sts.issuer()).allow_http_loopback().build()?;
    let client = ClientBuilder::new(reqwest::Client::new()).with(auth).build();
    let response = client.post(sts.api_url()).body("new order").send().await?;
    println!("POST {} -> {}", sts.api_url(), response.status());

    // The kubelet rotates the file; a later exchange reads the new token.
    project("system:serviceaccount:shop:orders-rotated")?;
    let again = OAuth2TokenSource::builder(sts.token_url())
        .allow_http_loopback()
        .client_id("orders-app")
        .client_auth(ClientAuth::None)
        .grant(Grant::TokenExchange(TokenExchange::new(ExternalToken::from_file(&token_file), token_types::JWT)))
        .build()?;
    again.fetch().await?;
    for record in sts.exchanges() {
        println!("exchanged a token of {} for audience {:?}", record.subject, record.audiences);
    }
    std::fs::remove_dir_all(&dir)?;
    if !response.status().is_success() || sts.exchanges().len() != 2 {
        return Err("the exchange did not go as expected".into());
    }
    Ok(())
}
