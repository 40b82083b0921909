//! IX-API through `BearerAuth`.
//!
//! Offline by default, against the IX-API simulator: `cargo run --example ixapi`.
//!
//! With `IXAPI_BASE_URL` (ending in `/api/v2`), `IXAPI_API_KEY` and `IXAPI_API_SECRET` set it
//! talks to that IXP instead and calls `IXAPI_API_URL` (default `{base}/accounts`).

#[path = "support/mod.rs"]
mod support;

use bearer_testkit::Simulator;
use reqwest_bearer::ixapi::IxApiTokenSource;

#[tokio::main]
async fn main() -> support::Result {
    if let Ok(base) = std::env::var("IXAPI_BASE_URL") {
        let source = IxApiTokenSource::from_env()?;
        let url = std::env::var("IXAPI_API_URL").unwrap_or_else(|_| format!("{}/accounts", base.trim_end_matches('/')));
        return support::live("IX-API", source, &url).await;
    }
    let sim = Simulator::ixapi().start().await;
    let source = IxApiTokenSource::builder(sim.base_url())
        .allow_http_loopback()
        .api_key(&sim.credentials().client_id)
        .api_secret(sim.credentials().client_secret.as_str())
        .build()?;
    support::offline("IX-API", source, &sim).await
}
