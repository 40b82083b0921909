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
    /// or reset, DNS, TLS, timeout). Always transient. The message ends with the root cause
    /// ("Connection refused", "operation timed out"); `source()` walks the whole chain.
    #[error("token endpoint unreachable: {0}")]
    Transport(#[source] Arc<TransportError>),
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
    /// The token endpoint answered with a token that was already stale when it arrived: the
    /// fetch took longer than the time the cache serves such a token, counted from the fetch's
    /// start. The token is neither served nor kept. Transient: the next attempt, after the
    /// backoff, may be quicker.
    #[error("{0}")]
    StaleOnArrival(Arc<StaleOnArrival>),
}

/// A fetched token that was past its stale point when its fetch finished (see
/// [`Error::StaleOnArrival`]). Carries only durations, never the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the token endpoint took {took:.1?} to answer with a token that lives {lifetime:.1?}: it was stale on arrival \
     (the cache serves such a token for {servable:.1?} from the start of its fetch), so it was not used; \
     the endpoint must answer faster, or issue longer-lived tokens"
)]
pub struct StaleOnArrival {
    lifetime: Duration,
    servable: Duration,
    took: Duration,
}

impl StaleOnArrival {
    /// How long the token was said to live (its `expires_in`, or the policy's lifetime for a
    /// token without expiry).
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// How long after its fetch started the cache would have served it (its lifetime less the
    /// hard margin, but at least the minimum fetch interval).
    pub fn servable(&self) -> Duration {
        self.servable
    }

    /// How long the fetch took.
    pub fn took(&self) -> Duration {
        self.took
    }
}

/// A failure to reach the token endpoint. Its `Display` is the error's own message followed by
/// the innermost cause, which is what tells a refused connection from a timeout.
#[derive(Debug, thiserror::Error)]
#[error("{message}{}", root_cause.as_deref().map(|root| format!(": {root}")).unwrap_or_default())]
pub struct TransportError {
    message: String,
    root_cause: Option<String>,
    timeout: bool,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl TransportError {
    /// What went wrong, without secrets.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The innermost cause's message (e.g. `Connection refused (os error 111)`), when the
    /// error has causes and the last one says something the message does not.
    pub fn root_cause(&self) -> Option<&str> {
        self.root_cause.as_deref()
    }

    /// Whether the failure was a timeout.
    pub fn is_timeout(&self) -> bool {
        self.timeout
    }
}

/// What a provider said about its rate limit alongside an answer: the IETF `RateLimit-*`
/// headers, or `X-RateLimit-*` ones, including Kong's per-window `X-RateLimit-Limit-minute`
/// and `X-RateLimit-Remaining-minute` that Zuora sends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Requests allowed per window.
    pub limit: Option<u64>,
    /// Requests left in the current window.
    pub remaining: Option<u64>,
    /// The window the numbers count, when the header names one (`-minute` is 60 s).
    pub window: Option<Duration>,
}

/// One field a provider's problem document says is invalid (IX-API's `properties`,
/// RFC 9457's `invalid-params`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvalidParam {
    /// The field's name.
    pub name: String,
    /// Why it is invalid.
    pub reason: String,
}

impl InvalidParam {
    /// A field and the reason it is invalid.
    pub fn new(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { name: name.into(), reason: reason.into() }
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
    /// The rate-limit headers of the answer, when it had any.
    pub rate_limit: Option<RateLimit>,
    /// The fields a problem document named as invalid.
    pub invalid_params: Vec<InvalidParam>,
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
        for (i, param) in self.invalid_params.iter().enumerate() {
            let lead = if i == 0 { " (invalid: " } else { "; " };
            write!(f, "{lead}{}: {}", param.name, param.reason)?;
        }
        if !self.invalid_params.is_empty() {
            f.write_str(")")?;
        }
        if let Some(after) = self.retry_after {
            write!(f, " (retry after {}s)", after.as_secs())?;
        }
        if let Some(RateLimit { limit, remaining, window }) = &self.rate_limit {
            let count = |n: &Option<u64>| n.map_or_else(|| "?".to_owned(), |n| n.to_string());
            write!(f, " (rate limit: {} of {} left", count(remaining), count(limit))?;
            if let Some(window) = window {
                write!(f, " per {}s", window.as_secs())?;
            }
            f.write_str(")")?;
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
    /// A transport error from any error value; the message is the error's `Display`, followed
    /// by its innermost cause's.
    pub fn transport(error: impl std::error::Error + Send + Sync + 'static, timeout: bool) -> Self {
        let message = error.to_string();
        let mut root: &dyn std::error::Error = &error;
        while let Some(inner) = root.source() {
            root = inner;
        }
        let root_cause = Some(root.to_string()).filter(|root| !root.is_empty() && !message.contains(root.as_str()));
        Self::Transport(Arc::new(TransportError { message, root_cause, timeout, source: Some(Box::new(error)) }))
    }

    /// A transient timeout: a fetch did not finish within `deadline` (the cache's
    /// [fetch timeout](crate::RefreshPolicy::with_fetch_timeout)).
    pub fn fetch_timeout(deadline: Duration) -> Self {
        let message = format!("no token within the fetch timeout of {deadline:?}");
        Self::Transport(Arc::new(TransportError { message, root_cause: None, timeout: true, source: None }))
    }

    /// A token that lives `lifetime`, which the cache would serve for `servable` from the
    /// start of its fetch, arrived after `took`, on or past that point: see
    /// [`Error::StaleOnArrival`].
    pub fn stale_on_arrival(lifetime: Duration, servable: Duration, took: Duration) -> Self {
        Self::StaleOnArrival(Arc::new(StaleOnArrival { lifetime, servable, took }))
    }

    /// Whether this is a transport timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Transport(t) if t.is_timeout())
    }

    /// Whether trying again later can help: transport failures, 408/425/429/5xx answers,
    /// an abandoned refresh, a token stale on arrival. Bad credentials, bad configuration and
    /// malformed answers are permanent until something changes.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport(_) | Error::Abandoned | Error::StaleOnArrival(_) => true,
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

    /// How long the endpoint asked us to wait: its `Retry-After` (or rate-limit reset), else,
    /// for a 429 whose rate-limit headers name a window but no reset (Zuora's per-minute
    /// limit), that whole window, the earliest the count can have started over.
    pub fn retry_after(&self) -> Option<Duration> {
        let rejection = self.rejection()?;
        rejection.retry_after.or_else(|| {
            let window = rejection.rate_limit.as_ref()?.window?;
            (rejection.status == StatusCode::TOO_MANY_REQUESTS).then_some(window)
        })
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
        let secs = Duration::from_secs;
        assert!(Error::stale_on_arrival(secs(2), secs(1), secs(3)).is_transient());
        assert!(!Error::Malformed("x".into()).is_transient());
        assert!(!Error::Config("x".into()).is_transient());
    }

    #[derive(Debug, thiserror::Error)]
    #[error("error sending request for url (http://127.0.0.1:9/token)")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn transport_display_ends_with_the_root_cause_and_source_walks_the_chain() {
        let refused = Error::transport(
            Outer(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused")),
            false,
        );
        let timed_out =
            Error::transport(Outer(std::io::Error::new(std::io::ErrorKind::TimedOut, "operation timed out")), true);
        assert_eq!(
            refused.to_string(),
            "token endpoint unreachable: error sending request for url (http://127.0.0.1:9/token): Connection refused"
        );
        assert!(timed_out.to_string().ends_with(": operation timed out"));
        let mut chain = Vec::new();
        let mut next = std::error::Error::source(&refused);
        while let Some(cause) = next {
            chain.push(cause.to_string());
            next = cause.source();
        }
        assert_eq!(chain.len(), 3, "{chain:?}");
        assert_eq!(chain.last().map(String::as_str), Some("Connection refused"));
    }

    #[test]
    fn a_429_with_a_rate_limit_window_waits_for_the_window() {
        let window = RateLimit { limit: Some(100), remaining: Some(0), window: Some(Duration::from_secs(60)) };
        let mut limited = Rejection::new(StatusCode::TOO_MANY_REQUESTS);
        limited.rate_limit = Some(window.clone());
        assert_eq!(Error::from(limited.clone()).retry_after(), Some(Duration::from_secs(60)));
        assert!(Error::from(limited.clone()).to_string().ends_with("(rate limit: 0 of 100 left per 60s)"));
        let told = limited.with_retry_after(Duration::from_secs(5));
        assert_eq!(Error::from(told).retry_after(), Some(Duration::from_secs(5)), "Retry-After wins");
        let mut refused = Rejection::new(StatusCode::BAD_REQUEST);
        refused.rate_limit = Some(window);
        assert_eq!(Error::from(refused).retry_after(), None, "only a 429 waits for the window");
    }

    #[test]
    fn display_lists_invalid_params() {
        let mut rejection = Rejection::new(StatusCode::BAD_REQUEST).with_code("validation-error");
        rejection.invalid_params =
            vec![InvalidParam::new("api_key", "required"), InvalidParam::new("api_secret", "required")];
        assert_eq!(
            Error::from(rejection).to_string(),
            "token endpoint rejected the request: HTTP 400 validation-error (invalid: api_key: required; api_secret: required)"
        );
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
