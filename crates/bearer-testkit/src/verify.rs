//! The checks a real authorization server makes on client assertions (RFC 7523 §3) and on
//! the JWTs presented as grants or subject tokens, each failing with its own description so
//! tests can tell which rule fired.

use std::collections::HashSet;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::keys::TestKey;

/// Why a JWT was refused (the `error_description` the simulator sends).
pub(crate) type Refusal = &'static str;

/// A JWT whose signature and times were checked; its claims.
pub(crate) struct Verified {
    pub(crate) claims: Value,
}

impl Verified {
    pub(crate) fn claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
}

/// The claims of a JWT, unverified: only to find which key should verify it.
pub(crate) fn peek_claims(jwt: &str) -> Option<Value> {
    Some(crate::jwt_part(jwt, 1)).filter(Value::is_object)
}

/// Verifies signature (with exactly `algorithm`), `exp` (required, 5 s leeway), `nbf` when
/// present (RFC 7519 §4.1.5, RFC 7523 §3 item 5) and that `aud` names one of `audiences`.
pub(crate) fn verify(
    jwt: &str,
    key: &DecodingKey,
    algorithm: Algorithm,
    audiences: &[&str],
) -> Result<Verified, Refusal> {
    let mut validation = Validation::new(algorithm);
    validation.leeway = 5;
    validation.validate_nbf = true;
    validation.set_audience(audiences);
    validation.set_required_spec_claims(&["exp", "aud"]);
    match jsonwebtoken::decode::<Value>(jwt, key, &validation) {
        Ok(data) => Ok(Verified { claims: data.claims }),
        Err(e) => Err(match e.kind() {
            ErrorKind::InvalidSignature => "signature does not verify",
            ErrorKind::InvalidAlgorithm => "algorithm not registered for this key",
            ErrorKind::ExpiredSignature => "expired",
            ErrorKind::ImmatureSignature => "not valid yet",
            ErrorKind::InvalidAudience => "audience is not this server",
            ErrorKind::MissingRequiredClaim(claim) if claim == "exp" => "no exp",
            ErrorKind::MissingRequiredClaim(_) => "missing aud",
            _ => "not a valid JWT",
        }),
    }
}

/// A client assertion: verified with the client's key, `iss` = `sub` = the client id, a
/// `jti` never seen before (remembered in `seen`).
pub(crate) fn client_assertion(
    jwt: &str,
    client_id: &str,
    key: &DecodingKey,
    algorithm: Algorithm,
    audiences: &[&str],
    seen: &mut HashSet<String>,
) -> Result<(), Refusal> {
    let verified = verify(jwt, key, algorithm, audiences).map_err(|r| match r {
        "signature does not verify" => "client assertion signature does not verify",
        "algorithm not registered for this key" => "client assertion alg is not the registered one",
        "expired" => "client assertion expired",
        "not valid yet" => "client assertion is not valid yet",
        "audience is not this server" => "client assertion aud is not this server",
        "no exp" => "client assertion has no exp",
        _ => "client assertion is not a valid JWT",
    })?;
    if verified.claim("iss") != Some(client_id) || verified.claim("sub") != Some(client_id) {
        return Err("client assertion iss and sub must be the client id");
    }
    let Some(jti) = verified.claim("jti") else {
        return Err("client assertion has no jti");
    };
    if !seen.insert(jti.to_owned()) {
        return Err("client assertion jti was already used (replay)");
    }
    Ok(())
}

/// A JWT from a trusted issuer (a JWT-bearer assertion, a subject or actor token, a
/// federated client assertion): the issuer must be trusted and the signature its key's.
pub(crate) fn issued_jwt<'a>(
    jwt: &str,
    trusted: &'a [TrustedIssuer],
    audiences: &[&str],
) -> Result<(Verified, &'a TrustedIssuer), Refusal> {
    let claims = peek_claims(jwt).ok_or("not a JWT")?;
    let issuer = claims.get("iss").and_then(Value::as_str).ok_or("no iss")?;
    let trusted_issuer = trusted.iter().find(|t| t.issuer == issuer).ok_or("issuer is not trusted")?;
    let mut accepted: Vec<&str> = audiences.to_vec();
    accepted.push(&trusted_issuer.audience);
    let verified = verify(jwt, &trusted_issuer.key.decoding_key(), trusted_issuer.key.algorithm(), &accepted)?;
    if verified.claim("sub").is_none_or(str::is_empty) {
        return Err("no sub");
    }
    Ok((verified, trusted_issuer))
}

/// An issuer whose JWTs the simulator accepts as grants and subject tokens.
#[derive(Debug, Clone)]
pub struct TrustedIssuer {
    /// Its `iss`.
    pub issuer: String,
    /// Its signing key (the simulator uses the public half).
    pub key: TestKey,
    /// An `aud` accepted besides the token endpoint and the server's issuer (as a
    /// Kubernetes token's audience names the STS).
    pub audience: String,
}
