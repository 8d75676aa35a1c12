"""Loops that run while a value lasts, as terms, and in closed form.

A while loop whose body only computes, whose condition reads one carried
variable alone (the *driver*, `v`), whose driver's step reads nothing else
carried, and whose other carried variables each read only themselves and
the driver, leaves each carried variable `a` with the value of

    until($v = v0, $acc = a0 while C($v): $acc = U($v, $acc); $v = S($v))

an `until` term (op "until", the value's type): the start values, then the
condition, the driver's step and the update, written over two placeholders
(`$v`, the driver at an iteration's start, and loops.ACC), so loops that
differ only in names are one term.  The driver's own value is the until
whose update is its step.

Such a loop is recognised by what it computes, not by how it is spelled
(`while x != 0 { x &= x - 1; c += 1; }`, or `c += x & 1; x >>= 1;`, or
`x ^= x & -x`): where Z3 proves that the loop stops within W iterations
(W the driver's width) for every start value, the value after the loop
is the loop unrolled W times, an ordinary term over the start values; the
superoptimiser's enumeration (atlas/logic/enumeration.py) looks for a
short program equal to it on test vectors and Z3 proves the two equal for
every input.  The equality enters the saturation as a rule over pattern
variables in the start values' places, so the same loop over other
operands is recognised too, and extraction takes the closed form
(`c + popcount(x)`) where the cost model says it is cheaper; a loop whose
every carried value has one becomes straight code (`emit`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..meaning import ir
from ..meaning import semantics as sem
from ..meaning.terms import Term, const, evaluate, from_expr, pretty, replace_subterms, subterms, to_expr, var
from ..files import cache_dir, write_atomic
from . import egraph, enumeration, loops
from . import stochastic as so
from . import rules as rulebook
from .bodies import conjoin

V = "$v"  # the driver's value at an iteration's start, in an until's bodies
RULESET = "whiles"
SEARCH_S = 300.0  # a safety net: the enumeration is bounded by size (two operations per table term)
MAX_LENGTH = 6  # operations a closed form may take
# Candidates Z3 may leave undecided before a loop's search gives up (each
# costs up to its resource limit, about 5 s): a count, so the same on any machine.
MAX_UNDECIDED = 1
# Z3's resource units per induction claim (a 64-bit popcount's step needs 2 to 4 million); its time
# limit, a safety net, is raised by rules.safety_ms to lie far past that on any machine
RLIMIT = 15_000_000
_PY = sem.PyDomain()
PROOF = (
    "by induction over its iterations: it stops within {k} for every start value, the form is the start"
    " value where it does not run and is kept by one iteration where it does"
)


def until_term(v0: Term, a0: Term, cond: Term, step: Term, update: Term) -> Term:
    return Term("until", a0.ty, (v0, a0, cond, step, update))


def has_until(t: Term) -> bool:
    return any(u.op == "until" for u in subterms(t))


@dataclass(frozen=True)
class Until:
    """A while loop as until terms: each carried variable's name and term."""

    carried: tuple[str, ...]
    terms: tuple[Term, ...]


def recognise(loop: ir.While) -> Until | None:
    """The loop's until terms, or None where it is not one (module doc)."""
    env: dict[str, Term] = {}
    declared: set[str] = set()
    if not loops.run_body(loop.body, env, declared):
        return None
    carried = [n for n in env if n not in declared]
    cond = from_expr(loop.cond, {})
    if cond is None or not carried:
        return None
    drivers = loops.var_names(cond) & set(carried)
    if len(drivers) != 1:
        return None
    (d,) = drivers
    step = env.get(d)
    if step is None or not step.ty.is_int or loops.var_names(step) & set(carried) - {d} or loops.var_names(cond) - {d}:
        return None
    place = {var(d, step.ty): var(V, step.ty)}
    cond_b, step_b = replace_subterms(cond, place), replace_subterms(step, place)
    terms = []
    for name in carried:
        update = env[name]
        if not update.ty.is_int or loops.var_names(update) & set(carried) - {name, d}:
            return None  # a flag, a float, or an accumulator that reads another
        if name == d:
            terms.append(until_term(var(d, step.ty), var(d, step.ty), cond_b, step_b, step_b))
            continue
        acc = var(name, update.ty)
        body = replace_subterms(update, {**place, acc: var(loops.ACC, update.ty)})
        terms.append(until_term(var(d, step.ty), acc, cond_b, step_b, body))
    return Until(tuple(carried), tuple(terms))


def unrolled(t: Term, k: int) -> tuple[Term, Term]:
    """The value of until `t` after at most k iterations, and whether it
    would run a (k+1)-th: the loop equals the first where the second is
    never true."""
    v0, a0, cond, step, update = t.args
    v, acc, running = v0, a0, const(True, ir.BOOL)
    for _ in range(k):
        running = Term("land", ir.BOOL, (running, _at(cond, v, acc)))
        acc, v = (
            Term("select", acc.ty, (running, _at(update, v, acc), acc)),
            Term("select", v.ty, (running, _at(step, v, acc), v)),
        )
    return acc, Term("land", ir.BOOL, (running, _at(cond, v, acc)))


def _at(body: Term, v: Term, acc: Term) -> Term:
    return replace_subterms(body, {var(V, v.ty): v, var(loops.ACC, acc.ty): acc})


def bound(t: Term) -> int:
    """The iterations an until is proven against: its driver's width (a
    step that clears, shifts or halves reaches the end within it)."""
    return t.args[0].ty.bits


def stops(t: Term, when: Term | None = None) -> str | None:
    """None where Z3 proves `t`'s loop never runs past bound(t) iterations, else why not."""
    _, still = unrolled(t, bound(t))
    try:
        counter = rulebook.prove(still, const(False, ir.BOOL), when=when)
    except rulebook.Undecided as exc:
        return f"undecided whether it stops within {bound(t)} iterations: {exc}"
    return None if counter is None else f"it may run past {bound(t)} iterations (from {counter})"


# ---------------------------------------------------------------- closed forms


def closed_forms(terms, search_s: float = SEARCH_S) -> list[rulebook.Rule]:
    """Proven rules `until(?v, ?a ...) => form(?v, ?a)` for the until terms
    among `terms` (the roots) that have a closed form of at most MAX_LENGTH
    operations over their start values."""
    patterns = list(dict.fromkeys(_pattern(t) for root in terms for t in subterms(root) if t.op == "until"))
    if not patterns:
        return []  # no while loop: the cache is not even read
    found: list[rulebook.Rule] = []
    cache = _Cache()
    for pattern in patterns:
        key = cache.key(pattern)
        if key in cache.forms:  # found (or not) before, by this same code
            text = cache.forms[key]
            rule = _rule(pattern, egraph.decode(text)) if text else None
        else:
            rule = _closed(pattern, search_s)
            cache.put(key, egraph.encode(rule.rhs) if rule is not None else "")
        if rule is not None:
            found.append(rule)
    cache.save()
    return found


class _Cache:
    """The closed forms found, and the loops that have none, by until
    pattern and the code that looked (the search is bounded by size and
    Z3's resource limit, so it finds the same on any machine): a compile
    does not search again what an earlier one searched."""

    def __init__(self) -> None:

        h = hashlib.sha256(rulebook.environment_digest().encode())
        for mod in (enumeration, so):
            h.update(Path(str(mod.__file__)).read_bytes())
        h.update(Path(__file__).read_bytes())
        self.digest = h.hexdigest()
        self.path = cache_dir() / "while-forms-1.json"
        self.forms: dict[str, str] = self._read().get(self.digest, {})
        self.new: dict[str, str] = {}

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def key(self, pattern: Term) -> str:
        return hashlib.sha256(egraph.encode(pattern).encode()).hexdigest()

    def put(self, key: str, text: str) -> None:
        self.forms[key] = self.new[key] = text

    def save(self) -> None:
        if not self.new:
            return
        data = self._read()  # what other compiles found meanwhile; other digests are dropped
        try:
            write_atomic(self.path, json.dumps({self.digest: {**data.get(self.digest, {}), **self.new}}, indent=0))
        except OSError:
            pass  # a read-only cache folder costs time, not correctness


def _pattern(t: Term) -> Term:
    """t with pattern variables for its start values (the driver's own until: one)."""
    v0, a0 = t.args[:2]
    pv = var("?v", v0.ty)
    pa = pv if a0 == v0 else var("?a", a0.ty)
    return Term("until", t.ty, (pv, pa, *t.args[2:]))


def _closed(pattern: Term, search_s: float) -> rulebook.Rule | None:
    v0, a0 = pattern.args[:2]
    local = {v0: var("v", v0.ty)} if a0 == v0 else {v0: var("v", v0.ty), a0: var("a", a0.ty)}
    t = Term("until", pattern.ty, (local[v0], local[a0], *pattern.args[2:]))
    if stops(t) is not None:
        return None
    value, _ = unrolled(t, bound(t))
    spec, _ = so.spec_of("until", value)
    form_of: Callable[[Term], Term] = lambda h: h  # noqa: E731  the program found is the form
    if spec is None:  # the value of another width than the driver
        spec, form_of = _across(t)
        if spec is None:
            return None

    undecided = 0

    def decide(h: Term) -> dict | None:
        nonlocal undecided
        if undecided >= MAX_UNDECIDED:  # the rest are passed over, unproven: not emitted
            raise rulebook.Undecided("too many candidates Z3 could not decide")
        if _nonlinear(form_of(h)):
            raise rulebook.Undecided("a product of two variables: its induction step is not put to Z3")
        try:
            counter = by_induction(t, form_of(h))
        except rulebook.Undecided:
            undecided += 1
            raise
        return None if counter is None else _against(t, value, form_of(h), counter)

    # the loop's bound among the constants: a bit length is the width less clz
    out = enumeration.search(spec, {}, budget_s=search_s, max_size=2, prove=decide, deep=False, constants=(bound(t),))
    if out.found is None or out.found.length > MAX_LENGTH:
        return None
    return _rule(pattern, replace_subterms(form_of(out.found.term), {b: a for a, b in local.items()}))


def _across(t: Term) -> tuple[so.Spec | None, Callable[[Term], Term]]:
    """For a value of another width than its driver (a u64 count of a u32
    word's bits), updated as `$acc + f`, `$acc ^ f` or `$acc | f` with f
    reading the driver alone: what the loop adds to a start of 0, at the
    driver's type, as the spec of a program h of the driver; the form is
    then `a + (h(v) as A)` (or ^, |), which the induction proves or refutes
    at the value's own width."""
    v0, a0, cond, step, update = t.args
    acc = var(loops.ACC, a0.ty)
    if a0 == v0 or update.op not in ("add", "xor", "or") or acc not in update.args:
        return None, lambda h: h
    (f,) = [u for u in update.args if u != acc] or [acc]
    if loops.ACC in loops.var_names(f):
        return None, lambda h: h
    gained, _ = unrolled(Term("until", t.ty, (v0, const(0, a0.ty), cond, step, update)), bound(t))
    spec, _ = so.spec_of("until", Term("cast", v0.ty, (gained,)))
    op = update.op
    return spec, lambda h: Term(op, a0.ty, (a0, Term("cast", a0.ty, (h,))))


def _rule(pattern: Term, rhs: Term) -> rulebook.Rule:
    text = f"{pretty(pattern)} => {rulebook.pattern_text(rhs)}"
    return rulebook.Rule(
        name=f"until-{hashlib.blake2b(text.encode(), digest_size=6).hexdigest()}",
        ruleset=RULESET,
        ty=pattern.ty,
        lhs=pattern,
        rhs=rhs,
        source="found by enumeration, proven by induction with Z3 (atlas/logic/whiles.py)",
        text=text,
    )


def _nonlinear(t: Term) -> bool:
    """Whether t multiplies two values that vary: Z3 seldom decides such an
    induction step within its limit, and spends the whole limit trying."""
    return any(u.op in ("mul", "mulhi") and all(a.op != "const" for a in u.args) for u in subterms(t))


def by_induction(t: Term, form: Term, when: Term | None = None) -> dict | None:
    """Whether `form` (over t's start values, which must be variables) is
    the value of the until `t`, given that its loop stops (`stops`): where
    the loop does not run, the form is the start value; where it runs, one
    iteration leaves the form unchanged.  Then, iteration by iteration to
    the last, the form stays the value the loop ends with.  None when both
    are proven, else a counterexample (the start values); raises
    rulebook.Undecided."""
    v0, a0, cond, step, update = t.args
    at_v = {var(V, v0.ty): v0, var(loops.ACC, a0.ty): a0}
    c, s, u = (replace_subterms(b, at_v) for b in (cond, step, update))
    after = replace_subterms(form, {v0: s} if a0 == v0 else {v0: s, a0: u})
    base = rulebook.prove(form, a0, when=conjoin(when, Term("not", ir.BOOL, (c,))), rlimit=RLIMIT)
    if base is not None:
        return base
    return rulebook.prove(form, after, when=conjoin(when, c), rlimit=RLIMIT)


def _against(t: Term, value: Term, form: Term, counter: dict) -> dict:
    """A start the form gets wrong, from a counterexample to its induction:
    there, or after the one iteration from there (the loop's value is the
    same at both, so the form is wrong at one of them)."""
    v0, a0, cond, step, update = t.args
    names = [u for u in (v0, a0) if u.op == "var"]
    start = {u.value: int(counter.get(u.value, 0)) & u.ty.mask for u in names}
    at_v = {var(V, v0.ty): v0, var(loops.ACC, a0.ty): a0}
    nxt = {v0.value: replace_subterms(step, at_v)}
    if a0 != v0:
        nxt[a0.value] = replace_subterms(update, at_v)
    then = {n: int(evaluate(e, _PY, start, None, {})) for n, e in nxt.items()}
    for point in (start, then):
        if int(evaluate(value, _PY, point, None, {})) != int(evaluate(form, _PY, point, None, {})):
            return point
    return start  # not expected: the form then satisfies both claims there


def unproven_because(source: Term, form: Term, when: Term | None = None) -> str | None:
    """None where `form` is proven to be the value of the until `source`
    (`stops`, then `by_induction` with its start values taken as any
    values: the form must read them only whole), else why not."""
    if has_until(form):
        return "the form is still a loop"
    v0, a0 = source.args[:2]
    local = {v0: var("until.v", v0.ty)} if a0 == v0 else {v0: var("until.v", v0.ty), a0: var("until.a", a0.ty)}
    general = Term("until", source.ty, (local[v0], local[a0], *source.args[2:]))
    abstract = replace_subterms(form, local)
    if loops.var_names(abstract) - {u.value for u in local.values()}:
        return "the form reads the start values other than whole"
    why = stops(general)
    if why is not None:
        return why
    try:
        counter = by_induction(general, abstract)
    except rulebook.Undecided as exc:
        return f"undecided: {exc}"
    return None if counter is None else f"refuted by {counter}"


def proof_text(source: Term) -> str:
    return PROOF.format(k=bound(source))


# ---------------------------------------------------------------- emission


def emit(loop: ir.While, until: Until, chosen: list[Term], fresh: Callable[[str], str]) -> tuple:
    """The statements that replace `loop` where every carried value has a
    closed form (`chosen`, in until.carried's order): each form reads the
    values the loop started from, so all are computed before any is assigned."""
    temps = []
    out: list[ir.Stmt] = []
    for form in chosen:
        name = fresh("until")
        out.append(ir.Let(name, form.ty, to_expr(form), loop.span))
        temps.append(ir.Var(name, form.ty))
    return (*out, *(ir.Assign(n, t, loop.span) for n, t in zip(until.carried, temps)))
