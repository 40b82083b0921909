//! The token cache: lock-free reads, refresh-ahead, single-flight refreshes.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument;

use crate::policy::Schedule;
use crate::{Error, RefreshPolicy, Token, TokenSource};

/// The outcome of one refresh, shared by every caller that waited for it.
type FlightResult = Option<Result<Arc<Token>, Error>>;

/// Serves the current token of a [`TokenSource`], refreshing it when needed.
///
/// - **Fresh** token: one atomic load and a thread-local lookup; no lock, no allocation, no
///   clock read, no write to memory another thread uses (each thread serves its own copy of
///   the token). A timer task armed when the token is installed ends its freshness at the
///   refresh-ahead point, well before expiry; if that task is dropped (its runtime shut
///   down), freshness ends with it, and the next caller checks the clock itself.
/// - Inside the **refresh-ahead** window: the cached token is returned at once and one
///   background refresh starts.
/// - **Expired**, within the hard margin, or **invalidated**: every caller awaits one shared
///   refresh. The refresh runs in its own task, so callers that give up (timeouts,
///   `select!`) never cancel it and never wedge the cache.
/// - A **failed** refresh while the old token is still valid keeps the old token and tries
///   again after a jittered exponential backoff. Inside the hard margin, when the refresh
///   fails, the token is still served until it actually expires. With no unexpired token,
///   the error goes to every waiter of that refresh, and later callers get it at once until
///   the backoff ends.
///
/// Cloning is cheap and clones share one cache. The cache needs a tokio runtime to run its
/// refreshes; without one, [`token`](Self::token) fails with [`Error::Config`].
pub struct TokenCache<S> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for TokenCache<S> {
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner) }
    }
}

impl<S> std::fmt::Debug for TokenCache<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let current = self.inner.current.load();
        f.debug_struct("TokenCache")
            .field("token", &current.token)
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

struct Inner<S> {
    /// Process-unique, for this cache's per-thread token copies.
    id: u64,
    source: S,
    policy: RefreshPolicy,
    /// The generation of the installed token while it is fresh, else 0. The hot path serves
    /// `current` without reading the clock while this is non-zero; the freshness timer, an
    /// invalidation or a new install clears it. Only set with `control` held.
    fresh: AtomicU64,
    /// What the hot path reads. Only written with `control` held.
    current: ArcSwap<Current>,
    control: Mutex<Control>,
}

/// The installed token and when it stops being fresh and usable.
struct Current {
    token: Option<Arc<Token>>,
    /// Identifies this install, for the freshness flag and its timer.
    generation: u64,
    /// Before this instant the token is served without further thought.
    refresh_at: Instant,
    /// From this instant on the token is not served while a refresh can be had.
    stale_at: Instant,
    /// Until this instant (its expiry; the invalidation, if it was rejected) the token is
    /// still served when refreshing fails: better a token inside the safety margin than none.
    fallback_until: Instant,
}

#[derive(Default)]
struct Control {
    flight: Option<watch::Receiver<FlightResult>>,
    failures: u32,
    next_attempt: Option<Instant>,
    last_error: Option<Error>,
    generations: u64,
    /// The task that ends the installed token's freshness at its refresh-ahead point.
    freshness_timer: Option<tokio::task::AbortHandle>,
}

impl<S> Drop for Inner<S> {
    fn drop(&mut self) {
        local::forget(self.id);
        let control = self.control.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(timer) = control.freshness_timer.take() {
            timer.abort();
        }
    }
}

/// What the slow path decided under the lock.
enum Decision {
    Serve(Arc<Token>),
    Wait(watch::Receiver<FlightResult>),
    Fail(Error),
}

impl<S: TokenSource + 'static> TokenCache<S> {
    /// A cache over `source` with the default [`RefreshPolicy`]. Does no I/O.
    pub fn new(source: S) -> Self {
        Self::with_policy(source, RefreshPolicy::default())
    }

    /// A cache over `source` with the given policy. Does no I/O.
    pub fn with_policy(source: S, policy: RefreshPolicy) -> Self {
        let now = Instant::now();
        Self {
            inner: Arc::new(Inner {
                id: local::new_cache_id(),
                source,
                policy,
                fresh: AtomicU64::new(0),
                current: ArcSwap::from_pointee(Current {
                    token: None,
                    generation: 0,
                    refresh_at: now,
                    stale_at: now,
                    fallback_until: now,
                }),
                control: Mutex::new(Control::default()),
            }),
        }
    }

    /// The current token, fetching or refreshing it as the policy says.
    ///
    /// On a hit the returned future completes on its first poll without allocating; only a
    /// caller that has to wait for a refresh boxes its wait.
    pub fn token(&self) -> TokenFuture<'_, S> {
        TokenFuture::new(self)
    }

    /// The installed token if it is fresh, without waiting, fetching or reading the clock;
    /// `None` means "call [`token`](Self::token)".
    #[inline]
    pub fn fresh(&self) -> Option<Arc<Token>> {
        let generation = self.inner.fresh.load(Ordering::Acquire);
        if generation == 0 {
            return None;
        }
        local::get(self.inner.id, generation).or_else(|| self.refill(generation))
    }

    /// Loads the installed token and keeps a copy on this thread, if it is still the fresh
    /// generation.
    #[cold]
    fn refill(&self, generation: u64) -> Option<Arc<Token>> {
        let current = self.inner.current.load();
        let token = current.token.as_ref().filter(|_| current.generation == generation)?;
        local::put(self.inner.id, generation, token).or_else(|| Some(Arc::clone(token)))
    }

    /// The token currently installed, if it may still be served, without fetching.
    pub fn cached(&self) -> Option<Arc<Token>> {
        let current = self.inner.current.load();
        current.token.as_ref().filter(|_| Instant::now() < current.stale_at).cloned()
    }

    /// Marks `token` as rejected, so the next [`token`](Self::token) call fetches a new one.
    ///
    /// Only acts if `token` is still the installed one (the same access token value, whichever
    /// copy of it the caller holds): when a hundred requests come back 401 with the same
    /// token, the first call invalidates it and the rest find a newer token (or an already
    /// invalidated one) and change nothing.
    /// Returns whether this call invalidated the token.
    pub fn invalidate(&self, token: &Token) -> bool {
        let _control = self.inner.lock();
        let current = self.inner.current.load();
        let now = Instant::now();
        match &current.token {
            // Not yet invalidated nor expired (it may be served as a fallback past `stale_at`).
            Some(installed) if installed.secret() == token.secret() && now < current.fallback_until => {
                self.inner.fresh.store(0, Ordering::Release);
                self.inner.current.store(Arc::new(Current {
                    token: Some(Arc::clone(installed)),
                    generation: current.generation,
                    refresh_at: now,
                    stale_at: now,
                    fallback_until: now,
                }));
                tracing::debug!("token invalidated");
                self.inner.source.token_rejected(installed);
                true
            }
            _ => false,
        }
    }

    /// The source behind the cache.
    pub fn source(&self) -> &S {
        &self.inner.source
    }

    /// The policy the cache applies.
    pub fn policy(&self) -> &RefreshPolicy {
        &self.inner.policy
    }

    #[cold]
    fn decide(&self) -> Decision {
        let mut control = self.inner.lock();
        let now = Instant::now();
        let current = self.inner.current.load();
        let usable = current.token.as_ref().filter(|_| now < current.stale_at);
        if let Some(token) = usable {
            // Fresh, but the flag was down (its timer's runtime is gone): arm it again here.
            if now < current.refresh_at && self.inner.fresh.load(Ordering::Acquire) == 0 {
                self.inner.arm_freshness(&mut control, current.generation, current.refresh_at);
            }
            // Inside the refresh-ahead window: serve it, and make sure one refresh is under way.
            if now >= current.refresh_at && control.flight.is_none() && !control.backing_off(now) {
                if let Err(error) = self.start_flight(&mut control) {
                    tracing::warn!(%error, "could not start the background token refresh");
                }
            }
            return Decision::Serve(Arc::clone(token));
        }
        if let Some(flight) = &control.flight {
            return Decision::Wait(flight.clone());
        }
        if control.backing_off(now) {
            return match self.inner.fallback() {
                Some(token) => Decision::Serve(token),
                None => Decision::Fail(control.last_error.clone().unwrap_or(Error::Abandoned)),
            };
        }
        match self.start_flight(&mut control) {
            Ok(flight) => Decision::Wait(flight),
            Err(error) => Decision::Fail(error),
        }
    }

    /// Spawns the one refresh task and records it as the flight in progress.
    fn start_flight(&self, control: &mut Control) -> Result<watch::Receiver<FlightResult>, Error> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::Config("TokenCache needs a tokio runtime to refresh tokens".into()))?;
        let (sender, receiver) = watch::channel(None);
        control.flight = Some(receiver.clone());
        let guard = FlightGuard { inner: Arc::clone(&self.inner), finished: false };
        let span = tracing::debug_span!("token_refresh", attempt = control.failures + 1);
        runtime.spawn(
            async move {
                let mut guard = guard;
                let fetched = guard.inner.source.fetch().await;
                let outcome = guard.inner.finish(fetched);
                guard.finished = true;
                // Nobody waiting is fine: the token is installed either way.
                let _ = sender.send(Some(outcome));
            }
            .instrument(span),
        );
        Ok(receiver)
    }
}

impl<S: Send + Sync + 'static> Inner<S> {
    /// Installs a fetched token, or records a failure and schedules the next attempt.
    fn finish(self: &Arc<Self>, fetched: Result<Token, Error>) -> Result<Arc<Token>, Error> {
        let mut control = self.lock();
        control.flight = None;
        match fetched {
            Ok(token) => {
                let token = Arc::new(token);
                let Schedule { refresh_at, stale_at } = self.policy.schedule(&token);
                control.generations += 1;
                let generation = control.generations;
                self.fresh.store(0, Ordering::Release);
                let fallback_until = token.expires_at().unwrap_or_else(crate::token::far_future);
                self.current.store(Arc::new(Current {
                    token: Some(Arc::clone(&token)),
                    generation,
                    refresh_at,
                    stale_at,
                    fallback_until,
                }));
                self.arm_freshness(&mut control, generation, refresh_at);
                control.failures = 0;
                control.next_attempt = None;
                control.last_error = None;
                tracing::debug!(lifetime = ?token.lifetime(), "token refreshed");
                Ok(token)
            }
            Err(error) => {
                self.record_failure(&mut control, error.clone());
                Err(error)
            }
        }
    }
}

impl<S> Inner<S> {
    /// The installed token if it has neither expired nor been rejected.
    fn fallback(&self) -> Option<Arc<Token>> {
        let current = self.current.load();
        current.token.as_ref().filter(|_| Instant::now() < current.fallback_until).cloned()
    }

    fn lock(&self) -> MutexGuard<'_, Control> {
        // The lock guards plain bookkeeping that stays consistent if a holder panicked.
        self.control.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record_failure(&self, control: &mut Control, error: Error) {
        control.failures = control.failures.saturating_add(1);
        let wait = self.policy.backoff(control.failures, error.retry_after(), random_unit());
        control.next_attempt = Some(Instant::now() + wait);
        tracing::warn!(%error, transient = error.is_transient(), failures = control.failures, backoff = ?wait, "token refresh failed");
        control.last_error = Some(error);
    }
}

impl Control {
    fn backing_off(&self, now: Instant) -> bool {
        self.next_attempt.is_some_and(|at| now < at)
    }
}

/// Clears the flight if the refresh task ends without finishing (panic, runtime shutdown),
/// so the cache never waits on a flight that will not land.
struct FlightGuard<S> {
    inner: Arc<Inner<S>>,
    finished: bool,
}

impl<S> Drop for FlightGuard<S> {
    fn drop(&mut self) {
        if !self.finished {
            let mut control = self.inner.lock();
            control.flight = None;
            self.inner.record_failure(&mut control, Error::Abandoned);
        }
    }
}

/// A random number in [0, 1) for jitter, from the standard library's per-process random keys.
fn random_unit() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x9e37_79b9_7f4a_7c15);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

mod freshness;
mod future;
mod local;

pub use future::TokenFuture;
#[cfg(test)]
mod tests;
