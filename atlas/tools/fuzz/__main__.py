"""python -m atlas.tools.fuzz --seconds N --seed S --out DIR [--programs K] [--jobs J]

Runs a differential campaign: generated programs compiled in every flag
combination and compared with the interpreter.  Prints the figures, writes
DIR/summary.json and the reduced reproducers under DIR/findings/, and
exits 1 on any mismatch, compiler crash or hang."""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from ...files import write_atomic
from . import campaign as C


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m atlas.tools.fuzz", description=__doc__.split("\n\n")[1])
    ap.add_argument("--seconds", type=float, default=60.0, help="stop starting programs after this long")
    ap.add_argument("--seed", type=int, default=0, help="the first program's seed (then seed+1, ...)")
    ap.add_argument("--out", type=Path, required=True, help="folder for summary.json and findings/")
    ap.add_argument("--programs", type=int, default=None, help="at most this many programs")
    ap.add_argument("--jobs", type=int, default=max(1, C.cpu_count() - 1))
    ap.add_argument("--quick", action="store_true", help="only the default and no-atlas combinations")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds one program may take (a hang)")
    ap.add_argument("--memory-gb", type=float, default=6.0, help="address space per program's worker")
    ap.add_argument("--reduce-seconds", type=float, default=120.0, help="per finding")
    args = ap.parse_args(argv)

    from ...machine.probe import probe

    combos = C.QUICK if args.quick else C.all_combos()
    seeds = itertools.count(args.seed) if args.programs is None else range(args.seed, args.seed + args.programs)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    so_far = C.Result()

    def progress(seed: int, res: C.Result) -> None:
        flag = " MISMATCH" if res.mismatches else (" CRASH" if res.crashes else "")
        print(f"  seed {seed}: {res.calls} calls, {res.compiles} compiles{flag}", file=sys.stderr, flush=True)
        # the figures so far are on disk after every program: a long campaign
        # that is stopped keeps what it found
        so_far.add(res)
        write_summary(args.out / "summary.json", so_far, args.seed, combos, time.monotonic() - started, True)

    total = C.campaign(
        seeds,
        combos,
        probe(),
        jobs=args.jobs,
        timeout_s=args.timeout,
        deadline=started + args.seconds,
        findings=args.out / "findings",
        reduce_s=args.reduce_seconds,
        memory_gb=args.memory_gb,
        progress=progress,
    )
    seconds = round(time.monotonic() - started, 1)
    write_summary(args.out / "summary.json", total, args.seed, combos, seconds, total.interrupted)
    print(
        f"programs {total.programs}, calls compared {total.calls}, combos {len(total.combos)} "
        f"({total.compiles} compiles, {total.not_applicable} not applicable), "
        f"mismatches {len(total.mismatches)}, crashes {len(total.crashes) - total.hangs}, "
        f"hangs {total.hangs}, skipped (interpreter out of fuel) {total.out_of_fuel}, "
        f"rejected by the checker {total.rejected}, {seconds} s"
        + (" (interrupted: the programs under way were not counted)" if total.interrupted else "")
    )
    for m in total.mismatches:
        print(f"MISMATCH seed {m.seed} [{m.combo}] {m.call.describe()[:200]}: {m.detail} -> {m.reduced}")
    for c in total.crashes:
        print(f"{c.kind.upper()} seed {c.seed} [{c.combo}]: {c.detail[:300]} {c.reduced}")
    return 1 if total.failed else (130 if total.interrupted else 0)


def write_summary(path: Path, total: C.Result, seed: int, combos, seconds: float, partial: bool) -> None:
    summary = {
        "seed": seed,
        "seconds": round(seconds, 1),
        "partial": partial,
        "programs": total.programs,
        "calls": total.calls,
        "combos": sorted(total.combos),
        "combos_tried": [c.name for c in combos],
        "compiles": total.compiles,
        "not_applicable": total.not_applicable,
        "out_of_fuel": total.out_of_fuel,
        "rejected": total.rejected,
        "mismatches": [{**asdict(m), "call": m.call.describe()} for m in total.mismatches],
        "crashes": [asdict(c) for c in total.crashes if c.kind != "hang"],
        "hangs": [asdict(c) for c in total.crashes if c.kind == "hang"],
    }
    write_atomic(path, json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
