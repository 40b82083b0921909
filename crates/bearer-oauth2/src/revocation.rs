//! RFC 7009 token revocation: giving a refresh token back when it is no longer needed.

use bearer_core::Error;

use crate::error_body::rejection_from_response;
use crate::exchange::{read_capped_body, transport_error, MAX_BODY_BYTES};
use crate::source::{Encoding, OAuth2TokenSource};

impl OAuth2TokenSource {
    /// Revokes the refresh token the source holds (RFC 7009: `token` and
    /// `token_type_hint=refresh_token`, form-encoded, the client authenticated as for the token
    /// endpoint) and forgets it, e.g. at shutdown. `Ok(false)` when no refresh token is held.
    /// The next fetch then uses the primary grant. Behind a cache, reach the source with
    /// `TokenCache::source()`.
    ///
    /// Fails with [`Error::Config`] when no
    /// [`revocation_url`](crate::OAuth2TokenSourceBuilder::revocation_url) was set; with
    /// [`Error::Rejected`] (the token is kept) when the endpoint refuses.
    pub async fn revoke_refresh_token(&self) -> Result<bool, Error> {
        let Some(url) = &self.revocation_url else {
            return Err(Error::Config("no revocation URL was configured (`revocation_url`)".into()));
        };
        let Some(refresh) = self.refresh_token.get() else {
            return Ok(false);
        };
        let fields = vec![("token", refresh.secret()), ("token_type_hint", "refresh_token")];
        let response = self.post(url, fields, Encoding::Form)?.send().await.map_err(transport_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        if !status.is_success() {
            let body = read_capped_body(response, MAX_BODY_BYTES).await?;
            return Err(rejection_from_response(
                status,
                &headers,
                &body,
                &self.secrets(&[("refresh_token", refresh.secret())]),
            )
            .into());
        }
        self.refresh_token.drop_if_held(&refresh);
        tracing::debug!("refresh token revoked");
        Ok(true)
    }
}
