#!/usr/bin/env python3
"""Every GPU check in one run on the GPU machine (docs/gpu.md).

    python3 scripts/gpu_check.py BUNDLE OUTDIR       # BUNDLE from scripts/gpu_bundle.py

Writes into OUTDIR: results.json (everything, rewritten after every step,
so a run cut short still tells what it did), probe.json (the GPU machine's
probe), archive.sqlite3 (each variant's timing, the fastest crowned per
function, for `atlas compile --archive`) and log.txt (what was printed).

  a. probe the machine (python -m atlas.machine.probe) and take its fingerprint;
  b. correctness: every golden case through the default kernels and every
     tuning variant, bit for bit against the interpreter (a `reassoc fn`
     fold within the recursive-summation bound);
  c. fitness: each variant's launches timed with CUDA events on
     device-resident inputs at the benchmark size, after its outputs there
     were checked against an exact reference; recorded in the archive;
  d. baselines in the same run: a device-to-device copy, and CuPy's own
     dot / sum / matmul / cumsum; host<->device round trips at the
     profile's sizes, beside numpy on this machine's CPU.

Each step is caught on its own, so one failure never loses the rest.  Only
stdlib, numpy, CuPy, PyYAML and the atlas modules free of the compiler's
parser and prover are imported: that is all the GPU machine has.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # atlas, without installing it
sys.path.insert(0, str(ROOT / "tests"))  # golden.decode: the golden files' own reader

import golden  # noqa: E402


def _load_host():
    """backends/nvptx/host.py by its path: the package is not installed on
    the GPU machine, and its __init__ brings the compiler with it."""
    spec = importlib.util.spec_from_file_location("atlas_nvptx_host", ROOT / "backends" / "nvptx" / "host.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


host = _load_host()

EPS_F32 = 2.0**-24
REPS, WARMUP = 20, 3
BUDGET_S = 420  # no timing starts after this: the device tool allows 540 s in all
HARD_S = 500  # an intent's process still running then is stopped

# What each benchmark intent is timed on: the length parameters' value, other
# scalars, each array's range (floats: uniform [lo, hi); ints: [lo, hi);
# an array not named is zeros) and how many times each array crosses memory
# (for the bandwidth).
BENCH = {
    "saxpy": {
        "size": 2**27,
        "scalars": {"a": 1.5},
        "arrays": {"x": (-1.0, 1.0), "y": (-1.0, 1.0)},
        "traffic": {"x": 1, "y": 2},
    },
    "brighten": {
        "size": 2**27,
        "scalars": {"delta": 37},
        "arrays": {"pixels": (0, 256)},
        "traffic": {"pixels": 1, "out": 1},
    },
    "dot_i32": {"size": 2**27, "arrays": {"a": (-(2**15), 2**15), "b": (-(2**15), 2**15)}, "traffic": {"a": 1, "b": 1}},
    # integers -1, 0, 1 as floats: every partial sum is a small integer, so
    # every summation order gives the exact sum and the check is bit for bit
    "sum_f32": {"size": 2**27, "arrays": {"x": (-1, 2)}, "traffic": {"x": 1}},
    "matmul": {"size": 1024, "arrays": {"a": (-1.0, 1.0), "b": (-1.0, 1.0)}},
    "prefix_sum": {"size": 2**24, "arrays": {"x": (-(2**20), 2**20)}, "traffic": {"x": 1, "out": 1}},
}


# ---------------------------------------------------------------- comparing (pure)


def wrap_i32(x: int):
    """An integer wrapped to 32 bits, as np.int32 (how int32 arithmetic ends)."""
    return np.array([int(x) & 0xFFFFFFFF], np.uint32).view(np.int32)[0]


def same_bits(expected, got) -> bool:
    """Equal bit patterns (numpy or cupy arrays of one dtype and shape)."""
    if expected.shape != got.shape or expected.dtype != got.dtype:
        return False
    u = f"u{expected.dtype.itemsize}"
    return bool((expected.view(u) == got.view(u)).all())


def first_difference(expected, got) -> str:
    """Where two arrays of one shape first differ, for a person to read."""
    if expected.shape != got.shape or expected.dtype != got.dtype:
        return f"shape/dtype {got.shape} {got.dtype}, expected {expected.shape} {expected.dtype}"
    u = f"u{expected.dtype.itemsize}"
    i = int((expected.view(u) != got.view(u)).argmax())
    return f"first at [{i}]: got {got[i].item()!r}, expected {expected[i].item()!r}"


def reassoc_bound(n: int, abs_sum: float) -> float:
    """How far two float32 sums of the same n terms in different orders may
    lie apart: each is within gamma_n * sum|x_i| of the exact sum
    (gamma_n = n eps / (1 - n eps), the recursive-summation bound)."""
    if n * EPS_F32 >= 1:
        return float("inf")
    return 2 * (n * EPS_F32 / (1 - n * EPS_F32)) * abs_sum


def is_reassoc_fold(spec: dict, gpu: dict) -> bool:
    """A float fold the intent lets run in another order (its sum is not bit-exact)."""
    return bool(spec.get("reassoc")) and gpu.get("plan") == "fold"


def fold_terms(params: list[dict], args: list):
    """The terms a fold adds: its one read-only float array, or the
    elementwise product of several (a dot product's terms), as float64."""
    arrays = [
        np.asarray(a, np.float64)
        for p, a in zip(params, args)
        if "elem" in p and not p.get("mutable") and p["elem"] in ("f32", "f64")
    ]
    if not arrays:
        return None
    return np.prod(arrays, axis=0) if len(arrays) > 1 else arrays[0]


def compare_result(ret: str, expected, got, terms=None) -> tuple[bool, str]:
    """A returned value against the interpreter's: bit-exact, or with the
    terms of a reassociating fold, within reassoc_bound."""
    dt = host.dtype_of(ret)
    e, g = np.array([expected], dt), np.array([got], dt)
    if same_bits(e, g):
        return True, "bit-exact"
    if terms is not None:
        bound = reassoc_bound(len(terms), float(np.abs(terms).sum()))
        err = abs(float(g[0]) - float(e[0]))
        if err <= bound:
            return True, f"within the reassociation bound ({err:.3g} <= {bound:.3g})"
        return False, f"got {g[0]!r}, expected {e[0]!r}: error {err:.3g} > bound {bound:.3g}"
    return False, f"got {g[0]!r}, expected {e[0]!r}"


def check_case(f, spec: dict, gpu: dict, case: dict) -> list[str]:
    """Run one golden case through f (numpy in, arrays written in place);
    what differs from the interpreter's outputs ([] when nothing)."""
    args = [golden.decode(a) for a in case["args"]]
    terms = fold_terms(spec["params"], args) if is_reassoc_fold(spec, gpu) else None
    got = f(*args)
    problems = []
    if spec.get("ret") is not None:
        ok, detail = compare_result(spec["ret"], case["result"], got, terms)
        if not ok:
            problems.append(f"result: {detail}")
    names = [p["name"] for p in spec["params"]]
    for pname, enc in case["written"].items():
        want, have = golden.decode(enc), args[names.index(pname)]
        if not same_bits(want, have):
            problems.append(f"{pname}: {first_difference(want, have)}")
    return problems


def unique_cases(cases: list[dict], fname: str) -> list[dict]:
    """fname's golden cases, each once (the files repeat them per CPU probe)."""
    seen, out = set(), []
    for c in cases:
        key = json.dumps(c["args"], sort_keys=True)
        if c["function"] == fname and key not in seen:
            seen.add(key)
            out.append(c)
    return out


def run_cases(f, spec: dict, gpu: dict, cases: list[dict]) -> dict:
    """Every case through f: counts, and the first few failures with why."""
    passed, failures = 0, []
    for i, case in enumerate(cases):
        try:
            problems = check_case(f, spec, gpu, case)
        except Exception as exc:
            problems = [f"raised {type(exc).__name__}: {exc}"]
        if problems:
            if len(failures) < 5:
                failures.append({"case": i, "problems": problems})
        else:
            passed += 1
    return {"cases": len(cases), "passed": passed, "failures": failures}


# ---------------------------------------------------------------- figures (pure)


def median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def derive(
    median_ms: float, traffic_bytes: int = 0, copy: dict | None = None, cupy_ms: float | None = None, flops: float = 0
) -> dict:
    """The figures a timing gives beside its baselines from the same run."""
    d = {}
    if traffic_bytes:
        d["bandwidth_gbs"] = traffic_bytes / median_ms / 1e6
        if copy:
            d["copy_ratio"] = d["bandwidth_gbs"] / copy["gbs"]  # target >= 0.90
    if cupy_ms:
        d["cupy_ms_over_ours"] = cupy_ms / median_ms  # > 1: ours is faster
    if flops:
        d["gflops"] = flops / median_ms / 1e6
    return d


def trusted(golden_run: dict | None, verified: bool | None) -> bool:
    """Whether a timed variant may be crowned: every golden case passed, and
    its outputs at the timing size were exact (or, with no reference there,
    at least one golden case checked it)."""
    if golden_run is None or golden_run["passed"] != golden_run["cases"]:
        return False
    return verified is True or (verified is None and golden_run["cases"] > 0)


def pick_champion(rows: list[dict]) -> dict | None:
    """The fastest row that ran and was checked correct."""
    ok = [r for r in rows if r.get("status") == "ok" and r.get("median_ms") is not None]
    return min(ok, key=lambda r: r["median_ms"]) if ok else None


def genome_hash(genome: dict) -> str:
    return hashlib.sha256(json.dumps(genome, sort_keys=True).encode()).hexdigest()[:12]


def profile_sizes(profile: dict, fname: str) -> list[int]:
    """The sizes a profile (intents/profiles/*.yaml) gives fname, or []."""
    if not isinstance(profile, dict) or profile.get("function", fname) != fname:
        return []
    return [int(s) for s in profile.get("sizes") or [] if isinstance(s, int) and not isinstance(s, bool)]


def _fmt_n(n: int) -> str:
    return f"2^{n.bit_length() - 1}" if n > 1 and n & (n - 1) == 0 else str(n)


def summary_lines(data: dict) -> list[str]:
    """A short human summary of results.json."""
    lines = []
    m = data.get("machine") or {}
    if m:
        lines.append(
            f"GPU: {m.get('name')} (cc {m.get('compute_capability')}, {m.get('multiprocessors')} SMs, "
            f"driver {m.get('driver')})"
        )
    for key, entry in data.get("correctness", {}).items():
        d = entry.get("default", {})
        var = [v for k, v in entry.items() if k != "default"]
        lines.append(
            f"correct  {key}: default {d.get('passed')}/{d.get('cases')}"
            + (f", {len(var)} variants {sum(v['passed'] for v in var)}/{sum(v['cases'] for v in var)}" if var else "")
        )
    for key, t in data.get("timings", {}).items():
        champ = t.get("champion")
        if not champ:
            lines.append(f"timing   {key}: no champion")
            continue
        figs = [f"{champ['median_ms']:.3f} ms"]
        if t.get("default_ms"):
            figs.append(f"default {t['default_ms']:.3f} ms")
        if "copy_ratio" in champ:
            figs.append(f"{champ['bandwidth_gbs']:.0f} GB/s = {champ['copy_ratio']:.2f} of copy")
        if "cupy_ms_over_ours" in champ:
            figs.append(f"{t['baselines']['cupy']['name']} / ours = {champ['cupy_ms_over_ours']:.2f}")
        if "gflops" in champ:
            figs.append(f"{champ['gflops']:.0f} GFLOP/s")
        wrong = sum(r.get("verified") is False for r in t["variants"])
        lines.append(
            f"timing   {key} n={_fmt_n(t['n'])}: {champ['variant']} {', '.join(figs)} "
            f"({len(t['variants'])} timed" + (f", {wrong} WRONG at this size)" if wrong else ")")
        )
    errors = data.get("errors", [])
    lines.append(f"errors: {len(errors)}" + "".join(f"\n  {e['step']}: {e['error']}" for e in errors[:10]))
    return lines


def failed(data: dict) -> bool:
    """Whether anything went wrong: an error, a golden case that differed,
    or a variant whose outputs at the timing size were not exact."""
    bad_cases = any(v["passed"] != v["cases"] for e in data.get("correctness", {}).values() for v in e.values())
    wrong = any(r.get("verified") is False for t in data.get("timings", {}).values() for r in t["variants"])
    return bool(data.get("errors")) or bad_cases or wrong


# ---------------------------------------------------------------- the run's record


def _plain(v):
    """JSON for numpy values and paths."""
    if isinstance(v, np.generic):
        return v.item()
    return str(v)


class Run:
    """results.json and log.txt of one run; steps that catch their own failures."""

    def __init__(self, out: Path, budget_s: float = BUDGET_S, results: Path | None = None):
        self.out, self.budget_s, self.t0 = out, budget_s, time.monotonic()
        self.results = results or out / "results.json"
        out.mkdir(parents=True, exist_ok=True)
        self.data = {
            "format": "atlas-gpu-check/1",
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": None,
            "probe": None,
            "bundle": None,
            "correctness": {},
            "timings": {},
            "round_trip": {},
            "champions": {},
            "skipped": [],
            "errors": [],
            "steps": {},
        }
        self._log = open(out / "log.txt", "a", encoding="utf-8")

    def log(self, msg: str) -> None:
        print(msg, flush=True)
        self._log.write(msg + "\n")
        self._log.flush()

    def left(self) -> float:
        return self.budget_s - (time.monotonic() - self.t0)

    def skip(self, what: str, why: str) -> None:
        self.data["skipped"].append({"what": what, "why": why})
        self.log(f"  skipped {what}: {why}")

    def save(self) -> None:
        tmp = self.results.with_name(f".{self.results.name}.tmp")
        tmp.write_text(json.dumps(self.data, indent=1, default=_plain) + "\n")
        os.replace(tmp, self.results)

    def step(self, *names: str) -> "_Step":
        return _Step(self, "/".join(names))

    def finish(self) -> int:
        self.data["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        self.data["elapsed_s"] = round(time.monotonic() - self.t0, 1)
        self.save()
        self.log("\n" + "\n".join(summary_lines(self.data)))
        self._log.close()
        return 1 if failed(self.data) else 0

    def merge(self, part: dict) -> None:
        """Take in what an intent's own process found."""
        for key in PER_INTENT:
            if isinstance(self.data[key], list):
                self.data[key].extend(part.get(key) or [])
            else:
                self.data[key].update(part.get(key) or {})


PER_INTENT = ("correctness", "timings", "round_trip", "champions", "skipped", "errors", "steps")


class _Step:
    def __init__(self, run: Run, name: str):
        self.run, self.name = run, name

    def __enter__(self):
        self.t0 = time.monotonic()
        return self

    def __exit__(self, kind, exc, tb):
        self.run.data["steps"][self.name] = round(time.monotonic() - self.t0, 2)
        if exc is not None and isinstance(exc, Exception):  # never swallow Ctrl-C or SystemExit
            self.run.data["errors"].append(
                {
                    "step": self.name,
                    "error": f"{type(exc).__name__}: {exc}",
                    "traceback": traceback.format_exception(kind, exc, tb)[-3:],
                }
            )
            self.run.log(f"  ERROR in {self.name}: {type(exc).__name__}: {exc}")
        self.run.save()
        return exc is None or isinstance(exc, Exception)


# ---------------------------------------------------------------- the GPU steps


def probe_step(run: Run) -> str:
    """Probe in a child process (before this one starts CUDA); the fingerprint."""
    from atlas.machine.probe import fingerprint, load_probe

    path = run.out / "probe.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(
        [sys.executable, "-m", "atlas.machine.probe", "-o", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"python -m atlas.machine.probe exited {proc.returncode}: {proc.stderr.strip()[-800:]}")
    probe = load_probe(path)
    fp = fingerprint(probe)
    run.data["probe"] = {"file": "probe.json", "fingerprint": fp, "gpus": probe.to_json()["gpus"]}
    return fp


def machine_info(cp, probe: dict | None) -> dict:
    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    gpus = (probe or {}).get("gpus") or [{}]
    return {
        "name": name,
        "compute_capability": f"{props['major']}.{props['minor']}",
        "multiprocessors": props["multiProcessorCount"],
        "memory_bytes": props["totalGlobalMem"],
        "driver": gpus[0].get("driver_version"),
        "cuda_driver": cp.cuda.runtime.driverGetVersion(),
        "cuda_runtime": cp.cuda.runtime.runtimeGetVersion(),
        "cupy": cp.__version__,
    }


def _scalar_default(type_name: str):
    return True if type_name == "bool" else 1.5 if type_name.startswith("f") else 3


def _length_params(params: list[dict]) -> set[str]:
    from atlas.machine.backend import signature_of
    from atlas.search.profile import length_params

    return set(length_params(signature_of("f", {"params": params})))


def _sizes(params: list[dict], size: int, scalars: dict) -> tuple[dict, dict]:
    """Every scalar's value (length parameters = size) and every array's length."""
    lengths = _length_params(params)
    values = {
        p["name"]: size if p["name"] in lengths else scalars.get(p["name"], _scalar_default(p["type"]))
        for p in params
        if "type" in p
    }
    return values, host.lengths(params, values)


def device_inputs(cp, params: list[dict], bench: dict, seed: int = 2026) -> dict:
    """The timing inputs, drawn on the device with a fixed seed."""
    rs = cp.random.RandomState(seed)
    values, counts = _sizes(params, bench["size"], bench.get("scalars", {}))
    for p in params:
        if "elem" not in p:
            continue
        name, n, dt = p["name"], counts[p["name"]], host.dtype_of(p["elem"])
        lohi = bench.get("arrays", {}).get(name)
        if lohi is None:
            values[name] = cp.zeros(n, dt)
        elif isinstance(lohi[0], float):
            values[name] = rs.uniform(lohi[0], lohi[1], n, dtype=dt)
        else:
            wide = np.int32 if -(2**31) <= lohi[0] and lohi[1] <= 2**31 else np.int64
            values[name] = rs.randint(lohi[0], lohi[1], size=n, dtype=wide).astype(dt, copy=False)
    return values


def reference(cp, stem: str, v: dict) -> dict:
    """The exact outputs at the timing size, computed another way on the device:
    {"outputs": {array: values}, "result": value} (only what the function gives)."""
    if stem == "saxpy":  # two kernels, each rounding once: a*x then +y, no FMA
        t = v["x"] * np.float32(v["a"])
        t += v["y"]
        return {"outputs": {"y": t}}
    if stem == "brighten":
        wide = v["pixels"].astype(cp.uint16) + np.uint16(v["delta"])
        return {"outputs": {"out": cp.minimum(wide, 255).astype(cp.uint8)}}
    if stem == "dot_i32":  # exact in int64 (|sum| < 2^57), then wrapped to 32 bits
        return {"result": wrap_i32(int((v["a"].astype(cp.int64) * v["b"]).sum()))}
    if stem == "sum_f32":
        s = int(v["x"].astype(cp.int64).sum())
        if abs(s) >= 2**24:
            raise ValueError(f"the timing data's sum {s} is not exact in float32; no exact reference")
        return {"result": np.float32(s)}
    if stem == "matmul":  # the interpreter's order: s = 0; s += a[i,k] * b[k,j] for k ascending
        n = int(v["n"])
        a, b = v["a"].reshape(n, n), v["b"].reshape(n, n)
        c = cp.zeros((n, n), cp.float32)
        for k in range(n):
            c += a[:, k : k + 1] * b[k : k + 1, :]
        return {"outputs": {"c": c.ravel()}}
    if stem == "prefix_sum":
        wide = cp.cumsum(v["x"].astype(cp.int64)) & 0xFFFFFFFF
        return {"outputs": {"out": wide.astype(cp.uint32).view(cp.int32)}}
    raise KeyError(f"no reference for {stem}")


def cupy_baseline(cp, stem: str, v: dict):
    """CuPy's own version of the work: (name, thunk, its value as our function gives it)."""
    if stem == "dot_i32":
        return "cupy.dot", lambda: cp.dot(v["a"], v["b"]), lambda r: {"result": wrap_i32(int(r))}
    if stem == "sum_f32":
        return "cupy.sum", lambda: cp.sum(v["x"]), lambda r: {"result": np.float32(float(r))}
    if stem == "matmul":
        n = int(v["n"])
        a, b = v["a"].reshape(n, n), v["b"].reshape(n, n)
        return "cupy.matmul", lambda: cp.matmul(a, b), lambda r: {"outputs": {"c": r.ravel()}}
    if stem == "prefix_sum":
        return "cupy.cumsum", lambda: cp.cumsum(v["x"], dtype=cp.int32), lambda r: {"outputs": {"out": r}}
    return None


def matches(expected: dict, got: dict, ret: str | None) -> tuple[bool, str]:
    """Outputs/result against the reference, bit for bit."""
    for name, want in expected.get("outputs", {}).items():
        if not same_bits(want, got["outputs"][name]):
            return False, f"{name}: {first_difference(want, got['outputs'][name])}"
    if "result" in expected:
        return compare_result(ret, expected["result"], got["result"])
    return True, "bit-exact"


def copy_baseline(cp, nbytes: int) -> dict:
    """A device-to-device copy of as many bytes as the largest array: the
    practical bandwidth limit of a streaming kernel (it reads and writes them)."""
    src = cp.ones(max(1, nbytes // 4), cp.float32)
    dst = cp.empty_like(src)
    ms = median(host.time_ms(lambda: cp.copyto(dst, src), REPS, WARMUP))
    return {"bytes": src.nbytes, "median_ms": ms, "gbs": 2 * src.nbytes / ms / 1e6}


def time_function(
    run: Run, cp, lib, stem: str, fname: str, spec: dict, archive, machine: str, golden_runs: dict
) -> None:
    """Check and time the default and every variant at the benchmark size;
    baselines in the same run; the archive's records and champion.  A
    variant counts ("ok") only if it passed all its golden cases (golden_runs:
    label -> run_cases' counts) and gave the exact outputs here."""
    bench = BENCH.get(stem)
    if bench is None:
        run.skip(f"timing {stem}/{fname}", "not a benchmark intent (no size or reference here)")
        return
    v = device_inputs(cp, spec["params"], bench)
    initial = {p["name"]: v[p["name"]].copy() for p in spec["params"] if p.get("mutable")}
    expected = None
    with run.step(f"{stem}/{fname}", "reference"):
        expected = reference(cp, stem, v)
    n = bench["size"]
    traffic = sum(v[a].nbytes * k for a, k in bench.get("traffic", {}).items())
    flops = 2 * n**3 if stem == "matmul" else 0
    key = f"{stem}/{fname}"
    t = run.data["timings"][key] = {"n": n, "variants": [], "baselines": {}}

    with run.step(key, "baseline", "copy"):
        t["baselines"]["copy"] = copy_baseline(cp, max(v[p["name"]].nbytes for p in spec["params"] if "elem" in p))
    cupy_ms = None
    base = cupy_baseline(cp, stem, v)
    if base is not None:
        with run.step(key, "baseline", base[0]):
            name, thunk, as_ours = base
            agree, detail = matches(expected, as_ours(thunk()), spec.get("ret")) if expected else (None, "")
            cupy_ms = median(host.time_ms(thunk, REPS, WARMUP))
            t["baselines"]["cupy"] = {"name": name, "median_ms": cupy_ms, "agrees": agree, "detail": detail}
            if name == "cupy.matmul":
                t["baselines"]["cupy"]["note"] = "cuBLAS sums in another order (and fuses): not bit-exact by design"

    default_genome = spec["gpu"].get("shape") or {}
    entries = lib.variants(fname)
    candidates = [("default", default_genome, None, lib[fname])]
    candidates += [(e["hash"], e["genome"], e, lib.variant(fname, e)) for e in entries]
    for label, genome, entry, f in candidates:
        if run.left() < 15:
            run.skip(f"timing {key} {label}", "out of time")
            continue
        row = {"variant": label, "genome": genome, "status": "error"}
        t["variants"].append(row)
        with run.step(key, "time", label):
            for name, arr in initial.items():
                cp.copyto(v[name], arr)
            launcher = f.prepare(v)
            result = launcher()
            if expected is None:
                row["verified"], row["check"] = None, "no reference at this size (see errors)"
            else:
                got = {
                    "outputs": {name: v[name] for name in expected.get("outputs", {})},
                    "result": host.read_result(result, spec.get("ret")),
                }
                row["verified"], row["check"] = matches(expected, got, spec.get("ret"))
            times = host.time_ms(launcher, REPS, WARMUP)
            row.update(
                median_ms=median(times),
                times_ms=times,
                status="ok" if trusted(golden_runs.get(label), row["verified"]) else "wrong",
            )
            row.update(derive(row["median_ms"], traffic, t["baselines"].get("copy"), cupy_ms, flops))
        # the default is usually one of the variants too: record it once
        if archive is not None and not (entry is None and any(e["genome"] == genome for e in entries)):
            with run.step(key, "archive", label):
                med = row.get("median_ms")
                archive.record(
                    lib.manifest.intent_hash,
                    machine,
                    fname,
                    genome,
                    entry["hash"] if entry else genome_hash(genome),
                    "ok" if row["status"] == "ok" else "error",
                    None if med is None else med * 1e6,
                    [ms * 1e6 for ms in row.get("times_ms", [])],
                    {
                        "checked": f"golden cases; exact reference at n={n}",
                        "device": "gpu",
                        "status": row["status"],
                        "check": row.get("check"),
                    },
                    context="gpu",
                )
        if row["status"] != "ok":
            run.log(f"  {key} {label}: {row['status']} {row.get('check') or ''}")

    champ = pick_champion(t["variants"])
    t["champion"] = {k: champ[k] for k in champ if k != "times_ms"} if champ else None
    default = next((r for r in t["variants"] if r["variant"] == "default"), {})
    t["default_ms"] = default.get("median_ms")
    run.log(
        f"  {key}: timed {len(t['variants'])} at n={n}; fastest "
        + (f"{champ['variant']} {champ['median_ms']:.4f} ms" if champ else "none")
        + (f", default {t['default_ms']:.4f} ms" if t["default_ms"] else "")
    )
    if champ is not None:
        run.data["champions"][key] = {
            "variant": champ["variant"],
            "genome": champ["genome"],
            "median_ms": champ["median_ms"],
        }
        if archive is not None:
            with run.step(key, "crown"):
                archive.crown(
                    lib.manifest.intent_hash,
                    machine,
                    fname,
                    "gpu",
                    champ["genome"],
                    {
                        "median_ns": champ["median_ms"] * 1e6,
                        "variant": champ["variant"],
                        "n": n,
                        "evaluated": len(t["variants"]),
                        "default_median_ns": (default.get("median_ms") or 0) * 1e6,
                        "copy_ratio": champ.get("copy_ratio"),
                        "cupy_ms_over_ours": champ.get("cupy_ms_over_ours"),
                    },
                )


def host_inputs(params: list[dict], size: int, scalars: dict, seed: int = 7) -> list:
    """Host arguments at a profile size: uniform floats in [-1, 1), small ints, written arrays zero."""
    rng = np.random.default_rng(seed)
    values, counts = _sizes(params, size, scalars)
    args = []
    for p in params:
        if "type" in p:
            args.append(values[p["name"]])
            continue
        n, dt = counts[p["name"]], host.dtype_of(p["elem"])
        if p.get("mutable"):
            args.append(np.zeros(n, dt))
        elif dt.kind == "f":
            args.append(rng.uniform(-1, 1, n).astype(dt))
        elif dt.kind == "b":
            args.append(rng.integers(0, 2, n).astype(dt))
        else:
            info = np.iinfo(dt)
            args.append(rng.integers(max(info.min, -(2**15)), min(info.max, 2**15 - 1), n, endpoint=True).astype(dt))
    return args


def numpy_version(stem: str):
    """The same work in numpy on this machine's CPU (a reference point, not Atlas)."""
    return {
        "saxpy": lambda n, a, x, y: np.add(y, np.float32(a) * x, out=y),
        "brighten": lambda n, p, d, out: np.minimum(p.astype(np.uint16) + d, 255, out=out, casting="unsafe"),
        "dot_i32": lambda n, a, b: np.dot(a, b),
        "sum_f32": lambda n, x: np.sum(x),
        "matmul": lambda n, a, b, c: np.matmul(a.reshape(n, n), b.reshape(n, n), out=c.reshape(n, n)),
        "prefix_sum": lambda n, x, out: np.cumsum(x, dtype=np.int32, out=out),
    }.get(stem)


def _wall_ms(fn, reps: int = 5) -> float:
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return median(times)


def cpu_library(folder: Path):
    """(the intent's Atlas CPU library, loaded, or None; why not).  The
    manifest gives each signature as data, so loading needs only the
    runtime's packages."""
    if not (folder / "cpu" / "manifest.json").exists():
        return None, "no Atlas CPU library in the bundle"
    try:
        from atlas.machine.runtime import load

        return load(folder / "cpu"), None
    except Exception as exc:  # e.g. a CPU without the library's features: say so, go on
        return None, f"the Atlas CPU library does not load here: {type(exc).__name__}: {exc}"


def round_trips(
    run: Run, cp, lib, stem: str, fname: str, spec: dict, folder: Path, archive=None, machine: str = ""
) -> None:
    """The CPU-or-GPU choice at the profile's sizes: the default kernels with
    host<->device copies and on data already on the device, beside Atlas's
    CPU library for the same intent (numpy stands in, labelled, where the
    library cannot run).  Each side's time goes to the archive (context
    "actuator"), where the backend reads which wins at which size."""
    import yaml

    path = folder / "profile.yaml"
    profile = yaml.safe_load(path.read_text()) if path.exists() else None
    sizes = profile_sizes(profile, fname)
    if not sizes:
        run.skip(f"round trip {stem}/{fname}", "no profile sizes")
        return
    scalars = {
        **BENCH.get(stem, {}).get("scalars", {}),
        **{k: v for k, v in (profile.get("scalars") or {}).items() if isinstance(v, (int, float))},
    }
    cpu, why_not = cpu_library(folder)
    rows = run.data["round_trip"][f"{stem}/{fname}"] = []
    for size in sizes:
        if run.left() < 10:
            run.skip(f"round trip {stem}/{fname} n={size}", "out of time")
            continue
        with run.step(stem, fname, "round trip", str(size)):
            args = host_inputs(spec["params"], size, scalars)
            row = {"n": size, "gpu_ms_with_copies": _wall_ms(lambda: lib[fname](*args))}
            dev = {p["name"]: cp.asarray(a) if isinstance(a, np.ndarray) else a for p, a in zip(spec["params"], args)}
            row["gpu_ms_on_device_data"] = median(host.time_ms(lambda: lib.run(fname, dev), 10, 2))
            rows.append(row)
            if cpu is None:
                row["cpu"] = why_not
                ref = numpy_version(stem)
                if ref is not None:
                    row["numpy_cpu_ms"] = _wall_ms(lambda: ref(*args))
                    row["cpu"] += "; numpy on the GPU machine's CPU instead (a reference point, not Atlas)"
                continue
            row["atlas_cpu_ms"] = _wall_ms(lambda: getattr(cpu, fname)(*args))
            for key, gpu_ms in (
                ("with_copies", row["gpu_ms_with_copies"]),
                ("on_device_data", row["gpu_ms_on_device_data"]),
            ):
                row[f"faster_{key}"] = "gpu" if gpu_ms < row["atlas_cpu_ms"] else "cpu"
            if archive is not None:
                record_actuators(archive, lib.manifest.intent_hash, machine, fname, row)


def record_actuators(archive, intent: str, machine: str, fname: str, row: dict) -> None:
    """One archive row per actuator measured at row["n"] (context "actuator")."""
    for actuator, ms in (
        ("cpu", row["atlas_cpu_ms"]),
        ("gpu-with-copies", row["gpu_ms_with_copies"]),
        ("gpu-on-device-data", row["gpu_ms_on_device_data"]),
    ):
        genome = {"actuator": actuator, "n": row["n"]}
        archive.record(
            intent,
            machine,
            fname,
            genome,
            genome_hash(genome),
            "ok",
            ms * 1e6,
            [ms * 1e6],
            {"timed": "wall clock, median of 5" if actuator != "gpu-on-device-data" else "CUDA events, median of 10"},
            context="actuator",
        )


def open_archive(run: Run):
    from atlas.search.archive import Archive

    return Archive(run.out / "archive.sqlite3")


def check_intent(run: Run, cp, bundle: Path, stem: str, machine: str, archive) -> None:
    """Golden cases, timings and round trips of one intent's functions."""
    folder = bundle / stem
    lib = host.load(folder)
    cases = json.loads((folder / "golden.json").read_text())["cases"]
    for fname, fentry in lib.manifest.functions.items():
        spec = fentry.to_json()
        if spec.get("gpu") is None:
            run.skip(f"{stem}/{fname}", spec.get("gpu_why_not") or "no GPU kernel")
            continue
        entry = run.data["correctness"].setdefault(f"{stem}/{fname}", {})
        mine = unique_cases(cases, fname)
        with run.step(stem, fname, "correctness", "default"):
            entry["default"] = run_cases(lib[fname], spec, spec["gpu"], mine)
        for e in lib.variants(fname):
            with run.step(stem, fname, "correctness", e["hash"]):
                entry[e["hash"]] = run_cases(lib.variant(fname, e), spec, e["gpu"], mine)
        bad = [k for k, r in entry.items() if r["passed"] != r["cases"]]
        run.log(
            f"  {stem}/{fname} golden cases: default {entry['default']['passed']}/{entry['default']['cases']}, "
            f"{len(entry) - 1} variants" + (f"; FAILING: {', '.join(bad)}" if bad else ", all pass")
        )
        if run.left() > 20:
            with run.step(stem, fname, "timing"):
                time_function(run, cp, lib, stem, fname, spec, archive, machine, entry)
        else:
            run.skip(f"timing {stem}/{fname}", "out of time")
        with run.step(stem, fname, "round trip"):
            round_trips(run, cp, lib, stem, fname, spec, folder, archive, machine)


def intent_main(stem: str, bundle: Path, out: Path, machine: str, budget_s: float, part: Path) -> int:
    """One intent in a process of its own: a kernel that faults leaves CUDA
    unusable in its process, and must not cost the other intents."""
    run = Run(out, budget_s, results=part)
    archive = None
    with run.step(stem, "archive"):
        archive = open_archive(run)
    try:
        with run.step(stem):
            check_intent(run, host.cupy(), bundle, stem, machine, archive)
    finally:
        if archive is not None:
            archive.close()
        run.save()
    return 0


def run_intent(run: Run, bundle: Path, out: Path, stem: str, machine: str, budget_s: float, hard_s: float) -> None:
    """intent_main in a child process; its findings merged, whatever became of it."""
    with tempfile.TemporaryDirectory(prefix="atlas-gpu-check-") as tmp:
        part = Path(tmp) / f"{stem}.json"
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--intent",
            stem,
            str(bundle),
            str(out),
            machine,
            str(budget_s),
            str(part),
        ]
        try:
            proc = subprocess.run(cmd, stderr=subprocess.PIPE, text=True, timeout=hard_s)
            if proc.returncode != 0:
                raise RuntimeError(f"the process for {stem} exited {proc.returncode}: {proc.stderr.strip()[-1500:]}")
        finally:
            if part.exists():
                run.merge(json.loads(part.read_text()))
            run.save()


def main(argv: list[str]) -> int:
    if argv[:1] == ["--intent"] and len(argv) == 7:
        return intent_main(argv[1], Path(argv[2]), Path(argv[3]), argv[4], float(argv[5]), Path(argv[6]))
    if len(argv) != 2:
        print(__doc__)
        return 2
    bundle, out = Path(argv[0]).resolve(), Path(argv[1]).resolve()
    run = Run(out)
    run.log(f"atlas gpu check: bundle {bundle}, results in {out}")
    with run.step("bundle"):
        run.data["bundle"] = json.loads((bundle / "bundle.json").read_text())
    made = (run.data["bundle"] or {}).get("intents") or {}
    for stem, m in made.items():
        if not m.get("ok"):
            run.skip(stem, f"not in the bundle: {m.get('error')}")
    stems = [s for s in made if (bundle / s / "manifest.json").exists()]
    stems = stems or sorted(d.name for d in bundle.iterdir() if (d / "manifest.json").exists())
    machine = None
    with run.step("probe"):
        machine = probe_step(run)
        run.log(f"probe: fingerprint {machine}")
    cp = None
    with run.step("gpu"):
        cp = host.cupy()
        run.data["machine"] = info = machine_info(
            cp, None if machine is None else json.loads((out / "probe.json").read_text())
        )
        run.log(f"GPU: {info['name']} cc {info['compute_capability']}, {info['multiprocessors']} SMs")
    if cp is None:
        return run.finish()
    machine = machine or f"unprobed-{run.data['machine']['name']}"
    for i, stem in enumerate(stems):
        run.log(f"\n== {stem}")
        hard = HARD_S - (time.monotonic() - run.t0)
        if hard < 30:
            run.skip(stem, "out of time")
            continue
        # a fair share of the time left, so that the last intents are checked
        # too; what one leaves unused goes to those after it
        share = min(run.left(), 1.5 * run.left() / (len(stems) - i))
        with run.step(stem, "process"):
            run_intent(run, bundle, out, stem, machine, share, hard)
    return run.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
