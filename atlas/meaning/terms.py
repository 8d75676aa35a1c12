"""The logic level: pure terms over the primitives.

A Term is an immutable tree with a result type; it has no statements, no
mutation and no calls.  Terms are what the e-graph stores, what rewrite rules
match, and what Z3 proves equal.  `evaluate` gives a term its meaning by the
single definitions in atlas/meaning/semantics.py, over any domain (Python integers
for testing, Z3 bit-vectors for proofs).

Operators (`op`), by shape:
  leaves   'var' (value = name), 'const' (value = bit pattern, float.hex() or bool),
           'load' (value = array name, args = (index,)) - a read of an array
           that the term's context does not write
  unary    'neg' 'not' 'cast' (source type = args[0].ty) and the unary primitives
  binary   'add' 'sub' 'mul' 'div' 'rem' 'and' 'or' 'xor' 'shl' 'shr'
           'eq' 'ne' 'lt' 'le' 'gt' 'ge' (operand type = args[0].ty)
           'land' 'lor' and the binary primitives
  ternary  'select' (and the shift-shaped primitives rotl/rotr are binary)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from . import ir
from . import semantics as sem

COMPARES = ("eq", "ne", "lt", "le", "gt", "ge")


@dataclass(frozen=True)
class Term:
    op: str
    ty: ir.Scalar
    args: tuple["Term", ...] = ()
    value: Any = None  # var, load: the name; const: bits (int, bool) or a float's hex text

    def __str__(self) -> str:
        return pretty(self)

    # Terms are DAGs (an unrolled loop shares its subterms many times over):
    # the hash is computed once per node and kept, and equality tries
    # identity and the hash first, so neither walks the tree again.
    def __hash__(self) -> int:
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash((self.op, self.ty, self.args, self.value))
            object.__setattr__(self, "_hash", h)
        return h

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if other.__class__ is not Term or hash(self) != hash(other):
            return False
        a, b = self._rep(), other._rep()
        if a is b:
            return True
        same = (a.op, a.ty, a.value, a.args) == (b.op, b.ty, b.value, b.args)
        if same:
            # Two equal DAGs built apart (a source and a candidate unrolled
            # side by side) share subterms along many paths: remembering
            # each equal pair keeps comparing them linear, not exponential.
            # The left side joins the right's: `t == TRUE` keeps TRUE the
            # representative of its class.
            object.__setattr__(a, "_same", b)
        return same

    def _rep(self) -> "Term":
        """The representative of the terms found equal to this one (itself
        if none); the path to it is shortened as it is walked."""
        root = self
        while True:
            up = root.__dict__.get("_same")
            if up is None:
                break
            root = up
        t = self
        while t is not root:
            up = t.__dict__["_same"]
            object.__setattr__(t, "_same", root)
            t = up
        return root

    def __getstate__(self) -> dict[str, Any]:
        # string hashes differ between processes: a pickled hash would be wrong
        state = dict(self.__dict__)
        state.pop("_hash", None)
        state.pop("_same", None)
        return state


def var(name: str, ty: ir.Scalar) -> Term:
    return Term("var", ty, (), name)


def const(value: Any, ty: ir.Scalar) -> Term:
    if ty.is_int:
        value = int(value) & ty.mask
    elif ty.is_float:
        value = float(value).hex()  # -0.0 and 0.0 are different constants
    else:
        value = bool(value)
    return Term("const", ty, (), value)


def size(t: Term) -> int:
    """Nodes in the tree (shared subterms counted each time)."""
    return 1 + sum(size(a) for a in t.args)


# Each item is a Term; Any because a caller (atlas/logic/stochastic.py,
# program_of) gives a variable a narrower tuple type than Term.args.
def subterms(t: Term) -> list[Term]:
    """Each distinct subterm once, children before parents."""
    seen: set[Term] = set()
    order: list[Term] = []

    def visit(u: Term) -> None:
        if u in seen:
            return
        for a in u.args:
            visit(a)
        seen.add(u)
        order.append(u)

    visit(t)
    return order


def replace_subterms(t: Term, mapping: Mapping[Term, Term]) -> Term:
    """`t` with each subterm that is a key of `mapping` replaced, all at once
    (outermost first; a replacement is not looked into); parts with nothing
    replaced are kept as they are."""
    memo: dict[Term, Term] = {}

    def go(u: Term) -> Term:
        if u in mapping:
            return mapping[u]
        if not u.args:
            return u
        got = memo.get(u)
        if got is None:
            args = tuple(go(a) for a in u.args)
            got = memo[u] = u if args == u.args else Term(u.op, u.ty, args, u.value)
        return got

    return go(t)


# ---------------------------------------------------------------- meaning


def evaluate(
    t: Term,
    D: Any,  # a semantics.Domain, or one with only its bit-vector ops (superopt's NumpyDomain)
    env: Mapping[str, Any],
    load: Callable[[str, Any, ir.Scalar], Any] | None = None,
    memo: dict[Term, Any] | None = None,
) -> Any:
    """The value of `t` over domain D.  `env` maps variable names to domain
    values; `load(array, index_value, elem_type)` reads an array."""
    memo = {} if memo is None else memo
    if t in memo:
        return memo[t]
    op, ty = t.op, t.ty
    if op == "var":
        v = env[t.value]
    elif op == "const":
        if ty.is_float:
            v = D.fconst(ty.bits, float.fromhex(t.value))
        else:
            v = D.bool(t.value) if ty.is_bool else D.const(ty.bits, t.value)
    else:
        a = [evaluate(x, D, env, load, memo) for x in t.args]
        if op == "load":
            if load is None:
                raise ValueError(f"a load of {t.value} where no array can be read")
            v = load(t.value, a[0], ty)
        elif op == "neg":
            v = sem.neg(D, ty, a[0])
        elif op == "not":
            v = sem.bitnot(D, ty, a[0])
        elif op == "cast":
            v = sem.cast(D, t.args[0].ty, ty, a[0])
        elif op in COMPARES:
            v = sem.compare(D, t.args[0].ty, op, a[0], a[1])
        elif op == "shl":
            v = sem.shl(D, ty, t.args[1].ty, a[0], a[1])
        elif op == "shr":
            v = sem.shr(D, ty, t.args[1].ty, a[0], a[1])
        elif op == "land":
            v = D.band(a[0], a[1])
        elif op == "lor":
            v = D.bor(a[0], a[1])
        elif op in sem.BINARY:
            v = sem.BINARY[op](D, ty, a[0], a[1])
        elif op in sem.PRIMITIVES:
            fn, shape = sem.PRIMITIVES[op]
            if shape == "select":
                v = fn(D, ty, *a)
            elif shape == "shift":
                v = fn(D, t.args[0].ty, t.args[1].ty, *a)
            else:
                v = fn(D, t.args[0].ty, *a)
        else:
            raise ValueError(f"unknown term operator {op!r}")
    memo[t] = v
    return v


# ---------------------------------------------------------------- IR <-> terms


def from_expr(e: ir.Expr, env: dict[str, Term]) -> Term | None:
    """An IR expression as a term, with local variables replaced by the terms
    they hold (`env`; names not in env stay variables).  None when the
    expression calls a function (calls may write arrays: they stay statements)."""
    if isinstance(e, ir.Const):
        return const(e.value, e.ty)
    if isinstance(e, ir.Var):
        return env.get(e.name) or var(e.name, e.ty)
    if isinstance(e, ir.Call):
        return None
    found = [from_expr(c, env) for c in ir.children(e)]
    kids = [k for k in found if k is not None]
    if len(kids) < len(found):
        return None
    if isinstance(e, ir.Load):
        return Term("load", e.ty, tuple(kids), e.array)
    if isinstance(e, ir.Unary):
        return Term(e.op, e.ty, tuple(kids))
    if isinstance(e, ir.Binary):
        return Term(e.op, e.ty, tuple(kids))
    if isinstance(e, ir.Cast):
        return Term("cast", e.ty, tuple(kids))
    if isinstance(e, ir.Prim):
        return Term(e.name, e.ty, tuple(kids))
    raise TypeError(f"not an expression: {e!r}")


def to_expr(t: Term) -> ir.Expr:
    """A term back as an IR expression."""
    if t.op == "var":
        return ir.Var(t.value, t.ty)
    if t.op == "const":
        return ir.Const(float.fromhex(t.value) if t.ty.is_float else t.value, t.ty)
    args = tuple(to_expr(a) for a in t.args)
    if t.op == "load":
        return ir.Load(t.value, args[0], t.ty)
    if t.op in ("neg", "not"):
        return ir.Unary(t.op, args[0], t.ty)
    if t.op == "cast":
        return ir.Cast(args[0], t.ty)
    if t.op in ir.ARITH + ir.BITWISE + ir.SHIFTS + ir.COMPARE + ir.LOGIC:
        return ir.Binary(t.op, args[0], args[1], t.ty)
    return ir.Prim(t.op, args, t.ty)


def pretty(t: Term, memo: dict[Term, str] | None = None) -> str:
    """Intent syntax.  The printing is compositional (every operator writes
    its own parentheses), so each distinct subterm is printed once and its
    text reused: `memo` may be shared between calls on terms with common
    parts."""
    memo = {} if memo is None else memo

    def text(u: Term) -> str:
        s = memo.get(u)
        if s is None and u.op == "reduce":  # a fold over its placeholders ($i, $acc)
            lo, hi, init, body = (text(a) for a in u.args)
            s = memo[u] = f"fold($i in {lo}..{hi}, $acc = {init}: {body})"
        elif s is None and u.op == "until":  # a while loop over its placeholders ($v, $acc)
            v0, a0, cond, step, update = (text(a) for a in u.args)
            s = memo[u] = f"until($v = {v0}, $acc = {a0} while {cond}: $acc = {update}; $v = {step})"
        elif s is None and u.op == "trip":
            s = memo[u] = f"trips({text(u.args[0])}..{text(u.args[1])})"
        if s is None:
            if u.args:  # the operands as variables named by their text
                u2 = Term(u.op, u.ty, tuple(Term("var", a.ty, (), text(a)) for a in u.args), u.value)
                s = ir.pretty_expr(to_expr(u2))
            else:
                s = ir.pretty_expr(to_expr(u))
            memo[u] = s
        return s

    return text(t)


def pretty_lets(t: Term) -> str:
    """`t` in intent syntax, each operation it reads more than once named by
    a `let` first, as the program computes it: once.  A program found as a
    DAG (a reversal's stages each read the last twice) reads at its real
    length, where the tree's text doubles with every reuse."""
    reads: dict[Term, int] = {}
    for u in subterms(t):
        for a in u.args:
            reads[a] = reads.get(a, 0) + 1
    taken = {u.value for u in subterms(t) if u.op == "var"}
    names = (n for k in range(len(reads) + len(taken) + 1) if (n := f"v{k}") not in taken)
    named: dict[Term, Term] = {}
    lets = []
    for u in subterms(t):  # children first, so a let reads only the names before it
        if u is t or not u.args or u.op == "cast" or reads.get(u, 0) < 2:
            continue
        body = Term(u.op, u.ty, tuple(replace_subterms(a, named) for a in u.args), u.value)
        named[u] = Term("var", u.ty, (), next(names))
        lets.append(f"let {named[u].value} = {pretty(body)}; ")
    return "".join(lets) + pretty(replace_subterms(t, named))


# ---------------------------------------------------------------- constants

_PY = sem.PyDomain()


def fold(t: Term) -> Term:
    """`t` with every subterm whose leaves are all constants replaced by its
    value (by the Python domain: the definitions the proofs use)."""
    if not t.args:
        return t
    args = tuple(fold(a) for a in t.args)
    t = Term(t.op, t.ty, args, t.value) if args != t.args else t
    if t.op == "load" or not all(a.op == "const" for a in args):
        return t  # a load reads an array: never a constant
    with np.errstate(all="ignore"):
        v = evaluate(t, _PY, {})
    return const(float(v) if t.ty.is_float else v, t.ty)


# An int, a float or a bool; Any because callers (atlas/logic/flatten.py)
# take a loop bound's value as an int from the constant's type.
def natural_value(c: Term) -> int | float | bool:
    """A constant's natural Python value: signed ints negative, floats as floats."""
    if c.ty.is_bool:
        return bool(c.value)
    if c.ty.is_float:
        return float.fromhex(c.value)
    v = int(c.value)
    return v - (1 << c.ty.bits) if c.ty.signed and v >> (c.ty.bits - 1) else v
