//! Where a request went, kept exactly.

use reqwest::Url;
use url::Position;

/// URLs up to this many bytes (without their fragment) are kept inline, without an
/// allocation; longer ones are copied to the heap.
const INLINE: usize = 128;

/// Where a request was sent: the bytes of its URL up to any fragment (a fragment is never
/// sent).
///
/// A rejection's URL ([`reqwest::Response::url`]) is where the request ended up after any
/// redirects. Comparing its bytes with these tells whether that is the URL the request was
/// sent to, another URL on its origin, or another origin. The comparison is exact: a
/// fingerprint could be forged by a server the request is redirected to (an open redirect on
/// the API sends it anywhere), and a rejection it forged as coming "from the same URL" would
/// get a fresh token sent to it.
pub(crate) struct Destination {
    url: UrlBytes,
}

/// The kept bytes: inline for most URLs (copying them into the request's future is cheaper
/// than an allocation), on the heap past [`INLINE`] bytes.
enum UrlBytes {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

/// Where a rejection came from, seen from where its request was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// The very URL the request was sent to: no redirect, or one back to the same URL.
    SameUrl,
    /// Another URL on the same origin: a redirect that reqwest followed with the token.
    SameOrigin,
    /// Another origin: reqwest did not forward the token there.
    Elsewhere,
}

impl Destination {
    /// A request to `url`.
    #[inline]
    pub(crate) fn new(url: &Url) -> Self {
        let sent = without_fragment(url);
        let url = if sent.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..sent.len()].copy_from_slice(sent.as_bytes());
            UrlBytes::Inline { len: sent.len() as u8, bytes }
        } else {
            UrlBytes::Heap(sent.into())
        };
        Self { url }
    }

    /// The URL the request was sent to, without its fragment.
    fn sent(&self) -> &[u8] {
        match &self.url {
            UrlBytes::Inline { len, bytes } => &bytes[..usize::from(*len)],
            UrlBytes::Heap(text) => text.as_bytes(),
        }
    }

    /// Where a response from `url` came from. The URL compares byte for byte, the origin as
    /// reqwest compares it before it forwards `Authorization` on a redirect: scheme, host
    /// (lower-cased by the URL parser) and port (the default one left out), whatever the
    /// user info.
    pub(crate) fn arrival(&self, url: &Url) -> Arrival {
        let sent = self.sent();
        if without_fragment(url).as_bytes() == sent {
            return Arrival::SameUrl;
        }
        // `scheme://`, then `[user info@]host[:port]` up to the path, which for an http(s)
        // URL starts with `/`. Neither the user info (percent-encoded) nor the host has a
        // `/` or a second `@`.
        let (scheme, host) = (&url[..Position::BeforeUsername], &url[Position::BeforeHost..Position::BeforePath]);
        let Some(after_scheme) = sent.strip_prefix(scheme.as_bytes()) else {
            return Arrival::Elsewhere;
        };
        let authority = after_scheme.split(|&byte| byte == b'/').next().unwrap_or_default();
        let sent_host = authority.rsplit(|&byte| byte == b'@').next().unwrap_or_default();
        if sent_host == host.as_bytes() {
            Arrival::SameOrigin
        } else {
            Arrival::Elsewhere
        }
    }
}

/// `url` up to its fragment, if it has one.
#[inline]
fn without_fragment(url: &Url) -> &str {
    let text = url.as_str();
    match url.fragment() {
        Some(fragment) => text.get(..text.len() - fragment.len() - 1).unwrap_or(text),
        None => text,
    }
}

#[cfg(test)]
#[path = "../tests/support/forged_fingerprint.rs"]
mod forged_fingerprint;

#[cfg(test)]
mod tests {
    use super::forged_fingerprint;
    use super::*;

    /// Where `answered` comes from for a request to `sent`.
    fn arrival(sent: &str, answered: &str) -> Arrival {
        let parse = |text: &str| Url::parse(text).expect("url");
        Destination::new(&parse(sent)).arrival(&parse(answered))
    }

    #[test]
    fn the_same_url_is_the_same_destination() {
        let sent = "https://api.example.com/v1/things?a=1";
        assert_eq!(arrival(sent, "https://API.example.com:443/v1/things?a=1"), Arrival::SameUrl);
        assert_eq!(arrival("https://api.example.com", "https://api.example.com/"), Arrival::SameUrl);
        // The fragment is never sent (reqwest's response URL has none).
        assert_eq!(arrival(&format!("{sent}#part"), sent), Arrival::SameUrl);
        // Past the inline bytes, on the heap.
        let long = format!("https://api.example.com/{}", "a".repeat(2 * INLINE));
        assert_eq!(arrival(&long, &long), Arrival::SameUrl);
        assert_eq!(arrival(&long, &format!("{long}b")), Arrival::SameOrigin);
        assert_eq!(arrival(&long, "https://api.example.org/"), Arrival::Elsewhere);
    }

    #[test]
    fn another_path_or_query_on_the_origin_is_the_same_origin() {
        let sent = "https://api.example.com/v1/orders";
        for answered in [
            "https://api.example.com/v1/orders/1",
            "https://api.example.com/v1/orderz",
            "https://api.example.com/v1/orders?page=2",
            "https://api.example.com/",
            "https://api.example.com/v1/Orders",
        ] {
            assert_eq!(arrival(sent, answered), Arrival::SameOrigin, "{answered}");
        }
    }

    #[test]
    fn another_scheme_host_or_port_is_elsewhere() {
        let sent = "https://api.example.com/v1/orders";
        for answered in [
            "http://api.example.com/v1/orders",
            "https://api.example.org/v1/orders",
            "https://api.example.com:8443/v1/orders",
            "https://other.example.com/v1/orders",
            "https://api.example.co/m/v1/orders",
            "http://no.url.provided.local/",
        ] {
            assert_eq!(arrival(sent, answered), Arrival::Elsewhere, "{answered}");
        }
    }

    #[test]
    fn every_byte_and_the_length_count() {
        // Short and long tails, each byte after the origin changed in turn.
        for path in ["/a", "/abcdefg", "/abcdefgh", "/abcdefghijklmnopqrstu"] {
            let sent = format!("https://api.example.com{path}");
            for i in "https://api.example.com/".len()..sent.len() {
                let mut changed = sent.clone().into_bytes();
                changed[i] = if changed[i] == b'x' { b'y' } else { b'x' };
                let changed = String::from_utf8(changed).expect("ascii");
                assert_eq!(arrival(&sent, &changed), Arrival::SameOrigin, "{changed}");
            }
            assert_eq!(arrival(&sent, &format!("{sent}a")), Arrival::SameOrigin);
            assert_eq!(arrival(&format!("{sent}/"), &sent), Arrival::SameOrigin);
        }
    }

    /// reqwest forwards `Authorization` on a redirect to the same scheme, host and port,
    /// whatever the user info (`https://user:password@`): a rejection from there refused the
    /// token, which must be dropped (not kept as if from another origin), and the request is
    /// not retried (another URL).
    #[test]
    fn user_info_is_not_part_of_the_origin_the_token_is_forwarded_to() {
        for (sent, answered) in [
            ("https://u:p@api.example.com/x", "https://api.example.com/x"),
            ("https://api.example.com/x", "https://u:p@api.example.com/y"),
            ("https://u:p@api.example.com/x", "https://other:q@api.example.com/x"),
            ("https://user@api.example.com:8443/x", "https://api.example.com:8443/"),
            ("https://u@[::1]/x", "https://[::1]/x"),
        ] {
            assert_eq!(arrival(sent, answered), Arrival::SameOrigin, "{sent} answered from {answered}");
        }
        for (sent, answered) in [
            ("https://u:p@api.example.com/x", "https://evil.example/x"),
            ("https://api.example.com@evil.example/x", "https://api.example.com/x"),
            ("https://u:p@api.example.com/x", "https://api.example.com:8443/x"),
            ("https://u:p@api.example.com/x", "http://u:p@api.example.com/x"),
            ("https://u@[::1]/x", "https://[::2]/x"),
        ] {
            assert_eq!(arrival(sent, answered), Arrival::Elsewhere, "{sent} answered from {answered}");
        }
        assert_eq!(arrival("https://u:p@api.example.com/x", "https://u:p@api.example.com/x"), Arrival::SameUrl);
    }

    /// Review probes: host, port, user-info, IPv6, encoding and length tricks never make a
    /// rejection from elsewhere look like the request's URL or origin.
    #[test]
    fn prefix_and_normalisation_tricks_are_never_the_same_url_or_origin() {
        let sent = "https://api.example.com/v1/x";
        for elsewhere in [
            "https://api.example.com.evil.com/v1/x",
            "https://api.example.com@evil.com/v1/x",
            "https://api.example.com:443@evil.com/v1/x",
            "https://api.example.com./v1/x",
            "https://api.example.com:4430/v1/x",
            "https://api.example.co/v1/x",
            "https://xn--api-example-com/v1/x",
        ] {
            assert_eq!(arrival(sent, elsewhere), Arrival::Elsewhere, "{elsewhere}");
        }
        // Spellings the parser writes as the request's URL are that URL.
        for same in
            ["https://API.EXAMPLE.COM:443/v1/x", "https://api.example.com/v1/./x", "https://api.example.com/v1/y/../x"]
        {
            assert_eq!(arrival(sent, same), Arrival::SameUrl, "{same}");
        }
        // Encodings and query spellings the server tells apart are other URLs on the origin.
        for other in [
            "https://api.example.com/v1/%78",
            "https://api.example.com/v1/x?",
            "https://api.example.com/v1/x/",
            "https://api.example.com/V1/x",
        ] {
            assert_eq!(arrival(sent, other), Arrival::SameOrigin, "{other}");
        }
        // IPv6 hosts.
        assert_eq!(arrival("https://[::1]:8443/x", "https://[::1]:8443/x"), Arrival::SameUrl);
        assert_eq!(arrival("https://[::1]:8443/x", "https://[::1]:8443/y"), Arrival::SameOrigin);
        assert_eq!(arrival("https://[::1]:8443/x", "https://[::1]:844/x"), Arrival::Elsewhere);
        assert_eq!(arrival("https://[::1]:8443/x", "https://[::2]:8443/x"), Arrival::Elsewhere);
        assert_eq!(arrival("https://[::1]/x", "https://[0:0::1]/x"), Arrival::SameUrl);
        // IDNA: the parser writes both in punycode.
        assert_eq!(arrival("https://b\u{fc}cher.example/x", "https://xn--bcher-kva.example/x"), Arrival::SameUrl);
    }

    /// Review probe: at the inline bound and one byte past it, every byte of the URL counts.
    #[test]
    fn urls_at_and_past_the_inline_bound_compare_every_byte() {
        let origin = "https://api.example.com/";
        for len in [INLINE - 1, INLINE, INLINE + 1] {
            let sent = format!("{origin}{}", "a".repeat(len - origin.len()));
            assert_eq!(sent.len(), len);
            assert_eq!(arrival(&sent, &sent), Arrival::SameUrl, "{len}");
            let mut last = sent.clone();
            last.pop();
            assert_eq!(arrival(&sent, &format!("{last}b")), Arrival::SameOrigin, "{len}: last byte");
            assert_eq!(arrival(&sent, &last), Arrival::SameOrigin, "{len}: one byte shorter");
            assert_eq!(arrival(&sent, &format!("{sent}a")), Arrival::SameOrigin, "{len}: one byte longer");
            assert_eq!(arrival(&last, &sent), Arrival::SameOrigin, "{len}: sent one byte shorter");
            let elsewhere = sent.replacen("api.example.com", "api.example.org", 1);
            assert_eq!(arrival(&sent, &elsewhere), Arrival::Elsewhere, "{len}");
        }
    }

    /// The attack on the fingerprints this module once compared: an open redirect on the API
    /// sends the request to a host and path crafted to fingerprint like the request's, which
    /// answers 401; taken for the same URL, the request would be retried there with a fresh
    /// token.
    #[test]
    fn a_forged_fingerprint_is_not_the_same_url() {
        let sent = "https://good.example/x";
        let forged = format!(
            "{}{}",
            forged_fingerprint::https_origin_like("https://good.example"),
            forged_fingerprint::path_like("/x")
        );
        let parsed = Url::parse(&forged).expect("a URL");
        // The parser leaves the forged bytes as they are, so the old fingerprints collide.
        assert_eq!(parsed.as_str(), forged);
        let old = |text: &str| forged_fingerprint::old_fingerprint(text.as_bytes());
        let sent_url = Url::parse(sent).expect("url");
        assert_eq!(old(&parsed[..Position::BeforePath]), old(&sent_url[..Position::BeforePath]));
        assert_eq!(old(&parsed[Position::BeforePath..]), old(&sent_url[Position::BeforePath..]));
        assert_eq!(arrival(sent, &forged), Arrival::Elsewhere, "{forged}");

        // On the request's own origin, a forged path: another URL, so no retry there.
        let same_origin = format!("https://good.example{}", forged_fingerprint::path_like("/x"));
        assert_eq!(arrival(sent, &same_origin), Arrival::SameOrigin, "{same_origin}");
    }
}
