"""Golden outputs for every intent in intents/.

    python tests/golden.py --regen     rewrite tests/golden/*.json

A golden file holds the inputs and the expected outputs of each case, so the
tests need nothing else.  Regeneration computes the outputs with the reference
interpreter and, for the ten benchmark kernels, refuses to write them unless
the C reference (bench/kernels.c, built without FP contraction so
that it rounds exactly like the intent) computes the same, bit for bit.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from atlas.meaning.interp import dtype
from atlas.meaning.ir import SCALARS

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
FIXTURES = ROOT / "tests" / "fixtures"
PROBES = ("probe-popcnt", "probe-nopopcnt")


def encode(v):
    if isinstance(v, np.ndarray):
        name = next(n for n, t in SCALARS.items() if dtype(t) == v.dtype)
        return {"dtype": name, "data": v.tolist()}
    return v


def decode(v):
    if isinstance(v, dict):
        return np.array(v["data"], dtype=dtype(SCALARS[v["dtype"]]))
    return v


# ---------------------------------------------------------------- the inputs


def _rng(seed):
    return np.random.default_rng(seed)


def _cases():
    """name of intent file -> list of (function, args) (arrays as numpy)."""
    r = _rng(2026)
    sizes = (0, 1, 7, 33)
    c = {}
    c["saxpy"] = [
        ("saxpy", [n, 1.5, r.uniform(-1, 1, n).astype(np.float32), r.uniform(-1, 1, n).astype(np.float32)])
        for n in sizes
    ]
    c["dot_i32"] = [
        ("dot_i32", [n, r.integers(-(2**15), 2**15, n, dtype=np.int32), r.integers(-(2**15), 2**15, n, dtype=np.int32)])
        for n in sizes
    ]
    c["dot_i32"].append(
        ("dot_i32", [3, np.array([2**31 - 1, -(2**31), 7], np.int32), np.array([2**31 - 1, -1, 9], np.int32)])
    )  # wraps
    c["inet_checksum"] = [("inet_checksum", [n, r.integers(0, 2**16, n, dtype=np.uint16)]) for n in sizes + (750,)]
    c["inet_checksum"].append(("inet_checksum", [4, np.full(4, 0xFFFF, np.uint16)]))
    c["popcount_total"] = [
        ("popcount_total", [n, r.integers(0, 2**64, n, dtype=np.uint64, endpoint=False)]) for n in sizes
    ]
    c["popcount_total"].append(("popcount_total", [2, np.array([0, 2**64 - 1], np.uint64)]))
    tiered = np.array([-(2**31), -1000, -5, 0, 10, 11, 20, 21, 1000, 2**30, 2**31 - 1], np.int32)
    c["tiered"] = [
        ("tiered", [len(tiered), tiered, np.zeros(len(tiered), np.int32)]),
        ("tiered", [33, r.integers(-1000, 1001, 33, dtype=np.int32), np.zeros(33, np.int32)]),
    ]
    n = 64
    port = r.choice(np.array([443, 53, 80, 22, 443, 443], np.uint16), n)
    size = r.integers(40, 1501, n, dtype=np.uint16)
    flags = r.choice(np.array([0, 0, 0, 0x80, 0x81, 0x10], np.uint8), n)
    c["classify"] = [
        ("classify", [n, port, size, flags, np.zeros(n, np.uint8)]),
        (
            "classify",
            [
                3,
                np.array([443, 443, 443], np.uint16),
                np.array([1000, 1001, 0], np.uint16),
                np.zeros(3, np.uint8),
                np.zeros(3, np.uint8),
            ],
        ),
    ]
    c["brighten"] = [
        ("brighten", [n, r.integers(0, 256, n, dtype=np.uint8), d, np.zeros(n, np.uint8)])
        for n, d in ((0, 40), (33, 40), (33, 255), (16, 0))
    ]
    c["matmul"] = [
        (
            "matmul",
            [
                n,
                r.uniform(-1, 1, n * n).astype(np.float32),
                r.uniform(-1, 1, n * n).astype(np.float32),
                np.zeros(n * n, np.float32),
            ],
        )
        for n in (0, 1, 3, 8)
    ]
    c["prefix_sum"] = [
        ("prefix_sum", [n, r.integers(-(2**20), 2**20, n, dtype=np.int32), np.zeros(n, np.int32)]) for n in sizes
    ]
    c["prefix_sum"].append(("prefix_sum", [2, np.array([2**31 - 1, 1], np.int32), np.zeros(2, np.int32)]))
    c["argmax_i32"] = [("argmax_i32", [n, r.integers(-(2**31), 2**31, n, dtype=np.int32)]) for n in (1, 7, 33)]
    c["argmax_i32"].append(("argmax_i32", [5, np.array([3, 9, 9, -1, 9], np.int32)]))
    c["argmax_i32"].append(("argmax_i32", [0, np.zeros(0, np.int32)]))
    words = [0, 1, 0x8000_0000_0000_0000, 2**64 - 1, 0xF0F0]
    c["hw_branches"] = (
        [("bitcount", [w]) for w in words]
        + [("leading_zeros", [x]) for x in (0, 1, 0x8000_0000, 0xFFFF, 0x10000, 12345)]
        + [("tile_edge", [])]
        + [("blocked_sum", [n, r.integers(-(2**40), 2**40, n, dtype=np.int64)]) for n in (0, 5, 300)]
    )
    c["naive"] = (
        [("split_index", [x]) for x in (0, 15, 16, 17, 1000, 2**32 - 1)]
        + [("clamp", [x, -10, 10]) for x in (-(2**31), -11, -10, 0, 10, 11, 2**31 - 1)]
        + [
            (
                "add_clamped",
                [
                    n,
                    r.integers(0, 256, n, dtype=np.uint8),
                    r.integers(0, 256, n, dtype=np.uint8),
                    np.zeros(n, np.uint8),
                ],
            )
            for n in (0, 1, 33)
        ]
        + [("scale", [x]) for x in (0, 1, 2**62, 2**64 - 1)]
    )
    # Its own generator, so that the cases above keep their inputs.
    r = _rng(2027)
    c["sum_f32"] = [("sum_f32", [n, r.uniform(-1, 1, n).astype(np.float32)]) for n in sizes]
    # Source order, the interpreter's: (1e8 + 1) - 1e8 + 1 rounds to 1 in f32, not 2.
    c["sum_f32"].append(("sum_f32", [4, np.array([1e8, 1, -1e8, 1], np.float32)]))
    return c


# ---------------------------------------------------------------- regeneration


def _c_reference():
    src = ROOT / "bench" / "kernels.c"
    lib = Path(tempfile.mkdtemp()) / "kernels.so"
    subprocess.run(["cc", "-O2", "-ffp-contract=off", "-fPIC", "-shared", str(src), "-o", str(lib)], check=True)
    return ctypes.CDLL(str(lib))


def _c_call(lib, fn, args, ret: str | None):
    f = getattr(lib, fn)
    cargs = []
    for a in args:
        if isinstance(a, np.ndarray):
            cargs.append(a.ctypes.data_as(ctypes.c_void_p))
        elif isinstance(a, float):
            cargs.append(ctypes.c_float(a))
        else:
            cargs.append(ctypes.c_uint64(a) if a >= 0 else ctypes.c_int64(a))
    if fn == "brighten":  # uint8_t delta
        cargs[2] = ctypes.c_uint8(args[2])
    f.restype = {None: None, "i32": ctypes.c_int32, "u16": ctypes.c_uint16, "u64": ctypes.c_uint64}[ret]
    f.argtypes = None
    return f(*cargs)


def regenerate():
    sys.path.insert(0, str(ROOT))
    from atlas.meaning import interp
    from atlas.pipeline import front
    from atlas.machine.probe import load_probe

    clib = _c_reference()
    GOLDEN.mkdir(exist_ok=True)
    for stem, cases in _cases().items():
        out = []
        for probe_name in PROBES:
            probe = load_probe(FIXTURES / f"{probe_name}.json")
            _, module, _ = front([ROOT / "intents" / f"{stem}.ax"], probe)
            for fn, args in cases:
                f = module.function(fn)
                work = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
                result = interp.run(module, fn, *work)
                written = {
                    p.name: encode(w)
                    for p, w in zip(f.params, work)
                    if isinstance(w, np.ndarray) and getattr(p.ty, "mutable", False)
                }
                if clib is not None and hasattr(clib, fn) and stem not in ("hw_branches", "naive"):
                    cwork = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
                    cres = _c_call(clib, fn, cwork, f.ret.name if f.ret else None)
                    if f.ret is not None and f.ret.signed:
                        cres = int(np.array(cres).astype(np.int64))
                    assert f.ret is None or cres == result, (fn, cres, result)
                    for p, w, cw in zip(f.params, work, cwork):
                        if isinstance(w, np.ndarray):
                            assert np.array_equal(w, cw), (fn, p.name)
                out.append(
                    {
                        "probe": probe_name,
                        "function": fn,
                        "args": [encode(a) for a in args],
                        "result": result,
                        "written": written,
                    }
                )
        tmp = GOLDEN / f".{stem}.json.tmp"
        tmp.write_text(json.dumps({"intent": f"intents/{stem}.ax", "cases": out}, indent=1) + "\n")
        os.replace(tmp, GOLDEN / f"{stem}.json")
        print(
            f"wrote tests/golden/{stem}.json ({len(out)} cases)"
            + (
                ", checked against the C reference"
                if clib is not None
                and stem not in ("hw_branches", "naive")
                and any(hasattr(clib, fn) for fn, _ in cases)  # sum_f32 has no C kernel
                else ""
            )
        )


def load(stem: str) -> dict:
    return json.loads((GOLDEN / f"{stem}.json").read_text())


if __name__ == "__main__":
    if "--regen" in sys.argv:
        regenerate()
    else:
        print(__doc__)
