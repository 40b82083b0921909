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
