"""Scans in lanes: a loop that stores each step of a running combination
(a prefix sum, a running maximum, a running xor; atlas/meaning/scans.py)
marked to run a vector of W steps at a time.

    for i in lo..hi { s = s (+) e(i); out[i] = s; }

The backend computes W elements, combines them among themselves in log2(W)
shifted steps, combines the carried s into every lane, stores the W
results and carries the last (backends/llvm/lanes.py).  Lane k then holds
s (+) (e(i) (+) ... (+) e(i+k)) grouped differently from the loop's
((s (+) e(i)) (+) ...) (+) e(i+k), with the identity padding the shifted
lanes.  That is the same value for every k exactly when (+) is
associative and commutative and has that identity at the loop's type,
which Z3 proves here for the type (and `s - e` equal to `s + (-e)` where
the loop subtracts), before the loop is marked.  The form also requires
(checked by scans.match) that e(i) reads neither s nor the stored array
and has no effect, so computing the elements of a block before its stores
changes nothing.

Nothing else about the function changes: the mark licenses the vector
code, the loop keeps its meaning, and the search compares the compiled
variant's outputs with the default variant's as for every shape.
"""

from __future__ import annotations

import dataclasses
import time

import z3

from ..meaning import affine, argfolds, ir, scans
from ..meaning import semantics as sem
from ..meaning.terms import evaluate, from_expr, subterms
from ..meaning.z3domain import Z3Domain, fresh, sort_of
from .carried import Carried, carried
from .shapes import Shaped, finish

D = Z3Domain()
REGROUPED = "allowed by `reassoc fn`, not proven: outputs compared within the bound of two summation orders"


def proof_text(marked: list[scans.Scan]) -> str:
    """What the marked loops rest on, saying only what holds of them."""
    laws = []
    if any(not m.ty.is_float for m in marked):
        laws.append(
            "each integer scan's operation associative and commutative at its type, with the identity "
            "the shifted lanes take"
        )
    if any(m.ty.is_float for m in marked):
        laws.append(
            "each float scan's operation commutative, with the identity the shifted lanes take, and "
            "regrouped as its `reassoc fn` allows (IEEE sums and products are not associative: not proven)"
        )
    if any(m.negate for m in marked):
        laws.append("s - e equal to s + (-e) where a loop subtracts")
    if any(m.branch is not None for m in marked):
        laws.append("`if c { s = e; }` equal to the minimum or maximum of s and e where a loop branches")
    return (
        f"z3: {'; '.join(laws)}; scans.match: the elements read neither the carried value "
        "nor the stored array and have no effect"
    )


def obligations(scan: scans.Scan) -> dict[str, str]:
    """Each law the lanes rest on, with Z3's verdict ('proven' or why not)."""
    t = scan.ty
    f = sem.BINARY[scan.op] if scan.op in sem.BINARY else sem.PRIMITIVES[scan.op][0]  # the semantics' own
    a, b, c = (fresh(n, t) for n in "abc")
    unit = scans.identity(scan.op, t)
    e = z3.FPVal(unit, sort_of(t)) if t.is_float else z3.BitVecVal(unit, t.bits)
    laws = {
        "associative": f(D, t, f(D, t, a, b), c) == f(D, t, a, f(D, t, b, c)),
        "commutative": f(D, t, a, b) == f(D, t, b, a),
        "identity": f(D, t, e, a) == a,
    }
    out = {}
    if t.is_float:  # not so in IEEE arithmetic: the intent allows the regrouping instead
        del laws["associative"]
        out["associative"] = REGROUPED
    if scan.negate:
        laws["subtraction"] = sem.sub(D, t, a, b) == sem.add(D, t, a, sem.neg(D, t, b))
    if scan.branch is not None:
        law = _branch_law(scan, f, a, b)
        if law is None:
            out["branch"] = "not decided: the condition reads more than the element and the carried value"
        else:
            laws["branch"] = law
    return out | _verdicts(laws, t.is_float)


def _verdicts(laws: dict, floats: bool) -> dict[str, str]:
    """Each law put to Z3 in a context of its own, with a few random seeds in
    turn: what a bit-blasted law costs Z3 is heavy-tailed and depends on the
    seed and on the process's earlier work (f64 multiplication's
    commutativity took from 0.5 to 70 million units, mostly under 3), and
    another seed decorrelates it.  A law is proven by any attempt that finds
    no counterexample and refuted by any that finds one.  `floats`: the laws
    are over a float type, whose bit-blasted operations cost more."""
    out = {}
    for name, law in laws.items():
        out[name] = "undecided"
        for seed in range(FLOAT_TRIES if floats else INT_TRIES):
            ctx = z3.Context()
            s = z3.Solver(ctx=ctx)
            s.set("rlimit", 10_000_000 if floats else 5_000_000)
            s.set("random_seed", seed)
            s.add(z3.Not(law).translate(ctx))
            r = s.check()
            if r != z3.unknown:
                out[name] = "proven" if r == z3.unsat else "refuted"
                break
    return out


# Attempts per law: measured on f64 commutativity, one in eight runs passes
# 10 million units, so six seeds leave about four in a million undecided.
FLOAT_TRIES, INT_TRIES = 6, 3


def _branch_law(scan: scans.Scan, f, s, e):
    """`if c { s = e; }` is `s = op(s, e)`: c over the element and the
    carried value only (each abstracted to a variable), for all of them."""
    assert scan.branch is not None
    cond = scans.abstract(scan.branch, scan.element, ir.Var("$e", scan.ty))
    cond = ir.substitute(cond, {scan.acc: ir.Var("$s", scan.ty)})
    term = from_expr(cond, {})
    names = {x.name for x in ir.walk(cond) if isinstance(x, ir.Var)}
    if term is None or names - {"$e", "$s"} or any(isinstance(x, ir.Load) for x in ir.walk(cond)):
        return None
    c = evaluate(term, D, {"$e": e, "$s": s})
    return z3.If(c, e, s) == f(D, scan.ty, s, e)


def scan_lanes(
    fn: ir.Function, module: ir.Module | None = None, *, differential: bool = True, seed: int = 0
) -> Shaped | None:
    """`fn` with every scan whose laws Z3 proves marked to run in lanes;
    None when there is none.  A scan carried through the array it stores
    (`out[i] = out[i - 1] + x[i]`) is read first as one carried in a
    scalar (search/carried.py)."""
    return _lanes_shape(fn, module, _scan_judge, "scan-lanes", proof_text, differential, seed, carried(fn))


def _lanes_shape(
    fn: ir.Function, module, judge_of, shape: str, proof, differential: bool, seed: int, read: Carried | None = None
):
    """`fn` with every loop judge_of(fn) accepts marked to run in lanes, its
    evidence saying `proof(what the marked loops were read as)`; None when
    the judge accepts none.  With `read` (search/carried.py), the loops are
    those of its reading of fn, and its accounts join the evidence; the
    differential run compares the result with fn as written."""
    t0 = time.perf_counter()
    read = read or Carried(fn, ())
    m = _mark(read.function, judge_of(read.function))
    if not m.sites:
        return None
    evidence = {"shape": shape, "proof": proof(m.matched), "loops": m.sites}
    if read.sites:
        evidence["carried"] = list(read.sites)
    return m.finish(fn, dataclasses.replace(read.function, body=m.body), module, evidence, differential, seed, t0)


def _judging(fn: ir.Function, match, laws_of, describe_read, key: str, accepted=("proven",)):
    """A judge for _mark: a loop `match` reads is accepted when every law
    laws_of(its reading) has a verdict in `accepted`; its account names
    the reading under `key`."""

    def judge(loop: ir.For):
        read = match(loop, fn)
        if read is None:
            return None
        laws = laws_of(read)
        site = {"loop": str(loop.span), key: describe_read(read), "obligations": laws}
        return read, site, all(v in accepted for v in laws.values())

    return judge


def _scan_judge(fn: ir.Function):
    return _judging(fn, scans.match, obligations, describe, "scan", ("proven", REGROUPED))


def _arg_judge(fn: ir.Function):
    return _judging(fn, argfolds.match, arg_obligations, describe_arg, "fold")


def refusals(fn: ir.Function, shape: str) -> list[str]:
    """Why `shape` ("scan-lanes", "arg-lanes" or "affine-lanes") marks no loop of fn: each
    loop of its form with the laws Z3 did not prove; empty when no loop has
    the form."""
    judges = {"scan-lanes": _scan_judge, "arg-lanes": _arg_judge, "affine-lanes": _affine_judge}
    if shape == "scan-lanes":
        fn = carried(fn).function
    m = _mark(fn, judges[shape](fn))
    out = []
    for site in m.refused:
        laws = ", ".join(f"{k} {v}" for k, v in site["obligations"].items() if v not in ("proven", REGROUPED))
        out.append(f"the loop at {site['loop']} ({site.get('scan') or site.get('fold')}): {laws}")
    return out


@dataclasses.dataclass
class _Marked:
    body: tuple
    sites: list[dict]  # the marked loops' accounts
    refused: list[dict]  # loops of the form whose laws were not all proven
    matched: list  # what the marked loops were read as

    def finish(self, fn: ir.Function, new: ir.Function, module, evidence: dict, differential: bool, seed: int, t0):
        """`new` (fn's reading with these loops marked) as the shape of fn."""
        if self.refused:
            evidence["refused"] = self.refused
        return finish(fn, new, module, evidence, differential, seed, t0)


def _mark(fn: ir.Function, judge) -> _Marked:
    """fn's body with each loop that judge(loop) accepts marked to run in
    lanes; judge gives (what the loop was read as, its account, accepted)
    or None for a loop of another form."""
    m = _Marked((), [], [], [])

    def walk(stmts: tuple) -> tuple:
        out: list[ir.Stmt] = []
        for s in stmts:
            judged = judge(s) if isinstance(s, ir.For) else None
            if judged is not None:
                read, site, accepted = judged
                if accepted:
                    m.sites.append(site)
                    m.matched.append(read)
                    out.append(dataclasses.replace(s, lanes=True))
                    continue
                m.refused.append(site)
            out.append(ir.walk_blocks(s, walk))
        return tuple(out)

    m.body = walk(fn.body)
    return m


def describe(scan: scans.Scan) -> str:
    sym = {"add": "+", "mul": "*", "and": "&", "or": "|", "xor": "^"}.get(scan.op)
    step = f"{scan.acc} {sym} e" if sym else f"{scan.op}({scan.acc}, e)"
    if scan.negate:
        step = f"{scan.acc} - e"
    kind = "exclusive" if scan.exclusive else "inclusive"
    return f"{kind} scan {scan.out}[{scan.loop.var}] = {step} at {scan.ty}, e = {ir.pretty_expr(scan.element)}"


# ---------------------------------------------------------------- arg-folds


def arg_obligations(fold: argfolds.ArgFold) -> dict[str, str]:
    """The laws an arg-fold's lanes rest on, with Z3's verdicts, over pairs
    (element, position): the loop's step is `better` (the order's choice
    between the best so far, at an earlier position, and the new pair);
    `better` is associative and commutative over the pairs lanes hold
    (`_held`), so the pairs may be combined in lanes and the lanes in any
    order; and it keeps a pair met with itself (every lane may still hold
    the best so far, NaN or not).  backends/llvm/lanes.py emits exactly
    `better`, with the best so far at position 0 and i at i + 1."""
    t, pt = fold.ty, fold.loop.ty
    m, e = fresh("m", t), fresh("e", t)
    p, q = fresh("p", pt), fresh("q", pt)
    took = sem.compare(D, t, fold.rel, e, m)
    stepped = (z3.If(took, e, m), z3.If(took, q, p))
    best = better(fold, (m, p), (e, q))
    a, b, c = ((fresh(f"v{n}", t), fresh(f"j{n}", pt)) for n in range(3))
    ab_c, a_bc = better(fold, better(fold, a, b), c), better(fold, a, better(fold, b, c))
    ab, ba, aa = better(fold, a, b), better(fold, b, a), better(fold, a, a)
    return _verdicts(
        {
            "step": z3.Implies(z3.ULT(p, q), z3.And(stepped[0] == best[0], stepped[1] == best[1])),
            "associative": z3.Implies(_held(t, a, b, c), z3.And(ab_c[0] == a_bc[0], ab_c[1] == a_bc[1])),
            "commutative": z3.Implies(_held(t, a, b), z3.And(ab[0] == ba[0], ab[1] == ba[1])),
            "idempotent": z3.And(aa[0] == a[0], aa[1] == a[1]),
        },
        t.is_float,
    )


def _held(t: ir.Scalar, *pairs: tuple):
    """What the pairs that lanes combine satisfy when they are not all the
    best so far: no NaN (a NaN element is never taken, and a best so far
    that an element beat was not NaN), and two at one position are the
    same pair (each element is at its own position, the best so far at 0)."""
    out = []
    for n, (v, j) in enumerate(pairs):
        if t.is_float:
            out.append(z3.Not(z3.fpIsNaN(v)))
        out += [z3.Implies(j == h, v == w) for w, h in pairs[n + 1 :]]
    return z3.And(out)


def better(fold: argfolds.ArgFold, a: tuple, b: tuple) -> tuple:
    """Of the pairs (element, position) a and b, the one the order keeps:
    the greater (or lesser) element, and between equal ones (by the type's
    own equality: -0.0 equals 0.0) the earlier position (`>`, `<`) or the
    later (`>=`, `<=`)."""
    later = z3.UGT(b[1], a[1]) if fold.later else z3.ULT(b[1], a[1])
    tie = sem.compare(D, fold.ty, "eq", b[0], a[0])  # -0.0 ties 0.0
    wins = z3.Or(sem.compare(D, fold.ty, fold.strict, b[0], a[0]), z3.And(tie, later))
    return z3.If(wins, b[0], a[0]), z3.If(wins, b[1], a[1])


ARG_PROOF = (
    "z3: each loop's step equal to keeping the better of the best so far and (e(i), i) under its order, the best "
    "so far before i, and that choice associative, commutative and keeping a pair met with itself at the loop's "
    "types, over pairs without NaN, one to a position; argfolds.match: the body only compares e(i) with the best "
    "so far and takes it and i, e(i) reads neither, and the loop stores nothing"
)


def arg_lanes(fn: ir.Function, module: ir.Module | None = None, *, differential: bool = True, seed: int = 0):
    """`fn` with every arg-fold whose laws Z3 proves marked to run in lanes;
    None when there is none."""
    return _lanes_shape(fn, module, _arg_judge, "arg-lanes", lambda _: ARG_PROOF, differential, seed)


def describe_arg(fold: argfolds.ArgFold) -> str:
    kind = {"gt": "first maximum", "ge": "last maximum", "lt": "first minimum", "le": "last minimum"}[fold.rel]
    best = f"kept in {fold.value}" if fold.value is not None else f"read as {fold.array}[{fold.index}]"
    return f"{kind} of {ir.pretty_expr(fold.element)} at {fold.ty}, the best {best}, its index kept in {fold.index}"


# ---------------------------------------------------------------- affine folds

# The lane counts the backend may use for an affine fold: its lanes times
# the interleave knob, powers of two (check_realisation refuses other knob
# values, and a preferred width is one of the CPU's), at most MAX_LANES (64)
AFFINE_LANES = (2, 4, 8, 16, 32, 64)

AFFINE_PROOF = (
    "z3: each loop's step equal to h * a + e(i) at its type, a the same in every iteration and e(i) not "
    "reading h; and the lanes' law (W lanes each g = g * a^W + e, h started in the last, combined as "
    "sum g_j * a^(W-1-j), equal to W steps of the loop) as an identity of polynomials over the integers, "
    "so in the integers modulo 2^bits, for every lane count the backend uses; affine.match: the body "
    "only computes, and a reads nothing the loop changes"
)


def affine_obligations(fold: affine.Affine) -> dict[str, str]:
    """The laws an affine fold's lanes rest on, with Z3's verdicts."""
    t = fold.ty
    h = fresh("$h", t)
    names = {x.name: x.ty for e in (fold.step, fold.mul, fold.element) for x in ir.walk(e) if isinstance(x, ir.Var)}
    env = {n: (h if n == fold.acc else fresh(n, ty)) for n, ty in names.items()}
    arrays: dict = {}

    def load(array: str, index, ty: ir.Scalar):  # any contents: one function of the index per array
        key = (array, index.sort(), ty)
        if key not in arrays:
            arrays[key] = z3.Function(f"${array}", index.sort(), sort_of(ty))
        return arrays[key](index)

    def value(e: ir.Expr):
        term = from_expr(e, {})
        assert term is not None and not any(u.op == "call" for u in subterms(term))
        return evaluate(term, D, env, load)

    step = value(fold.step) == sem.add(D, t, sem.mul(D, t, h, value(fold.mul)), value(fold.element))
    out = _verdicts({"step": step}, False)
    out["lanes"] = next((v for v in map(lane_law, AFFINE_LANES) if v != "proven"), "proven")
    return out


_LAWS: dict[int, str] = {}


def lane_law(w: int) -> str:
    """Z3's verdict on whether, over the integers, W lanes each taking
    g = g * a^W + e on their elements and combined as sum g_j a^(W-1-j)
    give the value of W steps h = h * a + e from that combination: the
    induction step over blocks (before the first, h alone in lane W - 1
    combines to h).  A polynomial identity with integer coefficients holds
    in every commutative ring, so at every integer width."""
    if w not in _LAWS:
        a = z3.Int("a")
        g, e = [z3.Int(f"g{j}") for j in range(w)], [z3.Int(f"e{j}") for j in range(w)]
        powers = [z3.IntVal(1)]
        for _ in range(w):
            powers.append(powers[-1] * a)
        combined = z3.Sum([g[j] * powers[w - 1 - j] for j in range(w)])
        stepped = combined
        for j in range(w):
            stepped = stepped * a + e[j]
        blocks = z3.Sum([(g[j] * powers[w] + e[j]) * powers[w - 1 - j] for j in range(w)])
        s = z3.Solver()
        s.set("rlimit", 50_000_000)
        s.add(blocks != stepped)
        r = s.check()
        _LAWS[w] = "proven" if r == z3.unsat else "refuted" if r == z3.sat else "undecided"
    return _LAWS[w]


def _affine_judge(fn: ir.Function):
    return _judging(fn, affine.match, affine_obligations, describe_affine, "fold")


def affine_lanes(fn: ir.Function, module: ir.Module | None = None, *, differential: bool = True, seed: int = 0):
    """`fn` with every affine fold whose laws Z3 proves marked to run in
    lanes; None when there is none."""
    return _lanes_shape(fn, module, _affine_judge, "affine-lanes", lambda _: AFFINE_PROOF, differential, seed)


def describe_affine(fold: affine.Affine) -> str:
    return f"{fold.acc} = {fold.acc} * {ir.pretty_expr(fold.mul)} + e at {fold.ty}, e = {ir.pretty_expr(fold.element)}"
