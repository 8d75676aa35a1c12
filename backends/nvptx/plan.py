"""Which loop of a function runs as GPU kernels, and why that keeps its meaning.

A function is offloaded when its body is

    <pre>     straight-line lets and assignments (every thread runs them)
    for i in 0..P { ... }         P a scalar parameter (or a widening cast of one)
    <post>

and the loop has one of four forms:

    map     each iteration stores only element i of the arrays it writes,
            reads those arrays only at i, and carries no scalar onward;
    map2d   `for i in 0..P { for j in 0..Q { B } }` where B stores only at one
            index E(i, j), reads the arrays it writes only at E, and carries
            no scalar out of B; Z3 proves E distinct for distinct (i, j) in
            range, if need be under a bound on the parameters that the host
            checks before launching (`requires`);
    fold    one accumulator, `acc = acc op e`, op associative and commutative
            on integers, or + / * on floats in a `reassoc` function; acc read
            nowhere else; post is straight-line and ends in a return;
    scan    the same combine, unconditional, adding a value that does not
            depend on acc; stores of element i may read acc; post is empty.

In each, iterations touch disjoint memory and the only value passed between
them is the accumulator, whose operator may be regrouped: any order of
threads computes what the loop computes.  Anything else stays on the CPU,
with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from atlas.meaning import ir
from atlas.logic.lower import ASSOCIATIVE, loop_form, tidy
from atlas.search.nests import Prover

FLOAT_REASSOC = {"add", "mul"}


@dataclass(frozen=True)
class Plan:
    kind: str  # map | map2d | fold | scan
    fn: ir.Function
    pre: tuple  # statements before the loop
    loop: ir.For  # the parallel loop (the outer one of a map2d)
    post: tuple = ()  # a fold's statements after the loop
    inner: ir.For | None = None  # map2d: the inner parallel loop
    acc: str | None = None  # fold, scan: the accumulator
    acc_ty: ir.Scalar | None = None
    op: str | None = None
    counts: tuple[str, ...] = ()  # the parameters bounding the loops, outer first
    requires: tuple[tuple[str, int], ...] = ()  # (param, bound): value < bound, checked by the host
    evidence: dict = field(default_factory=dict, compare=False)
    dot: "Dot | None" = None  # map2d: its body is a dot product (tiles may stage its operands)

    @property
    def body(self) -> tuple:
        return (self.inner or self.loop).body


@dataclass(frozen=True)
class Dot:
    """A 2-d map body `let s = c; for k in 0..K { s = s + x * y }; out[E] = s`
    where x reads only (i, k) and y only (k, j): a block can load a tile of
    each operand once into shared memory for all its threads, and every
    output still sums its products in the order k = 0, 1, ..."""

    init: ir.Let
    loop: ir.For  # the k loop
    combine: ir.Assign
    x: ir.Load  # reads (i, k)
    y: ir.Load  # reads (k, j)
    store: ir.Store


class NotParallel(Exception):
    """Why a function stays on the CPU."""


def plan_for(fn: ir.Function) -> Plan:
    """The function's GPU plan; raises NotParallel with the reason.  The
    logic stage's temporaries (`let t.x1 = e;`) are first written back into
    their one use, so that the plain shapes above are seen."""
    fn = tidy(fn)
    if fn.local_arrays:  # one array per call: a GPU thread would need its own
        first = next(iter(fn.local_arrays.values()))
        raise NotParallel(f"{first.span}: a local array is one per call, not one per GPU thread")
    loops = [(k, s) for k, s in enumerate(fn.body) if isinstance(s, ir.For)]
    if len(loops) != 1:
        raise NotParallel(
            "its body is not one counted loop between straight-line code" if loops else "it has no counted loop"
        )
    k, loop = loops[0]
    pre, post = fn.body[:k], fn.body[k + 1 :]
    params = _fixed_params(fn)
    for s in pre:
        if not isinstance(s, (ir.Let, ir.Assign)) or _calls(s):
            raise NotParallel(f"{s.span}: only lets and assignments may come before the loop")
    outer = _count(loop, params)
    form = loop_form(loop)
    if form == "loop" and _is_nest(loop):
        return _map2d(fn, pre, loop, post, outer, params)
    if form == "fold" or (form == "loop" and _float_fold(loop)):
        return _fold(fn, pre, loop, post, outer)
    if form == "map":
        _no_post(post)
        _stored_read_only_at(loop.body, ir.Var(loop.var, loop.ty), pre)
        _plain_body(loop.body)
        return Plan(
            "map",
            fn,
            pre,
            loop,
            counts=(outer,),
            evidence={
                "form": "map",
                "independent": f"each iteration writes only element "
                f"{loop.var} of its outputs and reads them only there",
            },
        )
    if form == "scan":
        return _scan(fn, pre, loop, post, outer)
    raise NotParallel(
        f"{loop.span}: the loop is not a map, fold, scan or 2-d map "
        "(it carries a value, nests differently or stores elsewhere than element "
        f"{loop.var})"
    )


# ---------------------------------------------------------------- forms


def _map2d(fn, pre, loop, post, outer, params) -> Plan:
    inner = loop.body[0]
    inner_count = _count(inner, params)
    _no_post(post)
    body = inner.body
    _plain_body(body, nested_ok=True)
    carried = _carried(body)
    if carried:
        raise NotParallel(
            f"{carried[0].span}: {carried[0].name} is carried from one ({loop.var}, {inner.var}) to the next"
        )
    stores = [s for s in ir.walk_stmts(body) if isinstance(s, ir.Store)]
    if not stores:
        raise NotParallel(f"{loop.span}: the nest stores nothing")
    index = stores[0].index
    if any(s.index != index for s in stores):
        raise NotParallel(f"{stores[0].span}: the nest stores at more than one index")
    if _names(index) - {loop.var, inner.var} - params:
        raise NotParallel(f"{stores[0].span}: the store's index reads a local")
    _stored_read_only_at(body, index, pre)
    requires = _distinct(fn, loop, inner, index)
    guard = " under " + " and ".join(f"{p} < 2^{b.bit_length() - 1}" for p, b in requires) if requires else ""
    return Plan(
        "map2d",
        fn,
        pre,
        loop,
        inner=inner,
        counts=(outer, inner_count),
        requires=requires,
        dot=_dot(body, loop.var, inner.var, params),
        evidence={
            "form": "map2d",
            "independent": f"every ({loop.var}, {inner.var}) writes "
            f"only {ir.pretty_expr(index)}, and reads the arrays it writes only there",
            "proof": f"Z3: {ir.pretty_expr(index)} differs for distinct ({loop.var}, {inner.var}) in range{guard}",
        },
    )


def _dot(body, i: str, j: str, params: set[str]) -> Dot | None:
    """The body as a Dot, or None (then each thread just runs it)."""
    if len(body) != 3 or not (
        isinstance(body[0], ir.Let)
        and isinstance(body[0].init, ir.Const)
        and isinstance(body[1], ir.For)
        and isinstance(body[2], ir.Store)
    ):
        return None
    init, kloop, store = body
    s, k = init.name, kloop.var
    if not (
        isinstance(kloop.lo, ir.Const)
        and kloop.lo.value == 0
        and not kloop.ty.signed
        and _names(kloop.hi) <= params
        and len(kloop.body) == 1
        and isinstance(kloop.body[0], ir.Assign)
        and kloop.body[0].name == s
        and store.value == ir.Var(s, init.ty)
    ):
        return None
    combine = kloop.body[0]
    v = combine.value
    if not (
        isinstance(v, ir.Binary)
        and v.op == "add"
        and v.a == ir.Var(s, init.ty)
        and isinstance(v.b, ir.Binary)
        and v.b.op == "mul"
        and isinstance(v.b.a, ir.Load)
        and isinstance(v.b.b, ir.Load)
    ):
        return None
    x, y = v.b.a, v.b.b
    if not (_names(x.index) <= params | {i, k} and _names(y.index) <= params | {k, j}):
        return None
    return Dot(init, kloop, combine, x, y, store)


def _fold(fn, pre, loop, post, outer) -> Plan:
    acc, ty, op, combine = _combine_of(loop.body, fn)
    _plain_body(loop.body)
    if any(isinstance(s, ir.Store) for s in ir.walk_stmts(loop.body)):
        raise NotParallel(f"{loop.span}: a fold that also stores is not parallel")
    for s in ir.walk_stmts(loop.body):
        reads = _stmt_reads(s) if s is not combine else _names(_operand(combine))
        if acc in reads:
            raise NotParallel(f"{s.span}: {acc} is read apart from its own combine")
    for s in post:
        if not isinstance(s, (ir.Let, ir.Assign, ir.Return)) or _calls(s):
            raise NotParallel(f"{s.span}: only lets, assignments and a return may follow a fold")
    if not post or not isinstance(post[-1], ir.Return):
        raise NotParallel(f"{loop.span}: a fold must be followed by straight-line code ending in a return")
    if fn.ret is None:  # nothing carries the result out of the kernel
        raise NotParallel(f"{loop.span}: a fold whose function returns nothing computes nothing to keep")
    order = (
        "in any order: the function is `reassoc`"
        if ty.is_float
        else f"in any order: {op} is associative and commutative on {ty}"
    )
    return Plan(
        "fold",
        fn,
        pre,
        loop,
        post=post,
        acc=acc,
        acc_ty=ty,
        op=op,
        counts=(outer,),
        evidence={
            "form": "fold",
            "independent": f"only {acc} passes between iterations, combined by {op} {order}",
            "reassociated": ty.is_float,
        },
    )


def _scan(fn, pre, loop, post, outer) -> Plan:
    _no_post(post)
    acc, ty, op, combine = _combine_of(loop.body, fn)
    _plain_body(loop.body)
    if ty.is_float:
        raise NotParallel(f"{loop.span}: a float scan would round differently in parallel")
    top = list(loop.body)
    if combine not in top:
        raise NotParallel(f"{combine.span}: the scan's combine is conditional")
    # what the combine adds must not depend on acc, directly or through a local
    tainted = {acc}
    for s in top[: top.index(combine)]:
        if isinstance(s, (ir.Let, ir.Assign)) and _stmt_reads(s) & tainted:
            tainted.add(s.name)
    if _names(_operand(combine)) & tainted:
        raise NotParallel(f"{combine.span}: the combined value depends on {acc}")
    for s in ir.walk_stmts(loop.body):
        if isinstance(s, ir.If) and acc in _names(s.cond):
            raise NotParallel(f"{s.span}: a branch depends on {acc}")
    _stored_read_only_at(loop.body, ir.Var(loop.var, loop.ty), pre)
    return Plan(
        "scan",
        fn,
        pre,
        loop,
        acc=acc,
        acc_ty=ty,
        op=op,
        counts=(outer,),
        evidence={
            "form": "scan",
            "independent": f"element {loop.var} is written from "
            f"the running {acc} alone, and {op} is associative on {ty}",
        },
    )


# ---------------------------------------------------------------- checks


def _fixed_params(fn) -> set[str]:
    """Scalar parameters the function never assigns (the same in every thread)."""
    assigned = {s.name for s in ir.walk_stmts(fn.body) if isinstance(s, ir.Assign)}
    return {p.name for p in fn.params if isinstance(p.ty, ir.Scalar) and p.name not in assigned}


def _count(loop: ir.For, params: set[str]) -> str:
    """The parameter a loop `0..P` runs to."""
    hi = loop.hi
    if (
        isinstance(hi, ir.Cast)
        and isinstance(hi.a, ir.Var)
        and hi.ty.is_int
        and hi.a.ty.is_int
        and hi.ty.bits >= hi.a.ty.bits
        and (hi.ty.signed or not hi.a.ty.signed)
    ):
        hi = hi.a
    lo_zero = isinstance(loop.lo, ir.Const) and loop.lo.value == 0
    if not (lo_zero and isinstance(hi, ir.Var) and hi.name in params) or loop.ty.signed:
        raise NotParallel(f"{loop.span}: the loop does not run an unsigned variable from 0 to a parameter")
    return hi.name


def _is_nest(loop: ir.For) -> bool:
    return len(loop.body) == 1 and isinstance(loop.body[0], ir.For)


def _no_post(post) -> None:
    if [s for s in post if not (isinstance(s, ir.Return) and s.value is None)]:
        raise NotParallel(f"{post[0].span}: code follows the loop")


def _plain_body(body, nested_ok: bool = False) -> None:
    for s in ir.walk_stmts(body):
        if (
            isinstance(s, (ir.While, ir.Return, ir.Count, ir.ExprStmt, ir.When))
            or (isinstance(s, ir.For) and not nested_ok)
            or _calls(s)
        ):
            raise NotParallel(f"{s.span}: a {type(s).__name__.lower()} in the loop body does not run in a GPU thread")


def _stored_read_only_at(body, index: ir.Expr, pre) -> None:
    """Arrays the body writes are read only at the written element, and not before the loop."""
    stored = {s.array for s in ir.walk_stmts(body) if isinstance(s, ir.Store)}
    for s in ir.walk_stmts(body):
        for e in ir.own_exprs(s):
            for x in ir.walk(e):
                if isinstance(x, ir.Load) and x.array in stored and x.index != index:
                    raise NotParallel(f"{s.span}: {x.array} is written and also read at {ir.pretty_expr(x.index)}")
    for s in pre:
        if any(isinstance(x, ir.Load) and x.array in stored for e in ir.own_exprs(s) for x in ir.walk(e)):
            raise NotParallel(f"{s.span}: the code before the loop reads an array the loop writes")


def _combine_of(body, fn) -> tuple[str, ir.Scalar, str, ir.Assign]:
    """(acc, type, op, the assignment) of the loop's one carried combine."""
    carried = _carried(body)
    if len(carried) != 1:
        raise NotParallel("the loop carries more than one value")
    a = carried[0]
    v = a.value
    op = v.op if isinstance(v, ir.Binary) else v.name if isinstance(v, ir.Prim) else None
    args = (v.a, v.b) if isinstance(v, ir.Binary) else tuple(getattr(v, "args", ()))
    if op not in ASSOCIATIVE or len(args) != 2 or not any(isinstance(x, ir.Var) and x.name == a.name for x in args):
        raise NotParallel(f"{a.span}: {a.name} is not combined by an associative operator")
    ty = v.ty
    if ty is None:  # a call returning nothing is no combine (the checker refuses it anyway)
        raise NotParallel(f"{a.span}: {a.name} is not combined by an associative operator")
    if ty.is_float and not (fn.reassoc and op in FLOAT_REASSOC):
        raise NotParallel(
            f"{a.span}: float {op} in this order is what the intent asks for "
            "(mark the function `reassoc` to allow another)"
        )
    return a.name, ty, op, a


def _float_fold(loop) -> bool:
    """One carried float value and no stores: a float fold (allowed or not)."""
    carried = _carried(loop.body)
    if len(carried) != 1:
        return False
    ty = carried[0].value.ty
    if ty is None:  # the checker lets a call that gives no value stand only as a statement
        raise TypeError(f"{carried[0].span}: {carried[0].name} is assigned a call that gives no value")
    return ty.is_float and not any(isinstance(s, ir.Store) for s in ir.walk_stmts(loop.body))


def _operand(a: ir.Assign) -> ir.Expr:
    """The side of a combine that is not the accumulator itself."""
    v = a.value
    args: tuple[ir.Expr, ...]
    if isinstance(v, ir.Binary):
        args = (v.a, v.b)
    elif isinstance(v, ir.Prim):
        args = v.args
    else:  # _combine_of takes only an operator or a primitive
        raise TypeError(f"{a.span}: {a.name} is not combined by an operator")
    first_is_acc = isinstance(args[0], ir.Var) and args[0].name == a.name
    return args[1] if first_is_acc else args[0]


def _names(e) -> set[str]:
    return {x.name for x in ir.walk(e) if isinstance(x, ir.Var)}


def _stmt_reads(s) -> set[str]:
    return set().union(*(_names(e) for e in ir.own_exprs(s)))


def _carried(body) -> list[ir.Assign]:
    """Assignments in a loop body to names it does not declare: what one
    iteration hands to the next."""
    local = {n for n, _ in ir.declared(body)}
    return [s for s in ir.walk_stmts(body) if isinstance(s, ir.Assign) and s.name not in local]


def _calls(s) -> bool:
    return any(isinstance(x, ir.Call) for e in ir.own_exprs(s) for x in ir.walk(e))


# ---------------------------------------------------------------- the distinctness proof

GUARD_BITS = 32


def _distinct(fn, outer: ir.For, inner: ir.For, index: ir.Expr) -> tuple:
    """Prove with Z3 (over integers, every operation shown not to wrap; see
    atlas/search/nests.py) that `index` differs for distinct (i, j) in range.
    Returns the parameter bounds the proof assumed, for the host to check."""
    prover = Prover(fn, GUARD_BITS, timeout_ms=10_000)
    first = prover.frame(outer, [])
    frames = [first, prover.frame(inner, [first])]
    verdict, guard = prover.distinct(index, frames, outer, inner)
    if not verdict.proven:
        raise NotParallel(f"{outer.span}: {ir.pretty_expr(index)} for distinct ({outer.var}, {inner.var}): {verdict}")
    return tuple((p, 1 << GUARD_BITS) for p in sorted(guard))
