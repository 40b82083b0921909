//! Zuora through `BearerAuth`.
//!
//! Offline by default, against the Zuora simulator: `cargo run --example zuora`.
//!
//! With `ZUORA_CLIENT_ID` and `ZUORA_CLIENT_SECRET` set (and optionally `ZUORA_ENVIRONMENT`,
//! `ZUORA_TRACK_ID`, `ZUORA_VERSION`, `ZUORA_ORG_IDS`; see `ZuoraTokenSource::from_env`) it
//! talks to the real Zuora instead and calls `ZUORA_API_URL`
//! (default `{host}/v1/catalog/products?pageSize=1`).

#[path = "support/mod.rs"]
mod support;

use bearer_testkit::Simulator;
use reqwest_bearer::zuora::{ZuoraEnvironment, ZuoraTokenSource};

#[tokio::main]
async fn main() -> support::Result {
    if std::env::var_os("ZUORA_CLIENT_ID").is_some() {
        let source = ZuoraTokenSource::from_env()?;
        let url = std::env::var("ZUORA_API_URL")
            .unwrap_or_else(|_| format!("{}/v1/catalog/products?pageSize=1", source.api_origin()));
        return support::live("Zuora", source, &url).await;
    }
    let sim = Simulator::zuora().start().await;
    let source = ZuoraTokenSource::builder(ZuoraEnvironment::Custom(sim.base_url()))
        .allow_http_loopback()
        .client_id(&sim.credentials().client_id)
        .client_secret(sim.credentials().client_secret.as_str())
        .track_id("reqwest-bearer-example")
        .build()?;
    support::offline("Zuora", source, &sim).await
}
