//! Runs one hot path a given number of times, for instruction counting under callgrind:
//! `probe <scenario> <iterations>`. See `callgrind.sh` beside it.

mod common;

use std::hint::black_box;

use common::{HotPaths, Ours};

fn main() {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().unwrap_or_default();
    let iterations: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    if scenario.is_empty() || scenario == "--bench" {
        // `cargo bench` runs every bench target; this one only makes sense under callgrind.sh.
        return;
    }
    let hot = HotPaths::new();
    let ours = &hot.ours;
    for i in 0..iterations as usize {
        match scenario.as_str() {
            "token-ours" => drop(black_box(ours.token_ours())),
            "token-try" => drop(black_box(ours.token_ours_try())),
            "token-many" => drop(black_box(ours.token_many(i))),
            "token-floor" => drop(black_box(ours.token_floor())),
            "token-mutex" => drop(black_box(ours.token_mutex())),
            "token-rwlock" => drop(black_box(ours.token_rwlock())),
            "chain-none" => {
                black_box(Ours::request(&ours.chain_none));
            }
            "chain-floor" => {
                black_box(Ours::request(&ours.chain_floor));
            }
            "chain-bearer" => {
                black_box(Ours::request(&ours.chain_bearer));
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
