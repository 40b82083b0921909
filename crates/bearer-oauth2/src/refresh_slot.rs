//! Where a source keeps the refresh token it was last given.

use std::sync::{Mutex, MutexGuard};

use bearer_core::RefreshToken;

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
}
