"""Counted `while` loops read as the `for` loops they are.

    let j: T = a;                      let j: T = a;
    while j < hi {                     for j.n in j..hi {
        body;              becomes         body, reading j.n for j;
        j += 1;                        }
    }                                  if j < hi { j = hi; }

Every later stage (the logic atlas's folds, the loop shapes, the GPU
planner) is written for `for` loops; a person porting C writes the same
loop as a `while` as often as not, and should get the same code.

The two mean the same when, as checked here:
  - the condition is `j < hi` (or `hi > j`) on an integer j;
  - the body's last statement, at its top level, is `j += 1` (`j = j + 1`
    or `j = 1 + j`), and nothing else in the body assigns j;
  - hi reads only scalars the body does not assign, no array, no call and
    no register: it has one value through the whole loop, so evaluating
    it once, as a `for` does, is evaluating it each time;
  - the body holds only the statements of computing code (no device
    statement), so every read of j is one this module renames.
Then the body runs for j = a, a+1, ..., hi-1 in both, j < hi keeps the
increment from wrapping, and j ends at hi where the loop ran and at a where
it did not, which the `if` after the `for` restores.  That `if` is left out
where j is declared in the same block and nothing after the loop reads it.

Nothing else changes: a `while` of any other form stays as it is.  The
fuzzer's reference interpreter runs the loop before this reading
(`pipeline.front(..., counted=False)`), so every campaign checks it.
"""

from __future__ import annotations

from dataclasses import replace

from ..meaning import ir

# Statements rename_locals rewrites in full: a body with any other kind keeps its while.
_COMPUTING = (ir.Let, ir.LetArray, ir.Assign, ir.Store, ir.If, ir.For, ir.While, ir.Return, ir.ExprStmt)


def counted_loops(module: ir.Module) -> ir.Module:
    """The module with each counted while loop read as a for loop."""
    return replace(module, functions=tuple(_function(f) for f in module.functions))


def _function(fn: ir.Function) -> ir.Function:
    if not any(isinstance(s, ir.While) for s in ir.walk_stmts(fn.body)):
        return fn
    taken = ir.names_used(fn)
    return replace(fn, body=_block(fn.body, taken))


def _block(stmts: tuple, taken: set[str]) -> tuple:
    out: list = []
    for k, s in enumerate(stmts):
        if isinstance(s, ir.If):
            s = replace(s, then=_block(s.then, taken), else_=_block(s.else_, taken))
        elif isinstance(s, ir.For):
            s = replace(s, body=_block(s.body, taken))
        elif isinstance(s, ir.While):
            s = replace(s, body=_block(s.body, taken))  # inner loops first: the outer one may then qualify
            read = _counted(s)
            if read is not None:
                j, hi = read
                declared_here = any(isinstance(p, ir.Let) and p.name == j.name for p in stmts[:k])
                read_after = j.name in _reads(stmts[k + 1 :])
                out += _as_for(s, j, hi, taken, keep_final=read_after or not declared_here)
                continue
        out.append(s)
    return tuple(out)


def _counted(loop: ir.While) -> tuple[ir.Var, ir.Expr] | None:
    """(j, hi) when `loop` is `while j < hi { ...; j += 1; }` as the module docstring requires."""
    c = loop.cond
    if isinstance(c, ir.Binary) and c.op == "lt" and isinstance(c.a, ir.Var):
        j, hi = c.a, c.b
    elif isinstance(c, ir.Binary) and c.op == "gt" and isinstance(c.b, ir.Var):
        j, hi = c.b, c.a
    else:
        return None
    if not j.ty.is_int or getattr(hi, "ty", None) != j.ty or not loop.body or not _is_increment(loop.body[-1], j):
        return None
    rest = loop.body[:-1]
    if j.name in ir.assigned(rest) or not all(isinstance(s, _COMPUTING) for s in ir.walk_stmts(rest)):
        return None
    if not all(isinstance(e, (ir.Var, ir.Const, ir.Unary, ir.Binary, ir.Cast, ir.Prim)) for e in ir.walk(hi)):
        return None  # a load, a call or a register read may change, or act, between tests
    if ir.names_read(hi) & (ir.assigned(loop.body) | {j.name}):
        return None
    return j, hi


def _is_increment(s, j: ir.Var) -> bool:
    if not (isinstance(s, ir.Assign) and s.name == j.name):
        return False
    v = s.value
    one = ir.Const(1, j.ty)
    return isinstance(v, ir.Binary) and v.op == "add" and {_key(v.a), _key(v.b)} == {_key(j), _key(one)}


def _key(e: ir.Expr):
    return ("var", e.name) if isinstance(e, ir.Var) else ("const", e.value) if isinstance(e, ir.Const) else None


def _as_for(loop: ir.While, j: ir.Var, hi: ir.Expr, taken: set[str], keep_final: bool) -> list:
    i = ir.fresh_name(f"{j.name}.n", taken)
    body = ir.rename_locals(loop.body[:-1], {j.name: i})
    out: list = [ir.For(i, j.ty, j, hi, body, loop.span)]
    if keep_final:
        out.append(
            ir.If(ir.Binary("lt", j, hi, ir.BOOL, loop.span), (ir.Assign(j.name, hi, loop.span),), (), loop.span)
        )
    return out


def _reads(stmts) -> set[str]:
    return {n for s in ir.walk_stmts(stmts) for e in ir.own_exprs(s) for n in ir.names_read(e)}
