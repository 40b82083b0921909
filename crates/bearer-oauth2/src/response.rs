//! Lenient parsing of a token endpoint's success answer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bearer_core::{AccessToken, Error, RefreshToken, Token};
use serde_json::{Map, Value};

/// The lifetime given to a token whose answer says nothing about expiry and which is not a
/// JWT with an `exp` claim: short enough that a token the provider revokes sooner is soon
/// replaced, long enough not to hammer the endpoint.
pub const DEFAULT_UNKNOWN_LIFETIME: Duration = Duration::from_secs(300);

/// A parsed success answer. Secrets stay in their redacting newtypes.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TokenResponse {
    /// `access_token` / `accessToken`.
    pub access_token: AccessToken,
    /// `token_type` / `tokenType`, as sent.
    pub token_type: Option<String>,
    /// `expires_in` / `expiresIn`, when present and a non-negative number.
    pub expires_in: Option<Duration>,
    /// `refresh_token` / `refreshToken`, when present and not empty.
    pub refresh_token: Option<RefreshToken>,
    /// `scope`, when present.
    pub scope: Option<String>,
    /// `issued_token_type` (RFC 8693 §2.2.1), in token-exchange answers.
    pub issued_token_type: Option<String>,
}

/// The `error` field of a 2xx body, which some endpoints use to report failure.
pub(crate) fn embedded_error(fields: &Map<String, Value>) -> bool {
    match fields.get("error") {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

impl TokenResponse {
    /// Parses a JSON success body, accepting snake_case and camelCase names, `expires_in`
    /// as an integer, a float, a numeric string or absent, and ignoring unknown fields.
    pub fn parse(body: &[u8]) -> Result<Self, Error> {
        let fields = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(fields)) => fields,
            Ok(_) => return Err(Error::Malformed("the token response is not a JSON object".into())),
            Err(e) => {
                return Err(Error::Malformed(
                    format!("the token response is not JSON ({} at column {})", classify(&e), e.column()).into(),
                ))
            }
        };
        Self::from_fields(&fields)
    }

    pub(crate) fn from_fields(fields: &Map<String, Value>) -> Result<Self, Error> {
        let string = |snake: &str, camel: &str| match fields.get(snake).or_else(|| fields.get(camel)) {
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(_)) => Ok(None),
            Some(_) => Err(Error::Malformed(format!("`{snake}` is not a string").into())),
        };
        let access_token = string("access_token", "accessToken")?
            .ok_or_else(|| Error::Malformed("the token response has no `access_token`".into()))?;
        let expires_in = match fields.get("expires_in").or_else(|| fields.get("expiresIn")) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_f64().and_then(seconds),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok().and_then(seconds),
            Some(_) => return Err(Error::Malformed("`expires_in` is not a number".into())),
        };
        let scope = match fields.get("scope") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Array(items)) => Some(items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" ")),
            _ => None,
        };
        Ok(Self {
            access_token: AccessToken::new(access_token),
            token_type: string("token_type", "tokenType")?,
            expires_in,
            refresh_token: string("refresh_token", "refreshToken")?.map(RefreshToken::new),
            scope,
            issued_token_type: string("issued_token_type", "issuedTokenType")?,
        })
    }

    /// Builds the [`Token`]: checks that `token_type` is `bearer` in any case (or absent),
    /// and takes the lifetime from `expires_in`, else the access token's JWT `exp`, else
    /// `unknown_lifetime` (logged once per process).
    pub fn into_token(self, unknown_lifetime: Duration) -> Result<(Token, Option<RefreshToken>), Error> {
        if let Some(kind) = &self.token_type {
            if !kind.eq_ignore_ascii_case("bearer") {
                return Err(Error::Malformed(
                    format!("token_type `{}` is not bearer", kind.chars().take(40).collect::<String>()).into(),
                ));
            }
        }
        let lifetime = self
            .expires_in
            .or_else(|| crate::jwt::remaining_lifetime(self.access_token.secret()))
            .unwrap_or_else(|| {
                static WARNED: AtomicBool = AtomicBool::new(false);
                if !WARNED.swap(true, Ordering::Relaxed) {
                    tracing::warn!(lifetime = ?unknown_lifetime, "token response gives no expiry and the token is not a JWT with `exp`; assuming a conservative lifetime");
                }
                unknown_lifetime
            });
        let mut builder = Token::builder(self.access_token).expires_in(lifetime);
        if let Some(scope) = self.scope {
            builder = builder.scope(scope);
        }
        Ok((builder.build()?, self.refresh_token))
    }
}

fn seconds(value: f64) -> Option<Duration> {
    (value.is_finite() && value >= 0.0).then(|| Duration::from_secs_f64(value.min(10.0 * 365.0 * 86_400.0)))
}

/// Describes a JSON error without quoting the input (which may hold a token).
fn classify(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Eof => "truncated",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Io => "read error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<TokenResponse, Error> {
        TokenResponse::parse(body.as_bytes())
    }

    #[test]
    fn expires_in_in_every_shape() {
        for (body, secs) in [
            (r#"{"access_token":"a","expires_in":3600}"#, Some(3600.0)),
            (r#"{"access_token":"a","expires_in":3599.5}"#, Some(3599.5)),
            (r#"{"access_token":"a","expires_in":"900"}"#, Some(900.0)),
            (r#"{"access_token":"a","expires_in":null}"#, None),
            (r#"{"access_token":"a"}"#, None),
            (r#"{"accessToken":"a","expiresIn":1800}"#, Some(1800.0)),
            (r#"{"access_token":"a","expires_in":-5}"#, None),
            (r#"{"access_token":"a","expires_in":"soon"}"#, None),
        ] {
            let parsed = parse(body).expect(body);
            assert_eq!(parsed.expires_in, secs.map(Duration::from_secs_f64), "{body}");
            assert_eq!(parsed.access_token.secret(), "a");
        }
    }

    #[test]
    fn token_type_any_case_and_unknown_fields() {
        for kind in ["bearer", "Bearer", "BEARER"] {
            let body = format!(r#"{{"access_token":"a","token_type":"{kind}","jti":"x","extra":{{"n":1}}}}"#);
            assert!(parse(&body).expect("parse").into_token(DEFAULT_UNKNOWN_LIFETIME).is_ok());
        }
        let mac = parse(r#"{"access_token":"a","token_type":"mac"}"#).expect("parse");
        assert!(matches!(mac.into_token(DEFAULT_UNKNOWN_LIFETIME), Err(Error::Malformed(_))));
    }

    #[test]
    fn refresh_token_and_scope() {
        let parsed = parse(r#"{"access_token":"a","refresh_token":"r","scope":"x y"}"#).expect("parse");
        assert_eq!(parsed.scope.as_deref(), Some("x y"));
        let (_, refresh) = parsed.into_token(DEFAULT_UNKNOWN_LIFETIME).expect("token");
        assert_eq!(refresh.map(|r| r.secret().to_owned()).as_deref(), Some("r"));
        let camel = parse(r#"{"accessToken":"a","refreshToken":"r2","scope":["p","q"]}"#).expect("parse");
        assert_eq!(camel.refresh_token.map(|r| r.secret().to_owned()).as_deref(), Some("r2"));
        assert_eq!(camel.scope.as_deref(), Some("p q"));
    }

    #[test]
    fn malformed_bodies() {
        for body in [
            "",
            "not json",
            "[]",
            "{}",
            r#"{"access_token":""}"#,
            r#"{"access_token":42}"#,
            r#"{"access_token":"a","expires_in":{}}"#,
            "<html></html>",
        ] {
            assert!(matches!(parse(body), Err(Error::Malformed(_))), "{body}");
        }
    }

    #[test]
    fn malformed_message_does_not_quote_the_body() {
        let err = parse(r#"{"access_token":"secret-value-123""#).expect_err("truncated");
        assert!(!err.to_string().contains("secret-value-123"), "{err}");
    }
}
