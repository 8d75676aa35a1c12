"""Loop nests: range checks proven under a guard, and matmul's ikj
interchange.  The interchanged function gives bit-identical results in the
interpreter (random floats, NaN/inf/-0.0, n = 0..9) and natively (n = 1..40),
its inner loop vectorises without a float reduction, near misses of the
pattern are refused, and an index that is not provably in range keeps its
check."""

from __future__ import annotations

import dataclasses
import json
import platform
import re

import numpy as np
import pytest

from atlas.meaning import interp, ir
from atlas.search import nests
from atlas.front.check import check
from atlas.front.syntax import parse

import golden


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def matmul():
    from atlas.pipeline import front
    from atlas.machine.probe import load_probe

    probe = load_probe(golden.FIXTURES / "probe-popcnt.json")
    _, module, _ = front([golden.ROOT / "intents" / "matmul.ax"], probe)
    return module


@pytest.fixture(scope="module")
def interchanged(matmul):
    return nests.interchange(matmul.functions[0], matmul)


def source(src: str) -> ir.Function:
    return check(parse(src, "t.ax")).functions[0]


def run(fn: ir.Function, args) -> list:
    """Run fn in the interpreter on copies of args; the arrays afterwards."""
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    interp.run(ir.Module((fn,)), fn.name, *args)
    return [a for a in args if isinstance(a, np.ndarray)]


def bits(x: np.ndarray) -> np.ndarray:
    return x.view(f"u{x.itemsize}") if x.dtype.kind == "f" else x


def identical(xs, ys) -> bool:
    """Bit for bit (NaN payloads and the sign of zero included)."""
    return all(np.array_equal(bits(x), bits(y)) for x, y in zip(xs, ys))


def floats(rng, size, specials=False) -> np.ndarray:
    x = rng.uniform(-100, 100, size).astype(np.float32)
    if specials and size:
        pick = rng.random(size) < 0.2
        x[pick] = rng.choice(np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e38, -1e-45], np.float32), int(pick.sum()))
    return x


def matmul_args(rng, n, specials=False, c_fill=0.0):
    return [n, floats(rng, n * n, specials), floats(rng, n * n, specials), np.full(n * n, c_fill, np.float32)]


def accesses(stmts) -> list[tuple[str, str, str, bool]]:
    """(kind, array, index, inbounds) of every load and store, in order."""
    out = []

    def expr(e):
        for x in ir.walk(e):
            if isinstance(x, ir.Load):
                out.append(("load", x.array, ir.pretty_expr(x.index), x.inbounds))

    def block(ss):
        for s in ss:
            if isinstance(s, ir.Store):
                expr(s.index)
                expr(s.value)
                out.append(("store", s.array, ir.pretty_expr(s.index), s.inbounds))
            else:
                for e in ir.own_exprs(s):
                    expr(e)
            block(ir.blocks(s))

    block(stmts)
    return out


MM = """
fn mm(n: u64, a: [f32; n * n], b: [f32; n * n], c: mut [f32; n * n]) {
    for i in 0..n {
        for j in 0..n {
            let s: f32 = INIT;
            for k in 0..n {
                UPDATE;
            }
            EXTRAc[IDX] = s;
        }
    }
}
"""


def mm(init="0.0", e="a[i * n + k] * b[k * n + j]", extra="", idx="i * n + j", update="s += E") -> ir.Function:
    return source(
        MM.replace("INIT", init).replace("UPDATE", update.replace("E", e)).replace("EXTRA", extra).replace("IDX", idx)
    )


# ---------------------------------------------------------------- matmul: the interchange


def test_matmul_is_interchanged_under_a_guard(matmul, interchanged):
    src = matmul.functions[0]
    assert interchanged is not None
    new, ev = interchanged.function, interchanged.evidence
    assert ev["shape"] == "interchange"
    assert ev["guard"] == "(n < 0x100000000u64)"
    assert ev["proof"].startswith(
        "per element the same operations in the same order; z3: indices distinct and in range under the guard"
    )
    (nest,) = ev["nests"]
    assert nest["index"] == "((i * n) + j)" and nest["array"] == "c" and nest["init"] == "0.0f32"
    assert nest["in_range"].startswith("proven") and nest["distinct"].startswith("proven")
    assert ev["differential"]["agree"] is True and not ev["unproven"]

    # if G { ikj } else { the original body }, G tested once per call
    (top,) = new.body
    assert isinstance(top, ir.If) and top.else_ == src.body
    (iloop,) = top.then
    init, kloop = iloop.body
    assert isinstance(init, ir.For) and isinstance(init.body[0], ir.Store)
    assert init.body[0].value == ir.Const(0.0, ir.F32)
    (jloop,) = kloop.body
    (store,) = jloop.body
    assert isinstance(store, ir.Store) and store.array == "c"
    assert isinstance(store.value, ir.Binary) and store.value.op == "add"
    assert isinstance(store.value.a, ir.Load) and store.value.a.array == "c"
    # every access of the fast copy is marked, none of the original's
    assert all(ok for *_, ok in accesses(top.then)) and len(accesses(top.then)) == 5
    assert not any(ok for *_, ok in accesses(top.else_))
    # locals stay unique within the function
    names = [
        s.var if isinstance(s, ir.For) else s.name for s in ir.walk_stmts(new.body) if isinstance(s, (ir.For, ir.Let))
    ]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("n", range(10))
def test_interchanged_matmul_is_bit_identical_in_the_interpreter(matmul, interchanged, n):
    src, new = matmul.functions[0], interchanged.function
    rng = np.random.default_rng(100 + n)
    for specials in (False, True):
        for fill in (0.0, np.nan):  # what c held before does not matter
            args = matmul_args(rng, n, specials, fill)
            assert identical(run(src, args), run(new, args)), (n, specials, fill)


def test_guarded_inbounds_marks_every_matmul_access(matmul):
    src = matmul.functions[0]
    shaped = nests.guarded_inbounds(src, matmul)
    assert shaped is not None
    ev = shaped.evidence
    assert ev["shape"] == "guarded-inbounds"
    assert ev["accesses"] == ["a[((i * n) + k)]", "b[((k * n) + j)]", "c[((i * n) + j)]"]
    assert ev["guard"] == "(n < 0x100000000u64)"
    assert ev["proof"] == (
        "z3 (integer arithmetic, no wrap-around): every marked index is "
        "below its array's length whenever the guard holds"
    )
    assert all(o["verdict"].startswith("proven") for o in ev["obligations"])
    (top,) = shaped.function.body
    assert isinstance(top, ir.If) and top.else_ == src.body
    assert [ok for *_, ok in accesses(top.then)] == [True, True, True]
    rng = np.random.default_rng(7)
    for n in range(8):
        args = matmul_args(rng, n, specials=n % 2 == 1)
        assert identical(run(src, args), run(shaped.function, args))


# ---------------------------------------------------------------- near misses


def test_index_depending_on_k_is_refused():
    # k is out of scope after its loop, so the surface language cannot say
    # this; the matcher must refuse it anyway (hand-made IR)
    fn = mm()
    iloop = fn.body[0]
    jloop = iloop.body[0]
    let, kloop, store = jloop.body
    k = ir.Var("k", ir.U64)
    bad = dataclasses.replace(store, index=ir.substitute(store.index, {"j": k}))
    fn = dataclasses.replace(
        fn, body=(dataclasses.replace(iloop, body=(dataclasses.replace(jloop, body=(let, kloop, bad)),)),)
    )
    why = []
    assert nests.interchange(fn, why=why) is None
    assert any("index depends on ['k']" in w for w in why)


@pytest.mark.parametrize(
    "variant, reason",
    [
        (dict(e="a[i * n + k] * c[k * n + j]"), "E reads `c`"),
        # any non-constant initial value is refused (this one depends on j)
        (dict(init="a[i * n + j]"), "initial value is not a constant"),
        (dict(extra="s = s * 2.0;\n            "), "not exactly"),
        (dict(update="s = s * 0.5 + E"), "not exactly `s = s + E`"),
        # E + s: the same value, but not the same operation (a NaN's payload)
        (dict(update="s = E + s"), "not exactly `s = s + E`"),
        # in range, but every j writes the same slot: distinctness is refuted
        (dict(idx="i"), "distinct refuted"),
    ],
)
def test_near_misses_are_not_interchanged(variant, reason):
    fn = mm(**variant)
    why = []
    assert nests.interchange(fn, why=why) is None
    assert any(reason in w for w in why), why


def test_forcing_the_non_distinct_nest_would_change_the_result():
    """Without the distinctness proof the ikj form is wrong: forced through
    the rewrite anyway, `c[i] = s` gives other results (and the comparison
    used above sees it)."""
    fn = mm(idx="i")
    iloop = fn.body[0]
    nest, why = nests.match_nest(iloop.body[0], fn, [iloop])
    assert nest is not None, why
    forced = dataclasses.replace(
        fn, body=(dataclasses.replace(iloop, body=nests._interchanged(nest, ir.names_used(fn))),)
    )
    rng = np.random.default_rng(3)
    args = matmul_args(rng, 4)
    assert not identical(run(fn, args), run(forced, args))


def test_a_nest_without_an_outer_loop_and_an_int_accumulator():
    fn = source("""
fn mv(n: u64, a: [i32; n * n], x: [i32; n], y: mut [i32; n]) {
    for j in 0..n {
        let s: i32 = 7;
        for k in 0..n {
            s = s + a[j * n + k] * x[k];
        }
        y[j] = s;
    }
}
""")
    shaped = nests.interchange(fn)
    assert shaped is not None
    (top,) = shaped.function.body
    init, kloop = top.then
    assert init.body[0].value == ir.Const(7, ir.I32)
    assert all(ok for *_, ok in accesses(top.then))
    rng = np.random.default_rng(5)
    for n in range(9):
        big = np.iinfo(np.int32)
        args = [
            n,
            rng.integers(big.min, big.max, n * n, dtype=np.int32, endpoint=True),
            rng.integers(big.min, big.max, n, dtype=np.int32, endpoint=True),
            np.zeros(n, np.int32),
        ]
        assert identical(run(fn, args), run(shaped.function, args))


# ---------------------------------------------------------------- what cannot be proven


def test_an_index_past_the_end_keeps_its_check():
    fn = mm(e="a[i * n + k + 1] * b[k * n + j]")
    shaped = nests.guarded_inbounds(fn)
    assert shaped is not None
    (top,) = shaped.function.body
    # (the guarded copy's locals are renamed x -> x.g; the evidence names the source's)
    assert accesses(top.then) == [
        ("load", "a", "(((i.g * n) + k.g) + 1u64)", False),
        ("load", "b", "((k.g * n) + j.g)", True),
        ("store", "c", "((i.g * n) + j.g)", True),
    ]
    (miss,) = shaped.evidence["unproven"]
    assert miss["access"] == "a[(((i * n) + k) + 1u64)]" and miss["verdict"].startswith("refuted")

    # the interchange still applies (E may read out of range: it reads 0 there)
    ikj = nests.interchange(fn)
    assert ikj is not None
    assert [a for a in accesses(ikj.function.body[0].then) if not a[3]] == [
        ("load", "a", "(((i.g * n) + k.g) + 1u64)", False)
    ]
    rng = np.random.default_rng(11)
    for n in range(7):
        args = matmul_args(rng, n, specials=True)
        assert identical(run(fn, args), run(ikj.function, args))


def test_without_the_guard_products_may_wrap_and_nothing_is_proven(matmul):
    """Over the integers i*n + k < n*n holds for every n; the program computes
    it modulo 2^64, so the proof also demands that no product wraps, which
    needs n < 2^32.  A looser guard proves nothing."""
    src = matmul.functions[0]
    for bits in (33, 64):
        assert nests.guarded_inbounds(src, matmul, guard_bits=bits) is None
    why = []
    assert nests.interchange(src, matmul, guard_bits=33, why=why) is None
    assert "refuted" in why[0]


def test_a_lower_bound_that_may_wrap_is_not_trusted():
    """`for i in m*m*m .. n` runs from the wrapped m*m*m: for m = 2^22 that is
    0, and x[m] is then read with m >= n.  Only lo <= i would prove x[m] in
    range (m <= m^3 <= i < n), and the guard m < 2^32 does not stop m^3 from
    wrapping: x[m] keeps its check, y[i] (i < n) needs no lower bound."""
    fn = source("""
fn f(n: u64, m: u64, x: [f32; n], y: mut [f32; n]) {
    for i in m * m * m .. n {
        y[i] = x[m];
    }
}
""")
    shaped = nests.guarded_inbounds(fn)
    assert shaped is not None
    assert accesses(shaped.function.body[0].then) == [("load", "x", "m", False), ("store", "y", "i.g", True)]
    assert shaped.evidence["unproven"][0]["verdict"].startswith("refuted")
    # with a guard that keeps m^3 exact, the lower bound is a premise again
    tight = nests.guarded_inbounds(fn, guard_bits=21)
    assert [ok for *_, ok in accesses(tight.function.body[0].then)] == [True, True]
    assert tight.evidence["guard"] == "(m < 0x200000u64)"


def test_nothing_provable_gives_none_and_no_product_no_guard():
    loopless = source("""
fn total(n: u64, x: [f32; n]) -> f32 {
    let s: f32 = 0.0;
    let i: u64 = 0;
    while i < n { s += x[i * 2]; i += 1; }
    return s;
}
""")
    assert nests.guarded_inbounds(loopless) is None
    assert nests.interchange(loopless) is None
    plain = source("fn cp(n: u64, x: [f32; n], y: mut [f32; n]) { for i in 0..n { y[i] = x[i]; } }")
    shaped = nests.guarded_inbounds(plain)
    assert shaped.evidence["guard"] == "true"
    assert isinstance(shaped.function.body[0], ir.For)  # no `if`: nothing to guard
    assert [ok for *_, ok in accesses(shaped.function.body)] == [True, True]


# ---------------------------------------------------------------- natively


@pytest.fixture(scope="module")
def native(matmul, interchanged, tmp_path_factory):
    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("runs x86_64 code")
    X86 = pytest.importorskip("atlas.backends.x86_64")
    from atlas.machine import runtime
    from atlas.machine.probe import probe

    out = tmp_path_factory.mktemp("ikj")
    module = ir.Module((interchanged.function,), matmul.sources)
    emitted = X86.X86Backend().emit(module, probe(), out)
    (out / "manifest.json").write_text(
        json.dumps({"format": "atlas-artefact/1", "backend": "x86_64", **emitted.manifest})
    )
    return runtime.load(out), emitted


def same_or_both_nan(x: np.ndarray, y: np.ndarray) -> bool:
    """Bit for bit, except that any NaN equals any NaN: LLVM treats fmul and
    fadd as commutative, so a NaN's payload is not fixed (differential.same)."""
    return bool(np.all((bits(x) == bits(y)) | (np.isnan(x) & np.isnan(y))))


@pytest.mark.cc
def test_native_interchanged_matmul_matches_the_interpreter(matmul, native):
    lib, _ = native
    src = matmul.functions[0]
    rng = np.random.default_rng(2024)
    for n in range(1, 41):
        args = matmul_args(rng, n, specials=n % 7 == 0)
        (want,) = run(src, args)[2:]
        got = args[3].copy()
        lib.matmul(n, args[1], args[2], got)
        assert same_or_both_nan(got, want), n


@pytest.mark.cc
def test_native_inner_loop_vectorises_without_a_reduction(native):
    _, emitted = native
    opt = emitted.dumps["llvm-opt"]
    assert re.search(r"fmul <\d+ x float>", opt)
    assert re.search(r"fadd <\d+ x float>", opt)
    assert "vector.reduce.fadd" not in opt


SUBTRACTING = """
fn stencil(n: u64, x: [i32; n], out: mut [i32; n]) {
    if n > 2 { for i in 1..n - 1 { out[i] = x[i - 1] + x[i] + x[i + 1]; } }
}
fn reverse(n: u64, x: [i32; n], out: mut [i32; n]) {
    for i in 0..n { out[i] = x[n - 1 - i]; }
}
fn lagged(n: u64, x: [i32; n], out: mut [i32; n]) {
    if n < 3 { } else { for i in 2..n { out[i] = x[i - 2] - x[i]; } }
}
fn before_the_start(n: u64, x: [i32; n], out: mut [i32; n]) {
    for i in 0..n { out[i] = x[i - 1]; }
}
fn one_past(n: u64, x: [i32; n], out: mut [i32; n]) {
    if n >= 1 { for i in 0..n { out[i] = x[i + 1]; } }
}
fn bound_may_wrap(n: u64, x: [i32; n], out: mut [i32; n]) {
    for i in 0..n - 1 { out[i] = x[i + 1]; }
}
"""


@pytest.mark.parametrize(
    "name, unproven",
    [
        ("stencil", []),
        ("reverse", []),
        ("lagged", []),
        ("before_the_start", ["x[(i - 1u64)]"]),
        ("one_past", ["x[(i + 1u64)]"]),
        ("bound_may_wrap", None),  # n = 0: the loop runs to 2^64 - 1, nothing is proven
    ],
)
def test_subtractions_and_enclosing_conditions(name, unproven):
    """`i - 1` is exact only where i >= 1, `n - 1` only where n >= 1: the
    loop bounds and the enclosing `if`s are the premises that say so."""
    m = check(parse(SUBTRACTING, "t.ax"))
    fn = m.function(name)
    shaped = nests.guarded_inbounds(fn, m)
    if unproven is None:
        assert shaped is None
        return
    assert [u["access"] for u in shaped.evidence["unproven"]] == unproven
    assert all(u["verdict"].startswith("refuted") for u in shaped.evidence["unproven"])
    rng = np.random.default_rng(5)
    for n in range(8):
        args = [n, rng.integers(-9, 9, n).astype(np.int32), np.zeros(n, np.int32)]
        assert identical(run(fn, args), run(shaped.function, args))
