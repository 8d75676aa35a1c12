"""`reassoc fn`: a function that allows its float sums and products to be
regrouped (docs/language.md, "Reassociation").  The front end records the
flag for backends; the reference interpreter keeps source order, one of the
allowed orders."""

import dataclasses

import numpy as np
import pytest

import golden
from atlas.meaning import interp, ir
from atlas.machine.backend import describe, signature_of as signature_of_entry
from atlas.front.check import check
from atlas.front.typecheck import signature_of
from atlas.front.diagnostics import AtlasError
from atlas.front.syntax import parse

SUM = """\
// any order of the additions is acceptable
reassoc fn sum_f32(n: u64, x: [f32; n]) -> f32 {
    let s: f32 = 0.0;
    for i in 0..n { s += x[i]; }
    return s;
}
"""

PLAIN = SUM.replace("reassoc fn", "fn")


def function(src: str) -> ir.Function:
    return check(parse(src, "t.ax")).functions[0]


def error(src: str) -> str:
    with pytest.raises(AtlasError) as exc:
        check(parse(src, "t.ax"))
    return str(exc.value)


# ---------------------------------------------------------------- syntax


def test_the_ast_records_the_modifier_and_its_span():
    f = parse(SUM, "t.ax").funcs[0]
    assert f.reassoc == ir.Span("t.ax", 2, 1, 2, 8)
    assert f.span.line == 2 and f.span.col == 1  # the function starts at the modifier
    assert parse(PLAIN, "t.ax").funcs[0].reassoc is None


@pytest.mark.parametrize(
    "src, message",
    [
        ("fn f() { let reassoc = 1; }", "1:14: error: 'reassoc' is a keyword and cannot be used as a name"),
        ("fn reassoc() { }", "1:4: error: 'reassoc' is a keyword and cannot be used as a name"),
        ("reassoc reassoc fn f() { }", "1:9: error: expected 'fn', found 'reassoc'"),
        ("fn f() { } reassoc", "1:19: error: expected 'fn', found the end of the file"),
    ],
)
def test_reassoc_is_a_keyword_before_fn_only(src, message):
    with pytest.raises(AtlasError) as exc:
        parse(src, "t.ax")
    assert str(exc.value).splitlines()[0] == "t.ax:" + message


def test_names_that_merely_start_with_reassoc_still_parse():
    f = function("fn reassociate(reassoc_x: f32) -> f32 { let reassoc2 = reassoc_x; return reassoc2; }")
    assert f.name == "reassociate" and not f.reassoc


# ---------------------------------------------------------------- the IR


def test_the_checker_sets_the_flag():
    assert function(SUM).reassoc is True
    assert function(PLAIN).reassoc is False


def test_the_field_defaults_off_and_survives_replace():
    f = ir.Function("f", (ir.Param("x", ir.F32),), ir.F32, (ir.Return(ir.Var("x", ir.F32)),))
    assert f.reassoc is False  # positional constructions mean what they did
    g = dataclasses.replace(f, reassoc=True)
    assert g.reassoc and dataclasses.replace(g, body=()).reassoc
    assert f != g  # the flag widens what g may compute


def test_signature_and_pretty_show_the_modifier():
    f = function(SUM)
    assert f.signature == "reassoc fn sum_f32(n: u64, x: [f32; n]) -> f32"
    assert ir.pretty_function(f).startswith("reassoc fn sum_f32(n: u64, x: [f32; n]) -> f32 {\n")
    assert function(PLAIN).signature == "fn sum_f32(n: u64, x: [f32; n]) -> f32"


@pytest.mark.parametrize("src", [SUM, PLAIN])
def test_signature_round_trips_through_the_manifest_reader(src):
    f = function(src)
    back = signature_of_entry(f.name, describe(f))  # as atlas.load reads it
    assert back.reassoc == f.reassoc and back.params == f.params and back.ret == f.ret
    assert back.signature == f.signature
    assert signature_of(f.signature).reassoc == f.reassoc


# ---------------------------------------------------------------- the checker


@pytest.mark.parametrize(
    "src",
    [
        "reassoc fn f(a: f64, b: f64) -> bool { return a < b; }",  # a float parameter
        "reassoc fn f(n: u64, x: mut [f32; n]) { }",  # a float array
        "reassoc fn f() -> f32 { return 1.0; }",  # the result
        "reassoc fn f(a: i32) -> i32 { return (a as f32 * 0.5) as i32; }",  # an expression only
        "reassoc fn f(a: i32) -> i32 { let t: f64 = 2.0; return a; }",  # a local only
        "reassoc fn f(a: i32) -> i32 { when hw.cpu.popcnt { return (a as f64) as i32; } return a; }",
    ],
)
def test_reassoc_accepts_any_float_type(src):
    assert function(src).reassoc


def test_reassoc_without_floats_is_an_error_at_the_keyword():
    text = error(
        "fn g() { }\nreassoc fn total(n: u64, x: [i32; n]) -> i32 {\n"
        "    let s = 0;\n    for i in 0..n { s += x[i]; }\n    return s;\n}\n"
    )
    assert text == (
        "t.ax:2:1: error: `reassoc` allows reordering float arithmetic, and total has none\n"
        "   2 | reassoc fn total(n: u64, x: [i32; n]) -> i32 {\n"
        "     | ^^^^^^^\n"
        "  = note: integer `+` and `*` wrap, so their order never changes the result; remove `reassoc`"
    )


# ---------------------------------------------------------------- meaning


def test_the_interpreter_keeps_source_order():
    m = check(parse(SUM, "t.ax"))
    # (1e8 + 1) rounds back to 1e8 in f32: in source order the first 1 is lost.
    assert interp.run(m, "sum_f32", 4, np.array([1e8, 1, -1e8, 1], np.float32)) == 1.0
    x = np.random.default_rng(5).uniform(-1, 1, 1000).astype(np.float32)
    plain = check(parse(PLAIN, "t.ax"))
    assert interp.run(m, "sum_f32", 1000, x) == interp.run(plain, "sum_f32", 1000, x)


def test_the_shipped_intent_is_reassoc():
    f = check(parse((golden.ROOT / "intents" / "sum_f32.ax").read_text(), "sum_f32.ax")).function("sum_f32")
    assert f.reassoc and f.signature == "reassoc fn sum_f32(n: u64, x: [f32; n]) -> f32"


# ---------------------------------------------------------------- through the pipeline


def test_the_flag_survives_specialise_and_lowering():
    from atlas.logic import lower
    from atlas.pipeline import front
    from atlas.machine.probe import load_probe

    _, module, _ = front([golden.ROOT / "intents" / "sum_f32.ax"], load_probe(golden.FIXTURES / "probe-popcnt.json"))
    assert module.function("sum_f32").reassoc
    rebuilt, _ = lower.transform(module)
    assert rebuilt.function("sum_f32").reassoc and lower.tidy(rebuilt.function("sum_f32")).reassoc


@pytest.mark.cc
def test_the_manifest_records_the_modifier(tmp_path):
    import json

    from atlas.pipeline import compile_files
    from atlas.machine.probe import load_probe

    compile_files(
        [golden.ROOT / "intents" / "sum_f32.ax"], load_probe(golden.FIXTURES / "probe-popcnt.json"), tmp_path / "out"
    )
    spec = json.loads((tmp_path / "out" / "manifest.json").read_text())["functions"]["sum_f32"]
    assert spec["signature"] == "reassoc fn sum_f32(n: u64, x: [f32; n]) -> f32"
    assert spec["reassoc"] is True and signature_of_entry("sum_f32", spec).reassoc


# ---------------------------------------------------------------- the LLVM backend


FOLDS = """\
reassoc fn sum(n: u64, x: [f32; n]) -> f32 { let s: f32 = 0.0; for i in 0..n { s += x[i]; } return s; }
reassoc fn down(n: u64, x: [f64; n]) -> f64 { let s: f64 = 1.0; for i in 0..n { s = s - x[i] * 2.0; } return s; }
reassoc fn prod(n: u64, x: [f32; n]) -> f32 { let p: f32 = 1.0; for i in 0..n { p = x[i] * p; } return p; }
reassoc fn seen(n: u64, x: [f32; n], out: mut [f32; n]) -> f32 {
    let s: f32 = 0.0;
    for i in 0..n { s += x[i]; out[i] = s; }
    return s;
}
reassoc fn flipped(n: u64, x: [f32; n]) -> f32 { let s: f32 = 0.0; for i in 0..n { s = x[i] - s; } return s; }
reassoc fn twice(n: u64, x: [f32; n]) -> f32 { let s: f32 = 0.0; for i in 0..n { s += x[i]; s += 1.0; } return s; }
"""


def llvm_text(src: str) -> dict[str, str]:
    """Each function's LLVM IR (unoptimised), by name."""
    from atlas.backends.llvm import codegen

    out = {}
    for chunk in codegen.generate(check(parse(src, "t.ax")), "x86_64-unknown-linux-gnu", "").split("define ")[1:]:
        name = chunk.split('@"', 1)[1].split('"', 1)[0]
        out[name] = chunk.split("\n}", 1)[0]
    return out


def test_only_the_folds_of_a_reassoc_fn_may_be_regrouped():
    """The backend marks a fold's own add, subtract or multiply `reassoc`
    (LLVM may then keep partial sums and tree-reduce them, as the language
    allows) and nothing else: not the product inside the addend, not an
    accumulator read elsewhere, not `e - s`, not a function without the flag."""
    text = llvm_text(FOLDS)
    assert text["sum"].count("fadd reassoc") == 1
    assert text["down"].count("fsub reassoc") == 1 and "fmul reassoc" not in text["down"]
    assert text["prod"].count("fmul reassoc") == 1
    for name in ("seen", "flipped", "twice"):
        assert "reassoc" not in text[name], name
    plain = llvm_text(FOLDS.replace("reassoc fn", "fn"))
    assert not any("reassoc" in body for body in plain.values())


def test_two_orders_of_a_sum_lie_within_the_regrouping_slack():
    from atlas.logic import differential

    x = np.array([1e8, 1, -1e8, 1], np.float32)
    slack = differential.regroup_slack([4, x])
    assert 2 <= slack < 200  # 2 * gamma_5 * (2e8 + 2), gamma_5 about 3e-7
    assert differential.within(np.float32(1.0), np.float32(2.0), slack)  # source order, and the exact sum
    assert not differential.within(np.float32(1.0), np.float32(1.0 + 2 * slack), slack)
    assert differential.within(float("nan"), float("nan"), slack)
    assert not differential.within(1, 2, 5.0)  # integers are compared bit for bit
    assert differential.regroup_slack([3, np.arange(3, dtype=np.int32)]) == 0.0
