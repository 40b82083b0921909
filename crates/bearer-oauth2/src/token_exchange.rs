//! Grants whose credential is a token from elsewhere: the JWT bearer grant (RFC 7523 §2.1)
//! and token exchange (RFC 8693).

use bearer_core::{Error, Token};

use crate::response::TokenResponse;
use crate::{ExternalToken, OAuth2TokenSource};

/// `grant_type` of the JWT bearer grant (RFC 7523 §2.1).
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// `grant_type` of token exchange (RFC 8693 §2.1).
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// Token type identifiers (RFC 8693 §3).
pub mod token_types {
    /// An OAuth 2.0 access token.
    pub const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
    /// An OAuth 2.0 refresh token.
    pub const REFRESH_TOKEN: &str = "urn:ietf:params:oauth:token-type:refresh_token";
    /// An OpenID Connect ID token.
    pub const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
    /// A JWT (a Kubernetes service-account token, a GitHub Actions OIDC token).
    pub const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
    /// A base64url SAML 2.0 assertion.
    pub const SAML2: &str = "urn:ietf:params:oauth:token-type:saml2";
}

/// A token-exchange request (RFC 8693 §2.1): a subject token (and optionally an actor
/// token) from other sources, traded for a token for `audience`/`resource`.
///
/// ```
/// use bearer_oauth2::{token_types, ExternalToken, Grant, OAuth2TokenSource, TokenExchange};
///
/// let exchange = TokenExchange::new(ExternalToken::kubernetes_service_account(), token_types::JWT)
///     .audience("https://api.example.com");
/// let source = OAuth2TokenSource::builder("https://sts.example.com/token")
///     .client_id("workload")
///     .client_auth(bearer_oauth2::ClientAuth::None)
///     .grant(Grant::TokenExchange(exchange))
///     .scope("read")
///     .build()?;
/// # Ok::<(), bearer_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TokenExchange {
    subject: ExternalToken,
    subject_token_type: String,
    actor: Option<(ExternalToken, String)>,
    audiences: Vec<String>,
    resources: Vec<String>,
    requested_token_type: Option<String>,
}

impl TokenExchange {
    /// Exchanges the token `subject` yields, of type `subject_token_type` (see
    /// [`token_types`]).
    pub fn new(subject: ExternalToken, subject_token_type: impl Into<String>) -> Self {
        Self {
            subject,
            subject_token_type: subject_token_type.into(),
            actor: None,
            audiences: Vec::new(),
            resources: Vec::new(),
            requested_token_type: None,
        }
    }

    /// The party acting for the subject (delegation, RFC 8693 §1.1).
    pub fn actor(mut self, actor: ExternalToken, actor_token_type: impl Into<String>) -> Self {
        self.actor = Some((actor, actor_token_type.into()));
        self
    }

    /// A logical name of the target service (repeat for several).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The URI of the target resource (RFC 8707; repeat for several).
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resources.push(resource.into());
        self
    }

    /// The type of token wanted (default: the server's choice, normally an access token).
    pub fn requested_token_type(mut self, token_type: impl Into<String>) -> Self {
        self.requested_token_type = Some(token_type.into());
        self
    }
}

impl OAuth2TokenSource {
    /// One JWT bearer grant with the assertion read now.
    pub(crate) async fn jwt_bearer_grant(&self, assertion: &ExternalToken) -> Result<Token, Error> {
        let assertion = assertion.read().await?;
        self.request(&[("grant_type", JWT_BEARER_GRANT), ("assertion", &assertion)]).await
    }

    /// One token exchange with the subject (and actor) tokens read now.
    pub(crate) async fn token_exchange_grant(&self, exchange: &TokenExchange) -> Result<Token, Error> {
        let subject = exchange.subject.read().await?;
        let actor = match &exchange.actor {
            Some((source, kind)) => Some((source.read().await?, kind.as_str())),
            None => None,
        };
        let mut fields: Vec<(&'static str, &str)> = vec![
            ("grant_type", TOKEN_EXCHANGE_GRANT),
            ("subject_token", &subject),
            ("subject_token_type", &exchange.subject_token_type),
        ];
        if let Some((token, kind)) = &actor {
            fields.extend([("actor_token", token.as_str()), ("actor_token_type", kind)]);
        }
        fields.extend(exchange.audiences.iter().map(|a| ("audience", a.as_str())));
        fields.extend(exchange.resources.iter().map(|r| ("resource", r.as_str())));
        if let Some(kind) = &exchange.requested_token_type {
            fields.push(("requested_token_type", kind));
        }
        self.request(&fields).await
    }

    /// RFC 8693 §2.2.1: the answer's `issued_token_type` must be what was asked for.
    pub(crate) fn check_issued_token_type(&self, response: &TokenResponse) -> Result<(), Error> {
        let crate::Grant::TokenExchange(exchange) = &self.grant else { return Ok(()) };
        match (&exchange.requested_token_type, &response.issued_token_type) {
            (Some(requested), Some(issued)) if requested != issued => Err(Error::Malformed(
                format!("asked for a `{requested}` but was issued a `{}`", issued.chars().take(80).collect::<String>())
                    .into(),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Grant;

    fn source(requested: Option<&str>) -> OAuth2TokenSource {
        let mut exchange = TokenExchange::new(ExternalToken::from_fn(|| Ok("subject".into())), token_types::JWT);
        if let Some(requested) = requested {
            exchange = exchange.requested_token_type(requested);
        }
        OAuth2TokenSource::builder("https://sts.example.com/token")
            .client_id("c")
            .client_auth(crate::ClientAuth::None)
            .grant(Grant::TokenExchange(exchange))
            .build()
            .expect("source")
    }

    fn answer(issued: Option<&str>) -> TokenResponse {
        let mut body = serde_json::json!({ "access_token": "at", "token_type": "Bearer" });
        if let Some(issued) = issued {
            body["issued_token_type"] = issued.into();
        }
        TokenResponse::parse(body.to_string().as_bytes()).expect("answer")
    }

    #[test]
    fn an_issued_token_type_other_than_the_requested_one_is_malformed() {
        let asked = source(Some(token_types::ACCESS_TOKEN));
        assert!(asked.check_issued_token_type(&answer(Some(token_types::ACCESS_TOKEN))).is_ok());
        assert!(matches!(
            asked.check_issued_token_type(&answer(Some(token_types::ID_TOKEN))),
            Err(Error::Malformed(_))
        ));
        assert!(asked.check_issued_token_type(&answer(None)).is_ok(), "lenient when the server omits it");
        assert!(source(None).check_issued_token_type(&answer(Some(token_types::JWT))).is_ok(), "nothing asked");
    }
}
