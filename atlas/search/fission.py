"""Loop fission (distribution): a loop whose body does independent things
becomes one loop per thing.

    for v in lo..hi { A; B }   ->   for v in lo..hi { A }
                                    for v in lo..hi { B }

A loop that carries a recurrence (`h = h * 31 + x[i]`) beside a map
(`y[i] = 3 * x[i] + 1`) is one loop LLVM cannot vectorise: the recurrence
forbids it for the whole body.  Split, the map vectorises and the
recurrence runs alone.  LLVM's own loop distribution is off by default.
It is the inverse of `fusion`, and rests on the same argument.

Why the loops compute what the one did (argued here; Z3 proves the side
conditions):

  * The bounds read only parameters that are never assigned, constants and
    variables of enclosing loops: every new loop runs over the same values.
  * The body neither calls a function, returns nor holds a loop (`break`
    and `continue` are loops and flags by now), so an iteration is its
    statements in order, and what passes between iterations or statements
    is scalars and array elements.
  * The statements are split at a boundary only where every statement
    before it and every one after it are independent: neither writes a
    scalar (a local of the body or a variable declared outside it) that
    the other reads or writes, and for every array one stores to and the
    other loads or stores, Z3 proves that the earlier statement's index at
    v and the later one's at w differ for all w < v in the range (the
    claim `fusion` proves, over the integers, the indices shown not to
    wrap, under a guard where products need one).  Distribution changes
    the order of exactly those pairs, S_later(w) and S_earlier(v) with
    w < v, so every such pair commutes and each statement still runs its
    iterations in order after the same statements of its own iteration.

Every boundary where that holds is split: the loops are the finest
distribution the dependences allow, and the search measures whether it
pays.  Accesses of the new loops are marked in range where Z3 proves it
(`nests.Marker`), and a differential run checks the result once more.
"""

from __future__ import annotations

import dataclasses
import time

from ..meaning import ir
from . import nests
from .fusion import accesses_apart, plain_body
from .nests import Frame, Prover, unchanging
from .shapes import Shaped

PROOF_FISSION = (
    "per iteration the same statements in the same order within each new loop; z3: no statement of a later "
    "loop touches, at an earlier iteration, an element a statement of an earlier loop writes or reads at a "
    "later one, where one of them writes it (integer arithmetic, no wrap-around, under the guard); the split "
    "statements share no scalar one of them writes; not a z3 equivalence of the loops"
)


def fission(
    fn: ir.Function,
    module: ir.Module | None = None,
    *,
    guard_bits: int = nests.GUARD_BITS,
    timeout_ms: int = nests.PROOF_TIMEOUT_MS,
    differential: bool = True,
    seed: int = 0,
    why: list | None = None,
) -> Shaped | None:
    """`fn` with every loop whose body splits (see the module docstring)
    distributed into one loop per independent part, the new loops'
    provable accesses marked in range; None (the reasons appended to `why`)
    when no loop splits."""
    t0 = time.perf_counter()
    prover = Prover(fn, guard_bits, timeout_ms)
    walk = _Split(prover, why if why is not None else [])
    body = walk.block(fn.body, [])
    if not walk.split:
        return None
    made = nests.Rewritten(fn, body, prover, walk.guard, "fission", PROOF_FISSION, {"split": walk.split})
    return nests.emit_guarded(made, module, differential, seed, t0)


class _Split:
    """One pass over a function: each loop distributed where it may be."""

    def __init__(self, prover: Prover, reasons: list):
        self.prover, self.reasons = prover, reasons
        self.fixed = set(prover.fixed)
        self.split: list[dict] = []
        self.guard: set[str] = set()

    def block(self, stmts: tuple, frames: list) -> tuple:
        out: list[ir.Stmt] = []
        for s in stmts:
            if isinstance(s, ir.For):
                s = dataclasses.replace(s, body=self.block(s.body, frames + [self.prover.frame(s, frames)]))
                out += self.distribute(s, frames)
                continue
            if isinstance(s, (ir.If, ir.When)):
                s = dataclasses.replace(s, then=self.block(s.then, frames), else_=self.block(s.else_, frames))
            elif isinstance(s, ir.While):
                s = dataclasses.replace(s, body=self.block(s.body, frames))
            out.append(s)
        return tuple(out)

    def distribute(self, loop: ir.For, frames: list) -> list[ir.Stmt]:
        """The loop as one loop per independent run of its statements, or as it was."""
        body = loop.body
        if len(body) < 2:
            return [loop]
        why = self._refusal(loop, frames)
        if why:
            self.reasons.append(f"{loop.span}: {why}")
            return [loop]
        here = frames + [self.prover.frame(loop, frames)]
        tied, checks, guard = self._ties(body, here, loop)
        cuts = [k for k in range(1, len(body)) if not any(i < k <= j for i, j in tied)]
        if not cuts:
            self.reasons.append(f"{loop.span}: no two parts of the body are independent")
            return [loop]
        parts = _with_effects([body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)])], body)
        if len(parts) < 2:
            self.reasons.append(f"{loop.span}: only one part of the body stores or assigns anything")
            return [loop]
        self.guard |= guard
        self.split.append({"loop": str(loop.span), "loops": len(parts), "checks": checks})
        return [dataclasses.replace(loop, body=part) for part in parts]

    def _refusal(self, loop: ir.For, frames: list) -> str:
        enclosing = {f.var for f in frames if isinstance(f, Frame)}
        for b in (loop.lo, loop.hi):
            if not unchanging(b, self.fixed | enclosing):
                return f"the bound {ir.pretty_expr(b)} may change between the loops"
        return plain_body(loop, assigns=True)  # the scalars it carries are weighed statement by statement (_ties)

    def _ties(self, body: tuple, frames: list, loop: ir.For):
        """The pairs (i, j), i < j, of statements that must stay in one
        loop; the independence checks made; the guard parameters used."""
        tied: list[tuple[int, int]] = []
        checks: list[dict] = []
        guard: set[str] = set()
        touched = [_scalars(s) for s in body]
        for i in range(len(body)):
            for j in range(i + 1, len(body)):
                (ri, wi), (rj, wj) = touched[i], touched[j]
                if wi & (rj | wj) or wj & ri:
                    tied.append((i, j))
                    continue
                needs, failed = accesses_apart(self.prover, (body[i],), (body[j],), frames, loop, checks)
                if failed is not None:
                    tied.append((i, j))
                else:
                    guard |= needs
        return tied, checks, guard


def _with_effects(parts: list[tuple], body: tuple) -> list[tuple]:
    """The parts, each one that neither stores nor assigns a variable from
    outside the body (only `let`s nobody after it reads) joined to the next
    (the last to the one before): a loop of its own would do nothing."""
    own = {t.name for t in ir.walk_stmts(body) if isinstance(t, ir.Let)}

    def acts(part: tuple) -> bool:
        return any(
            isinstance(t, ir.Store) or (isinstance(t, ir.Assign) and t.name not in own) for t in ir.walk_stmts(part)
        )

    out: list[tuple] = []
    carry: tuple = ()
    for part in parts:
        part = carry + part
        carry = () if acts(part) else part
        if not carry:
            out.append(part)
    if carry:
        out = out[:-1] + [out[-1] + carry] if out else [carry]
    return out


def _scalars(s: ir.Stmt) -> tuple[set[str], set[str]]:
    """(names read, names written) by a statement, nested ones included."""
    read: set[str] = set()
    written: set[str] = set()
    for t in ir.walk_stmts((s,)):
        if isinstance(t, (ir.Let, ir.Assign)):
            written.add(t.name)
        for e in ir.own_exprs(t):
            read |= ir.names_read(e)
    return read, written
