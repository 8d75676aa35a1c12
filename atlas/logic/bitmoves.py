"""Programs that only move bits: reversals, swaps and gathers, built, not searched.

A function of one word whose every output bit is 0 or a copy of one input
bit (a bit reversal, nibbles swapped in every byte, a field gathered from
scattered bits) is a map of bit positions.  Such a map is read off the
specification itself, by running it on 0 and on each single bit, and
checked on every test vector; the programs that realise it are then built
directly, in two forms:

* **By distance.**  The bits that move the same distance (cyclically) move
  together: `rotl(x, d) & M` per distance, a plain shift where the mask is
  the shift's own, the groups or-ed together.  Short where few distances
  occur (a gather, an exchange of two fields).
* **By stages.**  Where the map is `i -> (i ^ c) + r (mod W)`, a stage per
  set bit of c swaps every pair of fields 2^b wide (`((y & m) << 2^b) |
  ((y >> 2^b) & m)`), the byte-index bits together by one `bswap`, the
  half-word bit by one rotate, and a last rotate by r; the bits the map
  drops are masked off.  A reversal of W bits is log2(W) - 2 stages and a
  `bswap` (16 operations at 32 bits, as Hacker's Delight 7-1 writes it).

Both are offered as candidates like any other stage's: Z3 proves each
before it comes out, the cheapest first (atlas/logic/enumeration.py).
"""

from __future__ import annotations

import numpy as np

from ..meaning import ir
from ..meaning.terms import Term, const
from . import stochastic as so


def candidates(spec: so.Spec, env: dict, expected: np.ndarray) -> list[tuple[int, Term]]:
    """(length, program) for each form of the bit map `spec` computes, or
    none where it is not one (on `env`'s test vectors, whose spec values are
    `expected`)."""
    x = word_input(spec)
    if x is None:
        return []
    moves = bit_map(spec, env, expected)
    if moves is None:
        return []
    forms = [by_distance(x, spec.W, moves), by_stages(x, spec.W, moves)]
    return [(so.term_length(t), t) for t in forms if t is not None]


def word_input(spec: so.Spec) -> Term | None:
    """The input of a spec that is a function of one integer word to a word
    of its type, with no precondition (what is read off single bits or lanes
    need not meet one); None for any other spec."""
    if len(spec.inputs) != 1 or spec.inputs[0][1] != spec.W or spec.term.ty != spec.W:
        return None
    if not spec.W.is_int or spec.pre is not None:
        return None
    return Term("var", spec.W, (), spec.inputs[0][0])


def bit_map(spec: so.Spec, env: dict, expected: np.ndarray) -> dict[int, int] | None:
    """{input bit: output bit} where the spec (a `word_input` one) copies
    bits and zeroes the rest, every output bit from at most one input bit;
    None otherwise."""
    name, W = spec.inputs[0][0], spec.W
    w = W.bits
    probes = np.array([0] + [1 << i for i in range(w)], dtype=np.uint64)
    with np.errstate(all="ignore"):
        out = np.broadcast_to(np.asarray(so.run_term(spec.term, {name: probes})), probes.shape).astype(np.uint64)
    if int(out[0]) != 0:
        return None
    moves: dict[int, int] = {}
    for i in range(w):
        v = int(out[i + 1])
        if v == 0:
            continue
        if v & (v - 1) or v.bit_length() - 1 in moves.values():
            return None
        moves[i] = v.bit_length() - 1
    if not moves:
        return None
    # every test vector: each output bit the copy the map says, the rest 0
    xs = np.asarray(env[name], dtype=np.uint64)
    want = np.zeros_like(xs)
    for i, j in moves.items():
        want |= ((xs >> np.uint64(i)) & np.uint64(1)) << np.uint64(j)
    got = np.broadcast_to(np.asarray(expected, dtype=np.uint64), xs.shape)
    return moves if np.array_equal(want, got) else None


def _op(name: str, W: ir.Scalar, *args: Term) -> Term:
    return Term(name, W, args)


def _c(v: int, W: ir.Scalar) -> Term:
    return const(v & W.mask, W)


def _any_of(W: ir.Scalar, parts: list[Term]) -> Term:
    out = parts[0]
    for p in parts[1:]:
        out = _op("or", W, out, p)
    return out


def by_distance(x: Term, W: ir.Scalar, moves: dict[int, int]) -> Term:
    """OR over the cyclic distances d of the bits moved by d: each group as a
    shift where every bit it moves stays within the word, else as a rotate;
    the mask left out where the shift alone clears every other bit."""
    w = W.bits
    groups: dict[int, list[int]] = {}
    for i, j in moves.items():
        groups.setdefault((j - i) % w, []).append(i)
    parts = []
    for d, srcs in sorted(groups.items()):
        dst = sum(1 << ((i + d) % w) for i in srcs)
        if d == 0:
            parts.append(x if dst == W.mask else _op("and", W, x, _c(dst, W)))
        elif all(i + d < w for i in srcs):  # moved up, none past the top
            shifted = _op("shl", W, x, _c(d, W))
            parts.append(shifted if dst == W.mask & ~((1 << d) - 1) else _op("and", W, shifted, _c(dst, W)))
        elif all(i + d >= w for i in srcs):  # moved down by w - d
            shifted = _op("shr", W, x, _c(w - d, W))
            whole = dst == (1 << d) - 1 and not W.signed  # a signed shift brings copies of the sign
            parts.append(shifted if whole else _op("and", W, shifted, _c(dst, W)))
        else:
            turned = _op("rotl", W, x, _c(d, W))
            parts.append(turned if dst == W.mask else _op("and", W, turned, _c(dst, W)))
    return _any_of(W, parts)


def index_forms(w: int, moves: dict[int, int]) -> list[tuple[int, int]]:
    """Every (c, r) with each move i -> ((i ^ c) + r) mod w (w a power of
    two): a reversal of 32 bits is (31, 0) and also (15, 16)."""
    if w & (w - 1):
        return []
    return [(c, r) for c in range(w) for r in range(w) if all(((i ^ c) + r) % w == j for i, j in moves.items())]


def by_stages(x: Term, W: ir.Scalar, moves: dict[int, int]) -> Term | None:
    """The shortest of the index forms' stages; None where the map has none."""
    built = [_stages(x, W, moves, c, r) for c, r in index_forms(W.bits, moves)]
    return min(built, key=so.term_length, default=None)


def _stages(x: Term, W: ir.Scalar, moves: dict[int, int], c: int, r: int) -> Term:
    """A field swap per set bit of c (the byte-index bits by one bswap, the
    half-word bit by a rotate), a rotate by r, and a mask where the map
    drops bits."""
    w = W.bits
    y = x
    byte_bits = w - 8  # bswap: i -> i ^ (w - 8), every byte-index bit at once
    if w >= 16 and c & byte_bits == byte_bits and bin(c).count("1") > 1:
        y, c = _op("bswap", W, y), c & ~byte_bits
    for b in range(w.bit_length() - 1):
        d = 1 << b
        if not c & d:
            continue
        if 2 * d == w:
            y = _op("rotl", W, y, _c(d, W))
            continue
        m = sum(1 << p for p in range(w) if not p & d)  # the low field of every pair
        up = _op("shl", W, _op("and", W, y, _c(m, W)), _c(d, W))
        down = _op("and", W, _op("shr", W, y, _c(d, W)), _c(m, W))
        y = _op("or", W, up, down)
    if r:
        y = _op("rotl", W, y, _c(r, W))
    kept = sum(1 << j for j in moves.values())
    return y if kept == W.mask else _op("and", W, y, _c(kept, W))
