//! [`KeyedTokenCacheBuilder`]: how a [`KeyedTokenCache`] is configured and built.

use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::front::Front;
use super::shard::Shard;
use super::{Factory, KeyedInner, KeyedTokenCache, DEFAULT_KEY_IDLE_TIMEOUT, DEFAULT_MAX_KEYS, MAX_SHARDS};
use crate::{Error, RefreshPolicy, TokenSource};

/// Configures a [`KeyedTokenCache`]; see [`KeyedTokenCache::builder`].
pub struct KeyedTokenCacheBuilder<K, S> {
    factory: Box<Factory<K, S>>,
    policy: RefreshPolicy,
    idle_timeout: Duration,
    max_keys: usize,
    /// Fixed by tests that need to know which keys share a shard; else from the cores.
    shards: Option<usize>,
}

impl<K, S> KeyedTokenCacheBuilder<K, S> {
    /// The defaults, and `factory`.
    pub(super) fn new(factory: Box<Factory<K, S>>) -> Self {
        Self {
            factory,
            policy: RefreshPolicy::default(),
            idle_timeout: DEFAULT_KEY_IDLE_TIMEOUT,
            max_keys: DEFAULT_MAX_KEYS,
            shards: None,
        }
    }
}

impl<K, S> KeyedTokenCacheBuilder<K, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    S: TokenSource + 'static,
{
    /// The policy of every key's cache.
    pub fn policy(mut self, policy: RefreshPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The most keys held at once (at least 1; default [`DEFAULT_MAX_KEYS`]).
    pub fn max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys.max(1);
        self
    }

    /// How long a key may go unused before it is evicted (default
    /// [`DEFAULT_KEY_IDLE_TIMEOUT`]).
    pub fn idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.idle_timeout = idle_timeout;
        self
    }

    /// Wraps every source the factory builds, e.g. to attach per-key data the caller needs
    /// next to the source. `wrap` runs where the factory does, once per created key.
    pub fn map_source<T>(
        self,
        wrap: impl Fn(&K, S) -> Result<T, Error> + Send + Sync + 'static,
    ) -> KeyedTokenCacheBuilder<K, T> {
        let factory = self.factory;
        KeyedTokenCacheBuilder {
            factory: Box::new(move |key: &K| wrap(key, factory(key)?)),
            policy: self.policy,
            idle_timeout: self.idle_timeout,
            max_keys: self.max_keys,
            shards: self.shards,
        }
    }

    /// One shard (or `count`, a power of two), so tests know which keys compete.
    #[cfg(test)]
    pub(crate) fn shards(mut self, count: usize) -> Self {
        self.shards = Some(count);
        self
    }

    /// Builds the cache. Does no I/O and creates no key.
    pub fn build(self) -> KeyedTokenCache<K, S> {
        let parallelism = std::thread::available_parallelism().map_or(1, usize::from);
        // A power of two no larger than the key bound, so each shard holds at least one key.
        let wanted = self.shards.unwrap_or(parallelism * 4).clamp(1, MAX_SHARDS).min(self.max_keys);
        let count = if wanted.is_power_of_two() { wanted } else { wanted.next_power_of_two() / 2 };
        let per_shard = self.max_keys / count;
        let now = Instant::now();
        KeyedTokenCache {
            inner: Arc::new(KeyedInner {
                factory: self.factory,
                policy: self.policy,
                idle_timeout: self.idle_timeout,
                max_keys: per_shard * count,
                hasher: foldhash::fast::RandomState::default(),
                shards: (0..count)
                    .map(|_| Shard::new(per_shard, crate::token::after_or_never(now, self.idle_timeout)))
                    .collect(),
                shard_mask: count - 1,
                front: Front::new(),
            }),
        }
    }
}

impl<K, S> std::fmt::Debug for KeyedTokenCacheBuilder<K, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedTokenCacheBuilder")
            .field("max_keys", &self.max_keys)
            .field("idle_timeout", &self.idle_timeout)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}
