//! What every provider's handlers share: recording and faults, body parsing, issuing tokens,
//! and the token-endpoint and protected-API routes.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post, MethodRouter};
use bytes::Bytes;
use http::{header, HeaderMap, Method, StatusCode, Uri};

use crate::state::{lock, AtomicCounters, SimState, TokenVerdict};
use crate::{CapturedRequest, ExpiresInStyle, Fault};

impl SimState {
    /// Records and counts a token request, then applies the next queued fault: `Some` is the
    /// response to send instead of the real one.
    pub(crate) async fn intercept(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Option<Response> {
        AtomicCounters::bump(&self.counters.token_requests);
        lock(&self.captured).push(CapturedRequest {
            method: method.clone(),
            path: uri.path().to_owned(),
            headers: headers.clone(),
            body: body.clone(),
        });
        while let Some(fault) = self.next_fault() {
            match fault {
                Fault::Delay(delay) => tokio::time::sleep(delay).await,
                other => return Some(other.response(self.config().fault_body)),
            }
        }
        None
    }

    /// `expires_in` written in the configured style.
    pub(crate) fn expires_in_value(&self) -> Option<serde_json::Value> {
        let config = self.config();
        let secs = config.ttl.as_secs();
        match config.expires_in_style {
            ExpiresInStyle::Integer => Some(secs.into()),
            ExpiresInStyle::Float => Some((secs as f64 - 1.0 + 0.0).max(0.0).into()),
            ExpiresInStyle::String => Some(secs.to_string().into()),
            ExpiresInStyle::Absent => None,
        }
    }
}

/// Which body encoding a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Form,
    Json,
}

/// Parses a body by its content type: form pairs or a JSON object of strings. `None` for any
/// other content type, an unparsable body, or a form that repeats a field other than
/// `resource` or `audience`.
pub(crate) fn parse_fields(headers: &HeaderMap, body: &[u8]) -> Option<(BodyKind, HashMap<String, String>)> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = content_type.split(';').next()?.trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/x-www-form-urlencoded" => {
            let pairs: Vec<(String, String)> = form_urlencoded(body)?;
            // RFC 6749 §3.2: no parameter more than once; a repeated one makes the body invalid.
            // RFC 8693 §2.1 lets `resource` and `audience` repeat (the handlers read them all
            // from the raw body).
            let mut fields = HashMap::with_capacity(pairs.len());
            for (name, value) in pairs {
                let repeatable = matches!(name.as_str(), "resource" | "audience");
                if fields.insert(name, value).is_some() && !repeatable {
                    return None;
                }
            }
            Some((BodyKind::Form, fields))
        }
        "application/json" => {
            let value: serde_json::Value = serde_json::from_slice(body).ok()?;
            let fields = value
                .as_object()?
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())))
                .collect();
            Some((BodyKind::Json, fields))
        }
        _ => None,
    }
}

fn form_urlencoded(body: &[u8]) -> Option<Vec<(String, String)>> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((percent_decode(k)?, percent_decode(v)?))
        })
        .collect()
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// `Authorization: Basic` credentials, decoded as RFC 6749 §2.3.1 says: Base64, split at the
/// colon, then each half form-urlencoded-decoded.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let (id, secret) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((percent_decode(id)?, percent_decode(secret)?))
}

/// Whether the request's `Accept` header admits JSON (`application/json`, `application/*` or
/// `*/*`). A missing header does not: every provider documents the one to send.
pub(crate) fn accepts_json(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|range| {
        let essence = range.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        matches!(essence.as_str(), "application/json" | "application/*" | "*/*")
    })
}

/// Whether the form or JSON fields are exactly `allowed` or a subset of it.
pub(crate) fn only_fields(fields: &HashMap<String, String>, allowed: &[&str]) -> bool {
    fields.keys().all(|k| allowed.contains(&k.as_str()))
}

/// A JSON response.
pub(crate) fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// Issues a token: an opaque one, or a JWT when `jwt` (with a JWT refresh token when
/// `refresh`), remembered with the configured lifetimes.
pub(crate) fn issue(sim: &SimState, jwt: bool, refresh: bool) -> (String, Option<String>) {
    let n = sim.next_serial();
    let config = sim.config();
    let (access, refresh) = if jwt {
        let access = crate::fake_jwt("sim-user", &format!("at-{n}"), config.ttl);
        (access, refresh.then(|| crate::fake_jwt("sim-user", &format!("rt-{n}"), config.refresh_ttl)))
    } else {
        (
            format!("sim-at-{n}-{:08x}", n.wrapping_mul(0x9e37_79b9)),
            refresh.then(|| format!("sim-rt-{n}-{:08x}", n.wrapping_mul(0x85eb_ca6b))),
        )
    };
    sim.remember(&access, refresh.as_deref());
    (access, refresh)
}

/// `307` to the `to` query parameter (taken verbatim: simulators serve tests only).
pub(crate) async fn redirect(uri: Uri) -> Response {
    let target = uri.query().and_then(|q| q.strip_prefix("to=")).unwrap_or("/");
    (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, target.to_owned())]).into_response()
}

/// A token endpoint: records and counts the request, applies any queued fault, and otherwise
/// answers with `handler`.
pub(crate) fn token_route(handler: fn(&SimState, &HeaderMap, &Bytes) -> Response) -> MethodRouter<Arc<SimState>> {
    post(
        move |State(sim): State<Arc<SimState>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes| async move {
            match sim.intercept(&method, &uri, &headers, &body).await {
                Some(fault) => fault,
                None => handler(&sim, &headers, &body),
            }
        },
    )
}

/// The protected API, any method: for a valid token, 200 (or `created` for a POST) with a
/// JSON hello or the request body echoed; else `reject(verdict)`.
pub(crate) fn api_route(created: StatusCode, reject: fn(TokenVerdict) -> Response) -> MethodRouter<Arc<SimState>> {
    any(move |State(sim): State<Arc<SimState>>, method: Method, headers: HeaderMap, body: Bytes| async move {
        match sim.verdict(&headers) {
            TokenVerdict::Valid => {
                let status = if method == Method::POST { created } else { StatusCode::OK };
                api_success(status, &method, body)
            }
            verdict => reject(verdict),
        }
    })
}

/// The protected API's success: GET says hello, anything with a body gets it echoed.
fn api_success(status: StatusCode, method: &Method, body: Bytes) -> Response {
    if method == Method::GET || body.is_empty() {
        json(status, serde_json::json!({ "ok": true }))
    } else {
        (status, [(header::CONTENT_TYPE, "application/octet-stream")], body).into_response()
    }
}
