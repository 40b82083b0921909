//! The `BearerAuth` middleware.

use std::borrow::Borrow;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::Arc;

use bearer_core::{Error, KeyedTokenCache, KeyedTokenCacheBuilder, Token, TokenCache, TokenSource};
use http::header::AUTHORIZATION;
use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::destination::{Arrival, Destination};
use crate::keyed::{KeysOf, RequestKeys, SourceWithOrigins};
use crate::origin::{without_user_info, OriginPolicy, OriginRules};
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
///    copied (a stream) is not retried: the caller gets the rejection. Rejections refresh the
///    token at most once per [rejection interval](bearer_core::DEFAULT_REJECTION_REFRESH_INTERVAL):
///    in between, the cache keeps the token, and a request it rejects is not retried; the caller
///    gets the rejection.
///
/// **Many tokens**: with [`keys`](BearerAuthBuilder::keys) (or [`BearerAuth::keyed`]), a
/// request that carries a key in its extensions — a [`Scopes`](bearer_core::Scopes) set, a
/// [`Tenant`](bearer_core::Tenant), any hashable type — gets that key's token from a
/// [`KeyedTokenCache`], whose factory builds each key's source on first use. A request
/// without a key gets the default source's token. Each key's token goes only to that key's
/// allowed origins: the ones named with `allow_origin`, else the ones its own source names.
///
/// # Redirects
///
/// A retry never sends a request the caller did not make. reqwest follows redirects inside
/// the request, so the rejection may come from another URL than the one the request was sent
/// to, and for another method (a `POST` answered `303 See Other` is followed with a `GET`).
/// The middleware compares the URL the rejection came from with the URL the request was sent
/// to, byte for byte (a fingerprint could be forged by the server a redirect leads to), and a
/// retry goes only to the URL the request was sent to:
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
    /// The only cache, or with per-request keys, the one for requests that carry none.
    cache: TokenCache<S>,
    origins: OriginPolicy,
    keys: Option<Box<dyn RequestKeys<S>>>,
}

/// Configures a [`BearerAuth`]; see [`BearerAuth::builder`].
pub struct BearerAuthBuilder<S> {
    cache: TokenCache<S>,
    origins: Vec<String>,
    any_https: bool,
    http_loopback: bool,
    /// Builds the per-request keys once the origin rules are known.
    keys: Option<KeysPlan<S>>,
}

type KeysPlan<S> = Box<dyn FnOnce(OriginRules) -> Box<dyn RequestKeys<S>> + Send>;

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

    /// A builder for one token per key: `factory` builds the source of a key on its first
    /// use; requests that carry no key (of type `K`, in their extensions) use `default_key`'s.
    /// Shorthand for [`builder`](Self::builder) over `factory(&default_key)` with
    /// [`keys`](BearerAuthBuilder::keys); use those to tune the keyed cache.
    ///
    /// ```
    /// use reqwest_bearer::core::Scopes;
    /// use reqwest_bearer::oauth2::OAuth2TokenSource;
    /// use reqwest_bearer::BearerAuth;
    ///
    /// # fn main() -> Result<(), reqwest_bearer::Error> {
    /// let http = reqwest::Client::new();
    /// let auth = BearerAuth::keyed(Scopes::from(["orders:read"]), move |scopes: &Scopes| {
    ///     OAuth2TokenSource::builder("https://auth.example.com/oauth/token")
    ///         .client_id("id")
    ///         .client_secret("secret")
    ///         .scope(scopes.as_str())
    ///         .http_client(http.clone())
    ///         .build()
    /// })?
    /// .allow_origin("https://api.example.com")
    /// .build()?;
    /// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new()).with(auth).build();
    /// // This request gets a token for orders:write; requests without Scopes, orders:read.
    /// let request = client.post("https://api.example.com/orders").with_extension(Scopes::from(["orders:write"]));
    /// # let _ = request; Ok(()) }
    /// ```
    pub fn keyed<K>(
        default_key: K,
        factory: impl Fn(&K) -> Result<S, Error> + Send + Sync + 'static,
    ) -> Result<BearerAuthBuilder<S>, Error>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
    {
        let factory = Arc::new(factory);
        let default_source = factory(&default_key)?;
        let keyed = KeyedTokenCache::builder(move |key: &K| factory(key));
        Ok(Self::builder(default_source).keys_with_default(keyed, Some(default_key)))
    }

    /// The cache behind the middleware (with per-request keys, the one of requests that
    /// carry no key).
    pub fn cache(&self) -> &TokenCache<S> {
        &self.cache
    }
}

impl<S: TokenSource + 'static> BearerAuthBuilder<S> {
    /// Starts a builder over an existing cache.
    pub fn from_cache(cache: TokenCache<S>) -> Self {
        Self { cache, origins: Vec::new(), any_https: false, http_loopback: false, keys: None }
    }

    /// One token per key: a request that carries a `K` in its extensions
    /// (`.with_extension(Tenant::new("acme"))`) gets that key's token from a
    /// [`KeyedTokenCache`] built from `keyed` (its factory, bound, idle timeout and policy);
    /// a request without one gets this builder's source's token. The origin rules of this
    /// builder apply to every key, each key's own source naming its origins when no
    /// [`allow_origin`](Self::allow_origin) does; a key whose origins fail them fails its
    /// requests with [`Error::Config`].
    pub fn keys<K>(self, keyed: KeyedTokenCacheBuilder<K, S>) -> Self
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
    {
        self.keys_with_default(keyed, None)
    }

    fn keys_with_default<K>(mut self, keyed: KeyedTokenCacheBuilder<K, S>, default: Option<K>) -> Self
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
    {
        self.keys = Some(Box::new(move |rules| Box::new(KeysOf::build(keyed, default, rules))));
        self
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
        let rules = OriginRules { named: self.origins, any_https: self.any_https, http_loopback: self.http_loopback };
        let origins = rules.policy(&self.cache.source().api_origins()).map_err(Error::Config)?;
        let keys = self.keys.map(|plan| plan(rules));
        Ok(BearerAuth { cache: self.cache, origins, keys })
    }
}

/// The future [`Middleware::handle`] returns (what `#[async_trait]` would write).
type ResponseFuture<'a> = Pin<Box<dyn Future<Output = reqwest_middleware::Result<Response>> + Send + 'a>>;

impl<S: TokenSource + 'static> Middleware for BearerAuth<S> {
    // Written out rather than with `#[async_trait]`: the checks and the cache hit run before
    // anything is boxed, a request that gets no token is handed on without a future of ours,
    // and the one boxed for the rest holds only what the response needs (a smaller future is
    // cheaper to allocate and to move).
    fn handle<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        request: Request,
        extensions: &'life1 mut Extensions,
        next: Next<'life2>,
    ) -> ResponseFuture<'async_trait>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        // Most requests carry no headers of their own yet (the client adds its defaults later).
        let has_authorization = !request.headers().is_empty() && request.headers().contains_key(AUTHORIZATION);
        if has_authorization || extensions.get::<SkipAuth>().is_some() {
            return next.run(request, extensions);
        }
        if let Some(keyed) = self.keys.as_ref().and_then(|keys| keys.select(extensions)) {
            // Held until the response is in: an eviction of the key meanwhile changes nothing.
            let (cache, token) = match keyed {
                Ok(found) => found,
                Err(error) => return Box::pin(std::future::ready(Err(reqwest_middleware::Error::middleware(error)))),
            };
            if !cache.source().origins.permits(request.url()) {
                return next.run(request, extensions);
            }
            return match token {
                // The key's lookup found its token fresh: no second lookup in the cache.
                Some(token) => send::<SourceWithOrigins<S>, _>(cache, token, request, extensions, next),
                None => authorized::<SourceWithOrigins<S>, _>(cache, request, extensions, next),
            };
        }
        if !self.origins.permits(request.url()) {
            return next.run(request, extensions);
        }
        authorized::<S, _>(&self.cache, request, extensions, next)
    }
}

/// `request`, which may carry `cache`'s token, sent with it, and once more after a
/// rejection; see [`BearerAuth`]. Generic over how the cache is held: borrowed from the
/// middleware (the default one), or owned (a key's, which the request keeps however the key
/// fares).
// Inlined, as is `send`: the request (264 bytes) is not copied into each call.
#[inline(always)]
fn authorized<'a, T, C>(
    cache: C,
    request: Request,
    extensions: &'a mut Extensions,
    next: Next<'a>,
) -> ResponseFuture<'a>
where
    T: TokenSource + 'static,
    C: Borrow<TokenCache<T>> + Send + 'a,
{
    match cache.borrow().try_token() {
        Some(token) => send(cache, token, request, extensions, next),
        // A future of its own, so that the hit's does not hold the request across this wait.
        None => Box::pin(async move {
            let token = cache.borrow().token().await.map_err(reqwest_middleware::Error::middleware)?;
            send(cache, token, request, extensions, next).await
        }),
    }
}

/// `request` with `token`, sent once more after a rejection. What a retry needs is kept
/// before the future is made, so the future holds each piece once.
#[inline(always)]
fn send<'a, T, C>(
    cache: C,
    token: Arc<Token>,
    mut request: Request,
    extensions: &'a mut Extensions,
    next: Next<'a>,
) -> ResponseFuture<'a>
where
    T: TokenSource + 'static,
    C: Borrow<TokenCache<T>> + Send + 'a,
{
    let destination = Destination::new(request.url());
    let replay = Replay::of(&request);
    request.headers_mut().insert(AUTHORIZATION, token.header_value().clone());
    Box::pin(async move {
        let response = next.clone().run(request, extensions).await?;
        if !cache.borrow().source().is_token_rejected(response.status(), response.headers()) {
            return Ok(response);
        }
        // Boxed: the retry is rare, and inline it would make every request's future larger.
        Box::pin(retry(cache.borrow(), token, destination, replay, response, extensions, next)).await
    })
}

/// After `cache`'s token `used` was rejected: see [`BearerAuth`]'s "Redirects" for when the
/// token is dropped and the request sent once more. Any failure on the way hands the caller
/// the original rejection.
#[cold]
async fn retry<T: TokenSource + 'static>(
    cache: &TokenCache<T>,
    used: Arc<Token>,
    sent_to: Destination,
    replay: Option<Replay>,
    rejection: Response,
    extensions: &mut Extensions,
    next: Next<'_>,
) -> reqwest_middleware::Result<Response> {
    let status = rejection.status();
    match sent_to.arrival(rejection.url()) {
        Arrival::SameUrl => {}
        Arrival::Elsewhere => {
            // A redirect took the request to another origin: reqwest did not send the token
            // there, so it is not what was refused.
            tracing::debug!(%status, "rejected by another origin than the request's (a redirect); not retried");
            return Ok(rejection);
        }
        Arrival::SameOrigin => {
            cache.invalidate(&used);
            tracing::debug!(%status, "token rejected after a redirect; dropped, but the request is not retried");
            return Ok(rejection);
        }
    }
    cache.invalidate(&used);
    let Some(replay) = replay else {
        tracing::debug!(%status, "token rejected; the request body is a stream and cannot be replayed");
        return Ok(rejection);
    };
    let fresh = match cache.token().await {
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
    // The rejection's URL is, byte for byte, the one the request was sent to.
    let mut request = replay.into_request(rejection.url());
    drop(rejection);
    request.headers_mut().insert(AUTHORIZATION, fresh.header_value().clone());
    next.run(request, extensions).await
}

impl<S> std::fmt::Debug for BearerAuth<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerAuth")
            .field("cache", &self.cache)
            .field("origins", &self.origins)
            .field("keys", &self.keys.as_ref().map(|keys| keys.len()))
            .finish()
    }
}

impl<S> std::fmt::Debug for BearerAuthBuilder<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerAuthBuilder")
            // As written, minus any user info (`user:password@`): a password is never printed.
            .field("origins", &self.origins.iter().map(|o| without_user_info(o)).collect::<Vec<_>>())
            .field("any_https", &self.any_https)
            .field("http_loopback", &self.http_loopback)
            .field("keyed", &self.keys.is_some())
            .finish_non_exhaustive()
    }
}
