"""Unroll-and-jam of reduction nests: four rows summed in one inner loop,
each row's sum the same additions in the same order, a remainder loop for
the rows left over.  The jammed function agrees with its source bit for bit
(floats too) in the interpreter and natively."""

from __future__ import annotations

import numpy as np
import pytest

from atlas.front.check import check
from atlas.front.syntax import parse
from atlas.meaning import interp, ir
from atlas.search import unrolljam
from atlas.search.explode import LOOP_SHAPES, SHAPES

MATVEC = """\
// y = A x for an n x n row-major matrix, each row summed in order
fn matvec_f32(n: u64, a: [f32; n * n], x: [f32; n], y: mut [f32; n]) {
    for i in 0..n {
        let s: f32 = 0.0;
        for j in 0..n {
            s += a[i * n + j] * x[j];
        }
        y[i] = s;
    }
}
"""


def source(src: str) -> ir.Function:
    return check(parse(src, "t.ax")).functions[0]


def jam(src: str):
    why: list = []
    fn = source(src)
    return fn, unrolljam.unroll_jam(fn, ir.Module((fn,)), why=why), why


def run(fn: ir.Function, args) -> list:
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    interp.run(ir.Module((fn,)), fn.name, *args)
    return [a for a in args if isinstance(a, np.ndarray)]


def test_four_rows_share_one_inner_loop_and_agree_bit_for_bit():
    fn, made, why = jam(MATVEC)
    assert made is not None, why
    assert made.evidence["jammed"][0]["rows"] == unrolljam.FACTOR
    assert made.evidence["differential"]["agree"] is True
    inner = [s for s in ir.walk_stmts(made.function.body) if isinstance(s, ir.For) and s.var.startswith("j")]
    assert any(len(s.body) == unrolljam.FACTOR for s in inner)  # one sum per row in the jammed loop
    rng = np.random.default_rng(0)
    for n in (0, 1, 3, 4, 5, 9, 16):  # the remainder loop takes the rows past a multiple of four
        a, x = rng.uniform(-1, 1, n * n).astype(np.float32), rng.uniform(-1, 1, n).astype(np.float32)
        want = run(fn, [n, a, x, np.zeros(n, np.float32)])[-1]
        got = run(made.function, [n, a, x, np.zeros(n, np.float32)])[-1]
        assert np.array_equal(want.view(np.uint32), got.view(np.uint32)), n


def test_a_signed_row_variable_is_left_alone():
    fn, made, why = jam(MATVEC.replace("n: u64", "n: i64"))
    assert made is None and any("signed" in w for w in why), why


def test_a_loop_that_is_not_a_reduction_nest_is_not_touched():
    fn, made, why = jam("fn f(n: u64, x: [u32; n], y: mut [u32; n]) { for i in 0..n { y[i] = x[i] + 1; } }\n")
    assert made is None


def test_unroll_jam_is_a_shape_the_search_offers_and_pins():
    assert "unroll-jam" in LOOP_SHAPES and "unroll-jam" in SHAPES


@pytest.mark.cc
def test_compiled_with_unroll_jam_pinned_it_agrees_natively(tmp_path):
    from atlas.machine import probe as hwprobe
    from atlas.machine import runtime
    from atlas.pipeline import compile_files
    from atlas.search.explode import Options, pinned

    src = tmp_path / "mv.ax"
    src.write_text(MATVEC)
    options = Options(fixed={"matvec_f32": pinned("unroll-jam")}, only_fixed=True, reuse=False)
    out = compile_files([src], hwprobe.probe(), tmp_path / "out", search=options)
    assert out.manifest.functions["matvec_f32"].search.genome.startswith("unroll-jam")
    lib = runtime.load(out.out)
    fn = source(MATVEC)
    rng = np.random.default_rng(2)
    for n in (0, 7, 33):
        a, x = rng.uniform(-1, 1, n * n).astype(np.float32), rng.uniform(-1, 1, n).astype(np.float32)
        want = run(fn, [n, a, x, np.zeros(n, np.float32)])[-1]
        y = np.zeros(n, np.float32)
        lib.matvec_f32(n, a, x, y)
        assert np.array_equal(y.view(np.uint32), want.view(np.uint32)), n
