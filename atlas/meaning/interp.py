"""The reference interpreter: the living definition of the language.

It walks the typed IR and computes every operation through the single
definitions in atlas/meaning/semantics.py on Python integers, so whatever it says is
what an intent means.  Compiled code is tested against it.

Arrays are numpy arrays, written in place (as compiled code does).  Integer
arrays are viewed as unsigned so that loads give bit patterns directly.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence, cast

import numpy as np

from . import ir
from . import semantics as sem
from .semantics import PyDomain

D = PyDomain()

_UNSIGNED = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}
_DTYPES = {
    "i8": np.int8,
    "i16": np.int16,
    "i32": np.int32,
    "i64": np.int64,
    "u8": np.uint8,
    "u16": np.uint16,
    "u32": np.uint32,
    "u64": np.uint64,
    "f32": np.float32,
    "f64": np.float64,
    "bool": np.bool_,
}


def dtype(t: ir.Scalar) -> np.dtype[Any]:
    """The numpy dtype that holds one element of type t."""
    return np.dtype(_DTYPES[t.name])


# Run-time counters (ir.Count) hit by interpreted code, by label: what a
# compiled library keeps in its own counters.  Tests reset it.
COUNTS: dict[str, int] = {}


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


class OutOfFuel(Exception):
    """The step budget given to the interpreter ran out (a loop that runs too long)."""


# ---------------------------------------------------------------- values at the boundary


def to_value(t: ir.Scalar, v: Any) -> Any:
    """A Python or numpy argument -> the interpreter's value of type t."""
    is_bool = isinstance(v, (bool, np.bool_))
    if t.is_bool:
        if not is_bool:
            raise TypeError(f"expected a bool, got {type(v).__name__}")
        return bool(v)
    if is_bool or not isinstance(v, (int, np.integer) if t.is_int else (int, float, np.integer, np.floating)):
        raise TypeError(f"expected {'an integer' if t.is_int else 'a number'} ({t}), got {type(v).__name__}")
    if t.is_float:
        return D.fconst(t.bits, v)
    v = int(v)
    lo = -(1 << (t.bits - 1)) if t.signed else 0
    hi = (1 << (t.bits - 1)) - 1 if t.signed else t.mask
    if not lo <= v <= hi:
        raise ValueError(f"{v} does not fit in {t}")
    return v & t.mask


# An int, a float or a bool, by t; Any because callers (atlas/search/shapes.py)
# use the result as the int that t makes it.
def from_value(t: ir.Scalar, v: Any) -> int | float | bool:
    """The interpreter's value -> the natural Python value (signed ints negative)."""
    if t.is_bool:
        return bool(v)
    if t.is_float:
        return float(v)
    n = int(v)
    return n - (1 << t.bits) if t.signed and n >> (t.bits - 1) else n


def evaluate(e: ir.Expr, scalars: dict[str, Any], exact: bool = False) -> int:
    """An expression over integer parameters (an array length), given their
    bit patterns: as the program computes it (wrapping, the natural value of
    the result), or with `exact`, in unbounded integers.  A length that would
    overflow its type can never match a real buffer, so callers compare the
    exact value with the buffer and refuse the call instead."""
    if not isinstance(e.ty, ir.Scalar) or not e.ty.is_int:
        raise ValueError(f"a length is an integer expression, not {ir.pretty_expr(e)}")
    if not exact:
        return cast(int, from_value(e.ty, _Frame(None, scalars, {}).expr(e)))
    if isinstance(e, ir.Const):
        return cast(int, from_value(e.ty, e.value))
    if isinstance(e, ir.Var):
        return cast(int, from_value(e.ty, scalars[e.name]))
    if isinstance(e, ir.Cast):
        return evaluate(e.a, scalars, True)
    if isinstance(e, ir.Binary):
        a, b = evaluate(e.a, scalars, True), evaluate(e.b, scalars, True)
        if e.op in ("div", "rem"):
            if b == 0:
                return -1  # no buffer has this length: the call is refused
            q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)  # toward zero, as the intent divides
            return q if e.op == "div" else a - b * q
        ops = {
            "add": lambda: a + b,
            "sub": lambda: a - b,
            "mul": lambda: a * b,
            "shl": lambda: a << b if 0 <= b < 64 else -1,
            "shr": lambda: a >> b if 0 <= b < 64 else 0,
            "and": lambda: a & b,
            "or": lambda: a | b,
            "xor": lambda: a ^ b,
        }
        if e.op in ops:
            return ops[e.op]()
    raise ValueError(f"unsupported length expression {ir.pretty_expr(e)}")


def machine_length(e: ir.Expr, scalars: dict[str, Any]) -> int:
    """An array's length as compiled code needs it: the exact value, refused
    (ValueError) where computing it in its declared types, as machine code
    does, would wrap and so disagree with the buffer it describes.  The one
    check of a length that the CPU runtime and the GPU host share."""
    exact = evaluate(e, scalars, exact=True)
    if evaluate(e, scalars) != exact:
        raise ValueError(f"the length {ir.pretty_expr(e)} overflows its type {e.ty} for these arguments")
    return exact


def _check_array(where: str, ty: ir.Array, a: Any, scalars: dict[str, Any], compiled: bool, device: bool) -> None:
    """One array argument against its declared type (bind's contract)."""
    want = dtype(ty.elem)
    if device and not hasattr(a, "__cuda_array_interface__"):
        raise ValueError(f"{where} must be a cupy array of {want}, got {type(a).__name__}")
    if not device and not isinstance(a, np.ndarray):
        raise ValueError(f"{where} must be a numpy array of {want}, got {type(a).__name__}")
    if a.dtype != want:
        raise ValueError(f"{where} must have dtype {want}, got {a.dtype}")
    if a.ndim != 1:
        raise ValueError(f"{where} must be 1-D, got {a.ndim} dimensions")
    try:
        n = machine_length(ty.length, scalars) if compiled else evaluate(ty.length, scalars, exact=True)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    if a.size != n:
        raise ValueError(f"{where} has {a.size} elements, its declared length {ir.pretty_expr(ty.length)} is {n}")
    if compiled and not (a.flags.c_contiguous and getattr(a.flags, "aligned", True)):
        raise ValueError(
            f"{where} must be contiguous and aligned (pass a contiguous copy, e.g. np.ascontiguousarray(...))"
        )
    if ty.mutable and not getattr(a.flags, "writeable", True):
        raise ValueError(f"{where} is written but the array is read-only")


class PreconditionError(ValueError):
    """A call whose arguments break the function's `requires`: refused, as
    the compiled code may assume it holds."""


def holds(fn: ir.Function, scalars: dict[str, Any]) -> bool:
    """Whether fn's precondition holds for these scalars (bit patterns)."""
    if fn.requires is None:
        return True
    with np.errstate(all="ignore"):
        return bool(_Frame(None, scalars, {}).expr(fn.requires))


def _check_precondition(fn: ir.Function, scalars: dict[str, Any], where: str = "") -> None:
    if fn.requires is None or holds(fn, scalars):
        return
    shown = ", ".join(
        f"{p.name} = {from_value(p.ty, scalars[p.name])}" for p in fn.params if isinstance(p.ty, ir.Scalar)
    )
    raise PreconditionError(
        f"{fn.name}: the precondition `{ir.pretty_expr(fn.requires)}` does not hold for {shown}{where}"
    )


class ArityError(TypeError, ValueError):
    """A call with the wrong number of arguments: a TypeError, as for any
    Python function, and a ValueError, as every other refused call."""


def bind(
    fn: ir.Function, args: Sequence[Any], *, compiled: bool = False, device: bool = False, alignment: int = 16
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Check a call against fn's signature and return (scalars as bit
    patterns, arrays): the one statement of the call contract, for the
    interpreter, the CPU runtime (`compiled`) and the GPU host (`device`).
    Each scalar fits its type, and together they meet the function's
    precondition (`requires`); each array is 1-D, has the declared dtype and
    exact length, is writeable when written, and shares no memory with
    another.  Machine code also needs each length, computed in its declared
    types, to agree with the exact one (machine_length), and each array
    contiguous; GPU arrays (anything with __cuda_array_interface__) must
    start on an `alignment` boundary, as the kernels load neighbours as
    vectors."""
    if len(args) != len(fn.params):
        raise ArityError(f"{fn.name} takes {len(fn.params)} argument(s), got {len(args)}")
    scalars: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    for p, a in zip(fn.params, args):
        if isinstance(p.ty, ir.Scalar):
            try:
                scalars[p.name] = to_value(p.ty, a)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{fn.name}: argument '{p.name}': {exc}") from None
    _check_precondition(fn, scalars)
    spans: list[tuple[str, int, int]] = []  # device arrays: (name, start, end) in GPU memory
    for p, a in zip(fn.params, args):
        if not isinstance(p.ty, ir.Array):
            continue
        where = f"{fn.name}: '{p.name}'"
        _check_array(where, p.ty, a, scalars, compiled or device, device)
        if device:
            start = a.__cuda_array_interface__["data"][0]
            if a.nbytes and start % alignment:
                raise ValueError(
                    f"{where} starts at {start:#x}, not on a {alignment}-byte boundary as the "
                    "kernels need (pass a fresh array, not an offset view)"
                )
            for other, lo, hi in spans:
                if a.nbytes and lo < start + a.nbytes and start < hi:
                    raise ValueError(f"{where} overlaps '{other}'; arrays must not overlap")
            spans.append((p.name, start, start + a.nbytes))
        else:
            for other, b in arrays.items():
                if np.shares_memory(a, b):
                    raise ValueError(f"{where} overlaps '{other}'; arrays must not overlap")
        arrays[p.name] = a
    return scalars, arrays


# ---------------------------------------------------------------- execution


def run(
    module: ir.Module | ir.Device, name: str, *args: Any, fuel: int | list[int] | None = None, bus: Any = None
) -> int | float | bool | None:
    """Run function `name` of a specialised module, or operation `name` of a
    placed device against `bus` (atlas.front.devices.run); arrays are updated in place."""
    fn = module.function(name)
    scalars, arrays = bind(fn, args)
    # a one-element list as fuel is spent in place: the caller sees what is left
    tank = fuel if isinstance(fuel, list) else [fuel]
    with np.errstate(all="ignore"):  # IEEE results (inf, NaN) are the defined answers
        elems = {p.name: p.ty.elem for p in fn.params if isinstance(p.ty, ir.Array)}
        return _call(module, fn, scalars, {k: _view(v, elems[k]) for k, v in arrays.items()}, tank, bus)


def constant(e: ir.Expr) -> Any:
    """The value of an expression made of literals alone (a backend folding it)."""
    with np.errstate(all="ignore"):
        return _Frame(None, {}, {}).expr(e)


def _view(a: np.ndarray, t: ir.Scalar) -> np.ndarray:
    return a.view(_UNSIGNED[t.bits]) if t.is_int else a


def _call(
    module: ir.Module | ir.Device | None,
    fn: ir.Function,
    scalars: dict[str, Any],
    arrays: dict[str, np.ndarray],
    fuel: list[Any],
    bus: Any = None,
) -> int | float | bool | None:
    frame = _Frame(module, dict(scalars), dict(arrays), fuel, bus)
    frame.lengths = {
        p.name: evaluate(p.ty.length, scalars, exact=True) for p in fn.params if isinstance(p.ty, ir.Array)
    }
    for name, la in fn.local_arrays.items():  # the call's own storage, set by each LetArray
        frame.arrays[name] = _view(np.zeros(la.length, dtype(la.elem)), la.elem)
        frame.lengths[name] = la.length
    try:
        frame.block(fn.body)
    except _Return as r:
        return None if fn.ret is None else from_value(fn.ret, r.value)
    return None


class _Frame:
    def __init__(
        self,
        module: ir.Module | ir.Device | None,
        env: dict[str, Any],
        arrays: dict[str, np.ndarray],
        fuel: list[Any] | None = None,
        bus: Any = None,
    ) -> None:
        self.module = module  # an ir.Module, or an ir.Device running an operation
        self.bus = bus  # a device's registers: read/write/delay (atlas.front.devices)
        self.env = env
        self.arrays = arrays
        self.lengths: dict[str, int] = {}
        self.fuel: list[Any] = fuel if fuel is not None else [None]  # [steps left], or [None]: no limit

    def tick(self) -> None:
        if self.fuel[0] is not None:
            self.fuel[0] -= 1
            if self.fuel[0] < 0:
                raise OutOfFuel("the interpreter's step budget ran out")

    # -- statements
    def block(self, stmts: Iterable[ir.Stmt]) -> None:
        for s in stmts:
            self.stmt(s)

    def stmt(self, s: ir.Stmt) -> None:
        if isinstance(s, (ir.Let, ir.Assign)):
            self.env[s.name] = self.expr(s.init if isinstance(s, ir.Let) else s.value)
        elif isinstance(s, ir.LetArray):
            self.arrays[s.name][:] = self.expr(s.init)
        elif isinstance(s, ir.Store):
            i = self.expr(s.index)
            v = self.expr(s.value)
            if i < self.lengths[s.array]:  # out of range: the write does nothing
                self.arrays[s.array][i] = v
        elif isinstance(s, ir.If):
            self.block(s.then if self.expr(s.cond) else s.else_)
        elif isinstance(s, ir.For):
            lo, hi = self.expr(s.lo), self.expr(s.hi)
            i = lo
            while sem.compare(D, s.ty, "lt", i, hi):
                self.tick()
                self.env[s.var] = i
                self.block(s.body)
                i = D.add(s.ty.bits, i, 1)
        elif isinstance(s, ir.While):
            while self.expr(s.cond):
                self.tick()
                self.block(s.body)
        elif isinstance(s, ir.Return):
            raise _Return(None if s.value is None else self.expr(s.value))
        elif isinstance(s, ir.ExprStmt):
            self.expr(s.expr)
        elif isinstance(s, ir.Count):
            COUNTS[s.label] = COUNTS.get(s.label, 0) + 1
        elif isinstance(s, ir.RegWrite):
            at = self.locate(s.reg, s.index)
            v = self.expr(s.value)
            if at is not None:
                self.bus.write(*at, cast(ir.Device, self.module).register(s.reg).ty.bits, v)
        elif isinstance(s, ir.Poll):
            held = False
            for k in range(s.tries):
                self.tick()
                if s.var is not None:
                    self.env[s.var] = self.expr(cast(ir.Expr, s.value))
                if self.expr(s.cond):
                    held = True
                    break
                if s.every and k + 1 < s.tries:
                    self.bus.delay(s.every)
            if hasattr(self.bus, "polled"):  # a test bus may count each poll's outcome
                self.bus.polled(s, held)
            if not held:
                self.block(s.else_)
        elif isinstance(s, ir.Delay):
            self.bus.delay(s.us)
        elif isinstance(s, ir.When):
            raise RuntimeError("a `when` reached the interpreter: specialise the module for a probe first")
        else:
            raise TypeError(f"not a statement: {s!r}")

    # -- expressions
    def expr(self, e: ir.Expr | ir.RegRead) -> Any:
        if isinstance(e, ir.Const):
            return D.fconst(e.ty.bits, e.value) if e.ty.is_float else e.value
        if isinstance(e, ir.Var):
            return self.env[e.name]
        if isinstance(e, ir.Load):
            i = self.expr(e.index)
            if i >= self.lengths[e.array]:  # out of range: reads 0
                return False if e.ty.is_bool else (D.fconst(e.ty.bits, 0.0) if e.ty.is_float else 0)
            v = self.arrays[e.array][i]
            return bool(v) if e.ty.is_bool else (v if e.ty.is_float else int(v))
        if isinstance(e, ir.Unary):
            a = self.expr(e.a)
            return sem.neg(D, e.ty, a) if e.op == "neg" else sem.bitnot(D, e.ty, a)
        if isinstance(e, ir.Binary):
            return self.binary(e)
        if isinstance(e, ir.Cast):
            return sem.cast(D, cast(ir.Scalar, e.a.ty), e.ty, self.expr(e.a))
        if isinstance(e, ir.Prim):
            return self.prim(e)
        if isinstance(e, ir.Call):
            return self.call(e)
        if isinstance(e, ir.RegRead):
            at = self.locate(e.reg, e.index)
            return 0 if at is None else self.bus.read(*at, e.ty.bits) & e.ty.mask
        raise TypeError(f"not an expression: {e!r}")

    def locate(self, reg: str, index: ir.Expr | None) -> tuple[int, int] | None:
        """(BAR, offset) of a register access, None past a register array's end."""
        return cast(ir.Device, self.module).locate(reg, None if index is None else self.expr(index))

    def binary(self, e: ir.Binary) -> Any:
        if e.op == "land":  # short-circuit: the right side may call
            return bool(self.expr(e.a)) and bool(self.expr(e.b))
        if e.op == "lor":
            return bool(self.expr(e.a)) or bool(self.expr(e.b))
        a, b = self.expr(e.a), self.expr(e.b)
        if e.op in ir.COMPARE:
            return sem.compare(D, cast(ir.Scalar, e.a.ty), e.op, a, b)
        if e.op == "shl":
            return sem.shl(D, e.ty, cast(ir.Scalar, e.b.ty), a, b)
        if e.op == "shr":
            return sem.shr(D, e.ty, cast(ir.Scalar, e.b.ty), a, b)
        return sem.BINARY[e.op](D, e.ty, a, b)

    def prim(self, e: ir.Prim) -> Any:
        fn, shape = sem.PRIMITIVES[e.name]
        args = [self.expr(a) for a in e.args]
        if shape == "select":
            return fn(D, e.ty, *args)
        t = e.args[0].ty
        if shape == "shift":
            return fn(D, t, e.args[1].ty, *args)
        return fn(D, t, *args)

    def call(self, e: ir.Call) -> Any:
        callee = cast("ir.Module | ir.Device", self.module).function(e.func)
        scalars, arrays = {}, {}
        for p, a in zip(callee.params, e.args):
            if isinstance(a, ir.ArrayRef):
                arrays[p.name] = self.arrays[a.name]
            else:
                scalars[p.name] = self.expr(a)
        # A call that breaks the callee's precondition is the caller's fault:
        # what follows is not defined (compiled code may assume it holds).
        _check_precondition(callee, scalars, f" (called at {e.span})")
        value = _call(self.module, callee, scalars, arrays, self.fuel, self.bus)
        return None if value is None else to_value(cast(ir.Scalar, callee.ret), value)
