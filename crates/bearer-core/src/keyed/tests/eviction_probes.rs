//! Review probes of eviction against a key's state that a throttle record cannot carry: a
//! fetch still in flight when the key is evicted, and a token still valid while a failed
//! background refresh backs off. Evicting such a key must neither fail its next request nor
//! lose the outcome of that fetch (its backoff, its token).

use super::*;

/// Jitter off and a long first backoff, so the backoff is told apart from the minimum fetch
/// interval (1 s).
fn slow_backoff() -> RefreshPolicy {
    RefreshPolicy::default().with_jitter(0.0).with_backoff(Duration::from_secs(10), Duration::from_secs(60))
}

#[tokio::test(start_paused = true)]
async fn a_key_evicted_while_its_background_refresh_backs_off_still_serves_its_valid_token() {
    let ledger = Arc::new(Ledger::default());
    let tokens = builder(&ledger).policy(slow_backoff()).max_keys(1).shards(1).build();
    let (acme, globex) = (Tenant::new("acme"), Tenant::new("globex"));
    let first = tokens.token(&acme).await.expect("acme");

    // Into the refresh-ahead window (the last 300 s of a 3,600 s token); the endpoint is down.
    ledger.outage.store(true, Ordering::SeqCst);
    tokio::time::advance(Duration::from_secs(3_301)).await;
    assert!(tokens.try_token(&acme).is_some(), "served while the background refresh starts");
    tokio::time::advance(Duration::from_millis(10)).await;
    assert_eq!(ledger.fetches.load(Ordering::SeqCst), 2, "the background refresh ran (and failed)");
    assert!(tokens.try_token(&acme).is_some(), "the valid token is still served during the backoff");

    // Capacity pressure evicts acme while its token is valid and its refresh backs off.
    tokens.cache(&globex).expect("globex created, acme evicted");
    assert!(tokens.get(&acme).is_none(), "acme was evicted");

    let again = tokens.token(&acme).await.expect("acme's token is valid for 269 s more: eviction must not fail it");
    assert_eq!(again.secret(), first.secret());
    assert_eq!(ledger.fetches.load(Ordering::SeqCst), 2, "no fetch inside the backoff");
}

#[tokio::test(start_paused = true)]
async fn a_fetch_failing_after_its_key_was_evicted_keeps_its_backoff() {
    let ledger = Arc::new(Ledger { latency: Some(Duration::from_secs(5)), ..Ledger::default() });
    ledger.outage.store(true, Ordering::SeqCst);
    let tokens = builder(&ledger).policy(slow_backoff()).max_keys(1).shards(1).build();
    let (down, other) = (Tenant::new("down"), Tenant::new("other"));

    let first = tokio::spawn({
        let (tokens, down) = (tokens.clone(), down.clone());
        async move { tokens.token(&down).await }
    });
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(ledger.fetches.load(Ordering::SeqCst), 1, "down's fetch is in flight");
    tokens.cache(&other).expect("other created, down evicted mid-fetch");
    assert!(tokens.get(&down).is_none(), "down was evicted");

    tokio::time::advance(Duration::from_millis(4_500)).await;
    assert!(first.await.expect("task").is_err(), "the fetch failed, after the eviction");

    // 0.5 s into the 10 s backoff that failure started.
    let error = tokens.token(&down).await.expect_err("still backing off");
    assert!(matches!(error, Error::Malformed(_)), "the failure that started the backoff: {error:?}");
    assert_eq!(ledger.fetches.load(Ordering::SeqCst), 1, "no second fetch inside the backoff");
}

#[tokio::test(start_paused = true)]
async fn callers_of_a_key_evicted_mid_fetch_share_that_fetch() {
    let ledger = Arc::new(Ledger { latency: Some(Duration::from_secs(5)), ..Ledger::default() });
    let tokens = builder(&ledger).max_keys(1).shards(1).build();
    let (acme, globex) = (Tenant::new("acme"), Tenant::new("globex"));
    let request = |tokens: &KeyedTokenCache<Tenant, LedgerSource>| {
        let (tokens, acme) = (tokens.clone(), acme.clone());
        tokio::spawn(async move { tokens.token(&acme).await })
    };

    let first = request(&tokens);
    tokio::time::advance(Duration::from_secs(2)).await;
    tokens.cache(&globex).expect("globex created, acme evicted mid-fetch");
    assert!(tokens.get(&acme).is_none(), "acme was evicted");
    let second = request(&tokens);
    tokio::time::advance(Duration::from_secs(4)).await;

    let (first, second) = (first.await.expect("task").expect("first"), second.await.expect("task").expect("second"));
    assert_eq!(first.secret(), second.secret(), "one token for both");
    assert_eq!(ledger.fetches.load(Ordering::SeqCst), 1, "single flight per key, eviction or not");
}

#[tokio::test(start_paused = true)]
async fn a_removed_key_gets_a_new_source_even_mid_fetch() {
    // `remove` is how a caller makes the factory run again (new credentials, say): unlike an
    // eviction, it must not bring the old cache back.
    let ledger = Arc::new(Ledger { latency: Some(Duration::from_secs(5)), ..Ledger::default() });
    let tokens = builder(&ledger).build();
    let acme = Tenant::new("acme");
    let first = tokio::spawn({
        let (tokens, acme) = (tokens.clone(), acme.clone());
        async move { tokens.token(&acme).await }
    });
    tokio::time::advance(Duration::from_secs(2)).await;
    assert!(tokens.remove(&acme));
    tokens.cache(&acme).expect("acme again");
    assert_eq!(ledger.built.load(Ordering::SeqCst), 2, "the factory ran again");
    tokio::time::advance(Duration::from_secs(4)).await;
    first.await.expect("task").expect("the request in flight still gets its token");
}
