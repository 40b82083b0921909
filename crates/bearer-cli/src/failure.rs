//! Why a command failed, the exit code that says so, and a hint at what to do.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use bearer_core::Error;

/// The documented exit codes (besides 0 and curl's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// 1: the token endpoint or the API answered, and said no.
    Rejected,
    /// 2: bad flags, a bad profile, a missing setting or secret.
    Usage,
    /// 3: the endpoint could not be reached or did not answer in time.
    Network,
}

/// A failure to report on stderr. Messages never hold a secret: the library's errors are
/// redacted, and the CLI's own messages name settings, never their secret values.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) kind: Kind,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
}

impl Failure {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self { kind: Kind::Usage, message: message.into(), hint: None }
    }

    pub(crate) fn rejected(message: impl Into<String>) -> Self {
        Self { kind: Kind::Rejected, message: message.into(), hint: None }
    }

    pub(crate) fn network(message: impl Into<String>) -> Self {
        Self { kind: Kind::Network, message: message.into(), hint: None }
    }

    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self.kind {
            Kind::Rejected => 1,
            Kind::Usage => 2,
            Kind::Network => 3,
        })
    }

    /// Writes `error: …` and `hint: …` to stderr, in colour when it is a terminal.
    pub(crate) fn report(&self) {
        let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let (red, yellow, reset) = if colour { ("\x1b[31m", "\x1b[33m", "\x1b[0m") } else { ("", "", "") };
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{red}error:{reset} {}", self.message);
        if let Some(hint) = &self.hint {
            let _ = writeln!(err, "{yellow}hint:{reset} {hint}");
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        let message = error.to_string();
        match &error {
            Error::Config(_) => Failure::usage(message),
            Error::Transport(_) | Error::Abandoned => Failure::network(message).with_hint(
                "check the URL, the network and any proxy (HTTPS_PROXY); --base-url or --token-url may be wrong",
            ),
            Error::StaleOnArrival(_) => Failure::network(message)
                .with_hint("the endpoint is slower than its tokens live: check the network and the endpoint's load"),
            Error::Malformed(_) => Failure::rejected(message)
                .with_hint("the endpoint said yes but sent no usable token: is this the token URL of that provider?"),
            Error::Rejected(rejection) => {
                let failure = Failure::rejected(message);
                match rejection_hint(rejection.status.as_u16(), rejection.code.as_deref(), rejection.retry_after) {
                    Some(hint) => failure.with_hint(hint),
                    None => failure,
                }
            }
            _ => Failure::rejected(message),
        }
    }
}

/// What a person can do about the provider's answer.
fn rejection_hint(status: u16, code: Option<&str>, retry_after: Option<std::time::Duration>) -> Option<String> {
    let hint = match (status, code) {
        (_, Some("invalid_client")) | (401, _) => {
            "check the client id and secret; some servers want --client-auth client_secret_post".into()
        }
        (_, Some("invalid_scope")) => "the server refused the scope: check --scope".into(),
        (_, Some("unsupported_grant_type" | "unauthorized_client")) => {
            "this client may not use that grant: check --grant".into()
        }
        (_, Some("invalid_grant")) => "the user name, password or refresh token was refused".into(),
        (429, _) => match retry_after {
            Some(after) => format!("rate limited: try again in {}s", after.as_secs()),
            None => "rate limited: try again later".into(),
        },
        (403, _) => "the credentials are valid but not allowed to do this".into(),
        (415 | 422, _) => "the provider wants another request shape: is --provider right?".into(),
        (500..=599, _) => "the provider is failing; try again later".into(),
        (404 | 405, _) => "no token endpoint there: check --token-url / --base-url".into(),
        _ => return None,
    };
    Some(hint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bearer_core::Rejection;
    use http::StatusCode;

    #[test]
    fn kinds_map_to_the_documented_exit_codes() {
        let rejected = Failure::from(Error::from(Rejection::new(StatusCode::UNAUTHORIZED).with_code("invalid_client")));
        assert_eq!(rejected.kind, Kind::Rejected);
        assert!(rejected.message.contains("401") && rejected.message.contains("invalid_client"), "{rejected:?}");
        assert!(rejected.hint.as_deref().is_some_and(|h| h.contains("client id")));
        assert_eq!(Failure::from(Error::Config("x".into())).kind, Kind::Usage);
        let throttled = Failure::from(Error::from(
            Rejection::new(StatusCode::TOO_MANY_REQUESTS).with_retry_after(std::time::Duration::from_secs(7)),
        ));
        assert_eq!(throttled.hint.as_deref(), Some("rate limited: try again in 7s"));
        let second = std::time::Duration::from_secs(1);
        let stale = Failure::from(Error::stale_on_arrival(2 * second, second, 3 * second));
        assert_eq!(stale.kind, Kind::Network);
        assert!(stale.hint.as_deref().is_some_and(|h| h.contains("slower than its tokens live")), "{stale:?}");
    }
}
