//! The token cache between invocations: one token call for two runs, `--refresh`,
//! `--no-cache`, `reset`, private files, corrupted files, expiry.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use bearer_testkit::Simulator;
use support::{env_strs, oauth2_args, oauth2_env, strs, Sandbox};

fn token_args(sim: &Simulator, extra: &[&str]) -> Vec<String> {
    let mut args = oauth2_args(sim);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args.push("token".into());
    args
}

fn run_token(sandbox: &Sandbox, sim: &Simulator, extra: &[&str]) -> String {
    let env = oauth2_env(sim);
    sandbox.run(&strs(&token_args(sim, extra)), &env_strs(&env)).ok().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_in_a_row_make_one_token_call() {
    let sim = Simulator::oauth2().start().await;
    let sandbox = Sandbox::new();
    let first = run_token(&sandbox, &sim, &[]);
    let second = run_token(&sandbox, &sim, &[]);
    assert_eq!(first, second);
    assert_eq!(sim.counters().token_requests, 1, "the second run was served from the cache");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_file_is_private_and_holds_no_client_secret() {
    let sim = Simulator::oauth2().start().await;
    let sandbox = Sandbox::new();
    run_token(&sandbox, &sim, &[]);
    let files = sandbox.cache_files();
    assert_eq!(files.len(), 1, "{files:?}");
    let mode = std::fs::metadata(&files[0]).expect("metadata").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let dir_mode = std::fs::metadata(sandbox.cache_dir()).expect("metadata").permissions().mode();
    assert_eq!(dir_mode & 0o077, 0, "the cache directory is private too");
    let text = std::fs::read_to_string(&files[0]).expect("read");
    assert!(!text.contains(&sim.credentials().client_secret), "no client secret in the cache");
    let name = files[0].file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
    assert!(name.starts_with("default.") && name.ends_with(".json"), "{name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_fetches_and_replaces_the_cached_token() {
    let sim = Simulator::oauth2().start().await;
    let sandbox = Sandbox::new();
    let first = run_token(&sandbox, &sim, &[]);
    let refreshed = run_token(&sandbox, &sim, &["--refresh"]);
    assert_ne!(first, refreshed);
    assert_eq!(run_token(&sandbox, &sim, &[]), refreshed, "the refreshed token was cached");
    assert_eq!(sim.counters().token_requests, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_cache_neither_reads_nor_writes() {
    let sim = Simulator::oauth2().start().await;
    let sandbox = Sandbox::new();
    run_token(&sandbox, &sim, &["--no-cache"]);
    assert!(sandbox.cache_files().is_empty());
    run_token(&sandbox, &sim, &[]);
    run_token(&sandbox, &sim, &["--no-cache"]);
    assert_eq!(sim.counters().token_requests, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_that_change_the_request_get_their_own_token() {
    let sim = Simulator::oauth2().start().await;
    let sandbox = Sandbox::new();
    let read = run_token(&sandbox, &sim, &["--scope", "read"]);
    let write = run_token(&sandbox, &sim, &["--scope", "write"]);
    assert_ne!(read, write);
    assert_eq!(run_token(&sandbox, &sim, &["--scope", "read"]), read);
    assert_eq!(sim.counters().token_requests, 2);
    assert_eq!(sandbox.cache_files().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_forgets_one_profile_or_all() {
    let sim = Simulator::oauth2().start().await;
    let sandbox = Sandbox::new();
    let profile = |name: &str| {
        format!(
            "[profiles.{name}]\ntoken_url = \"{}\"\nclient_id = \"{}\"\nclient_secret_env = \"SECRET\"\nallow_http_loopback = true\nscope = \"{name}\"\n",
            sim.token_url(),
            sim.credentials().client_id
        )
    };
    sandbox.write_config(&format!("{}{}{}", profile("a"), profile("a-b"), profile("c")), 0o600);
    let secret = sim.credentials().client_secret.clone();
    let env = [("SECRET", secret.as_str())];
    for name in ["a", "a-b", "c"] {
        sandbox.run(&["--profile", name, "token"], &env).ok();
    }
    assert_eq!(sandbox.cache_files().len(), 3);
    let reset = sandbox.run(&["--profile", "a", "reset"], &[]);
    reset.ok();
    assert!(reset.stderr.contains("forgot 1"), "{}", reset.stderr);
    assert_eq!(sandbox.cache_files().len(), 2, "profile a-b is not a's");
    sandbox.run(&["--profile", "a", "token"], &env).ok();
    assert_eq!(sim.counters().token_requests, 4, "a fetched again");
    sandbox.run(&["reset", "--all"], &[]).ok();
    assert!(sandbox.cache_files().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_cache_file_is_ignored_and_replaced() {
    let sim = Simulator::oauth2().start().await;
    let sandbox = Sandbox::new();
    let first = run_token(&sandbox, &sim, &[]);
    let file = sandbox.cache_files().pop().expect("cache file");
    std::fs::write(&file, b"{\"access_token\": tru").expect("corrupt");
    let env = oauth2_env(&sim);
    let run = sandbox.run(&strs(&token_args(&sim, &[])), &env_strs(&env));
    let second = run.ok().to_owned();
    assert_ne!(second, first);
    assert!(run.stderr.contains("ignoring unreadable cache file"), "{}", run.stderr);
    assert_eq!(run_token(&sandbox, &sim, &[]), second, "the replacement is served");
    assert_eq!(sim.counters().token_requests, 2);
    let mode = std::fs::metadata(&file).expect("metadata").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_fetched_again() {
    let sim = Simulator::oauth2().ttl(Duration::ZERO).start().await;
    let sandbox = Sandbox::new();
    let first = run_token(&sandbox, &sim, &[]);
    assert_ne!(run_token(&sandbox, &sim, &[]), first);
    assert_eq!(sim.counters().token_requests, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_near_expiry_is_kept_when_the_endpoint_fails() {
    // 400 s: the library's policy refreshes a quarter of the lifetime early (from 300 s on)
    // and stops serving 30 s before expiry (370 s). To put the cached token inside its
    // refresh-ahead window without waiting, age it by 310 s in the file.
    let sim = Simulator::oauth2().ttl(Duration::from_secs(400)).start().await;
    let sandbox = Sandbox::new();
    let first = run_token(&sandbox, &sim, &[]);
    let file = sandbox.cache_files().pop().expect("cache file");
    let mut record: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("json");
    let shift = 310_000;
    for key in ["received_at_ms", "expires_at_ms"] {
        record[key] = (record[key].as_u64().expect(key) - shift).into();
    }
    std::fs::write(&file, record.to_string()).expect("write");
    sim.fail_next(1, bearer_testkit::Fault::server_error());
    let env = oauth2_env(&sim);
    let run = sandbox.run(&strs(&token_args(&sim, &[])), &env_strs(&env));
    assert_eq!(run.ok(), first, "the failed refresh kept the still-valid token");
    assert!(run.stderr.contains("warning") && run.stderr.contains("500"), "{}", run.stderr);
    let refreshed = run_token(&sandbox, &sim, &[]);
    assert_ne!(refreshed, first, "the next run refreshed ahead of expiry");
    assert_eq!(sim.counters().token_requests, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_hit_runs_no_secret_command() {
    let sim = Simulator::oauth2().start().await;
    let sandbox = Sandbox::new();
    let calls = sandbox.path("secret-command-calls");
    sandbox.write_config(
        &format!(
            "[profiles.p]\ntoken_url = \"{}\"\nclient_id = \"{}\"\n\
             client_secret_command = \"echo run >> {}; printf %s {}\"\nallow_http_loopback = true\n",
            sim.token_url(),
            sim.credentials().client_id,
            calls.display(),
            sim.credentials().client_secret
        ),
        0o600,
    );
    let first = sandbox.run(&["--profile", "p", "token"], &[]);
    let second = sandbox.run(&["--profile", "p", "token"], &[]);
    assert_eq!(first.ok(), second.ok());
    assert_eq!(
        std::fs::read_to_string(&calls).expect("calls").lines().count(),
        1,
        "the command ran for the fetch only"
    );
}
