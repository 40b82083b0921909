//! Keys made in the test: a client's signing key (PEM and private JWK), an issuer's key that
//! mints workload tokens, and the public half a verifying simulator registers.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};

/// A key pair generated for one test run (never stored), with the JOSE algorithm it signs.
#[derive(Clone)]
pub struct TestKey {
    algorithm: Algorithm,
    private_pem: String,
    public_pem: String,
    private_jwk: serde_json::Value,
    kid: String,
}

impl std::fmt::Debug for TestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKey").field("algorithm", &self.algorithm).field("kid", &self.kid).finish()
    }
}

impl TestKey {
    /// A fresh key for `alg`: `"RS256"`, `"PS256"` (RSA 2048), `"ES256"` (P-256) or
    /// `"EdDSA"` (Ed25519).
    ///
    /// # Panics
    /// On any other name, or if key generation fails: the test cannot run then.
    pub fn generate(alg: &str) -> Self {
        let (algorithm, rcgen_alg) = match alg {
            "RS256" => (Algorithm::RS256, &rcgen::PKCS_RSA_SHA256),
            "PS256" => (Algorithm::PS256, &rcgen::PKCS_RSA_SHA256),
            "ES256" => (Algorithm::ES256, &rcgen::PKCS_ECDSA_P256_SHA256),
            "EdDSA" => (Algorithm::EdDSA, &rcgen::PKCS_ED25519),
            other => panic!("TestKey::generate: unsupported algorithm {other}"),
        };
        let pair = rcgen::KeyPair::generate_for(rcgen_alg).expect("generate a test key");
        let private_jwk = private_jwk(algorithm, &pair.serialize_der(), pair.public_key_raw());
        let kid = format!("test-{alg}-{}", &URL_SAFE_NO_PAD.encode(&pair.public_key_raw()[..8]));
        Self { algorithm, private_pem: pair.serialize_pem(), public_pem: pair.public_key_pem(), private_jwk, kid }
    }

    /// The JWS algorithm name (`"ES256"`, …).
    pub fn algorithm_name(&self) -> String {
        format!("{:?}", self.algorithm)
    }

    /// The private key, PKCS#8 PEM.
    pub fn private_pem(&self) -> &str {
        &self.private_pem
    }

    /// The public key, SPKI PEM (what a server registers; tests also forge with it).
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }

    /// The private key as a JWK with `alg` and `kid`.
    pub fn private_jwk(&self) -> String {
        self.private_jwk.to_string()
    }

    /// The key id this key's JWK carries.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub(crate) fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The public half, for verification.
    pub(crate) fn decoding_key(&self) -> DecodingKey {
        let pem = self.public_pem.as_bytes();
        match self.algorithm {
            Algorithm::ES256 => DecodingKey::from_ec_pem(pem),
            Algorithm::EdDSA => DecodingKey::from_ed_pem(pem),
            _ => DecodingKey::from_rsa_pem(pem),
        }
        .expect("the public PEM of a generated key")
    }

    /// Signs any claims (tests forge bad assertions with this), with this key's `kid`.
    pub fn sign(&self, claims: &serde_json::Value) -> String {
        let key = match self.algorithm {
            Algorithm::ES256 => EncodingKey::from_ec_pem(self.private_pem.as_bytes()),
            Algorithm::EdDSA => EncodingKey::from_ed_pem(self.private_pem.as_bytes()),
            _ => EncodingKey::from_rsa_pem(self.private_pem.as_bytes()),
        }
        .expect("the private PEM of a generated key");
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &key).expect("sign test claims")
    }

    /// A workload token as a platform issues one: `iss`, `sub`, `aud`, `exp` in `ttl`, a `jti`.
    pub fn mint(&self, issuer: &str, subject: &str, audience: &str, ttl: Duration) -> String {
        let now = unix_now();
        self.sign(&serde_json::json!({
            "iss": issuer, "sub": subject, "aud": audience,
            "iat": now, "exp": now + ttl.as_secs(), "jti": format!("{subject}-{now}-{}", next_serial()),
        }))
    }
}

fn next_serial() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    SERIAL.fetch_add(1, Ordering::Relaxed)
}

/// Seconds since the Unix epoch on the wall clock (JWT time).
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The private JWK of a PKCS#8 key: the DER is walked just far enough for each key type.
fn private_jwk(algorithm: Algorithm, pkcs8: &[u8], public_raw: &[u8]) -> serde_json::Value {
    let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    let alg = format!("{algorithm:?}");
    let kid = format!("test-{alg}-{}", URL_SAFE_NO_PAD.encode(&public_raw[..8]));
    // PrivateKeyInfo ::= SEQUENCE { version, algorithm, privateKey OCTET STRING, … }
    let info = der_children(der_element(pkcs8).1);
    let private_key = info[2].1;
    match algorithm {
        Algorithm::EdDSA => {
            let seed = der_element(private_key).1;
            serde_json::json!({ "kty": "OKP", "crv": "Ed25519", "d": b64(seed), "x": b64(public_raw), "alg": alg, "kid": kid })
        }
        Algorithm::ES256 => {
            // ECPrivateKey ::= SEQUENCE { version, privateKey OCTET STRING, … }
            let d = der_children(der_element(private_key).1)[1].1;
            let (x, y) = public_raw[1..].split_at(32);
            serde_json::json!({ "kty": "EC", "crv": "P-256", "d": b64(d), "x": b64(x), "y": b64(y), "alg": alg, "kid": kid })
        }
        _ => {
            // RSAPrivateKey ::= SEQUENCE { version, n, e, d, p, q, dp, dq, qi }
            let ints = der_children(der_element(private_key).1);
            let mut jwk = serde_json::json!({ "kty": "RSA", "alg": alg, "kid": kid });
            for (i, name) in ["n", "e", "d", "p", "q", "dp", "dq", "qi"].iter().enumerate() {
                let value = ints[i + 1].1;
                let trimmed = &value[value.iter().position(|&b| b != 0).unwrap_or(0)..];
                jwk[*name] = b64(trimmed).into();
            }
            jwk
        }
    }
}

/// One DER element: (tag, contents) — test-generated input, so no error handling.
fn der_element(der: &[u8]) -> (u8, &[u8]) {
    let (tag, first) = (der[0], der[1]);
    let (len, start) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        (der[2..2 + n].iter().fold(0usize, |acc, &b| (acc << 8) | b as usize), 2 + n)
    };
    (tag, &der[start..start + len])
}

fn der_children(mut contents: &[u8]) -> Vec<(u8, &[u8])> {
    let mut children = Vec::new();
    while !contents.is_empty() {
        let (tag, body) = der_element(contents);
        let header = contents.len() - contents[body.as_ptr() as usize - contents.as_ptr() as usize..].len();
        children.push((tag, body));
        contents = &contents[header + body.len()..];
    }
    children
}
