//! Many tokens per process: one [`TokenCache`] per key (a scope set, an audience, a tenant),
//! created on first use, bounded in number, idle keys evicted.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::{Error, RefreshPolicy, Token, TokenCache, TokenSource};

mod builder;
mod evicted;
mod front;
mod keys;
mod node;
mod shard;
#[cfg(test)]
mod tests;

pub use builder::KeyedTokenCacheBuilder;
use front::Front;
pub use keys::{Scopes, Tenant};
use shard::Shard;

/// How many keys a [`KeyedTokenCache`] holds at most unless told otherwise.
pub const DEFAULT_MAX_KEYS: usize = 10_000;
/// A key unused for this long is evicted by the next sweep of its shard. Sweeps run when a
/// key is created (at most every half idle timeout, or when the shard is full) and on
/// [`KeyedTokenCache::evict_idle`]; use is sampled by them, so a key may outlive its idle
/// timeout by the gap between two sweeps.
pub const DEFAULT_KEY_IDLE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// At most this many shards: each shard is a lock and a map, and more than a few per core
/// buys nothing.
const MAX_SHARDS: usize = 64;

/// Builds the source for a key the first time the key is used.
type Factory<K, S> = dyn Fn(&K) -> Result<S, Error> + Send + Sync;

/// One [`TokenCache`] per key, created on first use from a factory of sources.
///
/// Each key's cache is a full [`TokenCache`], so every key has its guarantees: single flight
/// (10,000 concurrent first requests over 1,000 new keys make exactly 1,000 fetches: racing
/// callers of a new key end up sharing one cache), refresh ahead, invalidation, backoff.
///
/// - **Hit** ([`try_token`](Self::try_token), and [`token`](Self::token) when the key's token is
///   fresh): one hash of the key, then this thread's front table of the keys it hit lately
///   (64 per thread): a key found there is served from the thread's own copy of its token,
///   with no lock and no write to memory another thread touches, under the same checks as a
///   single [`TokenCache`]'s hit (the key's cache still holds that token, and the clock is
///   before its refresh point). Other keys take their shard's read lock and map lookup, and
///   are served from the slot's copy of the key's shared token under the same checks (a
///   lapsed copy is renewed from the key's cache). No allocation, however many keys.
///   [`Tenant`] and [`Scopes`] hash their text once, when built, so a lookup with either
///   hashes a number. [`cache`](Self::cache) and [`cache_and_token`](Self::cache_and_token)
///   use the front table too. A thread whose table serves fewer than four hits per miss
///   (calling on each of many more keys than 64 in turn) stands aside from it for its next
///   4,096 lookups, which go straight to the shards: a miss there costs no more than that.
/// - **Bounded**: at most [`max_keys`](KeyedTokenCacheBuilder::max_keys) keys
///   ([`DEFAULT_MAX_KEYS`]). The keys are spread over a few shards, each holding its share;
///   creating a key in a full shard first evicts the keys idle since the shard was last
///   swept, then, if the shard is still full, keys chosen by a clock sweep (keys used since
///   the last sweep get a second chance).
/// - **Idle keys** (unused for [`idle_timeout`](KeyedTokenCacheBuilder::idle_timeout),
///   [`DEFAULT_KEY_IDLE_TIMEOUT`]) are evicted when a key is created in their shard, or on
///   [`evict_idle`](Self::evict_idle). Nothing runs for an idle key: no task, no timer.
/// - **Eviction never fails a request**: a caller holds its key's cache (a clone, a
///   reference count) for as long as it needs it; an evicted cache lives on until its last
///   user is done. The next caller of an evicted key gets a new cache, which fetches anew,
///   unless the evicted cache still had a fetch in flight or was serving a valid token
///   through the backoff of a failed refresh: then it gets that cache back (the fetch's
///   outcome, the token), as if the key had never been evicted.
/// - **A key's fetch bounds outlive its eviction**: the next cache of an evicted (or
///   [removed](Self::remove)) key keeps to its minimum fetch interval, rejection interval and
///   backoff, so cycling through more keys than the bound (tenant ids an attacker picks, say)
///   calls no key's token endpoint more often than its policy allows. Each shard remembers
///   the bounds still in force of at most as many evicted keys as it holds keys, in a small
///   record (no source, no token; the whole cache in the two cases above) dropped once they
///   lapse; past that many, the records lapsing soonest go first, so an attacker creating
///   more new keys in a shard per minimum fetch interval than the shard holds can make an
///   evicted key fetch early (each early fetch costing it at least a shard's worth of new
///   keys, each a fetch of its own).
///
/// A thread's front table holds the caches of its entries alive: after an eviction or
/// [`remove`](Self::remove) an entry is never served again, but up to 64 removed caches per
/// thread that used this cache may live on until the thread reuses their places or this
/// cache is dropped (a thread's table outlives the thread, for the next thread to use).
///
/// The factory runs under the lock of one shard, exactly once per created key: keep it
/// cheap and free of I/O (share one `reqwest::Client` between the sources it builds).
///
/// ```
/// use bearer_core::{async_trait, AccessToken, Error, KeyedTokenCache, Tenant, Token, TokenSource};
/// use std::time::Duration;
///
/// struct TenantSource(String);
///
/// #[async_trait]
/// impl TokenSource for TenantSource {
///     async fn fetch(&self) -> Result<Token, Error> {
///         let value = format!("token-for-{}", self.0);
///         Token::builder(AccessToken::new(value)).expires_in(Duration::from_secs(3600)).build()
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Error> {
/// let tokens = KeyedTokenCache::builder(|tenant: &Tenant| Ok(TenantSource(tenant.as_str().to_owned())))
///     .max_keys(50_000)
///     .build();
/// let acme = tokens.token(&Tenant::new("acme")).await?;
/// assert_eq!(acme.secret().secret(), "token-for-acme");
/// assert!(tokens.try_token(&Tenant::new("acme")).is_some());
/// # Ok(()) }
/// ```
pub struct KeyedTokenCache<K: Send + Sync, S: Send + Sync> {
    inner: Arc<KeyedInner<K, S>>,
}

struct KeyedInner<K: Send + Sync, S: Send + Sync> {
    factory: Box<Factory<K, S>>,
    policy: RefreshPolicy,
    idle_timeout: Duration,
    max_keys: usize,
    hasher: foldhash::fast::RandomState,
    /// A power of two in number, picked by middle bits of the key's hash (the map in each
    /// shard uses the low bits for the bucket and the top bits for its tags).
    shards: Box<[Shard<K, S>]>,
    shard_mask: usize,
    /// Each thread's keys hit lately, served without the shards' locks.
    front: Front<K, S>,
}

impl<K: Send + Sync, S: Send + Sync> Clone for KeyedTokenCache<K, S> {
    fn clone(&self) -> Self {
        Self { inner: Arc::clone(&self.inner) }
    }
}

impl<K, S> KeyedTokenCache<K, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    S: TokenSource + 'static,
{
    /// Starts a builder: `factory` builds the source of a key when the key is first used
    /// (an error there is returned to that caller, and the key is not created).
    pub fn builder(factory: impl Fn(&K) -> Result<S, Error> + Send + Sync + 'static) -> KeyedTokenCacheBuilder<K, S> {
        KeyedTokenCacheBuilder::new(Box::new(factory))
    }

    /// The token of `key` if its cache exists and its token is fresh, without waiting,
    /// fetching or creating anything; `None` means "call [`token`](Self::token)".
    #[inline]
    pub fn try_token<Q>(&self, key: &Q) -> Option<Arc<Token>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (hash, shard) = self.shard(key);
        // Checked here rather than in the front's lookup: a branch of its own with no offer
        // lets the shard path inline without one (measured: 9 fewer instructions per lookup
        // aside at 100,000 keys, 2 per hit).
        if self.inner.front.aside() {
            return shard.try_token(hash, key, None);
        }
        match self.inner.front.try_token(hash, key, shard.epoch()) {
            Ok(token) => Some(token),
            Err(offer) => shard.try_token(hash, key, offer.then_some((&self.inner.front, &|hash| self.epoch_of(hash)))),
        }
    }

    /// The token of `key`, creating the key's cache on first use and fetching or refreshing
    /// as its policy says.
    pub async fn token(&self, key: &K) -> Result<Arc<Token>, Error> {
        if let Some(token) = self.try_token(key) {
            return Ok(token);
        }
        let cache = self.cache(key)?;
        let token = cache.token().await?;
        // The next hit of the key then reads the slot's copy under the read lock.
        let (hash, shard) = self.shard(key);
        drop(shard.keep_token(hash, &cache));
        Ok(token)
    }

    /// The cache of `key`, created (without I/O) on first use. Hold it for as long as a
    /// request needs its token: eviction of the key does not affect a cache already handed out.
    pub fn cache(&self, key: &K) -> Result<TokenCache<S>, Error> {
        self.cache_and_token(key).map(|(cache, _)| cache)
    }

    /// The cache of `key`, as [`cache`](Self::cache), and in the same lookup its token if it
    /// is fresh: for a caller that holds the cache for as long as a request needs it (to
    /// [`invalidate`](TokenCache::invalidate) a rejected token) and sends the token right away.
    /// `None` means "call the cache's [`token`](TokenCache::token)"; unlike
    /// [`try_token`](Self::try_token) it never starts a refresh.
    ///
    /// ```
    /// use bearer_core::{async_trait, AccessToken, Error, KeyedTokenCache, Tenant, Token, TokenSource};
    /// use std::time::Duration;
    ///
    /// struct TenantSource(String);
    ///
    /// #[async_trait]
    /// impl TokenSource for TenantSource {
    ///     async fn fetch(&self) -> Result<Token, Error> {
    ///         Token::builder(AccessToken::new(format!("token-for-{}", self.0))).expires_in(Duration::from_secs(3600)).build()
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Error> {
    /// let tokens = KeyedTokenCache::builder(|tenant: &Tenant| Ok(TenantSource(tenant.as_str().to_owned()))).build();
    /// let (cache, token) = tokens.cache_and_token(&Tenant::new("acme"))?;
    /// let token = match token {
    ///     Some(token) => token,
    ///     None => cache.token().await?,
    /// };
    /// // ... send the request with `token`; on a 401, `cache.invalidate(&token)` and retry once.
    /// assert_eq!(token.secret().secret(), "token-for-acme");
    /// let (_, again) = tokens.cache_and_token(&Tenant::new("acme"))?;
    /// assert!(again.is_some(), "fresh now");
    /// # Ok(()) }
    /// ```
    pub fn cache_and_token(&self, key: &K) -> Result<(TokenCache<S>, Option<Arc<Token>>), Error> {
        let (hash, shard) = self.shard(key);
        let front = &self.inner.front;
        let offer = if front.aside() {
            false
        } else {
            match front.cache(hash, key, shard.epoch()) {
                Ok((cache, token)) => return Ok((cache, Some(token))),
                Err(offer) => offer,
            }
        };
        match shard.cache(hash, key, offer.then_some((front, &|hash| self.epoch_of(hash)))) {
            Some(found) => Ok(found),
            None => Ok((shard.get_or_create(hash, key, Instant::now(), &self.inner)?, None)),
        }
    }

    /// The cache of `key` if it exists; never creates one.
    pub fn get<Q>(&self, key: &Q) -> Option<TokenCache<S>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (hash, shard) = self.shard(key);
        shard.get(hash, key)
    }

    /// Marks `token` as rejected in `key`'s cache (see [`TokenCache::invalidate`]). Returns
    /// whether this call invalidated it; `false` too when the key has no cache (any more).
    pub fn invalidate<Q>(&self, key: &Q, token: &Token) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get(key).is_some_and(|cache| cache.invalidate(token))
    }

    /// Forgets `key`'s cache now. Returns whether there was one. Its fetch bounds are kept,
    /// as for an evicted key: using the key again does not fetch sooner than they allow.
    pub fn remove<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (hash, shard) = self.shard(key);
        shard.remove(hash, key, Instant::now())
    }

    /// Evicts every key idle for the idle timeout, now rather than when a key is next
    /// created. Returns how many keys were evicted.
    pub fn evict_idle(&self) -> usize {
        let now = Instant::now();
        self.inner.shards.iter().map(|shard| shard.sweep(now, self.inner.idle_timeout)).sum()
    }

    /// How many keys have a cache.
    pub fn len(&self) -> usize {
        self.inner.shards.iter().map(Shard::len).sum()
    }

    /// Whether no key has a cache.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most keys this cache holds.
    pub fn max_keys(&self) -> usize {
        self.inner.max_keys
    }

    /// How many evicted keys' fetch bounds are remembered.
    #[cfg(test)]
    fn evicted_len(&self) -> usize {
        self.inner.shards.iter().map(Shard::evicted_len).sum()
    }

    /// The key's hash, computed once, and its shard.
    #[inline]
    fn shard<Q: Hash + ?Sized>(&self, key: &Q) -> (u64, &Shard<K, S>) {
        let hash = self.inner.hasher.hash_one(key);
        (hash, self.shard_of(hash))
    }

    #[inline]
    fn shard_of(&self, hash: u64) -> &Shard<K, S> {
        &self.inner.shards[(hash >> 32) as usize & self.inner.shard_mask]
    }

    /// The current epoch of the shard of keys of `hash`.
    fn epoch_of(&self, hash: u64) -> u64 {
        self.shard_of(hash).epoch()
    }
}

impl<K, S> KeyedInner<K, S>
where
    K: Send + Sync,
    S: TokenSource + 'static,
{
    /// A new cache for `key`, from the factory.
    fn create(&self, key: &K) -> Result<TokenCache<S>, Error> {
        let source = (self.factory)(key)?;
        Ok(TokenCache::with_policy(source, self.policy.clone()))
    }
}

impl<K: Send + Sync, S: Send + Sync> std::fmt::Debug for KeyedTokenCache<K, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedTokenCache")
            .field("keys", &self.inner.shards.iter().map(Shard::len).sum::<usize>())
            .field("max_keys", &self.inner.max_keys)
            .field("idle_timeout", &self.inner.idle_timeout)
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}
