//! An IX-API instance: `POST {base}/auth/token` and `POST {base}/auth/refresh` answering 201
//! with a JWT pair, RFC 7807 problems, and `{base}/accounts`.

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use http::{header, HeaderMap, StatusCode};

use crate::request::{accepts_json, parse_fields, BodyKind};
use crate::routes::{api_route, issue, json, token_route};
use crate::state::{AtomicCounters, SimState, TokenVerdict};

pub(crate) const BASE_PATH: &str = "/api/v2";
pub(crate) const TOKEN_PATH: &str = "/api/v2/auth/token";
pub(crate) const REFRESH_PATH: &str = "/api/v2/auth/refresh";
pub(crate) const API_PATH: &str = "/api/v2/accounts";

pub(crate) fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route(TOKEN_PATH, token_route(create))
        .route(REFRESH_PATH, token_route(refresh))
        .route(API_PATH, api_route(StatusCode::CREATED, reject))
        .with_state(state)
}

fn problem(status: StatusCode, kind: &str, title: &str, detail: &str, properties: &[&str]) -> Response {
    let mut body = serde_json::json!({
        "type": format!("https://errors.ix-api.net/v2/{kind}"),
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    if !properties.is_empty() {
        body["properties"] = properties
            .iter()
            .map(|name| serde_json::json!({ "name": name, "reason": "This field is required." }))
            .collect();
    }
    (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
}

fn authentication(detail: &str) -> Response {
    problem(StatusCode::UNAUTHORIZED, "authentication-error", "Authentication Error", detail, &[])
}

/// The JSON fields of a request, or the 400 problem to answer.
#[allow(clippy::result_large_err)] // a handler's early return, built once per bad request
fn json_fields(
    headers: &HeaderMap,
    body: &Bytes,
    required: &[&str],
) -> Result<std::collections::HashMap<String, String>, Response> {
    if !accepts_json(headers) {
        return Err(problem(
            StatusCode::NOT_ACCEPTABLE,
            "not-acceptable",
            "Not Acceptable",
            "The Accept header must allow application/json.",
            &[],
        ));
    }
    let Some((BodyKind::Json, fields)) = parse_fields(headers, body) else {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "validation-error",
            "Validation Error",
            "The request body must be JSON.",
            &[],
        ));
    };
    let missing: Vec<&str> = required.iter().copied().filter(|k| fields.get(*k).is_none_or(String::is_empty)).collect();
    if !missing.is_empty() {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "validation-error",
            "Validation Error",
            "Some fields are invalid.",
            &missing,
        ));
    }
    Ok(fields)
}

fn pair(sim: &SimState) -> Response {
    let (access, refresh) = issue(sim, true, true);
    json(StatusCode::CREATED, serde_json::json!({ "access_token": access, "refresh_token": refresh }))
}

fn create(sim: &SimState, headers: &HeaderMap, body: &Bytes) -> Response {
    let fields = match json_fields(headers, body, &["api_key", "api_secret"]) {
        Ok(fields) => fields,
        Err(problem) => return problem,
    };
    let creds = &sim.credentials;
    if fields.get("api_key") != Some(&creds.client_id) || fields.get("api_secret") != Some(&creds.client_secret) {
        return authentication("The API key or secret is invalid.");
    }
    AtomicCounters::bump(&sim.counters.primary_grants);
    pair(sim)
}

fn refresh(sim: &SimState, headers: &HeaderMap, body: &Bytes) -> Response {
    let fields = match json_fields(headers, body, &["refresh_token"]) {
        Ok(fields) => fields,
        Err(problem) => return problem,
    };
    if !fields.get("refresh_token").is_some_and(|r| sim.take_refresh(r)) {
        return authentication("The refresh token is invalid, expired or already used.");
    }
    AtomicCounters::bump(&sim.counters.refresh_grants);
    pair(sim)
}

fn reject(_: TokenVerdict) -> Response {
    authentication("The access token is invalid or expired.")
}
