"""One cost model for the whole compiler: extraction from the atlas, the
search's forms and the superoptimiser's decision to learn a rule all weigh
a term by the same estimate on the same table.

    table = model_for(probe)          # this machine's measured table if cached, else the static hints
    estimate(term, table)             # the larger of the critical path's latency and
                                      # the sum of the operations' reciprocal throughputs
    estimate(term, table, loop=carried)   # in a loop: the recurrence through `carried`, or the throughputs

Two kinds of table.  The static hints (`costs`, from primitives/core.yaml and
BASE_COSTS) give each operation one figure, used as both its latency and
its throughput; the estimate is then the plain sum over the nodes, since a
path never costs more than all the nodes together.  A measured table
(atlas/superopt/costmodel.py measures one per machine and caches it under
the probe's fingerprint, `cache_path`) has both figures per operation and
type; the compile reads it from the cache and never measures.

Why an estimate of both figures: a chain of dependent operations costs its
latencies; independent ones overlap and cost their throughputs.  A part a
term uses twice is computed once by the emitted code, so on a measured
table its throughput is paid once (the e-graph's extraction combines
points as trees, and a root then takes the point whose whole term this
estimate ranks first).  The larger
of the two bounds a scalar evaluation from below.  A term computed in every
iteration of a loop (lower.Root.loop) overlaps with the iterations beside
it: only what an earlier iteration made (the recurrence) makes it wait, so
it costs the larger of that path and its throughputs, its throughputs
alone where it reads nothing carried, and a six-operation chain can beat
eighteen short parallel operations there while losing to them once.  Such
a loop the backend may vectorise, where operations rank otherwise (x86
has no vector divide, no byte shift, no 64-bit multiply-high), so a
measured table also has each operation's time per element in a
vectorised loop at every integer width, and a term that reads nothing
carried costs the lesser of its scalar throughputs and its vector
figures.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from ..files import cache_dir
from ..machine.probe import Probe
from ..meaning import ir
from ..meaning.terms import Term, subterms

# Cost of ONE node, roughly its x86_64 latency in cycles; a term costs the
# sum over its nodes.  Keys are term ops, plus float variants ("fadd" is an
# add on floats, "fcmp" a float compare, "fcast" a cast to or from a float).
# Primitives take their `cost` from primitives/core.yaml (merged in
# `costs`), so that file stays the one place their hints live.
BASE_COSTS: dict[str, int] = {
    # leaves: a variable or constant is already in a register or an immediate
    "var": 0,
    "const": 0,
    "load": 4,
    "add": 1,
    "sub": 1,
    "neg": 1,
    "not": 1,
    "and": 1,
    "or": 1,
    "xor": 1,
    "shl": 1,
    "shr": 1,
    "land": 1,
    "lor": 1,
    "cast": 1,
    "select": 1,
    "eq": 1,
    "ne": 1,
    "lt": 1,
    "le": 1,
    "gt": 1,
    "ge": 1,
    "mul": 3,
    "div": 26,
    "rem": 26,
    "fadd": 4,
    "fsub": 4,
    "fmul": 4,
    "fdiv": 13,
    "frem": 30,
    "fneg": 1,
    "fabs": 1,
    "fmin": 4,
    "fmax": 4,
    "fcmp": 3,
    "fcast": 4,
    "sqrt": 15,
}
_FLOAT_KEYED = {"add", "sub", "mul", "div", "rem", "neg", "abs", "min", "max"}

# Without these x86 features the primitive is a multi-instruction sequence:
# popcount is the ~12-op SWAR sum, clz is bsr + cmov + xor, ctz bsf + cmov.
_X86_FALLBACK = {"popcount": ({"popcnt"}, 12), "clz": ({"abm", "lzcnt"}, 4), "ctz": ({"bmi1"}, 3)}


@lru_cache(maxsize=1)
def _primitive_costs() -> dict[str, int]:
    from ..front.typecheck import primitives

    return {name: int(p["cost"]) for name, p in primitives().items() if isinstance(p, dict) and "cost" in p}


def costs(probe: Probe | None = None) -> dict[str, int]:
    """The cost table for a machine.  With no probe, the optimistic hints
    (every feature present); an x86_64 probe lacking popcnt / lzcnt (abm) /
    bmi1 makes popcount / clz / ctz cost their fallback sequences."""
    table = dict(BASE_COSTS)
    table.update(_primitive_costs())
    if probe is not None and probe.cpu.arch in ("x86_64", "amd64"):
        have = set(probe.cpu.features)
        for op, (needs, fallback) in _X86_FALLBACK.items():
            if not have & needs:
                table[op] = max(table.get(op, 1), fallback)
    return table


default_costs = costs  # `saturate` has a parameter named costs


def _cost_key(op: str, ty: ir.Scalar, arg_tys) -> str:
    if op in _FLOAT_KEYED and ty.is_float:
        return "f" + op
    if op in ("eq", "ne", "lt", "le", "gt", "ge") and arg_tys[0].is_float:
        return "fcmp"
    if op == "cast" and (ty.is_float or arg_tys[0].is_float):
        return "fcast"
    return op


def node_cost(table: dict[str, int], op: str, ty: ir.Scalar, arg_tys=()) -> int:
    """Cost of one node; operators never cost less than 1 (which also keeps
    extraction well founded: a cycle through an operator is never free)."""
    c = table.get(_cost_key(op, ty, arg_tys), table.get(op, 1))
    return c if op in ("var", "const") else max(1, c)


# A fold's body (atlas/logic/loops.py) is priced as if its loop ran this
# many times: enough that work moved out of the loop pays for itself.
TRIPS = 64


def kid_weights(op: str, n: int) -> tuple[int, ...]:
    """How many times each of an `op` node's n children is paid (its
    throughput, and its cost on the static hints)."""
    if op == "until":  # a while loop: its condition, step and update each iteration
        return (1, 1, TRIPS, TRIPS, TRIPS)
    return (1, 1, 1, TRIPS) if op == "reduce" else (1,) * n


def kid_latency_weights(op: str, n: int) -> tuple[int, ...]:
    """How much each child's latency adds to the node's path: a fold's
    iterations overlap (only the accumulator is carried), so its body is
    priced by throughput alone; a while loop's next iteration waits for
    its step."""
    if op == "until":
        return (1, 1, TRIPS, TRIPS, TRIPS)
    return (1, 1, 1, 0) if op == "reduce" else (1,) * n


def term_cost(t: Term, table: dict[str, int]) -> int:
    """Tree cost: a shared subterm is paid at each use (memoised, so a
    term with much sharing is still cheap to cost)."""
    memo: dict[Term, int] = {}
    for u in subterms(t):
        w = kid_weights(u.op, len(u.args))
        memo[u] = node_cost(table, u.op, u.ty, [a.ty for a in u.args]) + sum(k * memo[a] for k, a in zip(w, u.args))
    return memo[t]


# ---------------------------------------------------------------- measured tables

# The operations and types a measured table holds.
OPS: tuple[str, ...] = (
    "add",
    "sub",
    "mul",
    "div",
    "and",
    "or",
    "xor",
    "not",
    "neg",
    "shl",
    "shr",
    "popcount",
    "clz",
    "ctz",
    "bswap",
    "rotl",
    "rotr",
    "min",
    "max",
    "abs",
    "mulhi",
    "add_sat",
    "sub_sat",
    "select",
    "eq",
    "lt",
    "cast",
)
TYPES = (ir.U32, ir.U64, ir.I32, ir.I64)
# ... and the types of its vector figures: a lane's width sets how many an
# instruction does at once, so every integer width has its own.
VECTOR_TYPES = (ir.U8, ir.U16, ir.U32, ir.U64, ir.I8, ir.I16, ir.I32, ir.I64)


def has_vector(op: str, t: ir.Scalar) -> bool:
    """Whether the table measures `op` at `t` in vectors (bswap needs two bytes)."""
    return not (op == "bswap" and t.bits < 16)


FORMAT = "atlas-costs/1"
# bump when the way of measuring changes: cached tables are then stale
# (2: division; 3: vectors; 4: their keeper; 5: vector compares alone)
METHOD = 5


@dataclass(frozen=True)
class OpCost:
    latency: float  # in units of this machine's 64-bit add latency
    throughput: float  # reciprocal throughput (time per op, many in flight), same unit


@dataclass(frozen=True)
class CostTable:
    costs: dict[str, OpCost]  # "op@type", e.g. "popcount@u64", "shr@i32"
    source: str  # "measured on <fingerprint> <date>" or "static hints (...): <why>"
    ns_per_unit: float | None  # what 1.0 is in nanoseconds when measured, else None
    hints: dict[str, int] | None = None  # a static table's hints (`costs`), which then price every node
    # "op@type" -> time per element in a loop the backend vectorises, same unit
    # (at VECTOR_TYPES); empty when not measured
    vector: dict[str, float] = field(default_factory=dict)

    def cost(self, op: str, ty) -> OpCost:
        """The cost of `op` at `ty` (an ir.Scalar or its name: the operand
        type for a compare, the integer type made for cast).  Not in the
        table: an 8- or 16-bit integer takes the 32-bit figure of its
        signedness, a bool the u32 one; ne/le/gt/ge cost what eq/lt cost,
        land/lor what and/or cost; anything else (floats, load, ...)
        is egraph's static hint, in cycles, which are close to this unit."""
        t = ir.SCALARS[ty] if isinstance(ty, str) else ty
        op = _ALIAS.get(op, op)
        hit = self.costs.get(f"{op}@{t.name}")
        if hit is None and (t.is_int or t.is_bool):
            hit = self.costs.get(f"{op}@{nearest(t).name}")
        if hit is not None:
            return hit
        hints = _static_hints()
        c = float(hints.get(op, 0) if op in ("var", "const") else node_cost(hints, op, t, (t,)))
        return OpCost(c, c)

    def vector_cost(self, op: str, ty) -> float | None:
        """The time per element of `op` at `ty` in a vectorised loop; None
        where the table has no such figure (floats, loads, a static table)."""
        t = ir.SCALARS[ty] if isinstance(ty, str) else ty
        if t.is_bool:
            t = ir.U8
        return self.vector.get(f"{_ALIAS.get(op, op)}@{t.name}")

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "ns_per_unit": self.ns_per_unit,
            "costs": {k: {"latency": v.latency, "throughput": v.throughput} for k, v in sorted(self.costs.items())},
            "vector": dict(sorted(self.vector.items())),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "CostTable":
        unit = d.get("ns_per_unit")
        return cls(
            {str(k): OpCost(float(v["latency"]), float(v["throughput"])) for k, v in d["costs"].items()},
            str(d["source"]),
            None if unit is None else float(unit),
            vector={str(k): float(v) for k, v in d.get("vector", {}).items()},
        )


_ALIAS = {"ne": "eq", "le": "lt", "gt": "lt", "ge": "lt", "land": "and", "lor": "or"}


def nearest(t: ir.Scalar) -> ir.Scalar:
    """The measured scalar type an 8-, 16-bit or bool type is priced at."""
    if t.is_bool:
        return ir.U32
    if t.bits > 32:
        return ir.I64 if t.signed else ir.U64
    return ir.I32 if t.signed else ir.U32


@lru_cache(maxsize=1)
def _static_hints() -> dict[str, int]:
    return costs()


def static_table(probe: Probe | None, why: str) -> CostTable:
    """costs(probe) as a table (latency = throughput = the hint),
    with `why` it was not measured."""
    hints = costs(probe)
    table = {f"{op}@{t.name}": OpCost(float(hints.get(op, 1)), float(hints.get(op, 1))) for op in OPS for t in TYPES}
    return CostTable(table, f"static hints (primitives/core.yaml): {why}", None, hints)


def cache_path(probe: Probe) -> Path:
    from ..machine.probe import fingerprint

    return cache_dir() / "costs" / f"{fingerprint(probe)}.json"


def stamp() -> dict:
    """What a cached table depends on besides the machine."""
    import llvmlite
    from .. import __version__  # the package root, outside the layers

    return {"format": FORMAT, "method": METHOD, "atlas": __version__, "llvmlite": llvmlite.__version__}


def cached(path: Path) -> CostTable | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or any(data.get(k) != v for k, v in stamp().items()):
        return None
    try:
        table = CostTable.from_dict(data["table"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    if any(f"{op}@{t.name}" not in table.costs for op in OPS for t in TYPES):
        return None
    return table


# ---------------------------------------------------------------- the one estimate


class Table(Protocol):
    """What the estimate needs of a table (CostTable, or a test's own; a
    table without `vector` and `vector_cost` has no vector figures)."""

    @property
    def source(self) -> str: ...

    def cost(self, op: str, ty) -> OpCost: ...


def vector_figure(table: Table, t: Term) -> float | None:
    """The time per element of the node at the top of `t` in a loop the
    backend vectorises (see node_vector_figure)."""
    constant_count = len(t.args) > 1 and t.args[1].op == "const"
    return node_vector_figure(table, t.op, t.ty, [a.ty for a in t.args], constant_count, _power_divisor(t))


def node_vector_figure(
    table: Table, op: str, ty: ir.Scalar, arg_tys, constant_count: bool = False, power_divisor: bool = False
) -> float | None:
    """The time per element of one node in a loop the backend vectorises,
    or None where the table has no figure for it (a float operation, a
    static table).  Priced as node_figures prices it (`_priced_as`); a
    load is free too, since every form of a root reads the same elements,
    and the figures were measured less the loop's own loads and stores."""
    figure = getattr(table, "vector_cost", None)
    if figure is None or not getattr(table, "vector", None):
        return None
    if op == "load":
        return 0.0
    if ty.is_float or any(a.is_float for a in arg_tys):
        return None
    parts, at = _priced_as(op, ty, arg_tys, constant_count, power_divisor)
    each = [figure(o, at) for o in parts]
    return None if None in each else sum(v for v in each if v is not None)


# What a division by a power of two known by its form compiles to: the
# divisor's trailing zeros, the shift by them, and (in parallel) the test
# for a zero divisor, whose quotient is all ones, and its select.
_POWER_DIVIDE = ("ctz", "shr", "eq", "select")


def _priced_as(
    op: str, ty: ir.Scalar, arg_tys, constant_count: bool, power_divisor: bool
) -> tuple[tuple[str, ...], ir.Scalar]:
    """What one node pays for on a measured table, scalar or in vectors:
    (the measured operations, the type they are at).  None at all for a
    variable, a constant or a cast between integers of one width (a
    register, an immediate, no instruction); an `and` for a shift or rotate
    by a constant count (one plain instruction: the measured shift pays for
    its run-time count's guard); `_POWER_DIVIDE` for an integer division by
    a power of two known by its form (power_of_two); a multiply-high for
    one by another constant (LLVM emits no divide for either); a compare
    at its operands' type."""
    if op in ("var", "const") or (op == "cast" and arg_tys[0].is_int and ty.is_int and arg_tys[0].bits == ty.bits):
        return (), ty
    if op in ("shl", "shr", "rotl", "rotr") and constant_count:
        return ("and",), ty
    if op == "div" and ty.is_int and power_divisor:
        return _POWER_DIVIDE, ty
    if op == "div" and ty.is_int and constant_count:
        return ("mulhi",), ty
    return (op,), arg_tys[0] if op in ("eq", "ne", "lt", "le", "gt", "ge") else ty


def vector_total(t: Term, table: Table) -> float | None:
    """The time per element of `t` in a loop the backend vectorises: each
    distinct subterm's vector figure once; None where a node has none, or
    the term holds a loop of its own (which no vector lane runs)."""
    total = 0.0
    for u in subterms(t):
        if u.op in ("reduce", "until"):
            return None
        v = vector_figure(table, u)
        if v is None:
            return None
        total += v
    return total


def power_of_two(t: Term) -> bool:
    """Whether `t` is zero or a power of two by its form: x & -x (the lowest
    set bit) or 1 << k.  LLVM knows it too, and divides by such a value with
    a shift by its trailing zeros, not a divide."""
    if t.op == "shl":
        return t.args[0].op == "const" and t.args[0].value == 1
    if t.op != "and":
        return False
    a, b = t.args

    def negates(n: Term, x: Term) -> bool:
        return (n.op == "neg" and n.args[0] == x) or (
            n.op == "sub" and n.args[0].op == "const" and n.args[0].value == 0 and n.args[1] == x
        )

    return negates(b, a) or negates(a, b)


def _power_divisor(t: Term) -> bool:
    """Whether `t` divides by a power of two known by its form (not a constant)."""
    return t.op == "div" and t.args[1].op != "const" and power_of_two(t.args[1])


def figures(table: Table, t: Term) -> tuple[float, float]:
    """(latency, throughput) of the node at the top of `t` (see node_figures)."""
    constant_count = len(t.args) > 1 and t.args[1].op == "const"
    return node_figures(table, t.op, t.ty, [a.ty for a in t.args], constant_count, _power_divisor(t))


def node_figures(
    table: Table, op: str, ty: ir.Scalar, arg_tys, constant_count: bool = False, power_divisor: bool = False
) -> tuple[float, float]:
    """(latency, throughput) of one node: `op` making `ty` from `arg_tys`.
    A static table's hint is both figures, exactly as `node_cost` prices
    the node.  On a measured table, the figures of what it pays for
    (`_priced_as`); a division by a power of two waits for the trailing
    zeros, the shift and the select, with the test for zero beside them."""
    hints = getattr(table, "hints", None)
    if hints is not None:
        hint = float(node_cost(hints, op, ty, arg_tys))
        return hint, hint
    parts, at = _priced_as(op, ty, arg_tys, constant_count, power_divisor)
    if not parts:
        return 0.0, 0.0
    each = {o: table.cost(o, at) for o in parts}
    if parts == _POWER_DIVIDE:
        return each["ctz"].latency + each["shr"].latency + each["select"].latency, sum(
            c.throughput for c in each.values()
        )
    [c] = each.values()
    return c.latency, c.throughput


def estimate(t: Term, table: Table, loop: frozenset[str] | None = None) -> float:
    """The larger of the critical path's latency and the sum of the
    reciprocal throughputs.  On a measured table each distinct subterm's
    throughput is paid once, as the emitted code computes it once (a
    term that holds a loop, whose body is paid per trip, is summed as a
    tree); on the static hints, as a tree, the additive cost extraction
    weighs them by.

    `loop` (lower.Root.loop): None for a term computed once.  Else the
    term is computed in every iteration of a loop, and `loop` holds the
    variables it reads that an earlier iteration made: iterations run side
    by side (out of order, or in vector lanes), so the latency of what is
    new each iteration hides, and the bound is the larger of the
    recurrence (the longest latency path from those variables to the
    result) and the throughput sum: a loop's two bounds.  With nothing
    carried, the throughput alone, or the time per element in vectors
    (`vector_total`) where the table has it and that is less: the
    backend vectorises such a loop where its own cost model finds it
    cheaper."""
    ready = _figures_seen(table)  # subterm -> (path latency, throughput sum)
    stack = [t]
    while stack:  # children first; a subterm seen before (here or by an earlier call) is not walked again
        u = stack[-1]
        if u in ready:
            stack.pop()
            continue
        todo = [a for a in u.args if a not in ready]
        if todo:
            stack += todo
            continue
        stack.pop()
        lat, thr = figures(table, u)
        n = len(u.args)
        kids = [
            (lw * ready[a][0], w * ready[a][1])
            for lw, w, a in zip(kid_latency_weights(u.op, n), kid_weights(u.op, n), u.args)
        ]
        ready[u] = (lat + max((k[0] for k in kids), default=0.0), thr + sum(k[1] for k in kids))
    path, total = ready[t]
    if is_measured(table):
        parts = subterms(t)
        if not any(u.op in ("reduce", "until") for u in parts):
            total = sum(figures(table, u)[1] for u in parts)
    if loop is None:
        return max(path, total)
    if loop:
        return max(recurrence(t, table, loop), total)
    lanes = vector_total(t, table)
    return total if lanes is None else min(total, lanes)


def recurrence(t: Term, table: Table, carried: frozenset[str]) -> float:
    """The longest latency path in `t` from a variable of `carried` to its
    result (0.0 when it reads none): how long each iteration of a loop
    waits for the one before."""
    since: dict[Term, float] = {}  # subterm -> its longest path from a carried variable, where it has one
    for u in subterms(t):
        if u.op == "var":
            if u.value in carried:
                since[u] = 0.0
            continue
        n = len(u.args)
        paths = [lw * since[a] for lw, a in zip(kid_latency_weights(u.op, n), u.args) if a in since]
        if u.op == "load" and u.value in carried:  # an element an earlier iteration stored
            paths.append(0.0)
        if paths:
            since[u] = figures(table, u)[0] + max(paths)
    return since.get(t, 0.0)


def where_priced(loop: frozenset[str] | None) -> str:
    """How `estimate` prices a term that runs so (lower.Root.loop), in words."""
    if loop is None:
        return "run once: the larger of latency and throughput"
    if not loop:
        return "in a loop whose iterations overlap: throughput alone, or time per element in vectors where less"
    return f"in a loop carrying {', '.join(sorted(loop))}: the larger of the recurrence through it and throughput"


_SEEN: dict[int, tuple[Table, dict]] = {}  # id(table) -> (the table, its figures per subterm)


def _figures_seen(table: Table) -> dict:
    """The figures already worked out under `table`: extraction weighs
    the members of a class one by one, and they share most of their
    subterms.  Kept for a few tables, each up to a bound."""
    hit = _SEEN.get(id(table))
    if hit is None or hit[0] is not table or len(hit[1]) > 200_000:
        if len(_SEEN) >= 4:
            _SEEN.clear()
        hit = _SEEN[id(table)] = (table, {})
    return hit[1]


def is_measured(table: Table) -> bool:
    """Whether the table's two figures can differ: any table but the static
    hints' (a test's made-up table counts as measured)."""
    return getattr(table, "hints", None) is None


def model_for(probe: Probe | None) -> CostTable:
    """The table the compile weighs terms by: the one measured on this
    machine for `probe` (read from the cache; the compile never measures),
    else the static hints with the reason.  ATLAS_COSTS=static asks for the
    static hints whatever is cached (the tests do, so that what they assert
    does not depend on what a developer's machine has measured)."""
    if probe is None:
        return static_table(None, "no probe")
    if os.environ.get("ATLAS_COSTS") == "static":
        return static_table(probe, "ATLAS_COSTS=static")
    hit = cached(cache_path(probe))
    if hit is None:
        return static_table(probe, "no table measured for this machine yet (atlas superopt measures one)")
    return hit
