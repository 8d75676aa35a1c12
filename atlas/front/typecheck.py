"""The type checker of functions: AST -> typed IR (the check stage,
atlas/front/check.py, runs it and then checks the device descriptions).

Types every expression (Atlas never converts implicitly: both operands of an
operator have one type, and an unsuffixed literal takes the type its context
needs), resolves names to unique locals, checks calls against signatures and
array-length contracts, names every hardware fact, and makes sure every path
of a function with a result returns one.  Every error is an AtlasError at the
offending span.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import yaml

from ..meaning import ir
from . import control, facts
from .diagnostics import AtlasError
from ..meaning.ir import BOOL, F64, I32, U64, Scalar, Span
from .syntax import (
    ArrayTypeA,
    AssignA,
    BinOp,
    BoolLit,
    CallA,
    CallStmtA,
    CastA,
    ForA,
    FuncA,
    HwBinA,
    HwFactA,
    HwNotA,
    IfA,
    IfExprA,
    Index,
    JumpA,
    LetArrayA,
    LetA,
    Name,
    Num,
    ReturnA,
    StoreA,
    TypeName,
    UnOp,
    WhenA,
    WhileA,
)


@lru_cache(maxsize=1)
def primitives() -> dict:
    """The built-in primitives' signatures (primitives/core.yaml)."""
    return yaml.safe_load(files("atlas.primitives").joinpath("core.yaml").read_text())


def scalar_type(t: TypeName) -> Scalar:
    if t.name in ir.SCALARS:
        return ir.SCALARS[t.name]
    raise AtlasError(t.span, f"unknown type '{t.name}'", note="the scalar types are " + ", ".join(ir.SCALARS))


# ---------------------------------------------------------------- scopes


@dataclass
class _Binding:
    unique: str
    ty: Scalar | ir.Array
    kind: str  # 'param', 'local', 'loop', 'array'

    # The checker looks at `kind` before it reads either.
    @property
    def scalar(self) -> Scalar:
        assert isinstance(self.ty, Scalar), self
        return self.ty

    @property
    def arr(self) -> ir.Array:
        assert isinstance(self.ty, ir.Array), self
        return self.ty


class _Scopes:
    def __init__(self):
        self.frames: list[dict[str, _Binding]] = [{}]
        self.used: set[str] = set()

    def push(self):
        self.frames.append({})

    def pop(self):
        self.frames.pop()

    def lookup(self, name: str) -> _Binding | None:
        for frame in reversed(self.frames):
            if name in frame:
                return frame[name]
        return None

    def fresh(self, base: str) -> str:
        """A unique local name no source can write (it holds a dot)."""
        n = 1
        while f"{base}.{n}" in self.used:
            n += 1
        self.used.add(f"{base}.{n}")
        return f"{base}.{n}"

    def declare(self, name: str, ty, kind: str) -> str:
        unique, n = name, 0
        while unique in self.used:  # a shadowing local gets a fresh name
            n += 1
            unique = f"{name}.{n}"
        self.used.add(unique)
        self.frames[-1][name] = _Binding(unique, ty, kind)
        return unique


def _is_untyped(e) -> bool:
    """A literal without a suffix (possibly negated or parenthesised): its
    type comes from its context."""
    if isinstance(e, Num):
        return e.suffix is None
    if isinstance(e, UnOp) and e.op in ("neg", "bnot", "not"):
        return _is_untyped(e.a)
    if isinstance(e, BinOp) and e.op in ir.ARITH + ir.BITWISE + ir.SHIFTS:
        return _is_untyped(e.a) and _is_untyped(e.b)
    return False


_COMPOUND = {
    "+=": "add",
    "-=": "sub",
    "*=": "mul",
    "/=": "div",
    "%=": "rem",
    "&=": "and",
    "|=": "or",
    "^=": "xor",
    "<<=": "shl",
    ">>=": "shr",
}

_SYM = ir.BINARY_SYMBOL

# Local arrays live on the stack of the call: at most this many bytes of
# them per function (a call chain holds one function's worth per level).
LOCAL_ARRAY_BYTES = 65536


# ---------------------------------------------------------------- the checker


class FunctionChecker:
    def __init__(self, sigs: dict[str, ir.Function], f: FuncA, fn: ir.Function):
        self.sigs = sigs
        self.f = f
        self.fn = fn
        self.scopes = _Scopes()
        self.calls: list[tuple[str, Span]] = []
        self.loops: list[control.Loop] = []  # innermost last
        self.local_bytes = 0  # of the local arrays declared so far
        for p in fn.params:
            kind = "array" if isinstance(p.ty, ir.Array) else "param"
            self.scopes.declare(p.name, p.ty, kind)

    # -- expressions ------------------------------------------------
    def expr(self, e, want: Scalar | None = None):
        """Type `e`; `want` is the type the context needs (None: any).  The
        result has type `want` when given, or an error says why not."""
        out = self._expr(e, want)
        if want is not None and out.ty != want:
            raise AtlasError(
                e.span,
                f"expected a value of type {want}, found {out.ty}",
                note=f"Atlas never converts implicitly; write `... as {want}`"
                if out.ty.kind != "bool" and want.kind != "bool"
                else None,
            )
        return out

    def _expr(self, e, want):
        if isinstance(e, _Typed):
            return e.node
        if isinstance(e, Num):
            return self.literal(e, want)
        if isinstance(e, BoolLit):
            return ir.Const(e.value, BOOL, e.span)
        if isinstance(e, Name):
            return self.name(e)
        if isinstance(e, Index):
            return self.index(e)
        if isinstance(e, CallA):
            return self.call(e, want, as_value=True)
        if isinstance(e, UnOp):
            return self.unary(e, want)
        if isinstance(e, BinOp):
            return self.binary(e, want)
        if isinstance(e, CastA):
            to = scalar_type(e.to)
            inner = self.expr(e.a, to if _is_untyped(e.a) else None)
            return ir.Cast(inner, to, e.span)
        if isinstance(e, IfExprA):
            v = self.value(e, want)
            if isinstance(v, control.Branch):
                raise AtlasError(
                    e.span,
                    "a conditional expression whose arms call a function must be the whole value "
                    "of a `let`, an assignment, an element's store or a `return`",
                    note="only the arm the condition picks may run; give the value a name first: "
                    "`let v = if c { f(x) } else { y };`",
                )
            return v
        raise AtlasError(getattr(e, "span", None), f"not an expression: {type(e).__name__}")

    def literal(self, e: Num, want, negated: bool = False):
        ty = ir.SCALARS[e.suffix] if e.suffix else want
        if ty is None or ty.is_bool:
            if ty is not None and ty.is_bool:
                raise AtlasError(e.span, f"expected a bool, found the number {e.text}")
            ty = F64 if e.is_float else I32
        if e.is_float:
            if not ty.is_float:
                raise AtlasError(e.span, f"expected a value of type {ty}, found the float literal {e.text}")
            return ir.Const(float(_round_float(e.value, ty)), ty, e.span)
        if ty.is_float:
            return ir.Const(float(_round_float(float(e.value), ty)), ty, e.span)
        limit = ty.mask if (not ty.signed or e.hex_or_bin) else (1 << (ty.bits - 1)) - (0 if negated else 1)
        if e.value > limit:
            raise AtlasError(e.span, f"the literal {e.text} does not fit in {ty}", note=f"{ty} holds {_range_text(ty)}")
        return ir.Const(int(e.value) & ty.mask, ty, e.span)

    def name(self, e: Name):
        b = self.scopes.lookup(e.id)
        if b is None:
            raise AtlasError(e.span, f"unknown name '{e.id}'", note=self._did_you_mean(e.id))
        if b.kind == "array":
            raise AtlasError(e.span, f"'{e.id}' is an array; index it (`{e.id}[i]`) or pass it to a call")
        return ir.Var(b.unique, b.scalar, e.span)

    def _did_you_mean(self, name: str) -> str | None:
        names = [n for frame in self.scopes.frames for n in frame]
        close = difflib.get_close_matches(name, names, n=1)
        return f"did you mean '{close[0]}'?" if close else None

    def array(self, name: str, span: Span) -> _Binding:
        b = self.scopes.lookup(name)
        if b is None:
            raise AtlasError(span, f"unknown array '{name}'", note=self._did_you_mean(name))
        if b.kind != "array":
            raise AtlasError(span, f"'{name}' is a {b.ty} value, not an array")
        return b

    def index_expr(self, e):
        idx = self.expr(e, U64 if _is_untyped(e) else None)
        if not idx.ty.is_int:
            raise AtlasError(e.span, f"an array index must be an integer, found {idx.ty}")
        return idx

    def index(self, e: Index):
        b = self.array(e.array, e.name_span)
        return ir.Load(b.unique, self.index_expr(e.index), b.arr.elem, e.span)

    def unary(self, e: UnOp, want):
        if e.op == "neg" and isinstance(e.a, Num):  # -128i8 is a literal, not 128i8 negated
            a = self.literal(e.a, want, negated=True)
        else:
            a = self.expr(e.a, want if _is_untyped(e.a) else None)
        t = a.ty
        if e.op == "neg":
            if t.is_bool:
                raise AtlasError(e.span, "cannot negate a bool; use `!`")
            if isinstance(a, ir.Const) and isinstance(e.a, Num):
                v = -a.value if t.is_float else (-a.value) & t.mask
                return ir.Const(v, t, e.span)
            return ir.Unary("neg", a, t, e.span)
        if e.op == "bnot" and not t.is_int:
            raise AtlasError(e.span, f"`~` needs an integer, found {t}")
        if e.op == "not" and t.is_float:
            raise AtlasError(e.span, f"`!` needs a bool or an integer, found {t}")
        return ir.Unary("not", a, t, e.span)

    def operands(self, e: BinOp, want):
        """Both operands with one type: an untyped literal takes the other's."""
        if _is_untyped(e.a) and not _is_untyped(e.b):
            b = self.expr(e.b, want)
            a = self.expr(e.a, b.ty)
        else:
            a = self.expr(e.a, want)
            b = self._expr(e.b, a.ty)
        if a.ty != b.ty:
            raise AtlasError(
                e.op_span if e.op_span.line else e.span,
                f"mismatched types: {a.ty} {_SYM[e.op]} {b.ty}",
                note=f"both operands of `{_SYM[e.op]}` must have one type; "
                f"Atlas never converts implicitly (write `... as {a.ty}`)",
            )
        return a, b

    def binary(self, e: BinOp, want):
        op = e.op
        if op in ("land", "lor"):
            a, b = self.expr(e.a, BOOL), self.expr(e.b, BOOL)
            return ir.Binary(op, a, b, BOOL, e.span)
        if op in ir.COMPARE:
            a, b = self.operands(e, None)
            return ir.Binary(op, a, b, BOOL, e.span)
        if op in ir.SHIFTS:
            a = self.expr(e.a, want)
            if not a.ty.is_int:
                raise AtlasError(e.a.span, f"`{_SYM[op]}` shifts an integer, found {a.ty}")
            s = self.expr(e.b, a.ty if _is_untyped(e.b) else None)
            if not s.ty.is_int:
                raise AtlasError(e.b.span, f"a shift count must be an integer, found {s.ty}")
            return ir.Binary(op, a, s, a.ty, e.span)
        a, b = self.operands(e, want)
        t = a.ty
        if op in ir.BITWISE and t.is_float:
            raise AtlasError(e.span, f"`{_SYM[op]}` needs integers or bools, found {t}")
        if op in ir.ARITH and t.is_bool:
            raise AtlasError(e.span, f"`{_SYM[op]}` needs numbers, found bool")
        if op == "rem" and t.is_float:
            raise AtlasError(e.span, f"`%` needs integers, found {t}", note="`%` is defined on integers only")
        return ir.Binary(op, a, b, t, e.span)

    # -- calls --------------------------------------------------------
    def call(self, e: CallA, want, as_value: bool):
        if e.func == "len":
            if len(e.args) != 1 or not isinstance(e.args[0], Name):
                raise AtlasError(e.span, "len takes one array: `len(x)`")
            b = self.array(e.args[0].id, e.args[0].span)
            length = b.arr.length
            return length if length.ty == U64 else ir.Cast(length, U64, e.span)
        if e.func in primitives():
            return self.prim(e, want)
        if e.func not in self.sigs:
            close = difflib.get_close_matches(e.func, [*self.sigs, *primitives(), "len"], n=1)
            raise AtlasError(
                e.name_span,
                f"unknown function '{e.func}'",
                note=(f"did you mean '{close[0]}'? " if close else "")
                + "the built-in primitives are "
                + ", ".join(sorted(primitives()))
                + ", len",
            )
        callee = self.sigs[e.func]
        self.calls.append((e.func, e.name_span))
        if len(e.args) != len(callee.params):
            raise AtlasError(
                e.span, f"{e.func} takes {len(callee.params)} argument(s), found {len(e.args)}", note=callee.signature
            )
        if as_value and callee.ret is None:
            raise AtlasError(e.span, f"{e.func} returns no value")
        args: list = []
        subst = {}
        for p, a in zip(callee.params, e.args):
            if isinstance(p.ty, ir.Array):
                args.append(None)
                continue
            v = self.expr(a, p.ty)
            subst[p.name] = v
            args.append(v)
        passed: dict[str, bool] = {}  # array -> whether a callee writes it
        for i, (p, a) in enumerate(zip(callee.params, e.args)):
            if isinstance(p.ty, ir.Array):
                args[i] = self.array_arg(e.func, p, a, subst, passed)
        return ir.Call(e.func, tuple(args), callee.ret, e.span)

    def array_arg(self, func: str, p: ir.Param, a, subst: dict, passed: dict[str, bool]) -> ir.ArrayRef:
        """The array passed as parameter p: by name, of p's element type,
        writable where p is written, of p's length, not passed twice where
        written."""
        assert isinstance(p.ty, ir.Array)
        if not isinstance(a, Name):
            raise AtlasError(a.span, f"parameter '{p.name}' of {func} is an array; pass an array by name")
        b = self.array(a.id, a.span)
        if b.arr.elem != p.ty.elem:
            raise AtlasError(a.span, f"'{a.id}' holds {b.arr.elem}, {func} expects [{p.ty.elem}]")
        if p.ty.mutable and not b.arr.mutable:
            raise AtlasError(
                a.span,
                f"{func} writes '{p.name}', but '{a.id}' is read-only here",
                note=f"declare it `mut [{b.arr.elem}; ...]`",
            )
        want_len = _substitute(p.ty.length, subst)
        if not _same_length(want_len, b.arr.length):
            raise AtlasError(
                a.span,
                f"'{a.id}' has length {ir.pretty_expr(b.arr.length)}, {func} expects length {ir.pretty_expr(want_len)}",
                note="array lengths must match exactly at a call",
            )
        if a.id in passed and (passed[a.id] or p.ty.mutable):
            raise AtlasError(a.span, f"'{a.id}' is passed twice and written: arrays must not overlap")
        passed[a.id] = passed.get(a.id, False) or p.ty.mutable
        return ir.ArrayRef(b.unique, b.arr, a.span)

    def prim(self, e: CallA, want):
        spec = primitives()[e.func]
        params = spec["params"]
        if len(e.args) != len(params):
            raise AtlasError(e.span, f"{e.func} takes {len(params)} argument(s), found {len(e.args)}")
        # The first argument of kind T fixes T; untyped literals follow it.
        t_want = None
        if spec["result"] == "T" and want is not None:
            t_want = want
        order = sorted(range(len(params)), key=lambda i: (params[i] != "T", _is_untyped(e.args[i])))
        args: list = [None] * len(params)
        t = None
        for i in order:
            kind, a = params[i], e.args[i]
            if kind == "bool":
                args[i] = self.expr(a, BOOL)
            elif kind == "anyint":
                v = self.expr(a, (t or U64) if _is_untyped(a) else None)
                if not v.ty.is_int:
                    raise AtlasError(a.span, f"{e.func}: the count must be an integer, found {v.ty}")
                args[i] = v
            else:
                v = self.expr(a, t if t is not None else t_want)
                t = v.ty
                args[i] = v
        assert t is not None, "every primitive has an argument of its type T"
        self._check_kind(e, spec, t)
        if spec["result"] == "T":
            ret = t
        else:  # 'wide T'
            ret = Scalar(t.kind, 2 * t.bits)
        return ir.Prim(e.func, tuple(args), ret, e.span)

    @staticmethod
    def _check_kind(e, spec, t: Scalar):
        kind = spec["T"]
        ok = {"int": t.is_int, "float": t.is_float, "num": t.is_int or t.is_float, "scalar": True}[kind]
        if ok and "min_bits" in spec:
            ok = t.bits >= spec["min_bits"]
        if ok and "max_bits" in spec:
            ok = t.bits <= spec["max_bits"]
        if not ok:
            what = {"int": "an integer", "float": "a float", "num": "a number", "scalar": "a scalar"}[kind]
            if "min_bits" in spec:
                what += f" of at least {spec['min_bits']} bits"
            if "max_bits" in spec:
                what += f" of at most {spec['max_bits']} bits"
            raise AtlasError(e.span, f"{e.func} needs {what}, found {t}", note=spec.get("doc"))

    def value(self, e, want) -> control.Value:
        """Type `e`, a conditional expression whose arms call a function
        left as a control.Branch for the statement to spell out."""
        if not isinstance(e, IfExprA):
            return self.expr(e, want)
        cond = self.condition(e.cond, "if")
        # Type a typed arm first, so that a literal in the other takes its type.
        flip = _is_untyped(e.then) and not _is_untyped(e.other)
        first = self.value(e.other if flip else e.then, want)
        second = self.value(e.then if flip else e.other, want or first.ty)
        then, other = (second, first) if flip else (first, second)
        return control.choose(cond, then, other, e.span)

    # -- statements ---------------------------------------------------
    def block(self, stmts) -> tuple:
        self.scopes.push()
        try:
            return tuple(self.seq(stmts))
        finally:
            self.scopes.pop()

    def seq(self, stmts) -> list:
        """A statement list in the current scope; what follows a statement
        that may jump runs only if it did not (atlas/front/control.py)."""
        out: list = []
        for k, s in enumerate(stmts):
            rest = stmts[k + 1 :]
            if isinstance(s, JumpA):
                out += self.jump(s)
                self.seq(rest)  # unreachable: checked, then dropped
                return out
            if rest and self.loops and control.may_jump(s):
                return out + self.guarded(s, rest)
            out += self.stmt(s)
        return out

    def guarded(self, s, rest) -> list:
        """s, which may jump, then `rest` only where it did not."""
        if isinstance(s, IfA) and (control.leaves(s.then) or control.leaves(s.else_)):
            cond = self.condition(s.cond, "if")
            then, other = self.block(s.then), self.block(s.else_)
            # `rest` goes into the arm that falls through, checked in this
            # scope (the arm's own names are out of sight, as in the source).
            if control.leaves(s.then) and not control.may_jump(IfA(s.cond, (), s.else_, s.span)):
                return [ir.If(cond, then, other + tuple(self.seq(rest)), s.span)]
            if control.leaves(s.else_) and not control.may_jump(IfA(s.cond, s.then, (), s.span)):
                return [ir.If(cond, then + tuple(self.seq(rest)), other, s.span)]
            first = [ir.If(cond, then, other, s.span)]
        else:
            first = self.stmt(s)
        left = self.loops[-1].left
        return first + [ir.If(control.not_(left, s.span), tuple(self.seq(rest)), (), s.span)]

    def jump(self, s: JumpA) -> list:
        if not self.loops:
            raise AtlasError(
                s.span,
                f"`{s.kind}` outside a loop",
                note=f"`{s.kind}` belongs in the body of a `for` or a `while`"
                + ("; to leave the function, `return`" if s.kind == "break" else ""),
            )
        return control.jump(self.loops[-1], s.kind, s.span)

    def loop(self, keyword: str, body) -> control.Loop:
        """The flags of a loop about to be checked (fresh names nobody can write)."""
        broke = self.scopes.fresh("loop.broke") if control.holds_break(body) else None
        return control.Loop(self.scopes.fresh("loop.left"), broke, keyword)

    def stmt(self, s) -> list:
        if isinstance(s, LetA):
            return self.let(s)
        if isinstance(s, LetArrayA):
            return [self.let_array(s)]
        if isinstance(s, AssignA):
            return self.assign(s)
        if isinstance(s, StoreA):
            return self.store(s)
        if isinstance(s, IfA):
            cond = self.condition(s.cond, "if")
            return [ir.If(cond, self.block(s.then), self.block(s.else_), s.span)]
        if isinstance(s, WhileA):
            cond = self.condition(s.cond, "while")
            loop = self.loop("while", s.body)
            return control.while_(loop, cond, self.loop_body(loop, s.body), s.span)
        if isinstance(s, ForA):
            return self.for_(s)
        if isinstance(s, ReturnA):
            return self.return_(s)
        if isinstance(s, CallStmtA):
            return [ir.ExprStmt(self.call(s.call, None, as_value=False), s.span)]
        if isinstance(s, WhenA):
            cond = self.hw(s.cond)
            return [ir.When(cond, self.block(s.then), self.block(s.else_), s.span)]
        raise AtlasError(getattr(s, "span", None), f"not a statement: {type(s).__name__}")

    def let(self, s: LetA) -> list:
        ty = scalar_type(s.ty) if s.ty is not None else None
        v = self.value(s.init, ty)
        vty = control.ty_of(v)
        unique = self.scopes.declare(s.name, vty, "local")
        if isinstance(v, control.Branch):
            assign = lambda x: ir.Assign(unique, x, s.span)  # noqa: E731
            return [ir.Let(unique, vty, control.zero(vty, s.span), s.span), *control.emit(v, assign)]
        return [ir.Let(unique, vty, v, s.span)]

    def assign(self, s: AssignA) -> list:
        b = self.scopes.lookup(s.name)
        if b is None:
            raise AtlasError(
                s.name_span,
                f"unknown name '{s.name}'",
                note=self._did_you_mean(s.name) or f"declare it with `let {s.name} = ...;`",
            )
        if b.kind != "local":
            what = {"param": "parameter", "loop": "loop variable", "array": "array"}[b.kind]
            raise AtlasError(
                s.name_span,
                f"cannot assign to {what} '{s.name}'",
                note="parameters and loop variables are immutable; copy into a `let`"
                if b.kind != "array"
                else f"assign an element: `{s.name}[i] = ...`",
            )
        if s.op == "=":
            target = b.unique
            return control.emit(self.value(s.value, b.scalar), lambda x: ir.Assign(target, x, s.span))
        value = self.compound(s, ir.Var(b.unique, b.scalar, s.name_span), b.scalar)
        return [ir.Assign(b.unique, value, s.span)]

    def store(self, s: StoreA) -> list:
        b = self.array(s.array, s.name_span)
        if not b.arr.mutable:
            raise AtlasError(
                s.name_span,
                f"cannot write to '{s.array}': it is read-only",
                note=f"declare the parameter `{s.array}: mut [{b.arr.elem}; ...]`",
            )
        idx = self.index_expr(s.index)
        if s.op == "=":
            v = self.value(s.value, b.arr.elem)
            if isinstance(v, control.Branch):  # the index first, as a store computes it
                at = self.scopes.fresh("store.at")
                where = ir.Var(at, idx.ty, s.span)
                store = lambda x: ir.Store(b.unique, where, x, s.span)  # noqa: E731
                return [ir.Let(at, idx.ty, idx, s.span), *control.emit(v, store)]
            return [ir.Store(b.unique, idx, v, s.span)]
        value = self.compound(s, ir.Load(b.unique, idx, b.arr.elem, s.span), b.arr.elem)
        return [ir.Store(b.unique, idx, value, s.span)]

    def let_array(self, s: LetArrayA) -> ir.LetArray:
        elem = scalar_type(s.elem) if s.elem is not None else None
        init = self.expr(s.init, elem)
        n = int(s.length.value)
        if s.length.is_float or s.length.suffix is not None or not 1 <= n <= LOCAL_ARRAY_BYTES:
            raise AtlasError(
                s.length.span,
                f"a local array's length is a whole number from 1 to {LOCAL_ARRAY_BYTES}, without a suffix",
                note=f"write `let {s.name} = [0u32; 16];`",
            )
        if s.declared is not None and s.declared.value != n:
            raise AtlasError(
                s.length.span,
                f"the type says {s.declared.value} elements, the value has {n}",
                note=f"`[{init.ty}; {n}]`",
            )
        self.local_bytes += n * max(1, init.ty.bits // 8)
        if self.local_bytes > LOCAL_ARRAY_BYTES:
            raise AtlasError(
                s.span,
                f"the local arrays of {self.fn.name} take more than {LOCAL_ARRAY_BYTES} bytes",
                note="they live on the call's stack; pass a larger array as a `mut` parameter",
            )
        unique = self.scopes.declare(s.name, ir.Array(init.ty, ir.Const(n, U64, s.length.span), True), "array")
        return ir.LetArray(unique, init.ty, n, init, s.span)

    def condition(self, e, keyword: str):
        """The condition of an `if` or `while`: a bool, never a number."""
        cond = self._expr(e, BOOL)
        if cond.ty != BOOL:
            raise AtlasError(
                e.span,
                f"the condition of `{keyword}` must be a bool, found {cond.ty}",
                note="Atlas does not treat numbers as truth values; compare, e.g. `x != 0`" if cond.ty.is_int else None,
            )
        return cond

    def precondition(self, e) -> ir.Expr:
        """`requires COND`: a bool over the scalar parameters alone (the
        runtime checks it before a call, with no memory to read)."""
        for node in _subexpressions(e):
            if isinstance(node, IfExprA):
                raise AtlasError(
                    node.span, "a precondition cannot hold a conditional expression; write it with && and ||"
                )
        cond = self._expr(e, BOOL)
        if cond.ty != BOOL:
            raise AtlasError(e.span, f"a precondition must be a bool, found {cond.ty}")
        for node in ir.walk(cond):
            if isinstance(node, (ir.Load, ir.Call)):
                what = "an array element" if isinstance(node, ir.Load) else f"a call of {node.func}"
                raise AtlasError(
                    node.span if node.span is not ir.NOSPAN else e.span,
                    f"a precondition may read only the scalar parameters, not {what}",
                )
        return cond

    def compound(self, s, current, ty: Scalar):
        if s.op == "=":
            return self.expr(s.value, ty)
        op = _COMPOUND[s.op]
        rhs = BinOp(op, _Typed(current), s.value, s.span, s.span)  # type: ignore[arg-type]  # a checked operand
        return self.expr(rhs, ty)

    def for_(self, s: ForA) -> list:
        if _is_untyped(s.lo) and not _is_untyped(s.hi):
            hi = self.expr(s.hi)
            lo = self.expr(s.lo, hi.ty)
        else:
            lo = self.expr(s.lo)
            hi = self.expr(s.hi, lo.ty)
        if not lo.ty.is_int:
            raise AtlasError(s.lo.span, f"a for loop counts over integers, found {lo.ty}")
        loop = self.loop("for", s.body)
        self.scopes.push()
        try:
            var = self.scopes.declare(s.var, lo.ty, "loop")
            body = self.loop_body(loop, s.body, scope=False)
        finally:
            self.scopes.pop()
        end = self.scopes.fresh("loop.end")
        return control.for_(loop, control.Counted(var, lo.ty, lo, hi, end), body, s.span)

    def loop_body(self, loop: control.Loop, stmts, scope: bool = True) -> tuple:
        self.loops.append(loop)
        try:
            return self.block(stmts) if scope else tuple(self.seq(stmts))
        finally:
            self.loops.pop()

    def return_(self, s: ReturnA) -> list:
        ret = self.fn.ret
        if s.value is None:
            if ret is not None:
                raise AtlasError(s.span, f"{self.fn.name} must return a value of type {ret}")
            return [ir.Return(None, s.span)]
        if ret is None:
            raise AtlasError(
                s.value.span,
                f"{self.fn.name} returns no value",
                note=f"declare the result type: `fn {self.fn.name}(...) -> T`",
            )
        return control.emit(self.value(s.value, ret), lambda x: ir.Return(x, s.span))

    # -- hardware conditions -----------------------------------------
    def hw(self, c):
        if isinstance(c, HwNotA):
            return ir.FactNot(self.hw(c.a), c.span)
        if isinstance(c, HwBinA):
            return ir.FactBin(c.op, self.hw(c.a), self.hw(c.b), c.span)
        assert isinstance(c, HwFactA)
        kind = facts.fact_type(c.path)
        if kind is None:
            close = difflib.get_close_matches(c.path, facts.known_facts(), n=1)
            raise AtlasError(
                c.span,
                f"unknown hardware fact 'hw.{c.path}'",
                note=(f"did you mean 'hw.{close[0]}'? " if close else "")
                + "facts are hw.cpu.<feature flag> or one of: "
                + ", ".join("hw." + k for k in sorted(facts.FACTS)),
            )
        name = c.path.split(".", 1)[1]
        if kind == "bool" and c.path not in facts.FACTS and not facts.is_known_flag(name):
            close = difflib.get_close_matches(c.path, facts.known_facts(), n=1)
            raise AtlasError(
                c.span,
                f"unknown CPU feature flag '{name}' in 'hw.{c.path}'",
                note=(f"did you mean 'hw.{close[0]}'? " if close else "")
                + "feature flags use the names of /proc/cpuinfo (popcnt, avx2, bmi2, abm, ...)",
            )
        op, value = c.op, c.value
        if op is None:
            if kind != "bool":
                example = "> 0" if kind == "int" else '== "..."'
                raise AtlasError(
                    c.span, f"hw.{c.path} is {_KIND_WORDS[kind]}; compare it, e.g. `hw.{c.path} {example}`"
                )
            op, value = "eq", True
        want = {"bool": bool, "int": int, "str": str}[kind]
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise AtlasError(
                c.span,
                f"hw.{c.path} is {_KIND_WORDS[kind]}; it cannot be compared with {_hw_literal(value)}",
                note=f"test it bare: `when hw.{c.path} {{ ... }}` or `when !hw.{c.path} {{ ... }}`"
                if kind == "bool"
                else None,
            )
        if kind in ("bool", "str") and op not in ("eq", "ne"):
            raise AtlasError(c.span, f"hw.{c.path} is {_KIND_WORDS[kind]}; only `==` and `!=` apply")
        return ir.Fact(c.path, op, value, c.span)


@dataclass(frozen=True)
class _Typed:
    """An already-typed IR expression inside an AST (for compound assignment)."""

    node: object

    @property
    def span(self):
        return self.node.span


def _same_length(want: ir.Expr, have: ir.Expr) -> bool:
    """The same length expression, or two constants of one value (a local
    array's `[T; 4]` is 4 whichever integer type the callee's length has)."""
    if want == have:
        return True
    if not (isinstance(want, ir.Const) and isinstance(have, ir.Const)):
        return False
    return _value(want) == _value(have) >= 0


def _value(c: ir.Const) -> int:
    v = int(c.value)
    return v - (1 << c.ty.bits) if c.ty.signed and v >> (c.ty.bits - 1) else v


def _substitute(e, subst: dict):
    """Replace parameter Vars in a callee's length expression by the caller's arguments."""
    if isinstance(e, ir.Var):
        return subst.get(e.name, e)
    if isinstance(e, ir.Unary):
        return ir.Unary(e.op, _substitute(e.a, subst), e.ty, e.span)
    if isinstance(e, ir.Binary):
        return ir.Binary(e.op, _substitute(e.a, subst), _substitute(e.b, subst), e.ty, e.span)
    if isinstance(e, ir.Cast):
        return ir.Cast(_substitute(e.a, subst), e.ty, e.span)
    return e


def _round_float(v: float, ty: Scalar):
    import numpy as np

    return np.float32(v) if ty.bits == 32 else np.float64(v)


def _range_text(ty: Scalar) -> str:
    if ty.signed:
        return f"{-(1 << (ty.bits - 1))} to {(1 << (ty.bits - 1)) - 1}"
    return f"0 to {ty.mask}"


def article(ty: Scalar) -> str:
    """'an i32', 'a u8', 'an f64', 'a bool'."""
    return ("an " if ty.name[0] in "aeifo" else "a ") + ty.name


_KIND_WORDS = {"bool": "a bool", "int": "an integer", "str": "a string"}


def _hw_literal(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


_EXPR_NODES = (Num, BoolLit, Name, Index, CallA, UnOp, BinOp, CastA, IfExprA)


def _subexpressions(e):
    """`e` and every expression inside it, as written."""
    todo = [e]
    while todo:
        node = todo.pop()
        yield node
        for v in vars(node).values():
            items = v if isinstance(v, tuple) else (v,)
            todo.extend(x for x in items if isinstance(x, _EXPR_NODES))


def always_returns(stmts) -> bool:
    for s in stmts:
        if isinstance(s, ir.Return):
            return True
        if isinstance(s, (ir.If, ir.When)) and always_returns(s.then) and always_returns(s.else_):
            return True
    return False


# ---------------------------------------------------------------- signatures


def signature(f: FuncA) -> ir.Function:
    seen: dict[str, Span] = {}
    for p in f.params:
        if p.name in seen:
            raise AtlasError(p.span, f"parameter '{p.name}' is declared twice")
        seen[p.name] = p.span
    scalars: dict[str, Scalar] = {}
    params = []
    for p in f.params:
        if isinstance(p.ty, TypeName):
            t = scalar_type(p.ty)
            scalars[p.name] = t
            params.append(ir.Param(p.name, t, p.span))
    for p in f.params:
        if isinstance(p.ty, ArrayTypeA):
            params.append(ir.Param(p.name, _array_type(p.ty, scalars, f), p.span))
    order = {p.name: i for i, p in enumerate(f.params)}
    params.sort(key=lambda p: order[p.name])
    ret = scalar_type(f.ret) if f.ret is not None else None
    return ir.Function(f.name, tuple(params), ret, (), f.span, reassoc=f.reassoc is not None)


def _array_type(a: ArrayTypeA, scalars: dict[str, Scalar], f: FuncA) -> ir.Array:
    elem = scalar_type(a.elem)
    # The length is an integer expression over the integer parameters.
    fake = ir.Function(f.name, tuple(ir.Param(n, t) for n, t in scalars.items()), None, ())
    chk = FunctionChecker({}, f, fake)
    try:
        length = chk.expr(a.length, U64 if _is_untyped(a.length) else None)
    except AtlasError as err:
        raise AtlasError(
            err.span,
            f"in the length of an array: {err.message}",
            note="an array length is an expression over the function's integer parameters",
        )
    if not length.ty.is_int:
        raise AtlasError(a.length.span, f"an array length must be an integer, found {length.ty}")
    if not _plain_length(length):
        raise AtlasError(
            a.length.span,
            "an array length may use only integer parameters, literals, casts and the operators + - * / % << >> & | ^",
        )
    return ir.Array(elem, length, a.mutable)


def _plain_length(e) -> bool:
    if isinstance(e, (ir.Const, ir.Var)):
        return True
    if isinstance(e, ir.Cast):
        return e.ty.is_int and _plain_length(e.a)
    if isinstance(e, ir.Binary):
        return e.op in ir.ARITH + ir.BITWISE + ir.SHIFTS and _plain_length(e.a) and _plain_length(e.b)
    return False


# ---------------------------------------------------------------- the stage


def signature_of(text: str, origin: str = "<signature>") -> ir.Function:
    """A function signature alone (`fn f(n: u64, x: [f32; n]) -> f32`), as
    the manifest of an artefact records it; the body is empty."""
    from .syntax import parse

    ast = parse(text + " { }", origin)
    try:
        return signature(ast.funcs[0])
    except AtlasError as err:
        raise err.with_source(ast.text) from None


# A function's name is exported as is, so a name the linker, the C start-up
# files or the generated code already use would fail to link or, worse,
# capture their calls.  Refused here, at the name, rather than as linker
# output after the whole compile.
_LINKER_SYMBOLS = frozenset({"_init", "_fini"})
# LLVM's code generator calls these itself (a loop that fills memory becomes
# memset); the llvm backend refuses them too (backends/llvm/codegen.py).
_CALLED_BY_GENERATED_CODE = frozenset({"memcpy", "memmove", "memset", "memcmp", "bcmp"})


def reserved_symbol(name: str) -> str | None:
    """Why `name` cannot name a function in a compiled library, or None."""
    if name in _LINKER_SYMBOLS:
        return "every shared library's start-up code (crti.o) defines this symbol"
    if name.startswith("__") or (name[:1] == "_" and name[1:2].isupper()):
        return "names that begin with `__` or `_` and a capital letter belong to the C implementation"
    if name in _CALLED_BY_GENERATED_CODE:
        return "the generated code calls the C library's function of this name"
    if name.startswith("atlas_"):
        return "names that begin with `atlas_` belong to Atlas's runtime (counters, timing loops)"
    return None


def check_functions(funcs: list[FuncA]) -> tuple[ir.Function, ...]:
    """The functions of every file, typed; an AtlasError at the first fault."""
    sigs: dict[str, ir.Function] = {}
    spans: dict[str, Span] = {}
    for f in funcs:
        if f.name in sigs:
            raise AtlasError(
                f.name_span, f"function '{f.name}' is defined twice", note=f"first defined at {spans[f.name]}"
            )
        if f.name in primitives() or f.name == "len":
            raise AtlasError(f.name_span, f"'{f.name}' is a built-in primitive; choose another name")
        why = reserved_symbol(f.name)
        if why:
            raise AtlasError(
                f.name_span,
                f"'{f.name}' is reserved: {why}; choose another name",
                note='a function\'s name is its symbol in the compiled library (docs/language.md, "Names")',
            )
        sigs[f.name] = signature(f)
        spans[f.name] = f.name_span
    functions = []
    graph: dict[str, list[tuple[str, Span]]] = {}
    for f in funcs:
        fc = FunctionChecker(sigs, f, sigs[f.name])
        requires = None if f.requires is None else fc.precondition(f.requires)
        body = fc.block(f.body)
        ret = sigs[f.name].ret
        if ret is not None and not always_returns(body):
            raise AtlasError(
                f.end_span,
                f"{f.name} must return {article(ret)} on every path; this path reaches the end without `return`",
            )
        graph[f.name] = fc.calls
        sig = sigs[f.name]
        if f.reassoc is not None and not _has_float(sig, body):
            # Integer arithmetic wraps, so it is associative already: the
            # modifier would mean nothing here, and is most likely a mistake.
            raise AtlasError(
                f.reassoc,
                f"`reassoc` allows reordering float arithmetic, and {f.name} has none",
                note="integer `+` and `*` wrap, so their order never changes the result; remove `reassoc`",
            )
        functions.append(
            ir.Function(sig.name, sig.params, sig.ret, body, f.span, reassoc=sig.reassoc, requires=requires)
        )
    no_recursion(graph)
    return tuple(functions)


def _has_float(sig: ir.Function, body) -> bool:
    """Whether a float type appears anywhere in the function: a parameter,
    the result, a local, or any expression of the body."""
    types: list = [p.ty.elem if isinstance(p.ty, ir.Array) else p.ty for p in sig.params]
    types += [sig.ret] + [t for _, t in ir.declared(body)]
    types += [getattr(e, "ty", None) for s in ir.walk_stmts(body) for x in ir.own_exprs(s) for e in ir.walk(x)]
    return any(isinstance(t, Scalar) and t.is_float for t in types)


def no_recursion(graph):
    state: dict[str, int] = {}

    def visit(f, path):
        state[f] = 1
        for g, span in graph.get(f, ()):
            if state.get(g) == 1:
                cycle = " -> ".join(path[path.index(g) :] + [g]) if g in path else f"{f} -> {g}"
                raise AtlasError(span, f"recursion is not supported: {cycle}", note="write the repetition as a loop")
            if g not in state:
                visit(g, path + [g])
        state[f] = 2

    for f in graph:
        if f not in state:
            visit(f, [f])
