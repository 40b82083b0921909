//! The verifying server's token endpoint: who the client is, then what it may have.

use std::collections::HashMap;

use axum::response::Response;
use http::{header, HeaderMap, StatusCode};
use jsonwebtoken::{Algorithm, DecodingKey};

use crate::authz::{AuthzState, ClientRegistration, ExchangeRecord, PeerCertificate};
use crate::request::basic_credentials;
use crate::routes::{issue, json};
use crate::state::{lock, AtomicCounters};
use crate::verify;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// RFC 6749 §5.2 error answer (401 for `invalid_client`, as §5.2 allows).
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json(status, serde_json::json!({ "error": error, "error_description": description }))
}

/// A refused request: the RFC error code and a description naming the rule.
pub(crate) struct Refusal {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl Refusal {
    fn respond(&self) -> Response {
        oauth_error(self.status, self.error, &self.description)
    }
}

fn invalid_client(description: &str) -> Refusal {
    Refusal { status: StatusCode::UNAUTHORIZED, error: "invalid_client", description: description.to_owned() }
}

fn bad_request(error: &'static str, description: &str) -> Refusal {
    Refusal { status: StatusCode::BAD_REQUEST, error, description: description.to_owned() }
}

type Fields = HashMap<String, String>;

/// Handles one token request.
pub(crate) fn grant(
    st: &AuthzState,
    headers: &HeaderMap,
    fields: &Fields,
    body: &[u8],
    peer: &PeerCertificate,
) -> Response {
    answer(st, headers, fields, body, peer).unwrap_or_else(|refusal| refusal.respond())
}

fn answer(
    st: &AuthzState,
    headers: &HeaderMap,
    fields: &Fields,
    body: &[u8],
    peer: &PeerCertificate,
) -> Result<Response, Refusal> {
    let client = authenticate(st, headers, fields, peer)?;
    let field = |name: &str| fields.get(name).map(String::as_str);
    match field("grant_type") {
        Some("client_credentials")
            if client.as_ref().is_some_and(|id| matches!(st.clients.get(id), Some(ClientRegistration::Public))) =>
        {
            // RFC 6749 §4.4: only confidential clients may use client_credentials.
            Err(bad_request("unauthorized_client", "a public client cannot use client_credentials"))
        }
        Some("client_credentials") if client.is_some() => {
            AtomicCounters::bump(&st.sim.counters.primary_grants);
            Ok(issue_token(st, fields, st.issue_refresh_tokens))
        }
        Some("client_credentials") => Err(invalid_client("client_credentials needs an authenticated client")),
        Some("refresh_token") => {
            if !field("refresh_token").is_some_and(|r| st.sim.take_refresh(r)) {
                return Err(bad_request("invalid_grant", "the refresh token is invalid, expired or used"));
            }
            AtomicCounters::bump(&st.sim.counters.refresh_grants);
            Ok(issue_token(st, fields, true))
        }
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => jwt_bearer(st, fields),
        Some("urn:ietf:params:oauth:grant-type:token-exchange") => token_exchange(st, fields, body),
        Some(_) => Err(bad_request("unsupported_grant_type", "grant type not supported")),
        None => Err(bad_request("invalid_request", "grant_type is required")),
    }
}

/// The authenticated client id; `None` for a request with no client authentication at all
/// (allowed for the JWT bearer grant and token exchange, RFC 7523 §3.1 / RFC 8693 §2.1).
fn authenticate(
    st: &AuthzState,
    headers: &HeaderMap,
    fields: &Fields,
    peer: &PeerCertificate,
) -> Result<Option<String>, Refusal> {
    let basic = basic_credentials(headers);
    let post = fields.get("client_secret");
    let assertion = fields.get("client_assertion");
    if usize::from(basic.is_some()) + usize::from(post.is_some()) + usize::from(assertion.is_some()) > 1 {
        return Err(bad_request("invalid_request", "more than one client authentication method"));
    }
    let client_id = fields.get("client_id").cloned();
    if let Some((id, secret)) = basic.or_else(|| post.map(|s| (client_id.clone().unwrap_or_default(), s.clone()))) {
        return match st.clients.get(&id) {
            Some(ClientRegistration::Secret(expected)) if *expected == secret => Ok(Some(id)),
            _ => Err(invalid_client("client authentication failed")),
        };
    }
    if let Some(assertion) = assertion {
        return assertion_client(st, fields, client_id, assertion).map(Some);
    }
    let Some(id) = client_id else { return Ok(None) };
    match (st.clients.get(&id), &peer.0) {
        (Some(ClientRegistration::Public), _) => Ok(Some(id)),
        (Some(ClientRegistration::TlsCertificate { .. }), Some(der)) if crate::tls::is_self_issued(der) => {
            // RFC 8705 §2.1: PKI; a self-signed certificate the TLS layer trusts for another
            // client proves nothing about this one.
            Err(invalid_client("tls_client_auth needs a CA-issued certificate, not a self-signed one"))
        }
        (Some(ClientRegistration::TlsCertificate { common_name }), Some(der)) => {
            if crate::tls::certificate_common_name(der).as_deref() == Some(common_name.as_str()) {
                Ok(Some(id))
            } else {
                Err(invalid_client("the client certificate's subject is not the registered one"))
            }
        }
        (Some(ClientRegistration::SelfSignedCertificate(expected)), Some(der)) if expected == der => Ok(Some(id)),
        (Some(ClientRegistration::SelfSignedCertificate(_)), Some(_)) => {
            Err(invalid_client("the client certificate is not the registered one"))
        }
        (Some(ClientRegistration::TlsCertificate { .. } | ClientRegistration::SelfSignedCertificate(_)), None) => {
            Err(invalid_client("this client must present its TLS client certificate"))
        }
        _ => Err(invalid_client("client authentication failed")),
    }
}

fn assertion_client(
    st: &AuthzState,
    fields: &Fields,
    client_id: Option<String>,
    assertion: &str,
) -> Result<String, Refusal> {
    if fields.get("client_assertion_type").map(String::as_str) != Some(ASSERTION_TYPE) {
        return Err(bad_request("invalid_request", "client_assertion_type must be the JWT bearer type"));
    }
    let claimed = verify::peek_claims(assertion)
        .and_then(|c| c.get("sub").and_then(serde_json::Value::as_str).map(str::to_owned));
    let id = client_id.or(claimed).ok_or_else(|| invalid_client("the assertion names no client"))?;
    let token_url = st.token_url();
    let audiences = [token_url.as_str(), st.origin.as_str()];
    let mut seen = lock(&st.seen_jti);
    let checked = match st.clients.get(&id) {
        Some(ClientRegistration::PublicKey(key)) => {
            verify::client_assertion(assertion, &id, &key.decoding_key(), key.algorithm(), &audiences, &mut seen)
        }
        Some(ClientRegistration::SecretJwt(secret)) => match DecodingKey::from_secret(secret.as_bytes()) {
            Ok(key) => verify::client_assertion(assertion, &id, &key, Algorithm::HS256, &audiences, &mut seen),
            Err(_) => Err("the registered secret cannot key HS256"),
        },
        Some(ClientRegistration::Federated { issuer, subject }) => {
            verify::issued_jwt(assertion, &st.trusted, &audiences).and_then(|(verified, _)| {
                if verified.claim("iss") == Some(issuer.as_str()) && verified.claim("sub") == Some(subject.as_str()) {
                    Ok(())
                } else {
                    Err("the federated assertion's iss and sub are not the registered ones")
                }
            })
        }
        _ => Err("the client is not registered for assertions"),
    };
    checked.map(|()| id).map_err(invalid_client)
}

fn jwt_bearer(st: &AuthzState, fields: &Fields) -> Result<Response, Refusal> {
    let Some(assertion) = fields.get("assertion") else {
        return Err(bad_request("invalid_request", "assertion is required"));
    };
    let token_url = st.token_url();
    match verify::issued_jwt(assertion, &st.trusted, &[token_url.as_str(), st.origin.as_str()]) {
        Ok(_) => {
            AtomicCounters::bump(&st.sim.counters.primary_grants);
            Ok(issue_token(st, fields, false))
        }
        Err(refusal) => Err(bad_request("invalid_grant", &format!("assertion: {refusal}"))),
    }
}

/// RFC 7009: an authenticated client revokes a token (access or refresh); unknown tokens
/// are answered 200 too, as §2.2 says.
pub(crate) fn revoke(st: &AuthzState, headers: &HeaderMap, fields: &Fields, peer: &PeerCertificate) -> Response {
    match authenticate(st, headers, fields, peer) {
        Ok(Some(_)) => {}
        Ok(None) => return invalid_client("revocation needs client authentication").respond(),
        Err(refusal) => return refusal.respond(),
    }
    let Some(token) = fields.get("token") else {
        return bad_request("invalid_request", "token is required").respond();
    };
    let mut issued = lock(&st.sim.issued);
    if issued.access.remove(token).is_some() || issued.refresh.remove(token).is_some() {
        st.revocations.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    json(StatusCode::OK, serde_json::json!({}))
}

/// The subject behind a subject or actor token of `kind`.
fn token_subject(st: &AuthzState, token: &str, kind: &str, audiences: &[&str]) -> Result<String, Refusal> {
    match kind {
        "urn:ietf:params:oauth:token-type:jwt" | "urn:ietf:params:oauth:token-type:id_token" => {
            verify::issued_jwt(token, &st.trusted, audiences)
                .map(|(verified, _)| verified.claim("sub").unwrap_or_default().to_owned())
                .map_err(|refusal| bad_request("invalid_grant", &format!("token: {refusal}")))
        }
        ACCESS_TOKEN_TYPE => match lock(&st.sim.issued).access.get(token) {
            Some(expiry) if tokio::time::Instant::now() < *expiry => {
                Ok(format!("access-token:{}", &token[..token.len().min(8)]))
            }
            _ => Err(bad_request("invalid_grant", "token: the access token is unknown or expired")),
        },
        _ => Err(bad_request("invalid_request", "unsupported token type")),
    }
}

fn token_exchange(st: &AuthzState, fields: &Fields, body: &[u8]) -> Result<Response, Refusal> {
    let field = |name: &str| fields.get(name).map(String::as_str);
    let (Some(subject), Some(subject_type)) = (field("subject_token"), field("subject_token_type")) else {
        return Err(bad_request("invalid_request", "subject_token and subject_token_type are required"));
    };
    if field("requested_token_type").is_some_and(|t| t != ACCESS_TOKEN_TYPE) {
        return Err(bad_request("invalid_request", "only access tokens are issued"));
    }
    let token_url = st.token_url();
    let audiences = [token_url.as_str(), st.origin.as_str()];
    let subject = token_subject(st, subject, subject_type, &audiences)?;
    let actor = match (field("actor_token"), field("actor_token_type")) {
        (Some(token), Some(kind)) => Some(token_subject(st, token, kind, &audiences)?),
        (None, None) => None,
        _ => return Err(bad_request("invalid_request", "actor_token and actor_token_type go together")),
    };
    let audiences = all_values(body, "audience");
    if !st.allowed_audiences.is_empty() && audiences.iter().any(|a| !st.allowed_audiences.contains(a)) {
        return Err(bad_request("invalid_target", "the audience is not one this server issues tokens for"));
    }
    let record = ExchangeRecord {
        subject,
        actor,
        audiences,
        resources: all_values(body, "resource"),
        scope: fields.get("scope").cloned(),
    };
    lock(&st.exchanges).push(record);
    AtomicCounters::bump(&st.sim.counters.primary_grants);
    Ok(issue_token(st, fields, false))
}

/// Every value of a repeatable parameter (`audience`, `resource`), in order: repeated form
/// pairs, or in a JSON body a string or an array of strings.
fn all_values(body: &[u8], name: &str) -> Vec<String> {
    if let Ok(serde_json::Value::Object(members)) = serde_json::from_slice::<serde_json::Value>(body) {
        return match members.get(name) {
            Some(serde_json::Value::Array(values)) => {
                values.iter().map(|v| v.as_str().unwrap_or("").to_owned()).collect()
            }
            Some(value) => vec![value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string())],
            None => Vec::new(),
        };
    }
    url::form_urlencoded::parse(body).filter(|(k, _)| k == name).map(|(_, v)| v.into_owned()).collect()
}

fn issue_token(st: &AuthzState, fields: &Fields, refresh: bool) -> Response {
    let (access, refresh) = issue(&st.sim, false, refresh);
    let mut body = serde_json::json!({ "access_token": access, "token_type": "Bearer" });
    if let Some(expires_in) = st.sim.expires_in_value() {
        body["expires_in"] = expires_in;
    }
    if let Some(refresh) = refresh {
        body["refresh_token"] = refresh.into();
    }
    if fields.get("grant_type").map(String::as_str) == Some("urn:ietf:params:oauth:grant-type:token-exchange") {
        body["issued_token_type"] = ACCESS_TOKEN_TYPE.into();
    }
    let mut response = json(StatusCode::OK, body);
    response.headers_mut().insert(header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    response
}
