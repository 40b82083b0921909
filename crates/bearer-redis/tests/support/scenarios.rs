//! The scenarios run against one Redis server and against a Redis Cluster.

use std::time::Duration;

use bearer_testkit::Simulator;

use super::{reports, spawn_worker, total, unix_ms_in, RedisSpec, WorkerPlan, REPORT_DEADLINE};

/// 4-second tokens refresh 1 s before expiry: one new token every 3 s. Traffic runs for
/// 7.5 s, so the fleet needs exactly 3 tokens (at 0, 3 and 6 s), with 1.5 s of slack.
pub async fn steady_fleet_fetches_once_per_lifetime(redis: RedisSpec, processes: usize) {
    let sim = Simulator::oauth2().ttl(Duration::from_secs(4)).start().await;
    let mut plan = WorkerPlan::new(redis, "steady");
    plan.start_at_ms = unix_ms_in(Duration::from_secs(3));
    plan.stop_at_ms = plan.start_at_ms + 7_500;
    let workers = (0..processes).map(|_| spawn_worker("fleet_worker", &sim, &plan)).collect();
    let reports = reports(workers, REPORT_DEADLINE).await;
    assert_eq!(sim.counters().token_requests, 3, "token fetches for {processes} processes over 3 lifetimes");
    assert_eq!(total(&reports, "failed"), 0, "{reports:?}");
    assert!(reports.iter().all(|r| r.get("ok") > 50), "every process served steady traffic: {reports:?}");
    assert_eq!(total(&reports, "shared_fetches"), 3, "{reports:?}");
    assert_eq!(total(&reports, "local_fallbacks"), 0, "{reports:?}");
}

/// Every process holds the same token; the API revokes it; 1,000 concurrent requests across
/// 4 processes, all sent with that token, get 401s, and the fleet fetches one new token.
pub async fn a_thousand_rejections_across_the_fleet_fetch_one_token(redis: RedisSpec) {
    let sim = Simulator::oauth2().start().await;
    let mut plan = WorkerPlan::new(redis, "burst");
    plan.burst = 250;
    let workers: Vec<_> = (0..4).map(|_| spawn_worker("fleet_worker", &sim, &plan)).collect();
    let workers = tokio::task::spawn_blocking(move || {
        for worker in &workers {
            worker.wait_line("READY", REPORT_DEADLINE);
        }
        workers
    })
    .await
    .expect("workers ready");
    let mut workers = workers;
    assert_eq!(sim.counters().token_requests, 1, "the fleet started on one token");
    sim.revoke_all();
    for worker in &mut workers {
        worker.send("GO");
    }
    let reports = reports(workers, REPORT_DEADLINE).await;
    let counters = sim.counters();
    assert_eq!(counters.token_requests, 2, "one fetch for every rejection in the fleet");
    assert_eq!(counters.api_rejections, 1000, "every burst request carried the revoked token: {counters:?}");
    assert_eq!(total(&reports, "failed"), 0, "{reports:?}");
    assert_eq!(total(&reports, "ok"), 1004, "{reports:?}");
}
