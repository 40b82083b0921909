//! Failures a simulator can be told to produce on its token endpoint.

use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};

/// The body [`Fault::status`] gives a fault; a simulator whose provider has its own error
/// shape (Zenkipay's camelCase) answers that shape instead.
pub(crate) const GENERIC_FAULT_BODY: &str =
    r#"{"error":"temporarily_unavailable","error_description":"simulated failure"}"#;

/// One failure of the token endpoint, applied to the next request(s) in the order queued.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status, an optional `Retry-After` (seconds) and a JSON body.
    Status {
        /// The status to answer.
        status: StatusCode,
        /// `Retry-After` in seconds, if any.
        retry_after: Option<u64>,
        /// The body, sent as `application/json`.
        body: String,
    },
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Answer 200 with this body and content type.
    Body {
        /// The content type.
        content_type: &'static str,
        /// The body.
        body: String,
    },
    /// Send headers, then break the connection mid-body.
    Reset,
}

impl Fault {
    /// A 500 with an RFC 6749-style body.
    pub fn server_error() -> Self {
        Self::status(StatusCode::INTERNAL_SERVER_ERROR, None)
    }

    /// A status with an optional `Retry-After` and the provider's own error body: an RFC
    /// 6749-style one, or the provider's shape where it has one (Zenkipay's camelCase).
    pub fn status(status: StatusCode, retry_after: Option<u64>) -> Self {
        Fault::Status { status, retry_after, body: GENERIC_FAULT_BODY.into() }
    }

    /// 200 with a body that is not valid JSON.
    pub fn malformed_json() -> Self {
        Fault::Body { content_type: "application/json", body: r#"{"access_token": "abc"#.into() }
    }

    /// 200 with an HTML page.
    pub fn html() -> Self {
        Fault::Body { content_type: "text/html", body: "<html><body>Service Unavailable</body></html>".into() }
    }

    /// The response for an immediate fault (not [`Fault::Delay`]); `provider_body` renders the
    /// provider's own error body for a [`Fault::status`].
    pub(crate) fn response(&self, provider_body: Option<fn(StatusCode) -> String>) -> Response {
        match self {
            Fault::Status { status, retry_after, body } => {
                let body = match provider_body {
                    Some(render) if body == GENERIC_FAULT_BODY => render(*status),
                    _ => body.clone(),
                };
                let mut response = (*status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
                if let Some(seconds) = retry_after {
                    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*seconds));
                }
                response
            }
            Fault::Body { content_type, body } => {
                (StatusCode::OK, [(header::CONTENT_TYPE, *content_type)], body.clone()).into_response()
            }
            Fault::Reset => {
                let chunks: Vec<Result<&'static str, std::io::Error>> = vec![
                    Ok("{\"access_token\":"),
                    Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "simulated reset")),
                ];
                let mut response = Response::new(Body::from_stream(futures_util::stream::iter(chunks)));
                response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                response
            }
            Fault::Delay(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}
