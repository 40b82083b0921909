//! Getting a token for the settings: from the cache when the refresh policy allows, else
//! from the token endpoint (and into the cache).

use std::time::SystemTime;

use bearer_core::{RefreshToken, TokenStanding};

use crate::config::Settings;
use crate::failure::Failure;
use crate::freshness::standing;
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
                    TokenStanding::Fresh => return Ok(cached),
                    TokenStanding::RefreshAhead | TokenStanding::Stale => {
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
                    // Expired (or a standing added later): fetch.
                    _ => {}
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
        self.fetch_with_refresh_token().map(|(record, _)| record)
    }

    /// A token fetched now, whatever the cache holds (`--show-refresh-token`: a refresh token
    /// is only ever held by a source that just fetched), with the refresh token the source
    /// holds afterwards. Only the access token goes to the cache.
    pub(crate) fn fetch_with_refresh_token(&self) -> Result<(TokenRecord, Option<RefreshToken>), Failure> {
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
        Ok((record, source.held_refresh_token()))
    }
}
