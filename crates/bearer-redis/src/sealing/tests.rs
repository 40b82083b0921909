use std::time::Duration;

use bearer_core::{AccessToken, Token};

use super::*;

fn token(secret: &str, lifetime: Duration) -> Token {
    Token::builder(AccessToken::new(secret)).expires_in(lifetime).scope("read").build().expect("valid token")
}

fn key(byte: u8) -> EncryptionKey {
    EncryptionKey::from_bytes([byte; 32])
}

#[tokio::test]
async fn a_sealed_token_opens_with_its_key_only() {
    let sealer = Sealer::sealed(&key(1));
    let original = token("secret-token-123", Duration::from_secs(600));
    let (value, ttl) = sealer.seal(&original, "k", Duration::from_secs(1)).expect("sealed");
    assert!(ttl <= Duration::from_secs(600) && ttl > Duration::from_secs(590), "{ttl:?}");
    assert!(!value.windows(16).any(|w| w == b"secret-token-123"), "the token is in the clear");
    let opened = sealer.open(&value, "k", None).expect("opens");
    assert_eq!(opened.token.secret(), original.secret());
    assert_eq!(opened.token.scope(), Some("read"));
    assert!(opened.usable);
    let left = opened.token.expires_at().expect("expiry").saturating_duration_since(tokio::time::Instant::now());
    assert!(left > Duration::from_secs(590) && left <= Duration::from_secs(600), "{left:?}");
    assert!(Sealer::sealed(&key(2)).open(&value, "k", None).is_none(), "another key opened it");
    assert!(sealer.open(&value, "other-key", None).is_none(), "a value copied under another key opened");
    assert!(Sealer::plain("k").open(&value, "k", None).is_none(), "plain mode took a sealed value");
}

#[tokio::test]
async fn corruption_anywhere_is_a_miss() {
    let sealer = Sealer::sealed(&key(1));
    let (value, _) = sealer.seal(&token("t", Duration::from_secs(60)), "k", Duration::ZERO).expect("sealed");
    for at in 0..value.len() {
        let mut bad = value.clone();
        bad[at] ^= 0x01;
        assert!(sealer.open(&bad, "k", None).is_none(), "a flip at byte {at} went unnoticed");
    }
    for garbage in [&b""[..], b"e", b"p{}", &value[..value.len() - 1]] {
        assert!(sealer.open(garbage, "k", None).is_none());
    }
}

#[tokio::test]
async fn plaintext_round_trips_and_refuses_a_forged_header() {
    let sealer = Sealer::plain("k");
    let original = token("plain-token", Duration::from_secs(60));
    let (value, _) = sealer.seal(&original, "k", Duration::ZERO).expect("stored");
    assert_eq!(sealer.open(&value, "k", None).expect("opens").token.secret(), original.secret());
    let mut forged = value.clone();
    forged[1] ^= 0xff;
    assert!(sealer.open(&forged, "k", None).is_none());
}

#[tokio::test]
async fn a_token_near_its_end_is_not_usable_by_others() {
    let sealer = Sealer::sealed(&key(1));
    // Issued 95 s ago for 100 s: 5 s left, under a tenth of its life.
    let old = Token::builder(AccessToken::new("old")).expires_in(Duration::from_secs(100)).build().expect("token");
    let wall_issued = std::time::SystemTime::now() - Duration::from_secs(95);
    let payload = StoredToken {
        t: "old".into(),
        i: unix_millis(wall_issued),
        e: Some(unix_millis(wall_issued + Duration::from_secs(100))),
        s: None,
    };
    let json = serde_json::to_vec(&payload).expect("json");
    let fingerprint = sealer.fingerprint(&old);
    let mut value = vec![PLAIN];
    value.extend_from_slice(&fingerprint.0);
    value.extend_from_slice(&json);
    let plain = Sealer { cipher: None, fingerprint_key: sealer.fingerprint_key.clone() };
    let opened = plain.open(&value, "k", None).expect("opens");
    assert!(!opened.usable);
}

#[tokio::test]
async fn an_expired_token_is_not_stored() {
    let sealer = Sealer::sealed(&key(1));
    let gone = Token::builder(AccessToken::new("t")).expires_in(Duration::ZERO).build().expect("token");
    assert!(sealer.seal(&gone, "k", Duration::from_secs(1)).is_none());
}

#[test]
fn the_key_is_redacted_and_checked() {
    assert_eq!(format!("{:?}", key(7)), "EncryptionKey([redacted])");
    let err = EncryptionKey::from_slice(&[1, 2, 3]).expect_err("short key");
    assert!(err.to_string().contains("32 bytes"));
}
