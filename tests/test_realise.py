"""The x86_64 backend's realisation knobs (atlas.machine.backend.Realisation).

The knobs change how LLVM shapes the loops, never what they compute.  These
tests read the unoptimised / optimised IR and the assembly, never timings;
the soundness test runs matmul natively and compares bit for bit with the
interpreter.
"""

from __future__ import annotations

import json
import platform
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import golden
from atlas.meaning import interp, ir
from atlas.machine import runtime
from atlas.machine.backend import BackendError, Realisation
from atlas.meaning.ir import U32, U64, Assign, Binary, Const, For, Function, Let, Load, Module, Param, Prim, Return, Var
from atlas.pipeline import front
from atlas.machine.probe import Cpu, Probe, load_probe, probe as host_probe

pytestmark = pytest.mark.cc  # every emit links a shared library

X86 = pytest.importorskip("atlas.backends.x86_64")
from atlas.backends.llvm import codegen  # noqa: E402

INTENTS = golden.ROOT / "intents"

# A machine with AVX-512: only read as text here, never run.
AVX512 = Probe(
    cpu=Cpu(
        arch="x86_64",
        llvm_cpu="x86-64",
        cores=1,
        threads=1,
        features=tuple(
            sorted(
                (
                    "sse3",
                    "ssse3",
                    "sse4_1",
                    "sse4_2",
                    "popcnt",
                    "avx",
                    "avx2",
                    "fma",
                    "f16c",
                    "bmi1",
                    "bmi2",
                    "avx512f",
                    "avx512dq",
                    "avx512bw",
                    "avx512vl",
                    "avx512cd",
                )
            )
        ),
    )
)
AVX2 = load_probe(golden.FIXTURES / "probe-popcnt.json")


def module_of(stem: str, probe: Probe) -> Module:
    return front([INTENTS / f"{stem}.ax"], probe)[1]


def emit(module: Module, probe: Probe, outdir: Path, realise=None):
    outdir.mkdir(parents=True, exist_ok=True)
    em = X86.X86Backend().emit(module, probe, outdir, realise)
    (outdir / "manifest.json").write_text(
        json.dumps({"format": "atlas-artefact/1", "backend": "x86_64", **em.manifest})
    )
    return em


def vectors(text: str, elem: str = "float") -> set[int]:
    return {int(n) for n in re.findall(rf"<(\d+) x {elem}>", text)}


def regs(asm: str) -> dict[str, int]:
    return {r: len(re.findall(rf"%{r}\d", asm)) for r in ("xmm", "ymm", "zmm")}


# ---------------------------------------------------------------- the knobs take effect


@pytest.fixture(scope="module")
def saxpy512():
    return module_of("saxpy", AVX512)


def test_vector_width_picks_the_registers(saxpy512, tmp_path):
    wide = emit(saxpy512, AVX512, tmp_path / "w16", {"saxpy": Realisation(vector_width=16)})
    narrow = emit(saxpy512, AVX512, tmp_path / "w4", {"saxpy": Realisation(vector_width=4)})
    assert 16 in vectors(wide.dumps["llvm-opt"]) and regs(wide.dumps["asm"])["zmm"] > 0
    assert vectors(narrow.dumps["llvm-opt"]) == {4}
    r = regs(narrow.dumps["asm"])
    assert r["zmm"] == 0 and r["ymm"] == 0 and r["xmm"] > 0


def test_vector_width_one_keeps_the_loop_scalar(saxpy512, tmp_path):
    default = emit(saxpy512, AVX512, tmp_path / "d")
    scalar = emit(saxpy512, AVX512, tmp_path / "s", {"saxpy": Realisation(vector_width=1)})
    assert vectors(default.dumps["llvm-opt"])  # LLVM vectorises saxpy by itself
    assert not vectors(scalar.dumps["llvm-opt"])


def test_interleave_and_unroll_change_the_loop(saxpy512, tmp_path):
    def fmuls(r, tag, pattern):
        text = emit(saxpy512, AVX512, tmp_path / tag, {"saxpy": r}).dumps["llvm-opt"]
        return len(re.findall(pattern, text))

    vec = r"fmul <8 x float>"
    assert fmuls(Realisation(vector_width=8, interleave=1), "i1", vec) == 1
    assert fmuls(Realisation(vector_width=8, interleave=4), "i4", vec) == 4
    scalar = r"fmul float"
    once = fmuls(Realisation(vector_width=1, interleave=1, unroll=1), "u1", scalar)
    four = fmuls(Realisation(vector_width=1, interleave=1, unroll=4), "u4", scalar)
    assert once == 1 and four >= 4


def test_loop_ids_are_distinct_and_self_referential(saxpy512, tmp_path):
    em = emit(saxpy512, AVX512, tmp_path / "o", {"saxpy": Realisation(8, 2, 2)})
    text = em.dumps["llvm"]
    assert "atlas.loopid" not in text
    latch = re.search(r'br label %"for\.cond(?:\.\d+)?", !llvm\.loop (!\d+)', text)
    assert latch, "the latch carries no loop ID"
    lid = latch.group(1)
    node = re.search(rf"^{lid} = distinct !\{{{lid}, (.*)\}}$", text, re.M)
    assert node, f"{lid} is not a distinct self-referential node"
    props = {re.search(rf"^{p} = !\{{ ?!\"([\w.]+)\"", text, re.M).group(1) for p in node.group(1).split(", ")}
    assert props == {"llvm.loop.vectorize.width", "llvm.loop.interleave.count", "llvm.loop.unroll.count"}


def test_only_innermost_loops_get_hints(tmp_path):
    em = emit(module_of("matmul", AVX512), AVX512, tmp_path / "m", {"matmul": Realisation(unroll=2)})
    assert len(re.findall(r"!llvm\.loop !", em.dumps["llvm"])) == 1
    assert [h["loop"] for h in em.manifest["functions"]["matmul"]["loop_hints"]] == ["for k"]


def test_prefer_width_only_where_the_cpu_has_it(saxpy512, tmp_path):
    em = emit(saxpy512, AVX512, tmp_path / "p512", {"saxpy": Realisation(prefer_width_bits=512)})
    assert '"prefer-vector-width"="512"' in em.dumps["llvm"]
    assert regs(em.dumps["asm"])["zmm"] > 0  # LLVM picks 512-bit vectors by itself
    em = emit(saxpy512, AVX512, tmp_path / "p128", {"saxpy": Realisation(prefer_width_bits=128)})
    assert '"prefer-vector-width"="128"' in em.dumps["llvm"]
    assert vectors(em.dumps["llvm-opt"]) == {4}
    avx2 = module_of("saxpy", AVX2)
    em = emit(avx2, AVX2, tmp_path / "no512", {"saxpy": Realisation(prefer_width_bits=512)})
    assert "prefer-vector-width" not in em.dumps["llvm"]
    assert em.manifest["functions"]["saxpy"]["prefer_vector_width"] is None


def test_manifest_records_the_knobs_only_when_given(saxpy512, tmp_path):
    plain = emit(saxpy512, AVX512, tmp_path / "plain")
    assert "realisation" not in plain.manifest["functions"]["saxpy"]
    r = Realisation(vector_width=8, interleave=2, unroll=0, prefer_width_bits=256)
    em = emit(saxpy512, AVX512, tmp_path / "knobs", {"saxpy": r})
    entry = em.manifest["functions"]["saxpy"]
    assert entry["realisation"] == r.as_dict()
    assert entry["loop_hints"] == [
        {
            "loop": "for i",
            "line": 3,
            "carries_float": False,
            "hints": {"llvm.loop.vectorize.width": 8, "llvm.loop.interleave.count": 2},
        }
    ]


def test_hints_llvm_does_not_follow_are_noted_not_printed(tmp_path, capfd):
    em = emit(module_of("prefix_sum", AVX512), AVX512, tmp_path / "p", {"prefix_sum": Realisation(vector_width=16)})
    assert any("not vectorized" in n for n in em.manifest["llvm_remarks"])
    assert "not vectorized" not in capfd.readouterr().err
    em = emit(module_of("saxpy", AVX512), AVX512, tmp_path / "s", {"saxpy": Realisation(vector_width=16)})
    assert "llvm_remarks" not in em.manifest


@pytest.mark.parametrize(
    "bad",
    [Realisation(vector_width=3), Realisation(interleave=32), Realisation(unroll=-1), Realisation(vector_width=128)],
)
def test_knobs_llvm_would_ignore_are_refused(saxpy512, tmp_path, bad):
    with pytest.raises(BackendError, match="realisation of saxpy"):
        emit(saxpy512, AVX512, tmp_path / "bad", {"saxpy": bad})


# ---------------------------------------------------------------- soundness: float order


def test_float_reduction_keeps_its_order_in_the_ir(tmp_path):
    module = module_of("matmul", AVX512)
    em = emit(module, AVX512, tmp_path / "m", {"matmul": Realisation(16, 4, 4, 512)})
    (loop,) = em.manifest["functions"]["matmul"]["loop_hints"]
    assert loop["carries_float"] is True
    assert loop["hints"] == {"llvm.loop.unroll.count": 4}  # no width, no interleave
    opt = em.dumps["llvm-opt"]
    assert not re.search(r"fadd[^\n]*<\d+ x float>", opt)
    assert "vector.reduce.fadd" not in opt
    assert "llvm.loop.vectorize" not in em.dumps["llvm"]


def test_carried_float_detection():
    f32 = ir.F32
    s_add = Assign("s", Binary("add", Var("s", f32), Load("x", Var("i", U64), f32), f32))
    loop = For("i", U64, Const(0, U64), Var("n", U64), (s_add,))
    assert codegen.carries_float(loop, {"x"}, {})
    # a float declared inside the body starts afresh each iteration
    local = For(
        "i",
        U64,
        Const(0, U64),
        Var("n", U64),
        (Let("t", f32, Load("x", Var("i", U64), f32)), Assign("t", Binary("mul", Var("t", f32), Var("t", f32), f32))),
    )
    assert not codegen.carries_float(local, {"x"}, {})
    # an element every iteration writes is a register in disguise
    acc = For(
        "i",
        U64,
        Const(0, U64),
        Var("n", U64),
        (
            ir.Store(
                "y", Var("j", U64), Binary("add", Load("y", Var("j", U64), f32), Load("x", Var("i", U64), f32), f32)
            ),
        ),
    )
    assert codegen.carries_float(acc, {"x", "y"}, {})
    # integers may be reassociated: wrapping arithmetic is associative
    i_add = For(
        "i", U64, Const(0, U64), Var("n", U64), (Assign("k", Binary("add", Var("k", U32), Const(1, U32), U32)),)
    )
    assert not codegen.carries_float(i_add, set(), {})


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="runs x86_64 code")
def test_matmul_wide_knobs_match_the_interpreter_bit_for_bit(tmp_path):
    probe = host_probe()
    module = module_of("matmul", probe)
    rng = np.random.default_rng(7)
    cases = [[golden.decode(a) for a in c["args"]] for c in golden.load("matmul")["cases"]]
    for n in (5, 17, 33):
        cases.append(
            [
                n,
                rng.uniform(-1, 1, n * n).astype(np.float32),
                rng.uniform(-1, 1, n * n).astype(np.float32),
                np.zeros(n * n, np.float32),
            ]
        )
    want = []
    for args in cases:
        out = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        interp.run(module, "matmul", *out)
        want.append(out[3].view(np.uint32).tolist())
    for i, r in enumerate((Realisation(16, 1, 0, 512), Realisation(16, 4, 4, 512), Realisation(8, 0, 2))):
        emit(module, probe, tmp_path / str(i), {"matmul": r})
        lib = runtime.load(tmp_path / str(i))
        for args, expected in zip(cases, want):
            native = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
            lib.matmul(*native)
            assert native[3].view(np.uint32).tolist() == expected, (r, args[0])


# ---------------------------------------------------------------- bounds: for i in b..min(e, n)


def _tier_fn(hi: ir.Expr, length: ir.Expr = Var("n", U64)) -> Function:
    """fn f(n: u64, b: u64, e: u64, x: [u32; length]) -> u32: sums x[b..hi]
    (n has the type `length` reads it in)."""
    s = Var("s", U32)
    body = (
        Let("s", U32, Const(0, U32)),
        For("i", U64, Var("b", U64), hi, (Assign("s", Binary("add", s, Load("x", Var("i", U64), U32), U32)),)),
        Return(s),
    )
    n_ty = next(v.ty for v in ir.walk(length) if isinstance(v, Var))
    return Function(
        "f", (Param("n", n_ty), Param("b", U64), Param("e", U64), Param("x", ir.Array(U32, length, False))), U32, body
    )


def _min(a, b):
    return Prim("min", (a, b), U64)


N, E, B = Var("n", U64), Var("e", U64), Var("b", U64)


@pytest.mark.parametrize(
    "hi, checked",
    [
        (_min(E, N), False),
        (_min(N, E), False),  # i < min(e, n) <= n: in range
        (N, False),  # the plain case, as before
        (_min(E, B), True),
        (E, True),  # nothing bounds i by n
        (Prim("max", (E, N), U64), True),
    ],
)
def test_min_of_the_length_bounds_the_index(hi, checked):
    text = codegen.generate(Module((_tier_fn(hi),)), "x86_64-unknown-linux-gnu", "")
    assert ("load.in" in text) is checked


def test_min_with_a_widened_length(tmp_path):
    # length n: u32, the loop runs over u64 up to min(e, n as u64)
    n32 = Var("n", U32)
    f = _tier_fn(_min(E, ir.Cast(n32, U64)), n32)
    assert "load.in" not in codegen.generate(Module((f,)), "x86_64-unknown-linux-gnu", "")
    # ...but not a narrowing cast of a wider length
    i32, s = Var("i", U32), Var("s", U32)
    loop = For(
        "i",
        U32,
        Const(0, U32),
        Prim("min", (ir.Cast(E, U32), ir.Cast(N, U32)), U32),
        (Assign("s", Binary("add", s, Load("x", i32, U32), U32)),),
    )
    f = replace(_tier_fn(N), body=(Let("s", U32, Const(0, U32)), loop, Return(s)))
    assert "load.in" in codegen.generate(Module((f,)), "x86_64-unknown-linux-gnu", "")


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="runs x86_64 code")
def test_min_bounded_loop_runs_like_the_interpreter(tmp_path):
    module = Module((_tier_fn(_min(E, N)),))
    emit(module, host_probe(), tmp_path / "t")
    lib = runtime.load(tmp_path / "t")
    x = np.arange(1, 11, dtype=np.uint32)
    for b, e in ((0, 10), (2, 5), (3, 50), (9, 2**64 - 1), (12, 20), (0, 0)):
        assert lib.f(10, b, e, x) == interp.run(module, "f", 10, b, e, x), (b, e)
