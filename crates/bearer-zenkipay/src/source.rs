//! The Zenkipay token source.

use bearer_core::Error;
use bearer_oauth2::provider_kit::{self, EnvLookup};
use bearer_oauth2::{ClientAuth, Encoding, FieldNames, OAuth2TokenSource, OAuth2TokenSourceBuilder};
use http::StatusCode;

/// Zenkipay's API host, which also serves the token endpoint.
pub const DEFAULT_BASE_URL: &str = "https://api.zenki.fi";

/// A [`TokenSource`](bearer_core::TokenSource) for Zenkipay. Its API answers a missing,
/// expired or revoked token with 403 "Access denied.", so this source reports 403 (and 401)
/// as "token rejected". Zenkipay documents no refresh grant, so a `refreshToken` in its answer is
/// ignored: every renewal is the same client_credentials call.
#[derive(Debug)]
pub struct ZenkipayTokenSource {
    inner: OAuth2TokenSource,
}

provider_kit::delegate_token_source!(ZenkipayTokenSource);

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
                .ignore_refresh_tokens()
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
    /// | `ZENKIPAY_ALLOW_HTTP_LOOPBACK` | `true` to accept an `http://127.0.0.1…` base URL (local simulator) |
    pub fn from_env() -> Result<Self, Error> {
        Self::from_env_with(provider_kit::process_env)
    }

    /// [`from_env`](Self::from_env), reading the variables through `lookup` instead of the
    /// process environment.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let env = EnvLookup::new(&lookup);
        let mut builder = Self::builder()
            .client_id(env.required("ZENKIPAY_CLIENT_ID")?)
            .client_secret(env.required("ZENKIPAY_CLIENT_SECRET")?);
        if let Some(base) = env.optional("ZENKIPAY_BASE_URL") {
            builder = builder.base_url(base);
        }
        if env.flag("ZENKIPAY_ALLOW_HTTP_LOOPBACK")? {
            builder = builder.allow_http_loopback();
        }
        builder.build()
    }
}

impl ZenkipayTokenSourceBuilder {
    provider_kit::client_setters!();

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
