//! `tls_client_auth` and `self_signed_tls_client_auth` (RFC 8705) against the verifying
//! simulator on a TLS listener, with a CA made in the test.

use std::time::Duration;

use bearer_core::{Error, TokenSource};
use bearer_oauth2::{mtls_client, ClientAuth, OAuth2TokenSource};
use bearer_testkit::{
    oauth_error_of, self_signed_client_certificate, AuthorizationServer, ClientCertificate, ClientRegistration, TestCa,
};

fn client(ca: &TestCa, certificate: Option<&ClientCertificate>) -> reqwest::Client {
    let root = reqwest::Certificate::from_pem(ca.cert_pem().as_bytes()).expect("CA");
    match certificate {
        Some(certificate) => {
            let identity = reqwest::Identity::from_pem(certificate.identity_pem.as_bytes()).expect("identity");
            mtls_client(identity, [root], Duration::from_secs(10)).expect("client")
        }
        None => reqwest::Client::builder().add_root_certificate(root).build().expect("client"),
    }
}

fn source(server: &AuthorizationServer, id: &str, auth: ClientAuth, http: reqwest::Client) -> OAuth2TokenSource {
    OAuth2TokenSource::builder(server.token_url())
        .client_id(id)
        .client_auth(auth)
        .http_client(http)
        .build()
        .expect("source")
}

struct Fixture {
    ca: TestCa,
    server: AuthorizationServer,
    registered_self_signed: ClientCertificate,
    other_self_signed: ClientCertificate,
}

async fn fixture() -> Fixture {
    let ca = TestCa::new();
    let registered_self_signed = self_signed_client_certificate("device-1");
    let other_self_signed = self_signed_client_certificate("device-1");
    let tls = ca.server_tls().trust_self_signed(&registered_self_signed).trust_self_signed(&other_self_signed);
    let server = AuthorizationServer::builder()
        .client("svc-a", ClientRegistration::TlsCertificate { common_name: "svc-a".into() })
        .client("device-1", ClientRegistration::SelfSignedCertificate(registered_self_signed.cert_der.clone()))
        .tls(tls)
        .start()
        .await;
    Fixture { ca, server, registered_self_signed, other_self_signed }
}

#[tokio::test]
async fn tls_client_auth_with_a_ca_issued_certificate() {
    let f = fixture().await;
    assert!(f.server.token_url().starts_with("https://"));
    let certificate = f.ca.client_certificate("svc-a");
    let token = source(&f.server, "svc-a", ClientAuth::TlsClientAuth, client(&f.ca, Some(&certificate)))
        .fetch()
        .await
        .expect("token");
    assert!(f.server.issued_tokens().contains(&token.secret().secret().to_owned()));
    let request = &f.server.captured()[0];
    assert!(request.header("authorization").is_none());
    assert_eq!(request.fields().get("client_id").map(String::as_str), Some("svc-a"));
    assert!(!request.fields().contains_key("client_secret"));
}

#[tokio::test]
async fn tls_client_auth_without_a_certificate_is_invalid_client() {
    let f = fixture().await;
    let error = source(&f.server, "svc-a", ClientAuth::TlsClientAuth, client(&f.ca, None))
        .fetch()
        .await
        .expect_err("no certificate");
    assert_eq!(
        oauth_error_of(&error),
        (Some("invalid_client"), Some("this client must present its TLS client certificate"))
    );
}

#[tokio::test]
async fn tls_client_auth_with_another_subject_is_invalid_client() {
    let f = fixture().await;
    let certificate = f.ca.client_certificate("svc-b");
    let error = source(&f.server, "svc-a", ClientAuth::TlsClientAuth, client(&f.ca, Some(&certificate)))
        .fetch()
        .await
        .expect_err("wrong subject");
    assert_eq!(
        oauth_error_of(&error),
        (Some("invalid_client"), Some("the client certificate's subject is not the registered one"))
    );
}

#[tokio::test]
async fn a_certificate_from_an_untrusted_ca_fails_the_handshake() {
    let f = fixture().await;
    let rogue = TestCa::new().client_certificate("svc-a");
    let error = source(&f.server, "svc-a", ClientAuth::TlsClientAuth, client(&f.ca, Some(&rogue)))
        .fetch()
        .await
        .expect_err("untrusted certificate");
    assert!(matches!(error, Error::Transport(_)), "{error}");
    assert_eq!(f.server.counters().token_requests, 0);
}

#[tokio::test]
async fn self_signed_tls_client_auth_with_the_registered_certificate() {
    let f = fixture().await;
    source(&f.server, "device-1", ClientAuth::SelfSignedTlsClientAuth, client(&f.ca, Some(&f.registered_self_signed)))
        .fetch()
        .await
        .expect("token");
}

#[tokio::test]
async fn self_signed_tls_client_auth_with_another_certificate_is_invalid_client() {
    let f = fixture().await;
    let error =
        source(&f.server, "device-1", ClientAuth::SelfSignedTlsClientAuth, client(&f.ca, Some(&f.other_self_signed)))
            .fetch()
            .await
            .expect_err("not the registered certificate");
    assert_eq!(
        oauth_error_of(&error),
        (Some("invalid_client"), Some("the client certificate is not the registered one"))
    );
}

#[test]
fn mtls_methods_need_a_client_that_presents_the_certificate() {
    for auth in [ClientAuth::TlsClientAuth, ClientAuth::SelfSignedTlsClientAuth] {
        let built =
            OAuth2TokenSource::builder("https://auth.example.com/token").client_id("svc").client_auth(auth).build();
        assert!(matches!(built, Err(Error::Config(_))), "{auth:?}");
    }
}

#[test]
fn client_certificates_never_show_in_debug() {
    let certificate = self_signed_client_certificate("x");
    assert!(!format!("{certificate:?}").contains("PRIVATE KEY"));
}

/// RFC 8705 §2.1: `tls_client_auth` is PKI. A self-signed certificate the TLS layer accepts
/// (it is registered for another, self-signed client) does not make its subject a PKI client.
#[tokio::test]
async fn a_self_signed_certificate_with_the_subject_of_a_pki_client_is_invalid_client() {
    let ca = TestCa::new();
    let impostor = self_signed_client_certificate("svc-a");
    let server = AuthorizationServer::builder()
        .client("svc-a", ClientRegistration::TlsCertificate { common_name: "svc-a".into() })
        .client("device-9", ClientRegistration::SelfSignedCertificate(impostor.cert_der.clone()))
        .tls(ca.server_tls().trust_self_signed(&impostor))
        .start()
        .await;
    let error = source(&server, "svc-a", ClientAuth::TlsClientAuth, client(&ca, Some(&impostor)))
        .fetch()
        .await
        .expect_err("a self-signed certificate is not a CA-issued one");
    assert_eq!(oauth_error_of(&error).0, Some("invalid_client"));
    assert_eq!(server.issued_tokens().len(), 0);
}
