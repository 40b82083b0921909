//! Zuora's OAuth endpoint (`POST /oauth/token`) and its API (`/v1/accounts/{key}`).

use std::sync::Arc;

use axum::response::Response;
use axum::Router;
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, StatusCode};

use crate::request::{accepts_json, only_fields, parse_fields, BodyKind};
use crate::routes::{api_route, issue, json, token_route};
use crate::state::{AtomicCounters, SimState, TokenVerdict};

pub(crate) const TOKEN_PATH: &str = "/oauth/token";
pub(crate) const API_PATH: &str = "/v1/accounts/A00000001";

/// What Zuora says on a 401, on the token call and on the API alike.
pub const WWW_AUTHENTICATE: &str = "Basic realm=Zuora API, ZSession realm=Zuora API, Bearer realm=Zuora API";

pub(crate) fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route(TOKEN_PATH, token_route(token))
        .route("/v1/accounts/{key}", api_route(StatusCode::OK, |_: TokenVerdict| authentication_error()))
        .with_state(state)
}

fn request_id(sim: &SimState) -> HeaderValue {
    HeaderValue::try_from(format!("sim-zuora-req-{}", sim.next_serial())).unwrap_or(HeaderValue::from_static("sim"))
}

fn invalid(message: &str) -> Response {
    json(StatusCode::BAD_REQUEST, serde_json::json!({ "code": "invalid_request", "message": message }))
}

/// The three form fields of the token call, and nothing else.
const FIELDS: [&str; 3] = ["grant_type", "client_id", "client_secret"];

fn authentication_error() -> Response {
    let mut response = json(StatusCode::UNAUTHORIZED, serde_json::json!({ "message": "Authentication error" }));
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(WWW_AUTHENTICATE));
    response
}

/// At most 64 US-ASCII characters, none of `:` `;` `"` `'`.
fn valid_track_id(id: &str) -> bool {
    id.len() <= 64 && id.chars().all(|c| c.is_ascii() && !c.is_ascii_control() && !matches!(c, ':' | ';' | '"' | '\''))
}

fn token(sim: &SimState, headers: &HeaderMap, body: &Bytes) -> Response {
    let mut response = answer(sim, headers, body);
    let extra = response.headers_mut();
    extra.insert("zuora-request-id", request_id(sim));
    if let Some(track) = headers.get("zuora-track-id") {
        extra.insert("zuora-track-id", track.clone());
    }
    response
}

fn answer(sim: &SimState, headers: &HeaderMap, body: &Bytes) -> Response {
    let limit = sim.config().rate_limit_per_minute.unwrap_or(u32::MAX);
    let remaining = match sim.rate_limit() {
        Ok(remaining) => remaining,
        Err(_) => {
            // Exactly the seed's 429 headers (with Zuora-Request-Id and the echoed
            // Zuora-Track-Id added by `token`): no Retry-After, no reset.
            let mut response =
                json(StatusCode::TOO_MANY_REQUESTS, serde_json::json!({ "message": "Too many requests" }));
            let h = response.headers_mut();
            h.insert("x-ratelimit-limit-minute", HeaderValue::from(limit));
            h.insert("x-ratelimit-remaining-minute", HeaderValue::from(0));
            return response;
        }
    };
    if !accepts_json(headers) {
        let mut response = invalid("Accept must allow application/json");
        *response.status_mut() = StatusCode::NOT_ACCEPTABLE;
        return response;
    }
    if let Some(track) = headers.get("zuora-track-id") {
        if !track.to_str().is_ok_and(valid_track_id) {
            return invalid("Zuora-Track-Id must be at most 64 US-ASCII characters without : ; \" '");
        }
    }
    // "do not set any authentication headers such as Authorization, apiAccessKeyId, or
    // apiSecretAccessKey"
    if ["authorization", "apiaccesskeyid", "apisecretaccesskey"].iter().any(|h| headers.contains_key(*h)) {
        return authentication_error();
    }
    let Some((BodyKind::Form, fields)) = parse_fields(headers, body) else {
        return invalid("the request must be application/x-www-form-urlencoded");
    };
    if !only_fields(&fields, &FIELDS) {
        return invalid("only client_id, client_secret and grant_type are accepted");
    }
    if fields.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return invalid("grant_type must be client_credentials");
    }
    let creds = &sim.credentials;
    if fields.get("client_id") != Some(&creds.client_id) || fields.get("client_secret") != Some(&creds.client_secret) {
        return authentication_error();
    }
    AtomicCounters::bump(&sim.counters.primary_grants);
    let (access, _) = issue(sim, false, false);
    let mut body = serde_json::json!({
        "access_token": access,
        "token_type": "bearer",
        "scope": "user.7d4c0e1f entity.1a2b3c4d service.usage.update service.usage.delete tenant.9999",
        "jti": access,
    });
    if let Some(expires_in) = sim.expires_in_value() {
        body["expires_in"] = expires_in;
    }
    let mut response = json(StatusCode::OK, body);
    let h = response.headers_mut();
    h.insert("x-ratelimit-limit-minute", HeaderValue::from(limit));
    h.insert("x-ratelimit-remaining-minute", HeaderValue::from(remaining));
    response
}
