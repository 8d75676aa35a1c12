"""Every stage of the logic atlas is bounded (issue 14, item 5): absorbing
elements cannot make the e-graph explode, one egglog pass cannot run far
past the limits and Ctrl-C still stops saturation, and Z3 proofs give up
by a resource limit (the same on every machine) instead of a clock.

No test here asserts a wall-clock time: each asserts the behaviour that
bounds it (the stop reason, node counts, the reason a proof gave up)."""

from __future__ import annotations

import functools
import signal
import threading

import pytest

from atlas.machine.probe import load_probe
from atlas.meaning import ir
from atlas.logic import rules
from atlas.logic.egraph import FOLD_RULESET, PLAIN_NODES, Limits, folds, rule_text, saturate
from atlas.meaning.terms import Term, const, var

U16, U64, F64 = ir.U16, ir.U64, ir.F64


@functools.lru_cache(maxsize=1)
def shipped():
    return rules.load_rules()


def T(op, ty, *args):
    return Term(op, ty, tuple(args))


# ---------------------------------------------------------------- absorbing elements


def test_a_rule_to_a_constant_subsumes_what_it_matched():
    by_name = {(r.name, r.ty): r for r in shipped()}
    for name in ("mul-zero", "zero-mul", "and-zero", "zero-and", "or-ones", "ones-or", "xor-self", "sub-self"):
        rule = by_name[name, U64]
        assert folds(rule), name
        assert ":subsume" in rule_text(rule, "r0", FOLD_RULESET)
    assert not folds(by_name["add-zero", U64])  # x + 0 => x: not a constant


def test_multiplying_an_index_by_zero_saturates_small():
    """`acc[i * 0] += x[i]`: the index i * 0 joined the class of 0 and
    associativity then built every product of the graph inside that class
    (27 000 nodes by iteration 9, a 39 s compile).  Now it saturates at once."""
    i = var("i", U64)
    index = T("mul", U64, i, const(0, U64))
    value = T("add", ir.U32, Term("load", ir.U32, (index,), "acc"), Term("load", ir.U32, (i,), "x"))
    atlas = saturate({"f@f.ax:3:9 index": index, "f@f.ax:3:9 value": value}, shipped())
    assert atlas.stop_reason == "saturated"
    assert atlas.stats[-1].nodes < 20
    assert atlas.extract("f@f.ax:3:9 index") == const(0, U64)
    assert atlas.extract("f@f.ax:3:9 value").args[
        0
        if atlas.extract("f@f.ax:3:9 value").args[0].op == "load"
        and atlas.extract("f@f.ax:3:9 value").args[0].value == "acc"
        else 1
    ].args == (const(0, U64),)


@pytest.mark.parametrize(
    "op, absorbing",
    [
        ("mul", lambda a: T("mul", U64, const(0, U64), a)),  # zero on the left
        ("and", lambda a: T("and", U64, a, const(0, U64))),
        ("or", lambda a: T("or", U64, const(U64.mask, U64), a)),
        ("mul", lambda a: T("mul", U64, T("xor", U64, a, a), var("k", U64))),  # a zero the rules find
    ],
)
def test_every_absorbing_form_stays_small(op, absorbing):
    """The same blow-up through the other annihilators, on either side, and
    through a zero that only saturation discovers (a ^ a)."""
    a, b, c = var("a", U64), var("b", U64), var("c", U64)
    root = T(op, U64, T(op, U64, absorbing(a), b), c)
    atlas = saturate({"f@r": root}, shipped())
    assert atlas.stop_reason == "saturated"
    assert atlas.stats[-1].nodes < 60
    assert not atlas.extract("f@r").args  # a constant


# ---------------------------------------------------------------- one pass is bounded


def _sum_of_bits(n: int) -> Term:
    """The naive 16-bit popcount of a power-of-two test: sum of (x >> k) & 1."""
    x = var("x", U16)
    bits = [T("and", U16, Term("shr", U16, (x, const(k, U16))), const(1, U16)) for k in range(n)]
    return functools.reduce(lambda p, q: T("add", U16, p, q), bits, const(0, U16))


def test_a_sum_under_associativity_stops_at_the_match_limit():
    """A 16-term sum under add-assoc and add-commutes grew 13-fold per pass
    (12 000 -> 167 000 -> 2 million nodes, one pass 15 s).  Passes on a big
    graph now hold back a rule past `Limits.matches`, and saturation stops
    when only such rules are left."""
    root = T("eq", ir.BOOL, _sum_of_bits(16), const(1, U16))
    limits = Limits()
    atlas = saturate({"p@r": root}, shipped(), limits=limits)
    assert atlas.stop_reason == "match limit"
    assert max(s.nodes for s in atlas.stats) < limits.nodes
    assert atlas.extract("p@r").ty == ir.BOOL


def test_a_pass_cannot_multiply_a_big_graph():
    """With room for a million nodes, passes without the match limit still
    run while the graph is small, but none past PLAIN_NODES can grow it
    tenfold (it went 12 000 -> 167 000 -> 2 million, 5 GB, a 200 s compile)."""
    root = T("eq", ir.BOOL, _sum_of_bits(16), const(1, U16))
    limits = Limits(nodes=1_000_000, iterations=12, seconds=1e6)
    atlas = saturate({"p@r": root}, shipped(), limits=limits)
    sizes = [s.nodes for s in atlas.stats]
    for before, after in zip(sizes, sizes[1:]):
        if before > 2_000:  # a pass may still add its matches to a small graph: a few thousand nodes
            assert after < 3 * before, sizes
    assert max(sizes) < 50_000, sizes
    assert atlas.stop_reason in ("match limit", "node limit", "iteration limit")


def test_a_square_of_differences_stays_small():
    """A generated program's `(33 - (x - x)) * (33 - (x - x))`: distributing
    and reassociating it, one pass over a graph of 472 nodes found 74 724
    matches and made 11 791 nodes, and the compile took 13 s and 2.6 GB (the
    search's, past 6 GB, died in egglog).  Past PLAIN_NODES every pass runs
    under the match limit."""
    x = T("cast", ir.U32, T("not", ir.I32, var("p0", ir.I32)))
    diff = T("sub", ir.U32, T("rem", ir.U32, const(33, ir.U32), const(2397792482, ir.U32)), T("sub", ir.U32, x, x))
    root = T("div", ir.U32, T("mul", ir.U32, diff, diff), T("rotr", ir.U32, const(31, ir.U32), const(1 << 63, U64)))
    atlas = saturate({"f@r": root}, shipped())
    sizes = [s.nodes for s in atlas.stats]
    assert PLAIN_NODES <= 256 and max(sizes) < 6_000, sizes  # 18 617 with the limit from 1 250 nodes


def test_ctrl_c_stops_saturation():
    """A KeyboardInterrupt during saturation propagates (it is never turned
    into a fallback), at the latest when the pass in flight ends."""
    root = T("eq", ir.BOOL, _sum_of_bits(16), const(1, U16))
    # passes that take a while, yet at most 170 000 nodes should Ctrl-C be lost
    limits = Limits(nodes=10**7, iterations=5, seconds=1e6, matches=10**7)
    rules_ = shipped()
    timer = threading.Timer(0.1, signal.raise_signal, (signal.SIGINT,))
    finished = None
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            finished = saturate({"p@r": root}, rules_, limits=limits)
    finally:
        timer.cancel()
    assert finished is None


# ---------------------------------------------------------------- proofs


def _horner(div: bool, steps: int = 64) -> Term:
    """acc = acc * x + y / 2.0 unrolled `steps` times (or with 0.5 * y and
    the operands swapped, as extraction writes it)."""
    x, y = var("x", F64), var("y", F64)
    half = T("div", F64, y, const(2.0, F64)) if div else T("mul", F64, const(0.5, F64), y)
    acc = const(0.0, F64)
    for _ in range(steps):
        acc = T("add", F64, T("mul", F64, acc, x), half) if div else T("add", F64, half, T("mul", F64, x, acc))
    return acc


def test_a_rewrite_deep_in_an_unrolled_float_loop_is_proven_by_its_part():
    """The two sides differ only in y / 2.0 against 0.5 * y (with every
    operand pair swapped): that part alone is proven, and so the whole,
    where the whole claim timed out twice (60 s)."""
    src, new = _horner(True), _horner(False)
    assert rules._differing(src, new) == [
        (T("div", F64, var("y", F64), const(2.0, F64)), T("mul", F64, const(0.5, F64), var("y", F64)))
    ]
    assert rules.prove(src, new) is None


def test_a_large_float_claim_is_refused_without_asking_z3():
    x = var("x", F64)
    src = _horner(True, 20)
    other = T("add", F64, _horner(True, 20), x)  # differs at the top: no parts
    with pytest.raises(rules.Undecided, match="float operations"):
        rules.prove(src, other)


def test_proofs_give_up_by_resource_limit_the_same_way_each_time(monkeypatch):
    """A proof bounded by Z3's resource units stops at the same point on
    every machine: the outcome and the reason do not depend on the clock."""
    y = var("y", F64)
    hard = (T("div", F64, y, const(2.0, F64)), T("mul", F64, const(0.5, F64), y))  # ~7 million units
    monkeypatch.setattr(rules, "PROOF_RLIMIT", 100_000)
    reasons = set()
    for _ in range(2):
        with pytest.raises(rules.Undecided) as err:
            rules.prove(*hard, timeout_ms=600_000)
        reasons.add(str(err.value))
    assert len(reasons) == 1 and "resource limit" in reasons.pop()
    monkeypatch.undo()
    assert rules.prove(*hard) is None  # the shipped limit proves it


def test_the_shipped_rules_prove_within_the_rule_limit():
    st = shipped().stats
    assert st.instances > 0  # load_rules raised nothing: all proven
    assert rules.RULE_RLIMIT >= rules.PROOF_RLIMIT


HORNER = """fn horner(x: f64, y: f64) -> f64 {
    let acc: f64 = 0.0;
    for i in 0u32..64 {
        acc = acc * x + y / 2.0;
    }
    return acc;
}
"""


def test_an_unprovable_float_rewrite_keeps_the_source_form_and_says_why(tmp_path, monkeypatch):
    """The unrolled 64-step multiply-add spent 60 s in two Z3 proofs that
    timed out.  Where the proof cannot be made within the limit (lowered
    here so that it cannot), the function keeps its source form and its
    evidence names the limit, without waiting on a clock."""
    from pathlib import Path

    from atlas.logic import learned, stages
    from atlas import pipeline

    src = tmp_path / "horner.ax"
    src.write_text(HORNER)
    probe = load_probe(Path(__file__).parent / "fixtures" / "probe-popcnt.json")
    _, module, _ = pipeline.front([str(src)], probe)
    sat = stages.saturate(module, probe, rules=learned.with_shipped(use=False))
    monkeypatch.setattr(rules, "PROOF_RLIMIT", 100_000)
    ev = stages.verify(module, sat).evidence["horner"]
    assert ev.terms.rewritten == 2 and ev.terms.proven == 0 and ev.form.value == "source"
    whys = [f.why for f in ev.terms.fallbacks]
    assert any("resource limit of 100,000 Z3 units" in w for w in whys), whys
    assert any("float operations are past" in w for w in whys), whys
