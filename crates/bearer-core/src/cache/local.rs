//! Per-thread copies of fresh tokens, so the hot path writes no memory that another thread
//! touches: it reads the cache's freshness mark and bumps a reference count of its own.
//!
//! Each thread keeps, for the few caches it uses, its own detached copy of the token it last
//! saw (its own allocation, its own header bytes) with the generation it was installed as. A copy is only served while the cache's freshness mark
//! still holds that same generation: generations are never reused within a cache, and cache
//! ids are never reused within a process, so a matching copy *is* the fresh token.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::Token;

/// How many caches a thread remembers; past that the least recently refilled is forgotten.
const PER_THREAD: usize = 4;

static NEXT_CACHE_ID: AtomicU64 = AtomicU64::new(1);

/// A process-unique cache id.
pub(super) fn new_cache_id() -> u64 {
    NEXT_CACHE_ID.fetch_add(1, Ordering::Relaxed)
}

struct Copy {
    cache: u64,
    generation: u64,
    token: Arc<Token>,
}

thread_local! {
    static COPIES: RefCell<Vec<Copy>> = const { RefCell::new(Vec::new()) };
}

/// This thread's copy of `cache`'s token of `generation`, if it has it.
#[inline]
pub(super) fn get(cache: u64, generation: u64) -> Option<Arc<Token>> {
    COPIES
        .try_with(|copies| {
            let copies = copies.try_borrow().ok()?;
            let copy = copies.iter().find(|c| c.cache == cache)?;
            (copy.generation == generation).then(|| Arc::clone(&copy.token))
        })
        .ok()
        .flatten()
}

/// Remembers a detached copy of `token` as `cache`'s token of `generation` on this thread,
/// and returns it.
pub(super) fn put(cache: u64, generation: u64, token: &Token) -> Option<Arc<Token>> {
    COPIES
        .try_with(|copies| {
            let mut copies = copies.try_borrow_mut().ok()?;
            let copy = Copy { cache, generation, token: Arc::new(token.detached()) };
            match copies.iter().position(|c| c.cache == cache) {
                Some(i) => copies[i] = copy,
                None if copies.len() < PER_THREAD => copies.push(copy),
                None => {
                    copies.remove(0);
                    copies.push(copy);
                }
            }
            copies.iter().find(|c| c.cache == cache).map(|c| Arc::clone(&c.token))
        })
        .ok()
        .flatten()
}

/// Forgets this thread's copy of `cache`'s token (a dropped cache, so its secret is not kept
/// alive by this thread).
pub(super) fn forget(cache: u64) {
    let _ = COPIES.try_with(|copies| {
        if let Ok(mut copies) = copies.try_borrow_mut() {
            copies.retain(|c| c.cache != cache);
        }
    });
}
