//! Where `BearerAuth` may send the token is decided when it is built, and fails closed: an
//! origin that is not one, or that could never receive the token, and a source that names no
//! origin without an explicit choice, are `Config` errors that say what to write instead.

mod support;

use reqwest_bearer::core::AccessToken;
use reqwest_bearer::{BearerAuth, BearerAuthBuilder, Error, Token, TokenSource};
use reqwest_middleware::ClientBuilder;
use support::Recorder;

/// A source that names `origins` as its API's and issues `fixed` tokens without a server.
#[derive(Debug, Default)]
struct Naming(Vec<String>);

#[async_trait::async_trait]
impl TokenSource for Naming {
    async fn fetch(&self) -> Result<Token, Error> {
        Token::builder(AccessToken::new("fixed")).expires_in(std::time::Duration::from_secs(3600)).build()
    }

    fn api_origins(&self) -> Vec<String> {
        self.0.clone()
    }
}

fn naming(origins: &[&str]) -> Naming {
    Naming(origins.iter().map(|o| (*o).to_owned()).collect())
}

/// The `Config` message of a build that must fail.
fn refusal(result: Result<BearerAuth<Naming>, Error>) -> String {
    match result {
        Err(Error::Config(message)) => message.to_string(),
        Err(other) => panic!("expected a Config error, got {other:?}"),
        Ok(auth) => panic!("expected a Config error, got {auth:?}"),
    }
}

/// Origins that would never get the token, and what the error must tell the user to write.
const UNUSABLE: [(&str, &str); 5] = [
    ("api.example.com", "write `https://api.example.com`"),
    ("http://127.0.0.1:4011", "call `allow_http_loopback()`"),
    ("http://api.example.com", "write `https://api.example.com`"),
    ("https://api.example.com/v1", "write `https://api.example.com`"),
    ("https://exa mple.com", "such as `https://api.example.com`"),
];

#[test]
fn an_origin_named_with_allow_origin_that_could_never_get_the_token_fails_the_build() {
    for (origin, fix) in UNUSABLE {
        let message = refusal(BearerAuth::builder(naming(&[])).allow_origin(origin).build());
        assert!(message.starts_with("allow_origin: "), "{message}");
        assert!(message.contains(fix), "{origin}: {message}");
        // Also next to a good one.
        let message = refusal(
            BearerAuth::builder(naming(&[])).allow_origin("https://ok.example.com").allow_origin(origin).build(),
        );
        assert!(message.contains(fix), "{origin}: {message}");
    }
}

#[test]
fn an_origin_the_source_names_that_could_never_get_the_token_fails_the_build() {
    for (origin, fix) in UNUSABLE {
        let message = refusal(BearerAuth::new(naming(&[origin])));
        assert!(message.starts_with("the token source's API origin: "), "{message}");
        assert!(message.contains(fix), "{origin}: {message}");
        refusal(BearerAuth::builder(naming(&[origin])).allow_any_https_origin().build());
    }
    // Replaced by a named origin, the source's are not used.
    BearerAuth::builder(naming(&["api.example.com"])).allow_origin("https://api.example.com").build().expect("valid");
}

#[test]
fn plain_http_to_loopback_builds_once_allowed() {
    let message = refusal(BearerAuth::new(naming(&["http://127.0.0.1:4011"])));
    assert!(message.contains("allow_http_loopback()"), "{message}");
    BearerAuth::builder(naming(&["http://127.0.0.1:4011"])).allow_http_loopback().build().expect("allowed");
    BearerAuth::builder(naming(&[])).allow_origin("http://[::1]:4011").allow_http_loopback().build().expect("allowed");
}

#[test]
fn a_source_that_names_no_origin_needs_an_explicit_choice() {
    for message in [
        refusal(BearerAuth::new(naming(&[]))),
        refusal(BearerAuth::builder(naming(&[])).allow_http_loopback().build()),
        refusal(BearerAuthBuilder::from_cache(reqwest_bearer::TokenCache::new(naming(&[]))).build()),
    ] {
        assert!(message.contains("names no API origin"), "{message}");
        assert!(message.contains("allow_origin(") && message.contains("allow_any_https_origin()"), "{message}");
    }
    BearerAuth::builder(naming(&[])).allow_origin("https://api.example.com").build().expect("an origin");
    BearerAuth::builder(naming(&[])).allow_any_https_origin().build().expect("any https, explicitly");
    BearerAuth::new(naming(&["https://api.example.com"])).expect("the source's own origin");
}

#[test]
fn the_generic_source_without_an_api_origin_needs_an_explicit_choice() {
    let source = || {
        reqwest_bearer::oauth2::OAuth2TokenSource::builder("https://auth.example.com/token")
            .client_id("id")
            .build()
            .expect("source")
    };
    let error = BearerAuth::new(source()).expect_err("no origin named");
    assert!(error.to_string().contains("allow_any_https_origin()"), "{error}");
    BearerAuth::builder(source()).allow_any_https_origin().build().expect("explicit");
}

#[tokio::test]
async fn plain_http_to_a_remote_host_never_carries_the_token() {
    let recorder = Recorder::default();
    let auth = BearerAuth::builder(naming(&[])).allow_any_https_origin().allow_http_loopback().build().expect("valid");
    let client = ClientBuilder::new(reqwest::Client::new()).with(auth).with(recorder.clone()).build();
    for url in
        ["https://one.example.com/x", "https://two.example.net/y", "http://api.example.com/x", "http://10.1.2.3/x"]
    {
        client.get(url).send().await.expect("recorded");
    }
    let seen = recorder.seen();
    let bearer = Some("Bearer fixed".to_owned());
    assert_eq!(seen, vec![bearer.clone(), bearer, None, None], "https anywhere; plain http to remote hosts never");
}

#[tokio::test]
async fn the_named_origins_replace_the_sources() {
    let recorder = Recorder::default();
    let auth = BearerAuth::builder(naming(&["https://source.example.com"]))
        .allow_origin("https://mine.example.com")
        .build()
        .expect("valid");
    let client = ClientBuilder::new(reqwest::Client::new()).with(auth).with(recorder.clone()).build();
    client.get("https://mine.example.com/x").send().await.expect("recorded");
    client.get("https://source.example.com/x").send().await.expect("recorded");
    assert_eq!(recorder.seen(), vec![Some("Bearer fixed".to_owned()), None]);
}

#[test]
fn user_info_in_an_origin_is_never_printed() {
    let builder = BearerAuth::builder(naming(&[])).allow_origin("https://me:hunter2@api.example.com");
    assert!(!format!("{builder:?}").contains("hunter2"), "{builder:?}");
    let message = refusal(builder.build());
    assert!(!message.contains("hunter2") && message.contains("write `https://api.example.com`"), "{message}");
}
