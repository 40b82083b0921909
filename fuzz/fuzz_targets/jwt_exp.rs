//! Any text as an access token: an expiry or none, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = bearer_oauth2::provider_kit::jwt_expiry(text);
    }
});
