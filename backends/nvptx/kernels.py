"""GPU plans -> LLVM IR kernels for NVPTX.

The element code is the x86_64 backend's lowering of the intent's own
statements (atlas.backends.llvm.codegen, as for the CPU), which gives every
operator the exact result atlas/meaning/semantics.py states; only what surrounds it
is GPU-specific: which thread runs which elements, and how per-thread
partial results are combined (warp shuffles, shared memory, a second launch).

Launch shape (the search's genome for a GPU function):

    block        threads per block (a multiple of 32)
    per_thread   elements each thread handles per pass
    layout       strided: thread t takes t, t + block, ... (coalesced scalars);
                 contiguous: t takes per_thread neighbours, which the code
                 generator loads and stores as vectors
    grid_stride  a bounded grid loops over the range instead of one block per tile
    reduce       warp: butterfly shuffles, then one shared slot per warp;
                 tree: halving in shared memory
    tile         a 2-d map whose body is a dot product: a tile x tile block
                 stages tile x tile operands in shared memory per step of k
                 (0: each thread reads its own operands)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from llvmlite import ir as ll

from atlas.meaning import ir
from atlas.machine.backend import BackendError
from atlas.backends.llvm.codegen import (
    I32,
    I64,
    Arr,
    ArgAttrs,
    FunctionCodegen,
    ModuleCodegen,
    abi_type,
    const,
    from_abi,
    to_abi,
    value_type,
)

from .plan import Dot, Plan

SHARED = 3  # NVPTX's address space for block-shared memory
WARP = 32
RESIDENT_THREADS = 2048  # per multiprocessor, every architecture since sm_30


@dataclass(frozen=True)
class Shape:
    block: int = 256
    per_thread: int = 1
    layout: str = "strided"
    grid_stride: bool = False
    reduce: str = "warp"
    block_y: int = 1
    tile: int = 0

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def hash(self) -> str:
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()[:12]

    def describe(self) -> str:
        b = f"{self.block}x{self.block_y}" if self.block_y > 1 else str(self.block)
        return " ".join(
            filter(
                None,
                [
                    f"block={b}",
                    f"per_thread={self.per_thread}",
                    self.layout,
                    "grid-stride" if self.grid_stride else "",
                    self.reduce if self.reduce != "warp" else "",
                    f"tile={self.tile}" if self.tile else "",
                ],
            )
        )


def _acc_ty(plan: Plan) -> ir.Scalar:
    """A fold's or a scan's accumulator type (plan_for sets it for both)."""
    if plan.acc_ty is None:
        raise BackendError(f"internal error: the {plan.kind} plan of {plan.fn.name} has no accumulator")
    return plan.acc_ty


def _elem_bytes(plan: Plan) -> int:
    arrays = [p.ty.elem for p in plan.fn.params if isinstance(p.ty, ir.Array)]
    return min((max(1, t.bits // 8) for t in arrays), default=4)


def default_shape(plan: Plan) -> Shape:
    """The shape used before anything is measured: 16 bytes of the narrowest
    array per thread (one vector load), 256 threads."""
    per = max(1, min(16, 16 // _elem_bytes(plan)))
    if plan.kind == "map2d":
        return Shape(block=16, block_y=16, tile=16) if plan.dot else Shape(block=32, block_y=8)
    if plan.kind == "fold":
        return Shape(256, per, "contiguous", True, "warp")
    if plan.kind == "scan":
        return Shape(256, per, "contiguous")
    return Shape(256, per, "contiguous")


def space(plan: Plan) -> list[Shape]:
    """Every launch shape the search may try for the plan."""
    if plan.kind == "map2d":
        tiled = [Shape(block=t, block_y=t, tile=t) for t in (8, 16, 32)] if plan.dot else []
        return tiled + [
            Shape(block=x, block_y=y) for x, y in ((32, 4), (32, 8), (32, 16), (64, 4), (128, 2), (256, 1), (16, 16))
        ]
    pers = (1, 2, 4, 8, 16) if _elem_bytes(plan) == 1 else (1, 2, 4, 8)
    out = []
    for block in (128, 256, 512, 1024):
        for per in pers:
            layouts = ("strided",) if per == 1 else ("strided", "contiguous")
            if plan.kind == "scan":
                out.append(Shape(block, per, "contiguous"))
                continue
            for layout in layouts:
                if plan.kind == "fold":
                    out += [Shape(block, per, layout, True, r) for r in ("warp", "tree")]
                else:
                    out += [Shape(block, per, layout, g) for g in (False, True)]
    return out


def check_shape(plan: Plan, s: Shape) -> None:
    threads = s.block * s.block_y
    if (
        s.block % WARP
        and plan.kind != "map2d"
        or threads > 1024
        or threads % WARP
        or s.block & (s.block - 1)
        or s.per_thread < 1
        or s.layout not in ("strided", "contiguous")
        or s.reduce not in ("warp", "tree")
        or (s.tile and not (plan.dot and s.block == s.block_y == s.tile))
    ):
        raise BackendError(
            f"{plan.fn.name}: launch shape {s.describe()} is not one this backend "
            "builds (a power-of-two block of 32..1024 threads)"
        )


# ---------------------------------------------------------------- launch records


def launches(plan: Plan, s: Shape, sms: int) -> dict:
    """The host's part: the kernels to launch, in order, with their grids and
    arguments (the manifest's "gpu" block; see backends/nvptx/host.py)."""
    parts = _LaunchParts(
        name=plan.fn.name,
        params=[{"param": p.name} for p in plan.fn.params],
        n=plan.counts[0],
        tile=s.block * s.per_thread,
        cap=sms * (RESIDENT_THREADS // s.block) if s.grid_stride else None,
        block=[s.block, s.block_y],
    )
    gpu = {
        "plan": plan.kind,
        "shape": s.as_dict(),
        "requires": [{"param": p, "below": b} for p, b in plan.requires],
        "scratch": {},
        "result": None,
        "evidence": plan.evidence,
    }
    if plan.kind == "map":
        gpu["launches"] = _map_launches(parts)
    elif plan.kind == "map2d":
        gpu["launches"] = _map2d_launches(parts, plan, s)
    elif plan.kind == "fold":
        if plan.fn.ret is None:  # plan_for does not refuse this: say so rather than fail on None
            raise BackendError(f"{plan.fn.name}: a GPU fold needs a result, and the function returns nothing")
        gpu["scratch"] = _partials(plan)
        gpu["result"] = {"elem": plan.fn.ret.name}
        gpu["launches"] = _fold_launches(parts)
    else:
        gpu["scratch"] = _partials(plan)
        gpu["launches"] = _scan_launches(parts)
    return gpu


@dataclass(frozen=True)
class _LaunchParts:
    """What the launch records of one plan and shape are made of."""

    name: str  # the function's: every kernel's name starts with it
    params: list[dict]  # the function's arguments, which every kernel takes first
    n: str  # the parameter that bounds the (outer) loop
    tile: int  # elements per block
    cap: int | None  # at most this many blocks (a grid-stride loop covers the rest)
    block: list[int]  # threads per block, x and y


def _partials(plan: Plan) -> dict:
    """The scratch buffer of a fold or a scan: one accumulator per block."""
    return {"partials": {"elem": _acc_ty(plan).name, "count": {"blocks_of": 0}}}


def _map_launches(k: _LaunchParts) -> list[dict]:
    return [
        {
            "kernel": f"{k.name}__map",
            "block": k.block,
            "args": k.params,
            "grid": {"x": {"param": k.n, "per_block": k.tile, "max": k.cap}, "y": {"fixed": 1}},
        }
    ]


def _map2d_launches(k: _LaunchParts, plan: Plan, s: Shape) -> list[dict]:
    outer, inner = plan.counts
    return [
        {
            "kernel": f"{k.name}__map2d",
            "block": k.block,
            "args": k.params,
            "grid": {
                "x": {"param": inner, "per_block": s.block, "max": 2**31 - 1},
                "y": {"param": outer, "per_block": s.block_y, "max": 65535},
            },
        }
    ]


def _fold_launches(k: _LaunchParts) -> list[dict]:
    """Each block's partial result, then one block combining them into the result."""
    return [
        {
            "kernel": f"{k.name}__fold",
            "block": k.block,
            "args": k.params + [{"scratch": "partials"}],
            "grid": {"x": {"param": k.n, "per_block": k.tile, "max": k.cap}, "y": {"fixed": 1}},
        },
        {
            "kernel": f"{k.name}__finish",
            "block": k.block,
            "grid": {"x": {"fixed": 1}, "y": {"fixed": 1}},
            "args": k.params + [{"scratch": "partials"}, {"blocks_of": 0}, {"result": True}],
        },
    ]


def _scan_launches(k: _LaunchParts) -> list[dict]:
    """Each block's total, then one block turning the totals into each
    block's carry-in, then every block's elements again from its carry."""
    grid = {"x": {"param": k.n, "per_block": k.tile, "max": None}, "y": {"fixed": 1}}
    return [
        {
            "kernel": f"{k.name}__scan_reduce",
            "block": k.block,
            "grid": grid,
            "args": k.params + [{"scratch": "partials"}],
        },
        {
            "kernel": f"{k.name}__scan_carry",
            "block": k.block,
            "grid": {"x": {"fixed": 1}, "y": {"fixed": 1}},
            "args": k.params + [{"scratch": "partials"}, {"blocks_of": 0}],
        },
        {
            "kernel": f"{k.name}__scan_apply",
            "block": k.block,
            "grid": grid,
            "args": k.params + [{"scratch": "partials"}],
        },
    ]


# ---------------------------------------------------------------- the module


class KernelModule:
    """One LLVM module of kernels for one GPU."""

    def __init__(self, name: str, triple: str, data_layout: str):
        self.mc = ModuleCodegen(ir.Module((), ((name, ""),)), triple, data_layout)
        self.mc.m.name = name

    def add(self, plan: Plan, s: Shape) -> None:
        check_shape(plan, s)
        name = plan.fn.name
        if plan.kind == "map":
            _Kernel(self.mc, plan, s, f"{name}__map").map()
        elif plan.kind == "map2d":
            k = _Kernel(self.mc, plan, s, f"{name}__map2d")
            k.tiled() if s.tile else k.map2d()
        elif plan.kind == "fold":
            _Kernel(self.mc, plan, s, f"{name}__fold", [("partials", ll.PointerType())]).fold()
            _Kernel(
                self.mc,
                plan,
                s,
                f"{name}__finish",
                [("partials", ll.PointerType()), ("blocks", I32), ("result", ll.PointerType())],
            ).finish()
        else:
            _Kernel(self.mc, plan, s, f"{name}__scan_reduce", [("partials", ll.PointerType())]).fold()
            _Kernel(self.mc, plan, s, f"{name}__scan_carry", [("partials", ll.PointerType()), ("blocks", I32)]).carry()
            _Kernel(self.mc, plan, s, f"{name}__scan_apply", [("partials", ll.PointerType())]).apply()

    def text(self) -> str:
        return str(self.mc.m)


# ---------------------------------------------------------------- one kernel


@dataclass(frozen=True)
class _Tiling:
    """What every step of a tiled kernel (_Kernel.tiled) reads."""

    dot: Dot
    outer: ir.For  # the 2-d map's loops: rows, columns
    inner: ir.For
    t: ll.Constant  # the tile's side, as an i64
    xs: ll.GlobalVariable  # the x operands of a step, in shared memory
    ys: ll.GlobalVariable  # the y operands
    rows: ll.Value  # the loops' trip counts, i64
    cols: ll.Value
    depth: ll.Value  # the dot's k loop's
    combine: ir.Assign  # acc = acc + x.tile * y.tile


@dataclass(frozen=True)
class _TileThread:
    """Where one thread of a tiled kernel is: its output (i, j), its place
    in the block (ty, tx), and its slot in the shared tiles."""

    i: ll.Value
    j: ll.Value
    ty: ll.Value
    tx: ll.Value
    mine: ll.Value


class _Kernel(FunctionCodegen):
    """A kernel whose element code is the function's own loop body."""

    def __init__(self, mc: ModuleCodegen, plan: Plan, shape: Shape, name: str, extra=()):
        f = plan.fn
        args = [ll.PointerType() if isinstance(p.ty, ir.Array) else abi_type(p.ty) for p in f.params]
        kfn = ll.Function(mc.m, ll.FunctionType(ll.VoidType(), args + [t for _, t in extra]), name=name)
        kfn.calling_convention = "ptx_kernel"
        kfn.attributes.add("nounwind")
        # the block size it is launched with: ptxas keeps registers within
        # what that many threads may use, so the launch never runs out
        nvvm = mc.m.add_named_metadata("nvvm.annotations")
        for axis, n in (("maxntidx", shape.block), ("maxntidy", shape.block_y), ("maxntidz", 1)):
            nvvm.add(mc.m.add_metadata([kfn, ll.MetaDataString(mc.m, axis), ll.Constant(I32, n)]))
        for p, a in zip(f.params, kfn.args):
            a.name = p.name
            a.attributes = ArgAttrs()
            if isinstance(p.ty, ir.Array):
                # the host passes whole arrays: distinct, 16-byte aligned allocations
                a.add_attribute("noalias")
                if not p.ty.mutable:
                    a.add_attribute("readonly")
                a.attributes.align = 16
        self.extra = {}
        for (xname, _), a in zip(extra, kfn.args[len(f.params) :]):
            a.name = xname
            self.extra[xname] = a
        self.mc, self.f, self.fn, self.plan, self.shape = mc, f, kfn, plan, shape
        self.vars: dict[str, tuple[ll.AllocaInstr, ir.Scalar]] = {}
        self.arrays: dict[str, Arr] = {}
        self.loops: list[ir.For] = []
        self.assigned = ir.assigned(f.body)
        self.realise = None
        self.folds: set[int] = set()  # a kernel's fold is the plan's (per block, then the partials)
        self.float_arrays: set[str] = set()
        self.quiet = False  # run the body without its stores (a scan's first pass)
        self.entry = kfn.append_basic_block("entry")
        self.b = ll.IRBuilder(self.entry)
        scalars = [(p, a) for p, a in zip(f.params, kfn.args) if isinstance(p.ty, ir.Scalar)]
        for p, _ in scalars:
            self.local(p.name, p.ty)
        for name, t in ir.declared(f.body):
            self.local(name, t)
        if plan.dot is not None:  # a tile's operands, as the dot's combine reads them
            self.local("x.tile", plan.dot.x.ty)
            self.local("y.tile", plan.dot.y.ty)
        # the kernel's own counters, made here with the other slots (see FunctionCodegen.local)
        self.slots = {k: self.b.alloca(I64, name=k) for k in ("base", "pos", "k", "kk")}
        for p, a in scalars:
            self.b.store(from_abi(self.b, a, p.ty), self.vars[p.name][0])
        for p, a in zip(f.params, kfn.args):
            if isinstance(p.ty, ir.Array):
                self.arrays[p.name] = Arr(a, p.ty, self.array_length(p.ty))

    # -- small helpers
    def i64(self, v: int):
        return ll.Constant(I64, v)

    def sreg(self, name: str):
        fn = self.mc.intrinsic(f"llvm.nvvm.read.ptx.sreg.{name}", I32, [])
        return self.b.zext(self.b.call(fn, []), I64)

    def barrier(self) -> None:
        self.b.call(self.mc.intrinsic("llvm.nvvm.barrier0", ll.VoidType(), []), [])

    def when(self, cond, then) -> None:
        yes, done = self.new_block("k.then"), self.new_block("k.end")
        self.b.cbranch(cond, yes, done)
        self.b.position_at_end(yes)
        then()
        if not self.b.block.is_terminated:
            self.b.branch(done)
        self.b.position_at_end(done)

    def counted(self, slot: str, start, stop, step, body) -> None:
        """for (v = start; v < stop; v += step) body(v), on i64, unsigned."""
        ptr = self.slots[slot]
        self.b.store(start, ptr)
        head, loop, done = self.new_block("k.head"), self.new_block("k.loop"), self.new_block("k.done")
        self.b.branch(head)
        self.b.position_at_end(head)
        v = self.b.load(ptr, typ=I64)
        self.b.cbranch(self.b.icmp_unsigned("<", v, stop), loop, done)
        self.b.position_at_end(loop)
        body(v)
        self.b.store(self.b.add(self.b.load(ptr, typ=I64), step), ptr)
        self.b.branch(head)
        self.b.position_at_end(done)

    def count(self, loop: ir.For):
        v = self.expr(loop.hi)
        return self.b.zext(v, I64) if loop.ty.bits < 64 else v

    def set_var(self, loop: ir.For, v) -> None:
        """A loop variable's slot := v (i64)."""
        self.b.store(self.b.trunc(v, value_type(loop.ty)) if loop.ty.bits < 64 else v, self.vars[loop.var][0])

    def element(self, e, loops=None) -> None:
        """Run the loop body for element e (i64; (i, j) for a 2-d map)."""
        loops = loops or [(self.plan.loop, e)]
        for loop, v in loops:
            self.set_var(loop, v)
            self.loops.append(loop)
        self.block(self.plan.body)
        del self.loops[-len(loops) :]

    def s_Store(self, s: ir.Store):
        if not self.quiet:
            super().s_Store(s)

    def s_Return(self, s: ir.Return):
        # only a fold's finishing code returns: its value goes to the result buffer
        ret = self.f.ret
        if ret is None:  # plan_for does not refuse this: say so rather than fail on None
            raise BackendError(f"{self.f.name}: a GPU fold needs a result, and the function returns nothing")
        v = to_abi(self.b, self.expr(s.value), ret)
        self.b.store(v, self.extra["result"], align=max(1, ret.bits // 8))
        self.b.ret_void()

    # -- the accumulator's operator
    def identity(self):
        t, op = self.plan.acc_ty, self.plan.op
        if op in ("add", "or", "xor"):
            return const(t, -0.0 if t.is_float else 0)
        if op == "mul":
            return const(t, 1)
        if op == "and":
            return const(t, t.mask)
        lo, hi = (-(1 << (t.bits - 1)), (1 << (t.bits - 1)) - 1) if t.signed else (0, t.mask)
        return const(t, hi if op == "min" else lo)

    def combine(self, a, b):
        t, op, B = self.plan.acc_ty, self.plan.op, self.b
        if op == "add":
            return B.fadd(a, b) if t.is_float else B.add(a, b)
        if op == "mul":
            return B.fmul(a, b) if t.is_float else B.mul(a, b)
        if op in ("and", "or", "xor"):
            return getattr(B, op + ("_" if op != "xor" else ""))(a, b)
        cmp = B.icmp_signed if t.signed else B.icmp_unsigned
        return B.select(cmp("<" if op == "min" else ">", a, b), a, b)

    def acc_slot(self):
        return self.vars[self.plan.acc][0]

    # -- which elements this thread runs
    def tiles(self, each) -> None:
        """Call each(first element of the block's tile) for every tile this block owns."""
        s = self.shape
        tile = self.i64(s.block * s.per_thread)
        start = self.b.mul(self.sreg("ctaid.x"), tile)
        if s.grid_stride:
            self.counted("base", start, self.n, self.b.mul(self.sreg("nctaid.x"), tile), each)
        else:
            each(start)

    def chunk(self, base) -> None:
        """Run this thread's elements of the tile starting at `base`."""
        s, tid, n = self.shape, self.sreg("tid.x"), self.n
        if s.layout == "strided":
            for j in range(s.per_thread):
                e = self.b.add(base, self.b.add(tid, self.i64(j * s.block)))
                self.when(self.b.icmp_unsigned("<", e, n), lambda e=e: self.element(e))
            return
        first = self.b.add(base, self.b.mul(tid, self.i64(s.per_thread)))
        whole = self.b.icmp_unsigned("<=", self.b.add(first, self.i64(s.per_thread)), n)
        full, part, done = self.new_block("k.full"), self.new_block("k.part"), self.new_block("k.chunk")
        self.b.cbranch(whole, full, part)
        self.b.position_at_end(full)  # no checks: neighbouring loads become vector loads
        for j in range(s.per_thread):
            self.element(self.b.add(first, self.i64(j)))
        self.b.branch(done)
        self.b.position_at_end(part)  # the range's ragged end: a loop, so that no copy of
        end = self.b.add(first, self.i64(s.per_thread))  # the full path's code is shared with it
        end = self.b.select(self.b.icmp_unsigned("<", end, n), end, n)
        self.counted("pos", first, end, self.i64(1), self.element)
        self.b.branch(done)
        self.b.position_at_end(done)

    # -- combining across a block
    def shuffle(self, v, lanes: int):
        """v of the lane `lanes` away in the butterfly (any type up to 64 bits)."""
        t = _acc_ty(self.plan)
        bits = t.bits
        x = self.b.bitcast(v, ll.IntType(bits)) if t.is_float else v
        fn = self.mc.intrinsic("llvm.nvvm.shfl.sync.bfly.i32", I32, [I32, I32, I32, I32])

        def one(w):
            return self.b.call(fn, [ll.Constant(I32, -1), w, ll.Constant(I32, lanes), ll.Constant(I32, 31)])

        if bits <= 32:
            r = one(self.b.zext(x, I32) if bits < 32 else x)
            r = self.b.trunc(r, ll.IntType(bits)) if bits < 32 else r
        else:
            lo = one(self.b.trunc(x, I32))
            hi = one(self.b.trunc(self.b.lshr(x, ll.Constant(I64, 32)), I32))
            r = self.b.or_(self.b.zext(lo, I64), self.b.shl(self.b.zext(hi, I64), ll.Constant(I64, 32)))
        return self.b.bitcast(r, value_type(t)) if t.is_float else r

    def butterfly(self, v):
        for lanes in (16, 8, 4, 2, 1):
            v = self.combine(v, self.shuffle(v, lanes))
        return v

    def shared(self, count: int, ty: ir.Scalar | None = None):
        g = ll.GlobalVariable(
            self.mc.m,
            ll.ArrayType(value_type(ty or self.plan.acc_ty), count),
            f"{self.fn.name}.shared{len(self.mc.m.globals)}",
            addrspace=SHARED,
        )
        g.linkage = "internal"
        g.initializer = ll.Constant(g.value_type, ll.Undefined)  # shared memory has no initial value
        return g

    def at(self, g, i):
        return self.b.gep(g, [ll.Constant(I32, 0), self.b.trunc(i, I32)], inbounds=True)

    def reduce(self, v):
        """The block's combined value; valid in thread 0."""
        t, B = value_type(self.plan.acc_ty), self.shape.block * self.shape.block_y
        tid = self.sreg("tid.x")
        if self.shape.reduce == "tree":
            sh = self.shared(B)
            self.b.store(v, self.at(sh, tid))
            self.barrier()
            half = B // 2
            while half:

                def fold_in(h=half):
                    mine = self.at(sh, tid)
                    other = self.b.load(self.at(sh, self.b.add(tid, self.i64(h))), typ=t)
                    self.b.store(self.combine(self.b.load(mine, typ=t), other), mine)

                self.when(self.b.icmp_unsigned("<", tid, self.i64(half)), fold_in)
                self.barrier()
                half //= 2
            return self.b.load(self.at(sh, self.i64(0)), typ=t)
        v = self.butterfly(v)
        warps = B // WARP
        if warps == 1:
            return v
        sh = self.shared(WARP)
        lane, warp = self.b.and_(tid, self.i64(WARP - 1)), self.b.lshr(tid, self.i64(5))
        self.when(self.b.icmp_unsigned("==", lane, self.i64(0)), lambda: self.b.store(v, self.at(sh, warp)))
        self.barrier()
        w = self.b.load(self.at(sh, lane), typ=t)
        w = self.b.select(self.b.icmp_unsigned("<", lane, self.i64(warps)), w, self.identity())
        return self.butterfly(w)

    def exclusive(self, v):
        """Each thread's combination of the values of the threads before it
        (Hillis-Steele in shared memory, keeping the threads' order)."""
        t, B = value_type(self.plan.acc_ty), self.shape.block
        tid = self.sreg("tid.x")
        sh = self.shared(B)
        mine = self.at(sh, tid)
        self.b.store(v, mine)
        self.barrier()
        d = 1
        while d < B:
            has = self.b.icmp_unsigned(">=", tid, self.i64(d))
            idx = self.b.select(has, self.b.sub(tid, self.i64(d)), tid)
            x = self.b.load(self.at(sh, idx), typ=t)
            self.barrier()
            self.when(has, lambda x=x: self.b.store(self.combine(x, self.b.load(mine, typ=t)), mine))
            self.barrier()
            d *= 2
        has = self.b.icmp_unsigned(">", tid, self.i64(0))
        x = self.b.load(self.at(sh, self.b.select(has, self.b.sub(tid, self.i64(1)), tid)), typ=t)
        return self.b.select(has, x, self.identity())

    def partial(self, index):
        return self.b.gep(self.extra["partials"], [index], inbounds=True, source_etype=value_type(self.plan.acc_ty))

    # -- the kernels
    def prologue(self):
        self.block(self.plan.pre)
        self.n = self.count(self.plan.loop)

    def map(self) -> None:
        self.prologue()
        self.tiles(self.chunk)
        self.b.ret_void()

    def map2d(self) -> None:
        self.prologue()
        outer, inner = self.plan.loop, self.plan.inner
        if inner is None:
            raise BackendError(f"internal error: the 2-d map of {self.f.name} has no inner loop")
        rows, cols = self.n, self.count(inner)
        by, bx = self.i64(self.shape.block_y), self.i64(self.shape.block)
        i0 = self.b.add(self.b.mul(self.sreg("ctaid.y"), by), self.sreg("tid.y"))
        j0 = self.b.add(self.b.mul(self.sreg("ctaid.x"), bx), self.sreg("tid.x"))
        step_i = self.b.mul(self.sreg("nctaid.y"), by)
        step_j = self.b.mul(self.sreg("nctaid.x"), bx)
        self.counted(
            "base",
            i0,
            rows,
            step_i,
            lambda i: self.counted("pos", j0, cols, step_j, lambda j: self.element(None, [(outer, i), (inner, j)])),
        )
        self.b.ret_void()

    def tiled(self) -> None:
        """A 2-d map of dot products, a tile x tile block per tile of outputs:
        per step of k every thread stages one x and one y in shared memory
        (each the intent's own load, range-checked as the source reads it),
        then adds its products in k order, exactly as the loop does."""
        self.prologue()
        k = self._tiling()
        t = k.t
        # every thread of a block runs the same tiles, so all reach each barrier
        step_i = self.b.mul(self.sreg("nctaid.y"), t)
        step_j = self.b.mul(self.sreg("nctaid.x"), t)
        self.counted(
            "base",
            self.b.mul(self.sreg("ctaid.y"), t),
            k.rows,
            step_i,
            lambda ib: self.counted(
                "pos", self.b.mul(self.sreg("ctaid.x"), t), k.cols, step_j, lambda jb: self._tile(k, ib, jb)
            ),
        )
        self.b.ret_void()

    def _tiling(self) -> _Tiling:
        """What the tiled kernel's steps share, the plan checked to be a 2-d
        map of a dot `s + x * y`: the shared arrays for the operands' tiles
        made, the loops' counts computed, the product-adding statement."""
        d, T = self.plan.dot, self.shape.tile
        outer, inner = self.plan.loop, self.plan.inner
        if d is None or inner is None:  # check_shape allows a tile only for a 2-d map's dot
            raise BackendError(f"internal error: a tiled kernel for {self.f.name}, which has no dot product")
        v = d.combine.value
        if not (isinstance(v, ir.Binary) and isinstance(v.b, ir.Binary)):  # _dot's `s + x * y`
            raise BackendError(f"internal error: {d.combine.span}: the dot's combine is not `s + x * y`")
        rows, cols, depth = self.n, self.count(inner), self.count(d.loop)
        xs, ys = self.shared(T * T, d.x.ty), self.shared(T * T, d.y.ty)
        acc = ir.Var(d.init.name, d.init.ty)
        mul = v.b
        product = ir.Binary("mul", ir.Var("x.tile", d.x.ty), ir.Var("y.tile", d.y.ty), mul.ty, mul.span)
        combine = ir.Assign(acc.name, ir.Binary("add", acc, product, v.ty), d.combine.span)
        return _Tiling(d, outer, inner, self.i64(T), xs, ys, rows, cols, depth, combine)

    def _tile(self, k: _Tiling, ib, jb) -> None:
        """This thread's output of the tile whose first row is ib and first
        column jb: the steps of k, then the store (where it is in range)."""
        ty, tx = self.sreg("tid.y"), self.sreg("tid.x")
        i, j = self.b.add(ib, ty), self.b.add(jb, tx)
        me = _TileThread(i, j, ty, tx, mine=self.b.add(self.b.mul(ty, k.t), tx))
        self.s_Let(k.dot.init)
        self.counted("k", self.i64(0), k.depth, k.t, lambda k0: self._tile_step(k, me, k0))

        def out():
            self.set_var(k.outer, i)
            self.set_var(k.inner, j)
            self.s_Store(k.dot.store)

        inside = self.b.and_(self.b.icmp_unsigned("<", i, k.rows), self.b.icmp_unsigned("<", j, k.cols))
        self.when(inside, out)

    def _tile_step(self, k: _Tiling, me: _TileThread, k0) -> None:
        """The step of k from k0: this thread stages its x and its y in
        shared memory, then, once all have, adds the step's products."""
        self.set_var(k.outer, me.i)
        self.set_var(k.dot.loop, self.b.add(k0, me.tx))
        self.b.store(self.expr(k.dot.x), self.at(k.xs, me.mine))
        self.set_var(k.inner, me.j)
        self.set_var(k.dot.loop, self.b.add(k0, me.ty))
        self.b.store(self.expr(k.dot.y), self.at(k.ys, me.mine))
        self.barrier()
        left = self.b.sub(k.depth, k0)
        end = self.b.select(self.b.icmp_unsigned("<", left, k.t), left, k.t)
        self.counted("kk", self.i64(0), end, self.i64(1), lambda kk: self._tile_product(k, me, kk))
        self.barrier()

    def _tile_product(self, k: _Tiling, me: _TileThread, kk) -> None:
        """acc += x[ty][kk] * y[kk][tx], the operands read from shared memory."""
        t = k.t
        x = self.b.load(self.at(k.xs, self.b.add(self.b.mul(me.ty, t), kk)), typ=value_type(k.dot.x.ty))
        y = self.b.load(self.at(k.ys, self.b.add(self.b.mul(kk, t), me.tx)), typ=value_type(k.dot.y.ty))
        self.b.store(x, self.vars["x.tile"][0])
        self.b.store(y, self.vars["y.tile"][0])
        self.s_Assign(k.combine)

    def fold(self) -> None:
        """Each block's combined value of its elements -> partials[block].
        For a scan the body runs without its stores."""
        self.quiet = self.plan.kind == "scan"
        self.prologue()
        self.b.store(self.identity(), self.acc_slot())
        self.tiles(self.chunk)
        total = self.reduce(self.b.load(self.acc_slot(), typ=value_type(self.plan.acc_ty)))
        self.when(
            self.b.icmp_unsigned("==", self.sreg("tid.x"), self.i64(0)),
            lambda: self.b.store(total, self.partial(self.sreg("ctaid.x"))),
        )
        self.b.ret_void()

    def finish(self) -> None:
        """One block: combine the partials, then run the code around the
        loop once, with the loop's combined value folded into acc."""
        t = value_type(self.plan.acc_ty)
        blocks = self.b.zext(self.extra["blocks"], I64)
        self.b.store(self.identity(), self.acc_slot())
        self.counted(
            "pos",
            self.sreg("tid.x"),
            blocks,
            self.i64(self.shape.block),
            lambda p: self.b.store(
                self.combine(self.b.load(self.acc_slot(), typ=t), self.b.load(self.partial(p), typ=t)), self.acc_slot()
            ),
        )
        total = self.reduce(self.b.load(self.acc_slot(), typ=t))

        def last():
            self.block(self.plan.pre)
            self.b.store(self.combine(self.b.load(self.acc_slot(), typ=t), total), self.acc_slot())
            self.block(self.plan.post)

        self.when(self.b.icmp_unsigned("==", self.sreg("tid.x"), self.i64(0)), last)
        if not self.b.block.is_terminated:
            self.b.ret_void()

    def carry(self) -> None:
        """One block: partials[b] := the combination of partials[0..b) (exclusive)."""
        t = value_type(self.plan.acc_ty)
        blocks = self.b.zext(self.extra["blocks"], I64)
        B = self.i64(self.shape.block)
        per = self.b.udiv(self.b.add(blocks, self.i64(self.shape.block - 1)), B)
        first = self.b.mul(self.sreg("tid.x"), per)
        end = self.b.add(first, per)
        end = self.b.select(self.b.icmp_unsigned("<", end, blocks), end, blocks)
        acc = self.acc_slot()
        self.b.store(self.identity(), acc)
        self.counted(
            "pos",
            first,
            end,
            self.i64(1),
            lambda p: self.b.store(self.combine(self.b.load(acc, typ=t), self.b.load(self.partial(p), typ=t)), acc),
        )
        self.b.store(self.exclusive(self.b.load(acc, typ=t)), acc)

        def rewrite(p):
            x = self.b.load(self.partial(p), typ=t)
            running = self.b.load(acc, typ=t)
            self.b.store(running, self.partial(p))
            self.b.store(self.combine(running, x), acc)

        self.counted("pos", first, end, self.i64(1), rewrite)
        self.b.ret_void()

    def apply(self) -> None:
        """Each thread: its elements' combination (stores off), the threads'
        exclusive scan, then its elements again from the right running value."""
        t = value_type(self.plan.acc_ty)
        self.prologue()
        init = self.b.load(self.acc_slot(), typ=t)
        self.b.store(self.identity(), self.acc_slot())
        base = self.b.mul(self.sreg("ctaid.x"), self.i64(self.shape.block * self.shape.per_thread))
        self.quiet = True
        self.chunk(base)
        self.quiet = False
        before = self.exclusive(self.b.load(self.acc_slot(), typ=t))
        carried = self.b.load(self.partial(self.sreg("ctaid.x")), typ=t)
        self.b.store(self.combine(self.combine(init, carried), before), self.acc_slot())
        self.chunk(base)
        self.b.ret_void()
