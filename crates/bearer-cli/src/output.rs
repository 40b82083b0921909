//! What goes to stdout: only the requested output, so pipes get nothing else.

use std::io::Write;
use std::time::{Duration, SystemTime};

use bearer_core::RefreshToken;
use serde_json::json;

use crate::cli::TokenFormat;
use crate::failure::Failure;
use crate::token_store::TokenRecord;

/// Writes `text` and a newline to stdout. A closed pipe (`bearer token | head -c0`) is not an
/// error worth a message.
pub(crate) fn emit(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::usage(format!("cannot write to standard output: {e}")))
        }
        _ => Ok(()),
    }
}

/// `Authorization: Bearer <token>`.
pub(crate) fn header_line(record: &TokenRecord) -> String {
    format!("Authorization: {}", bearer_value(record))
}

/// `Bearer <token>`.
pub(crate) fn bearer_value(record: &TokenRecord) -> String {
    format!("Bearer {}", record.access_token)
}

/// An instant as RFC 3339 (UTC, seconds).
pub(crate) fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// Whole seconds from now until `at` (negative once past).
pub(crate) fn seconds_left(at: SystemTime) -> i64 {
    match at.duration_since(SystemTime::now()) {
        Ok(left) => i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
        Err(past) => -i64::try_from(past.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// `14m 59s`, or `expired 3m ago`.
pub(crate) fn time_left(at: SystemTime) -> String {
    let secs = seconds_left(at);
    let shown = humantime::format_duration(Duration::from_secs(secs.unsigned_abs()));
    if secs >= 0 {
        shown.to_string()
    } else {
        format!("expired {shown} ago")
    }
}

/// `bearer token` in the requested format.
pub(crate) fn token(record: &TokenRecord, format: TokenFormat) -> String {
    match format {
        TokenFormat::Bare => record.access_token.clone(),
        TokenFormat::Header => header_line(record),
        TokenFormat::Json => token_json(record).to_string(),
    }
}

/// `bearer token --format json --show-refresh-token`: the JSON of [`token`] with
/// `refresh_token` added (`null` when the source holds none).
pub(crate) fn token_with_refresh(record: &TokenRecord, refresh: Option<&RefreshToken>) -> String {
    let mut value = token_json(record);
    value["refresh_token"] = json!(refresh.map(RefreshToken::secret));
    value.to_string()
}

fn token_json(record: &TokenRecord) -> serde_json::Value {
    let expires_at = record.expires_at();
    json!({
        "access_token": record.access_token,
        "token_type": "Bearer",
        "expires_at": expires_at.map(rfc3339),
        "expires_in": expires_at.map(seconds_left),
        "scope": record.scope,
    })
}
