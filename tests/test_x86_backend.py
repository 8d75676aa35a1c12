"""The x86_64 backend against the semantics, on this machine.

IR is built by hand; every compiled result is compared, bit for bit, with
the definitions in atlas/meaning/semantics.py run on Python integers (PyDomain).
All operator/type functions go into one module compiled once per session.
"""

from __future__ import annotations

import json
import platform
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas.meaning import ir
from atlas.meaning import semantics as sem
from atlas.machine.backend import BackendError
from atlas.meaning.ir import (
    BOOL,
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    Assign,
    Binary,
    Call,
    Cast,
    Const,
    ExprStmt,
    For,
    Function,
    If,
    Let,
    Load,
    Module,
    Param,
    Prim,
    Return,
    Store,
    Unary,
    Var,
    While,
)
from atlas.meaning.semantics import PyDomain
from atlas.machine import runtime
from atlas.machine.probe import Cpu, Probe, load_probe

pytestmark = [
    pytest.mark.cc,
    pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="runs x86_64 code"),
]

X86 = pytest.importorskip("atlas.backends.x86_64")
D = PyDomain()
FIXTURES = Path(__file__).parent / "fixtures"

INTS = (I8, I16, I32, I64, U8, U16, U32, U64)
FLOATS = (F32, F64)
SCALARS = INTS + FLOATS + (BOOL,)


def host_probe() -> Probe:
    flags = runtime.host_cpu_flags() or set()
    return Probe(cpu=Cpu(arch="x86_64", llvm_cpu="x86-64", features=tuple(sorted(flags)), cores=1, threads=1))


def build(module: Module, outdir: Path, probe: Probe | None = None):
    """Compile, write the manifest as the pipeline would, and load."""
    outdir.mkdir(parents=True, exist_ok=True)
    em = X86.X86Backend().emit(module, probe or host_probe(), outdir)
    (outdir / "manifest.json").write_text(
        json.dumps({"format": "atlas-artefact/1", "backend": "x86_64", **em.manifest})
    )
    return runtime.load(outdir), em


# ---------------------------------------------------------------- values


def natural(t, v):
    """Domain value -> the Python value the loader takes."""
    if t.is_bool:
        return bool(v)
    if t.is_float:
        return float(v)
    return v - (1 << t.bits) if t.signed and v >> (t.bits - 1) else v


def domain(t, v):
    """The loader's result -> domain value."""
    if t.is_bool:
        return bool(v)
    if t.is_float:
        return np.float32(v) if t.bits == 32 else np.float64(v)
    return v & t.mask


def same(t, got, want) -> bool:
    if t.is_float:
        if np.isnan(got) and np.isnan(want):
            return True
        u = np.uint32 if t.bits == 32 else np.uint64
        return np.asarray(got).view(u) == np.asarray(want).view(u)
    return got == want


def int_edges(t):
    w = t.bits
    return sorted(
        {
            0,
            1,
            2,
            3,
            7,
            t.mask,
            t.mask - 1,
            1 << (w - 1),
            (1 << (w - 1)) + 1,
            (1 << (w - 1)) - 1,
            w - 1,
            w,
            w + 1,
            255 & t.mask,
            0x5A & t.mask,
            (0xA5A5A5A5A5A5A5A5 & t.mask),
        }
    )


def float_edges(t):
    ft = np.float32 if t.bits == 32 else np.float64
    vals = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -0.5,
        1.5,
        2.5,
        -2.5,
        0.9999,
        3.0,
        100.25,
        -7.75,
        np.inf,
        -np.inf,
        np.nan,
        2.0**31,
        -(2.0**31),
        2.0**31 - 128,
        2.0**32,
        2.0**63,
        -(2.0**63),
        2.0**64,
        1e20,
        -1e20,
        255.5,
        256.0,
        -129.0,
        65535.9,
        np.finfo(ft).max,
        np.finfo(ft).tiny,
        np.finfo(ft).smallest_subnormal,
    ]
    return [ft(v) for v in vals]


def edges(t):
    if t.is_bool:
        return [False, True]
    return float_edges(t) if t.is_float else int_edges(t)


def strategy(t):
    if t.is_bool:
        return st.booleans()
    if t.is_float:
        ft = np.float32 if t.bits == 32 else np.float64
        return st.one_of(st.sampled_from(float_edges(t)), st.floats(width=t.bits).map(ft))
    return st.one_of(st.sampled_from(int_edges(t)), st.integers(0, t.mask))


# ---------------------------------------------------------------- one function per (op, type)


@dataclass
class Case:
    fn: Function
    params: tuple
    ret: ir.Scalar
    oracle: Callable


def _fn(name, params, ret, expr) -> Function:
    return Function(name, tuple(Param(f"p{i}", t) for i, t in enumerate(params)), ret, (Return(expr),))


def _args(params):
    return [Var(f"p{i}", t) for i, t in enumerate(params)]


def op_cases() -> list[Case]:
    cases = []

    def add(name, params, ret, mk, oracle):
        cases.append(Case(_fn(name, params, ret, mk(*_args(params))), tuple(params), ret, oracle))

    for t in INTS + FLOATS + (BOOL,):
        ops = ((ir.ARITH if t.is_int else ("add", "sub", "mul", "div")) if not t.is_bool else ()) + (
            ir.BITWISE if not t.is_float else ()
        )
        for op in ops:
            add(
                f"bin_{op}_{t}",
                (t, t),
                t,
                lambda a, b, op=op, t=t: Binary(op, a, b, t),
                lambda a, b, op=op, t=t: sem.BINARY[op](D, t, a, b),
            )
        for op in ir.COMPARE:
            add(
                f"cmp_{op}_{t}",
                (t, t),
                BOOL,
                lambda a, b, op=op: Binary(op, a, b, BOOL),
                lambda a, b, op=op, t=t: sem.compare(D, t, op, a, b),
            )
        if t.is_bool:
            for op in ir.LOGIC:
                add(
                    f"logic_{op}",
                    (t, t),
                    t,
                    lambda a, b, op=op: Binary(op, a, b, BOOL),
                    (lambda a, b: a and b) if op == "land" else (lambda a, b: a or b),
                )
            add("not_bool", (t,), t, lambda a: Unary("not", a, t), lambda a: sem.bitnot(D, t, a))
        else:
            add(f"neg_{t}", (t,), t, lambda a, t=t: Unary("neg", a, t), lambda a, t=t: sem.neg(D, t, a))
        if t.is_int:
            add(f"not_{t}", (t,), t, lambda a, t=t: Unary("not", a, t), lambda a, t=t: sem.bitnot(D, t, a))
            for ts in (U8, I16, U32, U64):  # shift counts of every width
                for op in ir.SHIFTS:
                    f = sem.shl if op == "shl" else sem.shr
                    add(
                        f"sh_{op}_{t}_{ts}",
                        (t, ts),
                        t,
                        lambda a, s, op=op, t=t: Binary(op, a, s, t),
                        lambda a, s, f=f, t=t, ts=ts: f(D, t, ts, a, s),
                    )
            for k in (0, 1, t.bits - 1, t.bits, t.bits + 1, 255):  # constant counts
                for op in ir.SHIFTS:
                    f = sem.shl if op == "shl" else sem.shr
                    add(
                        f"shk_{op}_{t}_{k}",
                        (t,),
                        t,
                        lambda a, op=op, t=t, k=k: Binary(op, a, Const(k, U32), t),
                        lambda a, f=f, t=t, k=k: f(D, t, U32, a, k),
                    )
            for k in (0, 1, 3, 7, t.mask, 1 << (t.bits - 1)):  # constant divisors
                for op in ("div", "rem"):
                    add(
                        f"divk_{op}_{t}_{k}",
                        (t,),
                        t,
                        lambda a, op=op, t=t, k=k: Binary(op, a, Const(k, t), t),
                        lambda a, op=op, t=t, k=k: sem.BINARY[op](D, t, a, k),
                    )
        for dst in SCALARS:  # every cast pair
            add(
                f"cast_{t}_{dst}",
                (t,),
                dst,
                lambda a, dst=dst: Cast(a, dst),
                lambda a, t=t, dst=dst: sem.cast(D, t, dst, a),
            )
        # primitives
        for name, (fdef, shape) in sem.PRIMITIVES.items():
            if shape == "select":
                add(
                    f"prim_select_{t}",
                    (BOOL, t, t),
                    t,
                    lambda c, a, b, t=t: Prim("select", (c, a, b), t),
                    lambda c, a, b, t=t: sem.select(D, t, c, a, b),
                )
                continue
            if t.is_bool:
                continue
            if t.is_float and name not in ("abs", "sqrt", "min", "max"):
                continue
            if t.is_int and name == "sqrt" or name == "bswap" and t.bits < 16 or name == "wmul" and t.bits > 32:
                continue
            ret = ir.Scalar(t.kind, 2 * t.bits) if name == "wmul" else t
            if shape == "unary":
                add(
                    f"prim_{name}_{t}",
                    (t,),
                    ret,
                    lambda a, name=name, ret=ret: Prim(name, (a,), ret),
                    lambda a, fdef=fdef, t=t: fdef(D, t, a),
                )
            elif shape == "binary":
                add(
                    f"prim_{name}_{t}",
                    (t, t),
                    ret,
                    lambda a, b, name=name, ret=ret: Prim(name, (a, b), ret),
                    lambda a, b, fdef=fdef, t=t: fdef(D, t, a, b),
                )
            else:  # rotates: counts of several widths
                for ts in (U8, I32, U64):
                    add(
                        f"prim_{name}_{t}_{ts}",
                        (t, ts),
                        t,
                        lambda a, s, name=name, t=t: Prim(name, (a, s), t),
                        lambda a, s, fdef=fdef, t=t, ts=ts: fdef(D, t, ts, a, s),
                    )
    return cases


CASES = op_cases()
BY_NAME = {c.fn.name: c for c in CASES}


@pytest.fixture(scope="module")
def ops(tmp_path_factory):
    lib, em = build(Module(tuple(c.fn for c in CASES)), tmp_path_factory.mktemp("ops"))
    return lib


def check_case(lib, case: Case, args):
    got = getattr(lib, case.fn.name)(*(natural(t, a) for t, a in zip(case.params, args)))
    with np.errstate(all="ignore"):  # numpy warns on inf/NaN results
        want = case.oracle(*args)
    assert same(case.ret, domain(case.ret, got), want), (
        f"{case.fn.name}{tuple(args)}: compiled {got!r}, semantics {want!r}"
    )


def _edge_args(case):
    if len(case.params) == 1:
        return [(a,) for a in edges(case.params[0])]
    if len(case.params) == 2:
        return [(a, b) for a in edges(case.params[0]) for b in edges(case.params[1])]
    t = case.params[1]  # select(bool, T, T)
    return [(x, a, b) for x in (False, True) for a in edges(t)[:6] for b in edges(t)[-6:]]


GROUPS = sorted({c.fn.name.split("_")[0] for c in CASES})


@pytest.mark.parametrize("group", GROUPS)
def test_edge_values(ops, group):
    """Every function of a group on the cross product of its edge values."""
    for case in CASES:
        if case.fn.name.split("_")[0] == group:
            for args in _edge_args(case):
                check_case(ops, case, args)


@pytest.mark.parametrize("group", GROUPS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_operands(ops, group, data):
    cases = [c for c in CASES if c.fn.name.split("_")[0] == group]
    case = data.draw(st.sampled_from(cases), label="function")
    args = [data.draw(strategy(t), label=f"arg{i}") for i, t in enumerate(case.params)]
    check_case(ops, case, args)


def test_every_primitive_is_covered():
    covered = {p for p in sem.PRIMITIVES if any(c.fn.name.startswith(f"prim_{p}_") for c in CASES)}
    assert covered == set(sem.PRIMITIVES)


# ---------------------------------------------------------------- arrays, loops, calls

N = Var("n", U64)


def _programs() -> Module:
    x_i32 = ir.Array(I32, N, False)
    fs = []
    # x[i] with bounds checks (index u64, and i8 read as unsigned)
    fs.append(
        Function(
            "load_at",
            (Param("n", U64), Param("x", x_i32), Param("i", U64)),
            I32,
            (Return(Load("x", Var("i", U64), I32)),),
        )
    )
    fs.append(
        Function(
            "load_i8",
            (Param("n", U64), Param("x", ir.Array(F32, N, False)), Param("i", I8)),
            F32,
            (Return(Load("x", Var("i", I8), F32)),),
        )
    )
    fs.append(
        Function(
            "store_at",
            (Param("n", U64), Param("x", ir.Array(I16, N, True)), Param("i", U32), Param("v", I16)),
            None,
            (Store("x", Var("i", U32), Var("v", I16)),),
        )
    )
    # bool arrays: in memory one byte each
    nb = ir.Array(BOOL, N, True)
    fs.append(
        Function(
            "flip",
            (Param("n", U64), Param("b", nb)),
            U64,
            (
                Let("c", U64, Const(0, U64)),
                For(
                    "i",
                    U64,
                    Const(0, U64),
                    N,
                    (
                        If(
                            Load("b", Var("i", U64), BOOL),
                            (Assign("c", Binary("add", Var("c", U64), Const(1, U64), U64)),),
                            (),
                        ),
                        Store("b", Var("i", U64), Unary("not", Load("b", Var("i", U64), BOOL), BOOL)),
                    ),
                ),
                Return(Var("c", U64)),
            ),
        )
    )
    # the bounds proof applies: for i in 0..n over x: [i32; n]
    fs.append(
        Function(
            "sum_i32",
            (Param("n", U64), Param("x", x_i32)),
            I32,
            (
                Let("s", I32, Const(0, I32)),
                For(
                    "i",
                    U64,
                    Const(0, U64),
                    N,
                    (Assign("s", Binary("add", Var("s", I32), Load("x", Var("i", U64), I32), I32)),),
                ),
                Return(Var("s", I32)),
            ),
        )
    )
    # signed loop variable from a constant 0, length an i32 parameter
    m = Var("m", I32)
    fs.append(
        Function(
            "sum_signed",
            (Param("m", I32), Param("x", ir.Array(I32, m, False))),
            I32,
            (
                Let("s2", I32, Const(0, I32)),
                For(
                    "j",
                    I32,
                    Const(0, I32),
                    m,
                    (Assign("s2", Binary("add", Var("s2", I32), Load("x", Var("j", I32), I32), I32)),),
                ),
                Return(Var("s2", I32)),
            ),
        )
    )
    # the proof does not apply (hi = n + 1): x[n] is read as 0
    n1 = Binary("add", N, Const(1, U64), U64)
    fs.append(
        Function(
            "sum_past",
            (Param("n", U64), Param("x", x_i32)),
            I32,
            (
                Let("s3", I32, Const(0, I32)),
                For(
                    "k",
                    U64,
                    Const(0, U64),
                    n1,
                    (Assign("s3", Binary("add", Var("s3", I32), Load("x", Var("k", U64), I32), I32)),),
                ),
                Return(Var("s3", I32)),
            ),
        )
    )
    # saxpy: y[i] = a * x[i] + y[i] -- no fused multiply-add without permission
    fs.append(
        Function(
            "saxpy",
            (Param("n", U64), Param("a", F32), Param("x", ir.Array(F32, N, False)), Param("y", ir.Array(F32, N, True))),
            None,
            (
                For(
                    "i2",
                    U64,
                    Const(0, U64),
                    N,
                    (
                        Store(
                            "y",
                            Var("i2", U64),
                            Binary(
                                "add",
                                Binary("mul", Var("a", F32), Load("x", Var("i2", U64), F32), F32),
                                Load("y", Var("i2", U64), F32),
                                F32,
                            ),
                        ),
                    ),
                ),
            ),
        )
    )
    # a length expression: [u8; n + 1] with n: u32
    nn = Var("n", U32)
    fs.append(
        Function(
            "last",
            (Param("n", U32), Param("x", ir.Array(U8, Binary("add", nn, Const(1, U32), U32), False))),
            U8,
            (Return(Load("x", nn, U8)),),
        )
    )
    # find: a return inside a loop inside an if; a while loop
    fs.append(
        Function(
            "find",
            (Param("n", U64), Param("x", x_i32), Param("v", I32)),
            I64,
            (
                For(
                    "i3",
                    U64,
                    Const(0, U64),
                    N,
                    (
                        If(
                            Binary("eq", Load("x", Var("i3", U64), I32), Var("v", I32), BOOL),
                            (Return(Cast(Var("i3", U64), I64)),),
                            (),
                        ),
                    ),
                ),
                Return(Const(I64.mask, I64)),
            ),
        )
    )
    fs.append(
        Function(
            "collatz",
            (Param("v", U64),),
            U32,
            (
                Let("steps", U32, Const(0, U32)),
                Let("c", U64, Var("v", U64)),
                While(
                    Binary("gt", Var("c", U64), Const(1, U64), BOOL),
                    (
                        If(
                            Binary("eq", Binary("rem", Var("c", U64), Const(2, U64), U64), Const(0, U64), BOOL),
                            (Assign("c", Binary("div", Var("c", U64), Const(2, U64), U64)),),
                            (
                                Assign(
                                    "c",
                                    Binary("add", Binary("mul", Var("c", U64), Const(3, U64), U64), Const(1, U64), U64),
                                ),
                            ),
                        ),
                        Assign("steps", Binary("add", Var("steps", U32), Const(1, U32), U32)),
                    ),
                ),
                Return(Var("steps", U32)),
            ),
        )
    )
    # both arms return (nothing follows); statements after a return are dead
    v = Var("v", I32)
    fs.append(
        Function(
            "sign",
            (Param("v", I32),),
            I8,
            (
                If(
                    Binary("lt", v, Const(0, I32), BOOL),
                    (Return(Const(I8.mask, I8)),),
                    (
                        If(
                            Binary("eq", v, Const(0, I32), BOOL),
                            (Return(Const(0, I8)),),
                            (Return(Const(1, I8)), Let("dead", I8, Const(9, I8))),
                        ),
                    ),
                ),
            ),
        )
    )
    # calls: a callee that writes, && whose right side calls, a void call statement
    out = ir.Array(I32, N, True)
    fs.append(
        Function(
            "mark",
            (Param("n", U64), Param("o", out), Param("v", I32)),
            BOOL,
            (Store("o", Const(0, U64), Var("v", I32)), Return(Const(True, BOOL))),
        )
    )
    fs.append(
        Function(
            "guarded",
            (Param("n", U64), Param("o", out), Param("flag", BOOL)),
            BOOL,
            (
                Return(
                    Binary(
                        "land", Var("flag", BOOL), Call("mark", (N, ir.ArrayRef("o", out), Const(7, I32)), BOOL), BOOL
                    )
                ),
            ),
        )
    )
    fs.append(
        Function(
            "twice",
            (Param("n", U64), Param("o", out)),
            None,
            (
                ExprStmt(Call("mark", (N, ir.ArrayRef("o", out), Const(5, I32)), BOOL)),
                Store("o", Const(1, U64), Binary("add", Load("o", Const(0, U64), I32), Const(1, I32), I32)),
            ),
        )
    )
    fs.append(
        Function(
            "sum_via",
            (Param("n", U64), Param("x", x_i32)),
            I32,
            (Return(Binary("mul", Call("sum_i32", (N, ir.ArrayRef("x", x_i32)), I32), Const(2, I32), I32)),),
        )
    )
    return Module(tuple(fs))


@pytest.fixture(scope="module")
def progs(tmp_path_factory):
    return build(_programs(), tmp_path_factory.mktemp("progs"))


def test_loads_out_of_range_give_zero(progs):
    lib, _ = progs
    x = np.array([5, -6, 7], dtype=np.int32)
    assert [lib.load_at(3, x, i) for i in (0, 1, 2, 3, 4, 2**64 - 1)] == [5, -6, 7, 0, 0, 0]
    assert lib.load_at(0, np.zeros(0, np.int32), 0) == 0
    f = np.array([1.5] * 200, dtype=np.float32)
    assert lib.load_i8(200, f, 127) == 1.5
    assert lib.load_i8(200, f, -1) == 0.0  # an i8 index -1 is read as 255
    assert lib.load_i8(300, np.ones(300, np.float32), -1) == 1.0


def test_stores_out_of_range_do_nothing(progs):
    lib, _ = progs
    x = np.zeros(4, dtype=np.int16)
    assert lib.store_at(4, x, 3, -9) is None
    lib.store_at(4, x, 4, 11)
    lib.store_at(4, x, 2**32 - 1, 12)
    assert x.tolist() == [0, 0, 0, -9]


def test_bool_arrays(progs):
    lib, _ = progs
    b = np.array([True, False, True, True], dtype=np.bool_)
    assert lib.flip(4, b) == 3
    assert b.tolist() == [False, True, False, False]


def test_sum_loops(progs):
    lib, em = progs
    rng = np.random.default_rng(1)
    x = rng.integers(-(2**31), 2**31, size=1003, dtype=np.int32)
    want = int(x.astype(np.int64).sum())
    want = ((want + 2**31) % 2**32) - 2**31
    assert lib.sum_i32(1003, x) == want
    assert lib.sum_signed(1003, x) == want
    assert lib.sum_past(1003, x) == want  # x[1003] reads 0
    assert lib.sum_via(1003, x) == ((2 * want + 2**31) % 2**32) - 2**31
    assert lib.sum_i32(0, np.zeros(0, np.int32)) == 0
    assert lib.sum_signed(-5 + 5, np.zeros(0, np.int32)) == 0


def _function_ir(text: str, name: str) -> str:
    m = re.search(rf"define [^\n]*@\"?{name}\"?\(.*?\n}}", text, re.S)
    assert m, name
    return m.group(0)


def test_bounds_proof_lets_the_loop_vectorise(progs):
    _, em = progs
    for name in ("sum_i32", "sum_signed"):
        body = _function_ir(em.dumps["llvm-opt"], name)
        assert re.search(r"<(4|8|16) x i32>", body), body
        # no per-element compare against the length survived: the only
        # branches are the loop's own
        raw = _function_ir(em.dumps["llvm"], name)
        assert "load.in" not in raw
    assert "load.in" in _function_ir(em.dumps["llvm"], "sum_past")


def test_no_fma_contraction(progs):
    lib, _ = progs
    rng = np.random.default_rng(2)
    x = rng.standard_normal(257).astype(np.float32)
    y = rng.standard_normal(257).astype(np.float32)
    a = np.float32(1.1)
    want = a * x + y  # float32 ops, each rounded
    lib.saxpy(257, float(a), x, y)
    assert np.array_equal(y.view(np.uint32), want.view(np.uint32))


def test_length_expression(progs):
    lib, _ = progs
    x = np.arange(6, dtype=np.uint8)
    assert lib.last(5, x) == 5
    with pytest.raises(ValueError, match=r"last: 'x' has 6 elements, its declared length \(n \+ 1u32\) is 5"):
        lib.last(4, x)
    # n + 1 wraps to 0 in u32, where the exact length is 2**32: no buffer can be right
    with pytest.raises(ValueError, match=r"the length \(n \+ 1u32\) overflows its type u32"):
        lib.last(2**32 - 1, np.zeros(0, np.uint8))


def test_control_flow(progs):
    lib, _ = progs
    x = np.array([4, 8, 15, 16, 23, 42], dtype=np.int32)
    assert lib.find(6, x, 16) == 3
    assert lib.find(6, x, 5) == -1
    assert lib.collatz(27) == 111
    assert lib.collatz(1) == 0
    assert [lib.sign(v) for v in (-(2**31), -1, 0, 1, 2**31 - 1)] == [-1, -1, 0, 1, 1]


def test_calls_and_short_circuit(progs):
    lib, _ = progs
    o = np.zeros(2, dtype=np.int32)
    assert lib.guarded(2, o, False) is False
    assert o.tolist() == [0, 0]  # the call did not run
    assert lib.guarded(2, o, True) is True
    assert o.tolist() == [7, 0]
    assert lib.twice(2, o) is None
    assert o.tolist() == [5, 6]


def test_loader_checks_arguments(progs):
    lib, _ = progs
    x = np.zeros(4, dtype=np.int32)
    with pytest.raises(TypeError, match="takes 3"):
        lib.load_at(4, x)
    # one check for the interpreter and compiled code: a ValueError too, as
    # every refused call is for the interpreter's callers
    with pytest.raises(ValueError, match="takes 3"):
        lib.load_at(4, x)
    with pytest.raises(ValueError, match="does not fit"):
        lib.load_at(-1, x, 0)
    with pytest.raises(ValueError, match="does not fit"):
        lib.load_at(2**64, x, 0)
    with pytest.raises(ValueError, match="integer"):
        lib.load_at(4.0, x, 0)
    with pytest.raises(ValueError, match="integer"):
        lib.load_at(True, x, 0)
    with pytest.raises(ValueError, match="dtype"):
        lib.load_at(4, x.astype(np.int64), 0)
    with pytest.raises(ValueError, match="numpy array"):
        lib.load_at(4, [0, 0, 0, 0], 0)
    with pytest.raises(ValueError, match="contiguous"):
        lib.load_at(2, x[::2], 0)
    with pytest.raises(ValueError, match="has 4 elements"):
        lib.load_at(5, x, 0)
    assert lib.load_at(np.uint64(4), x, np.int8(1)) == 0
    y = np.zeros(2, np.float32)
    y.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        lib.saxpy(2, 1.0, np.zeros(2, np.float32), y)
    z = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="overlaps"):
        lib.saxpy(2, 1.0, z[:2], z[1:3])
    lib.saxpy(2, 1.0, z[:2], z[2:])  # adjacent, not overlapping
    with pytest.raises(ValueError, match="bool"):
        lib.guarded(2, np.zeros(2, np.int32), 1)
    assert set(lib.functions) >= {"load_at", "saxpy"}
    assert lib.manifest.functions["saxpy"].to_json()["params"][3] == {
        "name": "y",
        "elem": "f32",
        "length": {"var": "n", "type": "u64"},
        "mutable": True,
    }


def test_abi_signature(progs):
    _, em = progs
    head = re.search(r"define void @\"?saxpy\"?\(.*", em.dumps["llvm-opt"]).group(0)
    assert re.search(r"ptr noalias readonly captures\(none\) %x", head), head
    assert "readonly" not in head.split("%x")[1]
    g = re.search(r"define [^\n]*@\"?guarded\"?\([^\n]*", em.dumps["llvm"]).group(0)
    assert re.search(r"define zeroext i8", g) and re.search(r"i8 [^,]*zeroext[^,]*%\"?flag", g), g


def test_cpu_check(tmp_path, progs):
    lib, em = progs
    folder = Path(lib.path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["cpu_flags"] = ["sse2", "no_such_cpu_flag"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.json").write_text(json.dumps(manifest))
    (other / manifest["library"]).write_bytes((folder / manifest["library"]).read_bytes())
    with pytest.raises(runtime.CpuMismatch, match="no_such_cpu_flag"):
        runtime.load(other)
    assert runtime.load(other, check_cpu=False).load_at(1, np.ones(1, np.int32), 0) == 1


# ---------------------------------------------------------------- the target


def _probe(name: str) -> Probe:
    return load_probe(FIXTURES / name)


def _popcount_module() -> Module:
    x = Var("x", U64)
    return Module((Function("pc", (Param("x", U64),), U64, (Return(Prim("popcount", (x,), U64)),)),))


def test_popcnt_only_where_the_probe_has_it(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    lean = X86.X86Backend().emit(_popcount_module(), _probe("probe-nopopcnt.json"), tmp_path / "a")
    rich = X86.X86Backend().emit(_popcount_module(), _probe("probe-popcnt.json"), tmp_path / "b")
    assert not re.search(r"\bpopcnt", lean.dumps["asm"])
    assert re.search(r"\bpopcnt", rich.dumps["asm"])
    assert "-popcnt" in lean.manifest["features"] and "-avx" in lean.manifest["features"]
    assert "+popcnt" in rich.manifest["features"] and "-avx512f" in rich.manifest["features"]
    assert rich.manifest["cpu"] == "haswell"
    # the lean library still computes popcount correctly on this machine
    (tmp_path / "a" / "manifest.json").write_text(json.dumps({"backend": "x86_64", **lean.manifest}))
    lib = runtime.load(tmp_path / "a")
    for v in (0, 1, 2**64 - 1, 0xF0F0, 12345678901234567):
        assert lib.pc(v) == bin(v).count("1")


def test_calls_stay_inside_the_library(tmp_path):
    """A function named like a libc symbol (labs) calls itself, not libc."""
    n = Var("n", I64)
    rec = lambda k: Call("labs", (Binary("sub", n, Const(k, I64), I64),), I64)
    fib = Function(
        "labs",
        (Param("n", I64),),
        I64,
        (If(Binary("lt", n, Const(2, I64), BOOL), (Return(n),), ()), Return(Binary("add", rec(1), rec(2), I64))),
    )
    lib, _ = build(Module((fib,)), tmp_path)
    assert lib.labs(20) == 6765
    assert lib["labs"](-3) == -3


def test_accepts():
    cpu = Cpu(arch="x86_64", features=(), cores=1, threads=1)
    assert X86.X86Backend().accepts(Probe(cpu=cpu)) is None
    assert "aarch64" in X86.X86Backend().accepts(Probe(cpu=replace(cpu, arch="aarch64")))


def test_when_is_an_internal_error(tmp_path):
    when = ir.When(ir.Fact("cpu.avx2", "eq", True), (Return(Const(1, U8)),), (Return(Const(0, U8)),))
    m = Module((Function("w", (), U8, (when,)),))
    with pytest.raises(BackendError, match="when"):
        X86.X86Backend().emit(m, host_probe(), tmp_path)


def test_registered_entry_point():
    from atlas.machine import backend

    assert backend.available().get("x86_64") is X86.X86Backend
