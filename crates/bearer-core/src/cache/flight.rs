//! The slow path: what to do, decided under the lock, and the one refresh task, spawned
//! after the lock is released.

use std::hash::{BuildHasher, Hasher};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument;

use super::{Control, Current, FlightResult, Inner, TokenCache};
use crate::policy::Schedule;
use crate::{Error, Token, TokenSource};

/// What the slow path decided under the lock.
pub(super) enum Decision {
    Serve(Arc<Token>),
    Wait(watch::Receiver<FlightResult>),
    Fail(Error),
}

/// A refresh decided under the lock, to be spawned once the lock is released: when a runtime
/// is shutting down, tokio drops a task inside `spawn`, and the task's guard takes the lock.
struct Launch<S> {
    runtime: Handle,
    sender: watch::Sender<FlightResult>,
    /// How long to wait first, so fetches are at least the minimum interval apart.
    delay: Option<Duration>,
    guard: FlightGuard<S>,
    attempt: u32,
}

impl<S: TokenSource + 'static> TokenCache<S> {
    /// The slow path of [`token`](Self::token): serve, wait for a refresh, or fail.
    #[cold]
    pub(super) fn decide(&self) -> Decision {
        let (decision, launch) = {
            let mut control = self.inner.lock();
            self.decide_locked(&mut control)
        };
        if let Some(launch) = launch {
            launch.spawn();
        }
        decision
    }

    /// The slow path of [`try_token`](Self::try_token): the token if it is still servable,
    /// starting the background refresh it is due for.
    #[cold]
    pub(super) fn serve_while_refreshing(&self) -> Option<Arc<Token>> {
        let (token, launch) = {
            let mut control = self.inner.lock();
            let now = self.inner.clock.now();
            self.serve_usable(&mut control, now)?
        };
        if let Some(launch) = launch {
            launch.spawn();
        }
        Some(token)
    }

    fn decide_locked(&self, control: &mut Control) -> (Decision, Option<Launch<S>>) {
        let now = self.inner.clock.now();
        if let Some((token, launch)) = self.serve_usable(control, now) {
            return (Decision::Serve(token), launch);
        }
        if let Some(flight) = &control.flight {
            return (Decision::Wait(flight.clone()), None);
        }
        if control.backing_off(now) {
            let decision = match self.inner.fallback() {
                Some(token) => Decision::Serve(token),
                None => Decision::Fail(control.last_error.clone().unwrap_or(Error::Abandoned)),
            };
            return (decision, None);
        }
        match self.plan_flight(control, now) {
            Ok((flight, launch)) => (Decision::Wait(flight), Some(launch)),
            Err(error) => (Decision::Fail(error), None),
        }
    }

    /// The installed token if it is not stale at `now`; inside the refresh-ahead window, with
    /// the background refresh to start if none runs and the backoff allows.
    fn serve_usable(&self, control: &mut Control, now: Instant) -> Option<(Arc<Token>, Option<Launch<S>>)> {
        let current = self.inner.current.load();
        let token = current.token.as_ref().filter(|_| now < current.stale_at)?;
        let mut launch = None;
        if now >= current.refresh_at && control.flight.is_none() && !control.backing_off(now) {
            match self.plan_flight(control, now) {
                Ok((_, planned)) => launch = Some(planned),
                Err(error) => tracing::warn!(%error, "could not start the background token refresh"),
            }
        }
        Some((Arc::clone(token), launch))
    }

    /// Records the one refresh as the flight in progress; the caller spawns it after
    /// releasing the lock.
    fn plan_flight(
        &self,
        control: &mut Control,
        now: Instant,
    ) -> Result<(watch::Receiver<FlightResult>, Launch<S>), Error> {
        let runtime = Handle::try_current()
            .map_err(|_| Error::Config("TokenCache needs a tokio runtime to refresh tokens".into()))?;
        let (sender, receiver) = watch::channel(None);
        control.flight = Some(receiver.clone());
        let interval = self.inner.policy.min_fetch_interval();
        let earliest = control.last_fetch.and_then(|at| at.checked_add(interval)).filter(|at| *at > now);
        control.last_fetch = Some(earliest.unwrap_or(now));
        let launch = Launch {
            runtime,
            sender,
            delay: earliest.map(|at| at - now),
            guard: FlightGuard { inner: Arc::clone(&self.inner), finished: false },
            attempt: control.failures + 1,
        };
        Ok((receiver, launch))
    }
}

impl<S: TokenSource + 'static> Launch<S> {
    /// Spawns the refresh task. Must not be called with the lock held.
    fn spawn(self) {
        let Launch { runtime, sender, delay, mut guard, attempt } = self;
        let span = tracing::debug_span!("token_refresh", attempt);
        let task = async move {
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            let inner = Arc::clone(&guard.inner);
            let started = inner.clock.now();
            let deadline = inner.policy.fetch_timeout();
            // A panicking source is a failed attempt like any other (with backoff).
            let fetch = AssertUnwindSafe(tokio::time::timeout(deadline, inner.source.fetch())).catch_unwind();
            let fetched = match fetch.await {
                Ok(Ok(fetched)) => fetched,
                Ok(Err(_)) => Err(Error::fetch_timeout(deadline)),
                Err(_) => Err(Error::Abandoned),
            };
            let outcome = inner.finish(fetched, started);
            guard.disarm();
            // Nobody waiting is fine: the token is installed either way.
            let _ = sender.send(Some(outcome));
        };
        drop(runtime.spawn(task.instrument(span)));
    }
}

impl<S> Inner<S> {
    /// Installs a fetched token (its lifetime counted from `started`, when its fetch began
    /// on the cache's clock), or records a failure and schedules the next attempt.
    fn finish(&self, fetched: Result<Token, Error>, started: Instant) -> Result<Arc<Token>, Error> {
        let mut control = self.lock();
        control.flight = None;
        match fetched {
            Ok(token) => {
                let token = Arc::new(token);
                let Schedule { refresh_at, stale_at, expires_at } = self.policy.schedule(token.lifetime(), started);
                self.install(
                    &mut control,
                    Current {
                        token: Some(Arc::clone(&token)),
                        generation: 0,
                        refresh_at,
                        stale_at,
                        fallback_until: expires_at,
                    },
                );
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

    fn record_failure(&self, control: &mut Control, error: Error) {
        control.failures = control.failures.saturating_add(1);
        let wait = self.policy.backoff(control.failures, error.retry_after(), random_unit());
        let now = self.clock.now();
        control.next_attempt = Some(now.checked_add(wait).unwrap_or(now));
        tracing::warn!(%error, transient = error.is_transient(), failures = control.failures, backoff = ?wait, "token refresh failed");
        control.last_error = Some(error);
    }
}

impl Control {
    fn backing_off(&self, now: Instant) -> bool {
        self.next_attempt.is_some_and(|at| now < at)
    }
}

/// Clears the flight if the refresh task is dropped before it finishes (its runtime shut
/// down), so the cache never waits on a flight that will not land. That is not the token
/// endpoint's failure: no backoff, so a caller on another runtime may start a refresh at once
/// (the minimum fetch interval still applies).
struct FlightGuard<S> {
    inner: Arc<Inner<S>>,
    finished: bool,
}

impl<S> FlightGuard<S> {
    /// The task finished: nothing to clear on drop.
    fn disarm(&mut self) {
        self.finished = true;
    }
}

impl<S> Drop for FlightGuard<S> {
    fn drop(&mut self) {
        if !self.finished {
            let mut control = self.inner.lock();
            control.flight = None;
            tracing::debug!("token refresh dropped before it finished (its runtime shut down)");
        }
    }
}

/// A random number in [0, 1) for jitter, from the standard library's per-process random keys.
fn random_unit() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x9e37_79b9_7f4a_7c15);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}
