"""The logic stages: saturate the atlas, then extract and verify.

    saturate: every root term of every function goes into one e-graph, which
              the proven rules of primitives/rules/ grow under limits;
    verify:   each root's cheapest member replaces it only once Z3 has proven
              the two equal; each rebuilt function is then validated against
              its source as a whole function (atlas/validate.py).  Anything
              not validated keeps its source form.

Every function's evidence goes into the manifest.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

import numpy as np

from . import egraph, interp, ir, lower, validate
from . import rules as rulebook
from .terms import Term, to_expr

SMALL = 8                     # every length and trip count 0..SMALL is tried
MAX_LENGTH = 64               # larger ones up to this, as the step budget allows
BIG = (16, 33, 64)            # always among them
RANDOM_LENGTHS = 3            # and a few drawn at random
MAX_ELEMENTS = 1 << 20        # a run whose arrays would be larger is skipped
FUEL = 2_000_000              # loop iterations per function, all of the source's runs together
PROOF_TIMEOUT_MS = 30_000     # per rewritten root: a safety net; rules.PROOF_RLIMIT bounds each proof


@dataclass
class Saturated:
    atlas: "egraph.Atlas"
    roots: list[lower.Root]
    rules: list
    rule_stats: object = None


class RootStatus(enum.Enum):
    UNCHANGED = "unchanged"         # no cheaper form: nothing to prove
    PROVEN = "proven by Z3"         # the cheaper form is used
    FALLBACK = "fallback"           # a cheaper form, not used (why says why)


@dataclass(frozen=True)
class RootOutcome:
    """What became of one root: its status and the term emitted for it."""
    status: RootStatus
    term: Term
    why: str = ""

    def __str__(self) -> str:
        return f"fallback: {self.why}" if self.status is RootStatus.FALLBACK else self.status.value


@dataclass
class Verified:
    module: ir.Module
    evidence: dict[str, dict] = field(default_factory=dict)
    outcomes: dict[str, RootOutcome] = field(default_factory=dict)   # root name -> what became of it
    roots: list = field(default_factory=list)                        # lower.Root, every function's

    def proven(self) -> dict[str, Term]:
        """Root name -> its proven atlas form, for the roots that were rewritten."""
        return {name: o.term for name, o in self.outcomes.items() if o.status is RootStatus.PROVEN}


def saturate(module: ir.Module, probe: dict, limits: "egraph.Limits | None" = None,
             rules=None) -> Saturated:
    if rules is None:
        rules = rulebook.load_rules()
    rule_stats = getattr(rules, "stats", None)
    _, roots = lower.transform(module)
    # egglog cannot test a rule's condition: conditioned rules go in as their
    # instances for the constants the roots hold (`udiv-pow2-is-shr[c=16]`).
    concrete = rulebook.for_terms(rules, [r.term for r in roots])
    atlas = egraph.saturate({r.name: (r.function, r.term) for r in roots}, concrete,
                            limits=limits or egraph.Limits(), costs=egraph.costs(probe))
    return Saturated(atlas, roots, concrete, rule_stats)


def verify(module: ir.Module, sat: Saturated, seed: int = 0) -> Verified:
    """Replace each root by its extracted form where Z3 proves them equal."""
    chosen: dict[str, Term] = {}
    outcomes: dict[str, RootOutcome] = {}
    evidence: dict[str, dict] = {f.name: {"roots": 0, "rewritten": 0, "proven": 0, "fallbacks": []}
                                 for f in module.functions}
    for r in sat.roots:
        ev = evidence[r.function]
        ev["roots"] += 1
        best = sat.atlas.extract(r.name)
        outcomes[r.name] = RootOutcome(RootStatus.UNCHANGED, r.term)
        if best == r.term or sat.atlas.cost(best) >= sat.atlas.cost(r.term):
            continue                            # no cheaper form: keep the source, nothing to prove
        ev["rewritten"] += 1
        try:
            counter = rulebook.prove(r.term, best, timeout_ms=PROOF_TIMEOUT_MS)
        except rulebook.Undecided as exc:
            why = f"undecided: {exc}"
        else:                                   # a refutation is never expected: a rule or the e-graph is wrong
            why = None if counter is None else f"refuted by {counter}"
        if why is not None:
            ev["fallbacks"].append({"root": r.name, "why": why})
            outcomes[r.name] = RootOutcome(RootStatus.FALLBACK, r.term, why)
            continue
        ev["proven"] += 1
        chosen[r.name] = best
        outcomes[r.name] = RootOutcome(RootStatus.PROVEN, best)
    optimised, _ = lower.transform(module, lambda r: chosen.get(r.name, r.term))
    run_form, _ = lower.transform(module)
    functions = []
    for src, opt in zip(module.functions, optimised.functions):
        ev = evidence[src.name]
        if not ev["proven"]:                    # nothing rewritten: the source itself is emitted
            functions.append(src)
            ev["form"] = "source"
            ev.update(validate.Validation(src.name, True, None, {}).evidence())
            continue
        others = ir.Module((opt,) + tuple(f for f in module.functions if f.name != src.name), module.sources)
        check = validate.function(src, opt, others, seed, _source_terms(src, run_form, sat.roots, chosen),
                                  ev["proven"])
        ev.update(check.evidence())
        if check.validated:
            functions.append(opt)
            ev["form"] = "rewritten"
        else:
            why = f"the whole function was not validated ({check.why_not()}): source form kept"
            ev["fallbacks"].append({"root": "*", "why": why})
            outcomes.update({r.name: RootOutcome(RootStatus.FALLBACK, r.term, why)
                             for r in sat.roots if r.function == src.name})
            functions.append(src)
            ev["form"] = "source"
    return Verified(ir.Module(tuple(functions), module.sources), evidence, outcomes, list(sat.roots))


def _source_terms(src: ir.Function, run_form: ir.Module, roots, chosen: dict) -> ir.Function:
    """The emitted function with every rewritten term put back as it was:
    the run form, or, where the whole function became one term, the return
    of its unrolled source term (so that unrolling is proven too)."""
    for r in roots:
        if r.function == src.name and r.role == lower.FUNCTION and r.name in chosen:
            return replace(src, body=(ir.Return(to_expr(r.term), src.span),))
    return run_form.function(src.name)


def has_loops_in(stmts) -> bool:
    for s in stmts:
        if isinstance(s, (ir.For, ir.While)):
            return True
        if isinstance(s, ir.If) and (has_loops_in(s.then) or has_loops_in(s.else_)):
            return True
    return False


# ---------------------------------------------------------------- differential tests

def largest_constant_index(fn: ir.Function) -> int:
    """The largest literal index of a load or store (-1 when none): a fault
    at a[9] is only seen on an array of ten or more elements."""
    top = -1
    for s in ir.walk_stmts(fn.body):
        if isinstance(s, ir.Store) and isinstance(s.index, ir.Const):
            top = max(top, s.index.value)
        for e in ir.own_exprs(s):
            for x in ir.walk(e):
                if isinstance(x, ir.Load) and isinstance(x.index, ir.Const):
                    top = max(top, x.index.value)
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
    names = {v.name for p in fn.params if isinstance(p.ty, ir.Array)
             for v in ir.walk(p.ty.length) if isinstance(v, ir.Var)}
    for s in ir.walk_stmts(fn.body):
        bounds = (s.lo, s.hi) if isinstance(s, ir.For) else (s.cond,) if isinstance(s, ir.While) else ()
        for e in bounds:
            names |= {v.name for v in ir.walk(e) if isinstance(v, ir.Var)}
    return names & {p.name for p in fn.params if isinstance(p.ty, ir.Scalar) and p.ty.is_int}


def differential(source: ir.Module, candidate: ir.Module, fn: ir.Function, seed: int = 0) -> dict:
    """Run fn from both modules on the same inputs: lengths and trip counts
    from `schedule`, other scalars random with their edge values.  Every run
    goes to its end: one the source cannot finish within the step budget is
    a disagreement at the lengths every function must reach (0..8), and ends
    the schedule past them; one the candidate cannot finish is a disagreement."""
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
        except interp.OutOfFuel:
            if k <= SMALL:
                return _verdict(runs, skipped, tried, False, f"the source did not finish in "
                                f"{FUEL} loop iterations at length {k}", small)
            note = f"stopped before length {k}: the step budget ({FUEL} loop iterations) was spent"
            break
        spent = before - tank[0]
        try:
            r2 = interp.run(candidate, fn.name, *a2, fuel=2 * spent + 1000)
        except interp.OutOfFuel:
            return _verdict(runs + 1, skipped, tried + [k], False, f"the candidate did not finish at "
                            f"length {k} where the source took {spent} steps", small)
        runs += 1
        tried.append(k)
        if not (_same(r1, r2) and all(_same_array(x, y) for x, y in zip(a1, a2)
                                      if isinstance(x, np.ndarray))):
            return _verdict(runs, skipped, tried, False, f"different results at length {k}", small)
    return _verdict(runs, skipped, tried, runs > 0 or not lengths, note, small)


def _verdict(runs: int, skipped: int, tried: list[int], agree: bool, note: str | None,
             sizes: set[str] = frozenset()) -> dict:
    out = {"runs": runs, "skipped": skipped, "max_length": max(tried, default=0),
           "lengths": _ranges(tried), "agree": agree, "sizes": sorted(sizes)}
    if note:
        out["note"] = note
    return out


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


def differential_function(src: ir.Function, new: ir.Function, module: ir.Module | None,
                          seed: int = 0) -> dict:
    """`differential` of one rewritten function against its source, beside
    the other functions of `module` (which it may call); {"agree": None} with
    the reason when the pair cannot be run (a callee not given, ...)."""
    others = tuple(f for f in (module.functions if module else ()) if f.name != src.name)
    sources = module.sources if module else ()
    try:
        return differential(ir.Module((src,) + others, sources), ir.Module((new,) + others, sources),
                            src, seed)
    except (KeyError, RuntimeError, ValueError, TypeError, interp.OutOfFuel) as exc:
        return {"agree": None, "skipped": f"could not run: {exc}"}


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (np.isnan(a) and np.isnan(b)) or (a == b and np.signbit(a) == np.signbit(b))
    return a == b


def _same_array(x: np.ndarray, y: np.ndarray) -> bool:
    """Bit for bit, except that any NaN equals any NaN."""
    if x.dtype.kind == "f":
        bits = np.dtype(f"u{x.itemsize}")
        return bool(np.all((x.view(bits) == y.view(bits)) | (np.isnan(x) & np.isnan(y))))
    return bool(np.array_equal(x, y))


def _random_scalar(t: ir.Scalar, rng):
    if t.is_bool:
        return bool(rng.integers(0, 2))
    if t.is_float:
        return float(rng.choice([0.0, -0.0, 1.0, -1.5, 1e30, float("inf"), float("nan")])) \
            if rng.random() < 0.2 else float(rng.uniform(-100, 100))
    lo, hi = (-(1 << (t.bits - 1)), (1 << (t.bits - 1)) - 1) if t.signed else (0, t.mask)
    if rng.random() < 0.25:
        edge = [lo, hi, 0, 1, lo + 1, hi - 1] + ([-1] if t.signed else [])
        return edge[int(rng.integers(0, len(edge)))]
    v = int.from_bytes(rng.bytes(t.bits // 8), "little")          # uniform over the whole width
    return v - (1 << t.bits) if t.signed and v >> (t.bits - 1) else v


def _random_args(fn: ir.Function, rng, small: set[str], k: int):
    """Arguments for one run: the first parameter that sets a size is k, any
    other one k or a smaller value, so nests and pairs of lengths vary too."""
    scalars, values = {}, []
    first = True
    for p in fn.params:
        if isinstance(p.ty, ir.Scalar):
            if p.name in small:
                v = k if first or rng.random() < 0.5 else int(rng.integers(0, k + 1))
                first = False
            else:
                v = _random_scalar(p.ty, rng)
            scalars[p.name] = interp.to_value(p.ty, v)
            values.append(v)
        else:
            values.append(None)
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
