//! What a shared token is for, and the Redis keys that follow from it.

use sha2::{Digest, Sha256};

/// The prefix of every key, unless [`SharedTokenSourceBuilder::key_prefix`] says otherwise.
///
/// [`SharedTokenSourceBuilder::key_prefix`]: crate::SharedTokenSourceBuilder::key_prefix
pub const DEFAULT_KEY_PREFIX: &str = "bearer:";

/// What a token is for: the token endpoint, the client, the grant, the scope and the
/// audience. Two sources with the same identity share one token in Redis; any difference
/// gives them separate entries.
///
/// It holds no secret and must not be given one: it names the token, it does not prove
/// anything. The Redis key is a SHA-256 of these fields, so the key reveals none of them.
///
/// ```
/// use bearer_redis::TokenIdentity;
///
/// let identity = TokenIdentity::new("https://auth.example.com/oauth/token", "my-client")
///     .grant("client_credentials")
///     .scope("orders:read")
///     .audience("https://api.example.com");
/// # let _ = identity;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenIdentity {
    token_endpoint: String,
    client_id: String,
    grant: String,
    scope: String,
    audience: String,
}

impl TokenIdentity {
    /// A client's tokens from one token endpoint (grant `client_credentials`, no scope, no
    /// audience until set).
    pub fn new(token_endpoint: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            token_endpoint: token_endpoint.into(),
            client_id: client_id.into(),
            grant: "client_credentials".into(),
            scope: String::new(),
            audience: String::new(),
        }
    }

    /// The grant type (`client_credentials`, `password`, a provider's own name).
    pub fn grant(mut self, grant: impl Into<String>) -> Self {
        self.grant = grant.into();
        self
    }

    /// The scope requested.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// The audience (or resource) requested.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// `{prefix}{<hash>}`: the part shared by the entry and its lease. The braces are a Redis
    /// Cluster hash tag, so both keys live on one node and one script can touch both.
    pub(crate) fn key_base(&self, prefix: &str) -> String {
        let mut hash = Sha256::new();
        for field in [&self.token_endpoint, &self.client_id, &self.grant, &self.scope, &self.audience] {
            // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
            hash.update((field.len() as u64).to_be_bytes());
            hash.update(field.as_bytes());
        }
        let digest = hash.finalize();
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("{prefix}{{{hex}}}")
    }
}

/// The two Redis keys of one identity.
#[derive(Debug, Clone)]
pub(crate) struct SharedKeys {
    /// Holds the sealed token.
    pub(crate) entry: String,
    /// Held by the one process fetching a new token.
    pub(crate) lease: String,
}

impl SharedKeys {
    pub(crate) fn new(identity: &TokenIdentity, prefix: &str) -> Self {
        let base = identity.key_base(prefix);
        Self { entry: format!("{base}:token"), lease: format!("{base}:lease") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_changes_the_key_and_none_appears_in_it() {
        let base = TokenIdentity::new("https://auth.example.com/token", "client-a");
        let variants = [
            base.clone(),
            TokenIdentity::new("https://auth.example.com/other", "client-a"),
            TokenIdentity::new("https://auth.example.com/token", "client-b"),
            base.clone().grant("password"),
            base.clone().scope("read"),
            base.clone().audience("https://api.example.com"),
        ];
        let keys: Vec<String> = variants.iter().map(|i| i.key_base("p:")).collect();
        for (n, key) in keys.iter().enumerate() {
            assert!(key.starts_with("p:{") && key.ends_with('}'), "{key}");
            assert!(!key.contains("client") && !key.contains("example"), "{key}");
            assert_eq!(keys.iter().filter(|k| *k == key).count(), 1, "variant {n} collides");
        }
        assert_eq!(
            base.key_base("p:"),
            TokenIdentity::new("https://auth.example.com/token", "client-a").key_base("p:")
        );
    }

    #[test]
    fn fields_are_length_prefixed() {
        let a = TokenIdentity::new("ab", "c").key_base("");
        let b = TokenIdentity::new("a", "bc").key_base("");
        assert_ne!(a, b);
    }

    #[test]
    fn entry_and_lease_share_one_hash_tag() {
        let keys = SharedKeys::new(&TokenIdentity::new("e", "c"), "x:");
        let tag = |k: &str| k[k.find('{').unwrap_or(0)..=k.find('}').unwrap_or(0)].to_owned();
        assert_eq!(tag(&keys.entry), tag(&keys.lease));
        assert_ne!(keys.entry, keys.lease);
    }
}
