"""Deferred reduction: a fold that reduces modulo m (or caps at c) on
every iteration accumulates wide instead and reduces once every K
iterations.

The loops it applies to keep one or more unsigned accumulators, each set
once per iteration to a reduction of a sum:

    for i in lo..hi {                       // Adler-32, as written by hand
        a = (a + (data[i] as u32)) % 65521;
        b = (b + a) % 65521;
    }

The reduction keeps either the *residue*, `v % m`, or a subtraction of m
once v reaches m (spelled as an `if` or a conditional expression, `if v >=
m { v - m } else { v }`, any comparison that says the same); or the *one's
complement* value, in [0, m] and 0 only while every term was 0: a
subtraction of m once v passes m, or the end-around carry of RFC 1071,
`(v & M) + (v >> k)` with M = 2^k - 1 = m (always, or when v > M); or,
in any other spelling, what Z3 finds a reduction computes (`_by_values`);
or the *cap*, min(v, c) for a constant c or one known at run time
(`min(v, c)`, `add_sat(s, x)` at the type's largest, or an `if` or
select that keeps c once v passes it):
a saturating sum.  Its terms are never negative, so capping at every
step or once at the end gives the same value: the least of c and the
exact sum.
The modulus of a residue, or a cap, may be known only at run time (`% m`,
m a parameter or an expression of values the loop does not set, with no
load or call): it is taken at most the largest m for which the body as
written never wraps, or for which the precondition holds
(`_shared_bounds`), and the guard checks that before the loop; one
subtraction of such an m needs it at least the least for which a step's
sum stays below 2m (`_least_modulus`), which the guard checks too.
Which one the source computes is proven, not assumed (obligation `source`).  The
sum may add the accumulators' old and new values, constants, multiples of
them by constants, and *element terms*: any call-free expression that reads
no accumulator (`data[i] as u32`, `x[i] * y[i]`, ...).  Accumulators that
read each other share one modulus and kind.  Nothing else: no stores,
calls, nested loops, signed accumulators.

The rewrite, for accumulator types of at most 64 bits:

    if a < m && b < m {                     // (one's complement: <= m; cap: <= c)
        let wa: u32 = a as u32; let wb: u32 = b as u32;
        let j = lo;
        while j < hi {
            let e = if hi - j > K { j + K } else { hi };
            for jj in j..e { let na = wa + data[jj] as u32; let nb = wb + na; wa = na; wb = nb; }
            wa = wa % m; wb = wb % m;       // rep(wa), rep(wb)
            j = e;
        }
        a = wa as u32; b = wb as u32;
    } else { <the loop as written> }

The inner loop is a plain sum, which LLVM vectorises, except where the
accumulators read each other (`wb + na` above): that chain is summed in
closed form (Chain, obligation `chain`), so the loop holds independent sums
only.  Sums that are not reduced but wrap at their type (u8 to u32) count
as reduced modulo 2^bits where they form such a chain (an 8-bit Fletcher
sum, `a += x[i]; b += a;` in u8), and only there: a lone wrapping sum
vectorises as written.  The wide type is u32 when that still leaves blocks of at least
MIN_BLOCK_U32 iterations, else u64.  K is the largest block with no wrap: from wide values at most the
source's largest (m - 1, or m) at the start of a block and every element term at its upper bound (`_upper`), the
sums are iterated in exact integers until one would pass the wide type
(capped at MAX_BLOCK).  For Adler-32 with bytes in u32 that gives 5552.

The proof, at every site, on the statements themselves (nothing rests on
the recogniser: the source body is run as written, the new body as
emitted).  With s the source's accumulators, w the wide ones, A_j the sum
of accumulator j with its leaves (old values, new values of the others,
element terms) read as exact integers, and rep(v) the source's value for
v (v mod m; for one's complement 0 for 0, else (v - 1) mod m + 1; for a
cap min(v, c)):

    source: each s_k within the guard (s_k < m, or s_k <= m)  ->  the
            body's new s_j == rep_j(A_j(s, s')) (bit-vectors of the
            source's widths: the body neither wraps nor keeps any other
            value);
    wide:   w_k <= U_k (the largest value at the start of any iteration of
            a block)  ->  the wide body's new w_j == A_j(w, w') exactly, and
            A_j <= its bound after K iterations (no wrap in the wide type);
    congruence: A_j is a sum of multiples of its leaves by positive
            constants, so leaves congruent modulo m_j give congruent sums,
            and leaves 0 together give sums 0 together; for a cap, leaves
            the same once capped give sums the same once capped (Z3,
            integers);
    chain:  (where the block is in closed form) from any start and for any
            elements, the closed form after k iterations equals the wide
            loop's values after k, by induction over k < K;
    blocks: each block runs 1..K iterations, never past hi;
    init:   the guard starts every w at its s;
    reduce: w == s (mod m), w and s 0 together, s within the guard  ->
            after `w = rep(w); s = w as T`, s is unchanged.

By induction over the iterations of a block, w_k is congruent to s_k, 0
with it (for one's complement) and below its bound; at the end of each
block rep gives back s exactly, so after the last block the source's
values are restored.

With a run-time modulus m the same obligations hold for every m the guard
admits, m unknown: in `source` the body's remainder by m is left
uninterpreted (_OpaqueRemainder; that an unsigned remainder by m > 0 is
the residue is its definition), `congruence` is the identity sum(s + m*q)
- sum(s) == m * sum(q), and `reduce` proves the remainder unique for any
m >= 1.

What Z3 does not see, argued here once: the sums use only additions,
multiplications by non-negative constants and zero extensions, so they are
monotone in every leaf, and the largest start U bounds every iteration;
both loops visit i = lo, lo+1, .., hi-1 in order (lo and hi are call-free
and read nothing the body writes); the body writes nothing but the
accumulators and its own temporaries, which nothing outside reads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Literal, TypeGuard

import z3

from ..logic import rules
from ..logic.verdict import Verdict, of_check
from ..meaning import ir
from ..meaning.scans import abstract
from ..meaning.z3domain import Z3Domain, sort_of
from . import straight
from .shapes import Shaped, finish

D = Z3Domain()

MAX_BLOCK = 1 << 16  # a reduction per 65536 iterations costs nothing measurable
MIN_BLOCK = 16  # shorter blocks than this: the reductions would dominate
# u32 lanes, twice as many per vector, when blocks stay this long: a block's
# reduction costs tens of cycles, a few hundredths of one per iteration here
# (Fletcher-32's closed form in u32 blocks of 362 ran 1.28x its u64 blocks of
# 65536 on 2^20 words, measured 2026-12-06)
MIN_BLOCK_U32 = 256
PROOF_TIMEOUT_MS = 30_000  # a safety net; Z3's resource limit decides
# Z3's resource units for one guess or one precondition's maximum (about
# two seconds here): a limit in units, not time, gives the same answer on
# a loaded machine
GUESS_RLIMIT = 3_000_000


# ================================================================ recognition


@dataclass(frozen=True)
class New:
    """A leaf of a sum: the value accumulator `name` has *after* this
    iteration (an earlier statement of the same body set it)."""

    name: str
    ty: ir.Scalar


@dataclass(frozen=True)
class Old:
    """A leaf of a sum: accumulator `name`'s value before this iteration."""

    name: str
    ty: ir.Scalar


@dataclass(frozen=True)
class Elem:
    """A leaf of a sum: an element term, read as the source computes it."""

    expr: ir.Expr


@dataclass(frozen=True)
class Add:
    a: "Sum"
    b: "Sum"


@dataclass(frozen=True)
class Scale:
    k: int
    x: "Sum"


Sum = New | Old | Elem | Add | Scale  # read as exact, unbounded integers


# What an accumulator keeps of its exact sum v: the residue v mod m, in
# [0, m); the one's complement value, in [0, m] and 0 only while every
# term so far was 0 (an end-around carry, or a subtraction of m once the
# sum passes m); or v capped at c, min(v, c) (a saturating sum)
Rep = Literal["residue", "ones", "cap"]


@dataclass(frozen=True)
class Acc:
    """An accumulator: `name` (unsigned `ty`) becomes `sum` reduced on
    every iteration, as `rep` says, by `modulus` (m, or the cap c)."""

    name: str
    ty: ir.Scalar
    modulus: int
    sum: Sum
    rep: Rep = "residue"
    # a modulus known only at run time (`% m`, m a parameter): the residue
    # modulo its value, which the rewrite's guard keeps at most `modulus`
    divisor: ir.Expr | None = None
    # a run-time modulus taken off once when the sum reaches it (`if s >= m
    # { s -= m; }`): the residue only while the sum stays below 2m, so for
    # m at least `least`, which the guard checks too
    once: bool = False
    least: int = 1

    @property
    def ones(self) -> bool:
        return self.rep == "ones"

    @property
    def top(self) -> int:
        """The largest value the source keeps between iterations."""
        return self.modulus - 1 if self.rep == "residue" else self.modulus

    @property
    def kind(self) -> tuple[int, Rep, ir.Expr | None]:
        return self.modulus, self.rep, self.divisor

    @property
    def wraps(self) -> bool:
        """Not reduced in the source: its type's own wrap, modulo 2^bits
        (an explicit modulus is a value of the type, so below that)."""
        return self.divisor is None and self.modulus > self.ty.mask


@dataclass(frozen=True)
class Site:
    loop: ir.For
    accs: tuple[Acc, ...]  # each reads only the new values of earlier ones


def match(loop: ir.For, fn: ir.Function) -> Site | None:
    """The site `loop` is, or None (see the module docstring for the form)."""
    if loop.ty.kind != "uint" or straight.has_call(loop.lo) or straight.has_call(loop.hi):
        return None
    if not _straight(loop.body):
        return None
    temps = {n for n, _ in ir.declared(loop.body)}
    assigned = {s.name for s in ir.walk_stmts(loop.body) if isinstance(s, ir.Assign)} - temps
    if not assigned or loop.var in assigned or straight.reads_outside(fn, loop, temps):
        return None
    if any(straight.mentions(e, assigned | temps) for e in (loop.lo, loop.hi)):
        return None
    types = {n: straight.var_type(fn, n) for n in assigned}
    if any(t is None or t.kind != "uint" for t in types.values()):
        return None
    finals = _values(loop.body, {})
    accs: list[Acc] = []
    for name in _order(loop.body, assigned):
        acc = _acc(name, types[name], finals, accs, assigned)
        if acc is None:
            return None
        accs.append(acc)
    bounded = _shared_bounds(accs, assigned | temps | {loop.var}, fn)
    if bounded is None:
        return None
    kinds = {a.name: a.kind for a in bounded}
    if any(kinds[x.name] != a.kind for a in bounded for x in leaves(a.sum) if isinstance(x, (Old, New))):
        return None  # congruence modulo m needs every accumulator a sum reads kept the same way
    site = _with_room(Site(loop, tuple(bounded)))
    # sums that only wrap are left as they are (a plain sum vectorises),
    # unless they read each other: then the chain's closed form pays
    return None if any(a.wraps for a in accs) and chain(site) is None else site


def _straight(stmts) -> bool:
    """Lets, assignments and ifs of them only, with no call anywhere."""
    for s in stmts:
        if isinstance(s, ir.If):
            if straight.has_call(s.cond) or not (_straight(s.then) and _straight(s.else_)):
                return False
        elif not isinstance(s, (ir.Let, ir.Assign)) or straight.has_call(straight.stmt_expr(s)):
            return False
    return True


def _values(stmts, env: dict) -> dict:
    """Each name's value after `stmts`, in terms of the values before them
    (an `if` gives a select of its branches' values)."""
    env = dict(env)
    for s in stmts:
        if isinstance(s, ir.If):
            c = straight.subst(s.cond, env)
            a, b = _values(s.then, env), _values(s.else_, env)
            for n in set(a) | set(b):  # a name not set yet holds its value on entry
                known: ir.Expr = a[n] if n in a else b[n]
                x, y = a.get(n, ir.Var(n, _ty(known))), b.get(n, ir.Var(n, _ty(known)))
                env[n] = x if x == y else ir.Prim("select", (c, x, y), _ty(x))
        else:
            name, value = straight.bound(s)
            env[name] = straight.subst(value, env)
    return env


def _order(stmts, names: set[str]) -> list[str]:
    """`names` in the order of their last assignment in `stmts`."""
    last: dict[str, int] = {}
    for k, s in enumerate(ir.walk_stmts(stmts)):
        if isinstance(s, ir.Assign) and s.name in names:
            last[s.name] = k
    return sorted(names, key=last.__getitem__)


def _acc(name: str, ty: ir.Scalar, finals: dict, earlier: list[Acc], accs: set[str]) -> Acc | None:
    """Accumulator `name` if its new value is a reduction of a sum of the
    allowed leaves; None otherwise (moduli are compared by `match`).  A sum
    that is not reduced is taken as reduced modulo 2^bits by its type's own
    wrap (u8 to u32: a wider type must hold its blocks; `match` keeps it
    only in a chain)."""
    if ty.bits > 64:
        return None
    reduced = _reduction(finals[name], ty)
    if reduced is None and ty.bits <= 32:
        reduced = finals[name], 1 << ty.bits, "residue"
    if reduced is None:
        return None
    total, m, rep = reduced
    s = _leaves(total, {finals[a.name]: New(a.name, a.ty) for a in earlier}, accs)
    if s is None or not _sum_shape(s, accs):
        return None
    if isinstance(m, int):
        return Acc(name, ty, m, _tree(s, accs), rep) if m <= ty.mask + 1 else None
    # bounded by _shared_bounds; a run-time residue not taken by `%` is taken by a subtraction
    once = rep == "residue" and not (isinstance(finals[name], ir.Binary) and finals[name].op == "rem")
    return Acc(name, ty, ty.mask, _tree(s, accs), rep, divisor=m, once=once)


def _shared_bounds(accs: list[Acc], moved: set[str], fn: ir.Function) -> list[Acc] | None:
    """The accumulators with each run-time modulus bounded: the largest
    value for which every sum reduced by it, from accumulators below it and
    each element term at its bound, stays within its type, so that the body
    as written computes each sum exactly; or the largest the function's
    precondition allows, or its type, where smaller (the rewrite's guard
    then checks the modulus at run time).  None when a modulus may change
    inside the loop (it reads what the loop sets, an array or a call) or
    no bound leaves room for a sum.  A local set once from the parameters
    (`let mm = m as u32;`) is read as its value."""
    divisors = {a.divisor for a in accs if a.divisor is not None}
    for d in divisors:
        if any(isinstance(x, (ir.Load, ir.Call)) for x in ir.walk(d)) or straight.mentions(d, moved):
            return None
    lets = _fixed_lets(fn)
    bound, least = {}, {}
    for d in divisors:
        seen = straight.subst(d, lets)
        own = _largest_modulus([a for a in accs if a.divisor == d])
        bound[d] = min(_upper(seen), _required_top(seen, fn.requires), own)
        least[d] = _least_modulus([a for a in accs if a.divisor == d and a.once])
    if any(b < 2 or least[d] > b for d, b in bound.items()):
        return None
    return [a if a.divisor is None else replace(a, modulus=bound[a.divisor], least=least[a.divisor]) for a in accs]


# Iterations a lowered run-time bound leaves room for in u64 (_with_room):
# a block's reduction, a 64-bit division, is then a small share of it
ROOM = 4096


def _with_room(site: Site) -> Site:
    """`site`, or where its run-time moduli leave no block of ROOM
    iterations even in u64 (a u64 sum under a u64 m: every value of the
    type may be m - 1), the site with their bound lowered to the largest
    power of two that does (the guard then checks m against it, and a
    larger m runs the loop as written)."""

    def roomy(s: Site) -> bool:
        room = block(s, 64, ROOM)
        return room is not None and max(room.end.values()) <= (1 << 64) - 1

    def lowered(k: int) -> Site:
        accs = tuple(a if a.divisor is None else replace(a, modulus=min(a.modulus, 1 << k)) for a in site.accs)
        return replace(site, accs=accs)

    def fits(k: int) -> bool:  # a smaller bound leaves more room: a bisection finds the largest
        return roomy(lowered(k))

    if all(a.divisor is None for a in site.accs) or roomy(site):
        return site
    lo = max(a.least for a in site.accs).bit_length()
    if lo > 63 or not fits(lo):
        return site
    return lowered(_largest(lo, 63, fits))


def _fixed_lets(fn: ir.Function) -> dict[str, ir.Expr]:
    """fn's top-level lets that nothing assigns and that read only
    parameters nothing assigns (or such lets before them), no array and no
    call, each as an expression of the parameters: one value for the call."""
    moved = ir.assigned(fn.body)
    fixed = {p.name for p in fn.params if not isinstance(p.ty, ir.Array)} - moved
    out: dict[str, ir.Expr] = {}
    for s in fn.body:
        if isinstance(s, ir.Let) and s.name not in moved and s.name not in out:
            if not any(isinstance(x, (ir.Load, ir.Call)) for x in ir.walk(s.init)):
                if ir.names_read(s.init) <= fixed | set(out):
                    out[s.name] = straight.subst(s.init, out)
    return out


def _required_top(d: ir.Expr, requires: ir.Expr | None) -> int:
    """The largest value of `d` where the precondition holds (Z3), or its
    type's largest when there is none or Z3 cannot say: a bound only, the
    guard checks it."""
    top = _ty(d).mask
    if requires is None:
        return top
    env: dict = {}
    opt = z3.Optimize()
    opt.set("rlimit", GUESS_RLIMIT)  # the same answer on any machine, however loaded
    opt.set("timeout", rules.safety_ms(GUESS_RLIMIT))
    try:
        value, holds = straight.evaluate(d, env), straight.evaluate(requires, env)
    except ValueError:
        return top
    opt.add(holds)
    best = opt.maximize(z3.ZeroExt(1, value))
    if opt.check() != z3.sat:
        return top
    found = best.value()  # a number, or an expression where the maximum is unbounded
    return min(top, found.as_long()) if isinstance(found, (z3.IntNumRef, z3.BitVecNumRef)) else top


def _largest_modulus(accs: list[Acc]) -> int:
    """The largest m for which each of `accs` (sharing one run-time modulus)
    sums, from every accumulator at most m - 1 (at most m, a cap) and every
    element term at its bound, to at most its type's largest value (1
    where none does): the sums grow with m, so a bisection finds it."""
    capped = any(a.rep == "cap" for a in accs)

    def fits(m: int) -> bool:
        def leaf(x):
            return _upper(x.expr) if isinstance(x, Elem) else m if capped else m - 1

        return all(value(a.sum, leaf) <= a.ty.mask for a in accs)

    return _largest(1, max(a.ty.mask for a in accs), fits)


def _largest(lo: int, hi: int, fits) -> int:
    """The largest k in [lo, hi] that fits, for a `fits` true up to some k
    and false past it (lo where none does): a bisection."""
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
    return lo


def _least_modulus(accs: list[Acc]) -> int:
    """The least m for which each of `accs`, reduced by one subtraction of
    m, sums from every accumulator at most m - 1 and every element term at
    its bound to below 2m, so that the one subtraction leaves the residue
    (1 where there are none; past any type's largest where no m does).  A
    sum reading its accumulators at most twice over grows no faster than
    2m, so a bisection finds it; the proof checks whatever is found."""
    if not accs:
        return 1

    def fits(m: int) -> bool:
        def leaf(x):
            return _upper(x.expr) if isinstance(x, Elem) else m - 1

        return all(value(a.sum, leaf) <= 2 * m - 1 for a in accs)

    lo, hi = 1, max(a.ty.mask for a in accs) + 1
    if not fits(hi - 1):
        return hi
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if fits(mid) else (mid + 1, hi)
    return lo


def _reduction(v: ir.Expr, ty: ir.Scalar) -> tuple[ir.Expr, int | ir.Expr, Rep] | None:
    """(A, m, rep) when v reduces A: `A % m`, or A less m when A >= m (the
    residue; m a constant, or an expression known at run time); A less m
    when A > m, or the end-around carry `(A & M) + (A >> k)` with
    M = 2^k - 1 (one's complement modulo a constant m, M); A capped at c,
    a constant or known at run time (`min(A, c)`, `add_sat(x, y)` at the
    type's largest, or a select of c once A passes c)."""
    if isinstance(v, ir.Binary) and v.op == "rem" and v.ty == ty and _pos_const(v.b):
        m = int(v.b.value)
        return (v.a, m, "residue") if m >= 2 else None
    if isinstance(v, ir.Binary) and v.op == "rem" and v.ty == ty and not isinstance(v.b, ir.Const):
        return v.a, v.b, "residue"  # its bound is for _shared_bounds to find
    folded = _fold_of(v)
    if folded is not None:
        return folded[0], folded[1], "ones"
    capped = _cap_of(v, ty)
    if capped is not None:
        return capped[0], capped[1], "cap"
    if not (isinstance(v, ir.Prim) and v.name == "select"):
        return _by_values(v, ty)
    c, x, y = v.args
    for low, keep, when in ((x, y, True), (y, x, False)):
        if isinstance(low, ir.Binary) and low.op == "sub" and low.a == keep and not isinstance(low.b, ir.Const):
            if _says_reaches(c, keep, low.b) is when:  # a run-time m taken off once the sum reaches it
                return keep, low.b, "residue"
        less = _less(low, keep)
        if less is not None and less >= 2:
            if _says_at_least(c, keep, less) is when:
                return keep, less, "residue"
            if _says_at_least(c, keep, less + 1) is when:
                return keep, less, "ones"
        folded = _fold_of(low)
        if folded is not None and folded[0] == keep and _says_at_least(c, keep, folded[1] + 1) is when:
            return keep, folded[1], "ones"
    return _by_values(v, ty)


def _cap_of(v: ir.Expr, ty: ir.Scalar) -> tuple[ir.Expr, int | ir.Expr] | None:
    """(A, c) when v is A capped at c, a positive constant or a value known
    at run time: `min(A, c)` either way round, `add_sat(x, y)` (x + y
    capped at the type's largest), or a select of c where the condition
    says A >= c (or A > c) and of A where it says A < c (or A <= c), in
    either order.  A run-time c is for _shared_bounds to bound."""
    if not (isinstance(v, ir.Prim) and v.ty == ty and ty.kind == "uint"):
        return None
    if v.name == "add_sat":
        return ir.Binary("add", v.args[0], v.args[1], ty), ty.mask
    if v.name == "min":
        for a, c in (v.args, v.args[::-1]):
            if _pos_const(c):
                return a, int(c.value)
        for a, c in (v.args, v.args[::-1]):
            if _run_time_cap(a, c):
                return a, c
    if v.name == "select":
        cond, x, y = v.args
        for cap, keep, when in ((x, y, True), (y, x, False)):
            if _pos_const(cap):
                k = int(cap.value)
                if when in (_says_at_least(cond, keep, k), _says_at_least(cond, keep, k + 1)):
                    return keep, k
            elif _run_time_cap(keep, cap) and _says_past(cond, keep, cap) is when:
                return keep, cap
    return None


def _run_time_cap(a: ir.Expr, c: ir.Expr) -> bool:
    """a a sum and c a cap that may be known before the loop (no constant,
    no load, no call), not the other way round: min is symmetric."""
    plain = not any(isinstance(x, (ir.Load, ir.Call)) for x in ir.walk(c))
    return isinstance(a, ir.Binary) and a.op == "add" and not isinstance(c, ir.Const) and plain


def _says_past(c: ir.Expr, a: ir.Expr, d: ir.Expr) -> bool | None:
    """True when c says a >= d or a > d, False when it says a < d or a <= d
    (unsigned), else None: either way a capped at d is d or a."""
    return {"ge": True, "gt": True, "lt": False, "le": False}.get(_relation(c, a, d) or "")


def _says_reaches(c: ir.Expr, a: ir.Expr, d: ir.Expr) -> bool | None:
    """True when c says a >= d, False when it says a < d (unsigned), else None."""
    return {"ge": True, "lt": False}.get(_relation(c, a, d) or "")


def _relation(c: ir.Expr, a: ir.Expr, d: ir.Expr) -> str | None:
    """How c compares unsigned a with d, as `a OP d` (ge, gt, lt, le): its
    operands either way round, under any number of negations; else None."""
    if isinstance(c, ir.Unary) and c.op == "not" and c.ty.is_bool:
        inner = _relation(c.a, a, d)
        return None if inner is None else {"ge": "lt", "gt": "le", "lt": "ge", "le": "gt"}[inner]
    if not (isinstance(c, ir.Binary) and c.op in ("ge", "gt", "lt", "le") and _ty(a).kind == "uint"):
        return None
    if (c.a, c.b) == (a, d):
        return c.op
    if (c.a, c.b) == (d, a):
        return {"ge": "le", "gt": "lt", "lt": "gt", "le": "ge"}[c.op]
    return None


# Candidates _by_values may put to Z3 for one accumulator: each is a small
# bit-vector query, and a spelling has a few constants.
MAX_GUESSES = 48


def _by_values(v: ir.Expr, ty: ir.Scalar) -> tuple[ir.Expr, int, Rep] | None:
    """(A, m, residue or one's complement) for a reduction in a spelling _reduction
    does not read (`if (s & 0x10000) != 0 { s = (s & 0xffff) + 1; }`,
    `s - 65535 * ((s >= 65535) as u32)`): A is a sum inside v, m one of v's
    constants or one off it, and Z3 finds that v computes A's residue (or
    one's complement value) modulo m for every A below 2m (up to 2m), what
    one reduction meets when the old value is reduced and the term at most
    m - 1 (m).
    Only a guess: the site's `source` obligation proves the statements
    themselves, over the terms' real ranges."""
    sums = [e for e in _inner(v) if isinstance(e, ir.Binary) and e.op == "add" and e.ty == ty]
    consts = {int(c.value) for c in ir.walk(v) if isinstance(c, ir.Const) and c.ty.is_int}
    ms = sorted({m for k in consts for m in (k - 1, k, k + 1) if 2 <= m and 2 * m <= ty.mask})
    guesses = [(a, m, ones) for a in dict.fromkeys(sums) for m in ms for ones in (False, True)]
    for keep, m, ones in guesses[:MAX_GUESSES]:
        if _computes(v, keep, ty, m, ones):
            return keep, m, "ones" if ones else "residue"
    return None


def _inner(e: ir.Expr):
    """The subexpressions of e, e itself left out, outermost first."""
    for x in ir.walk(e):
        if x is not e:
            yield x


def _computes(v: ir.Expr, keep: ir.Expr, ty: ir.Scalar, m: int, ones: bool) -> bool:
    a = z3.BitVec("guess!A", ty.bits)
    try:
        value = straight.evaluate(abstract(v, keep, ir.Var("guess!A", ty)), {"guess!A": a})
    except ValueError:  # a load outside the sum: no reduction of it alone
        return False
    M = z3.BitVecVal(m, ty.bits)
    rep = z3.URem(a, M) if not ones else z3.If(a == 0, z3.BitVecVal(0, ty.bits), z3.URem(a - 1, M) + 1)
    solver = rules.solver(GUESS_RLIMIT, 2000)
    solver.add(z3.ULE(a, 2 * m if ones else 2 * m - 1), value != rep)
    return solver.check() == z3.unsat


def _less(low: ir.Expr, keep: ir.Expr) -> int | None:
    """m where `low` is keep less a positive constant m: `keep - m`, or
    keep plus m's negation (`keep + 0xffff0001` for m = 65535 in u32,
    which is how `-65535 + s` reads), either way round."""
    if not isinstance(low, ir.Binary):
        return None
    if low.op == "sub" and low.a == keep and _pos_const(low.b):
        return int(low.b.value)
    if low.op == "add" and low.ty.kind == "uint":
        for a, c in ((low.a, low.b), (low.b, low.a)):
            if a == keep and isinstance(c, ir.Const) and c.ty == low.ty and (-int(c.value)) & low.ty.mask:
                return (-int(c.value)) & low.ty.mask
    return None


def _fold_of(e: ir.Expr) -> tuple[ir.Expr, int] | None:
    """(A, M) when e is `(A & M) + (A >> k)`, M = 2^k - 1, in either order."""
    if not (isinstance(e, ir.Binary) and e.op == "add" and e.ty.kind == "uint"):
        return None
    for lo, hi in ((e.a, e.b), (e.b, e.a)):
        if not (isinstance(lo, ir.Binary) and lo.op == "and" and isinstance(hi, ir.Binary) and hi.op == "shr"):
            continue
        if not isinstance(hi.b, ir.Const) or not 1 <= int(hi.b.value) < e.ty.bits:
            continue
        k = int(hi.b.value)
        for a, mask in ((lo.a, lo.b), (lo.b, lo.a)):
            if a == hi.a and _pos_const(mask) and int(mask.value) == (1 << k) - 1:
                return a, (1 << k) - 1
    return None


def _says_at_least(c: ir.Expr, a: ir.Expr, m: int) -> bool | None:
    """True when c says a >= m, False when it says a < m (unsigned), else None."""
    if isinstance(c, ir.Unary) and c.op == "not" and c.ty.is_bool:
        p = _says_at_least(c.a, a, m)
        return None if p is None else not p
    if isinstance(c, ir.Binary) and c.op in ("ne", "eq", "gt") and _is_const(c.b, 0):
        x = c.a  # `(a >> k) != 0`: a >= 2^k
        if isinstance(x, ir.Binary) and x.op == "shr" and x.a == a and isinstance(x.b, ir.Const):
            if m == 1 << int(x.b.value):
                return c.op != "eq"
    if not (isinstance(c, ir.Binary) and c.op in ("lt", "le", "gt", "ge")):
        return None
    x, op, k = c.a, c.op, c.b
    if _pos_const(x) and not _pos_const(k):
        x, op, k = k, {"lt": "gt", "gt": "lt", "le": "ge", "ge": "le"}[op], x
    if x != a or not _pos_const(k):
        return None
    return {("ge", m): True, ("gt", m - 1): True, ("lt", m): False, ("le", m - 1): False}.get((op, int(k.value)))


def _leaves(e, news: dict, accs: set[str]):
    """e with every earlier accumulator's new value replaced by its `New`;
    None when an accumulator is read some other way."""
    if e in news:
        return news[e]
    if isinstance(e, ir.Binary) and e.op in ("add", "mul"):
        a, b = _leaves(e.a, news, accs), _leaves(e.b, news, accs)
        return None if a is None or b is None else replace(e, a=a, b=b)
    if isinstance(e, ir.Cast):
        a = _leaves(e.a, news, accs)
        return None if a is None else replace(e, a=a)
    if isinstance(e, ir.Var) and e.name in accs:
        return e
    return None if straight.mentions(e, accs) else e


def _sum_shape(s, accs: set[str]) -> bool:
    """The sum adds, multiplies by constants and widens, over unsigned
    values; the rest are element terms, which read no accumulator."""
    if isinstance(s, New):
        return True
    if isinstance(s, ir.Var) and s.name in accs:
        return s.ty.kind == "uint"
    if not _mentions_acc(s, accs):
        return s.ty.kind == "uint" and s.ty.bits <= 64  # an element term
    if isinstance(s, ir.Binary) and s.op == "add":
        return s.ty.kind == "uint" and _sum_shape(s.a, accs) and _sum_shape(s.b, accs)
    if isinstance(s, ir.Binary) and s.op == "mul":
        k, x = (s.a, s.b) if _pos_const(s.a) else (s.b, s.a)
        return s.ty.kind == "uint" and _pos_const(k) and _sum_shape(x, accs)
    if isinstance(s, ir.Cast):
        inner = _ty(s.a)
        return s.ty.kind == "uint" and inner.kind == "uint" and inner.bits <= s.ty.bits and _sum_shape(s.a, accs)
    return False


def _tree(s, accs: set[str]) -> Sum:
    """A sum that passed `_sum_shape` as a tree of exact operations."""
    if isinstance(s, New):
        return s
    if isinstance(s, ir.Var) and s.name in accs:
        return Old(s.name, s.ty)
    if not _mentions_acc(s, accs):
        return Elem(s)
    if isinstance(s, ir.Cast):
        return _tree(s.a, accs)
    if s.op == "add":
        return Add(_tree(s.a, accs), _tree(s.b, accs))
    k, x = (s.a, s.b) if _pos_const(s.a) else (s.b, s.a)
    return Scale(int(k.value), _tree(x, accs))


def leaves(t: Sum):
    """The leaves of a sum, left to right."""
    if isinstance(t, Add):
        yield from leaves(t.a)
        yield from leaves(t.b)
    elif isinstance(t, Scale):
        yield from leaves(t.x)
    else:
        yield t


def _mentions_acc(s, accs: set[str]) -> bool:
    return any(isinstance(x, New) or (isinstance(x, ir.Var) and x.name in accs) for x in _walk(s))


def _walk(s):
    """The nodes of a sum, its `New` leaves included."""
    yield s
    if isinstance(s, ir.Binary):
        yield from _walk(s.a)
        yield from _walk(s.b)
    elif isinstance(s, ir.Cast):
        yield from _walk(s.a)
    elif not isinstance(s, New):
        yield from (x for c in ir.children(s) for x in _walk(c))


def _pos_const(e: object) -> TypeGuard[ir.Const]:
    return isinstance(e, ir.Const) and e.ty.kind == "uint" and int(e.value) > 0


def _is_const(e: object, value: int) -> bool:
    return isinstance(e, ir.Const) and e.ty.is_int and int(e.value) == value


def _ty(e: ir.Expr) -> ir.Scalar:
    """The type of a call-free expression (only a void call has none)."""
    assert e.ty is not None, "a call-free expression has a type"
    return e.ty


# ================================================================ chains in closed form


@dataclass(frozen=True)
class Chain:
    """A block whose accumulators read each other only as a chain of sums,
    which has a closed form (Adler-32's and Fletcher's second sum):

        first  x:  x' = x + E_x                      (element terms only)
        second q:  q' = q + sum over firsts x of (c_qx * x + d_qx * x') + E_q

    After L iterations, with S0_x = sum of E_x(t) and S1_x = sum of t*E_x(t)
    over t = 0..L-1 (t counted from the block's start), x gains S0_x and q
    gains sum of E_q plus, per x it reads,
    (c + d) * (L*x0 + (L-1)*S0_x - S1_x) + d*S0_x.  S0, S1 and the E_q sums
    carry nothing but themselves, so the block's loop becomes plain sums,
    which vectorise; the serial chain q' = q + x' does not."""

    firsts: dict[str, tuple]  # x -> its element terms, (multiple, Elem) pairs
    seconds: dict[str, tuple]  # q -> its element terms
    reads: dict[str, dict[str, tuple[int, int]]]  # q -> x -> (c, d): multiples of x's old and new values


def chain(site: Site) -> Chain | None:
    """The chain `site`'s sums form, or None: any other dependence, or no
    accumulator reading another (a plain sum vectorises as it is)."""
    lin = {a.name: _linear(a.sum) for a in site.accs}
    firsts = {n: elems for n, (refs, elems) in lin.items() if refs == {Old(n, _acc_ty(site, n)): 1}}
    seconds: dict[str, tuple] = {}
    reads: dict[str, dict[str, tuple[int, int]]] = {}
    for n, (refs, elems) in lin.items():
        if n in firsts:
            continue
        own = Old(n, _acc_ty(site, n))
        if refs.get(own) != 1 or any(r.name not in firsts for r in refs if r != own):
            return None
        reads[n] = {}
        for r, k in refs.items():
            if r != own:
                c, d = reads[n].get(r.name, (0, 0))
                reads[n][r.name] = (c + k, d) if isinstance(r, Old) else (c, d + k)
        seconds[n] = elems
    return Chain(firsts, seconds, reads) if seconds else None


def _acc_ty(site: Site, name: str) -> ir.Scalar:
    return next(a.ty for a in site.accs if a.name == name)


def _linear(t: Sum) -> tuple[dict, tuple]:
    """A sum as the multiples of its accumulator leaves (Old and New) and
    its element terms with their multiples."""
    refs: dict = {}
    elems: list = []

    def walk(t: Sum, k: int) -> None:
        if isinstance(t, Add):
            walk(t.a, k)
            walk(t.b, k)
        elif isinstance(t, Scale):
            walk(t.x, k * t.k)
        elif isinstance(t, Elem):
            elems.append((k, t))
        else:
            refs[t] = refs.get(t, 0) + k

    walk(t, 1)
    return refs, tuple(elems)


def _elem_sum(elems: tuple) -> Sum | None:
    """The element terms as one sum (None: there are none)."""
    out: Sum | None = None
    for k, e in elems:
        term: Sum = e if k == 1 else Scale(k, e)
        out = term if out is None else Add(out, term)
    return out


# ================================================================ bounds


def _upper(e: ir.Expr) -> int:
    """An upper bound of an unsigned element term (its type's largest value
    where nothing tighter is evident)."""
    top = _ty(e).mask
    if isinstance(e, ir.Const):
        return int(e.value)
    if isinstance(e, ir.Cast) and _ty(e.a).kind == "uint" and _ty(e.a).bits <= e.ty.bits:
        return _upper(e.a)
    if isinstance(e, ir.Binary) and e.ty.kind == "uint":
        if e.op == "and":
            return min(_upper(e.a), _upper(e.b))
        if e.op == "rem" and _pos_const(e.b):
            return min(_upper(e.a), int(e.b.value) - 1)
        if e.op == "shr" and isinstance(e.b, ir.Const):
            return _upper(e.a) >> int(e.b.value) if int(e.b.value) < e.ty.bits else 0
        if e.op in ("add", "mul"):
            x, y = _upper(e.a), _upper(e.b)
            v = x + y if e.op == "add" else x * y
            return v if v <= top else top  # it may wrap: then only the type bounds it
    if isinstance(e, ir.Prim) and e.name == "select" and e.ty.kind == "uint":
        return max(_upper(e.args[1]), _upper(e.args[2]))
    return top


def value(t: Sum, leaf):
    """A sum's exact value, from each leaf's (`leaf(x)`, for an Old, New or
    Elem x): Python ints, Z3 integers or wide enough bit-vectors."""
    if isinstance(t, Add):
        return value(t.a, leaf) + value(t.b, leaf)
    if isinstance(t, Scale):
        return t.k * value(t.x, leaf)
    return leaf(t)


@dataclass(frozen=True)
class Block:
    """Blocks of K iterations in a wide type of `bits`; each accumulator's
    bound at the start of a block's last iteration, and after it."""

    bits: int
    K: int
    start: dict[str, int]
    end: dict[str, int]


def block(site: Site, bits: int, length: int | None = None) -> Block | None:
    """The longest block (at most MAX_BLOCK) whose sums stay below 2^bits
    from starts below each modulus, each element term at its bound; None
    when that is shorter than MIN_BLOCK or a leaf is wider than the type.
    `length`: the bounds of blocks of exactly that many iterations, whether
    they fit or not (for the proof to judge)."""
    if any(a.ty.bits > bits for a in site.accs) or any(
        isinstance(x, Elem) and _ty(x.expr).bits > bits for a in site.accs for x in leaves(a.sum)
    ):
        return None
    limit = (1 << bits) - 1
    ups = {x: _upper(x.expr) for a in site.accs for x in leaves(a.sum) if isinstance(x, Elem)}

    def step(U: dict[str, int]) -> dict[str, int]:
        new: dict[str, int] = {}
        for a in site.accs:
            new[a.name] = value(
                a.sum, lambda x: new[x.name] if isinstance(x, New) else U[x.name] if isinstance(x, Old) else ups[x]
            )
        return new

    # U: the bounds after k iterations; M: the largest start so far, from
    # which (the sums being monotone) every iteration's bound follows.
    U = {a.name: a.top for a in site.accs}
    M, found = dict(U), None
    for k in range(MAX_BLOCK if length is None else length):
        M = {n: max(M[n], U[n]) for n in M}
        top = step(M)
        if length is None and max(top.values()) > limit:
            break
        found, U = Block(bits, k + 1, M, top), step(U)
    if length is not None:
        return found
    return found if found is not None and found.K >= MIN_BLOCK else None


# ================================================================ the rewrite


@dataclass
class Wide:
    """The statements that replace a matched loop: fresh names, wide type."""

    site: Site
    block: Block
    taken: set[str]
    # loads (array, index) proven below their array's length for every i in
    # lo..hi: the wide loop visits a subset of those i, so they need no check
    in_range: frozenset = frozenset()
    chain: Chain | None = None  # the block's closed form, where its sums form one
    w: dict[str, str] = field(init=False)  # accumulator -> its wide copy
    nxt: dict[str, str] = field(init=False)  # accumulator -> its new wide value in the body
    j: str = field(init=False)  # the first iteration of a block
    end: str = field(init=False)  # one past its last
    jj: str = field(init=False)  # the inner loop's variable
    a0: dict[str, str] = field(init=False)
    e: dict[str, str] = field(init=False)
    s1: dict[str, str] = field(init=False)
    eq: dict[str, str] = field(init=False)
    t: str = field(init=False)  # the iteration's place in its block, in the wide type
    L: str = field(init=False)  # the block's length, in the wide type

    def __post_init__(self) -> None:
        var = self.site.loop.var
        self.w = {a.name: ir.fresh_name(f"{a.name}.wide", self.taken) for a in self.site.accs}
        self.nxt = {a.name: ir.fresh_name(f"{a.name}.next", self.taken) for a in self.site.accs}
        self.j = ir.fresh_name(f"{var}.block", self.taken)
        self.end = ir.fresh_name(f"{var}.end", self.taken)
        self.jj = ir.fresh_name(f"{var}.wide", self.taken)
        # the closed form's own values: per first that a second reads, its
        # start (a0), this iteration's elements (e) and their weighted sum
        # (s1); per second with element terms, their sum (eq)
        ch = self.chain
        read = sorted({x for r in ch.reads.values() for x in r}) if ch else []
        self.a0, self.e, self.s1 = (
            {x: ir.fresh_name(f"{x}.{tag}", self.taken) for x in read} for tag in ("a0", "e", "s1")
        )
        summed = [q for q, elems in ch.seconds.items() if elems] if ch else []
        self.eq = {q: ir.fresh_name(f"{q}.elems", self.taken) for q in summed}
        self.t = ir.fresh_name(f"{var}.t", self.taken)
        self.L = ir.fresh_name(f"{var}.len", self.taken)

    @property
    def WT(self) -> ir.Scalar:
        return ir.U32 if self.block.bits == 32 else ir.U64

    @property
    def K(self) -> int:
        # a block never outruns the loop variable's type: hi - j <= its mask
        return min(self.block.K, self.site.loop.ty.mask)

    def wv(self, name: str) -> ir.Var:
        return ir.Var(self.w[name], self.WT)

    def guard(self) -> ir.Expr:
        tests: list[ir.Expr] = [
            ir.Binary("lt", ir.Var(a.name, a.ty), self.modulus_of(a, a.ty), ir.BOOL)
            if a.rep == "residue"
            else ir.Binary("le", ir.Var(a.name, a.ty), self.modulus_of(a, a.ty), ir.BOOL)
            if a.divisor is not None  # a run-time cap
            else ir.Binary("le", ir.Var(a.name, a.ty), ir.Const(a.top, a.ty), ir.BOOL)
            for a in self.site.accs
            # a sum modulo 2^bits, or capped at its type's largest, is always within it
            if not a.wraps and (a.top < a.ty.mask or a.divisor is not None)
        ]
        moduli = {(a.divisor, a.modulus, a.least) for a in self.site.accs if a.divisor is not None}
        for d, top, least in sorted(moduli, key=str):
            if top < _upper(d):  # a run-time modulus no larger than its bound
                tests.append(ir.Binary("le", d, ir.Const(top, _ty(d)), ir.BOOL))
            if least > 1:  # and no smaller than one subtraction needs
                tests.append(ir.Binary("ge", d, ir.Const(least, _ty(d)), ir.BOOL))
        if not tests:
            return ir.Const(True, ir.BOOL)
        g = tests[0]
        for t in tests[1:]:
            g = ir.Binary("land", g, t, ir.BOOL)
        return g

    def modulus_of(self, a: Acc, ty: ir.Scalar) -> ir.Expr:
        """a's modulus as a value of `ty`: its constant, or its run-time value."""
        if a.divisor is None:
            return ir.Const(a.modulus, ty)
        return a.divisor if _ty(a.divisor) == ty else ir.Cast(a.divisor, ty)

    def prologue(self) -> tuple:
        return tuple(ir.Let(self.w[a.name], self.WT, ir.Cast(ir.Var(a.name, a.ty), self.WT)) for a in self.site.accs)

    def op(self, name: str, a: ir.Expr | int, b: ir.Expr) -> ir.Binary:
        """`a name b` in the wide type (an int a: a constant of it)."""
        W = self.WT
        return ir.Binary(name, ir.Const(a, W) if isinstance(a, int) else a, b, W)

    def widen(self, t: Sum) -> ir.Expr:
        if isinstance(t, Add):
            return self.op("add", self.widen(t.a), self.widen(t.b))
        if isinstance(t, Scale):
            return self.op("mul", t.k, self.widen(t.x))
        if isinstance(t, Old):
            return self.wv(t.name)
        if isinstance(t, New):
            return ir.Var(self.nxt[t.name], self.WT)
        loop = self.site.loop
        e = ir.map_expr(t.expr, load=lambda x: replace(x, inbounds=True) if (x.array, x.index) in self.in_range else x)
        return self._in_wide(straight.rename(e, loop.var, ir.Var(self.jj, loop.ty)))

    def body(self) -> tuple:
        lets = tuple(ir.Let(self.nxt[a.name], self.WT, self.widen(a.sum)) for a in self.site.accs)
        return lets + tuple(ir.Assign(self.w[a.name], ir.Var(self.nxt[a.name], self.WT)) for a in self.site.accs)

    def reduce(self) -> tuple:
        return tuple(ir.Assign(self.w[a.name], self.representative(a)) for a in self.site.accs)

    def representative(self, a: Acc) -> ir.Expr:
        """The source's value of a wide value: its residue, for one's
        complement 0 for 0 and else the residue in [1, m], for a cap the
        least of it and c."""
        W, w = self.WT, self.wv(a.name)
        m, one, zero = self.modulus_of(a, W), ir.Const(1, W), ir.Const(0, W)
        if a.rep == "residue":
            return ir.Binary("rem", w, m, W)
        if a.rep == "cap":
            return ir.Prim("min", (w, m), W)
        nonzero = ir.Binary("add", ir.Binary("rem", ir.Binary("sub", w, one, W), m, W), one, W)
        return ir.Prim("select", (ir.Binary("eq", w, zero, ir.BOOL), zero, nonzero), W)

    def epilogue(self) -> tuple:
        return tuple(ir.Assign(a.name, ir.Cast(self.wv(a.name), a.ty)) for a in self.site.accs)

    def block_end(self, hi: ir.Expr) -> ir.Expr:
        """One past a block's last iteration: j + K, or hi when that is nearer."""
        T = self.site.loop.ty
        j, K = ir.Var(self.j, T), ir.Const(self.K, T)
        longer = ir.Binary("gt", ir.Binary("sub", hi, j, T), K, ir.BOOL)
        return ir.Prim("select", (longer, ir.Binary("add", j, K, T), hi), T)

    def block_loop(self) -> tuple:
        """One block, j to end: the wide body's loop, or the chain's plain
        sums and then its closed form."""
        loop, T = self.site.loop, self.site.loop.ty
        j, end = ir.Var(self.j, T), ir.Var(self.end, T)
        if self.chain is None:
            return (ir.For(self.jj, T, j, end, self.body(), loop.span),)
        return self.chain_start() + (ir.For(self.jj, T, j, end, self.chain_body(), loop.span),) + self.chain_end()

    def _in_wide(self, e: ir.Expr) -> ir.Expr:
        return e if e.ty == self.WT else ir.Cast(e, self.WT)

    def _v(self, name: str) -> ir.Var:
        return ir.Var(name, self.WT)

    def chain_start(self) -> tuple:
        zero = ir.Const(0, self.WT)
        out = [ir.Let(self.a0[x], self.WT, self.wv(x)) for x in self.a0]
        out += [ir.Let(self.s1[x], self.WT, zero) for x in self.s1]
        return tuple(out + [ir.Let(self.eq[q], self.WT, zero) for q in self.eq])

    def chain_body(self) -> tuple:
        assert self.chain is not None
        W, T = self.WT, self.site.loop.ty
        out: list[ir.Stmt] = []
        if self.s1:
            since = ir.Binary("sub", ir.Var(self.jj, T), ir.Var(self.j, T), T)
            out.append(ir.Let(self.t, W, self._in_wide(since)))
        for x, elems in self.chain.firsts.items():
            total = _elem_sum(elems)
            e = ir.Const(0, W) if total is None else self.widen(total)
            if x in self.e:
                out.append(ir.Let(self.e[x], W, e))
                e = self._v(self.e[x])
                weighted = self.op("mul", self._v(self.t), e)
                out.append(ir.Assign(self.s1[x], self.op("add", self._v(self.s1[x]), weighted)))
            out.append(ir.Assign(self.w[x], self.op("add", self.wv(x), e)))
        for q, name in self.eq.items():
            total = _elem_sum(self.chain.seconds[q])
            assert total is not None
            out.append(ir.Assign(name, self.op("add", self._v(name), self.widen(total))))
        return tuple(out)

    def chain_end(self) -> tuple:
        """Each second's value after the block, from its start, the firsts'
        starts and ends, and the block's sums (the Chain's formula)."""
        assert self.chain is not None
        W, T, op = self.WT, self.site.loop.ty, self.op
        length = ir.Binary("sub", ir.Var(self.end, T), ir.Var(self.j, T), T)
        L = self._v(self.L)
        out: list[ir.Stmt] = [ir.Let(self.L, W, self._in_wide(length))]
        for q, refs in self.chain.reads.items():
            v: ir.Expr = self.wv(q)
            if q in self.eq:
                v = op("add", v, self._v(self.eq[q]))
            for x, (c, d) in refs.items():
                a0 = self._v(self.a0[x])
                s0 = op("sub", self.wv(x), a0)
                spread = op("add", op("mul", L, a0), op("mul", op("sub", L, ir.Const(1, W)), s0))
                before = op("sub", spread, self._v(self.s1[x]))
                if c + d:
                    v = op("add", v, op("mul", c + d, before))
                if d:
                    v = op("add", v, op("mul", d, s0))
            out.append(ir.Assign(self.w[q], v))
        return tuple(out)

    def statement(self) -> ir.If:
        loop = self.site.loop
        T = loop.ty
        j, end = ir.Var(self.j, T), ir.Var(self.end, T)
        blocks = ir.While(
            ir.Binary("lt", j, loop.hi, ir.BOOL),
            (ir.Let(self.end, T, self.block_end(loop.hi)),)
            + self.block_loop()
            + self.reduce()
            + (ir.Assign(self.j, end),),
            loop.span,
        )
        then = self.prologue() + (ir.Let(self.j, T, loop.lo), blocks) + self.epilogue()
        return ir.If(self.guard(), then, (loop,), loop.span)


# ================================================================ the proof


def names(wide: Wide) -> tuple[str, ...]:
    """The obligations of a rewrite, in the order they are checked."""
    closed = ("chain",) if wide.chain is not None else ()
    return ("source", "wide") + closed + ("congruence", "blocks", "init", "reduce")


class Obligations:
    """The proof obligations of one rewrite (the module docstring), each
    checked as the unsatisfiability of its negation."""

    def __init__(self, wide: Wide, timeout_ms: int = PROOF_TIMEOUT_MS):
        self.rw, self.site, self.timeout_ms = wide, wide.site, timeout_ms
        loop = self.site.loop
        i = z3.BitVec("inv!i", loop.ty.bits)
        self.env0 = {loop.var: i, wide.jj: i}  # both loops' k-th iteration reads the same elements
        self.loads: dict = {}
        self.s = {a.name: z3.BitVec(f"inv!{a.name}", a.ty.bits) for a in self.site.accs}
        self.w = {a.name: z3.BitVec(f"inv!{a.name}.wide", wide.block.bits) for a in self.site.accs}

    def all(self) -> dict[str, Verdict]:
        """Every obligation, in order, up to the first that is not proven."""
        out: dict[str, Verdict] = {}
        for name in names(self.rw):
            out[name] = getattr(self, name)()
            if not out[name].proven:
                break
        return out

    def read(self, array: str, index, ty: ir.Scalar):
        """One unconstrained value per element read (array and index)."""
        key = (array, z3.simplify(index).sexpr(), ty)
        if key not in self.loads:
            self.loads[key] = z3.Const(f"inv!{array}[{len(self.loads)}]", sort_of(ty))
        return self.loads[key]

    def elem(self, x: Elem, bits: int):
        v = straight.evaluate(x.expr, dict(self.env0), self.read)
        return z3.ZeroExt(bits - _ty(x.expr).bits, v)

    def modulus(self, a: Acc, bits: int):
        """a's modulus as a bit-vector of `bits`: its constant, or the
        run-time value (the same unconstrained value in every obligation)."""
        if a.divisor is None:
            return z3.BitVecVal(a.modulus, bits)
        m = straight.evaluate(a.divisor, dict(self.env0))
        return z3.ZeroExt(bits - m.size(), m)

    def within(self, a: Acc):
        """a's value within the guard: at most its top; below a run-time
        modulus, itself within its bounds."""
        if a.divisor is None:
            return z3.ULE(self.s[a.name], a.top)
        m = self.modulus(a, a.ty.bits)
        below = z3.ULE(self.s[a.name], m) if a.rep == "cap" else z3.ULT(self.s[a.name], m)
        return z3.And(below, z3.ULE(m, a.modulus), *([z3.ULE(a.least, m)] if a.least > 1 else []))

    def representative(self, a: Acc, x):
        """The source's value for a bit-vector x congruent to it: x's
        residue, for one's complement 0 for 0 and else the residue in
        [1, m], for a cap the least of x and c."""
        m = self.modulus(a, x.size())
        if a.rep == "residue":
            return z3.URem(x, m)
        if a.rep == "cap":
            return z3.If(z3.ULE(x, m), x, m)
        one = z3.BitVecVal(1, x.size())
        return z3.If(x == 0, z3.BitVecVal(0, x.size()), z3.URem(x - one, m) + one)

    def _check(self, claim) -> Verdict:
        t0 = time.perf_counter()
        solver = rules.solver(rules.PROOF_RLIMIT, self.timeout_ms)
        solver.add(z3.Not(claim))
        r = solver.check()
        return of_check(r, solver, (time.perf_counter() - t0) * 1000, shown=lambda n: n.removeprefix("inv!"))

    def source(self) -> Verdict:
        """Within the guard's range, the body as written sets each
        accumulator to the source's representative of its exact sum."""
        env = dict(self.env0) | self.s
        opaque = any(a.divisor is not None for a in self.site.accs)
        out = straight.run(self.site.loop.body, env, self.read, _OPAQUE if opaque else straight.D)
        below = [self.within(a) for a in self.site.accs]
        widths = [a.ty.bits for a in self.site.accs]
        claims = []
        for a in self.site.accs:
            bits = max([_width(a.sum, {b.name: b.top for b in self.site.accs})] + widths) + 1

            def leaf(x, bits=bits):
                if isinstance(x, Elem):
                    return self.elem(x, bits)
                v = self.s[x.name] if isinstance(x, Old) else out[x.name]
                return z3.ZeroExt(bits - x.ty.bits, v)

            total = value(a.sum, leaf)
            if a.divisor is None or a.rep == "cap":  # a run-time cap needs no division
                claims.append(z3.ZeroExt(bits - a.ty.bits, out[a.name]) == self.representative(a, total))
                continue
            # the body's own remainder, of the exact sum, which fits the type;
            # a remainder by m is below m (its definition: a later sum reads
            # it); or, taken by a subtraction, a value below m that is the
            # sum or the sum less m: the residue too
            low, m = z3.Extract(a.ty.bits - 1, 0, total), self.modulus(a, a.ty.bits)
            rem = _OPAQUE.urem(a.ty.bits, low, m)
            got, wide_m = (z3.ZeroExt(bits - a.ty.bits, v) for v in (out[a.name], m))
            residue = z3.And(z3.ULT(out[a.name], m), z3.Or(got == total, got + wide_m == total))
            claims += [z3.ULE(total, a.ty.mask), z3.Or(out[a.name] == rem, residue)]
            below.append(z3.Implies(m != 0, z3.ULT(rem, m)))
        return self._check(z3.Implies(z3.And(below), z3.And(claims)))

    def wide(self) -> Verdict:
        """From any start within the block's bounds, the wide body computes
        each exact sum, within its bound after the block: no wrap."""
        B = self.rw.block
        env = dict(self.env0) | {self.rw.w[n]: v for n, v in self.w.items()}
        out = straight.run(self.rw.body(), env, self.read)
        within = [z3.ULE(self.w[n], bound) for n, bound in B.start.items()]
        bits = _exact_bits(self.site, (1 << B.bits) - 1)
        exact: dict[str, object] = {}
        claims = []
        for a in self.site.accs:

            def leaf(x):
                if isinstance(x, Elem):
                    return self.elem(x, bits)
                return z3.ZeroExt(bits - B.bits, self.w[x.name]) if isinstance(x, Old) else exact[x.name]

            exact[a.name] = total = value(a.sum, leaf)
            got = z3.ZeroExt(bits - B.bits, out[self.rw.w[a.name]])
            claims += [z3.ULE(total, B.end[a.name]), got == total]
        return self._check(z3.Implies(z3.And(within), z3.And(claims)))

    def chain(self) -> Verdict:
        """A block in closed form leaves the wide values its loop leaves,
        from any start and for any elements, by induction over its
        iterations: with no iteration the closed form gives the start
        values back; if, after k < K iterations of both loops, the closed
        form of the chain's values gives the loop's values, it does so after
        one more iteration of each.  On bit-vectors of the wide type: the
        closed form is a polynomial identity, true modulo 2^bits as over the
        integers, so it holds whether or not a partial sum wraps."""
        rw = self.rw
        T, bits = self.site.loop.ty, rw.block.bits
        j, k = z3.BitVec("inv!j", T.bits), z3.BitVec("inv!k", T.bits)
        accs = [a.name for a in self.site.accs]

        def ends(env: dict, done) -> dict:
            """The wide values if the block ended after `done` iterations."""
            out = straight.run(rw.chain_end(), env | {rw.j: j, rw.end: j + done}, self.read)
            return {n: out[rw.w[n]] for n in accs}

        start = {rw.w[n]: self.w[n] for n in accs}
        first = ends(straight.run(rw.chain_start(), start, self.read), z3.BitVecVal(0, T.bits))
        base = z3.And([first[n] == self.w[n] for n in accs])
        kept = [*rw.a0.values(), *rw.s1.values(), *rw.eq.values(), *rw.w.values()]
        state = {v: z3.BitVec(f"inv!{v}", bits) for v in kept}
        loop = straight.run(rw.body(), start | {rw.jj: j + k}, self.read)
        closed = straight.run(rw.chain_body(), state | {rw.jj: j + k, rw.j: j}, self.read)
        before, after = ends(state, k), ends(closed, k + 1)
        holds = z3.And([before[n] == self.w[n] for n in accs])
        step = z3.Implies(z3.And(z3.ULT(k, rw.K), holds), z3.And([after[n] == loop[rw.w[n]] for n in accs]))
        return self._check(z3.And(base, step))

    def congruence(self) -> Verdict:
        """Each sum of leaves congruent modulo its modulus is congruent; for
        one's complement, of leaves that are 0 together, 0 together too
        (leaves and multiples never negative: they are unsigned values)."""
        claims = []
        for a in self.site.accs:
            if a.rep == "cap":
                claims.append(_same_capped(a, z3.IntVal(a.modulus) if a.divisor is None else z3.Int("inv!c")))
                continue
            if a.divisor is not None:  # residues only
                claims.append(self._congruent(a))
                continue
            m = a.modulus

            def wide(x, m=m):
                return _int_leaf(x) + m * _quotient(x)

            claim = (value(a.sum, wide) - value(a.sum, _int_leaf)) % m == 0
            if a.ones:
                xs = list(leaves(a.sum))
                hyps = [_int_leaf(x) >= 0 for x in xs] + [_quotient(x) >= 0 for x in xs]
                hyps += [(wide(x) == 0) == (_int_leaf(x) == 0) for x in xs]
                same_zero = (value(a.sum, wide) == 0) == (value(a.sum, _int_leaf) == 0)
                claim = z3.Implies(z3.And(hyps), z3.And(claim, same_zero))
            claims.append(claim)
        return self._check(z3.And(claims))

    def _congruent(self, a: Acc):
        """For a run-time modulus m >= 1: leaves each congruent modulo m
        (a wide one its source's plus m times some q) give sums that differ
        by m times the same sum of the q's, an identity of polynomials."""
        m = z3.Int("inv!m")
        diff = value(a.sum, lambda x: _int_leaf(x) + m * _quotient(x)) - value(a.sum, _int_leaf)
        return z3.Implies(m >= 1, diff == m * value(a.sum, _quotient))

    def blocks(self) -> Verdict:
        """A block runs from j to its end: at least one iteration, at most K,
        not past hi (for any hi: the loop's bound is call-free)."""
        T = self.site.loop.ty
        j, hi = z3.BitVec("inv!j", T.bits), z3.BitVec("inv!hi", T.bits)
        end = self.rw.block_end(ir.Var("hi!", T))
        e = straight.evaluate(end, {self.rw.j: j, "hi!": hi})
        K = z3.BitVecVal(self.rw.K, T.bits)
        return self._check(z3.Implies(z3.ULT(j, hi), z3.And(z3.ULT(j, e), z3.ULE(e, hi), z3.ULE(e - j, K))))

    def init(self) -> Verdict:
        """Under the guard the prologue starts each wide value at its source's."""
        out = straight.run(self.rw.prologue(), dict(self.s), self.read)
        guard = straight.evaluate(self.rw.guard(), dict(self.s), self.read)
        claims = [
            z3.And(out[self.rw.w[a.name]] == z3.ZeroExt(self.rw.block.bits - a.ty.bits, self.s[a.name]))
            for a in self.site.accs
        ]
        below = [self.within(a) for a in self.site.accs]
        return self._check(z3.Implies(guard, z3.And(claims + below)))

    def reduce(self) -> Verdict:
        """A wide value congruent to its source's gives the source's back
        through the reduction and the final cast.  In two parts, as Z3
        decides neither in one piece on bit-vectors: the emitted statements
        set s to the low bits of w's unsigned remainder by m (bit-vectors),
        and a remainder is unique: w == s + m*q == m*d + r with s and r in
        [0, m) gives r == s (integers).  m < 2^bits of s, so the cast keeps
        the remainder whole."""
        bits = self.rw.block.bits
        env = dict(self.s) | {self.rw.w[n]: v for n, v in self.w.items()}
        out = straight.run(self.rw.reduce() + self.rw.epilogue(), env, self.read)
        form = [
            out[a.name] == z3.Extract(a.ty.bits - 1, 0, self.representative(a, self.w[a.name])) for a in self.site.accs
        ]
        s, q, d, r, w = z3.Ints("inv!s inv!q inv!d inv!r inv!w")
        unique = []
        if any(a.divisor is not None and a.rep == "residue" for a in self.site.accs):  # any m >= 1 (s < m)
            m = z3.Int("inv!m")
            hyps = [1 <= m, 0 <= s, s < m, 0 <= r, r < m, s + m * q == m * d + r]
            unique.append(z3.Implies(z3.And(hyps), r == s))
        if any(a.divisor is not None and a.rep == "cap" for a in self.site.accs):  # any cap c >= 0 (s <= c)
            c = z3.Int("inv!c")
            hyps = [0 <= c, 0 <= s, s <= c, 0 <= w, z3.If(w <= c, w, c) == s]
            unique.append(z3.Implies(z3.And(hyps), z3.If(w <= c, w, c) == s))
        for m, rep in sorted({(a.modulus, a.rep) for a in self.site.accs if a.divisor is None}):
            if rep == "cap":  # min(w, c) == s is the relation itself: s comes back
                hyps = [0 <= s, s <= m, 0 <= w, z3.If(w <= m, w, m) == s]
                unique.append(z3.Implies(z3.And(hyps), z3.If(w <= m, w, m) == s))
                continue
            if rep == "residue":
                hyps = [0 <= s, s < m, 0 <= r, r < m, s + m * q == m * d + r]
                unique.append(z3.Implies(z3.And(hyps), r == s))
                continue
            # one's complement: 0 stays 0; else w - 1 == m*d + r, r in [0, m), gives r + 1
            hyps = [0 <= s, s <= m, q >= 0, w == s + m * q, (w == 0) == (s == 0), w - 1 == m * d + r, 0 <= r, r < m]
            unique.append(z3.Implies(z3.And(hyps), z3.If(w == 0, 0, r + 1) == s))
        accs = self.site.accs
        fits = all(a.modulus <= a.ty.mask + 1 for a in accs) and bits >= max(a.ty.bits for a in accs)
        return self._check(z3.And(form + unique + [z3.BoolVal(fits)]))


def _width(t: Sum, bounds: dict[str, int]) -> int:
    """Bits that hold a sum exactly when its accumulator leaves are within
    `bounds` and each element term anywhere in its type."""

    def leaf(x):
        return _ty(x.expr).mask if isinstance(x, Elem) else bounds[x.name]

    return value(t, leaf).bit_length()


def _exact_bits(site: Site, top: int) -> int:
    """Bits that hold every wide sum exactly, whatever the values of the
    wide type (`top` its largest) and of the element terms."""
    bounds: dict[str, int] = {a.name: top for a in site.accs}
    widest = 0
    for a in site.accs:  # a New leaf is an earlier sum, bounded before it
        widest = max(widest, _width(a.sum, bounds))
        bounds[a.name] = max(top, (1 << _width(a.sum, bounds)) - 1)
    return widest + 1


# ================================================================ the public entry


@dataclass
class Proof:
    wide: Wide
    obligations: dict[str, Verdict]

    @property
    def proven(self) -> bool:
        return tuple(self.obligations) == names(self.wide) and all(v.proven for v in self.obligations.values())

    def as_dict(self) -> dict:
        w = self.wide
        return {
            "loop": str(w.site.loop.span),
            "accumulators": [_modulus_text(a) for a in w.site.accs],
            "wide_type": w.WT.name,
            "block": w.K,
            "closed_form": closed_form(w.chain),
            "unchecked": sorted(f"{a}[{ir.pretty_expr(i)}]" for a, i in w.in_range),
            "guard": ir.pretty_expr(w.guard()),
            "obligations": {k: str(v) for k, v in self.obligations.items()},
        }


def prove(
    site: Site,
    taken: set[str],
    *,
    fn: ir.Function | None = None,
    bits: int | None = None,
    block_len: int | None = None,
) -> Proof | None:
    """The rewrite of `site` and its proof; None when no block length fits.
    `fn`, the function the loop is in, lets the element loads be proven in
    range (nests.Prover), so that the wide loop reads them unchecked.
    `bits` forces the wide type and `block_len` the block length (a test's
    way to hand the prover a block too long and see it refuse)."""
    choices = [bits] if bits else ([32, 64] if all(a.ty.bits <= 32 for a in site.accs) else [64])
    found = [b for b in (block(site, n) for n in choices) if b is not None]
    if not found:
        return None
    chosen = found[0] if found[0].K >= MIN_BLOCK_U32 or len(found) == 1 else found[1]
    if block_len is not None:
        chosen = block(site, chosen.bits, block_len) or chosen
    names_taken = set(taken) | straight.loop_names(site.loop)
    wide = Wide(site, chosen, set(names_taken), _in_range(site, fn), chain(site))
    proof = Proof(wide, Obligations(wide).all())
    if wide.chain is not None and not proof.proven:  # the blocks still pay without the closed form
        wide = Wide(site, chosen, names_taken, wide.in_range)
        proof = Proof(wide, Obligations(wide).all())
    return proof


def _int_leaf(x):
    """A leaf of a sum as an unknown integer: the source's value."""
    return z3.Int(f"inv!e{id(x)}" if isinstance(x, Elem) else f"inv!{type(x).__name__}.{x.name}")


def _same_capped(a: Acc, c):
    """For an accumulator capped at c (an integer, or an unknown one for a
    cap known at run time): leaves the same once capped (a wide one at
    least its source's, the two equal below c) give sums the same once
    capped.  Every leaf and multiple is non-negative, so a sum reaches c
    whenever a capped leaf in it does (integers)."""

    def wide(x):  # an element term is read the same by both loops
        return _int_leaf(x) if isinstance(x, Elem) else z3.Int(f"inv!w.{type(x).__name__}.{x.name}")

    hyps = [c >= 0]
    for x in leaves(a.sum):
        hyps += [
            _int_leaf(x) >= 0,
            wide(x) >= 0,
            z3.If(wide(x) <= c, wide(x), c) == z3.If(_int_leaf(x) <= c, _int_leaf(x), c),
        ]
    w, s = value(a.sum, wide), value(a.sum, _int_leaf)
    return z3.Implies(z3.And(hyps), z3.If(w <= c, w, c) == z3.If(s <= c, s, c))


def _quotient(x):
    """How many m a wide leaf exceeds its source's value by: unknown for an
    accumulator, 0 for an element term (read the same in both loops)."""
    return z3.IntVal(0) if isinstance(x, Elem) else z3.Int(f"inv!q.{type(x).__name__}.{x.name}")


class _OpaqueRemainder(Z3Domain):
    """The semantics with a remainder by a value known only at run time
    left uninterpreted: what the `source` obligation needs of it is that
    the body takes it of the exact sum, and an unsigned remainder of a
    value of the type by a non-zero m is that value's residue modulo m, by
    its definition.  Z3 then need not bit-blast a division (a 64-bit one
    exhausts its resource limit)."""

    def urem(self, w: int, a, b):
        if z3.is_bv_value(b):
            return super().urem(w, a, b)
        bv = z3.BitVecSort(w)
        return z3.Function(f"inv!rem{w}", bv, bv, bv)(self._bv(w, a), self._bv(w, b))


_OPAQUE = _OpaqueRemainder()


def _modulus_text(a: Acc) -> str:
    if a.divisor is not None:
        low = f"at least {a.least} and " if a.least > 1 else ""
        how = "capped at" if a.rep == "cap" else "mod"
        return f"{a.name} {how} {ir.pretty_expr(a.divisor)} ({low}at most {a.modulus}, checked before the loop)"
    if a.rep == "cap":
        return f"{a.name} capped at {a.modulus}"
    return f"{a.name} {'ones-complement ' if a.ones else ''}mod {a.modulus}"


def closed_form(c: Chain | None) -> str | None:
    """What a chain's closed form sums, in words; None without one."""
    if c is None:
        return None
    parts = [f"{q} from {', '.join(sorted(r))}" for q, r in c.reads.items()]
    return f"{'; '.join(parts)}: each block as sums of the elements and of their places times them"


def _in_range(site: Site, fn: ir.Function | None) -> frozenset:
    """The element loads proven below their array's length for every i in
    lo..hi, with no guard (the blocks visit only such i)."""
    if fn is None:
        return frozenset()
    from . import nests

    prover = nests.Prover(fn, nests.GUARD_BITS, PROOF_TIMEOUT_MS)
    frames = [prover.frame(site.loop, [])]
    out = set()
    for a in site.accs:
        for x in leaves(a.sum):
            for load in (y for y in ir.walk(x.expr) if isinstance(y, ir.Load)) if isinstance(x, Elem) else ():
                verdict, guard = prover.in_range(load.array, load.index, frames)
                if verdict.proven and not guard:
                    out.add((load.array, load.index))
    return frozenset(out)


def deferred_reduction(
    fn: ir.Function, module: ir.Module | None = None, *, differential: bool = True, seed: int = 0, **knobs
) -> Shaped | None:
    """Every modular fold of `fn` rewritten to blocks of wide sums, each
    proven; None when there is none, or a proof or the differential check
    fails.  `knobs`: `prove`'s `bits` and `block_len`."""
    t0 = time.perf_counter()
    taken = straight.names_of(fn)
    sites: list[dict] = []
    refused: list[dict] = []

    def walk(stmts: tuple) -> tuple:
        out: list[ir.Stmt] = []
        for s in stmts:
            site = match(s, fn) if isinstance(s, ir.For) else None
            proof = None if site is None else prove(site, taken, fn=fn, **knobs)
            if proof is not None and proof.proven:
                taken.update(proof.wide.taken)
                sites.append(proof.as_dict())
                out.append(proof.wide.statement())
                continue
            if proof is not None:
                refused.append({"loop": str(s.span), "obligations": {k: str(v) for k, v in proof.obligations.items()}})
            out.append(ir.walk_blocks(s, walk))
        return tuple(out)

    body = walk(fn.body)
    if not sites:
        return None
    closed = any(site["closed_form"] for site in sites)
    evidence: dict = {
        "shape": "deferred-reduction",
        "proof": PROOF_TEXT + (CHAIN_TEXT if closed else ""),
        "loops": sites,
    }
    if refused:
        evidence["refused"] = refused
    return finish(fn, replace(fn, body=body), module, evidence, differential, seed, t0)


def proven_sites(evidence: dict) -> frozenset[str]:
    """Where (file:line:col) a deferred-reduction's evidence replaced a loop
    by an `if` proven equal to it, for validation to put back: only sites
    with every obligation proven are listed in its `loops`."""
    if evidence.get("shape") != "deferred-reduction":
        return frozenset()
    return frozenset(site["loop"] for site in evidence.get("loops", ()))


PROOF_TEXT = (
    "z3, at this loop, on its statements as written and as emitted (atlas/search/deferred.py): "
    "within the guard the body sets each accumulator to its kind's representative of its exact sum: "
    "the residue mod m, for a one's complement accumulator 0 for 0 and else the residue in [1, m], "
    "for a capped one the least of the sum and its cap c (source); from any start within the block's "
    "bounds the wide body computes the exact sums without wrapping (wide); congruent leaves give "
    "congruent sums, for one's complement leaves 0 together give sums 0 together, and for a cap "
    "leaves the same once capped give sums the same once capped (congruence, integers); each block "
    "runs 1..K iterations (blocks); the guard "
    "starts the wide values at the source's, and a run-time modulus at most its bound (init); "
    "the representative of a wide value congruent to the source's (and 0 with it; for a cap, the same "
    "once capped) is the source's value (reduce).  By induction over a block's iterations, then over "
    "the blocks; the loads marked unchecked proven in range for every i of the loop (nests.Prover)."
)
CHAIN_TEXT = (
    "  Where a loop's accumulators read each other as a chain (its `closed_form`), each block is summed in "
    "closed form, proven equal to the wide loop's values by induction over the block's iterations (chain, "
    "bit-vectors of the wide type)."
)
