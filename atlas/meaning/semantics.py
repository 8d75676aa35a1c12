"""The meaning of every operator and primitive, written once.

Each definition is a function `(D, t, *args)` over an abstract *domain* D
that supplies plain bit-vector, boolean and IEEE float operations, and `t`,
the scalar type of the operands.  The domain's operations need only be
defined where SMT-LIB defines them plainly; every edge case (shift counts at
or above the width, division by zero, signed overflow, NaN, float-to-int
overflow) is decided *here*, by these definitions, once.  `PyDomain` runs
them on Python integers (the reference interpreter); a Z3 domain runs the
very same functions on bit-vectors (the prover).

Integer values are always carried as unsigned bit patterns of their width
(two's complement); signedness lives in the type, not the value.

The stated results, which every backend must reproduce exactly:

* `+ - *` and unary `-` wrap at the width.
* `a / 0` is all ones for unsigned a; for signed a it is -1 when a >= 0 and
  1 when a < 0.  `a % 0` is a.  Signed division truncates toward zero and
  `MIN / -1` is MIN, `MIN % -1` is 0 (SMT-LIB's bvsdiv / bvsrem).
* Shift counts are read as unsigned.  `a << s` and logical `a >> s` give 0
  for s >= width; arithmetic `a >> s` (signed a) gives all sign bits.
* `popcount`, `clz`, `ctz` give a value of the operand's type; `clz(0)` and
  `ctz(0)` are the width.  `rotl`/`rotr` rotate by s mod width.
* `abs(MIN)` is MIN; `abs` of an unsigned value is the value.
* `min`/`max` on floats are `a < b ? a : b` / `a > b ? a : b` (so a NaN in
  either operand gives b, as x86's minss/maxss do).
* Float -> int casts saturate, NaN gives 0; int -> float rounds to nearest
  even; float ops are IEEE 754 round-to-nearest-even, never reassociated.
* Out-of-range array reads give 0 and out-of-range writes do nothing (this
  is decided in the interpreter and the backends, which see arrays).
"""

from __future__ import annotations

import builtins
from typing import Any, Callable, Protocol, SupportsFloat, TypeVar

import numpy as np

from .ir import Scalar


# ============================================================ the domain interface

# A domain's value: for PyDomain a Python int (a bit pattern), a bool or a
# numpy float; for a Z3 domain a Z3 term.  The definitions below are written
# once for all of them, so to them a value is opaque.
Value = Any

_T = TypeVar("_T")


class Domain(Protocol):
    """What the definitions ask of a domain (PyDomain, z3domain.Z3Domain)."""

    # -- bit-vectors (w: the width in bits)
    def const(self, w: int, v: int) -> Value: ...
    def add(self, w: int, a: Value, b: Value) -> Value: ...
    def sub(self, w: int, a: Value, b: Value) -> Value: ...
    def mul(self, w: int, a: Value, b: Value) -> Value: ...
    def neg(self, w: int, a: Value) -> Value: ...
    def and_(self, w: int, a: Value, b: Value) -> Value: ...
    def or_(self, w: int, a: Value, b: Value) -> Value: ...
    def xor(self, w: int, a: Value, b: Value) -> Value: ...
    def not_(self, w: int, a: Value) -> Value: ...
    def udiv(self, w: int, a: Value, b: Value) -> Value: ...
    def urem(self, w: int, a: Value, b: Value) -> Value: ...
    def shl(self, w: int, a: Value, s: Value) -> Value: ...
    def lshr(self, w: int, a: Value, s: Value) -> Value: ...
    def ashr(self, w: int, a: Value, s: Value) -> Value: ...
    def eq(self, w: int, a: Value, b: Value) -> Value: ...
    def ult(self, w: int, a: Value, b: Value) -> Value: ...
    def slt(self, w: int, a: Value, b: Value) -> Value: ...
    def zext(self, w_from: int, w_to: int, a: Value) -> Value: ...
    def sext(self, w_from: int, w_to: int, a: Value) -> Value: ...
    def trunc(self, w_from: int, w_to: int, a: Value) -> Value: ...
    def bit(self, w: int, a: Value, i: int) -> Value: ...

    # -- booleans
    def bool(self, v: Any) -> Value: ...
    def band(self, a: Value, b: Value) -> Value: ...
    def bor(self, a: Value, b: Value) -> Value: ...
    def bnot(self, a: Value) -> Value: ...
    def ite(self, c: Value, a: Value, b: Value) -> Value: ...

    # -- IEEE floats (w: 32 or 64)
    def fconst(self, w: int, v: float) -> Value: ...
    def fadd(self, w: int, a: Value, b: Value) -> Value: ...
    def fsub(self, w: int, a: Value, b: Value) -> Value: ...
    def fmul(self, w: int, a: Value, b: Value) -> Value: ...
    def fdiv(self, w: int, a: Value, b: Value) -> Value: ...
    def fneg(self, w: int, a: Value) -> Value: ...
    def fabs(self, w: int, a: Value) -> Value: ...
    def fsqrt(self, w: int, a: Value) -> Value: ...
    def feq(self, w: int, a: Value, b: Value) -> Value: ...
    def flt(self, w: int, a: Value, b: Value) -> Value: ...
    def fle(self, w: int, a: Value, b: Value) -> Value: ...
    def fisnan(self, w: int, a: Value) -> Value: ...
    def fcvt(self, w_from: int, w_to: int, a: Value) -> Value: ...
    def itof(self, w_int: int, signed: builtins.bool, w_float: int, a: Value) -> Value: ...
    def ftoi(self, w_float: int, w_int: int, signed: builtins.bool, a: Value) -> Value: ...


# ============================================================ the domain for Python


class PyDomain:
    """Bit-vectors as Python ints in [0, 2**w); floats as numpy scalars."""

    # -- bit-vectors
    def const(self, w: int, v: int) -> int:
        return v & ((1 << w) - 1)

    def add(self, w: int, a: int, b: int) -> int:
        return (a + b) & ((1 << w) - 1)

    def sub(self, w: int, a: int, b: int) -> int:
        return (a - b) & ((1 << w) - 1)

    def mul(self, w: int, a: int, b: int) -> int:
        return (a * b) & ((1 << w) - 1)

    def neg(self, w: int, a: int) -> int:
        return -a & ((1 << w) - 1)

    def and_(self, w: int, a: int, b: int) -> int:
        return a & b

    def or_(self, w: int, a: int, b: int) -> int:
        return a | b

    def xor(self, w: int, a: int, b: int) -> int:
        return a ^ b

    def not_(self, w: int, a: int) -> int:
        return a ^ ((1 << w) - 1)

    def udiv(self, w: int, a: int, b: int) -> int:  # b != 0 (the definitions make sure)
        return a // b if b else 0

    def urem(self, w: int, a: int, b: int) -> int:  # b != 0
        return a % b if b else 0

    def shl(self, w: int, a: int, s: int) -> int:  # s < w
        return (a << s) & ((1 << w) - 1) if s < w else 0

    def lshr(self, w: int, a: int, s: int) -> int:  # s < w
        return a >> s if s < w else 0

    def ashr(self, w: int, a: int, s: int) -> int:  # s < w
        return (_signed(w, a) >> min(s, w - 1)) & ((1 << w) - 1)

    def eq(self, w: int, a: int, b: int) -> bool:
        return a == b

    def ult(self, w: int, a: int, b: int) -> bool:
        return a < b

    def slt(self, w: int, a: int, b: int) -> bool:
        return _signed(w, a) < _signed(w, b)

    def zext(self, w_from: int, w_to: int, a: int) -> int:
        return a

    def sext(self, w_from: int, w_to: int, a: int) -> int:
        return _signed(w_from, a) & ((1 << w_to) - 1)

    def trunc(self, w_from: int, w_to: int, a: int) -> int:
        return a & ((1 << w_to) - 1)

    def bit(self, w: int, a: int, i: int) -> int:  # bit i of a as a 1-bit vector (i a Python int)
        return (a >> i) & 1

    # -- booleans (this method's name hides the type `bool` from the annotations
    # after it in the class: they say `builtins.bool`)
    def bool(self, v: object) -> builtins.bool:
        return bool(v)

    def band(self, a: builtins.bool, b: builtins.bool) -> builtins.bool:
        return a and b

    def bor(self, a: builtins.bool, b: builtins.bool) -> builtins.bool:
        return a or b

    def bnot(self, a: builtins.bool) -> builtins.bool:
        return not a

    def ite(self, c: object, a: _T, b: _T) -> _T:
        return a if c else b

    # -- IEEE floats (numpy computes each f32/f64 op correctly rounded)
    def fconst(self, w: int, v: SupportsFloat) -> np.floating[Any]:
        return _FT[w](v)

    def fadd(self, w: int, a: np.floating[Any], b: np.floating[Any]) -> np.floating[Any]:
        return _FT[w](a + b)

    def fsub(self, w: int, a: np.floating[Any], b: np.floating[Any]) -> np.floating[Any]:
        return _FT[w](a - b)

    def fmul(self, w: int, a: np.floating[Any], b: np.floating[Any]) -> np.floating[Any]:
        return _FT[w](a * b)

    def fdiv(self, w: int, a: np.floating[Any], b: np.floating[Any]) -> np.floating[Any]:
        return _FT[w](a / b)

    def fneg(self, w: int, a: np.floating[Any]) -> np.floating[Any]:
        return _FT[w](-a)

    def fabs(self, w: int, a: np.floating[Any]) -> np.floating[Any]:
        return _FT[w](np.abs(a))

    def fsqrt(self, w: int, a: np.floating[Any]) -> np.floating[Any]:
        return _FT[w](np.sqrt(a))

    def feq(self, w: int, a: np.floating[Any], b: np.floating[Any]) -> builtins.bool:
        return bool(a == b)

    def flt(self, w: int, a: np.floating[Any], b: np.floating[Any]) -> builtins.bool:
        return bool(a < b)

    def fle(self, w: int, a: np.floating[Any], b: np.floating[Any]) -> builtins.bool:
        return bool(a <= b)

    def fisnan(self, w: int, a: np.floating[Any]) -> builtins.bool:
        return bool(np.isnan(a))

    def fcvt(self, w_from: int, w_to: int, a: np.floating[Any]) -> np.floating[Any]:
        return _FT[w_to](a)

    def itof(self, w_int: int, signed: builtins.bool, w_float: int, a: int) -> np.floating[Any]:
        v = _signed(w_int, a) if signed else a
        return _FT[w_float](_round_int(v, 24 if w_float == 32 else 53))

    def ftoi(self, w_float: int, w_int: int, signed: builtins.bool, a: np.floating[Any]) -> int:
        """Truncation toward zero; only called for values in range."""
        if not np.isfinite(a):
            return 0
        return int(a) & ((1 << w_int) - 1)


_FT: dict[int, Callable[[Any], np.floating[Any]]] = {32: np.float32, 64: np.float64}


def _signed(w: int, a: int) -> int:
    return a - (1 << w) if a >> (w - 1) else a


def _round_int(v: int, mant: int) -> float:
    """v rounded to `mant` significant bits, nearest-even, as an exact float.
    (Going through float64 first would round twice for f32.)"""
    m = abs(v)
    n = m.bit_length()
    if n > mant:
        shift = n - mant
        q, r = divmod(m, 1 << shift)
        half = 1 << (shift - 1)
        if r > half or (r == half and q & 1):
            q += 1
        m = q << shift
    return float(-m if v < 0 else m)


# ============================================================ the definitions


def _c(D: Domain, t: Scalar, v: int) -> Value:
    return D.const(t.bits, v)


def neg(D: Domain, t: Scalar, a: Value) -> Value:
    return D.fneg(t.bits, a) if t.is_float else D.neg(t.bits, a)


def bitnot(D: Domain, t: Scalar, a: Value) -> Value:
    return D.bnot(a) if t.is_bool else D.not_(t.bits, a)


def add(D: Domain, t: Scalar, a: Value, b: Value) -> Value:
    return D.fadd(t.bits, a, b) if t.is_float else D.add(t.bits, a, b)


def sub(D: Domain, t: Scalar, a: Value, b: Value) -> Value:
    return D.fsub(t.bits, a, b) if t.is_float else D.sub(t.bits, a, b)


def mul(D: Domain, t: Scalar, a: Value, b: Value) -> Value:
    return D.fmul(t.bits, a, b) if t.is_float else D.mul(t.bits, a, b)


def _magnitudes(D: Domain, t: Scalar, a: Value, b: Value) -> tuple[Value, Value, Value, Value]:
    w = t.bits
    zero = _c(D, t, 0)
    na, nb = D.slt(w, a, zero), D.slt(w, b, zero)
    ua = D.ite(na, D.neg(w, a), a)
    ub = D.ite(nb, D.neg(w, b), b)
    return na, nb, ua, ub


def div(D: Domain, t: Scalar, a: Value, b: Value) -> Value:
    if t.is_float:
        return D.fdiv(t.bits, a, b)
    w = t.bits
    by_zero = D.eq(w, b, _c(D, t, 0))
    if not t.signed:
        q = D.udiv(w, a, D.ite(by_zero, _c(D, t, 1), b))
        return D.ite(by_zero, _c(D, t, t.mask), q)
    na, nb, ua, ub = _magnitudes(D, t, a, b)
    q = D.udiv(w, ua, D.ite(by_zero, _c(D, t, 1), ub))
    q = D.ite(D.ite(na, D.bnot(nb), nb), D.neg(w, q), q)  # signs differ: negate
    return D.ite(by_zero, D.ite(na, _c(D, t, 1), _c(D, t, t.mask)), q)


def rem(D: Domain, t: Scalar, a: Value, b: Value) -> Value:
    w = t.bits
    by_zero = D.eq(w, b, _c(D, t, 0))
    if not t.signed:
        r = D.urem(w, a, D.ite(by_zero, _c(D, t, 1), b))
        return D.ite(by_zero, a, r)
    na, nb, ua, ub = _magnitudes(D, t, a, b)
    r = D.urem(w, ua, D.ite(by_zero, _c(D, t, 1), ub))
    return D.ite(by_zero, a, D.ite(na, D.neg(w, r), r))


def bitand(D: Domain, t: Scalar, a: Value, b: Value) -> Value:
    return D.band(a, b) if t.is_bool else D.and_(t.bits, a, b)


def bitor(D: Domain, t: Scalar, a: Value, b: Value) -> Value:
    return D.bor(a, b) if t.is_bool else D.or_(t.bits, a, b)


def bitxor(D: Domain, t: Scalar, a: Value, b: Value) -> Value:
    if t.is_bool:
        return D.bnot(D.eq(1, D.ite(a, D.const(1, 1), D.const(1, 0)), D.ite(b, D.const(1, 1), D.const(1, 0))))
    return D.xor(t.bits, a, b)


def _amount(D: Domain, t: Scalar, ts: Scalar, s: Value) -> tuple[Value, Value]:
    """The shift count s (of integer type ts) as (in_range, count of width t.bits)."""
    w, ws = t.bits, ts.bits
    if ws > w:
        in_range = D.ult(ws, s, D.const(ws, w))
        return in_range, D.trunc(ws, w, s)
    s = D.zext(ws, w, s) if ws < w else s
    return D.ult(w, s, D.const(w, w)), s


def shl(D: Domain, t: Scalar, ts: Scalar, a: Value, s: Value) -> Value:
    ok, s = _amount(D, t, ts, s)
    return D.ite(ok, D.shl(t.bits, a, D.ite(ok, s, _c(D, t, 0))), _c(D, t, 0))


def shr(D: Domain, t: Scalar, ts: Scalar, a: Value, s: Value) -> Value:
    ok, s = _amount(D, t, ts, s)
    s = D.ite(ok, s, _c(D, t, 0))
    if t.signed:
        fill = D.ite(D.slt(t.bits, a, _c(D, t, 0)), _c(D, t, t.mask), _c(D, t, 0))
        return D.ite(ok, D.ashr(t.bits, a, s), fill)
    return D.ite(ok, D.lshr(t.bits, a, s), _c(D, t, 0))


def compare(D: Domain, t: Scalar, op: str, a: Value, b: Value) -> Value:
    if t.is_float:
        w = t.bits
        return {
            "eq": lambda: D.feq(w, a, b),
            "ne": lambda: D.bnot(D.feq(w, a, b)),
            "lt": lambda: D.flt(w, a, b),
            "le": lambda: D.fle(w, a, b),
            "gt": lambda: D.flt(w, b, a),
            "ge": lambda: D.fle(w, b, a),
        }[op]()
    if t.is_bool:
        a = D.ite(a, D.const(1, 1), D.const(1, 0))
        b = D.ite(b, D.const(1, 1), D.const(1, 0))
        t = Scalar("uint", 1)
    w = t.bits
    lt = D.slt if t.signed else D.ult
    return {
        "eq": lambda: D.eq(w, a, b),
        "ne": lambda: D.bnot(D.eq(w, a, b)),
        "lt": lambda: lt(w, a, b),
        "le": lambda: D.bnot(lt(w, b, a)),
        "gt": lambda: lt(w, b, a),
        "ge": lambda: D.bnot(lt(w, a, b)),
    }[op]()


def cast(D: Domain, src: Scalar, dst: Scalar, a: Value) -> Value:
    if src == dst:
        return a
    if src.is_bool:
        if dst.is_float:
            return D.ite(a, D.fconst(dst.bits, 1.0), D.fconst(dst.bits, 0.0))
        return D.ite(a, _c(D, dst, 1), _c(D, dst, 0))
    if dst.is_bool:
        if src.is_float:
            return D.bnot(D.feq(src.bits, a, D.fconst(src.bits, 0.0)))
        return D.bnot(D.eq(src.bits, a, _c(D, src, 0)))
    if src.is_float and dst.is_float:
        return D.fcvt(src.bits, dst.bits, a)
    if src.is_int and dst.is_float:
        return D.itof(src.bits, src.signed, dst.bits, a)
    if src.is_float and dst.is_int:
        return _float_to_int(D, src, dst, a)
    # int -> int: truncate, or extend by the source's signedness
    if dst.bits < src.bits:
        return D.trunc(src.bits, dst.bits, a)
    if dst.bits > src.bits:
        return (D.sext if src.signed else D.zext)(src.bits, dst.bits, a)
    return a


def _float_to_int(D: Domain, src: Scalar, dst: Scalar, a: Value) -> Value:
    """Saturating truncation toward zero; NaN gives 0."""
    wf, wi = src.bits, dst.bits
    if dst.signed:
        lo, hi = -(1 << (wi - 1)), 1 << (wi - 1)  # both exact in any float width
        lo_val, hi_val = 1 << (wi - 1), (1 << (wi - 1)) - 1
    else:
        lo, hi = 0, 1 << wi
        lo_val, hi_val = 0, (1 << wi) - 1
    flo, fhi = D.fconst(wf, float(lo)), D.fconst(wf, float(hi))
    return D.ite(
        D.fisnan(wf, a),
        _c(D, dst, 0),
        D.ite(
            D.flt(wf, a, flo),
            _c(D, dst, lo_val),
            D.ite(D.fle(wf, fhi, a), _c(D, dst, hi_val), D.ftoi(wf, wi, dst.signed, a)),
        ),
    )


def select(D: Domain, t: Scalar, c: Value, a: Value, b: Value) -> Value:
    return D.ite(c, a, b)


def min_(D: Domain, t: Scalar, a: Value, b: Value) -> Value:
    if t.is_float:
        return D.ite(D.flt(t.bits, a, b), a, b)
    return D.ite(compare(D, t, "lt", a, b), a, b)


def max_(D: Domain, t: Scalar, a: Value, b: Value) -> Value:
    if t.is_float:
        return D.ite(D.flt(t.bits, b, a), a, b)
    return D.ite(compare(D, t, "gt", a, b), a, b)


def abs_(D: Domain, t: Scalar, a: Value) -> Value:
    if t.is_float:
        return D.fabs(t.bits, a)
    if not t.signed:
        return a
    return D.ite(D.slt(t.bits, a, _c(D, t, 0)), D.neg(t.bits, a), a)


def popcount(D: Domain, t: Scalar, a: Value) -> Value:
    """The bits summed in pairs, the pairs' sums in pairs, and so on, each
    sum one bit wider than its parts: the same value as a running total,
    but a far smaller circuit for Z3 (an induction over a 64-bit popcount
    is decided in a fifth of the resource units, and does not hang on
    the names of its variables)."""
    w = t.bits
    sums, k = [D.bit(w, a, i) for i in range(w)], 1  # widths are powers of two
    while len(sums) > 1:
        sums = [D.add(k + 1, D.zext(k, k + 1, sums[i]), D.zext(k, k + 1, sums[i + 1])) for i in range(0, len(sums), 2)]
        k += 1
    return D.zext(k, w, sums[0]) if k < w else sums[0]


def clz(D: Domain, t: Scalar, a: Value) -> Value:
    """Leading zeros: scan from the top bit down; clz(0) = width."""
    w = t.bits
    n = _c(D, t, w)
    for i in range(w):  # the highest set bit wins: visit it last
        n = D.ite(D.eq(1, D.bit(w, a, i), D.const(1, 1)), _c(D, t, w - 1 - i), n)
    return n


def ctz(D: Domain, t: Scalar, a: Value) -> Value:
    """Trailing zeros; ctz(0) = width."""
    w = t.bits
    n = _c(D, t, w)
    for i in reversed(range(w)):  # the lowest set bit wins: visit it last
        n = D.ite(D.eq(1, D.bit(w, a, i), D.const(1, 1)), _c(D, t, i), n)
    return n


def _rot_amount(D: Domain, t: Scalar, ts: Scalar, s: Value) -> Value:
    """s mod width, as a count of t's width."""
    w = t.bits
    s = D.trunc(ts.bits, w, s) if ts.bits > w else (D.zext(ts.bits, w, s) if ts.bits < w else s)
    return D.and_(w, s, _c(D, t, w - 1))  # widths are powers of two


def rotl(D: Domain, t: Scalar, ts: Scalar, a: Value, s: Value) -> Value:
    w = t.bits
    k = _rot_amount(D, t, ts, s)
    back = D.and_(w, D.sub(w, _c(D, t, w), k), _c(D, t, w - 1))
    return D.ite(D.eq(w, k, _c(D, t, 0)), a, D.or_(w, D.shl(w, a, k), D.lshr(w, a, back)))


def rotr(D: Domain, t: Scalar, ts: Scalar, a: Value, s: Value) -> Value:
    w = t.bits
    k = _rot_amount(D, t, ts, s)
    back = D.and_(w, D.sub(w, _c(D, t, w), k), _c(D, t, w - 1))
    return D.ite(D.eq(w, k, _c(D, t, 0)), a, D.or_(w, D.lshr(w, a, k), D.shl(w, a, back)))


def bswap(D: Domain, t: Scalar, a: Value) -> Value:
    w = t.bits
    out = _c(D, t, 0)
    for i in range(w // 8):
        byte = D.and_(w, D.lshr(w, a, _c(D, t, 8 * i)), _c(D, t, 0xFF))
        out = D.or_(w, out, D.shl(w, byte, _c(D, t, w - 8 - 8 * i)))
    return out


def wmul(D: Domain, t: Scalar, a: Value, b: Value) -> Value:
    """Widening multiply: the full product in the type of twice the width."""
    w = t.bits
    ext = D.sext if t.signed else D.zext
    return D.mul(2 * w, ext(w, 2 * w, a), ext(w, 2 * w, b))


def mulhi(D: Domain, t: Scalar, a: Value, b: Value) -> Value:
    """The high half of the full product."""
    w = t.bits
    p = wmul(D, t, a, b)
    return D.trunc(2 * w, w, D.lshr(2 * w, p, D.const(2 * w, w)))


def add_sat(D: Domain, t: Scalar, a: Value, b: Value) -> Value:
    w = t.bits
    s = D.add(w, a, b)
    if not t.signed:
        return D.ite(D.ult(w, s, a), _c(D, t, t.mask), s)
    zero = _c(D, t, 0)
    # overflow iff a and b have one sign and s the other
    over = D.band(
        D.eq(1, D.bit(w, a, w - 1), D.bit(w, b, w - 1)), D.bnot(D.eq(1, D.bit(w, a, w - 1), D.bit(w, s, w - 1)))
    )
    limit = D.ite(D.slt(w, a, zero), _c(D, t, 1 << (w - 1)), _c(D, t, (1 << (w - 1)) - 1))
    return D.ite(over, limit, s)


def sub_sat(D: Domain, t: Scalar, a: Value, b: Value) -> Value:
    w = t.bits
    s = D.sub(w, a, b)
    if not t.signed:
        return D.ite(D.ult(w, a, b), _c(D, t, 0), s)
    zero = _c(D, t, 0)
    # overflow iff a and b have different signs and s differs from a
    over = D.band(
        D.bnot(D.eq(1, D.bit(w, a, w - 1), D.bit(w, b, w - 1))), D.bnot(D.eq(1, D.bit(w, a, w - 1), D.bit(w, s, w - 1)))
    )
    limit = D.ite(D.slt(w, a, zero), _c(D, t, 1 << (w - 1)), _c(D, t, (1 << (w - 1)) - 1))
    return D.ite(over, limit, s)


def sqrt(D: Domain, t: Scalar, a: Value) -> Value:
    return D.fsqrt(t.bits, a)


# Binary operator name -> definition (shifts and comparisons have their own shape).
BINARY: dict[str, Callable[..., Any]] = {
    "add": add,
    "sub": sub,
    "mul": mul,
    "div": div,
    "rem": rem,
    "and": bitand,
    "or": bitor,
    "xor": bitxor,
}

# Primitive name -> (definition, shape).  Shapes: 'unary' (D,t,a), 'binary'
# (D,t,a,b), 'shift' (D,t,ts,a,s), 'select' (D,t,c,a,b).
PRIMITIVES: dict[str, tuple[Callable[..., Any], str]] = {
    "popcount": (popcount, "unary"),
    "clz": (clz, "unary"),
    "ctz": (ctz, "unary"),
    "abs": (abs_, "unary"),
    "bswap": (bswap, "unary"),
    "sqrt": (sqrt, "unary"),
    "min": (min_, "binary"),
    "max": (max_, "binary"),
    "wmul": (wmul, "binary"),
    "mulhi": (mulhi, "binary"),
    "add_sat": (add_sat, "binary"),
    "sub_sat": (sub_sat, "binary"),
    "rotl": (rotl, "shift"),
    "rotr": (rotr, "shift"),
    "select": (select, "select"),
}
