//! The one error type of every token source and of the cache.
//!
//! It is `Clone` because one failed refresh is handed to every caller that waited on it.

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;

/// Why a token could not be had.
///
/// Every variant is at most two words, so a `Result<Arc<Token>, Error>` moves cheaply on the
/// hot path and one failure clones cheaply to every caller that waited for it.
///
/// Messages never contain a secret: sources redact the credentials they sent from any body
/// excerpt they keep, and transport errors carry only the URL of the token endpoint.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token endpoint could not be reached or did not answer in time (connection refused
    /// or reset, DNS, TLS, timeout). Always transient.
    #[error("token endpoint unreachable: {0}")]
    Transport(Arc<TransportError>),
    /// The token endpoint answered, and said no.
    #[error("token endpoint rejected the request: {0}")]
    Rejected(Arc<Rejection>),
    /// The token endpoint answered success with a body that is not a usable token.
    #[error("malformed token response: {0}")]
    Malformed(Arc<str>),
    /// The source was configured wrongly; no request was (or could be) sent.
    #[error("invalid configuration: {0}")]
    Config(Arc<str>),
    /// The refresh ended without a result (its runtime shut down, or the source panicked).
    #[error("token refresh was abandoned before it finished")]
    Abandoned,
}

/// A failure to reach the token endpoint.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct TransportError {
    message: String,
    timeout: bool,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl TransportError {
    /// What went wrong, without secrets.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the failure was a timeout.
    pub fn is_timeout(&self) -> bool {
        self.timeout
    }
}

/// What a token endpoint said when it refused to issue a token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejection {
    /// The HTTP status of the answer.
    pub status: StatusCode,
    /// The provider's error code: RFC 6749 `error`, a numeric `code`, or a problem `type`.
    pub code: Option<String>,
    /// The provider's human-readable explanation (`error_description`, `message`, `detail`).
    pub description: Option<String>,
    /// How long the endpoint asked us to wait (`Retry-After` or a rate-limit reset header).
    pub retry_after: Option<Duration>,
    /// The provider's request id (e.g. `Zuora-Request-Id`), which its support will ask for.
    pub request_id: Option<String>,
    /// The start of the body when it could not be parsed, with sent credentials redacted.
    pub body_excerpt: Option<String>,
}

impl Rejection {
    /// A rejection with only a status; fill the rest with the builder-style setters.
    pub fn new(status: StatusCode) -> Self {
        Self { status, ..Self::default() }
    }

    /// Sets the provider's error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Sets the provider's description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets how long to wait before trying again.
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = Some(retry_after);
        self
    }

    /// Whether retrying the same request later can succeed: 408, 425, 429 and every 5xx.
    pub fn is_transient(&self) -> bool {
        let s = self.status;
        s.is_server_error()
            || s == StatusCode::TOO_MANY_REQUESTS
            || s == StatusCode::REQUEST_TIMEOUT
            || s.as_u16() == 425
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}", self.status.as_u16())?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if let Some(description) = &self.description {
            write!(f, ": {description}")?;
        }
        if let Some(after) = self.retry_after {
            write!(f, " (retry after {}s)", after.as_secs())?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        if self.code.is_none() && self.description.is_none() {
            if let Some(body) = &self.body_excerpt {
                write!(f, ": {body}")?;
            }
        }
        Ok(())
    }
}

impl Error {
    /// A transport error from any error value; the message is the error's `Display`.
    pub fn transport(error: impl std::error::Error + Send + Sync + 'static, timeout: bool) -> Self {
        Self::Transport(Arc::new(TransportError { message: error.to_string(), timeout, source: Some(Box::new(error)) }))
    }

    /// A transient timeout: a fetch did not finish within `deadline` (the cache's
    /// [fetch timeout](crate::RefreshPolicy::with_fetch_timeout)).
    pub fn fetch_timeout(deadline: Duration) -> Self {
        let message = format!("no token within the fetch timeout of {deadline:?}");
        Self::Transport(Arc::new(TransportError { message, timeout: true, source: None }))
    }

    /// Whether this is a transport timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Transport(t) if t.is_timeout())
    }

    /// Whether trying again later can help: transport failures, 408/425/429/5xx answers,
    /// and an abandoned refresh. Bad credentials, bad configuration and malformed answers
    /// are permanent until something changes.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport(_) | Error::Abandoned => true,
            Error::Rejected(rejection) => rejection.is_transient(),
            Error::Malformed(_) | Error::Config(_) => false,
        }
    }

    /// The rejection, when the endpoint answered with an error.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            Error::Rejected(rejection) => Some(rejection),
            _ => None,
        }
    }

    /// How long the endpoint asked us to wait, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.rejection().and_then(|r| r.retry_after)
    }
}

impl From<Rejection> for Error {
    fn from(rejection: Rejection) -> Self {
        Error::Rejected(Arc::new(rejection))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_classification() {
        let rejected = |s: u16| Error::from(Rejection::new(StatusCode::from_u16(s).unwrap_or_default()));
        for s in [500, 502, 503, 504, 429, 408] {
            assert!(rejected(s).is_transient(), "{s} should be transient");
        }
        for s in [400, 401, 403, 415, 422] {
            assert!(!rejected(s).is_transient(), "{s} should be permanent");
        }
        assert!(Error::Abandoned.is_transient());
        assert!(!Error::Malformed("x".into()).is_transient());
        assert!(!Error::Config("x".into()).is_transient());
    }

    #[test]
    fn display_keeps_provider_fields() {
        let e = Error::from(
            Rejection::new(StatusCode::BAD_REQUEST)
                .with_code("invalid_client")
                .with_description("bad id")
                .with_retry_after(Duration::from_secs(7)),
        );
        assert_eq!(
            e.to_string(),
            "token endpoint rejected the request: HTTP 400 invalid_client: bad id (retry after 7s)"
        );
    }
}
