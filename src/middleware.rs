//! The `BearerAuth` middleware.

use std::sync::Arc;

use bearer_core::{Error, Token, TokenCache, TokenSource};
use http::header::AUTHORIZATION;
use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::origin::OriginPolicy;
use crate::replay::Replay;
use crate::SkipAuth;

/// Adds `Authorization: Bearer …` to requests, and on a rejected token refreshes it and
/// retries the request once.
///
/// 1. A request that already has `Authorization`, or carries [`SkipAuth`], passes untouched.
/// 2. The token goes only to allowed origins: https origins named with
///    [`allow_origin`](BearerAuthBuilder::allow_origin) (by default those the source names,
///    else any https origin), and plain http only to loopback when
///    [`allow_http_loopback`](BearerAuthBuilder::allow_http_loopback) says so. Any other
///    request goes out without the token.
/// 3. The cached token's prebuilt header is cloned in: a reference-count bump.
/// 4. When the response says the token was rejected (a 401, or what the source says, such as
///    Zenkipay's 403), the token is invalidated, a fresh one fetched, and the request sent once
///    more; the retry's response is returned whatever it is. Rejections refresh the token at
///    most once per [rejection interval](bearer_core::DEFAULT_REJECTION_REFRESH_INTERVAL): in
///    between, a rejected request is not retried and the caller gets the rejection. The retry goes to the URL the
///    rejection came from (after any redirects), and only if that URL may have the token. A
///    request whose body cannot be copied (a stream) is not retried: the caller gets the
///    rejection.
///
/// ```
/// use reqwest_bearer::oauth2::OAuth2TokenSource;
/// use reqwest_bearer::BearerAuth;
///
/// # fn main() -> Result<(), reqwest_bearer::Error> {
/// let source = OAuth2TokenSource::builder("https://auth.example.com/oauth/token")
///     .client_id("id")
///     .client_secret("secret")
///     .build()?;
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(BearerAuth::builder(source).allow_origin("https://api.example.com").build()?)
///     .build();
/// # Ok(()) }
/// ```
pub struct BearerAuth<S> {
    cache: TokenCache<S>,
    origins: OriginPolicy,
}

/// Configures a [`BearerAuth`]; see [`BearerAuth::builder`].
pub struct BearerAuthBuilder<S> {
    cache: TokenCache<S>,
    origins: Vec<String>,
    any_https: bool,
    http_loopback: bool,
}

impl<S: TokenSource + 'static> BearerAuth<S> {
    /// The middleware over `source` with a default [`TokenCache`], sending tokens to the
    /// origins the source names (any https origin if it names none).
    pub fn new(source: S) -> Self {
        Self::from_cache(TokenCache::new(source))
    }

    /// The middleware over an existing cache (to share one cache between clients, or to set
    /// a [`RefreshPolicy`](bearer_core::RefreshPolicy)).
    pub fn from_cache(cache: TokenCache<S>) -> Self {
        // Only explicit origins can be refused; with none, building cannot fail (and an empty
        // policy would send the token nowhere).
        let origins = OriginPolicy::build(&[], &cache.source().api_origins(), false, false).unwrap_or_default();
        Self { cache, origins }
    }

    /// Starts a builder over `source`.
    pub fn builder(source: S) -> BearerAuthBuilder<S> {
        BearerAuthBuilder::from_cache(TokenCache::new(source))
    }

    /// The cache behind the middleware.
    pub fn cache(&self) -> &TokenCache<S> {
        &self.cache
    }

    fn wants_token(&self, request: &Request, extensions: &Extensions) -> bool {
        !request.headers().contains_key(AUTHORIZATION)
            && extensions.get::<SkipAuth>().is_none()
            && self.origins.permits(request.url())
    }
}

impl<S: TokenSource + 'static> BearerAuthBuilder<S> {
    /// Starts a builder over an existing cache.
    pub fn from_cache(cache: TokenCache<S>) -> Self {
        Self { cache, origins: Vec::new(), any_https: false, http_loopback: false }
    }

    /// Sends the token to this origin (`https://api.example.com[:port]`). Repeat for several.
    /// Naming any origin replaces the ones the source suggests.
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.origins.push(origin.into());
        self
    }

    /// Sends the token to every https origin.
    pub fn allow_any_https_origin(mut self) -> Self {
        self.any_https = true;
        self
    }

    /// Allows plain http, for loopback hosts only (127.0.0.0/8, ::1, localhost): for local
    /// development and tests. The origin must still be allowed.
    pub fn allow_http_loopback(mut self) -> Self {
        self.http_loopback = true;
        self
    }

    /// Checks the origins and builds the middleware.
    pub fn build(self) -> Result<BearerAuth<S>, Error> {
        let suggested = self.cache.source().api_origins();
        let origins = OriginPolicy::build(&self.origins, &suggested, self.any_https, self.http_loopback)
            .map_err(|text| Error::Config(format!("`{text}` is not an origin URL").into()))?;
        Ok(BearerAuth { cache: self.cache, origins })
    }
}

#[async_trait::async_trait]
impl<S: TokenSource + 'static> Middleware for BearerAuth<S> {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        if !self.wants_token(&request, extensions) {
            return next.run(request, extensions).await;
        }
        let token = match self.cache.try_token() {
            Some(token) => token,
            None => self.cache.token().await.map_err(reqwest_middleware::Error::middleware)?,
        };
        let replay = Replay::of(&request);
        request.headers_mut().insert(AUTHORIZATION, token.header_value().clone());
        let response = next.clone().run(request, extensions).await?;
        if !self.cache.source().is_token_rejected(response.status(), response.headers()) {
            return Ok(response);
        }
        // Boxed: the retry is rare, and inline it would make every request's future larger.
        Box::pin(self.retry(token, replay, response, extensions, next)).await
    }
}

impl<S: TokenSource + 'static> BearerAuth<S> {
    /// After a rejection of `used`: invalidate it, get a fresh token and send the request
    /// once more, to the URL the rejection came from if that URL may have the token. Any
    /// failure on the way hands the caller the original rejection.
    #[cold]
    async fn retry(
        &self,
        used: Arc<Token>,
        replay: Option<Replay>,
        rejection: Response,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let status = rejection.status();
        if !self.origins.permits(rejection.url()) {
            // A redirect took the request somewhere the token was never sent: not our token's fault.
            tracing::debug!(%status, "rejected by a URL that may not have the token; not retrying");
            return Ok(rejection);
        }
        self.cache.invalidate(&used);
        let Some(replay) = replay else {
            tracing::debug!(%status, "token rejected; the request body is a stream and cannot be replayed");
            return Ok(rejection);
        };
        let fresh = match self.cache.token().await {
            Ok(fresh) => fresh,
            Err(error) => {
                tracing::warn!(%error, %status, "token rejected and no new token could be had; returning the rejection");
                return Ok(rejection);
            }
        };
        if fresh.secret() == used.secret() {
            // The cache kept the token (rejections refresh at most once per interval): the same
            // request with the same token would get the same answer.
            tracing::debug!(%status, "token rejected again within the rejection interval; returning the rejection");
            return Ok(rejection);
        }
        tracing::debug!(%status, "token rejected; retrying once with a fresh token");
        let mut request = replay.into_request(rejection.url().clone());
        drop(rejection);
        request.headers_mut().insert(AUTHORIZATION, fresh.header_value().clone());
        next.run(request, extensions).await
    }
}

impl<S> std::fmt::Debug for BearerAuth<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerAuth").field("cache", &self.cache).field("origins", &self.origins).finish()
    }
}

impl<S> std::fmt::Debug for BearerAuthBuilder<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerAuthBuilder")
            .field("origins", &self.origins)
            .field("any_https", &self.any_https)
            .field("http_loopback", &self.http_loopback)
            .finish_non_exhaustive()
    }
}
