"""`break`, `continue` and the conditional expression, defined by their
translation into the core IR (docs/language.md, "Leaving a loop early").

The IR has no jumps: every later stage (the interpreter, the prover, the
search's loop shapes, every backend) keeps its one structured meaning of
`if`, `for` and `while`, and the front end says what a jump means in those
terms.  A loop that holds a `break` keeps a flag, *broke*, that its
condition tests before its own (a `for` becomes the `while` it stands for);
statements after one that may jump run under a flag *left* ("this round is
over"), unless the jump sits in one arm of an `if` and the other arm falls
through: then what follows goes into that other arm and needs no flag.  A
flag nobody reads is dropped, so `if c { continue; }` costs nothing.

A conditional expression whose arms only compute values is the `select`
primitive: arms that cannot fail or write anything may both be computed.
Arms that call a function or read a device register must not both run
(either may act); such an expression is a
`Branch`, which becomes `if` statements where its value is assigned.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Callable, Union

from ..meaning import ir
from ..meaning.ir import BOOL, Span
from .syntax import ForA, IfA, JumpA, ReturnA, WhenA, WhileA


# ---------------------------------------------------------------- where jumps are


def may_jump(s) -> bool:
    """Whether statement s (source) holds a `break` or `continue` of the
    loop around it: those of a nested loop are that loop's own."""
    if isinstance(s, JumpA):
        return True
    if isinstance(s, (ForA, WhileA)):
        return False
    return any(may_jump(x) for x in _blocks(s))


def leaves(stmts) -> bool:
    """Whether a source block never falls through to what follows it: every
    path ends in `break`, `continue` or `return`."""
    for s in stmts:
        if isinstance(s, (JumpA, ReturnA)):
            return True
        if isinstance(s, (IfA, WhenA)) and leaves(s.then) and leaves(s.else_):
            return True
    return False


def _blocks(s) -> tuple:
    return tuple(getattr(s, "then", ())) + tuple(getattr(s, "else_", ())) + tuple(getattr(s, "body", ()))


# ---------------------------------------------------------------- loops


@dataclass
class Loop:
    """The flags of the loop being checked: unique local names."""

    left: str  # this round is over (a `continue`, or a `break`)
    broke: str | None  # the loop is over (only where the loop holds a `break`)
    keyword: str  # 'for' | 'while', for messages


def holds_break(stmts) -> bool:
    """Whether a source loop body holds a `break` of its own."""

    def any_break(s) -> bool:
        if isinstance(s, JumpA):
            return s.kind == "break"
        if isinstance(s, (ForA, WhileA)):
            return False
        return any(any_break(x) for x in _blocks(s))

    return any(any_break(s) for s in stmts)


def flag(name: str, value: bool, span: Span) -> ir.Assign:
    return ir.Assign(name, ir.Const(value, BOOL, span), span)


def not_(name: str, span: Span) -> ir.Expr:
    return ir.Unary("not", ir.Var(name, BOOL, span), BOOL, span)


def jump(loop: Loop, kind: str, span: Span) -> list[ir.Stmt]:
    """What `break;` or `continue;` does: set the flags."""
    out: list[ir.Stmt] = [flag(loop.left, True, span)]
    if kind == "break":
        assert loop.broke is not None, "a loop with a break has its flag"
        out.insert(0, flag(loop.broke, True, span))
    return out


def body(loop: Loop, stmts: tuple, span: Span) -> tuple:
    """A loop body with its round flag set up, or dropped if nothing reads it."""
    if not reads(stmts, loop.left):
        return drop(stmts, loop.left)
    return (ir.Let(loop.left, BOOL, ir.Const(False, BOOL, span), span),) + stmts


def while_(loop: Loop, cond: ir.Expr, stmts: tuple, span: Span) -> list[ir.Stmt]:
    """`while cond { ... }` with its flags."""
    stmts = body(loop, stmts, span)
    if loop.broke is None:
        return [ir.While(cond, stmts, span)]
    go = ir.Binary("land", not_(loop.broke, span), cond, BOOL, span)
    return [ir.Let(loop.broke, BOOL, ir.Const(False, BOOL, span), span), ir.While(go, stmts, span)]


@dataclass(frozen=True)
class Counted:
    """The parts of a checked `for var in lo..hi` (`end` names hi's value
    where the loop becomes a `while`)."""

    var: str
    ty: ir.Scalar
    lo: ir.Expr
    hi: ir.Expr
    end: str


def for_(loop: Loop, c: Counted, stmts: tuple, span: Span) -> list[ir.Stmt]:
    """`for` with its flags: a `for` still, unless it holds a `break`; then
    the `while` it stands for (lo and hi computed once, before the first
    round; var + 1 cannot wrap, since var < hi)."""
    stmts = body(loop, stmts, span)
    if loop.broke is None:
        return [ir.For(c.var, c.ty, c.lo, c.hi, stmts, span)]
    var, end = ir.Var(c.var, c.ty, span), ir.Var(c.end, c.ty, span)
    step = ir.Assign(c.var, ir.Binary("add", var, ir.Const(1, c.ty, span), c.ty, span), span)
    go = ir.Binary("land", not_(loop.broke, span), ir.Binary("lt", var, end, BOOL, span), BOOL, span)
    return [
        ir.Let(c.var, c.ty, c.lo, span),
        ir.Let(c.end, c.ty, c.hi, span),
        ir.Let(loop.broke, BOOL, ir.Const(False, BOOL, span), span),
        ir.While(go, stmts + (step,), span),
    ]


def reads(stmts, name: str) -> bool:
    """Whether any expression of the statements reads local `name`."""
    return any(
        isinstance(x, ir.Var) and x.name == name
        for s in ir.walk_stmts(stmts)
        for e in ir.own_exprs(s)
        for x in ir.walk(e)
    )


def drop(stmts, name: str) -> tuple:
    """The statements without the assignments to local `name` (nothing reads it)."""
    out = []
    for s in stmts:
        if isinstance(s, (ir.Let, ir.Assign)) and s.name == name:
            continue
        nested = {f.name: drop(getattr(s, f.name), name) for f in fields(s) if f.name in ("then", "else_", "body")}
        out.append(replace(s, **nested) if nested else s)
    return tuple(out)


# ---------------------------------------------------------------- conditional expressions


@dataclass(frozen=True)
class Branch:
    """A conditional expression whose arms call a function: only the arm
    the condition picks may run."""

    cond: ir.Expr
    then: "Value"
    other: "Value"
    span: Span

    @property
    def ty(self) -> ir.Scalar:
        return ty_of(self.then)


Value = Union[ir.Expr, Branch]


def ty_of(v: Value) -> ir.Scalar:
    """A value's type (the checker refuses a call without a result as a value)."""
    if v.ty is None:
        raise TypeError(f"internal error: {v!r} has no value")
    return v.ty


def choose(cond: ir.Expr, then: Value, other: Value, span: Span) -> Value:
    """The conditional expression's meaning: a `select` where both arms may
    be computed, a Branch where one calls a function."""
    if not isinstance(then, Branch) and not isinstance(other, Branch) and not _acts(then) and not _acts(other):
        return ir.Prim("select", (cond, then, other), ty_of(then), span)
    return Branch(cond, then, other, span)


def _acts(e: ir.Expr) -> bool:
    """Whether computing e does more than compute: a call may write arrays
    or run long, a device register's read may change the device."""
    return any(isinstance(x, (ir.Call, ir.RegRead)) for x in ir.walk(e))


def emit(v: Value, leaf: Callable[[ir.Expr], ir.Stmt]) -> list[ir.Stmt]:
    """Statements that do `leaf` with the value of v, running only the arms
    the conditions pick."""
    if isinstance(v, Branch):
        return [ir.If(v.cond, tuple(emit(v.then, leaf)), tuple(emit(v.other, leaf)), v.span)]
    return [leaf(v)]


def zero(ty: ir.Scalar, span: Span) -> ir.Const:
    return ir.Const(False if ty.is_bool else (0.0 if ty.is_float else 0), ty, span)
