//! The Zenkipay token source.

use bearer_core::Error;
use bearer_oauth2::{
    env_optional, env_required, ClientAuth, Encoding, FieldNames, OAuth2TokenSource, OAuth2TokenSourceBuilder,
};
use http::StatusCode;

/// Zenkipay's API host, which also serves the token endpoint.
pub const DEFAULT_BASE_URL: &str = "https://api.zenki.fi";

/// A [`TokenSource`](bearer_core::TokenSource) for Zenkipay. Its API answers a missing,
/// expired or revoked token with 403 "Access denied.", so this source reports 403 (and 401)
/// as "token rejected".
#[derive(Debug)]
pub struct ZenkipayTokenSource {
    inner: OAuth2TokenSource,
}

bearer_oauth2::delegate_token_source!(ZenkipayTokenSource);

/// Builds a [`ZenkipayTokenSource`]; see [`ZenkipayTokenSource::builder`].
#[derive(Debug)]
pub struct ZenkipayTokenSourceBuilder {
    base_url: String,
    inner: OAuth2TokenSourceBuilder,
}

impl ZenkipayTokenSource {
    /// Starts a builder for `https://api.zenki.fi`.
    pub fn builder() -> ZenkipayTokenSourceBuilder {
        ZenkipayTokenSourceBuilder {
            base_url: DEFAULT_BASE_URL.to_owned(),
            // The URL is set by `build`, once the base is known.
            inner: OAuth2TokenSource::builder("")
                .client_auth(ClientAuth::ClientSecretPost)
                .encoding(Encoding::Json)
                .field_names(FieldNames::CamelCase)
                .token_rejected_on(StatusCode::FORBIDDEN),
        }
    }

    /// A source configured from the environment:
    ///
    /// | variable | meaning |
    /// |---|---|
    /// | `ZENKIPAY_CLIENT_ID` | client id (required) |
    /// | `ZENKIPAY_CLIENT_SECRET` | client secret (required) |
    /// | `ZENKIPAY_BASE_URL` | another host (default `https://api.zenki.fi`) |
    pub fn from_env() -> Result<Self, Error> {
        let mut builder = Self::builder()
            .client_id(env_required("ZENKIPAY_CLIENT_ID")?)
            .client_secret(env_required("ZENKIPAY_CLIENT_SECRET")?);
        if let Some(base) = env_optional("ZENKIPAY_BASE_URL") {
            builder = builder.base_url(base);
        }
        builder.build()
    }
}

impl ZenkipayTokenSourceBuilder {
    bearer_oauth2::client_setters!();

    /// Another base URL (tests, proxies).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Checks the configuration and builds the source. Does no I/O.
    pub fn build(self) -> Result<ZenkipayTokenSource, Error> {
        let token_url = format!("{}/v1/oauth/tokens", self.base_url.trim_end_matches('/'));
        let inner = self.inner.token_url(token_url).require_client_credentials("Zenkipay")?.api_origin_from_token_url();
        Ok(ZenkipayTokenSource { inner: inner.build()? })
    }
}
