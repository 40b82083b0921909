//! Where a request went, in 16 bytes.

use reqwest::Url;
use url::Position;

/// Where a request was sent: fingerprints of its origin and of its whole URL.
///
/// A rejection's URL ([`reqwest::Response::url`]) is where the request ended up after any
/// redirects. Comparing fingerprints tells whether that is the URL the request was sent to,
/// another URL on its origin, or another origin, without keeping a copy of the URL (which
/// would allocate on every request). Two different URLs get the same 64-bit fingerprint with
/// a chance of about one in 2^64; a server that would forge a collision must be on an
/// allowed origin, which receives the token anyway, and the retry still goes only to a URL
/// that may have the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Destination {
    origin: u64,
    url: u64,
}

/// Where a rejection came from, seen from where its request was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// The very URL the request was sent to: no redirect, or one back to the same URL.
    SameUrl,
    /// Another URL on the same origin: a redirect that reqwest followed with the token.
    SameOrigin,
    /// Another origin: reqwest dropped the token on the way.
    Elsewhere,
}

impl Destination {
    /// The destination of a request to `url`.
    #[inline]
    pub(crate) fn of(url: &Url) -> Self {
        // `scheme://[user@]host[:port]`, then the rest.
        let (origin, rest) = url.as_str().as_bytes().split_at(url[..Position::BeforePath].len());
        let origin = fold(SEED, origin);
        Self { origin, url: fold(origin, rest) }
    }

    /// Where a response from `url` came from, seen from this destination.
    pub(crate) fn arrival(self, url: &Url) -> Arrival {
        let there = Self::of(url);
        if there == self {
            Arrival::SameUrl
        } else if there.origin == self.origin {
            Arrival::SameOrigin
        } else {
            Arrival::Elsewhere
        }
    }
}

const SEED: u64 = 0x243f_6a88_85a3_08d3;
/// FxHash's multiplier: odd, so each step is a bijection of the state, and two inputs that
/// differ in one word never collide.
const K: u64 = 0x517c_c1b7_2722_0a95;

#[inline(always)]
fn mix(state: u64, word: u64) -> u64 {
    (state.rotate_left(5) ^ word).wrapping_mul(K)
}

/// `bytes` and their length folded into `state`, eight bytes at a time.
#[inline(always)]
fn fold(state: u64, bytes: &[u8]) -> u64 {
    let len = bytes.len();
    let mut state = mix(state, len as u64);
    let mut at = 0;
    while at + 8 <= len {
        state = mix(state, word(bytes, at));
        at += 8;
    }
    if at == len {
        state
    } else if len >= 8 {
        // The last eight bytes, overlapping a word already folded: one load, not a byte loop.
        mix(state, word(bytes, len - 8))
    } else {
        bytes.iter().fold(state, |state, &byte| mix(state, u64::from(byte)))
    }
}

/// The eight bytes at `at` (which the callers keep in bounds).
#[inline(always)]
fn word(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    if let Some(eight) = bytes.get(at..at + 8) {
        word.copy_from_slice(eight);
    }
    u64::from_le_bytes(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrival(sent: &str, answered: &str) -> Arrival {
        let parse = |text: &str| Url::parse(text).expect("url");
        Destination::of(&parse(sent)).arrival(&parse(answered))
    }

    #[test]
    fn the_same_url_is_the_same_destination() {
        assert_eq!(
            arrival("https://api.example.com/v1/things?a=1", "https://API.example.com:443/v1/things?a=1"),
            Arrival::SameUrl
        );
        assert_eq!(arrival("http://127.0.0.1:1/", "http://127.0.0.1:1"), Arrival::SameUrl);
    }

    #[test]
    fn another_path_query_or_fragment_on_the_origin_is_the_same_origin() {
        let sent = "https://api.example.com/v1/orders";
        for answered in [
            "https://api.example.com/v1/orders/1",
            "https://api.example.com/v1/orderz",
            "https://api.example.com/v1/orders?page=2",
            "https://api.example.com/v1/orders#x",
            "https://api.example.com/",
            "https://api.example.com/v1/Orders",
        ] {
            assert_eq!(arrival(sent, answered), Arrival::SameOrigin, "{answered}");
        }
    }

    #[test]
    fn another_scheme_host_port_or_user_is_elsewhere() {
        let sent = "https://api.example.com/v1/orders";
        for answered in [
            "http://api.example.com/v1/orders",
            "https://api.example.org/v1/orders",
            "https://api.example.com:8443/v1/orders",
            "https://user@api.example.com/v1/orders",
            "https://other.example.com/v1/orders",
            "http://no.url.provided.local/",
        ] {
            assert_eq!(arrival(sent, answered), Arrival::Elsewhere, "{answered}");
        }
    }

    #[test]
    fn every_byte_and_the_length_count() {
        // Short and long tails, each byte changed in turn.
        for path in ["/a", "/abcdefg", "/abcdefgh", "/abcdefghijklmnopqrstu"] {
            let sent = format!("https://h.example{path}");
            for i in "https://h.example/".len()..sent.len() {
                let mut changed = sent.clone().into_bytes();
                changed[i] = if changed[i] == b'x' { b'y' } else { b'x' };
                let changed = String::from_utf8(changed).expect("ascii");
                assert_eq!(arrival(&sent, &changed), Arrival::SameOrigin, "{changed}");
            }
            assert_eq!(arrival(&sent, &format!("{sent}a")), Arrival::SameOrigin);
            assert_eq!(arrival(&format!("{sent}/"), &sent), Arrival::SameOrigin);
        }
    }
}
