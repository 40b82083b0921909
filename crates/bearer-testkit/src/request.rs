//! What a token request carries, read as the providers read it: its body's fields (form or
//! JSON), its `Authorization: Basic` credentials and its `Accept` header.

use std::collections::HashMap;

use http::{header, HeaderMap};

/// Which body encoding a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Form,
    Json,
}

/// Parses a body by its content type: form pairs or a JSON object of strings. `None` for any
/// other content type, an unparsable body, or a form that repeats a field other than
/// `resource` or `audience`.
pub(crate) fn parse_fields(headers: &HeaderMap, body: &[u8]) -> Option<(BodyKind, HashMap<String, String>)> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = content_type.split(';').next()?.trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/x-www-form-urlencoded" => {
            let pairs: Vec<(String, String)> = form_urlencoded(body)?;
            // RFC 6749 §3.2: no parameter more than once; a repeated one makes the body invalid.
            // RFC 8693 §2.1 lets `resource` and `audience` repeat (the handlers read them all
            // from the raw body).
            let mut fields = HashMap::with_capacity(pairs.len());
            for (name, value) in pairs {
                let repeatable = matches!(name.as_str(), "resource" | "audience");
                if fields.insert(name, value).is_some() && !repeatable {
                    return None;
                }
            }
            Some((BodyKind::Form, fields))
        }
        "application/json" => {
            let value: serde_json::Value = serde_json::from_slice(body).ok()?;
            let fields = value
                .as_object()?
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())))
                .collect();
            Some((BodyKind::Json, fields))
        }
        _ => None,
    }
}

fn form_urlencoded(body: &[u8]) -> Option<Vec<(String, String)>> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((percent_decode(k)?, percent_decode(v)?))
        })
        .collect()
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// `Authorization: Basic` credentials, decoded as RFC 6749 §2.3.1 says: Base64, split at the
/// colon, then each half form-urlencoded-decoded.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let (id, secret) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((percent_decode(id)?, percent_decode(secret)?))
}

/// Whether the request's `Accept` header admits JSON (`application/json`, `application/*` or
/// `*/*`). A missing header does not: every provider documents the one to send.
pub(crate) fn accepts_json(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|range| {
        let essence = range.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        matches!(essence.as_str(), "application/json" | "application/*" | "*/*")
    })
}

/// Whether the form or JSON fields are exactly `allowed` or a subset of it.
pub(crate) fn only_fields(fields: &HashMap<String, String>, allowed: &[&str]) -> bool {
    fields.keys().all(|k| allowed.contains(&k.as_str()))
}
