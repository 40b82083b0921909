//! Getting a token for the settings: from the cache when the refresh policy allows, else
//! from the token endpoint (and into the cache).

use std::time::SystemTime;

use crate::config::Settings;
use crate::failure::Failure;
use crate::freshness::{standing, Standing};
use crate::providers;
use crate::spinner::Spinner;
use crate::token_store::{TokenRecord, TokenStore};

/// How the cache is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CacheUse {
    /// Serve from it when fresh; store what is fetched.
    Normal,
    /// Fetch, and store the result (`--refresh`).
    Refresh,
    /// Neither read nor write (`--no-cache`).
    Off,
}

/// The token of one set of settings.
pub(crate) struct Tokens<'a> {
    settings: &'a Settings,
    identity: String,
    store: TokenStore,
    cache: CacheUse,
    runtime: tokio::runtime::Runtime,
}

impl<'a> Tokens<'a> {
    pub(crate) fn new(settings: &'a Settings, store: TokenStore, cache: CacheUse) -> Result<Self, Failure> {
        if let Some(url) = providers::endpoint(settings) {
            check_plain_http(&url, settings.allow_http_loopback, "the token endpoint")?;
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::usage(format!("cannot start the async runtime: {e}")))?;
        Ok(Self { identity: providers::identity(settings), settings, store, cache, runtime })
    }

    /// The runtime, for the command's own requests.
    pub(crate) fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }

    /// A usable token.
    pub(crate) fn get(&self) -> Result<TokenRecord, Failure> {
        if self.cache == CacheUse::Normal {
            if let Some(cached) = self.store.load(&self.settings.profile, &self.identity) {
                match standing(&cached, SystemTime::now()) {
                    Standing::Fresh => return Ok(cached),
                    Standing::RefreshAhead | Standing::Stale => {
                        // As the library's cache does: a failed refresh keeps the old token
                        // while it has not expired.
                        return self.fetch().or_else(|failure| {
                            if cached.is_expired() {
                                return Err(failure);
                            }
                            eprintln!("warning: {}; using the cached token, which expires soon", failure.message);
                            Ok(cached)
                        });
                    }
                    Standing::Expired => {}
                }
            }
        }
        self.fetch()
    }

    /// Forgets the cached token (the API rejected it).
    pub(crate) fn forget(&self) {
        self.store.forget(&self.settings.profile, &self.identity);
    }

    fn fetch(&self) -> Result<TokenRecord, Failure> {
        let source = providers::build(self.settings)?;
        let endpoint = providers::endpoint(self.settings).unwrap_or_else(|| self.settings.provider.name().to_owned());
        let token = {
            let _spinner = Spinner::start(format!("fetching a token from {endpoint}"));
            self.runtime.block_on(source.fetch())?
        };
        let record = TokenRecord::new(&self.identity, &token);
        if self.cache != CacheUse::Off {
            if let Err(failure) = self.store.save(&self.settings.profile, &record) {
                eprintln!("warning: {}", failure.message);
            }
        }
        Ok(record)
    }
}

/// Plain http is refused, except to loopback with the explicit opt-in: it would carry
/// credentials or tokens in the clear.
pub(crate) fn check_plain_http(url: &str, allow_loopback: bool, what: &str) -> Result<(), Failure> {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        // Not a URL (a Zuora environment name) or a bad one, which the library reports.
        return Ok(());
    };
    if parsed.scheme() != "http" {
        return Ok(());
    }
    let host = parsed.host_str().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match (loopback, allow_loopback) {
        (true, true) => Ok(()),
        (true, false) => Err(Failure::usage(format!("{what} {url} is plain http"))
            .with_hint("for a local server add --allow-http-loopback (in a profile: allow_http_loopback = true)")),
        (false, _) => Err(Failure::usage(format!("{what} {url} is plain http, which would send secrets in the clear"))
            .with_hint("use https")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback_and_only_when_allowed() {
        assert!(check_plain_http("https://auth.example.com/token", false, "x").is_ok());
        assert!(check_plain_http("http://127.0.0.1:8080/token", true, "x").is_ok());
        assert!(check_plain_http("http://[::1]:8080/token", true, "x").is_ok());
        assert!(check_plain_http("http://127.0.0.1:8080/token", false, "x").is_err());
        assert!(check_plain_http("http://auth.example.com/token", true, "x").is_err());
        assert!(check_plain_http("eu-api-sandbox", false, "x").is_ok());
    }
}
