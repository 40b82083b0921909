//! The Zuora token source.

use std::time::Duration;

use bearer_core::{ClientSecret, Error, Token, TokenSource};
use bearer_oauth2::{ClientAuth, Encoding, OAuth2TokenSource};

use crate::ZuoraEnvironment;

/// A [`TokenSource`] for Zuora's OAuth endpoint.
#[derive(Debug)]
pub struct ZuoraTokenSource {
    inner: OAuth2TokenSource,
    api_origin: String,
}

/// Builds a [`ZuoraTokenSource`]; see [`ZuoraTokenSource::builder`].
#[derive(Debug)]
pub struct ZuoraTokenSourceBuilder {
    environment: ZuoraEnvironment,
    client_id: String,
    client_secret: Option<ClientSecret>,
    track_id: Option<String>,
    zuora_version: Option<String>,
    org_ids: Vec<String>,
    timeout: Option<Duration>,
    http: Option<reqwest::Client>,
}

impl ZuoraTokenSource {
    /// Starts a builder for a tenant in `environment`.
    pub fn builder(environment: ZuoraEnvironment) -> ZuoraTokenSourceBuilder {
        ZuoraTokenSourceBuilder {
            environment,
            client_id: String::new(),
            client_secret: None,
            track_id: None,
            zuora_version: None,
            org_ids: Vec::new(),
            timeout: None,
            http: None,
        }
    }

    /// A source configured from the environment:
    ///
    /// | variable | meaning |
    /// |---|---|
    /// | `ZUORA_CLIENT_ID` | OAuth client id (required) |
    /// | `ZUORA_CLIENT_SECRET` | OAuth client secret (required) |
    /// | `ZUORA_ENVIRONMENT` | `us-production`, `eu-api-sandbox`, … or a base URL (default `us-production`) |
    /// | `ZUORA_TRACK_ID` | optional `Zuora-Track-Id` |
    /// | `ZUORA_VERSION` | optional `Zuora-Version` |
    /// | `ZUORA_ORG_IDS` | optional comma-separated `Zuora-Org-Ids` |
    pub fn from_env() -> Result<Self, Error> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let required = |name: &str| var(name).ok_or_else(|| Error::Config(format!("{name} is not set")));
        let environment = match var("ZUORA_ENVIRONMENT") {
            Some(name) => ZuoraEnvironment::from_name(&name)?,
            None => ZuoraEnvironment::UsProduction,
        };
        let mut builder = Self::builder(environment)
            .client_id(required("ZUORA_CLIENT_ID")?)
            .client_secret(required("ZUORA_CLIENT_SECRET")?);
        if let Some(track) = var("ZUORA_TRACK_ID") {
            builder = builder.track_id(track);
        }
        if let Some(version) = var("ZUORA_VERSION") {
            builder = builder.zuora_version(version);
        }
        if let Some(orgs) = var("ZUORA_ORG_IDS") {
            builder = builder.org_ids(orgs.split(',').map(str::trim).filter(|o| !o.is_empty()));
        }
        builder.build()
    }

    /// The REST origin the tokens are for.
    pub fn api_origin(&self) -> &str {
        &self.api_origin
    }
}

#[async_trait::async_trait]
impl TokenSource for ZuoraTokenSource {
    async fn fetch(&self) -> Result<Token, Error> {
        self.inner.fetch().await
    }

    fn api_origins(&self) -> Vec<String> {
        vec![self.api_origin.clone()]
    }
}

/// `Zuora-Track-Id`: at most 64 US-ASCII characters, none of `:` `;` `"` `'`.
fn check_track_id(id: &str) -> Result<(), Error> {
    if id.len() > 64 {
        return Err(Error::Config("Zuora-Track-Id is longer than 64 characters".into()));
    }
    if let Some(bad) = id.chars().find(|c| !c.is_ascii() || c.is_ascii_control() || matches!(c, ':' | ';' | '"' | '\''))
    {
        return Err(Error::Config(format!("Zuora-Track-Id may not contain {bad:?}")));
    }
    Ok(())
}

impl ZuoraTokenSourceBuilder {
    /// The OAuth client id.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = id.into();
        self
    }

    /// The OAuth client secret.
    pub fn client_secret(mut self, secret: impl Into<ClientSecret>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// A `Zuora-Track-Id` to send (and find again in Zuora's logs); checked by `build`.
    pub fn track_id(mut self, id: impl Into<String>) -> Self {
        self.track_id = Some(id.into());
        self
    }

    /// The `Zuora-Version` (API minor version) header, e.g. `2024-05-20`.
    pub fn zuora_version(mut self, version: impl Into<String>) -> Self {
        self.zuora_version = Some(version.into());
        self
    }

    /// The `Zuora-Org-Ids` header (Multi-Org tenants).
    pub fn org_ids<I: IntoIterator<Item = S>, S: Into<String>>(mut self, ids: I) -> Self {
        self.org_ids = ids.into_iter().map(Into::into).collect();
        self
    }

    /// The timeout of a token request (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The HTTP client for token requests.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Checks the configuration (client id and secret present, track id valid) and builds
    /// the source. Does no I/O.
    pub fn build(self) -> Result<ZuoraTokenSource, Error> {
        if self.client_id.is_empty() || self.client_secret.is_none() {
            return Err(Error::Config("Zuora needs a client id and a client secret".into()));
        }
        let base = self.environment.base_url().to_owned();
        let mut inner = OAuth2TokenSource::builder(format!("{base}/oauth/token"))
            .client_id(self.client_id)
            .client_auth(ClientAuth::RequestBody)
            .encoding(Encoding::Form);
        if let Some(secret) = self.client_secret {
            inner = inner.client_secret(secret);
        }
        if let Some(track) = self.track_id {
            check_track_id(&track)?;
            inner = inner.header("Zuora-Track-Id", track);
        }
        if let Some(version) = self.zuora_version {
            inner = inner.header("Zuora-Version", version);
        }
        if !self.org_ids.is_empty() {
            inner = inner.header("Zuora-Org-Ids", self.org_ids.join(","));
        }
        if let Some(timeout) = self.timeout {
            inner = inner.timeout(timeout);
        }
        if let Some(http) = self.http {
            inner = inner.http_client(http);
        }
        let inner = inner.build()?;
        let api_origin = inner.token_url().origin().ascii_serialization();
        Ok(ZuoraTokenSource { inner, api_origin })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_id_rules() {
        assert!(check_track_id("job-42_A.b").is_ok());
        assert!(check_track_id(&"a".repeat(64)).is_ok());
        assert!(check_track_id(&"a".repeat(65)).is_err());
        for bad in ["a:b", "a;b", "a\"b", "a'b", "caf\u{e9}", "a\nb"] {
            assert!(matches!(check_track_id(bad), Err(Error::Config(_))), "{bad:?}");
        }
    }

    #[test]
    fn builder_needs_credentials() {
        assert!(ZuoraTokenSource::builder(ZuoraEnvironment::UsProduction).client_id("id").build().is_err());
        let bad_track = ZuoraTokenSource::builder(ZuoraEnvironment::UsProduction)
            .client_id("id")
            .client_secret("s")
            .track_id("no:colons")
            .build();
        assert!(matches!(bad_track, Err(Error::Config(_))));
    }
}
