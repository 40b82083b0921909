//! Where a source keeps the refresh token it was last given, and the one "refresh, else the
//! full grant" flow every source shares.

use std::future::Future;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use bearer_core::{Error, RefreshToken, Token};

/// The refresh token a source holds between fetches. Rotation replaces it; a rejected one is
/// dropped, unless a newer one has replaced it meanwhile.
#[derive(Debug, Default)]
pub struct RefreshSlot(Mutex<Option<RefreshToken>>);

impl RefreshSlot {
    fn lock(&self) -> MutexGuard<'_, Option<RefreshToken>> {
        // Plain data that stays consistent if a holder panicked.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A copy of the held token, to use without holding the lock across a request.
    pub fn get(&self) -> Option<RefreshToken> {
        self.lock().clone()
    }

    /// Whether a token is held.
    pub fn is_set(&self) -> bool {
        self.lock().is_some()
    }

    /// Holds `token` from now on (or nothing).
    pub fn set(&self, token: Option<RefreshToken>) {
        *self.lock() = token;
    }

    /// Drops `rejected` if it is still the one held.
    pub fn drop_if_held(&self, rejected: &RefreshToken) {
        let mut slot = self.lock();
        if slot.as_ref() == Some(rejected) {
            *slot = None;
        }
    }

    /// Fetches a token the way every source with refresh tokens does: with a token held, tries
    /// `refresh` with it; when the endpoint refuses it (a non-transient 4xx: expired, used,
    /// revoked) drops it first and then runs `grant` once, so a failing `grant` does not leave
    /// a dead refresh token behind. A transient failure of the refresh (unreachable, 429, 5xx)
    /// is returned and the token kept for the next try. A held JWT refresh token whose `exp`
    /// has passed is dropped without a request. With no token held, runs `grant`.
    ///
    /// `refresh` and `grant` store any new refresh token with [`set`](Self::set).
    pub async fn refresh_or_grant<R, RF, G, GF>(&self, refresh: R, grant: G) -> Result<Token, Error>
    where
        R: FnOnce(RefreshToken) -> RF,
        RF: Future<Output = Result<Token, Error>>,
        G: FnOnce() -> GF,
        GF: Future<Output = Result<Token, Error>>,
    {
        if let Some(held) = self.get() {
            if crate::jwt::expiry(held.secret()).is_some_and(|exp| exp <= SystemTime::now()) {
                self.drop_if_held(&held);
            } else {
                match refresh(held.clone()).await {
                    Ok(token) => return Ok(token),
                    Err(error) if refresh_was_rejected(&error) => {
                        tracing::info!(%error, "refresh token rejected; falling back to the full grant");
                        self.drop_if_held(&held);
                    }
                    Err(error) => return Err(error),
                }
            }
        }
        grant().await
    }
}

/// A refresh the endpoint refused (expired, used, revoked), as opposed to one it never saw.
fn refresh_was_rejected(error: &Error) -> bool {
    error.rejection().is_some_and(|r| r.status.is_client_error() && !r.is_transient())
}
