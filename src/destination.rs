//! Where a request went, in 16 bytes.

use reqwest::Url;
use url::Position;

use crate::origin::{Admitted, OriginId};

/// Where a request was sent: the allowed origin it was on, and a fingerprint of the rest of
/// its URL (path and query; the fragment is never sent).
///
/// A rejection's URL ([`reqwest::Response::url`]) is where the request ended up after any
/// redirects. Comparing it with the destination tells whether that is the URL the request was
/// sent to, another URL on its origin, or another origin, without keeping a copy of the URL
/// (which would allocate on every request). Two different paths get the same 64-bit
/// fingerprint with a chance of about one in 2^64; a server that would forge a collision must
/// be on the allowed origin, which receives the token anyway, and a retry still goes only to
/// a URL on that origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Destination {
    origin: OriginId,
    rest: u64,
}

/// Where a rejection came from, seen from where its request was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// The very URL the request was sent to: no redirect, or one back to the same URL.
    SameUrl,
    /// Another URL on the same origin: a redirect that reqwest followed with the token.
    SameOrigin,
    /// Another origin, or one that may not have the token: reqwest did not forward it there.
    Elsewhere,
}

impl Destination {
    /// A request to `url`, which the origin policy admitted.
    #[inline]
    pub(crate) fn new(url: &Url, admitted: Admitted) -> Self {
        Self { origin: admitted.origin, rest: fingerprint(SEED, rest_of(url, admitted)) }
    }

    /// Where a response from `url` came from, given what the same policy says of `url`.
    pub(crate) fn arrival(self, url: &Url, admitted: Option<Admitted>) -> Arrival {
        match admitted {
            Some(there) if there.origin == self.origin => {
                if fingerprint(SEED, rest_of(url, there)) == self.rest {
                    Arrival::SameUrl
                } else {
                    Arrival::SameOrigin
                }
            }
            _ => Arrival::Elsewhere,
        }
    }
}

/// The bytes of `url` after its origin, up to any fragment: a fragment is never sent, and
/// reqwest leaves it out of the response's URL.
#[inline(always)]
fn rest_of(url: &Url, admitted: Admitted) -> &[u8] {
    url[..Position::AfterQuery].as_bytes().get(admitted.path_start..).unwrap_or_default()
}

pub(crate) const SEED: u64 = 0x243f_6a88_85a3_08d3;
/// FxHash's multiplier: odd, so each step is a bijection of the state, and two inputs that
/// differ in one word never collide.
const K: u64 = 0x517c_c1b7_2722_0a95;

#[inline(always)]
fn mix(state: u64, word: u64) -> u64 {
    (state.rotate_left(5) ^ word).wrapping_mul(K)
}

/// `bytes` and their length folded into `state`, eight bytes at a time.
#[inline(always)]
pub(crate) fn fingerprint(state: u64, bytes: &[u8]) -> u64 {
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
    use crate::origin::OriginPolicy;

    /// Where `answered` comes from for a request to `sent`, under a policy allowing two
    /// named origins, or any https origin.
    fn arrival(any_https: bool, sent: &str, answered: &str) -> Arrival {
        let named = ["https://api.example.com".to_owned(), "https://api.example.org".to_owned()];
        let policy = OriginPolicy::build(&named, &[], any_https, false).expect("policy");
        let parse = |text: &str| Url::parse(text).expect("url");
        let (sent, answered) = (parse(sent), parse(answered));
        let destination = Destination::new(&sent, policy.admit(&sent).expect("sent with the token"));
        destination.arrival(&answered, policy.admit(&answered))
    }

    #[test]
    fn the_same_url_is_the_same_destination() {
        for any_https in [false, true] {
            let sent = "https://api.example.com/v1/things?a=1";
            assert_eq!(arrival(any_https, sent, "https://API.example.com:443/v1/things?a=1"), Arrival::SameUrl);
            assert_eq!(arrival(any_https, "https://api.example.com", "https://api.example.com/"), Arrival::SameUrl);
            // The fragment is never sent (reqwest's response URL has none).
            assert_eq!(arrival(any_https, &format!("{sent}#part"), sent), Arrival::SameUrl);
        }
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
            for any_https in [false, true] {
                assert_eq!(arrival(any_https, sent, answered), Arrival::SameOrigin, "{answered}");
            }
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
            for any_https in [false, true] {
                assert_eq!(arrival(any_https, sent, answered), Arrival::Elsewhere, "{answered}");
            }
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
                assert_eq!(arrival(false, &sent, &changed), Arrival::SameOrigin, "{changed}");
            }
            assert_eq!(arrival(false, &sent, &format!("{sent}a")), Arrival::SameOrigin);
            assert_eq!(arrival(false, &format!("{sent}/"), &sent), Arrival::SameOrigin);
        }
    }
}
