//! Redis down, slow or answering garbage never fails a fetch: the process fetches for itself,
//! warns once per outage, backs off, and shares again when Redis is back.

mod support;

use std::future::Future;
use std::time::Duration;

use bearer_core::TokenSource;
use bearer_oauth2::OAuth2TokenSource;
use bearer_redis::SharedTokenSource;
use bearer_testkit::{Fault, RedisServer, Simulator};
use support::sim_source;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A loopback server that accepts connections and answers what each read brings with
/// `reply` (nothing, for an empty answer).
async fn fake_redis(reply: fn(&str) -> Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("redis://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                while let Ok(n) = socket.read(&mut buffer).await {
                    if n == 0 {
                        break;
                    }
                    let answer = reply(&String::from_utf8_lossy(&buffer[..n]));
                    if !answer.is_empty() && socket.write_all(&answer).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    url
}

/// A Redis that accepts connections and never answers.
async fn silent_redis() -> String {
    fake_redis(|_| Vec::new()).await
}

/// A Redis that speaks just enough RESP: `+OK` to every command but `EVAL`, which it answers
/// with the integer 3 (no answer the scripts give).
async fn garbage_redis() -> String {
    fake_redis(|commands| {
        // One reply per command: each starts with `*` at the start of a line.
        let mut reply = Vec::new();
        for command in commands.split("\r\n*").filter(|c| !c.is_empty()) {
            reply.extend_from_slice(if command.contains("EVAL") { b":3\r\n" } else { b"+OK\r\n" });
        }
        reply
    })
    .await
}

#[tokio::test]
async fn a_redis_that_never_answers_costs_one_timeout_then_local_fetches() {
    let sim = Simulator::oauth2().start().await;
    let url = silent_redis().await;
    let shared = sim_source(&sim, &url, Duration::from_millis(200));
    let token = shared.fetch().await.expect("a token despite a silent Redis");
    assert!(!token.secret().secret().is_empty());
    let metrics = shared.metrics();
    assert_eq!((metrics.local_fallbacks, metrics.redis_errors, metrics.outages), (1, 1, 1), "{metrics:?}");
    assert_eq!(sim.counters().token_requests, 1);
}

#[tokio::test]
async fn a_redis_answering_garbage_is_an_outage_not_an_error() {
    let sim = Simulator::oauth2().start().await;
    let url = garbage_redis().await;
    let shared = sim_source(&sim, &url, Duration::from_millis(500));
    shared.fetch().await.expect("a token despite garbage answers");
    let metrics = shared.metrics();
    assert_eq!((metrics.local_fallbacks, metrics.outages), (1, 1), "{metrics:?}");
    assert_eq!(metrics.shared_hits + metrics.shared_fetches, 0, "{metrics:?}");
}

#[tokio::test]
async fn a_failed_fetch_releases_the_lease_at_once() {
    let redis = RedisServer::start();
    let sim = Simulator::oauth2().start().await;
    sim.fail_next(1, Fault::server_error());
    let first = sim_source(&sim, &redis.url(), Duration::from_secs(1));
    first.fetch().await.expect_err("the token endpoint failed");
    assert_eq!(first.metrics().shared_fetches, 1);
    let second = sim_source(&sim, &redis.url(), Duration::from_secs(1));
    second.fetch().await.expect("the next process fetches at once");
    assert_eq!(second.metrics().lease_waits, 0, "the failed fetch left its lease behind: {:?}", second.metrics());
    assert_eq!(second.metrics().shared_fetches, 1);
}

#[tokio::test]
async fn a_rejected_token_is_dropped_fleet_wide_only_while_redis_still_holds_it() {
    let redis = RedisServer::start();
    let sim = Simulator::oauth2().start().await;
    let a = sim_source(&sim, &redis.url(), Duration::from_secs(1));
    let b = sim_source(&sim, &redis.url(), Duration::from_secs(1));
    let first = a.fetch().await.expect("first token");
    assert_eq!(b.fetch().await.expect("shared").secret(), first.secret());
    // A rejects the token: its next fetch replaces it for everyone.
    a.token_rejected(&first);
    let second = a.fetch().await.expect("second token");
    assert_ne!(second.secret(), first.secret());
    // B rejects the same old token later: Redis no longer holds it, so B reads the new one.
    b.token_rejected(&first);
    assert_eq!(b.fetch().await.expect("the replacement").secret(), second.secret());
    assert_eq!(sim.counters().token_requests, 2);
}

/// A process's source with a 300 ms lease and a 500 ms Redis timeout.
fn short_lease_source(sim: &Simulator, redis: &RedisServer) -> SharedTokenSource<OAuth2TokenSource> {
    let creds = sim.credentials();
    support::worker::shared_source(
        &sim.token_url(),
        &creds.client_id,
        &creds.client_secret,
        &redis.url(),
        support::TEST_KEY,
        Duration::from_millis(300),
        Duration::from_millis(500),
    )
}

/// Another process holds the lease of the one entry (for `px` ms, or without expiry);
/// `drop_entry` deletes the entry too.
async fn hold_lease(redis: &RedisServer, px: Option<u64>, drop_entry: bool) {
    let client = redis::Client::open(redis.url()).expect("url");
    let mut conn = client.get_multiplexed_async_connection().await.expect("connect");
    let keys: Vec<String> = redis::cmd("KEYS").arg("bearer:*:token").query_async(&mut conn).await.expect("KEYS");
    let entry = keys.first().expect("the entry").clone();
    if drop_entry {
        let () = redis::cmd("DEL").arg(&entry).query_async(&mut conn).await.expect("DEL");
    }
    let mut set = redis::cmd("SET");
    set.arg(entry.replace(":token", ":lease")).arg("another");
    if let Some(px) = px {
        set.arg("PX").arg(px);
    }
    let () = set.query_async(&mut conn).await.expect("SET");
}

#[tokio::test]
async fn a_lease_never_released_ends_the_wait_with_a_local_fetch() {
    let redis = RedisServer::start();
    let sim = Simulator::oauth2().start().await;
    let source = || short_lease_source(&sim, &redis);
    source().fetch().await.expect("a first token, to learn the keys");
    // A stalled holder: the entry is gone and a lease is held far longer than `lease_ttl`.
    hold_lease(&redis, Some(60_000), true).await;

    let waiter = source();
    waiter.fetch().await.expect("a token despite the stalled lease");
    let metrics = waiter.metrics();
    assert_eq!((metrics.lease_waits, metrics.local_fallbacks, metrics.shared_fetches), (1, 1, 0), "{metrics:?}");
    assert_eq!(sim.counters().token_requests, 2);
}

/// A Redis that answers every script with garbage stays one outage: an answer that does not
/// parse is no sign of recovery, so it neither warns again nor resets the backoff. Garbage is
/// noticed at once, not after the (here very long) timeout.
#[tokio::test]
async fn garbage_answers_on_every_try_count_as_one_outage() {
    let sim = Simulator::oauth2().start().await;
    let url = garbage_redis().await;
    let creds = sim.credentials();
    // No backoff, so each fetch tries Redis again.
    let shared = bearer_redis::SharedTokenSource::builder(
        support::worker::oauth2_source(&sim.token_url(), &creds.client_id, &creds.client_secret),
        bearer_redis::TokenIdentity::new(sim.token_url(), creds.client_id.clone()),
    )
    .redis_url(&url)
    .redis_timeout(Duration::from_secs(60))
    .reconnect_backoff(Duration::ZERO, Duration::ZERO)
    .store_plaintext()
    .build()
    .expect("valid shared source");
    for _ in 0..3 {
        tokio::time::timeout(Duration::from_secs(20), shared.fetch())
            .await
            .expect("garbage is noticed without waiting for the timeout")
            .expect("a token despite garbage answers");
    }
    let metrics = shared.metrics();
    assert_eq!((metrics.local_fallbacks, metrics.redis_errors, metrics.round_trips), (3, 3, 3), "{metrics:?}");
    assert_eq!(metrics.outages, 1, "garbage every time is one outage: {metrics:?}");
}

/// A lease without expiry (written by someone else, or made persistent) reads as PTTL -1:
/// the wait polls it with the usual backoff until it gives up, not in a tight loop.
#[tokio::test]
async fn a_lease_without_expiry_is_polled_with_backoff_not_in_a_tight_loop() {
    let redis = RedisServer::start();
    let sim = Simulator::oauth2().start().await;
    let source = || short_lease_source(&sim, &redis);
    source().fetch().await.expect("a first token, to learn the keys");
    hold_lease(&redis, None, true).await;

    let waiter = source();
    waiter.fetch().await.expect("a token despite the lease without expiry");
    let metrics = waiter.metrics();
    assert_eq!((metrics.lease_waits, metrics.local_fallbacks), (1, 1), "{metrics:?}");
    // About 1.1 s of waiting at 5, 10, 20, ... 100 ms between looks is under 20 round trips;
    // a 1 ms loop makes hundreds.
    assert!(metrics.round_trips < 40, "the wait spun: {metrics:?}");
}

/// A token rejected while this process's due refresh is in flight (the refresh read the
/// shared entry, still that token, as another process holds the lease) is not handed back by
/// that refresh: it looks again, dropping the entry.
#[tokio::test]
async fn a_token_rejected_during_a_refresh_is_not_what_the_refresh_returns() {
    let redis = RedisServer::start();
    let sim = Simulator::oauth2().start().await;
    let source = || short_lease_source(&sim, &redis);
    let process = source();
    let first = process.fetch().await.expect("the first token");
    // Another process is refreshing: it holds the lease, the entry still holds `first`.
    hold_lease(&redis, Some(60_000), false).await;

    // The cache finds `first` due and refreshes; the API rejects `first` meanwhile.
    let mut refresh = Box::pin(process.fetch());
    // One poll: the refresh has sent its Redis command and waits for the answer.
    std::future::poll_fn(|cx| {
        assert!(refresh.as_mut().poll(cx).is_pending(), "the refresh waits for Redis");
        std::task::Poll::Ready(())
    })
    .await;
    process.token_rejected(&first);
    let token = refresh.await.expect("a token");
    assert_ne!(token.secret(), first.secret(), "the refresh handed back the token just rejected");
    // Its first look read Redis, its second called the endpoint: one call for the refresh.
    assert_eq!(sim.counters().token_requests, 2, "the first token and one for the refresh");
}

/// The simulator's source, as a provider that re-issues the token it issued first for as long
/// as that one lives (some do when asked again): every fetch still calls the token endpoint.
/// Its second fetch waits at `gate` until the test has rejected the held token.
struct ReissuesTheSameValue {
    inner: OAuth2TokenSource,
    first: std::sync::Mutex<Option<String>>,
    fetches: std::sync::atomic::AtomicUsize,
    entered: tokio::sync::Notify,
    gate: tokio::sync::Notify,
}

#[bearer_core::async_trait]
impl TokenSource for ReissuesTheSameValue {
    async fn fetch(&self) -> Result<bearer_core::Token, bearer_core::Error> {
        if self.fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 1 {
            self.entered.notify_one();
            self.gate.notified().await;
        }
        let fetched = self.inner.fetch().await?;
        let value =
            self.first.lock().expect("first lock").get_or_insert_with(|| fetched.secret().secret().to_owned()).clone();
        let lifetime = fetched.lifetime().unwrap_or(Duration::from_secs(60));
        bearer_core::Token::builder(bearer_core::AccessToken::new(value)).expires_in(lifetime).build()
    }
}

/// One `fetch()` calls the token endpoint at most once, even when the API rejects the held
/// token while this process's fetch is at the endpoint and the endpoint hands that same value
/// back: asking again within the same fetch could not change the answer, and would bypass the
/// cache's minimum fetch interval.
#[tokio::test]
async fn one_fetch_calls_the_token_endpoint_at_most_once_when_the_endpoint_reissues_a_rejected_value() {
    let redis = RedisServer::start();
    let sim = Simulator::oauth2().start().await;
    let creds = sim.credentials();
    let inner = ReissuesTheSameValue {
        inner: support::worker::oauth2_source(&sim.token_url(), &creds.client_id, &creds.client_secret),
        first: std::sync::Mutex::default(),
        fetches: std::sync::atomic::AtomicUsize::new(0),
        entered: tokio::sync::Notify::new(),
        gate: tokio::sync::Notify::new(),
    };
    let process = std::sync::Arc::new(
        SharedTokenSource::builder(inner, bearer_redis::TokenIdentity::new(sim.token_url(), creds.client_id.clone()))
            .redis_url(&redis.url())
            .lease_ttl(Duration::from_secs(5))
            .redis_timeout(Duration::from_secs(1))
            .store_plaintext()
            .build()
            .expect("valid shared source"),
    );
    let first = process.fetch().await.expect("the first token");
    assert_eq!(sim.counters().token_requests, 1);

    // The cache finds `first` due and refreshes: this process takes the lease and calls the
    // endpoint; the API rejects `first` meanwhile; the endpoint answers with the same value.
    let refresh = tokio::spawn({
        let process = std::sync::Arc::clone(&process);
        async move { process.fetch().await }
    });
    process.inner().entered.notified().await;
    process.token_rejected(&first);
    process.inner().gate.notify_one();
    let token = refresh.await.expect("task").expect("a token");
    assert_eq!(token.secret(), first.secret(), "the endpoint re-issued the value");
    assert_eq!(sim.counters().token_requests, 2, "one fetch() called the token endpoint twice");
    assert_eq!(process.metrics().shared_fetches, 2, "{:?}", process.metrics());
}
