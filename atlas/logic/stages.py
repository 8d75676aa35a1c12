"""The logic stages: saturate the atlas, then extract and verify.

    saturate: every root term of every function goes into one e-graph, which
              the proven rules of primitives/rules/ grow under limits;
    verify:   each root's cheapest member replaces it only once Z3 has proven
              the two equal; each rebuilt function is then validated against
              its source as a whole function (atlas/logic/validate.py).  Anything
              not validated keeps its source form.

Every function's evidence goes into the manifest.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, field, replace

from . import bodies, costs, egraph, idioms, loops, lower, validate, whiles
from ..meaning import ir
from . import rules as rulebook
from ..meaning.terms import Term, const, subterms, to_expr
from ..machine.manifest import Evidence, Fallback, Form, Terms
from ..machine.probe import Probe

PROOF_TIMEOUT_MS = 30_000  # per rewritten root: a safety net; rules.PROOF_RLIMIT bounds each proof
FORMS_PER_ROOT = 4  # the search's choice per root: the source and up to this many members of its class,
# distinct up to commuted operands (the same code)


@dataclass
class Saturated:
    atlas: "egraph.Atlas"
    roots: list[lower.Root]
    rules: list
    rule_stats: object = None
    guarded: list = field(default_factory=list)  # rules that hold under a `requires` (rules.Rule.guarded)


class RootStatus(enum.Enum):
    UNCHANGED = "unchanged"  # no cheaper form: nothing to prove
    PROVEN = "proven by Z3"  # the cheaper form is used
    FALLBACK = "fallback"  # a cheaper form, not used (why says why)


@dataclass(frozen=True)
class RootOutcome:
    """What became of one root: its status and the term emitted for it."""

    status: RootStatus
    term: Term
    why: str = ""

    def __str__(self) -> str:
        if self.status is RootStatus.FALLBACK:
            return f"fallback: {self.why}"
        return f"{self.status.value}, {self.why}" if self.why else self.status.value


@dataclass
class Verified:
    module: ir.Module
    evidence: dict[str, Evidence] = field(default_factory=dict)
    outcomes: dict[str, RootOutcome] = field(default_factory=dict)  # root name -> what became of it
    roots: list = field(default_factory=list)  # lower.Root, every function's
    # root name -> the cheapest members of its e-class (not yet proven, apart
    # from the one in outcomes): what the search may choose among
    alternatives: dict[str, tuple[Term, ...]] = field(default_factory=dict)

    def proven(self) -> dict[str, Term]:
        """Root name -> its proven atlas form, for the roots that were rewritten."""
        return {name: o.term for name, o in self.outcomes.items() if o.status is RootStatus.PROVEN}


def saturate(module: ir.Module, probe: Probe, limits: "egraph.Limits | None" = None, rules=None) -> Saturated:
    if rules is None:
        rules = rulebook.load_rules()
    rule_stats = getattr(rules, "stats", None)
    _, roots = lower.transform(module)
    # egglog cannot test a rule's condition: conditioned rules go in as their
    # instances for the constants the roots hold (`udiv-pow2-is-shr[c=16]`).
    concrete: list = rulebook.for_terms(rules, [r.term for r in roots])  # Rule, and loops.LoopRule below
    # idioms recognised by their values, whatever their spelling
    concrete += idioms.recognise([r.term for r in roots])
    # loop rules, at the fold and index types the roots' folds have
    concrete += loops.for_terms(loops.load_rules(), [r.term for r in roots])
    # while loops in closed form, found by enumeration and proven
    concrete += whiles.closed_forms([r.term for r in roots])
    atlas = egraph.saturate(
        {r.name: (r.function, r.term) for r in roots},
        concrete,
        limits=limits or egraph.Limits(),
        table=costs.model_for(probe),
    )
    return Saturated(atlas, roots, concrete, rule_stats, list(getattr(rules, "guarded", ())))


def verify(module: ir.Module, sat: Saturated, seed: int = 0) -> Verified:
    """Replace each root by its extracted form where Z3 proves them equal."""
    chosen: dict[str, Term] = {}
    outcomes: dict[str, RootOutcome] = {}
    counts = {f.name: [0, 0, 0, 0] for f in module.functions}  # roots, rewritten, proven, of which loops
    fallbacks: dict[str, list[Fallback]] = {f.name: [] for f in module.functions}
    pre = {f.name: bodies.precondition(f) for f in module.functions}
    for r in sat.roots:
        n = counts[r.function]
        n[0] += 1
        when = pre[r.function]  # parameters never change (locals that shadow one are renamed): it holds throughout
        best = sat.atlas.extract(r.name, r.loop)
        cost = functools.partial(sat.atlas.cost, loop=r.loop)  # priced where it runs
        if when is not None:
            best = min((best, *guarded_forms(r.term, sat.guarded, when)), key=cost)
        if strays(r.term, best):
            best = r.term  # another function's variable: not a form of this root
        if r.term.op == "reduce" and not loops.restructured(r.term, best):
            best = r.term  # a fold with a new body only: the body's own roots rewrite it
        if r.term.op == "until" and whiles.has_until(best):
            best = r.term  # a while loop is rewritten only into a closed form
        outcomes[r.name] = RootOutcome(RootStatus.UNCHANGED, r.term)
        if best == r.term or cost(best) >= cost(r.term):
            continue  # no cheaper form: keep the source, nothing to prove
        n[1] += 1
        why = unproven_because(r.term, best, when)
        if why is not None:
            fallbacks[r.function].append(Fallback(r.name, why))
            outcomes[r.name] = RootOutcome(RootStatus.FALLBACK, r.term, why)
            continue
        n[2] += 1
        chosen[r.name] = best
        by = loops.PROOF if r.term.op == "reduce" else whiles.proof_text(r.term) if r.term.op == "until" else ""
        n[3] += bool(by)
        outcomes[r.name] = RootOutcome(RootStatus.PROVEN, best, by)
    _whole_whiles(sat.roots, chosen, outcomes, counts, fallbacks)
    optimised, _ = lower.transform(module, lambda r: chosen.get(r.name, r.term))
    run_form, _ = lower.transform(module)
    functions = []
    evidence: dict[str, Evidence] = {}
    for src, opt in zip(module.functions, optimised.functions):
        proven = counts[src.name][2]
        emitted, form = src, Form.SOURCE
        if not proven:  # nothing rewritten: the source itself is emitted
            check = validate.Validation(src.name, True, None, None)
        else:
            others = ir.Module((opt,) + tuple(f for f in module.functions if f.name != src.name), module.sources)
            check = validate.function(src, opt, others, seed, _source_terms(src, run_form, sat.roots, chosen), proven)
            if check.validated:
                emitted, form = opt, Form.REWRITTEN
            else:
                why = f"the whole function was not validated ({check.why_not()}): source form kept"
                fallbacks[src.name].append(Fallback("*", why))
                outcomes.update(
                    {r.name: RootOutcome(RootStatus.FALLBACK, r.term, why) for r in sat.roots if r.function == src.name}
                )
        functions.append(emitted)
        roots, rewritten, _, whole_loops = counts[src.name]
        terms = Terms(roots, rewritten, proven, tuple(fallbacks[src.name]), whole_loops)
        evidence[src.name] = Evidence(form, check.proven_text(), terms, check.check(), check.runs)
    alternatives = {
        r.name: tuple(
            t for t in sat.atlas.extract_k(r.name, FORMS_PER_ROOT, rulebook.canonical, r.loop) if not strays(r.term, t)
        )
        for r in sat.roots
        if r.role != lower.FUNCTION
    }
    return Verified(ir.Module(tuple(functions), module.sources), evidence, outcomes, list(sat.roots), alternatives)


def _whole_whiles(roots, chosen: dict, outcomes: dict, counts: dict, fallbacks: dict) -> None:
    """A while loop is replaced only where every value it carries has a
    closed form (lower emits it so); the closed forms of a loop that keeps
    one value without are not used, and said so."""
    loops_of: dict[tuple, list] = {}
    for r in roots:
        if r.term.op == "until":
            loops_of.setdefault((r.function, r.where), []).append(r)
    for group in loops_of.values():
        if all(r.name in chosen for r in group):
            continue
        why = "another value the while loop carries has no closed form: the loop stays"
        for r in group:
            if r.name in chosen:
                del chosen[r.name]
                counts[r.function][2] -= 1
                counts[r.function][3] -= 1
                fallbacks[r.function].append(Fallback(r.name, why))
                outcomes[r.name] = RootOutcome(RootStatus.FALLBACK, r.term, why)


def strays(source: Term, form: Term) -> set[tuple[str, str]]:
    """The variables of `form` that `source` does not have.  The e-graph
    holds every function's terms, so an equal member may name another
    function's variable (`n - n` for 0, with that function's n): equal in
    value, but not a term of this function."""
    mine = {(u.value, u.ty.name) for u in subterms(source) if u.op == "var"}
    return {(u.value, u.ty.name) for u in subterms(form) if u.op == "var"} - mine


def guarded_forms(source: Term, guarded: list, pre: Term) -> list[Term]:
    """What the rules that hold only under a condition (`requires`) make of
    `source`, where its function's precondition `pre` implies theirs (Z3
    decides; refuted or undecided: not used)."""
    out = []
    for rule in guarded:
        env = rulebook.match(rule.lhs, source)
        if env is None:
            continue
        theirs = rulebook.substitute(rule.requires, env)
        try:
            implied = rulebook.prove(theirs, const(True, ir.BOOL), PROOF_TIMEOUT_MS, when=pre) is None
        except rulebook.Undecided:
            implied = False
        if implied:
            out.append(rulebook.substitute(rule.rhs, env))
    return out


def unproven_because(source: Term, form: Term, when: Term | None = None) -> str | None:
    """None where Z3 proves `form` equal to `source` (where `when` holds:
    a function's precondition), else why not: undecided, or refuted (never
    expected: a rule or the e-graph is wrong).  A fold is proven by
    induction (atlas/logic/loops.py)."""
    if source.op == "reduce":
        return loops.unproven_because(source, form, when)
    if source.op == "until":
        return whiles.unproven_because(source, form, when)
    try:
        counter = rulebook.prove(source, form, timeout_ms=PROOF_TIMEOUT_MS, when=when)
    except rulebook.Undecided as exc:
        return f"undecided: {exc}"
    return None if counter is None else f"refuted by {counter}"


def _source_terms(src: ir.Function, run_form: ir.Module, roots, chosen: dict) -> ir.Function:
    """The emitted function with every rewritten term put back as it was:
    the run form, or, where the whole function became one term, the return
    of its unrolled source term (so that unrolling is proven too)."""
    for r in roots:
        if r.function == src.name and r.role == lower.FUNCTION and r.name in chosen:
            return replace(src, body=(ir.Return(to_expr(r.term), src.span),))
    return run_form.function(src.name)
