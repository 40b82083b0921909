//! The freshness mark: set when a token is installed, taken down by a timer at the
//! refresh-ahead point (or when that timer dies), so the hot path never reads the clock.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use tokio::time::Instant;

use super::{Control, Inner};

impl<S: Send + Sync + 'static> Inner<S> {
    /// Marks `generation` fresh until `refresh_at`, with a timer task on the current runtime
    /// that takes the mark down then. Without a runtime, or past `refresh_at`, the mark stays
    /// down and callers take the clock-checking path.
    pub(super) fn arm_freshness(self: &Arc<Self>, control: &mut Control, generation: u64, refresh_at: Instant) {
        if let Some(previous) = control.freshness_timer.take() {
            previous.abort();
        }
        if Instant::now() >= refresh_at {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let guard = FreshnessGuard { inner: Arc::downgrade(self), generation };
        let timer = runtime.spawn(async move {
            tokio::time::sleep_until(refresh_at).await;
            drop(guard);
        });
        control.freshness_timer = Some(timer.abort_handle());
        self.fresh.store(generation, Ordering::Release);
    }
}

/// Takes down the freshness mark of one generation when dropped: when its timer fires, and
/// also when the timer task is aborted or its runtime shuts down, so a mark never outlives
/// the timer that would have ended it.
struct FreshnessGuard<S> {
    inner: Weak<Inner<S>>,
    generation: u64,
}

impl<S> Drop for FreshnessGuard<S> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.upgrade() {
            let _ = inner.fresh.compare_exchange(self.generation, 0, Ordering::AcqRel, Ordering::Acquire);
        }
    }
}
