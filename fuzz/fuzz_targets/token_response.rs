//! Any bytes as a token endpoint's success body: parsed or refused, never a panic.
#![no_main]

use bearer_oauth2::provider_kit::TokenResponse;
use bearer_oauth2::DEFAULT_UNKNOWN_LIFETIME;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = TokenResponse::parse(data) {
        let _ = parsed.into_token(DEFAULT_UNKNOWN_LIFETIME);
    }
});
