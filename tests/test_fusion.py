"""Loop fusion: adjacent loops over one range become one where Z3 proves no
reordered pair of iterations meets at an element one of them writes.  The
fused function agrees with its source in the interpreter and natively;
loops that read ahead of what the other writes, run over other ranges,
carry a scalar or call are refused, each with its reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from atlas.front.check import check
from atlas.front.syntax import parse
from atlas.meaning import interp, ir
from atlas.search import fusion

ROOT = Path(__file__).resolve().parent.parent


def source(src: str) -> ir.Function:
    return check(parse(src, "t.ax")).functions[0]


def fused(src: str):
    why: list = []
    fn = source(src)
    return fn, fusion.fusion(fn, ir.Module((fn,)), why=why), why


def loops(fn: ir.Function) -> int:
    return sum(isinstance(s, ir.For) for s in ir.walk_stmts(fn.body))


def run(fn: ir.Function, args) -> list:
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    out = interp.run(ir.Module((fn,)), fn.name, *args)
    return [out] + [a for a in args if isinstance(a, np.ndarray)]


CHAIN = (ROOT / "intents/family/chain3.ax").read_text()


def test_three_passes_become_one_loop_that_agrees():
    fn, made, why = fused(CHAIN)
    assert made is not None, why
    # the fast copy holds one loop (the original body stays as the fallback)
    fast = made.function.body[0].then if isinstance(made.function.body[0], ir.If) else made.function.body
    assert loops(fn) == 3 and sum(isinstance(s, ir.For) for s in fast) == 1
    assert len(made.evidence["fused"]) == 2 and made.evidence["differential"]["agree"] is True
    assert all("proven" in c["apart"] for f in made.evidence["fused"] for c in f["checks"])
    rng = np.random.default_rng(0)
    for n in (0, 1, 2, 7, 64):
        a = rng.integers(-(2**31), 2**31, n, dtype=np.int32)
        b = rng.integers(-(2**31), 2**31, n, dtype=np.int32)
        want, got = run(fn, [n, a, b]), run(made.function, [n, a, b])
        assert all(np.array_equal(x, y) for x, y in zip(want[1:], got[1:]))


def test_locals_and_a_producer_consumer_pair_fuse():
    _, made, why = fused(
        """fn f(n: u64, x: [f32; n], t: mut [f32; n], y: mut [f32; n], s: f32) {
            for i in 0..n { let v: f32 = x[i] * s; t[i] = v; }
            for j in 0..n { let v: f32 = t[j] + 1.0; y[j] = v * v; }
        }"""
    )
    assert made is not None, why


@pytest.mark.parametrize(
    "second, reason",
    [
        ("for i in 0..n { out[i] = a[i + 1]; }", "load a[(i + 1u64)]"),  # reads what a later iteration writes
        ("for i in 0..n - 1 { out[i] = a[i]; }", "not the same range"),
        ("for i in 0..n { s += a[i]; out[i] = s; }", "assigns `s`"),
        ("for i in 0..n { out[i] = g(a[i]); }", "calls a function"),
        ("for i in 0..n { for k in 0..2 { out[i] = a[i]; } }", "holds a loop"),
    ],
)
def test_what_may_not_fuse_is_refused_with_its_reason(second, reason):
    src = f"""fn g(x: i32) -> i32 {{ return x + 1; }}
    fn f(n: u64, a: mut [i32; n], out: mut [i32; n]) {{
        let s: i32 = 0;
        for i in 0..n {{ a[i] = a[i] + 1; }}
        {second}
    }}"""
    module = check(parse(src, "t.ax"))
    fn = module.function("f")
    why: list = []
    assert fusion.fusion(fn, module, why=why) is None
    assert any(reason in w for w in why), why


def test_reading_behind_what_is_written_fuses():
    """out[i] = a[i - 1] reads what an earlier iteration wrote: no later
    iteration of the first loop touches it, so fusing keeps the order."""
    fn, made, why = fused(
        """fn f(n: u64, a: mut [i32; n], out: mut [i32; n]) {
            for i in 1..n { a[i] = a[i] * 2; }
            for i in 1..n { out[i] = a[i - 1]; }
        }"""
    )
    assert made is not None, why
    rng = np.random.default_rng(1)
    for n in (0, 1, 2, 9, 33):
        a = rng.integers(-1000, 1000, n, dtype=np.int32)
        out = np.zeros(n, np.int32)
        want, got = run(fn, [n, a, out]), run(made.function, [n, a, out])
        assert all(np.array_equal(x, y) for x, y in zip(want[1:], got[1:]))


def test_the_fused_kernel_runs_natively_and_agrees(tmp_path):
    from atlas.machine import probe as hwprobe
    from atlas.machine.runtime import load
    from atlas.pipeline import compile_files, front
    from atlas.search.explode import Options, pinned

    probe = hwprobe.probe()
    path = ROOT / "intents/family/chain3.ax"
    compile_files([path], probe, tmp_path / "out", search=Options(fixed={"chain3": pinned("fusion")}))
    lib = load(tmp_path / "out")
    module = front([path], probe)[1]
    rng = np.random.default_rng(2)
    for n in (0, 1, 3, 17, 70, 1000):
        a = rng.integers(-(2**31), 2**31, n, dtype=np.int32)
        b = rng.integers(-(2**31), 2**31, n, dtype=np.int32)
        want, got = a.copy(), a.copy()
        interp.run(module, "chain3", n, want, b)
        lib.chain3(n, got, b)
        assert np.array_equal(got, want), n


def test_explain_lists_the_fused_form():
    from atlas.machine import probe as hwprobe
    from atlas.tools import explain as X

    doc = X.explain([ROOT / "intents/family/chain3.ax"], hwprobe.probe(), "this machine")
    forms = {lf["shape"]: lf["what"] for f in doc["functions"] for lf in f["loop_forms"]}
    assert "fusion" in forms and forms["fusion"].count(" fused") == 2
    assert "9 pairs of accesses proven apart by Z3" in forms["fusion"]
