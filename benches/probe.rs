//! Runs one hot path a given number of times, for instruction counting under callgrind:
//! `probe <scenario> <iterations>`. See `benches/callgrind.sh`.

mod common;

use std::hint::black_box;

use common::HotPaths;

fn main() {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().unwrap_or_default();
    let iterations: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    if scenario.is_empty() || scenario == "--bench" {
        // `cargo bench` runs every bench target; this one only makes sense under callgrind.sh.
        return;
    }
    let hot = HotPaths::new();
    for _ in 0..iterations {
        match scenario.as_str() {
            "token-ours" => drop(black_box(hot.token_ours())),
            "token-fresh" => drop(black_box(hot.token_ours_fresh())),
            "token-floor" => drop(black_box(hot.token_floor())),
            "token-mutex" => drop(black_box(hot.token_mutex())),
            "token-rwlock" => drop(black_box(hot.token_rwlock())),
            "chain-none" => {
                black_box(HotPaths::request(&hot.chain_none));
            }
            "chain-floor" => {
                black_box(HotPaths::request(&hot.chain_floor));
            }
            "chain-bearer" => {
                black_box(HotPaths::request(&hot.chain_bearer));
            }
            "peer-none" => {
                black_box(HotPaths::request_peer(&hot.peer_none));
            }
            "peer-auth" => {
                black_box(HotPaths::request_peer(&hot.peer_auth));
            }
            other => {
                eprintln!("unknown scenario {other}");
                std::process::exit(2);
            }
        }
    }
}
