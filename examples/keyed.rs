//! Many tokens in one process, one `BearerAuth`: the request says which token it needs.
//!
//! Offline, against the testkit simulators: `cargo run --example keyed`.
//!
//! 1. **Scopes per request** with the generic source: each scope set gets its own token
//!    (`.with_extension(Scopes::from(["orders:write"]))`); requests without one get the
//!    default scopes' token.
//! 2. **Zuora entities**: one token per customer's entity (`Zuora-Org-Ids`), from a factory
//!    that looks the tenant's configuration up.
//! 3. **Akeneo instances**: one PIM instance per customer, each with its own URL and
//!    credentials; each tenant's token only ever goes to its own instance.

use std::collections::HashMap;

use bearer_testkit::Simulator;
use reqwest_bearer::akeneo::AkeneoTokenSource;
use reqwest_bearer::oauth2::OAuth2TokenSource;
use reqwest_bearer::zuora::{ZuoraEnvironment, ZuoraTokenSource};
use reqwest_bearer::{BearerAuth, Error, KeyedTokenCache, Scopes, Tenant};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

#[tokio::main]
async fn main() -> Result {
    scopes_per_request().await?;
    zuora_entities().await?;
    akeneo_instances().await?;
    Ok(())
}

async fn scopes_per_request() -> Result {
    let sim = Simulator::oauth2().start().await;
    let (token_url, creds) = (sim.token_url(), sim.credentials().clone());
    // One HTTP client for every key's source: the factory runs once per new key.
    let http = reqwest::Client::new();
    let auth = BearerAuth::keyed(Scopes::from(["orders:read"]), move |scopes: &Scopes| {
        OAuth2TokenSource::builder(&token_url)
            .allow_http_loopback()
            .client_id(&creds.client_id)
            .client_secret(creds.client_secret.as_str())
            .scope(scopes.as_str())
            .http_client(http.clone())
            .build()
    })?
    .allow_origin(sim.origin())
    .allow_http_loopback()
    .build()?;
    let client = ClientBuilder::new(reqwest::Client::new()).with(auth).build();

    println!("1. scopes per request (generic OAuth2 simulator on {})", sim.origin());
    let write = Scopes::from(["orders:write"]);
    for scopes in [None, Some(write.clone()), None, Some(write)] {
        let mut request = client.get(sim.api_url());
        if let Some(scopes) = &scopes {
            request = request.with_extension(scopes.clone());
        }
        let status = request.send().await?.status();
        println!("   GET with {:<24} -> {status}", scopes.map_or("(default) orders:read".into(), |s| s.to_string()));
    }
    println!("   {} token requests for 2 scope sets and 4 API calls", sim.counters().token_requests);
    Ok(())
}

/// What the SaaS stores about each customer's Zuora entity.
struct ZuoraEntity {
    org_id: &'static str,
    client_id: String,
    client_secret: String,
}

async fn zuora_entities() -> Result {
    let sim = Simulator::zuora().start().await;
    let creds = sim.credentials();
    // In production: loaded from the SaaS's own database, one OAuth client per entity. The
    // simulator knows one client, so both entities share it here.
    let entities: HashMap<Tenant, ZuoraEntity> = [("acme", "org-acme"), ("globex", "org-globex")]
        .into_iter()
        .map(|(tenant, org_id)| {
            let entity = ZuoraEntity {
                org_id,
                client_id: creds.client_id.clone(),
                client_secret: creds.client_secret.as_str().to_owned(),
            };
            (Tenant::new(tenant), entity)
        })
        .collect();
    let base_url = sim.base_url();
    let http = reqwest::Client::new();
    let keyed = KeyedTokenCache::builder(move |tenant: &Tenant| {
        let entity =
            entities.get(tenant).ok_or_else(|| Error::Config(format!("no Zuora entity for {tenant}").into()))?;
        ZuoraTokenSource::builder(ZuoraEnvironment::Custom(base_url.clone()))
            .allow_http_loopback()
            .client_id(&entity.client_id)
            .client_secret(entity.client_secret.as_str())
            .org_ids([entity.org_id])
            .http_client(http.clone())
            .build()
    })
    .max_keys(50_000);
    // Requests without a tenant act for the SaaS's own entity.
    let own = ZuoraTokenSource::builder(ZuoraEnvironment::Custom(sim.base_url()))
        .allow_http_loopback()
        .client_id(&creds.client_id)
        .client_secret(creds.client_secret.as_str())
        .build()?;
    let auth = BearerAuth::builder(own).keys(keyed).allow_http_loopback().build()?;
    let client = ClientBuilder::new(reqwest::Client::new()).with(auth).build();

    println!("2. Zuora entities (simulator on {})", sim.origin());
    for tenant in ["acme", "globex", "acme"] {
        call(&client, &sim.api_url(), tenant).await?;
    }
    let orgs: Vec<String> =
        sim.captured().iter().filter_map(|request| request.header("zuora-org-ids").map(str::to_owned)).collect();
    println!("   {} token requests, with Zuora-Org-Ids {orgs:?}", sim.counters().token_requests);
    let unknown = client.get(sim.api_url()).with_extension(Tenant::new("initech")).send().await;
    println!("   an unknown tenant fails before any request: {}", unknown.is_err());
    Ok(())
}

async fn akeneo_instances() -> Result {
    let acme_pim = Simulator::akeneo().start().await;
    let globex_pim = Simulator::akeneo().start().await;
    // Each tenant's PIM: its URL and API credentials, as the SaaS stores them.
    let config: HashMap<Tenant, (String, bearer_testkit::Credentials)> = [("acme", &acme_pim), ("globex", &globex_pim)]
        .into_iter()
        .map(|(tenant, sim)| (Tenant::new(tenant), (sim.base_url(), sim.credentials().clone())))
        .collect();
    let factory = move |tenant: &Tenant| {
        let (base_url, creds) =
            config.get(tenant).ok_or_else(|| Error::Config(format!("no Akeneo instance for {tenant}").into()))?;
        AkeneoTokenSource::builder(base_url)
            .allow_http_loopback()
            .client_id(&creds.client_id)
            .client_secret(creds.client_secret.as_str())
            .username(&creds.username)
            .password(creds.password.as_str())
            .build()
    };
    // No `allow_origin`: each tenant's token goes only to the origin its own source names.
    let auth = BearerAuth::keyed(Tenant::new("acme"), factory)?.allow_http_loopback().build()?;
    let client = ClientBuilder::new(reqwest::Client::new()).with(auth).build();

    println!("3. Akeneo instances ({} and {})", acme_pim.origin(), globex_pim.origin());
    call(&client, &acme_pim.api_url(), "acme").await?;
    call(&client, &globex_pim.api_url(), "globex").await?;
    let misdirected = client.get(globex_pim.api_url()).with_extension(Tenant::new("acme")).send().await?;
    println!("   acme's request to globex's PIM goes without acme's token -> {}", misdirected.status());
    println!(
        "   token requests: acme's PIM {}, globex's PIM {}",
        acme_pim.counters().token_requests,
        globex_pim.counters().token_requests
    );
    Ok(())
}

async fn call(client: &ClientWithMiddleware, url: &str, tenant: &str) -> Result {
    let status = client.get(url).with_extension(Tenant::new(tenant)).send().await?.status();
    println!("   GET for {tenant:<8} -> {status}");
    if !status.is_success() {
        return Err(format!("{tenant}'s request failed").into());
    }
    Ok(())
}
