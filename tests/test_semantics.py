"""The definitions in atlas/meaning/semantics.py against independent, plain statements
of the stated results (Python arithmetic on natural numbers)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas.meaning import semantics as sem
from atlas.meaning.ir import F32, F64, I8, I16, I32, I64, U8, U16, U32, U64, Scalar
from atlas.meaning.semantics import PyDomain

D = PyDomain()
INTS = [I8, I16, I32, I64, U8, U16, U32, U64]


def nat(t, v):
    """bit pattern -> natural value"""
    return v - (1 << t.bits) if t.signed and v >> (t.bits - 1) else v


def pat(t, v):
    return v & t.mask


def values(t):
    return st.integers(0, t.mask) | st.sampled_from([0, 1, t.mask, t.mask >> 1, (t.mask >> 1) + 1])


@pytest.mark.parametrize("t", INTS, ids=str)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_division_and_remainder(t, data):
    a, b = data.draw(values(t)), data.draw(values(t))
    q, r = sem.div(D, t, a, b), sem.rem(D, t, a, b)
    x, y = nat(t, a), nat(t, b)
    if y == 0:
        assert q == (t.mask if not t.signed or x >= 0 else 1)
        assert r == a
        return
    # truncating division, remainder with the dividend's sign, wrapped
    want_q = abs(x) // abs(y) * (1 if (x >= 0) == (y >= 0) else -1)
    assert q == pat(t, want_q)
    assert r == pat(t, x - want_q * y)


@pytest.mark.parametrize("t", INTS, ids=str)
@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_shifts(t, data):
    a = data.draw(values(t))
    ts = data.draw(st.sampled_from(INTS))
    s = data.draw(
        st.integers(0, ts.mask) | st.sampled_from([0, 1, t.bits - 1, t.bits, t.bits + 1]).map(lambda v: v & ts.mask)
    )
    count = s  # counts are read unsigned
    left = sem.shl(D, t, ts, a, s)
    right = sem.shr(D, t, ts, a, s)
    assert left == (pat(t, a << count) if count < t.bits else 0)
    if t.signed:
        assert right == pat(t, nat(t, a) >> min(count, t.bits - 1))
    else:
        assert right == (a >> count if count < t.bits else 0)


@pytest.mark.parametrize("t", INTS, ids=str)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_bit_primitives(t, data):
    a = data.draw(values(t))
    s = data.draw(st.integers(0, 300))
    assert sem.popcount(D, t, a) == bin(a).count("1")
    assert sem.clz(D, t, a) == t.bits - a.bit_length()
    assert sem.ctz(D, t, a) == (t.bits if a == 0 else (a & -a).bit_length() - 1)
    k = s % t.bits
    assert sem.rotl(D, t, U16, a, s) == pat(t, (a << k) | (a >> (t.bits - k)))
    assert sem.rotr(D, t, U16, a, s) == pat(t, (a >> k) | (a << (t.bits - k)))
    if t.bits >= 16:
        assert sem.bswap(D, t, a) == int.from_bytes(a.to_bytes(t.bits // 8, "little"), "big")
    assert sem.abs_(D, t, a) == (pat(t, abs(nat(t, a))) if t.signed else a)


@pytest.mark.parametrize("t", INTS, ids=str)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_saturating_and_wide(t, data):
    a, b = data.draw(values(t)), data.draw(values(t))
    x, y = nat(t, a), nat(t, b)
    lo, hi = (-(1 << (t.bits - 1)), (1 << (t.bits - 1)) - 1) if t.signed else (0, t.mask)
    assert nat(t, sem.add_sat(D, t, a, b)) == min(max(x + y, lo), hi)
    assert nat(t, sem.sub_sat(D, t, a, b)) == min(max(x - y, lo), hi)
    assert nat(t, sem.mulhi(D, t, a, b)) == nat(t, pat(t, (x * y) >> t.bits))
    if t.bits <= 32:
        wide = Scalar(t.kind, 2 * t.bits)
        assert nat(wide, sem.wmul(D, t, a, b)) == x * y
    assert nat(t, sem.min_(D, t, a, b)) == min(x, y)
    assert nat(t, sem.max_(D, t, a, b)) == max(x, y)


def test_float_to_int_saturates():
    for src in (F32, F64):
        f = lambda v: D.fconst(src.bits, v)
        assert sem.cast(D, src, I32, f(float("nan"))) == 0
        assert nat(I32, sem.cast(D, src, I32, f(1e20))) == 2**31 - 1
        assert nat(I32, sem.cast(D, src, I32, f(-1e20))) == -(2**31)
        assert nat(I32, sem.cast(D, src, I32, f(-7.9))) == -7
        assert sem.cast(D, src, U8, f(-3.0)) == 0
        assert sem.cast(D, src, U8, f(255.9)) == 255
        assert sem.cast(D, src, U8, f(256.0)) == 255
        assert sem.cast(D, src, U64, f(float("inf"))) == 2**64 - 1
        assert nat(I64, sem.cast(D, src, I64, f(-(2.0**63)))) == -(2**63)


def test_int_to_f32_rounds_once():
    # 2**24 + 1 and 2**60 + 2**36 + 1 sit just above a tie: rounding through
    # float64 first would round the second one wrongly.
    for v in (2**24 + 1, 2**24 + 3, 2**60 + 2**36 + 1, 2**64 - 1):
        got = sem.cast(D, U64, F32, v)
        exact = float(np.float32(float(v)))  # wrong only where double rounding bites
        assert abs(int(got) - v) <= abs(int(exact) - v)
        lo, hi = np.nextafter(got, np.float32(0)), np.nextafter(got, np.float32(np.inf))
        assert abs(int(got) - v) <= abs(int(lo) - v) and abs(int(got) - v) <= abs(int(hi) - v)
    assert sem.cast(D, U64, F32, 2**60 + 2**36 + 1) == np.float32(2**60 + 2**37)


def test_float_min_max_follow_x86():
    nan = D.fconst(32, float("nan"))
    one = D.fconst(32, 1.0)
    assert sem.min_(D, F32, nan, one) == one  # a < b is false: b
    assert math.isnan(sem.min_(D, F32, one, nan))
    assert sem.max_(D, F32, nan, one) == one
    z, nz = D.fconst(32, 0.0), D.fconst(32, -0.0)
    assert np.signbit(sem.min_(D, F32, z, nz))  # 0.0 < -0.0 is false: b


def test_float_compare_nan():
    nan = D.fconst(64, float("nan"))
    for op in ("eq", "lt", "le", "gt", "ge"):
        assert sem.compare(D, F64, op, nan, nan) is False
    assert sem.compare(D, F64, "ne", nan, nan) is True


def test_int_casts():
    assert sem.cast(D, I8, I32, 0x80) == pat(I32, -128)
    assert sem.cast(D, U8, I32, 0x80) == 128
    assert sem.cast(D, I32, U8, pat(I32, -1)) == 255
    assert sem.cast(D, I32, I16, 0x12345678) == 0x5678
    from atlas.meaning.ir import BOOL

    assert sem.cast(D, U32, BOOL, 4) is True
    assert sem.cast(D, BOOL, I64, True) == 1
