//! Zenkipay's token endpoint (`POST /v1/oauth/tokens`, camelCase JSON) and
//! `/v1/pay/orders/{id}`, which answers a bad token with 403.

use std::sync::Arc;

use axum::response::Response;
use axum::Router;
use bytes::Bytes;
use http::{header, HeaderMap, StatusCode};

use crate::request::{accepts_json, parse_fields, BodyKind};
use crate::routes::{api_route, issue, json, token_route};
use crate::state::{AtomicCounters, SimState, TokenVerdict};

pub(crate) const TOKEN_PATH: &str = "/v1/oauth/tokens";
pub(crate) const API_PATH: &str = "/v1/pay/orders/zk-order-1";

pub(crate) fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route(TOKEN_PATH, token_route(token))
        .route("/v1/pay/orders/{id}", api_route(StatusCode::CREATED, reject))
        .with_state(state)
}

const CREATION_FAILED: &str = "Token creation failed, please review the details and try again.";

fn error(error: &str) -> Response {
    json(StatusCode::BAD_REQUEST, serde_json::json!({ "error": error, "errorDescription": CREATION_FAILED }))
}

/// Zenkipay's camelCase error body for an injected fault: its 500 message, else its 400 one.
pub(crate) fn fault_body(status: StatusCode) -> String {
    let body = if status.is_server_error() {
        serde_json::json!({ "error": "server_error", "errorDescription": "Unexpected error creating auth token" })
    } else {
        serde_json::json!({ "error": "invalid_request", "errorDescription": CREATION_FAILED })
    };
    body.to_string()
}

fn token(sim: &SimState, headers: &HeaderMap, body: &Bytes) -> Response {
    // "No authorization required": a client that sends one is not speaking this contract.
    if !accepts_json(headers) || headers.contains_key(header::AUTHORIZATION) {
        return error("invalid_request");
    }
    let Some((BodyKind::Json, fields)) = parse_fields(headers, body) else {
        return error("invalid_request");
    };
    // Exactly the camelCase fields: a snake_case client is refused.
    if ["client_id", "client_secret", "grant_type"].iter().any(|k| fields.contains_key(*k)) || fields.len() != 3 {
        return error("invalid_request");
    }
    if fields.get("grantType").map(String::as_str) != Some("client_credentials") {
        return error("unsupported_grant_type");
    }
    let creds = &sim.credentials;
    if fields.get("clientId") != Some(&creds.client_id) || fields.get("clientSecret") != Some(&creds.client_secret) {
        return error("invalid_client");
    }
    AtomicCounters::bump(&sim.counters.primary_grants);
    let (access, refresh) = issue(sim, true, sim.config().refresh_token_in_answer);
    let mut body = serde_json::json!({ "accessToken": access, "tokenType": "Bearer" });
    if let Some(refresh) = refresh {
        body["refreshToken"] = refresh.into();
    }
    if let Some(expires_in) = sim.expires_in_value() {
        body["expiresIn"] = expires_in;
    }
    json(StatusCode::OK, body)
}

fn reject(_: TokenVerdict) -> Response {
    json(StatusCode::FORBIDDEN, serde_json::json!({ "message": "Access denied." }))
}
