#!/usr/bin/env python3
"""Prepare what the GPU machine needs for scripts/gpu_check.py (run here,
where the compiler and its prover are installed; the GPU machine has neither).

    python3 scripts/gpu_bundle.py [BUNDLE]        # default build/gpu-bundle

For each benchmark intent, BUNDLE/<intent>/ holds the nvptx artefact
compiled for the H100 probe (kernels.ptx, manifest.json, variants/), Atlas's
CPU library of the same intent (cpu/), the
golden cases (golden.json: the interpreter's inputs and outputs) and the
profile (profile.yaml) when there is one.  BUNDLE/bundle.json says what was
built from which commit, and why an intent is missing if one failed.
The folder is replaced whole, so a stale artefact never travels.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from atlas.machine.probe import Probe

ROOT = Path(__file__).resolve().parent.parent
INTENTS = ("saxpy", "brighten", "dot_i32", "sum_f32", "matmul", "prefix_sum")
PROBE = ROOT / "tests" / "fixtures" / "probe-h100.json"


def _commit() -> str | None:
    try:
        run = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True, timeout=10
        )
        return run.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def bundle_intent(stem: str, probe: Probe, dest: Path) -> dict:
    """Compile one intent into dest/<stem>/ and copy its golden cases and profile beside it."""
    from atlas.pipeline import compile_files

    out = dest / stem
    t0 = time.perf_counter()
    compiled = compile_files(
        [ROOT / "intents" / f"{stem}.ax"], probe, out, backend="nvptx", backend_options={"variants": True}
    )
    # Atlas's CPU library of the same intent, for the CPU-or-GPU choice; built
    # for the probe's CPU (the fixture's is a Haswell: AVX2, which any x86_64
    # server of the last decade has; the loader refuses, saying why, where not)
    compile_files([ROOT / "intents" / f"{stem}.ax"], probe, out / "cpu", backend="x86_64")
    golden = ROOT / "tests" / "golden" / f"{stem}.json"
    if not golden.exists():
        raise FileNotFoundError(f"{golden} is missing: the GPU machine would have nothing to compare with")
    shutil.copyfile(golden, out / "golden.json")
    profile = ROOT / "intents" / "profiles" / f"{stem}.yaml"
    if profile.exists():
        shutil.copyfile(profile, out / "profile.yaml")
    fns = {name: entry.to_json() for name, entry in compiled.manifest.functions.items()}
    return {
        "ok": True,
        "seconds": round(time.perf_counter() - t0, 1),
        "functions": {
            name: {
                "gpu": (e.get("gpu") or {}).get("plan"),
                "variants": len(json.loads((out / "variants" / f"{name}.json").read_text()))
                if (out / "variants" / f"{name}.json").exists()
                else 0,
                **({"gpu_why_not": e["gpu_why_not"]} if e.get("gpu") is None else {}),
            }
            for name, e in fns.items()
        },
    }


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    from atlas.machine.probe import load_probe

    dest = Path(argv[0]).resolve() if argv else ROOT / "build" / "gpu-bundle"
    probe = load_probe(PROBE)
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    report = {
        "format": "atlas-gpu-bundle/1",
        "commit": _commit(),
        "probe": str(PROBE.relative_to(ROOT)),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "intents": {},
    }
    for stem in INTENTS:
        print(f"bundling {stem} ...", flush=True)
        try:
            report["intents"][stem] = bundle_intent(stem, probe, tmp)
        except Exception as exc:  # one intent that fails must not cost the others
            shutil.rmtree(tmp / stem, ignore_errors=True)
            report["intents"][stem] = {
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=4),
            }
            print(f"  FAILED: {type(exc).__name__}: {exc}", flush=True)
    (tmp / "bundle.json").write_text(json.dumps(report, indent=1) + "\n")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    built = [s for s, r in report["intents"].items() if r["ok"]]
    size = sum(f.stat().st_size for f in dest.rglob("*") if f.is_file())
    print(
        f"wrote {dest} ({len(built)}/{len(INTENTS)} intents, {size / 2**20:.1f} MiB); on the GPU machine:\n"
        f"  python3 scripts/gpu_check.py {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest} OUTDIR"
    )
    return 0 if built else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
