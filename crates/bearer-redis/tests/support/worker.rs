//! The worker side: one process of the fleet. It builds its own source and `TokenCache`,
//! calls the simulator's API (dropping the token and retrying once on a 401, as the
//! middleware does), and prints `RESULT ok=… failed=… <metrics>` when done.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bearer_core::{TokenCache, TokenSource};
use bearer_oauth2::{ClientAuth, OAuth2TokenSource};
use bearer_redis::{EncryptionKey, SharedTokenSource, TokenIdentity};
use tokio::io::AsyncBufReadExt;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

fn env_u64(name: &str) -> u64 {
    env(name).parse().unwrap_or(0)
}

/// The fleet's shared source for the simulator at `token_url`, built as every process would.
pub fn shared_source(
    token_url: &str,
    client_id: &str,
    client_secret: &str,
    redis: &str,
    key: &str,
    lease: Duration,
    timeout: Duration,
) -> SharedTokenSource<OAuth2TokenSource> {
    let inner = oauth2_source(token_url, client_id, client_secret);
    let identity = TokenIdentity::new(token_url, client_id);
    let builder = SharedTokenSource::builder(inner, identity)
        .lease_ttl(lease)
        .redis_timeout(timeout)
        .reconnect_backoff(Duration::from_millis(100), Duration::from_millis(500));
    let builder = match redis.strip_prefix("cluster:") {
        Some(nodes) => builder.redis_cluster(nodes.split(',')),
        None => builder.redis_url(redis),
    };
    let builder = if key == "plain" { builder.store_plaintext() } else { builder.encryption_key(parse_key(key)) };
    builder.build().expect("valid shared source")
}

/// The simulator's plain source (http on loopback), as each process builds it.
pub fn oauth2_source(token_url: &str, client_id: &str, client_secret: &str) -> OAuth2TokenSource {
    OAuth2TokenSource::builder(token_url)
        .client_id(client_id)
        .client_secret(client_secret)
        .client_auth(ClientAuth::ClientSecretBasic)
        .allow_http_loopback()
        .build()
        .expect("valid source")
}

/// 64 hex characters into a key.
pub fn parse_key(hex: &str) -> EncryptionKey {
    let bytes: Vec<u8> =
        (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()).collect();
    EncryptionKey::from_slice(&bytes).expect("a 32-byte key")
}

/// The cache of a worker: over the shared source, or over the plain one (no sharing).
type FleetCache = TokenCache<Arc<dyn TokenSource>>;

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    failed: AtomicU64,
}

/// One API call: the token, the request, and on a 401 one retry with a new token.
async fn call(cache: &FleetCache, http: &reqwest::Client, url: &str) -> bool {
    call_after(cache, http, url, None).await
}

/// [`call`], first waiting on `barrier` (if any) with the token already in hand, so that
/// every call of a burst sends the same token.
async fn call_after(
    cache: &FleetCache,
    http: &reqwest::Client,
    url: &str,
    barrier: Option<&tokio::sync::Barrier>,
) -> bool {
    for attempt in 0..2 {
        let Ok(token) = cache.token().await else { return false };
        if let (0, Some(barrier)) = (attempt, barrier) {
            barrier.wait().await;
        }
        let Ok(response) = http.get(url).header(http::header::AUTHORIZATION, token.header_value().clone()).send().await
        else {
            return false;
        };
        if response.status() == http::StatusCode::UNAUTHORIZED {
            cache.invalidate(&token);
            continue;
        }
        return response.status().is_success();
    }
    false
}

fn wait_for_wall(unix_ms: u64) -> Duration {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64);
    Duration::from_millis(unix_ms.saturating_sub(now.unwrap_or(0)))
}

/// The worker's whole life.
pub async fn run() {
    let shared = (env("W_SHARED") == "1").then(|| {
        Arc::new(shared_source(
            &env("W_TOKEN_URL"),
            &env("W_CLIENT_ID"),
            &env("W_CLIENT_SECRET"),
            &env("W_REDIS"),
            &env("W_KEY"),
            Duration::from_millis(env_u64("W_LEASE_MS")),
            Duration::from_millis(env_u64("W_TIMEOUT_MS")),
        ))
    });
    let source: Arc<dyn TokenSource> = match &shared {
        Some(shared) => shared.clone(),
        None => Arc::new(oauth2_source(&env("W_TOKEN_URL"), &env("W_CLIENT_ID"), &env("W_CLIENT_SECRET"))),
    };
    let cache = Arc::new(TokenCache::new(source));
    let http = reqwest::Client::new();
    let url = env("W_API_URL");
    let tally = Arc::new(Tally::default());
    let record = |ok: bool| {
        let cell = if ok { &tally.ok } else { &tally.failed };
        cell.fetch_add(1, Ordering::Relaxed);
    };
    match env("W_MODE").as_str() {
        "steady" => {
            tokio::time::sleep(wait_for_wall(env_u64("W_START_AT"))).await;
            let stop = tokio::time::Instant::now() + wait_for_wall(env_u64("W_STOP_AT"));
            while tokio::time::Instant::now() < stop {
                record(call(&cache, &http, &url).await);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        "burst" => {
            record(call(&cache, &http, &url).await);
            println!("READY");
            let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
            while let Ok(Some(line)) = stdin.next_line().await {
                if line == "GO" {
                    break;
                }
            }
            let burst = env_u64("W_BURST") as usize;
            let barrier = Arc::new(tokio::sync::Barrier::new(burst));
            let calls: Vec<_> = (0..burst)
                .map(|_| {
                    let (cache, http, url, barrier) =
                        (Arc::clone(&cache), http.clone(), url.clone(), Arc::clone(&barrier));
                    tokio::spawn(async move { call_after(&cache, &http, &url, Some(&barrier)).await })
                })
                .collect();
            for call in calls {
                record(call.await.unwrap_or(false));
            }
        }
        _ => record(call(&cache, &http, &url).await),
    }
    let metrics = shared.map(|s| s.metrics()).unwrap_or_default();
    println!(
        "RESULT ok={} failed={} shared_hits={} shared_fetches={} lease_waits={} local_fallbacks={} redis_errors={} unreadable_values={} outages={} round_trips={}",
        tally.ok.load(Ordering::Relaxed),
        tally.failed.load(Ordering::Relaxed),
        metrics.shared_hits,
        metrics.shared_fetches,
        metrics.lease_waits,
        metrics.local_fallbacks,
        metrics.redis_errors,
        metrics.unreadable_values,
        metrics.outages,
        metrics.round_trips,
    );
}
