//! Zenkipay through `BearerAuth` (whose API rejects a bad token with 403).
//!
//! Offline by default, against the Zenkipay simulator: `cargo run --example zenkipay`.
//!
//! With `ZENKIPAY_CLIENT_ID` and `ZENKIPAY_CLIENT_SECRET` set (optionally `ZENKIPAY_BASE_URL`)
//! it talks to the real Zenkipay instead and calls `ZENKIPAY_API_URL`
//! (default `https://api.zenki.fi/v1/pay/orders/example`).

#[path = "support/mod.rs"]
mod support;

use bearer_testkit::Simulator;
use reqwest_bearer::zenkipay::ZenkipayTokenSource;

#[tokio::main]
async fn main() -> support::Result {
    if std::env::var_os("ZENKIPAY_CLIENT_ID").is_some() {
        let source = ZenkipayTokenSource::from_env()?;
        let url = std::env::var("ZENKIPAY_API_URL")
            .unwrap_or_else(|_| format!("{}/v1/pay/orders/example", source.api_origin()));
        return support::live("Zenkipay", source, &url).await;
    }
    let sim = Simulator::zenkipay().start().await;
    let source = ZenkipayTokenSource::builder()
        .base_url(sim.base_url())
        .allow_http_loopback()
        .client_id(&sim.credentials().client_id)
        .client_secret(sim.credentials().client_secret.as_str())
        .build()?;
    support::offline("Zenkipay", source, &sim).await
}
