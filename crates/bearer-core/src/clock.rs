//! Where the cache reads the time.

use std::sync::Arc;

use tokio::time::Instant;

/// A monotonic clock for a [`TokenCache`](crate::TokenCache): every decision the cache makes
/// (is this token still fresh? may it fetch again?) reads it, on every call, so no decision
/// waits for a timer to fire.
///
/// The default, [`TokioClock`], is tokio's clock: the real monotonic clock, or the paused
/// clock of the calling runtime in tests (`start_paused`, `tokio::time::advance`). Give the
/// cache another one with [`TokenCache::with_time_source`](crate::TokenCache::with_time_source)
/// to control time yourself, for instance in a test that drives several runtimes.
pub trait TimeSource: Send + Sync + std::fmt::Debug {
    /// The current instant. Must never go backwards.
    fn now(&self) -> Instant;
}

/// tokio's clock ([`tokio::time::Instant::now`]): the default [`TimeSource`].
///
/// Inside a runtime whose clock is paused it reads that runtime's paused clock; anywhere else,
/// the operating system's monotonic clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl TimeSource for TokioClock {
    #[inline]
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// The clock a cache reads: tokio's, called directly so the hot path inlines it, or another.
#[derive(Debug, Clone)]
pub(crate) enum Clock {
    Tokio,
    Custom(Arc<dyn TimeSource>),
}

impl Clock {
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        match self {
            Clock::Tokio => Instant::now(),
            Clock::Custom(source) => source.now(),
        }
    }
}
