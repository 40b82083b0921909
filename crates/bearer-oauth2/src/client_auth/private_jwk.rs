//! Private JWKs (RFC 7517/7518/8037) turned into the DER the JOSE crate signs with.
//!
//! jsonwebtoken reads public JWKs only; a private one is rebuilt here: RSA as PKCS#1 (its
//! integers re-encoded, a few lines of DER), EC and Ed25519 through aws-lc-rs, which checks
//! that the private and public halves match and writes PKCS#8.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bearer_core::Error;
use jsonwebtoken::EncodingKey;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::algorithm::SigningAlgorithm;

/// A private JWK, ready to sign.
pub(crate) struct ParsedJwk {
    pub(crate) key: EncodingKey,
    pub(crate) alg: Option<String>,
    pub(crate) kid: Option<String>,
    pub(crate) default_algorithm: SigningAlgorithm,
}

fn config(message: &str) -> Error {
    Error::Config(message.to_owned().into())
}

/// Parses a private JWK. Errors name the missing or bad member, never its value.
pub(crate) fn parse(jwk: &str) -> Result<ParsedJwk, Error> {
    let Ok(Value::Object(members)) = serde_json::from_str::<Value>(jwk) else {
        return Err(config("the JWK is not a JSON object"));
    };
    let text = |name: &str| members.get(name).and_then(Value::as_str).map(str::to_owned);
    let (key, default_algorithm) = match text("kty").as_deref() {
        Some("RSA") => (EncodingKey::from_rsa_der(&rsa_pkcs1(&members)?), SigningAlgorithm::RS256),
        Some("EC") => (ec_p256(&members)?, SigningAlgorithm::ES256),
        Some("OKP") => (ed25519(&members)?, SigningAlgorithm::EdDSA),
        Some(other) => return Err(Error::Config(format!("unsupported JWK key type `{other}`").into())),
        None => return Err(config("the JWK has no `kty`")),
    };
    Ok(ParsedJwk { key, alg: text("alg"), kid: text("kid"), default_algorithm })
}

/// A base64url member, decoded; errors name it.
fn bytes(members: &Map<String, Value>, name: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    let value = members
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Config(format!("the JWK has no `{name}` (a private key needs it)").into()))?;
    URL_SAFE_NO_PAD
        .decode(value.trim_end_matches('='))
        .map(Zeroizing::new)
        .map_err(|_| Error::Config(format!("the JWK's `{name}` is not base64url").into()))
}

fn curve(members: &Map<String, Value>, expected: &str) -> Result<(), Error> {
    match members.get("crv").and_then(Value::as_str) {
        Some(crv) if crv == expected => Ok(()),
        Some(crv) => Err(Error::Config(format!("unsupported JWK curve `{crv}` (expected {expected})").into())),
        None => Err(config("the JWK has no `crv`")),
    }
}

fn ec_p256(members: &Map<String, Value>) -> Result<EncodingKey, Error> {
    use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    curve(members, "P-256")?;
    let (d, x, y) = (bytes(members, "d")?, bytes(members, "x")?, bytes(members, "y")?);
    let mut point = Vec::with_capacity(1 + x.len() + y.len());
    point.push(0x04);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    let pair = EcdsaKeyPair::from_private_key_and_public_key(&ECDSA_P256_SHA256_FIXED_SIGNING, &d, &point)
        .map_err(|_| config("the JWK's EC private and public parts do not form a P-256 key"))?;
    let pkcs8 = pair.to_pkcs8v1().map_err(|_| config("the EC JWK cannot be encoded"))?;
    Ok(EncodingKey::from_ec_der(pkcs8.as_ref()))
}

fn ed25519(members: &Map<String, Value>) -> Result<EncodingKey, Error> {
    use aws_lc_rs::signature::Ed25519KeyPair;
    curve(members, "Ed25519")?;
    let (d, x) = (bytes(members, "d")?, bytes(members, "x")?);
    let pair = Ed25519KeyPair::from_seed_and_public_key(&d, &x)
        .map_err(|_| config("the JWK's Ed25519 private and public parts do not match"))?;
    let pkcs8 = pair.to_pkcs8v1().map_err(|_| config("the Ed25519 JWK cannot be encoded"))?;
    Ok(EncodingKey::from_ed_der(pkcs8.as_ref()))
}

/// `RSAPrivateKey ::= SEQUENCE { version 0, n, e, d, p, q, dp, dq, qi }` (RFC 8017 A.1.2).
fn rsa_pkcs1(members: &Map<String, Value>) -> Result<Zeroizing<Vec<u8>>, Error> {
    let mut body = Zeroizing::new(vec![0x02, 0x01, 0x00]);
    for name in ["n", "e", "d", "p", "q", "dp", "dq", "qi"] {
        der_unsigned_integer(&mut body, &bytes(members, name)?);
    }
    let mut der = Zeroizing::new(Vec::with_capacity(body.len() + 4));
    der.push(0x30);
    der_length(&mut der, body.len());
    der.extend_from_slice(&body);
    Ok(der)
}

fn der_unsigned_integer(out: &mut Vec<u8>, magnitude: &[u8]) {
    let trimmed = match magnitude.iter().position(|&b| b != 0) {
        Some(first) => &magnitude[first..],
        None => &[0u8][..],
    };
    let pad = trimmed.first().is_some_and(|&b| b & 0x80 != 0);
    out.push(0x02);
    der_length(out, trimmed.len() + usize::from(pad));
    if pad {
        out.push(0);
    }
    out.extend_from_slice(trimmed);
}

fn der_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_integers_are_minimal_and_positive() {
        let mut out = Vec::new();
        der_unsigned_integer(&mut out, &[0x00, 0x00, 0x7f]);
        der_unsigned_integer(&mut out, &[0x80]);
        der_unsigned_integer(&mut out, &[]);
        assert_eq!(out, [0x02, 0x01, 0x7f, 0x02, 0x02, 0x00, 0x80, 0x02, 0x01, 0x00]);
    }

    #[test]
    fn der_long_lengths() {
        let mut out = Vec::new();
        der_length(&mut out, 0x7f);
        der_length(&mut out, 0x80);
        der_length(&mut out, 0x0102);
        assert_eq!(out, [0x7f, 0x81, 0x80, 0x82, 0x01, 0x02]);
    }

    #[test]
    fn errors_name_the_member_not_its_value() {
        let Err(error) = parse(r#"{"kty":"OKP","crv":"Ed25519","d":"c2VjcmV0LXNlZWQ"}"#) else {
            panic!("a JWK without x must fail");
        };
        let message = error.to_string();
        assert!(message.contains("`x`"), "{message}");
        assert!(!message.contains("c2VjcmV0LXNlZWQ"), "{message}");
        assert!(parse(r#"{"kty":"EC","crv":"P-384","d":"AA","x":"AA","y":"AA"}"#).is_err());
        assert!(parse(r#"{"kty":"oct","k":"AA"}"#).is_err());
        assert!(parse("[]").is_err());
    }
}
