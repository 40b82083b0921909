//! Ready-made keys for a [`KeyedTokenCache`](super::KeyedTokenCache): a set of scopes and a
//! tenant. Any `Hash + Eq + Clone + Send + Sync` type can be a key; these two are the common
//! ones, and cheap to clone (a reference count) so a request can carry one.

use std::fmt;
use std::sync::Arc;

/// A set of OAuth2 scopes, as one key: order and repetition do not matter, so
/// `["b", "a", "a"]` and `"a b"` are the same key.
///
/// [`as_str`](Self::as_str) is the space-separated form the `scope` parameter of a token
/// request takes.
///
/// ```
/// use bearer_core::Scopes;
/// let scopes = Scopes::from(["orders:write", "orders:read"]);
/// assert_eq!(scopes, Scopes::from(["orders:read orders:write"]));
/// assert_eq!(scopes.as_str(), "orders:read orders:write");
/// ```
#[derive(Clone, Eq, PartialOrd, Ord)]
pub struct Scopes(Arc<str>);

/// Hashes the text: values equal by pointer are equal by text, so this agrees with `eq`.
impl std::hash::Hash for Scopes {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialEq for Scopes {
    /// Clones of one value (a key kept and cloned onto each request) compare without reading
    /// the text.
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl Scopes {
    /// The scopes, sorted, separated by single spaces.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Each scope, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.split(' ').filter(|scope| !scope.is_empty())
    }

    /// Whether the set holds no scope.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<S: AsRef<str>> FromIterator<S> for Scopes {
    /// Each item may itself hold several space-separated scopes.
    fn from_iter<I: IntoIterator<Item = S>>(items: I) -> Self {
        let mut scopes: Vec<String> = Vec::new();
        for item in items {
            scopes.extend(item.as_ref().split_whitespace().map(str::to_owned));
        }
        scopes.sort_unstable();
        scopes.dedup();
        Scopes(Arc::from(scopes.join(" ")))
    }
}

impl<S: AsRef<str>, const N: usize> From<[S; N]> for Scopes {
    fn from(items: [S; N]) -> Self {
        items.into_iter().collect()
    }
}

impl From<&str> for Scopes {
    fn from(scopes: &str) -> Self {
        [scopes].into_iter().collect()
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Scopes").field(&self.as_str()).finish()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tenant (customer, account, entity, instance) of a service acting for many, as one key.
///
/// ```
/// use bearer_core::Tenant;
/// let acme = Tenant::new("acme");
/// assert_eq!(acme.as_str(), "acme");
/// ```
#[derive(Clone, Eq, PartialOrd, Ord)]
pub struct Tenant(Arc<str>);

/// Hashes the text: values equal by pointer are equal by text, so this agrees with `eq`.
impl std::hash::Hash for Tenant {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialEq for Tenant {
    /// Clones of one value compare without reading the text.
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl Tenant {
    /// The tenant named `id`.
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        Tenant(id.into())
    }

    /// The tenant's id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Tenant").field(&self.as_str()).finish()
    }
}

impl fmt::Display for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_ignore_order_repetition_and_spacing() {
        let a = Scopes::from(["orders:read", "orders:write orders:read"]);
        let b: Scopes = ["  orders:write", "orders:read  "].into_iter().collect();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "orders:read orders:write");
        assert_eq!(a.iter().collect::<Vec<_>>(), ["orders:read", "orders:write"]);
        assert_ne!(a, Scopes::from("orders:read"));
        assert!(Scopes::from("   ").is_empty());
        assert_eq!(Scopes::from("   ").iter().count(), 0);
    }

    #[test]
    fn keys_print_what_they_name() {
        assert_eq!(format!("{:?}", Scopes::from("a b")), "Scopes(\"a b\")");
        assert_eq!(Tenant::new("acme").to_string(), "acme");
        assert_eq!(format!("{:?}", Tenant::new(String::from("acme"))), "Tenant(\"acme\")");
    }
}
