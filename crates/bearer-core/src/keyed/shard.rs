//! One shard of a [`KeyedTokenCache`](super::KeyedTokenCache): a lock, a map of keys to
//! caches, and the clock sweep that keeps the map within its share of the key bound.

use std::borrow::Borrow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError};
use std::time::Duration;

use hashbrown::HashTable;
use tokio::time::Instant;

use super::evicted::EvictedKeys;
use super::front::Offer;
use super::node::Node;
use super::KeyedInner;
use crate::cache::{Handover, TokenCopy};
use crate::token::after_or_never;
use crate::{Error, Token, TokenCache, TokenSource};

pub(super) struct Shard<K, S> {
    map: RwLock<ShardMap<K, S>>,
    /// Moves on (under the write lock) whenever the map unmaps a key or the sweep clears the
    /// use flags: the front tables' entries of an earlier epoch are not served (see `front`).
    epoch: AtomicU64,
}

struct ShardMap<K, S> {
    /// Keyed by the hash the keyed cache computed once (it picked the shard with it too).
    slots: HashTable<Slot<K, S>>,
    /// This shard's share of the key bound.
    capacity: usize,
    /// Creating a key at or after this instant sweeps idle keys first.
    next_sweep: Instant,
    /// The fetch bounds of evicted keys, for their next caches.
    evicted: EvictedKeys<K, S>,
}

/// A key's cache and what the clock sweep knows of its use.
struct Slot<K, S> {
    hash: u64,
    node: Arc<Node<K, S>>,
    /// Set by every use, cleared by every sweep: the sweep's only view of use, so a hit
    /// reads no clock (and writes nothing when the flag is already up).
    used: AtomicBool,
    /// The last sweep that found the key used, or its creation.
    seen_at: Instant,
    /// The cache's shared token as last seen here, served under the read lock while the cache
    /// would serve it (so a hit behind the front tables reads no `ArcSwap`); renewed under the
    /// write lock by the first lookup that finds it lapsed and the cache's token fresh.
    token: Option<TokenCopy>,
}

impl<K, S: TokenSource + 'static> Slot<K, S> {
    /// The slot's copy of the token, if its cache would serve it.
    #[inline]
    fn token(&self) -> Option<Arc<Token>> {
        self.node.cache.serve(self.token.as_ref()?)
    }
}

impl<K, S> Slot<K, S> {
    #[inline]
    fn touch(&self) {
        if !self.used.load(Ordering::Relaxed) {
            self.used.store(true, Ordering::Relaxed);
        }
    }
}

impl<K: Eq + Clone + Send + Sync, S: TokenSource + 'static> Shard<K, S> {
    pub(super) fn new(capacity: usize, next_sweep: Instant) -> Self {
        let evicted = EvictedKeys::new(capacity);
        Self {
            map: RwLock::new(ShardMap { slots: HashTable::new(), capacity, next_sweep, evicted }),
            epoch: AtomicU64::new(0),
        }
    }

    /// The epoch the front tables' entries of this shard must have been made in.
    #[inline]
    pub(super) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// The hit path behind the front tables: the key's token as its cache serves it without
    /// waiting, from the slot's copy under the read lock (else from the cache, renewing the
    /// copy); with `offer`, then an entry for the key in this thread's front table if it has
    /// room (made outside the lock: it may drop the last hold on an evicted cache).
    #[inline(always)]
    pub(super) fn try_token<Q>(&self, hash: u64, key: &Q, offer: Offer<'_, K, S>) -> Option<Arc<Token>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let (token, node) = self.with_slot(hash, key, |slot, epoch| match slot.token() {
            Some(token) if offer.is_none() => (Some(token), None),
            token => (token, Some((Arc::clone(&slot.node), epoch))),
        })?;
        match node {
            None => token,
            Some((node, epoch)) => self.try_token_then_offer(hash, token, &node, epoch, offer),
        }
    }

    /// The rest of [`try_token`](Self::try_token) when the slot's copy has lapsed (or is not
    /// made yet), or the front table is offered an entry.
    #[cold]
    #[inline(never)]
    fn try_token_then_offer(
        &self,
        hash: u64,
        token: Option<Arc<Token>>,
        node: &Arc<Node<K, S>>,
        epoch: u64,
        offer: Offer<'_, K, S>,
    ) -> Option<Arc<Token>> {
        let token = match token {
            Some(token) => token,
            None => {
                let token = node.cache.try_shared_token()?;
                // Fresh, the copy is renewed; else (a refresh under way) served as it comes.
                self.keep_token(hash, &node.cache);
                token
            }
        };
        if let Some((front, epoch_of)) = offer {
            front.offer(hash, epoch, node, epoch_of);
        }
        Some(token)
    }

    /// Renews the copy of `cache`'s token in its slot (if the slot still holds `cache`), under
    /// the write lock if it is free at once, if its token is fresh; returns that token.
    ///
    /// Never waits for the lock: a hit must not queue behind other threads' lookups (nor
    /// stall them behind a queued writer), and a key comparison run under this shard's read
    /// lock that hits another of its keys must not wait for its own thread. A copy not
    /// renewed now is renewed by a later lookup.
    #[cold]
    pub(super) fn keep_token(&self, hash: u64, cache: &TokenCache<S>) -> Option<Arc<Token>> {
        let copy = cache.shared_copy(cache.now())?;
        let token = copy.token();
        if let Some(mut map) = self.try_write() {
            if let Some(slot) = map.slots.find_mut(hash, |slot| slot.node.cache.same_as(cache)) {
                slot.token = Some(copy);
            }
        }
        Some(token)
    }

    /// `key`'s cache and the slot's copy of its token if still served, found under the read
    /// lock; with `offer`, then an entry for the key in this thread's front table if it has
    /// room.
    #[inline(never)]
    pub(super) fn cache<Q>(
        &self,
        hash: u64,
        key: &Q,
        offer: Offer<'_, K, S>,
    ) -> Option<(TokenCache<S>, Option<Arc<Token>>)>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let ((cache, token), node) = self.with_slot(hash, key, |slot, epoch| {
            ((slot.node.cache.clone(), slot.token()), offer.map(|_| (Arc::clone(&slot.node), epoch)))
        })?;
        let token = token.or_else(|| self.keep_token(hash, &cache));
        if let (Some((front, epoch_of)), Some((node, epoch))) = (offer, node) {
            front.offer(hash, epoch, &node, epoch_of);
        }
        Some((cache, token))
    }

    /// `key`'s cache, if the key has one; a use of the key.
    pub(super) fn get<Q>(&self, hash: u64, key: &Q) -> Option<TokenCache<S>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        self.with_slot(hash, key, |slot, _| slot.node.cache.clone())
    }

    /// `f` of `key`'s slot and the shard's epoch, if the key has one, under the read lock
    /// (which every change of epoch holds for writing); a use of the key.
    #[inline(always)]
    fn with_slot<Q, R>(&self, hash: u64, key: &Q, f: impl FnOnce(&Slot<K, S>, u64) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let map = self.read();
        let slot = map.find(hash, key)?;
        slot.touch();
        Some(f(slot, self.epoch.load(Ordering::Relaxed)))
    }

    /// The cache of `key`, created under the write lock if no caller has created it yet, so
    /// callers racing to create one key all get the same cache.
    #[cold]
    pub(super) fn get_or_create(
        &self,
        hash: u64,
        key: &K,
        now: Instant,
        keyed: &KeyedInner<K, S>,
    ) -> Result<TokenCache<S>, Error>
    where
        K: Clone,
    {
        let mut map = self.write();
        if let Some(slot) = map.find(hash, key) {
            slot.touch();
            return Ok(slot.node.cache.clone());
        }
        // Before the sweep, which may need the key's record's place for the keys it evicts.
        let cache = match map.evicted.take(hash, key, now) {
            Some(Handover::Whole { cache, .. }) => cache,
            bounds => match keyed.create(key) {
                Ok(cache) => {
                    if let Some(Handover::Bounds(throttle)) = bounds {
                        cache.seed_throttle(throttle);
                    }
                    cache
                }
                Err(error) => {
                    if let Some(bounds) = bounds {
                        map.evicted.keep(hash, key.clone(), bounds, now);
                    }
                    unlock(map, ());
                    return Err(error);
                }
            },
        };
        let mut evicted = Vec::new();
        if map.slots.len() >= map.capacity || now >= map.next_sweep {
            map.sweep(now, keyed.idle_timeout, true, &mut evicted);
            self.epoch.fetch_add(1, Ordering::Release);
        }
        let node = Arc::new(Node { key: key.clone(), cache: cache.clone() });
        let slot = Slot { hash, node, used: AtomicBool::new(false), seen_at: now, token: None };
        map.slots.insert_unique(hash, slot, |slot| slot.hash);
        unlock(map, evicted);
        Ok(cache)
    }

    /// Forgets `key`'s cache, remembering its fetch bounds as for an evicted key.
    pub(super) fn remove<Q>(&self, hash: u64, key: &Q, now: Instant) -> bool
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let mut map = self.write();
        let Ok(found) = map.slots.find_entry(hash, |slot| slot.node.key.borrow() == key) else {
            return false;
        };
        let (slot, _) = found.remove();
        self.epoch.fetch_add(1, Ordering::Release);
        // Bounds only: a removed key's next use runs the factory again (new credentials, say).
        if let Some(throttle) = slot.node.cache.throttle(now) {
            map.evicted.keep(slot.hash, slot.node.key.clone(), Handover::Bounds(throttle), now);
        }
        unlock(map, slot);
        true
    }

    /// Evicts the keys idle for `idle_timeout`; returns how many.
    pub(super) fn sweep(&self, now: Instant, idle_timeout: Duration) -> usize {
        let mut map = self.write();
        let mut evicted = Vec::new();
        map.sweep(now, idle_timeout, false, &mut evicted);
        self.epoch.fetch_add(1, Ordering::Release);
        let count = evicted.len();
        unlock(map, evicted);
        count
    }
}

impl<K, S> Shard<K, S> {
    pub(super) fn len(&self) -> usize {
        self.read().slots.len()
    }

    /// How many evicted keys' fetch bounds are remembered.
    #[cfg(test)]
    pub(super) fn evicted_len(&self) -> usize {
        self.read().evicted.len()
    }

    // The map stays consistent if a holder panicked (a factory, under the write lock, runs
    // before the map is touched).
    #[inline]
    fn read(&self) -> RwLockReadGuard<'_, ShardMap<K, S>> {
        self.map.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, ShardMap<K, S>> {
        self.map.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The write lock if no other holder has the lock now.
    fn try_write(&self) -> Option<RwLockWriteGuard<'_, ShardMap<K, S>>> {
        match self.map.try_write() {
            Ok(map) => Some(map),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }
}

impl<K, S> ShardMap<K, S> {
    #[inline]
    fn find<Q>(&self, hash: u64, key: &Q) -> Option<&Slot<K, S>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        self.slots.find(hash, |slot| slot.node.key.borrow() == key)
    }
}

impl<K: Eq + Clone, S: TokenSource + 'static> ShardMap<K, S> {
    /// Evicts idle keys, and with `make_room` when the shard is full, room for one more: first keys
    /// unused since the last sweep, then (every key having been used) keys in map order,
    /// down to 7/8 of the capacity so a full shard is not swept on every creation. The
    /// evicted keys' fetch bounds still in force are remembered; lapsed ones are forgotten.
    /// The evicted slots go into `evicted_slots`, for the caller to drop once it holds no lock.
    fn sweep(&mut self, now: Instant, idle_timeout: Duration, make_room: bool, evicted_slots: &mut Vec<Slot<K, S>>) {
        self.evicted.prune(now);
        let before = self.slots.len();
        let mut excess = if make_room && before >= self.capacity {
            before - (self.capacity - (self.capacity / 8).max(1))
        } else {
            0
        };
        let Self { slots, evicted, .. } = self;
        for slot in slots.extract_if(|slot| {
            if std::mem::replace(slot.used.get_mut(), false) {
                slot.seen_at = now;
                return false;
            }
            let idle = now.saturating_duration_since(slot.seen_at) >= idle_timeout;
            if idle || excess > 0 {
                excess = excess.saturating_sub(1);
                return true;
            }
            false
        }) {
            remember(evicted, &slot, now);
            evicted_slots.push(slot);
        }
        if excess > 0 {
            for slot in slots.extract_if(|_| {
                let evict = excess > 0;
                excess = excess.saturating_sub(1);
                evict
            }) {
                remember(evicted, &slot, now);
                evicted_slots.push(slot);
            }
        }
        self.next_sweep = after_or_never(now, idle_timeout / 2);
    }
}

/// Releases the write lock, then drops `held` and the whole caches the evicted keys' records
/// let go of: any of them may be the last hold on a cache, and dropping a cache drops its
/// source, whose `Drop` may use this shard.
fn unlock<K: Eq, S: TokenSource + 'static, T>(mut map: RwLockWriteGuard<'_, ShardMap<K, S>>, held: T) {
    let released = map.evicted.take_released();
    drop(map);
    drop((held, released));
}

/// Keeps what the key of `slot`, evicted, needs of its cache (if anything) for its next use.
fn remember<K: Eq + Clone, S: TokenSource + 'static>(evicted: &mut EvictedKeys<K, S>, slot: &Slot<K, S>, now: Instant) {
    if let Some(handover) = slot.node.cache.handover(now) {
        evicted.keep(slot.hash, slot.node.key.clone(), handover, now);
    }
}
