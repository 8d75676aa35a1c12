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

import z3

from ..meaning import ir
from ..meaning.terms import Term, evaluate, from_expr
from ..meaning.z3domain import Z3Domain, sort_of, to_python
from ..meaning import interp

RLIMIT = 2_000_000  # Z3's resource units per repair (a precondition is small)


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
    none).  None where nothing meets it."""
    env = {n: z3.Const(n, sort_of(t)) for n, t in types.items()}
    solver = z3.Solver()
    solver.set("rlimit", RLIMIT)
    solver.add(evaluate(pre, Z3Domain(), env))
    others = [n for n in types if n not in keep_first and n in drawn]
    order = [others[int(i)] for i in rng.permutation(len(others))]
    for keep in (len(order) - 1, len(order) // 2, 0):
        for fixed in (tuple(keep_first), ()):
            solver.push()
            for n in (*fixed, *order[:keep]):
                if n in drawn:
                    solver.add(env[n] == _z3_value(drawn[n], types[n]))
            if solver.check() == z3.sat:
                m = solver.model()
                out = {n: to_python(m.eval(env[n], model_completion=True), t) for n, t in types.items()}
                solver.pop()
                return out
            solver.pop()
    return None


def _z3_value(v: Any, ty: ir.Scalar):
    if ty.is_bool:
        return z3.BoolVal(bool(v))
    if ty.is_float:
        return z3.FPVal(float(v), sort_of(ty))
    return z3.BitVecVal(int(v) & ty.mask, ty.bits)
