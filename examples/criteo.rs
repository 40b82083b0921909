//! Criteo through `BearerAuth`.
//!
//! Offline by default, against the Criteo simulator: `cargo run --example criteo`.
//!
//! With `CRITEO_CLIENT_ID` and `CRITEO_CLIENT_SECRET` set (optionally `CRITEO_BASE_URL`) it
//! talks to the real Criteo instead and calls `CRITEO_API_URL`
//! (default `https://api.criteo.com/2025-07/advertisers/me`).

#[path = "support/mod.rs"]
mod support;

use bearer_testkit::Simulator;
use reqwest_bearer::criteo::CriteoTokenSource;

#[tokio::main]
async fn main() -> support::Result {
    if std::env::var_os("CRITEO_CLIENT_ID").is_some() {
        let source = CriteoTokenSource::from_env()?;
        let url = std::env::var("CRITEO_API_URL")
            .unwrap_or_else(|_| format!("{}/2025-07/advertisers/me", source.api_origin()));
        return support::live("Criteo", source, &url).await;
    }
    let sim = Simulator::criteo().start().await;
    let source = CriteoTokenSource::builder()
        .base_url(sim.base_url())
        .allow_http_loopback()
        .client_id(&sim.credentials().client_id)
        .client_secret(sim.credentials().client_secret.as_str())
        .build()?;
    support::offline("Criteo", source, &sim).await
}
