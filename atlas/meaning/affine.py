"""Affine folds: a counted loop that carries one integer through a step
that is a multiple of it plus an element.

    for i in lo..hi {
        let t = ...;
        h = h * a + e(i);        (or (h << 5) + h + e(i), e(i) - h * a, ...)
    }

where the multiplier a is the same in every iteration and e(i) does not
read h: a polynomial hash (djb2's `h * 33 + c`, Java's `h * 31 + c`),
digits read into a number (`n * 10 + d`), Horner's rule at a fixed point.
In the integers modulo 2^bits the loop's value after n steps is
a^n h + sum_k a^(n-1-k) e(k), so it can run W lanes at a time: lane j
gathers the elements j, j + W, ... by g = g * a^W + e, h starts in lane
W - 1, and h = sum_j g_j a^(W-1-j) at the end (search/affine.py proves
both the reading and that law; backends/llvm/lanes.py emits the lanes).

The step is read by its terms (`linear`): h itself, sums, differences and
negations of terms, products of a term by a value that does not read h,
and a shift of a term left by a constant.  Anything else (an xor or a
right shift of h: FNV, or a hash that mixes) is not affine and is left
alone.  This module only recognises the form.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ir
from .scans import direct_load, fixed, pure, reads, scalar_of


@dataclass(frozen=True)
class Affine:
    loop: ir.For
    acc: str  # the carried value, declared before the loop
    ty: ir.Scalar  # its type, an integer
    mul: ir.Expr  # a: the same in every iteration
    element: ir.Expr  # e(i): the step less h * a, over the loop variable and what the loop does not change
    step: ir.Expr  # the step as written, lets inlined (what the reading is proven against)

    def direct(self, arrays: dict[str, ir.Array]) -> tuple[str, ir.Expr | None] | None:
        """(x, its base) where e(i) is x[base + i] or an integer cast of it:
        the elements of a block are then one vector load."""
        return direct_load(self.element, self.loop, arrays, self.ty)


def _op(op: str, a: ir.Expr, b: ir.Expr, ty: ir.Scalar) -> ir.Expr:
    """a op b, folded where both are constants or one is a neutral 1 (so
    that `(h << 5) + h` reads as h * 33)."""
    if isinstance(a, ir.Const) and isinstance(b, ir.Const):
        x, y = int(a.value), int(b.value)
        if op == "shl":  # counts in range only (linear): a wider one is not folded here
            v = x << y if y < ty.bits else None
        else:
            v = x + y if op == "add" else x - y if op == "sub" else x * y
        if v is not None:
            return ir.Const(v & ((1 << ty.bits) - 1), ty)
    if op == "mul" and isinstance(a, ir.Const) and a.value == 1:
        return b
    return ir.Binary(op, a, b, ty)


def _add(a: ir.Expr | None, b: ir.Expr | None, ty: ir.Scalar, op: str = "add") -> ir.Expr | None:
    """a op b where None stands for 0."""
    if b is None:
        return a
    if a is None:
        return b if op == "add" else _op("sub", ir.Const(0, ty), b, ty)
    return _op(op, a, b, ty)


def linear(e: ir.Expr, acc: str, ty: ir.Scalar) -> tuple[ir.Expr | None, ir.Expr | None] | None:
    """(c, r) with e = acc * c + r in the wrapping arithmetic of ty (None
    for a zero part), or None where e is not of that form by its terms."""
    if not reads(e, acc):
        return None, e
    if isinstance(e, ir.Var):
        return ir.Const(1, ty), None
    if e.ty != ty:
        return None
    if isinstance(e, ir.Binary) and e.op in ("add", "sub"):
        a, b = linear(e.a, acc, ty), linear(e.b, acc, ty)
        if a is None or b is None:
            return None
        return _add(a[0], b[0], ty, e.op), _add(a[1], b[1], ty, e.op)
    if isinstance(e, ir.Unary) and e.op == "neg":
        a = linear(e.a, acc, ty)
        return None if a is None else (_add(None, a[0], ty, "sub"), _add(None, a[1], ty, "sub"))
    if isinstance(e, ir.Binary) and e.op == "mul":
        term, k = (e.a, e.b) if reads(e.a, acc) else (e.b, e.a)
        a = linear(term, acc, ty)
        if a is None or reads(k, acc):
            return None
        return tuple(None if p is None else _op("mul", p, k, ty) for p in a)  # type: ignore[return-value]
    if isinstance(e, ir.Binary) and e.op == "shl" and isinstance(e.b, ir.Const) and 0 <= e.b.value < ty.bits:
        a = linear(e.a, acc, ty)
        if a is None:
            return None
        return tuple(None if p is None else _op("shl", p, e.b, ty) for p in a)  # type: ignore[return-value]
    return None


def match(loop: ir.For, fn: ir.Function) -> Affine | None:
    """The affine fold `loop` is, or None.  Its body holds lets and one
    assignment to the carried value, nothing else; a plain sum (a = 1) is
    left to the backend's own vectoriser."""
    if loop.ty.kind != "uint":  # indices i..i+W-1 then address W adjacent elements
        return None
    if not all(isinstance(s, (ir.Let, ir.Assign)) for s in loop.body):
        return None
    steps = [s for s in loop.body if isinstance(s, ir.Assign)]
    if len(steps) != 1 or loop.body[-1] is not steps[0]:
        return None
    acc = steps[0].name
    ty = scalar_of(fn, acc)
    if ty is None or not ty.is_int or acc == loop.var:
        return None
    env: dict[str, ir.Expr] = {}
    for s in loop.body[:-1]:
        assert isinstance(s, ir.Let)
        if s.name == acc or not pure(s.init):
            return None
        env[s.name] = ir.substitute(s.init, env)
    step = ir.substitute(steps[0].value, env)
    if not pure(step):
        return None
    split = linear(step, acc, ty)
    mul, element = split if split is not None else (None, None)
    if mul is None or not fixed(mul, loop) or (isinstance(mul, ir.Const) and mul.value in (0, 1)):
        return None
    return Affine(loop, acc, ty, mul, element if element is not None else ir.Const(0, ty), step)
