"""Rewrite rules: read from YAML, instantiated per type, proven by Z3.

A rule file (primitives/rules/*.yaml) holds one ruleset:

    ruleset: algebra            # the ruleset's name
    doc: "one line"
    rules:
      - name: add-commutes      # unique across all files loaded together
        lhs: a + b              # intent expression syntax; identifiers are pattern variables
        rhs: b + a
        types: ints             # ints | uints | sints | floats | all (ints+floats) | bools
                                #   | a type name | a list of those, e.g. [u32, u64]
        vars: {c: bool, s: u32} # optional: variables whose type is not the rule's type T
        reassoc: true           # optional, floats only: holds only where the intent allows
                                #   reassociation; not proven, never fires by default
        doc: "optional note"

      - name: udiv-pow2-is-shr  # a rule with a side condition over constants
        lhs: x / c
        rhs: x >> ctz(c)
        consts: [c]             # lhs variables that match only constants
        when: c != 0 && (c & (c - 1)) == 0
                                # optional: a bool expression over the consts alone,
                                #   typed like lhs/rhs; the rule holds where it is true
        types: uints

Each template becomes one `Rule` per type it names.  In `lhs`/`rhs` the name
`T` is the instantiation type (`(x != 0) as T`); an unsuffixed literal takes
T, or its context's type, exactly as the checker types intents.  Both sides
are parsed and checked by atlas.front.syntax / atlas.front.check, so a rule reads like
the intents it rewrites.  Quote a side that YAML would misread (one starting
with `!`, `*`, `&`, `[`, `{` or containing ` #`).

Loading proves every instance (`prove`, with the semantics of
atlas/meaning/semantics.py on Z3) and refuses an unsound rule with a counterexample at
the rule's file:line.  Proofs are cached by a content hash in the user cache
directory ($ATLAS_CACHE_DIR, else $XDG_CACHE_HOME/atlas or ~/.cache/atlas), so
a second load costs only the parsing.

A rule with `consts` (and usually `when`) is *conditioned*.  It is proven
once per type for every value of its consts at once: Z3 shows `when -> lhs
== rhs` for every value of every variable (consts included), and a `when`
that never holds is refused.  Where `when` admits at most CASE_SPLIT_LIMIT
values of the consts (a power of two: one per bit), Z3 lists them all and
proves the rule for each in turn, which is the same claim and far faster
than the symbolic proof (which Z3 cannot finish for 64-bit division).  egglog
cannot evaluate our conditions, so a conditioned rule never becomes a rewrite
as it stands: `load_rules` keeps such rules apart (`Rules.conditioned`, not in
the list itself), and `for_terms` instantiates them before saturation with
each constant of the right type found in the terms to be rewritten for which
`when` holds, folding every all-constant subterm, so that `x / c` with c = 16
becomes the plain rule `udiv-pow2-is-shr[c=16]: x / 16 => x >> 4`.  Each
instance is a special case of the proven symbolic rule, so it needs no proof
of its own (`for_terms(..., check=True)`, or ATLAS_CHECK_INSTANCES=1, proves
them again anyway, as a check of the instantiation).

`prove(lhs, rhs)` is general: any free variables, and array reads (`load`
terms) with unknown contents; translation validation uses it too.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import time
from typing import Callable
from dataclasses import dataclass, field, fields, is_dataclass, replace
from importlib.resources import files
from pathlib import Path

import numpy as np
import yaml
import z3

from ..meaning import ir
from ..front import syntax
from ..front.check import check
from ..front.diagnostics import AtlasError
from ..files import cache_dir, write_atomic  # cache_dir: also rules.cache_dir for callers
from ..meaning.terms import Term, const, evaluate, fold, from_expr, natural_value, pretty, subterms
from ..meaning.z3domain import Z3AbstractFloats, Z3Domain, sort_of, to_python

_INTS = [ir.I8, ir.I16, ir.I32, ir.I64, ir.U8, ir.U16, ir.U32, ir.U64]
TYPE_GROUPS: dict[str, list[ir.Scalar]] = {
    "ints": _INTS,
    "uints": [t for t in _INTS if not t.signed],
    "sints": [t for t in _INTS if t.signed],
    "floats": [ir.F32, ir.F64],
    "all": _INTS + [ir.F32, ir.F64],
    "bools": [ir.BOOL],
}

_KEYS = {"name", "lhs", "rhs", "types", "vars", "reassoc", "consts", "when", "requires", "doc", "provenance"}


# ---------------------------------------------------------------- the values


@dataclass(frozen=True)
class Rule:
    """One rule template instantiated at one type: lhs => rhs.  Variables of
    lhs and rhs are pattern variables, named with a leading '?'."""

    name: str
    ruleset: str
    ty: ir.Scalar  # the instantiation type T
    lhs: Term
    rhs: Term
    source: str  # "path:line" of the rule in its YAML file
    reassoc: bool = False  # holds only under reassociation: not proven, opt-in
    text: str = ""  # "lhs => rhs" as written
    consts: tuple[str, ...] = ()  # pattern variables ('?c') that match only constants
    when: Term | None = None  # bool term over the consts: the rule holds where it is true
    when_text: str = ""  # `when` as written
    origin: str = ""  # an instance of a conditioned rule: that rule's name
    # A bool term over the pattern variables: the rule holds only where it
    # does, which egglog cannot test, so it is applied where a function's
    # precondition implies it (stages.verify), never by saturation.
    requires: Term | None = None
    requires_text: str = ""

    @property
    def id(self) -> str:
        return f"{self.name}@{self.ty}"

    @property
    def conditioned(self) -> bool:
        """Whether this rule must be instantiated (`for_terms`) before egglog can run it."""
        return bool(self.consts)

    @property
    def guarded(self) -> bool:
        """Whether this rule holds only under its `requires`."""
        return self.requires is not None

    def __str__(self) -> str:
        cond = f" if {self.when_text}" if self.when_text else ""
        pre = f" where {self.requires_text}" if self.requires_text else ""
        return f"{self.name} [{self.ty}]: {self.text}{cond}{pre}"


class RuleError(Exception):
    """A rule that cannot be loaded; `str()` is the complete message."""


class UnsoundRule(RuleError):
    """A rule whose sides differ for some input."""

    def __init__(self, message: str, rule: Rule, counterexample: dict, lhs_value, rhs_value):
        super().__init__(message)
        self.rule = rule
        self.counterexample = counterexample
        self.lhs_value = lhs_value
        self.rhs_value = rhs_value


class Undecided(RuleError):
    """Z3 neither proved nor refuted the equality (time limit, or unknown)."""


@dataclass
class LoadStats:
    templates: int = 0
    instances: int = 0
    proven: int = 0  # proven by Z3 during this load
    cached: int = 0  # proofs found in the cache
    reassoc: int = 0  # instances not proven: they hold only under reassociation
    conditioned: int = 0  # instances with consts/when (Rules.conditioned)
    seconds: float = 0.0  # the whole load
    prove_seconds: float = 0.0  # of which in Z3
    rulesets: dict = field(default_factory=dict)  # name -> [templates, instances]

    def __str__(self) -> str:
        sets = ", ".join(f"{k} {t}/{i}" for k, (t, i) in sorted(self.rulesets.items()))
        return (
            f"{self.templates} rule templates, {self.instances} instances ({sets}): "
            f"{self.conditioned} conditioned; "
            f"{self.proven} proven now, {self.cached} from cache, {self.reassoc} reassoc-only; "
            f"{self.seconds:.2f} s ({self.prove_seconds:.2f} s proving)"
        )


class Rules(list):
    """The loaded rules with the load's `stats`.  The list holds the rules
    egglog can run as they are; the conditioned ones are kept apart in
    `conditioned`, so that nothing that iterates the list can hand egglog a
    rule without its condition (`for_terms` instantiates them)."""

    def __init__(self, rules=(), stats: LoadStats | None = None, conditioned=(), guarded=()):
        super().__init__(rules)
        self.stats = stats or LoadStats()
        self.conditioned: list[Rule] = list(conditioned)
        self.guarded: list[Rule] = list(guarded)  # with `requires`: applied under preconditions only

    def all(self) -> list[Rule]:
        return list(self) + self.conditioned + self.guarded

    def ruleset(self, name: str) -> list[Rule]:
        return [r for r in self if r.ruleset == name]


_last_stats: LoadStats | None = None


def stats() -> LoadStats | None:
    """The statistics of the last `load_rules` in this process."""
    return _last_stats


# ---------------------------------------------------------------- proving

# Z3's work on one proof is bounded by a resource limit (`rlimit`), which
# counts Z3's own steps: a proof succeeds or gives up the same way on any
# machine and under any load, where a time limit made results depend on
# both.  Measured with this Z3 (units per claim): the hardest shipped rule,
# f64 `x / 2.0 == x * 0.5`, 7 million (2 s here); the hardest translation
# validation of intents/*.ax and intents/bits, 11.4 million (8 s, with the
# popcnt-less probe).  Z3 spends 1.5 to 3.5 million a second, so a claim it
# cannot decide gives up in 10 to 20 s.  The time limits callers pass stay
# as a safety net only, raised where needed (`safety_ms`) to lie far above
# what the resource limit takes even on a loaded machine.
PROOF_RLIMIT = 30_000_000  # per claim put to Z3 by `prove` / `refute`
RULE_RLIMIT = 200_000_000  # per rule instance at load: generous, proven once and cached
SLOWEST = 250_000  # Z3 units a second: a sixth of the slowest pace measured here, for a loaded machine
MAX_PARTS = 8  # differing parts proven one by one before the whole (`refute`)
# Z3 bit-blasts each float operation into thousands of clauses; past a few
# dozen in one claim it spends its whole limit and gives up (a 64-step f64
# multiply-add chain: 60 s, then "unknown").  Such a claim is refused at once.
MAX_FLOAT_OPS = 32  # distinct float arithmetic nodes in one claim put to Z3
_FLOAT_OPS = frozenset({"add", "sub", "mul", "div", "rem", "sqrt", "min", "max"})


def prove(
    lhs: Term,
    rhs: Term,
    timeout_ms: int = 10000,
    when: Term | None = None,
    rlimit: int | None = None,
    abstract_floats: bool = False,
) -> dict | None:
    """Prove lhs == rhs for every value of their free variables and every
    content of the arrays they load from (with `when`, a bool term: for
    every value where `when` holds).  None when proven; otherwise a
    counterexample: variable name -> natural Python value (signed ints
    negative, floats as floats), and 'array[index]' -> value for each load
    the terms make.  Ints compare bitwise, floats structurally (one NaN;
    +0 and -0 differ), bools as bools.  Raises Undecided when Z3 cannot
    decide within `rlimit` of its resource units (PROOF_RLIMIT by default;
    deterministic) or, as a safety net, `timeout_ms`.  With
    `abstract_floats`, float arithmetic is taken as unknown functions of its
    operands (z3domain.Z3AbstractFloats): a proof then holds for IEEE
    arithmetic too, and a failure raises Undecided, never a counterexample."""
    found = refute(lhs, rhs, timeout_ms, when, rlimit, abstract_floats)
    return None if found is None else found[0]


def refute(
    lhs: Term,
    rhs: Term,
    timeout_ms: int = 10000,
    when: Term | None = None,
    rlimit: int | None = None,
    abstract_floats: bool = False,
):
    """Like `prove`, but a refutation comes with the two sides' values:
    None, or (counterexample, lhs value, rhs value).  A counterexample
    satisfies `when`.

    Where the two sides are one context around differing parts (a rewrite
    deep inside an unrolled loop), the parts are proven first: equal parts
    make equal wholes (congruence: every operator is a function of its
    operands' values), and Z3 decides `y / 2.0 == 0.5 * y` in 2 s where,
    inside 64 multiply-adds, it gives up.  Only if that fails is the whole
    claim put to Z3."""
    if rlimit is None:
        rlimit = PROOF_RLIMIT  # read here, so that a caller may lower it for a run
    _check_claim(lhs, rhs, when)
    free = _free_vars(lhs, rhs, *([when] if when is not None else []))  # in order of appearance
    keys: dict = {}
    claim = _claim_text(lhs, rhs, when)
    # Parts are found before the canonical ordering, which may pair them wrongly.
    if _parts_equal(lhs, rhs, timeout_ms, when, rlimit, abstract_floats):
        return None
    lhs, rhs = _canonical(lhs, keys), _canonical(rhs, keys)
    _check_float_ops(lhs, rhs, claim, abstract_floats)
    env = {n: z3.Const(n, sort_of(t)) for n, t in free.items()}
    reads = _Reads()
    D = Z3AbstractFloats() if abstract_floats else Z3Domain()
    zl = evaluate(lhs, D, env, reads.load)
    zr = evaluate(rhs, D, env, reads.load)
    differ = z3.Not(zl == zr)
    if when is not None:  # a refutation must satisfy the condition
        differ = z3.And(evaluate(_canonical(when, keys), D, env, reads.load), differ)
    differ = z3.simplify(differ)
    if z3.is_false(differ):  # the rewriter alone shows them equal
        return None
    z = _solve(reads, differ, rlimit, timeout_ms, claim)
    if z is None:
        return None
    if abstract_floats:
        raise Undecided(f"`{claim}` is not shown with float operations abstracted")
    m = z.model()

    def value(expr, ty):
        return to_python(m.eval(expr, model_completion=True), ty)

    cex = {n: value(env[n], t) for n, t in free.items()}
    cex.update(reads.values(m, value))
    return cex, value(zl, lhs.ty), value(zr, rhs.ty)


def _check_claim(lhs: Term, rhs: Term, when: Term | None) -> None:
    """Refuse a claim whose sides differ in type or whose condition is not a bool."""
    if lhs.ty != rhs.ty:
        raise ValueError(f"the sides have different types: {lhs.ty} and {rhs.ty}")
    if when is not None and not when.ty.is_bool:
        raise ValueError(f"the condition is a {when.ty}, not a bool")


def _parts_equal(lhs: Term, rhs: Term, timeout_ms: int, when: Term | None, rlimit: int, abstract_floats: bool) -> bool:
    """True when `refute` may stop at once: the sides are the same term, or
    each of their (few) differing parts is proven equal on its own.  False
    leaves the whole claim to Z3, also when a part is undecided."""
    parts = _differing(lhs, rhs)
    if parts != [(lhs, rhs)] and len(parts) <= MAX_PARTS:
        if not parts:
            return True  # the same term
        try:
            if all(refute(a, b, timeout_ms, when, rlimit, abstract_floats) is None for a, b in parts):
                return True
        except Undecided:
            pass  # the whole claim may still be decided
    return False


def _check_float_ops(lhs: Term, rhs: Term, claim: str, abstract_floats: bool) -> None:
    """Undecided, without asking Z3, for a claim with more float operations
    than Z3 can decide (unless they are abstracted)."""
    heavy = {t for side in (lhs, rhs) for t in subterms(side) if t.ty.is_float and t.op in _FLOAT_OPS}
    if len(heavy) > MAX_FLOAT_OPS and not abstract_floats:
        raise Undecided(
            f"Z3 was not asked to decide `{claim}`: its {len(heavy)} float operations "
            f"are past the {MAX_FLOAT_OPS} it can decide"
        )


def safety_ms(rlimit: int) -> int:
    """The least time limit that goes with `rlimit`: what Z3 takes to spend
    it at SLOWEST units a second.  A caller's shorter limit is raised to it,
    so that on a loaded machine too the resource limit decides, the same
    way everywhere, and the time limit stays a safety net."""
    return rlimit * 1000 // SLOWEST


def solver(rlimit: int, timeout_ms: int) -> z3.Solver:
    """A Z3 solver bounded by `rlimit` and, as a safety net, by `timeout_ms`
    raised to `safety_ms(rlimit)`."""
    out = z3.Solver()
    out.set("rlimit", rlimit)
    out.set("timeout", max(timeout_ms, safety_ms(rlimit)))
    return out


def _solve(reads: _Reads, differ, rlimit: int, timeout_ms: int, claim: str) -> z3.Solver | None:
    """Ask Z3 whether the sides can differ (`differ`, with the reads kept
    consistent): None when they cannot (the claim is proven), the solver
    holding a model when they can; Undecided when Z3 cannot tell."""
    # Z3's default solver picks its tactic by logic (bit-blasting for plain
    # bit-vectors, FP as needed); it proved every shipped rule faster than
    # hand-built tactic pipelines did.
    z = solver(rlimit, timeout_ms)
    z.add(*reads.consistent(), differ)
    started = time.perf_counter()
    result = z.check()
    if result == z3.unsat:
        return None
    if result != z3.sat:
        raise Undecided(
            f"Z3 could not decide `{claim}` ({_why_unknown(z, rlimit, timeout_ms, time.perf_counter() - started)})"
        )
    return z


class _Reads:
    """Each distinct read of an array as a fresh constant (Ackermann's
    reduction): reads at equal indices must be equal, and nothing else is
    known of the contents.  Z3 handles this far better than uninterpreted
    functions mixed with floats, which can take minutes."""

    def __init__(self):
        self.seen: dict = {}  # (array, type) -> [(index as 64 bits, value)]

    def load(self, array, index, ty):
        w = index.size()
        index = z3.ZeroExt(64 - w, index) if w < 64 else index
        seen = self.seen.setdefault((array, ty), [])
        for j, v in seen:
            if j.eq(index):  # the same index term: the same read
                return v
        v = z3.Const(f"{array}[#{len(seen)}]", sort_of(ty))
        seen.append((index, v))
        return v

    def consistent(self) -> list:
        """Reads of one array at equal indices give equal values."""
        return [
            z3.Implies(i == j, v == u)
            for seen in self.seen.values()
            for n, (i, v) in enumerate(seen)
            for j, u in seen[:n]
        ]

    def values(self, m, value) -> dict:
        """`array[index]` -> its value, for each read, in the model `m`."""
        return {
            f"{array}[{z3.simplify(m.eval(i, model_completion=True)).as_long()}]": value(v, ty)
            for (array, ty), seen in self.seen.items()
            for i, v in seen
        }


def _why_unknown(solver, rlimit: int, timeout_ms: int, seconds: float) -> str:
    """Which limit stopped Z3, in words.  Z3 says "timeout" for its time
    limit and "canceled" for its resource limit (as for an interrupt)."""
    reason = solver.reason_unknown()
    timeout_ms = max(timeout_ms, safety_ms(rlimit))
    if reason == "timeout" or seconds * 1000 >= timeout_ms:
        return f"time limit of {timeout_ms} ms reached"
    if reason == "canceled" or "resource" in reason:
        return f"resource limit of {rlimit:,} Z3 units reached"
    return f"{reason}; limits {rlimit:,} Z3 units and {timeout_ms} ms"


def _differing(a: Term, b: Term) -> list[tuple[Term, Term]]:
    """The outermost pairs of subterms where `a` and `b` differ, in order and
    without repeats: [] when they are the same term, [(a, b)] when they
    differ at the top.  Both sides' load indices are compared like any
    other operand."""
    out: list[tuple[Term, Term]] = []
    seen: set = set()

    def walk(x: Term, y: Term):
        if x == y or (x, y) in seen:
            return
        seen.add((x, y))
        pairs = list(zip(x.args, _paired(x, y)))
        if (x.op, x.ty, x.value, len(x.args)) != (y.op, y.ty, y.value, len(y.args)) or any(
            u.ty != v.ty for u, v in pairs
        ):  # a load's index may be of another width
            out.append((x, y))
            return
        for u, v in pairs:
            walk(u, v)

    walk(a, b)
    return out


def _paired(x: Term, y: Term, depth: int = 3) -> tuple:
    """y's operands in the order that matches x's best: a commutative
    operator's two operands crosswise where the rewrite swapped them (as
    extraction often does), judged by how alike they look `depth` levels down."""
    ys = y.args
    if x.op in _COMMUTES and len(ys) == 2:
        crossed = _alike(x.args[0], ys[1], depth) + _alike(x.args[1], ys[0], depth)
        if crossed > _alike(x.args[0], ys[0], depth) + _alike(x.args[1], ys[1], depth):
            return ys[1], ys[0]
    return ys


def _alike(x: Term, y: Term, depth: int) -> int:
    """How alike two terms look: 2 ** (depth + 1) for the same term, else the
    number of matching operator nodes from the top, down to `depth`."""
    if x == y:
        return 1 << (depth + 1)
    if (x.op, x.ty, x.value, len(x.args)) != (y.op, y.ty, y.value, len(y.args)):
        return 0
    if depth == 0:
        return 1
    return 1 + sum(_alike(u, v, depth - 1) for u, v in zip(x.args, _paired(x, y, depth - 1)))


# Operators whose operands commute, at every type: IEEE + and * included, as
# Z3 has one NaN (tests/test_z3domain.py proves each of these in the domain).
_COMMUTES = frozenset({"add", "mul", "and", "or", "xor", "eq", "ne", "land", "lor"})
_FLIPPED = {"gt": "lt", "ge": "le"}  # a > b is b < a by definition


def _canonical(t: Term, keys: dict, memo: dict | None = None) -> Term:
    """`t` with the operands of commutative operators in one order and > / >=
    written as < / <=.  Equal in value, by definition; it spares Z3 proving
    that two float multipliers with swapped inputs agree, which can take it
    a minute (translation validation meets such pairs all the time).  Each
    shared subterm is rewritten once: an unrolled loop's terms are DAGs whose
    trees are exponentially large."""
    if not t.args:
        return t
    memo = {} if memo is None else memo
    done = memo.get(t)
    if done is not None:
        return done
    args = tuple(_canonical(a, keys, memo) for a in t.args)
    op = t.op
    if op in _FLIPPED:
        op, args = _FLIPPED[op], (args[1], args[0])
    if op in _COMMUTES:
        args = tuple(sorted(args, key=lambda a: _order_key(a, keys)))
    out = memo[t] = Term(op, t.ty, args, t.value)
    return out


def canonical(t: Term) -> Term:
    """`t` up to the order of commutative operands and the direction of
    comparisons: two terms with the same canonical form compute the same
    by definition, and a compiler emits the same code for them.  What was
    worked out is kept for the next call (extract_k asks for every member of
    every class, and they share most of their subterms), up to a bound."""
    if len(_CANONICAL) > 200_000:
        _CANONICAL.clear()
        _ORDER_KEYS.clear()
    return _canonical(t, _ORDER_KEYS, _CANONICAL)


_CANONICAL: dict[Term, Term] = {}  # a term -> its canonical form (a pure function of the term)
_ORDER_KEYS: dict[Term, str] = {}  # a term -> its structural digest


CLAIM_NODES = 400  # a claim shown in a message is at most this many tree nodes


def _claim_text(lhs: Term, rhs: Term, when: Term | None) -> str:
    """The claim in intent syntax, or its size where the text would be huge."""
    from .flatten import tree_size

    parts = [lhs, rhs] + ([when] if when is not None else [])
    sizes = [tree_size(t) for t in parts]
    if max(sizes) > CLAIM_NODES:
        return f"two terms of {sizes[0]} and {sizes[1]} nodes equal" + (
            f" where a condition of {sizes[2]} nodes holds" if when is not None else ""
        )
    return f"{lhs} == {rhs}" + (f" where {when}" if when is not None else "")


def _order_key(t: Term, keys: dict) -> str:
    """A structural digest: any fixed total order of terms will do."""
    k = keys.get(t)
    if k is None:
        text = f"{t.op}:{t.ty}:{t.value!r}(" + ",".join(_order_key(a, keys) for a in t.args) + ")"
        k = keys[t] = hashlib.blake2b(text.encode(), digest_size=12).hexdigest()
    return k


def _free_vars(*terms: Term) -> dict[str, ir.Scalar]:
    out: dict[str, ir.Scalar] = {}
    for term in terms:
        for t in subterms(term):
            if t.op == "var":
                if out.setdefault(t.value, t.ty) != t.ty:
                    raise ValueError(f"variable {t.value} has two types: {out[t.value]} and {t.ty}")
    return out


# ---------------------------------------------------------------- reading rule files


@dataclass(frozen=True)
class _Template:
    name: str
    ruleset: str
    lhs: str
    rhs: str
    types: tuple[ir.Scalar, ...]
    vars: tuple[tuple[str, str], ...]  # name -> type name ('T' for the rule's type)
    reassoc: bool
    path: str
    line: int  # of the rule's mapping
    lhs_line: int
    rhs_line: int
    consts: tuple[str, ...] = ()  # variables that match only constants
    when: str | None = None  # the condition over the consts, as written
    consts_line: int = 0
    when_line: int = 0
    requires: str | None = None  # where the rule holds, over any of its variables, as written
    requires_line: int = 0

    def where(self, line: int | None = None) -> str:
        return f"{self.path}:{line or self.line}: rule '{self.name}'"


def _display(path: Path) -> str:
    """A path as messages show it: relative to the working directory when inside it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


SHIPPED = "shipped"  # in a list of paths: the rule files shipped with Atlas


def _rule_files(paths) -> list[tuple[str, str]]:
    """(display name, text) of every rule file."""
    if paths is None:
        paths = [SHIPPED]
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out = []
    for p in paths:
        if p == SHIPPED:
            folder = files("atlas.primitives").joinpath("rules")
            entries = sorted((q for q in folder.iterdir() if q.name.endswith(".yaml")), key=lambda q: q.name)
            out += [(_display(Path(str(q))), q.read_text(encoding="utf-8")) for q in entries]
            continue
        p = Path(p)
        if p.is_dir():
            out += [(str(q), q.read_text(encoding="utf-8")) for q in sorted(p.glob("*.yaml"))]
        elif p.is_file():
            out.append((str(p), p.read_text(encoding="utf-8")))
        else:
            raise RuleError(f"{p}: no such rule file or folder")
    return out


def types_of(spec, where: str) -> tuple[ir.Scalar, ...]:
    items = spec if isinstance(spec, list) else [spec]
    out: list[ir.Scalar] = []
    for item in items:
        name = str(item)
        if name in TYPE_GROUPS:
            group = TYPE_GROUPS[name]
        elif name in ir.SCALARS:
            group = [ir.SCALARS[name]]
        else:
            raise RuleError(
                f"{where}: unknown type '{name}' in `types` (use one of "
                + ", ".join([*TYPE_GROUPS, *ir.SCALARS])
                + ", or a list of them)"
            )
        out += [t for t in group if t not in out]
    if not out:
        raise RuleError(f"{where}: `types` names no type")
    return tuple(out)


def _read_file(path: str, text: str) -> list[_Template]:
    """The templates of one file, with the line of each rule and of its sides."""
    root, doc = _parse_yaml(path, text)
    ruleset, seq = _read_header(path, root, doc)
    return [_read_rule(path, ruleset, node, data) for node, data in zip(seq.value, doc["rules"])]


def _parse_yaml(path: str, text: str) -> tuple:
    """(root node, constructed document) of a rule file: the node tree gives
    each rule's line; the constructed document its values."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        doc = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 1
        raise RuleError(f"{path}:{line}: not valid YAML: {e.problem or e}") from None
    finally:
        loader.dispose()
    return root, doc


def _read_header(path: str, root, doc) -> tuple:
    """(ruleset name, the node of `rules`), once the file's top level is
    checked: a mapping of ruleset, doc and rules, the rules a list."""
    if not isinstance(root, yaml.MappingNode) or not isinstance(doc, dict):
        raise RuleError(f"{path}:1: a rule file is a mapping with `ruleset`, `doc` and `rules`")
    top = {k.value: v for k, v in root.value}
    for key in top:
        if key not in ("ruleset", "doc", "rules"):
            raise RuleError(f"{path}:{_line(root, key)}: unknown key '{key}' (a rule file has ruleset, doc, rules)")
    if "ruleset" not in top or not isinstance(top["ruleset"], yaml.ScalarNode):
        raise RuleError(f"{path}:1: the file must name its `ruleset`")
    ruleset = top["ruleset"].value
    seq = top.get("rules")
    if not isinstance(seq, yaml.SequenceNode):
        raise RuleError(f"{path}:{_line(root, 'rules') if seq else 1}: `rules` must be a list of rules")
    return ruleset, seq


@dataclass(frozen=True)
class _RuleNode:
    """One rule's mapping while it is read: what its messages name."""

    path: str
    node: yaml.MappingNode
    name: str | None

    def at(self, key: str) -> str:
        """The start of a message about the rule's entry `key`: file:line and the rule's name."""
        return f"{self.path}:{_line(self.node, key)}: rule '{self.name}'"


def _read_rule(path: str, ruleset: str, node, data) -> _Template:
    """One rule's template, from its node (for lines) and its constructed
    mapping `data` (for values), every entry checked."""
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.MappingNode):
        raise RuleError(f"{path}:{line}: each rule is a mapping with name, lhs, rhs, types")
    entries = {k.value: v for k, v in node.value}
    name = entries["name"].value if isinstance(entries.get("name"), yaml.ScalarNode) else None
    where = f"{path}:{line}: rule '{name}'" if name else f"{path}:{line}: rule"
    rule = _RuleNode(path, node, name)
    _check_entries(rule, entries, where)
    types = types_of(data["types"], rule.at("types"))
    vars_ = _read_vars(rule, data)
    reassoc = _read_reassoc(rule, data, types)
    consts = _read_consts(rule, data)
    when = _read_when(rule, entries, consts)
    requires = _read_requires(rule, entries, consts)
    return _Template(
        str(name),
        ruleset,
        _squash(entries["lhs"].value),
        _squash(entries["rhs"].value),
        types,
        tuple((str(k), str(v)) for k, v in vars_.items()),
        reassoc,
        path,
        line,
        _line(node, "lhs"),
        _line(node, "rhs"),
        tuple(consts),
        when,
        _line(node, "consts"),
        _line(node, "when"),
        requires,
        _line(node, "requires"),
    )


def _read_requires(rule: _RuleNode, entries: dict, consts: list) -> str | None:
    """`requires`, squashed onto one line: where the rule holds; None without one."""
    if "requires" not in entries:
        return None
    if not isinstance(entries["requires"], yaml.ScalarNode) or not entries["requires"].value.strip():
        raise RuleError(f"{rule.at('requires')}: `requires` must be an expression on one line")
    if consts:
        raise RuleError(f"{rule.at('requires')}: a rule has either `consts` or `requires`, not both")
    return _squash(entries["requires"].value)


def _check_entries(rule: _RuleNode, entries: dict, where: str) -> None:
    """Only known keys; name, lhs, rhs and types present; name and the sides one line each."""
    for key in entries:
        if key not in _KEYS:
            raise RuleError(f"{rule.at(key)}: unknown key '{key}' (a rule has {', '.join(sorted(_KEYS))})")
    for key in ("name", "lhs", "rhs", "types"):
        if key not in entries:
            raise RuleError(f"{where}: missing `{key}`")
    for key in ("name", "lhs", "rhs"):
        if not isinstance(entries[key], yaml.ScalarNode) or not entries[key].value.strip():
            raise RuleError(f"{rule.at(key)}: `{key}` must be an expression on one line (quote it if YAML misreads it)")


def _read_vars(rule: _RuleNode, data: dict) -> dict:
    """`vars`: variable name -> a scalar type's name, or T."""
    vars_ = data.get("vars") or {}
    if not isinstance(vars_, dict):
        raise RuleError(f"{rule.at('vars')}: `vars` maps names to types")
    for v, t in vars_.items():
        if str(t) != "T" and str(t) not in ir.SCALARS:
            raise RuleError(
                f"{rule.at('vars')}: unknown type '{t}' "
                f"for variable '{v}' (the scalar types are {', '.join(ir.SCALARS)}, or T)"
            )
    return vars_


def _read_reassoc(rule: _RuleNode, data: dict, types: tuple[ir.Scalar, ...]) -> bool:
    """`reassoc`: a bool, true only for a rule over floats alone."""
    reassoc = data.get("reassoc", False)
    if not isinstance(reassoc, bool):
        raise RuleError(f"{rule.at('reassoc')}: `reassoc` is true or false")
    if reassoc and not all(t.is_float for t in types):
        raise RuleError(f"{rule.at('reassoc')}: `reassoc` is for float rules only (integer rules must be exact)")
    return reassoc


def _read_consts(rule: _RuleNode, data: dict) -> list:
    """`consts`: a list of distinct variable names."""
    consts = data.get("consts", [])
    if not isinstance(consts, list) or not all(isinstance(c, str) and c.isidentifier() for c in consts):
        raise RuleError(f"{rule.at('consts')}: `consts` is a list of variable names, e.g. [c]")
    if len(set(consts)) != len(consts):
        raise RuleError(f"{rule.at('consts')}: `consts` names a variable twice")
    return consts


def _read_when(rule: _RuleNode, entries: dict, consts: list) -> str | None:
    """`when`, squashed onto one line: an expression, only with `consts`; None without one."""
    if "when" not in entries:
        return None
    if not isinstance(entries["when"], yaml.ScalarNode) or not entries["when"].value.strip():
        raise RuleError(f"{rule.at('when')}: `when` must be an expression on one line (quote it if YAML misreads it)")
    if not consts:
        raise RuleError(f"{rule.at('when')}: `when` tests constants: name them in `consts` (e.g. consts: [c])")
    return _squash(entries["when"].value)


def _line(mapping: yaml.MappingNode, key: str) -> int:
    for k, v in mapping.value:
        if k.value == key:
            return v.start_mark.line + 1
    return mapping.start_mark.line + 1


def _squash(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------- instantiating

_PREFIX = "let __side = "  # the synthetic source's two lines start with this


class _Parsed:
    """A template parsed once; `instance` checks it at one type."""

    def __init__(self, tpl: _Template):
        self.tpl = tpl
        # The two sides (and the condition) as `let`s of one function, one per
        # line, so that an error's line says which part it is in.
        parts = [tpl.lhs, tpl.rhs] + [c for c in (tpl.when, tpl.requires) if c is not None]
        self.source = "fn rule_sides() {\n" + "".join(f"{_PREFIX}{p};\n" for p in parts) + "}\n"
        try:
            ast = syntax.parse(self.source, tpl.path)
        except AtlasError as err:
            raise _side_error(tpl, err) from None
        body = ast.funcs[0].body if len(ast.funcs) == 1 else ()
        lets = [s for s in body if isinstance(s, syntax.LetA)]
        if (
            len(lets) != len(body)
            or len(lets) != len(parts)
            or [s.span.line for s in lets] != list(range(2, 2 + len(parts)))
        ):
            raise RuleError(f"{tpl.where()}: lhs, rhs, when and requires must each be one expression")
        lhs_names: set[str] = set()
        rhs_names: set[str] = set()
        _collect(lets[0].init, lhs_names, tpl, tpl.lhs_line)
        _collect(lets[1].init, rhs_names, tpl, tpl.rhs_line)
        for c in tpl.consts:
            if c not in lhs_names:
                raise RuleError(
                    f"{tpl.path}:{tpl.consts_line}: rule '{tpl.name}': `consts` names '{c}', which the lhs does not use"
                )
        if tpl.when is not None:
            when_names: set = set()
            _collect(lets[2].init, when_names, tpl, tpl.when_line)
            others = sorted(when_names - set(tpl.consts) - {"T"})
            if others:
                # A condition on a variable that may match any term could not
                # be decided when the rule is instantiated, before saturation.
                raise RuleError(
                    f"{tpl.path}:{tpl.when_line}: rule '{tpl.name}': the condition "
                    f"may test only the consts ({', '.join(tpl.consts)}), not "
                    f"{', '.join(repr(o) for o in others)}"
                )
        if tpl.requires is not None:
            pre_names: set = set()
            _collect(lets[-1].init, pre_names, tpl, tpl.requires_line)
            stray = sorted(pre_names - lhs_names - {"T"})
            if stray:
                raise RuleError(
                    f"{tpl.path}:{tpl.requires_line}: rule '{tpl.name}': `requires` uses "
                    f"{', '.join(repr(o) for o in stray)}, which the lhs does not bind"
                )
        unbound = sorted(rhs_names - lhs_names)
        if unbound:
            raise RuleError(
                f"{tpl.path}:{tpl.rhs_line}: rule '{tpl.name}': the rhs uses "
                f"{', '.join(repr(u) for u in unbound)}, which the lhs does not bind "
                "(every variable of the rhs must occur in the lhs)"
            )
        if "T" in lhs_names:
            raise RuleError(
                f"{tpl.path}:{tpl.lhs_line}: rule '{tpl.name}': `T` names the rule's type; it cannot be a variable"
            )
        declared = dict(tpl.vars)
        for v in declared:
            if v not in lhs_names:
                raise RuleError(f"{tpl.where()}: `vars` declares '{v}', which the lhs does not use")
        # Every variable is a parameter: of type T unless `vars` says otherwise.
        func = ast.funcs[0]
        params = tuple(
            syntax.ParamA(v, syntax.TypeName(declared.get(v, "T"), func.span), func.span) for v in sorted(lhs_names)
        )
        self.func = replace(func, params=params)

    def instance(self, ty: ir.Scalar) -> Rule:
        tpl = self.tpl
        func = _resolve_T(self.func, ty.name)
        let_l, let_r, *let_w = func.body
        let_w = [replace(w, ty=syntax.TypeName("bool", w.span)) for w in let_w]

        def lhs_alone(let):
            return check(syntax.ModuleA(tpl.path, self.source, (replace(func, body=(let,)),)))

        try:
            # The lhs alone first, to learn its type; the rhs must have it too.
            # Its context is T (so `select(c, 1, 0)` is a T) unless it has
            # another type of its own (a comparison, a widening multiply).
            try:
                lhs_alone(replace(let_l, ty=syntax.TypeName(ty.name, let_l.span)))
                lty = ty
            except AtlasError:
                lty = lhs_alone(let_l).functions[0].body[0].ty
            let_l = replace(let_l, ty=syntax.TypeName(lty.name, let_l.span))
            let_r = replace(let_r, ty=syntax.TypeName(lty.name, let_r.span))
            mod = check(syntax.ModuleA(tpl.path, self.source, (replace(func, body=(let_l, let_r, *let_w)),)))
        except AtlasError as err:
            raise _side_error(tpl, err, ty) from None
        # Constant subterms are folded (`~0` is the constant all-ones), so that a
        # pattern matches the constants the program's terms hold.
        lhs, rhs, *conds = (fold(_patterns(_side_term(s, tpl))) for s in mod.functions[0].body)
        when = conds[:1] if tpl.when is not None else []
        pre = conds[-1] if tpl.requires is not None else None
        return Rule(
            tpl.name,
            tpl.ruleset,
            ty,
            lhs,
            rhs,
            f"{tpl.path}:{tpl.line}",
            tpl.reassoc,
            f"{tpl.lhs} => {tpl.rhs}",
            tuple("?" + c for c in tpl.consts),
            when[0] if when else None,
            tpl.when or "",
            requires=pre,
            requires_text=tpl.requires or "",
        )


def _side_term(s: ir.Stmt, tpl: _Template) -> Term:
    """One side of a rule (a `let` of the synthetic function) as a term."""
    t = from_expr(s.init, {}) if isinstance(s, ir.Let) else None
    if t is None:
        raise RuleError(f"{tpl.where()}: lhs, rhs and when must each be one expression without calls")
    return t


def _side_error(tpl: _Template, err: AtlasError, ty: ir.Scalar | None = None) -> RuleError:
    """An AtlasError in the synthetic source, told at the rule's YAML line."""
    at = f" for {ty}" if ty is not None else ""
    span = err.span
    line = span.line if span else 0
    parts = {2: ("lhs", tpl.lhs, tpl.lhs_line), 3: ("rhs", tpl.rhs, tpl.rhs_line)}
    if tpl.when is not None:
        parts[4] = ("condition", tpl.when, tpl.when_line)
    if span is not None and line in parts:
        side, text, yline = parts[line]
        col = max(1, span.col - len(_PREFIX))
        width = 1
        if span.end_line == line and span.end_col > span.col:
            width = span.end_col - span.col
        width = max(1, min(width, len(text) + 1 - col + 1))
        msg = [
            f"{tpl.path}:{yline}: rule '{tpl.name}'{at}: in the {side}: {err.message}",
            f"    {text}",
            f"    {' ' * (col - 1)}{'^' * width}",
        ]
    else:
        msg = [f"{tpl.where()}{at}: {err.message}"]
    if err.note:
        msg.append(f"  = note: {err.note}")
    return RuleError("\n".join(msg))


def _collect(node, found: set, tpl: _Template, line: int) -> None:
    if isinstance(node, syntax.Name):
        found.add(node.id)
    elif isinstance(node, syntax.Index):
        raise RuleError(f"{tpl.path}:{line}: rule '{tpl.name}': rules cannot index arrays (`{node.array}[...]`)")
    elif isinstance(node, (syntax.TypeName, ir.Span)):
        return
    if is_dataclass(node):
        for f in fields(node):
            _collect(getattr(node, f.name), found, tpl, line)
    elif isinstance(node, tuple):
        for x in node:
            _collect(x, found, tpl, line)


def _resolve_T(node, name: str):
    """The AST with every type named `T` replaced by `name`."""
    if isinstance(node, syntax.TypeName):
        return replace(node, name=name) if node.name == "T" else node
    if isinstance(node, tuple):
        return tuple(_resolve_T(x, name) for x in node)
    if is_dataclass(node) and not isinstance(node, (ir.Span, type)):
        changes = {}
        for f in fields(node):
            v = getattr(node, f.name)
            nv = _resolve_T(v, name)
            if nv is not v:
                changes[f.name] = nv
        return replace(node, **changes) if changes else node
    return node


def _patterns(t: Term) -> Term:
    """Variables become pattern variables ('?a')."""
    if t.op == "var":
        return Term("var", t.ty, (), "?" + t.value)
    if not t.args:
        return t
    return Term(t.op, t.ty, tuple(_patterns(a) for a in t.args), t.value)


_PARSED: dict[tuple, tuple[list[Rule], int, dict]] = {}  # by the files' names and texts


def parse_rules(paths=None) -> tuple[list[Rule], int, dict]:
    """Every rule instance of the files, unproven: (rules, templates, per-ruleset
    [templates, instances])."""
    files = tuple(_rule_files(paths))
    # Instantiating every template takes a fraction of a second; a process
    # that compiles many times (a test run, a campaign) does it once per
    # distinct set of files.  Rules are frozen: sharing them is safe.
    if files not in _PARSED:
        _PARSED[files] = _parse_files(files)
    rules, n_templates, per_set = _PARSED[files]
    return list(rules), n_templates, {k: list(v) for k, v in per_set.items()}


def _parse_files(files) -> tuple[list[Rule], int, dict]:
    templates: list[_Template] = []
    for path, text in files:
        templates += _read_file(path, text)
    seen: dict[str, _Template] = {}
    for tpl in templates:
        if tpl.name in seen:
            first = seen[tpl.name]
            raise RuleError(f"{tpl.where()}: the name is already used at {first.path}:{first.line}")
        seen[tpl.name] = tpl
    rules: list[Rule] = []
    per_set: dict[str, list[int]] = {}
    for tpl in templates:
        parsed = _Parsed(tpl)
        inst = [parsed.instance(ty) for ty in tpl.types]
        rules += inst
        counts = per_set.setdefault(tpl.ruleset, [0, 0])
        counts[0] += 1
        counts[1] += len(inst)
    return rules, len(templates), per_set


# ---------------------------------------------------------------- loading (and the proof cache)


def environment_digest() -> str:
    """What a proof depends on besides the rule: the definitions, the domain,
    the term evaluator, this prover, and Z3 itself."""
    from ..meaning import semantics, terms, z3domain

    h = hashlib.sha256(f"z3 {z3.get_full_version()}\n".encode())
    for mod in (semantics, z3domain, terms):
        h.update(Path(str(mod.__file__)).read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()


def _rule_key(env: str, r: Rule) -> str:
    cond = f"\n{r.consts!r}\n{r.when!r}" if r.conditioned else ""  # plain rules keep their keys
    cond += f"\nrequires {r.requires!r}" if r.guarded else ""
    return hashlib.sha256(f"{env}\n{r.ty!r}\n{r.lhs!r}\n{r.rhs!r}{cond}".encode()).hexdigest()


class _ProofCache:
    """Successful proofs, keyed by rule instance and environment digest.
    The proofs of the last few environments are kept side by side, so that
    two versions of Atlas on one machine (two virtual environments, a
    checkout beside an install) do not prove everything again in turn."""

    FORMAT = 2
    ENVIRONMENTS = 4

    def __init__(self, env: str):
        self.env = env
        self.path = cache_dir() / f"proofs-{self.FORMAT}.json"  # a file per format: an older Atlas keeps its own
        mine = self._read().get(env, {})
        self.proven: dict[str, str] = dict(mine.get("proven", {}))
        # claims made at compile time that Z3 refuted or could not decide
        # (`holds`): not put to it again on every compile
        self.refused: dict[str, str] = dict(mine.get("refused", {}))
        self.dirty = False

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            envs = data.get("environments") if data.get("format") == self.FORMAT else None
            return envs if isinstance(envs, dict) else {}
        except (OSError, ValueError, AttributeError, TypeError):
            return {}  # no cache yet, or unreadable: prove again

    def __contains__(self, key: str) -> bool:
        return key in self.proven

    def add(self, key: str, rule_id: str) -> None:
        self.proven[key] = rule_id
        self.dirty = True

    def refuse(self, key: str, why: str) -> None:
        self.refused[key] = why
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            envs = self._read()  # keep what other processes proved meanwhile
            mine = envs.get(self.env, {})
            envs[self.env] = {
                "used": time.time(),
                "proven": {**mine.get("proven", {}), **self.proven},
                "refused": {**mine.get("refused", {}), **self.refused},
            }
            kept = sorted(envs, key=lambda e: envs[e].get("used", 0), reverse=True)[: self.ENVIRONMENTS]
            write_atomic(
                self.path,
                json.dumps(
                    {"format": self.FORMAT, "environments": {e: envs[e] for e in kept}}, indent=0, sort_keys=True
                ),
            )
            self.dirty = False
        except OSError:
            pass  # a read-only cache folder costs time, not correctness


# Told (done, total) while rule instances not yet in the proof cache are
# proven: the command line shows it (a first compile proves hundreds).
progress_hook: Callable[[int, int], None] | None = None


def load_rules(paths=None, *, cache: bool = True, timeout_ms: int = 60000, rlimit: int = RULE_RLIMIT) -> Rules:
    """Load, instantiate and prove the rules of `paths` (rule files or folders,
    and `SHIPPED` for the rule files shipped with Atlas; by default those
    alone).  Raises UnsoundRule for the
    first unsound instance, RuleError for a malformed rule, Undecided when Z3
    cannot decide one (within `rlimit` Z3 units each, the same on every
    machine; `timeout_ms` is only a safety net).  Rules marked `reassoc` are
    returned unproven."""
    global _last_stats
    t0 = time.perf_counter()
    rules, n_templates, per_set = parse_rules(paths)
    st = LoadStats(templates=n_templates, instances=len(rules), rulesets=per_set)
    store = _ProofCache(environment_digest()) if cache else None
    # each instance's key once: those the cache holds are done, the rest are proven in order
    keyed = [(r, _rule_key(store.env, r) if store is not None else "") for r in rules if not r.reassoc]
    todo = [(r, key) for r, key in keyed if store is None or key not in store]
    st.reassoc, st.cached = len(rules) - len(keyed), len(keyed) - len(todo)
    tell = progress_hook if todo else None
    try:
        for r, key in todo:
            if tell is not None:
                tell(st.proven, len(todo))
            t = time.perf_counter()
            try:
                found = _refute_rule(r, timeout_ms, rlimit)
            except Undecided as e:
                raise Undecided(f"{r.source}: rule '{r.name}' could not be proven for {r.ty}: {e}") from None
            finally:
                st.prove_seconds += time.perf_counter() - t
            if found is not None:
                raise _unsound(r, *found)
            st.proven += 1
            if store is not None:
                store.add(key, r.id)
        if tell is not None:
            tell(st.proven, len(todo))
    finally:
        if store:
            store.save()  # keep the proofs made before a refusal
    st.seconds = time.perf_counter() - t0
    conditioned = [r for r in rules if r.conditioned]
    guarded = [r for r in rules if r.guarded]
    st.conditioned = len(conditioned)
    _last_stats = st
    return Rules([r for r in rules if not r.conditioned and not r.guarded], st, conditioned, guarded)


def holds(r: Rule, timeout_ms: int = 60000, rlimit: int = PROOF_RLIMIT) -> bool:
    """Whether a rule made at compile time (not read from a file) holds:
    proven by Z3, or found in the proof cache the rule files use.  False
    where it is refuted or undecided, which the cache remembers too (the
    same environment digest: a new Z3 or new definitions try again)."""
    store = _ProofCache(environment_digest())
    key = _rule_key(store.env, r)
    if key in store:
        return True
    if key in store.refused:
        return False
    try:
        found = _refute_rule(r, timeout_ms, rlimit)
    except Undecided:
        store.refuse(key, "undecided")
    else:
        if found is None:
            store.add(key, r.id)
        else:
            store.refuse(key, "refuted")
    store.save()
    return key in store


CASE_SPLIT_LIMIT = 256  # a condition with at most this many solutions is proven case by case


def _refute_rule(r: Rule, timeout_ms: int, rlimit: int = RULE_RLIMIT):
    """`refute` for a rule instance: None when it holds wherever its condition
    does.  A conditioned rule's claim is `when -> lhs == rhs` for all values of
    all variables.  When `when` holds for few values of the consts (a power
    of two: one per bit), the claim is proven for each of them in turn, with
    the value substituted: the same claim, as the list is complete, and Z3
    decides `x / 16 == x >> 4` at once where the symbolic 64-bit division
    takes it some 20 s.  Otherwise it is proven symbolically in the consts."""
    if r.guarded:
        assert r.requires is not None
        # a rule that holds nowhere would be "proven" vacuously
        try:
            never = refute(r.requires, const(False, ir.BOOL), timeout_ms, rlimit=rlimit) is None
        except Undecided:
            never = False
        if never:
            raise RuleError(f"{r.source}: rule '{r.name}' for {r.ty}: `requires {r.requires_text}` never holds")
        return refute(r.lhs, r.rhs, timeout_ms, r.requires, rlimit)
    if not r.conditioned:
        return refute(r.lhs, r.rhs, timeout_ms, rlimit=rlimit)
    cases = _solutions(r, CASE_SPLIT_LIMIT, timeout_ms, rlimit) if r.when is not None else None
    if cases == []:  # a condition that never holds would make any rule "proven"
        raise RuleError(f"{r.source}: rule '{r.name}' for {r.ty}: the condition `{r.when_text}` never holds")
    if cases is None:
        return refute(r.lhs, r.rhs, timeout_ms, r.when, rlimit)
    order = list(_free_vars(r.lhs, r.rhs))
    for env in cases:
        # Folded, each case is exactly the instance `for_terms` would make
        # (and Z3 is spared building ctz(16) bit by bit).
        found = refute(fold(substitute(r.lhs, env)), fold(substitute(r.rhs, env)), timeout_ms, rlimit=rlimit)
        if found is not None:
            cex, lv, rv = found
            cex = {**cex, **{c: natural_value(v) for c, v in env.items()}}
            return {k: cex[k] for k in order if k in cex}, lv, rv
    return None


def _solutions(r: Rule, limit: int, timeout_ms: int, rlimit: int = RULE_RLIMIT):
    """Every assignment of constants to the consts that satisfies `when`, as
    {'?c': const Term} ([] when none does), or None when there are more than
    `limit` (or the consts are floats, which are not listed).  Raises
    Undecided when Z3 cannot tell whether `when` ever holds."""
    if r.when is None:
        raise ValueError(f"rule '{r.name}' has no condition to solve")
    free = _free_vars(r.lhs)
    names = list(r.consts)
    env = {c: z3.Const(c, sort_of(free[c])) for c in names}
    z = solver(rlimit, timeout_ms)
    z.add(evaluate(r.when, Z3Domain(), env))
    out: list[dict] = []
    while len(out) <= limit:
        started = time.perf_counter()
        result = z.check()
        if result == z3.unsat:  # smallest first: a refutation then shows the simplest case
            return sorted(out, key=lambda env: [abs(natural_value(v)) for v in env.values()])
        if result != z3.sat:
            if not out:  # unknown whether it ever holds: a proof could be vacuous
                raise Undecided(
                    f"Z3 could not decide whether `{r.when_text}` ever holds "
                    f"({_why_unknown(z, rlimit, timeout_ms, time.perf_counter() - started)})"
                )
            return None
        if any(free[c].is_float for c in names):
            return None  # it holds somewhere; float values are not listed
        m = z.model()
        vals = {c: m.eval(env[c], model_completion=True) for c in names}
        out.append({c: const(_pattern_of(v), free[c]) for c, v in vals.items()})
        z.add(z3.Or([env[c] != v for c, v in vals.items()]))
    return None


def _pattern_of(v):
    """A Z3 bit-vector or bool value as the bit pattern (or bool) a const holds."""
    return z3.is_true(v) if z3.is_bool(v) else v.as_long()


def _unsound(r: Rule, cex: dict, lv, rv) -> UnsoundRule:
    types = _free_vars(r.lhs, r.rhs)
    natural = {k.lstrip("?"): v for k, v in cex.items()}
    lhs_text, rhs_text = r.text.split(" => ", 1)
    inputs = ", ".join(f"{k.lstrip('?')} = {_show(v, types.get(k))}" for k, v in cex.items())
    cond = f" (where {r.when_text} holds)" if r.when_text else ""
    msg = (
        f"{r.source}: rule '{r.name}' is unsound for {r.ty}: with {inputs or 'any input'}{cond}, "
        f"{lhs_text} is {_show(lv, r.lhs.ty)} but {rhs_text} is {_show(rv, r.rhs.ty)}"
    )
    return UnsoundRule(msg, r, natural, lv, rv)


def _show(v, ty: ir.Scalar | None = None) -> str:
    """A value as a person reads it: true/false, ints with their hex pattern
    when large, f32 values in their shortest f32 spelling."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        if abs(v) > 0xFF:
            return f"{v} ({v:#x})" if v >= 0 else f"{v} (-{-v:#x})"
        return str(v)
    if isinstance(v, float) and ty is not None and ty.is_float and ty.bits == 32:
        return str(np.float32(v))
    return repr(v)


# ---------------------------------------------------------------- instantiating conditioned rules

MAX_ASSIGNMENTS = 4096  # per conditioned rule and type: (constants of its type) ** len(consts)


def constants_in(terms) -> dict[ir.Scalar, list[Term]]:
    """The distinct constants of each type in `terms`, in a fixed order."""
    found: dict[ir.Scalar, set] = {}
    for term in terms:
        for t in subterms(term):
            if t.op == "const":
                found.setdefault(t.ty, set()).add(t)
    return {ty: sorted(cs, key=_order) for ty, cs in found.items()}


def _order(c: Term):
    """Constants by natural value (NaN last; the stored text breaks ties, e.g. -0.0 / 0.0)."""
    v = natural_value(c)
    return (1, 0, str(c.value)) if v != v else (0, v, str(c.value))


def match(pattern: Term, t: Term, bound: dict[str, Term] | None = None) -> dict[str, Term] | None:
    """The pattern variables ('?x') of `pattern` bound so that it reads as
    `t` (each variable one subterm of its type throughout), or None."""
    bound = {} if bound is None else bound
    if pattern.op == "var" and str(pattern.value).startswith("?"):
        if pattern.ty != t.ty:
            return None
        seen = bound.setdefault(pattern.value, t)
        return bound if seen == t else None
    if (pattern.op, pattern.ty, pattern.value, len(pattern.args)) != (t.op, t.ty, t.value, len(t.args)):
        return None
    for p, u in zip(pattern.args, t.args):
        if match(p, u, bound) is None:
            return None
    return bound


def substitute(t: Term, env: dict[str, Term]) -> Term:
    if t.op == "var":
        return env.get(t.value, t)
    if not t.args:
        return t
    return Term(t.op, t.ty, tuple(substitute(a, env) for a in t.args), t.value)


def _label(c: Term) -> str:
    """A constant as an instance's name shows it."""
    v = natural_value(c)
    return ("true" if v else "false") if isinstance(v, bool) else repr(v)


def pattern_text(t: Term) -> str:
    s = pretty(without_marks(t))
    return s[1:-1] if s.startswith("(") and _closes_at_end(s) else s


def without_marks(t: Term) -> Term:
    """Pattern variables named as written ('?x' -> 'x'), for messages."""
    if t.op == "var":
        return Term("var", t.ty, (), t.value.lstrip("?"))
    return Term(t.op, t.ty, tuple(without_marks(a) for a in t.args), t.value) if t.args else t


def _closes_at_end(s: str) -> bool:
    depth = 0
    for i, ch in enumerate(s):
        depth += (ch == "(") - (ch == ")")
        if depth == 0:
            return i == len(s) - 1
    return False


def instances(rule: Rule, constants: dict[ir.Scalar, list]) -> list[Rule]:
    """The plain rules a conditioned rule stands for on these constants: one
    per assignment of constants (of each const's type) to its consts under
    which `when` holds, with the consts substituted and both sides folded.
    `constants` maps a type to Terms or Python values of that type."""
    if not rule.conditioned:
        return [rule]
    types = _free_vars(rule.lhs)
    pools = []
    for c in rule.consts:
        ty = types[c]
        pools.append([v if isinstance(v, Term) else const(v, ty) for v in constants.get(ty, ())])
    out, seen = [], set()
    for values in itertools.islice(itertools.product(*pools), MAX_ASSIGNMENTS):
        env = dict(zip(rule.consts, values))
        if rule.when is not None:
            holds = fold(substitute(rule.when, env))
            if holds.op != "const" or holds.value is not True:
                continue
        lhs, rhs = fold(substitute(rule.lhs, env)), fold(substitute(rule.rhs, env))
        if lhs == rhs or (lhs, rhs) in seen:
            continue
        seen.add((lhs, rhs))
        label = ",".join(f"{c.lstrip('?')}={_label(v)}" for c, v in env.items())
        out.append(
            Rule(
                f"{rule.name}[{label}]",
                rule.ruleset,
                rule.ty,
                lhs,
                rhs,
                rule.source,
                rule.reassoc,
                f"{pattern_text(lhs)} => {pattern_text(rhs)}",
                origin=rule.name,
            )
        )
    return out


def specialise_conditioned(rules, constants_by_type: dict, *, check: bool = False) -> list[Rule]:
    """Every instance (`instances`) of the conditioned rules among `rules`.
    With `check`, each instance is also proven by Z3 on its own: it is a
    special case of a proven rule, so a failure means the instantiation
    (substitution or folding) is wrong, and raises AssertionError."""
    out = []
    for rule in rules:
        if not _has_consts(rule):
            continue
        for inst in instances(rule, constants_by_type):
            if check and not inst.reassoc:
                found = refute(inst.lhs, inst.rhs)
                assert found is None, f"instance {inst} of a proven rule is refuted: {found}"
            out.append(inst)
    return out


def for_terms(rules, terms, *, check: bool | None = None) -> list[Rule]:
    """The rules egglog can run on `terms`: every plain rule of `rules` (a
    `Rules` or any list), and the instances of the conditioned ones (those
    in `rules.conditioned` and any in the list) for the constants of `terms`.
    `check` defaults to the environment variable ATLAS_CHECK_INSTANCES."""
    if check is None:
        check = os.environ.get("ATLAS_CHECK_INSTANCES", "") not in ("", "0")
    rules = list(rules) + list(getattr(rules, "conditioned", ()))
    plain = [r for r in rules if not _has_consts(r)]
    return plain + specialise_conditioned(rules, constants_in(terms), check=check)


def _has_consts(rule) -> bool:
    """Rule.conditioned, for any object with a rule's fields (callers may
    pass their own, e.g. tests)."""
    return bool(getattr(rule, "consts", ()))
