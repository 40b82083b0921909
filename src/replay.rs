//! What the middleware keeps of a request so it can send it again after a rejected token.

use std::time::Duration;

use http::{HeaderMap, Method, Version};
use reqwest::{Request, Url};

use crate::destination::Destination;

/// Enough of a request to tell where a rejection came from and to send the request again.
///
/// A request without a body (most of them) is kept minus its URL: cloning the URL costs an
/// allocation on every request. Its [`Destination`] says, when a rejection comes back,
/// whether it came from that very URL ([`reqwest::Response::url`]), which is then the URL a
/// retry goes to. Copying the rest of a body-less request allocates nothing (unless it
/// carries headers of its own). A request with a bytes body is cloned whole; a streaming body
/// cannot be replayed at all.
pub(crate) struct Replay {
    sent_to: Destination,
    kept: Option<Kept>,
}

/// The request minus what [`Replay`] keeps apart.
enum Kept {
    /// `headers` is `None` when the request had none of its own.
    Bodyless {
        method: Method,
        headers: Option<HeaderMap>,
        version: Version,
        timeout: Option<Duration>,
    },
    Whole(Box<Request>),
}

impl Replay {
    /// What to keep of `request`, about to be sent.
    pub(crate) fn of(request: &Request) -> Self {
        let kept = if request.body().is_some() {
            request.try_clone().map(|whole| Kept::Whole(Box::new(whole)))
        } else {
            Some(Kept::Bodyless {
                method: request.method().clone(),
                // Most requests carry no headers of their own yet (the client adds its
                // defaults later): nothing to copy.
                headers: (!request.headers().is_empty()).then(|| request.headers().clone()),
                version: request.version(),
                timeout: request.timeout().copied(),
            })
        };
        Self { sent_to: Destination::of(request.url()), kept }
    }

    /// Where the request was sent.
    pub(crate) fn sent_to(&self) -> Destination {
        self.sent_to
    }

    /// The request again, to the URL it was sent to, which `rejected_at` (the URL the
    /// rejection came from) must be; `None` when the body was a stream.
    pub(crate) fn into_request(self, rejected_at: &Url) -> Option<Request> {
        match self.kept? {
            Kept::Whole(request) => Some(*request),
            Kept::Bodyless { method, headers, version, timeout } => {
                let mut request = Request::new(method, rejected_at.clone());
                if let Some(headers) = headers {
                    *request.headers_mut() = headers;
                }
                *request.version_mut() = version;
                if timeout.is_some() {
                    *request.timeout_mut() = timeout;
                }
                Some(request)
            }
        }
    }
}
