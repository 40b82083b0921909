//! What every provider's handlers share: recording and faults, issuing tokens,
//! and the token-endpoint and protected-API routes.

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
