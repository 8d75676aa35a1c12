"""Differential runs: a function and a candidate for it run side by side in
the interpreter on the same inputs, every run to its end.  This is the
"tested" half of validation (atlas/logic/validate.py); the shapes run it once
more after their own proofs.

Lengths and trip counts follow a schedule (every one up to SMALL, just past
the largest constant index, larger ones up to MAX_LENGTH); other scalars
are random with their type's edge values, repaired where they miss the
function's precondition (atlas/logic/requires.py).  A run the source cannot finish
within the step budget is a disagreement at the lengths every function
must reach; one the candidate cannot finish is a disagreement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..meaning import interp, ir
from . import requires

SMALL = 8  # every length and trip count 0..SMALL is tried
MAX_LENGTH = 64  # larger ones up to this, as the step budget allows
BIG = (16, 33, 64)  # always among them
RANDOM_LENGTHS = 3  # and a few drawn at random
MAX_ELEMENTS = 1 << 20  # a run whose arrays would be larger is skipped
FUEL = 500_000  # loop iterations per function, all of the source's runs together
# (about half a minute of the interpreter at most)


# How the manifest's `agree` reads: False only when a run told them apart
# (or the candidate did not finish); None when the runs could not settle it.
VERDICT = {True: "agree", False: "DISAGREE", None: "inconclusive"}


@dataclass(frozen=True)
class Runs:
    """What the differential runs of one function came to."""

    agree: bool | None  # None: the runs could not settle it (unrunnable or note says why)
    runs: int = 0
    skipped: int = 0  # inputs not run (arrays too large)
    max_length: int = 0
    lengths: str = "none"  # the lengths and trip counts run, as ranges: "0..8, 16"
    sizes: tuple[str, ...] = ()  # the parameters that set them
    note: str = ""  # how the schedule ended early, or why they disagree
    unrunnable: str = ""  # why the pair could not be run
    samples: int | str | None = None  # a shape's profile samples run too: how many, or what failed
    error: str = ""  # the interpreter refused the candidate

    @classmethod
    def of(cls, runs: int, skipped: int, tried: list[int], agree: bool | None, note: str | None, sizes=()) -> "Runs":
        return cls(agree, runs, skipped, max(tried, default=0), _ranges(tried), tuple(sorted(sizes)), note or "")

    def to_json(self) -> dict:
        """The manifest's record of the runs."""
        if self.error:
            return {"agree": self.agree, "error": self.error}
        if self.unrunnable:
            return {"agree": self.agree, "skipped": self.unrunnable}
        out = {
            "runs": self.runs,
            "skipped": self.skipped,
            "max_length": self.max_length,
            "lengths": self.lengths,
            "agree": self.agree,
            "sizes": list(self.sizes),
        }
        if self.note:
            out["note"] = self.note
        if self.samples is not None:
            out["samples"] = self.samples
        return out


def largest_constant_index(fn: ir.Function) -> int:
    """The largest literal index of a load or store (-1 when none): a fault
    at a[9] is only seen on an array of ten or more elements."""
    top = -1
    for s in ir.walk_stmts(fn.body):
        if isinstance(s, ir.Store) and isinstance(s.index, ir.Const):
            top = max(top, int(s.index.value))
        for e in ir.own_exprs(s):
            for x in ir.walk(e):
                if isinstance(x, ir.Load) and isinstance(x.index, ir.Const):
                    top = max(top, int(x.index.value))
    return top


def schedule(fn: ir.Function, rng) -> list[int]:
    """The lengths and trip counts tried, smallest first: every one up to 8,
    just past the largest constant index, then larger ones up to MAX_LENGTH."""
    top = largest_constant_index(fn)
    past = [top + 1, top + 2] if top >= 0 else []
    extra = [int(v) for v in rng.integers(SMALL + 1, MAX_LENGTH + 1, RANDOM_LENGTHS)]
    return sorted({*range(SMALL + 1), *past, *BIG, *extra})


def small_params(fn: ir.Function) -> set[str]:
    """Scalar parameters that set a length or a loop's trip count: they follow
    the schedule, so every loop runs to its end on inputs of known size."""
    names = {
        v.name for p in fn.params if isinstance(p.ty, ir.Array) for v in ir.walk(p.ty.length) if isinstance(v, ir.Var)
    }
    for s in ir.walk_stmts(fn.body):
        bounds = (s.lo, s.hi) if isinstance(s, ir.For) else (s.cond,) if isinstance(s, ir.While) else ()
        for e in bounds:
            names |= {v.name for v in ir.walk(e) if isinstance(v, ir.Var)}
    return names & {p.name for p in fn.params if isinstance(p.ty, ir.Scalar) and p.ty.is_int}


def run_both(source: ir.Module, candidate: ir.Module, fn: ir.Function, seed: int = 0) -> Runs:
    """Run fn from both modules on the same inputs: lengths and trip counts
    from `schedule`, other scalars random with their edge values.  Every run
    goes to its end: one the source cannot finish within the step budget is
    a disagreement at the lengths every function must reach (0..8, and past
    its largest constant index), and ends the schedule past them; one the
    candidate cannot finish is a disagreement."""
    rng = np.random.default_rng(seed)
    small = small_params(fn)
    lengths = schedule(fn, rng)
    runs = skipped = 0
    tried: list[int] = []
    tank = [FUEL]
    note = None
    for k in lengths:
        args = _random_args(fn, rng, small, k)
        if args is None:
            skipped += 1
            continue
        a1 = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        a2 = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        before = tank[0]
        try:
            r1 = interp.run(source, fn.name, *a1, fuel=tank)
        except interp.PreconditionError:
            skipped += 1  # it calls a function outside that one's precondition: not defined there
            continue
        except interp.OutOfFuel:
            if k <= SMALL:
                return Runs.of(
                    runs,
                    skipped,
                    tried,
                    None,
                    f"the source did not finish in {FUEL} loop iterations at length {k}",
                    small,
                )
            note = f"stopped before length {k}: the step budget ({FUEL} loop iterations) was spent"
            break
        spent = before - tank[0]
        try:
            r2 = interp.run(candidate, fn.name, *a2, fuel=2 * spent + 1000)
        except interp.OutOfFuel:
            return Runs.of(
                runs + 1,
                skipped,
                tried + [k],
                False,
                f"the candidate did not finish at length {k} where the source took {spent} steps",
                small,
            )
        runs += 1
        tried.append(k)
        if not (same(r1, r2) and all(same(x, y) for x, y in zip(a1, a2) if isinstance(x, np.ndarray))):
            return Runs.of(runs, skipped, tried, False, f"different results at length {k}", small)
    top = largest_constant_index(fn)
    if top >= 0 and not any(k > top for k in tried):
        # a store to a[top] is only seen on an array that holds it: without
        # such a run the candidate is not known to agree there
        why = f"no run reached past the constant index {top}"
        return Runs.of(runs, skipped, tried, None, f"{note}; {why}" if note else why, small)
    return Runs.of(runs, skipped, tried, runs > 0 or not lengths, note, small)


def _ranges(ks: list[int]) -> str:
    """0, 1, 2, 3, 9, 10, 16 -> '0..3, 9..10, 16'."""
    parts, ks = [], sorted(set(ks))
    i = 0
    while i < len(ks):
        j = i
        while j + 1 < len(ks) and ks[j + 1] == ks[j] + 1:
            j += 1
        parts.append(str(ks[i]) if i == j else f"{ks[i]}..{ks[j]}")
        i = j + 1
    return ", ".join(parts) or "none"


def function(src: ir.Function, new: ir.Function, module: ir.Module | None, seed: int = 0) -> Runs:
    """`run_both` of one rewritten function against its source, beside the
    other functions of `module` (which it may call); agree None, with the
    reason, when the pair cannot be run (a callee not given, ...)."""
    others = tuple(f for f in (module.functions if module else ()) if f.name != src.name)
    sources = module.sources if module else ()
    try:
        return run_both(ir.Module((src,) + others, sources), ir.Module((new,) + others, sources), src, seed)
    except (KeyError, RuntimeError, ValueError, TypeError, interp.OutOfFuel) as exc:
        return Runs(None, unrunnable=f"could not run: {exc}")


def regroup_slack(args) -> float:
    """How far two orders of a `reassoc fn`'s sums over these arguments may
    lie apart: 2 * gamma_n * sum |x_i| over the float inputs (each order is
    within gamma_n = n eps / (1 - n eps) of the exact sum; eps the unit
    roundoff of the narrowest float type).  Exact for a plain sum of the
    inputs, and smaller than the truth for a sum of larger products: a
    disagreement then rejects a variant that was right, never the reverse."""
    xs = [np.asarray(a) for a in args if isinstance(a, (np.ndarray, float)) and np.asarray(a).dtype.kind == "f"]
    if not xs:
        return 0.0
    n = sum(x.size for x in xs) + 1
    eps = max(float(np.finfo(x.dtype).eps) for x in xs) / 2
    size = sum(float(np.abs(x.astype(np.float64)).sum()) for x in xs)
    return 2 * (n * eps / (1 - n * eps)) * size if n * eps < 1 else float("inf")


def within(a, b, slack: float) -> bool:
    """Floats (or float arrays) within `slack` of each other, NaN where NaN."""
    try:
        x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if x.shape != y.shape or np.asarray(a).dtype.kind != "f":
        return False
    nan = np.isnan(x) & np.isnan(y)
    with np.errstate(invalid="ignore"):
        return bool(np.all(nan | (np.abs(x - y) <= slack) | (x == y)))


def same(a, b) -> bool:
    """Bit for bit, except that any NaN equals any NaN (-0.0 is not 0.0);
    arrays element by element."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)) or a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.kind == "f":
            bits = np.dtype(f"u{a.itemsize}")
            return bool(np.all((a.view(bits) == b.view(bits)) | (np.isnan(a) & np.isnan(b))))
        return bool(np.array_equal(a, b))
    if isinstance(a, float) or isinstance(b, float):
        if not (isinstance(a, float) and isinstance(b, float)):
            return False
        return (a != a and b != b) or (a == b and np.signbit(a) == np.signbit(b))
    return type(a) is type(b) and a == b


def _random_scalar(t: ir.Scalar, rng):
    if t.is_bool:
        return bool(rng.integers(0, 2))
    if t.is_float:
        return (
            float(rng.choice([0.0, -0.0, 1.0, -1.5, 1e30, float("inf"), float("nan")]))
            if rng.random() < 0.2
            else float(rng.uniform(-100, 100))
        )
    lo, hi = (-(1 << (t.bits - 1)), (1 << (t.bits - 1)) - 1) if t.signed else (0, t.mask)
    if rng.random() < 0.25:
        edge = [lo, hi, 0, 1, lo + 1, hi - 1] + ([-1] if t.signed else [])
        return edge[int(rng.integers(0, len(edge)))]
    v = int.from_bytes(rng.bytes(t.bits // 8), "little")  # uniform over the whole width
    return v - (1 << t.bits) if t.signed and v >> (t.bits - 1) else v


def _random_args(fn: ir.Function, rng, small: set[str], k: int):
    """Arguments for one run: the first parameter that sets a size is k, any
    other one k or a smaller value, so nests and pairs of lengths vary too."""
    drawn: dict = {}
    first = True
    for p in fn.params:
        if isinstance(p.ty, ir.Scalar):
            if p.name in small:
                drawn[p.name] = k if first or rng.random() < 0.5 else int(rng.integers(0, k + 1))
                first = False
            else:
                drawn[p.name] = _random_scalar(p.ty, rng)
    if fn.requires is not None:  # only inputs the function is defined for
        met = requires.satisfying(fn, drawn, rng, keep_first=tuple(n for n in drawn if n in small))
        if met is None:
            return None
        drawn = met
    values: list = [drawn.get(p.name) for p in fn.params]
    scalars = {p.name: interp.to_value(p.ty, drawn[p.name]) for p in fn.params if isinstance(p.ty, ir.Scalar)}
    for i, p in enumerate(fn.params):
        if isinstance(p.ty, ir.Array):
            n = interp.evaluate(p.ty.length, scalars, exact=True)
            if not 0 <= n <= MAX_ELEMENTS:
                return None
            dt = interp.dtype(p.ty.elem)
            if p.ty.elem.is_float:
                values[i] = rng.uniform(-100, 100, n).astype(dt)
                edges = rng.random(n) < 0.1
                values[i][edges] = rng.choice([0.0, -0.0, np.inf, -np.inf, np.nan], int(edges.sum()))
            elif p.ty.elem.is_bool:
                values[i] = rng.integers(0, 2, n).astype(dt)
            else:
                info = np.iinfo(dt)
                values[i] = rng.integers(info.min, info.max, n, dtype=dt, endpoint=True)
    return values
