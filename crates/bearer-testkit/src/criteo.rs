//! Criteo's token endpoint (`POST /oauth2/token`) and a Marketing Solutions API path.

use std::sync::Arc;

use axum::response::Response;
use axum::Router;
use bytes::Bytes;
use http::{header, HeaderMap, StatusCode};

use crate::request::{accepts_json, only_fields, parse_fields, BodyKind};
use crate::routes::{api_route, issue, json, token_route};
use crate::state::{AtomicCounters, SimState, TokenVerdict};

pub(crate) const TOKEN_PATH: &str = "/oauth2/token";
pub(crate) const API_PATH: &str = "/2025-07/marketing-solutions/me";

pub(crate) fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route(TOKEN_PATH, token_route(token))
        .route("/{version}/marketing-solutions/me", api_route(StatusCode::OK, reject))
        .with_state(state)
}

fn oauth_error(error: &str, description: &str) -> Response {
    json(
        StatusCode::BAD_REQUEST,
        serde_json::json!({ "error": error, "error_description": description, "error_uri": "https://developers.criteo.com/" }),
    )
}

fn token(sim: &SimState, headers: &HeaderMap, body: &Bytes) -> Response {
    if !accepts_json(headers) {
        let mut response = oauth_error("invalid_request", "Accept must allow application/json.");
        *response.status_mut() = StatusCode::NOT_ACCEPTABLE;
        return response;
    }
    if headers.contains_key(header::AUTHORIZATION) {
        return oauth_error("invalid_request", "The client credentials go in the form body, not in a header.");
    }
    let Some((BodyKind::Form, fields)) = parse_fields(headers, body) else {
        return oauth_error("invalid_request", "The request must be application/x-www-form-urlencoded.");
    };
    if !only_fields(&fields, &["client_id", "client_secret", "grant_type"]) {
        return oauth_error("invalid_request", "Only client_id, client_secret and grant_type are accepted.");
    }
    // The server defaults a missing grant_type to client_credentials; others are refused.
    if fields.get("grant_type").is_some_and(|g| g != "client_credentials") {
        return oauth_error("unsupported_grant_type", "Only client_credentials is available.");
    }
    let creds = &sim.credentials;
    if fields.get("client_id") != Some(&creds.client_id) || fields.get("client_secret") != Some(&creds.client_secret) {
        return oauth_error("invalid_client", "The client credentials are invalid.");
    }
    AtomicCounters::bump(&sim.counters.primary_grants);
    let (access, _) = issue(sim, true, false);
    let mut body = serde_json::json!({ "access_token": access, "token_type": "Bearer", "refresh_token": null });
    if let Some(expires_in) = sim.expires_in_value() {
        body["expires_in"] = expires_in;
    }
    json(StatusCode::OK, body)
}

fn reject(verdict: TokenVerdict) -> Response {
    let code =
        if verdict == TokenVerdict::Expired { "authorization-token-expired" } else { "authorization-token-invalid" };
    json(
        StatusCode::UNAUTHORIZED,
        serde_json::json!({ "errors": [{ "type": "authorization", "code": code, "title": "Authorization failed" }] }),
    )
}
