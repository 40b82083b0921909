//! What every provider example does, offline against its simulator or live.

use bearer_testkit::Simulator;
use reqwest_bearer::{BearerAuth, TokenSource};
use reqwest_middleware::ClientBuilder;

pub(crate) type Result = std::result::Result<(), Box<dyn std::error::Error>>;

/// Calls the simulator's API, has it revoke the token, calls again with a body, and prints
/// what happened.
pub(crate) async fn offline<S: TokenSource + 'static>(provider: &str, source: S, sim: &Simulator) -> Result {
    println!("{provider} simulator on {} (set the provider's variables to use the real service)", sim.origin());
    let auth = BearerAuth::builder(source).allow_http_loopback().build()?;
    let client = ClientBuilder::new(reqwest::Client::new()).with(auth).build();
    let first = client.get(sim.api_url()).send().await?;
    println!("GET  {} -> {}", sim.api_url(), first.status());
    sim.revoke_all();
    println!("the simulator revoked the token");
    let second = client.post(sim.api_url()).body("example payload").send().await?;
    let status = second.status();
    println!("POST {} -> {status}, echoed {:?}", sim.api_url(), second.text().await?);
    let c = sim.counters();
    println!(
        "{} token requests ({} first grants, {} refresh grants), {} API calls, {} rejected and retried",
        c.token_requests, c.primary_grants, c.refresh_grants, c.api_requests, c.api_rejections
    );
    if !status.is_success() {
        return Err("the retried request failed".into());
    }
    Ok(())
}

/// Calls `url` on the real service once and prints the status.
pub(crate) async fn live<S: TokenSource + 'static>(provider: &str, source: S, url: &str) -> Result {
    let auth = BearerAuth::new(source)?;
    let client = ClientBuilder::new(reqwest::Client::new()).with(auth).build();
    let response = client.get(url).send().await?;
    println!("{provider}: GET {url} -> {}", response.status());
    Ok(())
}
