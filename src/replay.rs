//! What the middleware keeps of a request so it can send it again after a rejected token.

use std::time::Duration;

use http::{HeaderMap, Method, Version};
use reqwest::{Request, Url};

/// Enough of a request to send it again.
///
/// A request without a body (most of them) is kept minus its URL: cloning the URL costs an
/// allocation on every request. A retry goes only to the URL the request was sent to: the
/// rejection's URL ([`reqwest::Response::url`]) when its bytes are exactly those the request's
/// [`Destination`](crate::destination::Destination) kept. Copying the rest of a body-less
/// request allocates nothing (unless it carries headers of its own). A request with a bytes
/// body is cloned whole; a streaming body cannot be replayed at all.
pub(crate) enum Replay {
    /// `headers` is `None` when the request had none of its own (boxed: kept small, the copy
    /// moves into every request's future).
    Bodyless {
        method: Method,
        headers: Option<Box<HeaderMap>>,
        version: Version,
        timeout: Option<Duration>,
    },
    Whole(Box<Request>),
}

impl Replay {
    /// A copy of `request`, or `None` when its body is a stream.
    #[inline]
    pub(crate) fn of(request: &Request) -> Option<Self> {
        if request.body().is_some() {
            return request.try_clone().map(|whole| Replay::Whole(Box::new(whole)));
        }
        Some(Replay::Bodyless {
            method: request.method().clone(),
            // Most requests carry no headers of their own yet (the client adds its defaults
            // later): nothing to copy.
            headers: (!request.headers().is_empty()).then(|| Box::new(request.headers().clone())),
            version: request.version(),
            timeout: request.timeout().copied(),
        })
    }

    /// The request again, to the URL it was sent to, which `sent_to` must be, byte for byte
    /// (the rejection's URL, after [`Arrival::SameUrl`](crate::destination::Arrival::SameUrl)).
    pub(crate) fn into_request(self, sent_to: &Url) -> Request {
        match self {
            Replay::Whole(request) => *request,
            Replay::Bodyless { method, headers, version, timeout } => {
                let mut request = Request::new(method, sent_to.clone());
                if let Some(headers) = headers {
                    *request.headers_mut() = *headers;
                }
                *request.version_mut() = version;
                if timeout.is_some() {
                    *request.timeout_mut() = timeout;
                }
                request
            }
        }
    }
}
