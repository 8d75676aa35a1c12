"""Loop-level rewrites, each proven by induction with Z3.

`end_around_carry`: the Internet-checksum loop

    for i in lo..hi {
        sum += data[i] as u32;                  // data: u16 (or u8) elements
        if sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16); }
    }

folds the carry back in every iteration, a loop-carried dependence through a
compare and a select that neither gcc nor LLVM vectorises.  The same result
comes from a wide accumulator with no folding, folded down once at the end:

    if sum <= 0xffff && hi < 2^40 {             // the trip-count conjunct only for a u64 `i`
        let w: u64 = sum as u64;
        for j in lo..hi { w = w + (data[j] as u64); }     // a plain reduction: vectorises
        w = (w & 0xffff) + (w >> 16);           // as often as the proof says (4 for 2^40)
        ...
        sum = w as u32;
    } else {
        <the original loop, unchanged>
    }

Recognition is structural (`_match`), on the IR as the checker or the
logic stage spells it: lets of body-local temporaries are substituted
forward, additions and the fold's `&` may have their operands in either
order, the test may be `sum > 0xffff`, `0xffff < sum`, `sum >= 0x10000`,
`(sum >> 16) != 0` or a negation of one (with the branches swapped), and the
fold may also be applied unconditionally (it is the identity below 2^16).

The proof (`prove_site`) is separate from the recogniser and does not trust
it: it runs the *actual statements* of the matched body, and the statements
it is about to emit, through atlas/meaning/semantics.py on Z3 bit-vectors of the
exact widths, and proves by induction over the iteration count k, with a
ghost q, the coupling invariant between the source's `s` (u32) and the
wide `w` (u64)

    Inv(s, w, q, k):  w == zext64(s) + 0xffff * q  &&  s <= 0xffff
                      &&  (s == 0 -> q == 0)  &&  q <= k

    trip:  guard  &&  lo < hi  ->  hi - lo <= B      (the trip count is bounded)
    init:  s <= 0xffff  ->  Inv(s, prologue(s), 0, 0)
    step:  Inv(s, w, q, k)  &&  k < B  &&  any element d
             ->  Inv(body(s, d), wbody(w, d), q, k + 1)  ||  Inv(.., q + 1, k + 1)
    exit:  Inv(s, w, q, k)  &&  k <= B  ->  epilogue(w) == s

each as an unsat check of its negation.  `q <= k <= B = 2^40 - 1` keeps
`0xffff * q + s` below 2^56, so the u64 accumulator never wraps and the
modular equation is the exact one; `s == 0 -> q == 0` tells the exit which
of one's complement's two zeros the source holds (0 only while every word
was 0; otherwise s lies in [1, 0xffff], the one value there congruent to w
modulo 0xffff, which is what enough folds of w reach).

The exit is proven one epilogue statement at a time (asked in one piece,
Z3 does not decide it within a minute): fold j keeps the invariant with the
ghost q' = q - (w >> 16) under the bound Q_{j+1} = ceil((Q_j - 1) / 2^16),
Q_0 = B; once Q reaches 0, w == s and `sum = w as u32` is s.  From
B = 2^40 - 1 that takes 4 folds (3 for a u32 loop variable, 2 for u8/u16),
and the claim with one fold fewer is refuted outright: Z3 gives a state
satisfying the invariant (every such state is reachable: any
w <= 0xffff * (k + 1) is a sum of k words and a start) where it is wrong.
In the invariant, 0xffff * q is written (q << 16) - q, the same bit-vector
(obligation `times`), which Z3's bit-blaster handles far better.
All obligations together take a few tenths of a second; nothing is cached.

What Z3 does not see, argued here once: both loops run i = lo, lo+1, ..,
hi-1 in order (lo and hi are call-free, so evaluating them again gives the
same values, and the new loop does not touch `sum` before its end); the body
has no store and no call, so the j-th iteration of either loop reads the
same element d_j; the body writes only `sum` and its own temporaries, which
nothing outside it reads; the guard is evaluated before either loop, on the
same state.  So after t <= B iterations Inv holds of the two states (init,
then t steps), and the exit obligation gives `sum` its source value.  When
the guard fails, the source loop runs as written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import z3

from ..logic import rules
from ..logic.verdict import Status, Verdict, of_check
from ..meaning import ir
from .shapes import Shaped, finish
from .straight import (
    run as _run,
    evaluate as _eval,
    stmt_expr as _stmt_expr,
    bound as _bound,
    has_call as _has_call,
    mentions as _mentions,
    subst as _subst,
    rename as _rename,
    var_type as _var_type,
    reads_outside as _reads_outside,
    names_of as _names,
    loop_names as _stmt_names,
)
from ..meaning.z3domain import Z3Domain

D = Z3Domain()

MASK16 = 0xFFFF
TRIP_BOUND_BITS = 40  # the guard `hi < 2^40` for a u64 loop variable
PROOF_TIMEOUT_MS = 30_000  # per obligation: a safety net; Z3's resource limit decides (below)
# A claim expected false gets short runs with fresh seeds before the full
# one.  Resource units, not time, so that the verdict is the same on any
# machine under any load: the shipped cases' refutations take up to 1.4
# million units, their proofs 0.6 million; a full run has rules.PROOF_RLIMIT.
SEED_RLIMIT = 2_000_000


# ================================================================ the public entry


def end_around_carry(
    fn: ir.Function,
    module: ir.Module | None = None,
    *,
    folds: int | None = None,
    trip_bound_bits: int = TRIP_BOUND_BITS,
    timeout_ms: int = PROOF_TIMEOUT_MS,
    differential: bool = True,
    seed: int = 0,
) -> Shaped | None:
    """Every end-around-carry loop of `fn` rewritten to a wide accumulator,
    each proven; None when there is none, or a proof (or the differential
    check) fails.  `module` supplies the callees for the differential run.

    `folds` and `trip_bound_bits` are the prover's knobs, exposed so that a
    test can hand it a wrong fold count or too loose a bound and see it
    refuse: left alone, the fold count is the least that is proven."""
    t0 = time.perf_counter()
    walk = _Rewrite(fn, folds, trip_bound_bits, timeout_ms)
    body = walk.block(fn.body)
    if not walk.sites:
        return None
    new = replace(fn, body=body)
    evidence = _evidence(walk.sites, walk.refused)
    return finish(fn, new, module, evidence, differential, seed, t0)


@dataclass
class _Rewrite:
    """One pass of `end_around_carry` over a function: each loop matched and
    proven is replaced; what was rewritten and what was refused, in order."""

    fn: ir.Function
    folds: int | None
    trip_bound_bits: int
    timeout_ms: int
    used: set[str] = field(init=False)  # names taken: the fresh ones must not clash
    sites: list[dict] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.used = _names(self.fn)

    def block(self, stmts: tuple) -> tuple:
        return tuple(self.stmt(s) for s in stmts)

    def stmt(self, s: ir.Stmt) -> ir.Stmt:
        """`s` rewritten if it is a proven loop, else with its blocks walked."""
        if isinstance(s, ir.For):
            proof = self.prove(s)
            if proof is not None and proof.proven:
                self.used.update(proof.wide.fresh)
                self.sites.append(proof.as_dict())
                return proof.wide.statement()
            if proof is not None:  # refuted or undecided: the loop stays as it is
                self.refused.append({"loop": str(s.span), "why": proof.why})
                return replace(s, body=self.block(s.body))
        if isinstance(s, (ir.If, ir.When)):
            return replace(s, then=self.block(s.then), else_=self.block(s.else_))
        if isinstance(s, (ir.For, ir.While)):
            return replace(s, body=self.block(s.body))
        return s

    def prove(self, loop: ir.For) -> Proof | None:
        """The proof of `loop` as an end-around-carry loop; None when it is not one."""
        site = _match(loop, self.fn)
        if site is None:
            return None
        try:
            return prove_site(
                site,
                used=self.used,
                folds=self.folds,
                trip_bound_bits=self.trip_bound_bits,
                timeout_ms=self.timeout_ms,
            )
        except ValueError:  # outside what the proof covers: not this shape
            return None


def _evidence(sites: list[dict], refused: list[dict]) -> dict:
    """What the rewritten function rests on: each loop's proof, the guards."""
    evidence = {
        "shape": "wide-accumulator",
        "proof": (
            "z3, by induction over the iteration count (bit-vectors of the exact widths, the "
            "statements run through atlas/meaning/semantics.py): with a ghost q, "
            "w == zext64(s) + 0xffff*q && s <= 0xffff && (s == 0 -> q == 0) && q <= k "
            "holds on entry (init), is kept by one iteration of each loop on any element "
            "(step, k < B), and gives the source's sum after the final folds (exit); the "
            "guard bounds the trip count by B (trip).  "
            + "; ".join(
                f"{s['loop']}: {s['folds']} final folds"
                f"{' (' + s['fewer_folds'].split(' (')[0] + ')' if s['fewer_folds'] else ''}, "
                f"B = {s['trip_bound']}, "
                f"obligations {', '.join(f'{k} {v}' for k, v in s['obligations'].items())}"
                for s in sites
            )
        ),
        "guard": " ; ".join(s["guard"] for s in sites),
        "loops": sites,
    }
    if refused:
        evidence["refused"] = refused
    return evidence


# ================================================================ recognition


@dataclass(frozen=True)
class Site:
    """A matched loop: `loop`, accumulating into the u32 `sum` the element
    `load` (unsigned, at most 16 bits; its index reads neither `sum` nor
    anything the body writes)."""

    loop: ir.For
    sum: str
    load: ir.Load


def _match(loop: ir.For, fn: ir.Function) -> Site | None:
    """The site `loop` is, or None: the skeleton first, then the values its
    statements compute (the spellings taken: see the module docstring)."""
    skeleton = _skeleton(loop, fn)
    if skeleton is None:
        return None
    acc, temps, only_load = skeleton
    body = loop.body
    tail = body[-1]

    # The values: forward-substitute the temporaries.
    S = ir.Var(acc, ir.U32)
    env: dict[str, ir.Expr] = {acc: S}
    straight = body[:-1] if isinstance(tail, ir.If) else body
    _substitute(straight, env)
    A = env[acc]
    if not isinstance(tail, ir.If):
        # the fold applied unconditionally (it is the identity below 2^16)
        X = _fold_arg(A)
        load = None if X is None else _addend(X, S)
    else:
        load = _addend(A, S)
    if load is None or load != only_load or _mentions(load.index, {acc} | temps):
        return None
    if isinstance(tail, ir.If) and not _folds_on_overflow(tail, env, acc):
        return None
    return Site(loop, acc, load)


def _skeleton(loop: ir.For, fn: ir.Function) -> tuple[str, set[str], ir.Load] | None:
    """The accumulator, the temporaries and the one load of a loop body of
    the right form; None when it is not."""
    if loop.ty.kind != "uint" or _has_call(loop.lo) or _has_call(loop.hi):
        return None
    body = loop.body
    # The skeleton: straight-line lets/assigns, then at most one `if` of
    # lets/assigns, no loads but one, no stores, calls or loops.
    if not body or not all(isinstance(s, (ir.Let, ir.Assign)) for s in body[:-1]):
        return None
    tail = body[-1]
    branches = (tail.then, tail.else_) if isinstance(tail, ir.If) else ()
    if not isinstance(tail, (ir.Let, ir.Assign, ir.If)) or not all(
        isinstance(s, (ir.Let, ir.Assign)) for b in branches for s in b
    ):
        return None
    exprs = [_stmt_expr(s) for s in _flat(body)]
    if any(_has_call(e) for e in exprs):
        return None
    loads = [x for e in exprs for x in ir.walk(e) if isinstance(x, ir.Load)]
    if len(loads) != 1:
        return None
    assigned = {s.name for s in _flat(body) if isinstance(s, ir.Assign)}
    if len(assigned) != 1:
        return None
    (acc,) = assigned
    temps = {s.name for s in _flat(body) if isinstance(s, ir.Let)}
    if acc in temps or acc == loop.var or _var_type(fn, acc) != ir.U32:
        return None
    if _reads_outside(fn, loop, temps):
        return None
    return acc, temps, loads[0]


def _substitute(stmts, env: dict[str, ir.Expr]) -> dict[str, ir.Expr]:
    """Forward substitution: each let and assign of `stmts` bound in `env`
    to its value in terms of the values before it (`env` is updated in
    place, and returned)."""
    for s in stmts:
        name, value = _bound(s)
        env[name] = _subst(value, env)
    return env


def _folds_on_overflow(tail: ir.If, env: dict[str, ir.Expr], acc: str) -> bool:
    """Whether the closing `if` folds the carry of `acc` back in when it
    overflows 16 bits and keeps it otherwise (`env`: the values before it)."""
    A = env[acc]
    cond = _subst(tail.cond, env)
    finals = [_substitute(branch, dict(env))[acc] for branch in (tail.then, tail.else_)]
    pol = _overflow_test(cond, A)
    if pol is None:
        return False
    folded, kept = finals if pol else finals[::-1]
    return kept == A and _is_fold(folded, A)


def _addend(A: ir.Expr, S: ir.Var) -> ir.Load | None:
    """The load x of `A == S + (x as u32)` (either order), x narrow unsigned."""
    if not (isinstance(A, ir.Binary) and A.op == "add" and A.ty == ir.U32):
        return None
    for a, b in ((A.a, A.b), (A.b, A.a)):
        if a == S and isinstance(b, ir.Cast) and b.ty == ir.U32 and isinstance(b.a, ir.Load):
            t = b.a.ty
            if t.kind == "uint" and t.bits <= 16:
                return b.a
    return None


def _const(e, value: int | None = None) -> bool:
    return isinstance(e, ir.Const) and e.ty.is_int and (value is None or e.value == value)


def _is_fold(e: ir.Expr, X: ir.Expr | None) -> bool:
    """e == (X & 0xffff) + (X >> 16), any operand order (X None: any X)."""
    return _fold_arg(e) is not None and (X is None or _fold_arg(e) == X)


def _fold_arg(e: ir.Expr):
    if not (isinstance(e, ir.Binary) and e.op == "add"):
        return None
    for lo, hi in ((e.a, e.b), (e.b, e.a)):
        if (
            isinstance(lo, ir.Binary)
            and lo.op == "and"
            and isinstance(hi, ir.Binary)
            and hi.op == "shr"
            and _const(hi.b, 16)
            and not hi.ty.signed
        ):
            X = hi.a
            if (lo.a == X and _const(lo.b, MASK16)) or (lo.b == X and _const(lo.a, MASK16)):
                return X
    return None


def _overflow_test(c: ir.Expr, X: ir.Expr) -> bool | None:
    """True when c says `X > 0xffff`, False when it says `X <= 0xffff`."""
    if isinstance(c, ir.Unary) and c.op == "not" and c.ty.is_bool:
        p = _overflow_test(c.a, X)
        return None if p is None else not p
    if not (isinstance(c, ir.Binary) and c.op in ir.COMPARE):
        return None
    flip = {"lt": "gt", "gt": "lt", "le": "ge", "ge": "le", "eq": "eq", "ne": "ne"}
    a, op, b = c.a, c.op, c.b
    if _const(a) and not _const(b):
        a, op, b = b, flip[op], a
    if not isinstance(b, ir.Const) or not _const(b):
        return None
    k = int(b.value)
    if a == X:
        table = {("gt", MASK16): True, ("ge", MASK16 + 1): True, ("le", MASK16): False, ("lt", MASK16 + 1): False}
        return table.get((op, k))
    if isinstance(a, ir.Binary) and a.op == "shr" and a.a == X and _const(a.b, 16):
        table = {
            ("ne", 0): True,
            ("gt", 0): True,
            ("ge", 1): True,
            ("eq", 0): False,
            ("le", 0): False,
            ("lt", 1): False,
        }
        return table.get((op, k))
    return None


# ================================================================ the rewrite


@dataclass
class Wide:
    """The statements that replace a matched loop."""

    site: Site
    w: str  # the u64 accumulator
    j: str  # the new loop's variable
    folds: int
    trip_bits: int | None  # the guard bounds hi by 2^trip_bits (None: the type does)

    @property
    def fresh(self) -> tuple[str, str]:
        return (self.w, self.j)

    def sum_guard(self, s: ir.Expr) -> ir.Expr:
        return ir.Binary("le", s, ir.Const(MASK16, ir.U32), ir.BOOL)

    def trip_guard(self, hi: ir.Expr) -> ir.Expr | None:
        # `hi < 2^40` rather than `hi - lo < 2^40`: i is unsigned, so the trip
        # count hi - lo (when lo < hi; else 0) is at most hi, and there is no
        # wrapping subtraction to reason about.  A loop variable of at most 40
        # bits needs no test at all: its type bounds the trip count.
        if self.trip_bits is None:
            return None
        T = self.site.loop.ty
        return ir.Binary("lt", hi, ir.Const(1 << self.trip_bits, T), ir.BOOL)

    def guard(self) -> ir.Expr:
        g = self.sum_guard(ir.Var(self.site.sum, ir.U32))
        t = self.trip_guard(self.site.loop.hi)
        return g if t is None else ir.Binary("land", g, t, ir.BOOL)

    def prologue(self) -> tuple:
        return (ir.Let(self.w, ir.U64, ir.Cast(ir.Var(self.site.sum, ir.U32), ir.U64)),)

    def wide_body(self) -> tuple:
        loop, load = self.site.loop, self.site.load
        index = _rename(load.index, loop.var, ir.Var(self.j, loop.ty))
        W = ir.Var(self.w, ir.U64)
        x = ir.Cast(ir.Load(load.array, index, load.ty, load.span), ir.U64)
        return (ir.Assign(self.w, ir.Binary("add", W, x, ir.U64)),)

    def epilogue(self) -> tuple:
        W = ir.Var(self.w, ir.U64)
        fold = ir.Binary(
            "add",
            ir.Binary("and", W, ir.Const(MASK16, ir.U64), ir.U64),
            ir.Binary("shr", W, ir.Const(16, ir.U64), ir.U64),
            ir.U64,
        )
        return tuple(ir.Assign(self.w, fold) for _ in range(self.folds)) + (
            ir.Assign(self.site.sum, ir.Cast(W, ir.U32)),
        )

    def statement(self) -> ir.If:
        loop = self.site.loop
        new_loop = ir.For(self.j, loop.ty, loop.lo, loop.hi, self.wide_body(), loop.span)
        then = self.prologue() + (new_loop,) + self.epilogue()
        return ir.If(self.guard(), then, (loop,), loop.span)


# ================================================================ the proof


@dataclass
class Proof:
    wide: Wide
    proven: bool
    obligations: dict[str, Verdict] = field(default_factory=dict)
    fewer_folds: str = ""
    why: str = ""

    def as_dict(self) -> dict:
        s = self.wide.site
        return {
            "loop": str(s.loop.span),
            "sum": s.sum,
            "accumulator": self.wide.w,
            "folds": self.wide.folds,
            "trip_bound": _trip_bound(self.wide),
            "guard": ir.pretty_expr(self.wide.guard()),
            "obligations": {k: str(v) for k, v in self.obligations.items()},
            "fewer_folds": self.fewer_folds,
        }


def _trip_bound(wide: Wide) -> int:
    return _trip_bound_of(wide.site.loop.ty, wide.trip_bits)


def prove_site(
    site: Site,
    *,
    used: set[str] | None = None,
    folds: int | None = None,
    trip_bound_bits: int = TRIP_BOUND_BITS,
    timeout_ms: int = PROOF_TIMEOUT_MS,
    obligations: type | None = None,
) -> Proof:
    """Build the rewrite of `site` and prove it (see the module's docstring).
    `site` need not come from `_match`: the proof reads the loop's own
    statements.  `folds` None: the least number of final folds the proof
    needs (and one fewer is refuted); a number: exactly that many.
    `obligations` replaces the `_Obligations` class (a test's way to hand
    the prover a deliberately broken invariant)."""
    why = _side_conditions(site)
    if why is not None:
        raise ValueError(f"not a loop this proof covers: {why}")
    used = set(used or ()) | _stmt_names(site.loop)
    taken = set(used)
    w = ir.fresh_name(f"{site.sum}.wide", taken)
    j = ir.fresh_name(f"{site.loop.var}.wide", taken)
    T = site.loop.ty
    trip_bits = trip_bound_bits if T.bits > trip_bound_bits else None
    needed = len(_q_bounds(_trip_bound_of(T, trip_bits))) - 1
    wide = Wide(site, w, j, needed if folds is None else folds, trip_bits)
    proof = Proof(wide, False)
    ob = (obligations or _Obligations)(site, wide, _trip_bound(wide), timeout_ms)
    checks = (("times", ob.times), ("trip", ob.trip), ("init", ob.init), ("step", ob.step), ("exit", ob.exit))
    for name, check in checks:
        verdict = check()
        proof.obligations[name] = verdict
        if not verdict.proven:
            proof.why = f"{name}: {verdict}"
            return proof
    if folds is None and wide.folds > 1:
        # one fold fewer: a direct counterexample, so the count is the least
        proof.fewer_folds = f"{wide.folds - 1} folds: {ob.exit_direct(wide.folds - 1)}"
    proof.proven = True
    return proof


def _side_conditions(site: Site) -> str | None:
    """What the argument outside Z3 (the module's docstring) relies on,
    checked again here so that the prover never rests on the recogniser."""
    loop, load = site.loop, site.load
    if loop.ty.kind != "uint":
        return "the loop variable is not unsigned"
    if _has_call(loop.lo) or _has_call(loop.hi):
        return "a loop bound calls a function"
    stmts = list(_flat(loop.body))
    if not all(isinstance(s, (ir.Let, ir.Assign, _CondStmt)) for s in stmts):
        return "the body has a statement other than lets, assignments and one level of ifs"
    if any(isinstance(s, ir.If) and any(isinstance(x, ir.If) for x in s.then + s.else_) for s in loop.body):
        return "nested ifs"
    exprs = [_stmt_expr(s) for s in stmts]
    if any(_has_call(e) for e in exprs):
        return "the body calls a function"
    loads = [x for e in exprs for x in ir.walk(e) if isinstance(x, ir.Load)]
    if loads != [load]:
        return "the body must read exactly the one element"
    if not (load.ty.kind == "uint" and load.ty.bits <= 16):
        return f"the element type {load.ty} is not an unsigned type of at most 16 bits"
    temps = {s.name for s in stmts if isinstance(s, ir.Let)}
    if {s.name for s in stmts if isinstance(s, ir.Assign)} - temps != {site.sum} or site.sum in temps:
        return f"the body must assign `{site.sum}` and nothing else declared outside it"
    if any(isinstance(x, ir.Var) and x.name == site.sum and x.ty != ir.U32 for e in exprs for x in ir.walk(e)):
        return f"`{site.sum}` is not a u32"
    if any(s.value.ty != ir.U32 for s in stmts if isinstance(s, ir.Assign) and s.name == site.sum):
        return f"`{site.sum}` is not a u32"
    if _mentions(load.index, {site.sum} | temps):
        return "the element's index reads what the body writes"
    return None


def _trip_bound_of(T: ir.Scalar, trip_bits: int | None) -> int:
    return (1 << trip_bits) - 1 if trip_bits is not None else T.mask


def _q_bounds(B: int) -> list[int]:
    """Q_0 = B, Q_{j+1} = ceil((Q_j - 1) / 2^16): the bound on the ghost q
    after each final fold, down to 0.  (w = s + 0xffff*q and w' = fold(w)
    give q' = q - (w >> 16) = ceil((q - s) / 2^16), and s >= 1 whenever
    q >= 1.)  Its length less one is the number of folds the proof needs;
    Z3 checks every step, so a wrong bound here is refuted, not trusted."""
    qs = [B]
    while qs[-1] > 0:
        qs.append(max(0, -(-(qs[-1] - 1) // (1 << 16))))
    return qs


def _times_ffff(q):
    """0xffff * q as (q << 16) - q: the same bit-vector (obligation `times`),
    in the form whose carries Z3's bit-blaster follows easily (written as a
    bvmul, the first exit lemma is undecided after a minute)."""
    return (q << 16) - q


class _Obligations:
    """The proof obligations of one site, each checked as the
    unsatisfiability of its negation."""

    def __init__(self, site: Site, wide: Wide, B: int, timeout_ms: int):
        self.site, self.wide, self.B, self.timeout_ms = site, wide, B, timeout_ms
        self.s = z3.BitVec("inv!s", 32)
        self.w = z3.BitVec("inv!w", 64)
        self.q = z3.BitVec("inv!q", 64)
        self.k = z3.BitVec("inv!k", 64)
        self.d = z3.BitVec("inv!d", site.load.ty.bits)

    def inv(self, s, w, q, k):
        """The coupling invariant after k iterations (k a term or a bound)."""
        return z3.And(
            w == z3.ZeroExt(32, s) + _times_ffff(q), z3.ULE(s, MASK16), z3.Implies(s == 0, q == 0), z3.ULE(q, k)
        )

    def _check(self, claim, tries: int = 0) -> Verdict:
        """`tries` > 0: a claim expected false, whose counterexample Z3 finds
        in milliseconds with one random seed and in seconds with another;
        short runs with fresh seeds first, then one with the full limit."""
        t0 = time.perf_counter()
        for seed in range(tries + 1):
            solver = z3.Solver()
            solver.set("rlimit", rules.PROOF_RLIMIT if seed == tries else SEED_RLIMIT)
            solver.set("timeout", self.timeout_ms)
            solver.set("random_seed", seed)
            solver.add(z3.Not(claim))
            r = solver.check()
            if r != z3.unknown:
                break
        ms = (time.perf_counter() - t0) * 1000
        return of_check(r, solver, ms, shown=lambda name: name.removeprefix("inv!"))

    def times(self) -> Verdict:
        return self._check(z3.BitVecVal(MASK16, 64) * self.q == _times_ffff(self.q))

    def trip(self) -> Verdict:
        """The guard bounds the trip count: lo < hi -> hi - lo <= B."""
        T = self.site.loop.ty
        lo, hi = z3.BitVec("inv!lo", T.bits), z3.BitVec("inv!hi", T.bits)
        g = self.wide.trip_guard(ir.Var("hi", T))
        ok = z3.BoolVal(True) if g is None else _eval(g, {"hi": hi})
        trips = z3.ZeroExt(64 - T.bits, hi - lo) if T.bits < 64 else hi - lo
        return self._check(z3.Implies(z3.And(ok, z3.ULT(lo, hi)), z3.ULE(trips, self.B)))

    def init(self) -> Verdict:
        s, zero = self.s, z3.BitVecVal(0, 64)
        env = _run(self.wide.prologue(), {self.site.sum: s}, None)
        pre = _eval(self.wide.sum_guard(ir.Var("s", ir.U32)), {"s": s})
        return self._check(z3.Implies(pre, self.inv(s, env[self.wide.w], zero, zero)))

    def step(self) -> Verdict:
        s, w, q, k, d = self.s, self.w, self.q, self.k, self.d
        s2 = _run(self.site.loop.body, {self.site.sum: s}, d)[self.site.sum]
        w2 = _run(self.wide.wide_body(), {self.wide.w: w}, d)[self.wide.w]
        k2, one = k + 1, z3.BitVecVal(1, 64)
        pre = z3.And(self.inv(s, w, q, k), z3.ULT(k, self.B))
        return self._check(z3.Implies(pre, z3.Or(self.inv(s2, w2, q, k2), self.inv(s2, w2, q + one, k2))))

    def exit(self) -> Verdict:
        """The epilogue, one statement at a time: each fold keeps the
        invariant with q' = q - (w >> 16) and the next bound Q_{j+1}; after
        the last, q <= 0 and `sum = w as u32` gives s.  When a lemma fails,
        the verdict is that of the direct claim (a real counterexample)."""
        s, w, q, k = self.s, self.w, self.q, self.k
        *folds, last = self.wide.epilogue()
        qs = _q_bounds(self.B)
        t0, lemmas = time.perf_counter(), []
        for j in range(len(folds) + 1):
            pre = (
                z3.And(self.inv(s, w, q, k), z3.ULE(k, self.B))
                if j == 0
                else self.inv(s, w, q, z3.BitVecVal(qs[min(j, len(qs) - 1)], 64))
            )
            if j < len(folds):
                w2 = _run((folds[j],), {self.wide.w: w}, None)[self.wide.w]
                post = self.inv(s, w2, q - z3.LShR(w, 16), z3.BitVecVal(qs[min(j + 1, len(qs) - 1)], 64))
            else:
                post = _run((last,), {self.wide.w: w, self.site.sum: s}, None)[self.site.sum] == s
            verdict = self._check(z3.Implies(pre, post))
            if not verdict.proven:
                return self.exit_direct(len(folds))
            lemmas.append(verdict)
        ms = (time.perf_counter() - t0) * 1000
        return Verdict(Status.PROVEN, f"{ms:.0f} ms: {len(folds)} fold lemmas and the result")

    def exit_direct(self, folds: int) -> Verdict:
        """Inv after k <= B iterations -> `folds` folds of w, as u32, == s."""
        s, w, q, k = self.s, self.w, self.q, self.k
        saved, self.wide.folds = self.wide.folds, folds
        try:
            out = _run(self.wide.epilogue(), {self.wide.w: w, self.site.sum: s}, None)[self.site.sum]
        finally:
            self.wide.folds = saved
        return self._check(z3.Implies(z3.And(self.inv(s, w, q, k), z3.ULE(k, self.B)), out == s), tries=8)


# ---------------------------------------------------------------- IR on Z3 terms


# ================================================================ IR helpers


def _flat(stmts):
    for s in stmts:
        yield s if not isinstance(s, ir.If) else _CondStmt(s.cond)
        if isinstance(s, ir.If):
            yield from _flat(s.then)
            yield from _flat(s.else_)


@dataclass(frozen=True)
class _CondStmt:  # an if's condition, seen as an expression of the body
    value: ir.Expr


# ================================================================ the second check
