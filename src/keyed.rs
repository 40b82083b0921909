//! Per-request keys for [`BearerAuth`](crate::BearerAuth): a request that carries a key of
//! the configured type in its extensions gets that key's token, from a
//! [`KeyedTokenCache`], with that key's origin rules.

use std::hash::Hash;
use std::sync::Arc;

use bearer_core::{Error, KeyedTokenCache, KeyedTokenCacheBuilder, Token, TokenCache, TokenSource};
use http::{Extensions, HeaderMap, StatusCode};

use crate::origin::{OriginPolicy, OriginRules};

/// A key's source with the origins its tokens may go to, worked out once when the key is
/// created (from the user's origins, else the ones this source names: one tenant's Akeneo
/// instance never receives another tenant's token).
pub(crate) struct SourceWithOrigins<S> {
    source: S,
    pub(crate) origins: OriginPolicy,
}

#[async_trait::async_trait]
impl<S: TokenSource> TokenSource for SourceWithOrigins<S> {
    async fn fetch(&self) -> Result<Token, Error> {
        self.source.fetch().await
    }

    fn is_token_rejected(&self, status: StatusCode, headers: &HeaderMap) -> bool {
        self.source.is_token_rejected(status, headers)
    }

    fn api_origins(&self) -> Vec<String> {
        self.source.api_origins()
    }

    fn token_rejected(&self, token: &Token) {
        self.source.token_rejected(token)
    }
}

/// A request's key resolved: its cache, and the cache's token if fresh.
pub(crate) type KeyedPick<S> = (TokenCache<SourceWithOrigins<S>>, Option<Arc<Token>>);

/// The request's key, if it carries one, resolved to its cache: the key type erased, so
/// `BearerAuth<S>` keeps one type parameter whatever the key.
pub(crate) trait RequestKeys<S>: Send + Sync {
    /// `None` when the request carries no key (or the default one): it uses the default cache.
    fn select(&self, extensions: &Extensions) -> Option<Result<KeyedPick<S>, Error>>;

    /// How many keys have a cache, for `Debug`.
    fn len(&self) -> usize;
}

/// Keys of type `K`, with the default key (served by the middleware's own cache) if any.
pub(crate) struct KeysOf<K: Send + Sync, S: Send + Sync> {
    caches: KeyedTokenCache<K, SourceWithOrigins<S>>,
    default: Option<K>,
}

impl<K, S> KeysOf<K, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    S: TokenSource + 'static,
{
    /// The keyed cache from the user's builder, each key's source given its origin policy.
    pub(crate) fn build(builder: KeyedTokenCacheBuilder<K, S>, default: Option<K>, rules: OriginRules) -> Self {
        let caches = builder
            .map_source(move |_, source: S| {
                let origins = rules.policy(&source.api_origins()).map_err(Error::Config)?;
                Ok(SourceWithOrigins { source, origins })
            })
            .build();
        Self { caches, default }
    }
}

impl<K, S> RequestKeys<S> for KeysOf<K, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    S: TokenSource + 'static,
{
    #[inline]
    fn select(&self, extensions: &Extensions) -> Option<Result<KeyedPick<S>, Error>> {
        let key = extensions.get::<K>()?;
        if self.default.as_ref() == Some(key) {
            return None;
        }
        Some(self.caches.cache_and_token(key))
    }

    fn len(&self) -> usize {
        self.caches.len()
    }
}
