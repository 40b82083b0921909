//! Sending a hand-made request to a simulator and reading its answer, for the tests that
//! check a simulator refuses what its provider refuses.

use http::{HeaderMap, StatusCode};

/// A simulator's answer to a hand-made request.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as JSON (`Null` when it is not JSON).
    pub json: serde_json::Value,
}

impl Answer {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// `request` with `headers` added, and `Accept: default_accept` unless `headers` has an
/// `Accept` of its own (a test of a wrong `Accept` replaces the documented one).
pub fn with_headers(
    mut request: reqwest::RequestBuilder,
    headers: &[(&str, &str)],
    default_accept: &str,
) -> reqwest::RequestBuilder {
    if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("accept")) {
        request = request.header(http::header::ACCEPT, default_accept);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
}

/// Sends `request` and reads the answer.
///
/// # Panics
/// When the simulator cannot be reached: the test cannot say anything then.
pub async fn send_raw(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("the simulator answers");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("the simulator's body");
    Answer { status, headers, json: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null) }
}
