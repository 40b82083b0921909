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

#[tokio::test(start_paused = true)]
async fn a_key_built_another_way_finds_the_same_cache() {
    let ledger = Arc::new(Ledger::default());
    let tokens = builder(&ledger).build();
    let first = tokens.token(&Tenant::new("acme")).await.expect("acme");
    for key in [Tenant::new(String::from("acme")), Tenant::new(Arc::<str>::from("acme"))] {
        let again = tokens.token(&key).await.expect("acme");
        assert_eq!(again.secret(), first.secret());
    }
    assert_eq!((ledger.built.load(Ordering::SeqCst), ledger.fetches.load(Ordering::SeqCst)), (1, 1));
}

/// A victim key used every `gap` for 5 s, and forgotten after each use (so each use is a
/// re-creation), while an attacker creates `per_use` new keys in its shard (8 keys, so at most
/// 8 records) after each use. Returns the victim's fetch instants and the attacker's key count.
async fn victim_under_attack(per_use: usize, gap: Duration) -> (Vec<Instant>, usize) {
    let ledger = Arc::new(Ledger::default());
    let tokens = builder(&ledger).max_keys(8).shards(1).build();
    let victim = Tenant::new("victim");
    let (mut attacker, started) = (0, Instant::now());
    while started.elapsed() < Duration::from_secs(5) {
        tokens.token(&victim).await.expect("victim");
        assert!(tokens.remove(&victim));
        for _ in 0..per_use {
            attacker += 1;
            tokens.token(&Tenant::new(format!("attacker-{attacker}"))).await.expect("attacker");
        }
        tokio::time::advance(gap).await;
    }
    let fetches = ledger.fetched_at.lock().expect("ledger").get("victim").cloned().unwrap_or_default();
    (fetches, attacker)
}

/// Fetches closer than the minimum interval to the one before.
fn early_fetches(fetches: &[Instant]) -> usize {
    let interval = RefreshPolicy::default().min_fetch_interval();
    fetches.windows(2).filter(|pair| pair[1] - pair[0] < interval).count()
}

/// While the attacker creates fewer keys per minimum fetch interval (1 s) than the shard's
/// record bound (8), the victim's minimum fetch interval holds however often it is evicted
/// (each re-created victim waits for it: its uses are about 1.2 s apart, not 200 ms).
#[tokio::test(start_paused = true)]
async fn a_victim_keeps_its_min_fetch_interval_while_an_attacker_cycles_fewer_keys_than_the_bound() {
    let (fetches, _) = victim_under_attack(1, Duration::from_millis(200)).await;
    assert!(fetches.len() >= 4, "the victim was re-created and fetched again: {fetches:?}");
    assert_eq!(early_fetches(&fetches), 0, "victim fetches: {fetches:?}");
}

/// Past the record bound, the records lapsing soonest go first (as documented), the victim's
/// among them: each victim fetch inside its minimum interval costs the attacker at least a
/// record bound of new keys (each of them a fetch of its own).
#[tokio::test(start_paused = true)]
async fn an_attacker_flushing_the_records_costs_it_a_key_bound_of_new_keys_per_early_victim_fetch() {
    for per_use in [4, 8, 64] {
        let (fetches, attacker) = victim_under_attack(per_use, Duration::from_millis(50)).await;
        let early = early_fetches(&fetches);
        println!(
            "{per_use} attacker keys per 50 ms: {early} of {} victim fetches early, {attacker} attacker keys",
            fetches.len()
        );
        assert!(early * 8 <= attacker, "{early} early victim fetches for {attacker} attacker keys");
    }
}
