//! Secret hygiene: complete flows for every provider, successes and failures, with tracing
//! captured at TRACE from every crate (ours, reqwest, hyper), and the `Debug`/`Display` of
//! every public type and error; no client secret, password, access or refresh token may
//! appear anywhere.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use bearer_testkit::{Fault, Simulator};
use http::StatusCode;
use reqwest_bearer::akeneo::AkeneoTokenSource;
use reqwest_bearer::criteo::CriteoTokenSource;
use reqwest_bearer::ixapi::IxApiTokenSource;
use reqwest_bearer::oauth2::{Grant, OAuth2TokenSource};
use reqwest_bearer::zenkipay::ZenkipayTokenSource;
use reqwest_bearer::zuora::{ZuoraEnvironment, ZuoraTokenSource};
use reqwest_bearer::{BearerAuth, TokenCache, TokenSource};
use reqwest_middleware::ClientBuilder;

/// Everything written by the tracing subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// A subscriber that writes every event, at TRACE from every crate, to the returned log.
    fn subscriber() -> (Self, impl tracing::Subscriber + Send + Sync) {
        let captured = Self::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        (captured, subscriber)
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the flows printed: formatted values and the trace log.
#[derive(Default)]
struct Transcript(Vec<String>);

impl Transcript {
    fn show<T: std::fmt::Debug>(&mut self, value: &T) {
        self.0.push(format!("{value:?} {value:#?}"));
    }

    fn show_error(&mut self, error: &reqwest_bearer::Error) {
        self.0.push(format!("{error} {error:?} {error:#?}"));
        let mut source = std::error::Error::source(error);
        while let Some(inner) = source {
            self.0.push(format!("{inner} {inner:?}"));
            source = inner.source();
        }
    }
}

/// Runs the source through its simulator: a success, a server-side revocation and retry, a
/// token-endpoint failure with a body that echoes nothing, and a bad-credentials failure.
async fn flow<S: TokenSource + std::fmt::Debug + 'static>(
    sim: &Simulator,
    source: S,
    bad: impl TokenSource + std::fmt::Debug + 'static,
    transcript: &mut Transcript,
) {
    transcript.show(&source);
    let cache = TokenCache::new(source);
    let auth =
        reqwest_bearer::BearerAuthBuilder::from_cache(cache.clone()).allow_http_loopback().build().expect("auth");
    transcript.show(&auth);
    let client = ClientBuilder::new(reqwest::Client::new()).with(auth).build();
    let ok = client.get(sim.api_url()).send().await.expect("request");
    assert!(ok.status().is_success(), "{}", ok.status());
    transcript.show(&cache);
    let token = cache.token().await.expect("token");
    transcript.show(&token);
    transcript.show(token.secret());
    transcript.show(token.header_value());
    sim.revoke_all();
    assert!(client.post(sim.api_url()).body("x").send().await.expect("request").status().is_success());
    sim.fail_next(1, Fault::status(StatusCode::BAD_REQUEST, None));
    if let Err(error) = cache.source().fetch().await {
        transcript.show_error(&error);
    }
    transcript.show(&bad);
    let error = bad.fetch().await.expect_err("bad credentials");
    transcript.show_error(&error);
    let bad_client = ClientBuilder::new(reqwest::Client::new())
        .with(BearerAuth::builder(bad).allow_http_loopback().build().expect("auth"))
        .build();
    let error = bad_client.get(sim.api_url()).send().await.expect_err("no token");
    transcript.0.push(format!("{error} {error:?}"));
}

/// RFC 7009 revocation: refused with bodies that echo the refresh token (JSON and HTML), then
/// done.
async fn revocation(sim: &Simulator, grant: Grant, transcript: &mut Transcript) {
    let source = support::oauth2_builder(sim)
        .grant(grant)
        .revocation_url(sim.revocation_url())
        .api_origin(sim.origin())
        .build()
        .expect("source");
    source.fetch().await.expect("token");
    let held = sim.issued_tokens().last().cloned().expect("a refresh token");
    let echoes = [
        format!(r#"{{"error":"invalid_request","error_description":"cannot revoke {held}"}}"#),
        format!("<html>cannot revoke {held}</html>"),
    ];
    for body in echoes {
        sim.fail_next(1, Fault::Status { status: StatusCode::BAD_REQUEST, retry_after: None, body });
        let error = source.revoke_refresh_token().await.expect_err("refused");
        transcript.show_error(&error);
    }
    transcript.show(&source);
    assert!(source.revoke_refresh_token().await.expect("revoked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_logs_debug_or_display() {
    let (captured, subscriber) = Captured::subscriber();
    tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber in this test binary");

    let mut transcript = Transcript::default();
    let mut secrets: Vec<String> = Vec::new();
    let remember = |sim: &Simulator, secrets: &mut Vec<String>| {
        secrets.push(sim.credentials().client_secret.clone());
        secrets.push(sim.credentials().password.clone());
        secrets.extend(sim.issued_tokens());
    };
    const WRONG: &str = "wrong-secret-also-never-logged";
    secrets.push(WRONG.to_owned());

    let sim = Simulator::oauth2().start().await;
    let creds = sim.credentials().clone();
    let password_grant = Grant::Password { username: creds.username.clone(), password: creds.password.as_str().into() };
    let good =
        support::oauth2_builder(&sim).grant(password_grant.clone()).api_origin(sim.origin()).build().expect("source");
    let bad = support::oauth2_builder(&sim).client_secret(WRONG).api_origin(sim.origin()).build().expect("source");
    flow(&sim, good, bad, &mut transcript).await;
    revocation(&sim, password_grant, &mut transcript).await;
    transcript.show(
        &OAuth2TokenSource::builder(sim.token_url()).allow_http_loopback().client_secret(creds.client_secret.as_str()),
    );
    remember(&sim, &mut secrets);

    let sim = Simulator::zuora().start().await;
    let zuora = |secret: &str| {
        ZuoraTokenSource::builder(ZuoraEnvironment::Custom(sim.base_url()))
            .allow_http_loopback()
            .client_id(&sim.credentials().client_id)
            .client_secret(secret)
            .build()
            .expect("source")
    };
    flow(&sim, zuora(&sim.credentials().client_secret), zuora(WRONG), &mut transcript).await;
    remember(&sim, &mut secrets);

    let sim = Simulator::criteo().start().await;
    let criteo = |secret: &str| {
        CriteoTokenSource::builder()
            .base_url(sim.base_url())
            .allow_http_loopback()
            .client_id(&sim.credentials().client_id)
            .client_secret(secret)
            .build()
            .expect("source")
    };
    flow(&sim, criteo(&sim.credentials().client_secret), criteo(WRONG), &mut transcript).await;
    remember(&sim, &mut secrets);

    let sim = Simulator::akeneo().start().await;
    let akeneo = |password: &str| {
        let creds = sim.credentials();
        AkeneoTokenSource::builder(sim.base_url())
            .allow_http_loopback()
            .client_id(&creds.client_id)
            .client_secret(creds.client_secret.as_str())
            .username(&creds.username)
            .password(password)
            .build()
            .expect("source")
    };
    flow(&sim, akeneo(&sim.credentials().password), akeneo(WRONG), &mut transcript).await;
    remember(&sim, &mut secrets);

    let sim = Simulator::zenkipay().start().await;
    let zenkipay = |secret: &str| {
        ZenkipayTokenSource::builder()
            .base_url(sim.base_url())
            .allow_http_loopback()
            .client_id(&sim.credentials().client_id)
            .client_secret(secret)
            .build()
            .expect("source")
    };
    flow(&sim, zenkipay(&sim.credentials().client_secret), zenkipay(WRONG), &mut transcript).await;
    remember(&sim, &mut secrets);

    let sim = Simulator::ixapi().start().await;
    let ixapi = |secret: &str| {
        IxApiTokenSource::builder(sim.base_url())
            .allow_http_loopback()
            .api_key(&sim.credentials().client_id)
            .api_secret(secret)
            .build()
            .expect("source")
    };
    flow(&sim, ixapi(&sim.credentials().client_secret), ixapi(WRONG), &mut transcript).await;
    remember(&sim, &mut secrets);

    let log = String::from_utf8_lossy(&captured.0.lock().expect("log")).into_owned();
    assert!(log.contains("token refreshed") && log.contains("token rejected"), "the subscriber captured our events");
    assert!(secrets.len() > 20, "secrets were collected: {}", secrets.len());
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "a secret reached the trace log");
        for shown in &transcript.0 {
            assert!(!shown.contains(secret.as_str()), "a secret was formatted: {shown}");
        }
    }
}

/// The redirect rules' log lines, on every branch (retried, dropped after a redirect on the
/// origin, kept after a redirect elsewhere), for a request whose URL carries a password: the
/// tokens never reach the trace log, nor the password our log lines. Captured on this test's
/// thread only.
#[tokio::test]
async fn a_password_in_a_request_url_never_reaches_the_log_on_any_redirect_branch() {
    let (captured, subscriber) = Captured::subscriber();
    let _log = tracing::subscriber::set_default(subscriber);

    const PASSWORD: &str = "url-password-never-logged";
    let (sim, other) = (Simulator::oauth2().start().await, Simulator::oauth2().start().await);
    let client = support::client_for_any_origin(&sim);
    let with_password = |url: String| support::get_with_user_info(&url, Some(PASSWORD));
    let first = client.execute(with_password(sim.api_url())).await.expect("request");
    assert_eq!(first.status(), StatusCode::OK);
    sim.revoke_all();
    let retried = client.execute(with_password(sim.api_url())).await.expect("request");
    assert_eq!(retried.status(), StatusCode::OK, "retried with a fresh token");
    sim.revoke_all();
    let dropped = client.execute(with_password(sim.redirect_url(&sim.api_url()))).await.expect("request");
    assert_eq!(dropped.status(), StatusCode::UNAUTHORIZED, "redirected on the origin: not retried");
    let kept = client.execute(with_password(sim.redirect_url(&other.api_url()))).await.expect("request");
    assert_eq!(kept.status(), StatusCode::UNAUTHORIZED, "redirected elsewhere: not retried");

    let log = String::from_utf8_lossy(&captured.0.lock().expect("log")).into_owned();
    for event in ["retrying once with a fresh token", "after a redirect; dropped", "another origin"] {
        assert!(log.contains(event), "the subscriber captured `{event}`");
    }
    for token in sim.issued_tokens() {
        assert!(!log.contains(token.as_str()), "a token reached the trace log");
    }
    // hyper-util's connection pool logs the authority of such a URL, user info included (at
    // DEBUG): the caller's choice of URL, not ours to hide. Our crates never print it.
    let ours: Vec<&str> =
        log.lines().filter(|line| line.contains(" reqwest_bearer") || line.contains(" bearer_")).collect();
    assert!(ours.len() >= 3, "our events were captured: {ours:#?}");
    assert!(!ours.iter().any(|line| line.contains(PASSWORD)), "the URL's password reached our log lines");
}
