//! Akeneo PIM through `BearerAuth`.
//!
//! Offline by default, against the Akeneo simulator: `cargo run --example akeneo`.
//!
//! With `AKENEO_BASE_URL`, `AKENEO_CLIENT_ID`, `AKENEO_CLIENT_SECRET`, `AKENEO_USERNAME` and
//! `AKENEO_PASSWORD` set it talks to that PIM instead and calls `AKENEO_API_URL`
//! (default `{base}/api/rest/v1/products?limit=1`).

#[path = "support/mod.rs"]
mod support;

use bearer_testkit::Simulator;
use reqwest_bearer::akeneo::AkeneoTokenSource;

#[tokio::main]
async fn main() -> support::Result {
    if std::env::var_os("AKENEO_BASE_URL").is_some() {
        let source = AkeneoTokenSource::from_env()?;
        let url = std::env::var("AKENEO_API_URL")
            .unwrap_or_else(|_| format!("{}/api/rest/v1/products?limit=1", source.api_origin()));
        return support::live("Akeneo", source, &url).await;
    }
    let sim = Simulator::akeneo().start().await;
    let creds = sim.credentials();
    let source = AkeneoTokenSource::builder(sim.base_url())
        .allow_http_loopback()
        .client_id(&creds.client_id)
        .client_secret(creds.client_secret.as_str())
        .username(&creds.username)
        .password(creds.password.as_str())
        .build()?;
    support::offline("Akeneo", source, &sim).await
}
