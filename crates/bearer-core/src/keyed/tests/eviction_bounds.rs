//! A key's bounds on calls to its token endpoint (minimum fetch interval, rejection interval,
//! backoff) hold across its eviction: keys cycled through a cache too small for them (or
//! chosen by an attacker) do not make their endpoints be called more often.

use super::*;
use crate::cache::Handover;
use crate::keyed::evicted::EvictedKeys;

/// Fetch instants of `key`, in order.
fn fetches_of(ledger: &Ledger, key: &str) -> Vec<Instant> {
    ledger.fetched_at.lock().expect("ledger").get(key).cloned().unwrap_or_default()
}

fn fetch_count(ledger: &Ledger, key: &str) -> usize {
    fetches_of(ledger, key).len()
}

#[tokio::test(start_paused = true)]
async fn keys_alternating_over_one_place_fetch_at_most_once_per_min_fetch_interval() {
    let ledger = Arc::new(Ledger::default());
    let tokens = builder(&ledger).max_keys(1).shards(1).build();
    let interval = RefreshPolicy::default().min_fetch_interval();
    let (acme, globex) = (Tenant::new("acme"), Tenant::new("globex"));
    let started = Instant::now();
    for _ in 0..40 {
        for key in [&acme, &globex] {
            let token = tokens.token(key).await.expect("every request gets a token");
            assert_eq!(key_of(&token), key.as_str());
            tokio::time::advance(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(ledger.built.load(Ordering::SeqCst), 80, "each use found its key evicted and made a new cache");
    let elapsed = started.elapsed();
    for key in ["acme", "globex"] {
        let fetches = fetches_of(&ledger, key);
        for pair in fetches.windows(2) {
            let gap = pair[1] - pair[0];
            assert!(gap >= interval, "{key} fetched twice within {gap:?}, under the minimum interval {interval:?}");
        }
        let most = (elapsed.as_secs_f64() / interval.as_secs_f64()).floor() as usize + 1;
        assert!(fetches.len() <= most, "{key}: {} fetches in {elapsed:?}", fetches.len());
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_key_keeps_its_backoff_across_eviction() {
    let ledger = Arc::new(Ledger { failing: Some("down"), ..Ledger::default() });
    let policy =
        RefreshPolicy::default().with_jitter(0.0).with_backoff(Duration::from_secs(4), Duration::from_secs(60));
    let tokens = builder(&ledger).policy(policy).max_keys(1).shards(1).build();
    let (down, up) = (Tenant::new("down"), Tenant::new("up"));

    assert!(tokens.token(&down).await.is_err());
    assert_eq!(fetch_count(&ledger, "down"), 1);
    tokens.token(&up).await.expect("up");
    assert!(tokens.get(&down).is_none(), "down was evicted");

    // 2 s into a 4 s backoff: the new cache of down keeps to it, with the failure it records.
    tokio::time::advance(Duration::from_secs(2)).await;
    let error = tokens.token(&down).await.expect_err("still backing off");
    assert!(matches!(error, Error::Malformed(_)), "the failure that started the backoff: {error:?}");
    assert_eq!(fetch_count(&ledger, "down"), 1, "no fetch inside the backoff");

    // Past it: one attempt, which fails again and doubles the backoff to 8 s.
    tokio::time::advance(Duration::from_millis(2_100)).await;
    assert!(tokens.token(&down).await.is_err());
    assert_eq!(fetch_count(&ledger, "down"), 2);
    tokens.token(&up).await.expect("up");
    assert!(tokens.get(&down).is_none(), "down was evicted again");

    tokio::time::advance(Duration::from_secs(5)).await;
    assert!(tokens.token(&down).await.is_err());
    assert_eq!(fetch_count(&ledger, "down"), 2, "5 s into the doubled backoff: the failure count survived eviction");
    tokio::time::advance(Duration::from_millis(3_100)).await;
    assert!(tokens.token(&down).await.is_err());
    assert_eq!(fetch_count(&ledger, "down"), 3, "the backoff ended");
}

#[tokio::test(start_paused = true)]
async fn a_rejected_key_keeps_its_rejection_interval_across_eviction() {
    let ledger = Arc::new(Ledger::default());
    let tokens = builder(&ledger).max_keys(1).shards(1).build();
    let interval = RefreshPolicy::default().rejection_refresh_interval();
    let (acme, globex) = (Tenant::new("acme"), Tenant::new("globex"));
    let rejected_at = Instant::now();

    let first = tokens.token(&acme).await.expect("acme");
    assert!(tokens.invalidate(&acme, &first), "the first rejection invalidates");
    let second = tokens.token(&acme).await.expect("acme refetched");
    assert_ne!(second.secret(), first.secret());
    tokens.token(&globex).await.expect("globex");
    assert!(tokens.get(&acme).is_none(), "acme was evicted");

    let third = tokens.token(&acme).await.expect("acme's new cache");
    assert!(rejected_at.elapsed() < interval, "still inside the rejection interval: {:?}", rejected_at.elapsed());
    assert!(!tokens.invalidate(&acme, &third), "a second rejection within the interval is kept, eviction or not");
    assert_eq!(tokens.try_token(&acme).map(|token| token.secret().clone()), Some(third.secret().clone()));

    tokio::time::advance(interval - rejected_at.elapsed()).await;
    assert!(tokens.invalidate(&acme, &third), "the interval is over");
    assert_eq!(fetch_count(&ledger, "acme"), 3);
}

#[tokio::test(start_paused = true)]
async fn keys_cycled_by_an_attacker_leave_at_most_the_key_bound_of_records_which_lapse() {
    let ledger = Arc::new(Ledger::default());
    let tokens = builder(&ledger).max_keys(8).shards(1).build();
    for i in 0..1_000 {
        tokens.token(&Tenant::new(format!("attacker-{i}"))).await.expect("token");
        assert!(tokens.evicted_len() <= 8, "records past the key bound at key {i}");
    }
    assert!(tokens.evicted_len() > 0, "the evicted keys fetched just now: their minimum interval holds");
    assert_eq!(ledger.fetches.load(Ordering::SeqCst), 1_000, "one fetch per new key, none delayed");

    tokio::time::advance(RefreshPolicy::default().min_fetch_interval()).await;
    tokens.evict_idle();
    assert_eq!(tokens.evicted_len(), 0, "every record lapsed with its minimum interval");
    assert!(tokens.remove(&Tenant::new("attacker-999")));
    assert_eq!(tokens.evicted_len(), 0, "nothing in force: nothing remembered");
}

#[tokio::test(start_paused = true)]
async fn a_removed_key_keeps_its_min_fetch_interval() {
    let ledger = Arc::new(Ledger::default());
    let tokens = builder(&ledger).build();
    let acme = Tenant::new("acme");
    tokens.token(&acme).await.expect("acme");
    assert!(tokens.remove(&acme));
    tokens.token(&acme).await.expect("acme again");
    let fetches = fetches_of(&ledger, "acme");
    assert_eq!(fetches.len(), 2);
    assert!(fetches[1] - fetches[0] >= RefreshPolicy::default().min_fetch_interval());
}

/// The memory cost of remembering an evicted key: its slot in the record table (hash, key,
/// instants, failure count, error), measured at 100,000 records. The key's own bytes (here a
/// `Tenant`, a reference count to the caller's text) and the error (shared with the evicted
/// cache) are not counted.
#[tokio::test(start_paused = true)]
async fn a_record_costs_at_most_256_bytes() {
    const RECORDS: usize = 100_000;
    let cache = TokenCache::new(LedgerSource { key: "acme".into(), ledger: Arc::default() });
    cache.token().await.expect("token");
    let now = Instant::now();
    let throttle = cache.throttle(now).expect("fetched just now: its minimum interval is in force");
    let keys: Vec<Tenant> = (0..RECORDS).map(|i| Tenant::new(format!("tenant-{i:06}"))).collect();
    let hasher = foldhash::fast::RandomState::default();
    let mut evicted: EvictedKeys<Tenant, LedgerSource> = EvictedKeys::new(RECORDS);
    for key in &keys {
        evicted.keep(hasher.hash_one(key), key.clone(), Handover::Bounds(throttle.clone()), now);
    }
    assert_eq!(evicted.len(), RECORDS);
    let per_record = evicted.allocation_size() as f64 / RECORDS as f64;
    println!("{RECORDS} evicted keys remembered: {per_record:.0} bytes per record");
    assert!(per_record <= 256.0, "{per_record:.0} bytes per record");
}
