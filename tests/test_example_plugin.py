"""The example plugin of examples/atlas-c-backend: installed like a user's
package (`make install` does it), it is listed by `atlas backends`, and the
C it writes computes exactly what the interpreter computes: on every golden
case of every intent, and on the edge cases of atlas/meaning/semantics.py."""

from __future__ import annotations

import ctypes
import itertools
import json
import math
import shutil
import struct
import subprocess
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import golden
from atlas.meaning import interp, ir
from atlas.machine import runtime
from atlas.machine.manifest import Manifest
from atlas.tools.cli import main
from atlas.pipeline import compile_files
from atlas.machine.probe import load_probe

pytestmark = pytest.mark.skipif(
    find_spec("atlas_c_backend") is None,
    reason="the example plugin atlas_c_backend is not installed "
    "(pip install ./examples/atlas-c-backend, or make install)",
)

CFLAGS = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off"]
STEMS = sorted(p.stem for p in (golden.ROOT / "intents").glob("*.ax"))
POPCNT = golden.FIXTURES / "probe-popcnt.json"


def _build(out: Path) -> dict:
    """Compile the C the backend wrote into a shared library (warnings are
    errors); {name: a callable checked against the signature, as atlas.machine.runtime
    calls a library}."""
    manifest = json.loads((out / "manifest.json").read_text())
    sources = [out / f for f in manifest["c_files"] if f.endswith(".c")]
    lib = out / "lib.so"
    cc = shutil.which("gcc") or shutil.which("cc")
    done = subprocess.run(
        [cc, *CFLAGS, "-shared", "-fPIC", *map(str, sources), "-o", str(lib), "-lm"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    dll = ctypes.CDLL(str(lib))
    entries = Manifest.from_json(manifest).functions
    return {name: runtime.Function(name, entry, getattr(dll, entry.symbol)) for name, entry in entries.items()}


def _compile(path: Path, out: Path, probe=POPCNT) -> dict:
    compile_files([path], load_probe(probe), out, backend="c", use_atlas=True, learned=[], search=None)
    return _build(out)


def _bits(v):
    """A value as its bits, so that -0.0 differs from 0.0 (any NaN is one NaN)."""
    if isinstance(v, float):
        return "nan" if math.isnan(v) else struct.pack("<d", v)
    if isinstance(v, np.ndarray):
        if v.dtype.kind == "f":
            return [("nan" if math.isnan(x) else x.tobytes()) for x in v]
        return v.tolist()
    return v


# ---------------------------------------------------------------- the plugin is found


def test_atlas_backends_lists_the_example_plugin():
    result = CliRunner().invoke(main, ["backends", "--hw", str(POPCNT)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    at = next(i for i, line in enumerate(lines) if line.split()[:1] == ["c"])
    assert "plain C11 for any machine with a C compiler" in lines[at]
    assert "from atlas-c-backend 0.1.0" in lines[at + 1] and "can target this machine" in lines[at + 1]


def test_atlas_compile_backend_c_writes_a_header_and_a_source(tmp_path):
    out = tmp_path / "saxpy-c"
    result = CliRunner().invoke(
        main,
        [
            "compile",
            str(golden.ROOT / "intents" / "saxpy.ax"),
            "--hw",
            str(POPCNT),
            "--backend",
            "c",
            "--no-search",
            "--no-learned",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert {"saxpy.h", "saxpy.c", "manifest.json"} <= {p.name for p in out.iterdir()}
    assert "void saxpy(uint64_t n, float a, const float *x, float *y);" in (out / "saxpy.h").read_text()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["backend"] == "c" and manifest["c_files"] == ["saxpy.c", "saxpy.h"]
    entry = manifest["functions"]["saxpy"]
    assert entry["signature"] == "fn saxpy(n: u64, a: f32, x: [f32; n], y: mut [f32; n])"
    assert entry["symbol"] == "saxpy" and entry["ret"] is None and len(entry["params"]) == 4


# ---------------------------------------------------------------- the goldens


def _check(call, case, names):
    args = [golden.decode(a) for a in case["args"]]
    result = call(*args)
    assert _bits(result) == _bits(case["result"]), (case["function"], result, case["result"])
    for name, want in case["written"].items():
        got = args[names.index(name)]
        assert _bits(got) == _bits(golden.decode(want)), (case["function"], name)


@pytest.mark.cc
@pytest.mark.parametrize("stem", STEMS)
def test_c_code_matches_goldens(stem, tmp_path):
    ran = 0
    for probe_name in golden.PROBES:
        out = tmp_path / probe_name
        compiled = compile_files(
            [golden.ROOT / "intents" / f"{stem}.ax"],
            load_probe(golden.FIXTURES / f"{probe_name}.json"),
            out,
            backend="c",
            use_atlas=True,
            learned=[],
            search=None,
        )
        lib = _build(out)
        for case in golden.load(stem)["cases"]:
            if case["probe"] == probe_name:
                names = [p.name for p in compiled.module.function(case["function"]).params]
                _check(lib[case["function"]], case, names)
                ran += 1
    assert ran


# ---------------------------------------------------------------- edge semantics

EDGE = """
fn shl32(a: i32, s: u32) -> i32 { return a << s; }
fn shr32(a: i32, s: i64) -> i32 { return a >> s; }
fn shr16(a: u16, s: u8) -> u16 { return a >> s; }
fn shl8(a: u8, s: u64) -> u8 { return a << s; }
fn div32(a: i32, b: i32) -> i32 { return a / b; }
fn rem32(a: i32, b: i32) -> i32 { return a % b; }
fn div8(a: u8, b: u8) -> u8 { return a / b; }
fn rem64(a: i64, b: i64) -> i64 { return a % b; }
fn f2i(x: f32) -> i32 { return x as i32; }
fn f2u(x: f64) -> u64 { return x as u64; }
fn f2i8(x: f64) -> i8 { return x as i8; }
fn f2b(x: f32) -> bool { return x as bool; }
fn u2f(x: u64) -> f32 { return x as f32; }
fn s2f(x: i64) -> f32 { return x as f32; }
fn b2f(b: bool) -> f64 { return b as f64; }
fn sext(x: i8) -> u64 { return x as i64 as u64; }
fn rotl32(a: u32, s: i64) -> u32 { return rotl(a, s); }
fn rotr8(a: u8, s: u32) -> u8 { return rotr(a, s); }
fn bits(a: u16) -> u16 { return popcount(a) + clz(a) * 17 + ctz(a) * 289 + bswap(a); }
fn abs8(a: i8) -> i8 { return abs(a); }
fn hi64(a: i64, b: i64) -> i64 { return mulhi(a, b); }
fn hiu64(a: u64, b: u64) -> u64 { return mulhi(a, b); }
fn hi16(a: i16, b: i16) -> i16 { return mulhi(a, b); }
fn wide8(a: i8, b: i8) -> i16 { return wmul(a, b); }
fn sat8(a: i8, b: i8) -> i8 { return add_sat(a, b) ^ sub_sat(a, b); }
fn satu16(a: u16, b: u16) -> u16 { return add_sat(a, b) ^ sub_sat(a, b); }
fn fmin32(a: f32, b: f32) -> f32 { return min(a, b); }
fn fmax64(a: f64, b: f64) -> f64 { return max(a, b); }
fn imin(a: i16, b: i16) -> i16 { return min(a, b) - max(a, b); }
fn fabs32(a: f32) -> f32 { return abs(a); }
fn root(a: f64) -> f64 { return sqrt(a); }
fn mul8(a: u8, b: u8) -> u8 { return a * b - (-a); }
fn cmp(a: i8, b: i8) -> bool { return (a < b) ^ (a as u8 >= b as u8); }
fn oob(n: u64, x: mut [i32; n], i: u64) -> i32 {
    x[i] = 7;
    return x[i + 1] + x[i];
}
fn mark(n: u64, x: mut [i32; n], k: u64) -> bool {
    x[k] = x[k] * 10 + 1 + k as i32;
    return k == 0;
}
fn order(n: u64, x: mut [i32; n]) -> i32 {
    let a = mark(n, x, 0) || mark(n, x, 1);
    let b = mark(n, x, 2) && mark(n, x, 3);
    let c = x[2] + select(mark(n, x, 2), 1, 2) * x[2];
    mark(n, x, 4);
    return c + select(a, 100, 0) + select(b, 1000, 0);
}
fn wrap(n: u64, x: [i32; n * 2]) -> i32 {
    let s: i32 = 0;
    for i in (n as i32 - 3)..(n as i32) { s += x[i]; }
    return s;
}
fn loops(k: u8) -> u32 {
    let t: u32 = 0;
    for i in (k - 3)..k { t = t * 3 + i as u32; }
    let j: i8 = -128;
    while j < -120 { t += 1; j += 3; }
    return t;
}
"""

I8 = (-128, -127, -1, 0, 1, 2, 7, 8, 127)
U8 = (0, 1, 2, 7, 8, 9, 127, 128, 255)
I16 = (-32768, -32767, -256, -1, 0, 1, 255, 256, 32767)
U16 = (0, 1, 0x8000, 0x00F0, 0x1234, 0xFFFF)
I32 = (-(2**31), -(2**31) + 1, -7, -1, 0, 1, 7, 31, 32, 2**31 - 1)
U32 = (0, 1, 7, 31, 32, 33, 64, 2**31, 2**32 - 1)
I64 = (-(2**63), -(2**63) + 1, -(2**32), -7, -1, 0, 1, 3, 31, 32, 63, 64, 2**32 + 5, 2**63 - 1)
U64 = (0, 1, 7, 8, 63, 64, 2**32, 2**53 + 1, 2**63, 2**64 - 1)
F32 = [
    np.float32(v)
    for v in (
        0.0,
        -0.0,
        0.5,
        -0.5,
        1.5,
        -1.0,
        2.5,
        1e10,
        -1e10,
        2**31,
        -(2**31),
        2.0**31 - 128,
        3.4e38,
        float("inf"),
        float("-inf"),
        float("nan"),
    )
]
F64 = [
    0.0,
    -0.0,
    0.75,
    -0.75,
    -1.0,
    127.9,
    128.0,
    -128.9,
    -129.0,
    2.0**63,
    2.0**64,
    2.0**64 - 2048,
    -1e300,
    1e300,
    float("inf"),
    float("-inf"),
    float("nan"),
    5e-324,
]
BOOL = (False, True)

SCALAR_CASES = {
    "shl32": (I32, U32),
    "shr32": (I32, I64),
    "shr16": (U16, U8),
    "shl8": (U8, U64),
    "div32": (I32, I32),
    "rem32": (I32, I32),
    "div8": (U8, U8),
    "rem64": (I64, I64),
    "f2i": (F32,),
    "f2u": (F64,),
    "f2i8": (F64,),
    "f2b": (F32,),
    "u2f": (U64 + (2**24 + 1, 2**64 - 2**39, 2**64 - 2**40 + 1),),
    "s2f": (I64 + (2**24 + 1, -(2**24) - 3),),
    "b2f": (BOOL,),
    "sext": (I8,),
    "rotl32": (U32, I64),
    "rotr8": (U8, U32),
    "bits": (U16,),
    "abs8": (I8,),
    "hi64": (I64, I64),
    "hiu64": (U64, U64),
    "hi16": (I16, I16),
    "wide8": (I8, I8),
    "sat8": (I8, I8),
    "satu16": (U16, U16),
    "fmin32": (F32, F32),
    "fmax64": (F64, F64),
    "imin": (I16, I16),
    "fabs32": (F32,),
    "root": (F64,),
    "mul8": (U8, U8),
    "cmp": (I8, I8),
    "loops": ((3, 4, 10, 255, 0, 1),),
}


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    d = tmp_path_factory.mktemp("edge")
    path = d / "edge.ax"
    path.write_text(EDGE)
    out = d / "out"
    compiled = compile_files([path], load_probe(POPCNT), out, backend="c", use_atlas=True, learned=[], search=None)
    return compiled.module, _build(out)


@pytest.mark.cc
@pytest.mark.parametrize("name", sorted(SCALAR_CASES))
def test_edge_semantics_agree_with_the_interpreter(edge, name):
    module, lib = edge
    for args in itertools.product(*SCALAR_CASES[name]):
        want = interp.run(module, name, *args)
        got = lib[name](*args)
        assert _bits(got) == _bits(want), (name, args, got, want)


@pytest.mark.cc
def test_out_of_range_reads_give_zero_and_writes_do_nothing(edge):
    module, lib = edge
    for i in (0, 3, 4, 5, 2**63, 2**64 - 1):
        x, y = np.arange(1, 6, dtype=np.int32), np.arange(1, 6, dtype=np.int32)
        assert lib["oob"](5, x, i) == interp.run(module, "oob", 5, y, i), i
        assert x.tolist() == y.tolist(), i
    # a loop whose bounds wrap to a negative index: i32 indices read as unsigned
    x = np.arange(1, 9, dtype=np.int32)
    for n in (0, 1, 2, 4):
        assert lib["wrap"](n, x[: 2 * n].copy()) == interp.run(module, "wrap", n, x[: 2 * n].copy()), n


@pytest.mark.cc
def test_calls_and_short_circuits_run_in_the_interpreters_order(edge):
    module, lib = edge
    x, y = np.arange(5, dtype=np.int32), np.arange(5, dtype=np.int32)
    assert lib["order"](5, x) == interp.run(module, "order", 5, y)
    assert x.tolist() == y.tolist()


@pytest.mark.cc
@pytest.mark.parametrize("case", ["ring", "tangled", "conditional_calls"])
def test_local_arrays_jumps_and_conditionals_agree_with_the_interpreter(tmp_path, case):
    import test_control
    import test_local_arrays
    import test_soundness

    text = {
        "ring": test_local_arrays.RING,
        "tangled": test_control.TANGLED,
        "conditional_calls": test_soundness.CONDITIONAL_CALLS,
    }[case]
    path = tmp_path / f"{case}.ax"
    path.write_text(text)
    out = tmp_path / "out"
    module = compile_files([path], load_probe(POPCNT), out, backend="c", learned=[]).module
    lib = _build(out)
    rng = np.random.default_rng(23)
    fn = module.function("f")
    for _ in range(40):
        n = int(rng.integers(0, 9))
        args: list = []
        for p in fn.params:
            if p.name == "n":
                args.append(n)
            elif isinstance(p.ty, ir.Array):
                dt = interp.dtype(p.ty.elem)
                args.append(rng.integers(-6, 7, n).astype(dt) if p.ty.elem.is_int else np.zeros(n, dt))
            else:
                args.append(bool(rng.integers(0, 2)) if p.ty.is_bool else int(rng.integers(0, 7)))
        mine = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        assert _bits(lib["f"](*args)) == _bits(interp.run(module, "f", *mine)), (case, args)
        assert [_bits(a) for a in args] == [_bits(a) for a in mine], case


def test_the_c_is_plain_c11_with_contraction_off(tmp_path):
    out = tmp_path / "out"
    compile_files([golden.ROOT / "intents" / "matmul.ax"], load_probe(POPCNT), out, backend="c", learned=[])
    source = (out / "matmul.c").read_text()
    assert "#pragma STDC FP_CONTRACT OFF" in source
    assert "void matmul(uint64_t n, const float *a, const float *b, float *c);" in (out / "matmul.h").read_text()
