//! Issue 16 probes: the spacings cut to `MAX_FETCH_SPACING` and the backoff at `Duration::MAX`
//! hold across keyed eviction, and a caller of an evicted key never waits past the spacing.

use super::*;
use crate::MAX_FETCH_SPACING;

fn fetches_of(ledger: &Ledger, key: &str) -> Vec<Instant> {
    ledger.fetched_at.lock().expect("ledger").get(key).cloned().unwrap_or_default()
}

#[tokio::test(start_paused = true)]
async fn keys_alternating_over_one_place_keep_a_spacing_of_duration_max_cut_to_a_day() {
    let ledger = Arc::new(Ledger::default());
    let policy = RefreshPolicy::default()
        .with_jitter(0.0)
        .with_min_fetch_interval(Duration::MAX)
        .with_rejection_refresh_interval(Duration::MAX);
    let tokens = builder(&ledger).policy(policy).max_keys(1).shards(1).build();
    let (acme, globex) = (Tenant::new("acme"), Tenant::new("globex"));
    let started = Instant::now();
    let steps = [1, 700, 59_000, 3_600_000, 20_000_000].map(Duration::from_millis);
    let patience = MAX_FETCH_SPACING + Duration::from_secs(60);
    for round in 0..60usize {
        for key in [&acme, &globex] {
            let call = tokens.token(key);
            let Ok(result) = tokio::time::timeout(patience, call).await else {
                panic!("{key:?} waited past the spacing at round {round}");
            };
            let token = result.expect("every request gets a token");
            assert_eq!(key_of(&token), key.as_str());
            // Every response is a 401.
            tokens.invalidate(key, &token);
            tokio::time::advance(steps[round % steps.len()]).await;
        }
    }
    let elapsed = started.elapsed();
    assert!(elapsed > MAX_FETCH_SPACING * 3, "the probe spans several spacings: {elapsed:?}");
    for key in ["acme", "globex"] {
        let fetches = fetches_of(&ledger, key);
        assert!(fetches.len() >= 2, "{key}: the spacing was kept, not made endless");
        for pair in fetches.windows(2) {
            let gap = pair[1] - pair[0];
            assert!(gap >= MAX_FETCH_SPACING, "{key} fetched twice within {gap:?}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_key_with_an_endless_backoff_is_fetched_once_across_evictions() {
    let ledger = Arc::new(Ledger { failing: Some("down"), ..Ledger::default() });
    let policy = RefreshPolicy::default().with_jitter(0.0).with_backoff(Duration::MAX, Duration::MAX);
    let tokens = builder(&ledger).policy(policy).max_keys(1).shards(1).build();
    let (down, up) = (Tenant::new("down"), Tenant::new("up"));
    for round in 0..50 {
        assert!(tokens.token(&down).await.is_err(), "round {round}");
        tokens.token(&up).await.expect("up");
        tokio::time::advance(Duration::from_secs(7 * 24 * 3600)).await;
        tokens.evict_idle();
    }
    assert_eq!(fetches_of(&ledger, "down").len(), 1, "the backoff without end outlived every eviction");
}
