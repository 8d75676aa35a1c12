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


# ---------------------------------------------------------------- the same shape, every input


def same_shape(a: str, b: str, sig: str = "(n: u64, x: [u32; n], out: mut [u32; n], y: u32) -> u32"):
    f = fns(f"fn a{sig} {{ {a} }}\nfn b{sig} {{ {b} }}")
    return bodies.prove_same_shape(f["a"], replace_name(f["b"], "a"))


def replace_name(fn: ir.Function, name: str) -> ir.Function:
    from dataclasses import replace

    return replace(fn, name=name)


LOOP = "let s: u32 = y; for i in 0..n {{ {body} }} let v = s; while v > 1 {{ {step} }} return s + v;"


def test_the_run_form_of_every_shipped_intent_has_the_source_shape():
    """lower.transform puts the terms back in temporaries: the loops stay, and
    the pair is proven equal for every input, with no bound on any loop."""
    from atlas.front.specialise import specialise
    from atlas.logic import lower
    from atlas.machine.probe import load_probe

    probe = load_probe(golden.FIXTURES / "probe-nopopcnt.json")
    seen = 0
    for path in sorted((golden.ROOT / "intents").rglob("*.ax")):
        if "devices" in path.parts:
            continue  # device drivers: their register statements are not modelled
        module = specialise(check(parse(path.read_text(), str(path))), probe)[0]
        run_form, _ = lower.transform(module)
        for src, run in zip(module.functions, run_form.functions):
            assert bodies.prove_same_shape(src, run) is None, (path, src.name)
            seen += ir.has_loops(src.body)
    assert seen >= 30  # most of them with loops


def test_equal_bodies_written_differently_are_equal_with_no_bound():
    a = LOOP.format(body="s = s + x[i] * 2; out[i] = s;", step="v = v >> 1; s = s ^ v;")
    b = LOOP.format(body="let t = x[i] << 1; s = t + s; out[i] = s;", step="let w = v / 2; v = w; s = w ^ s;")
    assert same_shape(a, b) is None


@pytest.mark.parametrize(
    "body, step",
    [
        ("s = s + x[i] * 3; out[i] = s;", "v = v >> 1; s = s ^ v;"),  # a constant changed in the loop
        ("out[i] = s; s = s + x[i] * 2;", "v = v >> 1; s = s ^ v;"),  # a store moved past the update
        ("s = s + x[i] * 2; out[i] = s;", "s = s ^ v; v = v >> 1;"),  # a carried value read a step early
        ("s = s + x[i] * 2; out[i] = s;", "v = v >> 2; s = s ^ v;"),  # the while loop's step
    ],
)
def test_a_change_anywhere_in_a_loop_is_not_proven(body, step):
    a = LOOP.format(body="s = s + x[i] * 2; out[i] = s;", step="v = v >> 1; s = s ^ v;")
    assert same_shape(a, LOOP.format(body=body, step=step)) is not None


def test_a_value_carried_into_the_next_iteration_must_start_equal():
    """A local set before the loop and read in it before it is set again is
    live at the loop's head: two starts differ."""
    a = "let s: u32 = 0; let p: u32 = 1; for i in 0..n { s = s + p; p = x[i]; } return s;"
    b = "let s: u32 = 0; let p: u32 = 2; for i in 0..n { s = s + p; p = x[i]; } return s;"
    assert "p" in same_shape(a, b)
    dead = "let s: u32 = 0; let p: u32 = 2; for i in 0..n { p = x[i]; s = s + p; } return s;"
    assert same_shape(dead.replace("p: u32 = 2", "p: u32 = 1"), dead) is None  # set before read: dead at the head


def test_other_shapes_bounds_and_returns_are_not_proven():
    base = "let s: u32 = 0; for i in 0..n { s += x[i]; } return s;"
    assert "shape" in same_shape(base, "let s: u32 = 0; let i: u64 = 0; while i < n { s += x[i]; i += 1; } return s;")
    assert "end" in same_shape(base, base.replace("0..n", "0..n - 1"))
    assert "returned" in same_shape(base, base.replace("return s;", "return s + 1;"))
    early = "for i in 0..n {{ if x[i] == {k} {{ return y; }} }} return 0;"
    assert same_shape(early.format(k=7), early.format(k=7)) is None
    assert same_shape(early.format(k=7), early.format(k=8)) is not None


def _with_constant(fn: ir.Function, n: int) -> ir.Function:
    """fn with its n-th constant (in walk order) one more than it was."""
    from dataclasses import fields, is_dataclass, replace

    seen = [0]

    def expr(e):
        if isinstance(e, ir.Const):
            seen[0] += 1
            if seen[0] - 1 == n and not e.ty.is_bool:
                return replace(e, value=e.value * 2 + 1.0 if e.ty.is_float else (e.value + 1) & e.ty.mask)
            return e
        kw = {f.name: expr(getattr(e, f.name)) for f in fields(e) if _is_expr(getattr(e, f.name))}
        return replace(e, **kw) if kw else e

    def stmt(s):
        kw = {f.name: expr(getattr(s, f.name)) for f in fields(s) if _is_expr(getattr(s, f.name))}
        kw.update({b: tuple(stmt(u) for u in getattr(s, b)) for b in ("then", "else_", "body") if hasattr(s, b)})
        return replace(s, **kw) if kw else s

    assert is_dataclass(fn)
    return replace(fn, body=tuple(stmt(s) for s in fn.body))


def _is_expr(v) -> bool:
    return isinstance(v, (ir.Const, ir.Var, ir.Load, ir.Unary, ir.Binary, ir.Cast, ir.Prim))


def test_a_mutant_proven_equal_is_one_the_interpreter_cannot_tell_apart():
    """Every constant of a few run forms changed in turn: where the pair is
    proven, the differential runs must agree (most are refused)."""
    from atlas.front.specialise import specialise
    from atlas.logic import differential, lower
    from atlas.machine.probe import load_probe

    probe = load_probe(golden.FIXTURES / "probe-nopopcnt.json")
    proven = refused = 0
    for name in ("inet_checksum", "hw_branches", "classify", "family/fletcher16", "bits/unseen/naive"):
        path = golden.ROOT / "intents" / f"{name}.ax"
        module = specialise(check(parse(path.read_text(), str(path))), probe)[0]
        run_form, _ = lower.transform(module)
        for src, run in zip(module.functions, run_form.functions):
            consts = sum(
                isinstance(x, ir.Const) for s in ir.walk_stmts(run.body) for e in ir.own_exprs(s) for x in ir.walk(e)
            )
            for n in range(consts):
                mutant = _with_constant(run, n)
                if mutant == run:
                    continue  # a bool
                if bodies.prove_same_shape(src, mutant) is not None:
                    refused += 1
                    continue
                proven += 1
                assert differential.function(src, mutant, module).agree is not False, (name, src.name, n)
    assert refused > 100 and proven < refused, (refused, proven)
