//! Secure defaults of the generic source: https token endpoints, RFC 6749 §2.3.1 encoding of
//! HTTP Basic credentials.

use base64::Engine as _;
use bearer_core::{Error, TokenSource};
use bearer_oauth2::{ClientAuth, OAuth2TokenSource};
use bearer_testkit::{Credentials, Simulator};

#[test]
fn a_plain_http_token_endpoint_is_a_build_error_that_names_the_fix() {
    let build = |url: &str, loopback: bool| {
        let builder = OAuth2TokenSource::builder(url).client_id("id").client_secret("secret");
        if loopback { builder.allow_http_loopback() } else { builder }.build()
    };
    // The Akeneo document's own example base URL.
    let remote = build("http://demo.akeneo.com/api/oauth/v1/token", true).expect_err("http to a remote host");
    assert!(matches!(&remote, Error::Config(m) if m.contains("use https")), "{remote}");
    let local = build("http://127.0.0.1:4011/oauth/token", false).expect_err("loopback http without the opt-in");
    assert!(matches!(&local, Error::Config(m) if m.contains("allow_http_loopback()")), "{local}");
    assert!(build("http://127.0.0.1:4011/oauth/token", true).is_ok());
    assert!(build("https://auth.example.com/oauth/token", false).is_ok());
    let revocation = OAuth2TokenSource::builder("https://auth.example.com/oauth/token")
        .client_id("id")
        .revocation_url("http://auth.example.com/oauth/revoke")
        .build()
        .expect_err("http revocation endpoint");
    assert!(matches!(&revocation, Error::Config(m) if m.contains("revocation URL")), "{revocation}");
}

#[tokio::test]
async fn basic_credentials_are_form_urlencoded_before_base64() {
    let credentials = Credentials {
        client_id: "id:with+plus%pct/slash space-é".into(),
        client_secret: "s3c:+%/ ü".into(),
        ..Credentials::default()
    };
    let sim = Simulator::oauth2().credentials(credentials).start().await;
    let source = OAuth2TokenSource::builder(sim.token_url())
        .allow_http_loopback()
        .client_id(&sim.credentials().client_id)
        .client_secret(sim.credentials().client_secret.as_str())
        .client_auth(ClientAuth::ClientSecretBasic)
        .build()
        .expect("source");
    source.fetch().await.expect("the server url-decodes what we encoded");
    let request = sim.last_request().expect("captured");
    let header = request.header("authorization").and_then(|v| v.strip_prefix("Basic ")).expect("Basic");
    let decoded = base64::engine::general_purpose::STANDARD.decode(header).expect("base64");
    assert_eq!(
        String::from_utf8(decoded).expect("ASCII after encoding"),
        "id%3Awith%2Bplus%25pct%2Fslash+space-%C3%A9:s3c%3A%2B%25%2F+%C3%BC"
    );
}

#[tokio::test]
async fn a_token_endpoint_redirect_is_never_followed_silently() {
    // The endpoint answers 307 to another server: a client that follows redirects (such as
    // `reqwest::Client::new()` given to `http_client`) re-posts the body, secrets included.
    let elsewhere = Simulator::oauth2().start().await;
    let front = Simulator::oauth2().credentials(elsewhere.credentials().clone()).start().await;
    for given in [None, Some(reqwest::Client::new())] {
        let mut builder = OAuth2TokenSource::builder(front.redirect_url(&elsewhere.token_url()))
            .allow_http_loopback()
            .client_id(&elsewhere.credentials().client_id)
            .client_secret(elsewhere.credentials().client_secret.as_str())
            .client_auth(ClientAuth::ClientSecretPost);
        if let Some(client) = given.clone() {
            builder = builder.http_client(client);
        }
        let error = builder.build().expect("source").fetch().await.expect_err("a redirect is not a token");
        assert!(!error.is_transient(), "{error}");
        if given.is_some() {
            assert!(matches!(&error, Error::Config(m) if m.contains("redirect(")), "names the fix: {error}");
        }
    }
}

#[tokio::test]
async fn a_token_url_with_a_fragment_is_not_mistaken_for_a_redirect() {
    // reqwest leaves the fragment (never sent) out of the response's URL.
    let sim = Simulator::oauth2().start().await;
    let source = OAuth2TokenSource::builder(format!("{}#token", sim.token_url()))
        .allow_http_loopback()
        .client_id(&sim.credentials().client_id)
        .client_secret(sim.credentials().client_secret.as_str())
        .http_client(reqwest::Client::new())
        .build()
        .expect("source");
    source.fetch().await.expect("no redirect happened");
}
