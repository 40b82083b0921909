//! Ready-made keys for a [`KeyedTokenCache`](super::KeyedTokenCache): a set of scopes and a
//! tenant. Any `Hash + Eq + Clone + Send + Sync` type can be a key; these two are the common
//! ones, and cheap to clone (a reference count) so a request can carry one. Each hashes its
//! text once, when it is built, so looking one up in a keyed cache hashes a number.

use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, LazyLock};

/// Hashes the text of every key built in this process, with a per-process random seed (so
/// keys an attacker picks cannot be made to collide on purpose).
static TEXT_HASHER: LazyLock<foldhash::quality::RandomState> = LazyLock::new(Default::default);

/// A key's text, shared by its clones, and the text's hash, computed once.
#[derive(Clone)]
struct KeyText {
    text: Arc<str>,
    hash: u64,
}

impl KeyText {
    fn new(text: Arc<str>) -> Self {
        let hash = TEXT_HASHER.hash_one(&*text);
        Self { text, hash }
    }
}

/// Hashes the text's hash: equal texts have equal hashes, so this agrees with `eq`.
impl Hash for KeyText {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PartialEq for KeyText {
    /// Clones of one value (a key kept and cloned onto each request) compare without reading
    /// the text; different texts mostly differ in their hashes already.
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.text, &other.text) || (self.hash == other.hash && same_text(&self.text, &other.text))
    }
}

/// Whether two texts are the same, for keys of equal hash: a key built per request (a
/// `Tenant::new` for each request) is compared with the keyed cache's own. Texts of 4 to 32
/// bytes compare as two overlapping words each, inline, so the hit makes no call; others
/// call `memcmp`, out of the lookup's way.
#[inline]
fn same_text(a: &str, b: &str) -> bool {
    fn ends<const N: usize>(text: &[u8]) -> (Option<&[u8; N]>, Option<&[u8; N]>) {
        (text.first_chunk(), text.last_chunk())
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len()
        && match a.len() {
            4..=8 => ends::<4>(a) == ends::<4>(b),
            9..=16 => ends::<8>(a) == ends::<8>(b),
            17..=32 => ends::<16>(a) == ends::<16>(b),
            _ => other_same_text(a, b),
        }
}

#[cold]
#[inline(never)]
fn other_same_text(a: &[u8], b: &[u8]) -> bool {
    a == b
}

impl Eq for KeyText {}

impl PartialOrd for KeyText {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// By text.
impl Ord for KeyText {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.text.cmp(&other.text)
    }
}

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
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scopes(KeyText);

impl Scopes {
    /// The scopes, sorted, separated by single spaces.
    pub fn as_str(&self) -> &str {
        &self.0.text
    }

    /// Each scope, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.as_str().split(' ').filter(|scope| !scope.is_empty())
    }

    /// Whether the set holds no scope.
    pub fn is_empty(&self) -> bool {
        self.as_str().is_empty()
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
        Scopes(KeyText::new(Arc::from(scopes.join(" "))))
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
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tenant(KeyText);

impl Tenant {
    /// The tenant named `id`.
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        Tenant(KeyText::new(id.into()))
    }

    /// The tenant's id.
    pub fn as_str(&self) -> &str {
        &self.0.text
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
    fn equal_keys_of_different_allocations_hash_alike_and_others_differ() {
        let hasher = std::collections::hash_map::RandomState::new();
        let (a, b) = (Tenant::new(String::from("acme")), Tenant::new("acme"));
        assert_eq!(a, b);
        assert_eq!(hasher.hash_one(&a), hasher.hash_one(&b));
        assert_ne!(a, Tenant::new("globex"));
        assert_ne!(hasher.hash_one(&a), hasher.hash_one(Tenant::new("globex")));
        let (x, y) = (Scopes::from("b a"), Scopes::from(["a", "b"]));
        assert_eq!(hasher.hash_one(&x), hasher.hash_one(&y));
        assert!(Tenant::new("a") < Tenant::new("b"), "ordered by text");
    }

    /// Review probe: every way of building one value hashes alike (under std's and foldhash's
    /// hashers) and compares equal, so a std `HashMap` or a keyed cache never holds two
    /// entries for one key.
    #[test]
    fn every_constructor_of_one_value_hashes_and_compares_alike() {
        use std::collections::{HashMap, HashSet};
        let tenants = [
            Tenant::new("acme"),
            Tenant::new(String::from("acme")),
            Tenant::new(Arc::<str>::from("acme")),
            Tenant::new(Box::<str>::from("acme")),
            Tenant::new("acme").clone(),
        ];
        let owned = [String::from("b"), String::from("a")];
        let scopes = [
            Scopes::from("a b"),
            Scopes::from(" b\ta\n a "),
            Scopes::from(["b", "a", "a"]),
            Scopes::from([String::from("a b"), String::from("b")]),
            owned.iter().collect(),
            vec!["b a", "a"].into_iter().collect(),
            Scopes::from("b a").clone(),
        ];
        let std_hasher = std::collections::hash_map::RandomState::new();
        let fold_hasher = foldhash::fast::RandomState::default();
        for key in &tenants {
            assert_eq!(key, &tenants[0]);
            assert_eq!(std_hasher.hash_one(key), std_hasher.hash_one(&tenants[0]), "{key:?}");
            assert_eq!(fold_hasher.hash_one(key), fold_hasher.hash_one(&tenants[0]), "{key:?}");
            assert_eq!(key.cmp(&tenants[0]), std::cmp::Ordering::Equal);
        }
        for key in &scopes {
            assert_eq!(key, &scopes[0]);
            assert_eq!(std_hasher.hash_one(key), std_hasher.hash_one(&scopes[0]), "{key:?}");
            assert_eq!(fold_hasher.hash_one(key), fold_hasher.hash_one(&scopes[0]), "{key:?}");
            assert_eq!(key.cmp(&scopes[0]), std::cmp::Ordering::Equal);
        }
        assert_eq!(tenants.iter().cloned().collect::<HashSet<_>>().len(), 1);
        assert_eq!(scopes.iter().cloned().collect::<HashSet<_>>().len(), 1);
        let mut map = HashMap::new();
        map.insert(Tenant::new("acme"), 1);
        assert_eq!(map.get(&Tenant::new(String::from("acme"))), Some(&1));
        assert_eq!(map.get(&Tenant::new("acme ")), None, "different text, different key");
        assert_ne!(Scopes::from("a b"), Scopes::from("a b c"));
        assert_ne!(Scopes::from("ab"), Scopes::from("a b"));
    }

    /// The inline comparison agrees with `==` at every length it handles and around them,
    /// for texts differing in any one byte.
    #[test]
    fn texts_compare_alike_at_every_length() {
        for len in 0..=40 {
            let a: String = (0..len).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
            assert!(same_text(&a, &a.clone()), "{len}");
            for at in 0..len {
                let mut b = a.clone().into_bytes();
                b[at] = b'#';
                let b = String::from_utf8(b).expect("ascii");
                assert!(!same_text(&a, &b), "{len} bytes, differing at {at}");
            }
            assert!(!same_text(&a, &format!("{a}a")), "{len} bytes and one more");
        }
    }

    #[test]
    fn keys_print_what_they_name() {
        assert_eq!(format!("{:?}", Scopes::from("a b")), "Scopes(\"a b\")");
        assert_eq!(Tenant::new("acme").to_string(), "acme");
        assert_eq!(format!("{:?}", Tenant::new(String::from("acme"))), "Tenant(\"acme\")");
    }
}
