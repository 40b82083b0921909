//! What a shard remembers of the keys it evicted: each one's fetch bounds still in force (the
//! last fetch, the last rejection, the backoff), so that a key used again after its eviction
//! gets a cache that keeps to them. Without it, cycling through more keys than the bound (or
//! an attacker choosing tenant ids) would call a key's token endpoint once per re-creation,
//! whatever its minimum fetch interval, rejection interval or backoff say.
//!
//! A record is small (no source, no token; see `a_record_costs_at_most_256_bytes`), lasts only
//! while its bounds do, and the shard holds at most as many records as keys. A key evicted
//! while its cache holds what no record can carry (a fetch in flight, a valid token served
//! through a backoff) keeps its cache itself instead, taken back on the key's next use, until
//! neither applies any more: the fetch's outcome lands where the key's callers find it, and a
//! valid token is not replaced by the failure that started its backoff.

use std::borrow::Borrow;

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;
use tokio::time::Instant;

use crate::cache::Handover;
use crate::{TokenCache, TokenSource};

/// The evicted keys of one shard whose fetch bounds are still in force.
pub(super) struct EvictedKeys<K, S> {
    records: HashTable<Evicted<K, S>>,
    /// The most records held; past it the records lapsing soonest are dropped first.
    capacity: usize,
    /// Whole caches the records let go of, for the shard to drop once it holds no lock
    /// (dropping a cache drops its source, whose `Drop` may use the shard).
    released: Vec<TokenCache<S>>,
}

struct Evicted<K, S> {
    hash: u64,
    key: K,
    handover: Handover<S>,
}

impl<K: Eq, S: TokenSource + 'static> EvictedKeys<K, S> {
    pub(super) fn new(capacity: usize) -> Self {
        Self { records: HashTable::new(), capacity: capacity.max(1), released: Vec::new() }
    }

    /// The whole caches let go of since the last call, to drop after the shard's lock.
    pub(super) fn take_released(&mut self) -> Vec<TokenCache<S>> {
        std::mem::take(&mut self.released)
    }

    /// Remembers `handover` for `key`, replacing an older record of it.
    pub(super) fn keep(&mut self, hash: u64, key: K, handover: Handover<S>, now: Instant) {
        if self.records.len() >= self.capacity {
            self.make_room(now);
        }
        match self.records.entry(hash, |record| record.key == key, |record| record.hash) {
            Entry::Occupied(mut found) => {
                let old = std::mem::replace(&mut found.get_mut().handover, handover);
                release(&mut self.released, old);
            }
            Entry::Vacant(place) => {
                place.insert(Evicted { hash, key, handover });
            }
        }
    }

    /// The record of `key`, removed, if its bounds are still in force at `now` (a whole cache
    /// is always given back: it is the key's own, as if never evicted).
    pub(super) fn take<Q>(&mut self, hash: u64, key: &Q, now: Instant) -> Option<Handover<S>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let found = self.records.find_entry(hash, |record| record.key.borrow() == key).ok()?;
        let (record, _) = found.remove();
        Some(record.handover)
            .filter(|handover| matches!(handover, Handover::Whole { .. }) || handover.lapses_at() > now)
    }

    /// Forgets the records whose bounds have all lapsed at `now`; a whole cache whose fetch
    /// has landed and whose backoff is over shrinks to its bounds (or goes).
    pub(super) fn prune(&mut self, now: Instant) {
        let Self { records, released, .. } = self;
        // The whole handovers that shrank to their bounds (rare: a key evicted mid-fetch).
        let mut shrunk = Vec::new();
        for lapsed in records.extract_if(|record| {
            if let Handover::Whole { cache, .. } = &record.handover {
                match cache.handover(now) {
                    Some(handover) => shrunk.push(std::mem::replace(&mut record.handover, handover)),
                    None => return true,
                }
            }
            record.handover.lapses_at() <= now
        }) {
            release(released, lapsed.handover);
        }
        for handover in shrunk {
            release(released, handover);
        }
    }

    /// Drops the lapsed records, then, if still full, the eighth lapsing soonest (so a full
    /// table is not searched on every eviction): the bounds they carry end first.
    #[cold]
    fn make_room(&mut self, now: Instant) {
        self.prune(now);
        if self.records.len() < self.capacity {
            return;
        }
        let mut lapses: Vec<Instant> = self.records.iter().map(|record| record.handover.lapses_at()).collect();
        let nth = (self.capacity / 8).max(1) - 1;
        let threshold = *lapses.select_nth_unstable(nth).1;
        let Self { records, released, .. } = self;
        for dropped in records.extract_if(|record| record.handover.lapses_at() <= threshold) {
            release(released, dropped.handover);
        }
    }
}

/// Keeps `handover`'s cache, if it holds one, in `released`.
fn release<S>(released: &mut Vec<TokenCache<S>>, handover: Handover<S>) {
    if let Handover::Whole { cache, .. } = handover {
        released.push(cache);
    }
}

#[cfg(test)]
impl<K, S> EvictedKeys<K, S> {
    pub(super) fn len(&self) -> usize {
        self.records.len()
    }

    /// Bytes of the record table, for the memory measurement.
    pub(super) fn allocation_size(&self) -> usize {
        self.records.allocation_size()
    }
}
