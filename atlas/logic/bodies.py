"""Statement lists as terms, and their equality proven by Z3.

`effects` runs a list of Let/Assign/Store/If/Count statements symbolically:
each scalar ends as one Term over the start state, each array as an ordered
list of guarded writes.  `prove_equal` then asks Z3 whether two lists leave
every observable scalar and every array element the same, for every start
state (array contents unknown).  The model follows the interpreter: a read
out of range gives 0, a write out of range does nothing, an index is read
as unsigned, and array lengths are the parameters' length expressions,
evaluated on entry (a negative signed length counts as 0, as compiled code
has it).

`prove_functions` does the same for two whole functions, loops and returns
included: each loop is unrolled, iteration k running under the guard that
the loop has not ended before it, up to a bound K (a loop whose bounds are
constants is unrolled whole).  The claim proven is bounded: for every input
on which no loop of either function runs more than K times, the two return
the same value and leave every array element the same.
"""

from __future__ import annotations

import itertools
from dataclasses import replace, dataclass, field

from ..meaning import ir
from . import requires, rules
from .verdict import Status
from ..meaning.terms import Term, const, fold, var

U64 = ir.U64
TRUE = const(True, ir.BOOL)
FALSE = const(False, ir.BOOL)


class _Unsupported(Exception):
    """Something this module does not model (a loop, a call, ...)."""


class _TooLarge(_Unsupported):
    """More statements to unroll than the budget allows (`reads`: reads
    counted by the writes they pass brought it there)."""

    def __init__(self, reads: bool = False):
        super().__init__("reads counted by the writes they pass" if reads else "")
        self.reads = reads


# ---------------------------------------------------------------- small term builders


def _select(c: Term, a: Term, b: Term) -> Term:
    if c == TRUE or a == b:
        return a
    if c == FALSE:
        return b
    return Term("select", a.ty, (c, a, b))


def conjoin(*cs: Term | None) -> Term:
    """The conjunction of the conditions given (None: no condition), with
    TRUE and FALSE folded away."""
    out = TRUE
    for c in cs:
        if c is None or c == TRUE:
            continue
        if FALSE in (out, c):
            return FALSE
        out = c if out == TRUE else Term("land", ir.BOOL, (out, c))
    return out


def _not(a: Term) -> Term:
    if a in (TRUE, FALSE):
        return FALSE if a == TRUE else TRUE
    return Term("not", ir.BOOL, (a,))


def _or(a: Term, b: Term) -> Term:
    if a == FALSE:
        return b
    if b == FALSE:
        return a
    if TRUE in (a, b):
        return TRUE
    return Term("lor", ir.BOOL, (a, b))


_FOLDED: dict[Term, Term] = {}
MAX_FOLDED = 1 << 18


def _folded(t: Term) -> Term:
    """A node of constants replaced by its value: a loop's guards with
    constant bounds become constants, so it unrolls exactly."""
    if not t.args or not all(a.op == "const" for a in t.args):
        return t
    # A run with its sizes fixed is mostly arithmetic on constants, the same
    # few (an index plus one, a comparison with the length) over and over.
    done = _FOLDED.get(t)
    if done is None:
        if len(_FOLDED) >= MAX_FOLDED:
            _FOLDED.clear()
        done = _FOLDED[t] = fold(t)
    return done


def _cast(t: Term, ty: ir.Scalar) -> Term:
    return t if t.ty == ty else _folded(Term("cast", ty, (t,)))


def _zero(ty: ir.Scalar) -> Term:
    return const(False if ty.is_bool else (0.0 if ty.is_float else 0), ty)


def to_u64(t: Term) -> Term:
    """An index as the interpreter reads it: its bit pattern, unsigned, widened."""
    if not t.ty.is_int:
        raise _Unsupported(f"an index of type {t.ty}")
    if t.ty.signed:  # same width: keeps the bits
        t = _cast(t, ir.Scalar("uint", t.ty.bits))
    return _cast(t, U64)  # unsigned source: zero-extends


def length_term(fn: ir.Function, array: str, entry: dict | None = None) -> Term:
    """The array's length as u64, over the parameters (codegen's array_length);
    `entry` fixes some parameters' values."""
    p = fn.param(array)
    if not isinstance(p.ty, ir.Array):
        raise _Unsupported(f"'{array}' is not an array")
    n = _expr(p.ty.length, _State(fn, dict(entry or {}), {}, TRUE, set()))
    if n.ty.signed:
        n = _cast(n, ir.I64)  # sign-extends
        n = _select(_folded(Term("lt", ir.BOOL, (n, const(0, ir.I64)))), const(0, ir.I64), n)
    return to_u64(n)


def _content(
    fn: ir.Function, array: str, writes, k: Term, entry: dict | None = None, length: Term | None = None
) -> Term:
    """The value at index k (u64) after `writes`: the latest write whose guard
    holds at k, else the start content (0 out of range).  `length`: the
    array's length_term, where the caller has it."""
    ty = fn.param(array).ty
    if not isinstance(ty, ir.Array):
        raise _Unsupported(f"{array} is not an array")
    elem = ty.elem
    # The latest write sure to hit k hides every write before it and the
    # start content: with the sizes fixed nearly every read is such a case,
    # and a long unrolled run then costs a short scan, not all its writes.
    last = len(writes) - 1
    while last >= 0 and not _sure_hit(writes[last], k):
        last -= 1
    if last >= 0:
        t = writes[last][2]
    else:
        length = length_term(fn, array, entry) if length is None else length
        t = _select(_folded(Term("lt", ir.BOOL, (k, length))), Term("load", elem, (k,), array), _zero(elem))
    for guard, idx, value in writes[last + 1 :]:
        if isinstance(idx, _Fill):
            hit = conjoin(guard, idx.hits(k))
        elif idx.op == "const" and k.op == "const":  # both known: no term to build
            if idx.value != k.value:
                continue
            hit = guard
        else:
            hit = conjoin(guard, _folded(Term("eq", ir.BOOL, (idx, k))))
        t = _select(hit, value, t)
    return t


@dataclass(frozen=True)
class _Fill:
    """The index of a write that sets every element (a local array's `let`)."""

    length: int

    def hits(self, k: Term) -> Term:
        return _folded(Term("lt", ir.BOOL, (k, const(self.length, U64))))


def _sure_hit(write, k: Term) -> bool:
    """Whether the write (guard, index, value) certainly stores at k.  Its
    guard holds only in range, so the start content is not read then."""
    guard, idx, _ = write
    if isinstance(idx, _Fill):
        return guard == TRUE and idx.hits(k) == TRUE
    if idx.op == "const" and k.op == "const":
        same = idx.value == k.value
    else:
        same = idx == k
    return same and guard == TRUE


# ---------------------------------------------------------------- symbolic execution


@dataclass
class _State:
    fn: ir.Function
    scalars: dict[str, Term]
    writes: dict[str, list]  # array -> [(guard, index u64, value)]
    pc: Term  # the path condition
    declared: set[str]  # shared by all forks
    loops: "_Unroll | None" = None  # set when loops and returns are modelled
    done: Term = FALSE  # a return has been taken
    ret: Term | None = None  # the value returned, where `done`
    entry: dict = field(default_factory=dict)  # parameters fixed to constants, as on entry
    lengths: dict = field(default_factory=dict)  # array -> length_term; shared by all forks

    def fork(self, pc: Term) -> "_State":
        return _State(
            self.fn,
            dict(self.scalars),
            {a: list(w) for a, w in self.writes.items()},
            pc,
            self.declared,
            self.loops,
            self.done,
            self.ret,
            self.entry,
            self.lengths,
        )

    def length(self, array: str) -> Term:
        """The array's length, fixed on entry: built once per run."""
        n = self.lengths.get(array)
        if n is None:
            n = self.lengths[array] = length_term(self.fn, array, self.entry)
        return n

    def active(self) -> Term:
        """Whether a statement here runs: its path is taken and no return came first."""
        return conjoin(self.pc, _not(self.done)) if self.done != FALSE else self.pc


# A read of an array written this many times in the unrolled run costs one
# statement of the budget more: reads pass the writes before them one by one,
# and an unrolled nest of stores makes that the whole cost.
WRITES_PER_STEP = 32


@dataclass
class _Unroll:
    """The bound of a whole-function run and what it found past it."""

    k: int  # iterations unrolled per loop with a bound not constant
    budget: int  # statements executed, all iterations together
    steps: int = 0
    over: list = field(default_factory=list)  # guards under which a loop runs more than k times

    def charge(self, steps: int, reads: bool = False) -> None:
        """Count `steps` statements of work; _TooLarge past the budget."""
        self.steps += steps
        if self.steps > self.budget:
            raise _TooLarge(reads)


def _expr(e, st: _State) -> Term:
    if isinstance(e, ir.Const):
        return const(e.value, e.ty)
    if isinstance(e, ir.Var):
        return st.scalars.get(e.name) or var(e.name, e.ty)
    if isinstance(e, ir.Call):
        raise _Unsupported(f"a call of {e.func}")
    if isinstance(e, ir.Load):
        k = to_u64(_expr(e.index, st))
        writes = st.writes.get(e.array, ())
        if st.loops is not None:  # a read may look through every write before it: counted as work
            st.loops.charge(len(writes) // WRITES_PER_STEP, reads=True)
        return _content(st.fn, e.array, writes, k, length=st.length(e.array))
    kids = tuple(_expr(c, st) for c in ir.children(e))
    if isinstance(e, (ir.Unary, ir.Binary)):
        return _folded(Term(e.op, e.ty, kids))
    if isinstance(e, ir.Cast):
        return _folded(Term("cast", e.ty, kids))
    if isinstance(e, ir.Prim):
        return _folded(Term(e.name, e.ty, kids))
    raise _Unsupported(f"the expression {e!r}")


def _run(stmts, st: _State) -> None:
    for s in stmts:
        if st.loops is not None:
            st.loops.charge(1)
        if isinstance(s, _Bind):
            st.scalars[s.name] = s.term
            st.declared.add(s.name)
        elif isinstance(s, ir.Let):
            st.scalars[s.name] = _expr(s.init, st)
            st.declared.add(s.name)
        elif isinstance(s, ir.Assign):
            st.scalars[s.name] = _expr(s.value, st)
        elif isinstance(s, ir.Store):
            k = to_u64(_expr(s.index, st))
            v = _expr(s.value, st)
            inside = _folded(Term("lt", ir.BOOL, (k, st.length(s.array))))
            st.writes.setdefault(s.array, []).append((conjoin(st.active(), inside), k, v))
        elif isinstance(s, ir.LetArray):
            v = _expr(s.init, st)
            st.writes.setdefault(s.name, []).append((st.active(), _Fill(s.length), v))
        elif isinstance(s, ir.If):
            c = _expr(s.cond, st)
            _branch(st, c, s.then, s.else_)
        elif isinstance(s, ir.Count):
            pass  # counters do not change values
        elif st.loops is not None and isinstance(s, ir.Return):
            if s.value is not None:
                out = _expr(s.value, st)
                st.ret = out if st.ret is None else _select(st.active(), out, st.ret)
            st.done = _or(st.done, st.active())
        elif st.loops is not None and isinstance(s, ir.For):
            _unroll_for(s, st, st.loops)
        elif st.loops is not None and isinstance(s, ir.While):
            _unroll_while(s, st, st.loops)
        else:
            raise _Unsupported(f"a {type(s).__name__.lower()} statement")


def _branch(st: _State, c: Term, then_stmts, else_stmts) -> None:
    """Run `if c {then} else {else}` on st: each arm in a fork, then one
    select per scalar the arms left different."""
    if c == TRUE or c == FALSE:  # a constant condition: the arm taken only
        _run(then_stmts if c == TRUE else else_stmts, st)
        return
    then, else_ = st.fork(conjoin(st.pc, c)), st.fork(conjoin(st.pc, _not(c)))
    _run(then_stmts, then)
    _run(else_stmts, else_)
    for name in then.scalars.keys() | else_.scalars.keys():
        a = then.scalars.get(name) or var(name, else_.scalars[name].ty)  # untouched on that side:
        b = else_.scalars.get(name) or var(name, a.ty)  # the start value
        st.scalars[name] = _select(c, a, b)
    # Both forks copied the writes made before the If; their new
    # writes have exclusive guards, so their relative order is moot.
    for arr in then.writes.keys() | else_.writes.keys():
        old = len(st.writes.get(arr, ()))
        st.writes[arr] = st.writes.get(arr, [])[:old] + then.writes.get(arr, [])[old:] + else_.writes.get(arr, [])[old:]
    st.done = _select(c, then.done, else_.done)
    t_ret = then.ret if then.ret is not None else else_.ret
    e_ret = else_.ret if else_.ret is not None else then.ret
    if t_ret is not None and e_ret is not None:
        st.ret = _select(c, t_ret, e_ret)


def _unroll_for(loop: ir.For, st: _State, loops: _Unroll) -> None:
    """for i in lo..hi as `if g0 {i = lo; body}; if g1 {i = lo+1; body}; ...`
    where g_k says iteration k runs (lo + k < hi, and so did every one before,
    so lo + k cannot wrap); past k iterations the guard goes to `over`."""
    lo, hi = _expr(loop.lo, st), _expr(loop.hi, st)
    guard, k = TRUE, 0
    while True:
        i = _folded(Term("add", loop.ty, (lo, const(k, loop.ty)))) if k else lo
        guard = conjoin(guard, _folded(Term("lt", ir.BOOL, (i, hi))))
        if guard == FALSE:
            return
        if k >= loops.k and not _constant(lo, hi):
            loops.over.append(conjoin(st.active(), guard))
            return
        body = (_Bind(loop.var, i),) + tuple(loop.body)
        _branch(st, guard, body, ())
        k += 1


def _unroll_while(loop: ir.While, st: _State, loops: _Unroll) -> None:
    guard = TRUE
    for _ in range(loops.k):
        guard = conjoin(guard, _folded(_expr(loop.cond, st)))
        if guard == FALSE:
            return
        _branch(st, guard, loop.body, ())
    guard = conjoin(guard, _folded(_expr(loop.cond, st)))
    if guard != FALSE:
        loops.over.append(conjoin(st.active(), guard))


def _constant(*ts: Term) -> bool:
    return all(t.op == "const" for t in ts)


@dataclass(frozen=True)
class _Bind:
    """A statement of the unrolling's own: `name` declared as a term already
    built (a loop's index at one iteration)."""

    name: str
    term: Term


@dataclass
class Effects:
    """What a loop-free statement list does to the state it starts from."""

    fn: ir.Function
    scalars: dict[str, Term]  # name -> final value (names touched only)
    declared: set[str]  # Let inside: local, not observable
    writes: dict[str, list] = field(default_factory=dict)

    def content(self, array: str, j: Term) -> Term:
        """The array's final value at index j (a u64 term)."""
        return _content(self.fn, array, self.writes.get(array, ()), j)


def _analyse(stmts, fn: ir.Function) -> tuple[Effects | None, str]:
    length_vars = {
        v.name for p in fn.params if isinstance(p.ty, ir.Array) for v in ir.walk(p.ty.length) if isinstance(v, ir.Var)
    }
    # Lengths are fixed on entry: a body that changes their inputs (or a
    # function that does, before the body runs) would make `n` lie.
    changed = length_vars & (ir.assigned(stmts) | ir.assigned(fn.body))
    if changed:
        return None, f"assigns {', '.join(sorted(changed))}, which an array length reads"
    st = _State(fn, {}, {}, TRUE, set())
    try:
        _run(stmts, st)
    except (_Unsupported, KeyError) as exc:
        return None, str(exc).strip("'")
    return Effects(fn, st.scalars, st.declared, st.writes), ""


def effects(stmts, fn: ir.Function) -> Effects | None:
    """The statements' effects as terms, or None when they hold a loop, a
    return, a call or anything else this module does not model."""
    return _analyse(stmts, fn)[0]


# ---------------------------------------------------------------- equality


def _show(cex: dict) -> str:
    return ", ".join(f"{k} = {v}" for k, v in cex.items()) or "any input"


def prove_equal(before, after, fn: ir.Function, assume: ir.Expr | None = None, timeout_ms: int = 10000) -> str | None:
    """None when `before` and `after` leave every observable scalar and
    every array element equal, from every start state where `assume` holds;
    otherwise why not ("refuted: ...", "undecided: ...", "unsupported: ...")."""
    a, why = _analyse(before, fn)
    if a is None:
        return f"unsupported: before: {why}"
    b, why = _analyse(after, fn)
    if b is None:
        return f"unsupported: after: {why}"
    when = None
    if assume is not None:
        try:
            when = _expr(assume, _State(fn, {}, {}, TRUE, set()))
        except (_Unsupported, KeyError) as exc:
            return f"unsupported: assumption: {exc}"
        if not when.ty.is_bool:
            return f"unsupported: the assumption is a {when.ty}, not a bool"

    hidden = a.declared | b.declared
    claims = _effect_claims(a, b, (a.scalars.keys() | b.scalars.keys()) - hidden, {p.name for p in fn.params})
    for what, x, y in claims:
        if x == y:
            continue
        try:
            cex = rules.prove(x, y, timeout_ms, when=when)
        except rules.Undecided as exc:
            return f"undecided: {what}: {exc}"
        except ValueError as exc:
            return f"unsupported: {what}: {exc}"
        if cex is not None:
            return f"refuted: {what} differs with {_show(cex)}"
    return None


def _effect_claims(a: Effects, b: Effects, names, taken: set[str]) -> list[tuple[str, Term, Term]]:
    """What must be equal for two lists' effects to agree: each scalar of
    `names` (a name one side leaves untouched keeps its start value) and
    every element, at a symbolic index, of each array either writes."""
    claims = []
    for name in sorted(names):
        x = a.scalars.get(name) or var(name, b.scalars[name].ty)
        y = b.scalars.get(name) or var(name, x.ty)
        claims.append((name, x, y))
    j = var(ir.fresh_name("__j", taken | a.scalars.keys() | b.scalars.keys()), U64)
    for arr in sorted(a.writes.keys() | b.writes.keys()):
        claims.append((f"{arr}[{j.value}]", a.content(arr, j), b.content(arr, j)))
    return claims


# ---------------------------------------------------------------- whole functions


@dataclass(frozen=True)
class FunctionProof:
    """What Z3 said of two whole functions."""

    status: Status
    bound: int | None  # K; None when no loop's trip count depends on the input
    detail: str = ""  # the counterexample, or why it was not decided
    cases: str = ""  # proven case by case: the sizes taken, e.g. "n = 0..8"
    too_large: bool = False  # unsupported only for its size: a smaller bound may do
    steps: int = 0  # statements unrolled, every case together
    same_shape: bool = False  # proven by prove_same_shape: every input, no bound on any loop


MAX_CASES = 100  # size assignments tried one by one, at most


def _whole(fn: ir.Function, k: int, budget: int, fixed: dict[str, int] | None = None) -> _State:
    entry = {
        p.name: const(fixed[p.name], p.ty)
        for p in fn.params
        if fixed and p.name in fixed and isinstance(p.ty, ir.Scalar)
    }
    st = _State(fn, dict(entry), {}, TRUE, set(), _Unroll(k, budget), entry=entry)
    _run(fn.body, st)
    return st


def prove_functions(
    source: ir.Function,
    candidate: ir.Function,
    k: int,
    budget: int = 20_000,
    timeout_ms: int = 60_000,
    sizes: tuple[str, ...] = (),
    rlimit: int | None = None,
) -> FunctionProof:
    """Whether `candidate` returns what `source` returns and leaves every
    array element as it does, for every input on which no loop of either
    runs more than k times (loops with constant bounds: whole).  A candidate
    that runs on where the source stops is for the differential runs to see.

    `sizes`: scalar parameters that set lengths and trip counts.  Where a
    loop's trip count is not a constant, the claim is proven for each of
    their values from 0 to k in turn, everything else symbolic: indices are
    then constants, where over a symbolic n Z3 must reason about products
    of 64-bit numbers (and the terms of a nest grow with every write)."""
    spent = _Spent(budget)
    limits = (spent, timeout_ms, rlimit)  # one statement budget for every case
    if not sizes or not (_open_loops(source.body) or _open_loops(candidate.body)):
        return replace(_prove_case(source, candidate, k, limits, None), steps=spent.steps)
    per = k
    while per > 1 and (per + 1) ** len(sizes) > MAX_CASES:
        per -= 1
    for values in itertools.product(*[range(per + 1)] * len(sizes)):
        case = _prove_case(source, candidate, k, limits, dict(zip(sizes, values)))
        if case.status is not Status.PROVEN:
            return replace(case, steps=spent.steps)
    return FunctionProof(Status.PROVEN, k, "", ", ".join(f"{n} = 0..{per}" for n in sizes), steps=spent.steps)


def _open_loops(stmts) -> bool:
    """Whether a loop's trip count may depend on the input."""
    for s in ir.walk_stmts(stmts):
        if (
            isinstance(s, ir.While)
            or isinstance(s, ir.For)
            and not (isinstance(s.lo, ir.Const) and isinstance(s.hi, ir.Const))
        ):
            return True
    return False


@dataclass
class _Spent:
    """Statements unrolled by a proof, all its cases together, and the most allowed."""

    budget: int
    steps: int = 0

    def take(self, fn: ir.Function, k: int, fixed) -> _State:
        """fn run symbolically within what is left of the budget."""
        st = _whole(fn, k, self.budget - self.steps, fixed)
        self.steps += st.loops.steps if st.loops else 0
        return st


def _prove_case(
    source: ir.Function, candidate: ir.Function, k: int, limits: tuple, fixed: dict[str, int] | None
) -> FunctionProof:
    spent, timeout_ms, rlimit = limits
    try:
        a, b = spent.take(source, k, fixed), spent.take(candidate, k, fixed)
    except _TooLarge as exc:
        why = f" ({exc})" if exc.reads else ""
        return FunctionProof(
            Status.UNSUPPORTED, None, f"more than {spent.budget} statements to unroll{why}", too_large=True
        )
    except (_Unsupported, KeyError) as exc:
        return FunctionProof(Status.UNSUPPORTED, None, str(exc).strip("'"))
    where = "" if not fixed else " (with " + ", ".join(f"{n} = {v}" for n, v in fixed.items()) + ")"
    bounded = bool(a.loops.over or b.loops.over) or bool(fixed)
    bound = k if bounded else None
    within = _within_bounds(a.loops.over + b.loops.over)
    pre = precondition(source, fixed)
    when = within if pre is None else pre if within is None else conjoin(within, pre)
    # a claim under a condition no input meets would be proven vacuously
    if when is not None and _unsatisfiable(when, timeout_ms, rlimit):
        if fixed:
            return FunctionProof(Status.PROVEN, bound)  # this case is past the bound or the precondition
        if pre is not None and _unsatisfiable(pre, timeout_ms, rlimit):
            return FunctionProof(Status.UNSUPPORTED, bound, "no input meets the precondition")
        return FunctionProof(Status.UNSUPPORTED, bound, f"no input keeps every loop within {k} iterations")
    if source.ret is not None and (a.ret is None or b.ret is None):
        return FunctionProof(Status.UNSUPPORTED, bound, "a path returns no value")
    claims = _claims(source, candidate, a, b)
    for what, x, y in claims:
        if x == y:
            continue
        try:
            cex = _prove_pair(x, y, timeout_ms, when, rlimit)
        except rules.Undecided as exc:
            return FunctionProof(Status.UNDECIDED, bound, f"{what}{where}: {exc}")
        except RecursionError:
            return FunctionProof(Status.UNDECIDED, bound, f"{what}{where}: its terms are too deep for the prover")
        except ValueError as exc:
            return FunctionProof(Status.UNSUPPORTED, bound, f"{what}{where}: {exc}")
        if cex is not None:
            cex = {**(fixed or {}), **cex}
            return FunctionProof(Status.REFUTED, bound, f"{what} differs with {_show(cex)}")
    return FunctionProof(Status.PROVEN, bound)


def _prove_pair(x: Term, y: Term, timeout_ms: int, when: Term | None = None, rlimit: int | None = None) -> dict | None:
    """rules.prove, where float terms are first tried with their operations
    abstracted: the same float operations on equal operands are shown so
    without bit-blasting them; where that fails, exactly."""
    if _floats(x, y):
        try:
            rules.prove(x, y, timeout_ms, when=when, rlimit=rlimit, abstract_floats=True)
            return None
        except rules.Undecided:
            pass
    return rules.prove(x, y, timeout_ms, when=when, rlimit=rlimit)


def precondition(fn: ir.Function, fixed: dict[str, int] | None = None) -> Term | None:
    """fn's `requires` as a term over its parameters (those in `fixed` set
    to their values), or None: the claims are proven where it holds, as
    callers promise it does."""
    pre = requires.term(fn)
    if pre is not None and fixed:
        types = {p.name: p.ty for p in fn.params if isinstance(p.ty, ir.Scalar)}
        pre = fold(rules.substitute(pre, {n: const(v, types[n]) for n, v in fixed.items()}))
    return pre


def _within_bounds(overs: list) -> Term | None:
    """That no loop went past its bound (`overs`: the guards under which
    one does), as a condition on the input; None when none can."""
    over = FALSE
    for g in overs:
        over = _or(over, g)
    return None if over == FALSE else _not(over)


def _unsatisfiable(when: Term, timeout_ms: int, rlimit: int | None) -> bool:
    """Whether Z3 shows that no input meets `when` (undecided: it may)."""
    try:
        return rules.prove(when, FALSE, timeout_ms, rlimit=rlimit) is None
    except rules.Undecided:
        return False


def _claims(source: ir.Function, candidate: ir.Function, a: _State, b: _State) -> list[tuple]:
    """What must be equal after the two runs: the value returned, and each
    element (at a symbolic index) of every array either writes and the
    caller sees (the caller has checked that where the source returns a
    value, both runs do)."""
    claims = []
    if source.ret is not None:
        claims.append(("the value returned", a.ret, b.ret))
    taken = {p.name for p in source.params} | a.scalars.keys() | b.scalars.keys()
    j = var(ir.fresh_name("__j", taken), U64)
    for arr in sorted(a.writes.keys() | b.writes.keys()):
        if arr in source.local_arrays:
            continue  # gone once the call returns: nobody sees it
        claims.append(
            (
                f"{arr}[{j.value}]",
                _content(source, arr, a.writes.get(arr, ()), j, a.entry),
                _content(candidate, arr, b.writes.get(arr, ()), j, b.entry),
            )
        )
    return claims


def _floats(*ts: Term) -> bool:
    from ..meaning.terms import subterms

    return any(u.ty.is_float and u.op in ("add", "sub", "mul", "div", "sqrt") for t in ts for u in subterms(t))


# ---------------------------------------------------------------- the same shape, every input


def prove_same_shape(source: ir.Function, other: ir.Function, timeout_ms: int = 60_000) -> str | None:
    """None when `other` is proven to return what `source` returns and to
    leave every array element as it does, for every input and with no
    bound on any loop; else why not.  Both must have the same shape: the
    same loops, branches holding loops or returns, and returns, in the same
    places, with any straight code between them (a function's run form is
    so: lower.transform puts its terms back as statements, in new
    temporaries).

    Each stretch of straight code is proven equal from any start state the
    two share, on the names read after it; each loop's bounds or condition
    are proven equal, and its bodies equal from any shared state, so by
    induction over its iterations the loop keeps the states equal however
    often it runs.  Equal stretches compose into equal functions."""
    if source.params != other.params or source.ret != other.ret:
        return "the signatures differ"
    try:
        _same_lists(source.body, other.body, (source, other), frozenset(), timeout_ms)
    except _Unsupported as exc:
        return str(exc).strip("'")
    except KeyError as exc:
        return f"unsupported: {exc}"
    return None


def _control(s) -> bool:
    """Whether s is a statement the shapes must share (a stretch of straight code ends at it)."""
    return isinstance(s, (ir.For, ir.While, ir.Return)) or (
        isinstance(s, ir.If) and any(isinstance(u, (ir.For, ir.While, ir.Return)) for u in ir.walk_stmts(ir.blocks(s)))
    )


def _stretches(stmts) -> tuple[list[list], list[int]]:
    """The straight stretches of a list, and the places of the statements
    between them (one stretch more than places)."""
    parts: list[list] = [[]]
    cuts = []
    for i, s in enumerate(stmts):
        if _control(s):
            cuts.append(i)
            parts.append([])
        else:
            parts[-1].append(s)
    return parts, cuts


def _live(stmts, out: frozenset[str]) -> frozenset[str]:
    """The names whose values at the start of `stmts` may be read, where
    `out` are those read once the list ends (backward liveness: a name
    declared or assigned before any read is not)."""
    live = out
    for s in reversed(stmts):
        if isinstance(s, (ir.Let, ir.Assign)):
            live = (live - {s.name}) | ir.names_read(*ir.own_exprs(s))
        elif isinstance(s, ir.Return):
            live = frozenset(ir.names_read(*ir.own_exprs(s)))  # nothing after it runs
        elif isinstance(s, ir.If):
            live = _live(s.then, live) | _live(s.else_, live) | ir.names_read(s.cond)
        elif isinstance(s, (ir.For, ir.While)):
            live = _loop_live(s, live)
        else:
            live = live | ir.names_read(*ir.own_exprs(s))
    return live


def _loop_live(s, out: frozenset[str]) -> frozenset[str]:
    """The names live at a loop's head: read after it, by its condition or
    bounds, or by its body before the body sets them (in any iteration)."""
    head = out | ir.names_read(*ir.own_exprs(s))
    while True:
        more = head | (_live(s.body, head) - ({s.var} if isinstance(s, ir.For) else frozenset()))
        if more == head:
            return head
        head = more


def _same_lists(a, b, fns: tuple, after: frozenset[str], timeout_ms: int) -> None:
    """From any state the two share, lists a and b (of fns[0] and fns[1])
    leave equal every name in `after` (those read once they end) and every
    array, and return equal values where they return; _Unsupported (why)
    where that is not shown."""
    parts_a, cuts_a = _stretches(a)
    parts_b, cuts_b = _stretches(b)
    if [type(a[i]) for i in cuts_a] != [type(b[j]) for j in cuts_b]:
        raise _Unsupported("the loops, branches and returns differ in shape")
    for n, (i, j) in enumerate(zip(cuts_a, cuts_b)):
        _same_stretch(parts_a[n], parts_b[n], fns, _live(a[i:], after) | _live(b[j:], after), timeout_ms)
        _same_control(a[i], b[j], fns, _live(a[i + 1 :], after) | _live(b[j + 1 :], after), timeout_ms)
    _same_stretch(parts_a[-1], parts_b[-1], fns, after, timeout_ms)


def _same_control(x, y, fns: tuple, after: frozenset[str], timeout_ms: int) -> None:
    def same(e, f, what: str) -> None:
        _same_terms(
            _expr(e, _State(fns[0], {}, {}, TRUE, set())),
            _expr(f, _State(fns[1], {}, {}, TRUE, set())),
            what,
            timeout_ms,
        )

    if isinstance(x, ir.Return):
        if (x.value is None) != (y.value is None):
            raise _Unsupported("one returns a value where the other does not")
        if x.value is not None:
            same(x.value, y.value, "the value returned")
    elif isinstance(x, ir.If):
        same(x.cond, y.cond, "a branch's condition")
        _same_lists(x.then, y.then, fns, after, timeout_ms)
        _same_lists(x.else_, y.else_, fns, after, timeout_ms)
    elif isinstance(x, ir.For):
        if (x.var, x.ty) != (y.var, y.ty):
            raise _Unsupported("the loops' variables differ")
        same(x.lo, y.lo, "a loop's start")
        same(x.hi, y.hi, "a loop's end")
        # what the body leaves is read by the next iteration, or after the loop
        _same_lists(x.body, y.body, fns, _loop_live(x, after) | _loop_live(y, after), timeout_ms)
    else:
        same(x.cond, y.cond, "a while loop's condition")
        _same_lists(x.body, y.body, fns, _loop_live(x, after) | _loop_live(y, after), timeout_ms)


def _same_stretch(a, b, fns: tuple, after: frozenset[str], timeout_ms: int) -> None:
    """Straight code a and b, run from any state the two share, leave equal
    every name in `after` and every array element."""
    if a == b:
        return
    ea, why = _analyse(a, fns[0])
    if ea is None:
        raise _Unsupported(why)
    eb, why = _analyse(b, fns[1])
    if eb is None:
        raise _Unsupported(why)
    for what, x, y in _effect_claims(ea, eb, (ea.scalars.keys() | eb.scalars.keys()) & after, set(after)):
        _same_terms(x, y, what, timeout_ms)


def _same_terms(x: Term, y: Term, what: str, timeout_ms: int) -> None:
    if x == y:
        return
    try:
        cex = _prove_pair(x, y, timeout_ms)
    except rules.Undecided as exc:
        raise _Unsupported(f"{what}: {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise _Unsupported(f"{what}: {exc}") from None
    if cex is not None:
        raise _Unsupported(f"{what} differs from some start state ({_show(cex)})")
