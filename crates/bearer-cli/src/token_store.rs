//! The token cache between invocations: one JSON file per profile and settings under
//! `$XDG_CACHE_HOME/bearer/`, created `0600`, replaced atomically (write, then rename).
//!
//! A file is named `<profile>.<sha256 of the settings' identity>.json`; the identity holds
//! every setting that changes the token request and no secret, and is stored in the file
//! too, so a file written for other settings is never served. A file that does not parse is
//! ignored and replaced by the next fetch.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::failure::Failure;

/// What the CLI keeps of a token: on disk, and as the outcome of a fetch.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct TokenRecord {
    /// The settings it was fetched with (see the module doc).
    identity: String,
    /// The secret.
    pub(crate) access_token: String,
    /// The granted scope, if the endpoint said.
    pub(crate) scope: Option<String>,
    /// When it was received, in milliseconds since the Unix epoch.
    received_at_ms: u64,
    /// When it expires, in milliseconds since the Unix epoch, if known.
    expires_at_ms: Option<u64>,
}

impl std::fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRecord")
            .field("access_token", &"[redacted]")
            .field("scope", &self.scope)
            .field("expires_at", &self.expires_at())
            .finish()
    }
}

impl TokenRecord {
    /// A record of `token`, converting its monotonic instants to wall-clock time.
    pub(crate) fn new(identity: &str, token: &bearer_core::Token) -> Self {
        let (now, now_instant) = (SystemTime::now(), tokio::time::Instant::now());
        let received_at = now.checked_sub(now_instant.saturating_duration_since(token.received_at())).unwrap_or(now);
        let expires_at = token.expires_at().map(|at| now + at.saturating_duration_since(now_instant));
        Self {
            identity: identity.to_owned(),
            access_token: token.secret().secret().to_owned(),
            scope: token.scope().map(str::to_owned),
            received_at_ms: millis(received_at),
            expires_at_ms: expires_at.map(millis),
        }
    }

    /// When it was received.
    pub(crate) fn received_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.received_at_ms)
    }

    /// When it expires, if known.
    pub(crate) fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at_ms.map(|ms| UNIX_EPOCH + Duration::from_millis(ms))
    }

    /// How long it was valid for when received, if it expires.
    pub(crate) fn lifetime(&self) -> Option<Duration> {
        self.expires_at_ms.map(|e| Duration::from_millis(e.saturating_sub(self.received_at_ms)))
    }

    /// Whether it has expired.
    pub(crate) fn is_expired(&self) -> bool {
        self.expires_at().is_some_and(|at| at <= SystemTime::now())
    }
}

fn millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)).unwrap_or(0)
}

/// The cache directory and its files.
#[derive(Debug)]
pub(crate) struct TokenStore {
    dir: PathBuf,
}

impl TokenStore {
    /// `$XDG_CACHE_HOME/bearer`, else `~/.cache/bearer`.
    pub(crate) fn open() -> Result<Self, Failure> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
            .ok_or_else(|| Failure::usage("neither XDG_CACHE_HOME nor HOME is set: nowhere to cache tokens"))?;
        Ok(Self { dir: base.join("bearer") })
    }

    fn path(&self, profile: &str, identity: &str) -> PathBuf {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, identity.as_bytes());
        let hex: String = digest.as_ref()[..16].iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{profile}.{hex}.json"))
    }

    /// The cached token for these settings, if a readable one is there.
    pub(crate) fn load(&self, profile: &str, identity: &str) -> Option<TokenRecord> {
        let path = self.path(profile, identity);
        let text = std::fs::read(&path).ok()?;
        match serde_json::from_slice::<TokenRecord>(&text) {
            Ok(record) if record.identity == identity => Some(record),
            Ok(_) => None,
            Err(_) => {
                eprintln!("warning: ignoring unreadable cache file {}; it will be replaced", path.display());
                None
            }
        }
    }

    /// Writes the record atomically, readable by its owner only.
    pub(crate) fn save(&self, profile: &str, record: &TokenRecord) -> Result<(), Failure> {
        let fail =
            |e: std::io::Error| Failure::usage(format!("cannot write the token cache in {}: {e}", self.dir.display()));
        create_private_dir(&self.dir).map_err(fail)?;
        // tempfile creates the file 0600 in the same directory, so the rename is atomic.
        let mut file = tempfile::NamedTempFile::new_in(&self.dir).map_err(fail)?;
        let json = serde_json::to_vec(record).map_err(|e| fail(std::io::Error::other(e)))?;
        file.write_all(&json).map_err(fail)?;
        file.as_file().sync_all().map_err(fail)?;
        file.persist(self.path(profile, &record.identity)).map_err(|e| fail(e.error))?;
        Ok(())
    }

    /// Forgets the cached tokens of `profile`, or of every profile; returns how many.
    pub(crate) fn remove(&self, profile: Option<&str>) -> Result<usize, Failure> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(Failure::usage(format!("cannot read {}: {e}", self.dir.display()))),
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let ours = match profile {
                Some(profile) => name.strip_prefix(profile).is_some_and(is_cache_suffix),
                None => name.ends_with(".json"),
            };
            if ours {
                std::fs::remove_file(entry.path())
                    .map_err(|e| Failure::usage(format!("cannot remove {}: {e}", entry.path().display())))?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Forgets one cached token (after an API rejected it).
    pub(crate) fn forget(&self, profile: &str, identity: &str) {
        let _ = std::fs::remove_file(self.path(profile, identity));
    }
}

/// `.<32 hex digits>.json`: so profile `a` does not take `a-b`'s files.
fn is_cache_suffix(rest: &str) -> bool {
    rest.strip_prefix('.')
        .and_then(|r| r.strip_suffix(".json"))
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_of_a_profile_spares_profiles_sharing_its_prefix() {
        let name = "0123456789abcdef0123456789abcdef";
        assert!(is_cache_suffix(&format!(".{name}.json")));
        assert!(!is_cache_suffix(&format!("-b.{name}.json")));
    }

    #[test]
    fn debug_hides_the_token() {
        let token = bearer_core::Token::builder("tok-secret-1".into()).build().expect("token");
        let shown = format!("{:?}", TokenRecord::new("id", &token));
        assert!(!shown.contains("tok-secret-1"), "{shown}");
    }
}
