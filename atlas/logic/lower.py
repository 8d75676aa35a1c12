"""Lower: the typed IR's pure parts as terms, and back.

Inside each straight-line run of statements (lets, assignments and stores,
no calls) the locals are substituted forward, so a chain such as

    x = w[i]; x = x - ((x >> 1) & 0x5555...); ...; total += (x * 0x0101...) >> 56

becomes one term per value the run leaves behind, over the values the run
started from.  A run ends before a statement that is not straight-line, and
before a load from an array the run has already written, so every load in a
run's terms reads the memory the run started with.  Conditions, loop bounds
and returned values are terms too.  Each such term is a *root*.

A scalar function whose loops have constant bounds and that reads no array
is also written as one term, its *whole-function root* (role "function",
see atlas/logic/flatten.py); a form chosen for it replaces the whole body.

`transform(module, choose)` rebuilds the module with every root replaced by
`choose(root)`: the identity gives the source form, the e-graph's extraction
gives the optimised one.  The control structure never changes, so proving
each root equal to its replacement proves the function equal.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace
from typing import Callable

from ..meaning import ir
from ..meaning.terms import Term, from_expr, subterms, to_expr, var
from . import loops, whiles


@dataclass(frozen=True)
class Root:
    name: str  # unique: "<function>@<file:line:col> <role>"
    function: str
    role: str  # 'value of y[i]', 'index of y[i]', 'x', 'condition', 'return', ...
    term: Term
    where: ir.Span
    # Where it runs (atlas/logic/costs.py prices it so): None, once; else
    # in every iteration of a loop (its function's own, or every caller's),
    # and these are the variables it reads that an earlier iteration made.
    # Empty: iterations overlap, and only throughput counts; else the
    # recurrence through them bounds the loop too.
    loop: frozenset[str] | None = None

    @property
    def overlapped(self) -> bool:
        return self.loop == frozenset()


Choose = Callable[[Root], Term]


def _loads(t: Term) -> set[str]:
    return {u.value for u in subterms(t) if u.op == "load"}


@dataclass
class _Run:
    """The symbolic state of one straight-line run."""

    env: dict[str, Term] = field(default_factory=dict)  # local -> its term now
    declared: dict[str, ir.Scalar] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # locals written, first write first
    stores: list[tuple] = field(default_factory=list)  # (array, index, value, span)
    written: set[str] = field(default_factory=set)
    spans: dict[str, ir.Span] = field(default_factory=dict)  # local -> its last writer


class _Lowering:
    def __init__(self, fn: ir.Function, choose: Choose | None, called: frozenset[str] | None = None):
        self.fn = fn
        self.choose = choose or (lambda r: r.term)
        self.roots: list[Root] = []
        self.names: dict[str, int] = {}
        self.temps = 0
        self.called = called  # called only in loops: the parameters some call's loop carries (called_in_loops)
        self.carried: list[set[str]] = []  # per enclosing loop: what one iteration leaves to the next

    def root(self, term: Term, where: ir.Span, role: str) -> Term:
        name = f"{self.fn.name}@{where} {role}"
        self.names[name] = self.names.get(name, 0) + 1
        if self.names[name] > 1:  # the same statement seen again (rare)
            name += f" #{self.names[name]}"
        r = Root(name, self.fn.name, role, term, where, self.loop_of(term))
        self.roots.append(r)
        return self.choose(r)

    def loop_of(self, term: Term) -> frozenset[str] | None:
        """Root.loop for `term`: None where it runs once; in a loop (the
        function's own, or its callers'), what it reads of what the loops
        carry (a local they assign, an array they store, a parameter a
        call's loop passes back in).  A loop's own value (a fold, an until)
        is priced once."""
        if term.op in ("reduce", "until") or (not self.carried and self.called is None):
            return None
        return frozenset(_term_reads(term) & set().union(self.called or (), *self.carried))

    @contextlib.contextmanager
    def looping(self, body):
        """While a loop's body is lowered: what the loop carries is in scope."""
        self.carried.append(_carried(body))
        try:
            yield
        finally:
            self.carried.pop()

    def expr(self, e: ir.Expr, role: str, where: ir.Span) -> ir.Expr:
        """A single expression outside any run (conditions, bounds, returns)."""
        t = from_expr(e, {})
        if t is None:  # it calls a function: left as it is
            return e
        return to_expr(self.root(t, where, role))

    # -- blocks
    def block(self, stmts) -> tuple:
        out: list = []
        run = _Run()
        for s in stmts:
            if self.absorb(run, s):
                continue
            out += self.flush(run)
            run = _Run()
            if not self.absorb(run, s):
                done = self.statement(s)
                out += done if isinstance(done, tuple) else [done]
        out += self.flush(run)
        return tuple(out)

    def absorb(self, run: _Run, s) -> bool:
        """Take s into the run if it is straight-line and reads no array the
        run has written."""
        if isinstance(s, (ir.Let, ir.Assign)):
            t = from_expr(s.init if isinstance(s, ir.Let) else s.value, run.env)
            if t is None or _loads(t) & run.written:
                return False
            if isinstance(s, ir.Let):
                run.declared[s.name] = s.ty
            run.spans[s.name] = s.span
            if s.name not in run.order:
                run.order.append(s.name)
            run.env[s.name] = t
            return True
        if isinstance(s, ir.Store):
            idx, val = from_expr(s.index, run.env), from_expr(s.value, run.env)
            if idx is None or val is None or (_loads(idx) | _loads(val)) & run.written:
                return False
            run.stores.append((s.array, idx, val, s.span))
            run.written.add(s.array)
            return True
        return False

    def flush(self, run: _Run) -> list:
        """The run's effects as statements: every value first into a temporary
        (all terms read the run's starting state, so a bare local the run
        reassigns is copied too), then locals, then stores."""
        out: list[ir.Stmt] = []
        finals: dict[str, ir.Expr] = {}
        # the locals this run reassigns: a term naming one of them means its
        # value at the run's start, which must be read before it is replaced
        reassigned = {
            name for name in run.order if run.env[name] != var(name, run.env[name].ty) or name in run.declared
        }

        def settle(term: Term, where, role) -> ir.Expr:
            chosen = self.root(term, where, role)
            if chosen.op == "const" or (chosen.op == "var" and chosen.value not in reassigned):
                return to_expr(chosen)
            return self.bind(self.shared(chosen, out, where), out, where)

        for name in run.order:
            if name in reassigned:
                finals[name] = settle(run.env[name], run.spans[name], name)
        stores = [
            (a, settle(i, sp, f"index of {a}[]"), settle(v, sp, f"value of {a}[]"), sp) for a, i, v, sp in run.stores
        ]
        for name, value in finals.items():
            if name in run.declared:
                out.append(ir.Let(name, run.declared[name], value, run.spans[name]))
            else:
                out.append(ir.Assign(name, value, run.spans[name]))
        out += [ir.Store(a, i, v, sp) for a, i, v, sp in stores]
        return out

    def fresh(self, what: str) -> str:
        self.temps += 1
        return f"t.{what}{self.temps}"

    def bind(self, t: Term, out: list, where: ir.Span) -> ir.Var:
        """A temporary holding t, declared at the end of `out`."""
        name = self.fresh("x")
        out.append(ir.Let(name, t.ty, to_expr(t), where))
        return ir.Var(name, t.ty)

    def shared(self, t: Term, out: list, where: ir.Span) -> Term:
        """t, where written out as a tree it would be large, with each subterm
        it uses more than once bound to a temporary first: `x = x * x + x`
        repeated 60 times is a small DAG whose tree has 2^60 nodes."""
        from .flatten import tree_size

        if tree_size(t) <= SHARED_TREE:
            return t
        uses: dict[Term, int] = {}
        for u in subterms(t):
            for a in u.args:
                uses[a] = uses.get(a, 0) + 1
        done: dict[Term, Term] = {}

        def rebuild(u: Term) -> Term:
            if u in done:
                return done[u]
            r = u if not u.args else Term(u.op, u.ty, tuple(rebuild(a) for a in u.args), u.value)
            if u.args and uses.get(u, 0) > 1 and u.op != "load":
                v = self.bind(r, out, where)
                r = var(v.name, v.ty)
            done[u] = r
            return r

        return rebuild(t)

    def statement(self, s):
        if isinstance(s, ir.If):
            return ir.If(self.expr(s.cond, "condition", s.span), self.block(s.then), self.block(s.else_), s.span)
        if isinstance(s, ir.While):
            until = whiles.recognise(s)
            if until is not None:
                # each carried value as an until term: a root of its own
                chosen = [self.root(t, s.span, f"{UNTIL} {n}") for n, t in zip(until.carried, until.terms)]
                if not any(whiles.has_until(c) for c in chosen):
                    return whiles.emit(s, until, chosen, self.fresh)
            with self.looping(s.body):
                return ir.While(self.expr(s.cond, "condition", s.span), self.block(s.body), s.span)
        if isinstance(s, ir.For):
            lo, hi = self.expr(s.lo, "lower bound", s.span), self.expr(s.hi, "upper bound", s.span)
            fold = loops.recognise(s)
            if fold is not None:
                # each carried value as a fold: a root of its own
                chosen = [self.root(t, s.span, f"{FOLD} {n}") for n, t in zip(fold.carried, fold.terms)]
                if any(loops.restructured(t, c) for t, c in zip(fold.terms, chosen)):
                    return loops.emit(replace(s, lo=lo, hi=hi), fold, chosen, self.fresh)
            with self.looping(s.body):
                body = self.block(s.body)
            return ir.For(s.var, s.ty, lo, hi, body, s.span, s.lanes)
        if isinstance(s, ir.Return):
            return s if s.value is None else ir.Return(self.expr(s.value, "return", s.span), s.span)
        return s  # calls and anything holding one stay as written


def _carried(body) -> set[str]:
    """What one iteration of a loop with this body may leave to the next:
    the locals it assigns and the arrays it stores."""
    return ir.assigned(body) | ir.stored(body)


def _term_reads(term: Term) -> set[str]:
    return {u.value for u in subterms(term) if u.op in ("var", "load")}


def called_in_loops(module: ir.Module) -> dict[str, frozenset[str]]:
    """The functions every call of which (one at least) runs in a loop,
    directly or from the top of a function itself in this map, each with
    its parameters that some call fills from what its loop carries
    (Root.loop)."""
    sites: dict[str, list[tuple[str, ir.Call, set[str] | None]]] = {}  # callee -> (caller, call, carried or None)

    def visit(fn: str, stmts, carried: set[str] | None) -> None:
        for s in stmts:
            for c in (c for e in ir.own_exprs(s) for c in ir.walk(e) if isinstance(c, ir.Call)):
                sites.setdefault(c.func, []).append((fn, c, carried))
            inner = carried
            if isinstance(s, (ir.For, ir.While)):
                inner = (carried or set()) | _carried(s.body)
            for block in (getattr(s, "then", ()), getattr(s, "else_", ()), getattr(s, "body", ())):
                visit(fn, block, inner)

    for f in module.functions:
        visit(f.name, f.body, None)
    params = {f.name: [p.name for p in f.params] for f in module.functions}
    found: dict[str, frozenset[str]] = {callee: frozenset() for callee in sites if callee in params}
    for _ in range(len(params) + 2):  # membership only shrinks, carried sets only grow: a few rounds settle
        before = dict(found)
        for callee in list(found):
            carried: set[str] = set()
            for caller, call, there in sites[callee]:
                if there is None and caller not in found:
                    found.pop(callee)
                    break
                loop = there if there is not None else found[caller]
                carried |= {p for p, a in zip(params[callee], call.args) if _arg_reads(a) & loop}
            else:
                found[callee] = frozenset(carried)
        if found == before:
            break
    return found


def _arg_reads(a) -> set[str]:
    return {a.name} if isinstance(a, ir.ArrayRef) else _reads(a)


def transform(module: ir.Module, choose: Choose | None = None) -> tuple[ir.Module, list[Root]]:
    """Rebuild `module` with every root replaced by choose(root) (default: the
    root itself, which gives the source in run form); also return the roots."""
    from .flatten import whole_term

    functions, roots = [], []
    called = called_in_loops(module)
    for f in module.functions:
        lo = _Lowering(f, choose, called.get(f.name))
        body = lo.block(f.body)
        whole = whole_term(f)
        if whole is not None:
            # A pure scalar function of constant-bound loops and branches is
            # also one term: its whole-function root.  Chosen in another
            # form, that form is the whole body.
            t = lo.root(whole, f.span, FUNCTION)
            if t != whole:
                body = (ir.Return(to_expr(t), f.span),)
        functions.append(replace(f, body=body))
        roots += lo.roots
    return ir.Module(tuple(functions), module.sources), roots


FUNCTION = "function"  # the role of a whole-function root (atlas/logic/flatten.py)
FOLD = "fold of"  # the role of a loop's carried value as a fold (atlas/logic/loops.py), before its name
UNTIL = "after the while loop,"  # the role of a while loop's carried value (atlas/logic/whiles.py)
SHARED_TREE = 256  # a term larger than this as a tree gets its shared parts named


# ---------------------------------------------------------------- loop forms

ASSOCIATIVE = {"add", "mul", "and", "or", "xor", "min", "max"}


def loop_form(loop: ir.For) -> str:
    """'map', 'fold', 'scan' or 'loop' for a counted loop, from its body:
    a map only stores element i of its outputs (under any branching) and
    carries nothing from one iteration to the next; a fold only combines one
    accumulator with an associative integer operator; a scan does both,
    storing the running accumulator at i."""
    i = loop.var
    stores, carried, declared = [], [], set()

    def visit(stmts) -> bool:
        for s in stmts:
            if isinstance(s, ir.Let):
                declared.add(s.name)
            elif isinstance(s, ir.Store):
                stores.append(s)
            elif isinstance(s, ir.Assign):
                if s.name not in declared:
                    carried.append(s)
            elif isinstance(s, ir.If):
                if not (visit(s.then) and visit(s.else_)):
                    return False
            else:  # nested loops, returns, calls
                return False
        return True

    if not visit(loop.body):
        return "loop"
    at_i = all(isinstance(s.index, ir.Var) and s.index.name == i for s in stores)
    one_fold = len(carried) == 1 and _combines(carried[0])
    if not carried and stores and at_i:
        return "map"
    if one_fold and not stores:
        return "fold"
    if one_fold and stores and at_i:
        return "scan"
    return "loop"


def _combines(a: ir.Assign) -> bool:
    """acc = acc (op) e, with op associative on a non-float type."""
    v = a.value
    if isinstance(v, ir.Binary) and v.op in ASSOCIATIVE and not v.ty.is_float:
        return any(isinstance(x, ir.Var) and x.name == a.name for x in (v.a, v.b))
    if isinstance(v, ir.Prim) and v.name in ASSOCIATIVE and not v.ty.is_float:
        return any(isinstance(x, ir.Var) and x.name == a.name for x in v.args)
    return False


def loop_forms(module: ir.Module) -> list[dict]:
    """Every counted loop of the module with its form, for the manifest and
    for people."""
    found = []

    def visit(fn, stmts):
        for s in stmts:
            if isinstance(s, ir.For):
                found.append({"function": fn.name, "where": str(s.span), "form": loop_form(s)})
            for body in (getattr(s, "then", ()), getattr(s, "else_", ()), getattr(s, "body", ())):
                visit(fn, body)

    for f in module.functions:
        visit(f, f.body)
    return found


# ---------------------------------------------------------------- tidying


def tidy(fn: ir.Function) -> ir.Function:
    """The function with each temporary of the run form (`let t.xN = e;`)
    written into its one use when that use follows in the same statement
    list with nothing between that could change what `e` reads.  Equal by
    construction (the same expression, evaluated on the same values); loop
    transformations match the plain shape (`s = s + e`, `c[i * n + j] = s`)
    more easily than the run form."""
    return replace(fn, body=_tidy(fn.body))


def _tidy(stmts) -> tuple:
    stmts = [_tidy_nested(s) for s in stmts]
    uses: dict[str, int] = {}
    for s in stmts:
        for e in _exprs_deep(s):
            for x in ir.walk(e):
                if isinstance(x, ir.Var):
                    uses[x.name] = uses.get(x.name, 0) + 1
    out: list = []
    pending: dict[str, ir.Expr] = {}  # temporary -> its expression, not yet used
    for s in stmts:
        if (
            isinstance(s, ir.Let)
            and s.name.startswith("t.x")
            and uses.get(s.name) == 1
            and not any(isinstance(x, ir.Call) for x in ir.walk(s.init))
        ):
            pending[s.name] = s.init
            out.append(s)
            continue
        used = {x.name for e in _exprs_deep(s) for x in ir.walk(e) if isinstance(x, ir.Var)} & set(pending)
        if used and isinstance(s, (ir.Let, ir.Assign, ir.Store)):
            s = _substitute_stmt(s, {n: pending[n] for n in used})
            out = [o for o in out if not (isinstance(o, ir.Let) and o.name in used)]
            for n in used:
                del pending[n]
        # whatever this statement changes ends every pending temporary that reads it
        changed = _changes(s)
        ends_all = isinstance(s, (ir.If, ir.For, ir.While)) or any(  # a call may write any array passed
            isinstance(x, ir.Call) for e in ir.own_exprs(s) for x in ir.walk(e)
        )
        for n in [n for n, e in pending.items() if _reads(e) & changed or ends_all]:
            del pending[n]
        out.append(s)
    return tuple(out)


def _tidy_nested(s):
    if isinstance(s, ir.If):
        return ir.If(s.cond, _tidy(s.then), _tidy(s.else_), s.span)
    if isinstance(s, ir.For):
        return ir.For(s.var, s.ty, s.lo, s.hi, _tidy(s.body), s.span, s.lanes)
    if isinstance(s, ir.While):
        return ir.While(s.cond, _tidy(s.body), s.span)
    return s


def _exprs_deep(s):
    """Every expression a statement evaluates, nested statements included."""
    for inner in ir.walk_stmts((s,)):
        yield from ir.own_exprs(inner)


def _reads(e) -> set[str]:
    """Variables and arrays an expression reads."""
    out = set()
    for x in ir.walk(e):
        if isinstance(x, ir.Var):
            out.add(x.name)
        elif isinstance(x, ir.Load):
            out.add(x.array)
    return out


def _changes(s) -> set[str]:
    if isinstance(s, (ir.Let, ir.Assign, ir.LetArray)):
        return {s.name}
    if isinstance(s, ir.Store):
        return {s.array}
    return set()


def _substitute_stmt(s, env: dict):
    if isinstance(s, ir.Let):
        return ir.Let(s.name, s.ty, ir.substitute(s.init, env), s.span)
    if isinstance(s, ir.Assign):
        return ir.Assign(s.name, ir.substitute(s.value, env), s.span)
    return ir.Store(s.array, ir.substitute(s.index, env), ir.substitute(s.value, env), s.span, s.inbounds)
