//! Counters of what the shared cache did, readable in-process and emitted as `tracing` events.
//!
//! Every count is also a `tracing` debug event on target `bearer_redis` with a `counter`
//! field, so a subscriber (or a metrics bridge such as `tracing-opentelemetry`) can watch
//! them; with no subscriber the event costs one relaxed load of the callsite's interest.
//! Nothing here runs on the per-request hot path: only when a process's cache fetches.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the counters of one [`SharedTokenSource`](crate::SharedTokenSource).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SharedCacheMetrics {
    /// Fetches answered from Redis: another process had fetched the token.
    pub shared_hits: u64,
    /// Fetches for which this process held the lease and called the token endpoint for the
    /// whole fleet.
    pub shared_fetches: u64,
    /// Fetches that waited for another process's lease (counted once per fetch).
    pub lease_waits: u64,
    /// Fetches that went to the token endpoint without Redis: Redis down, slow or answering
    /// garbage, or a lease never released in time.
    pub local_fallbacks: u64,
    /// Redis commands that failed or timed out.
    pub redis_errors: u64,
    /// Values found in Redis that could not be opened (corrupted, another key, another
    /// writer): each was treated as a miss and overwritten.
    pub unreadable_values: u64,
    /// Times Redis became unreachable (one warning each).
    pub outages: u64,
    /// Redis round trips made.
    pub round_trips: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    shared_hits: AtomicU64,
    shared_fetches: AtomicU64,
    lease_waits: AtomicU64,
    local_fallbacks: AtomicU64,
    redis_errors: AtomicU64,
    unreadable_values: AtomicU64,
    outages: AtomicU64,
    round_trips: AtomicU64,
}

/// One of the counters.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counter {
    SharedHit,
    SharedFetch,
    LeaseWait,
    LocalFallback,
    RedisError,
    UnreadableValue,
    Outage,
    RoundTrip,
}

impl Counters {
    pub(crate) fn bump(&self, counter: Counter) {
        let (cell, name) = match counter {
            Counter::SharedHit => (&self.shared_hits, "shared_hit"),
            Counter::SharedFetch => (&self.shared_fetches, "shared_fetch"),
            Counter::LeaseWait => (&self.lease_waits, "lease_wait"),
            Counter::LocalFallback => (&self.local_fallbacks, "local_fallback"),
            Counter::RedisError => (&self.redis_errors, "redis_error"),
            Counter::UnreadableValue => (&self.unreadable_values, "unreadable_value"),
            Counter::Outage => (&self.outages, "outage"),
            Counter::RoundTrip => (&self.round_trips, "round_trip"),
        };
        cell.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(target: "bearer_redis", counter = name, "shared token cache");
    }

    pub(crate) fn snapshot(&self) -> SharedCacheMetrics {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SharedCacheMetrics {
            shared_hits: load(&self.shared_hits),
            shared_fetches: load(&self.shared_fetches),
            lease_waits: load(&self.lease_waits),
            local_fallbacks: load(&self.local_fallbacks),
            redis_errors: load(&self.redis_errors),
            unreadable_values: load(&self.unreadable_values),
            outages: load(&self.outages),
            round_trips: load(&self.round_trips),
        }
    }
}
