//! Building a [`SharedTokenSource`]: where Redis is, how values are protected, the timings.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bearer_core::{Error, TokenSource};

use crate::identity::{SharedKeys, DEFAULT_KEY_PREFIX};
use crate::link::{LinkSettings, RedisLink, RedisTarget};
use crate::metrics::Counters;
use crate::sealing::Sealer;
use crate::{EncryptionKey, SharedTokenSource, TokenIdentity};

/// How long one process may fetch for the fleet before another may take over. Longer than
/// any sane token fetch; a lease is released as soon as its fetch ends.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(10);
/// The bound on each Redis command (and on connecting): past it, the process fetches for
/// itself.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_millis(250);
/// The first pause before Redis is tried again after a failure...
pub const DEFAULT_RECONNECT_FLOOR: Duration = Duration::from_millis(500);
/// ...doubling up to this.
pub const DEFAULT_RECONNECT_CEILING: Duration = Duration::from_secs(30);
/// How long Redis keeps a token that has no expiry.
pub const DEFAULT_NO_EXPIRY_TTL: Duration = Duration::from_secs(3600);

/// Builds a [`SharedTokenSource`]; see [`SharedTokenSource::builder`]. Building does no I/O:
/// Redis is first contacted by the first fetch.
pub struct SharedTokenSourceBuilder<S> {
    inner: S,
    identity: TokenIdentity,
    target: Option<Result<RedisTarget, &'static str>>,
    protection: Option<Protection>,
    prefix: String,
    lease_ttl: Duration,
    no_expiry_ttl: Duration,
    settings: LinkSettings,
}

enum Protection {
    Sealed(EncryptionKey),
    Plaintext,
}

impl<S: TokenSource> SharedTokenSourceBuilder<S> {
    pub(crate) fn new(inner: S, identity: TokenIdentity) -> Self {
        Self {
            inner,
            identity,
            target: None,
            protection: None,
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            lease_ttl: DEFAULT_LEASE_TTL,
            no_expiry_ttl: DEFAULT_NO_EXPIRY_TTL,
            settings: LinkSettings {
                timeout: DEFAULT_REDIS_TIMEOUT,
                backoff_floor: DEFAULT_RECONNECT_FLOOR,
                backoff_ceiling: DEFAULT_RECONNECT_CEILING,
            },
        }
    }

    /// One Redis server (or a proxy in front of several): `redis://[user:password@]host:port[/db]`,
    /// `rediss://` for TLS needs a TLS feature of `redis` enabled by the application.
    pub fn redis_url(mut self, url: &str) -> Self {
        self.target = Some(redis::Client::open(url).map(RedisTarget::Server).map_err(|_| "invalid Redis URL"));
        self
    }

    /// A Redis Cluster, through any of its nodes (`redis://host:port` each).
    pub fn redis_cluster<I, U>(mut self, nodes: I) -> Self
    where
        I: IntoIterator<Item = U>,
        U: AsRef<str>,
    {
        let nodes: Vec<String> = nodes.into_iter().map(|n| n.as_ref().to_owned()).collect();
        let timeout = self.settings.timeout;
        self.target = Some(
            redis::cluster::ClusterClient::builder(nodes)
                .connection_timeout(timeout)
                .response_timeout(timeout)
                .retries(1)
                .build()
                .map(|client| RedisTarget::Cluster(Box::new(client)))
                .map_err(|_| "invalid Redis Cluster node URL"),
        );
        self
    }

    /// Seals every shared token with this key (XChaCha20-Poly1305, bound to its Redis key).
    /// A value that does not open with it is a miss and gets overwritten.
    pub fn encryption_key(mut self, key: EncryptionKey) -> Self {
        self.protection = Some(Protection::Sealed(key));
        self
    }

    /// Stores tokens in Redis unencrypted: anyone who can read Redis can use them. Only for a
    /// Redis nobody else can reach; prefer [`encryption_key`](Self::encryption_key).
    pub fn store_plaintext(mut self) -> Self {
        self.protection = Some(Protection::Plaintext);
        self
    }

    /// The prefix of the Redis keys (default [`DEFAULT_KEY_PREFIX`]), to keep applications
    /// sharing one Redis apart.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long the fetching process holds the lease at most (default [`DEFAULT_LEASE_TTL`]).
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl.max(Duration::from_millis(1));
        self
    }

    /// The bound on each Redis command (default [`DEFAULT_REDIS_TIMEOUT`]). Set it before
    /// [`redis_cluster`](Self::redis_cluster) for the cluster client to use it too.
    pub fn redis_timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// The backoff before trying Redis again after a failure (defaults
    /// [`DEFAULT_RECONNECT_FLOOR`], [`DEFAULT_RECONNECT_CEILING`]).
    pub fn reconnect_backoff(mut self, floor: Duration, ceiling: Duration) -> Self {
        self.settings.backoff_floor = floor;
        self.settings.backoff_ceiling = ceiling.max(floor);
        self
    }

    /// How long Redis keeps a token without expiry (default [`DEFAULT_NO_EXPIRY_TTL`]).
    pub fn no_expiry_ttl(mut self, ttl: Duration) -> Self {
        self.no_expiry_ttl = ttl;
        self
    }

    /// Checks the configuration. Fails with [`Error::Config`] without Redis, with an invalid
    /// Redis URL, or with neither an encryption key nor the plaintext opt-out.
    pub fn build(self) -> Result<SharedTokenSource<S>, Error> {
        let target = match self.target {
            Some(Ok(target)) => target,
            Some(Err(why)) => return Err(Error::Config(why.into())),
            None => return Err(Error::Config("a shared token source needs redis_url or redis_cluster".into())),
        };
        let keys = SharedKeys::new(&self.identity, &self.prefix);
        let sealer = match &self.protection {
            Some(Protection::Sealed(key)) => Sealer::sealed(key),
            Some(Protection::Plaintext) => Sealer::plain(&keys.entry),
            None => {
                return Err(Error::Config(
                    "a shared token source needs an encryption_key (or store_plaintext to opt out)".into(),
                ))
            }
        };
        let counters = Arc::new(Counters::default());
        Ok(SharedTokenSource {
            inner: self.inner,
            link: RedisLink::new(target, self.settings, Arc::clone(&counters)),
            keys,
            sealer,
            counters,
            lease_ttl: self.lease_ttl,
            no_expiry_ttl: self.no_expiry_ttl,
            skip: Mutex::new(Default::default()),
        })
    }
}

impl<S> std::fmt::Debug for SharedTokenSourceBuilder<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedTokenSourceBuilder")
            .field("identity", &self.identity)
            .field("prefix", &self.prefix)
            .field("lease_ttl", &self.lease_ttl)
            .finish_non_exhaustive()
    }
}
