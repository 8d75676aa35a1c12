"""The logic atlas: every root term of every intent in ONE e-graph (egglog).

    atlas = saturate({"saxpy@intents/saxpy.ax:4:9 value of y[i]": term, ...}, rules)
    atlas.extract(name)       the cheapest equal term under the cost model
    atlas.classes()           the equivalence classes, for people
    atlas.report()            sharing, compression, per-iteration sizes

We talk to egglog through its low-level text interface (egglog.bindings):
one `Term` datatype with a constructor per operator, rules as `rewrite`s in
named rulesets, and a saturation loop driven from Python one iteration at a
time so that sizes can be recorded and limits enforced between iterations.
Rules that rewrite to a constant run first and retire what they match
(`folds`), and a pass over a big graph holds back any rule with too many
matches (`Limits.matches`), so that no single pass can explode.

Encoding (`encode` / `decode` are exact inverses):

    (Var "x" "u32")               variable x: u32
    (Int -1 "u64")                integer constant; i64 = the bit pattern read
                                  as two's complement (u64 max -> -1)
    (Flt "-0x0.0p+0" "f32")       float constant, float.hex() text as stored
    (Bool true "bool")            bool constant
    (Load "a" "f32" "u32" i)      a[i]: array, element type, INDEX type, index
    (Add "u32" a b)               ordinary op: the RESULT type, then children
    (Lt "i32" a b)                comparison: the OPERAND type (result is bool)
    (Cast "f32" "i32" a)          cast: target type, SOURCE type
    (Shl "u32" "u8" a s)          shift/rotate: value type, COUNT type

Why the extra type tags: every child position's type is then fixed by its
parent's tags, so a rule's pattern variable `?a: i32` under a Cast or in a
shift-count position can never match a class of another type (every e-class
has one type because rules preserve types).  Names and strings are
percent-encoded to printable ASCII without `"`, `\\` or `%`, because egglog
13 prints strings back *without* escaping embedded quotes.

Extraction is ours, not egglog's `(extract)`: egglog charges every literal
child (the type tags, names, constant values) a cost of 1, which would bias
choices by how many tags a constructor carries.  We read the saturated
e-graph once (`serialize().to_json()`) and run the usual bottom-up
fixed point with the documented cost table (`costs`), minimising (cost,
size) so ties go to the smaller term.  Costs are tree costs (a shared
subterm is paid at each use), matching egglog's tree-additive model.
With a measured table (atlas/logic/costs.py) the estimate is the larger of
a term's critical-path latency and its throughput sum, not a sum over
children, so each class keeps a few Pareto points instead of one best
(`_pareto`).
"""

from __future__ import annotations

import json
import math
import re
import time
import traceback
import weakref
from collections import defaultdict
from dataclasses import asdict, dataclass, field
import itertools
from typing import Callable, Hashable

from ..meaning import ir
from ..meaning.terms import Term, pretty, subterms
from .costs import (
    Table,
    default_costs,
    estimate,
    is_measured,
    kid_latency_weights,
    kid_weights,
    node_cost,
    node_figures,
    node_vector_figure,
    term_cost,
)

# ---------------------------------------------------------------- operators

# op -> (egglog constructor, number of Term children, shape).  Shapes decide
# the type tags (see the module docstring): 'plain' result type; 'cmp'
# operand type; 'cast' target + source; 'shift' value + count type.
OPS: dict[str, tuple[str, int, str]] = {
    "neg": ("Neg", 1, "plain"),
    "not": ("Not", 1, "plain"),
    "cast": ("Cast", 1, "cast"),
    "add": ("Add", 2, "plain"),
    "sub": ("Sub", 2, "plain"),
    "mul": ("Mul", 2, "plain"),
    "div": ("Div", 2, "plain"),
    "rem": ("Rem", 2, "plain"),
    "and": ("And", 2, "plain"),
    "or": ("Or", 2, "plain"),
    "xor": ("Xor", 2, "plain"),
    "shl": ("Shl", 2, "shift"),
    "shr": ("Shr", 2, "shift"),
    "eq": ("Eq", 2, "cmp"),
    "ne": ("Ne", 2, "cmp"),
    "lt": ("Lt", 2, "cmp"),
    "le": ("Le", 2, "cmp"),
    "gt": ("Gt", 2, "cmp"),
    "ge": ("Ge", 2, "cmp"),
    "land": ("Land", 2, "plain"),
    "lor": ("Lor", 2, "plain"),
    "popcount": ("Popcount", 1, "plain"),
    "clz": ("Clz", 1, "plain"),
    "ctz": ("Ctz", 1, "plain"),
    "abs": ("Abs", 1, "plain"),
    "bswap": ("Bswap", 1, "plain"),
    "sqrt": ("Sqrt", 1, "plain"),
    "min": ("Min", 2, "plain"),
    "max": ("Max", 2, "plain"),
    "wmul": ("Wmul", 2, "plain"),
    "mulhi": ("Mulhi", 2, "plain"),
    "add_sat": ("AddSat", 2, "plain"),
    "sub_sat": ("SubSat", 2, "plain"),
    "rotl": ("Rotl", 2, "shift"),
    "rotr": ("Rotr", 2, "shift"),
    "select": ("Select", 3, "plain"),
    # loops as terms (atlas/logic/loops.py): tagged with their index type
    "reduce": ("Reduce", 4, "cast"),  # reduce(lo, hi, init, body): a fold
    "trip": ("Trip", 2, "cast"),  # trip(lo, hi): its number of iterations
    # until(v0, a0, cond, step, update): a while loop's value (atlas/logic/whiles.py)
    "until": ("Until", 5, "plain"),
}
_TAGS = {"plain": 1, "cmp": 1, "cast": 2, "shift": 2}

# Leaf constructors: egglog argument sorts (literals first, then Term kids).
LEAVES = {
    "Var": ("String", "String"),
    "Int": ("i64", "String"),
    "Flt": ("String", "String"),
    "Bool": ("bool", "String"),
    "Load": ("String", "String", "String", "Term"),
}

BY_CTOR = {ctor: (op, n, shape) for op, (ctor, n, shape) in OPS.items()}


def _signature(ctor: str) -> tuple[str, ...]:
    """Argument sorts of a constructor, literals before Term children."""
    if ctor in LEAVES:
        return LEAVES[ctor]
    _, n, shape = BY_CTOR[ctor]
    return ("String",) * _TAGS[shape] + ("Term",) * n


# ---------------------------------------------------------------- literals

_SAFE = {chr(c) for c in range(0x20, 0x7F)} - {'"', "\\", "%"}


def _quote(s: str) -> str:
    """An egglog string literal that egglog also prints back verbatim."""
    return '"' + "".join(c if c in _SAFE else "".join(f"%{b:02X}" for b in c.encode()) for c in s) + '"'


def _unquote(s: str) -> str:
    from urllib.parse import unquote

    return unquote(s, errors="strict")


def _int_lit(value: int) -> int:
    """A bit pattern (< 2**64) as the i64 egglog stores."""
    return value - (1 << 64) if value >= 1 << 63 else value


# ---------------------------------------------------------------- encode


def node_parts(t: Term) -> tuple[str, tuple]:
    """One node's constructor and literal arguments, as egglog holds them
    (strings unquoted, integers as i64).  Literals always precede the Term
    children in a constructor's signature."""
    ty = t.ty.name
    if t.op == "var":
        return "Var", (t.value, ty)
    if t.op == "const":
        if t.ty.is_bool:
            return "Bool", (t.value, "bool")
        if t.ty.is_float:
            return "Flt", (t.value, ty)
        return "Int", (t.value if isinstance(t.value, str) else _int_lit(t.value), ty)
    if t.op == "load":
        return "Load", (t.value, ty, t.args[0].ty.name)
    if t.op not in OPS:
        raise ValueError(f"the e-graph has no constructor for term operator {t.op!r}")
    ctor, n, shape = OPS[t.op]
    if len(t.args) != n:
        raise ValueError(f"{t.op} takes {n} operands, got {len(t.args)}")
    if shape == "cmp":
        return ctor, (t.args[0].ty.name,)
    if shape == "cast":
        return ctor, (ty, t.args[0].ty.name)
    if shape == "shift":
        return ctor, (ty, t.args[1].ty.name)
    return ctor, (ty,)


def _is_pattern_var(value) -> bool:
    return isinstance(value, str) and value.startswith("?")


class _Renderer:
    """Term -> egglog text.  In a pattern, a variable leaf or a literal
    (constant value, array name) written '?x' becomes an egglog variable."""

    def __init__(self, pattern: bool = False):
        self.pattern = pattern
        self.vars: dict[str, str] = {}

    def var(self, name: str) -> str:
        if name not in self.vars:
            base = "p_" + re.sub(r"\W", "_", name[1:])
            taken = set(self.vars.values())
            v, i = base, 1
            while v in taken:
                v, i = f"{base}_{i}", i + 1
            self.vars[name] = v
        return self.vars[name]

    def node(self, t: Term, kids: list[str]) -> str:
        """One node over already rendered children."""
        if self.pattern and t.op == "var" and _is_pattern_var(t.value):
            return self.var(t.value)
        ctor, lits = node_parts(t)
        out = [ctor]
        for sort, v in zip(_signature(ctor), lits):
            if self.pattern and _is_pattern_var(v):
                out.append(self.var(v))
            elif sort == "String":
                out.append(_quote(v))
            elif sort == "i64":
                out.append(str(v))
            else:
                out.append("true" if v else "false")
        return "(" + " ".join(out + kids) + ")"

    def tree(self, t: Term) -> str:
        return self.node(t, [self.tree(a) for a in t.args])


def encode(t: Term) -> str:
    """A closed term as one egglog expression (a tree: shared subterms are
    written out each time; `saturate` loads roots through `let`s instead)."""
    return _Renderer().tree(t)


# ---------------------------------------------------------------- decode


class _Str(str):
    """A quoted string token (as opposed to a symbol)."""


_TOKEN = re.compile(r'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|([^\s()"]+))')


def parse_sexpr(text: str):
    """egglog text -> nested lists of: _Str (strings, still percent-encoded),
    int, bool, and str (symbols)."""
    stack: list[list] = [[]]
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot parse egglog text at {pos}: {text[pos : pos + 30]!r}")
        pos = m.end()
        if m.group(1):
            stack.append([])
        elif m.group(2):
            if len(stack) < 2:
                raise ValueError("unbalanced ')' in egglog text")
            done = stack.pop()
            stack[-1].append(done)
        elif m.group(3) is not None:
            stack[-1].append(_Str(re.sub(r"\\(.)", r"\1", m.group(3))))
        else:
            stack[-1].append(_atom(m.group(4)))
    if len(stack) != 1 or len(stack[0]) != 1:
        raise ValueError("egglog text is not exactly one expression")
    return stack[0][0]


def _atom(tok: str):
    if tok in ("true", "false"):
        return tok == "true"
    if re.fullmatch(r"-?\d+", tok):
        return int(tok)
    return tok


def _scalar(name: str) -> ir.Scalar:
    try:
        return ir.SCALARS[name]
    except KeyError:
        raise ValueError(f"unknown type tag {name!r}") from None


def build_node(ctor: str, lits: list, kids: list[Term]) -> Term:
    """A term from one e-node: its constructor, its literal arguments (strings
    already unquoted) and its children as terms."""
    if ctor == "Var":
        return Term("var", _scalar(lits[1]), (), lits[0])
    if ctor == "Int":
        ty = _scalar(lits[1])
        return Term("const", ty, (), lits[0] & ty.mask)
    if ctor == "Flt":
        return Term("const", _scalar(lits[1]), (), lits[0])
    if ctor == "Bool":
        return Term("const", ir.BOOL, (), bool(lits[0]))
    if ctor == "Load":
        if kids[0].ty.name != lits[2]:
            raise ValueError(f"load index tagged {lits[2]} but is {kids[0].ty}")
        return Term("load", _scalar(lits[1]), (kids[0],), lits[0])
    if ctor not in BY_CTOR:
        raise ValueError(f"unknown constructor {ctor!r}")
    op, n, shape = BY_CTOR[ctor]
    if len(kids) != n:
        raise ValueError(f"{ctor} takes {n} operands, got {len(kids)}")
    # The extra tags are redundant with the children's own types: check them.
    checked = {"cmp": (0, 0), "cast": (1, 0), "shift": (1, 1)}.get(shape)
    if checked and kids[checked[1]].ty.name != lits[checked[0]]:
        raise ValueError(f"{ctor} tagged {lits[checked[0]]} but operand is {kids[checked[1]].ty}")
    ty = ir.BOOL if shape == "cmp" else _scalar(lits[0])
    return Term(op, ty, tuple(kids))


def _from_sexpr(x) -> Term:
    if not isinstance(x, list) or not x or not isinstance(x[0], str) or isinstance(x[0], _Str):
        raise ValueError(f"not a term: {x!r}")
    ctor, args = x[0], x[1:]
    sig = _signature(ctor) if (ctor in LEAVES or ctor in BY_CTOR) else None
    if sig is None or len(sig) != len(args):
        raise ValueError(f"bad constructor application: {x!r}")
    lits, kids = [], []
    for sort, a in zip(sig, args):
        if sort == "Term":
            kids.append(_from_sexpr(a))
        elif sort == "String":
            if not isinstance(a, _Str):
                raise ValueError(f"expected a string in {ctor}, got {a!r}")
            lits.append(_unquote(a))
        else:
            lits.append(a)
    return build_node(ctor, lits, kids)


def decode(text: str) -> Term:
    """egglog text (as `encode` writes it or egglog prints it) -> Term."""
    return _from_sexpr(parse_sexpr(text))


# ---------------------------------------------------------------- rules


def rule_text(rule, egg_name: str, ruleset: str) -> str:
    """One Rule as an egglog (bi)rewrite.  `?x` leaves are pattern variables;
    their types are enforced by the parents' type tags (see module doc)."""
    r = _Renderer(pattern=True)
    if rule.lhs.op == "var" and _is_pattern_var(rule.lhs.value):
        raise ValueError(
            f"rule {rule.name}: the left side is a bare pattern variable, which would match every class of every type"
        )
    lhs = r.tree(rule.lhs)
    rhs = r.tree(rule.rhs)
    kind = "birewrite" if getattr(rule, "bidirectional", False) else "rewrite"
    subsume = " :subsume" if folds(rule) else ""
    facts = [f"(Inv {r.var(v)})" for v in getattr(rule, "invariant", ())]
    facts += [f"(Free {r.var(v)})" for v in getattr(rule, "variant", ())]
    facts += [f"(Varies {r.var(v)})" for v in getattr(rule, "varies", ())]
    when = " :when (" + " ".join(facts) + ")" if facts else ""
    return f'({kind} {lhs} {rhs}{when}{subsume} :ruleset {ruleset} :name "{egg_name}")'


FOLD_RULESET = "fold_constants"  # egglog ruleset of the `folds` rules (never rs_*)
# A pass over a bigger graph runs under the match limit (see `saturate`).
# At 2 000, a generated `(33 - (x - x)) * (33 - (x - x))` made one pass of
# 74 724 matches over 472 nodes: 18 617 nodes, 13 s and 2.6 GB to compile.
PLAIN_NODES = 256


def folds(rule) -> bool:
    """Whether a rule rewrites to a constant (x * 0 => 0, x | ~0 => ~0,
    x ^ x => 0).  Such a rule subsumes the node it matched: the node stays in
    its class (a source term is still found there, explain still shows it)
    but no rule matches it again, and `saturate` runs these rules to a fixed
    point before each iteration of the others.  Why: x * 0 merged into the
    class of 0 is a node over its own class, and associativity then matches
    through it to build every product of the graph inside that class
    (`acc[i * 0]` grew fourfold per iteration, 27 000 nodes by the ninth).  Subsumed
    first, such a node is never matched by associativity or commutativity.
    The constant is its class's cheapest member, so extraction loses nothing."""
    return rule.rhs.op == "const" and not getattr(rule, "bidirectional", False)


def _ruleset_ident(name: str, taken: dict[str, str]) -> str:
    if name not in taken:
        base = "rs_" + re.sub(r"\W", "_", name)
        ident, i = base, 1
        while ident in taken.values():
            ident, i = f"{base}_{i}", i + 1
        taken[name] = ident
    return taken[name]


# ---------------------------------------------------------------- saturation


@dataclass(frozen=True)
class Limits:
    """Saturation stops at the first of these.  They are checked between
    iterations; within one, `matches` bounds each rule's work (a rule that
    finds more matches than that sits the pass out), so a pass cannot run
    far past them."""

    nodes: int = 20_000
    iterations: int = 12
    seconds: float = 10.0
    matches: int = 5_000


@dataclass(frozen=True)
class IterationStat:
    iteration: int  # 0 = the e-graph as loaded, before any rule ran
    nodes: int  # e-nodes (Term rows) after the iteration
    classes: int  # e-classes of sort Term after the iteration
    seconds: float  # time egglog spent running this iteration
    matches: int  # rule matches found in this iteration
    changed: bool  # whether egglog reported any change


@dataclass(frozen=True)
class ENode:
    """One member of a class: an operator over literal arguments (names,
    type tags, constant values) and child classes."""

    ctor: str
    lits: tuple
    kids: tuple[str, ...]
    cost: float  # this node alone (an int on the static hints)
    total: float  # with each child's best representative


@dataclass
class EClass:
    id: str
    ty: ir.Scalar
    nodes: list[ENode]
    best: Term
    cost: float
    roots: list[str] = field(default_factory=list)
    # A weak reference: the atlas holds its classes, and a cycle would leave
    # its e-graph to the cyclic collector, which may run on any thread
    # (egglog's e-graph must be freed on the one that made it).
    _atlas: "weakref.ref[Atlas] | None" = field(default=None, repr=False, compare=False)

    def members(self) -> list[Term]:
        """Each member with every child class replaced by its cheapest
        representative, cheapest first."""
        atlas = self._atlas() if self._atlas is not None else None
        if atlas is None:
            raise ValueError("an e-class read outside its atlas has no members")
        return [atlas._member(n) for n in self.nodes]

    def members_pretty(self) -> list[str]:
        return [pretty(m) for m in self.members()]


def _intent_of(name: str) -> str:
    return name.split("@", 1)[0]


def saturate(
    roots: dict,
    rules=(),
    *,
    limits: Limits = Limits(),
    costs: dict[str, int] | None = None,
    allow_reassoc: bool = False,
    table: Table | None = None,
) -> "Atlas":
    """Load every root into one e-graph, run the rules to saturation or a
    limit, and return the Atlas.

    `roots` maps a root name to a Term, or to (intent, Term).  With a bare
    Term the intent is the part of the name before '@' (so
    "saxpy@intents/saxpy.ax:4:9 ..." belongs to intent "saxpy").
    Rules with `reassoc` set are left out unless `allow_reassoc`.
    `table` (atlas/logic/costs.py) is what extraction weighs terms by: a
    static table's hints, or a measured one's latencies and throughputs;
    without it, `costs` (default: the static hints) alone."""
    import egglog.bindings as b

    hints = getattr(table, "hints", None)
    ints = dict(hints) if hints is not None else default_costs() if costs is None else dict(costs)
    named: dict[str, tuple[str, Term]] = {}
    for name, v in roots.items():
        intent, term = v if isinstance(v, tuple) else (_intent_of(name), v)
        named[name] = (intent, term)

    # egglog's EGraph must be freed on the thread that made it (dropped on
    # another, it prints a traceback and leaks), and a later garbage
    # collection may run on any thread (the search's builder): so the
    # Atlas keeps the saturated graph's serialised form, and the EGraph is
    # let go here, on this thread, however this ends.
    held = [b.EGraph()]

    def run(text: str):
        return held[0].run_program(*held[0].parse_program(text))

    try:
        program = [_datatype(ints)]
        loaded = _LoadedRules(rules, allow_reassoc)
        program += loaded.declarations()
        run("\n".join(program))
        program += loaded.load(run)
        lets = _root_lets(named)
        if lets:
            run("\n".join(lets))
        program += lets
        start = time.perf_counter()
        stats, stop, matches = _run_passes(held[0], run, loaded, limits)
        graph = held[0].serialize([]).to_json()
    except BaseException as e:
        traceback.clear_frames(e.__traceback__)
        raise
    finally:
        held.clear()
    program.append(f";; {stop} after {len(stats) - 1} iterations")
    return Atlas(
        graph,
        named,
        ints,
        limits,
        stats,
        stop,
        dict(loaded.per_ruleset),
        loaded.skipped_reassoc,
        dict(matches),
        "\n".join(program),
        time.perf_counter() - start,
        table,
    )


def _datatype(table: dict[str, int]) -> str:
    """The datatype; :cost mirrors our table (integer variants) for anyone
    running egglog's own (extract) on atlas.program; Atlas.extract uses
    the exact model instead (see the module docstring)."""
    decls = []
    for ctor, sig in LEAVES.items():
        c = table.get("load", 4) if ctor == "Load" else table.get("var", 0)
        decls.append(f"({ctor} {' '.join(sig)} :cost {c})")
    for op, (ctor, _, _) in OPS.items():
        decls.append(f"({ctor} {' '.join(_signature(ctor))} :cost {max(1, table.get(op, 1))})")
    return "(datatype Term\n  " + "\n  ".join(decls) + ")"


class _LoadedRules:
    """The rules as egglog commands, grouped into rulesets (the folding
    rules in one of their own), with the names egglog reports them by."""

    def __init__(self, rules, allow_reassoc: bool):
        self.idents: dict[str, str] = {}
        self.rule_names: dict[str, str] = {}  # egglog name -> Rule.name
        self.per_ruleset: dict[str, int] = defaultdict(int)
        self.skipped_reassoc = 0
        self.commands = []
        for rule in rules:
            if getattr(rule, "reassoc", False) and not allow_reassoc:
                self.skipped_reassoc += 1
                continue
            ident = FOLD_RULESET if folds(rule) else _ruleset_ident(rule.ruleset, self.idents)
            egg_name = f"r{len(self.rule_names)}"
            self.rule_names[egg_name] = rule.name
            self.per_ruleset[rule.ruleset] += 1
            try:
                self.commands.append((rule, rule_text(rule, egg_name, ident)))
            except ValueError as e:
                raise ValueError(f"rule {rule.name} ({getattr(rule, 'source', '?')}): {e}") from e
        self.folding = any(folds(rule) for rule, _ in self.commands)
        # loop rules ask for invariant classes (see _invariance)
        self.invariance = any(
            getattr(rule, "invariant", ()) or getattr(rule, "variant", ()) for rule, _ in self.commands
        )

    def declarations(self) -> list[str]:
        return (
            [f"(ruleset {i})" for i in self.idents.values()]
            + ([f"(ruleset {FOLD_RULESET})"] if self.folding else [])
            + (_invariance() if self.invariance else [])
        )

    def load(self, run) -> list[str]:
        """Each rule, one egglog command at a time so an error names its rule."""
        for rule, text in self.commands:
            try:
                run(text)
            except Exception as e:  # egglog raises EggSmolError
                where = f" ({rule.source})" if getattr(rule, "source", None) else ""
                raise ValueError(f"rule {rule.name}{where} does not load into egglog: {e}") from e
        return [text for _, text in self.commands]


INVARIANCE = "invariance"  # the ruleset that derives Inv


def _invariance() -> list[str]:
    """Two relations over the classes of a fold's body (atlas/logic/loops.py):
    `Inv`, the classes its iterations cannot change (they name neither
    placeholder), and `Free`, those that do not read the accumulator (they
    may read the index).  A fold's loop stores nothing, so an array element
    at an invariant index is invariant too; a fold is, where its range and
    start are (its body is over placeholders of its own)."""
    from .loops import ACC, IDX

    out = [f"(ruleset {INVARIANCE})"]
    for rel, excluded in (("Inv", (ACC, IDX)), ("Free", (ACC,))):
        out.append(f"(relation {rel} (Term))")
        for ctor in [*LEAVES, *BY_CTOR]:
            sig = _signature(ctor)
            args = " ".join(f"a{i}" for i in range(len(sig)))
            kids = [i for i, sort in enumerate(sig) if sort == "Term"]
            if ctor == "Reduce":
                kids = kids[:3]
            conds = [f"({rel} a{i})" for i in kids]
            if ctor == "Var":
                conds += [f"(!= a0 {_quote(p)})" for p in excluded]
            out.append(_fact_rule(f"(= e ({ctor} {args})) {' '.join(conds)}", f"({rel} e)", len(out)))
    # `Varies`: the classes with a member that reads the index (of a nested
    # fold, its range and start only: its body has an index of its own)
    out.append("(relation Varies (Term))")
    out.append(_fact_rule(f"(= e (Var {_quote(IDX)} t))", "(Varies e)", len(out)))
    for ctor in [*LEAVES, *BY_CTOR]:
        sig = _signature(ctor)
        args = " ".join(f"a{i}" for i in range(len(sig)))
        kids = [i for i, sort in enumerate(sig) if sort == "Term"]
        for k in kids[:3] if ctor == "Reduce" else kids:
            out.append(_fact_rule(f"(= e ({ctor} {args})) (Varies a{k})", "(Varies e)", len(out)))
    return out


def _fact_rule(query: str, fact: str, n: int) -> str:
    """One rule of the invariance ruleset, named so that its matches are
    told apart from the rewrites' (`_count_matches`)."""
    return f'(rule ({query}) ({fact}) :ruleset {INVARIANCE} :name "{INVARIANCE}.{n}")'


def _root_lets(named: dict) -> list[str]:
    """The roots: one global per distinct non-leaf subterm, so a DAG stays a
    DAG; roots that are leaves are inserted as they are."""
    lets: list[str] = []
    glob: dict[Term, str] = {}
    r = _Renderer()
    for _, term in named.values():
        for t in subterms(term):
            if t in glob:
                continue
            text = r.node(t, [glob[a] for a in t.args])
            if t.args:
                glob[t] = f"$t{len(lets)}"
                lets.append(f"(let {glob[t]} {text})")
            else:
                glob[t] = text
    return lets + [glob[t] for _, t in named.values() if not t.args]


def _run_passes(eg, run, loaded: _LoadedRules, limits: Limits):
    """Passes until saturation or a limit: (stats per pass, why it stopped,
    matches per rule)."""
    n, c = _size(eg)
    stats = [IterationStat(0, n, c, 0.0, 0, True)]
    matches: dict[str, int] = defaultdict(int)
    plain, capped = _schedules(loaded, limits)
    start = time.perf_counter()
    stop = None
    if not loaded.idents and not loaded.folding:
        stop = "saturated"
    elif n > limits.nodes:
        stop = "node limit"
    while stop is None:
        if len(stats) - 1 >= limits.iterations:
            stop = "iteration limit"
            break
        if time.perf_counter() - start >= limits.seconds:
            stop = "time limit"
            break
        t0 = time.perf_counter()
        report = run(plain if n <= min(limits.nodes // 16, PLAIN_NODES) else capped)[0].report
        dt = time.perf_counter() - t0
        found = _count_matches(report.num_matches_per_rule, loaded.rule_names, matches)
        before = (n, c)
        n, c = _size(eg)
        stats.append(IterationStat(len(stats), n, c, dt, found, report.updated))
        stop = _stop_after(report.updated, before, (n, c), limits)
    return stats, stop, matches


def _size(eg) -> tuple[int, int]:
    """(nodes, classes) of Term in the e-graph now."""
    rows = [
        row
        for fn in eg.freeze().functions.values()
        if fn.output_sort == "Term" and not fn.is_let_binding
        for row in fn.rows
    ]
    return len(rows), len({row.output for row in rows})


def _schedules(loaded: _LoadedRules, limits: Limits) -> tuple[str, str]:
    """The egglog command of one pass: (plain, capped).

    The folding rules first, to their fixed point (see `folds`), then one
    pass of every other ruleset.  Once the graph is past a sixteenth of the
    node limit or PLAIN_NODES, passes run under egglog's back-off scheduler: a rule that
    finds more than `limits.matches` matches sits that pass out, so that no
    single pass can multiply the graph (a 16-term sum under add-assoc and
    add-commutes went from 167 000 to 2 million nodes in one 15 s pass,
    which nothing between passes could stop).  Small graphs skip the
    scheduler, which costs some 60 us per rule and pass."""
    idents = loaded.idents
    fold = f"(saturate (run {FOLD_RULESET})) " if loaded.folding else ""
    if loaded.invariance:
        fold += f"(saturate (run {INVARIANCE})) "
    plain = "(run-schedule " + fold + " ".join(f"(run {i})" for i in idents.values()) + ")"
    capped = (
        f"(run-schedule (let-scheduler capped (back-off :match-limit {limits.matches})) "
        + fold
        + " ".join(f"(run-with capped {i})" for i in idents.values())
        + ")"
    )
    return plain, capped


def _count_matches(per_rule: dict, rule_names: dict[str, str], matches: dict[str, int]) -> int:
    """Add one pass's matches (egglog's name -> count) to `matches` by
    Rule.name; the pass's total."""
    found = 0
    for k, v in per_rule.items():
        if k.startswith(INVARIANCE + "."):
            continue  # bookkeeping (which classes a loop changes), not a rewrite
        # a birewrite named r3 reports as "r3=>" and "r3<=": count both
        base = k[:-2] if k.endswith(("=>", "<=")) and k[:-2] in rule_names else k
        matches[rule_names.get(base, k)] += v
        found += v
    return found


def _stop_after(updated: bool, before: tuple[int, int], after: tuple[int, int], limits: Limits) -> str | None:
    """Why the passes stop after one that left the graph at `after` (nodes,
    classes), or None to go on."""
    if not updated:
        return "saturated"
    if after[0] > limits.nodes:
        return "node limit"
    if after == before:
        # Nothing was added or merged, yet egglog reports a change: the
        # only rules left are those held back at the match limit, and
        # every later pass would repeat this one.
        return "match limit"
    return None


def _read_classes(data: dict) -> dict[str, list]:
    """The Term classes of a serialised e-graph: class -> [(ctor, lits, kids)],
    each node's primitive children read as Python values (lits) and its Term
    children as class ids (kids)."""
    nodes = data["nodes"]
    lit_of = {}  # primitive node id -> python value
    raw: dict[str, list] = defaultdict(list)  # class -> [(ctor, lits, kids)]
    for nid, nd in nodes.items():
        if data["class_data"].get(nd["eclass"], {}).get("type") != "Term":
            v = _atom(nd["op"]) if not nd["op"].startswith('"') else _unquote(parse_sexpr(nd["op"]))
            lit_of[nid] = v
    for nid, nd in nodes.items():
        if nid in lit_of:
            continue
        ctor = nd["op"]
        sig = _signature(ctor)
        lits = tuple(lit_of[k] for s, k in zip(sig, nd["children"]) if s != "Term")
        kids = tuple(nodes[k]["eclass"] for s, k in zip(sig, nd["children"]) if s == "Term")
        raw[nd["eclass"]].append((ctor, lits, kids))
    return raw


def _node_ty(ctor, lits):
    """A node's type; a class's type is any member's (rules preserve types)."""
    if ctor in ("Var", "Int", "Flt"):
        return _scalar(lits[1])
    if ctor == "Bool":
        return ir.BOOL
    if ctor == "Load":
        return _scalar(lits[1])
    return ir.BOOL if BY_CTOR[ctor][2] == "cmp" else _scalar(lits[0])


def _cheapest(raw: dict[str, list], order: list, own: dict) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """(best (cost, size) of each class, the node that gives it): a
    bottom-up fixed point on (cost, size), strictly better only, so the
    first node found wins ties; nodes are visited in `order`, a fixed one.
    A class with no finite member keeps (inf, 0) and no choice."""
    INF = (float("inf"), 0)
    best: dict[str, tuple] = {cid: INF for cid in raw}
    choice: dict[str, tuple] = {}
    changed = True
    while changed:
        changed = False
        for cid, n in order:
            kb = [best[k] for k in n[2]]
            if any(k is INF for k in kb):
                continue
            w, _ = _weights(n)
            cand = (own[cid, n] + sum(x * k[0] for x, k in zip(w, kb)), 1 + sum(k[1] for k in kb))
            if cand < best[cid]:
                best[cid], choice[cid] = cand, n
                changed = True
    return best, choice


def _weights(n: tuple) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """How many times each child of e-node n (ctor, lits, kids) is paid, and
    how much each child's latency adds to its path (costs.kid_weights)."""
    ctor, _, kids = n
    op = BY_CTOR[ctor][0] if ctor in BY_CTOR else ""
    return kid_weights(op, len(kids)), kid_latency_weights(op, len(kids))


FRONTIER = 4  # Pareto points kept per class under a measured table


@dataclass(frozen=True, eq=False)
class _Point:
    """One way to build a class's term: a node over chosen points of its
    children, with the term's critical-path latency, throughput sum and
    time per element in vectors (inf where the table has no figure)."""

    lat: float
    thr: float
    size: int
    node: tuple
    kids: tuple  # of _Point
    vec: float = math.inf

    @property
    def est(self) -> float:
        return max(self.lat, self.thr)

    def rank(self) -> tuple:
        return (self.est, self.size, self.lat)

    def throughput_rank(self) -> tuple:
        """The order for a root in a loop, whose iterations overlap (costs.estimate)."""
        return (self.thr, self.size, self.lat)

    def vector_rank(self) -> tuple:
        """The order for a root in a loop the backend may vectorise."""
        return (min(self.thr, self.vec), self.size, self.thr)

    def covers(self, other: "_Point") -> bool:
        return self.lat <= other.lat and self.thr <= other.thr and self.vec <= other.vec and self.size <= other.size


def _admit(front: list, p: _Point) -> bool:
    """Add p to a class's points unless one covers it or it would be the
    worst of a full set; whether it was added.  The points of least
    throughput and of least time in vectors are never the ones dropped: a
    root in a loop may want them."""
    if any(q.covers(p) for q in front):
        return False
    front[:] = [q for q in front if not p.covers(q)]
    if len(front) >= FRONTIER:
        keep = {id(min((*front, p), key=_Point.throughput_rank)), id(min((*front, p), key=_Point.vector_rank))}
        worst = max((q for q in (p, *front) if id(q) not in keep), key=_Point.rank)  # p first: a tie keeps the old
        if worst is p:
            return False
        front.remove(worst)
    front.append(p)
    return True


# Combinations of children's points one extraction may weigh, per e-node:
# four full passes with two-child nodes at a full frontier (4 x 4 x 4).
PARETO_WORK = 64
PARETO_FLOOR = 10_000  # and at least this many, for small graphs


def _pareto(raw: dict[str, list], order: list, pairs: dict) -> dict[str, list] | None:
    """Each class's Pareto points of (latency, throughput, size), a bottom-up
    fixed point like `_cheapest`.  The estimate max(latency, throughput) is
    not a sum over children, so one best per class would not do: a child's
    slower but shorter form can make the parent's path the shorter.  A
    cycle only adds size, so its points are covered and never admitted;
    the passes are bounded all the same, and so is the work: past
    PARETO_WORK combinations per e-node (PARETO_FLOOR for small graphs) it
    gives up (None) and the caller weighs by the static sums instead."""
    front: dict[str, list] = {cid: [] for cid in raw}
    version = {cid: 0 for cid in raw}  # bumped whenever a class's points change
    seen: dict = {}  # node -> its children's versions when it was last combined
    work = PARETO_WORK * len(order) + PARETO_FLOOR
    changed = True
    for _ in range(len(raw) + 2):
        if not changed:
            break
        changed = False
        for cid, n in order:
            kids_now = tuple(version[k] for k in n[2])
            if seen.get((cid, n)) == kids_now:
                continue  # nothing new below it
            seen[cid, n] = kids_now
            kid_points = [tuple(front[k]) for k in n[2]]
            if any(not ps for ps in kid_points):
                continue
            lat0, thr0, vec0 = pairs[cid, n]
            work -= math.prod(len(ps) for ps in kid_points)
            if work < 0:
                return None
            w, lw = _weights(n)
            for picks in itertools.product(*kid_points):
                lat = lat0 + max((x * q.lat for x, q in zip(lw, picks)), default=0.0)
                thr = thr0 + sum(x * q.thr for x, q in zip(w, picks))
                vec = vec0 + sum(q.vec for q in picks)
                size = 1 + sum(q.size for q in picks)
                if _admit(front[cid], _Point(lat, thr, size, n, picks, vec)):
                    version[cid] += 1
                    changed = True
    return front


def _powers_of_two(raw: dict[str, list]) -> set[str]:
    """The classes that hold a power of two or zero by its form, as
    costs.power_of_two reads a term: x & -x (-x as Neg, or Sub from 0) or
    1 << k."""
    holds = {cid: {(n[0], n[1]) for n in ns} for cid, ns in raw.items()}

    def is_int(cid: str, v: int) -> bool:
        return any(ctor == "Int" and lits and lits[0] == v for ctor, lits in holds[cid])

    def negates(n_cid: str, x: str) -> bool:
        return any(
            (n[0] == "Neg" and n[2] == (x,))
            or (n[0] == "Sub" and len(n[2]) == 2 and is_int(n[2][0], 0) and n[2][1] == x)
            for n in raw[n_cid]
        )

    out = set()
    for cid, ns in raw.items():
        for ctor, _, kids in ns:
            if ctor == "Shl" and is_int(kids[0], 1):
                out.add(cid)
            elif ctor == "And" and (negates(kids[1], kids[0]) or negates(kids[0], kids[1])):
                out.add(cid)
    return out


# ---------------------------------------------------------------- the atlas


class Atlas:
    """A saturated e-graph holding the roots of every intent."""

    def __init__(
        self,
        graph: str,
        roots,
        costs,
        limits,
        stats,
        stop_reason,
        rules_per_ruleset,
        skipped_reassoc,
        rule_matches,
        program,
        seconds,
        table=None,
    ):
        self.graph_json = graph  # egglog's serialisation of the saturated graph
        self.roots: dict[str, tuple[str, Term]] = roots  # name -> (intent, term)
        self.costs = costs  # the static hints (the egglog program's :cost, explain's comparisons)
        # what extraction weighs terms by, when it is a measured table
        self.measured = table if table is not None and is_measured(table) else None
        self.cost_source = self.measured.source if self.measured is not None else "static hints (primitives/core.yaml)"
        self.limits = limits
        self.stats: list[IterationStat] = stats
        self.stop_reason: str = stop_reason
        self.rules_per_ruleset = rules_per_ruleset
        self.skipped_reassoc = skipped_reassoc
        self.rule_matches = rule_matches  # Rule.name -> matches over all iterations
        self.program = program  # the egglog text that built it
        self.seconds = seconds
        self._graph: dict | None = None
        self._classes: list[EClass] | None = None

    # -- reading the e-graph back (once; it no longer changes)

    def _load(self):
        if self._graph is not None:
            return self._graph
        data = json.loads(self.graph_json)
        raw = _read_classes(data)
        cls_ty = {cid: _node_ty(*ns[0][:2]) for cid, ns in raw.items()}

        def own_cost(ctor, lits, kids):
            op = BY_CTOR[ctor][0] if ctor in BY_CTOR else {"Var": "var", "Load": "load"}.get(ctor, "const")
            return node_cost(self.costs, op, _node_ty(ctor, lits), [cls_ty[k] for k in kids])

        order = sorted((cid, n) for cid, ns in raw.items() for n in ns)
        measured = self._measured_choice(raw, order, cls_ty) if self.measured is not None else None
        if measured is None and self.measured is not None:
            # the Pareto fixed point would pass its bound (a long chain of
            # shared terms re-combines every class above it, pass after pass)
            self.cost_source = (
                "static hints (primitives/core.yaml): the measured table's extraction "
                f"passed its bound of {PARETO_WORK} combinations per e-node on this e-graph"
            )
        if measured is not None:
            own, best, choice, best_term, node_total, root_term = measured
        else:
            own = {(cid, n): own_cost(*n) for cid, n in order}
            best, choice = _cheapest(raw, order, own)
            terms: dict[str, Term] = {}

            def best_term(cid):
                if cid not in terms:
                    ctor, lits, kids = choice[cid]
                    terms[cid] = build_node(ctor, list(lits), [best_term(k) for k in kids])
                return terms[cid]

            def node_total(cid, n):  # the node over its children's best
                return own[cid, n] + sum(x * best[k][0] for x, k in zip(_weights(n)[0], n[2]))

            def root_term(cid, loop) -> Term:  # one figure per operation: the sum bounds every path
                return best_term(cid)

        index = {(ctor, lits, kids): cid for cid, ns in raw.items() for ctor, lits, kids in ns}
        self._graph = dict(
            raw=raw,
            best=best,
            choice=choice,
            best_term=best_term,
            root_term=root_term,
            own=own,
            index=index,
            ty=cls_ty,
            node_total=node_total,
        )
        return self._graph

    def _measured_choice(self, raw, order, cls_ty):
        """Extraction under a measured table: each class's Pareto points of
        (critical-path latency, throughput sum), the best by the estimate
        (atlas/logic/costs.py).  Returns what the static path does: each
        node's own cost, each class's best (estimate, size), the node
        chosen, and the term builder."""
        table = self.measured
        assert table is not None
        constants = {cid for cid, ns in raw.items() if any(n[0] == "Int" for n in ns)}
        powers = _powers_of_two(raw)

        def figs(ctor, lits, kids) -> tuple[float, float, float]:
            ty, arg_tys = _node_ty(ctor, lits), [cls_ty[k] for k in kids]
            if ctor not in BY_CTOR:
                op = {"Var": "var", "Load": "load"}.get(ctor, "const")
                return (*node_figures(table, op, ty, arg_tys), 0.0)
            op = BY_CTOR[ctor][0]
            const_count = len(kids) > 1 and kids[1] in constants
            power = op == "div" and kids[1] in powers
            vec = node_vector_figure(table, op, ty, arg_tys, const_count, power)  # None for a loop's node
            return (*node_figures(table, op, ty, arg_tys, const_count, power), math.inf if vec is None else vec)

        pairs = {(cid, n): figs(*n) for cid, n in order}
        front = _pareto(raw, order, pairs)
        if front is None:
            return None
        own = {key: round(max(lat, thr), 2) for key, (lat, thr, _) in pairs.items()}
        best, choice, top = {}, {}, {}
        for cid, points in front.items():
            if points:
                top[cid] = min(points, key=_Point.rank)
                best[cid] = (round(top[cid].est, 2), top[cid].size)
                choice[cid] = top[cid].node
            else:
                best[cid] = (float("inf"), 0)
        built: dict[int, Term] = {}

        def term_of(pt: "_Point") -> Term:
            if id(pt) not in built:
                ctor, lits, _ = pt.node
                built[id(pt)] = build_node(ctor, list(lits), [term_of(k) for k in pt.kids])
            return built[id(pt)]

        def node_total(cid, n) -> float:  # the node over its children's best points
            if any(k not in top for k in n[2]):
                return float("inf")
            lat0, thr0, _ = pairs[cid, n]
            w, lw = _weights(n)
            lat = lat0 + max((x * top[k].lat for x, k in zip(lw, n[2])), default=0.0)
            return round(max(lat, thr0 + sum(x * top[k].thr for x, k in zip(w, n[2]))), 2)

        def root_term(cid, loop: frozenset[str] | None) -> Term:
            # A root takes the point its whole term's estimate ranks first: the
            # points were combined as trees, the estimate pays a shared part once.
            points = front[cid] or [top[cid]]
            ranked = _Point.rank if loop is None else _Point.throughput_rank if loop else _Point.vector_rank
            return term_of(min(points, key=lambda q: (estimate(term_of(q), table, loop), ranked(q))))

        return own, best, choice, lambda cid: term_of(top[cid]), node_total, root_term

    def _member(self, n: ENode) -> Term:
        g = self._load()
        return build_node(n.ctor, list(n.lits), [g["best_term"](k) for k in n.kids])

    def _class_id(self, t: Term, memo: dict) -> str:
        """The class of a source term: look its canonical node up bottom-up."""
        if t in memo:
            return memo[t]
        kids = tuple(self._class_id(a, memo) for a in t.args)
        ctor, lits = node_parts(t)
        cid = self._load()["index"].get((ctor, lits, kids))
        if cid is None:
            raise KeyError(f"term not in the e-graph: {pretty(t)}")
        memo[t] = cid
        return cid

    # -- public

    def class_of(self, root_name: str) -> EClass:
        cid = self._class_id(self.roots[root_name][1], {})
        return next(c for c in self.classes() if c.id == cid)

    def extract(self, root_name: str, loop: frozenset[str] | None = None) -> Term:
        """The cheapest term equal to the root under the cost model, priced
        as the root runs (`loop`: lower.Root.loop, costs.estimate)."""
        g = self._load()
        return g["root_term"](self._class_id(self.roots[root_name][1], {}), loop)

    def extract_k(
        self, root_name: str, k: int, same: Callable[[Term], Hashable] = lambda t: t, loop: frozenset[str] | None = None
    ) -> list[Term]:
        """Up to k terms equal to the root, distinct under `same` (e.g. up
        to commuted operands), cheapest first under the cost model (priced
        as `extract` prices with `loop`), extract's first of all.  Each candidate
        of a class is one of its nodes over its children's best terms, or
        over them with one child swapped for that child's next-best: not
        every combination, but every class's own forms and their nearest
        neighbours.  A node whose child is an enclosing class (a cycle) is
        skipped there.  Every term returned is a member of the class."""
        g = self._load()
        memo: dict[str, list[tuple[float, Term]]] = {}

        def best_of(cid: str, visiting: frozenset) -> list[tuple[float, Term]]:
            if cid in memo:
                return memo[cid]
            if cid not in g["choice"]:  # no finite member
                return []
            first = g["best_term"](cid)
            found: dict[Term, float] = {
                first: self.cost(first, loop) if self.measured is not None else g["best"][cid][0]
            }
            inside = visiting | {cid}
            for n in g["raw"][cid]:
                ctor, lits, kids = n
                if any(kid in inside for kid in kids):
                    continue
                lists = [best_of(kid, inside) for kid in kids]
                if any(not ls for ls in lists):
                    continue
                picks = [tuple(0 for _ in kids)]  # every child its best, then one swapped
                picks += [
                    tuple(i if j == c else 0 for j in range(len(kids)))
                    for c in range(len(kids))
                    for i in range(1, len(lists[c]))
                ]
                for pick in picks:
                    parts = [lists[c][i] for c, i in enumerate(pick)]
                    term = build_node(ctor, list(lits), [t for _, t in parts])
                    if self.measured is not None:  # not additive: the estimate of the whole term
                        cost = self.cost(term, loop)
                    else:
                        cost = g["own"][cid, n] + sum(c for c, _ in parts)
                    if cost < found.get(term, float("inf")):
                        found[term] = cost
            kept, seen = [(found[first], first)], {same(first)}
            for c, _, t in sorted((c, i, t) for i, (t, c) in enumerate(found.items())):
                if len(kept) < k and same(t) not in seen:
                    seen.add(same(t))
                    kept.append((c, t))
            memo[cid] = kept
            return kept

        head = self.extract(root_name, loop)
        rest = [t for _, t in best_of(self._class_id(self.roots[root_name][1], {}), frozenset())]
        return [head, *(t for t in rest if same(t) != same(head))][:k]

    def cost(self, term: Term, loop: frozenset[str] | None = None) -> float:
        """What extraction weighs `term` by (an int on the static hints)."""
        if self.measured is not None:
            return round(estimate(term, self.measured, loop), 2)
        return term_cost(term, self.costs)

    def classes(self) -> list[EClass]:
        """Every e-class, members cheapest first, with the roots landing in it."""
        if self._classes is not None:
            return self._classes
        g = self._load()
        landed = defaultdict(list)
        for name, (_, term) in self.roots.items():
            landed[self._class_id(term, {})].append(name)
        out = []
        for cid, ns in g["raw"].items():
            nodes = []
            for n in ns:
                total = g["node_total"](cid, n)
                nodes.append(ENode(n[0], n[1], n[2], g["own"][cid, n], total))
            chosen = g["choice"][cid]
            nodes.sort(key=lambda e: (e.total, (e.ctor, e.lits, e.kids) != chosen))
            out.append(
                EClass(
                    cid,
                    g["ty"][cid],
                    nodes,
                    g["best_term"](cid),
                    g["best"][cid][0],
                    sorted(landed.get(cid, [])),
                    weakref.ref(self),
                )
            )
        out.sort(key=lambda c: _id_key(c.id))
        self._classes = out
        return out

    def report(self) -> dict:
        """Sharing and compression, sizes per iteration, limits, rules."""
        memo: dict[Term, str] = {}
        owners: dict[str, set] = defaultdict(set)
        by_root: dict[str, set] = defaultdict(set)
        source_nodes, distinct = 0, set()
        for name, (intent, term) in self.roots.items():
            subs = subterms(term)
            source_nodes += len(subs)
            distinct.update(subs)
            for t in subs:
                cid = self._class_id(t, memo)
                owners[cid].add(intent)
                by_root[cid].add(name)
        by_id = {c.id: c for c in self.classes()}
        shared = [
            {
                "class": cid,
                "intents": sorted(owners[cid]),
                "roots": sorted(by_root[cid]),
                "best": pretty(by_id[cid].best),
                "cost": by_id[cid].cost,
                "leaf": not by_id[cid].best.args,
            }
            for cid in sorted(owners, key=_id_key)
            if len(owners[cid]) > 1
        ]
        last = self.stats[-1]
        classes = self.classes()
        counts = _programs(classes)
        per_intent: dict[str, int] = {}
        for name, (intent, term) in self.roots.items():
            per_intent[intent] = per_intent.get(intent, 1) * counts[self._class_id(term, memo)]
        return {
            "roots": len(self.roots),
            "intents": sorted({i for i, _ in self.roots.values()}),
            "source_nodes": source_nodes,  # each root stored alone, as a DAG
            "source_distinct_nodes": len(distinct),  # all roots hash-consed together
            "eclasses": last.classes,
            "enodes": last.nodes,
            "compression": round(source_nodes / last.classes, 3) if last.classes else None,
            # equal forms held per class: the atlas's real content
            "forms_per_class": round(sum(len(c.nodes) for c in classes) / len(classes), 3) if classes else None,
            "classes_with_alternatives": sum(len(c.nodes) > 1 for c in classes),
            # distinct programs each intent's roots stand for together (no class
            # repeated along a path: a rewrite cycle adds no new program)
            "programs": per_intent,
            "shared_classes": shared,
            "shared_by_structure": _shared_by_structure(self.roots),
            "iterations": [asdict(s) for s in self.stats],
            "limits": asdict(self.limits),
            "stop_reason": self.stop_reason,
            "seconds": round(self.seconds, 4),
            "rules_per_ruleset": dict(self.rules_per_ruleset),
            "reassoc_rules_skipped": self.skipped_reassoc,
            "rule_matches": dict(self.rule_matches),
            "cost_model": self.cost_source,  # what extraction weighed terms by
        }


STRUCTURE_MAX_NODES = 12  # patterns up to this size are compared by structure


def _shared_by_structure(roots: dict) -> list[dict]:
    """The computations several intents share once names are set aside: each
    subterm of up to STRUCTURE_MAX_NODES nodes (two at least), its variables
    and arrays renamed in order of first use, and the intents holding it.
    Only a report: terms over different variables are different values, so
    the e-graph does not merge them."""
    owners: dict[Term, set] = defaultdict(set)
    for intent, term in roots.values():
        for t in subterms(term):
            if t.args and _small(t, STRUCTURE_MAX_NODES):
                owners[_alpha(t)].add(intent)
    found = [(f"{pretty(t)}: {t.ty}", sorted(who)) for t, who in owners.items() if len(who) > 1]
    return [{"pattern": text, "intents": who} for text, who in sorted(found, key=lambda f: (-len(f[1]), f[0]))]


def _small(t: Term, limit: int) -> bool:
    """Whether t has at most `limit` nodes counted as a tree (stops early)."""
    todo, n = [t], 0
    while todo:
        n += 1
        if n > limit:
            return False
        todo.extend(todo.pop().args)
    return True


def _alpha(t: Term) -> Term:
    """t with its variables named v0, v1, .. and its arrays a0, a1, .. in
    order of first use (left to right), so that terms equal up to names
    compare equal."""
    names: dict[tuple[str, str], str] = {}

    def go(u: Term) -> Term:
        args = tuple(go(a) for a in u.args)
        if u.op in ("var", "load"):
            kind = "v" if u.op == "var" else "a"
            key = (kind, u.value)
            if key not in names:
                names[key] = f"{kind}{sum(1 for k in names if k[0] == kind)}"
            return Term(u.op, u.ty, args, names[key])
        return Term(u.op, u.ty, args, u.value) if args else u

    return go(t)


def _programs(classes: list[EClass]) -> dict[str, int]:
    """Per class, how many distinct terms it holds in which no class repeats
    along a path: the nodes through which a class reaches itself (x * 1 in
    x's class) are left out, and what remains is counted bottom-up."""
    kids = {c.id: [n.kids for n in c.nodes] for c in classes}
    comp = _components(kids)
    acyclic = {cid: [ks for ks in nodes if all(comp[k] != comp[cid] for k in ks)] for cid, nodes in kids.items()}
    count: dict[str, int] = {}
    for cid in kids:
        # children first, without recursion (deep terms); each class is
        # expanded once, when it is first reached: a class shared along many
        # paths (`s = s * s + s` chained) would otherwise be walked once per path
        todo: list[tuple[str, bool]] = [(cid, False)]
        while todo:
            c, children_done = todo.pop()
            if c in count:
                continue
            if children_done:
                count[c] = min(PROGRAMS_CAP, sum(_capped_prod(count[k] for k in ks) for ks in acyclic[c]))
                continue
            todo.append((c, True))
            todo.extend((k, False) for ks in acyclic[c] for k in ks if k not in count)
    return count


# Counts stop here: a shared term doubles the count at every use (60 uses of
# `x = x * x + x` stand for 2^(2^60) programs), which no integer should hold.
PROGRAMS_CAP = 10**18


def _capped_prod(values) -> int:
    out = 1
    for v in values:
        out = min(PROGRAMS_CAP, out * v)
    return out


def _components(kids: dict[str, list]) -> dict[str, int]:
    """The strongly connected component of each class (Tarjan's, iterative):
    a node whose child is in its own class's component lies on a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    comp: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    for root in kids:
        if root in index:
            continue
        work = [(root, iter({k for ks in kids[root] for k in ks}))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter({k for ks in kids.get(nxt, ()) for k in ks})))
                elif nxt in on:
                    low[v] = min(low[v], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp[w] = index[v]
                    if w == v:
                        break
    return comp


def _id_key(cid: str):
    sort, _, num = cid.rpartition("-")
    return (sort, int(num)) if num.isdigit() else (cid, 0)
