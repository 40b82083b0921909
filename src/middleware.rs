//! The `BearerAuth` middleware.

use std::sync::Arc;

use bearer_core::{Error, Token, TokenCache, TokenSource};
use http::header::AUTHORIZATION;
use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::destination::{Arrival, Destination};
use crate::origin::{without_user_info, OriginPolicy};
use crate::replay::Replay;
use crate::SkipAuth;

/// Adds `Authorization: Bearer …` to requests, and on a rejected token refreshes it and
/// retries the request once.
///
/// 1. A request that already has `Authorization`, or carries [`SkipAuth`], passes untouched.
/// 2. The token goes only to allowed origins: https origins named with
///    [`allow_origin`](BearerAuthBuilder::allow_origin) (by default those the source names),
///    or every https origin after
///    [`allow_any_https_origin`](BearerAuthBuilder::allow_any_https_origin); plain http only
///    to loopback when [`allow_http_loopback`](BearerAuthBuilder::allow_http_loopback) says
///    so. Any other request goes out without the token. Building fails when no origin is
///    named, or one could never receive the token.
/// 3. The cached token's prebuilt header is cloned in: a reference-count bump.
/// 4. When the response says the token was rejected (a 401, or what the source says, such as
///    Zenkipay's 403), the token is invalidated, a fresh one fetched, and the request sent once
///    more; the retry's response is returned whatever it is. A request whose body cannot be
///    copied (a stream) is not retried: the caller gets the rejection.
///
/// # Redirects
///
/// A retry never sends a request the caller did not make. reqwest follows redirects inside
/// the request, so the rejection may come from another URL than the one the request was sent
/// to, and for another method (a `POST` answered `303 See Other` is followed with a `GET`).
/// The middleware compares the URL the rejection came from with the URL the request was sent
/// to:
///
/// - the same URL: refresh and retry, as above;
/// - another URL on the same origin (reqwest forwarded the token there): the token is
///   dropped, so the next request gets a fresh one, but the request is **not** retried; the
///   caller gets the rejection;
/// - another origin (reqwest did not send the token there): not retried, and the token is
///   kept, since it was not what the other origin refused.
///
/// A middleware cannot see a redirect back to the very same URL that changed the method (a
/// `POST` answered `303` to its own URL, then refused): that retry sends the caller's
/// original request to its original URL. Behind a later middleware that rewrites URLs, every
/// rejection looks like one after a redirect, and nothing is retried.
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
    /// origins the source names (a provider's API). Fails with [`Error::Config`] when the
    /// source names none, or one that could never receive the token (plain http); use
    /// [`builder`](Self::builder) to choose the origins.
    pub fn new(source: S) -> Result<Self, Error> {
        Self::builder(source).build()
    }

    /// The middleware over an existing cache (to share one cache between clients, or to set
    /// a [`RefreshPolicy`](bearer_core::RefreshPolicy)), sending tokens to the origins the
    /// source names; fails as [`new`](Self::new) does.
    pub fn from_cache(cache: TokenCache<S>) -> Result<Self, Error> {
        BearerAuthBuilder::from_cache(cache).build()
    }

    /// Starts a builder over `source`.
    pub fn builder(source: S) -> BearerAuthBuilder<S> {
        BearerAuthBuilder::from_cache(TokenCache::new(source))
    }

    /// The cache behind the middleware.
    pub fn cache(&self) -> &TokenCache<S> {
        &self.cache
    }

    /// Where the request goes, when it should carry the token.
    fn wants_token(&self, request: &Request, extensions: &Extensions) -> Option<Destination> {
        if request.headers().contains_key(AUTHORIZATION) || extensions.get::<SkipAuth>().is_some() {
            return None;
        }
        let origin = self.origins.admit(request.url())?;
        Some(Destination::new(request.url(), origin))
    }
}

impl<S: TokenSource + 'static> BearerAuthBuilder<S> {
    /// Starts a builder over an existing cache.
    pub fn from_cache(cache: TokenCache<S>) -> Self {
        Self { cache, origins: Vec::new(), any_https: false, http_loopback: false }
    }

    /// Sends the token to this origin (`https://api.example.com[:port]`: scheme, host, port,
    /// nothing else). Repeat for several. Naming any origin replaces the ones the source
    /// names. An origin that is not one, or that could never receive the token (plain http,
    /// unless to loopback with [`allow_http_loopback`](Self::allow_http_loopback)), makes
    /// [`build`](Self::build) fail.
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.origins.push(origin.into());
        self
    }

    /// Sends the token to every https origin: the explicit choice for a source that names no
    /// API origin, when the client calls several hosts the token is meant for.
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
    ///
    /// Fails with [`Error::Config`], whose message says what to write instead, when an origin
    /// (named here, or by the source when none is named here) is not an origin URL, has no
    /// scheme, or could never receive the token; and when no origin is named at all and
    /// [`allow_any_https_origin`](Self::allow_any_https_origin) was not called.
    ///
    /// ```
    /// # use reqwest_bearer::{oauth2::OAuth2TokenSource, BearerAuth};
    /// # let source = || OAuth2TokenSource::builder("https://auth.example.com/token").client_id("id").build();
    /// let error = BearerAuth::builder(source()?).allow_origin("api.example.com").build().unwrap_err();
    /// assert!(error.to_string().contains("write `https://api.example.com`"));
    ///
    /// let error = BearerAuth::builder(source()?).build().unwrap_err();
    /// assert!(error.to_string().contains("allow_any_https_origin()"));
    /// # Ok::<(), reqwest_bearer::Error>(())
    /// ```
    pub fn build(self) -> Result<BearerAuth<S>, Error> {
        let suggested = self.cache.source().api_origins();
        let origins = OriginPolicy::build(&self.origins, &suggested, self.any_https, self.http_loopback)
            .map_err(|why| Error::Config(why.into()))?;
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
        let Some(destination) = self.wants_token(&request, extensions) else {
            return next.run(request, extensions).await;
        };
        let token = match self.cache.fresh() {
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
        Box::pin(self.retry(token, destination, replay, response, extensions, next)).await
    }
}

impl<S: TokenSource + 'static> BearerAuth<S> {
    /// After a rejection of `used`: see [`BearerAuth`]'s "Redirects" for when the token is
    /// dropped and the request sent once more. Any failure on the way hands the caller the
    /// original rejection.
    #[cold]
    async fn retry(
        &self,
        used: Arc<Token>,
        sent_to: Destination,
        replay: Option<Replay>,
        rejection: Response,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let status = rejection.status();
        match sent_to.arrival(rejection.url(), self.origins.admit(rejection.url())) {
            Arrival::SameUrl => {}
            Arrival::Elsewhere => {
                // A redirect took the request to another origin: reqwest did not send the
                // token there, so it is not what was refused.
                tracing::debug!(%status, "rejected by another origin than the request's (a redirect); not retried");
                return Ok(rejection);
            }
            Arrival::SameOrigin => {
                self.cache.invalidate(&used);
                tracing::debug!(%status, "token rejected after a redirect; dropped, but the request is not retried");
                return Ok(rejection);
            }
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
        tracing::debug!(%status, "token rejected; retrying once with a fresh token");
        let mut request = replay.into_request(rejection.url());
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
            // As written, minus any user info (`user:password@`): a password is never printed.
            .field("origins", &self.origins.iter().map(|o| without_user_info(o)).collect::<Vec<_>>())
            .field("any_https", &self.any_https)
            .field("http_loopback", &self.http_loopback)
            .finish_non_exhaustive()
    }
}
