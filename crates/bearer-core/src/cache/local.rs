//! Per-thread copies of fresh tokens, so a hit writes no memory that another thread touches:
//! it reads the cache's generation and the clock, and bumps a reference count of its own.
//!
//! Each thread has a small direct-mapped table: a cache's copy lives in the slot its id picks.
//! A copy is served only while the cache's installed generation is the one the copy was made
//! from and the clock is before that generation's refresh point (both checked on every hit),
//! so a copy can never be served past the point the shared token would not be. Generations are
//! never reused within a cache, and cache ids never within a process.
//!
//! A copy is made (one allocation) only into a free slot, a slot holding an older copy of the
//! same cache, or a slot whose copy is past its refresh point. A live copy of another cache is
//! never pushed out, so with any number of caches on a thread a hit allocates nothing: the
//! caches without a slot are served from the shared token.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::time::Instant;

use super::TokenCopy;
use crate::Token;

/// Slots per thread (a power of two).
const SLOTS: usize = 8;

static NEXT_CACHE_ID: AtomicU64 = AtomicU64::new(1);

/// A process-unique cache id.
pub(super) fn new_cache_id() -> u64 {
    NEXT_CACHE_ID.fetch_add(1, Ordering::Relaxed)
}

/// One thread's copy of one cache's token.
struct ThreadCopy {
    cache: u64,
    copy: TokenCopy,
}

thread_local! {
    static COPIES: RefCell<[Option<ThreadCopy>; SLOTS]> = const { RefCell::new([const { None }; SLOTS]) };
}

#[inline]
fn slot(cache: u64) -> usize {
    (cache as usize) & (SLOTS - 1)
}

/// This thread's copy of `cache`'s token of `generation`, if it has one and `now` is before
/// its refresh point.
#[inline]
pub(super) fn get(cache: u64, generation: u64, now: Instant) -> Option<Arc<Token>> {
    COPIES
        .try_with(|copies| {
            let copies = copies.try_borrow().ok()?;
            let held = copies[slot(cache)].as_ref()?;
            (held.cache == cache && held.copy.live(generation, now)).then(|| held.copy.token())
        })
        .ok()
        .flatten()
}

/// Keeps a detached copy of `token` as `cache`'s token of `generation` on this thread, if its
/// slot is free, holds an older copy of `cache`, or holds a copy that can no longer be served.
pub(super) fn offer(cache: u64, generation: u64, refresh_at: Instant, token: &Token, now: Instant) {
    let _ = COPIES.try_with(|copies| {
        let Ok(mut copies) = copies.try_borrow_mut() else {
            return;
        };
        let entry = &mut copies[slot(cache)];
        let replace = match entry {
            None => true,
            Some(ThreadCopy { cache: held, copy }) if *held == cache => copy.generation != generation,
            Some(ThreadCopy { copy, .. }) => now >= copy.refresh_at,
        };
        if replace {
            let copy = TokenCopy { generation, refresh_at, token: Arc::new(token.detached()) };
            *entry = Some(ThreadCopy { cache, copy });
        }
    });
}

/// Forgets this thread's copy of `cache`'s token (a dropped cache, so its secret is not kept
/// alive by this thread).
pub(super) fn forget(cache: u64) {
    let _ = COPIES.try_with(|copies| {
        if let Ok(mut copies) = copies.try_borrow_mut() {
            let entry = &mut copies[slot(cache)];
            if entry.as_ref().is_some_and(|copy| copy.cache == cache) {
                *entry = None;
            }
        }
    });
}
