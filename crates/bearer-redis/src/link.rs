//! The connection to Redis (one server or a cluster): connected lazily, every command bounded
//! by a short timeout, and an outage noticed once, backed off from, and recovered from.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Value};
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::metrics::{Counter, Counters};

/// Where Redis is.
#[derive(Clone)]
pub(crate) enum RedisTarget {
    Server(redis::Client),
    Cluster(Box<ClusterClient>),
}

#[derive(Clone)]
enum Connection {
    Server(ConnectionManager),
    Cluster(ClusterConnection),
}

/// Redis failed us: the caller fetches for itself.
#[derive(Debug)]
pub(crate) struct Unavailable;

/// The timeouts and backoff of a link.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinkSettings {
    pub(crate) timeout: Duration,
    pub(crate) backoff_floor: Duration,
    pub(crate) backoff_ceiling: Duration,
}

pub(crate) struct RedisLink {
    target: RedisTarget,
    settings: LinkSettings,
    connection: OnceCell<Connection>,
    health: Mutex<Health>,
    counters: Arc<Counters>,
}

/// Whether Redis is in an outage, and when to try it again.
#[derive(Default)]
struct Health {
    down: bool,
    backoff: Duration,
    retry_at: Option<Instant>,
}

impl RedisLink {
    pub(crate) fn new(target: RedisTarget, settings: LinkSettings, counters: Arc<Counters>) -> Self {
        Self { target, settings, connection: OnceCell::new(), health: Mutex::new(Health::default()), counters }
    }

    /// The bound on each command.
    pub(crate) fn timeout(&self) -> Duration {
        self.settings.timeout
    }

    /// False while backing off after a failure: the caller should not wait on Redis at all.
    pub(crate) fn available(&self) -> bool {
        let health = self.health();
        health.retry_at.is_none_or(|at| Instant::now() >= at)
    }

    /// Runs one command (one round trip), bounded by the timeout, and reads its answer with
    /// `parse`. An answer `parse` refuses is garbage: an outage like an error, and no sign that
    /// Redis is back.
    pub(crate) async fn query<T>(&self, cmd: &Cmd, parse: impl FnOnce(Value) -> Option<T>) -> Result<T, Unavailable> {
        self.counters.bump(Counter::RoundTrip);
        let attempt = async {
            let connection = self.connection.get_or_try_init(|| self.connect()).await?;
            match connection.clone() {
                Connection::Server(mut c) => c.req_packed_command(cmd).await,
                Connection::Cluster(mut c) => c.req_packed_command(cmd).await,
            }
        };
        let outcome = match tokio::time::timeout(self.settings.timeout, attempt).await {
            Ok(Ok(Value::ServerError(error))) => Err(Failure::Redis(error.kind().map(|k| format!("{k:?}")))),
            Ok(Ok(value)) => parse(value).ok_or(Failure::Garbage),
            Ok(Err(error)) => Err(Failure::Redis(Some(format!("{:?}", error.kind())))),
            Err(_) => Err(Failure::Timeout),
        };
        match outcome {
            Ok(value) => {
                self.succeeded();
                Ok(value)
            }
            Err(failure) => {
                self.failed(failure);
                Err(Unavailable)
            }
        }
    }

    async fn connect(&self) -> redis::RedisResult<Connection> {
        let timeout = self.settings.timeout;
        match &self.target {
            RedisTarget::Server(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    .set_number_of_retries(1)
                    .set_min_delay(self.settings.backoff_floor)
                    .set_max_delay(self.settings.backoff_ceiling);
                ConnectionManager::new_lazy_with_config(client.clone(), config).map(Connection::Server)
            }
            RedisTarget::Cluster(client) => client.get_async_connection().await.map(Connection::Cluster),
        }
    }

    fn succeeded(&self) {
        let mut health = self.health();
        if health.down {
            tracing::info!(target: "bearer_redis", "shared token cache reachable again: sharing tokens across the fleet");
        }
        *health = Health::default();
    }

    fn failed(&self, failure: Failure) {
        self.counters.bump(Counter::RedisError);
        let mut health = self.health();
        if !health.down {
            health.down = true;
            self.counters.bump(Counter::Outage);
            // Once per outage, not per request. The failure never carries a token or a URL.
            tracing::warn!(target: "bearer_redis", failure = %failure, "shared token cache unavailable: fetching tokens locally until it is back");
        }
        health.backoff = (health.backoff * 2).clamp(self.settings.backoff_floor, self.settings.backoff_ceiling);
        health.retry_at = Some(Instant::now() + health.backoff);
    }

    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Why a command failed, without anything that could hold a secret.
enum Failure {
    Redis(Option<String>),
    Timeout,
    Garbage,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Redis(Some(kind)) => write!(f, "redis error ({kind})"),
            Failure::Redis(None) => f.write_str("redis error"),
            Failure::Timeout => f.write_str("no answer within the timeout"),
            Failure::Garbage => f.write_str("an answer the scripts never give"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> (RedisLink, Arc<Counters>) {
        let client = redis::Client::open("redis://127.0.0.1:1").expect("a valid URL");
        let settings = LinkSettings {
            timeout: Duration::from_millis(100),
            backoff_floor: Duration::from_secs(1),
            backoff_ceiling: Duration::from_secs(4),
        };
        let counters = Arc::new(Counters::default());
        (RedisLink::new(RedisTarget::Server(client), settings, Arc::clone(&counters)), counters)
    }

    #[tokio::test(start_paused = true)]
    async fn failures_back_off_doubling_to_the_ceiling_and_count_one_outage() {
        let (link, counters) = link();
        assert!(link.available());
        let mut waits = Vec::new();
        for _ in 0..5 {
            link.failed(Failure::Garbage);
            assert!(!link.available());
            let start = Instant::now();
            while !link.available() {
                tokio::time::advance(Duration::from_millis(250)).await;
            }
            waits.push(start.elapsed().as_millis());
        }
        assert_eq!(waits, [1000, 2000, 4000, 4000, 4000]);
        let metrics = counters.snapshot();
        assert_eq!((metrics.outages, metrics.redis_errors), (1, 5));
        link.succeeded();
        link.failed(Failure::Garbage);
        assert_eq!(counters.snapshot().outages, 2, "a failure after a success is a new outage");
    }
}
