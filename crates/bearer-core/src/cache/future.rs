//! The future returned by [`TokenCache::token`](super::TokenCache::token).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::watch;

use super::flight::Decision;
use super::{FlightResult, TokenCache};
use crate::{Error, Token, TokenSource};

/// A caller's wait for a refresh, boxed so that [`TokenFuture`] stays two words.
type FlightWait = Pin<Box<dyn Future<Output = Result<Arc<Token>, Error>> + Send>>;

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
        if self.wait.is_none() {
            match self.cache.decide() {
                Decision::Serve(token) => return Poll::Ready(Ok(token)),
                Decision::Fail(error) => return Poll::Ready(Err(error)),
                Decision::Wait(flight) => self.wait = Some(Box::pin(wait_for_flight(flight))),
            }
        }
        let outcome = match &mut self.wait {
            Some(wait) => std::task::ready!(wait.as_mut().poll(cx)),
            None => Err(Error::Abandoned),
        };
        Poll::Ready(outcome.or_else(|error| self.cache.inner.fallback().ok_or(error)))
    }
}

impl<S> std::fmt::Debug for TokenFuture<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenFuture").field("waiting", &self.wait.is_some()).finish()
    }
}

/// Waits for a refresh to land and takes its outcome.
async fn wait_for_flight(mut flight: watch::Receiver<FlightResult>) -> Result<Arc<Token>, Error> {
    match flight.wait_for(Option::is_some).await {
        Ok(outcome) => outcome.clone().unwrap_or(Err(Error::Abandoned)),
        Err(_) => Err(Error::Abandoned),
    }
}
