"""The semantics domain for proofs: the definitions of atlas/meaning/semantics.py run
on Z3 terms.

`Z3Domain` has exactly the methods of `semantics.PyDomain`, so every operator,
cast and primitive is given its meaning by the *same* code for the reference
interpreter and for the prover.  Bit-vectors are Z3 BitVec terms of the stated
width, booleans are Z3 Bool terms, f32/f64 are Z3 Float32/Float64 terms with
round-to-nearest-even.  The domain's operations are only ever asked what
SMT-LIB defines plainly (the definitions guard every edge: shift counts in
range, divisors non-zero, float -> int only in range), so each is the one
obvious SMT-LIB function.

Python values may be passed where the definitions build constants (a shift
amount of a Python int, a Python bool condition); they are lifted here.
"""

from __future__ import annotations

import builtins
import struct
from typing import Any, cast

import numpy as np
import z3

from .ir import Scalar

_SORT = {32: z3.Float32(), 64: z3.Float64()}


def _rne() -> z3.ExprRef:
    return z3.RNE()  # every float operation rounds to nearest, ties to even


class Z3Domain:
    """Bit-vectors, booleans and IEEE floats as Z3 terms."""

    # -- lifting Python values the definitions may hand us
    @staticmethod
    def _bv(w: int, a: Any) -> Any:
        return z3.BitVecVal(a, w) if isinstance(a, int) else a

    @staticmethod
    def _b(a: Any) -> Any:
        return z3.BoolVal(a) if isinstance(a, bool) else a

    # -- bit-vectors
    def const(self, w: int, v: int) -> z3.ExprRef:
        return z3.BitVecVal(v & ((1 << w) - 1), w)

    def add(self, w: int, a: Any, b: Any) -> z3.ExprRef:
        return self._bv(w, a) + self._bv(w, b)

    def sub(self, w: int, a: Any, b: Any) -> z3.ExprRef:
        return self._bv(w, a) - self._bv(w, b)

    def mul(self, w: int, a: Any, b: Any) -> z3.ExprRef:
        return self._bv(w, a) * self._bv(w, b)

    def neg(self, w: int, a: Any) -> z3.ExprRef:
        return -self._bv(w, a)

    def and_(self, w: int, a: Any, b: Any) -> z3.ExprRef:
        return self._bv(w, a) & self._bv(w, b)

    def or_(self, w: int, a: Any, b: Any) -> z3.ExprRef:
        return self._bv(w, a) | self._bv(w, b)

    def xor(self, w: int, a: Any, b: Any) -> z3.ExprRef:
        return self._bv(w, a) ^ self._bv(w, b)

    def not_(self, w: int, a: Any) -> z3.ExprRef:
        return ~self._bv(w, a)

    def udiv(self, w: int, a: Any, b: Any) -> z3.ExprRef:
        return z3.UDiv(self._bv(w, a), self._bv(w, b))

    def urem(self, w: int, a: Any, b: Any) -> z3.ExprRef:
        return z3.URem(self._bv(w, a), self._bv(w, b))

    def shl(self, w: int, a: Any, s: Any) -> z3.ExprRef:
        return self._bv(w, a) << self._bv(w, s)  # bvshl

    def lshr(self, w: int, a: Any, s: Any) -> z3.ExprRef:
        return z3.LShR(self._bv(w, a), self._bv(w, s))

    def ashr(self, w: int, a: Any, s: Any) -> z3.ExprRef:
        return self._bv(w, a) >> self._bv(w, s)  # z3's >> is bvashr

    def eq(self, w: int, a: Any, b: Any) -> z3.ExprRef:
        return self._bv(w, a) == self._bv(w, b)

    def ult(self, w: int, a: Any, b: Any) -> z3.ExprRef:
        return z3.ULT(self._bv(w, a), self._bv(w, b))

    def slt(self, w: int, a: Any, b: Any) -> z3.ExprRef:
        return self._bv(w, a) < self._bv(w, b)  # z3's < is signed

    def zext(self, w_from: int, w_to: int, a: Any) -> z3.ExprRef:
        a = self._bv(w_from, a)
        return a if w_to == w_from else z3.ZeroExt(w_to - w_from, a)

    def sext(self, w_from: int, w_to: int, a: Any) -> z3.ExprRef:
        a = self._bv(w_from, a)
        return a if w_to == w_from else z3.SignExt(w_to - w_from, a)

    def trunc(self, w_from: int, w_to: int, a: Any) -> z3.ExprRef:
        a = self._bv(w_from, a)
        return a if w_to == w_from else z3.Extract(w_to - 1, 0, a)

    def bit(self, w: int, a: Any, i: int) -> z3.ExprRef:
        return z3.Extract(i, i, self._bv(w, a))

    # -- booleans
    def bool(self, v: Any) -> z3.ExprRef:
        return z3.BoolVal(bool(v))

    def band(self, a: Any, b: Any) -> z3.ExprRef:
        return z3.And(self._b(a), self._b(b))

    def bor(self, a: Any, b: Any) -> z3.ExprRef:
        return z3.Or(self._b(a), self._b(b))

    def bnot(self, a: Any) -> z3.ExprRef:
        return z3.Not(self._b(a))

    def ite(self, c: Any, a: Any, b: Any) -> Any:
        if isinstance(c, bool):  # decided in Python: no term needed
            return a if c else b
        return z3.If(c, a, b)

    # -- IEEE floats
    def fconst(self, w: int, v: float) -> z3.ExprRef:
        # Through the bit pattern, so that f32 constants round exactly as
        # PyDomain's numpy.float32(v) does and -0.0 keeps its sign.
        v = float(v)
        if v != v:
            return z3.fpNaN(_SORT[w])
        if w == 32:
            bits = struct.unpack("<I", struct.pack("<f", _to_f32(v)))[0]
        else:
            bits = struct.unpack("<Q", struct.pack("<d", v))[0]
        return z3.fpBVToFP(z3.BitVecVal(bits, w), _SORT[w])

    def fadd(self, w: int, a: Any, b: Any) -> z3.ExprRef:
        return z3.fpAdd(_rne(), a, b)

    def fsub(self, w: int, a: Any, b: Any) -> z3.ExprRef:
        return z3.fpSub(_rne(), a, b)

    def fmul(self, w: int, a: Any, b: Any) -> z3.ExprRef:
        return z3.fpMul(_rne(), a, b)

    def fdiv(self, w: int, a: Any, b: Any) -> z3.ExprRef:
        return z3.fpDiv(_rne(), a, b)

    def fneg(self, w: int, a: Any) -> z3.ExprRef:
        return z3.fpNeg(a)

    def fabs(self, w: int, a: Any) -> z3.ExprRef:
        return z3.fpAbs(a)

    def fsqrt(self, w: int, a: Any) -> z3.ExprRef:
        return z3.fpSqrt(_rne(), a)

    def feq(self, w: int, a: Any, b: Any) -> z3.ExprRef:
        return z3.fpEQ(a, b)  # IEEE equality: NaN != NaN, -0 == +0

    def flt(self, w: int, a: Any, b: Any) -> z3.ExprRef:
        return z3.fpLT(a, b)

    def fle(self, w: int, a: Any, b: Any) -> z3.ExprRef:
        return z3.fpLEQ(a, b)

    def fisnan(self, w: int, a: Any) -> z3.ExprRef:
        return z3.fpIsNaN(a)

    def fcvt(self, w_from: int, w_to: int, a: Any) -> z3.ExprRef:
        return a if w_from == w_to else z3.fpFPToFP(_rne(), a, _SORT[w_to])

    def itof(self, w_int: int, signed: builtins.bool, w_float: int, a: Any) -> z3.ExprRef:
        a = self._bv(w_int, a)
        conv = z3.fpSignedToFP if signed else z3.fpUnsignedToFP
        return conv(_rne(), a, _SORT[w_float])

    def ftoi(self, w_float: int, w_int: int, signed: builtins.bool, a: Any) -> z3.ExprRef:
        """Truncation toward zero; the definitions call it only in range."""
        conv = z3.fpToSBV if signed else z3.fpToUBV
        return conv(z3.RTZ(), a, z3.BitVecSort(w_int))


class Z3AbstractFloats(Z3Domain):
    """Float arithmetic as uninterpreted functions of its operands.  What is
    proven here holds for IEEE arithmetic too, since it holds whatever the
    functions are; and two computations doing the same float operations on
    equal operands are equal at once, however many operations there are,
    where bit-blasting each one may not finish.  A refutation here proves
    nothing: the exact domain decides then."""

    def __init__(self) -> None:
        self._functions: dict[tuple[str, int], Any] = {}

    def _apply(self, name: str, w: int, *args: Any) -> z3.ExprRef:
        f = self._functions.get((name, w))
        if f is None:
            f = self._functions[(name, w)] = z3.Function(f"{name}.f{w}", *([_SORT[w]] * (len(args) + 1)))
        return f(*args)

    def fadd(self, w: int, a: Any, b: Any) -> z3.ExprRef:
        return self._apply("fadd", w, a, b)

    def fsub(self, w: int, a: Any, b: Any) -> z3.ExprRef:
        return self._apply("fsub", w, a, b)

    def fmul(self, w: int, a: Any, b: Any) -> z3.ExprRef:
        return self._apply("fmul", w, a, b)

    def fdiv(self, w: int, a: Any, b: Any) -> z3.ExprRef:
        return self._apply("fdiv", w, a, b)

    def fsqrt(self, w: int, a: Any) -> z3.ExprRef:
        return self._apply("fsqrt", w, a)


def _to_f32(v: float) -> float:
    with np.errstate(over="ignore"):
        return float(np.float32(v))


# ---------------------------------------------------------------- values back


def sort_of(ty: Scalar) -> z3.SortRef:
    """The Z3 sort of an atlas scalar type."""
    if ty.is_bool:
        return z3.BoolSort()
    if ty.is_float:
        return _SORT[ty.bits]
    return z3.BitVecSort(ty.bits)


def fresh(name: str, ty: Scalar) -> z3.ExprRef:
    """A Z3 constant of an atlas scalar type."""
    return z3.Const(name, sort_of(ty))


def to_python(v: z3.ExprRef, ty: Scalar) -> int | float | bool:
    """A Z3 numeral of type `ty` (after simplification or from a model) as a
    natural Python value: a signed or unsigned int, a float, a bool."""
    v = z3.simplify(v)
    if ty.is_bool:
        if z3.is_true(v):
            return True
        if z3.is_false(v):
            return False
        raise ValueError(f"not a boolean constant: {v}")
    if ty.is_float:
        return float_of_bits(bits_of(v, ty), ty.bits)
    if not z3.is_bv_value(v):
        raise ValueError(f"not a bit-vector constant: {v}")
    n: int = v.as_long()
    if ty.signed and n >> (ty.bits - 1):
        n -= 1 << ty.bits
    return n


def bits_of(v: z3.ExprRef, ty: Scalar) -> int:
    """The IEEE bit pattern of a float numeral (NaN: Z3's one canonical NaN)."""
    if z3.is_fp_value(v) and v.isNaN():  # fpToIEEEBV leaves NaN's pattern open
        return _QNAN[ty.bits]
    b = z3.simplify(z3.fpToIEEEBV(v, ctx=v.ctx))  # v may live in a context of its own
    if not z3.is_bv_value(b):
        raise ValueError(f"not a float constant: {v}")
    return cast(int, b.as_long())


_QNAN = {32: 0x7FC00000, 64: 0x7FF8000000000000}


def float_of_bits(bits: int, w: int) -> float:
    if w == 32:
        return cast(float, struct.unpack("<f", struct.pack("<I", bits))[0])
    return cast(float, struct.unpack("<d", struct.pack("<Q", bits))[0])
