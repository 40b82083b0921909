//! What a cache remembers about its calls to the token endpoint (the last fetch, the last
//! rejection, the failures and their backoff), taken out of one cache and put into a new one
//! for the same endpoint, so the bounds on those calls outlive the cache: a
//! [`KeyedTokenCache`](crate::KeyedTokenCache) keeps it for a key it evicts and seeds the key's
//! next cache with it.

use tokio::time::Instant;

use super::{Control, TokenCache};
use crate::{Error, TokenSource};

/// A cache's fetch bounds still in force. Instants are on the cache's clock: seed only a cache
/// that reads the same clock (the keyed cache's caches all read tokio's).
#[derive(Clone)]
pub(crate) struct Throttle {
    last_fetch: Option<Instant>,
    last_rejection: Option<Instant>,
    failures: u32,
    next_attempt: Option<Instant>,
    /// Served to callers of the new cache while the backoff lasts, as the old cache would.
    last_error: Option<Error>,
    /// From this instant on none of the above bounds anything any more.
    lapses_at: Instant,
}

/// What an evicted cache leaves for its key's next use.
pub(crate) enum Handover<S> {
    /// Its fetch bounds still in force, for a new cache built from the factory.
    Bounds(Throttle),
    /// The cache itself, taken back on the key's next use: it holds what its bounds cannot
    /// carry (a fetch in flight, whose outcome lands in it and nowhere else; a valid token it
    /// serves while a failed refresh backs off, which a new cache would answer with the
    /// failure instead). Kept until `until`, when neither applies any more.
    Whole { cache: TokenCache<S>, until: Instant },
}

impl<S> Handover<S> {
    /// When the handover stops mattering (for a whole cache, as of the last look at it).
    pub(crate) fn lapses_at(&self) -> Instant {
        match self {
            Handover::Bounds(throttle) => throttle.lapses_at,
            Handover::Whole { until, .. } => *until,
        }
    }
}

impl<S: TokenSource + 'static> TokenCache<S> {
    /// The fetch bounds still in force at `now`, if any: what a new cache for the same
    /// endpoint must keep to. A failing cache's record lasts a backoff ceiling past its next
    /// attempt, so a source that keeps failing keeps growing its backoff.
    pub(crate) fn throttle(&self, now: Instant) -> Option<Throttle> {
        let control = self.inner.lock();
        self.throttle_locked(&control, now)
    }

    /// What the key's next use needs of this cache, evicted at `now`: the cache itself while
    /// a fetch is in flight or a valid token is served through a backoff, else its bounds
    /// still in force, if any.
    pub(crate) fn handover(&self, now: Instant) -> Option<Handover<S>> {
        let control = self.inner.lock();
        let throttle = self.throttle_locked(&control, now);
        let flight = control.flight.as_ref().map(|flight| flight.overdue_at).filter(|at| *at > now);
        let backing_off = control.next_attempt.is_some_and(|at| now < at);
        if flight.is_some() || (backing_off && self.inner.fallback().is_some()) {
            let until = flight.into_iter().chain(throttle.map(|throttle| throttle.lapses_at)).max()?;
            return Some(Handover::Whole { cache: self.clone(), until });
        }
        throttle.map(Handover::Bounds)
    }

    fn throttle_locked(&self, control: &Control, now: Instant) -> Option<Throttle> {
        let policy = &self.inner.policy;
        let after = |at: Option<Instant>, wait| at.map(|at| crate::token::after_or_never(at, wait));
        let backoff_until =
            if control.failures > 0 { after(control.next_attempt, policy.backoff_ceiling()) } else { None };
        let lapses_at = [
            after(control.last_fetch, policy.min_fetch_interval()),
            after(control.last_rejection, policy.rejection_refresh_interval()),
            backoff_until,
        ]
        .into_iter()
        .flatten()
        .max()
        .filter(|at| *at > now)?;
        Some(Throttle {
            last_fetch: control.last_fetch,
            last_rejection: control.last_rejection,
            failures: control.failures,
            next_attempt: control.next_attempt,
            last_error: control.last_error.clone(),
            lapses_at,
        })
    }

    /// Applies `throttle` to this cache, meant for one just built (it replaces what the cache
    /// knows of its own fetches).
    pub(crate) fn seed_throttle(&self, throttle: Throttle) {
        let mut control = self.inner.lock();
        let control: &mut Control = &mut control;
        control.last_fetch = throttle.last_fetch;
        control.last_rejection = throttle.last_rejection;
        control.failures = throttle.failures;
        control.next_attempt = throttle.next_attempt;
        control.last_error = throttle.last_error;
    }
}
