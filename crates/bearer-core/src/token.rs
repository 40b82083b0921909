//! One access token, ready to be sent.

use std::time::Duration;

use http::HeaderValue;
use tokio::time::Instant;

use crate::{AccessToken, Error};

/// An access token with its expiry and its `Authorization` header value, built once.
///
/// The header value is what the hot path clones onto each request: a reference-count bump,
/// no formatting. It is marked sensitive, so HTTP/2 never indexes it and `http` hides it from
/// `Debug`. `Debug` of the whole token prints `[redacted]` in place of the secret.
///
/// Expiry is a [`tokio::time::Instant`], so tests on tokio's paused clock see it move.
#[derive(Clone)]
pub struct Token {
    secret: AccessToken,
    header: HeaderValue,
    received_at: Instant,
    expires_at: Option<Instant>,
    scope: Option<String>,
}

impl Token {
    /// Starts building a token around its secret value.
    pub fn builder(secret: AccessToken) -> TokenBuilder {
        TokenBuilder { secret, received_at: Instant::now(), expires_at: None, scope: None }
    }

    /// The secret value, for the one place that must send it.
    pub fn secret(&self) -> &AccessToken {
        &self.secret
    }

    /// `Bearer <token>`, marked sensitive.
    pub fn header_value(&self) -> &HeaderValue {
        &self.header
    }

    /// When this token was received.
    pub fn received_at(&self) -> Instant {
        self.received_at
    }

    /// When the token stops working, if the endpoint said.
    pub fn expires_at(&self) -> Option<Instant> {
        self.expires_at
    }

    /// The scope the endpoint granted, if it said.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// Whether the token has expired at `now`. A token without expiry never does.
    pub fn is_expired_at(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }

    /// A copy that shares no memory with `self`, so threads that each hold one never write
    /// to a common reference count (the header bytes are copied too).
    pub(crate) fn detached(&self) -> Token {
        let mut header = HeaderValue::from_bytes(self.header.as_bytes()).unwrap_or_else(|_| self.header.clone());
        header.set_sensitive(true);
        Token { header, ..self.clone() }
    }

    /// How long the token was valid for when it was received, if it has an expiry.
    pub fn lifetime(&self) -> Option<Duration> {
        self.expires_at.map(|at| at.saturating_duration_since(self.received_at))
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("secret", &"[redacted]")
            .field("expires_in", &self.expires_at.map(|at| at.saturating_duration_since(Instant::now())))
            .field("scope", &self.scope)
            .finish()
    }
}

/// Builds a [`Token`]; see [`Token::builder`].
#[derive(Debug)]
pub struct TokenBuilder {
    secret: AccessToken,
    received_at: Instant,
    expires_at: Option<Instant>,
    scope: Option<String>,
}

impl TokenBuilder {
    /// The token expires this long after it was received.
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        self.expires_at = Some(after_or_never(self.received_at, lifetime));
        self
    }

    /// The token expires at this instant.
    pub fn expires_at(mut self, at: Instant) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// The scope the endpoint granted.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Checks the secret and builds the header value.
    ///
    /// Fails with [`Error::Malformed`] when the token is empty or holds bytes that may not
    /// appear in a header (control characters such as CR and LF, or non-ASCII), so such a
    /// value never reaches the wire.
    pub fn build(self) -> Result<Token, Error> {
        let value = self.secret.secret();
        if value.is_empty() {
            return Err(Error::Malformed("the access token is empty".into()));
        }
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::Malformed("the access token holds characters that are not allowed in a header".into()));
        }
        let mut bytes = Vec::with_capacity(7 + value.len());
        bytes.extend_from_slice(b"Bearer ");
        bytes.extend_from_slice(value.as_bytes());
        let mut header = HeaderValue::from_maybe_shared(bytes::Bytes::from(bytes))
            .map_err(|_| Error::Malformed("the access token is not a valid header value".into()))?;
        header.set_sensitive(true);
        Ok(Token {
            secret: self.secret,
            header,
            received_at: self.received_at,
            expires_at: self.expires_at,
            scope: self.scope,
        })
    }
}

/// `anchor + wait`, or "never" ([`far_after`]) when that is past what the clock can hold: a
/// wait too long to count is a wait forever, not none.
pub(crate) fn after_or_never(anchor: Instant, wait: Duration) -> Instant {
    anchor.checked_add(wait).unwrap_or_else(|| far_after(anchor))
}

/// An instant so far after `anchor` that it stands for "never": 30 years, or, when the clock
/// cannot hold that, the last instant it can (to the nanosecond or so), so "never" comes no
/// sooner than any wait the clock can count. Counted from `anchor`, not from tokio's clock, so
/// "never" stays ahead of a cache's own [`TimeSource`](crate::TimeSource) however far ahead
/// that clock runs.
pub(crate) fn far_after(anchor: Instant) -> Instant {
    let mut ahead = Duration::from_secs(30 * 365 * 24 * 3600);
    if let Some(at) = anchor.checked_add(ahead) {
        return at;
    }
    // Less than 30 years are left: add each half, quarter, ... that still fits.
    let mut at = anchor;
    while !ahead.is_zero() {
        ahead /= 2;
        if let Some(later) = at.checked_add(ahead) {
            at = later;
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_prebuilt_and_sensitive() {
        let token = Token::builder(AccessToken::new("abc.def-_~+/=")).build().expect("valid token");
        assert_eq!(token.header_value().as_bytes(), b"Bearer abc.def-_~+/=");
        assert!(token.header_value().is_sensitive());
    }

    #[test]
    fn header_injection_is_refused() {
        for bad in ["abc\r\nX-Evil: 1", "abc def", "", "t\u{e9}", "abc\0"] {
            let err = Token::builder(AccessToken::new(bad)).build().expect_err(bad);
            assert!(matches!(err, Error::Malformed(_)), "{bad:?}: {err}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        let token = Token::builder(AccessToken::new("super-secret-token")).scope("read").build().expect("valid token");
        let shown = format!("{token:?}");
        assert!(!shown.contains("super-secret-token"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }

    #[tokio::test(start_paused = true)]
    async fn expiry_follows_the_clock() {
        let token =
            Token::builder(AccessToken::new("t")).expires_in(Duration::from_secs(10)).build().expect("valid token");
        assert_eq!(token.lifetime(), Some(Duration::from_secs(10)));
        assert!(!token.is_expired_at(Instant::now()));
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(token.is_expired_at(Instant::now()));
    }
}
