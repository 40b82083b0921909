//! The main fleet scenarios on a 3-master Redis Cluster (`--cluster-enabled yes` and
//! `redis-cli --cluster create`), to show the protocol runs on Redis's own distributed mode:
//! an entry and its lease share a hash tag, so each script runs on the one node owning them.

#[macro_use]
mod support;

use std::time::Duration;

use bearer_core::TokenSource;
use bearer_testkit::{RedisCluster, Simulator};
use support::scenarios::{
    a_thousand_rejections_across_the_fleet_fetch_one_token, steady_fleet_fetches_once_per_lifetime,
};
use support::{sim_source_with_key, RedisSpec};

fleet_worker_entry!();

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_eight_processes_over_three_lifetimes_fetch_three_tokens() {
    let cluster = RedisCluster::start();
    steady_fleet_fetches_once_per_lifetime(RedisSpec::cluster(&cluster.urls()), 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_a_thousand_concurrent_401s_across_four_processes_cause_one_fetch() {
    let cluster = RedisCluster::start();
    a_thousand_rejections_across_the_fleet_fetch_one_token(RedisSpec::cluster(&cluster.urls())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_a_value_sealed_with_another_key_is_a_miss_and_overwritten() {
    let cluster = RedisCluster::start();
    let sim = Simulator::oauth2().start().await;
    let redis = RedisSpec::cluster(&cluster.urls()).0;
    let source = |key: &str| sim_source_with_key(&sim, &redis, key, Duration::from_secs(2));
    let foreign = source(&"22".repeat(32));
    foreign.fetch().await.expect("the foreign writer's token");
    let ours = source(&"11".repeat(32));
    ours.fetch().await.expect("a token despite the foreign value");
    assert_eq!(ours.metrics().unreadable_values, 1);
    assert_eq!(ours.metrics().shared_fetches, 1);
    let next = source(&"11".repeat(32));
    next.fetch().await.expect("the overwritten value");
    assert_eq!(next.metrics().shared_hits, 1, "{:?}", next.metrics());
    assert_eq!(sim.counters().token_requests, 2);
}
