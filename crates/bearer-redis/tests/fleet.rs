//! The fleet on one real `redis-server`: real worker processes (this binary run again), one
//! simulator counting token calls.
//!
//! Wall-clock waits are unavoidable here (other processes, lease expiry): each is a deadline
//! on a polled condition, and each scenario leaves seconds of slack either side of what it
//! counts, so a loaded machine does not change the counts.

#[macro_use]
mod support;

use std::time::Duration;

use bearer_testkit::{Fault, RedisServer, Simulator};
use support::scenarios::{
    a_thousand_rejections_across_the_fleet_fetch_one_token, steady_fleet_fetches_once_per_lifetime,
};
use support::{reports, spawn_worker, total, unix_ms_in, wait_until, RedisSpec, WorkerPlan, REPORT_DEADLINE};

fleet_worker_entry!();

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_over_three_lifetimes_fetch_three_tokens() {
    let redis = RedisServer::start();
    steady_fleet_fetches_once_per_lifetime(RedisSpec::server(redis.url()), 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_401s_across_four_processes_cause_one_fetch() {
    let redis = RedisServer::start();
    a_thousand_rejections_across_the_fleet_fetch_one_token(RedisSpec::server(redis.url())).await;
}

/// The first process takes the lease and hangs in its fetch; it is SIGKILLed. The second
/// waits for the lease to expire, fetches, and its request succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_holder_killed_mid_fetch_is_replaced_after_the_lease_expires() {
    let redis = RedisServer::start();
    let sim = Simulator::oauth2().start().await;
    sim.fail_next(1, Fault::Delay(Duration::from_secs(60)));
    let mut plan = WorkerPlan::new(RedisSpec::server(redis.url()), "once");
    plan.lease = Duration::from_secs(3);
    let mut holder = spawn_worker("fleet_worker", &sim, &plan);
    wait_until("the holder's token request", Duration::from_secs(10), || sim.counters().token_requests == 1).await;
    let killed_at = tokio::time::Instant::now();
    holder.kill();
    let successor = spawn_worker("fleet_worker", &sim, &plan);
    let report = reports(vec![successor], REPORT_DEADLINE).await.remove(0);
    let counters = sim.counters();
    assert_eq!(counters.token_requests, 2, "the successor fetched once");
    assert_eq!(report.get("failed"), 0, "{report:?}");
    assert_eq!(report.get("ok"), 1, "{report:?}");
    assert_eq!(report.get("lease_waits"), 1, "the successor found the dead holder's lease: {report:?}");
    assert_eq!(report.get("shared_fetches"), 1, "{report:?}");
    assert_eq!(report.get("local_fallbacks"), 0, "{report:?}");
    // The lease was taken before the kill, so the successor cannot have fetched before
    // `lease` had passed since then.
    assert!(killed_at.elapsed() >= Duration::from_secs(2), "fetched before the lease could expire");
}

/// Redis is SIGKILLed during steady traffic and started again (empty) 3 s later: no request
/// fails, processes fetch for themselves meanwhile, and they share again afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_mid_run_fails_no_request() {
    let mut redis = RedisServer::start();
    let sim = Simulator::oauth2().ttl(Duration::from_secs(2)).start().await;
    let mut plan = WorkerPlan::new(RedisSpec::server(redis.url()), "steady");
    plan.redis_timeout = Duration::from_millis(500);
    plan.start_at_ms = unix_ms_in(Duration::from_secs(2));
    plan.stop_at_ms = plan.start_at_ms + 10_000;
    let workers: Vec<_> = (0..3).map(|_| spawn_worker("fleet_worker", &sim, &plan)).collect();
    wait_until("the first shared token", Duration::from_secs(10), || sim.counters().token_requests >= 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    redis.kill();
    let during_outage = sim.counters().token_requests;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let fetched_in_outage = sim.counters().token_requests - during_outage;
    redis.restart();
    // Sharing resumes: a process stores a token in the new, empty Redis.
    wait_until("a token stored in the restarted Redis", Duration::from_secs(8), || {
        redis.raw_command(&["DBSIZE"]).is_ok_and(|reply| reply.trim() != ":0")
    })
    .await;
    let reports = reports(workers, REPORT_DEADLINE).await;
    assert_eq!(total(&reports, "failed"), 0, "{reports:?}");
    assert!(fetched_in_outage >= 1, "processes fetched for themselves during the outage");
    assert!(total(&reports, "local_fallbacks") >= 1, "{reports:?}");
    assert!(total(&reports, "outages") >= 1, "{reports:?}");
    assert!(reports.iter().all(|r| r.get("ok") > 100), "{reports:?}");
}
