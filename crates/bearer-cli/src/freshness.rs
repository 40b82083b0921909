//! Whether a token restored from disk may be served, by the rule the library's
//! [`TokenCache`](bearer_core::TokenCache) applies ([`RefreshPolicy::standing`]), not a copy
//! of it.

use std::time::{Duration, SystemTime};

use bearer_core::{RefreshPolicy, TokenStanding};

use crate::token_store::TokenRecord;

/// A token without expiry is refetched after this long: an hour-old opaque token is more
/// likely revoked than a fresh one, and a CLI has no 401 to learn that from.
pub(crate) const NO_EXPIRY_LIFETIME: Duration = Duration::from_secs(3600);

/// The policy the CLI applies: the library's default, with a lifetime for tokens that
/// state none.
fn policy() -> RefreshPolicy {
    RefreshPolicy::default().with_no_expiry_lifetime(Some(NO_EXPIRY_LIFETIME))
}

/// How `record` stands at `now`. A record from the future (the clock went back) counts as
/// just received. Past its stated expiry it is expired, even where the policy would serve it
/// for the minimum fetch interval: that floor paces a long-running cache's fetches, and a
/// single invocation has no fetches to pace.
pub(crate) fn standing(record: &TokenRecord, now: SystemTime) -> TokenStanding {
    if record.expires_at().is_some_and(|at| at <= now) {
        return TokenStanding::Expired;
    }
    let age = now.duration_since(record.received_at()).unwrap_or_default();
    policy().standing(record.lifetime(), age)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bearer_core::Token;

    fn at(lifetime: Option<u64>, age: u64) -> TokenStanding {
        let mut builder = Token::builder("stand-in".into());
        if let Some(lifetime) = lifetime {
            builder = builder.expires_in(Duration::from_secs(lifetime));
        }
        let record = TokenRecord::new("id", &builder.build().expect("token"));
        standing(&record, record.received_at() + Duration::from_secs(age))
    }

    #[test]
    fn a_stored_hour_token_follows_the_library_schedule() {
        // DEFAULT_REFRESH_AHEAD_MAX is 5 min and DEFAULT_HARD_MARGIN 30 s for a 1-hour token.
        assert_eq!(at(Some(3600), 0), TokenStanding::Fresh);
        assert_eq!(at(Some(3600), 3299), TokenStanding::Fresh);
        assert_eq!(at(Some(3600), 3301), TokenStanding::RefreshAhead);
        assert_eq!(at(Some(3600), 3571), TokenStanding::Stale);
        assert_eq!(at(Some(3600), 3600), TokenStanding::Expired);
    }

    #[test]
    fn a_stored_token_without_expiry_is_kept_for_an_hour() {
        assert_eq!(at(None, 60), TokenStanding::Fresh);
        assert_eq!(at(None, NO_EXPIRY_LIFETIME.as_secs() + 1), TokenStanding::Expired);
    }

    #[test]
    fn a_stored_token_past_its_stated_expiry_is_expired() {
        // The policy serves a zero-lifetime token for its minimum fetch interval; not from disk.
        assert_eq!(at(Some(0), 0), TokenStanding::Expired);
    }

    #[test]
    fn a_record_from_the_future_counts_as_new() {
        let record = TokenRecord::new("id", &Token::builder("t".into()).build().expect("token"));
        let earlier = record.received_at() - Duration::from_secs(60);
        assert_eq!(standing(&record, earlier), TokenStanding::Fresh);
    }
}
