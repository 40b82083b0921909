//! What a shared entry looks like in Redis: the token sealed with the user's key (or, by
//! explicit opt-out, in plain), behind a fingerprint that names the token without revealing it.
//!
//! Layout of a value: one format byte (`e` sealed, `p` plain), the 32-byte fingerprint, then
//! for `e` a 24-byte random nonce and the XChaCha20-Poly1305 ciphertext of the JSON payload,
//! for `p` the payload itself. The Lua scripts compare bytes 2..=33 (the fingerprint) to
//! drop an entry that still holds a rejected token, without ever seeing the token.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bearer_core::{AccessToken, RefreshPolicy, Token, TokenStanding};
use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Bytes of a fingerprint: a full HMAC-SHA-256.
pub(crate) const FINGERPRINT_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const SEALED: u8 = b'e';
const PLAIN: u8 = b'p';

/// The 32-byte key that encrypts and authenticates shared tokens at rest.
///
/// Every process of the fleet must hold the same key. Generate it once (for instance
/// `head -c 32 /dev/urandom | base64`), keep it with your other secrets and decode it into
/// [`from_bytes`](Self::from_bytes). `Debug` prints `[redacted]`; the bytes are zeroized on drop.
#[derive(Clone)]
pub struct EncryptionKey(Zeroizing<[u8; 32]>);

impl EncryptionKey {
    /// Wraps 32 key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Wraps a slice that must be exactly 32 bytes long.
    ///
    /// Fails with [`bearer_core::Error::Config`] otherwise (the message never shows the bytes).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, bearer_core::Error> {
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| {
            bearer_core::Error::Config(format!("an encryption key is 32 bytes, not {}", bytes.len()).into())
        })?;
        Ok(Self::from_bytes(bytes))
    }
}

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionKey([redacted])")
    }
}

/// A keyed hash of an access token: names it in Redis without revealing it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Fingerprint(pub(crate) [u8; FINGERPRINT_LEN]);

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fingerprint(..)")
    }
}

/// Seals tokens into shared values and opens them again.
pub(crate) struct Sealer {
    cipher: Option<XChaCha20Poly1305>,
    fingerprint_key: Zeroizing<[u8; 32]>,
}

/// What a shared value carries besides its header. The refresh token is never part of it: a
/// `Token` does not carry one, it stays inside the source of the process that fetched.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredToken {
    /// The access token.
    t: String,
    /// Unix milliseconds when it was issued.
    i: u64,
    /// Unix milliseconds when it expires, if it does.
    e: Option<u64>,
    /// The granted scope.
    s: Option<String>,
}

/// A token read back from Redis.
pub(crate) struct OpenedToken {
    pub(crate) token: Token,
    /// Whether enough of its life is left for another process to take it.
    pub(crate) usable: bool,
}

impl Sealer {
    /// Seals with keys derived from `key` (separate keys for the cipher and the fingerprints).
    pub(crate) fn sealed(key: &EncryptionKey) -> Self {
        let cipher_key = derive(&key.0[..], b"bearer-redis v1 aead");
        let cipher = XChaCha20Poly1305::new_from_slice(&cipher_key[..]).ok();
        Self { cipher, fingerprint_key: derive(&key.0[..], b"bearer-redis v1 fingerprint") }
    }

    /// Stores tokens in plain (explicit opt-out). Fingerprints are keyed by `namespace` only:
    /// with the token itself in the value, they hide nothing more.
    pub(crate) fn plain(namespace: &str) -> Self {
        Self { cipher: None, fingerprint_key: derive(namespace.as_bytes(), b"bearer-redis v1 plain fingerprint") }
    }

    /// The keyed hash that names `token`.
    pub(crate) fn fingerprint(&self, token: &Token) -> Fingerprint {
        Fingerprint(*derive(&self.fingerprint_key[..], token.secret().secret().as_bytes()))
    }

    /// The value to store for `token` under the Redis key `key_name`, and how long Redis keeps
    /// it (until the token expires; `no_expiry_ttl` for a token without expiry). `None` when
    /// the token has already expired or cannot be sealed.
    pub(crate) fn seal(&self, token: &Token, key_name: &str, no_expiry_ttl: Duration) -> Option<(Vec<u8>, Duration)> {
        let now = tokio::time::Instant::now();
        let wall = SystemTime::now();
        let remaining = token.expires_at().map(|at| at.saturating_duration_since(now));
        if remaining.is_some_and(|r| r.is_zero()) {
            return None;
        }
        let issued = wall.checked_sub(now.saturating_duration_since(token.received_at())).unwrap_or(wall);
        let payload = StoredToken {
            t: token.secret().secret().to_owned(),
            i: unix_millis(issued),
            e: remaining.map(|r| unix_millis(wall + r)),
            s: token.scope().map(str::to_owned),
        };
        let json = Zeroizing::new(serde_json::to_vec(&payload).ok()?);
        drop(Zeroizing::new(payload.t));
        let fingerprint = self.fingerprint(token);
        let mut value = Vec::with_capacity(1 + FINGERPRINT_LEN + NONCE_LEN + json.len() + 16);
        match &self.cipher {
            Some(cipher) => {
                value.push(SEALED);
                value.extend_from_slice(&fingerprint.0);
                let nonce = XNonce::generate();
                let aad = associated_data(key_name, &fingerprint);
                let sealed = cipher.encrypt(&nonce, Payload { msg: &json, aad: &aad }).ok()?;
                value.extend_from_slice(&nonce);
                value.extend_from_slice(&sealed);
            }
            None => {
                value.push(PLAIN);
                value.extend_from_slice(&fingerprint.0);
                value.extend_from_slice(&json);
            }
        }
        Some((value, remaining.unwrap_or(no_expiry_ttl)))
    }

    /// Opens a value read from `key_name`, which Redis keeps for `entry_ttl` more (its PTTL,
    /// if known). `None` for anything that is not a value this sealer wrote for that key:
    /// corrupted, sealed with another key, plain when sealing is on (or sealed when it is
    /// off), copied from another key, or already expired.
    ///
    /// A token's remaining life is the entry's TTL, which [`seal`](Self::seal) set to it: that
    /// is Redis's clock, shared by the fleet. The writer's wall-clock expiry is only the
    /// fallback, as processes' wall clocks may disagree.
    pub(crate) fn open(&self, value: &[u8], key_name: &str, entry_ttl: Option<Duration>) -> Option<OpenedToken> {
        let (&format, rest) = value.split_first()?;
        let (fingerprint, body) = rest.split_at_checked(FINGERPRINT_LEN)?;
        let fingerprint = Fingerprint(fingerprint.try_into().ok()?);
        let json = match (&self.cipher, format) {
            (Some(cipher), SEALED) => {
                let (nonce, sealed) = body.split_at_checked(NONCE_LEN)?;
                let nonce = XNonce::try_from(nonce).ok()?;
                let aad = associated_data(key_name, &fingerprint);
                Zeroizing::new(cipher.decrypt(&nonce, Payload { msg: sealed, aad: &aad }).ok()?)
            }
            (None, PLAIN) => Zeroizing::new(body.to_vec()),
            _ => return None,
        };
        let payload: StoredToken = serde_json::from_slice(&json).ok()?;
        let secret = AccessToken::new(payload.t);
        let now_ms = unix_millis(SystemTime::now());
        let mut builder = Token::builder(secret);
        let mut usable = true;
        if let Some(expires) = payload.e {
            let remaining = match entry_ttl {
                Some(ttl) => u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX),
                None => expires.checked_sub(now_ms)?,
            };
            if remaining == 0 {
                return None;
            }
            let remaining = Duration::from_millis(remaining);
            let handed = life_for_others(Duration::from_millis(expires.saturating_sub(payload.i)), remaining);
            usable = handed.is_some();
            builder = builder.expires_in(handed.unwrap_or(remaining));
        }
        if let Some(scope) = payload.s {
            builder = builder.scope(scope);
        }
        let token = builder.build().ok()?;
        // A value whose header does not name its own token was not written by us.
        (self.fingerprint(&token) == fingerprint).then_some(OpenedToken { token, usable })
    }
}

/// How long another process's cache may be told a shared token issued for `lifetime`, with
/// `remaining` left, lives; `None` when it must not be handed over (it is due: the next
/// process to look replaces it).
///
/// Only before its stale point under the default [`RefreshPolicy`] (a cache never serves a
/// token past it), with more left than the minimum fetch interval (a cache serves any token,
/// however short, that long). And a cache sizes its hard margin by the life it is told, so
/// told `remaining` (an hour token's last 40 s: a 4 s margin) it would serve the token past
/// the token's own stale point (30 s before its end): it is told the longest life, at most
/// `remaining`, whose stale point comes no later than that.
fn life_for_others(lifetime: Duration, remaining: Duration) -> Option<Duration> {
    let policy = RefreshPolicy::default();
    let age = lifetime.saturating_sub(remaining);
    if policy.standing(Some(lifetime), age) >= TokenStanding::Stale || remaining <= policy.min_fetch_interval() {
        return None;
    }
    let stale_in = policy.stale_after(Some(lifetime))?.saturating_sub(age);
    let served_in_time = |life: Duration| policy.stale_after(Some(life)).is_some_and(|after| after <= stale_in);
    if served_in_time(remaining) {
        return Some(remaining);
    }
    // A cache's stale point grows with the life it is told: bisect, in whole milliseconds.
    let (mut fits, mut too_long) = (0, u64::try_from(remaining.as_millis()).unwrap_or(u64::MAX));
    while too_long - fits > 1 {
        let middle = fits + (too_long - fits) / 2;
        if served_in_time(Duration::from_millis(middle)) {
            fits = middle;
        } else {
            too_long = middle;
        }
    }
    let fits = Duration::from_millis(fits);
    served_in_time(fits).then_some(fits)
}

/// HMAC-SHA-256 of `data` under `key`.
fn derive(key: &[u8], data: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    if let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        mac.update(data);
        out.copy_from_slice(&mac.finalize().into_bytes());
    }
    out
}

/// Binds a sealed value to its key and header, so it cannot be replayed under another key.
fn associated_data(key_name: &str, fingerprint: &Fingerprint) -> Vec<u8> {
    let mut aad = Vec::with_capacity(key_name.len() + 1 + FINGERPRINT_LEN);
    aad.extend_from_slice(key_name.as_bytes());
    aad.push(0);
    aad.extend_from_slice(&fingerprint.0);
    aad
}

fn unix_millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)).unwrap_or(0)
}

#[cfg(test)]
mod tests;
