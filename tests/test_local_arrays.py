"""Local arrays (`let t = [v; N];`): what the interpreter computes equals a
Python rendering of the same program, calls see them as parameters, a
whole-function proof handles their fill, and every backend that compiles
functions runs them as the interpreter does."""

from __future__ import annotations

import numpy as np
import pytest

from atlas import load
from atlas.front.check import check
from atlas.front.diagnostics import AtlasError
from atlas.front.syntax import parse
from atlas.logic import bodies
from atlas.meaning import interp, ir
from atlas.logic.verdict import Status
from atlas.pipeline import compile_files


def module(src: str) -> ir.Module:
    return check(parse(src, "t.ax"))


# A sliding window kept in a ring, refilled per row: data-dependent indices,
# a read past the end, a local passed to a call, a float local.
RING = """
fn f(n: u64, x: [i32; n], out: mut [i32; n]) -> i32 {
    let ring = [0i32; 4];
    let acc: [f32; 2] = [0.5; 2];
    for i in 0..n {
        ring[i & 3] = x[i];
        out[i] = total(ring) + ring[4];
        acc[i & 1] = acc[i & 1] + (x[i] as f32);
    }
    let rows = 0i32;
    for r in 0u64..3 {
        let row: [i32; 4] = [r as i32; 4];
        for j in 0u64..2 { row[j] += ring[j + r]; }
        rows = rows * 7 + total(row);
    }
    return rows + (acc[0] as i32) - (acc[1] as i32);
}

fn total(t: [i32; 4]) -> i32 {
    let s = 0i32;
    for k in 0u64..4 { s += t[k]; }
    return s;
}
"""


def wrap(v: int) -> int:
    return (v + (1 << 31)) % (1 << 32) - (1 << 31)


def ring_ref(n, x, out):
    ring, acc = [0] * 4, [np.float32(0.5)] * 2
    for i in range(n):
        ring[i & 3] = x[i]
        out[i] = wrap(sum(ring))
        acc[i & 1] = np.float32(acc[i & 1] + np.float32(x[i]))
    rows = 0
    for r in range(3):
        row = [r] * 4
        for j in range(2):
            row[j] = wrap(row[j] + (ring[j + r] if j + r < 4 else 0))
        rows = wrap(rows * 7 + wrap(sum(row)))
    cast = [int(max(min(a, 2**31 - 1), -(2**31))) for a in acc]  # saturating float -> int
    return wrap(rows + cast[0] - cast[1])


def test_interpreter_agrees_with_python():
    m = module(RING)
    rng = np.random.default_rng(21)
    for _ in range(200):
        n = int(rng.integers(0, 9))
        x = rng.integers(-1000, 1000, n).astype(np.int32)
        out, want_out = np.zeros(n, np.int32), [0] * n
        assert interp.run(m, "f", n, x, out) == ring_ref(n, x.tolist(), want_out)
        assert out.tolist() == want_out


def test_a_local_array_passes_where_the_callees_length_has_its_value():
    m = module("""
    fn g(n: u32, a: mut [u32; n]) -> u32 { a[n - 1] = 7; return a[0] + n; }
    fn f() -> u32 { let t = [5u32; 4]; let r = g(4, t); return r * 10 + t[3]; }
    """)
    assert interp.run(m, "f") == 97


def test_a_local_array_is_an_array_of_its_function():
    fn = module(RING).functions[0]
    assert set(fn.local_arrays) == {"ring", "acc", "row"}
    assert fn.array("row") == ir.Array(ir.I32, ir.Const(4, ir.U64), True)
    assert {"ring", "row"} <= ir.stored(fn.body)
    with pytest.raises(KeyError):
        fn.param("nothing")


def test_whole_function_proof_sees_the_fill():
    """Two functions equal only because the fill sets every element: proven;
    a candidate that forgets one element is refuted."""
    m = module("""
    fn a(k: u64) -> u32 { let t = [3u32; 8]; t[k] = 5; return t[k ^ 1] + t[7]; }
    fn b(k: u64) -> u32 { return select(k < 8, 3, 0) + select(k == 7, 5, 3); }
    fn c(k: u64) -> u32 { let t = [3u32; 8]; t[k] = 5; t[2] = 4; return t[k ^ 1] + t[7]; }
    """)
    a, b, c = (m.function(x) for x in "abc")
    assert bodies.prove_functions(a, b, k=4).status is Status.PROVEN
    assert bodies.prove_functions(a, c, k=4).status is Status.REFUTED


@pytest.mark.parametrize(
    "text, message",
    [
        ("fn f() -> u32 { let t = [0u32; 0]; return t[0]; }", "from 1 to 65536"),
        ("fn f() -> u32 { let t = [0u32; 4u8]; return t[0]; }", "without a suffix"),
        ("fn f() -> u32 { let t = [0u32; 4]; t = 3; return t[0]; }", "cannot assign to array 't'"),
        ("fn f() -> u32 { if true { let t = [0u32; 4]; } return t[0]; }", "unknown"),
        (
            "fn g(n: u64, a: [u32; n]) -> u32 { return a[0]; } fn f() -> u32 { let t = [0u32; 4]; return g(5, t); }",
            "'t' has length 4u64, g expects length 5u64",
        ),
    ],
)
def test_errors(text, message):
    with pytest.raises(AtlasError, match=message):
        module(text)


@pytest.mark.cc
def test_compiled_agrees_with_the_interpreter(tmp_path):
    """The CPU backend (the example C plugin runs RING in test_example_plugin)."""
    src = tmp_path / "ring.ax"
    src.write_text(RING)
    from atlas.machine.probe import probe

    compile_files([src], probe(), tmp_path / "out")
    lib, m = load(tmp_path / "out"), module(RING)
    rng = np.random.default_rng(22)
    for _ in range(50):
        n = int(rng.integers(0, 9))
        x = rng.integers(-(2**31), 2**31, n, dtype=np.int64).astype(np.int32)
        o1, o2 = np.zeros(n, np.int32), np.zeros(n, np.int32)
        assert lib.f(n, x, o1) == interp.run(m, "f", n, x, o2)
        assert o1.tolist() == o2.tolist()


# A checksum whose function keeps a local table, filled before the loop and
# read after it; and one whose loop reads a local table itself.
BESIDE = """
fn beside(n: u64, x: [u16; n]) -> u32 {
    let seen = [0u32; 3];
    seen[1] = 9;
    let s: u32 = 0;
    for i in 0..n { s = (s + (x[i] as u32)) % 65521; }
    seen[2] = s;
    return seen[1] * 100000 + seen[2];
}

fn inside(n: u64, x: [u16; n]) -> u32 {
    let w = [1u32; 4];
    w[3] = 5;
    let s: u32 = 0;
    for i in 0..n { s = (s + (x[i] as u32) * w[i & 3]) % 65521; }
    return s;
}
"""


def test_a_loop_shape_is_taken_where_it_leaves_the_local_arrays_as_they_are():
    """A local array beside a loop no longer keeps the loop from its shape;
    a loop that names one still takes none."""
    from atlas.search.explode import LOOP_SHAPES, shaped

    m = module(BESIDE)
    assert shaped("deferred-reduction", m.function("beside")) is not None
    assert shaped("inbounds", m.function("beside")) is not None
    assert [s for s in LOOP_SHAPES if shaped(s, m.function("inside"))] == []


def test_a_pinned_shape_beside_a_local_array_computes_as_the_interpreter(tmp_path):
    """Emitted with its bounds checks dropped (`inbounds`: the cheaper of
    the two shapes to validate), the function with a local table beside
    its loop."""
    from atlas.machine.probe import probe
    from atlas.search.explode import Options, pinned

    src = tmp_path / "beside.ax"
    src.write_text(BESIDE)
    m = module(BESIDE)
    rng = np.random.default_rng(5)
    compile_files([src], probe(), tmp_path / "out", search=Options(fixed={"beside": pinned("inbounds")}))
    lib = load(tmp_path / "out")
    assert lib.manifest.functions["beside"].evidence.shape["shape"].endswith("inbounds")
    for n in (0, 1, 7, 100):
        x = rng.integers(0, 1 << 16, n).astype(np.uint16)
        assert lib.beside(n, x) == interp.run(m, "beside", n, x)
    x = np.full(70000, 0xFFFF, np.uint16)  # (s + x) % m at each step is the whole sum's remainder
    assert lib.beside(70000, x) == 900000 + int(x.astype(np.uint64).sum()) % 65521
