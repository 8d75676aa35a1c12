"""Loops as terms: a fold enters the logic atlas whole.

A counted loop whose body only computes (lets, assignments, and ifs over
them: no store, call, return or inner loop) leaves each variable it carries
(assigned in the body, declared before it) with the value of a *fold*:

    for i in lo..hi { s = B(s, i) }      s := reduce(lo, hi, s, B($acc, $i))

`reduce(lo, hi, init, body)` is a term (op "reduce", the fold's type): its
body is written over two placeholders, `$acc` (the carried value at the
iteration's start) and `$i` (the index), which no intent can name, so two
folds that differ only in their names are one term and share a class.
`trip(lo, hi)` is the number of iterations, in the unsigned type of the
index's width (exact for every range).  An `if` in the body becomes
selects (if-conversion: a term cannot trap, a read out of range gives 0).
A loop is a fold root when each value it carries depends, among those it
carries, on itself alone (independent accumulators).

Loop rules (primitives/loops.yaml, `load_rules`) rewrite folds in the
e-graph: a product by a value the loop does not change moved out of a sum,
a sum split in two, a fold of an unchanging value in closed form.  A rule
may ask that a pattern variable be *invariant*: the e-graph's `Inv`
relation holds of the classes that name neither placeholder; every other
pattern variable of a body matches only what `Free` holds of, the classes
that do not read the accumulator (the proof takes them for any value).  Each rule,
at every width it claims, and each form the atlas chooses for a loop, is
proven by induction on the iteration count with Z3 (`unproven_because`):

    base:  after no iteration the form's value is the start value;
    step:  where the form, each of its own folds standing for any value
           X_j, equals the source's value Y after the iterations before
           index k, one more iteration of each keeps them equal.

`emit` writes a chosen form back as statements: its folds in one loop over
the same range with accumulators of their own, then each carried variable
assigned its form, a fold in closed form needing no loop at all.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Callable

import yaml

from ..files import cache_dir, write_atomic
from ..front import syntax
from ..front.check import check
from ..front.diagnostics import AtlasError
from ..meaning import ir
from ..meaning.terms import Term, const, from_expr, replace_subterms, subterms, to_expr, var
from . import rules as rulebook
from .bodies import conjoin

ACC = "$acc"  # the carried value at an iteration's start, in a fold's body
IDX = "$i"  # the iteration's index
PLACEHOLDERS = (ACC, IDX)

PROOF = "by induction over the iteration count (every trip count)"  # what a fold's proof covers


# ---------------------------------------------------------------- terms


def reduce_term(lo: Term, hi: Term, init: Term, body: Term) -> Term:
    return Term("reduce", init.ty, (lo, hi, init, body))


def unsigned(ty: ir.Scalar) -> ir.Scalar:
    """The unsigned type of ty's width: a trip count's type."""
    return ir.SCALARS[f"u{ty.bits}"]


def trip(lo: Term, hi: Term) -> Term:
    return Term("trip", unsigned(lo.ty), (lo, hi))


def has_fold(t: Term) -> bool:
    return any(u.op in ("reduce", "trip") for u in subterms(t))


def var_names(t: Term) -> set[str]:
    """The names of the variables t reads."""
    return {u.value for u in subterms(t) if u.op == "var"}


def trip_value(lo: Term, hi: Term) -> Term:
    """trip(lo, hi) in plain operators: hi - lo where lo < hi, else 0."""
    u = unsigned(lo.ty)
    diff = Term("sub", lo.ty, (hi, lo))
    if u != lo.ty:
        diff = Term("cast", u, (diff,))
    return Term("select", u, (Term("lt", ir.BOOL, (lo, hi)), diff, const(0, u)))


# ---------------------------------------------------------------- recognition


@dataclass(frozen=True)
class Fold:
    """A loop as folds: each carried variable's name and its reduce term."""

    carried: tuple[str, ...]
    terms: tuple[Term, ...]


def recognise(loop: ir.For) -> Fold | None:
    """The loop's folds, or None where it is not one (see the module doc)."""
    env: dict[str, Term] = {}
    declared: set[str] = set()
    if not run_body(loop.body, env, declared):
        return None
    carried = [n for n in env if n not in declared and n != loop.var]
    if not carried or loop.var in env:
        return None
    lo, hi = from_expr(loop.lo, {}), from_expr(loop.hi, {})
    if lo is None or hi is None or (var_names(lo) | var_names(hi)) & set(carried):
        return None
    index = var(loop.var, loop.ty)
    terms = []
    for name in carried:
        update = env[name]
        if update.ty.is_bool or (var_names(update) & set(carried)) - {name}:
            return None  # a flag, or an accumulator that reads another
        acc = var(name, update.ty)
        body = replace_subterms(update, {acc: var(ACC, update.ty), index: var(IDX, loop.ty)})
        terms.append(reduce_term(lo, hi, acc, body))
    return Fold(tuple(carried), tuple(terms))


def run_body(stmts, env: dict[str, Term], declared: set[str]) -> bool:
    """Run straight-line statements and ifs symbolically; False at anything else."""
    for s in stmts:
        if isinstance(s, (ir.Let, ir.Assign)):
            t = from_expr(s.init if isinstance(s, ir.Let) else s.value, env)
            if t is None:
                return False
            if isinstance(s, ir.Let):
                declared.add(s.name)
            env[s.name] = t
        elif isinstance(s, ir.If):
            c = from_expr(s.cond, env)
            if c is None:
                return False
            arms = []
            for block in (s.then, s.else_):
                e, d = dict(env), set(declared)
                if not run_body(block, e, d):
                    return False
                arms.append((e, d))
            (te, td), (ee, ed) = arms
            for name in set(te) | set(ee):
                if (name in td and name not in declared) or (name in ed and name not in declared):
                    continue  # a local of one arm
                a = te.get(name) or env.get(name)
                b = ee.get(name) or env.get(name)
                if a is None or b is None:
                    ty = (a or b).ty  # type: ignore[union-attr]
                    a, b = a or var(name, ty), b or var(name, ty)
                env[name] = a if a == b else Term("select", a.ty, (c, a, b))
        else:
            return False
    return True


def restructured(source: Term, form: Term) -> bool:
    """Whether `form` is more than the source fold with another body (a new
    body alone is the body's own roots' business)."""
    return not (form.op == "reduce" and form.args[:3] == source.args[:3])


# ---------------------------------------------------------------- proof


def unproven_because(source: Term, form: Term, when: Term | None = None) -> str | None:
    """None where Z3 proves `form` equal to the fold `source` by induction
    on the iteration count (module doc), else why not."""
    if source.op != "reduce":
        return "not a fold"
    lo, hi, init, body = source.args
    folds = [u for u in subterms(form) if u.op == "reduce"]
    if any(u.op == "trip" and u.args != (lo, hi) for u in subterms(form)) or any(r.args[:2] != (lo, hi) for r in folds):
        return "the form folds over another range"
    k = var("fold.k", lo.ty)
    in_range = conjoin(when, Term("le", ir.BOOL, (lo, k)), Term("lt", ir.BOOL, (k, hi)))
    y = var("fold.y", source.ty)

    def step(b: Term, acc: Term) -> Term:
        return replace_subterms(b, {var(ACC, b.ty): acc, var(IDX, lo.ty): k})

    try:
        if not restructured(source, form):  # the same fold, another body
            return _why(rulebook.prove(step(body, y), step(form.args[3], y), when=in_range))
        if source.ty.is_float or any(r.ty.is_float for r in folds):
            return "a float fold is rewritten in its body only"
        xs = {r: var(f"fold.x{j}", r.ty) for j, r in enumerate(folds)}
        u = unsigned(lo.ty)
        n = trip(lo, hi)
        # The count as another type is a counter of its own (m_j), so Z3
        # meets `c * (m + 1)`, not a product through a cast it must see through.
        counts = [t for t in subterms(form) if t.op == "cast" and t.args[0] == n]
        ms = {t: var(f"fold.m{j}", t.ty) for j, t in enumerate(counts)}

        def at(done: Term, values: dict[Term, Term], count: Callable[[Term], Term]) -> Term:
            return replace_subterms(form, {**values, n: done, **{t: count(t) for t in counts}})

        def zero(t: Term) -> Term:
            return const(0, t.ty)

        outer = at(const(0, u), xs, zero)
        if var_names(outer) & set(PLACEHOLDERS):
            return "the form reads the loop's index or accumulator outside a fold"
        base = rulebook.prove(init, at(const(0, u), {r: r.args[2] for r in folds}, zero), when=when)
        if base is not None:
            return f"refuted with no iteration by {base}"
        done = Term("sub", lo.ty, (k, lo))
        done = done if u == lo.ty else Term("cast", u, (done,))
        hyp = conjoin(
            in_range,
            *(Term("eq", ir.BOOL, (m, Term("cast", m.ty, (done,)))) for m in ms.values()),
            Term("eq", ir.BOOL, (y, at(done, xs, ms.__getitem__))),
        )
        # done + 1 never wraps (k < hi), so the count as T is m + 1
        after = at(
            Term("add", u, (done, const(1, u))),
            {r: step(r.args[3], xs[r]) for r in folds},
            lambda t: Term("add", t.ty, (ms[t], const(1, t.ty))),
        )
        return _why(rulebook.prove(step(body, y), after, when=hyp), "in the step ")
    except rulebook.Undecided as exc:
        return f"undecided: {exc}"


def _why(counter: dict | None, where: str = "") -> str | None:
    return None if counter is None else f"refuted {where}by {counter}"


# ---------------------------------------------------------------- emission


def emit(loop: ir.For, fold: Fold, chosen: list[Term], fresh: Callable[[str], str]) -> tuple:
    """The statements for `loop` where its folds are written as `chosen`
    (one form per carried variable, in fold.carried's order)."""
    folds: list[Term] = []
    for form in chosen:
        folds += [u for u in subterms(form) if u.op == "reduce" and u not in folds]
    out: list[ir.Stmt] = []
    accs: dict[Term, Term] = {}
    for r in folds:
        name = fresh("fold")
        out.append(ir.Let(name, r.ty, to_expr(r.args[2]), loop.span))
        accs[r] = var(name, r.ty)
    if folds:
        index = var(loop.var, loop.ty)
        body = tuple(
            ir.Assign(
                accs[r].value,
                to_expr(replace_subterms(r.args[3], {var(ACC, r.ty): accs[r], var(IDX, loop.ty): index})),
                loop.span,
            )
            for r in folds
        )
        out.append(ir.For(loop.var, loop.ty, loop.lo, loop.hi, body, loop.span))
    values = []
    for form in chosen:
        trips = {u: trip_value(*u.args) for u in subterms(form) if u.op == "trip"}
        values.append(to_expr(replace_subterms(form, {**accs, **trips})))
    if len(chosen) == 1:
        return (*out, ir.Assign(fold.carried[0], values[0], loop.span))
    # every form reads the carried values as the loop found them
    temps = []
    for value, form in zip(values, chosen):
        t = fresh("folded")
        out.append(ir.Let(t, form.ty, value, loop.span))
        temps.append(ir.Var(t, form.ty))
    return (*out, *(ir.Assign(n, t, loop.span) for n, t in zip(fold.carried, temps)))


# ---------------------------------------------------------------- rules

LOOP_RULES = Path(str(files("atlas.primitives").joinpath("loops.yaml")))
_KEYS = {"name", "body", "form", "folds", "invariant", "varies", "types", "doc"}


@dataclass(frozen=True)
class LoopRule:
    """One loop rule at one accumulator type and one index type; lhs and
    rhs are patterns ('?x' variables), `invariant` the variables that match
    only classes the loop does not change."""

    name: str
    ruleset: str
    ty: ir.Scalar
    index: ir.Scalar
    lhs: Term
    rhs: Term
    invariant: tuple[str, ...]
    variant: tuple[str, ...]  # the others: may read the index, never the accumulator
    varies: tuple[str, ...]  # those that must read the index (a rule that would only feed another)
    source: str
    text: str
    reassoc: bool = False  # what every rule says; a loop rule holds for integers only

    def __str__(self) -> str:
        return f"{self.name}[{self.ty}, index {self.index}]: {self.text}"


class LoopRuleError(rulebook.RuleError):
    """A loop rule that does not parse, check or prove; the message names its file."""


@dataclass(frozen=True)
class _Spec:
    name: str
    body: str
    form: str
    folds: tuple[tuple[str, str, str], ...]  # (name, start, body)
    invariant: tuple[str, ...]
    varies: tuple[str, ...]
    types: tuple[ir.Scalar, ...]
    where: str


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED = {"as", "acc", "init", "n", "ran", "T", "if", "else", "min", "max", "true", "false"}


def _specs(path: Path) -> tuple[str, list[_Spec]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise LoopRuleError(f"{path}: a loop rule file holds `ruleset` and a list of `rules`")
    out = []
    for i, r in enumerate(data["rules"]):
        where = f"{path}: rule {i + 1}"
        if not isinstance(r, dict) or not {"name", "body", "form"} <= set(r) or set(r) - _KEYS:
            raise LoopRuleError(
                f"{where}: a loop rule has name, body, form and optionally {sorted(_KEYS - {'name', 'body', 'form'})}"
            )
        where = f"{path}: rule '{r['name']}'"
        folds = tuple((str(k), str(v["from"]), str(v["body"])) for k, v in (r.get("folds") or {}).items())
        types = rulebook.types_of(r.get("types", "ints"), where)
        if any(not t.is_int for t in types):
            raise LoopRuleError(f"{where}: loop rules hold for integer folds only (float folds are not associative)")
        invariant, varies = tuple(r.get("invariant") or ()), tuple(r.get("varies") or ())
        out.append(_Spec(str(r["name"]), str(r["body"]), str(r["form"]), folds, invariant, varies, types, where))
    return str(data.get("ruleset", "loops")), out


def _expression(text: str, names: dict[str, ir.Scalar], ty: ir.Scalar, where: str) -> Term:
    """`text` (intent syntax, `T` the rule's type) as a term over `names`."""
    params = ", ".join(f"{n}: {t.name}" for n, t in sorted(names.items()))
    expr = re.sub(r"\bT\b", ty.name, text)
    source = f"fn loop_rule({params}) {{\n    let __e: {ty.name} = {expr};\n}}\n"
    try:
        fn = check(syntax.parse(source, where)).functions[0]
    except AtlasError as err:
        raise LoopRuleError(f"{where}: `{text}` at {ty}: {err.message}") from None
    t = from_expr(fn.body[0].init, {}) if isinstance(fn.body[0], ir.Let) else None
    if t is None:
        raise LoopRuleError(f"{where}: `{text}` must be one expression without calls")
    return t


def _instance(spec: _Spec, ruleset: str, ty: ir.Scalar, index: ir.Scalar) -> LoopRule:
    words = set(_WORD.findall(" ".join([spec.body, spec.form] + [f"{s} {b}" for _, s, b in spec.folds])))
    fold_names = {n for n, _, _ in spec.folds}
    pattern = sorted(words - _RESERVED - fold_names - set(ir.SCALARS))
    types = {n: ty for n in pattern} | {"acc": ty, "init": ty, "n": ty, "ran": ir.BOOL}
    lo, hi = var("?lo", index), var("?hi", index)
    marks = {var(n, ty): var("?" + n, ty) for n in pattern} | {
        var("init", ty): var("?init", ty),
        var("acc", ty): var(ACC, ty),
    }
    body = replace_subterms(_expression(spec.body, types, ty, spec.where), marks)
    lhs = reduce_term(lo, hi, var("?init", ty), body)
    inner = {}
    for name, start, fbody in spec.folds:
        s = replace_subterms(_expression(start, types, ty, spec.where), marks)
        b = replace_subterms(_expression(fbody, types, ty, spec.where), marks)
        inner[var(name, ty)] = reduce_term(lo, hi, s, b)
    types |= {n: ty for n in fold_names}
    n_term = trip(lo, hi)
    ran = Term("ne", ir.BOOL, (n_term, const(0, n_term.ty)))
    n_term = n_term if n_term.ty == ty else Term("cast", ty, (n_term,))
    rhs = replace_subterms(
        _expression(spec.form, types, ty, spec.where),
        {**marks, **inner, var("n", ty): n_term, var("ran", ir.BOOL): ran},
    )
    variant = set(pattern) - set(spec.invariant)
    outside = replace_subterms(rhs, {r: var("?fold", ty) for r in inner.values()})
    if {n[1:] for n in var_names(outside) if n.startswith("?")} & variant:
        raise LoopRuleError(f"{spec.where}: the form uses a variant ({', '.join(sorted(variant))}) outside a fold")
    if set(spec.invariant) - set(pattern):
        raise LoopRuleError(f"{spec.where}: `invariant` names a variable the body does not use")
    if set(spec.varies) - variant:
        raise LoopRuleError(f"{spec.where}: `varies` names a variable that is not a variant of the body")
    text = f"{spec.body} => {spec.form}" + "".join(f" where {n} = fold from {s}: {b}" for n, s, b in spec.folds)
    inv = tuple("?" + n for n in spec.invariant)
    marked = (tuple("?" + n for n in sorted(variant)), tuple("?" + n for n in spec.varies))
    return LoopRule(spec.name, ruleset, ty, index, lhs, rhs, inv, *marked, spec.where, text)


def _plain(t: Term) -> Term:
    """A pattern's variables as free variables, for the proof."""
    return replace_subterms(
        t, {u: var("p." + u.value[1:], u.ty) for u in subterms(t) if u.op == "var" and u.value.startswith("?")}
    )


class LoopRules:
    """The loop rules of one file: instances made at a fold type and an
    index type when asked for (each is a few parses), every one of them
    proven when the file is first loaded on a machine."""

    def __init__(self, ruleset: str, specs: list[_Spec]):
        self.ruleset, self.specs = ruleset, specs
        self._made: dict[tuple[ir.Scalar, ir.Scalar], list[LoopRule]] = {}

    def at(self, ty: ir.Scalar, index: ir.Scalar) -> list[LoopRule]:
        """Every rule's instance for folds of `ty` over an `index` range."""
        if (ty, index) not in self._made:
            self._made[ty, index] = [_instance(s, self.ruleset, ty, index) for s in self.specs if ty in s.types]
        return self._made[ty, index]

    def all(self) -> list[LoopRule]:
        return [r for ty in INTS for index in INTS for r in self.at(ty, index)]


INTS = [t for t in ir.SCALARS.values() if t.is_int]
_LOADED: dict[str, LoopRules] = {}


def load_rules(path: Path = LOOP_RULES) -> LoopRules:
    """The file's rules, each proven by induction at every accumulator and
    index type (once per machine: the proofs are remembered by content, as
    the other rules' are)."""
    text = path.read_text(encoding="utf-8")
    key = hashlib.sha256((text + rulebook.environment_digest() + Path(__file__).read_text()).encode()).hexdigest()
    if key in _LOADED:
        return _LOADED[key]
    rules = LoopRules(*_specs(path))
    stamp = cache_dir() / "loop-rules" / f"{key}.json"
    if not stamp.exists():
        every = rules.all()
        for r in every:
            why = unproven_because(_plain(r.lhs), _plain(r.rhs))
            if why is not None:
                raise LoopRuleError(f"{r.source} at {r.ty} over a {r.index} index: not proven: {why}")
        stamp.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(stamp, json.dumps({"proven": len(every)}))
    _LOADED[key] = rules
    return rules


def for_terms(loop_rules: LoopRules, terms) -> list[LoopRule]:
    """The instances egglog needs for `terms`: those of the (fold type,
    index type) pairs their folds have."""
    pairs = {(u.ty, u.args[0].ty) for t in terms for u in subterms(t) if u.op == "reduce"}
    return [r for ty, index in sorted(pairs, key=str) for r in loop_rules.at(ty, index)]
