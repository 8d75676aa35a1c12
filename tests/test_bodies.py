"""Loop-free bodies as terms: equal bodies written differently are proven
equal by Z3, unequal ones are refuted with a counterexample, and what the
module does not model is said to be unsupported."""

from __future__ import annotations

import pytest

from atlas.logic import bodies
from atlas.meaning import ir
from atlas.front.check import check
from atlas.front.syntax import parse
from atlas.meaning.terms import Term, const, var

import golden

SIG = "(n: u64, x: [i32; n], out: mut [i32; n], i: u64, k: u64, s0: i32)"
PRE = "let s: i32 = s0;"  # an outer local the bodies may assign (parameters are immutable)


def fns(src: str) -> dict[str, ir.Function]:
    return {f.name: f for f in check(parse(src, "t.ax")).functions}


def pair(before: str, after: str):
    """Two bodies over the same parameters, and the function they belong to."""
    f = fns(f"fn a{SIG} {{ {PRE} {before} }}\nfn b{SIG} {{ {PRE} {after} }}")
    return f["a"].body[1:], f["b"].body[1:], f["a"]


def equal(before: str, after: str, assume: str | None = None):
    a, b, fn = pair(before, after)
    cond = None
    if assume is not None:  # the assumption as the condition of an If in a third body
        cond = fns(f"fn c{SIG} {{ if {assume} {{ }} }}")["c"].body[0].cond
    return bodies.prove_equal(a, b, fn, assume=cond)


def test_two_stores_under_if_equal_one_store_of_a_select():
    assert equal("if x[i] > 10 { out[i] = 1; } else { out[i] = 2; }", "out[i] = select(x[i] > 10, 1, 2);") is None


def test_a_wrong_arm_is_refuted_with_a_counterexample():
    why = equal("if x[i] > 10 { out[i] = 1; } else { out[i] = 2; }", "out[i] = select(x[i] > 10, 2, 1);")
    assert why is not None and why.startswith("refuted: out[__j]")
    assert "i = " in why and "n = " in why  # the inputs that tell them apart


def test_a_store_to_another_index_is_refuted():
    why = equal("out[i] = 1;", "out[i + 1] = 1;")
    assert why is not None and why.startswith("refuted")


def test_out_of_range_writes_do_nothing():
    # A model that wrote out[n] would tell these apart.
    assert equal("out[k] = 5;", "out[k] = 5; out[n] = 7; if k >= n { out[k] = 1; }") is None
    # n + 3 wraps to a small index when n is near 2**64: that write can land
    assert equal("out[k] = 5;", "out[k] = 5; out[n + 3] = 1;").startswith("refuted")
    assert equal("out[k] = 5;", "if k < n { out[k] = 5; }") is None
    # ...but a write in range is seen
    why = equal("out[k] = 5;", "out[k] = 5; out[n - 1] = 7;")
    assert why is not None and why.startswith("refuted")


def test_reads_see_earlier_writes_and_read_zero_out_of_range():
    assert equal("out[i] = 7; s = out[i];", "out[i] = 7; s = select(i < n, 7, 0);") is None
    why = equal("out[i] = 7; s = out[i];", "out[i] = 7; s = 7;")
    assert why is not None and why.startswith("refuted: s ")
    # a later write wins; a read between the two sees the first
    assert equal("out[i] = 1; s = out[i]; out[i] = 2;", "out[i] = 2; s = select(i < n, 1, 0);") is None


def test_scalars_merge_after_if_and_locals_are_not_observable():
    assert (
        equal("let t: i32 = 4; if x[i] != 0 { t = 0; } s = t;", "let u: i32 = x[i]; s = select(u != 0, 0, 4);") is None
    )
    why = equal("if x[i] != 0 { s = 0; }", "s = 0;")
    assert why is not None and why.startswith("refuted: s ")


def test_an_assumption_makes_an_unequal_pair_equal():
    before = "out[i] = select(x[i] > 20, x[i] * 2, x[i] + 10);"
    after = "out[i] = x[i] * 2;"
    assert equal(before, after).startswith("refuted")
    assert equal(before, after, assume="x[i] > 20") is None
    assert equal(before, after, assume="x[i] > 19").startswith("refuted")


def test_tiered_nested_if_equals_its_hoisted_form():
    _, module, _ = golden_front("tiered")
    fn = module.functions[0]
    body = fn.body[0].body
    hoisted = fns(
        "fn h(n: u64, x: [i32; n], out: mut [i32; n], i: u64) {"
        " if x[i] > 20 { out[i] = x[i] * 2; } else { let v = x[i];"
        " if v > 10 { out[i] = v + 10; } else { out[i] = v - 5; } } }"
    )["h"].body
    assert bodies.prove_equal(body, hoisted, fn) is None
    wrong = fns(
        "fn h(n: u64, x: [i32; n], out: mut [i32; n], i: u64) {"
        " if x[i] > 10 { out[i] = x[i] * 2; } else { out[i] = x[i] - 5; } }"
    )["h"].body
    assert bodies.prove_equal(body, wrong, fn).startswith("refuted")


def golden_front(stem: str):
    from atlas.pipeline import front
    from atlas.machine.probe import load_probe

    probe = load_probe(golden.FIXTURES / "probe-popcnt.json")
    return front([golden.ROOT / "intents" / f"{stem}.ax"], probe)


def test_effects_give_final_terms_and_contents():
    a, _, fn = pair("let t: i32 = x[i]; s = t + 1; out[k] = t;", "")
    eff = bodies.effects(a, fn)
    assert eff.declared == {"t"}
    read = bodies.effects((), fn).content("x", var("i", ir.U64))  # 0 out of range
    assert eff.scalars["s"] == Term("add", ir.I32, (read, const(1, ir.I32)))
    j = var("j", ir.U64)
    assert eff.content("out", j) != bodies.effects((), fn).content("out", j)
    assert eff.content("x", j) == bodies.effects((), fn).content("x", j)


@pytest.mark.parametrize(
    "before",
    [
        "for q in 0..n { out[q] = 1; }",
        "while s < 3 { s = s + 1; }",
        "g(n, out);",
        "s = h(s);",
    ],
)
def test_loops_and_calls_are_unsupported(before):
    f = fns(
        f"fn a{SIG} {{ {PRE} {before} }}\nfn g(n: u64, out: mut [i32; n]) {{ }}\nfn h(v: i32) -> i32 {{ return v; }}"
    )
    fn, body = f["a"], f["a"].body[1:]
    assert bodies.effects(body, fn) is None
    why = bodies.prove_equal(body, body, fn)
    assert why is not None and why.startswith("unsupported")


def test_a_body_that_changes_a_length_input_is_unsupported():
    _, _, fn = pair("out[k] = 1;", "")
    body = (ir.Assign("n", ir.Const(0, ir.U64)), ir.Store("out", ir.Var("k", ir.U64), ir.Const(1, ir.I32)))
    assert bodies.effects(body, fn) is None
    assert "array length" in bodies.prove_equal(body, body, fn)
