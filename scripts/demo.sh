#!/usr/bin/env bash
# The main job on the examples: discover this machine, compile every intent
# for it, run the native code against the reference interpreter, show a
# hardware branch decided two ways, the logic atlas, and the search for the
# fastest proven variant on this machine (hot path first, a speculative tier
# and its run-time feedback), GPU kernels for a probed GPU, and driver stubs
# for the devices the probe lists.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=out/demo
mkdir -p "$OUT"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. Probe this machine"
atlas probe -o "$OUT/probe.json"

step "2. Compile every intent for it (the default variant; the search comes in step 6)"
for f in intents/*.ax; do
    atlas compile "$f" --hw "$OUT/probe.json" --no-search -o "$OUT/$(basename "$f" .ax)"
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

# The search's archive for the demo is its own, so every run shows a search.
export ATLAS_ARCHIVE="$OUT/archive.sqlite3"
rm -f "$ATLAS_ARCHIVE"

step "6. The search: the fastest proven variant, measured on this machine"
atlas compile intents/inet_checksum.ax --hw "$OUT/probe.json" --profile intents/profiles/inet_checksum.yaml \
    --budget 20 -o "$OUT/inet-searched"
native=$(atlas run "$OUT/inet-searched" inet_checksum 750 random:3)
reference=$(atlas run intents/inet_checksum.ax --hw "$OUT/probe.json" inet_checksum 750 random:3)
echo "   searched variant: $native   interpreter: $reference"
[ "$native" = "$reference" ] || { echo "   MISMATCH"; exit 1; }
atlas compile intents/tiered.ax --hw "$OUT/probe.json" --profile intents/profiles/tiered.yaml \
    --budget 20 -o "$OUT/tiered-searched"
echo "-- the same compile again: the archive holds the champion, nothing is measured"
time atlas compile intents/tiered.ax --hw "$OUT/probe.json" --profile intents/profiles/tiered.yaml \
    --budget 20 -o "$OUT/tiered-searched"
echo "-- what was tried (atlas variants), fastest first"
atlas variants intents/tiered.ax --hw "$OUT/probe.json" > "$OUT/variants.txt"
head -8 "$OUT/variants.txt"

step "7. A speculative tier counts its fallbacks; the counts steer the next search"
atlas compile intents/tiered.ax --hw "$OUT/probe.json" --profile intents/profiles/tiered.yaml \
    --pin tiered=tier64 -o "$OUT/tiered-tier64"
python3 - "$OUT" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(7)
hot = rng.integers(21, 1000, 64 * 256, dtype=np.int32)     # every element on the hot path
mixed = hot.copy(); mixed[::16] = -7                       # production: one in 16 is cold
np.save(f"{sys.argv[1]}/hot.npy", hot); np.save(f"{sys.argv[1]}/mixed.npy", mixed)
PY
rm -f "$OUT/feedback.json"
atlas run "$OUT/tiered-tier64" tiered 16384 "@$OUT/hot.npy" zeros --feedback "$OUT/feedback.json" > /dev/null
echo "-- after a run on hot data:   $(tr -d ' \n' < "$OUT/feedback.json")"
atlas run "$OUT/tiered-tier64" tiered 16384 "@$OUT/mixed.npy" zeros --feedback "$OUT/feedback.json" > /dev/null
echo "-- after a run on mixed data: $(tr -d ' \n' < "$OUT/feedback.json")"
atlas compile intents/tiered.ax --hw "$OUT/probe.json" --profile intents/profiles/tiered.yaml \
    --feedback "$OUT/feedback.json" --budget 20 -o "$OUT/tiered-fed-back"

step "8. Beyond the rules: the superoptimiser searches, proves and learns"
# Its learned rules for the demo are their own too.
export ATLAS_LEARNED="$OUT/learned-rules.yaml"
rm -f "$ATLAS_LEARNED"
atlas superopt intents/bits/naive.ax --hw "$OUT/probe.json" \
    --function p01_clear_lowest_one --function p23_popcount --budget 20
echo "-- the learned rules, each proven again whenever it is loaded:"
grep -E '^- name:|^  rhs:' "$ATLAS_LEARNED"
echo "-- a later compile gets them by saturation, without searching, wherever the same logic"
echo "   appears: here in another file, under other names"
cat > "$OUT/elsewhere.ax" <<'AX'
// The naive loop of p01_clear_lowest_one, written again somewhere else.
fn drop_lowest_bit(mask: u32) -> u32 {
    for k in 0u32..32 {
        if (mask >> k) & 1 == 1 {
            return mask & ~(1u32 << k);
        }
    }
    return mask;
}
AX
atlas compile "$OUT/elsewhere.ax" --hw "$OUT/probe.json" --no-search -o "$OUT/elsewhere" --dump verified \
    | sed -n '/^fn drop_lowest_bit/,/^}/p'
for x in 0 1 96 4294967295; do
    native=$(atlas run "$OUT/elsewhere" drop_lowest_bit "$x")
    reference=$(atlas run "$OUT/elsewhere.ax" --hw "$OUT/probe.json" drop_lowest_bit "$x")
    printf '   drop_lowest_bit(%s): native %s, interpreter %s\n' "$x" "$native" "$reference"
    [ "$native" = "$reference" ] || { echo "   MISMATCH"; exit 1; }
done
echo "-- atlas explain names the learned rule among those that merged the class:"
atlas explain "$OUT/elsewhere.ax" --hw "$OUT/probe.json" | grep 'learned-'
echo "(the whole benchmark: atlas bench-bits)"

step "9. GPU kernels: compiled and checked here, for a GPU this machine does not have"
probe_gpus=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1])).get('gpus', [])))" "$OUT/probe.json")
echo "(this machine's probe lists $probe_gpus GPU(s); the probe of an H100 machine stands in for one)"
atlas compile intents/saxpy.ax intents/dot_i32.ax intents/sum_f32.ax intents/matmul.ax \
    intents/prefix_sum.ax intents/argmax_i32.ax --backend nvptx \
    --hw tests/fixtures/probe-h100.json -o "$OUT/gpu"
echo "-- the kernels in the PTX (each fold has two, the scan three):"
grep -E '^\.visible \.entry' "$OUT/gpu/kernels.ptx"
if command -v ptxas >/dev/null 2>&1; then
    ptxas -arch=sm_90 "$OUT/gpu/kernels.ptx" -o "$OUT/gpu/kernels.cubin" && echo "   ptxas -arch=sm_90: assembles"
fi
echo "(run on a GPU: docs/gpu.md)"

step "10. Driver stubs: C for exactly the devices this machine has"
atlas compile intents/devices/*.ax --hw "$OUT/probe.json" -o "$OUT/drivers"
echo "-- the same descriptions for a machine with an e1000 and no RTL8139 (a fixture probe):"
atlas compile intents/devices/*.ax --hw tests/fixtures/probe-popcnt.json -o "$OUT/drivers-e1000"
echo "   written: $(cd "$OUT/drivers-e1000" && ls | tr '\n' ' ')"
for c in "$OUT"/drivers/*.c "$OUT"/drivers-e1000/*.c; do
    [ -e "$c" ] || continue
    gcc -std=c11 -Wall -Wextra -Werror -c "$c" -o /dev/null && echo "   gcc -std=c11 -Wall -Wextra -Werror $c: no warnings"
done
echo "-- e1000 reset on simulated registers: the interpreter and the compiled stub, access by access"
python3 tests/stub_harness.py intents/devices/*.ax --hw tests/fixtures/probe-popcnt.json --op e1000.reset
echo "(every operation of every device, under five register behaviours: tests/test_stubs.py)"

step "11. Bare metal: a machine boots, discovers its devices, and gets only their drivers"
if command -v qemu-system-x86_64 >/dev/null 2>&1; then
    NIC="-device rtl8139,netdev=n0,mac=52:54:00:ab:cd:ef -netdev user,id=n0"
    python3 -c "import sys; open(sys.argv[1], 'wb').write(bytes(range(256)) * 2 + bytes((1 << 20) - 512))" "$OUT/disk.img"
    DISK="-device virtio-blk-pci,disable-legacy=on,drive=d0 -drive file=$OUT/disk.img,if=none,id=d0,format=raw"
    echo "-- stage 1: the discovery kernel under QEMU, its serial log read as this machine's probe"
    atlas boot discover --device "$NIC" --device "$DISK" -o "$OUT/bare.json" --log "$OUT/serial.log"
    echo "-- stage 2: the stubs of exactly these devices, a runtime and a driver program, one kernel"
    atlas boot build --hw "$OUT/bare.json" -o "$OUT/kernel.elf"
    echo "   stubs in the image: $(nm "$OUT/kernel.elf" | awk '$2 == "T" {print $3}' | grep -oE '^(e1000|rtl8139|virtio_(net|blk|rng))_' | sed 's/_$//' | sort -u | tr '\n' ' ')"
    atlas boot run "$OUT/kernel.elf" --device "$NIC" --device "$DISK"
else
    echo "(QEMU is not installed: apt-get install qemu-system-x86, then make demo again)"
fi

step "12. The compute market, simulated: units bidding with selectors that are intent functions"
echo "-- the tiled Cholesky (364 tasks) on 8 CPU cores and a GPU, every scheduler on the same draw:"
atlas market simulate workloads/cholesky-hetero.yaml --seed 1 --trace "$OUT/market-trace.json" | sed -n '1,9p'
echo "   timeline for chrome://tracing or ui.perfetto.dev: $OUT/market-trace.json"
echo "-- the selector each class bids with (an intent function, checked and compiled by Atlas):"
atlas market selectors workloads/cholesky-hetero.yaml | sed -n '1,6p'
echo "(evolve them on the run's records: atlas market evolve workloads/cholesky-hetero.yaml)"

step "13. The compute market on this machine: a daemon per core, learning its selector as it runs"
atlas market run workloads/cholesky-cpu.yaml --policy market
