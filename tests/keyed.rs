//! End to end: `BearerAuth` with per-request keys (scopes, tenants) against the simulators.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bearer_testkit::Simulator;
use http::{Extensions, StatusCode};
use reqwest::{Request, Response};
use reqwest_bearer::oauth2::OAuth2TokenSource;
use reqwest_bearer::{BearerAuth, Error, KeyedTokenCache, Scopes, Tenant};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};
use tokio::sync::Semaphore;

/// `BearerAuth` keyed by scope set over the generic source: each key's source asks for its
/// scopes; requests without `Scopes` get `orders:read`.
fn scoped_client(sim: &Simulator) -> ClientWithMiddleware {
    let http = reqwest::Client::new();
    let (token_url, creds) = (sim.token_url(), sim.credentials().clone());
    let auth = BearerAuth::keyed(Scopes::from(["orders:read"]), move |scopes: &Scopes| {
        OAuth2TokenSource::builder(&token_url)
            .allow_http_loopback()
            .client_id(&creds.client_id)
            .client_secret(creds.client_secret.as_str())
            .scope(scopes.as_str())
            .http_client(http.clone())
            .build()
    })
    .expect("default key's source")
    .allow_origin(sim.origin())
    .allow_http_loopback()
    .build()
    .expect("middleware");
    ClientBuilder::new(reqwest::Client::new()).with(auth).build()
}

/// The `scope` each token request asked for, in order.
fn requested_scopes(sim: &Simulator) -> Vec<String> {
    sim.captured()
        .iter()
        .filter(|request| request.fields().contains_key("grant_type"))
        .map(|request| request.fields().get("scope").cloned().unwrap_or_default())
        .collect()
}

async fn get(client: &ClientWithMiddleware, url: &str, scopes: Option<Scopes>) -> StatusCode {
    let mut request = client.get(url);
    if let Some(scopes) = scopes {
        request = request.with_extension(scopes);
    }
    request.send().await.expect("request").status()
}

#[tokio::test]
async fn each_scope_set_gets_its_own_token_and_requests_without_one_the_default() {
    let sim = Simulator::oauth2().start().await;
    let client = scoped_client(&sim);
    let api = sim.api_url();
    assert_eq!(get(&client, &api, None).await, StatusCode::OK);
    assert_eq!(get(&client, &api, Some(Scopes::from(["orders:write"]))).await, StatusCode::OK);
    assert_eq!(get(&client, &api, None).await, StatusCode::OK);
    assert_eq!(get(&client, &api, Some(Scopes::from("orders:write"))).await, StatusCode::OK);
    assert_eq!(get(&client, &api, Some(Scopes::from(["orders:read"]))).await, StatusCode::OK, "the default key");
    assert_eq!(get(&client, &api, Some(Scopes::from(["reports", "orders:read"]))).await, StatusCode::OK);

    assert_eq!(requested_scopes(&sim), ["orders:read", "orders:write", "orders:read reports"]);
    let used = sim.api_authorizations();
    assert_eq!(used.len(), 6);
    assert!(used.iter().all(Option::is_some), "every request carried a token");
    assert_eq!(used[0], used[2], "no key: the default token");
    assert_eq!(used[0], used[4], "the default key named explicitly: the same token");
    assert_eq!(used[1], used[3], "one scope set, one token");
    let distinct: HashSet<_> = used.iter().collect();
    assert_eq!(distinct.len(), 3, "three scope sets, three tokens");
}

#[tokio::test]
async fn a_rejected_token_is_replaced_for_its_own_key() {
    let sim = Simulator::oauth2().start().await;
    let client = scoped_client(&sim);
    let (api, write) = (sim.api_url(), Scopes::from("orders:write"));
    get(&client, &api, None).await;
    get(&client, &api, Some(write.clone())).await;
    sim.revoke_all();
    assert_eq!(get(&client, &api, Some(write.clone())).await, StatusCode::OK, "retried with a new token");
    assert_eq!(requested_scopes(&sim), ["orders:read", "orders:write", "orders:write"]);
    assert_eq!(get(&client, &api, None).await, StatusCode::OK, "the default key's retry");
    assert_eq!(requested_scopes(&sim), ["orders:read", "orders:write", "orders:write", "orders:read"]);
    assert_eq!(sim.counters().api_rejections, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_requests_fetch_once_per_key() {
    let sim = Simulator::oauth2().start().await;
    let client = scoped_client(&sim);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let (client, api) = (client.clone(), sim.api_url());
        tasks.spawn(async move { get(&client, &api, Some(Scopes::from(format!("scope:{}", i % 20).as_str()))).await });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.expect("task"), StatusCode::OK);
    }
    let scopes = requested_scopes(&sim);
    assert_eq!(scopes.len(), 20, "one token request per scope set: {scopes:?}");
    assert_eq!(scopes.iter().collect::<HashSet<_>>().len(), 20);
}

/// Two tenants, each with its own token server and API (as one Akeneo instance per
/// customer): each tenant's source names its own API origin.
async fn two_tenants() -> (Simulator, Simulator, ClientWithMiddleware) {
    let (acme, globex) = (Simulator::oauth2().start().await, Simulator::oauth2().start().await);
    let servers: HashMap<String, (String, String, String)> = [("acme", &acme), ("globex", &globex)]
        .into_iter()
        .map(|(name, sim)| {
            let creds = sim.credentials();
            (name.to_owned(), (sim.token_url(), creds.client_id.clone(), creds.client_secret.as_str().to_owned()))
        })
        .collect();
    let origins: HashMap<String, String> =
        [("acme".to_owned(), acme.origin()), ("globex".to_owned(), globex.origin())].into();
    let auth = BearerAuth::keyed(Tenant::new("acme"), move |tenant: &Tenant| {
        let (token_url, id, secret) =
            servers.get(tenant.as_str()).ok_or_else(|| Error::Config("unknown tenant".into()))?;
        OAuth2TokenSource::builder(token_url)
            .allow_http_loopback()
            .client_id(id)
            .client_secret(secret.as_str())
            .api_origin(origins.get(tenant.as_str()).cloned().unwrap_or_default())
            .build()
    })
    .expect("default tenant")
    .allow_http_loopback()
    .build()
    .expect("middleware");
    (acme, globex, ClientBuilder::new(reqwest::Client::new()).with(auth).build())
}

#[tokio::test]
async fn the_origin_rules_apply_per_key() {
    let (acme, globex, client) = two_tenants().await;
    let send = |url: String, tenant: &str| client.get(url).with_extension(Tenant::new(tenant)).send();
    assert_eq!(send(acme.api_url(), "acme").await.expect("acme").status(), StatusCode::OK);
    assert_eq!(send(globex.api_url(), "globex").await.expect("globex").status(), StatusCode::OK);
    let misdirected = send(globex.api_url(), "acme").await.expect("acme's request to globex");
    assert_eq!(misdirected.status(), StatusCode::UNAUTHORIZED, "sent without acme's token");
    assert_eq!(globex.api_authorizations().last(), Some(&None), "globex never saw acme's token");
    assert_eq!(acme.counters().token_requests, 1);
    assert_eq!(globex.counters().token_requests, 1);
    let unknown = send(acme.api_url(), "initech").await.expect_err("no source for this tenant");
    assert!(unknown.to_string().contains("unknown tenant"), "{unknown}");
}

#[tokio::test]
async fn a_key_whose_origins_forbid_the_url_sends_no_token_even_where_the_default_may() {
    let (acme, globex, client) = two_tenants().await;
    let response = client.get(acme.api_url()).with_extension(Tenant::new("globex")).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "sent without a token");
    assert_eq!(acme.api_authorizations(), vec![None::<String>], "neither globex's token nor the default's");
    assert_eq!((acme.counters().token_requests, globex.counters().token_requests), (0, 0));
}

/// Holds acme's request between the middleware and the API until a permit is added to
/// `release`; says it arrived with a permit on `arrived`.
struct HoldAcme {
    arrived: Arc<Semaphore>,
    release: Arc<Semaphore>,
}

#[async_trait::async_trait]
impl Middleware for HoldAcme {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        if extensions.get::<Tenant>().is_some_and(|tenant| tenant.as_str() == "acme") {
            self.arrived.add_permits(1);
            self.release.acquire().await.expect("release").forget();
        }
        next.run(request, extensions).await
    }
}

#[tokio::test]
async fn evicting_a_key_in_use_never_fails_its_request() {
    let sim = Simulator::oauth2().start().await;
    let (token_url, creds) = (sim.token_url(), sim.credentials().clone());
    let keyed = KeyedTokenCache::builder(move |_: &Tenant| {
        OAuth2TokenSource::builder(&token_url)
            .allow_http_loopback()
            .client_id(&creds.client_id)
            .client_secret(creds.client_secret.as_str())
            .build()
    })
    .max_keys(1);
    let auth = BearerAuth::builder(support::oauth2_source(&sim))
        .keys(keyed)
        .allow_origin(sim.origin())
        .allow_http_loopback()
        .build()
        .expect("middleware");
    let (arrived, release) = (Arc::new(Semaphore::new(0)), Arc::new(Semaphore::new(0)));
    let hold = HoldAcme { arrived: Arc::clone(&arrived), release: Arc::clone(&release) };
    let client = ClientBuilder::new(reqwest::Client::new()).with(auth).with(hold).build();
    // acme's request has its token and waits between the middleware and the API...
    let held = tokio::spawn({
        let (client, api) = (client.clone(), sim.api_url());
        async move { client.get(api).with_extension(Tenant::new("acme")).send().await }
    });
    // A guard against a hang if acme's request failed before arriving, not a timing assertion.
    let arrival = tokio::time::timeout(std::time::Duration::from_secs(60), arrived.acquire());
    arrival.await.expect("acme's request arrived").expect("semaphore").forget();
    // ...while globex takes the only place (acme is evicted), and the API revokes acme's token.
    let globex = client.get(sim.api_url()).with_extension(Tenant::new("globex")).send().await.expect("globex");
    assert_eq!(globex.status(), StatusCode::OK);
    sim.revoke_all();
    release.add_permits(2);
    let acme = held.await.expect("task").expect("acme's request");
    assert_eq!(acme.status(), StatusCode::OK, "rejected, then retried on its evicted key's cache");
    let counters = sim.counters();
    assert_eq!((counters.token_requests, counters.api_rejections), (3, 1));
    // acme had been evicted: its next request makes a new cache, which fetches.
    release.add_permits(1);
    let again = client.get(sim.api_url()).with_extension(Tenant::new("acme")).send().await.expect("acme again");
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(sim.counters().token_requests, 4, "a new cache for the evicted key");
}

#[test]
fn idle_keys_keep_no_task_alive() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let keyed = KeyedTokenCache::builder(|_: &Tenant| Ok(bearer_testkit::FixedSource::default())).build();
    runtime.block_on(async {
        for i in 0..1_000 {
            keyed.token(&Tenant::new(format!("tenant-{i}"))).await.expect("token");
        }
    });
    assert_eq!(keyed.len(), 1_000);
    assert_eq!(runtime.metrics().num_alive_tasks(), 0, "1,000 idle keys with fresh tokens: no task runs for them");
}

/// A key's rejection after a redirect follows the default cache's rules with the key's own
/// origins: a 401 from another tenant's origin keeps the key's token; one from another URL
/// on the key's origin drops it without a retry.
#[tokio::test]
async fn a_keys_rejection_after_a_redirect_follows_the_redirect_rules_for_its_own_origin() {
    let (acme, globex, client) = two_tenants().await;
    let send = |url: String| client.get(url).with_extension(Tenant::new("acme")).send();
    assert_eq!(send(acme.api_url()).await.expect("warm").status(), StatusCode::OK);
    let acme_token = acme.api_authorizations()[0].clone().expect("acme's token");

    // acme's API redirects to globex's, which never sees acme's token and refuses the request.
    let elsewhere = send(acme.redirect_url(&globex.api_url())).await.expect("redirected to globex");
    assert_eq!(elsewhere.status(), StatusCode::UNAUTHORIZED, "not retried");
    assert_eq!(globex.api_authorizations(), vec![None], "globex never saw a token");
    assert_eq!(send(acme.api_url()).await.expect("acme").status(), StatusCode::OK);
    assert_eq!(acme.api_authorizations().last(), Some(&Some(acme_token.clone())), "the key's token was kept");
    assert_eq!(acme.counters().token_requests, 1);

    // On acme's own origin, to another URL: the revoked token is dropped, nothing retried.
    acme.revoke_all();
    let same_origin = send(acme.redirect_url(&acme.api_url())).await.expect("redirected on acme");
    assert_eq!(same_origin.status(), StatusCode::UNAUTHORIZED, "not retried: another URL than the caller's");
    assert_eq!(acme.counters().token_requests, 1, "no fetch for a retry");
    assert_eq!(send(acme.api_url()).await.expect("acme").status(), StatusCode::OK, "a fresh token next time");
    assert_eq!(acme.counters().token_requests, 2);
    assert_eq!(globex.counters().token_requests, 0, "globex's key was never used");
}
