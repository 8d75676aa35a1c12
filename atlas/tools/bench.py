"""`atlas bench`: the ten benchmark kernels, compiled by Atlas for this
machine, timed against the reference C in bench/kernels.c; with `--family`,
the kernel families (FAMILY: unseen kernels of the benchmark's families,
nothing in Atlas tuned to them) against bench/family.c, measured the same way.

How a kernel at one size is measured (see bench/README.md):

1. Inputs are drawn from a numpy generator seeded by (kernel, n), with the
   distributions of the README, into 64-byte aligned buffers.
2. Both functions run once on their own fresh copies of the inputs, and
   their outputs are compared (integers bit for bit, floats within a relative
   tolerance).  A row whose outputs differ gets no ratio.
3. Timing happens in C: a generated shim per kernel signature,
   `double time_<kernel>(fn, args..., reps, last)`, calls the function
   pointer `reps` times between two clock_gettime(CLOCK_MONOTONIC) and
   returns ns per call.  The C kernel and Atlas's go through the same shim,
   so they pay the same call cost, and Python's overhead (one ctypes call
   per sample of ~10 ms) is not in the figure.
4. Samples alternate C, Atlas (, copy), C, Atlas, ... on the same input
   buffers; the figure is the median of each side's samples.

For the streaming kernels at their large sizes a plain memcpy, timed the
same way in the same loop, gives the time the machine needs just to move
the bytes (see COPY_NOTE).
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import shutil
import statistics
import subprocess
import tempfile
import zlib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..files import write_atomic
from ..machine.manifest import Origin
from ..machine.probe import Probe

REPO = Path(__file__).resolve().parents[2]
INTENTS = REPO / "intents"
C_FLAGS = ("-O3", "-march=native", "-fPIC", "-shared")  # as README.md prescribes
SHIM_FLAGS = ("-O2", "-fPIC", "-shared")
ALIGN = 64

COPY_NOTE = (
    "copy bound: the time of one memcpy whose traffic equals the kernel's, i.e. "
    "memcpy of (bytes read + bytes written) / 2, timed in the same C loop and run; "
    "x/bound near 1.0 means x runs at the speed of memory"
)


class BenchError(Exception):
    """The benchmark cannot run (no gcc, no kernels.c, ...); the message is for the user."""


# ------------------------------------------------------------------ the kernels


def _uniform_f32(rng, n):
    # [0, 1) in float32, mapped exactly onto [-1, 1): 2r is exact and 2r - 1 never reaches 1.
    return rng.random(n, dtype=np.float32) * np.float32(2) - np.float32(1)


def _ints(rng, n, lo, hi, dt):
    """n integers uniform in [lo, hi)."""
    return rng.integers(lo, hi, n, dtype=dt)


def _counts(n: int, fractions) -> list[int]:
    """Exact class sizes summing to n; rounding slack goes to the first (hot) class."""
    counts = [int(n * f) for f in fractions]
    counts[0] += n - sum(counts)
    return counts


def _tiered_inputs(rng, n):
    hot, mid, low = _counts(n, (0.90, 0.08, 0.02))
    x = np.concatenate(
        [
            _ints(rng, hot, 21, 1001, np.int32),  # (20, 1000]
            _ints(rng, mid, 11, 21, np.int32),  # (10, 20]
            _ints(rng, low, -1000, 11, np.int32),
        ]
    )  # [-1000, 10]
    return {"x": rng.permutation(x)}


def _classify_inputs(rng, n):
    # The README fixes port, size and flags only for the hot class.  Elsewhere:
    # sizes are Ethernet-sized ([40, 1500]; DNS [40, 512], its classic UDP
    # limit); flags have random low bits with bit 0x80 clear, so no code may
    # assume flags == 0 off the hot path; "other" ports are uniform over
    # 1..65535 minus 53 and 443; malformed packets (bit 0x80 set) carry
    # ports 443, 53 or other, so the drop test must come first to be right.
    bulk, small, dns, other, bad = _counts(n, (0.85, 0.05, 0.05, 0.04, 0.01))
    u16, u8 = np.uint16, np.uint8

    def others(k):
        p = _ints(rng, k, 1, 65536, u16)
        return np.where((p == 53) | (p == 443), p + 1, p).astype(u16)

    def low_flags(k):
        return _ints(rng, k, 0, 0x80, u8)

    bad_port = np.choose(_ints(rng, bad, 0, 3, u8), [np.full(bad, 443, u16), np.full(bad, 53, u16), others(bad)])
    port = np.concatenate([np.full(bulk + small, 443, u16), np.full(dns, 53, u16), others(other), bad_port])
    size = np.concatenate(
        [
            _ints(rng, bulk, 1001, 1501, u16),
            _ints(rng, small, 40, 1001, u16),
            _ints(rng, dns, 40, 513, u16),
            _ints(rng, other + bad, 40, 1501, u16),
        ]
    )
    flags = np.concatenate([np.zeros(bulk, u8), low_flags(small + dns + other), low_flags(bad) | u8(0x80)])
    order = rng.permutation(n)  # one shuffle for all three fields: packets stay whole
    return {"port": port[order], "size": size[order], "flags": flags[order]}


def _matmul_terms(a, b):
    """(|A| |B|)_ij: the size of the terms summed into c_ij.  einsum, not
    BLAS, so no BLAS threads are left spinning on our cores while we time."""
    n = math.isqrt(a.size)
    a, b = (np.abs(m.astype(np.float64)).reshape(n, n) for m in (a, b))
    return np.einsum("ik,kj->ij", a, b).ravel()


@dataclass(frozen=True)
class Kernel:
    name: str
    ret: str | None  # C return type; None for void
    params: tuple[tuple[str, str], ...]  # (name, C type), in kernels.c's order
    sizes: tuple[int, ...]  # the n of README.md
    inputs: Callable  # (rng, n) -> {param: array or scalar}; not n
    length: Callable = lambda n: n  # elements in each array parameter
    tol: float | None = None  # None: bit for bit; else relative error per element
    magnitude: Callable | None = None  # (inputs) -> per-element size of the terms summed
    moved: Callable | None = None  # n -> bytes read + written (streaming kernels)
    bound_sizes: tuple[int, ...] = ()  # README sizes that get the copy bound

    @property
    def written(self) -> list[str]:
        """Array parameters the kernel writes (pointers not to const)."""
        return [p for p, t in self.params if t.endswith("*") and not t.startswith("const")]


KERNELS = (
    Kernel(
        "saxpy",
        None,
        (("n", "size_t"), ("a", "float"), ("x", "const float *"), ("y", "float *")),
        (4096, 1 << 24),
        lambda rng, n: {"a": 1.5, "x": _uniform_f32(rng, n), "y": _uniform_f32(rng, n)},
        tol=1e-5,
        # The terms of a*x + y: an unfused a*x rounds where C's fma does not,
        # so where they cancel only their size bounds the honest error.
        magnitude=lambda v: np.abs(np.float64(v["a"]) * v["x"]) + np.abs(v["y"].astype(np.float64)),
        moved=lambda n: 12 * n,
        bound_sizes=(1 << 24,),
    ),
    Kernel(
        "dot_i32",
        "int32_t",
        (("n", "size_t"), ("a", "const int32_t *"), ("b", "const int32_t *")),
        (4096, 1 << 22),
        lambda rng, n: {"a": _ints(rng, n, -(2**15), 2**15, np.int32), "b": _ints(rng, n, -(2**15), 2**15, np.int32)},
        moved=lambda n: 8 * n,
        bound_sizes=(1 << 22,),
    ),
    Kernel(
        "inet_checksum",
        "uint16_t",
        (("n", "size_t"), ("data", "const uint16_t *")),
        (750, 1 << 20),
        lambda rng, n: {"data": _ints(rng, n, 0, 1 << 16, np.uint16)},
    ),
    Kernel(
        "popcount_total",
        "uint64_t",
        (("n", "size_t"), ("w", "const uint64_t *")),
        (1 << 20,),
        lambda rng, n: {"w": _ints(rng, n, 0, 1 << 64, np.uint64)},
        moved=lambda n: 8 * n,
        bound_sizes=(1 << 20,),
    ),
    Kernel(
        "tiered",
        None,
        (("n", "size_t"), ("x", "const int32_t *"), ("out", "int32_t *")),
        (1 << 20,),
        _tiered_inputs,
        moved=lambda n: 8 * n,
        bound_sizes=(1 << 20,),
    ),
    Kernel(
        "classify",
        None,
        (
            ("n", "size_t"),
            ("port", "const uint16_t *"),
            ("size", "const uint16_t *"),
            ("flags", "const uint8_t *"),
            ("cls", "uint8_t *"),
        ),
        (1 << 20,),
        _classify_inputs,
    ),
    Kernel(
        "brighten",
        None,
        (("n", "size_t"), ("pixels", "const uint8_t *"), ("delta", "uint8_t"), ("out", "uint8_t *")),
        (1 << 22,),
        lambda rng, n: {"pixels": _ints(rng, n, 0, 256, np.uint8), "delta": 40},
        moved=lambda n: 2 * n,
        bound_sizes=(1 << 22,),
    ),
    Kernel(
        "matmul",
        None,
        (("n", "size_t"), ("a", "const float *"), ("b", "const float *"), ("c", "float *")),
        (64, 256),
        lambda rng, n: {"a": _uniform_f32(rng, n * n), "b": _uniform_f32(rng, n * n)},
        length=lambda n: n * n,
        tol=1e-4,
        magnitude=lambda v: _matmul_terms(v["a"], v["b"]),
    ),
    Kernel(
        "prefix_sum",
        None,
        (("n", "size_t"), ("x", "const int32_t *"), ("out", "int32_t *")),
        (1 << 22,),
        lambda rng, n: {"x": _ints(rng, n, -(2**20), 2**20, np.int32)},
        moved=lambda n: 8 * n,
        bound_sizes=(1 << 22,),
    ),
    Kernel(
        "argmax_i32",
        "size_t",
        (("n", "size_t"), ("x", "const int32_t *")),
        (1 << 22,),
        lambda rng, n: {"x": _ints(rng, n, -(2**31), 2**31, np.int32)},
        moved=lambda n: 4 * n,
        bound_sizes=(1 << 22,),
    ),
)
BY_NAME = {k.name: k for k in KERNELS}


def _bytes(rng, n):
    return {"data": _ints(rng, n, 0, 256, np.uint8)}


# Kernels of the benchmark's families that nothing in Atlas was written or
# tuned for (no profile, no shape, no rule made for them): intents/family/,
# reference C in bench/family.c.  Large sizes take about a millisecond or
# more per call; the streaming ones get the copy bound there.
_N = ("n", "uint64_t")
FAMILY = (
    Kernel("adler32", "uint32_t", (_N, ("data", "const uint8_t *")), (4096, 1 << 20), _bytes),
    Kernel("fletcher16", "uint16_t", (_N, ("data", "const uint8_t *")), (4096, 1 << 20), _bytes),
    Kernel(
        "fletcher32",
        "uint32_t",
        (_N, ("w", "const uint16_t *")),
        (4096, 1 << 20),
        lambda rng, n: {"w": _ints(rng, n, 0, 1 << 16, np.uint16)},
    ),
    Kernel(
        "modsum",
        "uint64_t",
        (_N, ("x", "const uint32_t *")),
        (4096, 1 << 20),
        lambda rng, n: {"x": _ints(rng, n, 0, 1 << 32, np.uint32)},
    ),
    Kernel(
        "sum_u8",
        "uint64_t",
        (_N, ("x", "const uint8_t *")),
        (4096, 1 << 24),
        lambda rng, n: {"x": _ints(rng, n, 0, 256, np.uint8)},
        moved=lambda n: n,
        bound_sizes=(1 << 24,),
    ),
    Kernel(
        "count_above",
        "uint64_t",
        (_N, ("x", "const int32_t *"), ("t", "int32_t")),
        (4096, 1 << 22),
        lambda rng, n: {"x": _ints(rng, n, -(2**31), 2**31, np.int32), "t": 1 << 30},  # a quarter above t
        moved=lambda n: 4 * n,
        bound_sizes=(1 << 22,),
    ),
    Kernel(
        "matvec_t",
        None,
        (_N, ("a", "const int32_t *"), ("x", "const int32_t *"), ("y", "int32_t *")),
        (64, 1024),
        lambda rng, n: {
            "a": _ints(rng, n * n, -(2**15), 2**15, np.int32),
            "x": _ints(rng, n, -(2**15), 2**15, np.int32),
        },
    ),
    Kernel(
        "stencil3",
        None,
        (_N, ("x", "const int32_t *"), ("out", "int32_t *")),
        (4096, 1 << 22),
        lambda rng, n: {"x": _ints(rng, n, -(2**31), 2**31, np.int32)},
        moved=lambda n: 8 * n,
        bound_sizes=(1 << 22,),
    ),
    Kernel(
        "bitcount_loop",
        "uint64_t",
        (_N, ("w", "const uint64_t *")),
        (4096, 1 << 22),
        lambda rng, n: {"w": _ints(rng, n, 0, 1 << 64, np.uint64)},
        moved=lambda n: 8 * n,
        bound_sizes=(1 << 22,),
    ),
    Kernel(
        "ones_shifted",
        "uint64_t",
        (_N, ("w", "const uint32_t *")),
        (4096, 1 << 22),
        lambda rng, n: {"w": _ints(rng, n, 0, 1 << 32, np.uint32)},
        moved=lambda n: 4 * n,
        bound_sizes=(1 << 22,),
    ),
    Kernel(
        "chain3",
        None,
        (_N, ("a", "int32_t *"), ("b", "const int32_t *")),
        (4096, 1 << 22),
        lambda rng, n: {"a": _ints(rng, n, -(2**31), 2**31, np.int32), "b": _ints(rng, n, -(2**31), 2**31, np.int32)},
        moved=lambda n: 12 * n,  # fused: a and b read once, a written once
        bound_sizes=(1 << 22,),
    ),
    Kernel(
        "max_u8",
        "uint8_t",
        (_N, ("x", "const uint8_t *")),
        (4096, 1 << 24),
        lambda rng, n: {"x": _ints(rng, n, 0, 255, np.uint8)},  # 255 never drawn: the whole array is read
        moved=lambda n: n,
        bound_sizes=(1 << 24,),
    ),
    Kernel(
        "dot_i16",
        "int64_t",
        (_N, ("a", "const int16_t *"), ("b", "const int16_t *")),
        (4096, 1 << 22),
        lambda rng, n: {"a": _ints(rng, n, -(2**15), 2**15, np.int16), "b": _ints(rng, n, -(2**15), 2**15, np.int16)},
        moved=lambda n: 4 * n,
        bound_sizes=(1 << 22,),
    ),
    Kernel(
        "transpose",
        None,
        (_N, ("a", "const float *"), ("out", "float *")),
        (64, 1024),
        lambda rng, n: {"a": _uniform_f32(rng, n * n)},
        length=lambda n: n * n,
    ),
    Kernel(
        "abs_sum",
        "int64_t",
        (_N, ("x", "const int32_t *")),
        (4096, 1 << 22),
        lambda rng, n: {"x": _ints(rng, n, -(2**31), 2**31, np.int32)},
        moved=lambda n: 4 * n,
        bound_sizes=(1 << 22,),
    ),
    Kernel(
        "argmin_i16",
        "uint64_t",
        (_N, ("x", "const int16_t *")),
        (4096, 1 << 22),
        lambda rng, n: {"x": _ints(rng, n, -(2**15), 2**15, np.int16)},
    ),
    Kernel(
        "scaled_sum",
        "int32_t",
        (_N, ("x", "const int32_t *"), ("w", "int32_t")),
        (4096, 1 << 22),
        lambda rng, n: {"x": _ints(rng, n, -(2**31), 2**31, np.int32), "w": -7919},
        moved=lambda n: 4 * n,
        bound_sizes=(1 << 22,),
    ),
    Kernel(
        "centred_sum",
        "uint32_t",
        (_N, ("x", "const uint16_t *"), ("b", "uint32_t")),
        (4096, 1 << 22),
        lambda rng, n: {"x": _ints(rng, n, 0, 1 << 16, np.uint16), "b": 32768},
        moved=lambda n: 2 * n,
        bound_sizes=(1 << 22,),
    ),
    Kernel(
        "last_min_u8",
        "uint64_t",
        (_N, ("x", "const uint8_t *")),
        (4096, 1 << 24),
        lambda rng, n: {"x": _ints(rng, n, 0, 256, np.uint8)},
    ),
    Kernel(
        "closest_u16",
        "uint64_t",
        (_N, ("x", "const uint16_t *"), ("target", "uint16_t")),
        (4096, 1 << 22),
        lambda rng, n: {"x": _ints(rng, n, 0, 1 << 16, np.uint16), "target": 40000},
    ),
    Kernel(
        "best_score_f32",
        "uint64_t",
        (_N, ("score", "const float *")),
        (4096, 1 << 22),
        lambda rng, n: {"score": _uniform_f32(rng, n)},
    ),
    Kernel(
        "running_max_u8",
        None,
        (_N, ("x", "const uint8_t *"), ("out", "uint8_t *")),
        (4096, 1 << 24),
        lambda rng, n: {"x": _ints(rng, n, 0, 256, np.uint8)},
        moved=lambda n: 2 * n,
        bound_sizes=(1 << 24,),
    ),
    Kernel(
        "ubx_checksum",
        "uint16_t",
        (_N, ("frame", "const uint8_t *")),
        (4096, 1 << 20),
        lambda rng, n: {"frame": _ints(rng, n, 0, 256, np.uint8)},
    ),
    Kernel(
        "djb2_hash",
        "uint32_t",
        (_N, ("s", "const uint8_t *")),
        (4096, 1 << 20),
        lambda rng, n: {"s": _ints(rng, n, 0, 256, np.uint8)},
    ),
    Kernel(
        "read_decimal",
        "uint64_t",
        (_N, ("digits", "const uint8_t *")),
        (4096, 1 << 20),
        lambda rng, n: {"digits": _ints(rng, n, 48, 58, np.uint8)},
    ),
    Kernel(
        "offsets_u16",
        None,
        (_N, ("len", "const uint16_t *"), ("at", "uint32_t *")),
        (4096, 1 << 22),
        lambda rng, n: {"len": _ints(rng, n, 0, 1 << 16, np.uint16)},
        moved=lambda n: 6 * n,
        bound_sizes=(1 << 22,),
    ),
    # written with counted while loops (atlas/front/counted.py)
    Kernel("adler32_while", "uint32_t", (_N, ("data", "const uint8_t *")), (4096, 1 << 20), _bytes),
    Kernel(
        "poly_hash_while",
        "uint32_t",
        (_N, ("s", "const uint8_t *"), ("skip", "uint64_t")),
        (4096, 1 << 20),
        lambda rng, n: {"s": _ints(rng, n, 0, 256, np.uint8), "skip": 3},
    ),
    # a modulus known only at run time (atlas/search/deferred.py)
    Kernel(
        "bucket_sum",
        "uint32_t",
        (_N, ("key", "const uint8_t *"), ("m", "uint32_t")),
        (4096, 1 << 20),
        lambda rng, n: {"key": _ints(rng, n, 0, 256, np.uint8), "m": 1000003},
    ),
    Kernel(
        "fletcher_mod",
        "uint32_t",
        (_N, ("bytes", "const uint8_t *"), ("m", "uint16_t")),
        (4096, 1 << 20),
        lambda rng, n: {"bytes": _ints(rng, n, 0, 256, np.uint8), "m": 65521},
    ),
    Kernel(
        "sum64_mod",
        "uint64_t",
        (_N, ("words", "const uint32_t *"), ("m", "uint64_t")),
        (4096, 1 << 20),
        lambda rng, n: {"words": _ints(rng, n, 0, 1 << 32, np.uint32), "m": (1 << 61) - 1},
    ),
    Kernel(
        "wrap_sum_m",
        "uint32_t",
        (_N, ("steps", "const uint8_t *"), ("m", "uint32_t")),
        (4096, 1 << 20),
        lambda rng, n: {"steps": _ints(rng, n, 0, 256, np.uint8), "m": 1000},
    ),
    # saturating sums, capped once per block (atlas/search/deferred.py)
    Kernel(
        "capped_total",
        "uint32_t",
        (_N, ("samples", "const uint16_t *")),
        (4096, 1 << 20),
        lambda rng, n: {"samples": _ints(rng, n, 0, 64, np.uint16)},  # the budget is reached in the larger
    ),
    Kernel(
        "sat_level",
        "uint16_t",
        (_N, ("bytes", "const uint8_t *")),
        (4096, 1 << 20),
        lambda rng, n: {"bytes": _ints(rng, n, 0, 256, np.uint8)},
    ),
    # a scan carried through the array it stores (atlas/search/carried.py)
    Kernel(
        "prefix_in_place",
        None,
        (_N, ("a", "uint32_t *")),
        (4096, 1 << 22),
        lambda rng, n: {"a": _ints(rng, n, 0, 1 << 32, np.uint32)},
        moved=lambda n: 8 * n,
        bound_sizes=(1 << 22,),
    ),
)
FAMILY_BY_NAME = {k.name: k for k in FAMILY}


@dataclass(frozen=True)
class Suite:
    """A set of kernels timed together: the reference C that holds them, the
    folder of their intents (intents/<kernel>.ax; a search's profile, where
    there is one, in its profiles/<kernel>.yaml) and how the table names them."""

    name: str
    kernels: tuple[Kernel, ...]
    c_file: Path  # the reference C
    intents: Path
    title: str
    note: str  # what n means where it is not the length of every array

    @property
    def by_name(self) -> dict[str, Kernel]:
        return {k.name: k for k in self.kernels}


TEN = Suite(
    "ten",
    KERNELS,
    REPO / "bench" / "kernels.c",
    INTENTS,
    "Atlas against the reference C",
    "matmul's n is the edge of n x n matrices",
)
FAMILY_SUITE = Suite(
    "family",
    FAMILY,
    REPO / "bench" / "family.c",
    INTENTS / "family",
    "the kernel families (unseen kernels), Atlas against the reference C",
    "matvec_t's n is the edge of its n x n matrix",
)
SUITES = {s.name: s for s in (TEN, FAMILY_SUITE)}

_DTYPE = {
    "float": np.float32,
    "double": np.float64,
    "int8_t": np.int8,
    "int16_t": np.int16,
    "int32_t": np.int32,
    "int64_t": np.int64,
    "uint8_t": np.uint8,
    "uint16_t": np.uint16,
    "uint32_t": np.uint32,
    "uint64_t": np.uint64,
    "size_t": np.uint64,
}
_CTYPE = {
    "float": ctypes.c_float,
    "double": ctypes.c_double,
    "int8_t": ctypes.c_int8,
    "int16_t": ctypes.c_int16,
    "int32_t": ctypes.c_int32,
    "int64_t": ctypes.c_int64,
    "uint8_t": ctypes.c_uint8,
    "uint16_t": ctypes.c_uint16,
    "uint32_t": ctypes.c_uint32,
    "uint64_t": ctypes.c_uint64,
    "size_t": ctypes.c_size_t,
}


def _base(ctype: str) -> str:
    return ctype.replace("const", "").replace("*", "").strip()


# ------------------------------------------------------------------ building


def find_kernels_c(path=None, suite: Suite = TEN) -> Path:
    """--kernels PATH, else the suite's reference C (bench/kernels.c, bench/family.c)."""
    if path is not None:
        if not Path(path).is_file():
            raise BenchError(f"{path}: no such file (--kernels names the reference {suite.c_file.name})")
        return Path(path)
    mine = suite.c_file
    if mine.is_file():
        return mine
    raise BenchError(
        f"cannot find the reference {mine.name} at {mine} (run from a clone of the repository); pass --kernels PATH"
    )


def gcc() -> str:
    cc = shutil.which("gcc")
    if cc is None:
        raise BenchError("atlas bench needs gcc on PATH (the reference C is built with gcc -O3 -march=native)")
    return cc


def gcc_version() -> str:
    return subprocess.run([gcc(), "--version"], capture_output=True, text=True).stdout.splitlines()[0]


def build_shared(source: Path, out: Path, flags) -> Path:
    done = subprocess.run([gcc(), *flags, "-o", str(out), str(source)], capture_output=True, text=True)
    if done.returncode:
        raise BenchError(f"gcc failed on {source}:\n{done.stderr.strip()}")
    return out


def shim_source(kernels) -> str:
    """C source of the timing loops: one per kernel signature, and one for memcpy."""
    out = [
        "#include <stddef.h>",
        "#include <stdint.h>",
        "#include <string.h>",
        "#include <time.h>",
        "",
        "static double now_ns(void) {",
        "    struct timespec t;",
        "    clock_gettime(CLOCK_MONOTONIC, &t);",
        "    return t.tv_sec * 1e9 + t.tv_nsec;",
        "}",
        "",
    ]
    for k in kernels:
        ret = k.ret or "void"
        types = [t for _, t in k.params]
        args = ", ".join(f"a{i}" for i in range(len(types)))
        decls = ", ".join(f"{t} a{i}" for i, t in enumerate(types))
        call = f"r = fn({args});" if k.ret else f"fn({args});"
        # The function pointer is opaque to gcc, so no call can be hoisted
        # or dropped; `last` keeps the final result for the output check.
        out += [
            f"typedef {ret} (*{k.name}_fn)({', '.join(types)});",
            f"double time_{k.name}({k.name}_fn fn, {decls}, long reps, void *last) {{",
            f"    {k.ret} r = 0;" if k.ret else "    (void)last;",
            "    double t0 = now_ns();",
            f"    for (long i = 0; i < reps; i++) {call}",
            "    double t1 = now_ns();",
            *(["    if (last) memcpy(last, &r, sizeof r);"] if k.ret else []),
            "    return (t1 - t0) / (double)reps;",
            "}",
            "",
        ]
    # memcpy through a volatile pointer: gcc cannot inline or elide it, and it
    # pays the same indirect call as the kernels.
    out += [
        "static void *(*volatile copy_fn)(void *, const void *, size_t) = memcpy;",
        "double time_copy(void *dst, const void *src, size_t bytes, long reps) {",
        "    void *(*cp)(void *, const void *, size_t) = copy_fn;",
        "    double t0 = now_ns();",
        "    for (long i = 0; i < reps; i++) cp(dst, src, bytes);",
        "    double t1 = now_ns();",
        "    return (t1 - t0) / (double)reps;",
        "}",
        "",
    ]
    return "\n".join(out)


class Shim:
    """The compiled timing loops, callable from Python."""

    def __init__(self, kernels, workdir: Path):
        src = workdir / "bench_shim.c"
        src.write_text(shim_source(kernels))
        self.lib = ctypes.CDLL(str(build_shared(src, workdir / "bench_shim.so", SHIM_FLAGS)))
        for k in kernels:
            f = getattr(self.lib, f"time_{k.name}")
            f.argtypes = (
                [ctypes.c_void_p]
                + [ctypes.c_void_p if t.endswith("*") else _CTYPE[t] for _, t in k.params]
                + [ctypes.c_long, ctypes.c_void_p]
            )
            f.restype = ctypes.c_double
        self.lib.time_copy.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_long]
        self.lib.time_copy.restype = ctypes.c_double

    def caller(self, k: Kernel, fn: int, args: list) -> Callable[[int], float]:
        """reps -> ns per call of fn on args (a list in parameter order)."""
        f = getattr(self.lib, f"time_{k.name}")
        raw = [a.ctypes.data if isinstance(a, np.ndarray) else a for a in args]
        return lambda reps: f(fn, *raw, reps, None)

    def call_once(self, k: Kernel, fn: int, args: list):
        """Call fn once on args, through the timing loop; its return value (None for void)."""
        last = ctypes.create_string_buffer(8)
        f = getattr(self.lib, f"time_{k.name}")
        f(fn, *[a.ctypes.data if isinstance(a, np.ndarray) else a for a in args], 1, last)
        if k.ret is None:
            return None
        dt = np.dtype(_DTYPE[k.ret])
        return np.frombuffer(last.raw[: dt.itemsize], dt)[0]

    def copier(self, dst: np.ndarray, src: np.ndarray) -> Callable[[int], float]:
        return lambda reps: self.lib.time_copy(dst.ctypes.data, src.ctypes.data, src.nbytes, reps)


def address(lib: ctypes.CDLL, name: str) -> int:
    at = ctypes.cast(getattr(lib, name), ctypes.c_void_p).value
    if at is None:  # a symbol the library exports is never at address 0
        raise BenchError(f"{name} is at address 0")
    return at


# ------------------------------------------------------------------ Atlas side


def _abi(ret: str | None, types) -> tuple:
    """A signature in C types, with size_t read as the uint64_t it is on x86_64."""
    norm = lambda t: t.replace("size_t", "uint64_t") if t else t  # noqa: E731
    return norm(ret), tuple(norm(t) for t in types)


def intent_abi(signature: str) -> tuple:
    """The C signature an intent signature stands for, e.g. 'fn f(n: u64, x: mut [i32; n])'
    -> (None, ('uint64_t', 'int32_t *'))."""
    from ..meaning import ir
    from ..front.check import check
    from ..front.syntax import parse

    fn = check(parse(signature + (" { return 0; }" if "->" in signature else " { }"), "<manifest>")).functions[0]
    types = []
    for p in fn.params:
        if isinstance(p.ty, ir.Array):
            types.append(("" if p.ty.mutable else "const ") + ir.C_TYPE[p.ty.elem.name] + " *")
        else:
            types.append(ir.C_TYPE[p.ty.name])
    return _abi(ir.C_TYPE[fn.ret.name] if fn.ret else None, types)


def compile_atlas(k: Kernel, probe: Probe, workdir: Path, intents: Path = INTENTS, search=None):
    """Compile <intents>/<kernel>.ax for the probed machine; (library, fn address,
    the search's account or None).  With `search` (atlas.search.explode.Options), the
    kernel's profile <intents>/profiles/<kernel>.yaml is what candidates are
    timed on; a kernel without one (every family kernel) is searched as
    `atlas compile --search` searches any function, on generated inputs
    (atlas.search.profile.generated: Options.generated_size elements).
    Refuses an artefact whose signature is not the reference C's: calling it
    would pass the arguments wrongly, not just give a wrong answer."""
    from ..pipeline import compile_files

    out = workdir / "atlas" / k.name
    if search is not None:
        from dataclasses import replace as _with
        from ..search.profile import load_profile

        prof = intents / "profiles" / f"{k.name}.yaml"
        search = _with(search, profiles={k.name: load_profile(prof)} if prof.exists() else {})
    compiled = compile_files([intents / f"{k.name}.ax"], probe, out, search=search)
    manifest = compiled.manifest
    entry = manifest.functions[k.name]
    want = _abi(k.ret, [t for _, t in k.params])
    if intent_abi(entry.signature) != want:
        raise BenchError(f"{k.name}: intent signature `{entry.signature}` is not the reference C's {want}")
    lib = ctypes.CDLL(str(out / (manifest.library or "")))
    return lib, address(lib, k.name), entry.search


# ------------------------------------------------------------------ measuring


def aligned(values: np.ndarray) -> np.ndarray:
    """A copy at a 64-byte boundary: the same alignment on every run and for both sides."""
    buf = np.empty(values.nbytes + ALIGN, np.uint8)
    off = -buf.ctypes.data % ALIGN
    out = buf[off : off + values.nbytes].view(values.dtype)
    out[...] = values
    return out


def make_inputs(k: Kernel, n: int) -> dict:
    """The inputs of one case, seeded by (kernel, n) so every run draws the same ones."""
    rng = np.random.default_rng(zlib.crc32(f"{k.name}:{n}".encode()))
    values = k.inputs(rng, n)
    for p, t in k.params:
        if p == "n":
            continue
        if t.endswith("*"):
            if p not in values:  # a pure output
                values[p] = np.zeros(k.length(n), _DTYPE[_base(t)])
            values[p] = aligned(np.asarray(values[p], _DTYPE[_base(t)]))
        else:
            values[p] = _DTYPE[t](values[p]).item()  # as the C scalar type holds it
    return values


def _args(k: Kernel, n: int, values: dict, fresh: bool) -> list:
    return [
        n if p == "n" else (aligned(values[p]) if fresh and isinstance(values[p], np.ndarray) else values[p])
        for p, _ in k.params
    ]


def compare(k: Kernel, values: dict, c: dict, atlas: dict) -> tuple[bool, str, float | None]:
    """Outputs of both sides (name -> array, 'return' -> scalar): (match, what differs, max rel. error)."""
    worst = None
    for name in c:
        want, got = np.atleast_1d(c[name]), np.atleast_1d(atlas[name])
        if k.tol is None:
            differ = np.flatnonzero(want != got)
            if differ.size:
                i = differ[0]
                where = f"{name}[{i}]" if name != "return" else "return value"
                return False, (f"{where}: C {want[i]}, Atlas {got[i]} ({differ.size} of {want.size} differ)"), None
            continue
        w, g = want.astype(np.float64), got.astype(np.float64)
        scale = np.abs(w)
        if k.magnitude is not None:
            scale = np.maximum(scale, k.magnitude(values))
        with np.errstate(invalid="ignore", divide="ignore"):
            err = np.abs(g - w) / np.maximum(scale, np.finfo(np.float32).tiny)
        err[np.isnan(w) & np.isnan(g)] = 0.0  # NaN where C has NaN is a match
        err[np.isnan(err)] = np.inf
        i = int(np.argmax(err))
        worst = max(worst or 0.0, float(err[i]))
        if err[i] > k.tol:
            bad = int(np.count_nonzero(err > k.tol))
            return (
                False,
                (
                    f"{name}[{i}]: C {want[i]!r}, Atlas {got[i]!r}, relative error {err[i]:.3g} "
                    f"> {k.tol:g} ({bad} of {err.size} elements)"
                ),
                worst,
            )
    return True, "", worst


def check_outputs(k: Kernel, n: int, values: dict, shim: Shim, c_fn: int, atlas_fn: int):
    """Run each side once on its own fresh copy of the inputs and compare what they wrote."""
    outs = []
    for fn in (c_fn, atlas_fn):
        args = _args(k, n, values, fresh=True)
        ret = shim.call_once(k, fn, args)
        written = {p: a for (p, _), a in zip(k.params, args) if p in k.written}
        outs.append({**written, **({"return": ret} if k.ret else {})})
    ok, detail, worst = compare(k, values, *outs)
    compared = sum(np.size(v) for v in outs[0].values())
    return ok, detail, worst, compared


def sample(calls: dict[str, Callable[[int], float]], reps: dict[str, int], samples: int) -> dict[str, list[float]]:
    """`samples` rounds, each timing every call once, in the order given: C, Atlas, C, Atlas, ..."""
    out: dict[str, list[float]] = {label: [] for label in calls}
    for _ in range(samples):
        for label, call in calls.items():
            out[label].append(call(reps[label]))
    return out


def per_call_ns(call: Callable[[int], float]) -> float:
    """A rough ns per call, for choosing reps; the first call also warms up
    (page faults, caches, branch predictors, clock speed)."""
    call(1)
    reps = 1
    while True:
        ns = call(reps)
        if ns * reps >= 1e6 or reps >= 1 << 24:  # 1 ms: the clock is well resolved
            return max(ns, 1e-3)
        reps *= 8


@dataclass
class Row:
    kernel: str
    n: int
    ok: bool = False
    detail: str = ""  # why not ok
    compared: int = 0  # output elements compared
    max_rel_error: float | None = None  # float kernels
    c_ns: float | None = None  # medians, ns per call
    atlas_ns: float | None = None
    ratio: float | None = None  # median of the pairwise ratios C/Atlas
    ratio_iqr: tuple | None = None  # their quartiles: how much the machine moved
    copy_ns: float | None = None
    copy_bytes: int | None = None
    variant: str = ""  # the search's champion, in short
    search_s: float | None = None  # how long its search took (0: from the archive)
    reps: dict = field(default_factory=dict)
    samples: dict = field(default_factory=dict)  # label -> every sample, ns per call

    @property
    def c_bound(self):
        return self.c_ns / self.copy_ns if self.copy_ns and self.c_ns else None

    @property
    def atlas_bound(self):
        return self.atlas_ns / self.copy_ns if self.copy_ns and self.atlas_ns else None


def _iqr(r: "Row") -> str:
    return f" ({_x(r.ratio_iqr[0])}–{_x(r.ratio_iqr[1])})" if r.ratio_iqr else ""


def bench_case(
    k: Kernel,
    n: int,
    shim: Shim,
    c_fn: int,
    atlas_fn: int,
    *,
    samples: int,
    target_s: float,
    budget_s: float,
    with_bound: bool,
) -> Row:
    row = Row(k.name, n)
    values = make_inputs(k, n)
    row.ok, row.detail, row.max_rel_error, row.compared = check_outputs(k, n, values, shim, c_fn, atlas_fn)
    if not row.ok:
        return row  # a wrong answer gets no time
    # Both sides share these buffers, as README asks.  saxpy's y grows by
    # a*x on every call; it stays far from overflow, and saxpy's speed does
    # not depend on the values.
    args = _args(k, n, values, fresh=False)
    calls = {"C": shim.caller(k, c_fn, args), "Atlas": shim.caller(k, atlas_fn, args)}
    if with_bound and k.moved is not None:
        row.copy_bytes = k.moved(n) // 2
        src = aligned(np.ones(row.copy_bytes, np.uint8))  # written, so no page is the shared zero page
        dst = aligned(np.ones(row.copy_bytes, np.uint8))
        calls["copy"] = shim.copier(dst, src)
    per = {label: per_call_ns(call) for label, call in calls.items()}
    # C and Atlas repeat the same number of times, so each sample does the
    # same work; the slower of the two sets it at ~target_s per sample.
    both = max(1, round(target_s * 1e9 / max(per["C"], per["Atlas"])))
    row.reps = {label: both if label != "copy" else max(1, round(target_s * 1e9 / per[label])) for label in calls}
    # A very slow side must not blow the run time: fewer samples (never under 3).
    round_ns = sum(per[label] * row.reps[label] for label in calls)
    samples = max(min(samples, 3), min(samples, int(budget_s * 1e9 / round_ns)))
    row.samples = sample(calls, row.reps, samples)
    med = {label: statistics.median(s) for label, s in row.samples.items()}
    row.c_ns, row.atlas_ns, row.copy_ns = med["C"], med["Atlas"], med.get("copy")
    # Each C sample is paired with the Atlas sample taken right after it, so a
    # drift in the machine's speed cancels in the pair's ratio.
    pairs = sorted(c / a for c, a in zip(row.samples["C"], row.samples["Atlas"]))
    row.ratio = statistics.median(pairs)
    q = statistics.quantiles(pairs, n=4) if len(pairs) >= 2 else [pairs[0]] * 3
    row.ratio_iqr = (q[0], q[2])
    return row


# ------------------------------------------------------------------ the whole run


@dataclass
class Report:
    date: str
    machine: dict
    gcc: str
    kernels_c: str
    atlas_version: str
    samples: int
    target_ms: float
    rows: list[Row]
    suite: str = "ten"  # a name in SUITES

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def geomean(self) -> float | None:
        ratios = [r.ratio for r in self.rows if r.ok and r.ratio]
        return math.exp(sum(map(math.log, ratios)) / len(ratios)) if ratios else None

    def as_dict(self) -> dict:
        d = asdict(self)
        for row, out in zip(self.rows, d["rows"]):
            out["c_over_bound"], out["atlas_over_bound"] = row.c_bound, row.atlas_bound
        d["geomean_ratio"] = self.geomean
        d["copy_bound"] = COPY_NOTE
        return d


def run_bench(
    kernels_c=None,
    *,
    suite: Suite = TEN,
    only=(),
    sizes=(),
    quick=False,
    samples=None,
    target_s=None,
    budget_s=8.0,
    probe=None,
    workdir=None,
    contender=None,
    intents=None,
    search=None,
    log: Callable[[str], None] = lambda s: None,
) -> Report:
    """Measure the kernels of `suite` (TEN, FAMILY_SUITE) named in `only` (default: all)
    against kernels_c (default: the suite's C); intents: their folder (default: the suite's).

    sizes: n to time instead of README's (then every streaming kernel gets
    the copy bound).  quick: only README's smallest size, 5 samples of ~2 ms.
    contender: a shared library to measure instead of compiling the intents
    with Atlas (the tests use it to check the harness itself).  search:
    atlas.search.explode.Options to search each kernel (on its profile, if any) first."""
    from ..machine import probe as hwprobe

    kernels = _selected(only, suite)
    samples = samples or (5 if quick else 15)
    target_s = target_s or (0.002 if quick else 0.010)
    source = find_kernels_c(kernels_c, suite)
    probe = probe or hwprobe.probe()
    cpu = probe.cpu
    rows = []
    with tempfile.TemporaryDirectory(prefix="atlas-bench-") as tmp:
        work = Path(workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        c_lib, shim, other = _libraries(source, kernels, work, contender, log)
        run = _Run(
            work=work,
            shim=shim,
            c_lib=c_lib,
            contender=other,
            probe=probe,
            cpu=cpu,
            intents=Path(intents) if intents is not None else suite.intents,
            search=search,
            sizes=sizes,
            quick=quick,
            samples=samples,
            target_s=target_s,
            budget_s=budget_s,
            log=log,
        )
        with pinned():
            for k in kernels:
                rows += _bench_kernel(run, k)
    return _report(probe, source, samples, target_s, rows, suite)


def _libraries(
    source: Path, kernels, work: Path, contender, log: Callable[[str], None]
) -> tuple[ctypes.CDLL, Shim, ctypes.CDLL | None]:
    """(the reference C built as README prescribes, the timing shims, the
    contender's library or None)."""
    log(f"building {source} with gcc {' '.join(C_FLAGS)}")
    c_lib = ctypes.CDLL(str(build_shared(source, work / "kernels_c.so", C_FLAGS)))
    shim = Shim(kernels, work)
    other = ctypes.CDLL(str(contender)) if contender else None
    return c_lib, shim, other


def _selected(only, suite: Suite = TEN) -> list[Kernel]:
    """The suite's kernels named in `only` (all of them when it names none)."""
    known = suite.by_name
    unknown = [name for name in only if name not in known]
    if unknown:
        flag = "with" if suite is TEN else "without"
        elsewhere = all(name in SUITES["family" if suite is TEN else "ten"].by_name for name in unknown)
        hint = f"; run {flag} --family for those" if elsewhere else ""
        raise BenchError(f"unknown kernel(s) {', '.join(unknown)} (kernels: {', '.join(known)}{hint})")
    return [known[name] for name in only] if only else list(suite.kernels)


@dataclass(frozen=True)
class _Run:
    """What every kernel of one `run_bench` shares: where to build, the two
    libraries and the shim, the machine, and the settings of the timing."""

    work: Path
    shim: Shim
    c_lib: ctypes.CDLL
    contender: ctypes.CDLL | None  # measured instead of compiling the intents
    probe: Probe
    cpu: Any  # probe.cpu
    intents: Path
    search: Any  # atlas.search.explode.Options, or None
    sizes: Sequence[int]  # n to time instead of README's; empty: README's
    quick: bool
    samples: int
    target_s: float
    budget_s: float
    log: Callable[[str], None]


def _bench_kernel(run: _Run, k: Kernel) -> list[Row]:
    """The rows of one kernel, one per size; a kernel that fails to build
    gets a row per size saying why, and must not hide the others."""
    cases = run.sizes or (k.sizes[:1] if run.quick else k.sizes)
    found = None
    try:
        if run.contender is not None:
            lib, atlas_fn = run.contender, address(run.contender, k.name)
        else:
            run.log(
                f"compiling {_shown(run.intents / f'{k.name}.ax')} with Atlas for {run.cpu.llvm_cpu}"
                + (" (searching)" if run.search is not None else "")
            )
            lib, atlas_fn, found = compile_atlas(k, run.probe, run.work, run.intents, run.search)
    except Exception as exc:  # one kernel that fails to build must not hide the others
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [Row(k.name, n, detail=f"not compiled: {why}") for n in cases]
    rows = []
    for n in cases:  # `lib` stays referenced while its function is timed
        run.log(f"timing {k.name} n={n}")
        row = bench_case(
            k,
            n,
            run.shim,
            address(run.c_lib, k.name),
            atlas_fn,
            samples=run.samples,
            target_s=run.target_s,
            budget_s=run.budget_s,
            with_bound=n in k.bound_sizes or bool(run.sizes),
        )
        if found:
            row.variant = found.genome
            row.search_s = 0.0 if found.origin is Origin.ARCHIVE else found.seconds
        rows.append(row)
    return rows


def _shown(path: Path) -> str:
    """A path as the log shows it: relative to the repository where it is inside it."""
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def _report(probe: Probe, source: Path, samples: int, target_s: float, rows: list[Row], suite: Suite = TEN) -> Report:
    """The Report of a run: its rows, with the machine and the tools that made them."""
    from .. import __version__
    from ..machine import probe as hwprobe

    cpu = probe.cpu
    return Report(
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        machine={
            "model_name": cpu.model_name,
            "uarch": cpu.uarch,
            "llvm_cpu": cpu.llvm_cpu,
            "cores": cpu.cores,
            "threads": cpu.threads,
            "fingerprint": hwprobe.fingerprint(probe),
        },
        gcc=gcc_version(),
        kernels_c=str(source),
        atlas_version=__version__,
        samples=samples,
        target_ms=target_s * 1e3,
        rows=rows,
        suite=suite.name,
    )


class pinned:
    """Keep the process on one CPU while timing: a migration mid-sample
    would cost cold caches to whichever side it hit."""

    def __enter__(self):
        try:
            self.saved = os.sched_getaffinity(0)
            os.sched_setaffinity(0, {max(self.saved)})
        except (AttributeError, OSError):
            self.saved = None

    def __exit__(self, *exc):
        if self.saved:
            os.sched_setaffinity(0, self.saved)
        return False


# ------------------------------------------------------------------ output


def _time(ns: float | None) -> str:
    if ns is None:
        return ""
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale * 0.9995:  # so 999.7 ns reads "1 µs", not "1e+03 ns"
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def _n(n: int) -> str:
    return f"2^{n.bit_length() - 1}" if n >= 1 << 16 and n & (n - 1) == 0 else str(n)


def _x(v: float | None) -> str:
    return "" if v is None else f"{v:.2f}"


def _bound(r: Row) -> str:
    """The copy bound's cell: its time and the bytes it moved."""
    if not r.copy_ns:
        return ""
    if r.copy_bytes is None:  # bench_case sets copy_bytes whenever it times the copy
        raise BenchError(f"{r.kernel}: a copy time without the bytes copied")
    return f"{_time(r.copy_ns)} ({r.copy_bytes / 2**20:.3g} MiB)"


def render(report: Report) -> str:
    m = report.machine
    suite = SUITES[report.suite]
    lines = [
        f"# atlas bench: {suite.title}",
        "",
        f"- date: {report.date}",
        f"- machine: {m['model_name'] or 'unknown CPU'} ({m['uarch'] or 'unknown uarch'}), "
        f"{m['cores']} cores / {m['threads']} threads, probe fingerprint {m['fingerprint']}",
        f"- C: {report.gcc}, `gcc {' '.join(C_FLAGS)}` on {report.kernels_c}",
        f"- Atlas {report.atlas_version}: {_shown(suite.intents)}/*.ax compiled for this probe ({m['llvm_cpu']})",
        f"- timing: median of up to {report.samples} samples per side, C and Atlas alternating on the "
        f"same buffers; each sample is a C loop of calls through the same function-pointer shim "
        f"(~{report.target_ms:g} ms), reported as time per call",
        "- C/Atlas above 1.0: Atlas is faster: the median of the ratios of adjacent C and Atlas samples, "
        f"with their quartiles in brackets; {suite.note}",
        f"- {COPY_NOTE}",
        "",
        "| kernel | n | C | Atlas | C/Atlas | copy bound | C/bound | Atlas/bound | outputs | variant | search |",
        "|---|--:|--:|--:|--:|--:|--:|--:|---|---|--:|",
    ]
    for r in report.rows:
        if r.ok:
            how = "bit for bit" if r.max_rel_error is None else f"max rel. err {r.max_rel_error:.1e}"
            check = f"match, {how} ({r.compared} value{'s' if r.compared != 1 else ''})"
        else:
            check = ("**MISMATCH**: " if r.compared else "**FAILED**: ") + r.detail.replace("|", "\\|")
        bound = _bound(r)
        lines.append(
            f"| {r.kernel} | {_n(r.n)} | {_time(r.c_ns)} | {_time(r.atlas_ns)} | "
            f"{'**' + _x(r.ratio) + '**' + _iqr(r) if r.ratio else '—'} | {bound} | "
            f"{_x(r.c_bound)} | {_x(r.atlas_bound)} | {check} | {r.variant} | "
            f"{'' if r.search_s is None else ('archive' if r.search_s == 0 else f'{r.search_s:.0f} s')} |"
        )
    bad = [r for r in report.rows if not r.ok]
    lines.append("")
    if bad:
        lines.append(
            f"**{len(bad)} of {len(report.rows)} rows FAILED their output check or did not "
            f"compile; they are left out of the mean.**"
        )
        lines.append("")
    g = report.geomean
    counted = len(report.rows) - len(bad)
    lines.append(
        f"geometric mean of C/Atlas over {counted} rows: {g:.2f}"
        if g is not None
        else "geometric mean of C/Atlas: none (no row passed)"
    )
    return "\n".join(lines)


def write_json(report: Report, path) -> None:
    """Write the raw figures atomically: a reader sees the old file or the new one."""
    path = Path(path)
    write_atomic(path, json.dumps(report.as_dict(), indent=2) + "\n")
