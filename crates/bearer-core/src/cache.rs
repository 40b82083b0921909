//! The token cache: lock-free reads checked against the clock, refresh-ahead, single-flight
//! refreshes, and bounds on how often anything can make it call the token endpoint.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::clock::Clock;
use crate::{Error, RefreshPolicy, TimeSource, Token, TokenSource};

/// The outcome of one refresh, shared by every caller that waited for it.
type FlightResult = Option<Result<LandedToken, Error>>;

/// A token a refresh installed, with its stale point: a waiter that is polled only after
/// that point (its worker was busy) must not return it.
type LandedToken = (Arc<Token>, Instant);

/// Serves the current token of a [`TokenSource`], refreshing it when needed.
///
/// Every call reads the cache's clock (a [`TimeSource`], tokio's clock by default) and
/// decides from it alone: **no call returns a token past its stale point** (nor, as a
/// fallback, past its expiry), whatever runtime drives the cache, however it is driven
/// (`block_on` per call with idle gaps in between, stalled workers, a runtime shut down, two
/// runtimes at once), and whether or not any background task ran. No timer is involved and
/// an idle cache owns no task. A token's lifetime ([`Token::lifetime`]) is counted on that
/// clock from the moment its fetch started, so time spent in flight counts against it; that
/// holds for the callers waiting on the fetch too: a token that lands at or past its stale
/// point (a 2 s token from an endpoint that answers in 3 s; `expires_in: 0` from one slower
/// than the minimum fetch interval) is neither served nor installed. That fetch is a failed
/// attempt, [`Error::StaleOnArrival`] (transient, with the usual backoff).
///
/// - **Fresh** token (before its refresh-ahead point): one atomic load, one clock read and a
///   lookup in a small per-thread table; no lock, no allocation, no write to memory another
///   thread uses (each thread serves its own copy of the token).
/// - Inside the **refresh-ahead** window: the cached token is returned at once and one
///   background refresh starts.
/// - **Stale** (within the hard margin of expiry), expired or **invalidated**: every caller
///   awaits one shared refresh. The refresh runs in its own task, so callers that give up
///   (timeouts, `select!`) never cancel it and never wedge the cache. Each fetch has a
///   deadline ([`RefreshPolicy::with_fetch_timeout`]). A refresh whose task does not run (it
///   was spawned on a runtime nobody drives any more) is given up one second after that
///   deadline: its waiters and later callers start another on their own runtime.
/// - A **failed** refresh (a token stale on arrival included) while the old token is still
///   valid keeps the old token and tries again after a jittered exponential backoff. Past the stale point, when the refresh
///   fails, the token is still served until it actually expires. With no unexpired token,
///   the error goes to every waiter of that refresh, and later callers get it at once until
///   the backoff ends.
/// - **Bounded fetches**: the token endpoint is called at most once per
///   [minimum fetch interval](crate::DEFAULT_MIN_FETCH_INTERVAL) whatever the tokens'
///   lifetimes say, and at most once per
///   [rejection interval](crate::DEFAULT_REJECTION_REFRESH_INTERVAL) because of rejected
///   tokens (see [`invalidate`](Self::invalidate)).
///
/// Cloning is cheap and clones share one cache. The cache needs a tokio runtime with its time
/// driver enabled to run its refreshes (as `#[tokio::main]` builds); without a runtime,
/// [`token`](Self::token) on a cold cache fails with [`Error::Config`].
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
    /// The generation of `current`, bumped with every install or invalidation: a per-thread
    /// copy is only served while it still matches. Written after `current`, with `control` held.
    generation: AtomicU64,
    /// What the hot path reads. Only written with `control` held.
    current: ArcSwap<Current>,
    clock: Clock,
    source: S,
    policy: RefreshPolicy,
    control: Mutex<Control>,
}

/// The installed token and the instants, on the cache's clock, that govern it.
struct Current {
    token: Option<Arc<Token>>,
    /// Identifies this install, for the per-thread copies.
    generation: u64,
    /// Before this instant the token is served without a lock; from it on, served while one
    /// background refresh runs.
    refresh_at: Instant,
    /// From this instant on the token is not served while a refresh can be had.
    stale_at: Instant,
    /// Until this instant (its expiry; the invalidation, if it was rejected) the token is
    /// still served when refreshing fails: better a token inside the safety margin than none.
    fallback_until: Instant,
}

/// The slow path's bookkeeping, behind the lock.
#[derive(Default)]
struct Control {
    flight: Option<Flight>,
    /// The last flight id handed out.
    flights: u64,
    failures: u32,
    next_attempt: Option<Instant>,
    last_error: Option<Error>,
    /// The last generation handed out.
    generations: u64,
    /// When the last fetch started (or is due to start): the next waits for the minimum
    /// fetch interval after it.
    last_fetch: Option<Instant>,
    /// When a rejected token last caused an invalidation.
    last_rejection: Option<Instant>,
    /// The token that invalidation dropped, while a flight that began before it may still
    /// land: that flight must not install the same value again.
    rejected: Option<Rejected>,
}

/// A rejected token, and the flights that began before the rejection.
struct Rejected {
    token: Arc<Token>,
    /// The last flight id handed out when the token was rejected.
    through_flight: u64,
    at: Instant,
}

/// The refresh in progress.
struct Flight {
    /// Identifies the flight, so that only its own task, or a waiter that gave up on it,
    /// clears it (never a later flight).
    id: u64,
    receiver: watch::Receiver<FlightResult>,
    /// When, on the cache's clock, it should have landed (its delay, the fetch timeout and a
    /// grace). A flight still out then is stuck on a runtime nobody drives (a current-thread
    /// runtime whose `block_on` returned, a stalled worker): callers stop waiting for it and
    /// start another.
    overdue_at: Instant,
}

/// A cache's token kept outside it (this thread's table of copies, a keyed cache's front
/// tables and slots), with the generation it was installed as and its refresh point.
pub(crate) struct TokenCopy {
    generation: u64,
    refresh_at: Instant,
    token: Arc<Token>,
}

impl TokenCopy {
    /// The token, whatever its cache would say of it now.
    pub(crate) fn token(&self) -> Arc<Token> {
        Arc::clone(&self.token)
    }

    /// The one rule for every copy: it is served only while its cache's installed generation
    /// is the copy's and `now` is before the copy's refresh point.
    #[inline]
    pub(crate) fn live(&self, generation: u64, now: Instant) -> bool {
        self.generation == generation && now < self.refresh_at
    }
}

impl<S> Drop for Inner<S> {
    fn drop(&mut self) {
        local::forget(self.id);
    }
}

impl<S: TokenSource + 'static> TokenCache<S> {
    /// A cache over `source` with the default [`RefreshPolicy`]. Does no I/O.
    pub fn new(source: S) -> Self {
        Self::with_policy(source, RefreshPolicy::default())
    }

    /// A cache over `source` with the given policy. Does no I/O.
    pub fn with_policy(source: S, policy: RefreshPolicy) -> Self {
        Self::build(source, policy, Clock::Tokio)
    }

    /// A cache over `source` with the given policy that reads the time from `time` instead of
    /// tokio's clock. Does no I/O.
    pub fn with_time_source(source: S, policy: RefreshPolicy, time: impl TimeSource + 'static) -> Self {
        Self::build(source, policy, Clock::Custom(Arc::new(time)))
    }

    fn build(source: S, policy: RefreshPolicy, clock: Clock) -> Self {
        let now = clock.now();
        Self {
            inner: Arc::new(Inner {
                id: local::new_cache_id(),
                generation: AtomicU64::new(0),
                current: ArcSwap::from_pointee(Current {
                    token: None,
                    generation: 0,
                    refresh_at: now,
                    stale_at: now,
                    fallback_until: now,
                }),
                clock,
                source,
                policy,
                control: Mutex::new(Control::default()),
            }),
        }
    }

    /// The current token, fetching or refreshing it as the policy says: what most callers
    /// want.
    ///
    /// On a hit the returned future completes on its first poll without allocating; only a
    /// caller that has to wait for a refresh boxes its wait.
    pub fn token(&self) -> TokenFuture<'_, S> {
        TokenFuture::new(self)
    }

    /// The token, if it can be served without waiting: fresh, or inside the refresh-ahead
    /// window (then one background refresh is started, as [`token`](Self::token) would).
    /// `None` means "await [`token`](Self::token)": nothing is installed, the token is stale,
    /// expired or invalidated, or a refresh is failing.
    ///
    /// For synchronous callers and for a hot path that wants to skip the future's machinery
    /// on a hit (the middleware calls it first).
    #[inline]
    pub fn try_token(&self) -> Option<Arc<Token>> {
        self.hit().or_else(|| self.serve_while_refreshing())
    }

    /// [`try_token`](Self::try_token) without this thread's copy: for a caller that keeps its
    /// own per-thread copies (the keyed cache's front tables) and has just missed them, so
    /// this thread's table of copies would most likely miss too.
    #[inline]
    pub(crate) fn try_shared_token(&self) -> Option<Arc<Token>> {
        self.shared_hit(self.now(), false).or_else(|| self.serve_while_refreshing())
    }

    /// The installed token if `now` is before its refresh-ahead point: this thread's copy, or
    /// the shared token.
    #[inline]
    fn hit(&self) -> Option<Arc<Token>> {
        let generation = self.generation();
        let now = self.now();
        local::get(self.inner.id, generation, now).or_else(|| self.shared_hit(now, true))
    }

    /// The shared token if it is before its refresh-ahead point; with `keep`, keeps a copy on
    /// this thread when the thread has room.
    #[inline(never)]
    fn shared_hit(&self, now: Instant, keep: bool) -> Option<Arc<Token>> {
        let current = self.inner.current.load();
        let token = current.token.as_ref().filter(|_| now < current.refresh_at)?;
        if keep {
            local::offer(self.inner.id, current.generation, current.refresh_at, token, now);
        }
        Some(Arc::clone(token))
    }

    /// The generation of the installed token, for per-thread copies kept outside the cache
    /// (the keyed cache's front tables): a copy of another generation is not to be served.
    #[inline]
    pub(crate) fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// The cache's clock.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        self.inner.clock.now()
    }

    /// The shared token, with its generation and refresh point, if `now` is before that
    /// point: for a copy kept outside the cache, served only by [`serve`](Self::serve).
    pub(crate) fn shared_copy(&self, now: Instant) -> Option<TokenCopy> {
        self.installed(now, Arc::clone)
    }

    /// As [`shared_copy`](Self::shared_copy), but a copy of the token sharing no memory with
    /// it (one allocation), for a per-thread table.
    pub(crate) fn detached_copy(&self, now: Instant) -> Option<TokenCopy> {
        self.installed(now, |token| Arc::new(token.detached()))
    }

    fn installed(&self, now: Instant, copy: impl FnOnce(&Arc<Token>) -> Arc<Token>) -> Option<TokenCopy> {
        let current = self.inner.current.load();
        let token = current.token.as_ref().filter(|_| now < current.refresh_at)?;
        Some(TokenCopy { generation: current.generation, refresh_at: current.refresh_at, token: copy(token) })
    }

    /// `copy`'s token if the copy is [`live`](TokenCopy::live) for this cache now.
    #[inline(always)]
    pub(crate) fn serve(&self, copy: &TokenCopy) -> Option<Arc<Token>> {
        copy.live(self.generation(), self.now()).then(|| copy.token())
    }

    /// Whether `copy` is [`live`](TokenCopy::live) for this cache at `now`.
    pub(crate) fn is_live(&self, copy: &TokenCopy, now: Instant) -> bool {
        copy.live(self.generation(), now)
    }

    /// Whether `other` is this very cache (a clone of it).
    pub(crate) fn same_as(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Marks `token` as rejected by an API, so the next [`token`](Self::token) call fetches a
    /// new one. Returns whether this call invalidated the installed token.
    ///
    /// - **By value**: acts only if `token` has the same access token value as the installed
    ///   token (whichever copy of it the caller holds) and that token is neither expired nor
    ///   already invalidated. When a hundred requests come back 401 with the same token, the
    ///   first call invalidates it and the rest find a newer token (or an already invalidated
    ///   one) and change nothing. A source that hands back the same value after a revocation
    ///   installs it as a new token, which a later rejection of that value invalidates again;
    ///   but a refresh that began before the rejection (a background refresh under way) and
    ///   answers with the rejected value is not installed: its waiters start another fetch.
    /// - **Rate limited**: at most one invalidation per
    ///   [`rejection_refresh_interval`](RefreshPolicy::with_rejection_refresh_interval). A
    ///   rejection of a token that was fetched moments ago is no evidence that it is stale (an
    ///   API that answers every request 401 or 403); within the interval the token stays
    ///   installed, this returns `false`, and [`token`](Self::token) keeps serving it, so the
    ///   caller can hand the API's answer back instead of fetching once per request.
    ///
    /// When it invalidates, it tells the source ([`TokenSource::token_rejected`]) while holding
    /// the cache's lock, so the source hears of it before any later fetch starts.
    pub fn invalidate(&self, token: &Token) -> bool {
        let mut control = self.inner.lock();
        let now = self.inner.clock.now();
        let current = self.inner.current.load();
        let installed = match &current.token {
            Some(installed) if installed.secret() == token.secret() && now < current.fallback_until => installed,
            _ => return false,
        };
        let interval = self.inner.policy.rejection_refresh_interval();
        if control.last_rejection.is_some_and(|at| now.saturating_duration_since(at) < interval) {
            tracing::debug!(?interval, "token rejected again within the rejection interval; kept");
            return false;
        }
        control.last_rejection = Some(now);
        let installed = Arc::clone(installed);
        control.rejected = Some(Rejected { token: Arc::clone(&installed), through_flight: control.flights, at: now });
        // No token at all, rather than one whose instants have passed: a rejected token is
        // never served again, even by a clock that steps back.
        self.inner.install(
            &mut control,
            Current { token: None, generation: 0, refresh_at: now, stale_at: now, fallback_until: now },
        );
        tracing::debug!("token invalidated");
        self.inner.source.token_rejected(&installed);
        true
    }

    /// The source behind the cache.
    pub fn source(&self) -> &S {
        &self.inner.source
    }

    /// The policy the cache applies.
    pub fn policy(&self) -> &RefreshPolicy {
        &self.inner.policy
    }
}

impl<S> Inner<S> {
    /// Stores `current` under a new generation (`control` is held).
    fn install(&self, control: &mut Control, mut current: Current) {
        control.generations += 1;
        current.generation = control.generations;
        self.current.store(Arc::new(current));
        self.generation.store(control.generations, Ordering::Release);
    }

    /// The installed token if it has neither expired nor been rejected.
    fn fallback(&self) -> Option<Arc<Token>> {
        let current = self.current.load();
        current.token.as_ref().filter(|_| self.clock.now() < current.fallback_until).cloned()
    }

    fn lock(&self) -> MutexGuard<'_, Control> {
        // The lock guards plain bookkeeping that stays consistent if a holder panicked.
        self.control.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

mod flight;
mod future;
mod local;
// Carries a cache's fetch bounds over to its successor (the keyed cache's evicted keys).
mod throttle;

pub use future::TokenFuture;
pub(crate) use throttle::Handover;
#[cfg(test)]
mod tests;
