//! Mutual-TLS client authentication (RFC 8705): the client certificate travels in the TLS
//! handshake, through reqwest's rustls identity; the token request names only `client_id`.

use std::time::Duration;

use bearer_core::Error;

/// A token-endpoint client like [`default_client`](crate::default_client) (a timeout, no
/// redirects) that presents `identity` (certificate chain and private key, from
/// `reqwest::Identity::from_pem`) and also trusts `extra_roots` (a private CA).
/// Pass it to [`http_client`](crate::OAuth2TokenSourceBuilder::http_client) with
/// `ClientAuth::TlsClientAuth` or `ClientAuth::SelfSignedTlsClientAuth`.
pub fn mtls_client(
    identity: reqwest::Identity,
    extra_roots: impl IntoIterator<Item = reqwest::Certificate>,
    timeout: Duration,
) -> Result<reqwest::Client, Error> {
    let mut builder =
        reqwest::Client::builder().timeout(timeout).redirect(reqwest::redirect::Policy::none()).identity(identity);
    for root in extra_roots {
        builder = builder.add_root_certificate(root);
    }
    builder.build().map_err(|e| Error::Config(format!("could not build the mTLS client: {e}").into()))
}
