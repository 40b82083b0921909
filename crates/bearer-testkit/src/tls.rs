//! TLS for the verifying authorization server: a test CA made in the test (rcgen), a server
//! certificate for `127.0.0.1`, client certificates (CA-issued or self-signed), and a
//! listener that hands each request the client certificate the handshake verified.

use std::sync::Arc;

use axum::{Extension, Router};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::authz::PeerCertificate;

/// A certificate authority made for one test run.
pub struct TestCa {
    cert_pem: String,
    cert_der: Vec<u8>,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestCa")
    }
}

/// A client's certificate and key, as one PEM for `reqwest::Identity::from_pem`.
#[derive(Clone)]
pub struct ClientCertificate {
    /// Certificate then PKCS#8 key, PEM.
    pub identity_pem: String,
    /// The certificate, DER (what a server registers for `self_signed_tls_client_auth`).
    pub cert_der: Vec<u8>,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientCertificate([redacted])")
    }
}

/// The server side of TLS: its certificate and the client CAs it trusts.
#[derive(Debug)]
pub struct TlsSetup {
    chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
    client_roots: Vec<CertificateDer<'static>>,
}

fn params(common_name: &str, sans: Vec<String>) -> CertificateParams {
    let mut params = CertificateParams::new(sans).expect("certificate parameters");
    params.distinguished_name.push(DnType::CommonName, common_name);
    params
}

impl TestCa {
    /// A fresh CA (P-256).
    ///
    /// # Panics
    /// If key generation fails: the test cannot run then.
    pub fn new() -> Self {
        let key = KeyPair::generate().expect("CA key");
        let mut ca = params("reqwest-bearer test CA", Vec::new());
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = ca.self_signed(&key).expect("CA certificate");
        Self { cert_pem: cert.pem(), cert_der: cert.der().to_vec(), issuer: Issuer::new(ca, key) }
    }

    /// The CA certificate, PEM: what a client adds as a root to trust the server.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// A client certificate with subject CN `common_name`, issued by this CA.
    pub fn client_certificate(&self, common_name: &str) -> ClientCertificate {
        let key = KeyPair::generate().expect("client key");
        let mut p = params(common_name, Vec::new());
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = p.signed_by(&key, &self.issuer).expect("client certificate");
        ClientCertificate {
            identity_pem: format!("{}{}", cert.pem(), key.serialize_pem()),
            cert_der: cert.der().to_vec(),
        }
    }

    /// The server's TLS: a certificate for `127.0.0.1` from this CA; client certificates
    /// from this CA are accepted, and connections without one too (the token endpoint then
    /// answers `invalid_client` itself, as RFC 8705 servers do).
    pub fn server_tls(&self) -> TlsSetup {
        let key = KeyPair::generate().expect("server key");
        let cert =
            params("127.0.0.1", vec!["127.0.0.1".into()]).signed_by(&key, &self.issuer).expect("server certificate");
        TlsSetup {
            chain: vec![cert.der().clone()],
            key: key.serialize_der(),
            client_roots: vec![CertificateDer::from(self.cert_der.clone())],
        }
    }
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

/// A self-signed client certificate with subject CN `common_name`.
pub fn self_signed_client_certificate(common_name: &str) -> ClientCertificate {
    let key = KeyPair::generate().expect("client key");
    let mut p = params(common_name, Vec::new());
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = p.self_signed(&key).expect("self-signed certificate");
    ClientCertificate { identity_pem: format!("{}{}", cert.pem(), key.serialize_pem()), cert_der: cert.der().to_vec() }
}

impl TlsSetup {
    /// Also accepts this self-signed client certificate at the TLS layer (the token
    /// endpoint then checks it is the registered one).
    pub fn trust_self_signed(mut self, certificate: &ClientCertificate) -> Self {
        self.client_roots.push(CertificateDer::from(certificate.cert_der.clone()));
        self
    }

    fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for root in &self.client_roots {
            roots.add(root.clone()).expect("a client root");
        }
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                .allow_unauthenticated()
                .build()
                .expect("client verifier");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()));
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.chain.clone(), key)
            .expect("server certificate");
        Arc::new(config)
    }
}

/// Serves `app` over TLS; each request carries the connection's verified client
/// certificate as a [`PeerCertificate`] extension.
pub(crate) async fn serve(listener: tokio::net::TcpListener, tls: TlsSetup, app: Router) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.server_config());
    while let Ok((stream, _)) = listener.accept().await {
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(stream).await else { return };
            let peer = stream.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| c.to_vec());
            let service = TowerToHyperService::new(app.layer(Extension(PeerCertificate(peer))));
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

const CN_OID: [u8; 5] = [0x06, 0x03, 0x55, 0x04, 0x03];

/// The subject common name of a certificate: the last CN attribute in the DER (the
/// subject follows the issuer in a TBSCertificate). Enough for certificates made here.
pub(crate) fn certificate_common_name(der: &[u8]) -> Option<String> {
    common_name_at(der, der.windows(CN_OID.len()).rposition(|w| w == CN_OID)?)
}

/// Whether the certificate names itself as issuer (self-signed): its first CN attribute
/// (the issuer's) is its last (the subject's). Enough for certificates made here.
pub(crate) fn is_self_issued(der: &[u8]) -> bool {
    let issuer = der.windows(CN_OID.len()).position(|w| w == CN_OID).and_then(|at| common_name_at(der, at));
    issuer.is_none() || issuer == certificate_common_name(der)
}

fn common_name_at(der: &[u8], oid_at: usize) -> Option<String> {
    let at = oid_at + CN_OID.len();
    let (len, value) = (*der.get(at + 1)? as usize, der.get(at + 2..)?);
    String::from_utf8(value.get(..len)?.to_vec()).ok()
}
