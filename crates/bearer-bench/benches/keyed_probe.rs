//! Runs one keyed hot path a given number of times, for instruction counting under
//! callgrind: `keyed_probe <scenario> <keys> <iterations>`, or `keyed_probe all <keys>
//! <iterations>` for every scenario in turn, in the order of [`SCENARIOS`], over one set-up
//! (warming 100,000 keys under callgrind takes minutes). See `keyed_callgrind.sh`, which
//! collects only inside [`measured_loop`] (`--toggle-collect`) and dumps after each call of it,
//! so building the caches and warming their keys (hashed with a per-process random seed, so
//! never the same twice) is not counted.
//!
//! Scenarios: `loop` (the loop alone, part of every other scenario's count), `single` (one `TokenCache::try_token()`), `keyed-same` (`KeyedTokenCache::try_token`
//! on one key, looked up with a clone of the key it was created with),
//! `keyed-same-equal-key` (the same, with an equal key of another allocation), `keyed-rotate`
//! (each call on the next key, round the `<keys>` keys), `single-token`
//! (`TokenCache::token`, polled once), `keyed-token-rotate` (`KeyedTokenCache::token`,
//! polled once, rotating), `chain-single` and `chain-keyed` (one
//! request through `BearerAuth` over one cache, or with per-request `Tenant` keys, rotating;
//! both requests carry the `Tenant`).

mod common;

use std::hint::black_box;

use common::keyed::KeyedHotPaths;
use reqwest_bearer::core::Tenant;

/// Every scenario, by name, in the order `all` runs them.
const SCENARIOS: [(&str, Scenario); 9] = [
    ("loop", Scenario::Loop),
    ("single", Scenario::Single),
    ("keyed-same", Scenario::KeyedSame),
    ("keyed-same-equal-key", Scenario::KeyedSameEqualKey),
    ("keyed-rotate", Scenario::KeyedRotate),
    ("single-token", Scenario::SingleToken),
    ("keyed-token-rotate", Scenario::KeyedTokenRotate),
    ("chain-single", Scenario::ChainSingle),
    ("chain-keyed", Scenario::ChainKeyed),
];

#[derive(Clone, Copy)]
enum Scenario {
    Loop,
    Single,
    KeyedSame,
    KeyedSameEqualKey,
    KeyedRotate,
    SingleToken,
    KeyedTokenRotate,
    ChainSingle,
    ChainKeyed,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_default();
    if name.is_empty() || name == "--bench" {
        // `cargo bench` runs every bench target; this one only makes sense under the script.
        return;
    }
    let scenarios: Vec<Scenario> = if name == "all" {
        SCENARIOS.iter().map(|(_, scenario)| *scenario).collect()
    } else if let Some((_, scenario)) = SCENARIOS.iter().find(|(known, _)| *known == name) {
        vec![*scenario]
    } else {
        eprintln!("unknown scenario {name}");
        std::process::exit(2);
    };
    let keys: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10);
    let iterations: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let hot = KeyedHotPaths::new(keys);
    let equal_key = common::keyed::tenant(0);
    for scenario in scenarios {
        // Twice: the script counts only the second run (each run is a dump of its own), so
        // what one-off work the first calls do after the set-up (front-table entries replacing
        // those the set-up's sweeps made stale) is not counted, and the count is the steady
        // state's. The second run starts where the first stopped, so a rotating scenario looks
        // up keys the first run did not (with more keys than twice the iterations).
        measured_loop(&hot, scenario, &equal_key, 0..iterations);
        measured_loop(&hot, scenario, &equal_key, iterations..2 * iterations);
    }
}

/// The only code the script's callgrind runs count.
#[inline(never)]
fn measured_loop(hot: &KeyedHotPaths, scenario: Scenario, equal_key: &Tenant, calls: std::ops::Range<usize>) {
    for i in calls {
        match scenario {
            Scenario::Loop => drop(black_box(i)),
            Scenario::Single => drop(black_box(hot.single_fresh())),
            Scenario::KeyedSame => drop(black_box(hot.keyed_fresh(0))),
            Scenario::KeyedSameEqualKey => drop(black_box(hot.keyed_fresh_equal_key(equal_key))),
            Scenario::KeyedRotate => drop(black_box(hot.keyed_fresh(black_box(i)))),
            Scenario::SingleToken => drop(black_box(hot.single_token())),
            Scenario::KeyedTokenRotate => drop(black_box(hot.keyed_token(black_box(i)))),
            Scenario::ChainSingle => drop(black_box(hot.request_single(black_box(i)))),
            Scenario::ChainKeyed => drop(black_box(hot.request_keyed(black_box(i)))),
        }
    }
}
