"""Idiom recognition by meaning, not by spelling.

A popcount can be written as a shift-and-mask ladder in a dozen orders, a
byte swap as four masks and shifts in any grouping, a rotate as a pair of
shifts joined by `|`, `^` or `+`, a minimum as a select or a mask of xors.
A rule per spelling recognises the spellings someone wrote rules for.
Here every integer subterm of the roots with one or two inputs (variables
or array elements) is run on test samples beside the one-operation
primitives over those inputs (popcount, bswap, clz, ctz, abs, rotl by
every constant; min, max, add_sat, sub_sat, mulhi either way round); a
subterm whose values agree with one on every sample is proven equal to it
by Z3, and the equality enters the saturation as a rule over pattern
variables (so the same spelling over other operands is recognised too).  The e-graph then
holds the primitive in the subterm's class, and extraction takes it where
the cost model says it is cheaper.  The superoptimiser learns rules of the
same kind (logic/learned.py); these are found at every compile, for
whatever the intents hold.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..meaning import ir
from ..meaning import semantics as sem
from ..meaning.terms import Term, const, evaluate, replace_subterms, subterms
from . import rules as rulebook

RULESET = "idioms"
UNARY = ("popcount", "bswap", "clz", "ctz", "abs")
BINARY = ("min", "max", "add_sat", "sub_sat", "mulhi")
COMMUTING = ("min", "max", "add_sat", "mulhi")
MIN_OPERATIONS = 3  # a rotate as two shifts and an or is the shortest spelling worth a look
MAX_OPERATIONS = 64  # larger subterms are not looked at (a 64-bit byte swap a byte at a time is 32)
VECTORS = 96


def _vectors(w: int, rng: np.random.Generator) -> list[int]:
    """Test values of width w: the edges, single bits, small numbers, and
    uniform random bit patterns."""
    mask = (1 << w) - 1
    edges = [0, 1, 2, 3, mask, mask - 1, 1 << (w - 1), (1 << (w - 1)) - 1, 0x5555555555555555 & mask]
    edges += [0xAAAAAAAAAAAAAAAA & mask, 0x0123456789ABCDEF & mask]
    bits = [1 << int(k) for k in rng.integers(0, w, 16)]
    small = [int(v) for v in rng.integers(0, 64, 8)]
    rest = VECTORS - len(edges) - len(bits) - len(small)
    rand = [int(v) & mask for v in rng.integers(0, 1 << 63, rest, dtype=np.uint64) * 2 + rng.integers(0, 2, rest)]
    return edges + bits + small + rand


def _inputs(t: Term) -> list[Term]:
    """The distinct leaves of t that vary: variables and array reads (a
    read's index is part of the read: the whole read is one input)."""
    out: list[Term] = []
    todo = [t]
    seen: set[Term] = set()
    while todo:
        u = todo.pop()
        if u in seen:
            continue
        seen.add(u)
        if u.op in ("var", "load"):
            out.append(u)
        elif u.op != "const":
            todo.extend(u.args)
    return out


def _operations(t: Term, limit: int) -> int:
    """Operations in t's tree, counted up to `limit`."""
    n, todo = 0, [t]
    while todo and n < limit:
        u = todo.pop()
        if u.op not in ("var", "load", "const"):
            n += 1
            todo.extend(u.args)
    return n


def _candidates(xs: list[Term], w: int) -> list[Term]:
    """The one-operation primitives over the inputs, at their own type."""
    ty = xs[0].ty
    if len(xs) == 1:
        x = xs[0]
        out = [Term(p, ty, (x,)) for p in UNARY if _allowed(p, ty, w)]
        return out + [Term("rotl", ty, (x, const(k, ty))) for k in range(1, w)]
    x, y = xs
    out = [Term(p, ty, (x, y)) for p in BINARY if _allowed(p, ty, w)]
    return out + [Term(p, ty, (y, x)) for p in BINARY if p not in COMMUTING and _allowed(p, ty, w)]


def _allowed(prim: str, ty: ir.Scalar, w: int) -> bool:
    if prim == "abs":
        return ty.signed
    if prim == "bswap":
        return w >= 16 and w % 16 == 0
    if prim == "mulhi":
        return w <= 32  # the language's mulhi takes up to 32 bits
    return True


_PY = sem.PyDomain()


def _value(t: Term, env: dict[str, int], memo: dict) -> int | None:
    try:
        v = evaluate(t, _PY, env, None, memo)
    except (ArithmeticError, ValueError):
        return None
    return int(v)


def _samples(n: int, w: int, rng: np.random.Generator) -> list[dict[str, int]]:
    """Test inputs: each value list crossed with a shuffled copy, and equal
    pairs and neighbours for two inputs (where min and max tie, where a
    saturating sum starts to saturate)."""
    xs = _vectors(w, rng)
    if n == 1:
        return [{"x": v} for v in xs]
    ys = [xs[i] for i in rng.permutation(len(xs))]
    mask = (1 << w) - 1
    pairs = [(v, v) for v in xs[:12]] + [(v, (v + 1) & mask) for v in xs[:12]] + list(zip(xs, ys))
    return [{"x": a, "y": b} for a, b in pairs]


def recognise(terms, seed: int = 0) -> list[rulebook.Rule]:
    """Proven rules `subterm => primitive(inputs)` for the subterms of
    `terms` that compute a primitive of their one or two inputs, each over
    pattern variables in the inputs' places."""
    rng = np.random.default_rng(seed)
    samples: dict[tuple[int, int], list[dict[str, int]]] = {}  # per (inputs, width): drawn once
    found: dict[Term, rulebook.Rule] = {}
    tried: set[Term] = set()
    for root in terms:
        for t in subterms(root):
            if t in tried or not t.ty.is_int or t.op in ("var", "load", "const"):
                continue
            tried.add(t)
            if not MIN_OPERATIONS <= _operations(t, MAX_OPERATIONS + 1) <= MAX_OPERATIONS:
                continue
            inputs = _inputs(t)
            if not 1 <= len(inputs) <= 2 or any(x.ty != t.ty for x in inputs):
                continue
            key = (len(inputs), t.ty.bits)
            if key not in samples:
                samples[key] = _samples(*key, rng)
            rule = _match(t, inputs, samples[key])
            if rule is not None:
                found.setdefault(rule.lhs, rule)
    return list(found.values())


def _match(t: Term, inputs: list[Term], samples: list[dict[str, int]]) -> rulebook.Rule | None:
    w = t.ty.bits
    names = ("x", "y")[: len(inputs)]
    local = [Term("var", t.ty, (), n) for n in names]
    body = replace_subterms(t, dict(zip(inputs, local)))
    if any(u.ty.is_float for u in subterms(body)):
        return None  # an integer computed through floats: not a bit idiom
    alive = _candidates(local, w)
    for env in samples:  # most candidates are out after a sample or two
        memo: dict = {}
        got = _value(body, env, memo)
        alive = [c for c in alive if got is not None and _value(c, env, memo) == got]
        if not alive:
            return None
    for cand in alive:
        patterns = {v: Term("var", t.ty, (), "?" + v.value) for v in local}
        lhs, rhs = replace_subterms(body, patterns), replace_subterms(cand, patterns)
        text = f"{rulebook.pattern_text(lhs)} => {rulebook.pattern_text(rhs)}"
        rule = rulebook.Rule(
            name=f"idiom-{cand.op}-{t.ty}-{hashlib.blake2b(text.encode(), digest_size=6).hexdigest()}",
            ruleset=RULESET,
            ty=t.ty,
            lhs=lhs,
            rhs=rhs,
            source="recognised by its values, proven by Z3 (atlas/logic/idioms.py)",
            text=text,
        )
        if rulebook.holds(rule):  # the samples may have missed a difference: Z3 decides
            return rule
    return None
