//! RFC 7009 token revocation: giving a refresh token back when it is no longer needed.

use bearer_core::Error;

use crate::error_body::rejection_from_response;
use crate::exchange::{read_capped_body, send_unredirected, MAX_BODY_BYTES};
use crate::source::{Encoding, Grant, OAuth2TokenSource};

impl OAuth2TokenSource {
    /// Revokes the refresh token the source holds (RFC 7009: `token` and
    /// `token_type_hint=refresh_token`, form-encoded, the client authenticated as for the token
    /// endpoint) and forgets it, e.g. at shutdown. `Ok(false)` when no refresh token is held.
    /// The next fetch then uses the primary grant. With
    /// [`Grant::RefreshToken`] and no newer refresh token held, the configured one is revoked,
    /// and later fetches fail: there is nothing to fall back to. Behind a cache, reach the
    /// source with `TokenCache::source()`.
    ///
    /// Fails with [`Error::Config`] when no
    /// [`revocation_url`](crate::OAuth2TokenSourceBuilder::revocation_url) was set; with
    /// [`Error::Rejected`] (the token is kept) when the endpoint refuses.
    pub async fn revoke_refresh_token(&self) -> Result<bool, Error> {
        let url = match &self.revocation_url {
            Some(url) => url.clone(),
            None => self.discovered_revocation_endpoint().await?.ok_or_else(|| {
                Error::Config("no revocation URL was configured (`revocation_url`) or discovered".into())
            })?,
        };
        let configured = match &self.grant {
            Grant::RefreshToken(configured) => Some(configured.clone()),
            _ => None,
        };
        let Some(refresh) = self.refresh_token.get().or(configured) else {
            return Ok(false);
        };
        let fields = vec![("token", refresh.secret()), ("token_type_hint", "refresh_token")];
        let assertion = self.client_assertion(&self.resolved_token_url().await?).await?;
        let request = self.post(&url, fields, Encoding::Form, assertion.as_deref().map(String::as_str))?;
        let response = send_unredirected(request).await?;
        let mut secrets = self.secrets(&[("refresh_token", refresh.secret())]);
        secrets.extend(assertion.as_deref().map(String::as_str));
        let status = response.status();
        let headers = response.headers().clone();
        if !status.is_success() {
            let body = read_capped_body(response, MAX_BODY_BYTES).await?;
            return Err(rejection_from_response(status, &headers, &body, &secrets).into());
        }
        self.refresh_token.drop_if_held(&refresh);
        tracing::debug!("refresh token revoked");
        Ok(true)
    }
}
