"""Arg-folds: a counted loop that keeps the first (or last) extreme element
and where it was, the argmax and argmin family.

    for i in lo..hi {                      for i in lo..hi {
        if e(i) > m {                          if x[i] > x[k] {
            m = e(i);                              k = i;
            k = i;                             }
        }                                  }
    }

with `>`, `>=`, `<` or `<=` (either way round) on an integer or float
type, k taking i or i cast to k's integer type, e(i) reading neither m nor
k and nothing in the body but lets and that `if`.  The right-hand form
keeps no m: it compares with x[k], and since the loop stores nothing, x[k]
is the element last taken, so it is read as the left form with m = x[k]
(a read out of range is 0 in both).

Such a loop is a fold of the pairs (e(i), position of i) under one total
order, the best so far at a position before every element: the larger
element first, and between equal ones the earlier for `>` and `<`, the
later for `>=` and `<=`.  Floats are ordered so only without NaN, but a
NaN element is never taken (it compares false), and a NaN best so far
takes nothing.  A fold under a total order can run in W lanes, each
keeping its own best pair, combined at the end (search/lanes.py proves the
step and the order's laws; the LLVM backend emits the vector code).

This module only recognises the form.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ir
from .scans import FLIP, direct_load, pure, scalar_of

RELATIONS = ("gt", "ge", "lt", "le")


@dataclass(frozen=True)
class ArgFold:
    loop: ir.For
    index: str  # k: where the best element was, i or i cast to its type
    index_ty: ir.Scalar  # k's type: an integer type
    value: str | None  # m: the best element; None where the loop compares with array[k]
    array: str | None  # that array, when value is None
    ty: ir.Scalar  # the elements' type
    rel: str  # e(i) rel m takes the element: one of RELATIONS
    element: ir.Expr  # e(i), the body's lets inlined

    @property
    def later(self) -> bool:
        """Between equal elements, the later one is kept (`>=`, `<=`)."""
        return self.rel in ("ge", "le")

    @property
    def strict(self) -> str:
        """The comparison by which one element is better than another: `gt`
        for a maximum, `lt` for a minimum, whichever tie-break the loop has."""
        return "gt" if self.rel in ("gt", "ge") else "lt"

    def best(self) -> ir.Expr:
        """The best element so far, as the loop reads it."""
        if self.value is not None:
            return ir.Var(self.value, self.ty)
        assert self.array is not None
        return ir.Load(self.array, ir.Var(self.index, self.index_ty), self.ty)

    def direct(self, arrays: dict[str, ir.Array]) -> tuple[str, ir.Expr | None] | None:
        """(x, base) where e(i) is x[base + i] or an integer cast of it."""
        return direct_load(self.element, self.loop, arrays, self.ty)


def match(loop: ir.For, fn: ir.Function) -> ArgFold | None:
    """The arg-fold `loop` is, or None."""
    if loop.ty.kind != "uint":  # i .. i+W-1 are W adjacent elements
        return None
    *lets, last = loop.body or (None,)
    if not isinstance(last, ir.If) or last.else_ or not all(isinstance(s, ir.Let) for s in lets):
        return None
    env: dict[str, ir.Expr] = {}
    for s in lets:
        assert isinstance(s, ir.Let)
        if not pure(s.init):
            return None
        env[s.name] = ir.substitute(s.init, env)
    cond = ir.substitute(last.cond, env)
    arms = last.then
    if not isinstance(cond, ir.Binary) or cond.op not in RELATIONS or not 1 <= len(arms) <= 2:
        return None
    if not all(isinstance(a, ir.Assign) for a in arms):
        return None
    sets = {a.name: ir.substitute(a.value, env) for a in arms if isinstance(a, ir.Assign)}
    if len(sets) != len(arms):
        return None
    i = ir.Var(loop.var, loop.ty)
    index = next((n for n, v in sets.items() if v == i or (isinstance(v, ir.Cast) and v.a == i)), None)
    kty = scalar_of(fn, index) if index is not None else None
    if index is None or kty is None or not kty.is_int or e_type(sets[index]) != kty:
        return None
    value = next((n for n in sets if n != index), None)
    if value is None and kty != loop.ty:  # x[k] reads the array at k as the loop read it at i
        return None
    k = ir.Var(index, kty)
    for rel, e, best in ((cond.op, cond.a, cond.b), (FLIP[cond.op], cond.b, cond.a)):
        if value is not None:
            ok = isinstance(best, ir.Var) and best.name == value and sets[value] == e
        else:  # `x[i] > x[k]`: the element itself, of an array the loop does not store
            ok = _at(e, i) and _at(best, k) and getattr(e, "array", None) == getattr(best, "array", None)
        if ok:
            break
    else:
        return None
    array = e.array if value is None and isinstance(e, ir.Load) else None
    ty = e_type(e)
    if ty is None or not (ty.is_int or ty.is_float) or (value is not None and scalar_of(fn, value) != ty):
        return None
    taken = {index} | ({value} if value else set())
    if not pure(e) or ir.names_read(e) & taken:
        return None
    return ArgFold(loop, index, kty, value, array, ty, rel, e)


def e_type(e: ir.Expr) -> ir.Scalar | None:
    t = getattr(e, "ty", None)
    return t if isinstance(t, ir.Scalar) else None


def _at(e: ir.Expr, index: ir.Var) -> bool:
    """e reads an array at `index` and does nothing else."""
    return isinstance(e, ir.Load) and e.index == index
