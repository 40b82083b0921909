//! Authorization-server discovery (RFC 8414, OpenID Connect Discovery 1.0): the token
//! endpoint, the revocation endpoint and the accepted client-authentication methods, read
//! from the issuer on the first fetch (construction does no I/O) and kept.

use std::sync::Arc;

use bearer_core::Error;
use http::header::ACCEPT;
use serde::Deserialize;
use tokio::sync::OnceCell;

use crate::builder::check_endpoint;
use crate::error_body::rejection_from_response;
use crate::exchange::{read_capped_body, transport_error, MAX_BODY_BYTES};
use crate::{OAuth2TokenSource, OAuth2TokenSourceBuilder};

/// What an authorization server says about itself (the members this crate uses).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerMetadata {
    /// `issuer`: equal to the URL discovery started from.
    pub issuer: String,
    /// `token_endpoint`.
    pub token_endpoint: reqwest::Url,
    /// `revocation_endpoint` (RFC 7009), when the server has one.
    pub revocation_endpoint: Option<reqwest::Url>,
    /// `token_endpoint_auth_methods_supported`; RFC 8414's default when absent is
    /// `client_secret_basic` alone.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// `grant_types_supported`, when listed.
    pub grant_types_supported: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RawMetadata {
    issuer: String,
    token_endpoint: String,
    revocation_endpoint: Option<String>,
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    grant_types_supported: Option<Vec<String>>,
}

/// The issuer a source discovers, and what it found.
#[derive(Debug)]
pub(crate) struct Discovery {
    issuer: reqwest::Url,
    allow_http_loopback: bool,
    metadata: OnceCell<Arc<ServerMetadata>>,
}

impl Discovery {
    /// The issuer must be https (or loopback http when allowed), like every endpoint it names.
    pub(crate) fn new(issuer: &str, allow_http_loopback: bool) -> Result<Self, Error> {
        let issuer = check_endpoint(issuer, "issuer URL", allow_http_loopback)?;
        Ok(Self { issuer, allow_http_loopback, metadata: OnceCell::new() })
    }

    /// RFC 8414 §3.1 inserts the well-known segment before the issuer's path; OpenID
    /// Discovery appends it. Tried in that order.
    fn candidate_urls(&self) -> Vec<reqwest::Url> {
        let path = self.issuer.path().trim_end_matches('/');
        let mut urls = Vec::with_capacity(2);
        for well_known in [
            format!("/.well-known/oauth-authorization-server{path}"),
            format!("{path}/.well-known/openid-configuration"),
        ] {
            let mut url = self.issuer.clone();
            url.set_path(&well_known);
            url.set_query(None);
            urls.push(url);
        }
        urls
    }
}

impl OAuth2TokenSource {
    /// Starts a builder whose token endpoint (and revocation endpoint) come from the
    /// issuer's metadata, fetched on the first token request and cached.
    ///
    /// ```
    /// use bearer_oauth2::{ClientAuth, OAuth2TokenSource};
    ///
    /// let source = OAuth2TokenSource::discover("https://login.example.com/tenant-1")
    ///     .client_id("my-client")
    ///     .client_secret("my-secret")
    ///     .client_auth(ClientAuth::ClientSecretPost)
    ///     .build()?;
    /// # Ok::<(), bearer_core::Error>(())
    /// ```
    pub fn discover(issuer: impl Into<String>) -> OAuth2TokenSourceBuilder {
        let issuer = issuer.into();
        let mut builder = OAuth2TokenSourceBuilder::new(issuer.clone());
        builder.issuer = Some(issuer);
        builder
    }

    /// The discovered metadata (fetched now if not yet), or `None` for a source built with
    /// a token URL.
    pub async fn server_metadata(&self) -> Result<Option<Arc<ServerMetadata>>, Error> {
        let Some(discovery) = &self.discovery else { return Ok(None) };
        let metadata = discovery.metadata.get_or_try_init(|| self.fetch_metadata(discovery)).await?;
        Ok(Some(Arc::clone(metadata)))
    }

    /// The revocation endpoint (RFC 7009) the server advertises, when discovered.
    pub async fn discovered_revocation_endpoint(&self) -> Result<Option<reqwest::Url>, Error> {
        Ok(self.server_metadata().await?.and_then(|m| m.revocation_endpoint.clone()))
    }

    /// The token endpoint to post to: the configured one, or the discovered one after
    /// checking that the server accepts this source's client-authentication method.
    pub(crate) async fn resolved_token_url(&self) -> Result<reqwest::Url, Error> {
        let Some(metadata) = self.server_metadata().await? else { return Ok(self.token_url.clone()) };
        let method = self.client_auth.name();
        if !metadata.token_endpoint_auth_methods_supported.iter().any(|m| m == method) {
            return Err(Error::Config(
                format!(
                    "the authorization server does not accept `{method}` (it advertises {:?})",
                    metadata.token_endpoint_auth_methods_supported
                )
                .into(),
            ));
        }
        Ok(metadata.token_endpoint.clone())
    }

    #[cfg_attr(not(feature = "jwt-auth"), allow(dead_code))]
    pub(crate) async fn discovered_issuer(&self) -> Result<String, Error> {
        self.server_metadata()
            .await?
            .map(|m| m.issuer.clone())
            .ok_or_else(|| Error::Config("the assertion audience is the issuer, but nothing was discovered".into()))
    }

    async fn fetch_metadata(&self, discovery: &Discovery) -> Result<Arc<ServerMetadata>, Error> {
        let mut last_error = None;
        for url in discovery.candidate_urls() {
            let response =
                self.http.get()?.get(url).header(ACCEPT, "application/json").send().await.map_err(transport_error)?;
            let (status, headers) = (response.status(), response.headers().clone());
            let body = read_capped_body(response, MAX_BODY_BYTES).await?;
            if !status.is_success() {
                last_error = Some(Error::from(rejection_from_response(status, &headers, &body, &[])));
                continue;
            }
            return parse_metadata(&body, &discovery.issuer, discovery.allow_http_loopback).map(Arc::new);
        }
        Err(last_error.unwrap_or_else(|| Error::Config("no discovery URL for the issuer".into())))
    }
}

/// Parses and checks metadata: its `issuer` must be the one asked (RFC 8414 §3.3), its
/// endpoints valid URLs.
fn parse_metadata(body: &[u8], issuer: &reqwest::Url, allow_http_loopback: bool) -> Result<ServerMetadata, Error> {
    let raw: RawMetadata = serde_json::from_slice(body)
        .map_err(|_| Error::Malformed("the authorization server metadata is not valid JSON metadata".into()))?;
    if raw.issuer.trim_end_matches('/') != issuer.as_str().trim_end_matches('/') {
        return Err(Error::Malformed(
            format!(
                "the metadata names issuer `{}`, not the one asked for",
                raw.issuer.chars().take(100).collect::<String>()
            )
            .into(),
        ));
    }
    let endpoint = |url: &str| {
        check_endpoint(url, "metadata endpoint", allow_http_loopback)
            .map_err(|e| Error::Malformed(format!("metadata: {e}").into()))
    };
    Ok(ServerMetadata {
        issuer: raw.issuer,
        token_endpoint: endpoint(&raw.token_endpoint)?,
        revocation_endpoint: raw.revocation_endpoint.as_deref().map(endpoint).transpose()?,
        token_endpoint_auth_methods_supported: raw
            .token_endpoint_auth_methods_supported
            .unwrap_or_else(|| vec!["client_secret_basic".into()]),
        grant_types_supported: raw.grant_types_supported,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_urls_follow_rfc_8414_then_openid() {
        let discovery = Discovery::new("https://login.example.com/tenant-1/", false).expect("issuer");
        let urls: Vec<String> = discovery.candidate_urls().iter().map(|u| u.to_string()).collect();
        assert_eq!(
            urls,
            [
                "https://login.example.com/.well-known/oauth-authorization-server/tenant-1",
                "https://login.example.com/tenant-1/.well-known/openid-configuration",
            ]
        );
    }

    #[test]
    fn metadata_for_another_issuer_is_refused() {
        let issuer = reqwest::Url::parse("https://a.example.com").expect("url");
        let body = br#"{"issuer":"https://evil.example.com","token_endpoint":"https://evil.example.com/token"}"#;
        assert!(matches!(parse_metadata(body, &issuer, false), Err(Error::Malformed(_))));
        let body = br#"{"issuer":"https://a.example.com","token_endpoint":"https://a.example.com/token"}"#;
        let metadata = parse_metadata(body, &issuer, false).expect("metadata");
        assert_eq!(metadata.token_endpoint_auth_methods_supported, ["client_secret_basic"], "RFC 8414 default");
    }

    #[test]
    fn plain_http_issuers_and_endpoints_are_refused_off_loopback() {
        assert!(matches!(Discovery::new("http://login.example.com", true), Err(Error::Config(_))));
        assert!(matches!(Discovery::new("http://127.0.0.1:8080", false), Err(Error::Config(_))));
        let issuer = reqwest::Url::parse("https://a.example.com").expect("url");
        for body in [
            &br#"{"issuer":"https://a.example.com","token_endpoint":"http://a.example.com/token"}"#[..],
            br#"{"issuer":"https://a.example.com","token_endpoint":"https://a.example.com/token","revocation_endpoint":"http://a.example.com/revoke"}"#,
            br#"{"issuer":"https://a.example.com","token_endpoint":"http://127.0.0.1/token"}"#,
        ] {
            assert!(matches!(parse_metadata(body, &issuer, false), Err(Error::Malformed(_))), "{body:?}");
        }
    }
}
