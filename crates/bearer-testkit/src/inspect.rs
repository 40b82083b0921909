//! Reading what a client sent or was told, for assertions in tests.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// The JSON of a JWT's header (`part` 0) or claims (`part` 1), unverified; `Null` when the
/// value is not a JWT.
pub fn jwt_part(jwt: &str, part: usize) -> serde_json::Value {
    jwt.split('.')
        .nth(part)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// The OAuth `error` and `error_description` of a rejected token request; `(None, None)`
/// for any other error.
pub fn oauth_error_of(error: &bearer_core::Error) -> (Option<&str>, Option<&str>) {
    match error.rejection() {
        Some(r) => (r.code.as_deref(), r.description.as_deref()),
        None => (None, None),
    }
}
