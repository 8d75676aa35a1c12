"""Hot path first and speculative block tiers: the hot path follows the
profile, the shaped functions compute what the source does (in the
interpreter, on hot and cold inputs, lengths on and off the block), the
fallback counter shows cold blocks, and a wrong hot body is refused."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from atlas.meaning import interp, ir
from atlas.search import shapes
from atlas.front.check import check
from atlas.front.syntax import parse

import golden


@pytest.fixture(scope="module")
def intents():
    from atlas.pipeline import front
    from atlas.machine.probe import load_probe

    probe = load_probe(golden.FIXTURES / "probe-popcnt.json")
    out = {}
    for stem in ("tiered", "classify"):
        _, module, _ = front([golden.ROOT / "intents" / f"{stem}.ax"], probe)
        out[stem] = module
    return out


def source(src: str) -> ir.Function:
    return check(parse(src, "t.ax")).functions[0]


def tiered_sample(rng, n, hot_range, share=0.9):
    """x with `share` of its elements in hot_range (inclusive), the rest anywhere."""
    hot = rng.random(n) < share
    x = np.where(hot, rng.integers(hot_range[0], hot_range[1] + 1, n), rng.integers(-1000, 1001, n))
    return [n, x.astype(np.int32), np.zeros(n, np.int32)]


def classify_sample(rng, n, share=0.85):
    hot = rng.random(n) < share
    port = np.where(hot, 443, rng.integers(0, 65536, n)).astype(np.uint16)
    size = np.where(hot, rng.integers(1001, 65536, n), rng.integers(0, 65536, n)).astype(np.uint16)
    flags = np.where(hot, rng.integers(0, 128, n), rng.integers(0, 256, n)).astype(np.uint8)
    return [n, port, size, flags, np.zeros(n, np.uint8)], hot


def same_results(src: ir.Function, new: ir.Function, args) -> bool:
    a1 = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    a2 = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    interp.run(ir.Module((src,)), src.name, *a1)
    interp.run(ir.Module((new,)), new.name, *a2)
    return all(np.array_equal(x, y) for x, y in zip(a1, a2) if isinstance(x, np.ndarray))


# ---------------------------------------------------------------- hot paths


def test_tiered_hot_path_follows_the_profile(intents):
    fn = intents["tiered"].functions[0]
    rng = np.random.default_rng(1)
    high = shapes.hot_path(fn, [tiered_sample(rng, 1000, (21, 1000))])
    assert high.loop.path == (0,) and high.path == (True, True)
    assert ir.pretty_expr(high.condition) == "(x[i] > 20i32)"  # x > 10 was implied
    assert [ir.pretty_expr(s.value) for s in high.body if isinstance(s, ir.Store)] == ["(v * 2i32)"]
    assert 0.85 < high.share < 0.97

    low = shapes.hot_path(fn, [tiered_sample(rng, 1000, (-1000, 10))])
    assert low.path == (False,)
    assert ir.pretty_expr(low.condition) == "(x[i] <= 10i32)"
    assert [ir.pretty_expr(s.value) for s in low.body if isinstance(s, ir.Store)] == ["(v - 5i32)"]
    assert shapes.hot_path(fn, []) is None


def test_path_counts_partition_the_iterations_and_stride_long_loops(intents):
    fn = intents["tiered"].functions[0]
    ref = shapes.candidate_loops(fn)[0]
    x = np.array([30, 15, -7, 40, 21, 20, 11, 10], np.int32)
    counts = shapes.path_counts(fn, ref, [[8, x, np.zeros(8, np.int32)]])
    assert counts == {(True, True): 3, (True, False): 3, (False,): 2}
    big = tiered_sample(np.random.default_rng(2), 10_000, (21, 1000))
    counts = shapes.path_counts(fn, ref, [big, big], max_iterations=500)
    assert sum(counts.values()) == 1000
    assert shapes.path_counts(fn, ref, [[3, x, np.zeros(8, np.int32)]]) == {
        (True, True): 0,
        (True, False): 0,
        (False,): 0,
    }  # a sample the function refuses


def test_classify_hot_path_is_class_1(intents):
    fn = intents["classify"].functions[0]
    sample, hot_mask = classify_sample(np.random.default_rng(3), 2000)
    hot = shapes.hot_path(fn, [sample])
    assert hot.path == (False, False, True)
    # port != 53 is implied by port == 443, so it is not tested
    assert ir.pretty_expr(hot.condition) == "(((flags[i] & 128u8) == 0u8) && (port[i] == 443u16))"
    assert 0.8 < hot.share < 0.9
    shaped = shapes.hoist(fn, hot, samples=[sample])
    assert shaped is not None
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in sample]
    interp.run(ir.Module((shaped.function,)), fn.name, *args)
    assert (args[4][hot_mask] == 1).all()


def test_candidate_loops_and_loop_carried_conditions():
    fn = source("""
    fn f(n: u64, m: u64, x: [i32; n], out: mut [i32; n]) {
        let s: i32 = 0;
        for j in 0..m {
            for i in 0..n { if x[i] > 0 { out[i] = 1; } }
        }
        for i in 0..n { out[i] = x[i]; }
        for i in 0..n {
            if s > 100 { s = 0; } else { s = s + x[i]; }
            out[i] = s;
        }
        for i in 0..n { if out[i] > 0 { out[i] = 0; } }
    }""")
    refs = shapes.candidate_loops(fn)
    assert [r.path for r in refs] == [(1, 0), (3,), (4,)]
    assert shapes.paths(fn, refs[1].loop) is None  # s is carried from the last iteration
    assert shapes.paths(fn, refs[2].loop) is None  # reads what the loop writes
    x = np.arange(-3, 5, dtype=np.int32)
    hots = shapes.hot_paths(fn, [[8, 2, x, np.zeros(8, np.int32)]])
    assert [h.loop.path for h in hots] == [(1, 0)]  # only the inner loop of the first nest
    assert hots[0].share == 4 / 8  # x > 0 for 1..4; counted once (params only)


# ---------------------------------------------------------------- shapes


def _inputs(rng, n, kind):
    if kind == "hot":
        x = rng.integers(21, 1001, n)
    elif kind == "cold":
        x = rng.integers(-1000, 21, n)
    else:
        x = rng.integers(-(1 << 31), 1 << 31, n)
    return [n, x.astype(np.int32), np.zeros(n, np.int32)]


@pytest.mark.parametrize("block", [1, 8, 64])
def test_hoisted_and_tiered_tiered_agree_with_the_source(intents, block):
    fn = intents["tiered"].functions[0]
    rng = np.random.default_rng(4)
    hot = shapes.hot_path(fn, [tiered_sample(rng, 1000, (21, 1000))])
    why: list = []
    hoisted = shapes.hoist(fn, hot, why=why)
    tiered = shapes.tier(fn, hot, block, samples=[tiered_sample(rng, 300, (21, 1000))], why=why)
    assert hoisted is not None and tiered is not None, why
    assert tiered.evidence["shape"] == "tier" and tiered.evidence["block"] == block
    assert tiered.evidence["differential"]["agree"] and tiered.evidence["differential"]["samples"] == 1
    for n in (0, 1, 7, 8, 9, 63, 65, 200):
        for kind in ("hot", "cold", "any"):
            args = _inputs(rng, n, kind)
            assert same_results(fn, hoisted.function, args)
            assert same_results(fn, tiered.function, args)


def test_fallbacks_are_counted_per_cold_block(intents):
    fn = intents["tiered"].functions[0]
    hot = shapes.hot_path(fn, [tiered_sample(np.random.default_rng(5), 500, (21, 1000))])
    tiered = shapes.tier(fn, hot, 8).function
    module = ir.Module((tiered,))
    x = np.full(100, 500, np.int32)
    interp.COUNTS.clear()
    interp.run(module, fn.name, 100, x, np.zeros(100, np.int32))
    assert interp.COUNTS.get("fallbacks", 0) == 0 and interp.COUNTS["blocks"] == 13
    x[[3, 5, 50, 99]] = -4  # cold elements in blocks 0, 6 and 12
    interp.COUNTS.clear()
    out = np.zeros(100, np.int32)
    interp.run(module, fn.name, 100, x, out)
    assert interp.COUNTS == {"blocks": 13, "fallbacks": 3}
    assert out[3] == -9 and out[0] == 1000
    interp.COUNTS.clear()
    # the checks inside `tier` leave the counters alone
    shapes.tier(fn, hot, 8, samples=[[100, x, np.zeros(100, np.int32)]])
    assert interp.COUNTS == {}


def test_tier_loops_are_bounded_by_min_of_the_block_end_and_the_length(intents):
    fn = intents["tiered"].functions[0]
    hot = shapes.hot_path(fn, [tiered_sample(np.random.default_rng(6), 100, (21, 1000))])
    new = shapes.tier(fn, hot, 16).function
    loops = [s for s in ir.walk_stmts(new.body) if isinstance(s, ir.For)]
    assert len(loops) == 3
    for loop in loops:
        assert isinstance(loop.hi, ir.Prim) and loop.hi.name == "min"
        assert loop.hi.args[1] == ir.Var("n", ir.U64)
    names = [s.name for s in ir.walk_stmts(new.body) if isinstance(s, ir.Let)] + [lp.var for lp in loops]
    assert len(names) == len(set(names))  # locals stay unique
    check_loop = next(lp for lp in loops if lp.var.endswith("_chk"))
    assert not any(isinstance(s, ir.If) for s in check_loop.body)  # branch-free test


def test_classify_tier_agrees_on_hot_and_cold_packets(intents):
    fn = intents["classify"].functions[0]
    rng = np.random.default_rng(7)
    sample, _ = classify_sample(rng, 500)
    hot = shapes.hot_path(fn, [sample])
    tiered = shapes.tier(fn, hot, 32, samples=[sample])
    assert tiered is not None
    for n in (0, 5, 31, 33, 300):
        args, _ = classify_sample(rng, n, share=0.95)
        assert same_results(fn, tiered.function, args)


def test_a_wrong_hot_body_or_condition_is_refused(intents):
    fn = intents["tiered"].functions[0]
    hot = shapes.hot_path(fn, [tiered_sample(np.random.default_rng(8), 500, (21, 1000))])

    def times_three(s):
        if isinstance(s, ir.Store):
            return dataclasses.replace(s, value=dataclasses.replace(s.value, b=ir.Const(3, ir.I32)))
        return s

    wrong = dataclasses.replace(hot, body=tuple(times_three(s) for s in hot.body))
    why: list = []
    assert shapes.hoist(fn, wrong, why=why) is None
    assert shapes.tier(fn, wrong, 8, why=why) is None
    assert len(why) == 2 and all(w.startswith("proof: refuted") for w in why)
    too_wide = dataclasses.replace(
        hot, condition=ir.Binary("gt", ir.Load("x", ir.Var("i", ir.U64), ir.I32), ir.Const(10, ir.I32), ir.BOOL)
    )
    assert shapes.tier(fn, too_wide, 8) is None and shapes.hoist(fn, too_wide) is None
    assert shapes.tier(fn, hot, 8) is not None  # the unmodified one is accepted


def test_tier_needs_an_unsigned_loop_and_a_bound_the_loop_does_not_change():
    fn = source("""
    fn f(n: i64, x: [i32; n], out: mut [i32; n]) {
        for i in 0..n { if x[i] > 0 { out[i] = 1; } else { out[i] = 2; } }
    }""")
    x = np.array([1, 2, -1, 4], np.int32)
    hot = shapes.hot_path(fn, [[4, x, np.zeros(4, np.int32)]])
    assert hot is not None and hot.share == 0.75
    why: list = []
    assert shapes.tier(fn, hot, 4, why=why) is None and "unsigned" in why[0]
    assert shapes.hoist(fn, hot) is not None


def test_a_loop_nested_in_an_if_and_a_loop_is_shaped_in_place():
    fn = source("""
    fn f(n: u64, m: u64, x: [i32; n], out: mut [i32; n]) {
        if m > 3 {
            out[0] = 1;
        } else {
            let t: i32 = 2;
            for j in 0..m {
                for i in 0..n { if x[i] > 0 { out[i] = out[i] + t; } else { out[i] = out[i] - 1; } }
            }
        }
    }""")
    x = np.arange(-3, 5, dtype=np.int32)
    hot = shapes.hot_path(fn, [[8, 2, x, np.zeros(8, np.int32)]])
    assert hot.loop.path == (0, 2, 0) and ir.pretty_expr(hot.condition) == "(x[i] > 0i32)"
    rng = np.random.default_rng(9)
    for shaped in (shapes.hoist(fn, hot), shapes.tier(fn, hot, 3)):
        assert shaped is not None and shaped.function.body[0].then == fn.body[0].then
        for n, m in ((0, 1), (7, 2), (9, 3), (5, 5)):
            args = [n, m, rng.integers(-5, 5, n).astype(np.int32), rng.integers(-9, 9, n).astype(np.int32)]
            assert same_results(fn, shaped.function, args)
