#!/usr/bin/env bash
# Instructions per operation on the hot paths, under callgrind: repeatable on a noisy machine.
# Each scenario runs at two iteration counts; the difference divided by the difference in
# iterations cancels set-up (building clients, warming the cache) out.
#
#   bash crates/bearer-bench/benches/callgrind.sh            # N1=20000 N2=40000
#   N1=5000 N2=10000 bash crates/bearer-bench/benches/callgrind.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
N1=${N1:-20000}
N2=${N2:-40000}

if ! command -v valgrind >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq valgrind) >/dev/null
fi

probe=$(cargo bench -p bearer-bench --bench probe --no-run --message-format=json 2>/dev/null \
  | sed -n 's/.*"executable":"\([^"]*probe[^"]*\)".*/\1/p' | tail -n 1)
[ -x "$probe" ] || { echo "could not build the probe" >&2; exit 1; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

instructions() { # scenario iterations -> total instructions
  valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$probe" "$1" "$2" >/dev/null 2>"$out/log"
  sed -n 's/^==[0-9]*== Collected : \([0-9]*\).*/\1/p' "$out/log"
}

declare -A per_op
scenarios=(token-ours token-try token-many token-floor token-mutex token-rwlock chain-none chain-floor chain-bearer peer-none peer-auth)
for s in "${scenarios[@]}"; do
  a=$(instructions "$s" "$N1")
  b=$(instructions "$s" "$N2")
  per_op[$s]=$(( (b - a) / (N2 - N1) ))
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
overhead() { echo $(( per_op[$1] - per_op[$2] )); }

echo "instructions per operation (callgrind, N1=$N1, N2=$N2)"
echo
echo "| token() on a cache hit | instr/op | vs ArcSwap floor |"
echo "|---|---:|---:|"
for s in token-ours token-try token-many token-floor token-mutex token-rwlock; do
  echo "| $s | ${per_op[$s]} | $(ratio "${per_op[$s]}" "${per_op[token-floor]}") |"
done
echo
echo "token() / mutex = $(ratio "${per_op[token-ours]}" "${per_op[token-mutex]}"); try_token() / mutex = $(ratio "${per_op[token-try]}" "${per_op[token-mutex]}")"
echo
ours=$(overhead chain-bearer chain-none)
floor=$(overhead chain-floor chain-none)
peer=$(overhead peer-auth peer-none)
echo "| middleware | instr/request | overhead over its no-auth chain | vs floor overhead |"
echo "|---|---:|---:|---:|"
echo "| (a) no auth | ${per_op[chain-none]} | 0 | |"
echo "| (b) floor: insert one prebuilt header | ${per_op[chain-floor]} | $floor | 1.00 |"
echo "| (c) BearerAuth, warm cache | ${per_op[chain-bearer]} | $ours | $(ratio "$ours" "$floor") |"
echo "| (d) reqwest-auth 1.0.0 (own chain: ${per_op[peer-none]}) | ${per_op[peer-auth]} | $peer | $(ratio "$peer" "$floor") |"
echo
echo "BearerAuth overhead / reqwest-auth overhead = $(ratio "$ours" "$peer")"
