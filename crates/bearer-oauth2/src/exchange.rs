//! One round trip to a token endpoint, with the answer classified.

use bearer_core::{Error, Rejection};
use bytes::{Bytes, BytesMut};
use http::header::CONTENT_TYPE;
use serde_json::Value;
use url::Position;

use crate::error_body::rejection_from_response;
use crate::response::{embedded_error, TokenResponse};

/// The largest token-endpoint body read; a larger one is an error, not an allocation.
pub(crate) const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Sends a prepared token request and reads the answer:
///
/// - transport failures (refused, reset, timeout) → [`Error::Transport`];
/// - any non-2xx → [`Error::Rejected`] via [`rejection_from_response`];
/// - a 2xx whose body carries `error` → [`Error::Rejected`] with that status;
/// - a 2xx that is not a JSON token (HTML, empty, oversized, wrong content type, no
///   `access_token`) → [`Error::Malformed`];
/// - otherwise the parsed [`TokenResponse`]. 200 and 201 are both success.
///
/// `secrets` are the credentials the request carried, redacted from anything kept.
pub async fn exchange(request: reqwest::RequestBuilder, secrets: &[&str]) -> Result<TokenResponse, Error> {
    let response = send_unredirected(request).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = read_capped_body(response, MAX_BODY_BYTES).await?;
    if !status.is_success() {
        return Err(rejection_from_response(status, &headers, &body, secrets).into());
    }
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !is_json_like(content_type) {
        return Err(Error::Malformed(
            format!(
                "the token response has content type `{}`, not JSON",
                content_type.chars().take(60).collect::<String>()
            )
            .into(),
        ));
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(fields)) if embedded_error(&fields) => {
            let rejection: Rejection = rejection_from_response(status, &headers, &body, secrets);
            Err(rejection.into())
        }
        Ok(Value::Object(fields)) => TokenResponse::from_fields(&fields),
        _ => TokenResponse::parse(&body),
    }
}

/// Sends a request that carries credentials, and refuses an answer that came from another URL:
/// an HTTP client given by the caller may follow redirects, which re-sends the body (client
/// secret, password, refresh token) wherever the endpoint points, plain http included. The
/// credentials have then left, but no token obtained that way is used, and the error says how
/// to build the client.
pub(crate) async fn send_unredirected(request: reqwest::RequestBuilder) -> Result<reqwest::Response, Error> {
    let (client, request) = request.build_split();
    let request = request.map_err(transport_error)?;
    let sent_to = request.url().clone();
    let response = client.execute(request).await.map_err(transport_error)?;
    let answered_from = response.url();
    // Up to the fragment, which is never sent and which reqwest leaves out of the answer's URL.
    if answered_from[..Position::AfterQuery] != sent_to[..Position::AfterQuery] {
        return Err(Error::Config(
            format!(
                "`{}{}` redirected the request to `{}{}`: the HTTP client given with `http_client()` follows \
                 redirects, which sends credentials wherever an endpoint points; build it with \
                 `.redirect(reqwest::redirect::Policy::none())`",
                sent_to.origin().ascii_serialization(),
                sent_to.path(),
                answered_from.origin().ascii_serialization(),
                answered_from.path()
            )
            .into(),
        ));
    }
    Ok(response)
}

/// JSON, problem+json, text/plain (which some endpoints use for JSON), or unspecified.
fn is_json_like(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence.is_empty()
        || essence == "text/plain"
        || essence == "text/json"
        || essence.ends_with("/json")
        || essence.ends_with("+json")
}

/// Reads a response body, refusing one larger than `cap` bytes before buffering it.
pub(crate) async fn read_capped_body(mut response: reqwest::Response, cap: usize) -> Result<Bytes, Error> {
    let too_large = || Error::Malformed(format!("the token response is larger than {cap} bytes").into());
    if response.content_length().is_some_and(|len| len > cap as u64) {
        return Err(too_large());
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > cap {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Maps a reqwest error to [`Error::Transport`], keeping whether it was a timeout.
pub(crate) fn transport_error(error: reqwest::Error) -> Error {
    let timeout = error.is_timeout();
    Error::transport(error, timeout)
}
