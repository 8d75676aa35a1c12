"""Programs once compiled wrong, each run natively in every way it can be
compiled (with and without the logic atlas, with and without the search,
each shape pinned) against the interpreter, on the inputs that showed the
fault and on random ones past every constant index.

Two causes: a straight-line run wrote its locals before its stores and
copies, so a store or copy of a local the run reassigns read the new value;
and flatten took 0.0 for the identity of float addition (-0.0 + 0.0 is 0.0).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from atlas.meaning import interp
from atlas import load
from atlas.search import explode
from atlas.front.check import check
from atlas.front.diagnostics import AtlasError
from atlas.pipeline import compile_files
from atlas.front.syntax import parse

pytestmark = pytest.mark.cc

SWAP = """
fn f(n: u32, x: u32, y: u32) -> u32 {
    let a: u32 = x;
    let b: u32 = y;
    for i in 0..n { let t = a; a = b; b = t; }
    return b;
}
"""
EXCLUSIVE_SCAN = """
fn f(n: u64, x: [i32; n], out: mut [i32; n]) {
    let s: i32 = 0;
    for i in 0..n { out[i] = s; s += x[i]; }
}
"""
STORE_THEN_REASSIGN = """
fn f(n: u64, x: u32, a: mut [u32; n]) {
    let y: u32 = x;
    for i in 0..n { a[i] = 1; }
    a[0] = y;
    y = 5;
}
"""
STORE_PAST_EIGHT = """
fn f(n: u64, x: i8, a: mut [i8; n]) {
    let v: i8 = x;
    for i in 0..n { a[9] = v; v += 16; }
}
"""
SWAP_ELEMENTS = """
fn f(n: u64, a: mut [i16; n]) {
    let v: i16 = a[1];
    a[1] = a[9]; a[9] = v; v >>= 1;
}
"""
FLOAT_IDENTITY = """
fn f(c: bool, x: f64, y: f64) -> f64 {
    let v: f64 = x;
    if c { v = v + y; }
    return v * 1.0;
}
"""
# the same faults in other words: a rotation of three, a copy chain, a
# float subtraction and product under a condition
ROTATE = """
fn f(n: u64, p: i64, q: i64, r: i64, out: mut [i64; 3]) {
    let a = p; let b = q; let c = r;
    for i in 0..n { let t = a; a = b; b = c; c = t; }
    out[0] = a; out[1] = b; out[2] = c;
}
"""
COPY_THEN_UPDATE = """
fn f(n: u64, x: [u16; n], prev: mut [u16; n], cur: mut [u16; n]) {
    let last: u16 = 7;
    for i in 0..n { prev[i] = last; last = x[i] ^ last; cur[i] = last; }
}
"""
FLOAT_CONDITIONAL = """
fn f(n: u64, c: [bool; n], x: [f32; n]) -> f32 {
    let v: f32 = -0.0;
    for i in 0..n { if c[i] { v = v - x[i]; } if !c[i] { v = v * x[i]; } }
    return v;
}
"""

# Loops that leave early and conditional expressions (docs/language.md): a
# `for` with a `break` is a `while` with a flag, a `continue` puts the rest of
# the body under an `if`; no shape may take either for a plain loop.
BREAK_AND_CONTINUE = """
fn f(n: u64, x: [i32; n], out: mut [i32; n], stop: i32) -> i32 {
    let s: i32 = 0;
    for i in 0..n {
        if x[i] < 0 { continue; }
        s += x[i];
        out[i] = s;
        if s > stop { break; }
    }
    return s;
}
"""

CONDITIONAL_CALLS = """
fn f(n: u64, a: mut [u32; n], c: bool, k: u32) -> u32 {
    let v = if c { bump(n, a, k) } else if k > 3 { k * 2 } else { 0 };
    a[1] = if v > 5 { bump(n, a, 1) } else { if c { v } else { k } };
    return v + if k == 0 { a[0] } else { k };
}

fn bump(n: u64, a: mut [u32; n], by: u32) -> u32 {
    a[0] += by;
    return a[0];
}
"""

# Local arrays: a histogram (stores at data-dependent indices), a window
# refilled each round of an outer loop, and reads past the end (0).
LOCAL_ARRAYS = """
fn f(n: u64, x: [u8; n], out: mut [u32; n]) -> u32 {
    let h = [0u32; 16];
    for i in 0..n { h[x[i] & 15] += 1; }
    let best: u32 = h[16];
    for k in 0..16 { if h[k] > best { best = h[k]; } }
    for i in 0..n {
        let w: [u32; 4] = [i as u32; 4];
        for j in 0u64..4 { w[j] += h[(x[i] as u64 + j) & 15]; }
        out[i] = w[0] ^ w[3] ^ w[x[i]];
    }
    return best;
}
"""

# (source, [(arguments, ...)]): the reported inputs, checked besides random ones
CASES = {
    "local_arrays": (LOCAL_ARRAYS, [(5, [1, 17, 2, 33, 1], "zeros")]),
    "break_and_continue": (BREAK_AND_CONTINUE, [(5, [1, -2, 3, 4, 5], "zeros", 5)]),
    "conditional_calls": (CONDITIONAL_CALLS, [(2, [1, 2], True, 4), (2, [1, 2], False, 4)]),
    "swap": (SWAP, [(1, 1, 2), (2, 1, 2), (7, 3, 4)]),
    "exclusive_scan": (EXCLUSIVE_SCAN, [(4, [1, 2, 3, 4], "zeros")]),
    "store_then_reassign": (STORE_THEN_REASSIGN, [(3, 9, "zeros")]),
    "store_past_eight": (STORE_PAST_EIGHT, [(10, 0, "zeros"), (12, -128, "zeros")]),
    "swap_elements": (SWAP_ELEMENTS, [(10, [0, 6, 0, 0, 0, 0, 0, 0, 0, 90])]),
    "float_identity": (FLOAT_IDENTITY, [(False, -0.0, 1.0), (True, -0.0, 0.0), (True, -0.0, -0.0)]),
    "rotate": (ROTATE, [(1, 1, 2, 3, "zeros"), (2, 1, 2, 3, "zeros")]),
    "copy_then_update": (COPY_THEN_UPDATE, [(5, [1, 2, 3, 4, 5], "zeros", "zeros")]),
    "float_conditional": (FLOAT_CONDITIONAL, [(3, [True, False, True], [0.0, 1.0, -0.0])]),
}

# how each case is compiled: (label, compile_files keyword arguments)
TINY = dict(budget_s=1.0, max_evals=3, population=2, repeats=1, confirm_leaders=0, generated_size=64, reuse=False)
WAYS = [
    ("default, no search", dict()),
    ("no atlas, no search", dict(use_atlas=False)),
    ("search", dict(search=TINY)),
    ("no atlas, search", dict(use_atlas=False, search=TINY)),
] + [(f"pinned {s}", dict(pin=s)) for s in explode.SHAPES]


@pytest.fixture(scope="module")
def probe():
    from atlas.machine.probe import probe as probe_this

    return probe_this()  # the search times candidates here: this machine's probe


def _arrays(fn, values):
    """Turn list and 'zeros' arguments into arrays of the parameters' types."""
    scalars, out = {}, list(values)
    for i, p in enumerate(fn.params):
        if not hasattr(p.ty, "length"):
            scalars[p.name] = interp.to_value(p.ty, values[i])
    for i, p in enumerate(fn.params):
        if hasattr(p.ty, "length"):
            n = interp.evaluate(p.ty.length, scalars, exact=True)
            dt = interp.dtype(p.ty.elem)
            out[i] = np.zeros(n, dt) if values[i] == "zeros" else np.array(values[i], dt)
    return out


def _random_inputs(fn, rng, count: int):
    """Trip counts and lengths up to 20, past every constant index used here."""
    for k in range(count):
        vals = []
        for p in fn.params:
            t = p.ty
            if hasattr(t, "length"):
                vals.append(None)
            elif t.is_bool:
                vals.append(bool(rng.integers(0, 2)))
            elif t.is_float:
                vals.append(float(rng.choice([0.0, -0.0, 1.5, -2.25, float("inf"), float("nan")])))
            elif p.name == "n":
                vals.append(k % 21)
            else:
                lo, hi = (-(1 << (t.bits - 1)), (1 << (t.bits - 1)) - 1) if t.signed else (0, t.mask)
                small = int(rng.integers(-50, 50))
                vals.append(
                    int(rng.choice([lo, hi, 0, 1, -1 if t.signed else 2, small if t.signed else small & t.mask]))
                )
        scalars = {p.name: interp.to_value(p.ty, v) for p, v in zip(fn.params, vals) if v is not None}
        for i, p in enumerate(fn.params):
            if hasattr(p.ty, "length"):
                n = interp.evaluate(p.ty.length, scalars, exact=True)
                dt = interp.dtype(p.ty.elem)
                if p.ty.elem.is_float:
                    vals[i] = rng.choice([0.0, -0.0, 1.5, -3.0, float("inf")], n).astype(dt)
                elif p.ty.elem.is_bool:
                    vals[i] = rng.integers(0, 2, n).astype(dt)
                else:
                    info = np.iinfo(dt)
                    vals[i] = rng.integers(info.min, info.max, n, dtype=dt, endpoint=True)
        yield vals


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        if a.dtype.kind == "f":
            bits = np.dtype(f"u{a.itemsize}")
            return bool(np.all((a.view(bits) == b.view(bits)) | (np.isnan(a) & np.isnan(b))))
        return bool(np.array_equal(a, b))
    if isinstance(a, float):
        return (np.isnan(a) and np.isnan(b)) or (a == b and np.signbit(a) == np.signbit(b))
    return a == b


def _compile(path: Path, out: Path, probe: dict, how: dict):
    kw = {}
    if "use_atlas" in how:
        kw["use_atlas"] = how["use_atlas"]
    if "search" in how:
        kw["search"] = explode.Options(**how["search"])
    if "pin" in how:
        kw["search"] = explode.Options(fixed={"f": explode.pinned(how["pin"])}, only_fixed=True, reuse=False)
    return compile_files([path], probe, out, **kw)


@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_every_way_agrees_with_the_interpreter(case, probe, tmp_path):
    text, reported = CASES[case]
    path = tmp_path / f"{case}.ax"
    path.write_text(text)
    module = check(parse(text, str(path)))
    fn = module.functions[0]
    rng = np.random.default_rng(14)
    inputs = [_arrays(fn, r) for r in reported] + list(_random_inputs(fn, rng, 42))
    compiled_ways = 0
    for label, how in WAYS:
        out = tmp_path / f"out-{label.replace(' ', '-').replace(',', '')}"
        try:
            _compile(path, out, probe, how)
        except AtlasError as err:
            assert "pinned" in label and "does not apply" in str(err), (label, str(err))
            continue
        compiled_ways += 1
        lib = load(out)
        for args in inputs:
            a1 = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
            a2 = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
            want = interp.run(module, "f", *a1)
            got = getattr(lib, "f")(*a2)
            shown = [a.tolist() if isinstance(a, np.ndarray) else a for a in args]
            assert _same(want, got), (case, label, shown, want, got)
            for x, y in zip(a1, a2):
                if isinstance(x, np.ndarray):
                    assert _same(x, y), (case, label, shown, x.tolist(), y.tolist())
    assert compiled_ways >= 4  # at least the four unpinned ways


def test_flatten_conditional_update_keeps_negative_zero():
    """The unrolled term of `if c { v = v + y }`, run as the whole body, gives
    what the source does: -0.0 for v = -0.0 when c is false."""
    import dataclasses

    from atlas.meaning import ir
    from atlas.logic.flatten import flatten
    from atlas.meaning.terms import to_expr

    module = check(parse(FLOAT_IDENTITY, "t.ax"))
    fn = module.functions[0]
    whole = dataclasses.replace(fn, body=(ir.Return(to_expr(flatten(fn)), fn.span),))
    for c, x, y in [
        (False, -0.0, 1.0),
        (True, -0.0, 0.0),
        (True, -0.0, -0.0),
        (False, float("inf"), 2.0),
        (True, float("nan"), -0.0),
    ]:
        want = interp.run(module, "f", c, x, y)
        got = interp.run(ir.Module((whole,)), "f", c, x, y)
        assert _same(want, got), (c, x, y, want, got)


def test_a_chain_that_doubles_its_tree_compiles_and_agrees(probe, tmp_path):
    """`x = x * x + x` sixty times is a small DAG of a tree of 2^60 nodes:
    written out as a tree it never finished; its shared parts are named."""
    text = "fn f(a: u64) -> u64 {\n    let x = a;\n" + "    x = x * x + x;\n" * 60 + "    return x;\n}\n"
    path = tmp_path / "doubling.ax"
    path.write_text(text)
    module = check(parse(text, str(path)))
    for ways in ({}, {"use_atlas": False}):
        compile_files([path], probe, tmp_path / "out", **ways)
        lib = load(tmp_path / "out")
        for a in (0, 1, 3, 2**64 - 1, 12345678901234567):
            assert lib.f(a) == interp.run(module, "f", a), (ways, a)
