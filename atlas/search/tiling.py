"""Loop tiling: a nest of two loops whose iterations are independent runs
tile by tile.

    for i in LI..HI {                 for ib in 0..(HI + T - 1) / T {
        for j in LJ..HJ { B }           for jb in 0..(HJ + T - 1) / T {
    }                                     for i in max(LI, ib*T)..min(ib*T + T, HI) {
                              ->            for j in max(LJ, jb*T)..min(jb*T + T, HJ) { B }
                                  } } }

A transpose, or any nest that walks one array by rows and another by
columns, touches a new cache line on every step of the inner loop through
its column-wise array; run as T x T tiles, each line is brought in once and
used T times.  Neither GCC nor LLVM tiles such nests at -O3.

Why the tiled nest computes what the source does (argued here; Z3 proves
the side condition):

  * The bounds read only parameters that are never assigned, constants and
    variables of enclosing loops, and the inner bounds not the outer
    variable: the nest is a rectangle LI..HI x LJ..HJ, evaluated once.  The
    tiles cover [0, HI) x [0, HJ) once each, cut down to the rectangle, so
    every pair (i, j) of the source runs exactly once.  The guard says
    HI + T - 1 and HJ + T - 1 do not wrap.
  * The body only computes and stores per iteration (`fusion.plain_body`:
    no scalar from outside assigned, no call, no loop, no return), so an
    iteration can pass nothing to another but an array element.
  * For every array the body stores to, Z3 proves that two different
    iterations (i1, j1) != (i2, j2) never meet at an element through that
    store and any access of the same array, load or store (integers, no
    wrap-around, under the guard).  Then no iteration reads what another
    writes, and no element is written twice: the iterations commute, and
    any order, the tiled one included, leaves the same arrays.

The accesses are first proven in range over the source's rectangle (as
`nests.guarded_inbounds` does) and keep their marks in the tiles, which
visit the same pairs.  T is 64 bytes' worth of the narrowest element the
body stores (16 for f32 or i32), at least 8.  A differential run in the
interpreter checks the result once more.
"""

from __future__ import annotations

import dataclasses
import time

from ..meaning import ir
from . import nests
from .fusion import accesses, plain_body
from .nests import Frame, Marker, Prover, conjunction, guard_expr, guarded_copy, unchanging
from .shapes import Shaped, finish

LINE_BYTES = 64
MIN_TILE = 8
PROOF_TILING = (
    "iterations independent: z3 proves no two different iterations meet at an element one of them "
    "stores (integer arithmetic, no wrap-around, under the guard); the tiles visit every pair of the "
    "rectangle once; not a z3 equivalence of the loops"
)


def tiling(
    fn: ir.Function,
    module: ir.Module | None = None,
    *,
    guard_bits: int = nests.GUARD_BITS,
    timeout_ms: int = nests.PROOF_TIMEOUT_MS,
    differential: bool = True,
    seed: int = 0,
    why: list | None = None,
) -> Shaped | None:
    """`fn` with every independent two-loop nest run tile by tile (see the
    module docstring); None (the reasons appended to `why`) when no nest
    is tiled."""
    t0 = time.perf_counter()
    prover = Prover(fn, guard_bits, timeout_ms)
    marker = Marker(prover)
    marked = marker.block(fn.body, [])  # proven over the source's rectangles
    walk = _Tile(fn, prover, why if why is not None else [])
    body = walk.block(marked, [])
    if not walk.tiled:
        return None
    guard = conjunction(guard_expr(prover, walk.guard | marker.guard), *walk.limits)
    new = guarded_copy(fn, body, guard)
    evidence = nests.shape_evidence("tiling", PROOF_TILING, guard, marker, prover, tiled=walk.tiled)
    return finish(fn, new, module, evidence, differential, seed, t0)


class _Tile:
    def __init__(self, fn: ir.Function, prover: Prover, reasons: list):
        self.fn, self.prover, self.reasons = fn, prover, reasons
        self.fixed = set(prover.fixed)
        self.taken = ir.names_used(fn)
        self.tiled: list[dict] = []
        self.guard: set[str] = set()
        self.limits: list[ir.Expr] = []

    def block(self, stmts: tuple, frames: list) -> tuple:
        out: list[ir.Stmt] = []
        for s in stmts:
            if isinstance(s, ir.For):
                done = self.nest(s, frames)
                if done is None:
                    s = dataclasses.replace(s, body=self.block(s.body, frames + [self.prover.frame(s, frames)]))
                else:
                    s = done
            elif isinstance(s, (ir.If, ir.When)):
                s = dataclasses.replace(s, then=self.block(s.then, frames), else_=self.block(s.else_, frames))
            elif isinstance(s, ir.While):
                s = dataclasses.replace(s, body=self.block(s.body, frames))
            out.append(s)
        return tuple(out)

    def nest(self, outer: ir.For, frames: list) -> ir.For | None:
        """The tiled nest `outer` is, or None."""
        if len(outer.body) != 1 or not isinstance(outer.body[0], ir.For):
            return None
        inner = outer.body[0]
        where = str(outer.span)
        why = self._refusal(outer, inner, frames)
        if why:
            self.reasons.append(f"{where}: {why}")
            return None
        here = frames + [self.prover.frame(outer, frames)]
        here = here + [self.prover.frame(inner, here)]
        checks = []
        found = accesses(inner.body)
        for k, a in enumerate(found):
            if a[0] != "store":
                continue
            for b in found[k:] + [x for x in found[:k] if x[0] == "load"]:
                if b[1] != a[1]:
                    continue
                verdict, guard = self.prover.distinct(a[2], here, outer, inner, other=b[2])
                checks.append(
                    {
                        "store": f"{a[1]}[{ir.pretty_expr(a[2])}]",
                        "with": f"{b[0]} {b[1]}[{ir.pretty_expr(b[2])}]",
                        "apart": str(verdict),
                    }
                )
                if not verdict.proven:
                    self.reasons.append(f"{where}: {checks[-1]['store']} and {checks[-1]['with']}: {verdict}")
                    return None
                self.guard |= guard
        if not checks:
            self.reasons.append(f"{where}: the nest stores to no array")
            return None
        tile = _tile_size(self.fn, inner.body)
        self.tiled.append({"loop": where, "tile": tile, "checks": checks})
        return self._tiled(outer, inner, tile)

    def _refusal(self, outer: ir.For, inner: ir.For, frames: list) -> str:
        allowed = self.fixed | {f.var for f in frames if isinstance(f, Frame)}  # not the outer variable
        for loop in (outer, inner):
            if not (loop.ty.is_int and not loop.ty.signed):
                return f"the loop variable {loop.var} is not unsigned"
            if loop.lo.ty != loop.ty or loop.hi.ty != loop.ty:
                return f"the bounds of {loop.var} are not of its type"
            for b in (loop.lo, loop.hi):
                if not unchanging(b, allowed):
                    return f"the bound {ir.pretty_expr(b)} is not fixed for the nest (a rectangle is needed)"
        return plain_body(inner)

    def _tiled(self, outer: ir.For, inner: ir.For, tile: int) -> ir.For:
        def blocks(loop: ir.For) -> tuple[ir.Var, ir.Expr, ir.Expr, ir.Expr]:
            ty = loop.ty
            b = ir.Var(ir.fresh_name(f"{loop.var}.tile", self.taken), ty, loop.span)
            t = ir.Const(tile, ty)
            count = ir.Binary("div", ir.Binary("add", loop.hi, ir.Const(tile - 1, ty), ty), t, ty)
            start = ir.Binary("mul", b, t, ty)
            lo = ir.Prim("max", (loop.lo, start), ty)
            hi = ir.Prim("min", (ir.Binary("add", start, t, ty), loop.hi), ty)
            # the guard: hi + T - 1 does not wrap (and neither does a block's end)
            limit = ir.Binary("le", loop.hi, ir.Const((1 << (ty.bits - 1)), ty), ir.BOOL)
            if limit not in self.limits:
                self.limits.append(limit)
            return b, count, lo, hi

        bi, ni, loi, hii = blocks(outer)
        bj, nj, loj, hij = blocks(inner)
        zero_i, zero_j = ir.Const(0, outer.ty), ir.Const(0, inner.ty)
        j_loop = dataclasses.replace(inner, lo=loj, hi=hij)
        i_loop = dataclasses.replace(outer, lo=loi, hi=hii, body=(j_loop,))
        jb_loop = ir.For(bj.name, inner.ty, zero_j, nj, (i_loop,), inner.span)
        return ir.For(bi.name, outer.ty, zero_i, ni, (jb_loop,), outer.span)


def _tile_size(fn: ir.Function, body) -> int:
    """64 bytes of the narrowest element the body stores, at least MIN_TILE."""
    widths = []
    for s in ir.walk_stmts(body):
        if isinstance(s, ir.Store):
            arr = fn.param(s.array).ty if s.array in {p.name for p in fn.params} else None
            if isinstance(arr, ir.Array):
                widths.append(max(1, arr.elem.bits // 8))
    return max(MIN_TILE, LINE_BYTES // min(widths)) if widths else MIN_TILE
