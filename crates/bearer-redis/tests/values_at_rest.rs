//! What sits in Redis: sealed values, misses for anything that does not open, the plaintext
//! opt-out, and no secret in any output.

mod support;

use std::time::Duration;

use bearer_core::TokenSource;
use bearer_oauth2::OAuth2TokenSource;
use bearer_redis::SharedTokenSource;
use bearer_testkit::{RedisServer, Simulator};
use support::{sim_source_with_key, TEST_KEY as KEY};

fn source(sim: &Simulator, redis: &RedisServer, key: &str) -> SharedTokenSource<OAuth2TokenSource> {
    sim_source_with_key(sim, &redis.url(), key, Duration::from_secs(2))
}

async fn connection(redis: &RedisServer) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(redis.url()).expect("url");
    client.get_multiplexed_async_connection().await.expect("connect")
}

/// The one entry key the fleet wrote, and its raw value.
async fn the_entry(redis: &RedisServer) -> (String, Vec<u8>) {
    let mut conn = connection(redis).await;
    let keys: Vec<String> = redis::cmd("KEYS").arg("bearer:*:token").query_async(&mut conn).await.expect("KEYS");
    assert_eq!(keys.len(), 1, "{keys:?}");
    let value: Vec<u8> = redis::cmd("GET").arg(&keys[0]).query_async(&mut conn).await.expect("GET");
    (keys[0].clone(), value)
}

#[tokio::test]
async fn a_corrupted_value_is_a_miss_and_is_overwritten() {
    let redis = RedisServer::start();
    let sim = Simulator::oauth2().start().await;
    source(&sim, &redis, KEY).fetch().await.expect("first token");
    let (key, mut value) = the_entry(&redis).await;
    let last = value.len() - 1;
    value[last] ^= 0x40;
    let mut conn = connection(&redis).await;
    let () = redis::cmd("SET").arg(&key).arg(&value).arg("PX").arg(60_000).query_async(&mut conn).await.expect("SET");

    let reader = source(&sim, &redis, KEY);
    reader.fetch().await.expect("a token despite the corrupted value");
    assert_eq!(reader.metrics().unreadable_values, 1, "{:?}", reader.metrics());
    assert_eq!(reader.metrics().shared_fetches, 1, "the miss was fetched for the fleet");
    assert_eq!(sim.counters().token_requests, 2);
    let (_, rewritten) = the_entry(&redis).await;
    assert_ne!(rewritten, value, "the corrupted value was overwritten");
    let next = source(&sim, &redis, KEY);
    next.fetch().await.expect("the rewritten value");
    assert_eq!(next.metrics().shared_hits, 1);
    assert_eq!(sim.counters().token_requests, 2);
}

#[tokio::test]
async fn a_value_sealed_with_another_key_is_a_miss_and_is_overwritten() {
    let redis = RedisServer::start();
    let sim = Simulator::oauth2().start().await;
    source(&sim, &redis, &"22".repeat(32)).fetch().await.expect("the other key's token");
    let reader = source(&sim, &redis, KEY);
    reader.fetch().await.expect("a token despite the foreign value");
    assert_eq!(reader.metrics().unreadable_values, 1);
    assert_eq!(sim.counters().token_requests, 2);
    let next = source(&sim, &redis, KEY);
    next.fetch().await.expect("our value now");
    assert_eq!((next.metrics().shared_hits, next.metrics().unreadable_values), (1, 0));
}

#[tokio::test]
async fn sealed_values_hide_the_token_and_plaintext_is_an_explicit_opt_out() {
    let redis = RedisServer::start();
    let sim = Simulator::oauth2().start().await;
    let token = source(&sim, &redis, KEY).fetch().await.expect("token");
    let secret = token.secret().secret().as_bytes().to_vec();
    let (key, sealed) = the_entry(&redis).await;
    assert!(!sealed.windows(secret.len()).any(|w| w == secret), "the token is readable in Redis");
    assert!(!key.contains(&sim.credentials().client_id), "the key names the client: {key}");

    let mut conn = connection(&redis).await;
    let () = redis::cmd("FLUSHALL").query_async(&mut conn).await.expect("FLUSHALL");
    let token = source(&sim, &redis, "plain").fetch().await.expect("token");
    let (_, plain) = the_entry(&redis).await;
    let secret = token.secret().secret().as_bytes();
    assert!(plain.windows(secret.len()).any(|w| w == secret), "plaintext mode stores the token as is");
    // A sealing reader does not take a plaintext value.
    let reader = source(&sim, &redis, KEY);
    reader.fetch().await.expect("token");
    assert_eq!(reader.metrics().unreadable_values, 1);
}

#[test]
fn building_without_a_key_or_the_opt_out_fails() {
    let inner = OAuth2TokenSource::builder("http://127.0.0.1:1/token")
        .client_id("c")
        .allow_http_loopback()
        .build()
        .expect("source");
    let built = SharedTokenSource::builder(inner, bearer_redis::TokenIdentity::new("t", "c"))
        .redis_url("redis://127.0.0.1:1")
        .build();
    let error = built.expect_err("no encryption key");
    assert!(error.to_string().contains("encryption_key"), "{error}");
    let inner = OAuth2TokenSource::builder("http://127.0.0.1:1/token")
        .client_id("c")
        .allow_http_loopback()
        .build()
        .expect("source");
    let error = SharedTokenSource::builder(inner, bearer_redis::TokenIdentity::new("t", "c"))
        .redis_url("not a url with password hunter2")
        .store_plaintext()
        .build()
        .expect_err("bad url");
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

/// Rewrites a plaintext entry as a writer whose wall clock is off by `skew_ms` would have
/// written it (its issue and expiry instants shifted), keeping the entry's Redis TTL.
async fn shift_writer_clock(redis: &RedisServer, skew_ms: i64) {
    let (key, value) = the_entry(redis).await;
    let (header, json) = value.split_at(33);
    let text = String::from_utf8(json.to_vec()).expect("a plaintext payload");
    let shift = |field: &str, text: &str| -> String {
        let start = text.find(&format!("\"{field}\":")).expect("the field") + field.len() + 3;
        let end = start + text[start..].find(|c: char| !c.is_ascii_digit()).expect("its end");
        let at: i64 = text[start..end].parse().expect("unix ms");
        format!("{}{}{}", &text[..start], at + skew_ms, &text[end..])
    };
    let shifted = shift("e", &shift("i", &text));
    let mut rewritten = header.to_vec();
    rewritten.extend_from_slice(shifted.as_bytes());
    let mut conn = connection(redis).await;
    let () = redis::cmd("SET").arg(&key).arg(&rewritten).arg("KEEPTTL").query_async(&mut conn).await.expect("SET");
}

/// The remaining life of a shared token comes from its Redis TTL (one clock, Redis's), not
/// from the writer's wall clock compared with the reader's: a writer an hour behind does not
/// make the token look expired (a fetch per skewed process), and a writer an hour ahead does
/// not make it look alive an hour past its end.
#[tokio::test]
async fn clock_skew_between_processes_changes_neither_fetches_nor_expiry() {
    let redis = RedisServer::start();
    let sim = Simulator::oauth2().ttl(Duration::from_secs(60)).start().await;
    source(&sim, &redis, "plain").fetch().await.expect("first token");

    shift_writer_clock(&redis, -3_600_000).await;
    let reader = source(&sim, &redis, "plain");
    reader.fetch().await.expect("the shared token");
    assert_eq!(reader.metrics().shared_hits, 1, "a writer behind made it look expired: {:?}", reader.metrics());
    assert_eq!(sim.counters().token_requests, 1);

    shift_writer_clock(&redis, 2 * 3_600_000).await;
    let reader = source(&sim, &redis, "plain");
    let token = reader.fetch().await.expect("the shared token");
    assert_eq!(reader.metrics().shared_hits, 1, "{:?}", reader.metrics());
    let left = token.expires_at().expect("an expiry") - tokio::time::Instant::now();
    assert!(left <= Duration::from_secs(60), "a writer ahead stretched its life to {left:?}");
}

/// A token fetched for the fleet, whose Redis entry is then cut to `left` (PEXPIRE).
async fn shared_token_with_left(redis: &RedisServer, sim: &Simulator, left: Duration) -> bearer_core::Token {
    let first = source(sim, redis, "plain").fetch().await.expect("first token");
    let (key, _) = the_entry(redis).await;
    let mut conn = connection(redis).await;
    let millis = u64::try_from(left.as_millis()).expect("a short wait");
    let set: i64 = redis::cmd("PEXPIRE").arg(&key).arg(millis).query_async(&mut conn).await.expect("PEXPIRE");
    assert_eq!(set, 1);
    first
}

/// A shared 4 s token with 800 ms left is past its stale point (its last second, the least
/// hard margin): another process's cache, which serves any token for at least the minimum
/// fetch interval (1 s), would serve it past its expiry. That process fetches a new one.
#[tokio::test]
async fn a_shared_token_past_its_stale_point_is_not_served_by_another_process() {
    let (redis, sim) = (RedisServer::start(), Simulator::oauth2().ttl(Duration::from_secs(4)).start().await);
    let first = shared_token_with_left(&redis, &sim, Duration::from_millis(800)).await;

    let cache = bearer_core::TokenCache::new(source(&sim, &redis, "plain"));
    let served = cache.token().await.expect("a token");
    assert_ne!(served.secret(), first.secret(), "a token 200 ms past its stale point was served");
    assert_eq!(sim.counters().token_requests, 2);
    assert_eq!(cache.source().metrics().shared_fetches, 1, "{:?}", cache.source().metrics());
}

/// The reading process's clock: tokio's, moved ahead by the test.
#[derive(Debug, Default, Clone)]
struct MovableClock(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl MovableClock {
    fn forward(&self, by: Duration) {
        let millis = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.0.fetch_add(millis, std::sync::atomic::Ordering::SeqCst);
    }
}

impl bearer_core::TimeSource for MovableClock {
    fn now(&self) -> tokio::time::Instant {
        tokio::time::Instant::now() + Duration::from_millis(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}

/// A shared hour token with 40 s left is 10 s before its stale point (the 30 s hard margin).
/// Another process that reads it may use it, but not past that point: told it lives 40 s, its
/// cache would apply that life's 4 s margin and serve it 26 s too long.
#[tokio::test]
async fn a_shared_token_read_near_its_end_is_not_served_past_its_stale_point() {
    let (redis, sim) = (RedisServer::start(), Simulator::oauth2().ttl(Duration::from_secs(3600)).start().await);
    let first = shared_token_with_left(&redis, &sim, Duration::from_secs(40)).await;

    let clock = MovableClock::default();
    let cache = bearer_core::TokenCache::with_time_source(
        source(&sim, &redis, "plain"),
        bearer_core::RefreshPolicy::default(),
        clock.clone(),
    );
    let served = cache.token().await.expect("a token");
    assert_eq!(served.secret(), first.secret(), "shared: 10 s of servable life are left");
    assert_eq!(sim.counters().token_requests, 1);
    // It must stop being served by its stale point, 10 s from now.
    clock.forward(Duration::from_secs(15));
    let later = cache.try_token();
    assert!(
        later.is_none_or(|later| later.secret() != first.secret()),
        "served 5 s past its stale point (25 s before expiry)"
    );
}
