//! Usage and configuration errors exit 2 with a message (never a panic); network errors
//! exit 3; a config file that others can read while it holds a secret is refused.

mod support;

use bearer_testkit::Simulator;
use support::Sandbox;

fn assert_usage_error(done: &support::Run, expected: &str) {
    assert_eq!(done.code, Some(2), "stderr: {}", done.stderr);
    assert!(done.stderr.contains(expected), "`{expected}` in: {}", done.stderr);
    assert!(!done.stderr.contains("panicked"), "{}", done.stderr);
    assert!(done.stdout.is_empty(), "nothing on stdout: {}", done.stdout);
}

#[test]
fn bad_flags_are_usage_errors() {
    let sandbox = Sandbox::new();
    assert_usage_error(&sandbox.run(&["token", "--frobnicate"], &[]), "unexpected argument");
    assert_usage_error(&sandbox.run(&["token", "--format", "xml"], &[]), "invalid value 'xml'");
    assert_usage_error(&sandbox.run(&["--param", "novalue", "token"], &[]), "expected NAME=VALUE");
    assert_usage_error(&sandbox.run(&[], &[]), "Usage");
    // Secrets never come from the command line, where `ps` shows them.
    assert_usage_error(&sandbox.run(&["--client-secret", "s3cr3t", "token"], &[]), "unexpected argument");
    assert_usage_error(&sandbox.run(&["--profile", "../etc", "token"], &[]), "invalid profile name");
}

#[test]
fn unknown_providers_are_usage_errors() {
    let sandbox = Sandbox::new();
    assert_usage_error(&sandbox.run(&["--provider", "okta", "token"], &[]), "invalid value 'okta'");
    sandbox.write_config("[profiles.x]\nprovider = \"okta\"\n", 0o600);
    assert_usage_error(&sandbox.run(&["--profile", "x", "token"], &[]), "unknown variant `okta`");
}

#[test]
fn missing_settings_name_what_to_set() {
    let sandbox = Sandbox::new();
    assert_usage_error(&sandbox.run(&["--provider", "zuora", "token"], &[]), "ZUORA_CLIENT_ID is not set");
    assert_usage_error(&sandbox.run(&["token"], &[]), "BEARER_TOKEN_URL is not set");
    assert_usage_error(&sandbox.run(&["--profile", "nope", "token"], &[]), "no profile `nope`");
    let missing = sandbox.path("absent.toml");
    let missing = missing.to_string_lossy();
    assert_usage_error(&sandbox.run(&["--config", &missing, "token"], &[]), "cannot read the config file");
}

#[test]
fn generic_flags_do_not_apply_to_providers() {
    let sandbox = Sandbox::new();
    let env = [("CRITEO_CLIENT_ID", "id"), ("CRITEO_CLIENT_SECRET", "secret")];
    assert_usage_error(
        &sandbox.run(&["--provider", "criteo", "--scope", "x", "token"], &env),
        "scope applies to --provider oauth2 only",
    );
}

#[test]
fn plain_http_needs_loopback_and_the_opt_in() {
    let sandbox = Sandbox::new();
    let env = [("BEARER_CLIENT_SECRET", "s")];
    let local = sandbox.run(&["--token-url", "http://127.0.0.1:9/token", "--client-id", "c", "token"], &env);
    assert_usage_error(&local, "--allow-http-loopback");
    let remote = sandbox.run(
        &["--token-url", "http://auth.example.com/token", "--client-id", "c", "--allow-http-loopback", "token"],
        &env,
    );
    assert_usage_error(&remote, "plain http");
}

#[test]
fn a_config_file_holding_a_secret_readable_by_others_is_refused() {
    let sandbox = Sandbox::new();
    let text = "[profiles.acme]\ntoken_url = \"https://auth.acme.example/token\"\nclient_id = \"c\"\nclient_secret = \"inline-secret-value\"\n";
    let path = sandbox.write_config(text, 0o644);
    let done = sandbox.run(&["--profile", "acme", "token"], &[]);
    assert_usage_error(&done, "holds a secret and is readable by others");
    assert!(done.stderr.contains(&format!("chmod 600 {}", path.display())), "{}", done.stderr);
    assert!(!done.stderr.contains("inline-secret-value"));
    // Group-readable is refused too; a secret kept elsewhere makes 0644 fine.
    sandbox.write_config(text, 0o640);
    assert_usage_error(&sandbox.run(&["--profile", "acme", "token"], &[]), "readable by others");
    sandbox.write_config(&text.replace("client_secret = ", "client_secret_env = "), 0o644);
    let done = sandbox.run(&["--profile", "acme", "token"], &[]);
    assert_usage_error(&done, "environment variable inline-secret-value is not set");
}

#[test]
fn a_config_file_others_can_write_is_refused() {
    let sandbox = Sandbox::new();
    sandbox.write_config("[profiles.acme]\nclient_secret_command = \"pass show acme\"\n", 0o666);
    assert_usage_error(&sandbox.run(&["--profile", "acme", "token"], &[]), "writable by others");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_config_file_with_an_inline_secret_works() {
    let sim = Simulator::oauth2().start().await;
    let sandbox = Sandbox::new();
    sandbox.write_config(
        &format!(
            "default_profile = \"local\"\n[profiles.local]\ntoken_url = \"{}\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\nallow_http_loopback = true\n",
            sim.token_url(),
            sim.credentials().client_id,
            sim.credentials().client_secret
        ),
        0o600,
    );
    assert_eq!(Some(sandbox.run(&["token"], &[]).ok()), sim.issued_tokens().first().map(String::as_str));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_endpoint_is_a_network_error() {
    let sim = Simulator::oauth2().start().await;
    let url = sim.token_url();
    sim.stop();
    drop(sim);
    let sandbox = Sandbox::new();
    let done = sandbox.run(
        &["--token-url", &url, "--client-id", "c", "--allow-http-loopback", "token"],
        &[("BEARER_CLIENT_SECRET", "s")],
    );
    assert_eq!(done.code, Some(3), "{}", done.stderr);
    assert!(done.stderr.contains("unreachable") && done.stderr.contains("hint:"), "{}", done.stderr);
}
