//! Any status and bytes as a token endpoint's error answer: a rejection, never a panic.
#![no_main]

use bearer_oauth2::provider_kit::rejection_from_response;
use http::{HeaderMap, StatusCode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data.split_first() {
        Some((first, rest)) => (400 + u16::from(*first), rest),
        None => (500, data),
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let _ = rejection_from_response(status, &HeaderMap::new(), body, &["secret"]);
});
