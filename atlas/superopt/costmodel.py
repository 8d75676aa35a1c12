"""What each operation costs on this machine, as the x86_64 backend emits it.

The superoptimiser weighs candidate terms by the costs of their nodes.  The
static hints of primitives/core.yaml are one guess for every x86_64; this
module measures instead, once per machine, and caches the result under the
probe's fingerprint:

    table = for_probe(probe)           # cached, else measured, else the static hints
    table.cost("popcount", ir.U64)     # OpCost(latency=..., throughput=...)

What is measured.  For each operation of OPS at each type of TYPES: its
latency (from an operand to the result, when every op waits for the one
before) and its reciprocal throughput (time per op when many independent ones
are in flight), in units of this machine's 64-bit add latency, so add@u64 has
latency 1.0.

Whose code.  Each operation is an atlas.meaning.ir function `op_<op>_<t>(a, y, z, s,
c) -> T` lowered as the x86_64 backend lowers it (`atlas.backends.llvm.codegen.lower_module`) and optimised
by its O3 pipeline (`target.optimise`), so its guards and expansions (a
shift's count check, abs, mulhi) are the backend's.  The benchmark loops
around it are LLVM IR written here; the op is made internal and always
inlined into them, the whole module is optimised again by `target.optimise`
(which hoists what the backend's code leaves loop-invariant, as in a real
loop), emitted by the probe's target machine (`target.target_for`: the
probe's CPU features decide the instructions, so a probe without popcnt
gives no popcnt instruction) and linked by `target.link_shared`.  Everything
is one module and one shared library.

  latency      a = keep(op(a)) K times per trip: each op waits for the one before
  throughput   CHAINS accumulators, each a_j = keep(op(a_j)), ROUNDS times per trip
  baseline     the same loops with keep alone; each figure is (loop - baseline) / K
  vector       out[i] = VK applications of op to a[i] (with b[i]), each kept by
               an xor or an add of a value the compiler cannot see, over
               VEC_LEN elements, passes of it per call: a loop the backend's
               vectoriser takes, at every integer width (8 to 64 bits, where
               a lane's width sets how many one instruction does); the
               figure is (loop - the chain of keepers alone) / (VEC_LEN * VK)
               per element

op(a) is op(a, y), or op(a, s) for shifts and rotates: y and s (s = 3, in
range, as programs use) are arguments the compiler cannot see, so they are
loop-invariant but never folded.  LLVM would fold a plain chain (`a + y + y`
is `a + 2*y`), so every result passes through `keep`: an empty inline asm
tying its output register to its input (`asm sideeffect "", "=r,0"`).  It
emits no instruction, yet the optimiser cannot see through it, drop it or
hoist it.  Where two types give the same optimised IR for an op (add is the
same at u32 and i32; shr is not), it is timed once and both get the figure.

Operations that need help to form a chain:
  select    the condition is computed once per trip from a value passed
            through keep (a loop-invariant one would be unswitched);
  eq, lt    a bool cannot feed the next compare: the chain is
            a = select(a OP y, a, z), less the select's own cost (in
            the vector loop a compare's lanes are all ones or zeros, so it
            chains alone: a = sext(a OP b), with no select to take off);
  cast      bool -> T, measured as a = (a < y) as T, less the compare (lt);
  div       a = (a / s) ^ y, less the xor: a divide by a run-time count
            (guards included, as for shifts), whose quotient never shrinks
            to 0 (some dividers finish early on small quotients).  A divide
            by a constant is priced as mulhi: LLVM emits no divide for it.
In the vector loop every operand varies by element, as in a map: b is
the second operand and the count (1 to the width less one), a select's
condition is the chain value's low bit, and a compare's other arm a value
the compiler cannot see.  The rotate after each application is by a count
that is 0 at run time but unknown to the compiler, so LLVM folds nothing
(a + b + b would be a + 2b), and the vector units, not the loads and
stores, bound the loop; four vectors are in flight per trip (an
interleave hint), so a chain's latency is not what is timed.  What has no vector instruction here (a divide; a shift of
bytes or a 64-bit multiply-high on most x86_64) is done lane by lane, and
its figure says so.  The three arrays share one 64-byte-aligned buffer,
apart by a few cache lines more than a multiple of 4 KiB, so that no
benchmark's loads and stores alias by their low address bits (which slowed
some benchmarks twofold and not others, from run to run).
Every trip also holds an inner loop that never runs, whose bound comes
through keep: the trip loop is then not innermost, and x86's cmov-to-branch
conversion (which looks only at innermost loops) leaves min, max, abs and
compare+select as the cmovs the backend emits wherever they are not on a
loop's critical path.  On the chain it would make them branches, perfectly
predicted here, and time nothing.

Timing.  One ctypes call runs n trips, n chosen so that a call lasts about
SAMPLE_NS (the call's own microsecond is then small, and cancels in the
subtraction); samples go round-robin over all benchmarks, `repeats` rounds,
and the median of each is kept, so a passing disturbance spoils one sample
of many benchmarks rather than every sample of one.

Caveats.  On a VM or a busy machine figures move by several per cent from
run to run; they are rounded to 0.01 unit.  An op that costs nothing here
(abs of an unsigned value is the value) or less than the noise gets
MIN_COST, so that no operator is free.  The loop's own counter and branch
run beside a latency chain, so latencies come out a little low (about 1/K of
a cycle), and derived figures (eq, lt, cast) carry the noise of the two or
three they are computed from.  A shift's count is a run-time value here, so
its cost includes the backend's guard (a cmov, or the count masked); a
shift by a constant is cheaper.
"""

from __future__ import annotations

import ctypes
import json
import platform
import re
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from ..logic.costs import (
    OPS,
    TYPES,
    VECTOR_TYPES,
    CostTable,
    OpCost,
    cache_path,
    cached,
    has_vector,
    nearest,
    stamp,
    static_table,
)
from ..meaning import ir
from ..machine.probe import Probe

__all__ = ["OPS", "TYPES", "CostTable", "OpCost", "cache_path", "static_table", "for_probe", "measure", "can_measure"]


K = 32  # ops per trip, in both kinds of benchmark
CHAINS, ROUNDS = 8, 4  # throughput: independent chains x ops on each per trip (= K)
SAMPLE_NS = 400_000  # the length of one timed call
MIN_COST = 0.1  # no operator is free (and below this it is noise)
VEC_LEN = 2048  # elements per pass of a vector benchmark: its arrays stay in the L1 cache
VK = 8  # applications per element in a vector benchmark
MIN_VECTOR = 0.01  # per element: the floor of a vector figure

_UNARY = {"not", "neg", "popcount", "clz", "ctz", "bswap", "abs"}
_COUNTED = {"shl", "shr", "rotl", "rotr"}
_PRIMS = {"popcount", "clz", "ctz", "bswap", "rotl", "rotr", "min", "max", "abs", "mulhi", "add_sat", "sub_sat"}

# The arguments, as bit patterns: x starts the chains, y is the second
# operand (odd, so a multiply chain never collapses to 0), z the other arm
# of a compare's select and (non-zero) the select benchmark's condition, s
# a shift or rotate count.
_X, _Y, _Z, _S = 0x12345, 0x9E3779B1, 1, 3
_K = 0x9E3779B97F4A7C15  # the vector chains' keeper value: mixed bits at every width


# ---------------------------------------------------------------- the benchmarks


def _op_name(op: str, t: ir.Scalar) -> str:
    return f"op_{op}_{t.name}"


def _bench_name(op: str | None, t: ir.Scalar, mode: str) -> str:
    return f"bench_{op or 'none'}_{t.name}_{mode}"


def _op_expr(op: str, t: ir.Scalar) -> ir.Expr:
    """`op` applied to a, with y (or the count s) as its second operand."""
    a, y, z, s = (ir.Var(n, t) for n in "ayzs")
    if op in ("not", "neg"):
        return ir.Unary(op, a, t)
    if op in ("eq", "lt"):
        return ir.Prim("select", (ir.Binary(op, a, y, ir.BOOL), a, z), t)
    if op == "cast":
        return ir.Cast(ir.Binary("lt", a, y, ir.BOOL), t)
    if op == "select":
        return ir.Prim("select", (ir.Var("c", ir.BOOL), a, y), t)
    if op == "div":  # by the count 3, xor y: the quotient stays full width, never 0
        return ir.Binary("xor", ir.Binary("div", a, s, t), y, t)
    if op in _UNARY:
        return ir.Prim(op, (a,), t)
    second = s if op in _COUNTED else y
    if op in _PRIMS:
        return ir.Prim(op, (a, second), t)
    return ir.Binary(op, a, second, t)


def _op_function(op: str, t: ir.Scalar) -> ir.Function:
    """fn op_<op>_<t>(a: T, y: T, z: T, s: T, c: bool) -> T { return <op>; }"""
    params = tuple(ir.Param(n, t) for n in "ayzs") + (ir.Param("c", ir.BOOL),)
    return ir.Function(_op_name(op, t), params, t, (ir.Return(_op_expr(op, t)),))


_DEFINE = re.compile(r'^define [^\n]*?@"?(op_\w+)"?\(.*?^\}$', re.M | re.S)
_HEADER = re.compile(r'^(define [^\n]*?@"?op_\w+"?\([^\n]*\)[^\n]*?) \{$', re.M)


def _operations(ops, types, tm, triple: str, vector=()) -> tuple[str, dict]:
    """The backend's code for every op at every type, and for the (op,
    type) pairs of `vector` besides: (LLVM IR text with each op_<op>_<t>
    lowered, optimised, made internal and always inlined, {(op, t): the
    type whose scalar benchmark times it}).  Optimising these small
    functions first also leaves the large module much less to do."""
    from atlas.backends.x86_64 import target as tgt
    from atlas.backends.llvm.codegen import lower_module

    pairs = dict.fromkeys([(op, t) for t in types for op in ops] + list(vector))
    functions = tuple(_op_function(op, t) for op, t in pairs)
    lowered = lower_module(ir.Module(functions), triple, str(tm.target_data)).text
    text = str(tgt.optimise(lowered, tm))
    bodies = {m.group(1): m.group(0).replace(m.group(1), "OP") for m in _DEFINE.finditer(text)}
    if len(bodies) != len(functions):
        raise RuntimeError(f"internal error: found {len(bodies)} of the {len(functions)} lowered operations")
    timed_as: dict = {}
    first: dict = {}
    for t in types:  # the scalar benchmarks
        for op in ops:
            # the same IR at the same width is the same machine code
            key = (t.bits, bodies[_op_name(op, t)])
            timed_as[op, t] = first.setdefault(key, t)
    text, made = _HEADER.subn(lambda m: m.group(1).replace("define ", "define internal ", 1) + " alwaysinline {", text)
    if made != len(functions):
        raise RuntimeError(f"internal error: could mark {made} of the {len(functions)} operations inlinable")
    return text, timed_as


def _keep(ty: str, v: str) -> str:
    return f'call {ty} asm sideeffect "", "=r,0"({ty} {v})'


def _bench_text(op: str | None, t: ir.Scalar, mode: str) -> str:
    """LLVM IR of one benchmark: n trips of K applications of op_<op>_<t>
    (none for the baseline), as one dependent chain (mode "lat") or CHAINS
    interleaved ones ("thr"), each result passed through the barrier."""
    ty = f"i{t.bits}"
    chains, rounds = (1, K) if mode == "lat" else (CHAINS, ROUNDS)
    out = _bench_entry(op, t, mode, chains)
    body, cur = _bench_trip(op, t, chains, rounds)
    out += body
    out += _bench_inner(ty)
    out += _bench_exit(ty, cur)
    return "\n".join(out)


def _bench_entry(op: str | None, t: ir.Scalar, mode: str, chains: int) -> list[str]:
    """The benchmark's definition, its entry block and the head of the trip
    loop: a phi per chain, each chain from its own starting value."""
    ty = f"i{t.bits}"
    out = [
        f'define {ty} @"{_bench_name(op, t, mode)}"(i64 %n, {ty} %x, {ty} %y, {ty} %z, {ty} %s) nounwind {{',
        "entry:",
    ]
    # distinct starting values, so that no two chains are one value
    out += [f"  %x.{j} = add {ty} %x, {j}" for j in range(chains)]
    out += [
        "  %go = icmp ne i64 %n, 0",
        "  br i1 %go, label %trip, label %done",
        "trip:",
        "  %i = phi i64 [0, %entry], [%i.next, %latch]",
    ]
    out += [f"  %a{j}.0 = phi {ty} [%x.{j}, %entry], [%a{j}.end, %latch]" for j in range(chains)]
    return out


def _bench_trip(op: str | None, t: ir.Scalar, chains: int, rounds: int) -> tuple[list[str], list[str]]:
    """The applications of one trip, `rounds` of them on each chain in turn:
    (their lines, the value that ends each chain)."""
    ty = f"i{t.bits}"
    out: list[str] = []
    cur = [f"%a{j}.0" for j in range(chains)]
    c = "0"
    if op == "select":
        # once per trip, through the barrier: neither hoisted nor unswitched
        out += [f"  %cz = {_keep(ty, '%z')}", f"  %cb = icmp ne {ty} %cz, 0", "  %c = zext i1 %cb to i8"]
        c = "%c"
    step = 0
    for _ in range(rounds):
        for j in range(chains):
            step += 1
            v = cur[j]
            if op is not None:
                out.append(f'  %r{step} = call {ty} @"{_op_name(op, t)}"({ty} {v}, {ty} %y, {ty} %z, {ty} %s, i8 {c})')
                v = f"%r{step}"
            out.append(f"  %k{step} = {_keep(ty, v)}")
            cur[j] = f"%k{step}"
    return out, cur


def _bench_inner(ty: str) -> list[str]:
    """The inner loop that never runs (see the module's docstring)."""
    return [
        f"  %m = {_keep(ty, '0')}",
        f"  %inner.go = icmp ne {ty} %m, 0",
        "  br i1 %inner.go, label %inner, label %latch",
        "inner:",
        f"  %j = phi {ty} [0, %trip], [%j.next, %inner]",
        f"  %j.kept = {_keep(ty, '%j')}",
        f"  %j.next = add {ty} %j, 1",
        f"  %j.more = icmp ult {ty} %j.next, %m",
        "  br i1 %j.more, label %inner, label %latch",
        "latch:",
    ]


def _bench_exit(ty: str, cur: list[str]) -> list[str]:
    """The latch (each chain's value at the end of a trip), the loop's exit,
    and the return of every chain's result folded by xor into one."""
    chains = len(cur)
    out = [f"  %a{j}.end = phi {ty} [{cur[j]}, %trip], [{cur[j]}, %inner]" for j in range(chains)]
    out += [
        "  %i.next = add i64 %i, 1",
        "  %more = icmp ult i64 %i.next, %n",
        "  br i1 %more, label %trip, label %done",
        "done:",
    ]
    out += [f"  %out{j} = phi {ty} [%x.{j}, %entry], [%a{j}.end, %latch]" for j in range(chains)]
    acc = "%out0"
    for j in range(1, chains):
        out.append(f"  %acc{j} = xor {ty} {acc}, %out{j}")
        acc = f"%acc{j}"
    out += [f"  ret {ty} {acc}", "}", ""]
    return out


def _vector_name(op: str | None, t: ir.Scalar) -> str:
    return f"vector_{op or 'none'}_{t.name}"


# The keeper of a vector chain: one instruction on any vector port, which
# does not distribute over the op (an xor would fold a chain of xors, ands
# or byte swaps: ((a & b) ^ k) & b is (a & b) ^ (k & b)).  A rotate kept
# chains too, but it is three instructions on the shift ports where x86_64
# has no vector rotate (AVX2): an op on the other ports then hid beside it
# and measured as free (a 64-bit add, min or popcount at the floor).
_ADD_KEPT = frozenset({"and", "or", "xor", "not", "bswap"})


def _keeper(op: str | None) -> str:
    return "add" if op in _ADD_KEPT else "xor"


def _vector_text(op: str | None, t: ir.Scalar) -> str:
    """LLVM IR of one vector benchmark: `reps` passes over VEC_LEN
    elements, each element a chain of VK applications of op to a[i] (and
    b[i]) stored to out[i], in a loop the backend's vectoriser takes.  So
    that LLVM neither folds the chain (a + b + b is a + 2b, a ^ b ^ b is a)
    nor is held up by the loads and stores, each application is followed by
    the keeper (_keeper: an xor or an add) of %k, a value the compiler
    cannot see; the baseline (op None) is a chain of as many keepers
    alone, xors and adds in turn (a chain of one kind would fold: k ^ k is
    0).  A `not` still folds into its keeper (~a + k is (k - 1) - a), as it
    does beside an add, xor or and in real code: its figure is the floor.
    Every operand varies by element, as in a map: b is the second operand
    and the count (in range, never 0), a select's condition is the chain
    value's low bit; z, a compare's other arm, is a value the compiler
    cannot see."""
    ty = f"i{t.bits}"
    out = [
        f'define void @"{_vector_name(op, t)}"(i64 %reps, ptr noalias %a, ptr noalias %b, '
        f"ptr noalias %out, {ty} %z, {ty} %k) nounwind {{",
        "entry:",
        "  %go = icmp ne i64 %reps, 0",
        "  br i1 %go, label %pass, label %done",
        "pass:",
        "  %p = phi i64 [0, %entry], [%p.next, %passed]",
        "  br label %element",
        "element:",
        "  %i = phi i64 [0, %pass], [%i.next, %element]",
        f"  %pa = getelementptr inbounds {ty}, ptr %a, i64 %i",
        f"  %v0 = load {ty}, ptr %pa",
        f"  %pb = getelementptr inbounds {ty}, ptr %b, i64 %i",
        f"  %vb = load {ty}, ptr %pb",
    ]
    v = "%v0"
    for k in range(VK):
        if op in ("eq", "lt"):  # the compare alone: its lanes all ones or all zeros, as vectors compare
            pred = "eq" if op == "eq" else ("slt" if t.signed else "ult")
            out += [f"  %q{k} = icmp {pred} {ty} {v}, %vb", f"  %o{k} = sext i1 %q{k} to {ty}"]
            v = f"%o{k}"
        elif op is not None:
            out += [f"  %cb{k} = trunc {ty} {v} to i1", f"  %c{k} = zext i1 %cb{k} to i8"]
            out.append(f'  %o{k} = call {ty} @"{_op_name(op, t)}"({ty} {v}, {ty} %vb, {ty} %z, {ty} %vb, i8 %c{k})')
            v = f"%o{k}"
        keep = _keeper(op) if op else ("xor", "add")[k % 2]
        out.append(f"  %v{k + 1} = {keep} {ty} {v}, %k")
        v = f"%v{k + 1}"
    out += [
        f"  %po = getelementptr inbounds {ty}, ptr %out, i64 %i",
        f"  store {ty} {v}, ptr %po",
        "  %i.next = add i64 %i, 1",
        f"  %more = icmp ult i64 %i.next, {VEC_LEN}",
        "  br i1 %more, label %element, label %passed, !llvm.loop !0",
        "passed:",
        "  %p.next = add i64 %p, 1",
        "  %again = icmp ult i64 %p.next, %reps",
        "  br i1 %again, label %pass, label %done",
        "done:",
        "  ret void",
        "}",
        "",
    ]
    return "\n".join(out)


def _vector_pairs(ops, types) -> list:
    return [(op, t) for t in types for op in ops if has_vector(op, t)]


def _build(probe: Probe, ops, types, vector_types=()):
    """(target machine, optimised module, {(op, t): timed as}, scalar
    benchmark keys, vector benchmark keys)."""
    from atlas.backends.x86_64 import target as tgt

    target = tgt.target_for(probe)
    tm = tgt.target_machine(target)
    vector = _vector_pairs(ops, vector_types)
    text, timed_as = _operations(ops, types, tm, target.triple, vector)
    keys = sorted(
        {(op, u, mode) for (op, _), u in timed_as.items() for mode in ("lat", "thr")}
        | {(None, u, mode) for u in timed_as.values() for mode in ("lat", "thr")},
        key=lambda k: (k[1].name, k[2], k[0] or ""),
    )
    vkeys = vector + [(None, t) for t in vector_types]
    text += "\n" + "\n".join(_bench_text(*k) for k in keys)
    text += "\n" + "\n".join(_vector_text(*k) for k in vkeys)
    if vkeys:  # four vectors in flight per trip, so that a chain's latency is not what is timed
        text += '\n!0 = distinct !{!0, !1}\n!1 = !{!"llvm.loop.interleave.count", i32 4}'
    opt = tgt.optimise(text, tm)
    if re.search(r'@"?op_', str(opt)):
        # a call left standing would time a call, not the operation
        raise RuntimeError("internal error: an operation was not inlined into its benchmark")
    return tm, opt, timed_as, keys, vkeys


def benchmark_asm(probe: Probe, op: str, ty) -> str:
    """The assembly of the benchmarks of `op` at `ty` (latency, throughput,
    the vector loop, and their baselines) compiled for `probe`: what a
    measurement times.  Needs an x86_64 probe, not an x86_64 host."""
    t = ir.SCALARS[ty] if isinstance(ty, str) else ty
    if op not in OPS or t not in (*TYPES, *VECTOR_TYPES) or (t not in TYPES and not has_vector(op, t)):
        raise ValueError(
            f"no benchmark for {op}@{t.name}: the ops are {', '.join(OPS)}; "
            f"the types {', '.join(x.name for x in dict.fromkeys((*TYPES, *VECTOR_TYPES)))}"
        )
    arch = probe.cpu.arch if probe else None
    if arch not in ("x86_64", "amd64"):
        raise ValueError(f"the benchmarks are x86_64 code, and the probe's CPU is {arch or 'of no stated kind'}")
    tm, opt, _, _, _ = _build(probe, [op], [t] if t in TYPES else [], [t] if has_vector(op, t) else [])
    return tm.emit_assembly(opt)


# ---------------------------------------------------------------- measuring

_CTYPES = {"u32": ctypes.c_uint32, "u64": ctypes.c_uint64, "i32": ctypes.c_int32, "i64": ctypes.c_int64}


def _arg(t: ir.Scalar, v: int) -> int:
    """The bit pattern v as the Python int ctypes takes for t."""
    v &= t.mask
    return v - (1 << t.bits) if t.signed and v >> (t.bits - 1) else v


def _caller(lib, op: str | None, t: ir.Scalar, mode: str):
    fn = getattr(lib, _bench_name(op, t, mode))
    c = _CTYPES[t.name]
    fn.argtypes = [ctypes.c_uint64, c, c, c, c]
    fn.restype = c
    args = tuple(_arg(t, v) for v in (_X, _Y, _Z, _S))
    return lambda n: fn(n, *args)


_NUMPY = {"u8": "uint8", "u16": "uint16", "u32": "uint32", "u64": "uint64"}


def _vector_arrays(t: ir.Scalar):
    """(a, b, out) for the vector benchmarks at t, shared by all of them:
    a of mixed bits, b from 1 to the width less one.  One buffer, aligned to
    64 bytes, each array a few cache lines past a multiple of 4 KiB from
    the others, so that no benchmark's loads and stores alias by their low
    address bits (which slows some of them and not others)."""
    import numpy as np

    dtype = np.dtype(_NUMPY[f"u{t.bits}"])
    step = -(-VEC_LEN * dtype.itemsize // 4096) * 4096 + 3 * 64  # bytes between arrays
    raw = np.zeros(3 * step + 64, np.uint8)
    start = -raw.ctypes.data % 64
    a, b, out = (raw[start + k * step : start + k * step + VEC_LEN * dtype.itemsize].view(dtype) for k in range(3))
    i = np.arange(VEC_LEN, dtype=np.uint64)
    a[:] = ((i * np.uint64(0x9E3779B97F4A7C15) + np.uint64(_X)) & np.uint64(t.mask)).astype(dtype)
    b[:] = (1 + (i * 5) % (t.bits - 1)).astype(dtype)
    return a, b, out  # views: they keep the buffer alive


def _vector_caller(lib, op: str | None, t: ir.Scalar, arrays):
    """A call of a vector benchmark over `arrays` (_vector_arrays)."""
    fn = getattr(lib, _vector_name(op, t))
    c = _CTYPES[nearest(t).name]  # C passes a narrow argument in a 32-bit register
    fn.argtypes = [ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, c, c]
    fn.restype = None
    a, b, out = arrays
    z, k = _arg(nearest(t), _Z), _arg(nearest(t), _K)
    return lambda n: fn(n, a.ctypes.data, b.ctypes.data, out.ctypes.data, z, k)


def _trip_ns(call, n: int) -> float:
    t0 = time.perf_counter_ns()
    call(n)
    return (time.perf_counter_ns() - t0) / n


def measure(probe: Probe, *, types=TYPES, repeats: int = 5, vectors: bool = True) -> CostTable:
    """Measure every op of OPS at each of `types` now (no cache), for code
    compiled for `probe` and run here; with `vectors`, also each op's time
    per element in a vectorised loop, at those types and the 8- and 16-bit
    ones.  ValueError when can_measure(probe)
    gives a reason; the backend's BackendError when the library cannot be
    linked (no C compiler); RuntimeError when the timings make no sense."""
    why = can_measure(probe)
    if why:
        raise ValueError(why)
    wanted = tuple(dict.fromkeys(ir.SCALARS[t] if isinstance(t, str) else t for t in types))
    for t in wanted:
        if t not in TYPES:
            raise ValueError(f"costs are measured at {', '.join(x.name for x in TYPES)}, not {t.name}")
    built = tuple(dict.fromkeys((*wanted, ir.U64)))  # u64's add latency is the unit
    lanes = VECTOR_TYPES if vectors else ()
    from atlas.backends.x86_64 import target as tgt

    tm, opt, timed_as, keys, vkeys = _build(probe, OPS, built, lanes)
    with tempfile.TemporaryDirectory(prefix="atlas-costs-") as tmp:
        lib = ctypes.CDLL(str(Path(tmp) / tgt.link_shared(tm.emit_object(opt), Path(tmp), "atlas_costs")))
    calls = {k: _caller(lib, *k) for k in keys}
    arrays = {t: _vector_arrays(t) for t in lanes}  # one set per width, shared by its benchmarks
    calls.update({("vector", op, t): _vector_caller(lib, op, t, arrays[t]) for op, t in vkeys})
    keys = [*keys, *(("vector", *k) for k in vkeys)]

    # Trips per call for about SAMPLE_NS a call; these first calls also bring
    # the code into the caches and the clock up to speed.
    trips = {}
    for k, call in calls.items():
        call(16)
        per = min(_trip_ns(call, 256) for _ in range(2))
        trips[k] = max(16, int(SAMPLE_NS / max(per, 0.1)))
    samples: dict = {k: [] for k in keys}
    for _ in range(max(1, repeats)):
        for k in keys:
            samples[k].append(_trip_ns(calls[k], trips[k]))
    trip = {k: statistics.median(v) for k, v in samples.items()}

    def raw(op, t, mode):  # ns per op, the loop's own cost taken off
        if mode == "vector":  # a pass of VEC_LEN elements, VK ops each, less the keepers'
            return (trip["vector", op, t] - trip["vector", None, t]) / (VEC_LEN * VK)
        u = timed_as[op, t]
        return (trip[op, u, mode] - trip[None, u, mode]) / K

    def alone(op, t, mode):  # ... and what the op needed to form a chain
        if op in ("eq", "lt") and mode != "vector":  # a vector compare is a chain alone (_vector_text)
            return raw(op, t, mode) - raw("select", t, mode)
        if op == "cast":
            return raw(op, t, mode) - alone("lt", t, mode)
        if op == "div":
            return raw(op, t, mode) - raw("xor", t, mode)
        return raw(op, t, mode)

    unit = raw("add", ir.U64, "lat")
    if not unit > 0:
        raise RuntimeError(f"the 64-bit add latency measured {unit:.3g} ns, which cannot be")
    costs = {
        f"{op}@{t.name}": OpCost(*(max(MIN_COST, round(alone(op, t, mode) / unit, 2)) for mode in ("lat", "thr")))
        for t in wanted
        for op in OPS
    }
    vector = {
        f"{op}@{t.name}": max(MIN_VECTOR, round(alone(op, t, "vector") / unit, 3))
        for t in lanes
        for op in OPS
        if has_vector(op, t)
    }
    from ..machine.probe import fingerprint

    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return CostTable(costs, f"measured on {fingerprint(probe)} {when}", unit, vector=vector)


# ---------------------------------------------------------------- for a probe


def can_measure(probe: Probe) -> str | None:
    """None when code compiled for `probe` runs on this machine: the host is
    x86_64, the probe's CPU too, and every CPU flag that code may use (the
    probe's flags that switch LLVM features on, the flags the loader checks)
    is one this machine has; so a probe of this machine with popcnt removed
    runs here.  Otherwise the reason, in words."""
    host = platform.machine().lower()
    host = {"amd64": "x86_64"}.get(host, host)
    if host != "x86_64":
        return f"this machine is {host or 'of an unknown architecture'}, and the benchmarks are x86_64 code"
    arch = probe.cpu.arch if probe else None
    if arch not in ("x86_64", "amd64"):
        return (
            f"the probe's CPU is {arch or 'of no stated kind'}, not x86_64, and costs are measured "
            "for the x86_64 backend only"
        )
    from atlas.backends.x86_64.target import target_for
    from ..machine.runtime import host_cpu_flags

    have = host_cpu_flags()
    if have is None:
        return "this machine's CPU flags cannot be read (/proc/cpuinfo), so code for the probe may not run here"
    missing = sorted(set(target_for(probe).cpu_flags) - have)
    if missing:
        return f"the probe's CPU has {', '.join(missing)}, which this machine lacks, so code for it cannot run here"
    return None


def for_probe(probe: Probe, *, cache: bool = True, remeasure: bool = False) -> CostTable:
    """The table for `probe`: from the cache (cache_dir()/costs/<fingerprint>.json,
    valid for this atlas, llvmlite and way of measuring), else measured here
    and cached, else (it cannot be measured here, or measuring failed) the
    static hints of costs.costs(probe) (atlas/logic/costs.py), with the reason in `source`."""
    why = can_measure(probe)
    if why:
        return static_table(probe, why)
    path = cache_path(probe)
    if cache and not remeasure:
        hit = cached(path)
        if hit is not None:
            return hit
    from atlas.machine.backend import BackendError

    try:
        table = measure(probe)
    except (BackendError, RuntimeError, OSError) as e:
        return static_table(probe, f"measuring failed: {e}")
    if cache:
        from ..files import write_atomic
        from ..machine.probe import fingerprint

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(
                path,
                json.dumps({**stamp(), "fingerprint": fingerprint(probe), "table": table.as_dict()}, indent=1) + "\n",
            )
        except OSError:
            pass  # an unwritable cache costs a measurement next time, nothing more
    return table
