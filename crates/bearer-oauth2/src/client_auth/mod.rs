//! Client authentication by assertion (RFC 7523 §2.2): `private_key_jwt` and
//! `client_secret_jwt` signed here (feature `jwt-auth`), or a federated assertion read from
//! an [`ExternalToken`] (a Kubernetes or GitHub Actions token, as Azure workload identity
//! uses). One signature per token fetch, never per API request.

#[cfg(feature = "jwt-auth")]
mod algorithm;
#[cfg(feature = "mtls")]
mod mtls;
#[cfg(feature = "jwt-auth")]
mod private_jwk;
#[cfg(feature = "jwt-auth")]
mod signing_key;

#[cfg(feature = "jwt-auth")]
pub use algorithm::SigningAlgorithm;
use bearer_core::{ClientSecret, Error};
#[cfg(feature = "mtls")]
pub use mtls::mtls_client;
#[cfg(feature = "jwt-auth")]
pub use signing_key::{SigningKey, ASSERTION_LIFETIME};
use zeroize::Zeroizing;

use crate::{ClientAuth, ExternalToken, OAuth2TokenSource, OAuth2TokenSourceBuilder};

/// `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The `aud` of a signed client assertion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AssertionAudience {
    /// The token endpoint's URL (RFC 7523 §3: the safe default every server accepts).
    #[default]
    TokenEndpoint,
    /// The issuer identifier from discovery (RFC 7523bis; some servers ask for it).
    Issuer,
    /// Any other value.
    Other(String),
}

/// What a builder was told about client assertions.
#[derive(Debug, Default)]
pub(crate) struct ClientAssertionConfig {
    #[cfg(feature = "jwt-auth")]
    key: Option<SigningKey>,
    external: Option<ExternalToken>,
    audience: AssertionAudience,
}

/// How a built source makes its client assertion.
#[derive(Debug)]
pub(crate) enum ClientAssertion {
    /// Signed here at each fetch.
    #[cfg(feature = "jwt-auth")]
    Signed { key: SigningKey, audience: AssertionAudience },
    /// Read from elsewhere at each fetch.
    External(ExternalToken),
}

impl OAuth2TokenSourceBuilder {
    /// The private key for `private_key_jwt` (with `.client_auth(ClientAuth::PrivateKeyJwt)`).
    #[cfg(feature = "jwt-auth")]
    pub fn signing_key(mut self, key: SigningKey) -> Self {
        self.assertion.key = Some(key);
        self
    }

    /// A client assertion made elsewhere (a federated credential: a Kubernetes or GitHub
    /// Actions token the server trusts), sent as `private_key_jwt`.
    pub fn client_assertion(mut self, assertion: ExternalToken) -> Self {
        self.assertion.external = Some(assertion);
        self
    }

    /// The `aud` of signed client assertions (default: the token endpoint).
    pub fn assertion_audience(mut self, audience: AssertionAudience) -> Self {
        self.assertion.audience = audience;
        self
    }
}

impl ClientAssertionConfig {
    /// Checks the assertion settings against the chosen method.
    pub(crate) fn build(
        self,
        auth: ClientAuth,
        client_id: &str,
        secret: Option<&ClientSecret>,
        discovers: bool,
        has_http_client: bool,
    ) -> Result<Option<ClientAssertion>, Error> {
        if matches!(auth, ClientAuth::TlsClientAuth | ClientAuth::SelfSignedTlsClientAuth) && !has_http_client {
            return Err(Error::Config(
                format!("{} needs an http_client that presents the client certificate (mtls_client)", auth.name())
                    .into(),
            ));
        }
        if client_id.is_empty() && auth != ClientAuth::ClientSecretPost {
            return Err(Error::Config(format!("{} needs a client id", auth.name()).into()));
        }
        if self.audience == AssertionAudience::Issuer && !discovers {
            return Err(Error::Config(
                "AssertionAudience::Issuer needs discovery (OAuth2TokenSource::discover); name it with Other".into(),
            ));
        }
        #[cfg(feature = "jwt-auth")]
        let has_key = self.key.is_some();
        #[cfg(not(feature = "jwt-auth"))]
        let has_key = false;
        match auth {
            ClientAuth::ClientSecretJwt => {
                if has_key || self.external.is_some() {
                    return Err(Error::Config(
                        "client_secret_jwt signs with the client secret; give no other key".into(),
                    ));
                }
                let Some(_secret) = secret else {
                    return Err(Error::Config("client_secret_jwt needs a client secret".into()));
                };
                #[cfg(feature = "jwt-auth")]
                return Ok(Some(ClientAssertion::Signed {
                    key: SigningKey::hmac(_secret.secret().as_bytes())?,
                    audience: self.audience,
                }));
                #[cfg(not(feature = "jwt-auth"))]
                return Err(Error::Config("client_secret_jwt needs the `jwt-auth` feature".into()));
            }
            ClientAuth::PrivateKeyJwt => match (self.external, has_key) {
                (Some(_), true) => Err(Error::Config("give a signing key or an external assertion, not both".into())),
                (Some(external), false) => Ok(Some(ClientAssertion::External(external))),
                #[cfg(feature = "jwt-auth")]
                (None, true) => Ok(self.key.map(|key| ClientAssertion::Signed { key, audience: self.audience })),
                _ => Err(Error::Config(
                    "private_key_jwt needs a signing key (feature `jwt-auth`) or an external client assertion".into(),
                )),
            },
            _ if has_key || self.external.is_some() => Err(Error::Config(
                "a client assertion was configured but the client authentication method does not use one".into(),
            )),
            _ => Ok(None),
        }
    }
}

impl OAuth2TokenSource {
    /// The client assertion for one request to `token_url`, if the method uses one.
    pub(crate) async fn client_assertion(&self, token_url: &reqwest::Url) -> Result<Option<Zeroizing<String>>, Error> {
        let _ = token_url;
        match &self.client_assertion {
            None => Ok(None),
            Some(ClientAssertion::External(external)) => external.read().await.map(Some),
            #[cfg(feature = "jwt-auth")]
            Some(ClientAssertion::Signed { key, audience }) => {
                let issuer;
                let audience = match audience {
                    AssertionAudience::TokenEndpoint => token_url.as_str(),
                    AssertionAudience::Other(other) => other.as_str(),
                    AssertionAudience::Issuer => {
                        issuer = self.discovered_issuer().await?;
                        issuer.as_str()
                    }
                };
                let claims = signing_key::AssertionClaims::new(&self.client_id, audience)?;
                key.sign_claims(&claims).map(|jws| Some(Zeroizing::new(jws)))
            }
        }
    }
}

/// The request parameters that carry `assertion`.
pub(crate) fn assertion_fields(assertion: &str) -> [(&'static str, &str); 2] {
    [("client_assertion_type", CLIENT_ASSERTION_TYPE), ("client_assertion", assertion)]
}

impl ClientAuth {
    /// The method's name in RFC 8414 `token_endpoint_auth_methods_supported`.
    pub fn name(self) -> &'static str {
        match self {
            ClientAuth::ClientSecretBasic => "client_secret_basic",
            ClientAuth::ClientSecretPost => "client_secret_post",
            ClientAuth::ClientSecretJwt => "client_secret_jwt",
            ClientAuth::PrivateKeyJwt => "private_key_jwt",
            ClientAuth::TlsClientAuth => "tls_client_auth",
            ClientAuth::SelfSignedTlsClientAuth => "self_signed_tls_client_auth",
            ClientAuth::None => "none",
        }
    }
}
