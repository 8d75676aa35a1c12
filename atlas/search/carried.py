"""Scans carried through memory: a loop that reads back what it stored
one iteration before, read as one that carries that value in a scalar.

    for i in lo..hi {                            let c = out[lo - 1];
        out[i] = out[i - 1] (+) x[i];    ->      for i in lo..hi {
    }                                                c = c (+) x[i];
                                                     out[i] = c;
                                                 }

C writes a prefix sum so (`out[i] = out[i-1] + x[i]`, or in place,
`a[i] += a[i-1]`); search/lanes.py reads a scan only from a scalar it
carries, so this reading comes first there (`scan_lanes`).

A top-level `for` over an unsigned i is read so when its body is lets of
pure values and, last, one store `out[i] = V`, and every read of `out` in
the body is at i - 1 (one at least) or at i.  Then, with every store in
range (out[i] below out's length for every i in lo..hi, proven by Z3 from
the loop's bounds: nests.Prover), by induction over the iterations: at the
start of iteration i, c equals out[i - 1] as the loop as written reads it.
At lo it is the value loaded before the loop, out[lo - 1] (0 past the end,
as any read past the end is; the load runs even where the loop does not,
and a load changes nothing).  Iteration i computes the same values in
both, since each read of out[i - 1] reads what c holds and a read of
out[i] reads the element no iteration has stored yet in either; both
store the same value at out[i], in range, so that c equals out[i] when
iteration i + 1 begins.  Nothing else in the body stores, so the two
leave out, and everything else, the same.

The scan the result holds is then proven as any other (lanes.py), and the
function with its loops in lanes is run against the source as written by
shapes.finish.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..meaning import ir
from ..meaning.scans import pure
from . import nests

PROOF = (
    "{array}[{var} - 1] read as the value the loop carries: each iteration stores {array}[{var}] last, "
    "proven below the array's length by Z3 for every {var} in the loop's range, and stores nothing else, "
    "so what {array}[{var} - 1] holds at iteration {var} is what the one before stored (at the first, what "
    "the array held), by induction over the iterations"
)


@dataclass(frozen=True)
class Carried:
    function: ir.Function  # fn with each loop read so
    sites: tuple[dict, ...]  # one account per loop read so


def carried(fn: ir.Function, timeout_ms: int = nests.PROOF_TIMEOUT_MS) -> Carried:
    """fn with every top-level loop of the form above carrying its value in
    a scalar; the same function, and no site, where there is none."""
    forms = [(s, _form(s, fn) if isinstance(s, ir.For) else None) for s in fn.body]
    if all(out is None for _, out in forms):
        return Carried(fn, ())
    prover = nests.Prover(fn, nests.GUARD_BITS, timeout_ms)
    taken = ir.names_used(fn)
    body: list[ir.Stmt] = []
    sites: list[dict] = []
    for s, out in forms:
        if isinstance(s, ir.For) and out is not None:
            verdict, guard = prover.in_range(out, ir.Var(s.var, s.ty), [prover.frame(s, [])])
            if verdict.proven and not guard:
                body += _rewritten(s, out, fn.arrays[out].elem, taken)
                sites.append({"loop": str(s.span), "array": out, "carried": PROOF.format(array=out, var=s.var)})
                continue
        body.append(s)
    return Carried(replace(fn, body=tuple(body)), tuple(sites)) if sites else Carried(fn, ())


def _form(loop: ir.For, fn: ir.Function) -> str | None:
    """The array `loop` carries a value through, when it has the form the
    module docstring describes; None otherwise."""
    if loop.ty.kind != "uint" or not loop.body or not isinstance(loop.body[-1], ir.Store):
        return None
    store = loop.body[-1]
    lets = [s for s in loop.body[:-1] if isinstance(s, ir.Let)]
    i = ir.Var(loop.var, loop.ty)
    if len(lets) != len(loop.body) - 1 or store.index != i:
        return None
    if not all(pure(s.init) for s in lets) or not pure(store.value):
        return None
    if store.array not in {p.name for p in fn.params}:  # the range proof reads a parameter's length
        return None
    reads = [
        x
        for e in (*(s.init for s in lets), store.value)
        for x in ir.walk(e)
        if isinstance(x, ir.Load) and x.array == store.array
    ]
    prev = _less_one(i, loop.ty)
    if not all(x.index in (i, prev) for x in reads):
        return None
    return store.array if any(x.index == prev for x in reads) else None


def _less_one(e: ir.Expr, ty: ir.Scalar) -> ir.Expr:
    """e - 1 at the integer type ty."""
    return ir.Binary("sub", e, ir.Const(1, ty), ty)


def _rewritten(loop: ir.For, out: str, elem: ir.Scalar, taken: set[str]) -> list[ir.Stmt]:
    c = ir.Var(ir.fresh_name(f"{out}.carry", taken), elem, loop.span)
    prev = _less_one(ir.Var(loop.var, loop.ty), loop.ty)

    def sub(e: ir.Expr) -> ir.Expr:
        return ir.map_expr(e, load=lambda x: c if x.array == out and x.index == prev else x)

    lets = tuple(replace(s, init=sub(s.init)) for s in loop.body[:-1] if isinstance(s, ir.Let))
    store = loop.body[-1]
    assert isinstance(store, ir.Store)
    step = ir.Assign(c.name, sub(store.value), store.span)
    first = ir.Load(out, _less_one(loop.lo, loop.ty), elem, loop.span)
    return [
        ir.Let(c.name, elem, first, loop.span),
        replace(loop, body=(*lets, step, replace(store, value=c))),
    ]
