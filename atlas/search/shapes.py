"""Hot path first, and speculative block tiers.

A `for` loop whose body is loop-free but branches takes one of a few
control paths per iteration.  Measured on sample inputs, one path often
dominates; its condition H (over the state at the start of the iteration)
and its straight-line body give two shapes:

    hoist:  for i { if H { hot body } else { original body } }
    tier:   per block of B iterations, test H on all of them without
            branches, then run the block through the hot body alone, or
            (counting a fallback) through the original body.

Each shape is accepted only once Z3 proves the new body equal to the old
(bodies.prove_equal) and a differential run in the interpreter agrees.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from ..logic import bodies, differential, rules
from ..meaning import interp, ir
from ..meaning import semantics as sem
from ..meaning.terms import Term, const, evaluate, from_expr

MAX_PATHS = 64  # per loop body; more and the loop is left alone
PROOF_TIMEOUT_MS = 10_000
SAMPLE_FUEL = 50_000_000  # interpreter steps for a differential run on a sample


@dataclass(frozen=True)
class LoopRef:
    """Where a loop is: statement indices from the function body down.  An
    index into an If counts its then-branch, then its else-branch."""

    path: tuple[int, ...]
    loop: ir.For


@dataclass(frozen=True)
class Path:
    """One control path through a loop body."""

    id: tuple[bool, ...]  # each If met: taken or not
    conds: tuple[ir.Expr, ...]  # over the start of the iteration
    body: tuple  # the statements it executes, Ifs removed


@dataclass(frozen=True)
class HotPath:
    loop: LoopRef
    path: tuple[bool, ...]
    condition: ir.Expr  # tested once, at the start of the iteration
    body: tuple  # straight-line statements
    share: float  # of the iterations counted on the samples


@dataclass
class Shaped:
    function: ir.Function
    evidence: dict


def finish(
    fn: ir.Function, new: ir.Function, module, evidence: dict, run: bool = True, seed: int = 0, t0: float | None = None
) -> Shaped | None:
    """A proven rewrite, run once more against its source on random inputs
    (atlas/logic/differential.py) as a second check; None if they disagree."""
    if run:
        diff = differential.function(fn, new, module, seed)
        evidence["differential"] = diff.to_json()
        if diff.agree is False:
            return None
    if t0 is not None:
        evidence["seconds"] = round(time.perf_counter() - t0, 3)
    return Shaped(new, evidence)


# ---------------------------------------------------------------- finding loops


def _loop_free(stmts) -> bool:
    for s in stmts:
        if isinstance(s, (ir.For, ir.While, ir.Return, ir.ExprStmt, ir.When)):
            return False
        if any(isinstance(x, ir.Call) for e in ir.own_exprs(s) for x in ir.walk(e)):
            return False
        if isinstance(s, ir.If) and not (_loop_free(s.then) and _loop_free(s.else_)):
            return False
    return True


def candidate_loops(fn: ir.Function) -> list[LoopRef]:
    """`for` loops with a loop-free body that branches, outermost first."""
    out: list[LoopRef] = []

    def walk(stmts, prefix):
        for k, s in enumerate(stmts):
            here = prefix + (k,)
            if (
                isinstance(s, ir.For)
                and _loop_free(s.body)
                and any(isinstance(x, ir.If) for x in ir.walk_stmts(s.body))
            ):
                out.append(LoopRef(here, s))
            walk(ir.blocks(s), here)

    walk(fn.body, ())
    return out


def _at(stmts, path):
    s = stmts[path[0]]
    return s if len(path) == 1 else _at(ir.blocks(s), path[1:])


def _replace(stmts: tuple, path, new: tuple) -> tuple:
    """stmts with the statement at `path` replaced by the statements `new`."""
    k = path[0]
    if len(path) == 1:
        return stmts[:k] + tuple(new) + stmts[k + 1 :]
    s, rest = stmts[k], path[1:]
    if isinstance(s, (ir.If, ir.When)):
        if rest[0] < len(s.then):
            s = dataclasses.replace(s, then=_replace(s.then, rest, new))
        else:
            s = dataclasses.replace(s, else_=_replace(s.else_, (rest[0] - len(s.then),) + rest[1:], new))
    else:
        s = dataclasses.replace(s, body=_replace(s.body, rest, new))
    return stmts[:k] + (s,) + stmts[k + 1 :]


# ---------------------------------------------------------------- rewriting expressions


def _negate(c):
    """not c, written as the opposite comparison where that is exact."""
    if isinstance(c, ir.Binary) and c.op in ir.COMPARE and (not c.a.ty.is_float or c.op in ("eq", "ne")):
        flip = {"eq": "ne", "ne": "eq", "lt": "ge", "ge": "lt", "gt": "le", "le": "gt"}
        return dataclasses.replace(c, op=flip[c.op])
    if isinstance(c, ir.Unary) and c.op == "not":
        return c.a
    return ir.Unary("not", c, ir.BOOL)


def _conj(conds):
    out = conds[0]
    for c in conds[1:]:
        out = ir.Binary("land", out, c, ir.BOOL)
    return out


# ---------------------------------------------------------------- paths


class _GiveUp(Exception):
    pass


def _reads(e, assigned: set[str], written: set[str]) -> bool:
    """Whether e reads a scalar in `assigned` or an array in `written`."""
    return any(
        (isinstance(x, ir.Var) and x.name in assigned) or (isinstance(x, ir.Load) and x.array in written)
        for x in ir.walk(e)
    )


def paths(fn: ir.Function, loop: ir.For) -> list[Path] | None:
    """The control paths through the loop body, each with its conditions
    over the start of the iteration; None when a condition depends on
    something the loop changes (a loop-carried scalar, an array it writes)."""
    if not _loop_free(loop.body):
        return None
    assigned, written = ir.assigned(loop.body), ir.stored(loop.body)
    # (decisions, conditions, statements, local -> expression over the start)
    states: list[tuple[tuple, tuple, tuple, dict]] = [((), (), (), {})]

    def go(stmts, states):
        for s in stmts:
            nxt = []
            for ids, conds, body, env in states:
                if isinstance(s, ir.If):
                    c = ir.substitute(s.cond, env)
                    if _reads(c, assigned, written):
                        raise _GiveUp
                    nxt += go(s.then, [(ids + (True,), conds + (c,), body, env)])
                    nxt += go(s.else_, [(ids + (False,), conds + (_negate(c),), body, env)])
                else:
                    if isinstance(s, (ir.Let, ir.Assign)):
                        init = s.init if isinstance(s, ir.Let) else s.value
                        env = {**env, s.name: ir.substitute(init, env)}
                    nxt.append((ids, conds, body + (s,), env))
            if len(nxt) > MAX_PATHS:
                raise _GiveUp
            states = nxt
        return states

    try:
        found = go(loop.body, states)
    except _GiveUp:
        return None
    return [Path(ids, conds, body) for ids, conds, body, _ in found]


def path_counts(fn: ir.Function, loop: LoopRef, samples: list, max_iterations: int = 4096) -> dict:
    """How many iterations take each path, over the samples (argument lists
    in parameter order); at most max_iterations per sample, evenly strided.
    The loop is taken to run once per sample, its bounds and conditions
    over the parameters: {} when they read anything else (an outer loop's
    variable, a local), or the loop has no paths."""
    ps = paths(fn, loop.loop)
    if not ps:
        return {}
    tests: list[tuple[tuple[bool, ...], list[Term]]] = []
    for p in ps:
        conds = [from_expr(c, {}) for c in p.conds]
        if any(t is None for t in conds):
            return {}
        tests.append((p.id, [t for t in conds if t is not None]))
    lo, hi = from_expr(loop.loop.lo, {}), from_expr(loop.loop.hi, {})
    if lo is None or hi is None:
        return {}
    D, ty, var = sem.PyDomain(), loop.loop.ty, loop.loop.var
    counts = {p.id: 0 for p in ps}
    for args in samples:
        try:
            scalars, arrays = interp.bind(fn, list(args))
            lengths = {name: interp.evaluate(fn.array(name).length, scalars, exact=True) for name in arrays}
            env = dict(scalars)
            a, b = (int(interp.from_value(ty, evaluate(t, D, env))) for t in (lo, hi))
        except (ValueError, TypeError, KeyError):
            continue  # a bad sample, or bounds over locals: not counted
        views = {k: v.view(f"u{v.itemsize}") if v.dtype.kind in "iu" else v for k, v in arrays.items()}

        def load(name, index, elem):
            if index >= lengths[name]:
                return interp.D.fconst(elem.bits, 0.0) if elem.is_float else (False if elem.is_bool else 0)
            v = views[name][index]
            return bool(v) if elem.is_bool else (v if elem.is_float else int(v))

        trips = max(0, b - a)
        steps = (
            range(trips) if trips <= max_iterations else (k * trips // max_iterations for k in range(max_iterations))
        )
        try:
            for off in steps:
                env[var] = (a + off) & ty.mask
                memo: dict = {}
                for pid, ts in tests:
                    if all(evaluate(t, D, env, load, memo) for t in ts):
                        counts[pid] += 1
                        break
        except KeyError:  # a condition over a local of an outer loop
            return {}
    return counts


def _simplify(conds, timeout_ms: int = PROOF_TIMEOUT_MS):
    """The conjunction of conds, without those the others imply (by Z3)."""
    keep = list(dict.fromkeys(conds))
    k = 0
    while k < len(keep) and len(keep) > 1:
        others = keep[:k] + keep[k + 1 :]
        when, this = from_expr(_conj(others), {}), from_expr(keep[k], {})
        try:
            implied = (
                this is not None
                and when is not None
                and rules.prove(this, const(True, ir.BOOL), timeout_ms, when=when) is None
            )
        except (rules.Undecided, ValueError):
            implied = False
        if implied:
            del keep[k]
        else:
            k += 1
    return _conj(keep)


def hot_paths(fn: ir.Function, samples: list) -> list[HotPath]:
    """The most frequent path of each candidate loop that has one."""
    out: list[HotPath] = []
    if not samples:
        return out
    for ref in candidate_loops(fn):
        ps = paths(fn, ref.loop)
        counts = path_counts(fn, ref, samples)
        total = sum(counts.values())
        if not ps or not total:
            continue
        best = max(ps, key=lambda p: counts[p.id])  # the first of equals
        out.append(HotPath(ref, best.id, _simplify(best.conds), best.body, counts[best.id] / total))
    return out


def hot_path(fn: ir.Function, samples: list) -> HotPath | None:
    found = hot_paths(fn, samples)
    return found[0] if found else None


# ---------------------------------------------------------------- shapes


def _check(fn: ir.Function, new: ir.Function, module: ir.Module | None, samples) -> differential.Runs:
    """Differential runs of fn against new: the schedule's inputs, then the
    given samples.  The interpreter's counters are left as they were."""
    source = module or ir.Module((fn,), ())
    candidate = ir.Module(tuple(new if f.name == fn.name else f for f in source.functions), source.sources)
    saved = dict(interp.COUNTS)
    try:
        try:
            diff = differential.run_both(source, candidate, fn)
        except (ValueError, TypeError, KeyError, RuntimeError) as exc:  # a shape the interpreter refuses
            return differential.Runs(False, error=str(exc))
        for args in samples if diff.agree else ():
            a1 = [x.copy() if isinstance(x, np.ndarray) else x for x in args]
            a2 = [x.copy() if isinstance(x, np.ndarray) else x for x in args]
            try:
                r1 = interp.run(source, fn.name, *a1, fuel=SAMPLE_FUEL)
                r2 = interp.run(candidate, fn.name, *a2, fuel=2 * SAMPLE_FUEL)
            except interp.OutOfFuel:
                return dataclasses.replace(diff, agree=False, samples="out of fuel")
            except ValueError:
                continue  # a sample the function refuses
            if not (differential.same(r1, r2) and all(differential.same(x, y) for x, y in zip(a1, a2))):
                return dataclasses.replace(diff, agree=False, samples="disagreed")
            diff = dataclasses.replace(diff, samples=(diff.samples if isinstance(diff.samples, int) else 0) + 1)
    finally:
        interp.COUNTS.clear()
        interp.COUNTS.update(saved)
    return diff


def _located(fn: ir.Function, hot: HotPath) -> bool:
    try:
        return _at(fn.body, hot.loop.path) == hot.loop.loop
    except (IndexError, TypeError):
        return False


def _hot_locals(hot: HotPath, taken: set[str]) -> dict[str, str]:
    """Fresh names for the hot body's Lets (locals stay unique per function)."""
    return {s.name: ir.fresh_name(f"{s.name}_hot", taken) for s in ir.walk_stmts(hot.body) if isinstance(s, ir.Let)}


def _refuse(why: list | None, reason: str):
    if why is not None:
        why.append(reason)
    return None


def hoist(
    fn: ir.Function, hot: HotPath, module: ir.Module | None = None, samples=(), why: list | None = None
) -> Shaped | None:
    """The loop body becomes `if H { hot body } else { original body }`.
    None (with the reason appended to `why`) unless proven and tested."""
    if not _located(fn, hot):
        return _refuse(why, "the hot path's loop is not in this function")
    loop = hot.loop.loop
    names = _hot_locals(hot, ir.names_used(fn))
    body = (ir.If(hot.condition, ir.rename_locals(hot.body, names), loop.body),)
    failed = bodies.prove_equal(loop.body, body, fn, timeout_ms=PROOF_TIMEOUT_MS)
    if failed:
        return _refuse(why, f"proof: {failed}")
    shaped = dataclasses.replace(loop, body=body)
    new = dataclasses.replace(fn, body=_replace(fn.body, hot.loop.path, (shaped,)))
    diff = _check(fn, new, module, samples)
    if not diff.agree:
        return _refuse(why, f"differential run disagreed: {diff.to_json()}")
    return Shaped(
        new,
        {
            "shape": "hoist",
            "condition": ir.pretty_expr(hot.condition),
            "share": hot.share,
            "proof": "z3: the new loop body equals the old for every start state",
            "differential": diff.to_json(),
        },
    )


def tier(
    fn: ir.Function,
    hot: HotPath,
    block: int,
    label: str = "fallbacks",
    module: ir.Module | None = None,
    samples=(),
    why: list | None = None,
) -> Shaped | None:
    """The loop runs in blocks of `block` iterations: a branch-free test of H
    over the block, then the block through the hot body alone, or (counting
    `label`) through the original body.  None (reason in `why`) where it
    does not apply or is not proven."""
    refusal = _tier_refusal(fn, hot, block)
    if refusal is not None:
        return _refuse(why, refusal)
    blocks = _tier_blocks(fn, hot, block, label)
    new = dataclasses.replace(fn, body=_replace(fn.body, hot.loop.path, blocks))
    diff = _check(fn, new, module, samples)
    if not diff.agree:
        return _refuse(why, f"differential run disagreed: {diff.to_json()}")
    return Shaped(
        new,
        {
            "shape": "tier",
            "condition": ir.pretty_expr(hot.condition),
            "share": hot.share,
            "block": block,
            "label": label,
            "proof": "z3: under the condition the hot body equals the loop body; "
            "the blocks run the same iterations in the same order",
            "differential": diff.to_json(),
        },
    )


def _tier_refusal(fn: ir.Function, hot: HotPath, block: int) -> str | None:
    """Why `tier` does not apply to the hot path, or None when it does: the
    loop's counter, bound and locals allow blocks, and under the condition
    the hot body is proven equal to the loop body."""
    if not _located(fn, hot):
        return "the hot path's loop is not in this function"
    loop = hot.loop.loop
    T, H = loop.ty, hot.condition
    if not (T.is_int and not T.signed):
        return f"the loop counts over {T}, not an unsigned type"
    if not 1 <= block <= T.mask:
        return f"a block of {block} does not fit {T}"
    assigned, written = ir.assigned(loop.body), ir.stored(loop.body)
    if _reads(H, assigned, written):
        return "the condition reads what the loop changes"
    # `hi` is evaluated once per block instead of once per loop: it must not change.
    if _reads(loop.hi, assigned, written) or any(isinstance(x, ir.Call) for x in ir.walk(loop.hi)):
        return "the loop bound may change while the loop runs"
    declared = {s.name for s in ir.walk_stmts(loop.body) if isinstance(s, ir.Let)}
    outside = ir.names_used(dataclasses.replace(fn, body=_replace(fn.body, hot.loop.path, ())))
    if declared & outside:
        return f"the body declares {sorted(declared & outside)}, used outside it"
    failed = bodies.prove_equal(loop.body, hot.body, fn, assume=H, timeout_ms=PROOF_TIMEOUT_MS)
    if failed:
        return f"proof: {failed}"
    return None


def _tier_blocks(fn: ir.Function, hot: HotPath, block: int, label: str) -> tuple:
    """The statements that replace the loop: its iterations in blocks of
    `block`, each tested for H, then run through the hot body or, counting
    `label`, through the original body."""
    loop = hot.loop.loop
    T, H = loop.ty, hot.condition
    taken = ir.names_used(fn)
    b, e, ok = (ir.fresh_name(f"{loop.var}_{s}", taken) for s in ("block", "end", "ok"))
    i_chk, i_hot = ir.fresh_name(f"{loop.var}_chk", taken), ir.fresh_name(f"{loop.var}_hot", taken)
    names = {**_hot_locals(hot, taken), loop.var: i_hot}
    vb, ve, vok, B = ir.Var(b, T), ir.Var(e, T), ir.Var(ok, ir.BOOL), ir.Const(block, T)
    hi = loop.hi
    upto = ir.Prim("min", (ve, hi), T)  # == e; the shape the backend knows is in range
    end = ir.Prim(
        "select", (ir.Binary("gt", ir.Binary("sub", hi, vb, T), B, ir.BOOL), ir.Binary("add", vb, B, T), hi), T
    )  # no wrap-around past hi
    test = ir.substitute(H, {loop.var: ir.Var(i_chk, T)})
    per_block = (
        ir.Let(e, T, end),
        ir.Count("blocks"),
        ir.Let(ok, ir.BOOL, ir.Const(True, ir.BOOL)),
        ir.For(i_chk, T, vb, upto, (ir.Assign(ok, ir.Binary("land", vok, test, ir.BOOL)),)),
        ir.If(
            vok,
            (ir.For(i_hot, T, vb, upto, ir.rename_locals(hot.body, names)),),
            (ir.Count(label), ir.For(loop.var, T, vb, upto, loop.body)),
        ),
        ir.Assign(b, ve),
    )
    return (ir.Let(b, T, loop.lo), ir.While(ir.Binary("lt", vb, hi, ir.BOOL), per_block))
