//! Getting this crate's [`Error`] back from what a `reqwest-middleware` client returns.

use bearer_core::Error;

/// The [`Error`] behind a failed request, in one call.
///
/// A middleware's errors reach the caller as
/// [`reqwest_middleware::Error::Middleware`], an `anyhow::Error`. `bearer_error()` finds
/// ours in it, also when another middleware wrapped it with context; it is `None` for
/// errors that did not come from getting a token (a failed API request is
/// [`reqwest_middleware::Error::Reqwest`]).
///
/// ```
/// use reqwest_bearer::BearerErrorExt;
///
/// # fn handle(failure: reqwest_middleware::Error) {
/// match failure.bearer_error() {
///     Some(error) if error.is_transient() => eprintln!("no token for now, try later: {error}"),
///     Some(error) => eprintln!("no token (check the configuration): {error}"),
///     None => eprintln!("the request failed: {failure}"),
/// }
/// # }
/// # let no_token = reqwest_bearer::Error::Config("no client id".into());
/// # let failure = reqwest_middleware::Error::middleware(no_token);
/// # assert!(matches!(failure.bearer_error(), Some(reqwest_bearer::Error::Config(_))));
/// # handle(failure);
/// ```
pub trait BearerErrorExt {
    /// This crate's error, if the failure is one.
    fn bearer_error(&self) -> Option<&Error>;
}

impl BearerErrorExt for reqwest_middleware::Error {
    fn bearer_error(&self) -> Option<&Error> {
        match self {
            reqwest_middleware::Error::Middleware(error) => error.chain().find_map(|cause| cause.downcast_ref()),
            reqwest_middleware::Error::Reqwest(_) => None,
        }
    }
}
