"""The typed IR: what the checker produces and every later stage consumes.

One frozen dataclass per node.  Every expression carries its scalar type;
every node carries the source span it came from, so later stages can still
point at the user's text.  Locals have unique names within a function (the
checker renames shadowed ones), so no stage needs scopes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Callable, Iterable, Iterator, Mapping, Union, cast


# ---------------------------------------------------------------- spans


@dataclass(frozen=True)
class Span:
    file: str
    line: int
    col: int
    end_line: int = 0
    end_col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


NOSPAN = Span("<builtin>", 0, 0)


# ---------------------------------------------------------------- types


@dataclass(frozen=True)
class Scalar:
    """A scalar type: kind is 'int' (signed), 'uint', 'float' or 'bool'."""

    kind: str
    bits: int

    @property
    def name(self) -> str:
        if self.kind == "bool":
            return "bool"
        return {"int": "i", "uint": "u", "float": "f"}[self.kind] + str(self.bits)

    @property
    def is_int(self) -> bool:
        return self.kind in ("int", "uint")

    @property
    def signed(self) -> bool:
        return self.kind == "int"

    @property
    def is_float(self) -> bool:
        return self.kind == "float"

    @property
    def is_bool(self) -> bool:
        return self.kind == "bool"

    @property
    def mask(self) -> int:
        return (1 << self.bits) - 1

    def __str__(self) -> str:
        return self.name


I8, I16, I32, I64 = (Scalar("int", b) for b in (8, 16, 32, 64))
U8, U16, U32, U64 = (Scalar("uint", b) for b in (8, 16, 32, 64))
F32, F64 = Scalar("float", 32), Scalar("float", 64)
BOOL = Scalar("bool", 1)

SCALARS = {t.name: t for t in (I8, I16, I32, I64, U8, U16, U32, U64, F32, F64, BOOL)}


@dataclass(frozen=True)
class Array:
    """An array parameter.  `length` is an expression over the function's
    integer parameters (which are immutable), evaluated once on entry."""

    elem: Scalar
    length: "Expr"
    mutable: bool

    def __str__(self) -> str:
        return f"{'mut ' if self.mutable else ''}[{self.elem}; {pretty_expr(self.length)}]"


Type = Union[Scalar, Array]


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Const:
    value: Union[int, float, bool]  # ints are stored in [0, 2**bits) (two's complement)
    ty: Scalar
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Var:
    name: str
    ty: Scalar
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Load:
    array: str
    index: "Expr"  # any integer type; its value is read as unsigned
    ty: Scalar
    span: Span = field(default=NOSPAN, compare=False)
    # Set only by a transformation that proved the index below the array's
    # length wherever this load runs: the backend then emits no range check.
    inbounds: bool = False


@dataclass(frozen=True)
class Unary:
    op: str  # 'neg' (wrapping / IEEE), 'not' (bitwise on ints, logical on bool)
    a: "Expr"
    ty: Scalar
    span: Span = field(default=NOSPAN, compare=False)


# Binary ops.  Arithmetic and bitwise ops take and give one type; shifts take
# any integer amount; comparisons give bool; 'land'/'lor' are on bools.
ARITH = ("add", "sub", "mul", "div", "rem")
BITWISE = ("and", "or", "xor")
SHIFTS = ("shl", "shr")
COMPARE = ("eq", "ne", "lt", "le", "gt", "ge")
LOGIC = ("land", "lor")


@dataclass(frozen=True)
class Binary:
    op: str
    a: "Expr"
    b: "Expr"
    ty: Scalar
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Cast:
    a: "Expr"
    ty: Scalar
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Prim:
    """A built-in primitive (see primitives/core.yaml)."""

    name: str
    args: tuple["Expr", ...]
    ty: Scalar
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Call:
    """A call of another function of the module.  Array arguments are
    passed as Var-like names in `args` (ArrayRef)."""

    func: str
    args: tuple["Expr | ArrayRef", ...]
    ty: Scalar | None
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class ArrayRef:
    """An array passed whole to a call."""

    name: str
    ty: Array
    span: Span = field(default=NOSPAN, compare=False)


Expr = Union[Const, Var, Load, Unary, Binary, Cast, Prim, Call]


# ---------------------------------------------------------------- hardware facts


@dataclass(frozen=True)
class Fact:
    """`hw.<path> <op> <literal>`; a bare `hw.x` is `hw.x == true`."""

    path: str  # without the leading 'hw.'
    op: str  # one of COMPARE
    value: Union[int, float, bool, str]
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class FactNot:
    a: "HwCond"
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class FactBin:
    op: str  # 'land' or 'lor'
    a: "HwCond"
    b: "HwCond"
    span: Span = field(default=NOSPAN, compare=False)


HwCond = Union[Fact, FactNot, FactBin]


# ---------------------------------------------------------------- statements


@dataclass(frozen=True)
class Let:
    name: str
    ty: Scalar
    init: Expr
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class LetArray:
    """`let t = [init; N];`: a local array of N elements (a constant), each
    set to init's value (computed once) whenever the statement runs.  Its
    storage belongs to the call; it reads and writes as an array parameter
    of length N does (`Function.local_arrays`)."""

    name: str
    elem: Scalar
    length: int
    init: Expr
    span: Span = field(default=NOSPAN, compare=False)

    @property
    def ty(self) -> "Array":
        return Array(self.elem, Const(self.length, U64), True)


@dataclass(frozen=True)
class Assign:
    name: str
    value: Expr
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Store:
    array: str
    index: Expr
    value: Expr
    span: Span = field(default=NOSPAN, compare=False)
    inbounds: bool = False  # as Load.inbounds


@dataclass(frozen=True)
class If:
    cond: Expr
    then: tuple["Stmt", ...]
    else_: tuple["Stmt", ...]
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class For:
    """for var in lo..hi: lo and hi evaluated once, var = lo, lo+1, ... < hi
    (compared with var's signedness); var is immutable in the body."""

    var: str
    ty: Scalar
    lo: Expr
    hi: Expr
    body: tuple["Stmt", ...]
    span: Span = field(default=NOSPAN, compare=False)
    # Set only by search/lanes.py, on a scan (meaning/scans.py) whose
    # operation it proved may be regrouped: the backend may then run it a
    # vector of steps at a time.  What the loop computes is unchanged.
    lanes: bool = False


@dataclass(frozen=True)
class While:
    cond: Expr
    body: tuple["Stmt", ...]
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Return:
    value: Expr | None
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class ExprStmt:
    expr: Call
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class When:
    """A hardware branch; `specialise` replaces it by the branch taken."""

    cond: HwCond
    then: tuple["Stmt", ...]
    else_: tuple["Stmt", ...]
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Count:
    """Add one to the function's run-time counter `label`.  Only the search
    makes these (a speculative tier counts its fallbacks); they have no
    effect on what the function computes, and the surface language has no
    syntax for them."""

    label: str
    span: Span = field(default=NOSPAN, compare=False)


# ---- device access (only in a device's operations; docs/devices.md)


@dataclass(frozen=True)
class RegRead:
    """Read register `reg` (element `index` of a register array)."""

    reg: str
    index: Expr | None
    ty: Scalar
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class RegWrite:
    reg: str
    index: Expr | None
    value: Expr
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Poll:
    """Evaluate `cond` up to `tries` times, pausing `every` microseconds
    between tries; if it never holds, run `else_`."""

    cond: Expr
    tries: int
    every: int
    else_: tuple["Stmt", ...]
    span: Span = field(default=NOSPAN, compare=False)
    # `poll var = value until cond`: value is evaluated into the local var
    # before each test of cond; var keeps the last value afterwards.
    var: str | None = None
    ty: Scalar | None = None
    value: Expr | None = None


@dataclass(frozen=True)
class Delay:
    us: int
    span: Span = field(default=NOSPAN, compare=False)


Stmt = Union[Let, LetArray, Assign, Store, If, For, While, Return, ExprStmt, When, Count, RegWrite, Poll, Delay]


# ---------------------------------------------------------------- functions


@dataclass(frozen=True)
class Param:
    name: str
    ty: Type
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Function:
    name: str
    params: tuple[Param, ...]
    ret: Scalar | None
    body: tuple[Stmt, ...]
    span: Span = field(default=NOSPAN, compare=False)
    # `reassoc fn`: any regrouping of the function's float sums and products
    # is an acceptable result (docs/language.md, "Reassociation").  Last, so
    # that positional constructions keep their meaning; it takes part in
    # equality because it widens what the function may compute.
    reassoc: bool = False
    # `requires COND`: the function is called only where COND (a bool over
    # its scalar parameters) holds; what it computes elsewhere is not
    # defined, so proofs may assume COND (docs/language.md, "Preconditions").
    requires: "Expr | None" = None

    def param(self, name: str) -> Param:
        """Parameter `name`, or the local array of that name as a
        parameter of its type would be (every array is found here)."""
        for p in self.params:
            if p.name == name:
                return p
        if name in self.local_arrays:
            return Param(name, self.local_arrays[name].ty, self.local_arrays[name].span)
        raise KeyError(name)

    @cached_property
    def local_arrays(self) -> dict[str, "LetArray"]:
        """The local arrays the body declares, by name (unique in a function)."""
        return {s.name: s for s in walk_stmts(self.body) if isinstance(s, LetArray)}

    @property
    def arrays(self) -> dict[str, Array]:
        """Every array the function reads or writes, parameters and locals, by name."""
        out = {p.name: p.ty for p in self.params if isinstance(p.ty, Array)}
        return out | {name: s.ty for name, s in self.local_arrays.items()}

    def scalar(self, name: str) -> Scalar:
        """The type of scalar parameter `name` (TypeError for an array)."""
        ty = self.param(name).ty
        if not isinstance(ty, Scalar):
            raise TypeError(f"{self.name}: parameter {name} is an array, not a scalar")
        return ty

    def array(self, name: str) -> Array:
        """The type of array parameter `name` (TypeError for a scalar)."""
        ty = self.param(name).ty
        if not isinstance(ty, Array):
            raise TypeError(f"{self.name}: parameter {name} is a scalar, not an array")
        return ty

    @property
    def signature(self) -> str:
        ps = ", ".join(f"{p.name}: {p.ty}" for p in self.params)
        # As written, modifier included: typecheck.signature_of parses it back.
        return ("reassoc " if self.reassoc else "") + f"fn {self.name}({ps})" + (f" -> {self.ret}" if self.ret else "")


# ---------------------------------------------------------------- devices


@dataclass(frozen=True)
class Field:
    """Bits lo..hi (inclusive) of a register."""

    name: str
    lo: int
    hi: int

    @property
    def mask(self) -> int:
        return ((1 << (self.hi - self.lo + 1)) - 1) << self.lo


@dataclass(frozen=True)
class Region:
    """Where registers live.  As written: `bar` (arg = BAR index, plus
    `offset`) or `virtio` (arg = structure name).  A placed region (see
    atlas.front.devices.place) has `bar`, `base` and `size` from the probe."""

    name: str
    source: str
    arg: Union[int, str]
    offset: int = 0
    bar: int | None = None
    base: int | None = None
    size: int | None = None
    span: Span = field(default=NOSPAN, compare=False)


@dataclass(frozen=True)
class Register:
    name: str
    ty: Scalar
    region: str
    offset: int  # bytes from the region's start
    access: str  # 'ro', 'wo', 'rw'
    fields: tuple[Field, ...] = ()
    count: int | None = None  # a register array: this many elements ...
    stride: Union[int, tuple[str, str], None] = None  # ... this many bytes apart (or a region attribute)
    span: Span = field(default=NOSPAN, compare=False)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


@dataclass(frozen=True)
class Device:
    """A device description: what it matches, where its registers are, and
    its operations.  `address` is set once placed on one probed device."""

    name: str
    match: tuple[tuple[str, int], ...]  # ('vendor', 0x8086), ('device', 0x100e), ...
    regions: tuple[Region, ...]
    registers: tuple[Register, ...]
    ops: tuple[Function, ...]
    span: Span = field(default=NOSPAN, compare=False)
    address: str | None = None

    def register(self, name: str) -> Register:
        for r in self.registers:
            if r.name == name:
                return r
        raise KeyError(name)

    def region(self, name: str) -> Region:
        for r in self.regions:
            if r.name == name:
                return r
        raise KeyError(name)

    def function(self, name: str) -> Function:
        for f in self.ops:
            if f.name == name:
                return f
        raise KeyError(name)

    def locate(self, name: str, index: int | None) -> tuple[int, int] | None:
        """(BAR, byte offset in it) of a register once placed; None for an
        index past the end of a register array (the access does nothing)."""
        reg = self.register(name)
        region = self.region(reg.region)
        if region.bar is None or region.base is None:
            raise ValueError(f"{self.name} is not placed on a probed device")
        offset = region.base + reg.offset
        if index is not None:
            if reg.count is None or index >= reg.count:
                return None
            assert isinstance(reg.stride, int), "placing fixes every stride to a number"
            offset += index * reg.stride
        return region.bar, offset

    @property
    def ids(self) -> str:
        """'8086:100e' ('base' for a description others extend)."""
        m = dict(self.match)
        if not m:
            return "base"
        return f"{m['vendor']:04x}:{m['device']:04x}"


@dataclass(frozen=True)
class Module:
    functions: tuple[Function, ...]
    sources: tuple[tuple[str, str], ...] = ()  # (file name, sha256 of text)
    devices: tuple[Device, ...] = ()

    def function(self, name: str) -> Function:
        for f in self.functions:
            if f.name == name:
                return f
        raise KeyError(name)


def children(e: Expr | RegRead) -> tuple[Expr, ...]:
    """The direct scalar subexpressions of an expression."""
    if isinstance(e, (Unary, Cast)):
        return (e.a,)
    if isinstance(e, Binary):
        return (e.a, e.b)
    if isinstance(e, Load):
        return (e.index,)
    if isinstance(e, (Prim, Call)):
        return tuple(a for a in e.args if not isinstance(a, ArrayRef))
    if isinstance(e, RegRead):
        return () if e.index is None else (e.index,)
    return ()


def walk(e: Expr | RegRead) -> Iterator[Expr | RegRead]:
    """An expression and all its subexpressions, outermost first."""
    yield e
    for c in children(e):
        yield from walk(c)


# ---------------------------------------------------------------- lengths as data

# An array length crosses into a manifest as JSON, so that what loads an
# artefact (the runtime, the GPU host) rebuilds the expression without a
# parser: {"var": name, "type": t}, {"const": bits, "type": t},
# {"cast": e, "type": t} and {"op": o, "a": e, "b": e, "type": t}, over the
# integer operators a length may use.
LENGTH_OPS = ARITH + BITWISE + SHIFTS


def length_to_json(e: Expr) -> dict[str, Any]:
    if not _is_length(e):
        raise ValueError(f"not a length expression: {pretty_expr(e)}")
    return scalar_to_json(e)


def length_from_json(d: Any) -> "Expr":
    """The inverse of length_to_json; ValueError on anything it did not write."""
    try:
        e = scalar_from_json(d)
    except ValueError:
        e = None
    if e is None or not _is_length(e):
        raise ValueError(f"not a length expression: {d!r}")
    return e


def _is_length(e: Expr) -> bool:
    """An integer expression of variables, constants, casts and LENGTH_OPS."""
    if not (isinstance(e.ty, Scalar) and e.ty.is_int):
        return False
    if isinstance(e, (Var, Const)):
        return True
    if isinstance(e, Cast):
        return _is_length(e.a)
    return isinstance(e, Binary) and e.op in LENGTH_OPS and _is_length(e.a) and _is_length(e.b)


_UNARY_OPS = ("neg", "not")
_BINARY_OPS = ARITH + BITWISE + SHIFTS + COMPARE + LOGIC


def scalar_to_json(e: Expr) -> dict[str, Any]:
    """A scalar expression (a length, a precondition: no loads, no calls) as
    data that an artefact's runtime reads back (scalar_from_json) without
    the front end."""
    if isinstance(e, Var):
        return {"var": e.name, "type": e.ty.name}
    if isinstance(e, Const):
        return {"const": e.value, "type": e.ty.name}
    if isinstance(e, Cast):
        return {"cast": scalar_to_json(e.a), "type": e.ty.name}
    if isinstance(e, Unary):
        return {"unary": e.op, "a": scalar_to_json(e.a), "type": e.ty.name}
    if isinstance(e, Binary):
        return {"op": e.op, "a": scalar_to_json(e.a), "b": scalar_to_json(e.b), "type": e.ty.name}
    if isinstance(e, Prim):
        return {"prim": e.name, "args": [scalar_to_json(a) for a in e.args], "type": e.ty.name}
    raise ValueError(f"not a scalar expression: {pretty_expr(e)}")


def scalar_from_json(d: Any) -> "Expr":
    """The inverse of scalar_to_json; ValueError on anything it did not
    write (a primitive's name is for the caller to check)."""
    name = d.get("type") if isinstance(d, dict) else None
    ty = SCALARS.get(name) if isinstance(name, str) else None
    if ty is None or not isinstance(d, dict):
        raise ValueError(f"not a scalar expression: {d!r}")
    if isinstance(d.get("var"), str):
        return Var(d["var"], ty)
    if "const" in d and _fits(d["const"], ty):
        return Const(d["const"], ty)
    if "cast" in d:
        return Cast(scalar_from_json(d["cast"]), ty)
    if d.get("unary") in _UNARY_OPS:
        return Unary(d["unary"], scalar_from_json(d.get("a")), ty)
    if d.get("op") in _BINARY_OPS:
        return Binary(d["op"], scalar_from_json(d.get("a")), scalar_from_json(d.get("b")), ty)
    if isinstance(d.get("prim"), str) and isinstance(d.get("args"), list):
        return Prim(d["prim"], tuple(scalar_from_json(a) for a in d["args"]), ty)
    raise ValueError(f"not a scalar expression: {d!r}")


def _fits(v: Any, ty: Scalar) -> bool:
    """Whether v is a constant of ty as Const stores it."""
    if ty.is_bool:
        return isinstance(v, bool)
    if ty.is_int:
        return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= ty.mask
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# ---------------------------------------------------------------- printing

# Each scalar type as C spells it (stdint.h): what the timing loops and the
# benchmark's shims declare.
C_TYPE = {
    "i8": "int8_t",
    "i16": "int16_t",
    "i32": "int32_t",
    "i64": "int64_t",
    "u8": "uint8_t",
    "u16": "uint16_t",
    "u32": "uint32_t",
    "u64": "uint64_t",
    "f32": "float",
    "f64": "double",
    "bool": "_Bool",
}

BINARY_SYMBOL = {  # each binary operator as the intent language writes it
    "add": "+",
    "sub": "-",
    "mul": "*",
    "div": "/",
    "rem": "%",
    "and": "&",
    "or": "|",
    "xor": "^",
    "shl": "<<",
    "shr": ">>",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "land": "&&",
    "lor": "||",
}


def blocks(s: Stmt) -> tuple[Stmt, ...]:
    """The statements nested in s: an if's arms, a loop's body."""
    return tuple(getattr(s, "then", ())) + tuple(getattr(s, "else_", ())) + tuple(getattr(s, "body", ()))


# Each statement yielded is a Stmt; the item type is Any because a caller
# (backends/nvptx/plan.py, _fold) compares one by identity with an untyped
# value, which a precise type would narrow to Stmt there.
def walk_blocks(s: Stmt, walk: Callable[[tuple[Stmt, ...]], tuple[Stmt, ...]]) -> Stmt:
    """`s` with `walk` (statements -> statements) applied to each block it holds."""
    if isinstance(s, (If, When)):
        return replace(s, then=walk(s.then), else_=walk(s.else_))
    if isinstance(s, (For, While)):
        return replace(s, body=walk(s.body))
    return s


def walk_stmts(stmts: Iterable[Stmt]) -> Iterator[Stmt]:
    """Every statement of a list, nested ones included, each before those inside it."""
    for s in stmts:
        yield s
        yield from walk_stmts(blocks(s))


def has_loops(stmts: Iterable[Stmt]) -> bool:
    """Whether a statement list holds a loop, at any depth."""
    return any(isinstance(s, (For, While)) for s in walk_stmts(stmts))


def own_exprs(s: Stmt) -> tuple[Expr, ...]:
    """The expressions a statement evaluates itself (not those of its blocks)."""
    if isinstance(s, (Let, LetArray)):
        return (s.init,)
    if isinstance(s, Assign):
        return (s.value,)
    if isinstance(s, Store):
        return (s.index, s.value)
    if isinstance(s, (If, While)):
        return (s.cond,)
    if isinstance(s, For):
        return (s.lo, s.hi)
    if isinstance(s, Return):
        return () if s.value is None else (s.value,)
    if isinstance(s, ExprStmt):
        return (s.expr,)
    if isinstance(s, RegWrite):
        return (s.value,) if s.index is None else (s.index, s.value)
    if isinstance(s, Poll):
        return (s.cond,) if s.value is None else (s.value, s.cond)
    return ()


# Each name is a str; Any because a caller (backends/nvptx/kernels.py) reuses
# an int variable for it.
def declared(stmts: Iterable[Stmt]) -> Iterator[tuple[str, Scalar]]:
    """(name, type) of every local a statement list declares, loop variables included."""
    for s in walk_stmts(stmts):
        if isinstance(s, Let):
            yield s.name, s.ty
        elif isinstance(s, For):
            yield s.var, s.ty


def map_expr(e: Expr, var: Callable[[Var], Expr] | None = None, load: Callable[[Load], Expr] | None = None) -> Expr:
    """e rebuilt bottom-up: each Var through `var`, each Load (its index
    already rebuilt) through `load`."""
    if isinstance(e, Var):
        return var(e) if var else e
    if isinstance(e, Load):
        e = replace(e, index=map_expr(e.index, var, load))
        return load(e) if load else e
    if isinstance(e, (Unary, Cast)):
        return replace(e, a=map_expr(e.a, var, load))
    if isinstance(e, Binary):
        return replace(e, a=map_expr(e.a, var, load), b=map_expr(e.b, var, load))
    if isinstance(e, (Prim, Call)):
        # cast: a Prim keeps only Exprs in its args, which mypy cannot see through the union
        return replace(
            e, args=cast(Any, tuple(a if isinstance(a, ArrayRef) else map_expr(a, var, load) for a in e.args))
        )
    return e


def substitute(e: Expr, env: Mapping[str, Expr]) -> Expr:
    """e with each Var named in env replaced by env's expression."""
    return map_expr(e, var=lambda v: env.get(v.name, v))


def map_stmts(
    stmts: Iterable[Stmt], expr: Callable[[Expr], Expr], name: Callable[[str], str] = lambda n: n
) -> tuple[Stmt, ...]:
    """Statements rebuilt with every expression they evaluate through `expr`
    and every local they declare or assign (a let, an assignment, a loop
    variable) through `name`, nested blocks included."""
    out = []
    for s in stmts:
        if isinstance(s, Let):
            s = replace(s, name=name(s.name), init=expr(s.init))
        elif isinstance(s, Assign):
            s = replace(s, name=name(s.name), value=expr(s.value))
        elif isinstance(s, Store):
            s = replace(s, index=expr(s.index), value=expr(s.value))
        elif isinstance(s, LetArray):
            s = replace(s, init=expr(s.init))
        elif isinstance(s, If):
            s = replace(s, cond=expr(s.cond), then=map_stmts(s.then, expr, name), else_=map_stmts(s.else_, expr, name))
        elif isinstance(s, When):
            s = replace(s, then=map_stmts(s.then, expr, name), else_=map_stmts(s.else_, expr, name))
        elif isinstance(s, For):
            s = replace(s, var=name(s.var), lo=expr(s.lo), hi=expr(s.hi), body=map_stmts(s.body, expr, name))
        elif isinstance(s, While):
            s = replace(s, cond=expr(s.cond), body=map_stmts(s.body, expr, name))
        elif isinstance(s, Return):
            s = replace(s, value=None if s.value is None else expr(s.value))
        elif isinstance(s, ExprStmt):
            s = replace(s, expr=cast(Call, expr(s.expr)))  # map_expr rebuilds a Call as a Call
        out.append(s)
    return tuple(out)


def rename_locals(stmts: Iterable[Stmt], names: dict[str, str]) -> tuple[Stmt, ...]:
    """Statements with locals renamed everywhere (declarations and uses)."""

    def sub(e: Expr) -> Expr:
        return map_expr(e, var=lambda v: replace(v, name=names.get(v.name, v.name)))

    return map_stmts(stmts, sub, lambda n: names.get(n, n))


def names_used(fn: "Function") -> set[str]:
    """Every name a function uses: parameters, locals, loop variables."""
    out = {p.name for p in fn.params}
    for s in walk_stmts(fn.body):
        if isinstance(s, (Let, LetArray, Assign)):
            out.add(s.name)
        elif isinstance(s, For):
            out.add(s.var)
        for e in own_exprs(s):
            out |= {x.name for x in walk(e) if isinstance(x, Var)}
    return out


def names_read(*es: Expr) -> set[str]:
    """The names of the scalars the expressions read."""
    return {x.name for e in es for x in walk(e) if isinstance(x, Var)}


def assigned(stmts: Iterable[Stmt]) -> set[str]:
    """The scalars assigned anywhere in a statement list (not those declared)."""
    return {s.name for s in walk_stmts(stmts) if isinstance(s, Assign)}


def stored(stmts: Iterable[Stmt]) -> set[str]:
    """The arrays stored to anywhere in a statement list."""
    return {s.array if isinstance(s, Store) else s.name for s in walk_stmts(stmts) if isinstance(s, (Store, LetArray))}


def fresh_name(base: str, taken: set[str]) -> str:
    """`base`, or base2, base3, ...: the first not in `taken` (which it joins)."""
    name, k = base, 1
    while name in taken:
        k += 1
        name = f"{base}{k}"
    taken.add(name)
    return name


def const_text(value: Union[int, float, bool], ty: Scalar) -> str:
    if ty.is_bool:
        return "true" if value else "false"
    if ty.is_float:
        return f"{float(value)!r}{ty.name}"
    v = value - (1 << ty.bits) if ty.signed and cast(int, value) >> (ty.bits - 1) else value
    if v >= 1 << 16:  # masks and magic numbers read better in hex
        return f"{v:#x}{ty.name}"
    return f"{v}{ty.name}"


def pretty_expr(e: Expr | ArrayRef | RegRead | HwCond) -> str:
    """Intent-like syntax, fully parenthesised, literals suffixed with their type."""
    if isinstance(e, Const):
        return const_text(e.value, e.ty)
    if isinstance(e, (Var, ArrayRef)):
        return e.name
    if isinstance(e, Load):
        return f"{e.array}[{pretty_expr(e.index)}]"
    if isinstance(e, Unary):
        sym = "-" if e.op == "neg" else ("!" if e.ty.is_bool else "~")
        return f"{sym}{pretty_expr(e.a)}"
    if isinstance(e, Binary):
        return f"({pretty_expr(e.a)} {BINARY_SYMBOL[e.op]} {pretty_expr(e.b)})"
    if isinstance(e, Cast):
        return f"({pretty_expr(e.a)} as {e.ty})"
    if isinstance(e, (Prim, Call)):
        name = e.name if isinstance(e, Prim) else e.func
        return f"{name}({', '.join(pretty_expr(a) for a in e.args)})"
    if isinstance(e, RegRead):
        return f"read({e.reg}{'' if e.index is None else '[' + pretty_expr(e.index) + ']'})"
    if isinstance(e, Fact):
        v = (
            ("true" if e.value else "false")
            if isinstance(e.value, bool)
            else (f'"{e.value}"' if isinstance(e.value, str) else repr(e.value))
        )
        return f"hw.{e.path} {BINARY_SYMBOL[e.op]} {v}"
    if isinstance(e, FactNot):
        return f"!({pretty_expr(e.a)})"
    if isinstance(e, FactBin):
        return f"({pretty_expr(e.a)} {BINARY_SYMBOL[e.op]} {pretty_expr(e.b)})"
    raise TypeError(f"not an expression: {e!r}")


def pretty_stmts(stmts: Iterable[Stmt], indent: int = 1) -> list[str]:
    pad = "    " * indent
    out: list[str] = []

    def block(head: str, body: Iterable[Stmt], tail_else: tuple[Stmt, ...] | None = None) -> None:
        out.append(pad + head + " {")
        out.extend(pretty_stmts(body, indent + 1))
        if tail_else:
            out.append(pad + "} else {")
            out.extend(pretty_stmts(tail_else, indent + 1))
        out.append(pad + "}")

    for s in stmts:
        if isinstance(s, Let):
            out.append(f"{pad}let {s.name}: {s.ty} = {pretty_expr(s.init)};")
        elif isinstance(s, LetArray):
            out.append(f"{pad}let {s.name}: [{s.elem}; {s.length}] = [{pretty_expr(s.init)}; {s.length}];")
        elif isinstance(s, Assign):
            out.append(f"{pad}{s.name} = {pretty_expr(s.value)};")
        elif isinstance(s, Store):
            out.append(f"{pad}{s.array}[{pretty_expr(s.index)}] = {pretty_expr(s.value)};")
        elif isinstance(s, If):
            block(f"if {pretty_expr(s.cond)}", s.then, s.else_)
        elif isinstance(s, When):
            block(f"when {pretty_expr(s.cond)}", s.then, s.else_)
        elif isinstance(s, For):
            block(f"for {s.var}: {s.ty} in {pretty_expr(s.lo)}..{pretty_expr(s.hi)}", s.body)
        elif isinstance(s, While):
            block(f"while {pretty_expr(s.cond)}", s.body)
        elif isinstance(s, Return):
            out.append(pad + "return" + (f" {pretty_expr(s.value)}" if s.value is not None else "") + ";")
        elif isinstance(s, ExprStmt):
            out.append(f"{pad}{pretty_expr(s.expr)};")
        elif isinstance(s, Count):
            out.append(f"{pad}count {s.label};  // run-time counter")
        elif isinstance(s, RegWrite):
            at = "" if s.index is None else f"[{pretty_expr(s.index)}]"
            out.append(f"{pad}write({s.reg}{at}, {pretty_expr(s.value)});")
        elif isinstance(s, Poll):
            every = f" every {s.every}" if s.every else ""
            bind = "" if s.var is None else f"{s.var}: {s.ty} = {pretty_expr(cast(Expr, s.value))} until "
            block(f"poll {bind}{pretty_expr(s.cond)} within {s.tries}{every} else", s.else_)
        elif isinstance(s, Delay):
            out.append(f"{pad}delay({s.us});")
        else:
            raise TypeError(f"not a statement: {s!r}")
    return out


def pretty_function(f: Function) -> str:
    pre = f" requires {pretty_expr(f.requires)}" if f.requires is not None else ""
    return "\n".join([f.signature + pre + " {", *pretty_stmts(f.body), "}"])


def pretty_module(m: Module) -> str:
    return "\n\n".join(pretty_function(f) for f in m.functions) + "\n"
