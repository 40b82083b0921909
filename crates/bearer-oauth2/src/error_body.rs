//! Turning a token endpoint's error answer into a [`Rejection`].

use std::time::Duration;

use bearer_core::{InvalidParam, RateLimit, Rejection};
use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value};

/// The longest body excerpt kept in an error.
const EXCERPT_CHARS: usize = 200;

/// Reads an error answer in any of the shapes providers use:
/// RFC 6749 §5.2 `{error, error_description}`, its camelCase twin `{error, errorDescription}`,
/// `{code, message}`, `{message}`, and RFC 7807 problem details `{type, title, detail}`.
/// Keeps `Retry-After` (seconds or an HTTP date; else a `RateLimit-Reset`/`X-RateLimit-Reset`
/// header), the rate-limit headers, the provider's request id, a problem document's invalid
/// fields (`properties`, `invalid-params`), and, when the body is not one of those shapes, a
/// short excerpt with every string of `secrets` replaced by `[redacted]`.
pub fn rejection_from_response(status: StatusCode, headers: &HeaderMap, body: &[u8], secrets: &[&str]) -> Rejection {
    let mut rejection = Rejection::new(status);
    rejection.retry_after = retry_after(headers);
    rejection.rate_limit = rate_limit(headers);
    rejection.request_id = ["zuora-request-id", "x-request-id", "request-id", "x-correlation-id"]
        .iter()
        .find_map(|name| headers.get(*name)?.to_str().ok())
        .map(|id| truncate(id, 100));
    if let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) {
        fill_from_json(&mut rejection, &fields, secrets);
    }
    if rejection.code.is_none() && rejection.description.is_none() && !body.is_empty() {
        rejection.body_excerpt = Some(excerpt(body, secrets));
    }
    rejection
}

fn fill_from_json(rejection: &mut Rejection, fields: &Map<String, Value>, secrets: &[&str]) {
    let text = |names: &[&str]| {
        names.iter().find_map(|name| match fields.get(*name)? {
            Value::String(s) if !s.is_empty() => Some(redact(&truncate(s, 500), secrets)),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    rejection.code = text(&["error", "code", "type", "errorCode", "error_code"]);
    rejection.description = match (text(&["title"]), text(&["detail"])) {
        // RFC 7807: keep both the summary and the occurrence's explanation.
        (Some(title), Some(detail)) if fields.contains_key("type") => Some(format!("{title}: {detail}")),
        _ => text(&["error_description", "errorDescription", "message", "detail", "title", "error_message"]),
    };
    let params =
        fields.get("properties").or_else(|| fields.get("invalid-params")).or_else(|| fields.get("invalid_params"));
    if let Some(Value::Array(params)) = params {
        rejection.invalid_params = params
            .iter()
            .filter_map(|param| {
                let text = |name: &str| param.get(name)?.as_str().map(|s| redact(&truncate(s, 200), secrets));
                Some(InvalidParam::new(text("name")?, text("reason").unwrap_or_default()))
            })
            .take(20)
            .collect();
    }
    if rejection.description.is_none() {
        // `{"errors": [{"title": …}]}` and `{"error": {"message": …}}`
        let nested = fields
            .get("errors")
            .and_then(|e| e.as_array()?.first().cloned())
            .or_else(|| fields.get("error").filter(|e| e.is_object()).cloned());
        if let Some(Value::Object(inner)) = nested {
            let mut inner_rejection = Rejection::default();
            fill_from_json(&mut inner_rejection, &inner, secrets);
            rejection.code = rejection.code.take().or(inner_rejection.code);
            rejection.description = inner_rejection.description;
        }
    }
}

/// `Retry-After` in seconds or as an HTTP date, else a rate-limit reset: in seconds, or, for a
/// value past 10⁹ (GitHub's `X-RateLimit-Reset`), a Unix time. At most a day.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    ["retry-after", "ratelimit-reset", "x-ratelimit-reset"].iter().find_map(|name| {
        let value = headers.get(*name)?.to_str().ok()?.trim();
        let date = || httpdate::parse_http_date(value).ok();
        let mut seconds: f64 = match value.parse() {
            Ok(seconds) => seconds,
            Err(_) if *name == "retry-after" => {
                let wait = date()?.duration_since(std::time::SystemTime::now()).unwrap_or_default();
                wait.as_secs_f64()
            }
            Err(_) => return None,
        };
        if *name != "retry-after" && seconds > 1e9 {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs_f64();
            seconds = (seconds - now).max(0.0);
        }
        (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(86_400.0)))
    })
}

/// The windows Kong-style `X-RateLimit-{Limit,Remaining}-<window>` headers name.
const WINDOWS: [(&str, u64); 4] = [("second", 1), ("minute", 60), ("hour", 3600), ("day", 86_400)];

/// `X-RateLimit-Limit-minute`/`X-RateLimit-Remaining-minute` (and the other windows; the
/// longest with nothing left wins), else `RateLimit-Limit`/`RateLimit-Remaining` or their `X-` forms.
fn rate_limit(headers: &HeaderMap) -> Option<RateLimit> {
    let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
    let windowed = WINDOWS.iter().filter_map(|(suffix, seconds)| {
        let limit = number(&format!("x-ratelimit-limit-{suffix}"));
        let remaining = number(&format!("x-ratelimit-remaining-{suffix}"));
        let mut found = RateLimit::default();
        (found.limit, found.remaining, found.window) = (limit, remaining, Some(Duration::from_secs(*seconds)));
        (limit.is_some() || remaining.is_some()).then_some(found)
    });
    let windowed: Vec<RateLimit> = windowed.collect();
    // The longest exhausted window (they are in increasing order): all of them must pass.
    if let Some(exhausted) = windowed.iter().rfind(|w| w.remaining == Some(0)).or(windowed.first()) {
        return Some(exhausted.clone());
    }
    let limit = number("ratelimit-limit").or_else(|| number("x-ratelimit-limit"));
    let remaining = number("ratelimit-remaining").or_else(|| number("x-ratelimit-remaining"));
    let mut found = RateLimit::default();
    (found.limit, found.remaining) = (limit, remaining);
    (limit.is_some() || remaining.is_some()).then_some(found)
}

/// A printable excerpt of the body's start, secrets redacted.
fn excerpt(body: &[u8], secrets: &[&str]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_CHARS * 4)]);
    let printable: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    truncate(&redact(&printable, secrets), EXCERPT_CHARS)
}

/// `text` with every non-empty string of `secrets` replaced by `[redacted]`, as written and
/// as form-urlencoded (the way a server that echoes the request body shows it).
pub(crate) fn redact(text: &str, secrets: &[&str]) -> String {
    secrets.iter().filter(|s| !s.is_empty()).fold(text.to_owned(), |acc, secret| {
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        acc.replace(secret, "[redacted]").replace(&encoded, "[redacted]")
    })
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn reject(status: u16, body: &str) -> Rejection {
        let status = StatusCode::from_u16(status).unwrap_or_default();
        rejection_from_response(status, &HeaderMap::new(), body.as_bytes(), &["s3cr3t"])
    }

    #[test]
    fn reads_every_error_shape() {
        let cases = [
            (r#"{"error":"invalid_client","error_description":"Bad id"}"#, "invalid_client", "Bad id"),
            (r#"{"error":"invalid_client","errorDescription":"Bad id"}"#, "invalid_client", "Bad id"),
            (r#"{"code":422,"message":"No user found"}"#, "422", "No user found"),
            (
                r#"{"type":"https://x/auth-error","title":"Auth","status":401,"detail":"bad key"}"#,
                "https://x/auth-error",
                "Auth: bad key",
            ),
            (
                r#"{"errors":[{"code":"authorization-token-expired","title":"expired"}]}"#,
                "authorization-token-expired",
                "expired",
            ),
        ];
        for (body, code, description) in cases {
            let r = reject(400, body);
            assert_eq!(r.code.as_deref(), Some(code), "{body}");
            assert_eq!(r.description.as_deref(), Some(description), "{body}");
            assert_eq!(r.body_excerpt, None);
        }
        let r = reject(401, r#"{"message":"Authentication error"}"#);
        assert_eq!((r.code, r.description.as_deref()), (None, Some("Authentication error")));
    }

    #[test]
    fn unparsable_body_becomes_a_redacted_excerpt() {
        let r = reject(502, "<html>Bad gateway for s3cr3t\r\n</html>");
        assert_eq!(r.body_excerpt.as_deref(), Some("<html>Bad gateway for [redacted]  </html>"));
        let long = "x".repeat(5000);
        assert_eq!(reject(500, &long).body_excerpt.map(|e| e.chars().count()), Some(201));
        assert_eq!(reject(500, "").body_excerpt, None);
    }

    #[test]
    fn secrets_echoed_form_encoded_are_redacted() {
        // A server that echoes the form body it could not use shows the secret as it was sent.
        let secret = "p@ss w/rd:+%";
        let body = "<html>bad request: client_id=id&client_secret=p%40ss+w%2Frd%3A%2B%25</html>";
        let r = rejection_from_response(StatusCode::BAD_REQUEST, &HeaderMap::new(), body.as_bytes(), &[secret]);
        let excerpt = r.body_excerpt.expect("excerpt");
        assert!(!excerpt.contains("p%40ss") && excerpt.contains("client_secret=[redacted]"), "{excerpt}");
    }

    #[test]
    fn secrets_echoed_in_messages_are_redacted() {
        let r = reject(400, r#"{"error":"invalid_client","error_description":"client_secret s3cr3t is wrong"}"#);
        assert_eq!(r.description.as_deref(), Some("client_secret [redacted] is wrong"));
    }

    #[test]
    fn keeps_zuoras_per_minute_rate_limit_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-limit-minute", HeaderValue::from_static("100"));
        headers.insert("x-ratelimit-remaining-minute", HeaderValue::from_static("0"));
        let r = rejection_from_response(StatusCode::TOO_MANY_REQUESTS, &headers, b"{}", &[]);
        let limit = r.rate_limit.expect("rate limit kept");
        assert_eq!((limit.limit, limit.remaining, limit.window), (Some(100), Some(0), Some(Duration::from_secs(60))));
        assert_eq!(r.retry_after, None, "Zuora's 429 says nothing about a reset");
        let mut ietf = HeaderMap::new();
        ietf.insert("ratelimit-limit", HeaderValue::from_static("10"));
        ietf.insert("ratelimit-remaining", HeaderValue::from_static("3"));
        let limit = rejection_from_response(StatusCode::BAD_REQUEST, &ietf, b"", &[]).rate_limit.expect("kept");
        assert_eq!((limit.limit, limit.remaining, limit.window), (Some(10), Some(3), None));
        assert_eq!(reject(400, "{}").rate_limit, None);
    }

    #[test]
    fn of_several_exhausted_windows_the_longest_is_kept() {
        // Kong sends one pair per configured window; all exhausted ones must be waited out.
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("x-ratelimit-limit-second", "5"),
            ("x-ratelimit-remaining-second", "0"),
            ("x-ratelimit-limit-minute", "100"),
            ("x-ratelimit-remaining-minute", "0"),
            ("x-ratelimit-limit-hour", "1000"),
            ("x-ratelimit-remaining-hour", "400"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        let r = rejection_from_response(StatusCode::TOO_MANY_REQUESTS, &headers, b"{}", &[]);
        let limit = r.rate_limit.expect("kept");
        assert_eq!((limit.limit, limit.window), (Some(100), Some(Duration::from_secs(60))));
    }

    #[test]
    fn keeps_a_problems_invalid_fields() {
        let body = r#"{"type":"https://errors.ix-api.net/v2/validation-error","title":"Validation Error","status":400,
            "detail":"Some fields are invalid.","properties":[{"name":"api_key","reason":"This field is required."},
            {"name":"api_secret","reason":"s3cr3t is not valid"}]}"#;
        let r = reject(400, body);
        assert_eq!(
            r.invalid_params,
            vec![
                InvalidParam::new("api_key", "This field is required."),
                InvalidParam::new("api_secret", "[redacted] is not valid")
            ]
        );
        let rfc9457 =
            r#"{"type":"about:blank","title":"Bad","invalid-params":[{"name":"age","reason":"must be positive"}]}"#;
        assert_eq!(reject(400, rfc9457).invalid_params, vec![InvalidParam::new("age", "must be positive")]);
    }

    #[test]
    fn keeps_retry_after_and_request_id() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("17"));
        headers.insert("zuora-request-id", HeaderValue::from_static("abc-123"));
        let r = rejection_from_response(StatusCode::TOO_MANY_REQUESTS, &headers, b"{}", &[]);
        assert_eq!(r.retry_after, Some(Duration::from_secs(17)));
        assert_eq!(r.request_id.as_deref(), Some("abc-123"));
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-reset", HeaderValue::from_static("42"));
        let r = rejection_from_response(StatusCode::TOO_MANY_REQUESTS, &headers, b"", &[]);
        assert_eq!(r.retry_after, Some(Duration::from_secs(42)));
        let past = HeaderValue::from_static("1700000000");
        headers.insert("x-ratelimit-reset", past);
        let r = rejection_from_response(StatusCode::TOO_MANY_REQUESTS, &headers, b"", &[]);
        assert_eq!(r.retry_after, Some(Duration::ZERO), "a Unix time already past: no wait");
    }

    #[test]
    fn retry_after_as_an_http_date_is_kept() {
        let at = |date: std::time::SystemTime| {
            let mut headers = HeaderMap::new();
            let value = HeaderValue::try_from(httpdate::fmt_http_date(date)).expect("date header");
            headers.insert("retry-after", value);
            rejection_from_response(StatusCode::SERVICE_UNAVAILABLE, &headers, b"", &[]).retry_after
        };
        let now = std::time::SystemTime::now();
        let later = at(now + Duration::from_secs(120)).expect("a date is honoured");
        assert!(later > Duration::from_secs(110) && later <= Duration::from_secs(120), "{later:?}");
        assert_eq!(at(now - Duration::from_secs(120)), Some(Duration::ZERO), "a date already past: no wait");
        assert_eq!(at(now + Duration::from_secs(10 * 86_400)), Some(Duration::from_secs(86_400)), "bounded");
    }
}
