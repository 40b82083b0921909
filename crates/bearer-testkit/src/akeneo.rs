//! Akeneo PIM's token endpoint (`POST /api/oauth/v1/token`) and `/api/rest/v1/products`.

use std::sync::Arc;

use axum::response::Response;
use axum::Router;
use bytes::Bytes;
use http::{header, HeaderMap, StatusCode};

use crate::request::{accepts_json, basic_credentials, parse_fields};
use crate::routes::{api_route, issue, json, token_route};
use crate::state::{AtomicCounters, SimState, TokenVerdict};

pub(crate) const TOKEN_PATH: &str = "/api/oauth/v1/token";
pub(crate) const API_PATH: &str = "/api/rest/v1/products";

pub(crate) fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route(TOKEN_PATH, token_route(token))
        .route(API_PATH, api_route(StatusCode::CREATED, reject))
        .with_state(state)
}

fn error(status: StatusCode, message: &str) -> Response {
    json(status, serde_json::json!({ "code": status.as_u16(), "message": message }))
}

fn token(sim: &SimState, headers: &HeaderMap, body: &Bytes) -> Response {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence != "application/json" && essence != "application/x-www-form-urlencoded" {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "The content type is not supported. Use application/json or application/x-www-form-urlencoded.",
        );
    }
    if !accepts_json(headers) {
        return error(StatusCode::NOT_ACCEPTABLE, "The Accept header must allow application/json.");
    }
    let creds = &sim.credentials;
    if basic_credentials(headers) != Some((creds.client_id.clone(), creds.client_secret.clone())) {
        return error(
            StatusCode::BAD_REQUEST,
            "Parameter \"client_id\" is missing or does not match any client, or secret is invalid",
        );
    }
    let Some((_, fields)) = parse_fields(headers, body) else {
        return error(StatusCode::BAD_REQUEST, "Invalid json message received");
    };
    match fields.get("grant_type").map(String::as_str) {
        Some("password") => {
            if fields.get("username") != Some(&creds.username) || fields.get("password") != Some(&creds.password) {
                return error(StatusCode::UNPROCESSABLE_ENTITY, "No user found for the given username and password");
            }
            AtomicCounters::bump(&sim.counters.primary_grants);
        }
        Some("refresh_token") => {
            if !fields.get("refresh_token").is_some_and(|r| sim.take_refresh(r)) {
                return error(StatusCode::UNPROCESSABLE_ENTITY, "Refresh token is invalid or has expired");
            }
            AtomicCounters::bump(&sim.counters.refresh_grants);
        }
        _ => return error(StatusCode::UNPROCESSABLE_ENTITY, "Parameter \"grant_type\" is missing or invalid"),
    }
    let (access, refresh) = issue(sim, false, true);
    let mut body =
        serde_json::json!({ "access_token": access, "token_type": "bearer", "scope": null, "refresh_token": refresh });
    if let Some(expires_in) = sim.expires_in_value() {
        body["expires_in"] = expires_in;
    }
    json(StatusCode::OK, body)
}

fn reject(verdict: TokenVerdict) -> Response {
    let message = if verdict == TokenVerdict::Expired {
        "The access token provided has expired."
    } else {
        "The access token provided is invalid."
    };
    error(StatusCode::UNAUTHORIZED, message)
}
