"""A scan (atlas/meaning/scans.py) run W steps at a time.

For each block of W elements at i:

    v      = <e(i), ..., e(i+W-1)>              a vector load when e(i) is x[i]
                                                 (or an integer cast of it), else a
                                                 tile of e computed by a plain loop
                                                 first (LLVM vectorises it)
    v      = v (+) (v shifted up 1, 2, 4, ... lanes, the identity shifted in)
    out[i..i+W) = splat(s) (+) v                 (exclusive: v shifted up one lane)
    s      = s (+) v[W-1]

which is the loop's own result because (+) is associative and commutative
with that identity (search/lanes.py proves it for the type before it marks
a loop).  Blocks run while W steps remain and their stores (and the vector
loads) are within their arrays; the rest runs as the plain loop, which
also does whatever the source does out of range.  The loop variable is
unsigned, so i..i+W-1 are W adjacent elements; at 64 bits an index may be
base + i (a row of a matrix), base fixed in the loop, and a block runs only
where base + i .. base + i + W - 1 lies within the array, so without wrapping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import llvmlite.ir as ll

from atlas.meaning import ir, scans
from atlas.meaning.affine import Affine
from atlas.meaning.argfolds import ArgFold
from atlas.meaning.scans import Scan

from .codegen import Arr, value_type

if TYPE_CHECKING:
    from .codegen import FunctionCodegen

I1, I32, I64 = ll.IntType(1), ll.IntType(32), ll.IntType(64)
TILE = 1024  # elements of a computed tile: a few KiB, in the first-level cache
MAX_LANES = 64


def lanes_for(cg: "FunctionCodegen", ty: ir.Scalar) -> int:
    """W: the search's vector width when it set one, else as many lanes as
    the vectors the function prefers (the CPU's widest up to 256 bits)."""
    r = cg.realise
    if r is not None and r.vector_width >= 2:
        return min(r.vector_width, MAX_LANES)
    bits = cg.mc.out.prefer_width.get(cg.f.name)
    if bits is None:
        usable = [b for b in cg.mc.vector_bits if b <= 256]
        bits = max(usable) if usable else 128
    return max(2, min(MAX_LANES, bits // ty.bits))


class _Lanes:
    """What a loop run W elements at a time needs, whatever it computes:
    the elements of a block as a vector, read or computed into a tile."""

    def __init__(self, cg: "FunctionCodegen", ty: ir.Scalar, element: ir.Expr, negate: bool = False):
        self.cg, self.b = cg, cg.b
        self.ty, self.element, self.negate = ty, element, negate
        self.et = value_type(ty)
        self.align = ty.bits // 8
        self.w = lanes_for(cg, ty)
        self.vt = ll.VectorType(self.et, self.w)

    def splat(self, x, vt=None):
        vt = vt or self.vt
        one = self.b.insert_element(ll.Constant(vt, ll.Undefined), x, ll.Constant(I32, 0))
        return self.b.shuffle_vector(
            one, ll.Constant(vt, ll.Undefined), ll.Constant(ll.VectorType(I32, self.w), [0] * self.w)
        )

    def vptr(self, arr, idx):
        p = self.cg.elem_ptr(arr, idx)
        # arguments' pointers are opaque (the access gives the vector type); a scratch alloca's is typed
        return p if getattr(p.type, "is_opaque", True) else self.b.bitcast(p, self.vt.as_pointer())

    def vload(self, arr, idx):
        return self.b.load(self.vptr(arr, idx), typ=self.vt, align=self.align)

    def widened(self, arr, idx):
        """W elements of `arr` from idx, cast to the loop's type as the
        source's `as` does: truncated, or extended by their own signedness."""
        t = arr.ty.elem
        if t == self.ty:
            return self.vload(arr, idx)
        v = self.b.load(self.vptr(arr, idx), typ=ll.VectorType(value_type(t), self.w), align=t.bits // 8)
        if t.bits > self.ty.bits:
            return self.b.trunc(v, self.vt)
        if t.bits < self.ty.bits:
            return (self.b.sext if t.signed else self.b.zext)(v, self.vt)
        return v  # the same bits, read with the other signedness

    def room(self, loop: ir.For, i, hi, limits):
        """Whole blocks' worth of steps from i: those left, within each
        (array length, index) of `limits`."""
        B = self.b
        room = B.select(B.icmp_unsigned("<", i, hi), B.sub(hi, i), ll.Constant(i.type, 0))
        room = B.zext(room, I64) if loop.ty.bits < 64 else room
        for n, at in limits:
            past = B.icmp_unsigned(">=", at, n)
            room = _umin(B, room, B.select(past, ll.Constant(I64, 0), B.sub(n, at)))
        return room

    def past(self, i, k):
        """i + k in the loop variable's type (k an i64 count of steps, which
        fits there: the blocks lie within the loop's range)."""
        return self.b.add(i, self.b.trunc(k, i.type) if i.type.width < 64 else k)

    def each_step(self, loop: ir.For, i, count, name: str, body) -> None:
        """A plain loop over k = 0 .. count - 1 with the loop variable at
        i + k, running body(k) (hung with the realisation's hints, so LLVM
        may vectorise it), the variable left at i."""
        cg, B = self.cg, self.b
        islot = cg.local(loop.var, loop.ty)
        before = B.block
        each, done = cg.new_block(f"lanes.{name}"), cg.new_block(f"lanes.{name}.end")
        B.branch(each)
        B.position_at_end(each)
        k = B.phi(I64)
        k.add_incoming(ll.Constant(I64, 0), before)
        B.store(self.past(i, k), islot)
        cg.loops.append(loop)
        body(k)
        cg.loops.pop()
        k2 = B.add(k, ll.Constant(I64, 1), flags=["nuw"])
        k.add_incoming(k2, B.block)
        cg.latch(loop, B.cbranch(B.icmp_unsigned("<", k2, count), each, done))
        B.position_at_end(done)
        B.store(i, islot)

    def scratch(self, role: str) -> Arr:
        """TILE elements of the scan's type on the stack, one per role and
        type in a function (made at the top of the entry block)."""
        cg, B = self.cg, self.b
        key = (self.ty, role)
        if key not in cg.lane_tiles:
            here = B.block
            B.position_at_start(cg.entry)
            slot = B.alloca(self.et, size=ll.Constant(I64, TILE), name=f"lanes.{role}")
            slot.align = 64
            B.position_at_end(here)
            cg.lane_tiles[key] = slot
        length = ir.Const(TILE, ir.Scalar("uint", 64))
        return Arr(cg.lane_tiles[key], ir.Array(self.ty, length, True), ll.Constant(I64, TILE))

    def tile(self, loop: ir.For, i, count):
        """A tile of e(i), e(i+1), ... (count of them), computed by a plain
        loop, which LLVM may vectorise."""
        B = self.b
        tmp = self.scratch("tile")

        def fill(k):
            v = self.cg.expr(self.element)
            if self.negate:
                v = B.fneg(v) if self.ty.is_float else B.neg(v)
            self.cg.store_elem(tmp, k, v)

        self.each_step(loop, i, count, "fill", fill)
        return tmp

    def reading_blocks(self, loop: ir.For, lo, hi, src, name: str, run) -> None:
        """The blocks of a loop that reads its elements and stores nothing:
        while whole blocks of W steps remain, run(i, count, load) over
        count of them from i, load(k) giving the W elements from i + k (a
        vector load within the source array where src = (array, base) reads
        them so, else a tile computed TILE at a time); the loop variable is
        then left past them, where the plain loop goes on."""
        cg, B = self.cg, self.b
        islot = cg.local(loop.var, loop.ty)
        B.store(lo, islot)
        src_base = None if src is None or src[1] is None else cg.expr(src[1])
        head, body, done = cg.new_block(f"{name}.cond"), cg.new_block(f"{name}.body"), cg.new_block(f"{name}.end")
        B.branch(head)
        B.position_at_end(head)
        i = B.load(islot, typ=ll.IntType(loop.ty.bits))
        i64 = B.zext(i, I64) if loop.ty.bits < 64 else i
        at_src = i64 if src_base is None else B.add(src_base, i64)
        if src is None:
            room = _umin(B, self.room(loop, i, hi, []), ll.Constant(I64, TILE))
        else:
            room = self.room(loop, i, hi, [(cg.arrays[src[0]].length, at_src)])
        count = B.and_(room, ll.Constant(I64, -self.w))
        B.cbranch(B.icmp_unsigned("!=", count, ll.Constant(I64, 0)), body, done)
        B.position_at_end(body)
        if src is None:
            tile = self.tile(loop, i, count)
            run(i, count, lambda k: self.vload(tile, k))
        else:
            xs = cg.arrays[src[0]]
            run(i, count, lambda k: self.widened(xs, B.add(at_src, k)))
        B.store(self.past(i, count), islot)
        B.branch(head)
        B.position_at_end(done)


class LaneScan(_Lanes):
    def __init__(self, cg: "FunctionCodegen", scan: Scan):
        super().__init__(cg, scan.ty, scan.element, scan.negate)
        self.scan = scan
        self.ident = ll.Constant(self.vt, [ll.Constant(self.et, scans.identity(scan.op, scan.ty))] * self.w)

    # -- vector pieces
    def combine(self, a, b):
        """a (+) b, on vectors or on scalars alike."""
        B, op = self.b, self.scan.op
        if self.scan.ty.is_float:  # a `reassoc fn`'s sum or product, in the order the lanes give it
            return B.fadd(a, b) if op == "add" else B.fmul(a, b)
        if op in ("min", "max"):
            less = B.icmp_signed if self.scan.ty.signed else B.icmp_unsigned
            return B.select(less("<" if op == "min" else ">", a, b), a, b)
        return {"add": B.add, "mul": B.mul, "and": B.and_, "or": B.or_, "xor": B.xor}[op](a, b)

    def shifted(self, v, d: int):
        """v moved up d lanes, the identity in the d lanes at the bottom."""
        mask = [self.w + k if k < d else k - d for k in range(self.w)]
        return self.b.shuffle_vector(v, self.ident, ll.Constant(ll.VectorType(I32, self.w), mask))

    def step(self, v, carry):
        """Store the block's values at the current pointer and give the new carry."""
        d = 1
        while d < self.w:
            v = self.combine(v, self.shifted(v, d))
            d *= 2
        stored = self.shifted(v, 1) if self.scan.exclusive else v
        last = self.b.extract_element(v, ll.Constant(I32, self.w - 1))
        return self.combine(self.splat(carry), stored), self.combine(carry, last)

    # -- the blocks
    def emit(self, loop: ir.For, lo, hi) -> None:
        """Run whole blocks from lo, leaving the loop variable's and the
        carried value's slots where the plain loop is to go on."""
        cg, B, scan = self.cg, self.b, self.scan
        islot = cg.local(loop.var, loop.ty)
        sslot, _ = cg.vars[scan.acc]
        B.store(lo, islot)
        arrays = {n: a.ty for n, a in cg.arrays.items()}
        src = scan.direct(arrays)
        out = cg.arrays[scan.out]
        # a store at base + i (a row of a matrix): the base is the same in
        # every iteration, so it is evaluated once, here
        out_base = None if scan.base is None else cg.expr(scan.base)
        src_base = None if src is None or src[1] is None else cg.expr(src[1])
        head, body, done = cg.new_block("lanes.cond"), cg.new_block("lanes.body"), cg.new_block("lanes.end")
        B.branch(head)
        B.position_at_end(head)
        i = B.load(islot, typ=ll.IntType(loop.ty.bits))
        i64 = B.zext(i, I64) if loop.ty.bits < 64 else i
        at_out = i64 if out_base is None else B.add(out_base, i64)  # wraps as the source's index does
        at_src = i64 if src_base is None else B.add(src_base, i64)
        # how many steps may run as blocks now: those left, and those whose
        # elements lie within every array read or written as a vector
        limits = [(out.length, at_out)] + ([(cg.arrays[src[0]].length, at_src)] if src else [])
        room = self.room(loop, i, hi, limits)
        if src is None or scan.post is not None:
            room = _umin(B, room, ll.Constant(I64, TILE))
        count = B.and_(room, ll.Constant(I64, -self.w))  # whole blocks only
        B.cbranch(B.icmp_unsigned("!=", count, ll.Constant(I64, 0)), body, done)
        B.position_at_end(body)
        if scan.post is None:

            def put(k, v):
                B.store(v, self.vptr(out, B.add(at_out, k)), align=self.align)

        else:  # the values of s first, then what the source stores of each
            values = self.scratch("values")

            def put(k, v):
                B.store(v, self.vptr(values, k), align=self.align)

        if src is None:
            tile = self.tile(loop, i, count)
            self.blocks(count, lambda k: self.vload(tile, k), put)
        else:
            xs = cg.arrays[src[0]]
            self.blocks(count, lambda k: self.widened(xs, B.add(at_src, k)), put)
        if scan.post is not None:
            self.stores(loop, i, count, values)
        nxt = self.past(i, count)
        B.store(nxt, islot)
        B.branch(head)
        B.position_at_end(done)

    def blocks(self, count, load, put) -> None:
        """For k = 0, W, ... < count: the step on load(k), its values put(k, vector)."""
        cg, B = self.cg, self.b
        sslot, _ = cg.vars[self.scan.acc]
        before = B.block
        loop_b, end = cg.new_block("lanes.block"), cg.new_block("lanes.blocks.end")
        carry0 = B.load(sslot, typ=self.et)
        B.branch(loop_b)
        B.position_at_end(loop_b)
        k = B.phi(I64)
        carry = B.phi(self.et)
        k.add_incoming(ll.Constant(I64, 0), before)
        carry.add_incoming(carry0, before)
        stored, new = self.step(load(k), carry)
        put(k, stored)
        k2 = B.add(k, ll.Constant(I64, self.w), flags=["nuw"])
        k.add_incoming(k2, B.block)
        carry.add_incoming(new, B.block)
        B.cbranch(B.icmp_unsigned("<", k2, count), loop_b, end)
        B.position_at_end(end)
        B.store(new, sslot)

    def stores(self, loop: ir.For, i, count, values: Arr) -> None:
        """out[index] = post for each of the block's steps, s set to its
        value: a plain loop (LLVM may vectorise it), leaving s as the blocks
        left it."""
        cg, B, scan = self.cg, self.b, self.scan
        assert scan.post is not None and scan.index is not None
        sslot, _ = cg.vars[scan.acc]
        carry = B.load(sslot, typ=self.et)

        def store(k):
            B.store(cg.load_elem(values, k), sslot)
            cg.s_Store(ir.Store(scan.out, scan.index, scan.post))

        self.each_step(loop, i, count, "store", store)
        B.store(carry, sslot)


class LaneArg(_Lanes):
    """An arg-fold (atlas/meaning/argfolds.py) in W lanes: lane l keeps the
    best pair (element, position) of the best so far and the elements at
    i = l (mod W) of the blocks, by the loop's own comparison (each lane
    sees its positions in increasing order, so the step is the order's
    choice there, as the proof requires); the lanes are then combined by
    the order's choice, `better` in search/lanes.py, exactly.  The best so
    far is at position 0 and i at i + 1 (which fits: i < hi), so the kept
    index need not be before the blocks, nor of the loop variable's type."""

    def __init__(self, cg: "FunctionCodegen", fold: ArgFold):
        super().__init__(cg, fold.ty, fold.element)
        self.fold = fold
        self.it = value_type(fold.loop.ty)
        self.ivt = ll.VectorType(self.it, self.w)

    def compare(self, rel: str, a, b):
        """a rel b as the language compares: floats ordered (false on NaN)."""
        B = self.b
        sym = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "eq": "=="}[rel]
        if self.ty.is_float:
            return B.fcmp_ordered(sym, a, b)
        return (B.icmp_signed if self.ty.signed else B.icmp_unsigned)(sym, a, b)

    def emit(self, loop: ir.For, lo, hi) -> None:
        """Whole blocks from lo, the best so far and k left where the plain
        loop is to go on."""
        cg, B, fold = self.cg, self.b, self.fold
        kslot, _ = cg.vars[fold.index]

        def run(i, count, load):
            m = cg.expr(fold.best())  # m, or x[k] where the loop keeps no value
            best, where = self.blocks(i, count, load, m)
            at = ll.Constant(self.it, 0)
            for lane in range(self.w):
                lane_at = ll.Constant(I32, lane)
                m, at = self.better((m, at), (B.extract_element(best, lane_at), B.extract_element(where, lane_at)))
            if fold.value is not None:
                B.store(m, cg.vars[fold.value][0])
            k = cg.cast(loop.ty, fold.index_ty, B.sub(at, ll.Constant(self.it, 1)))  # `i as T`, as the loop wrote it
            kept = B.icmp_unsigned("==", at, ll.Constant(self.it, 0))
            B.store(B.select(kept, B.load(kslot, typ=value_type(fold.index_ty)), k), kslot)

        self.reading_blocks(loop, lo, hi, fold.direct({n: a.ty for n, a in cg.arrays.items()}), "arg", run)

    def blocks(self, i, count, load, m):
        """Each lane's best pair (element, position) over the best so far m,
        at position 0, and the blocks k = 0, W, ... < count (a lane that
        began at its first element would keep a NaN there)."""
        cg, B = self.cg, self.b
        iota = ll.Constant(self.ivt, [ll.Constant(self.it, n + 1) for n in range(self.w)])

        def indices(kk):  # the positions i + kk + l + 1
            return B.add(self.splat(self.past(i, kk), self.ivt), iota)

        first, first_at = self.splat(m, self.vt), ll.Constant(self.ivt, [ll.Constant(self.it, 0)] * self.w)
        before = B.block
        cond, step, end = cg.new_block("arg.block.cond"), cg.new_block("arg.block"), cg.new_block("arg.blocks.end")
        B.branch(cond)
        B.position_at_end(cond)
        kk, best, where = B.phi(I64), B.phi(self.vt), B.phi(self.ivt)
        kk.add_incoming(ll.Constant(I64, 0), before)
        best.add_incoming(first, before)
        where.add_incoming(first_at, before)
        B.cbranch(B.icmp_unsigned("<", kk, count), step, end)
        B.position_at_end(step)
        v = load(kk)
        took = self.compare(self.fold.rel, v, best)
        chosen, at, nxt = (
            B.select(took, v, best),
            B.select(took, indices(kk), where),
            B.add(kk, ll.Constant(I64, self.w)),
        )
        for phi, value in ((best, chosen), (where, at), (kk, nxt)):
            phi.add_incoming(value, B.block)
        B.branch(cond)
        B.position_at_end(end)
        return best, where

    def better(self, a: tuple, b: tuple) -> tuple:
        """Of the pairs a and b, the one the order keeps (search/lanes.py's `better`)."""
        B = self.b
        later = B.icmp_unsigned(">" if self.fold.later else "<", b[1], a[1])
        wins = B.or_(self.compare(self.fold.strict, b[0], a[0]), B.and_(self.compare("eq", b[0], a[0]), later))
        return B.select(wins, b[0], a[0]), B.select(wins, b[1], a[1])


class LaneAffine(_Lanes):
    """An affine fold (atlas/meaning/affine.py) in W lanes: lane j gathers
    the elements j, j + W, ... of the blocks by g = g * a^W + e, h starting
    in lane W - 1, and h = sum_j g_j * a^(W-1-j) after the blocks, all in
    the type's wrapping arithmetic (search/lanes.py proves the law).  W is
    several vectors' worth of lanes (the interleave knob, else four), so
    that as many multiply-add chains run at once: one alone waits on the
    multiply's latency at every block."""

    def __init__(self, cg: "FunctionCodegen", fold: Affine):
        super().__init__(cg, fold.ty, fold.element)
        r = cg.realise
        chains = r.interleave if r is not None and r.interleave >= 1 else 4
        self.w = min(MAX_LANES, self.w * chains)
        self.vt = ll.VectorType(self.et, self.w)
        self.fold = fold

    def emit(self, loop: ir.For, lo, hi) -> None:
        """Whole blocks from lo, h and the loop variable left where the
        plain loop is to go on."""
        cg, B, fold = self.cg, self.b, self.fold
        hslot, _ = cg.vars[fold.acc]
        a = cg.expr(fold.mul)  # the same in every iteration: evaluated once
        powers = [ll.Constant(self.et, 1)]  # a^0 .. a^W
        for _ in range(self.w):
            powers.append(B.mul(powers[-1], a))
        weights = ll.Constant(self.vt, ll.Undefined)  # lane j weighs a^(W-1-j)
        for j in range(self.w):
            weights = B.insert_element(weights, powers[self.w - 1 - j], ll.Constant(I32, j))
        stride = self.splat(powers[self.w])
        zero = ll.Constant(self.vt, [ll.Constant(self.et, 0)] * self.w)

        def run(i, count, load):
            first = B.insert_element(zero, B.load(hslot, typ=self.et), ll.Constant(I32, self.w - 1))
            before = B.block
            step, end = cg.new_block("affine.block"), cg.new_block("affine.blocks.end")
            B.branch(step)
            B.position_at_end(step)
            k, g = B.phi(I64), B.phi(self.vt)
            k.add_incoming(ll.Constant(I64, 0), before)
            g.add_incoming(first, before)
            g2 = B.add(B.mul(g, stride), load(k))
            k2 = B.add(k, ll.Constant(I64, self.w), flags=["nuw"])
            k.add_incoming(k2, B.block)
            g.add_incoming(g2, B.block)
            B.cbranch(B.icmp_unsigned("<", k2, count), step, end)
            B.position_at_end(end)
            weighed = B.mul(g2, weights)
            h = B.extract_element(weighed, ll.Constant(I32, 0))
            for j in range(1, self.w):
                h = B.add(h, B.extract_element(weighed, ll.Constant(I32, j)))
            B.store(h, hslot)

        self.reading_blocks(loop, lo, hi, fold.direct({n: x.ty for n, x in cg.arrays.items()}), "affine", run)


def _umin(B: ll.IRBuilder, a, b):
    return B.select(B.icmp_unsigned("<", a, b), a, b)
