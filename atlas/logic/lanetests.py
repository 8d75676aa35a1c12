"""A test of every lane at once: thresholds on the bytes or halves of a word, built, not searched.

A function of one word that tests each 8- or 16-bit lane alike and writes
the answer in that lane (all ones, 1, or the lane's top bit where the test
holds, 0 where not) is a SWAR program of a few operations, past what the
enumeration reaches (Hacker's Delight 6-1's zero-byte test is six).  The
lane's function is read off the specification, by running it on each value
of the lowest lane with the others 0, and checked on every test vector;
where it is a threshold, `lane >= c` or `lane < c`, the program is built:

* the low bits of each lane plus the lane's half less c (or, past the half,
  less c's low part) carry into the lane's top bit exactly when the lane
  reaches c, and no lane's sum reaches the next: `((x & 0x7f..) + k) | x`
  (`& x` past the half) keeps the answer in each top bit, `& 0x80..`
  clears the rest, and `^ 0x80..` turns `>=` into `<`;
* the top bits are then the answer, or shifted down to 1, or widened to
  whole lanes by `(t >> (L - 1)) * 0xff..` or `(t << 1) - (t >> (L - 1))`.

Each form goes to Z3 like every candidate (atlas/logic/enumeration.py).
"""

from __future__ import annotations

import numpy as np

from ..meaning import ir
from ..meaning.terms import Term, const
from . import stochastic as so
from .bitmoves import word_input

LANES = (8, 16)


def candidates(spec: so.Spec, env: dict, expected: np.ndarray) -> list[tuple[int, Term]]:
    """(length, program) for each form of the lane test `spec` computes,
    or none where it is not one (on `env`'s vectors, their values `expected`)."""
    W, x = spec.W, word_input(spec)
    if x is None or W.signed:  # the shifts down are logical
        return []
    out = []
    for lane in LANES:
        test = lane_test(spec, env, expected, lane)
        if test is not None:
            out += [(so.term_length(t), t) for t in build(x, W, lane, *test)]
    return out


def lane_test(spec: so.Spec, env: dict, expected: np.ndarray, lane: int) -> tuple[int, bool, int] | None:
    """(c, at_least, value): every `lane`-bit lane of the result is `value`
    where the same lane of the input is >= c (or < c, without `at_least`),
    else 0; None where the spec is not such a test."""
    W, name = spec.W, spec.inputs[0][0]
    if W.bits // lane < 2:
        return None
    full = (1 << lane) - 1
    got = _run(spec, name, np.arange(1 << lane, dtype=np.uint64))
    low = [int(v) & full for v in got.tolist()]
    value = max(low)
    if value not in (1, 1 << (lane - 1), full) or any(v not in (0, value) for v in low):
        return None
    hold = [v == value for v in low]
    if hold[0]:  # the zero lane passes: the test is lane < c
        c, at_least = hold.index(False) if False in hold else 0, False
    else:
        c, at_least = hold.index(True), True
    if c == 0 or any(h != ((b >= c) == at_least) for b, h in enumerate(hold)):
        return None
    # the other lanes, 0 here, answer as the lowest does for 0; and every test vector agrees
    rest = sum((value if hold[0] else 0) << (lane * k) for k in range(1, W.bits // lane))
    if any(int(v) >> lane != rest >> lane for v in got.tolist()):
        return None
    xs = np.asarray(env[name], dtype=np.uint64)
    want = np.zeros_like(xs)
    for k in range(W.bits // lane):
        field = (xs >> np.uint64(lane * k)) & np.uint64(full)
        passes = (field >= np.uint64(c)) == at_least
        want |= np.where(passes, np.uint64(value << (lane * k)), np.uint64(0))
    agree = np.array_equal(want, np.broadcast_to(np.asarray(expected, dtype=np.uint64), xs.shape))
    return (c, at_least, value) if agree else None


def _run(spec: so.Spec, name: str, xs: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """The spec's values at `xs`, a chunk at a time: every subterm's values
    are kept while a chunk runs, and a large unrolled loop over 65,536
    values at once would hold gigabytes."""
    out = []
    with np.errstate(all="ignore"):
        for at in range(0, len(xs), chunk):
            part = xs[at : at + chunk]
            out.append(np.broadcast_to(np.asarray(so.run_term(spec.term, {name: part})), part.shape))
    return np.concatenate(out).astype(np.uint64)


def _rep(v: int, lane: int, W: ir.Scalar) -> Term:
    """`v` in every lane of the word."""
    return const(sum(v << (lane * k) for k in range(W.bits // lane)) & W.mask, W)


def build(x: Term, W: ir.Scalar, lane: int, c: int, at_least: bool, value: int) -> list[Term]:
    """The lane test's programs (see the module's account)."""
    half = 1 << (lane - 1)

    def op(name: str, *args: Term) -> Term:
        return Term(name, W, args)

    top = _rep(half, lane, W)
    if c == half:
        t = op("and", x, top)
    else:
        carry = op("add", op("and", x, _rep(half - 1, lane, W)), _rep(half - (c if c < half else c - half), lane, W))
        t = op("and", op("or" if c < half else "and", carry, x), top)
    if not at_least:
        t = op("xor", t, top)
    down = op("shr", t, const(lane - 1, W))
    if value == half:
        return [t]
    if value == 1:
        return [down]
    # each lane's 1 times a lane of ones fills that lane and carries into none
    return [op("mul", down, const((1 << lane) - 1, W)), op("sub", op("shl", t, const(1, W)), down)]
