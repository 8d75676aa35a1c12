"""Selectors evolved by genetic programming, scored on recorded history.

A genome is one gene per unit class, and a gene two expression trees
over the selector's FEATURES and constants, with + - * / min max abs,
unary minus and select(a < b, c, d): a *guard* and a *bid*.  The unit
declines a task whose guard is under 1 and bids the bid for the others
(`select(guard < 1.0, -1.0, bid)`), so where to run a task and which
task first evolve apart, as a list scheduler splits placement from
priority; a guard that is a constant of at least 1 declines nothing,
and the selector is the bid alone (the hand-written one is such).  Every
candidate is printed as intent text and read back by Atlas's front end
(selector.Selector.parse), so what is scored is exactly the term that
will be compiled.  Its fitness is the earnings of a replay: the recorded
run's tasks, on a platform whose run times are fitted to the records
(`fitted`), under the candidate's selectors, on a few seeds.  Tournament
selection, subtree crossover and mutation, the two best kept each
generation; deterministic per seed."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

import numpy as np

from .dispatch import Dispatcher
from .policies import Market
from .selector import FEATURES, HAND_WRITTEN, Selector
from .sim import Cost, Platform, Run, simulate
from ..meaning.terms import Term

BINARY = ("+", "-", "*", "/", "min", "max")
UNARY = ("neg", "abs")
MAX_NODES = 25
REPLAY_SEEDS = (1, 2, 3, 4)  # the simulator's seeds a candidate's replay is run on


@dataclass(frozen=True)
class Tree:
    op: str  # a feature name, "const", one of BINARY or UNARY, or "select"
    kids: tuple["Tree", ...] = ()
    value: float = 0.0

    def size(self) -> int:
        return 1 + sum(k.size() for k in self.kids)

    def text(self) -> str:
        if self.op == "const":
            return _literal(self.value)
        if self.op in FEATURES:
            return self.op
        k = [c.text() for c in self.kids]
        if self.op in ("+", "-", "*", "/"):
            return f"({k[0]} {self.op} {k[1]})"
        if self.op in ("min", "max", "abs"):
            return f"{self.op}({', '.join(k)})"
        if self.op == "neg":
            return f"-({k[0]})"
        return f"select({k[0]} < {k[1]}, {k[2]}, {k[3]})"

    def nodes(self) -> list[tuple[tuple[int, ...], "Tree"]]:
        """Every subtree with its path from the root."""
        out: list[tuple[tuple[int, ...], Tree]] = [((), self)]
        for i, k in enumerate(self.kids):
            out += [((i, *p), t) for p, t in k.nodes()]
        return out

    def put(self, path: tuple[int, ...], sub: "Tree") -> "Tree":
        if not path:
            return sub
        kids = list(self.kids)
        kids[path[0]] = kids[path[0]].put(path[1:], sub)
        return replace(self, kids=tuple(kids))


def _literal(v: float) -> str:
    """An f64 literal of the grammar (digits, a point or an exponent, f64)."""
    text = repr(abs(float(v)))
    if "e" not in text and "." not in text:
        text += ".0"
    return f"-{text}f64" if math.copysign(1.0, v) < 0 else f"{text}f64"


def folded(t: Tree) -> Tree:
    """The tree with every subtree of constants alone replaced by its value
    (so no generation carries `select(725.2 < -1.7, ...)` along)."""
    kids = tuple(folded(k) for k in t.kids)
    t = replace(t, kids=kids)
    if t.op == "select" and kids[0].op == kids[1].op == "const":
        return kids[2] if kids[0].value < kids[1].value else kids[3]
    if not kids or any(k.op != "const" for k in kids):
        return t
    v = [k.value for k in kids]
    with np.errstate(all="ignore"):
        value = {
            "+": lambda: v[0] + v[1],
            "-": lambda: v[0] - v[1],
            "*": lambda: v[0] * v[1],
            "/": lambda: float(np.float64(v[0]) / np.float64(v[1])),
            "min": lambda: v[0] if v[0] < v[1] else v[1],
            "max": lambda: v[0] if v[0] > v[1] else v[1],
            "abs": lambda: abs(v[0]),
            "neg": lambda: -v[0],
            "select": lambda: v[2] if v[0] < v[1] else v[3],
        }[t.op]()
    return Tree("const", value=value) if np.isfinite(value) else t


@dataclass(frozen=True)
class Gene:
    guard: Tree
    bid: Tree

    def tree(self) -> Tree:
        g = self.guard
        if g.op == "const" and g.value >= 1.0:
            return self.bid
        return Tree("select", (g, Tree("const", value=1.0), Tree("const", value=-1.0), self.bid))

    def size(self) -> int:
        return self.guard.size() + self.bid.size()


NO_GUARD = Tree("const", value=1.0)


def gene_of(t: Tree) -> Gene:
    """The gene whose selector is `t`: its guard where it has this module's
    shape, else `t` as the bid of a gene that declines nothing."""
    if t.op == "select" and t.kids[1] == NO_GUARD and t.kids[2] == Tree("const", value=-1.0):
        return Gene(t.kids[0], t.kids[3])
    return Gene(NO_GUARD, t)


def source(trees: dict[str, Tree]) -> dict[str, str]:
    """Each class's selector as intent text."""
    head = HAND_WRITTEN[HAND_WRITTEN.index("fn bid") : HAND_WRITTEN.index("{")]
    return {
        k: f"// evolved selector for the {k} units\n{head}{{\n    return {t.text()};\n}}\n" for k, t in trees.items()
    }


class _Maker:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def leaf(self) -> Tree:
        if self.rng.random() < 0.7:
            return Tree(self.rng.choice(FEATURES))
        return Tree("const", value=round(self.rng.choice([-1, 1]) * 10 ** self.rng.uniform(-2, 3), 3))

    def tree(self, depth: int, full: bool = False) -> Tree:
        """A random tree at most `depth` deep; `full`: no leaf above that depth."""
        r = self.rng.random()
        if depth <= 0 or (not full and r < 0.3):
            return self.leaf()
        r = self.rng.random()
        if r < 0.6:
            return Tree(self.rng.choice(BINARY), (self.tree(depth - 1, full), self.tree(depth - 1, full)))
        if r < 0.75:
            return Tree(self.rng.choice(UNARY), (self.tree(depth - 1, full),))
        return Tree("select", tuple(self.tree(depth - 1, full) for _ in range(4)))

    def ramped(self, i: int) -> Tree:
        """The i-th tree of the first generation: depths 1 to 3 in turn,
        every other one full (ramped half-and-half), so small trees are there
        from the start."""
        return self.tree(1 + i % 3, full=i % 2 == 0)

    def mutate(self, t: Tree) -> Tree:
        path, sub = self.rng.choice(t.nodes())
        r = self.rng.random()
        if sub.op == "const" and r < 0.6:
            return t.put(path, replace(sub, value=round(sub.value * self.rng.uniform(0.5, 2.0), 3)))
        if sub.op in FEATURES and r < 0.5:
            return t.put(path, Tree(self.rng.choice(FEATURES)))
        if sub.op in BINARY and r < 0.4:
            return t.put(path, replace(sub, op=self.rng.choice(BINARY)))
        if sub.kids and r < 0.6:  # hoist: a subtree takes its parent's place
            return t.put(path, self.rng.choice(sub.kids))
        return t.put(path, self.tree(2))

    def cross(self, a: Tree, b: Tree) -> Tree:
        path, _ = self.rng.choice(a.nodes())
        _, sub = self.rng.choice(b.nodes())
        return a.put(path, sub)

    def gene(self, i: int) -> Gene:
        """The i-th gene of the first generation: half decline nothing."""
        guard = NO_GUARD if self.rng.random() < 0.5 else self.ramped(i + 1)
        return Gene(guard, self.ramped(i))

    def child(self, a: Gene, b: Gene) -> Gene:
        """`a` with its guard or its bid crossed with `b`'s or mutated."""
        which = "guard" if self.rng.random() < 0.5 else "bid"
        mine, theirs = getattr(a, which), getattr(b, which)
        made = self.cross(mine, theirs) if self.rng.random() < 0.6 else self.mutate(mine)
        return replace(a, **{which: folded(made)})


HAND_TREE = Tree(
    "/", (Tree("reward"), Tree("+", (Tree("+", (Tree("predicted"), Tree("transfer"))), Tree("const", value=1.0))))
)


def _plus_one(feature: str) -> Tree:
    return Tree("+", (Tree(feature), Tree("const", value=1.0)))


# The yardsticks' rules, split into where a task runs (a guard) and which
# task comes first (a bid), and every pairing of the two is a genome of
# the first generation, beside the hand-written selector (as dispatching
# rules seed genetic programming for job-shop scheduling): evolution
# starts from the classic rules and their combinations, not from noise
# alone.  Placements: anywhere (eager's), or dmda's, declining a task
# another unit would finish sooner (`advantage`, the best other finish
# over this unit's, under 1).  Orders: the oldest first (FIFO), the
# longest path to the end first (HEFT's), and the hand-written bid.  A bid
# must be above zero to take a task, hence the + 1.
PLACEMENTS = {"anywhere": NO_GUARD, "earliest-finish": Tree("advantage")}
ORDERS = {"hand-written": HAND_TREE, "fifo": _plus_one("waited"), "critical-path": _plus_one("critical")}
RULES = {f"{p}, {o}": Gene(guard, bid) for p, guard in PLACEMENTS.items() for o, bid in ORDERS.items()}


def fitted(run: Run) -> Platform:
    """The run's platform with its run times replaced by what the records
    show: per (kind, class), a line through the measured times against
    the task sizes (least squares, not below zero), or their mean where
    all sizes are one.  Kinds never run on a class keep the platform's
    cost there: the replay has nothing better to go on."""
    done = run.ledger.array()
    done = done[done["task"] >= 0]
    costs = dict(run.platform.costs)
    klass = [u.klass for u in run.platform.units]
    seen: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for r in done:
        task = run.graph.tasks[int(r["task"])]
        tt = run.times[task.ident]
        seen.setdefault((task.kind, klass[int(r["unit"])]), []).append((task.size, tt.end - tt.start - tt.transfer))
    for key, pts in seen.items():
        sizes = np.array([p[0] for p in pts], dtype=float)
        secs = np.array([p[1] for p in pts], dtype=float)
        if np.ptp(sizes) > 0:
            slope, icept = np.polyfit(sizes, secs, 1)
            costs[key] = Cost(max(0.0, float(icept)), max(0.0, float(slope)))
        else:
            costs[key] = Cost(float(secs.mean()), 0.0)
    return replace(run.platform, costs=costs)


@dataclass
class Evolved:
    selectors: dict[str, Selector]
    earnings: float  # the best genome's replay earnings
    initial: float  # the hand-written selector's, on the same replay
    history: list[float]  # the best earnings per generation


def evolve(
    run: Run,
    *,
    generations: int = 12,
    population: int = 24,
    seeds: tuple[int, ...] = REPLAY_SEEDS,
    seed: int = 0,
    start: dict[str, Selector] | None = None,
) -> Evolved:
    """Selectors for each class of `run`'s units, evolved on its replay.
    `start`: the selectors the run used (the baseline `initial` is theirs;
    default the hand-written one), in the first generation where they are
    trees of this module's shape."""
    rng = random.Random(seed)
    make = _Maker(rng)
    platform = fitted(run)
    classes = platform.classes()
    cache: dict[tuple[str, ...], float] = {}

    def replay(sels: dict[str, Selector]) -> float:
        return float(
            np.mean([simulate(run.graph, platform, Market(sels), Dispatcher(), seed=s).earnings for s in seeds])
        )

    def score(genome: dict[str, Gene]) -> float:
        texts = source({k: g.tree() for k, g in genome.items()})
        key = tuple(texts[k] for k in classes)
        if key not in cache:
            cache[key] = replay({k: Selector.parse(texts[k], f"<evolved {k} selector>") for k in classes})
        return cache[key]

    hand = {k: Gene(NO_GUARD, HAND_TREE) for k in classes}
    first = [hand]
    if start is not None:
        trees = {k: tree_of(start[k].term) if k in start else HAND_TREE for k in classes}
        if all(t is not None for t in trees.values()):
            first.append({k: gene_of(t) for k, t in trees.items() if t is not None})
    first += [{k: g for k in classes} for g in RULES.values() if g != hand[classes[0]]]
    pop = first + [{k: make.gene(i) for k in classes} for i in range(population - len(first))]
    history = []
    for _ in range(generations):
        ranked = sorted(pop, key=score, reverse=True)
        history.append(score(ranked[0]))
        nxt = ranked[:2]
        while len(nxt) < population:
            a = max(rng.sample(ranked, 3), key=score)
            b = max(rng.sample(ranked, 3), key=score)
            k = rng.choice(classes)
            child = dict(a)
            child[k] = make.child(a[k], b[k])
            if child[k].size() <= MAX_NODES:
                nxt.append(child)
        pop = nxt
    best = max(pop, key=score)
    texts = source({k: g.tree() for k, g in best.items()})
    return Evolved(
        {k: Selector.parse(texts[k], f"<evolved {k} selector>") for k in classes},
        score(best),
        replay(start) if start is not None else score(hand),
        history,
    )


_TERM_OPS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "min": "min", "max": "max", "abs": "abs", "neg": "neg"}


def tree_of(t: Term) -> Tree | None:
    """A selector's term as a genome tree, where it has this module's shape."""
    if t.op == "var" and t.value in FEATURES:
        return Tree(t.value)
    if t.op == "const" and t.ty.is_float:
        return Tree("const", value=float.fromhex(t.value))
    if t.op in _TERM_OPS:
        kids = [tree_of(a) for a in t.args]
        return None if any(k is None for k in kids) else Tree(_TERM_OPS[t.op], tuple(k for k in kids if k is not None))
    if t.op == "select" and t.args[0].op == "lt":
        parts = [tree_of(a) for a in (*t.args[0].args, t.args[1], t.args[2])]
        return None if any(p is None for p in parts) else Tree("select", tuple(p for p in parts if p is not None))
    return None
