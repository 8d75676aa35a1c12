"""Loop-free statement lists as terms, and their equality proven by Z3.

`effects` runs a list of Let/Assign/Store/If/Count statements symbolically:
each scalar ends as one Term over the start state, each array as an ordered
list of guarded writes.  `prove_equal` then asks Z3 whether two lists leave
every observable scalar and every array element the same, for every start
state (array contents unknown).  The model follows the interpreter: a read
out of range gives 0, a write out of range does nothing, an index is read
as unsigned, and array lengths are the parameters' length expressions,
evaluated on entry (a negative signed length counts as 0, as compiled code
has it).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import ir
from . import rules
from .terms import Term, const, var

U64 = ir.U64
TRUE = const(True, ir.BOOL)
FALSE = const(False, ir.BOOL)


class _Unsupported(Exception):
    """Something this module does not model (a loop, a call, ...)."""


# ---------------------------------------------------------------- small term builders

def _select(c: Term, a: Term, b: Term) -> Term:
    if c == TRUE or a == b:
        return a
    if c == FALSE:
        return b
    return Term("select", a.ty, (c, a, b))


def _and(a: Term, b: Term) -> Term:
    if a == TRUE:
        return b
    if b == TRUE:
        return a
    if FALSE in (a, b):
        return FALSE
    return Term("land", ir.BOOL, (a, b))


def _not(a: Term) -> Term:
    return Term("not", ir.BOOL, (a,))


def _cast(t: Term, ty: ir.Scalar) -> Term:
    return t if t.ty == ty else Term("cast", ty, (t,))


def _zero(ty: ir.Scalar) -> Term:
    return const(False if ty.is_bool else (0.0 if ty.is_float else 0), ty)


def to_u64(t: Term) -> Term:
    """An index as the interpreter reads it: its bit pattern, unsigned, widened."""
    if not t.ty.is_int:
        raise _Unsupported(f"an index of type {t.ty}")
    if t.ty.signed:                         # same width: keeps the bits
        t = _cast(t, ir.Scalar("uint", t.ty.bits))
    return _cast(t, U64)                    # unsigned source: zero-extends


def length_term(fn: ir.Function, array: str) -> Term:
    """The array's length as u64, over the parameters (codegen's array_length)."""
    p = fn.param(array)
    if not isinstance(p.ty, ir.Array):
        raise _Unsupported(f"'{array}' is not an array")
    n = _expr(p.ty.length, _State(fn, {}, {}, TRUE, set()))
    if n.ty.signed:
        n = _cast(n, ir.I64)                # sign-extends
        n = _select(Term("lt", ir.BOOL, (n, const(0, ir.I64))), const(0, ir.I64), n)
    return to_u64(n)


def _content(fn: ir.Function, array: str, writes, k: Term) -> Term:
    """The value at index k (u64) after `writes`: the latest write whose guard
    holds at k, else the start content (0 out of range)."""
    elem = fn.param(array).ty.elem
    t = _select(Term("lt", ir.BOOL, (k, length_term(fn, array))),
                Term("load", elem, (k,), array), _zero(elem))
    for guard, idx, value in writes:
        t = _select(_and(guard, Term("eq", ir.BOOL, (idx, k))), value, t)
    return t


# ---------------------------------------------------------------- symbolic execution

@dataclass
class _State:
    fn: ir.Function
    scalars: dict[str, Term]
    writes: dict[str, list]                 # array -> [(guard, index u64, value)]
    pc: Term                                # the path condition
    declared: set[str]                      # shared by all forks

    def fork(self, pc: Term) -> "_State":
        return _State(self.fn, dict(self.scalars), {a: list(w) for a, w in self.writes.items()},
                      pc, self.declared)


def _expr(e, st: _State) -> Term:
    if isinstance(e, ir.Const):
        return const(e.value, e.ty)
    if isinstance(e, ir.Var):
        return st.scalars.get(e.name) or var(e.name, e.ty)
    if isinstance(e, ir.Call):
        raise _Unsupported(f"a call of {e.func}")
    if isinstance(e, ir.Load):
        k = to_u64(_expr(e.index, st))
        return _content(st.fn, e.array, st.writes.get(e.array, ()), k)
    kids = tuple(_expr(c, st) for c in ir.children(e))
    if isinstance(e, (ir.Unary, ir.Binary)):
        return Term(e.op, e.ty, kids)
    if isinstance(e, ir.Cast):
        return Term("cast", e.ty, kids)
    if isinstance(e, ir.Prim):
        return Term(e.name, e.ty, kids)
    raise _Unsupported(f"the expression {e!r}")


def _run(stmts, st: _State) -> None:
    for s in stmts:
        if isinstance(s, ir.Let):
            st.scalars[s.name] = _expr(s.init, st)
            st.declared.add(s.name)
        elif isinstance(s, ir.Assign):
            st.scalars[s.name] = _expr(s.value, st)
        elif isinstance(s, ir.Store):
            k = to_u64(_expr(s.index, st))
            v = _expr(s.value, st)
            inside = Term("lt", ir.BOOL, (k, length_term(st.fn, s.array)))
            st.writes.setdefault(s.array, []).append((_and(st.pc, inside), k, v))
        elif isinstance(s, ir.If):
            c = _expr(s.cond, st)
            then, else_ = st.fork(_and(st.pc, c)), st.fork(_and(st.pc, _not(c)))
            _run(s.then, then)
            _run(s.else_, else_)
            for name in then.scalars.keys() | else_.scalars.keys():
                a, b = then.scalars.get(name), else_.scalars.get(name)
                a = a or var(name, b.ty)            # untouched on that side: the start value
                b = b or var(name, a.ty)
                st.scalars[name] = _select(c, a, b)
            # Both forks copied the writes made before the If; their new
            # writes have exclusive guards, so their relative order is moot.
            for arr in then.writes.keys() | else_.writes.keys():
                old = len(st.writes.get(arr, ()))
                st.writes[arr] = (st.writes.get(arr, [])[:old] + then.writes.get(arr, [])[old:]
                                  + else_.writes.get(arr, [])[old:])
        elif isinstance(s, ir.Count):
            pass                                    # counters do not change values
        else:
            raise _Unsupported(f"a {type(s).__name__.lower()} statement")


@dataclass
class Effects:
    """What a loop-free statement list does to the state it starts from."""
    fn: ir.Function
    scalars: dict[str, Term]                # name -> final value (names touched only)
    declared: set[str]                      # Let inside: local, not observable
    writes: dict[str, list] = field(default_factory=dict)

    def content(self, array: str, j: Term) -> Term:
        """The array's final value at index j (a u64 term)."""
        return _content(self.fn, array, self.writes.get(array, ()), j)


def _analyse(stmts, fn: ir.Function) -> tuple[Effects | None, str]:
    length_vars = {v.name for p in fn.params if isinstance(p.ty, ir.Array)
                   for v in ir.walk(p.ty.length) if isinstance(v, ir.Var)}
    # Lengths are fixed on entry: a body that changes their inputs (or a
    # function that does, before the body runs) would make `n` lie.
    changed = length_vars & (_assigned(stmts) | _assigned(fn.body))
    if changed:
        return None, f"assigns {', '.join(sorted(changed))}, which an array length reads"
    st = _State(fn, {}, {}, TRUE, set())
    try:
        _run(stmts, st)
    except (_Unsupported, KeyError) as exc:
        return None, str(exc).strip("'")
    return Effects(fn, st.scalars, st.declared, st.writes), ""


def _assigned(stmts) -> set[str]:
    out: set[str] = set()
    for s in stmts:
        if isinstance(s, ir.Assign):
            out.add(s.name)
        for inner in _blocks(s):
            out |= _assigned(inner)
    return out


def _blocks(s) -> tuple:
    if isinstance(s, (ir.If, ir.When)):
        return (s.then, s.else_)
    if isinstance(s, (ir.For, ir.While)):
        return (s.body,)
    return ()


def effects(stmts, fn: ir.Function) -> Effects | None:
    """The statements' effects as terms, or None when they hold a loop, a
    return, a call or anything else this module does not model."""
    return _analyse(stmts, fn)[0]


# ---------------------------------------------------------------- equality

def _fresh(base: str, taken: set[str]) -> str:
    name = base
    while name in taken:
        name += "_"
    return name


def _show(cex: dict) -> str:
    return ", ".join(f"{k} = {v}" for k, v in cex.items()) or "any input"


def prove_equal(before, after, fn: ir.Function, assume: ir.Expr | None = None,
                timeout_ms: int = 10000) -> str | None:
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
    claims = []
    for name in sorted((a.scalars.keys() | b.scalars.keys()) - hidden):
        x, y = a.scalars.get(name), b.scalars.get(name)
        claims.append((name, x or var(name, y.ty), y or var(name, x.ty)))
    taken = {p.name for p in fn.params} | a.scalars.keys() | b.scalars.keys()
    j = var(_fresh("__j", taken), U64)
    for arr in sorted(a.writes.keys() | b.writes.keys()):
        claims.append((f"{arr}[{j.value}]", a.content(arr, j), b.content(arr, j)))

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
