//! `bearer info`: what a token says about itself (JWT), or what its issuer says about it
//! (RFC 7662 introspection).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::config::Settings;
use crate::failure::Failure;
use crate::output::{rfc3339, seconds_left, time_left};
use crate::providers;
use crate::token_store::TokenRecord;

/// A JWT's decoded header and claims; `None` when the token is not a JWT.
fn decode_jwt(token: &str) -> Option<(Value, Value)> {
    let mut parts = token.split('.');
    let (header, claims, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let decode = |part: &str| -> Option<Value> {
        let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
        serde_json::from_slice::<Value>(&bytes).ok().filter(Value::is_object)
    };
    Some((decode(header)?, decode(claims)?))
}

fn claim_time(claims: &Value, name: &str) -> Option<SystemTime> {
    let secs = claims.get(name)?.as_f64().filter(|s| s.is_finite() && (0.0..1e11).contains(s))?;
    UNIX_EPOCH.checked_add(Duration::from_secs_f64(secs))
}

/// Everything `info` knows, as one JSON object. The signature is never checked: the CLI
/// holds the token, it does not have the issuer's keys.
pub(crate) fn describe(record: &TokenRecord, introspection: Option<Value>) -> Value {
    let mut info = Map::new();
    let (issued, expires) = match decode_jwt(&record.access_token) {
        Some((header, claims)) => {
            let times = (claim_time(&claims, "iat"), claim_time(&claims, "exp"));
            info.insert("kind".into(), "jwt".into());
            info.insert("signature_verified".into(), false.into());
            info.insert("header".into(), header);
            info.insert("claims".into(), claims);
            times
        }
        None => {
            info.insert("kind".into(), "opaque".into());
            (None, None)
        }
    };
    let issued = issued.unwrap_or_else(|| record.received_at());
    let expires = expires.or_else(|| record.expires_at());
    info.insert("issued_at".into(), rfc3339(issued).into());
    info.insert("expires_at".into(), expires.map(rfc3339).into());
    info.insert("expires_in".into(), expires.map(seconds_left).into());
    info.insert("scope".into(), record.scope.clone().into());
    if let Some(introspection) = introspection {
        info.insert("introspection".into(), introspection);
    }
    Value::Object(info)
}

/// The same, for people.
pub(crate) fn render(info: &Value) -> String {
    let mut lines = Vec::new();
    let text = |key: &str| info.get(key).and_then(Value::as_str).unwrap_or("unknown").to_owned();
    match info.get("kind").and_then(Value::as_str) {
        Some("jwt") => {
            lines.push("token:      JWT (signature not verified)".to_owned());
            lines.push(format!("header:     {}", info.get("header").unwrap_or(&Value::Null)));
            let claims = serde_json::to_string_pretty(info.get("claims").unwrap_or(&Value::Null)).unwrap_or_default();
            lines.push(format!("claims:     {}", claims.replace('\n', "\n            ")));
        }
        _ => lines.push("token:      opaque (not a JWT)".to_owned()),
    }
    lines.push(format!("issued:     {}", text("issued_at")));
    let expires = info.get("expires_at").and_then(Value::as_str);
    lines.push(format!("expires:    {}", expires.unwrap_or("unknown")));
    let left = expires.and_then(|e| humantime::parse_rfc3339(e).ok()).map(time_left);
    lines.push(format!("time left:  {}", left.unwrap_or_else(|| "unknown".into())));
    if let Some(scope) = info.get("scope").and_then(Value::as_str) {
        lines.push(format!("scope:      {scope}"));
    }
    match info.get("introspection") {
        Some(answer) => {
            let shown = serde_json::to_string_pretty(answer).unwrap_or_default();
            lines.push(format!("introspection (RFC 7662): {}", shown.replace('\n', "\n  ")));
        }
        None if info.get("kind").and_then(Value::as_str) == Some("opaque") => {
            lines.push("introspection: not configured (set introspection_url or --introspection-url)".to_owned());
        }
        None => {}
    }
    lines.join("\n")
}

/// Asks the RFC 7662 endpoint about the token, authenticating as the client (HTTP Basic).
pub(crate) fn introspect(
    settings: &Settings,
    url: &str,
    record: &TokenRecord,
    runtime: &tokio::runtime::Runtime,
) -> Result<Value, Failure> {
    providers::check_url(url, "introspection endpoint", settings)?;
    let (client_id, client_secret) = providers::client_credentials(settings)?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| Failure::usage(format!("cannot build an HTTP client: {e}")))?;
    let mut request = client
        .post(url)
        .header(http::header::ACCEPT, "application/json")
        .form(&[("token", record.access_token.as_str()), ("token_type_hint", "access_token")]);
    if let (Some(id), Some(secret)) = (&client_id, &client_secret) {
        request =
            request.header(http::header::AUTHORIZATION, bearer_oauth2::provider_kit::client_basic_auth(id, secret));
    }
    runtime.block_on(async {
        let response = request.send().await.map_err(|e| {
            Failure::network(format!("introspection endpoint unreachable: {}", e.without_url()))
                .with_hint("check --introspection-url")
        })?;
        let status = response.status();
        let body = response.bytes().await.ok();
        let body: Value = body.and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(Value::Null);
        if !status.is_success() {
            let detail = body.get("error").and_then(Value::as_str).map(|e| format!(" {e}")).unwrap_or_default();
            return Err(Failure::rejected(format!("introspection endpoint answered HTTP {}{detail}", status.as_u16()))
                .with_hint("the endpoint may want other client credentials"));
        }
        Ok(body)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_jwt_shows_header_claims_and_times() {
        let jwt = bearer_testkit::fake_jwt("alice", "j1", Duration::from_secs(600));
        let token = bearer_core::Token::builder(jwt.into()).build().expect("token");
        let info = describe(&TokenRecord::new("id", &token), None);
        assert_eq!(info["kind"], "jwt");
        assert_eq!(info["claims"]["sub"], "alice");
        assert_eq!(info["header"]["alg"], "HS256");
        assert_eq!(info["signature_verified"], false);
        let left = info["expires_in"].as_i64().expect("expires_in");
        assert!((590..=600).contains(&left), "{left}");
        assert!(render(&info).contains("signature not verified"));
    }

    #[test]
    fn an_opaque_token_says_so() {
        let token = bearer_core::Token::builder("opaque-123".into()).build().expect("token");
        let info = describe(&TokenRecord::new("id", &token), Some(json!({"active": true})));
        assert_eq!(info["kind"], "opaque");
        assert_eq!(info["introspection"]["active"], true);
        assert!(decode_jwt("a.b.c").is_none());
    }
}
