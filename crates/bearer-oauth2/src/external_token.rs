//! Tokens that come from outside a source, read at each of its fetches: a JWT-bearer
//! assertion, a token-exchange subject or actor token, a federated client assertion.

use std::path::PathBuf;
use std::sync::Arc;

use bearer_core::{AccessToken, Error, Token, TokenSource};
use zeroize::Zeroizing;

use crate::workload::{FileTokenSource, GitHubActionsOidc};

/// A token obtained elsewhere (a file, a closure, another [`TokenSource`]), read afresh at
/// every fetch of the source that uses it, so a rotated file or a renewed upstream token is
/// picked up. Fetches happen once per token lifetime, never per API request.
///
/// ```
/// use bearer_oauth2::{ExternalToken, Grant, OAuth2TokenSource};
///
/// let source = OAuth2TokenSource::builder("https://auth.example.com/token")
///     .client_id("my-app")
///     .grant(Grant::JwtBearer { assertion: ExternalToken::from_file("/var/run/secrets/tokens/idp") })
///     .build()?;
/// # Ok::<(), bearer_core::Error>(())
/// ```
#[derive(Clone)]
pub struct ExternalToken {
    source: Arc<dyn TokenSource>,
    origin: String,
}

impl std::fmt::Debug for ExternalToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalToken").field("from", &self.origin).finish()
    }
}

/// A [`TokenSource`] over a closure that returns the token's value.
struct ClosureSource<F>(F);

#[async_trait::async_trait]
impl<F> TokenSource for ClosureSource<F>
where
    F: Fn() -> Result<String, Error> + Send + Sync,
{
    async fn fetch(&self) -> Result<Token, Error> {
        crate::workload::token_from_value((self.0)()?)
    }
}

impl ExternalToken {
    /// The token another source fetches (an [`OAuth2TokenSource`](crate::OAuth2TokenSource),
    /// a workload source, a token exchange: sources compose).
    pub fn from_source(source: impl TokenSource + 'static) -> Self {
        Self { source: Arc::new(source), origin: "a token source".into() }
    }

    /// The token a closure returns; called at each fetch.
    pub fn from_fn<F>(read: F) -> Self
    where
        F: Fn() -> Result<String, Error> + Send + Sync + 'static,
    {
        Self { source: Arc::new(ClosureSource(read)), origin: "a closure".into() }
    }

    /// The token in a file (whitespace trimmed), re-read at each fetch.
    pub fn from_file(path: impl Into<PathBuf>) -> Self {
        let source = FileTokenSource::new(path);
        let origin = format!("file {}", source.path().display());
        Self { source: Arc::new(source), origin }
    }

    /// The pod's projected Kubernetes service-account token
    /// ([`FileTokenSource::kubernetes`]).
    pub fn kubernetes_service_account() -> Self {
        Self::from_source(FileTokenSource::kubernetes())
    }

    /// The GitHub Actions OIDC token for `audience` ([`GitHubActionsOidc::from_env`]).
    pub fn github_actions(audience: impl Into<String>) -> Result<Self, Error> {
        Ok(Self::from_source(GitHubActionsOidc::from_env()?.audience(audience)))
    }

    /// Reads the current value.
    pub(crate) async fn read(&self) -> Result<Zeroizing<String>, Error> {
        let token = self.source.fetch().await?;
        Ok(Zeroizing::new(AccessToken::secret(token.secret()).to_owned()))
    }
}
