"""Flatten: a scalar function with branches and constant-bound loops as one term.

A function that takes and returns scalars, reads no array, calls nothing and
loops only `for i in A..B` with constant bounds computes a pure function of
its parameters.  Unrolling every loop and turning every branch into a
`select` writes that function as a single term: the *whole-function root*,
which the e-graph, the superoptimiser and the learned rules work on.

The unrolling is a symbolic execution in continuation style: at an `if`
whose arms may return, the term is `select(c, <then arm and the rest>,
<else arm and the rest>)`, so an early return inside a loop
(`for i in 0..32 { if bit(i) { return f(i) } }`) gives a chain of selects
that grows linearly, with no `done` flag.  An `if` whose arms cannot return
merges the variables they assign with one select each.  All-constant
subterms are folded by the semantics' own definitions as they are built, and
a conditional update `if c { v = v + d }` becomes `v + select(c, d, 0)` (any
operator with an identity), which names v once instead of in both arms.

A function this does not apply to raises `Refused` with the reason; one
whose unrolled term would exceed MAX_NODES (a tree count: a flag that guards
its own update doubles the term at every iteration) is refused too.
"""

from __future__ import annotations

from ..meaning import ir
from ..meaning.terms import Term, const, fold, natural_value

MAX_NODES = 20_000  # the largest unrolled term (tree nodes) kept
MAX_STEPS = 200_000  # statements executed while unrolling, all paths together


_STRAIGHT = "it has no branch or loop"


class Refused(Exception):
    """The function cannot be written as one term; the message says why."""


def tree_size(t: Term) -> int:
    """Nodes of `t` counted as a tree (a shared subterm once per use), by
    memoising on identity: the term may be a DAG whose tree is huge."""
    memo: dict[int, int] = {}

    def go(u: Term) -> int:
        k = id(u)
        if k not in memo:
            memo[k] = 1 + sum(go(a) for a in u.args)
        return memo[k]

    return go(t)


def why_not(fn: ir.Function) -> str | None:
    """None when `fn` has the shape flatten needs, else the reason."""
    if fn.ret is None:
        return "it returns nothing"
    for p in fn.params:
        if not isinstance(p.ty, ir.Scalar):
            return f"parameter {p.name} is an array"
    for s in ir.walk_stmts(fn.body):
        if isinstance(s, ir.While):
            return f"{s.span}: a while loop (its trip count is not known before it runs)"
        if isinstance(s, (ir.Store, ir.LetArray, ir.ExprStmt, ir.Count, ir.When)):
            return f"{s.span}: a {type(s).__name__.lower()} statement"
    for s in ir.walk_stmts(fn.body):
        for e in ir.own_exprs(s):
            for x in ir.walk(e):
                if isinstance(x, (ir.Load, ir.Call)):
                    return f"{x.span}: it {'reads an array' if isinstance(x, ir.Load) else 'calls ' + x.func}"
    if not any(isinstance(s, (ir.If, ir.For)) for s in ir.walk_stmts(fn.body)) and len(fn.body) == 1:
        return _STRAIGHT + " (its return is already one term)"
    return None


def flatten(fn: ir.Function, *, straight_too: bool = False) -> Term:
    """The value `fn` returns, as one term over its parameters.  With
    `straight_too`, a function with no branch or loop is taken as well."""
    why = why_not(fn)
    if why and not (straight_too and why.startswith(_STRAIGHT)):
        raise Refused(f"{fn.name}: {why}")
    run = _Run(fn)
    env = {p.name: Term("var", p.ty, (), p.name) for p in fn.params if isinstance(p.ty, ir.Scalar)}
    t = run.block(list(fn.body), env)
    n = tree_size(t)
    if n > MAX_NODES:
        raise Refused(
            f"{fn.name}: unrolled, it is a term of {n} nodes (at most {MAX_NODES}); a variable "
            "updated under a condition that reads it doubles the term at every iteration"
        )
    return t


_UNROLLED: dict[int, tuple] = {}  # id(function) -> (function, its term or None)


def whole_term(fn: ir.Function) -> Term | None:
    """flatten(fn), or None where it is refused.  Kept per function object:
    the search rebuilds one module many times over, and an unrolled loop is
    not free to build again."""
    hit = _UNROLLED.get(id(fn))
    if hit is None or hit[0] is not fn:
        try:
            t = flatten(fn)
        except Refused:
            t = None
        if len(_UNROLLED) >= 256:
            _UNROLLED.clear()
        hit = _UNROLLED[id(fn)] = (fn, t)
    return hit[1]


class _Run:
    def __init__(self, fn: ir.Function):
        if fn.ret is None:
            raise Refused(f"{fn.name}: it returns nothing")
        self.fn, self.ret = fn, fn.ret
        self.steps = 0

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise Refused(f"{self.fn.name}: more than {MAX_STEPS} statements to unroll")

    # -- expressions
    def term(self, e: ir.Expr, env: dict) -> Term:
        if isinstance(e, ir.Const):
            return const(e.value, e.ty)
        if isinstance(e, ir.Var):
            return env[e.name]
        kids = tuple(self.term(c, env) for c in ir.children(e))
        match e:
            case ir.Cast():
                return simplify(Term("cast", e.ty, kids))
            case ir.Prim():
                return simplify(Term(e.name, e.ty, kids))
            case ir.Unary() | ir.Binary():
                return simplify(Term(e.op, e.ty, kids))
        raise Refused(f"{self.fn.name}: {e.span}: {type(e).__name__} is not a term")  # why_not keeps them out

    def expand(self, s, env: dict) -> list | None:
        """The statements `s` stands for when it is a loop (unrolled) or an
        `if` on a constant (the arm taken); None for any other statement."""
        if isinstance(s, ir.For):
            return self.unrolled(s, env)
        if isinstance(s, ir.If):
            c = self.term(s.cond, env)
            if c.op == "const":
                return list(s.then if c.value else s.else_)
        return None

    # -- statements that cannot return: the new environment
    def assign(self, stmts: list, env: dict) -> dict:
        env = dict(env)
        i = 0
        while i < len(stmts):
            self.step()
            s = stmts[i]
            more = self.expand(s, env)
            if more is not None:
                stmts, i = more + stmts[i + 1 :], 0
                continue
            if isinstance(s, ir.Let):
                env[s.name] = self.term(s.init, env)
            elif isinstance(s, ir.Assign):
                env[s.name] = self.term(s.value, env)
            elif isinstance(s, ir.If):
                c = self.term(s.cond, env)
                env = merge(c, self.assign(list(s.then), env), self.assign(list(s.else_), env), env)
            else:
                raise Refused(f"{self.fn.name}: {s.span}: {type(s).__name__} cannot be unrolled")
            i += 1
        return env

    # -- statements that may return: the returned value
    def block(self, stmts: list, env: dict) -> Term:
        env = dict(env)
        i = 0
        while i < len(stmts):
            self.step()
            s = stmts[i]
            rest = stmts[i + 1 :]
            if isinstance(s, ir.Return) and s.value is not None:
                return self.term(s.value, env)
            more = self.expand(s, env)
            if more is not None:
                stmts, i = more + rest, 0
                continue
            if isinstance(s, ir.If) and (_returns(s.then) or _returns(s.else_)):
                c = self.term(s.cond, env)
                return simplify(
                    Term(
                        "select",
                        self.ret,
                        (c, self.block(list(s.then) + rest, env), self.block(list(s.else_) + rest, env)),
                    )
                )
            if _returns([s]):
                raise Refused(f"{self.fn.name}: {s.span}: {type(s).__name__} cannot be unrolled")
            env = self.assign([s], env)
            i += 1
        raise Refused(f"{self.fn.name}: a path reaches the end without returning")

    def unrolled(self, loop: ir.For, env: dict) -> list:
        lo, hi = self.term(loop.lo, env), self.term(loop.hi, env)
        if lo.op != "const" or hi.op != "const":
            raise Refused(f"{self.fn.name}: {loop.span}: the loop's bounds are not constants")
        a, b = int(natural_value(lo)), int(natural_value(hi))
        if b - a > MAX_STEPS:
            raise Refused(f"{self.fn.name}: {loop.span}: {b - a} iterations")
        out: list[ir.Stmt] = []
        for k in range(a, max(a, b)):
            out.append(ir.Let(loop.var, loop.ty, ir.Const(k & loop.ty.mask, loop.ty), loop.span))
            out.extend(loop.body)
        return out


def merge(c: Term, then_env: dict, else_env: dict, before: dict) -> dict:
    """The variables after `if c {...} else {...}`: each one the arms left
    different becomes select(c, then, else).  A name declared inside one arm
    only is gone after the `if` (the checker keeps such names unique)."""
    out = dict(before)
    for name, old in before.items():
        a, b = then_env.get(name, old), else_env.get(name, old)
        out[name] = a if a is b or a == b else simplify(Term("select", a.ty, (c, a, b)))
    return out


def simplify(t: Term) -> Term:
    """Fold a node whose operands are constants; a select on a constant or
    between equal arms is its arm.  Each is an identity of the definitions."""
    if all(a.op == "const" for a in t.args) and t.args:
        return fold(t)
    if t.op == "select":
        c, a, b = t.args
        if c.op == "const":
            return a if c.value else b
        if a is b or a == b:
            return a
        if a.ty.is_bool and a.op == "const" and b.op == "const":
            return c if a.value else Term("not", c.ty, (c,))
        # `if c { v = v + d }` would name v twice, in both arms: written
        # v + select(c, d, 0) instead, the term stays linear in the loop's
        # trip count (true for any operator with an identity on that side)
        for x, y, flip in ((a, b, False), (b, a, True)):
            if x.op in _IDENTITY and len(x.args) == 2 and x.args[0] == y and x.args[1].ty == y.ty:
                unit = const(_IDENTITY[x.op](y.ty), y.ty)
                d = x.args[1]
                pick = Term("select", y.ty, (c, unit, d) if flip else (c, d, unit))
                return Term(x.op, y.ty, (y, simplify(pick)))
    return t


# Operators with a right identity: x op unit == x for every x of the type.
# For floats that is -0.0 for addition (0.0 + -0.0 is 0.0, not -0.0), +0.0
# for subtraction and 1.0 for multiplication; NaN stays NaN under each.
_IDENTITY = {
    "add": lambda t: -0.0 if t.is_float else 0,
    "sub": lambda t: 0.0 if t.is_float else 0,
    "or": lambda t: 0,
    "xor": lambda t: 0,
    "mul": lambda t: 1.0 if t.is_float else 1,
    "and": lambda t: t.mask,
}


def _returns(stmts) -> bool:
    return any(isinstance(s, ir.Return) for s in ir.walk_stmts(stmts))
