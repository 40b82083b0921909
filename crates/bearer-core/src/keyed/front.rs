//! Each thread's front table of the keys it hit lately, in front of the shards: a hit on a key
//! found there takes no lock, probes no map, and writes nothing another thread touches. It
//! reads the key's shard epoch, the key's cache generation and the clock, and bumps a
//! reference count of its own.
//!
//! An entry holds the key's node (its key and cache, shared with the shard's map), the epoch
//! its shard had when the entry was made, and this thread's copy of the cache's token with its
//! generation and refresh point. A shard moves to a new epoch (under its write lock) whenever it
//! unmaps a key or clears the use flags its clock sweep reads: on every sweep and every
//! removal. So an entry whose epoch is its shard's current one names a key the shard still maps
//! to that very cache, and whose use flag is still up; its copy is then served under the rule
//! of the cache's own per-thread copies: only while the cache's installed generation is the
//! copy's and the clock is before the copy's refresh point. Anything else goes to the shard
//! (which marks the key used, as any lookup there does).
//!
//! An entry is made (one allocation, the copy) only into a way that is empty or holds an entry
//! that can no longer be served, so with any number of keys a hit allocates nothing: keys
//! without an entry are served through their shard. An entry of an earlier epoch whose copy is
//! still served takes the new epoch when its key is next found in the shard, keeping its copy,
//! so a sweep or a removal does not make every thread copy every key's token again.
//!
//! A table pays only when its keys come back: a lookup that misses it costs the table's scan
//! on top of the shard's. So each entry counts its hits, and every [`RECHECK`]th miss on a
//! full set sums and clears the counts; fewer than [`HITS_PER_MISS`] hits per such miss (a
//! thread calling on each of many more keys than its table holds, or a working set just too
//! large for it) and the thread stands aside from the table for its next [`ASIDE_FOR`]
//! lookups of this keyed cache: they go straight to their shards, with no offer, which is the
//! path every miss takes anyway. A per-thread static holds which table (by its front's
//! address) and how many lookups are left, so standing aside costs a lookup one load and a
//! compare, and the hit path the same plus its entry's count. Then the table is tried again.
//! While another keyed cache's table holds that static, a table stands aside on a count of its
//! own, read once the lookup has reached the table; each such lookup also wears the holder's
//! count down, and takes the static once that is spent (so an idle holder does not keep it).
//!
//! An entry holds its node's cache alive. After an eviction or removal it is never served
//! again, but the cache lives on until the way is reused or the keyed cache is dropped: at
//! most 64 caches ([`SETS`] × [`WAYS`]) per thread that used the keyed cache (the table of a thread that
//! exits is kept for the next thread).

use std::borrow::Borrow;
use std::cell::{Cell, RefCell};
use std::sync::Arc;

use thread_local::ThreadLocal;

use super::node::Node;
use crate::cache::TokenCopy;
use crate::{Token, TokenCache, TokenSource};

/// Sets per table (a power of two), each of [`WAYS`] entries.
const SETS: usize = 16;
pub(super) const WAYS: usize = 4;
/// Entries per thread.
#[cfg(test)]
pub(super) const ENTRIES: usize = SETS * WAYS;

/// The front tables of one keyed cache, one per thread that used it.
pub(super) struct Front<K: Send + Sync, S: Send + Sync> {
    tables: ThreadLocal<Table<K, S>>,
}

struct Table<K, S> {
    sets: RefCell<Box<[Set<K, S>; SETS]>>,
    /// Misses on a full set, counted so that every [`RECHECK`]th one looks for ways that can no
    /// longer be served (cheap lookups only see empty ways).
    misses: Cell<u32>,
    /// How many more of this thread's lookups stand aside from the table, if another keyed
    /// cache's table held [`ASIDE`] when this one stood aside (otherwise `ASIDE` counts them).
    aside: Cell<u32>,
}

type Set<K, S> = [Option<Entry<K, S>>; WAYS];

/// An offer of an entry to this thread's front table: the table, and the current epoch of the
/// shard of a hash.
pub(super) type Offer<'a, K, S> = Option<(&'a Front<K, S>, &'a dyn Fn(u64) -> u64)>;

/// A miss on a full set looks for a way that can no longer be served once in this many.
pub(super) const RECHECK: u32 = 64;
/// When the table's entries served fewer than this many hits per miss on a full set over the
/// last [`RECHECK`] such misses, the thread's table stands aside for [`ASIDE_FOR`] lookups.
pub(super) const HITS_PER_MISS: u32 = 4;
pub(super) const ASIDE_FOR: u32 = 4096;

thread_local! {
    /// The front table this thread stands aside from (by its [`Front`]'s address), and for how
    /// many more lookups: a thread whose keys do not fit its table (each call on another of
    /// many keys) sends them straight to their shards instead of missing its table first.
    static ASIDE: Cell<(usize, u32)> = const { Cell::new((0, 0)) };
}

struct Entry<K, S> {
    hash: u64,
    epoch: u64,
    node: Arc<Node<K, S>>,
    /// This thread's own copy of the token (detached: its reference count is this thread's).
    copy: TokenCopy,
    /// Hits the entry served since the last [`recheck`](Front::recheck).
    hits: Cell<u32>,
}

/// The set of a key's hash: bits neither the shard index nor the shard's map leans on most.
#[inline]
pub(super) fn set(hash: u64) -> usize {
    (hash >> 16) as usize & (SETS - 1)
}

impl<K: Send + Sync, S: Send + Sync> Front<K, S> {
    pub(super) fn new() -> Self {
        Self { tables: ThreadLocal::new() }
    }

    /// This front's identity for [`ASIDE`]: its address (it lives in its keyed cache's `Arc`;
    /// a later front at the same address may inherit up to [`ASIDE_FOR`] lookups aside, which
    /// costs it nothing but speed).
    #[inline]
    fn id(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// How many more of this thread's lookups stand aside from its table.
    #[cfg(test)]
    pub(super) fn aside_left(&self) -> u32 {
        let (id, left) = ASIDE.get();
        let held = self.tables.get().map_or(0, |table| table.aside.get());
        if id == self.id() {
            left + held
        } else {
            held
        }
    }

    /// Whether this front holds [`ASIDE`] (its lookups aside skip its table unlooked).
    #[cfg(test)]
    pub(super) fn holds_aside(&self) -> bool {
        let (id, left) = ASIDE.get();
        id == self.id() && left > 0
    }

    /// Forgets this thread's standing aside (a test's thread may have stood aside from an
    /// earlier test's front at the same address).
    #[cfg(test)]
    pub(super) fn clear_aside() {
        ASIDE.set((0, 0));
    }

    /// Whether this thread stands aside from its table for this lookup (counting it).
    #[inline]
    pub(super) fn aside(&self) -> bool {
        let (id, left) = ASIDE.get();
        if left == 0 || id != self.id() {
            return false;
        }
        ASIDE.set((id, left - 1));
        true
    }

    /// A lookup aside on the table's own count (another front held [`ASIDE`] when this table
    /// stood aside). It wears down the holder's count too, so a front that stopped looking
    /// anything up does not hold [`ASIDE`] for ever; once that count is spent, this table's
    /// rest moves there, and its lookups skip the table unlooked again.
    #[cold]
    #[inline(never)]
    fn aside_on_own_count(&self, table: &Table<K, S>, aside: u32) {
        match ASIDE.get() {
            (_, 0 | 1) => {
                ASIDE.set((self.id(), aside - 1));
                table.aside.set(0);
            }
            (id, left) => {
                ASIDE.set((id, left - 1));
                table.aside.set(aside - 1);
            }
        }
    }
}

impl<K: Send + Sync, S: TokenSource + 'static> Front<K, S> {
    /// `f` of this thread's entry for `key` made in `epoch`, its shard's current epoch, if
    /// the table has one (and `f` gives `Some`); otherwise whether the caller, having found
    /// the key in its shard, should [`offer`](Self::offer) it an entry (never while the
    /// table's own count says this thread stands aside from it).
    #[inline(always)]
    fn lookup<Q, R>(&self, hash: u64, key: &Q, epoch: u64, f: impl FnOnce(&Entry<K, S>) -> Option<R>) -> Result<R, bool>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let Some(table) = self.tables.get() else {
            return Err(true);
        };
        let aside = table.aside.get();
        if aside > 0 {
            self.aside_on_own_count(table, aside);
            return Err(false);
        }
        let Ok(sets) = table.sets.try_borrow() else {
            return Err(false);
        };
        let ways = &sets[set(hash)];
        match ways.iter().flatten().find(|entry| entry.hash == hash) {
            Some(entry) if entry.epoch == epoch && entry.node.key.borrow() == key => {
                entry.hits.set(entry.hits.get().wrapping_add(1));
                f(entry).ok_or(true)
            }
            // The key's entry, stale (offering replaces it), or the first of another key of the
            // same hash (offering never pushes a live entry out: the key goes to its shard).
            Some(_) => Err(true),
            None if ways.iter().any(Option::is_none) => Err(true),
            None => {
                let misses = table.misses.get().wrapping_add(1);
                table.misses.set(misses);
                if misses % RECHECK != 0 {
                    return Err(false);
                }
                self.recheck(table, &sets);
                Err(true)
            }
        }
    }

    /// Every [`RECHECK`]th miss on a full set: unless the entries served [`HITS_PER_MISS`]
    /// hits per such miss since the last one, too few of the keys this thread looks up fit
    /// its table for the table to pay for its misses, and it stands aside.
    #[cold]
    #[inline(never)]
    fn recheck(&self, table: &Table<K, S>, sets: &[Set<K, S>; SETS]) {
        let hits = sets.iter().flatten().flatten().fold(0u32, |hits, entry| hits.saturating_add(entry.hits.replace(0)));
        if hits < RECHECK * HITS_PER_MISS {
            // [`ASIDE`] for the one table a thread stands aside from (its lookups then skip
            // this one entirely); the table's own count for others meanwhile.
            match ASIDE.get() {
                (id, left) if left > 0 && id != self.id() => table.aside.set(ASIDE_FOR),
                _ => ASIDE.set((self.id(), ASIDE_FOR)),
            }
        }
    }

    /// This thread's copy of `key`'s token, if its table has an entry for `key` made in
    /// `epoch` whose copy is still served; else `Err` as for [`lookup`](Self::lookup).
    #[inline(always)]
    pub(super) fn try_token<Q>(&self, hash: u64, key: &Q, epoch: u64) -> Result<Arc<Token>, bool>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        self.lookup(hash, key, epoch, |entry| entry.node.cache.serve(&entry.copy))
    }

    /// `key`'s cache and this thread's copy of its token, if this thread's table has an entry
    /// for `key` made in `epoch` whose copy is still served; else `Err` as for
    /// [`lookup`](Self::lookup) (the shard then renews the entry).
    #[inline(always)]
    pub(super) fn cache<Q>(&self, hash: u64, key: &Q, epoch: u64) -> Result<(TokenCache<S>, Arc<Token>), bool>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        self.lookup(hash, key, epoch, |entry| Some((entry.node.cache.clone(), entry.node.cache.serve(&entry.copy)?)))
    }

    /// Makes an entry for `node`, found in its shard's map in `epoch`, with a copy of its
    /// cache's token if that is fresh (one allocation), in a way of this thread's set for
    /// `hash` that is empty, holds an entry of the same node, or holds one that can no longer
    /// be served (`epoch_of` says a hash's shard's current epoch). A live entry of another key
    /// is never pushed out, whatever its hash. An entry of `node` whose copy is still served
    /// only takes `epoch` (no new copy). Call it holding no lock: the entry it replaces may be
    /// the last hold on an evicted cache, and dropping a cache drops its source.
    pub(super) fn offer(&self, hash: u64, epoch: u64, node: &Arc<Node<K, S>>, epoch_of: impl Fn(u64) -> u64) {
        let table = self.tables.get_or(|| Table {
            sets: RefCell::new(Box::new(std::array::from_fn(|_| [const { None }; WAYS]))),
            misses: Cell::new(0),
            aside: Cell::new(0),
        });
        let Ok(mut sets) = table.sets.try_borrow_mut() else {
            return;
        };
        // Every key's cache runs on the same clock (tokio's).
        let now = node.cache.now();
        let ways = &mut sets[set(hash)];
        // The node's entry whose copy is still served, made in an earlier epoch (a sweep or a
        // removal of any key of the shard since): only its epoch is out of date.
        if let Some(entry) = ways.iter_mut().flatten().find(|entry| Arc::ptr_eq(&entry.node, node)) {
            if node.cache.is_live(&entry.copy, now) {
                entry.epoch = epoch;
                return;
            }
        }
        let Some(way) = ways.iter().position(|way| {
            way.as_ref().is_none_or(|entry| {
                Arc::ptr_eq(&entry.node, node)
                    || entry.epoch != epoch_of(entry.hash)
                    || !entry.node.cache.is_live(&entry.copy, now)
            })
        }) else {
            return;
        };
        let Some(copy) = node.cache.detached_copy(now) else {
            return;
        };
        let replaced = ways[way].replace(Entry { hash, epoch, node: Arc::clone(node), copy, hits: Cell::new(0) });
        drop(sets);
        // After the borrow: dropping a cache runs its source's `Drop`, which may use this table.
        drop(replaced);
    }
}
