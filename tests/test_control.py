"""`break`, `continue` and the conditional expression: what the interpreter
computes for them equals a Python rendering of the same program on random
inputs, and the translation into the core IR keeps no flag it need not."""

from __future__ import annotations

import numpy as np
import pytest

from atlas.front.check import check
from atlas.front.diagnostics import AtlasError
from atlas.front.syntax import parse
from atlas.meaning import interp, ir

RNG_SEED = 16


def module(src: str) -> ir.Module:
    return check(parse(src, "t.ax"))


def ints(rng, n: int, lo: int = -5, hi: int = 6) -> np.ndarray:
    return rng.integers(lo, hi, n).astype(np.int32)


def wrap32(v: int) -> int:
    return (v + (1 << 31)) % (1 << 32) - (1 << 31)


# Each case: the intent text, a Python function computing the same, and how
# to draw its arguments.

FIND = """
fn f(n: u64, a: [i32; n], x: i32) -> u64 {
    let at: u64 = n;
    for i in 0..n {
        if a[i] == x { at = i; break; }
    }
    return at;
}"""


def find(n, a, x):
    for i in range(n):
        if a[i] == x:
            return i
    return n


SKIP_AND_STOP = """
fn f(n: u64, a: [i32; n]) -> i32 {
    let s: i32 = 0;
    let k: u64 = 0;
    while k < n {
        let v = a[k];
        k += 1;
        if v == 0 { continue; } else if v == 5 { break; }
        if v > 3 { s += 10; continue; }
        s += v;
    }
    return s;
}"""


def skip_and_stop(n, a):
    s = 0
    for v in a[:n]:
        if v == 0:
            continue
        if v == 5:
            break
        s += 10 if v > 3 else v
    return wrap32(s)


NESTED = """
fn f(n: u64, a: [i32; n]) -> i32 {
    let s: i32 = 0;
    for i in 0..n {
        if a[i] < -3 { break; }
        for j in i..n {
            if a[j] == 0 { continue; }
            if a[j] > 4 { break; }
            s = s * 3 + a[j];
        }
        if a[i] == 2 { continue; }
        s -= 1;
    }
    return s;
}"""


def nested(n, a):
    s = 0
    for i in range(n):
        if a[i] < -3:
            break
        for j in range(i, n):
            if a[j] == 0:
                continue
            if a[j] > 4:
                break
            s = wrap32(s * 3 + a[j])
        if a[i] == 2:
            continue
        s = wrap32(s - 1)
    return s


# A jump in one arm of an if whose other arm also jumps, or falls through
# only sometimes: the general path, with the round flag.
TANGLED = """
fn f(n: u64, a: [i32; n], out: mut [i32; n]) -> i32 {
    let s: i32 = 0;
    for i in 0..n {
        if a[i] > 0 {
            if a[i] > 3 { continue; }
            s += a[i];
        } else {
            if a[i] < -4 { break; }
            s -= 1;
        }
        out[i] = s;
        if a[i] == 1 { break; } else { s += 100; }
    }
    return s;
}"""


def tangled(n, a, out):
    s = 0
    for i in range(n):
        if a[i] > 0:
            if a[i] > 3:
                continue
            s += a[i]
        else:
            if a[i] < -4:
                break
            s -= 1
        out[i] = s
        if a[i] == 1:
            break
        s += 100
    return s


# The for loop's variable at its type's top: the step after the last round
# must not wrap into another round.
TOP = """
fn f(lo: u8, stop: u8) -> u32 {
    let c: u32 = 0;
    for i in lo..255u8 {
        c += 1;
        if i == stop { break; }
    }
    return c;
}"""


def top(lo, stop):
    c = 0
    for i in range(lo, 255):
        c += 1
        if i == stop:
            break
    return c


CONDITIONAL = """
fn f(x: i32, y: i32) -> i32 {
    let m = if x > y { x - y } else if x == y { 7 } else { y - x };
    return m + if x < 0 { 1 } else { 2 };
}"""


def conditional(x, y):
    m = x - y if x > y else (7 if x == y else y - x)
    return wrap32(m + (1 if x < 0 else 2))


CASES = {
    "find": (FIND, find, lambda r: (n := int(r.integers(0, 9)), ints(r, n), int(r.integers(-5, 6)))),
    "skip_and_stop": (SKIP_AND_STOP, skip_and_stop, lambda r: (n := int(r.integers(0, 12)), ints(r, n))),
    "nested": (NESTED, nested, lambda r: (n := int(r.integers(0, 9)), ints(r, n))),
    "tangled": (TANGLED, tangled, lambda r: (n := int(r.integers(0, 9)), ints(r, n), np.zeros(n, np.int32))),
    "top": (TOP, top, lambda r: (int(r.integers(240, 256)), int(r.integers(240, 256)))),
    "conditional": (CONDITIONAL, conditional, lambda r: (int(r.integers(-4, 5)), int(r.integers(-4, 5)))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_interpreter_agrees_with_python(case):
    text, reference, draw = CASES[case]
    m = module(text)
    rng = np.random.default_rng(RNG_SEED)
    for _ in range(300):
        args = draw(rng)
        mine = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        theirs = [a.astype(np.int64).tolist() if isinstance(a, np.ndarray) else a for a in args]
        got = interp.run(m, "f", *mine)
        assert got == reference(*theirs), (case, args)
        for x, y in zip(mine, theirs):
            if isinstance(x, np.ndarray):
                assert x.tolist() == [wrap32(v) for v in y], (case, args)


def loops(fn: ir.Function) -> list:
    return [s for s in ir.walk_stmts(fn.body) if isinstance(s, (ir.For, ir.While))]


def locals_(fn: ir.Function) -> set[str]:
    return {name for name, _ in ir.declared(fn.body)}


def test_a_skipping_continue_keeps_the_for_and_no_flag():
    fn = module("""
    fn f(n: u64, a: [u32; n]) -> u32 {
        let s: u32 = 0;
        for i in 0..n {
            if a[i] % 2 == 0 { continue; }
            s += a[i];
        }
        return s;
    }""").functions[0]
    assert [type(s) for s in loops(fn)] == [ir.For]
    assert not any("." in name for name in locals_(fn))


def test_a_break_turns_a_for_into_the_while_it_stands_for():
    fn = module(FIND).functions[0]
    (loop,) = loops(fn)
    assert isinstance(loop, ir.While)
    assert "loop.broke.1" in locals_(fn) and "loop.left.1" not in locals_(fn)


def test_the_round_flag_is_kept_only_where_read():
    fn = module(TANGLED).functions[0]
    assert {"loop.broke.1", "loop.left.1"} <= locals_(fn)


def test_code_after_a_jump_is_checked_then_dropped():
    text = "fn f(n: u64) -> u64 { for i in 0..n { break; let x: u8 = 300; } return n; }"
    with pytest.raises(AtlasError, match="300"):
        module(text)
    m = module("fn f(n: u64) -> u64 { let c: u64 = 0; for i in 0..n { c += 1; continue; c += 5; } return c; }")
    assert interp.run(m, "f", 4) == 4
    assert not any(
        isinstance(s, ir.Assign) and "5" in ir.pretty_expr(s.value) for s in ir.walk_stmts(m.functions[0].body)
    )


def test_names_after_a_jumping_if_stay_out_of_its_arms():
    text = """
    fn f(n: u64) -> u64 {
        for i in 0..n {
            if i == 2 { break; } else { let t: u64 = i; }
            let u: u64 = t;
        }
        return n;
    }"""
    with pytest.raises(AtlasError, match="unknown name 't'"):
        module(text)


def test_a_pure_conditional_is_a_select_and_a_calling_one_runs_one_arm():
    fn = module(CONDITIONAL).functions[0]
    assert (
        sum(isinstance(x, ir.Prim) and x.name == "select" for s in fn.body for e in ir.own_exprs(s) for x in ir.walk(e))
        == 3
    )
    text = """
    fn bump(n: u64, a: mut [u32; n]) -> u32 { a[0] += 1; return a[0]; }
    fn f(n: u64, a: mut [u32; n], c: bool) -> u32 {
        let v = if c { bump(n, a) } else { 0 };
        a[1] = if c { 5 } else { bump(n, a) };
        return if v > 0 { bump(n, a) } else { v };
    }"""
    m = module(text)
    for c, want, after in ((True, 2, [2, 5]), (False, 0, [1, 1])):
        a = np.zeros(2, np.uint32)
        assert interp.run(m, "f", 2, a, c) == want
        assert a.tolist() == after


@pytest.mark.parametrize(
    "text, message",
    [
        ("fn f(x: i32) -> i32 { if x > 0 { continue; } return x; }", "`continue` outside a loop"),
        (
            "fn g(x: i32) -> i32 { return x; } fn f(x: i32) -> i32 { return 1 + if x > 0 { g(x) } else { x }; }",
            "must be the whole value",
        ),
        ("fn f(x: i32) -> i32 { return if x > 0 { x } else { 1u8 }; }", "expected a value of type i32, found u8"),
        ("fn f(x: i32) -> i32 { return if x { x } else { 1 }; }", "must be a bool"),
    ],
)
def test_errors(text, message):
    with pytest.raises(AtlasError, match=message):
        module(text)


def test_a_literal_arm_takes_the_other_arms_type():
    m = module("fn f(x: u8, c: bool) -> u8 { let y = if c { 200 } else { x }; return y + 100; }")
    assert interp.run(m, "f", 1, True) == 44
    assert interp.run(m, "f", 1, False) == 101
