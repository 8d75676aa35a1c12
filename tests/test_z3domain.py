"""The Z3 domain agrees with the Python domain on every operator, cast and
primitive at every width: the definitions of atlas/meaning/semantics.py run on Z3
constants and simplified give exactly PyDomain's result.  A few proofs show
the domain is fit for proving."""

from __future__ import annotations

import math
import random
import struct

import numpy as np
import pytest
import z3

from atlas.meaning import ir, semantics as sem
from atlas.logic import rules
from atlas.meaning.terms import Term, const, evaluate, var
from atlas.meaning.z3domain import Z3Domain, bits_of, fresh

PY, ZD = sem.PyDomain(), Z3Domain()
INTS = [ir.I8, ir.I16, ir.I32, ir.I64, ir.U8, ir.U16, ir.U32, ir.U64]
FLOATS = [ir.F32, ir.F64]
ALL = INTS + FLOATS + [ir.BOOL]
N = 8  # random operand tuples per case (edge values come on top)


def test_same_methods_as_the_python_domain():
    want = {m for m in vars(sem.PyDomain) if not m.startswith("_")}
    assert want <= {m for m in dir(Z3Domain) if not m.startswith("_")}


# ---------------------------------------------------------------- values


def _int_values(t: ir.Scalar, rng: random.Random) -> list[int]:
    w = t.bits
    edges = [0, 1, 2, t.mask, t.mask - 1, 1 << (w - 1), (1 << (w - 1)) - 1, w - 1, w, w + 1]
    return edges + [rng.getrandbits(w) for _ in range(N)] + [rng.getrandbits(rng.randint(1, w)) for _ in range(N)]


def _f32(x: float) -> float:
    with np.errstate(over="ignore"):
        return float(np.float32(x))


def _float_values(t: ir.Scalar, rng: random.Random) -> list[float]:
    big = [2.0**7, 2.0**8, 2.0**15, 2.0**16, 2.0**31, 2.0**32, 2.0**63, 2.0**64]
    edges = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -0.5,
        1.5,
        2.5,
        -2.5,
        math.inf,
        -math.inf,
        math.nan,
        5e-324 if t.bits == 64 else 1.401298464324817e-45,
        3.4028234663852886e38,
        1e300,
        *big,
        *(-b for b in big),
        *(b - 1 for b in big),
        *(-b - 1 for b in big),
    ]
    rand = []
    for _ in range(N):
        if t.bits == 32:
            rand.append(struct.unpack("<f", struct.pack("<I", rng.getrandbits(32)))[0])
        else:
            rand.append(struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0])
        rand.append(rng.uniform(-300, 300))
    vals = edges + rand
    return [_f32(v) for v in vals] if t.bits == 32 else vals


def values(t: ir.Scalar, rng: random.Random) -> list:
    if t.is_bool:
        return [False, True]
    return _float_values(t, rng) if t.is_float else _int_values(t, rng)


# ---------------------------------------------------------------- comparing


def same(term: Term) -> None:
    """PyDomain and Z3Domain (simplified) agree on a constant term."""
    with np.errstate(all="ignore"):  # NaN and overflow are expected results here
        want = evaluate(term, PY, {})
    got = z3.simplify(evaluate(term, ZD, {}))
    ty = term.ty
    if ty.is_bool:
        assert z3.is_true(got) or z3.is_false(got), f"{term}: not folded: {got}"
        assert z3.is_true(got) == bool(want), f"{term}: Z3 {got}, Python {want}"
    elif ty.is_float:
        if np.isnan(want):
            assert z3.is_fp_value(got) and got.isNaN(), f"{term}: Z3 {got}, Python nan"
        else:
            pattern = int(
                np.array(want, dtype=np.float32 if ty.bits == 32 else np.float64).view(
                    np.uint32 if ty.bits == 32 else np.uint64
                )
            )
            assert bits_of(got, ty) == pattern, f"{term}: Z3 {got}, Python {want!r}"
    else:
        assert z3.is_bv_value(got), f"{term}: not folded: {got}"
        assert got.as_long() == want, f"{term}: Z3 {got.as_long():#x}, Python {want:#x}"


def pairs(xs, ys, rng, n=3 * N):
    """Edge values against each other, plus random pairings."""
    out = [(x, y) for x in xs[:6] for y in ys[:6]]
    out += [(rng.choice(xs), rng.choice(ys)) for _ in range(n)]
    return out


# ---------------------------------------------------------------- cases


def _binary_ops(t):
    if t.is_bool:
        return ["and", "or", "xor", "land", "lor"]
    if t.is_float:
        return ["add", "sub", "mul", "div", "min", "max"]
    ops = ["add", "sub", "mul", "div", "rem", "and", "or", "xor", "min", "max", "mulhi", "add_sat", "sub_sat"]
    return ops + (["wmul"] if t.bits <= 32 else [])


def _unary_ops(t):
    if t.is_bool:
        return ["not"]
    if t.is_float:
        return ["neg", "abs", "sqrt"]
    return ["neg", "not", "popcount", "clz", "ctz", "abs"] + (["bswap"] if t.bits >= 16 else [])


def _result(op, t):
    if op in ("eq", "ne", "lt", "le", "gt", "ge"):
        return ir.BOOL
    if op == "wmul":
        return ir.Scalar(t.kind, 2 * t.bits)
    return t


@pytest.mark.parametrize("t", ALL, ids=str)
def test_unary_binary_compare_select(t):
    rng = random.Random(f"ops-{t}")
    xs = values(t, rng)
    for op in _unary_ops(t):
        for x in xs:
            same(Term(op, t, (const(x, t),)))
    for op in _binary_ops(t) + ["eq", "ne", "lt", "le", "gt", "ge"]:
        for x, y in pairs(xs, xs, rng):
            same(Term(op, _result(op, t), (const(x, t), const(y, t))))
    for c in (False, True):
        for x, y in pairs(xs, xs, rng, n=N):
            same(Term("select", t, (const(c, ir.BOOL), const(x, t), const(y, t))))


@pytest.mark.parametrize("t", INTS, ids=str)
def test_shifts_and_rotates(t):
    rng = random.Random(f"shift-{t}")
    xs = values(t, rng)
    for ts in INTS:  # every count type, counts at and past the width
        counts = [
            0,
            1,
            t.bits - 1,
            t.bits,
            t.bits + 1,
            2 * t.bits,
            ts.mask,
            *(rng.getrandbits(ts.bits) for _ in range(3)),
        ]
        counts = [c & ts.mask for c in counts]
        for op in ("shl", "shr", "rotl", "rotr"):
            for x, s in pairs(xs, counts, rng, n=N):
                same(Term(op, t, (const(x, t), const(s, ts))))


@pytest.mark.parametrize("src", ALL, ids=str)
def test_casts(src):
    rng = random.Random(f"cast-{src}")
    xs = values(src, rng)
    for dst in ALL:
        for x in xs:
            same(Term("cast", dst, (const(x, src),)))


# ---------------------------------------------------------------- proofs


def _proves(claim) -> bool:
    s = z3.Solver()
    s.set(timeout=20000)
    s.add(z3.Not(claim))
    r = s.check()
    assert r != z3.unknown, s.reason_unknown()
    return r == z3.unsat


def _z3(term: Term, names: dict):
    return evaluate(term, ZD, {n: fresh(n, term_ty) for n, term_ty in names.items()})


def T(op, ty, *args):
    return Term(op, ty, tuple(args))


def test_prove_popcount_swar_u64():
    """popcount(x) equals the classic bit-slicing sum, as popcount_total.ax writes it."""
    u = ir.U64
    x = var("x", u)
    c = lambda v: const(v, u)
    x1 = T("sub", u, x, T("and", u, T("shr", u, x, c(1)), c(0x5555555555555555)))
    x2 = T("add", u, T("and", u, x1, c(0x3333333333333333)), T("and", u, T("shr", u, x1, c(2)), c(0x3333333333333333)))
    x3 = T("and", u, T("add", u, x2, T("shr", u, x2, c(4))), c(0x0F0F0F0F0F0F0F0F))
    swar = T("shr", u, T("mul", u, x3, c(0x0101010101010101)), c(56))
    env = {"x": fresh("x", u)}
    assert _proves(evaluate(T("popcount", u, x), ZD, env) == evaluate(swar, ZD, env))


def test_prove_small_identities_and_refute_signed_halving():
    for t in (ir.U32, ir.I32):
        x = var("x", t)
        env = {"x": fresh("x", t)}
        # ctz(x) == popcount((x & -x) - 1), including x = 0 (both give the width)
        lhs = T("ctz", t, x)
        rhs = T("popcount", t, T("sub", t, T("and", t, x, T("neg", t, x)), const(1, t)))
        assert _proves(evaluate(lhs, ZD, env) == evaluate(rhs, ZD, env))
        assert _proves(evaluate(T("bswap", t, T("bswap", t, x)), ZD, env) == env["x"])
        halve = evaluate(T("div", t, x, const(2, t)), ZD, env)
        shift = evaluate(T("shr", t, x, const(1, t)), ZD, env)
        assert _proves(halve == shift) == (not t.signed)  # x / 2 is x >> 1 only unsigned


def test_prove_float_doubling_and_refute_zero_add():
    t = ir.F32
    x = var("x", t)
    env = {"x": fresh("x", t)}
    # structural equality (z3 `==`): one NaN, +0 and -0 differ
    assert _proves(evaluate(T("mul", t, x, const(2.0, t)), ZD, env) == evaluate(T("add", t, x, x), ZD, env))
    assert not _proves(evaluate(T("add", t, x, const(0.0, t)), ZD, env) == env["x"])  # -0.0
    assert _proves(evaluate(T("add", t, x, const(-0.0, t)), ZD, env) == env["x"])


@pytest.mark.parametrize("t", ALL, ids=str)
def test_the_commutations_prove_assumes_hold(t):
    """rules.prove puts the operands of these operators in one order and
    writes > as <; here each of those steps is proven in the domain."""
    a, b = var("a", t), var("b", t)
    env = {"a": fresh("a", t), "b": fresh("b", t)}
    for op in sorted(rules._COMMUTES):
        if (
            op in ("land", "lor")
            and not t.is_bool
            or op in ("and", "or", "xor")
            and t.is_float
            or op in ("add", "mul")
            and t.is_bool
        ):
            continue
        ty = ir.BOOL if op in ("eq", "ne", "land", "lor") else t
        assert _proves(evaluate(T(op, ty, a, b), ZD, env) == evaluate(T(op, ty, b, a), ZD, env)), op
    for op, flipped in rules._FLIPPED.items():
        assert _proves(evaluate(T(op, ir.BOOL, a, b), ZD, env) == evaluate(T(flipped, ir.BOOL, b, a), ZD, env)), op
