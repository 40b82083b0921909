//! Whether a token restored from disk may be served, decided by the library's own
//! [`TokenCache`] and [`RefreshPolicy`], not by a copy of their rules.
//!
//! The policy's schedule is not public, so the CLI asks the cache itself: on a paused tokio
//! clock it installs a stand-in token with the same lifetime, advances the clock by the
//! token's age, and watches what the cache does — serve it (fresh), serve it and start a
//! background refresh (refresh-ahead window), or refuse to serve it (stale). Nothing here
//! touches the network or the real token.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bearer_core::{async_trait, AccessToken, Error, RefreshPolicy, Token, TokenCache, TokenSource};

use crate::token_store::TokenRecord;

/// A token without expiry is refetched after this long: an hour-old opaque token is more
/// likely revoked than a fresh one, and a CLI has no 401 to learn that from.
pub(crate) const NO_EXPIRY_LIFETIME: Duration = Duration::from_secs(3600);

/// What the refresh policy says about a cached token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// Serve it.
    Fresh,
    /// Still good, but the cache would refresh it now: fetch, and fall back to it on failure.
    RefreshAhead,
    /// Inside the hard safety margin before expiry: fetch; serve it only if fetching fails.
    Stale,
    /// Past its expiry: fetch.
    Expired,
}

/// The policy the CLI applies: the library's default, with a lifetime for tokens that
/// state none.
pub(crate) fn policy() -> RefreshPolicy {
    RefreshPolicy::default().with_no_expiry_lifetime(Some(NO_EXPIRY_LIFETIME))
}

/// How `record` stands at `now`.
pub(crate) fn standing(record: &TokenRecord, now: SystemTime) -> Standing {
    let age = now.duration_since(record.received_at()).unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build();
    match runtime {
        Ok(runtime) => runtime.block_on(judge(record.lifetime(), age)),
        // Cannot tell: fetching is always safe.
        Err(_) => Standing::Expired,
    }
}

/// Replays one token, then counts (and fails) every further fetch: a second fetch is the
/// cache deciding to refresh.
struct Replay {
    token: Token,
    fetches: Arc<AtomicUsize>,
}

#[async_trait]
impl TokenSource for Replay {
    async fn fetch(&self) -> Result<Token, Error> {
        match self.fetches.fetch_add(1, Ordering::SeqCst) {
            0 => Ok(self.token.clone()),
            _ => Err(Error::Config("the stand-in source refreshes nothing".into())),
        }
    }
}

async fn judge(lifetime: Option<Duration>, age: Duration) -> Standing {
    let mut builder = Token::builder(AccessToken::new("stand-in"));
    if let Some(lifetime) = lifetime {
        builder = builder.expires_in(lifetime);
    }
    let Ok(token) = builder.build() else {
        return Standing::Expired;
    };
    let fetches = Arc::new(AtomicUsize::new(0));
    let cache = TokenCache::with_policy(Replay { token: token.clone(), fetches: Arc::clone(&fetches) }, policy());
    if cache.token().await.is_err() {
        return Standing::Expired;
    }
    tokio::time::advance(age).await;
    settle().await;
    if token.is_expired_at(tokio::time::Instant::now()) {
        return Standing::Expired;
    }
    if cache.cached().is_none() {
        return Standing::Stale;
    }
    let _ = cache.token().await;
    settle().await;
    if fetches.load(Ordering::SeqCst) > 1 {
        Standing::RefreshAhead
    } else {
        Standing::Fresh
    }
}

/// Lets the cache's own tasks run: the timer that ends freshness at the refresh-ahead
/// point, and a refresh-ahead, each run in a task of their own.
async fn settle() {
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lifetime: Option<u64>, age: u64) -> Standing {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build();
        let runtime = runtime.expect("runtime");
        runtime.block_on(judge(lifetime.map(Duration::from_secs), Duration::from_secs(age)))
    }

    #[test]
    fn an_hour_token_follows_the_library_schedule() {
        // DEFAULT_REFRESH_AHEAD_MAX is 5 min and DEFAULT_HARD_MARGIN 30 s for a 1-hour token.
        assert_eq!(at(Some(3600), 0), Standing::Fresh);
        assert_eq!(at(Some(3600), 3299), Standing::Fresh);
        assert_eq!(at(Some(3600), 3301), Standing::RefreshAhead);
        assert_eq!(at(Some(3600), 3571), Standing::Stale);
        assert_eq!(at(Some(3600), 3600), Standing::Expired);
    }

    #[test]
    fn a_short_token_uses_a_quarter_of_its_life() {
        assert_eq!(at(Some(40), 29), Standing::Fresh);
        assert_eq!(at(Some(40), 31), Standing::RefreshAhead);
    }

    #[test]
    fn a_token_without_expiry_is_kept_for_an_hour() {
        assert_eq!(at(None, 60), Standing::Fresh);
        assert_eq!(at(None, NO_EXPIRY_LIFETIME.as_secs() + 1), Standing::Stale);
    }
}
