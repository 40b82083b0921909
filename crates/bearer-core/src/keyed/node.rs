//! What a key's slot in its shard and the front tables' entries share.

use crate::TokenCache;

/// A key and its cache, shared by the shard's map and the front tables of the threads that
/// hit the key lately.
pub(super) struct Node<K, S> {
    pub(super) key: K,
    pub(super) cache: TokenCache<S>,
}
