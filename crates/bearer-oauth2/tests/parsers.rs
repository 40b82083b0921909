//! Property tests: every parser survives arbitrary bytes, and accepts every documented valid
//! shape (generic RFC 6749, Zuora's float, Zenkipay's camelCase, IX-API's JWT-only answer).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bearer_oauth2::provider_kit::{jwt_expiry, rejection_from_response, TokenResponse};
use bearer_oauth2::DEFAULT_UNKNOWN_LIFETIME;
use http::{HeaderMap, HeaderValue, StatusCode};
use proptest::prelude::*;

/// Characters a real access token is made of.
fn token_value() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._~+/=-]{1,200}"
}

/// `expires_in` in every shape providers send, with the seconds it means.
fn expires_in() -> impl Strategy<Value = (Option<String>, Option<f64>)> {
    prop_oneof![
        (0u32..1_000_000).prop_map(|s| (Some(s.to_string()), Some(f64::from(s)))),
        (0u32..1_000_000).prop_map(|s| (Some(format!("{s}.0")), Some(f64::from(s)))),
        (0u32..1_000_000).prop_map(|s| (Some(format!("\"{s}\"")), Some(f64::from(s)))),
        Just((Some("null".to_owned()), None)),
        Just((None, None)),
    ]
}

fn token_type() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("bearer"), Just("Bearer"), Just("BEARER")]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn token_response_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(parsed) = TokenResponse::parse(&bytes) {
            let _ = parsed.into_token(DEFAULT_UNKNOWN_LIFETIME);
        }
    }

    #[test]
    fn token_response_never_panics_on_near_json(text in r#"\{("[a-zA-Z_]{0,14}":("[^"]{0,20}"|-?[0-9.eE+]{1,12}|null|true|\[\]|\{\}),?){0,6}\}"#) {
        if let Ok(parsed) = TokenResponse::parse(text.as_bytes()) {
            let _ = parsed.into_token(DEFAULT_UNKNOWN_LIFETIME);
        }
    }

    #[test]
    fn error_parser_never_panics(
        status in 100u16..600,
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
        retry_after in ".{0,12}",
    ) {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(&retry_after) {
            headers.insert("retry-after", value);
        }
        let status = StatusCode::from_u16(status).unwrap_or_default();
        let rejection = rejection_from_response(status, &headers, &bytes, &["secret"]);
        prop_assert_eq!(rejection.status, status);
        prop_assert!(rejection.body_excerpt.is_none_or(|e| e.chars().count() <= 201));
    }

    #[test]
    fn jwt_reader_never_panics(text in ".{0,300}") {
        let _ = jwt_expiry(&text);
    }

    #[test]
    fn jwt_reader_never_panics_on_jwt_like(parts in proptest::collection::vec("[A-Za-z0-9_=-]{0,40}", 0..5)) {
        let _ = jwt_expiry(&parts.join("."));
    }

    #[test]
    fn every_documented_shape_is_accepted(
        access in token_value(),
        (expires, seconds) in expires_in(),
        kind in token_type(),
        camel in any::<bool>(),
        refresh in proptest::option::of(token_value()),
        scope in proptest::option::of("[a-z.: ]{0,40}"),
    ) {
        let name = |snake: &'static str, camel_name: &'static str| if camel { camel_name } else { snake };
        let mut fields = vec![
            format!(r#""{}":"{access}""#, name("access_token", "accessToken")),
            format!(r#""{}":"{kind}""#, name("token_type", "tokenType")),
            r#""jti":"ignored","unknown":{"nested":[1,2]}"#.to_owned(),
        ];
        if let Some(expires) = &expires {
            fields.push(format!(r#""{}":{expires}"#, name("expires_in", "expiresIn")));
        }
        if let Some(refresh) = &refresh {
            fields.push(format!(r#""{}":"{refresh}""#, name("refresh_token", "refreshToken")));
        }
        if let Some(scope) = &scope {
            fields.push(format!(r#""scope":"{scope}""#));
        }
        let body = format!("{{{}}}", fields.join(","));
        let parsed = TokenResponse::parse(body.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e}: {body}")))?;
        prop_assert_eq!(parsed.expires_in, seconds.map(Duration::from_secs_f64));
        let (token, kept) = parsed.into_token(DEFAULT_UNKNOWN_LIFETIME).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(token.secret().secret(), access.as_str());
        prop_assert_eq!(token.lifetime(), Some(seconds.map(Duration::from_secs_f64).unwrap_or(DEFAULT_UNKNOWN_LIFETIME)));
        prop_assert_eq!(kept.map(|r| r.secret().to_owned()), refresh);
    }

    #[test]
    fn ixapi_jwt_answer_takes_its_lifetime_from_exp(ttl in 60u64..86_400) {
        let exp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) + ttl;
        let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"x","exp":{exp}}}"#));
        let access = format!("eyJhbGciOiJIUzI1NiJ9.{payload}.c2ln");
        let body = format!(r#"{{"access_token":"{access}","refresh_token":"r"}}"#);
        let (token, _) = TokenResponse::parse(body.as_bytes())
            .and_then(|p| p.into_token(DEFAULT_UNKNOWN_LIFETIME))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let lifetime = token.lifetime().unwrap_or_default();
        prop_assert!(lifetime <= Duration::from_secs(ttl) && lifetime + Duration::from_secs(5) >= Duration::from_secs(ttl));
        prop_assert_eq!(jwt_expiry(&access), Some(UNIX_EPOCH + Duration::from_secs(exp)));
    }
}
