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
