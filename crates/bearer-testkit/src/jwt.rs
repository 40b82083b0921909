//! Real-looking, unsigned JWTs for the simulators that issue them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// A JWT (`header.payload.signature`, base64url) with `sub`, `jti` and an `exp` of now plus
/// `ttl` on the wall clock. The signature is filler: clients must not verify it.
pub fn fake_jwt(subject: &str, jti: &str, ttl: Duration) -> String {
    let exp = SystemTime::now().checked_add(ttl).unwrap_or_else(SystemTime::now);
    let exp = exp.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let claims =
        serde_json::json!({ "sub": subject, "jti": jti, "exp": exp, "iat": exp.saturating_sub(ttl.as_secs()) });
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signature = URL_SAFE_NO_PAD.encode(format!("simulated-signature-{jti}"));
    format!("{header}.{payload}.{signature}")
}
