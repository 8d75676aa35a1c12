"""The logic stages: saturate the atlas, then extract and verify.

    saturate: every root term of every function goes into one e-graph, which
              the proven rules of primitives/rules/ grow under limits;
    verify:   each root's cheapest member replaces it only once Z3 has proven
              the two equal; the rebuilt functions are then run against the
              source on random inputs.  Anything unproven keeps its source form.

Every function's evidence goes into the manifest.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import egraph, interp, ir, lower
from . import rules as rulebook
from .terms import Term

DIFFERENTIAL_RUNS = 12        # random inputs per function
MAX_LENGTH = 8                # array lengths tried: 0 .. MAX_LENGTH
FUEL = 200_000                # interpreter steps per run (a while loop may not end)
PROOF_TIMEOUT_MS = 30_000     # per rewritten root; generous, so a busy machine still proves
                              # what a quiet one does (the u64 bit-slicing popcount takes ~4 s)


@dataclass
class Saturated:
    atlas: "egraph.Atlas"
    roots: list[lower.Root]
    rules: list
    rule_stats: object = None


@dataclass
class Verified:
    module: ir.Module
    evidence: dict[str, dict] = field(default_factory=dict)
    outcomes: dict[str, tuple[str, Term]] = field(default_factory=dict)   # root -> (status, term used)
    roots: list = field(default_factory=list)                             # lower.Root, every function's

    def proven(self) -> dict[str, Term]:
        """Root name -> its proven atlas form, for the roots that were rewritten."""
        return {name: t for name, (status, t) in self.outcomes.items() if status == "proven by Z3"}


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
    outcomes: dict[str, tuple[str, Term]] = {}
    evidence: dict[str, dict] = {f.name: {"roots": 0, "rewritten": 0, "proven": 0, "fallbacks": []}
                                 for f in module.functions}
    for r in sat.roots:
        ev = evidence[r.function]
        ev["roots"] += 1
        best = sat.atlas.extract(r.name)
        outcomes[r.name] = ("unchanged", r.term)
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
            outcomes[r.name] = (f"fallback: {why}", r.term)
            continue
        ev["proven"] += 1
        chosen[r.name] = best
        outcomes[r.name] = ("proven by Z3", best)
    optimised, _ = lower.transform(module, lambda r: chosen.get(r.name, r.term))
    functions = []
    for src, opt in zip(module.functions, optimised.functions):
        ev = evidence[src.name]
        diff = differential(module, ir.Module((opt,) + tuple(f for f in module.functions if f.name != src.name),
                                               module.sources), src, seed)
        ev["differential"] = diff
        has_loops = has_loops_in(src.body)
        ev["proof"] = ("z3: every rewritten term of the loop bodies proven equal to its source; "
                       "loops by induction over the unchanged control structure" if has_loops else
                       "z3: every rewritten term proven equal to its source (loop-free)")
        if not diff["agree"]:
            why = "differential test disagreed: source form kept"
            ev["fallbacks"].append({"root": "*", "why": why})
            outcomes.update({r.name: (f"fallback: {why}", r.term) for r in sat.roots if r.function == src.name})
            functions.append(src)
            ev["form"] = "source"
        else:
            functions.append(opt)
            ev["form"] = "rewritten" if ev["proven"] else "source"
    return Verified(ir.Module(tuple(functions), module.sources), evidence, outcomes, list(sat.roots))


def has_loops_in(stmts) -> bool:
    for s in stmts:
        if isinstance(s, (ir.For, ir.While)):
            return True
        if isinstance(s, ir.If) and (has_loops_in(s.then) or has_loops_in(s.else_)):
            return True
    return False


# ---------------------------------------------------------------- differential tests

def differential(source: ir.Module, candidate: ir.Module, fn: ir.Function, seed: int = 0) -> dict:
    """Run fn from both modules on the same random inputs (array lengths 0..8,
    so every loop is also run for its first few trip counts)."""
    rng = np.random.default_rng(seed)
    runs = skipped = 0
    length_params = {v.name for p in fn.params if isinstance(p.ty, ir.Array)
                     for v in ir.walk(p.ty.length) if isinstance(v, ir.Var)}
    for k in range(DIFFERENTIAL_RUNS):
        args = _random_args(fn, rng, length_params, k)
        if args is None:
            skipped += 1
            continue
        a1 = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        a2 = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        try:
            r1 = interp.run(source, fn.name, *a1, fuel=FUEL)
        except interp.OutOfFuel:
            skipped += 1
            continue
        try:
            r2 = interp.run(candidate, fn.name, *a2, fuel=FUEL * 2)
        except interp.OutOfFuel:
            return {"runs": runs, "skipped": skipped, "agree": False}
        if not (_same(r1, r2) and all(_same_array(x, y) for x, y in zip(a1, a2)
                                      if isinstance(x, np.ndarray))):
            return {"runs": runs + 1, "skipped": skipped, "agree": False}
        runs += 1
    return {"runs": runs, "skipped": skipped, "max_length": MAX_LENGTH, "agree": True}


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


def _random_scalar(t: ir.Scalar, rng, small: bool):
    if t.is_bool:
        return bool(rng.integers(0, 2))
    if t.is_float:
        return float(rng.choice([0.0, -0.0, 1.0, -1.5, 1e30, float("inf"), float("nan")])) \
            if rng.random() < 0.2 else float(rng.uniform(-100, 100))
    lo, hi = (-(1 << (t.bits - 1)), (1 << (t.bits - 1)) - 1) if t.signed else (0, t.mask)
    if small:
        return int(rng.integers(0, MAX_LENGTH + 1))
    if rng.random() < 0.25:
        edge = [lo, hi, 0, 1, lo + 1, hi - 1] + ([-1] if t.signed else [])
        return edge[int(rng.integers(0, len(edge)))]
    v = int.from_bytes(rng.bytes(t.bits // 8), "little")          # uniform over the whole width
    return v - (1 << t.bits) if t.signed and v >> (t.bits - 1) else v


def _random_args(fn: ir.Function, rng, length_params: set[str], k: int):
    scalars, values = {}, []
    for p in fn.params:
        if isinstance(p.ty, ir.Scalar):
            v = _random_scalar(p.ty, rng, p.name in length_params)
            if p.name in length_params and k < MAX_LENGTH + 1:
                v = k                              # every small trip count once
            scalars[p.name] = interp.to_value(p.ty, v)
            values.append(v)
        else:
            values.append(None)
    for i, p in enumerate(fn.params):
        if isinstance(p.ty, ir.Array):
            n = interp.evaluate(p.ty.length, scalars, exact=True)
            if not 0 <= n <= MAX_LENGTH * MAX_LENGTH:
                return None
            dt = interp.dtype(p.ty.elem)
            if p.ty.elem.is_float:
                values[i] = rng.uniform(-100, 100, n).astype(dt)
            elif p.ty.elem.is_bool:
                values[i] = rng.integers(0, 2, n).astype(dt)
            else:
                info = np.iinfo(dt)
                values[i] = rng.integers(info.min, info.max, n, dtype=dt, endpoint=True)
    return values
