"""Bottom-up enumeration of short straight-line programs, beside the chain.

The stochastic chain (stochastic.py) finds a program when its score leads
there; a program of four operations whose parts score no better than
nothing is found by luck.  Enumeration finds every short one:

* **Tables by size.**  Every term over the spec's inputs, the constant pool
  and the operators of its type W is built in order of size (operations),
  evaluated at once on every test vector (numpy, an operator applied to all
  pairs of smaller terms in one broadcast).  Two terms with the same values
  on every vector are one behaviour: the first (smallest) is kept, so the
  tables hold distinct behaviours only (observational equivalence).
* **Goal-directed last step.**  A program `a + b`, `a - b`, `b - a` or
  `a ^ b` equal to the spec needs `b` to have the values `t - a`, `a - t`,
  `t + a` or `t ^ a`: one table look-up per kept term `a`, so programs of
  up to twice the tables' size plus one are reached without building them.
  Such a program waits until the tables hold every program one operation
  shorter than it (or can grow no further): a table term may be shorter.
* **A value read several times.**  A program that reads a computed value
  twice is longer as a tree than as the DAG it runs as, and may lie past
  every stage above.  The table terms nearest the target (fewest bits
  apart) are named, with each operation inside them, and a second
  enumeration runs over the inputs and those names (`_let`).
* **Bits moved, lanes tested.**  A function that only copies bits to other
  places (a reversal, a gather) is built from its map of positions
  (bitmoves.py), and one that tests every byte or half of a word against a
  threshold from the test's lane function (lanetests.py).
* **Proof loop.**  A term equal to the spec on every vector goes to Z3,
  cheapest first under the machine's cost model; a counterexample joins the
  vectors and the tables are built again.  Only proven programs come out.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Callable

import numpy as np

from . import bitmoves, lanetests
from . import rules as rulebook
from ..meaning import ir
from ..meaning.terms import Term, const, replace_subterms, subterms
from . import stochastic as so

MAX_ROWS = 150_000  # kept behaviours, all sizes together
MAX_SIZE = 3  # operations per table term
CHUNK = 1 << 22  # elements evaluated in one broadcast
COMMUTATIVE = {"add", "mul", "and", "or", "xor", "min", "max", "eq", "ne", "land", "lor"}
# Kept out of the first tables: each of their terms is one more that every
# later level multiplies, and the row budget then fills before a cheap
# operator's terms are built (p24's `0xffffffff >> clz(x - 1)` was lost so);
# the enumeration over named values (`_let`), smaller, has them.
DEAR = {"div"}
_INVERSES = ("add", "sub", "sub'", "xor")  # last steps solved for their second operand
# A term combined with a transform of itself, q(t, p(t, s)) for a leaf s
# (`_shared`): the shared t is counted once, as in the programs' DAGs.
SHARE_DERIVE = ("shl", "shr", "and", "or", "xor", "add", "sub")
SHARE_COMBINE = ("xor", "or", "and", "add", "sub")
SHARE_ROWS = 1 << 14  # terms t evaluated in one block
SHARE_FOUND = 256  # candidates kept per size: all equal on every vector, the first are as short
FOUND_ALL = 4 * SHARE_FOUND  # candidates of every size a stage keeps, at most
# q(t, p(t, s)) that determines t (for s not 0: each round of t = f(u, p(t, s))
# fixes at least one more bit), so the t it needs can be looked for.
INVERTIBLE = {("xor", "shl"): "xor", ("xor", "shr"): "xor", ("add", "shl"): "sub", ("sub", "shl"): "add"}
GOALS = 1 << 17  # values the streamed level is compared with, at most
LET_VALUES = 2  # table terms tried as a named value a second enumeration may use again (`_let`)
LET_SIZE = 2  # operations per term of that enumeration's tables (one level more is streamed)


@dataclass
class _Entry:
    term: Term
    size: int
    kind: str  # "W" or "B"


@dataclass
class Outcome:
    """What one enumeration did (Result's counterpart for the chain)."""

    found: so.Found | None
    seconds: float
    terms: int  # distinct behaviours built, every round together
    proofs: int
    counterexamples: int
    sizes: int  # the table size reached (every program that small was seen)
    notes: list[str] = field(default_factory=list)
    shortest: bool = False  # every shorter term over the tables' operators (not DEAR) and constants was seen
    evaluated: int = 0  # programs run on every test vector, kept or not, every stage and round together
    shorter: so.Found | None = None  # a proven program shorter than `found` and dearer on this machine


class _Tables:
    """Distinct behaviours on the current test vectors, by size."""

    def __init__(self, spec: so.Spec, env: dict, pool: list[int], target: np.ndarray, dear: bool = False):
        self.spec, self.W, self.env = spec, spec.W, env
        self.T = len(next(iter(env.values())))
        rng = np.random.default_rng(7)
        self.mix = rng.integers(1, 1 << 63, self.T, dtype=np.uint64) | np.uint64(1)
        self.entries: list[_Entry] = []
        self.rows: list[np.ndarray] = []  # per entry, its values as uint64 (bool: 0/1)
        self.seen: dict[tuple[str, int], list[int]] = {}
        self.levels: list[dict[str, list[int]]] = []
        self.ops = [o for o in so.opcodes_for(spec.W) if dear or o.name not in DEAR]
        self.constant: list[bool] = []  # per entry: a constant of the pool
        self.want = "B" if spec.term.ty.is_bool else "W"
        self.target = self._row(target)
        self.target_hash = int(self._hash(self.target))
        self.hits: list[tuple[int, Term]] = []  # table terms equal to the target on every vector
        self.evaluated = 0  # programs run on every vector (the search's rate: atlas bench-bits)
        leaves: dict[str, list[int]] = {"W": [], "B": []}
        for name, ty in spec.inputs:
            self._add(Term("var", ty, (), name), 0, self._row(env[name]), leaves)
        for c in pool:
            self._add(const(c, self.W), 0, np.full(self.T, c & self.W.mask, dtype=np.uint64), leaves)
        self.levels.append(leaves)

    def _row(self, v) -> np.ndarray:
        return np.broadcast_to(np.asarray(v).astype(np.uint64), (self.T,)).copy()

    def _hash(self, rows: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return (rows * self.mix).sum(axis=-1, dtype=np.uint64)

    def find(self, kind: str, row: np.ndarray, h: int) -> int | None:
        for k in self.seen.get((kind, h), ()):
            if np.array_equal(self.rows[k], row):
                return k
        return None

    def _add(self, term: Term, size: int, row: np.ndarray, level: dict, h: int | None = None) -> None:
        kind = "B" if term.ty.is_bool else "W"
        h = int(self._hash(row)) if h is None else h
        if self.find(kind, row, h) is not None:
            return
        self.seen.setdefault((kind, h), []).append(len(self.entries))
        self.entries.append(_Entry(term, size, kind))
        self.rows.append(row)
        self.constant.append(term.op == "const")
        level[kind].append(len(self.entries) - 1)
        if kind == self.want and h == self.target_hash and np.array_equal(row, self.target):
            self.hits.append((size, term))

    def values(self, k: int) -> np.ndarray:
        row = self.rows[k]
        return row.astype(bool) if self.entries[k].kind == "B" else row

    def grow(self, size: int, deadline: float) -> bool:
        """Build the level of `size` operations; False when the time or
        the row budget ran out before it was whole."""
        level: dict[str, list[int]] = {"W": [], "B": []}
        shapes = list(self.shapes(size))
        self.levels.append(level)
        return all(self._apply(op, groups, size, level, deadline) for op, groups in shapes)

    def _apply(self, op: so.Op, groups: list[list[int]], size: int, level: dict, deadline: float) -> bool:
        kind = "B" if op.out == "B" else "W"
        for kids, out, hashes, skip in self.combine(op, groups):
            if time.monotonic() > deadline or len(self.entries) > MAX_ROWS:
                return False
            for flat, h in enumerate(hashes.tolist()):
                if skip[flat] or self.find(kind, out[flat], h) is not None:
                    continue
                term = op.build(self.W, [self.entries[k].term for k in kids(flat)])
                self._add(term, size, out[flat].copy(), level, h)
        return True

    def combine(self, op: so.Op, groups: list[list[int]]):
        """`op` over every combination of one term of each group, in blocks:
        (the entries of one combination by its flat index, the values,
        their hashes, which combinations are of constants alone)."""
        holes = [Term("var", ir.BOOL if k == "B" else self.W, (), f"#{j}") for j, k in enumerate(op.args)]
        top = op.build(self.W, holes)
        first, rest = groups[0], groups[1:]
        per = max(1, CHUNK // (self.T * max(1, math.prod(len(g) for g in rest))))
        for at in range(0, len(first), per):
            block = first[at : at + per]
            shape = [len(block)] + [len(g) for g in rest]
            env = {}
            for j, g in enumerate([block, *rest]):
                vals = np.stack([self.values(k) for k in g])
                env[f"#{j}"] = vals.reshape([len(g) if i == j else 1 for i in range(len(shape))] + [self.T])
            with np.errstate(all="ignore"):
                out = np.asarray(so.run_term(top, env))
            out = np.broadcast_to(out, shape + [self.T]).reshape(-1, self.T).astype(np.uint64)
            self.evaluated += out.shape[0]
            # an operation on constants alone is a constant: folded, never searched
            folded = np.ones(shape, dtype=bool)
            for j, g in enumerate([block, *rest]):
                flags = np.array([self.constant[k] for k in g])
                folded &= flags.reshape([len(g) if i == j else 1 for i in range(len(shape))])

            def kids(flat: int, block=block, shape=shape) -> list[int]:
                picks = np.unravel_index(flat, shape)
                return [block[picks[0]]] + [g[p] for g, p in zip(rest, picks[1:])]

            yield kids, out, self._hash(out), folded.reshape(-1).tolist()

    def shapes(self, size: int):
        """(op, groups) whose combinations are the terms of `size` operations
        over the levels built (each combination once up to commutation)."""
        for op in self.ops:
            for split in _splits(size - 1, len(op.args)):
                if op.name in COMMUTATIVE and split != tuple(sorted(split)):
                    continue  # the other order is the same behaviour
                if max(split, default=0) >= len(self.levels):
                    continue
                groups = [self.levels[s][kind] for s, kind in zip(split, op.args)]
                if all(groups):
                    yield op, groups


def _derived(constants: set[int], bits: int) -> set[int]:
    """The field widths k that masks 2^k - 1 and powers 2^k among the
    spec's constants name, and the distances bits - k: a field of k bits
    is moved to the top and back down by those shifts (a sign extension
    is the pair of them)."""
    out = set()
    for c in constants:
        mask = (c + 1).bit_length() - 1 if c & (c + 1) == 0 else None
        power = c.bit_length() - 1 if c & (c - 1) == 0 else None
        out |= {d for k in (mask, power) if k is not None and 1 < k < bits - 1 for d in (k, bits - k)}
    return out


def _lanes(constants: set[int], bits: int) -> set[int]:
    """A loop over the lanes of a word (a byte at a time), unrolled, shifts
    by every multiple of the lane's width.  A field it keeps in each lane
    (a mask 2^k - 1 narrower than the lane, or what a shift by d < the
    lane's width leaves of it) is one mask over the whole word, low in each
    lane or at its top, and k the distance between the two (SWAR: every
    byte's low nibble at once is `(x & 0x0f0f0f0f) << 4`).  Two multiples
    at least, so a single 16 is not read as a lane, and few distances below
    the lane's width: a loop over every bit shifts by all of them, and is
    not a loop over lanes."""
    out: set[int] = set()
    for lane in (8, 16):
        if bits // lane < 3 or not all(lane * j in constants for j in range(1, bits // lane)):
            continue
        if len({d for d in constants if 0 < d < lane}) > 2:
            continue
        widths = {(c + 1).bit_length() - 1 for c in constants if 0 < c < (1 << lane) - 1 and c & (c + 1) == 0}
        widths |= {lane - d for d in constants if 0 < d < lane}
        for k in widths:
            low = (1 << k) - 1
            for mask in (low, low << (lane - k)):
                out.add(sum(mask << (lane * j) for j in range(bits // lane)))
            out |= {k, lane - k}
    return out


def _pool(spec: so.Spec, extra: tuple[int, ...] = ()) -> list[int]:
    """The constants a table term may use: the spec's own and the few that
    bit tricks are made of (each one more multiplies every level)."""
    W = spec.W
    pool = {0, 1, 2, W.bits - 1, W.mask, 1 << (W.bits - 1)} | {c & W.mask for c in extra}
    own = {u.value & W.mask for u in subterms(spec.term) if u.op == "const" and u.ty.is_int} - pool
    if len(own) <= 3:  # more are an unrolled loop's counters, not the trick's constants
        pool |= own | _derived(own, W.bits)
    else:
        pool |= _lanes(own, W.bits)
    if spec.pre is not None:  # a precondition names the distances and masks the problem is about
        said = {u.value & W.mask for u in subterms(spec.pre) if u.op == "const" and u.ty == W} - pool
        if len(said) <= 3:
            pool |= said
    return sorted(pool)


def _splits(total: int, parts: int):
    """Ways to give `parts` operands sizes summing to `total`."""
    for cut in itertools.product(range(total + 1), repeat=parts):
        if sum(cut) == total:
            yield cut


def _inverse(op: str, target: np.ndarray, a: np.ndarray, mask: np.uint64) -> np.ndarray:
    """The values b needs for `a op b` (or `b - a` for sub') to equal target."""
    with np.errstate(over="ignore"):
        if op == "add":
            return (target - a) & mask
        if op == "sub":
            return (a - target) & mask
        if op == "sub'":
            return (target + a) & mask
        return target ^ a


def term_cost(t: Term, costs: dict[str, tuple[float, float]]) -> float:
    """The stochastic estimate on a term: the larger of its critical path's
    latency and the sum of its operations' reciprocal throughputs."""
    ready: dict[Term, float] = {}
    total = 0.0
    for u in subterms(t):
        if not u.args:
            ready[u] = 0.0
            continue
        kind = _COST.get(u.op, u.op)
        if kind in ("shl", "shr", "rotl", "rotr") and u.args[1].op == "const":
            kind = "and"  # by a constant: one plain instruction
        lat, thr = (0.0, 0.0) if u.op == "cast" else costs.get(kind, (1.0, 1.0))
        ready[u] = max(ready[a] for a in u.args) + lat
        total += thr
    return max(ready[t], total)


_COST = {"ne": "eq", "le": "lt", "gt": "lt", "ge": "lt", "land": "and", "lor": "or"}


def search(
    spec: so.Spec,
    costs: dict[str, tuple[float, float]],
    *,
    budget_s: float = 20.0,
    seed: int = 0,
    max_size: int = MAX_SIZE,
    weigh: Callable[[Term], float] | None = None,
    below: float | None = None,
    prove: Callable[[Term], dict | None] | None = None,
    deep: bool = True,
    constants: tuple[int, ...] = (),
) -> Outcome:
    """The cheapest proven program among the shortest the tables reach
    within `budget_s`: terms of up to `max_size` operations, and one more
    operation over two of them.  `weigh` prices a candidate (default: its
    estimate on `costs`); with `below`, only candidates priced under it are
    proven, and the enumeration goes on to longer programs past equal ones
    that are no cheaper (the superoptimiser wants what beats the atlas's
    form, not merely the shortest).  `prove` decides a candidate: None where
    it is equal to the spec, else a counterexample (input -> value); it may
    raise rulebook.Undecided (default: Z3 on the spec's term and the
    candidate; atlas/logic/whiles.py proves by induction instead).  Without
    `deep`, only the tables and their last steps are searched (no term used
    twice, no streamed level): bounded by size alone, the search then ends
    the same on any machine, well within its budget.  `constants` join
    the pool the table terms may use."""
    price = weigh or (lambda t: term_cost(t, costs))
    decide = prove or (lambda t: rulebook.prove(spec.term, t, timeout_ms=so.PROOF_MS, when=spec.pre))
    t0 = time.monotonic()
    deadline = t0 + budget_s
    chain = so.Chain(spec, costs, seed)  # its test vectors and constant pool
    built = proofs = cex = evaluated = 0
    reached = 0
    tried: set[Term] = set()
    dear: list[tuple[int, Term]] = []  # equal-looking candidates left unproven for their price

    def affordable(candidates: list) -> list:
        if below is None:
            return candidates
        cheap: list[tuple[int, Term]] = []
        for c in candidates:  # each priced once
            (cheap if price(c[1]) < below - 1e-9 else dear).append(c)
        return cheap

    pool = _pool(spec, constants)
    while time.monotonic() < deadline:
        tables = _Tables(spec, chain.env, pool, chain.expected)
        found = None
        length = 0  # the found program's operations, as a tree
        # A last step over two table terms makes a program longer than the
        # tables, and a table term not yet built may be shorter: it waits
        # until the tables have every program one operation shorter than it
        # (or can grow no further), so the shortest comes out, not the first.
        waiting: list[tuple[int, Term]] = []
        for size in range(0, max_size + 1):
            whole = not size or tables.grow(size, deadline)
            waiting += affordable(_candidates(tables, size))
            longest = math.inf if not whole or size == max_size else size + 1
            ready = [c for c in waiting if c[0] <= longest]
            waiting = [c for c in waiting if c[0] > longest]
            found, length = _first_proven(ready, tried, spec, price, chain, decide)
            if found is not None or chain.cex > cex or not whole:
                break
            reached = size
        in_tables = found is not None  # found in the tables' rounds, not by a later stage
        # Then, every tree tried: the terms that use one of them twice, the
        # first level the tables could not hold streamed against goals, and
        # the twice-used terms of that level as far as it was built.
        # built, not searched: bits moved, and a test of every lane
        later = [partial(f, spec, chain.env, chain.expected) for f in (bitmoves.candidates, lanetests.candidates)]
        later += [partial(_shared, tables, k, deadline) for k in range(1, reached + 1)]
        later.append(partial(_streamed, tables, reached + 1, deadline))
        later.append(partial(_let, tables, pool, deadline))
        if reached + 1 < len(tables.levels):
            later.append(partial(_shared, tables, reached + 1, deadline))
        shorter = None
        for stage in later if deep and found is None and chain.cex == cex else ():
            # a counterexample met here strikes out candidates, not the stages after it
            fresh = [c for c in affordable(stage()) if _still_equal(c[1], chain, tables.T)]
            found, length, shorter = _cheapest_proven(fresh, tried, spec, price, chain, decide, tables.T)
            if found is not None:
                break
        built += len(tables.entries)
        evaluated += tables.evaluated
        proofs, changed = chain.proofs, chain.cex > cex
        cex = chain.cex
        if found is not None:
            # found in the tables' rounds with every table of fewer operations whole (the
            # tables through `size` are whole unless that size ran out of time): nothing
            # shorter exists among them
            through = size if whole else size - 1
            shortest = in_tables and not dear and through >= length - 1
            if shorter is None:  # a program passed over for its price may be shorter: said, not emitted
                shorter = _shortest_proven(dear, found.length, tried, spec, price, chain, decide)
            note = (
                f"no program of fewer than {length} operations over these operators (division aside) "
                "and constants is equal"
                if shortest and length > 0
                else ""
            )
            notes = [note] if note else []
            return Outcome(
                found, time.monotonic() - t0, built, proofs, cex, reached, notes, shortest, evaluated, shorter
            )
        if not changed:
            break  # the tables are exhausted (or out of time) with no counterexample to learn from
    return Outcome(
        None,
        time.monotonic() - t0,
        built,
        proofs,
        cex,
        reached,
        [f"no program of up to {2 * reached + 1} operations of this form is equal on every test vector"],
        evaluated=evaluated,
        # nothing priced under `below`: the shortest passed over for its price, proven, is still said
        shorter=_shortest_proven(dear, math.inf, tried, spec, price, chain, decide),
    )


def _shared(tables: _Tables, size: int, deadline: float) -> list[tuple[int, Term]]:
    """(size, term) equal to the target on every vector, of the form
    q(t, p(t, s)) with t a table term of `size` operations, s a leaf and p,
    q binary operations, as a whole or before a last `+ - ^` over another
    table term: t appears twice and is built once, which no table term
    (a tree) reaches within its size.  `x ^ (x >> 1)` over a derived term,
    `t ^ (t << k)` in a field exchange."""
    mine = tables.levels[size]["W"] if size < len(tables.levels) else []
    if tables.want != "W" or not size or not mine:
        return []
    W, mask = tables.W, np.uint64(tables.W.mask)
    by = {o.name: o for o in tables.ops if o.args == "WW" and o.out == "W"}
    derive = [by[n] for n in SHARE_DERIVE if n in by]
    combine = [by[n] for n in SHARE_COMBINE if n in by]
    leaves = tables.levels[0]["W"]
    known = np.array(sorted({h for kind, h in tables.seen if kind == "W"}), dtype=np.uint64)
    out: list[tuple[int, Term]] = []
    for at in range(0, len(mine), SHARE_ROWS):
        block = mine[at : at + SHARE_ROWS]
        ts = np.stack([tables.values(k) for k in block])
        for p in derive:
            for s in leaves:
                if time.monotonic() > deadline:
                    return out
                made = _run2(p, W, ts, tables.values(s)[None, :])
                for q in combine:
                    if len(out) >= SHARE_FOUND or time.monotonic() > deadline:
                        return out
                    v = _run2(q, W, ts, made)
                    tables.evaluated += v.shape[0]
                    for row in np.flatnonzero(tables._hash(v) == np.uint64(tables.target_hash)).tolist():
                        if np.array_equal(v[row], tables.target):
                            out.append((size + 2, _share_term(tables, q, p, block[row], s)))
                    for inv in _INVERSES:
                        need = _inverse(inv, tables.target[None, :], v, mask)
                        hashes = tables._hash(need)
                        at_known = np.minimum(np.searchsorted(known, hashes), len(known) - 1)
                        for row in np.flatnonzero(known[at_known] == hashes).tolist():
                            b = tables.find("W", need[row], int(hashes[row]))
                            if b is None:
                                continue
                            whole = _share_term(tables, q, p, block[row], s)
                            other = tables.entries[b].term
                            name, args = (inv, (whole, other)) if inv != "sub'" else ("sub", (other, whole))
                            out.append((size + 3 + tables.entries[b].size, Term(name, W, args)))
                            if len(out) >= SHARE_FOUND:
                                return out
    return out


def _let(tables: _Tables, pool: list[int], deadline: float) -> list[tuple[int, Term]]:
    """Programs that use a value several times, where the value is a table
    term: for the LET_VALUES table terms nearest the target (fewest bits
    apart on the vectors: a program that ends `t ^ small`, `t + small`),
    a second enumeration whose leaves are the inputs, t and each operation
    inside t, named; its tables, its last steps and its next level streamed
    against its goals.  Each candidate is written back with the named
    values in place and counted as a DAG, so t's operations count once
    however often the program reads them.  P20's `r | (((x ^ r) >> 2) >> s)`
    with r = x + (x & -x) reads r twice and x & -x within it."""
    if tables.want != "W":
        return []
    near = [k for level in tables.levels[1:] for k in level["W"]]
    if not near:
        return []
    apart = _bits_apart(np.stack([tables.rows[k] for k in near]), tables.target)
    out: list[tuple[int, Term]] = []
    for j in np.argsort(apart, kind="stable")[:LET_VALUES].tolist():
        if time.monotonic() > deadline:
            break
        shared = tables.entries[near[j]].term
        named = {f"%{i}": u for i, u in enumerate(dict.fromkeys(u for u in subterms(shared) if u.args))}
        more = dict(tables.env)
        for name, u in named.items():
            more[name] = np.broadcast_to(np.asarray(so.run_term(u, tables.env)).astype(np.uint64), (tables.T,))
        spec = tables.spec
        inner = _Tables(
            so.Spec(spec.name, spec.term, spec.inputs + tuple((n, tables.W) for n in named), tables.W, spec.pre),
            more,
            pool,
            tables.target,
            dear=True,
        )
        found: list[tuple[int, Term]] = []  # each size's hits come with its _candidates
        for size in range(1, LET_SIZE + 1):
            if not inner.grow(size, deadline):
                break
        for size in range(len(inner.levels)):
            found += _candidates(inner, size)
        if not found and len(inner.levels) == LET_SIZE + 1:
            found += _streamed(inner, LET_SIZE + 1, deadline)
        back = {Term("var", tables.W, (), n): u for n, u in named.items()}
        for _, term in found:
            whole = replace_subterms(term, back)
            out.append((so.term_length(whole), whole))
    return out


def _full(out: list[tuple[int, Term]]) -> bool:
    """Whether a stage has candidates enough: SHARE_FOUND of the shortest
    size it has met, or FOUND_ALL.  A goal that wraps the streamed term in
    fewer operations is met later than the first goals, at times after
    hundreds of longer matches (P20's division after its rotates)."""
    shortest = min(size for size, _ in out)
    return sum(size == shortest for size, _ in out) >= SHARE_FOUND or len(out) >= FOUND_ALL


def _bits_apart(rows: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per row, how many bits it differs from the target in, every vector together."""
    diff = rows ^ target[None, :]
    bytes_ = diff.view(np.uint8).reshape(diff.shape[0], -1)
    return np.unpackbits(bytes_, axis=1).sum(axis=1)


def _streamed(tables: _Tables, size: int, deadline: float) -> list[tuple[int, Term]]:
    """Meet in the middle: the terms of `size` operations (the first level
    the tables could not hold whole: over three inputs a third operation
    makes millions) made block by block from the whole levels below, kept
    nowhere, each compared with a set of goals (`_Goals`).  A match is a
    candidate: the goal's program around the streamed term."""
    goals = _Goals(tables, deadline)
    kind = "B" if tables.want == "B" else "W"
    out: list[tuple[int, Term]] = []
    for op, groups in tables.shapes(size):
        if op.out != kind:
            continue
        for kids, values, hashes, skip in tables.combine(op, groups):
            if time.monotonic() > deadline:
                return out
            at = np.minimum(np.searchsorted(goals.hashes, hashes), len(goals.hashes) - 1)
            for flat in np.flatnonzero(goals.hashes[at] == hashes).tolist():
                if skip[flat]:
                    continue
                for g in goals.by_hash[int(hashes[flat])]:
                    if np.array_equal(values[flat], goals.rows[g]):
                        term = op.build(tables.W, [tables.entries[k].term for k in kids(flat)])
                        out.append((size + goals.extra[g], goals.wrap[g](term)))
                        if _full(out):
                            return out
    return out


class _Goals:
    """What a term must equal on every vector to complete a program: the
    target; the b that `a + b`, `a - b`, `b - a` or `a ^ b` needs to equal
    it, for table terms a (shortest first, up to GOALS); and, for the
    target and those of a with at most one operation, the t that an
    invertible q(t, p(t, s)) needs (INVERTIBLE, s a leaf), as `t ^ (t << k)`
    in a field exchange.  Each goal keeps its program around the term it
    waits for (`wrap`) and that program's own operations (`extra`)."""

    def __init__(self, tables: _Tables, deadline: float):
        W, mask = tables.W, np.uint64(tables.W.mask)
        rows: list[np.ndarray] = [tables.target[None, :]]
        self.extra: list[int] = [0]
        self.wrap: list[Callable[[Term], Term]] = [lambda t: t]
        if tables.want == "W":
            firm = [k for level in tables.levels for k in level["W"]][: GOALS // (2 * len(_INVERSES))]
            a = np.stack([tables.rows[k] for k in firm]) if firm else np.zeros((0, tables.T), np.uint64)
            for inv in _INVERSES:
                rows.append(_inverse(inv, tables.target[None, :], a, mask))
                for k in firm:
                    self.extra.append(1 + tables.entries[k].size)
                    self.wrap.append(_around(inv, tables.entries[k].term, W))
            near = [0] + [
                1 + j + n * len(firm)
                for n in range(len(_INVERSES))
                for j, k in enumerate(firm)
                if tables.entries[k].size <= 1
            ]
            base = np.concatenate(rows)
            near_extra, near_wrap = [self.extra[j] for j in near], [self.wrap[j] for j in near]
            self._invert_shares(tables, base[near], near_extra, near_wrap, rows, deadline)
        self.rows = np.concatenate(rows)
        hashes = tables._hash(self.rows)
        self.by_hash: dict[int, list[int]] = {}
        for g, h in enumerate(hashes.tolist()):
            self.by_hash.setdefault(h, []).append(g)
        self.hashes = np.unique(hashes)

    def _invert_shares(
        self, tables: _Tables, u: np.ndarray, extra: list[int], wrap: list, rows: list, deadline: float
    ) -> None:
        """Goals for the t of q(t, p(t, s)) = u, for each row of u (its own
        program's `extra` operations and `wrap`), where one exists."""
        W = tables.W
        by = {o.name: o for o in tables.ops}
        for (q, p), undo in INVERTIBLE.items():
            if q not in by or p not in by:
                continue
            for s in tables.levels[0]["W"]:
                if time.monotonic() > deadline:
                    return
                sv = tables.values(s)[None, :]
                t = _solve_share(by[q], by[p], by[undo], W, u, sv)
                ok = np.flatnonzero((_run2(by[q], W, t, _run2(by[p], W, t, sv)) == u).all(axis=1))
                s_term = tables.entries[s].term
                rows.append(t[ok])
                for j in ok.tolist():
                    self.extra.append(extra[j] + 2)
                    self.wrap.append(_shared_around(wrap[j], by[q], by[p], s_term, W))


def _solve_share(q: so.Op, p: so.Op, undo: so.Op, W: ir.Scalar, u: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The t with q(t, p(t, s)) = u, by the fixed point t = undo(u, p(t, s)):
    where p shifts by s > 0 each round fixes s more bits, so W rounds reach
    it; elsewhere (s = 0, or past the width) the result is checked by the caller."""
    t = u.copy()
    for _ in range(W.bits):
        t = _run2(undo, W, u, _run2(p, W, t, s))
    return t


def _around(inv: str, a: Term, W: ir.Scalar) -> Callable[[Term], Term]:
    """The program `a inv b` (b - a for sub') around the b still to be found."""
    if inv == "sub'":
        return lambda b: Term("sub", W, (b, a))
    return lambda b: Term(inv, W, (a, b))


def _shared_around(outer: Callable[[Term], Term], q: so.Op, p: so.Op, s: Term, W: ir.Scalar) -> Callable[[Term], Term]:
    """`outer` around q(t, p(t, s)) for the t still to be found."""
    return lambda t: outer(q.build(W, [t, p.build(W, [t, s])]))


def _run2(op: so.Op, W: ir.Scalar, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A binary operation over rows of values at once (b broadcast)."""
    holes = [Term("var", W, (), "#0"), Term("var", W, (), "#1")]
    with np.errstate(all="ignore"):
        res = np.asarray(so.run_term(op.build(W, holes), {"#0": a, "#1": b}))
    return np.broadcast_to(res, np.broadcast_shapes(a.shape, b.shape)).astype(np.uint64)


def _share_term(tables: _Tables, q: so.Op, p: so.Op, t: int, s: int) -> Term:
    shared = tables.entries[t].term
    return q.build(tables.W, [shared, p.build(tables.W, [shared, tables.entries[s].term])])


def _candidates(tables: _Tables, size: int) -> list[tuple[int, Term]]:
    """(size, term) equal to the target on every vector: a table term of
    this size, or a last step over two table terms with one of them this size."""
    out = [(s, t) for s, t in tables.hits if s == size]
    target = tables.target
    if size >= len(tables.levels):
        return out
    if tables.want == "B":
        return out + _tested(tables, size)
    W = tables.W
    mask = np.uint64(W.mask)
    mine = tables.levels[size]["W"]
    if not mine:
        return out
    a = np.stack([tables.rows[k] for k in mine])
    for op in _INVERSES:
        need = _inverse(op, target[None, :], a, mask)
        for row, k, hb in zip(need, mine, tables._hash(need).tolist()):
            b = tables.find("W", row, hb)
            if b is None:
                continue
            ta, tb = tables.entries[k].term, tables.entries[b].term
            name, args = (op, (ta, tb)) if op != "sub'" else ("sub", (tb, ta))
            out.append((1 + size + tables.entries[b].size, Term(name, W, args)))
    return out


def _tested(tables: _Tables, size: int) -> list[tuple[int, Term]]:
    """A bool target as `a == 0` or `a != 0` of a table term a of this size."""
    mine = tables.levels[size]["W"]
    if not mine:
        return []
    a = np.stack([tables.rows[k] for k in mine])
    zero = (a == 0).astype(np.uint64)
    out = []
    for op, rows in (("eq", zero), ("ne", np.uint64(1) - zero)):
        for k in np.flatnonzero((rows == tables.target).all(axis=1)).tolist():
            out.append((size + 1, Term(op, ir.BOOL, (tables.entries[mine[k]].term, const(0, tables.W)))))
    return out


def _first_proven(
    found: list,
    tried: set,
    spec: so.Spec,
    price: Callable[[Term], float],
    chain,
    decide: Callable[[Term], dict | None],
    since: int | None = None,
    cheap_first: bool = False,
) -> tuple[so.Found | None, int]:
    """The shortest, then cheapest, candidate Z3 proves equal to the spec,
    with its size.  A counterexample joins the chain's test vectors and ends
    the round, or, given `since` (the vectors the tables were built on),
    strikes out the candidates it or another vector past `since` refutes,
    and the next is tried.  The tables' rounds end there: their behaviours are
    distinct on the old vectors only, so a refuted term may stand for a
    shorter equal one, and the claim that nothing shorter exists needs the
    tables rebuilt.  The later stages claim nothing and go on, which saves
    rebuilding everything (their stages take the most time) when one of
    their hundreds of candidates is wrong."""
    order = (lambda c: (price(c[1]), c[0], str(c[1]))) if cheap_first else (lambda c: (c[0], price(c[1]), str(c[1])))
    queue = sorted(found, key=order)
    while queue:
        size, term = queue.pop(0)
        if term in tried:
            continue
        tried.add(term)
        chain.proofs += 1
        try:
            counter = decide(term)
        except rulebook.Undecided:
            continue
        if counter is None:
            return so.Found(so.program_of(term, spec), term, so.term_length(term), price(term)), size
        _learn(chain, spec, counter)
        if since is None:
            break
        queue = [c for c in queue if c[1] not in tried and _still_equal(c[1], chain, since)]
    return None, 0


def _cheapest_proven(
    found: list, tried: set, spec: so.Spec, price: Callable[[Term], float], chain, decide, since: int
) -> tuple[so.Found | None, int, so.Found | None]:
    """A later stage's outcome: the cheapest candidate proven, with its size,
    and the shortest proven where a shorter candidate than it waits.  The
    stages past the tables claim no minimality, and what is emitted is what
    runs fastest here (P20's `/`, one operation fewer than its rotate and
    count, takes tens of cycles and no vector form); the shorter program is
    proven too, so what the search reached is said."""
    best, size = _first_proven(found, tried, spec, price, chain, decide, since, cheap_first=True)
    if best is None:
        return None, 0, None
    fewer = [c for c in found if c[0] < size and c[1] not in tried and _still_equal(c[1], chain, since)]
    short, _ = _first_proven(fewer, tried, spec, price, chain, decide, since)
    return best, size, short


def _shortest_proven(
    dear: list, length: float, tried: set, spec: so.Spec, price: Callable[[Term], float], chain, decide
) -> so.Found | None:
    """The shortest of the candidates passed over for their price that are
    shorter than `length` operations, proven (checked on the vectors of
    every round first: some were met before a counterexample)."""
    fewer = [c for c in dear if so.term_length(c[1]) < length and _still_equal(c[1], chain, 0)]
    short, _ = _first_proven(fewer, tried, spec, price, chain, decide, len(chain.expected))
    return short


def _still_equal(term: Term, chain, since: int) -> bool:
    """Whether `term` gives the spec's values on the test vectors from
    `since` on (the counterexamples learned after the tables were built)."""
    want = chain.expected[since:]
    if not len(want):
        return True
    env = {name: col[since:] for name, col in chain.env.items()}
    with np.errstate(all="ignore"):
        got = np.broadcast_to(np.asarray(so.run_term(term, env)), want.shape)
    return bool(np.array_equal(got.astype(want.dtype), want))


def _learn(chain, spec: so.Spec, counter: dict) -> None:
    """A counterexample becomes one more test vector."""
    chain.cex += 1
    for name, ty in spec.inputs:
        v = counter.get(name, 0)
        col = np.asarray([bool(v)] if ty.is_bool else [int(v) & ty.mask], dtype=bool if ty.is_bool else np.uint64)
        chain.env[name] = np.concatenate([chain.env[name], col])
    chain.expected = chain.evaluate_spec()
