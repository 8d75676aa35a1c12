"""Unroll-and-jam of a reduction nest: U rows at a time, one inner loop.

    for j in lo..hi {                      for b in 0..(span / U) {
        let s: T = INIT;                       let j0 = lo + b * U;
        for k in C { s = s + E(j, k); }  ->    let s0 = INIT; ... let s3 = INIT;
        c[IDX(j)] = s;                         for k in C { s0 = s0 + E(j0, k); ...; s3 = s3 + E(j0 + 3, k); }
    }                                          c[IDX(j0)] = s0; ... c[IDX(j0 + 3)] = s3;
                                           }
                                           for j in lo + (span / U) * U .. hi { the body as written }

(span is hi - lo where hi > lo, else 0.)  Each pass of the inner loop
serves U rows: what E reads of k alone (x[k] in a row-major matrix-vector
product) is loaded once for all of them, and the U sums are independent
chains.  It applies to the nests `interchange` takes (nests.match_nest):
a matrix-vector product stored row by row, where the interchange would
stride across rows instead.

Why it computes what the nest did (argued here; the differential run and
the whole-function validation check it):

  * match_nest has shown that E reads only the loop variables and fixed
    parameters and no element of c, that the bounds of both loops are
    unchanging, and that the accumulator lives only in the nest.  So each
    accumulator s_u sums, in the same order, the same terms E(j0 + u, k)
    the nest's s summed for row j0 + u: integer or float, each sum is the
    very sequence of additions the source makes.
  * The stores are made in row order, j0, j0 + 1, ..., as in the source,
    and nothing the nest reads is a store of it: where two rows store to
    one element, the last row's value is left, as in the source.
  * The blocks cover lo .. lo + (span / U) * U and the remainder loop the
    rest, once each; j0 + u never passes hi, so no bound wraps.
"""

from __future__ import annotations

import dataclasses
import time

from ..meaning import ir
from . import nests
from .nests import Nest, Prover, looks_like_nest, match_nest
from .shapes import Shaped

FACTOR = 4  # rows per pass: four independent sums fill an x86 core's adders
PROOF_UNROLL_JAM = (
    "match_nest: E reads only loop variables and fixed parameters and no element of the stored array, the "
    "bounds are unchanging, the accumulator is the nest's own; so each of the U accumulators sums the same "
    "terms in the same order, and the rows store in order; not a z3 equivalence (checked by the whole-function "
    "validation and a differential run)"
)


def unroll_jam(
    fn: ir.Function,
    module: ir.Module | None = None,
    *,
    guard_bits: int = nests.GUARD_BITS,
    timeout_ms: int = nests.PROOF_TIMEOUT_MS,
    differential: bool = True,
    seed: int = 0,
    why: list | None = None,
) -> Shaped | None:
    """`fn` with every reduction nest (nests.match_nest) unrolled by FACTOR
    rows and jammed; None (the reasons appended to `why`) when it has none."""
    t0 = time.perf_counter()
    prover = Prover(fn, guard_bits, timeout_ms)
    walk = _Jam(fn, why if why is not None else [])
    body = walk.block(fn.body, [])
    if not walk.jammed:
        return None
    made = nests.Rewritten(fn, body, prover, set(), "unroll-jam", PROOF_UNROLL_JAM, {"jammed": walk.jammed})
    return nests.emit_guarded(made, module, differential, seed, t0)


class _Jam:
    def __init__(self, fn: ir.Function, reasons: list):
        self.fn, self.reasons = fn, reasons
        self.taken = ir.names_used(fn)
        self.jammed: list[dict] = []

    def block(self, stmts: tuple, outer: list[ir.For]) -> tuple:
        out: list[ir.Stmt] = []
        for s in stmts:
            if isinstance(s, ir.For):
                nest, reason = match_nest(s, self.fn, outer)
                if nest is not None and not s.ty.signed:
                    out.extend(self.jam(nest))
                    continue
                if nest is not None:  # hi - lo of a signed range may wrap
                    self.reasons.append(f"{s.span}: the loop variable is signed")
                elif looks_like_nest(s):
                    self.reasons.append(f"{s.span}: {reason}")
                s = dataclasses.replace(s, body=self.block(s.body, outer + [s]))
            elif isinstance(s, (ir.If, ir.When)):
                s = dataclasses.replace(s, then=self.block(s.then, outer), else_=self.block(s.else_, outer))
            elif isinstance(s, ir.While):
                s = dataclasses.replace(s, body=self.block(s.body, outer))
            out.append(s)
        return tuple(out)

    def fresh(self, base: str) -> str:
        name = ir.fresh_name(base, self.taken)
        self.taken.add(name)
        return name

    def jam(self, nest: Nest) -> tuple:
        J, K, st, acc = nest.j, nest.k, nest.store, nest.s
        T, where = J.ty, J.span
        span_name, b, j0 = self.fresh(f"{J.var}.span"), self.fresh(f"{J.var}.block"), self.fresh(f"{J.var}.0")
        span = ir.Var(span_name, T, where)
        more = ir.Binary("gt", J.hi, J.lo, ir.BOOL, where)
        length = ir.Prim("select", (more, ir.Binary("sub", J.hi, J.lo, T, where), ir.Const(0, T, where)), T, where)
        blocks = ir.Binary("div", span, ir.Const(FACTOR, T, where), T, where)
        row = [
            ir.Binary("add", ir.Var(j0, T, where), ir.Const(u, T, where), T, where) if u else ir.Var(j0, T, where)
            for u in range(FACTOR)
        ]
        sums = [self.fresh(f"{acc.name}.{u}") for u in range(FACTOR)]

        def row_of(block: ir.Expr) -> ir.Expr:  # lo + block * FACTOR: the first row of a block
            return ir.Binary("add", J.lo, ir.Binary("mul", block, ir.Const(FACTOR, T, where), T, where), T, where)

        inner = tuple(
            ir.Assign(
                s_u,
                ir.Binary("add", ir.Var(s_u, acc.ty, where), ir.substitute(nest.e, {J.var: r}), acc.ty, where),
                K.body[0].span,
            )
            for s_u, r in zip(sums, row)
        )
        body: tuple[ir.Stmt, ...] = (
            ir.Let(j0, T, row_of(ir.Var(b, T, where)), where),
            *(ir.Let(s_u, acc.ty, acc.init, acc.span) for s_u in sums),
            ir.For(K.var, K.ty, K.lo, K.hi, inner, K.span),
            *(
                ir.Store(st.array, ir.substitute(st.index, {J.var: r}), ir.Var(s_u, acc.ty, where), st.span)
                for s_u, r in zip(sums, row)
            ),
        )
        self.jammed.append({"loop": str(where), "rows": FACTOR, "array": st.array})
        return (
            ir.Let(span_name, T, length, where),
            ir.For(b, T, ir.Const(0, T, where), blocks, body, where),
            ir.For(J.var, T, row_of(blocks), J.hi, J.body, where),  # the rows past the last whole block
        )
