"""Loop fusion: two adjacent loops over the same range become one.

    for v in lo..hi { B1 }            for v in lo..hi { B1; B2 }
    for w in lo..hi { B2 }     ->

Code is often written a pass at a time (scale, then offset, then clamp);
each pass reads back from memory what the one before it wrote.  Fused, an
element goes through every pass while it is in a register, and the loop
streams its arrays once.  GCC and LLVM do not fuse such loops.

Why the fused loop computes what the two did (argued here; Z3 proves the
side conditions):

  * The bounds are the same expressions, reading only parameters that are
    never assigned, constants and variables of enclosing loops: both loops
    run over the same values, evaluated once on entry.
  * Neither body assigns a scalar declared outside it, calls a function,
    leaves the loop (`break`, `continue`, `return`) or holds a loop: all
    they do besides their own `let`s is load and store array elements.  So
    the only thing one iteration can pass to another is an array element.
  * The two loops run B1(v) for every v, then B2(w) for every w.  The fused
    loop runs the same iterations, each body's in the same order; only the
    pairs B2(w), B1(v) with w < v change places.  Two such iterations
    commute unless they touch one element and one of them writes it.  For
    every array one body stores to and the other loads or stores, Z3
    proves that the index of the access in B1 at v and the index in B2 at
    w differ for all w < v in the range (over the integers, the indices
    shown not to wrap, under a guard on the parameters where products need
    one: `nests.Prover`).  An index that is not a polynomial of the loop
    variable and fixed parameters refuses the fusion.
  * The names each body declares are its own (neither reads a name the
    other declares), so the fused body's scopes say what the two did.

Mutable arrays alias no other argument (the checker guarantees it), so two
array names are two memories.  Accesses the new body makes are then marked
in range where Z3 proves it, as `nests.guarded_inbounds` does, so the fused
loop has no range-check branches left to keep it from vectorising.  A
differential run in the interpreter checks the result once more.
"""

from __future__ import annotations

import dataclasses
import time

import z3

from ..meaning import ir
from . import nests
from .nests import Frame, Prover, has, poly, unchanging
from .shapes import Shaped

PROOF_FUSION = (
    "per element the same operations in the same order within each body; z3: no iteration of the "
    "second loop touches an element a later iteration of the first writes or reads, where one of "
    "them writes it (integer arithmetic, no wrap-around, under the guard); not a z3 equivalence of the loops"
)


def fusion(
    fn: ir.Function,
    module: ir.Module | None = None,
    *,
    guard_bits: int = nests.GUARD_BITS,
    timeout_ms: int = nests.PROOF_TIMEOUT_MS,
    differential: bool = True,
    seed: int = 0,
    why: list | None = None,
) -> Shaped | None:
    """`fn` with every run of adjacent fusable loops fused (see the module
    docstring), the new body's provable accesses marked in range; None
    (the reasons appended to `why`) when no pair is fused."""
    t0 = time.perf_counter()
    prover = Prover(fn, guard_bits, timeout_ms)
    walk = _Fuse(fn, prover, why if why is not None else [])
    body = walk.block(fn.body, [])
    if not walk.fused:
        return None
    made = nests.Rewritten(fn, body, prover, walk.guard, "fusion", PROOF_FUSION, {"fused": walk.fused})
    return nests.emit_guarded(made, module, differential, seed, t0)


class _Fuse:
    """One pass over a function: adjacent loops fused where they may be."""

    def __init__(self, fn: ir.Function, prover: Prover, reasons: list):
        self.fn, self.prover, self.reasons = fn, prover, reasons
        self.fixed = set(prover.fixed)
        self.fused: list[dict] = []
        self.guard: set[str] = set()

    def block(self, stmts: tuple, frames: list) -> tuple:
        out: list[ir.Stmt] = []
        for s in stmts:
            if isinstance(s, ir.For):
                s = dataclasses.replace(s, body=self.block(s.body, frames + [self.prover.frame(s, frames)]))
                if out and isinstance(out[-1], ir.For):
                    both = self.fuse(out[-1], s, frames)
                    if both is not None:
                        out[-1] = both
                        continue
            elif isinstance(s, (ir.If, ir.When)):
                s = dataclasses.replace(s, then=self.block(s.then, frames), else_=self.block(s.else_, frames))
            elif isinstance(s, ir.While):
                s = dataclasses.replace(s, body=self.block(s.body, frames))
            out.append(s)
        return tuple(out)

    def fuse(self, first: ir.For, second: ir.For, frames: list) -> ir.For | None:
        """The two loops as one, or None (the reason kept)."""
        where = f"{first.span} and {second.span}"
        why = self._refusal(first, second, frames)
        if why:
            self.reasons.append(f"{where}: {why}")
            return None
        body2 = ir.rename_locals(second.body, {second.var: first.var}) if second.var != first.var else second.body
        here = frames + [self.prover.frame(first, frames)]
        checks: list[dict] = []
        guard, failed = accesses_apart(self.prover, first.body, body2, here, first, checks)
        self.guard |= guard
        if failed is not None:
            self.reasons.append(f"{where}: {failed['first']} and {failed['second']}: {failed['apart']}")
            return None
        self.fused.append({"loops": where, "checks": checks})
        return dataclasses.replace(first, body=first.body + body2)

    def _refusal(self, first: ir.For, second: ir.For, frames: list) -> str:
        if first.ty != second.ty or first.lo != second.lo or first.hi != second.hi:
            return "not the same range"
        enclosing = {f.var for f in frames if isinstance(f, Frame)}
        for b in (first.lo, first.hi):
            if not unchanging(b, self.fixed | enclosing):
                return f"the bound {ir.pretty_expr(b)} may change between the loops"
        for loop in (first, second):
            why = plain_body(loop)
            if why:
                return why
        mine1, mine2 = _declared(first.body), _declared(second.body)
        used1, used2 = _used(first.body), _used(second.body)
        if mine1 & used2 or mine2 & used1:
            return f"the bodies share the names {sorted((mine1 & used2) | (mine2 & used1))}"
        if second.var != first.var and first.var in used2 | mine2:
            return f"the second body uses `{first.var}`, the first loop's variable"
        return ""


def apart(p: Prover, index1: ir.Expr, index2: ir.Expr, frames: list, loop: ir.For):
    """(verdict, guard parameters): index1 at v and index2 at w differ for
    all w < v in the loop's range (an access of the earlier body or
    statement at a later iteration, and one of the later at an earlier)."""
    v = {loop.var: z3.Int(loop.var + "!v")}
    w = {loop.var: z3.Int(loop.var + "!w")}
    x1 = poly(index1, p.env(frames, v))
    x2 = poly(index2, p.env(frames, w))
    if x1 is None or x2 is None:
        return nests.NOT_POLYNOMIAL, set()
    goal = z3.Implies(w[loop.var] < v[loop.var], x1.value != x2.value)
    claim, guard = p.claim(frames, [x1, x2], goal, copies={loop.var: (v[loop.var], w[loop.var])})
    return p.check(claim), guard


def accesses_apart(p: Prover, earlier, later, frames: list, loop: ir.For, checks: list) -> tuple[set, dict | None]:
    """Every access of the statements `earlier` against every access of
    `later` to the same array, one of them a store, proven apart (`apart`),
    each check appended to `checks`: (the guard parameters the proofs made
    so far need, the first check not proven, or None)."""
    guard: set[str] = set()
    for a in accesses(earlier):
        for b in accesses(later):
            if a[1] != b[1] or (a[0] == "load" and b[0] == "load"):
                continue
            verdict, g = apart(p, a[2], b[2], frames, loop)
            checks.append(
                {
                    "array": a[1],
                    "first": f"{a[0]} {a[1]}[{ir.pretty_expr(a[2])}]",
                    "second": f"{b[0]} {b[1]}[{ir.pretty_expr(b[2])}]",
                    "apart": str(verdict),
                }
            )
            if not verdict.proven:
                return guard, checks[-1]
            guard |= g
    return guard, None


def plain_body(loop: ir.For, assigns: bool = False) -> str:
    """Why the body is not one that only computes and stores per element
    (with `assigns`, and assigns variables declared outside it too)."""
    own = _declared(loop.body)
    for s in ir.walk_stmts(loop.body):
        if isinstance(s, (ir.For, ir.While)):
            return "a body holds a loop"
        if isinstance(s, (ir.Return, ir.ExprStmt, ir.LetArray, ir.When, ir.Count)):
            return f"a body holds a `{type(s).__name__.lower()}`"
        if not assigns and isinstance(s, ir.Assign) and s.name not in own:
            return f"a body assigns `{s.name}`, declared outside it"
        if any(has(e, ir.Call) for e in ir.own_exprs(s)):
            return "a body calls a function"
    return ""


def _declared(stmts) -> set[str]:
    return {s.name for s in ir.walk_stmts(stmts) if isinstance(s, ir.Let)}


def _used(stmts) -> set[str]:
    out: set[str] = set()
    for s in ir.walk_stmts(stmts):
        if isinstance(s, ir.Assign):
            out.add(s.name)
        for e in ir.own_exprs(s):
            out |= ir.names_read(e)
    return out


def accesses(stmts) -> list[tuple[str, str, ir.Expr]]:
    """Every (kind, array, index) the statements make, loads and stores."""
    out: list[tuple[str, str, ir.Expr]] = []
    for s in ir.walk_stmts(stmts):
        if isinstance(s, ir.Store):
            out.append(("store", s.array, s.index))
        for e in ir.own_exprs(s):
            out += [("load", x.array, x.index) for x in ir.walk(e) if isinstance(x, ir.Load)]
    return out
