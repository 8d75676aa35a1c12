"""Typed IR -> LLVM IR (llvmlite.ir), for every backend that goes through LLVM.

Every operator is lowered so that the result is exactly the one stated in
atlas/meaning/semantics.py.  LLVM leaves several of those edges undefined (division
by zero, `sdiv MIN, -1`, shifts by the width or more), so the operands are
made safe *before* the instruction and the result fixed up after it; a select
on the result alone would not help, because immediate UB or poison has
already happened.

Values inside a function use i1 for bool; at the ABI and in memory a bool
is one byte holding 0 or 1.  Locals live in entry-block allocas, which the
optimiser's SROA/mem2reg turn into registers.

The search's knobs (atlas.machine.backend.Realisation) become loop metadata on the
latch of every innermost loop and function attributes; see `loop_hints`.
Run-time counters (ir.Count) are exported i64 globals, incremented atomically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType

from llvmlite import ir as ll
from llvmlite.ir.values import ArgumentAttributes, FunctionAttributes

from atlas.meaning import affine, argfolds, ir, scans
from atlas.machine.backend import BackendError, Realisation

I1, I8, I32, I64 = ll.IntType(1), ll.IntType(8), ll.IntType(32), ll.IntType(64)


class ArgAttrs(ArgumentAttributes):
    """llvmlite's attribute list lacks 'readonly' on parameters (valid LLVM)."""

    _known = MappingProxyType({**ArgumentAttributes._known, "readonly": False})


class _FnAttrs(FunctionAttributes):
    """llvmlite's function attributes, plus LLVM's string attributes
    ('"prefer-vector-width"="256"'), which it does not know."""

    def add(self, name):
        if name.startswith('"'):
            return set.add(self, name)
        return super().add(name)


# ---------------------------------------------------------------- types and constants


def value_type(t: ir.Scalar) -> ll.Type:
    """The type of a value inside a function."""
    if t.is_bool:
        return I1
    if t.is_float:
        return ll.FloatType() if t.bits == 32 else ll.DoubleType()
    return ll.IntType(t.bits)


def abi_type(t: ir.Scalar) -> ll.Type:
    """The type at the C ABI and in memory: bool is a byte."""
    return I8 if t.is_bool else value_type(t)


def _suffix(t: ir.Scalar) -> str:
    """The type suffix of an overloaded intrinsic's name."""
    return f"f{t.bits}" if t.is_float else f"i{t.bits}"


def const(t: ir.Scalar, v) -> ll.Constant:
    if t.is_float:
        return ll.Constant(value_type(t), float(v))
    if t.is_bool:
        return ll.Constant(I1, int(bool(v)))
    v = int(v) & t.mask
    # print as a signed literal: LLVM's parser accepts it at any width
    return ll.Constant(value_type(t), v - (1 << t.bits) if v >> (t.bits - 1) else v)


def type_of(e: ir.Expr) -> ir.Scalar:
    """The type of an expression used as a value: only a call of a function
    that returns nothing has none, and the checker allows that only as a statement."""
    if e.ty is None:
        raise BackendError(f"internal error: {e.span}: {ir.pretty_expr(e)} gives no value")
    return e.ty


def contains_call(e) -> bool:
    return any(isinstance(x, ir.Call) for x in ir.walk(e))


def _vars(e) -> set[str]:
    return {x.name for x in ir.walk(e) if isinstance(x, ir.Var)}


# ---------------------------------------------------------------- the bounds proof


def _same_value(hi: ir.Expr, length: ir.Expr) -> bool:
    """hi is the length expression itself, or a cast of it that keeps every
    value (e.g. `len(x)`, the length widened to u64)."""
    if hi == length:
        return True
    if isinstance(hi, ir.Cast) and hi.a == length and hi.ty.is_int and type_of(length).is_int:
        src, dst = type_of(length), hi.ty
        return dst.bits > src.bits and (dst.signed or not src.signed)
    return False


def _int_value(c: ir.Const) -> int:
    """An integer constant's value (stored two's complement)."""
    v = int(c.value)
    return v - (1 << c.ty.bits) if c.ty.signed and v >> (c.ty.bits - 1) else v


def _at_most_length(hi: ir.Expr, length: ir.Expr) -> bool:
    """hi <= length, in hi's own order: hi has the value of the length, or
    is `min(x, L)` / `min(L, x)` of such an L (a tiered loop's
    `for i in b..min(e, n)`).  min is taken in hi's type, the same type
    and order the loop compares its variable in."""
    if _same_value(hi, length):
        return True
    if isinstance(hi, ir.Const) and isinstance(length, ir.Const) and hi.ty.is_int and length.ty.is_int:
        return 0 <= _int_value(hi) <= _int_value(length)  # e.g. `for k in 0..16` over a local `[T; 16]`
    return (
        isinstance(hi, ir.Prim)
        and hi.name == "min"
        and len(hi.args) == 2
        and hi.ty.is_int
        and any(_same_value(a, length) for a in hi.args)
    )


def index_in_range(
    index: ir.Expr, array: ir.Array, loops: list[ir.For], assigned: set[str] | frozenset[str] = frozenset()
) -> bool:
    """True when `index` is provably inside `array`, so the access needs no check.

    The proof, kept deliberately small: the index is the variable of an
    enclosing `for v in lo..hi` whose `hi` has the very value of the array's
    length expression (structurally equal, or a value-preserving cast of it),
    or is `min` of such a value and anything else, and v never goes below 0
    (v is unsigned, or lo is a non-negative signed constant).  Then
    0 <= lo <= v < hi <= length.  For-variables are immutable
    in their body; the parameters the length reads must not be assigned
    (`assigned`), so hi and the length computed on entry agree."""
    if not isinstance(index, ir.Var):
        return False
    loop = next((lp for lp in reversed(loops) if lp.var == index.name), None)
    if loop is None or not _at_most_length(loop.hi, array.length):
        return False
    if _vars(array.length) & assigned:
        return False
    if not loop.ty.signed:
        return True
    lo = loop.lo
    return (
        isinstance(lo, ir.Const)
        and lo.ty.is_int
        and (not lo.ty.signed or isinstance(lo.value, int) and not lo.value >> (lo.ty.bits - 1))
    )


# ---------------------------------------------------------------- loops and their hints


def _callees(stmts) -> set[str]:
    return {x.func for s in ir.walk_stmts(stmts) for e in ir.own_exprs(s) for x in ir.walk(e) if isinstance(x, ir.Call)}


@dataclass(frozen=True)
class _CalleeFacts:
    has_loop: bool  # the function, or one it calls, loops
    stores_float: bool  # ... or writes a float array


def callee_facts(module: ir.Module) -> dict[str, _CalleeFacts]:
    """What a call of each function brings into a loop once LLVM inlines it."""
    direct, calls = {}, {}
    for f in module.functions:
        floats = {name for name, a in f.arrays.items() if a.elem.is_float}
        body = list(ir.walk_stmts(f.body))
        direct[f.name] = [
            any(isinstance(s, (ir.For, ir.While)) for s in body),
            any(isinstance(s, ir.Store) and s.array in floats for s in body),
        ]
        calls[f.name] = _callees(f.body)
    changed = True
    while changed:  # close over calls (a fixed point: recursion is fine)
        changed = False
        for name, callees in calls.items():
            for c in callees:
                if c not in direct:
                    continue
                for k in (0, 1):
                    if direct[c][k] and not direct[name][k]:
                        direct[name][k] = changed = True
    return {n: _CalleeFacts(*v) for n, v in direct.items()}


def _loop_callees(loop) -> set[str]:
    """Functions called on every trip: by the body, and by a while's condition."""
    out = _callees(loop.body)
    if isinstance(loop, ir.While):
        out |= {x.func for x in ir.walk(loop.cond) if isinstance(x, ir.Call)}
    return out


def is_innermost(loop, facts: dict[str, _CalleeFacts]) -> bool:
    """No loop inside the body, nor in a function the loop calls."""
    body = list(ir.walk_stmts(loop.body))
    if any(isinstance(s, (ir.For, ir.While)) for s in body):
        return False
    return not any(facts.get(c, _CalleeFacts(True, True)).has_loop for c in _loop_callees(loop))


def carries_float(loop, float_arrays: set[str], facts: dict[str, _CalleeFacts]) -> bool:
    """True when an iteration may hand a float value on to the next one, so
    reordering the iterations' float operations would change the result:
    a float local from outside the loop assigned inside it (`s += a*b`), a
    float array element written at an address every iteration shares
    (which LLVM may promote to exactly such a register), or a call that
    writes float arrays."""
    body = list(ir.walk_stmts(loop.body))
    declared = {s.name for s in body if isinstance(s, ir.Let)}
    types: dict[str, ir.Scalar] = {}
    for s in body:
        if isinstance(s, ir.Assign):
            types[s.name] = type_of(s.value)
    if any(t.is_float and name not in declared for name, t in types.items()):
        return True
    varying = declared | set(types) | {s.var for s in body if isinstance(s, ir.For)}
    if isinstance(loop, ir.For):
        varying.add(loop.var)
    for s in body:
        if isinstance(s, ir.Store) and s.array in float_arrays and not (_vars(s.index) & varying):
            return True
    return any(facts.get(c, _CalleeFacts(True, True)).stores_float for c in _loop_callees(loop))


_MAX_WIDTH, _MAX_INTERLEAVE = 64, 16  # what LLVM's loop vectoriser accepts in a hint


def check_realisation(name: str, r: Realisation) -> None:
    """Refuse knobs LLVM would silently ignore, so a search never credits one."""

    def bad(what, why):
        raise BackendError(f"realisation of {name}: {what} {why}")

    for what, v, top in (("vector_width", r.vector_width, _MAX_WIDTH), ("interleave", r.interleave, _MAX_INTERLEAVE)):
        if v < 0 or v > top or v & (v - 1):
            bad(what, f"must be 0 or a power of two up to {top}, not {v}")
    if r.unroll < 0:
        bad("unroll", f"must be 0 or positive, not {r.unroll}")
    if r.prefer_width_bits < 0:
        bad("prefer_width_bits", f"must be 0 or positive, not {r.prefer_width_bits}")


def loop_hints(r: Realisation, float_carried: bool) -> list[tuple[str, int | None]]:
    """LLVM loop properties (name, i32 value or None) for one innermost loop.

    LLVM reads an explicit vectorize.width > 1 (like vectorize.enable) as
    leave to reorder floating-point reductions, and an interleave count > 1
    needs the same; Atlas's semantics forbid that, so on a loop that carries
    a float from one iteration to the next only the widths/counts that
    *disable* something (1) and the unroll count are given."""
    hints: list[tuple[str, int | None]] = []
    if r.vector_width == 1 or (r.vector_width > 1 and not float_carried):
        hints.append(("llvm.loop.vectorize.width", r.vector_width))
    if r.interleave == 1 or (r.interleave > 1 and not float_carried):
        hints.append(("llvm.loop.interleave.count", r.interleave))
    if r.unroll == 1:
        hints.append(("llvm.loop.unroll.disable", None))
    elif r.unroll > 1:
        hints.append(("llvm.loop.unroll.count", r.unroll))
    return hints


_LOOP_ID = re.compile(r'^(!\d+) = !\{ ?!"atlas\.loopid\.\d+"(.*?) ?\}$', re.M)


def patch_loop_ids(text: str) -> str:
    """Turn each stand-in node `!N = !{!"atlas.loopid.K", props...}` into the
    self-referential `!N = distinct !{!N, props...}` a loop ID must be
    (llvmlite's metadata API cannot make a node refer to itself)."""
    return _LOOP_ID.sub(lambda m: f"{m.group(1)} = distinct !{{{m.group(1)}{m.group(2)}}}", text)


def counter_symbol(function: str, label: str) -> str:
    """The exported i64 that counts `label` in `function` (atlas.machine.runtime reads it)."""
    return f"atlas_count_{function}_{label}"


# ---------------------------------------------------------------- the module


@dataclass
class Generated:
    """The unoptimised module and what the manifest reports about it."""

    text: str
    loops: dict[str, list[dict]] = field(default_factory=dict)  # function -> its innermost loops' hints
    counters: dict[str, list[str]] = field(default_factory=dict)  # function -> counter labels
    prefer_width: dict[str, int] = field(default_factory=dict)  # function -> prefer-vector-width given


class ModuleCodegen:
    def __init__(
        self,
        module: ir.Module,
        triple: str,
        data_layout: str,
        realise: dict[str, Realisation] | None = None,
        vector_bits=frozenset(),
    ):
        self.src = module
        self.realise = dict(realise or {})
        self.vector_bits = frozenset(vector_bits)  # prefer-vector-width values the CPU can honour
        self.facts = callee_facts(module)
        self.out = Generated("")
        self.loop_ids = 0
        self.m = ll.Module(name=module.sources[0][0] if module.sources else "atlas")
        self.m.triple = triple
        self.m.data_layout = data_layout
        self.funcs = {f.name: self._declare(f) for f in module.functions}
        self.counter_globals: dict[tuple[str, str], ll.GlobalVariable] = {}

    def _declare(self, f: ir.Function) -> ll.Function:
        args = [ll.PointerType() if isinstance(p.ty, ir.Array) else abi_type(p.ty) for p in f.params]
        ret = abi_type(f.ret) if f.ret is not None else ll.VoidType()
        fn = ll.Function(self.m, ll.FunctionType(ret, args), name=f.name)
        fn.attributes.add("nounwind")
        # a function that happens to share a C library name and prototype
        # (labs, ffs, ...) must not be "optimised" into the library's meaning
        fn.attributes.add("nobuiltin")
        r = self.realise.get(f.name)
        if r is not None and r.prefer_width_bits in self.vector_bits:
            # the widest vectors the vectoriser's cost model and the code
            # generator should use (LLVM's default comes from the CPU's
            # tuning, e.g. 256 on many AVX-512 parts)
            fn.attributes = _FnAttrs(fn.attributes)
            bits = r.prefer_width_bits
            fn.attributes.add(f'"prefer-vector-width"="{bits}"')
            fn.attributes.add(f'"min-legal-vector-width"="{bits}"')
            self.out.prefer_width[f.name] = bits
        for p, a in zip(f.params, fn.args):
            a.name = p.name
            a.attributes = ArgAttrs()
            if isinstance(p.ty, ir.Array):
                # the loader (and the checker, for calls) guarantees that no
                # array that is written overlaps another argument
                a.add_attribute("noalias")
                a.add_attribute("captures(none)")
                if not p.ty.mutable:
                    a.add_attribute("readonly")
            else:
                a.add_attribute("noundef")
                _extension(a, p.ty)
        if f.ret is not None:
            _extension(fn.return_value, f.ret)
        return fn

    def intrinsic(self, name: str, ret: ll.Type, args: list[ll.Type]) -> ll.Function:
        if name in self.m.globals:
            return self.m.globals[name]
        return ll.Function(self.m, ll.FunctionType(ret, args), name=name)

    def counter(self, f: ir.Function, label: str) -> ll.GlobalVariable:
        key = (f.name, label)
        if key not in self.counter_globals:
            name = counter_symbol(f.name, label)
            if name in self.m.globals:
                raise BackendError(
                    f"{f.span}: the counter {label!r} of {f.name} would be exported as "
                    f"{name!r}, a name already taken; choose another label"
                )
            g = ll.GlobalVariable(self.m, I64, name)
            g.initializer = ll.Constant(I64, 0)
            g.align = 8
            self.counter_globals[key] = g
            self.out.counters.setdefault(f.name, []).append(label)
        return self.counter_globals[key]

    def loop_id(self, props: list[tuple[str, int | None]]):
        """A stand-in node for one loop's ID; patch_loop_ids makes it distinct."""
        ops = [
            self.m.add_metadata([ll.MetaDataString(self.m, name)] + ([] if v is None else [ll.Constant(I32, v)]))
            for name, v in props
        ]
        self.loop_ids += 1
        return self.m.add_metadata([ll.MetaDataString(self.m, f"atlas.loopid.{self.loop_ids}"), *ops])

    def emit(self) -> Generated:
        for f in self.src.functions:
            FunctionCodegen(self, f).emit()
        self.out.text = patch_loop_ids(str(self.m))
        return self.out


def _extension(arg, t: ir.Scalar) -> None:
    """SysV passes i8/i16 (and bool) extended to 32 bits, as clang marks them."""
    if t.is_bool or (t.is_int and t.bits < 32):
        arg.add_attribute("signext" if t.signed else "zeroext")


def to_abi(b: ll.IRBuilder, v, t: ir.Scalar):
    return b.zext(v, I8) if t.is_bool else v


def from_abi(b: ll.IRBuilder, v, t: ir.Scalar):
    # any non-zero byte is true, as the interpreter reads a bool
    return b.icmp_unsigned("!=", v, ll.Constant(I8, 0)) if t.is_bool else v


class Arr:
    def __init__(self, ptr, ty: ir.Array, length):
        self.ptr, self.ty, self.length = ptr, ty, length


# ---------------------------------------------------------------- one function


def reassoc_folds(f: ir.Function) -> set[int]:
    """The float folds a `reassoc fn` lets be regrouped: in a `for` body,
    `s = s + e`, `s = e + s`, `s = s - e` or a product the same way, where s
    is a float declared outside the loop, set once in the body and read
    nowhere else in it.  The ids of those Binary nodes."""
    out: set[int] = set()
    if not f.reassoc:
        return out
    for loop in ir.walk_stmts(f.body):
        if not isinstance(loop, ir.For):
            continue
        local = {n for n, _ in ir.declared(loop.body)}
        for s in loop.body:
            if isinstance(s, ir.Assign) and s.name not in local and _is_fold(s, loop.body):
                out.add(id(s.value))
    return out


def _is_fold(s: ir.Assign, body: tuple) -> bool:
    v = s.value
    if not (isinstance(v, ir.Binary) and v.ty.is_float and v.op in ("add", "sub", "mul")):
        return False
    acc = ir.Var(s.name, v.ty)
    if v.a == acc:
        other = v.b
    elif v.b == acc and v.op != "sub":
        other = v.a
    else:
        return False
    reads = sum(
        1
        for t in ir.walk_stmts(body)
        for e in ir.own_exprs(t)
        for x in ir.walk(e)
        if isinstance(x, ir.Var) and x.name == s.name
    )
    sets = sum(1 for t in ir.walk_stmts(body) if isinstance(t, ir.Assign) and t.name == s.name)
    return reads == 1 and sets == 1 and not any(isinstance(x, ir.Var) and x.name == s.name for x in ir.walk(other))


class FunctionCodegen:
    def __init__(self, mc: ModuleCodegen, f: ir.Function):
        self.mc, self.f = mc, f
        self.fn = mc.funcs[f.name]
        self.vars: dict[str, tuple[ll.AllocaInstr, ir.Scalar]] = {}
        self.arrays: dict[str, Arr] = {}
        self.loops: list[ir.For] = []
        self.assigned = ir.assigned(f.body)
        self.realise = mc.realise.get(f.name)
        self.float_arrays = {name for name, a in f.arrays.items() if a.elem.is_float}  # locals too
        self.folds = reassoc_folds(f)
        self.lane_tiles: dict[tuple[ir.Scalar, str], ll.AllocaInstr] = {}  # lanes.py's, per type and role

    def emit(self) -> None:
        self.entry = self.fn.append_basic_block("entry")
        self.b = ll.IRBuilder(self.entry)
        scalars = [(p.name, p.ty, a) for p, a in zip(self.f.params, self.fn.args) if isinstance(p.ty, ir.Scalar)]
        for name, t, _ in scalars:
            self.local(name, t)
        for name, t in ir.declared(self.f.body):
            self.local(name, t)
        for name, la in self.f.local_arrays.items():  # the call's own storage, aligned for vectors
            slot = self.b.alloca(abi_type(la.elem), size=ll.Constant(I64, la.length), name=name)
            slot.align = 16
            self.arrays[name] = Arr(slot, la.ty, ll.Constant(I64, la.length))
        for name, t, a in scalars:
            self.b.store(from_abi(self.b, a, t), self.vars[name][0])
        for p, a in zip(self.f.params, self.fn.args):
            if isinstance(p.ty, ir.Array):
                self.arrays[p.name] = Arr(a, p.ty, self.array_length(p.ty))
        self.block(self.f.body)
        if not self.b.block.is_terminated:
            # the checker guarantees every path returns; this end is dead
            if self.f.ret is None:
                self.b.ret_void()
            else:
                self.b.ret(ll.Constant(abi_type(self.f.ret), 0))

    def local(self, name: str, t: ir.Scalar):
        # every slot is made at the top of the entry block before any code
        # (llvmlite builders hold positions as indices, so a second builder
        # inserting there later would shift the first one's position)
        if name not in self.vars:
            self.vars[name] = (self.b.alloca(value_type(t), name=name), t)
        return self.vars[name][0]

    def array_length(self, a: ir.Array):
        """The length as i64, evaluated once on entry.  A negative signed
        length (only a C caller breaking the contract can make one) is 0."""
        t = type_of(a.length)
        n = self.expr(a.length)
        if t.bits < 64:
            n = (self.b.sext if t.signed else self.b.zext)(n, I64)
        if t.signed:
            zero = ll.Constant(I64, 0)
            n = self.b.select(self.b.icmp_signed("<", n, zero), zero, n)
        return n

    def new_block(self, name: str) -> ll.Block:
        return self.fn.append_basic_block(name)

    # -- statements
    def block(self, stmts) -> None:
        for s in stmts:
            if self.b.block.is_terminated:  # after a return: dead code
                return
            getattr(self, "s_" + type(s).__name__)(s)

    def s_Let(self, s: ir.Let):
        v = self.expr(s.init)
        self.b.store(v, self.local(s.name, s.ty))

    def s_Assign(self, s: ir.Assign):
        slot, _ = self.vars[s.name]
        self.b.store(self.expr(s.value), slot)

    def s_ExprStmt(self, s: ir.ExprStmt):
        self.expr(s.expr)

    def s_Return(self, s: ir.Return):
        if s.value is None:
            self.b.ret_void()
        elif self.f.ret is None:
            raise BackendError(f"internal error: {s.span}: {self.f.name} returns nothing, yet this returns a value")
        else:
            self.b.ret(to_abi(self.b, self.expr(s.value), self.f.ret))

    def s_If(self, s: ir.If):
        cond = self.expr(s.cond)
        then, merge = self.new_block("if.then"), self.new_block("if.end")
        other = self.new_block("if.else") if s.else_ else merge
        self.b.cbranch(cond, then, other)
        self.arm(then, s.then, merge)
        if s.else_:
            self.arm(other, s.else_, merge)
        self.b.position_at_end(merge)  # no predecessors if both arms return: dead, still valid

    def arm(self, blk: ll.Block, body, merge: ll.Block) -> None:
        self.b.position_at_end(blk)
        self.block(body)
        if not self.b.block.is_terminated:
            self.b.branch(merge)

    def s_While(self, s: ir.While):
        head, body, done = self.new_block("while.cond"), self.new_block("while.body"), self.new_block("while.end")
        self.b.branch(head)
        self.b.position_at_end(head)
        self.b.cbranch(self.expr(s.cond), body, done)
        self.b.position_at_end(body)
        self.block(s.body)
        if not self.b.block.is_terminated:
            self.latch(s, self.b.branch(head))
        self.b.position_at_end(done)

    def latch(self, loop, br) -> None:
        """Hang the realisation's hints on the back edge of an innermost loop."""
        if self.realise is None or not is_innermost(loop, self.mc.facts):
            return
        carried = carries_float(loop, self.float_arrays, self.mc.facts)
        hints = loop_hints(self.realise, carried)
        self.mc.out.loops.setdefault(self.f.name, []).append(
            {
                "loop": f"for {loop.var}" if isinstance(loop, ir.For) else "while",
                "line": loop.span.line,
                "carries_float": carried,
                "hints": {name: (True if v is None else v) for name, v in hints},
            }
        )
        if hints:
            br.set_metadata("llvm.loop", self.mc.loop_id(hints))

    def s_Count(self, s: ir.Count):
        # monotonic: the library may run on several threads; no ordering needed
        self.b.atomic_rmw("add", self.mc.counter(self.f, s.label), ll.Constant(I64, 1), "monotonic")

    def s_For(self, s: ir.For):
        lo, hi = self.expr(s.lo), self.expr(s.hi)  # evaluated once
        slot = self.local(s.var, s.ty)
        scan = scans.match(s, self.f) if s.lanes else None
        if scan is not None:
            from .lanes import LaneScan  # whole blocks first; the plain loop below runs the rest

            LaneScan(self, scan).emit(s, lo, hi)
        elif s.lanes and (fold := argfolds.match(s, self.f)) is not None:
            from .lanes import LaneArg

            LaneArg(self, fold).emit(s, lo, hi)
        elif s.lanes and (aff := affine.match(s, self.f)) is not None:
            from .lanes import LaneAffine

            LaneAffine(self, aff).emit(s, lo, hi)
        else:
            self.b.store(lo, slot)
        head, body, done = self.new_block("for.cond"), self.new_block("for.body"), self.new_block("for.end")
        self.b.branch(head)
        self.b.position_at_end(head)
        i = self.b.load(slot, typ=value_type(s.ty))
        less = self.b.icmp_signed if s.ty.signed else self.b.icmp_unsigned
        self.b.cbranch(less("<", i, hi), body, done)
        self.b.position_at_end(body)
        self.loops.append(s)
        self.block(s.body)
        self.loops.pop()
        if not self.b.block.is_terminated:
            # i < hi, so i + 1 cannot wrap: the flag helps the trip-count analysis
            nxt = self.b.add(i, ll.Constant(i.type, 1), flags=["nsw" if s.ty.signed else "nuw"])
            self.b.store(nxt, slot)
            self.latch(s, self.b.branch(head))
        self.b.position_at_end(done)

    def s_LetArray(self, s: ir.LetArray):
        """Every element set to the value (a loop LLVM turns into memset where it can)."""
        arr, v = self.arrays[s.name], self.expr(s.init)
        before = self.b.block
        body, done = self.new_block("fill"), self.new_block("fill.end")
        self.b.branch(body)
        self.b.position_at_end(body)
        k = self.b.phi(I64)
        k.add_incoming(ll.Constant(I64, 0), before)
        self.store_elem(arr, k, v)
        nxt = self.b.add(k, ll.Constant(I64, 1), flags=["nuw"])
        k.add_incoming(nxt, body)
        self.b.cbranch(self.b.icmp_unsigned("<", nxt, arr.length), body, done)
        self.b.position_at_end(done)

    def s_Store(self, s: ir.Store):
        arr = self.arrays[s.array]
        idx = self.index64(s.index)
        v = self.expr(s.value)
        if s.inbounds or index_in_range(s.index, arr.ty, self.loops, self.assigned):
            self.store_elem(arr, idx, v)
            return
        ok, done = self.new_block("store.in"), self.new_block("store.end")
        self.b.cbranch(self.b.icmp_unsigned("<", idx, arr.length), ok, done)
        self.b.position_at_end(ok)
        self.store_elem(arr, idx, v)
        self.b.branch(done)
        self.b.position_at_end(done)

    def s_When(self, s):
        raise BackendError(
            "internal error: a `when` reached the LLVM lowering (the specialise stage must resolve every `when` first)"
        )

    # -- memory
    def index64(self, e: ir.Expr):
        """The index as i64, read as unsigned."""
        v = self.expr(e)
        return self.b.zext(v, I64) if type_of(e).bits < 64 else v

    def elem_ptr(self, arr: Arr, idx):
        return self.b.gep(arr.ptr, [idx], inbounds=True, source_etype=abi_type(arr.ty.elem))

    def load_elem(self, arr: Arr, idx):
        t = arr.ty.elem
        v = self.b.load(self.elem_ptr(arr, idx), typ=abi_type(t), align=max(1, t.bits // 8))
        return from_abi(self.b, v, t)

    def store_elem(self, arr: Arr, idx, v):
        t = arr.ty.elem
        self.b.store(to_abi(self.b, v, t), self.elem_ptr(arr, idx), align=max(1, t.bits // 8))

    # -- expressions
    def expr(self, e):
        return getattr(self, "e_" + type(e).__name__)(e)

    def e_Const(self, e: ir.Const):
        return const(e.ty, e.value)

    def e_Var(self, e: ir.Var):
        slot, t = self.vars[e.name]
        return self.b.load(slot, typ=value_type(t))

    def e_Load(self, e: ir.Load):
        arr = self.arrays[e.array]
        idx = self.index64(e.index)
        if e.inbounds or index_in_range(e.index, arr.ty, self.loops, self.assigned):
            return self.load_elem(arr, idx)
        # out of range reads 0: branch around the load (a select would not
        # do, the load itself would already be out of bounds)
        before = self.b.block
        ok, done = self.new_block("load.in"), self.new_block("load.end")
        self.b.cbranch(self.b.icmp_unsigned("<", idx, arr.length), ok, done)
        self.b.position_at_end(ok)
        v = self.load_elem(arr, idx)
        self.b.branch(done)
        self.b.position_at_end(done)
        phi = self.b.phi(value_type(e.ty))
        phi.add_incoming(v, ok)
        phi.add_incoming(const(e.ty, 0), before)
        return phi

    def e_Unary(self, e: ir.Unary):
        a = self.expr(e.a)
        if e.op == "neg":
            return self.b.fneg(a) if e.ty.is_float else self.b.neg(a)
        return self.b.not_(a)  # xor with all ones (i1: logical not)

    def e_Cast(self, e: ir.Cast):
        return self.cast(type_of(e.a), e.ty, self.expr(e.a))

    def e_Call(self, e: ir.Call):
        callee = self.mc.src.function(e.func)
        args = []
        for p, a in zip(callee.params, e.args):
            if isinstance(a, ir.ArrayRef):
                args.append(self.arrays[a.name].ptr)
            else:
                args.append(to_abi(self.b, self.expr(a), callee.scalar(p.name)))
        r = self.b.call(self.mc.funcs[e.func], args)
        return None if callee.ret is None else from_abi(self.b, r, callee.ret)

    def e_Binary(self, e: ir.Binary):
        if e.op in ir.LOGIC:
            return self.logic(e)
        t = type_of(e.a)
        a, b = self.expr(e.a), self.expr(e.b)  # left to right, as the interpreter
        B = self.b
        if e.op in ir.COMPARE:
            sym = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}[e.op]
            if t.is_float:
                # ordered, except != which is true when either side is NaN
                return (B.fcmp_unordered if e.op == "ne" else B.fcmp_ordered)(sym, a, b)
            return (B.icmp_signed if t.signed else B.icmp_unsigned)(sym, a, b)
        if e.op in ir.SHIFTS:
            return self.shift(e.op, t, type_of(e.b), a, b, e.b)
        if e.op in ir.BITWISE:
            return {"and": B.and_, "or": B.or_, "xor": B.xor}[e.op](a, b)
        if t.is_float:
            if e.op == "rem":
                raise BackendError("internal error: `%` on floats reached the LLVM lowering")
            op = {"add": B.fadd, "sub": B.fsub, "mul": B.fmul, "div": B.fdiv}[e.op](a, b)
            if id(e) in self.folds:
                # regrouping only (docs/language.md): LLVM may split the fold
                # into partial sums started at -0.0 (1.0) and tree-reduce them
                op.flags.append("reassoc")
            return op
        if e.op in ("div", "rem"):
            return self.divrem(e.op, t, a, b, e.b)
        return {"add": B.add, "sub": B.sub, "mul": B.mul}[e.op](a, b)

    def logic(self, e: ir.Binary):
        """&& and ||: plain i1 and/or, unless the right side calls a function;
        then it is evaluated only when needed, as the interpreter does."""
        a = self.expr(e.a)
        if not contains_call(e.b):
            b = self.expr(e.b)
            return self.b.and_(a, b) if e.op == "land" else self.b.or_(a, b)
        before = self.b.block
        rhs, done = self.new_block("logic.rhs"), self.new_block("logic.end")
        if e.op == "land":
            self.b.cbranch(a, rhs, done)
        else:
            self.b.cbranch(a, done, rhs)
        self.b.position_at_end(rhs)
        b = self.expr(e.b)
        rhs_end = self.b.block
        self.b.branch(done)
        self.b.position_at_end(done)
        phi = self.b.phi(I1)
        phi.add_incoming(ll.Constant(I1, 0 if e.op == "land" else 1), before)
        phi.add_incoming(b, rhs_end)
        return phi

    def divrem(self, op: str, t: ir.Scalar, a, b, b_expr):
        B = self.b
        if isinstance(b_expr, ir.Const) and b_expr.value != 0 and not (t.signed and b_expr.value == t.mask):
            # a constant divisor that is neither 0 nor (signed) -1: plain instruction
            return {("div", False): B.udiv, ("div", True): B.sdiv, ("rem", False): B.urem, ("rem", True): B.srem}[
                op, t.signed
            ](a, b)
        zero, one, ones = const(t, 0), const(t, 1), const(t, t.mask)
        by_zero = B.icmp_unsigned("==", b, zero)
        if not t.signed:
            safe = B.select(by_zero, one, b)
            if op == "div":
                return B.select(by_zero, ones, B.udiv(a, safe))  # a / 0 = all ones
            return B.select(by_zero, a, B.urem(a, safe))  # a % 0 = a
        by_m1 = B.icmp_unsigned("==", b, ones)
        safe = B.select(B.or_(by_zero, by_m1), one, b)  # never 0, never -1
        if op == "div":
            q = B.select(by_m1, B.neg(a), B.sdiv(a, safe))  # MIN / -1 wraps to MIN
            neg_a = B.icmp_signed("<", a, zero)
            return B.select(by_zero, B.select(neg_a, one, ones), q)  # a / 0 = a < 0 ? 1 : -1
        # a % -1 = srem(a, 1) = 0, as stated; a % 0 = a
        return B.select(by_zero, a, B.srem(a, safe))

    def shift(self, op: str, t: ir.Scalar, ts: ir.Scalar, a, s, s_expr):
        """<< and >>: the count is read as unsigned; counts >= width give 0
        (or all sign bits for a signed >>).  LLVM makes them poison, so the
        count is clamped before the shift."""
        B, w = self.b, t.bits
        arith = op == "shr" and t.signed
        plain = {"shl": B.shl, "shr": B.ashr if arith else B.lshr}[op]
        if isinstance(s_expr, ir.Const):
            if s_expr.value < w:
                return plain(a, const(t, s_expr.value))
            return B.ashr(a, const(t, w - 1)) if arith else const(t, 0)
        if ts.bits > w:  # compare in the count's own width
            ok = B.icmp_unsigned("<", s, ll.Constant(s.type, w))
            k = B.trunc(s, value_type(t))
        else:
            k = B.zext(s, value_type(t)) if ts.bits < w else s
            ok = B.icmp_unsigned("<", k, const(t, w))
        if arith:
            return B.ashr(a, B.select(ok, k, const(t, w - 1)))  # >> (w-1) = all sign bits
        r = plain(a, B.and_(k, const(t, w - 1)))  # always in range
        return B.select(ok, r, const(t, 0))

    def cast(self, src: ir.Scalar, dst: ir.Scalar, v):
        B = self.b
        if src == dst:
            return v
        if src.is_bool:
            return B.uitofp(v, value_type(dst)) if dst.is_float else B.zext(v, value_type(dst))
        if dst.is_bool:
            if src.is_float:
                return B.fcmp_unordered("!=", v, const(src, 0.0))  # NaN is true
            return B.icmp_unsigned("!=", v, const(src, 0))
        if src.is_float and dst.is_float:
            return (B.fpext if dst.bits > src.bits else B.fptrunc)(v, value_type(dst))
        if dst.is_float:
            return (B.sitofp if src.signed else B.uitofp)(v, value_type(dst))
        if src.is_float:
            # saturating, NaN -> 0: exactly the stated float -> int cast
            name = f"llvm.fpto{'s' if dst.signed else 'u'}i.sat.{_suffix(dst)}.{_suffix(src)}"
            return B.call(self.mc.intrinsic(name, value_type(dst), [value_type(src)]), [v])
        if dst.bits < src.bits:
            return B.trunc(v, value_type(dst))
        if dst.bits > src.bits:
            return (B.sext if src.signed else B.zext)(v, value_type(dst))
        return v  # same width, other signedness

    def call_intrinsic(self, base: str, t: ir.Scalar, args, extra=()):
        vt = value_type(t)
        fn = self.mc.intrinsic(f"{base}.{_suffix(t)}", vt, [vt] * len(args) + [x.type for x in extra])
        return self.b.call(fn, list(args) + list(extra))

    def e_Prim(self, e: ir.Prim):
        B = self.b
        args = [self.expr(a) for a in e.args]
        if e.name == "select":
            return B.select(*args)
        t = type_of(e.args[0])
        a = args[0]
        false = ll.Constant(I1, 0)
        n = e.name
        if n == "popcount":
            return self.call_intrinsic("llvm.ctpop", t, [a])
        if n in ("clz", "ctz"):  # i1 false: defined (= width) at 0
            return self.call_intrinsic("llvm.ctlz" if n == "clz" else "llvm.cttz", t, [a], [false])
        if n == "abs":
            if t.is_float:
                return self.call_intrinsic("llvm.fabs", t, [a])
            return self.call_intrinsic("llvm.abs", t, [a], [false]) if t.signed else a
        if n == "bswap":
            return self.call_intrinsic("llvm.bswap", t, [a])
        if n == "sqrt":
            return self.call_intrinsic("llvm.sqrt", t, [a])
        b = args[1]
        if n in ("min", "max"):
            sym = "<" if n == "min" else ">"
            if t.is_float:
                c = B.fcmp_ordered(sym, a, b)  # a NaN on either side gives b
            else:
                c = (B.icmp_signed if t.signed else B.icmp_unsigned)(sym, a, b)
            return B.select(c, a, b)
        if n in ("wmul", "mulhi"):
            wide = ll.IntType(2 * t.bits)
            ext = B.sext if t.signed else B.zext
            p = B.mul(ext(a, wide), ext(b, wide))
            if n == "wmul":
                return p
            return B.trunc(B.lshr(p, ll.Constant(wide, t.bits)), value_type(t))
        if n in ("add_sat", "sub_sat"):
            base = f"llvm.{'s' if t.signed else 'u'}{n[:3]}.sat"
            return self.call_intrinsic(base, t, [a, b])
        if n in ("rotl", "rotr"):
            # fshl/fshr take the count modulo the width; truncating a wider
            # count first keeps it modulo the width (widths are powers of two)
            ts = type_of(e.args[1])
            vt = value_type(t)
            k = B.trunc(b, vt) if ts.bits > t.bits else (B.zext(b, vt) if ts.bits < t.bits else b)
            return self.call_intrinsic("llvm.fshl" if n == "rotl" else "llvm.fshr", t, [a, a, k])
        raise BackendError(f"internal error: the LLVM lowering does not know primitive {n!r}")


# LLVM's code generator may call these itself (a loop that fills memory
# becomes memset); a function of ours with such a name would capture the call.
RESERVED = frozenset({"memcpy", "memmove", "memset", "memcmp", "bcmp"})


def generate(module: ir.Module, triple: str, data_layout: str, realise: dict[str, Realisation] | None = None) -> str:
    """The module as LLVM IR text (unoptimised)."""
    return lower_module(module, triple, data_layout, realise).text


def lower_module(
    module: ir.Module,
    triple: str,
    data_layout: str,
    realise: dict[str, Realisation] | None = None,
    vector_bits=frozenset(),
) -> Generated:
    """The module as LLVM IR text (unoptimised), with the loop hints and
    counters it carries.  `realise` maps function names to their knobs;
    `vector_bits` holds the prefer-vector-width values the CPU supports
    (any other is ignored)."""
    for name, r in (realise or {}).items():
        check_realisation(name, r)
    for f in module.functions:
        if f.name in RESERVED or f.name.startswith("llvm."):
            raise BackendError(
                f"{f.span}: a library cannot export a function named "
                f"{f.name!r}: the generated code itself calls the C library's "
                f"{f.name}; please rename it"
            )
        _reject_when(f.body)
    return ModuleCodegen(module, triple, data_layout, realise, vector_bits).emit()


def _reject_when(stmts) -> None:
    for s in stmts:
        if isinstance(s, ir.When):
            raise BackendError(
                f"internal error: a `when` at {s.span} reached the LLVM lowering "
                "(the specialise stage must resolve every `when` first)"
            )
        for body in (getattr(s, "then", ()), getattr(s, "else_", ()), getattr(s, "body", ())):
            _reject_when(body)
