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

/// A plain value for a token issued `age` ago for `lifetime` (wall clock), and the sealer that
/// opens it.
fn stored(lifetime: Duration, age: Duration) -> (Sealer, Vec<u8>) {
    let sealer = Sealer::plain("k");
    let old = Token::builder(AccessToken::new("old")).expires_in(lifetime).build().expect("token");
    let wall_issued = std::time::SystemTime::now() - age;
    let payload = StoredToken {
        t: "old".into(),
        i: unix_millis(wall_issued),
        e: Some(unix_millis(wall_issued + lifetime)),
        s: None,
    };
    let json = serde_json::to_vec(&payload).expect("json");
    let mut value = vec![PLAIN];
    value.extend_from_slice(&sealer.fingerprint(&old).0);
    value.extend_from_slice(&json);
    (sealer, value)
}

#[tokio::test]
async fn a_token_near_its_end_is_not_usable_by_others() {
    // Issued 95 s ago for 100 s: 5 s left, under a tenth of its life.
    let (sealer, value) = stored(Duration::from_secs(100), Duration::from_secs(95));
    let opened = sealer.open(&value, "k", None).expect("opens");
    assert!(!opened.usable);
}

/// A token past its stale point under the cache's policy is never handed to another process,
/// whose cache would serve it for at least the minimum fetch interval: a 4 s token is stale in
/// its last second (the least hard margin), not only in its last tenth.
#[tokio::test]
async fn a_token_past_its_stale_point_is_not_usable_by_others() {
    let secs = Duration::from_secs;
    let ms = Duration::from_millis;
    // (lifetime, left, the life another process's cache is told: None, not handed over)
    for (lifetime, left, handed) in [
        (secs(4), ms(500), None),
        (secs(4), ms(1_000), None),
        // Stale in 500 ms, but any cache serves a token for at least 1 s.
        (secs(4), ms(1_500), None),
        (secs(4), ms(1_900), None),
        // Stale in 1 s: a cache told 2 s serves it for 1 s (a 1 s margin).
        (secs(4), secs(2), Some(secs(2))),
        (secs(4), secs(3), Some(secs(3))),
        (secs(3600), secs(29), None),
        // Stale in 1 s: told 31 s, a cache would serve it for 27.9 s (a 3.1 s margin); told
        // 2 s, for 1 s.
        (secs(3600), secs(31), Some(secs(2))),
        // A cache keeps the whole 30 s margin of a token told to live 300 s or more.
        (secs(3600), secs(300), Some(secs(300))),
        (secs(3600), secs(1_800), Some(secs(1_800))),
        // Shorter than the minimum fetch interval left: a cache would serve it for longer.
        (ms(1_500), ms(900), None),
    ] {
        let (sealer, value) = stored(lifetime, lifetime - left);
        let opened = sealer.open(&value, "k", Some(left)).expect("opens");
        assert_eq!(opened.usable, handed.is_some(), "{lifetime:?} token with {left:?} left");
        if let Some(handed) = handed {
            assert_eq!(opened.token.lifetime(), Some(handed), "{lifetime:?} token with {left:?} left");
        }
    }
}

/// Whatever is left of a shared token, the life another process's cache is told ends that
/// cache's serving of it by the token's own stale point, and is the longest that does (to the
/// millisecond).
#[tokio::test]
async fn another_process_serves_a_shared_token_until_its_own_stale_point_not_later() {
    let policy = bearer_core::RefreshPolicy::default();
    let ms = Duration::from_millis;
    for lifetime in [ms(4_000), ms(60_000), ms(400_000), ms(3_600_000)] {
        let stale_after = policy.stale_after(Some(lifetime)).expect("a stale point");
        for left in (1..=200).map(|step| lifetime * step / 200) {
            let (sealer, value) = stored(lifetime, lifetime - left);
            let opened = sealer.open(&value, "k", Some(left)).expect("opens");
            let stale_in = stale_after.saturating_sub(lifetime - left);
            let told = opened.token.lifetime().expect("a lifetime");
            let served_for = |life| policy.stale_after(Some(life)).expect("a stale point");
            if opened.usable {
                assert!(told <= left, "{lifetime:?} with {left:?} left: told {told:?}");
                assert!(served_for(told) <= stale_in, "{lifetime:?} with {left:?} left: served past its stale point");
                let longer = told + ms(1);
                assert!(
                    longer > left || served_for(longer) > stale_in,
                    "{lifetime:?} with {left:?} left: told too little"
                );
            } else {
                assert!(
                    stale_in < policy.min_fetch_interval() || left <= policy.min_fetch_interval(),
                    "{lifetime:?} with {left:?} left: not shared"
                );
            }
        }
    }
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
