//! A complete tour, offline: starts a local OAuth2 simulator, puts `BearerAuth` on a
//! client, makes requests, has the server revoke the token, and shows the transparent
//! refresh-and-retry.
//!
//! Run with `cargo run --example quickstart`.

use bearer_testkit::Simulator;
use reqwest_bearer::oauth2::{ClientAuth, OAuth2TokenSource};
use reqwest_bearer::BearerAuth;
use reqwest_middleware::ClientBuilder;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = Simulator::oauth2().start().await;
    println!("local OAuth2 provider simulator listening on {}", sim.base_url());

    let source = OAuth2TokenSource::builder(sim.token_url())
        .allow_http_loopback()
        .client_id(&sim.credentials().client_id)
        .client_secret(sim.credentials().client_secret.as_str())
        .client_auth(ClientAuth::ClientSecretBasic)
        .build()?;
    let auth = BearerAuth::builder(source)
        .allow_origin(sim.base_url())
        // The simulator speaks plain http on loopback; real APIs get the token over https only.
        .allow_http_loopback()
        .build()?;
    let client = ClientBuilder::new(reqwest::Client::new()).with(auth).build();

    for i in 1..=3 {
        let response = client.get(sim.api_url()).send().await?;
        println!("request {i}: GET {} -> {}", sim.api_url(), response.status());
    }
    println!("token fetches so far: {} (one token served all three requests)", sim.counters().token_requests);

    sim.revoke_all();
    println!("the server revoked every token it had issued");
    let response = client.post(sim.api_url()).body("hello after revocation").send().await?;
    let status = response.status();
    let echoed = response.text().await?;
    println!("request 4: POST {} -> {status}, body echoed: {echoed:?}", sim.api_url());

    let counters = sim.counters();
    println!(
        "summary: {} token fetches, {} API calls, {} rejected with 401 and retried transparently",
        counters.token_requests, counters.api_requests, counters.api_rejections
    );
    if !status.is_success() || counters.token_requests != 2 {
        return Err("the refresh-and-retry did not happen as expected".into());
    }
    Ok(())
}
