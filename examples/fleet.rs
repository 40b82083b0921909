//! One token for the whole fleet: worker processes share their token through Redis.
//!
//! Starts a local OAuth2 simulator and a local `redis-server`, spawns worker processes (this
//! example run again) that call the simulator's API steadily for a few token lifetimes, once
//! each with its own token and once sharing through Redis, and prints the token fetches.
//!
//! ```text
//! cargo run --example fleet                        # 4 workers, 3 lifetimes of 2-second tokens
//! cargo run --release --example fleet -- --processes 32 --lifetimes 3
//! cargo run --release --example fleet -- --latency   # a shared hit vs a direct fetch
//! ```
//!
//! Needs `redis-server` on the PATH (Debian/Ubuntu: `apt-get install -y redis-server`;
//! macOS: `brew install redis`).

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bearer_testkit::{RedisServer, Simulator};
use reqwest_bearer::oauth2::{ClientAuth, OAuth2TokenSource};
use reqwest_bearer::redis::{EncryptionKey, SharedTokenSource, TokenIdentity};
use reqwest_bearer::{BearerAuth, TokenSource};
use reqwest_middleware::ClientBuilder;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The lifetime of the simulator's tokens. With the default policy a token is replaced a
/// quarter of its life before it expires, so a new token is needed every 1.5 s.
const TOKEN_TTL: Duration = Duration::from_secs(2);
const REFRESH_PERIOD: Duration = Duration::from_millis(1500);
/// Every process of the fleet must hold the same key; a real one comes from a secret store.
const DEMO_KEY: [u8; 32] = [42; 32];

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn source(token_url: &str, client_id: &str, client_secret: &str) -> Result<OAuth2TokenSource> {
    Ok(OAuth2TokenSource::builder(token_url)
        .client_id(client_id)
        .client_secret(client_secret)
        .client_auth(ClientAuth::ClientSecretBasic)
        // The simulator speaks plain http on loopback; real token endpoints are https only.
        .allow_http_loopback()
        .build()?)
}

fn shared(
    inner: OAuth2TokenSource,
    token_url: &str,
    client_id: &str,
    redis: &str,
) -> Result<SharedTokenSource<OAuth2TokenSource>> {
    // The one call that shares a source with the fleet.
    Ok(SharedTokenSource::builder(inner, TokenIdentity::new(token_url, client_id))
        .redis_url(redis)
        .encryption_key(EncryptionKey::from_bytes(DEMO_KEY))
        .build()?)
}

#[tokio::main]
async fn main() -> Result {
    if std::env::args().nth(1).as_deref() == Some("worker") {
        return worker().await;
    }
    if Command::new("redis-server").arg("--version").stdout(Stdio::null()).status().is_err() {
        println!("redis-server is not on the PATH: install it (`apt-get install -y redis-server`, `brew install redis`) and run again");
        return Ok(());
    }
    let redis = RedisServer::start();
    if std::env::args().any(|a| a == "--latency") {
        let sim = Simulator::oauth2().start().await;
        return latency(&sim, &redis).await;
    }
    let sim = Simulator::oauth2().ttl(TOKEN_TTL).start().await;
    println!("simulator on {}, redis-server on {}", sim.origin(), redis.url());
    let processes: usize = arg("--processes").and_then(|n| n.parse().ok()).unwrap_or(4);
    let lifetimes: u32 = arg("--lifetimes").and_then(|n| n.parse().ok()).unwrap_or(3);
    for sharing in [false, true] {
        let before = sim.counters().token_requests;
        let reports = run_fleet(&sim, &redis, processes, lifetimes, sharing).await?;
        let fetches = sim.counters().token_requests - before;
        let failed: u64 = reports.iter().map(|r| r[1]).sum();
        println!(
            "{processes} processes, {lifetimes} token lifetimes, {}: {fetches} token fetches ({:.2} per refresh period), {failed} failed requests",
            if sharing { "sharing through Redis" } else { "each on its own" },
            fetches as f64 / f64::from(lifetimes),
        );
        if sharing {
            // Round trips of the processes that never fetched, per token they went through.
            let per_token: Vec<f64> =
                reports.iter().filter(|r| r[3] == 0).map(|r| r[2] as f64 / fetches.max(1) as f64).collect();
            if per_token.is_empty() {
                println!("  every process fetched for the fleet at least once");
            } else {
                let mean = per_token.iter().sum::<f64>() / per_token.len() as f64;
                let max = per_token.iter().cloned().fold(0.0, f64::max);
                println!(
                    "  {} processes never fetched: Redis round trips per token, mean {mean:.2}, max {max:.2}",
                    per_token.len()
                );
            }
        }
    }
    Ok(())
}

/// Spawns the fleet, lets it run for `lifetimes` refresh periods, and collects each worker's
/// `[ok, failed, round_trips, shared_fetches, shared_hits]`.
async fn run_fleet(
    sim: &Simulator,
    redis: &RedisServer,
    processes: usize,
    lifetimes: u32,
    sharing: bool,
) -> Result<Vec<[u64; 5]>> {
    let exe = std::env::current_exe()?;
    let start_at = unix_ms() + 1500 + 30 * processes as u64;
    // Stop half a period before the next token would be needed.
    let stop_at = start_at + (REFRESH_PERIOD * lifetimes).as_millis() as u64 - 750;
    let children: Vec<_> = (0..processes)
        .map(|_| {
            Command::new(&exe)
                .args(["worker", &sim.token_url(), &sim.api_url(), &redis.url()])
                .args([
                    start_at.to_string(),
                    stop_at.to_string(),
                    (if sharing { "shared" } else { "alone" }).to_owned(),
                ])
                .env("CLIENT_ID", &sim.credentials().client_id)
                .env("CLIENT_SECRET", &sim.credentials().client_secret)
                .stdout(Stdio::piped())
                .spawn()
        })
        .collect::<std::io::Result<_>>()?;
    let outputs =
        tokio::task::spawn_blocking(move || children.into_iter().map(|c| c.wait_with_output()).collect::<Vec<_>>())
            .await?;
    let mut reports = Vec::new();
    for output in outputs {
        let text = String::from_utf8(output?.stdout)?;
        let numbers: Vec<u64> = text.split_whitespace().filter_map(|n| n.parse().ok()).collect();
        reports.push(numbers.try_into().map_err(|_| format!("a worker reported {text:?}"))?);
    }
    Ok(reports)
}

/// One process of the fleet: `BearerAuth` over the (shared) source, a request every 20 ms.
async fn worker() -> Result {
    let args: Vec<String> = std::env::args().collect();
    let [_, _, token_url, api_url, redis, start_at, stop_at, mode] = args.as_slice() else {
        return Err("worker arguments".into());
    };
    let (id, secret) = (std::env::var("CLIENT_ID")?, std::env::var("CLIENT_SECRET")?);
    let inner = source(token_url, &id, &secret)?;
    let shared = match mode.as_str() {
        "shared" => Some(Arc::new(shared(inner, token_url, &id, redis)?)),
        _ => None,
    };
    let source: Arc<dyn TokenSource> = match &shared {
        Some(shared) => shared.clone(),
        None => Arc::new(source(token_url, &id, &secret)?),
    };
    let auth = BearerAuth::builder(source).allow_origin(origin(api_url)).allow_http_loopback().build()?;
    let client = ClientBuilder::new(reqwest::Client::new()).with(auth).build();
    tokio::time::sleep(Duration::from_millis(start_at.parse::<u64>()?.saturating_sub(unix_ms()))).await;
    let (mut ok, mut failed) = (0u64, 0u64);
    while unix_ms() < stop_at.parse::<u64>()? {
        match client.get(api_url).send().await {
            Ok(response) if response.status().is_success() => ok += 1,
            _ => failed += 1,
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let m = shared.map(|s| s.metrics()).unwrap_or_default();
    println!("{ok} {failed} {} {} {}", m.round_trips, m.shared_fetches, m.shared_hits);
    Ok(())
}

/// The first token of a starting process: read from Redis (new connection, one round trip,
/// decryption) against fetched from the simulator (new HTTP connection, one token request).
async fn latency(sim: &Simulator, redis: &RedisServer) -> Result {
    let (id, secret) = (&sim.credentials().client_id, sim.credentials().client_secret.as_str());
    let token_url = sim.token_url();
    shared(source(&token_url, id, secret)?, &token_url, id, &redis.url())?.fetch().await?;
    let rounds = 300;
    let mut direct = Vec::with_capacity(rounds);
    let mut hit = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let fresh = source(&token_url, id, secret)?;
        let started = Instant::now();
        fresh.fetch().await?;
        direct.push(started.elapsed());
        let fresh = shared(source(&token_url, id, secret)?, &token_url, id, &redis.url())?;
        let started = Instant::now();
        fresh.fetch().await?;
        hit.push(started.elapsed());
        if fresh.metrics().shared_hits != 1 {
            return Err("expected a shared hit".into());
        }
    }
    for (name, samples) in [("direct fetch from the simulator", &mut direct), ("shared hit from Redis", &mut hit)] {
        samples.sort();
        println!(
            "{name}: median {:?}, p90 {:?}, p99 {:?}",
            samples[rounds / 2],
            samples[rounds * 9 / 10],
            samples[rounds * 99 / 100]
        );
    }
    Ok(())
}

fn origin(url: &str) -> String {
    url.splitn(4, '/').take(3).collect::<Vec<_>>().join("/")
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}
