//! Adversarial probes of the stale-on-arrival change (review of issue 11's follow-up): each
//! test names the invariant it attacks.

use std::time::Duration;

use futures_util::FutureExt;

use super::{advance, cache, secret, settle, ScriptedSource, FETCH_DELAY};

#[tokio::test(start_paused = true)]
async fn a_waiter_polled_after_the_landed_token_went_stale_does_not_return_it() {
    // A 2 s token (stale 1 s after its fetch started) from a 100 ms endpoint.
    let source = ScriptedSource::new(Some(Duration::from_secs(2)), FETCH_DELAY);
    let cache = cache(&source);
    let mut call = std::pin::pin!(cache.token());
    assert!(call.as_mut().now_or_never().is_none(), "waits for the first fetch");
    settle().await;
    // The fetch lands (token-1, fresh), but the waiting caller is not polled again until its
    // worker comes back 5 s later: by then token-1 has expired.
    advance(FETCH_DELAY).await;
    assert_eq!(cache.try_token().map(|token| secret(&token).to_owned()).as_deref(), Some("token-1"));
    advance(Duration::from_secs(5)).await;
    let served = call.await.expect("a token");
    assert_eq!(secret(&served), "token-2", "the caller got token-1 after it expired");
    assert_eq!(source.fetches(), 2);
}
