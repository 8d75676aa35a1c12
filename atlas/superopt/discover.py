"""`atlas superopt`: search the loop-free code of intent files, learn rules.

For every whole-function root (atlas/logic/flatten.py) and every loop-body root of
the files, in the program space of atlas/logic/stochastic.py, the search starts from
the atlas's best extraction and from random programs.  A proven program
cheaper than that extraction by the one cost model (atlas/logic/costs.py:
this machine's table, the estimate extraction weighs by, where the root
runs: once, or in a loop whose iterations overlap) becomes a learned
rule (atlas/logic/learned.py).  A root whose learned rule is already in the file is not
searched again: the atlas applies the rule by saturation.
"""

from __future__ import annotations

import enum

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..machine import backend
from ..logic import costs as cost_model
from ..logic import learned, lower, requires
from .. import pipeline
from ..logic import rules as rulebook
from . import costmodel
from ..logic import enumeration
from ..logic import stochastic as so
from ..meaning.terms import Term, pretty_lets
from ..machine.probe import Probe

MIN_LENGTH = 2  # a root of one operation has nothing to gain


class Found(enum.Enum):
    """What the search of one root came to."""

    LEARNED = "learned"  # a cheaper program, proven, stored as a rule
    KNOWN = "known"  # its learned rule is already loaded
    RULES_SUFFICE = "rules suffice"  # the atlas's form is a single operation
    NO_GAIN = "no gain"  # a proven program, not cheaper
    NOT_FOUND = "not found"  # no proven program within the budget
    SKIPPED = "skipped"  # not searched (why says why)


@dataclass
class Discovery:
    root: str
    function: str
    where: str
    status: Found
    why: str = ""
    source_length: int | None = None  # operations of the atlas's extraction (the starting point)
    found: str = ""
    found_length: int | None = None
    # a proven program shorter than `found` (or, with no gain, than the atlas's form) that the cost model
    # prices higher on this machine: reported, not learned
    shorter: str = ""
    shorter_length: int | None = None
    shorter_cost: float | None = None
    cost_before: float | None = None
    cost_after: float | None = None
    loop: frozenset[str] | None = None  # where the root runs, as it was priced (lower.Root.loop)
    generalised: list[str] = field(default_factory=list)  # the learned rule again at other widths
    seconds: float = 0.0
    result: so.Result | None = field(default=None, repr=False)
    rule: str = ""
    # what each search did, for its rate: (programs run on every test
    # vector, seconds) for the enumeration, (proposals, seconds) for the chain
    enumerated: tuple[int, float] | None = None
    proposed: tuple[int, float] | None = None


def candidates(sat, verified) -> list[tuple[lower.Root, Term]]:
    """The roots to search, with the atlas's form of each: every
    whole-function root, and the roots of the other functions."""
    flat = {r.function for r in sat.roots if r.role == lower.FUNCTION}
    out = []
    for r in sat.roots:
        if r.function in flat and r.role != lower.FUNCTION:
            continue  # the function's own root covers it
        outcome = verified.outcomes.get(r.name)
        out.append((r, outcome.term if outcome is not None else r.term))
    return out


def run(
    paths,
    probe: Probe,
    *,
    budget_s: float = 60.0,
    seed: int = 0,
    learned_path=None,
    only=(),
    again: bool = False,
    costs=None,
    progress: Callable[[str], None] | None = None,
) -> list[Discovery]:
    """Search the roots of `paths`; store what is learned in `learned_path`
    (default: the user's learned-rule file).  `costs`: a costmodel.CostTable
    (default: this machine's, measured once and cached)."""
    say = progress or (lambda text: None)
    path = learned_path or learned.default_path()
    _, specialised, _ = pipeline.front(paths, probe)
    files = pipeline.rule_files(backend.get(backend.DEFAULT), learned.paths(path))
    sat, verified = pipeline.logic_atlas(specialised, probe, rulebook.load_rules(files))
    table = costs or costmodel.for_probe(probe)
    known = {str(e.get("name")) for e in learned.read(path)}
    pre = {f.name: t for f in specialised.functions if (t := requires.term(f)) is not None}
    session = _Session(path, table, known, pre, again=again, budget_s=budget_s, seed=seed, say=say)
    out: list[Discovery] = []
    for root, best in candidates(sat, verified):
        if only and root.function not in only:
            continue
        d = _discover(session, root, best)
        if d is not None:
            out.append(d)
    return out


@dataclass(frozen=True)
class _Session:
    """What the search of every root in one `run` shares."""

    path: Path  # the learned-rule file
    table: costmodel.CostTable  # this machine's costs: what extraction weighs by too (logic/costs.py)
    known: set[str]  # names of the learned rules in the file; grows as rules are learned
    preconditions: dict[str, Term]  # function -> its `requires`, as a term over its parameters
    again: bool
    budget_s: float
    seed: int
    say: Callable[[str], None]


def _subject(root: lower.Root) -> str:
    """What a learned rule is named after: the function for a whole-function root, else the root."""
    return root.function if root.role == lower.FUNCTION else root.name


def _discover(session: _Session, root: lower.Root, best: Term) -> Discovery | None:
    """What came of one root (`best`: the atlas's form of it); None for a
    loop body's root too small to search, which goes unmentioned."""
    source, reads = so.load_inputs(root.term)
    spec, why = so.spec_of(root.name, source, _precondition(session, root))
    name = learned.rule_name(_subject(root), source.ty)
    if name in session.known and not session.again:
        return Discovery(
            root.name,
            root.function,
            str(root.where),
            Found.KNOWN,
            "its learned rule is loaded: the atlas applies it",
            so.term_length(best),
            rule=name,
        )
    if so.term_length(best) < MIN_LENGTH:
        if root.role != lower.FUNCTION:  # say so for a function; a body's leaves go unmentioned
            return None
        return Discovery(
            root.name,
            root.function,
            str(root.where),
            Found.RULES_SUFFICE,
            "the atlas's form is a single operation",
            so.term_length(best),
            found=str(best),
            found_length=so.term_length(best),
        )
    d = Discovery(root.name, root.function, str(root.where), Found.SKIPPED, source_length=so.term_length(best))
    if spec is None:
        d.why = why
        return d
    _search(session, d, root, spec, best, reads)
    return d


def _precondition(session: _Session, root: lower.Root) -> Term | None:
    """What the search may assume of a root: its function's precondition,
    which holds throughout the body (parameters never change, and a local
    that shadows one is renamed)."""
    return session.preconditions.get(root.function)


def _search(session: _Session, d: Discovery, root: lower.Root, spec: so.Spec, best: Term, reads: dict) -> None:
    """Search the program space for `spec`, starting from `best`, and record
    in `d` what was found: nothing, a program that gains nothing, or a
    cheaper one, which is learned."""
    start, _ = so.load_inputs(best, reads)
    session.say(f"{root.function}: searching {root.role} ({d.source_length} operations in the atlas's form)")

    # One model decides (atlas/logic/costs.py): the estimate that extraction
    # weighs the atlas's forms by, on this machine's table, over the terms
    # with their array reads, as extraction sees them; so what is learned as
    # cheaper is what the next compile extracts.
    # Priced where it runs (atlas/logic/costs.py): once, or in a loop, where only
    # what an earlier iteration made makes an iteration wait.
    def price(t: Term) -> float:
        return cost_model.estimate(t, session.table, root.loop)

    before = price(best)
    d.cost_before, d.loop = round(before, 3), root.loop
    pairs = so.cost_pairs(session.table, spec.W, root.overlapped)
    r, e = _enumerated(spec, pairs, session, lambda t: price(_reads_back(t, reads)), before)
    spent = e.seconds
    d.enumerated = (e.evaluated, e.seconds)
    if e.shorter is not None:
        shorter = _reads_back(e.shorter.term, reads)
        d.shorter, d.shorter_length = pretty_lets(e.shorter.term), e.shorter.length
        d.shorter_cost = round(price(shorter), 3)
    if r is None:
        r = so.search(spec, pairs, budget_s=max(1.0, session.budget_s - spent), seed=session.seed, start=start)
        d.proposed = (r.proposals, r.seconds)
        r.seconds += spent
        r.notes.append(f"enumeration first: no cheaper program in {spent:.1f} s")
    d.result, d.seconds = r, r.seconds
    if r.found is None:
        d.status, d.why = Found.NOT_FOUND, f"no proven program in {r.seconds:.1f} s ({r.proposals} proposals)"
        return
    f = r.found
    found_term = _reads_back(f.term, reads)
    after = price(found_term)
    d.found, d.found_length, d.cost_after = pretty_lets(f.term), f.length, round(after, 3)
    if not after < before - 1e-9:
        d.status = Found.NO_GAIN
        d.why = "not cheaper on this machine than the atlas's form"
        return
    _learn(session, d, root, spec, r, found_term)


def _enumerated(
    spec: so.Spec, pairs: dict, session: _Session, weigh: Callable[[Term], float], below: float
) -> tuple[so.Result | None, enumeration.Outcome]:
    """The shortest proven program by enumeration (atlas/logic/enumeration.py)
    that `weigh` prices under `below`, as the chain's Result (None where it
    found none: the chain goes on), and what the enumeration did."""
    e = enumeration.search(spec, pairs, budget_s=session.budget_s / 2, seed=session.seed, weigh=weigh, below=below)
    if e.found is None:
        return None, e
    notes = [f"found by enumeration ({e.terms} distinct behaviours built)", *e.notes]
    result = so.Result(spec, e.found, below, e.seconds, e.terms, e.proofs, e.counterexamples, 0, notes, e.shortest)
    return result, e


def _reads_back(term: Term, reads: dict) -> Term:
    """`term` with the variables that stood for array reads read again."""
    return rulebook.substitute(term, {v.value: load for load, v in reads.items()})


def _learn(session: _Session, d: Discovery, root: lower.Root, spec: so.Spec, r: so.Result, found_term: Term) -> None:
    """Store the proven, cheaper program `r` found for `root` (`found_term`,
    with its array reads) as a learned rule."""
    f = r.found
    assert f is not None  # _search learns only what was found
    pre = _precondition(session, root)
    lhs, rhs = learned.narrowest(root.term, found_term, pre)
    made = learned.entries(
        _subject(root),
        str(root.where),
        lhs,
        rhs,
        spec.term.ty,
        {
            "machine": session.table.source,
            "seed": session.seed,
            "search_s": round(r.seconds, 2),
            "proposals": r.proposals,
            "proofs": r.proofs,
            "counterexamples": r.counterexamples,
            "cost_before": d.cost_before,
            "cost_after": d.cost_after,
            "priced": cost_model.where_priced(d.loop),
            "length_before": d.source_length,
            "length_after": f.length,
            **({"narrowed": "to the smallest part of the source the program replaces"} if lhs is not root.term else {}),
        },
        pre,
    )
    main, *others = made
    learned.add(session.path, made, expect={main["name"]: lhs})
    session.known.add(main["name"])
    d.status, d.rule = Found.LEARNED, main["name"]
    d.generalised = [e["name"] for e in others]
