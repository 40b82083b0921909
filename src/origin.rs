//! Where the token may go.
//!
//! Configuration fails closed: every origin must be one the token can actually be sent to,
//! and a policy must name at least one, or explicitly allow any https origin. A refusal is a
//! sentence that ends in what to write instead.

use reqwest::Url;

/// The origins the middleware sends the token to.
#[derive(Debug, Clone)]
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
    /// `text` as an origin the token can be sent to, or why not.
    fn parse(text: &str, http_loopback: bool) -> Result<Self, String> {
        let shown = without_user_info(text);
        if shown.contains('*') {
            // The URL parser takes `*` as a host character: `https://*.example.com` would be
            // an origin that no request is ever on.
            return Err(format!(
                "`{shown}`: wildcards are not supported; name each origin with `allow_origin`, or send the \
                 token to every https host with `allow_any_https_origin()`"
            ));
        }
        let parsed = Url::parse(text);
        // `api.example.com` does not parse; `api.example.com:443` parses with the host as
        // its scheme.
        let no_scheme = match &parsed {
            Err(url::ParseError::RelativeUrlWithoutBase) => true,
            Ok(url) => url.cannot_be_a_base(),
            Err(_) => false,
        };
        if no_scheme {
            let suggestion = Url::parse(&format!("https://{text}"))
                .map(|url| https_origin(&url))
                .unwrap_or_else(|_| "https://api.example.com".to_owned());
            return Err(format!("`{shown}` has no scheme; write `{suggestion}`"));
        }
        let url = parsed.map_err(|error| {
            format!("`{shown}` is not a URL ({error}); write an origin such as `https://api.example.com`")
        })?;
        let https = https_origin(&url);
        match url.scheme() {
            "https" => {}
            "http" if !is_loopback(&url) => {
                return Err(format!(
                    "`{shown}` is plain http to a host that is not loopback: the token is never sent there; write `{https}`"
                ))
            }
            "http" if !http_loopback => {
                return Err(format!(
                    "`{shown}` is plain http, so the token would never be sent there; call `allow_http_loopback()` \
                     to allow plain http to loopback hosts (local servers, tests), or write `{https}`"
                ))
            }
            "http" => {}
            other => {
                return Err(format!("`{shown}`: the token is sent over https only, never `{other}`; write `{https}`"))
            }
        }
        let only_origin = url.username().is_empty()
            && url.password().is_none()
            && url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none();
        let origin = url.origin().ascii_serialization();
        if !only_origin {
            return Err(format!(
                "`{shown}` is more than an origin (it has a path, a query or user info); the token goes to every \
                 path of an allowed origin, so write `{origin}`"
            ));
        }
        Ok(Self { serialized: origin })
    }

    #[inline]
    fn matches(&self, url: &Url) -> bool {
        // User info (`https://user@host`) makes the prefix differ: no token for such URLs.
        let text = url.as_str();
        text.starts_with(&self.serialized)
            && matches!(text.as_bytes().get(self.serialized.len()), None | Some(b'/' | b'?' | b'#'))
    }
}

/// `https://host[:port]` for the host and explicit port of `url` (a suggestion; `url` may
/// have another scheme).
fn https_origin(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("https://{host}:{port}"),
        (Some(host), None) => format!("https://{host}"),
        (None, _) => "https://api.example.com".to_owned(),
    }
}

/// `text` fit for an error message: any user info (`user:password@`) replaced, since a
/// password must never be printed.
pub(crate) fn without_user_info(text: &str) -> String {
    let start = text.find("://").map_or(0, |i| i + 3);
    let authority_end = text[start..].find(['/', '?', '#']).map_or(text.len(), |i| start + i);
    match text[start..authority_end].rfind('@') {
        Some(at) => format!("{}[redacted]@{}", &text[..start], &text[start + at + 1..]),
        None => text.to_owned(),
    }
}

impl OriginPolicy {
    /// The policy from the origins the user named, else from those the source names; every
    /// origin used must be one the token can be sent to. Fails, with what to write instead,
    /// on an origin that is not one, and when no origin is named and `any_https` is not set.
    pub(crate) fn build(
        named: &[String],
        suggested: &[String],
        any_https: bool,
        http_loopback: bool,
    ) -> Result<Self, String> {
        let (texts, whose) =
            if named.is_empty() { (suggested, "the token source's API origin") } else { (named, "allow_origin") };
        let origins = texts
            .iter()
            .map(|text| Origin::parse(text, http_loopback).map_err(|why| format!("{whose}: {why}")))
            .collect::<Result<Vec<_>, _>>()?;
        if origins.is_empty() && !any_https {
            return Err("the token source names no API origin; say where the token may go with \
                        `allow_origin(\"https://api.example.com\")`, or send it to every https host with \
                        `allow_any_https_origin()`"
                .to_owned());
        }
        Ok(Self { origins, any_https, http_loopback })
    }

    /// Whether a request to `url` may carry the token: an https origin that is allowed, or
    /// plain http to a loopback address when that was explicitly allowed.
    #[inline(always)]
    pub(crate) fn permits(&self, url: &Url) -> bool {
        if !self.any_https {
            // Each named origin was checked when the policy was built: https, or http to a
            // loopback host with plain http to loopback allowed. Matching one is enough.
            return self.origins.iter().any(|origin| origin.matches(url));
        }
        match url.scheme() {
            "https" => true,
            "http" => self.http_loopback && is_loopback(url),
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
    /// The policy for a source that names `suggested`; an error says what to write instead.
    pub(crate) fn policy(&self, suggested: &[String]) -> Result<OriginPolicy, std::sync::Arc<str>> {
        OriginPolicy::build(&self.named, suggested, self.any_https, self.http_loopback).map_err(Into::into)
    }
}

/// `127.0.0.0/8`, `::1` or `localhost`: the rule token endpoints follow too.
fn is_loopback(url: &Url) -> bool {
    url.host_str().is_some_and(bearer_core::is_loopback_host)
}

#[cfg(test)]
mod tests;
