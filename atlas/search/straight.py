"""Straight-line loop bodies as the loop rewrites read them: forward
substitution, the names a function or loop uses, and running lets,
assignments and ifs on Z3 terms through the one semantics."""

from __future__ import annotations

from dataclasses import replace

import z3

from ..meaning import ir, terms
from ..meaning.z3domain import Z3Domain, sort_of

D = Z3Domain()


def run(stmts, env: dict, load, domain: Z3Domain = D) -> dict:
    """Run straight-line statements (lets, assigns, ifs) on Z3 terms through
    the semantics; every load gives `load` (the one element the body reads)."""
    env = dict(env)
    for s in stmts:
        if isinstance(s, (ir.Let, ir.Assign)):
            env[s.name] = evaluate(stmt_expr(s), env, load, domain)
        elif isinstance(s, ir.If):
            c = evaluate(s.cond, env, load, domain)
            a, b = run(s.then, env, load, domain), run(s.else_, env, load, domain)
            env = {n: (D.ite(c, a[n], b[n]) if n in a and n in b else env.get(n)) for n in set(a) | set(b)}
            env = {n: v for n, v in env.items() if v is not None}
        else:
            raise ValueError(f"the prover runs only lets, assignments and ifs, not {type(s).__name__}")
    return env


def evaluate(e: ir.Expr, env: dict, load=None, domain: Z3Domain = D):
    """e on Z3 terms by the one evaluator of terms (atlas/meaning/terms.py); a
    variable not in env is unconstrained (added to env), and every load
    gives `load` (or, when `load` is a function, what it gives for the
    array, the index and the element type)."""
    t = terms.from_expr(e, {})
    if t is None:
        raise ValueError("the prover does not model calls")
    for u in terms.subterms(t):
        if u.op == "var" and u.value not in env:
            env[u.value] = z3.Const(f"ir!{u.value}", sort_of(u.ty))

    def read(array, index, ty):
        if callable(load):
            return load(array, index, ty)
        if load is None or load.size() != ty.bits:
            raise ValueError("a load the proof does not model")
        return load

    return terms.evaluate(t, domain, env, read)


def stmt_expr(s) -> ir.Expr:
    return s.init if isinstance(s, ir.Let) else s.value


def bound(s: ir.Stmt) -> tuple[str, ir.Expr]:
    """The name a let or an assignment sets, and its value."""
    if isinstance(s, ir.Let):
        return s.name, s.init
    if isinstance(s, ir.Assign):
        return s.name, s.value
    raise TypeError(f"{s.span}: not a let or an assignment")


def has_call(e) -> bool:
    return any(isinstance(x, ir.Call) for x in ir.walk(e))


def mentions(e, names) -> bool:
    return any(isinstance(x, ir.Var) and x.name in names for x in ir.walk(e))


def subst(e: ir.Expr, env: dict) -> ir.Expr:
    """e with every variable env names replaced by its value there."""
    if isinstance(e, ir.Var):
        return env.get(e.name, e)
    if isinstance(e, (ir.Unary, ir.Cast)):
        return replace(e, a=subst(e.a, env))
    if isinstance(e, ir.Binary):
        return replace(e, a=subst(e.a, env), b=subst(e.b, env))
    if isinstance(e, ir.Load):
        return replace(e, index=subst(e.index, env))
    if isinstance(e, ir.Prim):
        return replace(e, args=tuple(subst(a, env) for a in e.args))
    if isinstance(e, ir.Call):
        return replace(e, args=tuple(a if isinstance(a, ir.ArrayRef) else subst(a, env) for a in e.args))
    return e


def rename(e: ir.Expr, old: str, new: ir.Var) -> ir.Expr:
    return subst(e, {old: new})


def var_type(fn: ir.Function, name: str):
    for p in fn.params:
        if p.name == name:
            return p.ty
    for n, t in ir.declared(fn.body):
        if n == name:
            return t
    return None


def stmt_exprs(stmts):
    """Every expression of a statement list, nested blocks included."""
    for s in ir.walk_stmts(stmts):
        yield from ir.own_exprs(s)


def reads_outside(fn: ir.Function, loop: ir.For, names: set[str]) -> bool:
    """Whether anything outside `loop` touches one of its body's temporaries
    (the rewrite drops them; scoping already forbids it, this makes sure)."""
    if not names:
        return False

    def own(s):  # a statement's own expressions, not its blocks'
        if isinstance(s, (ir.If, ir.While)):
            return (s.cond,)
        if isinstance(s, ir.For):
            return (s.lo, s.hi)
        if isinstance(s, ir.When):
            return ()
        return tuple(stmt_exprs((s,)))

    def walk(stmts):
        for s in stmts:
            if s is loop:
                continue
            if isinstance(s, (ir.Let, ir.Assign)) and s.name in names:
                return True
            if isinstance(s, ir.For) and s.var in names:
                return True
            if any(mentions(e, names) for e in own(s)):
                return True
            if any(walk(b) for b in (getattr(s, "then", ()), getattr(s, "else_", ()), getattr(s, "body", ()))):
                return True
        return False

    return walk(fn.body)


def names_of(fn: ir.Function) -> set[str]:
    names = {p.name for p in fn.params}
    names |= {n for n, _ in ir.declared(fn.body)}
    names |= {x.name for e in stmt_exprs(fn.body) for x in ir.walk(e) if isinstance(x, ir.Var)}
    return names


def loop_names(loop: ir.For) -> set[str]:
    return (
        {loop.var}
        | {n for n, _ in ir.declared(loop.body)}
        | {x.name for e in stmt_exprs(loop.body) for x in ir.walk(e) if isinstance(x, ir.Var)}
    )
