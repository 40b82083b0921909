//! The Zuora token source.

use bearer_core::Error;
use bearer_oauth2::provider_kit::{self, EnvLookup};
use bearer_oauth2::{ClientAuth, Encoding, OAuth2TokenSource, OAuth2TokenSourceBuilder};

use crate::ZuoraEnvironment;

/// A [`TokenSource`](bearer_core::TokenSource) for Zuora's OAuth endpoint.
#[derive(Debug)]
pub struct ZuoraTokenSource {
    inner: OAuth2TokenSource,
}

provider_kit::delegate_token_source!(ZuoraTokenSource);

/// Builds a [`ZuoraTokenSource`]; see [`ZuoraTokenSource::builder`].
#[derive(Debug)]
pub struct ZuoraTokenSourceBuilder {
    inner: OAuth2TokenSourceBuilder,
    track_id: Option<String>,
    zuora_version: Option<String>,
    org_ids: Vec<String>,
    entity_ids: Vec<String>,
}

impl ZuoraTokenSource {
    /// Starts a builder for a tenant in `environment`.
    pub fn builder(environment: ZuoraEnvironment) -> ZuoraTokenSourceBuilder {
        let token_url = format!("{}/oauth/token", environment.base_url());
        ZuoraTokenSourceBuilder {
            inner: OAuth2TokenSource::builder(token_url)
                .client_auth(ClientAuth::ClientSecretPost)
                .encoding(Encoding::Form),
            track_id: None,
            zuora_version: None,
            org_ids: Vec::new(),
            entity_ids: Vec::new(),
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
    /// | `ZUORA_ENTITY_IDS` | optional comma-separated `Zuora-Entity-Ids` (older tenants) |
    /// | `ZUORA_ALLOW_HTTP_LOOPBACK` | `true` to accept an `http://127.0.0.1…` base URL (local simulator) |
    pub fn from_env() -> Result<Self, Error> {
        Self::from_env_with(provider_kit::process_env)
    }

    /// [`from_env`](Self::from_env), reading the variables through `lookup` instead of the
    /// process environment.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let env = EnvLookup::new(&lookup);
        let environment = match env.optional("ZUORA_ENVIRONMENT") {
            Some(name) => ZuoraEnvironment::from_name(&name)?,
            None => ZuoraEnvironment::UsProduction,
        };
        let mut builder = Self::builder(environment)
            .client_id(env.required("ZUORA_CLIENT_ID")?)
            .client_secret(env.required("ZUORA_CLIENT_SECRET")?);
        builder.track_id = env.optional("ZUORA_TRACK_ID");
        builder.zuora_version = env.optional("ZUORA_VERSION");
        let list =
            |value: String| value.split(',').map(str::trim).filter(|o| !o.is_empty()).map(str::to_owned).collect();
        builder.org_ids = env.optional("ZUORA_ORG_IDS").map(list).unwrap_or_default();
        builder.entity_ids = env.optional("ZUORA_ENTITY_IDS").map(list).unwrap_or_default();
        if env.flag("ZUORA_ALLOW_HTTP_LOOPBACK")? {
            builder = builder.allow_http_loopback();
        }
        builder.build()
    }
}

/// `Zuora-Track-Id`: at most 64 US-ASCII characters, none of `:` `;` `"` `'`.
fn check_track_id(id: &str) -> Result<(), Error> {
    if id.len() > 64 {
        return Err(Error::Config("Zuora-Track-Id is longer than 64 characters".into()));
    }
    if let Some(bad) = id.chars().find(|c| !c.is_ascii() || c.is_ascii_control() || matches!(c, ':' | ';' | '"' | '\''))
    {
        return Err(Error::Config(format!("Zuora-Track-Id may not contain {bad:?}").into()));
    }
    Ok(())
}

impl ZuoraTokenSourceBuilder {
    provider_kit::client_setters!();

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

    /// The `Zuora-Entity-Ids` header: the older name of `Zuora-Org-Ids`, which tenants on
    /// the Multi-Entity feature still use.
    pub fn entity_ids<I: IntoIterator<Item = S>, S: Into<String>>(mut self, ids: I) -> Self {
        self.entity_ids = ids.into_iter().map(Into::into).collect();
        self
    }

    /// Checks the configuration (client id and secret present, track id valid) and builds
    /// the source. Does no I/O.
    pub fn build(self) -> Result<ZuoraTokenSource, Error> {
        let mut inner = self.inner.require_client_credentials("Zuora")?.api_origin_from_token_url();
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
        if !self.entity_ids.is_empty() {
            inner = inner.header("Zuora-Entity-Ids", self.entity_ids.join(","));
        }
        Ok(ZuoraTokenSource { inner: inner.build()? })
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
