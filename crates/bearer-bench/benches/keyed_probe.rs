//! Runs one keyed hot path a given number of times, for instruction counting under
//! callgrind: `keyed_probe <scenario> <keys> <iterations>`. See `keyed_callgrind.sh`.
//!
//! Scenarios: `single` (one `TokenCache::try_token()`), `keyed-same` (`KeyedTokenCache::try_token`
//! on one key, looked up with a clone of the key it was created with),
//! `keyed-same-equal-key` (the same, with an equal key of another allocation), `keyed-rotate` (each call on the next key, round the `<keys>` keys),
//! `keyed-token-rotate` (`KeyedTokenCache::token`, polled once, rotating), `chain-single`
//! and `chain-keyed` (one request through `BearerAuth` over one cache, or with per-request
//! `Tenant` keys, rotating; both requests carry the `Tenant`).

mod common;

use std::hint::black_box;

use common::keyed::KeyedHotPaths;

fn main() {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().unwrap_or_default();
    if scenario.is_empty() || scenario == "--bench" {
        // `cargo bench` runs every bench target; this one only makes sense under the script.
        return;
    }
    let keys: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10);
    let iterations: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let hot = KeyedHotPaths::new(keys);
    let equal_key = common::keyed::tenant(0);
    for i in 0..iterations {
        match scenario.as_str() {
            "single" => drop(black_box(hot.single_fresh())),
            "keyed-same" => drop(black_box(hot.keyed_fresh(0))),
            "keyed-same-equal-key" => drop(black_box(hot.keyed_fresh_equal_key(&equal_key))),
            "keyed-rotate" => drop(black_box(hot.keyed_fresh(black_box(i)))),
            "keyed-token-rotate" => drop(black_box(hot.keyed_token(black_box(i)))),
            "chain-single" => drop(black_box(hot.request_single(black_box(i)))),
            "chain-keyed" => drop(black_box(hot.request_keyed(black_box(i)))),
            other => {
                eprintln!("unknown scenario {other}");
                std::process::exit(2);
            }
        }
    }
}
