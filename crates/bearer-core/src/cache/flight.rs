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

use super::{Control, Current, Flight, FlightResult, Inner, LandedToken, TokenCache};
use crate::policy::Schedule;
use crate::{Error, Token, TokenSource};

/// What the slow path decided under the lock.
pub(super) enum Decision {
    Serve(Arc<Token>),
    /// Wait for flight `id`, for at most `limit`: past it the flight is overdue.
    Wait {
        flight: watch::Receiver<FlightResult>,
        id: u64,
        limit: Duration,
    },
    Fail(Error),
}

/// How long after its fetch timeout a flight is given before it counts as overdue, so its own
/// timeout always reports first.
const OVERDUE_GRACE: Duration = Duration::from_secs(1);

/// A refresh decided under the lock, to be spawned once the lock is released: when a runtime
/// is shutting down, tokio drops a task inside `spawn`, and the task's guard takes the lock.
struct Launch<S> {
    runtime: Handle,
    sender: watch::Sender<FlightResult>,
    /// How long to wait first, so fetches are at least the minimum interval apart.
    delay: Option<Duration>,
    guard: FlightGuard<S>,
    id: u64,
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
            if now < flight.overdue_at {
                let limit = flight.overdue_at - now;
                return (Decision::Wait { flight: flight.receiver.clone(), id: flight.id, limit }, None);
            }
            tracing::warn!("token refresh overdue (its runtime is not being driven); starting another");
            control.flight = None;
        }
        if control.backing_off(now) {
            let decision = match self.inner.fallback() {
                Some(token) => Decision::Serve(token),
                None => Decision::Fail(control.last_error.clone().unwrap_or(Error::Abandoned)),
            };
            return (decision, None);
        }
        match self.plan_flight(control, now) {
            Ok((flight, launch)) => {
                let limit =
                    control.flight.as_ref().map_or(Duration::ZERO, |f| f.overdue_at.saturating_duration_since(now));
                (Decision::Wait { flight, id: launch.id, limit }, Some(launch))
            }
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
        let interval = self.inner.policy.min_fetch_interval();
        let earliest = control.last_fetch.map(|at| crate::token::after_or_never(at, interval)).filter(|at| *at > now);
        let start = earliest.unwrap_or(now);
        let overdue_at =
            crate::token::after_or_never(start, self.inner.policy.fetch_timeout().saturating_add(OVERDUE_GRACE));
        if overdue_at <= now {
            // The clock is at the end of what an `Instant` holds: a flight would be overdue
            // at once, and its waiters would start another, and another, without yielding.
            return Err(Error::Config("the cache's clock is at the end of what it can count; no fetch".into()));
        }
        let (sender, receiver) = watch::channel(None);
        control.last_fetch = Some(start);
        control.flights += 1;
        let id = control.flights;
        control.flight = Some(Flight { id, receiver: receiver.clone(), overdue_at });
        let launch = Launch {
            runtime,
            sender,
            delay: earliest.map(|at| at - now),
            guard: FlightGuard { inner: Arc::clone(&self.inner), id, finished: false },
            id,
            attempt: control.failures + 1,
        };
        Ok((receiver, launch))
    }
}

impl<S: TokenSource + 'static> Launch<S> {
    /// Spawns the refresh task. Must not be called with the lock held.
    fn spawn(self) {
        let Launch { runtime, sender, delay, mut guard, id, attempt } = self;
        let span = tracing::debug_span!("token_refresh", attempt);
        let task = async move {
            let inner = Arc::clone(&guard.inner);
            let deadline = inner.policy.fetch_timeout();
            // A panicking source is a failed attempt like any other (with backoff); so is a
            // runtime without a time driver, whose timers panic when made (inside this future).
            let attempt = AssertUnwindSafe(async {
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                }
                if inner.lock().flight.as_ref().is_none_or(|flight| flight.id != id) {
                    // Replaced while it waited to run (overdue on a runtime nobody drove): no
                    // fetch. Its waiters, if any, see it dropped and join the current flight.
                    return None;
                }
                let started = inner.clock.now();
                Some((tokio::time::timeout(deadline, inner.source.fetch()).await, started))
            })
            .catch_unwind();
            let (fetched, started) = match attempt.await {
                Ok(None) => {
                    guard.disarm();
                    return;
                }
                Ok(Some((Ok(fetched), started))) => (fetched, started),
                Ok(Some((Err(_), started))) => (Err(Error::fetch_timeout(deadline)), started),
                Err(_) => (Err(Error::Abandoned), inner.clock.now()),
            };
            let outcome = inner.finish(fetched, started, id);
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
    ///
    /// A token already at or past its stale point when it lands is a failure
    /// ([`Error::StaleOnArrival`]): neither installed nor handed to the waiters, who fall back
    /// on the installed token while it has not expired, as after any failed refresh.
    fn finish(&self, fetched: Result<Token, Error>, started: Instant, id: u64) -> Result<LandedToken, Error> {
        let mut control = self.lock();
        control.land(id);
        let rejected_at = match (&fetched, &control.rejected) {
            (Ok(token), Some(rejected))
                if id <= rejected.through_flight && token.secret() == rejected.token.secret() =>
            {
                Some(rejected.at)
            }
            _ => None,
        };
        if let Some(rejected_at) = rejected_at {
            // It began before the rejection and answers with the rejected value: not
            // installed, and handed to its waiters as servable only until the rejection, so
            // they decide again (and start a fetch that the source heard of the rejection before).
            tracing::debug!("a refresh begun before a rejection answered with the rejected token; not installed");
            return fetched.map(|token| (Arc::new(token), rejected_at));
        }
        let fetched = fetched.and_then(|token| {
            let schedule = self.policy.schedule(token.lifetime(), started);
            let now = self.clock.now();
            if now < schedule.stale_at {
                return Ok((token, schedule));
            }
            let servable = schedule.stale_at.saturating_duration_since(started);
            let lifetime = token.lifetime().unwrap_or_else(|| schedule.expires_at.saturating_duration_since(started));
            Err(Error::stale_on_arrival(lifetime, servable, now.saturating_duration_since(started)))
        });
        match fetched {
            Ok((token, Schedule { refresh_at, stale_at, expires_at })) => {
                let token = Arc::new(token);
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
                if control.rejected.as_ref().is_some_and(|rejected| id > rejected.through_flight) {
                    control.rejected = None;
                }
                tracing::debug!(lifetime = ?token.lifetime(), "token refreshed");
                Ok((token, stale_at))
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
        control.next_attempt = Some(crate::token::after_or_never(now, wait));
        tracing::warn!(%error, transient = error.is_transient(), failures = control.failures, backoff = ?wait, "token refresh failed");
        control.last_error = Some(error);
    }
}

impl<S> Inner<S> {
    /// A waiter gave up on flight `id` (overdue): callers stop waiting for it.
    pub(super) fn abandon_flight(&self, id: u64) {
        if self.lock().land(id) {
            tracing::warn!("token refresh overdue (its runtime is not being driven); no longer waited for");
        }
    }
}

impl Control {
    /// Clears flight `id` if it is the one in progress; returns whether it was.
    fn land(&mut self, id: u64) -> bool {
        let current = self.flight.as_ref().is_some_and(|flight| flight.id == id);
        if current {
            self.flight = None;
        }
        current
    }

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
    id: u64,
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
            self.inner.lock().land(self.id);
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
