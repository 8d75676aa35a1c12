"""Inputs that meet a function's precondition (`requires`).

A function with a precondition is defined only where it holds, so every
run that compares it with something (differential runs, the search's
measurements, the superoptimiser's test vectors, the benchmarks) must draw
its scalars from there.  Random draws seldom land in a narrow condition
(`x == a || x == b`), so a draw that misses is repaired by Z3: a model of
the precondition that keeps as many of the drawn values as it can, the
values to keep taken in a random order, so repaired draws still vary.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import z3

from ..meaning import ir
from ..meaning.terms import Term, evaluate, from_expr, subterms
from ..meaning.z3domain import Z3Domain, sort_of, to_python
from ..meaning import interp

RLIMIT = 2_000_000  # Z3's resource units per repair (a precondition is small)
SPREAD = (4, 2, 1, 0)  # bits of each variable not kept whole, kept as drawn: fewer until Z3 finds a model


def term(fn: ir.Function) -> Term | None:
    """The precondition as a term over the parameters, or None."""
    if fn.requires is None:
        return None
    pre = from_expr(fn.requires, {})
    assert pre is not None  # a precondition calls no function (typecheck)
    return pre


def meets(fn: ir.Function, scalars: dict[str, Any]) -> bool:
    """Whether natural scalar values (signed ints negative) meet fn's precondition."""
    if fn.requires is None:
        return True
    bits = {p.name: interp.to_value(p.ty, scalars[p.name]) for p in fn.params if isinstance(p.ty, ir.Scalar)}
    return interp.holds(fn, bits)


def never_met(fn: ir.Function) -> bool:
    """Whether no arguments meet fn's precondition (then no call can be made,
    nothing can be measured, and a generated program was drawn wrong)."""
    if fn.requires is None:
        return False
    types = {p.name: p.ty for p in fn.params if isinstance(p.ty, ir.Scalar)}
    zero = {n: (False if t.is_bool else 0.0 if t.is_float else 0) for n, t in types.items()}
    return satisfying(fn, zero, np.random.default_rng(0)) is None


def satisfying(fn: ir.Function, drawn: dict[str, Any], rng, keep_first: tuple[str, ...] = ()) -> dict | None:
    """Scalars (natural values) that meet fn's precondition: `drawn` where it
    does, else a repair (`repaired`).  None where no values meet it."""
    if meets(fn, drawn):
        return drawn
    pre = term(fn)
    assert pre is not None
    types = {p.name: p.ty for p in fn.params if isinstance(p.ty, ir.Scalar)}
    return repaired(pre, types, drawn, rng, keep_first)


def repaired(pre: Term, types: dict[str, ir.Scalar], drawn: dict[str, Any], rng, keep_first=()) -> dict | None:
    """A Z3 model of `pre` (natural values of the variables in `types`)
    keeping the values `drawn` gives `keep_first`, then as many of the
    others as it can (tried in a random order: all of them, then half, then
    none), with a few random bits of each of the rest kept too, so that
    repaired draws spread over the values that meet `pre` rather than
    gathering at Z3's first answer.  None where nothing meets it.

    Each repair runs in a context of its own: in a shared one Z3's answer
    depends on what it was asked before, and a seed must give the same
    inputs whatever ran earlier in the process."""
    # a variable the precondition does not mention always keeps its draw
    named = {u.value for u in subterms(pre) if u.op == "var"}
    keep_first = (*keep_first, *(n for n in types if n not in named and n not in keep_first))
    ctx = z3.Context()
    env = {n: z3.Const(n, sort_of(t)) for n, t in types.items()}
    formula = evaluate(pre, Z3Domain(), env).translate(ctx)
    mine = {n: v.translate(ctx) for n, v in env.items()}
    solver = z3.Solver(ctx=ctx)
    solver.set("rlimit", RLIMIT)
    solver.add(formula)
    others = [n for n in types if n not in keep_first and n in drawn]
    order = [others[int(i)] for i in rng.permutation(len(others))]
    for keep in (len(order) - 1, len(order) // 2, 0):
        for fixed in (tuple(keep_first), ()):
            kept = [n for n in (*fixed, *order[:keep]) if n in drawn]
            for spread in SPREAD:
                solver.push()
                for n in kept:
                    solver.add(mine[n] == _z3_value(drawn[n], types[n], ctx))
                for n in types:  # a few bits of each of the others, as drawn
                    if spread and n not in kept and n in drawn and types[n].is_int:
                        m = _random_mask(types[n], spread, rng)
                        solver.add(mine[n] & m == _z3_value(int(drawn[n]) & m, types[n], ctx))
                if solver.check() == z3.sat:
                    model = solver.model()
                    out = {n: to_python(model.eval(mine[n], model_completion=True), t) for n, t in types.items()}
                    solver.pop()
                    return out
                solver.pop()
    return None


def _random_mask(ty: ir.Scalar, count: int, rng) -> int:
    """`count` random bit positions of an integer type."""
    picks = rng.choice(ty.bits, size=min(count, ty.bits), replace=False)
    return sum(1 << int(b) for b in picks)


def _z3_value(v: Any, ty: ir.Scalar, ctx: z3.Context):
    if ty.is_bool:
        return z3.BoolVal(bool(v), ctx)
    if ty.is_float:
        return z3.FPVal(float(v), fps=sort_of(ty).translate(ctx), ctx=ctx)
    return z3.BitVecVal(int(v) & ty.mask, ty.bits, ctx)
