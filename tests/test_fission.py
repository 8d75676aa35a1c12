"""Loop fission: a loop body split into one loop per independent run of
statements, where no two split statements share a scalar one of them
writes and Z3 proves no reordered pair of iterations meets at an element
one of them writes.  The split function agrees with its source in the
interpreter and natively; bodies whose parts depend on each other are left
whole, with the reason."""

from __future__ import annotations

import numpy as np
import pytest

from atlas.front.check import check
from atlas.front.syntax import parse
from atlas.meaning import interp, ir
from atlas.search import fission
from atlas.search.explode import LOOP_SHAPES, SHAPES

POLY_AND_HASH = """\
// an element-wise polynomial and a rolling hash in one pass
fn poly_and_hash(n: u64, x: [f32; n], y: mut [f32; n], k: [u32; n]) -> u32 {
    let h: u32 = 7;
    for i in 0..n {
        let v: f32 = x[i];
        y[i] = ((0.5 * v + 1.0) * v - 0.25) * v;
        h = (h ^ k[i]) * 16777619;
    }
    return h;
}
"""


def source(src: str) -> ir.Function:
    return check(parse(src, "t.ax")).functions[0]


def split(src: str):
    why: list = []
    fn = source(src)
    return fn, fission.fission(fn, ir.Module((fn,)), why=why), why


def top_loops(fn: ir.Function) -> list[ir.For]:
    body = fn.body[0].then if fn.body and isinstance(fn.body[0], ir.If) else fn.body  # under a guard, if any
    return [s for s in body if isinstance(s, ir.For)]


def run(fn: ir.Function, args) -> list:
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    out = interp.run(ir.Module((fn,)), fn.name, *args)
    return [out] + [a for a in args if isinstance(a, np.ndarray)]


def same(a: list, b: list) -> bool:
    return a[0] == b[0] and all(np.array_equal(x.view(np.uint8), y.view(np.uint8)) for x, y in zip(a[1:], b[1:]))


def test_a_map_and_a_recurrence_become_two_loops_that_agree():
    fn, made, why = split(POLY_AND_HASH)
    assert made is not None, why
    # the map (with the let it reads) in one loop, the hash in the other
    first, second = top_loops(made.function)
    assert [type(s).__name__ for s in first.body] == ["Let", "Store"]
    assert [type(s).__name__ for s in second.body] == ["Assign"]
    assert made.evidence["split"][0]["loops"] == 2 and made.evidence["differential"]["agree"] is True
    rng = np.random.default_rng(0)
    for n in (0, 1, 5, 64):
        args = [n, rng.uniform(-2, 2, n).astype(np.float32), np.zeros(n, np.float32)]
        args.append(rng.integers(0, 2**32, n, dtype=np.uint32))
        assert same(run(fn, args), run(made.function, args))


def test_statements_that_share_a_local_stay_together():
    fn, made, why = split(
        "fn f(n: u64, x: [u32; n], y: mut [u32; n]) -> u32 {\n"
        "    let h: u32 = 0;\n"
        "    for i in 0..n { let t: u32 = x[i] * 2; y[i] = t; h = h + t; }\n"
        "    return h;\n}\n"
    )
    assert made is None and any("no two parts" in w for w in why)


def test_a_statement_that_reads_what_a_later_one_wrote_an_iteration_before_stays():
    fn, made, why = split(
        "fn f(n: u64, x: mut [u32; n], y: mut [u32; n]) {\n"
        "    for i in 1..n { y[i] = x[i - 1] + 1; x[i] = y[i] * 2; }\n}\n"
    )
    assert made is None and any("no two parts" in w for w in why)


def test_three_independent_parts_become_three_loops():
    fn, made, why = split(
        "fn f(n: u64, x: [u32; n], a: mut [u32; n], b: mut [u32; n]) -> u32 {\n"
        "    let s: u32 = 1;\n"
        "    for i in 0..n { a[i] = x[i] + 1; s = s * 3 + x[i]; b[i] = x[i] ^ 5; }\n"
        "    return s;\n}\n"
    )
    assert made is not None, why
    assert len(top_loops(made.function)) == 3
    args = [9, np.arange(9, dtype=np.uint32), np.zeros(9, np.uint32), np.zeros(9, np.uint32)]
    assert same(run(fn, args), run(made.function, args))


@pytest.mark.parametrize(
    "body, reason",
    [
        ("for i in 0..n { y[i] = x[i]; for j in 0..n { y[j] = 1; } }", "holds a loop"),
        ("for i in 0..n { y[i] = x[i]; if x[i] == 3 { return; } }", "`return`"),
    ],
)
def test_bodies_fission_does_not_take_are_refused_with_the_reason(body, reason):
    fn, made, why = split(f"fn f(n: u64, x: [u32; n], y: mut [u32; n]) {{\n    {body}\n}}\n")
    assert made is None and any(reason in w for w in why), why


def test_fission_is_a_shape_the_search_offers_and_pins():
    assert "fission" in LOOP_SHAPES and "fission" in SHAPES


@pytest.mark.cc
def test_compiled_with_fission_pinned_it_agrees_natively(tmp_path):
    from atlas.machine import probe as hwprobe
    from atlas.machine import runtime
    from atlas.pipeline import compile_files
    from atlas.search.explode import Options, pinned

    src = tmp_path / "ph.ax"
    src.write_text(POLY_AND_HASH)
    options = Options(fixed={"poly_and_hash": pinned("fission")}, only_fixed=True, reuse=False)
    out = compile_files([src], hwprobe.probe(), tmp_path / "out", search=options)
    assert out.manifest.functions["poly_and_hash"].search.genome.startswith("fission")
    lib = runtime.load(out.out)
    fn = source(POLY_AND_HASH)
    rng = np.random.default_rng(1)
    for n in (0, 3, 100):
        args = [n, rng.uniform(-2, 2, n).astype(np.float32), np.zeros(n, np.float32)]
        args.append(rng.integers(0, 2**32, n, dtype=np.uint32))
        want = run(fn, args)
        y = args[2].copy()
        assert lib.poly_and_hash(n, args[1], y, args[3]) == want[0] and np.array_equal(
            y.view(np.uint32), want[2].view(np.uint32)
        )


def test_a_part_that_does_nothing_is_not_a_loop_of_its_own():
    # the let nobody reads would be a loop that computes and drops a value
    fn, made, why = split(
        "fn f(n: u64, a: [u32; n], b: [u32; n], out: mut [u32; n]) {\n"
        "    for i in 0..n { let s: u32 = a[i] + b[i]; out[i] = a[i] ^ b[i]; }\n}\n"
    )
    assert made is None and any("only one part" in w for w in why), why
