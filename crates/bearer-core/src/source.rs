//! Where tokens come from.

use std::sync::Arc;

use http::{HeaderMap, StatusCode};

use crate::{Error, RefreshToken, Token};

/// One acquisition of an access token: a round trip to a token endpoint, no caching.
///
/// Wrap a source in a [`TokenCache`](crate::TokenCache) to cache, refresh ahead and
/// deduplicate. The trait is object safe, so `Box<dyn TokenSource>` and `Arc<dyn TokenSource>`
/// are sources too.
///
/// A source that holds a refresh token keeps it inside and uses it first, falling back to its
/// full grant when the refresh is rejected. The cache never calls `fetch` concurrently on
/// the same source.
#[async_trait::async_trait]
pub trait TokenSource: Send + Sync {
    /// Fetches a new token.
    async fn fetch(&self) -> Result<Token, Error>;

    /// Whether an API response says the token it carried was rejected, so the middleware
    /// should drop the token, get another and retry once.
    ///
    /// The default is every `401 Unauthorized`. A provider whose API answers a bad token
    /// differently (Zenkipay answers `403`) says so here; elsewhere a 403 means "not allowed"
    /// and retrying would be wrong.
    fn is_token_rejected(&self, status: StatusCode, headers: &HeaderMap) -> bool {
        let _ = headers;
        status == StatusCode::UNAUTHORIZED
    }

    /// The origins (`https://host[:port]`) of the API this source's tokens are for, such as a
    /// provider's API host. The middleware sends the token there unless told otherwise; an
    /// empty list (the default) leaves the choice to the middleware's configuration.
    fn api_origins(&self) -> Vec<String> {
        Vec::new()
    }

    /// Told when the cache drops `token` because an API rejected it, before the cache
    /// fetches again. A source that shares tokens beyond this process (a fleet-wide cache)
    /// forgets its shared copy here, so the next [`fetch`](Self::fetch) does not hand back
    /// the rejected token. It runs under the cache's lock: it must not block (spawn any I/O).
    /// The default does nothing.
    fn token_rejected(&self, token: &Token) {
        let _ = token;
    }

    /// The refresh token the source currently holds, for tools that must hand it to a user
    /// (a command-line tool asked to show it). [`RefreshToken`]'s `Debug` is redacted; read
    /// the value with its `secret()` accessor only where it is meant to be shown. The default
    /// is `None`: the source holds no refresh token.
    fn held_refresh_token(&self) -> Option<RefreshToken> {
        None
    }
}

#[async_trait::async_trait]
impl<S: TokenSource + ?Sized> TokenSource for Arc<S> {
    async fn fetch(&self) -> Result<Token, Error> {
        (**self).fetch().await
    }

    fn is_token_rejected(&self, status: StatusCode, headers: &HeaderMap) -> bool {
        (**self).is_token_rejected(status, headers)
    }

    fn api_origins(&self) -> Vec<String> {
        (**self).api_origins()
    }

    fn token_rejected(&self, token: &Token) {
        (**self).token_rejected(token)
    }

    fn held_refresh_token(&self) -> Option<RefreshToken> {
        (**self).held_refresh_token()
    }
}

#[async_trait::async_trait]
impl<S: TokenSource + ?Sized> TokenSource for Box<S> {
    async fn fetch(&self) -> Result<Token, Error> {
        (**self).fetch().await
    }

    fn is_token_rejected(&self, status: StatusCode, headers: &HeaderMap) -> bool {
        (**self).is_token_rejected(status, headers)
    }

    fn api_origins(&self) -> Vec<String> {
        (**self).api_origins()
    }

    fn token_rejected(&self, token: &Token) {
        (**self).token_rejected(token)
    }

    fn held_refresh_token(&self) -> Option<RefreshToken> {
        (**self).held_refresh_token()
    }
}
