#!/usr/bin/env bash
# The main job on the examples: discover this machine, compile every intent
# for it, run the native code against the reference interpreter, and show a
# hardware branch decided two ways.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=out/demo
mkdir -p "$OUT"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. Probe this machine"
atlas probe -o "$OUT/probe.json"

step "2. Compile every intent for it"
for f in intents/*.ax; do
    atlas compile "$f" --hw "$OUT/probe.json" -o "$OUT/$(basename "$f" .ax)"
done

step "3. Run native code and the reference interpreter on the same inputs"
run_both() {   # name, function, args...
    local name=$1; shift
    printf -- '-- %s %s\n' "$1" "${*:2}"
    native=$(atlas run "$OUT/$name" "$@")
    reference=$(atlas run "intents/$name.ax" --hw "$OUT/probe.json" "$@")
    printf '   native:      %s\n' "$(echo "$native" | tr '\n' ' ')"
    if [ "$native" = "$reference" ]; then echo "   interpreter: same"; else
        printf '   interpreter: %s\n   MISMATCH\n' "$reference"; exit 1; fi
}
run_both saxpy saxpy 4 2.0 [1,2,3,4] [10,20,30,40]
run_both dot_i32 dot_i32 1000 random:1 random:2
run_both inet_checksum inet_checksum 750 random:3
run_both popcount_total popcount_total 1000 random:4
run_both tiered tiered 8 [-7,0,10,11,20,21,1000,2147483647] zeros
run_both classify classify 5 [443,443,53,80,443] [1400,200,60,1500,1400] [0,0,0,0,128] zeros
run_both brighten brighten 6 [0,100,200,215,216,255] 40 zeros
run_both matmul matmul 2 [1,2,3,4] [5,6,7,8] zeros
run_both prefix_sum prefix_sum 6 [1,2,3,4,5,2147483647] zeros
run_both argmax_i32 argmax_i32 1000 random:5
run_both hw_branches bitcount 0xF0F0F0F0
run_both hw_branches leading_zeros 1
run_both hw_branches tile_edge

step "4. Install itself: one intent, two machines"
for p in probe-popcnt probe-nopopcnt; do
    atlas compile intents/popcount_total.ax --hw "tests/fixtures/$p.json" -o "$OUT/popcount-$p" --dump asm > "$OUT/popcount-$p.s"
    printf '%-16s popcnt instructions: %s   bit-slicing constant 0x5555555555555555: %s\n' "$p" \
        "$(grep -c 'popcnt' "$OUT/popcount-$p.s" || true)" \
        "$(grep -ci '6148914691236517205\|0x5555555555555555' "$OUT/popcount-$p.s" || true)"
done
echo "(the branch not taken leaves nothing behind: see $OUT/popcount-*.s)"

step "5. The logic atlas: cheaper forms, each proven equal by Z3 before it is used"
atlas explain intents/naive.ax --hw "$OUT/probe.json" | sed -n '/^fn split_index/,/^fn clamp/p' | sed '$d'
echo "(all intents as one atlas: atlas explain intents/*.ax)"
