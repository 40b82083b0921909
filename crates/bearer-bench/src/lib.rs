//! Nothing to see here: this package holds reqwest-bearer's benchmarks (`benches/`) and the
//! peer crates they compare against. Run them with `cargo bench -p bearer-bench` and
//! `bash crates/bearer-bench/benches/callgrind.sh`; BENCHMARKS.md has the figures.
