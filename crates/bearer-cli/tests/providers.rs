//! `bearer token` for every provider, against its simulator, configured the way the
//! provider crate documents (`from_env()` variables) or through a profile.

mod support;

use bearer_testkit::Simulator;
use support::{env_strs, provider_env, Sandbox};

/// Runs `bearer --provider NAME --allow-http-loopback token` with `env` and checks the
/// printed token is the one the simulator issued, in one token call.
fn token_from(sim: &Simulator, provider: &str, env: &[(&str, &str)]) {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["--provider", provider, "--allow-http-loopback", "token"], env);
    let token = run.ok();
    assert_eq!(sim.issued_tokens().first().map(String::as_str), Some(token), "{provider}: the simulator's token");
    assert_eq!(sim.counters().tokens_issued, 1);
    assert!(run.stderr.is_empty(), "nothing on stderr: {}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zuora_from_its_environment_variables() {
    let sim = Simulator::zuora().start().await;
    let mut env = provider_env(&sim, ["ZUORA_ENVIRONMENT", "ZUORA_CLIENT_ID", "ZUORA_CLIENT_SECRET"]);
    env.push(("ZUORA_TRACK_ID", "cli-test".into()));
    token_from(&sim, "zuora", &env_strs(&env));
    assert_eq!(
        sim.last_request().and_then(|r| r.header("zuora-track-id").map(str::to_owned)).as_deref(),
        Some("cli-test")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn criteo_from_its_environment_variables() {
    let sim = Simulator::criteo().start().await;
    let env = provider_env(&sim, ["CRITEO_BASE_URL", "CRITEO_CLIENT_ID", "CRITEO_CLIENT_SECRET"]);
    token_from(&sim, "criteo", &env_strs(&env));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn akeneo_from_its_environment_variables() {
    let sim = Simulator::akeneo().start().await;
    let mut env = provider_env(&sim, ["AKENEO_BASE_URL", "AKENEO_CLIENT_ID", "AKENEO_CLIENT_SECRET"]);
    let c = sim.credentials();
    env.extend([("AKENEO_USERNAME", c.username.clone()), ("AKENEO_PASSWORD", c.password.clone())]);
    token_from(&sim, "akeneo", &env_strs(&env));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zenkipay_from_its_environment_variables() {
    let sim = Simulator::zenkipay().start().await;
    let env = provider_env(&sim, ["ZENKIPAY_BASE_URL", "ZENKIPAY_CLIENT_ID", "ZENKIPAY_CLIENT_SECRET"]);
    token_from(&sim, "zenkipay", &env_strs(&env));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ixapi_from_its_environment_variables() {
    let sim = Simulator::ixapi().start().await;
    let env = provider_env(&sim, ["IXAPI_BASE_URL", "IXAPI_API_KEY", "IXAPI_API_SECRET"]);
    token_from(&sim, "ixapi", &env_strs(&env));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth2_from_generic_flags() {
    let sim = Simulator::oauth2().start().await;
    let c = sim.credentials();
    let sandbox = Sandbox::new();
    let url = sim.token_url();
    let run = sandbox.run(
        &[
            "--token-url",
            &url,
            "--client-id",
            &c.client_id,
            "--client-auth",
            "client_secret_post",
            "--scope",
            "read write",
            "--audience",
            "https://api.example",
            "--param",
            "resource=r1",
            "--allow-http-loopback",
            "token",
            "--format",
            "json",
        ],
        &[("BEARER_CLIENT_SECRET", &c.client_secret)],
    );
    let json: serde_json::Value = serde_json::from_str(run.ok()).expect("json");
    assert_eq!(json["token_type"], "Bearer");
    assert_eq!(json["scope"], "read write");
    assert!(json["expires_in"].as_i64().is_some_and(|s| (3590..=3600).contains(&s)), "{json}");
    assert!(json["expires_at"].as_str().is_some_and(|s| s.ends_with('Z')), "RFC 3339: {json}");
    assert!(json.get("refresh_token").is_none());
    let fields = sim.last_request().expect("a token request").fields();
    assert_eq!(fields.get("client_id"), Some(&c.client_id), "client_secret_post puts the client in the body");
    assert_eq!(fields.get("audience").map(String::as_str), Some("https://api.example"));
    assert_eq!(fields.get("resource").map(String::as_str), Some("r1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth2_password_grant_from_a_profile_with_secret_commands() {
    let sim = Simulator::oauth2().start().await;
    let c = sim.credentials();
    let sandbox = Sandbox::new();
    sandbox.write_config(
        &format!(
            "default_profile = \"pim\"\n[profiles.pim]\ntoken_url = \"{}\"\nclient_id = \"{}\"\n\
             client_secret_command = \"printf %s {}\"\ngrant = \"password\"\nusername = \"{}\"\n\
             password_env = \"PIM_PASSWORD\"\nallow_http_loopback = true\n",
            sim.token_url(),
            c.client_id,
            c.client_secret,
            c.username
        ),
        0o644,
    );
    let run = sandbox.run(&["header"], &[("PIM_PASSWORD", &c.password)]);
    let token = sim.issued_tokens().first().cloned().expect("issued");
    assert_eq!(run.ok(), format!("Authorization: Bearer {token}"));
    assert_eq!(sim.last_request().expect("request").fields().get("grant_type").map(String::as_str), Some("password"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret_from_stdin() {
    let sim = Simulator::criteo().start().await;
    let c = sim.credentials();
    let sandbox = Sandbox::new();
    let base = sim.base_url();
    let run = sandbox.run_with_stdin(
        &[
            "--provider",
            "criteo",
            "--base-url",
            &base,
            "--client-id",
            &c.client_id,
            "--client-secret-stdin",
            "--allow-http-loopback",
            "token",
        ],
        &[],
        &format!("{}\n", c.client_secret),
    );
    assert_eq!(Some(run.ok()), sim.issued_tokens().first().map(String::as_str));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ixapi_from_a_profile_with_a_secret_file() {
    let sim = Simulator::ixapi().start().await;
    let c = sim.credentials();
    let sandbox = Sandbox::new();
    let secret_file = sandbox.path("ixapi.secret");
    support::write_file(&secret_file, &format!("{}\n", c.client_secret), 0o600);
    sandbox.write_config(
        &format!(
            "[profiles.ixp]\nprovider = \"ixapi\"\nbase_url = \"{}\"\nclient_id = \"{}\"\n\
             client_secret_file = \"{}\"\nallow_http_loopback = true\n",
            sim.base_url(),
            c.client_id,
            secret_file.display()
        ),
        0o644,
    );
    let run = sandbox.run(&["--profile", "ixp", "token"], &[]);
    assert_eq!(Some(run.ok()), sim.issued_tokens().first().map(String::as_str));
    assert!(run.stderr.is_empty(), "a private secret file draws no warning: {}", run.stderr);
}
