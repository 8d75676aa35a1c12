"""Counted `while` loops read as the `for` loops they are.

    let j: T = a;                      let j: T = a;
    while j < hi {                     for j.n in j..hi {
        body;              becomes         body, reading j.n for j;
        j += 1;                        }
    }                                  if j < hi { j = hi; }

and the loops that count down to a bound, the decrement first or last
(C's `while (n--)`):

    while i > lo {                     for i.n in lo..i {
        i -= 1;            becomes         body, reading (i + lo - 1) - i.n for i;
        body;                          }
    }                                  if i > lo { i = lo; }

Every later stage (the logic atlas's folds, the loop shapes, the GPU
planner) is written for `for` loops; a person porting C writes the same
loop as a `while` as often as not, and should get the same code.

The two mean the same when, as checked here:
  - the condition is `j < hi` (or `hi > j`) on an integer j counted up, or
    `i > lo` (or `lo < i`, or `i != 0` on an unsigned i) on one counted down;
  - the body's last statement, at its top level, is `j += 1` (`j = j + 1`
    or `j = 1 + j`), or its first or last is `i -= 1` (`i = i - 1`), and
    nothing else in the body assigns the counter;
  - the bound reads only scalars the body does not assign, no array, no
    call and no register: it has one value through the whole loop, so
    evaluating it once, as a `for` does, is evaluating it each time;
  - the body holds only the statements of computing code (no device
    statement), so every read of the counter is one this module rewrites.
Then the body runs once for each value from the start to the bound, in
the same order, each step by one keeps the counter from wrapping past the
bound, and the counter ends at the bound where the loop ran and at its
start where it did not, which the `if` after the `for` restores.  A value
read counting down, (i + lo - 1) - t, is the true one modulo 2^bits and
lies in [lo, i), so the wrapping arithmetic gives it exactly.  The `if` is
left out where the counter is declared in the same block and nothing after
the loop reads it.

Nothing else changes: a `while` of any other form stays as it is.  The
front end checks each function so read against itself as written
(validate.readings) and keeps the while loops where that fails; the
fuzzer's reference interpreter runs the loop before this reading
(`pipeline.front(..., counted=False)`), so every campaign checks it too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..meaning import ir

# Statements ir.map_stmts rewrites in full: a body with any other kind keeps its while.
_COMPUTING = (ir.Let, ir.LetArray, ir.Assign, ir.Store, ir.If, ir.For, ir.While, ir.Return, ir.ExprStmt)


def counted_loops(module: ir.Module) -> ir.Module:
    """The module with each counted while loop read as a for loop."""
    return replace(module, functions=tuple(_function(f) for f in module.functions))


def _function(fn: ir.Function) -> ir.Function:
    if not any(isinstance(s, ir.While) for s in ir.walk_stmts(fn.body)):
        return fn
    taken = ir.names_used(fn)
    return replace(fn, body=_block(fn.body, taken))


@dataclass(frozen=True)
class _Count:
    var: ir.Var
    bound: ir.Expr  # hi counting up, lo counting down
    down: bool
    first: bool  # counting down, the decrement is the body's first statement
    body: tuple  # the body without its step


def _block(stmts: tuple, taken: set[str]) -> tuple:
    out: list = []
    for k, s in enumerate(stmts):
        if isinstance(s, ir.If):
            s = replace(s, then=_block(s.then, taken), else_=_block(s.else_, taken))
        elif isinstance(s, ir.For):
            s = replace(s, body=_block(s.body, taken))
        elif isinstance(s, ir.While):
            s = replace(s, body=_block(s.body, taken))  # inner loops first: the outer one may then qualify
            count = _counted(s)
            if count is not None:
                name = count.var.name
                declared_here = any(isinstance(p, ir.Let) and p.name == name for p in stmts[:k])
                read_after = name in _reads(stmts[k + 1 :])
                start = _start(stmts[:k], count.var)
                out += _as_for(s, count, start, taken, keep_final=read_after or not declared_here)
                continue
        out.append(s)
    return tuple(out)


def _start(before: tuple, j: ir.Var) -> ir.Expr:
    """The counter's value where the loop starts, as an expression the
    proofs of the loop shapes can read (`n` rather than a `j` set to n
    earlier): its `let`'s value where nothing between the `let` and the
    loop sets j or what that value reads, else j itself."""
    for k in range(len(before) - 1, -1, -1):
        s = before[k]
        if isinstance(s, ir.Let) and s.name == j.name:
            moved = ir.assigned(before[k + 1 :]) & (ir.names_read(s.init) | {j.name})
            return s.init if _of_scalars(s.init) and not moved else j
    return j


def _counted(loop: ir.While) -> _Count | None:
    """How `loop` counts, when it does as the module docstring requires."""
    c = loop.cond
    if not isinstance(c, ir.Binary) or not loop.body:
        return None
    first, last = loop.body[0], loop.body[-1]
    # `lt` and `gt` name the smaller and the larger side; which is the counter
    # is for its step to say
    sides: tuple[ir.Expr, ir.Expr] | None = (c.a, c.b) if c.op == "lt" else (c.b, c.a) if c.op == "gt" else None
    if c.op == "ne":  # an unsigned count down to 0, either way round
        for v, z in ((c.a, c.b), (c.b, c.a)):
            if _is_zero(z) and isinstance(v, ir.Var) and v.ty.kind == "uint":
                sides = (z, v)
    if sides is None:
        return None
    small, large = sides
    tries: list[_Count] = []
    if isinstance(small, ir.Var) and c.op != "ne" and _is_step(last, small, "add"):
        tries.append(_Count(small, large, False, False, loop.body[:-1]))
    if isinstance(large, ir.Var) and _is_step(first, large, "sub"):
        tries.append(_Count(large, small, True, True, loop.body[1:]))
    elif isinstance(large, ir.Var) and _is_step(last, large, "sub"):
        tries.append(_Count(large, small, True, False, loop.body[:-1]))
    return next((t for t in tries if _fits(t, loop)), None)


def _fits(t: _Count, loop: ir.While) -> bool:
    j, bound = t.var, t.bound
    if not j.ty.is_int or getattr(bound, "ty", None) != j.ty:
        return False
    if j.name in ir.assigned(t.body) or not all(isinstance(s, _COMPUTING) for s in ir.walk_stmts(t.body)):
        return False
    if not _of_scalars(bound):
        return False  # a load, a call or a register read may change, or act, between tests
    return not ir.names_read(bound) & (ir.assigned(loop.body) | {j.name})


def _of_scalars(e: ir.Expr) -> bool:
    """Whether e computes from scalars alone: no load, call or register read."""
    return all(isinstance(x, (ir.Var, ir.Const, ir.Unary, ir.Binary, ir.Cast, ir.Prim)) for x in ir.walk(e))


def _is_step(s, j: ir.Var, op: str) -> bool:
    """s is `j = j + 1` (either way round) for op "add", `j = j - 1` for "sub"."""
    if not (isinstance(s, ir.Assign) and s.name == j.name):
        return False
    v = s.value
    if not (isinstance(v, ir.Binary) and v.op == op):
        return False
    one = ir.Const(1, j.ty)
    if op == "sub":
        return v.a == j and v.b == one
    return {_key(v.a), _key(v.b)} == {_key(j), _key(one)}


def _is_zero(e) -> bool:
    return isinstance(e, ir.Const) and e.ty.is_int and e.value == 0


def _key(e: ir.Expr):
    return ("var", e.name) if isinstance(e, ir.Var) else ("const", e.value) if isinstance(e, ir.Const) else None


def _as_for(loop: ir.While, count: _Count, start: ir.Expr, taken: set[str], keep_final: bool) -> list:
    """The for loop (and the `if` that sets the counter's final value) for
    `loop`, which counts as `count` says from `start`, the counter's value
    on entry."""
    j, bound, ty, span = count.var, count.bound, count.var.ty, loop.span
    t = ir.Var(ir.fresh_name(f"{j.name}.n", taken), ty, span)
    if not count.down:
        body = ir.rename_locals(count.body, {j.name: t.name})
        out: list = [ir.For(t.name, ty, start, bound, body, span)]
        past = ir.Binary("lt", j, bound, ir.BOOL, span)
    else:
        top = start if _is_zero(bound) else ir.Binary("add", start, bound, ty, span)  # i + lo
        if count.first:
            top = ir.Binary("sub", top, ir.Const(1, ty, span), ty, span)
        value = ir.Binary("sub", top, t, ty, span)
        out = [
            ir.For(
                t.name, ty, bound, start, ir.map_stmts(count.body, lambda e: ir.substitute(e, {j.name: value})), span
            )
        ]
        past = ir.Binary("gt", j, bound, ir.BOOL, span)
    if keep_final:
        out.append(ir.If(past, (ir.Assign(j.name, bound, span),), (), span))
    return out


def _reads(stmts) -> set[str]:
    return {n for s in ir.walk_stmts(stmts) for e in ir.own_exprs(s) for n in ir.names_read(e)}
