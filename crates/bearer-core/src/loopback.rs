//! The one loopback rule: where plain http may carry a secret (a token endpoint's credentials,
//! an API's bearer token) once the user allowed it.

use std::net::IpAddr;

/// Whether `host`, as a URL spells it (`127.0.0.1`, `[::1]`, `localhost`), names this
/// machine: `127.0.0.0/8`, `::1`, or `localhost` (which resolvers map to loopback). Any other
/// name, `localhost.` and `::ffff:127.0.0.1` included, is not.
///
/// ```
/// use bearer_core::is_loopback_host;
///
/// assert!(is_loopback_host("127.0.0.1") && is_loopback_host("[::1]") && is_loopback_host("LOCALHOST"));
/// assert!(!is_loopback_host("localhost.example.com") && !is_loopback_host("10.0.0.1"));
/// ```
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn loopback_is_127_slash_8_ipv6_one_and_localhost_only() {
        for host in ["127.0.0.1", "127.255.0.9", "[::1]", "localhost", "LocalHost"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in
            ["", "10.0.0.1", "[::ffff:127.0.0.1]", "[::2]", "localhost.", "localhost.evil.com", "127.0.0.1.nip.io"]
        {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
