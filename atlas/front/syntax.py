"""Parse: intent text -> AST with source spans.

The grammar lives in grammar/atlas.lark; a lark Transformer builds the frozen
dataclasses below.  Parse errors become AtlasErrors that say what was
expected, in the user's terms rather than the grammar's.
"""

from __future__ import annotations

import ctypes
import gc
import re
import sys
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Union

import lark
from lark import Lark, Transformer, v_args

from .diagnostics import AtlasError
from ..meaning.ir import SCALARS, Span


# ---------------------------------------------------------------- the AST


@dataclass(frozen=True)
class TypeName:
    name: str
    span: Span


@dataclass(frozen=True)
class ArrayTypeA:
    elem: TypeName
    length: "ExprA"
    mutable: bool
    span: Span


@dataclass(frozen=True)
class Num:
    text: str  # as written, for messages
    value: Union[int, float]
    suffix: str | None  # 'u8', 'f32', ... or None
    is_float: bool
    hex_or_bin: bool
    span: Span


@dataclass(frozen=True)
class BoolLit:
    value: bool
    span: Span


@dataclass(frozen=True)
class Name:
    id: str
    span: Span


@dataclass(frozen=True)
class Index:
    array: str
    index: "ExprA"
    span: Span
    name_span: Span


@dataclass(frozen=True)
class CallA:
    func: str
    args: tuple["ExprA", ...]
    span: Span
    name_span: Span


@dataclass(frozen=True)
class UnOp:
    op: str  # 'neg', 'not', 'bnot'
    a: "ExprA"
    span: Span


@dataclass(frozen=True)
class BinOp:
    op: str  # ir binary op names (add, ..., land, lor, eq, ...)
    a: "ExprA"
    b: "ExprA"
    span: Span
    op_span: Span


@dataclass(frozen=True)
class CastA:
    a: "ExprA"
    to: TypeName
    span: Span


@dataclass(frozen=True)
class IfExprA:
    """`if cond { then } else { other }` as a value."""

    cond: "ExprA"
    then: "ExprA"
    other: "ExprA"
    span: Span


ExprA = Union[Num, BoolLit, Name, Index, CallA, UnOp, BinOp, CastA, IfExprA]


@dataclass(frozen=True)
class HwFactA:
    path: str  # without 'hw.'
    op: str | None  # None: a bare fact
    value: object  # int, float, bool, str or None
    span: Span


@dataclass(frozen=True)
class HwNotA:
    a: "HwCondA"
    span: Span


@dataclass(frozen=True)
class HwBinA:
    op: str  # 'land' | 'lor'
    a: "HwCondA"
    b: "HwCondA"
    span: Span


HwCondA = Union[HwFactA, HwNotA, HwBinA]


@dataclass(frozen=True)
class LetA:
    name: str
    ty: TypeName | None
    init: ExprA
    span: Span
    name_span: Span


@dataclass(frozen=True)
class LetArrayA:
    """`let t[: [T; N]] = [v; N];`"""

    name: str
    elem: TypeName | None
    declared: Num | None  # N of the type, if written
    init: ExprA
    length: Num
    span: Span
    name_span: Span


@dataclass(frozen=True)
class AssignA:
    name: str
    op: str  # '=' or a compound like '+='
    value: ExprA
    span: Span
    name_span: Span


@dataclass(frozen=True)
class StoreA:
    array: str
    index: ExprA
    op: str
    value: ExprA
    span: Span
    name_span: Span


@dataclass(frozen=True)
class IfA:
    cond: ExprA
    then: tuple["StmtA", ...]
    else_: tuple["StmtA", ...]
    span: Span


@dataclass(frozen=True)
class ForA:
    var: str
    lo: ExprA
    hi: ExprA
    body: tuple["StmtA", ...]
    span: Span
    var_span: Span


@dataclass(frozen=True)
class WhileA:
    cond: ExprA
    body: tuple["StmtA", ...]
    span: Span


@dataclass(frozen=True)
class ReturnA:
    value: ExprA | None
    span: Span


@dataclass(frozen=True)
class CallStmtA:
    call: CallA
    span: Span


@dataclass(frozen=True)
class WhenA:
    cond: HwCondA
    then: tuple["StmtA", ...]
    else_: tuple["StmtA", ...]
    span: Span


@dataclass(frozen=True)
class PollA:
    """`poll [VAR = VALUE until] COND within TRIES [every MICROSECONDS] else { ... }`."""

    cond: ExprA
    tries: Num
    every: Num | None
    else_: tuple["StmtA", ...]
    span: Span
    var: str | None = None
    var_span: Span | None = None
    value: ExprA | None = None


@dataclass(frozen=True)
class JumpA:
    """`break;` or `continue;`: leave the innermost loop, or start its next round."""

    kind: str  # 'break' | 'continue'
    span: Span


StmtA = Union[LetA, LetArrayA, AssignA, StoreA, IfA, ForA, WhileA, ReturnA, CallStmtA, WhenA, PollA, JumpA]


@dataclass(frozen=True)
class FieldRefA:
    """`REG.FIELD` (a register's bit field) or `REGION.ATTR`."""

    owner: str
    name: str
    span: Span
    owner_span: Span
    name_span: Span


@dataclass(frozen=True)
class ParamA:
    name: str
    ty: Union[TypeName, ArrayTypeA]
    span: Span


@dataclass(frozen=True)
class FuncA:
    name: str
    params: tuple[ParamA, ...]
    ret: TypeName | None
    body: tuple[StmtA, ...]
    span: Span
    name_span: Span
    end_span: Span  # the closing brace
    # The `reassoc` keyword before `fn`, if written: the function allows its
    # float arithmetic to be reordered (docs/language.md, "Reassociation").
    reassoc: Span | None = None
    # `requires COND` after the signature: callers promise COND holds
    # (docs/language.md, "Preconditions").
    requires: "ExprA | None" = None


@dataclass(frozen=True)
class RegionA:
    """`region NAME = bar(N) [+ OFFSET];` or `region NAME = virtio(KIND);`."""

    name: str
    source: str  # 'bar' or 'virtio'
    arg: Union[int, str]  # a BAR index, or a virtio structure's name
    offset: int
    span: Span
    name_span: Span
    arg_span: Span


@dataclass(frozen=True)
class FieldA:
    name: str
    lo: int
    hi: int  # inclusive; == lo for one bit
    span: Span


@dataclass(frozen=True)
class RegisterA:
    name: str
    ty: TypeName
    count: Num | None  # a register array's element count
    region: str
    offset: Num
    stride: Union[Num, FieldRefA, None]
    access: str  # 'ro', 'wo' or 'rw'
    fields: tuple[FieldA, ...]
    span: Span
    name_span: Span
    region_span: Span
    access_span: Span


@dataclass(frozen=True)
class DeviceA:
    name: str
    match: tuple[tuple[str, int, Span], ...]  # (key, value, span): vendor=0x8086, device=...
    regions: tuple[RegionA, ...]
    registers: tuple[RegisterA, ...]
    funcs: tuple[FuncA, ...]
    span: Span
    name_span: Span
    match_span: Span
    # `extends BASE`: the base's name and where it is written.
    extends: tuple[str, Span] | None = None

    @property
    def is_base(self) -> bool:
        """No `matches`: a description others extend, never a device itself."""
        return not self.match


@dataclass(frozen=True)
class ModuleA:
    file: str
    text: str
    funcs: tuple[FuncA, ...]
    devices: tuple[DeviceA, ...] = ()


# ---------------------------------------------------------------- building it

_CMP = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}


def _span_tok(file: str, tok) -> Span:
    return Span(file, tok.line, tok.column, tok.end_line or tok.line, tok.end_column or tok.column + len(tok))


def _span_meta(file: str, meta) -> Span:
    if getattr(meta, "empty", True):
        return Span(file, 0, 0)
    return Span(file, meta.line, meta.column, meta.end_line, meta.end_column)


# The largest integer literal any type holds: f64's largest finite value.
# Past it the value is None, before Python's int() is asked to convert more
# decimal digits than it will (4,300) or float() meets what it cannot hold.
_LARGEST = int(sys.float_info.max)


def _int_value(text: str) -> tuple[int | None, str | None, bool]:
    suffix = None
    for s in ("u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64"):
        if text.endswith(s) and not (text.startswith(("0x", "0X")) and False):
            suffix = s
            text = text[: -len(s)]
            break
    body = text.replace("_", "")
    hexbin = body.startswith(("0x", "0X", "0b", "0B"))
    if hexbin:
        value = int(body, 16 if body[1] in "xX" else 2)
    elif len(body.lstrip("0")) > len(str(_LARGEST)):
        return None, suffix, False
    else:
        value = int(body.lstrip("0") or "0")  # leading zeros count towards int()'s limit
    return (value if value <= _LARGEST else None), suffix, hexbin


def _bin(op: str, sym: str):
    """A tree-builder method for the binary operator `op` (written `sym`)."""

    def build(self, meta, ch):
        a, b = ch[0], ch[-1]
        op_span = Span(self.file, a.span.end_line, a.span.end_col, b.span.line, b.span.col)
        return BinOp(op, a, b, self._s(meta), self._op_span(op_span, sym))

    return build


def _un(op: str):
    """A tree-builder method for the unary operator `op`."""

    def build(self, meta, ch):
        return UnOp(op, ch[0], self._s(meta))

    return build


@v_args(meta=True)
class _Build(Transformer):
    def __init__(self, file: str, text: str = ""):
        super().__init__()
        self.file = file
        self.text = text

    def _id(self, tok) -> str:
        """A NAME token used as a name.  The contextual lexer lexes a keyword
        as a NAME wherever a keyword cannot stand, so refuse it here."""
        if str(tok) in _keywords():
            raise AtlasError(self._t(tok), f"'{tok}' is a keyword and cannot be used as a name", source=self.text)
        return str(tok)

    def _s(self, meta):
        return _span_meta(self.file, meta)

    def _t(self, tok):
        return _span_tok(self.file, tok)

    # -- items
    def start(self, meta, items):
        return tuple(items)

    # -- device descriptions
    def device(self, meta, ch):
        name, match, base, *items = ch
        keys, match_span = match if match is not None else ((), self._t(name))
        return DeviceA(
            self._id(name),
            keys,
            tuple(x for x in items if isinstance(x, RegionA)),
            tuple(x for x in items if isinstance(x, RegisterA)),
            tuple(x for x in items if isinstance(x, FuncA)),
            self._s(meta),
            self._t(name),
            match_span,
            None if base is None else (self._id(base), self._t(base)),
        )

    def pci_match(self, meta, ch):
        bus, *keys = ch
        if str(bus) != "pci":
            raise AtlasError(
                self._t(bus),
                f"a device matches a bus; expected 'pci', found '{bus}'",
                note="write `device NAME matches pci(vendor = 0x8086, device = 0x100e) { ... }`",
                source=self.text,
            )
        return tuple(keys), Span(self.file, bus.line, bus.column, keys[-1][2].end_line, keys[-1][2].end_col)

    def base(self, meta, ch):
        return ch[0]

    def pci_key(self, meta, ch):
        key, value = ch
        return (str(key), self._int(value), self._s(meta))

    def region(self, meta, ch):
        name, source, arg, offset = ch
        if str(source) not in ("bar", "virtio"):
            raise AtlasError(
                self._t(source),
                f"unknown region source '{source}'",
                note="a region is `bar(N)` (a PCI base address register) or "
                "`virtio(common|notify|isr|device)` (a virtio structure)",
                source=self.text,
            )
        value = self._int(arg) if arg.type == "INT" else str(arg)
        return RegionA(
            self._id(name),
            str(source),
            value,
            0 if offset is None else self._int(offset),
            self._s(meta),
            self._t(name),
            self._t(arg),
        )

    def register(self, meta, ch):
        name, ty, count, region, offset, stride, access, *fields = ch
        fields = fields[0] if fields else ()
        if str(access) not in ("ro", "wo", "rw"):
            raise AtlasError(
                self._t(access), f"expected an access mode 'ro', 'wo' or 'rw', found '{access}'", source=self.text
            )
        return RegisterA(
            self._id(name),
            ty,
            None if count is None else self.int_lit(meta, [count]),
            self._id(region),
            self.int_lit(meta, [offset]),
            self.int_lit(meta, [stride]) if isinstance(stride, lark.Token) else stride,
            str(access),
            fields or (),
            self._s(meta),
            self._t(name),
            self._t(region),
            self._t(access),
        )

    def fields(self, meta, ch):
        return tuple(ch)

    def field(self, meta, ch):
        name, lo, hi = ch
        lo_v = self._int(lo)
        hi_v = lo_v if hi is None else self._int(hi)
        return FieldA(self._id(name), lo_v, hi_v, self._s(meta))

    def field_ref(self, meta, ch):
        owner, name = ch
        return FieldRefA(self._id(owner), self._id(name), self._s(meta), self._t(owner), self._t(name))

    def poll_stmt(self, meta, ch):
        var, value, cond, tries, every, else_ = ch
        return PollA(
            cond,
            self.int_lit(meta, [tries]),
            None if every is None else self.int_lit(meta, [every]),
            else_,
            self._s(meta),
            None if var is None else self._id(var),
            None if var is None else self._t(var),
            value,
        )

    def func(self, meta, ch):
        reassoc, name, *rest = ch
        body = rest[-1]
        requires = rest[-2]
        ret = rest[-3]
        params = tuple(p for p in rest[:-3] if p is not None)
        end = Span(self.file, meta.end_line, max(meta.end_column - 1, 1), meta.end_line, meta.end_column)
        return FuncA(
            self._id(name),
            params,
            ret,
            body,
            self._s(meta),
            self._t(name),
            end,
            None if reassoc is None else self._t(reassoc),
            requires,
        )

    def precondition(self, meta, ch):
        return ch[0]

    def param(self, meta, ch):
        name, ty = ch
        return ParamA(self._id(name), ty, self._s(meta))

    def array_type(self, meta, ch):
        mut, elem, length = ch
        return ArrayTypeA(elem, length, mut is not None, self._s(meta))

    def type_name(self, meta, ch):
        return TypeName(str(ch[0]), self._t(ch[0]))

    def block(self, meta, stmts):
        return tuple(stmts)

    fn_body = block

    # -- statements
    def let_stmt(self, meta, ch):
        name, ty, init = ch
        return LetA(self._id(name), ty, init, self._s(meta), self._t(name))

    def let_array(self, meta, ch):
        name, elem, declared, init, length = ch
        declared = None if declared is None else self.int_lit(meta, [declared])
        return LetArrayA(
            self._id(name), elem, declared, init, self.int_lit(meta, [length]), self._s(meta), self._t(name)
        )

    def assign_stmt(self, meta, ch):
        name, op, value = ch
        return AssignA(self._id(name), str(op), value, self._s(meta), self._t(name))

    def store_stmt(self, meta, ch):
        name, index, op, value = ch
        return StoreA(self._id(name), index, str(op), value, self._s(meta), self._t(name))

    def if_stmt(self, meta, ch):
        cond, then, other = ch
        if other is None:
            other = ()
        elif not isinstance(other, tuple):  # else if: a nested statement
            other = (other,)
        return IfA(cond, then, other, self._s(meta))

    def when_stmt(self, meta, ch):
        cond, then, other = ch
        if other is None:
            other = ()
        elif not isinstance(other, tuple):
            other = (other,)
        return WhenA(cond, then, other, self._s(meta))

    def for_stmt(self, meta, ch):
        var, lo, hi, body = ch
        return ForA(self._id(var), lo, hi, body, self._s(meta), self._t(var))

    def while_stmt(self, meta, ch):
        cond, body = ch
        return WhileA(cond, body, self._s(meta))

    def return_stmt(self, meta, ch):
        return ReturnA(ch[0], self._s(meta))

    def call_stmt(self, meta, ch):
        return CallStmtA(ch[0], self._s(meta))

    def break_stmt(self, meta, ch):
        return JumpA("break", self._s(meta))

    def continue_stmt(self, meta, ch):
        return JumpA("continue", self._s(meta))

    # -- hardware conditions
    def hw_fact(self, meta, ch):
        path, op, lit = ch
        value = None if lit is None else self._hw_value(lit)
        return HwFactA(str(path)[3:], None if op is None else _CMP[str(op)], value, self._s(meta))

    def _hw_value(self, lit):
        if isinstance(lit, tuple):  # from neg_int
            return lit[0]
        t = lit.type
        if t == "INT":
            return self._int(lit)
        if t == "FLOAT":
            return float(str(lit).rstrip("f3264").replace("_", "") or 0)
        if t == "STRING":
            return str(lit)[1:-1]
        return t == "TRUE"

    def neg_int(self, meta, ch):
        return (-self._int(ch[0]),)

    def cmp_op(self, meta, ch):
        return ch[0]

    def hw_neg(self, meta, ch):
        return HwNotA(ch[0], self._s(meta))

    def hw_and(self, meta, ch):
        return HwBinA("land", ch[0], ch[1], self._s(meta))

    def hw_or(self, meta, ch):
        return HwBinA("lor", ch[0], ch[1], self._s(meta))

    # -- expressions
    def _op_span(self, gap: Span, sym: str) -> Span:
        """The operator `sym` inside the gap between its operands (which may
        hold blanks, parentheses and comments), for carets."""
        lines = self.text.splitlines()
        for ln in range(gap.line, gap.end_line + 1):
            if not 1 <= ln <= len(lines):
                break
            line = lines[ln - 1]
            lo = gap.col - 1 if ln == gap.line else 0
            hi = gap.end_col - 1 if ln == gap.end_line else len(line)
            at = line.find(sym, lo, hi)
            if at >= 0:
                return Span(self.file, ln, at + 1, ln, at + 1 + len(sym))
        return gap

    lor, land = _bin("lor", "||"), _bin("land", "&&")
    bitor, bitxor, bitand = _bin("or", "|"), _bin("xor", "^"), _bin("and", "&")
    shl, shr = _bin("shl", "<<"), _bin("shr", ">>")
    add, sub, mul = _bin("add", "+"), _bin("sub", "-"), _bin("mul", "*")
    div, rem = _bin("div", "/"), _bin("rem", "%")

    def compare(self, meta, ch):
        a, op, b = ch
        return BinOp(_CMP[str(op)], a, b, self._s(meta), self._t(op))

    def cast(self, meta, ch):
        return CastA(ch[0], ch[1], self._s(meta))

    neg, not_, bnot = _un("neg"), _un("not"), _un("bnot")

    def index(self, meta, ch):
        name, idx = ch
        return Index(self._id(name), idx, self._s(meta), self._t(name))

    def call(self, meta, ch):
        name, *args = ch
        args = tuple(a for a in args if a is not None)
        return CallA(self._id(name), args, self._s(meta), self._t(name))

    def _int(self, tok) -> int:
        """The value of an INT token; a literal no type holds is refused here."""
        value = _int_value(str(tok))[0]
        if value is None:
            raise AtlasError(
                self._t(tok),
                "literal too large for any type",
                note="u64 holds up to 18446744073709551615, f64 up to about 1.8e308",
                source=self.text,
            )
        return value

    def int_lit(self, meta, ch):
        tok = ch[0]
        value = self._int(tok)
        _, suffix, hexbin = _int_value(str(tok))
        return Num(str(tok), value, suffix, False, hexbin, self._t(tok))

    def float_lit(self, meta, ch):
        tok = ch[0]
        text = str(tok)
        suffix = None
        for s in ("f32", "f64"):
            if text.endswith(s):
                suffix, text = s, text[:-3]
        return Num(str(tok), float(text.replace("_", "")), suffix, True, False, self._t(tok))

    def bool_lit(self, meta, ch):
        return BoolLit(ch[0].type == "TRUE", self._t(ch[0]))

    def name(self, meta, ch):
        return Name(self._id(ch[0]), self._t(ch[0]))

    def if_expr(self, meta, ch):
        cond, then, other = ch
        return IfExprA(cond, then, other, self._s(meta))


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = files("atlas.grammar").joinpath("atlas.lark").read_text()
    return Lark(grammar, parser="lalr", propagate_positions=True, cache=True)


# ---------------------------------------------------------------- errors

_TOKEN_WORDS = {
    "NAME": "a name",
    "INT": "an integer",
    "FLOAT": "a number",
    "STRING": "a string",
    "HW_PATH": "a hardware fact such as hw.cpu.popcnt",
    "ASSIGN_OP": "'=' or a compound assignment",
    "MUT": "'mut'",
    "TRUE": "'true'",
    "FALSE": "'false'",
    "$END": "the end of the file",
}


def _describe(name: str) -> str:
    if name in _TOKEN_WORDS:
        return _TOKEN_WORDS[name]
    try:
        pattern = _parser().get_terminal(name).pattern
    except KeyError:
        return name
    return f"'{pattern.value}'" if pattern.type == "str" else name.lower()


_OPERATORS = {
    "+",
    "-",
    "*",
    "/",
    "%",
    "&",
    "|",
    "^",
    "<<",
    ">>",
    "&&",
    "||",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "as",
    "..",
    "[",
}


_EXPR_START = {"INT", "FLOAT", "NAME", "TRUE", "FALSE", "LPAR", "MINUS", "BANG", "TILDE", "IF"}


def _expected_text(names) -> str:
    names = set(names)
    if len(names) > 1:
        names.discard("DOT")  # after a name, `R.FIELD` could follow; it is rarely the fix
    extra = []
    if {"INT", "FLOAT", "NAME"} <= names:  # anything that can start an expression
        names -= _EXPR_START
        extra.append("an expression")
    words = sorted({_describe(n) for n in names}) + extra
    ops = [w for w in words if w.strip("'") in _OPERATORS]
    rest = [w for w in words if w.strip("'") not in _OPERATORS]
    if len(ops) > 3:
        rest.append("an operator")
    else:
        rest += ops
    if len(rest) == 1:
        return rest[0]
    return ", ".join(rest[:-1]) + " or " + rest[-1]


# Words of device descriptions that stand only where no name can, so the
# contextual lexer never confuses them with one: they stay usable as names.
_SOFT_KEYWORDS = frozenset(
    {"device", "matches", "extends", "region", "register", "at", "stride", "within", "every", "until"}
)


@lru_cache(maxsize=1)
def _keywords() -> frozenset:
    """The grammar's words ('fn', 'let', 'true', ...), which are not names."""
    return (
        frozenset(
            t.pattern.value for t in _parser().terminals if t.pattern.type == "str" and t.pattern.value.isidentifier()
        )
        - _SOFT_KEYWORDS
    )


def _in_array_value(tokens) -> bool:
    """Whether the tokens end inside `let NAME ... = [`, at its top level."""
    depth = 0
    for k in range(len(tokens) - 1, 0, -1):
        t = str(tokens[k])
        if t in (")", "]"):
            depth += 1
        elif t in ("(", "["):
            if depth == 0:
                return t == "[" and str(tokens[k - 1]) == "="
            depth -= 1
        elif t in (";", "{", "}"):
            return False
    return False


def _tokens_before(text: str, line: int, col: int) -> list:
    """The tokens before (line, col), as far as the text can be lexed."""
    out = []
    try:
        for tok in _parser().lex(text):
            if (tok.line, tok.column) >= (line, col):
                break
            out.append(tok)
    except lark.exceptions.LarkError:
        pass
    return out


_CLOSER = {"LPAR": "RPAR", "LBRACE": "RBRACE", "LSQB": "RSQB"}


def _unclosed(tokens, opener: str):
    """The innermost `opener` token that is still open at the end of `tokens`."""
    stack = []
    for tok in tokens:
        if tok.type in _CLOSER:
            stack.append(tok)
        elif tok.type in _CLOSER.values():
            if stack and _CLOSER[stack[-1].type] == tok.type:
                stack.pop()
    for tok in reversed(stack):
        if tok.type == opener:
            return tok
    return None


def _found(tok) -> str:
    if tok.type == "$END":
        return "the end of the file"
    if tok.type == "STRING":
        return f"the string {tok}"
    return f"'{tok}'"


def _previous_token(text: str, line: int, col: int):
    tokens = _tokens_before(text, line, col)
    return tokens[-1] if tokens else None


_FACT_NOTE = "hardware facts are decided at compile time and can only be tested by `when`"


class _Blame:
    """Where in one source a parse error is told, and the error itself."""

    def __init__(self, file: str, text: str):
        self.file, self.text = file, text
        self.lines = text.splitlines() or [""]

    def err(self, span, message, note=None) -> AtlasError:
        return AtlasError(span, message, note=note, source=self.text)

    def at(self, line, col, width=1) -> Span:
        return Span(self.file, line, col, line, col + width)

    def text_at(self, tok, width: int) -> str:
        """The `width` characters of the source where `tok` starts."""
        line = self.lines[tok.line - 1] if 1 <= tok.line <= len(self.lines) else ""
        return line[tok.column - 1 : tok.column - 1 + width]

    def end(self) -> Span:
        return Span(self.file, len(self.lines), len(self.lines[-1]) + 1)


def _parse_error(exc: lark.exceptions.LarkError, file: str, text: str) -> AtlasError:
    b = _Blame(file, text)
    where = None
    if isinstance(exc, lark.exceptions.UnexpectedCharacters):
        where = (exc.line, exc.column)
    elif isinstance(exc, lark.exceptions.UnexpectedToken) and exc.token.type != "$END":
        where = (exc.token.line, exc.token.column)
    if where and 1 <= where[0] <= len(b.lines) and b.lines[where[0] - 1].startswith("/*", where[1] - 1):
        return b.err(
            b.at(*where, 2),
            "unterminated block comment",
            "a block comment that opens with `/*` must be closed with `*/`",
        )
    foreign = _foreign(b, exc)
    if foreign is not None:
        return foreign
    if isinstance(exc, lark.exceptions.UnexpectedCharacters):
        line = b.lines[exc.line - 1]
        if exc.char == "." and line[max(exc.column - 3, 0) : exc.column - 1] == "hw":
            path = re.compile(_parser().get_terminal("HW_PATH").pattern.value).match(line, exc.column - 3)
            width = len(path.group(0)) if path else 2
            return b.err(b.at(exc.line, exc.column - 2, width), "a hardware fact cannot be used as a value", _FACT_NOTE)
        return b.err(b.at(exc.line, exc.column), f"unexpected character {exc.char!r}")
    if isinstance(exc, lark.exceptions.UnexpectedToken):
        return _unexpected_token(b, exc)
    if isinstance(exc, lark.exceptions.UnexpectedEOF):
        return b.err(b.end(), f"unexpected end of file, expected {_expected_text(exc.expected)}")
    return AtlasError(None, f"{file}: cannot parse: {exc}")


_CONDITIONAL = "write `if c { a } else { b }`: only the arm c picks is computed"
_C_TYPES = frozenset({"int", "long", "short", "char", "float", "double", "unsigned", "signed", "auto", "var",
                      "const", "bool", "size_t", "uint8_t", "uint16_t", "uint32_t", "uint64_t", "int8_t",
                      "int16_t", "int32_t", "int64_t", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64",
                      "f32", "f64"})  # fmt: skip


def _foreign(b: _Blame, exc: lark.exceptions.LarkError) -> AtlasError | None:
    """A construct of C, Rust or Python where Atlas has its own way (or none
    yet): said so, with the Atlas way, at the construct."""
    if isinstance(exc, lark.exceptions.UnexpectedCharacters):
        if exc.char == "?":
            return b.err(b.at(exc.line, exc.column), "Atlas has no `c ? a : b`", _CONDITIONAL)
        before = _tokens_before(b.text, exc.line, exc.column)
        if exc.char == "'" and before and str(before[-1]) in ("break", "continue"):
            return b.err(
                b.at(exc.line, exc.column),
                f"Atlas's `{before[-1]}` has no label: it is the innermost loop's",
                "to leave an outer loop too, set a flag before `break` and test it after the inner loop",
            )
        if exc.char == "#":
            return b.err(b.at(exc.line, exc.column), "unexpected character '#'", "a comment starts with `//`")
        return None
    if not isinstance(exc, lark.exceptions.UnexpectedToken) or exc.token.type == "$END":
        return None
    tok, file = exc.token, b.file
    before = _tokens_before(b.text, tok.line, tok.column)
    prev = before[-1] if before else None
    opens = len(before) < 2 or str(before[-2]) in (";", "{", "}")  # prev starts a statement
    word = str(prev) if prev is not None else ""
    if set(exc.expected) == {"ELSE"}:  # only a conditional expression's `}` wants nothing but `else`
        return b.err(
            _span_tok(file, tok),
            "a conditional expression needs an `else`",
            "its value comes from one arm or the other: `if c { a } else { b }`",
        )
    if (
        prev is not None
        and opens
        and prev.type == "NAME"
        and str(tok) in ("+", "-")
        and b.text_at(tok, 2) in ("++", "--")
    ):
        return b.err(b.at(tok.line, tok.column, 2), f"Atlas has no `{str(tok) * 2}`", f"write `{word} {tok}= 1`")
    if str(tok) == "if" and prev is not None and not opens and word not in ("else",):
        return b.err(_span_tok(file, tok), "Atlas has no `a if c else b`", _CONDITIONAL)
    if str(tok) == "," and _in_array_value(before):
        return b.err(
            _span_tok(file, tok),
            "a local array is written `[value; N]`: N elements, each the value",
            "then set the elements that differ: `t[1] = y;`",
        )
    if str(tok) == "(" and word == "for":
        return b.err(
            _span_tok(file, tok), "Atlas's `for` is not C's", "write `for i in lo..hi { ... }`: i from lo up to hi - 1"
        )
    if prev is not None and opens and word in _C_TYPES and tok.type == "NAME":
        return b.err(
            _span_tok(file, prev),
            "a local is declared with `let`, not a type",
            f"write `let {tok}: {word if word in SCALARS else 'i32'} = ...;`",
        )
    if tok.type == "NAME" and str(tok) in ("def", "function", "func", "fun") and (prev is None or str(prev) == "}"):
        return b.err(_span_tok(file, tok), "a function starts with `fn`", "write `fn name(x: u32) -> u32 { ... }`")
    return None


def _unexpected_token(b: _Blame, exc: lark.exceptions.UnexpectedToken) -> AtlasError:
    file, tok = b.file, exc.token
    expected = set(exc.accepts or exc.expected or ())
    span = b.end() if tok.type == "$END" else _span_tok(file, tok)
    fact = _fact_as_value(b, tok, span)
    if fact is not None:
        return fact
    before = _tokens_before(b.text, span.line, span.col)
    prev = before[-1] if before else None
    named = _keyword_misused(b, tok, prev, expected, span)
    if named is not None:
        return named
    # A statement that ends on one line and is followed by more on the next
    # is, almost always, missing its semicolon: point after the statement.
    if "SEMICOLON" in expected and prev is not None and (tok.type == "$END" or prev.end_line < tok.line):
        return b.err(b.at(prev.end_line, prev.end_column), "expected ';' at the end of this statement")
    if tok.type == "HW_PATH":
        return b.err(span, f"found hardware fact '{tok}' in an expression", _FACT_NOTE)
    if tok.type == "$END" and "RBRACE" in expected:
        brace = _unclosed(before, "LBRACE")
        return b.err(
            span,
            "expected '}' before the end of the file",
            f"the '{{' at line {brace.line}, column {brace.column} is never closed" if brace is not None else None,
        )
    if expected == {"COLON"} and prev is not None and prev.type == "NAME":
        return b.err(
            span,
            f"expected ':' and a type after parameter '{prev}', found {_found(tok)}",
            "a parameter is written `name: type`, e.g. `n: u64` or `x: [f32; n]`",
        )
    if tok.type == "SEMICOLON" and "LBRACE" in expected and _in_signature(before):
        return b.err(
            span,
            "expected '{' and the function's body, found ';'",
            "Atlas has no declarations without a body; write the body in `{ ... }`",
        )
    if str(tok) == "=" and any(_describe(n) == "'=='" for n in expected):
        return b.err(span, f"expected {_expected_text(expected)}, found '='", "to compare two values, write `==`")
    return b.err(span, f"expected {_expected_text(expected)}, found {_found(tok)}", _token_note(tok, expected, before))


def _fact_as_value(b: _Blame, tok, span: Span) -> AtlasError | None:
    """`hw.cpu.x` where a value stands lexes as a field reference `hw.cpu`
    and fails at the next dot: said as what it is."""
    if tok.type == "$END":
        return None
    pattern = re.compile(r"(?<![A-Za-z0-9_])" + _parser().get_terminal("HW_PATH").pattern.value)
    for m in pattern.finditer(b.lines[span.line - 1]):
        if m.start() < span.col - 1 < m.end():
            return b.err(
                b.at(span.line, m.start() + 1, m.end() - m.start()),
                "a hardware fact cannot be used as a value",
                _FACT_NOTE,
            )
    return None


def _keyword_misused(b: _Blame, tok, prev, expected: set, span: Span) -> AtlasError | None:
    """A keyword where a name or a statement was expected (lexed as a NAME)."""
    if prev is not None and str(prev) == "else" and "ASSIGN_OP" in expected:
        return b.err(
            _span_tok(b.file, prev),
            "'else' without 'if'",
            "`else` must follow the closing '}' of an `if` or `when` block",
        )
    if tok.type == "NAME" and str(tok) in _keywords():
        return b.err(span, f"expected {_expected_text(expected)}, found the keyword '{tok}'")
    # `poll = 3;` or `poll[i] = x;`: a keyword that opens a statement, used
    # as a variable (`poll` became one with device descriptions).
    if (
        prev is not None
        and prev.type != "NAME"
        and str(prev) in _keywords()
        and str(prev) != "let"
        and (tok.type in ("ASSIGN_OP", "LSQB") or str(tok) == "=")
        and "ASSIGN_OP" not in expected
    ):
        return b.err(_span_tok(b.file, prev), f"'{prev}' is a keyword and cannot be used as a name")
    return None


def _token_note(tok, expected: set, before: list) -> str | None:
    """The hint under a plain "expected X, found Y"."""
    note = None
    if (
        expected == {"WITHIN"}
        or "EVERY" in expected
        or (expected == {"ELSE"} and len(before) > 1 and before[-2].type == "EVERY")
    ):
        note = "a poll is written `poll CONDITION within TRIES [every MICROSECONDS] else { ... }`"
    elif "HW_PATH" in expected and tok.type != "HW_PATH":
        note = "`when` tests hardware facts (hw.*), decided at compile time; to test a value, use `if`"
    elif tok.type == "STRING":
        note = 'strings appear only in comparisons with hardware facts, e.g. `hw.cpu.vendor == "intel"`'
    if "RPAR" in expected and "COMMA" not in expected and tok.type != "RPAR":
        paren = _unclosed(before, "LPAR")
        if paren is not None:
            note = f"the '(' at line {paren.line}, column {paren.column} is not closed"
    return note


def _in_signature(tokens) -> bool:
    """Whether the tokens end inside a function's signature (after `fn`,
    before its body)."""
    for tok in reversed(tokens):
        if tok.type == "FN":
            return True
        if tok.type in ("LBRACE", "RBRACE", "SEMICOLON"):
            return False
    return False


# ---------------------------------------------------------------- limits

# How deep expressions and statements may nest.  Every stage after the parser
# (the transformer, the checker, lowering, the e-graph, codegen, the
# interpreter) walks the tree recursively, so the depth is bounded here, where
# it can be reported at its place, and the command runs those stages on a
# stack sized for it (run_deep).  A thousand levels is far beyond written
# code and still cheap to walk.
MAX_DEPTH = 1000

# Lark's wrappers that are not a level of nesting a user wrote.
_NOT_A_LEVEL = frozenset({"start", "func", "fn_body", "precondition", "block", "device", "param", "type_name"})


def _check_depth(tree, file: str, text: str) -> None:
    """Refuse a tree nested deeper than MAX_DEPTH, at the first node past it.
    The walk keeps its own stack: it must not recurse on the very depth it
    measures."""
    todo = [(tree, 0)]
    while todo:
        node, depth = todo.pop()
        if not isinstance(node, lark.Tree):
            continue
        if node.data not in _NOT_A_LEVEL:
            depth += 1
            if depth > MAX_DEPTH:
                span = _span_meta(file, node.meta)
                raise AtlasError(
                    Span(file, span.line, span.col, span.line, span.col + 1),
                    f"nesting deeper than {MAX_DEPTH}",
                    note=f"expressions and blocks nest at most {MAX_DEPTH} deep; name a part with `let` to split it",
                    source=text,
                )
        todo.extend((child, depth) for child in node.children)


# Enough stack and recursion for MAX_DEPTH levels through every stage: each
# level costs a few dozen Python frames at most, and the C stack under them.
_DEEP_RECURSION = 200_000
_DEEP_STACK = 1024 * 1024 * 1024


def run_deep(fn, *args, **kwargs):
    """fn(*args, **kwargs) on a thread whose stack holds programs MAX_DEPTH
    deep; its result or its exception (SystemExit included) passes through.
    Ctrl-C, which only the main thread receives, is passed on to it."""
    box: dict = {}
    done = threading.Event()

    def body():
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # re-raised on the calling thread
            box["error"] = exc
        finally:
            # Some native objects (egglog's e-graph) must be freed on the
            # thread that made them: collect this thread's garbage first.
            gc.collect()
            done.set()

    gc.collect()  # likewise, the caller's garbage is freed here, not on the new thread
    old_size = threading.stack_size()
    old_limit = sys.getrecursionlimit()
    threading.stack_size(_DEEP_STACK)
    sys.setrecursionlimit(max(old_limit, _DEEP_RECURSION))
    try:
        worker = threading.Thread(target=body, name="atlas-deep", daemon=True)
        worker.start()
    finally:
        threading.stack_size(old_size)
    try:
        # Waiting on an Event, not join(): a join interrupted by Ctrl-C may
        # leave the thread looking finished while it still runs.
        while True:
            try:
                if done.wait(0.5):
                    break
            except KeyboardInterrupt:
                # The work stops where it is and cleans up (search workers too).
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(worker.ident), ctypes.py_object(KeyboardInterrupt)
                )
    finally:
        sys.setrecursionlimit(old_limit)
    if "error" in box:
        raise box["error"]
    return box.get("value")


def decode_source(data: bytes, file: str) -> str:
    """The text of an intent file, which must be UTF-8: a located error at
    the first byte that is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        start = before.rfind(b"\n") + 1
        col = len(data[start : exc.start].decode("utf-8", "replace")) + 1
        text = data.decode("utf-8", "replace")  # the excerpt shows the bad byte as U+FFFD
        raise AtlasError(
            Span(file, line, col, line, col + 1),
            f"byte 0x{data[exc.start]:02x} is not UTF-8 text",
            note="intent files are read as UTF-8",
            source=text,
        ) from None


def read_source(path) -> str:
    """Read one intent file: its text, or an AtlasError naming it."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise AtlasError(None, f"{path}: cannot read: {exc.strerror or exc}") from None
    return decode_source(data, str(path))


def parse(text: str, file: str = "<input>") -> ModuleA:
    try:
        tree = _parser().parse(text)
    except lark.exceptions.LarkError as exc:
        raise _parse_error(exc, file, text) from None
    _check_depth(tree, file, text)
    try:
        items = _Build(file, text).transform(tree)
    except lark.exceptions.VisitError as exc:
        if isinstance(exc.orig_exc, AtlasError):
            raise exc.orig_exc from None
        raise
    return ModuleA(
        file, text, tuple(x for x in items if isinstance(x, FuncA)), tuple(x for x in items if isinstance(x, DeviceA))
    )
