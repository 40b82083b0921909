//! The HTTP client a token source sends its requests with.

use std::sync::OnceLock;
use std::time::Duration;

use bearer_core::Error;

/// The caller's client, or one built on the first token request: building a `reqwest` client
/// reads the platform's root certificates from disk, and constructing a source does no I/O.
#[derive(Debug)]
pub struct TokenHttpClient {
    given: Option<reqwest::Client>,
    timeout: Duration,
    built: OnceLock<reqwest::Client>,
}

impl TokenHttpClient {
    /// `given`, or else a client with `timeout` that follows no redirects, built when first needed.
    pub fn new(given: Option<reqwest::Client>, timeout: Duration) -> Self {
        Self { given, timeout, built: OnceLock::new() }
    }

    /// The client, building the default one on first use.
    pub fn get(&self) -> Result<&reqwest::Client, Error> {
        if let Some(client) = self.given.as_ref().or_else(|| self.built.get()) {
            return Ok(client);
        }
        let client = default_client(self.timeout)?;
        Ok(self.built.get_or_init(|| client))
    }

    /// Whether a client exists yet (given, or built by a first request).
    pub fn is_ready(&self) -> bool {
        self.given.is_some() || self.built.get().is_some()
    }
}

/// The client a source uses when given none: a timeout, and no redirects, so credentials are
/// never posted to a host that was not named.
pub(crate) fn default_client(timeout: Duration) -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::Config(format!("could not build the HTTP client: {e}").into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OAuth2TokenSource;

    #[test]
    fn building_a_source_builds_no_client() {
        let source =
            OAuth2TokenSource::builder("https://auth.example.com/token").client_id("id").build().expect("source");
        assert!(!source.http.is_ready(), "no client (and no certificate loading) before the first request");
    }

    #[test]
    fn the_default_client_is_built_once_on_first_use() {
        let http = TokenHttpClient::new(None, Duration::from_secs(1));
        assert!(!http.is_ready());
        let first: *const reqwest::Client = http.get().expect("client");
        let second: *const reqwest::Client = http.get().expect("client");
        assert!(http.is_ready());
        assert_eq!(first, second, "built once");
        assert!(TokenHttpClient::new(Some(reqwest::Client::new()), Duration::from_secs(1)).is_ready());
    }
}
