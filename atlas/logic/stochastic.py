"""Stochastic superoptimisation of loop-free code, every result proven by Z3.

Rewrite rules reach only what someone wrote a rule for.  This search looks
among *all* short straight-line programs over the primitives for one equal
to a given term (a whole-function root from atlas/logic/flatten.py, or a loop
body's root), and keeps the cheapest that Z3 proves equal.

* **Program space.**  A program is a list of instructions over one integer
  type W (and bools): each an operator of OPCODES applied to earlier
  results, the inputs, or immediates; its value is the last instruction's.
* **Search.**  A Markov chain over programs (Metropolis acceptance): change
  an operator, an operand or a constant; insert, delete or swap an
  instruction.  The cost of a program is its mismatch on the test vectors,
  in bits wrong (every bit of every vector), plus its estimated cost on this
  machine (atlas/superopt/costmodel.py: measured latencies and throughputs), so the
  chain is drawn first toward correct programs and then toward cheap ones.
  Chains start from random programs and from the atlas's best extraction
  when that fits in the program space; on two or more cores two chains run
  side by side.
* **Proof loop.**  A program that matches every test vector goes to Z3.  A
  counterexample joins the test vectors (of that chain) and the chain goes
  on; only proven programs leave the search.

Test vectors are evaluated by the operators' single definitions
(atlas/meaning/semantics.py) over a numpy domain, vectorised across the vectors;
popcount, clz and ctz have exact shortcuts (tests compare them with the
definitions).
"""

from __future__ import annotations

import math
import os
import random
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..meaning import ir
from . import rules as rulebook
from ..meaning.terms import Term, const, evaluate, subterms

MAX_LENGTH = 8  # instructions in a program
TESTS = 64  # random test vectors to start with
PROOF_MS = 20_000
BLOAT = 0.05  # score per instruction, live or dead
BETA = 0.1  # Metropolis: a move that adds d to the score is taken with exp(-BETA d)
RESTART = 4000  # proposals between restarts of a chain that is not at a correct program


# ---------------------------------------------------------------- the numpy domain


class NumpyDomain:
    """semantics' domain over numpy arrays: one element per test vector.
    Bit-vectors up to 64 bits are uint64 arrays; wider ones (the 128-bit
    product inside mulhi of u64) Python ints in object arrays."""

    def _m(self, w):
        return (1 << w) - 1

    def _fix(self, w, v):
        if w > 64:
            return np.asarray(v, dtype=object) & self._m(w)
        return np.asarray(v, dtype=np.uint64) & np.uint64(self._m(w))

    def const(self, w, v):
        return np.asarray(v & self._m(w), dtype=object if w > 64 else np.uint64)

    def add(self, w, a, b):
        return self._fix(w, a + b)

    def sub(self, w, a, b):
        return self._fix(w, a - b)

    def mul(self, w, a, b):
        return self._fix(w, a * b)

    def neg(self, w, a):
        return self._fix(w, self.const(w, 0) - a)

    def and_(self, w, a, b):
        return a & b

    def or_(self, w, a, b):
        return a | b

    def xor(self, w, a, b):
        return a ^ b

    def not_(self, w, a):
        return a ^ self.const(w, -1)

    def udiv(self, w, a, b):
        return a // b

    def urem(self, w, a, b):
        return a % b

    def shl(self, w, a, s):
        return self._fix(w, a << s)

    def lshr(self, w, a, s):
        return a >> s

    def ashr(self, w, a, s):
        if w > 64:
            return self._fix(w, a >> s)
        shifted = self._signed(w, a) >> np.asarray(s, dtype=np.int64)
        return self._fix(w, shifted.astype(np.uint64))

    def _signed(self, w, a):
        sb = np.uint64(1 << (w - 1))
        return (
            (np.asarray(a, dtype=np.uint64) ^ sb).astype(np.int64) - np.int64(1 << (w - 1))
            if w < 64
            else np.asarray(a, dtype=np.uint64).view(np.int64)
        )

    def eq(self, w, a, b):
        return a == b

    def ult(self, w, a, b):
        return a < b

    def slt(self, w, a, b):
        sb = self.const(w, 1 << (w - 1))
        return (a ^ sb) < (b ^ sb)

    def zext(self, w_from, w_to, a):
        return np.asarray(a, dtype=object) if w_to > 64 else a

    def sext(self, w_from, w_to, a):
        sb = 1 << (w_from - 1)
        if w_to > 64:
            v = np.asarray(a, dtype=object)
            return ((v ^ sb) - sb) & self._m(w_to)
        return self._fix(w_to, (a ^ np.uint64(sb)) - np.uint64(sb))

    def trunc(self, w_from, w_to, a):
        return self._fix(w_to, a & self._m(w_to)) if w_from > 64 else self._fix(w_to, a)

    def bit(self, w, a, i):
        return (a >> self.const(w, i)) & self.const(w, 1)

    def bool(self, v):
        return np.asarray(bool(v))

    def band(self, a, b):
        return a & b

    def bor(self, a, b):
        return a | b

    def bnot(self, a):
        return ~np.asarray(a, dtype=bool)

    def ite(self, c, a, b):
        return np.where(c, a, b)


_ND = NumpyDomain()


def fast_popcount(w: int, a):
    return np.bitwise_count(a).astype(np.uint64)


def fast_ctz(w: int, a):
    low = a & _ND.neg(w, a)  # the lowest set bit (0 for 0)
    return fast_popcount(w, _ND.sub(w, low, np.uint64(1)))  # ctz(0): all ones, the width


def fast_clz(w: int, a):
    s = np.asarray(a, dtype=np.uint64)
    k = 1
    while k < w:
        s = s | (s >> np.uint64(k))
        k *= 2
    return np.uint64(w) - fast_popcount(w, s)


_FAST = {"popcount": fast_popcount, "ctz": fast_ctz, "clz": fast_clz}


def run_term(t: Term, env: dict, memo: dict | None = None):
    """`t` on the test vectors: env maps each variable to an array."""
    memo = {} if memo is None else memo
    for u in subterms(t):
        if u in memo:
            continue
        if u.op in _FAST:
            memo[u] = _FAST[u.op](u.ty.bits, memo[u.args[0]])
        elif u.op == "var":
            memo[u] = env[u.value]
        else:
            memo[u] = evaluate(u, _ND, env, None, memo)
    return memo[t]


# ---------------------------------------------------------------- the program space


@dataclass(frozen=True)
class Op:
    name: str
    args: str  # one letter per operand: W (the integer type) or B (bool)
    out: str  # W or B
    build: Callable[[ir.Scalar, list[Term]], Term]  # (W type, operand terms) -> the term
    cost: str  # the cost model's operator


def _t(op):
    return lambda W, a: Term(op, W, tuple(a))


def _cmp(op, flip=False):
    def build(W, a):
        if flip:  # the other signedness: compare as its twin type
            twin = ir.Scalar("uint" if W.signed else "int", W.bits)
            a = [Term("cast", twin, (x,)) for x in a]
        return Term(op, ir.BOOL, tuple(a))

    return build


def _other_shr(W, a):
    twin = ir.Scalar("uint" if W.signed else "int", W.bits)
    return Term("cast", W, (Term("shr", twin, tuple(Term("cast", twin, (x,)) for x in a)),))


OPCODES = {
    o.name: o
    for o in [
        *(
            Op(n, "WW", "W", _t(n), n)
            for n in ("add", "sub", "mul", "and", "or", "xor", "shl", "shr", "rotl", "rotr", "min", "max", "mulhi")
        ),
        *(Op(n, "W", "W", _t(n), n) for n in ("not", "neg", "popcount", "clz", "ctz", "abs", "bswap")),
        Op("shr'", "WW", "W", _other_shr, "shr"),  # the shift of the other signedness
        *(Op(n, "WW", "B", _cmp(n), "eq" if n in ("eq", "ne") else "lt") for n in ("eq", "ne", "lt", "le")),
        *(Op(n + "'", "WW", "B", _cmp(n, True), "lt") for n in ("lt", "le")),
        Op("select", "BWW", "W", lambda W, a: Term("select", W, tuple(a)), "select"),
        Op("as", "B", "W", lambda W, a: Term("cast", W, tuple(a)), "cast"),
        Op("land", "BB", "B", lambda W, a: Term("land", ir.BOOL, tuple(a)), "and"),
        Op("lor", "BB", "B", lambda W, a: Term("lor", ir.BOOL, tuple(a)), "or"),
        Op("bnot", "B", "B", lambda W, a: Term("not", ir.BOOL, tuple(a)), "not"),
        # Division last: the dearest operator, and the one bit tricks need least
        # (P20's); the enumeration builds its tables in this order, and a stage
        # that stops at its count of candidates has the others' first.
        Op("div", "WW", "W", _t("div"), "div"),
    ]
}
FREE = {"cast"}  # same-width casts cost nothing


def opcodes_for(W: ir.Scalar) -> list[Op]:
    ops = list(OPCODES.values())
    if W.bits == 8:
        ops = [o for o in ops if o.name != "bswap"]
    if not W.signed:
        ops = [o for o in ops if o.name != "abs"]
    return ops


@dataclass(frozen=True)
class Instr:
    op: str
    args: tuple  # each ("in", k) | ("r", j) | ("imm", value)


@dataclass(frozen=True)
class Program:
    W: ir.Scalar
    inputs: tuple[tuple[str, ir.Scalar], ...]
    code: tuple[Instr, ...]

    def live(self) -> list[int]:
        """Indices of the instructions the result depends on."""
        if not self.code:
            return []
        need, out = {len(self.code) - 1}, []
        for j in range(len(self.code) - 1, -1, -1):
            if j in need:
                out.append(j)
                need |= {v for tag, v in self.code[j].args if tag == "r"}
        return out[::-1]

    def term(self) -> Term:
        vals: dict[int, Term] = {}

        def operand(ref):
            tag, v = ref
            if tag == "in":
                name, ty = self.inputs[v]
                return Term("var", ty, (), name)
            if tag == "r":
                return vals[v]
            return const(v, ir.BOOL if isinstance(v, bool) else self.W)

        for j in self.live():
            ins = self.code[j]
            vals[j] = OPCODES[ins.op].build(self.W, [operand(a) for a in ins.args])
        return vals[len(self.code) - 1]

    def text(self) -> str:
        return str(self.term())

    @property
    def length(self) -> int:
        return len(self.live())


def term_length(t: Term) -> int:
    """Operations in a term: each distinct non-leaf node once; casts between
    types of one width (no instruction) not counted."""
    return sum(
        1
        for u in subterms(t)
        if u.args and not (u.op == "cast" and (u.args[0].ty.bits == u.ty.bits and not u.args[0].ty.is_bool))
    )


# ---------------------------------------------------------------- the problem


@dataclass(frozen=True)
class Spec:
    name: str  # what is searched (a root or function name)
    term: Term  # its meaning
    inputs: tuple[tuple[str, ir.Scalar], ...]
    W: ir.Scalar
    # the function's precondition: programs need equal it only where it
    # holds, and every test vector meets it
    pre: Term | None = None


def spec_of(name: str, term: Term, pre: Term | None = None) -> tuple[Spec | None, str]:
    """A Spec for `term` (where `pre` holds, if given), or None and why it
    is outside the program space: every input must be a variable of one
    integer type W (or a bool), and the result W or bool; what lies between
    may use other widths, up to 128 bits.  Loads are read as inputs
    (`load_inputs`)."""
    leaves = [u for u in subterms(term) if u.op == "var"]
    if pre is not None:
        leaves += [u for u in subterms(pre) if u.op == "var"]
    if any(u.op == "load" for u in subterms(term)):
        return None, "it reads arrays (read them as inputs first)"
    ints = {u.ty for u in leaves if u.ty.is_int}
    if len(ints) != 1:
        return None, "its inputs are not all of one integer type" if ints else "it has no integer input"
    W = ints.pop()
    if W.bits > 64:
        return None, f"{W} is wider than 64 bits"
    if any(u.ty.is_float for u in subterms(term)):
        return None, "it computes with floats"
    if term.ty not in (W, ir.BOOL):
        return None, f"its result is a {term.ty}, not {W} or bool"
    # Inside, the specification may compute at other widths (P25's high
    # half of a product through a u64): it is only evaluated, on the test
    # vectors and by Z3, never searched; the programs searched are over W.
    if any(u.ty.is_int and u.ty.bits > 128 for u in subterms(term)):
        return None, "it computes wider than 128 bits"
    seen: dict[str, ir.Scalar] = {}
    for u in leaves:
        seen.setdefault(u.value, u.ty)
    return Spec(name, term, tuple(seen.items()), W, pre), ""


def load_inputs(term: Term, names: dict | None = None) -> tuple[Term, dict[Term, Term]]:
    """`term` with each distinct array read replaced by a fresh variable;
    returns the new term and read -> its variable (pass that back in to
    read another term with the same variables)."""
    names = {} if names is None else names

    def go(u: Term) -> Term:
        if u.op == "load":
            if u not in names:
                names[u] = Term("var", u.ty, (), f"in{len(names)}")
            return names[u]
        return Term(u.op, u.ty, tuple(go(a) for a in u.args), u.value) if u.args else u

    return go(term), names


# ---------------------------------------------------------------- search state


@dataclass
class Found:
    program: Program | None  # None: found by enumeration, outside the chain's program space
    term: Term
    length: int
    cost: float  # estimated cost on this machine (costmodel units)


@dataclass
class Result:
    spec: Spec
    found: Found | None  # the cheapest proven program, if any
    start_cost: float | None  # the estimated cost of the starting point (the atlas's extraction)
    seconds: float
    proposals: int
    proofs: int  # Z3 calls
    counterexamples: int
    chains: int
    notes: list[str] = field(default_factory=list)
    # found by enumeration with every smaller table whole: no shorter
    # program over these operators (division aside) and constants is equal
    shortest: bool = False


class Chain:
    """One Markov chain: its own test vectors, RNG and proof cache."""

    def __init__(self, spec: Spec, costs: dict[str, tuple[float, float]], seed: int):
        self.spec, self.costs = spec, costs
        self.rng = random.Random(seed)
        self.W = spec.W
        self.ops = opcodes_for(spec.W)
        self.by_out = {k: [o for o in self.ops if o.out == k] for k in "WB"}
        self.want = "B" if spec.term.ty.is_bool else "W"  # the kind of the result
        rng = np.random.default_rng(seed)
        cols = {}
        for name, ty in spec.inputs:
            if ty.is_bool:
                cols[name] = rng.integers(0, 2, TESTS).astype(bool)
            else:
                v = rng.integers(0, 1 << 63, TESTS, dtype=np.uint64) * np.uint64(2) + rng.integers(
                    0, 2, TESTS, dtype=np.uint64
                )
                special = np.array([0, 1, ty.mask, 1 << (ty.bits - 1), (1 << (ty.bits - 1)) - 1, 2], dtype=np.uint64)
                v[: len(special)] = special[rng.permutation(len(special))]
                # small values and single bits too: most bit tricks turn on them
                v[8:24] = rng.integers(0, 40, 16, dtype=np.uint64)
                v[24:40] = np.uint64(1) << rng.integers(0, ty.bits, 16, dtype=np.uint64)
                cols[name] = v & np.uint64(ty.mask)
        self.env = _meeting(spec, cols, rng)
        self.expected = self.evaluate_spec()
        self.pool = self.constants()
        self.proven: dict[str, bool] = {}
        self.proofs = self.cex = 0
        self.cache: dict[tuple, object] = {}
        self.templates: dict[str, Term] = {}

    def evaluate_spec(self):
        with np.errstate(all="ignore"):
            return np.asarray(run_term(self.spec.term, self.env))

    def constants(self) -> list[int]:
        W = self.W
        pool = {0, 1, 2, 3, 4, 8, 16, W.bits - 1, W.bits, W.mask, 1 << (W.bits - 1), (1 << (W.bits - 1)) - 1}
        for u in subterms(self.spec.term):
            if u.op == "const" and u.ty.is_int:
                pool.add(u.value & W.mask)
        for b in (0x55, 0x33, 0x0F, 0x01):
            pool.add(int.from_bytes(bytes([b]) * (W.bits // 8), "little"))
        return sorted(pool)

    # -- cost
    def mismatch(self, prog: Program) -> float:
        if not prog.code:
            return math.inf
        want = self.want
        if OPCODES[prog.code[-1].op].out != want:
            return float(TESTS * self.W.bits * 4)
        try:
            with np.errstate(all="ignore"):
                got = self.output(prog)
        except (ValueError, OverflowError, TypeError, ZeroDivisionError):
            return math.inf
        got = np.broadcast_to(got, self.expected.shape)
        if want == "B":
            return float(np.count_nonzero(got != self.expected)) * self.W.bits / 2
        return float(np.bitwise_count((got ^ self.expected).astype(np.uint64)).sum())

    def output(self, prog: Program):
        """The program's value on every test vector.  An instruction's value
        depends only on the instructions up to it, so values are kept by
        that prefix: a move re-evaluates from the instruction it changed."""
        vals: dict[int, object] = {}
        for j in prog.live():
            key = prog.code[: j + 1]
            v = self.cache.get(key)
            if v is None:
                ins = prog.code[j]
                env = {f"a{k}": self.operand_value(a, vals) for k, a in enumerate(ins.args)}
                v = np.asarray(run_term(self.template(ins.op), env))
                if len(self.cache) > 50_000:
                    self.cache.clear()
                self.cache[key] = v
            vals[j] = v
        return vals[len(prog.code) - 1]

    def operand_value(self, ref, vals):
        tag, v = ref
        if tag == "in":
            return self.env[self.spec.inputs[v][0]]
        if tag == "r":
            return vals[v]
        return np.asarray(v, dtype=bool) if isinstance(v, bool) else np.asarray(v & self.W.mask, dtype=np.uint64)

    def template(self, name: str) -> Term:
        """The instruction as a term over variables a0, a1, ..."""
        t = self.templates.get(name)
        if t is None:
            op = OPCODES[name]
            t = self.templates[name] = op.build(
                self.W, [Term("var", ir.BOOL if k == "B" else self.W, (), f"a{i}") for i, k in enumerate(op.args)]
            )
        return t

    def estimate(self, prog: Program) -> float:
        return estimate(prog, self.costs)

    def score(self, prog: Program, mis: float) -> float:
        """What the chain minimises: bits wrong, the estimated cost, and a
        little for every instruction, dead ones too (else programs fill up
        with dead code and no insertion is left)."""
        return mis + self.estimate(prog) + BLOAT * len(prog.code)

    # -- moves
    def operand(self, prog_code: list, j: int, kind: str):
        choices = [("in", k) for k in range(len(self.spec.inputs)) if self._kind(prog_code, ("in", k)) == kind]
        choices += [("r", i) for i in range(j) if OPCODES[prog_code[i].op].out == kind]
        r = self.rng.random()
        if kind == "W" and (r < 0.2 or not choices):
            return ("imm", self.rng.choice(self.pool))
        if kind == "B" and not choices:
            return ("imm", self.rng.random() < 0.5)
        # recent results are the likeliest useful operands
        if self.rng.random() < 0.5 and any(c[0] == "r" for c in choices):
            return max((c for c in choices if c[0] == "r"), key=lambda c: c[1])
        return self.rng.choice(choices)

    def random_instr(self, code: list, j: int, out: str | None = None) -> Instr:
        op = self.rng.choice(self.by_out[out] if out else self.ops)
        return Instr(op.name, tuple(self.operand(code, j, k) for k in op.args))

    def random_program(self) -> Program:
        code: list[Instr] = []
        n = self.rng.randint(1, 3)
        for j in range(n):
            code.append(self.random_instr(code, j, self.want if j == n - 1 else None))
        return Program(self.W, self.spec.inputs, tuple(code))

    def propose(self, prog: Program) -> Program | None:
        """A random move from `prog`, or None when the move drawn does not apply."""
        code = list(prog.code)
        n = len(code)
        move = self.rng.random()
        new: list[Instr] | None
        if move < 0.25 and n:
            new = self._new_operator(code)
        elif move < 0.5 and n:
            new = self._new_operand(code)
        elif move < 0.6 and n:
            new = self._new_constant(code)
        elif move < 0.7 and n < MAX_LENGTH:
            new = self._insert(code)
        elif move < 0.8 and n:  # resample one instruction, same kind of result
            j = self.rng.randrange(n)
            code[j] = self.random_instr(code, j, OPCODES[code[j].op].out)
            new = code
        elif move < 0.95 and n > 1:
            new = self._delete(code)
        elif n > 1:
            new = self._swap(code)
        else:
            new = [self.random_instr(code, 0, self.want)]
        if new is None:
            return None
        return Program(self.W, self.spec.inputs, tuple(new))

    # Each move below takes propose's copy of the code (empty only for
    # _insert), may change it in place, and returns the moved code, or None
    # when the move does not apply to it.

    def _new_operator(self, code: list[Instr]) -> list[Instr] | None:
        """Another operator of the same shape for one instruction."""
        j = self.rng.randrange(len(code))
        old = OPCODES[code[j].op]
        same = [o for o in self.ops if o.args == old.args and o.out == old.out and o.name != old.name]
        if not same:
            return None
        code[j] = Instr(self.rng.choice(same).name, code[j].args)
        return code

    def _new_operand(self, code: list[Instr]) -> list[Instr]:
        """Another operand, of the same kind, for one instruction."""
        j = self.rng.randrange(len(code))
        k = self.rng.randrange(len(code[j].args))
        kind = OPCODES[code[j].op].args[k]
        args = list(code[j].args)
        args[k] = self.operand(code, j, kind)
        code[j] = Instr(code[j].op, tuple(args))
        return code

    def _new_constant(self, code: list[Instr]) -> list[Instr] | None:
        """Another value for one immediate: from the pool, one bit flipped, or one off."""
        j = self.rng.randrange(len(code))
        imms = [k for k, a in enumerate(code[j].args) if a[0] == "imm" and not isinstance(a[1], bool)]
        if not imms:
            return None
        k = self.rng.choice(imms)
        v = code[j].args[k][1]
        r = self.rng.random()
        v = (
            self.rng.choice(self.pool)
            if r < 0.4
            else v ^ (1 << self.rng.randrange(self.W.bits))
            if r < 0.7
            else v + self.rng.choice((-1, 1))
        )
        args = list(code[j].args)
        args[k] = ("imm", v & self.W.mask)
        code[j] = Instr(code[j].op, tuple(args))
        return code

    def _insert(self, code: list[Instr]) -> list[Instr] | None:
        """One more instruction (the code may be empty here)."""
        n = len(code)
        if self.rng.random() < 0.5:  # grow: a new last instruction on the old result
            op = self.rng.choice(self.ops)
            want = OPCODES[code[-1].op].out if n else "W"
            if op.args[0] != want:
                return None
            code.append(Instr(op.name, (("r", n - 1),) + tuple(self.operand(code, n, k) for k in op.args[1:])))
            return code
        j = self.rng.randrange(n + 1)
        shifted = [_renumber(ins, lambda i: i + 1 if i >= j else i) for ins in code]
        return shifted[:j] + [self.random_instr(shifted, j)] + shifted[j:]

    def _delete(self, code: list[Instr]) -> list[Instr] | None:
        """One instruction fewer: uses of it read one of its operands."""
        j = self.rng.randrange(len(code))
        gone = code[j]
        subst = next((a for a in gone.args if self._kind(code, a) == OPCODES[gone.op].out), None)
        if subst is None:
            return None
        return code[:j] + [
            _renumber(ins, lambda i: subst if i == j else ("r", i - 1 if i > j else i), whole=True)
            for ins in code[j + 1 :]
        ]

    def _swap(self, code: list[Instr]) -> list[Instr] | None:
        """Swap two neighbours that do not depend on each other."""
        n = len(code)
        j = self.rng.randrange(n - 1)
        a, b = code[j], code[j + 1]
        if ("r", j) in b.args:
            return None
        code[j], code[j + 1] = (_renumber(b, lambda i: i), _renumber(a, lambda i: i))
        return [
            code[i] if i <= j + 1 else _renumber(code[i], lambda i, j=j: j + 1 if i == j else (j if i == j + 1 else i))
            for i in range(n)
        ]

    def _kind(self, code, ref) -> str:
        """W or B: the kind of value an operand names."""
        tag, v = ref
        if tag == "in":
            return "B" if self.spec.inputs[v][1].is_bool else "W"
        if tag == "r":
            return OPCODES[code[v].op].out
        return "B" if isinstance(v, bool) else "W"

    # -- proof
    def prove(self, prog: Program) -> bool:
        """Z3's verdict; a counterexample becomes a test vector."""
        key = prog.text()
        if key in self.proven:
            return self.proven[key]
        self.proofs += 1
        try:
            cex = rulebook.prove(self.spec.term, prog.term(), timeout_ms=PROOF_MS, when=self.spec.pre)
        except rulebook.Undecided:
            self.proven[key] = False
            return False
        if cex is None:
            self.proven[key] = True
            return True
        self.cex += 1
        self.proven[key] = False
        for name, ty in self.spec.inputs:
            v = cex.get(name, 0)
            col = np.asarray([bool(v)] if ty.is_bool else [int(v) & ty.mask], dtype=bool if ty.is_bool else np.uint64)
            self.env[name] = np.concatenate([self.env[name], col])
        self.expected = self.evaluate_spec()
        self.cache.clear()  # every value now has one more element
        return False


def _meeting(spec: Spec, cols: dict, rng) -> dict:
    """The test vectors with each that misses the precondition repaired by
    Z3 (atlas/logic/requires.py): only inputs the function is defined for
    tell programs apart."""
    if spec.pre is None:
        return cols
    types = dict(spec.inputs)
    rows = misses(spec.pre, cols).tolist()
    met = repairs(spec.pre, types, cols, rows, rng)
    if met is None:
        raise ValueError(f"{spec.name}: no input meets its precondition")
    for row, values in zip(rows, met):
        for n, v in values.items():
            cols[n][row] = bool(v) if types[n].is_bool else int(v) & types[n].mask
    return cols


def misses(pre: Term, cols: dict) -> np.ndarray:
    """The indices of the vectors (one element of each column, as bit
    patterns) on which `pre` is false."""
    with np.errstate(all="ignore"):
        ok = np.asarray(run_term(pre, cols), dtype=bool)
    return np.flatnonzero(~np.broadcast_to(ok, (len(next(iter(cols.values()))),)))


def repairs(pre: Term, types: dict, cols: dict, rows, rng) -> list[dict] | None:
    """The vectors `rows` names, each repaired by Z3 to meet `pre`
    (requires.repaired), as natural values; None where nothing meets it."""
    from .requires import repaired
    from ..meaning.terms import natural_value

    out = []
    for row in rows:
        drawn = {
            n: natural_value(const(bool(c[row]) if types[n].is_bool else int(c[row]), types[n]))
            for n, c in cols.items()
        }
        met = repaired(pre, types, drawn, rng)
        if met is None:
            return None
        out.append(met)
    return out


def _renumber(ins: Instr, f, whole: bool = False) -> Instr:
    out = []
    for a in ins.args:
        if a[0] == "r":
            out.append(f(a[1]) if whole else ("r", f(a[1])))
        else:
            out.append(a)
    return Instr(ins.op, tuple(out))


def estimate(prog: Program, costs: dict[str, tuple[float, float]]) -> float:
    """Estimated cost of one evaluation: the larger of the critical path's
    latency and the sum of the reciprocal throughputs (the dependency and
    the resource bound of an out-of-order core)."""
    ready: dict[int, float] = {}
    total = 0.0
    for j in prog.live():
        ins = prog.code[j]
        op = OPCODES[ins.op]
        kind = op.cost
        if kind in ("shl", "shr", "rotl", "rotr") and ins.args[1][0] == "imm":
            # the cost model times shifts by a count known only at run time,
            # guard included; by a constant the guard folds away and the
            # shift is one plain ALU instruction, like `and`
            kind = "and"
        elif kind == "div" and ins.args[1][0] == "imm":
            kind = "mulhi"  # no divide for a constant divisor (costs.node_figures)
        lat, thr = (0.0, 0.0) if kind in FREE else costs.get(kind, (1.0, 1.0))
        start = max((ready[v] for tag, v in ins.args if tag == "r"), default=0.0)
        ready[j] = start + lat
        total += thr
    return max(ready.get(len(prog.code) - 1, 0.0), total) if prog.code else math.inf


def program_of(t: Term, spec: Spec) -> Program | None:
    """A term as a program of the search's space (each distinct node once),
    or None when it uses an operator or type outside it."""
    inputs = {name: k for k, (name, _) in enumerate(spec.inputs)}
    code: list[Instr] = []
    where: dict[Term, tuple] = {}
    plain = {o.name: o for o in OPCODES.values() if "'" not in o.name}
    for u in subterms(t):
        if u.op == "var":
            if u.value not in inputs:
                return None
            where[u] = ("in", inputs[u.value])
            continue
        if u.op == "const":
            where[u] = ("imm", u.value)
            continue
        name = {"cast": "as", "not": "bnot" if u.ty.is_bool else "not"}.get(u.op, u.op)
        if u.op == "cast" and not u.args[0].ty.is_bool:
            return None
        args: tuple[Term, ...]
        if name in ("gt", "ge"):
            name, args = {"gt": "lt", "ge": "le"}[name], (u.args[1], u.args[0])
        else:
            args = u.args
        if name not in plain or (u.ty != spec.W and not u.ty.is_bool):
            return None
        code.append(Instr(name, tuple(where[a] for a in args)))
        where[u] = ("r", len(code) - 1)
    if not code or len(code) > 4 * MAX_LENGTH:
        return None
    return Program(spec.W, spec.inputs, tuple(code))


# ---------------------------------------------------------------- the search


def _chain(
    spec: Spec,
    costs,
    seed: int,
    budget_s: float,
    start: Program | None,
    patience_s: float,
    max_proposals: int | None = None,
) -> tuple[Found | None, int, int, int]:
    ch = Chain(spec, costs, seed)
    rng = ch.rng
    t0 = time.perf_counter()
    best: Found | None = None
    cur = start if start is not None else ch.random_program()
    cur_mis = ch.mismatch(cur)
    cur_cost = ch.score(cur, cur_mis)
    proposals, since = 0, t0
    while True:
        now = time.perf_counter()
        if (
            now - t0 > budget_s
            or (best is not None and now - since > patience_s)
            or (max_proposals is not None and proposals >= max_proposals)
        ):
            break
        proposals += 1
        new = ch.propose(cur)
        if new is None:
            continue
        mis = ch.mismatch(new)
        if mis == math.inf:
            continue
        cost = ch.score(new, mis)
        if cost <= cur_cost or rng.random() < math.exp(-BETA * (cost - cur_cost)):
            cur, cur_mis, cur_cost = new, mis, cost
            if mis == 0 and (best is None or ch.estimate(new) < best.cost - 1e-9):
                if ch.prove(new):
                    term = new.term()
                    best = Found(new, term, new.length, ch.estimate(new))
                    since = time.perf_counter()
                else:
                    cur_mis = ch.mismatch(cur)  # the counterexample counts now
                    cur_cost = ch.score(cur, cur_mis)
        # restart a chain that wandered far off (or never found its way)
        if proposals % RESTART == 0 and cur_mis > 0:
            back = best.program if best is not None and rng.random() < 0.5 else None
            cur = back if back is not None else ch.random_program()
            cur_mis = ch.mismatch(cur)
            cur_cost = ch.score(cur, cur_mis)
    return best, proposals, ch.proofs, ch.cex


def _chain_job(args):
    return _chain(*args)


def search(
    spec: Spec,
    costs: dict[str, tuple[float, float]],
    *,
    budget_s: float = 60.0,
    seed: int = 0,
    start: Term | None = None,
    chains: int | None = None,
    patience_s: float | None = None,
    max_proposals: int | None = None,
) -> Result:
    """The cheapest program found within `budget_s` that Z3 proves equal to
    `spec.term`.  `costs` maps a cost-model operator to (latency, reciprocal
    throughput); `start` (the atlas's best extraction) seeds one chain.  A
    chain stops at the budget, `patience_s` after its last improvement, or
    after `max_proposals` (with one chain: a result that depends on the
    seed alone, not on the machine's speed)."""
    t0 = time.perf_counter()
    chains = chains or max(1, min(2, os.cpu_count() or 1))
    patience_s = budget_s / 4 if patience_s is None else patience_s
    start_prog = program_of(start, spec) if start is not None else None
    notes = []
    if start is not None and start_prog is None:
        notes.append("the atlas's extraction is outside the program space: every chain starts at random")
    start_cost = estimate(start_prog, costs) if start_prog is not None else None
    jobs = [
        (spec, costs, seed * 1000 + k, budget_s, start_prog if k % 2 == 0 else None, patience_s, max_proposals)
        for k in range(chains)
    ]
    if chains == 1:
        outs = [_chain(*jobs[0])]
    else:
        with ProcessPoolExecutor(chains) as pool:
            outs = list(pool.map(_chain_job, jobs))
    founds = [o[0] for o in outs if o[0] is not None]
    best = min(founds, key=lambda f: (f.cost, f.length, str(f.term)), default=None)
    return Result(
        spec,
        best,
        start_cost,
        time.perf_counter() - t0,
        sum(o[1] for o in outs),
        sum(o[2] for o in outs),
        sum(o[3] for o in outs),
        chains,
        notes,
    )


def cost_pairs(table, W: ir.Scalar, overlapped: bool = False) -> dict[str, tuple[float, float]]:
    """A costmodel.CostTable as operator -> (latency, throughput) at type W;
    `overlapped` (a loop's iterations side by side, atlas/logic/costs.py):
    the latencies hidden, so `estimate` is the throughput alone, each
    operation's the lesser of its scalar figure and its time per element in
    vectors where the table has one.  (The chain's score is a guide: the
    estimate that decides takes the lesser of the two sums, not of each
    operation's figures.)"""
    out = {}
    vector = getattr(table, "vector_cost", None) if getattr(table, "vector", None) else None
    for o in OPCODES.values():
        c = table.cost(o.cost, W)
        thr = c.throughput
        if overlapped and vector is not None:
            v = vector(o.cost, W)
            thr = thr if v is None else min(thr, v)
        out[o.cost] = (0.0 if overlapped else c.latency, thr)
    return out
