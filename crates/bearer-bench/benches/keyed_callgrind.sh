#!/usr/bin/env bash
# Instructions per keyed hit, under callgrind, at 10 and at 100,000 keys, next to the single
# cache's hit. Callgrind counts only inside the probe's measured loop (--toggle-collect), so
# building the caches and warming 100,000 keys (hashed with a per-process random seed) is not
# counted; each scenario still runs at two iteration counts and the difference over the
# difference in iterations cancels the loop's own entry and exit out.
#
#   bash crates/bearer-bench/benches/keyed_callgrind.sh            # N1=20000 N2=40000
#   PROBE=/path/to/keyed_probe bash .../keyed_callgrind.sh          # a probe built elsewhere
set -euo pipefail
cd "$(dirname "$0")/../../.."
N1=${N1:-20000}
N2=${N2:-40000}

if ! command -v valgrind >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq valgrind) >/dev/null
fi

probe=${PROBE:-$(cargo bench -p bearer-bench --bench keyed_probe --no-run --message-format=json 2>/dev/null \
  | sed -n 's/.*"executable":"\([^"]*keyed_probe[^"]*\)".*/\1/p' | tail -n 1)}
[ -x "$probe" ] || { echo "could not build the keyed probe" >&2; exit 1; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

instructions() { # scenario keys iterations -> total instructions
  valgrind --tool=callgrind --toggle-collect='*measured_loop*' --callgrind-out-file="$out/cg" "$probe" "$1" "$2" "$3" >/dev/null 2>"$out/log" \
    || { echo "the probe failed: $*" >&2; tail -n 20 "$out/log" >&2; exit 1; }
  sed -n 's/^==[0-9]*== Collected : \([0-9]*\).*/\1/p' "$out/log"
}
per_op() { # scenario keys
  local a b
  a=$(instructions "$1" "$2" "$N1") || exit 1
  b=$(instructions "$1" "$2" "$N2") || exit 1
  echo $(( (b - a) / (N2 - N1) ))
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }

single=$(per_op single 10) || exit 1
echo "instructions per hit (callgrind, N1=$N1, N2=$N2)"
echo
echo "| scenario | keys | instr/op | vs single-cache hit |"
echo "|---|---:|---:|---:|"
echo "| single: TokenCache::try_token() | 1 | $single | 1.00 |"
for keys in 10 100000; do
  for s in keyed-same keyed-same-equal-key keyed-rotate keyed-token-rotate; do
    n=$(per_op "$s" "$keys") || exit 1
    echo "| $s | $keys | $n | $(ratio "$n" "$single") |"
  done
done

echo
echo "| middleware request (canned 200), rotating keys | keys | instr/request | keyed overhead |"
echo "|---|---:|---:|---:|"
for keys in 10 100000; do
  a=$(per_op chain-single "$keys") || exit 1
  b=$(per_op chain-keyed "$keys") || exit 1
  echo "| BearerAuth, one cache / per-request Tenant | $keys | $a / $b | $(( b - a )) |"
done
