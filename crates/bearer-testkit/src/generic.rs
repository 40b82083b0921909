//! A generic RFC 6749 authorization server and the API it protects.

use std::collections::HashMap;
use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use http::{header, HeaderMap, StatusCode};

use crate::request::{basic_credentials, parse_fields};
use crate::routes::{api_route, issue, json, token_route};
use crate::state::{AtomicCounters, SimState, TokenVerdict};

pub(crate) const TOKEN_PATH: &str = "/oauth/token";
pub(crate) const API_PATH: &str = "/api";
pub(crate) const REVOCATION_PATH: &str = "/oauth/revoke";

pub(crate) fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route(TOKEN_PATH, token_route(token))
        .route(REVOCATION_PATH, token_route(revoke))
        .route(API_PATH, api_route(StatusCode::OK, reject))
        .with_state(state)
}

/// RFC 6749 §5.2 error answer.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json(status, serde_json::json!({ "error": error, "error_description": description }))
}

/// The request's fields once the client has authenticated: HTTP Basic or the body, not both
/// (RFC 6749 §2.3.1); else the error to answer.
#[allow(clippy::result_large_err)] // a handler's early return, built once per bad request
fn authenticated(sim: &SimState, headers: &HeaderMap, body: &Bytes) -> Result<HashMap<String, String>, Response> {
    let Some((_, fields)) = parse_fields(headers, body) else {
        return Err(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "the body must be form-encoded or JSON"));
    };
    let field = |name: &str| fields.get(name).map(String::as_str);
    let from_basic = basic_credentials(headers);
    let from_body = field("client_id").map(|id| (id.to_owned(), field("client_secret").unwrap_or("").to_owned()));
    let client = match (from_basic, from_body) {
        (Some(_), Some(_)) => {
            return Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "more than one client authentication method",
            ));
        }
        (Some(c), None) | (None, Some(c)) => c,
        (None, None) => {
            return Err(oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed"))
        }
    };
    let creds = &sim.credentials;
    if client.0 != creds.client_id || client.1 != creds.client_secret {
        return Err(oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed"));
    }
    Ok(fields)
}

/// RFC 7009 revocation: a form-encoded `token` (and optional `token_type_hint`) from an
/// authenticated client. Answers 200 whether or not the token was live, as §2.2 says.
fn revoke(sim: &SimState, headers: &HeaderMap, body: &Bytes) -> Response {
    let fields = match authenticated(sim, headers, body) {
        Ok(fields) => fields,
        Err(refused) => return refused,
    };
    let Some(token) = fields.get("token") else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "token is required");
    };
    match fields.get("token_type_hint").map(String::as_str) {
        None | Some("refresh_token" | "access_token") => {}
        Some(_) => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_token_type", "unknown token_type_hint"),
    }
    sim.revoke(token);
    StatusCode::OK.into_response()
}

fn token(sim: &SimState, headers: &HeaderMap, body: &Bytes) -> Response {
    let fields = match authenticated(sim, headers, body) {
        Ok(fields) => fields,
        Err(refused) => return refused,
    };
    let field = |name: &str| fields.get(name).map(String::as_str);
    let creds = &sim.credentials;
    let issue_refresh = match field("grant_type") {
        Some("client_credentials") => {
            AtomicCounters::bump(&sim.counters.primary_grants);
            false
        }
        Some("password") => {
            if field("username") != Some(creds.username.as_str()) || field("password") != Some(creds.password.as_str())
            {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "invalid resource owner credentials");
            }
            AtomicCounters::bump(&sim.counters.primary_grants);
            true
        }
        Some("refresh_token") => {
            if !field("refresh_token").is_some_and(|r| sim.take_refresh(r)) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the refresh token is invalid, expired or used",
                );
            }
            AtomicCounters::bump(&sim.counters.refresh_grants);
            true
        }
        Some(_) => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "grant type not supported"),
        None => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "grant_type is required"),
    };
    let (access, refresh) = issue(sim, false, issue_refresh);
    let mut body = serde_json::json!({ "access_token": access, "token_type": "Bearer" });
    if let Some(expires_in) = sim.expires_in_value() {
        body["expires_in"] = expires_in;
    }
    if let Some(refresh) = refresh {
        body["refresh_token"] = refresh.into();
    }
    if let Some(scope) = field("scope") {
        body["scope"] = scope.into();
    }
    let mut response = json(StatusCode::OK, body);
    response.headers_mut().insert(header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    response
}

fn reject(verdict: TokenVerdict) -> Response {
    let challenge = match verdict {
        TokenVerdict::Missing => r#"Bearer realm="sim""#,
        _ => r#"Bearer realm="sim", error="invalid_token""#,
    };
    (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, challenge)]).into_response()
}
