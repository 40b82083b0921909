//! Keys that sign client assertions (RFC 7523 §2.2): `private_key_jwt` and `client_secret_jwt`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bearer_core::Error;
use jsonwebtoken::{EncodingKey, Header};
use serde::Serialize;

use super::algorithm::SigningAlgorithm;
use super::private_jwk;

/// How long a client assertion is valid: long enough for one token request, short enough
/// that a captured one is soon useless.
pub const ASSERTION_LIFETIME: Duration = Duration::from_secs(60);

/// A private key that signs `private_key_jwt` client assertions, with its algorithm and
/// optional key id (`kid`). Parsed and checked when made; `Debug` never shows the key.
///
/// ```
/// use bearer_oauth2::{SigningAlgorithm, SigningKey};
///
/// let jwk = r#"{"kty":"OKP","crv":"Ed25519","kid":"k1",
///   "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
///   "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
/// let key = SigningKey::from_jwk(jwk)?;
/// assert_eq!(key.algorithm(), SigningAlgorithm::EdDSA);
/// assert_eq!(key.kid(), Some("k1"));
/// # Ok::<(), bearer_core::Error>(())
/// ```
#[derive(Clone)]
pub struct SigningKey {
    algorithm: SigningAlgorithm,
    key: EncodingKey,
    kid: Option<String>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .field("key", &"[redacted]")
            .finish()
    }
}

/// The claims of a client assertion (RFC 7523 §3).
#[derive(Serialize)]
pub(crate) struct AssertionClaims<'a> {
    pub(crate) iss: &'a str,
    pub(crate) sub: &'a str,
    pub(crate) aud: &'a str,
    pub(crate) jti: String,
    pub(crate) iat: u64,
    pub(crate) exp: u64,
}

impl<'a> AssertionClaims<'a> {
    /// Claims for `client_id` towards `audience`, valid for [`ASSERTION_LIFETIME`] from now,
    /// with a fresh random `jti`.
    pub(crate) fn new(client_id: &'a str, audience: &'a str) -> Result<Self, Error> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        Ok(Self {
            iss: client_id,
            sub: client_id,
            aud: audience,
            jti: unique_id()?,
            iat: now,
            exp: now + ASSERTION_LIFETIME.as_secs(),
        })
    }
}

/// 128 random bits, base64url: a `jti` no other assertion shares.
fn unique_id() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Error::Config("no randomness for the assertion's jti".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

impl SigningKey {
    /// A private key in PEM (PKCS#8 `PRIVATE KEY`; PKCS#1 `RSA PRIVATE KEY` and SEC1 are also
    /// read where the JOSE crate reads them) for `algorithm`, which must not be `HS256`.
    pub fn from_pem(algorithm: SigningAlgorithm, pem: impl AsRef<[u8]>) -> Result<Self, Error> {
        let pem = pem.as_ref();
        let key = match algorithm {
            SigningAlgorithm::RS256 | SigningAlgorithm::PS256 => EncodingKey::from_rsa_pem(pem),
            SigningAlgorithm::ES256 => EncodingKey::from_ec_pem(pem),
            SigningAlgorithm::EdDSA => EncodingKey::from_ed_pem(pem),
            SigningAlgorithm::HS256 => {
                return Err(Error::Config(
                    "HS256 signs with the client secret (client_secret_jwt), not a PEM key".into(),
                ))
            }
        }
        .map_err(|_| Error::Config(format!("the PEM is not a {} private key", algorithm.name()).into()))?;
        Self::checked(algorithm, key, None)
    }

    /// A private JWK (RFC 7517): `RSA` (with `d`, `p`, `q`, `dp`, `dq`, `qi`), `EC` on P-256
    /// or `OKP` Ed25519. The algorithm is the JWK's `alg` when present (so an RSA key can say
    /// `PS256`), else RS256, ES256 or EdDSA by key type; the key id is its `kid`.
    pub fn from_jwk(jwk: &str) -> Result<Self, Error> {
        let parsed = private_jwk::parse(jwk)?;
        let algorithm = match parsed.alg.as_deref() {
            Some(name) => SigningAlgorithm::from_name(name)
                .ok_or_else(|| Error::Config(format!("unsupported JWK alg `{name}`").into()))?,
            None => parsed.default_algorithm,
        };
        Self::checked(algorithm, parsed.key, parsed.kid)
    }

    /// The shared-secret key of `client_secret_jwt`: at least 256 bits, as RFC 7518 §3.2
    /// requires of an HS256 key.
    pub(crate) fn hmac(secret: &[u8]) -> Result<Self, Error> {
        if secret.len() < 32 {
            return Err(Error::Config(
                "client_secret_jwt needs a client secret of at least 32 bytes (RFC 7518 §3.2: 256 bits for HS256)"
                    .into(),
            ));
        }
        let key =
            EncodingKey::from_secret(secret).map_err(|_| Error::Config("the client secret cannot key HS256".into()))?;
        Self::checked(SigningAlgorithm::HS256, key, None)
    }

    /// Sets the key id sent as the assertion's `kid` header.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Signs with another algorithm of the same key type (RS256 ↔ PS256).
    pub fn with_algorithm(self, algorithm: SigningAlgorithm) -> Result<Self, Error> {
        Self::checked(algorithm, self.key, self.kid)
    }

    /// The signing algorithm.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// A key the algorithm can use: proven by signing a probe once, here, so a wrong key is a
    /// configuration error at build time rather than at the first token fetch.
    fn checked(algorithm: SigningAlgorithm, key: EncodingKey, kid: Option<String>) -> Result<Self, Error> {
        let signing_key = Self { algorithm, key, kid };
        signing_key.sign_claims(&serde_json::json!({ "probe": true })).map_err(|_| {
            Error::Config(format!("the key cannot sign {} (wrong key type or size)", algorithm.name()).into())
        })?;
        Ok(signing_key)
    }

    /// A compact JWS of `claims`, with `typ: JWT` and this key's `kid`.
    pub(crate) fn sign_claims(&self, claims: &impl Serialize) -> Result<String, Error> {
        let mut header = Header::new(self.algorithm.jose());
        header.typ = Some("JWT".into());
        header.kid = self.kid.clone();
        jsonwebtoken::encode(&header, claims, &self.key).map_err(|_| {
            Error::Config(format!("signing the client assertion with {} failed", self.algorithm.name()).into())
        })
    }
}
