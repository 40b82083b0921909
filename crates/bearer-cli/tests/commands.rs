//! `curl`, `header`, `info`, `test` and `completions` against the simulators.

mod support;

use std::os::unix::fs::PermissionsExt;

use axum::routing::post;
use bearer_testkit::Simulator;
use support::{env_strs, oauth2_args, oauth2_env, provider_env, strs, write_file, Sandbox};

fn args(sim: &Simulator, command: &[&str]) -> Vec<String> {
    let mut args = oauth2_args(sim);
    args.extend(command.iter().map(|s| (*s).to_owned()));
    args
}

fn run(sandbox: &Sandbox, sim: &Simulator, command: &[&str], extra_env: &[(&str, &str)]) -> support::Run {
    let env = oauth2_env(sim);
    let mut env = env_strs(&env);
    env.extend_from_slice(extra_env);
    sandbox.run(&strs(&args(sim, command)), &env)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_gets_the_header_but_never_sees_the_token_on_its_command_line() {
    let sim = Simulator::oauth2().start().await;
    let sandbox = Sandbox::new();
    // A `curl` first on PATH that records its argv and its config file's mode, then runs the
    // real curl.
    let real_curl = which("curl");
    let log = sandbox.path("curl-argv.log");
    let mode_log = sandbox.path("curl-config-mode.log");
    let wrapper = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nstat -c %a \"$2\" > '{}'\nexec '{}' \"$@\"\n",
        log.display(),
        mode_log.display(),
        real_curl
    );
    write_file(&sandbox.path("bin/curl"), &wrapper, 0o755);
    let path = format!("{}:{}", sandbox.path("bin").display(), std::env::var("PATH").unwrap_or_default());
    let api = sim.api_url();
    let done = run(&sandbox, &sim, &["curl", "-sS", "-X", "POST", "--data", "order #7", &api], &[("PATH", &path)]);
    assert_eq!(done.ok(), "order #7", "the protected API accepted the token and echoed the body");
    let token = sim.issued_tokens().first().cloned().expect("issued");
    assert_eq!(sim.api_authorizations(), vec![Some(format!("Bearer {token}"))]);
    let argv = std::fs::read_to_string(&log).expect("argv log");
    assert!(argv.starts_with("--config\n"), "{argv}");
    assert!(argv.contains(&api) && argv.contains("order #7"), "curl got the caller's args: {argv}");
    assert!(!argv.contains(&token), "the token is not on curl's command line");
    assert_eq!(std::fs::read_to_string(&mode_log).expect("mode log").trim(), "600");
    let leftovers: Vec<_> = std::fs::read_dir(sandbox.path(""))
        .expect("read sandbox")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("bearer-curl-"))
        .collect();
    assert!(leftovers.is_empty(), "the config file is removed after curl exits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_exits_with_curls_status() {
    let sim = Simulator::oauth2().start().await;
    let sandbox = Sandbox::new();
    run(&sandbox, &sim, &["token"], &[]).ok();
    sim.revoke_all();
    let api = sim.api_url();
    let done = run(&sandbox, &sim, &["curl", "-sS", "--fail", &api], &[]);
    assert_eq!(done.code, Some(22), "curl --fail on a 401: {}", done.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_prints_only_the_header() {
    let sim = Simulator::oauth2().start().await;
    let sandbox = Sandbox::new();
    let done = run(&sandbox, &sim, &["header"], &[]);
    let token = sim.issued_tokens().first().cloned().expect("issued");
    assert_eq!(done.stdout, format!("Authorization: Bearer {token}\n"));
    assert_eq!(run(&sandbox, &sim, &["token", "--format", "header"], &[]).stdout, done.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_decodes_a_jwt() {
    let sim = Simulator::criteo().start().await;
    let sandbox = Sandbox::new();
    let env = provider_env(&sim, ["CRITEO_BASE_URL", "CRITEO_CLIENT_ID", "CRITEO_CLIENT_SECRET"]);
    let env = env_strs(&env);
    let json = sandbox.run(&["--provider", "criteo", "--allow-http-loopback", "info", "--json"], &env);
    let info: serde_json::Value = serde_json::from_str(json.ok()).expect("json");
    assert_eq!(info["kind"], "jwt");
    assert_eq!(info["signature_verified"], false);
    assert!(info["claims"]["exp"].is_u64() && info["header"]["alg"].is_string(), "{info}");
    assert!(info["expires_in"].as_i64().is_some_and(|s| (890..=900).contains(&s)), "{info}");
    let text = sandbox.run(&["--provider", "criteo", "--allow-http-loopback", "info"], &env);
    let text = text.ok();
    for line in ["JWT (signature not verified)", "claims:", "issued:", "expires:", "time left:  14m"] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
    assert_eq!(sim.counters().token_requests, 1, "info used the cached token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_introspects_an_opaque_token() {
    let sim = Simulator::oauth2().start().await;
    let expected_auth = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{}:{}", sim.credentials().client_id, sim.credentials().client_secret)
        )
    );
    // A minimal RFC 7662 endpoint: active for any token, when the client authenticates.
    let app = axum::Router::new().route(
        "/introspect",
        post(move |headers: http::HeaderMap, body: String| async move {
            let authorized = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected_auth.as_str());
            if !authorized || !body.contains("token=") || !body.contains("token_type_hint=access_token") {
                return (http::StatusCode::UNAUTHORIZED, JSON, r#"{"error":"invalid_client"}"#);
            }
            (http::StatusCode::OK, JSON, r#"{"active":true,"sub":"svc","scope":"read"}"#)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/introspect", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let sandbox = Sandbox::new();
    let done = run(&sandbox, &sim, &["--introspection-url", &url, "info", "--json"], &[]);
    let info: serde_json::Value = serde_json::from_str(done.ok()).expect("json");
    assert_eq!(info["kind"], "opaque");
    assert_eq!(info["introspection"], serde_json::json!({"active": true, "sub": "svc", "scope": "read"}));
    let without = run(&sandbox, &sim, &["info"], &[]);
    assert!(without.ok().contains("introspection: not configured"), "{}", without.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_passes_when_the_api_accepts_the_token_and_fails_when_it_rejects_it() {
    let sim = Simulator::zenkipay().start().await;
    let sandbox = Sandbox::new();
    let env = provider_env(&sim, ["ZENKIPAY_BASE_URL", "ZENKIPAY_CLIENT_ID", "ZENKIPAY_CLIENT_SECRET"]);
    let env = env_strs(&env);
    let api = sim.api_url();
    let flags = ["--provider", "zenkipay", "--allow-http-loopback", "test"];
    let ok = sandbox.run(&flags, &env);
    ok.ok();
    assert!(ok.stderr.contains("ok"), "{}", ok.stderr);
    assert!(ok.stdout.is_empty(), "test prints nothing on stdout");
    let with_url = sandbox.run(&[&flags[..], &["--url", &api]].concat(), &env);
    with_url.ok();
    sim.revoke_all();
    let rejected = sandbox.run(&[&flags[..], &["--url", &api]].concat(), &env);
    assert_eq!(rejected.code, Some(1), "{}", rejected.stderr);
    assert!(
        rejected.stderr.contains("rejected the token (HTTP 403)"),
        "Zenkipay's 403 is a rejection: {}",
        rejected.stderr
    );
    sandbox.run(&[&flags[..], &["--url", &api]].concat(), &env).ok();
    assert_eq!(sim.counters().tokens_issued, 2, "the rejected token was dropped from the cache");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_fails_with_the_providers_reason() {
    let sim = Simulator::oauth2().start().await;
    let sandbox = Sandbox::new();
    let url = sim.token_url();
    let id = sim.credentials().client_id.clone();
    let done = sandbox.run(
        &["--token-url", &url, "--client-id", &id, "--allow-http-loopback", "test"],
        &[("BEARER_CLIENT_SECRET", "wrong-secret-value")],
    );
    assert_eq!(done.code, Some(1));
    assert!(done.stderr.contains("HTTP 401") && done.stderr.contains("invalid_client"), "{}", done.stderr);
    assert!(done.stderr.contains("hint:"), "{}", done.stderr);
    assert!(!done.stderr.contains("wrong-secret-value"), "no secret in messages");
    assert!(done.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_fetch_spins_on_a_terminal_and_stays_silent_in_a_pipe() {
    let sim = Simulator::oauth2().start().await;
    let sandbox = Sandbox::new();
    let slow = || sim.fail_next(1, bearer_testkit::Fault::Delay(std::time::Duration::from_millis(900)));
    // In a pipe: nothing but the token, however slow.
    slow();
    let piped = run(&sandbox, &sim, &["--no-cache", "token"], &[]);
    piped.ok();
    assert!(piped.stderr.is_empty(), "{:?}", piped.stderr);
    // On a terminal (util-linux `script` gives the command a pty): a spinner on stderr.
    slow();
    let typescript = sandbox.path("typescript");
    let command_line =
        format!("{} {} --no-cache token >/dev/null", env!("CARGO_BIN_EXE_bearer"), args(&sim, &[]).join(" "));
    let sandbox_env = sandbox.command(&[], &[]);
    let status = std::process::Command::new(which("script"))
        .args(["-qec", &command_line])
        .arg(&typescript)
        .envs(sandbox_env.get_envs().filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))))
        .env("BEARER_CLIENT_SECRET", &sim.credentials().client_secret)
        .stdin(std::process::Stdio::null())
        .status()
        .expect("run script");
    assert!(status.success());
    let shown = std::fs::read_to_string(&typescript).expect("typescript");
    assert!(shown.contains("| fetching a token from"), "{shown}");
    assert!(shown.contains("\x1b[2K"), "the spinner clears its line: {shown}");
}

#[test]
fn completions_for_every_shell() {
    let sandbox = Sandbox::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let done = sandbox.run(&["completions", shell], &[]);
        assert!(done.ok().contains("bearer"), "{shell}");
    }
}

#[test]
fn help_shows_an_example_per_command() {
    let sandbox = Sandbox::new();
    for command in ["token", "header", "curl", "info", "test", "reset", "completions"] {
        let done = sandbox.run(&[command, "--help"], &[]);
        let text = done.ok();
        let example = text.split_once("Example:").map(|(_, example)| example);
        assert!(example.is_some_and(|e| e.contains("bearer ")), "{command}: {text}");
    }
    assert!(sandbox.run(&["--help"], &[]).ok().contains("Exit codes"));
}

const JSON: [(http::HeaderName, &str); 1] = [(http::header::CONTENT_TYPE, "application/json")];

fn which(program: &str) -> String {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|dir| std::path::Path::new(dir).join(program))
        .find(|p| p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
        .map(|p| p.display().to_string())
        .expect("curl on PATH (.ci/run installs it)")
}
