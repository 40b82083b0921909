//! [`SharedTokenSource`]: any token source, shared by the fleet through Redis.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bearer_core::{Error, Token, TokenSource};
use http::{HeaderMap, StatusCode};
use tokio::time::Instant;

use crate::identity::SharedKeys;
use crate::link::RedisLink;
use crate::metrics::{Counter, Counters, SharedCacheMetrics};
use crate::protocol::{self, Acquired, Skip};
use crate::sealing::{Fingerprint, Sealer};
use crate::SharedTokenSourceBuilder;

/// The first pause between two looks at a lease another process holds...
const POLL_FLOOR: Duration = Duration::from_millis(5);
/// ...doubling up to this.
const POLL_CEILING: Duration = Duration::from_millis(100);

/// A [`TokenSource`] whose tokens are shared by every process that uses the same Redis and
/// the same [`TokenIdentity`](crate::TokenIdentity): when the shared token is missing or due,
/// exactly one process of the fleet fetches from the inner source while the others wait for
/// it and read it.
///
/// Put it inside each process's own [`TokenCache`](bearer_core::TokenCache) (or `BearerAuth`),
/// which serves requests from memory: Redis is only asked when that cache fetches, never per
/// request. Use one cache per `SharedTokenSource`.
///
/// - **Fetch**: one atomic round trip returns the shared token, or gives this process the
///   lease (`SET NX PX` with an owner value), or says who holds it. The lease holder fetches,
///   stores the token (Redis TTL = the token's expiry) and releases the lease only if it
///   still owns it; the others poll with backoff until the token is there. A holder that dies
///   leaves a lease that expires; the next process to look then takes it.
/// - **Due**: the cache fetches when the token it holds is due. That token is skipped in
///   Redis, so the first process to find it due replaces it for everyone; a process that
///   finds the replacement under way keeps serving the current one meanwhile.
/// - **Rejected**: [`token_rejected`](TokenSource::token_rejected) (called by the cache on a
///   401) records the token's fingerprint; the next fetch deletes the shared entry only if it
///   still holds that token, atomically with taking the lease. A thousand 401s across the
///   fleet cause one fetch.
/// - **Fail open**: Redis down, slow (each command has a short timeout) or answering garbage
///   never fails a fetch: the process fetches for itself, warns once per outage, and tries
///   Redis again after a backoff; when Redis is back, sharing resumes.
///
/// ```no_run
/// use bearer_redis::{EncryptionKey, SharedTokenSource, TokenIdentity};
/// use bearer_core::TokenCache;
/// # use bearer_core::{async_trait, Error, Token, TokenSource};
/// # struct MySource;
/// # #[async_trait] impl TokenSource for MySource {
/// #     async fn fetch(&self) -> Result<Token, Error> { unimplemented!() } }
/// # fn key_from_your_secret_store() -> [u8; 32] { [7; 32] }
///
/// # fn main() -> Result<(), Error> {
/// let shared = SharedTokenSource::builder(MySource, TokenIdentity::new("https://auth.example.com/token", "my-client"))
///     .redis_url("redis://127.0.0.1:6379")
///     .encryption_key(EncryptionKey::from_bytes(key_from_your_secret_store()))
///     .build()?;
/// let cache = TokenCache::new(shared);
/// # let _ = cache; Ok(()) }
/// ```
pub struct SharedTokenSource<S> {
    pub(crate) inner: S,
    pub(crate) keys: SharedKeys,
    pub(crate) sealer: Sealer,
    pub(crate) link: RedisLink,
    pub(crate) counters: Arc<Counters>,
    pub(crate) lease_ttl: Duration,
    pub(crate) no_expiry_ttl: Duration,
    pub(crate) skip: Mutex<SkipState>,
}

/// Where one look for the token found it.
enum Found {
    /// Read from Redis: another process fetched it.
    Shared(Token),
    /// This process called the token endpoint for it.
    Fetched(Token),
}

impl Found {
    fn into_token(self) -> Token {
        match self {
            Found::Shared(token) | Found::Fetched(token) => token,
        }
    }
}

/// The token this process holds, as the next fetch must see it.
#[derive(Default)]
pub(crate) struct SkipState {
    /// The last token handed to the cache: when the cache fetches again, it is due.
    pub(crate) held: Option<Fingerprint>,
    /// The cache dropped the held token because the API rejected it.
    pub(crate) rejected: bool,
}

impl<S: TokenSource> SharedTokenSource<S> {
    /// Starts building a shared source around `inner`, for tokens that `identity` names.
    pub fn builder(inner: S, identity: crate::TokenIdentity) -> SharedTokenSourceBuilder<S> {
        SharedTokenSourceBuilder::new(inner, identity)
    }

    /// What this source has done so far.
    pub fn metrics(&self) -> SharedCacheMetrics {
        self.counters.snapshot()
    }

    /// The source the fleet's tokens come from.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The fetch of one process, through Redis; falls back to a local fetch when Redis fails.
    async fn fetch_shared(&self) -> Result<Found, Error> {
        let mut skip = {
            let state = self.skip_state();
            Skip { fingerprint: state.held.clone(), value: None, delete: state.rejected }
        };
        let owner = owner_id();
        // A lease never released in time (its holder stalled), or values that never open,
        // end the wait: the process fetches for itself.
        let give_up_at = Instant::now() + self.lease_ttl * 2 + self.link_timeout();
        let mut poll = POLL_FLOOR;
        let mut waited = false;
        loop {
            if Instant::now() >= give_up_at {
                return self.fetch_local().await;
            }
            let Ok(found) = protocol::acquire(&self.link, &self.keys, &skip, &owner, self.lease_ttl).await else {
                return self.fetch_local().await;
            };
            match found {
                Acquired::Hit(entry) => match self.sealer.open(&entry.value, &self.keys.entry, entry.ttl) {
                    Some(opened) if opened.usable => {
                        self.counters.bump(Counter::SharedHit);
                        return Ok(Found::Shared(opened.token));
                    }
                    Some(_) => skip.value = Some(entry.value),
                    None => {
                        self.counters.bump(Counter::UnreadableValue);
                        skip.value = Some(entry.value);
                    }
                },
                Acquired::Lease => return self.fetch_for_fleet(&owner).await,
                Acquired::Held { lease_left, current } => {
                    // The token this process holds is due, not dead: serve it while another
                    // process replaces it (never a rejected one: that entry was deleted).
                    if let Some(opened) = current.and_then(|e| self.sealer.open(&e.value, &self.keys.entry, e.ttl)) {
                        if opened.usable {
                            self.counters.bump(Counter::SharedHit);
                            return Ok(Found::Shared(opened.token));
                        }
                    }
                    if !waited {
                        waited = true;
                        self.counters.bump(Counter::LeaseWait);
                    }
                    tokio::time::sleep(poll.min(lease_left.max(Duration::from_millis(1)))).await;
                    poll = (poll * 2).min(POLL_CEILING);
                }
            }
        }
    }

    /// This process holds the lease: fetch, store for the fleet, release.
    async fn fetch_for_fleet(&self, owner: &str) -> Result<Found, Error> {
        self.counters.bump(Counter::SharedFetch);
        match self.inner.fetch().await {
            Ok(token) => {
                match self.sealer.seal(&token, &self.keys.entry, self.no_expiry_ttl) {
                    Some((value, ttl)) => {
                        let _ = protocol::store(&self.link, &self.keys, &value, ttl, owner).await;
                    }
                    None => {
                        let _ = protocol::release(&self.link, &self.keys, owner).await;
                    }
                }
                Ok(Found::Fetched(token))
            }
            Err(error) => {
                let _ = protocol::release(&self.link, &self.keys, owner).await;
                Err(error)
            }
        }
    }

    async fn fetch_local(&self) -> Result<Found, Error> {
        self.counters.bump(Counter::LocalFallback);
        self.inner.fetch().await.map(Found::Fetched)
    }

    /// One look for the token: at most one call to the token endpoint.
    async fn fetch_once(&self) -> Result<Found, Error> {
        if self.link.available() {
            self.fetch_shared().await
        } else {
            self.fetch_local().await
        }
    }

    /// Whether `token` was rejected since the fetch began (when the held token had not been).
    fn rejected_meanwhile(&self, rejected_before: bool, token: &Token) -> bool {
        let fingerprint = Some(self.sealer.fingerprint(token));
        let state = self.skip_state();
        !rejected_before && state.rejected && state.held == fingerprint
    }

    fn link_timeout(&self) -> Duration {
        self.link.timeout()
    }

    fn skip_state(&self) -> std::sync::MutexGuard<'_, SkipState> {
        self.skip.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait::async_trait]
impl<S: TokenSource> TokenSource for SharedTokenSource<S> {
    /// Calls the token endpoint at most once.
    async fn fetch(&self) -> Result<Token, Error> {
        let rejected_before = self.skip_state().rejected;
        let token = match self.fetch_once().await? {
            // The API rejected the held token while this fetch ran, and the fetch read that
            // very token from Redis (it was due, another process is replacing it): look again,
            // now dropping it. Only after a read: a token this fetch got from the endpoint is
            // the endpoint's answer (a source may hand the same value back), and asking again
            // would call the endpoint twice in one fetch.
            Found::Shared(token) if self.rejected_meanwhile(rejected_before, &token) => {
                self.fetch_once().await?.into_token()
            }
            found => found.into_token(),
        };
        let mut state = self.skip_state();
        state.held = Some(self.sealer.fingerprint(&token));
        state.rejected = false;
        Ok(token)
    }

    fn is_token_rejected(&self, status: StatusCode, headers: &HeaderMap) -> bool {
        self.inner.is_token_rejected(status, headers)
    }

    fn api_origins(&self) -> Vec<String> {
        self.inner.api_origins()
    }

    /// Records the rejected token (a keyed fingerprint of it): the next fetch drops the shared
    /// entry if it still holds that token, in the same atomic step that takes the lease.
    /// Does no I/O, as the cache requires.
    fn token_rejected(&self, token: &Token) {
        let fingerprint = self.sealer.fingerprint(token);
        {
            let mut state = self.skip_state();
            state.held = Some(fingerprint);
            state.rejected = true;
        }
        self.inner.token_rejected(token);
    }
}

impl<S> std::fmt::Debug for SharedTokenSource<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedTokenSource")
            .field("entry_key", &self.keys.entry)
            .field("lease_ttl", &self.lease_ttl)
            .field("metrics", &self.counters.snapshot())
            .finish_non_exhaustive()
    }
}

/// A random lease owner id, unique across the fleet.
fn owner_id() -> String {
    use chacha20poly1305::aead::Generate;
    let bytes = chacha20poly1305::XNonce::generate();
    bytes[..16].iter().map(|b| format!("{b:02x}")).collect()
}
