"""Preconditions (`requires`): the language, the call contract, and what the
compiler may assume where they hold: proofs, differential runs, search
inputs, the superoptimiser and the rules it learns."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from atlas.front.check import check
from atlas.front.diagnostics import AtlasError
from atlas.front.syntax import parse
from atlas.logic import differential, learned, requires, validate
from atlas.logic import rules as rulebook
from atlas.meaning import interp, ir
from atlas.meaning.terms import Term, var
from atlas.tools.cli import main

LOW = """\
// x is below y: the quotient is 0 and the remainder x itself
fn low(x: u32, y: u32) -> u32 requires x < y {
    return x % y + x / y;
}
"""


def module_of(text: str) -> ir.Module:
    return check(parse(text, "t.ax"))


def test_a_precondition_is_part_of_the_function_and_prints_back():
    fn = module_of(LOW).functions[0]
    assert fn.requires is not None and fn.requires.ty == ir.BOOL
    assert "requires (x < y) {" in ir.pretty_function(fn)
    assert module_of(LOW.replace(" requires x < y", "")).functions[0].requires is None


@pytest.mark.parametrize(
    "text, message, col",
    [
        ("fn f(x: u32) -> u32 requires x { return x; }", "a precondition must be a bool, found u32", 30),
        ("fn f(x: u32, a: [u32; 4]) -> u32 requires a[0] != x { return x; }", "not an array element", 43),
        ("fn f(x: u32) -> u32 requires z > 1 { return x; }", "unknown name 'z'", 30),
        ("fn f(x: u32) -> u32 requires (if x > 1 { true } else { false }) { return x; }", "conditional", 31),
        ("fn g(x: u32) -> bool { return x > 1; }\nfn f(x: u32) -> u32 requires g(x) { return x; }", "a call of g", 30),
    ],
)
def test_a_bad_precondition_is_a_located_error(text, message, col):
    with pytest.raises(AtlasError) as err:
        module_of(text)
    assert message in str(err.value)
    assert err.value.span.col == col


def test_a_call_that_breaks_the_precondition_is_refused():
    m = module_of(LOW)
    assert interp.run(m, "low", 3, 10) == 3
    with pytest.raises(
        interp.PreconditionError, match=r"low: the precondition `\(x < y\)` does not hold for x = 10, y = 3"
    ):
        interp.run(m, "low", 10, 3)


def test_run_says_so_with_a_nonzero_status(tmp_path):
    src = tmp_path / "low.ax"
    src.write_text(LOW)
    ok = CliRunner().invoke(main, ["run", str(src), "low", "3", "10"])
    assert ok.exit_code == 0 and ok.output.strip() == "3"
    bad = CliRunner().invoke(main, ["run", str(src), "low", "10", "3"])
    assert bad.exit_code != 0 and "does not hold" in bad.output and "Traceback" not in bad.output


def test_the_manifest_carries_the_precondition_and_the_runtime_checks_it(tmp_path):
    from atlas.machine.backend import describe, signature_of

    fn = module_of(LOW).functions[0]
    back = signature_of("low", json.loads(json.dumps(describe(fn))))
    assert back.requires == fn.requires
    assert interp.bind(back, [1, 2], compiled=True)[0] == {"x": 1, "y": 2}
    with pytest.raises(interp.PreconditionError):
        interp.bind(back, [2, 1], compiled=True)


def test_drawn_inputs_meet_a_narrow_precondition():
    cycle = module_of(
        "fn cycle(x: u32, a: u32, b: u32, c: u32) -> u32 requires (x == a || x == b || x == c) && a != b {\n"
        "    if x == a { return b; }\n    if x == b { return c; }\n    return a;\n}\n"
    ).functions[0]
    rng = np.random.default_rng(1)
    seen_x = set()
    for _ in range(20):
        drawn = {n: int(rng.integers(0, 1 << 32)) for n in ("x", "a", "b", "c")}
        met = requires.satisfying(cycle, drawn, rng)
        assert met is not None and requires.meets(cycle, met)
        seen_x.add(met["x"])
    assert len(seen_x) > 10  # repaired draws still vary
    never = module_of("fn f(x: u8) -> u8 requires x > 200 && x < 100 { return x; }").functions[0]
    assert requires.satisfying(never, {"x": 7}, rng) is None


def test_proofs_and_runs_hold_where_the_precondition_does():
    src = module_of(LOW).functions[0]
    cand = ir.Function(src.name, src.params, src.ret, (ir.Return(ir.Var("x", ir.U32)),), requires=src.requires)
    v = validate.function(src, cand)
    assert v.validated
    assert "meets its precondition `(x < y)`" in v.proven_text()
    assert "each meeting the precondition" in v.tested_text()
    # without the precondition the same candidate is wrong, and both checks say so
    free = ir.Function(src.name, src.params, src.ret, src.body)
    refuted = validate.function(free, ir.Function(src.name, src.params, src.ret, cand.body))
    assert not refuted.validated and "refuted" in refuted.proven_text()
    runs = differential.function(free, ir.Function(src.name, src.params, src.ret, cand.body), None)
    assert runs.agree is False


def test_a_rule_that_holds_under_a_condition_stays_out_of_the_egraph(tmp_path):
    x, y = var("x", ir.U32), var("y", ir.U32)
    lhs = Term("add", ir.U32, (Term("rem", ir.U32, (x, y)), Term("div", ir.U32, (x, y))))
    pre = Term("lt", ir.BOOL, (x, y))
    path = tmp_path / "learned.yaml"
    learned.add(path, [learned.entry("low", "t.ax", lhs, x, ir.U32, {}, pre)])
    rules = rulebook.load_rules([path])
    assert list(rules) == [] and [r.name for r in rules.guarded] == ["learned-low-u32"]
    # proven where it holds; refused where the condition does not make it true
    text = path.read_text().replace("requires: x < y", "requires: x <= y")
    path.write_text(text)
    with pytest.raises(rulebook.UnsoundRule):
        rulebook.load_rules([path])


REM = """\
fn low2(a: u32, b: u32) -> u32 requires a < b && b < 1000 {
    return a % b + a / b;
}

fn not_implied(a: u32, b: u32) -> u32 requires b > 5 {
    return a % b + a / b;
}

fn none(a: u32, b: u32) -> u32 {
    return a % b + a / b;
}
"""


@pytest.mark.cc
def test_the_superoptimiser_learns_under_a_precondition_and_the_compile_applies_it_where_implied(tmp_path):
    from atlas.machine import probe as hwprobe
    from atlas.machine import runtime
    from atlas.pipeline import compile_files
    from atlas.superopt import discover

    src = tmp_path / "low.ax"
    src.write_text(LOW)
    learned_file = tmp_path / "learned.yaml"
    host = hwprobe.probe()
    [d] = discover.run([src], host, budget_s=20, seed=0, learned_path=learned_file, only=("low",))
    assert d.status is discover.Found.LEARNED and d.found == "x", d.why
    rule = next(r for r in learned.read(learned_file) if r["name"] == d.rule)
    assert rule["requires"] == "x < y"
    other = tmp_path / "rem.ax"
    other.write_text(REM)
    out = compile_files([other], host, tmp_path / "out", learned=[learned_file])
    body = {f.name: ir.pretty_function(f) for f in out.module.functions}
    assert "return a;" in body["low2"]  # a < b && b < 1000 implies a < b
    assert "%" in body["not_implied"] and "%" in body["none"]
    assert "precondition" in out.manifest.functions["low2"].evidence.check.proven
    lib = runtime.load(out.out)
    assert lib.low2(3, 7) == 3
    with pytest.raises(interp.PreconditionError):
        lib.low2(7, 3)  # where the emitted code would be wrong, the call is refused


def test_a_repair_depends_on_the_seed_alone():
    """Z3's answers in a shared context depend on what it was asked before;
    each repair has its own, so a seed gives the same inputs whatever ran."""
    fn = module_of(
        "fn f(x: u32, m: u32, k: u32) -> u32 requires k < 32 && (m & (m << k)) == 0 && (m << k) >> k == m {"
        " return x ^ m; }"
    ).functions[0]

    def draws():
        rng = np.random.default_rng(5)
        return [
            requires.satisfying(fn, {n: int(rng.integers(0, 1 << 32)) for n in ("x", "m", "k")}, rng) for _ in range(12)
        ]

    first = draws()
    rulebook.prove(var("a", ir.U32), var("a", ir.U32))  # other Z3 work in between
    module_of(LOW)
    assert draws() == first
    # x, which the precondition does not mention, keeps its draw; m and k spread out
    assert len({d["x"] for d in first}) == 12 and len({(d["m"], d["k"]) for d in first}) > 3


def test_a_repair_keeps_floats_and_bools_that_the_precondition_leaves_alone():
    fn = module_of("fn f(x: i16, s: f32, b: bool) -> i16 requires x > 100 { return x; }").functions[0]
    rng = np.random.default_rng(2)
    met = requires.satisfying(fn, {"x": 3, "s": -2.5, "b": True}, rng)
    assert met is not None and met["x"] > 100 and met["s"] == -2.5 and met["b"] is True


def test_a_precondition_nothing_meets_is_never_searched_nor_generated(tmp_path):
    text = (
        "fn f0(n: u64, a0: mut [i32; n], p1: u32) -> u32 requires (p1 & 3u32) == 1u32 && (p1 & 7u32) == 2u32 {\n"
        "    for i in 0u64..n { a0[i] = 1; }\n    return p1;\n}\n"
    )
    fn = module_of(text).functions[0]
    assert requires.never_met(fn) and not requires.never_met(module_of(LOW).functions[0])
    src = tmp_path / "never.ax"
    src.write_text(text)
    from atlas.machine import probe as hwprobe
    from atlas.pipeline import compile_files
    from atlas.search.explode import Options

    out = compile_files([src], hwprobe.probe(), tmp_path / "out", search=Options(budget_s=2, max_evals=2))
    assert out.manifest.functions["f0"].search is None  # not searched, and the compile goes on
    # the fuzzing generator draws again rather than give such a program (seed 76098 did)
    from atlas.tools.fuzz import gen

    prog = gen.generate(76098)
    assert not any(requires.never_met(f) for f in gen.check_source(prog.source).functions)


def test_a_call_that_breaks_the_callees_precondition_is_refused_too():
    m = module_of(LOW + "fn caller(a: u32, b: u32) -> u32 {\n    return low(a, b) + 1;\n}\n")
    assert interp.run(m, "caller", 2, 5) == 3
    with pytest.raises(interp.PreconditionError, match="called at"):
        interp.run(m, "caller", 5, 2)
    # the differential runs leave such inputs out rather than compare them
    caller = m.function("caller")
    runs = differential.function(caller, caller, m)
    assert runs.agree is True and runs.skipped > 0


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d["requires"].update(op="frob"),
        lambda d: d["requires"].update(b={"const": -1, "type": "u32"}),
        lambda d: d.update(requires={"prim": "nosuch", "args": [], "type": "bool"}),
        lambda d: d.update(requires={"var": "x", "type": "u32"}),  # not a bool
    ],
)
def test_a_damaged_precondition_in_a_manifest_is_refused(damage):
    from atlas.machine.backend import describe, signature_of
    from atlas.machine.manifest import DamagedManifest, FunctionEntry

    entry = json.loads(json.dumps(describe(module_of(LOW).functions[0])))
    damage(entry)
    with pytest.raises(ValueError):
        signature_of("low", entry)
    with pytest.raises(DamagedManifest):
        FunctionEntry.from_json("low", entry, "manifest.json: functions.low")


def test_compile_warns_of_a_function_that_can_never_be_called(tmp_path):
    src = tmp_path / "never.ax"
    src.write_text("fn f(x: u8) -> u8 requires x > 200 && x < 100 { return x; }\n")
    done = CliRunner().invoke(main, ["compile", str(src), "--no-search", "-o", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    assert "warning: " in done.output and "never.ax:1:1" in done.output and "can never be called" in done.output
