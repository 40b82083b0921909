//! Reading a JWT's `exp` claim, without verifying the signature: we are the client that
//! holds the token, not the server that must trust it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// The largest payload we decode; real access tokens are a few kilobytes at most.
const MAX_PAYLOAD_BYTES: usize = 16 * 1024;

/// The `exp` claim of a JWT (`header.payload.signature`, base64url), as an instant on the
/// wall clock. `None` when the value is not a JWT, has no numeric `exp`, or is oversized.
pub fn expiry(token: &str) -> Option<SystemTime> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || payload.len() > MAX_PAYLOAD_BYTES {
        return None;
    }
    // Some issuers pad their base64url; the standard says they should not.
    let decoded = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&decoded).ok()?;
    let exp = claims.get("exp")?.as_f64()?;
    if !exp.is_finite() || !(0.0..=1e11).contains(&exp) {
        return None;
    }
    UNIX_EPOCH.checked_add(Duration::from_secs_f64(exp))
}

/// How long a JWT has left, measured on our wall clock; `None` when [`expiry`] finds no
/// expiry or it is already past (a skewed clock makes that untrustworthy).
pub(crate) fn remaining_lifetime(token: &str) -> Option<Duration> {
    expiry(token)?.duration_since(SystemTime::now()).ok().filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        format!("{}.{}.sig", URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#), URL_SAFE_NO_PAD.encode(claims))
    }

    #[test]
    fn reads_exp() {
        assert_eq!(
            expiry(&jwt(r#"{"sub":"x","exp":1700000000}"#)),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        assert_eq!(
            expiry(&jwt(r#"{"exp":1700000000.5}"#)),
            Some(UNIX_EPOCH + Duration::from_millis(1_700_000_000_500))
        );
    }

    #[test]
    fn remaining_lifetime_of_a_future_token() {
        let exp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) + 600;
        let left = remaining_lifetime(&jwt(&format!(r#"{{"exp":{exp}}}"#))).expect("lifetime");
        assert!(left <= Duration::from_secs(600) && left > Duration::from_secs(590), "{left:?}");
        assert_eq!(remaining_lifetime(&jwt(r#"{"exp":1000}"#)), None, "past expiry");
    }

    #[test]
    fn not_a_jwt() {
        for token in [
            "opaque",
            "a.b",
            "a.b.c.d",
            "a.!!!.c",
            &jwt(r#"{"exp":"soon"}"#),
            &jwt("[]"),
            &jwt(r#"{"exp":-1}"#),
            &jwt(r#"{"exp":1e300}"#),
        ] {
            assert_eq!(expiry(token), None, "{token}");
        }
    }
}
