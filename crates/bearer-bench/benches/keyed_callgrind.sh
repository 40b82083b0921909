#!/usr/bin/env bash
# Instructions per keyed hit, under callgrind, at 10 and at 100,000 keys, next to the single
# cache's hit. One probe process per key count runs every scenario in turn over one set-up;
# callgrind counts only inside the probe's measured loop (--toggle-collect) and dumps after
# each scenario's loop (--dump-after), so building the caches and warming 100,000 keys (hashed
# with a per-process random seed, so never the same twice) is not counted, and two runs agree.
# The probe runs each scenario's loop twice, one dump each; only the second is read, so the
# count is the steady state's (not the first calls' one-off work after the set-up). The
# second run carries on from the first (calls N to 2N-1), so at 100,000 keys it looks up
# keys the first run did not.
# Each figure is the loop's instructions over its iterations, the loop's own few instructions
# included (the `loop` row).
#
#   bash crates/bearer-bench/benches/keyed_callgrind.sh             # N=10000 iterations
#   PROBE=/path/to/keyed_probe bash .../keyed_callgrind.sh           # a probe built elsewhere
set -euo pipefail
cd "$(dirname "$0")/../../.."
N=${N:-10000}
KEYS=${KEYS:-"10 100000"}

if ! command -v valgrind >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq valgrind) >/dev/null
fi

probe=${PROBE:-$(cargo bench -p bearer-bench --bench keyed_probe --no-run --message-format=json 2>/dev/null \
  | sed -n 's/.*"executable":"\([^"]*keyed_probe[^"]*\)".*/\1/p' | tail -n 1)}
[ -x "$probe" ] || { echo "could not build the keyed probe" >&2; exit 1; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# The order the probe's `all` runs them in (SCENARIOS in keyed_probe.rs).
scenarios=(loop single keyed-same keyed-same-equal-key keyed-rotate single-token keyed-token-rotate chain-single chain-keyed)
declare -A per_op
for keys in $KEYS; do
  rm -f "$out"/cg*
  valgrind --tool=callgrind --toggle-collect=keyed_probe::measured_loop --dump-after=keyed_probe::measured_loop \
    --callgrind-out-file="$out/cg" "$probe" all "$keys" "$N" >/dev/null 2>"$out/log" \
    || { echo "the probe failed at $keys keys" >&2; tail -n 20 "$out/log" >&2; exit 1; }
  for i in "${!scenarios[@]}"; do
    total=$(sed -n 's/^summary: //p' "$out/cg.$((2 * i + 2))")
    per_op[${scenarios[$i]},$keys]=$(( (total + N / 2) / N ))
  done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }

echo "instructions per hit (callgrind, N=$N)"
echo
echo "| scenario | keys | instr/op | vs single-cache hit |"
echo "|---|---:|---:|---:|"
for keys in $KEYS; do
  single=${per_op[single,$keys]}
  echo "| loop alone (in every row) | $keys | ${per_op[loop,$keys]} | |"
  echo "| single: TokenCache::try_token() | $keys | $single | 1.00 |"
  for s in keyed-same keyed-same-equal-key keyed-rotate; do
    echo "| $s | $keys | ${per_op[$s,$keys]} | $(ratio "${per_op[$s,$keys]}" "$single") |"
  done
done

echo
echo "| token(), polled once | keys | single-cache token() | keyed-token-rotate | ratio |"
echo "|---|---:|---:|---:|---:|"
for keys in $KEYS; do
  a=${per_op[single-token,$keys]}
  b=${per_op[keyed-token-rotate,$keys]}
  echo "| token() | $keys | $a | $b | $(ratio "$b" "$a") |"
done

echo
echo "| middleware request (canned 200), rotating keys | keys | instr/request | keyed overhead |"
echo "|---|---:|---:|---:|"
for keys in $KEYS; do
  a=${per_op[chain-single,$keys]}
  b=${per_op[chain-keyed,$keys]}
  echo "| BearerAuth, one cache / per-request Tenant | $keys | $a / $b | $(( b - a )) |"
done
