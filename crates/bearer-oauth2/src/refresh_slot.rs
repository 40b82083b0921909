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
    /// `refresh` with it; when the endpoint refuses it (a non-transient 4xx, or a 2xx with an
    /// error body: expired, used, revoked) drops it first and then runs `grant` once, so a failing `grant` does not leave
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

/// A refresh the endpoint refused (expired, used, revoked: a 4xx, or a 2xx whose body is an
/// error), as opposed to one it never saw or could not answer (429, 5xx).
fn refresh_was_rejected(error: &Error) -> bool {
    error.rejection().is_some_and(|r| (r.status.is_client_error() || r.status.is_success()) && !r.is_transient())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use bearer_core::{AccessToken, Rejection};
    use http::StatusCode;

    use super::*;

    fn token() -> Result<Token, Error> {
        Token::builder(AccessToken::new("t")).expires_in(Duration::from_secs(60)).build()
    }

    fn refused(status: StatusCode) -> Result<Token, Error> {
        Err(Rejection::new(status).into())
    }

    fn slot_holding(refresh: &str) -> RefreshSlot {
        let slot = RefreshSlot::default();
        slot.set(Some(RefreshToken::new(refresh)));
        slot
    }

    #[tokio::test]
    async fn a_refused_refresh_token_is_dropped_before_the_grant_runs() {
        let slot = slot_holding("r1");
        let result = slot
            .refresh_or_grant(
                |_| async { refused(StatusCode::UNAUTHORIZED) },
                || async {
                    assert!(!slot.is_set(), "dropped before the fallback");
                    refused(StatusCode::SERVICE_UNAVAILABLE)
                },
            )
            .await;
        assert_eq!(result.err().and_then(|e| e.rejection().map(|r| r.status)), Some(StatusCode::SERVICE_UNAVAILABLE));
        assert!(!slot.is_set(), "still gone after the failed fallback");
    }

    #[tokio::test]
    async fn a_transient_refresh_failure_keeps_the_token_and_skips_the_grant() {
        let slot = slot_holding("r1");
        let grants = AtomicU32::new(0);
        let result = slot
            .refresh_or_grant(
                |_| async { refused(StatusCode::TOO_MANY_REQUESTS) },
                || async {
                    grants.fetch_add(1, Ordering::SeqCst);
                    token()
                },
            )
            .await;
        assert!(result.is_err_and(|e| e.is_transient()));
        assert_eq!(grants.load(Ordering::SeqCst), 0);
        assert!(slot.is_set());
    }

    #[tokio::test]
    async fn an_expired_jwt_refresh_token_is_dropped_without_a_request() {
        let claims = URL_SAFE_NO_PAD.encode(r#"{"exp":1000}"#);
        let slot = slot_holding(&format!("e30.{claims}.sig"));
        let refreshes = AtomicU32::new(0);
        let result = slot
            .refresh_or_grant(
                |_| async {
                    refreshes.fetch_add(1, Ordering::SeqCst);
                    token()
                },
                || async { token() },
            )
            .await;
        assert!(result.is_ok());
        assert_eq!(refreshes.load(Ordering::SeqCst), 0);
        assert!(!slot.is_set());
    }
}
