"""Loop nests: range checks proven away, and the ikj interchange of a
reduction nest.

`guarded_inbounds`: an access `a[i * n + k]` is not a plain loop variable,
so the backend guards it with a range check (a branch per access), and a
loop with such branches does not vectorise.  For every load and store
inside `for` loops whose index is a *polynomial* (+, - and * over unsigned
loop variables, unsigned parameters that are never assigned, and constants;
widening casts between unsigned types), Z3 is asked to prove, over
mathematical integers, that

    G  &&  the bounds of the enclosing loops (lo <= v < hi, each a polynomial)
       &&  the conditions of the enclosing ifs that compare polynomials
       ->  index < length

and that no intermediate value of the index or of the length expression
leaves its type's range (below 2^bits, and not below 0 after a
subtraction), so that the wrapping bit-vector arithmetic the program
performs computes exactly the integers the proof is about.  An enclosing
if's condition is a premise only where every value it compares is exact
(then the program's comparison is the integers' one); its names are fixed
parameters and enclosing loop variables, so it still holds in the branch.

A loop runs on the wrapped values of its bounds: v < hi holds of the
integer hi regardless when hi only adds and multiplies (wrapping only
lowers a sum or product of non-negative values), and only where hi is
exact when it subtracts; lo <= v only where lo's operations do not wrap,
and that is how the premises are stated (`Prover.claim`).  (Bit-vector
proofs of `i*n + j < n*n` time out; over the integers they take a fraction
of a second.)  G is a guard on the
parameters, `p < 2^32` for each wide parameter that appears under a
multiplication: it keeps the products from wrapping.  Proven accesses get
`inbounds=True`; the function becomes

    if G { body, proven accesses marked } else { the original body }

G is over parameters that are never assigned, so testing it once on entry
says what holds wherever the accesses run.  A loop's bounds are evaluated
once, on entry to the loop, from loop variables of enclosing loops (which
are immutable) and such parameters, so the premise lo <= v < hi holds in
the whole body.

`interchange`: the reduction nest

    for j in B { let s: T = INIT; for k in C { s = s + E; }  c[IDX] = s; }

(usually the body of a `for i`) becomes

    for j in B { c[IDX] = INIT; }
    for k in C { for j in B { c[IDX] = c[IDX] + E; } }

whose inner loop reads and writes c contiguously and carries nothing from
one iteration to the next: LLVM may vectorise it without reordering any
float operation.  Why the results are bit-identical (argued here, not
proven by Z3; Z3 proves the two side conditions):

  * E reads only loop variables, parameters that are never assigned, and
    arrays other than c; the nest writes only c (and the checker guarantees
    that a mutable array aliases no other argument), and E calls nothing.
    So E(j, k) has the same value whenever and in whatever order it is
    evaluated.  B and C read no array and nothing the nest assigns: every
    evaluation of them gives the same bounds.
  * Per j, the source computes ((INIT + E(j, k0)) + E(j, k1)) + ... in
    ascending k, in type T, and stores it in c[IDX(j)].  The new nest keeps
    that running value in the slot c[IDX(j)] instead of in s: it stores INIT
    there, then for k ascending adds E(j, k) to what it reads back.  The
    same operations on the same operands in the same order, so the same
    bits (a float stored and loaded back is the same float, NaN payloads and
    -0.0 included).
  * Reading back gives what was stored only if (a) no other j of the same
    nest writes the slot in between — Z3 proves that distinct j in B give
    distinct IDX — and (b) the slot exists (an out-of-range write does
    nothing and an out-of-range read gives 0) — Z3 proves IDX below c's
    length.  Both under the guard, with the loop bounds as premises.
  * So after the nest every slot c[IDX(j)] holds what the source leaves
    there, and no other element of c is touched by either.  The `let s`
    is local to the j loop and read nowhere else.

This ordering argument is the proof of the interchange; it is not a Z3
equivalence of the two loops.  A differential run in the interpreter
(atlas/logic/differential.py) checks the result once more.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TypeGuard
from dataclasses import dataclass, field

import z3

from ..logic import rules
from ..logic.verdict import Status, Verdict, of_check
from ..meaning import ir
from .shapes import Shaped, finish

GUARD_BITS = 32  # the guard bounds every wide parameter under a product by 2^32
# Per obligation, a safety net: Z3's resource limit (rules.PROOF_RLIMIT)
# decides, the same on any machine under any load; the shipped cases take
# up to 2.4 million units, matmul's a few tenths of a second.
PROOF_TIMEOUT_MS = 30_000
SUFFIX = ".g"  # locals of the guarded copy are renamed x -> x.g

PROOF_INBOUNDS = (
    "z3 (integer arithmetic, no wrap-around): every marked index is below its array's length whenever the guard holds"
)
PROOF_INTERCHANGE = (
    "per element the same operations in the same order; z3: indices distinct "
    "and in range under the guard (integer arithmetic, no wrap-around); "
    "not a z3 equivalence of the loops"
)


# ================================================================ statements and expressions


def has(e, kind) -> bool:
    return any(isinstance(x, kind) for x in ir.walk(e))


def _declared(stmts) -> list[str]:
    return [s.name if isinstance(s, ir.Let) else s.var for s in ir.walk_stmts(stmts) if isinstance(s, (ir.Let, ir.For))]


def guarded_copy(fn: ir.Function, fast: tuple, guard: ir.Expr | None) -> ir.Function:
    """`if guard { fast } else { original body }`, the fast copy's locals
    renamed so that names stay unique in the function."""
    if guard is None:
        return dataclasses.replace(fn, body=fast)
    taken = ir.names_used(fn) | set(_declared(fast))
    names = {}
    for name in dict.fromkeys(_declared(fast)):
        names[name] = ir.fresh_name(name + SUFFIX, taken)
    return dataclasses.replace(fn, body=(ir.If(guard, ir.rename_locals(fast, names), fn.body, fn.span),))


# ================================================================ polynomials on Z3 integers


@dataclass
class _Poly:
    """An index-like expression as a Z3 integer, with what keeps it exact."""

    value: z3.ArithRef
    safe: list = field(default_factory=list)  # every add/mul result below 2^bits of its type
    vars: set = field(default_factory=set)  # names read
    product: set = field(default_factory=set)  # names read under a multiplication
    # whether wrapping can only lower it (+ and * of non-negative values): a
    # subtraction that wraps raises it instead
    lowers: bool = True


def _unsigned(t: object) -> TypeGuard[ir.Scalar]:
    return isinstance(t, ir.Scalar) and t.kind == "uint"


def poly(e, env: dict) -> _Poly | None:
    """e as a polynomial over the names in env (name -> z3 term), or None
    when it is anything else (a load, a local, a signed value, ...)."""
    if isinstance(e, ir.Const):
        return _Poly(z3.IntVal(e.value)) if _unsigned(e.ty) else None
    if isinstance(e, ir.Var):
        if not _unsigned(e.ty) or e.name not in env:
            return None
        return _Poly(env[e.name], [], {e.name}, set())
    if isinstance(e, ir.Cast):
        # widening an unsigned value to a wider (or equal) unsigned type keeps it
        if _unsigned(e.ty) and _unsigned(e.a.ty) and e.ty.bits >= e.a.ty.bits:
            return poly(e.a, env)
        return None
    if isinstance(e, ir.Binary) and e.op in ("add", "mul", "sub") and _unsigned(e.ty):
        a, b = poly(e.a, env), poly(e.b, env)
        if a is None or b is None:
            return None
        v = a.value + b.value if e.op == "add" else a.value * b.value if e.op == "mul" else a.value - b.value
        product = a.product | b.product | ((a.vars | b.vars) if e.op == "mul" else set())
        exact = v >= 0 if e.op == "sub" else v < 2**e.ty.bits
        lowers = a.lowers and b.lowers and e.op != "sub"
        return _Poly(v, a.safe + b.safe + [exact], a.vars | b.vars, product, lowers)
    return None


@dataclass
class _Cond:
    """An enclosing `if` whose condition compares polynomials: inside its
    then-branch (`holds`) or its else-branch.  Its names are fixed
    parameters and enclosing loop variables, so it still holds wherever the
    branch's accesses run."""

    fact: z3.BoolRef
    polys: list
    holds: bool

    @property
    def vars(self) -> set:
        return set().union(*(p.vars for p in self.polys))

    def premise(self):
        """Where every compared value is exact, the program's comparison is
        the integers' one."""
        return z3.Implies(
            z3.And(*[c for p in self.polys for c in p.safe]), self.fact if self.holds else z3.Not(self.fact)
        )


_RELATIONS = {
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
}


def _fact(e, env: dict):
    """(z3 formula, polynomials) of a condition made of comparisons of
    polynomials, `&&`, `||` and `!`; None when it is anything else."""
    if isinstance(e, ir.Binary) and e.op in _RELATIONS:
        a, b = poly(e.a, env), poly(e.b, env)
        return None if a is None or b is None else (_RELATIONS[e.op](a.value, b.value), [a, b])
    if isinstance(e, ir.Binary) and e.op in ("land", "lor"):
        a, b = _fact(e.a, env), _fact(e.b, env)
        if a is None or b is None:
            return None
        return (z3.And if e.op == "land" else z3.Or)(a[0], b[0]), a[1] + b[1]
    if isinstance(e, ir.Unary) and e.op == "not" and e.ty.is_bool:
        a = _fact(e.a, env)
        return None if a is None else (z3.Not(a[0]), a[1])
    return None


@dataclass
class Frame:
    """An enclosing `for`: its variable and those of its bounds that are
    polynomials (each gives a premise; see Prover.claim)."""

    loop: ir.For
    lo: _Poly | None
    hi: _Poly | None

    @property
    def var(self) -> str:
        return self.loop.var


def _loops(frames: list) -> list[Frame]:
    return [f for f in frames if isinstance(f, Frame)]


NOT_POLYNOMIAL = Verdict(Status.UNSUPPORTED, "the index is not a polynomial of loop variables and fixed parameters")


class Prover:
    """Range and distinctness obligations of one function, checked by Z3."""

    def __init__(self, fn: ir.Function, guard_bits: int, timeout_ms: int):
        self.fn = fn
        self.guard_bits = guard_bits
        self.timeout_ms = timeout_ms
        assigned = ir.assigned(fn.body)
        self.scalars = {p.name: p.ty for p in fn.params if isinstance(p.ty, ir.Scalar)}
        # parameters never assigned: constant for the whole call
        self.fixed = {n: t for n, t in self.scalars.items() if n not in assigned}
        self.arrays = {p.name: p.ty for p in fn.params if isinstance(p.ty, ir.Array)}
        self.assigned = assigned
        self.cache: dict[str, Verdict] = {}
        self.calls = 0
        self.seconds = 0.0

    # -- terms
    def env(self, frames: list[Frame], rename: dict | None = None) -> dict:
        """name -> z3 Int for the names a polynomial here may read."""
        out = {n: z3.Int(n) for n, t in self.fixed.items() if _unsigned(t)}
        for f in _loops(frames):
            if _unsigned(f.loop.ty) and f.var not in self.assigned:
                out[f.var] = z3.Int(f.var)
        out.update(rename or {})
        return out

    def frame(self, loop: ir.For, frames: list[Frame]) -> Frame:
        env = self.env(frames)
        if not _unsigned(loop.ty) or loop.lo.ty != loop.ty or loop.hi.ty != loop.ty:
            return Frame(loop, None, None)
        return Frame(loop, poly(loop.lo, env), poly(loop.hi, env))

    def types(self, frames: list[Frame]) -> dict:
        out = {n: t for n, t in self.fixed.items() if _unsigned(t)}
        out.update({f.var: f.loop.ty for f in _loops(frames)})
        return out

    # -- claims
    def claim(self, frames: list[Frame], polys: list[_Poly], goal, copies: dict | None = None):
        """G && domains && the premises of the relevant loops -> every poly
        exact (no add/mul result leaves its type) && goal.  Returns (claim,
        guard parameter names).  `copies` maps a loop's variable to extra z3
        copies of it that range over the same bounds (j1, j2).

        The premises of `for v in lo..hi`, where the program runs
        lo' <= v < hi' on the wrapped values lo', hi' of the bounds:
          v < hi:   always, as wrapping only ever lowers a sum or product of
                    non-negative values (hi' <= hi, by induction over the
                    polynomial: a widening cast keeps the value);
          lo <= v:  only where lo's own operations do not wrap (then lo' = lo).
        So a bound that may wrap weakens the premise instead of being trusted."""
        copies = copies or {}
        # only the loops that share a name with the goal, directly or through
        # other such loops (`for i in m..n` says m < n even where the goal
        # does not read i): dropping a premise only weakens the claim, and
        # keeps unrelated parameters out of the guard
        need = set().union(*(p.vars for p in polys))
        relevant: list[Frame] = []
        grown = True
        while grown:
            grown = False
            for f in frames:
                if isinstance(f, _Cond):
                    names = f.vars
                else:
                    names = {f.var}.union(*(b.vars for b in (f.lo, f.hi) if b is not None))
                if not any(f is r for r in relevant) and names & need:
                    relevant.append(f)
                    need |= names
                    grown = True
        used = list(polys)
        premises = []
        for f in relevant:
            if isinstance(f, _Cond):
                premises.append(f.premise())
                used += f.polys
                continue
            for v in [z3.Int(f.var)] + list(copies.get(f.var, ())):
                if f.lo is not None:
                    premises.append(z3.Implies(z3.And(*f.lo.safe), f.lo.value <= v))
                if f.hi is not None:
                    below = v < f.hi.value
                    premises.append(below if f.hi.lowers else z3.Implies(z3.And(*f.hi.safe), below))
            used += [b for b in (f.lo, f.hi) if b is not None]
        guard_params = {n for p in used for n in p.product if n in self.fixed and self.fixed[n].bits > self.guard_bits}
        types = self.types(frames)
        domain = []
        for n in sorted(set().union(*(p.vars for p in used))):
            for v in [z3.Int(n)] + list(copies.get(n, ())):
                domain += [v >= 0, v < 2 ** types[n].bits]
        guard = [z3.Int(n) < 2**self.guard_bits for n in sorted(guard_params)]
        exact = [c for p in polys for c in p.safe]
        return z3.Implies(z3.And(*domain, *guard, *premises), z3.And(*exact, goal)), guard_params

    def check(self, claim) -> Verdict:
        key = claim.sexpr()
        if key in self.cache:
            return dataclasses.replace(self.cache[key], note="the same obligation as before")
        solver = rules.solver(rules.PROOF_RLIMIT, self.timeout_ms)
        solver.add(z3.Not(claim))
        t0 = time.perf_counter()
        r = solver.check()
        ms = (time.perf_counter() - t0) * 1000
        self.calls += 1
        self.seconds += ms / 1000
        verdict = of_check(r, solver, ms)
        self.cache[key] = verdict
        return verdict

    # -- the two obligations
    def in_range(self, array: str, index: ir.Expr, frames: list[Frame]):
        """(verdict, guard parameters): index < len(array) wherever it runs."""
        if array not in self.arrays:
            return Verdict(Status.UNSUPPORTED, "not an array parameter"), set()
        env = self.env(frames)
        x = poly(index, env)
        n = poly(self.arrays[array].length, env)
        if x is None:
            return NOT_POLYNOMIAL, set()
        if n is None:
            return Verdict(Status.UNSUPPORTED, "the length is not a polynomial of fixed parameters"), set()
        claim, guard = self.claim(frames, [x, n], x.value < n.value)
        return self.check(claim), guard

    def distinct(self, index: ir.Expr, frames: list[Frame], *loops: ir.For, other: ir.Expr | None = None):
        """(verdict, guard parameters): two different values of the variables
        of `loops` (among the frames) give distinct indices; with `other`,
        `index` at the one and `other` at the second are distinct."""
        one = {lp.var: z3.Int(lp.var + "!1") for lp in loops}
        two = {lp.var: z3.Int(lp.var + "!2") for lp in loops}
        x1 = poly(index, self.env(frames, one))
        x2 = poly(index if other is None else other, self.env(frames, two))
        if x1 is None or x2 is None:
            return NOT_POLYNOMIAL, set()
        differ = z3.Or(*(one[v] != two[v] for v in one))
        claim, guard = self.claim(
            frames, [x1, x2], z3.Implies(differ, x1.value != x2.value), copies={v: (one[v], two[v]) for v in one}
        )
        return self.check(claim), guard


def guard_expr(prover: Prover, params: set[str]) -> ir.Expr | None:
    conds = []
    for p in prover.fn.params:
        if p.name in params and isinstance(p.ty, ir.Scalar):
            bound = ir.Const(1 << prover.guard_bits, p.ty)
            conds.append(ir.Binary("lt", ir.Var(p.name, p.ty), bound, ir.BOOL))
    return conjunction(*conds)


def conjunction(*conds: ir.Expr | None) -> ir.Expr | None:
    """The conditions joined by `&&` (those that are None left out); None for none."""
    out = None
    for c in conds:
        if c is not None:
            out = c if out is None else ir.Binary("land", out, c, ir.BOOL)
    return out


def unchanging(e: ir.Expr, allowed: set[str]) -> bool:
    """Whether e reads no array, calls nothing and names only `allowed`:
    the same value wherever it is evaluated inside a loop nest."""
    return not has(e, ir.Load) and not has(e, ir.Call) and ir.names_read(e) <= allowed


# ================================================================ marking accesses


class Marker:
    """Walks a body with its stack of enclosing loops and marks each access
    whose index Z3 proves in range."""

    def __init__(self, prover: Prover):
        self.p = prover
        self.proven: list[dict] = []
        self.unproven: list[dict] = []
        self.guard: set[str] = set()

    def access(self, kind: str, array: str, index, frames, span, already: bool) -> bool:
        if already:
            return True
        if not _loops(frames):
            return False  # outside loops a check runs once: not worth a guard
        verdict, guard = self.p.in_range(array, index, frames)
        entry = {
            "access": f"{array}[{ir.pretty_expr(index)}]",
            "kind": kind,
            "line": span.line,
            "verdict": str(verdict),
        }
        if verdict.proven:
            self.proven.append(entry)
            self.guard |= guard
            return True
        self.unproven.append(entry)
        return False

    def expr(self, e, frames):
        def load(x):
            ok = self.access("load", x.array, x.index, frames, x.span, x.inbounds)
            return dataclasses.replace(x, inbounds=True) if ok and not x.inbounds else x

        return ir.map_expr(e, load=load)

    def block(self, stmts, frames: list) -> tuple:
        out = []
        for s in stmts:
            if isinstance(s, ir.Let):
                s = dataclasses.replace(s, init=self.expr(s.init, frames))
            elif isinstance(s, ir.Assign):
                s = dataclasses.replace(s, value=self.expr(s.value, frames))
            elif isinstance(s, ir.Store):
                s = dataclasses.replace(s, index=self.expr(s.index, frames), value=self.expr(s.value, frames))
                if self.access("store", s.array, s.index, frames, s.span, s.inbounds):
                    s = dataclasses.replace(s, inbounds=True)
            elif isinstance(s, ir.If):
                fact = _fact(s.cond, self.p.env(frames))
                known: list = [] if fact is None else [_Cond(fact[0], fact[1], True)]
                unknown: list = [] if fact is None else [_Cond(fact[0], fact[1], False)]
                s = dataclasses.replace(
                    s,
                    cond=self.expr(s.cond, frames),
                    then=self.block(s.then, frames + known),
                    else_=self.block(s.else_, frames + unknown),
                )
            elif isinstance(s, ir.When):
                s = dataclasses.replace(s, then=self.block(s.then, frames), else_=self.block(s.else_, frames))
            elif isinstance(s, ir.For):
                lo, hi = self.expr(s.lo, frames), self.expr(s.hi, frames)
                frame = self.p.frame(s, frames)
                s = dataclasses.replace(s, lo=lo, hi=hi, body=self.block(s.body, frames + [frame]))
            elif isinstance(s, ir.While):
                s = dataclasses.replace(s, cond=self.expr(s.cond, frames), body=self.block(s.body, frames))
            elif isinstance(s, ir.Return) and s.value is not None:
                s = dataclasses.replace(s, value=self.expr(s.value, frames))
            elif isinstance(s, ir.ExprStmt):
                s = dataclasses.replace(s, expr=self.expr(s.expr, frames))
            out.append(s)
        return tuple(out)


# ================================================================ 1. guarded range checks


def guarded_inbounds(
    fn: ir.Function,
    module: ir.Module | None = None,
    *,
    guard_bits: int = GUARD_BITS,
    timeout_ms: int = PROOF_TIMEOUT_MS,
    differential: bool = True,
    seed: int = 0,
) -> Shaped | None:
    """`fn` with every access inside `for` loops whose index Z3 proves below
    its array's length marked `inbounds`, under a guard on the parameters
    tested once per call (the original body runs when it fails).  None when
    no access is proven.  `module` supplies callees for the differential run."""
    t0 = time.perf_counter()
    prover = Prover(fn, guard_bits, timeout_ms)
    marker = Marker(prover)
    body = marker.block(fn.body, [])
    if not marker.proven:
        return None
    guard = guard_expr(prover, marker.guard)
    new = guarded_copy(fn, body, guard)
    evidence = shape_evidence("guarded-inbounds", PROOF_INBOUNDS, guard, marker, prover)
    return finish(fn, new, module, evidence, differential, seed, t0)


@dataclass(frozen=True)
class Rewritten:
    """A loop shape's new body, before its accesses are marked: what the
    shape's walk made and what it rests on."""

    fn: ir.Function  # the source
    body: tuple
    prover: "Prover"
    guard: set  # parameters the walk's proofs need bounded
    shape: str
    proof: str  # in words, for the evidence
    evidence: dict  # the walk's own account (its loops and checks)


def emit_guarded(r: Rewritten, module, differential: bool, seed: int, t0: float) -> Shaped | None:
    """The end every guarded loop shape shares: the new body's accesses
    marked in range where Z3 proves it, the whole under the guard its
    proofs need (the source as the fallback), its evidence, and the
    differential run (`shapes.finish`)."""
    marker = Marker(r.prover)
    body = marker.block(r.body, [])
    guard = guard_expr(r.prover, r.guard | marker.guard)
    new = guarded_copy(r.fn, body, guard)
    evidence = shape_evidence(r.shape, r.proof, guard, marker, r.prover, **r.evidence)
    return finish(r.fn, new, module, evidence, differential, seed, t0)


def shape_evidence(shape: str, proof: str, guard, marker, prover, **more) -> dict:
    """What a guarded shape rests on: its accesses, guard, obligations, Z3's work."""
    return {
        "shape": shape,
        **more,
        "accesses": [a["access"] for a in marker.proven],
        "guard": ir.pretty_expr(guard) if guard is not None else "true",
        "proof": proof,
        "obligations": marker.proven,
        "unproven": marker.unproven,
        "z3": {"calls": prover.calls, "seconds": round(prover.seconds, 3)},
    }


# ================================================================ 2. the ikj interchange


@dataclass(frozen=True)
class Nest:
    """A matched reduction nest: `for j in B { let s: T = INIT;
    for k in C { s = s + E; } c[IDX] = s; }`."""

    j: ir.For
    s: ir.Let
    k: ir.For
    e: ir.Expr
    store: ir.Store


def match_nest(loop: ir.For, fn: ir.Function, outer: list[ir.For]) -> tuple[Nest | None, str]:
    """The nest `loop` is, or None and why not.  `outer`: the enclosing
    `for` loops, whose variables the nest may read."""
    nest = _nest_form(loop)
    if isinstance(nest, str):
        return None, nest
    why = _nest_target(nest, fn) or _nest_reads(nest, fn, outer)
    if why:
        return None, why
    return nest, ""


_NOT_A_NEST = "the j loop's body is not exactly `let s; for k {..}; c[..] = s`"
_NOT_A_SUM = "the k loop's body is not exactly `s = s + E`"


def _nest_form(loop: ir.For) -> Nest | str:
    """The parts of `loop` if it has the nest's form (whatever they read),
    else why not."""
    body = loop.body
    if len(body) != 3:
        return _NOT_A_NEST
    let, kloop, store = body
    if not (isinstance(let, ir.Let) and isinstance(kloop, ir.For) and isinstance(store, ir.Store)):
        return _NOT_A_NEST
    T = let.ty
    if not (T.is_float or T.is_int):
        return f"the accumulator's type {T} is neither float nor int"
    if not (isinstance(let.init, ir.Const) and let.init.ty == T):
        return "the accumulator's initial value is not a constant"
    if len(kloop.body) != 1 or not isinstance(kloop.body[0], ir.Assign):
        return _NOT_A_SUM
    upd = kloop.body[0]
    v = upd.value
    if not (
        upd.name == let.name
        and isinstance(v, ir.Binary)
        and v.op == "add"
        and v.ty == T
        and isinstance(v.a, ir.Var)
        and v.a.name == let.name
        and v.b.ty == T
    ):
        return _NOT_A_SUM
    return Nest(loop, let, kloop, v.b, store)


def _nest_target(nest: Nest, fn: ir.Function) -> str:
    """Why the nest's store is not one it may move ("" when it is): it must
    write the accumulator to a mutable array parameter of its type."""
    T, c, store = nest.s.ty, nest.store.array, nest.store
    arr = fn.param(c).ty if c in {p.name for p in fn.params} else None
    if not (isinstance(arr, ir.Array) and arr.mutable and arr.elem == T):
        return f"`{c}` is not a mutable array parameter of {T}"
    if not (isinstance(store.value, ir.Var) and store.value.name == nest.s.name):
        return "the store does not write the accumulator"
    return ""


def _nest_reads(nest: Nest, fn: ir.Function, outer: list[ir.For]) -> str:
    """Why what the nest reads may change while it runs, or why its
    accumulator is not its own ("" when neither)."""
    loop, kloop, E, c, idx = nest.j, nest.k, nest.e, nest.store.array, nest.store.index
    assigned = ir.assigned(fn.body)
    fixed = {p.name for p in fn.params if isinstance(p.ty, ir.Scalar) and p.name not in assigned}
    outer_vars = {f.var for f in outer}
    i_vars = fixed | outer_vars
    if has(E, ir.Call):
        return "E calls a function"
    if any(isinstance(x, ir.Load) and x.array == c for x in ir.walk(E)):
        return f"E reads `{c}`, the array the nest writes"
    stray = ir.names_read(E) - i_vars - {loop.var, kloop.var}
    if stray:
        return f"E reads {sorted(stray)}, not loop variables or fixed parameters"
    if has(idx, ir.Load) or has(idx, ir.Call):
        return "the index reads an array or calls"
    if not ir.names_read(idx) <= i_vars | {loop.var}:
        return f"the index depends on {sorted(ir.names_read(idx) - i_vars - {loop.var})}"
    for what, bounds, ok in (("B", (loop.lo, loop.hi), i_vars), ("C", (kloop.lo, kloop.hi), i_vars)):
        for b in bounds:
            if not unchanging(b, ok):
                return f"the bound {ir.pretty_expr(b)} ({what}) may change inside the nest"
    # the accumulator lives only here (scoping guarantees it; checked again)
    name = nest.s.name
    if any(name in ir.names_read(e) for s in ir.walk_stmts(fn.body) if not _within(s, loop) for e in ir.own_exprs(s)):
        return f"`{name}` is read outside the nest"
    return ""


def _within(s, loop) -> bool:
    return s is loop or any(s is x for x in ir.walk_stmts(loop.body))


def _interchanged(nest: Nest, taken: set[str]) -> tuple:
    """for j0 in B { c[IDX(j0)] = INIT; }  for k in C { for j in B { c[IDX] = c[IDX] + E; } }"""
    J, K, st = nest.j, nest.k, nest.store
    T = nest.s.ty
    j0 = ir.fresh_name(f"{J.var}.init", taken)
    idx0 = ir.substitute(st.index, {J.var: ir.Var(j0, J.ty, J.span)})
    init = ir.For(j0, J.ty, J.lo, J.hi, (ir.Store(st.array, idx0, nest.s.init, st.span),), J.span)
    acc = ir.Binary("add", ir.Load(st.array, st.index, T, st.span), nest.e, T, K.body[0].span)
    inner = ir.For(J.var, J.ty, J.lo, J.hi, (ir.Store(st.array, st.index, acc, st.span),), J.span)
    update = ir.For(K.var, K.ty, K.lo, K.hi, (inner,), K.span)
    return (init, update)


def interchange(
    fn: ir.Function,
    module: ir.Module | None = None,
    *,
    guard_bits: int = GUARD_BITS,
    timeout_ms: int = PROOF_TIMEOUT_MS,
    differential: bool = True,
    seed: int = 0,
    why: list | None = None,
) -> Shaped | None:
    """Every reduction nest of `fn` (see the module docstring) in the ikj
    form, each once Z3 proves its index distinct per j and in range under
    the guard; the other provable accesses of the new body marked in range
    as by guarded_inbounds.  None (the reasons appended to `why`) when no
    nest is matched and proven."""
    t0 = time.perf_counter()
    prover = Prover(fn, guard_bits, timeout_ms)
    walk = _Interchange(fn, prover, why if why is not None else [])
    body = walk.block(fn.body, [], [])
    if not walk.nests:
        return None
    made = Rewritten(fn, body, prover, walk.guard, "interchange", PROOF_INTERCHANGE, {"nests": walk.nests})
    return emit_guarded(made, module, differential, seed, t0)


class _Interchange:
    """One pass of `interchange` over a function: each nest matched and
    proven is replaced by its ikj form.  It collects the nests' evidence,
    the parameters their guard needs, and why nests were refused."""

    def __init__(self, fn: ir.Function, prover: Prover, reasons: list):
        self.fn, self.prover, self.reasons = fn, prover, reasons
        self.taken = ir.names_used(fn)
        self.nests: list[dict] = []
        self.guard: set[str] = set()

    def block(self, stmts: tuple, outer: list[ir.For], frames: list[Frame]) -> tuple:
        """`stmts` rewritten; `outer`: the enclosing loops, `frames` their bounds."""
        out: list[ir.Stmt] = []
        for s in stmts:
            if isinstance(s, ir.For):
                out.extend(self.loop(s, outer, frames))
            elif isinstance(s, (ir.If, ir.When)):
                out.append(
                    dataclasses.replace(
                        s, then=self.block(s.then, outer, frames), else_=self.block(s.else_, outer, frames)
                    )
                )
            elif isinstance(s, ir.While):
                out.append(dataclasses.replace(s, body=self.block(s.body, outer, frames)))
            else:
                out.append(s)
        return tuple(out)

    def loop(self, s: ir.For, outer: list[ir.For], frames: list[Frame]) -> tuple:
        """A `for`: the interchanged nest it is, or itself with its body rewritten."""
        nest, reason = match_nest(s, self.fn, outer)
        if nest is not None:
            done = self.prove(nest, frames)
            if done is not None:
                self.nests.append(done)
                return _interchanged(nest, self.taken)
        elif looks_like_nest(s):
            self.reasons.append(f"{s.span}: {reason}")
        frame = self.prover.frame(s, frames)
        return (dataclasses.replace(s, body=self.block(s.body, outer + [s], frames + [frame])),)

    def prove(self, nest: Nest, frames: list[Frame]) -> dict | None:
        """The nest's evidence once its index is proven in range and distinct
        per j (the guard those need added), else None (the reason kept)."""
        here = frames + [self.prover.frame(nest.j, frames)]
        idx = nest.store.index
        ranged, g1 = self.prover.in_range(nest.store.array, idx, here)
        distinct, g2 = self.prover.distinct(idx, here, nest.j)
        entry = {
            "loop": str(nest.j.span),
            "array": nest.store.array,
            "index": ir.pretty_expr(idx),
            "init": ir.pretty_expr(nest.s.init),
            "in_range": str(ranged),
            "distinct": str(distinct),
        }
        if not (ranged.proven and distinct.proven):
            self.reasons.append(f"{nest.j.span}: index {entry['index']}: in range {ranged}; distinct {distinct}")
            return None
        self.guard.update(g1 | g2)
        return entry


def looks_like_nest(s: ir.For) -> bool:
    """A j loop worth a reason when it is refused: it holds a k loop and stores."""
    return any(isinstance(x, ir.For) for x in s.body) and any(isinstance(x, ir.Store) for x in s.body)
