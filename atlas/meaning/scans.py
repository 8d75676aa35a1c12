"""Scans: a counted loop that carries one value through an associative
operation and stores each step of it.

    for i in lo..hi {                 for i in lo..hi {
        let t = ...;                      out[i] = s;         (exclusive)
        s = s (+) e(i);                   s = s (+) e(i);
        out[i] = s;      (inclusive)  }
    }

where (+) is `+ * & | ^ min max` on an integer type (or `-`, a sum of the
negated elements), or `+ *` on a float in a `reassoc fn`, e(i) reads neither s nor `out`, and nothing else in the
body has an effect.  Such a loop can run W steps at once: the elements of
a block first, then their running combination in log2(W) shifted steps,
then the carried value combined into every lane (search/lanes.py proves
the algebra that allows it; the LLVM backend emits the vector code).

This module only recognises the form, for both of those; it decides
nothing about soundness beyond what the form itself guarantees.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from . import ir

OPS = ("add", "mul", "and", "or", "xor", "min", "max")


@dataclass(frozen=True)
class Scan:
    loop: ir.For
    acc: str  # the carried value, declared before the loop
    ty: ir.Scalar  # its type, the stored array's element type
    op: str  # one of OPS
    negate: bool  # `s = s - e`: a sum of -e
    element: ir.Expr  # e(i), over the loop variable and values the loop does not change (lets inlined)
    out: str  # the array each step is stored to, at index base + i
    exclusive: bool  # stored before the step (the value before element i)
    branch: ir.Expr | None = None  # the step was `if branch { s = e; }`, read as min or max
    base: ir.Expr | None = None  # the store's index is base + i (None: i), base unchanged by the loop
    post: ir.Expr | None = None  # the value stored, of s (the step's value, or the old one where
    # exclusive) and values the loop does not change; None: s itself
    index: ir.Expr | None = None  # the store's index as written

    def direct(self, arrays: dict[str, ir.Array]) -> tuple[str, ir.Expr | None] | None:
        """(x, its base) where e(i) is x[base + i] (or x[i]), unchanged or
        cast from another integer type (`s += x[i] as u32`): the elements
        can then be read as a vector (and widened or narrowed as one)."""
        return None if self.negate else direct_load(self.element, self.loop, arrays, self.ty)


def direct_load(
    e: ir.Expr, loop: ir.For, arrays: dict[str, ir.Array], ty: ir.Scalar
) -> tuple[str, ir.Expr | None] | None:
    """(x, base) where e is x[base + i] (or x[i]) of type ty, or an integer
    cast of it to ty: W of them are then one vector load."""
    if isinstance(e, ir.Cast) and isinstance(e.a, ir.Load) and e.ty.is_int and e.a.ty.is_int:
        e = e.a
    if not isinstance(e, ir.Load):
        return None
    a = arrays.get(e.array)
    at = offset(e.index, loop)
    ok = a is not None and (a.elem == ty or (a.elem.is_int and ty.is_int))
    return (e.array, at[0]) if at is not None and ok else None


def offset(index: ir.Expr, loop: ir.For) -> tuple[ir.Expr | None] | None:
    """(base,) where `index` is the loop variable plus a value the loop does
    not change (None: the variable alone); None for any other index.  An
    offset only at 64 bits: a narrower sum could wrap inside a block."""
    i = ir.Var(loop.var, loop.ty)
    if index == i:
        return (None,)
    if loop.ty.bits != 64 or not isinstance(index, ir.Binary) or index.op != "add":
        return None
    base = index.b if index.a == i else index.a if index.b == i else None
    if base is None or not fixed(base, loop):
        return None
    return (base,)


def fixed(e: ir.Expr, loop: ir.For) -> bool:
    """Reads only constants and variables the loop does not assign (nor its
    own variable), and no array: the same value in every iteration."""
    changing = ir.assigned(loop.body) | {loop.var} | {n for n, _ in ir.declared(loop.body)}
    return all(isinstance(x, (ir.Var, ir.Const, ir.Unary, ir.Binary, ir.Cast)) for x in ir.walk(e)) and not any(
        isinstance(x, ir.Var) and x.name in changing for x in ir.walk(e)
    )


def identity(op: str, t: ir.Scalar) -> int | float:
    """The value that leaves every other unchanged under `op` at `t` (an
    integer's as its bits; a float sum's is -0.0, since -0.0 + 0.0 is 0.0)."""
    if t.is_float:
        return {"add": -0.0, "mul": 1.0}[op]
    top = (1 << (t.bits - 1)) - 1 if t.signed else (1 << t.bits) - 1
    bottom = -(1 << (t.bits - 1)) if t.signed else 0
    v = {"add": 0, "or": 0, "xor": 0, "mul": 1, "and": -1, "min": top, "max": bottom}[op]
    return v & ((1 << t.bits) - 1)


def reads(e: ir.Expr, name: str) -> bool:
    """Whether e reads the variable `name`."""
    return any(isinstance(x, ir.Var) and x.name == name for x in ir.walk(e))


def pure(e: ir.Expr) -> bool:
    """Computes a value and does nothing else: no call, no device access."""
    return all(isinstance(x, (ir.Var, ir.Const, ir.Load, ir.Unary, ir.Binary, ir.Cast, ir.Prim)) for x in ir.walk(e))


def _step(s: ir.Assign) -> tuple[str, bool, ir.Expr] | None:
    """(op, negate, element) of `s = s (+) e` or `s = e (+) s`."""
    acc = s.name
    v = s.value
    if isinstance(v, ir.Binary) and v.op in ("add", "mul", "and", "or", "xor", "sub"):
        a, b = v.a, v.b
    elif isinstance(v, ir.Prim) and v.name in ("min", "max") and len(v.args) == 2:
        a, b = v.args
    else:
        return None
    op = v.op if isinstance(v, ir.Binary) else v.name
    if isinstance(a, ir.Var) and a.name == acc and not reads(b, acc):
        return ("add", True, b) if op == "sub" else (op, False, b)
    if op != "sub" and isinstance(b, ir.Var) and b.name == acc and not reads(a, acc):
        return op, False, a
    return None


def match(loop: ir.For, fn: ir.Function) -> Scan | None:
    """The scan `loop` is, or None.  The body's lets are inlined first (the
    lowering may name the new value, `let t = s + x[i]; s = s + x[i];
    out[i] = t;`), each read of s standing for its value where it is read."""
    if loop.ty.kind != "uint":  # indices i..i+W-1 then address W adjacent elements
        return None
    body = tuple(_as_step(s) for s in loop.body)
    steps = [s for s in body if isinstance(s, ir.Assign)]
    stores = [s for s in body if isinstance(s, ir.Store)]
    if len(steps) != 1 or len(stores) != 1 or not all(isinstance(s, (ir.Let, ir.Assign, ir.Store)) for s in body):
        return None
    acc = steps[0].name
    ty = scalar_of(fn, acc)
    if ty is None or ty.is_bool or (ty.is_float and not fn.reassoc):
        return None
    before = ir.Var(acc, ty)
    env: dict[str, ir.Expr] = {}
    now: ir.Expr = before  # what s holds at this point of the body
    step: ir.Assign | None = None
    store: ir.Store | None = None
    branch: ir.Expr | None = None
    for s in body:
        if isinstance(s, ir.Let):
            if s.name == acc or not pure(s.init):
                return None
            env[s.name] = _inline(s.init, env, acc, now)
        elif isinstance(s, ir.Assign):
            step = ir.Assign(acc, _inline(s.value, env, acc, now), s.span)
            if isinstance(s, _Branch):
                branch = _inline(s.cond, env, acc, now)
            now = step.value
        elif isinstance(s, ir.Store):
            store = ir.Store(s.array, _inline(s.index, env, acc, now), _inline(s.value, env, acc, now), s.span)
    assert step is not None and store is not None
    found = _step(step)
    if found is None or not pure(step.value):
        return None
    op, negate, element = found
    if ty.is_float and (op not in ("add", "mul") or branch is not None):
        return None  # a float sum or product, regrouped as the `reassoc fn` allows; min and max order NaNs
    arr = fn.arrays.get(store.array)
    at = offset(store.index, loop)
    if arr is None or at is None:
        return None
    # the value stored: s itself or a value of it (`out[i] = s >> 8`), of
    # the new s (inclusive) or of the old (exclusive: `out[i] = s;` before
    # the step, or a let that kept it), not of both
    marked = abstract(store.value, step.value, ir.Var("$s", ty))
    old, new = reads(marked, acc), reads(marked, "$s")
    if old == new:
        return None
    exclusive = old
    stored = marked if exclusive else ir.substitute(marked, {"$s": before})
    if not pure(stored) or any(isinstance(x, ir.Load) and x.array == store.array for x in ir.walk(stored)):
        return None
    post = None if stored == before else stored
    if post is None and arr.elem != ty:
        return None
    # e(i) of a whole block is computed before its stores: it may read the
    # stored array only at i, and only where the store ends the body (an
    # in-place scan, `s += x[i]; x[i] = s;`), so every read precedes it
    last = isinstance(body[-1], ir.Store)
    if reads(element, acc) or any(
        isinstance(x, ir.Load) and x.array == store.array and not (last and x.index == store.index)
        for x in ir.walk(element)
    ):
        return None
    return Scan(loop, acc, ty, op, negate, element, store.array, exclusive, branch, at[0], post, store.index)


def abstract(x: ir.Expr, part: ir.Expr, by: ir.Expr) -> ir.Expr:
    """x with every subexpression equal to `part` replaced by `by`."""
    if x == part:
        return by
    if isinstance(x, (ir.Unary, ir.Cast)):
        return replace(x, a=abstract(x.a, part, by))
    if isinstance(x, ir.Binary):
        return replace(x, a=abstract(x.a, part, by), b=abstract(x.b, part, by))
    if isinstance(x, ir.Prim):
        return replace(x, args=tuple(abstract(a, part, by) for a in x.args))
    if isinstance(x, ir.Load):
        return replace(x, index=abstract(x.index, part, by))
    return x


def _inline(e: ir.Expr, env: dict[str, ir.Expr], acc: str, now: ir.Expr) -> ir.Expr:
    return ir.map_expr(e, var=lambda v: now if v.name == acc else env.get(v.name, v))


@dataclass(frozen=True)
class _Branch(ir.Assign):
    """`if c { s = e; }` read as `s = max(s, e)` or `min`, as c says."""

    cond: ir.Expr = ir.Const(False, ir.BOOL)


_TOWARD = {"gt": "max", "ge": "max", "lt": "min", "le": "min"}
FLIP = {"gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}  # a rel b is b FLIP[rel] a
_NOT = {"gt": "le", "ge": "lt", "lt": "ge", "le": "gt"}


def _as_step(s: ir.Stmt) -> ir.Stmt:
    """An `if` that sets the carried value to e where e compares above (or
    below) it, and leaves it otherwise, as the step it is; any other
    statement as it is.  search/lanes.py proves the reading."""
    if not isinstance(s, ir.If) or len(s.then) + len(s.else_) != 1:
        return s
    arm, c = (s.then or s.else_)[0], s.cond
    if not isinstance(arm, ir.Assign) or not isinstance(c, ir.Binary) or c.op not in _TOWARD:
        return s
    e = arm.value
    rel = c.op if s.then else _NOT[c.op]  # s becomes e where `c.a rel c.b`
    if c.a == e and isinstance(c.b, ir.Var) and c.b.name == arm.name:
        acc = c.b
    elif c.b == e and isinstance(c.a, ir.Var) and c.a.name == arm.name:
        acc, rel = c.a, FLIP[rel]
    else:
        return s
    cond = c if s.then else ir.Unary("not", c, ir.BOOL)
    return _Branch(arm.name, ir.Prim(_TOWARD[rel], (acc, e), acc.ty, arm.span), arm.span, cond=cond)


def scalar_of(fn: ir.Function, name: str) -> ir.Scalar | None:
    for p in fn.params:
        if p.name == name:
            return p.ty if isinstance(p.ty, ir.Scalar) else None
    for n, t in ir.declared(fn.body):
        if n == name:
            return t
    return None
