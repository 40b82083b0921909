//! Where the token may go.

use reqwest::Url;

/// The origins the middleware sends the token to.
#[derive(Debug, Clone, Default)]
pub(crate) struct OriginPolicy {
    origins: Vec<Origin>,
    any_https: bool,
    http_loopback: bool,
}

/// An origin as the URL parser writes it: `scheme://host[:port]`, host lower-cased, default
/// port left out. A request URL, parsed the same way, starts with exactly these bytes when it
/// is same-origin, so matching is one short comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    serialized: String,
}

impl Origin {
    fn parse(text: &str) -> Option<Self> {
        let url = Url::parse(text).ok()?;
        url.host_str()?;
        Some(Self { serialized: url.origin().ascii_serialization() })
    }

    fn matches(&self, url: &Url) -> bool {
        // User info (`https://user@host`) makes the prefix differ: no token for such URLs.
        let text = url.as_str();
        text.starts_with(&self.serialized)
            && matches!(text.as_bytes().get(self.serialized.len()), None | Some(b'/' | b'?' | b'#'))
    }
}

impl OriginPolicy {
    /// The policy from the origins the user named (each must parse; the first that does not
    /// is returned as the error), else those the source suggests (unparsable ones skipped);
    /// any https origin when that leaves none, or when `any_https`.
    pub(crate) fn build(
        named: &[String],
        suggested: &[String],
        any_https: bool,
        http_loopback: bool,
    ) -> Result<Self, String> {
        let mut policy = OriginPolicy::default();
        if named.is_empty() {
            suggested.iter().filter_map(|text| Origin::parse(text)).for_each(|o| policy.allow(o));
        } else {
            for text in named {
                policy.allow(Origin::parse(text).ok_or_else(|| text.clone())?);
            }
        }
        if any_https || policy.is_empty() {
            policy.allow_any_https();
        }
        if http_loopback {
            policy.allow_http_loopback();
        }
        Ok(policy)
    }

    fn allow(&mut self, origin: Origin) {
        self.origins.push(origin);
    }

    fn allow_any_https(&mut self) {
        self.any_https = true;
    }

    fn allow_http_loopback(&mut self) {
        self.http_loopback = true;
    }

    fn is_empty(&self) -> bool {
        self.origins.is_empty() && !self.any_https
    }

    /// Whether a request to `url` may carry the token: an https origin that is allowed, or
    /// plain http to a loopback address when that was explicitly allowed. Never anything else.
    pub(crate) fn permits(&self, url: &Url) -> bool {
        match url.scheme() {
            "https" => self.any_https || self.origins.iter().any(|o| o.matches(url)),
            "http" => {
                self.http_loopback
                    && is_loopback(url)
                    && (self.any_https || self.origins.iter().any(|o| o.matches(url)))
            }
            _ => false,
        }
    }
}

/// What the user configured, to work out the policy of each source's tokens: the default
/// source's, and with per-request keys, each key's.
#[derive(Debug, Clone, Default)]
pub(crate) struct OriginRules {
    pub(crate) named: Vec<String>,
    pub(crate) any_https: bool,
    pub(crate) http_loopback: bool,
}

impl OriginRules {
    /// The policy for a source that suggests `suggested`; an error names an origin that does
    /// not parse.
    pub(crate) fn policy(&self, suggested: &[String]) -> Result<OriginPolicy, std::sync::Arc<str>> {
        OriginPolicy::build(&self.named, suggested, self.any_https, self.http_loopback)
            .map_err(|text| format!("`{text}` is not an origin URL").into())
    }
}

/// `127.0.0.0/8`, `::1` or `localhost` (which the resolver maps to loopback).
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("url")
    }

    fn policy(origins: &[&str], any_https: bool, loopback: bool) -> OriginPolicy {
        let named: Vec<String> = origins.iter().map(|o| (*o).to_owned()).collect();
        OriginPolicy::build(&named, &[], any_https, loopback).expect("valid origins")
    }

    #[test]
    fn named_origins_must_parse_suggested_ones_are_skipped() {
        assert_eq!(OriginPolicy::build(&["not a url".into()], &[], false, false).err().as_deref(), Some("not a url"));
        let p = OriginPolicy::build(&[], &["garbage".into(), "https://api.example.com".into()], false, false)
            .expect("suggested origins never fail");
        assert!(p.permits(&url("https://api.example.com/x")));
        assert!(!p.permits(&url("https://other.example.com/x")));
        let none = OriginPolicy::build(&[], &[], false, false).expect("empty");
        assert!(none.permits(&url("https://anything.example.com/")), "no origin named: any https");
    }

    #[test]
    fn exact_https_origins() {
        let p = policy(&["https://api.example.com"], false, false);
        assert!(p.permits(&url("https://API.example.com/v1/x?y=1")));
        assert!(p.permits(&url("https://api.example.com:443/")));
        assert!(!p.permits(&url("https://api.example.com:8443/")));
        assert!(!p.permits(&url("https://evil.example.com/")));
        assert!(!p.permits(&url("https://api.example.com.evil.net/")));
        assert!(!p.permits(&url("https://api.example.com@evil.net/")), "user info tricks");
        assert!(!p.permits(&url("https://user@api.example.com/")), "user info is not the origin");
        assert!(p.permits(&url("https://api.example.com?q=1")));
        assert!(!p.permits(&url("http://api.example.com/")), "plain http never");
    }

    #[test]
    fn http_only_to_loopback_and_only_when_allowed() {
        let allowed = policy(&["http://127.0.0.1:8080"], false, true);
        assert!(allowed.permits(&url("http://127.0.0.1:8080/api")));
        assert!(!allowed.permits(&url("http://127.0.0.1:9090/api")), "other port");
        assert!(!policy(&["http://127.0.0.1:8080"], false, false).permits(&url("http://127.0.0.1:8080/api")));
        let any = policy(&[], true, true);
        assert!(any.permits(&url("http://[::1]:1/")));
        assert!(any.permits(&url("http://localhost:1/")));
        assert!(!any.permits(&url("http://10.0.0.1/")), "http to a non-loopback host never");
        assert!(!any.permits(&url("http://example.com/")));
        assert!(!any.permits(&url("ftp://127.0.0.1/")));
        let external = policy(&["http://api.example.com"], false, true);
        assert!(!external.permits(&url("http://api.example.com/")), "an allowed http origin that is not loopback");
    }
}
