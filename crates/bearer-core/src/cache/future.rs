//! The future returned by [`TokenCache::token`](super::TokenCache::token).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::watch;

use super::flight::Decision;
use super::{FlightResult, LandedToken, TokenCache};
use crate::{Error, Token, TokenSource};

/// A caller's wait for a refresh, boxed so that [`TokenFuture`] stays two words.
type FlightWait = Pin<Box<dyn Future<Output = Landing> + Send>>;

/// How a wait for a flight ended.
enum Landing {
    /// The flight landed.
    Landed(Result<LandedToken, Error>),
    /// Its task was dropped before it landed (its runtime shut down).
    Dropped,
    /// The flight is overdue: its task is stuck on a runtime nobody drives.
    Overdue(u64),
}

/// The future of [`TokenCache::token`].
#[must_use = "futures do nothing unless polled"]
pub struct TokenFuture<'a, S> {
    cache: &'a TokenCache<S>,
    wait: Option<FlightWait>,
}

impl<'a, S> TokenFuture<'a, S> {
    pub(super) fn new(cache: &'a TokenCache<S>) -> Self {
        Self { cache, wait: None }
    }
}

impl<S: TokenSource + 'static> Future for TokenFuture<'_, S> {
    type Output = Result<Arc<Token>, Error>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.wait.is_none() {
            if let Some(token) = this.cache.hit() {
                return Poll::Ready(Ok(token));
            }
        }
        this.poll_slow(cx)
    }
}

impl<S: TokenSource + 'static> TokenFuture<'_, S> {
    #[cold]
    #[inline(never)]
    fn poll_slow(&mut self, cx: &mut Context<'_>) -> Poll<Result<Arc<Token>, Error>> {
        loop {
            let wait = match &mut self.wait {
                Some(wait) => wait,
                None => match self.cache.decide() {
                    Decision::Serve(token) => return Poll::Ready(Ok(token)),
                    Decision::Fail(error) => return Poll::Ready(Err(error)),
                    // Its task was dropped already, with no outcome (spawned through a
                    // shut-down runtime's handle): deciding again would spawn there again.
                    Decision::Wait { flight, .. } if flight.has_changed().is_err() && flight.borrow().is_none() => {
                        return Poll::Ready(self.cache.inner.fallback().ok_or(Error::Abandoned));
                    }
                    Decision::Wait { flight, id, limit } => {
                        self.wait.insert(Box::pin(wait_for_flight(flight, id, limit)))
                    }
                },
            };
            let landing = std::task::ready!(wait.as_mut().poll(cx));
            self.wait = None;
            match landing {
                Landing::Landed(Ok((token, stale_at))) => {
                    if self.cache.inner.clock.now() < stale_at {
                        return Poll::Ready(Ok(token));
                    }
                    // This caller was polled only after the landed token went stale (its
                    // worker was busy, or it was not polled): decide again, as a new call.
                }
                Landing::Landed(Err(error)) => {
                    return Poll::Ready(self.cache.inner.fallback().ok_or(error));
                }
                // Decide again: another flight, started on this caller's runtime.
                Landing::Overdue(id) => self.cache.inner.abandon_flight(id),
                // Its runtime shut down, and the flight is cleared: decide again likewise.
                Landing::Dropped => {}
            }
        }
    }
}

impl<S> std::fmt::Debug for TokenFuture<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenFuture").field("waiting", &self.wait.is_some()).finish()
    }
}

/// Waits for flight `id` to land and takes its outcome; gives up after `limit`, when the
/// caller is on a runtime with a time driver (without one there is no timer, and the wait is
/// not bounded).
async fn wait_for_flight(mut flight: watch::Receiver<FlightResult>, id: u64, limit: Duration) -> Landing {
    let landed = async move {
        match flight.wait_for(Option::is_some).await {
            Ok(outcome) => Landing::Landed(outcome.clone().unwrap_or(Err(Error::Abandoned))),
            Err(_) => Landing::Dropped,
        }
    };
    // A timer needs a runtime with a time driver (made without one, it panics).
    let timer = tokio::runtime::Handle::try_current()
        .ok()
        .and_then(|_| std::panic::catch_unwind(|| tokio::time::sleep(limit)).ok());
    let Some(timer) = timer else {
        return landed.await;
    };
    match futures_util::future::select(std::pin::pin!(landed), std::pin::pin!(timer)).await {
        futures_util::future::Either::Left((landing, _)) => landing,
        futures_util::future::Either::Right(_) => Landing::Overdue(id),
    }
}
