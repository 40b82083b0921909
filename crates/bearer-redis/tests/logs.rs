//! What the shared cache logs: one warning per outage, one notice when Redis is back, the
//! counters, and never a secret.
//!
//! Every test here captures logs with a thread-local subscriber, so they live apart from the
//! tests that log without one (tracing caches a callsite's interest process-wide).

mod support;

use std::time::Duration;

use bearer_core::TokenSource;
use bearer_testkit::{RedisServer, Simulator};
use support::{sim_source, TEST_KEY as KEY};

#[tokio::test]
async fn redis_down_means_local_fetches_one_warning_and_sharing_when_it_is_back() {
    let mut redis = RedisServer::start();
    let sim = Simulator::oauth2().start().await;
    let logs = support::capture_logs();
    redis.kill();
    let shared = sim_source(&sim, &redis.url(), Duration::from_secs(1));
    for _ in 0..3 {
        shared.fetch().await.expect("a token with Redis down");
    }
    let metrics = shared.metrics();
    assert_eq!(metrics.local_fallbacks, 3, "{metrics:?}");
    assert_eq!(metrics.outages, 1, "{metrics:?}");
    assert_eq!(metrics.round_trips, 1, "the backoff kept later fetches off Redis: {metrics:?}");
    assert_eq!(logs.contents().matches("shared token cache unavailable").count(), 1, "{}", logs.contents());

    redis.restart();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while shared.metrics().shared_fetches == 0 {
        assert!(tokio::time::Instant::now() < deadline, "sharing did not resume: {:?}", shared.metrics());
        tokio::time::sleep(Duration::from_millis(50)).await;
        shared.fetch().await.expect("a token while Redis comes back");
    }
    assert_eq!(logs.contents().matches("reachable again").count(), 1, "{}", logs.contents());
    let other = sim_source(&sim, &redis.url(), Duration::from_secs(1));
    other.fetch().await.expect("the shared token");
    assert_eq!(other.metrics().shared_hits, 1, "{:?}", other.metrics());
}

#[tokio::test]
async fn no_secret_in_debug_or_logs() {
    let redis = RedisServer::start();
    let sim = Simulator::oauth2().start().await;
    let logs = support::capture_logs();
    let shared = sim_source(&sim, &redis.url(), Duration::from_secs(1));
    let token = shared.fetch().await.expect("token");
    let other = sim_source(&sim, &redis.url(), Duration::from_secs(1));
    other.fetch().await.expect("shared hit");
    let shown = format!("{shared:?} {other:?} {:?}", support::worker::parse_key(KEY));
    let logged = logs.contents();
    for text in [&shown, &logged] {
        assert!(!text.contains(token.secret().secret()), "token leaked: {text}");
        assert!(!text.contains(&sim.credentials().client_secret), "client secret leaked: {text}");
        assert!(!text.to_lowercase().contains(KEY), "encryption key leaked: {text}");
    }
    assert!(logged.contains("shared_hit"), "the counters are traced: {logged}");
}

#[tokio::test]
async fn a_redis_password_never_shows_in_debug_or_logs() {
    let sim = Simulator::oauth2().start().await;
    let logs = support::capture_logs();
    let password = "hunter2-redis-password";
    // Nothing listens on port 1: the fetch falls back, warning about the outage.
    let url = format!("redis://:{password}@127.0.0.1:1");
    let creds = sim.credentials();
    let builder = bearer_redis::SharedTokenSource::builder(
        support::worker::oauth2_source(&sim.token_url(), &creds.client_id, &creds.client_secret),
        bearer_redis::TokenIdentity::new(sim.token_url(), creds.client_id.clone()),
    )
    .redis_url(&url)
    .redis_timeout(Duration::from_secs(1))
    .encryption_key(support::worker::parse_key(KEY));
    let builder_shown = format!("{builder:?}");
    let shared = builder.build().expect("valid shared source");
    shared.fetch().await.expect("a token with Redis unreachable");
    assert_eq!(shared.metrics().outages, 1, "{:?}", shared.metrics());
    let invalid = bearer_redis::SharedTokenSource::builder(
        support::worker::oauth2_source(&sim.token_url(), &creds.client_id, &creds.client_secret),
        bearer_redis::TokenIdentity::new(sim.token_url(), creds.client_id.clone()),
    )
    .redis_url(&format!("redis://:{password}@[::1"))
    .store_plaintext()
    .build()
    .expect_err("an invalid URL");
    let shown = format!("{builder_shown} {shared:?} {invalid:?} {invalid}");
    let logged = logs.contents();
    assert!(logged.contains("shared token cache unavailable"), "{logged}");
    for text in [&shown, &logged] {
        assert!(!text.contains(password), "the Redis password leaked: {text}");
    }
}
