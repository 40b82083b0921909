//! What a simulator knows: its configuration, the tokens it issued, what it was asked.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method};
use tokio::time::Instant;

use crate::Fault;

/// The credentials a simulator accepts.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Client id (or API key).
    pub client_id: String,
    /// Client secret (or API secret).
    pub client_secret: String,
    /// Resource owner's username, for password grants.
    pub username: String,
    /// Resource owner's password, for password grants.
    pub password: String,
}

impl Default for Credentials {
    fn default() -> Self {
        Self {
            client_id: "sim-client-id".into(),
            client_secret: "sim-client-secret-do-not-log".into(),
            username: "sim-user".into(),
            password: "sim-password-do-not-log".into(),
        }
    }
}

/// How a simulator writes `expires_in`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiresInStyle {
    /// `"expires_in": 3600`
    Integer,
    /// `"expires_in": 3599.0`
    Float,
    /// `"expires_in": "3600"`
    String,
    /// No `expires_in` field.
    Absent,
}

/// One request the simulator received on its token endpoint.
#[derive(Debug, Clone)]
pub struct CapturedRequest {
    /// The method.
    pub method: Method,
    /// The path.
    pub path: String,
    /// Every header as received.
    pub headers: HeaderMap,
    /// The raw body.
    pub body: Bytes,
}

impl CapturedRequest {
    /// A header as a string, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body's fields: form pairs or the members of a JSON object.
    pub fn fields(&self) -> HashMap<String, String> {
        crate::request::parse_fields(&self.headers, &self.body).map(|(_, f)| f).unwrap_or_default()
    }
}

/// How many requests of each kind a simulator has served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counters {
    /// Every request to a token endpoint (including failed and faulted ones).
    pub token_requests: u64,
    /// Tokens issued.
    pub tokens_issued: u64,
    /// Tokens issued by a first grant (client_credentials, password, key/secret).
    pub primary_grants: u64,
    /// Tokens issued by a refresh grant.
    pub refresh_grants: u64,
    /// Requests to the protected API.
    pub api_requests: u64,
    /// API requests refused for a bad token.
    pub api_rejections: u64,
    /// Revocation requests that revoked a live token (generic simulator).
    pub revocations: u64,
}

#[derive(Default)]
pub(crate) struct AtomicCounters {
    pub(crate) token_requests: AtomicU64,
    pub(crate) tokens_issued: AtomicU64,
    pub(crate) primary_grants: AtomicU64,
    pub(crate) refresh_grants: AtomicU64,
    pub(crate) api_requests: AtomicU64,
    pub(crate) api_rejections: AtomicU64,
    pub(crate) revocations: AtomicU64,
}

impl AtomicCounters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn snapshot(&self) -> Counters {
        let load = |c: &AtomicU64| c.load(Ordering::SeqCst);
        Counters {
            token_requests: load(&self.token_requests),
            tokens_issued: load(&self.tokens_issued),
            primary_grants: load(&self.primary_grants),
            refresh_grants: load(&self.refresh_grants),
            api_requests: load(&self.api_requests),
            api_rejections: load(&self.api_rejections),
            revocations: load(&self.revocations),
        }
    }
}

/// Everything the handlers share.
pub(crate) struct SimState {
    pub(crate) credentials: Credentials,
    pub(crate) config: Mutex<Config>,
    pub(crate) counters: AtomicCounters,
    pub(crate) issued: Mutex<Issued>,
    pub(crate) faults: Mutex<VecDeque<Fault>>,
    pub(crate) captured: Mutex<Vec<CapturedRequest>>,
    /// The `Authorization` header of every API request (`None` when absent).
    pub(crate) api_authorizations: Mutex<Vec<Option<String>>>,
    /// Start of the current rate-limit minute and the requests counted in it.
    rate_window: Mutex<(Instant, u32)>,
    serial: AtomicU64,
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) ttl: Duration,
    pub(crate) refresh_ttl: Duration,
    pub(crate) expires_in_style: ExpiresInStyle,
    pub(crate) rate_limit_per_minute: Option<u32>,
    /// The provider's own error body for a [`Fault::status`](crate::Fault::status).
    pub(crate) fault_body: Option<fn(http::StatusCode) -> String>,
    /// Zenkipay: also answer a `refreshToken` (which the contract says to ignore).
    pub(crate) refresh_token_in_answer: bool,
}

#[derive(Default)]
pub(crate) struct Issued {
    /// Every access and refresh token ever issued, for secret-hygiene checks.
    pub(crate) ever: Vec<String>,
    /// Access token → when it expires.
    pub(crate) access: HashMap<String, Instant>,
    /// Live refresh token → when it expires.
    pub(crate) refresh: HashMap<String, Instant>,
}

/// Why the API refused a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenVerdict {
    Valid,
    Missing,
    Expired,
    Unknown,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SimState {
    pub(crate) fn new(credentials: Credentials, config: Config) -> Self {
        Self {
            credentials,
            config: Mutex::new(config),
            counters: AtomicCounters::default(),
            issued: Mutex::new(Issued::default()),
            faults: Mutex::new(VecDeque::new()),
            captured: Mutex::new(Vec::new()),
            api_authorizations: Mutex::new(Vec::new()),
            rate_window: Mutex::new((Instant::now(), 0)),
            serial: AtomicU64::new(0),
        }
    }

    pub(crate) fn config(&self) -> Config {
        lock(&self.config).clone()
    }

    pub(crate) fn next_serial(&self) -> u64 {
        self.serial.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Records an issued access token (and refresh token, if any) with the configured TTLs.
    pub(crate) fn remember(&self, access: &str, refresh: Option<&str>) {
        let config = self.config();
        let now = Instant::now();
        let mut issued = lock(&self.issued);
        issued.access.insert(access.to_owned(), now + config.ttl);
        issued.ever.push(access.to_owned());
        if let Some(refresh) = refresh {
            issued.refresh.insert(refresh.to_owned(), now + config.refresh_ttl);
            issued.ever.push(refresh.to_owned());
        }
        AtomicCounters::bump(&self.counters.tokens_issued);
    }

    /// Consumes a refresh token (rotation): true if it was live.
    pub(crate) fn take_refresh(&self, refresh: &str) -> bool {
        let mut issued = lock(&self.issued);
        matches!(issued.refresh.remove(refresh), Some(expiry) if Instant::now() < expiry)
    }

    /// Revokes one access or refresh token (RFC 7009), counting it if it was live.
    pub(crate) fn revoke(&self, token: &str) {
        let mut issued = lock(&self.issued);
        let was_live = issued.refresh.remove(token).is_some() | issued.access.remove(token).is_some();
        if was_live {
            AtomicCounters::bump(&self.counters.revocations);
        }
    }

    /// Checks the bearer token of an API request.
    pub(crate) fn verdict(&self, headers: &HeaderMap) -> TokenVerdict {
        AtomicCounters::bump(&self.counters.api_requests);
        let authorization = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
        lock(&self.api_authorizations).push(authorization);
        let verdict = match headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            None => TokenVerdict::Missing,
            Some(token) => match lock(&self.issued).access.get(token) {
                None => TokenVerdict::Unknown,
                Some(expiry) if Instant::now() >= *expiry => TokenVerdict::Expired,
                Some(_) => TokenVerdict::Valid,
            },
        };
        if verdict != TokenVerdict::Valid {
            AtomicCounters::bump(&self.counters.api_rejections);
        }
        verdict
    }

    /// Counts a token request against the per-minute limit: `Ok(remaining)` or
    /// `Err(seconds until the window resets)`. Without a limit, always `Ok(u32::MAX)`.
    pub(crate) fn rate_limit(&self) -> Result<u32, u64> {
        let Some(limit) = self.config().rate_limit_per_minute else {
            return Ok(u32::MAX);
        };
        let now = Instant::now();
        let mut window = lock(&self.rate_window);
        if now.duration_since(window.0) >= Duration::from_secs(60) {
            *window = (now, 0);
        }
        if window.1 >= limit {
            let left = Duration::from_secs(60).saturating_sub(now.duration_since(window.0));
            return Err(left.as_secs().max(1));
        }
        window.1 += 1;
        Ok(limit - window.1)
    }

    /// Takes the next queued fault, if any.
    pub(crate) fn next_fault(&self) -> Option<Fault> {
        lock(&self.faults).pop_front()
    }
}
