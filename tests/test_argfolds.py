"""Arg-folds in lanes (atlas/meaning/argfolds.py, atlas/search/lanes.py,
backends/llvm/lanes.py): a loop that keeps the first or last extreme
element and its index is marked once Z3 proves its step and its order's
laws, and compiled to vector code that agrees with the interpreter at every
length and on ties; loops of other forms are left alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import z3

from atlas.logic import differential
from atlas.meaning import argfolds, interp, ir
from atlas.search import lanes
from test_lanes import compile_pinned, functions, the_loop  # the scan tests' helpers

ROOT = Path(__file__).resolve().parent.parent
UNSEEN = ROOT / "tests/fixtures/argfolds/unseen.ax"
FILES = [UNSEEN, ROOT / "intents/argmax_i32.ax", ROOT / "intents/family/argmin_i16.ax"]
NAMES = [
    "first_peak_u8",
    "last_low_i16",
    "last_high_u64",
    "keyed_peak",
    "nearest_u16",
    "window_max_i32",
    "low_u32",
    "row_peaks",
    "top_score_f32",
    "last_low_f64",
    "nearest_f32",
    "last_peak_f64",
    "first_over_i64",
    "low_byte_at",
    "argmax_i32",
    "argmin_i16",
]
LENGTHS = [*range(0, 35), 63, 64, 65, 127, 129, 1000, 1024, 1025, 2049, 5000]


def fold_of(src: str) -> argfolds.ArgFold | None:
    fn = next(f for f in functions(src) if f.name == "f")
    return argfolds.match(the_loop(fn), fn)


def values(rng, dt, n: int, kind: int) -> np.ndarray:
    """Elements of four kinds: the whole range, a few values (ties
    everywhere), all equal, and rising (the best moves every step)."""
    if np.dtype(dt).kind == "f":
        return floats(rng, dt, n, kind)
    info = np.iinfo(dt)
    if kind == 0:
        return rng.integers(info.min, info.max, n, dtype=dt, endpoint=True)
    if kind == 1:
        return rng.integers(0, 3, n).astype(dt) + np.array(info.max - 2 if kind else 0, dtype=dt)
    if kind == 2:
        return np.full(n, info.min if rng.integers(0, 2) else info.max, dtype=dt)
    return np.arange(n).astype(dt)


SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 5e-324, 1e-45]


def floats(rng, dt, n: int, kind: int) -> np.ndarray:
    """Floats of the same four kinds, with NaN, infinities and both zeros
    among them: a few values (0.0 ties -0.0, NaN is never taken), zeros of
    either sign, and rising with NaN scattered."""
    if kind == 0:
        x = rng.standard_normal(n) * 10.0 ** rng.integers(-3, 4, n)
        x[rng.random(n) < 0.05] = np.nan
        return x.astype(dt)
    if kind == 1:
        return np.array(SPECIAL, dtype=dt)[rng.integers(0, len(SPECIAL), n)]
    if kind == 2:
        return np.where(rng.random(n) < 0.5, -0.0, 0.0).astype(dt)
    x = np.arange(n, dtype=dt)
    x[rng.random(n) < 0.1] = np.nan
    return x


def arguments(name: str, n: int, rng, kind: int) -> list:
    if name == "first_peak_u8":
        return [n, values(rng, np.uint8, n, kind)]
    if name in ("last_low_i16", "argmin_i16"):
        return [n, values(rng, np.int16, n, kind)]
    if name == "last_high_u64":
        return [n, values(rng, np.uint64, n, kind)]
    if name == "keyed_peak":
        return [n, values(rng, np.uint32, n, kind), values(rng, np.uint32, n, kind), int(rng.integers(0, 2**32))]
    if name == "nearest_u16":
        return [n, values(rng, np.uint16, n, kind), int(rng.integers(0, 2**16))]
    if name == "window_max_i32":
        lo = int(rng.integers(0, n + 2))  # past the end too: the loop does not run
        start = [0, lo, lo + 40, 2**64 - 1][int(rng.integers(0, 4))]  # past lo: no block until i reaches it
        return [lo, n, start, values(rng, np.int32, n, kind)]
    if name == "low_u32":
        return [n, values(rng, np.int8, n, kind)]
    if name == "row_peaks":
        rows = int(rng.integers(0, 4))
        return [rows, n, values(rng, np.int16, rows * n, kind), np.zeros(rows, np.uint64)]
    if name in ("top_score_f32", "nearest_f32"):
        t = [float(rng.standard_normal())] if name == "nearest_f32" else []
        return [n, values(rng, np.float32, n, kind), *t]
    if name == "last_low_f64":
        lo = int(rng.integers(0, 3))
        bound = float(rng.choice([np.inf, 0.0, -0.0, np.nan, 1.5]))
        return [lo, n, values(rng, np.float64, n, kind), bound, np.zeros(1)]
    if name == "last_peak_f64":
        return [n, values(rng, np.float64, n, kind)]
    if name == "first_over_i64":
        return [n, values(rng, np.int32, n, kind), int(rng.integers(-(2**31), 2**31))]
    if name == "low_byte_at":
        return [n, values(rng, np.uint16, n, kind)]
    assert name == "argmax_i32"
    return [n, values(rng, np.int32, n, kind)]


def test_every_unseen_arg_fold_is_matched_and_proven():
    fns = [f for p in FILES for f in functions(p.read_text())]
    assert sorted(f.name for f in fns) == sorted(NAMES)
    for fn in fns:
        made = lanes.arg_lanes(fn, ir.Module((fn,)))
        assert made is not None, fn.name
        (site,) = made.evidence["loops"]
        assert set(site["obligations"].values()) == {"proven"}, (fn.name, site)
        assert the_loop(made.function).lanes
    by_name = {f.name: argfolds.match(the_loop(f), f) for f in fns}
    assert by_name["first_peak_u8"].rel == "gt"  # `top < x[i]` read as x[i] > top
    assert by_name["last_low_i16"].later and not by_name["argmin_i16"].later
    assert by_name["last_high_u64"].value is None and by_name["last_high_u64"].array == "x"
    arrays = {f.name: f.arrays for f in fns}
    assert by_name["keyed_peak"].direct(arrays["keyed_peak"]) is None  # computed into a tile first
    assert by_name["row_peaks"].direct(arrays["row_peaks"]) is not None  # a row's base plus c, widened


@pytest.mark.parametrize("rel", ["gt", "ge", "lt", "le"])
def test_a_wrong_tie_break_is_refuted(rel, monkeypatch):
    """The proof can fail: keeping the other of two equal elements than the
    loop keeps is not the loop's step, and Z3 says so."""
    (fn,) = functions(
        f"""fn f(n: u64, x: [i32; n]) -> u64 {{
            let m: i32 = 0; let k: u64 = 0;
            for i in 0..n {{ if x[i] {ir_sym(rel)} m {{ m = x[i]; k = i; }} }}
            return k;
        }}"""
    )
    fold = argfolds.match(the_loop(fn), fn)
    assert fold is not None and fold.rel == rel
    assert lanes.arg_obligations(fold)["step"] == "proven"
    flipped = type(fold).later.fget  # the order with the other tie-break
    monkeypatch.setattr(type(fold), "later", property(lambda self: not flipped(self)))
    assert lanes.arg_obligations(fold)["step"] == "refuted"
    assert lanes.arg_lanes(fn) is None


def ir_sym(rel: str) -> str:
    return {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}[rel]


@pytest.mark.parametrize(
    "body, reason",
    [
        ("if x[i] > m { m = x[i]; k = i + 1; }", "k takes another value than i"),
        ("if x[i] > m { m = x[i] - 1; k = i; }", "m takes another value than the one compared"),
        ("if x[i] > m { m = x[i]; k = i; } else { c += 1; }", "an else arm"),
        ("if x[i] > m { m = x[i]; k = i; c += 1; }", "a third assignment"),
        ("if x[i] > m { m = x[i]; k = i; } x[i] = 0;", "a store"),
        ("if x[i] != m { m = x[i]; k = i; }", "not an order"),
        ("if x[i] + m > m { m = x[i] + m; k = i; }", "the element reads m"),
        ("if x[i] > x[k] { k = i; x[0] = 1; }", "the compared array is stored"),
        ("if x[i] > x[k + 1] { k = i; }", "compared with another element than x[k]"),
        ("if x[i] > x[k] { k = i; m = 3; }", "x[k] and a second value"),
    ],
)
def test_what_is_not_an_arg_fold_is_left_alone(body, reason):
    src = f"""fn f(n: u64, x: mut [i32; n]) -> u64 {{
        let m: i32 = 0; let k: u64 = 0; let c: u64 = 0;
        for i in 0..n {{ {body} }}
        return k + c + (m as u64);
    }}"""
    assert fold_of(src) is None, reason


def test_signed_loop_variables_are_left_alone():
    assert (
        fold_of(
            "fn f(n: i64, x: [i32; n]) -> i64 { let m: i32 = 0; let k: i64 = 0; "
            "for i in 0..n { if x[i] > m { m = x[i]; k = i; } } return k; }"
        )
        is None
    )


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    return compile_pinned(tmp_path_factory, FILES, NAMES, "arg-lanes")


@pytest.mark.parametrize("name", NAMES)
def test_the_lanes_agree_with_the_interpreter(compiled, name):
    module, libs = compiled
    rng = np.random.default_rng(NAMES.index(name))
    for wide, (lib, manifest) in libs.items():
        assert manifest["functions"][name]["evidence"]["shape"]["shape"] == "arg-lanes"
        for n in LENGTHS:
            for kind in range(4):
                args = arguments(name, n, rng, kind)
                want = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
                got = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
                r_want = interp.run(module, name, *want)
                r_got = getattr(lib, name)(*got)
                assert r_want == r_got, (name, wide, n, kind)
                for w, g in zip(want, got):
                    if isinstance(w, np.ndarray):
                        assert differential.same(w, g), (name, wide, n, kind)  # bit for bit: -0.0 is not 0.0


def test_z3_sees_the_order_as_written():
    """`better` itself: between equal elements the earlier index for `>`."""
    (fn,) = functions(
        "fn f(n: u64, x: [u8; n]) -> u64 { let m: u8 = 0; let k: u64 = 0; "
        "for i in 0..n { if x[i] > m { m = x[i]; k = i; } } return k; }"
    )
    fold = argfolds.match(the_loop(fn), fn)
    assert fold is not None
    a = (z3.BitVecVal(5, 8), z3.BitVecVal(9, 64))
    b = (z3.BitVecVal(5, 8), z3.BitVecVal(3, 64))
    v, j = lanes.better(fold, a, b)
    assert z3.simplify(j).as_long() == 3 and z3.simplify(v).as_long() == 5


@pytest.mark.parametrize("rel", ["gt", "ge", "lt", "le"])
def test_float_laws_hold_only_without_nan(rel, monkeypatch):
    """Floats: the order's laws are proven over pairs without NaN, one to a
    position, and refuted without those conditions (a NaN pair keeps
    whatever it meets first; -0.0 and 0.0 at one position tie with other
    bits); the step needs neither."""
    (fn,) = functions(
        f"""fn f(n: u64, x: [f32; n]) -> u64 {{
            let m: f32 = 0.0; let k: u64 = 0;
            for i in 0..n {{ if x[i] {ir_sym(rel)} m {{ m = x[i]; k = i; }} }}
            return k;
        }}"""
    )
    fold = argfolds.match(the_loop(fn), fn)
    assert fold is not None
    assert set(lanes.arg_obligations(fold).values()) == {"proven"}
    monkeypatch.setattr(lanes, "_held", lambda t, *pairs: z3.BoolVal(True))
    laws = lanes.arg_obligations(fold)
    assert laws["associative"] == laws["commutative"] == "refuted"
    assert laws["step"] == laws["idempotent"] == "proven"


def test_an_index_of_another_type_is_read_through_its_cast():
    src = (
        "fn f(n: u64, x: [i32; n]) -> {t} {{ let m: i32 = 0; let k: {t} = 0; "
        "for i in 0..n {{ if x[i] > m {{ m = x[i]; k = {set}; }} }} return k; }}"
    )
    fold = fold_of(src.format(t="u16", set="i as u16"))
    assert fold is not None and fold.index_ty == ir.U16
    assert fold_of(src.format(t="u16", set="(i + 1) as u16")) is None  # not where the element was
    # x[k] reads the array where the loop read it: k of the loop variable's type only
    assert (
        fold_of(
            "fn f(n: u64, x: [i32; n]) -> u32 { let k: u32 = 0; "
            "for i in 0..n { if x[i] > x[k] { k = i as u32; } } return k; }"
        )
        is None
    )
