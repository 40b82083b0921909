//! `bearer token --format json --show-refresh-token`: the refresh token the source holds,
//! shown only when asked, only as JSON, and never written to the cache.

mod support;

use bearer_testkit::Simulator;
use support::{env_strs, oauth2_args, oauth2_env, provider_env, strs, Sandbox};

const AKENEO: [&str; 4] = ["--provider", "akeneo", "--allow-http-loopback", "token"];

fn akeneo_env(sim: &Simulator) -> Vec<(&'static str, String)> {
    let mut env = provider_env(sim, ["AKENEO_BASE_URL", "AKENEO_CLIENT_ID", "AKENEO_CLIENT_SECRET"]);
    let c = sim.credentials();
    env.extend([("AKENEO_USERNAME", c.username.clone()), ("AKENEO_PASSWORD", c.password.clone())]);
    env
}

fn json_of(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn akeneo_json_shows_the_issued_refresh_token_only_when_asked_and_never_caches_it() {
    let sim = Simulator::akeneo().start().await;
    let env = akeneo_env(&sim);
    let sandbox = Sandbox::new();

    let plain = json_of(sandbox.run(&[&AKENEO[..], &["--format", "json"]].concat(), &env_strs(&env)).ok());
    assert!(plain.get("refresh_token").is_none(), "absent without the flag: {plain}");
    assert_eq!(sim.counters().token_requests, 1);

    let shown = sandbox.run(&[&AKENEO[..], &["--format", "json", "--show-refresh-token"]].concat(), &env_strs(&env));
    let json = json_of(shown.ok());
    assert_eq!(sim.counters().token_requests, 2, "the flag fetches although a fresh token is cached");
    let refresh = json["refresh_token"].as_str().expect("a refresh token").to_owned();
    let access = json["access_token"].as_str().expect("an access token");
    assert_ne!(refresh, access);
    assert!(sim.issued_tokens().contains(&refresh), "the one the simulator issued: {json}");
    assert!(!shown.stderr.contains(&refresh), "nothing about it on stderr");

    let files = sandbox.cache_files();
    assert!(!files.is_empty(), "the access token is cached");
    for file in files {
        let content = std::fs::read_to_string(&file).expect("cache file");
        assert!(content.contains(access), "the fetched access token is cached");
        assert!(!content.contains(&refresh), "{} holds the refresh token", file.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_without_a_refresh_token_shows_null() {
    let sim = Simulator::oauth2().start().await;
    let sandbox = Sandbox::new();
    let mut args = oauth2_args(&sim);
    args.extend(["token", "--format", "json", "--show-refresh-token"].map(String::from));
    let json = json_of(sandbox.run(&strs(&args), &env_strs(&oauth2_env(&sim))).ok());
    assert!(json["access_token"].is_string());
    assert_eq!(json.get("refresh_token"), Some(&serde_json::Value::Null), "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flag_with_another_format_is_a_usage_error() {
    let sim = Simulator::akeneo().start().await;
    let env = akeneo_env(&sim);
    let sandbox = Sandbox::new();
    for format in [&["--format", "bare"][..], &["--format", "header"], &[]] {
        let run = sandbox.run(&[&AKENEO[..], format, &["--show-refresh-token"]].concat(), &env_strs(&env));
        assert_eq!(run.code, Some(2), "{format:?}: {}", run.stderr);
        assert!(run.stdout.is_empty());
        assert!(run.stderr.contains("--format json"), "{}", run.stderr);
    }
    assert_eq!(sim.counters().token_requests, 0, "refused before any token call");
}
