//! Review probes of the middleware's keyed branch (the key's token from its lookup, else the
//! cache's own `try_token`/`token`): everything the default branch does, per key, on tokio's
//! paused clock, against a terminal middleware that records each request's token.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::header::AUTHORIZATION;
use http::{Extensions, StatusCode};
use reqwest::{Request, Response, ResponseBuilderExt};
use reqwest_bearer::core::AccessToken;
use reqwest_bearer::{BearerAuth, Error, KeyedTokenCache, SkipAuth, Tenant, Token, TokenSource};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};

const API: &str = "https://api.example.com/orders";

/// Tokens `<key>#<n>`, valid an hour; counts fetches per source.
struct CountingSource {
    key: String,
    fetches: Arc<AtomicUsize>,
}

#[async_trait::async_trait]
impl TokenSource for CountingSource {
    async fn fetch(&self) -> Result<Token, Error> {
        let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
        Token::builder(AccessToken::new(format!("{}#{n}", self.key))).expires_in(Duration::from_secs(3600)).build()
    }
}

/// The chain's last middleware: records each request's `Authorization`, answers 401 to a
/// revoked token and 200 to anything else.
#[derive(Default)]
struct Api {
    seen: Mutex<Vec<Option<String>>>,
    revoked: Mutex<HashSet<String>>,
}

impl Api {
    fn last(&self) -> Option<String> {
        self.seen.lock().expect("seen").last().cloned().flatten()
    }

    fn revoke(&self, token: &str) {
        self.revoked.lock().expect("revoked").insert(format!("Bearer {token}"));
    }
}

/// The [`Api`] as the chain's last middleware.
struct Terminal(Arc<Api>);

#[async_trait::async_trait]
impl Middleware for Terminal {
    async fn handle(&self, request: Request, _: &mut Extensions, _: Next<'_>) -> reqwest_middleware::Result<Response> {
        let api = &self.0;
        let header = request.headers().get(AUTHORIZATION).and_then(|value| value.to_str().ok()).map(str::to_owned);
        let rejected = header.as_ref().is_some_and(|header| api.revoked.lock().expect("revoked").contains(header));
        api.seen.lock().expect("seen").push(header);
        let status = if rejected { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
        // Answered from the request's URL, as a server's answer is (a retry needs that).
        let response = http::Response::builder().status(status).url(request.url().clone()).body("");
        Ok(Response::from(response.expect("response")))
    }
}

/// A client keyed by `Tenant` (the default key's source is `default`): each key's fetches
/// are counted in `keyed`, the default's in `default`; "initech" has no source.
fn client(api: &Arc<Api>, default: &Arc<AtomicUsize>, keyed: &Arc<AtomicUsize>) -> ClientWithMiddleware {
    let keyed = Arc::clone(keyed);
    let factory = KeyedTokenCache::builder(move |tenant: &Tenant| {
        if tenant.as_str() == "initech" {
            return Err(Error::Config("no source for initech".into()));
        }
        Ok(CountingSource { key: tenant.as_str().to_owned(), fetches: Arc::clone(&keyed) })
    });
    let auth = BearerAuth::builder(CountingSource { key: "default".into(), fetches: Arc::clone(default) })
        .keys(factory)
        .allow_origin("https://api.example.com")
        .build()
        .expect("middleware");
    ClientBuilder::new(reqwest::Client::new()).with(auth).with(Terminal(Arc::clone(api))).build()
}

async fn send(client: &ClientWithMiddleware, tenant: Option<&str>) -> StatusCode {
    let mut request = client.get(API);
    if let Some(tenant) = tenant {
        request = request.with_extension(Tenant::new(tenant));
    }
    request.send().await.expect("response").status()
}

#[tokio::test(start_paused = true)]
async fn a_keyed_request_in_the_refresh_ahead_window_starts_one_background_refresh_as_the_default_does() {
    let (api, default, keyed) = (Arc::new(Api::default()), Arc::default(), Arc::default());
    let client = client(&api, &default, &keyed);
    // First (fetch), second (renews the slot's copy), third (from the front table).
    for tenant in [None, Some("acme")] {
        for _ in 0..3 {
            assert_eq!(send(&client, tenant).await, StatusCode::OK);
        }
    }
    assert_eq!((default.load(Ordering::SeqCst), keyed.load(Ordering::SeqCst)), (1, 1));

    // Into the refresh-ahead window (the last 300 s of the hour).
    tokio::time::advance(Duration::from_secs(3_301)).await;
    for (tenant, fetches, name) in [(None, &default, "default"), (Some("acme"), &keyed, "acme")] {
        for _ in 0..5 {
            assert_eq!(send(&client, tenant).await, StatusCode::OK);
            assert_eq!(api.last().as_deref(), Some(format!("Bearer {name}#1").as_str()), "served in the window");
        }
        tokio::time::advance(Duration::from_millis(10)).await;
        assert_eq!(fetches.load(Ordering::SeqCst), 2, "{name}: one background refresh");
        for _ in 0..3 {
            assert_eq!(send(&client, tenant).await, StatusCode::OK);
            assert_eq!(api.last().as_deref(), Some(format!("Bearer {name}#2").as_str()), "{name}: the refreshed token");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn after_a_rejection_a_keys_requests_never_carry_the_rejected_token_again() {
    let (api, default, keyed) = (Arc::new(Api::default()), Arc::default(), Arc::default());
    let client = client(&api, &default, &keyed);
    for _ in 0..3 {
        assert_eq!(send(&client, Some("acme")).await, StatusCode::OK);
    }
    api.revoke("acme#1");
    // The rejection interval (a minute by default) since the token was fetched.
    tokio::time::advance(Duration::from_secs(120)).await;
    assert_eq!(send(&client, Some("acme")).await, StatusCode::OK, "rejected, then retried with a new token");
    let seen = api.seen.lock().expect("seen").clone();
    assert_eq!(seen[3..], [Some("Bearer acme#1".to_owned()), Some("Bearer acme#2".to_owned())]);
    for _ in 0..5 {
        assert_eq!(send(&client, Some("acme")).await, StatusCode::OK);
        assert_eq!(api.last().as_deref(), Some("Bearer acme#2"), "never the rejected token again");
    }
    assert_eq!(keyed.load(Ordering::SeqCst), 2);
    assert_eq!(default.load(Ordering::SeqCst), 0, "the default cache was never used");
}

#[tokio::test(start_paused = true)]
async fn a_keyed_request_with_its_own_authorization_or_skip_auth_gets_no_token() {
    let (api, default, keyed) = (Arc::new(Api::default()), Arc::default(), Arc::default());
    let client = client(&api, &default, &keyed);
    let own = client
        .get(API)
        .with_extension(Tenant::new("acme"))
        .header(AUTHORIZATION, "Bearer mine")
        .send()
        .await
        .expect("own header");
    assert_eq!(own.status(), StatusCode::OK);
    assert_eq!(api.last().as_deref(), Some("Bearer mine"), "left alone");
    let skipped =
        client.get(API).with_extension(Tenant::new("acme")).with_extension(SkipAuth).send().await.expect("skip");
    assert_eq!(skipped.status(), StatusCode::OK);
    assert_eq!(api.last(), None, "no token");
    assert_eq!(keyed.load(Ordering::SeqCst), 0, "no fetch for either");
    // Warm, then again: a key with a fresh token still leaves both alone.
    send(&client, Some("acme")).await;
    send(&client, Some("acme")).await;
    client.get(API).with_extension(Tenant::new("acme")).with_extension(SkipAuth).send().await.expect("skip");
    assert_eq!(api.last(), None, "no token for a warm key either");
}

#[tokio::test(start_paused = true)]
async fn a_key_without_a_source_fails_its_request_with_the_factorys_error_and_sends_nothing() {
    let (api, default, keyed) = (Arc::new(Api::default()), Arc::default(), Arc::default());
    let client = client(&api, &default, &keyed);
    for _ in 0..2 {
        let error = client.get(API).with_extension(Tenant::new("initech")).send().await.expect_err("no source");
        assert!(error.to_string().contains("no source for initech"), "{error}");
    }
    assert!(api.seen.lock().expect("seen").is_empty(), "nothing was sent");
    assert_eq!(send(&client, Some("acme")).await, StatusCode::OK, "other keys are served");
}
