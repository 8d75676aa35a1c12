"""Whole-function validation: the bounded proof catches what root-by-root
proofs miss (the order of stores and assignments), reaches past constant
indexes, and the differential runs count a run that cannot finish as a
disagreement.  The evidence says what was proven of each function."""

from __future__ import annotations

from atlas.logic import bodies, differential, validate
from atlas.meaning import ir
from atlas.logic.differential import VERDICT
from atlas.front.check import check
from atlas.front.syntax import parse
from atlas.logic.verdict import Status


def fn(src: str, name: str = "f") -> ir.Function:
    return check(parse(src, "t.ax")).function(name)


SWAP = """
fn f(n: u32, x: u32, y: u32) -> u32 {
    let a: u32 = x; let b: u32 = y;
    for i in 0..n { let t = a; a = b; b = t; }
    return b;
}
"""
# the fault the lowering once had: the copy reads the local after it is replaced
SWAP_WRONG = """
fn f(n: u32, x: u32, y: u32) -> u32 {
    let a: u32 = x; let b: u32 = y;
    for i in 0..n { a = b; b = a; }
    return b;
}
"""


def test_a_wrong_swap_is_refuted_and_the_right_one_proven():
    p = bodies.prove_functions(fn(SWAP), fn(SWAP_WRONG), 8)
    assert p.status is Status.REFUTED and p.bound == 8 and "n = " in p.detail
    same = fn(SWAP.replace("let t = a; a = b; b = t;", "let t = b; b = a; a = t;"))
    assert bodies.prove_functions(fn(SWAP), same, 8).status is Status.PROVEN


def test_the_bound_goes_past_constant_indexes():
    src = fn("""
fn f(n: u64, x: i8, a: mut [i8; n]) {
    let v: i8 = x;
    for i in 0..n { a[9] = v; v += 16; }
}
""")
    # wrong only when a[9] exists: the store sees v after its update
    bad = fn("""
fn f(n: u64, x: i8, a: mut [i8; n]) {
    let v: i8 = x;
    for i in 0..n { v += 16; a[9] = v; }
}
""")
    assert validate.bound_for(src) == 11
    assert bodies.prove_functions(src, bad, 8).status is Status.PROVEN  # K = 8 cannot see it
    v = validate.function(src, bad)
    assert v.proof.status is Status.REFUTED and not v.validated
    assert "a[" in v.proof.detail


def test_constant_bound_loops_are_unrolled_whole():
    src = fn("fn f(x: u32) -> u32 { let s: u32 = 0; for i in 0..20 { s += x >> 1; } return s; }")
    other = fn("fn f(x: u32) -> u32 { return (x >> 1) * 20; }")
    p = bodies.prove_functions(src, other, 2)
    assert p.status is Status.PROVEN and p.bound is None  # for every input, not up to K
    off = fn("fn f(x: u32) -> u32 { return (x >> 1) * 19; }")
    assert bodies.prove_functions(src, off, 2).status is Status.REFUTED


def test_early_returns_inside_loops():
    src = fn("""
fn f(n: u64, a: [u32; n], key: u32) -> u64 {
    for i in 0..n { if a[i] == key { return i; } }
    return n;
}
""")
    last = fn("""
fn f(n: u64, a: [u32; n], key: u32) -> u64 {
    let found: u64 = n;
    for i in 0..n { if a[i] == key { found = i; } }
    return found;
}
""")
    first = fn("""
fn f(n: u64, a: [u32; n], key: u32) -> u64 {
    let found: u64 = n;
    for i in 0..n { if a[i] == key && found == n { found = i; } }
    return found;
}
""")
    assert bodies.prove_functions(src, last, 6).status is Status.REFUTED  # the last match, not the first
    assert bodies.prove_functions(src, first, 6).status is Status.PROVEN


def test_a_candidate_that_does_not_finish_disagrees():
    src = fn("fn f(n: u64, a: mut [u32; n]) { for i in 0..n { a[i] = 1; } }")
    spins = fn("""
fn f(n: u64, a: mut [u32; n]) {
    let k: u64 = 0;
    while k < n + 1 { if k < n { a[k] = 1; } else { k = 0; } k += 1; }
}
""")
    got = differential.run_both(ir.Module((src,)), ir.Module((spins,)), src)
    assert got.agree is False and "did not finish" in got.note


def test_loop_bounds_from_scalars_run_to_their_end():
    """A trip count set by a scalar parameter follows the schedule, up to 64
    and past the constant index, instead of random 64-bit values that run
    out of steps."""
    src = fn(
        "fn f(m: u32, x: u32) -> u32 { let s: u32 = x; for i in 0..m { s = s * 3 + i; } let a: u32 = s; return a; }"
    )
    got = differential.run_both(ir.Module((src,)), ir.Module((src,)), src)
    assert got.agree is True and got.max_length == differential.MAX_LENGTH
    assert got.lengths.startswith("0..8") and got.runs >= 12


def test_the_step_budget_ends_the_schedule_or_fails_it(monkeypatch):
    monkeypatch.setattr(differential, "FUEL", 200_000)

    def spin(per: int) -> ir.Function:
        return fn(f"fn f(m: u64) -> u64 {{ let s: u64 = 0; while s < m * {per} {{ s += 1; }} return s; }}")

    slow = spin(3000)
    out = differential.run_both(ir.Module((slow,)), ir.Module((slow,)), slow)
    # past the lengths every function must reach, the schedule stops, and says so
    assert out.agree is True and "step budget" in out.note and 8 <= out.max_length < 64
    slower = spin(100_000)
    out = differential.run_both(ir.Module((slower,)), ir.Module((slower,)), slower)
    # a source that cannot finish at a small length is not a pass (nor a failure)
    assert out.agree is None and "did not finish" in out.note


def test_evidence_says_what_was_proven_function_by_function():
    loop_free = validate.function(
        fn("fn f(x: u32) -> u32 { return x * 2; }"), fn("fn f(x: u32) -> u32 { return x << 1; }")
    )
    assert loop_free.validated and loop_free.proof.bound is None
    assert loop_free.proven_text().endswith("for every input") and loop_free.untested_text() == "none"
    loop = validate.function(
        fn("fn f(n: u64, a: mut [u32; n]) { for i in 0..n { a[i] = a[i] * 2; } }"),
        fn("fn f(n: u64, a: mut [u32; n]) { for i in 0..n { a[i] = a[i] << 1; } }"),
    )
    assert loop.validated and loop.proof.bound == 8
    assert "for n = 0..8 and every value of the other inputs" in loop.proven_text()
    assert loop.untested_text().startswith("inputs with n past 8: tested only")
    same = fn("fn f(x: u32) -> u32 { return x; }")
    assert validate.function(same, same).identical


def test_a_read_sees_the_guarded_writes_after_the_last_sure_one():
    # With n fixed, every index is a constant: a read looks back only to the
    # last write certain to land there, but not past the guarded ones after
    # it.  The arrays end equal: only the value read tells these apart.
    src = fn("""
fn f(n: u64, c: bool, a: mut [u8; n]) -> u8 {
    let r: u8 = 0;
    for i in 0..n { a[2] = 1; if c { a[2] = 5; } r = a[2]; a[2] = 0; }
    return r;
}
""")
    dropped = fn("""
fn f(n: u64, c: bool, a: mut [u8; n]) -> u8 {
    let r: u8 = 0;
    for i in 0..n { a[2] = 1; r = a[2]; a[2] = 0; }
    return r;
}
""")
    p = bodies.prove_functions(src, dropped, 8, sizes=("n",))
    assert p.status is Status.REFUTED and "value returned" in p.detail
    overwritten = fn("""
fn f(n: u64, c: bool, a: mut [u8; n]) -> u8 {
    let r: u8 = 0;
    for i in 0..n { a[2] = 7; a[2] = 1; if c { a[2] = 5; } r = a[2]; a[2] = 0; }
    return r;
}
""")
    assert bodies.prove_functions(src, overwritten, 8, sizes=("n",)).status is Status.PROVEN


def test_a_constant_index_the_runs_cannot_reach_leaves_them_inconclusive(monkeypatch):
    """A store to a[300] is only seen on an array of 301 elements: when the
    step budget ends the schedule before that, the runs do not vouch for
    the function, and it is not validated."""
    monkeypatch.setattr(differential, "FUEL", 500)  # past length 64, not to 301
    src = fn("fn f(n: u64, a: mut [u32; n]) { for i in 0..n { a[i] = 1; } a[300] = 7; }")
    other = fn("fn f(n: u64, a: mut [u32; n]) { for i in 0..n { a[i] = 1; } if n > 300 { a[300] = 7; } }")
    got = differential.run_both(ir.Module((src,)), ir.Module((other,)), src)
    assert got.agree is None and "constant index 300" in got.note and got.max_length < 300
    assert VERDICT[got.agree] == "inconclusive"
    v = validate.function(src, other)
    assert not v.validated and "inconclusive" in v.tested_text()
    monkeypatch.setattr(differential, "FUEL", 200_000)
    assert differential.run_both(ir.Module((src,)), ir.Module((other,)), src).agree is True


def test_an_unrolled_nest_of_stores_and_reads_is_too_large_not_slow():
    # every read passes the writes before it: 4,096 iterations, each reading
    # past up to 4,096 writes, are far more work than their statement count
    text = """fn f(n: u64, a: mut [u32; n]) {
        for i in 0u64..64u64 { for j in 0u64..64u64 { a[(i * 64u64 + j) % n] = a[j % n] + %s; } }
    }"""
    source, candidate = fn(text.replace("%s", "1u32")), fn(text.replace("%s", "(2u32 - 1u32)"))
    proof = bodies.prove_functions(source, candidate, 8, validate.BUDGET, validate.TIMEOUT_MS, (), validate.RLIMIT)
    assert proof.status is Status.UNSUPPORTED and proof.too_large
    assert "reads counted by the writes they pass" in proof.detail
    check = validate.function(source, candidate)
    assert not check.validated and check.tested is not None  # the runs still ran; the source form is kept
